//! G.722 wideband speech codec (ITU-T G.722, "7 kHz audio-coding within 64 kbit/s"),
//! written from the Recommendation: sub-band ADPCM (SB-ADPCM) with a 24-tap QMF
//! splitting 16 kHz audio into two 8 kHz sub-bands, a 6-bit ADPCM lower band and a
//! 2-bit ADPCM higher band, one octet per 125 µs.
//!
//! - [`G722Encoder`] / [`G722Decoder`]: 16 kHz mono 16-bit PCM ↔ octets (two samples
//!   per octet); the decoder decodes in mode 1, 2 or 3 ([`G722Mode`]) and conceals
//!   lost frames.
//! - [`G722BandEncoder`] / [`G722BandDecoder`]: the SB-ADPCM coder with the QMF
//!   bypassed (sub-band samples ↔ octets), as the Appendix II digital test sequences
//!   exercise it.
//!
//! Bit-exact to the ITU-T Appendix II test sequences and the ITU-T G.191 reference
//! codec (see `tests/g722_vectors.rs`).
//!
//! Layout: `tables` (the Recommendation's tables), `adpcm` (block 4 predictor and
//! scale-factor adaptation, shared), `band_lower`, `band_upper`, `qmf`, `encoder`,
//! `decoder`.

mod adpcm;
mod band_lower;
mod band_upper;
mod decoder;
mod encoder;
mod qmf;
mod tables;

pub use self::decoder::{G722BandDecoder, G722Decoder};
pub use self::encoder::{G722BandEncoder, G722Encoder};

/// Decoder operating mode (ITU-T G.722 §1.3): how many bits of the lower-band code
/// carry audio. The encoder always codes at 64 kbit/s; in modes 2 and 3 the 1 or 2
/// least significant lower-band bits may have been replaced by auxiliary data and
/// the decoder ignores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum G722Mode {
    /// 64 kbit/s audio, 6-bit lower-band code (the RTP payload type 9 case).
    Mode1,
    /// 56 kbit/s audio (+ 8 kbit/s data), 5-bit lower-band code.
    Mode2,
    /// 48 kbit/s audio (+ 16 kbit/s data), 4-bit lower-band code.
    Mode3,
}

impl G722Mode {
    /// The audio bit rate of the mode in bit/s: 64000, 56000 or 48000.
    pub fn bit_rate(self) -> u32 {
        match self {
            G722Mode::Mode1 => 64_000,
            G722Mode::Mode2 => 56_000,
            G722Mode::Mode3 => 48_000,
        }
    }

    /// The mode for an audio bit rate in bit/s (64000, 56000, 48000), if it is one.
    pub fn from_bit_rate(bits_per_second: u32) -> Option<G722Mode> {
        match bits_per_second {
            64_000 => Some(G722Mode::Mode1),
            56_000 => Some(G722Mode::Mode2),
            48_000 => Some(G722Mode::Mode3),
            _ => None,
        }
    }

    /// The lower-band decoder's inverse quantiser (×8) per 6-bit code in this mode.
    fn inverse_quantiser(self) -> &'static [i32; 64] {
        match self {
            G722Mode::Mode1 => &tables::QQ_MODE_CODE[0],
            G722Mode::Mode2 => &tables::QQ_MODE_CODE[1],
            G722Mode::Mode3 => &tables::QQ_MODE_CODE[2],
        }
    }
}
