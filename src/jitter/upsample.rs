//! Integer-ratio upsampling of decoder output to the receiver's output rate (for
//! G.711 at 8 kHz played at 16, 24 or 48 kHz), until the crate's resampler lands.
//!
//! Polyphase FIR: a Kaiser-windowed sinc (β = 6, 16 taps per phase) with its cutoff
//! at 0.45 of the input rate (3.6 kHz for 8 kHz input), so the band above the
//! input's Nyquist frequency is attenuated by about 60 dB. Group delay: 8 input
//! samples (1 ms at 8 kHz). State is kept across calls, so frames join without clicks.

/// Taps per polyphase branch.
const TAPS: usize = 16;

/// An upsampler by an integer factor `L ≥ 1` (L = 1 copies).
#[derive(Debug, Clone)]
pub(crate) struct Upsampler {
    factor: usize,
    /// `factor` branches of `TAPS` coefficients each, scaled by `factor`.
    coefs: Vec<f32>,
    /// The last `TAPS` input samples, newest last.
    hist: [f32; TAPS],
}

/// Zeroth-order modified Bessel function of the first kind (series), for the Kaiser window.
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let q = x * x / 4.0;
    for k in 1..30 {
        term *= q / (k * k) as f64;
        sum += term;
    }
    sum
}

impl Upsampler {
    /// An upsampler by `factor` (0 is taken as 1).
    pub(crate) fn new(factor: usize) -> Self {
        let factor = factor.max(1);
        let n = TAPS * factor;
        let centre = (n as f64 - 1.0) / 2.0;
        let cutoff = 0.45 / factor as f64; // cycles per output sample
        let beta = 6.0;
        let mut proto = vec![0.0f64; n];
        for (i, p) in proto.iter_mut().enumerate() {
            let x = i as f64 - centre;
            let sinc = if x == 0.0 {
                2.0 * cutoff
            } else {
                (2.0 * std::f64::consts::PI * cutoff * x).sin() / (std::f64::consts::PI * x)
            };
            let r = 2.0 * x / (n as f64 - 1.0);
            let w = bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / bessel_i0(beta);
            *p = sinc * w;
        }
        // Normalise the DC gain of each branch to 1.
        let mut coefs = vec![0.0f32; n];
        for phase in 0..factor {
            let sum: f64 = (0..TAPS).map(|k| proto[k * factor + phase]).sum();
            for k in 0..TAPS {
                let c = if sum.abs() > 1e-12 { proto[k * factor + phase] / sum } else { 0.0 };
                // Branch `phase`, tap k applies to the input k samples back.
                coefs[phase * TAPS + k] = c as f32;
            }
        }
        Upsampler { factor, coefs, hist: [0.0; TAPS] }
    }

    /// The factor.
    pub(crate) fn factor(&self) -> usize {
        self.factor
    }

    /// Upsamples `input` into `out` (which must hold `input.len() · factor` samples).
    pub(crate) fn process(&mut self, input: &[i16], out: &mut [f32]) {
        let l = self.factor;
        for (i, &x) in input.iter().enumerate() {
            self.hist.copy_within(1.., 0);
            self.hist[TAPS - 1] = f32::from(x);
            if l == 1 {
                if let Some(o) = out.get_mut(i) {
                    *o = f32::from(x);
                }
                continue;
            }
            for phase in 0..l {
                let branch = &self.coefs[phase * TAPS..(phase + 1) * TAPS];
                // Tap k multiplies the input k samples back (hist is newest last).
                let y: f32 = branch.iter().enumerate().map(|(k, c)| c * self.hist[TAPS - 1 - k]).sum();
                if let Some(o) = out.get_mut(i * l + phase) {
                    *o = y;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tone_keeps_its_frequency_and_level() {
        let mut up = Upsampler::new(2);
        // 1 kHz at 8 kHz.
        let input: Vec<i16> =
            (0..800).map(|i| (8000.0 * (2.0 * std::f64::consts::PI * i as f64 / 8.0).sin()) as i16).collect();
        let mut out = vec![0.0f32; 1600];
        up.process(&input[..400], &mut out[..800]);
        up.process(&input[400..], &mut out[800..]);
        // Compare with the ideal 1 kHz tone at 16 kHz, delayed by the filter's group delay.
        let delay = (TAPS * 2 - 1) as f64 / 2.0;
        let mut err = 0.0f64;
        for (j, &y) in out.iter().enumerate().skip(100) {
            let ideal = 8000.0 * (2.0 * std::f64::consts::PI * (j as f64 - delay) / 16.0).sin();
            err = err.max((f64::from(y) - ideal).abs());
        }
        assert!(err < 80.0, "max error {err}");
        assert_eq!(Upsampler::new(0).factor(), 1);
    }

    #[test]
    fn identity_for_factor_one() {
        let mut up = Upsampler::new(1);
        let mut out = [0.0f32; 3];
        up.process(&[1, -2, 3], &mut out);
        assert_eq!(out, [1.0, -2.0, 3.0]);
    }
}
