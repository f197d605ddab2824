//! The crate's error type: one variant per module, each wrapping that module's error enum.

#![forbid(unsafe_code)]

use thiserror::Error;

/// Any error the library returns.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// An RTP packet could not be parsed (RFC 3550 §5.1).
    #[error("rtp: {0}")]
    Rtp(#[from] crate::rtp::RtpParseError),
    /// A codec could not be created or failed on a frame.
    #[error("codec: {0}")]
    Codec(#[from] crate::codec::CodecError),
    /// The recorder or an Ogg stream failed.
    #[error("record: {0}")]
    Record(#[from] crate::record::RecordError),
    /// A capture could not be replayed into recordings.
    #[error("replay: {0}")]
    Replay(#[from] crate::replay::ReplayError),
    /// The call analysis could not take its input.
    #[error("analysis: {0}")]
    Analysis(#[from] crate::analysis::AnalysisError),
    /// A capture file could not be read.
    #[error("capture: {0}")]
    Capture(#[from] crate::capture::CaptureError),
    /// A mixing, tap, tone, prompt or schedule operation failed.
    #[error("mix: {0}")]
    Mix(#[from] crate::mix::MixError),
    /// An evidence log or manifest operation failed (broken hash chain, bad manifest file).
    #[error("evidence: {0}")]
    Evidence(#[from] crate::record::manifest::EvidenceError),
    /// The jitter buffer's receiver could not be built, or a pull was given a wrong buffer.
    #[error("jitter: {0}")]
    Jitter(#[from] crate::jitter::JitterError),
    /// The runtime (feature `runtime`) could not start, place a call or reach a shard.
    #[cfg(feature = "runtime")]
    #[error("runtime: {0}")]
    Runtime(#[from] crate::runtime::RuntimeError),
}

/// `Result` with the crate's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
