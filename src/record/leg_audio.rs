//! One leg's written audio at the recording rate: decoded frames are down-mixed to mono and,
//! when the decoder's rate differs from the recording rate (G.711 at 8 kHz in a 16 kHz
//! recording, L16/16000 in a 48 kHz one), converted by a [`Resampler`] whose filter state
//! runs on across frames (CASES B22, B24).
//!
//! A resampler holds back a few milliseconds of output ([`Resampler::pending_frames`]), so
//! the leg has two ends: the *written* end (samples in the queue) and the *logical* end
//! (written + owed by the resampler), which is where the next contiguous frame goes. Any
//! discontinuity — a gap filled with silence or comfort noise, a change of decoder rate, the
//! encoder catching up with the write point, the end of the recording — flushes the
//! resampler, so the owed samples land exactly at their positions.

use crate::audio::SampleRate;
use crate::codec::Resampler;
use std::collections::VecDeque;

/// Input frames handed to a resampler per call: bounds its output (`RS_OUT` samples).
const RS_PIECE: usize = 960;
/// Output buffer for one resampler call or flush: 960 input frames at up to ×6 plus a block
/// and the filter delay (8 → 48 kHz: 12 blocks of 480 + 720 owed).
const RS_OUT: usize = 8192;

pub(crate) struct LegAudio {
    rate: SampleRate,
    /// Written samples (mono, at `rate`) not yet taken; `out[0]` sits at `out_start`.
    out: VecDeque<i16>,
    out_start: u64,
    /// Resamplers by source rate, created on first use and kept (a PT switch back and forth
    /// reuses them); `active` is the one holding owed output.
    resamplers: Vec<Resampler>,
    active: Option<usize>,
    mono: Vec<i16>,
    rs_out: Vec<i16>,
    pub(crate) resampled_samples: u64,
}

impl LegAudio {
    pub(crate) fn new(rate: SampleRate, max_frame: usize) -> Self {
        LegAudio {
            rate,
            out: VecDeque::with_capacity(48_000),
            out_start: 0,
            resamplers: Vec::new(),
            active: None,
            mono: vec![0; max_frame],
            rs_out: vec![0; RS_OUT],
            resampled_samples: 0,
        }
    }

    /// End of the samples written (queued or already taken).
    pub(crate) fn written_end(&self) -> u64 {
        self.out_start + self.out.len() as u64
    }

    /// Removes up to `n` queued samples ending at absolute position `end` (those not yet
    /// taken), shifting everything after them earlier; returns how many were removed.
    pub(crate) fn remove_before(&mut self, end: u64, n: u64) -> u64 {
        let end = end.min(self.written_end());
        let start = end.saturating_sub(n).max(self.out_start);
        if start >= end {
            return 0;
        }
        let (a, b) = ((start - self.out_start) as usize, (end - self.out_start) as usize);
        self.out.drain(a..b);
        end - start
    }

    /// Where the next contiguous audio goes: the written end plus what the active resampler owes.
    pub(crate) fn logical_end(&self) -> u64 {
        self.written_end() + self.active.map_or(0, |i| self.resamplers[i].pending_frames() as u64)
    }

    /// Writes out what the active resampler owes and ends its run.
    pub(crate) fn flush(&mut self) {
        if let Some(i) = self.active.take() {
            // RS_OUT covers the owed output (one block plus the delay) of every telephony ratio;
            // should it not, the owed samples are dropped (the resampler resets) rather than panicking.
            match self.resamplers[i].flush(&mut self.rs_out) {
                Ok(n) => self.out.extend(self.rs_out[..n].iter().copied()),
                Err(_) => self.resamplers[i].reset(),
            }
        }
    }

    /// Appends samples already at the recording rate (silence, comfort noise) after flushing.
    pub(crate) fn push_at_rate(&mut self, samples: impl Iterator<Item = i16>) {
        self.flush();
        self.out.extend(samples);
    }

    /// Appends `n` samples per channel of interleaved `pcm` (`ch` channels at `rate`) to the
    /// logical end, skipping its first `skip` frames, down-mixed to mono and resampled to the
    /// recording rate when `rate` differs from it.
    pub(crate) fn push_decoded(&mut self, pcm: &[i16], ch: usize, rate: SampleRate, skip: usize) {
        let ch = ch.max(1);
        let frames = (pcm.len() / ch).min(self.mono.len());
        let skip = skip.min(frames);
        let mut m = 0;
        for frame in pcm[skip * ch..frames * ch].chunks_exact(ch) {
            let sum: i32 = frame.iter().map(|&s| i32::from(s)).sum();
            // The mean of i16 values fits in i16.
            self.mono[m] = (sum / ch as i32) as i16;
            m += 1;
        }
        if rate == self.rate {
            self.flush();
            self.out.extend(self.mono[..m].iter().copied());
            return;
        }
        let i = match self.resamplers.iter().position(|r| r.from_rate() == rate) {
            Some(i) => i,
            None => match Resampler::new(rate, self.rate, 1) {
                Ok(r) => {
                    self.resamplers.push(r);
                    self.resamplers.len() - 1
                }
                // Unreachable for positive rates (rubato accepts every ratio); drop the frame.
                Err(_) => return,
            },
        };
        if self.active != Some(i) {
            self.flush();
            self.active = Some(i);
        }
        self.resampled_samples += m as u64;
        for piece in self.mono[..m].chunks(RS_PIECE) {
            match self.resamplers[i].process(piece, &mut self.rs_out) {
                Ok(n) => self.out.extend(self.rs_out[..n].iter().copied()),
                Err(_) => return,
            }
        }
    }

    /// Copies `n` samples starting at absolute position `pos` into channel `channel` of the
    /// interleaved `dst` (stride `stride`) and discards them; where nothing was written,
    /// `fill` supplies the sample (silence or comfort noise). Positions up to `pos + n` count
    /// as written afterwards.
    pub(crate) fn take(
        &mut self,
        pos: u64,
        n: usize,
        dst: &mut [i16],
        channel: usize,
        stride: usize,
        mut fill: impl FnMut() -> i16,
    ) {
        if pos + n as u64 > self.written_end() {
            self.flush();
        }
        // Drop anything before pos (cannot happen when the recorder takes contiguously).
        while self.out_start < pos && !self.out.is_empty() {
            self.out.pop_front();
            self.out_start += 1;
        }
        if self.out.is_empty() && self.out_start < pos {
            self.out_start = pos;
        }
        for i in 0..n {
            let abs = pos + i as u64;
            let s = if abs >= self.out_start {
                match self.out.pop_front() {
                    Some(s) => {
                        self.out_start += 1;
                        s
                    }
                    None => {
                        self.out_start = abs + 1;
                        fill()
                    }
                }
            } else {
                0
            };
            if let Some(slot) = dst.get_mut(i * stride + channel) {
                *slot = s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampled_frames_land_contiguously_and_flush_exactly() {
        let mut a = LegAudio::new(SampleRate::HZ_16000, 5760);
        let frame: Vec<i16> = (0..160).map(|i| ((i as f64 * 0.785).sin() * 8000.0) as i16).collect();
        for _ in 0..10 {
            a.push_decoded(&frame, 1, SampleRate::HZ_8000, 0);
        }
        assert_eq!(a.logical_end(), 3200, "10 frames of 20 ms at 16 kHz");
        assert!(a.written_end() < 3200, "the resampler holds some back");
        a.flush();
        assert_eq!(a.written_end(), 3200);
        // A stereo frame at the recording rate: down-mixed, first 10 frames skipped.
        a.push_decoded(&[100, 300, -50, 50, 7, 9], 2, SampleRate::HZ_16000, 1);
        assert_eq!(a.written_end(), 3202);
        let mut dst = [0i16; 4];
        a.take(3200, 2, &mut dst, 1, 2, || 0);
        assert_eq!(dst, [0, 0, 0, 8]);
    }
}
