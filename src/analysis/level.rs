//! Signal levels in dBm0 and the DSP helpers every detector shares: the Goertzel filter
//! and a windowed single-bin DFT.
//!
//! ## The dBm0 reference
//! ITU-T G.711 (Tables 1a/2a) puts the maximum sinusoidal level of the encoding law at
//! +3.14 dBm0 for A-law and +3.17 dBm0 for µ-law. Following the common DSP convention (also
//! used by spandsp), a full-scale sine in 16-bit linear PCM (peak 32 767) is taken as
//! **+3.14 dBm0** for both laws (the 0.03 dB difference is below every tolerance used here).
//! So a 0 dBm0 sine has peak `32767 · 10^(−3.14/20) ≈ 22 786` and RMS ≈ 16 112, i.e. −3.14 dBov
//! for a sine (dBov as in ITU-T G.100.1: 0 dBov = full-scale square wave RMS 32 768… here the
//! sine convention is what matters).

/// Level of a full-scale 16-bit sine (peak 32 767) in dBm0 (ITU-T G.711, A-law T_max).
#[allow(clippy::approx_constant)] // 3.14 dB is G.711's value, not π.
pub const FULL_SCALE_SINE_DBM0: f64 = 3.14;

/// Lowest level reported, in dBm0: digital silence measures this instead of −∞.
pub const MIN_LEVEL_DBM0: f32 = -100.0;

/// Peak amplitude (16-bit linear units) of a sine at `dbm0` dBm0.
///
/// E.g. `sine_peak_for_dbm0(-26.0)` ≈ 1 144.0 (one DTMF tone at −26 dBm0).
pub fn sine_peak_for_dbm0(dbm0: f64) -> f64 {
    32767.0 * 10f64.powf((dbm0 - FULL_SCALE_SINE_DBM0) / 20.0)
}

/// Mean square (16-bit linear units²) of a 0 dBm0 sine.
fn mean_square_0dbm0() -> f64 {
    let p = sine_peak_for_dbm0(0.0);
    p * p / 2.0
}

/// Level in dBm0 of a signal whose mean square (16-bit linear units², per sample) is `ms`;
/// [`MIN_LEVEL_DBM0`] for silence.
pub fn mean_square_to_dbm0(ms: f64) -> f32 {
    if ms <= 0.0 {
        return MIN_LEVEL_DBM0;
    }
    // The level is reported to 0.01 dB at best; f32 holds that.
    ((10.0 * (ms / mean_square_0dbm0()).log10()) as f32).max(MIN_LEVEL_DBM0)
}

/// Mean square (16-bit units²) of a signal at `dbm0` dBm0.
pub fn dbm0_to_mean_square(dbm0: f32) -> f64 {
    mean_square_0dbm0() * 10f64.powf(f64::from(dbm0) / 10.0)
}

/// Level in dBm0 of a block of samples (mean square over the block).
pub fn block_dbm0(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return MIN_LEVEL_DBM0;
    }
    let ms = samples.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>() / samples.len() as f64;
    mean_square_to_dbm0(ms)
}

/// A Goertzel filter: the squared magnitude of one DFT bin of a block.
///
/// For a sine of amplitude `A` exactly on the bin, over `N` samples, [`Goertzel::power`]
/// returns `(A·N/2)²`; [`Goertzel::mean_square`] scales that back to the tone's mean square `A²/2`.
#[derive(Debug, Clone, Copy)]
pub struct Goertzel {
    coeff: f32,
    /// Frequency in Hz.
    freq: f32,
}

impl Goertzel {
    /// A filter for `freq` Hz at `rate` Hz sampling.
    pub fn new(freq: f32, rate: f32) -> Self {
        Goertzel { coeff: 2.0 * (2.0 * std::f32::consts::PI * freq / rate).cos(), freq }
    }

    /// The filter's frequency in Hz.
    pub fn freq(&self) -> f32 {
        self.freq
    }

    /// Squared DFT magnitude of `block` at the filter's frequency (16-bit units², unnormalised).
    pub fn power(&self, block: &[f32]) -> f32 {
        let (mut s1, mut s2) = (0.0f32, 0.0f32);
        for &x in block {
            let s0 = x + self.coeff * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        (s1 * s1 + s2 * s2 - self.coeff * s1 * s2).max(0.0)
    }

    /// Mean square (16-bit units²) of the tone at this frequency in `block`: `2·power/N²`.
    pub fn mean_square(&self, block: &[f32]) -> f32 {
        let n = block.len().max(1) as f32;
        2.0 * self.power(block) / (n * n)
    }
}

/// Estimates the frequency (Hz) of the strongest component near `f0` in `x` (sampled at
/// `rate` Hz) from the phase advance of a Hann-windowed DFT bin at `f0` between two windows
/// of `win` samples `hop` samples apart: `f = f0 + Δφ·rate/(2π·hop)`.
///
/// Unambiguous for |f − f0| < rate/(2·hop). Needs `win ≥ 2`, `hop ≥ 1` and
/// `x.len() ≥ win + hop`; returns `None` otherwise (sizes whose sum overflows included) or
/// when the bin holds no energy.
pub fn phase_frequency(x: &[f32], f0: f32, rate: f32, win: usize, hop: usize) -> Option<f32> {
    if win < 2 || hop == 0 || win.checked_add(hop).map_or(true, |n| x.len() < n) {
        return None;
    }
    let start = x.len() - win - hop;
    let a = windowed_bin(&x[start..start + win], f0, rate, start);
    let b = windowed_bin(&x[start + hop..start + hop + win], f0, rate, start + hop);
    // b·conj(a): its angle is the phase advance over `hop` samples, relative to f0.
    let re = b.0 * a.0 + b.1 * a.1;
    let im = b.1 * a.0 - b.0 * a.1;
    if re == 0.0 && im == 0.0 {
        return None;
    }
    Some(f0 + im.atan2(re) * rate / (2.0 * std::f32::consts::PI * hop as f32))
}

/// Hann-windowed DFT at `f` of a block whose first sample is sample `origin` of the signal
/// (the phase reference is sample 0 of the signal, so blocks at different origins compare).
fn windowed_bin(block: &[f32], f: f32, rate: f32, origin: usize) -> (f32, f32) {
    let n = block.len() as f32;
    let w = 2.0 * std::f32::consts::PI * f / rate;
    let (mut re, mut im) = (0.0f32, 0.0f32);
    for (i, &x) in block.iter().enumerate() {
        let hann = 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / n).cos();
        // Relative to the block origin, then rotated to the signal's phase reference below.
        let ph = w * i as f32;
        re += hann * x * ph.cos();
        im -= hann * x * ph.sin();
    }
    // Rotate by −w·origin so both blocks share sample 0 as phase origin. origin ≤ a few
    // hundred samples: the f32 phase stays exact enough (error < 1e-4 rad).
    let ph0 = -(w * origin as f32) % (2.0 * std::f32::consts::PI);
    let (s, c) = ph0.sin_cos();
    (re * c - im * s, re * s + im * c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f32, peak: f32, n: usize, rate: f32) -> Vec<f32> {
        (0..n).map(|i| peak * (2.0 * std::f32::consts::PI * freq * i as f32 / rate).sin()).collect()
    }

    #[test]
    fn dbm0_reference() {
        // A full-scale sine is +3.14 dBm0; −26 dBm0 has peak ≈ 1141.
        let full = sine(1000.0, 32767.0, 8000, 8000.0);
        assert!((f64::from(block_dbm0(&full)) - FULL_SCALE_SINE_DBM0).abs() < 0.01);
        assert!((sine_peak_for_dbm0(-26.0) - 1144.03).abs() < 0.01);
        assert!((mean_square_to_dbm0(dbm0_to_mean_square(-40.0)) + 40.0).abs() < 1e-3);
        assert_eq!(block_dbm0(&[0.0; 80]), MIN_LEVEL_DBM0);
    }

    #[test]
    fn goertzel_measures_tone_mean_square() {
        // 1000 Hz falls on bin 12.75 of a 102-sample block: allow the scalloping loss (≤ 1 dB here).
        let x = sine(1000.0, 1000.0, 160, 8000.0);
        let g = Goertzel::new(1000.0, 8000.0);
        let ms = g.mean_square(&x);
        assert!((ms - 500_000.0).abs() / 500_000.0 < 0.01, "{ms}");
        let off = Goertzel::new(1400.0, 8000.0).mean_square(&x);
        assert!(off < ms / 100.0);
    }

    #[test]
    fn phase_frequency_estimates_offsets() {
        for f in [697.0f32, 707.5, 1633.0, 1576.0, 450.0] {
            let x = sine(f, 3000.0, 200, 8000.0);
            let nominal = if f > 1000.0 {
                1633.0
            } else if f > 600.0 {
                697.0
            } else {
                450.0
            };
            let est = phase_frequency(&x, nominal, 8000.0, 160, 40).expect("tone");
            assert!((est - f).abs() < 0.5, "{f}: {est}");
        }
    }
}
