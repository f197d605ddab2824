//! The call recorder: two leg timelines → stereo Opus → Ogg pages (RFC 7845).
//!
//! Run loop (sans-IO): [`Recorder::push`] each accepted RTP packet of a leg, call
//! [`Recorder::handle_timeout`] with the host time at least every frame (20 ms), and
//! drain [`Recorder::poll_page`] after each call. [`Recorder::finish`] ends the stream
//! with an end-of-stream page whose granule position applies end trimming.
//!
//! Every page carries its SHA-256 and the running hash-chain value ([`super::hash_chain`]),
//! computed here as the page is emitted, so the evidence manifest commits to exactly the
//! bytes the host writes. With [`RecorderConfig::segment`] set the recording is rotated:
//! at each boundary the current Ogg stream ends (EOS page, end trimming) and a new one
//! starts (new serial, new OpusHead/OpusTags, fresh encoder), the chain continuing.

use super::hash_chain::{Hash32, HashChain};
use super::metadata::{tag, RecordingMetadata};
use super::ogg::{OggPageWriter, PageFlags};
use super::ogg_page::OggPage;
use super::opus_head::{OpusHead, OpusTags};
use super::timeline::{LegTimeline, TimelineParams};
use super::track::PcmTrack;
use super::{LegStats, RecordError};
use crate::audio::SampleRate;
use crate::codec::{CodecRegistry, OpusApplication, OpusMultistreamConfig, OpusMultistreamEncoder};
use crate::leg::Leg;
use crate::rtp::{MediaPacket, PayloadMap};
use crate::time::HostTime;
use std::collections::VecDeque;
use std::time::Duration;

/// Ogg Opus granule positions count 48 kHz samples (RFC 7845 §4).
const GRANULE_RATE: u64 = 48_000;

/// How a call is recorded.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecorderConfig {
    /// Rate the legs are mixed and encoded at: the highest rate either leg needs
    /// (8 kHz for two G.711 legs). Must be one of libopus' rates: 8, 12, 16, 24 or 48 kHz.
    /// Opus legs decode at this rate; a leg whose codec has a fixed other rate (G.711 in a
    /// 16 kHz recording, L16/16000 or G.722 in a 48 kHz one) is resampled to it with its
    /// filter state kept across frames.
    pub rate: SampleRate,
    /// Payload types negotiated on leg A and leg B (rtpmap), to pick decoders.
    pub payloads: [PayloadMap; 2],
    /// How long a packet waits (host arrival time) for earlier-timestamped packets to arrive.
    pub reorder_window: Duration,
    /// How much later than its arrival-derived place a packet may be and still be written;
    /// the recording lags the network by `reorder_window + jitter_margin`.
    pub jitter_margin: Duration,
    /// Longest gap filled with codec concealment after real audio; longer gaps are silence
    /// (or comfort noise after a CN packet).
    pub conceal_max: Duration,
    /// A timestamp jump whose position disagrees with the arrival clock by more than this
    /// re-anchors the leg on arrival time.
    pub max_timestamp_deviation: Duration,
    /// Longest media time between page flushes: the crash-loss bound. 20 ms ..= 1 s
    /// ([`Recorder::new`] rejects other values); 200 ms ..= 1 s recommended.
    pub flush_interval: Duration,
    /// Opus bitrate in bit/s of each channel. Every channel is its own mono Opus stream
    /// (channel mapping family 1, no coupled streams), so the parties never leak into each
    /// other's channel as they would in joint-stereo coding.
    pub bitrate_bps: u32,
    /// A third channel for guard and prompt audio (whisper, barge, warnings), fed with
    /// [`Recorder::push_guard_pcm`]; channels 0 and 1 stay the parties as received.
    pub guard_track: bool,
    /// Opus encoder complexity 0..=10.
    pub complexity: u8,
    /// Ogg logical stream serial number (RFC 3533 §6), chosen by the host.
    pub serial: u32,
    /// OpusTags comments as `KEY=value` (RFC 7845 §5.2), e.g. `CALL_ID=…`.
    pub tags: Vec<String>,
    /// Codecs to decode the legs with; `None`: [`CodecRegistry::with_builtin`]. A host that
    /// registered its own codecs (G.729, AMR, …) passes its registry here.
    pub registry: Option<CodecRegistry>,
    /// Segment rotation for very long calls: every `segment` of media time the current Ogg
    /// stream ends and a new one starts (serial `serial + k` for segment k, a
    /// `JYQQ_SEGMENT=k` comment); `None` (the default) writes one stream. At least 1 s.
    pub segment: Option<Duration>,
}

impl RecorderConfig {
    /// Defaults for a recording at `rate` with the given legs' payload maps: 60 ms reorder
    /// window, 200 ms jitter margin, 60 ms concealment, 2 s timestamp deviation, 1 s flush,
    /// 16 kbit/s (8 kHz) or 32 kbit/s (wider) per channel in independent mono streams (joint
    /// stereo would leak each leg into the other channel: only ~9 dB apart at 32 kbit/s
    /// wideband — the legs are independent signals, not a stereo image), complexity 5,
    /// no guard track.
    pub fn new(rate: SampleRate, leg_a: PayloadMap, leg_b: PayloadMap) -> Self {
        RecorderConfig {
            rate,
            payloads: [leg_a, leg_b],
            reorder_window: Duration::from_millis(60),
            jitter_margin: Duration::from_millis(200),
            conceal_max: Duration::from_millis(60),
            max_timestamp_deviation: Duration::from_secs(2),
            flush_interval: Duration::from_secs(1),
            bitrate_bps: if rate.hz() <= 8000 { 16_000 } else { 32_000 },
            guard_track: false,
            complexity: 5,
            serial: 0x4a59_5151,
            tags: Vec::new(),
            registry: None,
            segment: None,
        }
    }

    /// The same configuration decoding with `registry` (see [`RecorderConfig::registry`]).
    pub fn with_registry(mut self, registry: CodecRegistry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Adds the call metadata (call id, legs' numbers, start time, policy) to the OpusTags
    /// comments; see [`RecordingMetadata::tags`].
    pub fn with_metadata(mut self, metadata: &RecordingMetadata) -> Self {
        self.tags.extend(metadata.tags());
        self
    }
}

/// One Ogg page of the recording, ready to be written in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordingPage {
    /// The complete page bytes (header, segment table, data), CRC set.
    pub data: Vec<u8>,
    /// Granule position of the page (48 kHz samples including pre-skip; 0 on header pages).
    pub granule: u64,
    /// Page sequence number (RFC 3533).
    pub sequence: u32,
    /// Whether this is the end-of-stream page.
    pub eos: bool,
    /// Segment (Ogg stream, one file) this page belongs to: 0, or k after k rotations.
    pub segment: u32,
    /// SHA-256 of `data` (FIPS 180-4).
    pub page_hash: Hash32,
    /// The hash chain after this page: SHA-256(previous chain value || `page_hash`),
    /// see [`super::hash_chain`].
    pub chain_hash: Hash32,
}

impl RecordingPage {
    /// Whether this page starts a segment (the OpusHead page, BOS flag).
    pub fn is_bos(&self) -> bool {
        self.data.get(5).is_some_and(|&f| PageFlags::from_bits(f).contains(PageFlags::BOS))
    }
}

/// Records a two-leg call to a stereo Ogg Opus stream (channel 0 = leg A, channel 1 = leg B).
pub struct Recorder {
    cfg: RecorderConfig,
    start: HostTime,
    legs: [LegTimeline; 2],
    encoder: OpusMultistreamEncoder,
    channels: usize,
    guard: Option<PcmTrack>,
    writer: OggPageWriter,
    pre_skip: u16,
    frame_samples: usize,
    frame_granule: u64,
    /// Next sample position (at `cfg.rate`) to encode.
    enc_pos: u64,
    /// Granule position after the last encoded packet.
    granule: u64,
    /// Packets waiting for the next page: concatenated data and lengths.
    page_data: Vec<u8>,
    page_lens: Vec<usize>,
    page_media: Duration,
    pcm: Vec<i16>,
    packet: Vec<u8>,
    pages: VecDeque<RecordingPage>,
    finishing: bool,
    finished: bool,
    chain: HashChain,
    /// Current segment and the timeline position (at `cfg.rate`) where it starts.
    segment: u32,
    segment_start: u64,
    /// Segment length in samples at `cfg.rate` (0: no rotation).
    segment_len: u64,
    /// Where each segment ended (timeline samples), for [`Recorder::segment_bounds`].
    segment_ends: Vec<u64>,
}

impl Recorder {
    /// Starts a recording whose timeline begins at host time `start` (the call's answer time,
    /// or the first packet of either leg). Emits the OpusHead and OpusTags pages.
    ///
    /// Errors: [`RecordError::Config`] for a rate libopus cannot encode, or an Opus setup failure.
    pub fn new(cfg: RecorderConfig, start: HostTime) -> Result<Self, RecordError> {
        let rate = cfg.rate;
        if !matches!(rate.hz(), 8000 | 12_000 | 16_000 | 24_000 | 48_000) {
            return Err(RecordError::Config(format!("recording rate {} Hz is not an Opus rate", rate.hz())));
        }
        if cfg.flush_interval < Duration::from_millis(20) || cfg.flush_interval > Duration::from_secs(1) {
            return Err(RecordError::Config(format!(
                "flush interval {:?} is outside 20 ms ..= 1 s (pages at least every second)",
                cfg.flush_interval
            )));
        }
        if cfg.segment.is_some_and(|s| s < Duration::from_secs(1)) {
            return Err(RecordError::Config(format!("segment length {:?} is below 1 s", cfg.segment)));
        }
        let frame = Duration::from_millis(20);
        let encoder = Self::new_encoder(&cfg)?;
        let channels = if cfg.guard_track { 3 } else { 2 };
        let pre_skip = encoder.pre_skip_48k();
        let frame_samples = rate.samples_in(frame);
        let params = TimelineParams {
            rate,
            start,
            conceal_max: cfg.conceal_max,
            max_timestamp_deviation: cfg.max_timestamp_deviation,
        };
        let registry = cfg.registry.clone().unwrap_or_else(CodecRegistry::with_builtin);
        let legs = [
            LegTimeline::new(params.clone(), cfg.payloads[0].clone(), registry.clone()),
            LegTimeline::new(params, cfg.payloads[1].clone(), registry),
        ];
        let mut rec = Recorder {
            writer: OggPageWriter::new(cfg.serial),
            start,
            legs,
            pre_skip,
            frame_samples,
            frame_granule: frame_samples as u64 * GRANULE_RATE / u64::from(rate.hz()),
            enc_pos: 0,
            granule: 0,
            page_data: Vec::with_capacity(8192),
            page_lens: Vec::with_capacity(64),
            page_media: Duration::ZERO,
            pcm: vec![0; frame_samples * channels],
            channels,
            guard: cfg.guard_track.then(|| PcmTrack::new(rate, start)),
            packet: vec![0; 1500],
            pages: VecDeque::new(),
            finishing: false,
            finished: false,
            chain: HashChain::default(),
            segment: 0,
            segment_start: 0,
            segment_len: cfg.segment.map_or(0, |s| rate.samples_in(s) as u64),
            segment_ends: Vec::new(),
            encoder,
            cfg,
        };
        rec.write_headers()?;
        Ok(rec)
    }

    fn new_encoder(cfg: &RecorderConfig) -> Result<OpusMultistreamEncoder, RecordError> {
        let mut enc_cfg = OpusMultistreamConfig::new(cfg.rate, if cfg.guard_track { 3 } else { 2 });
        enc_cfg.application = OpusApplication::Voip;
        enc_cfg.bitrate_per_stream = cfg.bitrate_bps;
        enc_cfg.complexity = cfg.complexity;
        OpusMultistreamEncoder::new(enc_cfg).map_err(RecordError::Codec)
    }

    fn write_headers(&mut self) -> Result<(), RecordError> {
        // Mapping family 1 (RFC 7845 §5.1.1.2): one uncoupled mono stream per channel.
        let mapping = self.encoder.mapping();
        let streams = mapping.len() as u8;
        let head = OpusHead::with_mapping(1, self.pre_skip, self.cfg.rate.hz(), streams, 0, &mapping)?;
        let mut tags = OpusTags::new(concat!("jyqq-media ", env!("CARGO_PKG_VERSION")));
        for t in &self.cfg.tags {
            tags.comments.push(t.clone());
        }
        if self.segment_len > 0 {
            tags.comments.push(format!("{}={}", tag::SEGMENT, self.segment));
        }
        let head_bytes = head.to_bytes();
        let tag_bytes = tags.to_bytes()?;
        self.emit_pages(&[head_bytes.as_slice()], |_| 0, PageFlags::BOS)?;
        self.emit_pages(&[tag_bytes.as_slice()], |_| 0, PageFlags::NONE)
    }

    /// Writes `packets` as one or more pages and queues each page separately.
    fn emit_pages(
        &mut self,
        packets: &[&[u8]],
        granule_at: impl FnMut(usize) -> u64,
        flags: PageFlags,
    ) -> Result<(), RecordError> {
        let mut buf = Vec::with_capacity(packets.iter().map(|p| p.len()).sum::<usize>() + 300);
        let first_sequence = self.writer.next_sequence();
        let pages = self.writer.write_packets(&mut buf, packets, granule_at, flags);
        let mut rest = buf.as_slice();
        for k in 0..pages {
            let (page, _) = OggPage::parse(rest)?;
            let len = page.byte_len();
            let data = rest[..len].to_vec();
            let (page_hash, chain_hash) = self.chain.push(&data);
            self.pages.push_back(RecordingPage {
                data,
                granule: page.granule(),
                sequence: first_sequence.wrapping_add(k),
                eos: page.flags().contains(PageFlags::EOS),
                segment: self.segment,
                page_hash,
                chain_hash,
            });
            rest = &rest[len..];
        }
        Ok(())
    }

    /// The Opus pre-skip written in OpusHead, in 48 kHz samples.
    pub fn pre_skip(&self) -> u16 {
        self.pre_skip
    }

    /// Hands one accepted RTP packet of `leg` to the recorder (one mutation; then drain pages).
    /// Packets after [`Recorder::finish`] are ignored.
    pub fn push(&mut self, leg: Leg, packet: MediaPacket) {
        if !self.finished {
            self.legs[leg.index()].push(packet);
        }
    }

    fn arrival_pos(&self, t: HostTime) -> u64 {
        let ns = u128::from(t.as_nanos().saturating_sub(self.start.as_nanos()));
        u64::try_from(ns * u128::from(self.cfg.rate.hz()) / 1_000_000_000).unwrap_or(u64::MAX)
    }

    /// Guard and prompt audio for the third channel: mono PCM at the recording rate that
    /// started sounding at host time `at` (one frame per call, as the session mixes it).
    /// Ignored without [`RecorderConfig::guard_track`] or after [`Recorder::finish`].
    pub fn push_guard_pcm(&mut self, at: HostTime, pcm: &[i16]) {
        if !self.finished {
            if let Some(g) = self.guard.as_mut() {
                g.push(at, pcm);
            }
        }
    }

    /// Advances the recording to host time `now`: releases packets past the reorder window,
    /// and encodes every frame that no packet still in flight can change.
    pub fn handle_timeout(&mut self, now: HostTime) -> Result<(), RecordError> {
        if self.finished {
            return Ok(());
        }
        let horizon = now.saturating_sub(self.cfg.reorder_window);
        for leg in &mut self.legs {
            leg.release(Some(horizon));
        }
        // Encode only what no packet still in flight can change: up to the arrival clock minus
        // the reorder window and jitter margin. A leg may already hold audio beyond that; it
        // waits, so a delayed packet of either leg still lands in place and a leg's anchor can
        // still move earlier (see the timeline's anchor refinement).
        let ready = self.arrival_pos(horizon.saturating_sub(self.cfg.jitter_margin));
        while self.enc_pos + self.frame_samples as u64 <= ready {
            self.encode_frame()?;
        }
        Ok(())
    }

    /// When the host should call [`Recorder::handle_timeout`] next: one frame after `now`.
    pub fn poll_timeout(&self, now: HostTime) -> HostTime {
        now.saturating_add(Duration::from_millis(20))
    }

    fn encode_frame(&mut self) -> Result<(), RecordError> {
        if self.segment_len > 0 && self.enc_pos >= self.segment_start + self.segment_len {
            self.rotate()?;
        }
        let n = self.frame_samples;
        for (ch, leg) in self.legs.iter_mut().enumerate() {
            leg.take(self.enc_pos, n, &mut self.pcm, ch, self.channels);
        }
        if let Some(g) = self.guard.as_mut() {
            g.take(self.enc_pos, n, &mut self.pcm, 2, self.channels);
        }
        self.enc_pos += n as u64;
        self.encode_pcm()
    }

    fn encode_pcm(&mut self) -> Result<(), RecordError> {
        let len = self.encoder.encode(&self.pcm, &mut self.packet).map_err(RecordError::Codec)?;
        self.page_data.extend_from_slice(&self.packet[..len]);
        self.page_lens.push(len);
        self.granule += self.frame_granule;
        self.page_media += Duration::from_millis(20);
        if self.page_media >= self.cfg.flush_interval && !self.finishing {
            self.flush_page(None)?;
        }
        Ok(())
    }

    /// Writes the waiting packets as page(s); `final_granule` (end trimming) goes on the last
    /// packet of the end-of-stream page.
    fn flush_page(&mut self, final_granule: Option<u64>) -> Result<(), RecordError> {
        if self.page_lens.is_empty() {
            return Ok(());
        }
        let data = std::mem::take(&mut self.page_data);
        let mut packets: Vec<&[u8]> = Vec::with_capacity(self.page_lens.len());
        let mut off = 0;
        for &l in &self.page_lens {
            packets.push(&data[off..off + l]);
            off += l;
        }
        let n = packets.len();
        let first = self.granule - n as u64 * self.frame_granule;
        let step = self.frame_granule;
        let granule_at = move |i: usize| match final_granule {
            Some(g) if i + 1 == n => g,
            _ => first + (i as u64 + 1) * step,
        };
        let flags = if final_granule.is_some() { PageFlags::EOS } else { PageFlags::NONE };
        let r = self.emit_pages(&packets, granule_at, flags);
        drop(packets);
        self.page_data = data;
        self.page_data.clear();
        self.page_lens.clear();
        self.page_media = Duration::ZERO;
        r
    }

    /// Ends the recording at host time `now`: places every packet still waiting, encodes to
    /// the end of the later leg, flushes the encoder's delay, and queues the end-of-stream page
    /// whose granule position is pre-skip + audio samples at 48 kHz (end trimming, RFC 7845 §4.4).
    pub fn finish(&mut self, _now: HostTime) -> Result<(), RecordError> {
        self.finish_to(0)
    }

    /// Ends the recording for a call that ended at host time `now`: like [`Recorder::finish`],
    /// but the recording also covers the call up to `now` (silence after the last packet), so a
    /// call that ends in silence keeps its full length. A session ending a call uses this;
    /// an offline replay, whose end is its last packet, uses `finish`.
    pub fn finish_at(&mut self, now: HostTime) -> Result<(), RecordError> {
        let end = self.arrival_pos(now);
        self.finish_to(end)
    }

    fn finish_to(&mut self, at_least: u64) -> Result<(), RecordError> {
        if self.finished {
            return Ok(());
        }
        for leg in &mut self.legs {
            leg.release(None);
            leg.settle();
        }
        self.finishing = true;
        let end = self.legs.iter().map(|l| l.written_end()).max().unwrap_or(0).max(self.enc_pos).max(at_least);
        while self.enc_pos < end {
            self.encode_frame()?;
        }
        self.end_stream(end)?;
        self.finished = true;
        Ok(())
    }

    /// Ends the current Ogg stream at timeline position `end` (samples at `cfg.rate`): the
    /// EOS page's granule is pre-skip + the segment's audio at 48 kHz (RFC 7845 §4.4).
    fn end_stream(&mut self, end: u64) -> Result<(), RecordError> {
        let was_finishing = std::mem::replace(&mut self.finishing, true);
        let audio48 = (end - self.segment_start) * GRANULE_RATE / u64::from(self.cfg.rate.hz());
        let final_granule = audio48 + u64::from(self.pre_skip);
        // Flush the encoder's lookahead with silence until the packets cover the final granule.
        while self.granule < final_granule || self.page_lens.is_empty() {
            self.pcm.fill(0);
            self.encode_pcm()?;
        }
        self.flush_page(Some(final_granule))?;
        self.segment_ends.push(end);
        self.finishing = was_finishing;
        Ok(())
    }

    /// Segment rotation at `enc_pos`: EOS on the current stream, then a new stream with a
    /// new serial, fresh encoder (pre-skip again) and header pages; the chain continues.
    fn rotate(&mut self) -> Result<(), RecordError> {
        self.end_stream(self.enc_pos)?;
        self.segment += 1;
        self.segment_start = self.enc_pos;
        self.encoder = Self::new_encoder(&self.cfg)?;
        self.pre_skip = self.encoder.pre_skip_48k();
        self.writer = OggPageWriter::new(self.cfg.serial.wrapping_add(self.segment));
        self.granule = 0;
        self.page_media = Duration::ZERO;
        self.write_headers()
    }

    /// The hash-chain value after the last page emitted ([`super::hash_chain::CHAIN_GENESIS`]
    /// before any page).
    pub fn chain_head(&self) -> Hash32 {
        self.chain.head()
    }

    /// The current segment number (0 without rotation).
    pub fn segment(&self) -> u32 {
        self.segment
    }

    /// Timeline span of every segment ended so far: (start, end) in samples at the recording
    /// rate, segment 0 first. After [`Recorder::finish`] it covers the whole recording.
    pub fn segment_bounds(&self) -> Vec<(u64, u64)> {
        let mut start = 0;
        self.segment_ends
            .iter()
            .map(|&e| {
                let s = (start, e);
                start = e;
                s
            })
            .collect()
    }

    /// The recording rate (Hz) the legs are mixed and encoded at.
    pub fn rate(&self) -> SampleRate {
        self.cfg.rate
    }

    /// The next finished page, in stream order. Poll after every `push`, `handle_timeout` and `finish`.
    #[must_use]
    pub fn poll_page(&mut self) -> Option<RecordingPage> {
        self.pages.pop_front()
    }

    /// Timeline statistics of `leg`.
    pub fn leg_stats(&self, leg: Leg) -> &LegStats {
        &self.legs[leg.index()].stats
    }

    /// Audio encoded so far, excluding pre-skip and padding. After [`Recorder::finish`] it is
    /// the recording's exact length, as the end-of-stream granule position says (the last
    /// 20 ms frame is encoded whole, but end trimming cuts it at the later leg's end).
    pub fn duration(&self) -> Duration {
        let end = if self.finished { self.segment_ends.last().copied().unwrap_or(self.enc_pos) } else { self.enc_pos };
        self.cfg.rate.duration_of(end)
    }

    /// Whether [`Recorder::finish`] has run.
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::hash_chain::{chain_step, sha256, CHAIN_GENESIS};

    fn cfg() -> RecorderConfig {
        RecorderConfig::new(SampleRate::HZ_8000, PayloadMap::static_defaults(), PayloadMap::static_defaults())
    }

    #[test]
    fn flush_and_segment_limits() {
        let start = HostTime::from_millis(5);
        for (flush, ok) in [(10, false), (20, true), (200, true), (1000, true), (1001, false)] {
            let mut c = cfg();
            c.flush_interval = Duration::from_millis(flush);
            assert_eq!(Recorder::new(c, start).is_ok(), ok, "flush {flush} ms");
        }
        let mut c = cfg();
        c.segment = Some(Duration::from_millis(999));
        assert!(matches!(Recorder::new(c, start), Err(RecordError::Config(_))));
    }

    #[test]
    fn pages_carry_their_hash_and_the_chain() {
        let mut c = cfg();
        c.flush_interval = Duration::from_millis(200);
        let mut r = Recorder::new(c, HostTime::ZERO).unwrap();
        // No packets at all: the arrival clock still advances the recording (silence).
        for ms in (0..=3000).step_by(20) {
            r.handle_timeout(HostTime::from_millis(ms)).unwrap();
        }
        r.finish(HostTime::from_millis(3000)).unwrap();
        let pages: Vec<_> = std::iter::from_fn(|| r.poll_page()).collect();
        let mut prev = CHAIN_GENESIS;
        for p in &pages {
            assert_eq!(p.page_hash, sha256(&p.data));
            assert_eq!(p.chain_hash, chain_step(&prev, &p.page_hash));
            assert_eq!(p.segment, 0);
            prev = p.chain_hash;
        }
        assert_eq!(r.chain_head(), prev);
        assert!(pages[0].is_bos() && !pages[1].is_bos());
        // 2.74 s encoded (3 s minus the 60 + 200 ms lag), in pages of at most 200 ms.
        let audio: Vec<u64> = pages.iter().skip(2).map(|p| p.granule).collect();
        assert!(audio.windows(2).all(|w| w[1] - w[0] <= 200 * 48), "{audio:?}");
        assert_eq!(audio.len(), 14);
        assert_eq!(*audio.last().unwrap(), u64::from(r.pre_skip()) + 2740 * 48);
    }
}
