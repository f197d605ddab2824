//! A shard driven on a simulated clock: routing of every output, timers and lateness,
//! tap back-pressure, guard audio bounds, the end of a call.

use super::*;
use crate::codec::{ulaw_decode, ulaw_encode};
use crate::mix::{Listen, TapKind};
use crate::record::sink::MemorySink;
use crate::record::{read_ogg_opus, RecordingPage, RecordingSink, SinkEvent};
use crate::rtp::{PayloadFormat, PayloadType, RtpHeader, RtpPacket, Ssrc};
use crate::session::{EventKind, LegConfig, SessionConfig};
use crate::ClockRate;
use crossbeam_channel::{bounded, unbounded, Receiver};
use std::f64::consts::PI;
use std::sync::{Arc, Mutex};

const A: &str = "192.0.2.1:4000";
const B: &str = "198.51.100.2:5000";

fn ms(t: u64) -> HostTime {
    HostTime::from_millis(t)
}

fn config(id: &str) -> SessionConfig {
    let pcmu = PayloadFormat::new(PayloadType(0), "PCMU", ClockRate::HZ_8000, 1);
    let mut a = LegConfig::new(pcmu.clone(), Ssrc(0xA));
    a.remote = Some(A.parse().unwrap());
    let mut b = LegConfig::new(pcmu, Ssrc(0xB));
    b.remote = Some(B.parse().unwrap());
    let mut c = SessionConfig::new(id, a, b);
    // These tests count engine-clocked frames (one per leg per tick): no passthrough.
    c.passthrough = false;
    c
}

/// Frame `k` of a 20 ms µ-law stream of a sine at `freq` Hz.
fn tone_packet(freq: f64, k: u32, ssrc: u32) -> Vec<u8> {
    let payload: Vec<u8> = (0..160)
        .map(|i| ulaw_encode((8000.0 * (2.0 * PI * freq * f64::from(k * 160 + i) / 8000.0).sin()) as i16))
        .collect();
    let mut out = Vec::new();
    RtpHeader::new(PayloadType(0), k as u16, k * 160, Ssrc(ssrc)).write(&payload, &mut out).unwrap();
    out
}

/// A sink whose bytes the test can read after the shard dropped it.
#[derive(Clone, Default)]
struct SharedSink(Arc<Mutex<MemorySink>>);
impl RecordingSink for SharedSink {
    fn write_page(&mut self, page: &RecordingPage) {
        self.0.lock().unwrap().write_page(page);
    }
    fn close(&mut self) {
        self.0.lock().unwrap().close();
    }
    fn poll_event(&mut self) -> Option<SinkEvent> {
        self.0.lock().unwrap().poll_event()
    }
}

struct Rig {
    shard: Shard,
    events: Receiver<RuntimeEvent>,
    tx: Receiver<Transmit>,
    sender: ChannelSender,
}

fn rig() -> Rig {
    let (ev_tx, events) = unbounded();
    let (t_tx, tx) = unbounded();
    Rig { shard: Shard::new(3, ev_tx, ms(0)), events, tx, sender: ChannelSender(t_tx) }
}

/// Feeds leg A a 500 Hz tone on every call for `frames` frames, running the timers `late`
/// ms after each deadline.
fn run(r: &mut Rig, calls: &[CallId], from_frame: u32, frames: u32, late: u64) {
    let a = A.parse().unwrap();
    for k in from_frame..from_frame + frames {
        let t = u64::from(k) * 20;
        for &c in calls {
            r.shard.packet(ms(t + 2), c, Leg::A, a, &tone_packet(500.0, k, 0x1111));
        }
        r.shard.run_due(ms(t + 20 + late));
    }
}

#[test]
fn routes_every_output_and_finishes_the_call() {
    let mut r = rig();
    let sink = SharedSink::default();
    let spec = CallSpec::new(config("c1"), Box::new(r.sender.clone())).with_sink(Box::new(sink.clone()));
    let id = r.shard.add_call(ms(0), spec).unwrap();
    assert_eq!(id.shard(), 3);
    assert_eq!(r.shard.next_wakeup(), Some(ms(0)), "the first tick is due at creation");
    let (tap_tx, tap_rx) = bounded(1000);
    let tap = r.shard.add_tap(ms(0), id, TapKind::Listen(Listen::MONO), tap_tx).unwrap();
    run(&mut r, &[id], 0, 100, 0); // 2 s
                                   // Ticks at 0, 20, …, 2000 ms: 101 frames to each leg.
    let sent: Vec<Transmit> = r.tx.try_iter().collect();
    assert_eq!(sent.iter().filter(|t| t.leg == Leg::A).count(), 101);
    assert_eq!(sent.iter().filter(|t| t.leg == Leg::B).count(), 101);
    assert!(sent.iter().all(|t| t.call == id));
    // Leg B hears leg A's tone after the 60 ms playout delay: the last second is loud.
    let pcm_b: Vec<i16> = sent
        .iter()
        .filter(|t| t.leg == Leg::B)
        .flat_map(|t| {
            RtpPacket::parse(&t.packet).unwrap().payload().iter().map(|&c| ulaw_decode(c)).collect::<Vec<_>>()
        })
        .collect();
    let rms = (pcm_b[8000..].iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / 8000.0).sqrt();
    assert!((rms - 8000.0 / 2f64.sqrt()).abs() < 300.0, "leg B rms {rms}");
    // The tap joined at 0 ms, after that tick: frames from 20 ms on.
    let frames: Vec<TapFrame> = tap_rx.try_iter().collect();
    assert_eq!(frames.len(), 100);
    assert!(frames.iter().all(|f| f.tap == tap && f.pcm.len() == 160 && f.rate == 8000 && f.channels == 1));
    assert_eq!(frames[5].at, ms(120));

    r.shard.disconnect(ms(2010), id, EndCause::StaffCut, None).unwrap();
    assert_eq!(r.shard.calls(), 1, "the recording is still closing");
    r.shard.run_due(ms(2015));
    assert_eq!(r.shard.calls(), 0);
    let events: Vec<RuntimeEvent> = r.events.try_iter().collect();
    let ended = events
        .iter()
        .position(|e| matches!(&e.kind, RuntimeEventKind::Session(s) if matches!(s.kind, EventKind::Ended { .. })))
        .expect("Ended");
    let complete = events
        .iter()
        .position(|e| matches!(e.kind, RuntimeEventKind::Sink(SinkEvent::RecordingComplete { .. })))
        .expect("RecordingComplete");
    let last = events.last().unwrap();
    assert!(ended < complete && complete < events.len() - 1);
    match &last.kind {
        RuntimeEventKind::Finished { started, ended, packets_sent, summary, .. } => {
            assert_eq!((*started, *ended), (ms(0), ms(2010)));
            assert_eq!(*packets_sent, [101, 101]);
            assert!(summary.legs[0].talk_ms > 1500, "{summary:?}");
        }
        k => panic!("last event {k:?}"),
    }
    // The recording spans the call: 2.010 s.
    let bytes = sink.0.lock().unwrap().bytes.clone();
    let info = read_ogg_opus(&bytes).unwrap();
    assert!(info.eos_on_last_page);
    let d = info.duration().as_millis() as i64;
    assert!((d - 2010).abs() <= 20, "recording {d} ms");
    // Everything after the end is refused or counted.
    assert!(matches!(r.shard.answer(ms(2100), id), Err(RuntimeError::UnknownCall(_))));
    r.shard.packet(ms(2100), id, Leg::A, A.parse().unwrap(), &tone_packet(500.0, 0, 1));
    assert_eq!(r.shard.stats().unknown_call_packets, 1);
    // The tick at 0 ms ran inside add_tap (every mutation runs the ticks due): 100 timers.
    assert_eq!(r.shard.stats().timers_fired, 100);
}

#[test]
fn lateness_is_measured_per_tick() {
    let mut r = rig();
    let ids: Vec<CallId> = (0..3)
        .map(|i| r.shard.add_call(ms(0), CallSpec::new(config(&format!("c{i}")), Box::new(DiscardSender))).unwrap())
        .collect();
    r.shard.run_due(ms(0));
    run(&mut r, &ids, 0, 50, 3);
    let s = r.shard.stats();
    // 3 calls × (1 at creation + 50 late ticks).
    assert_eq!(s.timers_fired, 3 * 51);
    let l = s.lateness.summary();
    assert_eq!(l.count, 153);
    assert_eq!((l.p50_us, l.p99_us, l.max_us), (3000, 3000, 3000));
    assert_eq!(s.calls, 3);
    assert_eq!(s.packets, 150);
    assert_eq!(s.transmitted, 3 * 2 * 51);
}

#[test]
fn tap_back_pressure_and_hang_up() {
    let mut r = rig();
    let id = r.shard.add_call(ms(0), CallSpec::new(config("c"), Box::new(DiscardSender))).unwrap();
    let (full_tx, full_rx) = bounded(4);
    r.shard.add_tap(ms(0), id, TapKind::Listen(Listen::MONO), full_tx).unwrap();
    let (gone_tx, gone_rx) = bounded(4);
    let gone = r.shard.add_tap(ms(0), id, TapKind::Listen(Listen::STEREO), gone_tx).unwrap();
    drop(gone_rx);
    run(&mut r, &[id], 0, 10, 0);
    // 10 frames (20 … 200 ms): 4 fit, 6 dropped; the hung-up tap left the call at its
    // first frame.
    assert_eq!(full_rx.try_iter().count(), 4);
    assert_eq!(r.shard.stats().tap_frames_dropped, 6);
    let left: Vec<_> = r
        .events
        .try_iter()
        .filter_map(|e| match e.kind {
            RuntimeEventKind::Session(s) => match s.kind {
                EventKind::TapLeft { tap, .. } => Some((tap, s.at)),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(left, vec![(gone, ms(20))]);
}

#[test]
fn guard_audio_is_bounded_and_whispers_to_one_leg() {
    let mut r = rig();
    let spec = CallSpec::new(config("g"), Box::new(r.sender.clone()));
    let id = r.shard.add_call(ms(0), spec).unwrap();
    let (tx, _rx) = bounded(100);
    let tap = r.shard.add_tap(ms(0), id, TapKind::Whisper { to: Leg::B, listen: None }, tx).unwrap();
    r.shard.run_due(ms(0));
    let _ = r.tx.try_iter().count();
    // 15 frames of a 1 kHz tone at once: 10 are kept, 5 dropped.
    for k in 0..15u32 {
        let pcm: Vec<i16> =
            (0..160).map(|i| (6000.0 * (2.0 * PI * 1000.0 * f64::from(k * 160 + i) / 8000.0).sin()) as i16).collect();
        r.shard.push_guard_audio(id, tap, pcm).unwrap();
    }
    assert_eq!(r.shard.stats().guard_frames_dropped, 5);
    for k in 1..=12u64 {
        r.shard.run_due(ms(20 * k));
    }
    let sent: Vec<Transmit> = r.tx.try_iter().collect();
    let energy = |leg: Leg| -> Vec<f64> {
        sent.iter()
            .filter(|t| t.leg == leg)
            .map(|t| {
                let p = RtpPacket::parse(&t.packet).unwrap();
                let s: f64 = p.payload().iter().map(|&c| f64::from(ulaw_decode(c)).powi(2)).sum();
                (s / 160.0).sqrt()
            })
            .collect()
    };
    let (ea, eb) = (energy(Leg::A), energy(Leg::B));
    assert_eq!(eb.len(), 12);
    // Leg B hears the 10 queued frames, one per tick, then silence; leg A hears nothing.
    let loud: Vec<bool> = eb.iter().map(|&e| e > 3000.0).collect();
    assert_eq!(loud, [vec![true; 10], vec![false; 2]].concat(), "{eb:?}");
    assert!(ea.iter().all(|&e| e < 10.0), "{ea:?}");
    let unknown = r.shard.push_guard_audio(id, crate::mix::TapId(99), vec![0; 160]);
    assert!(matches!(unknown, Err(RuntimeError::Session(_))));
}

#[test]
fn shutdown_ends_every_call() {
    let mut r = rig();
    let ids: Vec<CallId> = (0..4)
        .map(|i| {
            let spec =
                CallSpec::new(config(&format!("s{i}")), Box::new(DiscardSender)).with_sink(Box::new(MemorySink::new()));
            r.shard.add_call(ms(0), spec).unwrap()
        })
        .collect();
    run(&mut r, &ids, 0, 5, 0);
    r.shard.shutdown(ms(120));
    assert_eq!(r.shard.calls(), 0, "memory sinks complete at once");
    let finished: Vec<CallId> =
        r.events.try_iter().filter(|e| matches!(e.kind, RuntimeEventKind::Finished { .. })).map(|e| e.call).collect();
    let mut sorted = finished.clone();
    sorted.sort();
    assert_eq!(sorted, ids);
    assert_eq!(r.shard.next_wakeup(), None);
}
