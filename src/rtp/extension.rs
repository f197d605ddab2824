//! RTP header extensions (RFC 3550 §5.3.1) and their RFC 8285 elements.
//!
//! RFC 8285 packs several elements into the one extension a packet may carry:
//! - **one-byte form**, profile `0xBEDE`: each element is a byte `ID(4) | L(4)`
//!   followed by L + 1 data bytes (IDs 1..=14; ID 15 stops parsing, §4.2);
//! - **two-byte form**, profile `0x100X` (X = 4 "appbits"): each element is an
//!   ID byte and a length byte (0..=255) followed by that many data bytes (§4.3).
//!
//! In both forms a zero byte where an element would start is padding and is skipped.

/// The one-byte-form profile ("defined by profile" value `0xBEDE`, RFC 8285 §4.2).
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;

/// The two-byte-form profile with its 4 "appbits" cleared (`0x100X`, RFC 8285 §4.3).
pub const TWO_BYTE_PROFILE: u16 = 0x1000;

/// An RTP header extension (X bit): a 16-bit profile value and its data,
/// a whole number of 32-bit words (RFC 3550 §5.3.1). Borrowed from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderExtension<'a> {
    profile: u16,
    data: &'a [u8],
}

impl<'a> HeaderExtension<'a> {
    pub(crate) fn new(profile: u16, data: &'a [u8]) -> Self {
        HeaderExtension { profile, data }
    }

    /// The "defined by profile" field: `0xBEDE`, `0x100X`, or a profile-specific value.
    pub fn profile(&self) -> u16 {
        self.profile
    }

    /// The length field: size of [`data`](HeaderExtension::data) in 32-bit words
    /// (the 4-byte extension header itself is not counted).
    pub fn length_words(&self) -> u16 {
        u16::try_from(self.data.len() / 4).unwrap_or(u16::MAX)
    }

    /// The extension data after the 4-byte extension header (`4 × length_words()` bytes).
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Whether this is the RFC 8285 one-byte form (profile `0xBEDE`).
    pub fn is_one_byte(&self) -> bool {
        self.profile == ONE_BYTE_PROFILE
    }

    /// Whether this is the RFC 8285 two-byte form (profile `0x100X`).
    pub fn is_two_byte(&self) -> bool {
        self.profile & 0xFFF0 == TWO_BYTE_PROFILE
    }

    /// The RFC 8285 elements, in order. Empty for profiles other than the one-
    /// and two-byte forms. See [`ExtensionElements`] for where iteration stops.
    pub fn elements(&self) -> ExtensionElements<'a> {
        let form = if self.is_one_byte() {
            Form::OneByte
        } else if self.is_two_byte() {
            Form::TwoByte
        } else {
            Form::Other
        };
        ExtensionElements { data: self.data, pos: 0, form, malformed: false }
    }
}

/// One RFC 8285 header extension element: its local identifier and data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionElement<'a> {
    /// Local identifier, mapped to a URI by SDP `a=extmap` (1..=14 in the one-byte
    /// form, 1..=255 in the two-byte form).
    pub id: u8,
    /// Element data (1..=16 bytes in the one-byte form, 0..=255 in the two-byte form).
    pub data: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    OneByte,
    TwoByte,
    Other,
}

/// Iterator over the elements of a [`HeaderExtension`].
///
/// Ends at the end of the data, at an ID 15 in the one-byte form (RFC 8285
/// §4.2: the elements before it are kept), or at an element whose length runs
/// past the data; [`is_malformed`](ExtensionElements::is_malformed) then tells
/// the last case apart. Elements already yielded stay valid.
#[derive(Debug, Clone)]
pub struct ExtensionElements<'a> {
    data: &'a [u8],
    pos: usize,
    form: Form,
    malformed: bool,
}

impl ExtensionElements<'_> {
    /// Whether iteration stopped at an element whose length runs past the extension data.
    pub fn is_malformed(&self) -> bool {
        self.malformed
    }

    fn stop(&mut self, malformed: bool) {
        self.pos = self.data.len();
        self.malformed |= malformed;
    }
}

impl<'a> Iterator for ExtensionElements<'a> {
    type Item = ExtensionElement<'a>;

    fn next(&mut self) -> Option<ExtensionElement<'a>> {
        loop {
            let first = *self.data.get(self.pos)?;
            let (id, start, len) = match self.form {
                Form::Other => return None,
                Form::OneByte => {
                    let id = first >> 4;
                    if id == 0 {
                        // Padding byte (RFC 8285 §4.2; ID 0 is reserved for padding).
                        self.pos += 1;
                        continue;
                    }
                    if id == 15 {
                        self.stop(false);
                        return None;
                    }
                    (id, self.pos + 1, usize::from(first & 0x0F) + 1)
                }
                Form::TwoByte => {
                    if first == 0 {
                        self.pos += 1;
                        continue;
                    }
                    let Some(&len) = self.data.get(self.pos + 1) else {
                        self.stop(true);
                        return None;
                    };
                    (first, self.pos + 2, usize::from(len))
                }
            };
            let Some(data) = self.data.get(start..start + len) else {
                self.stop(true);
                return None;
            };
            self.pos = start + len;
            return Some(ExtensionElement { id, data });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(x: HeaderExtension<'_>) -> Vec<(u8, Vec<u8>)> {
        x.elements().map(|e| (e.id, e.data.to_vec())).collect()
    }

    #[test]
    fn one_byte_elements_with_padding() {
        // ID 1 L=0 [AB], pad, ID 2 L=1 [01 02], ID 3 L=0 [FF], pad pad pad.
        let d = [0x10, 0xAB, 0x00, 0x21, 0x01, 0x02, 0x30, 0xFF, 0, 0, 0, 0];
        let x = HeaderExtension::new(ONE_BYTE_PROFILE, &d);
        assert!(x.is_one_byte() && !x.is_two_byte());
        assert_eq!(x.length_words(), 3);
        assert_eq!(ids(x), vec![(1, vec![0xAB]), (2, vec![1, 2]), (3, vec![0xFF])]);
        let mut it = x.elements();
        assert_eq!(it.by_ref().count(), 3);
        assert!(!it.is_malformed());
    }

    #[test]
    fn one_byte_id_15_stops() {
        let d = [0x10, 0xAB, 0xF3, 0x20, 0x01, 0, 0, 0];
        let x = HeaderExtension::new(ONE_BYTE_PROFILE, &d);
        let mut it = x.elements();
        assert_eq!(it.next(), Some(ExtensionElement { id: 1, data: &[0xAB] }));
        assert_eq!(it.next(), None);
        assert!(!it.is_malformed());
    }

    #[test]
    fn one_byte_overrun_is_malformed() {
        // ID 1 says 16 data bytes, only 3 follow.
        let d = [0x1F, 1, 2, 3];
        let mut it = HeaderExtension::new(ONE_BYTE_PROFILE, &d).elements();
        assert_eq!(it.next(), None);
        assert!(it.is_malformed());
    }

    #[test]
    fn two_byte_elements() {
        // pad, ID 7 len 0, ID 200 len 3 [1 2 3], pad, pad.
        let d = [0x00, 0x07, 0x00, 0xC8, 0x03, 1, 2, 3];
        let x = HeaderExtension::new(0x1003, &d);
        assert!(x.is_two_byte());
        assert_eq!(ids(x), vec![(7, vec![]), (200, vec![1, 2, 3])]);
        // Length byte missing at the end.
        let d = [0x00, 0x00, 0x00, 0x09];
        let mut it = HeaderExtension::new(0x1000, &d).elements();
        assert_eq!(it.next(), None);
        assert!(it.is_malformed());
    }

    #[test]
    fn other_profiles_have_no_elements() {
        let d = [0x10, 0xAB, 0, 0];
        let x = HeaderExtension::new(0x0001, &d);
        assert_eq!(x.elements().count(), 0);
        assert_eq!(x.data(), &d);
    }
}
