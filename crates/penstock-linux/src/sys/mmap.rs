//! Read-only, private mappings of files: `mmap(2)` with `PROT_READ | MAP_PRIVATE` and
//! `munmap(2)` on drop.
//!
//! # Safety
//!
//! [`ReadOnlyMapping::map`] never passes an address hint or `MAP_FIXED`, so the kernel
//! chooses a fresh range and no existing mapping of the process is replaced. The
//! mapping is owned by the [`ReadOnlyMapping`] alone: nothing else knows its address, it
//! is unmapped exactly once (in `Drop`), and the slices handed out borrow the value, so
//! none outlives the mapping. The pages are mapped `PROT_READ` only and never written
//! through.
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

    /// Always false: an empty mapping cannot be made.
    pub fn is_empty(&self) -> bool {
        self.len == 0
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
