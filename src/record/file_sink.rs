//! A crash-safe file sink (host side: it uses `std::fs`, a thread and a channel, unlike
//! the sans-IO core).
//!
//! The media path calls [`FileSink::write_page`], which only hands the page to a bounded
//! crossbeam channel; a writer thread writes the pages in order with `write_all` (so a
//! killed process loses nothing it had handed over once the thread wrote it: the bytes are
//! in the kernel) and syncs them to stable storage (`fdatasync`) at most
//! [`FileSinkConfig::sync_interval`] after they were written (power loss bound).
//!
//! Drop policy: none. When the queue is full the page is held in memory on the media side,
//! [`SinkEvent::QueueFull`] is raised once with the bytes held, and held pages are handed
//! over first as soon as the queue has room ([`SinkEvent::QueueDrained`]). A failed write
//! or sync (disk full) is [`SinkEvent::WriteFailed`]: the file is cut back to its last
//! complete page and the target writes nothing more; the call goes on.

use super::sink::{RecordingSink, SinkEvent, SinkTarget};
use super::RecordingPage;
use crossbeam_channel::{bounded, unbounded, Receiver, RecvTimeoutError, Sender, TrySendError};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A byte destination the writer thread can write, sync and cut back.
pub trait PageTarget: Write + Send + 'static {
    /// Makes everything written so far durable (`fdatasync` for a file).
    fn sync(&mut self) -> io::Result<()>;
    /// Cuts the target back to `len` bytes after a failed write, so it ends on a page
    /// boundary. Returns `Ok(false)` when the target cannot be cut (the default).
    fn truncate(&mut self, len: u64) -> io::Result<bool> {
        let _ = len;
        Ok(false)
    }
}

impl PageTarget for File {
    fn sync(&mut self) -> io::Result<()> {
        self.sync_data()
    }
    fn truncate(&mut self, len: u64) -> io::Result<bool> {
        self.set_len(len)?;
        self.seek(SeekFrom::Start(len))?;
        Ok(true)
    }
}

/// Settings of a [`FileSink`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FileSinkConfig {
    /// Pages the channel to the writer thread holds before pages are held on the media side.
    pub queue_pages: usize,
    /// Longest time between a write and its `fdatasync`; `Duration::ZERO` syncs after every page.
    pub sync_interval: Duration,
    /// The target named in this sink's events.
    pub target: SinkTarget,
}

impl Default for FileSinkConfig {
    /// 64 pages of queue (a minute at 1 s pages), sync every second, target `Primary`.
    fn default() -> Self {
        FileSinkConfig { queue_pages: 64, sync_interval: Duration::from_secs(1), target: SinkTarget::Primary }
    }
}

enum Msg {
    Data(Vec<u8>),
    Close,
}

/// A [`RecordingSink`] writing pages in order to a file (or any [`PageTarget`]) from a
/// writer thread. See the module docs for the crash, queue and failure behaviour.
pub struct FileSink {
    tx: Sender<Msg>,
    events: Receiver<SinkEvent>,
    held: VecDeque<Vec<u8>>,
    held_bytes: u64,
    alarm: bool,
    close_pending: bool,
    local: VecDeque<SinkEvent>,
    thread: Option<JoinHandle<()>>,
    target: SinkTarget,
}

impl FileSink {
    /// Creates (truncating) the file at `path` and starts the writer thread.
    ///
    /// Errors: the `std::io::Error` of creating the file.
    pub fn create(path: &Path, cfg: FileSinkConfig) -> io::Result<FileSink> {
        let f = File::create(path)?;
        Ok(FileSink::with_target(f, cfg))
    }

    /// Starts a writer thread over any [`PageTarget`] (a fault-injecting writer in tests,
    /// a network stream…).
    pub fn with_target<T: PageTarget>(target: T, cfg: FileSinkConfig) -> FileSink {
        let (tx, rx) = bounded(cfg.queue_pages.max(1));
        let (ev_tx, ev_rx) = unbounded();
        let name = cfg.target;
        let thread = std::thread::Builder::new()
            .name("jyqq-file-sink".into())
            .spawn(move || writer_loop(target, rx, ev_tx, cfg))
            .ok();
        let mut sink = FileSink {
            tx,
            events: ev_rx,
            held: VecDeque::new(),
            held_bytes: 0,
            alarm: false,
            close_pending: false,
            local: VecDeque::new(),
            thread,
            target: name,
        };
        if sink.thread.is_none() {
            sink.local.push_back(SinkEvent::WriteFailed {
                target: name,
                error: "could not start the writer thread".into(),
                kept_bytes: 0,
            });
        }
        sink
    }

    /// Hands `bytes` (a page, or a pcap record) to the writer. Never blocks, never drops.
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        self.pump();
        if self.held.is_empty() {
            match self.tx.try_send(Msg::Data(bytes.to_vec())) {
                Ok(()) => {}
                Err(TrySendError::Full(Msg::Data(d))) => self.hold(d),
                Err(TrySendError::Full(Msg::Close)) => {}
                // The writer is gone (it never started): keep the bytes, counted as held.
                Err(TrySendError::Disconnected(Msg::Data(d))) => self.hold(d),
                Err(TrySendError::Disconnected(Msg::Close)) => {}
            }
        } else {
            self.hold(bytes.to_vec());
        }
    }

    fn hold(&mut self, d: Vec<u8>) {
        self.held_bytes += d.len() as u64;
        self.held.push_back(d);
        if !self.alarm {
            self.alarm = true;
            self.local.push_back(SinkEvent::QueueFull {
                target: self.target,
                held_bytes: self.held_bytes,
                held_pages: self.held.len() as u64,
            });
        }
    }

    /// Moves held pages (and a pending close) into the channel while it has room.
    fn pump(&mut self) {
        while let Some(d) = self.held.pop_front() {
            let len = d.len() as u64;
            match self.tx.try_send(Msg::Data(d)) {
                Ok(()) => self.held_bytes -= len,
                Err(TrySendError::Full(Msg::Data(d)) | TrySendError::Disconnected(Msg::Data(d))) => {
                    self.held.push_front(d);
                    return;
                }
                Err(_) => return,
            }
        }
        if self.alarm {
            self.alarm = false;
            self.local.push_back(SinkEvent::QueueDrained { target: self.target });
        }
        if self.close_pending && self.tx.try_send(Msg::Close).is_ok() {
            self.close_pending = false;
        }
    }

    /// Bytes currently held on the media side because the queue was full.
    pub fn held_bytes(&self) -> u64 {
        self.held_bytes
    }

    /// Closes the sink and blocks until the writer thread has written, synced and stopped
    /// (end of call, off the media path). Returns every event not yet polled.
    pub fn close_and_wait(&mut self) -> Vec<SinkEvent> {
        self.close_pending = false;
        // Blocking sends: the writer drains the channel.
        while let Some(d) = self.held.pop_front() {
            self.held_bytes -= d.len() as u64;
            let _ = self.tx.send(Msg::Data(d));
        }
        let _ = self.tx.send(Msg::Close);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let mut out: Vec<SinkEvent> = self.local.drain(..).collect();
        out.extend(self.events.try_iter());
        out
    }
}

impl RecordingSink for FileSink {
    fn write_page(&mut self, page: &RecordingPage) {
        self.write_bytes(&page.data);
    }
    fn close(&mut self) {
        self.close_pending = true;
        self.pump();
    }
    fn poll_event(&mut self) -> Option<SinkEvent> {
        self.pump();
        if let Some(e) = self.local.pop_front() {
            return Some(e);
        }
        self.events.try_recv().ok()
    }
}

struct Writer<T: PageTarget> {
    target: T,
    events: Sender<SinkEvent>,
    name: SinkTarget,
    written: u64,
    pages: u64,
    dirty: bool,
    failed: bool,
    last_sync: Instant,
}

impl<T: PageTarget> Writer<T> {
    fn fail(&mut self, e: &io::Error) {
        // Cut a partly written page off so the file ends on a page boundary.
        let _ = self.target.truncate(self.written);
        self.failed = true;
        let _ = self.events.send(SinkEvent::WriteFailed {
            target: self.name,
            error: e.to_string(),
            kept_bytes: self.written,
        });
    }

    fn sync(&mut self) {
        if !self.dirty || self.failed {
            return;
        }
        match self.target.flush().and_then(|()| self.target.sync()) {
            Ok(()) => {
                self.dirty = false;
                self.last_sync = Instant::now();
                let _ = self.events.send(SinkEvent::Synced { target: self.name, durable_bytes: self.written });
            }
            Err(e) => self.fail(&e),
        }
    }
}

fn writer_loop<T: PageTarget>(target: T, rx: Receiver<Msg>, events: Sender<SinkEvent>, cfg: FileSinkConfig) {
    let mut w = Writer {
        target,
        events,
        name: cfg.target,
        written: 0,
        pages: 0,
        dirty: false,
        failed: false,
        last_sync: Instant::now(),
    };
    loop {
        let msg = if w.dirty && !w.failed {
            let due = w.last_sync + cfg.sync_interval;
            rx.recv_timeout(due.saturating_duration_since(Instant::now()))
        } else {
            rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
        };
        match msg {
            Ok(Msg::Data(d)) => {
                if w.failed {
                    continue;
                }
                match w.target.write_all(&d) {
                    Ok(()) => {
                        w.written += d.len() as u64;
                        w.pages += 1;
                        if !w.dirty {
                            w.last_sync = Instant::now();
                        }
                        w.dirty = true;
                        if w.last_sync.elapsed() >= cfg.sync_interval {
                            w.sync();
                        }
                    }
                    Err(e) => w.fail(&e),
                }
            }
            Ok(Msg::Close) => {
                w.sync();
                let ev = if w.failed {
                    vec![SinkEvent::RecordingIncomplete { failed: vec![w.name] }]
                } else {
                    vec![
                        SinkEvent::TargetComplete { target: w.name, bytes: w.written, pages: w.pages },
                        SinkEvent::RecordingComplete { bytes: w.written, pages: w.pages },
                    ]
                };
                for e in ev {
                    let _ = w.events.send(e);
                }
                return;
            }
            Err(RecvTimeoutError::Timeout) => w.sync(),
            Err(RecvTimeoutError::Disconnected) => {
                // The sink was dropped without close: make what we have durable and stop.
                w.sync();
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Shared in-memory target that can fail after a byte budget or stall.
    #[derive(Clone, Default)]
    struct Mem {
        data: Arc<Mutex<Vec<u8>>>,
        budget: Option<usize>,
        gate: Option<Arc<Mutex<()>>>,
        syncs: Arc<Mutex<u32>>,
    }
    impl Write for Mem {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            if let Some(g) = &self.gate {
                drop(g.lock().unwrap());
            }
            let mut d = self.data.lock().unwrap();
            let n = match self.budget {
                Some(limit) if d.len() >= limit => return Err(io::Error::other("No space left on device")),
                Some(limit) => b.len().min(limit - d.len()),
                None => b.len(),
            };
            d.extend_from_slice(&b[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl PageTarget for Mem {
        fn sync(&mut self) -> io::Result<()> {
            *self.syncs.lock().unwrap() += 1;
            Ok(())
        }
        fn truncate(&mut self, len: u64) -> io::Result<bool> {
            self.data.lock().unwrap().truncate(len as usize);
            Ok(true)
        }
    }

    #[test]
    fn writes_in_order_and_completes() {
        let mem = Mem::default();
        let mut s = FileSink::with_target(mem.clone(), FileSinkConfig::default());
        for i in 0..100u8 {
            s.write_bytes(&[i; 10]);
        }
        let ev = s.close_and_wait();
        assert!(ev.contains(&SinkEvent::RecordingComplete { bytes: 1000, pages: 100 }), "{ev:?}");
        let d = mem.data.lock().unwrap();
        assert!(d.chunks(10).enumerate().all(|(i, c)| c == [i as u8; 10]));
        assert!(*mem.syncs.lock().unwrap() >= 1);
    }

    #[test]
    fn full_queue_holds_pages_and_raises_one_alarm() {
        let gate = Arc::new(Mutex::new(()));
        let stall = gate.lock().unwrap();
        let mem = Mem { gate: Some(gate.clone()), ..Mem::default() };
        let cfg = FileSinkConfig { queue_pages: 2, ..FileSinkConfig::default() };
        let mut s = FileSink::with_target(mem.clone(), cfg);
        for i in 0..10u8 {
            s.write_bytes(&[i; 7]);
        }
        // One page may be in the writer's hands, two in the queue: at least 7 are held.
        assert!(s.held_bytes() >= 49, "{}", s.held_bytes());
        let first = s.poll_event();
        assert_eq!(first, Some(SinkEvent::QueueFull { target: SinkTarget::Primary, held_bytes: 7, held_pages: 1 }));
        assert_eq!(s.poll_event(), None, "one alarm per episode while stalled");
        drop(stall);
        let ev = s.close_and_wait();
        assert!(ev.contains(&SinkEvent::RecordingComplete { bytes: 70, pages: 10 }), "{ev:?}");
        assert_eq!(mem.data.lock().unwrap().len(), 70);
    }

    #[test]
    fn failed_write_is_an_event_and_keeps_whole_pages() {
        let mem = Mem { budget: Some(25), ..Mem::default() };
        let mut s = FileSink::with_target(mem.clone(), FileSinkConfig::default());
        for i in 0..5u8 {
            s.write_bytes(&[i; 10]);
        }
        let ev = s.close_and_wait();
        assert!(ev.iter().any(|e| matches!(e, SinkEvent::WriteFailed { kept_bytes: 20, .. })), "{ev:?}");
        assert!(ev.contains(&SinkEvent::RecordingIncomplete { failed: vec![SinkTarget::Primary] }), "{ev:?}");
        assert_eq!(*mem.data.lock().unwrap(), [[0u8; 10], [1; 10]].concat());
    }
}
