//! penstock's Linux memory. Safe wrappers here; every `unsafe` block lives in `sys/`.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod sys;
