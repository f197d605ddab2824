//! A plain PCM track on the call timeline: the recording's optional third channel (guard
//! and prompt audio), placed by the host time each frame was played.

use crate::audio::SampleRate;
use crate::time::HostTime;
use std::collections::VecDeque;

/// Longest silence [`PcmTrack::push`] inserts between queued audio and a later frame: 60 s.
/// A frame further ahead (a host clock jump) is dropped and counted with the late samples.
const MAX_GAP: std::time::Duration = std::time::Duration::from_secs(60);

/// Mono PCM at the recording rate, positioned by host time since the recording's start.
#[derive(Debug)]
pub(crate) struct PcmTrack {
    rate: SampleRate,
    start: HostTime,
    out: VecDeque<i16>,
    out_start: u64,
    /// Samples dropped because they arrived behind what was already encoded.
    pub(crate) late_samples: u64,
}

impl PcmTrack {
    pub(crate) fn new(rate: SampleRate, start: HostTime) -> Self {
        PcmTrack { rate, start, out: VecDeque::with_capacity(16_000), out_start: 0, late_samples: 0 }
    }

    /// Adds `pcm` (mono, at the recording rate) that started sounding at `at`. Gaps before it
    /// are silence; the part behind what was already taken is dropped (and counted), and so
    /// is a frame more than [`MAX_GAP`] after the audio still queued (the silence between is
    /// never materialised beyond that, whatever `at` says).
    pub(crate) fn push(&mut self, at: HostTime, pcm: &[i16]) {
        let ns = u128::from(at.as_nanos().saturating_sub(self.start.as_nanos()));
        let pos = u64::try_from(ns * u128::from(self.rate.hz()) / 1_000_000_000).unwrap_or(u64::MAX);
        let end = self.out_start.saturating_add(self.out.len() as u64);
        let mut skip = 0usize;
        // Chunks from a resampler vary by a few samples around their nominal place: within
        // a quarter of the chunk they continue the track seamlessly.
        if pos.abs_diff(end) <= (pcm.len() / 4) as u64 {
            self.out.extend(pcm.iter().copied());
            return;
        }
        if pos > end && self.out.is_empty() {
            // Nothing queued: the track resumes at `pos` (`take` reads silence before it).
            self.out_start = pos;
        } else if pos > end {
            let gap = pos - end;
            if gap > self.rate.samples_in(MAX_GAP) as u64 {
                self.late_samples = self.late_samples.saturating_add(pcm.len() as u64);
                return;
            }
            self.out.extend(std::iter::repeat(0).take(usize::try_from(gap).unwrap_or(0)));
        } else if pos < end {
            // Overlap with what is queued or taken: keep the later audio's tail only.
            skip = usize::try_from(end - pos).unwrap_or(usize::MAX).min(pcm.len());
            self.late_samples = self.late_samples.saturating_add(skip as u64);
        }
        self.out.extend(pcm[skip..].iter().copied());
    }

    /// Copies `n` samples from absolute position `pos` into `dst[i * stride + channel]`
    /// (silence where nothing was pushed) and discards them.
    pub(crate) fn take(&mut self, pos: u64, n: usize, dst: &mut [i16], channel: usize, stride: usize) {
        while self.out_start < pos && !self.out.is_empty() {
            self.out.pop_front();
            self.out_start += 1;
        }
        for i in 0..n {
            let s = if self.out_start == pos + i as u64 {
                self.out_start += 1;
                self.out.pop_front().unwrap_or(0)
            } else {
                0
            };
            if let Some(slot) = dst.get_mut(i * stride + channel) {
                *slot = s;
            }
        }
        if self.out.is_empty() {
            self.out_start = self.out_start.max(pos + n as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_by_host_time_and_fills_gaps() {
        let mut t = PcmTrack::new(SampleRate::HZ_8000, HostTime::from_millis(1000));
        t.push(HostTime::from_millis(1010), &[5; 80]);
        let mut dst = vec![-1i16; 320];
        t.take(0, 160, &mut dst, 1, 2);
        let ch1: Vec<i16> = dst.iter().skip(1).step_by(2).copied().collect();
        assert!(ch1[..80].iter().all(|&s| s == 0) && ch1[80..].iter().all(|&s| s == 5));
        // Pushed behind the encode point: dropped and counted.
        t.push(HostTime::from_millis(1000), &[7; 40]);
        assert_eq!(t.late_samples, 40);
    }

    #[test]
    fn a_clock_jump_is_not_filled_with_silence() {
        // Nothing queued: the track resumes at the far position without a gap in memory.
        let mut t = PcmTrack::new(SampleRate::HZ_8000, HostTime::ZERO);
        t.push(HostTime(u64::MAX), &[3; 160]);
        assert_eq!((t.out.len(), t.out_start), (160, 147_573_952_589_676));
        // Audio queued: a frame more than 60 s after it is dropped, one within is placed.
        let mut t = PcmTrack::new(SampleRate::HZ_8000, HostTime::ZERO);
        t.push(HostTime::ZERO, &[1; 160]);
        t.push(HostTime::from_millis(60_021), &[2; 160]);
        assert_eq!((t.out.len(), t.late_samples), (160, 160));
        t.push(HostTime::from_millis(60_020), &[2; 160]);
        assert_eq!((t.out.len(), t.late_samples), (60_020 * 8 + 160, 160));
    }
}
