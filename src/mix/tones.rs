//! Tones: one or two sine frequencies at a level in dBm0, gated by an on/off cadence.
//!
//! ## The level reference (dBm0)
//! ITU-T G.711 §5: the digital milliwatt (Table 5 for A-law, Table 6 for µ-law; eight code words
//! per cycle of 1 kHz) decodes to a sine at 0 dBm0, and the theoretical load capacity (the sine
//! whose peaks reach the coder's overload point) is **+3.14 dBm0 for A-law** and **+3.17 dBm0 for
//! µ-law**. In 16-bit linear PCM (G.191 scaling: A-law ×8 of its 13-bit range, overload 4096·8 =
//! 32 768; µ-law ×4 of its 14-bit range, overload 8159·4 = 32 636) a 0 dBm0 sine therefore has
//!
//! - A-law: peak 32 768·10^(−3.14/20) = 22 827.4, RMS 16 141.2 (−6.15 dBov);
//! - µ-law: peak 32 636·10^(−3.17/20) = 22 656.5, RMS 16 020.7.
//!
//! (The decoded digital milliwatt itself measures RMS 16 139.2 for A-law and 16 016.8 for µ-law:
//! within 0.003 dB of these.) Linear calls (L16, Opus at 16/48 kHz) use the same 16-bit scale, with
//! the reference of the law used towards the network; [`Dbm0Reference::ALaw`] is the default (the
//! law of E1 networks, China included).

use super::MixError;
use crate::audio::SampleRate;
use std::time::Duration;

/// A-law theoretical load capacity, +3.14 dBm0 (ITU-T G.711 §5); not π.
#[allow(clippy::approx_constant)]
const ALAW_TMAX_DBM0: f64 = 3.14;
/// µ-law theoretical load capacity, +3.17 dBm0 (ITU-T G.711 §5).
const MULAW_TMAX_DBM0: f64 = 3.17;

/// Which G.711 law's digital milliwatt defines 0 dBm0 (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Dbm0Reference {
    /// A-law: load capacity +3.14 dBm0 at overload 32 768.
    #[default]
    ALaw,
    /// µ-law: load capacity +3.17 dBm0 at overload 32 636.
    MuLaw,
}

impl Dbm0Reference {
    /// RMS of a 0 dBm0 sine in 16-bit sample units: 16 141.17 (A-law) or 16 020.72 (µ-law).
    pub fn rms_0dbm0(self) -> f64 {
        let (overload, tmax_db) = match self {
            Dbm0Reference::ALaw => (32_768.0, ALAW_TMAX_DBM0),
            Dbm0Reference::MuLaw => (32_636.0, MULAW_TMAX_DBM0),
        };
        overload * 10f64.powf(-tmax_db / 20.0) / std::f64::consts::SQRT_2
    }
}

/// A level in dBm0 (decibels relative to the digital milliwatt, ITU-T G.711 §5 / G.100.1).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Dbm0(pub f32);

impl Dbm0 {
    /// The peak amplitude (sample units) of a sine at this level under `reference`.
    pub fn sine_peak(self, reference: Dbm0Reference) -> f64 {
        reference.rms_0dbm0() * std::f64::consts::SQRT_2 * 10f64.powf(f64::from(self.0) / 20.0)
    }

    /// The level in dBm0 of a sine of RMS `rms` (sample units) under `reference`.
    pub fn of_rms(rms: f64, reference: Dbm0Reference) -> Dbm0 {
        Dbm0((20.0 * (rms / reference.rms_0dbm0()).log10()) as f32)
    }
}

/// One on/off step of a cadence: the tone sounds for `on`, then silence for `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CadenceStep {
    /// Tone time; converted to samples by rounding to nearest.
    pub on: Duration,
    /// Silence after it; converted to samples by rounding to nearest (may be zero).
    pub off: Duration,
}

/// How many times a cadence's steps run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Repeat {
    /// This many passes (≥ 1), then the tone ends.
    Times(u32),
    /// Until stopped.
    Forever,
}

/// An on/off pattern: the `steps` in order, run `repeat` times (e.g. two 250 ms beeps 250 ms apart:
/// one step {on 250 ms, off 250 ms}, [`Repeat::Times`]`(2)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cadence {
    steps: Vec<CadenceStep>,
    repeat: Repeat,
}

impl Cadence {
    /// A cadence of `steps` run `repeat` times.
    ///
    /// # Errors
    /// [`MixError::BadCadence`] if `steps` is empty, a step has zero on-time, or `repeat` is `Times(0)`.
    pub fn new(steps: Vec<CadenceStep>, repeat: Repeat) -> Result<Cadence, MixError> {
        if steps.is_empty() {
            return Err(MixError::BadCadence("no steps"));
        }
        if steps.iter().any(|s| s.on.is_zero()) {
            return Err(MixError::BadCadence("a step has no on-time"));
        }
        if repeat == Repeat::Times(0) {
            return Err(MixError::BadCadence("zero repeats"));
        }
        Ok(Cadence { steps, repeat })
    }

    /// A single burst of `on` (a continuous tone of that length); zero is taken as one sample's worth.
    pub fn once(on: Duration) -> Cadence {
        Cadence {
            steps: vec![CadenceStep { on: on.max(Duration::from_nanos(1)), off: Duration::ZERO }],
            repeat: Repeat::Times(1),
        }
    }

    /// A tone that sounds until stopped.
    pub fn steady() -> Cadence {
        Cadence {
            steps: vec![CadenceStep { on: Duration::from_secs(1), off: Duration::ZERO }],
            repeat: Repeat::Forever,
        }
    }

    /// The steps.
    pub fn steps(&self) -> &[CadenceStep] {
        &self.steps
    }

    /// The repeat count.
    pub fn repeat(&self) -> Repeat {
        self.repeat
    }
}

/// What to generate: one or two sine components, each at `level`, gated by `cadence`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ToneSpec {
    /// First frequency in Hz, in (0, rate/2).
    pub freq1_hz: f32,
    /// Optional second frequency in Hz (dual tone, e.g. 350 + 440 Hz dial tone).
    pub freq2_hz: Option<f32>,
    /// Level of **each** component in dBm0 (≤ +3 dBm0).
    pub level: Dbm0,
    /// The dBm0 reference (G.711 law).
    pub reference: Dbm0Reference,
    /// On/off pattern.
    pub cadence: Cadence,
    /// Linear fade in and out at each burst's edges (0 = hard gating, the default; a few ms
    /// removes the click of stopping mid-cycle). Capped at half the burst.
    pub ramp: Duration,
}

impl ToneSpec {
    /// A single-frequency tone.
    pub fn single(freq_hz: f32, level: Dbm0, cadence: Cadence) -> ToneSpec {
        ToneSpec {
            freq1_hz: freq_hz,
            freq2_hz: None,
            level,
            reference: Dbm0Reference::default(),
            cadence,
            ramp: Duration::ZERO,
        }
    }

    /// A dual-frequency tone, each component at `level`.
    pub fn dual(freq1_hz: f32, freq2_hz: f32, level: Dbm0, cadence: Cadence) -> ToneSpec {
        ToneSpec { freq2_hz: Some(freq2_hz), ..ToneSpec::single(freq1_hz, level, cadence) }
    }
}

fn samples(rate: SampleRate, d: Duration) -> u64 {
    u64::try_from((d.as_nanos() * u128::from(rate.hz()) + 500_000_000) / 1_000_000_000).unwrap_or(u64::MAX)
}

/// Generates a [`ToneSpec`] at one rate, frame by frame, with phase continuity across frames: the
/// output of consecutive [`ToneGenerator::fill`] calls is identical to one long call, whatever the
/// frame lengths. Each burst starts at phase 0 (a zero crossing).
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    rate: SampleRate,
    steps: Vec<(u64, u64)>,
    repeat: Repeat,
    peak: f64,
    inc: [f64; 2],
    phase: [f64; 2],
    two: bool,
    ramp: u64,
    step: usize,
    pos: u64,
    passes: u32,
    done: bool,
}

impl ToneGenerator {
    /// A generator of `spec` at `rate` (all allocation happens here).
    ///
    /// # Errors
    /// [`MixError::BadTone`] if a frequency is not in (0, rate/2) or the level is not finite or
    /// above +3 dBm0.
    pub fn new(spec: &ToneSpec, rate: SampleRate) -> Result<ToneGenerator, MixError> {
        let nyquist = f64::from(rate.hz()) / 2.0;
        let ok = |f: f32| f.is_finite() && f > 0.0 && f64::from(f) < nyquist;
        if !ok(spec.freq1_hz) || !spec.freq2_hz.map_or(true, ok) {
            return Err(MixError::BadTone("frequency outside (0, rate/2)"));
        }
        if !spec.level.0.is_finite() || spec.level.0 > 3.0 {
            return Err(MixError::BadTone("level must be finite and at most +3 dBm0"));
        }
        let steps = spec.cadence.steps.iter().map(|s| (samples(rate, s.on).max(1), samples(rate, s.off))).collect();
        let hz = f64::from(rate.hz());
        Ok(ToneGenerator {
            rate,
            steps,
            repeat: spec.cadence.repeat,
            peak: spec.level.sine_peak(spec.reference),
            inc: [f64::from(spec.freq1_hz) / hz, f64::from(spec.freq2_hz.unwrap_or(0.0)) / hz],
            phase: [0.0; 2],
            two: spec.freq2_hz.is_some(),
            ramp: samples(rate, spec.ramp),
            step: 0,
            pos: 0,
            passes: 0,
            done: false,
        })
    }

    /// The rate the tone is generated at.
    pub fn rate(&self) -> SampleRate {
        self.rate
    }

    /// Whether the cadence has run out (only with [`Repeat::Times`]).
    pub fn is_finished(&self) -> bool {
        self.done
    }

    /// Total length in samples (saturating at `u64::MAX`), `None` for [`Repeat::Forever`].
    pub fn total_samples(&self) -> Option<u64> {
        match self.repeat {
            Repeat::Forever => None,
            Repeat::Times(n) => Some(
                self.steps
                    .iter()
                    .fold(0u64, |t, (a, b)| t.saturating_add(a.saturating_add(*b)))
                    .saturating_mul(u64::from(n)),
            ),
        }
    }

    fn sample(&mut self, on: u64) -> i16 {
        let mut v = (self.phase[0] * std::f64::consts::TAU).sin();
        self.phase[0] = (self.phase[0] + self.inc[0]).fract();
        if self.two {
            v += (self.phase[1] * std::f64::consts::TAU).sin();
            self.phase[1] = (self.phase[1] + self.inc[1]).fract();
        }
        let mut amp = self.peak;
        let ramp = self.ramp.min(on / 2);
        if ramp > 0 {
            let from_edge = self.pos.min(on - 1 - self.pos);
            if from_edge < ramp {
                amp *= (from_edge as f64 + 0.5) / ramp as f64;
            }
        }
        (amp * v).round().clamp(-32768.0, 32767.0) as i16
    }

    /// Writes the next `out.len()` samples (mono) of the tone and returns how many belong to the
    /// tone; when the cadence ends inside `out`, the rest of `out` is zeroed and the count is
    /// smaller than `out.len()` (0 once finished).
    pub fn fill(&mut self, out: &mut [i16]) -> usize {
        let mut i = 0;
        while i < out.len() && !self.done {
            let (on, off) = self.steps[self.step];
            if self.pos < on {
                if self.pos == 0 {
                    self.phase = [0.0; 2];
                }
                let n = usize::try_from(on - self.pos).unwrap_or(usize::MAX).min(out.len() - i);
                for o in &mut out[i..i + n] {
                    *o = self.sample(on);
                    self.pos += 1;
                }
                i += n;
            } else if self.pos < on.saturating_add(off) {
                let n = usize::try_from(on.saturating_add(off) - self.pos).unwrap_or(usize::MAX).min(out.len() - i);
                out[i..i + n].fill(0);
                self.pos += n as u64;
                i += n;
            }
            if self.pos >= on.saturating_add(off) {
                self.pos = 0;
                self.step += 1;
                if self.step == self.steps.len() {
                    self.step = 0;
                    self.passes = self.passes.saturating_add(1);
                    if let Repeat::Times(t) = self.repeat {
                        self.done = self.passes >= t;
                    }
                }
            }
        }
        out[i..].fill(0);
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rms(x: &[i16]) -> f64 {
        (x.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / x.len() as f64).sqrt()
    }

    #[test]
    fn reference_matches_decoded_digital_milliwatt() {
        // G.711 Table 5 (A-law) and Table 6 (µ-law): one cycle of the 1 kHz digital milliwatt.
        let a = [0x34u8, 0x21, 0x21, 0x34, 0xB4, 0xA1, 0xA1, 0xB4].map(crate::codec::alaw_decode);
        let u = [0x1Eu8, 0x0B, 0x0B, 0x1E, 0x9E, 0x8B, 0x8B, 0x9E].map(crate::codec::ulaw_decode);
        let la = Dbm0::of_rms(rms(&a), Dbm0Reference::ALaw).0;
        let lu = Dbm0::of_rms(rms(&u), Dbm0Reference::MuLaw).0;
        assert!(la.abs() < 0.01, "A-law DMW at {la} dBm0");
        assert!(lu.abs() < 0.01, "µ-law DMW at {lu} dBm0");
        assert!((Dbm0Reference::ALaw.rms_0dbm0() - 16_141.17).abs() < 0.01);
        assert!((Dbm0Reference::MuLaw.rms_0dbm0() - 16_020.72).abs() < 0.01);
    }

    #[test]
    fn frames_join_without_phase_jumps() {
        let spec = ToneSpec::dual(350.0, 440.0, Dbm0(-13.0), Cadence::steady());
        let mut whole = ToneGenerator::new(&spec, SampleRate::HZ_16000).expect("valid");
        let mut framed = whole.clone();
        let mut a = vec![0i16; 16_000];
        assert_eq!(whole.fill(&mut a), 16_000);
        let mut b = vec![0i16; 16_000];
        for chunk in b.chunks_mut(317) {
            assert_eq!(framed.fill(chunk), chunk.len());
        }
        assert_eq!(a, b);
    }

    #[test]
    fn bad_specs_are_errors() {
        let r = SampleRate::HZ_8000;
        assert!(ToneGenerator::new(&ToneSpec::single(4000.0, Dbm0(-10.0), Cadence::steady()), r).is_err());
        assert!(ToneGenerator::new(&ToneSpec::single(-1.0, Dbm0(-10.0), Cadence::steady()), r).is_err());
        assert!(ToneGenerator::new(&ToneSpec::single(f32::NAN, Dbm0(-10.0), Cadence::steady()), r).is_err());
        assert!(ToneGenerator::new(&ToneSpec::single(1000.0, Dbm0(f32::INFINITY), Cadence::steady()), r).is_err());
        assert!(ToneGenerator::new(&ToneSpec::dual(1000.0, 5000.0, Dbm0(-10.0), Cadence::steady()), r).is_err());
        assert!(Cadence::new(vec![], Repeat::Forever).is_err());
        let step = CadenceStep { on: Duration::ZERO, off: Duration::from_millis(1) };
        assert!(Cadence::new(vec![step], Repeat::Forever).is_err());
        let step = CadenceStep { on: Duration::from_millis(1), off: Duration::ZERO };
        assert!(Cadence::new(vec![step], Repeat::Times(0)).is_err());
    }

    #[test]
    fn ramp_fades_edges() {
        let mut spec = ToneSpec::single(1000.0, Dbm0(0.0), Cadence::once(Duration::from_millis(20)));
        spec.ramp = Duration::from_millis(2);
        let mut g = ToneGenerator::new(&spec, SampleRate::HZ_8000).expect("valid");
        let mut out = [0i16; 200];
        assert_eq!(g.fill(&mut out), 160);
        assert!(g.is_finished());
        let peak = |x: &[i16]| x.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
        assert!(peak(&out[..8]) < 12_000, "first ms faded: {}", peak(&out[..8]));
        assert!(peak(&out[80..88]) > 22_000, "middle at full level");
        assert!(peak(&out[152..160]) < 12_000, "last ms faded");
        assert!(out[160..].iter().all(|&s| s == 0));
    }
}
