//! Call metadata written into the OpusTags comment header (RFC 7845 §5.2).
//!
//! Every value comes from the host, verbatim: the call id, both legs' numbers, the start
//! time (UTC, as the host gives it; the core reads no clock) and the recording policy.

/// Comment field names written by [`RecordingMetadata::tags`] (upper case, RFC 7845 §5.2.1).
pub mod tag {
    /// The host's call identifier.
    pub const CALL_ID: &str = "JYQQ_CALL_ID";
    /// Leg A's (inmate side) number or account as the host gives it.
    pub const LEG_A: &str = "JYQQ_LEG_A";
    /// Leg B's (family side) number as the host gives it.
    pub const LEG_B: &str = "JYQQ_LEG_B";
    /// Call start, UTC as the host gives it (RFC 3339 recommended).
    pub const START: &str = "JYQQ_START_UTC";
    /// The recording policy the host applied (e.g. `record`).
    pub const POLICY: &str = "JYQQ_POLICY";
    /// Segment number of a rotated recording (0 = first file).
    pub const SEGMENT: &str = "JYQQ_SEGMENT";
    /// The standard Vorbis-comment date field, set to the start time.
    pub const DATE: &str = "DATE";
}

/// Facts about a call that go into the recording's OpusTags and the evidence manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordingMetadata {
    /// The host's call identifier.
    pub call_id: String,
    /// Leg A's and leg B's numbers (channel 0 and channel 1), as supplied by the host.
    pub legs: [String; 2],
    /// Call start, UTC, as the host gives it (RFC 3339 recommended, e.g. `2026-03-01T08:00:00Z`).
    pub start_utc: String,
    /// The policy applied to the call (e.g. `record`, `record+monitor`).
    pub policy: String,
}

impl RecordingMetadata {
    /// Metadata with the given call id, leg numbers, start time and policy.
    pub fn new(call_id: &str, leg_a: &str, leg_b: &str, start_utc: &str, policy: &str) -> Self {
        RecordingMetadata {
            call_id: call_id.to_owned(),
            legs: [leg_a.to_owned(), leg_b.to_owned()],
            start_utc: start_utc.to_owned(),
            policy: policy.to_owned(),
        }
    }

    /// The OpusTags comments (`KEY=value`, RFC 7845 §5.2) for this metadata. Control
    /// characters in values are replaced by spaces (a comment is one line of UTF-8).
    pub fn tags(&self) -> Vec<String> {
        let clean = |s: &str| s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>();
        vec![
            format!("{}={}", tag::CALL_ID, clean(&self.call_id)),
            format!("{}={}", tag::LEG_A, clean(&self.legs[0])),
            format!("{}={}", tag::LEG_B, clean(&self.legs[1])),
            format!("{}={}", tag::START, clean(&self.start_utc)),
            format!("{}={}", tag::DATE, clean(&self.start_utc)),
            format!("{}={}", tag::POLICY, clean(&self.policy)),
        ]
    }

    /// Reads the metadata back from OpusTags comments (the fields of [`tags`](Self::tags));
    /// missing fields are empty.
    pub fn from_tags(comments: &[String]) -> RecordingMetadata {
        let get = |key: &str| {
            comments
                .iter()
                .find_map(|c| {
                    let (k, v) = c.split_once('=')?;
                    k.eq_ignore_ascii_case(key).then(|| v.to_owned())
                })
                .unwrap_or_default()
        };
        RecordingMetadata {
            call_id: get(tag::CALL_ID),
            legs: [get(tag::LEG_A), get(tag::LEG_B)],
            start_utc: get(tag::START),
            policy: get(tag::POLICY),
        }
    }
}

/// Formats `unix_ns` (nanoseconds since 1970-01-01T00:00:00Z, from the host's clock) as
/// RFC 3339 UTC with milliseconds, e.g. `2026-03-01T08:00:00.250Z` (proleptic Gregorian
/// calendar, no leap seconds).
pub fn format_utc(unix_ns: u64) -> String {
    let ms = unix_ns / 1_000_000;
    let (days, rem) = ((ms / 86_400_000) as i64, ms % 86_400_000);
    // Civil date from days since the epoch (H. Hinnant, "chrono-compatible low-level date algorithms").
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (h, mi, s, milli) = (rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60, rem % 1000);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formatting() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00.000Z");
        // 2000-02-29 (leap day) 12:34:56.789
        assert_eq!(format_utc(951_827_696_789_000_000), "2000-02-29T12:34:56.789Z");
        assert_eq!(format_utc(1_772_352_000_000_000_000), "2026-03-01T08:00:00.000Z");
    }

    #[test]
    fn tags_round_trip() {
        let m = RecordingMetadata::new("C-42", "1001\n", "+86 138 0000 0000", "2026-03-01T08:00:00Z", "record");
        let t = m.tags();
        assert_eq!(t[0], "JYQQ_CALL_ID=C-42");
        assert_eq!(t[1], "JYQQ_LEG_A=1001 ");
        assert_eq!(t[4], "DATE=2026-03-01T08:00:00Z");
        let back = RecordingMetadata::from_tags(&t);
        assert_eq!(back.call_id, "C-42");
        assert_eq!(back.legs[1], "+86 138 0000 0000");
        assert_eq!(back.policy, "record");
    }
}
