//! `jyqq_session`: one call, driven by the C host (DESIGN.md §1 and §4).

use super::config::jyqq_session_config;
use super::convert;
use super::event_json;
use super::handle::{self, code, free_handle, register, with_handle, Kind};
use super::result::jyqq_result;
use super::types::*;
use crate::session::{CallSession, Output};
use crate::time::HostTime;
use std::ffi::{c_char, c_void};

/// A call session (see `CallSession` in the Rust docs). Opaque; not thread-safe: use each
/// session from one thread at a time (sessions are independent of each other).
pub struct jyqq_session {
    pub(crate) session: CallSession,
    /// The output the last `jyqq_session_poll_output` handed out: its buffers back the
    /// pointers in the host's `jyqq_output` until the next call on the session.
    current: Option<Output>,
    /// The JSON of the current event output, NUL-terminated.
    json: String,
    pub(crate) samples_per_frame: usize,
}

/// Runs `f` on a live session after dropping the previous output (its pointers are void
/// from the next call on, as documented).
pub(crate) unsafe fn with_session(
    s: *mut jyqq_session,
    f: impl FnOnce(&mut jyqq_session) -> Result<(), jyqq_result>,
) -> jyqq_result {
    // SAFETY: Kind::Session handles are Box<jyqq_session> (see jyqq_session_new).
    unsafe {
        with_handle(s, Kind::Session, |s| {
            s.current = None;
            code(f(s))
        })
    }
}

/// Creates a session from `cfg` at host time `now_ns` (monotonic ns, epoch of the host's
/// choosing: the session's clock starts here and its first `JYQQ_OUTPUT_TIMEOUT` is at
/// `now_ns`). The configuration is not consumed. Free the session with
/// `jyqq_session_free`.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`, `JYQQ_CONFIG_INCOMPLETE` (a leg
/// not set), `JYQQ_UNSUPPORTED_CODEC`, `JYQQ_NO_COMMON_RATE`, `JYQQ_INVALID_VALUE` (a
/// warning's tone or lead time out of range, a ptime that is not a whole number of
/// samples), `JYQQ_CODEC_FAILURE`, `JYQQ_RECORDER_FAILURE`.
///
/// # Safety
/// `cfg` is a live configuration or NULL; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_new(
    cfg: *mut jyqq_session_config,
    now_ns: u64,
    out: *mut *mut jyqq_session,
) -> jyqq_result {
    // SAFETY: Kind::SessionConfig handles are Box<jyqq_session_config>.
    unsafe {
        with_handle(cfg, Kind::SessionConfig, |c| {
            code((|| {
                let out = handle::out(out)?;
                let config = c.build()?;
                let ptime = config.ptime;
                let session = CallSession::new(config, HostTime(now_ns))?;
                let samples_per_frame = session.rate().samples_in(ptime);
                let s = jyqq_session { session, current: None, json: String::new(), samples_per_frame };
                handle::write(out, register(s, Kind::Session));
                Ok(())
            })())
        })
    }
}

/// Frees a session and everything it holds (an unfinished recording stays unfinished:
/// disconnect and drain first). NULL is a no-op.
///
/// Errors: `JYQQ_INVALID_HANDLE` (not a live session, e.g. freed twice),
/// `JYQQ_HANDLE_BUSY`.
///
/// # Safety
/// `s` is NULL or a pointer `jyqq_session_new` returned.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_free(s: *mut jyqq_session) -> jyqq_result {
    // SAFETY: Kind::Session handles are Box<jyqq_session>.
    unsafe { free_handle(s, Kind::Session) }
}

/// The session's internal mixing rate (Hz) and the samples per channel of one frame
/// (ptime) at that rate: the exact length `jyqq_session_push_guard_audio` takes.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`.
///
/// # Safety
/// `s` is a live session or NULL; the out-pointers are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_frame_info(
    s: *mut jyqq_session,
    rate_hz: *mut u32,
    samples_per_frame: *mut usize,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_session(s, |s| {
            let (r, n) = (handle::out(rate_hz)?, handle::out(samples_per_frame)?);
            handle::write(r, s.session.rate().hz());
            handle::write(n, s.samples_per_frame);
            Ok(())
        })
    }
}

/// Marks the call answered at `now_ns`: talk time, warnings and the time limit count
/// from here. A second answer, or one after the end, does nothing.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`.
///
/// # Safety
/// `s` is a live session or NULL.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_answer(s: *mut jyqq_session, now_ns: u64) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_session(s, |s| {
            s.session.answer(HostTime(now_ns));
            Ok(())
        })
    }
}

/// A datagram of `len` bytes at `data` arrived on leg `leg`'s media port at `now_ns`
/// from `from` (`"192.0.2.1:4000"`, `"[2001:db8::1]:4000"`). Malformed, foreign-source
/// and duplicate packets are counted and dropped (not an error); after the end they are
/// ignored. Then drain `jyqq_session_poll_output`.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`, `JYQQ_INVALID_LEG`,
/// `JYQQ_INVALID_LENGTH` (`len` 0), `JYQQ_INVALID_UTF8`, `JYQQ_INVALID_ADDRESS`, and
/// `JYQQ_CODEC_FAILURE` / `JYQQ_RECORDER_FAILURE` from the frame ticks this call ran.
///
/// # Safety
/// `s` is a live session or NULL; `from` is NULL or NUL-terminated; `data` is NULL or
/// points to `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_handle_rtp(
    s: *mut jyqq_session,
    now_ns: u64,
    leg: jyqq_leg,
    from: *const c_char,
    data: *const u8,
    len: usize,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_session(s, |s| {
            let l = convert::leg(leg)?;
            let from = convert::address(handle::string(from)?)?;
            let bytes = handle::data(data, len)?;
            s.session.handle_rtp(HostTime(now_ns), l, from, bytes)?;
            Ok(())
        })
    }
}

/// As `jyqq_session_handle_rtp`, with the source as the `struct sockaddr_in` or
/// `sockaddr_in6` that `recvfrom`/`recvmsg` filled (`sockaddr_len` bytes: at least
/// `sizeof(struct sockaddr_in)`, and `sizeof(struct sockaddr_in6)` for `AF_INET6`).
/// Unix only; elsewhere it returns `JYQQ_INVALID_ADDRESS`.
///
/// Errors: as `jyqq_session_handle_rtp`; `JYQQ_INVALID_LENGTH` for a short `sockaddr`,
/// `JYQQ_INVALID_ADDRESS` for another family.
///
/// # Safety
/// As `jyqq_session_handle_rtp`; `sockaddr` is NULL or points to `sockaddr_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_handle_rtp_sockaddr(
    s: *mut jyqq_session,
    now_ns: u64,
    leg: jyqq_leg,
    sockaddr: *const c_void,
    sockaddr_len: usize,
    data: *const u8,
    len: usize,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_session(s, |s| {
            let l = convert::leg(leg)?;
            let from = convert::sockaddr(handle::data(sockaddr.cast(), sockaddr_len)?)?;
            let bytes = handle::data(data, len)?;
            s.session.handle_rtp(HostTime(now_ns), l, from, bytes)?;
            Ok(())
        })
    }
}

/// Advances the session's clock to `now_ns`, running every frame tick due (call it at
/// the time the last `JYQQ_OUTPUT_TIMEOUT` gave, or later). Then drain
/// `jyqq_session_poll_output`.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`, `JYQQ_CODEC_FAILURE`,
/// `JYQQ_RECORDER_FAILURE`.
///
/// # Safety
/// `s` is a live session or NULL.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_handle_timeout(s: *mut jyqq_session, now_ns: u64) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_session(s, |s| {
            s.session.handle_timeout(HostTime(now_ns))?;
            Ok(())
        })
    }
}

/// Writes the next output to `*out`. Poll after every `handle_*` and command until it
/// gives `JYQQ_OUTPUT_TIMEOUT` (then wait until its `at_ns`) or `JYQQ_OUTPUT_NONE` (the
/// call has ended and everything was drained: free the session). The pointers in `*out`
/// point into the session and stay valid until the next call on it.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`.
///
/// # Safety
/// `s` is a live session or NULL; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_poll_output(
    s: *mut jyqq_session,
    now_ns: u64,
    out: *mut jyqq_output,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_session(s, |s| {
            let out = handle::out(out)?;
            let next = s.session.poll_output(HostTime(now_ns));
            let o = fill(s, next);
            handle::write(out, o);
            Ok(())
        })
    }
}

/// Keeps `next` in the session and describes it for C.
fn fill(s: &mut jyqq_session, next: Option<Output>) -> jyqq_output {
    let Some(next) = next else { return jyqq_output::empty(JYQQ_OUTPUT_NONE) };
    let mut o;
    match &next {
        Output::Transmit { leg, packet } => {
            o = jyqq_output::empty(JYQQ_OUTPUT_TRANSMIT);
            o.leg = convert::leg_code(*leg);
            o.data = packet.as_ptr();
            o.len = packet.len();
        }
        Output::Tap { tap, pcm, channels, rate, at } => {
            o = jyqq_output::empty(JYQQ_OUTPUT_TAP);
            o.tap = tap.0;
            o.channels = u32::from(*channels);
            o.rate_hz = *rate;
            o.at_ns = at.as_nanos();
            o.pcm = pcm.as_ptr();
            o.samples_per_channel = pcm.len() / usize::from((*channels).max(1));
        }
        Output::Recording(page) => {
            o = jyqq_output::empty(JYQQ_OUTPUT_RECORDING);
            o.data = page.data.as_ptr();
            o.len = page.data.len();
            o.granule = page.granule;
            o.page_sequence = page.sequence;
            o.segment = page.segment;
            o.eos = page.eos;
        }
        Output::Event(ev) => {
            o = jyqq_output::empty(JYQQ_OUTPUT_EVENT);
            let info = event_json::describe(ev);
            o.event = info.code;
            o.leg = info.leg.map_or(JYQQ_LEG_NONE, convert::leg_code);
            o.tap = info.tap;
            o.playback = info.playback;
            o.at_ns = ev.at.as_nanos();
            s.json = info.json;
            o.json_len = s.json.len();
            s.json.push('\0');
            o.json = s.json.as_ptr().cast();
        }
        Output::Timeout(at) => {
            o = jyqq_output::empty(JYQQ_OUTPUT_TIMEOUT);
            o.at_ns = at.as_nanos();
        }
        #[allow(unreachable_patterns)] // Output is non_exhaustive: a future kind
        _ => {
            o = jyqq_output::empty(JYQQ_OUTPUT_EVENT);
            o.event = JYQQ_EVENT_OTHER;
        }
    }
    // Moving the Output into the session does not move its heap buffers: the pointers stay valid.
    s.current = Some(next);
    o
}

/// Re-binds leg `leg`'s remote media address (`"192.0.2.1:4000"`) after signalling
/// changed it (re-INVITE): packets from the new address are accepted at once, from the
/// old one dropped.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`, `JYQQ_INVALID_LEG`,
/// `JYQQ_INVALID_UTF8`, `JYQQ_INVALID_ADDRESS`.
///
/// # Safety
/// `s` is a live session or NULL; `remote` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_bind_remote(
    s: *mut jyqq_session,
    leg: jyqq_leg,
    remote: *const c_char,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_session(s, |s| {
            let l = convert::leg(leg)?;
            let a = convert::address(handle::string(remote)?)?;
            s.session.bind_remote(l, a);
            Ok(())
        })
    }
}

/// Whether the call has ended (`*ended` true), e.g. at the time limit.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`.
///
/// # Safety
/// `s` is a live session or NULL; `ended` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_is_ended(s: *mut jyqq_session, ended: *mut bool) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_session(s, |s| {
            let out = handle::out(ended)?;
            handle::write(out, s.session.is_ended());
            Ok(())
        })
    }
}

/// The call's summary at `now_ns` as JSON (UTF-8): talk time, digits, alarms, three-way
/// signals, quality per leg and the bill (the crate's `CdrSummary`). Writes it with a
/// terminating NUL into `buf` (`len` bytes) and its length without the NUL to
/// `*out_len`. When `len` is too small (e.g. 0 with `buf` NULL, to ask the size), returns
/// `JYQQ_BUFFER_TOO_SMALL` with the JSON length written to `*out_len` and nothing to
/// `buf`: allocate `*out_len + 1` bytes and call again with the same `now_ns`.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`, `JYQQ_BUFFER_TOO_SMALL`.
///
/// # Safety
/// `s` is a live session or NULL; `buf` is NULL or writable for `len` bytes; `out_len`
/// is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_summary_json(
    s: *mut jyqq_session,
    now_ns: u64,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_session(s, |s| {
            let n = handle::out(out_len)?;
            let summary = s.session.summary(HostTime(now_ns));
            let json = serde_json::to_string(&summary).map_err(|_| jyqq_result::JYQQ_INTERNAL_ERROR)?;
            copy_out(json.as_bytes(), true, buf.cast(), len, n)
        })
    }
}

/// Copies `bytes` (plus a NUL when `nul`) into `buf`, rustls-ffi style: `*out_len` gets
/// `bytes.len()` in every case; `buf` is written only when it holds everything.
///
/// # Safety
/// `buf` is NULL or writable for `len` bytes; `out_len` is non-NULL and writable.
pub(crate) unsafe fn copy_out(
    bytes: &[u8],
    nul: bool,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> Result<(), jyqq_result> {
    let need = bytes.len().saturating_add(usize::from(nul));
    // SAFETY: out_len checked by the callers; buf is written only when it holds `need` bytes.
    unsafe {
        handle::write(out_len, bytes.len());
        if buf.is_null() || len < need {
            return Err(jyqq_result::JYQQ_BUFFER_TOO_SMALL);
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf, bytes.len());
        if nul {
            buf.add(bytes.len()).write(0);
        }
    }
    Ok(())
}
