//! `filesrc`: reads a file, a FIFO or a device.
//!
//! ```text
//!   regular file ──pread(2), ≤ 32 MiB at a time─▶ Memory (ours) ──share(blocksize)─▶ buffers
//!   sealed memfd ──mmap (once)─────────────────▶ Memory (the mapping) ──share──────▶ buffers
//!   FIFO, device ──poll(2) + read(2)───────────▶ a memory per block ────────────────▶ buffers
//! ```
//!
//! A regular file is **read**, not mapped: a file truncated under a mapping raises
//! `SIGBUS` on the next access to a lost page, which no check can prevent (the file
//! can shrink between the check and the access). Reads go into chunks of up to 32 MiB
//! (a whole number of blocks; the whole file when smaller) that the buffers are windows
//! of, so that a parser downstream gets adjacent windows of one memory and merges them
//! without copying (a frame straddling two chunks is two memories). A
//! file that ends before the size it had at the start (truncated while read) ends the
//! stream with an error naming the file; one that grows is read to its new end.
//!
//! Only a memfd sealed against shrinking (`F_SEAL_SHRINK`, e.g. `location=/proc/PID/fd/N`
//! of a sealed memfd), which cannot be truncated, is mapped: its buffers are windows of
//! the mapping, zero copies.
//!
//! FIFOs, character devices and sockets are streamed: opened without blocking (a
//! FIFO with no writer yet does not hang the state change), then read block by block as
//! data comes, each wait in `poll(2)` interruptible (Ctrl-C stops the pipeline at
//! once). A FIFO's stream ends when its last writer closes it.
//!
//! Buffers carry their byte offsets (`offset`/`offset_end`) and the segment is in bytes.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, LazyLock, Mutex};

use penstock::basesrc::{BaseSrc, PushSource};
use penstock::buffer::{Buffer, BufferFlags, BufferMut};
use penstock::caps::Caps;
use penstock::element::{
    Element, ElementError, ElementFactory, PropValue, PropertyError, PropertySpec,
};
use penstock::event::Format;
use penstock::flow::FlowError;
use penstock::memory::Memory;
use penstock::pad::PadTemplate;
use penstock::property::PropertyTable;
use penstock::sync::MutexExt;
use penstock_linux::{LinuxError, MappedFile, Ready, StreamFd};
use rustix::fs::{FileType, Mode, OFlags, SealFlags};

/// GStreamer's default block size.
const DEFAULT_BLOCKSIZE: u64 = 4096;

/// Bytes read from a regular file at once at most (rounded to whole blocks; less for a
/// smaller file). Large, so that frames cut from the stream downstream rarely straddle
/// two chunks (a frame that does is two memories, which a consumer that maps frames
/// whole has to copy); a file up to this size is one chunk, as it was one mapping.
const CHUNK: usize = 32 << 20;

/// The factory.
pub fn factory() -> ElementFactory {
    ElementFactory {
        name: "filesrc",
        long_name: "File Source",
        klass: "Source/File",
        description: "Read from arbitrary point in a file (read in chunks that buffers \
                      are windows of; FIFOs and devices streamed; sealed memfds mapped)",
        properties: PROPERTIES.specs(),
        pad_templates: vec![PadTemplate::always_src(Caps::new_any())],
        create: || Box::new(BaseSrc::new(FileSrc::default())),
    }
}

#[derive(Debug, Clone)]
struct Settings {
    location: String,
    blocksize: u64,
    num_buffers: i64,
}

/// How the open file is read.
enum Source {
    /// Nothing open (before start, after stop).
    None,
    /// A sealed memfd, mapped whole (`None` when empty).
    Mapped(Option<Memory>),
    /// A regular file, read in chunks.
    Read {
        file: File,
        /// Its size at start: ending before it means it was truncated.
        size_at_start: u64,
        /// The chunk being handed out and where it starts in the file.
        chunk: Option<(Memory, usize)>,
    },
    /// A FIFO, device or socket (also held in `FileSrc::stream`, to interrupt).
    Stream(Arc<StreamFd>),
}

struct Reading {
    source: Source,
    /// Next byte to hand out.
    position: usize,
    /// Buffers handed out since start.
    produced: u64,
    /// Copied from the settings at start.
    blocksize: usize,
    num_buffers: i64,
    location: String,
}

impl Default for Reading {
    fn default() -> Self {
        Reading {
            source: Source::None,
            position: 0,
            produced: 0,
            blocksize: DEFAULT_BLOCKSIZE as usize,
            num_buffers: -1,
            location: String::new(),
        }
    }
}

static PROPERTIES: LazyLock<PropertyTable<FileSrc>> = LazyLock::new(|| {
    PropertyTable::<FileSrc>::new()
        .add(
            PropertySpec::string("location", "Location of the file to read", ""),
            |s| s.settings.lock_ignore_poison().location.clone(),
            |s, v| s.settings.lock_ignore_poison().location = v,
        )
        .only_when_stopped()
        .add(
            PropertySpec::uint(
                "blocksize",
                "Size in bytes to read per buffer (0 is refused: it would never reach the end)",
                1..=u64::from(u32::MAX),
                DEFAULT_BLOCKSIZE,
            ),
            |s| s.settings.lock_ignore_poison().blocksize,
            |s, v| s.settings.lock_ignore_poison().blocksize = v,
        )
        .add(
            crate::num_buffers_property(
                "Number of buffers to output before sending EOS (-1 = unlimited)",
            ),
            |s| s.settings.lock_ignore_poison().num_buffers,
            |s, v| s.settings.lock_ignore_poison().num_buffers = v,
        )
});

/// The source.
pub struct FileSrc {
    settings: Mutex<Settings>,
    reading: Mutex<Reading>,
    /// The stream being read, so that `unlock` can interrupt a wait without the lock
    /// `create` holds.
    stream: Mutex<Option<Arc<StreamFd>>>,
}

impl Default for FileSrc {
    fn default() -> Self {
        FileSrc {
            settings: Mutex::new(Settings {
                location: String::new(),
                blocksize: DEFAULT_BLOCKSIZE,
                num_buffers: -1,
            }),
            reading: Mutex::new(Reading::default()),
            stream: Mutex::new(None),
        }
    }
}

impl FileSrc {
    fn settings(&self) -> Settings {
        self.settings.lock_ignore_poison().clone()
    }
}

/// The error GStreamer's filesrc posts for `err`, with the OS error in the message (a
/// failed start is reported through the state change, which shows only the message).
fn open_error(location: &str, err: &LinuxError) -> ElementError {
    let message = match err {
        LinuxError::Open { source, .. } => {
            format!("Could not open file \"{location}\" for reading: {source}")
        }
        LinuxError::NotRegularFile {
            kind: "a directory",
            ..
        } => format!("\"{location}\" is a directory."),
        other => format!("Could not open file \"{location}\" for reading: {other}"),
    };
    ElementError::new(message).with_debug(match err.os_error() {
        Some(os) => format!("system error: {os}"),
        None => err.to_string(),
    })
}

/// Opens `location` without blocking (`O_NONBLOCK`: a FIFO without a writer must not
/// hang the state change) and decides how to read it.
fn open_source(location: &str) -> Result<Source, LinuxError> {
    let fd: OwnedFd = rustix::fs::open(
        location,
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK,
        Mode::empty(),
    )
    .map_err(|e| LinuxError::Open {
        path: location.into(),
        source: e.into(),
    })?;
    let what = format!("\"{location}\"");
    let stat = rustix::fs::fstat(&fd).map_err(|e| LinuxError::Stat {
        what: what.clone(),
        source: e.into(),
    })?;
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::Directory => Err(LinuxError::NotRegularFile {
            what,
            kind: "a directory",
        }),
        FileType::RegularFile => {
            // Only a file that cannot shrink may be mapped (see the module docs).
            let sealed =
                rustix::fs::fcntl_get_seals(&fd).is_ok_and(|s| s.contains(SealFlags::SHRINK));
            if sealed {
                let mapped = MappedFile::from_fd(fd)?;
                let memory = (!mapped.is_empty()).then(|| Memory::from_owner_readonly(mapped));
                return Ok(Source::Mapped(memory));
            }
            // Back to blocking reads (O_NONBLOCK means nothing to a regular file, but
            // leave no surprise for later users of the descriptor).
            let _ = rustix::fs::fcntl_setfl(&fd, OFlags::empty());
            Ok(Source::Read {
                file: File::from(fd),
                size_at_start: u64::try_from(stat.st_size).unwrap_or(0),
                chunk: None,
            })
        }
        // FIFOs, character and block devices, sockets: as a stream.
        _ => Ok(Source::Stream(Arc::new(StreamFd::new(fd, what)?))),
    }
}

/// Reads as much of `buf` as the file has from `offset` (short only at its end).
fn read_full(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

impl Reading {
    /// The next block of a regular file (reading the next chunk when needed).
    fn next_read(&mut self, element: &Element) -> Result<Memory, FlowError> {
        let position = self.position;
        let blocksize = self.blocksize;
        let location = self.location.clone();
        let Source::Read {
            file,
            size_at_start,
            chunk,
        } = &mut self.source
        else {
            return Err(FlowError::Error);
        };
        let in_chunk = chunk
            .as_ref()
            .filter(|(m, start)| position < start + m.size());
        if in_chunk.is_none() {
            // The rest of the file as it was at start, plus a block to see its end (or
            // growth), in whole blocks, at most CHUNK.
            let rest = usize::try_from(size_at_start.saturating_sub(position as u64))
                .unwrap_or(usize::MAX)
                .saturating_add(1)
                .min(CHUNK);
            let len = rest.div_ceil(blocksize).max(1) * blocksize;
            let mut data = vec![0u8; len];
            let n = read_full(file, &mut data, position as u64).map_err(|e| {
                element.post_error(
                    &format!("Could not read from file \"{location}\": {e}"),
                    Some(format!("at byte {position}; system error: {e}")),
                );
                FlowError::Error
            })?;
            if n == 0 {
                if (position as u64) < *size_at_start {
                    element.post_error(
                        &format!(
                            "File \"{location}\" was truncated while being read: it ends at \
                             byte {position}, but had {size_at_start} bytes when opened"
                        ),
                        None,
                    );
                    return Err(FlowError::Error);
                }
                return Err(FlowError::Eos);
            }
            data.truncate(n);
            *chunk = Some((Memory::from_owner_readonly(data), position));
        }
        let Some((memory, start)) = chunk.as_ref() else {
            return Err(FlowError::Error);
        };
        let offset = position - start;
        let len = blocksize.min(memory.size() - offset);
        memory.share(offset, len).map_err(|e| {
            element.post_error(
                &format!("Could not read from file \"{location}\" at byte {position}: {e}"),
                None,
            );
            FlowError::Error
        })
    }
}

impl PushSource for FileSrc {
    fn start(&self, element: &Element) -> Result<(), ElementError> {
        let s = self.settings();
        if s.location.is_empty() {
            return Err(
                ElementError::new("No file name specified for reading.").with_debug(format!(
                    "set the location property of {} to the file to read",
                    element.path()
                )),
            );
        }
        let source = open_source(&s.location).map_err(|e| open_error(&s.location, &e))?;
        *self.stream.lock_ignore_poison() = match &source {
            Source::Stream(stream) => Some(Arc::clone(stream)),
            _ => None,
        };
        *self.reading.lock_ignore_poison() = Reading {
            source,
            position: 0,
            produced: 0,
            // The property's range keeps it within u32.
            blocksize: usize::try_from(s.blocksize).unwrap_or(usize::MAX).max(1),
            num_buffers: s.num_buffers,
            location: s.location,
        };
        Ok(())
    }

    fn stop(&self, _element: &Element) {
        // Buffers still alive downstream keep their chunk or the mapping; this drops
        // our handles.
        *self.stream.lock_ignore_poison() = None;
        *self.reading.lock_ignore_poison() = Reading::default();
    }

    fn unlock(&self, _element: &Element) {
        if let Some(stream) = &*self.stream.lock_ignore_poison() {
            stream.interrupt();
        }
    }

    fn unlock_stop(&self, _element: &Element) {
        if let Some(stream) = &*self.stream.lock_ignore_poison() {
            stream.clear();
        }
    }

    fn segment_format(&self) -> Format {
        Format::Bytes
    }

    fn create(&self, element: &Element) -> Result<Buffer, FlowError> {
        let mut r = self.reading.lock_ignore_poison();
        if r.num_buffers >= 0 && r.produced >= r.num_buffers as u64 {
            return Err(FlowError::Eos);
        }
        let position = r.position;
        let memory = match &r.source {
            Source::None => return Err(FlowError::Flushing),
            Source::Mapped(file) => {
                let len = r
                    .blocksize
                    .min(file.as_ref().map_or(0, Memory::size) - position);
                let Some(file) = file.as_ref().filter(|_| len > 0) else {
                    return Err(FlowError::Eos);
                };
                file.share(position, len).map_err(|e| {
                    element.post_error(
                        &format!(
                            "Could not read from the mapping of file \"{}\" at byte \
                             {position}: {e}",
                            r.location
                        ),
                        None,
                    );
                    FlowError::Error
                })?
            }
            Source::Read { .. } => r.next_read(element)?,
            Source::Stream(stream) => {
                let mut data = vec![0u8; r.blocksize];
                match stream.read(&mut data) {
                    Ok(Ready::Interrupted) => return Err(FlowError::Flushing),
                    Ok(Ready::Done(0)) => return Err(FlowError::Eos),
                    Ok(Ready::Done(n)) => data.truncate(n),
                    Err(e) => {
                        element.post_error(
                            &format!("Could not read from file \"{}\": {e}", r.location),
                            Some(format!("system error: {e}")),
                        );
                        return Err(FlowError::Error);
                    }
                }
                Memory::from_owner_readonly(data)
            }
        };
        let len = memory.size();
        let mut buffer = BufferMut::from_memory(memory);
        buffer.set_offset(Some(position as u64));
        buffer.set_offset_end(Some((position + len) as u64));
        if r.produced == 0 {
            buffer.insert_flags(BufferFlags::DISCONT);
        }
        r.position += len;
        r.produced += 1;
        Ok(buffer.freeze())
    }

    fn set_property(
        &self,
        element: &Element,
        name: &str,
        value: PropValue,
    ) -> Result<(), PropertyError> {
        PROPERTIES.set(self, element, name, value)
    }

    fn property(&self, _element: &Element, name: &str) -> Option<PropValue> {
        PROPERTIES.get(self, name)
    }
}
