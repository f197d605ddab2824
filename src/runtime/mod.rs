//! Optional host-side runtime (cargo feature `runtime`): worker shards that run many
//! [`CallSession`](crate::session::CallSession)s for a host that does not want to schedule
//! calls itself.
//!
//! Unlike the sans-IO core, this module reads the clock and spawns threads. The core is
//! used exactly as DESIGN.md §1 says: one mutation, then drain `poll_output`.
//!
//! # Threading model
//! ```text
//!  host I/O threads ──packet()──►┐                        ┌─► PacketSender::send (host's socket, non-blocking)
//!  host control ──add_call/tap/──┤  bounded crossbeam     │─► TapFrame channel per tap subscriber (try_send)
//!                 play/disconnect│  channel per shard ──► shard thread ──┤─► RecordingSink::write_page (FileSink: writer thread)
//!                                ┘  (one per core)        │─► RuntimeEvent channel (unbounded)
//!                                                         └─ timer wheel: every session's next frame tick
//! ```
//! - **Shards**: N threads (default one per core, `std::thread::available_parallelism`),
//!   each owning its calls outright (no locks, no shared state between shards). A call
//!   lives on one shard for its whole life; its [`CallId`] names the shard, so a datagram
//!   is routed to it without a lookup table.
//! - **Placement**: [`Placement::LeastLoaded`] (default: the shard with the fewest calls, by
//!   an atomic counter per shard) or [`Placement::Hash`] (a hash of the call's `call_id`
//!   string, so the same call id always lands on the same shard).
//! - **The loop** of a shard: fire the session timers that are due (each one a
//!   `handle_timeout` then a drain), then wait on its command channel until the next
//!   deadline, handle up to 64 commands (a packet is `handle_rtp` then a drain; stopping
//!   early when a timer falls due), and repeat. See [`Shard`] for the timer wheel.
//! - **Never waiting**: the 20 ms tick waits on nothing but the shard's own channel.
//!   Transmit goes to the host's [`PacketSender`] (which must not block); tap frames go to
//!   bounded channels with `try_send` (a full channel drops the frame, counted); recording
//!   pages go to the call's [`RecordingSink`](crate::record::RecordingSink) whose
//!   `write_page` only hands the page to its writer thread
//!   ([`FileSink`](crate::record::FileSink) holds pages in memory when its queue is full,
//!   never blocks); events go to an unbounded channel. Sinks are created by the host (the
//!   file is opened off the media path). The host's datagrams are `try_send`: a full shard
//!   queue drops the datagram (counted, [`RuntimeError::QueueFull`]) rather than stall the
//!   socket thread.
//! - **Time**: host time is the time since [`Runtime::start`] ([`RuntimeHandle::now`]); a
//!   datagram is stamped when the host hands it over, not when the shard gets to it.
//! - **Lateness** of every tick (timer fire time minus deadline) goes into a histogram per
//!   shard: [`RuntimeHandle::stats`] gives p50/p99/max.
//!
//! # End of a call
//! After the session ends (disconnect, time limit) its sink is closed; when the sink reports
//! the recording complete (or failed) the call leaves the shard with a
//! [`RuntimeEventKind::Finished`] event (CDR summary, start/end times).

#![forbid(unsafe_code)]

mod shard;
mod stats;
mod thread;
mod types;
mod wheel;

pub use shard::Shard;
pub use stats::{LatenessHistogram, LatenessSummary, RuntimeStats, ShardStats};
pub use types::{
    CallId, CallSpec, ChannelSender, DiscardSender, PacketSender, RuntimeError, RuntimeEvent, RuntimeEventKind,
    TapFrame, Transmit,
};

use crate::leg::Leg;
use crate::mix::{PlayMode, PlaybackId, Source, TapId, TapKind, Target};
use crate::session::{EndCause, Policy};
use crate::time::HostTime;
use crossbeam_channel::{bounded, unbounded, Receiver, Sender, TrySendError};
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use thread::{Clock, Command};

/// How new calls are assigned to shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Placement {
    /// The shard with the fewest calls now.
    #[default]
    LeastLoaded,
    /// A hash of the call's `call_id` string (SipHash with fixed keys): the same id always
    /// lands on the same shard.
    Hash,
}

/// Settings of a [`Runtime`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RuntimeConfig {
    /// Worker shards (threads); `None`: one per core (`available_parallelism`).
    pub shards: Option<usize>,
    /// Commands (datagrams included) each shard's channel holds before datagrams are dropped.
    pub queue_capacity: usize,
    /// Call placement.
    pub placement: Placement,
    /// How long a control request (add a call or tap, play…) waits for the shard's answer.
    pub reply_timeout: Duration,
}

impl Default for RuntimeConfig {
    /// One shard per core, 8192 commands per queue, least-loaded placement, 2 s reply timeout.
    fn default() -> Self {
        RuntimeConfig {
            shards: None,
            queue_capacity: 8192,
            placement: Placement::LeastLoaded,
            reply_timeout: Duration::from_secs(2),
        }
    }
}

struct Inner {
    shards: Vec<Sender<Command>>,
    /// Calls per shard: incremented here on add, decremented by the shard when a call finishes.
    load: Vec<Arc<AtomicUsize>>,
    queue_full: AtomicU64,
    placement: Placement,
    reply_timeout: Duration,
    clock: Clock,
}

/// A cheap, cloneable, thread-safe handle to a [`Runtime`]: hand one to each socket thread.
#[derive(Clone)]
pub struct RuntimeHandle {
    inner: Arc<Inner>,
}

/// The worker shards. Created by [`Runtime::start`]; stopped by [`Runtime::shutdown`] (or
/// on drop, without waiting).
pub struct Runtime {
    handle: RuntimeHandle,
    threads: Vec<JoinHandle<ShardStats>>,
}

impl Runtime {
    /// Starts the shard threads. Returns the runtime and the receiver of every call's
    /// events (unbounded: drain it; events are a few per call-second).
    ///
    /// Errors: [`RuntimeError::Spawn`] when a thread cannot be started.
    pub fn start(cfg: RuntimeConfig) -> Result<(Runtime, Receiver<RuntimeEvent>), RuntimeError> {
        let n =
            cfg.shards.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).clamp(1, 0xFFFF);
        let clock = Clock::new();
        let (ev_tx, ev_rx) = unbounded();
        let mut senders = Vec::with_capacity(n);
        let mut threads = Vec::with_capacity(n);
        let load: Vec<Arc<AtomicUsize>> = (0..n).map(|_| Arc::new(AtomicUsize::new(0))).collect();
        for (i, l) in load.iter().enumerate() {
            let (tx, rx) = bounded(cfg.queue_capacity.max(16));
            let mut shard = Shard::new(i, ev_tx.clone(), clock.now());
            shard.set_load_counter(l.clone());
            let t = std::thread::Builder::new()
                .name(format!("jyqq-shard-{i}"))
                .spawn(move || thread::run_thread(shard, rx, clock))
                .map_err(RuntimeError::Spawn)?;
            senders.push(tx);
            threads.push(t);
        }
        let inner = Inner {
            load,
            shards: senders,
            queue_full: AtomicU64::new(0),
            placement: cfg.placement,
            reply_timeout: cfg.reply_timeout,
            clock,
        };
        Ok((Runtime { handle: RuntimeHandle { inner: Arc::new(inner) }, threads }, ev_rx))
    }

    /// A handle for other threads.
    pub fn handle(&self) -> RuntimeHandle {
        self.handle.clone()
    }

    /// Stops the runtime: every call still running ends (cause `Other("runtime shutdown")`),
    /// the shards wait (up to 10 s) for the recordings to complete, emit the calls'
    /// `Finished` events, and stop. Returns the final statistics.
    pub fn shutdown(self) -> RuntimeStats {
        for tx in &self.handle.inner.shards {
            let _ = tx.send(Command::Shutdown);
        }
        let mut shards = Vec::new();
        for t in self.threads {
            if let Ok(s) = t.join() {
                shards.push(s);
            }
        }
        RuntimeStats { shards, queue_full_drops: self.handle.inner.queue_full.load(Ordering::Relaxed) }
    }
}

impl std::ops::Deref for Runtime {
    type Target = RuntimeHandle;
    fn deref(&self) -> &RuntimeHandle {
        &self.handle
    }
}

impl RuntimeHandle {
    /// The runtime's clock: time since [`Runtime::start`].
    pub fn now(&self) -> HostTime {
        self.inner.clock.now()
    }

    /// Number of shards.
    pub fn shards(&self) -> usize {
        self.inner.shards.len()
    }

    fn pick(&self, spec: &CallSpec) -> usize {
        let n = self.inner.shards.len();
        match self.inner.placement {
            Placement::Hash => {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                spec.config.call_id.hash(&mut h);
                (h.finish() % n as u64) as usize
            }
            _ => (0..n).min_by_key(|&i| self.inner.load[i].load(Ordering::Relaxed)).unwrap_or(0),
        }
    }

    fn request<T>(&self, shard: usize, make: impl FnOnce(Sender<T>) -> Command) -> Result<T, RuntimeError> {
        let (tx, rx) = bounded(1);
        let tx_cmd = self.inner.shards.get(shard).ok_or(RuntimeError::ShardStopped(shard))?;
        tx_cmd.send_timeout(make(tx), self.inner.reply_timeout).map_err(|_| RuntimeError::ShardStopped(shard))?;
        rx.recv_timeout(self.inner.reply_timeout).map_err(|e| match e {
            crossbeam_channel::RecvTimeoutError::Timeout => RuntimeError::NoReply(shard),
            crossbeam_channel::RecvTimeoutError::Disconnected => RuntimeError::ShardStopped(shard),
        })
    }

    fn command(&self, shard: usize, cmd: Command) -> Result<(), RuntimeError> {
        let tx = self.inner.shards.get(shard).ok_or(RuntimeError::ShardStopped(shard))?;
        tx.send_timeout(cmd, self.inner.reply_timeout).map_err(|_| RuntimeError::ShardStopped(shard))
    }

    /// Creates a call on a shard (see [`Placement`]) and waits for its session to exist.
    ///
    /// Errors: the session's construction error; [`RuntimeError::ShardStopped`] /
    /// [`RuntimeError::NoReply`].
    pub fn add_call(&self, spec: CallSpec) -> Result<CallId, RuntimeError> {
        let shard = self.pick(&spec);
        self.inner.load[shard].fetch_add(1, Ordering::Relaxed);
        let r = self.request(shard, |reply| Command::AddCall(Box::new(spec), reply)).and_then(|r| r);
        if r.is_err() {
            self.inner.load[shard].fetch_sub(1, Ordering::Relaxed);
        }
        r
    }

    /// Hands a datagram read from `call`'s `leg` socket (from `from`) to its shard, stamped
    /// with the current time. Never blocks.
    ///
    /// Errors: [`RuntimeError::QueueFull`] (dropped, counted); [`RuntimeError::ShardStopped`].
    pub fn packet(&self, call: CallId, leg: Leg, from: SocketAddr, datagram: Vec<u8>) -> Result<(), RuntimeError> {
        let shard = call.shard();
        let tx = self.inner.shards.get(shard).ok_or(RuntimeError::UnknownCall(call))?;
        let at = self.now();
        tx.try_send(Command::Packet { call, leg, from, at, datagram }).map_err(|e| match e {
            TrySendError::Full(_) => {
                self.inner.queue_full.fetch_add(1, Ordering::Relaxed);
                RuntimeError::QueueFull(shard)
            }
            TrySendError::Disconnected(_) => RuntimeError::ShardStopped(shard),
        })
    }

    /// Marks the call answered now (when its spec did not).
    pub fn answer(&self, call: CallId) -> Result<(), RuntimeError> {
        self.command(call.shard(), Command::Answer(call))
    }

    /// Attaches a monitor; its frames go to `frames` (a bounded channel the subscriber
    /// drains: a full channel drops frames, counted; dropping the receiver removes the tap).
    /// Waits for the shard's answer.
    ///
    /// Errors: [`RuntimeError::UnknownCall`]; the policy's refusal
    /// ([`SessionError::Forbidden`](crate::session::SessionError::Forbidden)).
    pub fn add_tap(&self, call: CallId, kind: TapKind, frames: Sender<TapFrame>) -> Result<TapId, RuntimeError> {
        self.request(call.shard(), |r| Command::AddTap(call, kind, frames, r)).and_then(|r| r)
    }

    /// Switches a monitor's mode (e.g. listen → whisper). Waits for the shard's answer.
    pub fn change_tap(&self, call: CallId, tap: TapId, kind: TapKind) -> Result<(), RuntimeError> {
        self.request(call.shard(), |r| Command::ChangeTap(call, tap, kind, r)).and_then(|r| r)
    }

    /// Detaches a monitor. Waits for the shard's answer.
    pub fn remove_tap(&self, call: CallId, tap: TapId) -> Result<(), RuntimeError> {
        self.request(call.shard(), |r| Command::RemoveTap(call, tap, r)).and_then(|r| r)
    }

    /// A monitor's microphone: one frame (mono, ptime at the session rate, e.g. 160
    /// samples at 8 kHz) for whisper or barge, played on the call's next free tick (up to
    /// 10 frames queue; older ones are dropped, counted).
    pub fn push_guard_audio(&self, call: CallId, tap: TapId, pcm: Vec<i16>) -> Result<(), RuntimeError> {
        self.command(call.shard(), Command::GuardAudio(call, tap, pcm))
    }

    /// Plays a prompt or tone from now. Waits for the shard's answer.
    pub fn play(
        &self,
        call: CallId,
        source: Source,
        target: Target,
        mode: PlayMode,
    ) -> Result<PlaybackId, RuntimeError> {
        self.request(call.shard(), |r| Command::Play(call, source, target, mode, r)).and_then(|r| r)
    }

    /// Tightens the call's policy (never loosens it). Waits for the shard's answer.
    pub fn tighten_policy(&self, call: CallId, policy: Policy) -> Result<(), RuntimeError> {
        self.request(call.shard(), |r| Command::Policy(call, policy, r)).and_then(|r| r)
    }

    /// Ends the call now (after `final_prompt`, if given). The call's `Finished` event
    /// follows once its recording is complete.
    pub fn disconnect(&self, call: CallId, cause: EndCause, final_prompt: Option<Source>) -> Result<(), RuntimeError> {
        self.command(call.shard(), Command::Disconnect(call, cause, final_prompt))
    }

    /// Statistics of every shard, asked of each shard thread (waits for each answer).
    pub fn stats(&self) -> RuntimeStats {
        let shards = (0..self.shards()).filter_map(|i| self.request(i, Command::Stats).ok()).collect();
        RuntimeStats { shards, queue_full_drops: self.inner.queue_full.load(Ordering::Relaxed) }
    }
}

#[cfg(test)]
mod tests;
