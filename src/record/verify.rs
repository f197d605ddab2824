//! Verification of a recording against its signed manifest (sans-IO: bytes in, report out).
//!
//! [`verify_recording`] checks, in order: the manifest file is the exact signed envelope,
//! the Ed25519 signature is the trusted key's over those bytes, the manifest's own chain
//! values agree with its page lists, and each segment file (and the pcap sidecar) hashes
//! to what the manifest lists. It reports every problem it finds, located: a changed page
//! (a changed byte), a removed, inserted or reordered page, truncation, bytes appended, a
//! wrong key, an edited manifest. A recording is intact exactly when the report is empty.
//!
//! Pages are located by splitting each file into Ogg pages (RFC 3533 §6 framing, CRC not
//! trusted) and unframeable byte runs, and matching each piece's SHA-256 against the
//! manifest's page list; the pieces that match in order are anchors, and what lies
//! between two anchors is judged by what is missing there.

use super::hash_chain::{from_hex, sha256, HashChain};
use super::manifest::{chain_over_entries, parse_page_entry, Manifest, SignatureCheck, SignedManifest};
use super::ogg_page::{find_capture, OggPage};
use super::sidecar_pcap::pcap_items;
use super::RecordError;
use ed25519_dalek::VerifyingKey;
use std::collections::HashMap;
use std::fmt;

/// One thing wrong with a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finding {
    /// The manifest file is not a signed manifest (or bytes outside its signed part
    /// changed); the reason.
    ManifestUnreadable(String),
    /// The signature does not match the manifest: the manifest was edited.
    ManifestEdited,
    /// The manifest is validly signed, but by another key than the trusted one.
    WrongKey {
        /// The signer's public key (hex).
        signer: String,
        /// The trusted public key (hex).
        trusted: String,
    },
    /// The signed manifest contradicts itself (a signer fault): the reason.
    ManifestInconsistent(String),
    /// A segment file named in the manifest was not supplied / not found.
    SegmentMissing {
        /// Segment.
        segment: u32,
        /// Its file name.
        file: String,
    },
    /// Pages whose bytes changed (`count` pages from `page`, at byte `offset` of the file).
    PageChanged {
        /// Segment.
        segment: u32,
        /// First changed page (index in the segment, from 0).
        page: usize,
        /// Pages affected.
        count: usize,
        /// Byte offset of the damaged region in the file.
        offset: u64,
    },
    /// Pages missing from the middle of the file.
    PageRemoved {
        /// Segment.
        segment: u32,
        /// First missing page.
        page: usize,
        /// Pages missing.
        count: usize,
    },
    /// Bytes (a page or anything else) that the manifest does not list, between two
    /// listed pages.
    PageInserted {
        /// Segment.
        segment: u32,
        /// The listed page it precedes (its index), or the page count when at the end.
        before_page: usize,
        /// Byte offset in the file.
        offset: u64,
        /// Bytes inserted.
        bytes: u64,
    },
    /// A listed page found out of order.
    PageReordered {
        /// Segment.
        segment: u32,
        /// The page's index in the manifest.
        page: usize,
        /// Its byte offset in the file.
        offset: u64,
    },
    /// The file ends early: only `pages_kept` of `pages_expected` pages are whole.
    Truncated {
        /// Segment.
        segment: u32,
        /// Listed pages present, in order, before the end.
        pages_kept: usize,
        /// Pages the manifest lists.
        pages_expected: usize,
        /// File length found.
        bytes: u64,
        /// File length listed.
        expected_bytes: u64,
    },
    /// Bytes after the last listed page.
    BytesAppended {
        /// Segment.
        segment: u32,
        /// Offset where they start.
        offset: u64,
        /// How many.
        bytes: u64,
    },
    /// The recomputed chain differs from the manifest's with no located cause (should not
    /// happen; reported so that no difference goes unreported).
    ChainMismatch {
        /// Segment.
        segment: u32,
    },
    /// The manifest lists a pcap sidecar that was not supplied / not found.
    SidecarMissing {
        /// Its file name.
        file: String,
    },
    /// The sidecar's records differ from the manifest's chain, first in items
    /// `first_item..` (item 0 = pcap header, item k = record k).
    SidecarChanged {
        /// First item of the checkpoint block where the chain first differs.
        first_item: u64,
    },
    /// The sidecar holds fewer records than listed.
    SidecarTruncated {
        /// Whole records found.
        records: u64,
        /// Records listed.
        expected: u64,
    },
    /// The sidecar holds more records or bytes than listed.
    SidecarAppended {
        /// Bytes beyond those listed.
        bytes: u64,
    },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::ManifestUnreadable(r) => write!(f, "manifest file is not a valid signed manifest: {r}"),
            Finding::ManifestEdited => write!(f, "manifest edited: its signature does not match its content"),
            Finding::WrongKey { signer, trusted } => {
                write!(f, "wrong key: manifest signed by {signer}, not by the trusted key {trusted}")
            }
            Finding::ManifestInconsistent(r) => write!(f, "manifest inconsistent: {r}"),
            Finding::SegmentMissing { segment, file } => write!(f, "segment {segment}: file {file} missing"),
            Finding::PageChanged { segment, page, count, offset } => write!(
                f,
                "segment {segment}: page {page}{} changed (bytes differ; region at byte {offset})",
                if *count > 1 { format!("..{}", page + count - 1) } else { String::new() }
            ),
            Finding::PageRemoved { segment, page, count } => {
                write!(f, "segment {segment}: {count} page(s) removed from page {page}")
            }
            Finding::PageInserted { segment, before_page, offset, bytes } => {
                write!(f, "segment {segment}: {bytes} byte(s) inserted at byte {offset}, before page {before_page}")
            }
            Finding::PageReordered { segment, page, offset } => {
                write!(f, "segment {segment}: page {page} out of order (found at byte {offset})")
            }
            Finding::Truncated { segment, pages_kept, pages_expected, bytes, expected_bytes } => write!(
                f,
                "segment {segment}: truncated: {pages_kept} of {pages_expected} pages, {bytes} of {expected_bytes} bytes"
            ),
            Finding::BytesAppended { segment, offset, bytes } => {
                write!(f, "segment {segment}: {bytes} byte(s) appended at byte {offset}")
            }
            Finding::ChainMismatch { segment } => write!(f, "segment {segment}: hash chain mismatch"),
            Finding::SidecarMissing { file } => write!(f, "pcap sidecar {file} missing"),
            Finding::SidecarChanged { first_item } => {
                write!(f, "pcap sidecar changed (first difference in items from {first_item})")
            }
            Finding::SidecarTruncated { records, expected } => {
                write!(f, "pcap sidecar truncated: {records} of {expected} records")
            }
            Finding::SidecarAppended { bytes } => write!(f, "pcap sidecar has {bytes} byte(s) more than listed"),
        }
    }
}

/// The result of [`verify_recording`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Everything found wrong; empty when the recording is intact.
    pub findings: Vec<Finding>,
    /// The manifest, when it could be parsed (its content is trustworthy only when the
    /// report is intact).
    pub manifest: Option<Manifest>,
    /// Pages checked across segments.
    pub pages_checked: u64,
}

impl VerifyReport {
    /// Whether the recording is complete and unaltered since it was signed.
    pub fn is_intact(&self) -> bool {
        self.findings.is_empty()
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_intact() {
            if let Some(m) = &self.manifest {
                return write!(
                    f,
                    "OK: call {} intact: {} segment(s), {} pages, chain {}{}",
                    m.call_id,
                    m.segments.len(),
                    m.chain.page_count,
                    m.chain.final_hash,
                    m.sidecar.as_ref().map_or(String::new(), |s| format!(", sidecar {} records", s.records))
                );
            }
            return write!(f, "OK");
        }
        writeln!(f, "NOT INTACT: {} problem(s)", self.findings.len())?;
        for x in &self.findings {
            writeln!(f, "  - {x}")?;
        }
        Ok(())
    }
}

/// Verifies a recording: `manifest_file` (the signed manifest's bytes), the `trusted`
/// Ed25519 public key, `segments[k]` the bytes of segment k's file (`None` when missing;
/// missing entries past the slice count as missing), and the sidecar's bytes if kept.
pub fn verify_recording(
    manifest_file: &[u8],
    trusted: &VerifyingKey,
    segments: &[Option<&[u8]>],
    sidecar: Option<&[u8]>,
) -> VerifyReport {
    let mut report = VerifyReport::default();
    let sm = match SignedManifest::parse(manifest_file) {
        Ok(sm) => sm,
        Err(e) => {
            report.findings.push(Finding::ManifestUnreadable(e.to_string()));
            return report;
        }
    };
    match sm.check(trusted) {
        SignatureCheck::Valid => {}
        SignatureCheck::WrongKey { signer } => {
            report.findings.push(Finding::WrongKey { signer, trusted: hex::encode(trusted.to_bytes()) })
        }
        _ => report.findings.push(Finding::ManifestEdited),
    }
    let m = sm.manifest;
    check_consistency(&m, &mut report.findings);
    for (k, seg) in m.segments.iter().enumerate() {
        match segments.get(k).copied().flatten() {
            None => report.findings.push(Finding::SegmentMissing { segment: seg.index, file: seg.file.clone() }),
            Some(bytes) => {
                report.pages_checked += seg.pages.len() as u64;
                check_segment(seg.index, &seg.pages, &seg.chain_start, &seg.chain_final, bytes, &mut report.findings)
            }
        }
    }
    if let Some(sc) = &m.sidecar {
        match sidecar {
            None => report.findings.push(Finding::SidecarMissing { file: sc.file.clone() }),
            Some(bytes) => check_sidecar(sc, bytes, &mut report.findings),
        }
    }
    report.manifest = Some(m);
    report
}

fn check_consistency(m: &Manifest, out: &mut Vec<Finding>) {
    let mut prev = m.chain.genesis.clone();
    let (mut pages, mut bytes) = (0u64, 0u64);
    for s in &m.segments {
        if s.chain_start != prev {
            out.push(Finding::ManifestInconsistent(format!("segment {} does not continue the chain", s.index)));
        }
        let start = from_hex(&s.chain_start).unwrap_or_default();
        match chain_over_entries(&start, &s.pages) {
            Some((head, b)) if super::hash_chain::to_hex(&head) == s.chain_final && b == s.bytes => {}
            _ => out.push(Finding::ManifestInconsistent(format!("segment {} page list and chain disagree", s.index))),
        }
        prev = s.chain_final.clone();
        // Saturating: the counts come from the manifest file, which may be crafted.
        pages = pages.saturating_add(s.pages.len() as u64);
        bytes = bytes.saturating_add(s.bytes);
    }
    if prev != m.chain.final_hash || pages != m.chain.page_count || bytes != m.chain.bytes {
        out.push(Finding::ManifestInconsistent("final chain value or totals disagree with the segments".into()));
    }
}

/// A piece of a segment file: a framed page, an unframeable run, or a truncated page at the end.
struct Piece {
    offset: usize,
    len: usize,
    hash: [u8; 32],
    partial: bool,
}

fn pieces(bytes: &[u8]) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let (len, partial) = match OggPage::parse_ignoring_crc(&bytes[pos..]) {
            Ok((_, len)) => (len, false),
            Err(RecordError::OggTruncated { .. }) => (bytes.len() - pos, true),
            Err(_) => (find_capture(&bytes[pos + 1..]).map_or(bytes.len() - pos, |r| r + 1), false),
        };
        out.push(Piece { offset: pos, len, hash: sha256(&bytes[pos..pos + len]), partial });
        pos += len;
    }
    out
}

fn check_segment(
    segment: u32,
    entries: &[String],
    chain_start: &str,
    chain_final: &str,
    bytes: &[u8],
    out: &mut Vec<Finding>,
) {
    let expected: Vec<(u64, [u8; 32])> = entries.iter().filter_map(|e| parse_page_entry(e)).collect();
    let expected_bytes = expected.iter().fold(0u64, |t, e| t.saturating_add(e.0));
    let index: HashMap<[u8; 32], usize> = expected.iter().enumerate().map(|(i, e)| (e.1, i)).collect();
    let ps = pieces(bytes);
    let before = out.len();
    let short = (bytes.len() as u64) < expected_bytes;
    // Match pieces to listed pages (each listed page once); the longest increasing run of
    // matches are the anchors, other matches are pages out of order.
    let mut used = vec![false; expected.len()];
    let mut hit: Vec<Option<usize>> = Vec::with_capacity(ps.len());
    for p in &ps {
        let i = index.get(&p.hash).copied().filter(|&i| !used[i]);
        if let Some(i) = i {
            used[i] = true;
        }
        hit.push(i);
    }
    let anchors = longest_increasing(&hit);
    let mut matched: Vec<Option<usize>> = vec![None; ps.len()];
    let mut unmatched = vec![false; ps.len()];
    for (k, h) in hit.iter().enumerate() {
        match h {
            Some(i) if anchors[k] => matched[k] = Some(*i),
            Some(i) => out.push(Finding::PageReordered { segment, page: *i, offset: ps[k].offset as u64 }),
            None => unmatched[k] = true,
        }
    }
    // Walk the regions between anchors.
    let mut prev_anchor: Option<usize> = None;
    let mut region: Vec<&Piece> = Vec::new();
    let judge = |prev: Option<usize>, next: Option<usize>, region: &[&Piece], out: &mut Vec<Finding>| {
        let lo = prev.map_or(0, |p| p + 1);
        let hi = next.unwrap_or(expected.len());
        let missing: Vec<usize> = (lo..hi).filter(|&i| !used[i]).collect();
        let at_end = next.is_none();
        match (region.is_empty(), missing.is_empty()) {
            (true, true) => {}
            (false, true) if at_end => out.push(Finding::BytesAppended {
                segment,
                offset: region[0].offset as u64,
                bytes: region.iter().map(|p| p.len as u64).sum(),
            }),
            (false, true) => out.push(Finding::PageInserted {
                segment,
                before_page: hi,
                offset: region[0].offset as u64,
                bytes: region.iter().map(|p| p.len as u64).sum(),
            }),
            // Pages missing at the end of a shorter file: cut off (removing the last page
            // cannot be told from that).
            (true, false) if at_end && short => {
                out.push(truncated(segment, missing[0], expected.len(), bytes, expected_bytes))
            }
            (true, false) => out.push(Finding::PageRemoved { segment, page: missing[0], count: missing.len() }),
            (false, false) if at_end && short && region.len() == 1 && region[0].partial => {
                out.push(truncated(segment, missing[0], expected.len(), bytes, expected_bytes))
            }
            (false, false) => out.push(Finding::PageChanged {
                segment,
                page: missing[0],
                count: missing.len(),
                offset: region[0].offset as u64,
            }),
        }
    };
    for (k, p) in ps.iter().enumerate() {
        match matched[k] {
            Some(i) => {
                judge(prev_anchor, Some(i), &region, out);
                region.clear();
                prev_anchor = Some(i);
            }
            None if unmatched[k] => region.push(p),
            None => {}
        }
    }
    judge(prev_anchor, None, &region, out);
    // Whatever the diagnosis, the chain decides.
    let mut chain = HashChain::new(from_hex(chain_start).unwrap_or_default());
    for p in &ps {
        chain.push_hash(&p.hash, p.len);
    }
    if out.len() == before && super::hash_chain::to_hex(&chain.head()) != chain_final {
        out.push(Finding::ChainMismatch { segment });
    }
}

/// Marks the entries of the longest strictly increasing subsequence of the `Some` values
/// (patience sorting, O(n log n)).
fn longest_increasing(v: &[Option<usize>]) -> Vec<bool> {
    let mut tails: Vec<usize> = Vec::new(); // positions in v
    let mut parent: Vec<Option<usize>> = vec![None; v.len()];
    for (k, x) in v.iter().enumerate() {
        let Some(x) = *x else { continue };
        let at = tails.partition_point(|&t| v[t].unwrap_or(0) < x);
        parent[k] = at.checked_sub(1).map(|a| tails[a]);
        if at == tails.len() {
            tails.push(k);
        } else {
            tails[at] = k;
        }
    }
    let mut keep = vec![false; v.len()];
    let mut cur = tails.last().copied();
    while let Some(k) = cur {
        keep[k] = true;
        cur = parent[k];
    }
    keep
}

fn truncated(segment: u32, kept: usize, expected: usize, bytes: &[u8], expected_bytes: u64) -> Finding {
    Finding::Truncated {
        segment,
        pages_kept: kept,
        pages_expected: expected,
        bytes: bytes.len() as u64,
        expected_bytes,
    }
}

fn check_sidecar(sc: &super::manifest::SidecarFacts, bytes: &[u8], out: &mut Vec<Finding>) {
    let (items, rest) = pcap_items(bytes);
    let every = sc.checkpoint_every.max(1);
    let mut chain = HashChain::default();
    let mut checkpoints = Vec::new();
    for it in &items {
        chain.push(it);
        if chain.items() % every == 0 {
            checkpoints.push(super::hash_chain::to_hex(&chain.head()));
        }
    }
    let records = (items.len() as u64).saturating_sub(1);
    if super::hash_chain::to_hex(&chain.head()) == sc.chain_final && rest.is_empty() && records == sc.records {
        return;
    }
    if let Some(k) = checkpoints.iter().zip(&sc.checkpoints).position(|(a, b)| a != b) {
        out.push(Finding::SidecarChanged { first_item: (k as u64).saturating_mul(every) });
        return;
    }
    let checked = (checkpoints.len().min(sc.checkpoints.len()) as u64).saturating_mul(every);
    if records < sc.records && (bytes.len() as u64) < sc.bytes {
        // Fewer records, the checkpoints so far agree: cut short (or records removed after
        // item `checked`, which per-record hashes would be needed to tell apart).
        out.push(Finding::SidecarTruncated { records, expected: sc.records });
    } else if (bytes.len() as u64) > sc.bytes && records >= sc.records && chain_prefix_matches(&items, sc) {
        out.push(Finding::SidecarAppended { bytes: bytes.len() as u64 - sc.bytes });
    } else {
        out.push(Finding::SidecarChanged { first_item: checked });
    }
}

/// Whether the first `sc.records + 1` items chain to `sc.chain_final`.
fn chain_prefix_matches(items: &[&[u8]], sc: &super::manifest::SidecarFacts) -> bool {
    let n = usize::try_from(sc.records.saturating_add(1)).unwrap_or(usize::MAX);
    if items.len() < n {
        return false;
    }
    let mut c = HashChain::default();
    for it in &items[..n] {
        c.push(it);
    }
    super::hash_chain::to_hex(&c.head()) == sc.chain_final
}
