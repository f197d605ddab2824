//! Target `codec_decode`: each decoder (G.711 µ-law and A-law, G.722 in its three modes,
//! Opus at every rate and channel count) fed arbitrary payloads, concealment requests and
//! Opus FEC decodes, keeping its state across operations; and each encoder fed arbitrary PCM,
//! whose output must decode.
//!
//! Checked: a decode never writes more than the output buffer; when a payload decodes, a
//! decoder that can tell the payload's length without decoding ([`Decoder::samples_in`])
//! tells the same length; concealment returns at most what was asked; every payload our
//! encoder produces decodes to one frame.

use crate::{Blob, Seed, ToSeed};
use arbitrary::Arbitrary;
use jyqq_media::codec::{
    Decoder, Encoder, G711Decoder, G711Encoder, G711Law, G722Decoder, G722Encoder, G722Mode, L16Decoder, L16Encoder,
    OpusDecoder, OpusEncoder, OpusEncoderConfig,
};
use jyqq_media::SampleRate;

/// Output buffer: 120 ms of stereo at 48 kHz, the most any payload decodes to.
const OUT_SAMPLES: usize = 5760 * 2;

/// The codec under test.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodecChoice {
    /// G.711 µ-law.
    Pcmu,
    /// G.711 A-law.
    Pcma,
    /// G.722 at 64, 56 or 48 kbit/s (mode 1, 2, 3; index modulo 3).
    G722 {
        /// Mode index.
        mode: u8,
    },
    /// Opus at 8/12/16/24/48 kHz (index modulo 5), mono or stereo.
    Opus {
        /// Rate index.
        rate: u8,
        /// Stereo.
        stereo: bool,
    },
    /// L16 (RFC 3551 §4.5.11, network byte order) at 8/16/44.1/48 kHz (index modulo 4),
    /// 1–3 channels (modulo 3, + 1).
    L16 {
        /// Rate index.
        rate: u8,
        /// Channel index.
        channels: u8,
    },
}

/// One operation on the decoder (and the matching encoder).
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub enum CodecOp<'a> {
    /// Decode a payload.
    Decode(Blob<'a>),
    /// Conceal a lost frame of this many samples per channel.
    Conceal(u16),
    /// Opus: recover the previous frame from the FEC data of this payload.
    Fec {
        /// The next packet's payload.
        next: Blob<'a>,
        /// Samples per channel to recover.
        samples: u16,
    },
    /// Encode PCM (little-endian `i16` samples, interleaved) and decode the result.
    Encode(Blob<'a>),
}

impl ToSeed for CodecChoice {
    fn to_seed(&self, s: &mut Seed) {
        match self {
            CodecChoice::Pcmu => {
                s.variant(0, 5);
            }
            CodecChoice::Pcma => {
                s.variant(1, 5);
            }
            CodecChoice::G722 { mode } => {
                s.variant(2, 5).u8(*mode);
            }
            CodecChoice::Opus { rate, stereo } => {
                s.variant(3, 5).u8(*rate).bool(*stereo);
            }
            CodecChoice::L16 { rate, channels } => {
                s.variant(4, 5).u8(*rate).u8(*channels);
            }
        }
    }
}

impl ToSeed for CodecOp<'_> {
    fn to_seed(&self, s: &mut Seed) {
        match self {
            CodecOp::Decode(b) => {
                s.variant(0, 4).put(b);
            }
            CodecOp::Conceal(n) => {
                s.variant(1, 4).u16(*n);
            }
            CodecOp::Fec { next, samples } => {
                s.variant(2, 4).put(next).u16(*samples);
            }
            CodecOp::Encode(b) => {
                s.variant(3, 4).put(b);
            }
        }
    }
}

fn g722_mode(mode: u8) -> G722Mode {
    [G722Mode::Mode1, G722Mode::Mode2, G722Mode::Mode3][usize::from(mode % 3)]
}

/// A decoder, the matching encoder, and (Opus) a second decoder for FEC recovery.
type Codecs = (Box<dyn Decoder>, Box<dyn Encoder>, Option<OpusDecoder>);

/// The codecs for a choice (`None` if the codec refuses the setup).
fn build(choice: CodecChoice) -> Option<Codecs> {
    Some(match choice {
        CodecChoice::Pcmu => (Box::new(G711Decoder::new(G711Law::Mu)), Box::new(G711Encoder::new(G711Law::Mu)), None),
        CodecChoice::Pcma => (Box::new(G711Decoder::new(G711Law::A)), Box::new(G711Encoder::new(G711Law::A)), None),
        CodecChoice::G722 { mode } => (Box::new(G722Decoder::new(g722_mode(mode))), Box::new(G722Encoder::new()), None),
        CodecChoice::Opus { rate, stereo } => {
            let hz = [8000, 12_000, 16_000, 24_000, 48_000][usize::from(rate % 5)];
            let ch = if stereo { 2 } else { 1 };
            let rate = SampleRate::new(hz);
            let dec = OpusDecoder::new(rate, ch).ok()?;
            let fec = OpusDecoder::new(rate, ch).ok()?;
            let enc = OpusEncoder::new(OpusEncoderConfig::new(rate, ch)).ok()?;
            (Box::new(dec), Box::new(enc), Some(fec))
        }
        CodecChoice::L16 { rate, channels } => {
            let rate = SampleRate::new([8000, 16_000, 44_100, 48_000][usize::from(rate % 4)]);
            let ch = channels % 3 + 1;
            (Box::new(L16Decoder::new(rate, ch).ok()?), Box::new(L16Encoder::new(rate, ch).ok()?), None)
        }
    })
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let Some((choice, ops)) = crate::decode_ops::<CodecChoice, CodecOp>(data) else { return };
    let Some((mut dec, mut enc, mut fec)) = build(choice) else { return };
    // A fresh decoder of the same codec, for the encode → decode check.
    let Some((mut check, _, _)) = build(choice) else { return };
    let ch = usize::from(dec.channels().max(1));
    let mut out = vec![0i16; OUT_SAMPLES];
    let mut pcm = Vec::with_capacity(OUT_SAMPLES);
    let mut payload = vec![0u8; 4000];
    for op in ops {
        match op {
            CodecOp::Decode(b) => {
                let told = dec.samples_in(b.0);
                if let Ok(n) = dec.decode(b.0, &mut out) {
                    assert!(n * ch <= out.len());
                    if let Some(t) = told {
                        assert_eq!(t, n, "samples_in says {t}, decode gave {n}");
                    }
                    std::hint::black_box(&out[..n * ch]);
                }
            }
            CodecOp::Conceal(n) => {
                if let Ok(m) = dec.conceal(usize::from(n), &mut out) {
                    assert!(m <= usize::from(n) && m * ch <= out.len(), "concealed {m} of {n}");
                    std::hint::black_box(&out[..m * ch]);
                }
            }
            CodecOp::Fec { next, samples } => {
                if let Some(f) = fec.as_mut() {
                    if let Ok(n) = f.decode_fec(next.0, usize::from(samples), &mut out) {
                        assert!(n * ch <= out.len());
                        std::hint::black_box(&out[..n * ch]);
                    }
                }
            }
            CodecOp::Encode(b) => {
                pcm.clear();
                pcm.extend(b.0.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])));
                if let Ok(len) = enc.encode(&pcm, &mut payload) {
                    let frame = pcm.len() / usize::from(enc.channels().max(1));
                    let n = check.decode(&payload[..len], &mut out).expect("our own payload decodes");
                    // G.711 and G.722 give back every sample; Opus its frame at the decoder's rate.
                    assert_eq!(n, frame, "encoded {frame} samples per channel, decoded {n}");
                }
            }
        }
    }
}
