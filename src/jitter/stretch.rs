//! Time-stretching without a pitch change: WSOLA-style accelerate and preemptive
//! expand on decoded audio, after NetEq's Accelerate / PreemptiveExpand.
//!
//! Both work on the start of the audio not yet played. The period `T` (2.5–15 ms,
//! at most half the audio available) is the lag of best normalised correlation
//! between `x[0..T]` and `x[T..2T]`:
//! - **accelerate** replaces `x[0..2T]` by the cross-fade of `x[0..T]` into
//!   `x[T..2T]`: `T` samples shorter;
//! - **preemptive expand** keeps `x[0..T]`, inserts the cross-fade of `x[T..2T]`
//!   into `x[0..T]`, then continues with `x[T..]`: `T` samples longer.
//!
//! Only one period is removed or inserted per operation, so a whole speech frame
//! is never dropped or repeated. The segment is stretched when it is low-energy
//! (background, as the caller judges against the noise estimate) — then by the
//! longest span allowed, 15 ms — or when it is voiced with correlation ≥ 0.9
//! (NetEq's threshold); otherwise nothing is done and the caller tries again on
//! later audio.

use super::dsp::{crossfade, PitchSearch};

/// Correlation a segment of active speech needs before it is stretched.
const VOICED_CORR: f32 = 0.9;

/// Time-stretcher for one stream at one sample rate; scratch allocated once.
#[derive(Debug, Clone)]
pub(crate) struct TimeStretch {
    min_lag: usize,
    max_lag: usize,
    search: PitchSearch,
    scratch: Vec<f32>,
}

impl TimeStretch {
    /// A stretcher for audio at `rate_hz`.
    pub(crate) fn new(rate_hz: u32) -> Self {
        let max_lag = usize::try_from(rate_hz * 15 / 1000).unwrap_or(1).max(2);
        TimeStretch {
            min_lag: usize::try_from(rate_hz / 400).unwrap_or(1).max(1),
            max_lag,
            search: PitchSearch::new(rate_hz, 2 * max_lag + 1),
            scratch: vec![0.0; max_lag],
        }
    }

    /// Audio (samples) needed at the start of the future for the longest period.
    pub(crate) fn wanted_len(&self) -> usize {
        2 * self.max_lag
    }

    /// Chooses the period for `x`, or `None` when the segment should not be stretched.
    /// Low-energy audio (background) has no period to respect: the longest span
    /// allowed is taken, so silence absorbs as much of the adjustment as it can.
    fn period(&mut self, x: &[f32], low_energy: bool) -> Option<usize> {
        let max = self.max_lag.min(x.len() / 2);
        if low_energy {
            return (max >= self.min_lag).then_some(max);
        }
        let seg = &x[..(2 * max).min(x.len())];
        let l = self.search.forward(seg, self.min_lag, max)?;
        (l.corr >= VOICED_CORR).then_some(l.lag)
    }

    /// Accelerate in place: the period is searched in `x[..search]` (so `T ≤ search/2`);
    /// on success `x[..x.len() − T]` holds the shortened audio and `T` is returned;
    /// the last `T` samples of `x` are then stale.
    pub(crate) fn accelerate(&mut self, x: &mut [f32], search: usize, low_energy: bool) -> Option<usize> {
        let t = self.period(&x[..search.min(x.len())], low_energy)?;
        let tmp = &mut self.scratch[..t];
        crossfade(tmp, &x[..t], &x[t..2 * t]);
        x[..t].copy_from_slice(tmp);
        x.copy_within(2 * t.., t);
        Some(t)
    }

    /// Preemptive expand in place: `x[..n]` is the audio and `x[n..]` free room
    /// (at least `max_lag` samples, else only shorter periods are tried). On success
    /// `x[..n + T]` holds the lengthened audio and `T` is returned.
    pub(crate) fn preemptive_expand(&mut self, x: &mut [f32], n: usize, low_energy: bool) -> Option<usize> {
        let room = x.len().saturating_sub(n);
        let n = n.min(x.len());
        let t = self.period(&x[..n], low_energy).filter(|&t| t <= room)?;
        // x[T..n] moves to x[2T..n+T]; the gap x[T..2T] gets x[T..2T] faded into x[0..T].
        let tmp = &mut self.scratch[..t];
        crossfade(tmp, &x[t..2 * t], &x[..t]);
        x.copy_within(t..n, 2 * t);
        x[t..2 * t].copy_from_slice(tmp);
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jitter::dsp::Rng;

    fn sine(n: usize, period: f32) -> Vec<f32> {
        (0..n).map(|i| 8000.0 * (2.0 * std::f32::consts::PI * i as f32 / period).sin()).collect()
    }

    /// Largest sample-to-sample step, a click detector for a smooth sine.
    fn max_step(x: &[f32]) -> f32 {
        x.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0, f32::max)
    }

    #[test]
    fn accelerate_removes_one_period_of_a_tone_without_a_click() {
        let mut ts = TimeStretch::new(8000);
        let mut x = sine(240, 64.0); // 125 Hz
        let smooth = max_step(&x);
        let t = ts.accelerate(&mut x, 240, false).expect("voiced");
        assert_eq!(t, 64);
        let y = &x[..240 - t];
        assert!(max_step(y) <= smooth * 1.01, "{} vs {smooth}", max_step(y));
        // The tail is the original signal, shifted by one period (same phase).
        assert!((y[150] - sine(240, 64.0)[150 + 64]).abs() < 1.0);
    }

    #[test]
    fn preemptive_expand_inserts_one_period() {
        let mut ts = TimeStretch::new(16_000);
        let mut x = sine(480, 100.0);
        x.resize(480 + 240, 0.0);
        let t = ts.preemptive_expand(&mut x, 480, false).expect("voiced");
        assert_eq!(t, 100, "one period, not a multiple");
        let y = &x[..480 + t];
        assert!(max_step(y) <= max_step(&sine(480, 100.0)) * 1.01);
        assert!((y[500] - sine(480, 100.0)[400]).abs() < 1.0);
    }

    #[test]
    fn noise_is_stretched_only_when_low_energy() {
        let mut ts = TimeStretch::new(8000);
        let mut rng = Rng::new(5);
        let noise: Vec<f32> = (0..240).map(|_| rng.next() * 5000.0).collect();
        let mut x = noise.clone();
        assert_eq!(ts.accelerate(&mut x, 240, false), None, "loud unvoiced speech is left alone");
        assert_eq!(x, noise);
        assert_eq!(ts.accelerate(&mut x, 240, true), Some(120), "background: the longest span, 15 ms");
    }
}
