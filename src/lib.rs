//! # jyqq-media
//!
//! The media core of a prison family-call platform (JYQQ, 监狱亲情电话): RTP ingress,
//! codecs, jitter buffering with concealment, and crash-safe stereo Ogg Opus
//! recording of two-leg calls.
//!
//! ## The run loop (sans-IO)
//! The core never reads a clock, opens a socket or file, spawns a thread or
//! blocks. The host hands in packets and time ([`HostTime`], monotonic
//! nanoseconds from an epoch the host chooses) and drains output:
//!
//! ```text
//! ingress.receive(now, from, &datagram)  -> MediaPacket (extended seq/ts) or a counted drop
//! recorder.push(leg, &packet)            -> one mutation
//! while let Some(page) = recorder.poll_page() { sink.write(&page) }   -> then drain
//! ```
//!
//! ## Glossary
//! - **leg**: one side of the call; leg A is the inmate's phone, leg B the family member's.
//! - **SSRC**: RTP synchronisation source (RFC 3550 §3).
//! - **payload type (PT)**: the 7-bit codec identifier in each RTP header.
//! - **clock rate**: RTP timestamp ticks per second ([`ClockRate`]); not always the audio
//!   sample rate ([`SampleRate`]): G.722 runs 16 kHz audio on an 8 kHz clock.
//! - **ptime**: packetisation interval, the duration of one frame (e.g. 20 ms).
//! - **talkspurt**: a run of packets between silences; its first packet carries the marker bit.
//! - **playout delay**: how long the jitter buffer holds a packet before playing it.
//! - **concealment (PLC)**: audio made up for a lost frame.
//! - **granule position**: in Ogg Opus, the count of 48 kHz samples up to the end of a page,
//!   including the **pre-skip** (samples the decoder discards at the start; RFC 7845 §4).
//! - **samples per channel**: the count of a PCM buffer; buffers are interleaved `i16`.
//!
//! ## Unsafe code
//! `unsafe` is allowed in one module only: [`ffi`], the C ABI, which must dereference the
//! raw pointers C hosts pass in (every `unsafe` block there carries a `SAFETY:` comment).
//! Every other module is `#![forbid(unsafe_code)]`; the crate root is
//! `#![deny(unsafe_code)]` (a crate-wide `forbid` could not be lifted for `ffi`). The calls
//! into C codec libraries live in two small sub-crates with the same rule:
//! `crates/jyqq-opus-dnn` (libopus' decoder complexity control, for the deep PLC) and
//! `crates/jyqq-bcg729` (the optional G.729).

#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod analysis;
#[cfg(feature = "archive-s3")]
pub mod archive;
pub mod audio;
pub mod capture;
pub mod codec;
pub mod error;
pub mod ffi;
pub mod jitter;
pub mod leg;
pub mod mix;
pub mod record;
pub mod replay;
pub mod rtp;
#[cfg(feature = "runtime")]
pub mod runtime;
pub mod session;
pub mod testing;
pub mod time;

pub use audio::{ClockRate, PcmFrame, SampleRate};
pub use error::{Error, Result};
pub use leg::Leg;
pub use time::{HostTime, MediaTime};
