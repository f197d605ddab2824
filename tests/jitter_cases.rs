//! Jitter buffer scenarios on a simulated clock (CASES.md B03, B09, B11, B12 and the
//! basic reorder / loss / late / overflow / epoch-change cases). The host loop is
//! simulated: every 20 ms of `HostTime`, insert what has arrived, then pop once.

use bytes::Bytes;
use jyqq_media::jitter::{InsertOutcome, JitterBuffer, JitterConfig, Playout, PlayoutDelay};
use jyqq_media::rtp::{ExtTimestamp, MediaPacket, PayloadType, SeqNo, Ssrc, StreamEpoch};
use jyqq_media::{ClockRate, HostTime};
use std::time::Duration;

const MS: u64 = 1_000_000;

fn pkt(seq: u64, ts: u64, arrival_ms: u64) -> MediaPacket {
    MediaPacket {
        arrival: HostTime::from_millis(arrival_ms),
        ssrc: Ssrc(0x1234_5678),
        payload_type: PayloadType(0),
        marker: false,
        seq: SeqNo(seq),
        timestamp: ExtTimestamp(ts),
        epoch: StreamEpoch(0),
        payload: Bytes::from(vec![0xFFu8; 160]),
    }
}

fn marked(mut p: MediaPacket) -> MediaPacket {
    p.marker = true;
    p
}

fn in_epoch(mut p: MediaPacket, epoch: u32, ssrc: u32) -> MediaPacket {
    p.epoch = StreamEpoch(epoch);
    p.ssrc = Ssrc(ssrc);
    p
}

fn fixed(clock: ClockRate, ms: u64) -> JitterBuffer {
    JitterBuffer::new(JitterConfig::new(clock).with_delay(PlayoutDelay::Fixed(Duration::from_millis(ms))))
}

/// What the simulated host saw.
struct Run {
    /// (pop time in ms, decision)
    out: Vec<(u64, Playout)>,
    /// (arrival in ms, seq, outcome)
    inserted: Vec<(u64, u64, InsertOutcome)>,
}

impl Run {
    /// (pop time ms, epoch, seq) of every played frame.
    fn frames(&self) -> Vec<(u64, u32, u64)> {
        self.out
            .iter()
            .filter_map(|(t, p)| match p {
                Playout::Frame { packet, .. } => Some((*t, packet.epoch.0, packet.seq.0)),
                _ => None,
            })
            .collect()
    }

    fn seqs(&self) -> Vec<u64> {
        self.frames().iter().map(|f| f.2).collect()
    }

    fn play_time(&self, seq: u64) -> u64 {
        let f = self.frames();
        let hit: Vec<_> = f.iter().filter(|x| x.2 == seq).collect();
        assert_eq!(hit.len(), 1, "seq {seq} played {} times", hit.len());
        hit[0].0
    }

    fn conceal_times(&self) -> Vec<u64> {
        self.out.iter().filter(|(_, p)| matches!(p, Playout::Conceal { .. })).map(|(t, _)| *t).collect()
    }

    fn outcome(&self, seq: u64, n: usize) -> InsertOutcome {
        self.inserted.iter().filter(|x| x.1 == seq).nth(n).map(|x| x.2).expect("inserted")
    }
}

/// Simulated host: pops every `step_ms` from 0 to `until_ms`, inserting each packet
/// whose arrival is at or before the pop time first (in arrival order).
fn simulate(jb: &mut JitterBuffer, mut packets: Vec<MediaPacket>, until_ms: u64) -> Run {
    packets.sort_by_key(|p| p.arrival);
    let mut run = Run { out: Vec::new(), inserted: Vec::new() };
    let mut it = packets.into_iter().peekable();
    for t in (0..=until_ms).step_by(20) {
        while let Some(p) = it.next_if(|p| p.arrival <= HostTime::from_millis(t)) {
            let (a, s) = (p.arrival.as_nanos() / MS, p.seq.0);
            run.inserted.push((a, s, jb.insert(p)));
        }
        run.out.push((t, jb.pop(HostTime::from_millis(t))));
    }
    run
}

/// PCMU stream: seq `first..first+n`, ts contiguous from `ts0`, one packet every 20 ms from `t0_ms`.
fn pcmu_run(first: u64, n: u64, ts0: u64, t0_ms: u64) -> Vec<MediaPacket> {
    (0..n).map(|k| pkt(first + k, ts0 + 160 * k, t0_ms + 20 * k)).collect()
}

#[test]
fn b03_extended_sequence_across_the_16_bit_wrap_plays_without_stall() {
    let mut jb = fixed(ClockRate::HZ_8000, 40);
    let packets = pcmu_run(65_530, 16, 1_000_000, 0);
    let run = simulate(&mut jb, packets, 340);
    let frames = run.frames();
    assert_eq!(run.seqs(), (65_530..65_546).collect::<Vec<_>>());
    let wire: Vec<u16> = frames.iter().map(|f| SeqNo(f.2).wire()).collect();
    assert_eq!(&wire[4..8], &[65_534, 65_535, 0, 1]);
    for (k, f) in frames.iter().enumerate() {
        assert_eq!(f.0, 20 * k as u64 + 40, "seq {} buffered 40 ms like the others", f.2);
    }
    let s = jb.stats();
    assert_eq!((s.lost, s.concealed, s.late, s.played), (0, 0, 0, 16));
}

#[test]
fn b09_duplicate_arriving_after_the_buffer_drained_is_dropped() {
    let mut jb = fixed(ClockRate::HZ_8000, 40);
    let packets = vec![pkt(100, 16_000, 0), pkt(100, 16_000, 45), pkt(101, 16_160, 60), pkt(102, 16_320, 80)];
    let run = simulate(&mut jb, packets, 80);
    assert_eq!(run.frames(), vec![(40, 0, 100), (60, 0, 101), (80, 0, 102)]);
    assert_eq!(run.outcome(100, 1), InsertOutcome::Duplicate);
    assert!(jb.is_empty());
    let s = jb.stats();
    assert_eq!((s.duplicates, s.lost, s.concealed, s.received), (1, 0, 0, 4));
}

#[test]
fn reorder_within_the_delay_is_played_in_order() {
    let mut jb = fixed(ClockRate::HZ_8000, 60);
    let mut packets = pcmu_run(1, 6, 0, 0);
    packets[1].arrival = HostTime::from_millis(45); // seq 2 after seq 3 (40 ms)
    let run = simulate(&mut jb, packets, 160);
    assert_eq!(run.seqs(), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(run.play_time(2), 80);
    let s = jb.stats();
    assert_eq!((s.concealed, s.lost, s.late, s.duplicates), (0, 0, 0, 0));
}

#[test]
fn lost_packet_is_concealed_once_at_its_slot() {
    let mut jb = fixed(ClockRate::HZ_8000, 40);
    let packets: Vec<_> = pcmu_run(1, 10, 0, 0).into_iter().filter(|p| p.seq.0 != 5).collect();
    let run = simulate(&mut jb, packets, 220);
    assert_eq!(run.seqs(), vec![1, 2, 3, 4, 6, 7, 8, 9, 10]);
    // seq 5 would have arrived at 80 ms and played at 120 ms.
    assert_eq!(run.conceal_times(), vec![120]);
    let concealed_ts: Vec<_> = run
        .out
        .iter()
        .filter_map(|(_, p)| match p {
            Playout::Conceal { timestamp, duration_ticks } => Some((timestamp.0, *duration_ticks)),
            _ => None,
        })
        .collect();
    assert_eq!(concealed_ts, vec![(4 * 160, 160)]);
    assert_eq!(run.play_time(6), 140);
    let s = jb.stats();
    assert_eq!((s.lost, s.concealed, s.late), (1, 1, 0));
}

#[test]
fn packet_arriving_after_its_slot_was_concealed_is_late_not_played() {
    let mut jb = fixed(ClockRate::HZ_8000, 40);
    let mut packets = pcmu_run(1, 10, 0, 0);
    packets[4].arrival = HostTime::from_millis(150); // seq 5: slot at 120 ms
    let run = simulate(&mut jb, packets, 220);
    assert_eq!(run.seqs(), vec![1, 2, 3, 4, 6, 7, 8, 9, 10]);
    assert_eq!(run.conceal_times(), vec![120]);
    assert_eq!(run.outcome(5, 0), InsertOutcome::Late);
    let s = jb.stats();
    // It did arrive, so it is late, not lost.
    assert_eq!((s.late, s.lost, s.concealed), (1, 0, 1));
}

#[test]
fn dry_buffer_conceals_then_declares_the_gap_lost_when_a_later_packet_arrives() {
    let mut jb = fixed(ClockRate::HZ_8000, 40);
    let packets: Vec<_> = pcmu_run(1, 14, 0, 0).into_iter().filter(|p| !(5..=9).contains(&p.seq.0)).collect();
    let run = simulate(&mut jb, packets, 300);
    // Slots of 5..9 at 120..200 ms: three dry concealments, then two with seq 10 present.
    assert_eq!(run.conceal_times(), vec![120, 140, 160, 180, 200]);
    assert_eq!(run.play_time(10), 220);
    let s = jb.stats();
    assert_eq!((s.lost, s.concealed, s.late), (5, 5, 0));
}

#[test]
fn overflow_drops_the_oldest_and_plays_the_newest() {
    let mut jb = JitterBuffer::new(
        JitterConfig::new(ClockRate::HZ_8000)
            .with_capacity(8)
            .with_delay(PlayoutDelay::Fixed(Duration::from_millis(40))),
    );
    let outcomes: Vec<_> = pcmu_run(1, 20, 0, 0)
        .into_iter()
        .map(|mut p| {
            p.arrival = HostTime::ZERO;
            jb.insert(p)
        })
        .collect();
    assert!(outcomes[..8].iter().all(|o| *o == InsertOutcome::Inserted));
    for (k, o) in outcomes[8..].iter().enumerate() {
        assert_eq!(*o, InsertOutcome::Overflow { dropped_seq: SeqNo(k as u64 + 1), dropped_epoch: StreamEpoch(0) });
    }
    assert_eq!(jb.len(), 8);
    assert_eq!(jb.stats().buffer_level, Duration::from_millis(160));
    let run = simulate(&mut jb, Vec::new(), 180);
    assert_eq!(run.seqs(), (13..=20).collect::<Vec<_>>());
    assert_eq!(run.play_time(13), 40);
    let s = jb.stats();
    assert_eq!((s.overflow_drops, s.lost, s.played, s.received), (12, 0, 8, 20));
}

#[test]
fn new_epoch_plays_without_stall() {
    let mut jb = fixed(ClockRate::HZ_8000, 40);
    let mut packets = pcmu_run(1, 10, 0, 0);
    // SSRC change: numbering restarts far away, first packet at 200 ms.
    packets.extend(pcmu_run(40_000, 10, 5_000_000, 200).into_iter().map(|p| in_epoch(p, 1, 0xBEEF)));
    let run = simulate(&mut jb, packets, 420);
    let frames = run.frames();
    assert_eq!(frames.len(), 20);
    assert_eq!(frames[9], (220, 0, 10));
    assert_eq!(frames[10], (240, 1, 40_000));
    assert!(frames.windows(2).all(|w| w[1].0 == w[0].0 + 20), "no stall at the switch");
    let s = jb.stats();
    assert_eq!((s.lost, s.concealed, s.stale_drops, s.late), (0, 0, 0, 0));
}

#[test]
fn new_epoch_after_a_dry_old_epoch_is_anchored_on_its_own_arrival() {
    let mut jb = fixed(ClockRate::HZ_8000, 40);
    let mut packets = pcmu_run(1, 5, 0, 0);
    packets.extend(pcmu_run(7, 5, 90_000, 310).into_iter().map(|p| in_epoch(marked(p), 3, 0xBEEF)));
    let run = simulate(&mut jb, packets, 440);
    let new_first = run.play_time(7);
    assert!((350..=370).contains(&new_first), "played at {new_first} ms, arrival 310 + target 40 + ≤ 20");
    assert_eq!(run.conceal_times(), vec![140, 160, 180], "old tail concealed ≤ 60 ms");
    assert_eq!(run.seqs(), vec![1, 2, 3, 4, 5, 7, 8, 9, 10, 11]);
    let s = jb.stats();
    assert_eq!((s.lost, s.late, s.stale_drops), (0, 0, 0));
}

#[test]
fn old_epoch_remainder_is_drained_then_dropped_when_the_new_epoch_is_due() {
    let mut jb = fixed(ClockRate::HZ_8000, 40);
    let mut packets = pcmu_run(1, 8, 0, 0);
    for p in &mut packets[3..] {
        p.arrival = HostTime::from_millis(100); // seq 4..8 held by the network, then a burst
    }
    packets.push(in_epoch(pkt(1000, 777_000, 101), 1, 0xBEEF));
    let run = simulate(&mut jb, packets, 160);
    assert_eq!(
        run.frames(),
        vec![(40, 0, 1), (60, 0, 2), (80, 0, 3), (100, 0, 4), (120, 0, 5), (140, 0, 6), (160, 1, 1000)]
    );
    let s = jb.stats();
    assert_eq!((s.stale_drops, s.lost, s.concealed), (2, 0, 0));
}

/// B11 input: talkspurt 1 seq 1..50 (ts 0..7840), 2 s silence, talkspurt 2 seq 51..100 from ts 24000.
fn b11_packets(marker: bool) -> Vec<MediaPacket> {
    let mut packets = pcmu_run(1, 50, 0, 0);
    let mut second = pcmu_run(51, 50, 24_000, 3000);
    second[0].marker = marker;
    packets.extend(second);
    packets
}

fn check_b11(marker: bool) {
    let mut jb = fixed(ClockRate::HZ_8000, 40);
    let run = simulate(&mut jb, b11_packets(marker), 4020);
    assert_eq!(run.seqs(), (1..=100).collect::<Vec<_>>());
    let start2 = run.play_time(51);
    assert!((3040..=3060).contains(&start2), "seq 51 (arrived 3000) played at {start2}");
    let end1 = run.play_time(50) + 20;
    let gap = start2 - end1;
    assert!((1980..=2020).contains(&gap), "gap {gap} ms");
    // Tail of talkspurt 1 concealed at most 60 ms, the rest silence.
    let conceal = run.conceal_times();
    assert_eq!(conceal, vec![end1, end1 + 20, end1 + 40]);
    let silences =
        run.out.iter().filter(|(t, p)| *t > end1 && *t < start2 && matches!(p, Playout::Silence { .. })).count();
    assert_eq!(silences as u64, gap / 20 - 3);
    let s = jb.stats();
    assert_eq!((s.lost, s.late, s.played), (0, 0, 100));
}

#[test]
fn b11_talkspurt_start_with_marker() {
    check_b11(true);
}

#[test]
fn b11_talkspurt_start_without_marker() {
    check_b11(false);
}

/// B12 input (Opus 48 kHz, 20 ms): speech 1..150, DTX 151..158 (400 ms apart), resume 159..308 with M=1.
fn b12_packets() -> Vec<MediaPacket> {
    let opus = |seq: u64, ts: u64, at: u64| {
        let mut p = pkt(seq, ts, at);
        p.payload_type = PayloadType(111);
        p
    };
    let mut v: Vec<_> = (0..150).map(|k| opus(1 + k, 960 * k, 20 * k)).collect();
    for j in 0..8 {
        let mut p = opus(151 + j, 144_000 + 19_200 * j, 3000 + 400 * j);
        p.payload = Bytes::from_static(&[0x08]);
        v.push(p);
    }
    let resume_ts = 144_000 + 19_200 * 8;
    v.extend((0..150).map(|k| opus(159 + k, resume_ts + 960 * k, 6200 + 20 * k)));
    v[158].marker = true;
    v
}

#[test]
fn b12_dtx_gap_is_silence_not_loss_and_delay_returns_to_target() {
    let mut jb = fixed(ClockRate::HZ_48000, 500);
    let run = simulate(&mut jb, b12_packets(), 9680);
    assert_eq!(run.seqs(), (1..=308).collect::<Vec<_>>(), "each frame once, in order");
    assert!(run.conceal_times().is_empty());
    let end_speech = run.play_time(150) + 20;
    let resume = run.play_time(159);
    assert_eq!(resume - end_speech, 3200);
    for seq in [159, 200, 308] {
        let arrival = 6200 + 20 * (seq - 159);
        assert_eq!(run.play_time(seq) - arrival, 500, "seq {seq}");
    }
    let s = jb.stats();
    assert_eq!((s.lost, s.concealed, s.late), (0, 0, 0));
    // 3.2 s gap = 8 DTX frames + 152 silence frames of 20 ms.
    assert_eq!(s.silence - 25, 152, "25 silence frames before the first packet was due");
    assert_eq!(s.ptime, Duration::from_millis(20));
}

#[test]
fn dtx_gap_with_short_delay_is_silence_after_the_dtx_frame() {
    let mut jb = fixed(ClockRate::HZ_48000, 40);
    let run = simulate(&mut jb, b12_packets(), 9220);
    assert_eq!(run.seqs(), (1..=308).collect::<Vec<_>>());
    // Each DTX frame (1 byte) is followed by silence, not concealment, though the buffer is dry.
    assert!(run.conceal_times().is_empty(), "{:?}", run.conceal_times());
    assert_eq!(run.play_time(159) - (run.play_time(150) + 20), 3200);
    assert_eq!(run.play_time(159) - 6200, 40);
    let s = jb.stats();
    assert_eq!((s.lost, s.late, s.concealed), (0, 0, 0));
}

#[test]
fn dry_buffer_after_comfort_noise_payload_type_is_silence() {
    let mut jb = fixed(ClockRate::HZ_8000, 40);
    let mut packets = pcmu_run(1, 5, 0, 0);
    packets[4].payload_type = PayloadType(13); // RFC 3389 CN, then the sender pauses
    let mut next = pcmu_run(6, 3, 160 * 5 + 8000, 1100);
    next[0].marker = true;
    packets.extend(next);
    let run = simulate(&mut jb, packets, 1180);
    assert_eq!(run.seqs(), vec![1, 2, 3, 4, 5, 6, 7, 8]);
    assert!(run.conceal_times().is_empty());
    assert_eq!(run.play_time(6), 1140);
    assert_eq!(jb.stats().lost, 0);
}

#[test]
fn adaptive_target_is_not_inflated_by_dtx_spacing() {
    let cfg = JitterConfig::new(ClockRate::HZ_48000).with_delay(PlayoutDelay::Adaptive {
        min: Duration::from_millis(20),
        max: Duration::from_millis(1000),
        initial: Duration::from_millis(60),
    });
    let mut jb = JitterBuffer::new(cfg);
    let run = simulate(&mut jb, b12_packets(), 9300);
    assert_eq!(run.seqs().len(), 308);
    let s = jb.stats();
    assert_eq!(s.target_delay, Duration::from_millis(20), "no jitter: one ptime");
    assert_eq!(s.lost, 0);
}

/// Deterministic pseudo-random jitter (LCG, Numerical Recipes constants).
fn jitter_ms(state: &mut u64, max: u64) -> u64 {
    *state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
    (*state >> 33) % max
}

/// Talkspurts of 40 frames (800 ms) then 200 ms of silence, marker on each start; network jitter 0..100 ms.
fn jittered_talkspurts() -> Vec<MediaPacket> {
    let mut rng = 7u64;
    let mut packets = Vec::new();
    for spurt in 0..8u64 {
        for k in 0..40u64 {
            let seq = 1 + spurt * 40 + k;
            let media_ms = spurt * 1000 + k * 20;
            let mut p = pkt(seq, media_ms * 8, media_ms + jitter_ms(&mut rng, 100));
            p.marker = k == 0;
            packets.push(p);
        }
    }
    packets
}

#[test]
fn adaptive_target_follows_jitter_and_talkspurts_lose_nothing() {
    let cfg = JitterConfig::new(ClockRate::HZ_8000).with_delay(PlayoutDelay::Adaptive {
        min: Duration::from_millis(20),
        max: Duration::from_millis(400),
        initial: Duration::from_millis(20),
    });
    let mut jb = JitterBuffer::new(cfg);
    let run = simulate(&mut jb, jittered_talkspurts(), 8200);
    assert_eq!(run.seqs(), (1..=320).collect::<Vec<_>>());
    let s = jb.stats();
    assert_eq!((s.late, s.lost), (0, 0));
    // 95th percentile of 0..100 ms jitter plus one ptime.
    assert!(
        s.target_delay >= Duration::from_millis(110) && s.target_delay <= Duration::from_millis(120),
        "{:?}",
        s.target_delay
    );

    // The same input through a fixed 20 ms buffer loses packets to lateness: the test can fail.
    let mut small = fixed(ClockRate::HZ_8000, 20);
    let _ = simulate(&mut small, jittered_talkspurts(), 8200);
    assert!(small.stats().late > 50, "fixed 20 ms: {} late", small.stats().late);
}

#[test]
fn hostile_input_stays_bounded_and_gives_one_decision_per_pop() {
    let cfg = JitterConfig::new(ClockRate::HZ_8000).with_capacity(16);
    let mut jb = JitterBuffer::new(cfg);
    let mut rng = 99u64;
    let (mut frames, mut conceals, mut silences, mut empties) = (0u64, 0u64, 0u64, 0u64);
    let pops = 5000u64;
    for step in 0..pops {
        let now = step * 20;
        for _ in 0..jitter_ms(&mut rng, 4) {
            let r = jitter_ms(&mut rng, 1000);
            let seq = match r % 5 {
                0 => u64::MAX - jitter_ms(&mut rng, 3),
                1 => jitter_ms(&mut rng, 1 << 20),
                _ => step + jitter_ms(&mut rng, 40),
            };
            let ts = if r % 7 == 0 { u64::MAX - r } else { seq.wrapping_mul(160) ^ (r & 0x3FF) };
            let mut p = pkt(seq, ts, now.saturating_sub(jitter_ms(&mut rng, 300)));
            p.epoch = StreamEpoch((step / 700) as u32 + u32::from(r % 97 == 0));
            p.marker = r % 11 == 0;
            p.payload = Bytes::from(vec![0u8; (r % 5) as usize]);
            let _ = jb.insert(p);
            assert!(jb.len() <= 16);
        }
        match jb.pop(HostTime::from_millis(now)) {
            Playout::Frame { .. } => frames += 1,
            Playout::Conceal { .. } => conceals += 1,
            Playout::Silence { .. } => silences += 1,
            Playout::Empty => empties += 1,
            _ => {}
        }
    }
    let s = jb.stats();
    assert_eq!(frames + conceals + silences + empties, pops);
    assert_eq!((s.played, s.concealed, s.silence), (frames, conceals, silences));
    assert!(s.played > 0 && s.received > pops);
    assert!(s.target_delay <= Duration::from_millis(500));
}
