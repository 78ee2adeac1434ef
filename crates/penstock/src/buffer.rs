//! Buffers: any number of memories, timestamps, flags and metas.
//!
//! ```text
//!   Buffer ──clone──▶ Buffer          (refcount; the bytes are never copied)
//!     │ try_into_mut() (unique)  make_mut() (copies the struct, not the memories)
//!     ▼
//!   BufferMut ── write to a shared memory ──▶ that memory is copied (ledger: cow)
//!     │ freeze() / into()
//!     ▼
//!   Buffer ── last handle dropped ──▶ back to its pool (or freed)
//! ```
//!
//! [`Buffer`] is shared and read-only; [`BufferMut`] is unique and writable. Both deref
//! to [`BufferRef`], which holds the read methods; [`BufferMut`] derefs mutably for the
//! write methods. There is no cap on the number of memories and no hidden merge: a
//! buffer made of 100 chunks keeps 100 memories, and a copy only happens where a method
//! says so, recorded in the [`ledger`].

use std::cmp::Ordering;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, Weak};

use smallvec::SmallVec;

use crate::ledger::{self, CopyReason};
use crate::memory::{MapRead, MapWrite, MappedMemory, Memory, MemoryError, MemoryFlags};
use crate::meta::{Meta, MetaEntry, MetaTransform};
use crate::pool;
use crate::time::ClockTime;

/// Memories stored inline in a buffer before it spills to the heap.
pub const INLINE_MEMORIES: usize = 4;

pub(crate) type MemoryVec = SmallVec<[Memory; INLINE_MEMORIES]>;

bitflags::bitflags! {
    /// Buffer flags, as GStreamer's `GstBufferFlags`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct BufferFlags: u32 {
        /// The buffer follows a discontinuity in the stream.
        const DISCONT = 1 << 0;
        /// The buffer depends on earlier ones (not a key frame).
        const DELTA_UNIT = 1 << 1;
        /// The buffer is a gap: no meaningful data.
        const GAP = 1 << 2;
        /// The data may be corrupted.
        const CORRUPTED = 1 << 3;
        /// The buffer may be dropped without harm.
        const DROPPABLE = 1 << 4;
        /// Media-specific marker (end of a frame, of a talk spurt...).
        const MARKER = 1 << 5;
        /// Stream header: needed to decode what follows.
        const HEADER = 1 << 6;
    }
}

bitflags::bitflags! {
    /// What [`BufferRef::copy_region`] copies, as GStreamer's `GstBufferCopyFlags`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct CopyFlags: u32 {
        /// The buffer flags.
        const FLAGS = 1 << 0;
        /// pts, dts, duration, offset, offset_end (where the region allows).
        const TIMESTAMPS = 1 << 1;
        /// The metas, through their transform.
        const META = 1 << 2;
        /// The memories: shared where possible, copied where they cannot be shared.
        const MEMORY = 1 << 3;
        /// Merge the region's memories into one (copies unless they span).
        const MERGE = 1 << 4;
        /// Copy the bytes instead of sharing them.
        const DEEP = 1 << 5;
    }
}

impl CopyFlags {
    /// Flags, timestamps, metas and memories.
    pub const ALL: CopyFlags = CopyFlags::FLAGS
        .union(CopyFlags::TIMESTAMPS)
        .union(CopyFlags::META)
        .union(CopyFlags::MEMORY);
}

/// Errors of buffer operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BufferError {
    /// A memory operation failed.
    #[error(transparent)]
    Memory(#[from] MemoryError),
    /// A byte range outside the buffer.
    #[error("{what}: bytes {offset}..{offset}+{size} are outside the buffer's {total} bytes")]
    OutOfRange {
        /// The operation.
        what: &'static str,
        /// Requested offset.
        offset: isize,
        /// Requested size.
        size: usize,
        /// Bytes in the buffer.
        total: usize,
    },
    /// A memory index range outside the buffer.
    #[error("{what}: memories {idx}..{idx}+{len} are outside the buffer's {n} memories")]
    BadMemoryRange {
        /// The operation.
        what: &'static str,
        /// First index.
        idx: usize,
        /// Count.
        len: usize,
        /// Memories in the buffer.
        n: usize,
    },
    /// A frame passed to [`BufferMut::from_chunks`] is inconsistent.
    #[error("chunked frame: {0}")]
    Chunks(String),
}

/// Link back to the pool a buffer came from.
pub(crate) struct PoolLink {
    pub(crate) pool: Weak<pool::Shared>,
    /// Region identity and window of each memory as the pool made it.
    pub(crate) layout: SmallVec<[(usize, usize, usize); INLINE_MEMORIES]>,
    /// The pool configuration the buffer was made for.
    pub(crate) generation: u64,
}

/// The contents of a buffer; reached through [`Buffer`] (shared) and [`BufferMut`]
/// (unique). Holds the read methods; the write methods need a `BufferMut`.
pub struct BufferRef {
    pub(crate) memories: MemoryVec,
    pts: Option<ClockTime>,
    dts: Option<ClockTime>,
    duration: Option<ClockTime>,
    offset: Option<u64>,
    offset_end: Option<u64>,
    flags: BufferFlags,
    pub(crate) metas: Vec<MetaEntry>,
    pub(crate) pool: Option<PoolLink>,
}

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

    fn check_memory_range(
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

    fn check_byte_range(
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
    fn for_each_range(
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

    fn clone_struct(&self) -> BufferRef {
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
fn merge_spans(mems: &[Memory]) -> Option<Memory> {
    let (first, rest) = mems.split_first()?;
    let mut acc = first.clone();
    for m in rest {
        acc = acc.merge_span(m).ok()?;
    }
    Some(acc)
}

/// Copies `mems` into one new system memory, recorded with `reason`.
fn concat_copy(mems: &[Memory], reason: CopyReason, site: &str) -> Result<Memory, BufferError> {
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
    fn make_memory_writable(&mut self, idx: usize) -> Result<(), BufferError> {
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

    fn for_each_range_mut(
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

/// A read mapping of a range of a buffer's memories; derefs to `&[u8]`.
pub struct BufferMap<'a>(MapInner<'a>);

enum MapInner<'a> {
    Empty,
    Borrowed(MapRead<'a>),
    Owned(MappedMemory),
    Copied(Vec<u8>),
}

impl BufferMap<'_> {
    /// True if mapping this range needed a copy.
    pub fn is_copy(&self) -> bool {
        matches!(self.0, MapInner::Copied(_))
    }
}

impl Deref for BufferMap<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.0 {
            MapInner::Empty => &[],
            MapInner::Borrowed(m) => m,
            MapInner::Owned(m) => m,
            MapInner::Copied(v) => v,
        }
    }
}

impl fmt::Debug for BufferMap<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "BufferMap({} bytes, copy: {})",
            self.len(),
            self.is_copy()
        )
    }
}

/// A shared, read-only buffer. Cloning it is a refcount increment. When the last handle
/// is dropped, a pooled buffer goes back to its pool.
pub struct Buffer(Option<Arc<BufferRef>>);

impl Buffer {
    fn arc(&self) -> &Arc<BufferRef> {
        // `None` only inside `drop`.
        self.0
            .as_ref()
            .unwrap_or_else(|| unreachable!("buffer used after drop"))
    }

    /// The unique buffer if this is the only handle, else this handle back.
    ///
    /// # Errors
    /// Returns `self` when other handles exist.
    pub fn try_into_mut(mut self) -> Result<BufferMut, Buffer> {
        let unique = self.0.as_mut().is_some_and(|a| Arc::get_mut(a).is_some());
        if unique {
            Ok(BufferMut(self))
        } else {
            Err(self)
        }
    }

    /// A unique buffer: this one if it is unique, else a new buffer struct holding the
    /// same memories (refcounts, no byte copy) and copies of the metas. Writing to the
    /// shared memories later copies them (copy-on-write).
    pub fn make_mut(self) -> BufferMut {
        match self.try_into_mut() {
            Ok(m) => m,
            Err(shared) => BufferMut::from_ref(shared.clone_struct()),
        }
    }

    /// True if both handles are the same buffer.
    pub fn ptr_eq(&self, other: &Buffer) -> bool {
        Arc::ptr_eq(self.arc(), other.arc())
    }

    /// How many handles share this buffer.
    pub fn ref_count(&self) -> usize {
        Arc::strong_count(self.arc())
    }
}

impl Clone for Buffer {
    fn clone(&self) -> Self {
        Buffer(Some(Arc::clone(self.arc())))
    }
}

impl Deref for Buffer {
    type Target = BufferRef;
    fn deref(&self) -> &BufferRef {
        self.arc()
    }
}

impl fmt::Debug for Buffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.arc().fmt(f)
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        let Some(mut arc) = self.0.take() else { return };
        if arc.pool.is_none() {
            return;
        }
        if Arc::get_mut(&mut arc).is_some() {
            pool::release(arc);
        }
        // Otherwise another handle is alive. If it drops concurrently and the count
        // reaches zero here, `BufferRef`'s own `Drop` hands the contents back.
    }
}

impl Drop for BufferRef {
    fn drop(&mut self) {
        if self.pool.is_some() {
            pool::release_contents(self);
        }
    }
}

/// A unique, writable buffer. Derefs (mutably) to [`BufferRef`].
pub struct BufferMut(Buffer);

impl BufferMut {
    /// An empty buffer.
    pub fn new() -> BufferMut {
        BufferMut::from_ref(BufferRef::empty())
    }

    /// Wraps an `Arc` the caller knows to be unique (from a pool's free list).
    pub(crate) fn from_arc_unique(arc: Arc<BufferRef>) -> BufferMut {
        debug_assert_eq!(Arc::strong_count(&arc), 1);
        BufferMut(Buffer(Some(arc)))
    }

    pub(crate) fn from_ref(r: BufferRef) -> BufferMut {
        BufferMut(Buffer(Some(Arc::new(r))))
    }

    /// A buffer holding one memory.
    pub fn from_memory(memory: Memory) -> BufferMut {
        let mut b = BufferMut::new();
        b.append_memory(memory);
        b
    }

    /// A buffer of `size` zeroed bytes of system memory.
    ///
    /// # Errors
    /// [`MemoryError::Alloc`].
    pub fn with_size(size: usize) -> Result<BufferMut, BufferError> {
        Ok(BufferMut::from_memory(Memory::new_system(size)?))
    }

    /// A buffer holding a copy of `data` (recorded with reason `explicit`).
    ///
    /// # Errors
    /// [`MemoryError::Alloc`].
    pub fn copy_from_slice(data: &[u8]) -> Result<BufferMut, BufferError> {
        let m = Memory::new_system(data.len())?;
        m.map_write()?.copy_from_slice(data);
        ledger::record_copy(CopyReason::Explicit, data.len(), "Buffer::copy_from_slice");
        Ok(BufferMut::from_memory(m))
    }

    /// The unique `Arc` inside (for a pool that links the buffer to itself).
    pub(crate) fn into_arc(mut self) -> Arc<BufferRef> {
        (self.0)
            .0
            .take()
            .unwrap_or_else(|| unreachable!("buffer used after drop"))
    }

    pub(crate) fn inner_mut(&mut self) -> &mut BufferRef {
        let arc = (self.0)
            .0
            .as_mut()
            .unwrap_or_else(|| unreachable!("buffer used after drop"));
        Arc::get_mut(arc).unwrap_or_else(|| unreachable!("BufferMut is unique by construction"))
    }

    /// The shared, read-only buffer (no copy).
    pub fn freeze(self) -> Buffer {
        self.0
    }
}

/// Runs a release callback once, when the last chunk memory of a frame is gone.
struct ReleaseToken(Mutex<Option<Box<dyn FnOnce() + Send>>>);

impl Drop for ReleaseToken {
    fn drop(&mut self) {
        let f = self.0.get_mut().unwrap_or_else(|p| p.into_inner()).take();
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

impl Default for BufferMut {
    fn default() -> Self {
        BufferMut::new()
    }
}

impl Deref for BufferMut {
    type Target = BufferRef;
    fn deref(&self) -> &BufferRef {
        &self.0
    }
}

impl DerefMut for BufferMut {
    fn deref_mut(&mut self) -> &mut BufferRef {
        self.inner_mut()
    }
}

impl From<BufferMut> for Buffer {
    fn from(b: BufferMut) -> Buffer {
        b.freeze()
    }
}

impl fmt::Debug for BufferMut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
