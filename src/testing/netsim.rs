//! A seeded, sans-IO network simulator: RTP datagrams in (with the sender's send
//! times), impaired datagrams out with their arrival [`HostTime`]s. No clock, no
//! sockets: tests run on the simulated clock, faster than real time, and the same
//! seed always gives the same impairments.
//!
//! Per packet, in order: clock skew maps the sender's time to ours; an SSRC change
//! may rewrite the header from a given packet on; loss decides (independent, or a
//! Gilbert–Elliott two-state chain); the delay is the base delay plus jitter plus an
//! ongoing delay spike plus, with the reorder probability, an extra hold-back of
//! 1–3 packet intervals; with the duplication probability a second copy follows
//! 0–30 ms later. Arrivals are then sorted (stably) by time, so packets overtake
//! one another whenever their delays differ by more than their spacing.
//!
//! [`profiles`] names the six impairment profiles of the quality bench.

use crate::time::HostTime;
use std::time::Duration;

/// How packets are lost.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum LossModel {
    /// No loss.
    None,
    /// Each packet lost independently with probability `p` (0..=1).
    Random {
        /// Loss probability.
        p: f64,
    },
    /// Gilbert–Elliott: a good and a bad state with their own loss probabilities;
    /// per packet the chain moves good→bad with `p_gb` and bad→good with `p_bg`.
    /// Mean loss `= (p_bg·loss_good + p_gb·loss_bad)/(p_gb + p_bg)`; mean burst
    /// length in the bad state `1/p_bg` packets.
    GilbertElliott {
        /// Probability of moving from the good to the bad state.
        p_gb: f64,
        /// Probability of moving from the bad to the good state.
        p_bg: f64,
        /// Loss probability in the good state.
        loss_good: f64,
        /// Loss probability in the bad state.
        loss_bad: f64,
    },
}

/// Per-packet delay variation added to the base delay.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Jitter {
    /// None.
    None,
    /// Uniform in `[0, max]` (netem's `delay D J`: uniform in `D ± J`).
    Uniform {
        /// Largest extra delay.
        max: Duration,
    },
    /// Exponential with mean `mean`, cut at `cap`.
    Exponential {
        /// Mean extra delay.
        mean: Duration,
        /// Largest extra delay.
        cap: Duration,
    },
}

/// Delay spikes: a route change or a radio retransmission holds packets back, then
/// releases them together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spikes {
    /// Probability per packet that a spike starts (when none is in progress).
    pub probability: f64,
    /// Extra delay of the first packet of a spike.
    pub height: Duration,
    /// How much the extra delay falls from one packet to the next (packets bunch up
    /// when this equals the packet spacing).
    pub decay_per_packet: Duration,
}

/// An SSRC change on the path (a transfer behind a B2BUA): from packet `at_packet`
/// on, SSRC, sequence numbers and timestamps continue from new random bases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SsrcChange {
    /// Index (0-based, in send order) of the first packet of the new source.
    pub at_packet: usize,
}

/// What the simulated path does to the packets.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Impairments {
    /// Loss.
    pub loss: LossModel,
    /// Smallest one-way delay.
    pub base_delay: Duration,
    /// Delay variation.
    pub jitter: Jitter,
    /// Delay spikes, if any.
    pub spikes: Option<Spikes>,
    /// Probability that a packet is held back an extra 1–3 packet intervals.
    pub reorder: f64,
    /// Probability that a packet is delivered twice.
    pub duplicate: f64,
    /// Sender clock error in parts per million: positive means the sender's clock runs
    /// fast, so its packets come more often than their timestamps say. NaN counts as 0;
    /// −1 000 000 or less (a stopped or backwards clock) sends everything at the end of time
    /// or at once. Every time computed saturates at the ends of [`Duration`].
    pub clock_skew_ppm: f64,
    /// SSRC change, if any.
    pub ssrc_change: Option<SsrcChange>,
    /// Packet interval the reorder hold-back is counted in. Default 20 ms.
    pub packet_interval: Duration,
}

impl Impairments {
    /// A perfect path with `base_delay`.
    pub fn clean(base_delay: Duration) -> Self {
        Impairments {
            loss: LossModel::None,
            base_delay,
            jitter: Jitter::None,
            spikes: None,
            reorder: 0.0,
            duplicate: 0.0,
            clock_skew_ppm: 0.0,
            ssrc_change: None,
            packet_interval: Duration::from_millis(20),
        }
    }

    /// This path with loss model `loss`.
    pub fn with_loss(mut self, loss: LossModel) -> Self {
        self.loss = loss;
        self
    }

    /// This path with jitter `jitter`.
    pub fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// This path with delay spikes.
    pub fn with_spikes(mut self, spikes: Spikes) -> Self {
        self.spikes = Some(spikes);
        self
    }

    /// This path with reorder and duplicate probabilities.
    pub fn with_reorder_duplicate(mut self, reorder: f64, duplicate: f64) -> Self {
        self.reorder = reorder;
        self.duplicate = duplicate;
        self
    }

    /// This path with the sender's clock off by `ppm`.
    pub fn with_skew_ppm(mut self, ppm: f64) -> Self {
        self.clock_skew_ppm = ppm;
        self
    }

    /// This path with an SSRC change at packet `at_packet`.
    pub fn with_ssrc_change(mut self, at_packet: usize) -> Self {
        self.ssrc_change = Some(SsrcChange { at_packet });
        self
    }
}

/// The six impairment profiles of the quality bench (name, path), all with a 30 ms
/// base delay:
/// - `clean`: no impairment;
/// - `loss3`, `loss10`: 3 % and 10 % independent loss;
/// - `bursty5`: 5 % Gilbert–Elliott loss in bursts of 3 packets on average
///   (`p_gb` = 0.0175, `p_bg` = 1/3, all lost in the bad state);
/// - `jitter40`: 40 ms jitter as netem's `delay 70ms 40ms` (uniform extra delay
///   0–80 ms, so packets reorder) plus spikes as a mobile path shows them (a handover
///   or radio retransmission): with probability 0.2 % per packet (one every 10 s on
///   average) a 300 ms hold-back that drains at 20 ms per packet, releasing the held
///   packets together;
/// - `skew200`: the sender's clock 200 ppm fast, and 3 % independent loss.
pub fn profiles() -> Vec<(&'static str, Impairments)> {
    let base = Impairments::clean(Duration::from_millis(30));
    vec![
        ("clean", base.clone()),
        ("loss3", base.clone().with_loss(LossModel::Random { p: 0.03 })),
        ("loss10", base.clone().with_loss(LossModel::Random { p: 0.10 })),
        (
            "bursty5",
            base.clone().with_loss(LossModel::GilbertElliott {
                p_gb: 0.0175,
                p_bg: 1.0 / 3.0,
                loss_good: 0.0,
                loss_bad: 1.0,
            }),
        ),
        (
            "jitter40",
            base.clone().with_jitter(Jitter::Uniform { max: Duration::from_millis(80) }).with_spikes(Spikes {
                probability: 0.002,
                height: Duration::from_millis(300),
                decay_per_packet: Duration::from_millis(20),
            }),
        ),
        ("skew200", base.with_skew_ppm(200.0).with_loss(LossModel::Random { p: 0.03 })),
    ]
}

/// The profile called `name` (see [`profiles`]).
pub fn profile(name: &str) -> Option<Impairments> {
    profiles().into_iter().find(|(n, _)| *n == name).map(|(_, p)| p)
}

/// One datagram as it arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Arrival time on the receiver's clock (the sender's time 0 is our time 0).
    pub arrival: HostTime,
    /// The datagram (the header rewritten after an SSRC change).
    pub datagram: Vec<u8>,
    /// Index of the packet in send order.
    pub index: usize,
    /// Whether this is the second copy of a duplicated packet.
    pub duplicate: bool,
}

/// What the simulator did, in packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct NetSimStats {
    /// Packets sent into the path.
    pub sent: u64,
    /// Packets lost on the path.
    pub lost: u64,
    /// Extra copies delivered.
    pub duplicated: u64,
    /// Packets delivered after a packet sent later than them.
    pub reordered: u64,
    /// Smallest one-way delay of any delivered packet.
    pub min_delay: Duration,
}

/// SplitMix64: a small, seedable, well-mixed generator.
#[derive(Debug, Clone)]
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `d × f`, saturating: zero for NaN or `f ≤ 0`, [`Duration::MAX`] when the product does
/// not fit (`Duration::mul_f64` panics in both cases).
fn scale(d: Duration, f: f64) -> Duration {
    if f.is_nan() || f <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(d.as_secs_f64() * f).unwrap_or(Duration::MAX)
}

/// The simulator. Feed packets in send order with [`send`](Self::send), then take
/// the deliveries with [`finish`](Self::finish) (sorted by arrival).
#[derive(Debug, Clone)]
pub struct NetSim {
    imp: Impairments,
    rng: SplitMix,
    bad_state: bool,
    spike: Duration,
    index: usize,
    /// (SSRC, sequence offset, timestamp offset) applied after the SSRC change.
    rewrite: Option<(u32, u16, u32)>,
    out: Vec<Delivery>,
    stats: NetSimStats,
}

impl NetSim {
    /// A simulator for `impairments`, seeded with `seed`.
    pub fn new(impairments: Impairments, seed: u64) -> Self {
        NetSim {
            imp: impairments,
            rng: SplitMix(seed),
            bad_state: false,
            spike: Duration::ZERO,
            index: 0,
            rewrite: None,
            out: Vec::new(),
            stats: NetSimStats { min_delay: Duration::MAX, ..NetSimStats::default() },
        }
    }

    fn lost(&mut self) -> bool {
        match self.imp.loss {
            LossModel::None => false,
            LossModel::Random { p } => self.rng.unit() < p,
            LossModel::GilbertElliott { p_gb, p_bg, loss_good, loss_bad } => {
                let flip = self.rng.unit();
                self.bad_state = if self.bad_state { flip >= p_bg } else { flip < p_gb };
                let p = if self.bad_state { loss_bad } else { loss_good };
                self.rng.unit() < p
            }
        }
    }

    fn delay(&mut self) -> Duration {
        let jitter = match self.imp.jitter {
            Jitter::None => Duration::ZERO,
            Jitter::Uniform { max } => scale(max, self.rng.unit()),
            Jitter::Exponential { mean, cap } => {
                let u = self.rng.unit();
                scale(mean, -(1.0 - u).ln()).min(cap)
            }
        };
        if let Some(s) = self.imp.spikes {
            self.spike = self.spike.saturating_sub(s.decay_per_packet);
            if self.spike.is_zero() && self.rng.unit() < s.probability {
                self.spike = s.height;
            }
        }
        let mut d = self.imp.base_delay.saturating_add(jitter).saturating_add(self.spike);
        if self.imp.reorder > 0.0 && self.rng.unit() < self.imp.reorder {
            let k = 1 + (self.rng.next_u64() % 3) as u32;
            d = d.saturating_add(self.imp.packet_interval.saturating_mul(k));
        }
        d
    }

    /// Rewrites SSRC, sequence number and timestamp after the SSRC change.
    fn rewrite(&mut self, datagram: &mut [u8]) {
        let Some(change) = self.imp.ssrc_change else { return };
        if self.index < change.at_packet || datagram.len() < 12 {
            return;
        }
        if self.rewrite.is_none() {
            let r = self.rng.next_u64();
            self.rewrite = Some(((r >> 32) as u32 | 1, (r >> 16) as u16, r as u32 & 0xFFFF_0000));
        }
        if let Some((ssrc, dseq, dts)) = self.rewrite {
            let seq = u16::from_be_bytes([datagram[2], datagram[3]]).wrapping_add(dseq);
            let ts = u32::from_be_bytes([datagram[4], datagram[5], datagram[6], datagram[7]]).wrapping_add(dts);
            datagram[2..4].copy_from_slice(&seq.to_be_bytes());
            datagram[4..8].copy_from_slice(&ts.to_be_bytes());
            datagram[8..12].copy_from_slice(&ssrc.to_be_bytes());
        }
    }

    /// Sends one datagram at `sent_at` on the sender's clock (time since its first packet).
    pub fn send(&mut self, sent_at: Duration, datagram: &[u8]) {
        let index = self.index;
        self.stats.sent += 1;
        let mut data = datagram.to_vec();
        self.rewrite(&mut data);
        self.index += 1;
        // Sender clock fast by ppm: its time runs ahead of ours.
        let ppm = if self.imp.clock_skew_ppm.is_nan() { 0.0 } else { self.imp.clock_skew_ppm };
        let real = scale(sent_at, 1.0 / (1.0 + ppm * 1e-6));
        let delay = self.delay();
        if self.lost() {
            self.stats.lost += 1;
            return;
        }
        self.stats.min_delay = self.stats.min_delay.min(delay);
        let arrival = HostTime::ZERO.saturating_add(real.saturating_add(delay));
        if self.imp.duplicate > 0.0 && self.rng.unit() < self.imp.duplicate {
            let extra = scale(Duration::from_millis(30), self.rng.unit());
            self.stats.duplicated += 1;
            self.out.push(Delivery {
                arrival: arrival.saturating_add(extra),
                datagram: data.clone(),
                index,
                duplicate: true,
            });
        }
        self.out.push(Delivery { arrival, datagram: data, index, duplicate: false });
    }

    /// Counters so far.
    pub fn stats(&self) -> NetSimStats {
        self.stats
    }

    /// All deliveries sorted by arrival time (stable for equal times), with the
    /// reorder count filled in.
    pub fn finish(mut self) -> (Vec<Delivery>, NetSimStats) {
        self.out.sort_by_key(|d| d.arrival);
        let mut highest: Option<usize> = None;
        for d in &self.out {
            if d.duplicate {
                continue;
            }
            if highest.is_some_and(|h| d.index < h) {
                self.stats.reordered += 1;
            }
            highest = Some(highest.map_or(d.index, |h| h.max(d.index)));
        }
        if self.stats.min_delay == Duration::MAX {
            self.stats.min_delay = Duration::ZERO;
        }
        (self.out, self.stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rtp(seq: u16, ts: u32) -> Vec<u8> {
        let mut v = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0xAA];
        v[2..4].copy_from_slice(&seq.to_be_bytes());
        v[4..8].copy_from_slice(&ts.to_be_bytes());
        v
    }

    fn run(imp: Impairments, n: usize, seed: u64) -> (Vec<Delivery>, NetSimStats) {
        let mut sim = NetSim::new(imp, seed);
        for k in 0..n {
            sim.send(Duration::from_millis(20 * k as u64), &rtp(k as u16, 160 * k as u32));
        }
        sim.finish()
    }

    #[test]
    fn loss_rates_match_the_models() {
        let (d, s) = run(Impairments::clean(Duration::ZERO).with_loss(LossModel::Random { p: 0.1 }), 20_000, 1);
        assert_eq!(d.len() as u64 + s.lost, 20_000);
        assert!((1850..=2150).contains(&s.lost), "{}", s.lost);
        let ge = LossModel::GilbertElliott { p_gb: 0.0175, p_bg: 1.0 / 3.0, loss_good: 0.0, loss_bad: 1.0 };
        let (d, s) = run(Impairments::clean(Duration::ZERO).with_loss(ge), 20_000, 2);
        assert!((850..=1150).contains(&s.lost), "{}", s.lost);
        // Bursts: count runs of consecutive missing indices.
        let got: Vec<usize> = d.iter().map(|x| x.index).collect();
        let runs = got.windows(2).filter(|w| w[1] > w[0] + 1).count() as f64;
        let mean_burst = s.lost as f64 / runs;
        assert!(mean_burst > 2.5 && mean_burst < 3.6, "{mean_burst}");
    }

    #[test]
    fn jitter_reorders_and_spikes_bunch() {
        let p = profile("jitter40").expect("named profile");
        let (d, s) = run(p, 5000, 3);
        assert_eq!(s.lost, 0);
        assert!(s.reordered > 500, "{}", s.reordered);
        let delays: Vec<Duration> =
            d.iter().map(|x| x.arrival.saturating_since(HostTime::from_millis(20 * x.index as u64))).collect();
        assert!(delays.iter().all(|&x| x >= Duration::from_millis(30) && x <= Duration::from_millis(410)));
        assert!(delays.iter().any(|&x| x > Duration::from_millis(330)), "spikes reach 30 + 300 + jitter");
        // Same seed, same result; another seed differs.
        assert_eq!(run(profile("jitter40").expect("named"), 5000, 3).0, d);
        assert_ne!(run(profile("jitter40").expect("named"), 5000, 4).0, d);
    }

    #[test]
    fn skew_duplicates_and_ssrc_change() {
        let imp = Impairments::clean(Duration::from_millis(10))
            .with_skew_ppm(200.0)
            .with_reorder_duplicate(0.0, 0.05)
            .with_ssrc_change(100);
        let (d, s) = run(imp, 5000, 5);
        assert!((200..=300).contains(&s.duplicated), "{}", s.duplicated);
        // 5000 packets span 99.98 s of sender time: 200 ppm fast arrives 20 ms early.
        let last = d.iter().filter(|x| x.index == 4999 && !x.duplicate).map(|x| x.arrival).next().expect("delivered");
        let expect = Duration::from_secs_f64(99.98 / 1.0002 + 0.010);
        assert!(last.saturating_since(HostTime::ZERO).abs_diff(expect) < Duration::from_micros(10), "{last:?}");
        let first_new = d.iter().find(|x| x.index == 100).expect("delivered");
        let old = d.iter().find(|x| x.index == 99).expect("delivered");
        assert_ne!(first_new.datagram[8..12], old.datagram[8..12], "SSRC changed");
        let seq = |x: &Delivery| u16::from_be_bytes([x.datagram[2], x.datagram[3]]);
        let next = d.iter().find(|x| x.index == 101).expect("delivered");
        assert_eq!(seq(next), seq(first_new).wrapping_add(1), "new numbering continues by one");
    }
}
