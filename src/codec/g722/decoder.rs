//! The G.722 decoder: the two sub-band ADPCM decoders (mode 1, 2 or 3), then the
//! receive QMF, two 16 kHz samples per octet; with pitch-repetition concealment
//! that keeps the ADPCM state in step with the concealed audio.

use super::band_lower::LowerBand;
use super::band_upper::UpperBand;
use super::qmf::{pair, RxQmf, TxQmf, BLOCK};
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
        let rl = self.lower.decode(code & 63, self.mode.inverse_quantiser());
        let rh = self.upper.decode(code >> 6);
        // Both are limited to the 15-bit range by the band decoders.
        (rl as i16, rh as i16)
    }
}

/// Delay of the QMF pair in samples (transmit + receive, 2 × 11.5): decoded audio
/// at output sample `t` was encoder input at `t − 23`.
const QMF_DELAY: usize = 22;

/// Concealed samples re-encoded per erasure: 60 ms at 16 kHz, where the pitch
/// concealment has faded to silence.
const REPLAY_LIMIT: usize = 960;

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
/// transmit QMF splits it into sub-bands, the band coders quantise it exactly as an
/// encoder would, adapting their predictors and scale factors, and the receive QMF
/// takes in the reconstruction — one octet's worth of state per two samples played,
/// as if the lost octets had been received. The re-encoding runs 23 samples (the QMF
/// pair's delay) ahead of what is played, because the far-end encoder had consumed
/// its input that much ahead of the decoded output. Once the concealment has faded to
/// silence (60 ms into an erasure) the state is left as it is: re-encoding silence
/// would shrink the step sizes towards their minimum, far from the far-end
/// encoder's. Measured on the G.191 speech (`tests/g722_vectors.rs`, one 20 ms frame
/// lost at a time): the second frame after the loss is 10.8 dB SNR from the loss-free
/// decoding, against 10.0 dB when the state is left as before the gap and 2.2 dB when
/// the decoder is reset.
#[derive(Debug, Clone)]
pub struct G722Decoder {
    bands: G722BandDecoder,
    qmf: RxQmf,
    plc: PitchConcealer,
    /// Transmit QMF for re-encoding concealed audio.
    replay: TxQmf,
    /// Samples concealed in the current erasure (`None` after a real frame).
    concealed: Option<usize>,
    /// Concealed samples (counted from the erasure's start) pushed into `replay`.
    fed: usize,
    /// A fed sample waiting for its pair.
    older: Option<i16>,
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
            concealed: None,
            fed: 0,
            older: None,
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
    /// concealment state (no cross-fade), returning the samples written.
    ///
    /// Errors: [`CodecError::BufferTooSmall`] (nothing written).
    pub fn decode_raw(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        let n = 2 * payload.len();
        if out.len() < n {
            return Err(CodecError::BufferTooSmall { needed: n, available: out.len() });
        }
        let qq = self.bands.mode.inverse_quantiser();
        for (block, out) in payload.chunks(BLOCK).zip(out.chunks_mut(2 * BLOCK)) {
            let z = self.qmf.input(block.len());
            for (z, &code) in z.chunks_exact_mut(2).zip(block) {
                let rl = self.bands.lower.decode(code & 63, qq);
                let rh = self.bands.upper.decode(code >> 6);
                z.copy_from_slice(&pair(rl, rh));
            }
            self.qmf.merge(block.len(), out);
        }
        Ok(n)
    }

    /// Re-encodes the concealment after `out` (the samples just concealed, which
    /// end `end` samples into the erasure) up to [`QMF_DELAY`] samples ahead of it.
    fn replay(&mut self, out: &[i16], end: usize) {
        let start = end - out.len();
        let target = (end + QMF_DELAY).min(REPLAY_LIMIT + QMF_DELAY);
        if self.fed >= target {
            return;
        }
        let mut ahead = [0i16; QMF_DELAY];
        self.plc.peek(&mut ahead);
        let qq = self.bands.mode.inverse_quantiser();
        for j in self.fed..target {
            // `fed >= start` always: it runs QMF_DELAY ahead of what was played.
            let y = if j < end { out[j - start] } else { ahead[j - end] };
            if j < QMF_DELAY {
                // Fill the delay line: the first octet codes input 23 samples ahead.
                self.replay.shift_in(y);
                continue;
            }
            match self.older.take() {
                None => self.older = Some(y),
                Some(older) => {
                    let (xl, xh) = self.replay.split(&[older, y]);
                    let rl = self.bands.lower.encode_reconstruct(xl[0], qq);
                    let rh = self.bands.upper.encode_reconstruct(xh[0]);
                    self.qmf.push(rl, rh);
                }
            }
        }
        self.fed = target;
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
        self.concealed = None;
        self.plc.real(&mut out[..n]);
        Ok(n)
    }

    /// Writes `samples_per_channel` concealment samples (see the type's docs) and
    /// returns that count. Errors: [`CodecError::BufferTooSmall`] (nothing written).
    fn conceal(&mut self, samples_per_channel: usize, out: &mut [i16]) -> Result<usize, CodecError> {
        let n = samples_per_channel;
        if out.len() < n {
            return Err(CodecError::BufferTooSmall { needed: n, available: out.len() });
        }
        let start = match self.concealed {
            Some(done) => done,
            None => {
                self.fed = 0;
                self.older = None;
                0
            }
        };
        let end = start.saturating_add(n);
        self.concealed = Some(end);
        self.plc.conceal(&mut out[..n]);
        self.replay(&out[..n], end);
        Ok(n)
    }

    /// Two samples per payload octet.
    fn samples_in(&self, payload: &[u8]) -> Option<usize> {
        Some(2 * payload.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Encoder, G722Encoder};

    /// `n` samples of a 200 Hz tone (period 80 samples) of amplitude 8000 at 16 kHz, from sample `start`.
    fn tone(start: usize, n: usize) -> Vec<i16> {
        (start..start + n)
            .map(|i| (8000.0 * (2.0 * std::f64::consts::PI * i as f64 / 80.0).sin()).round() as i16)
            .collect()
    }

    fn encode(pcm: &[i16]) -> Vec<u8> {
        let mut enc = G722Encoder::new();
        let mut out = vec![0u8; pcm.len() / 2];
        assert_eq!(enc.encode(pcm, &mut out), Ok(pcm.len() / 2));
        out
    }

    #[test]
    fn shapes_and_errors() {
        let mut dec = G722Decoder::new(G722Mode::Mode2);
        assert_eq!((dec.sample_rate(), dec.channels(), dec.mode()), (SampleRate::HZ_16000, 1, G722Mode::Mode2));
        assert_eq!(dec.samples_in(&[0u8; 160]), Some(320));
        assert_eq!(dec.samples_in(&[]), Some(0));
        let mut out = [7i16; 319];
        assert_eq!(dec.decode(&[0u8; 160], &mut out), Err(CodecError::BufferTooSmall { needed: 320, available: 319 }));
        assert!(out.iter().all(|&s| s == 7), "nothing written");
        assert_eq!(dec.conceal(320, &mut out), Err(CodecError::BufferTooSmall { needed: 320, available: 319 }));
        assert_eq!(dec.decode(&[], &mut out), Ok(0));
    }

    #[test]
    fn concealment_before_any_audio_is_silence() {
        let mut dec = G722Decoder::new(G722Mode::Mode1);
        let mut out = [7i16; 320];
        assert_eq!(dec.conceal(320, &mut out), Ok(320));
        assert!(out.iter().all(|&s| s == 0));
    }

    #[test]
    fn band_decoder_reset_restores_the_initial_state() {
        let mut dec = G722BandDecoder::new(G722Mode::Mode3);
        let first: Vec<(i16, i16)> = (0..=255u8).map(|c| dec.decode(c)).collect();
        dec.reset();
        let again: Vec<(i16, i16)> = (0..=255u8).map(|c| dec.decode(c)).collect();
        assert_eq!(first, again);
        assert_eq!(dec.mode(), G722Mode::Mode3);
    }

    #[test]
    fn concealment_continues_a_tone_and_the_next_frame_follows_on() {
        let pcm = tone(0, 16 * 320);
        let codes = encode(&pcm);
        let mut reference = vec![0i16; pcm.len()];
        assert_eq!(G722Decoder::new(G722Mode::Mode1).decode_raw(&codes, &mut reference), Ok(pcm.len()));

        let mut dec = G722Decoder::new(G722Mode::Mode1);
        let mut out = vec![0i16; 320];
        for k in 0..10 {
            assert_eq!(dec.decode(&codes[k * 160..(k + 1) * 160], &mut out), Ok(320));
        }
        // Frame 10 lost: its first 10 ms repeat the last period, which for a steady tone is the true signal.
        assert_eq!(dec.conceal(320, &mut out), Ok(320));
        let lost = &reference[10 * 320..11 * 320];
        let err = out[..160].iter().zip(lost).map(|(&a, &b)| (i32::from(a) - i32::from(b)).abs()).max();
        assert!(err.is_some_and(|e| e < 50), "max error {err:?}");
        // Frame 12 (after the cross-faded frame 11) is within 2.5 % of full scale of the
        // loss-free decoding: the re-encoded concealment left the ADPCM state in step.
        let max_err = |got: &[i16], want: &[i16]| {
            got.iter().zip(want).map(|(&a, &b)| (i32::from(a) - i32::from(b)).abs()).max().unwrap_or(0)
        };
        assert_eq!(dec.decode(&codes[11 * 160..12 * 160], &mut out), Ok(320));
        assert_eq!(dec.decode(&codes[12 * 160..13 * 160], &mut out), Ok(320));
        let err = max_err(&out, &reference[12 * 320..13 * 320]);
        assert!(err < 200, "max error {err}");
        // A decoder reset at the loss instead is still far off.
        let mut reset = G722Decoder::new(G722Mode::Mode1);
        let mut two = vec![0i16; 640];
        assert_eq!(reset.decode(&codes[11 * 160..13 * 160], &mut two), Ok(640));
        let reset_err = max_err(&two[320..], &reference[12 * 320..13 * 320]);
        assert!(reset_err > 5 * err, "reset {reset_err}, re-encoded {err}");
    }

    #[test]
    fn the_state_stops_adapting_once_concealment_is_silent() {
        let codes = encode(&tone(0, 10 * 320));
        let mut a = G722Decoder::new(G722Mode::Mode1);
        let mut out = vec![0i16; 3200];
        assert_eq!(a.decode(&codes, &mut out), Ok(3200));
        let mut b = a.clone();
        // 60 ms in one call and in odd pieces, then more: the ADPCM state ends the same.
        assert_eq!(a.conceal(960, &mut out), Ok(960));
        for n in [1, 333, 500, 127, 999] {
            assert_eq!(b.conceal(n, &mut out), Ok(n));
        }
        let mut ya = vec![0i16; 320];
        let mut yb = vec![0i16; 320];
        assert_eq!(a.decode_raw(&codes[..160], &mut ya), Ok(320));
        assert_eq!(b.decode_raw(&codes[..160], &mut yb), Ok(320));
        assert_eq!(ya, yb);
    }
}
