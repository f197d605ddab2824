//! The recording archive (host side, feature `archive-s3`): finished recordings leave the media host for a
//! replicated S3-compatible object store (Garage, MinIO, Ceph RGW, AWS S3…).
//!
//! ```text
//! media thread ── pages ──► ArchiveSink ──► FileSink (local spool file, as before)
//!                               │ segment rotated / call sealed (a channel message, never blocks)
//!                               ▼
//!                      uploader thread (its own tokio runtime, feature `archive-s3`)
//!                               │ PUT with x-amz-checksum-sha256 (the store verifies it),
//!                               │ optional GET read-back, hashes compared with the manifest
//!                               ▼
//!                       object store  ──► only then: local copy deleted (or moved to archived/)
//! ```
//!
//! - [`ArchiveSink`] is a [`RecordingSink`](crate::record::RecordingSink): pages go to a
//!   local file in the [`Spool`] exactly as with a file sink; the evidence sidecar and the
//!   signed manifest go beside it. When a segment of a long call is rotated, and when the
//!   call ends, the uploader is told; the media thread never waits for it.
//! - The object key is derived from the call id and the start time only ([`key`]), so a
//!   repeated upload (after a crash, a restart, a lost reply) lands on the same key.
//! - [`Archiver`] runs the uploader: retries with exponential
//!   backoff and never gives up, rotates over several endpoints, rebuilds its queue from
//!   the spool on start, and reports every state change as an [`ArchiveEvent`] the host
//!   polls (no callbacks).

#![forbid(unsafe_code)]

pub mod key;
pub mod sink;
pub mod spool;

pub mod s3;
#[cfg(test)]
mod tests;
mod uploader;

pub use key::{call_folder, object_key};
pub use s3::{ArchiveConfig, Archiver};
pub use sink::{ArchiveQueue, ArchiveSink};
pub use spool::{Spool, SpooledCall};

use std::time::Duration;

/// What happens to the local copy of a call once the store holds all of it, verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LocalCopy {
    /// Deleted (the store is the backup; the spool only buffers).
    Delete,
    /// Moved from `pending/` to `archived/` in the spool (the host prunes it).
    Keep,
}

/// A state change of the archive, polled by the host.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArchiveEvent {
    /// A file is queued for upload.
    Queued {
        /// Its object key.
        key: String,
        /// File length, bytes.
        bytes: u64,
        /// Found in the spool on start (left by an earlier process) rather than handed over now.
        recovered: bool,
    },
    /// An upload attempt began.
    Started {
        /// Object key.
        key: String,
        /// Attempt number, from 1.
        attempt: u32,
    },
    /// The store confirmed the upload (HTTP 200 after checking the body's SHA-256).
    Uploaded {
        /// Object key.
        key: String,
        /// Bytes uploaded.
        bytes: u64,
        /// Attempt that succeeded, from 1.
        attempt: u32,
    },
    /// The object was read back and its SHA-256 equals the local file's.
    Verified {
        /// Object key.
        key: String,
        /// SHA-256 of the object (hex).
        sha256: String,
    },
    /// An attempt failed; the file stays queued and is tried again after `retry_in`.
    Failed {
        /// Object key.
        key: String,
        /// Attempt that failed, from 1.
        attempt: u32,
        /// The store's or the network's error, as text.
        error: String,
        /// Delay before the next attempt.
        retry_in: Duration,
    },
    /// Every file of a call is in the store and agrees with the call's manifest; the local
    /// copy was disposed of as configured.
    CallArchived {
        /// The call's folder (`YYYY/MM/DD/START_CALLID`, the key without prefix and file).
        folder: String,
        /// Objects stored.
        objects: usize,
        /// What was done with the local copy.
        local: LocalCopy,
    },
    /// A call's stored files disagree with its manifest (or the manifest is unreadable):
    /// the local copy stays in `pending/` for an investigator. Raised again on each start.
    CallHeld {
        /// The call's folder.
        folder: String,
        /// What disagrees.
        reason: String,
    },
    /// A call folder without `.sealed` was found on start: a call cut by a crash. It is
    /// sealed as `recovered` and its files are uploaded as the crash left them.
    Recovered {
        /// The call's folder.
        folder: String,
    },
    /// A local spool operation failed (reading a file to upload, writing a marker,
    /// disposing of a copy); the call stays in `pending/` and is retried on the next start.
    SpoolError {
        /// The call's folder.
        folder: String,
        /// The operating system's error, as text.
        error: String,
    },
}

/// Errors of setting up the archive.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// The configuration cannot be used (no endpoint, no bucket, a bad URL…); the reason.
    #[error("archive configuration: {0}")]
    Config(String),
    /// The spool directory could not be created or read.
    #[error("archive spool: {0}")]
    Spool(#[from] std::io::Error),
}
