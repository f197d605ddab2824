//! Unit tests of ingress.rs.

use super::*;
use crate::rtp::{ExtTimestamp, PayloadType, RtpHeader, TimestampExtender};

const A: &str = "192.0.2.10:60064";
const B: &str = "198.51.100.7:4000";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address literal")
}

fn pkt(pt: u8, seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
    let mut v = Vec::new();
    RtpHeader::new(PayloadType(pt), seq, ts, Ssrc(ssrc)).write(&[0xD5; 160], &mut v).expect("PT < 128");
    v
}

fn immediate() -> Ingress {
    Ingress::new(IngressConfig { probation: 0, ..IngressConfig::default() })
}

fn t(ms: u64) -> HostTime {
    HostTime::from_millis(ms)
}

#[test]
fn learns_first_source_and_drops_others() {
    let mut ing = immediate();
    assert!(ing.receive(t(0), addr(A), &pkt(0, 1, 0, 7)).is_ok());
    assert_eq!(ing.remote(), Some(addr(A)));
    assert_eq!(ing.receive(t(20), addr(B), &pkt(0, 2, 160, 7)), Err(IngressDrop::ForeignSource { from: addr(B) }));
    let p = ing.receive(t(20), addr(A), &pkt(0, 2, 160, 7)).expect("legit packet");
    assert_eq!(p.seq, SeqNo(2));
    let c = ing.counters();
    assert_eq!((c.datagrams, c.accepted, c.foreign_source), (3, 2, 1));
}

#[test]
fn non_strict_accepts_any_address() {
    let mut ing = Ingress::new(IngressConfig { strict_source: false, probation: 0, ..IngressConfig::default() });
    assert!(ing.receive(t(0), addr(A), &pkt(0, 1, 0, 7)).is_ok());
    assert!(ing.receive(t(20), addr(B), &pkt(0, 2, 160, 7)).is_ok());
    assert_eq!(ing.remote(), Some(addr(A)));
    assert_eq!(ing.counters().foreign_source, 0);
}

#[test]
fn malformed_and_rtcp_are_counted_and_teach_nothing() {
    let mut ing = immediate();
    let rr = [0x80, 201, 0, 1, 0, 0, 0, 7];
    assert_eq!(ing.receive(t(0), addr(B), &rr), Err(IngressDrop::Rtcp { packet_type: 201 }));
    assert_eq!(
        ing.receive(t(0), addr(B), &[0x80, 0, 0]),
        Err(IngressDrop::Malformed(RtpParseError::TooShort { len: 3 }))
    );
    assert_eq!(ing.remote(), None);
    assert!(ing.receive(t(0), addr(A), &pkt(0, 1, 0, 7)).is_ok());
    assert_eq!(ing.remote(), Some(addr(A)));
    let c = ing.counters();
    assert_eq!((c.rtcp, c.malformed, c.accepted), (1, 1, 1));
}

#[test]
fn default_probation_accepts_first_packet() {
    let mut ing = Ingress::new(IngressConfig::default());
    let p = ing.receive(t(0), addr(A), &pkt(0, 500, 0, 9)).expect("accepted at once");
    assert_eq!((p.seq, p.epoch), (SeqNo(500), StreamEpoch(0)));
    assert_eq!(ing.counters().probation, 0);
}

#[test]
fn probation_two_drops_first_packet() {
    let mut ing = Ingress::new(IngressConfig { probation: 2, ..IngressConfig::default() });
    assert_eq!(ing.receive(t(0), addr(A), &pkt(0, 500, 0, 9)), Err(IngressDrop::Probation { ssrc: Ssrc(9) }));
    assert_eq!(ing.current_stream(), None);
    let p = ing.receive(t(20), addr(A), &pkt(0, 501, 160, 9)).expect("validated");
    assert_eq!((p.seq, p.epoch), (SeqNo(501), StreamEpoch(0)));
    assert_eq!(ing.counters().probation, 1);
    assert_eq!(ing.stats().map(|s| (s.received, s.expected())), Some((1, 1)));
}

#[test]
fn ssrc_change_starts_new_epoch_and_stale_packets_drop() {
    let mut ing = Ingress::new(IngressConfig { probation: 2, ..IngressConfig::default() });
    for k in 0..5u16 {
        let _ = ing.receive(t(20 * u64::from(k)), addr(A), &pkt(0, 30000 + k, 5_000_000 + 160 * u32::from(k), 0xA));
    }
    assert_eq!(ing.current_stream(), Some((Ssrc(0xA), StreamEpoch(0))));
    // New SSRC: first packet on probation, the second switches.
    assert!(matches!(ing.receive(t(160), addr(A), &pkt(0, 40, 123, 0xB)), Err(IngressDrop::Probation { .. })));
    let p = ing.receive(t(180), addr(A), &pkt(0, 41, 283, 0xB)).expect("new SSRC valid");
    assert_eq!((p.ssrc, p.epoch, p.seq), (Ssrc(0xB), StreamEpoch(1), SeqNo(41)));
    // A reordered packet of the old SSRC arrives late.
    assert_eq!(
        ing.receive(t(185), addr(A), &pkt(0, 30003, 5_000_480, 0xA)),
        Err(IngressDrop::StaleSource { ssrc: Ssrc(0xA) })
    );
    let all: Vec<(Ssrc, StreamEpoch, u64)> = ing.all_stats().map(|st| (st.ssrc, st.epoch, st.received)).collect();
    assert_eq!(all, vec![(Ssrc(0xA), StreamEpoch(0), 4), (Ssrc(0xB), StreamEpoch(1), 1)]);
    let c = ing.counters();
    assert_eq!((c.ssrc_changes, c.stale_source, c.probation), (1, 1, 2));
}

#[test]
fn sequence_restart_on_same_ssrc_bumps_epoch() {
    let mut ing = immediate();
    for k in 0..3u16 {
        assert!(ing.receive(t(20 * u64::from(k)), addr(A), &pkt(0, 1000 + k, 160 * u32::from(k), 5)).is_ok());
    }
    assert_eq!(
        ing.receive(t(60), addr(A), &pkt(0, 20000, 99_999, 5)),
        Err(IngressDrop::BadSequence { ssrc: Ssrc(5), seq: 20000 })
    );
    let p = ing.receive(t(80), addr(A), &pkt(0, 20001, 100_159, 5)).expect("restart");
    assert_eq!((p.epoch, p.seq), (StreamEpoch(1), SeqNo(20001)));
    assert_eq!(p.timestamp, ExtTimestamp(TimestampExtender::FIRST_CYCLE + 100_159));
    assert_eq!(ing.counters().sequence_restarts, 1);
    let bad: Vec<u64> = ing.all_stats().map(|s| s.bad_sequence).collect();
    assert_eq!(bad, vec![1, 0]);
}

#[test]
fn duplicates_dropped_even_long_after() {
    let mut ing = immediate();
    assert!(ing.receive(t(0), addr(A), &pkt(0, 100, 0, 5)).is_ok());
    assert_eq!(
        ing.receive(t(45), addr(A), &pkt(0, 100, 0, 5)),
        Err(IngressDrop::Duplicate { ssrc: Ssrc(5), seq: SeqNo(100) })
    );
    assert!(ing.receive(t(60), addr(A), &pkt(0, 101, 160, 5)).is_ok());
    assert!(ing.receive(t(80), addr(A), &pkt(0, 102, 320, 5)).is_ok());
    let s = ing.stats().expect("stream");
    assert_eq!((s.duplicates, s.received, s.expected(), s.lost()), (1, 4, 3, -1));
    assert_eq!(ing.counters().duplicate, 1);
}

#[test]
fn payload_marker_and_unknown_pt_pass_through() {
    let mut ing = immediate();
    let mut d = Vec::new();
    RtpHeader::new(PayloadType(96), 7, 960, Ssrc(1))
        .with_marker(true)
        .with_padding(4)
        .write(&[1, 2, 3], &mut d)
        .expect("valid header");
    let p = ing.receive(t(0), addr(A), &d).expect("unknown PT is not dropped");
    assert!(p.marker);
    assert_eq!(p.payload_type, PayloadType(96));
    assert_eq!(&p.payload[..], &[1, 2, 3]);
    assert_eq!(p.arrival, t(0));
    assert_eq!(ing.counters().unknown_payload_type, 1);
    assert_eq!(ing.stats().map(|s| s.jitter.clock_rate()), Some(None));
}

#[test]
fn packet_before_cycle_zero_is_too_old() {
    let mut ing = immediate();
    assert!(ing.receive(t(0), addr(A), &pkt(0, 1, 160, 5)).is_ok());
    assert_eq!(
        ing.receive(t(5), addr(A), &pkt(0, 65535, 4_294_967_136, 5)),
        Err(IngressDrop::TooOld { ssrc: Ssrc(5), seq: 65535 })
    );
    let p = ing.receive(t(10), addr(A), &pkt(0, 0, 0, 5)).expect("reordered, in cycle 0");
    assert_eq!(p.seq, SeqNo(0));
    assert_eq!(ing.stats().map(|s| (s.reordered, s.too_old)), Some((1, 1)));
}

#[test]
fn rebinding_moves_the_accepted_address() {
    let mut ing = immediate();
    ing.bind_remote(addr(B));
    assert!(matches!(ing.receive(t(0), addr(A), &pkt(0, 1, 0, 5)), Err(IngressDrop::ForeignSource { .. })));
    assert!(ing.receive(t(0), addr(B), &pkt(0, 1, 0, 5)).is_ok());
    ing.bind_remote(addr(A));
    let p = ing.receive(t(20), addr(A), &pkt(0, 2, 160, 5)).expect("continues");
    assert_eq!((p.seq, p.epoch), (SeqNo(2), StreamEpoch(0)));
    assert!(matches!(ing.receive(t(40), addr(B), &pkt(0, 3, 320, 5)), Err(IngressDrop::ForeignSource { .. })));
}
