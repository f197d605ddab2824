//! Payload-type mapping: SDP `a=rtpmap` / `a=fmtp` (RFC 4566 §6) and the static
//! audio assignments of RFC 3551 table 4.

use super::PayloadType;
use crate::audio::ClockRate;
use thiserror::Error;

/// Why an SDP line or payload format was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SdpError {
    /// The line is not the attribute asked for (`a=rtpmap:` or `a=fmtp:`).
    #[error("not an a={0}: line")]
    WrongAttribute(&'static str),
    /// The payload type is not a number in 0..=127.
    #[error("bad payload type {0:?}")]
    BadPayloadType(String),
    /// `a=rtpmap` has no `encoding/clock` part, or an empty encoding name.
    #[error("rtpmap without encoding name/clock rate: {0:?}")]
    MissingEncoding(String),
    /// The clock rate is not a positive integer (Hz).
    #[error("bad clock rate {0:?}")]
    BadClockRate(String),
    /// The channel count is not an integer in 1..=255.
    #[error("bad channel count {0:?}")]
    BadChannels(String),
}

/// One payload format as SDP describes it: `a=rtpmap:<pt> <name>/<clock>[/<channels>]`
/// plus an optional `a=fmtp:<pt> <parameters>` (RFC 4566 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadFormat {
    /// RTP payload type, 0..=127.
    pub payload_type: PayloadType,
    /// Encoding name as written in SDP (`PCMU`, `opus`, `telephone-event`); compare case-insensitively.
    pub encoding_name: String,
    /// RTP clock rate in ticks per second (not the audio sample rate: G.722 is 8000).
    pub clock_rate: ClockRate,
    /// Audio channels (1 when SDP omits the count; 2 for Opus per RFC 7587 §7).
    pub channels: u8,
    /// The `a=fmtp` parameter string, e.g. `0-15` or `minptime=10;useinbandfec=1`.
    pub fmtp: Option<String>,
}

/// Strips an optional `a=` and the `<attr>:` prefix, and trailing CR/LF/space.
fn attribute_value<'l>(line: &'l str, attr: &'static str) -> Option<&'l str> {
    let line = line.trim();
    let line = line.strip_prefix("a=").unwrap_or(line);
    let (name, value) = line.split_once(':')?;
    name.trim().eq_ignore_ascii_case(attr).then_some(value.trim())
}

fn parse_pt(s: &str) -> Result<PayloadType, SdpError> {
    s.parse::<u8>().ok().filter(|&pt| pt <= 127).map(PayloadType).ok_or_else(|| SdpError::BadPayloadType(s.to_owned()))
}

impl PayloadFormat {
    /// A format without fmtp parameters.
    pub fn new(payload_type: PayloadType, encoding_name: &str, clock_rate: ClockRate, channels: u8) -> Self {
        PayloadFormat { payload_type, encoding_name: encoding_name.to_owned(), clock_rate, channels, fmtp: None }
    }

    /// Parses `a=rtpmap:<pt> <name>/<clock rate>[/<channels>]` (the `a=` prefix is optional),
    /// e.g. `a=rtpmap:99 opus/48000/2`. Channels default to 1.
    pub fn parse_sdp_rtpmap(line: &str) -> Result<PayloadFormat, SdpError> {
        let value = attribute_value(line, "rtpmap").ok_or(SdpError::WrongAttribute("rtpmap"))?;
        let (pt, enc) =
            value.split_once(char::is_whitespace).ok_or_else(|| SdpError::MissingEncoding(value.to_owned()))?;
        let payload_type = parse_pt(pt)?;
        let mut parts = enc.trim().split('/');
        let name = parts.next().unwrap_or("").trim();
        let clock = parts.next().ok_or_else(|| SdpError::MissingEncoding(value.to_owned()))?.trim();
        if name.is_empty() {
            return Err(SdpError::MissingEncoding(value.to_owned()));
        }
        let hz =
            clock.parse::<u32>().ok().filter(|&hz| hz > 0).ok_or_else(|| SdpError::BadClockRate(clock.to_owned()))?;
        let channels = match parts.next() {
            None => 1,
            Some(c) => {
                c.trim().parse::<u8>().ok().filter(|&c| c > 0).ok_or_else(|| SdpError::BadChannels(c.to_owned()))?
            }
        };
        if let Some(extra) = parts.next() {
            return Err(SdpError::BadChannels(extra.to_owned()));
        }
        Ok(PayloadFormat::new(payload_type, name, ClockRate::new(hz), channels))
    }

    /// Parses `a=fmtp:<pt> <parameters>` (the `a=` prefix is optional) into the payload
    /// type and the parameter string, e.g. `a=fmtp:101 0-15` → (101, `"0-15"`).
    pub fn parse_sdp_fmtp(line: &str) -> Result<(PayloadType, String), SdpError> {
        let value = attribute_value(line, "fmtp").ok_or(SdpError::WrongAttribute("fmtp"))?;
        let (pt, params) = value.split_once(char::is_whitespace).unwrap_or((value, ""));
        Ok((parse_pt(pt)?, params.trim().to_owned()))
    }

    /// Whether the encoding name matches `name` (ASCII case-insensitive, RFC 4855 §3).
    pub fn is(&self, name: &str) -> bool {
        self.encoding_name.eq_ignore_ascii_case(name)
    }
}

/// Payload type → [`PayloadFormat`] for one leg: at most 128 entries (PT 0..=127).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadMap {
    slots: Vec<Option<PayloadFormat>>,
}

impl Default for PayloadMap {
    fn default() -> Self {
        Self::new()
    }
}

/// Static audio payload types of RFC 3551 table 4: (PT, name, clock rate Hz, channels).
/// PT 14 (MPA, 90 kHz clock, channel count "see text") and the video types are left out.
const STATIC_AUDIO: [(u8, &str, u32, u8); 16] = [
    (0, "PCMU", 8000, 1),
    (3, "GSM", 8000, 1),
    (4, "G723", 8000, 1),
    (5, "DVI4", 8000, 1),
    (6, "DVI4", 16000, 1),
    (7, "LPC", 8000, 1),
    (8, "PCMA", 8000, 1),
    (9, "G722", 8000, 1),
    (10, "L16", 44100, 2),
    (11, "L16", 44100, 1),
    (12, "QCELP", 8000, 1),
    (13, "CN", 8000, 1),
    (15, "G728", 8000, 1),
    (16, "DVI4", 11025, 1),
    (17, "DVI4", 22050, 1),
    (18, "G729", 8000, 1),
];

impl PayloadMap {
    /// An empty map.
    pub fn new() -> Self {
        PayloadMap { slots: vec![None; 128] }
    }

    /// The static audio assignments of RFC 3551 table 4 (0 PCMU/8000, 3 GSM/8000,
    /// 4 G723/8000, 5–6 DVI4, 7 LPC, 8 PCMA/8000, 9 G722/8000, 10–11 L16/44100,
    /// 12 QCELP, 13 CN/8000, 15 G728, 16–17 DVI4, 18 G729/8000).
    pub fn static_defaults() -> Self {
        let mut map = Self::new();
        for (pt, name, hz, ch) in STATIC_AUDIO {
            map.put(PayloadFormat::new(PayloadType(pt), name, ClockRate::new(hz), ch));
        }
        map
    }

    /// The static default for `pt`, if RFC 3551 assigns one.
    pub fn static_default(pt: PayloadType) -> Option<PayloadFormat> {
        STATIC_AUDIO
            .iter()
            .find(|e| e.0 == pt.0)
            .map(|&(pt, name, hz, ch)| PayloadFormat::new(PayloadType(pt), name, ClockRate::new(hz), ch))
    }

    fn put(&mut self, format: PayloadFormat) -> Option<PayloadFormat> {
        self.slots.get_mut(usize::from(format.payload_type.0)).and_then(|s| s.replace(format))
    }

    /// Inserts or replaces the entry for `format.payload_type`, returning the old one.
    pub fn insert(&mut self, format: PayloadFormat) -> Result<Option<PayloadFormat>, SdpError> {
        if format.payload_type.0 > 127 {
            return Err(SdpError::BadPayloadType(format.payload_type.0.to_string()));
        }
        Ok(self.put(format))
    }

    /// Removes the entry for `pt`.
    pub fn remove(&mut self, pt: PayloadType) -> Option<PayloadFormat> {
        self.slots.get_mut(usize::from(pt.0)).and_then(Option::take)
    }

    /// The format of `pt`, if mapped.
    pub fn get(&self, pt: PayloadType) -> Option<&PayloadFormat> {
        self.slots.get(usize::from(pt.0)).and_then(Option::as_ref)
    }

    /// The RTP clock rate of `pt`, if mapped.
    pub fn clock_rate(&self, pt: PayloadType) -> Option<ClockRate> {
        self.get(pt).map(|f| f.clock_rate)
    }

    /// The first entry (lowest PT) with encoding `name` (case-insensitive) at `clock_rate`,
    /// e.g. `("telephone-event", 8000 Hz)`.
    pub fn find(&self, name: &str, clock_rate: ClockRate) -> Option<&PayloadFormat> {
        self.iter().find(|f| f.is(name) && f.clock_rate == clock_rate)
    }

    /// Entries in payload-type order.
    pub fn iter(&self) -> impl Iterator<Item = &PayloadFormat> {
        self.slots.iter().flatten()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.slots.iter().all(Option::is_none)
    }

    /// Applies one SDP line: `a=rtpmap` inserts or replaces an entry (keeping fmtp
    /// already attached to that PT); `a=fmtp` attaches parameters to an existing
    /// entry, or to the static default of a static PT. Returns whether the line was
    /// used; other lines and fmtp for unknown dynamic PTs are ignored (`Ok(false)`).
    pub fn apply_sdp_line(&mut self, line: &str) -> Result<bool, SdpError> {
        if attribute_value(line, "rtpmap").is_some() {
            let mut f = PayloadFormat::parse_sdp_rtpmap(line)?;
            f.fmtp = self.get(f.payload_type).and_then(|old| old.fmtp.clone());
            self.put(f);
            return Ok(true);
        }
        if attribute_value(line, "fmtp").is_some() {
            let (pt, params) = PayloadFormat::parse_sdp_fmtp(line)?;
            if self.get(pt).is_none() {
                match Self::static_default(pt) {
                    Some(f) => {
                        self.put(f);
                    }
                    None => return Ok(false),
                }
            }
            if let Some(Some(f)) = self.slots.get_mut(usize::from(pt.0)) {
                f.fmtp = Some(params);
            }
            return Ok(true);
        }
        Ok(false)
    }

    /// The payload map of the first `m=<media>` section of an SDP body (RFC 4566 §5.14):
    /// its `a=rtpmap` and `a=fmtp` lines, plus the RFC 3551 static default for every
    /// static PT listed on the `m=` line without an rtpmap. fmtp lines may come before
    /// or after their rtpmap. Returns an empty map when there is no such section.
    pub fn from_sdp(sdp: &str, media: &str) -> Result<PayloadMap, SdpError> {
        let mut map = PayloadMap::new();
        let mut fmtps = Vec::new();
        let mut listed = Vec::new();
        let mut inside = false;
        for line in sdp.lines().map(str::trim) {
            if let Some(m) = line.strip_prefix("m=") {
                if inside {
                    break;
                }
                let mut fields = m.split_whitespace();
                inside = fields.next().is_some_and(|k| k.eq_ignore_ascii_case(media));
                if inside {
                    // <media> <port>[/<n>] <proto> <fmt> ...
                    listed = fields.skip(2).filter_map(|f| parse_pt(f).ok()).collect();
                }
                continue;
            }
            if !inside {
                continue;
            }
            if attribute_value(line, "fmtp").is_some() {
                fmtps.push(PayloadFormat::parse_sdp_fmtp(line)?);
            } else if attribute_value(line, "rtpmap").is_some() {
                map.put(PayloadFormat::parse_sdp_rtpmap(line)?);
            }
        }
        for pt in listed {
            if map.get(pt).is_none() {
                if let Some(f) = Self::static_default(pt) {
                    map.put(f);
                }
            }
        }
        for (pt, params) in fmtps {
            if let Some(Some(f)) = map.slots.get_mut(usize::from(pt.0)) {
                f.fmtp = Some(params);
            }
        }
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtpmap_lines() {
        let f = PayloadFormat::parse_sdp_rtpmap("a=rtpmap:99 opus/48000/2\r\n").expect("valid");
        assert_eq!(f, PayloadFormat::new(PayloadType(99), "opus", ClockRate::new(48_000), 2));
        let f = PayloadFormat::parse_sdp_rtpmap("rtpmap:101 telephone-event/8000").expect("valid");
        assert_eq!((f.payload_type, f.clock_rate.hz(), f.channels), (PayloadType(101), 8000, 1));
        assert!(f.is("TELEPHONE-EVENT"));
        assert_eq!(PayloadFormat::parse_sdp_rtpmap("a=fmtp:99 x"), Err(SdpError::WrongAttribute("rtpmap")));
        assert_eq!(PayloadFormat::parse_sdp_rtpmap("a=rtpmap:128 x/8000"), Err(SdpError::BadPayloadType("128".into())));
        assert_eq!(
            PayloadFormat::parse_sdp_rtpmap("a=rtpmap:99 opus"),
            Err(SdpError::MissingEncoding("99 opus".into()))
        );
        assert_eq!(PayloadFormat::parse_sdp_rtpmap("a=rtpmap:99 opus/0"), Err(SdpError::BadClockRate("0".into())));
        assert_eq!(PayloadFormat::parse_sdp_rtpmap("a=rtpmap:99 opus/48000/0"), Err(SdpError::BadChannels("0".into())));
        assert_eq!(
            PayloadFormat::parse_sdp_rtpmap("a=rtpmap:99 /8000"),
            Err(SdpError::MissingEncoding("99 /8000".into()))
        );
    }

    #[test]
    fn fmtp_lines() {
        assert_eq!(
            PayloadFormat::parse_sdp_fmtp("a=fmtp:111 minptime=10;useinbandfec=1"),
            Ok((PayloadType(111), "minptime=10;useinbandfec=1".to_owned()))
        );
        assert_eq!(PayloadFormat::parse_sdp_fmtp("a=fmtp:x 1"), Err(SdpError::BadPayloadType("x".into())));
    }

    #[test]
    fn static_defaults_follow_rfc3551() {
        let m = PayloadMap::static_defaults();
        let g722 = m.get(PayloadType(9)).expect("PT 9 is static");
        assert_eq!((g722.encoding_name.as_str(), g722.clock_rate.hz()), ("G722", 8000));
        assert_eq!(m.clock_rate(PayloadType(0)), Some(ClockRate::HZ_8000));
        assert_eq!(m.get(PayloadType(8)).map(|f| f.encoding_name.as_str()), Some("PCMA"));
        assert_eq!(m.get(PayloadType(18)).map(|f| f.encoding_name.as_str()), Some("G729"));
        assert_eq!(m.get(PayloadType(10)).map(|f| (f.clock_rate.hz(), f.channels)), Some((44_100, 2)));
        assert_eq!(m.get(PayloadType(2)), None);
        assert_eq!(m.get(PayloadType(96)), None);
        assert_eq!(m.get(PayloadType(200)), None);
        assert_eq!(m.len(), 16);
    }

    #[test]
    fn insert_get_remove() {
        let mut m = PayloadMap::new();
        assert!(m.is_empty());
        let f = PayloadFormat::new(PayloadType(127), "opus", ClockRate::HZ_48000, 2);
        assert_eq!(m.insert(f.clone()), Ok(None));
        assert_eq!(m.insert(f.clone()), Ok(Some(f.clone())));
        assert_eq!(m.find("OPUS", ClockRate::HZ_48000), Some(&f));
        assert!(m.insert(PayloadFormat::new(PayloadType(128), "x", ClockRate::HZ_8000, 1)).is_err());
        assert_eq!(m.remove(PayloadType(127)), Some(f));
        assert!(m.is_empty());
    }

    #[test]
    fn apply_lines_in_any_order() {
        let mut m = PayloadMap::new();
        assert_eq!(m.apply_sdp_line("a=fmtp:101 0-16"), Ok(false)); // dynamic PT not yet mapped
        assert_eq!(m.apply_sdp_line("a=rtpmap:101 telephone-event/8000"), Ok(true));
        assert_eq!(m.apply_sdp_line("a=fmtp:101 0-16"), Ok(true));
        assert_eq!(m.apply_sdp_line("a=rtpmap:101 telephone-event/8000"), Ok(true));
        assert_eq!(m.get(PayloadType(101)).and_then(|f| f.fmtp.as_deref()), Some("0-16"));
        assert_eq!(m.apply_sdp_line("a=fmtp:18 annexb=no"), Ok(true));
        assert_eq!(
            m.get(PayloadType(18)).map(|f| (f.encoding_name.as_str(), f.fmtp.as_deref())),
            Some(("G729", Some("annexb=no")))
        );
        assert_eq!(m.apply_sdp_line("a=sendrecv"), Ok(false));
    }

    #[test]
    fn whole_sdp_body() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n\
                   m=audio 60064 RTP/AVP 9 0 8 111 101\r\n\
                   a=fmtp:101 0-15\r\n\
                   a=rtpmap:9 G722/8000\r\n\
                   a=rtpmap:111 opus/48000/2\r\n\
                   a=fmtp:111 useinbandfec=1\r\n\
                   a=rtpmap:101 telephone-event/8000\r\n\
                   a=ptime:20\r\n\
                   m=video 0 RTP/AVP 96\r\n\
                   a=rtpmap:96 VP8/90000\r\n";
        let m = PayloadMap::from_sdp(sdp, "audio").expect("valid SDP");
        let pts: Vec<u8> = m.iter().map(|f| f.payload_type.0).collect();
        assert_eq!(pts, vec![0, 8, 9, 101, 111]);
        assert_eq!(m.clock_rate(PayloadType(9)), Some(ClockRate::HZ_8000));
        assert_eq!(m.get(PayloadType(111)).map(|f| (f.channels, f.fmtp.as_deref())), Some((2, Some("useinbandfec=1"))));
        assert_eq!(m.get(PayloadType(101)).and_then(|f| f.fmtp.as_deref()), Some("0-15"));
        assert_eq!(m.get(PayloadType(96)), None);
        assert!(PayloadMap::from_sdp(sdp, "application").expect("no section").is_empty());
        assert!(PayloadMap::from_sdp("m=audio 1 RTP/AVP 96\r\na=rtpmap:96 x/abc\r\n", "audio").is_err());
    }
}
