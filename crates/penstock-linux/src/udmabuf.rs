//! [`UdmabufAllocator`]: DMA-BUF memories made from memfd pages by `/dev/udmabuf`
//! (`CONFIG_UDMABUF`). The bytes live in a sealed memfd; the DMA-BUF is a second handle
//! on the same pages that a device can import.
//!
//! ```no_run
//! use penstock::{AllocationParams, Allocator};
//! use penstock_linux::UdmabufAllocator;
//!
//! let udmabuf = UdmabufAllocator::new()?;
//! let memory = udmabuf.alloc(4096, &AllocationParams::default())?;
//! assert_eq!(memory.memory_type(), "DMABuf");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The CPU reaches the bytes through one mapping of the memfd, made at allocation;
//! every map guard is still bracketed by `DMA_BUF_IOCTL_SYNC` on the DMA-BUF, so the
//! udmabuf driver can sync caches for the devices that imported it. The memory's
//! [`fd`](penstock::Memory::fd) is the DMA-BUF. Like the heaps, udmabuf holds any
//! LINEAR format ([`Allocator::drm_formats`]).

use std::fmt;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use penstock::allocator::{AllocationParams, Allocator};
use penstock::drm::DrmFormatSet;
use penstock::memory::{Memory, MemoryError, MemoryFlags, MemoryType};
use rustix::fs::{Mode, OFlags, SealFlags};
use rustix::io::Errno;

use crate::dma_heap::round_to_pages;
use crate::dmabuf::{DMABUF_MEMORY_TYPE, with_mapping};
use crate::error::{LinuxError, fd_name, os};
use crate::memfd::{check_range, create_sealed_memfd, region_size, seal_names};
use crate::sys::dmabuf as sys;
use crate::sys::mmap::SharedMapping;

/// The udmabuf device.
pub const UDMABUF_PATH: &str = "/dev/udmabuf";

const NAME: &str = "udmabuf";

/// Makes DMA-BUFs of memfd pages. See the [module docs](self).
pub struct UdmabufAllocator {
    dev: OwnedFd,
}

impl fmt::Debug for UdmabufAllocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdmabufAllocator")
            .field("dev", &self.dev)
            .finish()
    }
}

impl UdmabufAllocator {
    /// Opens `/dev/udmabuf`.
    ///
    /// # Errors
    /// [`LinuxError::NoUdmabuf`] when the kernel has no udmabuf device,
    /// [`LinuxError::OpenDevice`] when it cannot be opened (permissions).
    pub fn new() -> Result<UdmabufAllocator, LinuxError> {
        let path = Path::new(UDMABUF_PATH);
        let dev =
            rustix::fs::open(path, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty()).map_err(|e| {
                match e {
                    Errno::NOENT => LinuxError::NoUdmabuf {
                        path: path.to_owned(),
                    },
                    e => LinuxError::OpenDevice {
                        path: path.to_owned(),
                        source: os(e),
                    },
                }
            })?;
        Ok(UdmabufAllocator { dev })
    }

    /// A DMA-BUF memory of `prefix + size + padding` bytes in a new sealed memfd (its
    /// size rounded up to whole pages), window `prefix..prefix+size`, zeroed.
    ///
    /// # Errors
    /// [`LinuxError::BadSize`], the memfd errors of
    /// [`MemfdAllocator::allocate`](crate::MemfdAllocator::allocate), and those of
    /// [`wrap_memfd`](Self::wrap_memfd).
    pub fn allocate(&self, size: usize, params: &AllocationParams) -> Result<Memory, LinuxError> {
        let maxsize = region_size(NAME, size, params)?;
        let memfd = create_sealed_memfd(round_to_pages(maxsize as u64))?;
        let flags = params.flags - MemoryFlags::PHYSICALLY_CONTIGUOUS;
        let memory = self.wrap(memfd, 0, maxsize, params.prefix, size, flags)?;
        penstock::ledger::record_allocation(maxsize, "UdmabufAllocator");
        Ok(memory)
    }

    /// Makes a DMA-BUF of bytes `offset..offset+size` of `memfd` and maps them through
    /// the memfd. `offset` must be a multiple of the page size; the DMA-BUF covers
    /// `size` rounded up to whole pages, which must lie inside the file. The memfd must
    /// be sealed with `F_SEAL_SHRINK` and not against writes (the driver's rules).
    ///
    /// # Errors
    /// [`LinuxError::UnsealedMemfd`], [`LinuxError::OutOfBounds`],
    /// [`LinuxError::BadSize`] for an unaligned offset, a memfd sealed against writes or
    /// an empty size, [`LinuxError::Syscall`] when `UDMABUF_CREATE` fails (`E2BIG`:
    /// larger than the driver's `size_limit_mb`), [`LinuxError::MapShared`].
    pub fn wrap_memfd(
        &self,
        memfd: OwnedFd,
        offset: u64,
        size: usize,
    ) -> Result<Memory, LinuxError> {
        self.wrap(memfd, offset, size, 0, size, MemoryFlags::empty())
    }

    /// `wrap_memfd` of `size` bytes, window `win_offset..win_offset+win_size`.
    fn wrap(
        &self,
        memfd: OwnedFd,
        offset: u64,
        size: usize,
        win_offset: usize,
        win_size: usize,
        flags: MemoryFlags,
    ) -> Result<Memory, LinuxError> {
        let seals = crate::memfd::require_shrink_seal(memfd.as_fd())?;
        let bad = |reason: String| LinuxError::BadSize {
            allocator: format!("udmabuf of memfd {}", fd_name(memfd.as_fd())),
            size,
            reason,
        };
        if seals.intersects(SealFlags::WRITE | SealFlags::FUTURE_WRITE) {
            return Err(bad(format!(
                "the memfd is sealed against writes ({}), which udmabuf refuses",
                seal_names(seals)
            )));
        }
        let page = rustix::param::page_size() as u64;
        if offset % page != 0 {
            return Err(bad(format!(
                "offset {offset} is not a multiple of the page size ({page})"
            )));
        }
        let file_size = check_range(memfd.as_fd(), offset, size)?;
        let dmabuf_size = round_to_pages(size as u64);
        if offset + dmabuf_size > file_size {
            return Err(LinuxError::OutOfBounds {
                what: format!("memfd {} (whole pages for udmabuf)", fd_name(memfd.as_fd())),
                offset,
                size: dmabuf_size as usize,
                file_size,
            });
        }
        let dmabuf = sys::udmabuf_create(self.dev.as_fd(), memfd.as_fd(), offset, dmabuf_size)
            .map_err(|source| LinuxError::Syscall {
                call: "UDMABUF_CREATE",
                what: format!(
                    "\"{UDMABUF_PATH}\" for memfd {} ({dmabuf_size} bytes at {offset})",
                    fd_name(memfd.as_fd())
                ),
                source,
            })?;
        let mapping = SharedMapping::map(memfd.as_fd(), offset, size, true).map_err(|source| {
            LinuxError::MapShared {
                what: format!("memfd {}", fd_name(memfd.as_fd())),
                len: size,
                source,
            }
        })?;
        with_mapping(mapping, dmabuf, memfd, win_offset, win_size, flags)
    }
}

impl Allocator for UdmabufAllocator {
    fn name(&self) -> &str {
        NAME
    }

    fn memory_type(&self) -> MemoryType {
        DMABUF_MEMORY_TYPE
    }

    fn alloc(&self, size: usize, params: &AllocationParams) -> Result<Memory, MemoryError> {
        self.allocate(size, params)
            .map_err(|e| e.into_alloc_error(size))
    }

    fn drm_formats(&self) -> Option<DrmFormatSet> {
        Some(penstock_video::linear_drm_formats())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_matches_the_device_node() {
        let exists = Path::new(UDMABUF_PATH).exists();
        match UdmabufAllocator::new() {
            Ok(_) => assert!(exists),
            Err(e @ LinuxError::NoUdmabuf { .. }) => {
                assert!(!exists);
                assert!(e.to_string().contains("/dev/udmabuf"), "{e}");
                assert!(e.to_string().contains("CONFIG_UDMABUF"), "{e}");
            }
            Err(LinuxError::OpenDevice { .. }) => assert!(exists),
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
}
