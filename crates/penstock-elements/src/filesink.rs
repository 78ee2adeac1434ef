//! `filesink`: writes every buffer to a file with vectored writes, straight from the
//! buffer's memories (one `writev(2)` per buffer while the kernel takes it all; no
//! staging copy).

use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Write};
use std::sync::{LazyLock, Mutex};

use penstock::buffer::Buffer;
use penstock::bus::MessageKind;
use penstock::caps::Caps;
use penstock::element::{
    Element, ElementError, ElementFactory, ElementImpl, PropValue, PropertyError, PropertySpec,
    StateChange,
};
use penstock::event::Event;
use penstock::flow::{FlowError, FlowResult};
use penstock::memory::MapRead;
use penstock::pad::{Pad, PadTemplate};
use penstock::property::PropertyTable;
use penstock::sync::MutexExt;

/// The factory.
pub fn factory() -> ElementFactory {
    ElementFactory {
        name: "filesink",
        long_name: "File Sink",
        klass: "Sink/File",
        description: "Write stream to a file",
        properties: PROPERTIES.specs(),
        pad_templates: vec![PadTemplate::always_sink(Caps::new_any())],
        create: || Box::new(FileSink::default()),
    }
}

#[derive(Debug, Clone, Default)]
struct Settings {
    location: String,
    append: bool,
    sync: bool,
}

struct Open {
    file: File,
    location: String,
    /// Bytes written since the file was opened.
    written: u64,
}

static PROPERTIES: LazyLock<PropertyTable<FileSink>> = LazyLock::new(|| {
    PropertyTable::<FileSink>::new()
        .add(
            PropertySpec::string("location", "Location of the file to write", ""),
            |s| s.settings.lock_ignore_poison().location.clone(),
            |s, v| s.settings.lock_ignore_poison().location = v,
        )
        .only_when_stopped()
        .add(
            PropertySpec::bool("append", "Append to an already existing file", false),
            |s| s.settings.lock_ignore_poison().append,
            |s, v| s.settings.lock_ignore_poison().append = v,
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
#[derive(Default)]
pub struct FileSink {
    settings: Mutex<Settings>,
    open: Mutex<Option<Open>>,
}

/// Writes all of `slices`, looping on partial writes and `EINTR`.
fn write_all_vectored<W: Write>(out: &mut W, mut slices: &mut [IoSlice<'_>]) -> io::Result<()> {
    // Empty slices would make a write of 0 bytes look like "cannot write".
    while slices.first().is_some_and(|s| s.is_empty()) {
        slices = &mut slices[1..];
    }
    while !slices.is_empty() {
        match out.write_vectored(slices) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "the file accepted no more bytes",
                ));
            }
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl FileSink {
    fn open_file(&self, element: &Element) -> Result<(), ElementError> {
        let s = self.settings.lock_ignore_poison().clone();
        if s.location.is_empty() {
            return Err(
                ElementError::new("No file name specified for writing.").with_debug(format!(
                    "set the location property of {} to the file to write",
                    element.path()
                )),
            );
        }
        let mut options = OpenOptions::new();
        options.create(true);
        if s.append {
            options.append(true);
        } else {
            options.write(true).truncate(true);
        }
        let file = options.open(&s.location).map_err(|e| {
            ElementError::new(format!(
                "Could not open file \"{}\" for writing: {e}",
                s.location
            ))
            .with_debug(format!("system error: {e}"))
        })?;
        *self.open.lock_ignore_poison() = Some(Open {
            file,
            location: s.location,
            written: 0,
        });
        Ok(())
    }

    fn write_buffer(&self, element: &Element, buffer: &Buffer) -> FlowResult {
        let mut guard = self.open.lock_ignore_poison();
        // Not open: the element is shutting down.
        let open = guard.as_mut().ok_or(FlowError::Flushing)?;
        let maps: Vec<MapRead<'_>> = match buffer.memories().iter().map(|m| m.map_read()).collect()
        {
            Ok(maps) => maps,
            Err(e) => {
                element.post_error(
                    &format!(
                        "Error while writing to file \"{}\": a memory of the buffer cannot be \
                         read: {e}",
                        open.location
                    ),
                    None,
                );
                return Err(FlowError::Error);
            }
        };
        let mut slices: Vec<IoSlice<'_>> = maps.iter().map(|m| IoSlice::new(m)).collect();
        match write_all_vectored(&mut open.file, &mut slices) {
            Ok(()) => {
                open.written += buffer.size() as u64;
                Ok(())
            }
            // The reader of a FIFO or of stdout (`location=/dev/stdout`) went away: the
            // stream ends quietly, as a Unix tool's output does on SIGPIPE.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                let stdout = ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"]
                    .contains(&open.location.as_str());
                Err(crate::stdout::reader_gone(element, stdout))
            }
            Err(e) => {
                let message = if e.kind() == io::ErrorKind::StorageFull {
                    format!(
                        "Error while writing to file \"{}\": No space left on the resource ({e}).",
                        open.location
                    )
                } else {
                    format!("Error while writing to file \"{}\": {e}", open.location)
                };
                element.post_error(
                    &message,
                    Some(format!(
                        "{} bytes were written before the failure",
                        open.written
                    )),
                );
                Err(FlowError::Error)
            }
        }
    }
}

impl ElementImpl for FileSink {
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

    fn change_state(&self, element: &Element, change: StateChange) -> Result<(), ElementError> {
        match change {
            StateChange::ReadyToPaused => self.open_file(element),
            StateChange::PausedToReady => {
                // Closing cannot report errors through std; every byte was handed to the
                // kernel by a successful write.
                self.open.lock_ignore_poison().take();
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn chain(&self, element: &Element, _pad: &Pad, buffer: Buffer) -> FlowResult {
        self.write_buffer(element, &buffer)
    }

    fn sink_event(&self, element: &Element, _pad: &Pad, event: Event) -> bool {
        if event == Event::Eos {
            if let Some(open) = self.open.lock_ignore_poison().as_mut() {
                // Nothing is staged in user space; flush for the day a writer is.
                if let Err(e) = open.file.flush() {
                    element.post_error(
                        &format!("Error while writing to file \"{}\": {e}", open.location),
                        None,
                    );
                    return false;
                }
            }
            element.post(MessageKind::Eos);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes at most 7 bytes per call, sometimes stopping inside a slice.
    struct Trickle(Vec<u8>, usize);

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.1 += 1;
            if self.1 % 5 == 0 {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(7);
            self.0.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| b);
            self.write(first)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn partial_and_interrupted_writes_are_resumed() {
        let parts: Vec<Vec<u8>> = (0..20u8).map(|i| vec![i; usize::from(i) * 3]).collect();
        let mut slices: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
        let mut out = Trickle(Vec::new(), 0);
        write_all_vectored(&mut out, &mut slices).unwrap();
        assert_eq!(out.0, parts.concat());
    }

    #[test]
    fn more_slices_than_iov_max_are_all_written() {
        let path = std::env::temp_dir().join(format!("penstock-filesink-{}", std::process::id()));
        let parts: Vec<[u8; 3]> = (0..5000u32).map(|i| [(i % 251) as u8; 3]).collect();
        let mut slices: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
        let mut file = File::create(&path).unwrap();
        write_all_vectored(&mut file, &mut slices).unwrap();
        drop(file);
        assert_eq!(std::fs::read(&path).unwrap(), parts.concat());
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_writer_that_takes_nothing_is_an_error() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Ok(0)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let data = [1u8; 4];
        let mut slices = [IoSlice::new(&[]), IoSlice::new(&data)];
        let e = write_all_vectored(&mut Full, &mut slices).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WriteZero);
    }
}
