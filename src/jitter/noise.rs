//! Comfort noise: the noise model (level and all-pole spectral shape), its
//! estimate from the background of the decoded audio, the RFC 3389 payload that
//! carries it, and the generator that synthesises it.
//!
//! - [`NoiseShape`]: RMS level (16-bit sample units) and reflection coefficients of
//!   an all-pole model `1/A(z)`, the form RFC 3389 §3 transmits.
//! - [`NoiseShape::from_rfc3389`]: reads a CN payload (PT 13). The level byte is the
//!   noise level in −dBov (0..=127, RFC 3389 §3.1), taken here with 0 dBov = a
//!   full-scale square wave, i.e. RMS 32767; each further byte is one reflection
//!   coefficient `k = (byte − 127) / 128`, the reading of libwebrtc's CNG decoder.
//! - [`BackgroundNoise`]: tracks the quietest recent frames of real audio (fast
//!   down, about +1.2 dB/s up, as NetEq's background-noise estimator; frames above
//!   −30 dBov never count) and their spectral shape (order-6 LPC), so that
//!   concealment can fade into noise that sounds like the call's own background.
//! - [`ComfortNoise`]: white noise through `1/A(z)`, scaled so that the output RMS is
//!   the model's level (the excitation gain is `level·√Π(1−k²)`); parameter changes
//!   are cross-faded per sample to avoid steps.

use super::dsp::{autocorr, levinson, refl_to_lpc, rms, Rng, MAX_LPC_ORDER};

/// LPC order of the background-noise estimate.
const BGN_ORDER: usize = 6;
/// Loudest frame taken as background: RMS 1000 (−30 dBov). Louder frames are speech
/// (or a tone), so a stream without pauses never turns its speech level into "noise".
const MAX_BACKGROUND: f32 = 1000.0;

/// A comfort-noise model: level and all-pole spectral shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NoiseShape {
    /// RMS level in 16-bit sample units.
    pub(crate) rms: f32,
    /// Reflection coefficients (first `order` used).
    pub(crate) refl: [f32; MAX_LPC_ORDER],
    /// Model order (0 = white noise).
    pub(crate) order: usize,
}

impl NoiseShape {
    /// Silence: level 0, white.
    pub(crate) const SILENT: NoiseShape = NoiseShape { rms: 0.0, refl: [0.0; MAX_LPC_ORDER], order: 0 };

    /// Reads an RFC 3389 comfort-noise payload (see the module docs for the
    /// quantisation). `None` for an empty payload. Coefficients beyond the
    /// twelfth are ignored (RFC 3389 §3: a decoder may lower the order).
    pub(crate) fn from_rfc3389(payload: &[u8]) -> Option<NoiseShape> {
        let (&level, coefs) = payload.split_first()?;
        let dbov = f32::from(level & 0x7F);
        let mut shape = NoiseShape::SILENT;
        shape.rms = 32767.0 * 10f32.powf(-dbov / 20.0);
        shape.order = coefs.len().min(MAX_LPC_ORDER);
        for (k, &b) in shape.refl.iter_mut().zip(coefs) {
            *k = ((f32::from(b) - 127.0) / 128.0).clamp(-0.99, 0.99);
        }
        Some(shape)
    }
}

/// Estimate of the background noise under the decoded speech.
#[derive(Debug, Clone)]
pub(crate) struct BackgroundNoise {
    shape: NoiseShape,
    /// Whether any frame has been seen.
    seeded: bool,
    /// Level growth per analysed frame when the signal is louder than the estimate.
    rise: f32,
    r: [f32; BGN_ORDER + 1],
}

impl BackgroundNoise {
    /// An estimator for frames of `frame_ms` milliseconds.
    pub(crate) fn new(frame_ms: u32) -> Self {
        // +1.2 dB per second: 10^(1.2/20) per second, spread over the frames.
        let per_sec = 10f32.powf(1.2 / 20.0);
        let rise = per_sec.powf(frame_ms as f32 / 1000.0);
        BackgroundNoise { shape: NoiseShape::SILENT, seeded: false, rise, r: [0.0; BGN_ORDER + 1] }
    }

    /// Feeds one frame of real decoded audio.
    pub(crate) fn update(&mut self, frame: &[f32]) {
        if frame.is_empty() {
            return;
        }
        let level = rms(frame);
        if level > MAX_BACKGROUND {
            // Speech, or a tone: never background. The estimate may only creep up.
            if self.seeded {
                self.shape.rms = (self.shape.rms * self.rise).min(MAX_BACKGROUND);
            }
            return;
        }
        let floor = self.shape.rms;
        if !self.seeded || level <= floor * 1.5 {
            // A background frame (or the first): take its level (falling at once, rising
            // by at most the allowed step) and blend its spectral shape in.
            let new = if !self.seeded || level < floor { level } else { (floor * self.rise).min(level) };
            self.shape.rms = new;
            autocorr(frame, &mut self.r);
            // Slight lag window: white-noise correction keeps the model well conditioned.
            self.r[0] *= 1.0001;
            let mut k = [0.0f32; BGN_ORDER];
            levinson(&self.r, &mut k);
            let w = if self.seeded { 0.2 } else { 1.0 };
            for (s, n) in self.shape.refl.iter_mut().zip(k) {
                *s += (n - *s) * w;
            }
            self.shape.order = BGN_ORDER;
            self.seeded = true;
        } else {
            self.shape.rms = (floor * self.rise).min(level);
        }
    }

    /// The current noise model (silent before any frame).
    pub(crate) fn shape(&self) -> NoiseShape {
        self.shape
    }
}

/// Synthesises comfort noise from a [`NoiseShape`].
#[derive(Debug, Clone)]
pub(crate) struct ComfortNoise {
    rng: Rng,
    a: [f32; MAX_LPC_ORDER + 1],
    order: usize,
    /// Excitation gain now and the gain the parameters ask for.
    gain: f32,
    target_gain: f32,
    /// Per-sample smoothing factor of the gain.
    smooth: f32,
    mem: [f32; MAX_LPC_ORDER],
}

impl ComfortNoise {
    /// A generator at `rate_hz` (the gain follows parameter changes with a 5 ms time constant).
    pub(crate) fn new(rate_hz: u32, seed: u32) -> Self {
        let tau = rate_hz as f32 * 0.005;
        ComfortNoise {
            rng: Rng::new(seed),
            a: [0.0; MAX_LPC_ORDER + 1],
            order: 0,
            gain: 0.0,
            target_gain: 0.0,
            smooth: 1.0 / tau.max(1.0),
            mem: [0.0; MAX_LPC_ORDER],
        }
    }

    /// Sets the model to synthesise. With `immediate` the level jumps, otherwise it glides.
    pub(crate) fn set(&mut self, shape: &NoiseShape, immediate: bool) {
        let order = shape.order.min(MAX_LPC_ORDER);
        refl_to_lpc(&shape.refl[..order], &mut self.a);
        self.order = order;
        let pred_gain: f32 = shape.refl[..order].iter().map(|k| 1.0 - k * k).product();
        // Uniform excitation has variance 1/3: scale it to unit variance first.
        self.target_gain = shape.rms * pred_gain.max(0.0).sqrt() * 3f32.sqrt();
        if immediate {
            self.gain = self.target_gain;
        }
    }

    /// Writes noise into `out`, each sample multiplied by `env(i)` on top of the model level.
    pub(crate) fn generate(&mut self, out: &mut [f32], mut env: impl FnMut(usize) -> f32) {
        for (i, o) in out.iter_mut().enumerate() {
            self.gain += (self.target_gain - self.gain) * self.smooth;
            let e = self.rng.next() * self.gain;
            // All-pole synthesis y[n] = e[n] − Σ a_j y[n−j].
            let mut y = e;
            for j in 0..self.order {
                y -= self.a[j + 1] * self.mem[j];
            }
            if !y.is_finite() {
                y = 0.0;
                self.mem = [0.0; MAX_LPC_ORDER];
            }
            if self.order > 0 {
                self.mem.copy_within(0..self.order - 1, 1);
                self.mem[0] = y;
            }
            *o = y * env(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3389_payload_is_read() {
        let s = NoiseShape::from_rfc3389(&[40, 127, 255, 0]).expect("non-empty");
        assert!((s.rms - 327.67).abs() < 0.01, "-40 dBov = 32767/100: {}", s.rms);
        assert_eq!(s.order, 3);
        assert_eq!(&s.refl[..3], &[0.0, 0.99, -0.99]);
        assert_eq!(NoiseShape::from_rfc3389(&[]), None);
        // The MSB of the level byte is unused (RFC 3389 §3.1).
        assert_eq!(NoiseShape::from_rfc3389(&[0x80 | 20]).map(|s| s.rms.round()), Some(3277.0));
    }

    #[test]
    fn generator_meets_the_level_for_white_and_shaped_models() {
        for order in [0usize, 2] {
            let mut shape = NoiseShape::from_rfc3389(&[30]).expect("non-empty");
            shape.order = order;
            shape.refl[0] = -0.8;
            shape.refl[1] = 0.3;
            let mut cng = ComfortNoise::new(8000, 7);
            cng.set(&shape, true);
            let mut out = vec![0.0f32; 16_000];
            cng.generate(&mut out, |_| 1.0);
            let got = rms(&out[800..]);
            let want = shape.rms;
            assert!((got / want - 1.0).abs() < 0.08, "order {order}: rms {got} vs {want}");
        }
    }

    #[test]
    fn background_estimate_follows_the_quiet_frames() {
        let mut bgn = BackgroundNoise::new(20);
        let mut rng = Rng::new(3);
        let mut frame = [0.0f32; 160];
        // Loud and quiet frames alternate: the estimate sits at the quiet level.
        for i in 0..100 {
            let amp = if i % 2 == 0 { 10_000.0 } else { 100.0 };
            frame.iter_mut().for_each(|s| *s = rng.next() * amp);
            bgn.update(&frame);
        }
        let quiet = 100.0 / 3f32.sqrt();
        assert!((bgn.shape().rms / quiet - 1.0).abs() < 0.25, "{}", bgn.shape().rms);
        // Only loud frames for 5 s: it rises ~6 dB, never to the speech level.
        for _ in 0..250 {
            frame.iter_mut().for_each(|s| *s = rng.next() * 10_000.0);
            bgn.update(&frame);
        }
        let r = bgn.shape().rms / quiet;
        assert!(r > 1.5 && r < 2.5, "{r}");
        // A stream of nothing but a loud tone never becomes background.
        let mut tone_only = BackgroundNoise::new(20);
        for _ in 0..100 {
            frame.iter_mut().enumerate().for_each(|(i, s)| *s = 8000.0 * (i as f32 * 0.3).sin());
            tone_only.update(&frame);
        }
        assert_eq!(tone_only.shape().rms, 0.0);
    }
}
