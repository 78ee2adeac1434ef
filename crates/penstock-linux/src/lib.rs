//! penstock's Linux memory. Safe wrappers here; every `unsafe` block lives in `sys/`.
//!
//! - [`MappedFile`]: a file mapped read-only, to wrap as a [`penstock::Memory`] with
//!   [`Memory::from_owner_readonly`](penstock::Memory::from_owner_readonly) and share
//!   out without copying.
//! - [`MemfdAllocator`]: memories in sealed memfds (memory type `memfd`), and
//!   [`MemfdAllocator::import`] of a memfd from another process.
//! - [`dmabuf::import`]: any DMA-BUF as a memory (memory type `DMABuf`), mapped once,
//!   CPU access bracketed by `DMA_BUF_IOCTL_SYNC`; non-LINEAR layouts are NOT_MAPPABLE.
//! - [`DmaHeapAllocator`] (`/dev/dma_heap/*`) and [`UdmabufAllocator`]
//!   (`/dev/udmabuf`): DMA-BUF allocators.
//! - [`export_fd`]: a duplicate of a memory's descriptor, to send.
//! - [`probe()`]: what the running kernel offers.
//! - [`StreamFd`]: pipes, FIFOs, terminals and devices read and written through
//!   `poll(2)`, interruptibly; [`dup_inherited`] for a descriptor given by number.
//! - [`LinuxError`]: the errors, each naming the file, descriptor or device and the OS
//!   error.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod dma_heap;
pub mod dmabuf;
pub mod error;
pub mod fd;
#[doc(hidden)]
pub mod kernel_test;
pub mod mapped_file;
pub mod memfd;
pub mod probe;
pub mod stream;
mod sys;
pub mod udmabuf;

pub use dma_heap::DmaHeapAllocator;
pub use dmabuf::{DMABUF_MEMORY_TYPE, DmaBufImport};
pub use error::LinuxError;
pub use fd::{ExportedFd, dup_fd, export_fd};
pub use mapped_file::MappedFile;
pub use memfd::{MEMFD_MEMORY_TYPE, MemfdAllocator};
pub use probe::{Probe, probe};
pub use stream::{Ready, StreamFd};
pub use sys::fd::dup_inherited;
pub use udmabuf::UdmabufAllocator;
