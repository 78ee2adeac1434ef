//! The write methods of [`BufferRef`] (reached through a unique [`BufferMut`]).

use super::*;

impl BufferRef {
    /// Sets the presentation timestamp.
    pub fn set_pts(&mut self, pts: Option<ClockTime>) {
        self.pts = pts;
    }
    /// Sets the decoding timestamp.
    pub fn set_dts(&mut self, dts: Option<ClockTime>) {
        self.dts = dts;
    }
    /// Sets the duration.
    pub fn set_duration(&mut self, duration: Option<ClockTime>) {
        self.duration = duration;
    }
    /// Sets the offset.
    pub fn set_offset(&mut self, offset: Option<u64>) {
        self.offset = offset;
    }
    /// Sets the end offset.
    pub fn set_offset_end(&mut self, offset_end: Option<u64>) {
        self.offset_end = offset_end;
    }
    /// Replaces the flags.
    pub fn set_flags(&mut self, flags: BufferFlags) {
        self.flags = flags;
    }
    /// Sets `flags` in addition to the current ones.
    pub fn insert_flags(&mut self, flags: BufferFlags) {
        self.flags |= flags;
    }
    /// Clears `flags`.
    pub fn remove_flags(&mut self, flags: BufferFlags) {
        self.flags.remove(flags);
    }

    /// Appends a memory. Never merges: there is no limit on the number of memories.
    pub fn append_memory(&mut self, memory: Memory) {
        self.memories.push(memory);
    }

    /// Inserts a memory at `idx` (clamped to the end).
    pub fn insert_memory(&mut self, idx: usize, memory: Memory) {
        let idx = idx.min(self.memories.len());
        self.memories.insert(idx, memory);
    }

    /// Removes and returns memory `idx`.
    pub fn remove_memory(&mut self, idx: usize) -> Option<Memory> {
        (idx < self.memories.len()).then(|| self.memories.remove(idx))
    }

    /// Replaces memory `idx`, returning the old one.
    ///
    /// # Errors
    /// [`BufferError::BadMemoryRange`].
    pub fn replace_memory(&mut self, idx: usize, memory: Memory) -> Result<Memory, BufferError> {
        self.check_memory_range("Buffer::replace_memory", idx, 1)?;
        Ok(std::mem::replace(&mut self.memories[idx], memory))
    }

    /// Removes every memory.
    pub fn remove_all_memory(&mut self) {
        self.memories.clear();
    }

    /// Mutable access to memory `idx` (to resize its window; replacing it through this
    /// reference makes a pooled buffer be freed instead of reused).
    pub fn memory_mut(&mut self, idx: usize) -> Option<&mut Memory> {
        self.memories.get_mut(idx)
    }

    /// Makes memory `idx` writable: a shared or READONLY memory is replaced by a copy
    /// of its window (copy-on-write, reason `cow`).
    pub(super) fn make_memory_writable(&mut self, idx: usize) -> Result<(), BufferError> {
        let m = &self.memories[idx];
        if !m.is_writable() {
            let copy = m.copy_for(0, m.size(), CopyReason::Cow, "Buffer::map_write")?;
            self.memories[idx] = copy;
        }
        Ok(())
    }

    /// Maps memory `idx` for writing, copying it first if it is shared or READONLY
    /// (copy-on-write, recorded with reason `cow`).
    ///
    /// # Errors
    /// [`BufferError::BadMemoryRange`] or a mapping error.
    pub fn map_memory_write(&mut self, idx: usize) -> Result<MapWrite<'_>, BufferError> {
        self.check_memory_range("Buffer::map_memory_write", idx, 1)?;
        self.make_memory_writable(idx)?;
        Ok(self.memories[idx].map_write()?)
    }

    /// Maps `len` memories from `idx` for writing as one slice. A single memory is
    /// mapped in place (after copy-on-write if shared); several are first replaced by
    /// their union when they span one region, or by one merged copy (reason
    /// `map-range`) otherwise.
    ///
    /// # Errors
    /// [`BufferError::BadMemoryRange`], allocation or mapping errors.
    pub fn map_range_write(&mut self, idx: usize, len: usize) -> Result<MapWrite<'_>, BufferError> {
        self.check_memory_range("Buffer::map_range_write", idx, len)?;
        if len == 0 {
            return Err(BufferError::BadMemoryRange {
                what: "Buffer::map_range_write",
                idx,
                len,
                n: self.memories.len(),
            });
        }
        if len > 1 {
            let mems = &self.memories[idx..idx + len];
            let merged = match merge_spans(mems) {
                Some(m) => m,
                None => concat_copy(mems, CopyReason::MapRange, "Buffer::map_range")?,
            };
            self.memories.drain(idx..idx + len);
            self.memories.insert(idx, merged);
        }
        self.map_memory_write(idx)
    }

    /// Writes `data` at `offset`, across memory boundaries, copying shared memories on
    /// write; returns the bytes written (less at the end of the buffer).
    ///
    /// # Errors
    /// Mapping or allocation errors.
    pub fn fill(&mut self, offset: usize, data: &[u8]) -> Result<usize, BufferError> {
        let mut done = 0;
        self.for_each_range_mut(offset, data.len(), |w| {
            let n = w.len();
            w.copy_from_slice(&data[done..done + n]);
            done += n;
        })?;
        Ok(done)
    }

    /// Sets `size` bytes from `offset` to `value`; returns the bytes set.
    ///
    /// # Errors
    /// Mapping or allocation errors.
    pub fn memset(&mut self, offset: usize, value: u8, size: usize) -> Result<usize, BufferError> {
        let mut done = 0;
        self.for_each_range_mut(offset, size, |w| {
            w.fill(value);
            done += w.len();
        })?;
        Ok(done)
    }

    pub(super) fn for_each_range_mut(
        &mut self,
        offset: usize,
        size: usize,
        mut f: impl FnMut(&mut [u8]),
    ) -> Result<(), BufferError> {
        let mut pos = 0;
        let end = offset.saturating_add(size);
        for idx in 0..self.memories.len() {
            let m_size = self.memories[idx].size();
            let m_end = pos + m_size;
            if m_end > offset && pos < end {
                let start = offset.saturating_sub(pos);
                let stop = end.min(m_end) - pos;
                if stop > start {
                    let mut w = self.map_memory_write(idx)?;
                    f(&mut w[start..stop]);
                }
            }
            pos = m_end;
            if pos >= end {
                break;
            }
        }
        Ok(())
    }

    /// Changes the buffer's window: it starts `offset` bytes from the current start
    /// (negative: into the first memory's prefix) and holds `size` bytes, growing into
    /// the last memory's padding if needed. No bytes are copied; memories left with no
    /// visible bytes stay, empty.
    ///
    /// # Errors
    /// [`BufferError::OutOfRange`] if the prefix or padding is too small; nothing
    /// changes then.
    pub fn resize(&mut self, offset: isize, size: usize) -> Result<(), BufferError> {
        let total = self.size();
        let err = BufferError::OutOfRange {
            what: "Buffer::resize",
            offset,
            size,
            total,
        };
        let n = self.memories.len();
        if n == 0 {
            return if offset == 0 && size == 0 {
                Ok(())
            } else {
                Err(err)
            };
        }
        let prefix = self.memories[0].offset();
        let last = &self.memories[n - 1];
        let padding = last.maxsize() - last.offset() - last.size();
        // New window in the buffer's coordinates: [start, end)
        let start = offset as i128;
        let end = start + size as i128;
        if start < -(prefix as i128) || end > (total + padding) as i128 {
            return Err(err);
        }
        // Compute every memory's new window before changing any.
        let mut windows: SmallVec<[(usize, usize); INLINE_MEMORIES]> = SmallVec::new();
        let mut pos: i128 = 0;
        for (i, m) in self.memories.iter().enumerate() {
            let m_start = pos;
            let m_end = pos + m.size() as i128;
            let lo = if i == 0 { start.min(m_start) } else { m_start };
            let lo = lo.max(start);
            let hi = if i == n - 1 { end } else { m_end.min(end) };
            let hi = hi.max(lo);
            // The first memory may start in its prefix, the last one in its padding.
            let lo_c = if i == 0 || i == n - 1 {
                lo
            } else {
                lo.min(m_end)
            };
            let hi_c = if i == n - 1 { hi } else { hi.min(m_end) };
            let (lo_c, hi_c) = if lo_c > hi_c {
                (m_end, m_end)
            } else {
                (lo_c, hi_c)
            };
            let new_offset = m.offset() as i128 + (lo_c - m_start);
            let new_size = hi_c - lo_c;
            windows.push((new_offset as usize, new_size as usize));
            pos = m_end;
        }
        for (m, (o, s)) in self.memories.iter_mut().zip(windows) {
            m.set_window(o, s)?;
        }
        Ok(())
    }

    /// Appends the memories of `other` (moved when `other` is unique, shared handles
    /// otherwise: never a byte copy).
    pub fn append(&mut self, other: Buffer) {
        match other.try_into_mut() {
            Ok(mut unique) => {
                let mems = std::mem::take(&mut unique.inner_mut().memories);
                self.memories.extend(mems);
            }
            Err(shared) => self.memories.extend(shared.memories.iter().cloned()),
        }
    }

    /// Attaches a meta.
    pub fn add_meta<T: Meta>(&mut self, meta: T) -> &mut T {
        self.metas.push(MetaEntry {
            meta: Box::new(meta),
            pooled: false,
        });
        let last = self.metas.last_mut().expect("just pushed");
        last.downcast_mut::<T>().expect("type just pushed")
    }

    /// Marks every meta as the pool's: they stay when the buffer returns to it.
    pub(crate) fn mark_metas_pooled(&mut self) {
        for m in &mut self.metas {
            m.pooled = true;
        }
    }

    /// The first meta of type `T`, mutable.
    pub fn meta_mut<T: Meta>(&mut self) -> Option<&mut T> {
        self.metas.iter_mut().find_map(MetaEntry::downcast_mut::<T>)
    }

    /// Removes every meta of type `T`; returns how many.
    pub fn remove_meta<T: Meta>(&mut self) -> usize {
        let before = self.metas.len();
        self.metas.retain(|e| !e.is::<T>());
        before - self.metas.len()
    }
}

impl fmt::Debug for BufferRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Buffer")
            .field("size", &self.size())
            .field("memories", &self.memories.len())
            .field("pts", &self.pts)
            .field("duration", &self.duration)
            .field("flags", &self.flags)
            .field("metas", &self.metas)
            .finish()
    }
}
