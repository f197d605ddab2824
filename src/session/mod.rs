//! The call: two legs, monitoring taps, prompts and warnings, the policy and the time limit.
//!
//! [`CallSession`] is sans-IO (DESIGN.md §1). One mutation, then drain:
//!
//! ```text
//! session.handle_rtp(now, leg, from, &datagram)?;      // or handle_timeout(now), or a command
//! loop {
//!     match session.poll_output(now) {
//!         Some(Output::Transmit { leg, packet }) => udp[leg].send_to(&packet, remote[leg]),
//!         Some(Output::Tap { tap, pcm, .. })     => guard_station(tap).play(&pcm),
//!         Some(Output::Recording(page))          => sink.write(&page.data),
//!         Some(Output::Event(ev))                => audit_log.note(ev),
//!         Some(Output::Timeout(at))              => { wake_at = at; break }
//!         None                                   => break, // the call has ended
//!     }
//! }
//! ```
//!
//! The session clocks outbound audio itself, one frame (ptime) per tick from its creation:
//! each tick plays out one frame of each leg's inbound audio (jitter buffer → decoder →
//! concealment), routes it through the [`Router`] (the other party's audio,
//! whispers, barges, prompts), encodes it for each leg, and gives every monitor its frame.
//! So a leg gets audio (prompts, whisper) even while the other side sends nothing.
//!
//! Recording takes packets as received (channel 0 = leg A, channel 1 = leg B, placed by
//! their RTP timelines), never the played-out or mixed audio: whisper and prompts can
//! never leak into a party's channel (case B23).
//!
//! The policy is fail-closed: under [`Policy::NO_RECORD`] no recorder exists and no tap can
//! be added; a policy can be tightened mid-call ([`CallSession::tighten_policy`]), never
//! loosened. The time limit is enforced on the session's own clock: media stops at exactly
//! answer + limit even if the host calls late.

#![forbid(unsafe_code)]

mod config;
mod leg;
mod output;
mod policy;
mod sender;

pub use config::{LegConfig, SessionConfig, Warning};
pub use output::{EndCause, EventKind, Output, SessionEvent};
pub use policy::Policy;

use crate::analysis::{CallAnalyzer, CdrSummary};
use crate::audio::SampleRate;
use crate::codec::Resampler;
use crate::leg::Leg;
use crate::mix::{
    MixError, PlayMode, PlaybackId, Router, RouterConfig, RouterEvent, Schedule, Source, TapId, TapKind, Target,
};
use crate::record::{RecordError, Recorder, RecorderConfig};
use crate::time::HostTime;
use leg::{codec_rates, Forwardable, Forwarding, LegState};
use std::collections::VecDeque;
use std::net::SocketAddr;
use thiserror::Error;

/// Most frames a late host's `handle_timeout` catches up at once; older ticks are skipped
/// (their media time still advances the outbound timestamps).
const MAX_CATCH_UP_FRAMES: u32 = 10;

/// Most ticks skipped one by one (each pulls the legs' jitter buffers): one minute of 20 ms
/// frames. A host clock that jumps further is jumped over in one step, so that any `now`,
/// however far ahead, costs bounded work in the session.
const MAX_SKIPPED_TICKS: u32 = 3000;

/// Errors of session construction and commands.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SessionError {
    /// A leg's codec cannot be used (unknown, or not at the session's rate).
    #[error("unsupported codec {0}")]
    UnsupportedCodec(String),
    /// The legs' codecs have no common internal rate this build can mix at.
    #[error("no common rate for the legs' codecs: {0}")]
    NoCommonRate(String),
    /// The policy forbids this (a tap or recording under no-record / no-monitor).
    #[error("forbidden by the call's policy ({0})")]
    Forbidden(&'static str),
    /// The call has ended; commands and packets are refused.
    #[error("the call has ended")]
    Ended,
    /// A codec failed.
    #[error("codec: {0}")]
    Codec(crate::codec::CodecError),
    /// Mixing, taps or playback failed.
    #[error(transparent)]
    Mix(#[from] MixError),
    /// The recorder failed.
    #[error(transparent)]
    Record(#[from] RecordError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Running,
    /// Playing a final prompt before ending with this cause.
    Ending(EndCause, PlaybackId),
    Ended,
}

/// A two-leg call with taps, prompts, policy and time limit. See the module docs.
pub struct CallSession {
    cfg: SessionConfig,
    policy: Policy,
    rate: SampleRate,
    legs: [LegState; 2],
    router: Router,
    recorder: Option<Recorder>,
    analyzer: CallAnalyzer,
    warnings: Schedule<usize>,
    answered: Option<HostTime>,
    created: HostTime,
    /// Start of the next tick.
    next_tick: HostTime,
    outputs: VecDeque<Output>,
    state: State,
    /// Session rate → recording rate for the guard track, when they differ.
    guard_resampler: Option<Resampler>,
    guard_scratch: Vec<i16>,
}

impl CallSession {
    /// Creates the session at host time `now` (its clock starts here).
    ///
    /// Errors: [`SessionError::UnsupportedCodec`], [`SessionError::NoCommonRate`], or a
    /// recorder setup failure.
    pub fn new(cfg: SessionConfig, now: HostTime) -> Result<CallSession, SessionError> {
        let rate = match cfg.rate {
            Some(r) => r,
            None => common_rate(&cfg)?,
        };
        let legs = [
            LegState::new(&cfg.legs[0], rate, cfg.ptime, cfg.playout_delay)?,
            LegState::new(&cfg.legs[1], rate, cfg.ptime, cfg.playout_delay)?,
        ];
        let mut legs = legs;
        if cfg.passthrough {
            for (to, from) in [(0, 1), (1, 0)] {
                legs[to].forwarding = Forwarding::between(&cfg.legs[from], &cfg.legs[to]);
                // Nothing is mixed in before the first tick.
                let on = legs[to].forwarding.is_some();
                legs[to].set_passthrough(on);
            }
        }
        let mut router = Router::new(RouterConfig::new(rate, cfg.ptime))?;
        let policy = if cfg.policy.record { cfg.policy } else { Policy::NO_RECORD };
        router.set_monitoring_allowed(now, policy.monitor);
        let recorder = if policy.record {
            let rec_rate = recording_rate(&cfg);
            let mut rc = RecorderConfig::new(rec_rate, cfg.legs[0].payloads.clone(), cfg.legs[1].payloads.clone());
            rc.flush_interval = cfg.flush_interval;
            rc.guard_track = cfg.record_guard_track;
            rc.tags.push(format!("CALL_ID={}", cfg.call_id));
            rc.tags.push(format!("POLICY={}", policy.name()));
            Some(Recorder::new(rc, now)?)
        } else {
            None
        };
        let (guard_resampler, guard_scratch) = match recorder.as_ref() {
            Some(rec) if cfg.record_guard_track && rec.rate() != rate => {
                let rs =
                    Resampler::new(rate, rec.rate(), 1).map_err(|e| SessionError::UnsupportedCodec(e.to_string()))?;
                let cap = rs.max_output_frames(rate.samples_in(cfg.ptime));
                (Some(rs), vec![0; cap])
            }
            _ => (None, Vec::new()),
        };
        let mut analyzer = CallAnalyzer::new(cfg.analysis.clone(), now);
        analyzer.set_payloads(Leg::A, &cfg.legs[0].payloads);
        analyzer.set_payloads(Leg::B, &cfg.legs[1].payloads);
        // Three-way-call signals inspect the content: off for privileged (no-record) calls.
        analyzer.set_three_way(policy.record);
        let mut warnings = Schedule::new();
        if let Some(limit) = cfg.time_limit {
            for (i, w) in cfg.warnings.iter().enumerate() {
                warnings.add_before(limit, w.before, i)?;
            }
        }
        let mut s = CallSession {
            policy,
            rate,
            legs,
            router,
            recorder,
            analyzer,
            warnings,
            answered: None,
            created: now,
            next_tick: now,
            outputs: VecDeque::new(),
            state: State::Running,
            guard_resampler,
            guard_scratch,
            cfg,
        };
        s.drain_router_events();
        s.drain_recorder();
        Ok(s)
    }

    /// The internal mixing rate.
    pub fn rate(&self) -> SampleRate {
        self.rate
    }

    /// The policy in force.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Whether the call has ended.
    pub fn is_ended(&self) -> bool {
        self.state == State::Ended
    }

    /// Marks the call answered at `now`: talk time, warnings and the limit count from here.
    pub fn answer(&mut self, now: HostTime) {
        if self.answered.is_none() && self.state == State::Running {
            self.answered = Some(now);
            self.warnings.start(now);
            self.analyzer.answer(now);
            self.event(now, EventKind::Answered);
            self.drain_analysis();
        }
    }

    /// The instant the talk-time limit falls, once answered.
    pub fn limit_at(&self) -> Option<HostTime> {
        Some(self.answered?.saturating_add(self.cfg.time_limit?))
    }

    /// A datagram from `from` arrived on `leg`'s media port at `now`.
    ///
    /// Malformed, foreign-source and duplicate packets are counted by the leg's ingress and
    /// dropped (not an error). After the call ended, or at/after the time limit, packets are
    /// ignored: nothing is forwarded or recorded.
    pub fn handle_rtp(
        &mut self,
        now: HostTime,
        leg: Leg,
        from: SocketAddr,
        datagram: &[u8],
    ) -> Result<(), SessionError> {
        self.advance(now)?;
        if self.state == State::Ended || self.limit_at().is_some_and(|l| now >= l) {
            return Ok(());
        }
        let st = &mut self.legs[leg.index()];
        let Ok(packet) = st.ingress.receive(now, from, datagram) else { return Ok(()) };
        st.last_packet = Some(now);
        st.timeout_reported = false;
        self.analyzer.handle_packet(leg, &packet);
        if let Some(rec) = self.recorder.as_mut() {
            rec.push(leg, packet.clone());
        }
        let to = leg.other().index();
        let kind = match self.legs[to].forwarding.as_ref() {
            Some(fw) => fw.classify(self.cfg.legs[leg.index()].payloads.get(packet.payload_type)),
            None => Forwardable::Skip,
        };
        match kind {
            Forwardable::Codec(_) => self.legs[leg.index()].sends_forwardable = true,
            Forwardable::OtherCodec => self.legs[leg.index()].sends_forwardable = false,
            _ => {}
        }
        let mut out = Vec::new();
        if self.legs[to].forward(now, &packet, kind, &mut out) {
            self.outputs.push_back(Output::Transmit { leg: leg.other(), packet: out });
        }
        self.legs[leg.index()].insert(packet);
        Ok(())
    }

    /// Advances the session's clock to `now`: runs every frame tick due.
    pub fn handle_timeout(&mut self, now: HostTime) -> Result<(), SessionError> {
        self.advance(now)
    }

    /// Re-binds `leg`'s remote media address after signalling changed it (re-INVITE):
    /// packets from the new address are accepted at once, from the old one dropped (case B08).
    pub fn bind_remote(&mut self, leg: Leg, remote: SocketAddr) {
        self.legs[leg.index()].ingress.bind_remote(remote);
    }

    /// Attaches a monitor (listen, whisper or barge) at `now`.
    ///
    /// Errors: [`SessionError::Forbidden`] under a no-record or no-monitor policy;
    /// [`SessionError::Ended`].
    pub fn add_tap(&mut self, now: HostTime, kind: TapKind) -> Result<TapId, SessionError> {
        self.advance(now)?;
        if self.state == State::Ended {
            return Err(SessionError::Ended);
        }
        if !self.policy.monitor {
            return Err(SessionError::Forbidden(self.policy.name()));
        }
        let tap = self.router.add_tap(now, kind)?;
        self.drain_router_events();
        Ok(tap)
    }

    /// Switches a monitor's mode (e.g. listen → whisper) at `now`.
    ///
    /// Errors: [`SessionError::Ended`] after the call ended; a mix error for an unknown tap.
    pub fn change_tap(&mut self, now: HostTime, tap: TapId, kind: TapKind) -> Result<(), SessionError> {
        self.advance(now)?;
        if self.state == State::Ended {
            return Err(SessionError::Ended);
        }
        self.router.change_tap(now, tap, kind)?;
        self.drain_router_events();
        Ok(())
    }

    /// Detaches a monitor at `now`.
    ///
    /// Errors: [`SessionError::Ended`] after the call ended (every tap left with it); a mix
    /// error for an unknown tap.
    pub fn remove_tap(&mut self, now: HostTime, tap: TapId) -> Result<(), SessionError> {
        self.advance(now)?;
        if self.state == State::Ended {
            return Err(SessionError::Ended);
        }
        self.router.remove_tap(now, tap)?;
        self.drain_router_events();
        Ok(())
    }

    /// A monitor's microphone audio for the next frame: mono PCM at [`Self::rate`],
    /// one frame (ptime) long. Heard only by the legs its tap talks to.
    ///
    /// Errors: [`SessionError::Ended`] after the call ended (nothing flows any more); a mix
    /// error for an unknown tap ([`MixError::UnknownTap`]) or a wrong length
    /// ([`MixError::FrameLength`]).
    pub fn push_guard_audio(&mut self, tap: TapId, pcm: &[i16]) -> Result<(), SessionError> {
        if self.state == State::Ended {
            return Err(SessionError::Ended);
        }
        self.router.push_guard_audio(tap, pcm)?;
        Ok(())
    }

    /// Plays a prompt or tone at `at` (not before the next tick) to `target`, mixed with the
    /// conversation or replacing it.
    pub fn play(
        &mut self,
        at: HostTime,
        source: Source,
        target: Target,
        mode: PlayMode,
    ) -> Result<PlaybackId, SessionError> {
        if self.state == State::Ended {
            return Err(SessionError::Ended);
        }
        if matches!(target, Target::Tap(_)) && !self.policy.monitor {
            return Err(SessionError::Forbidden(self.policy.name()));
        }
        let id = self.router.play(at, source, target, mode, crate::mix::Gain::UNITY)?;
        Ok(id)
    }

    /// Tightens the policy at `now` (it can never be loosened): turning monitoring off
    /// removes every tap at once; turning recording off ends the recording there (the pages
    /// so far stay valid, closed with an end-of-stream page).
    ///
    /// Errors: [`SessionError::Ended`] after the call ended (nothing flows any more, and no
    /// event may follow `Ended`); a recorder error while closing the recording.
    pub fn tighten_policy(&mut self, now: HostTime, to: Policy) -> Result<(), SessionError> {
        self.advance(now)?;
        if self.state == State::Ended {
            return Err(SessionError::Ended);
        }
        let new = self.policy.tightened_by(to);
        let new = if new.record { new } else { Policy::NO_RECORD };
        if new == self.policy {
            return Ok(());
        }
        let from = self.policy;
        self.policy = new;
        if !new.monitor {
            self.router.set_monitoring_allowed(now, false);
        }
        if !new.record {
            if let Some(mut rec) = self.recorder.take() {
                rec.finish_at(now)?;
                while let Some(page) = rec.poll_page() {
                    self.outputs.push_back(Output::Recording(page));
                }
            }
        }
        self.drain_router_events();
        self.event(now, EventKind::PolicyChanged { from, to: new });
        Ok(())
    }

    /// Ends the call at `now` (staff cut it, or the host hung up): with `final_prompt`, the
    /// prompt plays to both legs (replacing the conversation) and the call ends when it has
    /// finished; otherwise at once.
    pub fn disconnect(
        &mut self,
        now: HostTime,
        cause: EndCause,
        final_prompt: Option<Source>,
    ) -> Result<(), SessionError> {
        self.advance(now)?;
        if self.state != State::Running {
            return Ok(());
        }
        match final_prompt {
            Some(src) => {
                let id = self.router.play(now, src, Target::BothLegs, PlayMode::Replace, crate::mix::Gain::UNITY)?;
                self.state = State::Ending(cause, id);
            }
            None => self.end(now, cause)?,
        }
        Ok(())
    }

    /// The next output, or `None` once the call has ended and everything was drained.
    /// Poll after every `handle_*` and command until it returns `Timeout` (or `None`).
    #[must_use]
    pub fn poll_output(&mut self, _now: HostTime) -> Option<Output> {
        if let Some(o) = self.outputs.pop_front() {
            return Some(o);
        }
        if self.state == State::Ended {
            return None;
        }
        Some(Output::Timeout(self.next_tick))
    }

    /// Receive statistics of `leg` (ingress counters and the current stream's RFC 3550 stats).
    pub fn ingress(&self, leg: Leg) -> &crate::rtp::Ingress {
        &self.legs[leg.index()].ingress
    }

    /// Receiver (jitter buffer) statistics of `leg`: lost, late, concealed and stretched
    /// time, playout delay, interarrival jitter.
    pub fn receiver_stats(&self, leg: Leg) -> crate::jitter::ReceiverStats {
        self.legs[leg.index()].receiver_stats()
    }

    /// The call's CDR-ready summary at `now`: talk time, digits, alarms, three-way signals,
    /// quality per leg and the bill (see [`CdrSummary`]).
    pub fn summary(&self, now: HostTime) -> CdrSummary {
        self.analyzer.summary(now)
    }

    /// Outbound packets sent to `leg` so far (encoded and forwarded).
    pub fn packets_sent(&self, leg: Leg) -> u64 {
        self.legs[leg.index()].sender.sent()
    }

    /// Of [`Self::packets_sent`], those forwarded untouched from the other party (passthrough).
    pub fn packets_forwarded(&self, leg: Leg) -> u64 {
        self.legs[leg.index()].sender.forwarded()
    }

    /// Whether the other party's packets are forwarded to `leg` untouched right now
    /// (see [`SessionConfig::passthrough`]); `false` while anything is mixed into the leg.
    pub fn is_passthrough(&self, leg: Leg) -> bool {
        self.legs[leg.index()].passthrough
    }

    fn event(&mut self, at: HostTime, kind: EventKind) {
        self.outputs.push_back(Output::Event(SessionEvent { at, kind }));
    }

    /// Runs the ticks due up to `now`.
    fn advance(&mut self, now: HostTime) -> Result<(), SessionError> {
        let ptime = self.cfg.ptime;
        // A very late host: skip the oldest ticks rather than bursting them out.
        let mut skipped = 0u32;
        while self.state != State::Ended && now >= self.next_tick.saturating_add(ptime * MAX_CATCH_UP_FRAMES) {
            if skipped == MAX_SKIPPED_TICKS {
                self.jump_ticks(now);
            }
            let before = self.next_tick;
            self.skip_tick();
            skipped = skipped.saturating_add(1);
            if self.next_tick == before {
                break; // The end of the host clock: HostTime saturates there.
            }
        }
        while self.state != State::Ended && self.next_tick <= now {
            let before = self.next_tick;
            self.tick()?;
            if self.next_tick == before {
                break; // As above: no tick after HostTime(u64::MAX).
            }
        }
        if let Some(rec) = self.recorder.as_mut() {
            rec.handle_timeout(now)?;
        }
        self.drain_recorder();
        Ok(())
    }

    /// Jumps over the ticks a host clock jump left behind, all but the last
    /// [`MAX_CATCH_UP_FRAMES`] (at most up to the tick at or after the time limit, where the
    /// call ends): the outbound media time advances by them, nothing else runs.
    fn jump_ticks(&mut self, now: HostTime) {
        let ptime = self.cfg.ptime.as_nanos().max(1);
        let behind = now.saturating_since(self.next_tick).as_nanos() / ptime;
        let mut n = behind.saturating_sub(u128::from(MAX_CATCH_UP_FRAMES));
        if let Some(limit) = self.limit_at() {
            n = n.min(limit.saturating_since(self.next_tick).as_nanos().div_ceil(ptime));
        }
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        for leg in &mut self.legs {
            if !leg.passthrough {
                leg.skip_frames(n);
            }
        }
        let jump = u64::try_from(u128::from(n) * ptime).unwrap_or(u64::MAX);
        self.next_tick = HostTime(self.next_tick.as_nanos().saturating_add(jump));
    }

    fn skip_tick(&mut self) {
        let at = self.next_tick;
        if self.limit_at().is_some_and(|l| at >= l) {
            let _ = self.end(at, EndCause::TimeLimit);
            return;
        }
        for leg in &mut self.legs {
            leg.pull(at);
            if !leg.passthrough {
                leg.skip();
            }
        }
        self.next_tick = at.saturating_add(self.cfg.ptime);
    }

    fn tick(&mut self) -> Result<(), SessionError> {
        let at = self.next_tick;
        if self.limit_at().is_some_and(|l| at >= l) {
            return self.end(at, EndCause::TimeLimit);
        }
        // Warnings that fall in this frame start in it.
        while let Some(due) = self.warnings.poll_due(at, self.cfg.ptime) {
            let w = &self.cfg.warnings[due.item];
            let src = w.source.clone();
            let remaining_ms = w.before.as_millis() as u64;
            self.router.play(due.at, src, Target::BothLegs, PlayMode::Mix, crate::mix::Gain::UNITY)?;
            self.event(due.at, EventKind::Warning { remaining_ms });
        }
        for i in 0..2 {
            self.legs[i].pull(at);
            let st = &mut self.legs[i];
            let since = at.saturating_since(st.last_packet.unwrap_or(self.created));
            if !st.timeout_reported && since >= self.cfg.media_timeout {
                st.timeout_reported = true;
                self.event(at, EventKind::MediaTimeout { leg: if i == 0 { Leg::A } else { Leg::B } });
            }
        }
        for (i, leg) in [Leg::A, Leg::B].into_iter().enumerate() {
            // The analyzer hears each party as played out (after concealment).
            let _ = self.analyzer.handle_pcm(leg, at, &self.legs[i].played, self.rate);
        }
        self.analyzer.handle_timeout(at);
        self.drain_analysis();
        let [a, b] = &self.legs;
        self.router.process(at, &a.played, &b.played)?;
        if let Some(rec) = self.recorder.as_mut() {
            if self.cfg.record_guard_track {
                let guard = self.router.guard_track();
                match self.guard_resampler.as_mut() {
                    None => rec.push_guard_pcm(at, guard),
                    Some(rs) => {
                        // Invariant: guard_scratch was sized for one frame's output at construction.
                        if let Ok(n) = rs.process(guard, &mut self.guard_scratch) {
                            rec.push_guard_pcm(at, &self.guard_scratch[..n]);
                        }
                    }
                }
            }
        }
        for leg in [Leg::A, Leg::B] {
            // Passthrough while the leg hears only the other party, in the codec it is sent.
            let i = leg.index();
            let forward = self.legs[i].forwarding.is_some()
                && self.state == State::Running
                && !self.router.mixed_into(leg)
                && self.legs[leg.other().index()].sends_forwardable;
            self.legs[i].set_passthrough(forward);
            if forward {
                continue;
            }
            let mut packet = Vec::with_capacity(200);
            let pcm = self.router.outbound(leg);
            self.legs[i].send(at, pcm, &mut packet)?;
            self.outputs.push_back(Output::Transmit { leg, packet });
        }
        let taps: Vec<TapId> = self.router.taps().map(|(t, _)| t).collect();
        for tap in taps {
            if let Some(audio) = self.router.listen(tap) {
                self.outputs.push_back(Output::Tap {
                    tap,
                    pcm: audio.pcm.to_vec(),
                    channels: audio.channels,
                    rate: self.rate.hz(),
                    at,
                });
            }
        }
        self.drain_router_events();
        self.next_tick = at.saturating_add(self.cfg.ptime);
        Ok(())
    }

    fn drain_router_events(&mut self) {
        // The final prompt's end ends the call, after every other event of the same frame
        // (nothing may follow `Ended`).
        let mut end_at = None;
        while let Some(ev) = self.router.poll_event() {
            let (at, kind) = match ev {
                RouterEvent::TapJoined { tap, kind, at } => (at, EventKind::TapJoined { tap, kind }),
                RouterEvent::TapChanged { tap, from, to, at } => (at, EventKind::TapChanged { tap, from, to }),
                RouterEvent::TapLeft { tap, kind, reason, at } => (at, EventKind::TapLeft { tap, kind, reason }),
                RouterEvent::PlaybackStarted { playback, at, .. } => (at, EventKind::PlaybackStarted { playback }),
                RouterEvent::PlaybackEnded { playback, at, .. } => {
                    if let State::Ending(cause, id) = &self.state {
                        if *id == playback {
                            end_at = Some((at, cause.clone()));
                        }
                    }
                    (at, EventKind::PlaybackEnded { playback })
                }
                _ => continue,
            };
            self.event(at, kind);
        }
        if let Some((at, cause)) = end_at {
            let _ = self.end(at, cause);
        }
    }

    fn drain_analysis(&mut self) {
        while let Some(ev) = self.analyzer.poll_event() {
            let at = ev.at;
            self.event(at, EventKind::Analysis(ev));
        }
    }

    fn drain_recorder(&mut self) {
        if let Some(rec) = self.recorder.as_mut() {
            while let Some(page) = rec.poll_page() {
                self.outputs.push_back(Output::Recording(page));
            }
        }
    }

    fn end(&mut self, at: HostTime, cause: EndCause) -> Result<(), SessionError> {
        if self.state == State::Ended {
            return Ok(());
        }
        self.state = State::Ended;
        if cause == EndCause::TimeLimit {
            self.event(at, EventKind::LimitReached);
        }
        self.analyzer.end(at, cause.clone());
        self.drain_analysis();
        if let Some(rec) = self.recorder.as_mut() {
            rec.finish_at(at)?;
        }
        self.drain_recorder();
        self.recorder = None;
        self.event(at, EventKind::Ended { cause });
        Ok(())
    }
}

impl SessionConfig {
    /// The internal mixing rate a session made from this configuration will use:
    /// [`SessionConfig::rate`] if set, else the lowest rate both legs' codecs work at
    /// (tones and prompts must be made at it).
    ///
    /// Errors: [`SessionError::UnsupportedCodec`], [`SessionError::NoCommonRate`].
    pub fn mixing_rate(&self) -> Result<SampleRate, SessionError> {
        match self.rate {
            Some(r) => Ok(r),
            None => common_rate(self),
        }
    }
}

/// The lowest rate at which both legs' codecs (sent and received) can run without resampling.
fn common_rate(cfg: &SessionConfig) -> Result<SampleRate, SessionError> {
    let mut fixed: Option<SampleRate> = None;
    for leg in &cfg.legs {
        let (r, flexible) = codec_rates(&leg.send.encoding_name)
            .ok_or_else(|| SessionError::UnsupportedCodec(leg.send.encoding_name.clone()))?;
        if !flexible {
            match fixed {
                Some(f) if f != r => {
                    return Err(SessionError::NoCommonRate(format!("{} Hz and {} Hz", f.hz(), r.hz())));
                }
                _ => fixed = Some(r),
            }
        }
    }
    Ok(fixed.unwrap_or(SampleRate::HZ_48000))
}

/// The rate a recording of both legs needs: the highest either leg's codec delivers.
fn recording_rate(cfg: &SessionConfig) -> SampleRate {
    cfg.legs
        .iter()
        .filter_map(|l| codec_rates(&l.send.encoding_name).map(|(r, _)| r))
        .max()
        .unwrap_or(SampleRate::HZ_8000)
}

#[cfg(test)]
mod tests;
