//! rtpproxy's "adhoc" recording format (rtpproxy `rtpp_record_adhoc.h`,
//! `struct pkt_hdr_adhoc`): records of a 30-byte little-endian header and one
//! RTP or RTCP packet. The format has no magic number and does not record the
//! destination address.

use super::{Capture, CaptureFormat, Datagram};
use crate::time::HostTime;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Record header length: 20-byte packed source address, f64 time, u16 length.
const HEADER_LEN: usize = 30;
/// Address families as stored by the recording host: AF_INET is 2 everywhere;
/// AF_INET6 is 10 (Linux), 24 (NetBSD, OpenBSD), 28 (FreeBSD) or 30 (Darwin).
const AF_INET: u16 = 2;
const AF_INET6: [u16; 4] = [10, 24, 28, 30];
/// Latest accepted arrival time, in Unix seconds (the year 2500); later or
/// non-finite times are taken as corrupt records.
const MAX_UNIX_SECONDS: f64 = 16_725_225_600.0;

/// One decoded record header.
struct Header {
    src: Option<SocketAddr>,
    time: Option<HostTime>,
    len: usize,
}

/// Decodes the header at the start of `b` (which must hold `HEADER_LEN` bytes).
fn header(b: &[u8; HEADER_LEN]) -> Header {
    let family = u16::from_le_bytes([b[0], b[1]]);
    let port = u16::from_be_bytes([b[2], b[3]]);
    let src = if family == AF_INET {
        let ip = Ipv4Addr::new(b[4], b[5], b[6], b[7]);
        Some(SocketAddr::V4(SocketAddrV4::new(ip, port)))
    } else if AF_INET6.contains(&family) {
        let mut a = [0u8; 16];
        a.copy_from_slice(&b[4..20]);
        Some(SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(a), port, 0, 0)))
    } else {
        None
    };
    let mut t = [0u8; 8];
    t.copy_from_slice(&b[20..28]);
    let secs = f64::from_le_bytes(t);
    // Whole seconds and the fraction are scaled apart: `secs * 1e9` would round
    // to a multiple of 256 ns at today's epoch values (f64 has 53 bits).
    // In range, whole seconds are below 1.7e10 and the sum below 1.7e19 < u64::MAX;
    // float-to-int `as` saturates in any case.
    let time = (secs.is_finite() && (0.0..MAX_UNIX_SECONDS).contains(&secs)).then(|| {
        let whole = secs.trunc() as u64;
        let frac_ns = (secs.fract() * 1e9).round() as u64;
        HostTime(whole * 1_000_000_000 + frac_ns)
    });
    Header { src, time, len: usize::from(u16::from_le_bytes([b[28], b[29]])) }
}

fn header_at(bytes: &[u8], offset: usize) -> Option<Header> {
    let b: &[u8; HEADER_LEN] = bytes.get(offset..offset.checked_add(HEADER_LEN)?)?.try_into().ok()?;
    Some(header(b))
}

/// Whether `bytes` starts with a plausible adhoc record: a known address family,
/// zero padding after an IPv4 address, and an arrival time between 1970 and 2500.
pub(super) fn looks_like_adhoc(bytes: &[u8]) -> bool {
    let Some(h) = header_at(bytes, 0) else {
        return false;
    };
    let padding_ok = match h.src {
        Some(SocketAddr::V4(_)) => bytes[8..20].iter().all(|&b| b == 0),
        Some(SocketAddr::V6(_)) => true,
        None => false,
    };
    padding_ok && h.time.is_some()
}

/// Reads every record. Records with an unknown family or an impossible time are
/// counted in `skipped.bad_record` (their length still frames the next record);
/// a record cut by the end of the input sets `truncated`.
///
/// Each datagram's destination is the unspecified address of the source's family
/// with port 0: the format does not record it.
pub(super) fn read(bytes: &[u8]) -> Capture {
    let mut capture = Capture::empty(CaptureFormat::RtpproxyAdhoc);
    let mut offset = 0usize;
    let mut record = 0usize;
    while offset < bytes.len() {
        let Some(h) = header_at(bytes, offset) else {
            capture.truncated = true;
            break;
        };
        let start = offset + HEADER_LEN;
        let Some(packet) = bytes.get(start..start + h.len) else {
            capture.truncated = true;
            break;
        };
        match (h.src, h.time) {
            (Some(src), Some(time)) => {
                let dst = match src {
                    SocketAddr::V4(_) => SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0),
                    SocketAddr::V6(_) => SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), 0),
                };
                capture.datagrams.push(Datagram { time, src, dst, payload: packet.to_vec(), record });
            }
            _ => capture.skipped.bad_record += 1,
        }
        record += 1;
        offset = start + h.len;
    }
    capture
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// One adhoc record from `src` (IPv4) at `secs` Unix seconds.
    pub(crate) fn record(family: u16, src: [u8; 4], port: u16, secs: f64, packet: &[u8]) -> Vec<u8> {
        let mut r = family.to_le_bytes().to_vec();
        r.extend_from_slice(&port.to_be_bytes());
        r.extend_from_slice(&src);
        r.extend_from_slice(&[0u8; 12]);
        r.extend_from_slice(&secs.to_le_bytes());
        r.extend_from_slice(&u16::try_from(packet.len()).expect("small packet").to_le_bytes());
        r.extend_from_slice(packet);
        r
    }

    #[test]
    fn reads_records_and_synthesises_destination() {
        let mut f = record(2, [184, 71, 172, 86], 16384, 1_455_000_000.25, &[0x80, 0, 0, 1]);
        f.extend(record(2, [184, 71, 172, 86], 16384, 1_455_000_000.5, &[0x80; 12]));
        assert!(looks_like_adhoc(&f));
        let c = read(&f);
        assert_eq!(c.datagrams.len(), 2);
        assert_eq!(c.datagrams[0].src, "184.71.172.86:16384".parse().expect("literal"));
        assert_eq!(c.datagrams[0].dst, "0.0.0.0:0".parse().expect("literal"));
        assert_eq!(c.datagrams[0].time, HostTime(1_455_000_000_250_000_000));
        assert_eq!(c.datagrams[1].payload.len(), 12);
        assert!(!c.truncated);
    }

    #[test]
    fn ipv6_source() {
        let mut r = 28u16.to_le_bytes().to_vec();
        r.extend_from_slice(&5004u16.to_be_bytes());
        let mut a = [0u8; 16];
        a[15] = 1;
        r.extend_from_slice(&a);
        r.extend_from_slice(&1.0e9f64.to_le_bytes());
        r.extend_from_slice(&0u16.to_le_bytes());
        assert!(looks_like_adhoc(&r));
        let c = read(&r);
        assert_eq!(c.datagrams[0].src, "[::1]:5004".parse().expect("literal"));
        assert_eq!(c.datagrams[0].dst, "[::]:0".parse().expect("literal"));
    }

    #[test]
    fn bad_records_counted_and_truncation_flagged() {
        let mut f = record(2, [10, 0, 0, 1], 4000, 1.0e9, &[1, 2, 3]);
        f.extend(record(99, [10, 0, 0, 1], 4000, 1.0e9, &[4]));
        f.extend(record(2, [10, 0, 0, 1], 4000, f64::NAN, &[5]));
        f.extend(record(2, [10, 0, 0, 1], 4000, 1.0e9, &[6, 7]));
        let c = read(&f);
        assert_eq!(c.datagrams.len(), 2);
        assert_eq!(c.skipped.bad_record, 2);
        assert_eq!(c.datagrams[1].record, 3);
        let c = read(&f[..f.len() - 1]);
        assert!(c.truncated);
        assert_eq!(c.datagrams.len(), 1);
    }

    #[test]
    fn rejects_lookalikes() {
        assert!(!looks_like_adhoc(&[0u8; 29]));
        assert!(!looks_like_adhoc(&record(3, [1, 2, 3, 4], 1, 1.0e9, &[])));
        assert!(!looks_like_adhoc(&record(2, [1, 2, 3, 4], 1, -5.0, &[])));
        let mut r = record(2, [1, 2, 3, 4], 1, 1.0e9, &[]);
        r[10] = 1; // non-zero padding
        assert!(!looks_like_adhoc(&r));
    }
}
