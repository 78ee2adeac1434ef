//! Standard output for the elements that print (`checksumsink`, `fdsink fd=1`), as a
//! Unix tool uses it: when the reader closes it (`penstock launch ... | head -1`) the
//! element ends its stream quietly with EOS and [`is_closed`] tells the application, so
//! that it stops without a word; any other failure (`> /dev/full`) is an error that
//! says what happened. Never a panic, never a busy loop writing into nothing.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use penstock::bus::MessageKind;
use penstock::element::Element;
use penstock::flow::FlowError;

static CLOSED: AtomicBool = AtomicBool::new(false);

/// True once an element found standard output closed by its reader (`EPIPE`).
pub fn is_closed() -> bool {
    CLOSED.load(Ordering::Acquire)
}

/// Writes `line` and a newline to stdout (line-buffered: one write per line on a pipe).
///
/// # Errors
/// The OS error of the write.
pub fn write_line(line: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(line.as_bytes())?;
    out.write_all(b"\n")
}

/// Flushes stdout.
///
/// # Errors
/// The OS error of the write.
pub fn flush() -> io::Result<()> {
    io::stdout().lock().flush()
}

/// A write to a pipe failed with `EPIPE`: its reader is gone, which ends `element`'s
/// stream quietly, as `SIGPIPE` ends a Unix tool's output (EOS posted,
/// [`FlowError::Eos`] returned upstream). When the pipe is standard output,
/// [`is_closed`] then tells the application.
pub fn reader_gone(element: &Element, is_stdout: bool) -> FlowError {
    if is_stdout {
        CLOSED.store(true, Ordering::Release);
    }
    element.post(MessageKind::Eos);
    FlowError::Eos
}

/// What a failed write to stdout means for `element`'s stream: a closed stdout ends it
/// quietly (EOS posted, [`is_closed`] set, [`FlowError::Eos`] returned upstream);
/// anything else posts an error naming stdout and the cause.
pub fn failed(element: &Element, e: &io::Error) -> FlowError {
    if e.kind() == io::ErrorKind::BrokenPipe {
        return reader_gone(element, true);
    }
    let message = if e.kind() == io::ErrorKind::StorageFull {
        format!("Could not write to standard output: no space left on the device ({e})")
    } else {
        format!("Could not write to standard output: {e}")
    };
    element.post_error(&message, Some(format!("system error: {e}")));
    FlowError::Error
}
