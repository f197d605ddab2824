//! Commands on a running `jyqq_session`: monitors (taps) and their audio, tones and
//! prompts, the policy, and the end of the call.

use super::convert;
use super::handle;
use super::result::jyqq_result;
use super::session::{jyqq_session, with_session};
use super::types::*;
use crate::time::HostTime;

/// Attaches a monitor at `now_ns`: `talk` (`JYQQ_TALK_*`) says whom it speaks to,
/// `listen` (`JYQQ_LISTEN_*`) what it hears; writes its id to `*tap`.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`, `JYQQ_INVALID_VALUE` (unknown
/// constants, or neither talking nor listening), `JYQQ_FORBIDDEN_BY_POLICY`,
/// `JYQQ_TOO_MANY_TAPS`, `JYQQ_CALL_ENDED`.
///
/// # Safety
/// `s` is a live session or NULL; `tap` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_add_tap(
    s: *mut jyqq_session,
    now_ns: u64,
    talk: jyqq_talk,
    listen: jyqq_listen,
    tap: *mut u32,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_session(s, |s| {
            let out = handle::out(tap)?;
            let kind = convert::tap_kind(talk, listen)?;
            let id = s.session.add_tap(HostTime(now_ns), kind)?;
            handle::write(out, id.0);
            Ok(())
        })
    }
}

/// Switches monitor `tap` to another mode at `now_ns` (e.g. listen → whisper).
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`, `JYQQ_INVALID_VALUE`,
/// `JYQQ_UNKNOWN_TAP`.
///
/// # Safety
/// `s` is a live session or NULL.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_change_tap(
    s: *mut jyqq_session,
    now_ns: u64,
    tap: u32,
    talk: jyqq_talk,
    listen: jyqq_listen,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_session(s, |s| {
            let kind = convert::tap_kind(talk, listen)?;
            s.session.change_tap(HostTime(now_ns), crate::mix::TapId(tap), kind)?;
            Ok(())
        })
    }
}

/// Detaches monitor `tap` at `now_ns`.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`, `JYQQ_UNKNOWN_TAP`.
///
/// # Safety
/// `s` is a live session or NULL.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_remove_tap(s: *mut jyqq_session, now_ns: u64, tap: u32) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_session(s, |s| {
            s.session.remove_tap(HostTime(now_ns), crate::mix::TapId(tap))?;
            Ok(())
        })
    }
}

/// Monitor `tap`'s microphone audio for the next frame: mono PCM at the session's rate,
/// exactly one frame (`samples_per_channel` = the `samples_per_frame` of
/// `jyqq_session_frame_info`). Heard only by the legs the tap talks to.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`, `JYQQ_INVALID_LENGTH`,
/// `JYQQ_UNKNOWN_TAP`, `JYQQ_CALL_ENDED` (after the call ended).
///
/// # Safety
/// `s` is a live session or NULL; `pcm` is NULL or points to `samples_per_channel`
/// samples.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_push_guard_audio(
    s: *mut jyqq_session,
    tap: u32,
    pcm: *const i16,
    samples_per_channel: usize,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_session(s, |s| {
            if pcm.is_null() {
                return Err(jyqq_result::JYQQ_NULL_PARAMETER);
            }
            if samples_per_channel != s.samples_per_frame {
                return Err(jyqq_result::JYQQ_INVALID_LENGTH);
            }
            let pcm = handle::slice(pcm, samples_per_channel)?;
            s.session.push_guard_audio(crate::mix::TapId(tap), pcm)?;
            Ok(())
        })
    }
}

/// Plays a tone from `at_ns` (not before the next frame) to `target` (`JYQQ_TARGET_*`;
/// `tap` names the monitor for `JYQQ_TARGET_TAP`, else ignored), mixed or replacing the
/// conversation (`mode`, `JYQQ_PLAY_*`): a sine of `freq_hz` (0 < f < half the session's
/// rate) at `level_dbm0` (≤ +3 dBm0, A-law reference, ITU-T G.711 §5) for `duration_ms`.
/// Writes the playback id to `*playback` (events `JYQQ_EVENT_PLAYBACK_STARTED/ENDED`).
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`, `JYQQ_INVALID_VALUE`,
/// `JYQQ_UNKNOWN_TAP`, `JYQQ_FORBIDDEN_BY_POLICY` (to a tap under a no-monitor policy),
/// `JYQQ_CALL_ENDED`.
///
/// # Safety
/// `s` is a live session or NULL; `playback` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_play_tone(
    s: *mut jyqq_session,
    at_ns: u64,
    target: jyqq_target,
    tap: u32,
    mode: jyqq_play_mode,
    freq_hz: f32,
    level_dbm0: f32,
    duration_ms: u32,
    playback: *mut u32,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_session(s, |s| {
            let out = handle::out(playback)?;
            let (t, m) = (convert::target(target, tap)?, convert::play_mode(mode)?);
            let src = convert::tone(s.session.rate(), freq_hz, level_dbm0, duration_ms)?;
            let id = s.session.play(HostTime(at_ns), src, t, m)?;
            handle::write(out, id.0);
            Ok(())
        })
    }
}

/// Plays a recorded prompt from `at_ns`, as `jyqq_session_play_tone` but the audio is
/// `pcm`: `samples_per_channel` × `channels` interleaved samples at `rate_hz` (copied;
/// downmixed to mono, resampled to the session's rate by linear interpolation).
///
/// Errors: as `jyqq_session_play_tone`; `JYQQ_INVALID_LENGTH` for no samples.
///
/// # Safety
/// As `jyqq_session_play_tone`; `pcm` is NULL or points to
/// `samples_per_channel * channels` samples.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_play_prompt(
    s: *mut jyqq_session,
    at_ns: u64,
    target: jyqq_target,
    tap: u32,
    mode: jyqq_play_mode,
    pcm: *const i16,
    samples_per_channel: usize,
    channels: u32,
    rate_hz: u32,
    playback: *mut u32,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_session(s, |s| {
            let out = handle::out(playback)?;
            let (t, m) = (convert::target(target, tap)?, convert::play_mode(mode)?);
            let src = prompt_source(s, pcm, samples_per_channel, channels, rate_hz)?;
            let id = s.session.play(HostTime(at_ns), src, t, m)?;
            handle::write(out, id.0);
            Ok(())
        })
    }
}

unsafe fn prompt_source(
    s: &jyqq_session,
    pcm: *const i16,
    samples_per_channel: usize,
    channels: u32,
    rate_hz: u32,
) -> Result<crate::mix::Source, jyqq_result> {
    if pcm.is_null() {
        return Err(jyqq_result::JYQQ_NULL_PARAMETER);
    }
    if channels == 0 {
        return Err(jyqq_result::JYQQ_INVALID_VALUE);
    }
    let n = samples_per_channel.checked_mul(channels as usize).ok_or(jyqq_result::JYQQ_INVALID_LENGTH)?;
    // SAFETY: the caller's contract.
    let samples = unsafe { handle::slice(pcm, n) }?;
    convert::prompt(s.session.rate(), samples, channels, rate_hz)
}

/// Tightens the policy at `now_ns` (`JYQQ_POLICY_*`; it can never be loosened: asking
/// for a looser one changes nothing). Turning monitoring off removes every tap at once;
/// turning recording off ends the recording there (its pages so far stay valid, closed
/// with an end-of-stream page).
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`, `JYQQ_INVALID_VALUE`,
/// `JYQQ_RECORDER_FAILURE`.
///
/// # Safety
/// `s` is a live session or NULL.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_tighten_policy(
    s: *mut jyqq_session,
    now_ns: u64,
    policy: jyqq_policy,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_session(s, |s| {
            let p = convert::policy(policy)?;
            s.session.tighten_policy(HostTime(now_ns), p)?;
            Ok(())
        })
    }
}

/// Ends the call at `now_ns` with `cause` (`JYQQ_END_*`), at once. Then drain
/// `jyqq_session_poll_output` until `JYQQ_OUTPUT_NONE` (the last recording pages and the
/// `JYQQ_EVENT_ENDED` event come out). A second disconnect does nothing.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`, `JYQQ_INVALID_VALUE`,
/// `JYQQ_RECORDER_FAILURE`.
///
/// # Safety
/// `s` is a live session or NULL.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_disconnect(
    s: *mut jyqq_session,
    now_ns: u64,
    cause: jyqq_end_cause,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_session(s, |s| {
            let c = convert::end_cause(cause)?;
            s.session.disconnect(HostTime(now_ns), c, None)?;
            Ok(())
        })
    }
}

/// Ends the call after a final tone to both legs (replacing the conversation): the call
/// ends when the tone has finished (keep calling `jyqq_session_handle_timeout`). Tone
/// parameters as `jyqq_session_play_tone`.
///
/// Errors: as `jyqq_session_disconnect`; `JYQQ_INVALID_VALUE` for the tone.
///
/// # Safety
/// `s` is a live session or NULL.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_disconnect_with_tone(
    s: *mut jyqq_session,
    now_ns: u64,
    cause: jyqq_end_cause,
    freq_hz: f32,
    level_dbm0: f32,
    duration_ms: u32,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_session(s, |s| {
            let c = convert::end_cause(cause)?;
            let src = convert::tone(s.session.rate(), freq_hz, level_dbm0, duration_ms)?;
            s.session.disconnect(HostTime(now_ns), c, Some(src))?;
            Ok(())
        })
    }
}

/// Ends the call after a final prompt to both legs; prompt parameters as
/// `jyqq_session_play_prompt`.
///
/// Errors: as `jyqq_session_disconnect`; `JYQQ_INVALID_LENGTH` / `JYQQ_INVALID_VALUE`
/// for the prompt.
///
/// # Safety
/// `s` is a live session or NULL; `pcm` as in `jyqq_session_play_prompt`.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_disconnect_with_prompt(
    s: *mut jyqq_session,
    now_ns: u64,
    cause: jyqq_end_cause,
    pcm: *const i16,
    samples_per_channel: usize,
    channels: u32,
    rate_hz: u32,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_session(s, |s| {
            let c = convert::end_cause(cause)?;
            let src = prompt_source(s, pcm, samples_per_channel, channels, rate_hz)?;
            s.session.disconnect(HostTime(now_ns), c, Some(src))?;
            Ok(())
        })
    }
}
