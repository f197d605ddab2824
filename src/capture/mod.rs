//! Packet captures as test and tooling input: reading pcap, pcapng and rtpproxy
//! "adhoc" recordings into UDP datagrams, finding the RTP streams in them, pairing
//! the streams into calls, and reading the payload-type maps the capture's SIP/SDP
//! announced.
//!
//! This module serves the `record_call` example and the integration tests; it is
//! not on the media hot path. Like the rest of the crate it does no I/O: the caller
//! reads the file and hands over its bytes.
//!
//! ```text
//! let capture = read_capture(&bytes)?;            // every UDP datagram, in file order
//! let streams = find_rtp_streams(&capture);       // (src, dst, SSRC) groups that look like RTP
//! let calls   = pair_calls(&streams);             // A→B with B→A, numbered from 1
//! let sdp     = sdp_payload_maps(&capture);       // SDP media announcements: endpoint -> a=rtpmap list
//! let pts     = rtpmaps_for_stream(&sdp, &streams[0]);  // what PT 99 on this stream means
//! ```
//!
//! Formats are told apart by their first bytes, never by the file name (several
//! rtpproxy `.rtp` files are ordinary pcap).

#![forbid(unsafe_code)]

mod adhoc;
mod calls;
mod link;
mod pcap;
mod pcapng;
mod sdp;
mod streams;

pub use calls::{pair_calls, CallInfo, CallLeg};
pub use link::LinkType;
pub use sdp::{rtpmaps_for_stream, sdp_announcement, sdp_payload_maps, SdpMedia, SdpRtpmap};
pub use streams::{find_rtp_streams, find_rtp_streams_with, RtpStreamInfo, StreamDiscovery};

use crate::time::HostTime;
use std::net::SocketAddr;

/// Why a capture could not be read at all. A capture that ends inside a record is
/// not an error: [`read_capture`] returns what it read with [`Capture::truncated`] set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// The first bytes match none of the formats read here: pcap (magic
    /// `a1b2c3d4` or `a1b23c4d`, either byte order), pcapng (section header block
    /// `0a0d0d0a`) or an rtpproxy adhoc recording (a first record with a known
    /// address family, zero address padding and a plausible arrival time).
    #[error(
        "not a packet capture: expected pcap (magic a1b2c3d4 / a1b23c4d, either byte order), \
         pcapng (block type 0a0d0d0a) or an rtpproxy adhoc recording"
    )]
    NotACapture,
    /// The input matched a format's magic but ended inside the file header (the
    /// 24-byte pcap global header or the first pcapng section header block), so
    /// not even the link type is known.
    #[error("{format} capture truncated inside its file header ({len} bytes)")]
    TruncatedHeader {
        /// The format the magic number named ("pcap" or "pcapng").
        format: &'static str,
        /// Length of the whole input in bytes.
        len: usize,
    },
    /// The file header is present but invalid (e.g. a pcapng section header block
    /// whose byte-order magic or lengths are wrong); `reason` comes from the parser.
    #[error("{format} file header is invalid: {reason}")]
    BadHeader {
        /// The format the magic number named ("pcap" or "pcapng").
        format: &'static str,
        /// What the parser found wrong.
        reason: String,
    },
    /// The capture's link type (pcap global header, or every pcapng interface that
    /// carried packets) is not one read here. Supported: Ethernet (1, with VLAN
    /// tags), BSD loopback DLT_NULL (0) and DLT_LOOP (108), raw IP (101, and the
    /// BSD values 12 and 14), raw IPv4 (228), raw IPv6 (229), Linux cooked capture
    /// SLL (113) and SLL2 (276).
    #[error("unsupported link type {0} (LINKTYPE_ number from the capture header)")]
    UnsupportedLinkType(u32),
}

/// The container format [`read_capture`] recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaptureFormat {
    /// Classic libpcap file; `nanosecond` is true for the `a1b23c4d` magic
    /// (nanosecond timestamps), false for microsecond ones.
    Pcap {
        /// Link type of every record.
        link_type: LinkType,
        /// Whether record timestamps are in nanoseconds (else microseconds).
        nanosecond: bool,
    },
    /// pcapng: each interface has its own link type and timestamp resolution.
    PcapNg,
    /// rtpproxy's adhoc recording format (see [`read_capture`]).
    RtpproxyAdhoc,
}

/// One UDP datagram read from a capture.
///
/// The payload is an owned copy of the UDP payload (the RTP, RTCP or SIP bytes),
/// so a [`Capture`] does not borrow the input buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// Arrival time as recorded by the capture, in nanoseconds since the Unix epoch.
    pub time: HostTime,
    /// UDP source address and port.
    pub src: SocketAddr,
    /// UDP destination address and port. rtpproxy adhoc recordings do not record
    /// it: there it is the unspecified address of the source's family with port 0
    /// (`0.0.0.0:0` or `[::]:0`).
    pub dst: SocketAddr,
    /// The UDP payload bytes.
    pub payload: Vec<u8>,
    /// 0-based index of the container record this datagram came from (pcap
    /// record, pcapng packet block or adhoc record); tshark's frame number minus 1.
    pub record: usize,
}

/// Records that produced no [`Datagram`], counted by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SkipCounts {
    /// Link-layer frames that carry neither IPv4 nor IPv6 (ARP, LLDP, an unknown
    /// loopback address family, …).
    pub not_ip: usize,
    /// IP packets whose transport is not UDP (TCP, ICMP, …).
    pub not_udp: usize,
    /// IPv4 or IPv6 fragments: reassembly is not done, every fragment is skipped.
    pub ip_fragment: usize,
    /// Records captured shorter than they were on the wire (snap length) whose
    /// UDP datagram is therefore incomplete.
    pub snapped: usize,
    /// Frames whose link, IP or UDP headers do not parse (bad lengths, bad version).
    pub malformed: usize,
    /// Container records that could not be used: a pcapng packet block with an
    /// invalid body or an unknown interface id, an adhoc record with an unknown
    /// address family or an impossible arrival time.
    pub bad_record: usize,
    /// pcapng packets on an interface whose link type is not supported
    /// (see [`CaptureError::UnsupportedLinkType`]).
    pub unsupported_link_type: usize,
}

impl SkipCounts {
    /// Sum of all counters.
    pub fn total(&self) -> usize {
        self.not_ip
            + self.not_udp
            + self.ip_fragment
            + self.snapped
            + self.malformed
            + self.bad_record
            + self.unsupported_link_type
    }
}

/// Everything read from one capture.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capture {
    /// The container format recognised.
    pub format: CaptureFormat,
    /// Every UDP datagram, in file order (not re-sorted by time).
    pub datagrams: Vec<Datagram>,
    /// Records that gave no datagram, by reason.
    pub skipped: SkipCounts,
    /// The input ended inside a record (the partial record is dropped; all
    /// complete records before it are in [`Capture::datagrams`]).
    pub truncated: bool,
    /// Byte offset of a record whose framing is corrupt (a pcapng block whose
    /// lengths disagree, a pcap record longer than any snap length), where reading
    /// stopped; `None` when the whole input was read.
    pub corrupt_at: Option<usize>,
}

impl Capture {
    fn empty(format: CaptureFormat) -> Self {
        Capture { format, datagrams: Vec::new(), skipped: SkipCounts::default(), truncated: false, corrupt_at: None }
    }

    /// Joins several captures into one whose datagrams are sorted by arrival time
    /// (stable: equal times keep their input order), e.g. the `.a.rtp` and `.o.rtp`
    /// recordings of one rtpproxy session. Skip counts are summed, `truncated` is
    /// true when any input was truncated, `corrupt_at` is dropped (offsets of
    /// different files do not combine), and `record` indices are kept as they were
    /// in each input. The format is the first input's ([`CaptureFormat::PcapNg`]
    /// when `captures` is empty).
    pub fn merged(captures: impl IntoIterator<Item = Capture>) -> Capture {
        let mut out: Option<Capture> = None;
        for c in captures {
            match out.as_mut() {
                None => out = Some(Capture { corrupt_at: None, ..c }),
                Some(o) => {
                    o.datagrams.extend(c.datagrams);
                    o.truncated |= c.truncated;
                    let (s, t) = (&mut o.skipped, c.skipped);
                    s.not_ip += t.not_ip;
                    s.not_udp += t.not_udp;
                    s.ip_fragment += t.ip_fragment;
                    s.snapped += t.snapped;
                    s.malformed += t.malformed;
                    s.bad_record += t.bad_record;
                    s.unsupported_link_type += t.unsupported_link_type;
                }
            }
        }
        let mut out = out.unwrap_or_else(|| Capture::empty(CaptureFormat::PcapNg));
        out.datagrams.sort_by_key(|d| d.time);
        out
    }
}

/// Reads a capture held in memory: pcap (both byte orders; microsecond and
/// nanosecond variants), pcapng (any number of sections and interfaces, each
/// interface with its own link type, `if_tsresol` and `if_tsoffset`), or an
/// rtpproxy adhoc recording.
///
/// The format is detected from the first bytes. The adhoc format has no magic: it
/// is a sequence of records, each a 30-byte little-endian header — bytes 0..20 the
/// packed source address (u16 address family, u16 port in network byte order, the
/// IPv4 or IPv6 address, zero padding to 20 bytes), bytes 20..28 an IEEE-754 f64
/// arrival time in Unix seconds, bytes 28..30 the u16 packet length — followed by
/// the RTP or RTCP packet. It is recognised when the first record's family is
/// AF_INET (2) or AF_INET6 (10, 24, 28 or 30: Linux, NetBSD/OpenBSD, FreeBSD,
/// macOS), its address padding is zero and its time lies between 1970 and 2500.
/// The destination is not recorded; [`Datagram::dst`] is then the unspecified
/// address of the source's family with port 0.
///
/// Link layers: see [`LinkType`]. UDP checksums are not verified (captures taken
/// on the sending host often hold offloaded, unfilled checksums).
///
/// Never panics. A capture cut inside a record returns the complete records with
/// [`Capture::truncated`] set; a capture cut inside its file header is
/// [`CaptureError::TruncatedHeader`].
pub fn read_capture(bytes: &[u8]) -> Result<Capture, CaptureError> {
    let magic = bytes.get(..4).map(|m| [m[0], m[1], m[2], m[3]]);
    match magic {
        Some(m) if pcap::is_pcap_magic(m) => pcap::read(bytes),
        Some(m) if pcapng::is_pcapng_magic(m) => pcapng::read(bytes),
        _ if adhoc::looks_like_adhoc(bytes) => Ok(adhoc::read(bytes)),
        _ => Err(CaptureError::NotACapture),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_tiny_inputs_are_not_captures() {
        assert_eq!(read_capture(&[]), Err(CaptureError::NotACapture));
        assert_eq!(read_capture(b"RIFF\x24\x00\x00\x00WAVEfmt "), Err(CaptureError::NotACapture));
        assert_eq!(read_capture(&[0xd4, 0xc3]), Err(CaptureError::NotACapture));
    }

    #[test]
    fn error_messages_name_formats_and_link_types() {
        let m = CaptureError::NotACapture.to_string();
        assert!(m.contains("pcap") && m.contains("pcapng") && m.contains("adhoc"), "{m}");
        assert!(CaptureError::UnsupportedLinkType(147).to_string().contains("147"));
    }

    #[test]
    fn merged_sorts_by_time_and_sums_counts() {
        let d = |t: u64, r: usize| Datagram {
            time: HostTime(t),
            src: "10.0.0.1:4000".parse().expect("literal address"),
            dst: "10.0.0.2:4000".parse().expect("literal address"),
            payload: vec![],
            record: r,
        };
        let mut a = Capture::empty(CaptureFormat::RtpproxyAdhoc);
        a.datagrams = vec![d(10, 0), d(30, 1)];
        a.skipped.bad_record = 1;
        let mut b = Capture::empty(CaptureFormat::RtpproxyAdhoc);
        b.datagrams = vec![d(20, 0), d(30, 1)];
        b.truncated = true;
        b.skipped.bad_record = 2;
        let m = Capture::merged([a, b]);
        let times: Vec<u64> = m.datagrams.iter().map(|d| d.time.0).collect();
        assert_eq!(times, vec![10, 20, 30, 30]);
        assert_eq!(m.datagrams[2].record, 1);
        assert_eq!(m.skipped.bad_record, 3);
        assert!(m.truncated);
    }
    /// Random bodies behind each format's valid header, and plain random bytes:
    /// reading and everything downstream must return, never panic.
    #[test]
    fn random_inputs_never_panic() {
        let mut x = 0x853C_49E6_748F_EA9Bu64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let pcapng_head = {
            let mut f = vec![0x0A, 0x0D, 0x0D, 0x0A, 28, 0, 0, 0, 0x4D, 0x3C, 0x2B, 0x1A, 1, 0, 0, 0];
            f.extend_from_slice(&[0xFF; 8]);
            f.extend_from_slice(&[28, 0, 0, 0]);
            f.extend_from_slice(&[1, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 0, 0, 4, 0, 20, 0, 0, 0]);
            f
        };
        for round in 0..3000u32 {
            let len = usize::try_from(next() % 700).expect("small");
            let body: Vec<u8> = (0..len).map(|_| next().to_le_bytes()[0]).collect();
            let mut f = match round % 5 {
                0 => Vec::new(),
                1 => {
                    let link = [0u32, 1, 101, 108, 113, 228, 229, 276][usize::try_from(next() % 8).expect("small")];
                    let mut h = vec![0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0];
                    h.extend_from_slice(&link.to_le_bytes());
                    h
                }
                2 => pcapng_head.clone(),
                3 => vec![0xA1, 0xB2, 0x3C, 0x4D, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 0, 1],
                _ => {
                    let mut h = vec![2, 0, 0x0F, 0xA0, 10, 0, 0, 1];
                    h.extend_from_slice(&[0; 12]);
                    h.extend_from_slice(&1.5e9f64.to_le_bytes());
                    h
                }
            };
            f.extend_from_slice(&body);
            if let Ok(c) = read_capture(&f) {
                let streams = find_rtp_streams_with(&c, &StreamDiscovery { min_packets: 1 });
                let _ = pair_calls(&streams);
                let maps = sdp_payload_maps(&c);
                for s in &streams {
                    let _ = rtpmaps_for_stream(&maps, s);
                }
            }
        }
    }
}
