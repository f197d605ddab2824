//! Alarms of a call: long silence on a leg, one-way audio (one leg silent while the other
//! talks), and media timeout (no packets). Each is raised once per episode and cleared when
//! the condition ends; they run only while the call is answered and not ended.

use crate::leg::Leg;
use crate::time::HostTime;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Alarm settings; `None` switches an alarm off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AlarmConfig {
    /// No talkspurt on a leg for this long (default 60 s).
    pub long_silence: Option<Duration>,
    /// A leg silent while the other leg has talked this long since (default 10 s of talk).
    pub one_way: Option<Duration>,
    /// No packet on a leg for this long (default 5 s).
    pub media_timeout: Option<Duration>,
}

impl Default for AlarmConfig {
    fn default() -> Self {
        AlarmConfig {
            long_silence: Some(Duration::from_secs(60)),
            one_way: Some(Duration::from_secs(10)),
            media_timeout: Some(Duration::from_secs(5)),
        }
    }
}

/// Which alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum AlarmKind {
    /// The leg has been silent for the configured time.
    LongSilence,
    /// The leg is silent while the other leg talks: audio likely flows one way only.
    OneWayAudio,
    /// No packets have arrived on the leg for the configured time.
    MediaTimeout,
}

/// A raise or clear of an alarm on a leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlarmChange {
    /// When the condition began (raise) or ended (clear).
    pub at: HostTime,
    /// The leg.
    pub leg: Leg,
    /// The alarm.
    pub kind: AlarmKind,
    /// Raised (true) or cleared (false).
    pub raised: bool,
}

#[derive(Debug, Clone, Copy, Default)]
struct LegState {
    /// Last time the leg was heard (talkspurt end, or now while talking), or the answer.
    last_voice: Option<HostTime>,
    talking: bool,
    /// Talk time of this leg accumulated since the other leg last spoke.
    talk_since_other: Duration,
    last_packet: Option<HostTime>,
    raised: [bool; 3],
}

/// Alarm evaluation for both legs.
#[derive(Debug, Clone)]
pub struct Alarms {
    cfg: AlarmConfig,
    legs: [LegState; 2],
    active_since: Option<HostTime>,
    out: std::collections::VecDeque<AlarmChange>,
}

fn idx(kind: AlarmKind) -> usize {
    match kind {
        AlarmKind::LongSilence => 0,
        AlarmKind::OneWayAudio => 1,
        AlarmKind::MediaTimeout => 2,
    }
}

impl Alarms {
    /// Alarms with `config`, idle until [`Self::start`].
    pub fn new(config: AlarmConfig) -> Self {
        Alarms { cfg: config, legs: [LegState::default(); 2], active_since: None, out: Default::default() }
    }

    /// Starts evaluating at `now` (the answer): silence and packet clocks start here.
    pub fn start(&mut self, now: HostTime) {
        self.active_since = Some(now);
        for l in &mut self.legs {
            l.last_voice = Some(l.last_voice.map_or(now, |t| t.max(now)));
            l.last_packet = Some(l.last_packet.map_or(now, |t| t.max(now)));
        }
    }

    /// Stops evaluating (end of call); raised alarms stay as they are.
    pub fn stop(&mut self) {
        self.active_since = None;
    }

    /// A packet arrived on `leg` at `now`.
    pub fn on_packet(&mut self, leg: Leg, now: HostTime) {
        self.legs[leg.index()].last_packet = Some(now);
        self.set(leg, AlarmKind::MediaTimeout, false, now);
    }

    /// A talkspurt started on `leg` at `at`.
    pub fn on_talk_start(&mut self, leg: Leg, at: HostTime) {
        let l = &mut self.legs[leg.index()];
        l.talking = true;
        l.last_voice = Some(at);
        self.legs[leg.other().index()].talk_since_other = Duration::ZERO;
        self.set(leg, AlarmKind::LongSilence, false, at);
        self.set(leg, AlarmKind::OneWayAudio, false, at);
    }

    /// A talkspurt ended on `leg` (spanning `start`..`end`).
    pub fn on_talk_end(&mut self, leg: Leg, start: HostTime, end: HostTime) {
        let l = &mut self.legs[leg.index()];
        l.talking = false;
        l.last_voice = Some(end);
        l.talk_since_other = l.talk_since_other.saturating_add(end.saturating_since(start));
        self.legs[leg.other().index()].talk_since_other = Duration::ZERO;
    }

    /// Re-evaluates at `now`; `talk_now[leg]` is the talk time of an open talkspurt.
    pub fn evaluate(&mut self, now: HostTime, open_talk: [Duration; 2]) {
        let Some(since) = self.active_since else { return };
        for leg in [Leg::A, Leg::B] {
            let l = self.legs[leg.index()];
            let o = self.legs[leg.other().index()];
            if let (Some(limit), Some(last)) = (self.cfg.long_silence, l.last_voice) {
                let last = last.max(since);
                if !l.talking && now.saturating_since(last) >= limit {
                    self.set(leg, AlarmKind::LongSilence, true, last.saturating_add(limit));
                }
            }
            if let Some(limit) = self.cfg.one_way {
                let other_talk = o.talk_since_other.saturating_add(open_talk[leg.other().index()]);
                if !l.talking && other_talk >= limit {
                    self.set(leg, AlarmKind::OneWayAudio, true, now);
                }
            }
            if let (Some(limit), Some(last)) = (self.cfg.media_timeout, l.last_packet) {
                let last = last.max(since);
                if now.saturating_since(last) >= limit {
                    self.set(leg, AlarmKind::MediaTimeout, true, last.saturating_add(limit));
                }
            }
        }
    }

    /// The next time [`Self::evaluate`] must run for a time-driven alarm, if any.
    pub fn poll_timeout(&self) -> Option<HostTime> {
        let since = self.active_since?;
        let mut next: Option<HostTime> = None;
        for l in &self.legs {
            if let (Some(limit), Some(last), false) = (self.cfg.media_timeout, l.last_packet, l.raised[2]) {
                let t = last.max(since).saturating_add(limit);
                next = Some(next.map_or(t, |n| n.min(t)));
            }
            if let (Some(limit), Some(last), false, false) =
                (self.cfg.long_silence, l.last_voice, l.raised[0], l.talking)
            {
                let t = last.max(since).saturating_add(limit);
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        next
    }

    fn set(&mut self, leg: Leg, kind: AlarmKind, raised: bool, at: HostTime) {
        let flag = &mut self.legs[leg.index()].raised[idx(kind)];
        if *flag != raised {
            *flag = raised;
            self.out.push_back(AlarmChange { at, leg, kind, raised });
        }
    }

    /// The next raise or clear.
    #[must_use]
    pub fn poll_change(&mut self) -> Option<AlarmChange> {
        self.out.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> HostTime {
        HostTime::from_millis(s * 1000)
    }

    fn drain(a: &mut Alarms) -> Vec<(u64, Leg, AlarmKind, bool)> {
        std::iter::from_fn(|| a.poll_change())
            .map(|c| (c.at.as_nanos() / 1_000_000_000, c.leg, c.kind, c.raised))
            .collect()
    }

    #[test]
    fn one_way_and_silence_and_timeout() {
        let mut a = Alarms::new(AlarmConfig::default());
        a.start(t(0));
        // Leg A talks 0–12 s in 3 s turns; leg B says nothing; both send packets.
        for s in [0u64, 3, 6, 9] {
            a.on_talk_start(Leg::A, t(s));
            a.on_talk_end(Leg::A, t(s), t(s + 3));
            a.on_packet(Leg::A, t(s + 3));
            a.on_packet(Leg::B, t(s + 3));
            a.evaluate(t(s + 3), [Duration::ZERO; 2]);
        }
        assert_eq!(drain(&mut a), vec![(12, Leg::B, AlarmKind::OneWayAudio, true)]);
        a.on_talk_start(Leg::B, t(13));
        assert_eq!(drain(&mut a), vec![(13, Leg::B, AlarmKind::OneWayAudio, false)]);
        a.on_talk_end(Leg::B, t(13), t(14));
        // Packets stop on both legs at 12 s: media timeout due at 17 s.
        assert_eq!(a.poll_timeout(), Some(t(17)));
        a.evaluate(t(17), [Duration::ZERO; 2]);
        assert_eq!(
            drain(&mut a),
            vec![(17, Leg::A, AlarmKind::MediaTimeout, true), (17, Leg::B, AlarmKind::MediaTimeout, true)]
        );
        a.evaluate(t(75), [Duration::ZERO; 2]);
        let got = drain(&mut a);
        assert!(got.contains(&(72, Leg::A, AlarmKind::LongSilence, true)), "{got:?}");
        assert!(got.contains(&(74, Leg::B, AlarmKind::LongSilence, true)), "{got:?}");
    }
}
