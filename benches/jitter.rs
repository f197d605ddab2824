//! Cost of the jitter buffer: `AudioReceiver` playing 10 s of a G.711 call impaired by
//! the `loss10` profile (10 % random loss) of the network simulator, beside the bare
//! G.711 decode of the same packets, in the same run.
//!
//! Each iteration is one 10-second call leg: criterion's throughput counts call-seconds
//! (elements), so `µs per call-second = 1e6 / (elements per second)`, or the iteration
//! time divided by 10. The receiver figure includes decoding (it decodes itself); the
//! difference to the bare decode is what buffering, concealment and time-stretching add.
//!
//! `cargo bench --bench jitter -- --warm-up-time 1 --measurement-time 3`

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use jyqq_media::codec::{decoder_for, ulaw_encode, CodecKind};
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

/// The packets of a `CALL_SECONDS` PCMU leg as they arrive through the `loss10` profile.
fn impaired_call() -> Vec<MediaPacket> {
    let mut sim = NetSim::new(profile("loss10").expect("named profile"), 1);
    let frames = CALL_SECONDS * 50;
    for k in 0..frames {
        let payload: Vec<u8> = (0..160).map(|i| ulaw_encode(sample(160 * k + i))).collect();
        let mut d = Vec::new();
        RtpHeader::new(PayloadType(0), k as u16, (160 * k) as u32, Ssrc(1)).write(&payload, &mut d).expect("valid");
        sim.send(Duration::from_millis(20 * k), &d);
    }
    let (deliveries, _) = sim.finish();
    deliveries
        .into_iter()
        .map(|d| MediaPacket {
            arrival: d.arrival,
            ssrc: Ssrc(1),
            payload_type: PayloadType(0),
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
    let packets = impaired_call();
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
}

criterion_group! {
    name = benches;
    config = quick::criterion();
    targets = bench
}
criterion_main!(benches);
