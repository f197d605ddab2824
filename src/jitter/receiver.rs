//! [`AudioReceiver`]: the NetEq-class receive path of one leg — packet buffer,
//! adaptive target delay, decoding, concealment, time-stretching, merge and
//! comfort noise — producing one frame of mono PCM per [`pull`](AudioReceiver::pull).
//!
//! The insert side lives here; the playout side (one decision per pull) is in
//! `receiver_playout.rs`.

use super::config::PlayoutDelay;
use super::decoders::{Decoders, PayloadClass};
use super::delay_manager::DelayManager;
use super::expand::Expander;
use super::interpolate::Interpolator;
use super::merge::Merger;
use super::noise::{BackgroundNoise, ComfortNoise};
use super::playout::{Past, Position};
use super::receiver_config::{FrameKind, JitterError, PullInfo, ReceiverConfig};
use super::receiver_stats::{ReceiverStats, StreamCounters};
use super::store::{PacketStore, StoreInsert};
use super::stretch::TimeStretch;
use super::sync_buffer::SyncBuffer;
use crate::audio::ClockRate;
use crate::rtp::{InterarrivalJitter, MediaPacket, PayloadType, Ssrc, StreamEpoch};
use crate::time::HostTime;
use std::time::Duration;

#[path = "receiver_playout.rs"]
mod receiver_playout;
#[path = "receiver_repair.rs"]
mod receiver_repair;
#[path = "receiver_stretch.rs"]
mod receiver_stretch;

/// How many recent non-audio sequence numbers are remembered (so they are not counted lost).
const NON_AUDIO_RING: usize = 64;

/// Where the last comfort noise came from, while it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cng {
    /// Not in comfort noise.
    Off,
    /// Opus DTX: the decoder's own comfort noise (PLC after a DTX frame).
    CodecInternal,
    /// RFC 3389 comfort noise from a CN packet.
    Rfc3389,
}

/// The timeline being played: one run of packets whose timestamps follow each other.
#[derive(Debug, Clone, Copy)]
struct Run {
    epoch: StreamEpoch,
    ssrc: Ssrc,
    clock: ClockRate,
    /// Payload type of the last audio decoded (the decoder concealment uses).
    pt: PayloadType,
    native_plc: bool,
    /// Last sequence number consumed (decoded, recovered or skipped).
    last_seq: u64,
    /// Extended timestamp at the end of the last decoded audio.
    next_ts: u64,
    /// Ticks of synthetic audio (concealment, comfort noise) produced since `next_ts`.
    synthetic: u64,
    /// Duration of the last packet, in ticks.
    ptime: u64,
    cng: Cng,
}

/// Recent sequence numbers that carried no audio (telephone-event, unsupported payloads).
#[derive(Debug, Clone)]
struct NonAudio {
    ring: [(StreamEpoch, u64); NON_AUDIO_RING],
    next: usize,
    len: usize,
}

impl NonAudio {
    fn new() -> Self {
        NonAudio { ring: [(StreamEpoch(0), 0); NON_AUDIO_RING], next: 0, len: 0 }
    }

    fn push(&mut self, epoch: StreamEpoch, seq: u64) {
        self.ring[self.next] = (epoch, seq);
        self.next = (self.next + 1) % NON_AUDIO_RING;
        self.len = (self.len + 1).min(NON_AUDIO_RING);
    }

    /// Non-audio sequence numbers strictly between `lo` and `hi` in `epoch`.
    fn between(&self, epoch: StreamEpoch, lo: u64, hi: u64) -> u64 {
        self.ring[..self.len].iter().filter(|&&(e, s)| e == epoch && s > lo && s < hi).count() as u64
    }
}

/// The receive path of one leg: RTP packets in (from [`Ingress`](crate::rtp::Ingress),
/// sequence numbers and timestamps already extended), one frame of mono PCM out per
/// [`pull`](Self::pull). NetEq-class; see the [module docs](super) for the design.
///
/// Run loop on the host's clock: [`insert`](Self::insert) each packet as it arrives,
/// then once per frame duration call [`pull`](Self::pull) with the time the frame
/// starts playing. The receiver never reads a clock and does not allocate per frame
/// (decoders are created on a payload type's first use).
#[derive(Debug)]
pub struct AudioReceiver {
    out_rate: u32,
    frame_len: usize,
    /// Whether the playout delay is adaptive (extras apply only then).
    adaptive: bool,
    frame: Duration,
    decoders: Decoders,
    store: PacketStore,
    delay: DelayManager,
    sync: SyncBuffer,
    expander: Expander,
    merger: Merger,
    stretch: TimeStretch,
    bgn: BackgroundNoise,
    cng: ComfortNoise,
    frame_buf: Vec<f32>,
    scratch: Vec<f32>,
    run: Option<Run>,
    seqs: Option<Position>,
    non_audio: NonAudio,
    /// Newest epoch seen at insert and the highest sequence number in it.
    newest: Option<(StreamEpoch, u64)>,
    jitter: InterarrivalJitter,
    /// Filtered buffer level in seconds.
    level: Option<f64>,
    /// Output samples since the last time-stretch.
    since_stretch: usize,
    /// Kind of the audio produced most recently.
    last_kind: FrameKind,
    /// Frames left during which in-band FEC counts as present (see `effective_target`).
    fec_seen: u32,
    /// Frames left during which recent loss raises the target (see `effective_target`).
    loss_seen: u32,
    interpolator: Interpolator,
    /// The gap audio of a two-sided fill (60 ms).
    gap_buf: Vec<f32>,
    stats: ReceiverStats,
}

impl AudioReceiver {
    /// A receiver for `config`.
    ///
    /// Errors: [`JitterError::UnsupportedOutputRate`] unless the output rate is 8, 16,
    /// 24 or 48 kHz; [`JitterError::UnsupportedFrame`] unless the frame is 10 or 20 ms.
    pub fn new(config: ReceiverConfig) -> Result<Self, JitterError> {
        let rate = config.output_rate.hz();
        if !matches!(rate, 8000 | 16_000 | 24_000 | 48_000) {
            return Err(JitterError::UnsupportedOutputRate(rate));
        }
        if config.frame != Duration::from_millis(10) && config.frame != Duration::from_millis(20) {
            return Err(JitterError::UnsupportedFrame(config.frame));
        }
        let delay = match config.delay {
            PlayoutDelay::Adaptive { min, max, initial } => {
                let (min, max) = if min <= max { (min, max) } else { (max, min) };
                PlayoutDelay::Adaptive { min, max, initial: initial.clamp(min, max) }
            }
            fixed => fixed,
        };
        let frame_len = config.output_rate.samples_in(config.frame);
        let ms = |m: u32| usize::try_from(rate / 1000 * m).unwrap_or(usize::MAX);
        let expander = Expander::new(rate);
        let hist = expander.history_len().max(ms(60));
        Ok(AudioReceiver {
            out_rate: rate,
            frame_len,
            adaptive: matches!(delay, PlayoutDelay::Adaptive { .. }),
            frame: config.frame,
            decoders: Decoders::new(config.payloads, config.output_rate, config.opus_complexity.min(10)),
            store: PacketStore::new(config.capacity.max(1)),
            delay: DelayManager::new(delay, config.tuning),
            sync: SyncBuffer::new(hist, ms(500)),
            expander,
            merger: Merger::new(rate),
            stretch: TimeStretch::new(rate),
            bgn: BackgroundNoise::new(u32::try_from(config.frame.as_millis()).unwrap_or(20)),
            cng: ComfortNoise::new(rate, 0xC0FF_EE01),
            frame_buf: vec![0.0; frame_len],
            scratch: vec![0.0; ms(20)],
            run: None,
            seqs: None,
            non_audio: NonAudio::new(),
            newest: None,
            jitter: InterarrivalJitter::new(),
            level: None,
            since_stretch: 0,
            last_kind: FrameKind::Silence,
            fec_seen: 0,
            loss_seen: 0,
            interpolator: Interpolator::new(rate),
            gap_buf: vec![0.0; ms(60)],
            stats: ReceiverStats::default(),
        })
    }

    /// Samples in one output frame (frame duration × output rate).
    pub fn frame_samples(&self) -> usize {
        self.frame_len
    }

    /// Statistics: per stream and for the leg, delays and buffer state.
    pub fn stats(&self) -> ReceiverStats {
        let mut s = self.stats;
        s.target_delay = self.effective_target();
        s.buffer_level = Duration::from_secs_f64(self.level_now().max(0.0));
        s.buffered_packets = self.store.len();
        s.stream.interarrival_jitter = Duration::from_secs_f64(self.jitter.ms().max(0.0) / 1000.0);
        s.total.interarrival_jitter = s.stream.interarrival_jitter;
        s
    }

    /// Applies `f` to the leg's and the current stream's counters.
    fn count(&mut self, f: impl Fn(&mut StreamCounters)) {
        f(&mut self.stats.total);
        f(&mut self.stats.stream);
    }

    /// Hands one packet to the receiver (one mutation; call [`pull`](Self::pull) on
    /// the frame clock). Duplicates, late packets (slot already played), packets of a
    /// superseded epoch and undecodable payload types are counted and dropped;
    /// telephone-event packets are counted as non-audio and ignored. When the buffer
    /// is full the oldest packet is dropped, never the whole buffer.
    pub fn insert(&mut self, packet: MediaPacket) {
        if self.newest.map_or(true, |(e, _)| packet.epoch > e) {
            if self.newest.is_some() {
                self.stats.stream = StreamCounters::default();
                self.jitter = InterarrivalJitter::new();
            }
            self.newest = Some((packet.epoch, packet.seq.0));
        }
        self.count(|c| c.received += 1);
        let class = self.decoders.classify(packet.payload_type);
        if self.run.is_none() && matches!(class, PayloadClass::Audio { native_plc: true, .. }) {
            // Opus senders on lossy paths carry in-band FEC: allow for it from the first
            // packet rather than stretching the first words once it shows up.
            self.fec_seen = receiver_playout::FEC_MEMORY_FRAMES;
        }
        let clock = match class {
            PayloadClass::NonAudio => {
                self.non_audio.push(packet.epoch, packet.seq.0);
                self.count(|c| c.non_audio += 1);
                return;
            }
            PayloadClass::Unsupported => {
                self.non_audio.push(packet.epoch, packet.seq.0);
                self.count(|c| c.discarded += 1);
                return;
            }
            PayloadClass::Audio { clock, .. } | PayloadClass::ComfortNoise { clock } => clock,
        };
        if let Some(run) = self.run {
            if packet.epoch < run.epoch {
                self.count(|c| c.late += 1);
                return;
            }
            if packet.epoch == run.epoch && packet.seq.0 <= run.last_seq {
                let past = self.seqs.as_ref().map_or(Past::Unknown, |s| s.past(packet.seq.0));
                if past != Past::Arrived {
                    // A late packet still tells how late the network delivers.
                    self.delay.observe(&packet, clock);
                }
                match past {
                    Past::Arrived => self.count(|c| c.duplicates += 1),
                    Past::Lost => {
                        if let Some(s) = self.seqs.as_mut() {
                            s.mark_arrived(packet.seq.0);
                        }
                        self.count(|c| {
                            c.lost = c.lost.saturating_sub(1);
                            c.late += 1;
                        });
                    }
                    Past::Unknown => self.count(|c| c.late += 1),
                }
                return;
            }
        }
        if self.store.contains(packet.epoch, packet.seq) {
            self.count(|c| c.duplicates += 1);
            return;
        }
        match self.newest {
            Some((e, h)) if e == packet.epoch && packet.seq.0 < h => self.count(|c| c.reordered += 1),
            Some((e, h)) if e == packet.epoch => self.newest = Some((e, h.max(packet.seq.0))),
            _ => {}
        }
        self.delay.observe(&packet, clock);
        self.jitter.update(packet.arrival, packet.timestamp, clock);
        match self.store.insert(packet) {
            StoreInsert::Stored => {}
            StoreInsert::Duplicate => self.count(|c| c.duplicates += 1),
            StoreInsert::StoredDropping(old) | StoreInsert::Rejected(old) => {
                self.count(|c| c.discarded += 1);
                self.skip_dropped(&old);
            }
        }
    }

    /// Moves the playout position past a packet dropped on overflow, so that playout
    /// continues with the next one instead of concealing the dropped one's slot.
    fn skip_dropped(&mut self, old: &MediaPacket) {
        let (Some(run), Some(seqs)) = (self.run.as_mut(), self.seqs.as_mut()) else {
            return;
        };
        if old.epoch == run.epoch && old.seq.0 > run.last_seq {
            let _ = seqs.consume(old.seq.0, old.timestamp.0);
            run.last_seq = old.seq.0;
            run.next_ts = old.timestamp.0.saturating_add(run.ptime);
            run.synthetic = 0;
        }
    }

    /// Writes exactly one frame of mono PCM at the output rate into `out` (its length
    /// must be [`frame_samples`](Self::frame_samples)): decoded audio, or concealment,
    /// comfort noise or silence, time-stretched toward the target delay. `now` is the
    /// host time at which this frame starts playing; call once per frame duration,
    /// after inserting every packet that arrived by `now`.
    ///
    /// Errors: [`JitterError::FrameSize`] when `out` is not one frame long (nothing written).
    pub fn pull(&mut self, now: HostTime, out: &mut [i16]) -> Result<PullInfo, JitterError> {
        if out.len() != self.frame_len {
            return Err(JitterError::FrameSize { expected: self.frame_len, got: out.len() });
        }
        Ok(self.pull_frame(now, out))
    }
}
