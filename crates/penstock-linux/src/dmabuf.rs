//! DMA-BUF memories: [`import`] any DMA-BUF descriptor (from a dma-heap, udmabuf,
//! V4L2 `VIDIOC_EXPBUF`, a GPU driver, another process), and the backend that the
//! DMA-BUF allocators share.
//!
//! # CPU access
//!
//! A LINEAR DMA-BUF is mapped once (`MAP_SHARED`), when it is imported or allocated,
//! and stays mapped for the memory's life: mapping a memory costs no `mmap`. Every map
//! guard opens a CPU access window with `DMA_BUF_IOCTL_SYNC` (`DMA_BUF_SYNC_START` with
//! `DMA_BUF_SYNC_READ` for [`MapMode::Read`], `DMA_BUF_SYNC_RW` for
//! [`MapMode::Write`], since a write guard can also read) and closes it with
//! `DMA_BUF_SYNC_END` and the same access flags when it is dropped, so the exporter can
//! flush or invalidate caches.
//!
//! # Non-linear layouts
//!
//! A DMA-BUF imported with any modifier other than
//! [`DRM_FORMAT_MOD_LINEAR`] (tiled,
//! compressed, or [`DRM_FORMAT_MOD_INVALID`](penstock::drm::DRM_FORMAT_MOD_INVALID),
//! an implicit driver-chosen layout) is NOT_MAPPABLE: it is never mapped, and mapping
//! the memory fails with [`MemoryError::NotMappable`]. It can still be shared, windowed
//! and exported by descriptor.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use penstock::drm::DRM_FORMAT_MOD_LINEAR;
use penstock::memory::{MapMode, Memory, MemoryBackend, MemoryError, MemoryFlags, MemoryType};
use rustix::fs::{FileType, OFlags, SeekFrom};

use crate::error::{LinuxError, fd_name, os};
use crate::memfd::window_error;
use crate::sys::dmabuf as sys;
use crate::sys::mmap::SharedMapping;

pub use crate::sys::dmabuf::DmaBufSyncFlags;

/// The memory type of DMA-BUF memories (as in caps features: `memory:DMABuf`).
pub const DMABUF_MEMORY_TYPE: MemoryType = MemoryType::DMABUF;

/// How to import a DMA-BUF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmaBufImport {
    /// Bytes of the buffer the memory covers, from its start; `None`: all of it.
    pub size: Option<usize>,
    /// The DRM format modifier of the buffer's layout. Anything but LINEAR makes the
    /// memory NOT_MAPPABLE.
    pub modifier: u64,
}

impl Default for DmaBufImport {
    fn default() -> Self {
        DmaBufImport {
            size: None,
            modifier: DRM_FORMAT_MOD_LINEAR,
        }
    }
}

/// The backend of DMA-BUF memories: the DMA-BUF descriptor (synced around CPU access,
/// exported by [`fd`](MemoryBackend::fd)) and, for udmabuf, the memfd that holds the
/// pages.
pub(crate) struct DmaBufBackend {
    pub(crate) fd: OwnedFd,
    pub(crate) _memfd: Option<OwnedFd>,
}

/// The access flags of a map guard: `READ` for reading, `RW` for writing (a write
/// guard can also read).
pub fn sync_flags(mode: MapMode) -> DmaBufSyncFlags {
    match mode {
        MapMode::Read => DmaBufSyncFlags::READ,
        MapMode::Write => DmaBufSyncFlags::RW,
    }
}

impl MemoryBackend for DmaBufBackend {
    fn memory_type(&self) -> MemoryType {
        DMABUF_MEMORY_TYPE
    }

    fn begin_access(&self, mode: MapMode) -> Result<(), MemoryError> {
        sys::sync(self.fd.as_fd(), DmaBufSyncFlags::START | sync_flags(mode)).map_err(|e| {
            MemoryError::BackendFailed {
                memory_type: DMABUF_MEMORY_TYPE,
                what: format!(
                    "DMA_BUF_IOCTL_SYNC (start of CPU access {mode}) on {} failed",
                    fd_name(self.fd.as_fd())
                ),
                source: Box::new(e),
            }
        })
    }

    fn end_access(&self, mode: MapMode) {
        // The end of a window the kernel opened cannot fail for a valid descriptor;
        // a destructor has nobody to report to, so an error here is dropped.
        let _ = sys::sync(self.fd.as_fd(), DmaBufSyncFlags::END | sync_flags(mode));
    }

    fn fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.fd.as_fd())
    }
}

/// Whether `fd` is a DMA-BUF (`fstatfs` reports `DMA_BUF_MAGIC`).
pub fn is_dmabuf(fd: BorrowedFd<'_>) -> bool {
    rustix::fs::fstatfs(fd).is_ok_and(|s| s.f_type as u64 == sys::DMA_BUF_MAGIC)
}

/// Fails with [`LinuxError::NotDmaBuf`] (saying what `fd` is) unless it is a DMA-BUF.
pub(crate) fn check_dmabuf(fd: BorrowedFd<'_>) -> Result<(), LinuxError> {
    let fs = rustix::fs::fstatfs(fd).map_err(|e| LinuxError::Stat {
        what: fd_name(fd),
        source: os(e),
    })?;
    let magic = fs.f_type as u64;
    if magic == sys::DMA_BUF_MAGIC {
        return Ok(());
    }
    let kind = match rustix::fs::fstat(fd) {
        Ok(st) => match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => "a regular file",
            FileType::Directory => "a directory",
            FileType::Fifo => "a pipe",
            FileType::Socket => "a socket",
            FileType::CharacterDevice => "a character device",
            FileType::BlockDevice => "a block device",
            _ => "a file",
        },
        Err(_) => "a file",
    };
    let fs_name = match magic {
        0x0102_1994 => "tmpfs (a memfd or shared memory?)",
        0x958_458f6 => "hugetlbfs",
        0x5049_5045 => "pipefs",
        0x534f_434b => "sockfs",
        0x0904_1934 => "an anonymous inode (eventfd, timerfd, ...)",
        0x9fa0 => "procfs",
        0x6265_6572 => "sysfs",
        0x1cd1 => "devpts",
        0xef53 => "ext2/3/4",
        0x5846_5342 => "XFS",
        0x9123_683e => "btrfs",
        0x794c_7630 => "overlayfs",
        _ => "",
    };
    let is = if fs_name.is_empty() {
        format!("{kind} on a filesystem with magic {magic:#x}")
    } else {
        format!("{kind} on {fs_name}")
    };
    Err(LinuxError::NotDmaBuf {
        what: fd_name(fd),
        is,
    })
}

/// The size of a DMA-BUF: `lseek(SEEK_END)` (then back to the start).
pub fn dmabuf_size(fd: BorrowedFd<'_>) -> Result<u64, LinuxError> {
    let size = rustix::fs::seek(fd, SeekFrom::End(0)).map_err(|e| LinuxError::Syscall {
        call: "lseek(SEEK_END)",
        what: fd_name(fd),
        source: os(e),
    })?;
    // DMA-BUFs only support SEEK_END and SEEK_SET to 0; the position is not used by
    // mmap or the ioctls, so a failure to rewind changes nothing.
    let _ = rustix::fs::seek(fd, SeekFrom::Start(0));
    Ok(size)
}

/// Imports a whole DMA-BUF with the LINEAR layout: mapped once, CPU access bracketed by
/// the sync ioctl (see the [module docs](self)).
///
/// # Errors
/// As [`import_with`].
pub fn import(fd: OwnedFd) -> Result<Memory, LinuxError> {
    import_with(fd, DmaBufImport::default())
}

/// Imports a DMA-BUF as described by `options`. The memory's [`fd`](Memory::fd) is
/// `fd`; a read-only descriptor gives a READONLY memory.
///
/// # Errors
/// [`LinuxError::NotDmaBuf`] for any other descriptor (naming what it is),
/// [`LinuxError::OutOfBounds`] when `options.size` is larger than the buffer,
/// [`LinuxError::BadSize`] for an empty buffer or size, [`LinuxError::MapShared`] when
/// the exporter does not allow mapping a LINEAR buffer.
pub fn import_with(fd: OwnedFd, options: DmaBufImport) -> Result<Memory, LinuxError> {
    check_dmabuf(fd.as_fd())?;
    let buffer_size = dmabuf_size(fd.as_fd())?;
    let size = match options.size {
        Some(size) => size,
        None => usize::try_from(buffer_size).map_err(|_| LinuxError::TooLarge {
            what: fd_name(fd.as_fd()),
            size: buffer_size,
        })?,
    };
    if size as u64 > buffer_size {
        return Err(LinuxError::OutOfBounds {
            what: format!("DMA-BUF {}", fd_name(fd.as_fd())),
            offset: 0,
            size,
            file_size: buffer_size,
        });
    }
    if size == 0 {
        return Err(LinuxError::BadSize {
            allocator: format!("import of DMA-BUF {}", fd_name(fd.as_fd())),
            size,
            reason: "an empty memory cannot be imported".into(),
        });
    }
    if options.modifier != DRM_FORMAT_MOD_LINEAR {
        let backend = DmaBufBackend { fd, _memfd: None };
        return Ok(Memory::without_mapping(
            size,
            backend,
            MemoryFlags::NOT_MAPPABLE,
        ));
    }
    let writable = rustix::fs::fcntl_getfl(&fd).is_ok_and(|f| f & OFlags::ACCMODE == OFlags::RDWR);
    map_dmabuf(fd, size, writable, 0, size, MemoryFlags::empty())
}

/// Maps the first `maxsize` bytes of the DMA-BUF `fd` (checked by the caller) and
/// wraps them with the DMA-BUF backend, window `offset..offset+size`.
pub(crate) fn map_dmabuf(
    fd: OwnedFd,
    maxsize: usize,
    writable: bool,
    offset: usize,
    size: usize,
    flags: MemoryFlags,
) -> Result<Memory, LinuxError> {
    let mapping = SharedMapping::map(fd.as_fd(), 0, maxsize, writable).map_err(|source| {
        LinuxError::MapShared {
            what: format!("DMA-BUF {}", fd_name(fd.as_fd())),
            len: maxsize,
            source,
        }
    })?;
    let flags = if writable {
        flags
    } else {
        flags | MemoryFlags::READONLY
    };
    let backend = DmaBufBackend { fd, _memfd: None };
    Memory::with_backend_window(mapping, backend, offset, size, flags)
        .map_err(|e| window_error(DMABUF_MEMORY_TYPE.name(), size, e))
}

/// Wraps an already made mapping (udmabuf: the memfd's pages) with the DMA-BUF backend.
pub(crate) fn with_mapping(
    mapping: SharedMapping,
    fd: OwnedFd,
    memfd: OwnedFd,
    offset: usize,
    size: usize,
    flags: MemoryFlags,
) -> Result<Memory, LinuxError> {
    let backend = DmaBufBackend {
        fd,
        _memfd: Some(memfd),
    };
    Memory::with_backend_window(mapping, backend, offset, size, flags)
        .map_err(|e| window_error(DMABUF_MEMORY_TYPE.name(), size, e))
}

/// The allocator software producers use for DMA-BUF memory: the system DMA-BUF heap when
/// the kernel has one, else udmabuf (memfd pages exported as a DMA-BUF). Both make
/// LINEAR buffers the CPU can write.
///
/// # Errors
/// [`LinuxError::NoDmaBufExporter`] naming why each of the two could not be used.
pub fn software_allocator() -> Result<std::sync::Arc<dyn penstock::Allocator>, LinuxError> {
    let heap = match crate::DmaHeapAllocator::system() {
        Ok(a) => return Ok(std::sync::Arc::new(a)),
        Err(e) => e,
    };
    match crate::UdmabufAllocator::new() {
        Ok(a) => Ok(std::sync::Arc::new(a)),
        Err(udmabuf) => Err(LinuxError::NoDmaBufExporter {
            heap: Box::new(heap),
            udmabuf: Box::new(udmabuf),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_sync_keeps_the_os_error_as_source() {
        // Not a DMA-BUF: the sync ioctl fails with ENOTTY.
        let file = std::fs::File::open("/proc/self/status").unwrap();
        let backend = DmaBufBackend {
            fd: OwnedFd::from(file),
            _memfd: None,
        };
        let e = backend.begin_access(MapMode::Write).unwrap_err();
        assert!(
            matches!(
                &e,
                MemoryError::BackendFailed { memory_type, .. }
                    if *memory_type == MemoryType::DMABUF
            ),
            "{e:?}"
        );
        let text = e.to_string();
        assert!(
            text.starts_with(
                "DMABuf memory: DMA_BUF_IOCTL_SYNC (start of CPU access for writing) on \
                 file descriptor"
            ),
            "{text}"
        );
        let os = std::error::Error::source(&e)
            .and_then(|s| s.downcast_ref::<std::io::Error>())
            .expect("the OS error is the source");
        assert_eq!(
            os.raw_os_error(),
            Some(rustix::io::Errno::NOTTY.raw_os_error())
        );
        assert!(text.ends_with(&format!(" failed: {os}")), "{text}");
    }
}
