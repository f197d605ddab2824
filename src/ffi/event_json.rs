//! Session events as a `JYQQ_EVENT_*` code and a JSON object for C hosts.
//!
//! Every object has `type` (a snake_case name) and `at_ns` (host time, ns); `leg` is `"A"`,
//! `"B"` or absent. Per type:
//!
//! | type | code | further fields |
//! |---|---|---|
//! | `answered` | 1 | |
//! | `tap_joined` | 2 | `tap`, `talk`, `listen` |
//! | `tap_changed` | 3 | `tap`, `from` {`talk`,`listen`}, `to` {`talk`,`listen`} |
//! | `tap_left` | 4 | `tap`, `talk`, `listen`, `reason` (`removed`, `policy_revoked`) |
//! | `policy_changed` | 5 | `from`, `to` (`record`, `no-monitor`, `no-record`) |
//! | `playback_started` / `playback_ended` | 6 / 7 | `playback` |
//! | `warning` | 8 | `remaining_ms` |
//! | `limit_reached` | 9 | |
//! | `media_timeout` | 10 | `leg` |
//! | `ended` | 11 | `cause` (`HangupA`, `HangupB`, `TimeLimit`, `StaffCut`, `MediaTimeout`, {`Other`: text}) |
//! | `talkspurt_start` | 100 | `leg` |
//! | `talkspurt_end` | 101 | `leg`, `duration_ms` |
//! | `digit` | 102 | `leg`, `digit` (`0`-`9`, `*`, `#`, `A`-`D`), `source` (`Rfc4733`, `InBand`), `duration_ms`, `level_dbm0` |
//! | `analysis_answered` | 103 | |
//! | `analysis_ended` | 104 | `cause`, `bill` (the metering result) |
//! | `analysis_limit_reached` | 105 | |
//! | `alarm` | 106 | `leg`, `alarm`, `raised` |
//! | `hook_flash` | 107 | `leg`, `score`, `burst_ms`, `level_dbm0` |
//! | `progress_tone` | 108 | `leg`, `freqs_hz` [f1, f2], `cadence`, `score`, `level_dbm0` |
//! | `noise_floor_drop` | 109 | `leg`, `before_dbm0`, `after_dbm0`, `score` |
//! | `other` | 0 | `debug` (a description) |

use super::convert::tap_kind_names;
use super::types::*;
use crate::analysis::{AnalysisEvent, EventKind as Ak};
use crate::leg::Leg;
use crate::mix::LeaveReason;
use crate::session::{EventKind, SessionEvent};
use serde_json::{json, Map, Value};

fn leg_name(l: Leg) -> &'static str {
    match l {
        Leg::A => "A",
        Leg::B => "B",
    }
}

fn tap_mode(k: crate::mix::TapKind) -> Value {
    let (talk, listen) = tap_kind_names(k);
    json!({ "talk": talk, "listen": listen })
}

fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The code, concerned leg, tap and playback ids, and the JSON text of `ev`.
pub(crate) struct EventInfo {
    pub code: jyqq_event_kind,
    pub leg: Option<Leg>,
    pub tap: u32,
    pub playback: u32,
    pub json: String,
}

pub(crate) fn describe(ev: &SessionEvent) -> EventInfo {
    let mut info = EventInfo { code: JYQQ_EVENT_OTHER, leg: None, tap: 0, playback: 0, json: String::new() };
    let (ty, mut fields) = match &ev.kind {
        EventKind::Answered => {
            info.code = JYQQ_EVENT_ANSWERED;
            ("answered", json!({}))
        }
        EventKind::TapJoined { tap, kind } => {
            info.code = JYQQ_EVENT_TAP_JOINED;
            info.tap = tap.0;
            let (talk, listen) = tap_kind_names(*kind);
            ("tap_joined", json!({ "tap": tap.0, "talk": talk, "listen": listen }))
        }
        EventKind::TapChanged { tap, from, to } => {
            info.code = JYQQ_EVENT_TAP_CHANGED;
            info.tap = tap.0;
            ("tap_changed", json!({ "tap": tap.0, "from": tap_mode(*from), "to": tap_mode(*to) }))
        }
        EventKind::TapLeft { tap, kind, reason } => {
            info.code = JYQQ_EVENT_TAP_LEFT;
            info.tap = tap.0;
            let (talk, listen) = tap_kind_names(*kind);
            let reason = match reason {
                LeaveReason::Removed => "removed",
                LeaveReason::PolicyRevoked => "policy_revoked",
                #[allow(unreachable_patterns)] // non_exhaustive
                _ => "other",
            };
            ("tap_left", json!({ "tap": tap.0, "talk": talk, "listen": listen, "reason": reason }))
        }
        EventKind::PolicyChanged { from, to } => {
            info.code = JYQQ_EVENT_POLICY_CHANGED;
            ("policy_changed", json!({ "from": from.name(), "to": to.name() }))
        }
        EventKind::PlaybackStarted { playback } => {
            info.code = JYQQ_EVENT_PLAYBACK_STARTED;
            info.playback = playback.0;
            ("playback_started", json!({ "playback": playback.0 }))
        }
        EventKind::PlaybackEnded { playback } => {
            info.code = JYQQ_EVENT_PLAYBACK_ENDED;
            info.playback = playback.0;
            ("playback_ended", json!({ "playback": playback.0 }))
        }
        EventKind::Warning { remaining_ms } => {
            info.code = JYQQ_EVENT_WARNING;
            ("warning", json!({ "remaining_ms": remaining_ms }))
        }
        EventKind::LimitReached => {
            info.code = JYQQ_EVENT_LIMIT_REACHED;
            ("limit_reached", json!({}))
        }
        EventKind::MediaTimeout { leg } => {
            info.code = JYQQ_EVENT_MEDIA_TIMEOUT;
            info.leg = Some(*leg);
            ("media_timeout", json!({}))
        }
        EventKind::Ended { cause } => {
            info.code = JYQQ_EVENT_ENDED;
            ("ended", json!({ "cause": cause }))
        }
        EventKind::Analysis(a) => analysis(a, &mut info),
        #[allow(unreachable_patterns)] // EventKind is non_exhaustive: a future event
        other => ("other", json!({ "debug": format!("{other:?}") })),
    };
    if let Value::Object(m) = &mut fields {
        let mut obj = Map::new();
        obj.insert("type".into(), ty.into());
        obj.insert("at_ns".into(), ev.at.as_nanos().into());
        if let Some(l) = info.leg {
            obj.insert("leg".into(), leg_name(l).into());
        }
        obj.append(m);
        info.json = Value::Object(obj).to_string();
    }
    info
}

fn analysis(a: &AnalysisEvent, info: &mut EventInfo) -> (&'static str, Value) {
    info.leg = a.leg;
    let (code, ty, v) = match &a.kind {
        Ak::TalkspurtStart => (JYQQ_EVENT_TALKSPURT_START, "talkspurt_start", json!({})),
        Ak::TalkspurtEnd { duration } => {
            (JYQQ_EVENT_TALKSPURT_END, "talkspurt_end", json!({ "duration_ms": ms(*duration) }))
        }
        Ak::Digit { digit, source, duration, level_dbm0 } => (
            JYQQ_EVENT_DIGIT,
            "digit",
            json!({ "digit": digit.to_string(), "source": source, "duration_ms": ms(*duration),
                    "level_dbm0": level_dbm0 }),
        ),
        Ak::Answered => (JYQQ_EVENT_ANALYSIS_ANSWERED, "analysis_answered", json!({})),
        Ak::Ended { cause, bill } => {
            (JYQQ_EVENT_ANALYSIS_ENDED, "analysis_ended", json!({ "cause": cause, "bill": bill }))
        }
        Ak::LimitReached => (JYQQ_EVENT_ANALYSIS_LIMIT_REACHED, "analysis_limit_reached", json!({})),
        Ak::Alarm { alarm, raised } => (JYQQ_EVENT_ALARM, "alarm", json!({ "alarm": alarm, "raised": raised })),
        Ak::HookFlash { score, burst, level_dbm0 } => (
            JYQQ_EVENT_HOOK_FLASH,
            "hook_flash",
            json!({ "score": score, "burst_ms": ms(*burst), "level_dbm0": level_dbm0 }),
        ),
        Ak::ProgressTone { freqs, cadence, score, level_dbm0 } => (
            JYQQ_EVENT_PROGRESS_TONE,
            "progress_tone",
            json!({ "freqs_hz": [freqs.0, freqs.1], "cadence": cadence, "score": score, "level_dbm0": level_dbm0 }),
        ),
        Ak::NoiseFloorDrop { before_dbm0, after_dbm0, score } => (
            JYQQ_EVENT_NOISE_FLOOR_DROP,
            "noise_floor_drop",
            json!({ "before_dbm0": before_dbm0, "after_dbm0": after_dbm0, "score": score }),
        ),
        #[allow(unreachable_patterns)] // non_exhaustive: a future analysis event
        other => (JYQQ_EVENT_OTHER, "other", json!({ "debug": format!("{other:?}") })),
    };
    info.code = code;
    (ty, v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mix::{Listen, TapId, TapKind};
    use crate::time::HostTime;

    fn parse(info: &EventInfo) -> Value {
        serde_json::from_str(&info.json).expect("valid JSON")
    }

    #[test]
    fn session_events_have_codes_and_fields() {
        let ev = SessionEvent {
            at: HostTime(1_500_000_000),
            kind: EventKind::TapLeft {
                tap: TapId(3),
                kind: TapKind::Listen(Listen::STEREO),
                reason: LeaveReason::PolicyRevoked,
            },
        };
        let info = describe(&ev);
        assert_eq!((info.code, info.tap, info.leg), (JYQQ_EVENT_TAP_LEFT, 3, None));
        let v = parse(&info);
        assert_eq!(v["type"], "tap_left");
        assert_eq!(v["at_ns"], 1_500_000_000u64);
        assert_eq!(v["listen"], "stereo");
        assert_eq!(v["reason"], "policy_revoked");

        let ev = SessionEvent { at: HostTime(7), kind: EventKind::MediaTimeout { leg: Leg::B } };
        let info = describe(&ev);
        assert_eq!((info.code, info.leg), (JYQQ_EVENT_MEDIA_TIMEOUT, Some(Leg::B)));
        assert_eq!(parse(&info)["leg"], "B");

        let ev =
            SessionEvent { at: HostTime(9), kind: EventKind::Ended { cause: crate::analysis::EndCause::StaffCut } };
        let info = describe(&ev);
        assert_eq!(info.code, JYQQ_EVENT_ENDED);
        assert_eq!(parse(&info)["cause"], "StaffCut");
    }

    #[test]
    fn analysis_events_keep_their_leg() {
        let a = AnalysisEvent {
            at: HostTime(2_000_000),
            leg: Some(Leg::A),
            kind: Ak::TalkspurtEnd { duration: std::time::Duration::from_millis(1234) },
        };
        let info = describe(&SessionEvent { at: HostTime(2_000_000), kind: EventKind::Analysis(a) });
        assert_eq!((info.code, info.leg), (JYQQ_EVENT_TALKSPURT_END, Some(Leg::A)));
        let v = parse(&info);
        assert_eq!(v["type"], "talkspurt_end");
        assert_eq!(v["duration_ms"], 1234);
        assert_eq!(v["leg"], "A");
    }
}
