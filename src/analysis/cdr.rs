//! The CDR-ready summary of a call's analysis (serde-serialisable; `record_call` writes it
//! as `call-N.json`). Times are milliseconds since the analyzer's start.

use super::alarms::AlarmKind;
use super::event::{DtmfSource, EventKind};
use super::metering::{Bill, BillingPolicy, EndCause};
use super::quality::LegQuality;
use crate::leg::Leg;
use serde::{Deserialize, Serialize};

/// One key press.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigitRecord {
    /// Start, ms.
    pub at_ms: u64,
    /// The key (`0`–`9`, `*`, `#`, `A`–`D`).
    pub digit: String,
    /// RFC 4733 or in-band.
    pub source: DtmfSource,
    /// Length, ms.
    pub duration_ms: u64,
    /// Tone power, dBm0.
    pub level_dbm0: f32,
}

/// One alarm raise or clear.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmRecord {
    /// When, ms.
    pub at_ms: u64,
    /// Which alarm.
    pub alarm: AlarmKind,
    /// Raised or cleared.
    pub raised: bool,
}

/// One three-way-call signal (a scored observation, never a verdict).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalRecord {
    /// Start of the phenomenon, ms.
    pub at_ms: u64,
    /// The leg.
    pub leg: Leg,
    /// `hook_flash`, `progress_tone` or `noise_floor_drop`.
    pub kind: String,
    /// Score in [0, 1].
    pub score: f32,
    /// Details, e.g. `450 Hz Continuous -12.0 dBm0`.
    pub detail: String,
}

impl SignalRecord {
    pub(crate) fn from_event(at_ms: u64, leg: Leg, kind: &EventKind) -> SignalRecord {
        let (name, score, detail) = match kind {
            EventKind::HookFlash { score, burst, level_dbm0 } => {
                ("hook_flash", *score, format!("burst {} ms, peak {level_dbm0:.1} dBm0", burst.as_millis()))
            }
            EventKind::ProgressTone { freqs, cadence, score, level_dbm0 } => {
                let f = if freqs.1 > 0.0 { format!("{}+{} Hz", freqs.0, freqs.1) } else { format!("{} Hz", freqs.0) };
                ("progress_tone", *score, format!("{f} {cadence:?} {level_dbm0:.1} dBm0"))
            }
            EventKind::NoiseFloorDrop { before_dbm0, after_dbm0, score } => {
                ("noise_floor_drop", *score, format!("{before_dbm0:.1} -> {after_dbm0:.1} dBm0"))
            }
            _ => ("other", 0.0, String::new()),
        };
        SignalRecord { at_ms, leg, kind: name.to_string(), score, detail }
    }
}

/// Per-leg part of the CDR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegSummary {
    /// The leg.
    pub leg: Leg,
    /// Talk time, ms (VAD talkspurts without hangover).
    pub talk_ms: u64,
    /// Talkspurts.
    pub talkspurts: u64,
    /// Keys received, in order, e.g. `"1#"`.
    pub digits: String,
    /// Each key with its time, source and length.
    pub digit_events: Vec<DigitRecord>,
    /// Whether the in-band DTMF detector ran on this leg.
    pub inband_dtmf: bool,
    /// Alarm raises and clears.
    pub alarms: Vec<AlarmRecord>,
    /// Receive quality and E-model estimate.
    pub quality: LegQuality,
    /// 10 ms VAD frames analysed.
    pub vad_frames: u64,
    /// Of those, frames libfvad called voiced (before smoothing).
    pub vad_voiced_frames: u64,
}

/// The summary of a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CdrSummary {
    /// Host time of the analyzer's start (ns); every `*_ms` counts from it.
    pub start_host_ns: u64,
    /// Answer, ms.
    pub answer_ms: Option<u64>,
    /// Metered end, ms (clamped to the time limit).
    pub end_ms: Option<u64>,
    /// Why the call ended.
    pub end_cause: Option<EndCause>,
    /// Connected duration, ms.
    pub connected_ms: u64,
    /// The billing policy applied.
    pub billing: BillingPolicy,
    /// Units and charge (fen).
    pub bill: Bill,
    /// The charge in yuan, two decimals.
    pub charge_yuan: String,
    /// Time both legs talked at once, ms.
    pub double_talk_ms: u64,
    /// Whether three-way signals were on at the end.
    pub three_way_enabled: bool,
    /// Three-way-call signals, in order.
    pub three_way_signals: Vec<SignalRecord>,
    /// Leg A then leg B.
    pub legs: Vec<LegSummary>,
    /// Events dropped from a full queue (see `MAX_PENDING_EVENTS`).
    pub dropped_events: u64,
    /// CDR records and talkspurts not kept (limits reached).
    pub dropped_records: u64,
}

impl CdrSummary {
    /// The summary as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The summary of `leg`.
    pub fn leg(&self, leg: Leg) -> Option<&LegSummary> {
        self.legs.iter().find(|l| l.leg == leg)
    }
}
