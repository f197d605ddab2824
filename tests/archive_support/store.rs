//! Direct access to the test bucket, independent of the archiver: listings, reads, and raw
//! HTTP requests on presigned URLs (to send headers the client would not).
#![allow(dead_code)]

use super::garage::{BUCKET, KEY_ID, KEY_SECRET, REGION};
use base64::Engine;
use futures::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::signer::Signer;
use object_store::ObjectStore;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::Duration;

/// A client on one endpoint with its own runtime.
pub struct Bucket {
    store: AmazonS3,
    rt: tokio::runtime::Runtime,
}

impl Bucket {
    /// A client of the test bucket at `endpoint`.
    pub fn new(endpoint: &str) -> Bucket {
        let store = AmazonS3Builder::new()
            .with_endpoint(endpoint)
            .with_region(REGION)
            .with_bucket_name(BUCKET)
            .with_access_key_id(KEY_ID)
            .with_secret_access_key(KEY_SECRET)
            .with_allow_http(true)
            .build()
            .expect("client");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        Bucket { store, rt }
    }

    /// Every key in the bucket with its size.
    pub fn list(&self) -> BTreeMap<String, u64> {
        let metas: Vec<object_store::ObjectMeta> =
            self.rt.block_on(self.store.list(None).try_collect()).expect("list bucket");
        metas.into_iter().map(|m| (m.location.to_string(), m.size)).collect()
    }

    /// The object's bytes.
    pub fn get(&self, key: &str) -> Vec<u8> {
        let p = ObjectPath::from(key);
        self.rt
            .block_on(async { self.store.get(&p).await?.bytes().await })
            .unwrap_or_else(|e| panic!("GET {key}: {e}"))
            .to_vec()
    }

    /// A presigned URL for `method` on `key` (query-string SigV4: only `host` is signed, so
    /// further headers can be added to the request).
    pub fn presigned(&self, method: http::Method, key: &str) -> url::Url {
        let p = ObjectPath::from(key);
        self.rt.block_on(self.store.signed_url(method, &p, Duration::from_secs(300))).expect("presign")
    }
}

/// An HTTP/1.1 response: status and headers (lower-case names).
pub struct Response {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

/// Sends `method` to the presigned `url` with extra `headers` and `body` over a plain TCP
/// connection to 127.0.0.1, and reads the whole response.
pub fn raw_request(method: &str, url: &url::Url, headers: &[(&str, String)], body: &[u8]) -> Response {
    let port = url.port().expect("port");
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("response");
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").expect("header end");
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse().ok()).expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Response { status, headers, body: out[split + 4..].to_vec() }
}

/// Base64 (standard alphabet, padded) of SHA-256 of `bytes`: the `x-amz-checksum-sha256` value.
pub fn checksum_header(bytes: &[u8]) -> String {
    use sha2::Digest;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(bytes))
}
