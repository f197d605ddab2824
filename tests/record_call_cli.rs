//! The `record_call` example as a user runs it: the embedded default, and bad inputs that
//! must give a clear error and a non-zero exit, never a panic.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The example binary cargo built for this test run: `cargo test` builds examples into
/// `target/<profile>/examples/record_call-<hash>`; the newest such executable is this build's.
fn record_call() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?.join("examples");
    let newest = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with("record_call-") && !n.contains('.')
        })
        // `cargo test --all-targets` also builds the example as a libtest harness (same name
        // pattern); only the real program answers `--version`.
        .filter(|e| Command::new(e.path()).arg("--version").output().is_ok_and(|o| o.status.success()))
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .map(|e| e.path());
    if newest.is_none() {
        if std::env::var("JYQQ_REQUIRE_SHARED_DATA").as_deref() == Ok("1") {
            panic!("record_call example not built in {}", dir.display());
        }
        eprintln!("SKIP: record_call example not built in {} (run `cargo test --all-targets`)", dir.display());
    }
    newest
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("jyqq-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(bin: &Path, args: &[&str]) -> Output {
    Command::new(bin).args(args).output().expect("run record_call")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn default_input_records_one_call() {
    let Some(bin) = record_call() else { return };
    let out = tmp("default");
    let o = run(&bin, &["--out-dir", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("embedded default call: 1 call(s)"), "{text}");
    assert!(text.contains("0x1A2B3C4D") && text.contains("0x5E6F7081"), "{text}");
    let ogg = std::fs::read(out.join("call-1.opus")).expect("call-1.opus written");
    let info = jyqq_media::record::read_ogg_opus(&ogg).unwrap();
    assert!((info.duration().as_secs_f64() - 18.776).abs() < 0.021, "{:?}", info.duration());
}

#[test]
fn not_a_capture_is_a_clear_error() {
    let Some(bin) = record_call() else { return };
    let d = tmp("notcap");
    let f = d.join("notes.txt");
    std::fs::write(&f, b"this is not a packet capture, just some text\n").unwrap();
    let o = run(&bin, &[f.to_str().unwrap(), "--out-dir", d.to_str().unwrap()]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("error:") && e.to_lowercase().contains("pcap"), "{e}");
    assert!(!e.contains("panicked"), "{e}");
}

#[test]
fn capture_without_rtp_is_a_clear_error() {
    let Some(bin) = record_call() else { return };
    let d = tmp("nortp");
    // One UDP datagram of text (not RTP) in an Ethernet pcap.
    let mut frame = Vec::new();
    etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .udp(4000, 4002)
        .write(&mut frame, b"hello, nothing here looks like RTP at all")
        .unwrap();
    let mut w = pcap_file::pcap::PcapWriter::new(Vec::new()).unwrap();
    w.write_packet(&pcap_file::pcap::PcapPacket::new(std::time::Duration::from_secs(1), frame.len() as u32, &frame))
        .unwrap();
    let f = d.join("nortp.pcap");
    std::fs::write(&f, w.into_writer()).unwrap();
    let o = run(&bin, &[f.to_str().unwrap(), "--out-dir", d.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no RTP stream"), "{}", stderr(&o));
}

#[test]
fn truncated_capture_fails_unless_allowed() {
    let Some(bin) = record_call() else { return };
    let d = tmp("trunc");
    let full = include_bytes!("../examples/data/default_call.pcap");
    let f = d.join("cut.pcap");
    std::fs::write(&f, &full[..full.len() / 2 + 7]).unwrap();
    let o = run(&bin, &[f.to_str().unwrap(), "--out-dir", d.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("truncated"), "{}", stderr(&o));
    assert!(!d.join("call-1.opus").exists(), "nothing written on failure");
    let o = run(&bin, &[f.to_str().unwrap(), "--out-dir", d.to_str().unwrap(), "--allow-truncated"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(d.join("call-1.opus").exists());
}

#[test]
fn unsupported_codec_is_named() {
    let Some(bin) = record_call() else { return };
    let Some(data) = common::shared_data() else { return };
    let d = tmp("g729");
    let f = data.join("rtp/rtpproxy/rtp_analyze/lost.o.rtp");
    let o = run(&bin, &[f.to_str().unwrap(), "--out-dir", d.to_str().unwrap()]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("unsupported codec G729/8000 (payload type 18)"), "{e}");
}

#[test]
fn missing_call_number_is_a_clear_error() {
    let Some(bin) = record_call() else { return };
    let d = tmp("nocall");
    let o = run(&bin, &["--call", "2", "--out-dir", d.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("call 2 not found: the capture has 1 call(s)"), "{}", stderr(&o));
}
