//! Per-leg receive quality: RFC 3550 interarrival jitter and loss, concealed time, mean
//! playout delay, and the E-model R factor and MOS estimate (see [`super::emodel`]).

use super::emodel::{mos_from_r, r_factor, CodecImpairment};
use crate::audio::ClockRate;
use crate::codec::CodecKind;
use crate::rtp::{InterarrivalJitter, MediaPacket, StreamEpoch};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Quality figures of one leg, as in the CDR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LegQuality {
    /// Packets received (all payload types, duplicates excluded by ingress).
    pub packets: u64,
    /// Packets expected from extended sequence numbers (RFC 3550 App. A.3), summed over SSRC epochs.
    pub expected: u64,
    /// Packets lost: expected − received (never negative here).
    pub lost: u64,
    /// Loss in percent of expected.
    pub loss_percent: f64,
    /// Burst ratio of the loss (1 = random; G.107 BurstR), from the loss runs seen.
    pub burst_ratio: f64,
    /// RFC 3550 interarrival jitter at the end, ms (audio packets only).
    pub jitter_ms: f64,
    /// Largest jitter estimate seen, ms.
    pub max_jitter_ms: f64,
    /// Audio the playout made up for lost or late frames, ms (`None` when no playout was reported).
    pub concealed_ms: Option<u64>,
    /// Mean playout (jitter-buffer) delay, ms (`None` when no playout was reported).
    pub mean_playout_delay_ms: Option<f64>,
    /// Audio codec the E-model used (the last one received), e.g. `"PCMA"`.
    pub codec: Option<String>,
    /// E-model R factor (`None` without an audio codec).
    pub r_factor: Option<f64>,
    /// MOS estimate from R (`None` without an audio codec).
    pub mos: Option<f64>,
}

/// Accumulates one leg's quality from accepted packets and playout reports.
#[derive(Debug, Clone, Default)]
pub struct QualityMeter {
    jitter: InterarrivalJitter,
    max_jitter_ms: f64,
    epoch: Option<StreamEpoch>,
    base_seq: u64,
    highest_seq: u64,
    received_epoch: u64,
    /// Totals of finished epochs.
    expected_done: u64,
    received_done: u64,
    loss_runs: u64,
    packets: u64,
    codec: Option<CodecKind>,
    /// Audio duration of the last audio frame (for the packetisation delay).
    frame: Duration,
    concealed: Duration,
    played: Duration,
    delay_sum_ns: u128,
    delay_n: u64,
    playout_reported: bool,
}

impl QualityMeter {
    /// An empty meter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one accepted packet. `audio` = Some((codec, clock, frame duration)) for an
    /// audio payload type; `None` for telephone-event, CN and unknown types (counted for loss,
    /// not for jitter).
    pub fn on_packet(&mut self, packet: &MediaPacket, audio: Option<(CodecKind, ClockRate, Duration)>) {
        self.packets += 1;
        let seq = packet.seq.0;
        if self.epoch != Some(packet.epoch) {
            self.finish_epoch();
            self.epoch = Some(packet.epoch);
            self.base_seq = seq;
            self.highest_seq = seq;
            self.received_epoch = 0;
        }
        if seq > self.highest_seq {
            if seq > self.highest_seq + 1 {
                self.loss_runs += 1;
            }
            self.highest_seq = seq;
        } else if seq < self.base_seq {
            self.base_seq = seq;
        }
        self.received_epoch += 1;
        if let Some((codec, clock, frame)) = audio {
            self.jitter.update(packet.arrival, packet.timestamp, clock);
            self.max_jitter_ms = self.max_jitter_ms.max(self.jitter.ms());
            self.codec = Some(codec);
            if !frame.is_zero() {
                self.frame = frame;
            }
        }
    }

    /// Sequence numbers the current epoch spans (saturating: extended numbers are the
    /// sender's, a jump to the end of the range must not overflow).
    fn epoch_span(&self) -> u64 {
        (self.highest_seq - self.base_seq).saturating_add(1)
    }

    fn finish_epoch(&mut self) {
        if self.epoch.is_some() {
            self.expected_done = self.expected_done.saturating_add(self.epoch_span());
            self.received_done = self.received_done.saturating_add(self.received_epoch);
        }
    }

    /// Reports playout: `played` audio of which `concealed` was made up, held `delay` in the
    /// jitter buffer. The totals saturate at [`Duration::MAX`].
    pub fn on_playout(&mut self, played: Duration, concealed: Duration, delay: Duration) {
        self.playout_reported = true;
        self.played = self.played.saturating_add(played);
        self.concealed = self.concealed.saturating_add(concealed);
        self.delay_sum_ns += delay.as_nanos();
        self.delay_n += 1;
    }

    /// The figures so far. `extra_delay` is added to playout and packetisation delay for the
    /// E-model's one-way delay Ta (network and terminal delay the engine cannot see).
    pub fn report(&self, extra_delay: Duration, concealment: bool) -> LegQuality {
        let mut expected = self.expected_done;
        let mut received = self.received_done;
        if self.epoch.is_some() {
            expected = expected.saturating_add(self.epoch_span());
            received = received.saturating_add(self.received_epoch);
        }
        let lost = expected.saturating_sub(received);
        let loss_percent = if expected == 0 { 0.0 } else { lost as f64 * 100.0 / expected as f64 };
        // Gilbert model: p = runs / received, q = runs / lost, BurstR = 1 / (p + q)
        // relative to random loss (G.107 §7.4: BurstR = 1/(p+q) with p + q = 1 for random loss).
        let burst_ratio = if lost == 0 || self.loss_runs == 0 || received == 0 {
            1.0
        } else {
            let p = self.loss_runs as f64 / received as f64;
            let q = self.loss_runs as f64 / lost as f64;
            (1.0 / (p + q)).max(1.0)
        };
        let mean_delay = (self.delay_n > 0).then(|| self.delay_sum_ns as f64 / self.delay_n as f64 / 1e6);
        let ta = mean_delay.unwrap_or(0.0) + self.frame.as_secs_f64() * 1000.0 + extra_delay.as_secs_f64() * 1000.0;
        let imp = self.codec.and_then(|c| CodecImpairment::for_codec(c, concealment));
        let r = imp.map(|i| r_factor(i, loss_percent, burst_ratio, ta));
        LegQuality {
            packets: self.packets,
            expected,
            lost,
            loss_percent,
            burst_ratio,
            jitter_ms: self.jitter.ms(),
            max_jitter_ms: self.max_jitter_ms,
            concealed_ms: self.playout_reported.then(|| u64::try_from(self.concealed.as_millis()).unwrap_or(u64::MAX)),
            mean_playout_delay_ms: mean_delay,
            codec: self.codec.map(codec_name),
            r_factor: r,
            mos: r.map(mos_from_r),
        }
    }
}

/// SDP encoding name of a codec kind.
pub(crate) fn codec_name(c: CodecKind) -> String {
    match c {
        CodecKind::Pcmu => "PCMU",
        CodecKind::Pcma => "PCMA",
        CodecKind::Opus => "opus",
        CodecKind::G722 => "G722",
        CodecKind::ComfortNoise => "CN",
        CodecKind::TelephoneEvent => "telephone-event",
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::{ExtTimestamp, PayloadType, SeqNo, Ssrc};
    use crate::time::HostTime;
    use bytes::Bytes;

    fn pkt(seq: u64, ms: u64, epoch: u32) -> MediaPacket {
        MediaPacket {
            arrival: HostTime::from_millis(ms),
            ssrc: Ssrc(1),
            payload_type: PayloadType(0),
            marker: false,
            seq: SeqNo(seq),
            timestamp: ExtTimestamp(seq * 160),
            epoch: StreamEpoch(epoch),
            payload: Bytes::new(),
        }
    }

    #[test]
    fn loss_jitter_and_mos() {
        let mut q = QualityMeter::new();
        let a = Some((CodecKind::Pcmu, ClockRate::HZ_8000, Duration::from_millis(20)));
        // 100 packets, seq 10 and 50..=51 lost; steady 20 ms arrivals: jitter 0.
        for s in 0..100u64 {
            if s == 10 || s == 50 || s == 51 {
                continue;
            }
            q.on_packet(&pkt(s, s * 20, 0), a);
        }
        let r = q.report(Duration::ZERO, true);
        assert_eq!((r.packets, r.expected, r.lost), (97, 100, 3));
        assert!((r.loss_percent - 3.0).abs() < 1e-9);
        assert_eq!(r.jitter_ms, 0.0);
        // Two loss runs: p = 2/97, q = 2/3; BurstR = 1/(p+q) ≈ 1.455.
        assert!((r.burst_ratio - 1.0 / (2.0 / 97.0 + 2.0 / 3.0)).abs() < 1e-9);
        let want_r = 93.2 - (95.0 * 3.0 / (3.0 / r.burst_ratio + 25.1));
        assert!((r.r_factor.unwrap() - want_r).abs() < 1e-9);
        assert!(r.mos.unwrap() < 4.41 && r.mos.unwrap() > 3.5);
        assert_eq!(r.concealed_ms, None);
        assert_eq!(r.codec.as_deref(), Some("PCMU"));
    }

    #[test]
    fn epochs_add_up_and_playout_is_averaged() {
        let mut q = QualityMeter::new();
        for s in 0..10u64 {
            q.on_packet(&pkt(1000 + s, s * 20, 0), None);
        }
        for s in 0..10u64 {
            q.on_packet(&pkt(s * 2, 200 + s * 20, 1), None);
        }
        q.on_playout(Duration::from_millis(20), Duration::from_millis(20), Duration::from_millis(40));
        q.on_playout(Duration::from_millis(20), Duration::ZERO, Duration::from_millis(60));
        let r = q.report(Duration::ZERO, true);
        assert_eq!((r.expected, r.lost), (10 + 19, 9));
        assert_eq!(r.concealed_ms, Some(20));
        assert_eq!(r.mean_playout_delay_ms, Some(50.0));
        assert_eq!(r.r_factor, None);
    }
}
