//! Call analysis: who spoke, which keys were pressed, whether audio went one way only,
//! whether the far end bridged in a third party, how good each leg was, and what to bill.
//! The engine computes and reports, with host timestamps and scores; decisions stay with
//! the host (DESIGN §2).
//!
//! - [`VoiceDetector`]: WebRTC VAD (libfvad through `fvad`) with floor, hangover and
//!   minimum-speech smoothing; talk time and talkspurts per leg, double-talk per call.
//! - DTMF: [`TelephoneEventReceiver`] (RFC 4733, one digit per event, own clock rate),
//!   [`InbandDtmfDetector`] (Goertzel, ITU-T Q.23/Q.24, talk-off guard); generation with
//!   [`TelephoneEventSender`] and [`InbandDtmfGenerator`].
//! - [`Meter`] / [`BillingPolicy`]: answer, end, cause, units and charge in fen.
//! - [`Alarms`]: long silence, one-way audio, media timeout.
//! - Three-way signals: [`FlashDetector`], [`ProgressToneDetector`], [`NoiseFloor`].
//! - [`QualityMeter`]: RFC 3550 jitter and loss, concealment, playout delay, G.107 E-model.
//! - [`CallAnalyzer`]: all of the above for a two-leg call, emitting [`AnalysisEvent`]s and a
//!   serde-serialisable [`CdrSummary`].
//!
//! Levels are in dBm0 with a full-scale 16-bit sine at +3.14 dBm0 (see [`level`]). Every
//! detector below the VAD runs on 8 kHz (other rates are decimated by [`Decimator`]).

#![forbid(unsafe_code)]

mod alarms;
mod call;
mod cdr;
mod config;
mod decimate;
mod dtmf;
mod dtmf_gen;
mod dtmf_inband;
mod dtmf_rtp;
mod emodel;
mod event;
mod flash;
mod leg;
pub mod level;
mod metering;
mod noise;
mod progress;
mod quality;
mod vad;

pub use alarms::{AlarmChange, AlarmConfig, AlarmKind, Alarms};
pub use call::{CallAnalyzer, MAX_CDR_RECORDS, MAX_PENDING_EVENTS};
pub use cdr::{AlarmRecord, CdrSummary, DigitRecord, LegSummary, SignalRecord};
pub use config::{AnalysisConfig, DtmfConfig, InbandMode, QualityConfig, ThreeWayConfig};
pub use decimate::{Decimator, ANALYSIS_RATE, MAX_BLOCK};
pub use dtmf::{DtmfDigit, TelephoneEvent, COL_HZ, ROW_HZ};
pub use dtmf_gen::{dtmf_sequence, dtmf_tone, EventPacket, InbandDtmfGenerator, TelephoneEventSender, MAX_QUEUED_KEYS};
pub use dtmf_inband::{InbandDtmfConfig, InbandDtmfDetector, BLOCK as DTMF_BLOCK};
pub use dtmf_rtp::{DetectedDigit, TelephoneEventCounters, TelephoneEventReceiver};
pub use emodel::{delay_impairment, effective_ie, mos_from_r, r_factor, CodecImpairment};
pub use event::{AnalysisEvent, DtmfSource, EventKind};
pub use flash::{Flash, FlashConfig, FlashDetector};
pub use metering::{Bill, BillingPolicy, BillingUnit, EndCause, Meter};
pub use noise::{NoiseDrop, NoiseDropConfig, NoiseFloor, DIGITAL_SILENCE_DBM0};
pub use progress::{ProgressToneConfig, ProgressToneDetector, ToneCadence, ToneFreqs, ToneReport, DEFAULT_TONES};
pub use quality::{LegQuality, QualityMeter};
pub use vad::{VadConfig, VadMode, VadTransition, VoiceDetector, FRAME as VAD_FRAME};

use thiserror::Error;

/// Errors of the analysis.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnalysisError {
    /// PCM came at a rate the analysis cannot take (8, 16, 32 and 48 kHz are supported):
    /// nothing of that call was analysed; decode at one of those rates.
    #[error("unsupported sample rate {0} Hz (use 8000, 16000, 32000 or 48000)")]
    UnsupportedRate(u32),
    /// libfvad could not allocate its state.
    #[error("out of memory creating the VAD")]
    OutOfMemory,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analyzer_is_send() {
        fn is_send<T: Send>() {}
        is_send::<CallAnalyzer>();
        is_send::<AnalysisEvent>();
    }
}
