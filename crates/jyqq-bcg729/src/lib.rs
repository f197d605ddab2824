//! Safe wrapper over libbcg729 (G.729 Annex A with Annex B VAD/DTX/CNG).
//!
//! One G.729 frame is 10 ms: 80 samples of 8 kHz mono 16-bit PCM ↔ 10 bytes (a voice frame)
//! or 2 bytes (an Annex B SID frame, comfort-noise parameters), or nothing (a frame the
//! encoder's VAD chose not to transmit). RTP packs several frames per packet (RFC 3551 §4.5.6).
//!
//! This crate holds the only `unsafe` code of jyqq-media's `g729` feature: the `extern "C"`
//! declarations of `bcg729/encoder.h` and `bcg729/decoder.h` (bcg729 1.1.1) and their calls.
//! libbcg729 is GPL-3.0-or-later.

#![deny(missing_docs)]

use std::ptr::NonNull;

/// Samples per channel in one G.729 frame (10 ms at 8 kHz).
pub const FRAME_SAMPLES: usize = 80;
/// Bytes of one voice frame (80 bits).
pub const VOICE_FRAME_BYTES: usize = 10;
/// Bytes of one Annex B SID (silence descriptor) frame (15 bits in 2 bytes).
pub const SID_FRAME_BYTES: usize = 2;

#[repr(C)]
struct EncoderContext {
    _private: [u8; 0],
}

#[repr(C)]
struct DecoderContext {
    _private: [u8; 0],
}

extern "C" {
    fn initBcg729EncoderChannel(enable_vad: u8) -> *mut EncoderContext;
    fn closeBcg729EncoderChannel(ctx: *mut EncoderContext);
    fn bcg729Encoder(ctx: *mut EncoderContext, input: *const i16, bitstream: *mut u8, bitstream_len: *mut u8);
    fn initBcg729DecoderChannel() -> *mut DecoderContext;
    fn closeBcg729DecoderChannel(ctx: *mut DecoderContext);
    fn bcg729Decoder(
        ctx: *mut DecoderContext,
        bitstream: *const u8,
        bitstream_len: u8,
        frame_erased: u8,
        sid_frame: u8,
        rfc3389_payload: u8,
        signal: *mut i16,
    );
}

/// A G.729A encoder channel (with Annex B VAD/DTX when asked).
#[derive(Debug)]
pub struct Encoder {
    ctx: NonNull<EncoderContext>,
}

// SAFETY: the context is heap memory owned exclusively by this value; bcg729 keeps no
// thread-local or global state, so moving it to another thread is sound.
unsafe impl Send for Encoder {}

impl Encoder {
    /// A new encoder; `vad` enables Annex B (frames of silence come out as SID frames or
    /// nothing). `None` when libbcg729 cannot allocate.
    pub fn new(vad: bool) -> Option<Self> {
        // SAFETY: plain constructor call; a null return is handled.
        let ctx = unsafe { initBcg729EncoderChannel(u8::from(vad)) };
        NonNull::new(ctx).map(|ctx| Encoder { ctx })
    }

    /// Encodes one 10 ms frame; returns the bytes written to `out`: 10 (voice), 2 (SID) or
    /// 0 (not transmitted, only with VAD).
    pub fn encode(&mut self, pcm: &[i16; FRAME_SAMPLES], out: &mut [u8; VOICE_FRAME_BYTES]) -> usize {
        let mut len = 0u8;
        // SAFETY: `ctx` is live (freed only in Drop); `pcm` holds the 80 samples bcg729 reads
        // and `out` the at most 10 bytes it writes; `len` is a valid out-pointer.
        unsafe { bcg729Encoder(self.ctx.as_ptr(), pcm.as_ptr(), out.as_mut_ptr(), &mut len) };
        usize::from(len).min(VOICE_FRAME_BYTES)
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        // SAFETY: `ctx` came from initBcg729EncoderChannel and is closed exactly once.
        unsafe { closeBcg729EncoderChannel(self.ctx.as_ptr()) }
    }
}

/// What one call to [`Decoder::decode`] is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A 10-byte voice frame.
    Voice(&'a [u8; VOICE_FRAME_BYTES]),
    /// A 2-byte Annex B SID frame: comfort noise follows.
    Sid(&'a [u8; SID_FRAME_BYTES]),
    /// A lost frame: concealment (or comfort noise after a SID frame).
    Erased,
}

/// A G.729 decoder channel (Annex A, Annex B comfort noise).
#[derive(Debug)]
pub struct Decoder {
    ctx: NonNull<DecoderContext>,
}

// SAFETY: as for Encoder: exclusively owned heap context, no shared state in bcg729.
unsafe impl Send for Decoder {}

impl Decoder {
    /// A new decoder, `None` when libbcg729 cannot allocate.
    pub fn new() -> Option<Self> {
        // SAFETY: plain constructor call; a null return is handled.
        let ctx = unsafe { initBcg729DecoderChannel() };
        NonNull::new(ctx).map(|ctx| Decoder { ctx })
    }

    /// Decodes one frame into 80 samples of 8 kHz PCM.
    pub fn decode(&mut self, frame: Frame<'_>, out: &mut [i16; FRAME_SAMPLES]) {
        let (ptr, len, erased, sid) = match frame {
            Frame::Voice(b) => (b.as_ptr(), VOICE_FRAME_BYTES as u8, 0, 0),
            Frame::Sid(b) => (b.as_ptr(), SID_FRAME_BYTES as u8, 0, 1),
            Frame::Erased => (std::ptr::null(), 0, 1, 0),
        };
        // SAFETY: `ctx` is live; bcg729 reads `len` bytes from `ptr` (not at all when the frame
        // is erased) and writes exactly 80 samples to `out`.
        unsafe { bcg729Decoder(self.ctx.as_ptr(), ptr, len, erased, sid, 0, out.as_mut_ptr()) }
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: `ctx` came from initBcg729DecoderChannel and is closed exactly once.
        unsafe { closeBcg729DecoderChannel(self.ctx.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_round_trip_and_vad() {
        let mut enc = Encoder::new(false).expect("encoder");
        let mut dec = Decoder::new().expect("decoder");
        let mut bits = [0u8; VOICE_FRAME_BYTES];
        let mut pcm = [0i16; FRAME_SAMPLES];
        assert_eq!(enc.encode(&[0; FRAME_SAMPLES], &mut bits), VOICE_FRAME_BYTES);
        dec.decode(Frame::Voice(&bits), &mut pcm);
        assert!(pcm.iter().all(|s| s.abs() < 64));
        dec.decode(Frame::Erased, &mut pcm);
        let mut vad = Encoder::new(true).expect("encoder");
        let lens: Vec<usize> = (0..20).map(|_| vad.encode(&[0; FRAME_SAMPLES], &mut bits)).collect();
        assert!(lens.iter().all(|&l| l == 0 || l == SID_FRAME_BYTES || l == VOICE_FRAME_BYTES));
        assert!(lens.iter().any(|&l| l < VOICE_FRAME_BYTES), "VAD suppresses silence: {lens:?}");
    }
}
