//! The call's recording and monitoring policy, fail-closed.

/// What may happen to a call's audio. Set at session creation; may be tightened mid-call,
/// never loosened ([`Policy::tightened_by`]).
///
/// - [`Policy::RECORD`]: recorded and monitorable (the normal case).
/// - [`Policy::NO_MONITOR`]: recorded, no live taps.
/// - [`Policy::NO_RECORD`]: privileged (lawyer) call: no audio reaches any recorder or tap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Policy {
    /// Whether the call's audio may reach a recorder.
    pub record: bool,
    /// Whether live taps (listen, whisper, barge) may be attached.
    pub monitor: bool,
}

impl Policy {
    /// Recorded and monitorable.
    pub const RECORD: Policy = Policy { record: true, monitor: true };
    /// Recorded, not monitorable.
    pub const NO_MONITOR: Policy = Policy { record: true, monitor: false };
    /// Privileged: neither recorded nor monitored.
    pub const NO_RECORD: Policy = Policy { record: false, monitor: false };

    /// The policy after applying `other` as a tightening: each permission stays only if both
    /// allow it, so a call can never become recordable or monitorable again.
    pub fn tightened_by(self, other: Policy) -> Policy {
        Policy { record: self.record && other.record, monitor: self.monitor && other.monitor }
    }

    /// A short name for logs and recording metadata: `record`, `no-monitor`, `no-record`.
    pub fn name(self) -> &'static str {
        match (self.record, self.monitor) {
            (true, true) => "record",
            (true, false) => "no-monitor",
            (false, _) => "no-record",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_loosens() {
        assert_eq!(Policy::NO_RECORD.tightened_by(Policy::RECORD), Policy::NO_RECORD);
        assert_eq!(Policy::RECORD.tightened_by(Policy::NO_MONITOR), Policy::NO_MONITOR);
        assert_eq!(Policy::NO_MONITOR.tightened_by(Policy::RECORD), Policy::NO_MONITOR);
    }
}
