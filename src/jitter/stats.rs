//! Jitter buffer counters.

use std::time::Duration;

/// Counters and current state of a [`JitterBuffer`](super::JitterBuffer), from
/// [`JitterBuffer::stats`](super::JitterBuffer::stats). Counts are packets unless
/// they say frames; a frame is one ptime of output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct JitterStats {
    /// Packets handed to `insert` (every outcome).
    pub received: u64,
    /// Frames played from a packet ([`Playout::Frame`](super::Playout::Frame)).
    pub played: u64,
    /// Frames concealed ([`Playout::Conceal`](super::Playout::Conceal)).
    pub concealed: u64,
    /// Frames of silence ([`Playout::Silence`](super::Playout::Silence)): buffering, DTX gaps, faded-out dry buffer.
    pub silence: u64,
    /// Sequence numbers whose slot passed and that have not arrived since. A packet
    /// counted here that arrives later moves to `late` (lost = never arrived).
    pub lost: u64,
    /// Packets dropped because their slot had already been played or concealed,
    /// or because they belong to an epoch already superseded.
    pub late: u64,
    /// Packets dropped as copies of a packet buffered or already played.
    pub duplicates: u64,
    /// Packets dropped because the buffer was full (the oldest one goes).
    pub overflow_drops: u64,
    /// Packets of a superseded epoch still buffered when the new epoch's first packet
    /// became due, dropped then.
    pub stale_drops: u64,
    /// Current target playout delay.
    pub target_delay: Duration,
    /// Media time buffered in the epoch being played: from the next slot to the end
    /// of the newest buffered packet of that epoch.
    pub buffer_level: Duration,
    /// Packets held now (all epochs).
    pub buffered_packets: usize,
    /// Current ptime (configured, or learned from timestamp steps).
    pub ptime: Duration,
}
