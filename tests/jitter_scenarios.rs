//! `AudioReceiver` scenarios on the simulated clock: packet streams impaired by the
//! seeded network simulator (`jyqq_media::testing::netsim`) — loss, bursts, jitter with
//! reordering, duplicates, clock skew, SSRC change — and the receive path's edge cases
//! (telephone-event, RFC 3389 comfort noise, overflow, time-stretching, 10 ms frames,
//! errors, hostile input).

mod jitter_sim;

use bytes::Bytes;
use jitter_sim::*;
use jyqq_media::codec::ulaw_decode;
use jyqq_media::jitter::{AudioReceiver, FrameKind, JitterError, PlayoutDelay, ReceiverConfig};
use jyqq_media::rtp::{
    ExtTimestamp, Ingress, IngressConfig, MediaPacket, PayloadType, RtpHeader, SeqNo, Ssrc, StreamEpoch,
};
use jyqq_media::testing::netsim::{profile, Impairments, LossModel, NetSim};
use jyqq_media::{HostTime, SampleRate};
use std::time::Duration;

const PCMU: PayloadType = PayloadType(0);
const CN: PayloadType = PayloadType(13);

/// `n` PCMU packets of a 400 Hz tone (seq 1000.., ts 0..) through `imp` with `seed`:
/// the receiver's packets (epoch 0) and the simulator's counts.
fn impaired_pcmu(n: u64, imp: Impairments, seed: u64) -> (Vec<MediaPacket>, jyqq_media::testing::netsim::NetSimStats) {
    let mut sim = NetSim::new(imp, seed);
    for k in 0..n {
        let mut d = Vec::new();
        RtpHeader::new(PCMU, (1000 + k) as u16, (160 * k) as u32, Ssrc(7))
            .write(&pcmu_frame(k, 400.0), &mut d)
            .expect("valid header");
        sim.send(Duration::from_millis(20 * k), &d);
    }
    let (deliveries, stats) = sim.finish();
    let packets = deliveries
        .into_iter()
        .map(|d| {
            let seq = u16::from_be_bytes([d.datagram[2], d.datagram[3]]);
            let ts = u32::from_be_bytes([d.datagram[4], d.datagram[5], d.datagram[6], d.datagram[7]]);
            let mut p = pkt(PCMU, u64::from(seq), u64::from(ts), 0, Bytes::copy_from_slice(&d.datagram[12..]));
            p.arrival = d.arrival;
            p
        })
        .collect();
    (packets, stats)
}

fn max_run(frames: &[Frame], kind: FrameKind) -> usize {
    let (mut best, mut cur) = (0, 0);
    for f in frames {
        cur = if f.info.kind == kind { cur + 1 } else { 0 };
        best = best.max(cur);
    }
    best
}

#[test]
fn random_loss_is_concealed_counted_and_never_silent() {
    let (packets, sim) = impaired_pcmu(1000, profile("loss10").expect("named profile"), 11);
    assert!((80..=120).contains(&sim.lost), "{}", sim.lost);
    let last_delivered = packets.iter().map(|p| p.seq.0).max().expect("delivered");
    let trailing = 1000 + 999 - last_delivered; // lost after the last delivered: never declared
    let mut rx = adaptive(8000);
    let frames = run(&mut rx, packets, 20_400);
    let s = rx.stats().stream;
    assert_eq!(s.lost, sim.lost - trailing);
    assert_eq!((s.late, s.duplicates), (0, 0));
    // Each lost packet's 20 ms is concealed once, plus the tail after the last packet.
    let expected = Duration::from_millis(20 * s.lost);
    assert!(s.concealed >= expected && s.concealed <= expected + Duration::from_millis(200), "{:?}", s.concealed);
    // Mid-stream, no frame falls silent: every loss is bridged.
    let mid: Vec<&Frame> = frames.iter().filter(|f| f.t > 500 && f.t < 19_500).collect();
    assert!(mid.iter().all(|f| f.rms() > 1000.0), "a mid-stream frame fell silent");
    assert!(s.mean_delay < Duration::from_millis(60), "{:?}", s.mean_delay);
}

#[test]
fn long_bursts_fade_to_comfort_noise_within_60_ms() {
    let bursty = Impairments::clean(Duration::from_millis(30)).with_loss(LossModel::GilbertElliott {
        p_gb: 0.01,
        p_bg: 0.1,
        loss_good: 0.0,
        loss_bad: 1.0,
    });
    let (packets, sim) = impaired_pcmu(1500, bursty, 5);
    assert!(sim.lost > 60, "{}", sim.lost);
    let mut rx = adaptive(8000);
    let frames = run(&mut rx, packets, 30_400);
    // 60 ms, plus the frame the fade's start straddles when playout is not frame-aligned.
    assert!(max_run(&frames, FrameKind::Concealed) <= 4, "concealment runs at most 60 ms");
    assert!(frames.iter().any(|f| f.info.kind == FrameKind::ComfortNoise), "long bursts reach comfort noise");
    // Audio resumes after every burst: the last frame before 29 s is real audio.
    assert!(frames.iter().filter(|f| f.info.kind == FrameKind::Normal).count() > 1200);
}

#[test]
fn jitter_with_reordering_plays_in_order() {
    let (packets, sim) = impaired_pcmu(1500, profile("jitter40").expect("named profile"), 3);
    assert!(sim.reordered > 300, "{}", sim.reordered);
    let mut rx = adaptive(8000);
    let frames = run(&mut rx, packets, 30_600);
    let ts: Vec<u64> = frames
        .iter()
        .filter(|f| f.info.kind == FrameKind::Normal)
        .filter_map(|f| f.info.timestamp.map(|t| t.0))
        .collect();
    assert!(ts.windows(2).all(|w| w[1] > w[0]), "audio never goes back in time");
    let s = rx.stats();
    assert!(s.stream.reordered > 300, "{}", s.stream.reordered);
    assert!(s.stream.late + s.stream.lost < 45, "late {} lost {}", s.stream.late, s.stream.lost);
    // 0..80 ms of jitter: the target settles near its upper end, far below the spikes.
    assert!(
        s.target_delay >= Duration::from_millis(60) && s.target_delay <= Duration::from_millis(140),
        "{:?}",
        s.target_delay
    );
    assert!(s.stream.interarrival_jitter > Duration::from_millis(10));
}

#[test]
fn duplicates_are_dropped_whatever_the_buffer_holds() {
    let imp = Impairments::clean(Duration::from_millis(30)).with_reorder_duplicate(0.0, 0.1);
    let (packets, sim) = impaired_pcmu(800, imp, 9);
    assert!(sim.duplicated > 50);
    let mut rx = fixed(8000, 40);
    let frames = run(&mut rx, packets, 16_200);
    let s = rx.stats().stream;
    assert_eq!(s.duplicates, sim.duplicated);
    let audio = |f: &&Frame| matches!(f.info.kind, FrameKind::Normal | FrameKind::Expanded | FrameKind::Accelerated);
    let mut ts: Vec<u64> = frames.iter().filter(audio).filter_map(|f| f.info.timestamp.map(|t| t.0)).collect();
    let n = ts.len();
    ts.dedup();
    assert_eq!(ts.len(), n, "no frame played twice");
    assert!((799..=801).contains(&n), "{n} frames of audio for 800 packets");
}

fn skew(ppm: f64) -> (Duration, Duration, Duration, Duration) {
    let imp = Impairments::clean(Duration::from_millis(30)).with_skew_ppm(ppm);
    let (mut packets, _) = impaired_pcmu(9000, imp, 1); // 3 minutes
                                                        // Talk 1 s, pause 0.5 s: the pauses are where the drift is absorbed.
    for p in &mut packets {
        if (p.seq.0 - 1000) % 75 >= 50 {
            p.payload = Bytes::from(vec![0xFFu8; 160]);
        }
    }
    let mut rx = adaptive(8000);
    let frames = run(&mut rx, packets, 180_000);
    let s = rx.stats();
    let late_delays: Vec<Duration> = frames.iter().rev().take(1).map(|_| s.current_delay).collect();
    (s.stream.accelerated, s.stream.expanded, late_delays[0], s.stream.concealed)
}

#[test]
fn clock_skew_of_200_ppm_either_way_keeps_the_delay() {
    // Sender 200 ppm fast: 36 ms of audio piles up in 3 minutes and is accelerated away.
    let (acc, _, delay, concealed) = skew(200.0);
    assert!(acc >= Duration::from_millis(20), "{acc:?}");
    assert!(delay <= Duration::from_millis(50), "{delay:?}");
    assert!(concealed <= Duration::from_millis(100), "{concealed:?}");
    // Sender 200 ppm slow: the buffer would run dry; preemptive expand fills it.
    let (_, exp, delay, concealed) = skew(-200.0);
    assert!(exp >= Duration::from_millis(20), "{exp:?}");
    assert!(delay >= Duration::from_millis(5), "{delay:?}");
    assert!(concealed <= Duration::from_millis(100), "{concealed:?}");
}

#[test]
fn ssrc_change_on_the_path_plays_through() {
    let imp = Impairments::clean(Duration::from_millis(30)).with_ssrc_change(250);
    let mut sim = NetSim::new(imp, 4);
    for k in 0..500u64 {
        let mut d = Vec::new();
        RtpHeader::new(PCMU, (1000 + k) as u16, (160 * k) as u32, Ssrc(7))
            .write(&pcmu_frame(k, 400.0), &mut d)
            .expect("valid header");
        sim.send(Duration::from_millis(20 * k), &d);
    }
    let (deliveries, _) = sim.finish();
    let mut cfg = IngressConfig::new(payloads());
    cfg.probation = 1;
    let mut ingress = Ingress::new(cfg);
    let from = "192.0.2.1:4000".parse().expect("address literal");
    let packets: Vec<MediaPacket> =
        deliveries.iter().filter_map(|d| ingress.receive(d.arrival, from, &d.datagram).ok()).collect();
    assert_eq!(packets.len(), 500);
    let mut rx = adaptive(8000);
    let frames = run(&mut rx, packets, 10_400);
    let s = rx.stats();
    assert_eq!((s.streams, s.total.lost, s.total.late), (2, 0, 0));
    assert!(max_run(&frames[..500], FrameKind::Concealed) <= 1, "the switch costs at most one frame");
    assert_eq!(frames.iter().filter(|f| f.info.kind == FrameKind::Normal).count(), 500);
}

#[test]
fn telephone_events_are_neither_audio_nor_loss() {
    // Audio every 20 ms; a DTMF press sends 6 events with their own sequence numbers.
    let mut packets = Vec::new();
    let mut seq = 1;
    for k in 0..100u64 {
        packets.push(pkt(PCMU, seq, 160 * k, 20 * k, pcmu_frame(k, 400.0)));
        seq += 1;
        if (40..46).contains(&k) {
            packets.push(pkt(DTMF, seq, 160 * 40, 20 * k + 5, Bytes::from_static(&[1, 10, 0, 160])));
            seq += 1;
        }
    }
    let mut rx = fixed(8000, 40);
    let frames = run(&mut rx, packets, 2100);
    let s = rx.stats().stream;
    assert_eq!((s.lost, s.non_audio, s.received), (0, 6, 106));
    assert_eq!(frames.iter().filter(|f| f.info.kind == FrameKind::Normal).count(), 100);
    assert_eq!(s.concealed, Duration::from_millis(60), "only the tail");
}

#[test]
fn rfc3389_comfort_noise_is_played_at_its_level_not_concealed() {
    let mut packets: Vec<_> = (0..50u64).map(|k| pkt(PCMU, 1 + k, 160 * k, 20 * k, pcmu_frame(k, 400.0))).collect();
    // CN at -40 dBov after the talkspurt, then 1 s of silence (no packets), then speech.
    packets.push(pkt(CN, 51, 8000, 1000, Bytes::from_static(&[40])));
    let mut resume: Vec<_> =
        (0..50u64).map(|k| pkt(PCMU, 52 + k, 16_000 + 160 * k, 2000 + 20 * k, pcmu_frame(k, 400.0))).collect();
    resume[0].marker = true;
    packets.extend(resume);
    let mut rx = fixed(8000, 40);
    let frames = run(&mut rx, packets, 3100);
    let gap: Vec<&Frame> = frames.iter().filter(|f| f.t >= 1100 && f.t < 2000).collect();
    assert!(gap.iter().all(|f| f.info.kind == FrameKind::ComfortNoise));
    let level = gap.iter().map(|f| f.rms()).sum::<f64>() / gap.len() as f64;
    assert!((level - 327.7).abs() < 60.0, "-40 dBov is RMS 328: {level}");
    assert_eq!(played_at(&frames, 16_000), Some(2040));
    let s = rx.stats().stream;
    assert_eq!((s.lost, s.concealed), (0, Duration::from_millis(60)), "only the tail is concealed");
}

#[test]
fn overflow_drops_the_oldest_never_the_whole_buffer() {
    let cfg = ReceiverConfig::new(payloads(), SampleRate::HZ_8000)
        .with_capacity(10)
        .with_delay(PlayoutDelay::Fixed(Duration::from_millis(40)));
    let mut rx = AudioReceiver::new(cfg).expect("valid config");
    // 30 packets arrive at once (a stalled path releasing its queue).
    let packets: Vec<_> = (0..30u64).map(|k| pkt(PCMU, 1 + k, 160 * k, 0, pcmu_frame(k, 400.0))).collect();
    let frames = run(&mut rx, packets, 400);
    let s = rx.stats().stream;
    assert_eq!((s.discarded, s.lost, s.received), (20, 0, 30));
    let ts: Vec<u32> =
        frames.iter().filter(|f| f.info.kind != FrameKind::Silence).filter_map(|f| f.wire_ts()).collect();
    assert_eq!(ts.first(), Some(&(160 * 20)), "the newest ten play: {ts:?}");
}

#[test]
fn accelerate_shortens_audio_without_changing_its_pitch() {
    // One packet on time, then 40 more at once: 800 ms buffered against a 40 ms target.
    let mut packets = vec![pkt(PCMU, 1, 0, 0, pcmu_frame(0, 250.0))];
    packets.extend((1..41u64).map(|k| pkt(PCMU, 1 + k, 160 * k, 20, pcmu_frame(k, 250.0))));
    packets.extend((41..200u64).map(|k| pkt(PCMU, 1 + k, 160 * k, 20 * k - 780, pcmu_frame(k, 250.0))));
    let mut rx = fixed(8000, 40);
    let frames = run(&mut rx, packets, 4000);
    let acc: Vec<&Frame> = frames.iter().filter(|f| f.info.kind == FrameKind::Accelerated).collect();
    assert!(acc.len() >= 10, "{} accelerated frames", acc.len());
    for f in &acc {
        let hz = zero_cross_hz(&f.pcm, 8000.0);
        assert!((hz - 250.0).abs() < 30.0, "accelerated frame at {hz} Hz");
    }
    let s = rx.stats().stream;
    assert!(s.accelerated >= Duration::from_millis(100), "{:?}", s.accelerated);
    assert_eq!(s.lost, 0);
}

#[test]
fn ten_ms_frames_play_the_decoded_audio_exactly() {
    let cfg = ReceiverConfig::new(payloads(), SampleRate::HZ_8000)
        .with_frame(Duration::from_millis(10))
        .with_delay(PlayoutDelay::Fixed(Duration::from_millis(40)));
    let mut rx = AudioReceiver::new(cfg).expect("valid config");
    assert_eq!(rx.frame_samples(), 80);
    let packets: Vec<_> = (0..20u64).map(|k| pkt(PCMU, 1 + k, 160 * k, 20 * k, pcmu_frame(k, 400.0))).collect();
    let expected: Vec<i16> =
        packets.iter().flat_map(|p| p.payload.iter().map(|&b| ulaw_decode(b)).collect::<Vec<_>>()).collect();
    let mut out = Vec::new();
    let mut pcm = [0i16; 80];
    let mut it = packets.into_iter().peekable();
    for t in (0..=440u64).step_by(10) {
        while let Some(p) = it.next_if(|p| p.arrival <= HostTime::from_millis(t)) {
            rx.insert(p);
        }
        let info = rx.pull(HostTime::from_millis(t), &mut pcm).expect("80 samples");
        if info.kind == FrameKind::Normal {
            out.extend_from_slice(&pcm);
        }
    }
    assert_eq!(out, expected);
}

#[test]
fn configuration_and_buffer_errors() {
    let bad_rate = AudioReceiver::new(ReceiverConfig::new(payloads(), SampleRate::new(44_100)));
    assert_eq!(bad_rate.err(), Some(JitterError::UnsupportedOutputRate(44_100)));
    let bad_frame =
        AudioReceiver::new(ReceiverConfig::new(payloads(), SampleRate::HZ_8000).with_frame(Duration::from_millis(30)));
    assert_eq!(bad_frame.err(), Some(JitterError::UnsupportedFrame(Duration::from_millis(30))));
    let mut rx = adaptive(16_000);
    let mut short = [0i16; 100];
    assert_eq!(rx.pull(HostTime::ZERO, &mut short), Err(JitterError::FrameSize { expected: 320, got: 100 }));
    let mut ok = [1i16; 320];
    let info = rx.pull(HostTime::ZERO, &mut ok).expect("one frame");
    assert_eq!((info.kind, info.timestamp), (FrameKind::Silence, None));
    assert!(ok.iter().all(|&s| s == 0));
}

#[test]
fn unknown_payload_types_and_garbage_are_counted_not_fatal() {
    let mut rx = fixed(48_000, 40);
    let mut packets: Vec<_> = (0..20u64).map(|k| pkt(PCMU, 1 + k, 160 * k, 20 * k, pcmu_frame(k, 400.0))).collect();
    packets.push(pkt(PayloadType(77), 21, 3200, 400, Bytes::from_static(&[1, 2, 3])));
    packets.push(pkt(OPUS, 22, 3360, 420, Bytes::from_static(&[0xFF, 0xFF, 0xFF, 0xFF, 0xFF])));
    let frames = run(&mut rx, packets, 800);
    let s = rx.stats().stream;
    assert_eq!((s.received, s.discarded), (22, 2));
    assert_eq!(frames.iter().filter(|f| f.info.kind == FrameKind::Normal).count(), 20);
}

/// Deterministic pseudo-random numbers (SplitMix64).
fn rnd(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[test]
fn hostile_input_stays_bounded_and_gives_one_frame_per_pull() {
    let cfg = ReceiverConfig::new(payloads(), SampleRate::HZ_16000).with_capacity(32);
    let mut rx = AudioReceiver::new(cfg).expect("valid config");
    let mut state = 42u64;
    let mut pcm = vec![0i16; rx.frame_samples()];
    let pts = [PCMU, PayloadType(8), CN, OPUS, DTMF, PayloadType(99)];
    for step in 0..4000u64 {
        let now = HostTime::from_millis(20 * step);
        for _ in 0..rnd(&mut state) % 4 {
            let r = rnd(&mut state);
            let seq = match r % 5 {
                0 => u64::MAX - r % 3,
                1 => r % (1 << 20),
                _ => step + r % 40,
            };
            let ts = if r % 7 == 0 { u64::MAX - r % 1000 } else { seq.wrapping_mul(160) ^ (r & 0x3FF) };
            let len = (r >> 8) as usize % 200;
            let p = MediaPacket {
                arrival: now.saturating_sub(Duration::from_millis(r % 300)),
                ssrc: Ssrc(r as u32 % 3),
                payload_type: pts[(r >> 16) as usize % pts.len()],
                marker: r % 11 == 0,
                seq: SeqNo(seq),
                timestamp: ExtTimestamp(ts),
                epoch: StreamEpoch((step / 700) as u32 + u32::from(r % 97 == 0)),
                payload: Bytes::from((0..len).map(|i| (r >> (i % 56)) as u8).collect::<Vec<u8>>()),
            };
            rx.insert(p);
            assert!(rx.stats().buffered_packets <= 32);
        }
        let info = rx.pull(now, &mut pcm).expect("frame-sized buffer");
        assert_eq!(info.samples, 320);
    }
    let s = rx.stats();
    assert!(s.total.received > 4000);
    assert!(s.target_delay <= Duration::from_millis(500));
}
