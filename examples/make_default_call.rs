//! Builds the embedded default capture `examples/data/default_call.pcap`: a two-leg
//! G.711 µ-law call with real (espeak-ng) speech, packetised at 20 ms with seeded
//! arrival jitter, loss, one duplicate and one reordered pair.
//!
//! ```text
//! espeak-ng -v en-us -s 150 -w a.wav "…"; sox a.wav -r 8000 -c 1 -b 16 a8.wav   (leg A, inmate)
//! espeak-ng -v en-gb -p 70 -s 150 -w b.wav "…"; sox b.wav -r 8000 -c 1 -b 16 b8.wav  (leg B, family)
//! cargo run --example make_default_call -- a8.wav b8.wav examples/data/default_call.pcap
//! ```
//! The exact texts are in `examples/data/README.md`. Leg A starts its sequence numbers at
//! 65 000 (so they wrap), leg B its timestamps at 2^32 − 40 000 (so they wrap).

use etherparse::PacketBuilder;
use jyqq_media::codec::ulaw_encode;
use pcap_file::pcap::{PcapPacket, PcapWriter};
use std::time::Duration;

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    fn unit(&mut self) -> f64 {
        f64::from(self.next()) / f64::from(u32::MAX >> 1)
    }
}

fn read_wav(path: &str) -> Vec<i16> {
    let mut r = hound::WavReader::open(path).expect("open wav");
    assert_eq!(r.spec().sample_rate, 8000, "{path}: need 8 kHz mono");
    r.samples::<i16>().map(|s| s.expect("sample")).collect()
}

struct Leg {
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    ssrc: u32,
    seq: u16,
    ts: u32,
    audio: Vec<i16>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: make_default_call A8.wav B8.wav OUT.pcap");
        std::process::exit(2);
    }
    let a = read_wav(&args[1]);
    let b = read_wav(&args[2]);
    let ms = |x: u64| x as usize * 8;
    // Leg A speaks from 0.3 s; leg B answers 0.5 s after A ends; the call ends 0.5 s later.
    let a_start = ms(300);
    let b_start = a_start + a.len() + ms(500);
    let total = b_start + b.len() + ms(500);
    let frames = total / 160;
    let mut track_a = vec![0i16; frames * 160];
    track_a[a_start..a_start + a.len()].copy_from_slice(&a);
    let mut track_b = vec![0i16; frames * 160];
    track_b[b_start..b_start + b.len()].copy_from_slice(&b);
    let mut legs = [
        Leg {
            src: ([10, 0, 0, 1], 40000),
            dst: ([10, 0, 0, 2], 50000),
            ssrc: 0x1A2B_3C4D,
            seq: 65_000,
            ts: 1_000,
            audio: track_a,
        },
        Leg {
            src: ([10, 0, 0, 2], 50000),
            dst: ([10, 0, 0, 1], 40000),
            ssrc: 0x5E6F_7081,
            seq: 300,
            ts: u32::MAX - 40_000,
            audio: track_b,
        },
    ];
    let base = Duration::from_secs(1_767_225_600); // 2026-01-01T00:00:00Z
    let mut rng = Lcg(2026);
    let mut out: Vec<(Duration, Vec<u8>)> = Vec::new();
    for (li, leg) in legs.iter_mut().enumerate() {
        // Leg B's first packet leaves 40 ms after leg A's.
        let offset = Duration::from_millis(if li == 0 { 0 } else { 40 });
        for k in 0..frames {
            let mut pkt = Vec::with_capacity(172);
            pkt.extend_from_slice(&[0x80, if k == 0 { 0x80 } else { 0x00 }]);
            pkt.extend_from_slice(&leg.seq.wrapping_add(k as u16).to_be_bytes());
            pkt.extend_from_slice(&leg.ts.wrapping_add(160 * k as u32).to_be_bytes());
            pkt.extend_from_slice(&leg.ssrc.to_be_bytes());
            pkt.extend(leg.audio[k * 160..(k + 1) * 160].iter().map(|&s| ulaw_encode(s)));
            // Leg B loses about 1 % of its packets (never the first or last).
            if li == 1 && k > 0 && k + 1 < frames && rng.unit() < 0.01 {
                continue;
            }
            let jitter = Duration::from_micros(u64::from(rng.next() % 15_000));
            let mut t = base + offset + Duration::from_millis(20 * k as u64) + jitter;
            // Leg A: packet 200 is held back behind packet 201 (reordered).
            if li == 0 && k == 200 {
                t += Duration::from_millis(30);
            }
            let udp = PacketBuilder::ethernet2([2, 0, 0, 0, 0, li as u8 + 1], [2, 0, 0, 0, 0, 2 - li as u8])
                .ipv4(leg.src.0, leg.dst.0, 64)
                .udp(leg.src.1, leg.dst.1);
            let mut frame = Vec::with_capacity(udp.size(pkt.len()));
            udp.write(&mut frame, &pkt).expect("write to Vec");
            // Leg A: packet 300 arrives twice.
            if li == 0 && k == 300 {
                out.push((t + Duration::from_millis(5), frame.clone()));
            }
            out.push((t, frame));
        }
    }
    out.sort_by_key(|(t, _)| *t);
    let file = std::fs::File::create(&args[3]).expect("create output");
    let mut w = PcapWriter::new(file).expect("pcap header");
    for (t, data) in &out {
        w.write_packet(&PcapPacket::new(*t, data.len() as u32, data)).expect("write packet");
    }
    eprintln!("{}: {} packets, {} frames per leg, {:.2} s", args[3], out.len(), frames, frames as f64 * 0.02);
}
