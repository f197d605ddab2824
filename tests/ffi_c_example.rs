//! The C ABI from C: examples/c/record_call.c records a real capture's call through
//! `jyqq_*` (checked against the Rust replay, our Ogg reader and ffmpeg), and
//! tests/c/ffi_misuse.c feeds bad input to every kind of entry point. Both are linked
//! against the static library `cargo test` builds beside the rlib, compiled with `cc`,
//! and run again under valgrind (zero errors, zero definite or indirect leaks) when it
//! is installed (CI installs it: `JYQQ_REQUIRE_SHARED_DATA=1` makes its absence a failure).

mod common;

use common::{have_tool, shared_file};
use jyqq_media::capture::read_capture;
use jyqq_media::record::read_ogg_opus;
use jyqq_media::replay::{record_capture, ReplayOptions};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const CAPTURE: &str = "rtp/wireshark-samples/SIP_DTMF2.pcap";

/// What `cargo rustc --lib --crate-type staticlib -- --print native-static-libs` lists.
const NATIVE_LIBS: &[&str] = &["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-lm", "-ldl", "-lc"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `libjyqq_media.a`: `cargo test` writes it to `target/<profile>/deps/` together with the
/// rlib this test links (one rustc run emits every crate type); `cargo build --lib` to
/// `target/<profile>/`. Built with `cargo build --lib` when neither exists.
fn static_lib() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("deps dir");
    let profile_dir = deps.parent().expect("profile dir");
    for p in [deps.join("libjyqq_media.a"), profile_dir.join("libjyqq_media.a")] {
        if p.is_file() {
            return p;
        }
    }
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(["build", "--lib"]).current_dir(root());
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    if let Some(target) = profile_dir.parent() {
        cmd.env("CARGO_TARGET_DIR", target);
    }
    let st = cmd.status().expect("run cargo build --lib");
    assert!(st.success(), "cargo build --lib failed");
    let p = profile_dir.join("libjyqq_media.a");
    assert!(p.is_file(), "{} not built", p.display());
    p
}

/// Compiles `source` (C99, all warnings as errors) against the header and the static
/// library, or the shared one (`libjyqq_media.so` beside it, found through an rpath).
fn compile_with(source: &str, name: &str, shared: bool) -> PathBuf {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let mut cmd = Command::new(&cc);
    cmd.args(["-std=c99", "-D_DEFAULT_SOURCE", "-Wall", "-Wextra", "-pedantic", "-Werror", "-g"])
        .arg(format!("-I{}", root().join("include").display()))
        .arg(root().join(source));
    let lib = static_lib();
    if shared {
        let dir = lib.parent().expect("lib dir");
        assert!(dir.join("libjyqq_media.so").is_file(), "no libjyqq_media.so in {}", dir.display());
        cmd.arg(format!("-L{}", dir.display())).arg(format!("-Wl,-rpath,{}", dir.display())).arg("-ljyqq_media");
    } else {
        cmd.arg(lib).args(NATIVE_LIBS);
    }
    let o = cmd.arg("-o").arg(&out).output().expect("run the C compiler");
    assert!(o.status.success(), "{cc} failed on {source}:\n{}", String::from_utf8_lossy(&o.stderr));
    out
}

fn compile(source: &str, name: &str) -> PathBuf {
    compile_with(source, name, false)
}

/// Runs `program args` (under valgrind when `valgrind` is true); returns stdout.
fn run(program: &Path, args: &[&Path], valgrind: bool) -> String {
    let mut cmd = if valgrind {
        let mut c = Command::new("valgrind");
        c.args(["-q", "--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect"]);
        c.arg(program);
        c
    } else {
        Command::new(program)
    };
    let o = cmd.args(args).output().expect("run the C program");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{} (valgrind: {valgrind}) failed: {:?}\n{err}", program.display(), o.status);
    if valgrind {
        assert!(err.trim().is_empty(), "valgrind reported:\n{err}");
    }
    String::from_utf8(o.stdout).expect("UTF-8 output")
}

/// The `key value` lines the example prints (the last value of each key; `digit` lines
/// collected in order).
fn parse(out: &str) -> (HashMap<String, String>, Vec<String>) {
    let mut kv = HashMap::new();
    let mut digits = Vec::new();
    for l in out.lines() {
        let (k, v) = l.split_once(' ').unwrap_or((l, ""));
        if k == "digit" {
            let j: serde_json::Value = serde_json::from_str(v).expect("digit event JSON");
            assert_eq!(j["type"], "digit");
            digits.push(j["digit"].as_str().expect("digit").to_string());
        } else {
            kv.insert(k.to_string(), v.to_string());
        }
    }
    (kv, digits)
}

fn num(kv: &HashMap<String, String>, k: &str) -> u64 {
    kv.get(k).unwrap_or_else(|| panic!("no {k} line")).parse().unwrap_or_else(|_| panic!("{k} is not a number"))
}

#[test]
fn c_example_records_a_capture() {
    let Some(bytes) = shared_file(CAPTURE) else { return };
    if !have_tool("cc") {
        return;
    }
    let capture_path = root().join("../shared/data").join(CAPTURE);
    let exe = compile("examples/c/record_call.c", "record_call");
    let opus = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ffi_call.opus");
    let _ = std::fs::remove_file(&opus);
    let out = run(&exe, &[&capture_path, &opus], false);
    let (kv, digits) = parse(&out);

    assert_eq!(kv["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(num(&kv, "calls"), 1);
    assert_eq!(num(&kv, "datagrams"), 1331, "both legs' RTP (665 + 666 packets)");
    assert_eq!((num(&kv, "rate_hz"), num(&kv, "samples_per_frame")), (8000, 160));
    // RFC 4733 digits on leg B, as the capture's manifest lists them.
    assert_eq!(digits, ["6", "7", "8", "9", "1", "2", "3"]);
    // Passthrough (the default; PCMU both ways, nothing mixed in): each audio packet is
    // forwarded as it arrives — leg A's 665 to leg B, leg B's 666 less its 35 RFC 4733
    // events (not forwarded) to leg A. The stereo tap gets one frame per 20 ms tick from the
    // second tick on.
    assert_eq!((num(&kv, "transmit_a"), num(&kv, "transmit_b")), (631, 665));
    let ticks = num(&kv, "tap_frames") + 1;
    assert!((995..=1005).contains(&ticks), "{ticks} ticks for a 20 s call");
    assert_eq!(num(&kv, "eos"), 1);
    assert_eq!((num(&kv, "channels"), num(&kv, "conformant")), (2, 1));
    assert!(num(&kv, "summary_bytes") > 100);

    // The file: our reader, the Rust replay of the same call, ffmpeg.
    let file = std::fs::read(&opus).expect("call.opus written");
    assert_eq!(file.len() as u64, num(&kv, "bytes"));
    let info = read_ogg_opus(&file).expect("Ogg Opus");
    assert!(info.is_conformant() && info.eos_on_last_page, "{info:?}");
    assert_eq!(info.pages as u64, num(&kv, "pages"));
    assert_eq!(info.duration().as_nanos() as u64, num(&kv, "duration_ns"));
    let mut opts = ReplayOptions::default();
    opts.call = Some(1);
    let rust = record_capture(&read_capture(&bytes).expect("capture"), &opts).expect("replay");
    let diff = info.duration().abs_diff(rust[0].duration);
    assert!(
        diff <= Duration::from_millis(20),
        "C API recording {:?} vs Rust replay {:?}",
        info.duration(),
        rust[0].duration
    );
    if have_tool("ffmpeg") {
        let o = Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(&opus)
            .args(["-f", "s16le", "-ac", "2", "-ar", "48000", "-"])
            .output()
            .expect("run ffmpeg");
        assert!(o.status.success() && o.stderr.is_empty(), "ffmpeg: {}", String::from_utf8_lossy(&o.stderr));
        let decoded = Duration::from_secs_f64(o.stdout.len() as f64 / 4.0 / 48_000.0);
        assert!(decoded.abs_diff(info.duration()) <= Duration::from_millis(20), "ffmpeg decodes {decoded:?}");
    }

    // The same run under valgrind: clean, and the same bytes (the engine is deterministic).
    if have_tool("valgrind") {
        let vg = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ffi_call_valgrind.opus");
        let out2 = run(&exe, &[&capture_path, &vg], true);
        assert_eq!(parse(&out2).1, digits);
        assert!(std::fs::read(&vg).expect("written") == file, "valgrind run wrote other bytes");
    }
}

#[test]
fn c_misuse_gets_error_codes_not_crashes() {
    if !have_tool("cc") {
        return;
    }
    let exe = compile("tests/c/ffi_misuse.c", "ffi_misuse");
    let out = run(&exe, &[], false);
    let n: u32 = out.trim().strip_prefix("ok ").and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{out}"));
    assert!(n >= 100, "{n} checks");
    if have_tool("valgrind") {
        assert_eq!(run(&exe, &[], true), out);
    }
    // The same program linked against the shared library (every symbol exported).
    let shared = compile_with("tests/c/ffi_misuse.c", "ffi_misuse_shared", true);
    assert_eq!(run(&shared, &[], false), out);
}
