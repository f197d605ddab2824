//! Tamper evidence against the recording's Opus encode, in the same run (issue 7).
//!
//! All on the embedded default call (18.8 s, two G.711 legs → 8 kHz stereo Opus, 1 s pages):
//! - `opus_encode` (baseline): libopus encoding the call's stereo PCM at the recorder's
//!   settings (24 kbit/s, complexity 5, 20 ms frames) — the recording's encode cost;
//! - `hash_chain`: SHA-256 of every page and the chain step, as the recorder does per page;
//! - `hash_chain_manifest_sign`: the same plus the evidence log, the manifest JSON and its
//!   Ed25519 signature — everything the evidence adds to a call;
//! - `pcap_sidecar`: the lossless option, every datagram framed and chained.
//!
//! A summary line gives each as µs per call-second and as a fraction of `opus_encode`
//! (target for hashing + signing: ≤ 3 %).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use jyqq_media::capture::read_capture;
use jyqq_media::codec::{ulaw_decode, OpusEncoder, OpusEncoderConfig};
use jyqq_media::record::keys::SigningKey;
use jyqq_media::record::manifest::SignedManifest;
use jyqq_media::record::{EvidenceLog, HashChain, OggPage, PcapSidecar, RecordingMetadata};
use jyqq_media::replay::{record_capture, ReplayOptions};
use jyqq_media::{HostTime, SampleRate};
use std::time::{Duration, Instant};

const DEFAULT_CALL: &[u8] = include_bytes!("../examples/data/default_call.pcap");

struct Input {
    secs: f64,
    pcm: Vec<i16>,
    pages: Vec<Vec<u8>>,
    capture: jyqq_media::capture::Capture,
    key: SigningKey,
}

fn input() -> Input {
    let capture = read_capture(DEFAULT_CALL).expect("embedded capture");
    let call = record_capture(&capture, &ReplayOptions::default()).expect("record").remove(0);
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
    let pcm = (0..n).flat_map(|i| [legs[0][i], legs[1][i]]).collect();
    let mut pages = Vec::new();
    let mut rest = call.ogg.as_slice();
    while !rest.is_empty() {
        let (p, len) = OggPage::parse(rest).expect("recorder output");
        pages.push(p.as_bytes().to_vec());
        rest = &rest[len..];
    }
    Input { secs: call.duration.as_secs_f64(), pcm, pages, capture, key: SigningKey::from_bytes(&[9; 32]) }
}

fn opus_encode(i: &Input) -> usize {
    let mut cfg = OpusEncoderConfig::default();
    cfg.sample_rate = SampleRate::HZ_8000;
    cfg.channels = 2;
    cfg.bitrate_bps = Some(24_000);
    cfg.complexity = 5;
    let mut enc = OpusEncoder::new(cfg).expect("encoder");
    let mut out = [0u8; 1500];
    i.pcm.chunks_exact(320).map(|f| enc.encode(black_box(f), &mut out).expect("encode")).sum()
}

fn hash_chain(i: &Input) -> [u8; 32] {
    let mut c = HashChain::default();
    for p in &i.pages {
        c.push(black_box(p));
    }
    c.head()
}

fn hash_chain_manifest_sign(i: &Input) -> usize {
    let mut log = EvidenceLog::new();
    for p in &i.pages {
        log.add_page_bytes(0, black_box(p)).expect("log");
    }
    let meta = RecordingMetadata::new("bench", "1001", "1002", "2026-03-01T08:00:00Z", "record");
    let m = log.to_manifest(&meta, "2026-03-01T08:00:19Z", "call-1.opus", SampleRate::HZ_8000);
    SignedManifest::sign(&m, &i.key).len()
}

fn pcap_sidecar(i: &Input) -> [u8; 32] {
    let mut s = PcapSidecar::new(HostTime::ZERO, 0);
    for d in &i.capture.datagrams {
        let _ = black_box(s.record(d.time, d.src, d.dst, &d.payload).map(|r| r.len()));
    }
    s.chain_head()
}

fn bench(c: &mut Criterion) {
    let i = input();
    eprintln!("call {:.2} s, {} pages, {} datagrams", i.secs, i.pages.len(), i.capture.datagrams.len());
    let mut g = c.benchmark_group("evidence");
    g.sample_size(20);
    g.bench_function("opus_encode", |b| b.iter(|| black_box(opus_encode(&i))));
    g.bench_function("hash_chain", |b| b.iter(|| black_box(hash_chain(&i))));
    g.bench_function("hash_chain_manifest_sign", |b| b.iter(|| black_box(hash_chain_manifest_sign(&i))));
    g.bench_function("pcap_sidecar", |b| b.iter(|| black_box(pcap_sidecar(&i))));
    g.finish();

    // Summary: the same four, timed back to back, as µs per call-second and as a fraction
    // of the encode.
    let time = |f: &dyn Fn()| {
        let (mut n, t) = (0u32, Instant::now());
        while t.elapsed() < Duration::from_millis(700) {
            f();
            n += 1;
        }
        t.elapsed().as_secs_f64() / f64::from(n)
    };
    let enc = time(&|| {
        black_box(opus_encode(&i));
    });
    let per_s = |t: f64| t * 1e6 / i.secs;
    eprintln!("summary: opus_encode {:.1} µs per call-second (baseline)", per_s(enc));
    for (name, t) in [
        (
            "hash_chain",
            time(&|| {
                black_box(hash_chain(&i));
            }),
        ),
        (
            "hash_chain_manifest_sign",
            time(&|| {
                black_box(hash_chain_manifest_sign(&i));
            }),
        ),
        (
            "pcap_sidecar",
            time(&|| {
                black_box(pcap_sidecar(&i));
            }),
        ),
    ] {
        eprintln!("summary: {name} {:.2} µs per call-second = {:.2} % of opus_encode", per_s(t), 100.0 * t / enc);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
