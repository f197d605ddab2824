//! A media host's archive in miniature (feature `archive-s3`): records synthetic calls into
//! the spool, or uploads whatever the spool holds until the store has all of it.
//!
//! ```text
//! archive_upload record --spool DIR --calls N [--seconds S] [--endpoint URL]
//!     records N calls (call-0 … call-N-1) through ArchiveSinks, then stops the uploader
//!     (whatever was not yet stored stays in the spool)
//! archive_upload upload --spool DIR [--max-concurrent K] [--timeout-s T]
//!     rebuilds the queue from the spool and uploads until nothing is left; one line per
//!     event on stdout (`queued KEY [recovered]`, `started KEY`, `uploaded KEY`,
//!     `verified KEY`, `failed KEY …`, `archived FOLDER`), then `idle`
//! ```
//! The store comes from the environment (JYQQ_ARCHIVE_ENDPOINT, JYQQ_ARCHIVE_REGION,
//! JYQQ_ARCHIVE_BUCKET, JYQQ_ARCHIVE_PREFIX, JYQQ_ARCHIVE_VERIFY, JYQQ_ARCHIVE_LOCAL,
//! AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY); `--endpoint` overrides the endpoint.
//! The archive tests SIGKILL the `upload` process in the middle and run it again.

#[path = "../tests/archive_support/calls.rs"]
mod calls;

use clap::{Parser, Subcommand};
use jyqq_media::archive::{ArchiveConfig, ArchiveEvent, Archiver};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Records calls into an archive spool, or uploads a spool to the object store.
#[derive(Parser)]
#[command(name = "archive_upload", version)]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Record synthetic calls into the spool (then stop the uploader).
    Record {
        /// The spool folder.
        #[arg(long)]
        spool: PathBuf,
        /// Calls to record.
        #[arg(long)]
        calls: usize,
        /// Seconds per call.
        #[arg(long, default_value_t = 4.0)]
        seconds: f64,
        /// S3 endpoint, instead of JYQQ_ARCHIVE_ENDPOINT.
        #[arg(long)]
        endpoint: Option<String>,
    },
    /// Upload everything in the spool, printing each event; exit when nothing is left.
    Upload {
        /// The spool folder.
        #[arg(long)]
        spool: PathBuf,
        /// Uploads in flight at once.
        #[arg(long, default_value_t = 4)]
        max_concurrent: usize,
        /// Give up (exit 2) after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout_s: u64,
    },
}

fn config(spool: &std::path::Path, endpoint: Option<String>) -> Result<ArchiveConfig, String> {
    let mut c = ArchiveConfig::from_vars(spool, |k| match (k, &endpoint) {
        ("JYQQ_ARCHIVE_ENDPOINT", Some(e)) => Some(e.clone()),
        _ => std::env::var(k).ok(),
    })
    .map_err(|e| e.to_string())?;
    c.retry_initial = Duration::from_millis(100);
    c.retry_max = Duration::from_secs(2);
    c.connect_timeout = Duration::from_secs(2);
    Ok(c)
}

fn line(e: &ArchiveEvent) -> String {
    match e {
        ArchiveEvent::Queued { key, recovered, .. } => {
            format!("queued {key}{}", if *recovered { " recovered" } else { "" })
        }
        ArchiveEvent::Started { key, .. } => format!("started {key}"),
        ArchiveEvent::Uploaded { key, .. } => format!("uploaded {key}"),
        ArchiveEvent::Verified { key, .. } => format!("verified {key}"),
        ArchiveEvent::Failed { key, attempt, error, retry_in } => {
            format!("failed {key} attempt={attempt} retry_in_ms={} error={error}", retry_in.as_millis())
        }
        ArchiveEvent::CallArchived { folder, .. } => format!("archived {folder}"),
        other => format!("event {other:?}"),
    }
}

fn run(args: Args) -> Result<(), String> {
    match args.cmd {
        Cmd::Record { spool, calls: n, seconds, endpoint } => {
            let a = Archiver::start(config(&spool, endpoint)?).map_err(|e| e.to_string())?;
            let q = a.queue();
            for i in 0..n {
                let c = calls::record_call(&q, &calls::CallSpec::numbered(i, seconds));
                println!("recorded {}", c.folder);
            }
            // The seals are handled before the stop (one channel, in order).
            a.shutdown();
            Ok(())
        }
        Cmd::Upload { spool, max_concurrent, timeout_s } => {
            let mut cfg = config(&spool, None)?;
            cfg.max_concurrent = max_concurrent;
            let mut a = Archiver::start(cfg).map_err(|e| e.to_string())?;
            let mut out = std::io::stdout().lock();
            let t0 = Instant::now();
            loop {
                // Read the counter before draining, so no event of the last work is left behind.
                let idle = a.outstanding() == 0;
                let mut any = false;
                while let Some(e) = a.poll_event() {
                    any = true;
                    let _ = writeln!(out, "{}", line(&e));
                }
                let _ = out.flush();
                if idle && !any {
                    let _ = writeln!(out, "idle");
                    return Ok(());
                }
                if t0.elapsed() > Duration::from_secs(timeout_s) {
                    return Err(format!("{} files still outstanding after {timeout_s} s", a.outstanding()));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
