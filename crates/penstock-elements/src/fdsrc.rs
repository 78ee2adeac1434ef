//! `fdsrc`: reads a file descriptor as a stream (GStreamer's fdsrc): by default the
//! process's standard input, so `cat frames.raw | penstock launch fdsrc ! ...` works.
//!
//! The descriptor is duplicated at start (the element owns its duplicate; the
//! number given stays the caller's). Each buffer is what one `read(2)` returned, at
//! most `blocksize` bytes, after waiting in `poll(2)` for data: the wait is
//! interrupted when the pipeline stops (Ctrl-C), however long the writer is silent.
//! The stream ends when the writer closes its end (end of file).

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
use penstock_linux::{Ready, StreamFd};

/// GStreamer's default block size.
const DEFAULT_BLOCKSIZE: u64 = 4096;

/// The factory.
pub fn factory() -> ElementFactory {
    ElementFactory {
        name: "fdsrc",
        long_name: "Filedescriptor Source",
        klass: "Source/File",
        description: "Read from a file descriptor",
        properties: PROPERTIES.specs(),
        pad_templates: vec![PadTemplate::always_src(Caps::new_any())],
        create: || Box::new(BaseSrc::new(FdSrc::default())),
    }
}

#[derive(Debug, Clone, Copy)]
struct Settings {
    fd: i32,
    blocksize: u64,
    num_buffers: i64,
}

#[derive(Default)]
struct Reading {
    position: u64,
    produced: u64,
}

static PROPERTIES: LazyLock<PropertyTable<FdSrc>> = LazyLock::new(|| {
    PropertyTable::<FdSrc>::new()
        .add(
            PropertySpec::int(
                "fd",
                "An open file descriptor to read from",
                0..=i64::from(i32::MAX),
                0,
            ),
            |s| i64::from(s.settings.lock_ignore_poison().fd),
            // The property's range keeps it within i32.
            |s, v| s.settings.lock_ignore_poison().fd = i32::try_from(v).unwrap_or(i32::MAX),
        )
        .only_when_stopped()
        .add(
            PropertySpec::uint(
                "blocksize",
                "Size in bytes to read per buffer at most",
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
pub struct FdSrc {
    settings: Mutex<Settings>,
    reading: Mutex<Reading>,
    /// The duplicate being read (outside `reading`, so that `unlock` can interrupt a
    /// wait).
    stream: Mutex<Option<Arc<StreamFd>>>,
}

impl Default for FdSrc {
    fn default() -> Self {
        FdSrc {
            settings: Mutex::new(Settings {
                fd: 0,
                blocksize: DEFAULT_BLOCKSIZE,
                num_buffers: -1,
            }),
            reading: Mutex::new(Reading::default()),
            stream: Mutex::new(None),
        }
    }
}

impl FdSrc {
    fn settings(&self) -> Settings {
        *self.settings.lock_ignore_poison()
    }

    fn stream(&self) -> Option<Arc<StreamFd>> {
        self.stream.lock_ignore_poison().clone()
    }
}

impl PushSource for FdSrc {
    fn start(&self, _element: &Element) -> Result<(), ElementError> {
        let s = self.settings();
        let what = format!("file descriptor {}", s.fd);
        let fd = penstock_linux::dup_inherited(s.fd).map_err(|e| {
            ElementError::new(format!("Could not read from {what}: it is not open ({e})"))
                .with_debug(format!("system error: {e}"))
        })?;
        let stream = StreamFd::new(fd, what.clone())
            .map_err(|e| ElementError::new(format!("Could not read from {what}: {e}")))?;
        *self.stream.lock_ignore_poison() = Some(Arc::new(stream));
        *self.reading.lock_ignore_poison() = Reading::default();
        Ok(())
    }

    fn stop(&self, _element: &Element) {
        *self.stream.lock_ignore_poison() = None;
    }

    fn unlock(&self, _element: &Element) {
        if let Some(s) = self.stream() {
            s.interrupt();
        }
    }

    fn unlock_stop(&self, _element: &Element) {
        if let Some(s) = self.stream() {
            s.clear();
        }
    }

    fn segment_format(&self) -> Format {
        Format::Bytes
    }

    fn create(&self, element: &Element) -> Result<Buffer, FlowError> {
        let s = self.settings();
        let stream = self.stream().ok_or(FlowError::Flushing)?;
        let mut r = self.reading.lock_ignore_poison();
        if s.num_buffers >= 0 && r.produced >= s.num_buffers as u64 {
            return Err(FlowError::Eos);
        }
        // The property's range keeps it within u32.
        let mut data = vec![0u8; usize::try_from(s.blocksize).unwrap_or(usize::MAX).max(1)];
        let n = match stream.read(&mut data) {
            Ok(Ready::Interrupted) => return Err(FlowError::Flushing),
            Ok(Ready::Done(0)) => return Err(FlowError::Eos),
            Ok(Ready::Done(n)) => n,
            Err(e) => {
                element.post_error(
                    &format!("Could not read from {}: {e}", stream.what()),
                    Some(format!("system error: {e}")),
                );
                return Err(FlowError::Error);
            }
        };
        data.truncate(n);
        let mut buffer = BufferMut::from_memory(Memory::from_owner_readonly(data));
        buffer.set_offset(Some(r.position));
        buffer.set_offset_end(Some(r.position + n as u64));
        if r.produced == 0 {
            buffer.insert_flags(BufferFlags::DISCONT);
        }
        r.position += n as u64;
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
