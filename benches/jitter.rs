//! Cost of the jitter buffer: `AudioReceiver` playing 10 s of a G.711 call impaired by
//! the `loss10` profile (10 % random loss) of the network simulator, beside the bare
//! G.711 decode of the same packets, in the same run; and the same for a 16 kHz Opus leg,
//! with libopus' deep PLC (the default) and with the classic PLC, beside the bare Opus
//! decode of the packets that arrived.
//!
//! Each iteration is one 10-second call leg: criterion's throughput counts call-seconds
//! (elements), so `µs per call-second = 1e6 / (elements per second)`, or the iteration
//! time divided by 10. The receiver figure includes decoding (it decodes itself); the
//! difference to the bare decode is what buffering, concealment and time-stretching add.
//!
//! `cargo bench --bench jitter -- --warm-up-time 1 --measurement-time 3`

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use jyqq_media::codec::{decoder_for, ulaw_encode, CodecKind, OpusDecoder, OpusEncoder, OpusEncoderConfig};
use jyqq_media::jitter::{AudioReceiver, ReceiverConfig};
use jyqq_media::rtp::{ExtTimestamp, MediaPacket, PayloadMap, PayloadType, RtpHeader, SeqNo, Ssrc, StreamEpoch};
use jyqq_media::testing::netsim::{profile, NetSim};
use jyqq_media::{HostTime, SampleRate};
use std::hint::black_box;
use std::time::Duration;

#[path = "support/quick.rs"]
mod quick;

/// Seconds of call per iteration.
const CALL_SECONDS: u64 = 10;

/// A speech-like test signal: two harmonics with a 4 Hz syllable envelope and pauses.
fn sample(n: u64) -> i16 {
    let t = n as f64 / 8000.0;
    let env = (0.5 + 0.5 * (2.0 * std::f64::consts::PI * 4.0 * t).sin()).powi(2);
    let on = if (n / 8000) % 3 == 2 { 0.0 } else { 1.0 };
    let s = (2.0 * std::f64::consts::PI * 140.0 * t).sin() + 0.5 * (2.0 * std::f64::consts::PI * 420.0 * t).sin();
    (6000.0 * env * on * s) as i16
}

/// The packets of a `CALL_SECONDS` leg as they arrive through the `loss10` profile: PCMU
/// (PT 0), or Opus (PT 111, 16 kHz input, 24 kbit/s, in-band FEC for 10 % loss).
fn impaired_call(opus: bool) -> Vec<MediaPacket> {
    let mut sim = NetSim::new(profile("loss10").expect("named profile"), 1);
    let frames = CALL_SECONDS * 50;
    let mut enc = OpusEncoderConfig::new(SampleRate::HZ_16000, 1);
    enc.bitrate_bps = Some(24_000);
    enc.inband_fec = true;
    enc.packet_loss_perc = 10;
    let mut enc = OpusEncoder::new(enc).expect("valid Opus config");
    let mut buf = [0u8; 1500];
    for k in 0..frames {
        let (pt, ts, payload): (u8, u64, Vec<u8>) = if opus {
            let pcm: Vec<i16> = (0..320).map(|i| sample((320 * k + i) / 2)).collect();
            let n = enc.encode(&pcm, &mut buf).expect("20 ms frame");
            (111, 960 * k, buf[..n].to_vec())
        } else {
            (0, 160 * k, (0..160).map(|i| ulaw_encode(sample(160 * k + i))).collect())
        };
        let mut d = Vec::new();
        RtpHeader::new(PayloadType(pt), k as u16, ts as u32, Ssrc(1)).write(&payload, &mut d).expect("valid");
        sim.send(Duration::from_millis(20 * k), &d);
    }
    let (deliveries, _) = sim.finish();
    deliveries
        .into_iter()
        .map(|d| MediaPacket {
            arrival: d.arrival,
            ssrc: Ssrc(1),
            payload_type: PayloadType(d.datagram[1] & 0x7F),
            marker: false,
            seq: SeqNo(u64::from(u16::from_be_bytes([d.datagram[2], d.datagram[3]]))),
            timestamp: ExtTimestamp(u64::from(u32::from_be_bytes([
                d.datagram[4],
                d.datagram[5],
                d.datagram[6],
                d.datagram[7],
            ]))),
            epoch: StreamEpoch(0),
            payload: Bytes::copy_from_slice(&d.datagram[12..]),
        })
        .collect()
}

/// The host loop: insert what arrived, pull one 20 ms frame, for the whole call.
fn play(mut rx: AudioReceiver, packets: Vec<MediaPacket>) -> u64 {
    let mut pcm = vec![0i16; rx.frame_samples()];
    let mut it = packets.into_iter().peekable();
    let mut sum = 0u64;
    for step in 0..(CALL_SECONDS * 50 + 10) {
        let now = HostTime::from_millis(20 * step);
        while let Some(p) = it.next_if(|p| p.arrival <= now) {
            rx.insert(p);
        }
        let _ = rx.pull(now, &mut pcm).expect("frame-sized buffer");
        sum = sum.wrapping_add(pcm[0] as u64);
    }
    sum
}

fn bench(c: &mut Criterion) {
    let packets = impaired_call(false);
    let mut group = c.benchmark_group("jitter_loss10_g711");
    group.throughput(Throughput::Elements(CALL_SECONDS));
    group.bench_function("bare_g711_decode", |b| {
        let mut dec = decoder_for(CodecKind::Pcmu, 1, SampleRate::HZ_8000).expect("PCMU decoder");
        let mut out = vec![0i16; 160];
        b.iter(|| {
            for p in &packets {
                let n = dec.decode(black_box(&p.payload), &mut out).expect("160 codes");
                black_box(&out[..n]);
            }
        })
    });
    for rate in [8000u32, 16_000] {
        group.bench_function(format!("receiver_{}k", rate / 1000), |b| {
            b.iter_batched(
                || {
                    let rx =
                        AudioReceiver::new(ReceiverConfig::new(PayloadMap::static_defaults(), SampleRate::new(rate)))
                            .expect("valid config");
                    (rx, packets.clone())
                },
                |(rx, p)| black_box(play(rx, p)),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();

    let packets = impaired_call(true);
    let mut payloads = PayloadMap::static_defaults();
    let _ = payloads.insert(jyqq_media::rtp::PayloadFormat::new(
        PayloadType(111),
        "opus",
        jyqq_media::ClockRate::HZ_48000,
        2,
    ));
    let mut group = c.benchmark_group("jitter_loss10_opus16k");
    group.throughput(Throughput::Elements(CALL_SECONDS));
    group.bench_function("bare_opus_decode", |b| {
        let mut out = vec![0i16; 5760];
        b.iter_batched(
            || OpusDecoder::new(SampleRate::HZ_16000, 1).expect("decoder"),
            |mut dec| {
                for p in &packets {
                    let n = dec.decode(black_box(&p.payload), &mut out).expect("our encoder's packets");
                    black_box(&out[..n]);
                }
            },
            BatchSize::LargeInput,
        )
    });
    for (name, complexity) in [("receiver_deep_plc", OpusDecoder::DEFAULT_COMPLEXITY), ("receiver_classic_plc", 0)] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let cfg =
                        ReceiverConfig::new(payloads.clone(), SampleRate::HZ_16000).with_opus_complexity(complexity);
                    (AudioReceiver::new(cfg).expect("valid config"), packets.clone())
                },
                |(rx, p)| black_box(play(rx, p)),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = quick::criterion();
    targets = bench
}
criterion_main!(benches);
