//! Helpers shared by the integration tests: locating ../shared/data.
#![allow(dead_code)]

use std::path::PathBuf;

/// The `../shared/data` folder beside the repository, or `None` (with a printed reason)
/// when it is absent. Under `JYQQ_REQUIRE_SHARED_DATA=1` absence is a test failure.
pub fn shared_data() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if dir.join("MANIFEST.md").is_file() {
        return Some(dir);
    }
    if std::env::var("JYQQ_REQUIRE_SHARED_DATA").as_deref() == Ok("1") {
        panic!("JYQQ_REQUIRE_SHARED_DATA=1 but {} is missing", dir.display());
    }
    eprintln!("SKIP: {} is absent (set JYQQ_REQUIRE_SHARED_DATA=1 to make this a failure)", dir.display());
    None
}

/// Reads `rel` under ../shared/data, or `None` when the folder is absent (see [`shared_data`]).
/// A missing file inside a present folder is a failure.
pub fn shared_file(rel: &str) -> Option<Vec<u8>> {
    let dir = shared_data()?;
    let p = dir.join(rel);
    Some(std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
}

/// Whether an external tool (tshark, ffmpeg, …) is on PATH. Under
/// `JYQQ_REQUIRE_SHARED_DATA=1` a missing tool is a failure, since CI installs them.
pub fn have_tool(name: &str) -> bool {
    let ok = std::process::Command::new(name)
        .arg("-version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok();
    if !ok {
        if std::env::var("JYQQ_REQUIRE_SHARED_DATA").as_deref() == Ok("1") {
            panic!("{name} is not installed but JYQQ_REQUIRE_SHARED_DATA=1 (CI installs it)");
        }
        eprintln!("SKIP: {name} not installed");
    }
    ok
}

/// The example binary `name` built for this test run, in `target/<profile>/examples/`.
///
/// `cargo test` builds examples as programs (and uplifts them to `examples/<name>`); under
/// `--all-targets` it also builds each example's libtest harness as `<name>-<hash>`. The newest
/// candidate that answers `--version` with `<name> ` is the program. Under
/// `JYQQ_REQUIRE_SHARED_DATA=1` a missing program is a failure.
pub fn example_bin(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?.join("examples");
    let prefix = format!("{name}-");
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n == name || (n.starts_with(&prefix) && !n.contains('.'))
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    let want = format!("{name} ");
    let bin = found.into_iter().map(|(_, p)| p).find(|p| {
        std::process::Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).starts_with(&want))
    });
    if bin.is_none() {
        if std::env::var("JYQQ_REQUIRE_SHARED_DATA").as_deref() == Ok("1") {
            panic!("{name} example not built in {}", dir.display());
        }
        eprintln!("SKIP: {name} example not built in {} (run `cargo test`)", dir.display());
    }
    bin
}

/// `key=value` of a `call_relay` output line (the example's format, `examples/call_relay.rs`).
pub fn relay_field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {key}= in {line:?}"))
}

/// Reads `call_relay`'s output up to its `call_relay: ready` line and returns the lines so
/// far (bound ports, tap source); panics if the relay exits first.
pub fn relay_ready(out: &mut impl std::io::BufRead) -> Vec<String> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap_or(0) > 0, "relay exited early: {head:?}");
        let ready = line.contains("call_relay: ready");
        head.push(line);
        if ready {
            return head;
        }
    }
}

/// An accepted RTP packet as ingress hands it on: SSRC `ssrc`, payload type `pt`, extended
/// sequence number `seq` and timestamp `ts` (RTP ticks), arrival at `arrival_ms`, epoch 0.
pub fn media_packet(
    ssrc: u32,
    pt: u8,
    seq: u64,
    ts: u64,
    arrival_ms: u64,
    payload: &[u8],
) -> jyqq_media::rtp::MediaPacket {
    use jyqq_media::rtp::{ExtTimestamp, MediaPacket, PayloadType, SeqNo, Ssrc, StreamEpoch};
    MediaPacket {
        arrival: jyqq_media::HostTime::from_millis(arrival_ms),
        ssrc: Ssrc(ssrc),
        payload_type: PayloadType(pt),
        marker: false,
        seq: SeqNo(seq),
        timestamp: ExtTimestamp(ts),
        epoch: StreamEpoch(0),
        payload: bytes::Bytes::copy_from_slice(payload),
    }
}
