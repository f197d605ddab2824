//! The G.722 decoder: the two sub-band ADPCM decoders (mode 1, 2 or 3), then the
//! receive QMF, two 16 kHz samples per octet; with pitch-repetition concealment
//! that keeps the ADPCM state in step with the concealed audio.

use super::band_lower::LowerBand;
use super::band_upper::UpperBand;
use super::qmf::{RxQmf, TxQmf};
use super::G722Mode;
use crate::audio::SampleRate;
use crate::codec::pitch_plc::PitchConcealer;
use crate::codec::{CodecError, Decoder};

/// The SB-ADPCM decoder without the QMF (ITU-T G.722 §6.2): one octet in, one
/// lower-band and one higher-band sample out. This is the configuration of the
/// Appendix II digital test sequences, which bypass the QMF.
#[derive(Debug, Clone)]
pub struct G722BandDecoder {
    mode: G722Mode,
    lower: LowerBand,
    upper: UpperBand,
}

impl G722BandDecoder {
    /// A decoder for `mode` in the reset state.
    pub fn new(mode: G722Mode) -> Self {
        G722BandDecoder { mode, lower: LowerBand::new(), upper: UpperBand::new() }
    }

    /// The mode (which lower-band inverse quantiser is used).
    pub fn mode(&self) -> G722Mode {
        self.mode
    }

    /// Returns to the reset state (G.722 §6.2 reset: predictors zero, DETL = 32, DETH = 8).
    pub fn reset(&mut self) {
        *self = Self::new(self.mode);
    }

    /// Decodes one octet `IH << 6 | IL` into the reconstructed lower- and higher-band
    /// samples (RL, RH), each 15-bit (−16384..=16383). In modes 2 and 3 the 1 or 2 least
    /// significant bits of IL are ignored (they may carry auxiliary data).
    #[inline]
    pub fn decode(&mut self, code: u8) -> (i16, i16) {
        let rl = self.lower.decode(code & 63, self.mode.index());
        let rh = self.upper.decode(code >> 6);
        // Both are limited to the 15-bit range by the band decoders.
        (rl as i16, rh as i16)
    }
}

/// Last output samples kept to restart the transmit QMF at a concealment (its length).
const TAIL: usize = 24;

/// A G.722 decoder: G.722 octets in, 16 kHz mono 16-bit PCM out (two samples per
/// octet), bit-exact to the ITU-T G.191 reference decoder in each mode.
///
/// Any payload length is accepted; [`Decoder::samples_in`] is twice the payload
/// length. On an RTP leg the clock is 8000 Hz (RFC 3551 §4.5.2): a 20 ms packet of
/// 160 octets advances the timestamp by 160 and decodes to 320 samples.
///
/// **Concealment** ([`Decoder::conceal`]) is the crate's pitch repetition (as for
/// G.711: the last pitch period, or the last 20 ms when unvoiced, full gain for 10 ms,
/// fading to silence at 60 ms; 2 ms cross-fade into the next real frame) at 16 kHz.
/// So that the next real frame decodes from a state that matches what was played,
/// the concealed audio is re-encoded through this decoder's own ADPCM state: a
/// transmit QMF (restarted from the last 24 samples played) splits it into
/// sub-bands, the band coders quantise it exactly as an encoder would, adapting
/// their predictors and scale factors, and the receive QMF takes in the
/// reconstruction. The predictors, scale factors and QMF delay lines then hold what
/// a decoder would hold had the concealed audio been sent, rather than stale values
/// from before the gap (which would make the first real frames after a loss ring or
/// click) or a reset state (which would start at the smallest step size and take
/// tens of milliseconds to reach the signal's level).
#[derive(Debug, Clone)]
pub struct G722Decoder {
    bands: G722BandDecoder,
    qmf: RxQmf,
    plc: PitchConcealer,
    /// Transmit QMF for re-encoding concealed audio.
    replay: TxQmf,
    /// The last [`TAIL`] samples played, oldest first.
    tail: [i16; TAIL],
    /// Whether the previous call was a concealment (the replay QMF is running).
    concealing: bool,
    /// A concealed sample waiting for its pair (after an odd-length concealment).
    pending: Option<i16>,
}

impl G722Decoder {
    /// A decoder for `mode` (use [`G722Mode::Mode1`] for RTP payload type 9, which
    /// carries no auxiliary data).
    pub fn new(mode: G722Mode) -> Self {
        G722Decoder {
            bands: G722BandDecoder::new(mode),
            qmf: RxQmf::default(),
            plc: PitchConcealer::new(SampleRate::HZ_16000),
            replay: TxQmf::default(),
            tail: [0; TAIL],
            concealing: false,
            pending: None,
        }
    }

    /// The mode.
    pub fn mode(&self) -> G722Mode {
        self.bands.mode
    }

    /// Returns to the reset state (ADPCM, QMF and concealment history cleared).
    pub fn reset(&mut self) {
        *self = Self::new(self.bands.mode);
    }

    /// Decodes `payload` into `out[..2 * payload.len()]` without touching the
    /// concealment state, returning the samples written.
    ///
    /// Errors: [`CodecError::BufferTooSmall`] (nothing written).
    pub fn decode_raw(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        let n = 2 * payload.len();
        if out.len() < n {
            return Err(CodecError::BufferTooSmall { needed: n, available: out.len() });
        }
        let mode = self.bands.mode.index();
        for (pair, &code) in out.chunks_exact_mut(2).zip(payload) {
            let rl = self.bands.lower.decode(code & 63, mode);
            let rh = self.bands.upper.decode(code >> 6);
            let (y0, y1) = self.qmf.merge(rl, rh);
            pair[0] = y0;
            pair[1] = y1;
        }
        Ok(n)
    }

    /// Remembers the last samples played (for restarting the replay QMF).
    fn remember(&mut self, played: &[i16]) {
        let n = played.len();
        if n >= TAIL {
            self.tail.copy_from_slice(&played[n - TAIL..]);
        } else {
            self.tail.copy_within(n.., 0);
            self.tail[TAIL - n..].copy_from_slice(played);
        }
    }

    /// Re-encodes concealed samples through the ADPCM state (see the type's docs).
    fn replay(&mut self, concealed: &[i16]) {
        let mode = self.bands.mode.index();
        let mut rest = concealed;
        if let Some(first) = self.pending.take() {
            match rest.split_first() {
                Some((&second, tail)) => {
                    self.replay_pair(first, second, mode);
                    rest = tail;
                }
                None => {
                    self.pending = Some(first);
                    return;
                }
            }
        }
        let mut pairs = rest.chunks_exact(2);
        for pair in &mut pairs {
            self.replay_pair(pair[0], pair[1], mode);
        }
        self.pending = pairs.remainder().first().copied();
    }

    #[inline]
    fn replay_pair(&mut self, older: i16, newer: i16, mode: usize) {
        let (xl, xh) = self.replay.split(older, newer);
        let rl = self.bands.lower.encode_reconstruct(xl, mode);
        let rh = self.bands.upper.encode_reconstruct(xh);
        self.qmf.merge(rl, rh);
    }
}

impl Decoder for G722Decoder {
    /// 16000 Hz.
    fn sample_rate(&self) -> SampleRate {
        SampleRate::HZ_16000
    }

    fn channels(&self) -> u8 {
        1
    }

    /// Decodes every octet of `payload` into two samples, returning `2 * payload.len()`.
    /// The first 2 ms after concealment are cross-faded (see the type's docs).
    ///
    /// Errors: [`CodecError::BufferTooSmall`] (nothing written). Every octet is a valid
    /// code, so there is no corrupt payload.
    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        let n = self.decode_raw(payload, out)?;
        self.concealing = false;
        self.pending = None;
        self.plc.real(&mut out[..n]);
        self.remember(&out[..n]);
        Ok(n)
    }

    /// Writes `samples_per_channel` concealment samples (see the type's docs) and
    /// returns that count. Errors: [`CodecError::BufferTooSmall`] (nothing written).
    fn conceal(&mut self, samples_per_channel: usize, out: &mut [i16]) -> Result<usize, CodecError> {
        let n = samples_per_channel;
        if out.len() < n {
            return Err(CodecError::BufferTooSmall { needed: n, available: out.len() });
        }
        if !self.concealing {
            self.replay.prime(&self.tail);
            self.concealing = true;
        }
        self.plc.conceal(&mut out[..n]);
        self.replay(&out[..n]);
        self.remember(&out[..n]);
        Ok(n)
    }

    /// Two samples per payload octet.
    fn samples_in(&self, payload: &[u8]) -> Option<usize> {
        Some(2 * payload.len())
    }
}
