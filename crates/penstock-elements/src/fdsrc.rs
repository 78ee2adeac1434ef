//! `fdsrc`: reads a file descriptor as a stream (GStreamer's fdsrc): by default the
//! process's standard input, so `cat frames.raw | penstock launch fdsrc ! ...` works.
//!
//! The descriptor is duplicated at start (the element owns its duplicate; the
//! number given stays the caller's). Each buffer is what one `read(2)` returned, at
//! most `blocksize` bytes, after waiting in `poll(2)` for data: the wait is
//! interrupted when the pipeline stops (Ctrl-C), however long the writer is silent.
//! The stream ends when the writer closes its end (end of file).

use std::sync::{Arc, Mutex};

use penstock::basesrc::{BaseSrc, PushSource};
use penstock::buffer::{Buffer, BufferFlags, BufferMut};
use penstock::caps::Caps;
use penstock::element::{
    Element, ElementError, ElementFactory, PropType, PropValue, PropertyError, PropertySpec, State,
};
use penstock::event::Format;
use penstock::flow::FlowError;
use penstock::memory::Memory;
use penstock::pad::{PadDirection, PadPresence, PadTemplate};
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
        properties: vec![
            PropertySpec::new(
                "fd",
                "An open file descriptor to read from",
                PropType::Int {
                    min: 0,
                    max: i64::from(i32::MAX),
                },
                PropValue::Int(0),
            ),
            PropertySpec::new(
                "blocksize",
                "Size in bytes to read per buffer at most",
                PropType::UInt {
                    min: 1,
                    max: u64::from(u32::MAX),
                },
                PropValue::UInt(DEFAULT_BLOCKSIZE),
            ),
            crate::num_buffers_property(
                "Number of buffers to output before sending EOS (-1 = unlimited)",
            ),
        ],
        pad_templates: vec![PadTemplate::new(
            "src",
            PadDirection::Src,
            PadPresence::Always,
            Caps::new_any(),
        )],
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
        *self.settings.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stream(&self) -> Option<Arc<StreamFd>> {
        self.stream
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl PushSource for FdSrc {
    fn start(&self, _element: &Element) -> Result<(), ElementError> {
        let s = self.settings();
        let what = format!("file descriptor {}", s.fd);
        let fd = penstock_linux::dup_inherited(s.fd).map_err(|e| ElementError {
            message: format!("Could not read from {what}: it is not open ({e})"),
            debug: Some(format!("system error: {e}")),
        })?;
        let stream = StreamFd::new(fd, what.clone()).map_err(|e| ElementError {
            message: format!("Could not read from {what}: {e}"),
            debug: None,
        })?;
        *self.stream.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(stream));
        *self.reading.lock().unwrap_or_else(|p| p.into_inner()) = Reading::default();
        Ok(())
    }

    fn stop(&self, _element: &Element) {
        *self.stream.lock().unwrap_or_else(|p| p.into_inner()) = None;
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
        let mut r = self.reading.lock().unwrap_or_else(|p| p.into_inner());
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
        let mut s = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        match (name, value) {
            ("fd", PropValue::Int(v)) => {
                let state = element.state();
                if state >= State::Paused {
                    return Err(PropertyError::WrongState {
                        element: element.path(),
                        name: name.to_owned(),
                        state,
                    });
                }
                // The property's range keeps it within i32.
                s.fd = i32::try_from(v).unwrap_or(i32::MAX);
            }
            ("blocksize", PropValue::UInt(v)) => s.blocksize = v,
            ("num-buffers", PropValue::Int(v)) => s.num_buffers = v,
            (_, value) => return Err(PropertyError::not_writable(element, name, &value)),
        }
        Ok(())
    }

    fn property(&self, _element: &Element, name: &str) -> Option<PropValue> {
        let s = self.settings();
        Some(match name {
            "fd" => PropValue::Int(i64::from(s.fd)),
            "blocksize" => PropValue::UInt(s.blocksize),
            "num-buffers" => PropValue::Int(s.num_buffers),
            _ => return None,
        })
    }
}
