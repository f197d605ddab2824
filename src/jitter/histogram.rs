//! A forgetting histogram of delays, as NetEq's `Histogram`.
//!
//! Buckets hold probabilities summing to 1. Each [`add`](Histogram::add) scales
//! every bucket by the forgetting factor `f` and adds `1 − f` to the bucket of the
//! new value, so old observations fade geometrically (weight `f^n` after `n` newer
//! ones; memory about `1/(1−f)` observations). While the histogram is young the
//! factor ramps up as `f_n = min(f, 1 − w/(n+1))` after `n` observations (NetEq's
//! start-forget weight `w`, default 2), so early observations are averaged rather
//! than swamped by the initial state.

/// A forgetting histogram over `len` equal buckets.
#[derive(Debug, Clone)]
pub(crate) struct Histogram {
    buckets: Vec<f64>,
    forget: f64,
    start_weight: f64,
    adds: u64,
}

impl Histogram {
    /// A histogram of `len` buckets (at least 1) with forgetting factor `forget`
    /// (clamped to 0..1) and start weight `start_weight` (0 disables the ramp).
    pub(crate) fn new(len: usize, forget: f64, start_weight: f64) -> Self {
        Histogram {
            buckets: vec![0.0; len.max(1)],
            forget: forget.clamp(0.0, 0.999_999),
            start_weight: start_weight.max(0.0),
            adds: 0,
        }
    }

    /// Observations added so far.
    #[cfg(test)]
    pub(crate) fn count(&self) -> u64 {
        self.adds
    }

    /// Adds one observation in bucket `index` (values past the last bucket go to the last).
    pub(crate) fn add(&mut self, index: usize) {
        let index = index.min(self.buckets.len() - 1);
        if self.adds == 0 {
            self.buckets.iter_mut().for_each(|b| *b = 0.0);
            self.buckets[index] = 1.0;
        } else {
            let f = if self.start_weight > 0.0 {
                self.forget.min(1.0 - self.start_weight / (self.adds as f64 + 1.0)).max(0.0)
            } else {
                self.forget
            };
            self.buckets.iter_mut().for_each(|b| *b *= f);
            self.buckets[index] += 1.0 - f;
        }
        self.adds = self.adds.saturating_add(1);
    }

    /// The `q`-quantile (0..=1) in bucket units, interpolated linearly inside the
    /// bucket where the cumulative probability reaches `q`: a value in `[i, i+1]`
    /// for bucket `i`. `None` before the first observation.
    pub(crate) fn quantile(&self, q: f64) -> Option<f64> {
        if self.adds == 0 {
            return None;
        }
        let total: f64 = self.buckets.iter().sum();
        let want = q.clamp(0.0, 1.0) * total;
        let mut cum = 0.0;
        for (i, &b) in self.buckets.iter().enumerate() {
            if b > 0.0 && cum + b >= want {
                return Some(i as f64 + ((want - cum) / b).clamp(0.0, 1.0));
            }
            cum += b;
        }
        Some(self.buckets.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_interpolates_within_the_bucket() {
        let mut h = Histogram::new(10, 0.999, 0.0);
        assert_eq!(h.quantile(0.5), None);
        h.add(3);
        assert_eq!(h.quantile(0.5), Some(3.5));
        assert_eq!(h.quantile(1.0), Some(4.0));
        assert_eq!(h.count(), 1);
    }

    #[test]
    fn old_observations_are_forgotten() {
        let mut h = Histogram::new(10, 0.9, 0.0);
        for _ in 0..100 {
            h.add(8);
        }
        assert!(h.quantile(0.95).expect("seen") > 8.0);
        // 30 observations in bucket 1: bucket 8 keeps 0.9^30 ≈ 4 %: below 5 %.
        for _ in 0..30 {
            h.add(1);
        }
        let q = h.quantile(0.95).expect("seen");
        assert!(q < 2.0, "{q}");
        // ...but the 97th percentile still sees it.
        assert!(h.quantile(0.97).expect("seen") > 8.0);
    }

    #[test]
    fn start_weight_averages_early_observations() {
        let mut h = Histogram::new(4, 0.99, 2.0);
        h.add(0);
        h.add(3); // f = 1 − 2/2 = 0: replaces
        assert_eq!(h.quantile(0.01).map(|q| q.floor()), Some(3.0));
        h.add(0); // f = 1 − 2/3 = 1/3: bucket 3 keeps 1/3
        let q = h.quantile(0.5).expect("seen");
        assert!(q < 1.0, "{q}");
        assert!(h.quantile(0.9).expect("seen") >= 3.0);
        // Values beyond the last bucket land in it.
        h.add(99);
        assert!(h.quantile(1.0).expect("seen") <= 4.0);
    }
}
