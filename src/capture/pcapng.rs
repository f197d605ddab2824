//! pcapng files: blocks parsed by pcap-file's slice parser, with timestamps scaled
//! by each interface's `if_tsresol` and `if_tsoffset` (pcap-file reports the raw
//! tick count).

use super::link::{LinkType, Sink};
use super::{Capture, CaptureError, CaptureFormat};
use crate::time::HostTime;
use pcap_file::pcapng::blocks::interface_description::{InterfaceDescriptionBlock, InterfaceDescriptionOption};
use pcap_file::pcapng::{Block, PcapNgParser};
use pcap_file::{Endianness, PcapError};

const SECTION_HEADER: u32 = 0x0A0D_0D0A;
const INTERFACE_DESCRIPTION: u32 = 1;
const PACKET: u32 = 2;
const SIMPLE_PACKET: u32 = 3;
const ENHANCED_PACKET: u32 = 6;
/// Byte-order magic of a section header block, read big-endian.
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// A pcapng file starts with a section header block.
pub(super) fn is_pcapng_magic(m: [u8; 4]) -> bool {
    u32::from_be_bytes(m) == SECTION_HEADER
}

/// What a packet needs from its interface description block.
#[derive(Debug, Clone, Copy)]
struct Interface {
    /// The link type, or the unsupported LINKTYPE_ number.
    link: Result<LinkType, u32>,
    /// `if_tsresol` (default 6: microseconds).
    tsresol: u8,
    /// `if_tsoffset` in seconds.
    tsoffset: u64,
}

impl Interface {
    fn from_block(idb: &InterfaceDescriptionBlock<'_>) -> Interface {
        let number = u32::from(idb.linktype);
        let mut i = Interface { link: LinkType::from_linktype(number).ok_or(number), tsresol: 6, tsoffset: 0 };
        for opt in &idb.options {
            match opt {
                InterfaceDescriptionOption::IfTsResol(r) => i.tsresol = *r,
                InterfaceDescriptionOption::IfTsOffset(o) => i.tsoffset = *o,
                _ => {}
            }
        }
        i
    }

    /// Nanoseconds since the Unix epoch for a timestamp of `ticks` units of
    /// `if_tsresol` (10^-n s, or 2^-n s when the high bit is set), saturating.
    fn nanos(&self, ticks: u64) -> u64 {
        let t = u128::from(ticks);
        let ns = if self.tsresol & 0x80 != 0 {
            (t * 1_000_000_000) >> (self.tsresol & 0x7F)
        } else if self.tsresol <= 9 {
            t * 10u128.pow(u32::from(9 - self.tsresol))
        } else {
            10u128.checked_pow(u32::from(self.tsresol - 9)).map_or(0, |d| t / d)
        };
        let ns = ns.saturating_add(u128::from(self.tsoffset) * 1_000_000_000);
        u64::try_from(ns).unwrap_or(u64::MAX)
    }
}

fn read_u32(b: &[u8], big: bool) -> Option<u32> {
    let b: [u8; 4] = b.get(..4)?.try_into().ok()?;
    Some(if big { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) })
}

/// Reads a pcapng file whose first block type [`is_pcapng_magic`] accepted.
///
/// Packet blocks (enhanced, simple, obsolete) on an interface with an unsupported
/// link type are counted; the capture is an error only when every packet was on
/// such an interface. A simple packet block carries no timestamp: it gets the
/// previous packet's time (0 when it is the first).
pub(super) fn read(bytes: &[u8]) -> Result<Capture, CaptureError> {
    let (mut rest, mut parser) = PcapNgParser::new(bytes).map_err(|e| match e {
        PcapError::IncompleteBuffer => CaptureError::TruncatedHeader { format: "pcapng", len: bytes.len() },
        other => CaptureError::BadHeader { format: "pcapng", reason: other.to_string() },
    })?;
    let mut capture = Capture::empty(CaptureFormat::PcapNg);
    let mut sink = Sink::default();
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut record = 0usize;
    let mut last_time = HostTime(0);
    let mut supported_packets = 0usize;
    let mut first_unsupported: Option<u32> = None;

    while !rest.is_empty() {
        let offset = bytes.len() - rest.len();
        let mut big = parser.section().endianness == Endianness::Big;
        let (Some(kind), Some(_)) = (read_u32(rest, big), rest.get(..12)) else {
            capture.truncated = true;
            break;
        };
        if kind == SECTION_HEADER {
            // A new section may switch byte order; its magic follows the length.
            match rest.get(8..12).and_then(|m| read_u32(m, true)) {
                Some(BYTE_ORDER_MAGIC) => big = true,
                Some(m) if m.swap_bytes() == BYTE_ORDER_MAGIC => big = false,
                _ => {
                    capture.corrupt_at = Some(offset);
                    break;
                }
            }
        }
        // Framing: total length (a multiple of 4, at least 12) repeated at the end.
        let Some(len) = read_u32(&rest[4..], big).and_then(|l| usize::try_from(l).ok()) else {
            capture.corrupt_at = Some(offset);
            break;
        };
        if len % 4 != 0 || len < 12 {
            capture.corrupt_at = Some(offset);
            break;
        }
        let Some(block) = rest.get(..len) else {
            capture.truncated = true;
            break;
        };
        if read_u32(&block[len - 4..], big) != Some(u32::try_from(len).unwrap_or(0)) {
            capture.corrupt_at = Some(offset);
            break;
        }
        let next = &rest[len..];
        if !matches!(kind, SECTION_HEADER | INTERFACE_DESCRIPTION | PACKET | SIMPLE_PACKET | ENHANCED_PACKET) {
            // Name resolution, statistics, journal, custom blocks: nothing to read.
            rest = next;
            continue;
        }
        let parsed = match parser.next_block(rest) {
            Ok((_, b)) => b,
            Err(_) if matches!(kind, PACKET | SIMPLE_PACKET | ENHANCED_PACKET) => {
                sink.skipped.bad_record += 1;
                record += 1;
                rest = next;
                continue;
            }
            // A section or interface block that does not parse leaves the
            // interface numbering unknown: stop here.
            Err(_) => {
                capture.corrupt_at = Some(offset);
                break;
            }
        };
        let packet = match parsed {
            Block::SectionHeader(_) => {
                interfaces.clear();
                None
            }
            Block::InterfaceDescription(idb) => {
                interfaces.push(Interface::from_block(&idb));
                None
            }
            Block::EnhancedPacket(p) => {
                let ticks = u64::try_from(p.timestamp.as_nanos()).unwrap_or(u64::MAX);
                let wire = usize::try_from(p.original_len).unwrap_or(usize::MAX);
                Some((usize::try_from(p.interface_id).unwrap_or(usize::MAX), Some(ticks), wire, p.data))
            }
            Block::Packet(p) => {
                let wire = usize::try_from(p.original_len).unwrap_or(usize::MAX);
                Some((usize::from(p.interface_id), Some(p.timestamp), wire, p.data))
            }
            Block::SimplePacket(mut p) => {
                // The body runs to the block end, padding included: keep the
                // original length at most.
                let wire = usize::try_from(p.original_len).unwrap_or(usize::MAX);
                if let std::borrow::Cow::Borrowed(d) = p.data {
                    p.data = std::borrow::Cow::Borrowed(&d[..wire.min(d.len())]);
                }
                Some((0, None, wire, p.data))
            }
            _ => None,
        };
        if let Some((iface, ticks, wire, data)) = packet {
            match interfaces.get(iface) {
                None => sink.skipped.bad_record += 1,
                Some(Interface { link: Err(n), .. }) => {
                    sink.skipped.unsupported_link_type += 1;
                    first_unsupported.get_or_insert(*n);
                }
                Some(i @ Interface { link: Ok(link), .. }) => {
                    if let Some(t) = ticks {
                        last_time = HostTime(i.nanos(t));
                    }
                    supported_packets += 1;
                    sink.push_frame(*link, last_time, &data, wire, record);
                }
            }
            record += 1;
        }
        rest = next;
    }
    if supported_packets == 0 {
        if let Some(n) = first_unsupported {
            return Err(CaptureError::UnsupportedLinkType(n));
        }
    }
    capture.datagrams = sink.datagrams;
    capture.skipped = sink.skipped;
    Ok(capture)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::pcap::tests::raw_udp;

    fn block(kind: u32, body: &[u8]) -> Vec<u8> {
        let len = u32::try_from(12 + body.len()).expect("test blocks are small");
        let mut b = kind.to_le_bytes().to_vec();
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(body);
        b.extend_from_slice(&len.to_le_bytes());
        b
    }

    fn shb() -> Vec<u8> {
        let mut body = BYTE_ORDER_MAGIC.to_le_bytes().to_vec();
        body.extend_from_slice(&[1, 0, 0, 0]);
        body.extend_from_slice(&(-1i64).to_le_bytes());
        block(SECTION_HEADER, &body)
    }

    fn idb(linktype: u16, tsresol: Option<u8>) -> Vec<u8> {
        let mut body = linktype.to_le_bytes().to_vec();
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&65535u32.to_le_bytes());
        if let Some(r) = tsresol {
            body.extend_from_slice(&9u16.to_le_bytes());
            body.extend_from_slice(&1u16.to_le_bytes());
            body.extend_from_slice(&[r, 0, 0, 0]);
            body.extend_from_slice(&[0, 0, 0, 0]);
        }
        block(INTERFACE_DESCRIPTION, &body)
    }

    fn epb(iface: u32, ticks: u64, data: &[u8]) -> Vec<u8> {
        let mut body = iface.to_le_bytes().to_vec();
        body.extend_from_slice(&u32::try_from(ticks >> 32).expect("high word").to_le_bytes());
        body.extend_from_slice(&u32::try_from(ticks & 0xFFFF_FFFF).expect("low word").to_le_bytes());
        let len = u32::try_from(data.len()).expect("small");
        body.extend_from_slice(&len.to_le_bytes());
        body.extend_from_slice(&len.to_le_bytes());
        body.extend_from_slice(data);
        body.resize(body.len().div_ceil(4) * 4, 0);
        block(ENHANCED_PACKET, &body)
    }

    #[test]
    fn interfaces_with_own_link_types_and_resolutions() {
        let ip = raw_udp(b"hello");
        let mut eth = vec![0u8; 12];
        eth.extend_from_slice(&[0x08, 0x00]);
        eth.extend_from_slice(&ip);
        let mut f = shb();
        f.extend(idb(1, None)); // Ethernet, microseconds
        f.extend(idb(101, Some(9))); // raw IP, nanoseconds
        f.extend(idb(101, Some(0x80 | 10))); // raw IP, 2^-10 s
        f.extend(epb(0, 1_500_000, &eth));
        f.extend(epb(1, 2_000_000_123, &ip));
        f.extend(epb(2, 3 * 1024 + 512, &ip));
        let c = read(&f).expect("valid pcapng");
        let times: Vec<u64> = c.datagrams.iter().map(|d| d.time.0).collect();
        assert_eq!(times, vec![1_500_000_000, 2_000_000_123, 3_500_000_000]);
        assert!(c.datagrams.iter().all(|d| d.payload == b"hello"));
        assert_eq!(c.datagrams[2].record, 2);
    }

    #[test]
    fn unsupported_interface_is_counted_or_fatal() {
        let ip = raw_udp(b"x");
        let mut f = shb();
        f.extend(idb(147, None));
        f.extend(epb(0, 1, &ip));
        assert_eq!(read(&f), Err(CaptureError::UnsupportedLinkType(147)));
        f.extend(idb(101, None));
        f.extend(epb(1, 1, &ip));
        f.extend(epb(5, 1, &ip)); // no such interface
        let c = read(&f).expect("one supported interface");
        assert_eq!(c.datagrams.len(), 1);
        assert_eq!(c.skipped.unsupported_link_type, 1);
        assert_eq!(c.skipped.bad_record, 1);
    }

    #[test]
    fn every_truncation_is_handled() {
        let ip = raw_udp(b"0123456789");
        let mut f = shb();
        let header_len = f.len();
        f.extend(idb(101, None));
        f.extend(epb(0, 10, &ip));
        f.extend(epb(0, 20, &ip));
        for cut in 0..f.len() {
            match read(&f[..cut]) {
                Err(CaptureError::TruncatedHeader { format: "pcapng", .. }) => assert!(cut < header_len),
                Ok(c) => {
                    assert!(cut >= header_len, "cut {cut}");
                    assert!(c.datagrams.len() <= 2);
                    assert!(c.corrupt_at.is_none(), "cut {cut}");
                }
                Err(e) => panic!("cut {cut}: {e}"),
            }
        }
        let c = read(&f).expect("whole file");
        assert_eq!(c.datagrams.len(), 2);
        assert!(!c.truncated);
    }

    #[test]
    fn tsresol_scaling() {
        let i = Interface { link: Ok(LinkType::RawIp), tsresol: 3, tsoffset: 5 };
        assert_eq!(i.nanos(1), 5_001_000_000);
        let i = Interface { link: Ok(LinkType::RawIp), tsresol: 12, tsoffset: 0 };
        assert_eq!(i.nanos(7_000), 7);
        let i = Interface { link: Ok(LinkType::RawIp), tsresol: 127, tsoffset: 0 };
        assert_eq!(i.nanos(u64::MAX), 0);
        let i = Interface { link: Ok(LinkType::RawIp), tsresol: 0, tsoffset: u64::MAX };
        assert_eq!(i.nanos(u64::MAX), u64::MAX);
    }
}
