//! G.722 encode and decode cost, ours against spandsp's (libspandsp, C) in the same run.
//!
//! Input: the ITU-T G.191 demo speech (`../shared/data/codec/itu-g722/speech/inpsp.bin`,
//! 16 kHz) when present, otherwise a synthetic mix of tones and noise; 1 s of it
//! (50 frames of 20 ms) per iteration, one `encode`/`decode` call per 20 ms frame
//! (320 samples ↔ 160 octets). The time per iteration is the cost per call-second;
//! divide by 50 for the cost per 20 ms frame. The ratio ours / spandsp is the figure
//! of merit (target ≤ 1.0). Before timing, both codecs' outputs are checked equal.
//!
//! spandsp is reached through a minimal FFI declared here (the library crate forbids
//! `unsafe`; benches are separate crates). Needs Debian's `libspandsp-dev`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use jyqq_media::codec::{Decoder, Encoder, G722Decoder, G722Encoder, G722Mode};
use std::os::raw::c_int;
use std::time::Duration;

#[path = "support/quick.rs"]
mod quick;

mod spandsp {
    use std::os::raw::c_int;

    /// Opaque `g722_encode_state_t`.
    #[repr(C)]
    pub struct EncodeState {
        _private: [u8; 0],
    }

    /// Opaque `g722_decode_state_t`.
    #[repr(C)]
    pub struct DecodeState {
        _private: [u8; 0],
    }

    #[link(name = "spandsp")]
    extern "C" {
        pub fn g722_encode_init(s: *mut EncodeState, rate: c_int, options: c_int) -> *mut EncodeState;
        pub fn g722_encode_free(s: *mut EncodeState) -> c_int;
        pub fn g722_encode(s: *mut EncodeState, g722_data: *mut u8, amp: *const i16, len: c_int) -> c_int;
        pub fn g722_decode_init(s: *mut DecodeState, rate: c_int, options: c_int) -> *mut DecodeState;
        pub fn g722_decode_free(s: *mut DecodeState) -> c_int;
        pub fn g722_decode(s: *mut DecodeState, amp: *mut i16, g722_data: *const u8, len: c_int) -> c_int;
    }
}

/// spandsp's 64 kbit/s encoder, 16 kHz input.
struct SpanEncoder(*mut spandsp::EncodeState);

impl SpanEncoder {
    fn new() -> Self {
        // SAFETY: NULL asks spandsp to allocate the state; 64000 bit/s, no options are valid.
        let s = unsafe { spandsp::g722_encode_init(std::ptr::null_mut(), 64_000, 0) };
        assert!(!s.is_null());
        SpanEncoder(s)
    }

    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> usize {
        assert!(out.len() >= pcm.len() / 2);
        // SAFETY: the state is live; `out` holds pcm.len() / 2 octets, `pcm` is read only.
        unsafe { spandsp::g722_encode(self.0, out.as_mut_ptr(), pcm.as_ptr(), pcm.len() as c_int) as usize }
    }
}

impl Drop for SpanEncoder {
    fn drop(&mut self) {
        // SAFETY: allocated by g722_encode_init, freed once.
        unsafe { spandsp::g722_encode_free(self.0) };
    }
}

/// spandsp's 64 kbit/s (mode 1) decoder, 16 kHz output.
struct SpanDecoder(*mut spandsp::DecodeState);

impl SpanDecoder {
    fn new() -> Self {
        // SAFETY: as for the encoder.
        let s = unsafe { spandsp::g722_decode_init(std::ptr::null_mut(), 64_000, 0) };
        assert!(!s.is_null());
        SpanDecoder(s)
    }

    fn decode(&mut self, codes: &[u8], out: &mut [i16]) -> usize {
        assert!(out.len() >= 2 * codes.len());
        // SAFETY: the state is live; `out` holds 2 samples per octet.
        unsafe { spandsp::g722_decode(self.0, out.as_mut_ptr(), codes.as_ptr(), codes.len() as c_int) as usize }
    }
}

impl Drop for SpanDecoder {
    fn drop(&mut self) {
        // SAFETY: allocated by g722_decode_init, freed once.
        unsafe { spandsp::g722_decode_free(self.0) };
    }
}

/// One second of 16 kHz input.
fn input() -> Vec<i16> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/codec/itu-g722/speech/inpsp.bin");
    if let Ok(bytes) = std::fs::read(path) {
        eprintln!("input: G.191 speech (inpsp.bin), seconds 1-2");
        return bytes.chunks_exact(2).skip(16_000).take(16_000).map(|w| i16::from_le_bytes([w[0], w[1]])).collect();
    }
    eprintln!("input: synthetic tones and noise");
    let mut x = 0x2545_f491u32;
    (0..16_000)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let t = f64::from(i) / 16_000.0;
            let tones = 6000.0 * (2.0 * std::f64::consts::PI * 220.0 * t).sin()
                + 3000.0 * (2.0 * std::f64::consts::PI * 1870.0 * t).sin();
            (tones + f64::from((x >> 21) as i32 - 1024)) as i16
        })
        .collect()
}

fn g722(c: &mut Criterion) {
    let pcm = input();
    let mut codes = vec![0u8; 8000];
    let mut ours = G722Encoder::new();
    for (f, o) in pcm.chunks_exact(320).zip(codes.chunks_exact_mut(160)) {
        assert_eq!(ours.encode(f, o), Ok(160));
    }
    let mut theirs = vec![0u8; 8000];
    let mut span = SpanEncoder::new();
    for (f, o) in pcm.chunks_exact(320).zip(theirs.chunks_exact_mut(160)) {
        assert_eq!(span.encode(f, o), 160);
    }
    assert_eq!(codes, theirs, "encoders agree");
    let mut a = vec![0i16; 16_000];
    let mut b = vec![0i16; 16_000];
    let mut dec = G722Decoder::new(G722Mode::Mode1);
    let mut sdec = SpanDecoder::new();
    for ((c, x), y) in codes.chunks_exact(160).zip(a.chunks_exact_mut(320)).zip(b.chunks_exact_mut(320)) {
        assert_eq!(dec.decode(c, x), Ok(320));
        assert_eq!(sdec.decode(c, y), 320);
    }
    assert_eq!(a, b, "decoders agree");

    let mut g = c.benchmark_group("g722_call_second");
    g.throughput(Throughput::Elements(16_000));
    quick::tune(&mut g, 100, Duration::from_secs(3));
    let mut enc = G722Encoder::new();
    let mut out = [0u8; 160];
    g.bench_function("encode/ours", |bch| {
        bch.iter(|| {
            for f in black_box(&pcm).chunks_exact(320) {
                let n = enc.encode(f, &mut out).expect("even frame, room for 160 octets");
                black_box(&out[..n]);
            }
        })
    });
    let mut span = SpanEncoder::new();
    g.bench_function("encode/spandsp", |bch| {
        bch.iter(|| {
            for f in black_box(&pcm).chunks_exact(320) {
                let n = span.encode(f, &mut out);
                black_box(&out[..n]);
            }
        })
    });
    let mut dec = G722Decoder::new(G722Mode::Mode1);
    let mut frame = [0i16; 320];
    g.bench_function("decode/ours", |bch| {
        bch.iter(|| {
            for c in black_box(&codes).chunks_exact(160) {
                let n = dec.decode(c, &mut frame).expect("room for 320 samples");
                black_box(&frame[..n]);
            }
        })
    });
    let mut sdec = SpanDecoder::new();
    g.bench_function("decode/spandsp", |bch| {
        bch.iter(|| {
            for c in black_box(&codes).chunks_exact(160) {
                let n = sdec.decode(c, &mut frame);
                black_box(&frame[..n]);
            }
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = quick::criterion();
    targets = g722
}
criterion_main!(benches);
