//! Jitter buffer: reorders [`MediaPacket`](crate::rtp::MediaPacket)s, absorbs network
//! jitter with a playout delay, and decides once per ptime whether to play a packet,
//! conceal a missing one, or fill silence.
//!
//! v1, NetEq-inspired, in three parts that grow separately:
//! - the **packet store** (`store`): bounded, ordered by (epoch, extended sequence
//!   number), preallocated; when full it drops the oldest packet and counts it;
//! - the **target delay** (`delay`): fixed, or adaptive — the 95th percentile of the
//!   relative arrival delay over the last 2 s plus one ptime, clamped;
//! - the **playout decision** (`playout`, [`JitterBuffer::pop`]): one [`Playout`] per
//!   ptime, anchored at the first packet of each epoch or talkspurt.
//!
//! Sequence numbers and timestamps arrive already extended to 64 bits by ingress
//! (RFC 3550 App. A.1), so nothing wraps here. Loss is declared for a sequence number
//! only when its slot is due and a later packet is present, or when a dry buffer's
//! slot passes and a later packet then arrives; a packet arriving after its slot is
//! `late`, not played. Timestamp gaps with contiguous sequence numbers (DTX, silence
//! suppression, comfort noise) are silence, not loss.
//!
//! Later (NetEq-class): forgetting-histogram delay estimate, time-stretching to move
//! toward the target inside a talkspurt, codec-specific concealment decisions.

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
