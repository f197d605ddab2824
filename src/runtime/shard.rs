//! One worker shard: the calls it owns, their timers, and the routing of their outputs.
//!
//! [`Shard`] is the shard's logic without its thread: every method takes the time, so it
//! can be driven on a simulated clock (tests, benches) exactly as the shard thread drives
//! it on the runtime's clock. The thread ([`run_thread`]) only adds the real clock and the
//! command channel.

use super::stats::ShardStats;
use super::types::{
    CallId, CallSpec, PacketSender, RuntimeError, RuntimeEvent, RuntimeEventKind, TapFrame, TapRoute,
    GUARD_QUEUE_FRAMES,
};
use super::wheel::{Timer, TimerWheel};
use crate::leg::Leg;
use crate::mix::{PlayMode, PlaybackId, Source, TapId, TapKind, Target};
use crate::record::{RecordingSink, SinkEvent};
use crate::session::{CallSession, EndCause, EventKind, Output, Policy};
use crate::time::HostTime;
use crossbeam_channel::{Sender, TrySendError};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often a shard polls the sinks of ended calls until their recording is complete.
pub(crate) const CLOSING_POLL: Duration = Duration::from_millis(5);

/// Where a call is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    /// The session has ended; the sink is closing.
    Closing,
}

struct CallEntry {
    session: CallSession,
    transmit: Box<dyn PacketSender>,
    sink: Option<Box<dyn RecordingSink + Send>>,
    taps: Vec<TapRoute>,
    armed: Option<HostTime>,
    last_now: HostTime,
    started: HostTime,
    ended: Option<HostTime>,
    phase: Phase,
}

/// The calls of one shard, their timer wheel and their output routing. See the module docs.
pub struct Shard {
    index: usize,
    calls: HashMap<u64, CallEntry>,
    wheel: TimerWheel,
    events: Sender<RuntimeEvent>,
    stats: ShardStats,
    next_seq: u64,
    last_now: HostTime,
    closing: Vec<u64>,
    due: Vec<Timer>,
    dead_taps: Vec<TapId>,
    load: Option<Arc<AtomicUsize>>,
}

impl Shard {
    /// Shard number `index` (it is encoded in the [`CallId`]s it hands out), sending call
    /// events to `events`, its clock starting at `now`.
    pub fn new(index: usize, events: Sender<RuntimeEvent>, now: HostTime) -> Shard {
        Shard {
            index,
            calls: HashMap::new(),
            wheel: TimerWheel::new(now.as_nanos()),
            events,
            stats: ShardStats { shard: index, ..ShardStats::default() },
            next_seq: 1,
            last_now: now,
            closing: Vec::new(),
            due: Vec::new(),
            dead_taps: Vec::new(),
            load: None,
        }
    }

    /// The runtime's call counter of this shard (least-loaded placement): decremented here
    /// when a call finishes.
    pub(crate) fn set_load_counter(&mut self, load: Arc<AtomicUsize>) {
        self.load = Some(load);
    }

    /// Calls on the shard (running, or ended with a recording still closing).
    pub fn calls(&self) -> usize {
        self.calls.len()
    }

    /// The shard's counters (`busy` and `wall` are filled in by the shard thread).
    pub fn stats(&self) -> ShardStats {
        let mut s = self.stats.clone();
        s.calls = self.calls.len();
        s
    }

    /// When the shard next needs [`Self::run_due`]: the earliest session timer, or soon when
    /// a recording is closing. `None` when idle.
    pub fn next_wakeup(&self) -> Option<HostTime> {
        if self.calls.is_empty() {
            return None; // only stale timers are left
        }
        let timer = self.wheel.next_deadline().map(HostTime::from_nanos);
        let closing = (!self.closing.is_empty()).then(|| self.last_now.saturating_add(CLOSING_POLL));
        match (timer, closing) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Creates a call at `now`: its session, answered at once when the spec says so.
    ///
    /// Errors: the session's construction error.
    pub fn add_call(&mut self, now: HostTime, spec: CallSpec) -> Result<CallId, RuntimeError> {
        let now = self.clock(now);
        let id = CallId::new(self.next_seq, self.index);
        let mut session = CallSession::new(spec.config, now)?;
        if spec.answer {
            session.answer(now);
        }
        self.next_seq += 1;
        self.stats.calls_added += 1;
        let entry = CallEntry {
            session,
            transmit: spec.transmit,
            sink: spec.sink,
            taps: Vec::new(),
            armed: None,
            last_now: now,
            started: now,
            ended: None,
            phase: Phase::Running,
        };
        self.calls.insert(id.as_u64(), entry);
        self.drain(id, now);
        Ok(id)
    }

    /// A datagram from `from` arrived on `call`'s `leg` at `now` (stamped when it was read
    /// from the socket). A time earlier than what the call has seen is taken as that time
    /// (the session's clock never goes back). Unknown calls count a drop.
    pub fn packet(&mut self, now: HostTime, call: CallId, leg: Leg, from: SocketAddr, datagram: &[u8]) {
        let now = self.clock(now);
        let Some(e) = self.running(call) else {
            self.stats.unknown_call_packets += 1;
            return;
        };
        let now = now.max(e.last_now);
        e.last_now = now;
        let r = e.session.handle_rtp(now, leg, from, datagram);
        self.stats.packets += 1;
        self.after(call, now, r.map_err(RuntimeError::from));
    }

    /// Runs every session timer due at `now` (frame ticks), records each one's lateness,
    /// routes the outputs, and finishes calls whose recording has closed. Returns the
    /// timers fired.
    pub fn run_due(&mut self, now: HostTime) -> usize {
        let now = self.clock(now);
        let mut due = std::mem::take(&mut self.due);
        self.wheel.expire(now.as_nanos(), &mut due);
        let mut fired = 0;
        for t in due.drain(..) {
            let id = CallId::from_u64(t.key);
            let Some(e) = self.calls.get_mut(&t.key) else { continue };
            if e.phase != Phase::Running || e.armed.map(HostTime::as_nanos) != Some(t.deadline) {
                continue; // stale: re-armed since, or ended
            }
            e.armed = None;
            self.stats.lateness.record(Duration::from_nanos(now.as_nanos().saturating_sub(t.deadline)));
            self.stats.timers_fired += 1;
            fired += 1;
            for route in &mut e.taps {
                if let Some(pcm) = route.guard.pop_front() {
                    if e.session.push_guard_audio(route.tap, &pcm).is_err() {
                        self.stats.session_errors += 1;
                    }
                }
            }
            let now = now.max(e.last_now);
            e.last_now = now;
            let r = e.session.handle_timeout(now);
            self.after(id, now, r.map_err(RuntimeError::from));
        }
        self.due = due;
        if !self.closing.is_empty() {
            self.poll_closing(now);
        }
        fired
    }

    /// Marks `call` answered at `now`.
    pub fn answer(&mut self, now: HostTime, call: CallId) -> Result<(), RuntimeError> {
        let now = self.clock(now);
        let e = self.running(call).ok_or(RuntimeError::UnknownCall(call))?;
        e.session.answer(now);
        self.after(call, now, Ok(()));
        Ok(())
    }

    /// Attaches a monitor to `call` whose frames go to `frames` (bounded: a full channel
    /// drops the frame, counted; a closed channel removes the tap).
    ///
    /// Errors: [`RuntimeError::UnknownCall`], or the session's refusal (policy).
    pub fn add_tap(
        &mut self,
        now: HostTime,
        call: CallId,
        kind: TapKind,
        frames: Sender<TapFrame>,
    ) -> Result<TapId, RuntimeError> {
        let now = self.clock(now);
        let e = self.running(call).ok_or(RuntimeError::UnknownCall(call))?;
        let now = now.max(e.last_now);
        let tap = e.session.add_tap(now, kind)?;
        e.taps.push(TapRoute { tap, frames, guard: VecDeque::with_capacity(GUARD_QUEUE_FRAMES) });
        self.after(call, now, Ok(()));
        Ok(tap)
    }

    /// Switches a monitor's mode (listen → whisper → barge).
    pub fn change_tap(&mut self, now: HostTime, call: CallId, tap: TapId, kind: TapKind) -> Result<(), RuntimeError> {
        let now = self.clock(now);
        let e = self.running(call).ok_or(RuntimeError::UnknownCall(call))?;
        let now = now.max(e.last_now);
        let r = e.session.change_tap(now, tap, kind);
        self.after(call, now, Ok(()));
        Ok(r?)
    }

    /// Detaches a monitor; its channel is dropped.
    pub fn remove_tap(&mut self, now: HostTime, call: CallId, tap: TapId) -> Result<(), RuntimeError> {
        let now = self.clock(now);
        let e = self.running(call).ok_or(RuntimeError::UnknownCall(call))?;
        let now = now.max(e.last_now);
        e.taps.retain(|r| r.tap != tap);
        let r = e.session.remove_tap(now, tap);
        self.after(call, now, Ok(()));
        Ok(r?)
    }

    /// Queues one frame of a monitor's microphone (mono, one ptime at the session rate) for
    /// the call's next tick; at most 10 frames (200 ms at 20 ms) wait, older ones are dropped
    /// (counted).
    pub fn push_guard_audio(&mut self, call: CallId, tap: TapId, pcm: Vec<i16>) -> Result<(), RuntimeError> {
        let e = self
            .calls
            .get_mut(&call.as_u64())
            .filter(|e| e.phase == Phase::Running)
            .ok_or(RuntimeError::UnknownCall(call))?;
        let Some(route) = e.taps.iter_mut().find(|r| r.tap == tap) else {
            return Err(RuntimeError::Session(crate::session::SessionError::Mix(crate::mix::MixError::UnknownTap(
                tap,
            ))));
        };
        if route.guard.len() >= GUARD_QUEUE_FRAMES {
            route.guard.pop_front();
            self.stats.guard_frames_dropped += 1;
        }
        route.guard.push_back(pcm);
        Ok(())
    }

    /// Plays a prompt or tone on `call` from `now`.
    pub fn play(
        &mut self,
        now: HostTime,
        call: CallId,
        source: Source,
        target: Target,
        mode: PlayMode,
    ) -> Result<PlaybackId, RuntimeError> {
        let now = self.clock(now);
        let e = self.running(call).ok_or(RuntimeError::UnknownCall(call))?;
        let now = now.max(e.last_now);
        let r = e.session.play(now, source, target, mode);
        self.after(call, now, Ok(()));
        Ok(r?)
    }

    /// Tightens `call`'s policy (never loosens it).
    pub fn tighten_policy(&mut self, now: HostTime, call: CallId, policy: Policy) -> Result<(), RuntimeError> {
        let now = self.clock(now);
        let e = self.running(call).ok_or(RuntimeError::UnknownCall(call))?;
        let now = now.max(e.last_now);
        let r = e.session.tighten_policy(now, policy);
        self.after(call, now, Ok(()));
        Ok(r?)
    }

    /// Ends `call` at `now` (after `final_prompt`, if given). Its recording is closed and,
    /// once complete, a [`RuntimeEventKind::Finished`] event ends the call's events.
    pub fn disconnect(
        &mut self,
        now: HostTime,
        call: CallId,
        cause: EndCause,
        final_prompt: Option<Source>,
    ) -> Result<(), RuntimeError> {
        let now = self.clock(now);
        let e = self.running(call).ok_or(RuntimeError::UnknownCall(call))?;
        let now = now.max(e.last_now);
        let r = e.session.disconnect(now, cause, final_prompt);
        self.after(call, now, Ok(()));
        Ok(r?)
    }

    /// Ends every running call at `now` (cause `Other("runtime shutdown")`); their
    /// recordings then close as usual.
    pub fn shutdown(&mut self, now: HostTime) {
        let running: Vec<u64> = self.calls.iter().filter(|(_, e)| e.phase == Phase::Running).map(|(&k, _)| k).collect();
        for k in running {
            let _ = self.disconnect(now, CallId::from_u64(k), EndCause::Other("runtime shutdown".into()), None);
        }
        self.poll_closing(now);
    }

    /// Drops the ended calls whose sinks have not completed (shutdown grace expired),
    /// reporting them finished.
    pub(crate) fn abandon_closing(&mut self, now: HostTime) {
        for k in std::mem::take(&mut self.closing) {
            self.finish(k, now);
        }
    }

    /// Notes `now` as the latest time seen (for polling closing sinks) and returns it
    /// unchanged: each call keeps its own clock monotonic (`CallEntry::last_now`), so a
    /// datagram keeps the arrival time it was stamped with.
    fn clock(&mut self, now: HostTime) -> HostTime {
        self.last_now = self.last_now.max(now);
        now
    }

    fn running(&mut self, call: CallId) -> Option<&mut CallEntry> {
        self.calls.get_mut(&call.as_u64()).filter(|e| e.phase == Phase::Running)
    }

    /// After a mutation: reports an error, then drains the call's outputs.
    fn after(&mut self, call: CallId, now: HostTime, r: Result<(), RuntimeError>) {
        if let Err(e) = r {
            self.stats.session_errors += 1;
            self.emit(call, RuntimeEventKind::Error(e.to_string()));
        }
        self.drain(call, now);
    }

    fn emit(&self, call: CallId, kind: RuntimeEventKind) {
        // A host that dropped the receiver gets no events; the media goes on.
        let _ = self.events.send(RuntimeEvent { call, kind });
    }

    /// Drains `call`'s outputs and routes them (one mutation, then drain: DESIGN.md §1).
    fn drain(&mut self, call: CallId, now: HostTime) {
        let Some(e) = self.calls.get_mut(&call.as_u64()) else { return };
        let mut ended = false;
        loop {
            match e.session.poll_output(now) {
                Some(Output::Transmit { leg, packet }) => {
                    self.stats.transmitted += 1;
                    if e.transmit.send(call, leg, packet).is_err() {
                        self.stats.transmit_errors += 1;
                    }
                }
                Some(Output::Tap { tap, pcm, channels, rate, at }) => {
                    if let Some(route) = e.taps.iter().find(|r| r.tap == tap) {
                        match route.frames.try_send(TapFrame { call, tap, pcm, channels, rate, at }) {
                            Ok(()) => {}
                            Err(TrySendError::Full(_)) => self.stats.tap_frames_dropped += 1,
                            Err(TrySendError::Disconnected(_)) => self.dead_taps.push(tap),
                        }
                    }
                }
                Some(Output::Recording(page)) => {
                    self.stats.recording_pages += 1;
                    if let Some(sink) = e.sink.as_mut() {
                        sink.write_page(&page);
                    }
                }
                Some(Output::Event(ev)) => {
                    if let EventKind::Ended { .. } = ev.kind {
                        e.ended = Some(ev.at);
                    }
                    let _ = self.events.send(RuntimeEvent { call, kind: RuntimeEventKind::Session(ev) });
                }
                Some(Output::Timeout(at)) => {
                    if e.armed != Some(at) {
                        e.armed = Some(at);
                        self.wheel.insert(at.as_nanos(), call.as_u64());
                    }
                    break;
                }
                None => {
                    ended = true;
                    break;
                }
            }
        }
        if let Some(sink) = e.sink.as_mut() {
            while let Some(ev) = sink.poll_event() {
                let _ = self.events.send(RuntimeEvent { call, kind: RuntimeEventKind::Sink(ev) });
            }
        }
        // A subscriber that hung up: its tap leaves the call.
        while let Some(tap) = self.dead_taps.pop() {
            e.taps.retain(|r| r.tap != tap);
            let _ = e.session.remove_tap(now, tap);
        }
        if ended && e.phase == Phase::Running {
            e.phase = Phase::Closing;
            e.armed = None;
            e.taps.clear();
            match e.sink.as_mut() {
                Some(sink) => {
                    sink.close();
                    self.closing.push(call.as_u64());
                }
                None => self.finish(call.as_u64(), now),
            }
        }
    }

    /// Polls the sinks of ended calls; finishes those whose recording is complete or failed.
    fn poll_closing(&mut self, now: HostTime) {
        let mut i = 0;
        while i < self.closing.len() {
            let k = self.closing[i];
            let mut done = false;
            if let Some(sink) = self.calls.get_mut(&k).and_then(|e| e.sink.as_mut()) {
                while let Some(ev) = sink.poll_event() {
                    done |= matches!(ev, SinkEvent::RecordingComplete { .. } | SinkEvent::RecordingIncomplete { .. });
                    let _ =
                        self.events.send(RuntimeEvent { call: CallId::from_u64(k), kind: RuntimeEventKind::Sink(ev) });
                }
            } else {
                done = true;
            }
            if done {
                self.closing.swap_remove(i);
                self.finish(k, now);
            } else {
                i += 1;
            }
        }
    }

    fn finish(&mut self, k: u64, now: HostTime) {
        let Some(e) = self.calls.remove(&k) else { return };
        if let Some(l) = &self.load {
            let _ = l.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_sub(1));
        }
        let kind = RuntimeEventKind::Finished {
            summary: Box::new(e.session.summary(e.ended.unwrap_or(now))),
            started: e.started,
            ended: e.ended.unwrap_or(now),
            packets_sent: [e.session.packets_sent(Leg::A), e.session.packets_sent(Leg::B)],
            ingress: [*e.session.ingress(Leg::A).counters(), *e.session.ingress(Leg::B).counters()],
        };
        self.emit(CallId::from_u64(k), kind);
    }
}

impl CallId {
    pub(crate) fn from_u64(v: u64) -> CallId {
        // The inverse of `as_u64`: the shard bits are the low 16.
        CallId::new(v >> 16, (v & 0xFFFF) as usize)
    }
}
