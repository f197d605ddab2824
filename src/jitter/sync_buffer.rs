//! The sync buffer: decoded audio not yet played (the *future*) after the most
//! recent played audio (the *history*), mono `f32` at the output rate, as in NetEq.
//!
//! Concealment, merge and time-stretching read the history and rewrite the start
//! of the future. One allocation at construction; pushing compacts in place.

/// Played history plus decoded future audio. Invariant: `hist ≤ play ≤ end ≤ data.len()`,
/// `data[play − hist..play]` is the history (zeros before any audio).
#[derive(Debug, Clone)]
pub(crate) struct SyncBuffer {
    data: Vec<f32>,
    hist: usize,
    play: usize,
    end: usize,
}

impl SyncBuffer {
    /// A buffer keeping `hist` samples of history and at most `max_future` samples of future.
    pub(crate) fn new(hist: usize, max_future: usize) -> Self {
        SyncBuffer { data: vec![0.0; hist + max_future], hist, play: hist, end: hist }
    }

    /// Samples decoded and not yet played.
    pub(crate) fn future_len(&self) -> usize {
        self.end - self.play
    }

    /// Most samples the future can hold.
    pub(crate) fn max_future(&self) -> usize {
        self.data.len() - self.hist
    }

    /// The future, mutable.
    pub(crate) fn future_mut(&mut self) -> &mut [f32] {
        &mut self.data[self.play..self.end]
    }

    /// The last `n` played samples (at most the history length), oldest first.
    pub(crate) fn history(&self, n: usize) -> &[f32] {
        &self.data[self.play - n.min(self.hist)..self.play]
    }

    /// Moves history and future to the start of the storage.
    fn compact(&mut self) {
        let from = self.play - self.hist;
        if from > 0 {
            self.data.copy_within(from..self.end, 0);
            self.play -= from;
            self.end -= from;
        }
    }

    /// Appends `n` samples to the future and returns them to be filled, or `None`
    /// when the future would exceed its maximum.
    pub(crate) fn append(&mut self, n: usize) -> Option<&mut [f32]> {
        if self.future_len() + n > self.max_future() {
            return None;
        }
        if self.end + n > self.data.len() {
            self.compact();
        }
        let start = self.end;
        self.end += n;
        Some(&mut self.data[start..self.end])
    }

    /// The future followed by `extra` free samples (for lengthening it in place), or
    /// `None` when there is no room; call [`commit_growth`](Self::commit_growth) after.
    pub(crate) fn future_with_room(&mut self, extra: usize) -> Option<&mut [f32]> {
        if self.future_len() + extra > self.max_future() {
            return None;
        }
        if self.end + extra > self.data.len() {
            self.compact();
        }
        Some(&mut self.data[self.play..self.end + extra])
    }

    /// The future grew by `n` samples written through [`future_with_room`](Self::future_with_room).
    pub(crate) fn commit_growth(&mut self, n: usize) {
        self.end = (self.end + n).min(self.data.len());
    }

    /// The future shrank by its last `n` samples.
    pub(crate) fn shrink(&mut self, n: usize) {
        self.end = self.end.saturating_sub(n).max(self.play);
    }

    /// Plays `out.len()` samples from the future (the caller checked there are
    /// enough; missing samples are zeros) and moves them into the history.
    pub(crate) fn play(&mut self, out: &mut [f32]) {
        let n = out.len().min(self.future_len());
        out[..n].copy_from_slice(&self.data[self.play..self.play + n]);
        out[n..].iter_mut().for_each(|s| *s = 0.0);
        self.play += n;
        if n < out.len() {
            // Zeros played: make the history show them.
            let zeros = out.len() - n;
            if let Some(z) = self.append(zeros) {
                z.iter_mut().for_each(|s| *s = 0.0);
            }
            self.play = self.end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_future_and_compaction() {
        let mut sb = SyncBuffer::new(4, 8);
        assert_eq!(sb.history(4), &[0.0; 4]);
        sb.append(6).expect("room").copy_from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert!(sb.append(3).is_none(), "future limited to 8");
        let mut out = [0.0; 5];
        sb.play(&mut out);
        assert_eq!(out, [1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(sb.history(3), &[3.0, 4.0, 5.0]);
        // Appending 7 more needs compaction (storage is 12 long).
        sb.append(7).expect("room after compaction").copy_from_slice(&[7.0; 7]);
        assert_eq!(sb.future_len(), 8);
        assert_eq!(sb.history(4), &[2.0, 3.0, 4.0, 5.0]);
        assert_eq!(sb.future_mut()[0], 6.0);
        sb.shrink(2);
        let mut out = [9.0; 8];
        sb.play(&mut out);
        assert_eq!(out, [6.0, 7.0, 7.0, 7.0, 7.0, 7.0, 0.0, 0.0]);
        assert_eq!(sb.history(4), &[7.0, 7.0, 0.0, 0.0]);
        assert_eq!(sb.future_len(), 0);
    }

    #[test]
    fn growth_in_place() {
        let mut sb = SyncBuffer::new(2, 6);
        sb.append(3).expect("room").copy_from_slice(&[1.0, 2.0, 3.0]);
        let f = sb.future_with_room(2).expect("room");
        assert_eq!(f.len(), 5);
        f[3] = 4.0;
        f[4] = 5.0;
        sb.commit_growth(2);
        assert_eq!(sb.future_mut(), &[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert!(sb.future_with_room(2).is_none());
    }
}
