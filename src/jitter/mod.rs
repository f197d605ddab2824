//! Jitter buffering and playout: packets in, one frame of PCM out per pull, whatever
//! the network did to them.
//!
//! Two layers:
//! - [`AudioReceiver`] (NetEq-class, after libwebrtc's NetEq): the receive path of
//!   one leg. [`insert`](AudioReceiver::insert) each [`MediaPacket`](crate::rtp::MediaPacket)
//!   from ingress (sequence numbers and timestamps already extended to 64 bits, so
//!   nothing wraps here); [`pull`](AudioReceiver::pull) one frame (10 or 20 ms) of mono
//!   PCM at the output rate on the host's frame clock. It decodes (Opus at the output
//!   rate, G.711 upsampled), conceals, time-stretches, merges and plays comfort noise
//!   itself, and says what each frame is ([`PullInfo`], [`FrameKind`]).
//! - [`JitterBuffer`] (v1): the packet-level store and playout decisions
//!   ([`Playout`]) for callers that decode themselves; its bounded ordered store
//!   (`store.rs`) is also the receiver's packet buffer.
//!
//! How the receiver works, one piece per file:
//! - **Target delay** (`delay_manager.rs`, `histogram.rs`): a forgetting histogram of
//!   *relative arrival delay* — each packet's delay against the fastest packet of the
//!   last 2 s, which absorbs clock drift and DTX gaps — whose 97th percentile (per
//!   packet, forgetting factor 0.998, about 10 s of memory) is the target, clamped to
//!   `[min, max]` ([`PlayoutDelay::Adaptive`]) or fixed ([`PlayoutDelay::Fixed`]).
//!   Delay spikes (a route change, a radio retransmission) are kept out of the
//!   histogram unless they are frequent. [`DelayTuning`] selects NetEq's own setting
//!   (half-second peaks, 95th percentile, 0.983) instead.
//! - **Decisions** (`receiver_playout.rs`): per pull, decode the next packet, recover
//!   a lost one from Opus in-band FEC, fill a short loss from both sides when the next
//!   packet is already here (`interpolate.rs`), conceal (`expand.rs`: codec PLC for
//!   Opus; pitch-period expansion for G.711 fading to comfort noise by 60 ms and to
//!   silence by 200 ms), merge back into real audio (`merge.rs`), play RFC 3389 or
//!   Opus DTX comfort noise (`noise.rs`), start talkspurts one target delay after their
//!   first packet arrived, and after a delay spike drop the stale packets rather than
//!   play the whole spike late (the opposite of NetEq's flush-everything on overflow,
//!   which this buffer never does: it drops the oldest packet).
//! - **Time-stretching** (`stretch.rs`): WSOLA accelerate / preemptive expand by one
//!   pitch period (never a whole frame), at most once per 100 ms, on low-energy audio
//!   first, to hold the buffer level at the target.
//! - **Statistics** ([`ReceiverStats`]): per stream and per leg — received, lost,
//!   late, duplicate, discarded, reordered, non-audio, FEC-recovered; played,
//!   concealed, stretched, comfort-noise and silent time; current and mean playout
//!   delay; RFC 3550 interarrival jitter.
//!
//! Quality against GStreamer's `rtpjitterbuffer` is measured by `benches/quality/run.py`
//! (see `benches/quality/README.md`); speed by `benches/jitter.rs`.

#![forbid(unsafe_code)]

mod buffer;
mod config;
mod decoders;
mod delay;
mod delay_manager;
mod dsp;
mod expand;
mod histogram;
mod interpolate;
mod merge;
mod noise;
mod playout;
mod receiver;
mod receiver_config;
mod receiver_stats;
mod stats;
mod store;
mod stretch;
mod sync_buffer;
mod upsample;

pub use buffer::{InsertOutcome, JitterBuffer};
pub use config::{JitterConfig, PlayoutDelay};
pub use delay_manager::DelayTuning;
pub use playout::Playout;
pub use receiver::AudioReceiver;
pub use receiver_config::{FrameKind, JitterError, PullInfo, ReceiverConfig};
pub use receiver_stats::{ReceiverStats, StreamCounters};
pub use stats::JitterStats;
