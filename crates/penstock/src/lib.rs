//! # penstock — zero-copy media pipelines
//!
//! The portable core: refcounted [`Memory`] handles with map guards, [`Allocator`]s,
//! [`Buffer`]s made of any number of memories with typed [`meta`]s, [`BufferPool`]s that
//! take buffers back when they are dropped, and the [`ledger`] that accounts for every
//! copy and allocation.
//!
//! It knows no video: formats, layouts and video metas are in the `penstock-video` crate.
//!
//! Everything here is `#![deny(unsafe_code)]` except the memory backend
//! (`memory::backend`), which holds the raw pointers, and the lock cell of [`spin`].
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod allocator;
pub mod basesrc;
pub mod basetransform;
pub mod buffer;
pub mod bus;
pub mod caps;
pub mod drm;
pub mod element;
pub mod event;
pub mod flow;
pub mod launch;
pub mod ledger;
pub mod limits;
pub mod memory;
pub mod meta;
pub mod pad;
pub mod pipeline;
pub mod pool;
pub mod property;
pub mod query;
pub mod spin;
mod stack;
pub mod sync;
pub mod time;

pub use allocator::{AllocationParams, Allocator, SystemAllocator};

pub use buffer::{Buffer, BufferFlags, BufferMut, BufferRef};
pub use memory::{MapMode, Memory, MemoryError, MemoryFlags, MemoryType};
pub use pool::{BufferPool, PoolConfig};
pub use time::ClockTime;
