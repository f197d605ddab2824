//! The call's tap matrix: legs, monitors and playbacks in, every party's and monitor's audio out.
//!
//! Once per frame period the session calls, in order:
//! 1. [`Router::push_guard_audio`] for each talking monitor that sent audio this frame (a monitor
//!    that sent nothing is silence: a whisper with no inbound stream is not an error);
//! 2. [`Router::process`] with the frame's start time and the played-out PCM of leg A and leg B
//!    (what each party says, after jitter buffer and decoder; silence if a leg has no stream);
//! 3. reads [`Router::outbound`] for each leg (to encode and send), [`Router::listen`] for each
//!    tap (to send to the guard station) and [`Router::guard_track`] (third recording channel);
//! 4. drains [`Router::poll_event`] (audit: taps joining and leaving with their times).
//!
//! All frames are mono `i16` of [`Router::samples_per_frame`] samples at [`Router::rate`], except
//! stereo listen outputs (interleaved, twice as long). Buffers are allocated in [`Router::new`],
//! [`Router::add_tap`] and [`Router::play`], never in [`Router::process`]. The event queue grows
//! only with control calls (one event per call plus one start and one end per playback); drain it
//! after each of them.

use super::mixer::{Gain, Mixer, OutputStage};
use super::playback::{PlayMode, Playback, PlaybackId, Source, Target};
use super::taps::{LeaveReason, ListenLayout, RouterEvent, TapGains, TapId, TapKind};
use super::{frame_samples, MixError};
use crate::audio::SampleRate;
use crate::leg::Leg;
use crate::time::HostTime;
use std::collections::VecDeque;
use std::time::Duration;

/// A [`Router`]'s fixed settings.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RouterConfig {
    /// The call's internal rate (8, 16 or 48 kHz typically).
    pub rate: SampleRate,
    /// The frame period (ptime); `rate × ptime` must be a whole number of samples.
    pub ptime: Duration,
    /// How each output is narrowed to 16 bits after summing (one stage per output stream).
    pub stage: OutputStage,
    /// Most taps at once (memory bound); default 16, at most 256.
    pub max_taps: usize,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            rate: SampleRate::HZ_8000,
            ptime: Duration::from_millis(20),
            stage: OutputStage::Clamp,
            max_taps: 16,
        }
    }
}

impl RouterConfig {
    /// The default settings at `rate` with frames of `ptime`.
    pub fn new(rate: SampleRate, ptime: Duration) -> RouterConfig {
        RouterConfig { rate, ptime, ..RouterConfig::default() }
    }
}

/// A tap's listen output for the last frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TapAudio<'a> {
    /// Samples per frame × `channels`, interleaved when stereo (leg A left, leg B right).
    pub pcm: &'a [i16],
    /// 1 (mono) or 2 (stereo).
    pub channels: u8,
}

#[derive(Debug)]
struct TapSlot {
    id: TapId,
    kind: TapKind,
    gains: TapGains,
    input: Vec<i16>,
    has_input: bool,
    left: Mixer,
    right: Mixer,
    out: Vec<i16>,
}

impl TapSlot {
    fn voice(&self) -> Option<(&[i16], Gain)> {
        (self.kind.talks() && self.has_input).then_some((&self.input[..], self.gains.talk))
    }
}

/// Routes a two-leg call's audio between the legs, the monitors and the playbacks (see the
/// routing table in the [module docs](super)).
#[derive(Debug)]
pub struct Router {
    rate: SampleRate,
    n: usize,
    stage: OutputStage,
    max_taps: usize,
    allowed: bool,
    taps: Vec<TapSlot>,
    playbacks: Vec<Playback>,
    next_tap: u32,
    next_playback: u32,
    leg_gains: [Gain; 2],
    legs_out: [Vec<i16>; 2],
    legs_mix: [Mixer; 2],
    /// Whether anything but the other party at unity gain went into a leg's last frame.
    mixed: [bool; 2],
    guard: Vec<i16>,
    guard_mix: Mixer,
    events: VecDeque<RouterEvent>,
}

impl Router {
    /// A router with no taps and no playbacks; monitoring allowed.
    ///
    /// # Errors
    /// [`MixError::BadConfig`] if `rate × ptime` is not a whole number of samples in 1..=48 000,
    /// or `max_taps` is above 256.
    pub fn new(config: RouterConfig) -> Result<Router, MixError> {
        let n = frame_samples(config.rate, config.ptime)?;
        if config.max_taps > 256 {
            return Err(MixError::BadConfig("max_taps above 256"));
        }
        let mixer = || Mixer::new(n, config.rate, config.stage);
        Ok(Router {
            rate: config.rate,
            n,
            stage: config.stage,
            max_taps: config.max_taps,
            allowed: true,
            taps: Vec::with_capacity(config.max_taps),
            playbacks: Vec::new(),
            next_tap: 0,
            next_playback: 0,
            leg_gains: [Gain::UNITY; 2],
            legs_out: [vec![0; n], vec![0; n]],
            legs_mix: [mixer()?, mixer()?],
            mixed: [false; 2],
            guard: vec![0; n],
            guard_mix: mixer()?,
            events: VecDeque::with_capacity(16),
        })
    }

    /// The internal rate.
    pub fn rate(&self) -> SampleRate {
        self.rate
    }

    /// Samples per channel of one frame.
    pub fn samples_per_frame(&self) -> usize {
        self.n
    }

    /// Whether taps may be added (see [`Router::set_monitoring_allowed`]).
    pub fn monitoring_allowed(&self) -> bool {
        self.allowed
    }

    /// The call's monitoring policy hook (fail-closed). Disallowing removes every tap at once (each
    /// with a [`RouterEvent::TapLeft`] of reason [`LeaveReason::PolicyRevoked`]), stops playbacks
    /// targeted at taps, and makes [`Router::add_tap`] fail until allowed again. The outputs of the
    /// removed taps are gone from the next call on; the legs' conversation is not affected.
    pub fn set_monitoring_allowed(&mut self, now: HostTime, allowed: bool) {
        self.allowed = allowed;
        self.events.push_back(RouterEvent::MonitoringPolicy { allowed, at: now });
        if !allowed {
            for slot in std::mem::take(&mut self.taps) {
                self.end_tap_playbacks(now, slot.id);
                self.events.push_back(RouterEvent::TapLeft {
                    tap: slot.id,
                    kind: slot.kind,
                    reason: LeaveReason::PolicyRevoked,
                    at: now,
                });
            }
        }
    }

    /// Adds a monitor's tap (allocates its buffers) and queues [`RouterEvent::TapJoined`].
    ///
    /// # Errors
    /// [`MixError::MonitoringNotAllowed`] under a no-monitor policy; [`MixError::TooManyTaps`] at
    /// the configured maximum. Nothing changes on error.
    pub fn add_tap(&mut self, now: HostTime, kind: TapKind) -> Result<TapId, MixError> {
        if !self.allowed {
            return Err(MixError::MonitoringNotAllowed);
        }
        if self.taps.len() >= self.max_taps {
            return Err(MixError::TooManyTaps(self.max_taps));
        }
        let id = TapId(self.next_tap);
        self.next_tap = self.next_tap.wrapping_add(1);
        self.taps.push(TapSlot {
            id,
            kind,
            gains: TapGains::default(),
            input: vec![0; self.n],
            has_input: false,
            left: Mixer::new(self.n, self.rate, self.stage)?,
            right: Mixer::new(self.n, self.rate, self.stage)?,
            out: vec![0; 2 * self.n],
        });
        self.events.push_back(RouterEvent::TapJoined { tap: id, kind, at: now });
        Ok(id)
    }

    /// Switches a tap's mode (e.g. listen → whisper), queues [`RouterEvent::TapChanged`].
    ///
    /// # Errors
    /// [`MixError::UnknownTap`].
    pub fn change_tap(&mut self, now: HostTime, tap: TapId, kind: TapKind) -> Result<(), MixError> {
        let slot = self.slot_mut(tap)?;
        let from = slot.kind;
        slot.kind = kind;
        self.events.push_back(RouterEvent::TapChanged { tap, from, to: kind, at: now });
        Ok(())
    }

    /// Removes a tap, stops playbacks targeted at it, queues [`RouterEvent::TapLeft`].
    ///
    /// # Errors
    /// [`MixError::UnknownTap`].
    pub fn remove_tap(&mut self, now: HostTime, tap: TapId) -> Result<(), MixError> {
        let i = self.taps.iter().position(|s| s.id == tap).ok_or(MixError::UnknownTap(tap))?;
        let slot = self.taps.remove(i);
        self.end_tap_playbacks(now, tap);
        self.events.push_back(RouterEvent::TapLeft { tap, kind: slot.kind, reason: LeaveReason::Removed, at: now });
        Ok(())
    }

    /// Sets a tap's listen and talk gains.
    ///
    /// # Errors
    /// [`MixError::UnknownTap`].
    pub fn set_tap_gains(&mut self, tap: TapId, gains: TapGains) -> Result<(), MixError> {
        self.slot_mut(tap)?.gains = gains;
        Ok(())
    }

    /// Sets the gain of what the party on `leg` says, wherever it goes (the other leg's outbound
    /// and the listen outputs); default [`Gain::UNITY`].
    pub fn set_leg_gain(&mut self, leg: Leg, gain: Gain) {
        self.leg_gains[leg.index()] = gain;
    }

    /// The taps and their kinds.
    pub fn taps(&self) -> impl Iterator<Item = (TapId, TapKind)> + '_ {
        self.taps.iter().map(|s| (s.id, s.kind))
    }

    /// Hands in a monitor's audio for the next [`Router::process`] (mono, samples per frame),
    /// copied; a second push before that replaces the first. Ignored (not an error) for a
    /// listen-only tap: its audio never reaches the call.
    ///
    /// # Errors
    /// [`MixError::UnknownTap`], [`MixError::FrameLength`].
    pub fn push_guard_audio(&mut self, tap: TapId, pcm: &[i16]) -> Result<(), MixError> {
        let n = self.n;
        let slot = self.slot_mut(tap)?;
        if pcm.len() != n {
            return Err(MixError::FrameLength { expected: n, got: pcm.len() });
        }
        if slot.kind.talks() {
            slot.input.copy_from_slice(pcm);
            slot.has_input = true;
        }
        Ok(())
    }

    /// Starts a tone or prompt for `target` at the instant `at` (sample-exact: the first sample
    /// sounds at `at` within the frame that contains it; an instant already past starts at the next
    /// frame's first sample). Allocates the playback's frame buffer.
    ///
    /// # Errors
    /// [`MixError::RateMismatch`] if the source is not at the router's rate;
    /// [`MixError::UnknownTap`] for a tap target that does not exist.
    pub fn play(
        &mut self,
        at: HostTime,
        source: impl Into<Source>,
        target: Target,
        mode: PlayMode,
        gain: Gain,
    ) -> Result<PlaybackId, MixError> {
        let source = source.into();
        if source.rate() != self.rate {
            return Err(MixError::RateMismatch { source_hz: source.rate().hz(), mixer_hz: self.rate.hz() });
        }
        if let Target::Tap(t) = target {
            self.slot_mut(t)?;
        }
        let id = PlaybackId(self.next_playback);
        self.next_playback = self.next_playback.wrapping_add(1);
        self.playbacks.push(Playback {
            id,
            source,
            target,
            mode,
            gain,
            start_at: at,
            started: false,
            buf: vec![0; self.n],
            active: 0..0,
            ended: false,
        });
        Ok(id)
    }

    /// Stops a playback now; queues [`RouterEvent::PlaybackEnded`] with `stopped: true`.
    ///
    /// # Errors
    /// [`MixError::UnknownPlayback`] if it already ended or never existed.
    pub fn stop(&mut self, now: HostTime, playback: PlaybackId) -> Result<(), MixError> {
        let i = self.playbacks.iter().position(|p| p.id == playback).ok_or(MixError::UnknownPlayback(playback))?;
        self.playbacks.remove(i);
        self.events.push_back(RouterEvent::PlaybackEnded { playback, stopped: true, at: now });
        Ok(())
    }

    /// Whether a playback is still pending or sounding.
    pub fn is_playing(&self, playback: PlaybackId) -> bool {
        self.playbacks.iter().any(|p| p.id == playback)
    }

    /// Computes one frame. `now` is the instant of the frame's first sample; `leg_a` and `leg_b` are
    /// what each party says (mono, samples per frame). Consumes the pushed guard audio.
    ///
    /// # Errors
    /// [`MixError::FrameLength`] if a leg frame has the wrong length; nothing is computed.
    pub fn process(&mut self, now: HostTime, leg_a: &[i16], leg_b: &[i16]) -> Result<(), MixError> {
        for l in [leg_a, leg_b] {
            if l.len() != self.n {
                return Err(MixError::FrameLength { expected: self.n, got: l.len() });
            }
        }
        for p in &mut self.playbacks {
            let was = p.started;
            p.render(now, self.rate);
            if !was && p.started {
                let at = now.saturating_add(self.rate.duration_of(p.active.start as u64));
                self.events.push_back(RouterEvent::PlaybackStarted { playback: p.id, target: p.target, at });
            }
        }
        for leg in [Leg::A, Leg::B] {
            self.mix_outbound(leg, if leg == Leg::A { leg_b } else { leg_a })?;
        }
        for i in 0..self.taps.len() {
            self.mix_listen(i, leg_a, leg_b)?;
        }
        self.mix_guard()?;
        for t in &mut self.taps {
            t.has_input = false;
        }
        let events = &mut self.events;
        let rate = self.rate;
        self.playbacks.retain(|p| {
            if p.ended {
                let at = now.saturating_add(rate.duration_of(p.active.end as u64));
                events.push_back(RouterEvent::PlaybackEnded { playback: p.id, stopped: false, at });
            }
            !p.ended
        });
        Ok(())
    }

    fn mix_outbound(&mut self, leg: Leg, other: &[i16]) -> Result<(), MixError> {
        self.mixed[leg.index()] = self.leg_gains[leg.other().index()] != Gain::UNITY
            || self.taps.iter().any(|t| t.kind.talks_to(leg))
            || self.playbacks.iter().any(|p| p.started && p.target.reaches_leg(leg));
        let m = &mut self.legs_mix[leg.index()];
        m.clear();
        m.add(other, self.leg_gains[leg.other().index()])?;
        for p in self.playbacks.iter().filter(|p| p.mode == PlayMode::Replace && p.target.reaches_leg(leg)) {
            m.zero_range(p.active.clone());
        }
        for t in &self.taps {
            if let Some((voice, gain)) = t.voice().filter(|_| t.kind.talks_to(leg)) {
                m.add(voice, gain)?;
            }
        }
        for p in self.playbacks.iter().filter(|p| !p.active.is_empty() && p.target.reaches_leg(leg)) {
            m.add_at(p.active.start, &p.buf[p.active.clone()], p.gain)?;
        }
        m.finish(&mut self.legs_out[leg.index()])
    }

    fn mix_listen(&mut self, i: usize, leg_a: &[i16], leg_b: &[i16]) -> Result<(), MixError> {
        let (before, rest) = self.taps.split_at_mut(i);
        let Some((me, after)) = rest.split_first_mut() else { return Ok(()) };
        let Some(listen) = me.kind.listen() else { return Ok(()) };
        let stereo = listen.layout == ListenLayout::Stereo;
        let lg = me.gains.listen;
        me.left.clear();
        me.right.clear();
        let [ga, gb] = self.leg_gains;
        if listen.direction.hears(Leg::A) {
            me.left.add(leg_a, lg.then(ga))?;
        }
        let b_to = if stereo { &mut me.right } else { &mut me.left };
        if listen.direction.hears(Leg::B) {
            b_to.add(leg_b, lg.then(gb))?;
        }
        let mut both = |input: &[i16], offset: usize, gain: Gain| -> Result<(), MixError> {
            me.left.add_at(offset, input, lg.then(gain))?;
            if stereo {
                me.right.add_at(offset, input, lg.then(gain))?;
            }
            Ok(())
        };
        for other in before.iter().chain(after.iter()) {
            if let Some((voice, gain)) = other.voice().filter(|_| other.kind.is_barge()) {
                both(voice, 0, gain)?;
            }
        }
        for p in self.playbacks.iter().filter(|p| !p.active.is_empty() && !matches!(p.target, Target::Tap(_))) {
            both(&p.buf[p.active.clone()], p.active.start, p.gain)?;
        }
        let id = me.id;
        for p in self.playbacks.iter().filter(|p| p.target == Target::Tap(id) && p.mode == PlayMode::Replace) {
            me.left.zero_range(p.active.clone());
            me.right.zero_range(p.active.clone());
        }
        for p in self.playbacks.iter().filter(|p| !p.active.is_empty() && p.target == Target::Tap(id)) {
            me.left.add_at(p.active.start, &p.buf[p.active.clone()], lg.then(p.gain))?;
            if stereo {
                me.right.add_at(p.active.start, &p.buf[p.active.clone()], lg.then(p.gain))?;
            }
        }
        if stereo {
            me.left.finish_channel(&mut me.out, 0, 2)?;
            me.right.finish_channel(&mut me.out, 1, 2)
        } else {
            me.left.finish(&mut me.out[..self.n])
        }
    }

    fn mix_guard(&mut self) -> Result<(), MixError> {
        let m = &mut self.guard_mix;
        m.clear();
        for t in &self.taps {
            if let Some((voice, gain)) = t.voice() {
                m.add(voice, gain)?;
            }
        }
        for p in self.playbacks.iter().filter(|p| !p.active.is_empty()) {
            m.add_at(p.active.start, &p.buf[p.active.clone()], p.gain)?;
        }
        m.finish(&mut self.guard)
    }

    /// The PCM to send to the party on `leg` for the last frame (mono, samples per frame): the other
    /// party, whispers to `leg`, barges and playbacks to `leg`. Silence before the first frame.
    pub fn outbound(&self, leg: Leg) -> &[i16] {
        &self.legs_out[leg.index()]
    }

    /// Whether the last frame toward `leg` held anything besides the other party's audio at
    /// unity gain: a talking monitor (whisper to `leg`, barge — counted while attached,
    /// speaking or not), a sounding playback to `leg`, or a leg gain. When it did not, the
    /// other party's packets can be forwarded to `leg` untouched (passthrough).
    pub fn mixed_into(&self, leg: Leg) -> bool {
        self.mixed[leg.index()]
    }

    /// A tap's listen output for the last frame, `None` if the tap does not exist or does not listen.
    /// Before the tap's first frame it is silence.
    pub fn listen(&self, tap: TapId) -> Option<TapAudio<'_>> {
        let slot = self.taps.iter().find(|s| s.id == tap)?;
        let ch = slot.kind.listen()?.channels();
        Some(TapAudio { pcm: &slot.out[..self.n * usize::from(ch)], channels: ch })
    }

    /// The guard/prompt track for the last frame (mono, samples per frame): every monitor's voice
    /// (whisper and barge) and every playback, whatever its target — the third recording channel.
    pub fn guard_track(&self) -> &[i16] {
        &self.guard
    }

    /// The next audit or progress event, oldest first. Poll after each control call and each
    /// [`Router::process`] until `None`.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<RouterEvent> {
        self.events.pop_front()
    }

    fn slot_mut(&mut self, tap: TapId) -> Result<&mut TapSlot, MixError> {
        self.taps.iter_mut().find(|s| s.id == tap).ok_or(MixError::UnknownTap(tap))
    }

    fn end_tap_playbacks(&mut self, now: HostTime, tap: TapId) {
        let events = &mut self.events;
        self.playbacks.retain(|p| {
            let hit = p.target == Target::Tap(tap);
            if hit {
                events.push_back(RouterEvent::PlaybackEnded { playback: p.id, stopped: true, at: now });
            }
            !hit
        });
    }
}

#[cfg(test)]
#[path = "router_tests.rs"]
mod tests;
