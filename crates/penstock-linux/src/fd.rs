//! Exporting a memory's file descriptor: a duplicate that the caller owns, to send to
//! another process or hand to a device, while the memory keeps its own.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use penstock::Memory;

use crate::error::{LinuxError, fd_name, os};

/// A duplicate of a memory's file descriptor with the window it describes.
#[derive(Debug)]
pub struct ExportedFd {
    /// The new descriptor (`O_CLOEXEC`), owned by the caller.
    pub fd: OwnedFd,
    /// Offset of the memory's first visible byte in the file or DMA-BUF.
    pub offset: u64,
    /// Visible bytes of the memory.
    pub size: usize,
}

impl AsFd for ExportedFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Duplicates `fd` (`F_DUPFD_CLOEXEC`): the same open file, a new descriptor.
///
/// # Errors
/// [`LinuxError::Syscall`] (`EMFILE`: too many open files).
pub fn dup_fd(fd: BorrowedFd<'_>) -> Result<OwnedFd, LinuxError> {
    rustix::io::fcntl_dupfd_cloexec(fd, 0).map_err(|e| LinuxError::Syscall {
        call: "fcntl(F_DUPFD_CLOEXEC)",
        what: fd_name(fd),
        source: os(e),
    })
}

/// Duplicates the file descriptor of `memory` (memfd or DMA-BUF) for sending, with the
/// offset and size of its visible window.
///
/// # Errors
/// [`LinuxError::NoFd`] for memories without a descriptor (system memory),
/// [`LinuxError::Syscall`] when `dup` fails.
pub fn export_fd(memory: &Memory) -> Result<ExportedFd, LinuxError> {
    let (fd, offset) = memory.fd().ok_or(LinuxError::NoFd {
        memory_type: memory.memory_type(),
    })?;
    Ok(ExportedFd {
        fd: dup_fd(fd)?,
        offset,
        size: memory.size(),
    })
}
