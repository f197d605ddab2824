//! Translation paths between two legs' payload formats, after Asterisk's translation matrix:
//! every path is decode → (resample) → encode, and among the sampling rates the two codecs
//! can run at, the cheapest is chosen by a cost that puts quality first (audio bandwidth
//! lost below what both ends could carry) and CPU second (the factories' [`CpuCost`]
//! figures plus the resampler's). When both legs use the same codec, clock rate, channels
//! and ptime and nothing is mixed in, the path is [`TranslationPath::Passthrough`].
//!
//! [`CpuCost`]: super::CpuCost

use super::opus_params::fmtp_ptime;
use super::registry::{unsupported, CodecDescriptor, CodecRegistry};
use super::CodecError;
use crate::audio::SampleRate;
use crate::rtp::PayloadFormat;
use std::time::Duration;

/// Resampler CPU cost in µs per second of audio per kHz of input plus output rate
/// (rubato FFT, measured by benches/codecs.rs: ~210 µs/s for 8 → 48 kHz, ~135 µs/s for 48 → 8 kHz).
pub const RESAMPLE_US_PER_S_PER_KHZ: u32 = 4;

/// One stage of a transcoding path.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TranslationStep {
    /// Decode the source payloads (codec `name/clock[/channels]`) to PCM at `rate`.
    Decode {
        /// The source codec as `name/clock[/channels]`.
        codec: String,
        /// PCM rate out of the decoder.
        rate: SampleRate,
    },
    /// Convert the PCM rate.
    Resample {
        /// Rate in.
        from: SampleRate,
        /// Rate out.
        to: SampleRate,
    },
    /// Re-cut the PCM into frames of the destination ptime (a small FIFO).
    Reframe {
        /// Source ptime.
        from: Duration,
        /// Destination ptime.
        to: Duration,
    },
    /// Encode PCM at `rate` into the destination payloads.
    Encode {
        /// The destination codec as `name/clock[/channels]`.
        codec: String,
        /// PCM rate into the encoder.
        rate: SampleRate,
    },
}

/// The cost of a path, compared quality first, then CPU (derived `Ord` is lexicographic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[non_exhaustive]
pub struct PathCost {
    /// Hz of audio bandwidth lost: the lower of the two codecs' native sampling rates
    /// minus the lowest PCM rate on the path (0 when the path keeps all the audio both ends carry).
    pub bandwidth_loss_hz: u32,
    /// Estimated CPU in µs per second of audio (decoder + resampler + encoder).
    pub cpu_us_per_s: u32,
}

/// A transcoding plan: the rates chosen and the stages.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TranscodePlan {
    /// The format received.
    pub src: PayloadFormat,
    /// The format sent.
    pub dst: PayloadFormat,
    /// PCM rate out of the decoder.
    pub decode_rate: SampleRate,
    /// PCM rate into the encoder.
    pub encode_rate: SampleRate,
    /// Packet duration of the source (fmtp `ptime`, else the codec's default).
    pub src_ptime: Duration,
    /// Packet duration to send (fmtp `ptime`, else the codec's default).
    pub dst_ptime: Duration,
    /// The stages in order.
    pub steps: Vec<TranslationStep>,
    /// The cost that chose this plan.
    pub cost: PathCost,
}

/// How payloads of one leg's format become payloads of another's.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TranslationPath {
    /// Same codec, clock rate, channels and ptime, nothing mixed in: forward payloads unchanged.
    Passthrough {
        /// The format on both legs (the source's).
        format: PayloadFormat,
    },
    /// Decode, resample if the rates differ, re-frame if the ptimes differ, encode.
    Transcode(TranscodePlan),
}

impl TranslationPath {
    /// Whether this is [`TranslationPath::Passthrough`].
    pub fn is_passthrough(&self) -> bool {
        matches!(self, TranslationPath::Passthrough { .. })
    }

    /// The plan, unless passing through.
    pub fn plan(&self) -> Option<&TranscodePlan> {
        match self {
            TranslationPath::Transcode(p) => Some(p),
            TranslationPath::Passthrough { .. } => None,
        }
    }

    /// Whether the path resamples.
    pub fn resamples(&self) -> bool {
        self.plan().is_some_and(|p| p.steps.iter().any(|s| matches!(s, TranslationStep::Resample { .. })))
    }
}

/// The packet duration a format uses: fmtp `ptime`, else the codec's default frame.
pub(crate) fn ptime_of(format: &PayloadFormat, d: &CodecDescriptor) -> Duration {
    fmtp_ptime(format.fmtp.as_deref()).unwrap_or(d.default_frame)
}

fn scaled(cost: u32, rate: SampleRate, native: SampleRate) -> u32 {
    u32::try_from(u64::from(cost) * u64::from(rate.hz()) / u64::from(native.hz().max(1))).unwrap_or(u32::MAX)
}

impl CodecRegistry {
    /// The cheapest path from payloads in `src` to payloads in `dst`, nothing mixed in
    /// (see [`Self::translation_path_mixed`]).
    ///
    /// Errors: [`CodecError::Unsupported`] when either format has no codec here.
    pub fn translation_path(&self, src: &PayloadFormat, dst: &PayloadFormat) -> Result<TranslationPath, CodecError> {
        self.translation_path_mixed(src, dst, false)
    }

    /// The cheapest path from `src` to `dst`. With `mixed` (other audio — whisper, prompts —
    /// is added to the PCM) the path always decodes and encodes, even for the same codec.
    ///
    /// Candidates are every (decoder rate, encoder rate) pair the two codecs support; the
    /// chosen one has the least [`PathCost`]: least bandwidth lost, then least CPU.
    ///
    /// Errors: [`CodecError::Unsupported`] when either format has no codec here.
    pub fn translation_path_mixed(
        &self,
        src: &PayloadFormat,
        dst: &PayloadFormat,
        mixed: bool,
    ) -> Result<TranslationPath, CodecError> {
        let sf = self.find_format(src).ok_or_else(|| unsupported(src))?;
        let df = self.find_format(dst).ok_or_else(|| unsupported(dst))?;
        let (sd, dd) = (sf.descriptor(), df.descriptor());
        let (src_ptime, dst_ptime) = (ptime_of(src, sd), ptime_of(dst, dd));
        let same_codec = src.encoding_name.eq_ignore_ascii_case(&dst.encoding_name)
            && src.clock_rate == dst.clock_rate
            && src.channels == dst.channels;
        if same_codec && src_ptime == dst_ptime && !mixed {
            return Ok(TranslationPath::Passthrough { format: src.clone() });
        }
        let ideal = sd.sample_rate().min(dd.sample_rate()).hz();
        let mut best: Option<(PathCost, SampleRate, SampleRate)> = None;
        for &dr in &sd.sample_rates {
            for &er in &dd.sample_rates {
                let bandwidth_loss_hz = ideal.saturating_sub(dr.min(er).hz());
                let resample = if dr == er { 0 } else { RESAMPLE_US_PER_S_PER_KHZ * (dr.hz() + er.hz()) / 1000 };
                let cpu_us_per_s = scaled(sd.cpu.decode_us_per_s, dr, sd.sample_rate())
                    .saturating_add(resample)
                    .saturating_add(scaled(dd.cpu.encode_us_per_s, er, dd.sample_rate()));
                let cost = PathCost { bandwidth_loss_hz, cpu_us_per_s };
                if best.map_or(true, |(b, _, _)| cost < b) {
                    best = Some((cost, dr, er));
                }
            }
        }
        let (cost, decode_rate, encode_rate) = best.ok_or_else(|| {
            CodecError::Unsupported(format!("no sampling rate declared by {} or {}", sd.rtpmap(), dd.rtpmap()))
        })?;
        let mut steps = vec![TranslationStep::Decode { codec: sd.rtpmap(), rate: decode_rate }];
        if decode_rate != encode_rate {
            steps.push(TranslationStep::Resample { from: decode_rate, to: encode_rate });
        }
        if src_ptime != dst_ptime {
            steps.push(TranslationStep::Reframe { from: src_ptime, to: dst_ptime });
        }
        steps.push(TranslationStep::Encode { codec: dd.rtpmap(), rate: encode_rate });
        Ok(TranslationPath::Transcode(TranscodePlan {
            src: src.clone(),
            dst: dst.clone(),
            decode_rate,
            encode_rate,
            src_ptime,
            dst_ptime,
            steps,
            cost,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::ClockRate;
    use crate::rtp::PayloadType;

    fn f(pt: u8, name: &str, hz: u32, ch: u8) -> PayloadFormat {
        PayloadFormat::new(PayloadType(pt), name, ClockRate::new(hz), ch)
    }

    #[test]
    fn same_codec_passes_through_unless_mixed_or_ptime_differs() {
        let reg = CodecRegistry::with_builtin();
        let pcmu = f(0, "PCMU", 8000, 1);
        assert!(reg.translation_path(&pcmu, &pcmu).expect("path").is_passthrough());
        assert!(!reg.translation_path_mixed(&pcmu, &pcmu, true).expect("path").is_passthrough());
        let mut opus40 = f(111, "opus", 48_000, 2);
        opus40.fmtp = Some("ptime=40".into());
        let opus = f(96, "OPUS", 48_000, 2);
        assert!(reg.translation_path(&opus, &f(111, "opus", 48_000, 2)).expect("path").is_passthrough());
        let p = reg.translation_path(&opus, &opus40).expect("path");
        let plan = p.plan().expect("transcode");
        assert!(plan
            .steps
            .contains(&TranslationStep::Reframe { from: Duration::from_millis(20), to: Duration::from_millis(40) }));
        assert!(!p.resamples(), "Opus to Opus at one rate");
    }

    #[test]
    fn rates_are_chosen_quality_first_then_cpu() {
        let reg = CodecRegistry::with_builtin();
        // PCMU -> Opus: encode Opus at 8 kHz (no resampler, cheapest, nothing lost).
        let p = reg.translation_path(&f(0, "PCMU", 8000, 1), &f(111, "opus", 48_000, 2)).expect("path");
        let plan = p.plan().expect("transcode");
        assert_eq!((plan.decode_rate.hz(), plan.encode_rate.hz()), (8000, 8000));
        assert_eq!(plan.cost.bandwidth_loss_hz, 0);
        // Opus -> L16/16000: decode Opus at 16 kHz directly.
        let p = reg.translation_path(&f(111, "opus", 48_000, 2), &f(97, "L16", 16_000, 1)).expect("path");
        assert_eq!(p.plan().map(|p| (p.decode_rate.hz(), p.encode_rate.hz())), Some((16_000, 16_000)));
        // PCMU <-> L16/16000 needs a resampler both ways, and loses nothing.
        for (a, b) in
            [(f(0, "PCMU", 8000, 1), f(97, "L16", 16_000, 1)), (f(97, "L16", 16_000, 1), f(0, "PCMU", 8000, 1))]
        {
            let p = reg.translation_path(&a, &b).expect("path");
            assert!(p.resamples(), "{a:?} -> {b:?}");
            assert_eq!(p.plan().map(|p| p.cost.bandwidth_loss_hz), Some(0));
        }
        // G.722 -> PCMU resamples 16 -> 8 kHz; G.722 -> Opus decodes and encodes at 16 kHz.
        let g722 = f(9, "G722", 8000, 1);
        assert!(reg.translation_path(&g722, &f(0, "PCMU", 8000, 1)).expect("path").resamples());
        let p = reg.translation_path(&g722, &f(111, "opus", 48_000, 2)).expect("path");
        assert_eq!(p.plan().map(|p| (p.decode_rate.hz(), p.encode_rate.hz())), Some((16_000, 16_000)));
        // Opus -> L16/48000: full band kept (decoding Opus at 8 kHz would lose 40 kHz).
        let p = reg.translation_path(&f(111, "opus", 48_000, 2), &f(99, "L16", 48_000, 1)).expect("path");
        assert_eq!(p.plan().map(|p| p.decode_rate.hz()), Some(48_000));
        assert!(matches!(
            reg.translation_path(&f(18, "G729", 8000, 1), &f(0, "PCMU", 8000, 1)),
            Err(CodecError::Unsupported(_))
        ));
    }
}
