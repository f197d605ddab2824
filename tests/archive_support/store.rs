//! Direct access to the test bucket, independent of the archiver: listings, reads, and raw
//! signed HTTP requests (to send headers the client would not).
#![allow(dead_code)]

use super::garage::{BUCKET, KEY_ID, KEY_SECRET, REGION};
use base64::Engine;
use futures::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, AwsAuthorizer, AwsCredential};
use object_store::client::{HttpRequest, HttpRequestBody};
use object_store::path::Path as ObjectPath;
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
}

/// An HTTP/1.1 response: status and headers (lower-case names).
pub struct Response {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

/// Sends a SigV4-signed `method` request for `key` of the test bucket to 127.0.0.1:`port`
/// with the extra `headers` (signed too, as S3 requires of `x-amz-*` headers; the payload
/// hash `x-amz-content-sha256` is that of `body`), over a plain TCP connection, and reads
/// the whole response. For requests the client would never send (a wrong checksum).
pub fn signed_request(method: &str, port: u16, key: &str, headers: &[(&str, String)], body: &[u8]) -> Response {
    let cred = AwsCredential { key_id: KEY_ID.into(), secret_key: KEY_SECRET.into(), token: None };
    let auth = AwsAuthorizer::new(&cred, "s3", REGION);
    let mut b = http::Request::builder().method(method).uri(format!("http://127.0.0.1:{port}/{BUCKET}/{key}"));
    for (k, v) in headers {
        b = b.header(*k, v.as_str());
    }
    let mut req: HttpRequest = b.body(HttpRequestBody::from(body.to_vec())).expect("request");
    auth.authorize(&mut req, None);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut text =
        format!("{method} /{BUCKET}/{key} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in req.headers() {
        text.push_str(&format!("{k}: {}\r\n", v.to_str().expect("ascii header")));
    }
    text.push_str("\r\n");
    s.write_all(text.as_bytes()).unwrap();
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
