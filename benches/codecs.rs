//! Codec costs, all in the same run so they compare:
//!
//! - `encode/<codec>` and `decode/<codec>`: one 20 ms frame of a voice-like signal (G.711 µ/A,
//!   G.722, L16/16000, Opus at 8, 16 and 48 kHz mono, VoIP, complexity 5; G.729 with `--features g729`).
//!   µs per call-second = time per frame × 50.
//! - `resample/8k_48k`, `resample/48k_8k`: one 20 ms frame through the streaming resampler.
//! - `transcode/pcmu_opus`, `transcode/opus_pcmu`: one second of audio (50 payloads) through a
//!   `Transcoder`; the time is µs per call-second directly.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use jyqq_media::codec::{
    CodecOptions, CodecRegistry, Decoder, Encoder, OpusDecoder, OpusEncoder, OpusEncoderConfig, Resampler, Transcoder,
};
use jyqq_media::rtp::{PayloadFormat, PayloadType};
use jyqq_media::{ClockRate, SampleRate};
use std::f64::consts::PI;

#[path = "support/quick.rs"]
mod quick;

/// `n` samples of a 150 Hz buzz with 10 harmonics under a 4 Hz syllable envelope.
fn voiced(rate: u32, n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let buzz: f64 = (1..=10).map(|h| (2.0 * PI * 150.0 * h as f64 * t).sin() / h as f64).sum();
            (5000.0 * (0.4 + 0.3 * (1.0 - (2.0 * PI * 4.0 * t).cos())) * buzz) as i16
        })
        .collect()
}

fn fmt(pt: u8, name: &str, hz: u32, ch: u8) -> PayloadFormat {
    PayloadFormat::new(PayloadType(pt), name, ClockRate::new(hz), ch)
}

/// Encodes and decodes 50 frames with `enc` / `dec`, benchmarking one frame of each in the loop.
fn bench_codec(c: &mut Criterion, name: &str, rate: u32, mut enc: Box<dyn Encoder>, mut dec: Box<dyn Decoder>) {
    let frame = rate as usize / 50;
    let pcm = voiced(rate, frame * 50);
    let mut payloads = Vec::new();
    let mut buf = [0u8; 1500];
    for f in pcm.chunks_exact(frame) {
        let n = enc.encode(f, &mut buf).expect("encode");
        payloads.push(buf[..n].to_vec());
    }
    let mut g = c.benchmark_group("codec");
    let mut i = 0;
    g.bench_function(format!("encode/{name}"), |b| {
        b.iter(|| {
            i = (i + 1) % 50;
            black_box(enc.encode(black_box(&pcm[i * frame..(i + 1) * frame]), &mut buf).expect("encode"))
        })
    });
    let mut out = vec![0i16; 5760];
    let mut j = 0;
    g.bench_function(format!("decode/{name}"), |b| {
        b.iter(|| {
            j = (j + 1) % 50;
            black_box(dec.decode(black_box(&payloads[j]), &mut out).expect("decode"))
        })
    });
    g.finish();
}

fn codecs(c: &mut Criterion) {
    let reg = CodecRegistry::with_builtin();
    let none = CodecOptions::default();
    for (name, f) in [("pcmu", fmt(0, "PCMU", 8000, 1)), ("pcma", fmt(8, "PCMA", 8000, 1))] {
        let (e, d) = (reg.encoder(&f, &none).expect("enc"), reg.decoder(&f, &none).expect("dec"));
        bench_codec(c, name, 8000, e, d);
    }
    let g722 = fmt(9, "G722", 8000, 1);
    bench_codec(c, "g722", 16_000, reg.encoder(&g722, &none).expect("enc"), reg.decoder(&g722, &none).expect("dec"));
    let l16 = fmt(97, "L16", 16_000, 1);
    bench_codec(c, "l16_16k", 16_000, reg.encoder(&l16, &none).expect("enc"), reg.decoder(&l16, &none).expect("dec"));
    for hz in [8000u32, 16_000, 48_000] {
        let rate = SampleRate::new(hz);
        let enc = OpusEncoder::new(OpusEncoderConfig::new(rate, 1)).expect("opus enc");
        let dec = OpusDecoder::new(rate, 1).expect("opus dec");
        bench_codec(c, &format!("opus_{}k", hz / 1000), hz, Box::new(enc), Box::new(dec));
    }
    #[cfg(feature = "g729")]
    {
        let mut g729 = fmt(18, "G729", 8000, 1);
        g729.fmtp = Some("annexb=no".into());
        let e = jyqq_media::codec::G729Encoder::new(false).expect("g729 enc");
        let d = jyqq_media::codec::G729Decoder::new().expect("g729 dec");
        let _ = g729;
        bench_codec(c, "g729", 8000, Box::new(e), Box::new(d));
    }
}

fn resample(c: &mut Criterion) {
    let mut g = c.benchmark_group("resample");
    for (name, from, to) in [("8k_48k", 8000u32, 48_000u32), ("48k_8k", 48_000, 8000), ("8k_16k", 8000, 16_000)] {
        let mut r = Resampler::new(SampleRate::new(from), SampleRate::new(to), 1).expect("resampler");
        let frame = from as usize / 50;
        let pcm = voiced(from, frame * 50);
        let mut out = vec![0i16; 4 * to as usize / 50];
        let mut i = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % 50;
                black_box(r.process(black_box(&pcm[i * frame..(i + 1) * frame]), &mut out).expect("room"))
            })
        });
    }
    g.finish();
}

fn transcode(c: &mut Criterion) {
    let reg = CodecRegistry::with_builtin();
    let (pcmu, opus) = (fmt(0, "PCMU", 8000, 1), fmt(111, "opus", 48_000, 2));
    let second: Vec<Vec<u8>> = voiced(8000, 8000)
        .chunks_exact(160)
        .map(|c| c.iter().map(|&s| jyqq_media::codec::ulaw_encode(s)).collect())
        .collect();
    let mut to_opus = Transcoder::between(&reg, &pcmu, &opus).expect("pcmu->opus");
    let mut buf = [0u8; 4000];
    let mut opus_second = Vec::new();
    for p in &second {
        to_opus.push(p).expect("push");
        while let Some(n) = to_opus.pull(&mut buf).expect("pull") {
            opus_second.push(buf[..n].to_vec());
        }
    }
    let mut g = c.benchmark_group("transcode");
    g.bench_function("pcmu_opus_per_call_second", |b| {
        b.iter(|| {
            let mut bytes = 0;
            for p in &second {
                to_opus.push(black_box(p)).expect("push");
                while let Some(n) = to_opus.pull(&mut buf).expect("pull") {
                    bytes += n;
                }
            }
            black_box(bytes)
        })
    });
    let mut to_pcmu = Transcoder::between(&reg, &opus, &pcmu).expect("opus->pcmu");
    g.bench_function("opus_pcmu_per_call_second", |b| {
        b.iter(|| {
            let mut bytes = 0;
            for p in &opus_second {
                to_pcmu.push(black_box(p)).expect("push");
                while let Some(n) = to_pcmu.pull(&mut buf).expect("pull") {
                    bytes += n;
                }
            }
            black_box(bytes)
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = quick::criterion();
    targets = codecs, resample, transcode
}
criterion_main!(benches);
