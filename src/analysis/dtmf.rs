//! DTMF digits and the RFC 4733 telephone-event payload (§2.3).

use serde::{Deserialize, Serialize};

/// A DTMF key as an RFC 4733 event code (§3.2, table 7): 0–9 digits, 10 `*`, 11 `#`, 12–15 `A`–`D`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DtmfDigit(u8);

impl DtmfDigit {
    /// The digit for RFC 4733 event code `code` (0–15), `None` for other events (e.g. 16
    /// flash, 32+ tones), which this engine does not treat as keys.
    pub const fn from_event(code: u8) -> Option<DtmfDigit> {
        if code <= 15 {
            Some(DtmfDigit(code))
        } else {
            None
        }
    }

    /// The digit for a key character (`0`–`9`, `*`, `#`, `A`–`D`, case-insensitive).
    pub fn from_char(c: char) -> Option<DtmfDigit> {
        let code = match c.to_ascii_uppercase() {
            d @ '0'..='9' => d as u8 - b'0',
            '*' => 10,
            '#' => 11,
            l @ 'A'..='D' => 12 + (l as u8 - b'A'),
            _ => return None,
        };
        Some(DtmfDigit(code))
    }

    /// The RFC 4733 event code (0–15).
    pub const fn event_code(self) -> u8 {
        self.0
    }

    /// The key character.
    pub const fn as_char(self) -> char {
        match self.0 {
            d @ 0..=9 => (b'0' + d) as char,
            10 => '*',
            11 => '#',
            l => (b'A' + (l - 12)) as char,
        }
    }

    /// ITU-T Q.23 (row, column) frequencies in Hz: rows 697/770/852/941, columns
    /// 1209/1336/1477/1633.
    pub const fn frequencies(self) -> (u32, u32) {
        let (r, c) = match self.0 {
            1 => (0, 0),
            2 => (0, 1),
            3 => (0, 2),
            12 => (0, 3),
            4 => (1, 0),
            5 => (1, 1),
            6 => (1, 2),
            13 => (1, 3),
            7 => (2, 0),
            8 => (2, 1),
            9 => (2, 2),
            14 => (2, 3),
            10 => (3, 0),
            0 => (3, 1),
            11 => (3, 2),
            _ => (3, 3),
        };
        (ROW_HZ[r], COL_HZ[c])
    }

    /// The digit at (row, column) of the Q.23 keypad.
    pub(crate) const fn at(row: usize, col: usize) -> DtmfDigit {
        const KEYS: [[u8; 4]; 4] = [[1, 2, 3, 12], [4, 5, 6, 13], [7, 8, 9, 14], [10, 0, 11, 15]];
        DtmfDigit(KEYS[row & 3][col & 3])
    }
}

impl std::fmt::Display for DtmfDigit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

/// ITU-T Q.23 row (low group) frequencies, Hz.
pub const ROW_HZ: [u32; 4] = [697, 770, 852, 941];
/// ITU-T Q.23 column (high group) frequencies, Hz.
pub const COL_HZ: [u32; 4] = [1209, 1336, 1477, 1633];

/// One telephone-event block (RFC 4733 §2.3, 4 bytes):
/// `event(8) | E(1) R(1) volume(6) | duration(16)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code (0–255; 0–15 are DTMF keys).
    pub event: u8,
    /// E bit: this packet ends the event.
    pub end: bool,
    /// Volume: power level of the tone, 0 to −63 dBm0 expressed as 0–63 (positive = below 0 dBm0).
    pub volume: u8,
    /// Duration so far, in ticks of the telephone-event payload type's own clock rate.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parses the last 4-byte block of a telephone-event payload (RFC 4733 §2.5.1.5 allows
    /// several; the last one describes the current event). `None` if shorter than 4 bytes.
    pub fn parse_last(payload: &[u8]) -> Option<TelephoneEvent> {
        if payload.len() < 4 {
            return None;
        }
        let b = &payload[(payload.len() / 4 - 1) * 4..][..4];
        Some(TelephoneEvent {
            event: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3F,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    /// The 4-byte wire form (R bit zero).
    pub fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [self.event, (u8::from(self.end) << 7) | (self.volume & 0x3F), d[0], d[1]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_round_trip() {
        let s: String = "0123456789*#ABCD".chars().map(|c| DtmfDigit::from_char(c).unwrap().as_char()).collect();
        assert_eq!(s, "0123456789*#ABCD");
        assert_eq!(DtmfDigit::from_event(11).unwrap().as_char(), '#');
        assert_eq!(DtmfDigit::from_event(16), None);
        assert_eq!(DtmfDigit::from_char('5').unwrap().frequencies(), (770, 1336));
        assert_eq!(DtmfDigit::from_char('#').unwrap().frequencies(), (941, 1477));
        assert_eq!(DtmfDigit::at(3, 1).as_char(), '0');
    }

    #[test]
    fn event_block_round_trips() {
        let e = TelephoneEvent { event: 1, end: true, volume: 10, duration: 1600 };
        assert_eq!(e.to_bytes(), [1, 0x8A, 0x06, 0x40]);
        assert_eq!(TelephoneEvent::parse_last(&e.to_bytes()), Some(e));
        assert_eq!(TelephoneEvent::parse_last(&[1, 2, 3]), None);
    }
}
