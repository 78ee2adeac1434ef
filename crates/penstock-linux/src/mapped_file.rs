//! [`MappedFile`]: a whole file mapped read-only, to hand out as memories without
//! reading (copying) it.
//!
//! ```no_run
//! use penstock::Memory;
//! use penstock_linux::MappedFile;
//!
//! let file = MappedFile::open("/tmp/video.raw")?;
//! let memory = Memory::from_owner_readonly(file); // no copy; unmapped with the last handle
//! let first_block = memory.share(0, 4096.min(memory.size()))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags};

use crate::error::LinuxError;
use crate::sys::mmap::ReadOnlyMapping;

/// A regular file mapped read-only (`PROT_READ`, `MAP_PRIVATE`) in full, unmapped when
/// dropped. An empty file has no mapping and derefs to an empty slice.
///
/// The file descriptor is kept open for the life of the value (see [`MappedFile::fd`]).
///
/// # Caveat: the file can change under the mapping
///
/// A mapping shows the file's current pages, not a snapshot: `MAP_PRIVATE` only keeps
/// *this* process's writes private, and this mapping is never written. So if another
/// process modifies the file while it is mapped, the bytes seen here may change, even
/// in the middle of being read. Worse, if the file is **truncated** while mapped, any
/// access to a page past the new end raises **`SIGBUS`**, which kills the process (Rust
/// cannot turn it into an error). The size is taken once, when the file is opened:
/// growth afterwards is not seen.
///
/// Map files that nothing else rewrites or truncates while the pipeline runs (recorded
/// media, test vectors). For files that are being written, read them with copies instead.
pub struct MappedFile {
    fd: OwnedFd,
    mapping: Option<ReadOnlyMapping>,
}

impl fmt::Debug for MappedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MappedFile")
            .field("fd", &self.fd.as_raw_fd())
            .field("len", &self.len())
            .finish()
    }
}

fn file_kind(ty: FileType) -> &'static str {
    match ty {
        FileType::Directory => "a directory",
        FileType::Fifo => "a FIFO (named pipe)",
        FileType::Socket => "a socket",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        FileType::Symlink => "a symbolic link",
        _ => "not a regular file",
    }
}

impl MappedFile {
    /// Opens `path` read-only (`O_RDONLY | O_CLOEXEC`) and maps all of it.
    ///
    /// # Errors
    /// [`LinuxError::Open`] (missing file, permission denied, ...),
    /// [`LinuxError::NotRegularFile`] for directories, pipes and devices, and the errors
    /// of [`from_fd`](Self::from_fd); each names the path.
    pub fn open(path: impl AsRef<Path>) -> Result<MappedFile, LinuxError> {
        let path = path.as_ref();
        let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).map_err(
            |e| LinuxError::Open {
                path: path.to_owned(),
                source: io::Error::from(e),
            },
        )?;
        MappedFile::map_fd(fd, || format!("\"{}\"", path.display()))
    }

    /// Maps all of the regular file open on `fd` (which must be open for reading).
    ///
    /// # Errors
    /// [`LinuxError::Stat`], [`LinuxError::NotRegularFile`], [`LinuxError::TooLarge`] or
    /// [`LinuxError::Map`] (for example `EACCES` when `fd` is write-only).
    pub fn from_fd(fd: OwnedFd) -> Result<MappedFile, LinuxError> {
        let raw = fd.as_raw_fd();
        MappedFile::map_fd(fd, || format!("file descriptor {raw}"))
    }

    fn map_fd(fd: OwnedFd, what: impl Fn() -> String) -> Result<MappedFile, LinuxError> {
        let stat = rustix::fs::fstat(&fd).map_err(|e| LinuxError::Stat {
            what: what(),
            source: io::Error::from(e),
        })?;
        let ty = FileType::from_raw_mode(stat.st_mode);
        if ty != FileType::RegularFile {
            return Err(LinuxError::NotRegularFile {
                what: what(),
                kind: file_kind(ty),
            });
        }
        // st_size is never negative for a regular file; treat it as 0 if it were.
        let size = u64::try_from(stat.st_size).unwrap_or(0);
        let len = usize::try_from(size)
            .ok()
            .filter(|&l| l <= isize::MAX as usize)
            .ok_or_else(|| LinuxError::TooLarge { what: what(), size })?;
        let mapping = if len == 0 {
            None
        } else {
            Some(
                ReadOnlyMapping::map(fd.as_fd(), len).map_err(|source| LinuxError::Map {
                    what: what(),
                    len,
                    source,
                })?,
            )
        };
        Ok(MappedFile { fd, mapping })
    }

    /// Bytes mapped (the file's size when it was opened).
    pub fn len(&self) -> usize {
        self.mapping.as_ref().map_or(0, ReadOnlyMapping::len)
    }

    /// True for an empty file.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The mapped bytes (see the caveat in the [type docs](MappedFile)).
    pub fn as_slice(&self) -> &[u8] {
        self.mapping.as_ref().map_or(&[], ReadOnlyMapping::as_slice)
    }

    /// The file descriptor of the mapped file.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRef<[u8]> for MappedFile {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl std::ops::Deref for MappedFile {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsFd for MappedFile {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn temp(name: &str, contents: &[u8]) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("penstock-mf-{}-{name}", std::process::id()));
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(contents))
            .unwrap();
        path
    }

    #[test]
    fn maps_whole_file() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        let path = temp("whole", &data);
        let m = MappedFile::open(&path).unwrap();
        assert_eq!(m.len(), data.len());
        assert_eq!(m.as_ref(), &data[..]);
        std::fs::remove_file(&path).unwrap();
        // Unlinking does not affect the mapping.
        assert_eq!(&m[..], &data[..]);
    }

    #[test]
    fn empty_file_has_no_mapping() {
        let path = temp("empty", b"");
        let m = MappedFile::open(&path).unwrap();
        assert!(m.is_empty());
        assert_eq!(m.as_ref(), &[] as &[u8]);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn from_fd_maps() {
        let path = temp("fd", b"abc");
        let fd: OwnedFd = std::fs::File::open(&path).unwrap().into();
        let m = MappedFile::from_fd(fd).unwrap();
        assert_eq!(m.as_slice(), b"abc");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn errors_name_the_path_and_cause() {
        let e = MappedFile::open("/nonexistent-penstock/dir/file").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("/nonexistent-penstock/dir/file"), "{text}");
        assert!(text.contains("No such file or directory"), "{text}");
        assert!(matches!(e, LinuxError::Open { .. }));

        let dir = std::env::temp_dir();
        let e = MappedFile::open(&dir).unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
    }

    #[test]
    fn write_only_fd_is_an_error_not_a_panic() {
        let path = temp("wronly", b"xyz");
        let fd: OwnedFd = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .into();
        let e = MappedFile::from_fd(fd).unwrap_err();
        assert!(matches!(e, LinuxError::Map { .. }), "{e}");
        assert!(e.to_string().contains("file descriptor"), "{e}");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn is_send_and_wraps_as_memory() {
        fn send<T: Send + Sync>() {}
        send::<MappedFile>();
        let path = temp("mem", b"0123456789");
        let mem = penstock::Memory::from_owner_readonly(MappedFile::open(&path).unwrap());
        let sub = mem.share(2, 3).unwrap();
        assert_eq!(&*sub.map_read().unwrap(), b"234");
        assert!(mem.map_write().is_err());
        std::fs::remove_file(&path).unwrap();
    }
}
