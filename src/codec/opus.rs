//! Opus (RFC 6716) through libopus (the `opus` crate over `opusic-sys`).
//!
//! PCM is signed 16-bit, interleaved L R L R … for stereo; every count is samples
//! per channel at the codec's sampling rate (8, 12, 16, 24 or 48 kHz). On RTP the
//! Opus clock is always 48 kHz (RFC 7587 §4.1) whatever rate the codec runs at,
//! and Ogg Opus pre-skip and granule positions are 48 kHz samples (RFC 7845 §4).
//!
//! Every libopus error comes back as [`CodecError::Opus`]; after one from
//! [`OpusDecoder`] drop the packet and go on, the decoder stays usable.

use super::{CodecError, Decoder, Encoder};
use crate::audio::SampleRate;
use std::time::Duration;

/// Largest payload passed to libopus: 120 ms of 2.5 ms frames at the 1275-byte
/// frame limit of RFC 6716 §3.4 R2 fits well below this.
const MAX_PAYLOAD: usize = 1 << 16;
/// Output buffer size handed to `opus_encode` (the libopus documentation's recommended 4000 bytes).
const MAX_ENCODED: usize = 4000;
/// Frame durations an encoder accepts (RFC 6716 §2.1.4), in µs.
const FRAME_DURATIONS_US: [u64; 6] = [2_500, 5_000, 10_000, 20_000, 40_000, 60_000];

pub(super) fn opus_err(e: opus::Error) -> CodecError {
    CodecError::Opus(e.to_string())
}

fn dnn_err(e: jyqq_opus_dnn::OpusError) -> CodecError {
    CodecError::Opus(e.to_string())
}

pub(super) fn supported_rate(rate: SampleRate) -> Result<u32, CodecError> {
    match rate.hz() {
        hz @ (8000 | 12_000 | 16_000 | 24_000 | 48_000) => Ok(hz),
        hz => Err(CodecError::Unsupported(format!("Opus sampling rate {hz} Hz (8, 12, 16, 24 or 48 kHz)"))),
    }
}

fn opus_channels(channels: u8) -> Result<opus::Channels, CodecError> {
    match channels {
        1 => Ok(opus::Channels::Mono),
        2 => Ok(opus::Channels::Stereo),
        n => Err(CodecError::Unsupported(format!("{n} Opus channels (1 or 2)"))),
    }
}

/// The libopus application mode (`OPUS_APPLICATION_*`), which biases the encoder's choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OpusApplication {
    /// `OPUS_APPLICATION_VOIP`: speech intelligibility first (the default).
    #[default]
    Voip,
    /// `OPUS_APPLICATION_AUDIO`: fidelity to the input (music, recordings).
    Audio,
    /// `OPUS_APPLICATION_RESTRICTED_LOWDELAY`: CELT only, lowest algorithmic delay
    /// (2.5 ms lookahead instead of 6.5 ms).
    LowDelay,
}

/// Settings of an [`OpusEncoder`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpusEncoderConfig {
    /// Input sampling rate: 8, 12, 16, 24 or 48 kHz. Default 48 kHz.
    pub sample_rate: SampleRate,
    /// Input channels: 1 (mono) or 2 (stereo, interleaved L/R). Default 1.
    pub channels: u8,
    /// Application mode. Default [`OpusApplication::Voip`].
    pub application: OpusApplication,
    /// Target bitrate in bit/s (500..=512 000), or `None` for libopus' automatic
    /// choice (`OPUS_AUTO`). Default `None`.
    pub bitrate_bps: Option<u32>,
    /// Computational complexity 0..=10 (`OPUS_SET_COMPLEXITY`). Default 5, a
    /// common VoIP server trade-off (libopus' own default is higher).
    pub complexity: u8,
    /// Frame duration (ptime of one Opus frame): 2.5, 5, 10, 20, 40 or 60 ms. Default 20 ms.
    pub frame: Duration,
    /// In-band forward error correction (LBRR, SILK and hybrid modes only;
    /// `OPUS_SET_INBAND_FEC`). libopus only spends bits on it when
    /// [`packet_loss_perc`](Self::packet_loss_perc) is above 0. Default off.
    pub inband_fec: bool,
    /// Expected packet loss in percent 0..=100 (`OPUS_SET_PACKET_LOSS_PERC`). Default 0.
    pub packet_loss_perc: u8,
    /// Discontinuous transmission (`OPUS_SET_DTX`): in silence the encoder emits
    /// 1–2 byte packets that carry no audio. Default off.
    pub dtx: bool,
}

impl Default for OpusEncoderConfig {
    fn default() -> Self {
        OpusEncoderConfig {
            sample_rate: SampleRate::HZ_48000,
            channels: 1,
            application: OpusApplication::Voip,
            bitrate_bps: None,
            complexity: 5,
            frame: Duration::from_millis(20),
            inband_fec: false,
            packet_loss_perc: 0,
            dtx: false,
        }
    }
}

impl OpusEncoderConfig {
    /// The default settings at `sample_rate` with `channels` channels.
    pub fn new(sample_rate: SampleRate, channels: u8) -> Self {
        OpusEncoderConfig { sample_rate, channels, ..Self::default() }
    }
}

/// An Opus encoder: one frame of interleaved 16-bit PCM in, one Opus packet (an RTP
/// payload, RFC 7587) out.
#[derive(Debug)]
pub struct OpusEncoder {
    inner: opus::Encoder,
    config: OpusEncoderConfig,
    frame_samples: usize,
    lookahead: usize,
}

impl OpusEncoder {
    /// Creates an encoder.
    ///
    /// Errors: [`CodecError::Unsupported`] for a rate, channel count, frame duration,
    /// bitrate, complexity or loss percentage outside the documented ranges;
    /// [`CodecError::Opus`] when libopus refuses.
    pub fn new(config: OpusEncoderConfig) -> Result<OpusEncoder, CodecError> {
        let hz = supported_rate(config.sample_rate)?;
        let channels = opus_channels(config.channels)?;
        let frame_us = u64::try_from(config.frame.as_micros()).unwrap_or(u64::MAX);
        if config.frame.subsec_nanos() % 1000 != 0 || !FRAME_DURATIONS_US.contains(&frame_us) {
            return Err(CodecError::Unsupported(format!(
                "Opus frame of {:?} (2.5, 5, 10, 20, 40 or 60 ms)",
                config.frame
            )));
        }
        // 2.5 ms at 8 kHz is 20 samples: every allowed duration is whole at every allowed rate.
        let frame_samples = usize::try_from(u64::from(hz) * frame_us / 1_000_000).unwrap_or(usize::MAX);
        if config.complexity > 10 {
            return Err(CodecError::Unsupported(format!("Opus complexity {} (0..=10)", config.complexity)));
        }
        if config.packet_loss_perc > 100 {
            return Err(CodecError::Unsupported(format!("packet loss {}% (0..=100)", config.packet_loss_perc)));
        }
        let bitrate = match config.bitrate_bps {
            None => opus::Bitrate::Auto,
            Some(b @ 500..=512_000) => opus::Bitrate::Bits(i32::try_from(b).unwrap_or(512_000)),
            Some(b) => return Err(CodecError::Unsupported(format!("Opus bitrate {b} bit/s (500..=512000)"))),
        };
        let app = match config.application {
            OpusApplication::Voip => opus::Application::Voip,
            OpusApplication::Audio => opus::Application::Audio,
            OpusApplication::LowDelay => opus::Application::LowDelay,
        };
        let mut inner = opus::Encoder::new(hz, channels, app).map_err(opus_err)?;
        inner.set_bitrate(bitrate).map_err(opus_err)?;
        inner.set_complexity(i32::from(config.complexity)).map_err(opus_err)?;
        inner.set_inband_fec(config.inband_fec).map_err(opus_err)?;
        inner.set_packet_loss_perc(i32::from(config.packet_loss_perc)).map_err(opus_err)?;
        inner.set_dtx(config.dtx).map_err(opus_err)?;
        let lookahead = inner.get_lookahead().map_err(opus_err)?;
        let lookahead =
            usize::try_from(lookahead).map_err(|_| CodecError::Opus(format!("negative lookahead {lookahead}")))?;
        Ok(OpusEncoder { inner, config, frame_samples, lookahead })
    }

    /// The settings this encoder was created with.
    pub fn config(&self) -> &OpusEncoderConfig {
        &self.config
    }

    /// Samples per channel in one frame (e.g. 960 for 20 ms at 48 kHz).
    pub fn frame_samples(&self) -> usize {
        self.frame_samples
    }

    /// The encoder's algorithmic delay (`OPUS_GET_LOOKAHEAD`) in samples per channel
    /// at the encoder's sampling rate: the decoded signal lags the input by this much.
    pub fn lookahead_samples(&self) -> usize {
        self.lookahead
    }

    /// The lookahead as 48 kHz samples: the pre-skip to write in an Ogg Opus
    /// `OpusHead` (RFC 7845 §4.2, §5.1) for a stream from this encoder. 312 for
    /// libopus' VoIP and Audio modes (6.5 ms), 120 for LowDelay (2.5 ms).
    pub fn pre_skip_48k(&self) -> u16 {
        let hz = self.config.sample_rate.hz().max(1);
        let samples = self.lookahead as u64 * 48_000 / u64::from(hz);
        u16::try_from(samples).unwrap_or(u16::MAX)
    }

    /// Encodes exactly one frame: `pcm` holds [`Self::frame_samples`] samples per
    /// channel, interleaved. Writes one Opus packet to `out` and returns its length
    /// in bytes. A buffer under ~1275 bytes per 20 ms makes libopus lower the
    /// bitrate to fit; 4000 bytes always suffice.
    ///
    /// Errors: [`CodecError::BadLength`] when `pcm.len()` is not one frame,
    /// [`CodecError::BufferTooSmall`] when `out` is empty, [`CodecError::Opus`].
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        if pcm.len() != self.frame_samples * usize::from(self.config.channels) {
            return Err(CodecError::BadLength(pcm.len()));
        }
        if out.is_empty() {
            return Err(CodecError::BufferTooSmall { needed: 1, available: 0 });
        }
        let limit = out.len().min(MAX_ENCODED);
        self.inner.encode(pcm, &mut out[..limit]).map_err(opus_err)
    }
}

impl Encoder for OpusEncoder {
    fn sample_rate(&self) -> SampleRate {
        self.config.sample_rate
    }

    fn channels(&self) -> u8 {
        self.config.channels
    }

    /// See [`OpusEncoder::encode`].
    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        OpusEncoder::encode(self, pcm, out)
    }

    /// See [`OpusEncoder::frame_samples`].
    fn frame_samples(&self) -> Option<usize> {
        Some(self.frame_samples)
    }
}

/// Largest payload counted as a DTX frame: libopus' DTX and comfort-noise refresh
/// frames carry at most 2 bytes of frame data after the TOC (the jitter buffer's
/// `dtx_max_payload` rule, 3 bytes, is the same).
pub const OPUS_DTX_MAX_PAYLOAD: usize = 3;

/// Whether an Opus payload is a DTX frame (1–3 bytes: a TOC byte and at most 2 bytes of
/// frame data, RFC 7587 §3.1.3): it decodes to comfort noise / silence, and the timestamp
/// gap that follows it is a silence period, not packet loss.
pub fn is_opus_dtx(payload: &[u8]) -> bool {
    !payload.is_empty() && payload.len() <= OPUS_DTX_MAX_PAYLOAD
}

/// Whether the first Opus frame of `payload` carries in-band FEC (SILK LBRR data
/// for the frame before it), read from the SILK header bits as libopus'
/// `opus_packet_has_lbrr` does. `false` for CELT-only and unparsable packets.
pub fn has_inband_fec(payload: &[u8]) -> bool {
    let Some(&toc) = payload.first() else {
        return false;
    };
    if payload.len() > MAX_PAYLOAD || toc >> 3 >= 16 {
        return false; // CELT-only configurations 16..=31 never carry LBRR (RFC 6716 §3.1).
    }
    let Ok(parsed) = opus::packet::parse(payload) else {
        return false;
    };
    let Some(first) = parsed.frames.first().and_then(|f| f.first()) else {
        return false;
    };
    // SILK frames per Opus frame: 1 for 10/20 ms, 2 for 40 ms, 3 for 60 ms.
    let nb_silk = match opus::packet::get_samples_per_frame(payload, 48_000) {
        Ok(spf) if spf > 960 => spf / 960,
        Ok(_) => 1,
        Err(_) => return false,
    };
    let stereo = toc & 0x04 != 0;
    let mid = (first >> (7 - nb_silk)) & 1 != 0;
    let side = stereo && (first >> (6 - 2 * nb_silk)) & 1 != 0;
    mid || side
}

/// An Opus decoder: Opus packets in, interleaved 16-bit PCM out at any of the
/// Opus sampling rates (libopus resamples internally), with libopus' concealment —
/// the deep-learning PLC by default ([`OpusDecoder::DEFAULT_COMPLEXITY`]) — and in-band
/// FEC recovery. libopus is reached through the `crates/jyqq-opus-dnn` sub-crate, which
/// exposes the decoder complexity the `opus` crate does not.
#[derive(Debug)]
pub struct OpusDecoder {
    inner: jyqq_opus_dnn::Decoder,
    rate: SampleRate,
    channels: u8,
    /// One 2.5 ms step of stereo 48 kHz audio, for concealment lengths that are not
    /// a multiple of 2.5 ms.
    scratch: [i16; 240],
}

impl OpusDecoder {
    /// Creates a decoder producing `channels` (1 or 2) channels at `rate`
    /// (8, 12, 16, 24 or 48 kHz). Packets of either channel count decode to it.
    ///
    /// Errors: [`CodecError::Unsupported`], [`CodecError::Opus`].
    pub fn new(rate: SampleRate, channels: u8) -> Result<OpusDecoder, CodecError> {
        let hz = supported_rate(rate)?;
        opus_channels(channels)?;
        let mut inner = jyqq_opus_dnn::Decoder::new(hz, channels).map_err(dnn_err)?;
        inner.set_complexity(i32::from(Self::DEFAULT_COMPLEXITY)).map_err(dnn_err)?;
        Ok(OpusDecoder { inner, rate, channels, scratch: [0; 240] })
    }

    /// The decoder complexity a new decoder uses: 5, libopus' deep-learning packet-loss
    /// concealment (libopus ≥ 1.5 `dnn/`: a neural network predicts the lost frames' speech
    /// features and FARGAN synthesises them). It runs only while concealing. Chosen by the
    /// PESQ bench (benches/quality/README.md): against the classic PLC (0) it raised Opus
    /// wide-band PESQ on jitter with spikes from 3.763 to 3.842 and on 3 % loss from 4.198 to
    /// 4.210; 7 (also the NoLACE speech enhancement on every frame) scored higher on random
    /// loss but lower on jitter (3.729) and costs CPU on every frame.
    pub const DEFAULT_COMPLEXITY: u8 = 5;

    /// Sets the decoder complexity, 0–10 (libopus `OPUS_SET_COMPLEXITY` on a decoder):
    /// 0–4 the classic concealment, 5 the deep PLC, 6 and 7 also the OSCE speech
    /// enhancement of decoded SILK (LACE, NoLACE).
    ///
    /// Errors: [`CodecError::Unsupported`] above 10.
    pub fn set_complexity(&mut self, complexity: u8) -> Result<(), CodecError> {
        if complexity > 10 {
            return Err(CodecError::Unsupported(format!("Opus decoder complexity {complexity} (0–10)")));
        }
        self.inner.set_complexity(i32::from(complexity)).map_err(dnn_err)
    }

    /// The decoder complexity in force.
    pub fn complexity(&mut self) -> u8 {
        self.inner.complexity().ok().and_then(|c| u8::try_from(c).ok()).unwrap_or(0)
    }

    fn step(&self) -> usize {
        // 2.5 ms: libopus' granularity for concealment and FEC.
        self.rate.hz() as usize / 400
    }

    fn check_payload(payload: &[u8]) -> Result<(), CodecError> {
        if payload.is_empty() {
            return Err(CodecError::Corrupt("empty Opus payload".into()));
        }
        if payload.len() > MAX_PAYLOAD {
            return Err(CodecError::Corrupt(format!("Opus payload of {} bytes", payload.len())));
        }
        Ok(())
    }

    fn check_out(&self, samples_per_channel: usize, out: &[i16]) -> Result<usize, CodecError> {
        let needed = samples_per_channel.saturating_mul(usize::from(self.channels));
        if out.len() < needed {
            return Err(CodecError::BufferTooSmall { needed, available: out.len() });
        }
        Ok(needed)
    }

    /// Samples per channel in `payload` at the decoder's rate, from its TOC byte and
    /// frame count (RFC 6716 §3.1–3.2, frame-count codes 0–3), or `None` when the
    /// header is invalid or describes more than 120 ms. Frame lengths are not checked.
    pub fn samples_in(&self, payload: &[u8]) -> Option<usize> {
        if payload.is_empty() || payload.len() > MAX_PAYLOAD {
            return None;
        }
        opus::packet::get_nb_samples(payload, self.rate.hz()).ok()
    }

    /// Decodes one Opus packet into `out` (interleaved), returning samples per channel.
    ///
    /// Errors: [`CodecError::Corrupt`] for an empty or oversized payload,
    /// [`CodecError::BufferTooSmall`] when `out` cannot hold the packet,
    /// [`CodecError::Opus`] when libopus rejects the packet (drop it and go on).
    pub fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        Self::check_payload(payload)?;
        let n = opus::packet::get_nb_samples(payload, self.rate.hz()).map_err(opus_err)?;
        let needed = self.check_out(n, out)?;
        self.inner.decode(Some(payload), &mut out[..needed], false).map_err(dnn_err)
    }

    /// Conceals `samples_per_channel` lost samples with libopus' PLC (a decode with no
    /// packet), returning that count. libopus works in 2.5 ms steps; for other lengths
    /// the last step is concealed in full and its tail discarded.
    ///
    /// Errors: [`CodecError::BufferTooSmall`], [`CodecError::Opus`].
    pub fn conceal(&mut self, samples_per_channel: usize, out: &mut [i16]) -> Result<usize, CodecError> {
        self.check_out(samples_per_channel, out)?;
        let ch = usize::from(self.channels);
        let step = self.step();
        // Chunks of at most 120 ms keep every libopus call small.
        let max_chunk = step * 48;
        let whole = samples_per_channel - samples_per_channel % step;
        let mut done = 0;
        while done < whole {
            let n = (whole - done).min(max_chunk);
            let got = self.inner.decode(None, &mut out[done * ch..(done + n) * ch], false).map_err(dnn_err)?;
            if got != n {
                return Err(CodecError::Opus(format!("PLC returned {got} of {n} samples")));
            }
            done += n;
        }
        let rest = samples_per_channel - whole;
        if rest > 0 {
            let scratch = &mut self.scratch[..step * ch];
            self.inner.decode(None, scratch, false).map_err(dnn_err)?;
            out[whole * ch..samples_per_channel * ch].copy_from_slice(&scratch[..rest * ch]);
        }
        Ok(samples_per_channel)
    }

    /// Recovers a lost frame of `samples_per_channel` samples (a multiple of 2.5 ms,
    /// normally the lost packet's duration) from the in-band FEC of `next_payload`,
    /// the packet that followed the loss (RFC 6716 §2.1.7). Decode `next_payload`
    /// normally afterwards. libopus falls back to PLC when the packet has no FEC
    /// (see [`has_inband_fec`]); when the lost span is longer than one frame only its
    /// last frame is recovered, the rest concealed.
    ///
    /// Errors: [`CodecError::BadLength`] when the length is not a multiple of 2.5 ms
    /// or is over 120 ms, [`CodecError::Corrupt`], [`CodecError::BufferTooSmall`],
    /// [`CodecError::Opus`].
    pub fn decode_fec(
        &mut self,
        next_payload: &[u8],
        samples_per_channel: usize,
        out: &mut [i16],
    ) -> Result<usize, CodecError> {
        Self::check_payload(next_payload)?;
        let step = self.step();
        if samples_per_channel == 0 || samples_per_channel % step != 0 || samples_per_channel > step * 48 {
            return Err(CodecError::BadLength(samples_per_channel));
        }
        let needed = self.check_out(samples_per_channel, out)?;
        self.inner.decode(Some(next_payload), &mut out[..needed], true).map_err(dnn_err)
    }
}

impl Decoder for OpusDecoder {
    fn sample_rate(&self) -> SampleRate {
        self.rate
    }

    fn channels(&self) -> u8 {
        self.channels
    }

    /// See [`OpusDecoder::decode`].
    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        OpusDecoder::decode(self, payload, out)
    }

    /// See [`OpusDecoder::conceal`].
    fn conceal(&mut self, samples_per_channel: usize, out: &mut [i16]) -> Result<usize, CodecError> {
        OpusDecoder::conceal(self, samples_per_channel, out)
    }

    /// See [`OpusDecoder::samples_in`].
    fn samples_in(&self, payload: &[u8]) -> Option<usize> {
        OpusDecoder::samples_in(self, payload)
    }

    /// See [`OpusDecoder::decode_fec`].
    fn decode_fec(
        &mut self,
        next_payload: &[u8],
        samples_per_channel: usize,
        out: &mut [i16],
    ) -> Result<usize, CodecError> {
        OpusDecoder::decode_fec(self, next_payload, samples_per_channel, out)
    }

    /// See [`has_inband_fec`].
    fn has_fec(&self, payload: &[u8]) -> bool {
        has_inband_fec(payload)
    }

    /// See [`is_opus_dtx`].
    fn is_dtx(&self, payload: &[u8]) -> bool {
        is_opus_dtx(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lbrr_flag_is_read_from_the_silk_header() {
        // TOC config 1 (SILK NB 20 ms), code 0; first SILK bits: VAD, then LBRR.
        assert!(has_inband_fec(&[0x08, 0x40]));
        assert!(!has_inband_fec(&[0x08, 0x80]));
        // Stereo: the side channel's LBRR flag is bit 4.
        assert!(has_inband_fec(&[0x0C, 0x10]));
        assert!(!has_inband_fec(&[0x0C, 0xA0]));
        // SILK 40 ms (config 2): two VAD flags, LBRR is bit 5.
        assert!(has_inband_fec(&[0x10, 0x20]));
        assert!(!has_inband_fec(&[0x10, 0x40]));
        // Hybrid (config 12) carries SILK first too; CELT (config 31) never has LBRR.
        assert!(has_inband_fec(&[0x60, 0x40]));
        assert!(!has_inband_fec(&[0xF8, 0xFF]));
        assert!(!has_inband_fec(&[]));
        assert!(!has_inband_fec(&[0x08]), "no frame data");
    }

    #[test]
    fn config_new_keeps_the_defaults() {
        let cfg = OpusEncoderConfig::new(SampleRate::HZ_16000, 2);
        assert_eq!((cfg.sample_rate, cfg.channels), (SampleRate::HZ_16000, 2));
        assert_eq!(cfg.frame, Duration::from_millis(20));
        assert_eq!((cfg.application, cfg.complexity), (OpusApplication::Voip, 5));
        let enc = OpusEncoder::new(cfg).map(|e| (e.frame_samples(), e.lookahead_samples()));
        assert_eq!(enc, Ok((320, 104)));
    }

    #[test]
    fn decoder_rejects_empty_and_oversized_payloads() {
        let mut dec = OpusDecoder::new(SampleRate::HZ_48000, 1).expect("48 kHz mono is supported");
        let mut out = [0i16; 960];
        assert!(matches!(dec.decode(&[], &mut out), Err(CodecError::Corrupt(_))));
        let huge = vec![0x08u8; MAX_PAYLOAD + 1];
        assert!(matches!(dec.decode(&huge, &mut out), Err(CodecError::Corrupt(_))));
        assert_eq!(dec.samples_in(&huge), None);
        assert!(!has_inband_fec(&huge));
    }
}
