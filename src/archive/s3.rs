//! The S3 side: [`ArchiveConfig`] (endpoint, region, bucket, credentials — usually from the
//! environment) and [`Archiver`], the handle of the uploader thread.
//!
//! The S3 client is the `object_store` crate (`aws` feature): SigV4-signed requests whose
//! `x-amz-content-sha256` is the body's SHA-256, plus the S3 "additional checksum"
//! `x-amz-checksum-sha256` (base64 SHA-256 of the body). The store recomputes both over the
//! body it received and refuses the PUT (`400 InvalidDigest` / `BadDigest`) when either
//! differs, so an object is never stored with other bytes than the ones hashed here (Garage,
//! AWS S3 and MinIO all check them; the archive tests check Garage refuses a wrong one).
//! The uploader runs on its own thread with a single-threaded tokio runtime; hosts without
//! tokio need nothing else.

use super::sink::{ArchiveQueue, ArchiveSink, Notice};
use super::spool::Spool;
use super::uploader::Uploader;
use super::{ArchiveError, ArchiveEvent, LocalCopy};
use crate::record::file_sink::FileSinkConfig;
use crossbeam_channel::{unbounded, Receiver};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::{ClientOptions, ObjectStore, RetryConfig};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Environment variable: the store's S3 endpoint URL(s), comma-separated (tried in turn
/// when one fails), e.g. `http://10.1.0.11:3900,http://10.1.0.12:3900`.
pub const ENV_ENDPOINT: &str = "JYQQ_ARCHIVE_ENDPOINT";
/// Environment variable: the S3 region the store expects (Garage: its `s3_region`);
/// default `garage`.
pub const ENV_REGION: &str = "JYQQ_ARCHIVE_REGION";
/// Environment variable: the bucket.
pub const ENV_BUCKET: &str = "JYQQ_ARCHIVE_BUCKET";
/// Environment variable: a key prefix naming this media host (e.g. `prison-07`); optional.
pub const ENV_PREFIX: &str = "JYQQ_ARCHIVE_PREFIX";
/// Environment variable: `readback` (default) to read every object back and compare, or `none`.
pub const ENV_VERIFY: &str = "JYQQ_ARCHIVE_VERIFY";
/// Environment variable: `delete` (default) or `keep` the local copy once archived.
pub const ENV_LOCAL: &str = "JYQQ_ARCHIVE_LOCAL";
/// Environment variable: upload rate limit, bytes per second (unset: the default
/// [`DEFAULT_MAX_BYTES_PER_SEC`]; `0`: no limit).
pub const ENV_RATE: &str = "JYQQ_ARCHIVE_MAX_BYTES_PER_SEC";
/// Default upload rate limit, bytes per second (4 MB/s).
pub const DEFAULT_MAX_BYTES_PER_SEC: u64 = 4_000_000;
/// Environment variable of the access key id (the AWS convention).
pub const ENV_ACCESS_KEY: &str = "AWS_ACCESS_KEY_ID";
/// Environment variable of the secret access key (the AWS convention).
pub const ENV_SECRET_KEY: &str = "AWS_SECRET_ACCESS_KEY";

/// Settings of the archive.
#[derive(Clone)]
#[non_exhaustive]
pub struct ArchiveConfig {
    /// The local spool folder (see [`Spool`]); recordings are written there first.
    pub spool_dir: PathBuf,
    /// S3 endpoint URLs (`http://host:port` or `https://…`), tried in turn on failure.
    pub endpoints: Vec<String>,
    /// Region name used in the SigV4 signature (Garage: `s3_region` of its config).
    pub region: String,
    /// Bucket.
    pub bucket: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key (never printed by `Debug`).
    pub secret_access_key: String,
    /// Key prefix (`""`, or ending with `/`): one per media host in a shared bucket.
    pub prefix: String,
    /// Read every object back after the upload and compare its SHA-256 before the local
    /// copy may go (doubles the traffic; on by default).
    pub verify_readback: bool,
    /// What happens to the local copy once the call is archived.
    pub local: LocalCopy,
    /// Uploads in flight at once (≥ 1).
    pub max_concurrent: usize,
    /// Upload rate limit, bytes per second of files started (`None`: as fast as the store
    /// takes them). Bounds the uploader's CPU and network use while it drains a backlog, so
    /// the media threads keep their tick times. Default 4 MB/s: about three 60-s recordings
    /// (Opus + pcap sidecar, 1.5 MB) per second, three times what 50 concurrent calls produce.
    pub max_bytes_per_sec: Option<u64>,
    /// First retry delay after a failed attempt; doubled per attempt (±25 % jitter).
    pub retry_initial: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// Time limit of one request (a PUT or GET of one file).
    pub request_timeout: Duration,
    /// Time limit of a TCP connect.
    pub connect_timeout: Duration,
}

impl fmt::Debug for ArchiveConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArchiveConfig")
            .field("spool_dir", &self.spool_dir)
            .field("endpoints", &self.endpoints)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<hidden>")
            .field("prefix", &self.prefix)
            .field("verify_readback", &self.verify_readback)
            .field("local", &self.local)
            .field("max_concurrent", &self.max_concurrent)
            .field("max_bytes_per_sec", &self.max_bytes_per_sec)
            .field("retry_initial", &self.retry_initial)
            .field("retry_max", &self.retry_max)
            .finish_non_exhaustive()
    }
}

impl ArchiveConfig {
    /// A configuration with the defaults: read-back on, local copy deleted, 4 uploads in
    /// flight, at most 4 MB/s, retries from 0.5 s up to 60 s, 60 s per request, 5 s per
    /// connect, no prefix.
    pub fn new(
        spool_dir: &Path,
        endpoint: &str,
        region: &str,
        bucket: &str,
        access_key_id: &str,
        secret_access_key: &str,
    ) -> ArchiveConfig {
        ArchiveConfig {
            spool_dir: spool_dir.to_path_buf(),
            endpoints: endpoint.split(',').map(|e| e.trim().to_owned()).filter(|e| !e.is_empty()).collect(),
            region: region.to_owned(),
            bucket: bucket.to_owned(),
            access_key_id: access_key_id.to_owned(),
            secret_access_key: secret_access_key.to_owned(),
            prefix: String::new(),
            verify_readback: true,
            local: LocalCopy::Delete,
            max_concurrent: 4,
            max_bytes_per_sec: Some(DEFAULT_MAX_BYTES_PER_SEC),
            retry_initial: Duration::from_millis(500),
            retry_max: Duration::from_secs(60),
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
        }
    }

    /// The configuration from the process environment (see the `ENV_*` constants): the
    /// credentials never need to be in a file the engine reads.
    ///
    /// Errors: [`ArchiveError::Config`] naming a missing or unreadable variable.
    pub fn from_env(spool_dir: &Path) -> Result<ArchiveConfig, ArchiveError> {
        ArchiveConfig::from_vars(spool_dir, |k| std::env::var(k).ok())
    }

    /// As [`from_env`](Self::from_env), reading variables through `var`.
    ///
    /// Errors: [`ArchiveError::Config`] naming a missing or unreadable variable.
    pub fn from_vars(spool_dir: &Path, var: impl Fn(&str) -> Option<String>) -> Result<ArchiveConfig, ArchiveError> {
        let need =
            |k: &str| var(k).filter(|v| !v.is_empty()).ok_or_else(|| ArchiveError::Config(format!("{k} is not set")));
        let mut c = ArchiveConfig::new(
            spool_dir,
            &need(ENV_ENDPOINT)?,
            &var(ENV_REGION).filter(|v| !v.is_empty()).unwrap_or_else(|| "garage".to_owned()),
            &need(ENV_BUCKET)?,
            &need(ENV_ACCESS_KEY)?,
            &need(ENV_SECRET_KEY)?,
        );
        c.prefix = normalise_prefix(&var(ENV_PREFIX).unwrap_or_default());
        c.verify_readback = match var(ENV_VERIFY).as_deref() {
            None | Some("") | Some("readback") => true,
            Some("none") => false,
            Some(v) => return Err(ArchiveError::Config(format!("{ENV_VERIFY}={v}: expected readback or none"))),
        };
        if let Some(v) = var(ENV_RATE).filter(|v| !v.is_empty()) {
            let rate: u64 =
                v.parse().map_err(|_| ArchiveError::Config(format!("{ENV_RATE}={v}: expected bytes per second")))?;
            c.max_bytes_per_sec = (rate > 0).then_some(rate);
        }
        c.local = match var(ENV_LOCAL).as_deref() {
            None | Some("") | Some("delete") => LocalCopy::Delete,
            Some("keep") => LocalCopy::Keep,
            Some(v) => return Err(ArchiveError::Config(format!("{ENV_LOCAL}={v}: expected delete or keep"))),
        };
        Ok(c)
    }

    /// One S3 client per endpoint. Requests are not retried inside the client: the
    /// uploader retries, with events.
    pub(crate) fn clients(&self) -> Result<Vec<AmazonS3>, ArchiveError> {
        if self.endpoints.is_empty() {
            return Err(ArchiveError::Config("no endpoint".into()));
        }
        if self.bucket.is_empty() {
            return Err(ArchiveError::Config("no bucket".into()));
        }
        let retry = RetryConfig { max_retries: 0, retry_timeout: self.request_timeout, ..RetryConfig::default() };
        let opts = ClientOptions::new()
            .with_timeout(self.request_timeout)
            .with_connect_timeout(self.connect_timeout)
            .with_allow_http(true);
        self.endpoints
            .iter()
            .map(|ep| {
                AmazonS3Builder::new()
                    .with_endpoint(ep)
                    .with_region(&self.region)
                    .with_bucket_name(&self.bucket)
                    .with_access_key_id(&self.access_key_id)
                    .with_secret_access_key(&self.secret_access_key)
                    .with_virtual_hosted_style_request(false)
                    .with_checksum_algorithm(object_store::aws::Checksum::SHA256)
                    .with_retry(retry.clone())
                    .with_client_options(opts.clone())
                    .build()
                    .map_err(|e| ArchiveError::Config(format!("{ep}: {e}")))
            })
            .collect()
    }
}

/// `p` with one trailing `/` (or empty).
fn normalise_prefix(p: &str) -> String {
    let p = p.trim_matches('/');
    if p.is_empty() {
        String::new()
    } else {
        format!("{p}/")
    }
}

/// The archive: the uploader thread and the host's handle on it.
///
/// Start it once per process, before any call is recorded (its start walks the spool and
/// queues what an earlier process left). Make sinks with [`Archiver::sink`] (or hand
/// [`Archiver::queue`] to the threads that set up calls); poll [`Archiver::poll_event`]
/// regularly (events are held in memory until polled). Dropping it stops the uploader:
/// files not yet confirmed stay in the spool for the next start.
pub struct Archiver {
    queue: ArchiveQueue,
    events: Receiver<ArchiveEvent>,
    busy: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl Archiver {
    /// Opens the spool, builds the S3 clients, walks `pending/` for what earlier processes
    /// left (sealing unsealed folders as `recovered`, [`ArchiveEvent::Recovered`]) and starts
    /// the uploader thread, which queues those calls first.
    ///
    /// Errors: [`ArchiveError::Config`] (no endpoint or bucket, an endpoint URL the client
    /// rejects), [`ArchiveError::Spool`] (the spool cannot be created, read or sealed).
    pub fn start(cfg: ArchiveConfig) -> Result<Archiver, ArchiveError> {
        let stores = cfg.clients()?.into_iter().map(|s| Arc::new(s) as Arc<dyn ObjectStore>).collect();
        Archiver::start_with(cfg, stores)
    }

    /// As [`start`](Self::start), uploading to the given stores instead of S3 clients built
    /// from the configuration's endpoints (unit tests use `object_store`'s in-memory store).
    pub(crate) fn start_with(cfg: ArchiveConfig, stores: Vec<Arc<dyn ObjectStore>>) -> Result<Archiver, ArchiveError> {
        if stores.is_empty() {
            return Err(ArchiveError::Config("no endpoint".into()));
        }
        let spool = Spool::open(&cfg.spool_dir)?;
        let (tx, rx) = unbounded::<Notice>();
        let (ev_tx, ev_rx) = unbounded();
        // The spool is walked here, before any sink of this process can add a folder: what
        // is found was left by an earlier process. Unsealed folders are calls cut by a crash.
        let left = spool.scan()?;
        for c in left.iter().filter(|c| !c.sealed) {
            spool.seal(&c.folder, None, "recovered")?;
            let _ = ev_tx.send(ArchiveEvent::Recovered { folder: c.folder.clone() });
        }
        let left: Vec<String> = left.into_iter().map(|c| c.folder).collect();
        // One unit of work for the start-up scan, released by the uploader once done.
        let busy = Arc::new(AtomicUsize::new(1));
        let up = Uploader::new(cfg, stores, spool.clone(), ev_tx, busy.clone(), left);
        let thread = std::thread::Builder::new()
            .name("jyqq-archive".into())
            .spawn(move || up.run(rx))
            .map_err(ArchiveError::Spool)?;
        Ok(Archiver { queue: ArchiveQueue::new(tx, busy.clone(), spool), events: ev_rx, busy, thread: Some(thread) })
    }

    /// A handle that makes sinks (cheap to clone, `Send`).
    pub fn queue(&self) -> ArchiveQueue {
        self.queue.clone()
    }

    /// A sink for one call: see [`ArchiveQueue::sink`].
    ///
    /// Errors: the `std::io::Error` of creating the call's spool folder.
    pub fn sink(&self, call_id: &str, start_utc: &str, cfg: FileSinkConfig) -> std::io::Result<ArchiveSink> {
        self.queue.sink(call_id, start_utc, cfg)
    }

    /// The next archive event, if any. Never blocks.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ArchiveEvent> {
        self.events.try_recv().ok()
    }

    /// Work not yet done: notices not yet handled plus files queued or in flight (a call
    /// still recording, waiting for its seal, is not counted).
    pub fn outstanding(&self) -> usize {
        self.busy.load(Ordering::SeqCst)
    }

    /// Blocks (off the media path: a shutdown, a test) until [`outstanding`](Self::outstanding)
    /// is 0 or `timeout` has passed; returns whether it reached 0. Events stay queued.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let t0 = Instant::now();
        while self.outstanding() > 0 {
            if t0.elapsed() >= timeout {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }

    /// Pauses (`true`) or resumes (`false`) the uploads: while paused no upload starts (those
    /// in flight finish); files keep being queued. For a host that keeps its uplink or CPU
    /// for the calls at peak hours.
    pub fn set_paused(&self, paused: bool) {
        self.queue.send(Notice::Pause(paused));
    }

    /// Stops the uploader: uploads in flight are abandoned (their files stay in the spool)
    /// and the thread is joined.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.queue.send(Notice::Shutdown);
            let _ = t.join();
        }
    }
}

impl Drop for Archiver {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_from_environment() {
        let vars = |k: &str| {
            match k {
                ENV_ENDPOINT => Some("http://127.0.0.1:3900, http://127.0.0.1:3910"),
                ENV_BUCKET => Some("recordings"),
                ENV_PREFIX => Some("/prison-07"),
                ENV_ACCESS_KEY => Some("GK0123"),
                ENV_SECRET_KEY => Some("s3cr3t"),
                ENV_LOCAL => Some("keep"),
                ENV_RATE => Some("0"),
                _ => None,
            }
            .map(str::to_owned)
        };
        let c = ArchiveConfig::from_vars(Path::new("/spool"), vars).unwrap();
        assert_eq!(c.endpoints, ["http://127.0.0.1:3900", "http://127.0.0.1:3910"]);
        assert_eq!((c.region.as_str(), c.prefix.as_str()), ("garage", "prison-07/"));
        assert_eq!((c.verify_readback, c.local, c.max_bytes_per_sec), (true, LocalCopy::Keep, None));
        assert!(!format!("{c:?}").contains("s3cr3t"), "the secret is never printed");
        assert_eq!(c.clients().unwrap().len(), 2);
        let missing = ArchiveConfig::from_vars(Path::new("/spool"), |k| if k == ENV_BUCKET { None } else { vars(k) });
        assert!(matches!(missing, Err(ArchiveError::Config(m)) if m.contains(ENV_BUCKET)));
        let bad =
            ArchiveConfig::from_vars(Path::new("/s"), |k| if k == ENV_VERIFY { Some("x".into()) } else { vars(k) });
        assert!(matches!(bad, Err(ArchiveError::Config(_))));
    }
}
