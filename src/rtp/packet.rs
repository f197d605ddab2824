//! Zero-copy parsing of one RTP packet (RFC 3550 §5.1).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |V=2|P|X|  CC   |M|     PT      |       sequence number         |
//! |                           timestamp                           |
//! |           synchronization source (SSRC) identifier            |
//! |            contributing source (CSRC) identifiers  (CC × 4)   |
//! | [profile (16) | length in 32-bit words (16) | extension data] |  X = 1
//! | payload …                                 [padding …  | count] |  P = 1
//! ```
//!
//! [`RtpPacket::parse`] validates every length before it slices, so no input can
//! make it panic or read out of bounds; accessors then only read fields that were
//! checked and stored at parse time.

use super::extension::HeaderExtension;
use super::{PayloadType, Ssrc};
use thiserror::Error;

/// Length of the RTP fixed header in bytes (RFC 3550 §5.1).
pub const FIXED_HEADER_LEN: usize = 12;

/// Why a datagram is not a well-formed RTP packet (RFC 3550 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RtpParseError {
    /// The datagram is shorter than the 12-byte fixed header (or than the 2 bytes
    /// needed to tell RTP from RTCP).
    #[error("datagram of {len} bytes is shorter than the 12-byte RTP fixed header")]
    TooShort {
        /// Datagram length in bytes.
        len: usize,
    },
    /// The version field (top two bits) is not 2; STUN, DTLS, ZRTP or garbage
    /// arriving on the RTP port land here.
    #[error("RTP version {version}, expected 2")]
    BadVersion {
        /// The version found (0..=3).
        version: u8,
    },
    /// The second byte is an RTCP packet type (192..=223, i.e. marker set and
    /// payload type 64..=95): an RTCP packet sent to the RTP port, as RFC 5761 §4
    /// demultiplexes it (SR 200 and RR 201 appear as PT 72 and 73 with the marker).
    #[error("RTCP packet type {packet_type} on the RTP port")]
    Rtcp {
        /// The RTCP packet type (second byte of the datagram).
        packet_type: u8,
    },
    /// The CSRC count (CC) announces more 32-bit identifiers than the datagram holds.
    #[error("CSRC list of {csrc_count} entries needs {needed} bytes, datagram has {len}")]
    TruncatedCsrc {
        /// The CC field (0..=15).
        csrc_count: u8,
        /// Bytes needed for the fixed header plus the CSRC list.
        needed: usize,
        /// Datagram length in bytes.
        len: usize,
    },
    /// X = 1 but the 4-byte extension header (profile, length) is cut off.
    #[error("header extension header needs {needed} bytes, datagram has {len}")]
    TruncatedExtensionHeader {
        /// Bytes needed up to the end of the extension header.
        needed: usize,
        /// Datagram length in bytes.
        len: usize,
    },
    /// The extension's length field (in 32-bit words, RFC 3550 §5.3.1) runs past
    /// the end of the datagram.
    #[error("header extension of {words} 32-bit words needs {needed} bytes, datagram has {len}")]
    TruncatedExtension {
        /// The extension length field, in 32-bit words (not counting its 4-byte header).
        words: u16,
        /// Bytes needed up to the end of the extension.
        needed: usize,
        /// Datagram length in bytes.
        len: usize,
    },
    /// P = 1 but nothing follows the header, so there is not even the pad-count
    /// byte RFC 3550 §5.1 requires.
    #[error("P bit set but no byte follows the header to hold the pad count")]
    MissingPadCount,
    /// P = 1 and the pad count (last byte, counting itself) is 0 or larger than
    /// the bytes after the fixed header, CSRC list and extension.
    #[error("pad count {pad_count} is 0 or exceeds the {available} bytes after the header")]
    BadPadding {
        /// The last byte of the datagram.
        pad_count: u8,
        /// Bytes after the header (payload plus padding).
        available: usize,
    },
}

/// One RTP packet borrowed from a datagram, validated by [`RtpPacket::parse`].
///
/// Nothing is copied: [`payload`](RtpPacket::payload), the CSRC list and the
/// header extension are slices of the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    datagram: &'a [u8],
    marker: bool,
    payload_type: PayloadType,
    sequence: u16,
    timestamp: u32,
    ssrc: Ssrc,
    csrc_list: &'a [u8],
    extension: Option<HeaderExtension<'a>>,
    payload_offset: usize,
    padding_len: usize,
    payload: &'a [u8],
}

fn be_u16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

fn be_u32(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([*b.first()?, *b.get(1)?, *b.get(2)?, *b.get(3)?]))
}

impl<'a> RtpPacket<'a> {
    /// Parses and validates `datagram` as one RTP packet (RFC 3550 §5.1).
    ///
    /// Checks, in order: at least 2 bytes; version 2; not an RTCP packet type
    /// (RFC 5761 §4); the 12-byte fixed header; the CSRC list (CC × 4 bytes); the
    /// header extension (4-byte header plus its length in 32-bit words); and the
    /// padding (last byte = pad count including itself, 1 ≤ count ≤ bytes after
    /// the header). Never panics and never reads outside `datagram`.
    pub fn parse(datagram: &'a [u8]) -> Result<Self, RtpParseError> {
        let len = datagram.len();
        let (b0, b1) = match datagram {
            [b0, b1, ..] => (*b0, *b1),
            _ => return Err(RtpParseError::TooShort { len }),
        };
        let version = b0 >> 6;
        if version != 2 {
            return Err(RtpParseError::BadVersion { version });
        }
        if (192..=223).contains(&b1) {
            return Err(RtpParseError::Rtcp { packet_type: b1 });
        }
        let (Some(sequence), Some(timestamp), Some(ssrc)) =
            (be_u16(datagram, 2), be_u32(datagram, 4), be_u32(datagram, 8))
        else {
            return Err(RtpParseError::TooShort { len });
        };
        let has_padding = b0 & 0x20 != 0;
        let has_extension = b0 & 0x10 != 0;
        let csrc_count = b0 & 0x0F;

        let mut offset = FIXED_HEADER_LEN + 4 * usize::from(csrc_count);
        let csrc_list = datagram.get(FIXED_HEADER_LEN..offset).ok_or(RtpParseError::TruncatedCsrc {
            csrc_count,
            needed: offset,
            len,
        })?;

        let extension = if has_extension {
            let needed = offset + 4;
            let (Some(profile), Some(words)) = (be_u16(datagram, offset), be_u16(datagram, offset + 2)) else {
                return Err(RtpParseError::TruncatedExtensionHeader { needed, len });
            };
            let end = needed + 4 * usize::from(words);
            let data =
                datagram.get(needed..end).ok_or(RtpParseError::TruncatedExtension { words, needed: end, len })?;
            offset = end;
            Some(HeaderExtension::new(profile, data))
        } else {
            None
        };

        // `offset <= len` holds here: every step above was checked by `get`.
        let available = len.saturating_sub(offset);
        let padding_len = if has_padding {
            let pad_count = match datagram.last() {
                Some(&c) if available > 0 => c,
                _ => return Err(RtpParseError::MissingPadCount),
            };
            if pad_count == 0 || usize::from(pad_count) > available {
                return Err(RtpParseError::BadPadding { pad_count, available });
            }
            usize::from(pad_count)
        } else {
            0
        };
        let payload = datagram.get(offset..len - padding_len).unwrap_or(&[]);

        Ok(RtpPacket {
            datagram,
            marker: b1 & 0x80 != 0,
            payload_type: PayloadType(b1 & 0x7F),
            sequence,
            timestamp,
            ssrc: Ssrc(ssrc),
            csrc_list,
            extension,
            payload_offset: offset,
            padding_len,
            payload,
        })
    }

    /// The whole datagram this packet was parsed from.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.datagram
    }

    /// Marker bit (M): for audio, the first packet of a talkspurt (RFC 3551 §4.1).
    pub fn marker(&self) -> bool {
        self.marker
    }

    /// Payload type (7 bits), to be mapped to a codec through the SDP (RFC 3551 table 4).
    pub fn payload_type(&self) -> PayloadType {
        self.payload_type
    }

    /// The 16-bit sequence number as on the wire (extend it with
    /// [`SequenceExtender`](super::SequenceExtender)).
    pub fn sequence(&self) -> u16 {
        self.sequence
    }

    /// The 32-bit timestamp as on the wire, in RTP ticks of the payload's clock
    /// rate (extend it with [`TimestampExtender`](super::TimestampExtender)).
    pub fn timestamp(&self) -> u32 {
        self.timestamp
    }

    /// Synchronisation source identifier.
    pub fn ssrc(&self) -> Ssrc {
        self.ssrc
    }

    /// Whether the P bit was set (the padding itself is already stripped from
    /// [`payload`](RtpPacket::payload)).
    pub fn has_padding(&self) -> bool {
        self.padding_len > 0
    }

    /// Number of contributing sources (CC field, 0..=15).
    pub fn csrc_count(&self) -> usize {
        self.csrc_list.len() / 4
    }

    /// The contributing sources (CSRC list), in header order.
    pub fn csrcs(&self) -> impl ExactSizeIterator<Item = Ssrc> + 'a {
        // `chunks_exact(4)` yields 4-byte slices only, so the indexing is in bounds.
        self.csrc_list.chunks_exact(4).map(|c| Ssrc(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
    }

    /// The `index`-th CSRC, if the list has that many.
    pub fn csrc(&self, index: usize) -> Option<Ssrc> {
        be_u32(self.csrc_list, index.checked_mul(4)?).map(Ssrc)
    }

    /// The header extension (X bit, RFC 3550 §5.3.1), if present.
    pub fn extension(&self) -> Option<HeaderExtension<'a>> {
        self.extension
    }

    /// Offset of the payload in the datagram, in bytes:
    /// 12 + 4 × CC (+ 4 + 4 × extension length when X = 1).
    pub fn payload_offset(&self) -> usize {
        self.payload_offset
    }

    /// Padding bytes removed from the end, including the pad-count byte (0 when P = 0).
    pub fn padding_len(&self) -> usize {
        self.padding_len
    }

    /// The payload, padding removed (what the depacketiser or decoder gets).
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(b0: u8, b1: u8) -> Vec<u8> {
        vec![b0, b1, 0x03, 0xE8, 0x00, 0x02, 0x71, 0x00, 0x11, 0x22, 0x33, 0x44]
    }

    #[test]
    fn fixed_header_fields() {
        let mut d = header(0x80, 0x80 | 8);
        d.extend_from_slice(&[1, 2, 3]);
        let p = RtpPacket::parse(&d).expect("valid packet");
        assert!(p.marker());
        assert_eq!(p.payload_type(), PayloadType(8));
        assert_eq!(p.sequence(), 1000);
        assert_eq!(p.timestamp(), 160_000);
        assert_eq!(p.ssrc(), Ssrc(0x1122_3344));
        assert_eq!(p.payload(), &[1, 2, 3]);
        assert_eq!(p.payload_offset(), 12);
        assert_eq!(p.padding_len(), 0);
        assert_eq!(p.csrc_count(), 0);
        assert!(p.extension().is_none());
    }

    #[test]
    fn empty_payload_is_valid_without_padding() {
        let d = header(0x80, 0);
        let p = RtpPacket::parse(&d).expect("12-byte packet is valid");
        assert_eq!(p.payload().len(), 0);
    }

    #[test]
    fn version_and_length_errors() {
        assert_eq!(RtpPacket::parse(&[]), Err(RtpParseError::TooShort { len: 0 }));
        assert_eq!(RtpPacket::parse(&[0x80]), Err(RtpParseError::TooShort { len: 1 }));
        assert_eq!(RtpPacket::parse(&header(0x80, 0)[..11]), Err(RtpParseError::TooShort { len: 11 }));
        assert_eq!(RtpPacket::parse(&header(0x40, 0)), Err(RtpParseError::BadVersion { version: 1 }));
        assert_eq!(RtpPacket::parse(&header(0x00, 0)), Err(RtpParseError::BadVersion { version: 0 }));
    }

    #[test]
    fn rtcp_types_are_told_apart() {
        // An 8-byte RTCP RR with no report blocks: V=2, RC=0, PT=201, length 1.
        let rr = [0x80, 201, 0x00, 0x01, 0xDE, 0xAD, 0xBE, 0xEF];
        assert_eq!(RtpPacket::parse(&rr), Err(RtpParseError::Rtcp { packet_type: 201 }));
        for pt in 72..=76u8 {
            assert_eq!(RtpPacket::parse(&header(0x80, 0x80 | pt)), Err(RtpParseError::Rtcp { packet_type: 0x80 | pt }));
            // Without the marker these are (reserved) RTP payload types, not RTCP.
            assert!(RtpPacket::parse(&header(0x80, pt)).is_ok());
        }
        // Marker with a dynamic payload type is plain RTP.
        assert!(RtpPacket::parse(&header(0x80, 0x80 | 111)).is_ok());
    }

    #[test]
    fn csrc_list() {
        let mut d = header(0x82, 0);
        d.extend_from_slice(&[0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFE, 9]);
        let p = RtpPacket::parse(&d).expect("valid");
        assert_eq!(p.csrcs().len(), 2);
        assert_eq!(p.csrcs().collect::<Vec<_>>(), vec![Ssrc(1), Ssrc(0xFFFF_FFFE)]);
        assert_eq!(p.csrc(1), Some(Ssrc(0xFFFF_FFFE)));
        assert_eq!(p.csrc(2), None);
        assert_eq!(p.csrc(usize::MAX), None);
        assert_eq!(p.payload(), &[9]);
        assert_eq!(p.payload_offset(), 20);
        // CC = 15 with only one CSRC present.
        let mut d = header(0x8F, 0);
        d.extend_from_slice(&[0, 0, 0, 1]);
        assert_eq!(RtpPacket::parse(&d), Err(RtpParseError::TruncatedCsrc { csrc_count: 15, needed: 72, len: 16 }));
    }

    #[test]
    fn extension_offsets() {
        let mut d = header(0x90, 0);
        d.extend_from_slice(&[0x12, 0x34, 0x00, 0x01, 0xAA, 0xBB, 0xCC, 0xDD, 0x55]);
        let p = RtpPacket::parse(&d).expect("valid");
        let x = p.extension().expect("X = 1");
        assert_eq!(x.profile(), 0x1234);
        assert_eq!(x.length_words(), 1);
        assert_eq!(x.data(), &[0xAA, 0xBB, 0xCC, 0xDD]);
        assert_eq!(p.payload_offset(), 20);
        assert_eq!(p.payload(), &[0x55]);
        assert_eq!(RtpPacket::parse(&d[..15]), Err(RtpParseError::TruncatedExtensionHeader { needed: 16, len: 15 }));
        assert_eq!(
            RtpPacket::parse(&d[..19]),
            Err(RtpParseError::TruncatedExtension { words: 1, needed: 20, len: 19 })
        );
    }

    #[test]
    fn padding_rules() {
        // Pad count equal to everything after the header: empty payload, valid.
        let mut d = header(0xA0, 0);
        d.extend_from_slice(&[0, 0, 3]);
        let p = RtpPacket::parse(&d).expect("valid");
        assert_eq!((p.payload().len(), p.padding_len()), (0, 3));
        assert!(p.has_padding());
        // Pad count of 1: only the count byte.
        let mut d = header(0xA0, 0);
        d.extend_from_slice(&[7, 7, 1]);
        let p = RtpPacket::parse(&d).expect("valid");
        assert_eq!(p.payload(), &[7, 7]);
        // Count larger than what follows the header, by one.
        let mut d = header(0xA0, 0);
        d.extend_from_slice(&[0, 0, 4]);
        assert_eq!(RtpPacket::parse(&d), Err(RtpParseError::BadPadding { pad_count: 4, available: 3 }));
        // Padding may not reach back into the CSRC list.
        let mut d = header(0xA1, 0);
        d.extend_from_slice(&[0, 0, 0, 4]);
        assert_eq!(RtpPacket::parse(&d), Err(RtpParseError::MissingPadCount));
    }
}
