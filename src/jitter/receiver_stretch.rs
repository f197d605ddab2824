//! Time-stretching decisions of [`AudioReceiver`]: accelerate or preemptive expand
//! toward the target buffer level, at most once per 100 ms, background first (see
//! `receiver_playout.rs` for the rule and `stretch.rs` for the signal processing).

use super::receiver_playout::Choice;
use super::*;
use crate::jitter::dsp::rms;
use crate::jitter::receiver_config::FrameKind;

/// How far above the target level the buffer must be before voiced speech (not only
/// background) is accelerated: shortening speech is audible, waiting for a pause is not.
const VOICED_ACCELERATE_EXCESS: f64 = 0.1;
/// Shortest time between two time-stretch operations.
const STRETCH_INTERVAL: Duration = Duration::from_millis(100);

impl AudioReceiver {
    /// Whether the newest packet of the run is comfort noise or an Opus DTX frame.
    pub(super) fn silence_ahead(&self, run: &Run) -> bool {
        let end = self.store.first_after_epoch(run.epoch).unwrap_or(self.store.len());
        end.checked_sub(1).and_then(|i| self.store.get(i)).is_some_and(|p| {
            match self.decoders.classify(p.payload_type) {
                PayloadClass::ComfortNoise { .. } => true,
                PayloadClass::Audio { native_plc: true, .. } => p.payload.len() <= 2,
                _ => false,
            }
        })
    }

    /// Accelerate or preemptive expand toward the target level, at most once per 100 ms.
    pub(super) fn maybe_stretch(&mut self, now: HostTime) -> Option<FrameKind> {
        let run = self.run?;
        if run.cng != Cng::Off || self.expander.active() {
            return None;
        }
        let interval = self.out_rate as usize * STRETCH_INTERVAL.as_millis() as usize / 1000;
        if self.since_stretch < interval {
            return None;
        }
        let level = self.level?;
        let target = self.target_level(&run);
        let margin = (target / 8.0).max(0.010);
        let accelerate = level >= target + margin;
        // A sender going quiet (DTX or comfort noise at the end of the buffer) sends
        // sparsely: the level falls but the silence ahead absorbs it. Do not stretch speech.
        let expand = level < target - margin && !self.silence_ahead(&run);
        if !accelerate && !expand {
            return None;
        }
        // Voiced speech is stretched only when far off target; background any time.
        let urgent = level >= target + (3.0 * margin).max(VOICED_ACCELERATE_EXCESS) || level < target - 2.0 * margin;
        let n = self.frame_len;
        let wanted = self.stretch.wanted_len();
        if accelerate {
            // Decode ahead while the next packets follow in order, so a whole period fits.
            while self.sync.future_len() < n + wanted {
                match self.choose(now) {
                    Choice::Decode { lost: 0 } => {
                        let (kind, produced) = self.decode_front(now, 0, 0);
                        self.account(kind, produced);
                        if kind != FrameKind::Normal {
                            return None;
                        }
                    }
                    _ => break,
                }
            }
        }
        let low_energy = {
            let fut = self.sync.future_mut();
            let seg = &fut[..fut.len().min(wanted)];
            rms(seg) <= (2.0 * self.bgn.shape().rms).max(30.0)
        };
        if !low_energy && !urgent {
            return None;
        }
        let rate = f64::from(self.out_rate);
        if accelerate {
            let len = self.sync.future_len();
            if len < n + 2 {
                return None;
            }
            // Keep at least one frame after the removal: T ≤ len − n.
            let search = (2 * (len - n)).min(len);
            let t = self.stretch.accelerate(self.sync.future_mut(), search, low_energy)?;
            self.sync.shrink(t);
            self.level = self.level.map(|l| l - t as f64 / rate);
            self.since_stretch = 0;
            self.account(FrameKind::Accelerated, t);
            Some(FrameKind::Accelerated)
        } else {
            let len = self.sync.future_len();
            let room = wanted / 2;
            let x = self.sync.future_with_room(room)?;
            let t = self.stretch.preemptive_expand(x, len, low_energy)?;
            self.sync.commit_growth(t);
            self.level = self.level.map(|l| l + t as f64 / rate);
            self.since_stretch = 0;
            self.account(FrameKind::Expanded, t);
            Some(FrameKind::Expanded)
        }
    }
}
