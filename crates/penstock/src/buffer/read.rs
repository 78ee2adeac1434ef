//! The read methods of [`BufferRef`].

use super::*;

impl BufferRef {
    pub(crate) fn empty() -> BufferRef {
        BufferRef {
            memories: SmallVec::new(),
            pts: None,
            dts: None,
            duration: None,
            offset: None,
            offset_end: None,
            flags: BufferFlags::empty(),
            metas: Vec::new(),
            pool: None,
        }
    }

    /// Clears what a pool resets: timestamps, flags and metas not added by the pool.
    pub(crate) fn reset_for_pool(&mut self) {
        self.pts = None;
        self.dts = None;
        self.duration = None;
        self.offset = None;
        self.offset_end = None;
        self.flags = BufferFlags::empty();
        self.metas.retain(|m| m.pooled);
    }

    /// Total bytes in all memories.
    pub fn size(&self) -> usize {
        self.memories.iter().map(Memory::size).sum()
    }

    /// Number of memories.
    pub fn n_memory(&self) -> usize {
        self.memories.len()
    }

    /// The memories, in order.
    pub fn memories(&self) -> &[Memory] {
        &self.memories
    }

    /// Memory `idx`.
    pub fn memory(&self, idx: usize) -> Option<&Memory> {
        self.memories.get(idx)
    }

    /// Presentation timestamp.
    pub fn pts(&self) -> Option<ClockTime> {
        self.pts
    }
    /// Decoding timestamp.
    pub fn dts(&self) -> Option<ClockTime> {
        self.dts
    }
    /// Duration.
    pub fn duration(&self) -> Option<ClockTime> {
        self.duration
    }
    /// Media-specific offset (frame number for video).
    pub fn offset(&self) -> Option<u64> {
        self.offset
    }
    /// Media-specific end offset.
    pub fn offset_end(&self) -> Option<u64> {
        self.offset_end
    }
    /// Flags.
    pub fn flags(&self) -> BufferFlags {
        self.flags
    }

    /// True if the buffer came from a pool that is still alive.
    pub fn is_pooled(&self) -> bool {
        self.pool
            .as_ref()
            .is_some_and(|l| l.pool.strong_count() > 0)
    }

    /// The first meta of type `T`.
    pub fn meta<T: Meta>(&self) -> Option<&T> {
        self.metas.iter().find_map(MetaEntry::downcast_ref::<T>)
    }

    /// All metas of type `T`.
    pub fn metas_of<T: Meta>(&self) -> impl Iterator<Item = &T> {
        self.metas.iter().filter_map(MetaEntry::downcast_ref::<T>)
    }

    /// All metas.
    pub fn metas(&self) -> impl Iterator<Item = &dyn Meta> {
        self.metas.iter().map(|e| &*e.meta)
    }

    /// True if every memory could be written without a copy.
    pub fn is_all_memory_writable(&self) -> bool {
        self.memories.iter().all(Memory::is_writable)
    }

    pub(super) fn check_memory_range(
        &self,
        what: &'static str,
        idx: usize,
        len: usize,
    ) -> Result<(), BufferError> {
        match idx.checked_add(len) {
            Some(end) if end <= self.memories.len() => Ok(()),
            _ => Err(BufferError::BadMemoryRange {
                what,
                idx,
                len,
                n: self.memories.len(),
            }),
        }
    }

    pub(super) fn check_byte_range(
        &self,
        what: &'static str,
        offset: usize,
        size: usize,
    ) -> Result<usize, BufferError> {
        let total = self.size();
        match offset.checked_add(size) {
            Some(end) if end <= total => Ok(total),
            _ => Err(BufferError::OutOfRange {
                what,
                offset: offset as isize,
                size,
                total,
            }),
        }
    }

    /// Finds the memories holding `offset..offset+size`: (first index, count, skip
    /// bytes into the first one).
    pub fn find_memory(&self, offset: usize, size: usize) -> Option<(usize, usize, usize)> {
        let mut pos = 0;
        let mut first = None;
        for (i, m) in self.memories.iter().enumerate() {
            let end = pos + m.size();
            if first.is_none() && offset < end {
                first = Some((i, offset - pos));
            }
            if let Some((idx, skip)) = first {
                if offset + size <= end {
                    return Some((idx, i - idx + 1, skip));
                }
            }
            pos = end;
        }
        None
    }

    /// Maps `len` memories starting at `idx` for reading. One memory, or memories
    /// that are adjacent windows of one region, map without a copy; otherwise the bytes
    /// are copied into one block, recorded with reason `map-range`.
    ///
    /// # Errors
    /// [`BufferError::BadMemoryRange`] or a mapping error.
    pub fn map_range(&self, idx: usize, len: usize) -> Result<BufferMap<'_>, BufferError> {
        self.check_memory_range("Buffer::map_range", idx, len)?;
        let mems = &self.memories[idx..idx + len];
        match mems {
            [] => Ok(BufferMap(MapInner::Empty)),
            [one] => Ok(BufferMap(MapInner::Borrowed(one.map_read()?))),
            _ => {
                if let Some(merged) = merge_spans(mems) {
                    return Ok(BufferMap(MapInner::Owned(merged.into_mapped()?)));
                }
                let total: usize = mems.iter().map(Memory::size).sum();
                let mut out = Vec::with_capacity(total);
                for m in mems {
                    out.extend_from_slice(&m.map_read()?);
                }
                ledger::record_allocation(total, "Buffer::map_range");
                ledger::record_copy(CopyReason::MapRange, total, "Buffer::map_range");
                Ok(BufferMap(MapInner::Copied(out)))
            }
        }
    }

    /// Maps all memories for reading (see [`map_range`](Self::map_range)).
    ///
    /// # Errors
    /// As [`map_range`](Self::map_range).
    pub fn map_read(&self) -> Result<BufferMap<'_>, BufferError> {
        self.map_range(0, self.memories.len())
    }

    /// Copies bytes from `offset` into `dest`, across memory boundaries; returns how
    /// many were copied (less than `dest.len()` at the end of the buffer).
    ///
    /// # Errors
    /// A mapping error.
    pub fn extract(&self, offset: usize, dest: &mut [u8]) -> Result<usize, BufferError> {
        let mut done = 0;
        self.for_each_range(offset, dest.len(), |m, start, len| {
            let map = m.map_read()?;
            dest[done..done + len].copy_from_slice(&map[start..start + len]);
            done += len;
            Ok(())
        })?;
        Ok(done)
    }

    /// Compares the bytes at `offset` with `data`.
    ///
    /// # Errors
    /// [`BufferError::OutOfRange`] if the buffer is shorter than `offset + data.len()`.
    pub fn memcmp(&self, offset: usize, data: &[u8]) -> Result<Ordering, BufferError> {
        self.check_byte_range("Buffer::memcmp", offset, data.len())?;
        let mut pos = 0;
        let mut result = Ordering::Equal;
        self.for_each_range(offset, data.len(), |m, start, len| {
            if result == Ordering::Equal {
                let map = m.map_read()?;
                result = map[start..start + len].cmp(&data[pos..pos + len]);
            }
            pos += len;
            Ok(())
        })?;
        Ok(result)
    }

    /// Calls `f(memory, start, len)` for each piece of `offset..offset+size` (clamped to
    /// the buffer).
    pub(super) fn for_each_range(
        &self,
        offset: usize,
        size: usize,
        mut f: impl FnMut(&Memory, usize, usize) -> Result<(), BufferError>,
    ) -> Result<(), BufferError> {
        let mut pos = 0;
        let end = offset.saturating_add(size);
        for m in &self.memories {
            let m_end = pos + m.size();
            if m_end > offset && pos < end {
                let start = offset.saturating_sub(pos);
                let stop = end.min(m_end) - pos;
                if stop > start {
                    f(m, start, stop - start)?;
                }
            }
            pos = m_end;
            if pos >= end {
                break;
            }
        }
        Ok(())
    }

    /// A new buffer with `size` bytes from `offset` (`None`: to the end), sharing the
    /// memories where `flags` and the memories allow. NO_SHARE memories are copied
    /// (reason `memory-type`), DEEP copies every byte (reason `explicit`), MERGE joins
    /// the region into one memory (reason `merge` unless the memories span).
    ///
    /// # Errors
    /// [`BufferError::OutOfRange`], allocation or mapping errors.
    pub fn copy_region(
        &self,
        flags: CopyFlags,
        offset: usize,
        size: Option<usize>,
    ) -> Result<BufferMut, BufferError> {
        let total = self.size();
        let size = match size {
            Some(s) => s,
            None => total.checked_sub(offset).ok_or(BufferError::OutOfRange {
                what: "Buffer::copy_region",
                offset: offset as isize,
                size: 0,
                total,
            })?,
        };
        self.check_byte_range("Buffer::copy_region", offset, size)?;
        let whole = offset == 0 && size == total;
        let mut out = BufferRef::empty();
        if flags.contains(CopyFlags::FLAGS) {
            out.flags = self.flags;
        }
        if flags.contains(CopyFlags::TIMESTAMPS) {
            if offset == 0 {
                out.pts = self.pts;
                out.dts = self.dts;
                out.offset = self.offset;
            }
            if whole {
                out.duration = self.duration;
                out.offset_end = self.offset_end;
            }
        }
        if flags.contains(CopyFlags::MEMORY) {
            let mut pieces: MemoryVec = SmallVec::new();
            // DEEP with MERGE copies once, into the merged memory, below.
            let merge = flags.contains(CopyFlags::MERGE);
            let deep = flags.contains(CopyFlags::DEEP) && !merge;
            self.for_each_range(offset, size, |m, start, len| {
                let piece = if deep {
                    m.copy_for(start, len, CopyReason::Explicit, "Buffer::copy_region")?
                } else if m.has_flags(MemoryFlags::NO_SHARE) {
                    m.copy_for(start, len, CopyReason::MemoryType, "Buffer::copy_region")?
                } else {
                    m.share(start, len)?
                };
                pieces.push(piece);
                Ok(())
            })?;
            if merge && flags.contains(CopyFlags::DEEP) {
                let merged = concat_copy(&pieces, CopyReason::Explicit, "Buffer::copy_region")?;
                pieces.clear();
                pieces.push(merged);
            } else if merge && pieces.len() > 1 {
                let merged = match merge_spans(&pieces) {
                    Some(m) => m,
                    None => concat_copy(&pieces, CopyReason::Merge, "Buffer::copy_region")?,
                };
                pieces.clear();
                pieces.push(merged);
            }
            out.memories = pieces;
        }
        if flags.contains(CopyFlags::META) {
            let t = MetaTransform {
                region: !whole,
                offset,
                size,
                deep: flags.contains(CopyFlags::DEEP),
            };
            out.metas = self
                .metas
                .iter()
                .filter_map(|e| e.meta.transform(&t))
                .map(|meta| MetaEntry {
                    meta,
                    pooled: false,
                })
                .collect();
        }
        Ok(BufferMut::from_ref(out))
    }

    /// A deep copy of the whole buffer (every byte copied, reason `explicit`).
    ///
    /// # Errors
    /// Allocation or mapping errors.
    pub fn copy_deep(&self) -> Result<BufferMut, BufferError> {
        self.copy_region(CopyFlags::ALL | CopyFlags::DEEP, 0, None)
    }

    pub(super) fn clone_struct(&self) -> BufferRef {
        let t = MetaTransform::whole(self.size());
        BufferRef {
            memories: self.memories.clone(),
            pts: self.pts,
            dts: self.dts,
            duration: self.duration,
            offset: self.offset,
            offset_end: self.offset_end,
            flags: self.flags,
            metas: self
                .metas
                .iter()
                .filter_map(|e| e.meta.transform(&t))
                .map(|meta| MetaEntry {
                    meta,
                    pooled: false,
                })
                .collect(),
            pool: None,
        }
    }
}

/// If `mems` are adjacent windows of one region, their union as one handle.
pub(super) fn merge_spans(mems: &[Memory]) -> Option<Memory> {
    let (first, rest) = mems.split_first()?;
    let mut acc = first.clone();
    for m in rest {
        acc = acc.merge_span(m).ok()?;
    }
    Some(acc)
}

/// Copies `mems` into one new system memory, recorded with `reason`.
pub(super) fn concat_copy(
    mems: &[Memory],
    reason: CopyReason,
    site: &str,
) -> Result<Memory, BufferError> {
    let total: usize = mems.iter().map(Memory::size).sum();
    let out = Memory::new_system(total)?;
    {
        let mut w = out.map_write()?;
        let mut pos = 0;
        for m in mems {
            let r = m.map_read()?;
            w[pos..pos + r.len()].copy_from_slice(&r);
            pos += r.len();
        }
    }
    ledger::record_copy(reason, total, site);
    Ok(out)
}
