//! Legs on different codecs and rates stay in sync in the recording (issue 5 / case B22):
//! a G.711 leg and an Opus leg carry a shared click at the same instants; after 10 simulated
//! minutes with 5 % loss and arrival jitter on the Opus leg, the clicks line up in the
//! recording's two channels within 20 ms.

use jyqq_media::codec::{ulaw_encode, OpusEncoder, OpusEncoderConfig};
use jyqq_media::record::decode_ogg_opus;
use jyqq_media::rtp::{PayloadFormat, PayloadType, RtpHeader, Ssrc};
use jyqq_media::session::{CallSession, EndCause, LegConfig, Output, SessionConfig};
use jyqq_media::{ClockRate, HostTime, Leg, SampleRate};
use std::net::SocketAddr;

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
}

const MINUTES: u64 = 10;
/// Click instants (s of call time), each a 10 ms 1 kHz burst on both legs.
const CLICKS: [u64; 3] = [30, 300, 590];

fn sample_at(t_ns: u64) -> i16 {
    for c in CLICKS {
        let start = c * 1_000_000_000;
        if (start..start + 10_000_000).contains(&t_ns) {
            let ph = (t_ns - start) as f64 / 1e9 * 1000.0 * 2.0 * std::f64::consts::PI;
            return (20000.0 * ph.sin()) as i16;
        }
    }
    0
}

#[test]
fn g711_and_opus_legs_stay_aligned_for_ten_minutes() {
    let pcmu = PayloadFormat::new(PayloadType(0), "PCMU", ClockRate::HZ_8000, 1);
    let opus = PayloadFormat::new(PayloadType(111), "opus", ClockRate::HZ_48000, 2);
    let (a_addr, b_addr): (SocketAddr, SocketAddr) =
        ("192.0.2.1:4000".parse().unwrap(), "198.51.100.2:5000".parse().unwrap());
    let mut la = LegConfig::new(pcmu, Ssrc(1));
    la.remote = Some(a_addr);
    let mut lb = LegConfig::new(opus, Ssrc(2));
    lb.remote = Some(b_addr);
    let mut s = CallSession::new(SessionConfig::new("sync", la, lb), HostTime::ZERO).unwrap();
    s.answer(HostTime::ZERO);
    let mut enc = OpusEncoder::new(OpusEncoderConfig::new(SampleRate::HZ_48000, 1)).unwrap();
    let mut rng = Lcg(7);
    let mut ogg = Vec::new();
    let frames = MINUTES * 60 * 50;
    // Unrelated RTP bases on the two legs; leg B's first packet leaves 35 ms after leg A's.
    let (ts_a, ts_b) = (123_456u32, 4_000_000_000u32);
    let mut pending: Vec<(u64, Leg, Vec<u8>)> = Vec::new();
    let mut buf = [0u8; 1500];
    for k in 0..frames {
        let send_a = k * 20_000_000;
        let pcm_a: Vec<u8> = (0..160).map(|i| ulaw_encode(sample_at(send_a + i * 125_000))).collect();
        let mut pa = Vec::new();
        RtpHeader::new(PayloadType(0), k as u16, ts_a.wrapping_add(160 * k as u32), Ssrc(0xA))
            .write(&pcm_a, &mut pa)
            .unwrap();
        pending.push((send_a + 1_000_000, Leg::A, pa));
        let send_b = k * 20_000_000 + 35_000_000;
        // Leg B's audio at its send time refers to the same call instants (offset by 35 ms).
        let pcm_b: Vec<i16> = (0..960).map(|i| sample_at((send_b - 35_000_000) + i * 20_833)).collect();
        let n = enc.encode(&pcm_b, &mut buf).unwrap();
        let mut pb = Vec::new();
        RtpHeader::new(PayloadType(111), k as u16, ts_b.wrapping_add(960 * k as u32), Ssrc(0xB))
            .write(&buf[..n], &mut pb)
            .unwrap();
        // 5 % loss (never a click's packet) and 0–40 ms jitter on leg B.
        let near_click = CLICKS.iter().any(|&c| (send_b - 35_000_000) / 20_000_000 == c * 50);
        if near_click || rng.next() % 100 >= 5 {
            pending.push((send_b + u64::from(rng.next() % 40) * 1_000_000, Leg::B, pb));
        }
        // Deliver everything that has arrived by the next tick, in arrival order.
        let horizon = (k + 1) * 20_000_000;
        pending.sort_by_key(|p| p.0);
        let due: Vec<_> = pending.iter().take_while(|p| p.0 <= horizon).cloned().collect();
        pending.drain(..due.len());
        for (t, leg, p) in due {
            let from = if leg == Leg::A { a_addr } else { b_addr };
            s.handle_rtp(HostTime::from_nanos(t), leg, from, &p).unwrap();
        }
        s.handle_timeout(HostTime::from_nanos(horizon)).unwrap();
        while let Some(o) = s.poll_output(HostTime::from_nanos(horizon)) {
            match o {
                Output::Recording(p) => ogg.extend_from_slice(&p.data),
                Output::Timeout(_) => break,
                _ => {}
            }
        }
    }
    let end = HostTime::from_nanos(frames * 20_000_000 + 100_000_000);
    s.disconnect(end, EndCause::HangupA, None).unwrap();
    while let Some(o) = s.poll_output(end) {
        if let Output::Recording(p) = o {
            ogg.extend_from_slice(&p.data);
        }
    }
    let rec = decode_ogg_opus(&ogg).unwrap();
    let (a, b) = (rec.channel(0), rec.channel(1));
    let secs = rec.samples_per_channel() as f64 / 48_000.0;
    assert!((secs - (MINUTES * 60) as f64).abs() < 0.2, "recording {secs} s");
    for c in CLICKS {
        // Leg A's click sits at c s plus the 1 ms network delay; leg B's at c s + 35 ms + delay
        // on the call timeline: the recording keeps each where it arrived.
        let peak = |x: &[i16], around: f64| -> f64 {
            let lo = ((around - 0.5) * 48_000.0) as usize;
            let hi = ((around + 0.5) * 48_000.0) as usize;
            let (i, _) = x[lo..hi].iter().enumerate().max_by_key(|(_, v)| v.unsigned_abs()).unwrap();
            (lo + i) as f64 / 48_000.0
        };
        let (pa, pb) = (peak(&a, c as f64), peak(&b, c as f64 + 0.035));
        let skew = (pb - pa - 0.035).abs();
        assert!(skew <= 0.020, "click at {c} s: leg A {pa:.3} s, leg B {pb:.3} s (skew {skew:.3} s)");
    }
}
