//! Recording utilities for C hosts: read an Ogg Opus file's facts, repair a
//! crash-truncated one, verify a signed recording.

use super::handle::{self, code, guard};
use super::result::jyqq_result;
use super::session::copy_out;
use super::types::jyqq_ogg_info;
use crate::record::{read_ogg_opus, repair, verify_recording};
use ed25519_dalek::VerifyingKey;
use std::ffi::c_char;

/// Reads the Ogg Opus stream in `len` bytes at `bytes` (RFC 7845; a crash-truncated file
/// reads up to its last complete page) and writes its facts to `*info`.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_LENGTH` (`len` 0), `JYQQ_NOT_OGG_OPUS`.
///
/// # Safety
/// `bytes` is NULL or points to `len` bytes; `info` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn jyqq_ogg_opus_info(bytes: *const u8, len: usize, info: *mut jyqq_ogg_info) -> jyqq_result {
    guard(|| {
        code((|| {
            // SAFETY: the caller's contract.
            let data = unsafe { handle::data(bytes, len) }?;
            let out = handle::out(info)?;
            let i = read_ogg_opus(data)?;
            let v = jyqq_ogg_info {
                duration_ns: u64::try_from(i.duration().as_nanos()).unwrap_or(u64::MAX),
                total_samples: i.total_samples,
                channels: u32::from(i.head.channels),
                pre_skip: u32::from(i.head.pre_skip),
                input_rate_hz: i.head.input_sample_rate,
                pages: i.pages,
                crc_failures: i.crc_failures,
                eos_on_last_page: i.eos_on_last_page,
                conformant: i.is_conformant(),
            };
            // SAFETY: checked non-NULL; writable by the caller's contract.
            unsafe { handle::write(out, v) };
            Ok(())
        })())
    })
}

/// Rewrites a crash-truncated (or intact) Ogg Opus file as a complete one ending with an
/// end-of-stream page, keeping every complete, CRC-valid page in sequence (see `repair`
/// in the Rust docs). Writes it to `out` (`out_cap` bytes) and its length to `*out_len`;
/// when `out_cap` is too small, returns `JYQQ_BUFFER_TOO_SMALL` with the length written
/// to `*out_len` (call with `out` NULL and `out_cap` 0 to learn it).
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_LENGTH`, `JYQQ_NOT_OGG_OPUS`,
/// `JYQQ_BUFFER_TOO_SMALL`.
///
/// # Safety
/// `bytes` is NULL or points to `len` bytes; `out` is NULL or writable for `out_cap`
/// bytes and does not overlap `bytes`; `out_len` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn jyqq_ogg_repair(
    bytes: *const u8,
    len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> jyqq_result {
    guard(|| {
        code((|| {
            // SAFETY: the caller's contract.
            let data = unsafe { handle::data(bytes, len) }?;
            let n = handle::out(out_len)?;
            let fixed = repair(data)?;
            // SAFETY: the caller's contract.
            unsafe { copy_out(&fixed, false, out, out_cap, n) }
        })())
    })
}

/// Verifies a signed single-segment recording: `manifest` (the signed manifest file's
/// bytes), `public_key` (the trusted 32-byte Ed25519 key), `segment` (the recording
/// file's bytes) and optionally `sidecar` (the pcap sidecar's bytes, or NULL with
/// `sidecar_len` 0). Writes whether it is intact (complete and unaltered since signed)
/// to `*intact`, and a human-readable report (NUL-terminated UTF-8: "OK: …" or the list
/// of problems) to `report` (`report_cap` bytes, may be NULL/0), its length to
/// `*report_len`. When the report does not fit, `*intact` and `*report_len` are still
/// written and `JYQQ_BUFFER_TOO_SMALL` is returned.
///
/// Errors: `JYQQ_NULL_PARAMETER`, `JYQQ_INVALID_LENGTH`, `JYQQ_MANIFEST_UNREADABLE`
/// (an invalid key), `JYQQ_BUFFER_TOO_SMALL`. A tampered recording is not an error:
/// `*intact` is false.
///
/// # Safety
/// Each pointer is NULL or valid for its length; `public_key` is NULL or points to 32
/// bytes; the out-pointers are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn jyqq_recording_verify(
    manifest: *const u8,
    manifest_len: usize,
    public_key: *const u8,
    segment: *const u8,
    segment_len: usize,
    sidecar: *const u8,
    sidecar_len: usize,
    intact: *mut bool,
    report: *mut c_char,
    report_cap: usize,
    report_len: *mut usize,
) -> jyqq_result {
    guard(|| {
        code((|| {
            // SAFETY: the caller's contract for each pointer.
            let (m, key, seg, side) = unsafe {
                (
                    handle::data(manifest, manifest_len)?,
                    handle::data(public_key, 32)?,
                    handle::data(segment, segment_len)?,
                    handle::slice(sidecar, sidecar_len)?,
                )
            };
            let (ok, n) = (handle::out(intact)?, handle::out(report_len)?);
            let key: [u8; 32] = key.try_into().map_err(|_| jyqq_result::JYQQ_INVALID_LENGTH)?;
            let key = VerifyingKey::from_bytes(&key).map_err(|_| jyqq_result::JYQQ_MANIFEST_UNREADABLE)?;
            let sidecar = (!side.is_empty()).then_some(side);
            let r = verify_recording(m, &key, &[Some(seg)], sidecar);
            let text = r.to_string();
            // SAFETY: checked non-NULL; writable by the caller's contract.
            unsafe {
                handle::write(ok, r.is_intact());
                copy_out(text.as_bytes(), true, report.cast(), report_cap, n)
            }
        })())
    })
}
