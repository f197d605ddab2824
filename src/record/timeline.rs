//! One leg's recording timeline: RTP packets placed by their extended timestamps.
//!
//! Packets wait in a short reorder window (host arrival time), are released in
//! timestamp order, decoded, and written at the sample position their RTP
//! timestamp gives. Gaps are filled — codec concealment for short gaps inside a
//! talkspurt, comfort noise after a CN packet (RFC 3389), silence otherwise — and
//! audio is never time-stretched, so the two legs stay aligned whatever the network did.
//!
//! Each numbering epoch (new SSRC, sequence restart) and each timestamp jump that
//! disagrees with the arrival clock by more than
//! [`RecorderConfig::max_timestamp_deviation`](super::RecorderConfig) re-anchors the leg at the arrival-derived position
//! (never before audio already written).

use super::comfort::ComfortNoise;
use super::LegStats;
use crate::audio::{ClockRate, SampleRate};
use crate::codec::{decoder_for, CodecKind, Decoder};
use crate::rtp::{MediaPacket, PayloadMap, StreamEpoch};
use crate::time::HostTime;
use std::collections::VecDeque;
use std::time::Duration;

/// The largest decoded frame accepted from one packet: 120 ms at 48 kHz (RFC 6716 §3.2.5 max duration).
const MAX_FRAME_SAMPLES: usize = 5760;

/// Frame length assumed for a CN packet before any audio frame has set the leg's ptime.
const DEFAULT_PTIME: Duration = Duration::from_millis(20);

/// Where a numbering epoch sits on the call timeline.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    epoch: StreamEpoch,
    clock: ClockRate,
    ts: u64,
    pos: u64,
}

/// A decoder for one payload type of this leg.
struct PtDecoder {
    pt: u8,
    decoder: Box<dyn Decoder>,
}

/// Settings a leg timeline takes from the recorder.
#[derive(Debug, Clone)]
pub(crate) struct TimelineParams {
    pub rate: SampleRate,
    pub start: HostTime,
    pub conceal_max: Duration,
    pub max_timestamp_deviation: Duration,
}

pub(crate) struct LegTimeline {
    params: TimelineParams,
    payloads: PayloadMap,
    decoders: Vec<PtDecoder>,
    /// Reorder window, sorted by (epoch, timestamp).
    pending: VecDeque<MediaPacket>,
    anchor: Option<Anchor>,
    /// Decoded samples (mono, at `params.rate`) not yet taken; `out[0]` sits at `out_start`.
    out: VecDeque<i16>,
    out_start: u64,
    /// Index into `decoders` of the codec that produced the last real audio, for concealment.
    last_decoder: Option<usize>,
    /// Where the last real (decoded) audio ended.
    last_audio_end: u64,
    /// Samples per channel of the last decoded frame (the leg's ptime at the recording rate).
    last_frame_len: usize,
    comfort: Option<ComfortNoise>,
    scratch: Vec<i16>,
    pub(crate) stats: LegStats,
}

impl LegTimeline {
    pub(crate) fn new(params: TimelineParams, payloads: PayloadMap) -> Self {
        LegTimeline {
            params,
            payloads,
            decoders: Vec::new(),
            pending: VecDeque::with_capacity(64),
            anchor: None,
            out: VecDeque::with_capacity(48_000),
            out_start: 0,
            last_decoder: None,
            last_audio_end: 0,
            last_frame_len: 0,
            comfort: None,
            scratch: vec![0; MAX_FRAME_SAMPLES],
            stats: LegStats::default(),
        }
    }

    /// Sample position (at the recording rate) of host time `t` on the call timeline.
    fn arrival_pos(&self, t: HostTime) -> u64 {
        let ns = u128::from(t.as_nanos().saturating_sub(self.params.start.as_nanos()));
        u64::try_from(ns * u128::from(self.params.rate.hz()) / 1_000_000_000).unwrap_or(u64::MAX)
    }

    /// End of what has been written (decoded, filled or taken).
    pub(crate) fn written_end(&self) -> u64 {
        self.out_start + self.out.len() as u64
    }

    /// Accepts a packet into the reorder window.
    pub(crate) fn push(&mut self, packet: MediaPacket) {
        self.stats.packets += 1;
        let key = (packet.epoch, packet.timestamp);
        // Insert keeping (epoch, ts) order; packets mostly arrive in order, so search from the back.
        let mut i = self.pending.len();
        while i > 0 {
            let p = &self.pending[i - 1];
            if (p.epoch, p.timestamp) <= key {
                break;
            }
            i -= 1;
        }
        self.pending.insert(i, packet);
    }

    /// Releases, in timestamp order, every packet that arrived at or before `horizon`
    /// and every packet ordered before one of those. `None` releases everything.
    pub(crate) fn release(&mut self, horizon: Option<HostTime>) {
        let cut = match horizon {
            None => self.pending.len(),
            Some(h) => self.pending.iter().rposition(|p| p.arrival <= h).map_or(0, |i| i + 1),
        };
        for _ in 0..cut {
            // Invariant: cut <= pending.len(), so pop_front yields a packet.
            if let Some(p) = self.pending.pop_front() {
                self.place(&p);
            }
        }
    }

    fn decoder_index(&mut self, pt: u8) -> Option<usize> {
        if let Some(i) = self.decoders.iter().position(|d| d.pt == pt) {
            return Some(i);
        }
        let fmt = self.payloads.get(crate::rtp::PayloadType(pt))?;
        let kind = CodecKind::from_encoding_name(&fmt.encoding_name)?;
        let decoder = decoder_for(kind, fmt.channels.max(1), self.params.rate)?;
        self.decoders.push(PtDecoder { pt, decoder });
        Some(self.decoders.len() - 1)
    }

    fn kind_of(&self, pt: u8) -> Option<CodecKind> {
        let fmt = self.payloads.get(crate::rtp::PayloadType(pt))?;
        CodecKind::from_encoding_name(&fmt.encoding_name)
    }

    /// Places one released packet on the timeline.
    fn place(&mut self, p: &MediaPacket) {
        let pt = p.payload_type.0;
        let Some(kind) = self.kind_of(pt) else {
            self.stats.unknown_payload_type += 1;
            return;
        };
        if kind == CodecKind::TelephoneEvent {
            self.stats.telephone_events += 1;
            return;
        }
        let clock = self.payloads.get(p.payload_type).map_or(kind.clock_rate(), |f| f.clock_rate);
        let pos = self.position(p, clock);
        if kind == CodecKind::ComfortNoise {
            self.stats.comfort_noise += 1;
            self.fill_to(pos);
            let level = p.payload.first().copied().unwrap_or(127);
            let mut cn = ComfortNoise::new(level, u32::from(p.seq.wire()) ^ 0x9E37);
            // The CN packet covers at least one frame: comfort noise from its timestamp on.
            let frame =
                if self.last_frame_len > 0 { self.last_frame_len } else { self.params.rate.samples_in(DEFAULT_PTIME) };
            // Only the part not already written (a CN packet behind the write point adds nothing).
            let fresh = (pos + frame as u64).saturating_sub(self.written_end());
            for _ in 0..fresh {
                self.out.push_back(cn.next_sample());
            }
            self.stats.comfort_samples += fresh;
            self.comfort = Some(cn);
            return;
        }
        let Some(di) = self.decoder_index(pt) else {
            self.stats.unknown_payload_type += 1;
            return;
        };
        let written = self.written_end();
        let end_estimate = pos + self.decoded_len_estimate(di, &p.payload);
        if end_estimate <= written {
            self.stats.late += 1;
            return;
        }
        self.fill_to(pos);
        let n = match self.decoders[di].decoder.decode(&p.payload, &mut self.scratch) {
            Ok(n) => n,
            Err(_) => {
                self.stats.decode_errors += 1;
                return;
            }
        };
        let ch = usize::from(self.decoders[di].decoder.channels().max(1));
        // Skip whatever overlaps audio already written (a packet partly behind the write point).
        let skip = usize::try_from(self.written_end().saturating_sub(pos)).unwrap_or(usize::MAX).min(n);
        for frame in self.scratch[skip * ch..n * ch].chunks_exact(ch) {
            // Down-mix to the leg's single channel.
            let sum: i32 = frame.iter().map(|&s| i32::from(s)).sum();
            self.out.push_back((sum / ch as i32) as i16);
        }
        self.last_decoder = Some(di);
        self.last_frame_len = n;
        self.last_audio_end = self.written_end();
        self.comfort = None;
        self.stats.decoded_frames += 1;
    }

    fn decoded_len_estimate(&self, di: usize, payload: &[u8]) -> u64 {
        self.decoders[di].decoder.samples_in(payload).unwrap_or(0) as u64
    }

    /// The packet's sample position, re-anchoring on a new epoch or an implausible timestamp jump.
    fn position(&mut self, p: &MediaPacket, clock: ClockRate) -> u64 {
        let rate = u128::from(self.params.rate.hz());
        let arrival = self.arrival_pos(p.arrival);
        if let Some(a) = self.anchor {
            if a.epoch == p.epoch && a.clock == clock && p.timestamp.0 >= a.ts {
                let delta = u128::from(p.timestamp.0 - a.ts) * rate / u128::from(clock.hz());
                let pos = a.pos.saturating_add(u64::try_from(delta).unwrap_or(u64::MAX));
                let dev = self.params.rate.duration_of(pos.abs_diff(arrival));
                if dev <= self.params.max_timestamp_deviation {
                    return pos;
                }
                self.stats.timestamp_jumps += 1;
            } else if a.epoch != p.epoch {
                self.stats.epoch_changes += 1;
            } else if a.clock != clock {
                self.stats.clock_changes += 1;
            } else {
                // Behind the anchor within the same epoch: older than anything placed.
                let back = u128::from(a.ts - p.timestamp.0) * rate / u128::from(clock.hz());
                return a.pos.saturating_sub(u64::try_from(back).unwrap_or(u64::MAX));
            }
        }
        let pos = if self.anchor.is_none() { arrival } else { arrival.max(self.written_end()) };
        self.anchor = Some(Anchor { epoch: p.epoch, clock, ts: p.timestamp.0, pos });
        pos
    }

    /// Fills the gap between the write point and `pos` with concealment, comfort noise or silence.
    fn fill_to(&mut self, pos: u64) {
        let written = self.written_end();
        if pos <= written {
            return;
        }
        let gap = pos - written;
        self.stats.gaps += 1;
        let conceal_max = self.params.rate.samples_in(self.params.conceal_max) as u64;
        let mut remaining = gap;
        // Concealment continues real audio only: the gap must start where audio ended.
        if let Some(di) = self.last_decoder {
            if written == self.last_audio_end && self.comfort.is_none() {
                let n = usize::try_from(gap.min(conceal_max)).unwrap_or(0).min(MAX_FRAME_SAMPLES);
                let ch = usize::from(self.decoders[di].decoder.channels().max(1));
                let n = n.min(self.scratch.len() / ch);
                if let Ok(m) = self.decoders[di].decoder.conceal(n, &mut self.scratch) {
                    let m = m.min(n);
                    for frame in self.scratch[..m * ch].chunks_exact(ch) {
                        let sum: i32 = frame.iter().map(|&s| i32::from(s)).sum();
                        self.out.push_back((sum / ch as i32) as i16);
                    }
                    remaining -= m as u64;
                    self.stats.concealed_samples += m as u64;
                    if m > 0 && self.stats.concealed_intervals.len() < super::MAX_LOGGED_INTERVALS {
                        self.stats.concealed_intervals.push((written, m as u64));
                    }
                }
            }
        }
        if let Some(cn) = self.comfort.as_mut() {
            for _ in 0..remaining {
                self.out.push_back(cn.next_sample());
            }
            self.stats.comfort_samples += remaining;
        } else {
            self.out.extend(std::iter::repeat(0).take(usize::try_from(remaining).unwrap_or(0)));
            self.stats.silence_samples += remaining;
        }
    }

    /// Copies `n` samples starting at absolute position `pos` into channel `channel` of the
    /// interleaved `dst` (stride `stride`), zero where nothing was written, and discards them.
    /// Positions up to `pos + n` count as written afterwards: later packets there are late.
    pub(crate) fn take(&mut self, pos: u64, n: usize, dst: &mut [i16], channel: usize, stride: usize) {
        // Drop anything before pos (cannot happen when the recorder takes contiguously).
        while self.out_start < pos && !self.out.is_empty() {
            self.out.pop_front();
            self.out_start += 1;
        }
        if self.out.is_empty() && self.out_start < pos {
            self.out_start = pos;
        }
        for i in 0..n {
            let abs = pos + i as u64;
            let s = if abs >= self.out_start {
                match self.out.pop_front() {
                    Some(s) => {
                        self.out_start += 1;
                        s
                    }
                    None => {
                        self.out_start = abs + 1;
                        self.comfort.as_mut().map_or(0, |c| c.next_sample())
                    }
                }
            } else {
                0
            };
            if let Some(slot) = dst.get_mut(i * stride + channel) {
                *slot = s;
            }
        }
    }
}
