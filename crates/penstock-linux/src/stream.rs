//! [`StreamFd`]: reading and writing descriptors that may block for ever — pipes,
//! FIFOs, terminals, character devices, sockets — so that another thread can always
//! interrupt the wait (a pipeline stopping on Ctrl-C).
//!
//! Every read and write first waits in `poll(2)` on the descriptor *and* an eventfd;
//! [`StreamFd::interrupt`] makes the eventfd readable, which ends any wait at once and
//! every later one until [`StreamFd::clear`]. Once `poll` says the descriptor is
//! ready, a read returns what is there without blocking. A write to a pipe or socket
//! in blocking mode could still block if it is larger than the free space, so such
//! writes go in pieces of at most `PIPE_BUF` bytes (a pipe that polls writable has room
//! for that many).
//!
//! ```
//! use std::io::Write;
//! use penstock_linux::{Ready, StreamFd};
//!
//! let (r, w) = rustix::pipe::pipe()?;
//! let reader = StreamFd::new(r, "pipe")?;
//! std::fs::File::from(w).write_all(b"hello")?;
//! let mut buf = [0u8; 16];
//! assert_eq!(reader.read(&mut buf)?, Ready::Done(5));
//! reader.interrupt();
//! assert_eq!(reader.read(&mut buf)?, Ready::Interrupted); // no wait: interrupted
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::event::{EventfdFlags, PollFd, PollFlags};
use rustix::fs::FileType;

use crate::error::LinuxError;

/// Bytes a pipe takes at once when it polls writable (Linux: one free page).
const PIPE_BUF: usize = 4096;

/// The outcome of a read or write that may have been interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ready {
    /// Bytes read or written (0 for a read: end of stream).
    Done(usize),
    /// [`StreamFd::interrupt`] was called: nothing was read or written.
    Interrupted,
}

/// A descriptor read or written through `poll(2)` with an interrupt (see the
/// [module docs](self)).
#[derive(Debug)]
pub struct StreamFd {
    fd: OwnedFd,
    wake: OwnedFd,
    /// Pieces of at most `PIPE_BUF` bytes per write (pipes, sockets, in blocking mode).
    small_writes: bool,
    what: String,
}

impl StreamFd {
    /// Wraps `fd`; `what` names it in errors (`"/tmp/fifo"`, `file descriptor 0`).
    ///
    /// # Errors
    /// [`LinuxError::Syscall`] when the eventfd or `fstat` fails.
    pub fn new(fd: OwnedFd, what: impl Into<String>) -> Result<StreamFd, LinuxError> {
        let what = what.into();
        let syscall = |call, e| LinuxError::Syscall {
            call,
            what: what.clone(),
            source: io::Error::from(e),
        };
        let wake = rustix::event::eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)
            .map_err(|e| syscall("eventfd", e))?;
        let stat = rustix::fs::fstat(&fd).map_err(|e| syscall("fstat", e))?;
        let kind = FileType::from_raw_mode(stat.st_mode);
        let nonblocking = rustix::fs::fcntl_getfl(&fd)
            .map_err(|e| syscall("fcntl(F_GETFL)", e))?
            .contains(rustix::fs::OFlags::NONBLOCK);
        Ok(StreamFd {
            fd,
            wake,
            small_writes: !nonblocking && matches!(kind, FileType::Fifo | FileType::Socket),
            what,
        })
    }

    /// What the descriptor is, for messages.
    pub fn what(&self) -> &str {
        &self.what
    }

    /// Ends any wait in [`read`](Self::read) or [`write`](Self::write) now and every
    /// later one, until [`clear`](Self::clear). Callable from any thread.
    pub fn interrupt(&self) {
        // The counter only grows: a full counter (EAGAIN) is already readable.
        let _ = rustix::io::write(&self.wake, &1u64.to_ne_bytes());
    }

    /// Undoes [`interrupt`](Self::interrupt).
    pub fn clear(&self) {
        let mut buf = [0u8; 8];
        // Non-blocking: EAGAIN when it was not interrupted.
        let _ = rustix::io::read(&self.wake, &mut buf);
    }

    /// Waits until the descriptor is ready for `flags` (or hung up, or in error: the
    /// next call then reports it); false when interrupted.
    fn wait(&self, flags: PollFlags) -> io::Result<bool> {
        loop {
            let mut fds = [
                PollFd::new(&self.fd, flags),
                PollFd::new(&self.wake, PollFlags::IN),
            ];
            match rustix::event::poll(&mut fds, None) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
            if !fds[1].revents().is_empty() {
                return Ok(false);
            }
            if !fds[0].revents().is_empty() {
                return Ok(true);
            }
        }
    }

    /// Reads what is available (at most `buf.len()` bytes), waiting for some first.
    /// `Done(0)` is the end of the stream (every writer of a pipe gone).
    ///
    /// # Errors
    /// The OS error of `poll` or `read`.
    pub fn read(&self, buf: &mut [u8]) -> io::Result<Ready> {
        loop {
            if !self.wait(PollFlags::IN)? {
                return Ok(Ready::Interrupted);
            }
            match rustix::io::read(&self.fd, &mut *buf) {
                Ok(n) => return Ok(Ready::Done(n)),
                Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Writes some of `data` (never 0 bytes for a non-empty `data`), waiting until the
    /// descriptor takes some.
    ///
    /// # Errors
    /// The OS error of `poll` or `write` (`EPIPE`: the reader is gone).
    pub fn write(&self, data: &[u8]) -> io::Result<Ready> {
        if data.is_empty() {
            return Ok(Ready::Done(0));
        }
        let piece = if self.small_writes {
            &data[..data.len().min(PIPE_BUF)]
        } else {
            data
        };
        loop {
            if !self.wait(PollFlags::OUT)? {
                return Ok(Ready::Interrupted);
            }
            match rustix::io::write(&self.fd, piece) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the descriptor accepted no more bytes",
                    ));
                }
                Ok(n) => return Ok(Ready::Done(n)),
                Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Writes all of `data`.
    ///
    /// # Errors
    /// As [`write`](Self::write); `Ok(Interrupted)` leaves part of `data` unwritten.
    pub fn write_all(&self, mut data: &[u8]) -> io::Result<Ready> {
        let total = data.len();
        while !data.is_empty() {
            match self.write(data)? {
                Ready::Done(n) => data = &data[n..],
                Ready::Interrupted => return Ok(Ready::Interrupted),
            }
        }
        Ok(Ready::Done(total))
    }
}

impl AsFd for StreamFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io::{Read, Write};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    fn pipe() -> (File, File) {
        let (r, w) = rustix::pipe::pipe().unwrap();
        (File::from(r), File::from(w))
    }

    #[test]
    fn a_blocked_read_is_interrupted_from_another_thread() {
        let (r, _w) = pipe();
        let s = Arc::new(StreamFd::new(r.into(), "pipe").unwrap());
        let s2 = Arc::clone(&s);
        let t = Instant::now();
        let h = std::thread::spawn(move || {
            let mut buf = [0u8; 8];
            s2.read(&mut buf).unwrap()
        });
        std::thread::sleep(Duration::from_millis(50));
        s.interrupt();
        assert_eq!(h.join().unwrap(), Ready::Interrupted);
        assert!(t.elapsed() < Duration::from_secs(5));
        // Cleared, it reads again.
        s.clear();
        let (r, mut w) = pipe();
        let s = StreamFd::new(r.into(), "pipe").unwrap();
        w.write_all(b"x").unwrap();
        drop(w);
        let mut buf = [0u8; 8];
        assert_eq!(s.read(&mut buf).unwrap(), Ready::Done(1));
        assert_eq!(s.read(&mut buf).unwrap(), Ready::Done(0), "end of stream");
    }

    #[test]
    fn a_write_to_a_full_pipe_is_interrupted_and_large_writes_go_through() {
        let (mut r, w) = pipe();
        let s = Arc::new(StreamFd::new(w.into(), "pipe").unwrap());
        // Nobody reads: fill the pipe, then a write blocks until interrupted.
        let s2 = Arc::clone(&s);
        let h = std::thread::spawn(move || s2.write_all(&vec![7u8; 1 << 20]).unwrap());
        std::thread::sleep(Duration::from_millis(100));
        s.interrupt();
        assert_eq!(h.join().unwrap(), Ready::Interrupted);
        s.clear();
        // With a reader, a large write completes.
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            r.read_to_end(&mut all).unwrap();
            all.len()
        });
        assert_eq!(s.write_all(&[1u8; 300_000]).unwrap(), Ready::Done(300_000));
        drop(s);
        assert!(reader.join().unwrap() >= 300_000);
    }

    #[test]
    fn a_closed_reader_is_epipe_not_a_hang() {
        let (r, w) = pipe();
        drop(r);
        let s = StreamFd::new(w.into(), "pipe").unwrap();
        let e = s.write_all(b"data").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
    }
}
