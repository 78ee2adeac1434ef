//! `fdsink`: writes every buffer to a file descriptor (GStreamer's fdsink): by default
//! the process's standard output, so `penstock launch ... ! fdsink | consumer` works.
//!
//! The descriptor is duplicated when the element goes to PAUSED. Each memory of a
//! buffer is written straight from its mapping (no staging copy); every write first
//! waits in `poll(2)`, interruptibly, so a reader that stops reading cannot keep the
//! pipeline from stopping on Ctrl-C. When the reader of the pipe goes away
//! (`| head -c 100`) the stream ends quietly, as a Unix tool's does; a full device and
//! any other failure are errors naming the descriptor.

use std::io;

use std::sync::{Arc, LazyLock, Mutex};

use penstock::buffer::Buffer;
use penstock::bus::MessageKind;
use penstock::caps::Caps;
use penstock::element::{
    Element, ElementError, ElementFactory, ElementImpl, PropValue, PropertyError, PropertySpec,
    StateChange,
};
use penstock::event::Event;
use penstock::flow::{FlowError, FlowResult};
use penstock::pad::{Pad, PadTemplate};
use penstock::property::PropertyTable;
use penstock::sync::MutexExt;
use penstock_linux::{Ready, StreamFd};

/// The factory.
pub fn factory() -> ElementFactory {
    ElementFactory {
        name: "fdsink",
        long_name: "Filedescriptor Sink",
        klass: "Sink/File",
        description: "Write data to a file descriptor",
        properties: PROPERTIES.specs(),
        pad_templates: vec![PadTemplate::always_sink(Caps::new_any())],
        create: || Box::new(FdSink::default()),
    }
}

#[derive(Debug, Clone, Copy)]
struct Settings {
    fd: i32,
    sync: bool,
}

static PROPERTIES: LazyLock<PropertyTable<FdSink>> = LazyLock::new(|| {
    PropertyTable::<FdSink>::new()
        .add(
            PropertySpec::int(
                "fd",
                "An open file descriptor to write to",
                0..=i64::from(i32::MAX),
                1,
            ),
            |s| i64::from(s.settings.lock_ignore_poison().fd),
            // The property's range keeps it within i32.
            |s, v| s.settings.lock_ignore_poison().fd = i32::try_from(v).unwrap_or(i32::MAX),
        )
        .only_when_stopped()
        .add(
            PropertySpec::bool(
                "sync",
                "Sync on the clock (accepted; penstock sinks never sync yet)",
                false,
            ),
            |s| s.settings.lock_ignore_poison().sync,
            |s, v| s.settings.lock_ignore_poison().sync = v,
        )
});

/// The sink.
pub struct FdSink {
    settings: Mutex<Settings>,
    stream: Mutex<Option<Arc<StreamFd>>>,
}

impl Default for FdSink {
    fn default() -> Self {
        FdSink {
            settings: Mutex::new(Settings { fd: 1, sync: false }),
            stream: Mutex::new(None),
        }
    }
}

impl FdSink {
    fn stream(&self) -> Option<Arc<StreamFd>> {
        self.stream.lock_ignore_poison().clone()
    }

    fn open(&self) -> Result<(), ElementError> {
        let fd = self.settings.lock_ignore_poison().fd;
        let what = format!("file descriptor {fd}");
        let dup = penstock_linux::dup_inherited(fd).map_err(|e| {
            ElementError::new(format!("Could not write to {what}: it is not open ({e})"))
                .with_debug(format!("system error: {e}"))
        })?;
        let stream = StreamFd::new(dup, what.clone())
            .map_err(|e| ElementError::new(format!("Could not write to {what}: {e}")))?;
        *self.stream.lock_ignore_poison() = Some(Arc::new(stream));
        Ok(())
    }

    /// What a failed write means: the end of stdout's reader is a quiet end; the rest
    /// are errors naming the descriptor.
    fn failed(&self, element: &Element, stream: &StreamFd, e: &io::Error) -> FlowError {
        let fd = self.settings.lock_ignore_poison().fd;
        if e.kind() == io::ErrorKind::BrokenPipe {
            return crate::stdout::reader_gone(element, fd == 1);
        }
        let message = if e.kind() == io::ErrorKind::StorageFull {
            format!(
                "Error while writing to {}: No space left on the resource ({e}).",
                stream.what()
            )
        } else {
            format!("Error while writing to {}: {e}", stream.what())
        };
        element.post_error(&message, Some(format!("system error: {e}")));
        FlowError::Error
    }
}

impl ElementImpl for FdSink {
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

    fn change_state(&self, _element: &Element, change: StateChange) -> Result<(), ElementError> {
        match change {
            StateChange::ReadyToPaused => self.open(),
            // Streaming (re)starts: a stop's interrupt must not end the next write.
            StateChange::PausedToPlaying => {
                if let Some(s) = self.stream() {
                    s.clear();
                }
                Ok(())
            }
            StateChange::PausedToReady => {
                self.stream.lock_ignore_poison().take();
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn unlock(&self, _element: &Element) {
        if let Some(s) = self.stream() {
            s.interrupt();
        }
    }

    fn chain(&self, element: &Element, _pad: &Pad, buffer: Buffer) -> FlowResult {
        // Not open: the element is shutting down.
        let stream = self.stream().ok_or(FlowError::Flushing)?;
        for memory in buffer.memories() {
            let map = memory.map_read().map_err(|e| {
                element.post_error(
                    &format!(
                        "Error while writing to {}: a memory of the buffer cannot be read: {e}",
                        stream.what()
                    ),
                    None,
                );
                FlowError::Error
            })?;
            match stream.write_all(&map) {
                Ok(Ready::Done(_)) => {}
                Ok(Ready::Interrupted) => return Err(FlowError::Flushing),
                Err(e) => return Err(self.failed(element, &stream, &e)),
            }
        }
        Ok(())
    }

    fn sink_event(&self, element: &Element, _pad: &Pad, event: Event) -> bool {
        if event == Event::Eos {
            element.post(MessageKind::Eos);
        }
        true
    }
}
