//! Calls per core: one runtime shard carrying many G.711↔G.711 calls with recording, on a
//! simulated clock in a tight loop (packets injected as the shard thread would hand them
//! over, outputs routed to a packet sender and a recording sink), beside the same calls as
//! bare `CallSession`s and the bare Opus encode of the recording, in the same run.
//!
//! Each iteration is `CALLS` calls × 10 s. µs per call-second = time / (CALLS × 10);
//! calls per core = 1e6 / (µs per call-second).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use crossbeam_channel::unbounded;
use jyqq_media::codec::{ulaw_encode, OpusEncoder, OpusEncoderConfig};
use jyqq_media::record::{RecordingPage, RecordingSink, SinkEvent};
use jyqq_media::rtp::{PayloadFormat, PayloadType, RtpHeader, Ssrc};
use jyqq_media::runtime::{CallId, CallSpec, PacketSender, Shard};
use jyqq_media::session::{CallSession, EndCause, LegConfig, Output, SessionConfig};
use jyqq_media::{ClockRate, HostTime, Leg, SampleRate};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

#[path = "support/quick.rs"]
mod quick;

const SECONDS: u32 = 10;
const CALLS: usize = 20;

fn speechlike(k: u32, i: u32, f: f64) -> i16 {
    let n = f64::from(k * 160 + i);
    let env = 0.5 + 0.5 * (n / 8000.0 * 3.0).sin();
    (env * 9000.0 * (2.0 * std::f64::consts::PI * f * n / 8000.0).sin()) as i16
}

fn pcmu_packets(f: f64, ssrc: u32) -> Vec<Vec<u8>> {
    (0..SECONDS * 50)
        .map(|k| {
            let payload: Vec<u8> = (0..160).map(|i| ulaw_encode(speechlike(k, i, f))).collect();
            let mut out = Vec::new();
            RtpHeader::new(PayloadType(0), k as u16, k * 160, Ssrc(ssrc)).write(&payload, &mut out).unwrap();
            out
        })
        .collect()
}

/// Counts bytes: stands in for a socket.
struct CountingSender(u64);
impl PacketSender for CountingSender {
    fn send(&mut self, _: CallId, _: Leg, packet: Vec<u8>) -> io::Result<()> {
        self.0 += packet.len() as u64;
        black_box(&packet);
        Ok(())
    }
}

/// Takes pages and drops them (the file sink's writer thread is off the shard anyway).
struct NullSink(bool);
impl RecordingSink for NullSink {
    fn write_page(&mut self, page: &RecordingPage) {
        black_box(page.data.len());
    }
    fn close(&mut self) {
        self.0 = true;
    }
    fn poll_event(&mut self) -> Option<SinkEvent> {
        std::mem::take(&mut self.0).then_some(SinkEvent::RecordingComplete { bytes: 0, pages: 0 })
    }
}

fn config(i: usize) -> SessionConfig {
    let pcmu = PayloadFormat::new(PayloadType(0), "PCMU", ClockRate::HZ_8000, 1);
    SessionConfig::new(format!("bench-{i}"), LegConfig::new(pcmu.clone(), Ssrc(1)), LegConfig::new(pcmu, Ssrc(2)))
}

fn addrs() -> (SocketAddr, SocketAddr) {
    ("192.0.2.1:4000".parse().unwrap(), "198.51.100.2:5000".parse().unwrap())
}

/// CALLS calls on one shard, 10 s each, on a simulated clock.
fn run_shard(a: &[Vec<u8>], b: &[Vec<u8>]) -> usize {
    let (ev_tx, ev_rx) = unbounded();
    let mut shard = Shard::new(0, ev_tx, HostTime::ZERO);
    let ids: Vec<CallId> = (0..CALLS)
        .map(|i| {
            let spec = CallSpec::new(config(i), Box::new(CountingSender(0))).with_sink(Box::new(NullSink(false)));
            shard.add_call(HostTime::ZERO, spec).unwrap()
        })
        .collect();
    let (aa, ba) = addrs();
    for k in 0..a.len() {
        let now = HostTime::from_millis(k as u64 * 20 + 5);
        for &id in &ids {
            shard.packet(now, id, Leg::A, aa, &a[k]);
            shard.packet(now, id, Leg::B, ba, &b[k]);
        }
        shard.run_due(HostTime::from_millis(k as u64 * 20 + 20));
    }
    let end = HostTime::from_millis(a.len() as u64 * 20 + 20);
    for &id in &ids {
        shard.disconnect(end, id, EndCause::HangupA, None).unwrap();
    }
    shard.run_due(end);
    assert_eq!(shard.calls(), 0);
    black_box(ev_rx.try_iter().count())
}

/// The same calls as bare sessions: the host loop without the runtime.
fn run_bare(a: &[Vec<u8>], b: &[Vec<u8>]) -> usize {
    let mut sessions: Vec<CallSession> =
        (0..CALLS).map(|i| CallSession::new(config(i), HostTime::ZERO).unwrap()).collect();
    let (aa, ba) = addrs();
    let mut bytes = 0;
    let mut drain = |s: &mut CallSession, now| {
        while let Some(o) = s.poll_output(now) {
            match o {
                Output::Transmit { packet, .. } => bytes += packet.len(),
                Output::Recording(p) => bytes += p.data.len(),
                Output::Timeout(_) => break,
                _ => {}
            }
        }
    };
    for s in &mut sessions {
        s.answer(HostTime::ZERO);
        drain(s, HostTime::ZERO);
    }
    for k in 0..a.len() {
        let now = HostTime::from_millis(k as u64 * 20 + 5);
        let tick = HostTime::from_millis(k as u64 * 20 + 20);
        for s in &mut sessions {
            s.handle_rtp(now, Leg::A, aa, &a[k]).unwrap();
            drain(s, now);
            s.handle_rtp(now, Leg::B, ba, &b[k]).unwrap();
            drain(s, now);
            s.handle_timeout(tick).unwrap();
            drain(s, tick);
        }
    }
    black_box(bytes)
}

fn runtime(c: &mut Criterion) {
    let (a, b) = (pcmu_packets(300.0, 11), pcmu_packets(450.0, 22));
    let stereo: Vec<i16> =
        (0..SECONDS * 50 * 160).flat_map(|n| [speechlike(0, n, 300.0), speechlike(0, n, 450.0)]).collect();
    let mut g = c.benchmark_group("runtime_20calls_10s");
    quick::tune(&mut g, 10, Duration::from_secs(8));
    g.bench_function("shard_g711_g711_recording", |bch| bch.iter(|| run_shard(&a, &b)));
    g.bench_function("bare_sessions_g711_g711_recording", |bch| bch.iter(|| run_bare(&a, &b)));
    // The unavoidable cost: the recordings' stereo Opus encode at 8 kHz, 20 × 10 s.
    g.bench_function("bare_opus_stereo_8k_encode", |bch| {
        bch.iter(|| {
            let mut n = 0;
            for _ in 0..CALLS {
                let mut cfg = OpusEncoderConfig::new(SampleRate::HZ_8000, 2);
                cfg.bitrate_bps = Some(24_000);
                let mut enc = OpusEncoder::new(cfg).unwrap();
                let mut out = [0u8; 1500];
                for f in stereo.chunks_exact(320) {
                    n += enc.encode(f, &mut out).unwrap();
                }
            }
            black_box(n)
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = quick::criterion();
    targets = runtime
}
criterion_main!(benches);
