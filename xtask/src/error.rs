//! The one error type of the xtask commands.

use std::path::Path;
use std::process::{Command, Output};

/// Everything that can make an xtask command fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file system operation failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// A program we ran could not be started or exited unsuccessfully.
    #[error("`{command}` {outcome}{detail}")]
    Command {
        command: String,
        outcome: String,
        detail: String,
    },
    /// Anything else, described in words.
    #[error("{0}")]
    Msg(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// Shorthand for [`Error::Msg`].
pub fn msg(text: impl Into<String>) -> Error {
    Error::Msg(text.into())
}

/// Adds a description of what was being done to an I/O error.
pub trait IoContext<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Io {
            context: context(),
            source,
        })
    }
}

/// `cmd` as a user would type it (for messages).
pub fn describe(cmd: &Command) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Runs `cmd` to completion with its output captured; a non-zero exit is an error that
/// carries the tail of its stderr.
pub fn output(cmd: &mut Command) -> Result<Output> {
    let out = cmd.output().map_err(|e| Error::Command {
        command: describe(cmd),
        outcome: "could not be started".into(),
        detail: format!(": {e}"),
    })?;
    if !out.status.success() {
        return Err(Error::Command {
            command: describe(cmd),
            outcome: format!("failed ({})", out.status),
            detail: tail_detail(&out.stdout, &out.stderr),
        });
    }
    Ok(out)
}

/// Runs `cmd` with inherited stdout/stderr; a non-zero exit is an error.
pub fn status(cmd: &mut Command) -> Result<()> {
    let st = cmd.status().map_err(|e| Error::Command {
        command: describe(cmd),
        outcome: "could not be started".into(),
        detail: format!(": {e}"),
    })?;
    if !st.success() {
        return Err(Error::Command {
            command: describe(cmd),
            outcome: format!("failed ({st})"),
            detail: String::new(),
        });
    }
    Ok(())
}

fn tail_detail(stdout: &[u8], stderr: &[u8]) -> String {
    let text = if stderr.iter().any(|b| !b.is_ascii_whitespace()) {
        stderr
    } else {
        stdout
    };
    let text = String::from_utf8_lossy(text);
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(15)..];
    if tail.is_empty() {
        String::new()
    } else {
        format!(":\n  {}", tail.join("\n  "))
    }
}

/// Path for messages.
pub fn show(path: &Path) -> String {
    path.display().to_string()
}
