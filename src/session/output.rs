//! What a session hands back to the host.

use crate::leg::Leg;
use crate::mix::{LeaveReason, PlaybackId, TapId, TapKind};
use crate::record::RecordingPage;
use crate::time::HostTime;

use super::Policy;

/// One output of [`CallSession::poll_output`](super::CallSession::poll_output).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Output {
    /// An RTP packet to send to `leg`'s remote address.
    Transmit {
        /// The leg it goes to.
        leg: Leg,
        /// The complete RTP packet.
        packet: Vec<u8>,
    },
    /// One frame of what a monitor hears.
    Tap {
        /// The monitor.
        tap: TapId,
        /// Interleaved PCM (mono, or stereo A left / B right), one frame period.
        pcm: Vec<i16>,
        /// 1 or 2.
        channels: u8,
        /// Sampling rate of `pcm` in Hz.
        rate: u32,
        /// Start of the frame on the host clock.
        at: HostTime,
    },
    /// The next recording page, to be written in order.
    Recording(RecordingPage),
    /// Something happened.
    Event(SessionEvent),
    /// Nothing more until this host time: call `handle_timeout` then (or on the next packet).
    Timeout(HostTime),
}

pub use crate::analysis::EndCause;

/// A timestamped event for the host's call records and audit log.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SessionEvent {
    /// When it happened (host time).
    pub at: HostTime,
    /// What happened.
    pub kind: EventKind,
}

impl SessionEvent {
    /// The event as one JSON object (no newline): `type`, `at_ns`, `leg` and the fields of
    /// its kind — the same text the C ABI hands to C hosts (table in `src/ffi/event_json.rs`).
    /// For audit logs and `events.jsonl`.
    pub fn to_json(&self) -> String {
        crate::ffi::event_json::describe(self).json
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EventKind {
    /// The call was answered: talk time and the limit count from here.
    Answered,
    /// A monitor joined.
    TapJoined {
        /// The tap.
        tap: TapId,
        /// Listen, whisper or barge.
        kind: TapKind,
    },
    /// A monitor changed mode.
    TapChanged {
        /// The tap.
        tap: TapId,
        /// Previous mode.
        from: TapKind,
        /// New mode.
        to: TapKind,
    },
    /// A monitor left.
    TapLeft {
        /// The tap.
        tap: TapId,
        /// Its mode.
        kind: TapKind,
        /// Why.
        reason: LeaveReason,
    },
    /// The policy changed (only ever tightened).
    PolicyChanged {
        /// Before.
        from: Policy,
        /// After.
        to: Policy,
    },
    /// A prompt or tone started sounding.
    PlaybackStarted {
        /// Which.
        playback: PlaybackId,
    },
    /// A prompt or tone finished.
    PlaybackEnded {
        /// Which.
        playback: PlaybackId,
    },
    /// A time-limit warning started.
    Warning {
        /// Talk time left at the warning, in ms.
        remaining_ms: u64,
    },
    /// The talk-time limit was reached: media stopped at this instant.
    LimitReached,
    /// No packet from `leg` for the media timeout.
    MediaTimeout {
        /// The silent leg.
        leg: Leg,
    },
    /// Call analysis: talkspurts, DTMF digits, alarms, three-way-call signals, billing.
    Analysis(crate::analysis::AnalysisEvent),
    /// The call ended; nothing more is forwarded or recorded.
    Ended {
        /// Why.
        cause: EndCause,
    },
}
