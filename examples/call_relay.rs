//! A live media relay on the runtime: real UDP legs, a guard listen tap, a recording per call.
//!
//! ```text
//! call_relay --remote-a HOST:PORT --remote-b HOST:PORT [--calls N] [--base-port P]
//!            [--codec-a pcmu|pcma|opus] [--codec-b …] [--tap-to HOST:PORT]
//!            [--out-dir DIR] [--duration SECONDS] [--shards N]
//! ```
//! For each call `i` (0-based) it binds two UDP ports on 127.0.0.1: leg A at `P + 2i`, leg B
//! at `P + 2i + 1` (`--base-port 0`: ports the system picks). Leg A's phone is at
//! `--remote-a` with its port + 2i, leg B's at `--remote-b` + 2i: packets are accepted only
//! from there (strict source) and the other leg's audio is sent there: forwarded packet by
//! packet when both legs use the same codec (passthrough), else transcoded by the session,
//! one packet per 20 ms. With `--tap-to`, a guard listens to every call: the listen
//! mix (both parties, mono) goes to that address as RTP PCMU, 20 ms packets, one SSRC per
//! call, from one tap socket. Every call is recorded to `DIR/call-<i>.opus` (stereo Ogg
//! Opus: channel 0 leg A, channel 1 leg B) through a file sink. After `--duration` seconds
//! the calls are disconnected, the recordings closed, and a summary printed.
//!
//! Payload types: PCMU 0, PCMA 8, Opus 111 (48 kHz, RFC 7587), each way.
//!
//! It prints its bound ports first (`call_relay: call 0 leg_a=127.0.0.1:P leg_b=…`), then
//! `call_relay: ready`; at the end one `finished` line per call, an `ingress_a`/`ingress_b`
//! line per call with the legs' receive counters (datagrams, accepted, foreign_source,
//! malformed, …), one `sent_to` line per destination address with the packets sent there,
//! and the runtime's tick lateness.
//!
//! # Threading
//! - the runtime's shards (one per core by default) run the sessions; each call's
//!   outbound RTP is sent on its shard thread through clones of the call's two sockets
//!   (`send_to` on UDP never waits for the peer);
//! - one receive thread per socket (two per call): blocking `recv_from` with a 50 ms read
//!   timeout (to notice the stop flag), handing each datagram to the runtime (`try_send`:
//!   never blocks; a full shard queue drops the datagram). Fine for tens of calls; a
//!   production host with thousands would use epoll (e.g. mio) for the same hand-off;
//! - one tap thread: turns listen frames into PCMU RTP and sends them to `--tap-to`;
//! - each recording's file sink has its own writer thread (the shard never touches disk);
//! - the main thread waits, drains events, and ends the calls.

use clap::{Parser, ValueEnum};
use crossbeam_channel::{bounded, Receiver};
use jyqq_media::codec::ulaw_encode;
use jyqq_media::mix::{Listen, TapKind};
use jyqq_media::record::{FileSink, FileSinkConfig, SinkEvent};
use jyqq_media::rtp::{IngressCounters, PayloadFormat, PayloadType, RtpHeader, Ssrc};
use jyqq_media::runtime::{
    CallId, CallSpec, PacketSender, Runtime, RuntimeConfig, RuntimeEvent, RuntimeEventKind, RuntimeHandle, TapFrame,
};
use jyqq_media::session::{EndCause, EventKind, LegConfig, SessionConfig};
use jyqq_media::{ClockRate, Leg};
use rand_core::{OsRng, RngCore};
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Codec {
    Pcmu,
    Pcma,
    Opus,
}

impl Codec {
    fn format(self) -> PayloadFormat {
        match self {
            Codec::Pcmu => PayloadFormat::new(PayloadType(0), "PCMU", ClockRate::HZ_8000, 1),
            Codec::Pcma => PayloadFormat::new(PayloadType(8), "PCMA", ClockRate::HZ_8000, 1),
            Codec::Opus => PayloadFormat::new(PayloadType(111), "opus", ClockRate::HZ_48000, 2),
        }
    }
}

/// Relay live RTP calls between two UDP legs, with a guard tap and a recording per call.
#[derive(Parser)]
#[command(name = "call_relay", version)]
struct Args {
    /// Number of calls.
    #[arg(long, default_value_t = 1)]
    calls: u16,
    /// First local port (leg A of call i at P + 2i, leg B at P + 2i + 1); 0 picks free ports.
    #[arg(long, default_value_t = 0)]
    base_port: u16,
    /// Codec of leg A (sent and expected).
    #[arg(long, value_enum, default_value = "pcmu")]
    codec_a: Codec,
    /// Codec of leg B.
    #[arg(long, value_enum, default_value = "pcmu")]
    codec_b: Codec,
    /// Leg A's media address (call i: port + 2i).
    #[arg(long)]
    remote_a: SocketAddr,
    /// Leg B's media address (call i: port + 2i).
    #[arg(long)]
    remote_b: SocketAddr,
    /// Where the guard's listen tap goes (RTP PCMU, 20 ms); none when absent.
    #[arg(long)]
    tap_to: Option<SocketAddr>,
    /// Folder for call-<i>.opus (created if missing).
    #[arg(long, default_value = "recordings")]
    out_dir: PathBuf,
    /// Seconds before the calls are ended.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Runtime shards (default: one per core).
    #[arg(long)]
    shards: Option<usize>,
}

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A call's outbound path: its two sockets and remotes, and packets sent per leg.
struct UdpLegs {
    sockets: [UdpSocket; 2],
    remotes: [SocketAddr; 2],
    sent: Arc<[AtomicU64; 2]>,
}

impl PacketSender for UdpLegs {
    fn send(&mut self, _call: CallId, leg: Leg, packet: Vec<u8>) -> io::Result<()> {
        let i = leg.index();
        self.sockets[i].send_to(&packet, self.remotes[i])?;
        self.sent[i].fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

struct Call {
    index: u16,
    id: CallId,
    local: [SocketAddr; 2],
    remotes: [SocketAddr; 2],
    sent: Arc<[AtomicU64; 2]>,
    received: Arc<[AtomicU64; 2]>,
    arrivals: Arc<Arrivals>,
    path: PathBuf,
}

/// First and last datagram arrival per leg, runtime clock in ns (`u64::MAX` / 0: none yet).
struct Arrivals {
    first: [AtomicU64; 2],
    last: [AtomicU64; 2],
}

impl Arrivals {
    fn new() -> Arrivals {
        Arrivals {
            first: [AtomicU64::new(u64::MAX), AtomicU64::new(u64::MAX)],
            last: [AtomicU64::new(0), AtomicU64::new(0)],
        }
    }
    fn note(&self, leg: Leg, ns: u64) {
        self.first[leg.index()].fetch_min(ns, Ordering::Relaxed);
        self.last[leg.index()].fetch_max(ns, Ordering::Relaxed);
    }
    /// (first, last) of `leg` in ms after `start_ns`, or "-" when none arrived.
    fn span_ms(&self, leg: Leg, start_ns: u64) -> String {
        let first = self.first[leg.index()].load(Ordering::Relaxed);
        if first == u64::MAX {
            return "-".into();
        }
        let last = self.last[leg.index()].load(Ordering::Relaxed);
        format!("{}..{}", first.saturating_sub(start_ns) / 1_000_000, last.saturating_sub(start_ns) / 1_000_000)
    }
}

fn with_port_offset(a: SocketAddr, off: u16) -> io::Result<SocketAddr> {
    let port = a.port().checked_add(off).ok_or_else(|| io::Error::other(format!("{a} + {off}: port out of range")))?;
    Ok(SocketAddr::new(a.ip(), port))
}

fn bind(base: u16, off: u16) -> io::Result<UdpSocket> {
    let port =
        if base == 0 { 0 } else { base.checked_add(off).ok_or_else(|| io::Error::other("port out of range"))? };
    let s = UdpSocket::bind(SocketAddr::new(LOCAL, port))?;
    s.set_read_timeout(Some(Duration::from_millis(50)))?;
    Ok(s)
}

/// One receive thread per socket: datagrams to the runtime until `stop`.
fn spawn_receiver(
    sock: UdpSocket,
    rt: RuntimeHandle,
    call: CallId,
    leg: Leg,
    received: Arc<[AtomicU64; 2]>,
    arrivals: Arc<Arrivals>,
    stop: Arc<AtomicBool>,
) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name(format!("rx-{call}-{leg:?}")).spawn(move || {
        let mut buf = [0u8; 2048];
        while !stop.load(Ordering::Relaxed) {
            match sock.recv_from(&mut buf) {
                Ok((n, from)) => {
                    received[leg.index()].fetch_add(1, Ordering::Relaxed);
                    arrivals.note(leg, rt.now().as_nanos());
                    // A full shard queue drops the datagram (counted by the runtime).
                    let _ = rt.packet(call, leg, from, buf[..n].to_vec());
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                Err(_) => {} // e.g. ICMP errors reported on the socket: keep reading
            }
        }
    })
}

/// RTP state of one call's tap stream.
struct TapStream {
    ssrc: u32,
    seq: u16,
    ts: u32,
}

/// The tap thread: listen frames → mono 8 kHz → PCMU RTP to `to`. Returns packets sent.
fn spawn_tap_sender(sock: UdpSocket, to: SocketAddr, frames: Receiver<TapFrame>) -> io::Result<JoinHandle<u64>> {
    std::thread::Builder::new().name("tap-tx".into()).spawn(move || {
        let mut streams: HashMap<CallId, TapStream> = HashMap::new();
        let (mut mono, mut payload, mut packet) = (Vec::new(), Vec::new(), Vec::new());
        let mut sent = 0u64;
        for f in frames.iter() {
            let st = streams.entry(f.call).or_insert_with(|| TapStream {
                ssrc: OsRng.next_u32(),
                seq: OsRng.next_u32() as u16,
                ts: OsRng.next_u32(),
            });
            // Down-mix, then decimate to 8 kHz by averaging (a box filter: enough for a
            // monitor; the sessions of G.711 calls already run at 8 kHz).
            let ch = usize::from(f.channels.max(1));
            let factor = (f.rate / 8000).max(1) as usize;
            mono.clear();
            mono.extend(f.pcm.chunks_exact(ch).map(|s| s.iter().map(|&x| i32::from(x)).sum::<i32>() / ch as i32));
            payload.clear();
            payload.extend(mono.chunks(factor).map(|c| ulaw_encode((c.iter().sum::<i32>() / c.len() as i32) as i16)));
            packet.clear();
            let hdr = RtpHeader::new(PayloadType(0), st.seq, st.ts, Ssrc(st.ssrc));
            if hdr.write(&payload, &mut packet).is_ok() && sock.send_to(&packet, to).is_ok() {
                sent += 1;
            }
            st.seq = st.seq.wrapping_add(1);
            st.ts = st.ts.wrapping_add(payload.len() as u32);
        }
        sent
    })
}

/// What the main thread keeps of the events.
#[derive(Default)]
struct Tally {
    /// Call → (start in ns on the runtime clock, duration in ms, packets sent per leg).
    finished: HashMap<CallId, (u64, u64, [u64; 2])>,
    /// Call → each leg's ingress counters.
    ingress: HashMap<CallId, [IngressCounters; 2]>,
    /// Call → recording bytes.
    recorded: HashMap<CallId, u64>,
}

impl Tally {
    fn note(&mut self, ev: RuntimeEvent) {
        match ev.kind {
            RuntimeEventKind::Finished { started, ended, packets_sent, ingress, .. } => {
                let ms = (ended.as_nanos() - started.as_nanos()) / 1_000_000;
                self.finished.insert(ev.call, (started.as_nanos(), ms, packets_sent));
                self.ingress.insert(ev.call, ingress);
            }
            RuntimeEventKind::Sink(SinkEvent::RecordingComplete { bytes, .. }) => {
                self.recorded.insert(ev.call, bytes);
            }
            RuntimeEventKind::Sink(SinkEvent::WriteFailed { error, .. }) => {
                eprintln!("call {}: recording: {error}", ev.call)
            }
            RuntimeEventKind::Session(s) if matches!(s.kind, EventKind::MediaTimeout { .. }) => {
                eprintln!("call {}: {:?}", ev.call, s.kind)
            }
            RuntimeEventKind::Error(e) => eprintln!("call {}: {e}", ev.call),
            _ => {}
        }
    }
}

fn leg_config(codec: Codec, remote: SocketAddr) -> LegConfig {
    let mut l = LegConfig::new(codec.format(), Ssrc(OsRng.next_u32()));
    l.remote = Some(remote);
    // RFC 3550 §5.1: random initial sequence number and timestamp.
    l.initial_seq = OsRng.next_u32() as u16;
    l.initial_timestamp = OsRng.next_u32();
    l
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(&args.out_dir)?;
    let mut cfg = RuntimeConfig::default();
    cfg.shards = args.shards;
    let (rt, events) = Runtime::start(cfg)?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    let (tap_tx, tap_rx) = bounded::<TapFrame>(1000);
    let tap = match args.tap_to {
        Some(to) => {
            let sock = UdpSocket::bind(SocketAddr::new(LOCAL, 0))?;
            println!("call_relay: tap from={} to={to}", sock.local_addr()?);
            Some((to, spawn_tap_sender(sock, to, tap_rx)?))
        }
        None => None,
    };
    let mut calls = Vec::new();
    for i in 0..args.calls {
        let socks = [bind(args.base_port, 2 * i)?, bind(args.base_port, 2 * i + 1)?];
        let local = [socks[0].local_addr()?, socks[1].local_addr()?];
        let remotes = [with_port_offset(args.remote_a, 2 * i)?, with_port_offset(args.remote_b, 2 * i)?];
        let path = args.out_dir.join(format!("call-{i}.opus"));
        // The file is opened here, on the control thread, never on a shard.
        let sink = FileSink::create(&path, FileSinkConfig::default())?;
        let sent = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
        let received = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
        let arrivals = Arc::new(Arrivals::new());
        let transmit = UdpLegs { sockets: [socks[0].try_clone()?, socks[1].try_clone()?], remotes, sent: sent.clone() };
        let config = SessionConfig::new(
            format!("relay-{i}"),
            leg_config(args.codec_a, remotes[0]),
            leg_config(args.codec_b, remotes[1]),
        );
        let id = rt.add_call(CallSpec::new(config, Box::new(transmit)).with_sink(Box::new(sink)))?;
        if tap.is_some() {
            rt.add_tap(id, TapKind::Listen(Listen::MONO), tap_tx.clone())?;
        }
        for (leg, sock) in [Leg::A, Leg::B].into_iter().zip(socks) {
            threads.push(spawn_receiver(sock, rt.handle(), id, leg, received.clone(), arrivals.clone(), stop.clone())?);
        }
        println!(
            "call_relay: call {i} leg_a={} leg_b={} remote_a={} remote_b={} codec_a={:?} codec_b={:?}",
            local[0], local[1], remotes[0], remotes[1], args.codec_a, args.codec_b
        );
        calls.push(Call { index: i, id, local, remotes, sent, received, arrivals, path });
    }
    drop(tap_tx);
    println!("call_relay: ready shards={} calls={}", rt.shards(), calls.len());

    // Run for the duration, draining events.
    let end = Instant::now() + Duration::from_secs_f64(args.duration.max(0.0));
    let mut tally = Tally::default();
    while Instant::now() < end {
        if let Ok(ev) =
            events.recv_timeout(end.saturating_duration_since(Instant::now()).min(Duration::from_millis(100)))
        {
            tally.note(ev);
        }
    }
    for c in &calls {
        rt.disconnect(c.id, EndCause::Other("relay duration elapsed".into()), None)?;
    }
    let wait = Instant::now() + Duration::from_secs(10);
    while tally.finished.len() < calls.len() && Instant::now() < wait {
        if let Ok(ev) = events.recv_timeout(Duration::from_millis(100)) {
            tally.note(ev);
        }
    }
    let stats = rt.shutdown();
    for ev in events.try_iter() {
        tally.note(ev);
    }
    let Tally { finished, recorded, ingress } = tally;
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let tap_sent = tap.map(|(to, t)| (to, t.join().unwrap_or(0)));

    let mut sent_to: BTreeMap<SocketAddr, u64> = BTreeMap::new();
    for c in &calls {
        let (start_ns, dur_ms, sent) = finished.get(&c.id).copied().unwrap_or((0, 0, [0, 0]));
        println!(
            "call_relay: call {} finished duration_ms={dur_ms} sent_a={} sent_b={} received_a={} received_b={} \
             arrivals_a_ms={} arrivals_b_ms={} recording={} bytes={}",
            c.index,
            sent[0],
            sent[1],
            c.received[0].load(Ordering::Relaxed),
            c.received[1].load(Ordering::Relaxed),
            c.arrivals.span_ms(Leg::A, start_ns),
            c.arrivals.span_ms(Leg::B, start_ns),
            c.path.display(),
            recorded.get(&c.id).copied().unwrap_or(0),
        );
        if let Some(counters) = ingress.get(&c.id) {
            for (name, k) in ["a", "b"].iter().zip(counters) {
                println!(
                    "call_relay: call {} ingress_{name} datagrams={} accepted={} foreign_source={} malformed={} \
                     rtcp={} duplicate={} unknown_payload_type={} probation={} bad_sequence={} too_old={} \
                     ssrc_changes={}",
                    c.index,
                    k.datagrams,
                    k.accepted,
                    k.foreign_source,
                    k.malformed,
                    k.rtcp,
                    k.duplicate,
                    k.unknown_payload_type,
                    k.probation,
                    k.bad_sequence,
                    k.too_old,
                    k.ssrc_changes,
                );
            }
        }
        for leg in 0..2 {
            *sent_to.entry(c.remotes[leg]).or_default() += c.sent[leg].load(Ordering::Relaxed);
        }
        let _ = c.local;
    }
    if let Some((to, n)) = tap_sent {
        *sent_to.entry(to).or_default() += n;
    }
    for (addr, n) in &sent_to {
        println!("call_relay: sent_to {addr} packets={n}");
    }
    let l = stats.lateness();
    println!(
        "call_relay: lateness ticks={} p50_us={} p99_us={} max_us={} mean_us={} queue_full_drops={}",
        l.count, l.p50_us, l.p99_us, l.max_us, l.mean_us, stats.queue_full_drops
    );
    if finished.len() < calls.len() {
        return Err("some calls did not finish".into());
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("call_relay: {e}");
            ExitCode::FAILURE
        }
    }
}
