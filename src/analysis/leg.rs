//! The analysis of one leg: PCM framing on the leg's own clock, VAD, in-band DTMF,
//! three-way detectors and noise floor on 10 ms frames; RFC 4733 and quality from packets.

use super::call::Shared;
use super::decimate::{Decimator, MAX_BLOCK};
use super::dtmf_inband::InbandDtmfDetector;
use super::dtmf_rtp::{DetectedDigit, TelephoneEventReceiver};
use super::event::{DtmfSource, EventKind};
use super::flash::FlashDetector;
use super::level::block_dbm0;
use super::noise::NoiseFloor;
use super::progress::ProgressToneDetector;
use super::quality::QualityMeter;
use super::vad::{VadTransition, VoiceDetector, FRAME};
use super::{AnalysisConfig, AnalysisError, InbandMode};
use crate::audio::{ClockRate, SampleRate};
use crate::codec::CodecKind;
use crate::leg::Leg;
use crate::rtp::{MediaPacket, PayloadMap, PayloadType};
use crate::time::HostTime;
use std::time::Duration;

/// A jump of the PCM timeline larger than this is a gap (no audio), not jitter.
const GAP_TOLERANCE: Duration = Duration::from_millis(15);
/// Most talkspurts kept per leg for double-talk (about 14 h of speech turns); more are counted.
pub(crate) const MAX_SPURTS: usize = 100_000;

pub(crate) struct LegAnalyzer {
    leg: Leg,
    vad: Option<VoiceDetector>,
    decim: Option<Decimator>,
    rate: u32,
    frame: [i16; MAX_BLOCK],
    frame_len: usize,
    fill: usize,
    frame_at: HostTime,
    base_at: HostTime,
    base_samples: u64,
    started: bool,
    buf8: [f32; MAX_BLOCK / 6 + 2],
    inband: Option<InbandDtmfDetector>,
    inband_allowed: bool,
    pub(crate) rfc: TelephoneEventReceiver,
    te_types: Vec<(PayloadType, ClockRate)>,
    audio_types: Vec<(PayloadType, CodecKind, ClockRate)>,
    pub(crate) quality: QualityMeter,
    noise: NoiseFloor,
    flash: Option<FlashDetector>,
    tones: Option<ProgressToneDetector>,
    pub(crate) spurts: Vec<(HostTime, HostTime)>,
    pub(crate) spurts_dropped: u64,
    talkspurts: u64,
}

impl LegAnalyzer {
    pub(crate) fn new(leg: Leg, cfg: &AnalysisConfig) -> Self {
        let tw = &cfg.three_way;
        let watch = tw.leg == leg;
        LegAnalyzer {
            leg,
            vad: None,
            decim: None,
            rate: 0,
            frame: [0; MAX_BLOCK],
            frame_len: 0,
            fill: 0,
            frame_at: HostTime::ZERO,
            base_at: HostTime::ZERO,
            base_samples: 0,
            started: false,
            buf8: [0.0; MAX_BLOCK / 6 + 2],
            inband: (cfg.dtmf.inband_mode != InbandMode::Never)
                .then(|| InbandDtmfDetector::new(cfg.dtmf.inband.clone())),
            inband_allowed: cfg.dtmf.inband_mode != InbandMode::Never,
            rfc: TelephoneEventReceiver::new(cfg.dtmf.event_timeout),
            te_types: Vec::new(),
            audio_types: Vec::new(),
            quality: QualityMeter::new(),
            noise: NoiseFloor::new(tw.noise_drop.clone().unwrap_or_default()),
            flash: tw.flash.clone().filter(|_| watch).map(FlashDetector::new),
            tones: tw.tones.clone().filter(|_| watch).map(ProgressToneDetector::new),
            spurts: Vec::new(),
            spurts_dropped: 0,
            talkspurts: 0,
        }
    }

    pub(crate) fn set_payloads(&mut self, map: &PayloadMap, mode: InbandMode) {
        self.te_types =
            map.iter().filter(|f| f.is("telephone-event")).map(|f| (f.payload_type, f.clock_rate)).collect();
        self.audio_types = map
            .iter()
            .filter_map(|f| match CodecKind::from_encoding_name(&f.encoding_name)? {
                k @ (CodecKind::Pcmu | CodecKind::Pcma | CodecKind::Opus | CodecKind::G722) => {
                    Some((f.payload_type, k, f.clock_rate))
                }
                _ => None,
            })
            .collect();
        self.inband_allowed = match mode {
            InbandMode::Auto => self.te_types.is_empty(),
            InbandMode::Always => true,
            _ => false,
        };
    }

    pub(crate) fn talkspurts(&self) -> u64 {
        self.talkspurts
    }

    pub(crate) fn vad(&self) -> Option<&VoiceDetector> {
        self.vad.as_ref()
    }

    /// Talk time of an open talkspurt (0 if none).
    pub(crate) fn open_talk(&self) -> Duration {
        self.vad.as_ref().and_then(|v| v.open_spurt()).map_or(Duration::ZERO, |(s, e)| e.saturating_since(s))
    }

    pub(crate) fn handle_packet(&mut self, packet: &MediaPacket, sh: &mut Shared) {
        sh.alarms.on_packet(self.leg, packet.arrival);
        let pt = packet.payload_type;
        if let Some(&(_, clock)) = self.te_types.iter().find(|(p, _)| *p == pt) {
            self.quality.on_packet(packet, None);
            self.rfc.handle(packet, clock);
            self.drain_rfc(sh);
            return;
        }
        let audio = self.audio_types.iter().find(|(p, ..)| *p == pt).map(|&(_, codec, clock)| {
            let frame = match codec {
                CodecKind::Pcmu | CodecKind::Pcma => SampleRate::HZ_8000.duration_of(packet.payload.len() as u64),
                CodecKind::G722 => SampleRate::HZ_16000.duration_of(2 * packet.payload.len() as u64),
                _ => Duration::from_millis(20),
            };
            (codec, clock, frame)
        });
        self.quality.on_packet(packet, audio);
    }

    pub(crate) fn drain_rfc(&mut self, sh: &mut Shared) {
        while let Some(d) = self.rfc.poll_digit() {
            sh.push_digit(self.leg, d, DtmfSource::Rfc4733);
        }
    }

    fn configure(&mut self, rate: SampleRate, sh: &Shared) -> Result<(), AnalysisError> {
        let hz = rate.hz();
        let decim = Decimator::new(rate)?;
        let vad = VoiceDetector::new(&sh.cfg.vad, hz)?;
        self.rate = hz;
        self.frame_len = (hz / 100) as usize;
        self.decim = Some(decim);
        self.vad = Some(vad);
        self.fill = 0;
        Ok(())
    }

    fn sample_time(&self, n: u64) -> HostTime {
        let ns = u128::from(n) * 1_000_000_000 / u128::from(self.rate.max(1));
        self.base_at.saturating_add(Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX)))
    }

    /// Feeds mono PCM at `rate` whose first sample plays at `at`.
    pub(crate) fn handle_pcm(
        &mut self,
        at: HostTime,
        pcm: &[i16],
        rate: SampleRate,
        sh: &mut Shared,
    ) -> Result<(), AnalysisError> {
        if self.vad.is_none() || rate.hz() != self.rate {
            if self.vad.is_some() {
                self.gap(at, sh);
            }
            self.configure(rate, sh)?;
            self.started = false;
        }
        if !self.started {
            self.started = true;
            self.base_at = at;
            self.base_samples = 0;
        } else {
            let next = self.sample_time(self.base_samples);
            if at > next.saturating_add(GAP_TOLERANCE) {
                self.gap(next, sh);
                self.base_at = at;
                self.base_samples = 0;
            }
        }
        for &x in pcm {
            if self.fill == 0 {
                self.frame_at = self.sample_time(self.base_samples);
            }
            self.frame[self.fill] = x;
            self.fill += 1;
            self.base_samples += 1;
            if self.fill == self.frame_len {
                self.fill = 0;
                self.run_frame(sh);
            }
        }
        Ok(())
    }

    /// Audio stopped at `from`: close what the missing audio ends.
    fn gap(&mut self, from: HostTime, sh: &mut Shared) {
        self.fill = 0;
        if let Some(v) = self.vad.as_mut() {
            // Any gap longer than the hangover ends the talkspurt.
            if let Some(t) = v.skip(from, u64::MAX) {
                self.on_vad(t, sh);
            }
        }
        if let Some(d) = self.inband.as_mut().and_then(|i| i.reset()) {
            sh.push_digit(self.leg, d, DtmfSource::InBand);
        }
        if let Some(f) = self.flash.as_mut() {
            f.reset();
        }
        if let Some(t) = self.tones.as_mut() {
            t.reset();
        }
        self.noise.reset();
    }

    fn run_frame(&mut self, sh: &mut Shared) {
        let (Some(decim), Some(_)) = (self.decim.as_mut(), self.vad.as_ref()) else { return };
        let frame = &self.frame[..self.frame_len];
        let n8 = decim.process(frame, &mut self.buf8);
        // A copy (≤ 82 floats on the stack) so the detectors below may borrow `self` mutably.
        let buf8 = self.buf8;
        let x8 = &buf8[..n8];
        let at = self.frame_at;
        let level = block_dbm0(x8);
        let watch = sh.three_way_active() && sh.cfg.three_way.leg == self.leg;
        if let Some(d) = self.noise.update(at, level, watch && sh.cfg.three_way.noise_drop.is_some()) {
            let kind =
                EventKind::NoiseFloorDrop { before_dbm0: d.before_dbm0, after_dbm0: d.after_dbm0, score: d.score };
            sh.push(d.at, Some(self.leg), kind);
        }
        let floor = self.noise.floor();
        let t = self.vad.as_mut().and_then(|v| v.process(at, &self.frame[..self.frame_len], level, floor));
        if let Some(t) = t {
            self.on_vad(t, sh);
        }
        if self.inband_allowed {
            if let Some(d) = self.inband.as_mut().and_then(|i| i.process(at, x8)) {
                sh.push_digit(self.leg, d, DtmfSource::InBand);
            }
        }
        if watch {
            if let Some(f) = self.flash.as_mut().and_then(|f| f.process(at, x8)) {
                sh.push(
                    f.at,
                    Some(self.leg),
                    EventKind::HookFlash { score: f.score, burst: f.burst, level_dbm0: f.peak_dbm0 },
                );
            }
            if let Some(r) = self.tones.as_mut().and_then(|t| t.process(at, x8)) {
                sh.push(
                    r.at,
                    Some(self.leg),
                    EventKind::ProgressTone {
                        freqs: r.freqs,
                        cadence: r.cadence,
                        score: r.score,
                        level_dbm0: r.level_dbm0,
                    },
                );
            }
        }
        sh.pcm_clock[self.leg.index()] = at.saturating_add(FRAME);
    }

    fn on_vad(&mut self, t: VadTransition, sh: &mut Shared) {
        match t {
            VadTransition::Start { at } => {
                self.talkspurts += 1;
                sh.alarms.on_talk_start(self.leg, at);
                sh.push(at, Some(self.leg), EventKind::TalkspurtStart);
            }
            VadTransition::End { start, end } => {
                if self.spurts.len() < MAX_SPURTS {
                    self.spurts.push((start, end));
                } else {
                    self.spurts_dropped += 1;
                }
                sh.alarms.on_talk_end(self.leg, start, end);
                sh.push(start, Some(self.leg), EventKind::TalkspurtEnd { duration: end.saturating_since(start) });
            }
        }
    }

    /// End of call: close the open talkspurt, an in-band key and an RFC 4733 event.
    pub(crate) fn finish(&mut self, sh: &mut Shared) {
        if let Some(t) = self.vad.as_mut().and_then(|v| v.close()) {
            self.on_vad(t, sh);
        }
        if let Some(d) = self.inband.as_mut().and_then(|i| i.reset()) {
            sh.push_digit(self.leg, d, DtmfSource::InBand);
        }
        self.rfc.finish();
        self.drain_rfc(sh);
    }

    /// Digits from the in-band detector are only counted on legs where it runs.
    pub(crate) fn inband_active(&self) -> bool {
        self.inband_allowed
    }
}

impl Shared {
    pub(crate) fn push_digit(&mut self, leg: Leg, d: DetectedDigit, source: DtmfSource) {
        self.push(
            d.at,
            Some(leg),
            EventKind::Digit { digit: d.digit, source, duration: d.duration, level_dbm0: d.level_dbm0 },
        );
    }
}

/// Total time both legs' talkspurts overlap (each list sorted by start, non-overlapping).
pub(crate) fn overlap(a: &[(HostTime, HostTime)], b: &[(HostTime, HostTime)]) -> Duration {
    let (mut i, mut j) = (0, 0);
    let mut total = Duration::ZERO;
    while i < a.len() && j < b.len() {
        let s = a[i].0.max(b[j].0);
        let e = a[i].1.min(b[j].1);
        if e > s {
            total += e.saturating_since(s);
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    total
}
