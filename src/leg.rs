//! Call legs.

#![forbid(unsafe_code)]

/// One side of a two-party call.
///
/// In recordings, leg A is channel 0 (left) and leg B is channel 1 (right).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Leg {
    /// The inmate's phone (the calling side).
    A,
    /// The family member's phone (the called side).
    B,
}

impl Leg {
    /// 0 for leg A, 1 for leg B: the leg's channel in a stereo recording.
    pub const fn index(self) -> usize {
        match self {
            Leg::A => 0,
            Leg::B => 1,
        }
    }

    /// The other leg.
    pub const fn other(self) -> Leg {
        match self {
            Leg::A => Leg::B,
            Leg::B => Leg::A,
        }
    }
}
