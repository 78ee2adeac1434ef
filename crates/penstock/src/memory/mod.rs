//! Memories: refcounted handles on a region of bytes.
//!
//! ```text
//!   region (maxsize bytes, one per allocation, freed/released when the last handle goes)
//!   |<------------------------------ maxsize ------------------------------>|
//!   |  prefix  |<----------- size ----------->|           padding            |
//!   ^ 0        ^ offset
//!   Memory = (region, offset, size, flags)      clone/share: same region, no copy
//! ```
//!
//! A [`Memory`] is a small handle: an `Arc` of the region plus the visible window
//! (`offset`, `size`) and its [`MemoryFlags`]. Cloning it or [`share`](Memory::share)-ing a
//! sub-range never copies bytes. The region is freed (or its release callback runs) when
//! the last handle of any window onto it is dropped.
//!
//! Access goes through map guards: any number of [`MapRead`]s, or one [`MapWrite`].
//! Write access also needs a *writable* memory: not READONLY, and not shared with any
//! other handle (see [`Memory::is_writable`]); [`BufferMut`](crate::BufferMut) turns a
//! write to a shared memory into a recorded copy-on-write.
//!
//! ```
//! use penstock::memory::Memory;
//! let mut m = Memory::from_owner(vec![0u8; 16]);
//! m.map_write()?.copy_from_slice(&[7; 16]);
//! let sub = m.share(4, 8)?;           // same bytes, no copy
//! assert_eq!(&*sub.map_read()?, &[7; 8]);
//! assert!(m.map_write().is_err());    // shared now: not writable
//! drop(sub);
//! m.map_write()?[0] = 1;              // unique again
//! # Ok::<(), penstock::memory::MemoryError>(())
//! ```

mod backend;
mod error;
mod guard;
mod memory_type;

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::os::fd::BorrowedFd;
use std::ptr::NonNull;
use std::sync::Arc;

pub use backend::MemoryBackend;
use backend::{OwnedReadAccess, ReadAccess, Region, WriteAccess};
pub use error::MemoryError;
pub use guard::{MapRead, MapWrite, MappedMemory};
pub use memory_type::{CAPS_FEATURE_MEMORY_PREFIX, MemoryType, feature_memory_name};

use crate::ledger::{self, CopyReason};

bitflags::bitflags! {
    /// Properties of a memory, as GStreamer's `GstMemoryFlags`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct MemoryFlags: u32 {
        /// The memory may not be mapped for writing.
        const READONLY = 1 << 0;
        /// The memory may not be shared (no sub-memories).
        const NO_SHARE = 1 << 1;
        /// The bytes before `offset` are zero.
        const ZERO_PREFIXED = 1 << 2;
        /// The bytes after `offset + size` are zero.
        const ZERO_PADDED = 1 << 3;
        /// The memory is physically contiguous.
        const PHYSICALLY_CONTIGUOUS = 1 << 4;
        /// The memory cannot be mapped by the CPU (tiled or compressed layouts,
        /// secure buffers).
        const NOT_MAPPABLE = 1 << 5;
    }
}

/// Access mode of a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapMode {
    /// Shared, read-only access.
    Read,
    /// Exclusive read-write access.
    Write,
}

impl fmt::Display for MapMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MapMode::Read => "for reading",
            MapMode::Write => "for writing",
        })
    }
}

/// A refcounted handle on a window of a memory region. See the [module docs](self).
#[derive(Clone)]
pub struct Memory {
    region: Arc<Region>,
    offset: usize,
    size: usize,
    flags: MemoryFlags,
}

impl fmt::Debug for Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Memory")
            .field("type", &self.memory_type())
            .field("maxsize", &self.maxsize())
            .field("offset", &self.offset)
            .field("size", &self.size)
            .field("flags", &self.flags)
            .finish()
    }
}

impl Memory {
    pub(crate) fn from_region(
        region: Region,
        offset: usize,
        size: usize,
        flags: MemoryFlags,
    ) -> Memory {
        debug_assert!(offset + size <= region.len());
        let mut flags = flags;
        if region.readonly() {
            flags |= MemoryFlags::READONLY;
        }
        Memory {
            region: Arc::new(region),
            offset,
            size,
            flags,
        }
    }

    /// Zero-filled system memory of `size` bytes (alignment 64). For prefix, padding
    /// and other alignments use an [`Allocator`](crate::allocator::Allocator).
    ///
    /// # Errors
    /// [`MemoryError::Alloc`] if the system is out of memory.
    pub fn new_system(size: usize) -> Result<Memory, MemoryError> {
        crate::allocator::SystemAllocator
            .alloc_memory(size, &crate::allocator::AllocationParams::default())
    }

    /// Wraps an owner of bytes (`Vec<u8>`, `Box<[u8]>`, an mmap, ...) without copying.
    /// The owner is dropped when the last handle is gone.
    pub fn from_owner<T: AsMut<[u8]> + Send + 'static>(owner: T) -> Memory {
        Memory::wrap(owner, drop)
    }

    /// Wraps a read-only owner (`&'static [u8]`, `Arc<[u8]>`, ...) as a READONLY memory.
    pub fn from_owner_readonly<T: AsRef<[u8]> + Send + 'static>(owner: T) -> Memory {
        let region = Region::owned(owner, readonly_bytes::<T>, true, drop, None);
        let size = region.len();
        Memory::from_region(region, 0, size, MemoryFlags::READONLY)
    }

    /// Wraps an owner; `release` receives it back exactly once, when the last handle
    /// (including every shared sub-memory) is gone.
    pub fn wrap<T, F>(owner: T, release: F) -> Memory
    where
        T: AsMut<[u8]> + Send + 'static,
        F: FnOnce(T) + Send + 'static,
    {
        let region = Region::owned(owner, writable_bytes::<T>, false, release, None);
        let size = region.len();
        Memory::from_region(region, 0, size, MemoryFlags::empty())
    }

    /// Wraps an owner of bytes with backend hooks (memory type, access hooks, fd), with
    /// extra `flags` (READONLY, NOT_MAPPABLE, PHYSICALLY_CONTIGUOUS, ...).
    pub fn with_backend<T, B>(owner: T, backend: B, flags: MemoryFlags) -> Memory
    where
        T: AsMut<[u8]> + Send + 'static,
        B: MemoryBackend,
    {
        let readonly = flags.contains(MemoryFlags::READONLY);
        let region = Region::owned(
            owner,
            writable_bytes::<T>,
            readonly,
            drop,
            Some(Box::new(backend)),
        );
        let size = region.len();
        Memory::from_region(region, 0, size, flags)
    }

    /// Like [`with_backend`](Self::with_backend), with the visible window
    /// `offset..offset+size` of the owner's bytes (an allocator's prefix and padding):
    /// `flags` apply as given, ZERO_PREFIXED and ZERO_PADDED included.
    ///
    /// # Errors
    /// [`MemoryError::OutOfRange`] if the window does not fit in the owner's bytes.
    pub fn with_backend_window<T, B>(
        owner: T,
        backend: B,
        offset: usize,
        size: usize,
        flags: MemoryFlags,
    ) -> Result<Memory, MemoryError>
    where
        T: AsMut<[u8]> + Send + 'static,
        B: MemoryBackend,
    {
        let mut memory = Memory::with_backend(owner, backend, flags & MemoryFlags::READONLY);
        memory.check_range("Memory::with_backend_window", offset, size)?;
        memory.offset = offset;
        memory.size = size;
        memory.flags |= flags;
        Ok(memory)
    }

    /// A memory of `size` bytes that has no CPU mapping at all, only a backend that
    /// holds the storage (a DMA-BUF in a tiled or compressed layout, a secure buffer).
    /// It always has the NOT_MAPPABLE flag (added to `flags`): every map fails with
    /// [`MemoryError::NotMappable`], while sharing, windows and
    /// [`fd`](Self::fd) work as for any memory.
    pub fn without_mapping<B: MemoryBackend>(
        size: usize,
        backend: B,
        flags: MemoryFlags,
    ) -> Memory {
        let region = Region::unmapped(size, Box::new(backend));
        Memory::from_region(region, 0, size, flags | MemoryFlags::NOT_MAPPABLE)
    }

    /// Wraps foreign bytes; `release` runs exactly once when the last handle is gone.
    ///
    /// # Safety
    /// `ptr..ptr+len` must be valid and initialised until `release` is called, writable
    /// unless `flags` has READONLY, and not accessed by anything but this memory's
    /// guards in the meantime.
    #[allow(unsafe_code)]
    pub unsafe fn from_raw_parts<F>(
        ptr: NonNull<u8>,
        len: usize,
        flags: MemoryFlags,
        backend: Option<Box<dyn MemoryBackend>>,
        release: F,
    ) -> Memory
    where
        F: FnOnce() + Send + 'static,
    {
        let readonly = flags.contains(MemoryFlags::READONLY);
        // SAFETY: forwarded from this function's contract.
        let region = unsafe { Region::foreign(ptr, len, readonly, Box::new(release), backend) };
        Memory::from_region(region, 0, len, flags)
    }

    /// Bytes in the whole region.
    pub fn maxsize(&self) -> usize {
        self.region.len()
    }

    /// Start of the visible window inside the region.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Size of the visible window.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Alignment of the region's first byte, in bytes (a power of two).
    pub fn align(&self) -> usize {
        self.region.align()
    }

    /// The memory's flags.
    pub fn flags(&self) -> MemoryFlags {
        self.flags
    }

    /// True if all of `flags` are set.
    pub fn has_flags(&self, flags: MemoryFlags) -> bool {
        self.flags.contains(flags)
    }

    /// The memory type: `"SystemMemory"` or the backend's name.
    pub fn memory_type(&self) -> MemoryType {
        self.region.memory_type()
    }

    /// The backend hooks, if this memory has any.
    pub fn backend(&self) -> Option<&dyn MemoryBackend> {
        self.region.backend()
    }

    /// The file descriptor holding these bytes and the offset of this window in it.
    pub fn fd(&self) -> Option<(BorrowedFd<'_>, u64)> {
        let b = self.region.backend()?;
        let fd = b.fd()?;
        Some((fd, b.fd_offset() + self.offset as u64))
    }

    /// How many handles (clones and sub-memories) hold the region.
    pub fn holders(&self) -> usize {
        Arc::strong_count(&self.region)
    }

    /// True if write access is possible now: not READONLY and no other handle on the
    /// region. (A live map guard can still make a write map fail with `Busy`.)
    pub fn is_writable(&self) -> bool {
        !self.flags.contains(MemoryFlags::READONLY) && self.holders() == 1
    }

    /// True while any map guard of the region is alive.
    pub fn is_mapped(&self) -> bool {
        self.region.is_mapped()
    }

    /// True if both handles are windows on the same region.
    pub fn same_region(&self, other: &Memory) -> bool {
        Arc::ptr_eq(&self.region, &other.region)
    }

    /// Identity of the region (for pools and diagnostics); stable for its life.
    pub(crate) fn region_id(&self) -> usize {
        Arc::as_ptr(&self.region).addr()
    }

    fn check_mappable(&self) -> Result<(), MemoryError> {
        if self.flags.contains(MemoryFlags::NOT_MAPPABLE) {
            return Err(MemoryError::NotMappable {
                memory_type: self.memory_type(),
                why: "its layout is not linear or it is not CPU accessible",
            });
        }
        Ok(())
    }

    /// Maps the visible window for reading.
    ///
    /// # Errors
    /// [`MemoryError::NotMappable`], [`MemoryError::Busy`] while a write guard is alive,
    /// or a backend error.
    pub fn map_read(&self) -> Result<MapRead<'_>, MemoryError> {
        self.check_mappable()?;
        let access = self.region.map_read(self.offset, self.size)?;
        Ok(MapRead { access })
    }

    /// Maps the visible window for writing (exclusive).
    ///
    /// # Errors
    /// [`MemoryError::ReadOnly`], [`MemoryError::Shared`] when other handles hold the
    /// region, [`MemoryError::Busy`] while any guard is alive, [`MemoryError::NotMappable`],
    /// or a backend error.
    pub fn map_write(&self) -> Result<MapWrite<'_>, MemoryError> {
        self.check_mappable()?;
        if self.flags.contains(MemoryFlags::READONLY) {
            return Err(MemoryError::ReadOnly);
        }
        let holders = self.holders();
        if holders != 1 {
            return Err(MemoryError::Shared { holders });
        }
        let access = self.region.map_write(self.offset, self.size)?;
        Ok(MapWrite { access })
    }

    /// Maps the memory for reading and keeps the mapping with the handle: the result can
    /// be moved across threads and outlives any borrow.
    ///
    /// # Errors
    /// As [`map_read`](Self::map_read).
    pub fn into_mapped(self) -> Result<MappedMemory, MemoryError> {
        self.check_mappable()?;
        let access = OwnedReadAccess::new(Arc::clone(&self.region), self.offset, self.size)?;
        Ok(MappedMemory {
            access,
            memory: self,
        })
    }

    fn check_range(
        &self,
        what: &'static str,
        offset: usize,
        size: usize,
    ) -> Result<(), MemoryError> {
        match offset.checked_add(size) {
            Some(end) if end <= self.size => Ok(()),
            _ => Err(MemoryError::OutOfRange {
                what,
                offset: offset as i128,
                size,
                limit: self.size,
            }),
        }
    }

    /// A sub-memory on `offset..offset+size` of this window: same bytes, no copy. The
    /// sub-memory keeps the region alive; while both exist neither is writable.
    ///
    /// # Errors
    /// [`MemoryError::NoShare`] for NO_SHARE memories, [`MemoryError::OutOfRange`].
    pub fn share(&self, offset: usize, size: usize) -> Result<Memory, MemoryError> {
        if self.flags.contains(MemoryFlags::NO_SHARE) {
            return Err(MemoryError::NoShare);
        }
        self.check_range("Memory::share", offset, size)?;
        let mut flags = self.flags;
        if offset > 0 {
            flags.remove(MemoryFlags::ZERO_PREFIXED);
        }
        if offset + size < self.size {
            flags.remove(MemoryFlags::ZERO_PADDED);
        }
        Ok(Memory {
            region: Arc::clone(&self.region),
            offset: self.offset + offset,
            size,
            flags,
        })
    }

    /// A sub-memory from `offset` to the end of this window.
    ///
    /// # Errors
    /// As [`share`](Self::share).
    pub fn share_from(&self, offset: usize) -> Result<Memory, MemoryError> {
        let size = self
            .size
            .checked_sub(offset)
            .ok_or(MemoryError::OutOfRange {
                what: "Memory::share_from",
                offset: offset as i128,
                size: 0,
                limit: self.size,
            })?;
        self.share(offset, size)
    }

    /// True if `other` starts where this memory ends, on the same region: the two can
    /// be merged without a copy. Returns the offset of `self` in the region when so.
    pub fn is_span(&self, other: &Memory) -> Option<usize> {
        (self.same_region(other) && self.offset + self.size == other.offset).then_some(self.offset)
    }

    /// Merges this memory with the adjacent `other` (see [`is_span`](Self::is_span))
    /// into one handle covering both, without copying.
    ///
    /// # Errors
    /// [`MemoryError::NotSpan`] if they are not adjacent windows of one region.
    pub fn merge_span(&self, other: &Memory) -> Result<Memory, MemoryError> {
        if self.is_span(other).is_none() {
            return Err(MemoryError::NotSpan);
        }
        let mut flags = self.flags & other.flags;
        flags.set(
            MemoryFlags::ZERO_PREFIXED,
            self.flags.contains(MemoryFlags::ZERO_PREFIXED),
        );
        flags.set(
            MemoryFlags::ZERO_PADDED,
            other.flags.contains(MemoryFlags::ZERO_PADDED),
        );
        flags |= (self.flags | other.flags)
            & (MemoryFlags::READONLY | MemoryFlags::NO_SHARE | MemoryFlags::NOT_MAPPABLE);
        Ok(Memory {
            region: Arc::clone(&self.region),
            offset: self.offset,
            size: self.size + other.size,
            flags,
        })
    }

    /// Copies `offset..offset+size` of this window into a new system memory, recorded in
    /// the ledger with reason `explicit`.
    ///
    /// # Errors
    /// [`MemoryError::OutOfRange`], mapping errors, [`MemoryError::Alloc`].
    pub fn copy(&self, offset: usize, size: usize) -> Result<Memory, MemoryError> {
        self.copy_for(offset, size, CopyReason::Explicit, "Memory::copy")
    }

    /// Like [`copy`](Self::copy), recorded with `reason`, attributed to the current site
    /// or to `site`.
    ///
    /// # Errors
    /// As [`copy`](Self::copy).
    pub fn copy_for(
        &self,
        offset: usize,
        size: usize,
        reason: CopyReason,
        site: &str,
    ) -> Result<Memory, MemoryError> {
        self.check_range("Memory::copy", offset, size)?;
        let src = self.map_read()?;
        let dst = crate::allocator::SystemAllocator
            .alloc_memory(size, &crate::allocator::AllocationParams::default())?;
        dst.map_write()?
            .copy_from_slice(&src[offset..offset + size]);
        ledger::record_copy(reason, size, site);
        Ok(dst)
    }

    /// Moves the window: the new offset is `offset` bytes from the current one (negative
    /// moves it back into the prefix), and the new size is `size`. The window must stay
    /// inside `0..maxsize`. Other handles are not affected.
    ///
    /// # Errors
    /// [`MemoryError::OutOfRange`]; nothing changes then.
    pub fn resize(&mut self, offset: isize, size: usize) -> Result<(), MemoryError> {
        let new_offset = self.offset as i128 + offset as i128;
        let fits = new_offset >= 0
            && (new_offset as u128)
                .checked_add(size as u128)
                .is_some_and(|e| e <= self.maxsize() as u128);
        if !fits {
            return Err(MemoryError::OutOfRange {
                what: "Memory::resize",
                offset: new_offset,
                size,
                limit: self.maxsize(),
            });
        }
        let new_offset = new_offset as usize;
        if new_offset > self.offset {
            // The prefix grows with bytes that were visible: they may not be zero.
            self.flags.remove(MemoryFlags::ZERO_PREFIXED);
        }
        if new_offset + size < self.offset + self.size {
            self.flags.remove(MemoryFlags::ZERO_PADDED);
        }
        self.offset = new_offset;
        self.size = size;
        Ok(())
    }

    /// Sets the window to an absolute `offset` and `size` in the region.
    ///
    /// # Errors
    /// [`MemoryError::OutOfRange`]; nothing changes then.
    pub fn set_window(&mut self, offset: usize, size: usize) -> Result<(), MemoryError> {
        let delta = offset as i128 - self.offset as i128;
        let delta = isize::try_from(delta).map_err(|_| MemoryError::OutOfRange {
            what: "Memory::set_window",
            offset: offset as i128,
            size,
            limit: self.maxsize(),
        })?;
        self.resize(delta, size)
    }
}

/// Zeroed system memory: a region of `maxsize` bytes aligned to `align`, window
/// `offset..offset+size`.
pub(crate) fn system_memory(
    maxsize: usize,
    align: usize,
    offset: usize,
    size: usize,
    flags: MemoryFlags,
) -> Result<Memory, MemoryError> {
    Ok(Memory::from_region(
        Region::system(maxsize, align)?,
        offset,
        size,
        flags,
    ))
}

fn writable_bytes<T: AsMut<[u8]>>(owner: &mut T) -> (*mut u8, usize) {
    let s = owner.as_mut();
    (s.as_mut_ptr(), s.len())
}

fn readonly_bytes<T: AsRef<[u8]>>(owner: &mut T) -> (*mut u8, usize) {
    let s = owner.as_ref();
    // Never written through: the region is marked readonly.
    (s.as_ptr().cast_mut(), s.len())
}
