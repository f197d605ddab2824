//! Flood and RTP-bleed injection against the live relay (`examples/call_relay.rs`) over real
//! loopback sockets: two phones hold a PCMU call through the relay (passthrough: the relay
//! forwards each packet's payload untouched) with a guard listening, while 100 000
//! datagrams per second arrive on both leg ports for 10 s from addresses that are not the
//! phones' — RTP carrying the call's own SSRCs and plausible numbers (RTP bleed), random
//! SSRCs, malformed and truncated headers, zero-length and padding-only packets, RTCP,
//! random bytes and oversized datagrams (9 000 and 65 000 bytes).
//!
//! Asserts: every payload a phone received from the relay is one the other phone sent
//! (byte for byte) — not one flood packet reached a leg; the relay's ingress accepted no
//! more packets than the phones sent and at least 95 % of them; the tap and both recording
//! channels carry none of the flood's 3.3 kHz tone while the call's tones are there; the
//! relay's resident memory after the flood is within 4 MiB of before it. Prints the
//! figures (`cargo test --test relay_flood -- --nocapture`).

mod common;

use jyqq_media::codec::{ulaw_decode, ulaw_encode};
use jyqq_media::record::decode_ogg_opus;
use jyqq_media::rtp::{PayloadType, RtpHeader, RtpPacket, Ssrc};
use std::collections::HashSet;
use std::f64::consts::PI;
use std::io::{BufReader, Read};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const RELAY_S: f64 = 14.0;
/// Phones talk from 0.3 s to 13.3 s after the relay is ready.
const PHONE_PACKETS: u32 = 650;
/// The flood: from 1.5 s, 10 s long, 1 000 datagrams every 10 ms (100 000/s).
const FLOOD_START: Duration = Duration::from_millis(1500);
const FLOOD_BATCHES: u32 = 1000;
const FLOOD_PER_BATCH: u32 = 1000;
/// The phones' SSRCs (what an RTP-bleed attacker copies) and tones.
const SSRC: [u32; 2] = [0x1111_1111, 0x2222_2222];
const FREQ: [f64; 2] = [500.0, 1000.0];
/// The flood's audio: not a harmonic of either tone.
const FLOOD_FREQ: f64 = 3300.0;

fn num(line: &str, key: &str) -> u64 {
    common::relay_field(line, key).parse().unwrap_or_else(|_| panic!("{key} in {line}"))
}

/// Packet `k` of phone `leg`: its tone (whole periods per packet, so every payload of a
/// phone is the same 160 bytes — and never a flood payload).
fn phone_packet(leg: usize, k: u32) -> Vec<u8> {
    let payload: Vec<u8> = (0..160)
        .map(|i| ulaw_encode((6000.0 * (2.0 * PI * FREQ[leg] * f64::from(k * 160 + i) / 8000.0).sin()) as i16))
        .collect();
    let mut out = Vec::new();
    RtpHeader::new(PayloadType(0), 1000u16.wrapping_add(k as u16), 160 * k, Ssrc(SSRC[leg]))
        .write(&payload, &mut out)
        .unwrap();
    out
}

/// RMS of the `freq` component of `x` sampled at `rate` (Goertzel).
fn tone_rms(x: &[i16], freq: f64, rate: f64) -> f64 {
    let c = 2.0 * (2.0 * PI * freq / rate).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s0 = f64::from(v) + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - c * s1 * s2).max(0.0).sqrt() * 2f64.sqrt() / x.len().max(1) as f64
}

fn rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()).unwrap_or(0)
}

/// The flood's datagrams for one leg: (bytes, is RTP bleed with the call's SSRC).
fn flood_pool(leg: usize) -> Vec<(Vec<u8>, bool)> {
    let tone: Vec<u8> = (0..160)
        .map(|i| ulaw_encode((12000.0 * (2.0 * PI * FLOOD_FREQ * f64::from(i) / 8000.0).sin()) as i16))
        .collect();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ leg as u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut pool = Vec::new();
    let rtp = |ssrc: u32, pt: u8, payload: &[u8], pad: u8| {
        let mut out = Vec::new();
        let mut h = RtpHeader::new(PayloadType(pt), 0, 0, Ssrc(ssrc));
        if pad > 0 {
            h = h.with_padding(pad);
        }
        h.write(payload, &mut out).unwrap();
        out
    };
    for _ in 0..8 {
        // RTP bleed: the call's SSRC, PT 0, the flood tone (seq/ts set when sent).
        pool.push((rtp(SSRC[leg], 0, &tone, 0), true));
    }
    for _ in 0..4 {
        pool.push((rtp(next() as u32, 0, &tone, 0), false));
    }
    pool.push((rtp(SSRC[leg], 0, &[], 0), true)); // zero-length payload
    pool.push((rtp(SSRC[leg], 0, &[], 4), true)); // padding only
    pool.push((rtp(SSRC[leg], 101, &[1, 0x8A, 0, 160], 0), true)); // telephone-event
    pool.push((vec![0x80, 0x00, 0x12], false)); // truncated header
    pool.push((vec![0x40, 0, 0, 1, 0, 0, 0, 1, 0x11, 0x11, 0x11, 0x11], false)); // version 1
    pool.push((vec![0x8F, 0, 0, 1, 0, 0, 0, 1, 0x11, 0x11, 0x11, 0x11, 0, 0], false)); // CSRCs past the end
    pool.push((vec![0x90, 0, 0, 1, 0, 0, 0, 1, 0x11, 0x11, 0x11, 0x11, 0xBE, 0xDE, 0, 100], false));
    pool.push((vec![0xA0, 0, 0, 1, 0, 0, 0, 1, 0x11, 0x11, 0x11, 0x11, 0xFF, 0xFF, 0xFF, 200], false));
    let mut rtcp = vec![0x80, 200, 0, 6];
    rtcp.extend_from_slice(&SSRC[leg].to_be_bytes());
    rtcp.extend_from_slice(&[0; 20]);
    pool.push((rtcp, false));
    for _ in 0..3 {
        let n = 1 + (next() % 300) as usize;
        pool.push(((0..n).map(|_| next() as u8).collect(), false));
    }
    pool
}

struct Flood {
    sent: u64,
    send_errors: u64,
}

fn flood(targets: [SocketAddr; 2], t0: Instant) -> Flood {
    let socks: Vec<UdpSocket> = ["127.0.0.1:0", "127.0.0.2:0"].iter().filter_map(|a| UdpSocket::bind(a).ok()).collect();
    assert!(!socks.is_empty());
    let mut pools = [flood_pool(0), flood_pool(1)];
    let oversized = [vec![0x80u8; 9000], vec![0x80u8; 65_000]];
    let mut f = Flood { sent: 0, send_errors: 0 };
    let start = t0 + FLOOD_START;
    let mut i = 0usize;
    for batch in 0..FLOOD_BATCHES {
        let due = start + Duration::from_millis(u64::from(batch) * 10);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        // The phones' numbers now, for plausible bleed packets.
        let k = (Instant::now().saturating_duration_since(t0).as_millis() / 20) as u32;
        for j in 0..FLOOD_PER_BATCH {
            let leg = (j & 1) as usize;
            let sock = &socks[(j as usize >> 1) % socks.len()];
            let r = if j == 500 {
                sock.send_to(&oversized[batch as usize % 2], targets[leg])
            } else {
                let pool = &mut pools[leg];
                let n = pool.len();
                let (bytes, bleed) = &mut pool[i % n];
                if *bleed && bytes.len() >= 12 {
                    let seq = 1000u16.wrapping_add(k as u16).wrapping_add((j % 7) as u16);
                    bytes[2..4].copy_from_slice(&seq.to_be_bytes());
                    bytes[4..8].copy_from_slice(&(160 * (k + j % 7)).to_be_bytes());
                }
                i += 1;
                sock.send_to(bytes, targets[leg])
            };
            match r {
                Ok(_) => f.sent += 1,
                Err(_) => f.send_errors += 1,
            }
        }
    }
    f
}

/// A phone: sends its packets every 20 ms from `sock` to `to`, and collects what the relay
/// sends it until `stop`.
fn phone(leg: usize, sock: UdpSocket, to: SocketAddr, t0: Instant, stop: Arc<AtomicBool>) -> JoinHandle<Vec<Vec<u8>>> {
    let rx = sock.try_clone().unwrap();
    rx.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let receiver = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 2048];
        while !stop.load(Ordering::Relaxed) {
            if let Ok((n, _)) = rx.recv_from(&mut buf) {
                got.push(buf[..n].to_vec());
            }
        }
        got
    });
    std::thread::spawn(move || {
        for k in 0..PHONE_PACKETS {
            let due = t0 + Duration::from_millis(300 + u64::from(k) * 20);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            sock.send_to(&phone_packet(leg, k), to).unwrap();
        }
        receiver.join().unwrap()
    })
}

#[test]
fn flood_and_rtp_bleed_never_reach_the_call() {
    let Some(relay_bin) = common::example_bin("call_relay") else { return };
    let dir = std::env::temp_dir().join(format!("jyqq_relay_flood_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let phones = [UdpSocket::bind("127.0.0.1:0").unwrap(), UdpSocket::bind("127.0.0.1:0").unwrap()];
    let remotes = [phones[0].local_addr().unwrap(), phones[1].local_addr().unwrap()];
    let tap_sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    tap_sock.set_read_timeout(Some(Duration::from_millis(50))).unwrap();

    let mut relay = Command::new(&relay_bin)
        .args(["--calls", "1", "--base-port", "0", "--codec-a", "pcmu", "--codec-b", "pcmu"])
        .args(["--remote-a", &remotes[0].to_string(), "--remote-b", &remotes[1].to_string()])
        .args(["--tap-to", &tap_sock.local_addr().unwrap().to_string(), "--duration", &RELAY_S.to_string()])
        .arg("--out-dir")
        .arg(&dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("call_relay");
    let pid = relay.id();
    let mut out = BufReader::new(relay.stdout.take().unwrap());
    let head = common::relay_ready(&mut out);
    let t0 = Instant::now();
    let call_line = head.iter().find(|l| l.contains(" leg_a=")).expect("call line");
    let legs: [SocketAddr; 2] = [
        common::relay_field(call_line, "leg_a").parse().unwrap(),
        common::relay_field(call_line, "leg_b").parse().unwrap(),
    ];

    let stop = Arc::new(AtomicBool::new(false));
    let tap_thread = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut pcm = Vec::new();
            let mut buf = [0u8; 2048];
            while !stop.load(Ordering::Relaxed) {
                if let Ok((n, _)) = tap_sock.recv_from(&mut buf) {
                    let p = RtpPacket::parse(&buf[..n]).expect("tap packet is RTP");
                    pcm.extend(p.payload().iter().map(|&c| ulaw_decode(c)));
                }
            }
            pcm
        })
    };
    let [pa, pb] = phones;
    let phone_threads = [phone(0, pa, legs[0], t0, stop.clone()), phone(1, pb, legs[1], t0, stop.clone())];
    let rss_thread = std::thread::spawn(move || {
        // Before the flood, then every second until the relay's end.
        let mut samples = Vec::new();
        for s in [1.4f64, 3.0, 5.0, 7.0, 9.0, 11.0, 12.0, 13.0] {
            std::thread::sleep((t0 + Duration::from_secs_f64(s)).saturating_duration_since(Instant::now()));
            samples.push((s, rss_kib(pid)));
        }
        samples
    });
    let f = flood(legs, t0);
    let flood_end = t0.elapsed();

    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(relay.wait().unwrap().success(), "relay failed: {rest}");
    stop.store(true, Ordering::Relaxed);
    let rss = rss_thread.join().unwrap();
    let heard: Vec<Vec<Vec<u8>>> = phone_threads.into_iter().map(|t| t.join().unwrap()).collect();
    let tap = tap_thread.join().unwrap();

    println!(
        "flood: {} datagrams sent in {:.2} s ({} send errors), flood ended at {:.2} s",
        f.sent,
        flood_end.as_secs_f64() - FLOOD_START.as_secs_f64(),
        f.send_errors,
        flood_end.as_secs_f64()
    );
    assert!(f.sent >= u64::from(FLOOD_BATCHES * FLOOD_PER_BATCH) * 99 / 100, "the flood did not go out");
    for l in rest.lines().filter(|l| l.contains("ingress_")) {
        println!("{l}");
    }
    println!("relay RSS (s, KiB): {rss:?}");

    // Not one flood datagram was accepted; the phones' packets were.
    for (i, name) in ["ingress_a", "ingress_b"].iter().enumerate() {
        let l = rest.lines().find(|l| l.contains(name)).unwrap_or_else(|| panic!("no {name} line: {rest}"));
        let (datagrams, accepted) = (num(l, "datagrams"), num(l, "accepted"));
        assert!(accepted <= u64::from(PHONE_PACKETS), "{name}: {accepted} accepted, the phone sent {PHONE_PACKETS}");
        assert!(accepted >= u64::from(PHONE_PACKETS) * 85 / 100, "{name}: only {accepted} of the phone's packets");
        let dropped = num(l, "foreign_source") + num(l, "malformed") + num(l, "rtcp");
        assert!(dropped > 100_000, "{name}: the flood barely reached the relay ({dropped})");
        assert!(datagrams >= dropped + accepted, "{name}");
        let _ = i;
    }

    // Every payload a phone got is one the other phone sent.
    for (leg, got) in heard.iter().enumerate() {
        let other = 1 - leg;
        let sent: HashSet<Vec<u8>> = (0..PHONE_PACKETS).map(|k| phone_packet(other, k)[12..].to_vec()).collect();
        assert!(got.len() >= PHONE_PACKETS as usize * 85 / 100, "phone {leg} got {} packets", got.len());
        for p in got {
            let p = RtpPacket::parse(p).expect("the relay sent RTP");
            assert!(sent.contains(p.payload()), "phone {leg} got a payload the other phone never sent");
        }
    }

    // The guard heard the call and not the flood.
    assert!(tap.len() > 8000 * 10, "tap: {} samples", tap.len());
    let (call, injected) = (tone_rms(&tap, FREQ[0], 8000.0), tone_rms(&tap, FLOOD_FREQ, 8000.0));
    println!("tap: {:.0} RMS at 500 Hz, {:.1} at 3.3 kHz", call, injected);
    assert!(call > 1000.0 && injected < call / 100.0, "tap: call {call}, flood {injected}");

    // The recording: each party's channel holds its tone and none of the flood.
    let rec = std::fs::read(dir.join("call-0.opus")).unwrap();
    let d = decode_ogg_opus(&rec).unwrap();
    for (ch, f0) in FREQ.iter().enumerate() {
        let x = d.channel(ch);
        let (call, injected) = (tone_rms(&x, *f0, 48_000.0), tone_rms(&x, FLOOD_FREQ, 48_000.0));
        println!("recording channel {ch}: {:.0} RMS at {f0} Hz, {:.1} at 3.3 kHz", call, injected);
        assert!(call > 1000.0 && injected < call / 100.0, "channel {ch}: call {call}, flood {injected}");
    }

    // Memory stayed flat under the flood.
    let before = rss[0].1;
    let max = rss.iter().map(|r| r.1).max().unwrap();
    assert!(before > 0, "no RSS reading");
    assert!(max <= before + 4096, "RSS grew from {before} KiB to {max} KiB under the flood");
    let _ = std::fs::remove_dir_all(&dir);
}
