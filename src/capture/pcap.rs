//! Classic libpcap files (both byte orders, microsecond and nanosecond
//! timestamps), framed by pcap-file's slice parser.

use super::link::{LinkType, Sink};
use super::{Capture, CaptureError, CaptureFormat};
use crate::time::HostTime;
use pcap_file::pcap::PcapParser;
use pcap_file::{Endianness, PcapError, TsResolution};

/// Length of the pcap global header.
const HEADER_LEN: usize = 24;
/// Length of a pcap record header.
const RECORD_HEADER_LEN: usize = 16;
/// Record lengths above both the header's snap length and this bound are taken
/// as corrupt framing rather than as a packet (libpcap's own ceiling is 256 KiB
/// for most link types).
const MAX_RECORD_LEN: u32 = 256 * 1024;

/// The four pcap magic numbers as they appear in the first bytes of a file:
/// microsecond and nanosecond variants, big- and little-endian.
pub(super) fn is_pcap_magic(m: [u8; 4]) -> bool {
    matches!(u32::from_be_bytes(m), 0xA1B2_C3D4 | 0xA1B2_3C4D | 0xD4C3_B2A1 | 0x4D3C_B2A1)
}

/// Reads a pcap file whose magic [`is_pcap_magic`] accepted.
pub(super) fn read(bytes: &[u8]) -> Result<Capture, CaptureError> {
    if bytes.len() < HEADER_LEN {
        return Err(CaptureError::TruncatedHeader { format: "pcap", len: bytes.len() });
    }
    let (mut rest, parser) = PcapParser::new(bytes).map_err(|e| match e {
        PcapError::IncompleteBuffer => CaptureError::TruncatedHeader { format: "pcap", len: bytes.len() },
        other => CaptureError::BadHeader { format: "pcap", reason: other.to_string() },
    })?;
    let header = parser.header();
    let linktype = u32::from(header.datalink);
    let link = LinkType::from_linktype(linktype).ok_or(CaptureError::UnsupportedLinkType(linktype))?;
    let nanosecond = header.ts_resolution == TsResolution::NanoSecond;
    let big_endian = header.endianness == Endianness::Big;
    let max_len = header.snaplen.max(MAX_RECORD_LEN);

    let mut capture = Capture::empty(CaptureFormat::Pcap { link_type: link, nanosecond });
    let mut sink = Sink::default();
    let mut record = 0usize;
    while !rest.is_empty() {
        let offset = bytes.len() - rest.len();
        let Some(head) = rest.get(..RECORD_HEADER_LEN) else {
            capture.truncated = true;
            break;
        };
        // Record header: ts_sec, ts_frac, incl_len, orig_len (u32 each).
        let incl = [head[8], head[9], head[10], head[11]];
        let incl_len = if big_endian { u32::from_be_bytes(incl) } else { u32::from_le_bytes(incl) };
        if incl_len > max_len {
            capture.corrupt_at = Some(offset);
            break;
        }
        match parser.next_raw_packet(rest) {
            Ok((rem, raw)) => {
                // The fraction is not range-checked: a few writers store ts_usec
                // values of 1_000_000 or more, which simply carry into the seconds.
                let frac_ns = if nanosecond { u64::from(raw.ts_frac) } else { u64::from(raw.ts_frac) * 1000 };
                let ns = u64::from(raw.ts_sec).saturating_mul(1_000_000_000).saturating_add(frac_ns);
                let wire_len = usize::try_from(raw.orig_len).unwrap_or(usize::MAX);
                sink.push_frame(link, HostTime(ns), &raw.data, wire_len, record);
                record += 1;
                rest = rem;
            }
            Err(PcapError::IncompleteBuffer) => {
                capture.truncated = true;
                break;
            }
            Err(_) => {
                capture.corrupt_at = Some(offset);
                break;
            }
        }
    }
    capture.datagrams = sink.datagrams;
    capture.skipped = sink.skipped;
    Ok(capture)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A pcap file: `big` selects the byte order, `nano` the nanosecond magic.
    pub(crate) fn pcap_file(big: bool, nano: bool, linktype: u32, records: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let w32 = |v: u32| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let w16 = |v: u16| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut f = Vec::new();
        f.extend_from_slice(&w32(if nano { 0xA1B2_3C4D } else { 0xA1B2_C3D4 }));
        f.extend_from_slice(&w16(2));
        f.extend_from_slice(&w16(4));
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&w32(65535));
        f.extend_from_slice(&w32(linktype));
        for (sec, frac, data) in records {
            f.extend_from_slice(&w32(*sec));
            f.extend_from_slice(&w32(*frac));
            let len = u32::try_from(data.len()).expect("test frames are small");
            f.extend_from_slice(&w32(len));
            f.extend_from_slice(&w32(len));
            f.extend_from_slice(data);
        }
        f
    }

    pub(crate) fn raw_udp(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        etherparse::PacketBuilder::ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
            .udp(40000, 40002)
            .write(&mut out, payload)
            .expect("writing to a Vec cannot fail");
        out
    }

    #[test]
    fn both_byte_orders_and_resolutions() {
        let frame = raw_udp(b"rtp");
        for big in [false, true] {
            for nano in [false, true] {
                let f = pcap_file(big, nano, 101, &[(1_700_000_000, 250, &frame)]);
                let c = read(&f).expect("valid pcap");
                assert_eq!(c.format, CaptureFormat::Pcap { link_type: LinkType::RawIp, nanosecond: nano });
                assert_eq!(c.datagrams.len(), 1);
                let frac = if nano { 250 } else { 250_000 };
                assert_eq!(c.datagrams[0].time, HostTime(1_700_000_000_000_000_000 + frac), "big={big} nano={nano}");
                assert_eq!(c.datagrams[0].payload, b"rtp");
                assert!(!c.truncated);
            }
        }
    }

    #[test]
    fn truncation_and_errors() {
        let frame = raw_udp(b"0123456789");
        let f = pcap_file(false, false, 101, &[(1, 0, &frame), (2, 0, &frame)]);
        for cut in 0..f.len() {
            match read(&f[..cut]) {
                Err(CaptureError::TruncatedHeader { format: "pcap", len }) => {
                    assert!(cut < HEADER_LEN);
                    assert_eq!(len, cut);
                }
                Ok(c) => {
                    assert!(cut >= HEADER_LEN);
                    let complete = (cut - HEADER_LEN) / (RECORD_HEADER_LEN + frame.len());
                    assert_eq!(c.datagrams.len(), complete, "cut at {cut}");
                    assert_eq!(c.truncated, cut != HEADER_LEN && cut != HEADER_LEN + RECORD_HEADER_LEN + frame.len());
                }
                Err(e) => panic!("cut at {cut}: {e}"),
            }
        }
        let f = pcap_file(false, false, 147, &[]);
        assert_eq!(read(&f), Err(CaptureError::UnsupportedLinkType(147)));
    }

    #[test]
    fn absurd_record_length_is_corrupt_not_truncated() {
        let frame = raw_udp(b"x");
        let mut f = pcap_file(false, false, 101, &[(1, 0, &frame), (2, 0, &frame)]);
        let second = HEADER_LEN + RECORD_HEADER_LEN + frame.len();
        f[second + 8..second + 12].copy_from_slice(&0x7000_0000u32.to_le_bytes());
        let c = read(&f).expect("header is valid");
        assert_eq!(c.datagrams.len(), 1);
        assert_eq!(c.corrupt_at, Some(second));
        assert!(!c.truncated);
    }
}
