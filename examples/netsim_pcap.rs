//! Encodes a speech WAV as RTP (G.711 µ-law PT 0 at 8 kHz, or Opus PT 111 at 16 kHz
//! with in-band FEC), impairs it with the seeded network simulator
//! (`jyqq_media::testing::netsim`, one of its named profiles) and writes the
//! arriving packets as a classic pcap (Ethernet/IPv4/UDP, microsecond timestamps =
//! arrival times) — the input of `examples/playout.rs` and of GStreamer's `pcapparse`.
//!
//! ```text
//! cargo run --release --example netsim_pcap -- --input speech8k.wav --codec pcmu \
//!     --profile loss10 --seed 1 --out /tmp/x.pcap --meta /tmp/x.json
//! ```
//! The metadata JSON holds the simulator's counts and the capture's time origin:
//! packet 0 was sent at pcap time `origin_s`; arrivals are `origin_s + one-way delay`.

use clap::Parser;
use etherparse::PacketBuilder;
use jyqq_media::codec::{ulaw_encode_slice, OpusEncoder, OpusEncoderConfig};
use jyqq_media::rtp::{PayloadType, RtpHeader, Ssrc};
use jyqq_media::testing::netsim::{profile, profiles, NetSim};
use jyqq_media::SampleRate;
use pcap_file::pcap::{PcapPacket, PcapWriter};
use std::time::Duration;

#[derive(Parser)]
struct Args {
    /// Mono 16-bit WAV: 8 kHz for pcmu, 16 kHz for opus.
    #[arg(long)]
    input: String,
    /// pcmu or opus.
    #[arg(long)]
    codec: String,
    /// Impairment profile name (clean, loss3, loss10, bursty5, jitter40, skew200).
    #[arg(long)]
    profile: String,
    /// Simulator seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output pcap.
    #[arg(long)]
    out: String,
    /// Output metadata JSON.
    #[arg(long)]
    meta: Option<String>,
}

/// Time origin of the written capture (2026-01-01T00:00:00Z), so pcap times look real.
const ORIGIN_S: u64 = 1_767_225_600;

fn main() {
    let args = Args::parse();
    let Some(imp) = profile(&args.profile) else {
        let names: Vec<_> = profiles().into_iter().map(|(n, _)| n).collect();
        eprintln!("unknown profile {:?}; known: {names:?}", args.profile);
        std::process::exit(2);
    };
    let mut reader = hound::WavReader::open(&args.input).expect("open input WAV");
    let spec = reader.spec();
    let pcm: Vec<i16> = reader.samples::<i16>().map(|s| s.expect("read sample")).collect();
    assert_eq!(spec.channels, 1, "mono input expected");

    // Payloads, 20 ms each.
    let (pt, ts_step, payloads): (u8, u32, Vec<Vec<u8>>) = match args.codec.as_str() {
        "pcmu" => {
            assert_eq!(spec.sample_rate, 8000, "pcmu needs 8 kHz input");
            let frames = pcm.chunks(160).map(|c| {
                let mut f = [0i16; 160];
                f[..c.len()].copy_from_slice(c);
                let mut out = vec![0u8; 160];
                ulaw_encode_slice(&f, &mut out).expect("160 codes fit");
                out
            });
            (0, 160, frames.collect())
        }
        "opus" => {
            let rate = SampleRate::new(spec.sample_rate);
            let mut cfg = OpusEncoderConfig::new(rate, 1);
            cfg.bitrate_bps = Some(32_000);
            cfg.inband_fec = true;
            cfg.packet_loss_perc = 10;
            let mut enc = OpusEncoder::new(cfg).expect("opus encoder");
            let n = enc.frame_samples();
            let mut buf = vec![0u8; 4000];
            let frames = pcm.chunks(n).map(|c| {
                let mut f = vec![0i16; n];
                f[..c.len()].copy_from_slice(c);
                let len = enc.encode(&f, &mut buf).expect("encode");
                buf[..len].to_vec()
            });
            (111, 960, frames.collect())
        }
        other => panic!("unknown codec {other} (pcmu or opus)"),
    };

    let mut sim = NetSim::new(imp, args.seed);
    let mut rtp = Vec::new();
    for (k, payload) in payloads.iter().enumerate() {
        rtp.clear();
        let seq = 40_000u16.wrapping_add(k as u16);
        let ts = 3_000_000_000u32.wrapping_add(ts_step.wrapping_mul(k as u32));
        RtpHeader::new(PayloadType(pt), seq, ts, Ssrc(0x4A59_5151))
            .with_marker(k == 0)
            .write(payload, &mut rtp)
            .expect("valid header");
        sim.send(Duration::from_millis(20 * k as u64), &rtp);
    }
    let (deliveries, stats) = sim.finish();

    let file = std::fs::File::create(&args.out).expect("create pcap");
    let mut writer = PcapWriter::new(file).expect("pcap header");
    for d in &deliveries {
        let builder = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([192, 0, 2, 10], [192, 0, 2, 20], 64)
            .udp(40_000, 50_000);
        let mut frame = Vec::with_capacity(builder.size(d.datagram.len()));
        builder.write(&mut frame, &d.datagram).expect("frame");
        let t = Duration::from_secs(ORIGIN_S) + Duration::from_nanos(d.arrival.as_nanos());
        // Classic pcap has microsecond resolution.
        let t = Duration::from_micros(t.as_micros() as u64);
        writer.write_packet(&PcapPacket::new(t, frame.len() as u32, &frame)).expect("write packet");
    }
    let meta = format!(
        "{{\"profile\":\"{}\",\"codec\":\"{}\",\"seed\":{},\"origin_s\":{},\"sent\":{},\"lost\":{},\"duplicated\":{},\"reordered\":{},\"min_delay_ms\":{:.3},\"first_arrival_ms\":{:.3},\"delivered\":{}}}",
        args.profile,
        args.codec,
        args.seed,
        ORIGIN_S,
        stats.sent,
        stats.lost,
        stats.duplicated,
        stats.reordered,
        stats.min_delay.as_secs_f64() * 1000.0,
        deliveries.first().map_or(0.0, |d| d.arrival.as_nanos() as f64 / 1e6),
        deliveries.len()
    );
    match &args.meta {
        Some(path) => std::fs::write(path, meta + "\n").expect("write meta"),
        None => println!("{meta}"),
    }
}
