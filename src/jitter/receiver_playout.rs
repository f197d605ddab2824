//! The playout side of [`AudioReceiver`]: one decision per step, as NetEq's
//! decision logic, until the sync buffer holds a frame; then time-stretching.
//!
//! Decisions, for the packet at the front of the buffer (`P`) against the run being
//! played (its next timestamp `next_ts`, the synthetic ticks already produced past
//! it, and the last sequence number consumed):
//! - no run yet, a newer epoch, or no timeline relation (other clock rate,
//!   timestamp going back): start a new run with `P` — at once if audio is flowing
//!   (a payload-type switch mid-speech, CASES.md B14), else when *due*, i.e. one
//!   target delay after `P` arrived (B11, B12);
//! - a talkspurt start (a timestamp gap with no missing sequence numbers, or a
//!   marker bit after silence): start it when the timeline reaches it or when it is due;
//! - `P` is the next timestamp: decode it (merging if concealment was playing);
//! - packets are missing before `P`: conceal until the concealment covers the gap,
//!   then skip to `P` (the missing ones count as lost) — except that the last
//!   missing packet is recovered from `P`'s in-band FEC (Opus) when `P` has it;
//! - nothing to play: conceal (codec PLC or expansion fading to comfort noise by
//!   60 ms and to silence by 200 ms), or continue comfort noise after CN / DTX;
//! - audio resumes after the concealment faded (a delay spike held the packets back
//!   and released them together): late packets merge back and the delay grows
//!   (NetEq's way), then acceleration brings it down; only when the backlog is more
//!   than 200 ms above the target level are the oldest waiting packets — whose slots
//!   the faded concealment already covered — dropped as late so that playout resumes
//!   at the target delay, instead of playing a long spike late and accelerating for
//!   seconds (NetEq's weak spot after spikes).
//!
//! After the frame is filled, if audio is flowing, at most once per 100 ms: when the
//! filtered buffer level is above the target level by a margin, accelerate; below,
//! preemptive expand — on low-energy audio, or on voiced audio (correlation ≥ 0.9)
//! when the level is more than three margins and 100 ms above (two margins below)
//! the target: waiting for a pause costs a little delay, shortening speech is audible. The
//! target level is the target delay plus one packet; the margin is the larger of
//! 10 ms and an eighth of it. While the stream carries Opus in-band FEC the target
//! delay gets one packet more, so that the packet after a loss is there to recover
//! the lost one from.

use super::*;
use crate::jitter::dsp::to_i16;
use crate::jitter::expand::ExpandPhase;
use crate::jitter::noise::NoiseShape;
use crate::jitter::receiver_config::FrameKind;

/// What to do for the next piece of audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Choice {
    /// Start a new run with the front packet.
    Start,
    /// Decode the front packet, skipping `lost` missing audio sequence numbers before it.
    Decode { lost: u64 },
    /// Recover the one missing packet before the front one from its in-band FEC.
    Fec,
    /// Produce synthetic audio (concealment, comfort noise, silence).
    Fill,
    /// Drop packets a delay spike made stale and restart at the target delay.
    Resync,
    /// Fill a short loss from both sides and play the packet after it.
    Interpolate,
}

/// Longest plausible packet (Opus allows 120 ms): a timestamp gap beyond this per
/// missing sequence number is not loss but a timing discontinuity.
const MAX_PACKET: Duration = Duration::from_millis(125);
/// Time constant of the buffer-level filter.
const LEVEL_TAU: f64 = 0.5;
/// How long (in frames pulled: 10 s of 20 ms frames) in-band FEC keeps raising the
/// target after the last packet that carried it. (Opus sends it only with speech, so
/// it comes and goes.)
pub(super) const FEC_MEMORY_FRAMES: u32 = 500;

impl AudioReceiver {
    pub(super) fn samples_to_secs(&self, n: usize) -> f64 {
        n as f64 / f64::from(self.out_rate)
    }

    pub(super) fn ticks_for(&self, clock: ClockRate, samples: usize) -> u64 {
        self.decoders.ticks_of(clock, samples)
    }

    /// The playout delay aimed at: the estimator's target, plus (in adaptive mode) one
    /// packet while the stream carries in-band FEC or has lost packets (in the last 10 s), so that the
    /// packet after a loss is usually there to recover it from (FEC) or to conceal the
    /// loss from both sides (interpolation).
    pub(super) fn effective_target(&self) -> Duration {
        let extra = match self.run {
            _ if !self.adaptive || (self.fec_seen == 0 && self.loss_seen == 0) => Duration::ZERO,
            Some(run) => run.clock.duration_of(run.ptime),
            None => Duration::from_millis(20),
        };
        self.delay.target().saturating_add(extra)
    }

    /// Whether `p` has waited the target delay (to within half a frame).
    pub(super) fn due(&self, p: &MediaPacket, now: HostTime) -> bool {
        now.saturating_add(self.frame / 2) >= p.arrival.saturating_add(self.effective_target())
    }

    /// The buffer level (seconds) the receiver steers toward: the effective target
    /// delay plus one packet (the level counts the whole packet about to play).
    pub(super) fn target_level(&self, run: &Run) -> f64 {
        let ptime = run.ptime as f64 / f64::from(run.clock.hz());
        self.effective_target().as_secs_f64() + ptime
    }

    /// Buffer level now, in seconds: decoded future plus the span of held packets of the run.
    pub(super) fn level_now(&self) -> f64 {
        let future = self.samples_to_secs(self.sync.future_len());
        let Some(run) = self.run else { return future };
        let end = self.store.first_after_epoch(run.epoch).unwrap_or(self.store.len());
        let newest = end.checked_sub(1).and_then(|i| self.store.get(i)).filter(|p| p.epoch == run.epoch);
        let span = newest.map_or(0, |p| {
            let same_clock = match self.decoders.classify(p.payload_type) {
                PayloadClass::Audio { clock, .. } | PayloadClass::ComfortNoise { clock } => clock == run.clock,
                _ => false,
            };
            if same_clock {
                p.timestamp.0.saturating_add(run.ptime).saturating_sub(run.next_ts.saturating_add(run.synthetic))
            } else {
                0
            }
        });
        future + span as f64 / f64::from(run.clock.hz())
    }

    fn update_level(&mut self) {
        let raw = self.level_now();
        let a = (-self.frame.as_secs_f64() / LEVEL_TAU).exp();
        self.level = Some(self.level.map_or(raw, |l| a * l + (1.0 - a) * raw));
    }

    /// Adds `samples` of output of `kind` to the duration counters.
    pub(super) fn account(&mut self, kind: FrameKind, samples: usize) {
        let d = Duration::from_secs_f64(self.samples_to_secs(samples));
        self.count(|c| match kind {
            FrameKind::Normal => c.played += d,
            FrameKind::Concealed => c.concealed += d,
            FrameKind::ComfortNoise => c.comfort_noise += d,
            FrameKind::Silence => c.silence += d,
            FrameKind::Accelerated => c.accelerated += d,
            FrameKind::Expanded => c.expanded += d,
        });
    }

    /// Fills and plays one frame (the length was checked by `pull`).
    pub(super) fn pull_frame(&mut self, now: HostTime, out: &mut [i16]) -> PullInfo {
        let n = self.frame_len;
        self.update_level();
        // The kind that produced the most samples in this pull.
        let mut best: Option<(FrameKind, usize)> = None;
        for _ in 0..16 {
            if self.sync.future_len() >= n {
                break;
            }
            let need = n - self.sync.future_len();
            let (kind, produced) = self.step(now, need);
            self.account(kind, produced);
            if best.map_or(true, |(_, b)| produced > b) {
                best = Some((kind, produced));
            }
            self.last_kind = kind;
        }
        let mut kind = best.map_or(self.last_kind, |b| b.0);
        if let Some(k) = self.maybe_stretch(now) {
            kind = k;
        }
        let info = self.frame_info(kind);
        let mut frame = std::mem::take(&mut self.frame_buf);
        self.sync.play(&mut frame);
        self.fec_seen = self.fec_seen.saturating_sub(1);
        self.loss_seen = self.loss_seen.saturating_sub(1);
        if matches!(kind, FrameKind::Normal | FrameKind::Accelerated | FrameKind::Expanded) {
            self.bgn.update(&frame);
        }
        to_i16(&frame, out);
        self.frame_buf = frame;
        self.since_stretch = self.since_stretch.saturating_add(n);
        info
    }

    fn frame_info(&self, kind: FrameKind) -> PullInfo {
        let Some(run) = self.run else {
            return PullInfo {
                kind,
                samples: self.frame_len,
                timestamp: None,
                clock_rate: None,
                epoch: None,
                ssrc: None,
            };
        };
        let end = run.next_ts.saturating_add(run.synthetic);
        let ts = end.saturating_sub(self.ticks_for(run.clock, self.sync.future_len()));
        PullInfo {
            kind,
            samples: self.frame_len,
            timestamp: Some(crate::rtp::ExtTimestamp(ts)),
            clock_rate: Some(run.clock),
            epoch: Some(run.epoch),
            ssrc: Some(run.ssrc),
        }
    }

    /// One decision and its audio: returns what was produced and how many samples.
    fn step(&mut self, now: HostTime, need: usize) -> (FrameKind, usize) {
        self.drop_obsolete(now);
        match self.choose(now) {
            Choice::Start => self.start_run(now, need),
            Choice::Decode { lost } => self.decode_front(now, need, lost),
            Choice::Fec => self.recover_fec(need),
            Choice::Fill => self.fill(need),
            Choice::Resync => self.resync(now, need),
            Choice::Interpolate => self.interpolate(now, need),
        }
    }

    /// Drops packets whose slot has passed, and a superseded epoch's remainder once
    /// the next epoch's first packet is due.
    fn drop_obsolete(&mut self, now: HostTime) {
        let Some(run) = self.run else { return };
        while let Some(front) = self.store.front() {
            if front.epoch > run.epoch || (front.epoch == run.epoch && front.seq.0 > run.last_seq) {
                break;
            }
            let dup =
                front.epoch == run.epoch && self.seqs.as_ref().is_some_and(|s| s.past(front.seq.0) == Past::Arrived);
            self.store.pop_front();
            if dup {
                self.count(|c| c.duplicates += 1);
            } else {
                self.count(|c| c.late += 1);
            }
        }
        if let Some(i) = self.store.first_after_epoch(run.epoch) {
            if i > 0 && self.store.get(i).is_some_and(|p| self.due(p, now)) {
                let dropped = self.store.drop_front(i) as u64;
                self.count(|c| c.discarded += dropped);
            }
        }
    }

    pub(super) fn choose(&self, now: HostTime) -> Choice {
        let Some(front) = self.store.front() else { return Choice::Fill };
        let due = self.due(front, now);
        let Some(run) = self.run else {
            return if due { Choice::Start } else { Choice::Fill };
        };
        if front.epoch != run.epoch {
            return if due { Choice::Start } else { Choice::Fill };
        }
        let (clock, native) = match self.decoders.classify(front.payload_type) {
            PayloadClass::Audio { clock, native_plc } => (clock, native_plc),
            PayloadClass::ComfortNoise { clock } => (clock, false),
            _ => return Choice::Start,
        };
        let talking = !self.expander.active() && run.cng == Cng::Off;
        let ts = front.timestamp.0;
        let tol = (run.ptime / 2).max(1);
        if clock != run.clock || ts.saturating_add(tol) < run.next_ts {
            // No timeline relation to what played: continue at once while audio flows.
            return if talking || due { Choice::Start } else { Choice::Fill };
        }
        let seq_gap = front.seq.0.saturating_sub(run.last_seq).saturating_sub(1);
        let non_audio = self.non_audio.between(run.epoch, run.last_seq, front.seq.0);
        let lost = seq_gap.saturating_sub(non_audio);
        let gap = ts.saturating_sub(run.next_ts);
        let reached =
            run.next_ts.saturating_add(run.synthetic).saturating_add(self.ticks_for(clock, self.frame_len / 2));
        let max_gap = seq_gap.saturating_mul(clock.ticks_in(MAX_PACKET)).saturating_add(tol);
        let talkspurt = (gap > tol && (seq_gap == 0 || gap > max_gap)) || (front.marker && !talking && gap > tol);
        if talkspurt {
            return if reached >= ts || due { Choice::Start } else { Choice::Fill };
        }
        if gap <= tol {
            return if self.stale_after_gap(&run) { Choice::Resync } else { Choice::Decode { lost } };
        }
        // The last missing packet's slot is next: recover it from P's in-band FEC
        // (after a burst the earlier ones were concealed), as long as any concealment
        // so far is still the codec's own.
        let remaining = ts.saturating_sub(run.next_ts.saturating_add(run.synthetic));
        if lost >= 1
            && native
            && remaining.abs_diff(run.ptime) <= tol
            && (!self.expander.active() || self.expander.phase() == ExpandPhase::Speech)
            && self.decoders.has_fec(front.payload_type, &front.payload)
        {
            return Choice::Fec;
        }
        if reached >= ts {
            if self.stale_after_gap(&run) {
                Choice::Resync
            } else {
                Choice::Decode { lost }
            }
        } else if !native
            && lost >= 1
            && run.synthetic == 0
            && !self.expander.active()
            && self.ticks_to_samples(clock, gap) <= self.interpolator.max_gap()
        {
            Choice::Interpolate
        } else {
            Choice::Fill
        }
    }

    pub(super) fn ticks_to_samples(&self, clock: ClockRate, ticks: u64) -> usize {
        usize::try_from(ticks.saturating_mul(u64::from(self.out_rate)) / u64::from(clock.hz())).unwrap_or(usize::MAX)
    }

    /// Starts a new run (timeline) with the front packet.
    pub(super) fn start_run(&mut self, now: HostTime, need: usize) -> (FrameKind, usize) {
        let Some(p) = self.store.pop_front() else { return self.fill(need) };
        let (clock, native) = match self.decoders.classify(p.payload_type) {
            PayloadClass::Audio { clock, native_plc } => (clock, native_plc),
            PayloadClass::ComfortNoise { clock } => (clock, false),
            _ => return self.fill(need),
        };
        let previous = self.run;
        let same_epoch = previous.is_some_and(|r| r.epoch == p.epoch);
        if same_epoch {
            self.consume_seq(&p);
        } else {
            self.stats.streams = self.stats.streams.saturating_add(1);
            self.stats.ssrc = Some(p.ssrc);
            self.stats.epoch = Some(p.epoch);
            let mut pos = Position::at(&p);
            let _ = pos.consume(p.seq.0, p.timestamp.0);
            self.seqs = Some(pos);
        }
        let ptime =
            previous.filter(|r| r.clock == clock).map_or(clock.ticks_in(Duration::from_millis(20)), |r| r.ptime);

        let cng = previous.map_or(Cng::Off, |r| r.cng);
        self.run = Some(Run {
            epoch: p.epoch,
            ssrc: p.ssrc,
            clock,
            pt: p.payload_type,
            native_plc: native,
            last_seq: p.seq.0,
            next_ts: p.timestamp.0,
            synthetic: 0,
            ptime,
            cng,
        });
        self.level = None;
        self.decode_packet(p, now, need, cng)
    }

    /// Marks `p`'s sequence number consumed; counts the audio numbers skipped before it as lost.
    pub(super) fn consume_seq(&mut self, p: &MediaPacket) {
        let Some(seqs) = self.seqs.as_mut() else { return };
        let from = seqs.next_seq;
        let skipped = seqs.consume(p.seq.0, p.timestamp.0);
        let non_audio = self.non_audio.between(p.epoch, from.saturating_sub(1), p.seq.0);
        let lost = skipped.saturating_sub(non_audio);
        if lost > 0 {
            self.loss_seen = FEC_MEMORY_FRAMES;
        }
        self.count(|c| c.lost = c.lost.saturating_add(lost));
    }

    pub(super) fn decode_front(&mut self, now: HostTime, need: usize, _lost: u64) -> (FrameKind, usize) {
        let Some(p) = self.store.pop_front() else { return self.fill(need) };
        self.consume_seq(&p);
        let cng = self.run.map_or(Cng::Off, |r| r.cng);
        self.decode_packet(p, now, need, cng)
    }

    /// Decodes `p` (already consumed) into the sync buffer, joining it to what played
    /// before (`was_cng`: the comfort noise in progress).
    fn decode_packet(&mut self, p: MediaPacket, now: HostTime, need: usize, was_cng: Cng) -> (FrameKind, usize) {
        let Some(mut run) = self.run else { return self.fill(need) };
        run.last_seq = p.seq.0;
        run.synthetic = 0;
        match self.decoders.classify(p.payload_type) {
            PayloadClass::ComfortNoise { .. } => {
                let shape = NoiseShape::from_rfc3389(&p.payload).unwrap_or(NoiseShape::SILENT);
                self.cng.set(&shape, was_cng != Cng::Rfc3389);
                run.cng = Cng::Rfc3389;
                run.next_ts = p.timestamp.0;
                self.expander.reset();
                self.run = Some(run);
                return self.fill(need);
            }
            PayloadClass::Audio { .. } => {}
            _ => {
                self.run = Some(run);
                return self.fill(need);
            }
        }
        let Some(decoded) = self.decoders.decode(p.payload_type, &p.payload) else {
            self.count(|c| c.discarded += 1);
            run.next_ts = p.timestamp.0.saturating_add(run.ptime);
            self.run = Some(run);
            return self.fill(need);
        };
        let is_dtx = run.native_plc && p.payload.len() <= 2;
        let audio = self.decoders.output(decoded.samples);
        if self.expander.active() {
            if run.native_plc && self.expander.phase() == ExpandPhase::Speech {
                // libopus joins its own concealment to the next frame.
                self.expander.reset();
            } else {
                self.merger.merge(&mut self.expander, audio);
            }
        } else if was_cng == Cng::Rfc3389 && !is_dtx {
            // Fade in from the comfort noise over 5 ms.
            let k = (self.out_rate as usize / 200).min(audio.len()).min(self.scratch.len());
            let noise = &mut self.scratch[..k];
            self.cng.generate(noise, |_| 1.0);
            for (i, (a, z)) in audio.iter_mut().zip(noise.iter()).enumerate() {
                let w = (i + 1) as f32 / (k + 1) as f32;
                *a = z * (1.0 - w) + *a * w;
            }
        }
        let audio = &audio[..];
        let produced = audio.len();
        let before = self.sync.future_len();
        let Some(dst) = self.sync.append(audio.len()) else {
            self.count(|c| c.discarded += 1);
            self.run = Some(run);
            return (self.last_kind, 0);
        };
        dst.copy_from_slice(audio);
        let play_at = now.saturating_add(Duration::from_secs_f64(self.samples_to_secs(before)));
        let delay = play_at.saturating_since(p.arrival);
        self.stats.current_delay = delay;
        self.count(|c| c.add_delay(delay));
        if run.native_plc && self.decoders.has_fec(p.payload_type, &p.payload) {
            self.fec_seen = FEC_MEMORY_FRAMES;
        }
        run.pt = p.payload_type;
        run.next_ts = p.timestamp.0.saturating_add(decoded.ticks);
        if decoded.ticks > 0 {
            run.ptime = decoded.ticks;
        }
        run.cng = if is_dtx { Cng::CodecInternal } else { Cng::Off };
        self.run = Some(run);
        let kind = if is_dtx { FrameKind::ComfortNoise } else { FrameKind::Normal };
        (kind, produced)
    }
}
