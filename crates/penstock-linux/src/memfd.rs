//! [`MemfdAllocator`]: memories in sealed memfds, mapped once, whose file descriptor can
//! be sent to another process (over a Unix socket, as PipeWire does) or turned into a
//! DMA-BUF by [`UdmabufAllocator`](crate::UdmabufAllocator); and
//! [`MemfdAllocator::import`] for a memfd received from elsewhere.
//!
//! ```
//! use std::os::fd::AsFd;
//! use penstock::{AllocationParams, Allocator};
//! use penstock_linux::MemfdAllocator;
//!
//! let memory = MemfdAllocator::new().alloc(4096, &AllocationParams::default())?;
//! memory.map_write()?.fill(7);
//! let (fd, offset) = memory.fd().expect("memfd memories have a descriptor");
//! assert_eq!(offset, 0);
//! // A second, independent mapping of the same pages sees the bytes.
//! let again = MemfdAllocator::import(penstock_linux::dup_fd(fd.as_fd())?, 0, 4096)?;
//! assert_eq!(&again.map_read()?[..4], &[7; 4]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Seals
//!
//! A memfd made here is sized once and sealed with `F_SEAL_SHRINK | F_SEAL_GROW |
//! F_SEAL_SEAL`: no process holding it can truncate it under a mapping (which would make
//! the next access raise `SIGBUS`), nor change its seals. An imported memfd must carry at
//! least `F_SEAL_SHRINK`; one sealed against writes (`F_SEAL_WRITE`,
//! `F_SEAL_FUTURE_WRITE`) or open read-only is mapped read-only and its memory is
//! READONLY.
//!
//! # DRM formats
//!
//! [`Allocator::drm_formats`] answers `None`, as the trait asks for memory that is not a
//! DMA-BUF: a memfd cannot be imported by a device as it is. Turn it into a DMA-BUF with
//! the udmabuf allocator, which answers the LINEAR formats.

use std::fmt;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use penstock::allocator::{AllocationParams, Allocator};
use penstock::memory::{Memory, MemoryBackend, MemoryError, MemoryFlags, MemoryType};
use rustix::fs::{MemfdFlags, OFlags, SealFlags};

use crate::error::{LinuxError, fd_name, os};
use crate::sys::mmap::SharedMapping;

/// The memory type of memfd memories (as in caps features).
pub const MEMFD_MEMORY_TYPE: MemoryType = MemoryType::MEMFD;

/// The seals of memfds made by penstock.
pub const MEMFD_SEALS: SealFlags = SealFlags::SHRINK
    .union(SealFlags::GROW)
    .union(SealFlags::SEAL);

/// Makes memories in sealed memfds. See the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct MemfdAllocator {
    _private: (),
}

/// The backend of a memfd memory: the file descriptor and where the region starts in it.
struct MemfdBackend {
    fd: OwnedFd,
    offset: u64,
}

impl MemoryBackend for MemfdBackend {
    fn memory_type(&self) -> MemoryType {
        MEMFD_MEMORY_TYPE
    }

    fn fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.fd.as_fd())
    }

    fn fd_offset(&self) -> u64 {
        self.offset
    }
}

impl MemfdAllocator {
    /// A memfd allocator.
    pub fn new() -> MemfdAllocator {
        MemfdAllocator::default()
    }

    /// A memory of `size` visible bytes, with `params.prefix` bytes before and
    /// `params.padding` after them, in a new sealed memfd of exactly that many bytes,
    /// mapped read-write. The bytes are zero (so ZERO_PREFIXED / ZERO_PADDED hold), the
    /// region starts on a page boundary (alignments up to the page size are met).
    ///
    /// # Errors
    /// [`LinuxError::BadSize`] for an empty memory, an overflowing size or an alignment
    /// above the page size; [`LinuxError::Syscall`] when `memfd_create`, `ftruncate` or
    /// sealing fails (`EMFILE`: too many open files, `ENOSPC`/`ENOMEM`: out of memory);
    /// [`LinuxError::MapShared`].
    pub fn allocate(&self, size: usize, params: &AllocationParams) -> Result<Memory, LinuxError> {
        let maxsize = region_size(MEMFD_MEMORY_TYPE.name(), size, params)?;
        let fd = create_sealed_memfd(maxsize as u64)?;
        let mapping = SharedMapping::map(fd.as_fd(), 0, maxsize, true).map_err(|source| {
            LinuxError::MapShared {
                what: format!("memfd ({})", fd_name(fd.as_fd())),
                len: maxsize,
                source,
            }
        })?;
        let flags = params.flags - MemoryFlags::PHYSICALLY_CONTIGUOUS;
        let backend = MemfdBackend { fd, offset: 0 };
        let memory = Memory::with_backend_window(mapping, backend, params.prefix, size, flags)
            .map_err(|e| window_error(MEMFD_MEMORY_TYPE.name(), size, e))?;
        penstock::ledger::record_allocation(maxsize, "MemfdAllocator");
        Ok(memory)
    }

    /// Imports bytes `offset..offset+size` of a memfd received from elsewhere, mapped
    /// once (`MAP_SHARED`) for the memory's life. The memory's [`fd`](Memory::fd) is
    /// `fd` at `offset`.
    ///
    /// # Errors
    /// [`LinuxError::UnsealedMemfd`] unless the file is sealed with `F_SEAL_SHRINK`
    /// (naming the seals it has); [`LinuxError::OutOfBounds`] when the range does not
    /// fit in the file; [`LinuxError::BadSize`] for `size == 0`; [`LinuxError::Syscall`]
    /// or [`LinuxError::MapShared`] when the kernel refuses.
    pub fn import(fd: OwnedFd, offset: u64, size: usize) -> Result<Memory, LinuxError> {
        let seals = require_shrink_seal(fd.as_fd())?;
        check_range(fd.as_fd(), offset, size)?;
        let access = rustix::fs::fcntl_getfl(&fd).map_err(|e| LinuxError::Syscall {
            call: "fcntl(F_GETFL)",
            what: fd_name(fd.as_fd()),
            source: os(e),
        })?;
        let writable = access & OFlags::ACCMODE == OFlags::RDWR
            && !seals.intersects(SealFlags::WRITE | SealFlags::FUTURE_WRITE);
        let mapping = SharedMapping::map(fd.as_fd(), offset, size, writable).map_err(|source| {
            LinuxError::MapShared {
                what: format!("memfd ({})", fd_name(fd.as_fd())),
                len: size,
                source,
            }
        })?;
        let flags = if writable {
            MemoryFlags::empty()
        } else {
            MemoryFlags::READONLY
        };
        Ok(Memory::with_backend(
            mapping,
            MemfdBackend { fd, offset },
            flags,
        ))
    }
}

impl Allocator for MemfdAllocator {
    fn name(&self) -> &str {
        MEMFD_MEMORY_TYPE.name()
    }

    fn memory_type(&self) -> MemoryType {
        MEMFD_MEMORY_TYPE
    }

    fn alloc(&self, size: usize, params: &AllocationParams) -> Result<Memory, MemoryError> {
        self.allocate(size, params)
            .map_err(|e| e.into_alloc_error(size))
    }
}

impl fmt::Display for MemfdAllocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MEMFD_MEMORY_TYPE.name())
    }
}

/// `prefix + size + padding`, checked: not zero, no overflow, alignment within a page.
pub(crate) fn region_size(
    allocator: &str,
    size: usize,
    params: &AllocationParams,
) -> Result<usize, LinuxError> {
    let bad = |reason: String| LinuxError::BadSize {
        allocator: allocator.to_owned(),
        size,
        reason,
    };
    let page = rustix::param::page_size();
    let align = params
        .alignment_bytes(0)
        .map_err(|_| bad(format!("alignment mask {:#x} is not 2^n-1", params.align)))?;
    if align > page {
        return Err(bad(format!(
            "alignment {align} is above the page size ({page}), the most a mapping gives"
        )));
    }
    let maxsize = params
        .prefix
        .checked_add(size)
        .and_then(|s| s.checked_add(params.padding))
        .filter(|&s| s <= isize::MAX as usize / 2)
        .ok_or_else(|| {
            bad(format!(
                "prefix {} + size {size} + padding {} overflows",
                params.prefix, params.padding
            ))
        })?;
    if maxsize == 0 {
        return Err(bad(
            "an empty memory has nothing to map (ask for at least one byte)".to_owned(),
        ));
    }
    Ok(maxsize)
}

/// The window of a fresh region did not fit (cannot happen: the region was sized for
/// it), as a typed error rather than a panic.
pub(crate) fn window_error(allocator: &str, size: usize, e: MemoryError) -> LinuxError {
    LinuxError::BadSize {
        allocator: allocator.to_owned(),
        size,
        reason: e.to_string(),
    }
}

/// A new memfd (`MFD_CLOEXEC | MFD_ALLOW_SEALING`) of `len` bytes sealed with
/// [`MEMFD_SEALS`].
pub(crate) fn create_sealed_memfd(len: u64) -> Result<OwnedFd, LinuxError> {
    let what = || "memfd \"penstock\"".to_owned();
    let fd = rustix::fs::memfd_create("penstock", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)
        .map_err(|e| LinuxError::Syscall {
            call: "memfd_create",
            what: what(),
            source: os(e),
        })?;
    rustix::fs::ftruncate(&fd, len).map_err(|e| LinuxError::Syscall {
        call: "ftruncate",
        what: format!("{} ({len} bytes)", what()),
        source: os(e),
    })?;
    rustix::fs::fcntl_add_seals(&fd, MEMFD_SEALS).map_err(|e| LinuxError::Syscall {
        call: "fcntl(F_ADD_SEALS)",
        what: what(),
        source: os(e),
    })?;
    Ok(fd)
}

/// The seals of `fd`, which must include `F_SEAL_SHRINK`.
pub(crate) fn require_shrink_seal(fd: BorrowedFd<'_>) -> Result<SealFlags, LinuxError> {
    match rustix::fs::fcntl_get_seals(fd) {
        Ok(seals) if seals.contains(SealFlags::SHRINK) => Ok(seals),
        Ok(seals) => Err(LinuxError::UnsealedMemfd {
            what: fd_name(fd),
            seals: seal_names(seals),
        }),
        Err(rustix::io::Errno::INVAL) => Err(LinuxError::UnsealedMemfd {
            what: fd_name(fd),
            seals: "none: the file does not support sealing (not a memfd, or one created \
                    without MFD_ALLOW_SEALING)"
                .to_owned(),
        }),
        Err(e) => Err(LinuxError::Syscall {
            call: "fcntl(F_GET_SEALS)",
            what: fd_name(fd),
            source: os(e),
        }),
    }
}

/// `offset..offset+size` must lie inside the file (and not be empty).
pub(crate) fn check_range(fd: BorrowedFd<'_>, offset: u64, size: usize) -> Result<u64, LinuxError> {
    let stat = rustix::fs::fstat(fd).map_err(|e| LinuxError::Stat {
        what: fd_name(fd),
        source: os(e),
    })?;
    let file_size = u64::try_from(stat.st_size).unwrap_or(0);
    if size == 0 {
        return Err(LinuxError::BadSize {
            allocator: format!("import of {}", fd_name(fd)),
            size,
            reason: "an empty memory has nothing to map (ask for at least one byte)".into(),
        });
    }
    let fits = offset
        .checked_add(size as u64)
        .is_some_and(|end| end <= file_size);
    if !fits {
        return Err(LinuxError::OutOfBounds {
            what: fd_name(fd),
            offset,
            size,
            file_size,
        });
    }
    Ok(file_size)
}

/// `F_SEAL_SHRINK | F_SEAL_GROW`, or `none`.
pub(crate) fn seal_names(seals: SealFlags) -> String {
    let names: Vec<&str> = [
        (SealFlags::SEAL, "F_SEAL_SEAL"),
        (SealFlags::SHRINK, "F_SEAL_SHRINK"),
        (SealFlags::GROW, "F_SEAL_GROW"),
        (SealFlags::WRITE, "F_SEAL_WRITE"),
        (SealFlags::FUTURE_WRITE, "F_SEAL_FUTURE_WRITE"),
        (SealFlags::EXEC, "F_SEAL_EXEC"),
    ]
    .into_iter()
    .filter(|(f, _)| seals.contains(*f))
    .map(|(_, n)| n)
    .collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(" | ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_names_list_what_is_set() {
        assert_eq!(seal_names(SealFlags::empty()), "none");
        assert_eq!(
            seal_names(MEMFD_SEALS),
            "F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW"
        );
    }

    #[test]
    fn region_size_rejects_empty_overflow_and_huge_alignment() {
        let p = AllocationParams::default();
        assert_eq!(region_size("memfd", 10, &p).unwrap(), 10);
        assert!(matches!(
            region_size("memfd", 0, &p),
            Err(LinuxError::BadSize { .. })
        ));
        let p = AllocationParams {
            prefix: usize::MAX,
            ..AllocationParams::default()
        };
        assert!(region_size("memfd", 1, &p).is_err());
        let p = AllocationParams::aligned_to(1 << 20).unwrap();
        let e = region_size("memfd", 1, &p).unwrap_err();
        assert!(e.to_string().contains("page size"), "{e}");
    }
}
