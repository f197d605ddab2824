//! Plays the RTP stream of a capture out through the jitter buffer
//! ([`jyqq_media::jitter::AudioReceiver`]) on the capture's own clock, and writes
//! what a listener would hear as a WAV at the receiver's output rate.
//!
//! ```text
//! cargo run --release --example playout -- IN.pcap OUT.wav [--rate 16000] [--fixed-ms 60]
//! ```
//! Host time 0 is the first datagram's capture time; the first frame is pulled then,
//! and one frame every 20 ms after, until 1 s after the last datagram. So WAV sample
//! `i` is what plays at `i / rate` seconds after the first packet arrived. Payload
//! types: the RFC 3551 static ones (0 PCMU, 8 PCMA, 13 CN), 111 = opus/48000/2 and
//! 101 = telephone-event/8000 (override the Opus one with `--opus-pt`). Prints one
//! JSON line of receiver statistics (mean playout delay in ms, concealed ms, …);
//! with `PLAYOUT_TRACE` set in the environment, one line per frame on stderr (time,
//! frame kind, RTP timestamp, target delay, buffer level).

use clap::Parser;
use jyqq_media::capture::read_capture;
use jyqq_media::jitter::{AudioReceiver, FrameKind, PlayoutDelay, ReceiverConfig};
use jyqq_media::rtp::{Ingress, IngressConfig, PayloadFormat, PayloadMap, PayloadType};
use jyqq_media::{ClockRate, HostTime, SampleRate};
use std::time::Duration;

#[derive(Parser)]
struct Args {
    /// Input capture (pcap, pcapng or rtpproxy).
    input: String,
    /// Output WAV (mono, 16-bit).
    output: String,
    /// Output sampling rate: 8000, 16000, 24000 or 48000.
    #[arg(long, default_value_t = 16_000)]
    rate: u32,
    /// Fixed playout delay in ms instead of the adaptive one.
    #[arg(long)]
    fixed_ms: Option<u64>,
    /// Adaptive minimum delay in ms.
    #[arg(long, default_value_t = 20)]
    min_ms: u64,
    /// Adaptive maximum delay in ms.
    #[arg(long, default_value_t = 500)]
    max_ms: u64,
    /// Adaptive initial delay in ms (used until the estimator has data).
    #[arg(long, default_value_t = 40)]
    initial_ms: u64,
    /// Estimator quantile (0..1); default the receiver's.
    #[arg(long)]
    quantile: Option<f64>,
    /// Estimator forgetting factor per observation; default the receiver's.
    #[arg(long)]
    forget: Option<f64>,
    /// Estimator resampling interval in ms (0: every packet); default the receiver's.
    #[arg(long)]
    resample_ms: Option<u64>,
    /// Payload type of Opus.
    #[arg(long, default_value_t = 111)]
    opus_pt: u8,
}

fn main() {
    let args = Args::parse();
    let bytes = std::fs::read(&args.input).expect("read capture");
    let capture = read_capture(&bytes).expect("parse capture");
    let mut map = PayloadMap::static_defaults();
    map.insert(PayloadFormat::new(PayloadType(args.opus_pt), "opus", ClockRate::HZ_48000, 2)).expect("PT fits");
    map.insert(PayloadFormat::new(PayloadType(101), "telephone-event", ClockRate::HZ_8000, 1)).expect("PT fits");
    let mut ingress = Ingress::new(IngressConfig::new(map.clone()));
    let mut cfg = ReceiverConfig::new(map, SampleRate::new(args.rate));
    cfg.delay = match args.fixed_ms {
        Some(ms) => PlayoutDelay::Fixed(Duration::from_millis(ms)),
        None => PlayoutDelay::Adaptive {
            min: Duration::from_millis(args.min_ms),
            max: Duration::from_millis(args.max_ms),
            initial: Duration::from_millis(args.initial_ms.clamp(args.min_ms, args.max_ms)),
        },
    };
    if let Some(q) = args.quantile {
        cfg.tuning.quantile = q;
    }
    if let Some(f) = args.forget {
        cfg.tuning.forget = f;
    }
    if let Some(r) = args.resample_ms {
        cfg.tuning.resample = Duration::from_millis(r);
    }
    let mut rx = AudioReceiver::new(cfg).expect("receiver config");

    let mut datagrams = capture.datagrams;
    datagrams.sort_by_key(|d| d.time);
    let Some(first) = datagrams.first().map(|d| d.time) else {
        eprintln!("no datagrams in {}", args.input);
        std::process::exit(1);
    };
    let last = datagrams.last().map_or(first, |d| d.time);
    let end = HostTime(last.0 - first.0).saturating_add(Duration::from_secs(1));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: args.rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut wav = hound::WavWriter::create(&args.output, spec).expect("create WAV");
    let mut frame = vec![0i16; rx.frame_samples()];
    let mut next = datagrams.iter().peekable();
    let mut now = HostTime::ZERO;
    let mut kinds = [0u64; 6];
    while now <= end {
        while let Some(d) = next.next_if(|d| HostTime(d.time.0 - first.0) <= now) {
            if let Ok(p) = ingress.receive(HostTime(d.time.0 - first.0), d.src, &d.payload) {
                rx.insert(p);
            }
        }
        let info = rx.pull(now, &mut frame).expect("frame-sized buffer");
        if std::env::var_os("PLAYOUT_TRACE").is_some() {
            let st = rx.stats();
            eprintln!(
                "{} {:?} ts={:?} target={:?} level={:?}",
                now.as_nanos() / 1_000_000,
                info.kind,
                info.timestamp.map(|t| t.0),
                st.target_delay,
                st.buffer_level
            );
        }
        let k = match info.kind {
            FrameKind::Normal => 0,
            FrameKind::Concealed => 1,
            FrameKind::Expanded => 2,
            FrameKind::Accelerated => 3,
            FrameKind::ComfortNoise => 4,
            _ => 5,
        };
        kinds[k] += 1;
        for &s in &frame {
            wav.write_sample(s).expect("write sample");
        }
        now = now.saturating_add(Duration::from_millis(20));
    }
    wav.finalize().expect("finish WAV");
    let s = rx.stats();
    let t = s.total;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{{\"mean_delay_ms\":{:.2},\"target_delay_ms\":{:.2},\"received\":{},\"lost\":{},\"late\":{},\"duplicates\":{},\"discarded\":{},\"reordered\":{},\"fec_recovered\":{},\"concealed_ms\":{:.1},\"accelerated_ms\":{:.1},\"expanded_ms\":{:.1},\"comfort_noise_ms\":{:.1},\"jitter_ms\":{:.2},\"frames\":{{\"normal\":{},\"concealed\":{},\"expanded\":{},\"accelerated\":{},\"comfort_noise\":{},\"silence\":{}}}}}",
        ms(t.mean_delay),
        ms(s.target_delay),
        t.received,
        t.lost,
        t.late,
        t.duplicates,
        t.discarded,
        t.reordered,
        t.fec_recovered,
        ms(t.concealed),
        ms(t.accelerated),
        ms(t.expanded),
        ms(t.comfort_noise),
        ms(t.interarrival_jitter),
        kinds[0],
        kinds[1],
        kinds[2],
        kinds[3],
        kinds[4],
        kinds[5]
    );
}
