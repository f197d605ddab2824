use super::*;
use crate::rtp::{ExtTimestamp, RtpPacket, SeqNo};
use bytes::Bytes;

fn at_ms(ms: u64) -> HostTime {
    HostTime::from_nanos(ms * 1_000_000)
}

fn upstream(ssrc: u32, epoch: u32, seq: u64, ts: u64, at: HostTime) -> MediaPacket {
    MediaPacket {
        arrival: at,
        ssrc: Ssrc(ssrc),
        payload_type: PayloadType(0),
        marker: false,
        seq: SeqNo(seq),
        timestamp: ExtTimestamp(ts),
        epoch: StreamEpoch(epoch),
        payload: Bytes::from(vec![0xD5; 160]),
    }
}

/// (seq, ts, marker, ssrc) of a written packet.
fn fields(out: &[u8]) -> (u16, u32, bool, u32) {
    let p = RtpPacket::parse(out).unwrap();
    (p.sequence(), p.timestamp(), p.marker(), p.ssrc().0)
}

#[test]
fn wraps_sequence_and_timestamp() {
    let mut s = RtpSender::new(Ssrc(7), PayloadType(0), 65535, u32::MAX - 479, 8000);
    let mut seen = Vec::new();
    for i in 0..6 {
        let mut out = Vec::new();
        s.packet(at_ms(20 * i), &[0xFF; 160], 160, &mut out);
        let p = RtpPacket::parse(&out).unwrap();
        seen.push((p.sequence(), p.timestamp(), p.marker()));
    }
    assert_eq!(
        seen,
        vec![
            (65535, 4294966816, true),
            (0, 4294966976, false),
            (1, 4294967136, false),
            (2, 0, false),
            (3, 160, false),
            (4, 320, false)
        ]
    );
    assert_eq!(s.next_timestamp(), 480);
}

/// Case B07 in passthrough: upstream X (seq 30000, ts 5 000 000) is replaced by Y (seq 40,
/// ts 123) 60 ms after X's last packet. Out: one SSRC, seq +1, ts +480, M=1.
#[test]
fn b07_forwarding_across_an_upstream_ssrc_change() {
    let mut s = RtpSender::new(Ssrc(0x5EED), PayloadType(0), 1000, 777, 8000);
    s.start_forwarding();
    let mut seen = Vec::new();
    for i in 0..5u64 {
        let mut out = Vec::new();
        assert!(s.forward(
            at_ms(20 * i),
            &upstream(0xAAAA, 0, 30000 + i, 5_000_000 + 160 * i, at_ms(20 * i)),
            PayloadType(0),
            160,
            &mut out
        ));
        seen.push(fields(&out));
    }
    // Y's first packet 60 ms after X's last (at 80 ms).
    for i in 0..3u64 {
        let t = at_ms(140 + 20 * i);
        let mut out = Vec::new();
        assert!(s.forward(t, &upstream(0xBBBB, 1, 40 + i, 123 + 160 * i, t), PayloadType(0), 160, &mut out));
        seen.push(fields(&out));
    }
    assert_eq!(
        seen,
        vec![
            (1000, 777, true, 0x5EED),
            (1001, 937, false, 0x5EED),
            (1002, 1097, false, 0x5EED),
            (1003, 1257, false, 0x5EED),
            (1004, 1417, false, 0x5EED),
            (1005, 1897, true, 0x5EED),
            (1006, 2057, false, 0x5EED),
            (1007, 2217, false, 0x5EED),
        ]
    );
    assert_eq!(s.forwarded(), 8);
}

/// Upstream loss stays a gap and reordering stays reordering; a packet older than the first
/// one forwarded is refused rather than numbered backwards; the wire wraps.
#[test]
fn forwarding_keeps_gaps_and_order_and_never_steps_back() {
    let mut s = RtpSender::new(Ssrc(1), PayloadType(8), 65534, u32::MAX - 159, 8000);
    s.start_forwarding();
    let order = [10u64, 12, 11, 9, 14];
    let mut seen = Vec::new();
    for (i, &n) in order.iter().enumerate() {
        let t = at_ms(20 * i as u64);
        let mut out = Vec::new();
        let ok = s.forward(t, &upstream(5, 0, n, n * 160, t), PayloadType(8), 160, &mut out);
        seen.push(ok.then(|| fields(&out)));
    }
    assert_eq!(
        seen,
        vec![
            Some((65534, u32::MAX - 159, true, 1)),
            Some((0, 160, false, 1)),
            Some((65535, 0, false, 1)),
            None,
            Some((2, 480, false, 1)),
        ]
    );
    assert_eq!(s.next_timestamp(), 640);
}

/// Forwarding → engine-clocked → forwarding (a whisper starts and ends): seq +1 at each
/// switch, ts by elapsed media time, M=1 on the first packet after each switch.
#[test]
fn switching_between_forwarding_and_encoding_is_continuous() {
    let mut s = RtpSender::new(Ssrc(9), PayloadType(0), 100, 0, 8000);
    s.start_forwarding();
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for i in 0..2u64 {
        out.clear();
        s.forward(
            at_ms(20 * i),
            &upstream(3, 0, 500 + i, 8000 + 160 * i, at_ms(20 * i)),
            PayloadType(0),
            160,
            &mut out,
        );
        seen.push(fields(&out));
    }
    s.stop_forwarding();
    // Engine ticks at 40, 60 ms (the first one 20 ms after the last forward at 20 ms).
    for i in 0..2u64 {
        out.clear();
        s.packet(at_ms(40 + 20 * i), &[0xFF; 160], 160, &mut out);
        seen.push(fields(&out));
    }
    s.start_forwarding();
    // The next upstream packet arrives 40 ms after the last tick: 2 frames of media time.
    for i in 0..2u64 {
        out.clear();
        let t = at_ms(100 + 20 * i);
        s.forward(t, &upstream(3, 0, 505 + i, 8800 + 160 * i, t), PayloadType(0), 160, &mut out);
        seen.push(fields(&out));
    }
    assert_eq!(
        seen,
        vec![
            (100, 0, true, 9),
            (101, 160, false, 9),
            (102, 320, true, 9),
            (103, 480, false, 9),
            (104, 800, true, 9),
            (105, 960, false, 9),
        ]
    );
}
