//! The shard thread: the real clock and the command channel around a [`Shard`].

use super::shard::Shard;
use super::stats::ShardStats;
use super::types::{CallId, CallSpec, RuntimeError, TapFrame};
use crate::leg::Leg;
use crate::mix::{PlayMode, PlaybackId, Source, TapId, TapKind, Target};
use crate::session::{EndCause, Policy};
use crate::time::HostTime;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Commands processed between two timer checks at most (keeps ticks on time under a flood).
const BATCH: usize = 64;
/// How long a shutting-down shard waits for recordings to complete.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The runtime's clock: host time is the time since the runtime started.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    epoch: Instant,
}

impl Clock {
    pub(crate) fn new() -> Clock {
        Clock { epoch: Instant::now() }
    }
    pub(crate) fn now(&self) -> HostTime {
        HostTime::from_nanos(u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }
}

/// What a shard thread is asked to do.
pub(crate) enum Command {
    AddCall(Box<CallSpec>, Sender<Result<CallId, RuntimeError>>),
    Packet { call: CallId, leg: Leg, from: SocketAddr, at: HostTime, datagram: Vec<u8> },
    Answer(CallId),
    AddTap(CallId, TapKind, Sender<TapFrame>, Sender<Result<TapId, RuntimeError>>),
    ChangeTap(CallId, TapId, TapKind, Sender<Result<(), RuntimeError>>),
    RemoveTap(CallId, TapId, Sender<Result<(), RuntimeError>>),
    GuardAudio(CallId, TapId, Vec<i16>),
    Play(CallId, Source, Target, PlayMode, Sender<Result<PlaybackId, RuntimeError>>),
    Policy(CallId, Policy, Sender<Result<(), RuntimeError>>),
    Disconnect(CallId, EndCause, Option<Source>),
    Stats(Sender<ShardStats>),
    Shutdown,
}

struct Loop {
    shard: Shard,
    clock: Clock,
    started: Instant,
    busy: Duration,
}

impl Loop {
    fn stats(&self) -> ShardStats {
        let mut s = self.shard.stats();
        s.busy = self.busy;
        s.wall = self.started.elapsed();
        s
    }

    /// Handles one command; `false` on shutdown.
    fn handle(&mut self, cmd: Command) -> bool {
        let now = self.clock.now();
        let s = &mut self.shard;
        // A requester that gave up waiting dropped its reply channel: nothing to do then.
        match cmd {
            Command::Packet { call, leg, from, at, datagram } => s.packet(at, call, leg, from, &datagram),
            Command::AddCall(spec, reply) => {
                let _ = reply.send(s.add_call(now, *spec));
            }
            Command::Answer(call) => {
                let _ = s.answer(now, call);
            }
            Command::AddTap(call, kind, frames, reply) => {
                let _ = reply.send(s.add_tap(now, call, kind, frames));
            }
            Command::ChangeTap(call, tap, kind, reply) => {
                let _ = reply.send(s.change_tap(now, call, tap, kind));
            }
            Command::RemoveTap(call, tap, reply) => {
                let _ = reply.send(s.remove_tap(now, call, tap));
            }
            Command::GuardAudio(call, tap, pcm) => {
                let _ = s.push_guard_audio(call, tap, pcm);
            }
            Command::Play(call, source, target, mode, reply) => {
                let _ = reply.send(s.play(now, call, source, target, mode));
            }
            Command::Policy(call, policy, reply) => {
                let _ = reply.send(s.tighten_policy(now, call, policy));
            }
            Command::Disconnect(call, cause, prompt) => {
                let _ = s.disconnect(now, call, cause, prompt);
            }
            Command::Stats(reply) => {
                let _ = reply.send(self.stats());
            }
            Command::Shutdown => return false,
        }
        true
    }
}

/// The shard thread's loop: fire due timers, then wait for a command until the next
/// deadline; handle a batch of commands; repeat. Nothing here waits on disk or on another
/// shard: sinks and senders are non-blocking, and the only wait is on this shard's own
/// channel with a timeout at its next deadline. Returns the final stats.
pub(crate) fn run_thread(shard: Shard, rx: Receiver<Command>, clock: Clock) -> ShardStats {
    let mut lp = Loop { shard, clock, started: Instant::now(), busy: Duration::ZERO };
    loop {
        let t0 = Instant::now();
        lp.shard.run_due(lp.clock.now());
        lp.busy += t0.elapsed();
        let msg = match lp.shard.next_wakeup() {
            Some(at) => {
                let wait = Duration::from_nanos(at.as_nanos().saturating_sub(lp.clock.now().as_nanos()));
                rx.recv_timeout(wait)
            }
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let t1 = Instant::now();
        let go_on = match msg {
            Ok(cmd) => {
                let mut go_on = lp.handle(cmd);
                let mut n = 1;
                while go_on && n < BATCH {
                    if lp.shard.next_wakeup().is_some_and(|at| at <= lp.clock.now()) {
                        break; // a tick is due: serve it first
                    }
                    match rx.try_recv() {
                        Ok(cmd) => go_on = lp.handle(cmd),
                        Err(_) => break,
                    }
                    n += 1;
                }
                go_on
            }
            Err(RecvTimeoutError::Timeout) => true,
            Err(RecvTimeoutError::Disconnected) => false,
        };
        lp.busy += t1.elapsed();
        if !go_on {
            break;
        }
    }
    // Shutdown: end the calls, let their recordings close (waiting on the sinks is fine
    // now: no call is left to tick), then stop.
    lp.shard.shutdown(lp.clock.now());
    let deadline = Instant::now() + SHUTDOWN_GRACE;
    while lp.shard.calls() > 0 && Instant::now() < deadline {
        std::thread::sleep(super::shard::CLOSING_POLL);
        lp.shard.run_due(lp.clock.now());
    }
    lp.shard.abandon_closing(lp.clock.now());
    lp.stats()
}
