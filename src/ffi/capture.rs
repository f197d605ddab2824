//! `jyqq_capture`: the calls of a packet capture, for C hosts that test their integration
//! offline (replay a capture through `jyqq_session_*` on the capture's own clock).

use super::handle::{self, code, free_handle, register, with_handle, Kind};
use super::result::jyqq_result;
use super::types::*;
use crate::capture::{find_rtp_streams, pair_calls, read_capture, rtpmaps_for_stream, sdp_payload_maps, Capture};
use crate::rtp::{PayloadFormat, PayloadMap, PayloadType, RtpPacket};
use crate::ClockRate;
use std::ffi::CString;

/// A payload type seen on a leg, with C strings for its name and fmtp.
struct SeenPayload {
    name: CString,
    fmtp: Option<CString>,
    clock_rate: u32,
    payload_type: u8,
    channels: u8,
}

struct CallDatagram {
    index: usize,
    leg: jyqq_leg,
    from: CString,
}

struct CaptureCall {
    payloads: [Vec<SeenPayload>; 2],
    datagrams: Vec<CallDatagram>,
}

/// The RTP calls of a packet capture (pcap, pcapng or rtpproxy adhoc), read with the
/// library's capture reader: streams found by SSRC, paired into calls (numbered from 0 in
/// order of their first packet), payload types named from the capture's SIP/SDP. Opaque;
/// everything it hands out stays valid until `jyqq_capture_free`.
pub struct jyqq_capture {
    capture: Capture,
    calls: Vec<CaptureCall>,
}

fn c_string(s: &str) -> CString {
    // Names from SDP/addresses never hold NUL; one that did is cut there.
    CString::new(s.split('\0').next().unwrap_or_default()).unwrap_or_default()
}

fn leg_payloads(map: &PayloadMap, capture: &Capture, datagrams: &[usize]) -> Vec<SeenPayload> {
    let mut counts = [0u64; 128];
    for &d in datagrams {
        if let Ok(p) = RtpPacket::parse(&capture.datagrams[d].payload) {
            counts[usize::from(p.payload_type().0 & 0x7F)] += 1;
        }
    }
    let mut seen: Vec<(u64, &PayloadFormat)> = (0u8..128)
        .filter(|&pt| counts[usize::from(pt)] > 0)
        .filter_map(|pt| Some((counts[usize::from(pt)], map.get(PayloadType(pt))?)))
        .collect();
    // Most packets first: the first entry is the leg's main codec.
    seen.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.payload_type.0.cmp(&b.1.payload_type.0)));
    seen.into_iter()
        .map(|(_, f)| SeenPayload {
            name: c_string(&f.encoding_name),
            fmtp: f.fmtp.as_deref().map(c_string),
            clock_rate: f.clock_rate.hz(),
            payload_type: f.payload_type.0,
            channels: f.channels,
        })
        .collect()
}

fn analyse(capture: Capture) -> Result<jyqq_capture, jyqq_result> {
    let streams = find_rtp_streams(&capture);
    if streams.is_empty() {
        return Err(jyqq_result::JYQQ_NO_RTP);
    }
    let sdp = sdp_payload_maps(&capture);
    let mut calls = Vec::new();
    for call in pair_calls(&streams) {
        let mut payloads = [Vec::new(), Vec::new()];
        let mut datagrams = Vec::new();
        for (li, leg) in [Some(&call.leg_a), call.leg_b.as_ref()].into_iter().enumerate() {
            let Some(leg) = leg else { continue };
            // As the Rust replay does: the static payload types, then what the SDP said.
            let mut map = PayloadMap::static_defaults();
            for &si in &leg.streams {
                for m in rtpmaps_for_stream(&sdp, &streams[si]) {
                    let mut f =
                        PayloadFormat::new(PayloadType(m.pt), &m.encoding, ClockRate::new(m.clock_rate), m.channels);
                    f.fmtp = m.fmtp.clone();
                    let _ = map.insert(f);
                }
            }
            payloads[li] = leg_payloads(&map, &capture, &leg.datagrams);
            let code = if li == 0 { JYQQ_LEG_A } else { JYQQ_LEG_B };
            datagrams.extend(leg.datagrams.iter().map(|&index| CallDatagram {
                index,
                leg: code,
                from: c_string(&capture.datagrams[index].src.to_string()),
            }));
        }
        // Both legs in arrival order (stable: capture order among equal times).
        datagrams.sort_by_key(|d| (capture.datagrams[d.index].time, d.index));
        calls.push(CaptureCall { payloads, datagrams });
    }
    Ok(jyqq_capture { capture, calls })
}

/// Reads a capture from `len` bytes at `bytes` (copied) and finds its calls.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_LENGTH` (`len` 0), `JYQQ_NOT_A_CAPTURE`,
/// `JYQQ_NO_RTP`.
///
/// # Safety
/// `bytes` is NULL or points to `len` bytes; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn jyqq_capture_new(bytes: *const u8, len: usize, out: *mut *mut jyqq_capture) -> jyqq_result {
    handle::guard(|| {
        code((|| {
            // SAFETY: the caller's contract.
            let data = unsafe { handle::data(bytes, len) }?;
            let out = handle::out(out)?;
            let c = analyse(read_capture(data)?)?;
            // SAFETY: checked non-NULL; writable by the caller's contract.
            unsafe { handle::write(out, register(c, Kind::Capture)) };
            Ok(())
        })())
    })
}

/// Frees a capture. NULL is a no-op.
///
/// Errors: `JYQQ_INVALID_HANDLE` (not a live capture, e.g. freed twice).
///
/// # Safety
/// `c` is NULL or a pointer `jyqq_capture_new` returned.
#[no_mangle]
pub unsafe extern "C" fn jyqq_capture_free(c: *mut jyqq_capture) -> jyqq_result {
    // SAFETY: Kind::Capture handles are Box<jyqq_capture>.
    unsafe { free_handle(c, Kind::Capture) }
}

unsafe fn with_call(
    c: *mut jyqq_capture,
    call: usize,
    f: impl FnOnce(&jyqq_capture, &CaptureCall) -> Result<(), jyqq_result>,
) -> jyqq_result {
    // SAFETY: Kind::Capture handles are Box<jyqq_capture>.
    unsafe {
        with_handle(c, Kind::Capture, |c| {
            code(c.calls.get(call).ok_or(jyqq_result::JYQQ_INDEX_OUT_OF_RANGE).and_then(|k| f(c, k)))
        })
    }
}

/// The number of calls found (call indices run from 0).
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`.
///
/// # Safety
/// `c` is a live capture or NULL; `count` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn jyqq_capture_call_count(c: *mut jyqq_capture, count: *mut usize) -> jyqq_result {
    // SAFETY: Kind::Capture handles are Box<jyqq_capture>; out-pointer per the caller's contract.
    unsafe { with_handle(c, Kind::Capture, |c| code(handle::out(count).map(|p| handle::write(p, c.calls.len())))) }
}

/// The number of payload types seen on leg `leg` of call `call` that the capture's SDP
/// (or RFC 3551's static table) names; 0 for the missing leg B of a one-way call.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`, `JYQQ_INDEX_OUT_OF_RANGE`,
/// `JYQQ_INVALID_LEG`.
///
/// # Safety
/// `c` is a live capture or NULL; `count` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn jyqq_capture_call_payload_count(
    c: *mut jyqq_capture,
    call: usize,
    leg: jyqq_leg,
    count: *mut usize,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_call(c, call, |_, k| {
            let out = handle::out(count)?;
            let l = super::convert::leg(leg)?;
            handle::write(out, k.payloads[l.index()].len());
            Ok(())
        })
    }
}

/// Payload type `index` of leg `leg` of call `call`, most packets first (index 0 is the
/// leg's main codec). The strings in `*codec` stay valid until the capture is freed.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`, `JYQQ_INDEX_OUT_OF_RANGE`,
/// `JYQQ_INVALID_LEG`.
///
/// # Safety
/// `c` is a live capture or NULL; `codec` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn jyqq_capture_call_payload(
    c: *mut jyqq_capture,
    call: usize,
    leg: jyqq_leg,
    index: usize,
    codec: *mut jyqq_codec,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_call(c, call, |_, k| {
            let out = handle::out(codec)?;
            let l = super::convert::leg(leg)?;
            let p = k.payloads[l.index()].get(index).ok_or(jyqq_result::JYQQ_INDEX_OUT_OF_RANGE)?;
            handle::write(
                out,
                jyqq_codec {
                    encoding_name: p.name.as_ptr(),
                    fmtp: p.fmtp.as_ref().map_or(std::ptr::null(), |f| f.as_ptr()),
                    clock_rate: p.clock_rate,
                    payload_type: p.payload_type,
                    channels: p.channels,
                },
            );
            Ok(())
        })
    }
}

/// The number of datagrams of call `call`, both legs together.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`, `JYQQ_INDEX_OUT_OF_RANGE`.
///
/// # Safety
/// `c` is a live capture or NULL; `count` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn jyqq_capture_call_datagram_count(
    c: *mut jyqq_capture,
    call: usize,
    count: *mut usize,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_call(c, call, |_, k| {
            let out = handle::out(count)?;
            handle::write(out, k.datagrams.len());
            Ok(())
        })
    }
}

/// Datagram `index` of call `call`, in arrival order over both legs (equal times in
/// capture order). Its pointers stay valid until the capture is freed.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_HANDLE`, `JYQQ_INDEX_OUT_OF_RANGE`.
///
/// # Safety
/// `c` is a live capture or NULL; `datagram` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn jyqq_capture_call_datagram(
    c: *mut jyqq_capture,
    call: usize,
    index: usize,
    datagram: *mut jyqq_datagram,
) -> jyqq_result {
    // SAFETY: the caller's contract.
    unsafe {
        with_call(c, call, |cap, k| {
            let out = handle::out(datagram)?;
            let d = k.datagrams.get(index).ok_or(jyqq_result::JYQQ_INDEX_OUT_OF_RANGE)?;
            let dg = &cap.capture.datagrams[d.index];
            handle::write(
                out,
                jyqq_datagram {
                    time_ns: dg.time.as_nanos(),
                    leg: d.leg,
                    from: d.from.as_ptr(),
                    data: dg.payload.as_ptr(),
                    len: dg.payload.len(),
                },
            );
            Ok(())
        })
    }
}
