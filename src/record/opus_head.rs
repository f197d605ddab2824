//! The two Ogg Opus header packets: the identification header `OpusHead` (RFC 7845 §5.1)
//! and the comment header `OpusTags` (RFC 7845 §5.2). All integers are little endian.

use super::RecordError;

/// Magic signature that starts the identification header (RFC 7845 §5.1).
pub const OPUS_HEAD_MAGIC: [u8; 8] = *b"OpusHead";
/// Magic signature that starts the comment header (RFC 7845 §5.2).
pub const OPUS_TAGS_MAGIC: [u8; 8] = *b"OpusTags";

/// Length of an `OpusHead` packet with mapping family 0 (RFC 7845 §5.1).
const HEAD_LEN_FAMILY0: usize = 19;

/// The identification header (RFC 7845 §5.1).
///
/// ```text
///  0  "OpusHead"            12  input sample rate (u32, Hz, 0 = unspecified)
///  8  version (1)           16  output gain (i16, Q7.8 dB)
///  9  output channel count  18  channel mapping family
/// 10  pre-skip (u16, 48 kHz samples)
/// 19  (family ≠ 0) stream count, coupled stream count, channel mapping[channel count]
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpusHead {
    /// Encapsulation version: 1 when written; on reading any version whose upper four
    /// bits are 0 is accepted as compatible (RFC 7845 §5.1).
    pub version: u8,
    /// Output channel count, at least 1.
    pub channels: u8,
    /// Samples per channel at 48 kHz to discard from the decoder output at the start
    /// (RFC 7845 §4.2); also counted in every granule position.
    pub pre_skip: u16,
    /// Sample rate of the original input in Hz, informational only; 0 = unspecified.
    pub input_sample_rate: u32,
    /// Gain to apply to the decoded output, Q7.8 dB (`gain / 256.0` dB).
    pub output_gain: i16,
    /// Channel mapping family (RFC 7845 §5.1.1): 0 = mono/stereo in one Opus stream,
    /// 1 = Vorbis channel order (1–8 channels), 255 = no defined meaning.
    pub mapping_family: u8,
    /// Number of Opus streams in each Ogg packet (family 0: 1).
    pub stream_count: u8,
    /// How many of those streams are coupled (stereo); family 0: `channels - 1`.
    pub coupled_count: u8,
    /// Channel mapping table, one entry per output channel: the decoded channel index
    /// (`< stream_count + coupled_count`) or 255 for silence. Empty for family 0.
    pub mapping: Vec<u8>,
}

fn head_err(reason: &'static str) -> RecordError {
    RecordError::InvalidOpusHead(reason)
}

fn tags_err(reason: &'static str) -> RecordError {
    RecordError::InvalidOpusTags(reason)
}

impl OpusHead {
    /// A version 1 header with mapping family 0 (RFC 7845 §5.1.1.1): `channels` 1 or 2,
    /// output gain 0. `pre_skip` is the encoder's lookahead in 48 kHz samples (libopus
    /// reports it as `OPUS_GET_LOOKAHEAD`, 312 for 48 kHz VoIP/audio modes).
    ///
    /// Errors: [`RecordError::InvalidOpusHead`] when `channels` is not 1 or 2.
    pub fn new(channels: u8, pre_skip: u16, input_sample_rate: u32) -> Result<OpusHead, RecordError> {
        let head = OpusHead {
            version: 1,
            channels,
            pre_skip,
            input_sample_rate,
            output_gain: 0,
            mapping_family: 0,
            stream_count: 1,
            coupled_count: channels.saturating_sub(1),
            mapping: Vec::new(),
        };
        head.validate()?;
        Ok(head)
    }

    /// A version 1 header with an explicit channel mapping table (RFC 7845 §5.1.1.2–3),
    /// e.g. family 255 with `channels` independent mono streams (`coupled_count` 0,
    /// `mapping` 0, 1, 2…). `mapping` has one entry per output channel.
    ///
    /// Errors: [`RecordError::InvalidOpusHead`] when the counts or table break §5.1.1.
    pub fn with_mapping(
        mapping_family: u8,
        pre_skip: u16,
        input_sample_rate: u32,
        stream_count: u8,
        coupled_count: u8,
        mapping: &[u8],
    ) -> Result<OpusHead, RecordError> {
        let channels = u8::try_from(mapping.len()).map_err(|_| head_err("more than 255 channels"))?;
        let head = OpusHead {
            version: 1,
            channels,
            pre_skip,
            input_sample_rate,
            output_gain: 0,
            mapping_family,
            stream_count,
            coupled_count,
            mapping: mapping.to_vec(),
        };
        head.validate()?;
        Ok(head)
    }

    /// The output gain in dB (Q7.8: `output_gain / 256`).
    pub fn output_gain_db(&self) -> f32 {
        f32::from(self.output_gain) / 256.0
    }

    /// Checks the RFC 7845 §5.1 rules: compatible version, channel count ≥ 1, family 0
    /// with 1–2 channels and no table, family 1 with 1–8 channels, and for every family
    /// with a table: stream count ≥ 1, coupled ≤ streams, streams + coupled ≤ 255, each
    /// mapping entry below streams + coupled or 255.
    pub fn validate(&self) -> Result<(), RecordError> {
        if self.version >> 4 != 0 {
            return Err(head_err("incompatible major version (upper four bits not 0)"));
        }
        if self.channels == 0 {
            return Err(head_err("channel count is 0"));
        }
        if self.mapping_family == 0 {
            if self.channels > 2 {
                return Err(head_err("mapping family 0 allows only 1 or 2 channels"));
            }
            return Ok(());
        }
        if self.mapping_family == 1 && self.channels > 8 {
            return Err(head_err("mapping family 1 allows 1 to 8 channels"));
        }
        if self.mapping.len() != usize::from(self.channels) {
            return Err(head_err("channel mapping table length differs from channel count"));
        }
        if self.stream_count == 0 {
            return Err(head_err("stream count is 0"));
        }
        if self.coupled_count > self.stream_count {
            return Err(head_err("coupled stream count exceeds stream count"));
        }
        let decoded = usize::from(self.stream_count) + usize::from(self.coupled_count);
        if decoded > 255 {
            return Err(head_err("stream count plus coupled count exceeds 255"));
        }
        if self.mapping.iter().any(|&m| m != 255 && usize::from(m) >= decoded) {
            return Err(head_err("channel mapping entry out of range"));
        }
        Ok(())
    }

    /// Appends the header packet (RFC 7845 §5.1) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&OPUS_HEAD_MAGIC);
        out.push(self.version);
        out.push(self.channels);
        out.extend_from_slice(&self.pre_skip.to_le_bytes());
        out.extend_from_slice(&self.input_sample_rate.to_le_bytes());
        out.extend_from_slice(&self.output_gain.to_le_bytes());
        out.push(self.mapping_family);
        if self.mapping_family != 0 {
            out.push(self.stream_count);
            out.push(self.coupled_count);
            out.extend_from_slice(&self.mapping);
        }
    }

    /// The header packet (RFC 7845 §5.1): 19 bytes for family 0, `21 + channels` otherwise.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(HEAD_LEN_FAMILY0 + 2 + self.mapping.len());
        self.write_to(&mut v);
        v
    }

    /// Parses and validates an `OpusHead` packet (RFC 7845 §5.1). Bytes after the
    /// header are ignored (allowed for compatible versions).
    ///
    /// Errors: [`RecordError::InvalidOpusHead`] naming the rule broken (short packet,
    /// wrong magic, incompatible version, bad channel count or mapping).
    pub fn parse(packet: &[u8]) -> Result<OpusHead, RecordError> {
        if packet.len() < OPUS_HEAD_MAGIC.len() || packet[..8] != OPUS_HEAD_MAGIC {
            return Err(head_err("magic signature is not \"OpusHead\""));
        }
        if packet.len() < HEAD_LEN_FAMILY0 {
            return Err(head_err("packet shorter than 19 bytes"));
        }
        let mut head = OpusHead {
            version: packet[8],
            channels: packet[9],
            pre_skip: u16::from_le_bytes([packet[10], packet[11]]),
            input_sample_rate: u32::from_le_bytes([packet[12], packet[13], packet[14], packet[15]]),
            output_gain: i16::from_le_bytes([packet[16], packet[17]]),
            mapping_family: packet[18],
            stream_count: 1,
            coupled_count: packet[9].saturating_sub(1),
            mapping: Vec::new(),
        };
        if head.mapping_family != 0 {
            let table_end = HEAD_LEN_FAMILY0 + 2 + usize::from(head.channels);
            if packet.len() < table_end {
                return Err(head_err("channel mapping table truncated"));
            }
            head.stream_count = packet[19];
            head.coupled_count = packet[20];
            head.mapping = packet[21..table_end].to_vec();
        }
        head.validate()?;
        Ok(head)
    }
}

/// The comment header (RFC 7845 §5.2): vendor string and user comments, each a
/// length-prefixed (u32 LE) UTF-8 string; comments have the form `KEY=value`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct OpusTags {
    /// The encoder's vendor string.
    pub vendor: String,
    /// User comments, `KEY=value` (RFC 7845 §5.2.1; keys compare case-insensitively).
    pub comments: Vec<String>,
}

/// Reads a u32 LE length at `*at` and the UTF-8 string after it.
fn read_string(packet: &[u8], at: &mut usize, what: &'static str) -> Result<String, RecordError> {
    let len = read_u32(packet, at, what)?;
    let len = usize::try_from(len).map_err(|_| tags_err(what))?;
    let end = at.checked_add(len).filter(|&e| e <= packet.len()).ok_or_else(|| tags_err(what))?;
    let s = std::str::from_utf8(&packet[*at..end]).map_err(|_| tags_err("string is not UTF-8"))?;
    *at = end;
    Ok(s.to_owned())
}

fn read_u32(packet: &[u8], at: &mut usize, what: &'static str) -> Result<u32, RecordError> {
    let b = packet.get(*at..*at + 4).ok_or_else(|| tags_err(what))?;
    *at += 4;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn push_string(out: &mut Vec<u8>, s: &str) -> Result<(), RecordError> {
    let len = u32::try_from(s.len()).map_err(|_| tags_err("string longer than 4 GiB"))?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

impl OpusTags {
    /// Tags with a vendor string and no comments.
    pub fn new(vendor: impl Into<String>) -> OpusTags {
        OpusTags { vendor: vendor.into(), comments: Vec::new() }
    }

    /// Adds the comment `key=value` (RFC 7845 §5.2.1).
    pub fn push(&mut self, key: &str, value: &str) {
        self.comments.push(format!("{key}={value}"));
    }

    /// The value of the first comment whose key equals `key` ignoring ASCII case.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.comments.iter().find_map(|c| {
            let (k, v) = c.split_once('=')?;
            k.eq_ignore_ascii_case(key).then_some(v)
        })
    }

    /// Appends the comment header packet (RFC 7845 §5.2) to `out`; on error `out` may
    /// hold a partial packet.
    ///
    /// Errors: [`RecordError::InvalidOpusTags`] when a string or the comment count does
    /// not fit a u32.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), RecordError> {
        out.extend_from_slice(&OPUS_TAGS_MAGIC);
        push_string(out, &self.vendor)?;
        let n = u32::try_from(self.comments.len()).map_err(|_| tags_err("more than 2^32 comments"))?;
        out.extend_from_slice(&n.to_le_bytes());
        for c in &self.comments {
            push_string(out, c)?;
        }
        Ok(())
    }

    /// The comment header packet (RFC 7845 §5.2); errors as for [`write_to`](Self::write_to).
    pub fn to_bytes(&self) -> Result<Vec<u8>, RecordError> {
        let mut v =
            Vec::with_capacity(16 + self.vendor.len() + self.comments.iter().map(|c| 4 + c.len()).sum::<usize>());
        self.write_to(&mut v)?;
        Ok(v)
    }

    /// Parses an `OpusTags` packet (RFC 7845 §5.2). Bytes after the last comment
    /// (padding, or binary data when their first byte has its low bit set) are ignored.
    /// The comment count is checked against the bytes present before anything is
    /// allocated for it.
    ///
    /// Errors: [`RecordError::InvalidOpusTags`] for a wrong magic, a length running past
    /// the packet, or a string that is not UTF-8.
    pub fn parse(packet: &[u8]) -> Result<OpusTags, RecordError> {
        if packet.len() < OPUS_TAGS_MAGIC.len() || packet[..8] != OPUS_TAGS_MAGIC {
            return Err(tags_err("magic signature is not \"OpusTags\""));
        }
        let mut at = OPUS_TAGS_MAGIC.len();
        let vendor = read_string(packet, &mut at, "vendor string runs past the packet")?;
        let count = read_u32(packet, &mut at, "comment count missing")?;
        // Each comment needs at least its 4-byte length.
        let max = (packet.len() - at) / 4;
        let count = usize::try_from(count)
            .ok()
            .filter(|&c| c <= max)
            .ok_or_else(|| tags_err("comment count exceeds packet size"))?;
        let mut comments = Vec::with_capacity(count);
        for _ in 0..count {
            comments.push(read_string(packet, &mut at, "comment runs past the packet")?);
        }
        Ok(OpusTags { vendor, comments })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_family0_bytes() {
        let mut h = OpusHead::new(2, 312, 48000).unwrap();
        h.output_gain = -256;
        let b = h.to_bytes();
        assert_eq!(b.len(), 19);
        assert_eq!(&b[..8], b"OpusHead");
        assert_eq!(&b[8..], &[1, 2, 0x38, 0x01, 0x80, 0xBB, 0, 0, 0x00, 0xFF, 0]);
        let p = OpusHead::parse(&b).unwrap();
        assert_eq!(p, h);
        assert_eq!((p.stream_count, p.coupled_count), (1, 1));
        assert_eq!(p.output_gain_db(), -1.0);
    }

    #[test]
    fn head_family1_and_255_round_trip() {
        let h = OpusHead::with_mapping(1, 312, 48000, 2, 1, &[0, 2, 1]).unwrap();
        let b = h.to_bytes();
        assert_eq!(b.len(), 24);
        assert_eq!(&b[18..], &[1, 2, 1, 0, 2, 1]);
        assert_eq!(OpusHead::parse(&b).unwrap(), h);
        let h = OpusHead::with_mapping(255, 0, 0, 3, 0, &[0, 1, 255]).unwrap();
        assert_eq!(OpusHead::parse(&h.to_bytes()).unwrap().mapping, vec![0, 1, 255]);
    }

    #[test]
    fn head_rule_violations() {
        assert!(OpusHead::new(0, 0, 0).is_err());
        assert!(OpusHead::new(3, 0, 0).is_err());
        assert_eq!(OpusHead::with_mapping(1, 0, 0, 0, 0, &[0]), Err(head_err("stream count is 0")));
        assert!(OpusHead::with_mapping(1, 0, 0, 1, 2, &[0]).is_err());
        assert!(OpusHead::with_mapping(1, 0, 0, 1, 0, &[1]).is_err());
        assert!(OpusHead::with_mapping(1, 0, 0, 9, 0, &[0; 9]).is_err());
        let mut b = OpusHead::new(1, 312, 0).unwrap().to_bytes();
        b[8] = 0x10;
        assert_eq!(OpusHead::parse(&b), Err(head_err("incompatible major version (upper four bits not 0)")));
        b[8] = 0x0F; // a compatible minor version
        assert_eq!(OpusHead::parse(&b).unwrap().version, 15);
        b[9] = 0;
        assert_eq!(OpusHead::parse(&b), Err(head_err("channel count is 0")));
    }

    #[test]
    fn head_truncations_are_errors() {
        let b = OpusHead::with_mapping(1, 312, 48000, 2, 1, &[0, 2, 1]).unwrap().to_bytes();
        for cut in 0..b.len() {
            assert!(matches!(OpusHead::parse(&b[..cut]), Err(RecordError::InvalidOpusHead(_))), "cut {cut}");
        }
    }

    #[test]
    fn tags_round_trip_and_lookup() {
        let mut t = OpusTags::new("jyqq-media");
        t.push("TITLE", "call 42");
        t.push("ENCODER", "x=y");
        let b = t.to_bytes().unwrap();
        assert_eq!(&b[..8], b"OpusTags");
        assert_eq!(&b[8..12], &10u32.to_le_bytes());
        assert_eq!(b.len(), 8 + 4 + 10 + 4 + (4 + 13) + (4 + 11));
        let p = OpusTags::parse(&b).unwrap();
        assert_eq!(p, t);
        assert_eq!(p.get("title"), Some("call 42"));
        assert_eq!(p.get("encoder"), Some("x=y"));
        assert_eq!(p.get("artist"), None);
        let mut padded = b.clone();
        padded.extend_from_slice(&[0; 100]);
        assert_eq!(OpusTags::parse(&padded).unwrap(), t);
    }

    #[test]
    fn tags_truncations_and_lies_are_errors() {
        let mut t = OpusTags::new("v");
        t.push("A", "b");
        let b = t.to_bytes().unwrap();
        for cut in 0..b.len() {
            assert!(matches!(OpusTags::parse(&b[..cut]), Err(RecordError::InvalidOpusTags(_))), "cut {cut}");
        }
        let mut huge = b.clone();
        huge[13..17].copy_from_slice(&u32::MAX.to_le_bytes()); // comment count
        assert_eq!(OpusTags::parse(&huge), Err(tags_err("comment count exceeds packet size")));
        let mut bad = b.clone();
        bad[12] = 0xFF; // vendor "v" -> invalid UTF-8
        assert_eq!(OpusTags::parse(&bad), Err(tags_err("string is not UTF-8")));
    }
}
