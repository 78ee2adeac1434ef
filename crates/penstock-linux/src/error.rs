//! [`LinuxError`]: what went wrong in a Linux system call, with the file or descriptor
//! it concerned and the OS error, so that the message alone tells the user what to fix.

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
         (for pipes and devices, read them with a streaming source)"
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
}

impl LinuxError {
    /// The OS error behind this error, if there is one.
    pub fn os_error(&self) -> Option<&io::Error> {
        match self {
            LinuxError::Open { source, .. }
            | LinuxError::Stat { source, .. }
            | LinuxError::Map { source, .. } => Some(source),
            LinuxError::NotRegularFile { .. } | LinuxError::TooLarge { .. } => None,
        }
    }
}
