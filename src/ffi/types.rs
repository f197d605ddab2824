//! The C-visible value types: numbered constants (each a `uint32_t` typedef with
//! `#define`d values, so any integer C passes is a valid Rust value and is range-checked),
//! and the plain structs the host fills in or reads.

use std::ffi::c_char;

/// A call leg: [`JYQQ_LEG_A`] (the inmate, recording channel 0) or [`JYQQ_LEG_B`] (the
/// family, channel 1). Anything else is `JYQQ_INVALID_LEG`.
pub type jyqq_leg = u32;
/// Leg A: the inmate's phone (recording channel 0, left).
pub const JYQQ_LEG_A: jyqq_leg = 0;
/// Leg B: the family member's phone (recording channel 1, right).
pub const JYQQ_LEG_B: jyqq_leg = 1;
/// In a [`jyqq_output`]: the event concerns no particular leg.
pub const JYQQ_LEG_NONE: jyqq_leg = 255;

/// The call's recording and monitoring policy (fail-closed; can be tightened, never
/// loosened).
pub type jyqq_policy = u32;
/// Recorded and monitorable (the normal case).
pub const JYQQ_POLICY_RECORD: jyqq_policy = 0;
/// Recorded, no live taps.
pub const JYQQ_POLICY_NO_MONITOR: jyqq_policy = 1;
/// Privileged (lawyer) call: no audio reaches any recorder or tap.
pub const JYQQ_POLICY_NO_RECORD: jyqq_policy = 2;

/// Whether and to whom a monitor (tap) speaks.
pub type jyqq_talk = u32;
/// The monitor only listens.
pub const JYQQ_TALK_NONE: jyqq_talk = 0;
/// Whisper: the monitor speaks to leg A only.
pub const JYQQ_TALK_WHISPER_A: jyqq_talk = 1;
/// Whisper: the monitor speaks to leg B only.
pub const JYQQ_TALK_WHISPER_B: jyqq_talk = 2;
/// Barge: the monitor speaks to both parties.
pub const JYQQ_TALK_BARGE: jyqq_talk = 3;

/// What a monitor hears (its `JYQQ_OUTPUT_TAP` frames).
pub type jyqq_listen = u32;
/// Hears nothing (talk-only whisper or barge; not allowed with `JYQQ_TALK_NONE`).
pub const JYQQ_LISTEN_NONE: jyqq_listen = 0;
/// Mono: the sum of both legs.
pub const JYQQ_LISTEN_MONO: jyqq_listen = 1;
/// Stereo, interleaved: leg A left, leg B right.
pub const JYQQ_LISTEN_STEREO: jyqq_listen = 2;
/// Mono: only what leg A says.
pub const JYQQ_LISTEN_ONLY_A: jyqq_listen = 3;
/// Mono: only what leg B says.
pub const JYQQ_LISTEN_ONLY_B: jyqq_listen = 4;

/// Who hears a tone or prompt.
pub type jyqq_target = u32;
/// The party on leg A.
pub const JYQQ_TARGET_LEG_A: jyqq_target = 0;
/// The party on leg B.
pub const JYQQ_TARGET_LEG_B: jyqq_target = 1;
/// Both parties.
pub const JYQQ_TARGET_BOTH_LEGS: jyqq_target = 2;
/// One monitor only (the `tap` argument names it).
pub const JYQQ_TARGET_TAP: jyqq_target = 3;

/// How a tone or prompt combines with the conversation.
pub type jyqq_play_mode = u32;
/// Added to the conversation.
pub const JYQQ_PLAY_MIX: jyqq_play_mode = 0;
/// The conversation is muted while it sounds (staff audio still passes).
pub const JYQQ_PLAY_REPLACE: jyqq_play_mode = 1;

/// Why a call ended.
pub type jyqq_end_cause = u32;
/// The inmate's side hung up.
pub const JYQQ_END_HANGUP_A: jyqq_end_cause = 0;
/// The family side hung up.
pub const JYQQ_END_HANGUP_B: jyqq_end_cause = 1;
/// The talk-time limit was reached (the session ends the call itself at the limit).
pub const JYQQ_END_TIME_LIMIT: jyqq_end_cause = 2;
/// Staff cut the call.
pub const JYQQ_END_STAFF_CUT: jyqq_end_cause = 3;
/// Media stopped (no packets).
pub const JYQQ_END_MEDIA_TIMEOUT: jyqq_end_cause = 4;
/// Any other reason.
pub const JYQQ_END_OTHER: jyqq_end_cause = 5;

/// What a [`jyqq_output`] holds.
pub type jyqq_output_kind = u32;
/// The call has ended and every output was drained: stop polling, free the session.
pub const JYQQ_OUTPUT_NONE: jyqq_output_kind = 0;
/// An RTP packet (`data`, `len`) to send to leg `leg`'s remote address.
pub const JYQQ_OUTPUT_TRANSMIT: jyqq_output_kind = 1;
/// One frame of what monitor `tap` hears: `pcm` (interleaved, `channels` 1 or 2),
/// `samples_per_channel` at `rate_hz`, starting at `at_ns`.
pub const JYQQ_OUTPUT_TAP: jyqq_output_kind = 2;
/// The next Ogg page of the recording (`data`, `len`) to append to the file, in order;
/// `granule`, `page_sequence`, `segment` and `eos` describe it.
pub const JYQQ_OUTPUT_RECORDING: jyqq_output_kind = 3;
/// Something happened: `event` (a `JYQQ_EVENT_*` code), `at_ns`, `leg`, `tap` or
/// `playback` where they apply, and the whole event as JSON (`json`, `json_len`).
pub const JYQQ_OUTPUT_EVENT: jyqq_output_kind = 4;
/// Nothing more until `at_ns`: call `jyqq_session_handle_timeout` then (or on the next
/// packet), and stop polling until then.
pub const JYQQ_OUTPUT_TIMEOUT: jyqq_output_kind = 5;

/// The kind of a `JYQQ_OUTPUT_EVENT` (numbers never change; the JSON's `type` names it).
pub type jyqq_event_kind = u32;
/// An event this version has no code for (see its JSON).
pub const JYQQ_EVENT_OTHER: jyqq_event_kind = 0;
/// The call was answered: talk time and the limit count from here.
pub const JYQQ_EVENT_ANSWERED: jyqq_event_kind = 1;
/// A monitor joined (`tap`).
pub const JYQQ_EVENT_TAP_JOINED: jyqq_event_kind = 2;
/// A monitor changed mode (`tap`).
pub const JYQQ_EVENT_TAP_CHANGED: jyqq_event_kind = 3;
/// A monitor left (`tap`; JSON `reason`: `removed` or `policy_revoked`).
pub const JYQQ_EVENT_TAP_LEFT: jyqq_event_kind = 4;
/// The policy was tightened (JSON `from`, `to`).
pub const JYQQ_EVENT_POLICY_CHANGED: jyqq_event_kind = 5;
/// A tone or prompt started sounding (`playback`).
pub const JYQQ_EVENT_PLAYBACK_STARTED: jyqq_event_kind = 6;
/// A tone or prompt finished (`playback`).
pub const JYQQ_EVENT_PLAYBACK_ENDED: jyqq_event_kind = 7;
/// A time-limit warning started (JSON `remaining_ms`).
pub const JYQQ_EVENT_WARNING: jyqq_event_kind = 8;
/// The talk-time limit was reached: media stopped at `at_ns`.
pub const JYQQ_EVENT_LIMIT_REACHED: jyqq_event_kind = 9;
/// No packet from `leg` for the media timeout.
pub const JYQQ_EVENT_MEDIA_TIMEOUT: jyqq_event_kind = 10;
/// The call ended (JSON `cause`); nothing more is forwarded or recorded.
pub const JYQQ_EVENT_ENDED: jyqq_event_kind = 11;
/// Analysis: a talkspurt began on `leg`.
pub const JYQQ_EVENT_TALKSPURT_START: jyqq_event_kind = 100;
/// Analysis: a talkspurt ended on `leg` (JSON `duration_ms`).
pub const JYQQ_EVENT_TALKSPURT_END: jyqq_event_kind = 101;
/// Analysis: a key press on `leg` (JSON `digit`, `source`, `duration_ms`, `level_dbm0`).
pub const JYQQ_EVENT_DIGIT: jyqq_event_kind = 102;
/// Analysis: metering started at the answer.
pub const JYQQ_EVENT_ANALYSIS_ANSWERED: jyqq_event_kind = 103;
/// Analysis: the call ended, with the bill (JSON `cause`, `bill`).
pub const JYQQ_EVENT_ANALYSIS_ENDED: jyqq_event_kind = 104;
/// Analysis: the connected-time limit was reached.
pub const JYQQ_EVENT_ANALYSIS_LIMIT_REACHED: jyqq_event_kind = 105;
/// Analysis: an alarm was raised or cleared on `leg` (JSON `alarm`, `raised`).
pub const JYQQ_EVENT_ALARM: jyqq_event_kind = 106;
/// Analysis, three-way-call signal: a hook-flash-like click on `leg`.
pub const JYQQ_EVENT_HOOK_FLASH: jyqq_event_kind = 107;
/// Analysis, three-way-call signal: a call-progress tone after the answer on `leg`.
pub const JYQQ_EVENT_PROGRESS_TONE: jyqq_event_kind = 108;
/// Analysis, three-way-call signal: the background noise floor dropped on `leg`.
pub const JYQQ_EVENT_NOISE_FLOOR_DROP: jyqq_event_kind = 109;

/// A payload format, as SDP's `a=rtpmap:<payload_type> <encoding_name>/<clock_rate>[/<channels>]`
/// and `a=fmtp:` describe it (RFC 4566 §6).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct jyqq_codec {
    /// Encoding name, NUL-terminated UTF-8, compared case-insensitively: `PCMU`, `PCMA`,
    /// `opus`, `G722`, `telephone-event`, `CN`. Required.
    pub encoding_name: *const c_char,
    /// The `a=fmtp` parameters (e.g. `useinbandfec=1`), or NULL.
    pub fmtp: *const c_char,
    /// RTP clock rate in ticks per second (not the audio rate: G.722 is 8000, Opus 48000).
    pub clock_rate: u32,
    /// RTP payload type, 0..=127.
    pub payload_type: u8,
    /// Audio channels; 0 is taken as 1 (SDP's default). Opus is 2 (RFC 7587 §7).
    pub channels: u8,
}

/// One output of `jyqq_session_poll_output`. Only the fields the `kind` names are set;
/// the others are zero (pointers NULL). Pointers point into the session and stay valid
/// until the next call on that session (any `jyqq_session_*` call, or its `_free`): copy
/// what you keep.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct jyqq_output {
    /// A `JYQQ_OUTPUT_*` code.
    pub kind: jyqq_output_kind,
    /// TRANSMIT: the leg the packet goes to; EVENT: the leg concerned or `JYQQ_LEG_NONE`.
    pub leg: jyqq_leg,
    /// TAP: the monitor; EVENT: the monitor of a `JYQQ_EVENT_TAP_*` event.
    pub tap: u32,
    /// EVENT: the playback of a `JYQQ_EVENT_PLAYBACK_*` event.
    pub playback: u32,
    /// EVENT: a `JYQQ_EVENT_*` code.
    pub event: jyqq_event_kind,
    /// TAP: channels of `pcm` (1 or 2).
    pub channels: u32,
    /// TAP: sampling rate of `pcm` in Hz.
    pub rate_hz: u32,
    /// RECORDING: the Ogg page sequence number (RFC 3533 §6).
    pub page_sequence: u32,
    /// RECORDING: the segment (file) the page belongs to: 0, or k after k rotations.
    pub segment: u32,
    /// RECORDING: whether this is the end-of-stream page (the last one).
    pub eos: bool,
    /// TAP: frame start; EVENT: when it happened; TIMEOUT: when to call
    /// `jyqq_session_handle_timeout` (host time, ns).
    pub at_ns: u64,
    /// RECORDING: the page's granule position (48 kHz samples including pre-skip;
    /// 0 on header pages).
    pub granule: u64,
    /// TRANSMIT: the complete RTP packet; RECORDING: the complete Ogg page.
    pub data: *const u8,
    /// Bytes at `data`.
    pub len: usize,
    /// TAP: interleaved PCM, `samples_per_channel` × `channels` samples.
    pub pcm: *const i16,
    /// TAP: samples per channel at `pcm` (one frame, e.g. 160 for 20 ms at 8 kHz).
    pub samples_per_channel: usize,
    /// EVENT: the event as a NUL-terminated JSON object (UTF-8) with at least `type` and
    /// `at_ns` (see the module docs for each type's fields).
    pub json: *const c_char,
    /// Bytes of `json` before its NUL.
    pub json_len: usize,
}

impl jyqq_output {
    /// An output of `kind` with every other field zero.
    pub(crate) fn empty(kind: jyqq_output_kind) -> Self {
        jyqq_output {
            kind,
            leg: 0,
            tap: 0,
            playback: 0,
            event: 0,
            channels: 0,
            rate_hz: 0,
            page_sequence: 0,
            segment: 0,
            eos: false,
            at_ns: 0,
            granule: 0,
            data: std::ptr::null(),
            len: 0,
            pcm: std::ptr::null(),
            samples_per_channel: 0,
            json: std::ptr::null(),
            json_len: 0,
        }
    }
}

/// One UDP datagram of a call in a capture (`jyqq_capture_call_datagram`). Pointers stay
/// valid until the capture is freed.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct jyqq_datagram {
    /// Arrival time as the capture recorded it (ns since the Unix epoch): use it as `now_ns`.
    pub time_ns: u64,
    /// The leg it arrived on (`JYQQ_LEG_A`: the leg whose first packet came first).
    pub leg: jyqq_leg,
    /// Its source, NUL-terminated: `"192.0.2.1:4000"` or `"[2001:db8::1]:4000"`.
    pub from: *const c_char,
    /// The UDP payload (RTP, or RTCP on a muxed port).
    pub data: *const u8,
    /// Bytes at `data`.
    pub len: usize,
}

/// What `jyqq_ogg_opus_info` reads from an Ogg Opus file (RFC 7845).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct jyqq_ogg_info {
    /// Playable duration in ns (granule span minus pre-skip and end trim, at 48 kHz).
    pub duration_ns: u64,
    /// Playable samples per channel at 48 kHz.
    pub total_samples: u64,
    /// Channels (OpusHead).
    pub channels: u32,
    /// Pre-skip in 48 kHz samples (OpusHead).
    pub pre_skip: u32,
    /// The original input rate in Hz (OpusHead; informational).
    pub input_rate_hz: u32,
    /// Pages of the Opus stream read.
    pub pages: u32,
    /// Pages dropped for a bad CRC.
    pub crc_failures: u32,
    /// Whether the last page carries the end-of-stream flag (a cleanly closed file).
    pub eos_on_last_page: bool,
    /// Whether the stream breaks none of the RFC 7845 rules checked.
    pub conformant: bool,
}
