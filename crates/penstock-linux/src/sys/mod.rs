//! System calls that need `unsafe` (mappings, DMA-BUF ioctls, inherited descriptors),
//! each with its safety argument.

pub mod dmabuf;
pub mod fd;
pub mod mmap;
