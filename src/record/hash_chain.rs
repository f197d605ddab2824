//! The SHA-256 hash chain over a recording's Ogg pages (tamper evidence).
//!
//! Construction (`sha256-chain-v1`), FIPS 180-4 SHA-256 throughout:
//!
//! ```text
//! page_hash_i  = SHA-256(page_i)                      page_i: the complete Ogg page bytes
//! chain_0      = 32 zero bytes                        (first segment of a call)
//! chain_i      = SHA-256(chain_{i-1} || page_hash_i)  64 bytes hashed per page
//! ```
//!
//! A later segment of a rotated recording starts from the previous segment's final chain
//! value, so the segments of one call form one chain. The same construction chains the
//! records of the pcap evidence sidecar (its first item being the pcap global header).
//! Changing, removing, inserting or reordering any page changes every later chain value;
//! the final value, signed in the manifest, therefore commits to the whole recording.

use sha2::{Digest, Sha256};

/// A SHA-256 digest (32 bytes).
pub type Hash32 = [u8; 32];

/// Chain value before the first page of a call: 32 zero bytes.
pub const CHAIN_GENESIS: Hash32 = [0; 32];

/// Name of the construction, written in manifests.
pub const CHAIN_ALGORITHM: &str = "sha256-chain-v1: chain_0 = 32 zero bytes (or the previous segment's final value); \
     chain_i = SHA-256(chain_{i-1} || SHA-256(item_i)); items are whole Ogg pages (or pcap header/records)";

/// SHA-256 of `bytes` (FIPS 180-4).
pub fn sha256(bytes: &[u8]) -> Hash32 {
    Sha256::digest(bytes).into()
}

/// One chain step: `SHA-256(prev || item_hash)`.
pub fn chain_step(prev: &Hash32, item_hash: &Hash32) -> Hash32 {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(item_hash);
    h.finalize().into()
}

/// A running hash chain: the current value, items and bytes hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashChain {
    start: Hash32,
    head: Hash32,
    items: u64,
    bytes: u64,
}

impl Default for HashChain {
    fn default() -> Self {
        HashChain::new(CHAIN_GENESIS)
    }
}

impl HashChain {
    /// A chain starting at `start` ([`CHAIN_GENESIS`], or a previous segment's final value).
    pub fn new(start: Hash32) -> HashChain {
        HashChain { start, head: start, items: 0, bytes: 0 }
    }

    /// Hashes `item` (a whole page or record) into the chain; returns `(item_hash, chain_value)`.
    pub fn push(&mut self, item: &[u8]) -> (Hash32, Hash32) {
        let item_hash = sha256(item);
        self.head = chain_step(&self.head, &item_hash);
        self.items += 1;
        self.bytes += item.len() as u64;
        (item_hash, self.head)
    }

    /// Adds an item whose SHA-256 is already known (`item_len` bytes long).
    pub fn push_hash(&mut self, item_hash: &Hash32, item_len: usize) -> Hash32 {
        self.head = chain_step(&self.head, item_hash);
        self.items += 1;
        self.bytes += item_len as u64;
        self.head
    }

    /// The value the chain started from.
    pub fn start(&self) -> Hash32 {
        self.start
    }
    /// The current chain value (the start value when nothing was hashed).
    pub fn head(&self) -> Hash32 {
        self.head
    }
    /// Items hashed.
    pub fn items(&self) -> u64 {
        self.items
    }
    /// Bytes hashed.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// Lower-case hexadecimal of a digest.
pub fn to_hex(h: &Hash32) -> String {
    hex::encode(h)
}

/// Parses 64 hex digits into a digest; `None` for anything else.
pub fn from_hex(s: &str) -> Option<Hash32> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_known_answer() {
        // FIPS 180-2 appendix B.1.
        assert_eq!(to_hex(&sha256(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn chain_is_order_sensitive_and_matches_definition() {
        let mut c = HashChain::default();
        let (h1, c1) = c.push(b"page one");
        let (_, c2) = c.push(b"page two");
        assert_eq!(c1, chain_step(&CHAIN_GENESIS, &h1));
        assert_eq!(c2, chain_step(&c1, &sha256(b"page two")));
        assert_eq!((c.items(), c.bytes()), (2, 16));
        let mut swapped = HashChain::default();
        swapped.push(b"page two");
        swapped.push(b"page one");
        assert_ne!(swapped.head(), c.head());
        assert_eq!(from_hex(&to_hex(&c2)), Some(c2));
        assert_eq!(from_hex("zz"), None);
    }
}
