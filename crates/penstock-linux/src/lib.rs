//! penstock's Linux memory. Safe wrappers here; every `unsafe` block lives in `sys/`.
//!
//! - [`MappedFile`]: a file mapped read-only, to wrap as a [`penstock::Memory`] with
//!   [`Memory::from_owner_readonly`](penstock::Memory::from_owner_readonly) and share
//!   out without copying.
//! - [`LinuxError`]: the errors, each naming the file and the OS error.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod mapped_file;
pub mod sys;

pub use error::LinuxError;
pub use mapped_file::MappedFile;
