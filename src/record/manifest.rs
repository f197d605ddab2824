//! The evidence manifest: what a recording is, its hash chain, signed with Ed25519.
//!
//! [`EvidenceLog`] follows the pages as the recorder emits them (their SHA-256 and chain
//! values come with each [`RecordingPage`]); at the end of the call
//! [`EvidenceLog::to_manifest`] turns it and the host's facts into a [`Manifest`], and
//! [`SignedManifest::sign`] writes the manifest file:
//!
//! ```text
//! {
//!   "signed": { ...the manifest, pretty-printed JSON... },
//!   "ed25519_signature": "<128 hex digits>"
//! }
//! ```
//!
//! The signature (RFC 8032 Ed25519) covers [`SIGNATURE_CONTEXT`] followed by the exact
//! bytes of the `signed` value as they appear in the file; the verifier also checks that
//! the file is byte for byte this envelope, so every byte of the file is covered.
//! Everything here is sans-IO: bytes in, bytes out; the key comes from the host.

use super::hash_chain::{chain_step, from_hex, sha256, to_hex, Hash32, HashChain, CHAIN_ALGORITHM, CHAIN_GENESIS};
use super::metadata::RecordingMetadata;
use super::ogg_page::OggPage;
use super::opus_head::{OpusHead, OPUS_HEAD_MAGIC};
use super::{LegStats, RecordingPage};
use crate::audio::SampleRate;
use crate::leg::Leg;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

/// The manifest format name written in [`Manifest::format`].
pub const MANIFEST_FORMAT: &str = "jyqq-media evidence manifest v1";
/// Bytes signed before the manifest bytes (domain separation).
pub const SIGNATURE_CONTEXT: &[u8] = b"jyqq-media evidence manifest v1\0";

/// Timeline facts of one leg (channel) of the recording.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LegFacts {
    /// `A` (channel 0, inmate) or `B` (channel 1, family).
    pub leg: String,
    /// The leg's number as supplied by the host.
    pub number: String,
    /// Codecs received, as `NAME/clock` with payload type (from the host, e.g. `0 PCMU/8000`).
    pub codecs: Vec<String>,
    /// SSRCs received, hex (from the host).
    pub ssrcs: Vec<String>,
    /// RTP packets handed to the recorder.
    pub packets: u64,
    /// Packets lost on the network (RFC 3550 A.3, from the host's ingress statistics).
    pub lost: i64,
    /// Audio frames decoded and written.
    pub decoded_frames: u64,
    /// Packets that came too late to be written.
    pub late: u64,
    /// Gaps in the timeline that were filled.
    pub gaps: u64,
    /// Total codec concealment, ms.
    pub concealed_ms: u64,
    /// Concealed intervals, `[start_ms, length_ms]` on the call timeline (the first 10 000).
    pub concealed_intervals_ms: Vec<[u64; 2]>,
    /// Comfort noise written, ms.
    pub comfort_noise_ms: u64,
    /// Silence written into gaps, ms.
    pub silence_ms: u64,
    /// SSRC changes / sequence restarts (timeline re-anchors).
    pub ssrc_changes: u64,
    /// Timestamp jumps that re-anchored the timeline.
    pub timestamp_jumps: u64,
}

impl LegFacts {
    /// The recorder's timeline statistics of `leg` at recording rate `rate`, with the
    /// host-supplied `number`; `codecs`, `ssrcs` and `lost` are left for the host to fill.
    pub fn from_stats(leg: Leg, number: &str, stats: &LegStats, rate: SampleRate) -> LegFacts {
        let ms = |samples: u64| samples * 1000 / u64::from(rate.hz().max(1));
        LegFacts {
            leg: if leg == Leg::A { "A" } else { "B" }.to_owned(),
            number: number.to_owned(),
            codecs: Vec::new(),
            ssrcs: Vec::new(),
            packets: stats.packets,
            lost: 0,
            decoded_frames: stats.decoded_frames,
            late: stats.late,
            gaps: stats.gaps,
            concealed_ms: ms(stats.concealed_samples),
            concealed_intervals_ms: stats.concealed_intervals.iter().map(|&(s, n)| [ms(s), ms(n)]).collect(),
            comfort_noise_ms: ms(stats.comfort_samples),
            silence_ms: ms(stats.silence_samples),
            ssrc_changes: stats.epoch_changes,
            timestamp_jumps: stats.timestamp_jumps,
        }
    }
}

/// What the recording is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RecordingFacts {
    /// `Ogg Opus (RFC 7845)`.
    pub format: String,
    /// Channels (2: channel 0 = leg A, channel 1 = leg B).
    pub channels: u8,
    /// Rate the legs were mixed and encoded at, Hz.
    pub rate_hz: u32,
    /// Audio duration of all segments (granule positions minus pre-skip), ms.
    pub duration_ms: u64,
}

/// The hash chain over all pages of all segments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ChainFacts {
    /// The construction ([`CHAIN_ALGORITHM`]).
    pub algorithm: String,
    /// Chain value before the first page (hex).
    pub genesis: String,
    /// Pages in all segments.
    pub page_count: u64,
    /// Bytes in all segments.
    pub bytes: u64,
    /// Chain value after the last page (hex): the recording's integrity check value.
    pub final_hash: String,
}

/// One segment (one Ogg Opus file) of the recording.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SegmentFacts {
    /// Segment number, from 0.
    pub index: u32,
    /// File name (no folder), e.g. `call-1.opus`.
    pub file: String,
    /// Ogg bitstream serial number.
    pub serial: u32,
    /// Audio duration of this segment, ms.
    pub duration_ms: u64,
    /// File length, bytes.
    pub bytes: u64,
    /// SHA-256 of the whole file (hex), for tools that check files without this crate.
    pub file_sha256: String,
    /// Chain value before the segment's first page (hex): the previous segment's final.
    pub chain_start: String,
    /// Chain value after its last page (hex).
    pub chain_final: String,
    /// Every page in order as `LENGTH:SHA256HEX` (locates a changed, missing or moved page).
    pub pages: Vec<String>,
}

/// The lossless evidence sidecar: the legs' RTP as received, in a pcap file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SidecarFacts {
    /// File name (no folder), e.g. `call-1.pcap`.
    pub file: String,
    /// `pcap (nanosecond timestamps, LINKTYPE_RAW 101)`.
    pub format: String,
    /// Datagrams recorded.
    pub records: u64,
    /// File length, bytes.
    pub bytes: u64,
    /// Items per checkpoint (the pcap global header is item 0, record k is item k + 1).
    pub checkpoint_every: u64,
    /// Chain value after every `checkpoint_every` items (hex), to locate a change.
    pub checkpoints: Vec<String>,
    /// Chain value after the last item (hex); the chain starts at 32 zero bytes.
    pub chain_final: String,
}

/// The manifest of one recorded call: the `signed` part of the manifest file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`].
    pub format: String,
    /// The host's call id.
    pub call_id: String,
    /// The recording policy applied (from the host).
    pub policy: String,
    /// Call start, UTC as given by the host.
    pub start_utc: String,
    /// Call end, UTC as given by the host.
    pub end_utc: String,
    /// Per-leg codec and timeline facts (A, then B).
    pub legs: Vec<LegFacts>,
    /// What the recording is.
    pub recording: RecordingFacts,
    /// The hash chain over all pages.
    pub chain: ChainFacts,
    /// The segment files in order.
    pub segments: Vec<SegmentFacts>,
    /// The pcap evidence sidecar, when kept.
    pub sidecar: Option<SidecarFacts>,
    /// Ed25519 public key of the signer (hex, RFC 8032).
    pub signer_public_key: String,
}

/// Why an evidence operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// A page's chain value is not SHA-256(previous || page hash): pages were skipped,
    /// repeated or altered between the recorder and the log.
    #[error("page {index} of segment {segment} breaks the hash chain")]
    ChainBroken {
        /// Segment.
        segment: u32,
        /// Page index within the segment.
        index: usize,
    },
    /// A page belongs to an earlier segment than the one being logged.
    #[error("page of segment {got} after segment {current}")]
    SegmentOrder {
        /// Segment of the page.
        got: u32,
        /// Segment being logged.
        current: u32,
    },
    /// The manifest file is not the signed envelope (not JSON, missing fields, or bytes
    /// outside the signed part); the reason.
    #[error("manifest file: {0}")]
    Envelope(String),
}

#[derive(Debug, Clone)]
struct SegmentLog {
    index: u32,
    serial: u32,
    chain_start: Hash32,
    chain: Hash32,
    pages: Vec<String>,
    bytes: u64,
    file_hash: sha2::Sha256,
    pre_skip: u64,
    last_granule: Option<u64>,
}

/// The running record of a recording's pages for its manifest (sans-IO, core side).
#[derive(Debug, Clone, Default)]
pub struct EvidenceLog {
    segments: Vec<SegmentLog>,
    head: Hash32,
    pages: u64,
    bytes: u64,
}

impl EvidenceLog {
    /// An empty log; the chain starts at [`CHAIN_GENESIS`].
    pub fn new() -> EvidenceLog {
        EvidenceLog { segments: Vec::new(), head: CHAIN_GENESIS, pages: 0, bytes: 0 }
    }

    /// Logs a page the recorder emitted, checking its hash and chain value against the
    /// previous page. Errors: [`EvidenceError::ChainBroken`], [`EvidenceError::SegmentOrder`].
    pub fn add_page(&mut self, page: &RecordingPage) -> Result<(), EvidenceError> {
        self.add(page.segment, &page.data, Some((page.page_hash, page.chain_hash)))
    }

    /// Logs a page from its bytes alone (hashing them here), e.g. when re-reading a file.
    /// Errors: [`EvidenceError::SegmentOrder`].
    pub fn add_page_bytes(&mut self, segment: u32, page: &[u8]) -> Result<(), EvidenceError> {
        self.add(segment, page, None)
    }

    fn add(&mut self, segment: u32, data: &[u8], hashes: Option<(Hash32, Hash32)>) -> Result<(), EvidenceError> {
        let current = self.segments.last().map(|s| s.index);
        if current.is_some_and(|c| segment < c) {
            return Err(EvidenceError::SegmentOrder { got: segment, current: current.unwrap_or(0) });
        }
        if current != Some(segment) {
            self.segments.push(SegmentLog {
                index: segment,
                serial: 0,
                chain_start: self.head,
                chain: self.head,
                pages: Vec::new(),
                bytes: 0,
                file_hash: sha2::Digest::new(),
                pre_skip: 0,
                last_granule: None,
            });
        }
        // Invariant: a segment was pushed above when none matched.
        let Some(seg) = self.segments.last_mut() else { return Ok(()) };
        let (page_hash, chain) = match hashes {
            Some((ph, ch)) => {
                if sha256(data) != ph || chain_step(&seg.chain, &ph) != ch {
                    return Err(EvidenceError::ChainBroken { segment, index: seg.pages.len() });
                }
                (ph, ch)
            }
            None => {
                let ph = sha256(data);
                (ph, chain_step(&seg.chain, &ph))
            }
        };
        if let Ok((p, _)) = OggPage::parse_ignoring_crc(data) {
            if p.is_bos() {
                seg.serial = p.serial();
                if let Some(part) = p.parts().next().filter(|x| x.data.starts_with(&OPUS_HEAD_MAGIC)) {
                    if let Ok(h) = OpusHead::parse(part.data) {
                        seg.pre_skip = u64::from(h.pre_skip);
                    }
                }
            }
            if let Some(g) = p.granule_known().filter(|&g| g > 0) {
                seg.last_granule = Some(g);
            }
        }
        sha2::Digest::update(&mut seg.file_hash, data);
        seg.pages.push(format!("{}:{}", data.len(), to_hex(&page_hash)));
        seg.bytes += data.len() as u64;
        seg.chain = chain;
        self.head = chain;
        self.pages += 1;
        self.bytes += data.len() as u64;
        Ok(())
    }

    /// The chain value after the last page logged.
    pub fn chain_head(&self) -> Hash32 {
        self.head
    }

    /// Pages logged.
    pub fn pages(&self) -> u64 {
        self.pages
    }

    /// The manifest for the pages logged: the call facts from `meta` (call id, legs'
    /// numbers, start, policy) and `end_utc`; segment k's file named
    /// [`segment_file_name`]`(first_file, k)`. `legs` and `sidecar` are left empty for the
    /// host to fill; the signer's key is set by [`SignedManifest::sign`].
    pub fn to_manifest(&self, meta: &RecordingMetadata, end_utc: &str, first_file: &str, rate: SampleRate) -> Manifest {
        // Saturating: granule positions come from the pages logged, which may be crafted.
        let duration48 = self
            .segments
            .iter()
            .fold(0u64, |t, s| t.saturating_add(s.last_granule.unwrap_or(0).saturating_sub(s.pre_skip)));
        Manifest {
            format: MANIFEST_FORMAT.to_owned(),
            call_id: meta.call_id.clone(),
            policy: meta.policy.clone(),
            start_utc: meta.start_utc.clone(),
            end_utc: end_utc.to_owned(),
            legs: Vec::new(),
            recording: RecordingFacts {
                format: "Ogg Opus (RFC 7845)".to_owned(),
                channels: 2,
                rate_hz: rate.hz(),
                duration_ms: duration48 / 48,
            },
            chain: ChainFacts {
                algorithm: CHAIN_ALGORITHM.to_owned(),
                genesis: to_hex(&CHAIN_GENESIS),
                page_count: self.pages,
                bytes: self.bytes,
                final_hash: to_hex(&self.head),
            },
            segments: self
                .segments
                .iter()
                .map(|s| SegmentFacts {
                    index: s.index,
                    file: segment_file_name(first_file, s.index),
                    serial: s.serial,
                    duration_ms: s.last_granule.unwrap_or(0).saturating_sub(s.pre_skip) / 48,
                    bytes: s.bytes,
                    file_sha256: hex::encode(sha2::Digest::finalize(s.file_hash.clone())),
                    chain_start: to_hex(&s.chain_start),
                    chain_final: to_hex(&s.chain),
                    pages: s.pages.clone(),
                })
                .collect(),
            sidecar: None,
            signer_public_key: String::new(),
        }
    }
}

/// The file name of segment `k` when segment 0 is `first` (`call-1.opus` → `call-1.seg2.opus`),
/// as [`super::rotation::segment_path`] names them.
pub fn segment_file_name(first: &str, k: u32) -> String {
    super::rotation::segment_path(std::path::Path::new(first), k).to_string_lossy().into_owned()
}

/// Parses a `LENGTH:SHA256HEX` page entry.
pub fn parse_page_entry(e: &str) -> Option<(u64, Hash32)> {
    let (len, h) = e.split_once(':')?;
    Some((len.parse().ok()?, from_hex(h)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    #[serde(borrow)]
    signed: &'a serde_json::value::RawValue,
    ed25519_signature: String,
}

/// The manifest file: the signed envelope around a [`Manifest`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SignedManifest {
    /// The manifest as parsed from the signed bytes.
    pub manifest: Manifest,
    /// The exact signed bytes (the `signed` value in the file).
    pub signed_bytes: Vec<u8>,
    /// The signature as stored (64 bytes when well formed).
    pub signature: Vec<u8>,
}

fn envelope_bytes(signed: &str, signature_hex: &str) -> Vec<u8> {
    format!("{{\n  \"signed\": {signed},\n  \"ed25519_signature\": \"{signature_hex}\"\n}}\n").into_bytes()
}

impl SignedManifest {
    /// Signs `manifest` with `key` (setting its `signer_public_key`) and returns the
    /// manifest file's bytes.
    pub fn sign(manifest: &Manifest, key: &SigningKey) -> Vec<u8> {
        let mut m = manifest.clone();
        m.signer_public_key = hex::encode(key.verifying_key().to_bytes());
        // Invariant: Manifest holds only strings, integers, arrays and options: it always serialises.
        let signed = serde_json::to_string_pretty(&m).unwrap_or_default();
        let mut msg = SIGNATURE_CONTEXT.to_vec();
        msg.extend_from_slice(signed.as_bytes());
        let sig = key.sign(&msg);
        envelope_bytes(&signed, &hex::encode(sig.to_bytes()))
    }

    /// Parses a manifest file without checking the signature (use [`SignedManifest::check`]).
    ///
    /// Errors: [`EvidenceError::Envelope`] when the file is not exactly the envelope
    /// [`SignedManifest::sign`] writes (any byte outside the signed part changed, not
    /// JSON, unknown or missing fields).
    pub fn parse(file: &[u8]) -> Result<SignedManifest, EvidenceError> {
        let text = std::str::from_utf8(file).map_err(|_| EvidenceError::Envelope("not UTF-8".into()))?;
        let env: Envelope<'_> = serde_json::from_str(text).map_err(|e| EvidenceError::Envelope(e.to_string()))?;
        if envelope_bytes(env.signed.get(), &env.ed25519_signature) != file {
            return Err(EvidenceError::Envelope("bytes outside the signed part differ from the envelope".into()));
        }
        let manifest: Manifest =
            serde_json::from_str(env.signed.get()).map_err(|e| EvidenceError::Envelope(format!("signed part: {e}")))?;
        let signature = hex::decode(&env.ed25519_signature).unwrap_or_default();
        Ok(SignedManifest { manifest, signed_bytes: env.signed.get().as_bytes().to_vec(), signature })
    }

    /// Checks the signature against the `trusted` key.
    pub fn check(&self, trusted: &VerifyingKey) -> SignatureCheck {
        let Ok(sig) = <[u8; 64]>::try_from(self.signature.as_slice()).map(|b| Signature::from_bytes(&b)) else {
            return SignatureCheck::Invalid;
        };
        let mut msg = SIGNATURE_CONTEXT.to_vec();
        msg.extend_from_slice(&self.signed_bytes);
        let listed = from_hex(&self.manifest.signer_public_key).and_then(|b| VerifyingKey::from_bytes(&b).ok());
        if trusted.verify(&msg, &sig).is_ok() {
            if listed.as_ref() == Some(trusted) {
                SignatureCheck::Valid
            } else {
                // Signed by the trusted key but naming another: a signer bug; still untrusted content.
                SignatureCheck::Invalid
            }
        } else if listed.is_some_and(|k| k.verify(&msg, &sig).is_ok()) {
            SignatureCheck::WrongKey { signer: self.manifest.signer_public_key.clone() }
        } else {
            SignatureCheck::Invalid
        }
    }
}

/// The outcome of checking a manifest's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureCheck {
    /// Signed by the trusted key, over exactly these bytes.
    Valid,
    /// A valid signature by another key (the one the manifest names, hex): not the
    /// trusted signer.
    WrongKey {
        /// The signer's public key (hex).
        signer: String,
    },
    /// The signature does not match the signed bytes under any key the file names: the
    /// manifest was edited (or the signature damaged).
    Invalid,
}

/// Recomputes a chain over `LENGTH:SHA256HEX` page entries from `start`; `None` when an
/// entry is malformed or the lengths add up past `u64::MAX` (no real file). Returns (final
/// value, total bytes).
pub fn chain_over_entries(start: &Hash32, entries: &[String]) -> Option<(Hash32, u64)> {
    let mut c = HashChain::new(*start);
    let mut bytes = 0u64;
    for e in entries {
        let (len, h) = parse_page_entry(e)?;
        bytes = bytes.checked_add(len)?;
        c.push_hash(&h, 0);
    }
    Some((c.head(), bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    fn sample() -> Manifest {
        let mut log = EvidenceLog::new();
        log.add_page_bytes(0, b"page-a").unwrap();
        log.add_page_bytes(0, b"page-b").unwrap();
        let meta = RecordingMetadata::new("C1", "100", "200", "2026-01-01T00:00:00Z", "record");
        log.to_manifest(&meta, "2026-01-01T00:01:00Z", "call-1.opus", SampleRate::HZ_8000)
    }

    #[test]
    fn sign_parse_check() {
        let m = sample();
        assert_eq!(m.chain.page_count, 2);
        assert_eq!(
            chain_over_entries(&CHAIN_GENESIS, &m.segments[0].pages).map(|c| to_hex(&c.0)),
            Some(m.chain.final_hash.clone())
        );
        let file = SignedManifest::sign(&m, &key(1));
        let sm = SignedManifest::parse(&file).unwrap();
        assert_eq!(sm.manifest.call_id, "C1");
        assert_eq!(sm.check(&key(1).verifying_key()), SignatureCheck::Valid);
        assert!(matches!(sm.check(&key(2).verifying_key()), SignatureCheck::WrongKey { .. }));
        let text = String::from_utf8(file.clone()).unwrap().replace("\"C1\"", "\"C2\"");
        let edited = SignedManifest::parse(text.as_bytes()).unwrap();
        assert_eq!(edited.check(&key(1).verifying_key()), SignatureCheck::Invalid);
        let mut spaced = file.clone();
        spaced.insert(1, b' ');
        assert!(matches!(SignedManifest::parse(&spaced), Err(EvidenceError::Envelope(_))));
    }

    #[test]
    fn add_page_checks_the_chain() {
        let mut log = EvidenceLog::new();
        let ph = sha256(b"x");
        let page = RecordingPage {
            data: b"x".to_vec(),
            granule: 0,
            sequence: 0,
            eos: false,
            segment: 0,
            page_hash: ph,
            chain_hash: chain_step(&CHAIN_GENESIS, &ph),
        };
        log.add_page(&page).unwrap();
        assert_eq!(log.add_page(&page), Err(EvidenceError::ChainBroken { segment: 0, index: 1 }));
        let mut later = page.clone();
        later.segment = 2;
        later.chain_hash = chain_step(&log.chain_head(), &ph);
        log.add_page(&later).unwrap();
        later.segment = 1;
        assert_eq!(log.add_page(&later), Err(EvidenceError::SegmentOrder { got: 1, current: 2 }));
    }
}
