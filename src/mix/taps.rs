//! Monitoring taps: what a monitor (a guard's station) hears and where its voice goes.
//!
//! A tap is one monitor's connection to a call. Its [`TapKind`] says whether it listens (and to
//! which direction, mono or stereo) and whether it talks: a **whisper** reaches one leg only, a
//! **barge** reaches both legs. The [`Router`](super::Router) applies these rules; every join,
//! change and leave is an audit [`RouterEvent`] with its [`HostTime`].
//!
//! Choices (CASES B23, FreeSWITCH #981, Asterisk #876):
//! - whisper audio reaches its target leg's outbound PCM and the guard track only: never the
//!   other party, never the leg A/B recording channels (the router has no path to them: those are
//!   built from the legs' own RTP), and not other monitors (a whisper is a private word to one
//!   party; other monitors hear the parties and barges);
//! - a tap's listen direction filters only the leg audio it hears, never its own talk path (a
//!   one-direction listen tap still whispers: Asterisk #876);
//! - a monitor never hears its own voice echoed back; it does hear other taps' barges and the
//!   prompts/tones played to the legs (the parties hear them, so the guard should know).

use super::mixer::Gain;
use super::playback::{PlaybackId, Target};
use crate::leg::Leg;
use crate::time::HostTime;

/// Identifies one tap of a [`Router`](super::Router); never reused within a router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TapId(pub u32);

/// How a listening monitor receives the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ListenLayout {
    /// One channel: the sum of the legs it listens to.
    #[default]
    Mono,
    /// Two interleaved channels: leg A left, leg B right (L R L R …).
    Stereo,
}

/// Which legs' audio a listening monitor hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Direction {
    /// What both parties say.
    #[default]
    Both,
    /// Only what the party on this leg says (in stereo the other channel carries only barges and
    /// prompts).
    Only(Leg),
}

impl Direction {
    /// Whether leg `leg`'s audio is heard.
    pub fn hears(self, leg: Leg) -> bool {
        match self {
            Direction::Both => true,
            Direction::Only(l) => l == leg,
        }
    }
}

/// A monitor's listen settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Listen {
    /// Mono mix or stereo A/B.
    pub layout: ListenLayout,
    /// Which legs are heard.
    pub direction: Direction,
}

impl Listen {
    /// Mono, both directions.
    pub const MONO: Listen = Listen { layout: ListenLayout::Mono, direction: Direction::Both };
    /// Stereo (A left, B right), both directions.
    pub const STEREO: Listen = Listen { layout: ListenLayout::Stereo, direction: Direction::Both };

    /// Mono, hearing only leg `leg`.
    pub const fn only(leg: Leg) -> Listen {
        Listen { layout: ListenLayout::Mono, direction: Direction::Only(leg) }
    }

    /// Channels of the listen output: 1 or 2.
    pub fn channels(self) -> u8 {
        match self.layout {
            ListenLayout::Mono => 1,
            ListenLayout::Stereo => 2,
        }
    }
}

/// What a tap does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TapKind {
    /// Listen only; the monitor's audio, if pushed, is discarded.
    Listen(Listen),
    /// Speak to the party on leg `to` only, and listen as `listen` says (`None`: talk only).
    Whisper {
        /// The leg that hears the whisper.
        to: Leg,
        /// Listen settings, if the monitor listens too.
        listen: Option<Listen>,
    },
    /// Speak to both parties, and listen as `listen` says.
    Barge {
        /// Listen settings, if the monitor listens too.
        listen: Option<Listen>,
    },
}

impl TapKind {
    /// The listen settings, if the tap listens.
    pub fn listen(self) -> Option<Listen> {
        match self {
            TapKind::Listen(l) => Some(l),
            TapKind::Whisper { listen, .. } | TapKind::Barge { listen } => listen,
        }
    }

    /// Whether the monitor's voice reaches the party on `leg`.
    pub fn talks_to(self, leg: Leg) -> bool {
        match self {
            TapKind::Listen(_) => false,
            TapKind::Whisper { to, .. } => to == leg,
            TapKind::Barge { .. } => true,
        }
    }

    /// Whether the monitor talks at all.
    pub fn talks(self) -> bool {
        !matches!(self, TapKind::Listen(_))
    }

    /// Whether other monitors hear this tap's voice (barge only).
    pub fn is_barge(self) -> bool {
        matches!(self, TapKind::Barge { .. })
    }
}

/// Per-tap gains (linear, see [`Gain`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TapGains {
    /// Applied to everything the monitor hears.
    pub listen: Gain,
    /// Applied to the monitor's voice wherever it goes (legs and guard track).
    pub talk: Gain,
}

/// Why a tap left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LeaveReason {
    /// The host removed it.
    Removed,
    /// Monitoring was disallowed on the call (policy, fail-closed).
    PolicyRevoked,
}

/// Audit and progress events of a [`Router`](super::Router), drained with
/// [`Router::poll_event`](super::Router::poll_event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouterEvent {
    /// A monitor joined.
    TapJoined {
        /// The new tap.
        tap: TapId,
        /// What it does.
        kind: TapKind,
        /// When (the time passed to `add_tap`).
        at: HostTime,
    },
    /// A monitor switched mode (e.g. listen → whisper).
    TapChanged {
        /// The tap.
        tap: TapId,
        /// The previous kind.
        from: TapKind,
        /// The new kind.
        to: TapKind,
        /// When.
        at: HostTime,
    },
    /// A monitor left.
    TapLeft {
        /// The tap.
        tap: TapId,
        /// What it was doing.
        kind: TapKind,
        /// Why.
        reason: LeaveReason,
        /// When.
        at: HostTime,
    },
    /// The call's monitoring policy was set.
    MonitoringPolicy {
        /// Whether taps are allowed now.
        allowed: bool,
        /// When.
        at: HostTime,
    },
    /// A playback's first sample sounded.
    PlaybackStarted {
        /// The playback.
        playback: PlaybackId,
        /// Who hears it.
        target: Target,
        /// The instant of its first sample (frame start + offset).
        at: HostTime,
    },
    /// A playback ended (ran out) or was stopped.
    PlaybackEnded {
        /// The playback.
        playback: PlaybackId,
        /// True when stopped by the host or by a tap leaving, false when it ran out.
        stopped: bool,
        /// The instant just after its last sample, or of the stop.
        at: HostTime,
    },
}
