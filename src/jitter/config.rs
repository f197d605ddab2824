//! Jitter buffer configuration: clock rate, ptime, playout delay mode and bounds.

use crate::audio::ClockRate;
use crate::rtp::PayloadType;
use std::time::Duration;

/// How the playout delay (the time a packet is held between its arrival and its
/// playout) is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlayoutDelay {
    /// A constant target delay.
    Fixed(Duration),
    /// A target that follows the measured network jitter (v1 estimator, see
    /// [`JitterConfig::delay_window`] and [`JitterConfig::delay_quantile_pct`]):
    /// the chosen quantile of the relative arrival delay over the window, plus one
    /// ptime, clamped to `[min, max]`.
    Adaptive {
        /// Lowest target allowed.
        min: Duration,
        /// Highest target allowed.
        max: Duration,
        /// Target used until the estimator has seen one full window of arrivals.
        initial: Duration,
    },
}

/// Settings for a [`JitterBuffer`](super::JitterBuffer); one buffer per leg and SSRC.
///
/// Build with [`JitterConfig::new`] and adjust the public fields or the `with_*`
/// methods. Out-of-range values are normalised by [`JitterBuffer::new`](super::JitterBuffer::new)
/// (documented on each field), never rejected with a panic.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JitterConfig {
    /// RTP clock rate of the stream (ticks per second; RFC 3551 table 4). 8000 for
    /// G.711/G.722, 48 000 for Opus.
    pub clock_rate: ClockRate,
    /// Initial ptime (frame duration). The buffer then learns it from the timestamp
    /// step between consecutive sequence numbers (two equal steps of at most
    /// 120 ms). Zero is replaced by 20 ms.
    pub ptime: Duration,
    /// Playout delay mode.
    pub delay: PlayoutDelay,
    /// Most packets held. When full the OLDEST packet (by epoch, then extended
    /// sequence number) is dropped and counted in `overflow_drops`; the buffer is
    /// never flushed as a whole. Zero is replaced by 1, values above 65 536 (one packet per
    /// 16-bit sequence number) by 65 536.
    pub capacity: usize,
    /// Longest run of concealment when the buffer runs dry mid-talkspurt (no later
    /// packet present): after it, playout reports silence until a packet arrives.
    /// Default 60 ms (three 20 ms frames), so a talkspurt's tail fades out quickly
    /// when the sender stops without comfort noise (CASES.md B11).
    pub max_dry_concealment: Duration,
    /// Sliding window of arrivals that the adaptive estimator looks at. Default 2 s.
    pub delay_window: Duration,
    /// Quantile (percent, 1..=100) of the relative arrival delay taken as the
    /// jitter part of the adaptive target. Default 95. Clamped into 1..=100.
    pub delay_quantile_pct: u8,
    /// Payload type carrying comfort noise (RFC 3389; static PT 13 at 8 kHz). After
    /// such a packet a dry buffer reports silence, not concealment. Default `Some(PT 13)`.
    pub comfort_noise_pt: Option<PayloadType>,
    /// Payloads of at most this many bytes are DTX / SID frames: after one, a dry
    /// buffer reports silence, not concealment. Opus DTX frames are 1–3 bytes
    /// (RFC 6716 §3.2, CASES.md B12); G.729 Annex B SID frames are 2 bytes; no speech
    /// frame of the supported codecs is that short. Default 3; 0 disables the rule.
    pub dtx_max_payload: usize,
}

impl JitterConfig {
    /// Defaults for a stream at `clock_rate`: ptime 20 ms, adaptive delay
    /// (min 20 ms, max 500 ms, initial 60 ms), capacity 100 packets (2 s of 20 ms
    /// frames), dry concealment 60 ms, 2 s window, 95th percentile, CN PT 13,
    /// DTX payloads up to 3 bytes.
    pub fn new(clock_rate: ClockRate) -> Self {
        JitterConfig {
            clock_rate,
            ptime: Duration::from_millis(20),
            delay: PlayoutDelay::Adaptive {
                min: Duration::from_millis(20),
                max: Duration::from_millis(500),
                initial: Duration::from_millis(60),
            },
            capacity: 100,
            max_dry_concealment: Duration::from_millis(60),
            delay_window: Duration::from_secs(2),
            delay_quantile_pct: 95,
            comfort_noise_pt: Some(PayloadType(13)),
            dtx_max_payload: 3,
        }
    }

    /// This configuration with the initial ptime set to `ptime`.
    pub fn with_ptime(mut self, ptime: Duration) -> Self {
        self.ptime = ptime;
        self
    }

    /// This configuration with the playout delay mode set to `delay`.
    pub fn with_delay(mut self, delay: PlayoutDelay) -> Self {
        self.delay = delay;
        self
    }

    /// This configuration holding at most `capacity` packets.
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// The configuration with out-of-range values replaced as the field docs say.
    pub(crate) fn normalised(mut self) -> Self {
        if self.ptime.is_zero() {
            self.ptime = Duration::from_millis(20);
        }
        self.capacity = self.capacity.clamp(1, super::store::MAX_CAPACITY);
        self.delay_quantile_pct = self.delay_quantile_pct.clamp(1, 100);
        if self.delay_window.is_zero() {
            self.delay_window = Duration::from_secs(2);
        }
        if let PlayoutDelay::Adaptive { min, max, initial } = self.delay {
            let (min, max) = if min <= max { (min, max) } else { (max, min) };
            self.delay = PlayoutDelay::Adaptive { min, max, initial: initial.clamp(min, max) };
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_bad_values() {
        let mut c = JitterConfig::new(ClockRate::HZ_8000).with_capacity(0).with_ptime(Duration::ZERO);
        c.delay_quantile_pct = 0;
        c.delay = PlayoutDelay::Adaptive {
            min: Duration::from_millis(200),
            max: Duration::from_millis(40),
            initial: Duration::from_millis(500),
        };
        let n = c.normalised();
        assert_eq!(n.capacity, 1);
        assert_eq!(n.ptime, Duration::from_millis(20));
        assert_eq!(n.delay_quantile_pct, 1);
        assert_eq!(
            n.delay,
            PlayoutDelay::Adaptive {
                min: Duration::from_millis(40),
                max: Duration::from_millis(200),
                initial: Duration::from_millis(200),
            }
        );
    }
}
