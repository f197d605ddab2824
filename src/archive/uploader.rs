//! The uploader thread: a single-threaded tokio runtime driving up to `max_concurrent`
//! uploads (started no faster than `max_bytes_per_sec` allows, none while paused), fed by the sinks' notices (a crossbeam channel polled every few milliseconds)
//! and reporting [`ArchiveEvent`]s.
//!
//! Per file: read it from the spool, PUT it under its key with `x-amz-checksum-sha256`,
//! optionally GET it back and compare SHA-256; a failure re-queues it after a backoff
//! (doubling, ±25 % jitter, capped) and moves to the next endpoint. Per call: once sealed
//! and every file is stored, the stored hashes are compared with the call's manifest
//! (each segment's length and `file_sha256`, the sidecar's length and chain value); only
//! then is the local copy deleted or moved.

use super::key::object_key;
use super::s3::ArchiveConfig;
use super::sink::{Notice, MANIFEST_FILE};
use super::spool::Spool;
use super::ArchiveEvent;
use crate::record::hash_chain::{sha256, to_hex, Hash32, HashChain, CHAIN_GENESIS};
use crate::record::manifest::SignedManifest;
use crate::record::sidecar_pcap::pcap_items;
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutOptions, PutPayload};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Longest wait between two looks at the notice channel.
const TICK: Duration = Duration::from_millis(10);

/// What the store holds of one file, as uploaded (or read back).
#[derive(Debug, Clone, Copy)]
struct Stored {
    bytes: u64,
    sha256: Hash32,
    /// Chain value over the pcap items, for `.pcap` files.
    pcap_chain: Option<Hash32>,
}

#[derive(Debug, Clone, Copy)]
enum FileState {
    Waiting,
    Done(Stored),
}

#[derive(Debug, Default)]
struct Group {
    sealed: bool,
    files: BTreeMap<String, FileState>,
}

#[derive(Debug, Clone)]
struct Item {
    folder: String,
    file: String,
    key: String,
    /// File length when queued, bytes (for the rate limit).
    bytes: u64,
    attempts: u32,
    due: Instant,
}

/// Why one transfer failed.
enum TransferError {
    /// The local file is gone or unreadable.
    Local(String),
    /// The store or the network failed.
    Store(String),
}

pub(crate) struct Uploader {
    cfg: ArchiveConfig,
    stores: Vec<Arc<dyn ObjectStore>>,
    current: usize,
    spool: Spool,
    events: Sender<ArchiveEvent>,
    busy: Arc<AtomicUsize>,
    groups: BTreeMap<String, Group>,
    queue: VecDeque<Item>,
    in_flight: HashMap<tokio::task::Id, Item>,
    /// Call folders left by earlier processes, queued first.
    left: Vec<String>,
    /// No new upload starts while paused.
    paused: bool,
    /// Earliest start of the next upload under `max_bytes_per_sec`.
    next_start: Instant,
}

impl Uploader {
    pub(crate) fn new(
        cfg: ArchiveConfig,
        stores: Vec<Arc<dyn ObjectStore>>,
        spool: Spool,
        events: Sender<ArchiveEvent>,
        busy: Arc<AtomicUsize>,
        left: Vec<String>,
    ) -> Uploader {
        Uploader {
            cfg,
            stores,
            current: 0,
            spool,
            events,
            busy,
            groups: BTreeMap::new(),
            queue: VecDeque::new(),
            in_flight: HashMap::new(),
            left,
            paused: false,
            next_start: Instant::now(),
        }
    }

    pub(crate) fn run(mut self, rx: Receiver<Notice>) {
        let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                self.emit(ArchiveEvent::SpoolError { folder: String::new(), error: format!("runtime: {e}") });
                return;
            }
        };
        rt.block_on(self.main(rx));
    }

    fn emit(&self, e: ArchiveEvent) {
        let _ = self.events.send(e);
    }

    async fn main(&mut self, rx: Receiver<Notice>) {
        self.recover();
        self.busy.fetch_sub(1, Ordering::SeqCst);
        let mut tasks: JoinSet<Result<Stored, TransferError>> = JoinSet::new();
        loop {
            loop {
                match rx.try_recv() {
                    Ok(Notice::Shutdown) | Err(TryRecvError::Disconnected) => {
                        tasks.abort_all();
                        return;
                    }
                    Ok(n) => {
                        self.notice(n);
                        self.busy.fetch_sub(1, Ordering::SeqCst);
                    }
                    Err(TryRecvError::Empty) => break,
                }
            }
            let now = Instant::now();
            while !self.paused && now >= self.next_start && tasks.len() < self.cfg.max_concurrent.max(1) {
                let Some(item) = self.take_due(now) else { break };
                if let Some(rate) = self.cfg.max_bytes_per_sec.filter(|&r| r > 0) {
                    self.next_start = now + Duration::from_secs_f64(item.bytes as f64 / rate as f64);
                }
                self.spawn(&mut tasks, item);
            }
            let next = self.queue.iter().map(|i| i.due.max(self.next_start)).min();
            let wait = next.map_or(TICK, |d| d.saturating_duration_since(now).min(TICK));
            tokio::select! {
                Some(res) = tasks.join_next_with_id(), if !tasks.is_empty() => match res {
                    Ok((id, r)) => self.finish(id, r),
                    Err(e) => {
                        let id = e.id();
                        self.finish(id, Err(TransferError::Store(format!("upload task: {e}"))));
                    }
                },
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Queues what earlier processes left in the spool (found and sealed by `Archiver::start`).
    fn recover(&mut self) {
        for folder in std::mem::take(&mut self.left) {
            self.seal_group(&folder, true);
        }
    }

    fn notice(&mut self, n: Notice) {
        match n {
            Notice::FileReady { folder, file } => self.enqueue(&folder, &file, false),
            Notice::Seal { folder, manifest } => {
                if let Err(e) = self.spool.seal(&folder, manifest.as_deref().map(|m| (MANIFEST_FILE, m)), "ended") {
                    // Unsealed on disk: the files are uploaded now, and the call is completed
                    // (sealed as recovered) by the next start.
                    self.emit(ArchiveEvent::SpoolError { folder: folder.clone(), error: e.to_string() });
                    self.groups.entry(folder.clone()).or_default();
                    for f in self.spool.files(&folder).unwrap_or_default() {
                        self.enqueue(&folder, &f, false);
                    }
                    return;
                }
                self.seal_group(&folder, false);
            }
            Notice::Pause(p) => self.paused = p,
            Notice::Shutdown => {}
        }
    }

    /// Marks a call sealed, queues its files not yet known, and completes it if all are stored.
    fn seal_group(&mut self, folder: &str, recovered: bool) {
        match self.spool.files(folder) {
            Ok(files) => {
                for f in files {
                    self.enqueue(folder, &f, recovered);
                }
            }
            Err(e) => self.emit(ArchiveEvent::SpoolError { folder: folder.to_owned(), error: e.to_string() }),
        }
        self.groups.entry(folder.to_owned()).or_default().sealed = true;
        self.complete(folder);
    }

    fn enqueue(&mut self, folder: &str, file: &str, recovered: bool) {
        let g = self.groups.entry(folder.to_owned()).or_default();
        if g.files.contains_key(file) {
            return;
        }
        g.files.insert(file.to_owned(), FileState::Waiting);
        let key = object_key(&self.cfg.prefix, folder, file);
        let bytes = std::fs::metadata(self.spool.pending(folder).join(file)).map_or(0, |m| m.len());
        self.busy.fetch_add(1, Ordering::SeqCst);
        self.emit(ArchiveEvent::Queued { key: key.clone(), bytes, recovered });
        self.queue.push_back(Item {
            folder: folder.to_owned(),
            file: file.to_owned(),
            key,
            bytes,
            attempts: 0,
            due: Instant::now(),
        });
    }

    fn take_due(&mut self, now: Instant) -> Option<Item> {
        let i = self.queue.iter().position(|i| i.due <= now)?;
        self.queue.remove(i)
    }

    fn spawn(&mut self, tasks: &mut JoinSet<Result<Stored, TransferError>>, mut item: Item) {
        item.attempts += 1;
        self.emit(ArchiveEvent::Started { key: item.key.clone(), attempt: item.attempts });
        let store = self.stores[self.current % self.stores.len()].clone();
        let path = self.spool.pending(&item.folder).join(&item.file);
        let key = ObjectPath::from(item.key.as_str());
        let verify = self.cfg.verify_readback;
        let pcap = item.file.ends_with(".pcap");
        let h = tasks.spawn(async move {
            let data = std::fs::read(&path).map_err(|e| TransferError::Local(format!("{}: {e}", path.display())))?;
            transfer(store, key, data, verify, pcap).await
        });
        self.in_flight.insert(h.id(), item);
    }

    fn finish(&mut self, id: tokio::task::Id, r: Result<Stored, TransferError>) {
        let Some(mut item) = self.in_flight.remove(&id) else { return };
        match r {
            Ok(stored) => {
                self.emit(ArchiveEvent::Uploaded {
                    key: item.key.clone(),
                    bytes: stored.bytes,
                    attempt: item.attempts,
                });
                if self.cfg.verify_readback {
                    self.emit(ArchiveEvent::Verified { key: item.key.clone(), sha256: to_hex(&stored.sha256) });
                }
                if let Some(g) = self.groups.get_mut(&item.folder) {
                    g.files.insert(item.file.clone(), FileState::Done(stored));
                }
                self.complete(&item.folder);
                // Released last: a host that sees no outstanding work has every event already.
                self.busy.fetch_sub(1, Ordering::SeqCst);
            }
            Err(TransferError::Local(error)) => {
                // Nothing to upload any more: forget the file (the folder stays pending).
                if let Some(g) = self.groups.get_mut(&item.folder) {
                    g.files.remove(&item.file);
                    g.sealed = false;
                }
                self.busy.fetch_sub(1, Ordering::SeqCst);
                self.emit(ArchiveEvent::SpoolError { folder: item.folder, error });
            }
            Err(TransferError::Store(error)) => {
                self.current = (self.current + 1) % self.stores.len().max(1);
                let retry_in = retry_delay(&self.cfg, &item.key, item.attempts);
                self.emit(ArchiveEvent::Failed { key: item.key.clone(), attempt: item.attempts, error, retry_in });
                item.due = Instant::now() + retry_in;
                self.queue.push_back(item);
            }
        }
    }

    /// Completes a sealed call whose files are all stored: manifest check, then disposal.
    fn complete(&mut self, folder: &str) {
        let Some(g) = self.groups.get(folder) else { return };
        if !g.sealed || g.files.values().any(|s| matches!(s, FileState::Waiting)) {
            return;
        }
        let stored: BTreeMap<String, Stored> = g
            .files
            .iter()
            .filter_map(|(f, s)| match s {
                FileState::Done(st) => Some((f.clone(), *st)),
                FileState::Waiting => None,
            })
            .collect();
        self.groups.remove(folder);
        if stored.contains_key(MANIFEST_FILE) {
            if let Err(reason) = self.check_manifest(folder, &stored) {
                self.emit(ArchiveEvent::CallHeld { folder: folder.to_owned(), reason });
                return;
            }
        }
        match self.spool.dispose(folder, self.cfg.local) {
            Ok(()) => self.emit(ArchiveEvent::CallArchived {
                folder: folder.to_owned(),
                objects: stored.len(),
                local: self.cfg.local,
            }),
            Err(e) => self.emit(ArchiveEvent::SpoolError { folder: folder.to_owned(), error: e.to_string() }),
        }
    }

    /// Compares what the store holds with the call's manifest (read from the spool; its
    /// own stored hash equals the local file's).
    fn check_manifest(&self, folder: &str, stored: &BTreeMap<String, Stored>) -> Result<(), String> {
        let path = self.spool.pending(folder).join(MANIFEST_FILE);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if stored.get(MANIFEST_FILE).map(|s| s.sha256) != Some(sha256(&bytes)) {
            return Err("the manifest changed since it was uploaded".into());
        }
        let m = SignedManifest::parse(&bytes).map_err(|e| e.to_string())?.manifest;
        for seg in &m.segments {
            let s = stored.get(&seg.file).ok_or_else(|| format!("segment {} ({}) is missing", seg.index, seg.file))?;
            if s.bytes != seg.bytes || to_hex(&s.sha256) != seg.file_sha256 {
                return Err(format!(
                    "{}: stored {} bytes, SHA-256 {}; the manifest lists {} bytes, {}",
                    seg.file,
                    s.bytes,
                    to_hex(&s.sha256),
                    seg.bytes,
                    seg.file_sha256
                ));
            }
        }
        if let Some(sc) = &m.sidecar {
            let s = stored.get(&sc.file).ok_or_else(|| format!("sidecar {} is missing", sc.file))?;
            let chain = s.pcap_chain.map(|c| to_hex(&c)).unwrap_or_default();
            if s.bytes != sc.bytes || chain != sc.chain_final {
                return Err(format!(
                    "{}: stored {} bytes, chain {chain}; the manifest lists {} bytes, {}",
                    sc.file, s.bytes, sc.bytes, sc.chain_final
                ));
            }
        }
        Ok(())
    }
}

/// `retry_initial · 2^(attempt−1)`, capped at `retry_max`, times a jitter in [0.75, 1.25)
/// derived from the key and attempt (spreads the retries of many files).
pub(crate) fn retry_delay(cfg: &ArchiveConfig, key: &str, attempt: u32) -> Duration {
    let base = cfg.retry_initial.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    let capped = base.min(cfg.retry_max);
    let h = sha256(format!("{key}#{attempt}").as_bytes());
    let frac = f64::from(u16::from_le_bytes([h[0], h[1]])) / 65_536.0;
    capped.mul_f64(0.75 + 0.5 * frac)
}

/// PUT (the store checks `x-amz-checksum-sha256`), then optionally GET and compare. The
/// returned hashes are of the bytes read back (or, without read-back, of the bytes sent).
async fn transfer(
    store: Arc<dyn ObjectStore>,
    key: ObjectPath,
    data: Vec<u8>,
    verify: bool,
    pcap: bool,
) -> Result<Stored, TransferError> {
    let local = sha256(&data);
    let sent = bytes::Bytes::from(data);
    store
        .put_opts(&key, PutPayload::from(sent.clone()), PutOptions::default())
        .await
        .map_err(|e| TransferError::Store(format!("PUT: {e}")))?;
    let checked = if verify {
        let got = async { store.get(&key).await?.bytes().await }
            .await
            .map_err(|e| TransferError::Store(format!("read-back GET: {e}")))?;
        let h = sha256(&got);
        if h != local {
            return Err(TransferError::Store(format!(
                "read-back differs: {} bytes, SHA-256 {} (sent {} bytes, {})",
                got.len(),
                to_hex(&h),
                sent.len(),
                to_hex(&local)
            )));
        }
        got
    } else {
        sent
    };
    let pcap_chain = pcap.then(|| {
        let mut c = HashChain::new(CHAIN_GENESIS);
        for i in pcap_items(&checked).0 {
            c.push(i);
        }
        c.head()
    });
    Ok(Stored { bytes: checked.len() as u64, sha256: local, pcap_chain })
}
