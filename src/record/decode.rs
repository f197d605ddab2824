//! Decoding a whole Ogg Opus recording to PCM (mapping families 0 and 1), for checks,
//! tests and tools: what a player hears, pre-skip removed and end trimming applied.

use super::{read_ogg_opus, RecordError};
use crate::codec::CodecError;

/// A decoded recording: 48 kHz interleaved PCM.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodedRecording {
    /// Channels (2 for a call, 3 with the guard track).
    pub channels: u8,
    /// Interleaved samples at 48 kHz, `samples_per_channel() × channels` long.
    pub pcm: Vec<i16>,
}

impl DecodedRecording {
    /// Samples per channel.
    pub fn samples_per_channel(&self) -> usize {
        self.pcm.len() / usize::from(self.channels.max(1))
    }

    /// One channel as its own vector.
    pub fn channel(&self, ch: usize) -> Vec<i16> {
        self.pcm.iter().skip(ch).step_by(usize::from(self.channels.max(1))).copied().collect()
    }
}

/// Decodes `file` with libopus' multistream decoder as its OpusHead describes (RFC 7845
/// §5.1.1), dropping the pre-skip and trimming the end to the final granule position.
///
/// Errors: anything [`read_ogg_opus`] reports; [`RecordError::Codec`] when libopus rejects
/// the channel layout or a packet.
pub fn decode_ogg_opus(file: &[u8]) -> Result<DecodedRecording, RecordError> {
    let info = read_ogg_opus(file)?;
    let head = &info.head;
    let (streams, coupled, mapping): (u8, u8, Vec<u8>) = if head.mapping_family == 0 {
        match head.channels {
            1 => (1, 0, vec![0]),
            _ => (1, 1, vec![0, 1]),
        }
    } else {
        (head.stream_count, head.coupled_count, head.mapping.clone())
    };
    let ch = usize::from(head.channels.max(1));
    let mut dec = opus::MSDecoder::new(48_000, streams, coupled, &mapping)
        .map_err(|e| RecordError::Codec(CodecError::Opus(e.to_string())))?;
    let mut buf = vec![0i16; 5760 * ch];
    let mut pcm = Vec::new();
    for p in info.packet_iter(file) {
        let n = dec.decode(&p, &mut buf, false).map_err(|e| RecordError::Codec(CodecError::Opus(e.to_string())))?;
        pcm.extend_from_slice(&buf[..n * ch]);
    }
    let skip = usize::from(head.pre_skip) * ch;
    let total = usize::try_from(info.decoded_samples()).unwrap_or(usize::MAX).saturating_mul(ch);
    let pcm: Vec<i16> = pcm.into_iter().skip(skip).take(total).collect();
    Ok(DecodedRecording { channels: head.channels, pcm })
}
