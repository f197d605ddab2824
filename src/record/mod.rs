//! Recording: each leg's timeline from extended RTP timestamps, mixed to a stereo
//! Ogg Opus stream (RFC 7845; channel 0 = leg A, channel 1 = leg B) by [`Recorder`], pages
//! emitted at least every flush interval so a crash loses at most that much.
//!
//! The Ogg layer (RFC 3533) is ours: [`OggPageWriter`] appends pages to a caller's
//! buffer, [`OggPage`] parses them without copying. [`OpusHead`] and [`OpusTags`] are
//! the two header packets (RFC 7845 §5). [`read_ogg_opus`] reads and checks a finished
//! or crash-truncated file; [`repair`] closes a truncated one with an EOS page.

#![forbid(unsafe_code)]

mod comfort;
mod decode;
pub mod dual_sink;
pub mod file_sink;
pub mod hash_chain;
pub mod keys;
mod leg_audio;
pub mod manifest;
pub mod metadata;
mod ogg;
mod ogg_opus_info;
mod ogg_page;
mod opus_head;
mod opus_toc;
mod reader;
mod recorder;
mod repair;
pub mod rotation;
pub mod sidecar_pcap;
pub mod sink;
mod timeline;
mod track;
pub mod tsa;
pub mod verify;

pub use decode::{decode_ogg_opus, DecodedRecording};
pub use ogg::{
    crc32, crc32_update, lacing_segments, page_crc, patch_page, push_page, OggPageWriter, PageFlags, CAPTURE_PATTERN,
    GRANULE_NONE, MAX_PAGE_LEN, MAX_PAGE_SEGMENTS, PAGE_HEADER_LEN,
};
pub use ogg_opus_info::{samples_to_duration, AudioPacket, OggOpusInfo, OggOpusIssue, SequenceGap, OPUS_GRANULE_RATE};
pub use ogg_page::{find_capture, OggPage, PacketPart, PacketParts};
pub use opus_head::{OpusHead, OpusTags, OPUS_HEAD_MAGIC, OPUS_TAGS_MAGIC};
pub use opus_toc::{frame_samples_48k, opus_packet_samples, MAX_PACKET_SAMPLES_48K};
pub use reader::read_ogg_opus;
pub use recorder::{Recorder, RecorderConfig, RecordingPage};
pub use repair::{repair, REPAIR_VENDOR};

pub use dual_sink::DualSink;
pub use file_sink::{FileSink, FileSinkConfig, PageTarget};
pub use hash_chain::{Hash32, HashChain, CHAIN_GENESIS};
pub use manifest::{EvidenceLog, Manifest, SignedManifest};
pub use metadata::RecordingMetadata;
pub use rotation::RotatingFileSink;
pub use sidecar_pcap::PcapSidecar;
pub use sink::{RecordingSink, SinkEvent, SinkTarget};
pub use verify::{verify_recording, Finding, VerifyReport};

use thiserror::Error;

/// Errors of the recorder and of the Ogg / Ogg Opus layer.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordError {
    /// The input ends before the Ogg page does (RFC 3533 §6): `needed` bytes for the
    /// header, segment table or body, `available` present. A crash-truncated last page.
    #[error("Ogg page truncated: need {needed} bytes, have {available}")]
    OggTruncated {
        /// Bytes the page needs, counted from its first byte.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// The bytes do not start with the capture pattern "OggS" (RFC 3533 §6).
    #[error("no Ogg capture pattern")]
    OggCapturePattern,
    /// The page's stream_structure_version is not 0 (RFC 3533 §6).
    #[error("unsupported Ogg version {0}")]
    OggVersion(u8),
    /// The page's CRC does not match its bytes (RFC 3533 §6): the page is damaged.
    #[error("Ogg page CRC mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    OggCrc {
        /// CRC stored in the header.
        stored: u32,
        /// CRC computed over the page.
        computed: u32,
        /// Length the page header claims (unreliable if the header is the damaged part).
        page_len: usize,
    },
    /// A segment table given to [`push_page`] has more than 255 values or does not add
    /// up to the body length (RFC 3533 §6).
    #[error("segment table of {segments} values does not describe a {body_len}-byte body")]
    InvalidSegmentTable {
        /// Lacing values given.
        segments: usize,
        /// Body bytes given.
        body_len: usize,
    },
    /// [`patch_page`] was given more bytes than the one page they start with.
    #[error("expected one {page_len}-byte page, got {given} bytes")]
    NotOnePage {
        /// Length of the page found.
        page_len: usize,
        /// Bytes given.
        given: usize,
    },
    /// Several packets given to [`OggPageWriter::write_page`] need more than one page
    /// (more than 255 lacing values); use [`OggPageWriter::write_packets`].
    #[error("packets need {segments} lacing values, more than one page holds")]
    PageOverflow {
        /// Lacing values the packets need.
        segments: usize,
    },
    /// The OpusHead packet breaks RFC 7845 §5.1; the rule broken.
    #[error("invalid OpusHead: {0}")]
    InvalidOpusHead(&'static str),
    /// The OpusTags packet breaks RFC 7845 §5.2; the rule broken.
    #[error("invalid OpusTags: {0}")]
    InvalidOpusTags(&'static str),
    /// The input holds no complete Ogg page with a valid CRC (empty, not Ogg, or only a
    /// partial or damaged page).
    #[error("no valid Ogg page ({crc_failures} pages with a bad CRC)")]
    NoOggPage {
        /// Pages dropped for a bad CRC.
        crc_failures: u32,
    },
    /// No BOS page starts with an OpusHead packet (RFC 7845 §3): not Ogg Opus, or its
    /// first page is damaged (`crc_failures` pages were dropped).
    #[error("no Ogg Opus stream ({crc_failures} pages with a bad CRC)")]
    NotOggOpus {
        /// Pages dropped for a bad CRC.
        crc_failures: u32,
    },
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
    /// Packets whose place lies more than 10 minutes after the leg's audio written so far
    /// (an arrival time far ahead of the recorder's clock, [`Recorder::handle_timeout`] not
    /// called in between): dropped rather than holding the gap's silence in memory.
    pub far_ahead: u64,
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
    /// Times the epoch's anchor moved earlier because a later packet arrived faster than the
    /// anchoring one (lead-in silence removed; see the timeline docs).
    pub anchor_refinements: u64,
    /// Re-anchors on a change of RTP clock rate within one stream.
    pub clock_changes: u64,
    /// Lost frames recovered from the next packet's in-band FEC (Opus LBRR, RFC 6716 §2.1.7)
    /// instead of concealed.
    pub fec_recovered: u64,
    /// DTX frames (Opus DTX, G.729B SID): the timestamp gap after each is silence, not loss.
    pub dtx_frames: u64,
    /// Samples of silence written into DTX gaps (not counted in `gaps` or `silence_samples`).
    pub dtx_silence_samples: u64,
    /// Decoded samples (at the decoder's rate) that went through a resampler to the recording rate.
    pub resampled_samples: u64,
    /// Intervals filled with codec concealment: (start, length) in samples at the recording
    /// rate on the call timeline; at most [`MAX_LOGGED_INTERVALS`] are kept (the sample
    /// count in `concealed_samples` stays complete).
    pub concealed_intervals: Vec<(u64, u64)>,
}

/// Most concealment intervals a [`LegStats`] keeps.
pub const MAX_LOGGED_INTERVALS: usize = 10_000;
