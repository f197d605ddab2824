//! Configuration, output description and errors of [`AudioReceiver`](super::AudioReceiver).

use super::config::PlayoutDelay;
use super::delay_manager::DelayTuning;
use crate::audio::{ClockRate, SampleRate};
use crate::rtp::{ExtTimestamp, PayloadMap, Ssrc, StreamEpoch};
use std::time::Duration;
use thiserror::Error;

/// Errors of the jitter module's receiver. Construction errors come from
/// [`AudioReceiver::new`](super::AudioReceiver::new); per-call errors from
/// [`AudioReceiver::pull`](super::AudioReceiver::pull) leave the receiver usable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum JitterError {
    /// The output rate is not one the receiver can produce: 8000, 16 000, 24 000 or
    /// 48 000 Hz (Opus decodes at each; G.711 is upsampled by an integer factor).
    #[error("unsupported output rate {0} Hz (8000, 16000, 24000 or 48000)")]
    UnsupportedOutputRate(u32),
    /// The frame duration is not 10 or 20 ms.
    #[error("unsupported frame duration {0:?} (10 or 20 ms)")]
    UnsupportedFrame(Duration),
    /// The buffer handed to `pull` is not exactly one frame long; nothing was written.
    #[error("output buffer holds {got} samples, one frame is {expected}")]
    FrameSize {
        /// Samples in one frame (frame duration × output rate).
        expected: usize,
        /// Samples in the buffer given.
        got: usize,
    },
}

/// Settings of an [`AudioReceiver`](super::AudioReceiver): one per leg.
///
/// Build with [`ReceiverConfig::new`] and adjust the public fields or `with_*` methods.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReceiverConfig {
    /// The leg's payload types (SDP), for clock rates and decoders. Payload types
    /// mapped to `telephone-event` are not audio: they are ignored for playout and
    /// their sequence numbers are not counted as loss. Unmapped payload types and
    /// codecs without a decoder here are discarded (counted in `discarded`).
    pub payloads: PayloadMap,
    /// Sampling rate of the PCM that [`pull`](super::AudioReceiver::pull) writes:
    /// 8000, 16 000, 24 000 or 48 000 Hz. Opus decodes at this rate; G.711 (8 kHz) is
    /// upsampled by the integer factor with a windowed-sinc FIR (see `upsample.rs`).
    pub output_rate: SampleRate,
    /// Duration of one output frame: 10 or 20 ms. Default 20 ms.
    pub frame: Duration,
    /// Playout delay: fixed, or adaptive within `[min, max]`. Default adaptive,
    /// min 20 ms, max 500 ms, initial 40 ms (held until the estimator's first
    /// half-second interval; NetEq starts at 80 ms, but every later correction is a
    /// time-stretch, and most paths settle nearer 20–60 ms).
    pub delay: PlayoutDelay,
    /// Most packets held. When full the oldest is dropped (counted in
    /// `discarded`), never the whole buffer. Default 250 (5 s of 20 ms packets). Values are
    /// clamped to 1..=65 536 (one packet per 16-bit sequence number).
    pub capacity: usize,
    /// Estimator tuning (quantile, forgetting factor, resampling interval, window).
    pub tuning: DelayTuning,
    /// Opus decoder complexity (libopus `OPUS_SET_COMPLEXITY`, 0–10): 5 and up conceal lost
    /// packets with libopus' deep-learning PLC, below 5 with the classic PLC. Default
    /// [`OpusDecoder::DEFAULT_COMPLEXITY`](crate::codec::OpusDecoder::DEFAULT_COMPLEXITY) (5).
    /// Values above 10 are taken as 10.
    pub opus_complexity: u8,
}

impl ReceiverConfig {
    /// Defaults for a leg with `payloads`, producing PCM at `output_rate`.
    pub fn new(payloads: PayloadMap, output_rate: SampleRate) -> Self {
        ReceiverConfig {
            payloads,
            output_rate,
            frame: Duration::from_millis(20),
            delay: PlayoutDelay::Adaptive {
                min: Duration::from_millis(20),
                max: Duration::from_millis(500),
                initial: Duration::from_millis(40),
            },
            capacity: 250,
            tuning: DelayTuning::default(),
            opus_complexity: crate::codec::OpusDecoder::DEFAULT_COMPLEXITY,
        }
    }

    /// This configuration with the playout delay mode `delay`.
    pub fn with_delay(mut self, delay: PlayoutDelay) -> Self {
        self.delay = delay;
        self
    }

    /// This configuration with output frames of `frame` (10 or 20 ms).
    pub fn with_frame(mut self, frame: Duration) -> Self {
        self.frame = frame;
        self
    }

    /// This configuration with Opus decoder complexity `complexity` (see
    /// [`Self::opus_complexity`]).
    pub fn with_opus_complexity(mut self, complexity: u8) -> Self {
        self.opus_complexity = complexity;
        self
    }

    /// This configuration holding at most `capacity` packets.
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }
}

/// What one pulled frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FrameKind {
    /// Decoded audio, as received (including a merge back into real audio after concealment).
    Normal,
    /// Concealment of missing audio: codec-native PLC (Opus) or pitch-based expansion
    /// (G.711), within the first 60 ms of an erasure.
    Concealed,
    /// Decoded audio lengthened by one pitch period (preemptive expand) to raise the delay.
    Expanded,
    /// Decoded audio shortened by one pitch period (accelerate) to lower the delay.
    Accelerated,
    /// Comfort noise: RFC 3389 CN, Opus DTX, or the background noise a long
    /// concealment fades into (60–200 ms).
    ComfortNoise,
    /// Silence: nothing to play yet, or a concealment faded out (after 200 ms).
    Silence,
}

/// Description of a frame written by [`AudioReceiver::pull`](super::AudioReceiver::pull).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub struct PullInfo {
    /// What the frame is.
    pub kind: FrameKind,
    /// Samples written (one frame, mono, at the output rate).
    pub samples: usize,
    /// Extended RTP timestamp (ticks of `clock_rate`) of the media position the frame
    /// starts at: the first decoded sample for audio, the slot being filled for
    /// concealment and comfort noise. Approximate by up to one pitch period after
    /// time-stretching. `None` before the first packet.
    pub timestamp: Option<ExtTimestamp>,
    /// RTP clock rate of `timestamp`.
    pub clock_rate: Option<ClockRate>,
    /// Stream epoch `timestamp` belongs to.
    pub epoch: Option<StreamEpoch>,
    /// SSRC of the stream being played.
    pub ssrc: Option<Ssrc>,
}
