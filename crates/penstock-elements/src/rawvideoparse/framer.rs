//! Cutting a byte stream into frames: windows of the incoming memories, adjacent ones
//! merged, a copy only for a memory that may not be shared.

use super::*;

/// A window not yet consumed: `memory[start..]`.
pub(super) struct Piece {
    pub(super) memory: Memory,
    pub(super) start: usize,
}

/// Cuts a stream of memories into frames of memories, sharing instead of copying.
#[derive(Default)]
pub(crate) struct Framer {
    pub(super) pieces: VecDeque<Piece>,
    pub(super) queued: usize,
}

impl Framer {
    /// Queues the bytes of `memory` (a handle: no copy).
    pub(crate) fn push(&mut self, memory: Memory) {
        if memory.size() > 0 {
            self.queued += memory.size();
            self.pieces.push_back(Piece { memory, start: 0 });
        }
    }

    /// Bytes queued.
    pub(crate) fn queued(&self) -> usize {
        self.queued
    }

    /// Drops everything queued.
    pub(crate) fn clear(&mut self) {
        self.pieces.clear();
        self.queued = 0;
    }

    /// Takes the next frame: the memories holding its first `size` bytes, then drops
    /// `advance - size` more bytes (padding between frames). Copies only where a memory
    /// that may not be shared has to be split (recorded as `merge`, at `site`).
    ///
    /// # Errors
    /// A copy that failed (allocation, or the memory cannot be mapped).
    pub(crate) fn take(
        &mut self,
        size: usize,
        advance: usize,
        site: &str,
    ) -> Result<Vec<Memory>, MemoryError> {
        let mut out = Vec::new();
        self.consume(size, Some(&mut out), site)?;
        self.consume(advance.saturating_sub(size), None, site)?;
        Ok(out)
    }

    pub(super) fn consume(
        &mut self,
        mut need: usize,
        mut out: Option<&mut Vec<Memory>>,
        site: &str,
    ) -> Result<(), MemoryError> {
        while need > 0 {
            let Some(front) = self.pieces.front_mut() else {
                break;
            };
            let avail = front.memory.size() - front.start;
            let n = avail.min(need);
            if let Some(out) = out.as_deref_mut() {
                let window = if front.start == 0 && n == avail {
                    front.memory.clone()
                } else {
                    match front.memory.share(front.start, n) {
                        Ok(m) => m,
                        Err(MemoryError::NoShare) => {
                            front
                                .memory
                                .copy_for(front.start, n, CopyReason::Merge, site)?
                        }
                        Err(e) => return Err(e),
                    }
                };
                push_merged(out, window);
            }
            front.start += n;
            need -= n;
            self.queued -= n;
            if front.start == front.memory.size() {
                self.pieces.pop_front();
            }
        }
        Ok(())
    }
}

/// Appends `m`, merging it into the last memory when they are adjacent windows of one
/// region (no copy).
pub(super) fn push_merged(out: &mut Vec<Memory>, m: Memory) {
    if let Some(last) = out.last_mut() {
        if let Ok(merged) = last.merge_span(&m) {
            *last = merged;
            return;
        }
    }
    out.push(m);
}
