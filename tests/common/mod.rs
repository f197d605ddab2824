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
