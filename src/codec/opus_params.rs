//! Opus media-type parameters from SDP `a=fmtp` (RFC 7587 §6.1), e.g.
//! `minptime=10;useinbandfec=1;maxplaybackrate=16000;stereo=0;sprop-stereo=0`.

use crate::audio::SampleRate;
use std::time::Duration;

/// Sampling rates libopus runs at (RFC 7587 §3, RFC 6716 §2), ascending.
pub const OPUS_RATES: [u32; 5] = [8000, 12_000, 16_000, 24_000, 48_000];

/// The value of `key` (ASCII case-insensitive) in an fmtp parameter string of
/// `key=value` pairs separated by `;` (whitespace around them allowed).
pub fn fmtp_value<'f>(fmtp: &'f str, key: &str) -> Option<&'f str> {
    fmtp.split(';')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(key))
        .map(|(_, v)| v.trim())
}

/// The `ptime` parameter of an fmtp string in milliseconds (RFC 7587 §6.1 lists it for
/// Opus; some senders put it there for other codecs too), if present and in 1..=120 ms.
pub fn fmtp_ptime(fmtp: Option<&str>) -> Option<Duration> {
    let ms: u64 = fmtp_value(fmtp?, "ptime")?.parse().ok()?;
    (1..=120).contains(&ms).then(|| Duration::from_millis(ms))
}

/// The smallest Opus rate at or above `hz`, capped at 48 kHz.
pub fn opus_rate_at_least(hz: u32) -> SampleRate {
    SampleRate::new(OPUS_RATES.into_iter().find(|&r| r >= hz).unwrap_or(48_000))
}

/// Opus fmtp parameters (RFC 7587 §6.1). A parameter that is absent or malformed keeps its
/// default (RFC 7587 §6: unknown or invalid values are ignored); unknown keys are ignored.
///
/// Who they constrain: `maxplaybackrate`, `stereo`, `useinbandfec`, `usedtx`, `cbr`,
/// `maxaveragebitrate` are the *receiver's* wishes, so they configure the encoder that sends
/// to it; `sprop-stereo` and `sprop-maxcapturerate` describe what the *sender* will send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct OpusParams {
    /// `maxplaybackrate`: highest rate (Hz) the receiver renders, 8000..=48000.
    pub max_playback_rate: Option<u32>,
    /// `sprop-maxcapturerate`: highest rate (Hz) the sender captures, 8000..=48000.
    pub sprop_max_capture_rate: Option<u32>,
    /// `ptime`: preferred packet duration.
    pub ptime: Option<Duration>,
    /// `minptime`: shortest packet duration.
    pub min_ptime: Option<Duration>,
    /// `maxptime`: longest packet duration.
    pub max_ptime: Option<Duration>,
    /// `maxaveragebitrate` in bit/s, 6000..=510000.
    pub max_average_bitrate: Option<u32>,
    /// `stereo=1`: the receiver prefers stereo (default mono).
    pub stereo: bool,
    /// `sprop-stereo=1`: the sender is likely to send stereo.
    pub sprop_stereo: bool,
    /// `cbr=1`: the receiver asks for constant bitrate.
    pub cbr: bool,
    /// `useinbandfec=1`: the receiver can use in-band FEC (RFC 6716 §2.1.7), so the sender should send it.
    pub use_inband_fec: bool,
    /// `usedtx=1`: the receiver prefers DTX.
    pub use_dtx: bool,
}

fn flag(fmtp: &str, key: &str) -> bool {
    fmtp_value(fmtp, key) == Some("1")
}

fn rate(fmtp: &str, key: &str) -> Option<u32> {
    fmtp_value(fmtp, key)?.parse().ok().filter(|hz| (8000..=48_000).contains(hz))
}

fn ms(fmtp: &str, key: &str) -> Option<Duration> {
    let v: u64 = fmtp_value(fmtp, key)?.parse().ok()?;
    (3..=120).contains(&v).then(|| Duration::from_millis(v))
}

impl OpusParams {
    /// Parses an fmtp parameter string (without the `a=fmtp:<pt>` prefix).
    pub fn parse(fmtp: &str) -> Self {
        OpusParams {
            max_playback_rate: rate(fmtp, "maxplaybackrate"),
            sprop_max_capture_rate: rate(fmtp, "sprop-maxcapturerate"),
            ptime: ms(fmtp, "ptime"),
            min_ptime: ms(fmtp, "minptime"),
            max_ptime: ms(fmtp, "maxptime"),
            max_average_bitrate: fmtp_value(fmtp, "maxaveragebitrate")
                .and_then(|v| v.parse().ok())
                .filter(|b| (6000..=510_000).contains(b)),
            stereo: flag(fmtp, "stereo"),
            sprop_stereo: flag(fmtp, "sprop-stereo"),
            cbr: flag(fmtp, "cbr"),
            use_inband_fec: flag(fmtp, "useinbandfec"),
            use_dtx: flag(fmtp, "usedtx"),
        }
    }

    /// The parameters of an optional fmtp string (defaults when `None`).
    pub fn from_fmtp(fmtp: Option<&str>) -> Self {
        fmtp.map(Self::parse).unwrap_or_default()
    }

    /// The rate to decode at: `wanted` (default 48 kHz) capped by `maxplaybackrate` —
    /// the smallest Opus rate covering it — and by `sprop-maxcapturerate`.
    pub fn decode_rate(&self, wanted: Option<SampleRate>) -> SampleRate {
        let mut hz = wanted.map_or(48_000, SampleRate::hz);
        for cap in [self.max_playback_rate, self.sprop_max_capture_rate].into_iter().flatten() {
            hz = hz.min(opus_rate_at_least(cap).hz());
        }
        opus_rate_at_least(hz)
    }

    /// The rate to encode at: `wanted` (default 48 kHz) capped by the receiver's `maxplaybackrate`.
    pub fn encode_rate(&self, wanted: Option<SampleRate>) -> SampleRate {
        let hz = wanted.map_or(48_000, SampleRate::hz);
        let cap = self.max_playback_rate.map_or(48_000, |c| opus_rate_at_least(c).hz());
        opus_rate_at_least(hz.min(cap))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7587_parameters() {
        let p = OpusParams::parse(
            "maxplaybackrate=16000; sprop-maxcapturerate=16000;minptime=10;ptime=40;maxptime=60;\
             maxaveragebitrate=20000;stereo=1;sprop-stereo=0;cbr=1;useinbandfec=1;usedtx=1",
        );
        assert_eq!(p.max_playback_rate, Some(16_000));
        assert_eq!(p.sprop_max_capture_rate, Some(16_000));
        assert_eq!(
            (p.min_ptime, p.ptime, p.max_ptime),
            (Some(Duration::from_millis(10)), Some(Duration::from_millis(40)), Some(Duration::from_millis(60)))
        );
        assert_eq!(p.max_average_bitrate, Some(20_000));
        assert!(p.stereo && !p.sprop_stereo && p.cbr && p.use_inband_fec && p.use_dtx);
        assert_eq!(p.decode_rate(None), SampleRate::HZ_16000);
        assert_eq!(p.decode_rate(Some(SampleRate::HZ_8000)), SampleRate::HZ_8000);
        assert_eq!(p.encode_rate(None), SampleRate::HZ_16000);
    }

    #[test]
    fn defaults_and_malformed_values() {
        let p = OpusParams::parse("useinbandfec=yes;maxplaybackrate=96000;ptime=0;maxaveragebitrate=1;STEREO=1;x=y;;=");
        assert_eq!(p, OpusParams { stereo: true, ..OpusParams::default() });
        assert_eq!(OpusParams::from_fmtp(None), OpusParams::default());
        assert_eq!(p.decode_rate(None), SampleRate::HZ_48000);
        // maxplaybackrate 22050 rounds up to the 24 kHz Opus rate.
        assert_eq!(OpusParams::parse("maxplaybackrate=22050").decode_rate(None).hz(), 24_000);
        assert_eq!(fmtp_ptime(Some("ptime=30")), Some(Duration::from_millis(30)));
        assert_eq!(fmtp_ptime(Some("ptime=300")), None);
        assert_eq!(fmtp_ptime(None), None);
    }
}
