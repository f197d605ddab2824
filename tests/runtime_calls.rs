//! The threaded runtime on the real clock: placement over shards, packets through the
//! channels, outbound packets at 50 per second per leg, tap frames, events, shutdown.

use crossbeam_channel::{bounded, unbounded};
use jyqq_media::codec::ulaw_encode;
use jyqq_media::mix::{Listen, TapKind};
use jyqq_media::record::sink::MemorySink;
use jyqq_media::rtp::{PayloadFormat, PayloadType, RtpHeader, Ssrc};
use jyqq_media::runtime::{
    CallSpec, ChannelSender, Placement, Runtime, RuntimeConfig, RuntimeError, RuntimeEventKind, Transmit,
};
use jyqq_media::session::{EndCause, LegConfig, SessionConfig};
use jyqq_media::{ClockRate, Leg};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

fn config(id: &str, remote_a: SocketAddr) -> SessionConfig {
    let pcmu = PayloadFormat::new(PayloadType(0), "PCMU", ClockRate::HZ_8000, 1);
    let mut a = LegConfig::new(pcmu.clone(), Ssrc(1));
    a.remote = Some(remote_a);
    let mut c = SessionConfig::new(id, a, LegConfig::new(pcmu, Ssrc(2)));
    // The tick counts below are engine-clocked frames: no passthrough.
    c.passthrough = false;
    c
}

fn packet(k: u32) -> Vec<u8> {
    let payload: Vec<u8> = (0..160).map(|i| ulaw_encode(((k * 160 + i) % 64) as i16 * 100)).collect();
    let mut out = Vec::new();
    RtpHeader::new(PayloadType(0), k as u16, k * 160, Ssrc(77)).write(&payload, &mut out).unwrap();
    out
}

#[test]
fn calls_spread_over_shards_and_run_in_real_time() {
    let mut cfg = RuntimeConfig::default();
    cfg.shards = Some(2);
    let (rt, events) = Runtime::start(cfg).unwrap();
    assert_eq!(rt.shards(), 2);
    let (tx, transmits) = unbounded::<Transmit>();
    let remote: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let ids: Vec<_> = (0..4)
        .map(|i| {
            let spec = CallSpec::new(config(&format!("call-{i}"), remote), Box::new(ChannelSender(tx.clone())))
                .with_sink(Box::new(MemorySink::new()));
            rt.add_call(spec).unwrap()
        })
        .collect();
    // Least-loaded placement alternates: two calls per shard.
    let per_shard = ids.iter().fold([0; 2], |mut n, id| {
        n[id.shard()] += 1;
        n
    });
    assert_eq!(per_shard, [2, 2]);
    let (tap_tx, tap_rx) = bounded(1000);
    rt.add_tap(ids[0], TapKind::Listen(Listen::MONO), tap_tx).unwrap();

    // One second of leg A packets to every call, paced by the real clock.
    let t0 = Instant::now();
    for k in 0..50u32 {
        let due = t0 + Duration::from_millis(u64::from(k) * 20);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        for &id in &ids {
            rt.packet(id, Leg::A, remote, packet(k)).unwrap();
        }
    }
    std::thread::sleep(Duration::from_millis(100));
    let stats = rt.stats();
    assert_eq!(stats.packets(), 200);
    assert_eq!(stats.calls(), 4);
    for &id in &ids {
        rt.disconnect(id, EndCause::HangupA, None).unwrap();
    }
    let elapsed = t0.elapsed();
    // Wait for the four calls to finish (their recordings complete).
    let mut finished = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while finished.len() < 4 && Instant::now() < deadline {
        if let Ok(ev) = events.recv_timeout(Duration::from_millis(100)) {
            if let RuntimeEventKind::Finished { started, ended, packets_sent, .. } = ev.kind {
                finished.insert(ev.call, (ended.as_nanos() - started.as_nanos(), packets_sent));
            }
        }
    }
    assert_eq!(finished.len(), 4);
    let by_call = transmits.try_iter().fold(HashMap::new(), |mut m, t| {
        *m.entry((t.call, t.leg)).or_insert(0u64) += 1;
        m
    });
    for id in &ids {
        let (dur_ns, sent) = finished[id];
        // One packet per leg per 20 ms of the call's life (the first at creation).
        let expect = dur_ns / 20_000_000 + 1;
        assert!(sent[0].abs_diff(expect) <= 1 && sent[1].abs_diff(expect) <= 1, "{sent:?} vs {expect}");
        assert_eq!(by_call[&(*id, Leg::A)], sent[0]);
        assert_eq!(by_call[&(*id, Leg::B)], sent[1]);
        let secs = dur_ns as f64 / 1e9;
        assert!(secs >= elapsed.as_secs_f64() - 0.2 && secs < elapsed.as_secs_f64() + 1.0, "{secs} s");
    }
    // The tap heard its call for the whole second: 50 frames per second.
    let frames = tap_rx.try_iter().count() as f64;
    let secs = finished[&ids[0]].0 as f64 / 1e9;
    assert!((frames - 50.0 * secs).abs() <= 3.0, "{frames} frames in {secs} s");
    // After the end: the call is unknown.
    assert!(matches!(
        rt.answer(ids[0]).and_then(|_| rt.add_tap(ids[0], TapKind::Listen(Listen::MONO), bounded(1).0)),
        Err(RuntimeError::UnknownCall(_))
    ));
    let stats = rt.shutdown();
    assert_eq!(stats.calls(), 0);
    let late = stats.lateness();
    // 4 calls × ~1 s of 20 ms ticks; a loaded machine may merge a few late ticks.
    assert!(late.count >= 4 * 45, "{late:?}");
    // Lateness is a measurement, not a contract on a shared machine: only sanity here.
    assert!(late.p50_us <= late.p99_us && late.p99_us <= late.max_us);
    println!("tick lateness: {late:?}");
}

#[test]
fn hash_placement_is_stable() {
    let mut cfg = RuntimeConfig::default();
    cfg.shards = Some(3);
    cfg.placement = Placement::Hash;
    let (rt, _events) = Runtime::start(cfg).unwrap();
    let remote: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let add = |id: &str| {
        let spec = CallSpec::new(config(id, remote), Box::new(jyqq_media::runtime::DiscardSender));
        rt.add_call(spec).unwrap()
    };
    let a1 = add("same-id");
    let a2 = add("same-id");
    assert_eq!(a1.shard(), a2.shard());
    assert_ne!(a1, a2);
    let shards: std::collections::HashSet<usize> = (0..30).map(|i| add(&format!("c{i}")).shard()).collect();
    assert_eq!(shards.len(), 3, "30 ids hash onto every shard");
    let stats = rt.shutdown();
    assert_eq!(stats.shards.len(), 3);
    assert_eq!(stats.shards.iter().map(|s| s.calls_added).sum::<u64>(), 32);
}
