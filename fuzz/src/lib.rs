//! Shared code of the jyqq-media fuzz targets.
//!
//! The op-sequence targets (`jitter_ops`, `telephone_event`, `codec_decode`, `session_ops`)
//! decode their input with [`arbitrary`]: a setup value, then operations until the input is
//! used up. Each module here holds one target's operation types and its harness (`run`), so
//! that the target file is one line and the seed generator (`examples/make_corpus.rs`) can
//! run every seed it writes.
//!
//! Seeds for these targets are written with [`Seed`], the exact inverse of the decoding
//! (`arbitrary` 1.x reads integers little-endian, a `bool` from one byte's low bit, and an
//! enum's variant from a `u32` as `(u32 * variants) >> 32`); every type implements
//! [`ToSeed`], and the generator checks that each seed decodes back to the operations it
//! was written from.

pub mod codec;
pub mod dtmf;
pub mod ffi;
pub mod jitter;
pub mod session;

use arbitrary::{Arbitrary, Unstructured};

/// A byte string taken from the input: a `u16` length (little-endian), then that many bytes
/// (fewer when the input ends first).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Blob<'a>(pub &'a [u8]);

impl std::fmt::Debug for Blob<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blob({} bytes)", self.0.len())
    }
}

impl<'a> Arbitrary<'a> for Blob<'a> {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let len = usize::from(u16::arbitrary(u)?);
        let n = len.min(u.len());
        Ok(Blob(u.bytes(n)?))
    }
}

/// Writes fuzz inputs in the encoding `arbitrary` decodes (see the crate docs).
#[derive(Debug, Default, Clone)]
pub struct Seed(pub Vec<u8>);

impl Seed {
    /// An empty seed.
    pub fn new() -> Seed {
        Seed(Vec::new())
    }

    /// One `u8`.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }

    /// One `i8`.
    pub fn i8(&mut self, v: i8) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// One `u16`, little-endian.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// One `i16`, little-endian.
    pub fn i16(&mut self, v: i16) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// One `u32`, little-endian.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// One `i32`, little-endian.
    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// One `u64`, little-endian.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// One `bool`.
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(u8::from(v))
    }

    /// The variant `index` of an enum with `count` variants, as the derive decodes it.
    pub fn variant(&mut self, index: u32, count: u32) -> &mut Self {
        assert!(index < count, "variant {index} of {count}");
        let t = ((u64::from(index) << 32).div_ceil(u64::from(count))) as u32;
        debug_assert_eq!(((u64::from(t) * u64::from(count)) >> 32) as u32, index);
        self.u32(t)
    }

    /// A [`Blob`].
    pub fn blob(&mut self, b: &[u8]) -> &mut Self {
        let len = u16::try_from(b.len()).expect("blob longer than 65535 bytes");
        self.u16(len);
        self.0.extend_from_slice(b);
        self
    }

    /// Appends a value's encoding.
    pub fn put<T: ToSeed + ?Sized>(&mut self, v: &T) -> &mut Self {
        v.to_seed(self);
        self
    }

    /// The bytes written.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// A value that can be written as the bytes `arbitrary` decodes back into it.
pub trait ToSeed {
    /// Appends the encoding of `self`.
    fn to_seed(&self, s: &mut Seed);
}

impl ToSeed for Blob<'_> {
    fn to_seed(&self, s: &mut Seed) {
        s.blob(self.0);
    }
}

impl ToSeed for () {
    fn to_seed(&self, _: &mut Seed) {}
}

impl<T: ToSeed> ToSeed for [T] {
    fn to_seed(&self, s: &mut Seed) {
        for v in self {
            v.to_seed(s);
        }
    }
}

/// Decodes a setup value then operations until the input is used up (an operation that
/// cannot be decoded completely ends the list).
pub fn decode_ops<'a, S: Arbitrary<'a>, O: Arbitrary<'a>>(data: &'a [u8]) -> Option<(S, Vec<O>)> {
    let mut u = Unstructured::new(data);
    let setup = S::arbitrary(&mut u).ok()?;
    let mut ops = Vec::new();
    while !u.is_empty() {
        match O::arbitrary(&mut u) {
            Ok(op) => ops.push(op),
            Err(_) => break,
        }
    }
    Some((setup, ops))
}

/// A small deterministic generator (64-bit LCG) for the harnesses' own noise.
#[derive(Debug, Clone)]
pub struct Lcg(pub u64);

impl Lcg {
    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
}
