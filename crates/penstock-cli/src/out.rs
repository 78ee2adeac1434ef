//! Output as a Unix tool does it: stdout that a reader closed (`| head`) stops the
//! command quietly, a full or failing stdout (`> /dev/full`) is one clear error, and
//! nothing panics. Messages for stderr are best effort: there is nowhere to report a
//! failing stderr.

use std::io::{self, Write};

/// How a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// An error for the user (already worded, `ERROR: ...`).
    #[error("{0}")]
    Message(String),
    /// Standard output was closed by its reader: stop without a word (exit status 0,
    /// as `head` asked for no more).
    #[error("standard output was closed")]
    StdoutClosed,
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Message(message)
    }
}

/// What a failed write to stdout means for the command.
pub fn stdout_error(e: &io::Error) -> Failure {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Failure::StdoutClosed
    } else if e.kind() == io::ErrorKind::StorageFull {
        Failure::Message(format!(
            "ERROR: could not write to standard output: no space left on the device ({e})"
        ))
    } else {
        Failure::Message(format!("ERROR: could not write to standard output: {e}"))
    }
}

/// Writes `text` to stdout and flushes it.
///
/// # Errors
/// [`Failure::StdoutClosed`] when the reader is gone, else a message naming the cause.
pub fn print(text: &str) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| stdout_error(&e))
}

/// Writes `text` and a newline to stderr, ignoring failures (a closed or full stderr has
/// nowhere to be reported).
pub fn eprintln(text: &str) {
    let mut err = io::stderr().lock();
    let _ = err
        .write_all(text.as_bytes())
        .and_then(|()| err.write_all(b"\n"));
}
