//! Mixing and taps: the media building blocks of a call's conversation, live monitoring,
//! prompts and warning tones.
//!
//! Everything here works on **mono `i16` frames of one internal rate** (8, 16 or 48 kHz, chosen
//! per call) and one frame length (samples per channel, e.g. 160 for 20 ms at 8 kHz). Buffers are
//! allocated when a block is built or a tap/playback is added, never per frame.
//!
//! - [`Mixer`] — 32-bit accumulation of any number of inputs, each with a [`Gain`], then **one**
//!   saturation ([`OutputStage::Clamp`]) or soft limiter ([`OutputStage::Limiter`]) after summing
//!   (never per input: CASES B20).
//! - [`Router`] — the call's tap matrix: given each frame the played-out PCM of leg A and leg B, the
//!   guards' microphone audio and the active prompts/tones, it computes each leg's outbound PCM, each
//!   monitor's listen output and the guard/prompt track (third recording channel). Whisper goes to
//!   its target leg and the guard track only (CASES B23).
//! - [`ToneGenerator`] — one or two sine frequencies at a level in dBm0 (ITU-T G.711 §5, the digital
//!   milliwatt), with an on/off [`Cadence`].
//! - [`Prompt`] / [`PromptPlayer`] — recorded announcements from PCM the host loaded (e.g. a WAV read
//!   with `hound`), at the mixer rate (see [`Resample`] for converting once at load time).
//! - [`Schedule`] — items (warnings, the time limit) due at offsets from the answer time.
//!
//! ## Routing table (what each output hears)
//! | output | leg A audio | leg B audio | whisper to A | whisper to B | barge | prompt → A | prompt → B | prompt → tap |
//! |---|---|---|---|---|---|---|---|---|
//! | outbound to leg A | – | yes¹ | yes | – | yes | yes | – | – |
//! | outbound to leg B | yes¹ | – | – | yes | yes | – | yes | – |
//! | listen output of tap T | if T's direction² | if T's direction² | – | – | other taps' | yes | yes | if to T |
//! | guard track | – | – | yes | yes | yes | yes | yes | yes |
//!
//! ¹ muted while a [`PlayMode::Replace`] playback to that leg sounds. ² a tap's own talk audio is
//! never echoed back to it.
//!
//! Gains: per leg ([`Router::set_leg_gain`]), per tap for listening and talking ([`TapGains`]), per
//! playback. Every output (each leg's outbound, each listen channel, the guard track) has its own
//! [`Mixer`], hence its own limiter state: a stereo listen output is limited per channel.

#![forbid(unsafe_code)]

mod mixer;
mod playback;
mod prompt;
mod router;
mod schedule;
mod taps;
mod tones;

pub use self::mixer::{interleave_stereo, Gain, LimiterConfig, Mixer, OutputStage, MAX_GAIN, MAX_INPUTS};
pub use self::playback::{PlayMode, PlaybackId, Source, Target};
pub use self::prompt::{LinearResampler, Prompt, PromptPlayer, Resample, MAX_PROMPT_SAMPLES};
pub use self::router::{Router, RouterConfig, TapAudio};
pub use self::schedule::{Due, Schedule};
pub use self::taps::{Direction, LeaveReason, Listen, ListenLayout, RouterEvent, TapGains, TapId, TapKind};
pub use self::tones::{Cadence, CadenceStep, Dbm0, Dbm0Reference, Repeat, ToneGenerator, ToneSpec};

use crate::audio::SampleRate;
use thiserror::Error;

/// Errors from the mixing, tap, tone, prompt and schedule blocks.
///
/// None of them leaves a block in a broken state: after an error nothing was changed (no tap
/// added, no output written) and the caller may go on.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MixError {
    /// A PCM buffer does not have the length this block works with (samples per channel × channels).
    #[error("frame length {got}, expected {expected} samples")]
    FrameLength {
        /// Samples expected.
        expected: usize,
        /// Samples passed.
        got: usize,
    },
    /// The frame length is zero or the configuration would need more memory than allowed.
    #[error("bad frame configuration: {0}")]
    BadConfig(&'static str),
    /// More inputs were added to one [`Mixer`] frame than [`MAX_INPUTS`] (32-bit headroom).
    #[error("more than {MAX_INPUTS} inputs in one frame")]
    TooManyInputs,
    /// The call's policy forbids monitoring (no-monitor or no-record call): taps cannot be added.
    #[error("monitoring is not allowed on this call")]
    MonitoringNotAllowed,
    /// The router already holds its configured maximum of taps.
    #[error("tap limit of {0} reached")]
    TooManyTaps(usize),
    /// No tap with this id (never added, or already removed).
    #[error("unknown tap {0:?}")]
    UnknownTap(TapId),
    /// No active playback with this id (never started, finished or stopped).
    #[error("unknown playback {0:?}")]
    UnknownPlayback(PlaybackId),
    /// A source or prompt runs at another rate than the mixer; convert it first (see [`Resample`]).
    #[error("rate mismatch: source {source_hz} Hz, mixer {mixer_hz} Hz")]
    RateMismatch {
        /// The source's rate in Hz.
        source_hz: u32,
        /// The mixer's rate in Hz.
        mixer_hz: u32,
    },
    /// A tone frequency is not in (0, rate/2) or its level is not a finite number ≤ +3 dBm0.
    #[error("bad tone: {0}")]
    BadTone(&'static str),
    /// A cadence has no step, a step with no on-time, or a zero repeat count.
    #[error("bad cadence: {0}")]
    BadCadence(&'static str),
    /// PCM with zero channels, a length not a multiple of the channel count, an empty prompt, or
    /// a resampled prompt longer than [`MAX_PROMPT_SAMPLES`].
    #[error("bad PCM: {0}")]
    BadPcm(&'static str),
    /// A schedule lead time is longer than the offset it counts back from (e.g. a warning 120 s
    /// before a 90 s limit).
    #[error("lead {lead_ms} ms exceeds the limit {limit_ms} ms")]
    LeadExceedsLimit {
        /// The lead time in ms.
        lead_ms: u128,
        /// The limit in ms.
        limit_ms: u128,
    },
}

/// Samples per channel of one frame of `ptime` at `rate`; an error when that is zero or not whole.
pub(crate) fn frame_samples(rate: SampleRate, ptime: std::time::Duration) -> Result<usize, MixError> {
    let n = ptime.as_nanos() * u128::from(rate.hz());
    if n == 0 || n % 1_000_000_000 != 0 {
        return Err(MixError::BadConfig("ptime is not a whole, non-zero number of samples"));
    }
    let n = usize::try_from(n / 1_000_000_000).map_err(|_| MixError::BadConfig("frame too long"))?;
    if n > 48_000 {
        return Err(MixError::BadConfig("frame longer than 48 000 samples"));
    }
    Ok(n)
}
