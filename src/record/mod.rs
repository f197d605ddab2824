//! Recording: each leg's timeline from extended RTP timestamps, mixed to a stereo
//! Ogg Opus stream (RFC 7845; channel 0 = leg A, channel 1 = leg B), pages emitted at
//! least every flush interval so a crash loses at most that much.

mod comfort;
mod recorder;
mod timeline;

pub use recorder::{Recorder, RecorderConfig, RecordingPage};

use thiserror::Error;

/// Errors of the recorder and of the Ogg layer.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The recorder configuration cannot be used (e.g. a rate Opus cannot encode).
    #[error("recorder configuration: {0}")]
    Config(String),
    /// The Opus encoder failed.
    #[error("encoder: {0}")]
    Codec(crate::codec::CodecError),
}

/// What happened on one leg's recording timeline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LegStats {
    /// Packets handed to the recorder.
    pub packets: u64,
    /// Audio packets decoded and written.
    pub decoded_frames: u64,
    /// Packets that arrived after their place had been written (dropped, counted).
    pub late: u64,
    /// Packets whose payload type has no decoder on this leg (not decoded as audio).
    pub unknown_payload_type: u64,
    /// telephone-event packets (RFC 4733): not audio, skipped.
    pub telephone_events: u64,
    /// Comfort-noise packets (RFC 3389).
    pub comfort_noise: u64,
    /// Payloads the decoder rejected.
    pub decode_errors: u64,
    /// Gaps filled before a packet.
    pub gaps: u64,
    /// Samples (at the recording rate) of codec concealment written.
    pub concealed_samples: u64,
    /// Samples of comfort noise written.
    pub comfort_samples: u64,
    /// Samples of silence written into gaps.
    pub silence_samples: u64,
    /// Re-anchors on a new SSRC or sequence restart.
    pub epoch_changes: u64,
    /// Re-anchors on a timestamp jump that disagreed with arrival time.
    pub timestamp_jumps: u64,
    /// Re-anchors on a change of RTP clock rate within one stream.
    pub clock_changes: u64,
}
