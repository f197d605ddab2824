//! Property tests (proptest) of invariants the engine must keep whatever arrives:
//!
//! 1. ingress: extended sequence numbers and timestamps follow the sender's numbering exactly
//!    (so they are monotonic in it) under any reordering within the misorder window, across
//!    16-bit wraparound, with duplicates dropped once;
//! 2. the jitter buffer's memory is bounded whatever packets arrive (held packets ≤ capacity,
//!    no heap growth after construction);
//! 3. a recording's duration equals its timeline span (the later leg's first packet's arrival
//!    position plus the media its packets cover), whatever the loss and jitter;
//! 4. encode → decode round trips stay within each codec's tolerance (G.711 within half a
//!    quantisation step, G.722 above an SNR floor per band, Opus keeping a tone's level and purity).
//!
//! L16 has no codec here yet (`codec::L16` is not on main); add its bit-exact round trip when
//! it lands.

mod alloc_counter;

#[global_allocator]
static ALLOC: alloc_counter::Counting = alloc_counter::Counting;

use bytes::Bytes;
use jyqq_media::codec::{
    alaw_decode, alaw_encode, ulaw_decode, ulaw_encode, Decoder, Encoder, G722Decoder, G722Encoder, G722Mode,
    OpusDecoder, OpusEncoder, OpusEncoderConfig,
};
use jyqq_media::jitter::{JitterBuffer, JitterConfig, PlayoutDelay};
use jyqq_media::record::{read_ogg_opus, Recorder, RecorderConfig};
use jyqq_media::rtp::{
    ExtTimestamp, Ingress, IngressConfig, IngressDrop, MediaPacket, PayloadMap, PayloadType, RtpHeader, SeqNo, Ssrc,
    StreamEpoch,
};
use jyqq_media::{ClockRate, HostTime, Leg, SampleRate};
use proptest::prelude::*;
use std::f64::consts::PI;
use std::net::SocketAddr;
use std::time::Duration;

// ---------------------------------------------------------------------------------------
// 1. Extended sequence numbers under reordering
// ---------------------------------------------------------------------------------------

/// A stream of `n` packets sent in order from (`seq0`, `ts0`), delivered in the order of
/// `index + delay[index]` (each delay < `window`), with the packets in `dups` sent twice.
#[derive(Debug, Clone)]
struct Reordered {
    /// Packets sent.
    n: usize,
    seq0: u16,
    ts0: u32,
    /// Send index of each arrival, in arrival order.
    arrivals: Vec<usize>,
}

fn reordered() -> impl Strategy<Value = Reordered> {
    let seq0 = prop_oneof![any::<u16>(), 65_300u16..=65_535];
    (seq0, any::<u32>(), 20usize..400, 0usize..=50).prop_flat_map(|(seq0, ts0, n, window)| {
        let delays = proptest::collection::vec(0..=window, n);
        let dups = proptest::collection::vec((0..n, 0..=window), 0..n / 4);
        (Just(seq0), Just(ts0), delays, dups).prop_map(|(seq0, ts0, delays, dups)| {
            let mut keyed: Vec<(usize, usize, usize)> = delays.iter().enumerate().map(|(i, d)| (i + d, 0, i)).collect();
            keyed.extend(dups.iter().map(|&(i, d)| (i + d, 1, i)));
            keyed.sort();
            Reordered { n: delays.len(), seq0, ts0, arrivals: keyed.into_iter().map(|(_, _, i)| i).collect() }
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn extended_numbers_follow_the_senders_order(r in reordered()) {
        let from: SocketAddr = "192.0.2.1:4000".parse().unwrap();
        let mut ingress = Ingress::new(IngressConfig::default());
        let mut buf = Vec::new();
        let first = r.arrivals[0];
        let mut accepted = vec![0u32; r.n];
        let (mut dups, mut too_old) = (0u64, 0u64);
        for (k, &i) in r.arrivals.iter().enumerate() {
            let seq = r.seq0.wrapping_add(i as u16);
            let ts = r.ts0.wrapping_add(160 * i as u32);
            buf.clear();
            RtpHeader::new(PayloadType(0), seq, ts, Ssrc(7)).write(&[0xFF; 160], &mut buf).unwrap();
            let now = HostTime::from_millis(20 * k as u64);
            // Where the sender's numbering puts packet i relative to the first arrival.
            let want_seq = i64::from(r.seq0.wrapping_add(first as u16)) + i as i64 - first as i64;
            let want_ts = (1i64 << 32) + i64::from(r.ts0.wrapping_add(160 * first as u32)) + 160 * (i as i64 - first as i64);
            match ingress.receive(now, from, &buf) {
                Ok(p) => {
                    prop_assert_eq!(p.seq.0 as i64, want_seq, "packet {} seq {}", i, seq);
                    prop_assert_eq!(p.timestamp.0 as i64, want_ts, "packet {} ts {}", i, ts);
                    prop_assert_eq!(p.epoch, StreamEpoch(0));
                    accepted[i] += 1;
                }
                Err(IngressDrop::Duplicate { seq: s, .. }) => {
                    prop_assert_eq!(s.0 as i64, want_seq);
                    prop_assert!(accepted[i] == 1, "duplicate of {} before its original", i);
                    dups += 1;
                }
                Err(IngressDrop::TooOld { .. }) => {
                    // Only a packet from before the first arrival's 16-bit cycle (it would
                    // need a negative extended number).
                    prop_assert!(want_seq < 0, "packet {} (ext {}) dropped as too old", i, want_seq);
                    too_old += 1;
                }
                Err(e) => prop_assert!(false, "packet {} dropped: {}", i, e),
            }
        }
        // Every packet the numbering can place was accepted exactly once.
        let placeable = (0..accepted.len())
            .filter(|&i| i64::from(r.seq0.wrapping_add(first as u16)) + i as i64 - first as i64 >= 0)
            .count();
        prop_assert_eq!(accepted.iter().filter(|&&a| a == 1).count(), placeable);
        prop_assert!(accepted.iter().all(|&a| a <= 1));
        let c = ingress.counters();
        prop_assert_eq!(c.duplicate, dups);
        prop_assert_eq!(c.too_old, too_old);
        prop_assert_eq!(c.accepted as usize, placeable);
    }
}

// ---------------------------------------------------------------------------------------
// 2. Jitter buffer memory
// ---------------------------------------------------------------------------------------

/// Payload bytes with no heap behind them, so every allocation measured is the buffer's.
static PAYLOAD: [u8; 160] = [0xD5; 160];

#[derive(Debug, Clone)]
enum JbOp {
    Insert { dt_ms: u8, seq: u64, ts_ticks: u64, epoch: u8, marker: bool, pt: u8, len: u8 },
    Pop { dt_ms: u8 },
}

fn jb_op() -> impl Strategy<Value = JbOp> {
    prop_oneof![
        3 => (any::<u8>(), 0u64..5_000, 0u64..2_000_000, 0u8..4, any::<bool>(), prop_oneof![Just(0u8), Just(13), any::<u8>()], 0u8..=160)
            .prop_map(|(dt_ms, seq, ts_ticks, epoch, marker, pt, len)| JbOp::Insert { dt_ms: dt_ms % 41, seq, ts_ticks, epoch, marker, pt: pt & 0x7F, len }),
        1 => any::<u8>().prop_map(|dt_ms| JbOp::Pop { dt_ms: dt_ms % 81 }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn jitter_buffer_memory_is_bounded(
        capacity in 1usize..64,
        adaptive in any::<bool>(),
        ops in proptest::collection::vec(jb_op(), 1..3_000),
    ) {
        let delay = if adaptive {
            PlayoutDelay::Adaptive { min: Duration::from_millis(20), max: Duration::from_millis(500), initial: Duration::from_millis(60) }
        } else {
            PlayoutDelay::Fixed(Duration::from_millis(60))
        };
        let cfg = JitterConfig::new(ClockRate::HZ_8000).with_delay(delay).with_capacity(capacity);
        let base = alloc_counter::live_bytes();
        let mut jb = JitterBuffer::new(cfg);
        let built = alloc_counter::live_bytes() - base;
        let mut peak = 0isize;
        let mut now = 0u64;
        for op in &ops {
            match *op {
                JbOp::Insert { dt_ms, seq, ts_ticks, epoch, marker, pt, len } => {
                    now += u64::from(dt_ms);
                    let p = MediaPacket {
                        arrival: HostTime::from_millis(now),
                        ssrc: Ssrc(1),
                        payload_type: PayloadType(pt),
                        marker,
                        seq: SeqNo(seq),
                        timestamp: ExtTimestamp((1 << 32) + ts_ticks),
                        epoch: StreamEpoch(u32::from(epoch)),
                        payload: Bytes::from_static(&PAYLOAD[..usize::from(len)]),
                    };
                    let _ = jb.insert(p);
                }
                JbOp::Pop { dt_ms } => {
                    now += u64::from(dt_ms);
                    let _ = jb.pop(HostTime::from_millis(now));
                }
            }
            prop_assert!(jb.len() <= capacity, "{} packets held, capacity {}", jb.len(), capacity);
            prop_assert_eq!(jb.stats().buffered_packets, jb.len());
            peak = peak.max(alloc_counter::live_bytes() - base - built);
        }
        // Nothing allocated after construction (beyond the odd small bookkeeping buffer):
        // the growth does not depend on how many packets arrived.
        prop_assert!(peak <= 4096, "heap grew by {} bytes after construction ({} ops)", peak, ops.len());
        drop(jb);
    }
}

// ---------------------------------------------------------------------------------------
// 3. Recording duration = timeline span
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct LegPlan {
    /// First packet's nominal send time, ms after the recording start.
    offset_ms: u64,
    /// Arrival jitter of each packet (0..=40 ms, below the 60 ms reorder window).
    jitter_ms: Vec<u64>,
    /// Lost packets (never arrive).
    lost: Vec<bool>,
}

fn leg_plan() -> impl Strategy<Value = LegPlan> {
    (0u64..2_000, 1usize..200).prop_flat_map(|(offset_ms, n)| {
        (
            Just(offset_ms),
            proptest::collection::vec(0u64..=40, n),
            proptest::collection::vec(prop::bool::weighted(0.1), n),
        )
            .prop_map(|(offset_ms, jitter_ms, lost)| LegPlan { offset_ms, jitter_ms, lost })
    })
}

/// (arrival ns, leg, k) of every packet that arrives.
fn arrivals(plans: &[LegPlan; 2]) -> Vec<(u64, usize, u64)> {
    let mut v = Vec::new();
    for (leg, p) in plans.iter().enumerate() {
        for (k, (&j, &lost)) in p.jitter_ms.iter().zip(&p.lost).enumerate() {
            if !lost {
                v.push(((p.offset_ms + 20 * k as u64 + j) * 1_000_000, leg, k as u64));
            }
        }
    }
    v.sort();
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn recording_duration_equals_timeline_span(plans in [leg_plan(), leg_plan()], g722 in any::<bool>()) {
        // G.722: 16 kHz audio on an 8 kHz RTP clock (RFC 3551 §4.5.2); PCMU: 8 kHz.
        let (pt, rate, samples_per_packet) = if g722 { (9u8, 16_000u64, 320u64) } else { (0, 8_000, 160) };
        let map = PayloadMap::static_defaults();
        let cfg = RecorderConfig::new(SampleRate::new(rate as u32), map.clone(), map.clone());
        let mut rec = Recorder::new(cfg, HostTime::ZERO).unwrap();
        let mut ingress = [Ingress::new(IngressConfig::new(map.clone())), Ingress::new(IngressConfig::new(map))];
        let addrs: [SocketAddr; 2] = ["192.0.2.1:4000".parse().unwrap(), "198.51.100.2:5000".parse().unwrap()];
        let mut ogg = Vec::new();
        let mut buf = Vec::new();
        let payload = [0x55u8; 160];
        let mut tick = 20_000_000u64;
        let all = arrivals(&plans);
        for &(at, leg, k) in &all {
            while tick <= at {
                rec.handle_timeout(HostTime::from_nanos(tick)).unwrap();
                tick += 20_000_000;
            }
            buf.clear();
            RtpHeader::new(PayloadType(pt), 300u16.wrapping_add(k as u16), 5_000 + 160 * k as u32, Ssrc(1 + leg as u32))
                .write(&payload, &mut buf)
                .unwrap();
            let p = ingress[leg].receive(HostTime::from_nanos(at), addrs[leg], &buf).unwrap();
            rec.push(if leg == 0 { Leg::A } else { Leg::B }, p);
            while let Some(page) = rec.poll_page() {
                ogg.extend_from_slice(&page.data);
            }
        }
        let end_at = all.last().map_or(0, |a| a.0) + 20_000_000;
        rec.finish(HostTime::from_nanos(end_at)).unwrap();
        while let Some(page) = rec.poll_page() {
            ogg.extend_from_slice(&page.data);
        }
        // The timeline span: each leg starts where its first (lowest) packet arrived — or
        // earlier, down to where its least-delayed packet puts it (the recorder refines a leg's
        // anchor toward the fastest packet while the lead-in is not yet encoded) — and covers
        // up to the end of its last packet; the recording spans the later leg.
        let (mut span_hi, mut span_lo) = (0u64, 0u64);
        for (leg, p) in plans.iter().enumerate() {
            let got: Vec<usize> = (0..p.lost.len()).filter(|&k| !p.lost[k]).collect();
            let (Some(&first), Some(&last)) = (got.first(), got.last()) else { continue };
            let pos_of = |k: usize| all.iter().find(|a| a.1 == leg && a.2 == k as u64).unwrap().0 * rate / 1_000_000_000;
            let anchor_hi = pos_of(first);
            let anchor_lo = got.iter().map(|&k| pos_of(k).saturating_sub((k - first) as u64 * samples_per_packet)).min().unwrap();
            let len = (last - first + 1) as u64 * samples_per_packet;
            span_hi = span_hi.max(anchor_hi + len);
            span_lo = span_lo.max(anchor_lo.min(anchor_hi) + len);
        }
        let info = read_ogg_opus(&ogg).unwrap();
        prop_assert!(info.eos_on_last_page);
        let pre_skip = u64::from(info.head.pre_skip);
        let span = (info.last_granule.unwrap() - pre_skip) * rate / 48_000;
        prop_assert!(span_lo <= span && span <= span_hi, "span {} not in {}..={} samples at {} Hz", span, span_lo, span_hi, rate);
        prop_assert_eq!(info.duration(), Duration::from_nanos(span * 1_000_000_000 / rate));
        prop_assert_eq!(rec.duration(), Duration::from_nanos(span * 1_000_000_000 / rate));
    }
}

// ---------------------------------------------------------------------------------------
// 4. Codec round trips
// ---------------------------------------------------------------------------------------

/// Half the A-law quantisation step at `x` in 16-bit units (13-bit A-law scaled ×8, ITU-T
/// G.711 table 1): step 16 below 512, else 1/16 of the segment's lower bound.
fn alaw_half_step(x: i16) -> i32 {
    let m = i32::from(x).unsigned_abs().max(1);
    let seg_low = 1i32 << (31 - m.leading_zeros());
    (if m < 512 { 16 } else { seg_low / 16 }) / 2
}

/// Half the µ-law quantisation step at `x` in 16-bit units (14-bit µ-law scaled ×4, biased
/// by 33, ITU-T G.711 table 2): the step in segment s is 2^(s+3), and 2^(s+5) ≤ |x|/4 + 33.
fn ulaw_half_step(x: i16) -> i32 {
    let biased = i32::from(x).unsigned_abs() as i32 / 4 + 33;
    let seg_low = 1i32 << (31 - (biased as u32).leading_zeros());
    (seg_low / 4) / 2
}

fn snr_db(reference: &[i16], decoded: &[i16]) -> f64 {
    let (mut s, mut e) = (0.0f64, 0.0f64);
    for (&r, &d) in reference.iter().zip(decoded) {
        s += f64::from(r).powi(2);
        e += (f64::from(r) - f64::from(d)).powi(2);
    }
    10.0 * (s / e.max(1e-9)).log10()
}

/// Least-squares fit of a sine at `freq` (Hz) to `x` (at `rate` Hz): (power of the fitted
/// sine, power of the residual), both per sample.
fn sine_fit(x: &[i16], freq: f64, rate: f64) -> (f64, f64) {
    let (mut ss, mut cc, mut sc, mut xs, mut xc) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        let w = 2.0 * PI * freq * i as f64 / rate;
        let (sn, cs, v) = (w.sin(), w.cos(), f64::from(v));
        ss += sn * sn;
        cc += cs * cs;
        sc += sn * cs;
        xs += v * sn;
        xc += v * cs;
    }
    let det = ss * cc - sc * sc;
    let a = (xs * cc - xc * sc) / det;
    let b = (xc * ss - xs * sc) / det;
    let (mut fit, mut rest) = (0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        let w = 2.0 * PI * freq * i as f64 / rate;
        let f = a * w.sin() + b * w.cos();
        fit += f * f;
        rest += (f64::from(v) - f).powi(2);
    }
    (fit / x.len() as f64, rest / x.len() as f64)
}

fn tones(freqs: &[f64], amps: &[f64], rate: f64, n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| {
            let t = i as f64 / rate;
            freqs.iter().zip(amps).map(|(f, a)| a * (2.0 * PI * f * t).sin()).sum::<f64>() as i16
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn g711_round_trip_within_half_a_step(x in any::<i16>()) {
        let a = i32::from(alaw_decode(alaw_encode(x)));
        prop_assert!((a - i32::from(x)).abs() <= alaw_half_step(x), "A-law {} -> {}", x, a);
        let u = i32::from(ulaw_decode(ulaw_encode(x)));
        prop_assert!((u - i32::from(x)).abs() <= ulaw_half_step(x), "µ-law {} -> {}", x, u);
    }

    #[test]
    fn g711_codes_round_trip(code in any::<u8>()) {
        prop_assert_eq!(alaw_encode(alaw_decode(code)), code);
        // µ-law has two zeros (0x7F is -0); every other code maps back to itself.
        let back = ulaw_encode(ulaw_decode(code));
        prop_assert!(back == code || (code == 0x7F && back == 0xFF), "{:#04x} -> {:#04x}", code, back);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn g722_round_trip_above_snr_floor(
        // Up to three tones in the lower band (0–4 kHz, 6-bit ADPCM), or one tone anywhere
        // (the upper band has 2-bit ADPCM).
        freqs in prop_oneof![
            proptest::collection::vec(100.0f64..3_800.0, 1..=3),
            proptest::collection::vec(100.0f64..7_000.0, 1..=1),
        ],
        level in 1_000.0f64..9_000.0,
    ) {
        let amps = vec![level / freqs.len() as f64; freqs.len()];
        let pcm = tones(&freqs, &amps, 16_000.0, 16_000 / 5);
        let mut enc = G722Encoder::new();
        let mut dec = G722Decoder::new(G722Mode::Mode1);
        let mut out = Vec::new();
        let mut payload = [0u8; 160];
        let mut frame = [0i16; 320];
        for chunk in pcm.chunks_exact(320) {
            let n = enc.encode(chunk, &mut payload).unwrap();
            prop_assert_eq!(n, 160);
            let m = dec.decode(&payload, &mut frame).unwrap();
            prop_assert_eq!(m, 320);
            out.extend_from_slice(&frame);
        }
        // The QMF pair delays the signal by 22 samples (ITU-T G.722 §4); skip the first frame
        // (ADPCM adaptation). The lower band (0–4 kHz) has 6-bit ADPCM, the upper band 2 bits.
        let delay = 22;
        let snr = snr_db(&pcm[320..pcm.len() - delay], &out[320 + delay..]);
        // Measured worst: 30 dB for lower-band mixes, 20.5 dB for one upper-band tone.
        let floor = if freqs.iter().all(|&f| f < 3_800.0) { 25.0 } else { 16.0 };
        prop_assert!(snr >= floor, "SNR {:.1} dB (< {}) for {:?} Hz at {:.0}", snr, floor, freqs, level);
    }

    #[test]
    fn opus_round_trip_keeps_tone_level_and_purity(
        rate_i in 0usize..3,
        freq in 150.0f64..3_800.0,
        level in 500.0f64..24_000.0,
    ) {
        let hz = [8_000u32, 16_000, 48_000][rate_i];
        let rate = SampleRate::new(hz);
        let mut enc = OpusEncoder::new(OpusEncoderConfig::new(rate, 1)).unwrap();
        let mut dec = OpusDecoder::new(rate, 1).unwrap();
        let frame = hz as usize / 50;
        let pcm = tones(&[freq], &[level], f64::from(hz), frame * 25);
        let mut out = Vec::new();
        let mut payload = [0u8; 1500];
        let mut dec_frame = vec![0i16; frame];
        for chunk in pcm.chunks_exact(frame) {
            let n = enc.encode(chunk, &mut payload).unwrap();
            let m = dec.decode(&payload[..n], &mut dec_frame).unwrap();
            prop_assert_eq!(m, frame);
            out.extend_from_slice(&dec_frame);
        }
        // Opus is perceptual, not waveform-exact: judge the decoded tone itself (after the
        // first 100 ms): its level, and how far everything else stays below it. Narrowband
        // (8 kHz: SILK at the automatic ~11 kbit/s) is the roughest: a 150–3800 Hz sweep at
        // 500–24000 peak measured level down to −4.5 dB (quiet tones near 2 kHz) and
        // tone/rest ≥ 11.2 dB there, and ≥ −0.4 dB / ≥ 23 dB at 16 and 48 kHz.
        let (max_level_db, min_purity_db) = if hz == 8_000 { (6.0, 8.0) } else { (1.0, 18.0) };
        let x = &out[frame * 5..];
        let (tone, rest) = sine_fit(x, freq, f64::from(hz));
        let level_db = 10.0 * (tone / (level * level / 2.0)).log10();
        let purity_db = 10.0 * (tone / rest.max(1e-9)).log10();
        prop_assert!(level_db.abs() <= max_level_db, "level {:+.2} dB at {} Hz for {:.0} Hz", level_db, hz, freq);
        prop_assert!(purity_db >= min_purity_db, "tone/rest {:.1} dB at {} Hz for {:.0} Hz", purity_db, hz, freq);
    }
}
