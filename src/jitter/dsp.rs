//! Signal-processing helpers shared by concealment, merge, time-stretching and
//! comfort noise: energies, normalised correlation, pitch-period search,
//! cross-fades, Levinson–Durbin and a deterministic noise source.
//!
//! Everything works on mono `f32` samples in the 16-bit range (±32768), at the
//! receiver's output rate. No function here allocates: callers own the scratch.

/// Sum of squares of `x`.
pub(crate) fn energy(x: &[f32]) -> f32 {
    x.iter().map(|v| v * v).sum()
}

/// Root mean square of `x` (0 for an empty slice).
pub(crate) fn rms(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    (energy(x) / x.len() as f32).sqrt()
}

/// Normalised cross-correlation of two equally long slices, in [-1, 1]; 0 when
/// either is silent. Only the common length is used.
pub(crate) fn norm_corr(a: &[f32], b: &[f32]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
    for (&x, &y) in a.iter().zip(b) {
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa <= f32::EPSILON || bb <= f32::EPSILON {
        return 0.0;
    }
    ab / (aa * bb).sqrt()
}

/// Linear cross-fade written into `out`: `out[i] = from[i]·(1−w) + to[i]·w` with
/// `w` rising from 1/(n+1) to n/(n+1) over the `n = out.len()` samples, so that
/// neither end repeats a sample of the other signal exactly.
pub(crate) fn crossfade(out: &mut [f32], from: &[f32], to: &[f32]) {
    let n = out.len();
    let step = 1.0 / (n as f32 + 1.0);
    for (i, o) in out.iter_mut().enumerate() {
        let w = (i as f32 + 1.0) * step;
        let a = from.get(i).copied().unwrap_or(0.0);
        let b = to.get(i).copied().unwrap_or(0.0);
        *o = a + (b - a) * w;
    }
}

/// Converts `f32` samples to `i16` with rounding and saturation.
pub(crate) fn to_i16(src: &[f32], dst: &mut [i16]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        // Saturating float-to-int conversion is the intent.
        *d = s.round().clamp(-32768.0, 32767.0) as i16;
    }
}

/// How much lower than the best coarse correlation a shorter lag may be and still be
/// preferred: periodic signals correlate as well at multiples of their period.
const SHORTEST_SLACK: f32 = 0.02;

/// A best period (or lag) in samples and its normalised correlation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Lag {
    /// The lag in samples at the full rate.
    pub(crate) lag: usize,
    /// Normalised correlation at that lag, in [-1, 1].
    pub(crate) corr: f32,
}

/// Pitch-period and alignment searches: a coarse search on a signal decimated to
/// about 4 kHz (block averages), refined at the full rate around the coarse
/// maximum, as NetEq does. Holds its decimation scratch, allocated once.
#[derive(Debug, Clone)]
pub(crate) struct PitchSearch {
    /// Decimation factor: full-rate samples per coarse sample.
    decim: usize,
    scratch: Vec<f32>,
}

impl PitchSearch {
    /// A search for signals at `rate_hz`, whose inputs are at most `max_len` samples.
    pub(crate) fn new(rate_hz: u32, max_len: usize) -> Self {
        let decim = usize::try_from(rate_hz / 4000).unwrap_or(1).max(1);
        PitchSearch { decim, scratch: vec![0.0; max_len / decim + 1] }
    }

    /// Decimates `x` into the scratch; returns the coarse length.
    fn decimate(&mut self, x: &[f32]) -> usize {
        let d = self.decim;
        let n = (x.len() / d).min(self.scratch.len());
        let inv = 1.0 / d as f32;
        for (i, s) in self.scratch[..n].iter_mut().enumerate() {
            *s = x[i * d..(i + 1) * d].iter().sum::<f32>() * inv;
        }
        n
    }

    /// The period `T` in `min_lag..=max_lag` that best continues `seg` forward:
    /// the maximum of `corr(seg[0..T], seg[T..2T])` (what a WSOLA accelerate or
    /// preemptive expand overlaps). `None` when `seg` is shorter than `2·min_lag`.
    pub(crate) fn forward(&mut self, seg: &[f32], min_lag: usize, max_lag: usize) -> Option<Lag> {
        let max_lag = max_lag.min(seg.len() / 2);
        if min_lag == 0 || min_lag > max_lag {
            return None;
        }
        let d = self.decim;
        let n = self.decimate(seg);
        let coarse = &self.scratch[..n];
        let lags = (min_lag / d).max(1)..=(max_lag / d).min(n / 2);
        let best_c = lags.clone().map(|l| norm_corr(&coarse[..l], &coarse[l..2 * l])).fold(f32::MIN, f32::max);
        // The shortest lag nearly as good as the best: a period, not a multiple of it.
        let centre = lags
            .into_iter()
            .find(|&l| norm_corr(&coarse[..l], &coarse[l..2 * l]) >= best_c - SHORTEST_SLACK)
            .map_or(min_lag, |l| l * d);
        let lo = centre.saturating_sub(d).max(min_lag);
        let hi = (centre + d).min(max_lag);
        let mut fine: Option<Lag> = None;
        for t in lo..=hi {
            let c = norm_corr(&seg[..t], &seg[t..2 * t]);
            if fine.map_or(true, |f| c > f.corr) {
                fine = Some(Lag { lag: t, corr: c });
            }
        }
        fine
    }

    /// The pitch period `T` in `min_lag..=max_lag` at the end of `hist`: the maximum of
    /// `corr(hist[n−W..n], hist[n−W−T..n−T])` with window `W = win`. `None` when the
    /// history is shorter than `win + max_lag`.
    pub(crate) fn backward(&mut self, hist: &[f32], min_lag: usize, max_lag: usize, win: usize) -> Option<Lag> {
        let n = hist.len();
        if min_lag == 0 || min_lag > max_lag || n < win + max_lag || win == 0 {
            return None;
        }
        let d = self.decim;
        let start = n - win - max_lag;
        let cn = self.decimate(&hist[start..]);
        let coarse = &self.scratch[..cn];
        let cw = (win / d).max(1);
        let mut centre = min_lag;
        if cn >= cw {
            let target = &coarse[cn - cw..];
            let lags = (min_lag / d).max(1)..=(max_lag / d).min(cn - cw);
            let corr = |l: usize| norm_corr(target, &coarse[cn - cw - l..cn - l]);
            let best_c = lags.clone().map(corr).fold(f32::MIN, f32::max);
            centre = lags.into_iter().find(|&l| corr(l) >= best_c - SHORTEST_SLACK).map_or(min_lag, |l| l * d);
        }
        let lo = centre.saturating_sub(d).max(min_lag);
        let hi = (centre + d).min(max_lag);
        let target = &hist[n - win..];
        let mut fine: Option<Lag> = None;
        for t in lo..=hi {
            let c = norm_corr(target, &hist[n - win - t..n - t]);
            if fine.map_or(true, |f| c > f.corr) {
                fine = Some(Lag { lag: t, corr: c });
            }
        }
        fine
    }
}

/// Largest linear-prediction order used by the comfort-noise model.
pub(crate) const MAX_LPC_ORDER: usize = 12;

/// Autocorrelation `r[0..=order]` of `x` (`r` must hold `order + 1` values).
pub(crate) fn autocorr(x: &[f32], r: &mut [f32]) {
    for (k, rk) in r.iter_mut().enumerate() {
        *rk = if k < x.len() { x[k..].iter().zip(x).map(|(a, b)| a * b).sum() } else { 0.0 };
    }
}

/// Levinson–Durbin recursion: reflection coefficients `k[0..order]` (order =
/// `k.len()`) of the all-pole model whose autocorrelation is `r[0..=order]`.
/// Returns the prediction-error gain `Π(1 − k_i²)` (1 when `r[0]` is 0, with all
/// coefficients 0). Coefficients are clamped to ±0.99 so that the model stays stable.
pub(crate) fn levinson(r: &[f32], k: &mut [f32]) -> f32 {
    let order = k.len().min(MAX_LPC_ORDER).min(r.len().saturating_sub(1));
    k.iter_mut().for_each(|v| *v = 0.0);
    if r.first().map_or(true, |&r0| r0 <= f32::EPSILON) {
        return 1.0;
    }
    let mut a = [0.0f32; MAX_LPC_ORDER + 1];
    let mut tmp = [0.0f32; MAX_LPC_ORDER + 1];
    a[0] = 1.0;
    let mut err = r[0];
    let mut gain = 1.0f32;
    for m in 1..=order {
        let acc: f32 = (0..m).map(|j| a[j] * r[m - j]).sum();
        let km = (-acc / err).clamp(-0.99, 0.99);
        k[m - 1] = km;
        tmp[..=m].copy_from_slice(&a[..=m]);
        for j in 1..m {
            a[j] = tmp[j] + km * tmp[m - j];
        }
        a[m] = km;
        err *= 1.0 - km * km;
        gain *= 1.0 - km * km;
        if err <= f32::EPSILON {
            break;
        }
    }
    gain
}

/// Converts reflection coefficients to direct-form predictor coefficients
/// `a[1..=order]` (with `a[0] = 1` implied) of `A(z) = 1 + Σ a_i z^-i`.
pub(crate) fn refl_to_lpc(k: &[f32], a: &mut [f32; MAX_LPC_ORDER + 1]) {
    let order = k.len().min(MAX_LPC_ORDER);
    let mut tmp = [0.0f32; MAX_LPC_ORDER + 1];
    *a = [0.0; MAX_LPC_ORDER + 1];
    a[0] = 1.0;
    for m in 1..=order {
        let km = k[m - 1];
        tmp[..=m].copy_from_slice(&a[..=m]);
        for j in 1..m {
            a[j] = tmp[j] + km * tmp[m - j];
        }
        a[m] = km;
    }
}

/// A deterministic white-noise source (xorshift32), uniform in [−1, 1).
#[derive(Debug, Clone)]
pub(crate) struct Rng(u32);

impl Rng {
    /// A source started from `seed` (0 is replaced by a fixed non-zero seed).
    pub(crate) fn new(seed: u32) -> Self {
        Rng(if seed == 0 { 0x9E37_79B9 } else { seed })
    }

    /// The next sample, uniform in [−1, 1); variance 1/3.
    pub(crate) fn next(&mut self) -> f32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        (x >> 8) as f32 / (1u32 << 23) as f32 - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(n: usize, period: f32, amp: f32) -> Vec<f32> {
        (0..n).map(|i| amp * (2.0 * std::f32::consts::PI * i as f32 / period).sin()).collect()
    }

    #[test]
    fn forward_and_backward_find_the_period_at_48k_and_8k() {
        let mut ps = PitchSearch::new(48_000, 4000);
        let x = sine(2000, 384.0, 10_000.0); // 125 Hz at 48 kHz
        let f = ps.forward(&x, 120, 720).expect("long enough");
        assert_eq!(f.lag, 384);
        assert!(f.corr > 0.999);
        let b = ps.backward(&x, 120, 720, 480).expect("long enough");
        assert_eq!(b.lag, 384);
        let mut ps8 = PitchSearch::new(8000, 1000);
        let x8 = sine(480, 57.0, 8000.0);
        assert_eq!(ps8.forward(&x8, 20, 120).map(|l| l.lag), Some(57));
        assert_eq!(ps8.backward(&x8, 20, 120, 160).map(|l| l.lag), Some(57));
        assert_eq!(ps8.backward(&x8[..200], 20, 120, 160), None, "too short");
    }

    #[test]
    fn levinson_of_an_ar1_process() {
        // r[k] = 0.9^k: an AR(1) with pole 0.9, so k1 = -0.9 and the rest 0.
        let r: Vec<f32> = (0..5).map(|k| 0.9f32.powi(k)).collect();
        let mut k = [0.0f32; 4];
        let g = levinson(&r, &mut k);
        assert!((k[0] + 0.9).abs() < 1e-5, "{k:?}");
        assert!(k[1..].iter().all(|v| v.abs() < 1e-4), "{k:?}");
        assert!((g - 0.19).abs() < 1e-4);
        let mut a = [0.0; MAX_LPC_ORDER + 1];
        refl_to_lpc(&k, &mut a);
        assert!((a[1] + 0.9).abs() < 1e-5);
    }

    #[test]
    fn crossfade_and_conversion() {
        let mut out = [0.0f32; 3];
        crossfade(&mut out, &[4.0; 3], &[0.0; 3]);
        assert_eq!(out, [3.0, 2.0, 1.0]);
        let mut pcm = [0i16; 3];
        to_i16(&[40_000.0, -0.6, -40_000.0], &mut pcm);
        assert_eq!(pcm, [32767, -1, -32768]);
        let mut rng = Rng::new(1);
        let v: Vec<f32> = (0..10_000).map(|_| rng.next()).collect();
        let var = energy(&v) / v.len() as f32;
        assert!((var - 1.0 / 3.0).abs() < 0.02, "{var}");
        assert!(v.iter().all(|x| (-1.0..1.0).contains(x)));
    }
}
