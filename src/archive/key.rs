//! Object keys of archived recordings, derived from the call id and the call's start time
//! only, so that the same call is always stored under the same key: an upload repeated
//! after a crash or a restart overwrites its own object and never creates a second copy
//! under another name.
//!
//! A call's folder is `YYYY/MM/DD/START_CALLID`: the UTC date of the start (a bucket listing
//! per day is cheap), then the start time without separators and the call id, both reduced
//! to the characters every S3 implementation and file system accepts. The object key of a
//! file is `PREFIX` + folder + `/` + file name; the local spool uses the same folder under
//! its `pending/` directory, so the key of a spooled file is its path relative to it.

use sha2::{Digest, Sha256};

/// Longest call id or start text kept verbatim in a folder name (bytes); longer ones are
/// cut and tagged with a hash of the full value.
pub const MAX_NAME_PART: usize = 64;

/// The folder of undated calls (a start time that is not `YYYY-MM-DD…`).
pub const UNDATED: &str = "0000/00/00";

/// The folder (`YYYY/MM/DD/START_CALLID`, four `/`-separated parts, no leading or trailing
/// `/`) of the call `call_id` that started at `start_utc` (RFC 3339, as the host gave it to
/// [`RecordingMetadata`](crate::record::RecordingMetadata)).
///
/// Characters outside `A-Z a-z 0-9 . _ -` become `_`; when anything was replaced or cut,
/// `~` and the first 8 hex digits of SHA-256 of the original text are appended, so two
/// different ids never share a folder. A start time that does not begin with a date
/// `YYYY-MM-DD` goes under [`UNDATED`].
pub fn call_folder(call_id: &str, start_utc: &str) -> String {
    let date = date_parts(start_utc).unwrap_or_else(|| UNDATED.to_owned());
    let compact: String = start_utc.chars().filter(|&c| c != '-' && c != ':').collect();
    format!("{date}/{}_{}", safe_part(&compact), safe_part(call_id))
}

/// The object key of `file` (a bare file name) in `folder` under `prefix` (`""` or a
/// prefix ending with `/`, e.g. `prison-07/`).
pub fn object_key(prefix: &str, folder: &str, file: &str) -> String {
    format!("{prefix}{folder}/{file}")
}

/// `YYYY/MM/DD` from a text starting `YYYY-MM-DD`.
fn date_parts(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if digits(0..4) && b.get(4) == Some(&b'-') && digits(5..7) && b.get(7) == Some(&b'-') && digits(8..10) {
        Some(format!("{}/{}/{}", &s[0..4], &s[5..7], &s[8..10]))
    } else {
        None
    }
}

/// `s` reduced to `A-Z a-z 0-9 . _ -`, at most [`MAX_NAME_PART`] bytes plus a hash tag
/// when anything changed; never empty and never starting with `.` (the spool's markers).
pub fn safe_part(s: &str) -> String {
    let mut out: String =
        s.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' }).collect();
    let mut changed = out != s;
    if out.starts_with('.') || out.is_empty() {
        out.insert(0, '_');
        changed = true;
    }
    if out.len() > MAX_NAME_PART {
        // Only ASCII is left, so any byte index is a char boundary.
        out.truncate(MAX_NAME_PART);
        changed = true;
    }
    if changed {
        let h = Sha256::digest(s.as_bytes());
        out.push('~');
        out.push_str(&hex::encode(&h[..4]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_from_call_id_and_start() {
        assert_eq!(call_folder("C-7", "2026-03-01T08:00:00.250Z"), "2026/03/01/20260301T080000.250Z_C-7");
        assert_eq!(
            object_key("prison-07/", &call_folder("C-7", "2026-03-01T08:00:00Z"), "call.opus"),
            "prison-07/2026/03/01/20260301T080000Z_C-7/call.opus"
        );
        // Same inputs, same key: the idempotence the restart relies on.
        assert_eq!(call_folder("x y", "2026-03-01T08:00:00Z"), call_folder("x y", "2026-03-01T08:00:00Z"));
    }

    #[test]
    fn unsafe_ids_are_replaced_and_tagged() {
        let a = call_folder("a/b", "2026-03-01T08:00:00Z");
        let b = call_folder("a?b", "2026-03-01T08:00:00Z");
        assert!(a.starts_with("2026/03/01/20260301T080000Z_a_b~"), "{a}");
        assert_eq!(a.split('/').count(), 4);
        assert_ne!(a, b, "different ids never share a folder");
        assert_eq!(safe_part("..").len(), 3 + 9);
        assert!(safe_part("").starts_with("_~"));
        let long = "9".repeat(200);
        assert_eq!(safe_part(&long).len(), MAX_NAME_PART + 9);
        assert_eq!(safe_part("呼叫-1"), format!("__-1~{}", &hex::encode(Sha256::digest("呼叫-1".as_bytes()))[..8]));
    }

    #[test]
    fn undated_start() {
        assert_eq!(call_folder("C", "yesterday"), "0000/00/00/yesterday_C");
        assert_eq!(call_folder("C", "2026-3-1"), "0000/00/00/202631_C");
    }
}
