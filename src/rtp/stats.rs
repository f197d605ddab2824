//! Receive statistics of one stream: RFC 3550 App. A.3 (expected, lost) and
//! §6.4.1 / App. A.8 (interarrival jitter), plus duplicate, reorder and
//! inter-arrival counts.

use super::{ExtTimestamp, SeqNo, Ssrc, StreamEpoch};
use crate::audio::ClockRate;
use crate::time::HostTime;
use std::time::Duration;

/// Interarrival jitter of RFC 3550 §6.4.1, computed as in App. A.8.
///
/// For packets i−1, i with arrival times R (converted to RTP ticks of the stream's
/// clock rate) and extended timestamps S:
/// `D = (R_i − R_{i−1}) − (S_i − S_{i−1})`, `J += (|D| − J) / 16`.
/// S is the *extended* timestamp, so the difference is signed: a reordered packet
/// gives a small |D|, never one near 2^32. Fed in arrival order, one call per
/// packet (not for duplicates). When the clock rate changes (payload-type switch)
/// the transit reference is re-taken without an update, since transit times on
/// different clocks are not comparable; the estimate itself is kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InterarrivalJitter {
    clock_rate: Option<ClockRate>,
    /// Transit time of the previous packet (arrival − timestamp), in RTP ticks.
    last_transit: Option<i128>,
    /// J in RTP ticks.
    jitter: f64,
}

impl InterarrivalJitter {
    /// An estimator with J = 0 and no previous packet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one packet: its `arrival` host time, extended `timestamp` (RTP ticks)
    /// and the `clock_rate` of its payload type.
    pub fn update(&mut self, arrival: HostTime, timestamp: ExtTimestamp, clock_rate: ClockRate) {
        // Arrival in RTP ticks, rounded down (A.8: "arrival time in RTP timestamp units").
        let arrival_ticks = i128::from(arrival.as_nanos()) * i128::from(clock_rate.hz()) / 1_000_000_000;
        let transit = arrival_ticks - i128::from(timestamp.0);
        if self.clock_rate == Some(clock_rate) {
            if let Some(last) = self.last_transit {
                // |D| fits f64 exactly up to 2^53 ticks; beyond that only rounding differs.
                let d = (transit - last).unsigned_abs() as f64;
                self.jitter += (d - self.jitter) / 16.0;
            }
        }
        self.clock_rate = Some(clock_rate);
        self.last_transit = Some(transit);
    }

    /// J in RTP ticks of the stream's clock rate.
    pub fn ticks(&self) -> f64 {
        self.jitter
    }

    /// J in milliseconds (0 before the first packet).
    pub fn ms(&self) -> f64 {
        self.clock_rate.map_or(0.0, |r| self.jitter * 1000.0 / f64::from(r.hz()))
    }

    /// J as the 32-bit "interarrival jitter" field of an RTCP report block (RFC 3550 §6.4.1),
    /// in RTP ticks, rounded down.
    pub fn report_value(&self) -> u32 {
        // Saturating float-to-int conversion is the intent.
        self.jitter as u32
    }

    /// The clock rate of the last packet fed, in ticks per second.
    pub fn clock_rate(&self) -> Option<ClockRate> {
        self.clock_rate
    }
}

/// Statistics of one stream: one SSRC within one [`StreamEpoch`].
///
/// `received` counts every packet the sequence validator accepted, duplicates
/// included, as RFC 3550 App. A.3 does; hence `lost() = expected() − received` can
/// go negative when duplicates arrive. Packets delivered downstream =
/// `received − duplicates − too_old`. Counters are public to read; the `record_*`
/// methods are how ingress updates them.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReceiveStats {
    /// The stream's SSRC.
    pub ssrc: Ssrc,
    /// The stream's numbering epoch.
    pub epoch: StreamEpoch,
    /// Packets received (A.3 `received`): delivered, duplicates and too-old packets.
    pub received: u64,
    /// Duplicates detected (dropped by ingress).
    pub duplicates: u64,
    /// Packets that arrived below the highest extended sequence number seen and were not duplicates.
    pub reordered: u64,
    /// Packets dropped for a bad sequence number (a jump of MAX_DROPOUT or more ahead
    /// or MAX_MISORDER or more behind, App. A.1).
    pub bad_sequence: u64,
    /// Valid late packets that could not be numbered (dropped).
    pub too_old: u64,
    /// Interarrival jitter estimate (RFC 3550 §6.4.1).
    pub jitter: InterarrivalJitter,
    /// Smallest gap between the arrivals of consecutive delivered packets.
    pub min_interarrival: Option<Duration>,
    /// Largest gap between the arrivals of consecutive delivered packets.
    pub max_interarrival: Option<Duration>,
    base: Option<SeqNo>,
    highest: Option<SeqNo>,
    last_arrival: Option<HostTime>,
    expected_prior: u64,
    received_prior: u64,
}

impl ReceiveStats {
    /// Empty statistics for `ssrc` in `epoch`.
    pub fn new(ssrc: Ssrc, epoch: StreamEpoch) -> Self {
        ReceiveStats {
            ssrc,
            epoch,
            received: 0,
            duplicates: 0,
            reordered: 0,
            bad_sequence: 0,
            too_old: 0,
            jitter: InterarrivalJitter::new(),
            min_interarrival: None,
            max_interarrival: None,
            base: None,
            highest: None,
            last_arrival: None,
            expected_prior: 0,
            received_prior: 0,
        }
    }

    /// Records a valid, non-duplicate packet: extended sequence number `seq`,
    /// extended `timestamp` (RTP ticks), `arrival`, the `clock_rate` of its
    /// payload type (`None` for an unmapped PT: jitter is then not updated), and
    /// whether it arrived below the highest sequence number seen (`reordered`).
    /// The first packet recorded sets the base (A.1 `base_seq`).
    pub fn record_packet(
        &mut self,
        seq: SeqNo,
        timestamp: ExtTimestamp,
        arrival: HostTime,
        clock_rate: Option<ClockRate>,
        reordered: bool,
    ) {
        self.received += 1;
        self.base.get_or_insert(seq);
        if self.highest.map_or(true, |h| seq > h) {
            self.highest = Some(seq);
        }
        if reordered {
            self.reordered += 1;
        }
        if let Some(rate) = clock_rate {
            self.jitter.update(arrival, timestamp, rate);
        }
        if let Some(last) = self.last_arrival {
            let gap = arrival.saturating_since(last);
            self.min_interarrival = Some(self.min_interarrival.map_or(gap, |m| m.min(gap)));
            self.max_interarrival = Some(self.max_interarrival.map_or(gap, |m| m.max(gap)));
        }
        self.last_arrival = Some(arrival);
    }

    /// Records a duplicate: counted in `received` (A.3) and in `duplicates`.
    pub fn record_duplicate(&mut self) {
        self.received += 1;
        self.duplicates += 1;
    }

    /// Records a packet dropped for a bad sequence number (A.1 large jump).
    pub fn record_bad_sequence(&mut self) {
        self.bad_sequence += 1;
    }

    /// Records a valid but unnumberable late packet (too far behind, or before cycle 0).
    /// A.1 counts it as received.
    pub fn record_too_old(&mut self) {
        self.received += 1;
        self.too_old += 1;
    }

    /// Packets expected: highest − base + 1 (A.3), 0 before the first packet.
    pub fn expected(&self) -> u64 {
        match (self.base, self.highest) {
            (Some(b), Some(h)) => h.0.saturating_sub(b.0) + 1,
            _ => 0,
        }
    }

    /// Cumulative packets lost: expected − received (A.3); negative with duplicates.
    pub fn lost(&self) -> i64 {
        let e = i128::from(self.expected());
        let r = i128::from(self.received);
        i64::try_from(e - r).unwrap_or(if e > r { i64::MAX } else { i64::MIN })
    }

    /// The A.3 "fraction lost" since the previous call, in 1/256 units (0 when
    /// fewer packets were expected than received), and starts a new interval;
    /// what an RTCP receiver report carries.
    pub fn take_fraction_lost(&mut self) -> u8 {
        let expected = self.expected();
        let expected_interval = expected.saturating_sub(self.expected_prior);
        let received_interval = self.received.saturating_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = i128::from(expected_interval) - i128::from(received_interval);
        if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            u8::try_from((lost_interval << 8) / i128::from(expected_interval)).unwrap_or(u8::MAX)
        }
    }

    /// First extended sequence number (A.1 `base_seq`).
    pub fn base_seq(&self) -> Option<SeqNo> {
        self.base
    }

    /// Highest extended sequence number (A.3 `extended_max`).
    pub fn highest_seq(&self) -> Option<SeqNo> {
        self.highest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> HostTime {
        HostTime::from_millis(n)
    }

    #[test]
    fn jitter_zero_for_paced_packets() {
        let mut j = InterarrivalJitter::new();
        for k in 0..50u64 {
            j.update(ms(1000 + 20 * k), ExtTimestamp(7_000 + 160 * k), ClockRate::HZ_8000);
        }
        assert_eq!(j.ticks(), 0.0);
        assert_eq!(j.ms(), 0.0);
    }

    #[test]
    fn jitter_follows_a8_recurrence() {
        // Arrivals 0, 20, 40 ms (0, 160, 320 ticks); timestamps 1000, 1320, 1160.
        // Transit -1000, -1160, -840: |D| = 160 then 320.
        let mut j = InterarrivalJitter::new();
        j.update(ms(0), ExtTimestamp(1000), ClockRate::HZ_8000);
        j.update(ms(20), ExtTimestamp(1320), ClockRate::HZ_8000);
        assert_eq!(j.ticks(), 10.0);
        j.update(ms(40), ExtTimestamp(1160), ClockRate::HZ_8000);
        assert_eq!(j.ticks(), 10.0 + (320.0 - 10.0) / 16.0);
        assert_eq!(j.ms(), 29.375 / 8.0);
        assert_eq!(j.report_value(), 29);
    }

    #[test]
    fn clock_change_retakes_reference() {
        let mut j = InterarrivalJitter::new();
        j.update(ms(0), ExtTimestamp(0), ClockRate::HZ_8000);
        j.update(ms(20), ExtTimestamp(160), ClockRate::HZ_8000);
        // Switch to a 48 kHz PT whose timestamps follow their own progression.
        j.update(ms(40), ExtTimestamp(9_999_999), ClockRate::HZ_48000);
        assert_eq!(j.ticks(), 0.0);
        j.update(ms(60), ExtTimestamp(9_999_999 + 960), ClockRate::HZ_48000);
        assert_eq!(j.ticks(), 0.0);
        assert_eq!(j.clock_rate(), Some(ClockRate::HZ_48000));
    }

    #[test]
    fn loss_expected_and_interarrival() {
        let mut s = ReceiveStats::new(Ssrc(1), StreamEpoch(0));
        assert_eq!((s.expected(), s.lost()), (0, 0));
        let r = Some(ClockRate::HZ_8000);
        s.record_packet(SeqNo(10), ExtTimestamp(0), ms(0), r, false);
        s.record_packet(SeqNo(11), ExtTimestamp(160), ms(20), r, false);
        s.record_packet(SeqNo(14), ExtTimestamp(640), ms(75), r, false);
        s.record_packet(SeqNo(13), ExtTimestamp(480), ms(80), r, true);
        assert_eq!((s.received, s.expected(), s.lost(), s.reordered), (4, 5, 1, 1));
        assert_eq!(s.take_fraction_lost(), 51); // (1 << 8) / 5
        s.record_duplicate();
        s.record_duplicate();
        assert_eq!((s.received, s.lost(), s.duplicates), (6, -1, 2));
        assert_eq!(s.take_fraction_lost(), 0);
        assert_eq!(s.min_interarrival, Some(Duration::from_millis(5)));
        assert_eq!(s.max_interarrival, Some(Duration::from_millis(55)));
        assert_eq!((s.base_seq(), s.highest_seq()), (Some(SeqNo(10)), Some(SeqNo(14))));
        s.record_bad_sequence();
        s.record_too_old();
        assert_eq!((s.bad_sequence, s.too_old, s.received), (1, 1, 7));
    }
}
