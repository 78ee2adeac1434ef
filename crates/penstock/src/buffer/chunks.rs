//! Frames wrapped from externally owned chunks, released once.

use super::*;
use crate::sync::MutexExt;

/// Runs a release callback once, when the last chunk memory of a frame is gone.
struct ReleaseToken(Mutex<Option<Box<dyn FnOnce() + Send>>>);

impl Drop for ReleaseToken {
    fn drop(&mut self) {
        let f = self.0.get_mut_ignore_poison().take();
        if let Some(f) = f {
            f();
        }
    }
}

/// One externally owned chunk, holding the frame's release token.
struct ChunkOwner<C> {
    chunk: C,
    _token: Arc<ReleaseToken>,
}

impl<C: AsRef<[u8]>> AsRef<[u8]> for ChunkOwner<C> {
    fn as_ref(&self) -> &[u8] {
        self.chunk.as_ref()
    }
}

impl BufferMut {
    /// Wraps a frame of `frame_size` bytes (rows of `stride` bytes) that arrives as
    /// externally owned `chunks`, as a Spice or RDP server hands over a bitmap.
    ///
    /// Every chunk whose length is a multiple of `stride` becomes a READONLY memory
    /// without a copy, so the buffer keeps one memory per chunk (no cap, no merge).
    /// A *padded* chunk (length not a multiple of the stride) ends in a partial row
    /// that continues in the next chunk: its whole rows are still wrapped without a
    /// copy, and only the straddling row is copied into a memory of its own (reason
    /// `padded-chunk`), so every memory holds whole rows. Bytes past `frame_size` are
    /// ignored. `release` runs exactly once, when the last memory that refers to any
    /// chunk is gone (at once for chunks that contributed nothing).
    ///
    /// # Errors
    /// [`BufferError::Chunks`] if `stride` is 0 or the chunks hold fewer than
    /// `frame_size` bytes; `release` still runs once then.
    pub fn from_chunks<C, F>(
        chunks: Vec<C>,
        stride: usize,
        frame_size: usize,
        release: F,
    ) -> Result<BufferMut, BufferError>
    where
        C: AsRef<[u8]> + Send + 'static,
        F: FnOnce() + Send + 'static,
    {
        let token = Arc::new(ReleaseToken(Mutex::new(Some(Box::new(release)))));
        if stride == 0 {
            return Err(BufferError::Chunks("stride is 0".into()));
        }
        let mut out = BufferMut::new();
        let mut pending: Vec<u8> = Vec::new();
        let mut pos = 0usize; // frame bytes placed in memories so far
        let mut total_in = 0usize;
        let flush_pending =
            |pending: &mut Vec<u8>, out: &mut BufferMut| -> Result<(), BufferError> {
                let m = Memory::new_system(pending.len())?;
                m.map_write()?.copy_from_slice(pending);
                ledger::record_copy(
                    CopyReason::PaddedChunk,
                    pending.len(),
                    "Buffer::from_chunks",
                );
                out.append_memory(m);
                pending.clear();
                Ok(())
            };
        for chunk in chunks {
            let len = chunk.as_ref().len();
            total_in += len;
            let remaining = frame_size - pos - pending.len();
            if remaining == 0 {
                continue;
            }
            let take = len.min(remaining);
            let mem = Memory::from_owner_readonly(ChunkOwner {
                chunk,
                _token: Arc::clone(&token),
            });
            let mut i = 0;
            if !pending.is_empty() {
                let n = (stride - pending.len()).min(take);
                pending.extend_from_slice(&mem.map_read()?[..n]);
                i = n;
                if pending.len() == stride || pos + pending.len() == frame_size {
                    pos += pending.len();
                    flush_pending(&mut pending, &mut out)?;
                }
            }
            let avail = take - i;
            let whole = avail / stride * stride;
            let rest = avail - whole;
            let ends_frame = pos + avail == frame_size;
            let shared_len = if ends_frame { avail } else { whole };
            if shared_len > 0 {
                if i == 0 && shared_len == len {
                    out.append_memory(mem.clone());
                } else {
                    out.append_memory(mem.share(i, shared_len)?);
                }
                pos += shared_len;
            }
            if !ends_frame && rest > 0 {
                pending.extend_from_slice(&mem.map_read()?[i + whole..i + whole + rest]);
            }
        }
        if pos + pending.len() < frame_size || !pending.is_empty() {
            return Err(BufferError::Chunks(format!(
                "the chunks hold {total_in} bytes but the frame needs {frame_size}"
            )));
        }
        Ok(out)
    }
}
