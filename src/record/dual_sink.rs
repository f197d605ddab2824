//! The backup sink (host side): the same pages to a primary and a backup target.
//!
//! The platform keeps a backup of every recording. [`DualSink`] forwards each page to
//! both inner sinks (e.g. two [`FileSink`](super::FileSink)s on different disks or
//! hosts) and reports [`SinkEvent::RecordingComplete`] only when both are complete. A
//! failed target is an event ([`SinkEvent::WriteFailed`] from that target) and the other
//! goes on; the end is then [`SinkEvent::RecordingIncomplete`] naming the failed target.

use super::sink::{RecordingSink, SinkEvent, SinkTarget};
use super::RecordingPage;
use std::collections::VecDeque;

/// How one inner sink ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Running,
    Complete { bytes: u64, pages: u64 },
    Failed,
}

/// A [`RecordingSink`] that writes every page to a primary and a backup sink.
pub struct DualSink {
    sinks: [Box<dyn RecordingSink + Send>; 2],
    outcome: [Outcome; 2],
    failed_seen: [bool; 2],
    out: VecDeque<SinkEvent>,
    reported: bool,
}

const TARGETS: [SinkTarget; 2] = [SinkTarget::Primary, SinkTarget::Backup];

impl DualSink {
    /// A dual sink over `primary` and `backup` (give them the targets
    /// [`SinkTarget::Primary`] and [`SinkTarget::Backup`] so their events say which).
    pub fn new(primary: Box<dyn RecordingSink + Send>, backup: Box<dyn RecordingSink + Send>) -> DualSink {
        DualSink {
            sinks: [primary, backup],
            outcome: [Outcome::Running; 2],
            failed_seen: [false; 2],
            out: VecDeque::new(),
            reported: false,
        }
    }

    fn collect(&mut self) {
        for (i, target) in TARGETS.iter().enumerate() {
            while let Some(ev) = self.sinks[i].poll_event() {
                match ev {
                    SinkEvent::RecordingComplete { bytes, pages } => {
                        self.outcome[i] = Outcome::Complete { bytes, pages }
                    }
                    SinkEvent::RecordingIncomplete { .. } => {
                        self.outcome[i] = Outcome::Failed;
                        if !self.failed_seen[i] {
                            self.failed_seen[i] = true;
                            self.out.push_back(SinkEvent::WriteFailed {
                                target: *target,
                                error: "target did not complete".into(),
                                kept_bytes: 0,
                            });
                        }
                    }
                    SinkEvent::WriteFailed { .. } => {
                        self.failed_seen[i] = true;
                        self.out.push_back(ev);
                    }
                    other => self.out.push_back(other),
                }
            }
        }
        if self.reported || self.outcome.contains(&Outcome::Running) {
            return;
        }
        self.reported = true;
        match self.outcome {
            [Outcome::Complete { bytes, pages }, Outcome::Complete { .. }] => {
                self.out.push_back(SinkEvent::RecordingComplete { bytes, pages })
            }
            _ => {
                let failed = (0..2).filter(|&i| self.outcome[i] == Outcome::Failed).map(|i| TARGETS[i]).collect();
                self.out.push_back(SinkEvent::RecordingIncomplete { failed });
            }
        }
    }
}

impl RecordingSink for DualSink {
    fn write_page(&mut self, page: &RecordingPage) {
        for s in &mut self.sinks {
            s.write_page(page);
        }
    }
    fn close(&mut self) {
        for s in &mut self.sinks {
            s.close();
        }
    }
    fn poll_event(&mut self) -> Option<SinkEvent> {
        if self.out.is_empty() {
            self.collect();
        }
        self.out.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::sink::MemorySink;

    /// A sink that fails at once.
    struct Broken(bool);
    impl RecordingSink for Broken {
        fn write_page(&mut self, _: &RecordingPage) {}
        fn close(&mut self) {
            self.0 = true;
        }
        fn poll_event(&mut self) -> Option<SinkEvent> {
            std::mem::take(&mut self.0).then(|| SinkEvent::RecordingIncomplete { failed: vec![SinkTarget::Backup] })
        }
    }

    #[test]
    fn complete_only_when_both_are() {
        let mut d = DualSink::new(Box::new(MemorySink::new()), Box::new(MemorySink::new()));
        d.close();
        assert_eq!(d.poll_event(), Some(SinkEvent::RecordingComplete { bytes: 0, pages: 0 }));
        assert_eq!(d.poll_event(), None);

        let mut d = DualSink::new(Box::new(MemorySink::new()), Box::new(Broken(false)));
        d.close();
        let ev: Vec<_> = std::iter::from_fn(|| d.poll_event()).collect();
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert!(matches!(ev[0], SinkEvent::WriteFailed { target: SinkTarget::Backup, .. }));
        assert_eq!(ev[1], SinkEvent::RecordingIncomplete { failed: vec![SinkTarget::Backup] });
    }
}
