//! System calls that need `unsafe` (mappings, DMA-BUF ioctls), each with its safety
//! argument.

pub mod dmabuf;
pub mod mmap;
