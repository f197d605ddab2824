//! Playbacks: a tone or prompt routed into the call (to a leg, both legs or a tap).

use super::mixer::Gain;
use super::prompt::PromptPlayer;
use super::taps::TapId;
use super::tones::ToneGenerator;
use crate::audio::SampleRate;
use crate::leg::Leg;
use crate::time::HostTime;

/// Identifies one playback started on a [`Router`](super::Router); never reused within a router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlaybackId(pub u32);

/// Who hears a playback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Target {
    /// The party on this leg (mixed into the leg's outbound PCM).
    Leg(Leg),
    /// Both parties.
    BothLegs,
    /// One monitor only (mixed into the tap's listen output).
    Tap(TapId),
}

impl Target {
    /// Whether the party on `leg` hears it.
    pub fn reaches_leg(self, leg: Leg) -> bool {
        match self {
            Target::Leg(l) => l == leg,
            Target::BothLegs => true,
            Target::Tap(_) => false,
        }
    }
}

/// How a playback combines with the conversation it is played into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PlayMode {
    /// Added to the conversation (a warning beep over the talk).
    #[default]
    Mix,
    /// The conversation is muted while it sounds (from its first to its last sample, cadence gaps
    /// included): for a leg, the other party's audio; for a tap, the call audio it listens to. Staff
    /// audio (whisper, barge) and other playbacks still pass.
    Replace,
}

/// What a playback plays.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Source {
    /// A tone with its cadence.
    Tone(ToneGenerator),
    /// A recorded prompt.
    Prompt(PromptPlayer),
}

impl Source {
    /// The rate the source produces.
    pub fn rate(&self) -> SampleRate {
        match self {
            Source::Tone(t) => t.rate(),
            Source::Prompt(p) => p.rate(),
        }
    }

    /// Fills `out` (mono), returns the samples that belong to the source (fewer once it ends; the
    /// rest is zeroed).
    pub fn fill(&mut self, out: &mut [i16]) -> usize {
        match self {
            Source::Tone(t) => t.fill(out),
            Source::Prompt(p) => p.fill(out),
        }
    }
}

impl From<ToneGenerator> for Source {
    fn from(t: ToneGenerator) -> Self {
        Source::Tone(t)
    }
}

impl From<PromptPlayer> for Source {
    fn from(p: PromptPlayer) -> Self {
        Source::Prompt(p)
    }
}

/// A playback inside the router, with its frame buffer.
#[derive(Debug)]
pub(crate) struct Playback {
    pub id: PlaybackId,
    pub source: Source,
    pub target: Target,
    pub mode: PlayMode,
    pub gain: Gain,
    /// The instant of the first sample.
    pub start_at: HostTime,
    /// Whether the first sample has sounded.
    pub started: bool,
    /// This frame's audio (samples per frame); only `active` is meaningful.
    pub buf: Vec<i16>,
    /// The span of this frame the playback occupies (empty before its start).
    pub active: std::ops::Range<usize>,
    /// Set when the source ended in this frame (at `active.end`).
    pub ended: bool,
}

impl Playback {
    /// Renders the frame starting at `now` into `buf` and sets `active` and `ended`. Before it has
    /// started, the start offset is `start_at − now` in samples at `rate`, rounded to nearest.
    pub fn render(&mut self, now: HostTime, rate: SampleRate) {
        let n = self.buf.len();
        let mut start = 0;
        if !self.started {
            let wait = u128::from(self.start_at.as_nanos().saturating_sub(now.as_nanos()));
            let delay = (wait * u128::from(rate.hz()) + 500_000_000) / 1_000_000_000;
            match usize::try_from(delay) {
                Ok(d) if d < n => start = d,
                _ => {
                    self.active = 0..0;
                    return;
                }
            }
            self.started = true;
        }
        let produced = self.source.fill(&mut self.buf[start..]);
        self.active = start..start + produced;
        self.ended = produced < n - start;
    }
}
