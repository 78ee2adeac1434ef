//! [`DmaHeapAllocator`]: DMA-BUF memories from a DMA-BUF heap, `/dev/dma_heap/<name>`
//! (`system` by default; `linux,cma` and vendor heaps where the kernel has them).
//!
//! ```no_run
//! use penstock::{AllocationParams, Allocator};
//! use penstock_linux::DmaHeapAllocator;
//!
//! let heap = DmaHeapAllocator::system()?; // /dev/dma_heap/system
//! let memory = heap.alloc(1920 * 1080 * 3 / 2, &AllocationParams::default())?;
//! assert_eq!(memory.memory_type(), "DMABuf");
//! memory.map_write()?.fill(0x80); // DMA_BUF_IOCTL_SYNC start/end around the write
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Each allocation is rounded up to whole pages (the heap does so anyway), mapped once
//! for its life, and CPU access is bracketed by `DMA_BUF_IOCTL_SYNC` (see
//! [`dmabuf`](crate::dmabuf)). The heaps lay out bytes, not images: they can hold any
//! LINEAR format, which is what [`Allocator::drm_formats`] answers.

use std::fmt;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use penstock::allocator::{AllocationParams, Allocator};
use penstock::drm::DrmFormatSet;
use penstock::memory::{Memory, MemoryError, MemoryFlags, MemoryType};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::dmabuf::{DMABUF_MEMORY_TYPE, map_dmabuf};
use crate::error::{LinuxError, os};
use crate::memfd::region_size;
use crate::sys::dmabuf as sys;

/// Where the kernel puts DMA-BUF heaps.
pub const DMA_HEAP_DIR: &str = "/dev/dma_heap";

/// The heap of plain system pages, present wherever `CONFIG_DMABUF_HEAPS_SYSTEM` is.
pub const DEFAULT_HEAP: &str = "system";

/// Allocates DMA-BUF memories from one DMA-BUF heap. See the [module docs](self).
pub struct DmaHeapAllocator {
    heap: String,
    name: String,
    path: PathBuf,
    fd: OwnedFd,
}

impl fmt::Debug for DmaHeapAllocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DmaHeapAllocator")
            .field("path", &self.path)
            .field("fd", &self.fd)
            .finish()
    }
}

impl DmaHeapAllocator {
    /// Opens the heap `/dev/dma_heap/<heap>`.
    ///
    /// # Errors
    /// [`LinuxError::NoDmaHeap`] when there is no such heap (listing the heaps that
    /// exist), [`LinuxError::OpenDevice`] when it cannot be opened (permissions).
    pub fn new(heap: &str) -> Result<DmaHeapAllocator, LinuxError> {
        let path = Path::new(DMA_HEAP_DIR).join(heap);
        let missing = || LinuxError::NoDmaHeap {
            path: path.clone(),
            available: available_heaps(),
        };
        if heap.is_empty() || heap.contains('/') || heap == "." || heap == ".." {
            return Err(missing());
        }
        let fd = rustix::fs::open(&path, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty()).map_err(
            |e| match e {
                Errno::NOENT | Errno::NOTDIR => missing(),
                e => LinuxError::OpenDevice {
                    path: path.clone(),
                    source: os(e),
                },
            },
        )?;
        Ok(DmaHeapAllocator {
            heap: heap.to_owned(),
            name: format!("dmaheap:{heap}"),
            path,
            fd,
        })
    }

    /// Opens the [`DEFAULT_HEAP`], `/dev/dma_heap/system`.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn system() -> Result<DmaHeapAllocator, LinuxError> {
        DmaHeapAllocator::new(DEFAULT_HEAP)
    }

    /// The heap's name (`system`).
    pub fn heap(&self) -> &str {
        &self.heap
    }

    /// The heap's device path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A DMA-BUF of `prefix + size + padding` bytes (rounded up to whole pages),
    /// mapped once, window `prefix..prefix+size`.
    ///
    /// # Errors
    /// [`LinuxError::HeapOutOfMemory`] when the heap answers `ENOMEM`,
    /// [`LinuxError::BadSize`] for empty or overflowing sizes and alignments above the
    /// page size, [`LinuxError::Syscall`] for other ioctl failures,
    /// [`LinuxError::MapShared`].
    pub fn allocate(&self, size: usize, params: &AllocationParams) -> Result<Memory, LinuxError> {
        let maxsize = region_size(&self.name, size, params)?;
        let len = round_to_pages(maxsize as u64);
        let fd = sys::heap_alloc(self.fd.as_fd(), len).map_err(|e| {
            if e.raw_os_error() == Some(Errno::NOMEM.raw_os_error()) {
                LinuxError::HeapOutOfMemory {
                    heap: self.heap.clone(),
                    size: len,
                }
            } else {
                LinuxError::Syscall {
                    call: "DMA_HEAP_IOCTL_ALLOC",
                    what: format!("\"{}\" ({len} bytes)", self.path.display()),
                    source: e,
                }
            }
        })?;
        // Heaps hand out zeroed pages (they must not leak other users' data), so the
        // ZERO_* flags asked for hold; the system heap's pages are not contiguous.
        let flags = params.flags - MemoryFlags::PHYSICALLY_CONTIGUOUS;
        let memory = map_dmabuf(fd, maxsize, true, params.prefix, size, flags)?;
        penstock::ledger::record_allocation(maxsize, "DmaHeapAllocator");
        Ok(memory)
    }
}

impl Allocator for DmaHeapAllocator {
    fn name(&self) -> &str {
        &self.name
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

/// `n` rounded up to a multiple of the page size.
pub(crate) fn round_to_pages(n: u64) -> u64 {
    let page = rustix::param::page_size() as u64;
    n.div_ceil(page) * page
}

/// The names in `/dev/dma_heap`, sorted; empty when there is no such directory.
pub fn available_heaps() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(DMA_HEAP_DIR)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_to_pages() {
        let page = rustix::param::page_size() as u64;
        assert_eq!(round_to_pages(1), page);
        assert_eq!(round_to_pages(page), page);
        assert_eq!(round_to_pages(page + 1), 2 * page);
    }

    #[test]
    fn a_missing_heap_names_the_path_and_lists_the_heaps() {
        let e = DmaHeapAllocator::new("penstock-no-such-heap").unwrap_err();
        let LinuxError::NoDmaHeap { path, available } = &e else {
            panic!("{e:?}");
        };
        assert_eq!(path, Path::new("/dev/dma_heap/penstock-no-such-heap"));
        assert_eq!(available, &available_heaps());
        let text = e.to_string();
        assert!(
            text.contains("/dev/dma_heap/penstock-no-such-heap"),
            "{text}"
        );
        if available.is_empty() {
            assert!(text.contains("no DMA-BUF heaps on this system"), "{text}");
        } else {
            assert!(text.contains(&available.join(", ")), "{text}");
        }
        // Names that would leave the heap directory are missing heaps, not paths.
        assert!(matches!(
            DmaHeapAllocator::new("../null"),
            Err(LinuxError::NoDmaHeap { .. })
        ));
    }
}
