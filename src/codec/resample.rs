//! Streaming sample-rate conversion between the telephony rates (8, 16, 32, 44.1, 48 kHz and
//! any other pair) with rubato's synchronous FFT resampler, filter state kept across calls.
//!
//! Input arrives in chunks of any length (a 20 ms frame, 317 samples, …); a small FIFO
//! collects them into rubato's fixed 10 ms blocks, so the output is the same as converting
//! the whole signal at once (CASES B24) and the output count never drifts: after `n` input
//! frames, `floor(n × to / from)` output frames exist, of which the last
//! [`Resampler::pending_frames`] are still inside the FIFO and the filter and come out with
//! later input or [`Resampler::flush`]. The filter delay is trimmed: output frame `k` is the
//! signal at input time `k × from / to`.
//!
//! No allocation after [`Resampler::new`]: rubato runs through `process_into_buffer` on
//! buffers allocated once.

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler as _};
use thiserror::Error;

use crate::audio::SampleRate;

/// Errors of [`Resampler`]: construction ([`ResampleError::Unsupported`]) apart from
/// per-call misuse (bad lengths, short buffers), which leave the resampler unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ResampleError {
    /// The rates or channel count cannot be resampled (0 channels, a rate above
    /// [`Resampler::MAX_RATE_HZ`], rubato refused the ratio).
    #[error("unsupported resampling: {0}")]
    Unsupported(String),
    /// The input is not a whole number of interleaved frames.
    #[error("input of {0} samples is not a whole number of frames")]
    BadLength(usize),
    /// The output buffer cannot hold what this call produces (nothing was consumed).
    #[error("output buffer too small: need {needed} samples, have {available}")]
    BufferTooSmall {
        /// Samples (all channels) needed.
        needed: usize,
        /// Samples available.
        available: usize,
    },
}

/// 16-bit full scale as a float.
const FULL_SCALE: f32 = 32768.0;

fn to_i16(x: f32) -> i16 {
    // Saturating float-to-int conversion after clamping: in range by construction.
    (x * FULL_SCALE).round().clamp(-32768.0, 32767.0) as i16
}

/// A streaming resampler for interleaved 16-bit PCM. `Send`; one per stream and direction.
pub struct Resampler {
    from: SampleRate,
    to: SampleRate,
    channels: usize,
    /// `None` when `from == to`: samples are copied.
    inner: Option<Fft<f32>>,
    /// Block sizes of `inner` in frames (10 ms of input and the matching output).
    chunk_in: usize,
    chunk_out: usize,
    /// Input collected for the next block, interleaved; `fifo_frames` of `chunk_in` filled.
    fifo: Vec<f32>,
    fifo_frames: usize,
    /// One block of output, interleaved.
    block: Vec<f32>,
    /// The filter delay in output frames, and how much of it is still to be discarded.
    delay: usize,
    trim: usize,
    frames_in: u64,
    frames_out: u64,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("channels", &self.channels)
            .field("chunk_in", &self.chunk_in)
            .field("chunk_out", &self.chunk_out)
            .field("delay", &self.delay)
            .finish_non_exhaustive()
    }
}

impl Resampler {
    /// Highest sampling rate accepted, in Hz (384 kHz, the highest rate audio interfaces use).
    /// rubato's FFT length grows with the rates over their greatest common divisor, so an
    /// absurd rate (e.g. 4 294 967 295 Hz) would need gigabytes.
    pub const MAX_RATE_HZ: u32 = 384_000;

    /// A resampler from `from` to `to` for `channels` interleaved channels. Works in blocks of
    /// 10 ms of input (rounded up to a whole period of the rate ratio); the anti-aliasing
    /// filter is rubato's windowed sinc (Blackman-Harris²) of one block length.
    ///
    /// Errors: [`ResampleError::Unsupported`] for 0 channels, a rate above
    /// [`Self::MAX_RATE_HZ`] or a ratio rubato refuses.
    pub fn new(from: SampleRate, to: SampleRate, channels: u8) -> Result<Self, ResampleError> {
        let ch = usize::from(channels);
        if ch == 0 {
            return Err(ResampleError::Unsupported("0 channels".into()));
        }
        if from.hz().max(to.hz()) > Self::MAX_RATE_HZ {
            return Err(ResampleError::Unsupported(format!(
                "{} Hz -> {} Hz: rates above {} Hz",
                from.hz(),
                to.hz(),
                Self::MAX_RATE_HZ
            )));
        }
        let (inner, chunk_in, chunk_out, delay) = if from == to {
            (None, 0, 0, 0)
        } else {
            let chunk = (from.hz() as usize / 100).max(1);
            let fft = Fft::<f32>::new(from.hz() as usize, to.hz() as usize, chunk, 1, ch, FixedSync::Both)
                .map_err(|e| ResampleError::Unsupported(e.to_string()))?;
            let (ci, co, d) = (fft.input_frames_next(), fft.output_frames_next(), fft.output_delay());
            (Some(fft), ci, co, d)
        };
        Ok(Resampler {
            from,
            to,
            channels: ch,
            inner,
            chunk_in,
            chunk_out,
            fifo: vec![0.0; chunk_in * ch],
            fifo_frames: 0,
            block: vec![0.0; chunk_out * ch],
            delay,
            trim: delay,
            frames_in: 0,
            frames_out: 0,
        })
    }

    /// Input rate.
    pub fn from_rate(&self) -> SampleRate {
        self.from
    }

    /// Output rate.
    pub fn to_rate(&self) -> SampleRate {
        self.to
    }

    /// Channels (interleaved).
    pub fn channels(&self) -> u8 {
        u8::try_from(self.channels).unwrap_or(u8::MAX)
    }

    /// The filter delay in output frames, trimmed from the start of the output (rubato's
    /// `output_delay`: half a block, e.g. 240 frames for 8 → 48 kHz).
    pub fn delay_frames(&self) -> usize {
        self.delay
    }

    /// Output frames owed for the input given so far (`floor(in × to / from)` minus what came
    /// out): the resampler's latency right now, in output frames.
    pub fn pending_frames(&self) -> usize {
        let owed = u128::from(self.frames_in) * u128::from(self.to.hz()) / u128::from(self.from.hz());
        usize::try_from(owed.saturating_sub(u128::from(self.frames_out))).unwrap_or(usize::MAX)
    }

    /// Input and output frames counted since creation or the last [`Self::reset`].
    pub fn totals(&self) -> (u64, u64) {
        (self.frames_in, self.frames_out)
    }

    /// The most output frames a call to [`Self::process`] with `input_frames` frames can write.
    pub fn max_output_frames(&self, input_frames: usize) -> usize {
        if self.inner.is_none() {
            return input_frames;
        }
        (self.fifo_frames + input_frames) / self.chunk_in * self.chunk_out
    }

    /// Resamples `input` (interleaved, a whole number of frames) into `out`, returning the
    /// output frames written: those whose input is complete; the rest follow later.
    ///
    /// Errors: [`ResampleError::BadLength`], [`ResampleError::BufferTooSmall`] when `out` is
    /// shorter than [`Self::max_output_frames`] × channels; in both cases nothing is consumed.
    pub fn process(&mut self, input: &[i16], out: &mut [i16]) -> Result<usize, ResampleError> {
        let ch = self.channels;
        if input.len() % ch != 0 {
            return Err(ResampleError::BadLength(input.len()));
        }
        let frames = input.len() / ch;
        let needed = self.max_output_frames(frames) * ch;
        if out.len() < needed {
            return Err(ResampleError::BufferTooSmall { needed, available: out.len() });
        }
        self.frames_in += frames as u64;
        if self.inner.is_none() {
            out[..input.len()].copy_from_slice(input);
            self.frames_out += frames as u64;
            return Ok(frames);
        }
        let mut written = 0;
        let mut rest = input;
        while !rest.is_empty() {
            let take = (self.chunk_in - self.fifo_frames).min(rest.len() / ch);
            let dst = &mut self.fifo[self.fifo_frames * ch..(self.fifo_frames + take) * ch];
            for (d, &s) in dst.iter_mut().zip(&rest[..take * ch]) {
                *d = f32::from(s) / FULL_SCALE;
            }
            self.fifo_frames += take;
            rest = &rest[take * ch..];
            if self.fifo_frames == self.chunk_in {
                written += self.run_block(&mut out[written * ch..], usize::MAX)?;
            }
        }
        Ok(written)
    }

    /// Runs one block from the full FIFO and copies up to `limit` of its untrimmed frames to `out`.
    fn run_block(&mut self, out: &mut [i16], limit: usize) -> Result<usize, ResampleError> {
        let ch = self.channels;
        let Some(inner) = self.inner.as_mut() else { return Ok(0) };
        let input = InterleavedSlice::new(&self.fifo[..], ch, self.chunk_in)
            .map_err(|e| ResampleError::Unsupported(e.to_string()))?;
        let mut output = InterleavedSlice::new_mut(&mut self.block[..], ch, self.chunk_out)
            .map_err(|e| ResampleError::Unsupported(e.to_string()))?;
        inner.process_into_buffer(&input, &mut output, None).map_err(|e| ResampleError::Unsupported(e.to_string()))?;
        self.fifo_frames = 0;
        let skip = self.trim.min(self.chunk_out);
        self.trim -= skip;
        let n = (self.chunk_out - skip).min(limit);
        for (o, &x) in out[..n * ch].iter_mut().zip(&self.block[skip * ch..(skip + n) * ch]) {
            *o = to_i16(x);
        }
        self.frames_out += n as u64;
        Ok(n)
    }

    /// Ends the stream: writes the [`Self::pending_frames`] frames still owed (the input's
    /// tail, padded with silence through the filter), returns that count, and resets the
    /// resampler for a new, unrelated stream.
    ///
    /// Errors: [`ResampleError::BufferTooSmall`] when `out` holds fewer than
    /// `pending_frames() × channels` samples (nothing changes).
    pub fn flush(&mut self, out: &mut [i16]) -> Result<usize, ResampleError> {
        let ch = self.channels;
        let owed = self.pending_frames();
        if out.len() < owed * ch {
            return Err(ResampleError::BufferTooSmall { needed: owed * ch, available: out.len() });
        }
        let mut written = 0;
        while written < owed {
            self.fifo[self.fifo_frames * ch..].fill(0.0);
            self.fifo_frames = self.chunk_in;
            written += self.run_block(&mut out[written * ch..], owed - written)?;
        }
        self.reset();
        Ok(written)
    }

    /// Forgets all state (filter history, FIFO, counters) without producing output.
    pub fn reset(&mut self) {
        if let Some(inner) = self.inner.as_mut() {
            inner.reset();
        }
        self.fifo_frames = 0;
        self.trim = self.delay;
        self.frames_in = 0;
        self.frames_out = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, hz: f64, amp: f64, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| (amp * (2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(rate)).sin()).round() as i16)
            .collect()
    }

    #[test]
    fn block_sizes_and_delay() {
        let r = Resampler::new(SampleRate::HZ_8000, SampleRate::HZ_48000, 1).expect("8k->48k");
        assert_eq!((r.chunk_in, r.chunk_out, r.delay_frames()), (80, 480, 240));
        let r = Resampler::new(SampleRate::HZ_48000, SampleRate::HZ_8000, 1).expect("48k->8k");
        assert_eq!((r.chunk_in, r.chunk_out, r.delay_frames()), (480, 80, 40));
        let r = Resampler::new(SampleRate::new(44_100), SampleRate::HZ_48000, 2).expect("44.1k->48k");
        assert_eq!((r.chunk_in, r.chunk_out), (441, 480));
        assert!(Resampler::new(SampleRate::HZ_8000, SampleRate::HZ_16000, 0).is_err());
    }

    #[test]
    fn counts_are_exact_and_flush_completes_them() {
        let mut r = Resampler::new(SampleRate::HZ_8000, SampleRate::HZ_16000, 1).expect("8k->16k");
        let input = sine(8000, 1000.0, 8000.0, 1000);
        let mut out = vec![0i16; 4000];
        let mut n = 0;
        for c in input.chunks(130) {
            n += r.process(c, &mut out[n..]).expect("room");
        }
        assert_eq!(n + r.pending_frames(), 2000);
        let tail = r.flush(&mut out[n..]).expect("room");
        assert_eq!(n + tail, 2000);
        assert_eq!(r.totals(), (0, 0), "reset after flush");
        // Aligned: output sample 2k is input sample k (1 kHz at 8k: every 8 samples a period).
        for k in 100..900 {
            assert!((i32::from(out[2 * k]) - i32::from(input[k])).abs() <= 40, "k={k}");
        }
    }

    #[test]
    fn misuse_is_an_error_and_consumes_nothing() {
        let mut r = Resampler::new(SampleRate::HZ_16000, SampleRate::HZ_8000, 2).expect("16k->8k stereo");
        let mut out = [0i16; 4];
        assert_eq!(r.process(&[1, 2, 3], &mut out), Err(ResampleError::BadLength(3)));
        let big = [0i16; 800];
        assert!(matches!(r.process(&big, &mut out), Err(ResampleError::BufferTooSmall { .. })));
        assert_eq!(r.totals(), (0, 0));
        let mut same = Resampler::new(SampleRate::HZ_8000, SampleRate::HZ_8000, 1).expect("identity");
        assert_eq!(same.process(&[5, 6, 7], &mut out), Ok(3));
        assert_eq!(&out[..3], &[5, 6, 7]);
        assert_eq!(same.pending_frames(), 0);
    }
}
