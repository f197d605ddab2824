//! Decimation of 8/16/32/48 kHz PCM to the 8 kHz analysis rate, with a windowed-sinc
//! low-pass FIR (state kept across calls, no allocation after construction).

use super::AnalysisError;
use crate::audio::SampleRate;

/// The rate every tone and energy detector runs at (Hz).
pub const ANALYSIS_RATE: u32 = 8000;

/// Longest input block accepted by one [`Decimator::process`] call, in samples (10 ms at 48 kHz).
pub const MAX_BLOCK: usize = 480;

/// Low-pass FIR decimator from 8, 16, 32 or 48 kHz to 8 kHz (factor 1, 2, 4 or 6).
///
/// The filter is a Blackman-windowed sinc with cutoff 3.7 kHz and `16·factor + 1` taps (about
/// 60 dB stop-band rejection); factor 1 is a plain copy. Group delay `8·factor` input samples
/// (1 ms): negligible against the 10 ms analysis frames.
#[derive(Debug, Clone)]
pub struct Decimator {
    factor: usize,
    taps: Vec<f32>,
    /// History (taps − 1 samples) followed by the current block.
    buf: Vec<f32>,
    /// Offset into the next block of the next output sample's newest input.
    phase: usize,
}

impl Decimator {
    /// A decimator for input at `rate`.
    ///
    /// Errors: [`AnalysisError::UnsupportedRate`] for rates other than 8, 16, 32 and 48 kHz.
    pub fn new(rate: SampleRate) -> Result<Self, AnalysisError> {
        let factor = match rate.hz() {
            8000 => 1,
            16_000 => 2,
            32_000 => 4,
            48_000 => 6,
            other => return Err(AnalysisError::UnsupportedRate(other)),
        };
        let taps = if factor == 1 { vec![1.0] } else { design(factor) };
        Ok(Decimator { factor, buf: Vec::with_capacity(taps.len() + MAX_BLOCK), taps, phase: factor - 1 })
    }

    /// The decimation factor (input rate / 8000).
    pub fn factor(&self) -> usize {
        self.factor
    }

    /// Decimates `input` (mono, at the input rate, at most [`MAX_BLOCK`] samples) into `out`,
    /// returning the count of 8 kHz samples written (`out` must hold `input.len()/factor + 1`).
    /// Longer input is cut at [`MAX_BLOCK`]; when `out` is shorter, the input is cut after the
    /// last sample whose output fits (the rest is dropped the same way).
    pub fn process(&mut self, input: &[i16], out: &mut [f32]) -> usize {
        // Outputs fall on input samples phase, phase + factor, …: `out.len()` of them need
        // `phase + out.len() × factor` input samples.
        let fits = self.phase.saturating_add(out.len().saturating_mul(self.factor));
        let input = &input[..input.len().min(MAX_BLOCK).min(fits)];
        if self.factor == 1 {
            let n = input.len().min(out.len());
            for (o, &x) in out.iter_mut().zip(input) {
                *o = f32::from(x);
            }
            return n;
        }
        let hist = self.taps.len() - 1;
        if self.buf.is_empty() {
            self.buf.resize(hist, 0.0);
        }
        self.buf.extend(input.iter().map(|&x| f32::from(x)));
        let mut n = 0;
        let mut pos = self.phase;
        while pos < input.len() && n < out.len() {
            // Output aligned with input sample `pos` of this block: taps over buf[pos .. pos + taps].
            let window = &self.buf[pos..pos + self.taps.len()];
            out[n] = window.iter().zip(&self.taps).map(|(a, b)| a * b).sum();
            n += 1;
            pos += self.factor;
        }
        self.phase = pos - input.len();
        let len = self.buf.len();
        self.buf.copy_within(len - hist..len, 0);
        self.buf.truncate(hist);
        n
    }
}

/// Blackman-windowed sinc, cutoff 3.7 kHz at 8000·factor Hz, unity DC gain.
fn design(factor: usize) -> Vec<f32> {
    let n = 16 * factor + 1;
    let fc = 3700.0 / (8000.0 * factor as f64);
    let mid = (n - 1) as f64 / 2.0;
    let mut taps: Vec<f64> = (0..n)
        .map(|i| {
            let t = i as f64 - mid;
            let sinc = if t == 0.0 {
                2.0 * fc
            } else {
                (2.0 * std::f64::consts::PI * fc * t).sin() / (std::f64::consts::PI * t)
            };
            let a = 2.0 * std::f64::consts::PI * i as f64 / (n - 1) as f64;
            sinc * (0.42 - 0.5 * a.cos() + 0.08 * (2.0 * a).cos())
        })
        .collect();
    let sum: f64 = taps.iter().sum();
    for t in &mut taps {
        *t /= sum;
    }
    taps.into_iter().map(|t| t as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::level::Goertzel;

    fn tone(freq: f32, rate: u32, n: usize) -> Vec<i16> {
        (0..n).map(|i| (8000.0 * (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin()) as i16).collect()
    }

    #[test]
    fn passes_band_and_rejects_alias() {
        for rate in [16_000u32, 48_000] {
            let mut d = Decimator::new(SampleRate::new(rate)).unwrap();
            let block = (rate / 100) as usize;
            let pass = tone(1000.0, rate, block * 20);
            let mut out = vec![0f32; 1600];
            let mut got = 0;
            for chunk in pass.chunks(block) {
                got += d.process(chunk, &mut out[got..]);
            }
            assert_eq!(got, 1600);
            let ms = Goertzel::new(1000.0, 8000.0).mean_square(&out[800..1600]);
            assert!((ms / 32e6 - 1.0).abs() < 0.05, "{rate}: {ms}");
            // 6 kHz would alias to 2 kHz: it must be gone (> 40 dB down).
            let mut d = Decimator::new(SampleRate::new(rate)).unwrap();
            let stop = tone(6000.0, rate, block * 20);
            let mut got = 0;
            for chunk in stop.chunks(block) {
                got += d.process(chunk, &mut out[got..]);
            }
            let ms = Goertzel::new(2000.0, 8000.0).mean_square(&out[800..1600]);
            assert!(ms < 32e6 * 1e-4, "{rate}: alias {ms}");
        }
        assert!(matches!(Decimator::new(SampleRate::new(44_100)), Err(AnalysisError::UnsupportedRate(44_100))));
    }
}
