//! Statistics of [`AudioReceiver`](super::AudioReceiver): per stream and for the leg.

use crate::rtp::{Ssrc, StreamEpoch};
use std::time::Duration;

/// Counters of one stream (one SSRC within one [`StreamEpoch`]) or of the whole leg.
///
/// Packet counts: every packet handed to `insert` is `received`, then at most one of
/// `duplicates`, `late`, `discarded`, `non_audio`, or played. `lost` counts sequence
/// numbers whose playout slot passed without them (telephone-event and other
/// non-audio numbers excepted); one that arrives afterwards moves from `lost` to
/// `late`. Durations count output audio by what it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StreamCounters {
    /// Packets handed to `insert`.
    pub received: u64,
    /// Audio sequence numbers skipped at playout and never seen.
    pub lost: u64,
    /// Packets that arrived after their playout slot had passed (or of a superseded epoch).
    pub late: u64,
    /// Copies of a packet already held or played.
    pub duplicates: u64,
    /// Packets dropped for other reasons: buffer overflow (oldest first), a superseded
    /// epoch's remainder, an unmapped payload type, a codec without decoder, a decode error.
    pub discarded: u64,
    /// Packets that arrived with a lower sequence number than one already received.
    pub reordered: u64,
    /// Packets that were not audio: telephone-event (RFC 4733), ignored for playout.
    pub non_audio: u64,
    /// Lost packets whose audio was recovered from the next packet's in-band FEC (Opus).
    pub fec_recovered: u64,
    /// Audio played from packets (including merges).
    pub played: Duration,
    /// Concealment played (codec PLC or expansion, first 60 ms of each erasure).
    pub concealed: Duration,
    /// Audio removed by accelerate.
    pub accelerated: Duration,
    /// Audio added by preemptive expand.
    pub expanded: Duration,
    /// Comfort noise played (RFC 3389, Opus DTX, concealment fading out).
    pub comfort_noise: Duration,
    /// Silence played.
    pub silence: Duration,
    /// RFC 3550 §6.4.1 / App. A.8 interarrival jitter of the stream (for the leg: of the current stream).
    pub interarrival_jitter: Duration,
    /// Mean playout delay: time from a packet's arrival to the playout of its first sample, over played packets.
    pub mean_delay: Duration,
    /// Packets whose playout delay `mean_delay` averages.
    pub delay_samples: u64,
}

impl StreamCounters {
    /// Adds one playout-delay observation to the running mean.
    pub(crate) fn add_delay(&mut self, d: Duration) {
        self.delay_samples = self.delay_samples.saturating_add(1);
        let n = self.delay_samples as f64;
        let mean = self.mean_delay.as_secs_f64();
        self.mean_delay = Duration::from_secs_f64((mean + (d.as_secs_f64() - mean) / n).max(0.0));
    }
}

/// Statistics of an [`AudioReceiver`](super::AudioReceiver), from
/// [`AudioReceiver::stats`](super::AudioReceiver::stats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ReceiverStats {
    /// Counters over the life of the receiver (the leg).
    pub total: StreamCounters,
    /// Counters of the stream being played (reset on each new SSRC or epoch).
    pub stream: StreamCounters,
    /// SSRC of the stream being played.
    pub ssrc: Option<Ssrc>,
    /// Epoch of the stream being played.
    pub epoch: Option<StreamEpoch>,
    /// Streams (SSRC, epoch) played so far.
    pub streams: u32,
    /// Playout delay of the most recent packet started: arrival to playout of its first sample.
    pub current_delay: Duration,
    /// Current target playout delay.
    pub target_delay: Duration,
    /// Audio buffered now: decoded and not played, plus the span of held packets.
    pub buffer_level: Duration,
    /// Packets held now.
    pub buffered_packets: usize,
}
