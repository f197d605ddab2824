//! Events the analysis emits. Each carries the host time of what it reports (a talkspurt's
//! start, a key press's start, a click's burst) and the leg, when it concerns one.

use super::alarms::AlarmKind;
use super::dtmf::DtmfDigit;
use super::metering::{Bill, EndCause};
use super::progress::{ToneCadence, ToneFreqs};
use crate::leg::Leg;
use crate::time::HostTime;
use std::time::Duration;

/// Where a key press was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum DtmfSource {
    /// RFC 4733 telephone-event packets.
    Rfc4733,
    /// Tones in the audio (Goertzel detector).
    InBand,
}

/// One analysis event.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisEvent {
    /// Host time of the reported phenomenon's start (see each kind).
    pub at: HostTime,
    /// The leg concerned; `None` for call-wide events (answer, end, limit).
    pub leg: Option<Leg>,
    /// What happened.
    pub kind: EventKind,
}

/// What an [`AnalysisEvent`] reports.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EventKind {
    /// A talkspurt began (`at` = its first voiced frame).
    TalkspurtStart,
    /// A talkspurt ended (`at` = its start); `duration` excludes the hangover.
    TalkspurtEnd {
        /// Length of the talkspurt.
        duration: Duration,
    },
    /// A key press, reported once when it ends (`at` = its start).
    Digit {
        /// The key.
        digit: DtmfDigit,
        /// RFC 4733 or in-band.
        source: DtmfSource,
        /// Length of the press.
        duration: Duration,
        /// Tone power, dBm0.
        level_dbm0: f32,
    },
    /// The call was answered (metering starts).
    Answered,
    /// The call ended; `at` = the metered end (clamped to the time limit).
    Ended {
        /// Why.
        cause: EndCause,
        /// The bill.
        bill: Bill,
    },
    /// The connected-time limit was reached (`at` = the limit); the host should end the call.
    LimitReached,
    /// An alarm was raised or cleared.
    Alarm {
        /// Which alarm.
        alarm: AlarmKind,
        /// Raised (true) or cleared (false).
        raised: bool,
    },
    /// Three-way signal: a hook-flash-like click (`at` = burst start).
    HookFlash {
        /// Score in [0, 1].
        score: f32,
        /// Burst length.
        burst: Duration,
        /// Peak level, dBm0.
        level_dbm0: f32,
    },
    /// Three-way signal: a call-progress tone after the answer (`at` = tone start).
    ProgressTone {
        /// Frequencies in Hz.
        freqs: ToneFreqs,
        /// Onset, or the cadence once known.
        cadence: ToneCadence,
        /// Score in [0, 1].
        score: f32,
        /// Tone level, dBm0.
        level_dbm0: f32,
    },
    /// Three-way signal: the background noise floor dropped (`at` = the first low second).
    NoiseFloorDrop {
        /// Floor before, dBm0.
        before_dbm0: f32,
        /// Floor after, dBm0.
        after_dbm0: f32,
        /// Score in [0, 1].
        score: f32,
    },
}

impl EventKind {
    /// Whether this is one of the three-way-call signals.
    pub fn is_three_way_signal(&self) -> bool {
        matches!(self, EventKind::HookFlash { .. } | EventKind::ProgressTone { .. } | EventKind::NoiseFloorDrop { .. })
    }
}
