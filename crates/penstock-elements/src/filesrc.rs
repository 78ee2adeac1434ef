//! `filesrc`: reads a file by mapping it once; every buffer is a window of the mapping.
//!
//! ```text
//!   file ──mmap (once, at READY→PAUSED)──▶ Memory (READONLY, the whole file)
//!                                          │ share(offset, blocksize): no copy
//!                                          ▼
//!   buffers: [0..4096) [4096..8192) ...  offset/offset_end in bytes, segment in bytes
//! ```
//!
//! The mapping stays alive as long as any buffer of it does. Only regular files can be
//! mapped; the file is expected not to be truncated or rewritten while it is read (see
//! [`MappedFile`] for why: a truncation under a mapping raises `SIGBUS`).

use std::sync::{LazyLock, Mutex};

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
use penstock_linux::{LinuxError, MappedFile};

/// GStreamer's default block size.
const DEFAULT_BLOCKSIZE: u64 = 4096;

/// The factory.
pub fn factory() -> ElementFactory {
    ElementFactory {
        name: "filesrc",
        long_name: "File Source",
        klass: "Source/File",
        description: "Read from arbitrary point in a file (mapped: buffers share the mapping)",
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

#[derive(Default)]
struct Reading {
    /// The whole file (`None` before start, after stop, and for empty files).
    file: Option<Memory>,
    /// Bytes in the file.
    size: usize,
    /// Next byte to hand out.
    position: usize,
    /// Buffers handed out since start.
    produced: u64,
    /// Copied from the settings at start.
    blocksize: usize,
    num_buffers: i64,
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
        let mapped = MappedFile::open(&s.location).map_err(|e| open_error(&s.location, &e))?;
        let size = mapped.len();
        let file = (size > 0).then(|| Memory::from_owner_readonly(mapped));
        *self.reading.lock_ignore_poison() = Reading {
            file,
            size,
            position: 0,
            produced: 0,
            // The property's range keeps it within u32.
            blocksize: usize::try_from(s.blocksize).unwrap_or(usize::MAX).max(1),
            num_buffers: s.num_buffers,
        };
        Ok(())
    }

    fn stop(&self, _element: &Element) {
        // Buffers still alive downstream keep the mapping; this drops our handle.
        *self.reading.lock_ignore_poison() = Reading::default();
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
        let len = r.blocksize.min(r.size - position);
        let Some(file) = r.file.as_ref().filter(|_| len > 0) else {
            return Err(FlowError::Eos);
        };
        let memory = file.share(position, len).map_err(|e| {
            element.post_error(
                &format!("Could not read from the mapping of file at byte {position}: {e}"),
                None,
            );
            FlowError::Error
        })?;
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
