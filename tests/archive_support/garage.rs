//! A real Garage cluster on loopback for the archive tests and the throughput example:
//! three (or more) `garage server` processes, each with its own RPC and S3 port and its own
//! metadata and data folders, replication factor 3, the layout applied with the garage
//! CLI, one bucket and one key. Everything is killed (by the pids this harness started)
//! and removed on drop.
//!
//! `garage` is looked up on PATH, then in `~/.cargo/bin` (where `cargo install --locked
//! garage` puts it). When it is absent [`GarageCluster::start`] prints a reason and returns
//! `None`; under `JYQQ_REQUIRE_SHARED_DATA=1` it panics instead (CI installs it).
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The S3 region every node is configured with.
pub const REGION: &str = "garage";
/// The bucket created for the tests.
pub const BUCKET: &str = "recordings";
/// Access key id imported into the cluster (Garage's form: `GK` + 24 hex digits).
pub const KEY_ID: &str = "GK0123456789abcdef01234567";
/// Its secret (64 hex digits).
pub const KEY_SECRET: &str = "7a5c1e0f9b3d2a4c6e8f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d";
const RPC_SECRET: &str = "c3ea8cb80333d04e208d136698b1a01ae370d463f0d435ab2177510b3478bf44";

/// One node of the cluster.
pub struct Node {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub rpc_port: u16,
    pub s3_port: u16,
    child: Option<Child>,
}

impl Node {
    /// The node's S3 endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// Whether the node's process is running.
    pub fn running(&self) -> bool {
        self.child.is_some()
    }
}

/// A running cluster (see the module docs).
pub struct GarageCluster {
    pub bin: PathBuf,
    pub root: PathBuf,
    pub nodes: Vec<Node>,
    /// Process start arguments prepended to `garage` (e.g. `nice -n 10`), empty by default.
    prefix: Vec<String>,
}

/// The `garage` binary, or `None` (with a printed reason; a panic under
/// `JYQQ_REQUIRE_SHARED_DATA=1`).
pub fn garage_bin() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("garage")).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cargo/bin/garage"));
    }
    if let Some(b) = candidates.into_iter().find(|p| p.is_file()) {
        return Some(b);
    }
    if std::env::var("JYQQ_REQUIRE_SHARED_DATA").as_deref() == Ok("1") {
        panic!("garage is not installed but JYQQ_REQUIRE_SHARED_DATA=1 (.ci/run installs it: cargo install --locked garage)");
    }
    eprintln!(
        "SKIP: garage not installed (cargo install --locked garage; JYQQ_REQUIRE_SHARED_DATA=1 makes this a failure)"
    );
    None
}

fn free_port() -> u16 {
    // Bound to port 0 then released: the kernel's pick, free at this moment.
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

impl GarageCluster {
    /// Starts `n` nodes under a fresh folder named after `tag`, connects them, applies a
    /// layout (zone `dc1`, 1 GB each, replication factor 3), creates [`BUCKET`] and imports
    /// the key [`KEY_ID`] with read, write and owner rights. `None` when garage is absent.
    pub fn start(tag: &str, n: usize) -> Option<GarageCluster> {
        GarageCluster::start_with(tag, n, Vec::new())
    }

    /// As [`start`](Self::start), each node started through `prefix` (e.g. `["nice", "-n", "10"]`).
    pub fn start_with(tag: &str, n: usize, prefix: Vec<String>) -> Option<GarageCluster> {
        let bin = garage_bin()?;
        let root = std::env::temp_dir().join(format!("jyqq-garage-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let mut c = GarageCluster { bin, root, nodes: Vec::new(), prefix };
        for i in 0..n {
            let dir = c.root.join(format!("node{i}"));
            std::fs::create_dir_all(dir.join("meta")).expect("node folder");
            std::fs::create_dir_all(dir.join("data")).expect("node folder");
            let (rpc_port, s3_port) = (free_port(), free_port());
            let config = dir.join("garage.toml");
            std::fs::write(
                &config,
                format!(
                    r#"metadata_dir = "{meta}"
data_dir = "{data}"
db_engine = "sqlite"
metadata_fsync = false
data_fsync = false
compression_level = "none"
replication_factor = 3
consistency_mode = "consistent"
rpc_bind_addr = "127.0.0.1:{rpc_port}"
rpc_public_addr = "127.0.0.1:{rpc_port}"
rpc_secret = "{RPC_SECRET}"

[s3_api]
s3_region = "{REGION}"
api_bind_addr = "127.0.0.1:{s3_port}"
root_domain = ".s3.garage.localhost"
"#,
                    meta = dir.join("meta").display(),
                    data = dir.join("data").display(),
                ),
            )
            .expect("garage config");
            c.nodes.push(Node { dir, config, rpc_port, s3_port, child: None });
        }
        for i in 0..n {
            c.start_node(i);
        }
        c.setup();
        Some(c)
    }

    /// Runs the garage CLI against node `i`'s config; panics with its output on failure.
    pub fn cli(&self, i: usize, args: &[&str]) -> String {
        let t0 = Instant::now();
        loop {
            let out = Command::new(&self.bin)
                .arg("-c")
                .arg(&self.nodes[i].config)
                .args(args)
                .env("RUST_LOG", "warn")
                .output()
                .expect("run garage");
            if out.status.success() {
                return String::from_utf8_lossy(&out.stdout).into_owned();
            }
            // The node may still be starting (RPC not up yet): retry for a while.
            if t0.elapsed() > Duration::from_secs(60) {
                panic!(
                    "garage {args:?} failed: {}\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn setup(&mut self) {
        let ids: Vec<String> =
            (0..self.nodes.len()).map(|i| self.cli(i, &["node", "id", "-q"]).trim().to_owned()).collect();
        for id in &ids[1..] {
            self.cli(0, &["node", "connect", id]);
        }
        // Restarted nodes find each other through bootstrap_peers (a deployment's config).
        let peers = ids.iter().map(|id| format!("\"{id}\"")).collect::<Vec<_>>().join(", ");
        for n in &self.nodes {
            let text = std::fs::read_to_string(&n.config).expect("config");
            let text = text.replacen("[s3_api]", &format!("bootstrap_peers = [{peers}]\n\n[s3_api]"), 1);
            std::fs::write(&n.config, text).expect("config");
        }
        for id in &ids {
            let short = id.split('@').next().unwrap_or(id);
            self.cli(0, &["layout", "assign", "-z", "dc1", "-c", "1G", short]);
        }
        self.cli(0, &["layout", "apply", "--version", "1"]);
        self.cli(0, &["bucket", "create", BUCKET]);
        self.cli(0, &["key", "import", "--yes", "-n", "jyqq-test", KEY_ID, KEY_SECRET]);
        self.cli(0, &["bucket", "allow", "--read", "--write", "--owner", BUCKET, "--key", KEY_ID]);
        self.wait_ready(Duration::from_secs(60));
    }

    /// Waits until every running node answers S3 requests (an anonymous GET on the S3
    /// port returns an HTTP status line).
    pub fn wait_ready(&self, limit: Duration) {
        let t0 = Instant::now();
        for n in self.nodes.iter().filter(|n| n.running()) {
            while !http_answers(n.s3_port) {
                assert!(t0.elapsed() < limit, "garage S3 port {} not answering", n.s3_port);
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// Starts (or restarts, on the same folders and ports) node `i`.
    pub fn start_node(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        if node.child.is_some() {
            return;
        }
        let log = std::fs::OpenOptions::new().create(true).append(true).open(node.dir.join("garage.log")).expect("log");
        let mut cmd = match self.prefix.split_first() {
            Some((p, rest)) => {
                let mut c = Command::new(p);
                c.args(rest).arg(&self.bin);
                c
            }
            None => Command::new(&self.bin),
        };
        let child = cmd
            .arg("-c")
            .arg(&node.config)
            .arg("server")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start garage");
        node.child = Some(child);
    }

    /// SIGKILLs node `i` (the process this harness started) and reaps it.
    pub fn kill_node(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The pids of the running nodes.
    pub fn pids(&self) -> Vec<u32> {
        self.nodes.iter().filter_map(|n| n.child.as_ref().map(Child::id)).collect()
    }

    /// All S3 endpoints, comma-separated.
    pub fn endpoints(&self) -> String {
        self.nodes.iter().map(Node::endpoint).collect::<Vec<_>>().join(",")
    }
}

impl Drop for GarageCluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill_node(i);
        }
        if std::thread::panicking() {
            eprintln!("garage cluster kept for inspection: {}", self.root.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

/// Whether something on 127.0.0.1:`port` answers an HTTP request.
fn http_answers(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.1 ")
}

/// Removes a folder tree if present (test set-up).
pub fn fresh_dir(p: &Path) {
    let _ = std::fs::remove_dir_all(p);
    std::fs::create_dir_all(p).expect("folder");
}
