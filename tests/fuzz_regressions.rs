//! Regression tests for what fuzzing and the property tests found (fuzz/README.md lists the
//! targets; each case names the input that found it).

use jyqq_media::codec::ulaw_encode;
use jyqq_media::mix::{Listen, TapKind};
use jyqq_media::record::{read_ogg_opus, Recorder, RecorderConfig};
use jyqq_media::rtp::{Ingress, IngressConfig, PayloadFormat, PayloadMap, PayloadType, RtpHeader, Ssrc};
use jyqq_media::session::{
    CallSession, EndCause, EventKind, LegConfig, Output, Policy, SessionConfig, SessionError, SessionEvent,
};
use jyqq_media::{ClockRate, HostTime, Leg, SampleRate};
use std::net::SocketAddr;
use std::time::Duration;

fn drain(s: &mut CallSession, now: HostTime, events: &mut Vec<SessionEvent>) -> usize {
    let mut n = 0;
    while let Some(o) = s.poll_output(now) {
        n += 1;
        match o {
            Output::Event(e) => events.push(e),
            Output::Timeout(_) => break,
            _ => {}
        }
    }
    n
}

/// `session_ops` (crash-52f266350e53cb2191fedf95a53db826972ea991, 2 s of media then a hang-up
/// then a policy change): `tighten_policy` after the call ended queued `PolicyChanged` after
/// the `Ended` event, and `remove_tap` / `change_tap` queued `TapLeft` / `TapChanged`. Now
/// they are refused with `Ended` and nothing follows `Ended`.
#[test]
fn nothing_follows_the_ended_event() {
    let pcmu = PayloadFormat::new(PayloadType(0), "PCMU", ClockRate::HZ_8000, 1);
    let cfg = SessionConfig::new("c", LegConfig::new(pcmu.clone(), Ssrc(1)), LegConfig::new(pcmu, Ssrc(2)));
    let t = HostTime::from_millis;
    let mut s = CallSession::new(cfg, t(0)).unwrap();
    let mut events = Vec::new();
    s.answer(t(0));
    let tap = s.add_tap(t(0), TapKind::Listen(Listen::MONO)).unwrap();
    s.handle_timeout(t(2_000)).unwrap();
    drain(&mut s, t(2_000), &mut events);
    s.disconnect(t(2_000), EndCause::HangupB, None).unwrap();
    drain(&mut s, t(2_000), &mut events);
    assert!(matches!(events.last().map(|e| &e.kind), Some(EventKind::Ended { cause: EndCause::HangupB })));
    let ended = events.len();

    assert!(matches!(s.tighten_policy(t(2_100), Policy::NO_RECORD), Err(SessionError::Ended)));
    assert!(matches!(s.change_tap(t(2_100), tap, TapKind::Barge { listen: None }), Err(SessionError::Ended)));
    assert!(matches!(s.remove_tap(t(2_100), tap), Err(SessionError::Ended)));
    assert_eq!(s.policy(), Policy::RECORD, "the refused tightening changed nothing");
    assert_eq!(drain(&mut s, t(2_100), &mut events), 0, "outputs after Ended");
    assert_eq!(events.len(), ended);
    assert!(s.is_ended());
}

/// Property `recording_duration_equals_timeline_span`: after `finish`, `Recorder::duration`
/// reported whole 20 ms frames (the encoder pads the last one) while the file, end-trimmed by
/// the EOS granule position, is shorter. A leg whose first packet arrives 7 ms after the
/// recording start and which sends 10 packets ends at 7 + 200 = 207 ms, not 220 ms.
#[test]
fn recorder_duration_after_finish_is_the_trimmed_length() {
    let map = PayloadMap::static_defaults();
    let mut rec =
        Recorder::new(RecorderConfig::new(SampleRate::HZ_8000, map.clone(), map.clone()), HostTime::ZERO).unwrap();
    let mut ingress = Ingress::new(IngressConfig::new(map));
    let from: SocketAddr = "192.0.2.1:4000".parse().unwrap();
    let mut ogg = Vec::new();
    let mut buf = Vec::new();
    let payload = [ulaw_encode(1000); 160];
    for k in 0..10u32 {
        let at = HostTime::from_millis(7 + 20 * u64::from(k));
        rec.handle_timeout(at).unwrap();
        buf.clear();
        RtpHeader::new(PayloadType(0), k as u16, 160 * k, Ssrc(9)).write(&payload, &mut buf).unwrap();
        rec.push(Leg::A, ingress.receive(at, from, &buf).unwrap());
        while let Some(p) = rec.poll_page() {
            ogg.extend_from_slice(&p.data);
        }
    }
    rec.finish(HostTime::from_millis(250)).unwrap();
    while let Some(p) = rec.poll_page() {
        ogg.extend_from_slice(&p.data);
    }
    let info = read_ogg_opus(&ogg).unwrap();
    assert_eq!(info.duration(), Duration::from_millis(207));
    assert_eq!(info.last_granule, Some(u64::from(info.head.pre_skip) + 207 * 48));
    assert_eq!(rec.duration(), Duration::from_millis(207));
}

/// `session_ops` (crash-7c527f7c0c19ef32891a8f730c420c06c3514c48: a staff cut with a final
/// prompt, then another tone played): when the final prompt and another playback ended in
/// the same frame, the session ended on the first `PlaybackEnded` and queued the second one
/// after `Ended`. Now every event of that frame comes first, `Ended` last.
#[test]
fn playbacks_ending_with_the_final_prompt_come_before_ended() {
    use jyqq_media::mix::{Cadence, Dbm0, PlayMode, Source, Target, ToneGenerator, ToneSpec};
    let pcmu = PayloadFormat::new(PayloadType(0), "PCMU", ClockRate::HZ_8000, 1);
    let cfg = SessionConfig::new("c", LegConfig::new(pcmu.clone(), Ssrc(1)), LegConfig::new(pcmu, Ssrc(2)));
    let t = HostTime::from_millis;
    let tone = |hz: f32| {
        let spec = ToneSpec::single(hz, Dbm0(-10.0), Cadence::once(Duration::from_millis(100)));
        Source::Tone(ToneGenerator::new(&spec, SampleRate::HZ_8000).unwrap())
    };
    for final_first in [true, false] {
        let mut s = CallSession::new(cfg.clone(), t(0)).unwrap();
        let mut events = Vec::new();
        s.answer(t(0));
        s.handle_timeout(t(100)).unwrap();
        drain(&mut s, t(100), &mut events);
        // Both start at 100 ms and last 100 ms: they end in the same frame.
        if !final_first {
            s.play(t(100), tone(600.0), Target::Leg(Leg::A), PlayMode::Mix).unwrap();
        }
        s.disconnect(t(100), EndCause::StaffCut, Some(tone(1400.0))).unwrap();
        if final_first {
            s.play(t(100), tone(600.0), Target::Leg(Leg::A), PlayMode::Mix).unwrap();
        }
        for ms in (120..=400).step_by(20) {
            s.handle_timeout(t(ms)).unwrap();
            drain(&mut s, t(ms), &mut events);
        }
        let ended = events.iter().position(|e| matches!(e.kind, EventKind::Ended { .. })).expect("ended");
        assert_eq!(ended, events.len() - 1, "events after Ended: {:?}", &events[ended..]);
        let playbacks_ended = events.iter().filter(|e| matches!(e.kind, EventKind::PlaybackEnded { .. })).count();
        assert_eq!(playbacks_ended, 2);
        // Played at 100 ms, after the tick at 100 ms had run: both start on the next tick.
        assert_eq!(events[ended].at, t(220));
    }
}
