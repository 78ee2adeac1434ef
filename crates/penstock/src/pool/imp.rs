//! What a pool does with its buffers, as a trait: the default pool allocates memories
//! from the configured allocator; a device pool hands the driver's buffers out and
//! queues each one back to the driver when it returns; an IPC pool frees a slot.
//!
//! ```text
//!  set_active(true) ─▶ start ─▶ alloc_buffer × min
//!  acquire ─▶ (free list | alloc_buffer) ─▶ BufferMut ─▶ … ─▶ last handle dropped
//!                  ▲                                                │
//!                  └──── free list ◀── release_buffer ◀── reset ◀───┘
//!  a buffer that cannot be reused, or comes back to an inactive or reconfigured pool:
//!  free_buffer, then its memories are dropped
//!  set_flushing(true/false) ─▶ flush_start / flush_stop;  set_active(false) ─▶ stop
//! ```
//!
//! The hooks run without the pool's lock held, on whatever thread calls the pool
//! (`release_buffer` and `free_buffer`: the thread that dropped the last handle), so
//! they must not block for long and must not fail: a device pool that cannot requeue a
//! buffer records why and lets it go.

use crate::allocator::{Allocator, SystemAllocator};
use crate::buffer::{BufferMut, BufferRef};

use super::config::{PoolConfig, PoolError};

/// The behaviour of a [`BufferPool`](super::BufferPool): how buffers are made, what
/// happens when one comes back, and what starting, stopping and flushing do. Every
/// method has a default: the default pool ([`DefaultPoolImpl`]) overrides none.
///
/// Accounting (min/max, blocking acquire, the free list, return on drop, stats) stays
/// with the pool: an implementation only supplies buffers and reacts.
pub trait PoolImpl: std::any::Any + Send + Sync {
    /// A short name for reports (`"default"`, `"v4l2"`).
    fn name(&self) -> &str {
        "default"
    }

    /// Checks the configuration before the pool stores it (a device pool refuses a size
    /// or count its driver cannot give).
    ///
    /// # Errors
    /// [`PoolError::Config`], with a counter-proposal where one exists.
    fn check_config(&self, config: &PoolConfig) -> Result<(), PoolError> {
        let _ = config;
        Ok(())
    }

    /// Runs when the pool is activated, before the `min` buffers are allocated.
    ///
    /// # Errors
    /// The pool stays inactive and returns this error.
    fn start(&self, config: &PoolConfig) -> Result<(), PoolError> {
        let _ = config;
        Ok(())
    }

    /// Runs when the pool is deactivated, after its idle buffers were freed (buffers
    /// still out are freed when they come back).
    fn stop(&self) {}

    /// Makes one new buffer for `config`. The default: one memory of `config.size`
    /// bytes from the configured allocator (system memory if none), with the layout's
    /// metas. Metas the buffer has when this returns are kept across reuse.
    ///
    /// # Errors
    /// [`PoolError::Alloc`] naming `pool` and the allocator's error.
    fn alloc_buffer(&self, pool: &str, config: &PoolConfig) -> Result<BufferMut, PoolError> {
        default_alloc_buffer(pool, config)
    }

    /// A buffer came back and is reusable: its memories' windows, its timestamps, flags
    /// and the metas added after allocation were reset. Here a device pool queues it back
    /// to the driver. It then goes to the free list — or, if the pool was deactivated or
    /// reconfigured meanwhile, to [`free_buffer`](Self::free_buffer).
    fn release_buffer(&self, buffer: &mut BufferRef) {
        let _ = buffer;
    }

    /// A buffer leaves the pool for good (the pool was deactivated or reconfigured, or
    /// the buffer's memories were replaced or are shared elsewhere); its memories are
    /// dropped after this.
    fn free_buffer(&self, buffer: &mut BufferRef) {
        let _ = buffer;
    }

    /// The pool starts flushing: wake whatever the implementation blocks on.
    fn flush_start(&self) {}

    /// The pool stops flushing.
    fn flush_stop(&self) {}
}

/// The default pool behaviour: buffers of one memory from the configured allocator.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultPoolImpl;

impl PoolImpl for DefaultPoolImpl {}

/// What [`PoolImpl::alloc_buffer`] does by default, for implementations that add to it.
///
/// # Errors
/// [`PoolError::Alloc`] naming `pool` and the allocator's error.
pub fn default_alloc_buffer(pool: &str, config: &PoolConfig) -> Result<BufferMut, PoolError> {
    let memory = match &config.allocator {
        Some(a) => a.alloc(config.size, &config.params),
        None => SystemAllocator.alloc(config.size, &config.params),
    }
    .map_err(|source| PoolError::Alloc {
        pool: pool.to_owned(),
        source,
    })?;
    let mut b = BufferMut::from_memory(memory);
    if let Some(layout) = &config.layout {
        layout.add_metas(&mut b);
    }
    Ok(b)
}
