//! Pitch-repetition packet-loss concealment for codecs without their own (G.711),
//! after the idea of ITU-T G.711 Appendix I, much simplified.
//!
//! During an erasure the concealer repeats the last pitch period of the audio
//! played so far (period 5–15 ms found by normalised autocorrelation over the last
//! 20 ms), or, when the audio is not voiced (best correlation below 0.5), the last
//! 20 ms. The repetition plays at full gain for the first 10 ms of consecutive
//! concealment, then its gain falls linearly to 0 at 60 ms; beyond that it is
//! silence. Before any real audio it is silence. The first real frame after an
//! erasure resets it, its first 2 ms cross-faded from the (continued) concealment
//! into the real audio so that the splice does not click.

use crate::audio::SampleRate;
use std::time::Duration;

/// Normalised correlation at or above which the signal counts as voiced.
const VOICED_CORR: f64 = 0.5;

/// Concealment state for one mono stream. Buffers are allocated once, in [`Self::new`].
#[derive(Debug, Clone)]
pub(crate) struct PitchConcealer {
    /// Shortest and longest pitch period searched (5 ms and 15 ms), in samples.
    pitch_min: usize,
    pitch_max: usize,
    /// Correlation window and unvoiced repetition length (20 ms), in samples.
    frame_len: usize,
    /// Full gain until `fade_start` (10 ms) into an erasure, silence from `fade_end` (60 ms).
    fade_start: usize,
    fade_end: usize,
    /// Cross-fade into the first real frame (2 ms), in samples.
    xfade: usize,
    /// The last `history_fill` samples played end at the end of `history`.
    history: Vec<i16>,
    history_fill: usize,
    /// Samples of consecutive concealment produced so far (0 after a real frame).
    concealed: usize,
    /// The waveform being repeated, `cycle[..cycle_len]`, and the read position in it.
    cycle: Vec<i16>,
    cycle_len: usize,
    cycle_pos: usize,
}

impl PitchConcealer {
    /// A concealer for mono audio at `rate`.
    pub(crate) fn new(rate: SampleRate) -> Self {
        let ms = |m: u64| rate.samples_in(Duration::from_millis(m)).max(1);
        let (pitch_max, frame_len) = (ms(15), ms(20));
        PitchConcealer {
            pitch_min: ms(5),
            pitch_max,
            frame_len,
            fade_start: ms(10),
            fade_end: ms(60),
            xfade: ms(2),
            history: vec![0; frame_len + pitch_max],
            history_fill: 0,
            concealed: 0,
            cycle: vec![0; frame_len.max(pitch_max)],
            cycle_len: 0,
            cycle_pos: 0,
        }
    }

    fn remember(&mut self, samples: &[i16]) {
        let (n, cap) = (samples.len(), self.history.len());
        if n >= cap {
            self.history.copy_from_slice(&samples[n - cap..]);
        } else {
            self.history.copy_within(n.., 0);
            self.history[cap - n..].copy_from_slice(samples);
        }
        self.history_fill = (self.history_fill + n).min(cap);
    }

    /// Takes in a real (decoded) frame about to be played: cross-fades its start if
    /// it ends an erasure, and remembers it.
    pub(crate) fn real(&mut self, frame: &mut [i16]) {
        if self.concealed > 0 {
            let x = self.xfade as i64 + 1;
            for (i, s) in frame.iter_mut().take(self.xfade).enumerate() {
                let synth = i64::from(self.next_synthetic());
                let w = i as i64 + 1;
                *s = ((synth * (x - w) + i64::from(*s) * w) / x) as i16;
            }
            self.concealed = 0;
        }
        self.remember(frame);
    }

    /// Fills `out` with concealment for lost audio and remembers it as played.
    pub(crate) fn conceal(&mut self, out: &mut [i16]) {
        if self.concealed == 0 {
            self.start_erasure();
        }
        for o in out.iter_mut() {
            *o = self.next_synthetic();
        }
        self.remember(out);
    }

    /// Chooses the waveform to repeat at the start of an erasure.
    fn start_erasure(&mut self) {
        let hist = &self.history[self.history.len() - self.history_fill..];
        let len = match self.best_pitch(hist) {
            Some(period) => period,
            None => hist.len().min(self.frame_len),
        };
        self.cycle[..len].copy_from_slice(&hist[hist.len() - len..]);
        self.cycle_len = len;
        self.cycle_pos = 0;
    }

    /// The pitch period (samples) at the end of `hist`, if it looks voiced.
    fn best_pitch(&self, hist: &[i16]) -> Option<usize> {
        let w = self.frame_len;
        if hist.len() < w + self.pitch_max {
            return None;
        }
        let end = hist.len();
        let target = &hist[end - w..];
        let e0: f64 = target.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
        if e0 == 0.0 {
            return None;
        }
        let mut best: Option<(usize, f64)> = None;
        for lag in self.pitch_min..=self.pitch_max {
            let past = &hist[end - w - lag..end - lag];
            let (mut c, mut e) = (0.0f64, 0.0f64);
            for (&a, &b) in target.iter().zip(past) {
                c += f64::from(a) * f64::from(b);
                e += f64::from(b) * f64::from(b);
            }
            if c <= 0.0 || e == 0.0 {
                continue;
            }
            let r = c / (e0 * e).sqrt();
            if best.map_or(true, |(_, br)| r > br) {
                best = Some((lag, r));
            }
        }
        best.filter(|&(_, r)| r >= VOICED_CORR).map(|(lag, _)| lag)
    }

    /// The next concealment sample, advancing the erasure and cycle positions.
    fn next_synthetic(&mut self) -> i16 {
        let t = self.concealed;
        self.concealed = self.concealed.saturating_add(1);
        let mut pos = self.cycle_pos;
        let s = self.synthetic(t, &mut pos);
        self.cycle_pos = pos;
        s
    }

    /// The concealment sample `t` samples into the erasure, read at cycle position
    /// `*pos` (advanced when the cycle is read).
    fn synthetic(&self, t: usize, pos: &mut usize) -> i16 {
        if self.cycle_len == 0 || t >= self.fade_end {
            return 0;
        }
        let s = i64::from(self.cycle[*pos]);
        *pos = (*pos + 1) % self.cycle_len;
        if t < self.fade_start {
            return s as i16;
        }
        // Linear fade from 1 at `fade_start` to 0 at `fade_end`.
        (s * (self.fade_end - t) as i64 / (self.fade_end - self.fade_start) as i64) as i16
    }

    /// Writes the samples the next [`Self::conceal`] would produce, without advancing
    /// (during an erasure, i.e. after a `conceal`; zeros otherwise). G.722 uses it to
    /// re-encode concealment ahead of what is played, by the QMF delay.
    pub(crate) fn peek(&self, out: &mut [i16]) {
        if self.concealed == 0 {
            out.fill(0);
            return;
        }
        let mut pos = self.cycle_pos;
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.synthetic(self.concealed.saturating_add(i), &mut pos);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` samples of a sine of `period` samples and amplitude 10 000, from sample `start`.
    fn sine(start: usize, n: usize, period: usize) -> Vec<i16> {
        (start..start + n)
            .map(|i| (10_000.0 * (2.0 * std::f64::consts::PI * i as f64 / period as f64).sin()) as i16)
            .collect()
    }

    /// `n` samples of white noise (xorshift32), amplitude under 2048.
    fn noise(n: usize) -> Vec<i16> {
        let mut x = 0x1234_5678u32;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 20) as i16 - 2048
            })
            .collect()
    }

    fn played(plc: &mut PitchConcealer, pcm: &[i16]) -> Vec<i16> {
        let mut frame = pcm.to_vec();
        plc.real(&mut frame);
        frame
    }

    #[test]
    fn before_any_audio_it_is_silence() {
        let mut plc = PitchConcealer::new(SampleRate::HZ_8000);
        let mut out = [7i16; 160];
        plc.conceal(&mut out);
        assert!(out.iter().all(|&s| s == 0));
    }

    #[test]
    fn finds_the_pitch_period() {
        let plc = PitchConcealer::new(SampleRate::HZ_8000);
        assert_eq!(plc.best_pitch(&sine(0, 280, 80)), Some(80));
        assert_eq!(plc.best_pitch(&sine(0, 280, 57)), Some(57));
        assert_eq!(plc.best_pitch(&sine(0, 279, 57)), None, "too little history");
        assert_eq!(plc.best_pitch(&noise(280)), None, "white noise is not voiced");
    }

    #[test]
    fn continues_a_voiced_signal_then_fades_out_by_60_ms() {
        let mut plc = PitchConcealer::new(SampleRate::HZ_8000);
        played(&mut plc, &sine(0, 400, 80)); // 100 Hz, period 10 ms = 80 samples
        let mut out = vec![0i16; 560];
        let (first, rest) = out.split_at_mut(80);
        plc.conceal(first);
        plc.conceal(rest);
        // The first 10 ms equal the true continuation.
        assert_eq!(&out[..80], &sine(400, 80, 80)[..]);
        // 10-50 ms still loud, 50-60 ms under 20 % of the amplitude, silence from 60 ms.
        assert!(out[80..160].iter().any(|&s| s.abs() > 8_000));
        assert!(out[400..480].iter().all(|&s| s.abs() < 2_000));
        assert!(out[480..].iter().all(|&s| s == 0));
    }

    #[test]
    fn a_real_frame_resets_the_fade_and_cross_fades_in() {
        let mut plc = PitchConcealer::new(SampleRate::HZ_8000);
        played(&mut plc, &sine(0, 400, 80));
        let mut out = vec![0i16; 480];
        plc.conceal(&mut out); // long erasure: faded to silence
        let dc = played(&mut plc, &[10_000; 160]);
        assert_eq!(dc[0], 10_000 / 17, "no click");
        assert!(dc[..16].windows(2).all(|w| w[1] > w[0]));
        assert!(dc[16..].iter().all(|&s| s == 10_000));
        played(&mut plc, &sine(0, 400, 80));
        plc.conceal(&mut out[..80]);
        assert_eq!(&out[..80], &sine(400, 80, 80)[..], "full gain again after a real frame");
    }

    #[test]
    fn peek_shows_what_conceal_will_give() {
        let mut plc = PitchConcealer::new(SampleRate::HZ_8000);
        let mut ahead = [7i16; 8];
        plc.peek(&mut ahead);
        assert_eq!(ahead, [0; 8], "no erasure yet");
        played(&mut plc, &sine(0, 400, 57));
        let mut out = [0i16; 100];
        plc.conceal(&mut out[..30]);
        let mut ahead = vec![0i16; 470];
        plc.peek(&mut ahead);
        let mut next = vec![0i16; 470];
        plc.conceal(&mut next);
        assert_eq!(ahead, next, "through the fade and into silence");
        assert!(next[..50].iter().any(|&s| s != 0) && next[450..].iter().all(|&s| s == 0));
    }

    #[test]
    fn unvoiced_audio_repeats_the_last_20_ms() {
        let mut plc = PitchConcealer::new(SampleRate::HZ_8000);
        let noise = noise(400);
        played(&mut plc, &noise);
        let mut out = [0i16; 80];
        plc.conceal(&mut out);
        assert_eq!(&out[..], &noise[240..320]);
    }
}
