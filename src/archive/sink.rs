//! [`ArchiveSink`]: a [`RecordingSink`] that records to the local spool and hands finished
//! files to the uploader (host side).
//!
//! While the call runs, pages go to `call.opus` (and `call.segK.opus` after rotations) in
//! the call's spool folder through one [`FileSink`] per segment, exactly as a
//! [`RotatingFileSink`](crate::record::RotatingFileSink) would; pcap sidecar records go to
//! `call.pcap` through another. When a rotated segment's file is complete, the uploader is
//! told (a long call's segments leave the host while it goes on); when the whole call is
//! complete locally, the call is sealed with its manifest and the rest is uploaded. Telling
//! the uploader is a send on an unbounded channel: it never blocks, whatever the store does.

use super::key::call_folder;
use super::spool::Spool;
use crate::record::file_sink::{FileSink, FileSinkConfig};
use crate::record::manifest::segment_file_name;
use crate::record::sink::{RecordingSink, SinkEvent, SinkTarget};
use crate::record::RecordingPage;
use crossbeam_channel::Sender;
use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// File name of segment 0 of every archived call (segment k: `call.segK.opus`).
pub const RECORDING_FILE: &str = "call.opus";
/// File name of the pcap evidence sidecar.
pub const SIDECAR_FILE: &str = "call.pcap";
/// File name of the signed manifest.
pub const MANIFEST_FILE: &str = "call.manifest.json";

/// A message from the sinks to the uploader.
#[derive(Debug)]
pub(crate) enum Notice {
    /// A rotated segment's file is complete: upload it now.
    FileReady { folder: String, file: String },
    /// The call is complete locally: write the manifest, seal, upload the rest.
    Seal { folder: String, manifest: Option<Vec<u8>> },
    /// Stop (`true`) or resume (`false`) starting uploads.
    Pause(bool),
    /// Stop the uploader.
    Shutdown,
}

/// The way into the archive: makes [`ArchiveSink`]s for calls. Cheap to clone; `Send`.
/// Obtained from [`Archiver::queue`](super::Archiver::queue).
#[derive(Debug, Clone)]
pub struct ArchiveQueue {
    tx: Sender<Notice>,
    busy: Arc<AtomicUsize>,
    spool: Spool,
}

impl ArchiveQueue {
    pub(crate) fn new(tx: Sender<Notice>, busy: Arc<AtomicUsize>, spool: Spool) -> ArchiveQueue {
        ArchiveQueue { tx, busy, spool }
    }

    /// A queue whose notices go to the returned receiver (unit tests, no uploader).
    #[cfg(test)]
    pub(crate) fn detached(spool: Spool) -> (ArchiveQueue, crossbeam_channel::Receiver<Notice>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        (ArchiveQueue::new(tx, Arc::new(AtomicUsize::new(0)), spool), rx)
    }

    /// Hands a notice to the uploader without blocking. When the uploader is gone the files
    /// stay in the spool and are picked up on the next start.
    pub(crate) fn send(&self, n: Notice) {
        self.busy.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(n).is_err() {
            self.busy.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// The spool the sinks write to.
    pub fn spool(&self) -> &Spool {
        &self.spool
    }

    /// A sink for the call `call_id` that started at `start_utc` (RFC 3339 UTC, the
    /// recording metadata's start): creates its spool folder
    /// [`call_folder`]`(call_id, start_utc)` under `pending/`. Each file uses `cfg` (its
    /// `target` is overridden: [`SinkTarget::Primary`] for the recording,
    /// [`SinkTarget::Sidecar`] for the pcap). Call it at call set-up, not from a media tick
    /// (it creates a folder). The pair (call id, start) must identify one call: a second sink
    /// for the same pair overwrites the first one's files.
    ///
    /// Errors: the `std::io::Error` of creating the folder.
    pub fn sink(&self, call_id: &str, start_utc: &str, cfg: FileSinkConfig) -> io::Result<ArchiveSink> {
        let folder = call_folder(call_id, start_utc);
        let dir = self.spool.pending(&folder);
        std::fs::create_dir_all(&dir)?;
        Ok(ArchiveSink {
            queue: self.clone(),
            folder,
            dir,
            cfg,
            current: None,
            closing: Vec::new(),
            sidecar: None,
            manifest: None,
            out: VecDeque::new(),
            totals: (0, 0),
            failed: Vec::new(),
            closed: false,
            sealed: false,
        })
    }
}

/// A [`RecordingSink`] writing the call to the spool and handing its files to the uploader;
/// see the module docs. Its events are those of its file sinks (targets `Primary` for the
/// recording, `Sidecar` for the pcap), then one [`SinkEvent::RecordingComplete`] (or
/// [`SinkEvent::RecordingIncomplete`]) when every local file is complete: the call is sealed
/// for upload at that moment. Upload progress is reported by the `Archiver`, not here.
///
/// A sink dropped without [`close`](RecordingSink::close) leaves an unsealed folder, which
/// the next start of the uploader treats as a call cut by a crash (uploaded as it is).
pub struct ArchiveSink {
    queue: ArchiveQueue,
    folder: String,
    dir: PathBuf,
    cfg: FileSinkConfig,
    current: Option<(u32, FileSink)>,
    closing: Vec<(u32, FileSink)>,
    sidecar: Option<FileSink>,
    manifest: Option<Vec<u8>>,
    out: VecDeque<SinkEvent>,
    totals: (u64, u64),
    failed: Vec<SinkTarget>,
    closed: bool,
    sealed: bool,
}

impl ArchiveSink {
    /// The call's folder, `YYYY/MM/DD/START_CALLID` (the object keys' middle part).
    pub fn folder(&self) -> &str {
        &self.folder
    }

    /// The file name to give [`EvidenceLog::to_manifest`](crate::record::EvidenceLog::to_manifest)
    /// as the first segment's name: [`RECORDING_FILE`].
    pub fn recording_file(&self) -> &'static str {
        RECORDING_FILE
    }

    /// Appends pcap sidecar bytes (the header, then each record, from
    /// [`PcapSidecar`](crate::record::PcapSidecar)) to `call.pcap`. Never blocks. Ignored
    /// after `close`.
    pub fn write_sidecar(&mut self, bytes: &[u8]) {
        if self.closed {
            return;
        }
        let s = self.sidecar.get_or_insert_with(|| {
            let mut cfg = self.cfg.clone();
            cfg.target = SinkTarget::Sidecar;
            match std::fs::File::create(self.dir.join(SIDECAR_FILE)) {
                Ok(f) => FileSink::with_target(f, cfg),
                // A file sink over a target that always fails reports WriteFailed for the sidecar.
                Err(e) => FileSink::with_target(Failing(e.to_string()), cfg),
            }
        });
        s.write_bytes(bytes);
    }

    /// Sets the signed manifest file's bytes ([`SignedManifest::sign`](crate::record::SignedManifest::sign)),
    /// written as `call.manifest.json` when the call is sealed. Give it before `close` (or at
    /// least before the sink reports `RecordingComplete`). Returns `false` (and keeps
    /// nothing) when the call is already sealed.
    pub fn attach_manifest(&mut self, bytes: Vec<u8>) -> bool {
        if self.sealed {
            return false;
        }
        self.manifest = Some(bytes);
        true
    }

    /// Drains one file sink; returns `Some(complete)` when it has ended.
    fn drain(sink: &mut FileSink, out: &mut VecDeque<SinkEvent>) -> Option<(bool, u64, u64)> {
        let mut end = None;
        while let Some(ev) = sink.poll_event() {
            match ev {
                SinkEvent::RecordingComplete { bytes, pages } => end = Some((true, bytes, pages)),
                SinkEvent::RecordingIncomplete { .. } => end = Some((false, 0, 0)),
                other => out.push_back(other),
            }
        }
        end
    }

    fn collect(&mut self) {
        if let Some((_, s)) = self.current.as_mut() {
            // The current segment ends only after close, when it has moved to `closing`.
            let _ = Self::drain(s, &mut self.out);
        }
        let mut i = 0;
        while i < self.closing.len() {
            match Self::drain(&mut self.closing[i].1, &mut self.out) {
                Some((ok, bytes, pages)) => {
                    let (k, _) = self.closing.swap_remove(i);
                    if ok {
                        self.totals.0 += bytes;
                        self.totals.1 += pages;
                    } else if !self.failed.contains(&SinkTarget::Primary) {
                        self.failed.push(SinkTarget::Primary);
                    }
                    if !self.closed {
                        // A rotated segment of a running call: off to the store now.
                        let file = segment_file_name(RECORDING_FILE, k);
                        self.queue.send(Notice::FileReady { folder: self.folder.clone(), file });
                    }
                }
                None => i += 1,
            }
        }
        if let Some(s) = self.sidecar.as_mut() {
            if self.closed {
                if let Some((ok, _, _)) = Self::drain(s, &mut self.out) {
                    self.sidecar = None;
                    if !ok {
                        self.failed.push(SinkTarget::Sidecar);
                    }
                }
            } else {
                let _ = Self::drain(s, &mut self.out);
            }
        }
        if self.closed && !self.sealed && self.closing.is_empty() && self.sidecar.is_none() {
            self.sealed = true;
            self.queue.send(Notice::Seal { folder: self.folder.clone(), manifest: self.manifest.take() });
            self.out.push_back(if self.failed.is_empty() {
                SinkEvent::RecordingComplete { bytes: self.totals.0, pages: self.totals.1 }
            } else {
                SinkEvent::RecordingIncomplete { failed: self.failed.clone() }
            });
        }
    }
}

impl RecordingSink for ArchiveSink {
    fn write_page(&mut self, page: &RecordingPage) {
        if self.closed {
            return;
        }
        if self.current.as_ref().map_or(true, |(k, _)| *k != page.segment) {
            if let Some((k, mut old)) = self.current.take() {
                old.close();
                self.closing.push((k, old));
            }
            let path = self.dir.join(segment_file_name(RECORDING_FILE, page.segment));
            let mut cfg = self.cfg.clone();
            cfg.target = SinkTarget::Primary;
            let sink = match std::fs::File::create(&path) {
                Ok(f) => FileSink::with_target(f, cfg),
                Err(e) => FileSink::with_target(Failing(format!("{}: {e}", path.display())), cfg),
            };
            self.current = Some((page.segment, sink));
        }
        if let Some((_, s)) = self.current.as_mut() {
            s.write_page(page);
        }
    }

    fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        if let Some((k, mut s)) = self.current.take() {
            s.close();
            self.closing.push((k, s));
        }
        if let Some(s) = self.sidecar.as_mut() {
            s.close();
        }
    }

    fn poll_event(&mut self) -> Option<SinkEvent> {
        if self.out.is_empty() {
            self.collect();
        }
        self.out.pop_front()
    }
}

/// A page target that fails every write (a file that could not be created), so the
/// failure surfaces as the file sink's usual `WriteFailed` event.
struct Failing(String);

impl io::Write for Failing {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::other(self.0.clone()))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl crate::record::PageTarget for Failing {
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::hash_chain::{chain_step, sha256, CHAIN_GENESIS};
    use std::time::{Duration, Instant};

    fn page(segment: u32, byte: u8) -> RecordingPage {
        let data = vec![byte; 100];
        let ph = sha256(&data);
        RecordingPage {
            data,
            granule: 0,
            sequence: 0,
            eos: false,
            segment,
            page_hash: ph,
            chain_hash: chain_step(&CHAIN_GENESIS, &ph),
        }
    }

    fn until(s: &mut ArchiveSink, pred: impl Fn(&SinkEvent) -> bool) -> Vec<SinkEvent> {
        let t0 = Instant::now();
        let mut seen = Vec::new();
        while t0.elapsed() < Duration::from_secs(10) {
            match s.poll_event() {
                Some(e) => {
                    let done = pred(&e);
                    seen.push(e);
                    if done {
                        return seen;
                    }
                }
                None => std::thread::sleep(Duration::from_millis(2)),
            }
        }
        panic!("no matching event in {seen:?}");
    }

    #[test]
    fn rotated_segments_go_early_and_the_call_is_sealed_with_its_manifest() {
        let root = std::env::temp_dir().join(format!("jyqq-archive-sink-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let (q, rx) = ArchiveQueue::detached(Spool::open(&root).unwrap());
        let mut s = q.sink("C-9", "2026-03-01T08:00:00Z", FileSinkConfig::default()).unwrap();
        assert_eq!(s.folder(), "2026/03/01/20260301T080000Z_C-9");
        s.write_sidecar(b"pcap-header");
        s.write_page(&page(0, 1));
        s.write_page(&page(0, 2));
        s.write_page(&page(1, 3));
        // Segment 0 was rotated: once its file is complete the uploader hears of it.
        let t0 = Instant::now();
        let n = loop {
            let _ = s.poll_event();
            if let Ok(n) = rx.try_recv() {
                break n;
            }
            assert!(t0.elapsed() < Duration::from_secs(10));
            std::thread::sleep(Duration::from_millis(2));
        };
        assert!(
            matches!(&n, Notice::FileReady { folder, file } if folder == s.folder() && file == "call.opus"),
            "{n:?}"
        );
        s.write_page(&page(1, 4));
        s.write_sidecar(b"record");
        assert!(s.attach_manifest(b"{manifest}".to_vec()));
        s.close();
        let ev = until(&mut s, |e| matches!(e, SinkEvent::RecordingComplete { .. }));
        assert_eq!(ev.last(), Some(&SinkEvent::RecordingComplete { bytes: 400, pages: 4 }));
        assert!(ev
            .iter()
            .any(|e| matches!(e, SinkEvent::TargetComplete { target: SinkTarget::Sidecar, bytes: 17, .. })));
        match rx.try_recv() {
            Ok(Notice::Seal { folder, manifest }) => {
                assert_eq!(folder, s.folder());
                assert_eq!(manifest.as_deref(), Some(&b"{manifest}"[..]));
            }
            other => panic!("{other:?}"),
        }
        assert!(!s.attach_manifest(Vec::new()), "sealed: too late");
        let dir = q.spool().pending(s.folder());
        assert_eq!(std::fs::read(dir.join("call.opus")).unwrap(), [vec![1u8; 100], vec![2; 100]].concat());
        assert_eq!(std::fs::read(dir.join("call.seg1.opus")).unwrap(), [vec![3u8; 100], vec![4; 100]].concat());
        assert_eq!(std::fs::read(dir.join("call.pcap")).unwrap(), b"pcap-headerrecord");
        assert!(rx.try_recv().is_err(), "one seal, nothing else");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
