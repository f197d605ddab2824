//! `AudioReceiver` on the cases of ../shared/CASES.md: B03, B05, B07, B09, B11, B12 and
//! B14, with real codec payloads, on a simulated clock (one pull every 20 ms).

mod jitter_sim;

use bytes::Bytes;
use jitter_sim::*;
use jyqq_media::codec::{alaw_decode, ulaw_decode};
use jyqq_media::jitter::FrameKind;
use jyqq_media::rtp::{Ingress, IngressConfig, MediaPacket, PayloadType, RtpHeader, Ssrc, StreamEpoch};
use jyqq_media::HostTime;
use std::net::SocketAddr;
use std::time::Duration;

const PCMU: PayloadType = PayloadType(0);
const PCMA: PayloadType = PayloadType(8);

fn remote() -> SocketAddr {
    "192.0.2.10:40000".parse().expect("address literal")
}

/// RTP bytes of one packet.
fn rtp(pt: PayloadType, seq: u16, ts: u32, ssrc: u32, marker: bool, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    RtpHeader::new(pt, seq, ts, Ssrc(ssrc)).with_marker(marker).write(payload, &mut v).expect("valid header");
    v
}

/// Runs datagrams (arrival ms, bytes) through an ingress into packets for the receiver.
fn through_ingress(ingress: &mut Ingress, datagrams: &[(u64, Vec<u8>)]) -> Vec<MediaPacket> {
    datagrams.iter().filter_map(|(t, d)| ingress.receive(HostTime::from_millis(*t), remote(), d).ok()).collect()
}

/// Frames that played audio from packets (normal or time-stretched).
fn audio(frames: &[Frame]) -> Vec<&Frame> {
    frames
        .iter()
        .filter(|f| matches!(f.info.kind, FrameKind::Normal | FrameKind::Expanded | FrameKind::Accelerated))
        .collect()
}

// ------------------------------------------------------------------- B03

#[test]
fn b03_sequence_wrap_plays_every_frame_with_the_same_delay() {
    let datagrams: Vec<_> = (0..16u64)
        .map(|k| {
            let seq = 65_530u16.wrapping_add(k as u16);
            (20 * k, rtp(PCMU, seq, 1_000_000 + 160 * k as u32, 0xB03, false, &pcmu_frame(k, 400.0)))
        })
        .collect();
    let mut ingress = Ingress::new(IngressConfig::new(payloads()));
    let packets = through_ingress(&mut ingress, &datagrams);
    let ext: Vec<u64> = packets.iter().map(|p| p.seq.0).collect();
    assert_eq!(ext, (65_530..65_546).collect::<Vec<_>>(), "extended across the wrap, cycle 1 at seq 0");
    let mut rx = fixed(8000, 40);
    let frames = run(&mut rx, packets, 400);
    for k in 0..16u64 {
        let ts = 1_000_000 + 160 * k as u32;
        assert_eq!(played_at(&frames, ts), Some(40 + 20 * k), "frame {k} buffered 40 ms like the others");
    }
    let s = rx.stats().stream;
    assert_eq!((s.lost, s.reordered, s.late, s.received), (0, 0, 0, 16));
    assert_eq!(s.concealed, Duration::from_millis(60), "only the tail after the last packet");
}

// ------------------------------------------------------------------- B05

#[test]
fn b05ab_timestamp_wrap_is_continuous_audio_with_no_jitter() {
    let first = 4_294_966_816u32; // 2^32 − 480
    let datagrams: Vec<_> = (0..6u64)
        .map(|k| {
            (20 * k, rtp(PCMU, 7 + k as u16, first.wrapping_add(160 * k as u32), 0xB05, false, &pcmu_frame(k, 400.0)))
        })
        .collect();
    let mut ingress = Ingress::new(IngressConfig::new(payloads()));
    let packets = through_ingress(&mut ingress, &datagrams);
    let ext: Vec<u64> = packets.iter().map(|p| p.timestamp.0).collect();
    assert!(ext.windows(2).all(|w| w[1] == w[0] + 160), "extended timestamps monotonic: {ext:?}");
    let mut rx = fixed(8000, 40);
    let frames = run(&mut rx, packets, 200);
    let played: Vec<u32> = audio(&frames).iter().filter_map(|f| f.wire_ts()).collect();
    assert_eq!(played, vec![4_294_966_816, 4_294_966_976, 4_294_967_136, 0, 160, 320]);
    let times: Vec<u64> = audio(&frames).iter().map(|f| f.t).collect();
    assert_eq!(times, vec![40, 60, 80, 100, 120, 140], "120 ms of continuous audio");
    let s = rx.stats().stream;
    assert_eq!(s.interarrival_jitter, Duration::ZERO);
    assert_eq!((s.lost, s.late), (0, 0));
}

#[test]
fn b05c_reorder_is_not_a_wrap() {
    let datagrams = vec![
        (0, rtp(PCMU, 1, 1000, 0xB05C, false, &pcmu_frame(0, 400.0))),
        (20, rtp(PCMU, 3, 1320, 0xB05C, false, &pcmu_frame(2, 400.0))),
        (40, rtp(PCMU, 2, 1160, 0xB05C, false, &pcmu_frame(1, 400.0))),
    ];
    let mut ingress = Ingress::new(IngressConfig::new(payloads()));
    let packets = through_ingress(&mut ingress, &datagrams);
    let deltas: Vec<i64> = packets.windows(2).map(|w| w[1].timestamp.0 as i64 - w[0].timestamp.0 as i64).collect();
    assert_eq!(deltas, vec![320, -160]);
    let mut rx = fixed(8000, 40);
    let frames = run(&mut rx, packets, 140);
    let played: Vec<u32> = audio(&frames).iter().filter_map(|f| f.wire_ts()).collect();
    assert_eq!(played, vec![1000, 1160, 1320]);
    let s = rx.stats().stream;
    assert!(s.interarrival_jitter < Duration::from_millis(20), "{:?}", s.interarrival_jitter);
    assert_eq!((s.reordered, s.lost, s.late), (1, 0, 0));
}

// ------------------------------------------------------------------- B07

/// Source X (SSRC 0xA, seq 30000, ts 5 000 000) for 500 packets, then the source `y`
/// (its SSRC, seq base 40, ts base 123) from 60 ms after X's last packet.
fn b07_datagrams(y_ssrc: u32) -> Vec<(u64, Vec<u8>)> {
    let mut v: Vec<_> = (0..500u64)
        .map(|k| (20 * k, rtp(PCMU, 30_000 + k as u16, 5_000_000 + 160 * k as u32, 0xA, k == 0, &pcmu_frame(k, 400.0))))
        .collect();
    let last = 20 * 499;
    v.extend((0..100u64).map(|k| {
        (last + 60 + 20 * k, rtp(PCMU, 40 + k as u16, 123 + 160 * k as u32, y_ssrc, k == 0, &pcmu_frame(k, 600.0)))
    }));
    v
}

#[test]
fn b07_source_change_to_a_new_ssrc_continues_after_the_switch_gap() {
    let mut ingress = Ingress::new(IngressConfig::new(payloads()));
    let packets = through_ingress(&mut ingress, &b07_datagrams(0xB));
    assert_eq!(packets.len(), 600);
    assert_eq!(packets[500].epoch, StreamEpoch(1));
    let mut rx = fixed(8000, 40);
    let frames = run(&mut rx, packets, 12_200);
    let x_end = played_at(&frames, 5_000_000 + 160 * 499).expect("X's last frame") + 20;
    let y_start = played_at(&frames, 123).expect("Y's first frame");
    assert_eq!((x_end, y_start), (10_040, 10_080), "Y plays one target after its arrival (10 040 ms)");
    let between: Vec<FrameKind> =
        frames.iter().filter(|f| f.t >= x_end && f.t < y_start).map(|f| f.info.kind).collect();
    assert_eq!(between, vec![FrameKind::Concealed; 2], "the switch gap (60 ms between arrivals) is concealed");
    for k in 0..100u32 {
        assert_eq!(played_at(&frames, 123 + 160 * k), Some(y_start + 20 * u64::from(k)));
    }
    let s = rx.stats();
    assert_eq!((s.streams, s.ssrc, s.total.lost), (2, Some(Ssrc(0xB)), 0));
}

#[test]
fn b07_same_ssrc_restart_is_reanchored_after_two_packets() {
    let mut ingress = Ingress::new(IngressConfig::new(payloads()));
    let packets = through_ingress(&mut ingress, &b07_datagrams(0xA));
    // RFC 3550 A.1: the first far packet is a bad sequence number, the second re-syncs.
    assert_eq!(ingress.counters().bad_sequence, 1);
    assert_eq!(packets.len(), 599);
    assert_eq!((packets[500].epoch, packets[500].timestamp.wire()), (StreamEpoch(1), 283));
    let mut rx = fixed(8000, 40);
    let frames = run(&mut rx, packets, 12_200);
    let y_start = played_at(&frames, 283).expect("restarted numbering plays");
    assert_eq!(y_start, 10_100, "one target after the second new packet arrived (10 060 ms)");
    for k in 1..100u32 {
        assert_eq!(played_at(&frames, 123 + 160 * k), Some(y_start + 20 * u64::from(k - 1)));
    }
    let s = rx.stats();
    assert_eq!((s.streams, s.total.lost, s.total.late), (2, 0, 0));
}

// ------------------------------------------------------------------- B09

#[test]
fn b09_duplicate_after_the_buffer_drained_is_dropped() {
    let mut rx = fixed(8000, 40);
    let packets = vec![
        pkt(PCMU, 100, 16_000, 0, pcmu_frame(0, 400.0)),
        pkt(PCMU, 100, 16_000, 45, pcmu_frame(0, 400.0)),
        pkt(PCMU, 101, 16_160, 60, pcmu_frame(1, 400.0)),
        pkt(PCMU, 102, 16_320, 80, pcmu_frame(2, 400.0)),
    ];
    let frames = run(&mut rx, packets, 160);
    let played: Vec<u32> = audio(&frames).iter().filter_map(|f| f.wire_ts()).collect();
    assert_eq!(played.iter().filter(|&&t| t == 16_000).count(), 1, "frame 100 exactly once: {played:?}");
    assert!(played.contains(&16_160) && played.contains(&16_320));
    let s = rx.stats().stream;
    assert_eq!((s.duplicates, s.lost, s.received), (1, 0, 4));
}

// ------------------------------------------------------------------- B11

fn b11(marker: bool) {
    let mut packets: Vec<_> = (0..50u64).map(|k| pkt(PCMU, 1 + k, 160 * k, 20 * k, pcmu_frame(k, 400.0))).collect();
    for k in 0..50u64 {
        let mut p = pkt(PCMU, 51 + k, 24_000 + 160 * k, 3000 + 20 * k, pcmu_frame(k, 700.0));
        p.marker = marker && k == 0;
        packets.push(p);
    }
    let mut rx = fixed(8000, 40);
    let frames = run(&mut rx, packets, 4100);
    let end1 = played_at(&frames, 7840).expect("last frame of talkspurt 1") + 20;
    let start2 = played_at(&frames, 24_000).expect("first frame of talkspurt 2");
    assert_eq!(end1, 1040);
    assert_eq!(start2, 3040, "seq 51 (arrived 3000 ms) plays one target later");
    assert_eq!(start2 - end1, 2000, "the 2 s silence is kept");
    let gap: Vec<&Frame> = frames.iter().filter(|f| f.t >= end1 && f.t < start2).collect();
    let concealed = gap.iter().filter(|f| f.info.kind == FrameKind::Concealed).count();
    assert_eq!(concealed, 3, "talkspurt 1 fades within 60 ms");
    assert!(gap[3..].iter().all(|f| matches!(f.info.kind, FrameKind::ComfortNoise | FrameKind::Silence)));
    assert!(gap[3..].iter().all(|f| f.rms() < 50.0), "no stale audio in the gap");
    // After talkspurt 2 starts, only its frames, in order.
    let after: Vec<u32> = audio(&frames).iter().filter(|f| f.t >= start2).filter_map(|f| f.wire_ts()).collect();
    assert_eq!(after, (0..50u32).map(|k| 24_000 + 160 * k).collect::<Vec<_>>());
    let s = rx.stats().stream;
    assert_eq!((s.lost, s.late), (0, 0));
}

#[test]
fn b11_talkspurt_start_with_marker() {
    b11(true);
}

#[test]
fn b11_talkspurt_start_without_marker() {
    b11(false);
}

// ------------------------------------------------------------------- B12

/// B12 input with real Opus: speech 1..150 (a 500 Hz tone; its last five frames are
/// the silence a DTX encoder sends before it stops), DTX 151..158 every 400 ms,
/// resume 159..308 with M=1.
fn b12_packets() -> Vec<MediaPacket> {
    let mut enc = opus_encoder(20);
    let mut v = Vec::new();
    for k in 0..150u64 {
        let payload = if k < 145 {
            opus_frame(&mut enc, 960 * k, 20, 500.0)
        } else {
            let mut out = vec![0u8; 4000];
            let len = enc.encode(&[0i16; 960], &mut out).expect("encode");
            Bytes::copy_from_slice(&out[..len])
        };
        v.push(pkt(OPUS, 1 + k, 960 * k, 20 * k, payload));
    }
    for j in 0..8u64 {
        // TOC only: SILK NB 20 ms, no frame data (RFC 6716 §3.2: a DTX frame).
        v.push(pkt(OPUS, 151 + j, 144_000 + 19_200 * j, 3000 + 400 * j, Bytes::from_static(&[0x08])));
    }
    let resume = 144_000 + 19_200 * 8;
    for k in 0..150u64 {
        let mut p = pkt(OPUS, 159 + k, resume + 960 * k, 6200 + 20 * k, opus_frame(&mut enc, 960 * k, 20, 500.0));
        p.marker = k == 0;
        v.push(p);
    }
    v
}

#[test]
fn b12_dtx_gap_is_comfort_noise_not_loss_and_the_delay_returns_to_target() {
    let mut rx = fixed(48_000, 500);
    let frames = run(&mut rx, b12_packets(), 9800);
    let end = played_at(&frames, 143_040).expect("last speech frame") + 20;
    let resume = played_at(&frames, 297_600).expect("first resumed frame");
    assert_eq!(end, 3500);
    assert_eq!(resume, 6700, "resumed packet (arrived 6200 ms) plays 500 ms later");
    assert_eq!(resume - end, 3200, "the gap lasts 3.2 s");
    let speech_rms = audio(&frames).iter().filter(|f| f.t < 2900).map(|f| f.rms()).fold(0.0, f64::max);
    let gap: Vec<&Frame> = frames.iter().filter(|f| f.t >= end && f.t < resume).collect();
    assert!(gap.iter().all(|f| matches!(f.info.kind, FrameKind::ComfortNoise | FrameKind::Silence)));
    let loudest = gap.iter().map(|f| f.rms()).fold(0.0, f64::max);
    assert!(loudest < speech_rms / 100.0, "no speech replayed in the gap: {loudest} vs {speech_rms}");
    // (Once the last packets are in, the draining buffer is stretched: check before that.)
    for k in [0u32, 50, 100] {
        let arrival = 6200 + 20 * u64::from(k);
        assert_eq!(played_at(&frames, 297_600 + 960 * k), Some(arrival + 500), "packet {k} back at 500 ms");
    }
    let s = rx.stats().stream;
    assert_eq!((s.lost, s.late), (0, 0));
    assert!(s.concealed <= Duration::from_millis(120), "only the tail after the last packet: {:?}", s.concealed);
}

#[test]
fn b12_adaptive_target_is_not_inflated_by_the_dtx_spacing() {
    let mut rx = adaptive(16_000);
    let frames = run(&mut rx, b12_packets(), 9800);
    let s = rx.stats();
    assert!(s.target_delay <= Duration::from_millis(40), "{:?}", s.target_delay);
    let resume = played_at(&frames, 297_600).expect("resumed");
    assert!((6200..=6260).contains(&resume), "resumed at {resume} ms: one small target after 6200");
    assert_eq!((s.stream.lost, s.stream.late), (0, 0));
}

// ------------------------------------------------------------------- B14

#[test]
fn b14a_pcmu_pcma_switches_play_3_s_bit_exact() {
    let packets: Vec<_> = (0..150u64)
        .map(|k| {
            let (pt, payload) =
                if (50..100).contains(&k) { (PCMA, pcma_frame(k, 400.0)) } else { (PCMU, pcmu_frame(k, 400.0)) };
            pkt(pt, 1 + k, 160 * k, 20 * k, payload)
        })
        .collect();
    let expected: Vec<i16> = packets
        .iter()
        .flat_map(|p| {
            let law = p.payload_type;
            p.payload
                .iter()
                .map(move |&b| if law == PCMA { alaw_decode(b) } else { ulaw_decode(b) })
                .collect::<Vec<_>>()
        })
        .collect();
    let mut rx = fixed(8000, 40);
    let frames = run(&mut rx, packets, 3100);
    let played: Vec<&Frame> = audio(&frames);
    assert_eq!(played.len(), 150, "3.000 s of audio");
    assert!(played.iter().all(|f| f.info.kind == FrameKind::Normal));
    let pcm: Vec<i16> = played.iter().flat_map(|f| f.pcm.iter().copied()).collect();
    assert_eq!(pcm, expected, "no gap, no click, no restart at the switches");
    assert_eq!(rx.stats().streams, 1);
}

#[test]
fn b14b_opus_and_pcmu_alternating_keep_their_pitch() {
    let mut enc = opus_encoder(20);
    let packets: Vec<_> = (0..100u64)
        .map(|k| {
            if (k / 10) % 2 == 0 {
                pkt(OPUS, 1 + k, 960 * k, 20 * k, opus_frame(&mut enc, 960 * k, 20, 1000.0))
            } else {
                pkt(PCMU, 1 + k, 7_000_000 + 160 * k, 20 * k, pcmu_frame(k, 400.0))
            }
        })
        .collect();
    let mut rx = fixed(16_000, 40);
    let frames = run(&mut rx, packets, 2200);
    let played = audio(&frames);
    assert!(played.len() >= 98, "continuous output: {} frames", played.len());
    let concealed = frames.iter().filter(|f| f.info.kind == FrameKind::Concealed && f.t < 2040).count();
    assert!(concealed <= 9, "at most one concealed frame per switch: {concealed}");
    let segment = |rate: u32| -> Vec<i16> {
        played
            .iter()
            .filter(|f| f.info.clock_rate.map(|c| c.hz()) == Some(rate))
            .flat_map(|f| f.pcm[80..].iter().copied())
            .collect()
    };
    let opus_hz = zero_cross_hz(&segment(48_000), 16_000.0);
    let pcmu_hz = zero_cross_hz(&segment(8000), 16_000.0);
    assert!((opus_hz - 1000.0).abs() < 40.0, "Opus segments at {opus_hz} Hz");
    assert!((pcmu_hz - 400.0).abs() < 20.0, "PCMU segments at {pcmu_hz} Hz (upsampled to 16 kHz)");
}

#[test]
fn b14c_opus_packet_duration_change_plays_3_s_without_restart() {
    let mut enc20 = opus_encoder(20);
    let mut enc40 = opus_encoder(40);
    let mut packets = Vec::new();
    let (mut ts, mut t, mut seq) = (0u64, 0u64, 1u64);
    for (count, ms) in [(50, 20u64), (25, 40), (50, 20)] {
        for _ in 0..count {
            let payload =
                if ms == 20 { opus_frame(&mut enc20, ts, 20, 600.0) } else { opus_frame(&mut enc40, ts, 40, 600.0) };
            packets.push(pkt(OPUS, seq, ts, t, payload));
            seq += 1;
            ts += 48 * ms;
            t += ms;
        }
    }
    let mut rx = fixed(16_000, 60);
    let frames = run(&mut rx, packets, 3400);
    let played = audio(&frames);
    assert_eq!(played.len(), 150, "3.000 s of output");
    let s = rx.stats();
    assert_eq!((s.streams, s.stream.late, s.stream.lost, s.stream.discarded), (1, 0, 0, 0));
    assert!(frames.iter().filter(|f| f.t < 3060).all(|f| f.info.kind != FrameKind::Concealed));
}
