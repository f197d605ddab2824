//! Where recording pages go: the [`RecordingSink`] trait the host implements (or takes
//! from this crate: [`FileSink`](super::FileSink), [`DualSink`](super::DualSink),
//! [`RotatingFileSink`](super::RotatingFileSink), [`MemorySink`]), and the events a sink
//! reports.
//!
//! A sink must never block the media path: [`RecordingSink::write_page`] hands the page
//! over and returns. Whatever goes wrong later (a full queue, a failed write, a failed
//! backup target) is an event the host polls with [`RecordingSink::poll_event`] — values,
//! not callbacks, in the same poll style as the core.

use super::RecordingPage;

/// Which copy of a recording an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SinkTarget {
    /// The main copy (also a single sink's only copy).
    Primary,
    /// The backup copy of a [`DualSink`](super::DualSink).
    Backup,
    /// The pcap evidence sidecar.
    Sidecar,
}

/// Something that happened in a sink, polled by the host.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SinkEvent {
    /// The writer's bounded queue is full: pages are now held in memory on the media side
    /// (never dropped) until the writer catches up. An alarm: the disk is slow or stuck.
    QueueFull {
        /// The target whose queue is full.
        target: SinkTarget,
        /// Bytes held outside the queue at this moment.
        held_bytes: u64,
        /// Pages (or chunks) held outside the queue.
        held_pages: u64,
    },
    /// The held pages have all been handed to the writer again.
    QueueDrained {
        /// The target.
        target: SinkTarget,
    },
    /// Everything up to `durable_bytes` has been synced to stable storage (fdatasync).
    Synced {
        /// The target.
        target: SinkTarget,
        /// Bytes on stable storage.
        durable_bytes: u64,
    },
    /// A write or sync failed (disk full, I/O error): this target writes nothing more. The
    /// file keeps the complete pages written before (a partly written page is cut off when
    /// the target can truncate). The call and the other targets go on.
    WriteFailed {
        /// The failed target.
        target: SinkTarget,
        /// The operating system's error, as text.
        error: String,
        /// Bytes of complete pages the target holds.
        kept_bytes: u64,
    },
    /// One target has written and synced every page up to the end of the recording.
    TargetComplete {
        /// The target.
        target: SinkTarget,
        /// Bytes written.
        bytes: u64,
        /// Pages (or chunks) written.
        pages: u64,
    },
    /// The sink as a whole is complete: every target is (for a dual sink: both copies).
    RecordingComplete {
        /// Bytes of the recording.
        bytes: u64,
        /// Pages of the recording.
        pages: u64,
    },
    /// The sink was closed but some target failed; the listed ones do not hold the whole
    /// recording (the others do, if any are left).
    RecordingIncomplete {
        /// The targets that failed.
        failed: Vec<SinkTarget>,
    },
}

/// A destination for a recording's pages, implemented by the host or taken from this
/// module. Host side: implementations may do I/O, but `write_page` must not block.
pub trait RecordingSink {
    /// Takes the next page, in stream order (call after each
    /// [`Recorder::poll_page`](super::Recorder::poll_page)). Must not block; failures
    /// surface as [`SinkEvent`]s.
    fn write_page(&mut self, page: &RecordingPage);

    /// Ends the recording: after the last page. Completion (or failure) is reported by
    /// [`SinkEvent::RecordingComplete`] or [`SinkEvent::RecordingIncomplete`].
    fn close(&mut self);

    /// The next event, if any. Poll after `write_page`, `close`, and periodically.
    #[must_use]
    fn poll_event(&mut self) -> Option<SinkEvent>;
}

/// A sink that keeps the pages in memory (tests, or a host that writes them itself).
#[derive(Debug, Default, Clone)]
pub struct MemorySink {
    /// The pages' bytes, concatenated in order.
    pub bytes: Vec<u8>,
    /// Pages written.
    pub pages: u64,
    closed: bool,
    reported: bool,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> MemorySink {
        MemorySink::default()
    }
}

impl RecordingSink for MemorySink {
    fn write_page(&mut self, page: &RecordingPage) {
        self.bytes.extend_from_slice(&page.data);
        self.pages += 1;
    }
    fn close(&mut self) {
        self.closed = true;
    }
    fn poll_event(&mut self) -> Option<SinkEvent> {
        if self.closed && !self.reported {
            self.reported = true;
            return Some(SinkEvent::RecordingComplete { bytes: self.bytes.len() as u64, pages: self.pages });
        }
        None
    }
}
