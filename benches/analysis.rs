//! The analysis bank on both legs of a call, beside the whole replay of the same call.
//!
//! - `bank`: a `CallAnalyzer` fed every packet of both legs of the embedded default call
//!   (18.8 s, G.711) and both legs' audio (decoded once outside the timing), in 20 ms frames:
//!   VAD, in-band DTMF, three-way detectors, noise floor, alarms, quality.
//! - `replay_total`: `record_capture` of the same call: ingress, recorder timeline, stereo Opus
//!   encode, Ogg, and the analysis bank with its own decoding (the session's total today).
//!
//! µs per call-second = time / call seconds (printed at start); the bank's share of the
//! total = bank / replay_total.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use jyqq_media::analysis::{AnalysisConfig, CallAnalyzer, EndCause};
use jyqq_media::capture::read_capture;
use jyqq_media::codec::ulaw_decode;
use jyqq_media::replay::{record_capture, ReplayOptions};
use jyqq_media::rtp::{Ingress, IngressConfig, MediaPacket, PayloadMap};
use jyqq_media::{HostTime, Leg, SampleRate};
use std::time::Duration;

const DEFAULT_CALL: &[u8] = include_bytes!("../examples/data/default_call.pcap");

fn bench(c: &mut Criterion) {
    let capture = read_capture(DEFAULT_CALL).expect("embedded capture");
    let opts = ReplayOptions::default();
    let calls = record_capture(&capture, &opts).expect("record");
    let secs = calls[0].duration.as_secs_f64();
    let start = capture.datagrams[0].time;
    // Per leg: accepted packets and their decoded audio (the default call is PCMU, 20 ms).
    let mut legs: Vec<Vec<(MediaPacket, Vec<i16>)>> = Vec::new();
    for port in [40000u16, 50000] {
        let mut ingress = Ingress::new(IngressConfig::new(PayloadMap::static_defaults()));
        let v = capture
            .datagrams
            .iter()
            .filter(|d| d.src.port() == port)
            .filter_map(|d| ingress.receive(d.time, d.src, &d.payload).ok())
            .map(|p| {
                let pcm = p.payload.iter().map(|&b| ulaw_decode(b)).collect();
                (p, pcm)
            })
            .collect();
        legs.push(v);
    }
    eprintln!("call length {secs:.2} s, {} + {} packets", legs[0].len(), legs[1].len());

    let mut g = c.benchmark_group("analysis");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    g.bench_function("bank", |b| {
        b.iter(|| {
            let mut a = CallAnalyzer::new(AnalysisConfig::default(), start);
            a.set_payloads(Leg::A, &PayloadMap::static_defaults());
            a.set_payloads(Leg::B, &PayloadMap::static_defaults());
            a.answer(start);
            let mut n = 0usize;
            for (li, leg) in [Leg::A, Leg::B].into_iter().enumerate() {
                let first = legs[li].first().map_or(0, |(p, _)| p.timestamp.0);
                for (p, pcm) in &legs[li] {
                    a.handle_packet(leg, p);
                    let at = start.saturating_add(SampleRate::HZ_8000.duration_of(p.timestamp.0 - first));
                    a.handle_pcm(leg, at, pcm, SampleRate::HZ_8000).expect("8 kHz");
                    while let Some(e) = a.poll_event() {
                        n += black_box(&e).at.as_nanos() as usize & 1;
                    }
                }
            }
            a.end(start.saturating_add(Duration::from_secs_f64(secs)), EndCause::HangupA);
            black_box((n, a.summary(HostTime(u64::MAX)).legs[0].talk_ms))
        })
    });
    g.bench_function("replay_total", |b| {
        b.iter(|| {
            let calls = record_capture(black_box(&capture), &opts).expect("record");
            black_box(calls[0].ogg.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
