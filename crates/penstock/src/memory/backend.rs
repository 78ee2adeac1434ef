//! The storage behind a [`Memory`](super::Memory): raw pointers, the per-backend function
//! table, the map lock, and the only unsafe code of the core crate.
//!
//! # Safety
//!
//! A [`Region`] owns (or borrows through an `unsafe` constructor) `len` bytes at `ptr`
//! that stay valid and initialised until the region is dropped. Slices of those bytes are
//! only handed out while the region's map lock is held: any number of readers, or one
//! writer. The lock is released by the guards' `Drop`, which also ends backend access
//! (for DMA-BUF: the end of the CPU access window).
//!
//! A region made by [`Region::unmapped`] has a length but no bytes at all (a DMA-BUF
//! in a tiled layout, a secure buffer): its `ptr` is dangling and never dereferenced,
//! because [`Region::begin`], which every map path goes through before it builds a
//! slice, refuses to lock it.
#![allow(unsafe_code)]

use std::alloc::{self, Layout};
use std::os::fd::BorrowedFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{MapMode, MemoryError, MemoryType};

/// Hooks a memory type can add to the plain bytes of a memory: what it is called, what
/// must happen around CPU access (cache sync for DMA-BUF), and the file descriptor that
/// exports it. Implementing this trait is safe: the bytes themselves come from an owner
/// (see [`Memory::with_backend`](super::Memory::with_backend)) that penstock keeps
/// untouched for the memory's life.
pub trait MemoryBackend: Send + Sync + 'static {
    /// The memory type, as in caps features ([`MemoryType::DMABUF`],
    /// [`MemoryType::MEMFD`], or one of the backend's own made with [`MemoryType::new`]).
    fn memory_type(&self) -> MemoryType;

    /// Called before a map guard hands out the bytes.
    ///
    /// # Errors
    /// A failure here fails the map; nothing is held.
    fn begin_access(&self, mode: MapMode) -> Result<(), MemoryError> {
        let _ = mode;
        Ok(())
    }

    /// Called when the guard created by a successful `begin_access` is dropped.
    fn end_access(&self, mode: MapMode) {
        let _ = mode;
    }

    /// The file descriptor that holds these bytes, if any.
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }

    /// Offset of the region's first byte inside [`fd`](Self::fd).
    fn fd_offset(&self) -> u64 {
        0
    }
}

/// How the bytes are released: the private function table of the region.
enum Storage {
    /// Allocated here with `layout`.
    System { layout: Layout },
    /// A boxed owner `T`, type-erased: `release(data)` rebuilds and drops (or hands back) it.
    Owned {
        data: NonNull<()>,
        release: unsafe fn(NonNull<()>),
    },
    /// Foreign bytes with a callback.
    Foreign {
        release: Option<Box<dyn FnOnce() + Send>>,
    },
    /// No bytes: the region only has a length (see [`Region::unmapped`]).
    Unmapped,
}

const WRITER: usize = 1 << (usize::BITS - 1);

pub(crate) struct Region {
    ptr: NonNull<u8>,
    len: usize,
    align: usize,
    readonly: bool,
    /// False for [`Region::unmapped`]: `ptr` is dangling and must never be read.
    mappable: bool,
    lock: AtomicUsize,
    storage: Storage,
    backend: Option<Box<dyn MemoryBackend>>,
}

// SAFETY: the region's bytes are only reached through slices whose aliasing is arbitrated
// by `lock` (atomic); the owner stored in `Storage::Owned` is `Send` and never accessed
// until it is released, on whichever thread drops the last handle; `backend` is
// `Send + Sync`; the foreign release callback is `Send` and called once from `drop`.
unsafe impl Send for Region {}
// SAFETY: see `Send`: all shared access goes through `&self` methods that either read
// immutable fields, use the atomic lock, or call `Sync` backend hooks.
unsafe impl Sync for Region {}

/// The owner type boxed together with its release callback.
struct OwnedBox<T, F: FnOnce(T)> {
    owner: T,
    release: F,
}

unsafe fn release_owned<T, F: FnOnce(T)>(data: NonNull<()>) {
    // SAFETY: `data` came from `Box::into_raw` of an `OwnedBox<T, F>` in `Region::owned`,
    // and the region calls this exactly once, from `drop`.
    let boxed = unsafe { Box::from_raw(data.cast::<OwnedBox<T, F>>().as_ptr()) };
    let OwnedBox { owner, release } = *boxed;
    release(owner);
}

impl Region {
    /// Zero-initialised heap memory of `len` bytes aligned to `align` (a power of two).
    pub(crate) fn system(len: usize, align: usize) -> Result<Region, MemoryError> {
        let layout =
            Layout::from_size_align(len.max(1), align).map_err(|_| MemoryError::Alloc {
                size: len,
                reason: format!("no layout for {len} bytes aligned to {align}"),
            })?;
        // SAFETY: the layout has a non-zero size (`max(1)`).
        let raw = unsafe { alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(raw).ok_or_else(|| MemoryError::Alloc {
            size: len,
            reason: "the system allocator is out of memory".into(),
        })?;
        Ok(Region {
            ptr,
            len,
            align,
            readonly: false,
            mappable: true,
            lock: AtomicUsize::new(0),
            storage: Storage::System { layout },
            backend: None,
        })
    }

    /// Wraps an owner; `release` gets it back once the last handle is gone.
    pub(crate) fn owned<T, F>(
        owner: T,
        bytes: fn(&mut T) -> (*mut u8, usize),
        readonly: bool,
        release: F,
        backend: Option<Box<dyn MemoryBackend>>,
    ) -> Region
    where
        T: Send + 'static,
        F: FnOnce(T) + Send + 'static,
    {
        let raw = Box::into_raw(Box::new(OwnedBox { owner, release }));
        // SAFETY: `raw` is a fresh, valid, unique pointer from `Box::into_raw`. We take one
        // `&mut` to the owner to learn where its bytes are; afterwards the owner is only
        // touched again by `release_owned`. Because the box is never moved, bytes stored
        // inline in the owner stay at the address we record.
        let (ptr, len) = unsafe { bytes(&mut (*raw).owner) };
        let data = NonNull::new(raw.cast::<()>()).expect("Box::into_raw is never null");
        // An empty slice may have a dangling (but non-null, aligned) pointer: fine for len 0.
        let ptr = NonNull::new(ptr).unwrap_or(NonNull::dangling());
        Region {
            ptr,
            len,
            align: alignment_of(ptr, len),
            readonly,
            mappable: true,
            lock: AtomicUsize::new(0),
            storage: Storage::Owned {
                data,
                release: release_owned::<T, F>,
            },
            backend,
        }
    }

    /// Foreign bytes.
    ///
    /// # Safety
    /// `ptr..ptr+len` must be valid, initialised, and (unless `readonly`) writable, and
    /// must not be accessed by anyone else until `release` is called.
    pub(crate) unsafe fn foreign(
        ptr: NonNull<u8>,
        len: usize,
        readonly: bool,
        release: Box<dyn FnOnce() + Send>,
        backend: Option<Box<dyn MemoryBackend>>,
    ) -> Region {
        Region {
            ptr,
            len,
            align: alignment_of(ptr, len),
            readonly,
            mappable: true,
            lock: AtomicUsize::new(0),
            storage: Storage::Foreign {
                release: Some(release),
            },
            backend,
        }
    }

    /// A region of `len` bytes that the CPU cannot reach: only its length, flags and
    /// backend (which holds the real storage, for example a DMA-BUF fd) exist. Every
    /// map of it fails with [`MemoryError::NotMappable`].
    pub(crate) fn unmapped(len: usize, backend: Box<dyn MemoryBackend>) -> Region {
        Region {
            ptr: NonNull::dangling(),
            len,
            align: 1,
            readonly: false,
            mappable: false,
            lock: AtomicUsize::new(0),
            storage: Storage::Unmapped,
            backend: Some(backend),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn align(&self) -> usize {
        self.align
    }

    pub(crate) fn readonly(&self) -> bool {
        self.readonly
    }

    pub(crate) fn backend(&self) -> Option<&dyn MemoryBackend> {
        self.backend.as_deref()
    }

    pub(crate) fn memory_type(&self) -> MemoryType {
        match &self.backend {
            Some(b) => b.memory_type(),
            None => MemoryType::SYSTEM,
        }
    }

    fn lock_read(&self) -> Result<(), MemoryError> {
        let mut state = self.lock.load(Ordering::Relaxed);
        loop {
            if state & WRITER != 0 {
                return Err(MemoryError::Busy {
                    requested: MapMode::Read,
                    held: MapMode::Write,
                });
            }
            match self.lock.compare_exchange_weak(
                state,
                state + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(now) => state = now,
            }
        }
    }

    fn lock_write(&self) -> Result<(), MemoryError> {
        match self
            .lock
            .compare_exchange(0, WRITER, Ordering::Acquire, Ordering::Relaxed)
        {
            Ok(_) => Ok(()),
            Err(state) => Err(MemoryError::Busy {
                requested: MapMode::Write,
                held: if state & WRITER != 0 {
                    MapMode::Write
                } else {
                    MapMode::Read
                },
            }),
        }
    }

    fn unlock(&self, mode: MapMode) {
        match mode {
            MapMode::Read => {
                self.lock.fetch_sub(1, Ordering::Release);
            }
            MapMode::Write => self.lock.store(0, Ordering::Release),
        }
    }

    /// True while any guard is alive.
    pub(crate) fn is_mapped(&self) -> bool {
        self.lock.load(Ordering::Relaxed) != 0
    }

    /// Locks the region for `mode` and opens the backend's access window. The only way
    /// to a slice of the bytes: it refuses regions without bytes.
    fn begin(&self, mode: MapMode) -> Result<(), MemoryError> {
        if !self.mappable {
            return Err(MemoryError::NotMappable {
                memory_type: self.memory_type(),
                why: "it has no CPU mapping",
            });
        }
        match mode {
            MapMode::Read => self.lock_read()?,
            MapMode::Write => self.lock_write()?,
        }
        if let Some(b) = &self.backend {
            if let Err(e) = b.begin_access(mode) {
                self.unlock(mode);
                return Err(e);
            }
        }
        Ok(())
    }

    fn end(&self, mode: MapMode) {
        if let Some(b) = &self.backend {
            b.end_access(mode);
        }
        self.unlock(mode);
    }

    /// Maps `offset..offset+size` for reading. The caller checked the range.
    pub(crate) fn map_read(
        &self,
        offset: usize,
        size: usize,
    ) -> Result<ReadAccess<'_>, MemoryError> {
        debug_assert!(offset.checked_add(size).is_some_and(|end| end <= self.len));
        self.begin(MapMode::Read)?;
        // SAFETY: the bytes are valid and initialised for the region's life (constructor
        // contracts), the range lies inside them (checked by the caller, asserted above),
        // and the read lock we hold until `ReadAccess` drops excludes every writer.
        let slice = unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(offset), size) };
        Ok(ReadAccess {
            region: self,
            slice,
        })
    }

    /// Maps `offset..offset+size` for writing. The caller checked range and writability.
    pub(crate) fn map_write(
        &self,
        offset: usize,
        size: usize,
    ) -> Result<WriteAccess<'_>, MemoryError> {
        debug_assert!(offset.checked_add(size).is_some_and(|end| end <= self.len));
        if self.readonly {
            return Err(MemoryError::ReadOnly);
        }
        self.begin(MapMode::Write)?;
        // SAFETY: as in `map_read`, and the write lock held until `WriteAccess` drops
        // excludes every other reader and writer of the region, so this is the only slice
        // of these bytes; the region is not readonly, so its bytes are writable.
        let slice = unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr().add(offset), size) };
        Ok(WriteAccess {
            region: self,
            slice,
        })
    }
}

fn alignment_of(ptr: NonNull<u8>, len: usize) -> usize {
    if len == 0 {
        return 1;
    }
    // Largest power of two dividing the address, capped at a page.
    let addr = ptr.as_ptr().addr();
    (1usize << addr.trailing_zeros().min(12)).max(1)
}

impl Drop for Region {
    fn drop(&mut self) {
        match &mut self.storage {
            Storage::System { layout } => {
                // SAFETY: `ptr` was returned by `alloc_zeroed(layout)` and is freed once.
                unsafe { alloc::dealloc(self.ptr.as_ptr(), *layout) }
            }
            Storage::Owned { data, release } => {
                // SAFETY: `data` and `release` were made together in `Region::owned`; this is
                // the only call, and no slice of the bytes outlives the region.
                unsafe { release(*data) }
            }
            Storage::Foreign { release } => {
                if let Some(release) = release.take() {
                    release();
                }
            }
            Storage::Unmapped => {}
        }
    }
}

/// A read lock on a region with its slice; releases on drop.
pub(crate) struct ReadAccess<'a> {
    region: &'a Region,
    slice: &'a [u8],
}

impl<'a> ReadAccess<'a> {
    pub(crate) fn slice(&self) -> &[u8] {
        self.slice
    }
}

impl Drop for ReadAccess<'_> {
    fn drop(&mut self) {
        self.region.end(MapMode::Read);
    }
}

/// The write lock on a region with its slice; releases on drop.
pub(crate) struct WriteAccess<'a> {
    region: &'a Region,
    slice: &'a mut [u8],
}

impl<'a> WriteAccess<'a> {
    pub(crate) fn slice(&self) -> &[u8] {
        self.slice
    }
    pub(crate) fn slice_mut(&mut self) -> &mut [u8] {
        self.slice
    }
}

impl Drop for WriteAccess<'_> {
    fn drop(&mut self) {
        self.region.end(MapMode::Write);
    }
}

/// A read lock that owns its region (for mappings that outlive a borrow).
pub(crate) struct OwnedReadAccess {
    region: std::sync::Arc<Region>,
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: it only reads bytes under a read lock; `Region` is `Send + Sync`.
unsafe impl Send for OwnedReadAccess {}
// SAFETY: as above: shared access is read-only.
unsafe impl Sync for OwnedReadAccess {}

impl OwnedReadAccess {
    /// Read-locks `offset..offset+size` of `region` (range checked by the caller).
    pub(crate) fn new(
        region: std::sync::Arc<Region>,
        offset: usize,
        size: usize,
    ) -> Result<OwnedReadAccess, MemoryError> {
        debug_assert!(
            offset
                .checked_add(size)
                .is_some_and(|end| end <= region.len)
        );
        region.begin(MapMode::Read)?;
        // SAFETY: `offset` is inside the region's allocation (checked by the caller).
        let ptr = unsafe { NonNull::new_unchecked(region.ptr.as_ptr().add(offset)) };
        Ok(OwnedReadAccess {
            region,
            ptr,
            len: size,
        })
    }

    pub(crate) fn slice(&self) -> &[u8] {
        // SAFETY: the region (kept alive by our `Arc`) holds these initialised bytes, and
        // the read lock we hold until drop excludes writers.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for OwnedReadAccess {
    fn drop(&mut self) {
        self.region.end(MapMode::Read);
    }
}
