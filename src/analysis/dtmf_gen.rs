//! DTMF generation into a leg: RFC 4733 telephone-event packets, or in-band Q.23 tone pairs.

use super::dtmf::{DtmfDigit, TelephoneEvent};
use super::level::sine_peak_for_dbm0;
use crate::audio::ClockRate;
use crate::rtp::{PayloadMap, PayloadType, RtpHeader, RtpWriteError, Ssrc};
use std::time::Duration;

/// One telephone-event packet to send (RFC 4733 §2.5.1): the caller's RTP sender adds its
/// own sequence number and SSRC (see [`EventPacket::write`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    /// Payload type of telephone-event at the leg's RTP clock.
    pub payload_type: PayloadType,
    /// M bit: set on the first packet of the event only.
    pub marker: bool,
    /// RTP timestamp (ticks of the event's clock): the event's start, identical in every packet.
    pub timestamp: u32,
    /// When to send it, from the start of the event.
    pub send_after: Duration,
    /// The event block.
    pub event: TelephoneEvent,
}

impl EventPacket {
    /// Appends the packet (12-byte header + 4-byte payload) to `out`.
    ///
    /// Errors: [`RtpWriteError::PayloadTypeOutOfRange`] when the payload type exceeds 127.
    pub fn write(&self, sequence: u16, ssrc: Ssrc, out: &mut Vec<u8>) -> Result<(), RtpWriteError> {
        RtpHeader::new(self.payload_type, sequence, self.timestamp, ssrc)
            .with_marker(self.marker)
            .write(&self.event.to_bytes(), out)
            .map(|_| ())
    }
}

/// Builds RFC 4733 packet trains for a leg.
///
/// The event clock must be the leg's RTP clock: on a G.722 leg (16 kHz audio, 8 kHz RTP
/// clock) that is telephone-event/8000, whatever other telephone-event payload types the
/// SDP lists (CASES B17). Updates go every [`Self::update_interval`] with the elapsed
/// duration; the end goes three times with the same timestamp and final duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEventSender {
    payload_type: PayloadType,
    clock: ClockRate,
    /// Volume field: the tone's level in −dBm0 (0–63).
    pub volume: u8,
    /// Interval between updates (default 50 ms).
    pub update_interval: Duration,
    /// End packets sent (default 3, RFC 4733 §2.5.1.4).
    pub end_repeats: u8,
}

impl TelephoneEventSender {
    /// A sender on `payload_type` at `clock`, volume 10 (−10 dBm0).
    pub fn new(payload_type: PayloadType, clock: ClockRate) -> Self {
        TelephoneEventSender {
            payload_type,
            clock,
            volume: 10,
            update_interval: Duration::from_millis(50),
            end_repeats: 3,
        }
    }

    /// The sender for a leg whose audio runs on the RTP clock `audio_clock`: the
    /// telephone-event payload type of `map` with that clock rate, `None` if the leg has none.
    pub fn for_leg(map: &PayloadMap, audio_clock: ClockRate) -> Option<Self> {
        map.iter()
            .filter(|f| f.is("telephone-event") && f.clock_rate == audio_clock)
            .map(|f| f.payload_type)
            .min()
            .map(|pt| Self::new(pt, audio_clock))
    }

    /// Payload type used.
    pub fn payload_type(&self) -> PayloadType {
        self.payload_type
    }

    /// Event clock rate (ticks/s).
    pub fn clock(&self) -> ClockRate {
        self.clock
    }

    /// The packets of one press of `digit` lasting `duration`, starting at RTP `timestamp`.
    /// Durations longer than 65 535 ticks are capped (≈ 8.2 s at 8 kHz).
    pub fn packets(&self, digit: DtmfDigit, duration: Duration, timestamp: u32) -> Vec<EventPacket> {
        let total = self.clock.ticks_in(duration).min(65_535);
        let step = self.clock.ticks_in(self.update_interval).max(1);
        let mut out = Vec::new();
        let mut elapsed = 0u64;
        while elapsed < total {
            out.push(EventPacket {
                payload_type: self.payload_type,
                marker: elapsed == 0,
                timestamp,
                send_after: self.clock.duration_of(elapsed),
                event: TelephoneEvent {
                    event: digit.event_code(),
                    end: false,
                    volume: self.volume & 0x3F,
                    duration: elapsed as u16,
                },
            });
            elapsed += step;
        }
        for i in 0..self.end_repeats.max(1) {
            out.push(EventPacket {
                payload_type: self.payload_type,
                marker: total == 0 && i == 0,
                timestamp,
                send_after: self.clock.duration_of(total),
                // total ≤ 65 535 (capped above).
                event: TelephoneEvent {
                    event: digit.event_code(),
                    end: true,
                    volume: self.volume & 0x3F,
                    duration: total as u16,
                },
            });
        }
        out
    }
}

/// Writes a Q.23 tone pair for `digit` into `out` (mono, `rate` Hz), each tone at
/// `level_dbm0`, both frequencies scaled by `freq_scale` (1.0 = nominal; tests use 1.035 for
/// a +3.5 % error). `start` is the index of `out[0]` in the tone, so that consecutive calls
/// continue the phase.
pub fn dtmf_tone(digit: DtmfDigit, level_dbm0: f64, freq_scale: f64, rate: u32, start: u64, out: &mut [i16]) {
    let (fr, fc) = digit.frequencies();
    let amp = sine_peak_for_dbm0(level_dbm0);
    let w1 = 2.0 * std::f64::consts::PI * f64::from(fr) * freq_scale / f64::from(rate.max(1));
    let w2 = 2.0 * std::f64::consts::PI * f64::from(fc) * freq_scale / f64::from(rate.max(1));
    for (i, o) in out.iter_mut().enumerate() {
        let n = start.saturating_add(i as u64) as f64;
        let v = amp * ((w1 * n).sin() + (w2 * n).sin());
        *o = v.round().clamp(-32768.0, 32767.0) as i16;
    }
}

/// Longest tone or pause [`dtmf_sequence`] writes per key: one hour.
const MAX_KEY_TIME: Duration = Duration::from_secs(3600);

/// Longest sequence [`dtmf_sequence`] returns: one hour at 48 kHz.
const MAX_SEQUENCE_SAMPLES: usize = 3600 * 48_000;

/// A key sequence as in-band audio: for each key of `keys` (other characters are skipped),
/// `on` of tone then `off` of silence, at `level_dbm0` per tone, frequencies × `freq_scale`.
///
/// Bounded so that huge durations or rates cannot ask for more memory than exists: `on` and
/// `off` are capped at one hour each, and the sequence is cut at 172 800 000 samples (one
/// hour at 48 kHz).
pub fn dtmf_sequence(keys: &str, level_dbm0: f64, on: Duration, off: Duration, freq_scale: f64, rate: u32) -> Vec<i16> {
    let sr = crate::audio::SampleRate::new(rate);
    let (n_on, n_off) = (sr.samples_in(on.min(MAX_KEY_TIME)), sr.samples_in(off.min(MAX_KEY_TIME)));
    let mut out = Vec::new();
    for k in keys.chars().filter_map(DtmfDigit::from_char) {
        let at = out.len();
        if at >= MAX_SEQUENCE_SAMPLES {
            break;
        }
        out.resize(at + n_on.min(MAX_SEQUENCE_SAMPLES - at), 0);
        dtmf_tone(k, level_dbm0, freq_scale, rate, 0, &mut out[at..]);
        out.resize(out.len() + n_off.min(MAX_SEQUENCE_SAMPLES - out.len()), 0);
    }
    out
}

/// In-band DTMF into a leg's outbound PCM: queue keys, then let [`Self::render`] overwrite
/// each outgoing frame while a key or its pause is playing.
#[derive(Debug, Clone)]
pub struct InbandDtmfGenerator {
    rate: u32,
    level_dbm0: f64,
    on: u64,
    off: u64,
    queue: std::collections::VecDeque<DtmfDigit>,
    /// Current key and samples played of its on+off cycle.
    current: Option<(DtmfDigit, u64)>,
}

/// Most keys an [`InbandDtmfGenerator`] queues; more are refused.
pub const MAX_QUEUED_KEYS: usize = 64;

impl InbandDtmfGenerator {
    /// A generator at `rate` Hz, `level_dbm0` per tone, `on`/`off` per key (e.g. −10 dBm0,
    /// 100 ms / 100 ms).
    pub fn new(rate: u32, level_dbm0: f64, on: Duration, off: Duration) -> Self {
        let sr = crate::audio::SampleRate::new(rate);
        InbandDtmfGenerator {
            rate: sr.hz(),
            level_dbm0,
            on: sr.samples_in(on) as u64,
            off: sr.samples_in(off) as u64,
            queue: std::collections::VecDeque::with_capacity(MAX_QUEUED_KEYS),
            current: None,
        }
    }

    /// Queues a key; `false` if [`MAX_QUEUED_KEYS`] are already waiting.
    pub fn push(&mut self, digit: DtmfDigit) -> bool {
        if self.queue.len() >= MAX_QUEUED_KEYS {
            return false;
        }
        self.queue.push_back(digit);
        true
    }

    /// Whether a key or pause is playing or queued.
    pub fn is_active(&self) -> bool {
        self.current.is_some() || !self.queue.is_empty()
    }

    /// Overwrites `out` (mono, the generator's rate) with tone/pause samples while active and
    /// returns how many samples it wrote from the start of `out` (0 when idle: leave the
    /// frame as it is).
    pub fn render(&mut self, out: &mut [i16]) -> usize {
        let mut i = 0;
        while i < out.len() {
            let (key, pos) = match self.current {
                Some(c) => c,
                None => match self.queue.pop_front() {
                    Some(k) => (k, 0),
                    None => break,
                },
            };
            let cycle = self.on.saturating_add(self.off);
            let n = ((cycle - pos) as usize).min(out.len() - i);
            let tone = (self.on.saturating_sub(pos) as usize).min(n);
            dtmf_tone(key, self.level_dbm0, 1.0, self.rate, pos, &mut out[i..i + tone]);
            out[i + tone..i + n].fill(0);
            i += n;
            let pos = pos + n as u64;
            self.current = if pos >= cycle { None } else { Some((key, pos)) };
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::{PayloadFormat, RtpPacket};

    #[test]
    fn b17_g722_leg_uses_the_8k_event_type() {
        let mut map = PayloadMap::new();
        for (pt, name, rate) in [(9, "G722", 8000), (96, "telephone-event", 16_000), (97, "telephone-event", 8000)] {
            map.insert(PayloadFormat::new(PayloadType(pt), name, ClockRate::new(rate), 1)).unwrap();
        }
        let tx = TelephoneEventSender::for_leg(&map, ClockRate::HZ_8000).expect("PT 97");
        assert_eq!(tx.payload_type(), PayloadType(97));
        let pk = tx.packets(DtmfDigit::from_char('5').unwrap(), Duration::from_millis(100), 123_456);
        assert!(pk.iter().all(|p| p.payload_type == PayloadType(97) && p.timestamp == 123_456));
        assert_eq!(pk.iter().filter(|p| p.marker).count(), 1);
        assert!(pk[0].marker);
        let ends: Vec<_> = pk.iter().filter(|p| p.event.end).collect();
        assert_eq!(ends.len(), 3);
        assert!(ends.iter().all(|p| p.event.duration == 800 && p.send_after == Duration::from_millis(100)));
        assert_eq!(pk.iter().map(|p| p.event.duration).collect::<Vec<_>>(), vec![0, 400, 800, 800, 800]);
        let mut buf = Vec::new();
        pk[4].write(9, Ssrc(1), &mut buf).unwrap();
        let p = RtpPacket::parse(&buf).unwrap();
        assert_eq!((p.payload_type().0, p.timestamp(), p.marker()), (97, 123_456, false));
        assert_eq!(p.payload(), &[5, 0x8A, 0x03, 0x20]);
    }

    #[test]
    fn inband_generator_plays_queue() {
        let mut g = InbandDtmfGenerator::new(8000, -10.0, Duration::from_millis(50), Duration::from_millis(50));
        assert!(g.push(DtmfDigit::from_char('1').unwrap()));
        let mut frame = [1i16; 160];
        assert_eq!(g.render(&mut frame), 160);
        assert!(frame.iter().any(|&x| x.abs() > 1000));
        // 400 tone + 400 pause samples per key: the next 320 samples are 240 tone, 80 pause.
        let mut f2 = [1i16; 320];
        assert_eq!(g.render(&mut f2), 320);
        assert!(f2[200..240].iter().any(|&x| x.abs() > 1000));
        assert!(f2[240..].iter().all(|&x| x == 0));
        let mut f3 = [1i16; 400];
        assert_eq!(g.render(&mut f3), 320);
        assert_eq!(f3[320], 1);
        assert!(!g.is_active());
    }
}
