//! The call_relay example with real peers on loopback: ffmpeg sends G.711 µ-law speech to
//! leg A, ffmpeg receives leg B (transcoded to A-law) from an SDP file, the test itself is
//! the guard station receiving the listen tap, and tshark (when installed) captures
//! loopback to check where the relay's packets went.
//!
//! Asserts: leg B's audio and the tap's audio correlate with the speech sent (normalised
//! cross-correlation > 0.7 after alignment), the recording spans the call and its channel 0
//! holds the speech, the tap runs at 50 packets/s, and the relay sends nothing anywhere but
//! the three configured loopback addresses.
//!
//! sipp (Debian `sip-tester`) is not used: its RTP playback (`play_pcap_audio`) needs a SIP
//! dialog to learn the media address, which the relay has no part in.

mod common;

use jyqq_media::codec::ulaw_decode;
use jyqq_media::record::read_ogg_opus;
use jyqq_media::rtp::RtpPacket;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Seconds of speech ffmpeg sends, and the relay's run.
const SPEECH_S: u32 = 4;
const RELAY_S: u32 = 7;

/// A free even UDP port whose odd neighbour is free too (RTP + RTCP), found by binding.
fn free_port_pair() -> u16 {
    loop {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let p = s.local_addr().unwrap().port();
        if p % 2 == 0 && p < 65534 && UdpSocket::bind(("127.0.0.1", p + 1)).is_ok() {
            return p;
        }
    }
}

fn read_wav(path: &Path) -> Vec<i16> {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = r.spec();
    assert_eq!((spec.sample_rate, spec.channels, spec.bits_per_sample), (8000, 1, 16), "{}", path.display());
    r.samples::<i16>().map(|s| s.unwrap()).collect()
}

/// Normalised cross-correlation of `reference` with `x` at `lag` (x delayed by `lag`).
fn ncc_at(reference: &[f64], x: &[f64], lag: usize) -> f64 {
    let n = reference.len().min(x.len().saturating_sub(lag));
    let (mut xy, mut xx, mut yy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (a, b) = (reference[i], x[lag + i]);
        xy += a * b;
        xx += a * a;
        yy += b * b;
    }
    if xx == 0.0 || yy == 0.0 {
        0.0
    } else {
        xy / (xx * yy).sqrt()
    }
}

/// The best normalised cross-correlation of `reference` within `x` and its lag in samples:
/// a coarse search on 8× decimated signals, refined at full rate around the best lag.
fn best_ncc(reference: &[i16], x: &[i16]) -> (f64, usize) {
    let dec = |v: &[i16]| -> Vec<f64> { v.chunks(8).map(|c| c.iter().map(|&s| f64::from(s)).sum::<f64>()).collect() };
    let (rd, xd) = (dec(reference), dec(x));
    let coarse = (0..xd.len().saturating_sub(rd.len() / 2))
        .map(|lag| (ncc_at(&rd, &xd, lag), lag))
        .fold((f64::MIN, 0), |b, c| if c.0 > b.0 { c } else { b });
    let (rf, xf): (Vec<f64>, Vec<f64>) =
        (reference.iter().map(|&s| f64::from(s)).collect(), x.iter().map(|&s| f64::from(s)).collect());
    let centre = coarse.1 * 8;
    (centre.saturating_sub(16)..=centre + 16).map(|lag| (ncc_at(&rf, &xf, lag), lag)).fold((f64::MIN, 0), |b, c| {
        if c.0 > b.0 {
            c
        } else {
            b
        }
    })
}

/// Median over 1 s windows of the reference of each window's best NCC within ±200 ms of
/// `lag`: what a listener hears when the adaptive jitter buffer time-stretches the playout
/// (a single global lag then no longer fits the whole signal).
fn windowed_ncc(reference: &[i16], x: &[i16], lag: usize) -> f64 {
    let (rf, xf): (Vec<f64>, Vec<f64>) =
        (reference.iter().map(|&s| f64::from(s)).collect(), x.iter().map(|&s| f64::from(s)).collect());
    let mut scores: Vec<f64> = rf
        .chunks_exact(8000)
        .enumerate()
        .filter(|(_, w)| w.iter().map(|v| v * v).sum::<f64>() / 8000.0 > 100.0 * 100.0)
        .map(|(i, w)| {
            let base = lag + i * 8000;
            (base.saturating_sub(1600)..=base + 1600)
                .filter(|&l| l + w.len() <= xf.len())
                .map(|l| ncc_at(w, &xf[..], l))
                .fold(f64::MIN, f64::max)
        })
        .collect();
    scores.sort_by(|a, b| a.total_cmp(b));
    scores.get(scores.len() / 2).copied().unwrap_or(0.0)
}

fn wait_or_kill(child: &mut Child, within: Duration, what: &str) {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("{what} still running after {within:?}: stopping it");
    // SIGINT lets ffmpeg and tshark finish their files.
    let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    let end = Instant::now() + Duration::from_secs(3);
    while Instant::now() < end {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A loopback capture of UDP, started and confirmed running (tshark prints "Capturing on").
fn start_capture(path: &Path) -> Child {
    let mut child = Command::new("tshark")
        .args(["-q", "-i", "lo", "-f", "udp", "-w"])
        .arg(path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tshark");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let mut seen = String::new();
    while err.read_line(&mut line).unwrap_or(0) > 0 {
        seen.push_str(&line);
        if line.contains("Capturing on") {
            // Keep draining stderr so tshark never blocks on it.
            std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
            std::thread::sleep(Duration::from_millis(300));
            return child;
        }
        line.clear();
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("tshark did not start capturing on lo: {seen}");
}

struct TapPacket {
    from: SocketAddr,
    pt: u8,
    seq: u16,
    pcm: Vec<i16>,
}

#[test]
fn relay_forwards_records_and_taps_live() {
    if !common::have_tool("ffmpeg") {
        return;
    }
    let Some(data) = common::shared_data() else { return };
    let wav = data.join("speech/webrtcvad/leak-test.wav");
    let Some(relay_bin) = common::example_bin("call_relay") else { return };
    let capture = common::have_tool("tshark");

    let dir = std::env::temp_dir().join(format!("jyqq_relay_live_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (a_port, b_port) = (free_port_pair(), free_port_pair());
    let tap_sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    tap_sock.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let tap_to = tap_sock.local_addr().unwrap();
    let remote_a: SocketAddr = format!("127.0.0.1:{a_port}").parse().unwrap();
    let remote_b: SocketAddr = format!("127.0.0.1:{b_port}").parse().unwrap();

    let pcap = dir.join("lo.pcapng");
    let mut tshark = capture.then(|| start_capture(&pcap));

    // The relay: leg A PCMU, leg B PCMA (transcoded), tap to us, recording to `dir`.
    let t_start = Instant::now();
    let mut relay = Command::new(&relay_bin)
        .args(["--calls", "1", "--base-port", "0", "--codec-a", "pcmu", "--codec-b", "pcma"])
        .args(["--remote-a", &remote_a.to_string(), "--remote-b", &remote_b.to_string()])
        .args(["--tap-to", &tap_to.to_string(), "--duration", &RELAY_S.to_string()])
        .arg("--out-dir")
        .arg(&dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("call_relay");
    let mut out = BufReader::new(relay.stdout.take().unwrap());
    let head = common::relay_ready(&mut out);
    let call_line = head.iter().find(|l| l.contains(" leg_a=")).expect("call line");
    let leg_a: SocketAddr = common::relay_field(call_line, "leg_a").parse().unwrap();
    let leg_b: SocketAddr = common::relay_field(call_line, "leg_b").parse().unwrap();
    let tap_from: SocketAddr =
        common::relay_field(head.iter().find(|l| l.contains(" tap ")).expect("tap line"), "from").parse().unwrap();

    // The guard station: every tap packet until the relay is done.
    let stop = Arc::new(AtomicBool::new(false));
    let tap_thread = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = [0u8; 2048];
            while !stop.load(Ordering::Relaxed) {
                if let Ok((n, from)) = tap_sock.recv_from(&mut buf) {
                    let p = RtpPacket::parse(&buf[..n]).expect("tap packet is RTP");
                    let pcm = p.payload().iter().map(|&c| ulaw_decode(c)).collect();
                    got.push(TapPacket { from, pt: p.payload_type().0, seq: p.sequence(), pcm });
                }
            }
            got
        })
    };

    // Leg B's phone: ffmpeg receiving A-law RTP described by an SDP file.
    let sdp = dir.join("b.sdp");
    std::fs::write(
        &sdp,
        format!(
            "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=leg B\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {b_port} RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n"
        ),
    )
    .unwrap();
    let out_b = dir.join("out_b.wav");
    let mut receiver = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-protocol_whitelist", "file,udp,rtp", "-i"])
        .arg(&sdp)
        .args(["-t", &(RELAY_S - 1).to_string(), "-ar", "8000", "-ac", "1", "-y"])
        .arg(&out_b)
        .spawn()
        .expect("ffmpeg receiver");

    // Leg A's phone: ffmpeg sending 4 s of speech as 20 ms PCMU packets from `remote_a`
    // (the relay accepts leg A's media only from there).
    // Read through lavfi in 160-sample frames so that -re paces every 20 ms packet (a plain
    // WAV input is read, and sent, in bursts of 1024 samples).
    let url = format!("rtp://{leg_a}?localrtpport={a_port}&pkt_size=172");
    let input = format!("amovie={},asetnsamples=n=160:p=0", wav.display());
    let sent = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i", &input, "-t", &SPEECH_S.to_string()])
        .args(["-ar", "8000", "-ac", "1", "-acodec", "pcm_mulaw", "-f", "rtp", &url])
        .stdout(Stdio::null())
        .status()
        .expect("ffmpeg sender");
    assert!(sent.success());

    let mut tail = String::new();
    wait_or_kill(&mut relay, Duration::from_secs(u64::from(RELAY_S) + 15), "call_relay");
    out.read_to_string(&mut tail).unwrap();
    assert!(relay.wait().unwrap().success(), "relay failed: {tail}");
    stop.store(true, Ordering::Relaxed);
    let taps = tap_thread.join().unwrap();
    wait_or_kill(&mut receiver, Duration::from_secs(3), "ffmpeg receiver");
    if let Some(t) = tshark.as_mut() {
        std::thread::sleep(Duration::from_millis(300)); // the last packets into the file
        wait_or_kill(t, Duration::ZERO, "tshark");
    }
    println!("relay ran {:?}:\n{}{tail}", t_start.elapsed(), head.concat());

    let fin = tail.lines().find(|l| l.contains(" finished ")).expect("finished line");
    let duration_ms: i64 = common::relay_field(fin, "duration_ms").parse().unwrap();
    let received_a: u64 = common::relay_field(fin, "received_a").parse().unwrap();
    let (sent_a, sent_b): (u64, u64) =
        (common::relay_field(fin, "sent_a").parse().unwrap(), common::relay_field(fin, "sent_b").parse().unwrap());
    let (first_a, last_a) = common::relay_field(fin, "arrivals_a_ms").split_once("..").expect("leg A packets arrived");
    let (first_a, last_a): (i64, i64) = (first_a.parse().unwrap(), last_a.parse().unwrap());
    assert!((duration_ms - i64::from(RELAY_S) * 1000).abs() < 200, "{fin}");
    // 4 s of 20 ms packets, all of them from the one source the relay accepts.
    assert!((198..=202).contains(&received_a), "{fin}");
    // One packet per leg per 20 ms of the call, the first at its start.
    for s in [sent_a, sent_b] {
        assert!((s as i64 - (duration_ms / 20 + 1)).abs() <= 1, "{fin}");
    }

    // Leg B heard leg A's speech (µ-law → PCM → A-law through the session).
    let reference = read_wav(&wav);
    let reference = &reference[..SPEECH_S as usize * 8000];
    let heard_b = read_wav(&out_b);
    let (ncc_b, lag_b) = best_ncc(reference, &heard_b);
    let win_b = windowed_ncc(reference, &heard_b, lag_b);
    println!("leg B: ncc {ncc_b:.3} at lag {lag_b} samples of {}, windowed median {win_b:.3}", heard_b.len());
    assert!(win_b > 0.7, "leg B windowed ncc {win_b} (global {ncc_b})");

    // The recording spans the whole call (a silent tail included: the session ends the
    // recording at the call's end), and its channel 0 holds the speech.
    let ogg = std::fs::read(dir.join("call-0.opus")).unwrap();
    let info = read_ogg_opus(&ogg).unwrap();
    assert!(info.eos_on_last_page && info.is_conformant(), "{info:?}");
    let rec_ms = info.duration().as_millis() as i64;
    let expect_ms = (last_a + 20).max(duration_ms);
    println!("recording {rec_ms} ms; call {duration_ms} ms, leg A packets {first_a}..{last_a} ms");
    assert!((rec_ms - expect_ms).abs() <= 100, "recording {rec_ms} ms, expected {expect_ms} ms");
    assert!(rec_ms >= first_a + i64::from(SPEECH_S) * 1000 - 100, "recording holds all that was sent");
    let rec_a = dir.join("rec_a.wav");
    let st = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-i"])
        .arg(dir.join("call-0.opus"))
        .args(["-af", "pan=mono|c0=c0", "-ar", "8000", "-y"])
        .arg(&rec_a)
        .status()
        .unwrap();
    assert!(st.success());
    let (ncc_rec, lag_rec) = best_ncc(reference, &read_wav(&rec_a));
    println!("recording channel 0: ncc {ncc_rec:.3} at lag {lag_rec}");
    assert!(ncc_rec > 0.7, "recording ncc {ncc_rec}");
    // Placed by arrival: the speech starts where the first packet arrived (± 60 ms).
    assert!((lag_rec as i64 / 8 - first_a).abs() <= 60, "speech at {} ms, first packet at {first_a} ms", lag_rec / 8);

    // The tap: PCMU from the relay's tap socket, 50 packets/s, in sequence, hearing leg A.
    assert!(taps.iter().all(|p| p.from == tap_from && p.pt == 0 && p.pcm.len() == 160));
    let expect_taps = duration_ms as f64 / 20.0;
    assert!((taps.len() as f64 - expect_taps).abs() <= expect_taps * 0.03, "{} tap packets", taps.len());
    assert!(taps.windows(2).all(|w| w[1].seq == w[0].seq.wrapping_add(1)), "tap sequence");
    let tap_pcm: Vec<i16> = taps.iter().flat_map(|p| p.pcm.iter().copied()).collect();
    let (ncc_tap, lag_tap) = best_ncc(reference, &tap_pcm);
    let win_tap = windowed_ncc(reference, &tap_pcm, lag_tap);
    println!("tap: {} packets, ncc {ncc_tap:.3}, windowed median {win_tap:.3}", taps.len());
    assert!(win_tap > 0.7, "tap windowed ncc {win_tap} (global {ncc_tap})");

    // Where the relay sent: only the three configured addresses, by its own count…
    let allowed = [remote_a, remote_b, tap_to];
    let sent_to: BTreeMap<SocketAddr, u64> = tail
        .lines()
        .filter(|l| l.contains(" sent_to "))
        .map(|l| {
            (l.split_whitespace().nth(2).unwrap().parse().unwrap(), common::relay_field(l, "packets").parse().unwrap())
        })
        .collect();
    let mut want = allowed.to_vec();
    want.sort();
    assert_eq!(sent_to.keys().copied().collect::<Vec<_>>(), want);
    assert_eq!((sent_to[&remote_a], sent_to[&remote_b], sent_to[&tap_to]), (sent_a, sent_b, taps.len() as u64));
    // …and by the loopback capture: every datagram from the relay's sockets.
    if capture {
        let ours: Vec<u16> = vec![leg_a.port(), leg_b.port(), tap_from.port()];
        let fields = Command::new("tshark")
            .args(["-r"])
            .arg(&pcap)
            .args(["-T", "fields", "-e", "ip.src", "-e", "udp.srcport", "-e", "ip.dst", "-e", "udp.dstport"])
            .output()
            .unwrap();
        assert!(fields.status.success());
        let mut by_dst: HashMap<SocketAddr, u64> = HashMap::new();
        for l in String::from_utf8_lossy(&fields.stdout).lines() {
            let f: Vec<&str> = l.split('\t').collect();
            if f.len() < 4 || f[0] != "127.0.0.1" || !f[1].parse().is_ok_and(|p: u16| ours.contains(&p)) {
                continue;
            }
            *by_dst.entry(format!("{}:{}", f[2], f[3]).parse().unwrap()).or_default() += 1;
        }
        println!("captured from the relay: {by_dst:?}");
        assert!(by_dst.keys().all(|d| allowed.contains(d)), "relay sent elsewhere: {by_dst:?}");
        // The capture may start a moment after tshark says so: allow the first packet missing.
        for (dst, n) in [(remote_a, sent_a), (remote_b, sent_b), (tap_to, taps.len() as u64)] {
            let got = by_dst.get(&dst).copied().unwrap_or(0);
            assert!(got == n || got + 1 == n, "captured {got} packets to {dst}, the relay counted {n}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
