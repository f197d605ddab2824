//! [`CallAnalyzer`]: the analysis bank of a two-leg call, fed by the session (or the
//! offline replay) and drained as events, sans-IO like the rest of the core.

use super::alarms::Alarms;
use super::cdr::{AlarmRecord, CdrSummary, DigitRecord, LegSummary, SignalRecord};
use super::event::{AnalysisEvent, EventKind};
use super::leg::{overlap, LegAnalyzer};
use super::metering::{EndCause, Meter};
use super::{AnalysisConfig, AnalysisError};
use crate::audio::SampleRate;
use crate::leg::Leg;
use crate::rtp::{MediaPacket, PayloadMap};
use crate::time::HostTime;
use std::collections::VecDeque;
use std::time::Duration;

/// Most events held for [`CallAnalyzer::poll_event`]; further events are dropped (newest
/// first) and counted in [`CdrSummary::dropped_events`]. The CDR's own records are kept apart.
pub const MAX_PENDING_EVENTS: usize = 4096;
/// Most records of each kind (digits, alarms, signals) kept for the CDR; more are counted.
pub const MAX_CDR_RECORDS: usize = 10_000;

/// State shared by both legs: settings, the event queue and CDR records, alarms, switches.
pub(crate) struct Shared {
    pub(crate) cfg: AnalysisConfig,
    pub(crate) start: HostTime,
    pub(crate) alarms: Alarms,
    pub(crate) events: VecDeque<AnalysisEvent>,
    pub(crate) dropped: u64,
    pub(crate) digits: [Vec<DigitRecord>; 2],
    pub(crate) alarm_log: [Vec<AlarmRecord>; 2],
    pub(crate) signals: Vec<SignalRecord>,
    pub(crate) records_dropped: u64,
    pub(crate) answered: bool,
    pub(crate) ended: bool,
    pub(crate) three_way: bool,
    /// End of the last PCM frame analysed per leg.
    pub(crate) pcm_clock: [HostTime; 2],
}

impl Shared {
    pub(crate) fn three_way_active(&self) -> bool {
        self.three_way && self.answered && !self.ended
    }

    fn ms(&self, t: HostTime) -> u64 {
        u64::try_from(t.saturating_since(self.start).as_millis()).unwrap_or(u64::MAX)
    }

    pub(crate) fn push(&mut self, at: HostTime, leg: Option<Leg>, kind: EventKind) {
        let at_ms = self.ms(at);
        let full = |v: usize| v >= MAX_CDR_RECORDS;
        match (&kind, leg) {
            (EventKind::Digit { digit, source, duration, level_dbm0 }, Some(l)) => {
                if full(self.digits[l.index()].len()) {
                    self.records_dropped += 1;
                } else {
                    self.digits[l.index()].push(DigitRecord {
                        at_ms,
                        digit: digit.as_char().to_string(),
                        source: *source,
                        duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
                        level_dbm0: *level_dbm0,
                    });
                }
            }
            (EventKind::Alarm { alarm, raised }, Some(l)) => {
                if full(self.alarm_log[l.index()].len()) {
                    self.records_dropped += 1;
                } else {
                    self.alarm_log[l.index()].push(AlarmRecord { at_ms, alarm: *alarm, raised: *raised });
                }
            }
            (k, Some(l)) if k.is_three_way_signal() => {
                if full(self.signals.len()) {
                    self.records_dropped += 1;
                } else {
                    self.signals.push(SignalRecord::from_event(at_ms, l, k));
                }
            }
            _ => {}
        }
        if self.events.len() >= MAX_PENDING_EVENTS {
            self.dropped += 1;
            return;
        }
        self.events.push_back(AnalysisEvent { at, leg, kind });
    }

    fn drain_alarms(&mut self) {
        while let Some(c) = self.alarms.poll_change() {
            self.push(c.at, Some(c.leg), EventKind::Alarm { alarm: c.kind, raised: c.raised });
        }
    }
}

/// The analysis of one call: VAD and talk time, DTMF (RFC 4733 and in-band), metering,
/// alarms, three-way-call signals and quality, for legs A and B.
///
/// Run loop (one mutation, then drain):
/// ```text
/// analyzer.set_payloads(leg, &map);                 // once per leg, and on renegotiation
/// analyzer.answer(now);                             // when the call is answered
/// analyzer.handle_packet(leg, &media_packet);       // every packet ingress accepted
/// analyzer.handle_pcm(leg, at, &pcm, rate)?;        // the leg's decoded audio, in play order
/// analyzer.handle_timeout(now);                     // when poll_timeout() is due
/// while let Some(ev) = analyzer.poll_event() { host.note(ev) }
/// analyzer.end(now, cause); let cdr = analyzer.summary(now);
/// ```
/// Decisions (billing disputes, cutting a three-way call) stay with the host: the analyzer
/// only reports, with times and scores. `Send`, allocation-free per 10 ms frame.
pub struct CallAnalyzer {
    sh: Shared,
    legs: [LegAnalyzer; 2],
    meter: Meter,
}

impl std::fmt::Debug for CallAnalyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallAnalyzer").field("start", &self.sh.start).field("meter", &self.meter).finish()
    }
}

impl CallAnalyzer {
    /// An analyzer for a call set up at `start` (the origin of the CDR's `*_ms` times).
    pub fn new(config: AnalysisConfig, start: HostTime) -> Self {
        let legs = [LegAnalyzer::new(Leg::A, &config), LegAnalyzer::new(Leg::B, &config)];
        let meter = Meter::new(config.billing, config.time_limit);
        CallAnalyzer {
            sh: Shared {
                alarms: Alarms::new(config.alarms.clone()),
                three_way: config.three_way.enabled,
                cfg: config,
                start,
                events: VecDeque::with_capacity(64),
                dropped: 0,
                digits: [Vec::new(), Vec::new()],
                alarm_log: [Vec::new(), Vec::new()],
                signals: Vec::new(),
                records_dropped: 0,
                answered: false,
                ended: false,
                pcm_clock: [start; 2],
            },
            legs,
            meter,
        }
    }

    /// The settings.
    pub fn config(&self) -> &AnalysisConfig {
        &self.sh.cfg
    }

    /// Tells the analyzer a leg's negotiated payload types: telephone-event types (with their
    /// own clock rates) for RFC 4733, audio codecs for quality; in-band DTMF runs only where
    /// no telephone-event is negotiated (unless configured otherwise).
    pub fn set_payloads(&mut self, leg: Leg, map: &PayloadMap) {
        self.legs[leg.index()].set_payloads(map, self.sh.cfg.dtmf.inband_mode);
    }

    /// Switches the three-way-call signals on or off for this call (off for TTY or
    /// privileged calls); takes effect from the next frame.
    pub fn set_three_way(&mut self, enabled: bool) {
        self.sh.three_way = enabled;
    }

    /// The call was answered at `now`: metering and alarms start. Emits `Answered` once.
    pub fn answer(&mut self, now: HostTime) {
        if self.meter.answer(now) {
            self.sh.answered = true;
            self.sh.alarms.start(now);
            self.sh.push(now, None, EventKind::Answered);
        }
    }

    /// Feeds one packet that ingress accepted on `leg` (RFC 4733 events, loss, jitter, media timeout).
    pub fn handle_packet(&mut self, leg: Leg, packet: &MediaPacket) {
        if self.sh.ended {
            return;
        }
        self.legs[leg.index()].handle_packet(packet, &mut self.sh);
        self.sh.drain_alarms();
    }

    /// Feeds `leg`'s decoded audio: mono PCM at `rate` (8, 16, 32 or 48 kHz; 16-bit), whose
    /// first sample plays at `at`. Consecutive calls continue the leg's timeline; a jump of
    /// more than 15 ms forward is a gap (no audio: talkspurts and tones end); jumps backwards
    /// are taken as contiguous. Any length (frames are 10 ms internally).
    ///
    /// Errors: [`AnalysisError::UnsupportedRate`] (nothing analysed); [`AnalysisError::OutOfMemory`].
    pub fn handle_pcm(&mut self, leg: Leg, at: HostTime, pcm: &[i16], rate: SampleRate) -> Result<(), AnalysisError> {
        if self.sh.ended {
            return Ok(());
        }
        self.legs[leg.index()].handle_pcm(at, pcm, rate, &mut self.sh)?;
        let now = self.sh.pcm_clock[leg.index()];
        let open = [self.legs[0].open_talk(), self.legs[1].open_talk()];
        self.sh.alarms.evaluate(now, open);
        self.sh.drain_alarms();
        Ok(())
    }

    /// Reports `leg`'s playout from the jitter buffer: `played` audio, of which `concealed`
    /// was made up, after `delay` in the buffer (for concealed time, playout delay, E-model).
    pub fn handle_playout(&mut self, leg: Leg, played: Duration, concealed: Duration, delay: Duration) {
        self.legs[leg.index()].quality.on_playout(played, concealed, delay);
    }

    /// When [`Self::handle_timeout`] must run next: an RFC 4733 event to close, the time
    /// limit, a media-timeout or long-silence alarm.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<HostTime> {
        if self.sh.ended {
            return None;
        }
        [
            self.legs[0].rfc.poll_timeout(),
            self.legs[1].rfc.poll_timeout(),
            self.meter.poll_timeout(),
            self.sh.alarms.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs what is due at `now`.
    pub fn handle_timeout(&mut self, now: HostTime) {
        if self.sh.ended {
            return;
        }
        for l in &mut self.legs {
            l.rfc.handle_timeout(now);
            l.drain_rfc(&mut self.sh);
        }
        if let Some(at) = self.meter.handle_timeout(now) {
            self.sh.push(at, None, EventKind::LimitReached);
        }
        let open = [self.legs[0].open_talk(), self.legs[1].open_talk()];
        self.sh.alarms.evaluate(now, open);
        self.sh.drain_alarms();
    }

    /// The call ended at `now` for `cause`: closes open talkspurts, keys and events, stops
    /// alarms, and emits `Ended` with the bill (metered end clamped to the time limit).
    pub fn end(&mut self, now: HostTime, cause: EndCause) {
        if self.sh.ended {
            return;
        }
        for l in &mut self.legs {
            l.finish(&mut self.sh);
        }
        self.sh.alarms.stop();
        self.sh.drain_alarms();
        self.meter.end(now, cause.clone());
        self.sh.ended = true;
        let at = self.meter.ended().map_or(now, |(t, _)| t);
        let bill = self.meter.bill(now);
        self.sh.push(at, None, EventKind::Ended { cause, bill });
    }

    /// The next event, oldest first.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<AnalysisEvent> {
        self.sh.events.pop_front()
    }

    /// The meter (answer, end, bill).
    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// Talk time of `leg` so far.
    pub fn talk_time(&self, leg: Leg) -> Duration {
        self.legs[leg.index()].vad().map_or(Duration::ZERO, |v| v.talk_time())
    }

    /// Time both legs talked at once (closed talkspurts plus the open ones so far).
    pub fn double_talk(&self) -> Duration {
        let with_open = |l: &LegAnalyzer| -> Vec<(HostTime, HostTime)> {
            let mut v = l.spurts.clone();
            v.extend(l.vad().and_then(|d| d.open_spurt()));
            v
        };
        overlap(&with_open(&self.legs[0]), &with_open(&self.legs[1]))
    }

    /// The CDR summary at `now` (final once [`Self::end`] was called).
    pub fn summary(&self, now: HostTime) -> CdrSummary {
        let ms = |t: HostTime| u64::try_from(t.saturating_since(self.sh.start).as_millis()).unwrap_or(u64::MAX);
        let q = &self.sh.cfg.quality;
        let legs = [Leg::A, Leg::B]
            .map(|leg| {
                let l = &self.legs[leg.index()];
                let (frames, voiced) = l.vad().map_or((0, 0), |v| v.frame_counts());
                LegSummary {
                    leg,
                    talk_ms: u64::try_from(self.talk_time(leg).as_millis()).unwrap_or(u64::MAX),
                    talkspurts: l.talkspurts(),
                    digits: self.sh.digits[leg.index()].iter().map(|d| d.digit.as_str()).collect(),
                    digit_events: self.sh.digits[leg.index()].clone(),
                    inband_dtmf: l.inband_active(),
                    alarms: self.sh.alarm_log[leg.index()].clone(),
                    quality: l.quality.report(q.extra_delay, q.concealment),
                    vad_frames: frames,
                    vad_voiced_frames: voiced,
                }
            })
            .to_vec();
        let bill = self.meter.bill(now);
        let ended = self.meter.ended();
        CdrSummary {
            start_host_ns: self.sh.start.as_nanos(),
            answer_ms: self.meter.answered_at().map(ms),
            end_ms: ended.map(|(t, _)| ms(t)),
            end_cause: ended.map(|(_, c)| c.clone()),
            connected_ms: bill.connected_ms,
            billing: *self.meter.policy(),
            charge_yuan: bill.charge_yuan(),
            bill,
            double_talk_ms: u64::try_from(self.double_talk().as_millis()).unwrap_or(u64::MAX),
            three_way_enabled: self.sh.three_way,
            three_way_signals: self.sh.signals.clone(),
            legs,
            dropped_events: self.sh.dropped,
            dropped_records: self.sh.records_dropped + self.legs.iter().map(|l| l.spurts_dropped).sum::<u64>(),
        }
    }
}
