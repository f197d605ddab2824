//! One leg's recording timeline: RTP packets placed by their extended timestamps.
//!
//! Packets wait in a short reorder window (host arrival time), are released in
//! timestamp order, decoded, and written at the sample position their RTP
//! timestamp gives. Gaps are filled — codec concealment for short gaps inside a
//! talkspurt, comfort noise after a CN packet (RFC 3389), silence otherwise — and
//! audio is never time-stretched, so the two legs stay aligned whatever the network did.
//!
//! Decoders come from the recorder's [`CodecRegistry`]. Opus decodes at the recording rate;
//! fixed-rate codecs at another rate are resampled (see `leg_audio`). A one-frame gap followed
//! by an Opus packet carrying in-band FEC is recovered from it instead of concealed; a DTX
//! frame and the timestamp gap after it are silence, not loss (CASES B12). A packet the
//! decoder rejects still fills its slot (as a loss) when its duration is known.
//!
//! Each numbering epoch (new SSRC, sequence restart) and each timestamp jump that
//! disagrees with the arrival clock by more than
//! [`RecorderConfig::max_timestamp_deviation`](super::RecorderConfig) re-anchors the leg at the arrival-derived position
//! (never before audio already written).

use super::comfort::ComfortNoise;
use super::leg_audio::LegAudio;
use super::LegStats;
use crate::audio::{ClockRate, SampleRate};
use crate::codec::{CodecOptions, CodecRegistry, Decoder};
use crate::rtp::{MediaPacket, PayloadMap, PayloadType, StreamEpoch};
use crate::time::HostTime;
use std::collections::VecDeque;
use std::time::Duration;

/// The largest decoded frame accepted from one packet: 120 ms of stereo 48 kHz audio
/// (RFC 6716 §3.2.5 max duration), interleaved.
const MAX_FRAME_SAMPLES: usize = 5760 * 2;

/// Frame length assumed for a CN packet before any audio frame has set the leg's ptime.
const DEFAULT_PTIME: Duration = Duration::from_millis(20);

/// Longest gap filled before a packet: one whose place lies further after the leg's logical
/// end is dropped (counted in `far_ahead`), since the gap's silence is held in memory until
/// encoded. The recorder's own clock keeps gaps short: `handle_timeout` encodes up to the
/// arrival clock, so only a packet arriving far ahead of it comes here.
const MAX_GAP: Duration = Duration::from_secs(600);

/// Where a numbering epoch sits on the call timeline.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    epoch: StreamEpoch,
    clock: ClockRate,
    ts: u64,
    pos: u64,
}

/// The decoder for one payload type of this leg (`None`: the registry has no codec for it).
struct PtDecoder {
    pt: u8,
    decoder: Option<Box<dyn Decoder>>,
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
    registry: CodecRegistry,
    decoders: Vec<PtDecoder>,
    /// Reorder window, sorted by (epoch, timestamp).
    pending: VecDeque<MediaPacket>,
    anchor: Option<Anchor>,
    /// The audio written so far, at the recording rate.
    audio: LegAudio,
    /// Index into `decoders` of the codec that produced the last real audio, for concealment.
    last_decoder: Option<usize>,
    /// Where the last real (decoded) audio ended (logical end, recording rate).
    last_audio_end: u64,
    /// Silence written right before the current anchor that may still be removed.
    lead_fill: u64,
    /// Samples per channel of the last decoded frame at the recording rate (the leg's ptime).
    last_frame_len: usize,
    /// The last decoded frame was a DTX frame: the gap after it is silence, not loss.
    in_dtx: bool,
    comfort: Option<ComfortNoise>,
    scratch: Vec<i16>,
    pub(crate) stats: LegStats,
}

/// `n` samples at `from` Hz expressed at `to` Hz (rounded down).
fn convert(n: u64, from: SampleRate, to: SampleRate) -> u64 {
    u64::try_from(u128::from(n) * u128::from(to.hz()) / u128::from(from.hz())).unwrap_or(u64::MAX)
}

impl LegTimeline {
    pub(crate) fn new(params: TimelineParams, payloads: PayloadMap, registry: CodecRegistry) -> Self {
        LegTimeline {
            audio: LegAudio::new(params.rate, MAX_FRAME_SAMPLES),
            params,
            payloads,
            registry,
            decoders: Vec::new(),
            pending: VecDeque::with_capacity(64),
            anchor: None,
            last_decoder: None,
            last_audio_end: 0,
            lead_fill: 0,
            last_frame_len: 0,
            in_dtx: false,
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
        self.audio.written_end()
    }

    /// Where the next contiguous audio goes (written end plus what a resampler still owes).
    fn logical_end(&self) -> u64 {
        self.audio.logical_end()
    }

    /// Writes out what the resampler still owes (end of the recording).
    pub(crate) fn settle(&mut self) {
        self.audio.flush();
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
        let i = match self.decoders.iter().position(|d| d.pt == pt) {
            Some(i) => i,
            None => {
                let fmt = self.payloads.get(PayloadType(pt))?;
                // Mono at the recording rate where the codec can (Opus); fixed-rate codecs are
                // resampled and down-mixed by the leg's audio.
                let opts = CodecOptions { channels: Some(1), ..CodecOptions::at_rate(self.params.rate) };
                let decoder = self.registry.decoder(fmt, &opts).ok();
                self.decoders.push(PtDecoder { pt, decoder });
                self.decoders.len() - 1
            }
        };
        self.decoders[i].decoder.is_some().then_some(i)
    }

    /// The decoder at `di` (the caller got `di` from [`Self::decoder_index`], which only
    /// returns indices of present decoders).
    fn dec(&mut self, di: usize) -> Option<&mut Box<dyn Decoder>> {
        self.decoders.get_mut(di).and_then(|d| d.decoder.as_mut())
    }

    /// Decoded samples per channel of `payload` at the recording rate, 0 when unknown.
    fn decoded_len_estimate(&mut self, di: usize, payload: &[u8]) -> u64 {
        let rate = self.params.rate;
        self.dec(di).map_or(0, |d| convert(d.samples_in(payload).unwrap_or(0) as u64, d.sample_rate(), rate))
    }

    /// Decodes into `scratch` and appends to the leg's audio (as silence when `silent`: a DTX
    /// frame still runs through the decoder so that its state knows of the pause), skipping
    /// whatever lies before the logical end (`pos` is where the frame starts). Returns the
    /// frames decoded, or `None`.
    fn decode_and_write(
        &mut self,
        di: usize,
        payload: &[u8],
        pos: u64,
        fec_frames: Option<usize>,
        silent: bool,
    ) -> Option<usize> {
        let rate = self.params.rate;
        let dec = self.decoders.get_mut(di).and_then(|d| d.decoder.as_mut())?;
        let r = match fec_frames {
            Some(n) => dec.decode_fec(payload, n, &mut self.scratch),
            None => dec.decode(payload, &mut self.scratch),
        };
        let Ok(n) = r else {
            if fec_frames.is_none() {
                self.stats.decode_errors += 1;
            }
            return None;
        };
        let (ch, dec_rate) = (usize::from(dec.channels().max(1)), dec.sample_rate());
        let n = n.min(self.scratch.len() / ch);
        if silent {
            self.scratch[..n * ch].fill(0);
        }
        // Skip whatever overlaps audio already written (a packet partly behind the write point).
        let behind = self.logical_end().saturating_sub(pos);
        let skip = usize::try_from(convert(behind, rate, dec_rate)).unwrap_or(usize::MAX).min(n);
        self.audio.push_decoded(&self.scratch[..n * ch], ch, dec_rate, skip);
        Some(n)
    }

    /// Whether `pos` lies more than [`MAX_GAP`] after the logical end: such a packet is
    /// dropped and counted.
    fn too_far(&mut self, pos: u64) -> bool {
        let far = pos.saturating_sub(self.logical_end()) > self.params.rate.samples_in(MAX_GAP) as u64;
        self.stats.far_ahead += u64::from(far);
        far
    }

    /// Places one released packet on the timeline.
    fn place(&mut self, p: &MediaPacket) {
        let pt = p.payload_type.0;
        let Some(fmt) = self.payloads.get(p.payload_type) else {
            self.stats.unknown_payload_type += 1;
            return;
        };
        if fmt.is("telephone-event") {
            self.stats.telephone_events += 1;
            return;
        }
        let clock = fmt.clock_rate;
        if fmt.is("CN") {
            let pos = self.position(p, clock);
            self.stats.comfort_noise += 1;
            if self.too_far(pos) {
                return;
            }
            self.fill_to(pos);
            let level = p.payload.first().copied().unwrap_or(127);
            let mut cn = ComfortNoise::new(level, u32::from(p.seq.wire()) ^ 0x9E37);
            // The CN packet covers at least one frame: comfort noise from its timestamp on.
            let frame =
                if self.last_frame_len > 0 { self.last_frame_len } else { self.params.rate.samples_in(DEFAULT_PTIME) };
            // Only the part not already written (a CN packet behind the write point adds nothing).
            let fresh = pos.saturating_add(frame as u64).saturating_sub(self.logical_end());
            self.audio.push_at_rate((0..fresh).map(|_| cn.next_sample()));
            self.stats.comfort_samples += fresh;
            self.comfort = Some(cn);
            self.in_dtx = false;
            return;
        }
        let Some(di) = self.decoder_index(pt) else {
            self.stats.unknown_payload_type += 1;
            return;
        };
        let pos = self.position(p, clock);
        if self.too_far(pos) {
            return;
        }
        let end = self.logical_end();
        let len = self.decoded_len_estimate(di, &p.payload);
        if pos.saturating_add(len) <= end {
            self.stats.late += 1;
            return;
        }
        if pos > end && self.try_fec(di, &p.payload, pos, end, len) {
            self.stats.fec_recovered += 1;
        }
        self.fill_to(pos);
        // A DTX frame (libopus decodes it as concealment of the last speech) is recorded as
        // silence, and so is the gap after it (CASES B12: no old speech replayed).
        let dtx = self.dec(di).is_some_and(|d| d.is_dtx(&p.payload));
        let before = self.logical_end();
        let Some(n) = self.decode_and_write(di, &p.payload, pos, None, dtx) else {
            // An undecodable packet still occupies its slot when its header tells the duration
            // (an Opus TOC): filled as a loss, so the timeline keeps time.
            self.fill_to(pos.saturating_add(len));
            return;
        };
        let rate = self.params.rate;
        let dec_rate = self.dec(di).map_or(rate, |d| d.sample_rate());
        self.in_dtx = dtx;
        if dtx {
            self.stats.dtx_frames += 1;
            self.stats.dtx_silence_samples += self.logical_end().saturating_sub(before);
        }
        self.last_decoder = Some(di);
        self.last_frame_len = usize::try_from(convert(n as u64, dec_rate, self.params.rate)).unwrap_or(0);
        self.last_audio_end = self.logical_end();
        self.comfort = None;
        self.stats.decoded_frames += 1;
    }

    /// In-band FEC (RFC 6716 §2.1.7): when exactly one frame of this packet's duration is
    /// missing right after real audio from the same decoder, and this packet carries FEC
    /// for it, the lost frame is decoded from it instead of concealed. Returns whether it was.
    fn try_fec(&mut self, di: usize, payload: &[u8], pos: u64, end: u64, len: u64) -> bool {
        let fits = self.last_decoder == Some(di)
            && end == self.last_audio_end
            && !self.in_dtx
            && self.comfort.is_none()
            && pos - end == len;
        let rate = self.params.rate;
        let Some(dec) = self.dec(di).filter(|d| fits && d.has_fec(payload)) else { return false };
        let frames = usize::try_from(convert(len, rate, dec.sample_rate())).unwrap_or(0);
        self.decode_and_write(di, payload, end, Some(frames), false).is_some()
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
                    return self.refine_anchor(pos, arrival);
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
        let pos = if self.anchor.is_none() { arrival } else { arrival.max(self.logical_end()) };
        self.anchor = Some(Anchor { epoch: p.epoch, clock, ts: p.timestamp.0, pos });
        // The silence about to fill the gap before this anchor may shrink if a later packet
        // shows the anchor packet itself was delayed (see `refine_anchor`).
        self.lead_fill = pos.saturating_sub(self.logical_end());
        pos
    }

    /// A packet placed at `pos` by its timestamp arrived at `arrival`, earlier than that: the
    /// packet that anchored its epoch was delayed in the network, so the epoch sits too late on
    /// the call timeline. Moves the anchor (and everything placed since) earlier by removing
    /// silence still queued before it — never audio, never anything already encoded — so each
    /// leg converges on its least-delayed packets and the legs stay aligned (within the
    /// lead-in silence available; a leg's first packet usually has the call's start before it).
    fn refine_anchor(&mut self, pos: u64, arrival: u64) -> u64 {
        let early = pos.saturating_sub(arrival);
        if early == 0 || self.lead_fill == 0 {
            return pos;
        }
        let Some(a) = self.anchor.as_mut() else { return pos };
        let shift = self.audio.remove_before(a.pos, early.min(self.lead_fill));
        a.pos -= shift;
        self.lead_fill -= shift;
        if self.last_audio_end >= shift {
            self.last_audio_end -= shift;
        }
        self.stats.anchor_refinements += u64::from(shift > 0);
        pos - shift
    }

    /// Fills the gap between the logical end and `pos`: silence after a DTX frame; otherwise
    /// codec concealment (up to `conceal_max`, continuing real audio only), then comfort
    /// noise after a CN packet, else silence.
    fn fill_to(&mut self, pos: u64) {
        let end = self.logical_end();
        if pos <= end {
            return;
        }
        if self.in_dtx {
            let n = pos - self.written_end();
            self.audio.push_at_rate(std::iter::repeat(0).take(usize::try_from(n).unwrap_or(0)));
            self.stats.dtx_silence_samples += n;
            return;
        }
        self.stats.gaps += 1;
        let rate = self.params.rate;
        let conceal_max = rate.samples_in(self.params.conceal_max) as u64;
        // Concealment continues real audio only: the gap must start where audio ended.
        if let Some(di) = self.last_decoder.filter(|_| end == self.last_audio_end && self.comfort.is_none()) {
            let want = (pos - end).min(conceal_max);
            if let Some(dec) = self.decoders.get_mut(di).and_then(|d| d.decoder.as_mut()) {
                let (ch, dec_rate) = (usize::from(dec.channels().max(1)), dec.sample_rate());
                let n = usize::try_from(convert(want, rate, dec_rate)).unwrap_or(0).min(self.scratch.len() / ch);
                if let Ok(m) = dec.conceal(n, &mut self.scratch) {
                    let m = m.min(n);
                    self.audio.push_decoded(&self.scratch[..m * ch], ch, dec_rate, 0);
                    let concealed = self.logical_end() - end;
                    self.stats.concealed_samples += concealed;
                    if concealed > 0 && self.stats.concealed_intervals.len() < super::MAX_LOGGED_INTERVALS {
                        self.stats.concealed_intervals.push((end, concealed));
                    }
                }
            }
        }
        // push_at_rate flushes the resampler (if any) first: the owed samples end at the logical end.
        let remaining = usize::try_from(pos.saturating_sub(self.logical_end())).unwrap_or(0);
        if remaining == 0 {
            return;
        }
        if let Some(cn) = self.comfort.as_mut() {
            self.audio.push_at_rate((0..remaining).map(|_| cn.next_sample()));
            self.stats.comfort_samples += remaining as u64;
        } else {
            self.audio.push_at_rate(std::iter::repeat(0).take(remaining));
            self.stats.silence_samples += remaining as u64;
        }
    }

    /// Copies `n` samples starting at absolute position `pos` into channel `channel` of the
    /// interleaved `dst` (stride `stride`), silence or comfort noise where nothing was written,
    /// and discards them. Positions up to `pos + n` count as written afterwards: later packets
    /// there are late.
    pub(crate) fn take(&mut self, pos: u64, n: usize, dst: &mut [i16], channel: usize, stride: usize) {
        self.stats.resampled_samples = self.audio.resampled_samples;
        let comfort = &mut self.comfort;
        self.audio.take(pos, n, dst, channel, stride, || comfort.as_mut().map_or(0, |c| c.next_sample()));
    }
}
