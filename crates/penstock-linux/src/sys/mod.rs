//! System calls that need `unsafe` (mappings), each with its safety argument.

pub mod mmap;
