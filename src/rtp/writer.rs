//! Serialising an RTP header and payload (RFC 3550 §5.1) into a caller's buffer.
//!
//! The sender side of the numbering rules: sequence numbers and timestamps are
//! plain wire values here; a sender advances them with `wrapping_add` (RFC 3550
//! §5.1: both wrap), never with `+`, which panics in debug builds at 2^16 / 2^32.

use super::packet::FIXED_HEADER_LEN;
use super::{PayloadType, Ssrc};
use thiserror::Error;

/// Why an [`RtpHeader`] cannot be written. Nothing is appended to the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RtpWriteError {
    /// The payload type does not fit the 7-bit PT field (must be 0..=127).
    #[error("payload type {0} does not fit in 7 bits")]
    PayloadTypeOutOfRange(u8),
    /// More than 15 CSRCs: the CC field has 4 bits.
    #[error("{0} CSRCs, at most 15 fit the CC field")]
    TooManyCsrcs(usize),
    /// The extension data exceeds 65 535 32-bit words (the 16-bit length field).
    #[error("header extension of {0} bytes exceeds 65535 32-bit words")]
    ExtensionTooLong(usize),
}

/// The fields of an RTP header to serialise with [`RtpHeader::write`].
///
/// Built with [`RtpHeader::new`] and the `with_*` methods:
/// ```
/// use jyqq_media::rtp::{PayloadType, RtpHeader, RtpPacket, Ssrc};
/// let mut buf = Vec::new();
/// RtpHeader::new(PayloadType(0), 1000, 160_000, Ssrc(0x1122_3344))
///     .with_marker(true)
///     .write(&[0xFF; 160], &mut buf)
///     .expect("PT 0 fits in 7 bits");
/// let p = RtpPacket::parse(&buf).expect("what we wrote parses");
/// assert_eq!((p.sequence(), p.payload().len()), (1000, 160));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader<'a> {
    marker: bool,
    payload_type: PayloadType,
    sequence: u16,
    timestamp: u32,
    ssrc: Ssrc,
    csrcs: &'a [Ssrc],
    extension: Option<(u16, &'a [u8])>,
    padding: u8,
}

impl<'a> RtpHeader<'a> {
    /// A header with M = 0, no CSRCs, no extension and no padding.
    /// `timestamp` is in RTP ticks of the payload type's clock rate.
    pub fn new(payload_type: PayloadType, sequence: u16, timestamp: u32, ssrc: Ssrc) -> Self {
        RtpHeader { marker: false, payload_type, sequence, timestamp, ssrc, csrcs: &[], extension: None, padding: 0 }
    }

    /// Sets the marker bit (first packet of a talkspurt for audio, RFC 3551 §4.1).
    pub fn with_marker(mut self, marker: bool) -> Self {
        self.marker = marker;
        self
    }

    /// Sets the CSRC list (at most 15 entries).
    pub fn with_csrcs(mut self, csrcs: &'a [Ssrc]) -> Self {
        self.csrcs = csrcs;
        self
    }

    /// Adds a header extension with `profile` (e.g. `0xBEDE`) and `data`; the data
    /// is padded with zero bytes to a whole number of 32-bit words (zero bytes are
    /// padding in the RFC 8285 forms).
    pub fn with_extension(mut self, profile: u16, data: &'a [u8]) -> Self {
        self.extension = Some((profile, data));
        self
    }

    /// Appends `pad_count` bytes of padding (P = 1), the last holding the count;
    /// 0 means no padding. Senders pad to a block size, e.g. for SRTP ciphers.
    pub fn with_padding(mut self, pad_count: u8) -> Self {
        self.padding = pad_count;
        self
    }

    /// Length in bytes that [`write`](RtpHeader::write) appends for a payload of `payload_len` bytes.
    pub fn packet_len(&self, payload_len: usize) -> usize {
        let ext = self.extension.map_or(0, |(_, d)| 4 + d.len().div_ceil(4) * 4);
        FIXED_HEADER_LEN + 4 * self.csrcs.len() + ext + payload_len + usize::from(self.padding)
    }

    /// Appends the header, `payload` and any padding to `out`; returns the bytes
    /// appended. On error nothing is appended.
    pub fn write(&self, payload: &[u8], out: &mut Vec<u8>) -> Result<usize, RtpWriteError> {
        if self.payload_type.0 > 127 {
            return Err(RtpWriteError::PayloadTypeOutOfRange(self.payload_type.0));
        }
        let cc = u8::try_from(self.csrcs.len())
            .ok()
            .filter(|&n| n <= 15)
            .ok_or(RtpWriteError::TooManyCsrcs(self.csrcs.len()))?;
        let ext_words = match self.extension {
            Some((_, d)) => {
                Some(u16::try_from(d.len().div_ceil(4)).map_err(|_| RtpWriteError::ExtensionTooLong(d.len()))?)
            }
            None => None,
        };
        let start = out.len();
        out.reserve(self.packet_len(payload.len()));
        let b0 = 0x80 | (u8::from(self.padding > 0) << 5) | (u8::from(ext_words.is_some()) << 4) | cc;
        out.push(b0);
        out.push((u8::from(self.marker) << 7) | self.payload_type.0);
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.0.to_be_bytes());
        for c in self.csrcs {
            out.extend_from_slice(&c.0.to_be_bytes());
        }
        if let (Some((profile, data)), Some(words)) = (self.extension, ext_words) {
            out.extend_from_slice(&profile.to_be_bytes());
            out.extend_from_slice(&words.to_be_bytes());
            out.extend_from_slice(data);
            out.resize(out.len() + (usize::from(words) * 4 - data.len()), 0);
        }
        out.extend_from_slice(payload);
        if self.padding > 0 {
            out.resize(out.len() + usize::from(self.padding) - 1, 0);
            out.push(self.padding);
        }
        Ok(out.len() - start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::RtpPacket;

    #[test]
    fn round_trip_all_fields() {
        let csrcs = [Ssrc(0x0102_0304), Ssrc(0x0506_0708)];
        let ext = [0x10, 0xAB, 0x21, 0x01, 0x02]; // padded to 8 bytes
        let mut buf = vec![0xEE]; // existing content is kept
        let n = RtpHeader::new(PayloadType(111), 65535, u32::MAX, Ssrc(7))
            .with_marker(true)
            .with_csrcs(&csrcs)
            .with_extension(0xBEDE, &ext)
            .with_padding(4)
            .write(&[1, 2, 3], &mut buf)
            .expect("valid header");
        assert_eq!(n, 12 + 8 + 4 + 8 + 3 + 4);
        assert_eq!(
            n,
            RtpHeader::new(PayloadType(0), 0, 0, Ssrc(0))
                .with_csrcs(&csrcs)
                .with_extension(1, &ext)
                .with_padding(4)
                .packet_len(3)
        );
        assert_eq!(buf[0], 0xEE);
        let p = RtpPacket::parse(&buf[1..]).expect("round trip");
        assert!(p.marker());
        assert_eq!(p.payload_type(), PayloadType(111));
        assert_eq!((p.sequence(), p.timestamp(), p.ssrc()), (65535, u32::MAX, Ssrc(7)));
        assert_eq!(p.csrcs().collect::<Vec<_>>(), csrcs.to_vec());
        let x = p.extension().expect("X = 1");
        assert_eq!(x.length_words(), 2);
        let els: Vec<_> = x.elements().map(|e| (e.id, e.data.to_vec())).collect();
        assert_eq!(els, vec![(1, vec![0xAB]), (2, vec![1, 2])]);
        assert_eq!(p.payload(), &[1, 2, 3]);
        assert_eq!(p.padding_len(), 4);
        assert_eq!(p.payload_offset(), 32);
    }

    #[test]
    fn errors_append_nothing() {
        let mut buf = Vec::new();
        let h = RtpHeader::new(PayloadType(128), 0, 0, Ssrc(0));
        assert_eq!(h.write(&[], &mut buf), Err(RtpWriteError::PayloadTypeOutOfRange(128)));
        let csrcs = [Ssrc(0); 16];
        let h = RtpHeader::new(PayloadType(0), 0, 0, Ssrc(0)).with_csrcs(&csrcs);
        assert_eq!(h.write(&[], &mut buf), Err(RtpWriteError::TooManyCsrcs(16)));
        let big = vec![0u8; 65536 * 4];
        let h = RtpHeader::new(PayloadType(0), 0, 0, Ssrc(0)).with_extension(0xBEDE, &big);
        assert_eq!(h.write(&[], &mut buf), Err(RtpWriteError::ExtensionTooLong(65536 * 4)));
        assert!(buf.is_empty());
    }
}
