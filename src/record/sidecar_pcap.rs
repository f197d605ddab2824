//! The lossless evidence sidecar: the legs' RTP datagrams as received, as a pcap file.
//!
//! The compressed recording re-encodes the audio; the sidecar keeps the original codec
//! bits. Each datagram the host received is written as one pcap record (classic pcap,
//! nanosecond timestamps, magic 0xa1b23c4d, LINKTYPE_RAW 101) carrying a synthesised
//! IPv4 or IPv6 + UDP header (RFC 791 / RFC 8200, RFC 768, checksums computed) around the
//! untouched UDP payload, so Wireshark and tshark read it (decode as RTP, or enable the
//! RTP heuristic). Sans-IO: the host passes each datagram with its arrival
//! [`HostTime`] and appends the returned bytes to its file; UTC comes from a host-given
//! pair (host time, UTC ns) — the core reads no clock.
//!
//! The header and every record are hash-chained ([`super::hash_chain`], starting at 32
//! zero bytes) with checkpoints, for the same signed manifest as the recording.

use super::hash_chain::{to_hex, Hash32, HashChain, CHAIN_GENESIS};
use super::manifest::SidecarFacts;
use crate::time::HostTime;
use etherparse::PacketBuilder;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// Nanosecond-resolution pcap magic number.
pub const PCAP_MAGIC_NS: u32 = 0xa1b2_3c4d;
/// LINKTYPE_RAW: the packet starts with an IPv4 or IPv6 header.
pub const LINKTYPE_RAW: u32 = 101;
/// Snapshot length written in the header (largest UDP datagram in IPv6 plus headers).
pub const SNAPLEN: u32 = 65_535 + 48;
/// Items (header and records) between checkpoints.
pub const CHECKPOINT_EVERY: u64 = 1024;
/// Description written in the manifest.
pub const SIDECAR_FORMAT: &str = "pcap (nanosecond timestamps, LINKTYPE_RAW 101, synthesised IP/UDP headers)";

/// Why a datagram was not written to the sidecar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SidecarError {
    /// The payload does not fit one UDP datagram (more than 65 527 bytes).
    #[error("payload of {0} bytes does not fit a UDP datagram")]
    TooLarge(usize),
}

/// Writes the pcap sidecar of one call and hash-chains it.
#[derive(Debug, Clone)]
pub struct PcapSidecar {
    chain: HashChain,
    checkpoints: Vec<Hash32>,
    records: u64,
    /// UTC (ns since the Unix epoch) at host time `base`.
    utc_at_base: i128,
    base: HostTime,
    buf: Vec<u8>,
    header: [u8; 24],
}

impl PcapSidecar {
    /// A sidecar whose timestamps are UTC `utc_ns` (nanoseconds since 1970-01-01T00:00:00Z)
    /// at host time `at`. For a replayed capture whose `HostTime` already counts from the
    /// Unix epoch, pass `(HostTime::ZERO, 0)`.
    pub fn new(at: HostTime, utc_ns: i128) -> PcapSidecar {
        let mut header = [0u8; 24];
        header[0..4].copy_from_slice(&PCAP_MAGIC_NS.to_le_bytes());
        header[4..6].copy_from_slice(&2u16.to_le_bytes());
        header[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone and sigfigs 0
        header[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
        header[20..24].copy_from_slice(&LINKTYPE_RAW.to_le_bytes());
        let mut s = PcapSidecar {
            chain: HashChain::new(CHAIN_GENESIS),
            checkpoints: Vec::new(),
            records: 0,
            utc_at_base: utc_ns,
            base: at,
            buf: Vec::with_capacity(2048),
            header,
        };
        s.chain_item_header();
        s
    }

    fn chain_item_header(&mut self) {
        let h = self.header;
        self.chain.push(&h);
        self.checkpoint();
    }

    fn checkpoint(&mut self) {
        if self.chain.items() % CHECKPOINT_EVERY == 0 {
            self.checkpoints.push(self.chain.head());
        }
    }

    /// The 24-byte pcap global header: the first bytes of the file.
    pub fn header(&self) -> [u8; 24] {
        self.header
    }

    /// One received datagram as a pcap record (16-byte record header, IP + UDP headers,
    /// payload); append the returned bytes to the file after the previous ones.
    ///
    /// Mixed address families (an IPv4 peer seen on an IPv6 socket) are written as IPv6
    /// with the IPv4 address mapped (RFC 4291 §2.5.5.2).
    /// Errors: [`SidecarError::TooLarge`]; nothing is chained then.
    pub fn record(
        &mut self,
        at: HostTime,
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
    ) -> Result<&[u8], SidecarError> {
        if payload.len() > 65_535 - 8 {
            return Err(SidecarError::TooLarge(payload.len()));
        }
        // Saturating: the host chooses both the UTC base and the host times.
        let utc =
            self.utc_at_base.saturating_add(i128::from(at.as_nanos())).saturating_sub(i128::from(self.base.as_nanos()));
        let utc = utc.max(0);
        let secs = u32::try_from(utc / 1_000_000_000).unwrap_or(u32::MAX);
        let nanos = (utc % 1_000_000_000) as u32;
        self.buf.clear();
        self.buf.extend_from_slice(&secs.to_le_bytes());
        self.buf.extend_from_slice(&nanos.to_le_bytes());
        self.buf.extend_from_slice(&[0; 8]); // lengths, set below
        let builder = match (src.ip(), dst.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => PacketBuilder::ipv4(s.octets(), d.octets(), 64),
            (s, d) => PacketBuilder::ipv6(v6(s).octets(), v6(d).octets(), 64),
        }
        .udp(src.port(), dst.port());
        // Writing into a Vec cannot fail for I/O; a length error is excluded by the check above.
        if builder.write(&mut self.buf, payload).is_err() {
            return Err(SidecarError::TooLarge(payload.len()));
        }
        let len = (self.buf.len() - 16) as u32;
        self.buf[8..12].copy_from_slice(&len.to_le_bytes());
        self.buf[12..16].copy_from_slice(&len.to_le_bytes());
        self.chain.push(&self.buf);
        self.records += 1;
        self.checkpoint();
        Ok(&self.buf)
    }

    /// Datagrams recorded.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The chain value after the last record.
    pub fn chain_head(&self) -> Hash32 {
        self.chain.head()
    }

    /// The manifest entry for this sidecar, stored as `file`.
    pub fn facts(&self, file: &str) -> SidecarFacts {
        SidecarFacts {
            file: file.to_owned(),
            format: SIDECAR_FORMAT.to_owned(),
            records: self.records,
            bytes: self.chain.bytes(),
            checkpoint_every: CHECKPOINT_EVERY,
            checkpoints: self.checkpoints.iter().map(to_hex).collect(),
            chain_final: to_hex(&self.chain.head()),
        }
    }
}

fn v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// Splits a pcap file into its chain items: the 24-byte header, then each record (16-byte
/// header + captured bytes). Returns the items and the bytes left over (a truncated last
/// record, or garbage after a record whose length is impossible).
pub fn pcap_items(file: &[u8]) -> (Vec<&[u8]>, &[u8]) {
    let mut items = Vec::new();
    if file.len() < 24 {
        return (items, file);
    }
    items.push(&file[..24]);
    let mut pos = 24;
    while pos + 16 <= file.len() {
        let incl = u32::from_le_bytes([file[pos + 8], file[pos + 9], file[pos + 10], file[pos + 11]]) as usize;
        if incl > SNAPLEN as usize || pos + 16 + incl > file.len() {
            break;
        }
        items.push(&file[pos..pos + 16 + incl]);
        pos += 16 + incl;
    }
    (items, &file[pos..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_with_the_capture_reader() {
        let a: SocketAddr = "10.0.0.1:40000".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:50000".parse().unwrap();
        let c: SocketAddr = "[2001:db8::1]:6000".parse().unwrap();
        let mut s = PcapSidecar::new(HostTime::from_nanos(5_000), 1_700_000_000_000_000_000);
        let mut file = s.header().to_vec();
        file.extend_from_slice(s.record(HostTime::from_nanos(5_000), a, b, &[0x80, 0, 0, 1]).unwrap());
        file.extend_from_slice(s.record(HostTime::from_nanos(25_000_000), b, c, &[0x80, 0, 0, 2, 9]).unwrap());
        let cap = crate::capture::read_capture(&file).unwrap();
        assert_eq!(cap.datagrams.len(), 2);
        assert_eq!((cap.datagrams[0].src, cap.datagrams[0].dst), (a, b));
        assert_eq!(cap.datagrams[0].time, HostTime::from_nanos(1_700_000_000_000_000_000));
        assert_eq!(cap.datagrams[1].payload, vec![0x80, 0, 0, 2, 9]);
        assert_eq!(cap.datagrams[1].dst, c);
        assert_eq!(cap.datagrams[1].time.as_nanos() - cap.datagrams[0].time.as_nanos(), 24_995_000);
        let (items, rest) = pcap_items(&file);
        assert_eq!((items.len(), rest.len()), (3, 0));
        let mut chain = HashChain::default();
        items.iter().for_each(|i| {
            chain.push(i);
        });
        assert_eq!(chain.head(), s.chain_head());
        assert_eq!(s.facts("x.pcap").bytes, file.len() as u64);
        assert_eq!(pcap_items(&file[..file.len() - 1]).0.len(), 2);
    }
}
