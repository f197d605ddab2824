//! Segment files of a rotated recording (host side).
//!
//! With [`RecorderConfig::segment`](super::RecorderConfig::segment) set, a long call is
//! recorded as several complete Ogg Opus streams, one per file; the manifest lists them
//! in order and the hash chain runs through all of them. [`segment_path`] names the files
//! and [`RotatingFileSink`] opens the next [`FileSink`] when a page of a new segment
//! arrives, closing the previous one.

use super::file_sink::{FileSink, FileSinkConfig};
use super::sink::{RecordingSink, SinkEvent};
use super::RecordingPage;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

/// The file of segment `k` of a recording whose first file is `first`: `first` itself for
/// k = 0, else `STEM.segK.EXT` beside it (`call-1.opus` → `call-1.seg2.opus`).
pub fn segment_path(first: &Path, k: u32) -> PathBuf {
    if k == 0 {
        return first.to_path_buf();
    }
    let stem = first.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = match first.extension() {
        Some(ext) => format!("{stem}.seg{k}.{}", ext.to_string_lossy()),
        None => format!("{stem}.seg{k}"),
    };
    first.with_file_name(name)
}

/// A [`RecordingSink`] that writes segment k to [`segment_path`]`(first, k)` through one
/// [`FileSink`] per segment.
///
/// Events of every segment's sink are passed on, except their `RecordingComplete` /
/// `RecordingIncomplete`: the rotating sink reports [`SinkEvent::RecordingComplete`] when
/// every segment is complete, else [`SinkEvent::RecordingIncomplete`].
pub struct RotatingFileSink {
    first: PathBuf,
    cfg: FileSinkConfig,
    current: Option<(u32, FileSink)>,
    closing: Vec<FileSink>,
    out: VecDeque<SinkEvent>,
    totals: (u64, u64),
    failed: bool,
    closed: bool,
    reported: bool,
}

impl RotatingFileSink {
    /// A sink whose segment 0 goes to `first`; every segment's file uses `cfg`.
    pub fn new(first: &Path, cfg: FileSinkConfig) -> RotatingFileSink {
        RotatingFileSink {
            first: first.to_path_buf(),
            cfg,
            current: None,
            closing: Vec::new(),
            out: VecDeque::new(),
            totals: (0, 0),
            failed: false,
            closed: false,
            reported: false,
        }
    }

    fn drain(sink: &mut FileSink, out: &mut VecDeque<SinkEvent>, totals: &mut (u64, u64), failed: &mut bool) -> bool {
        let mut done = false;
        while let Some(ev) = sink.poll_event() {
            match ev {
                SinkEvent::RecordingComplete { bytes, pages } => {
                    totals.0 += bytes;
                    totals.1 += pages;
                    done = true;
                }
                SinkEvent::RecordingIncomplete { .. } => {
                    *failed = true;
                    done = true;
                }
                other => out.push_back(other),
            }
        }
        done
    }
}

impl RecordingSink for RotatingFileSink {
    fn write_page(&mut self, page: &RecordingPage) {
        if self.current.as_ref().map_or(true, |(k, _)| *k != page.segment) {
            if let Some((_, mut old)) = self.current.take() {
                old.close();
                self.closing.push(old);
            }
            let path = segment_path(&self.first, page.segment);
            match FileSink::create(&path, self.cfg.clone()) {
                Ok(s) => self.current = Some((page.segment, s)),
                Err(e) => {
                    self.failed = true;
                    self.out.push_back(SinkEvent::WriteFailed {
                        target: self.cfg.target,
                        error: format!("{}: {e}", path.display()),
                        kept_bytes: 0,
                    });
                    return;
                }
            }
        }
        if let Some((_, s)) = self.current.as_mut() {
            s.write_page(page);
        }
    }

    fn close(&mut self) {
        self.closed = true;
        if let Some((_, mut s)) = self.current.take() {
            s.close();
            self.closing.push(s);
        }
    }

    fn poll_event(&mut self) -> Option<SinkEvent> {
        if let Some((_, s)) = self.current.as_mut() {
            Self::drain(s, &mut self.out, &mut self.totals, &mut self.failed);
        }
        let mut i = 0;
        while i < self.closing.len() {
            if Self::drain(&mut self.closing[i], &mut self.out, &mut self.totals, &mut self.failed) {
                self.closing.swap_remove(i);
            } else {
                i += 1;
            }
        }
        if self.closed && self.closing.is_empty() && !self.reported {
            self.reported = true;
            self.out.push_back(if self.failed {
                SinkEvent::RecordingIncomplete { failed: vec![self.cfg.target] }
            } else {
                SinkEvent::RecordingComplete { bytes: self.totals.0, pages: self.totals.1 }
            });
        }
        self.out.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names() {
        let p = Path::new("/r/call-1.opus");
        assert_eq!(segment_path(p, 0), PathBuf::from("/r/call-1.opus"));
        assert_eq!(segment_path(p, 3), PathBuf::from("/r/call-1.seg3.opus"));
        assert_eq!(segment_path(Path::new("x"), 1), PathBuf::from("x.seg1"));
    }
}
