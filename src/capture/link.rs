//! Link layers and IP/UDP decoding: one captured frame to one UDP datagram or a
//! counted skip. Header parsing is etherparse's; this file only picks the entry
//! point for each link type and handles the two headers etherparse lacks (BSD
//! loopback and Linux SLL2).

use super::{Datagram, SkipCounts};
use crate::time::HostTime;
use etherparse::{EtherType, NetSlice, SlicedPacket, TransportSlice};
use std::net::{IpAddr, SocketAddr};

/// A link-layer header type read by this module (tcpdump.org LINKTYPE_ values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkType {
    /// LINKTYPE_ETHERNET (1): Ethernet II, with single or double 802.1Q/802.1ad VLAN tags.
    Ethernet,
    /// LINKTYPE_NULL (0): BSD loopback, a 4-byte address family in the capturing
    /// host's byte order (2 = IPv4; 10, 24, 28 or 30 = IPv6).
    Null,
    /// LINKTYPE_LOOP (108): OpenBSD loopback, as [`LinkType::Null`] but the family
    /// is in network byte order (both orders are accepted for either type).
    Loop,
    /// LINKTYPE_RAW (101; also the BSD DLT_RAW values 12 and 14): no link header,
    /// IPv4 or IPv6 told apart by the version nibble.
    RawIp,
    /// LINKTYPE_IPV4 (228): raw IPv4.
    Ipv4,
    /// LINKTYPE_IPV6 (229): raw IPv6.
    Ipv6,
    /// LINKTYPE_LINUX_SLL (113): Linux cooked capture v1 (16-byte header).
    LinuxSll,
    /// LINKTYPE_LINUX_SLL2 (276): Linux cooked capture v2 (20-byte header).
    LinuxSll2,
}

impl LinkType {
    /// The link type for a LINKTYPE_ number, or `None` when it is not read here.
    /// Only the low 16 bits name the type (the upper bits of the pcap header field
    /// carry FCS information).
    pub fn from_linktype(value: u32) -> Option<LinkType> {
        Some(match value & 0xFFFF {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            12 | 14 | 101 => LinkType::RawIp,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            _ => return None,
        })
    }
}

/// Collects datagrams and skip counts while a container reader walks its records.
#[derive(Debug, Default)]
pub(super) struct Sink {
    pub(super) datagrams: Vec<Datagram>,
    pub(super) skipped: SkipCounts,
}

/// Why a frame gave no datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    NotIp,
    NotUdp,
    Fragment,
    Malformed,
}

impl Sink {
    /// Decodes one captured frame. `wire_len` is the frame's length on the wire;
    /// when it exceeds `data.len()` and decoding fails, the skip is counted as
    /// snapped rather than malformed.
    pub(super) fn push_frame(&mut self, link: LinkType, time: HostTime, data: &[u8], wire_len: usize, record: usize) {
        match decode(link, data) {
            Ok((src, dst, payload)) => {
                self.datagrams.push(Datagram { time, src, dst, payload: payload.to_vec(), record });
            }
            Err(_) if wire_len > data.len() => self.skipped.snapped += 1,
            Err(Skip::NotIp) => self.skipped.not_ip += 1,
            Err(Skip::NotUdp) => self.skipped.not_udp += 1,
            Err(Skip::Fragment) => self.skipped.ip_fragment += 1,
            Err(Skip::Malformed) => self.skipped.malformed += 1,
        }
    }
}

/// BSD address-family values for IPv6 loopback frames: Linux-style 10, NetBSD and
/// OpenBSD 24, FreeBSD 28, Darwin 30.
const AF_INET6_VALUES: [u32; 4] = [10, 24, 28, 30];
const AF_INET: u32 = 2;

/// The frame's UDP source, destination and payload.
fn decode(link: LinkType, data: &[u8]) -> Result<(SocketAddr, SocketAddr, &[u8]), Skip> {
    let sliced = match link {
        LinkType::Ethernet => SlicedPacket::from_ethernet(data),
        LinkType::LinuxSll => SlicedPacket::from_linux_sll(data),
        LinkType::RawIp => SlicedPacket::from_ip(data),
        LinkType::Ipv4 => SlicedPacket::from_ether_type(EtherType::IPV4, data),
        LinkType::Ipv6 => SlicedPacket::from_ether_type(EtherType::IPV6, data),
        LinkType::Null | LinkType::Loop => {
            let (head, rest) = split::<4>(data)?;
            let le = u32::from_le_bytes(head);
            let be = u32::from_be_bytes(head);
            let family = if le == AF_INET || AF_INET6_VALUES.contains(&le) { le } else { be };
            if family == AF_INET {
                SlicedPacket::from_ether_type(EtherType::IPV4, rest)
            } else if AF_INET6_VALUES.contains(&family) {
                SlicedPacket::from_ether_type(EtherType::IPV6, rest)
            } else {
                return Err(Skip::NotIp);
            }
        }
        LinkType::LinuxSll2 => {
            // SLL2 header: protocol type (u16 BE), reserved (2), interface index (4),
            // ARPHRD type (2), packet type (1), address length (1), address (8).
            let (head, rest) = split::<20>(data)?;
            SlicedPacket::from_ether_type(EtherType(u16::from_be_bytes([head[0], head[1]])), rest)
        }
    };
    let sliced = sliced.map_err(|_| Skip::Malformed)?;
    let (src_ip, dst_ip, fragmented): (IpAddr, IpAddr, bool) = match &sliced.net {
        Some(NetSlice::Ipv4(v4)) => {
            let h = v4.header();
            (h.source_addr().into(), h.destination_addr().into(), v4.payload().fragmented)
        }
        Some(NetSlice::Ipv6(v6)) => {
            let h = v6.header();
            (h.source_addr().into(), h.destination_addr().into(), v6.payload().fragmented)
        }
        None => return Err(Skip::NotIp),
    };
    if fragmented {
        return Err(Skip::Fragment);
    }
    match &sliced.transport {
        Some(TransportSlice::Udp(udp)) => Ok((
            SocketAddr::new(src_ip, udp.source_port()),
            SocketAddr::new(dst_ip, udp.destination_port()),
            udp.payload(),
        )),
        _ => Err(Skip::NotUdp),
    }
}

/// Splits off an `N`-byte header, or reports a malformed frame.
fn split<const N: usize>(data: &[u8]) -> Result<([u8; N], &[u8]), Skip> {
    match (data.get(..N), data.get(N..)) {
        (Some(head), Some(rest)) => Ok((head.try_into().map_err(|_| Skip::Malformed)?, rest)),
        _ => Err(Skip::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn udp_v4(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(4000, 5000);
        let mut out = Vec::new();
        b.write(&mut out, payload).expect("writing to a Vec cannot fail");
        out
    }

    fn udp_v6(payload: &[u8]) -> Vec<u8> {
        let mut src = [0u8; 16];
        src[15] = 1;
        let b = PacketBuilder::ipv6(src, src, 64).udp(12002, 12344);
        let mut out = Vec::new();
        b.write(&mut out, payload).expect("writing to a Vec cannot fail");
        out
    }

    fn one(link: LinkType, frame: &[u8]) -> Sink {
        let mut s = Sink::default();
        s.push_frame(link, HostTime(7), frame, frame.len(), 0);
        s
    }

    #[test]
    fn linktype_numbers() {
        assert_eq!(LinkType::from_linktype(1), Some(LinkType::Ethernet));
        assert_eq!(LinkType::from_linktype(0x1000_0001), Some(LinkType::Ethernet));
        assert_eq!(LinkType::from_linktype(276), Some(LinkType::LinuxSll2));
        assert_eq!(LinkType::from_linktype(12), Some(LinkType::RawIp));
        assert_eq!(LinkType::from_linktype(147), None);
    }

    #[test]
    fn ethernet_with_vlan_tag() {
        let ip = udp_v4(b"hello");
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x81, 0x00, 0x00, 0x05, 0x08, 0x00]);
        f.extend_from_slice(&ip);
        let s = one(LinkType::Ethernet, &f);
        assert_eq!(s.datagrams.len(), 1);
        let d = &s.datagrams[0];
        assert_eq!(d.src, "10.0.0.1:4000".parse().expect("literal"));
        assert_eq!(d.dst, "10.0.0.2:5000".parse().expect("literal"));
        assert_eq!(d.payload, b"hello");
        assert_eq!(d.time, HostTime(7));
    }

    #[test]
    fn bsd_loopback_both_byte_orders_and_ipv6() {
        let mut f = 2u32.to_le_bytes().to_vec();
        f.extend_from_slice(&udp_v4(b"x"));
        assert_eq!(one(LinkType::Null, &f).datagrams.len(), 1);
        let mut f = 2u32.to_be_bytes().to_vec();
        f.extend_from_slice(&udp_v4(b"x"));
        assert_eq!(one(LinkType::Loop, &f).datagrams.len(), 1);
        for af in AF_INET6_VALUES {
            let mut f = af.to_le_bytes().to_vec();
            f.extend_from_slice(&udp_v6(b"yy"));
            let s = one(LinkType::Null, &f);
            assert_eq!(s.datagrams[0].src, "[::1]:12002".parse().expect("literal"), "AF {af}");
        }
        let mut f = 7u32.to_le_bytes().to_vec();
        f.extend_from_slice(&udp_v4(b"x"));
        assert_eq!(one(LinkType::Null, &f).skipped.not_ip, 1);
    }

    #[test]
    fn linux_sll2_and_raw() {
        let mut f = vec![0x08, 0x00];
        f.extend_from_slice(&[0u8; 18]);
        f.extend_from_slice(&udp_v4(b"abc"));
        assert_eq!(one(LinkType::LinuxSll2, &f).datagrams[0].payload, b"abc");
        assert_eq!(one(LinkType::RawIp, &udp_v6(b"q")).datagrams[0].payload, b"q");
        assert_eq!(one(LinkType::Ipv4, &udp_v4(b"q")).datagrams.len(), 1);
        assert_eq!(one(LinkType::LinuxSll2, &f[..10]).skipped.malformed, 1);
    }

    #[test]
    fn fragments_tcp_and_snapped_frames_are_counted() {
        let mut ip = udp_v4(&[0u8; 40]);
        ip[6] = 0x20; // more-fragments flag
        assert_eq!(one(LinkType::RawIp, &ip).skipped.ip_fragment, 1);
        let mut tcp = Vec::new();
        PacketBuilder::ipv4([1, 1, 1, 1], [2, 2, 2, 2], 9)
            .tcp(1, 2, 3, 4)
            .write(&mut tcp, b"")
            .expect("writing to a Vec cannot fail");
        assert_eq!(one(LinkType::RawIp, &tcp).skipped.not_udp, 1);
        let full = udp_v4(&[0u8; 100]);
        let mut s = Sink::default();
        s.push_frame(LinkType::RawIp, HostTime(0), &full[..60], full.len(), 0);
        assert_eq!(s.skipped.snapped, 1);
        assert_eq!(one(LinkType::RawIp, &full[..60]).skipped.malformed, 1);
    }
}
