//! RTP ingress: parsing (RFC 3550 §5.1), source validation and sequence/timestamp
//! extension (RFC 3550 App. A.1), strict source learning, receive statistics
//! (RFC 3550 §6.4.1, App. A.3 and A.8).
//!
//! Wraparound is handled here, exactly once: everything downstream of
//! [`Ingress`] sees 64-bit [`SeqNo`] and [`ExtTimestamp`] values and a
//! [`StreamEpoch`] that changes whenever the numbering restarts (new SSRC, or a
//! sequence restart on the same SSRC).
//!
//! - [`RtpPacket`]: zero-copy parse of one datagram (fixed header, CSRC list,
//!   header extension with RFC 8285 elements, padding); [`RtpHeader`] writes one.
//! - [`SequenceExtender`]: App. A.1 probation, MAX_DROPOUT / MAX_MISORDER and
//!   restart rules; extended sequence numbers are `cycles << 16 | seq`, starting in cycle 0.
//! - [`TimestampExtender`]: extension by signed 32-bit distance; an epoch's first
//!   timestamp is placed in cycle 1 (`2^32 + ts`) so that reordering never goes negative.
//! - [`ReceiveStats`] / [`InterarrivalJitter`]: App. A.3 loss and §6.4.1 jitter per stream.
//! - [`PayloadMap`]: payload type → encoding, clock rate and channels (RFC 3551, SDP).
//! - [`Ingress`]: all of the above for one call leg, with strict source learning.

#![forbid(unsafe_code)]

mod extension;
mod ingress;
mod packet;
mod payload;
mod seq;
mod stats;
mod writer;

pub use extension::{ExtensionElement, ExtensionElements, HeaderExtension, ONE_BYTE_PROFILE, TWO_BYTE_PROFILE};
pub use ingress::{Ingress, IngressConfig, IngressCounters, IngressDrop, STATS_HISTORY};
pub use packet::{RtpPacket, RtpParseError, FIXED_HEADER_LEN};
pub use payload::{PayloadFormat, PayloadMap, SdpError};
pub use seq::{
    SeqUpdate, SequenceExtender, TimestampExtender, DEFAULT_MAX_DROPOUT, DEFAULT_MAX_MISORDER, DEFAULT_MIN_SEQUENTIAL,
    MAX_MISORDER_LIMIT, RTP_SEQ_MOD,
};
pub use stats::{InterarrivalJitter, ReceiveStats};
pub use writer::{RtpHeader, RtpWriteError};

use crate::time::HostTime;
use bytes::Bytes;

/// An RTP payload type (7 bits, RFC 3550 §5.1; static assignments in RFC 3551 table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PayloadType(pub u8);

/// A synchronisation source identifier (RFC 3550 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ssrc(pub u32);

/// A sequence number extended to 64 bits (RFC 3550 App. A.1): `cycles << 16 | seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeqNo(pub u64);

impl SeqNo {
    /// The 16-bit sequence number on the wire.
    pub fn wire(self) -> u16 {
        (self.0 & 0xFFFF) as u16
    }
}

/// An RTP timestamp extended to 64 bits, in RTP ticks of the stream's clock rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExtTimestamp(pub u64);

impl ExtTimestamp {
    /// The 32-bit timestamp on the wire.
    pub fn wire(self) -> u32 {
        (self.0 & 0xFFFF_FFFF) as u32
    }
}

/// Counts numbering restarts on one leg: it changes when the SSRC changes or the
/// sequence numbers restart on the same SSRC (RFC 3550 App. A.1 "two sequential
/// packets" rule). Extended numbers are comparable only within one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamEpoch(pub u32);

/// An accepted RTP packet with wire numbers already extended; what ingress hands downstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaPacket {
    /// Host time the datagram arrived.
    pub arrival: HostTime,
    /// Synchronisation source.
    pub ssrc: Ssrc,
    /// Payload type from the header.
    pub payload_type: PayloadType,
    /// Marker bit (start of a talkspurt for audio, RFC 3551 §4.1).
    pub marker: bool,
    /// Extended sequence number.
    pub seq: SeqNo,
    /// Extended timestamp in RTP ticks.
    pub timestamp: ExtTimestamp,
    /// Numbering epoch this packet belongs to.
    pub epoch: StreamEpoch,
    /// The payload with padding removed.
    pub payload: Bytes,
}
