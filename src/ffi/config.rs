//! `jyqq_session_config`: the builder a C host fills before `jyqq_session_new`.

use super::convert;
use super::handle::{self, code, free_handle, register, with_handle, Kind};
use super::result::jyqq_result;
use super::types::*;
use crate::audio::SampleRate;
use crate::mix::Source;
use crate::rtp::{PayloadFormat, Ssrc};
use crate::session::{LegConfig, Policy, SessionConfig, Warning};
use std::ffi::c_char;
use std::net::SocketAddr;
use std::time::Duration;

/// A warning as the host described it; its source is built at the session's rate.
#[derive(Debug, Clone)]
enum WarningSpec {
    Tone { freq_hz: f32, level_dbm0: f32, duration_ms: u32 },
    Prompt { pcm: Vec<i16>, channels: u32, rate_hz: u32 },
}

#[derive(Debug, Clone)]
struct LegSpec {
    send: PayloadFormat,
    ssrc: u32,
    initial_seq: u16,
    initial_timestamp: u32,
    remote: Option<SocketAddr>,
}

/// Settings of a call session, filled in by `jyqq_session_config_*` and used (not
/// consumed) by `jyqq_session_new`. Opaque.
pub struct jyqq_session_config {
    call_id: String,
    legs: [Option<LegSpec>; 2],
    extra: [Vec<PayloadFormat>; 2],
    policy: Policy,
    time_limit: Option<Duration>,
    warnings: Vec<(Duration, WarningSpec)>,
    ptime: Option<Duration>,
    playout_delay: Option<Duration>,
    media_timeout: Option<Duration>,
    flush_interval: Option<Duration>,
    passthrough: bool,
}

impl jyqq_session_config {
    /// The session configuration, with the warnings' sources built at the mixing rate.
    pub(crate) fn build(&self) -> Result<SessionConfig, jyqq_result> {
        let mut legs = [None, None];
        for (i, spec) in self.legs.iter().enumerate() {
            let s = spec.as_ref().ok_or(jyqq_result::JYQQ_CONFIG_INCOMPLETE)?;
            let mut lc = LegConfig::new(s.send.clone(), Ssrc(s.ssrc));
            lc.initial_seq = s.initial_seq;
            lc.initial_timestamp = s.initial_timestamp;
            lc.remote = s.remote;
            for f in &self.extra[i] {
                // The send format keeps its payload type.
                if f.payload_type != s.send.payload_type {
                    let _ = lc.payloads.insert(f.clone());
                }
            }
            legs[i] = Some(lc);
        }
        let [Some(a), Some(b)] = legs else { return Err(jyqq_result::JYQQ_CONFIG_INCOMPLETE) };
        let mut cfg = SessionConfig::new(self.call_id.clone(), a, b);
        cfg.policy = self.policy;
        cfg.time_limit = self.time_limit;
        if let Some(p) = self.ptime {
            cfg.ptime = p;
        }
        if let Some(d) = self.playout_delay {
            cfg.playout_delay = crate::jitter::PlayoutDelay::Fixed(d);
        }
        if let Some(t) = self.media_timeout {
            cfg.media_timeout = t;
        }
        if let Some(f) = self.flush_interval {
            cfg.flush_interval = f;
        }
        cfg.passthrough = self.passthrough;
        if !self.warnings.is_empty() {
            let rate: SampleRate = cfg.mixing_rate()?;
            for (before, w) in &self.warnings {
                let source: Source = match w {
                    WarningSpec::Tone { freq_hz, level_dbm0, duration_ms } => {
                        convert::tone(rate, *freq_hz, *level_dbm0, *duration_ms)?
                    }
                    WarningSpec::Prompt { pcm, channels, rate_hz } => convert::prompt(rate, pcm, *channels, *rate_hz)?,
                };
                cfg.warnings.push(Warning::new(*before, source));
            }
        }
        Ok(cfg)
    }
}

unsafe fn with_config(
    cfg: *mut jyqq_session_config,
    f: impl FnOnce(&mut jyqq_session_config) -> Result<(), jyqq_result>,
) -> jyqq_result {
    // SAFETY: Kind::SessionConfig handles are Box<jyqq_session_config> (see jyqq_session_config_new).
    unsafe { with_handle(cfg, Kind::SessionConfig, |c| code(f(c))) }
}

/// Creates an empty session configuration for call `call_id` (NUL-terminated UTF-8,
/// recorded in the recording's tags): policy `JYQQ_POLICY_RECORD`, 20 ms frames, adaptive
/// playout delay (20–500 ms), no time limit, 30 s media timeout. Both legs must be set with
/// `jyqq_session_config_set_leg` before use. Free it with `jyqq_session_config_free`.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_UTF8`.
///
/// # Safety
/// `call_id` is NULL or a NUL-terminated string; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_config_new(
    call_id: *const c_char,
    out: *mut *mut jyqq_session_config,
) -> jyqq_result {
    handle::guard(|| {
        let r = (|| {
            // SAFETY: the caller's contract.
            let id = unsafe { handle::string(call_id) }?;
            let out = handle::out(out)?;
            let cfg = jyqq_session_config {
                call_id: id.to_owned(),
                legs: [None, None],
                extra: [Vec::new(), Vec::new()],
                policy: Policy::RECORD,
                time_limit: None,
                warnings: Vec::new(),
                ptime: None,
                playout_delay: None,
                media_timeout: None,
                flush_interval: None,
                passthrough: true,
            };
            // SAFETY: checked non-NULL; writable by the caller's contract.
            unsafe { handle::write(out, register(cfg, Kind::SessionConfig)) };
            Ok(())
        })();
        code(r)
    })
}

/// Frees a configuration (sessions made from it are not affected). NULL is a no-op.
///
/// Errors: `JYQQ_INVALID_HANDLE` (not a live configuration: e.g. freed twice).
///
/// # Safety
/// `cfg` is NULL or a pointer `jyqq_session_config_new` returned.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_config_free(cfg: *mut jyqq_session_config) -> jyqq_result {
    // SAFETY: Kind::SessionConfig handles are Box<jyqq_session_config>.
    unsafe { free_handle(cfg, Kind::SessionConfig) }
}

/// Reads a `jyqq_codec` into a payload format.
///
/// # Safety
/// `codec` is NULL or points to a `jyqq_codec` whose strings are NULL or NUL-terminated.
pub(crate) unsafe fn codec(codec: *const jyqq_codec) -> Result<PayloadFormat, jyqq_result> {
    if codec.is_null() {
        return Err(jyqq_result::JYQQ_NULL_PARAMETER);
    }
    // SAFETY: non-NULL, readable by the caller's contract; read unaligned.
    let c = unsafe { codec.read_unaligned() };
    // SAFETY: the caller's contract.
    let name = unsafe { handle::string(c.encoding_name) }?;
    // SAFETY: the caller's contract.
    let fmtp = unsafe { handle::opt_string(c.fmtp) }?;
    convert::payload_format(name, fmtp, c.clock_rate, c.payload_type, c.channels)
}

/// Sets leg `leg`'s media: `send` is the format we send to it (and expect from it:
/// it is also entered in the leg's receive map beside the RFC 3551 static payload
/// types); `ssrc`, `initial_seq` and `initial_timestamp` start our outbound RTP stream
/// (RFC 3550 §5.1: choose them at random); `remote` is the leg's media address when
/// signalling knows it (`"192.0.2.1:4000"`, or NULL: learned from the first valid
/// packets), against which sources are checked strictly.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_LEG`, `JYQQ_INVALID_UTF8`,
/// `JYQQ_INVALID_VALUE` (empty name, clock rate 0, payload type > 127),
/// `JYQQ_INVALID_ADDRESS`. Unsupported codecs are found by `jyqq_session_new`.
///
/// # Safety
/// `cfg` is a live configuration or NULL; `send` as [`jyqq_codec`] describes;
/// `remote` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_config_set_leg(
    cfg: *mut jyqq_session_config,
    leg: jyqq_leg,
    send: *const jyqq_codec,
    ssrc: u32,
    initial_seq: u16,
    initial_timestamp: u32,
    remote: *const c_char,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_config(cfg, |c| {
            let l = convert::leg(leg)?;
            let send = codec(send)?;
            let remote = handle::opt_string(remote)?.map(convert::address).transpose()?;
            c.legs[l.index()] = Some(LegSpec { send, ssrc, initial_seq, initial_timestamp, remote });
            Ok(())
        })
    }
}

/// Adds a payload type leg `leg` may send us besides its send format (e.g.
/// `telephone-event/8000` on PT 101, `CN`, a second codec); a later one with the same
/// payload type replaces it.
///
/// Errors: as `jyqq_session_config_set_leg`.
///
/// # Safety
/// As `jyqq_session_config_set_leg`.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_config_add_payload(
    cfg: *mut jyqq_session_config,
    leg: jyqq_leg,
    format: *const jyqq_codec,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_config(cfg, |c| {
            let l = convert::leg(leg)?;
            let f = codec(format)?;
            let list = &mut c.extra[l.index()];
            list.retain(|x| x.payload_type != f.payload_type);
            list.push(f);
            Ok(())
        })
    }
}

/// Sets the policy (`JYQQ_POLICY_*`).
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`, `JYQQ_INVALID_VALUE`.
///
/// # Safety
/// `cfg` is a live configuration or NULL.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_config_set_policy(
    cfg: *mut jyqq_session_config,
    policy: jyqq_policy,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_config(cfg, |c| {
            c.policy = convert::policy(policy)?;
            Ok(())
        })
    }
}

/// Sets the talk-time limit in ms, counted from `jyqq_session_answer`; 0 removes it.
/// Media stops exactly at answer + limit (event `JYQQ_EVENT_LIMIT_REACHED`, then
/// `JYQQ_EVENT_ENDED`).
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`.
///
/// # Safety
/// `cfg` is a live configuration or NULL.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_config_set_time_limit(
    cfg: *mut jyqq_session_config,
    limit_ms: u64,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_config(cfg, |c| {
            c.time_limit = (limit_ms > 0).then(|| Duration::from_millis(limit_ms));
            Ok(())
        })
    }
}

/// Adds a warning tone played to both legs (mixed with the conversation) `before_ms`
/// before the time limit: a sine of `freq_hz` (0 < f < half the session's rate) at
/// `level_dbm0` (≤ +3 dBm0, A-law reference, ITU-T G.711 §5) lasting `duration_ms`.
/// Without a time limit, warnings never sound.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`, `JYQQ_INVALID_VALUE` (zero
/// duration, non-finite numbers); a frequency or lead time out of range is found by
/// `jyqq_session_new` (`JYQQ_INVALID_VALUE`).
///
/// # Safety
/// `cfg` is a live configuration or NULL.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_config_add_warning_tone(
    cfg: *mut jyqq_session_config,
    before_ms: u64,
    freq_hz: f32,
    level_dbm0: f32,
    duration_ms: u32,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_config(cfg, |c| {
            if duration_ms == 0 || !freq_hz.is_finite() || !level_dbm0.is_finite() || freq_hz <= 0.0 {
                return Err(jyqq_result::JYQQ_INVALID_VALUE);
            }
            c.warnings.push((Duration::from_millis(before_ms), WarningSpec::Tone { freq_hz, level_dbm0, duration_ms }));
            Ok(())
        })
    }
}

/// Adds a recorded warning prompt played to both legs `before_ms` before the time limit:
/// `pcm` holds `samples_per_channel` × `channels` interleaved samples at `rate_hz`
/// (copied; downmixed to mono and resampled to the session's rate by linear
/// interpolation).
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`, `JYQQ_INVALID_LENGTH` (no
/// samples), `JYQQ_INVALID_VALUE` (zero channels or rate, rate above 384 kHz).
///
/// # Safety
/// `cfg` is a live configuration or NULL; `pcm` is NULL or points to
/// `samples_per_channel * channels` samples.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_config_add_warning_prompt(
    cfg: *mut jyqq_session_config,
    before_ms: u64,
    pcm: *const i16,
    samples_per_channel: usize,
    channels: u32,
    rate_hz: u32,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_config(cfg, |c| {
            if channels == 0 || rate_hz == 0 || rate_hz > 384_000 {
                return Err(jyqq_result::JYQQ_INVALID_VALUE);
            }
            let n = samples_per_channel.checked_mul(channels as usize).ok_or(jyqq_result::JYQQ_INVALID_LENGTH)?;
            if n == 0 {
                return Err(jyqq_result::JYQQ_INVALID_LENGTH);
            }
            let samples = handle::slice(pcm, n)?.to_vec();
            c.warnings
                .push((Duration::from_millis(before_ms), WarningSpec::Prompt { pcm: samples, channels, rate_hz }));
            Ok(())
        })
    }
}

/// Sets timing: `ptime_ms` the frame period of outbound packets (default 20; 0 keeps
/// the current value), `playout_delay_ms` a fixed jitter-buffer delay for each leg
/// (default: adaptive, 20–500 ms; 0 keeps the current setting), `media_timeout_ms` the silence after which `JYQQ_EVENT_MEDIA_TIMEOUT` fires
/// (default 30 000; 0 keeps).
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`, `JYQQ_INVALID_VALUE` (a ptime
/// above 120 ms); a ptime that is not a whole number of samples fails in `jyqq_session_new`.
///
/// # Safety
/// `cfg` is a live configuration or NULL.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_config_set_timing(
    cfg: *mut jyqq_session_config,
    ptime_ms: u32,
    playout_delay_ms: u32,
    media_timeout_ms: u32,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_config(cfg, |c| {
            if ptime_ms > 120 {
                return Err(jyqq_result::JYQQ_INVALID_VALUE);
            }
            let d = |ms: u32| (ms > 0).then(|| Duration::from_millis(u64::from(ms)));
            c.ptime = d(ptime_ms).or(c.ptime);
            c.playout_delay = d(playout_delay_ms).or(c.playout_delay);
            c.media_timeout = d(media_timeout_ms).or(c.media_timeout);
            Ok(())
        })
    }
}

/// Sets the recording's page flush interval in ms (20..=1000, default 1000): a page is
/// emitted at least this often, so a crash loses at most this much audio.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`, `JYQQ_INVALID_VALUE` (out of range).
///
/// # Safety
/// `cfg` is a live configuration or NULL.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_config_set_flush_interval(
    cfg: *mut jyqq_session_config,
    flush_ms: u32,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_config(cfg, |c| {
            if !(20..=1000).contains(&flush_ms) {
                return Err(jyqq_result::JYQQ_INVALID_VALUE);
            }
            c.flush_interval = Some(Duration::from_millis(u64::from(flush_ms)));
            Ok(())
        })
    }
}

/// Turns passthrough on (the default) or off. On: while both legs use the same codec and
/// nothing (whisper, barge, prompt, tone) is mixed into a direction, a party's packets are
/// forwarded to the other as they arrive, payload untouched, under the leg's SSRC with
/// continuous sequence numbers and timestamps. Off: every outbound packet is decoded,
/// mixed and encoded on the session's clock, one per ptime.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`.
///
/// # Safety
/// `cfg` is a live configuration or NULL.
#[no_mangle]
pub unsafe extern "C" fn jyqq_session_config_set_passthrough(cfg: *mut jyqq_session_config, on: bool) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_config(cfg, |c| {
            c.passthrough = on;
            Ok(())
        })
    }
}
