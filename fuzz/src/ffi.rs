//! Target `ffi_ops`: the C ABI driven the way a careless C host would — every entry point,
//! in any order, with out-of-range numbers, strings that are not UTF-8 or not addresses,
//! wrong lengths, NULL pointers, and handles that were freed (use after free, double free)
//! or are of the wrong type.
//!
//! Checked, whatever happens:
//! - no entry point panics (a caught panic would come back as `JYQQ_PANIC`);
//! - a freed handle is refused with `JYQQ_INVALID_HANDLE`, never touched;
//! - every output `jyqq_session_poll_output` hands out points to readable memory of the
//!   stated length (read in full here), and JSON text is valid UTF-8;
//! - a string written into a caller's buffer fits the stated capacity and is NUL-terminated.

use crate::{Blob, Seed, ToSeed};
use arbitrary::Arbitrary;
use jyqq_media::ffi::*;
use std::ffi::{c_char, CStr, CString};
use std::ptr;

/// Simulated nanoseconds after which the remaining operations are skipped (bounds one run).
const MAX_SIM_NS: u64 = 20_000_000_000;

/// A handle chosen by index among those created so far (live or freed), or NULL.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pick(pub u8);

/// A codec as C fills in a `jyqq_codec`.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct CodecArg<'a> {
    /// 0–5: PCMU, PCMA, G722, opus, telephone-event, CN; else `raw` as the name.
    pub name: u8,
    /// The name when `name` > 5 (any bytes, up to the first NUL).
    pub raw: Blob<'a>,
    /// NULL encoding name.
    pub null_name: bool,
    /// RTP clock rate.
    pub clock_rate: u32,
    /// Payload type (any byte).
    pub payload_type: u8,
    /// Channels.
    pub channels: u8,
}

/// A remote address string: 0 leg A's, 1 leg B's, 2 a stranger's, 3 NULL, else raw bytes.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct AddrArg<'a> {
    /// Which.
    pub which: u8,
    /// The string when `which` > 3.
    pub raw: Blob<'a>,
}

/// One call into the C ABI.
#[derive(Arbitrary, Debug, Clone, PartialEq)]
pub enum FfiOp<'a> {
    ConfigNew { id: Blob<'a>, null_out: bool },
    ConfigSetLeg { cfg: Pick, leg: u32, codec: CodecArg<'a>, ssrc: u32, seq: u16, ts: u32, remote: AddrArg<'a> },
    ConfigAddPayload { cfg: Pick, leg: u32, codec: CodecArg<'a> },
    ConfigSetPolicy { cfg: Pick, policy: u32 },
    ConfigSetTimeLimit { cfg: Pick, ms: u64 },
    ConfigAddWarningTone { cfg: Pick, before_ms: u64, freq: f32, level: f32, dur_ms: u32 },
    ConfigAddWarningPrompt { cfg: Pick, before_ms: u64, pcm: Blob<'a>, channels: u32, rate: u32 },
    ConfigSetTiming { cfg: Pick, ptime: u32, delay: u32, timeout: u32 },
    ConfigSetFlush { cfg: Pick, ms: u32 },
    ConfigSetPassthrough { cfg: Pick, on: bool },
    ConfigFree { cfg: Pick },
    SessionNew { cfg: Pick, null_out: bool },
    SessionFree { s: Pick },
    Answer { s: Pick },
    HandleRtp { s: Pick, dt_ms: u16, leg: u32, from: AddrArg<'a>, data: Blob<'a>, null_data: bool },
    HandleRtpSockaddr { s: Pick, dt_ms: u16, leg: u32, sockaddr: Blob<'a>, data: Blob<'a> },
    HandleTimeout { s: Pick, dt_ms: u16 },
    Poll { s: Pick, max: u8 },
    BindRemote { s: Pick, leg: u32, remote: AddrArg<'a> },
    AddTap { s: Pick, talk: u32, listen: u32, null_out: bool },
    ChangeTap { s: Pick, tap: u32, talk: u32, listen: u32 },
    RemoveTap { s: Pick, tap: u32 },
    PushGuard { s: Pick, tap: u32, pcm: Blob<'a>, null_pcm: bool },
    PlayTone { s: Pick, at_ms: u16, target: u32, tap: u32, mode: u32, freq: f32, level: f32, dur_ms: u32 },
    PlayPrompt { s: Pick, at_ms: u16, target: u32, tap: u32, mode: u32, pcm: Blob<'a>, channels: u32, rate: u32 },
    Tighten { s: Pick, policy: u32 },
    Disconnect { s: Pick, cause: u32 },
    DisconnectTone { s: Pick, cause: u32, freq: f32, level: f32, dur_ms: u32 },
    DisconnectPrompt { s: Pick, cause: u32, pcm: Blob<'a>, channels: u32, rate: u32 },
    IsEnded { s: Pick },
    FrameInfo { s: Pick },
    Summary { s: Pick, cap: u16, null_buf: bool },
    OggInfo { data: Blob<'a> },
    OggRepair { data: Blob<'a>, cap: u16 },
    Verify { manifest: Blob<'a>, key: Blob<'a>, segment: Blob<'a>, sidecar: Blob<'a>, cap: u16 },
    CaptureNew { data: Blob<'a> },
    CaptureQuery { c: Pick, call: u8, leg: u32, index: u16, which: u8 },
    CaptureFree { c: Pick },
    ResultText { code: u32 },
}

/// Variants of [`FfiOp`] (for [`Seed::variant`]).
const VARIANTS: u32 = 39;

impl ToSeed for CodecArg<'_> {
    fn to_seed(&self, s: &mut Seed) {
        s.u8(self.name)
            .put(&self.raw)
            .bool(self.null_name)
            .u32(self.clock_rate)
            .u8(self.payload_type)
            .u8(self.channels);
    }
}

impl ToSeed for AddrArg<'_> {
    fn to_seed(&self, s: &mut Seed) {
        s.u8(self.which).put(&self.raw);
    }
}

impl ToSeed for FfiOp<'_> {
    fn to_seed(&self, w: &mut Seed) {
        match self {
            FfiOp::ConfigNew { id, null_out } => {
                w.variant(0, VARIANTS);
                w.put(id);
                w.bool(*null_out);
            }
            FfiOp::ConfigSetLeg { cfg, leg, codec, ssrc, seq, ts, remote } => {
                w.variant(1, VARIANTS);
                w.u8(cfg.0);
                w.u32(*leg);
                w.put(codec);
                w.u32(*ssrc);
                w.u16(*seq);
                w.u32(*ts);
                w.put(remote);
            }
            FfiOp::ConfigAddPayload { cfg, leg, codec } => {
                w.variant(2, VARIANTS);
                w.u8(cfg.0);
                w.u32(*leg);
                w.put(codec);
            }
            FfiOp::ConfigSetPolicy { cfg, policy } => {
                w.variant(3, VARIANTS);
                w.u8(cfg.0);
                w.u32(*policy);
            }
            FfiOp::ConfigSetTimeLimit { cfg, ms } => {
                w.variant(4, VARIANTS);
                w.u8(cfg.0);
                w.u64(*ms);
            }
            FfiOp::ConfigAddWarningTone { cfg, before_ms, freq, level, dur_ms } => {
                w.variant(5, VARIANTS);
                w.u8(cfg.0);
                w.u64(*before_ms);
                w.u32(freq.to_bits());
                w.u32(level.to_bits());
                w.u32(*dur_ms);
            }
            FfiOp::ConfigAddWarningPrompt { cfg, before_ms, pcm, channels, rate } => {
                w.variant(6, VARIANTS);
                w.u8(cfg.0);
                w.u64(*before_ms);
                w.put(pcm);
                w.u32(*channels);
                w.u32(*rate);
            }
            FfiOp::ConfigSetTiming { cfg, ptime, delay, timeout } => {
                w.variant(7, VARIANTS);
                w.u8(cfg.0);
                w.u32(*ptime);
                w.u32(*delay);
                w.u32(*timeout);
            }
            FfiOp::ConfigSetFlush { cfg, ms } => {
                w.variant(8, VARIANTS);
                w.u8(cfg.0);
                w.u32(*ms);
            }
            FfiOp::ConfigSetPassthrough { cfg, on } => {
                w.variant(9, VARIANTS);
                w.u8(cfg.0);
                w.bool(*on);
            }
            FfiOp::ConfigFree { cfg } => {
                w.variant(10, VARIANTS);
                w.u8(cfg.0);
            }
            FfiOp::SessionNew { cfg, null_out } => {
                w.variant(11, VARIANTS);
                w.u8(cfg.0);
                w.bool(*null_out);
            }
            FfiOp::SessionFree { s } => {
                w.variant(12, VARIANTS);
                w.u8(s.0);
            }
            FfiOp::Answer { s } => {
                w.variant(13, VARIANTS);
                w.u8(s.0);
            }
            FfiOp::HandleRtp { s, dt_ms, leg, from, data, null_data } => {
                w.variant(14, VARIANTS);
                w.u8(s.0);
                w.u16(*dt_ms);
                w.u32(*leg);
                w.put(from);
                w.put(data);
                w.bool(*null_data);
            }
            FfiOp::HandleRtpSockaddr { s, dt_ms, leg, sockaddr, data } => {
                w.variant(15, VARIANTS);
                w.u8(s.0);
                w.u16(*dt_ms);
                w.u32(*leg);
                w.put(sockaddr);
                w.put(data);
            }
            FfiOp::HandleTimeout { s, dt_ms } => {
                w.variant(16, VARIANTS);
                w.u8(s.0);
                w.u16(*dt_ms);
            }
            FfiOp::Poll { s, max } => {
                w.variant(17, VARIANTS);
                w.u8(s.0);
                w.u8(*max);
            }
            FfiOp::BindRemote { s, leg, remote } => {
                w.variant(18, VARIANTS);
                w.u8(s.0);
                w.u32(*leg);
                w.put(remote);
            }
            FfiOp::AddTap { s, talk, listen, null_out } => {
                w.variant(19, VARIANTS);
                w.u8(s.0);
                w.u32(*talk);
                w.u32(*listen);
                w.bool(*null_out);
            }
            FfiOp::ChangeTap { s, tap, talk, listen } => {
                w.variant(20, VARIANTS);
                w.u8(s.0);
                w.u32(*tap);
                w.u32(*talk);
                w.u32(*listen);
            }
            FfiOp::RemoveTap { s, tap } => {
                w.variant(21, VARIANTS);
                w.u8(s.0);
                w.u32(*tap);
            }
            FfiOp::PushGuard { s, tap, pcm, null_pcm } => {
                w.variant(22, VARIANTS);
                w.u8(s.0);
                w.u32(*tap);
                w.put(pcm);
                w.bool(*null_pcm);
            }
            FfiOp::PlayTone { s, at_ms, target, tap, mode, freq, level, dur_ms } => {
                w.variant(23, VARIANTS);
                w.u8(s.0);
                w.u16(*at_ms);
                w.u32(*target);
                w.u32(*tap);
                w.u32(*mode);
                w.u32(freq.to_bits());
                w.u32(level.to_bits());
                w.u32(*dur_ms);
            }
            FfiOp::PlayPrompt { s, at_ms, target, tap, mode, pcm, channels, rate } => {
                w.variant(24, VARIANTS);
                w.u8(s.0);
                w.u16(*at_ms);
                w.u32(*target);
                w.u32(*tap);
                w.u32(*mode);
                w.put(pcm);
                w.u32(*channels);
                w.u32(*rate);
            }
            FfiOp::Tighten { s, policy } => {
                w.variant(25, VARIANTS);
                w.u8(s.0);
                w.u32(*policy);
            }
            FfiOp::Disconnect { s, cause } => {
                w.variant(26, VARIANTS);
                w.u8(s.0);
                w.u32(*cause);
            }
            FfiOp::DisconnectTone { s, cause, freq, level, dur_ms } => {
                w.variant(27, VARIANTS);
                w.u8(s.0);
                w.u32(*cause);
                w.u32(freq.to_bits());
                w.u32(level.to_bits());
                w.u32(*dur_ms);
            }
            FfiOp::DisconnectPrompt { s, cause, pcm, channels, rate } => {
                w.variant(28, VARIANTS);
                w.u8(s.0);
                w.u32(*cause);
                w.put(pcm);
                w.u32(*channels);
                w.u32(*rate);
            }
            FfiOp::IsEnded { s } => {
                w.variant(29, VARIANTS);
                w.u8(s.0);
            }
            FfiOp::FrameInfo { s } => {
                w.variant(30, VARIANTS);
                w.u8(s.0);
            }
            FfiOp::Summary { s, cap, null_buf } => {
                w.variant(31, VARIANTS);
                w.u8(s.0);
                w.u16(*cap);
                w.bool(*null_buf);
            }
            FfiOp::OggInfo { data } => {
                w.variant(32, VARIANTS);
                w.put(data);
            }
            FfiOp::OggRepair { data, cap } => {
                w.variant(33, VARIANTS);
                w.put(data);
                w.u16(*cap);
            }
            FfiOp::Verify { manifest, key, segment, sidecar, cap } => {
                w.variant(34, VARIANTS);
                w.put(manifest);
                w.put(key);
                w.put(segment);
                w.put(sidecar);
                w.u16(*cap);
            }
            FfiOp::CaptureNew { data } => {
                w.variant(35, VARIANTS);
                w.put(data);
            }
            FfiOp::CaptureQuery { c, call, leg, index, which } => {
                w.variant(36, VARIANTS);
                w.u8(c.0);
                w.u8(*call);
                w.u32(*leg);
                w.u16(*index);
                w.u8(*which);
            }
            FfiOp::CaptureFree { c } => {
                w.variant(37, VARIANTS);
                w.u8(c.0);
            }
            FfiOp::ResultText { code } => {
                w.variant(38, VARIANTS);
                w.u32(*code);
            }
        }
    }
}

/// A handle created during the run and whether it has been freed.
struct Handles<T> {
    all: Vec<(*mut T, bool)>,
}

impl<T> Handles<T> {
    fn new() -> Self {
        Handles { all: Vec::new() }
    }

    /// The picked handle (`None`: NULL) and whether it is live. A freed handle whose
    /// address the allocator gave to a new object of the same type is that object's live
    /// handle again (an address registry cannot tell them apart; neither could C).
    fn pick(&self, p: Pick) -> (*mut T, bool) {
        if self.all.is_empty() || p.0 == 255 {
            return (ptr::null_mut(), false);
        }
        let h = self.all[usize::from(p.0) % self.all.len()].0;
        (h, self.all.iter().any(|&(x, live)| x == h && live))
    }

    fn mark_freed(&mut self, h: *mut T) {
        for e in &mut self.all {
            if e.0 == h {
                e.1 = false;
            }
        }
    }
}

fn cstring(bytes: &[u8]) -> CString {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    // Invariant: no NUL before `end`.
    CString::new(&bytes[..end]).unwrap_or_default()
}

fn addr_string(a: &AddrArg) -> Option<CString> {
    Some(match a.which {
        0 => CString::from(c"192.0.2.1:4000"),
        1 => CString::from(c"198.51.100.2:5000"),
        2 => CString::from(c"203.0.113.66:40000"),
        3 => return None,
        _ => cstring(a.raw.0),
    })
}

fn pcm_of(b: &[u8]) -> Vec<i16> {
    b.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect()
}

/// Checks a result code: known, and not a caught panic.
fn ok(r: jyqq_result) -> bool {
    assert_ne!(r, jyqq_result::JYQQ_PANIC, "an entry point panicked");
    r == jyqq_result::JYQQ_OK
}

/// Checks a call on a handle: not a panic, and refused if the handle was freed.
fn check(r: jyqq_result, h_is_null: bool, live: bool) {
    ok(r);
    refused_if_freed(r, h_is_null, live);
}

/// Checks a call on a freed handle was refused.
fn refused_if_freed(r: jyqq_result, h_is_null: bool, live: bool) {
    if !h_is_null && !live {
        assert_eq!(r, jyqq_result::JYQQ_INVALID_HANDLE, "a freed handle was used");
    }
}

/// Reads a written NUL-terminated string of at most `cap` bytes including the NUL.
fn check_written(buf: &[u8], len: usize) {
    assert!(len < buf.len(), "string of {len} bytes in a {} byte buffer", buf.len());
    assert_eq!(buf[len], 0, "not NUL-terminated");
    std::hint::black_box(&buf[..len]);
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let Some(((), ops)) = crate::decode_ops::<(), FfiOp>(data) else { return };
    let mut cfgs: Handles<jyqq_session_config> = Handles::new();
    let mut sessions: Handles<jyqq_session> = Handles::new();
    let mut captures: Handles<jyqq_capture> = Handles::new();
    let mut now: u64 = 0;
    // SAFETY (for every call below): pointers are NULL, point to live locals of the stated
    // length, or are handles this run created — possibly freed, which the ABI's registry
    // detects without dereferencing (that is what is being fuzzed).
    for op in ops {
        if now > MAX_SIM_NS {
            break;
        }
        unsafe { step(op, &mut cfgs, &mut sessions, &mut captures, &mut now) };
    }
    for (h, live) in cfgs.all.drain(..) {
        if live {
            assert!(ok(unsafe { jyqq_session_config_free(h) }));
        }
    }
    for (h, live) in sessions.all.drain(..) {
        if live {
            assert!(ok(unsafe { jyqq_session_free(h) }));
        }
    }
    for (h, live) in captures.all.drain(..) {
        if live {
            assert!(ok(unsafe { jyqq_capture_free(h) }));
        }
    }
}

unsafe fn step(
    op: FfiOp,
    cfgs: &mut Handles<jyqq_session_config>,
    sessions: &mut Handles<jyqq_session>,
    captures: &mut Handles<jyqq_capture>,
    now: &mut u64,
) {
    let ms = |m: u16| u64::from(m) * 1_000_000;
    match op {
        FfiOp::ConfigNew { id, null_out } => {
            let id = cstring(id.0);
            let mut out = ptr::null_mut();
            let r = jyqq_session_config_new(id.as_ptr(), if null_out { ptr::null_mut() } else { &mut out });
            if ok(r) {
                assert!(!out.is_null());
                cfgs.all.push((out, true));
            }
        }
        FfiOp::ConfigSetLeg { cfg, leg, codec, ssrc, seq, ts, remote } => {
            let (h, live) = cfgs.pick(cfg);
            let (c, _name) = codec_arg(&codec);
            let remote = addr_string(&remote);
            let r = jyqq_session_config_set_leg(
                h,
                leg % 4,
                &c,
                ssrc,
                seq,
                ts,
                remote.as_ref().map_or(ptr::null(), |s| s.as_ptr()),
            );
            check(r, h.is_null(), live);
        }
        FfiOp::ConfigAddPayload { cfg, leg, codec } => {
            let (h, live) = cfgs.pick(cfg);
            let (c, _name) = codec_arg(&codec);
            let r = jyqq_session_config_add_payload(h, leg % 4, &c);
            check(r, h.is_null(), live);
        }
        FfiOp::ConfigSetPolicy { cfg, policy } => {
            let (h, live) = cfgs.pick(cfg);
            let r = jyqq_session_config_set_policy(h, policy % 5);
            check(r, h.is_null(), live);
        }
        FfiOp::ConfigSetTimeLimit { cfg, ms } => {
            let (h, live) = cfgs.pick(cfg);
            let r = jyqq_session_config_set_time_limit(h, ms);
            check(r, h.is_null(), live);
        }
        FfiOp::ConfigAddWarningTone { cfg, before_ms, freq, level, dur_ms } => {
            let (h, live) = cfgs.pick(cfg);
            let r = jyqq_session_config_add_warning_tone(h, before_ms, freq, level, dur_ms % 10_000);
            check(r, h.is_null(), live);
        }
        FfiOp::ConfigAddWarningPrompt { cfg, before_ms, pcm, channels, rate } => {
            let (h, live) = cfgs.pick(cfg);
            let pcm = pcm_of(pcm.0);
            let ch = channels % 4;
            let spc = if ch == 0 { pcm.len() } else { pcm.len() / ch as usize };
            let r = jyqq_session_config_add_warning_prompt(h, before_ms, pcm.as_ptr(), spc, ch, rate);
            check(r, h.is_null(), live);
        }
        FfiOp::ConfigSetTiming { cfg, ptime, delay, timeout } => {
            let (h, live) = cfgs.pick(cfg);
            let r = jyqq_session_config_set_timing(h, ptime % 200, delay, timeout);
            check(r, h.is_null(), live);
        }
        FfiOp::ConfigSetFlush { cfg, ms } => {
            let (h, live) = cfgs.pick(cfg);
            let r = jyqq_session_config_set_flush_interval(h, ms % 2000);
            check(r, h.is_null(), live);
        }
        FfiOp::ConfigSetPassthrough { cfg, on } => {
            let (h, live) = cfgs.pick(cfg);
            let r = jyqq_session_config_set_passthrough(h, on);
            check(r, h.is_null(), live);
        }
        FfiOp::ConfigFree { cfg } => {
            let (h, live) = cfgs.pick(cfg);
            let r = jyqq_session_config_free(h);
            check(r, h.is_null(), live);
            cfgs.mark_freed(h);
        }
        FfiOp::SessionNew { cfg, null_out } => {
            let (h, live) = cfgs.pick(cfg);
            let mut out = ptr::null_mut();
            let r = jyqq_session_new(h, *now, if null_out { ptr::null_mut() } else { &mut out });
            refused_if_freed(r, h.is_null(), live);
            if ok(r) {
                assert!(!out.is_null());
                sessions.all.push((out, true));
            }
        }
        FfiOp::SessionFree { s } => {
            let (h, live) = sessions.pick(s);
            let r = jyqq_session_free(h);
            check(r, h.is_null(), live);
            sessions.mark_freed(h);
        }
        FfiOp::Answer { s } => {
            let (h, live) = sessions.pick(s);
            let r = jyqq_session_answer(h, *now);
            check(r, h.is_null(), live);
        }
        FfiOp::HandleRtp { s, dt_ms, leg, from, data, null_data } => {
            *now += ms(dt_ms);
            let (h, live) = sessions.pick(s);
            let from = addr_string(&from);
            let d = if null_data { ptr::null() } else { data.0.as_ptr() };
            let r = jyqq_session_handle_rtp(
                h,
                *now,
                leg % 4,
                from.as_ref().map_or(ptr::null(), |s| s.as_ptr()),
                d,
                data.0.len(),
            );
            check(r, h.is_null(), live);
        }
        FfiOp::HandleRtpSockaddr { s, dt_ms, leg, sockaddr, data } => {
            *now += ms(dt_ms);
            let (h, live) = sessions.pick(s);
            // Aligned copy: the ABI reads a sockaddr (family first) from it.
            let mut storage = [0u64; 16];
            let n = sockaddr.0.len().min(128);
            let bytes = std::slice::from_raw_parts_mut(storage.as_mut_ptr().cast::<u8>(), 128);
            bytes[..n].copy_from_slice(&sockaddr.0[..n]);
            let r = jyqq_session_handle_rtp_sockaddr(
                h,
                *now,
                leg % 4,
                storage.as_ptr().cast(),
                n,
                data.0.as_ptr(),
                data.0.len(),
            );
            check(r, h.is_null(), live);
        }
        FfiOp::HandleTimeout { s, dt_ms } => {
            *now += ms(dt_ms);
            let (h, live) = sessions.pick(s);
            let r = jyqq_session_handle_timeout(h, *now);
            check(r, h.is_null(), live);
        }
        FfiOp::Poll { s, max } => {
            let (h, live) = sessions.pick(s);
            for _ in 0..=u32::from(max) {
                let mut o = std::mem::MaybeUninit::<jyqq_output>::zeroed().assume_init();
                let r = jyqq_session_poll_output(h, *now, &mut o);
                refused_if_freed(r, h.is_null(), live);
                if !ok(r) {
                    break;
                }
                check_output(&o);
                if o.kind == JYQQ_OUTPUT_TIMEOUT || o.kind == JYQQ_OUTPUT_NONE {
                    break;
                }
            }
        }
        FfiOp::BindRemote { s, leg, remote } => {
            let (h, live) = sessions.pick(s);
            let remote = addr_string(&remote);
            let r = jyqq_session_bind_remote(h, leg % 4, remote.as_ref().map_or(ptr::null(), |s| s.as_ptr()));
            check(r, h.is_null(), live);
        }
        FfiOp::AddTap { s, talk, listen, null_out } => {
            let (h, live) = sessions.pick(s);
            let mut tap = 0u32;
            let r =
                jyqq_session_add_tap(h, *now, talk % 6, listen % 7, if null_out { ptr::null_mut() } else { &mut tap });
            check(r, h.is_null(), live);
        }
        FfiOp::ChangeTap { s, tap, talk, listen } => {
            let (h, live) = sessions.pick(s);
            let r = jyqq_session_change_tap(h, *now, tap % 8, talk % 6, listen % 7);
            check(r, h.is_null(), live);
        }
        FfiOp::RemoveTap { s, tap } => {
            let (h, live) = sessions.pick(s);
            let r = jyqq_session_remove_tap(h, *now, tap % 8);
            check(r, h.is_null(), live);
        }
        FfiOp::PushGuard { s, tap, pcm, null_pcm } => {
            let (h, live) = sessions.pick(s);
            let pcm = pcm_of(pcm.0);
            let p = if null_pcm { ptr::null() } else { pcm.as_ptr() };
            let r = jyqq_session_push_guard_audio(h, tap % 8, p, pcm.len());
            check(r, h.is_null(), live);
        }
        FfiOp::PlayTone { s, at_ms, target, tap, mode, freq, level, dur_ms } => {
            let (h, live) = sessions.pick(s);
            let r = jyqq_session_play_tone(
                h,
                *now + ms(at_ms),
                target % 5,
                tap % 8,
                mode % 3,
                freq,
                level,
                dur_ms % 10_000,
                &mut 0u32,
            );
            check(r, h.is_null(), live);
        }
        FfiOp::PlayPrompt { s, at_ms, target, tap, mode, pcm, channels, rate } => {
            let (h, live) = sessions.pick(s);
            let pcm = pcm_of(pcm.0);
            let ch = channels % 4;
            let spc = if ch == 0 { pcm.len() } else { pcm.len() / ch as usize };
            let r = jyqq_session_play_prompt(
                h,
                *now + ms(at_ms),
                target % 5,
                tap % 8,
                mode % 3,
                pcm.as_ptr(),
                spc,
                ch,
                rate,
                &mut 0u32,
            );
            check(r, h.is_null(), live);
        }
        FfiOp::Tighten { s, policy } => {
            let (h, live) = sessions.pick(s);
            let r = jyqq_session_tighten_policy(h, *now, policy % 5);
            check(r, h.is_null(), live);
        }
        FfiOp::Disconnect { s, cause } => {
            let (h, live) = sessions.pick(s);
            let r = jyqq_session_disconnect(h, *now, cause % 8);
            check(r, h.is_null(), live);
        }
        FfiOp::DisconnectTone { s, cause, freq, level, dur_ms } => {
            let (h, live) = sessions.pick(s);
            let r = jyqq_session_disconnect_with_tone(h, *now, cause % 8, freq, level, dur_ms % 10_000);
            check(r, h.is_null(), live);
        }
        FfiOp::DisconnectPrompt { s, cause, pcm, channels, rate } => {
            let (h, live) = sessions.pick(s);
            let pcm = pcm_of(pcm.0);
            let ch = channels % 4;
            let spc = if ch == 0 { pcm.len() } else { pcm.len() / ch as usize };
            let r = jyqq_session_disconnect_with_prompt(h, *now, cause % 8, pcm.as_ptr(), spc, ch, rate);
            check(r, h.is_null(), live);
        }
        FfiOp::IsEnded { s } => {
            let (h, live) = sessions.pick(s);
            let mut e = false;
            let r = jyqq_session_is_ended(h, &mut e);
            check(r, h.is_null(), live);
        }
        FfiOp::FrameInfo { s } => {
            let (h, live) = sessions.pick(s);
            let (mut rate, mut n) = (0u32, 0usize);
            let r = jyqq_session_frame_info(h, &mut rate, &mut n);
            if ok(r) {
                assert!(rate > 0 && n > 0);
            }
            refused_if_freed(r, h.is_null(), live);
        }
        FfiOp::Summary { s, cap, null_buf } => {
            let (h, live) = sessions.pick(s);
            let mut buf = vec![0xAAu8; usize::from(cap)];
            let mut len = 0usize;
            let p = if null_buf { ptr::null_mut() } else { buf.as_mut_ptr().cast::<c_char>() };
            let r = jyqq_session_summary_json(h, *now, p, buf.len(), &mut len);
            if ok(r) && !null_buf {
                check_written(&buf, len);
                assert!(std::str::from_utf8(&buf[..len]).is_ok());
            }
            refused_if_freed(r, h.is_null(), live);
        }
        FfiOp::OggInfo { data } => {
            let mut info = std::mem::MaybeUninit::<jyqq_ogg_info>::zeroed().assume_init();
            ok(jyqq_ogg_opus_info(data.0.as_ptr(), data.0.len(), &mut info));
        }
        FfiOp::OggRepair { data, cap } => {
            let mut out = vec![0u8; usize::from(cap) * 16];
            let mut len = 0usize;
            if ok(jyqq_ogg_repair(data.0.as_ptr(), data.0.len(), out.as_mut_ptr(), out.len(), &mut len)) {
                assert!(len <= out.len());
            }
        }
        FfiOp::Verify { manifest, key, segment, sidecar, cap } => {
            let key_ptr = if key.0.len() >= 32 { key.0.as_ptr() } else { ptr::null() };
            let mut intact = false;
            let mut report = vec![0u8; usize::from(cap)];
            let mut len = 0usize;
            let r = jyqq_recording_verify(
                manifest.0.as_ptr(),
                manifest.0.len(),
                key_ptr,
                segment.0.as_ptr(),
                segment.0.len(),
                sidecar.0.as_ptr(),
                sidecar.0.len(),
                &mut intact,
                report.as_mut_ptr().cast(),
                report.len(),
                &mut len,
            );
            if ok(r) && !report.is_empty() {
                check_written(&report, len);
            }
        }
        FfiOp::CaptureNew { data } => {
            let mut c = ptr::null_mut();
            if ok(jyqq_capture_new(data.0.as_ptr(), data.0.len(), &mut c)) {
                captures.all.push((c, true));
            }
        }
        FfiOp::CaptureQuery { c, call, leg, index, which } => {
            let (h, live) = captures.pick(c);
            let (call, index) = (usize::from(call), usize::from(index));
            let r = match which % 5 {
                0 => {
                    let mut n = 0usize;
                    jyqq_capture_call_count(h, &mut n)
                }
                1 => {
                    let mut n = 0usize;
                    jyqq_capture_call_payload_count(h, call, leg % 4, &mut n)
                }
                2 => {
                    let mut codec = std::mem::MaybeUninit::<jyqq_codec>::zeroed().assume_init();
                    let r = jyqq_capture_call_payload(h, call, leg % 4, index, &mut codec);
                    if r == jyqq_result::JYQQ_OK && !codec.encoding_name.is_null() {
                        std::hint::black_box(CStr::from_ptr(codec.encoding_name).to_bytes().len());
                    }
                    r
                }
                3 => {
                    let mut n = 0usize;
                    jyqq_capture_call_datagram_count(h, call, &mut n)
                }
                _ => {
                    let mut d = std::mem::MaybeUninit::<jyqq_datagram>::zeroed().assume_init();
                    let r = jyqq_capture_call_datagram(h, call, index, &mut d);
                    if r == jyqq_result::JYQQ_OK {
                        assert!(!d.data.is_null() || d.len == 0);
                        if d.len > 0 {
                            std::hint::black_box(std::slice::from_raw_parts(d.data, d.len).iter().sum::<u8>());
                        }
                    }
                    r
                }
            };
            check(r, h.is_null(), live);
        }
        FfiOp::CaptureFree { c } => {
            let (h, live) = captures.pick(c);
            let r = jyqq_capture_free(h);
            check(r, h.is_null(), live);
            captures.mark_freed(h);
        }
        FfiOp::ResultText { code } => {
            let t = jyqq_result_text(code);
            assert!(!t.is_null());
            assert!(CStr::from_ptr(t).to_str().is_ok());
            std::hint::black_box(CStr::from_ptr(jyqq_version()).to_bytes().len());
        }
    }
}

/// The codec struct and the string it points to (kept alive by the caller).
fn codec_arg(c: &CodecArg) -> (jyqq_codec, Option<CString>) {
    let name = match c.name {
        0 => CString::from(c"PCMU"),
        1 => CString::from(c"PCMA"),
        2 => CString::from(c"G722"),
        3 => CString::from(c"opus"),
        4 => CString::from(c"telephone-event"),
        5 => CString::from(c"CN"),
        _ => cstring(c.raw.0),
    };
    let rate = match c.clock_rate % 4 {
        0 => 8000,
        1 => 48_000,
        2 => 16_000,
        _ => c.clock_rate,
    };
    let codec = jyqq_codec {
        encoding_name: if c.null_name { ptr::null() } else { name.as_ptr() },
        fmtp: ptr::null(),
        clock_rate: rate,
        payload_type: c.payload_type,
        channels: c.channels,
    };
    // Moving a CString does not move its heap buffer: the pointer stays valid.
    (codec, Some(name))
}

/// Reads every byte an output points to.
unsafe fn check_output(o: &jyqq_output) {
    match o.kind {
        JYQQ_OUTPUT_TRANSMIT | JYQQ_OUTPUT_RECORDING => {
            assert!(!o.data.is_null() && o.len > 0, "empty transmit or page");
            std::hint::black_box(std::slice::from_raw_parts(o.data, o.len).iter().fold(0u8, |a, b| a ^ b));
        }
        JYQQ_OUTPUT_TAP => {
            let n = o.samples_per_channel * o.channels as usize;
            assert!(!o.pcm.is_null() && n > 0, "empty tap frame");
            std::hint::black_box(std::slice::from_raw_parts(o.pcm, n).iter().fold(0i16, |a, b| a ^ b));
        }
        JYQQ_OUTPUT_EVENT => {
            assert!(!o.json.is_null());
            let j = std::slice::from_raw_parts(o.json.cast::<u8>(), o.json_len);
            assert!(std::str::from_utf8(j).is_ok(), "event JSON not UTF-8");
        }
        _ => {}
    }
}
