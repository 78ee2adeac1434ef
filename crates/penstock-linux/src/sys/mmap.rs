//! Mappings of files: [`ReadOnlyMapping`] (`PROT_READ | MAP_PRIVATE`, for files) and
//! [`SharedMapping`] (`MAP_SHARED`, read-write or read-only, for memfds and DMA-BUFs),
//! each unmapped with `munmap(2)` on drop.
//!
//! # Safety
//!
//! Neither `map` passes an address hint or `MAP_FIXED`, so the kernel
//! chooses a fresh range and no existing mapping of the process is replaced. The
//! mapping is owned by its value alone: nothing else knows its address, it
//! is unmapped exactly once (in `Drop`), and the slices handed out borrow the value, so
//! none outlives the mapping. The pages are mapped `PROT_READ` only and never written
//! through; a [`SharedMapping`] hands out `&mut [u8]` only through `&mut self`.
//!
//! A [`SharedMapping`] shows pages that other processes (or a device, for a DMA-BUF) may
//! also write: such writes are outside what Rust's aliasing rules can see, exactly as
//! for any shared memory; penstock brackets CPU access with the DMA-BUF sync ioctls and
//! expects the peers to follow the buffer-passing protocol (one writer at a time). The
//! callers only map ranges inside the file's size, of files that cannot shrink (sealed
//! memfds, DMA-BUFs), so no access raises `SIGBUS`.
//!
//! What this module cannot promise (and documents at [`crate::MappedFile`]): the bytes
//! belong to a file, so another process that writes the file may change them while they
//! are mapped, and one that *truncates* it makes accesses past the new end raise
//! `SIGBUS`. That is inherent to file mappings.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::fmt;
use std::io;
use std::os::fd::BorrowedFd;
use std::ptr::NonNull;

use rustix::mm::{MapFlags, ProtFlags};

/// A read-only private mapping of the first `len` bytes of a file.
pub struct ReadOnlyMapping {
    ptr: NonNull<u8>,
    len: usize,
}

impl fmt::Debug for ReadOnlyMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadOnlyMapping")
            .field("ptr", &self.ptr)
            .field("len", &self.len)
            .finish()
    }
}

impl ReadOnlyMapping {
    /// Maps bytes `0..len` of the file behind `fd`, `PROT_READ`, `MAP_PRIVATE`. The
    /// descriptor may be closed afterwards: the mapping keeps the file open.
    ///
    /// # Errors
    /// `EINVAL` for `len == 0` (nothing to map), or the error of `mmap(2)`: `EACCES`
    /// when `fd` is not open for reading, `ENODEV` when its file cannot be mapped,
    /// `ENOMEM` when the address space is exhausted.
    pub fn map(fd: BorrowedFd<'_>, len: usize) -> io::Result<ReadOnlyMapping> {
        if len == 0 {
            return Err(io::Error::from(rustix::io::Errno::INVAL));
        }
        // SAFETY: a null address hint without MAP_FIXED lets the kernel pick an unused
        // range, so no existing mapping (Rust-owned memory included) is touched. The
        // result is only read through `as_slice` and unmapped once, in `Drop`.
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ,
                MapFlags::PRIVATE,
                fd,
                0,
            )
        }?;
        let ptr = NonNull::new(ptr.cast::<u8>())
            .ok_or_else(|| io::Error::other("mmap returned a null address"))?;
        Ok(ReadOnlyMapping { ptr, len })
    }

    /// Bytes mapped.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The mapped bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr..ptr+len` is a live PROT_READ mapping owned by `self` (see the
        // module docs); it stays mapped for the borrow of `self`, is never written
        // through by this process, and `len <= isize::MAX` because the kernel mapped it.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for ReadOnlyMapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what `mmap` returned; this is the only unmap,
        // and no slice of it survives `self` (they borrow it).
        let result = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast::<c_void>(), self.len) };
        // munmap of a range we mapped cannot fail short of a kernel bug; there is
        // nothing useful to do about it in a destructor.
        debug_assert!(result.is_ok(), "munmap failed: {result:?}");
    }
}

// SAFETY: the mapping is plain process memory, not tied to the thread that made it; it
// is unmapped once, by whichever thread drops the value.
unsafe impl Send for ReadOnlyMapping {}
// SAFETY: only shared, read-only access (`&[u8]`) is ever handed out.
unsafe impl Sync for ReadOnlyMapping {}

/// A `MAP_SHARED` mapping of `len` bytes of a file from byte `offset` (any offset: the
/// mapping starts at the page below it).
pub struct SharedMapping {
    /// What `mmap` returned (page-aligned).
    base: NonNull<u8>,
    /// Bytes mapped from `base`.
    map_len: usize,
    /// Bytes from `base` to the first byte asked for (`offset` modulo the page size).
    skip: usize,
    /// Bytes asked for.
    len: usize,
}

impl fmt::Debug for SharedMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedMapping")
            .field("base", &self.base)
            .field("len", &self.len)
            .finish()
    }
}

impl SharedMapping {
    /// Maps bytes `offset..offset+len` of the file behind `fd`, `MAP_SHARED`, with
    /// `PROT_READ | PROT_WRITE` when `writable`, else `PROT_READ`. The caller checked
    /// that the range lies inside the file and that the file cannot shrink.
    ///
    /// # Errors
    /// `EINVAL` for `len == 0` or a range that overflows, or the error of `mmap(2)`
    /// (`EACCES` for a write mapping of a read-only fd, `EPERM` for a write mapping of a
    /// memfd sealed against writes, `ENODEV` for a file that cannot be mapped).
    pub fn map(
        fd: BorrowedFd<'_>,
        offset: u64,
        len: usize,
        writable: bool,
    ) -> io::Result<SharedMapping> {
        let page = rustix::param::page_size() as u64;
        let skip = offset % page;
        let map_len = usize::try_from(skip)
            .ok()
            .and_then(|s| s.checked_add(len))
            .filter(|&l| len != 0 && l <= isize::MAX as usize)
            .ok_or_else(|| io::Error::from(rustix::io::Errno::INVAL))?;
        let prot = if writable {
            ProtFlags::READ | ProtFlags::WRITE
        } else {
            ProtFlags::READ
        };
        // SAFETY: a null address hint without MAP_FIXED lets the kernel pick an unused
        // range, so no existing mapping is touched. The result is owned by the returned
        // value, reached only through its slices and unmapped once, in `Drop`.
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                map_len,
                prot,
                MapFlags::SHARED,
                fd,
                offset - skip,
            )
        }?;
        let base = NonNull::new(ptr.cast::<u8>())
            .ok_or_else(|| io::Error::other("mmap returned a null address"))?;
        Ok(SharedMapping {
            base,
            map_len,
            skip: skip as usize,
            len,
        })
    }

    /// The bytes asked for.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `base+skip .. base+skip+len` lies inside the live mapping owned by
        // `self` (`map_len = skip + len`); it stays mapped for the borrow of `self`, and
        // this process writes it only through `as_mut_slice`, which needs `&mut self`.
        unsafe { std::slice::from_raw_parts(self.base.as_ptr().add(self.skip), self.len) }
    }

    /// The bytes asked for, writable. Only meaningful for a writable mapping: the
    /// callers mark memories of read-only mappings READONLY, so this slice is then
    /// only used for its address, never written.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`; `&mut self` makes this the only slice of the
        // mapping in this process for its lifetime.
        unsafe { std::slice::from_raw_parts_mut(self.base.as_ptr().add(self.skip), self.len) }
    }
}

impl AsMut<[u8]> for SharedMapping {
    fn as_mut(&mut self) -> &mut [u8] {
        self.as_mut_slice()
    }
}

impl AsRef<[u8]> for SharedMapping {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Drop for SharedMapping {
    fn drop(&mut self) {
        // SAFETY: `base`/`map_len` are exactly what `mmap` returned; this is the only
        // unmap, and no slice of it survives `self` (they borrow it).
        let result =
            unsafe { rustix::mm::munmap(self.base.as_ptr().cast::<c_void>(), self.map_len) };
        debug_assert!(result.is_ok(), "munmap failed: {result:?}");
    }
}

// SAFETY: the mapping is process memory, not tied to a thread; it is unmapped once, by
// whichever thread drops the value.
unsafe impl Send for SharedMapping {}
// SAFETY: `&self` only gives `&[u8]`; writing needs `&mut self`.
unsafe impl Sync for SharedMapping {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsFd;

    #[test]
    fn maps_a_file_and_rejects_zero_length() {
        let path = std::env::temp_dir().join(format!("penstock-mmap-{}", std::process::id()));
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(b"hello mapping"))
            .unwrap();
        let f = std::fs::File::open(&path).unwrap();
        let m = ReadOnlyMapping::map(f.as_fd(), 13).unwrap();
        drop(f);
        assert_eq!(m.as_slice(), b"hello mapping");
        let f = std::fs::File::open(&path).unwrap();
        assert!(ReadOnlyMapping::map(f.as_fd(), 0).is_err());
        std::fs::remove_file(&path).unwrap();
    }
}
