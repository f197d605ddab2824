//! Comfort noise for recording gaps after a CN packet (RFC 3389 §3: the first payload
//! byte is the noise level in −dBov, 0..=127).

/// White noise at the level a CN packet announced, from a small deterministic generator.
#[derive(Debug, Clone)]
pub(crate) struct ComfortNoise {
    /// Peak amplitude of the uniform noise, in linear 16-bit units.
    peak: i32,
    state: u32,
}

impl ComfortNoise {
    /// Noise at `level_dbov` (RFC 3389 byte: the level is `-level_dbov` dBov, relative to a
    /// full-scale 16-bit signal), seeded by `seed`.
    pub(crate) fn new(level_dbov: u8, seed: u32) -> Self {
        let level = f64::from(level_dbov.min(127));
        let rms = 32767.0 * 10f64.powf(-level / 20.0);
        // Uniform noise on [-p, p] has RMS p / sqrt(3).
        let peak = (rms * 3f64.sqrt()).round().clamp(0.0, 32767.0) as i32;
        ComfortNoise { peak, state: seed | 1 }
    }

    /// The next noise sample.
    pub(crate) fn next_sample(&mut self) -> i16 {
        // xorshift32
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.state = x;
        if self.peak == 0 {
            return 0;
        }
        let span = 2 * self.peak + 1;
        ((x % span as u32) as i32 - self.peak) as i16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_64_dbov_has_rms_near_20() {
        let mut cn = ComfortNoise::new(64, 7);
        let n = 80_000;
        let sum: f64 = (0..n).map(|_| f64::from(cn.next_sample()).powi(2)).sum();
        let rms = (sum / n as f64).sqrt();
        let dbov = 20.0 * (rms / 32767.0).log10();
        assert!((dbov + 64.0).abs() < 1.0, "measured {dbov} dBov");
    }
}
