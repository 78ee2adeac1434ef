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
//!
//! The read methods are in `read.rs`, the write methods in `write.rs`, the map of a
//! range in `map.rs`, frames wrapped from external chunks in `chunks.rs`.

mod chunks;
mod map;
mod read;
mod write;

use std::cmp::Ordering;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, Weak};

use smallvec::SmallVec;

pub use map::BufferMap;
use map::MapInner;
use read::{concat_copy, merge_spans};

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
