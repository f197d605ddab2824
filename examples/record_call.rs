//! The main job: record every call in a packet capture to a stereo Ogg Opus file.
//!
//! ```text
//! record_call [CAPTURE] [--out-dir DIR] [--call N]
//! ```
//! Reads a pcap, pcapng or rtpproxy recording, pairs RTP streams into calls by reversed
//! address/port (A→B with B→A), writes `DIR/call-N.opus` per call (channel 0 = leg A,
//! channel 1 = leg B; a one-leg call has a silent channel 1) and prints a per-stream summary.
//! The call analysis goes beside each recording as `DIR/call-N.json` (the CDR summary), and
//! per leg the talk time, DTMF digits received, alarms and MOS estimate are printed.
//! With no CAPTURE it records the embedded default call (`examples/data/default_call.pcap`).
//!
//! With `--sign-key SECRET_KEY` (an Ed25519 key file from `evidence keygen`) each recording
//! also gets its evidence files beside it: `DIR/call-N.pcap`, the legs' RTP datagrams as
//! received (the original codec bits), and `DIR/call-N.manifest.json`, the signed manifest
//! whose hash chain covers the recording's pages and the pcap's records. Check them with
//! `evidence verify DIR/call-N.opus --key PUBLIC_KEY`.

use clap::Parser;
use jyqq_media::capture::{find_rtp_streams, pair_calls, read_capture, Capture};
use jyqq_media::record::keys::{parse_secret_key, SigningKey};
use jyqq_media::record::manifest::{LegFacts, SignedManifest};
use jyqq_media::record::metadata::format_utc;
use jyqq_media::record::{read_ogg_opus, EvidenceLog, OggPage, PcapSidecar, RecordingMetadata};
use jyqq_media::replay::{record_capture, CallRecording, ReplayOptions};
use jyqq_media::{HostTime, Leg};
use std::path::Path;
use std::path::PathBuf;
use std::process::ExitCode;

const DEFAULT_CALL: &[u8] = include_bytes!("data/default_call.pcap");

/// Record the calls in a packet capture to stereo Ogg Opus files.
#[derive(Parser)]
#[command(name = "record_call", version)]
struct Args {
    /// pcap, pcapng or rtpproxy recording; the embedded default call when absent.
    capture: Option<PathBuf>,
    /// Folder for call-N.opus files (created if missing).
    #[arg(long, default_value = "recordings")]
    out_dir: PathBuf,
    /// Record only call N (numbered from 1 in order of first packet).
    #[arg(long)]
    call: Option<usize>,
    /// Record the complete packets of a truncated capture instead of failing.
    #[arg(long)]
    allow_truncated: bool,
    /// Ed25519 secret key file: also write DIR/call-N.manifest.json (signed) and DIR/call-N.pcap.
    #[arg(long)]
    sign_key: Option<PathBuf>,
}

/// Writes `DIR/call-N.pcap` (the legs' datagrams as received) and the signed
/// `DIR/call-N.manifest.json` for one recorded call.
fn write_evidence(
    dir: &Path,
    source: &str,
    capture: &Capture,
    call: &CallRecording,
    key: &SigningKey,
) -> Result<(), String> {
    let streams = find_rtp_streams(capture);
    let info = pair_calls(&streams)
        .into_iter()
        .nth(call.number - 1)
        .ok_or_else(|| format!("call {} not found again in the capture", call.number))?;
    let legs = [Some(&info.leg_a), info.leg_b.as_ref()];
    // The sidecar: every datagram of both legs in capture order, timestamps as captured.
    let mut idx: Vec<usize> = legs.iter().flatten().flat_map(|l| l.datagrams.iter().copied()).collect();
    idx.sort_unstable();
    let mut sidecar = PcapSidecar::new(HostTime::ZERO, 0);
    let mut pcap = sidecar.header().to_vec();
    for &i in &idx {
        let d = &capture.datagrams[i];
        match sidecar.record(d.time, d.src, d.dst, &d.payload) {
            Ok(rec) => pcap.extend_from_slice(rec),
            Err(e) => eprintln!("warning: call {}: datagram {} not kept in the sidecar: {e}", call.number, d.record),
        }
    }
    let pcap_name = format!("call-{}.pcap", call.number);
    std::fs::write(dir.join(&pcap_name), &pcap).map_err(|e| format!("{pcap_name}: {e}"))?;
    // The manifest: page hashes chained over the recording as written.
    let mut log = EvidenceLog::new();
    let mut rest = call.ogg.as_slice();
    while !rest.is_empty() {
        let (page, len) = OggPage::parse(rest).map_err(|e| format!("call {}: {e}", call.number))?;
        log.add_page_bytes(0, page.as_bytes()).map_err(|e| e.to_string())?;
        rest = &rest[len..];
    }
    let first = idx.first().map(|&i| capture.datagrams[i].time).unwrap_or(HostTime::ZERO);
    let last = idx.last().map(|&i| capture.datagrams[i].time).unwrap_or(HostTime::ZERO);
    let numbers = legs.map(|l| l.map_or_else(String::new, |l| l.src.to_string()));
    let meta = RecordingMetadata::new(
        &format!("{source}#{}", call.number),
        &numbers[0],
        &numbers[1],
        &format_utc(first.as_nanos()),
        "record",
    );
    let name = format!("call-{}.opus", call.number);
    let mut m = log.to_manifest(&meta, &format_utc(last.as_nanos()), &name, call.rate);
    m.legs = [Leg::A, Leg::B]
        .iter()
        .map(|&leg| {
            let li = leg.index();
            let mut f = LegFacts::from_stats(leg, &numbers[li], &call.timeline[li], call.rate);
            for s in &call.streams[li] {
                f.ssrcs.push(format!("0x{:08X}", s.ssrc.0));
                f.lost += s.lost;
                for (pt, name, _) in &s.payload_types {
                    let c = format!("{pt} {name}");
                    if !f.codecs.contains(&c) {
                        f.codecs.push(c);
                    }
                }
            }
            f
        })
        .collect();
    m.sidecar = Some(sidecar.facts(&pcap_name));
    let manifest_name = format!("call-{}.manifest.json", call.number);
    std::fs::write(dir.join(&manifest_name), SignedManifest::sign(&m, key))
        .map_err(|e| format!("{manifest_name}: {e}"))?;
    println!(
        "  evidence: {} ({} records), {} (chain {})",
        dir.join(&pcap_name).display(),
        sidecar.records(),
        dir.join(&manifest_name).display(),
        m.chain.final_hash
    );
    Ok(())
}

fn run(args: Args) -> Result<(), String> {
    let key = match &args.sign_key {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            Some(parse_secret_key(&text).map_err(|e| format!("{}: {e}", p.display()))?)
        }
        None => None,
    };
    let (name, bytes) = match &args.capture {
        Some(p) => (p.display().to_string(), std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?),
        None => ("embedded default call".to_string(), DEFAULT_CALL.to_vec()),
    };
    let capture = read_capture(&bytes).map_err(|e| format!("{name}: {e}"))?;
    if capture.truncated || capture.corrupt_at.is_some() {
        let what = if capture.truncated { "truncated" } else { "corrupt" };
        if !args.allow_truncated {
            return Err(format!(
                "{name}: capture is {what} after {} complete packet(s); pass --allow-truncated to record them",
                capture.datagrams.len()
            ));
        }
        eprintln!(
            "warning: {name}: capture is {what}; recording the {} complete packet(s) before it",
            capture.datagrams.len()
        );
    }
    let mut opts = ReplayOptions::default();
    opts.call = args.call;
    let calls = record_capture(&capture, &opts).map_err(|e| format!("{name}: {e}"))?;
    std::fs::create_dir_all(&args.out_dir).map_err(|e| format!("{}: {e}", args.out_dir.display()))?;
    println!("{name}: {} call(s)", calls.len());
    for call in &calls {
        let path = args.out_dir.join(format!("call-{}.opus", call.number));
        std::fs::write(&path, &call.ogg).map_err(|e| format!("{}: {e}", path.display()))?;
        let info = read_ogg_opus(&call.ogg)
            .map_err(|e| format!("{}: written file does not read back: {e}", path.display()))?;
        println!(
            "call {} -> {} ({:.3} s, {} Hz stereo Opus, {} bytes)",
            call.number,
            path.display(),
            info.duration().as_secs_f64(),
            call.rate.hz(),
            call.ogg.len()
        );
        println!(
            "  {:<3} {:<22} {:<22} {:<10} {:<14} {:>7} {:>5} {:>4} {:>5} {:>8} {:>10}",
            "leg",
            "source",
            "destination",
            "SSRC",
            "PT/codec",
            "packets",
            "lost",
            "dup",
            "reord",
            "dur(s)",
            "jitter(ms)"
        );
        for (li, streams) in call.streams.iter().enumerate() {
            let leg = if li == 0 { "A" } else { "B" };
            if streams.is_empty() {
                println!("  {leg:<3} (no stream: channel silent)");
            }
            for s in streams {
                let pts: Vec<String> = s.payload_types.iter().map(|(pt, n, c)| format!("{pt}/{n}x{c}")).collect();
                println!(
                    "  {leg:<3} {:<22} {:<22} 0x{:08X} {:<14} {:>7} {:>5} {:>4} {:>5} {:>8.3} {:>10.3}",
                    s.src.to_string(),
                    s.dst.to_string(),
                    s.ssrc.0,
                    pts.join(","),
                    s.packets,
                    s.lost,
                    s.duplicates,
                    s.reordered,
                    s.duration.as_secs_f64(),
                    s.jitter_ms
                );
            }
        }
        let Some(a) = &call.analysis else { continue };
        for l in &a.legs {
            let alarms: Vec<String> = l
                .alarms
                .iter()
                .filter(|r| r.raised)
                .map(|r| format!("{:?}@{:.1}s", r.alarm, r.at_ms as f64 / 1000.0))
                .collect();
            let mos = match (l.quality.mos, l.quality.r_factor) {
                (Some(m), Some(r)) => format!("{m:.2} (R {r:.1}, {})", l.quality.codec.as_deref().unwrap_or("?")),
                _ => "n/a".to_string(),
            };
            println!(
                "  leg {:?}: talk {:.2} s ({} talkspurts), digits: {}, alarms: {}, MOS {mos}",
                l.leg,
                l.talk_ms as f64 / 1000.0,
                l.talkspurts,
                if l.digits.is_empty() { "-" } else { &l.digits },
                if alarms.is_empty() { "none".to_string() } else { alarms.join(" ") },
            );
        }
        if !a.three_way_signals.is_empty() {
            let sig: Vec<String> = a
                .three_way_signals
                .iter()
                .map(|s| format!("{}@{:.1}s score {:.2}", s.kind, s.at_ms as f64 / 1000.0, s.score))
                .collect();
            println!("  three-way signals: {}", sig.join(", "));
        }
        let json_path = args.out_dir.join(format!("call-{}.json", call.number));
        std::fs::write(&json_path, a.to_json()).map_err(|e| format!("{}: {e}", json_path.display()))?;
        println!(
            "  double talk {:.2} s, connected {:.1} s, {} unit(s), {} yuan -> {}",
            a.double_talk_ms as f64 / 1000.0,
            a.connected_ms as f64 / 1000.0,
            a.bill.units,
            a.charge_yuan,
            json_path.display()
        );
        if let Some(key) = &key {
            write_evidence(&args.out_dir, &name, &capture, call, key)?;
        }
    }
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
