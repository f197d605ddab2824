//! The recording pipeline against the bare Opus encode, in the same run.
//!
//! - `engine`: two G.711 legs of the embedded default call (18 s) → ingress → timeline
//!   (reorder window, decode, gap fill) → stereo Opus at 8 kHz → Ogg pages.
//! - `engine_with_analysis`: the same plus the call analysis bank (VAD, DTMF, metering…).
//! - `bare_opus`: libopus encoding the same two channels (already decoded) at the same settings
//!   (multistream, one 16 kbit/s mono stream per party).
//!
//! Both report the time for the whole call; µs per call-second = time / call seconds.
//! The engine's overhead is `engine / bare_opus − 1` (target ≤ 15 %).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use jyqq_media::capture::read_capture;
use jyqq_media::codec::{ulaw_decode, OpusMultistreamConfig, OpusMultistreamEncoder};
use jyqq_media::replay::{record_capture, ReplayOptions};
use jyqq_media::SampleRate;
use std::time::Duration;

#[path = "support/quick.rs"]
mod quick;

const DEFAULT_CALL: &[u8] = include_bytes!("../examples/data/default_call.pcap");

fn pipeline(c: &mut Criterion) {
    let capture = read_capture(DEFAULT_CALL).expect("embedded capture");
    let opts = {
        let mut o = ReplayOptions::default();
        o.skip_analysis = true;
        o
    };
    let with_analysis = ReplayOptions::default();
    let calls = record_capture(&capture, &opts).expect("record");
    let call = &calls[0];
    let secs = call.duration.as_secs_f64();
    // The same audio as stereo PCM, decoded once outside the timing: each leg's payloads in
    // arrival order (12-byte headers: the default call has no CSRC, extension or padding).
    let legs: Vec<Vec<i16>> = [40000u16, 50000]
        .iter()
        .map(|&port| {
            capture
                .datagrams
                .iter()
                .filter(|d| d.src.port() == port && d.payload.len() > 12)
                .flat_map(|d| d.payload[12..].iter().map(|&b| ulaw_decode(b)))
                .collect()
        })
        .collect();
    let n = legs[0].len().min(legs[1].len());
    let pcm: Vec<i16> = (0..n).flat_map(|i| [legs[0][i], legs[1][i]]).collect();
    eprintln!("call length {secs:.2} s, {} stereo frames", pcm.len() / 320);

    let mut g = c.benchmark_group("record_pipeline");
    quick::tune(&mut g, 20, Duration::from_secs(10));
    g.bench_function("engine", |b| {
        b.iter(|| {
            let calls = record_capture(black_box(&capture), &opts).expect("record");
            black_box(calls[0].ogg.len())
        })
    });
    g.bench_function("engine_with_analysis", |b| {
        b.iter(|| {
            let calls = record_capture(black_box(&capture), &with_analysis).expect("record");
            black_box(calls[0].ogg.len())
        })
    });
    g.bench_function("bare_opus", |b| {
        b.iter(|| {
            // The recorder's settings: one mono stream per party at 8 kHz, 16 kbit/s each.
            let mut cfg = OpusMultistreamConfig::new(SampleRate::HZ_8000, 2);
            cfg.bitrate_per_stream = 16_000;
            cfg.complexity = 5;
            let mut enc = OpusMultistreamEncoder::new(cfg).expect("encoder");
            let mut out = [0u8; 1500];
            let mut bytes = 0;
            for frame in pcm.chunks_exact(320) {
                bytes += enc.encode(black_box(frame), &mut out).expect("encode");
            }
            black_box(bytes)
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = quick::criterion();
    targets = pipeline
}
criterion_main!(benches);
