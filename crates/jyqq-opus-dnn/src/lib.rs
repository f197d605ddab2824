//! Safe wrapper over libopus' `OpusDecoder` (RFC 6716 decoder) exposing the decoder
//! complexity control (`OPUS_SET_COMPLEXITY` on a decoder, libopus ≥ 1.5):
//!
//! - complexity 0–4: the classic concealment (SILK's LPC extrapolation, CELT's pitch repeat);
//! - 5: the deep PLC — a neural network predicts the lost speech features and FARGAN
//!   synthesises them (libopus `dnn/`, weights compiled in);
//! - 6 and 7: also the OSCE speech enhancement of decoded SILK (LACE at 6, NoLACE at 7).
//!
//! The `opus` crate's `Decoder` does not expose this control, hence this crate: it holds the
//! only `unsafe` code of jyqq-media's Opus decoding (the calls into `opusic-sys`). The libopus
//! built is the `opus` crate's own (bundled 1.6.1), with its `osce` feature on.

#![deny(missing_docs)]

use opusic_sys as ffi;
use std::ptr::NonNull;

/// A libopus error code (negative `OPUS_*` value, e.g. −4 `OPUS_INVALID_PACKET`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusError(pub i32);

impl std::fmt::Display for OpusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // SAFETY: opus_strerror returns a pointer to a static NUL-terminated string for any code.
        let s = unsafe { std::ffi::CStr::from_ptr(ffi::opus_strerror(self.0)) };
        write!(f, "libopus error {}: {}", self.0, s.to_string_lossy())
    }
}

impl std::error::Error for OpusError {}

/// One Opus decoder: `rate` Hz output (8000, 12000, 16000, 24000 or 48000), 1 or 2
/// channels, interleaved 16-bit PCM.
pub struct Decoder {
    st: NonNull<ffi::OpusDecoder>,
    channels: usize,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder").field("channels", &self.channels).finish_non_exhaustive()
    }
}

// SAFETY: an OpusDecoder is plain heap state with no thread affinity; `&mut self` on every
// call keeps it to one thread at a time.
unsafe impl Send for Decoder {}

impl Decoder {
    /// A decoder at `rate` Hz with `channels` (1 or 2).
    ///
    /// Errors: `OPUS_BAD_ARG` (−1) for another rate or channel count.
    pub fn new(rate: u32, channels: u8) -> Result<Decoder, OpusError> {
        if !matches!(rate, 8000 | 12000 | 16000 | 24000 | 48000) || !matches!(channels, 1 | 2) {
            return Err(OpusError(ffi::OPUS_BAD_ARG));
        }
        let mut err = 0;
        // SAFETY: valid rate and channels (checked above); `err` is a valid out pointer.
        let st = unsafe { ffi::opus_decoder_create(rate as i32, i32::from(channels), &mut err) };
        match NonNull::new(st) {
            Some(st) if err == ffi::OPUS_OK => Ok(Decoder { st, channels: usize::from(channels) }),
            Some(st) => {
                // SAFETY: created above, not used again.
                unsafe { ffi::opus_decoder_destroy(st.as_ptr()) };
                Err(OpusError(err))
            }
            None => Err(OpusError(if err == 0 { ffi::OPUS_ALLOC_FAIL } else { err })),
        }
    }

    /// Sets the decoder complexity 0–10 (see the crate docs: 5 deep PLC, 6–7 OSCE too).
    ///
    /// Errors: `OPUS_BAD_ARG` outside 0–10.
    pub fn set_complexity(&mut self, complexity: i32) -> Result<(), OpusError> {
        // SAFETY: a live decoder; OPUS_SET_COMPLEXITY takes one opus_int32 argument.
        let r = unsafe { ffi::opus_decoder_ctl(self.st.as_ptr(), ffi::OPUS_SET_COMPLEXITY_REQUEST, complexity) };
        if r == ffi::OPUS_OK {
            Ok(())
        } else {
            Err(OpusError(r))
        }
    }

    /// The decoder complexity in force.
    pub fn complexity(&mut self) -> Result<i32, OpusError> {
        let mut v: i32 = 0;
        // SAFETY: a live decoder; OPUS_GET_COMPLEXITY takes one opus_int32 out pointer.
        let r =
            unsafe { ffi::opus_decoder_ctl(self.st.as_ptr(), ffi::OPUS_GET_COMPLEXITY_REQUEST, &mut v as *mut i32) };
        if r == ffi::OPUS_OK {
            Ok(v)
        } else {
            Err(OpusError(r))
        }
    }

    /// Resets the decoder to its initial state (as after `new`), keeping the complexity.
    pub fn reset(&mut self) -> Result<(), OpusError> {
        let c = self.complexity()?;
        // SAFETY: a live decoder; OPUS_RESET_STATE takes no argument.
        let r = unsafe { ffi::opus_decoder_ctl(self.st.as_ptr(), ffi::OPUS_RESET_STATE) };
        if r != ffi::OPUS_OK {
            return Err(OpusError(r));
        }
        self.set_complexity(c)
    }

    /// Decodes `packet` into `out` (interleaved), returning samples per channel decoded.
    /// `packet` `None` (or empty) conceals `out.len() / channels` samples (a multiple of
    /// 2.5 ms). With `fec`, decodes the in-band FEC (LBRR) data of `packet` for the frame
    /// *before* it: `out` must then hold exactly that frame's length.
    ///
    /// Errors: libopus' (`OPUS_INVALID_PACKET`, `OPUS_BUFFER_TOO_SMALL`, …).
    pub fn decode(&mut self, packet: Option<&[u8]>, out: &mut [i16], fec: bool) -> Result<usize, OpusError> {
        let frame = i32::try_from(out.len() / self.channels).map_err(|_| OpusError(ffi::OPUS_BAD_ARG))?;
        let (data, len) = match packet {
            Some(p) if !p.is_empty() => {
                (p.as_ptr(), i32::try_from(p.len()).map_err(|_| OpusError(ffi::OPUS_INVALID_PACKET))?)
            }
            _ => (std::ptr::null(), 0),
        };
        // SAFETY: a live decoder; `data` is NULL or valid for `len` bytes; `out` holds
        // `frame × channels` samples.
        let n = unsafe { ffi::opus_decode(self.st.as_ptr(), data, len, out.as_mut_ptr(), frame, i32::from(fec)) };
        if n < 0 {
            Err(OpusError(n))
        } else {
            Ok(n as usize)
        }
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: created by opus_decoder_create, destroyed once.
        unsafe { ffi::opus_decoder_destroy(self.st.as_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complexity_is_kept_and_checked() {
        let mut d = Decoder::new(16000, 1).unwrap();
        assert_eq!(d.complexity(), Ok(0));
        d.set_complexity(5).unwrap();
        assert_eq!(d.complexity(), Ok(5));
        d.reset().unwrap();
        assert_eq!(d.complexity(), Ok(5));
        assert_eq!(d.set_complexity(11), Err(OpusError(ffi::OPUS_BAD_ARG)));
        assert!(Decoder::new(44100, 1).is_err());
        assert!(Decoder::new(16000, 3).is_err());
    }

    #[test]
    fn conceals_without_a_packet_and_rejects_garbage() {
        let mut d = Decoder::new(16000, 1).unwrap();
        d.set_complexity(5).unwrap();
        let mut out = vec![1i16; 320];
        assert_eq!(d.decode(None, &mut out, false), Ok(320));
        assert!(out.iter().all(|&s| s == 0), "concealing silence gives silence");
        // A code-3 packet whose frame count byte says 0 frames: invalid.
        assert!(d.decode(Some(&[0x03, 0x00]), &mut out, false).is_err());
    }
}
