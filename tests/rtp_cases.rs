//! RTP ingress cases from ../shared/CASES.md (B01, B02, B03, B05, B08, and the ingress part
//! of B09), plus a randomized no-panic test of the parser and the ingress.

use jyqq_media::rtp::{
    Ingress, IngressConfig, IngressCounters, IngressDrop, MediaPacket, PayloadType, RtpHeader, RtpPacket,
    RtpParseError, SeqNo, Ssrc, StreamEpoch,
};
use jyqq_media::HostTime;
use std::net::SocketAddr;

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address literal")
}

fn ms(n: u64) -> HostTime {
    HostTime::from_millis(n)
}

/// An ingress that accepts a new SSRC's first packet (MIN_SEQUENTIAL ≤ 1).
fn immediate() -> Ingress {
    let mut config = IngressConfig::default();
    config.probation = 0;
    Ingress::new(config)
}

/// A PCMU packet with 160 payload bytes of `fill`.
fn pcmu(seq: u16, ts: u32, ssrc: u32, fill: u8) -> Vec<u8> {
    let mut v = Vec::new();
    RtpHeader::new(PayloadType(0), seq, ts, Ssrc(ssrc)).write(&[fill; 160], &mut v).expect("PT 0 fits");
    v
}

fn total_drops(c: &IngressCounters) -> u64 {
    c.malformed + c.rtcp + c.foreign_source + c.probation + c.bad_sequence + c.duplicate + c.stale_source + c.too_old
}

// ---------------------------------------------------------------- B01 padding

/// B01 (a): V=2 P=1 X=0 CC=0 M=0 PT=0, seq 1000, ts 160000, SSRC 0x11223344,
/// 160 × 0xFF, padding 00 00 00 04 (176 bytes).
fn b01_packet() -> Vec<u8> {
    let mut d = vec![0xA0, 0x00, 0x03, 0xE8, 0x00, 0x02, 0x71, 0x00, 0x11, 0x22, 0x33, 0x44];
    d.extend_from_slice(&[0xFF; 160]);
    d.extend_from_slice(&[0x00, 0x00, 0x00, 0x04]);
    d
}

#[test]
fn b01a_padding_is_trimmed() {
    let d = b01_packet();
    assert_eq!(d.len(), 176);
    // The writer produces the same bytes.
    let mut w = Vec::new();
    RtpHeader::new(PayloadType(0), 1000, 160_000, Ssrc(0x1122_3344))
        .with_padding(4)
        .write(&[0xFF; 160], &mut w)
        .expect("valid header");
    assert_eq!(w, d);

    let p = RtpPacket::parse(&d).expect("B01(a) is valid");
    assert_eq!(p.payload().len(), 160);
    assert_eq!(p.padding_len(), 4);
    assert!(p.payload().iter().all(|&b| b == 0xFF));
    assert_eq!((p.sequence(), p.timestamp(), p.ssrc()), (1000, 160_000, Ssrc(0x1122_3344)));

    let mut ing = immediate();
    let m = ing.receive(ms(0), addr("192.0.2.10:60064"), &d).expect("accepted");
    // What the decoder gets: exactly 160 µ-law bytes = 160 samples at 8 kHz.
    assert_eq!(m.payload.len(), 160);
    assert!(m.payload.iter().all(|&b| b == 0xFF));
}

#[test]
fn b01bcd_bad_padding_is_malformed_and_counted() {
    let b = b01_packet()[..12].to_vec();
    let mut c = b01_packet();
    *c.last_mut().expect("non-empty") = 0x00;
    let mut d = b01_packet();
    *d.last_mut().expect("non-empty") = 200;

    assert_eq!(RtpPacket::parse(&b), Err(RtpParseError::MissingPadCount));
    assert_eq!(RtpPacket::parse(&c), Err(RtpParseError::BadPadding { pad_count: 0, available: 164 }));
    assert_eq!(RtpPacket::parse(&d), Err(RtpParseError::BadPadding { pad_count: 200, available: 164 }));

    let mut ing = immediate();
    let from = addr("192.0.2.10:60064");
    for bad in [&b, &c, &d] {
        let r = ing.receive(ms(0), from, bad);
        assert!(matches!(r, Err(IngressDrop::Malformed(_))), "{r:?}");
    }
    let k = ing.counters();
    assert_eq!((k.malformed, k.accepted, k.datagrams), (3, 0, 3));
    assert!(ing.stats().is_none(), "no stream from malformed packets");
}

// ---------------------------------------------------------------- B02 extension / CSRC

#[test]
fn b02a_empty_extension_payload_offset_16() {
    let mut d = vec![0x90, 0x00, 0x03, 0xE8, 0x00, 0x02, 0x71, 0x00, 0x11, 0x22, 0x33, 0x44, 0xBE, 0xDE, 0x00, 0x00];
    d.extend_from_slice(&[0x7F; 160]);
    assert_eq!(d.len(), 176);
    let p = RtpPacket::parse(&d).expect("B02(a) is valid");
    assert_eq!(p.payload_offset(), 16);
    assert_eq!(p.payload().len(), 160);
    let x = p.extension().expect("X = 1");
    assert_eq!((x.profile(), x.length_words(), x.data().len()), (0xBEDE, 0, 0));
    assert_eq!(x.elements().count(), 0);
}

#[test]
fn b02b_csrcs_and_one_byte_element() {
    let mut d = vec![
        0x92, 0x00, 0x03, 0xE8, 0x00, 0x02, 0x71, 0x00, 0x11, 0x22, 0x33, 0x44, // fixed header, CC=2
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // CSRCs
        0xBE, 0xDE, 0x00, 0x01, // one-byte extension, 1 word
        0x10, 0xAB, 0x00, 0x00, // ID 1 L=0 data AB, 2 pad bytes
    ];
    d.extend_from_slice(&[0x55; 160]);
    assert_eq!(d.len(), 188);

    let csrcs = [Ssrc(0x0102_0304), Ssrc(0x0506_0708)];
    let mut w = Vec::new();
    RtpHeader::new(PayloadType(0), 1000, 160_000, Ssrc(0x1122_3344))
        .with_csrcs(&csrcs)
        .with_extension(0xBEDE, &[0x10, 0xAB])
        .write(&[0x55; 160], &mut w)
        .expect("valid header");
    assert_eq!(w, d, "writer pads the extension to a word with zero bytes");

    let p = RtpPacket::parse(&d).expect("B02(b) is valid");
    assert_eq!(p.csrcs().collect::<Vec<_>>(), csrcs.to_vec());
    let x = p.extension().expect("X = 1");
    let mut els = x.elements();
    let e = els.next().expect("one element");
    assert_eq!((e.id, e.data), (1, &[0xAB][..]));
    assert_eq!(els.next(), None);
    assert!(!els.is_malformed());
    assert_eq!(p.payload_offset(), 12 + 8 + 4 + 4);
    assert_eq!(p.payload().len(), 160);
    assert!(p.payload().iter().all(|&b| b == 0x55));
}

#[test]
fn b02cd_truncated_extension_is_an_error() {
    let full = {
        let mut d =
            vec![0x90, 0x00, 0x03, 0xE8, 0x00, 0x02, 0x71, 0x00, 0x11, 0x22, 0x33, 0x44, 0xBE, 0xDE, 0x00, 0x00];
        d.extend_from_slice(&[0; 160]);
        d
    };
    // (c) cut at 14 bytes: the extension header is incomplete.
    assert_eq!(RtpPacket::parse(&full[..14]), Err(RtpParseError::TruncatedExtensionHeader { needed: 16, len: 14 }));
    // (d) length 0x0100 words (1024 bytes) but only 20 bytes follow.
    let mut d = full[..16].to_vec();
    d[14] = 0x01;
    d[15] = 0x00;
    d.extend_from_slice(&[0xAA; 20]);
    assert_eq!(RtpPacket::parse(&d), Err(RtpParseError::TruncatedExtension { words: 256, needed: 16 + 1024, len: 36 }));
    let mut ing = immediate();
    let from = addr("192.0.2.10:60064");
    assert!(ing.receive(ms(0), from, &full[..14]).is_err());
    assert!(ing.receive(ms(0), from, &d).is_err());
    assert_eq!(ing.counters().malformed, 2);
}

// ---------------------------------------------------------------- B03 sequence wrap

fn b03_run(mut ing: Ingress) -> (Ingress, Vec<MediaPacket>) {
    let from = addr("192.0.2.10:60064");
    let seqs: Vec<u16> = (65530..=65535).chain(0..=9).collect();
    let mut out = Vec::new();
    for (k, &q) in seqs.iter().enumerate() {
        let k32 = u32::try_from(k).expect("16 packets");
        let r = ing.receive(ms(20 * k as u64), from, &pcmu(q, 1_000_000 + 160 * k32, 0xB03, 0xFF));
        if let Ok(p) = r {
            out.push(p);
        }
    }
    (ing, out)
}

#[test]
fn b03_extended_sequence_across_the_wrap() {
    let (ing, out) = b03_run(immediate());
    let exts: Vec<u64> = out.iter().map(|p| p.seq.0).collect();
    assert_eq!(exts, (65530..=65545).collect::<Vec<u64>>());
    assert!(out.iter().all(|p| p.epoch == StreamEpoch(0)));
    let s = ing.stats().expect("stream");
    assert_eq!((s.received, s.expected(), s.lost(), s.reordered, s.duplicates), (16, 16, 0, 0, 0));
    assert_eq!(ing.counters().accepted, 16);

    // With RFC 3550's MIN_SEQUENTIAL 2 the first packet validates the source and is
    // dropped; the rest are numbered the same way, still with no loss.
    let mut a1 = IngressConfig::default();
    a1.probation = 2;
    let (ing, out) = b03_run(Ingress::new(a1));
    let exts: Vec<u64> = out.iter().map(|p| p.seq.0).collect();
    assert_eq!(exts, (65531..=65545).collect::<Vec<u64>>());
    let s = ing.stats().expect("stream");
    assert_eq!((s.lost(), s.reordered), (0, 0));
    assert_eq!(ing.counters().probation, 1);
}

// ---------------------------------------------------------------- B05 timestamp wrap

/// B05 (a): the sender side; the timestamp advances with `wrapping_add`.
fn b05_sent() -> Vec<Vec<u8>> {
    let mut ts: u32 = 4_294_966_816;
    let mut seq: u16 = 7;
    let mut out = Vec::new();
    for _ in 0..6 {
        out.push(pcmu(seq, ts, 0xB05, 0xFF));
        ts = ts.wrapping_add(160);
        seq = seq.wrapping_add(1);
    }
    out
}

#[test]
fn b05a_sender_timestamps_wrap_without_panic() {
    let ts: Vec<u32> = b05_sent().iter().map(|d| RtpPacket::parse(d).expect("valid").timestamp()).collect();
    assert_eq!(ts, vec![4_294_966_816, 4_294_966_976, 4_294_967_136, 0, 160, 320]);
}

#[test]
fn b05b_receiver_extends_monotonically_with_zero_jitter() {
    let mut ing = immediate();
    let from = addr("192.0.2.10:60064");
    let out: Vec<MediaPacket> = b05_sent()
        .iter()
        .enumerate()
        .map(|(k, d)| ing.receive(ms(1000 + 20 * k as u64), from, d).expect("in order"))
        .collect();
    let ts: Vec<u64> = out.iter().map(|p| p.timestamp.0).collect();
    for w in ts.windows(2) {
        assert_eq!(w[1] - w[0], 160, "extended ts steps +160: {ts:?}");
    }
    // 6 × 20 ms = 120 ms of continuous audio, no 2^32-tick gap.
    assert_eq!(ts[5] + 160 - ts[0], 960);
    assert_eq!(
        out.iter().map(|p| p.timestamp.wire()).collect::<Vec<_>>(),
        vec![4_294_966_816, 4_294_966_976, 4_294_967_136, 0, 160, 320]
    );
    let j = &ing.stats().expect("stream").jitter;
    assert_eq!(j.ticks(), 0.0);
    assert_eq!(j.ms(), 0.0);
}

#[test]
fn b05c_reorder_is_not_a_wrap() {
    let mut ing = immediate();
    let from = addr("192.0.2.10:60064");
    let arrivals = [(1u16, 1000u32), (3, 1320), (2, 1160)];
    let out: Vec<MediaPacket> = arrivals
        .iter()
        .enumerate()
        .map(|(k, &(q, ts))| ing.receive(ms(20 * k as u64), from, &pcmu(q, ts, 0xB05C, 0xFF)).expect("valid"))
        .collect();
    let deltas: Vec<i64> = out.windows(2).map(|w| w[1].timestamp.0 as i64 - w[0].timestamp.0 as i64).collect();
    assert_eq!(deltas, vec![320, -160]);
    assert_eq!(out.iter().map(|p| p.seq).collect::<Vec<_>>(), vec![SeqNo(1), SeqNo(3), SeqNo(2)]);
    let s = ing.stats().expect("stream");
    // A.8 by hand: transit -1000, -1160, -840 ticks; |D| = 160, 320;
    // J = 160/16 = 10, then 10 + (320 - 10)/16 = 29.375 ticks = 3.67 ms.
    assert_eq!(s.jitter.ticks(), 29.375);
    assert!(s.jitter.ms() < 20.0);
    assert_eq!((s.reordered, s.lost()), (1, 0));
}

// ---------------------------------------------------------------- B08 strict source

fn b08_run(config: IngressConfig) -> (Ingress, Vec<MediaPacket>) {
    let old = addr("192.0.2.10:60064");
    let new = addr("192.0.2.10:60066");
    let rogue = addr("203.0.113.66:40000");
    let ssrc = 0x0B08_0B08;
    let mut ing = Ingress::new(config);
    ing.bind_remote(old); // remote from the SDP
    let mut out = Vec::new();
    let mut t = 0u64;
    let mut send = |ing: &mut Ingress, from: SocketAddr, seq: u16, out: &mut Vec<MediaPacket>| {
        t += 10;
        if let Ok(p) = ing.receive(ms(t), from, &pcmu(seq, 8000 + 160 * u32::from(seq), ssrc, 0xFF)) {
            out.push(p);
        }
    };
    for seq in 1..=50u16 {
        send(&mut ing, old, seq, &mut out);
        if seq % 5 == 0 {
            // Same SSRC, plausible sequence numbers, wrong address.
            send(&mut ing, rogue, seq + 1, &mut out);
        }
    }
    ing.bind_remote(new); // re-INVITE moved the port
    for seq in 51..=100u16 {
        send(&mut ing, new, seq, &mut out);
        if seq % 5 == 0 {
            send(&mut ing, rogue, seq + 1, &mut out);
        }
    }
    (ing, out)
}

#[test]
fn b08_strict_source_follows_signalling_and_rejects_bleed() {
    let (mut ing, out) = b08_run(immediate().config().clone());
    assert_eq!(out.len(), 100);
    assert_eq!(out.iter().map(|p| p.seq.0).collect::<Vec<_>>(), (1..=100).collect::<Vec<u64>>());
    assert!(out.iter().all(|p| p.epoch == StreamEpoch(0)));
    let c = *ing.counters();
    assert_eq!((c.accepted, c.foreign_source, c.datagrams), (100, 20, 120));
    assert_eq!(ing.stats().map(|s| s.lost()), Some(0));
    // Outgoing RTP goes to the newly signalled port.
    assert_eq!(ing.remote(), Some(addr("192.0.2.10:60066")));
    // A straggler from the old port is foreign now too.
    let r = ing.receive(ms(10_000), addr("192.0.2.10:60064"), &pcmu(101, 24_160, 0x0B08_0B08, 0xFF));
    assert_eq!(r, Err(IngressDrop::ForeignSource { from: addr("192.0.2.10:60064") }));

    // Probation 2 (RFC 3550 MIN_SEQUENTIAL): the very first packet validates the source and
    // is dropped; the port change itself loses nothing.
    let mut a1 = IngressConfig::default();
    a1.probation = 2;
    let (ing, out) = b08_run(a1);
    let c = ing.counters();
    assert_eq!((out.len(), c.probation, c.foreign_source), (99, 1, 20));
    assert_eq!(out.first().map(|p| p.seq), Some(SeqNo(2)));
    assert_eq!(ing.stats().map(|s| s.lost()), Some(0));
}

// ---------------------------------------------------------------- B09 duplicate (ingress part)

#[test]
fn b09_duplicate_dropped_after_the_original_was_delivered() {
    let mut ing = immediate();
    let from = addr("192.0.2.10:60064");
    let mut out = Vec::new();
    let mut drops = Vec::new();
    for (t, seq) in [(0u64, 100u16), (45, 100), (60, 101), (80, 102)] {
        match ing.receive(ms(t), from, &pcmu(seq, 160 * u32::from(seq), 0xB09, 0xFF)) {
            Ok(p) => out.push(p.seq.0),
            Err(e) => drops.push(e),
        }
    }
    assert_eq!(out, vec![100, 101, 102]);
    assert_eq!(drops, vec![IngressDrop::Duplicate { ssrc: Ssrc(0xB09), seq: SeqNo(100) }]);
    let s = ing.stats().expect("stream");
    assert_eq!(s.duplicates, 1);
    assert_eq!(s.expected() - (s.received - s.duplicates), 0, "nothing lost");
}

// ---------------------------------------------------------------- randomized robustness

/// Numerical Recipes' 64-bit LCG; deterministic, no dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn check_parse(d: &[u8]) {
    if let Ok(p) = RtpPacket::parse(d) {
        assert_eq!(p.payload_offset() + p.payload().len() + p.padding_len(), d.len());
        assert_eq!(p.csrcs().count(), p.csrc_count());
        if let Some(x) = p.extension() {
            let mut els = x.elements();
            for e in els.by_ref() {
                assert!(e.data.len() <= x.data().len());
            }
            let _ = els.is_malformed();
        }
    }
}

#[test]
fn random_bytes_never_panic_parser_or_ingress() {
    let mut rng = Lcg(0x5EED_0B01);
    let addrs = [addr("192.0.2.10:60064"), addr("192.0.2.10:60066"), addr("203.0.113.66:40000")];
    let mut lenient = IngressConfig::default();
    lenient.strict_source = false;
    lenient.max_misorder = u16::MAX;
    lenient.max_dropout = u16::MAX;
    let mut ingresses = [immediate(), Ingress::new(IngressConfig::default()), Ingress::new(lenient)];
    let mut parsed_ok = 0u32;
    let mut delivered = 0u32;
    for i in 0..60_000u64 {
        let d: Vec<u8> = if i % 2 == 0 {
            // Pure noise, biased to version 2 half the time.
            let len = rng.below(80) as usize;
            let mut d: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if let (Some(b), true) = (d.first_mut(), rng.below(2) == 0) {
                *b = 0x80 | (*b & 0x3F);
            }
            d
        } else {
            // A valid packet, then mutated and/or truncated.
            let mut d = Vec::new();
            let csrcs = [Ssrc(1), Ssrc(2), Ssrc(3)];
            let ext = [0x10, 0xAB, 0x21, 1, 2, 0xF0];
            let mut h = RtpHeader::new(
                PayloadType(rng.below(128) as u8),
                (rng.below(40) as u16).wrapping_add(65_500),
                rng.next() as u32,
                Ssrc(rng.below(3) as u32),
            )
            .with_marker(rng.below(2) == 0)
            .with_csrcs(&csrcs[..rng.below(4) as usize])
            .with_padding(rng.below(6) as u8);
            if rng.below(2) == 0 {
                h = h.with_extension(if rng.below(2) == 0 { 0xBEDE } else { 0x1000 }, &ext);
            }
            h.write(&vec![0x55; rng.below(40) as usize], &mut d).expect("valid header");
            for _ in 0..rng.below(4) {
                let at = rng.below(d.len() as u64) as usize;
                d[at] = rng.next() as u8;
            }
            if rng.below(3) == 0 {
                d.truncate(rng.below(d.len() as u64 + 1) as usize);
            }
            d
        };
        check_parse(&d);
        parsed_ok += u32::from(RtpPacket::parse(&d).is_ok());
        let from = addrs[rng.below(3) as usize];
        for ing in ingresses.iter_mut() {
            if let Ok(p) = ing.receive(ms(i), from, &d) {
                delivered += 1;
                let w = RtpPacket::parse(&d).expect("delivered packets parse");
                assert_eq!(p.seq.wire(), w.sequence());
                assert_eq!(p.timestamp.wire(), w.timestamp());
                assert_eq!(&p.payload[..], w.payload());
            }
        }
    }
    assert!(parsed_ok > 10_000, "the generator must reach the parser's accept paths");
    assert!(delivered > 1_000, "and the ingress's delivery path");
    for ing in &ingresses {
        let c = ing.counters();
        assert_eq!(c.accepted + total_drops(c), c.datagrams);
        assert!(ing.all_stats().count() <= 17);
    }
}
