//! The mixer: 32-bit accumulation of gained inputs, then one saturation or soft limiter.
//!
//! CASES B20: summing into 16 bits wraps (Janus PR #3601), and saturating after each input
//! instead of once after the sum gives wrong values (Teensy Audio #431). Here every input is
//! added (after its gain) into an `i32` accumulator, and only the finished sum is narrowed to
//! `i16`, by [`OutputStage::Clamp`] or [`OutputStage::Limiter`].

use super::MixError;
use crate::audio::SampleRate;
use std::time::Duration;

/// The largest gain a link may have: 8.0 (+18.06 dB). Bounds one term to 2^18 in magnitude.
pub const MAX_GAIN: f32 = 8.0;

/// The most inputs one [`Mixer`] frame accepts: 4096. With terms bounded by 2^18 (see [`MAX_GAIN`])
/// the `i32` sum stays within 2^30, so the accumulation can never overflow.
pub const MAX_INPUTS: usize = 4096;

/// A linear gain in Q15 fixed point: 32 768 = 1.0 (0 dB), 0 = mute, at most [`MAX_GAIN`].
///
/// Applying it to a sample computes `(sample · q15 + 2^14) >> 15` in 64-bit, i.e. the product
/// rounded half up, so 2.0 (65 536) is exact: 32 767 × 2.0 = 65 534.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gain(u32);

impl Gain {
    /// 1.0: the input passes unchanged (the mixer adds it without a multiply).
    pub const UNITY: Gain = Gain(1 << 15);
    /// 0.0: the input contributes nothing.
    pub const MUTE: Gain = Gain(0);

    /// A gain from a linear factor; clamped to `[0, MAX_GAIN]`, NaN gives [`Gain::MUTE`].
    pub fn from_linear(g: f32) -> Gain {
        if g.is_nan() || g <= 0.0 {
            return Gain::MUTE;
        }
        let g = g.min(MAX_GAIN);
        // In range: g ≤ 8.0 so the product ≤ 262 144.
        Gain((f64::from(g) * 32768.0).round() as u32)
    }

    /// A gain from decibels (20·log10 of the factor); clamped like [`Gain::from_linear`].
    pub fn from_db(db: f32) -> Gain {
        Gain::from_linear(10f32.powf(db / 20.0))
    }

    /// A gain from its Q15 value (32 768 = 1.0), clamped to [`MAX_GAIN`].
    pub fn from_q15(q15: u32) -> Gain {
        Gain(q15.min(MAX_GAIN as u32 * 32768))
    }

    /// The Q15 value (32 768 = 1.0).
    pub const fn q15(self) -> u32 {
        self.0
    }

    /// The linear factor.
    pub fn linear(self) -> f32 {
        self.0 as f32 / 32768.0
    }

    /// The product of two gains (clamped to [`MAX_GAIN`]), e.g. a tap's listen gain times a link's.
    pub fn then(self, other: Gain) -> Gain {
        Gain::from_q15(u32::try_from((u64::from(self.0) * u64::from(other.0) + (1 << 14)) >> 15).unwrap_or(u32::MAX))
    }
}

impl Default for Gain {
    fn default() -> Self {
        Gain::UNITY
    }
}

/// A look-ahead-free peak limiter's settings.
///
/// Per sample `x` of the 32-bit sum, with gain state `g` (starting at 1.0):
/// 1. release: `g ← 1 − (1 − g)·r`, with `r = exp(−1 / (release · rate))` (one-pole recovery toward
///    1.0; after `release` the remaining reduction is 1/e ≈ 37 %);
/// 2. attack: if `|x|·g > threshold` then `g ← threshold / |x|` — **instant** (0 ms attack), so no
///    output sample ever exceeds the threshold and no look-ahead delay is added;
/// 3. output `round(x·g)`, clamped to `i16` as a last guard.
///
/// Since `g > 0`, every output sample has the sign of the true sum or is 0 (CASES B20 (5)).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct LimiterConfig {
    /// Largest output magnitude, in sample units (1..=32 767). Default 29 204 (−1 dBFS).
    pub threshold: i16,
    /// Release time constant. Default 50 ms.
    pub release: Duration,
}

impl Default for LimiterConfig {
    fn default() -> Self {
        LimiterConfig { threshold: 29_204, release: Duration::from_millis(50) }
    }
}

/// How a [`Mixer`] narrows its 32-bit sum to `i16` (once, after all inputs are added).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum OutputStage {
    /// Hard saturation to `[-32 768, 32 767]`: exact for sums in range, pinned at full scale otherwise.
    #[default]
    Clamp,
    /// The soft limiter described at [`LimiterConfig`].
    Limiter(LimiterConfig),
}

/// Limiter state: the current gain and the per-sample release coefficient.
#[derive(Debug, Clone)]
struct Limiter {
    threshold: f32,
    release_coef: f32,
    gain: f32,
}

impl Limiter {
    fn new(cfg: LimiterConfig, rate: SampleRate) -> Limiter {
        let samples = cfg.release.as_secs_f64() * f64::from(rate.hz());
        let coef = if samples > 0.0 { (-1.0 / samples).exp() } else { 0.0 };
        Limiter { threshold: f32::from(cfg.threshold.max(1)), release_coef: coef as f32, gain: 1.0 }
    }

    fn run<'a>(&mut self, acc: &[i32], out: impl Iterator<Item = &'a mut i16>) {
        let thr = self.threshold;
        let r = self.release_coef;
        let mut g = self.gain;
        for (o, &x) in out.zip(acc) {
            g = 1.0 - (1.0 - g) * r;
            let ax = x.unsigned_abs() as f32;
            if ax * g > thr {
                g = thr / ax;
            }
            let y = (x as f32 * g).round();
            *o = y.clamp(-32768.0, 32767.0) as i16;
        }
        self.gain = g;
    }
}

/// Mixes any number of mono `i16` inputs of one frame length into one output.
///
/// Use per frame: [`Mixer::clear`], any number of [`Mixer::add`] / [`Mixer::add_at`], then
/// [`Mixer::finish`] into a caller-provided buffer. The accumulator (`i32`, one per sample) is
/// allocated once in [`Mixer::new`]; nothing allocates per frame. A limiter's gain state carries
/// over from frame to frame, so use one `Mixer` per output stream.
#[derive(Debug, Clone)]
pub struct Mixer {
    acc: Vec<i32>,
    inputs: usize,
    limiter: Option<Limiter>,
}

impl Mixer {
    /// A mixer for frames of `samples_per_frame` samples (mono) at `rate` (the rate only sets the
    /// limiter's release coefficient).
    ///
    /// # Errors
    /// [`MixError::BadConfig`] if `samples_per_frame` is 0 or above 48 000 (1 s at 48 kHz).
    pub fn new(samples_per_frame: usize, rate: SampleRate, stage: OutputStage) -> Result<Mixer, MixError> {
        if samples_per_frame == 0 || samples_per_frame > 48_000 {
            return Err(MixError::BadConfig("mixer frame must hold 1..=48000 samples"));
        }
        let limiter = match stage {
            OutputStage::Clamp => None,
            OutputStage::Limiter(cfg) => Some(Limiter::new(cfg, rate)),
        };
        Ok(Mixer { acc: vec![0; samples_per_frame], inputs: 0, limiter })
    }

    /// Samples per frame (mono).
    pub fn samples_per_frame(&self) -> usize {
        self.acc.len()
    }

    /// Starts a new frame: zeroes the accumulator.
    pub fn clear(&mut self) {
        self.acc.fill(0);
        self.inputs = 0;
    }

    /// Adds a whole frame (`input.len()` = samples per frame) times `gain` to the sum.
    ///
    /// # Errors
    /// [`MixError::FrameLength`] on a wrong length; [`MixError::TooManyInputs`] past [`MAX_INPUTS`].
    /// Nothing is added on error.
    pub fn add(&mut self, input: &[i16], gain: Gain) -> Result<(), MixError> {
        if input.len() != self.acc.len() {
            return Err(MixError::FrameLength { expected: self.acc.len(), got: input.len() });
        }
        self.add_at(0, input, gain)
    }

    /// Adds `input` times `gain` to the samples `offset .. offset + input.len()` of the frame (a
    /// source that starts or ends inside the frame).
    ///
    /// # Errors
    /// [`MixError::FrameLength`] if the span passes the frame's end; [`MixError::TooManyInputs`]
    /// past [`MAX_INPUTS`]. Nothing is added on error.
    pub fn add_at(&mut self, offset: usize, input: &[i16], gain: Gain) -> Result<(), MixError> {
        let end = offset.checked_add(input.len()).filter(|&e| e <= self.acc.len());
        let Some(end) = end else {
            return Err(MixError::FrameLength { expected: self.acc.len(), got: offset.saturating_add(input.len()) });
        };
        if self.inputs >= MAX_INPUTS {
            return Err(MixError::TooManyInputs);
        }
        self.inputs += 1;
        let acc = &mut self.acc[offset..end];
        if gain == Gain::UNITY {
            for (a, &s) in acc.iter_mut().zip(input) {
                *a += i32::from(s);
            }
        } else if gain != Gain::MUTE {
            let g = i64::from(gain.0);
            for (a, &s) in acc.iter_mut().zip(input) {
                // |s·g| ≤ 2^15 · 2^18: the shifted result fits i32 (≤ 2^18).
                *a += ((i64::from(s) * g + (1 << 14)) >> 15) as i32;
            }
        }
        Ok(())
    }

    /// Zeroes the sum over `range` (samples of this frame): what was added there so far is
    /// dropped (a prompt in replace mode mutes the conversation under it). Out-of-frame parts of
    /// the range are ignored.
    pub fn zero_range(&mut self, range: std::ops::Range<usize>) {
        let end = range.end.min(self.acc.len());
        if range.start < end {
            self.acc[range.start..end].fill(0);
        }
    }

    /// Narrows the sum to `out` (samples per frame) through the output stage; the accumulator is
    /// left as is (call [`Mixer::clear`] before the next frame).
    ///
    /// # Errors
    /// [`MixError::FrameLength`] if `out` has another length; nothing is written.
    pub fn finish(&mut self, out: &mut [i16]) -> Result<(), MixError> {
        if out.len() != self.acc.len() {
            return Err(MixError::FrameLength { expected: self.acc.len(), got: out.len() });
        }
        self.narrow(out.iter_mut());
        Ok(())
    }

    /// As [`Mixer::finish`], into channel `channel` of the interleaved buffer `out` of `channels`
    /// channels (`out.len()` = samples per frame × `channels`); the other channels are untouched.
    ///
    /// # Errors
    /// [`MixError::FrameLength`] on a wrong `out` length (its `expected` saturates at
    /// `usize::MAX` for absurd channel counts), [`MixError::BadPcm`] if `channel >= channels`;
    /// nothing is written.
    pub fn finish_channel(&mut self, out: &mut [i16], channel: usize, channels: usize) -> Result<(), MixError> {
        if channel >= channels {
            return Err(MixError::BadPcm("channel index out of range"));
        }
        let expected = self.acc.len().saturating_mul(channels);
        if out.len() != expected {
            return Err(MixError::FrameLength { expected, got: out.len() });
        }
        self.narrow(out.iter_mut().skip(channel).step_by(channels));
        Ok(())
    }

    fn narrow<'a>(&mut self, out: impl Iterator<Item = &'a mut i16>) {
        match &mut self.limiter {
            None => {
                for (o, &x) in out.zip(&self.acc) {
                    *o = x.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
                }
            }
            Some(l) => l.run(&self.acc, out),
        }
    }

    /// One frame in one call: clear, add every `(input, gain)`, finish into `out`.
    ///
    /// # Errors
    /// As [`Mixer::add`] and [`Mixer::finish`]; on error `out` is not written.
    pub fn mix(&mut self, inputs: &[(&[i16], Gain)], out: &mut [i16]) -> Result<(), MixError> {
        if out.len() != self.acc.len() {
            return Err(MixError::FrameLength { expected: self.acc.len(), got: out.len() });
        }
        self.clear();
        for (input, gain) in inputs {
            self.add(input, *gain)?;
        }
        self.finish(out)
    }

    /// The 32-bit sum so far (samples per frame), before narrowing.
    pub fn sum(&self) -> &[i32] {
        &self.acc
    }
}

/// Interleaves two mono frames into stereo: `out = [l0, r0, l1, r1, …]` (A left, B right).
///
/// # Errors
/// [`MixError::FrameLength`] unless `right.len() == left.len()` and `out.len() == 2 · left.len()`;
/// nothing is written.
pub fn interleave_stereo(left: &[i16], right: &[i16], out: &mut [i16]) -> Result<(), MixError> {
    if right.len() != left.len() {
        return Err(MixError::FrameLength { expected: left.len(), got: right.len() });
    }
    if out.len() != 2 * left.len() {
        return Err(MixError::FrameLength { expected: 2 * left.len(), got: out.len() });
    }
    for ((o, &l), &r) in out.chunks_exact_mut(2).zip(left).zip(right) {
        o[0] = l;
        o[1] = r;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mixer(stage: OutputStage) -> Mixer {
        Mixer::new(160, SampleRate::HZ_8000, stage).expect("160 samples is valid")
    }

    #[test]
    fn gain_conversions() {
        assert_eq!(Gain::from_linear(1.0), Gain::UNITY);
        assert_eq!(Gain::from_linear(2.0).q15(), 65_536);
        assert_eq!(Gain::from_linear(100.0).q15(), 262_144);
        assert_eq!(Gain::from_linear(f32::NAN), Gain::MUTE);
        assert_eq!(Gain::from_linear(-1.0), Gain::MUTE);
        assert_eq!(Gain::from_db(-6.0206).q15(), 16_384);
        assert_eq!(Gain::from_linear(0.5).then(Gain::from_linear(4.0)).q15(), 65_536);
    }

    #[test]
    fn gain_applies_rounded() {
        let mut m = mixer(OutputStage::Clamp);
        let mut out = [0i16; 160];
        m.mix(&[(&[3i16; 160], Gain::from_linear(0.5))], &mut out).expect("lengths match");
        assert!(out.iter().all(|&s| s == 2), "1.5 rounds half up to 2");
        m.mix(&[(&[-3i16; 160], Gain::from_linear(0.5))], &mut out).expect("lengths match");
        assert!(out.iter().all(|&s| s == -1), "-1.5 rounds half up to -1");
    }

    #[test]
    fn add_at_offsets_and_checks_bounds() {
        let mut m = mixer(OutputStage::Clamp);
        m.clear();
        m.add_at(150, &[100; 10], Gain::UNITY).expect("fits");
        assert_eq!(m.add_at(151, &[1; 10], Gain::UNITY), Err(MixError::FrameLength { expected: 160, got: 161 }));
        assert!(m.add_at(usize::MAX, &[1; 10], Gain::UNITY).is_err());
        assert_eq!(&m.sum()[148..152], &[0, 0, 100, 100]);
        m.zero_range(155..400);
        assert_eq!(&m.sum()[153..157], &[100, 100, 0, 0]);
    }

    #[test]
    fn wrong_lengths_are_errors_not_panics() {
        let mut m = mixer(OutputStage::Clamp);
        let mut out = [0i16; 160];
        assert_eq!(m.add(&[0; 159], Gain::UNITY), Err(MixError::FrameLength { expected: 160, got: 159 }));
        assert!(m.finish(&mut [0; 161]).is_err());
        assert!(Mixer::new(0, SampleRate::HZ_8000, OutputStage::Clamp).is_err());
        m.mix(&[], &mut out).expect("no inputs is silence");
        assert!(out.iter().all(|&s| s == 0));
    }

    #[test]
    fn input_count_is_bounded() {
        let mut m = Mixer::new(1, SampleRate::HZ_8000, OutputStage::Clamp).expect("valid");
        m.clear();
        for _ in 0..MAX_INPUTS {
            m.add(&[i16::MIN], Gain::from_linear(MAX_GAIN)).expect("below the bound");
        }
        assert_eq!(m.add(&[1], Gain::UNITY), Err(MixError::TooManyInputs));
        assert_eq!(m.sum()[0], -(1 << 30), "4096 × −32768 × 8 = −2^30, no overflow");
        let mut out = [0i16];
        m.finish(&mut out).expect("length 1");
        assert_eq!(out[0], i16::MIN);
    }

    #[test]
    fn limiter_holds_threshold_and_releases() {
        let cfg = LimiterConfig { threshold: 16_000, release: Duration::from_millis(10) };
        let mut m = mixer(OutputStage::Limiter(cfg));
        let mut out = [0i16; 160];
        // One loud frame: every sample 32 000 → output pinned at the threshold.
        m.mix(&[(&[32_000; 160], Gain::UNITY)], &mut out).expect("lengths match");
        assert!(out.iter().all(|&s| s == 16_000), "{:?}", &out[..4]);
        // Then a quiet frame: the gain recovers toward 1 with a 10 ms (80-sample) time constant.
        m.mix(&[(&[1000; 160], Gain::UNITY)], &mut out).expect("lengths match");
        let expect_at = |n: i32| 1000.0 * (1.0 - 0.5 * (-(n as f64) / 80.0).exp());
        assert!((f64::from(out[0]) - expect_at(1)).abs() <= 1.0, "{} vs {}", out[0], expect_at(1));
        assert!((f64::from(out[79]) - expect_at(80)).abs() <= 1.0, "{} vs {}", out[79], expect_at(80));
        assert!((f64::from(out[159]) - expect_at(160)).abs() <= 1.0);
    }

    #[test]
    fn interleave() {
        let mut out = [0i16; 6];
        interleave_stereo(&[1, 2, 3], &[-1, -2, -3], &mut out).expect("lengths match");
        assert_eq!(out, [1, -1, 2, -2, 3, -3]);
        assert!(interleave_stereo(&[1, 2], &[1], &mut [0; 4]).is_err());
        assert!(interleave_stereo(&[1, 2], &[1, 2], &mut [0; 5]).is_err());
    }
}
