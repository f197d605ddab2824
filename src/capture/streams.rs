//! RTP stream discovery: the datagrams of a capture that look like RTP, grouped
//! by (source address, destination address, SSRC).

use super::Capture;
use crate::rtp::{PayloadType, Ssrc};
use crate::time::HostTime;
use std::collections::HashMap;
use std::net::SocketAddr;

/// Options of [`find_rtp_streams_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamDiscovery {
    /// A (source, destination, SSRC) group is reported only when it holds at
    /// least this many RTP-looking datagrams (default 2), so that a stray datagram
    /// whose first byte happens to read as RTP version 2 is not a stream.
    pub min_packets: usize,
}

impl Default for StreamDiscovery {
    fn default() -> Self {
        StreamDiscovery { min_packets: 2 }
    }
}

/// One RTP stream found in a capture: the datagrams from one source address to
/// one destination address carrying one SSRC.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RtpStreamInfo {
    /// UDP source address and port.
    pub src: SocketAddr,
    /// UDP destination address and port.
    pub dst: SocketAddr,
    /// Synchronisation source (RFC 3550 §5.1).
    pub ssrc: Ssrc,
    /// Each payload type seen, with its packet count, by ascending payload type.
    pub payload_types: Vec<(PayloadType, usize)>,
    /// Earliest arrival time of the stream's packets (ns since the Unix epoch).
    pub first_time: HostTime,
    /// Latest arrival time of the stream's packets.
    pub last_time: HostTime,
    /// Number of packets (equals `datagrams.len()`).
    pub packet_count: usize,
    /// Indices into [`Capture::datagrams`] of the stream's packets, in capture order.
    pub datagrams: Vec<usize>,
}

impl RtpStreamInfo {
    /// Number of packets with payload type `pt`.
    pub fn count_of(&self, pt: PayloadType) -> usize {
        self.payload_types.iter().find(|(p, _)| *p == pt).map_or(0, |(_, n)| *n)
    }
}

/// The fields of an RTP header that discovery needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RtpLite {
    pub(super) payload_type: u8,
    pub(super) ssrc: u32,
}

/// Ports of services that are never RTP (DNS, DHCP, NTP, NetBIOS, SNMP, syslog,
/// SSDP, SIP, mDNS, LLMNR): their datagrams are not considered, whatever their
/// first byte.
const NON_RTP_PORTS: [u16; 14] = [53, 67, 68, 123, 137, 138, 161, 162, 514, 1900, 5060, 5061, 5353, 5355];

/// SIP request methods (RFC 3261 and extensions) recognised at a datagram's start.
const SIP_METHODS: [&[u8]; 14] = [
    b"INVITE ",
    b"ACK ",
    b"BYE ",
    b"CANCEL ",
    b"OPTIONS ",
    b"REGISTER ",
    b"PRACK ",
    b"SUBSCRIBE ",
    b"NOTIFY ",
    b"PUBLISH ",
    b"INFO ",
    b"REFER ",
    b"MESSAGE ",
    b"UPDATE ",
];

/// Whether a UDP payload is a SIP message: a status line (`SIP/2.0 `) or a
/// request line starting with a SIP method.
pub(super) fn looks_like_sip(payload: &[u8]) -> bool {
    payload.starts_with(b"SIP/2.0 ") || SIP_METHODS.iter().any(|m| payload.starts_with(m))
}

/// A minimal RTP header check (RFC 3550 §5.1): version 2, at least 12 bytes, the
/// CSRC list and header extension inside the packet, and a padding count that
/// fits after the header. RTCP is excluded by its packet type (second byte
/// 192..=223, i.e. marker set and payload type 64..=95, the range RFC 5761 §4
/// keeps clear of RTP so the two can share a port; SR/RR/SDES/BYE/APP are
/// 200..=204, feedback and XR 205..=207).
// TODO(integrator): use rtp::RtpPacket::parse
pub(super) fn rtp_lite(p: &[u8]) -> Option<RtpLite> {
    if p.len() < 12 || p[0] >> 6 != 2 || (192..=223).contains(&p[1]) {
        return None;
    }
    let csrc_count = usize::from(p[0] & 0x0F);
    let mut header_len = 12 + 4 * csrc_count;
    if p[0] & 0x10 != 0 {
        let ext = p.get(header_len..header_len + 4)?;
        header_len += 4 + 4 * usize::from(u16::from_be_bytes([ext[2], ext[3]]));
    }
    if header_len > p.len() {
        return None;
    }
    if p[0] & 0x20 != 0 {
        let pad = usize::from(*p.last()?);
        if pad == 0 || header_len + pad > p.len() {
            return None;
        }
    }
    Some(RtpLite { payload_type: p[1] & 0x7F, ssrc: u32::from_be_bytes([p[8], p[9], p[10], p[11]]) })
}

/// [`find_rtp_streams_with`] with the default options (streams of 2 packets or more).
pub fn find_rtp_streams(capture: &Capture) -> Vec<RtpStreamInfo> {
    find_rtp_streams_with(capture, &StreamDiscovery::default())
}

/// Groups the capture's RTP-looking datagrams by (source, destination, SSRC).
///
/// A datagram is considered when neither port is a well-known non-RTP service
/// port (DNS, NTP, SIP, …), it is not a SIP message, and its header passes a
/// minimal RTP check (version 2, consistent CSRC/extension/padding lengths, not
/// RTCP). Groups with fewer than `opts.min_packets` packets are dropped. Streams
/// are returned in the order of their first packet in the capture.
pub fn find_rtp_streams_with(capture: &Capture, opts: &StreamDiscovery) -> Vec<RtpStreamInfo> {
    let mut index: HashMap<(SocketAddr, SocketAddr, u32), usize> = HashMap::new();
    let mut streams: Vec<RtpStreamInfo> = Vec::new();
    for (i, d) in capture.datagrams.iter().enumerate() {
        if NON_RTP_PORTS.contains(&d.src.port()) || NON_RTP_PORTS.contains(&d.dst.port()) {
            continue;
        }
        if looks_like_sip(&d.payload) {
            continue;
        }
        let Some(h) = rtp_lite(&d.payload) else {
            continue;
        };
        let k = *index.entry((d.src, d.dst, h.ssrc)).or_insert_with(|| {
            streams.push(RtpStreamInfo {
                src: d.src,
                dst: d.dst,
                ssrc: Ssrc(h.ssrc),
                payload_types: Vec::new(),
                first_time: d.time,
                last_time: d.time,
                packet_count: 0,
                datagrams: Vec::new(),
            });
            streams.len() - 1
        });
        let s = &mut streams[k];
        s.first_time = s.first_time.min(d.time);
        s.last_time = s.last_time.max(d.time);
        s.packet_count += 1;
        s.datagrams.push(i);
        let pt = PayloadType(h.payload_type);
        match s.payload_types.binary_search_by_key(&pt, |(p, _)| *p) {
            Ok(j) => s.payload_types[j].1 += 1,
            Err(j) => s.payload_types.insert(j, (pt, 1)),
        }
    }
    streams.retain(|s| s.packet_count >= opts.min_packets);
    streams
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{CaptureFormat, Datagram};

    fn rtp(pt: u8, ssrc: u32) -> Vec<u8> {
        let mut p = vec![0x80, pt, 0, 1, 0, 0, 0, 160];
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(&[0xD5; 160]);
        p
    }

    #[test]
    fn header_check() {
        assert_eq!(rtp_lite(&rtp(8, 7)), Some(RtpLite { payload_type: 8, ssrc: 7 }));
        assert_eq!(rtp_lite(&rtp(0x80 | 101, 7)).map(|h| h.payload_type), Some(101));
        assert_eq!(rtp_lite(&rtp(8, 7)[..11]), None);
        let mut v1 = rtp(8, 7);
        v1[0] = 0x40;
        assert_eq!(rtp_lite(&v1), None);
        for rtcp_type in [200u8, 201, 202, 203, 204, 205, 206, 207] {
            assert_eq!(rtp_lite(&rtp(rtcp_type, 7)), None, "RTCP {rtcp_type}");
        }
        // Marker set on an ordinary payload type is RTP.
        assert!(rtp_lite(&rtp(0x80 | 8, 7)).is_some());
        // 15 CSRCs need 72 bytes.
        let mut cc = rtp(8, 7)[..40].to_vec();
        cc[0] = 0x8F;
        assert_eq!(rtp_lite(&cc), None);
        // Extension whose length runs past the end.
        let mut x = rtp(8, 7)[..20].to_vec();
        x[0] = 0x90;
        x[12..16].copy_from_slice(&[0xBE, 0xDE, 0x00, 0x09]);
        assert_eq!(rtp_lite(&x), None);
        x[15] = 1;
        assert!(rtp_lite(&x).is_some());
        // Padding: count 0 and counts past the header are invalid (CASES B01 c, d).
        let mut p = rtp(0, 7)[..16].to_vec();
        p[0] = 0xA0;
        p[15] = 4;
        assert!(rtp_lite(&p).is_some());
        p[15] = 0;
        assert_eq!(rtp_lite(&p), None);
        p[15] = 5;
        assert_eq!(rtp_lite(&p), None);
    }

    #[test]
    fn sip_is_recognised() {
        assert!(looks_like_sip(b"INVITE sip:1@2 SIP/2.0\r\n"));
        assert!(looks_like_sip(b"SIP/2.0 200 OK\r\n"));
        assert!(!looks_like_sip(&rtp(0, 1)));
    }

    #[test]
    fn grouping_threshold_and_order() {
        let a: SocketAddr = "10.0.0.1:4000".parse().expect("literal");
        let b: SocketAddr = "10.0.0.2:5000".parse().expect("literal");
        let dns: SocketAddr = "10.0.0.3:53".parse().expect("literal");
        let mk = |t: u64, src, dst, payload: Vec<u8>| Datagram { time: HostTime(t), src, dst, payload, record: 0 };
        let mut c = Capture::empty(CaptureFormat::PcapNg);
        c.datagrams = vec![
            mk(5, b, a, rtp(0, 9)),
            mk(1, a, b, rtp(8, 1)),
            mk(2, a, b, rtp(0x80 | 101, 1)),
            mk(3, a, b, rtp(8, 1)),
            mk(4, a, b, rtp(8, 2)), // lone SSRC: below the threshold
            mk(6, b, a, rtp(0, 9)),
            mk(7, a, dns, rtp(8, 3)),
            mk(8, a, dns, rtp(8, 3)),
            mk(9, a, b, b"SIP/2.0 200 OK\r\n\r\n".to_vec()),
        ];
        let s = find_rtp_streams(&c);
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].src, s[0].ssrc, s[0].packet_count), (b, Ssrc(9), 2));
        assert_eq!(s[0].datagrams, vec![0, 5]);
        assert_eq!(s[1].payload_types, vec![(PayloadType(8), 2), (PayloadType(101), 1)]);
        assert_eq!(s[1].count_of(PayloadType(101)), 1);
        assert_eq!((s[1].first_time, s[1].last_time), (HostTime(1), HostTime(3)));
        let all = find_rtp_streams_with(&c, &StreamDiscovery { min_packets: 1 });
        assert_eq!(all.len(), 3);
    }
}
