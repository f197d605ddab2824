//! Scenario tests of the session on a simulated clock.

use super::*;
use crate::codec::{ulaw_decode, ulaw_encode};
use crate::mix::{Direction, Listen, ListenLayout, ToneGenerator, ToneSpec};
use crate::record::read_ogg_opus;
use crate::rtp::{PayloadFormat, PayloadType, RtpHeader, RtpPacket, Ssrc};
use crate::ClockRate;
use std::f64::consts::PI;
use std::time::Duration;

const A_ADDR: &str = "192.0.2.1:4000";
const B_ADDR: &str = "198.51.100.2:5000";

fn pcmu() -> PayloadFormat {
    PayloadFormat::new(PayloadType(0), "PCMU", ClockRate::HZ_8000, 1)
}

fn config(policy: Policy) -> SessionConfig {
    let mut a = LegConfig::new(pcmu(), Ssrc(0xA0A0));
    a.remote = Some(A_ADDR.parse().unwrap());
    let mut b = LegConfig::new(pcmu(), Ssrc(0xB0B0));
    b.remote = Some(B_ADDR.parse().unwrap());
    let mut c = SessionConfig::new("test-call", a, b);
    c.policy = policy;
    c
}

fn ms(t: u64) -> HostTime {
    HostTime::from_millis(t)
}

/// A µ-law packet of a sine at `freq` Hz, amplitude `amp`, frame `k` of a 20 ms stream.
fn tone_packet(freq: f64, amp: f64, k: u32, ssrc: u32, seq0: u16, ts0: u32) -> Vec<u8> {
    let payload: Vec<u8> = (0..160)
        .map(|i| {
            let n = f64::from(k * 160 + i);
            ulaw_encode((amp * (2.0 * PI * freq * n / 8000.0).sin()) as i16)
        })
        .collect();
    let mut out = Vec::new();
    RtpHeader::new(PayloadType(0), seq0.wrapping_add(k as u16), ts0.wrapping_add(160 * k), Ssrc(ssrc))
        .write(&payload, &mut out)
        .unwrap();
    out
}

/// Goertzel power of `freq` in `x` (8 kHz), as RMS amplitude of that component.
fn tone_rms(x: &[i16], freq: f64, rate: f64) -> f64 {
    let w = 2.0 * PI * freq / rate;
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s0 = f64::from(v) + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let p = s1 * s1 + s2 * s2 - c * s1 * s2;
    (2.0 * p).sqrt() / x.len() as f64 / 2f64.sqrt() * 2.0
}

#[derive(Default)]
struct Collected {
    out_a: Vec<i16>,
    out_b: Vec<i16>,
    taps: Vec<(TapId, Vec<i16>, HostTime)>,
    ogg: Vec<u8>,
    events: Vec<SessionEvent>,
    transmits: Vec<(Leg, Vec<u8>, HostTime)>,
}

fn drain(s: &mut CallSession, now: HostTime, c: &mut Collected) {
    while let Some(o) = s.poll_output(now) {
        match o {
            Output::Transmit { leg, packet } => {
                let p = RtpPacket::parse(&packet).unwrap();
                let pcm: Vec<i16> = p.payload().iter().map(|&b| ulaw_decode(b)).collect();
                match leg {
                    Leg::A => c.out_a.extend(pcm),
                    Leg::B => c.out_b.extend(pcm),
                }
                c.transmits.push((leg, packet, now));
            }
            Output::Tap { tap, pcm, at, .. } => c.taps.push((tap, pcm, at)),
            Output::Recording(p) => c.ogg.extend_from_slice(&p.data),
            Output::Event(e) => c.events.push(e),
            Output::Timeout(_) => break,
        }
    }
}

/// Runs a call for `secs`: leg A sends 500 Hz, leg B 1 kHz, both every 20 ms; `hook` runs
/// before each 20 ms step with the step index.
fn run(s: &mut CallSession, secs: u32, mut hook: impl FnMut(&mut CallSession, u32, HostTime)) -> Collected {
    let mut c = Collected::default();
    let (a, b) = (A_ADDR.parse().unwrap(), B_ADDR.parse().unwrap());
    s.answer(ms(0));
    drain(s, ms(0), &mut c);
    for k in 0..secs * 50 {
        let now = ms(u64::from(k) * 20 + 5);
        hook(s, k, now);
        let _ = s.handle_rtp(now, Leg::A, a, &tone_packet(500.0, 8000.0, k, 0x1111, 100, 1000));
        drain(s, now, &mut c);
        let _ = s.handle_rtp(now, Leg::B, b, &tone_packet(1000.0, 8000.0, k, 0x2222, 200, 9000));
        drain(s, now, &mut c);
        s.handle_timeout(ms(u64::from(k) * 20 + 20)).unwrap();
        drain(s, ms(u64::from(k) * 20 + 20), &mut c);
    }
    c
}

#[test]
fn legs_hear_each_other_and_recording_spans_the_call() {
    // Transcoding (passthrough off): one engine-clocked packet per leg per tick.
    let mut cfg = config(Policy::RECORD);
    cfg.passthrough = false;
    let mut s = CallSession::new(cfg, ms(0)).unwrap();
    let mut c = run(&mut s, 4, |_, _, _| {});
    s.disconnect(ms(4000), EndCause::HangupA, None).unwrap();
    drain(&mut s, ms(4000), &mut c);
    // Leg B hears leg A's 500 Hz; leg A hears leg B's 1 kHz (after the playout delay).
    let tail_b = &c.out_b[8000..];
    let tail_a = &c.out_a[8000..];
    assert!(tone_rms(tail_b, 500.0, 8000.0) > 4000.0, "{}", tone_rms(tail_b, 500.0, 8000.0));
    assert!(tone_rms(tail_b, 1000.0, 8000.0) < 50.0);
    assert!(tone_rms(tail_a, 1000.0, 8000.0) > 4000.0);
    assert!(tone_rms(tail_a, 500.0, 8000.0) < 50.0);
    // One outbound packet per leg per 20 ms tick, continuous numbering.
    let a_pkts: Vec<RtpPacket> =
        c.transmits.iter().filter(|t| t.0 == Leg::A).map(|t| RtpPacket::parse(&t.1).unwrap()).collect();
    assert_eq!(a_pkts.len(), 201, "ticks at 0, 20, …, 4000 ms");
    assert_eq!(s.packets_forwarded(Leg::A), 0);
    for w in a_pkts.windows(2) {
        assert_eq!(w[1].sequence(), w[0].sequence().wrapping_add(1));
        assert_eq!(w[1].timestamp(), w[0].timestamp().wrapping_add(160));
        assert_eq!(w[1].ssrc(), Ssrc(0xA0A0));
    }
    let info = read_ogg_opus(&c.ogg).unwrap();
    assert!(info.eos_on_last_page);
    let d = info.duration().as_secs_f64();
    assert!((d - 3.985).abs() < 0.021, "recording {d} s");
    assert!(matches!(c.events.last().unwrap().kind, EventKind::Ended { cause: EndCause::HangupA }));
    assert!(s.poll_output(ms(5000)).is_none());
}

#[test]
fn same_codec_legs_get_each_others_packets_untouched() {
    // Passthrough (the default): PCMU both ways, nothing mixed in. Every packet leg B sent
    // reaches leg A at once with its payload byte for byte, under our SSRC and numbering.
    let mut s = CallSession::new(config(Policy::RECORD), ms(0)).unwrap();
    let mut c = run(&mut s, 4, |_, _, _| {});
    s.disconnect(ms(4000), EndCause::HangupA, None).unwrap();
    drain(&mut s, ms(4000), &mut c);
    let to_a: Vec<(RtpPacket, HostTime)> =
        c.transmits.iter().filter(|t| t.0 == Leg::A).map(|t| (RtpPacket::parse(&t.1).unwrap(), t.2)).collect();
    assert_eq!(to_a.len(), 200);
    assert_eq!((s.packets_sent(Leg::A), s.packets_forwarded(Leg::A)), (200, 200));
    assert!(s.is_passthrough(Leg::A) || s.is_ended());
    for (k, (p, at)) in to_a.iter().enumerate() {
        let upstream = tone_packet(1000.0, 8000.0, k as u32, 0x2222, 200, 9000);
        assert_eq!(p.payload(), RtpPacket::parse(&upstream).unwrap().payload(), "packet {k}");
        assert_eq!(p.ssrc(), Ssrc(0xA0A0));
        assert_eq!(p.sequence(), k as u16, "seq from the configured initial 0");
        assert_eq!(p.timestamp(), 160 * k as u32);
        assert_eq!(p.marker(), k == 0);
        // Forwarded on arrival (…5 ms), not at the next tick behind a jitter buffer.
        assert_eq!(at.as_nanos() % 20_000_000, 5_000_000);
    }
    assert!(tone_rms(&c.out_b, 500.0, 8000.0) > 5000.0 && tone_rms(&c.out_b, 1000.0, 8000.0) < 50.0);
    // The recording and the analysis are unchanged by passthrough.
    let info = read_ogg_opus(&c.ogg).unwrap();
    assert!(info.eos_on_last_page);
}

#[test]
fn whisper_reaches_only_its_target_and_the_tap_hears_both_parties() {
    let mut s = CallSession::new(config(Policy::RECORD), ms(0)).unwrap();
    let mut tap = None;
    let mut whisper_phase = 0u32;
    let c = run(&mut s, 4, |s, k, now| {
        if k == 50 {
            let kind = TapKind::Whisper {
                to: Leg::B,
                listen: Some(Listen { layout: ListenLayout::Mono, direction: Direction::Both }),
            };
            tap = Some(s.add_tap(now, kind).unwrap());
        }
        if let Some(t) = tap {
            // The guard says 3 kHz into leg B.
            let pcm: Vec<i16> = (0..160)
                .map(|i| {
                    let n = f64::from(whisper_phase * 160 + i);
                    (6000.0 * (2.0 * PI * 3000.0 * n / 8000.0).sin()) as i16
                })
                .collect();
            whisper_phase += 1;
            s.push_guard_audio(t, &pcm).unwrap();
        }
    });
    let tap = tap.unwrap();
    assert!(c
        .events
        .iter()
        .any(|e| matches!(e.kind, EventKind::TapJoined { tap: t, .. } if t == tap) && e.at == ms(1005)));
    let after = 100 * 160; // 2 s in
    let b = &c.out_b[after..];
    let a = &c.out_a[after..];
    assert!(tone_rms(b, 3000.0, 8000.0) > 2000.0, "whisper in B: {}", tone_rms(b, 3000.0, 8000.0));
    assert!(tone_rms(b, 500.0, 8000.0) > 4000.0, "B still hears A");
    // −60 dBFS (the case's bound) is an RMS of 32.8; µ-law distortion of the 1 kHz tone alone
    // puts ~14 there (its 3rd harmonic), so the bound is also checked against that baseline.
    assert!(tone_rms(a, 3000.0, 8000.0) < 32.8, "whisper leaked to A: {}", tone_rms(a, 3000.0, 8000.0));
    let before = &c.out_a[20 * 160..45 * 160];
    assert!((tone_rms(a, 3000.0, 8000.0) - tone_rms(before, 3000.0, 8000.0)).abs() < 3.0, "no 3 kHz added to A");
    let heard: Vec<i16> = c.taps.iter().filter(|t| t.0 == tap).flat_map(|t| t.1.clone()).collect();
    assert!(heard.len() >= 140 * 160, "tap frames: {}", heard.len() / 160);
    let h = &heard[10 * 160..];
    assert!(tone_rms(h, 500.0, 8000.0) > 2000.0 && tone_rms(h, 1000.0, 8000.0) > 2000.0);
    assert!(tone_rms(h, 3000.0, 8000.0) < 32.8, "the guard does not hear his own whisper");
}

#[test]
fn tap_audio_is_the_mix_of_the_played_out_legs() {
    // The legs must get the played-out audio for this comparison: transcode.
    let mut cfg = config(Policy::RECORD);
    cfg.passthrough = false;
    let mut s = CallSession::new(cfg, ms(0)).unwrap();
    let mut tap = None;
    let c = run(&mut s, 2, |s, k, now| {
        if k == 10 {
            let kind = TapKind::Listen(Listen { layout: ListenLayout::Stereo, direction: Direction::Both });
            tap = Some(s.add_tap(now, kind).unwrap());
        }
    });
    // Stereo: left = leg A as played out = what leg B receives; right = what leg A receives.
    for (_, pcm, at) in c.taps.iter().skip(5) {
        let frame = (at.as_nanos() / 20_000_000) as usize;
        let to_b = &c.out_b[frame * 160..frame * 160 + 160];
        let to_a = &c.out_a[frame * 160..frame * 160 + 160];
        for i in 0..160 {
            // The legs' outbound went through µ-law once more: compare within its step size.
            let (l, r) = (i32::from(pcm[2 * i]), i32::from(pcm[2 * i + 1]));
            let re_l = i32::from(ulaw_decode(ulaw_encode(l as i16)));
            let re_r = i32::from(ulaw_decode(ulaw_encode(r as i16)));
            assert!((re_l - i32::from(to_b[i])).abs() <= 1 && (re_r - i32::from(to_a[i])).abs() <= 1);
        }
    }
}

#[test]
fn warnings_and_hard_limit_on_the_session_clock() {
    let mut cfg = config(Policy::RECORD);
    cfg.time_limit = Some(Duration::from_secs(3));
    for before in [2000, 1000] {
        let tone = ToneGenerator::new(
            &ToneSpec::single(440.0, crate::mix::Dbm0(-10.0), crate::mix::Cadence::once(Duration::from_millis(200))),
            SampleRate::HZ_8000,
        )
        .unwrap();
        cfg.warnings.push(Warning { before: Duration::from_millis(before), source: Source::Tone(tone) });
    }
    let mut s = CallSession::new(cfg, ms(0)).unwrap();
    let c = run(&mut s, 5, |_, _, _| {});
    let warn: Vec<(u64, u64)> = c
        .events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Warning { remaining_ms } => Some((e.at.as_nanos() / 1_000_000, remaining_ms)),
            _ => None,
        })
        .collect();
    assert_eq!(warn, vec![(1000, 2000), (2000, 1000)]);
    let limit = c.events.iter().find(|e| e.kind == EventKind::LimitReached).expect("limit event");
    assert_eq!(limit.at, ms(3000));
    assert!(c.transmits.iter().all(|t| t.2 <= ms(3000)), "no media after the limit");
    assert_eq!(c.transmits.len(), 2 * 150, "exactly 3 s of packets to each leg");
    assert!(matches!(c.events.last().unwrap().kind, EventKind::Ended { cause: EndCause::TimeLimit }));
    // The warning tone is heard by both legs at 1.0 s.
    let w = &c.out_b[50 * 160..60 * 160];
    assert!(tone_rms(w, 440.0, 8000.0) > 1000.0);
    let info = read_ogg_opus(&c.ogg).unwrap();
    // Packets that arrived before the limit are recorded; the last one (sent at 2.985 s) ends at 3.005 s.
    assert!(info.duration().as_secs_f64() <= 3.0 + 0.021, "{:?}", info.duration());
}

#[test]
fn late_host_cannot_overrun_the_limit() {
    let mut cfg = config(Policy::RECORD);
    cfg.time_limit = Some(Duration::from_secs(2));
    let mut s = CallSession::new(cfg, ms(0)).unwrap();
    s.answer(ms(0));
    let mut c = Collected::default();
    // The host sleeps through the limit and wakes 5 s later.
    s.handle_timeout(ms(7000)).unwrap();
    drain(&mut s, ms(7000), &mut c);
    let limit = c.events.iter().find(|e| e.kind == EventKind::LimitReached).unwrap();
    assert_eq!(limit.at, ms(2000));
    let a = "192.0.2.1:4000".parse().unwrap();
    s.handle_rtp(ms(7010), Leg::A, a, &tone_packet(500.0, 8000.0, 0, 1, 1, 1)).unwrap();
    assert!(s.poll_output(ms(7010)).is_none(), "nothing after the end");
}

#[test]
fn no_record_policy_yields_no_pages_and_refuses_taps() {
    let mut s = CallSession::new(config(Policy::NO_RECORD), ms(0)).unwrap();
    let mut refused = false;
    let c = run(&mut s, 2, |s, k, now| {
        if k == 5 {
            let kind = TapKind::Listen(Listen { layout: ListenLayout::Mono, direction: Direction::Both });
            refused = matches!(s.add_tap(now, kind), Err(SessionError::Forbidden(_)));
        }
    });
    assert!(refused);
    assert!(c.ogg.is_empty(), "zero recording bytes");
    assert!(c.taps.is_empty());
    assert!(tone_rms(&c.out_b[4000..], 500.0, 8000.0) > 4000.0, "the call itself works");
}

#[test]
fn tightening_removes_taps_and_ends_the_recording_never_loosens() {
    let mut s = CallSession::new(config(Policy::RECORD), ms(0)).unwrap();
    let c = run(&mut s, 3, |s, k, now| {
        if k == 10 {
            let kind = TapKind::Listen(Listen { layout: ListenLayout::Mono, direction: Direction::Both });
            s.add_tap(now, kind).unwrap();
        }
        if k == 50 {
            s.tighten_policy(now, Policy::NO_MONITOR).unwrap();
        }
        if k == 100 {
            s.tighten_policy(now, Policy::NO_RECORD).unwrap();
            s.tighten_policy(now, Policy::RECORD).unwrap();
        }
    });
    assert_eq!(s.policy(), Policy::NO_RECORD);
    assert!(c.taps.iter().all(|t| t.2 < ms(1010)), "no tap frames after monitoring was turned off");
    assert!(c.events.iter().any(|e| matches!(e.kind, EventKind::TapLeft { .. }) && e.at == ms(1005)));
    let changes = c.events.iter().filter(|e| matches!(e.kind, EventKind::PolicyChanged { .. })).count();
    assert_eq!(changes, 2, "RECORD → NO_MONITOR → NO_RECORD; the attempt to loosen changes nothing");
    let info = read_ogg_opus(&c.ogg).unwrap();
    assert!(info.eos_on_last_page);
    assert!(info.duration().as_secs_f64() < 2.05, "recording stops at the tightening ({:?})", info.duration());
}

#[test]
fn forced_disconnect_plays_final_prompt_then_ends() {
    let mut s = CallSession::new(config(Policy::RECORD), ms(0)).unwrap();
    let c = run(&mut s, 3, |s, k, now| {
        if k == 50 {
            let tone = ToneGenerator::new(
                &ToneSpec::single(
                    1400.0,
                    crate::mix::Dbm0(-10.0),
                    crate::mix::Cadence::once(Duration::from_millis(400)),
                ),
                SampleRate::HZ_8000,
            )
            .unwrap();
            s.disconnect(now, EndCause::StaffCut, Some(Source::Tone(tone))).unwrap();
        }
    });
    let end = c.events.iter().find(|e| matches!(e.kind, EventKind::Ended { .. })).unwrap();
    assert_eq!(end.kind, EventKind::Ended { cause: EndCause::StaffCut });
    let end_ms = end.at.as_nanos() / 1_000_000;
    assert!((1400..=1460).contains(&end_ms), "ended at {end_ms} ms");
    // During the prompt both parties hear only the prompt.
    let p = &c.out_b[54 * 160..68 * 160];
    let (t, o) = (tone_rms(p, 1400.0, 8000.0), tone_rms(p, 500.0, 8000.0));
    assert!(t > 1000.0 && o < 50.0, "prompt {t}, conversation {o}");
}

#[test]
fn outbound_stays_continuous_across_an_upstream_ssrc_change() {
    // Case B07: leg B's upstream switches SSRC/seq/ts mid-call; what we send to leg A keeps
    // one SSRC, seq +1 and ts +160 per packet, forwarded or transcoded.
    for passthrough in [true, false] {
        b07_in_session(passthrough);
    }
}

fn b07_in_session(passthrough: bool) {
    let mut cfg = config(Policy::RECORD);
    cfg.passthrough = passthrough;
    let mut s = CallSession::new(cfg, ms(0)).unwrap();
    s.answer(ms(0));
    let mut c = Collected::default();
    let b: SocketAddr = B_ADDR.parse().unwrap();
    for k in 0..100u32 {
        let now = ms(u64::from(k) * 20 + 5);
        let pkt = if k < 50 {
            tone_packet(1000.0, 8000.0, k, 0xAAAA, 30000, 5_000_000)
        } else {
            tone_packet(1000.0, 8000.0, k - 50, 0xBBBB, 40, 123)
        };
        s.handle_rtp(now, Leg::B, b, &pkt).unwrap();
        s.handle_timeout(ms(u64::from(k) * 20 + 20)).unwrap();
        drain(&mut s, now, &mut c);
    }
    let to_a: Vec<RtpPacket> =
        c.transmits.iter().filter(|t| t.0 == Leg::A).map(|t| RtpPacket::parse(&t.1).unwrap()).collect();
    assert_eq!(to_a.len(), if passthrough { 100 } else { 101 });
    assert_eq!(s.packets_forwarded(Leg::A), if passthrough { 100 } else { 0 });
    for w in to_a.windows(2) {
        assert_eq!(
            (w[1].ssrc(), w[1].sequence(), w[1].timestamp()),
            (w[0].ssrc(), w[0].sequence().wrapping_add(1), w[0].timestamp().wrapping_add(160))
        );
    }
    assert_eq!(s.ingress(Leg::B).counters().ssrc_changes, 1);
    // The audio continues after the switch.
    assert!(tone_rms(&c.out_a[60 * 160..], 1000.0, 8000.0) > 4000.0);
}

#[test]
fn analysis_events_and_summary_come_from_the_session() {
    // Leg B presses '1' with RFC 4733 (case B18: 12 packets, three repeated end packets), in
    // its audio stream's sequence space and timeline (the audio packet of each slot then
    // arrives as a duplicate and is dropped, as a sender suppressing audio would).
    let mut cfg = config(Policy::RECORD);
    let te = PayloadFormat::new(PayloadType(101), "telephone-event", ClockRate::HZ_8000, 1);
    cfg.legs[1].payloads.insert(te).unwrap();
    let mut s = CallSession::new(cfg, ms(0)).unwrap();
    let b: SocketAddr = B_ADDR.parse().unwrap();
    let c = run(&mut s, 3, |s, k, now| {
        if (60..72).contains(&k) {
            let i = k - 60;
            let end = i >= 9;
            let duration: u16 = if end { 1600 } else { 160 * (i as u16 + 1) };
            let payload = [1u8, if end { 0x80 | 10 } else { 10 }, (duration >> 8) as u8, duration as u8];
            let mut out = Vec::new();
            RtpHeader::new(PayloadType(101), 200 + k as u16, 9000 + 160 * 60, Ssrc(0x2222))
                .with_marker(i == 0)
                .write(&payload, &mut out)
                .unwrap();
            s.handle_rtp(now, Leg::B, b, &out).unwrap();
        }
    });
    let digits: Vec<String> = c
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Analysis(a) => match &a.kind {
                crate::analysis::EventKind::Digit { digit, duration, .. } => {
                    assert_eq!((*duration, a.leg), (Duration::from_millis(200), Some(Leg::B)));
                    Some(digit.to_string())
                }
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(digits, vec!["1".to_string()]);
    let sum = s.summary(ms(3000));
    assert_eq!(sum.legs[1].digits, "1");
    assert!(sum.legs[0].talk_ms > 2500, "leg A talks all along: {}", sum.legs[0].talk_ms);
}

#[test]
fn whisper_is_recorded_on_the_guard_track_only() {
    let mut cfg = config(Policy::RECORD);
    cfg.record_guard_track = true;
    let mut s = CallSession::new(cfg, ms(0)).unwrap();
    let mut tap = None;
    let mut phase = 0u32;
    let mut c = run(&mut s, 3, |s, k, now| {
        if k == 25 {
            tap = Some(s.add_tap(now, TapKind::Whisper { to: Leg::B, listen: None }).unwrap());
        }
        if let Some(t) = tap {
            let pcm: Vec<i16> = (0..160)
                .map(|i| (6000.0 * (2.0 * PI * 3000.0 * f64::from(phase * 160 + i) / 8000.0).sin()) as i16)
                .collect();
            phase += 1;
            s.push_guard_audio(t, &pcm).unwrap();
        }
    });
    s.disconnect(ms(3000), EndCause::HangupA, None).unwrap();
    drain(&mut s, ms(3000), &mut c);
    let rec = crate::record::decode_ogg_opus(&c.ogg).unwrap();
    assert_eq!(rec.channels, 3);
    let at48 = |ch: usize| -> Vec<i16> { rec.channel(ch)[48_000..120_000].to_vec() };
    let (a, b, g) = (at48(0), at48(1), at48(2));
    // −60 dBFS = RMS 32.8: the parties' channels carry no whisper; the guard track does.
    assert!(tone_rms(&a, 3000.0, 48_000.0) < 32.8, "A: {}", tone_rms(&a, 3000.0, 48_000.0));
    assert!(tone_rms(&b, 3000.0, 48_000.0) < 32.8, "B: {}", tone_rms(&b, 3000.0, 48_000.0));
    assert!(tone_rms(&g, 3000.0, 48_000.0) > 2000.0, "guard: {}", tone_rms(&g, 3000.0, 48_000.0));
    assert!(tone_rms(&a, 500.0, 48_000.0) > 3000.0 && tone_rms(&b, 1000.0, 48_000.0) > 3000.0);
    assert!(tone_rms(&g, 500.0, 48_000.0) < 32.8 && tone_rms(&g, 1000.0, 48_000.0) < 32.8);
}

/// Passthrough → transcode while a whisper reaches leg B → passthrough after it leaves.
/// Leg B's stream stays one SSRC with seq +1 throughout and timestamps that follow the
/// elapsed media time (case B07 applied to the monitor switching what feeds a leg); M=1
/// exactly on the first packet and after each switch. Leg A stays forwarded.
#[test]
fn whisper_switches_the_target_leg_out_of_passthrough_and_back() {
    let mut s = CallSession::new(config(Policy::RECORD), ms(0)).unwrap();
    let mut tap = None;
    let mut phase = 0u32;
    let c = run(&mut s, 3, |s, k, now| {
        if k == 50 {
            let kind = TapKind::Whisper { to: Leg::B, listen: None };
            tap = Some(s.add_tap(now, kind).unwrap());
        }
        if k == 100 {
            s.remove_tap(now, tap.take().unwrap()).unwrap();
        }
        if let Some(t) = tap {
            let pcm: Vec<i16> = (0..160)
                .map(|i| (6000.0 * (2.0 * PI * 3000.0 * f64::from(phase * 160 + i) / 8000.0).sin()) as i16)
                .collect();
            phase += 1;
            s.push_guard_audio(t, &pcm).unwrap();
        }
    });
    assert_eq!(s.packets_forwarded(Leg::A), 150, "leg A never left passthrough");
    assert!(s.is_passthrough(Leg::B));
    let to_b: Vec<(RtpPacket, HostTime)> =
        c.transmits.iter().filter(|t| t.0 == Leg::B).map(|t| (RtpPacket::parse(&t.1).unwrap(), t.2)).collect();
    let forwarded = s.packets_forwarded(Leg::B) as usize;
    let encoded = to_b.len() - forwarded;
    // 50 forwarded, then one encoded frame per tick while the tap is attached, then forwarded.
    assert!((49..=51).contains(&encoded), "{encoded} encoded frames");
    assert!((97..=101).contains(&forwarded), "{forwarded} forwarded");
    let mut markers = Vec::new();
    for (i, w) in to_b.windows(2).enumerate() {
        let (p, q) = (&w[0].0, &w[1].0);
        assert_eq!(q.ssrc(), Ssrc(0xB0B0));
        assert_eq!(q.sequence(), p.sequence().wrapping_add(1), "seq +1 at packet {}", i + 1);
        let step = q.timestamp().wrapping_sub(p.timestamp());
        let elapsed_ticks = (w[1].1.as_nanos() - w[0].1.as_nanos()) / 125_000;
        // Timestamps follow the send instants to within one 20 ms frame, never backwards.
        assert!(step >= 160 && step % 160 == 0 && u64::from(step).abs_diff(elapsed_ticks) <= 160, "{i}: {step}");
        if q.marker() {
            markers.push(i + 1);
        }
    }
    // Packet 50 arrived just after the tap joined, before the next tick switched: forwarded.
    assert_eq!(markers, vec![51, 51 + encoded], "M=1 after each switch");
    assert!(to_b[0].0.marker());
    // Whisper only in the encoded stretch; the forwarded stretches are leg A's payloads.
    let pcm = |r: std::ops::Range<usize>| -> Vec<i16> {
        to_b[r].iter().flat_map(|(p, _)| p.payload().iter().map(|&b| ulaw_decode(b))).collect()
    };
    let whispered = pcm(56..51 + encoded);
    assert!(tone_rms(&whispered, 3000.0, 8000.0) > 2000.0);
    assert!(tone_rms(&pcm(0..51), 3000.0, 8000.0) < 32.8);
    assert!(tone_rms(&pcm(51 + encoded..to_b.len()), 3000.0, 8000.0) < 32.8);
}

fn opus_leg(pt: u8, ssrc: u32) -> LegConfig {
    LegConfig::new(PayloadFormat::new(PayloadType(pt), "opus", ClockRate::HZ_48000, 2), Ssrc(ssrc))
}

/// 20 ms Opus packets of a 440 Hz tone at 48 kHz with payload type `pt`.
fn opus_packets(pt: u8, ssrc: u32, n: u32) -> Vec<Vec<u8>> {
    let mut enc =
        crate::codec::OpusEncoder::new(crate::codec::OpusEncoderConfig::new(SampleRate::HZ_48000, 1)).unwrap();
    let mut payload = vec![0u8; 1500];
    (0..n)
        .map(|k| {
            let pcm: Vec<i16> = (0..960)
                .map(|i| (8000.0 * (2.0 * PI * 440.0 * f64::from(k * 960 + i) / 48000.0).sin()) as i16)
                .collect();
            let len = crate::codec::Encoder::encode(&mut enc, &pcm, &mut payload).unwrap();
            let mut out = Vec::new();
            RtpHeader::new(PayloadType(pt), k as u16, 960 * k, Ssrc(ssrc)).write(&payload[..len], &mut out).unwrap();
            out
        })
        .collect()
}

/// Opus both ways with different dynamic payload types: leg A's packets reach leg B
/// relabelled from PT 111 to PT 96 (what B negotiated), payload byte for byte. When leg A
/// switches to a codec leg B is not sent (PCMU, also in its SDP), leg B is transcoded.
#[test]
fn passthrough_relabels_payload_types_and_transcodes_on_a_codec_change() {
    let mut a = opus_leg(111, 0xA0A0);
    a.remote = Some(A_ADDR.parse().unwrap());
    let mut b = opus_leg(96, 0xB0B0);
    b.remote = Some(B_ADDR.parse().unwrap());
    let mut s = CallSession::new(SessionConfig::new("opus-call", a, b), ms(0)).unwrap();
    let from_a: SocketAddr = A_ADDR.parse().unwrap();
    let sent = opus_packets(111, 0x1111, 50);
    let mut c = Collected::default();
    let mut to_b = Vec::new();
    let mut collect = |s: &mut CallSession, now: HostTime, to_b: &mut Vec<Vec<u8>>| {
        while let Some(o) = s.poll_output(now) {
            match o {
                Output::Transmit { leg: Leg::B, packet } => to_b.push(packet),
                Output::Timeout(_) => break,
                Output::Recording(p) => c.ogg.extend_from_slice(&p.data),
                _ => {}
            }
        }
    };
    for (k, pkt) in sent.iter().enumerate() {
        let now = ms(k as u64 * 20 + 5);
        s.handle_rtp(now, Leg::A, from_a, pkt).unwrap();
        collect(&mut s, now, &mut to_b);
        s.handle_timeout(ms(k as u64 * 20 + 20)).unwrap();
        collect(&mut s, now, &mut to_b);
    }
    assert_eq!(to_b.len(), 50);
    for (k, out) in to_b.iter().enumerate() {
        let (p, q) = (RtpPacket::parse(out).unwrap(), RtpPacket::parse(&sent[k]).unwrap());
        assert_eq!((p.payload_type(), p.payload(), p.timestamp()), (PayloadType(96), q.payload(), 960 * k as u32));
    }
    // Leg A now sends PCMU (static PT 0, in every leg's map): leg B gets encoded Opus frames.
    for k in 50..100u32 {
        let now = ms(u64::from(k) * 20 + 5);
        s.handle_rtp(now, Leg::A, from_a, &tone_packet(500.0, 8000.0, k, 0x1111, 50, 48_000)).unwrap();
        collect(&mut s, now, &mut to_b);
        s.handle_timeout(ms(u64::from(k) * 20 + 20)).unwrap();
        collect(&mut s, now, &mut to_b);
    }
    assert!(!s.is_passthrough(Leg::B));
    assert_eq!(s.packets_forwarded(Leg::B), 50);
    let tail: Vec<RtpPacket> = to_b[50..].iter().map(|p| RtpPacket::parse(p).unwrap()).collect();
    assert!((49..=51).contains(&tail.len()), "{}", tail.len());
    assert!(tail.iter().all(|p| p.payload_type() == PayloadType(96)));
    for w in to_b.windows(2) {
        let (p, q) = (RtpPacket::parse(&w[0]).unwrap(), RtpPacket::parse(&w[1]).unwrap());
        assert_eq!(q.sequence(), p.sequence().wrapping_add(1));
        assert!(q.timestamp().wrapping_sub(p.timestamp()) >= 960);
    }
}

/// G.711 to Opus can never be forwarded: every packet toward either leg is encoded.
#[test]
fn different_codecs_are_always_transcoded() {
    let mut a = LegConfig::new(pcmu(), Ssrc(0xA0A0));
    a.remote = Some(A_ADDR.parse().unwrap());
    let mut b = opus_leg(111, 0xB0B0);
    b.remote = Some(B_ADDR.parse().unwrap());
    let mut s = CallSession::new(SessionConfig::new("mixed", a, b), ms(0)).unwrap();
    let from_a: SocketAddr = A_ADDR.parse().unwrap();
    for k in 0..50u32 {
        let now = ms(u64::from(k) * 20 + 5);
        s.handle_rtp(now, Leg::A, from_a, &tone_packet(500.0, 8000.0, k, 0x1111, 0, 0)).unwrap();
        s.handle_timeout(ms(u64::from(k) * 20 + 20)).unwrap();
        while let Some(o) = s.poll_output(now) {
            if matches!(o, Output::Timeout(_)) {
                break;
            }
        }
    }
    assert!(!s.is_passthrough(Leg::A) && !s.is_passthrough(Leg::B));
    assert_eq!((s.packets_forwarded(Leg::A), s.packets_forwarded(Leg::B)), (0, 0));
    assert_eq!(s.packets_sent(Leg::B), 51);
}
