//! RFC 3161 time-stamp request for a signed manifest.
//!
//! The core cannot reach a time-stamping authority (TSA); it builds the DER
//! `TimeStampReq` (RFC 3161 §2.4.1) over the SHA-256 of the manifest file, and the host
//! sends it (HTTP POST, `Content-Type: application/timestamp-query`, RFC 3161 §3.4) and
//! keeps the reply (`.tsr`) beside the manifest.
//!
//! ```text
//! TimeStampReq ::= SEQUENCE {
//!   version        INTEGER { v1(1) },
//!   messageImprint SEQUENCE { hashAlgorithm AlgorithmIdentifier (sha256, NULL params),
//!                             hashedMessage OCTET STRING (32 bytes) },
//!   nonce          INTEGER OPTIONAL,
//!   certReq        BOOLEAN DEFAULT FALSE }
//! ```

use super::hash_chain::{sha256, Hash32};

/// DER of the AlgorithmIdentifier for SHA-256: OID 2.16.840.1.101.3.4.2.1 with NULL parameters.
const SHA256_ALG_ID: [u8; 15] =
    [0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00];

/// DER `TimeStampReq` (RFC 3161 §2.4.1) for a message whose SHA-256 is `hash`, with the
/// host's `nonce` (a random number it checks in the reply) and certReq = `cert_req`.
pub fn timestamp_request_for_hash(hash: &Hash32, nonce: Option<u64>, cert_req: bool) -> Vec<u8> {
    let mut body = vec![0x02, 0x01, 0x01]; // version v1
    body.extend_from_slice(&[0x30, (SHA256_ALG_ID.len() + 2 + 32) as u8]);
    body.extend_from_slice(&SHA256_ALG_ID);
    body.extend_from_slice(&[0x04, 0x20]);
    body.extend_from_slice(hash);
    if let Some(n) = nonce {
        // Minimal positive two's-complement INTEGER.
        let bytes = n.to_be_bytes();
        let first = bytes.iter().position(|&b| b != 0).unwrap_or(7);
        let mut int: Vec<u8> = bytes[first..].to_vec();
        if int[0] & 0x80 != 0 {
            int.insert(0, 0);
        }
        body.push(0x02);
        body.push(int.len() as u8);
        body.extend_from_slice(&int);
    }
    if cert_req {
        body.extend_from_slice(&[0x01, 0x01, 0xff]);
    }
    // The body stays below 128 bytes (3 + 51 + 11 + 3), so the length is one byte.
    let mut out = vec![0x30, body.len() as u8];
    out.extend_from_slice(&body);
    out
}

/// [`timestamp_request_for_hash`] over the SHA-256 of `manifest_file` (the exact bytes of
/// the signed manifest file).
pub fn timestamp_request(manifest_file: &[u8], nonce: Option<u64>) -> Vec<u8> {
    timestamp_request_for_hash(&sha256(manifest_file), nonce, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_layout() {
        let req = timestamp_request_for_hash(&[0xAB; 32], Some(0x80), true);
        // SEQUENCE(len) v1 messageImprint(49 bytes) nonce 0x0080 certReq TRUE
        assert_eq!(req[..5], [0x30, (3 + 51 + 4 + 3) as u8, 0x02, 0x01, 0x01]);
        assert_eq!(req[5..7], [0x30, 0x31]);
        assert_eq!(req[22..24], [0x04, 0x20]);
        assert_eq!(req[56..], [0x02, 0x02, 0x00, 0x80, 0x01, 0x01, 0xff]);
        assert_eq!(req.len(), 2 + req[1] as usize);
        let bare = timestamp_request_for_hash(&[0; 32], None, false);
        assert_eq!(bare.len(), 2 + 3 + 51);
    }
}
