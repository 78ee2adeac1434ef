//! [`LinuxError`]: what went wrong in a Linux system call, with the file or descriptor
//! it concerned and the OS error, so that the message alone tells the user what to fix.
//!
//! The allocators' [`Allocator::alloc`](penstock::Allocator::alloc) must answer with a
//! [`MemoryError`](penstock::MemoryError); they turn a `LinuxError` into
//! [`MemoryError::AllocFailed`](penstock::MemoryError::AllocFailed), which keeps it as
//! its source (see
//! [`LinuxError::into_alloc_error`]). Their inherent `allocate` methods return the typed
//! error.

use std::io;
use std::path::PathBuf;

/// Errors of penstock's Linux memory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinuxError {
    /// `open(2)` failed (missing file, permission denied, ...).
    #[error("could not open \"{}\" for reading: {source}", .path.display())]
    Open {
        /// The path that was opened.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// `fstat(2)` failed.
    #[error("could not read the size of {what}: {source}")]
    Stat {
        /// The file (`"/path"` or `file descriptor N`).
        what: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The file is a directory, a pipe, a socket or a device: it has no size to map.
    #[error(
        "{what} is {kind}, not a regular file: only regular files can be mapped \
         (read pipes and devices as a stream: filesrc does, as fdsrc does a descriptor)"
    )]
    NotRegularFile {
        /// The file (`"/path"` or `file descriptor N`).
        what: String,
        /// What it is instead (`"a directory"`, `"a FIFO"`, ...).
        kind: &'static str,
    },
    /// The file is larger than this process can map.
    #[error("{what} is {size} bytes: too large to map in this process's address space")]
    TooLarge {
        /// The file (`"/path"` or `file descriptor N`).
        what: String,
        /// Its size in bytes.
        size: u64,
    },
    /// `mmap(2)` failed.
    #[error("could not map {what} ({len} bytes) for reading: {source}")]
    Map {
        /// The file (`"/path"` or `file descriptor N`).
        what: String,
        /// Bytes that were to be mapped.
        len: usize,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A `MAP_SHARED` mapping of a memfd or DMA-BUF failed.
    #[error("could not map {what} ({len} bytes, shared): {source}")]
    MapShared {
        /// The object (`memfd "penstock"`, `DMA-BUF file descriptor 7`, ...).
        what: String,
        /// Bytes that were to be mapped.
        len: usize,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Another system call failed.
    #[error("{call} on {what} failed: {source}")]
    Syscall {
        /// The call (`memfd_create`, `ftruncate`, `F_ADD_SEALS`, `DMA_BUF_IOCTL_SYNC`, ...).
        call: &'static str,
        /// The object it was made on.
        what: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A size or alignment that the allocator cannot serve.
    #[error("{allocator} cannot allocate {size} bytes: {reason}")]
    BadSize {
        /// The allocator (`memfd`, `dmaheap:system`, `udmabuf`) or importer.
        allocator: String,
        /// The requested size of the visible window.
        size: usize,
        /// Why, and what to ask for instead.
        reason: String,
    },
    /// A memfd offered for import can still shrink: a peer could truncate it under our
    /// mapping, and the next access would raise `SIGBUS`.
    #[error(
        "{what} is not sealed against shrinking (its seals: {seals}): the sender must \
         create it with MFD_ALLOW_SEALING and add F_SEAL_SHRINK (fcntl F_ADD_SEALS) \
         before passing it"
    )]
    UnsealedMemfd {
        /// The file descriptor (`file descriptor 7`).
        what: String,
        /// The seals it has (`F_SEAL_GROW`, `none`, ...).
        seals: String,
    },
    /// A requested range that does not fit inside the file or buffer.
    #[error(
        "{what} has {file_size} bytes: offset {offset} + size {size} does not fit in it \
         (ask for a range inside the buffer)"
    )]
    OutOfBounds {
        /// The file descriptor or buffer.
        what: String,
        /// Requested offset in bytes.
        offset: u64,
        /// Requested size in bytes.
        size: usize,
        /// The size of the file or buffer.
        file_size: u64,
    },
    /// A descriptor offered as a DMA-BUF is something else.
    #[error(
        "{what} is not a DMA-BUF: it is {is} (pass a descriptor from a DMA-BUF exporter: \
         a dma-heap, udmabuf, VIDIOC_EXPBUF, a GPU driver)"
    )]
    NotDmaBuf {
        /// The file descriptor (`file descriptor 7`).
        what: String,
        /// What it is instead (`a regular file on tmpfs (a memfd?)`, `a pipe`, ...).
        is: String,
    },
    /// The DMA-BUF heap does not exist.
    #[error("there is no DMA-BUF heap \"{}\": {}", .path.display(), heap_list(.available))]
    NoDmaHeap {
        /// The device path (`/dev/dma_heap/system`).
        path: PathBuf,
        /// The heaps that do exist (names in `/dev/dma_heap`).
        available: Vec<String>,
    },
    /// A DMA-BUF heap has no memory for the allocation.
    #[error(
        "DMA-BUF heap \"{heap}\" is out of memory: it could not allocate {size} bytes \
         (use fewer or smaller buffers, or another heap)"
    )]
    HeapOutOfMemory {
        /// The heap name (`system`, `linux,cma`).
        heap: String,
        /// Bytes requested from the heap.
        size: u64,
    },
    /// `/dev/udmabuf` does not exist.
    #[error(
        "\"{}\" does not exist: this kernel has no udmabuf driver (CONFIG_UDMABUF); \
         use memfd memory or a DMA-BUF heap instead",
        .path.display()
    )]
    NoUdmabuf {
        /// The device path.
        path: PathBuf,
    },
    /// Neither a DMA-BUF heap nor udmabuf can make DMA-BUF memory on this kernel.
    #[error(
        "no DMA-BUF exporter for software frames on this kernel: {heap}; and {udmabuf} \
         (a kernel with CONFIG_DMABUF_HEAPS_SYSTEM or CONFIG_UDMABUF is needed; `penstock probe` \
         shows what this one has, and caps without memory:DMABuf use system memory)"
    )]
    NoDmaBufExporter {
        /// Why the system heap could not be used.
        heap: Box<LinuxError>,
        /// Why udmabuf could not be used.
        udmabuf: Box<LinuxError>,
    },
    /// A device node exists but cannot be opened.
    #[error(
        "could not open device \"{}\" for reading and writing: {source} \
         (check its permissions: device nodes are often root-only)",
        .path.display()
    )]
    OpenDevice {
        /// The device path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A memory without a file descriptor was asked for one.
    #[error(
        "a {memory_type} memory has no file descriptor to export: allocate it with the \
         memfd, DMA-BUF heap or udmabuf allocator (or copy it into such a memory)"
    )]
    NoFd {
        /// The memory's type.
        memory_type: penstock::MemoryType,
    },
}

/// "the heaps that exist are: a, b" or why there are none.
fn heap_list(available: &[String]) -> String {
    if available.is_empty() {
        "there are no DMA-BUF heaps on this system (a kernel without CONFIG_DMABUF_HEAPS, \
         or /dev/dma_heap is not populated): use memfd memory, or udmabuf if present"
            .to_owned()
    } else {
        format!("the heaps that exist are: {}", available.join(", "))
    }
}

impl LinuxError {
    /// The OS error behind this error, if there is one.
    pub fn os_error(&self) -> Option<&io::Error> {
        match self {
            LinuxError::Open { source, .. }
            | LinuxError::Stat { source, .. }
            | LinuxError::Map { source, .. }
            | LinuxError::MapShared { source, .. }
            | LinuxError::Syscall { source, .. }
            | LinuxError::OpenDevice { source, .. } => Some(source),
            LinuxError::NotRegularFile { .. }
            | LinuxError::TooLarge { .. }
            | LinuxError::BadSize { .. }
            | LinuxError::UnsealedMemfd { .. }
            | LinuxError::OutOfBounds { .. }
            | LinuxError::NotDmaBuf { .. }
            | LinuxError::NoDmaHeap { .. }
            | LinuxError::HeapOutOfMemory { .. }
            | LinuxError::NoUdmabuf { .. }
            | LinuxError::NoFd { .. }
            | LinuxError::NoDmaBufExporter { .. } => None,
        }
    }
}

impl LinuxError {
    /// The error as a [`MemoryError::AllocFailed`](penstock::MemoryError::AllocFailed)
    /// of `size` bytes (for [`Allocator::alloc`](penstock::Allocator::alloc)): the same
    /// message, and this error kept as its [`source`](std::error::Error::source), so
    /// callers can downcast to `LinuxError` and walk down to the OS error.
    pub fn into_alloc_error(self, size: usize) -> penstock::MemoryError {
        penstock::MemoryError::alloc_failed(size, self)
    }
}

/// How errors name a descriptor: `file descriptor 7`.
pub(crate) fn fd_name(fd: std::os::fd::BorrowedFd<'_>) -> String {
    use std::os::fd::AsRawFd;
    format!("file descriptor {}", fd.as_raw_fd())
}

/// A rustix error as an `io::Error`.
pub(crate) fn os(e: rustix::io::Errno) -> io::Error {
    io::Error::from(e)
}
