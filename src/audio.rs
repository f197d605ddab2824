//! Audio units and PCM frames.
//!
//! A **frame** is one packetisation interval (ptime, e.g. 20 ms). Counts are
//! always **samples per channel**; PCM is signed 16-bit, **interleaved** when it
//! has more than one channel (L R L R …).

#![forbid(unsafe_code)]

use std::time::Duration;

/// An audio sampling rate in Hz (samples per channel per second).
///
/// Distinct from [`ClockRate`]: G.722 samples at 16 000 Hz but its RTP clock
/// runs at 8 000 Hz (RFC 3551 §4.5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SampleRate(u32);

impl SampleRate {
    /// 8 000 Hz, narrowband telephony.
    pub const HZ_8000: SampleRate = SampleRate(8000);
    /// 16 000 Hz, wideband (G.722 audio, HD voice).
    pub const HZ_16000: SampleRate = SampleRate(16_000);
    /// 48 000 Hz, Opus' native rate and the Ogg Opus granule rate (RFC 7845 §4).
    pub const HZ_48000: SampleRate = SampleRate(48_000);

    /// A sample rate of `hz` Hz. A rate of 0 is stored as 1 Hz so that no division by zero can follow.
    pub const fn new(hz: u32) -> Self {
        SampleRate(if hz == 0 { 1 } else { hz })
    }

    /// The rate in Hz.
    pub const fn hz(self) -> u32 {
        self.0
    }

    /// Samples per channel in `d` at this rate, rounded down.
    pub fn samples_in(self, d: Duration) -> usize {
        usize::try_from(d.as_nanos() * u128::from(self.0) / 1_000_000_000).unwrap_or(usize::MAX)
    }

    /// Duration of `samples` samples per channel at this rate.
    pub fn duration_of(self, samples: u64) -> Duration {
        Duration::from_nanos(
            u64::try_from(u128::from(samples) * 1_000_000_000 / u128::from(self.0)).unwrap_or(u64::MAX),
        )
    }
}

/// An RTP timestamp clock rate in ticks per second (RFC 3550 §5.1, RFC 3551 table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockRate(u32);

impl ClockRate {
    /// 8 000 ticks/s: G.711, G.722, G.729, telephone-event/8000, CN.
    pub const HZ_8000: ClockRate = ClockRate(8000);
    /// 48 000 ticks/s: Opus (RFC 7587 §4.1).
    pub const HZ_48000: ClockRate = ClockRate(48_000);

    /// A clock of `hz` ticks per second. 0 is stored as 1 so that no division by zero can follow.
    pub const fn new(hz: u32) -> Self {
        ClockRate(if hz == 0 { 1 } else { hz })
    }

    /// Ticks per second.
    pub const fn hz(self) -> u32 {
        self.0
    }

    /// Duration of `ticks` RTP ticks.
    pub fn duration_of(self, ticks: u64) -> Duration {
        Duration::from_nanos(u64::try_from(u128::from(ticks) * 1_000_000_000 / u128::from(self.0)).unwrap_or(u64::MAX))
    }

    /// RTP ticks in `d`, rounded to nearest.
    pub fn ticks_in(self, d: Duration) -> u64 {
        u64::try_from((d.as_nanos() * u128::from(self.0) + 500_000_000) / 1_000_000_000).unwrap_or(u64::MAX)
    }
}

/// A block of interleaved signed 16-bit PCM.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PcmFrame {
    /// Interleaved samples; length = `samples_per_channel() * channels`.
    pub samples: Vec<i16>,
    /// Channels (1 = mono, 2 = stereo L/R).
    pub channels: u8,
    /// Sampling rate of `samples`.
    pub rate: Option<SampleRate>,
}

impl PcmFrame {
    /// Samples per channel held.
    pub fn samples_per_channel(&self) -> usize {
        self.samples.len() / usize::from(self.channels.max(1))
    }
}
