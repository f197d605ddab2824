//! Recorded prompts ("you have one minute left"): PCM the host loaded, played frame by frame.
//!
//! The core opens no files: the host reads the announcement (e.g. a WAV with the `hound` crate)
//! and hands over samples and rate. A prompt must be at the mixer's rate before it is played;
//! convert it once at load time with a [`Resample`] implementation: the built-in
//! [`LinearResampler`], or the crate's resampler when the host prefers it (the trait keeps that
//! swappable).
//!
//! ```
//! use jyqq_media::mix::{LinearResampler, Prompt, PromptPlayer};
//! use jyqq_media::SampleRate;
//! # let mut wav = std::io::Cursor::new(Vec::new());
//! # {
//! #     let spec = hound::WavSpec { channels: 1, sample_rate: 8000, bits_per_sample: 16,
//! #                                 sample_format: hound::SampleFormat::Int };
//! #     let mut w = hound::WavWriter::new(&mut wav, spec).unwrap();
//! #     for i in 0..8000 { w.write_sample((i % 100) as i16).unwrap(); }
//! #     w.finalize().unwrap();
//! # }
//! # wav.set_position(0);
//! // Host side: read the WAV (from a file or, as here, from memory).
//! let mut reader = hound::WavReader::new(wav).unwrap();
//! let spec = reader.spec();
//! let pcm: Vec<i16> = reader.samples::<i16>().collect::<Result<_, _>>().unwrap();
//! let prompt = Prompt::from_interleaved(&pcm, spec.channels, SampleRate::new(spec.sample_rate)).unwrap();
//! // Once, at load time: bring it to the call's mixer rate.
//! let prompt = prompt.resampled(SampleRate::HZ_16000, &mut LinearResampler).unwrap();
//! assert_eq!(prompt.samples().len(), 16_000);
//! let mut player = PromptPlayer::new(prompt);
//! let mut frame = [0i16; 320];
//! assert_eq!(player.fill(&mut frame), 320);
//! ```

use super::MixError;
use crate::audio::SampleRate;
use std::time::Duration;

/// Converts a whole mono PCM buffer from one rate to another (used once per prompt, at load time,
/// so it may allocate).
pub trait Resample {
    /// `input` (mono, at `from`) resampled to `to`.
    ///
    /// # Errors
    /// Implementation-defined; [`MixError::BadPcm`] for input it cannot handle.
    fn resample(&mut self, input: &[i16], from: SampleRate, to: SampleRate) -> Result<Vec<i16>, MixError>;
}

/// Linear interpolation between neighbouring input samples, exact integer arithmetic.
///
/// Output length is `round(len · to / from)`; output sample `k` sits at input position
/// `k · from / to` and takes `x[i] + (x[i+1] − x[i]) · frac` (the last input sample is held past
/// the end). Good for **upsampling** (an 8 kHz prompt into a 16 or 48 kHz call: images above the
/// old Nyquist stay ~ −30 dB or lower for speech). It does **not** low-pass before
/// **downsampling**: content above the new Nyquist aliases, so downsample prompts with a real
/// resampler (or offline, e.g. `sox`) instead.
///
/// # Errors
/// [`MixError::BadPcm`] for empty input, or when the output would be longer than
/// [`MAX_PROMPT_SAMPLES`] (one hour at 48 kHz: an absurd rate pair would otherwise ask for
/// gigabytes).
#[derive(Debug, Clone, Copy, Default)]
pub struct LinearResampler;

/// Longest prompt [`LinearResampler`] produces: one hour at 48 kHz (172 800 000 samples).
pub const MAX_PROMPT_SAMPLES: usize = 3600 * 48_000;

impl Resample for LinearResampler {
    fn resample(&mut self, input: &[i16], from: SampleRate, to: SampleRate) -> Result<Vec<i16>, MixError> {
        if input.is_empty() {
            return Err(MixError::BadPcm("empty input"));
        }
        if from == to {
            return Ok(input.to_vec());
        }
        let (f, t) = (u64::from(from.hz()), u64::from(to.hz()));
        let len = u64::try_from(input.len()).map_err(|_| MixError::BadPcm("input too long"))?;
        let out_len = (u128::from(len) * u128::from(t) + u128::from(f / 2)) / u128::from(f);
        let out_len = usize::try_from(out_len)
            .ok()
            .filter(|&n| n <= MAX_PROMPT_SAMPLES)
            .ok_or(MixError::BadPcm("resampled prompt longer than one hour at 48 kHz"))?;
        let last = input.len() - 1;
        let mut out = Vec::with_capacity(out_len);
        for k in 0..out_len as u64 {
            let num = k * f;
            // idx ≤ (out_len−1)·f/t < len: in range; the next sample is clamped to the last.
            let idx = usize::try_from(num / t).unwrap_or(last).min(last);
            let frac = i64::try_from(num % t).unwrap_or(0);
            let a = i64::from(input[idx]);
            let b = i64::from(input[(idx + 1).min(last)]);
            let ti = i64::try_from(t).unwrap_or(i64::MAX);
            let v = a + ((b - a) * frac + ti / 2).div_euclid(ti);
            out.push(v.clamp(-32768, 32767) as i16);
        }
        Ok(out)
    }
}

/// A mono prompt: samples and their rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    samples: Vec<i16>,
    rate: SampleRate,
}

impl Prompt {
    /// A prompt from mono samples at `rate`.
    ///
    /// # Errors
    /// [`MixError::BadPcm`] if `samples` is empty.
    pub fn from_mono(samples: Vec<i16>, rate: SampleRate) -> Result<Prompt, MixError> {
        if samples.is_empty() {
            return Err(MixError::BadPcm("empty prompt"));
        }
        Ok(Prompt { samples, rate })
    }

    /// A prompt from interleaved PCM of `channels` channels (as a WAV holds it); more than one
    /// channel is downmixed to mono by the mean of the channels (rounded toward zero).
    ///
    /// # Errors
    /// [`MixError::BadPcm`] if `channels` is 0, `samples.len()` is not a multiple of it, or it is empty.
    pub fn from_interleaved(samples: &[i16], channels: u16, rate: SampleRate) -> Result<Prompt, MixError> {
        let ch = usize::from(channels);
        if ch == 0 || samples.len() % ch != 0 {
            return Err(MixError::BadPcm("length is not a whole number of frames of `channels` samples"));
        }
        let mono = samples
            .chunks_exact(ch)
            .map(|f| {
                let sum: i64 = f.iter().map(|&s| i64::from(s)).sum();
                // The mean of i16 values is an i16.
                (sum / ch as i64) as i16
            })
            .collect();
        Prompt::from_mono(mono, rate)
    }

    /// The samples (mono).
    pub fn samples(&self) -> &[i16] {
        &self.samples
    }

    /// The sampling rate.
    pub fn rate(&self) -> SampleRate {
        self.rate
    }

    /// Length of the prompt.
    pub fn duration(&self) -> Duration {
        self.rate.duration_of(self.samples.len() as u64)
    }

    /// This prompt at rate `to` (a copy when already at `to`).
    ///
    /// # Errors
    /// What the resampler returns.
    pub fn resampled(&self, to: SampleRate, resampler: &mut dyn Resample) -> Result<Prompt, MixError> {
        if to == self.rate {
            return Ok(self.clone());
        }
        Prompt::from_mono(resampler.resample(&self.samples, self.rate, to)?, to)
    }
}

/// Plays a [`Prompt`] once, frame by frame.
#[derive(Debug, Clone)]
pub struct PromptPlayer {
    prompt: Prompt,
    pos: usize,
}

impl PromptPlayer {
    /// A player at the prompt's start.
    pub fn new(prompt: Prompt) -> PromptPlayer {
        PromptPlayer { prompt, pos: 0 }
    }

    /// The prompt's rate.
    pub fn rate(&self) -> SampleRate {
        self.prompt.rate
    }

    /// Whether the whole prompt has been played.
    pub fn is_finished(&self) -> bool {
        self.pos >= self.prompt.samples.len()
    }

    /// Writes the next `out.len()` samples (mono) and returns how many came from the prompt; past
    /// its end the rest of `out` is zeroed.
    pub fn fill(&mut self, out: &mut [i16]) -> usize {
        let rest = &self.prompt.samples[self.pos.min(self.prompt.samples.len())..];
        let n = rest.len().min(out.len());
        out[..n].copy_from_slice(&rest[..n]);
        out[n..].fill(0);
        self.pos += n;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_upsample_interpolates_exactly() {
        let out = LinearResampler.resample(&[0, 100, -100], SampleRate::HZ_8000, SampleRate::HZ_16000).expect("ok");
        assert_eq!(out, vec![0, 50, 100, 0, -100, -100]);
        let out = LinearResampler.resample(&[0, 300], SampleRate::HZ_16000, SampleRate::HZ_48000).expect("ok");
        assert_eq!(out, vec![0, 100, 200, 300, 300, 300]);
    }

    #[test]
    fn linear_downsample_keeps_length_ratio() {
        let x: Vec<i16> = (0..480).map(|i| i as i16).collect();
        let out = LinearResampler.resample(&x, SampleRate::HZ_48000, SampleRate::HZ_8000).expect("ok");
        assert_eq!(out.len(), 80);
        assert_eq!(&out[..3], &[0, 6, 12]);
    }

    #[test]
    fn downmix_and_errors() {
        let p = Prompt::from_interleaved(&[100, 200, -5, -6], 2, SampleRate::HZ_8000).expect("ok");
        assert_eq!(p.samples(), &[150, -5]);
        assert!(Prompt::from_interleaved(&[1, 2, 3], 2, SampleRate::HZ_8000).is_err());
        assert!(Prompt::from_interleaved(&[1, 2], 0, SampleRate::HZ_8000).is_err());
        assert!(Prompt::from_mono(vec![], SampleRate::HZ_8000).is_err());
        assert!(LinearResampler.resample(&[], SampleRate::HZ_8000, SampleRate::HZ_16000).is_err());
    }

    #[test]
    fn player_runs_out() {
        let mut p = PromptPlayer::new(Prompt::from_mono(vec![7; 250], SampleRate::HZ_8000).expect("ok"));
        let mut f = [1i16; 160];
        assert_eq!(p.fill(&mut f), 160);
        assert_eq!(p.fill(&mut f), 90);
        assert_eq!((f[89], f[90]), (7, 0));
        assert!(p.is_finished());
        assert_eq!(p.fill(&mut f), 0);
    }
}
