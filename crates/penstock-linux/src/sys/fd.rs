//! File descriptors the process inherited by number (`fdsrc fd=3`, a shell's `3<file`).
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd, RawFd};

/// A duplicate (`F_DUPFD_CLOEXEC`) of descriptor `number` of this process, which the
/// caller then owns: the one place where a number given by the user becomes a
/// descriptor.
///
/// # Errors
/// `EBADF` when `number` is negative or not open, `EMFILE` when the process has too many
/// open files.
pub fn dup_inherited(number: RawFd) -> io::Result<OwnedFd> {
    if number < 0 {
        return Err(io::Error::from_raw_os_error(
            rustix::io::Errno::BADF.raw_os_error(),
        ));
    }
    // SAFETY: `BorrowedFd::borrow_raw` needs `number` to stay open for the borrow's
    // lifetime. The borrow lives only for this one `fcntl` call, which reads nothing
    // through it but the descriptor table: if `number` is not open the call fails with
    // EBADF (no memory is touched), and if another thread closes it meanwhile the kernel
    // serialises the two (the dup either happens before the close or fails). Nothing
    // is closed or owned through the borrow; the result is a new descriptor.
    let fd = unsafe { BorrowedFd::borrow_raw(number) };
    rustix::io::fcntl_dupfd_cloexec(fd, 0).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn duplicates_an_open_descriptor_and_refuses_others() {
        let file = std::fs::File::open("/proc/self/status").unwrap();
        let dup = dup_inherited(file.as_raw_fd()).unwrap();
        assert_ne!(dup.as_raw_fd(), file.as_raw_fd());
        assert_eq!(
            dup_inherited(-1).unwrap_err().raw_os_error(),
            Some(rustix::io::Errno::BADF.raw_os_error())
        );
        assert_eq!(
            dup_inherited(1_000_000).unwrap_err().raw_os_error(),
            Some(rustix::io::Errno::BADF.raw_os_error())
        );
    }
}
