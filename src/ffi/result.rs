//! `jyqq_result`: the status every C entry point returns, and the mapping from the crate's
//! errors to it.

use crate::capture::CaptureError;
use crate::mix::MixError;
use crate::record::RecordError;
use crate::session::SessionError;

/// The status of a C API call. Numbered in blocks; a number once given is never changed
/// or reused (new codes are only added):
///
/// - `0`: success;
/// - `1xx`: the arguments are wrong (the caller's bug; nothing changed);
/// - `2xx`: the object's state refuses the call (the call ended, the policy forbids it);
/// - `3xx`: media errors (codec, recorder, capture and Ogg input);
/// - `9xx`: internal errors (a bug in this library).
///
/// Outputs are written only when a function returns [`JYQQ_OK`](jyqq_result::JYQQ_OK),
/// except where a function documents otherwise (the required size after
/// [`JYQQ_BUFFER_TOO_SMALL`](jyqq_result::JYQQ_BUFFER_TOO_SMALL)).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types)]
pub enum jyqq_result {
    /// Success.
    JYQQ_OK = 0,
    /// A required pointer argument is NULL (a NULL buffer with a non-zero length, or a NULL
    /// handle or out-pointer).
    JYQQ_NULL_PARAMETER = 100,
    /// A buffer length is wrong: zero where data is required, not a whole number of frames
    /// of the given channels, or not the length the object works with (e.g. guard audio
    /// that is not exactly one frame, a `sockaddr` shorter than its family needs).
    JYQQ_INVALID_LENGTH = 101,
    /// A leg number is neither `JYQQ_LEG_A` (0) nor `JYQQ_LEG_B` (1).
    JYQQ_INVALID_LEG = 102,
    /// No tap with this id on the session (never added, or already removed).
    JYQQ_UNKNOWN_TAP = 103,
    /// A string argument is not valid UTF-8.
    JYQQ_INVALID_UTF8 = 104,
    /// An address does not parse (`"192.0.2.1:4000"`, `"[2001:db8::1]:4000"`), or a
    /// `sockaddr` is of another family than `AF_INET`/`AF_INET6`.
    JYQQ_INVALID_ADDRESS = 105,
    /// A numeric or enumerated argument is out of range: an unknown policy, tap mode,
    /// target, play mode or end cause; a tone frequency not in (0, rate/2) or a level above
    /// +3 dBm0; a zero duration, rate, channel count or ptime; a payload type above 127.
    JYQQ_INVALID_VALUE = 106,
    /// The caller's buffer is too small; the required length was written to the size
    /// out-parameter (the only output written on failure).
    JYQQ_BUFFER_TOO_SMALL = 107,
    /// The handle is not a live object of the expected type: NULL-free garbage, a handle
    /// already passed to its `_free`, or a handle of another type. Detected through a
    /// registry of live handles, without touching the pointed-to memory (see the module docs
    /// for what cannot be detected).
    JYQQ_INVALID_HANDLE = 108,
    /// An index (call, payload, datagram) is past the end of its list.
    JYQQ_INDEX_OUT_OF_RANGE = 109,
    /// A session configuration is incomplete: a leg's send codec was never set.
    JYQQ_CONFIG_INCOMPLETE = 110,
    /// The call has ended: commands are refused (packets and timeouts are still accepted
    /// and ignored).
    JYQQ_CALL_ENDED = 200,
    /// The call's policy forbids this: a tap (or a playback to a tap) under a no-monitor or
    /// no-record policy.
    JYQQ_FORBIDDEN_BY_POLICY = 201,
    /// The session already holds its maximum number of taps.
    JYQQ_TOO_MANY_TAPS = 202,
    /// The handle is in use by a call on another thread (a handle is not thread-safe: use
    /// each from one thread at a time), or is being freed.
    JYQQ_HANDLE_BUSY = 203,
    /// A leg's codec cannot be used by this build (unknown name, or not at the session's
    /// rate: e.g. sending G.722, which has no encoder yet).
    JYQQ_UNSUPPORTED_CODEC = 300,
    /// The legs' codecs have no common internal rate (e.g. PCMU on one leg, G.722 on the
    /// other).
    JYQQ_NO_COMMON_RATE = 301,
    /// A codec (libopus, G.711) failed.
    JYQQ_CODEC_FAILURE = 302,
    /// The recorder failed (its configuration, or its Opus encoder).
    JYQQ_RECORDER_FAILURE = 303,
    /// The bytes are not a packet capture this library reads (pcap, pcapng, rtpproxy
    /// adhoc), or the capture's header is truncated or invalid, or its link type unsupported.
    JYQQ_NOT_A_CAPTURE = 310,
    /// The capture holds no RTP stream.
    JYQQ_NO_RTP = 311,
    /// The bytes hold no readable Ogg Opus stream (no valid page, no OpusHead, or an
    /// invalid OpusHead).
    JYQQ_NOT_OGG_OPUS = 320,
    /// The recording's signed manifest cannot be read, or the public key is not a valid
    /// Ed25519 key.
    JYQQ_MANIFEST_UNREADABLE = 321,
    /// An error this version of the C API has no code for (a new error kind of the Rust
    /// core): a bug to report.
    JYQQ_INTERNAL_ERROR = 900,
    /// The library panicked during the call (a bug to report). A session whose call
    /// panicked is poisoned: every later call on it except `_free` returns `JYQQ_PANIC`.
    JYQQ_PANIC = 999,
}

/// Every code, for lookups by number.
pub(crate) const ALL: [jyqq_result; 26] = {
    use jyqq_result::*;
    [
        JYQQ_OK,
        JYQQ_NULL_PARAMETER,
        JYQQ_INVALID_LENGTH,
        JYQQ_INVALID_LEG,
        JYQQ_UNKNOWN_TAP,
        JYQQ_INVALID_UTF8,
        JYQQ_INVALID_ADDRESS,
        JYQQ_INVALID_VALUE,
        JYQQ_BUFFER_TOO_SMALL,
        JYQQ_INVALID_HANDLE,
        JYQQ_INDEX_OUT_OF_RANGE,
        JYQQ_CONFIG_INCOMPLETE,
        JYQQ_CALL_ENDED,
        JYQQ_FORBIDDEN_BY_POLICY,
        JYQQ_TOO_MANY_TAPS,
        JYQQ_HANDLE_BUSY,
        JYQQ_UNSUPPORTED_CODEC,
        JYQQ_NO_COMMON_RATE,
        JYQQ_CODEC_FAILURE,
        JYQQ_RECORDER_FAILURE,
        JYQQ_NOT_A_CAPTURE,
        JYQQ_NO_RTP,
        JYQQ_NOT_OGG_OPUS,
        JYQQ_MANIFEST_UNREADABLE,
        JYQQ_INTERNAL_ERROR,
        JYQQ_PANIC,
    ]
};

impl jyqq_result {
    /// A static, NUL-terminated English description of the code.
    pub fn text(self) -> &'static str {
        use jyqq_result::*;
        match self {
            JYQQ_OK => "success\0",
            JYQQ_NULL_PARAMETER => "a required pointer argument is NULL\0",
            JYQQ_INVALID_LENGTH => "a buffer length is wrong for this call\0",
            JYQQ_INVALID_LEG => "the leg is neither JYQQ_LEG_A nor JYQQ_LEG_B\0",
            JYQQ_UNKNOWN_TAP => "no tap with this id on the session\0",
            JYQQ_INVALID_UTF8 => "a string argument is not valid UTF-8\0",
            JYQQ_INVALID_ADDRESS => "the address does not parse or is not IPv4/IPv6\0",
            JYQQ_INVALID_VALUE => "a numeric or enumerated argument is out of range\0",
            JYQQ_BUFFER_TOO_SMALL => "the buffer is too small; the required size was written\0",
            JYQQ_INVALID_HANDLE => "the handle is not a live object of the expected type\0",
            JYQQ_INDEX_OUT_OF_RANGE => "the index is past the end of the list\0",
            JYQQ_CONFIG_INCOMPLETE => "the session configuration lacks a leg's send codec\0",
            JYQQ_CALL_ENDED => "the call has ended\0",
            JYQQ_FORBIDDEN_BY_POLICY => "forbidden by the call's policy\0",
            JYQQ_TOO_MANY_TAPS => "the session holds its maximum number of taps\0",
            JYQQ_HANDLE_BUSY => "the handle is in use by another thread\0",
            JYQQ_UNSUPPORTED_CODEC => "unsupported codec\0",
            JYQQ_NO_COMMON_RATE => "the legs' codecs have no common rate\0",
            JYQQ_CODEC_FAILURE => "a codec failed\0",
            JYQQ_RECORDER_FAILURE => "the recorder failed\0",
            JYQQ_NOT_A_CAPTURE => "not a readable packet capture\0",
            JYQQ_NO_RTP => "the capture holds no RTP stream\0",
            JYQQ_NOT_OGG_OPUS => "not a readable Ogg Opus stream\0",
            JYQQ_MANIFEST_UNREADABLE => "the signed manifest or the public key cannot be read\0",
            JYQQ_INTERNAL_ERROR => "internal error\0",
            JYQQ_PANIC => "the library panicked (bug)\0",
        }
    }
}

impl From<MixError> for jyqq_result {
    fn from(e: MixError) -> Self {
        match e {
            MixError::FrameLength { .. } | MixError::BadPcm(_) => jyqq_result::JYQQ_INVALID_LENGTH,
            MixError::MonitoringNotAllowed => jyqq_result::JYQQ_FORBIDDEN_BY_POLICY,
            MixError::TooManyTaps(_) => jyqq_result::JYQQ_TOO_MANY_TAPS,
            MixError::UnknownTap(_) => jyqq_result::JYQQ_UNKNOWN_TAP,
            MixError::BadTone(_)
            | MixError::BadCadence(_)
            | MixError::BadConfig(_)
            | MixError::RateMismatch { .. }
            | MixError::LeadExceedsLimit { .. } => jyqq_result::JYQQ_INVALID_VALUE,
            _ => jyqq_result::JYQQ_INTERNAL_ERROR,
        }
    }
}

impl From<RecordError> for jyqq_result {
    fn from(e: RecordError) -> Self {
        match e {
            RecordError::Config(_) | RecordError::Codec(_) => jyqq_result::JYQQ_RECORDER_FAILURE,
            RecordError::NoOggPage { .. }
            | RecordError::NotOggOpus { .. }
            | RecordError::InvalidOpusHead(_)
            | RecordError::InvalidOpusTags(_)
            | RecordError::OggTruncated { .. }
            | RecordError::OggCapturePattern
            | RecordError::OggVersion(_)
            | RecordError::OggCrc { .. } => jyqq_result::JYQQ_NOT_OGG_OPUS,
            _ => jyqq_result::JYQQ_INTERNAL_ERROR,
        }
    }
}

impl From<SessionError> for jyqq_result {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::UnsupportedCodec(_) => jyqq_result::JYQQ_UNSUPPORTED_CODEC,
            SessionError::NoCommonRate(_) => jyqq_result::JYQQ_NO_COMMON_RATE,
            SessionError::Forbidden(_) => jyqq_result::JYQQ_FORBIDDEN_BY_POLICY,
            SessionError::Ended => jyqq_result::JYQQ_CALL_ENDED,
            SessionError::Codec(_) => jyqq_result::JYQQ_CODEC_FAILURE,
            SessionError::Mix(m) => m.into(),
            SessionError::Record(r) => match jyqq_result::from(r) {
                jyqq_result::JYQQ_NOT_OGG_OPUS => jyqq_result::JYQQ_RECORDER_FAILURE,
                other => other,
            },
            #[allow(unreachable_patterns)] // non_exhaustive: a future error kind
            _ => jyqq_result::JYQQ_INTERNAL_ERROR,
        }
    }
}

impl From<CaptureError> for jyqq_result {
    fn from(_: CaptureError) -> Self {
        jyqq_result::JYQQ_NOT_A_CAPTURE
    }
}

#[cfg(test)]
mod tests {
    use super::jyqq_result::*;
    use super::*;

    /// The numbers are ABI: this test pins every one of them.
    #[test]
    fn codes_are_never_renumbered() {
        let pinned = [
            (JYQQ_OK, 0u32),
            (JYQQ_NULL_PARAMETER, 100),
            (JYQQ_INVALID_LENGTH, 101),
            (JYQQ_INVALID_LEG, 102),
            (JYQQ_UNKNOWN_TAP, 103),
            (JYQQ_INVALID_UTF8, 104),
            (JYQQ_INVALID_ADDRESS, 105),
            (JYQQ_INVALID_VALUE, 106),
            (JYQQ_BUFFER_TOO_SMALL, 107),
            (JYQQ_INVALID_HANDLE, 108),
            (JYQQ_INDEX_OUT_OF_RANGE, 109),
            (JYQQ_CONFIG_INCOMPLETE, 110),
            (JYQQ_CALL_ENDED, 200),
            (JYQQ_FORBIDDEN_BY_POLICY, 201),
            (JYQQ_TOO_MANY_TAPS, 202),
            (JYQQ_HANDLE_BUSY, 203),
            (JYQQ_UNSUPPORTED_CODEC, 300),
            (JYQQ_NO_COMMON_RATE, 301),
            (JYQQ_CODEC_FAILURE, 302),
            (JYQQ_RECORDER_FAILURE, 303),
            (JYQQ_NOT_A_CAPTURE, 310),
            (JYQQ_NO_RTP, 311),
            (JYQQ_NOT_OGG_OPUS, 320),
            (JYQQ_MANIFEST_UNREADABLE, 321),
            (JYQQ_INTERNAL_ERROR, 900),
            (JYQQ_PANIC, 999),
        ];
        assert_eq!(pinned.len(), ALL.len());
        for (i, (r, n)) in pinned.into_iter().enumerate() {
            assert_eq!(ALL[i], r);
            assert_eq!(r as u32, n, "{r:?}");
            assert!(r.text().ends_with('\0') && r.text().len() > 1, "{r:?}");
        }
    }

    #[test]
    fn errors_map_to_their_block() {
        assert_eq!(jyqq_result::from(SessionError::Ended), JYQQ_CALL_ENDED);
        assert_eq!(jyqq_result::from(SessionError::Forbidden("no-record")), JYQQ_FORBIDDEN_BY_POLICY);
        assert_eq!(jyqq_result::from(SessionError::UnsupportedCodec("G729".into())), JYQQ_UNSUPPORTED_CODEC);
        assert_eq!(
            jyqq_result::from(SessionError::Mix(MixError::FrameLength { expected: 160, got: 3 })),
            JYQQ_INVALID_LENGTH
        );
        assert_eq!(jyqq_result::from(SessionError::Mix(MixError::UnknownTap(crate::mix::TapId(9)))), JYQQ_UNKNOWN_TAP);
        assert_eq!(jyqq_result::from(RecordError::NotOggOpus { crc_failures: 0 }), JYQQ_NOT_OGG_OPUS);
        assert_eq!(jyqq_result::from(SessionError::Record(RecordError::Config("rate".into()))), JYQQ_RECORDER_FAILURE);
        assert_eq!(jyqq_result::from(CaptureError::NotACapture), JYQQ_NOT_A_CAPTURE);
    }
}
