//! A whole call through `CallSession`: G.711↔G.711 and G.711↔Opus, each with one listen tap
//! and the stereo recording, beside the bare Opus encode of the recording in the same run.
//! Same-codec calls run twice: with passthrough (the default: packets forwarded untouched,
//! still decoded for the tap and analysis) and transcoded (`passthrough = false`: decode,
//! mix and encode every frame), plus Opus↔Opus both ways.
//!
//! Each iteration is 10 s of call (500 frames per leg). µs per call-second = time / 10.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use jyqq_media::codec::{ulaw_encode, OpusEncoder, OpusEncoderConfig, OpusMultistreamConfig, OpusMultistreamEncoder};
use jyqq_media::mix::{Direction, Listen, ListenLayout, TapKind};
use jyqq_media::rtp::{PayloadFormat, PayloadType, RtpHeader, Ssrc};
use jyqq_media::session::{CallSession, LegConfig, Output, SessionConfig};
use jyqq_media::{ClockRate, HostTime, Leg, SampleRate};
use std::net::SocketAddr;
use std::time::Duration;

#[path = "support/quick.rs"]
mod quick;

const SECONDS: u32 = 10;

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

fn opus_packets(f: f64, ssrc: u32) -> Vec<Vec<u8>> {
    let mut cfg = OpusEncoderConfig::new(SampleRate::HZ_48000, 1);
    cfg.bitrate_bps = Some(24_000);
    let mut enc = OpusEncoder::new(cfg).unwrap();
    (0..SECONDS * 50)
        .map(|k| {
            let pcm: Vec<i16> = (0..960).map(|i| speechlike(k, i / 6, f)).collect();
            let mut buf = [0u8; 1500];
            let n = enc.encode(&pcm, &mut buf).unwrap();
            let mut out = Vec::new();
            RtpHeader::new(PayloadType(111), k as u16, k * 960, Ssrc(ssrc)).write(&buf[..n], &mut out).unwrap();
            out
        })
        .collect()
}

fn run_call(cfg: &SessionConfig, a: &[Vec<u8>], b: &[Vec<u8>]) -> usize {
    let (aa, ba): (SocketAddr, SocketAddr) = ("192.0.2.1:4000".parse().unwrap(), "198.51.100.2:5000".parse().unwrap());
    let mut s = CallSession::new(cfg.clone(), HostTime::ZERO).unwrap();
    s.answer(HostTime::ZERO);
    s.add_tap(HostTime::ZERO, TapKind::Listen(Listen { layout: ListenLayout::Mono, direction: Direction::Both }))
        .unwrap();
    let mut bytes = 0;
    for k in 0..a.len() {
        let now = HostTime::from_millis(k as u64 * 20 + 5);
        s.handle_rtp(now, Leg::A, aa, &a[k]).unwrap();
        s.handle_rtp(now, Leg::B, ba, &b[k]).unwrap();
        s.handle_timeout(HostTime::from_millis(k as u64 * 20 + 20)).unwrap();
        while let Some(o) = s.poll_output(now) {
            match o {
                Output::Transmit { packet, .. } => bytes += packet.len(),
                Output::Recording(p) => bytes += p.data.len(),
                Output::Tap { pcm, .. } => bytes += pcm.len(),
                Output::Timeout(_) => break,
                _ => {}
            }
        }
    }
    black_box(bytes)
}

fn sessions(c: &mut Criterion) {
    let pcmu = PayloadFormat::new(PayloadType(0), "PCMU", ClockRate::HZ_8000, 1);
    let opus = PayloadFormat::new(PayloadType(111), "opus", ClockRate::HZ_48000, 2);
    let g711 =
        SessionConfig::new("bench", LegConfig::new(pcmu.clone(), Ssrc(1)), LegConfig::new(pcmu.clone(), Ssrc(2)));
    let mut g711_transcoded = g711.clone();
    g711_transcoded.passthrough = false;
    let mixed = SessionConfig::new("bench", LegConfig::new(pcmu, Ssrc(1)), LegConfig::new(opus.clone(), Ssrc(2)));
    let opus_opus = SessionConfig::new("bench", LegConfig::new(opus.clone(), Ssrc(1)), LegConfig::new(opus, Ssrc(2)));
    let mut opus_transcoded = opus_opus.clone();
    opus_transcoded.passthrough = false;
    let (a, b, bo) = (pcmu_packets(300.0, 11), pcmu_packets(450.0, 22), opus_packets(450.0, 22));
    let ao = opus_packets(300.0, 11);
    // The bare cost: the recording's stereo Opus encode at 8 kHz (G.711 call) of the same length.
    let stereo: Vec<i16> =
        (0..SECONDS * 50 * 160).flat_map(|n| [speechlike(0, n, 300.0), speechlike(0, n, 450.0)]).collect();

    let mut g = c.benchmark_group("session_10s");
    quick::tune(&mut g, 10, Duration::from_secs(8));
    g.bench_function("g711_g711_tap_recording", |bch| bch.iter(|| run_call(&g711, &a, &b)));
    g.bench_function("g711_g711_transcoded_tap_recording", |bch| bch.iter(|| run_call(&g711_transcoded, &a, &b)));
    g.bench_function("g711_opus_tap_recording", |bch| bch.iter(|| run_call(&mixed, &a, &bo)));
    g.bench_function("opus_opus_tap_recording", |bch| bch.iter(|| run_call(&opus_opus, &ao, &bo)));
    g.bench_function("opus_opus_transcoded_tap_recording", |bch| bch.iter(|| run_call(&opus_transcoded, &ao, &bo)));
    g.bench_function("bare_opus_recording_encode", |bch| {
        bch.iter(|| {
            let mut cfg = OpusMultistreamConfig::new(SampleRate::HZ_8000, 2);
            cfg.bitrate_per_stream = 16_000;
            let mut enc = OpusMultistreamEncoder::new(cfg).unwrap();
            let mut out = [0u8; 1500];
            let mut n = 0;
            for f in stereo.chunks_exact(320) {
                n += enc.encode(f, &mut out).unwrap();
            }
            black_box(n)
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = quick::criterion();
    targets = sessions
}
criterion_main!(benches);
