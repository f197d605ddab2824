//! The repair side of [`AudioReceiver`]'s playout: synthetic audio when no packet
//! can play (concealment, comfort noise, silence), two-sided fills of short losses,
//! Opus FEC recovery, and the resync after a delay spike. See `receiver_playout.rs`
//! for when each is chosen.

use super::*;
use crate::jitter::dsp::rms;
use crate::jitter::expand::ExpandPhase;
use crate::jitter::receiver_config::FrameKind;

/// How long codec-native concealment (Opus PLC) runs before the fade to comfort
/// noise takes over; libopus attenuates its own concealment over that time.
const NATIVE_PLC: Duration = Duration::from_millis(100);
/// After a delay spike, a backlog up to this much above the target level plays late and
/// is accelerated away (no audio lost, NetEq's way); beyond it the oldest waiting packets
/// are dropped as late. Measured (benches/quality): dropping at any backlog above the
/// target's margin lost 22 packets of speech per 300 ms spike, and PESQ under `jitter40`
/// rose from 3.729 to 3.752 (Opus, 5 seeds) and from 3.831 to 3.932 (G.711, 3 seeds)
/// once backlogs under 100–300 ms merged back instead (the same figures at 100, 200 and
/// 300 ms), at 5–8 ms more mean delay.
const SPIKE_BACKLOG: Duration = Duration::from_millis(200);

impl AudioReceiver {
    /// Whether audio resumes after a gap long enough that the concealment already
    /// faded (past 60 ms) while more is waiting than the target level plus a margin:
    /// a delay spike released its held packets together.
    pub(super) fn stale_after_gap(&self, run: &Run) -> bool {
        if !self.expander.active() || self.expander.phase() == ExpandPhase::Speech || run.cng != Cng::Off {
            return false;
        }
        let target = self.target_level(run);
        self.level_now() > target + (target / 8.0).max(0.010) + SPIKE_BACKLOG.as_secs_f64()
    }

    /// After a delay spike: drops the oldest waiting packets — their slots were
    /// concealed already — so that what remains spans the target level, and starts
    /// a new run with the first one kept. The dropped packets count as late.
    pub(super) fn resync(&mut self, now: HostTime, need: usize) -> (FrameKind, usize) {
        let Some(run) = self.run else { return self.fill(need) };
        let target = run.clock.ticks_in(Duration::from_secs_f64(self.target_level(&run)));
        let end = self.store.first_after_epoch(run.epoch).unwrap_or(self.store.len());
        let newest_end =
            end.checked_sub(1).and_then(|i| self.store.get(i)).map_or(0, |p| p.timestamp.0.saturating_add(run.ptime));
        let keep_from = newest_end.saturating_sub(target);
        while self.store.len() > 1 {
            let Some(front) = self.store.front() else { break };
            let next_same = self.store.get(1).is_some_and(|n| n.epoch == run.epoch);
            if front.epoch != run.epoch || front.timestamp.0 >= keep_from || !next_same {
                break;
            }
            if let Some(p) = self.store.pop_front() {
                self.consume_seq(&p);
                self.count(|c| c.late += 1);
            }
        }
        self.start_run(now, need)
    }

    /// Fills a short loss from both sides (the packet after it is here) and plays that
    /// packet after the fill; see `interpolate.rs`.
    pub(super) fn interpolate(&mut self, now: HostTime, need: usize) -> (FrameKind, usize) {
        let Some(run) = self.run else { return self.fill(need) };
        let Some(p) = self.store.pop_front() else { return self.fill(need) };
        let Some(decoded) = self.decoders.decode(p.payload_type, &p.payload) else {
            // Undecodable: conceal its gap the usual way.
            self.consume_seq(&p);
            self.count(|c| c.discarded += 1);
            self.run = Some(Run { last_seq: p.seq.0, next_ts: p.timestamp.0.saturating_add(run.ptime), ..run });
            return self.fill(need);
        };
        self.consume_seq(&p);
        let gap = self.ticks_to_samples(run.clock, p.timestamp.0.saturating_sub(run.next_ts));
        let gap = gap.min(self.gap_buf.len());
        let audio = self.decoders.output(decoded.samples);
        let hist = self.sync.history(self.expander.history_len());
        self.interpolator.fill(&mut self.expander, hist, audio, &mut self.gap_buf[..gap]);
        if let Some(dst) = self.sync.append(gap) {
            dst.copy_from_slice(&self.gap_buf[..gap]);
        }
        self.account(FrameKind::Concealed, gap);
        let before = self.sync.future_len();
        let audio = self.decoders.output(decoded.samples);
        let produced = audio.len();
        if let Some(dst) = self.sync.append(produced) {
            dst.copy_from_slice(audio);
        }
        let delay =
            now.saturating_add(Duration::from_secs_f64(self.samples_to_secs(before))).saturating_since(p.arrival);
        self.stats.current_delay = delay;
        self.count(|c| c.add_delay(delay));
        self.run = Some(Run {
            pt: p.payload_type,
            last_seq: p.seq.0,
            next_ts: p.timestamp.0.saturating_add(decoded.ticks),
            synthetic: 0,
            ptime: if decoded.ticks > 0 { decoded.ticks } else { run.ptime },
            ..run
        });
        (FrameKind::Normal, produced)
    }

    /// Recovers the single missing packet before the front one from its in-band FEC.
    pub(super) fn recover_fec(&mut self, need: usize) -> (FrameKind, usize) {
        let (Some(mut run), Some(front)) = (self.run, self.store.front()) else { return self.fill(need) };
        let samples = usize::try_from(run.ptime.saturating_mul(u64::from(self.out_rate)) / u64::from(run.clock.hz()))
            .unwrap_or(0);
        let (front_seq, front_ts, front_epoch) = (front.seq.0, front.timestamp.0, front.epoch);
        let Some(d) = self.decoders.decode_fec(front.payload_type, &front.payload, samples) else {
            return self.fill(need);
        };
        let Some(dst) = self.sync.append(d.samples) else { return self.fill(need) };
        dst.copy_from_slice(self.decoders.output(d.samples));
        // libopus continues from its own concealment, if any.
        self.expander.reset();
        let from = run.last_seq;
        let skipped = self.seqs.as_mut().map_or(0, |s| s.skip_to(front_seq));
        let lost = skipped.saturating_sub(self.non_audio.between(front_epoch, from, front_seq));
        self.count(|c| {
            c.lost = c.lost.saturating_add(lost);
            c.fec_recovered += 1;
        });
        run.last_seq = front_seq.saturating_sub(1);
        run.next_ts = front_ts;
        run.synthetic = 0;
        self.run = Some(run);
        (FrameKind::Normal, d.samples)
    }

    /// Produces `need` samples of synthetic audio: comfort noise after CN / DTX,
    /// otherwise concealment (codec PLC, then expansion fading out), or silence
    /// before any audio.
    pub(super) fn fill(&mut self, need: usize) -> (FrameKind, usize) {
        let need = need.min(self.scratch.len());
        let Some(mut run) = self.run else {
            if let Some(dst) = self.sync.append(need) {
                dst.iter_mut().for_each(|s| *s = 0.0);
            }
            return (FrameKind::Silence, need);
        };
        let mut buf = std::mem::take(&mut self.scratch);
        let out = &mut buf[..need];
        let kind = match run.cng {
            Cng::Rfc3389 => {
                self.cng.generate(out, |_| 1.0);
                if rms(out) > 0.0 {
                    FrameKind::ComfortNoise
                } else {
                    FrameKind::Silence
                }
            }
            Cng::CodecInternal => {
                match self.decoders.conceal(run.pt, need, true) {
                    Some(d) => out[..d.samples.min(need)]
                        .copy_from_slice(&self.decoders.output(d.samples)[..d.samples.min(need)]),
                    None => out.iter_mut().for_each(|s| *s = 0.0),
                }
                FrameKind::ComfortNoise
            }
            Cng::Off => {
                if !self.expander.active() {
                    let hist = self.sync.history(self.expander.history_len());
                    self.expander.start(hist, &self.bgn.shape());
                }
                let phase = self.expander.phase();
                let native_limit = self.out_rate as usize * NATIVE_PLC.as_millis() as usize / 1000;
                let plc =
                    if run.native_plc { need.min(native_limit.saturating_sub(self.expander.elapsed())) } else { 0 };
                if plc > 0 {
                    match self.decoders.conceal(run.pt, plc, false) {
                        Some(d) if d.samples >= plc => {
                            out[..plc].copy_from_slice(&self.decoders.output(d.samples)[..plc])
                        }
                        _ => out[..plc].iter_mut().for_each(|s| *s = 0.0),
                    }
                    self.expander.skip(plc);
                }
                if need > plc {
                    self.expander.generate(&mut out[plc..]);
                }
                match phase {
                    _ if plc > 0 => FrameKind::Concealed,
                    ExpandPhase::Speech => FrameKind::Concealed,
                    ExpandPhase::Noise => FrameKind::ComfortNoise,
                    ExpandPhase::Silent => FrameKind::Silence,
                }
            }
        };
        run.synthetic = run.synthetic.saturating_add(self.ticks_for(run.clock, need));
        self.run = Some(run);
        if let Some(dst) = self.sync.append(need) {
            dst.copy_from_slice(&buf[..need]);
        }
        self.scratch = buf;
        (kind, need)
    }
}
