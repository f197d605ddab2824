//! Runs a [`TranslationPath`] on payloads: push each received payload (or a lost frame),
//! then pull the payloads to send.
//!
//! The PCM between decoder and encoder goes through a channel adapter (down-mix to mono by
//! averaging, or mono copied to both channels), the [`Resampler`] when the rates differ, and
//! a FIFO that re-cuts it into frames of the destination ptime (20 ms in, 40 ms out: one
//! payload per two pushed). All buffers are allocated in [`Transcoder::new`].

use super::registry::{CodecOptions, CodecRegistry};
use super::resample::{ResampleError, Resampler};
use super::translate::{TranscodePlan, TranslationPath};
use super::{CodecError, Decoder, Encoder};
use std::collections::VecDeque;
use std::time::Duration;

/// Largest decoded packet: 120 ms of stereo 48 kHz audio (RFC 6716 §3.2.5).
const MAX_DECODED: usize = 5760 * 2;

/// Longest destination ptime a transcoding chain takes: 120 ms (the longest `ptime`
/// [`fmtp_ptime`](super::fmtp_ptime) reads, and Opus' longest packet).
const MAX_PTIME: Duration = Duration::from_millis(120);

impl From<ResampleError> for CodecError {
    fn from(e: ResampleError) -> Self {
        match e {
            ResampleError::BufferTooSmall { needed, available } => CodecError::BufferTooSmall { needed, available },
            ResampleError::BadLength(n) => CodecError::BadLength(n),
            other => CodecError::Unsupported(other.to_string()),
        }
    }
}

struct Chain {
    decoder: Box<dyn Decoder>,
    encoder: Box<dyn Encoder>,
    resampler: Option<Resampler>,
    dec_channels: usize,
    enc_channels: usize,
    /// Encoder frame, samples per channel.
    frame: usize,
    decoded: Vec<i16>,
    adapted: Vec<i16>,
    resampled: Vec<i16>,
    /// PCM at the encoder's rate and channels, waiting for a whole frame.
    fifo: VecDeque<i16>,
    frame_buf: Vec<i16>,
}

enum Mode {
    /// Payload bytes back to back, and their lengths.
    Passthrough {
        bytes: VecDeque<u8>,
        lens: VecDeque<usize>,
    },
    Transcode(Box<Chain>),
}

/// Transcodes one direction of a call (one source stream into one destination stream). `Send`.
pub struct Transcoder {
    path: TranslationPath,
    mode: Mode,
    dst_ptime: Duration,
}

impl std::fmt::Debug for Transcoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transcoder").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Transcoder {
    /// A transcoder running `path` with codecs from `registry`.
    ///
    /// Errors: [`CodecError::Unsupported`] when a codec or the resampler cannot be created
    /// as the path asks, or the plan's destination ptime is zero or over 120 ms (its frame
    /// buffers are sized by it); codec set-up errors.
    pub fn new(registry: &CodecRegistry, path: &TranslationPath) -> Result<Self, CodecError> {
        let (mode, dst_ptime) = match path {
            TranslationPath::Passthrough { format } => {
                let ptime = registry
                    .find_format(format)
                    .map_or(Duration::from_millis(20), |f| super::translate::ptime_of(format, f.descriptor()));
                (Mode::Passthrough { bytes: VecDeque::with_capacity(8192), lens: VecDeque::with_capacity(16) }, ptime)
            }
            TranslationPath::Transcode(plan) => {
                (Mode::Transcode(Box::new(Self::chain(registry, plan)?)), plan.dst_ptime)
            }
        };
        Ok(Transcoder { path: path.clone(), mode, dst_ptime })
    }

    fn chain(registry: &CodecRegistry, plan: &TranscodePlan) -> Result<Chain, CodecError> {
        if plan.dst_ptime.is_zero() || plan.dst_ptime > MAX_PTIME {
            return Err(CodecError::Unsupported(format!("destination ptime {:?} (up to 120 ms)", plan.dst_ptime)));
        }
        let decoder = registry.decoder(&plan.src, &CodecOptions::at_rate(plan.decode_rate))?;
        let enc_opts = CodecOptions { frame: Some(plan.dst_ptime), ..CodecOptions::at_rate(plan.encode_rate) };
        let encoder = registry.encoder(&plan.dst, &enc_opts)?;
        let (dec_channels, enc_channels) =
            (usize::from(decoder.channels().max(1)), usize::from(encoder.channels().max(1)));
        let resampler = if decoder.sample_rate() == encoder.sample_rate() {
            None
        } else {
            Some(Resampler::new(decoder.sample_rate(), encoder.sample_rate(), encoder.channels().max(1))?)
        };
        let frame = encoder.frame_samples().unwrap_or_else(|| encoder.sample_rate().samples_in(plan.dst_ptime)).max(1);
        let per_ch = MAX_DECODED / dec_channels;
        let ratio_up = encoder.sample_rate().hz().div_ceil(decoder.sample_rate().hz().max(1)) as usize;
        let resampled_cap = (per_ch * ratio_up + 4800) * enc_channels;
        Ok(Chain {
            decoded: vec![0; MAX_DECODED],
            adapted: vec![0; per_ch * enc_channels],
            resampled: vec![0; resampled_cap],
            fifo: VecDeque::with_capacity(resampled_cap + frame * enc_channels * 2),
            frame_buf: vec![0; frame * enc_channels],
            decoder,
            encoder,
            resampler,
            dec_channels,
            enc_channels,
            frame,
        })
    }

    /// A transcoder for the cheapest path from `src` to `dst` (see
    /// [`CodecRegistry::translation_path`]).
    ///
    /// Errors: as [`CodecRegistry::translation_path`] and [`Transcoder::new`].
    pub fn between(
        registry: &CodecRegistry,
        src: &crate::rtp::PayloadFormat,
        dst: &crate::rtp::PayloadFormat,
    ) -> Result<Self, CodecError> {
        Self::new(registry, &registry.translation_path(src, dst)?)
    }

    /// The path this transcoder runs.
    pub fn path(&self) -> &TranslationPath {
        &self.path
    }

    /// Duration of each payload [`Self::pull`] returns (the destination ptime).
    pub fn frame_duration(&self) -> Duration {
        self.dst_ptime
    }

    /// Hands in one received payload.
    ///
    /// Errors: the decoder's (drop the packet and go on: the transcoder stays usable).
    pub fn push(&mut self, payload: &[u8]) -> Result<(), CodecError> {
        match &mut self.mode {
            Mode::Passthrough { bytes, lens } => {
                bytes.extend(payload);
                lens.push_back(payload.len());
                Ok(())
            }
            Mode::Transcode(c) => {
                let n = c.decoder.decode(payload, &mut c.decoded)?;
                c.queue(n)
            }
        }
    }

    /// Hands in a lost frame of `samples_per_channel` samples at the decoder's rate: the
    /// decoder conceals it. In passthrough nothing is sent for it (the far end conceals).
    ///
    /// Errors: the decoder's.
    pub fn push_lost(&mut self, samples_per_channel: usize) -> Result<(), CodecError> {
        match &mut self.mode {
            Mode::Passthrough { .. } => Ok(()),
            Mode::Transcode(c) => {
                let n = samples_per_channel.min(MAX_DECODED / c.dec_channels);
                let n = c.decoder.conceal(n, &mut c.decoded)?;
                c.queue(n)
            }
        }
    }

    /// The next payload to send, written to `out`: `Ok(Some(len))`, or `Ok(None)` when not
    /// enough audio has been pushed for a whole destination frame. Pull until `None` after
    /// every push.
    ///
    /// Errors: [`CodecError::BufferTooSmall`] (nothing is lost: pull again with a larger
    /// buffer); the encoder's.
    pub fn pull(&mut self, out: &mut [u8]) -> Result<Option<usize>, CodecError> {
        match &mut self.mode {
            Mode::Passthrough { bytes, lens } => {
                let Some(&len) = lens.front() else { return Ok(None) };
                if out.len() < len {
                    return Err(CodecError::BufferTooSmall { needed: len, available: out.len() });
                }
                for (o, b) in out.iter_mut().zip(bytes.drain(..len)) {
                    *o = b;
                }
                lens.pop_front();
                Ok(Some(len))
            }
            Mode::Transcode(c) => {
                let n = c.frame * c.enc_channels;
                if c.fifo.len() < n {
                    return Ok(None);
                }
                for (d, s) in c.frame_buf.iter_mut().zip(c.fifo.iter()) {
                    *d = *s;
                }
                let len = c.encoder.encode(&c.frame_buf, out)?;
                c.fifo.drain(..n);
                Ok(Some(len))
            }
        }
    }
}

impl Chain {
    /// Adapts channels, resamples and queues `n` decoded samples per channel.
    fn queue(&mut self, n: usize) -> Result<(), CodecError> {
        let (dc, ec) = (self.dec_channels, self.enc_channels);
        let n = n.min(self.adapted.len() / ec);
        for (i, dst) in self.adapted[..n * ec].chunks_exact_mut(ec).enumerate() {
            let src = &self.decoded[i * dc..(i + 1) * dc];
            if ec == 1 {
                let sum: i32 = src.iter().map(|&s| i32::from(s)).sum();
                // The mean of i16 values fits in i16.
                dst[0] = (sum / dc as i32) as i16;
            } else {
                for (k, d) in dst.iter_mut().enumerate() {
                    *d = if dc == 1 { src[0] } else { src.get(k).copied().unwrap_or(0) };
                }
            }
        }
        let pcm = match self.resampler.as_mut() {
            None => &self.adapted[..n * ec],
            Some(r) => {
                let m = r.process(&self.adapted[..n * ec], &mut self.resampled)?;
                &self.resampled[..m * ec]
            }
        };
        self.fifo.extend(pcm.iter().copied());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::ClockRate;
    use crate::rtp::{PayloadFormat, PayloadType};

    #[test]
    fn passthrough_returns_payloads_unchanged_in_order() {
        let reg = CodecRegistry::with_builtin();
        let pcma = PayloadFormat::new(PayloadType(8), "PCMA", ClockRate::HZ_8000, 1);
        let mut t = Transcoder::between(&reg, &pcma, &pcma).expect("passthrough");
        assert!(t.path().is_passthrough());
        t.push(&[1, 2, 3]).expect("queued");
        t.push(&[4, 5]).expect("queued");
        t.push_lost(160).expect("nothing to do");
        let mut out = [0u8; 8];
        assert_eq!(t.pull(&mut out[..2]), Err(CodecError::BufferTooSmall { needed: 3, available: 2 }));
        assert_eq!(t.pull(&mut out), Ok(Some(3)));
        assert_eq!(&out[..3], &[1, 2, 3]);
        assert_eq!(t.pull(&mut out), Ok(Some(2)));
        assert_eq!(&out[..2], &[4, 5]);
        assert_eq!(t.pull(&mut out), Ok(None));
    }

    #[test]
    fn reframes_20ms_pcmu_into_30ms_pcma() {
        let reg = CodecRegistry::with_builtin();
        let pcmu = PayloadFormat::new(PayloadType(0), "PCMU", ClockRate::HZ_8000, 1);
        let mut pcma = PayloadFormat::new(PayloadType(8), "PCMA", ClockRate::HZ_8000, 1);
        pcma.fmtp = Some("ptime=30".into());
        let mut t = Transcoder::between(&reg, &pcmu, &pcma).expect("transcode");
        assert_eq!(t.frame_duration(), Duration::from_millis(30));
        let mut out = [0u8; 512];
        let mut sizes = Vec::new();
        for _ in 0..6 {
            t.push(&[0xFF; 160]).expect("decode");
            while let Some(n) = t.pull(&mut out).expect("encode") {
                sizes.push(n);
            }
        }
        assert_eq!(sizes, vec![240; 4], "120 ms in, four 30 ms payloads out");
        assert!(out[..240].iter().all(|&b| b == 0xD5), "µ-law silence becomes A-law silence");
    }
}
