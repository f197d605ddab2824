//! Replays one call of a capture through a `CallSession` in capture time, with a guard
//! listening and optionally whispering — what the monitoring station does, end to end.
//!
//! ```text
//! monitor_call CAPTURE --out-dir DIR [--call N] [--whisper WAV --at SECONDS --to a|b]
//! ```
//! Writes `DIR/recording.opus` (the call recording: channel 0 leg A, 1 leg B, 2 guard audio),
//! `DIR/tap.wav` (what the guard heard: the played-out mono mix), `DIR/leg-a-out.wav` and
//! `DIR/leg-b-out.wav` (what each party heard) and `DIR/events.jsonl` (one event per line).

use clap::Parser;
use jyqq_media::capture::read_capture;
use jyqq_media::codec::{CodecKind, CodecOptions, CodecRegistry, Decoder, Resampler};
use jyqq_media::mix::{Direction, Listen, ListenLayout, TapId, TapKind};
use jyqq_media::replay::capture_calls;
use jyqq_media::rtp::{PayloadFormat, PayloadMap, PayloadType, RtpPacket, Ssrc};
use jyqq_media::session::{CallSession, EndCause, LegConfig, Output, SessionConfig};
use jyqq_media::{HostTime, Leg, SampleRate};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Replay a captured call through a CallSession with a guard tap.
#[derive(Parser)]
#[command(name = "monitor_call", version)]
struct Args {
    /// pcap, pcapng or rtpproxy recording.
    capture: PathBuf,
    /// Folder for recording.opus, tap.wav, leg-a-out.wav, leg-b-out.wav, events.jsonl.
    #[arg(long)]
    out_dir: PathBuf,
    /// Call number (from 1, in order of first packet).
    #[arg(long, default_value_t = 1)]
    call: usize,
    /// A mono 16-bit WAV the guard whispers into the call.
    #[arg(long, requires = "at")]
    whisper: Option<PathBuf>,
    /// When the whisper starts, seconds after the call's first packet.
    #[arg(long)]
    at: Option<f64>,
    /// Which party hears the whisper.
    #[arg(long, default_value = "b", value_parser = ["a", "b"])]
    to: String,
}

/// The audio codec a leg mostly sends: its most frequent payload type with an audio codec.
fn main_format(datagrams: &[&jyqq_media::capture::Datagram], map: &PayloadMap) -> Option<PayloadFormat> {
    let mut counts = [0u32; 128];
    for d in datagrams {
        if let Ok(p) = RtpPacket::parse(&d.payload) {
            counts[usize::from(p.payload_type().0)] += 1;
        }
    }
    (0..128u8)
        .filter(|&pt| counts[usize::from(pt)] > 0)
        .filter_map(|pt| map.get(PayloadType(pt)).cloned())
        .filter(|f| {
            !matches!(
                CodecKind::from_encoding_name(&f.encoding_name),
                Some(CodecKind::ComfortNoise | CodecKind::TelephoneEvent) | None
            ) || f.encoding_name.eq_ignore_ascii_case("L16")
        })
        .max_by_key(|f| counts[usize::from(f.payload_type.0)])
}

fn write_wav(path: &Path, pcm: &[i16], rate: u32) -> Result<(), String> {
    let spec =
        hound::WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).map_err(|e| format!("{}: {e}", path.display()))?;
    for &s in pcm {
        w.write_sample(s).map_err(|e| e.to_string())?;
    }
    w.finalize().map_err(|e| e.to_string())
}

/// The whisper WAV as mono PCM at `rate`.
fn load_whisper(path: &Path, rate: SampleRate) -> Result<Vec<i16>, String> {
    let mut r = hound::WavReader::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let spec = r.spec();
    if spec.bits_per_sample != 16 || spec.sample_format != hound::SampleFormat::Int {
        return Err(format!("{}: need 16-bit PCM", path.display()));
    }
    let raw: Vec<i16> = r.samples::<i16>().collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    let ch = usize::from(spec.channels.max(1));
    let mono: Vec<i16> =
        raw.chunks(ch).map(|f| (f.iter().map(|&s| i32::from(s)).sum::<i32>() / ch as i32) as i16).collect();
    if spec.sample_rate == rate.hz() {
        return Ok(mono);
    }
    let mut rs = Resampler::new(SampleRate::new(spec.sample_rate), rate, 1).map_err(|e| e.to_string())?;
    let mut out = vec![0i16; rs.max_output_frames(mono.len()) + 8192];
    let n = rs.process(&mono, &mut out).map_err(|e| e.to_string())?;
    let m = rs.flush(&mut out[n..]).map_err(|e| e.to_string())?;
    out.truncate(n + m);
    Ok(out)
}

struct Outputs {
    recording: Vec<u8>,
    tap: Vec<i16>,
    heard: [Vec<i16>; 2],
    decoders: [Box<dyn Decoder>; 2],
    /// RTP clock rate of what each leg is sent, and the first outbound timestamp: packets
    /// are placed at their timestamps (forwarded packets keep upstream gaps), like an ideal
    /// receiver that waited for every packet.
    clocks: [u32; 2],
    first_ts: [Option<u32>; 2],
    events: Vec<String>,
}

impl Outputs {
    fn drain(&mut self, s: &mut CallSession, now: HostTime) {
        let mut buf = vec![0i16; 5760 * 2];
        while let Some(o) = s.poll_output(now) {
            match o {
                Output::Transmit { leg, packet } => {
                    if let Ok(p) = RtpPacket::parse(&packet) {
                        let dec = &mut self.decoders[leg.index()];
                        if let Ok(n) = dec.decode(p.payload(), &mut buf) {
                            let ch = usize::from(dec.channels().max(1));
                            let li = leg.index();
                            let first = *self.first_ts[li].get_or_insert(p.timestamp());
                            let ticks = u64::from(p.timestamp().wrapping_sub(first));
                            // Far past or behind (a wrapped step back): append instead.
                            let at = usize::try_from(
                                ticks * u64::from(dec.sample_rate().hz()) / u64::from(self.clocks[li].max(1)),
                            )
                            .ok()
                            .filter(|&at| at <= self.heard[li].len() + 48_000 * 60)
                            .unwrap_or(self.heard[li].len());
                            let heard = &mut self.heard[li];
                            if heard.len() < at + n {
                                heard.resize(at + n, 0);
                            }
                            for (d, s) in heard[at..at + n].iter_mut().zip(buf[..n * ch].iter().step_by(ch)) {
                                *d = *s;
                            }
                        }
                    }
                }
                Output::Tap { pcm, channels, .. } => self.tap.extend(pcm.iter().step_by(usize::from(channels.max(1)))),
                Output::Recording(page) => self.recording.extend_from_slice(&page.data),
                Output::Event(ev) => self.events.push(ev.to_json()),
                Output::Timeout(_) => break,
                _ => {}
            }
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let bytes = std::fs::read(&args.capture).map_err(|e| format!("{}: {e}", args.capture.display()))?;
    let capture = read_capture(&bytes).map_err(|e| format!("{}: {e}", args.capture.display()))?;
    let calls = capture_calls(&capture).map_err(|e| e.to_string())?;
    let found = calls.len();
    let call = calls
        .into_iter()
        .find(|c| c.number == args.call)
        .ok_or_else(|| format!("call {} not found: the capture has {found} call(s)", args.call))?;
    let send_a = main_format(&call.legs[0], &call.payloads[0]).ok_or("leg A carries no audio codec")?;
    let send_b = main_format(&call.legs[1], &call.payloads[1]).unwrap_or_else(|| send_a.clone());
    let mut legs = Vec::new();
    for (li, send) in [send_a, send_b].into_iter().enumerate() {
        let mut lc = LegConfig::new(send.clone(), Ssrc(0x4A59_0000 + li as u32));
        for f in call.payloads[li].iter() {
            let _ = lc.payloads.insert(f.clone());
        }
        lc.remote = call.legs[li].first().map(|d| d.src);
        legs.push(lc);
    }
    let leg_b = legs.pop().ok_or("internal: two legs")?;
    let leg_a = legs.pop().ok_or("internal: two legs")?;
    let registry = CodecRegistry::with_builtin();
    let decoder = |f: &PayloadFormat| registry.decoder(f, &CodecOptions::default()).map_err(|e| e.to_string());
    let decoders = [decoder(&leg_a.send)?, decoder(&leg_b.send)?];
    let clocks = [leg_a.send.clock_rate.hz(), leg_b.send.clock_rate.hz()];
    let mut cfg = SessionConfig::new(format!("{}#{}", args.capture.display(), call.number), leg_a, leg_b);
    cfg.record_guard_track = true;
    let rate = cfg.mixing_rate().map_err(|e| e.to_string())?;
    let ptime = cfg.ptime;
    let frame = rate.samples_in(ptime);
    let start = call.legs.iter().filter_map(|l| l.first()).map(|d| d.time).min().ok_or("no packets")?;
    let mut s = CallSession::new(cfg, start).map_err(|e| e.to_string())?;
    s.answer(start);
    let listen = Listen { layout: ListenLayout::Mono, direction: Direction::Both };
    s.add_tap(start, TapKind::Listen(listen)).map_err(|e| e.to_string())?;
    let whisper_to = if args.to == "a" { Leg::A } else { Leg::B };
    let whisper = match &args.whisper {
        Some(p) => Some(load_whisper(p, rate)?),
        None => None,
    };
    let whisper_at = start.saturating_add(Duration::from_secs_f64(args.at.unwrap_or(0.0).max(0.0)));
    let mut whisper_tap: Option<(TapId, usize)> = None;
    let mut out = Outputs {
        recording: Vec::new(),
        tap: Vec::new(),
        heard: [Vec::new(), Vec::new()],
        decoders,
        clocks,
        first_ts: [None, None],
        events: Vec::new(),
    };
    out.drain(&mut s, start);
    let mut next_tick = start;
    let mut all: Vec<(HostTime, Leg, &jyqq_media::capture::Datagram)> = Vec::new();
    for (li, leg) in [Leg::A, Leg::B].into_iter().enumerate() {
        all.extend(call.legs[li].iter().map(|d| (d.time, leg, *d)));
    }
    all.sort_by_key(|x| x.0);
    let end = all.last().map_or(start, |x| x.0).saturating_add(Duration::from_millis(500));
    let mut tick = |s: &mut CallSession, out: &mut Outputs, at: HostTime| -> Result<(), String> {
        if let Some(w) = &whisper {
            if whisper_tap.is_none() && at >= whisper_at {
                let t = s.add_tap(at, TapKind::Whisper { to: whisper_to, listen: None }).map_err(|e| e.to_string())?;
                whisper_tap = Some((t, 0));
            }
            if let Some((t, pos)) = whisper_tap.as_mut() {
                if *pos < w.len() {
                    let mut chunk = vec![0i16; frame];
                    let n = frame.min(w.len() - *pos);
                    chunk[..n].copy_from_slice(&w[*pos..*pos + n]);
                    *pos += n;
                    s.push_guard_audio(*t, &chunk).map_err(|e| e.to_string())?;
                }
            }
        }
        s.handle_timeout(at).map_err(|e| e.to_string())?;
        out.drain(s, at);
        Ok(())
    };
    for (t, leg, d) in all {
        while next_tick <= t {
            tick(&mut s, &mut out, next_tick)?;
            next_tick = next_tick.saturating_add(ptime);
        }
        s.handle_rtp(t, leg, d.src, &d.payload).map_err(|e| e.to_string())?;
        out.drain(&mut s, t);
    }
    while next_tick <= end {
        tick(&mut s, &mut out, next_tick)?;
        next_tick = next_tick.saturating_add(ptime);
    }
    s.disconnect(end, EndCause::HangupA, None).map_err(|e| e.to_string())?;
    out.drain(&mut s, end);

    std::fs::create_dir_all(&args.out_dir).map_err(|e| format!("{}: {e}", args.out_dir.display()))?;
    let p = |n: &str| args.out_dir.join(n);
    std::fs::write(p("recording.opus"), &out.recording).map_err(|e| e.to_string())?;
    write_wav(&p("tap.wav"), &out.tap, rate.hz())?;
    for (li, name) in ["leg-a-out.wav", "leg-b-out.wav"].into_iter().enumerate() {
        write_wav(&p(name), &out.heard[li], out.decoders[li].sample_rate().hz())?;
    }
    let mut ev = std::fs::File::create(p("events.jsonl")).map_err(|e| e.to_string())?;
    for line in &out.events {
        writeln!(ev, "{line}").map_err(|e| e.to_string())?;
    }
    let info = jyqq_media::record::read_ogg_opus(&out.recording).map_err(|e| e.to_string())?;
    println!(
        "call {}: {:.3} s recorded ({} channels), tap {:.3} s at {} Hz, {} events -> {}",
        call.number,
        info.duration().as_secs_f64(),
        info.head.channels,
        out.tap.len() as f64 / f64::from(rate.hz()),
        rate.hz(),
        out.events.len(),
        args.out_dir.display()
    );
    Ok(())
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
