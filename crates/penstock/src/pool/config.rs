//! A pool's configuration, the layout buffers carry, and the pool's errors and counters.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use crate::allocator::{AllocationParams, Allocator};
use crate::buffer::BufferRef;
use crate::memory::MemoryError;

/// What a pool's buffers hold beyond plain bytes: the size a buffer needs, the memory
/// alignment, and the metas every buffer carries (kept when a buffer is reused). The
/// video crate's frame layout is one (`PoolConfig::video(info)` there); a pool without
/// one makes plain buffers of [`PoolConfig::size`] bytes.
pub trait BufferLayout: Any + Send + Sync + fmt::Debug {
    /// Bytes each buffer needs.
    fn size(&self) -> usize;

    /// Memory alignment mask the layout needs (`63`: 64-byte aligned); 0 for none.
    fn align_mask(&self) -> usize {
        0
    }

    /// Attaches the metas every buffer of this layout carries (with the `add_meta` of
    /// `buffer`); the pool keeps them when the buffer comes back.
    fn add_metas(&self, buffer: &mut BufferRef) {
        let _ = buffer;
    }

    /// What one buffer holds, for messages: "a 1920x1080 NV12 frame in this layout".
    fn describe(&self) -> String;

    /// Checks the layout against the rest of `config`; an error says why, with a
    /// configuration that would be accepted if there is one.
    ///
    /// # Errors
    /// The reason and an optional counter-proposal.
    fn check(&self, config: &PoolConfig) -> Result<(), (String, Option<PoolConfig>)> {
        let _ = config;
        Ok(())
    }

    /// True if `other` is the same layout.
    fn same(&self, other: &dyn BufferLayout) -> bool;
}

/// A pool's configuration. Build with [`PoolConfig::new`] (or a layout's constructor,
/// such as the video crate's `PoolConfig::video`) and the builder methods;
/// [`BufferPool::set_config`](super::BufferPool::set_config) answers with the accepted
/// config or a counter-proposal.
#[derive(Clone)]
pub struct PoolConfig {
    /// Bytes per buffer: at least the layout's size.
    pub size: usize,
    /// Buffers allocated when the pool is activated.
    pub min: u32,
    /// Most buffers out at once; 0 means unlimited.
    pub max: u32,
    /// Where memories come from (`None`: system memory).
    pub allocator: Option<Arc<dyn Allocator>>,
    /// Allocation parameters.
    pub params: AllocationParams,
    /// What the buffers hold (a video frame layout), if anything beyond bytes.
    pub layout: Option<Arc<dyn BufferLayout>>,
}

impl fmt::Debug for PoolConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolConfig")
            .field("size", &self.size)
            .field("min", &self.min)
            .field("max", &self.max)
            .field(
                "allocator",
                &self.allocator.as_ref().map(|a| a.name().to_owned()),
            )
            .field("params", &self.params)
            .field("layout", &self.layout)
            .finish()
    }
}

impl PartialEq for PoolConfig {
    fn eq(&self, o: &Self) -> bool {
        let same_alloc = match (&self.allocator, &o.allocator) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        let same_layout = match (&self.layout, &o.layout) {
            (None, None) => true,
            (Some(a), Some(b)) => a.same(b.as_ref()),
            _ => false,
        };
        same_alloc
            && same_layout
            && self.size == o.size
            && self.min == o.min
            && self.max == o.max
            && self.params == o.params
    }
}

impl PoolConfig {
    /// Buffers of `size` bytes, no minimum, no maximum, system memory.
    pub fn new(size: usize) -> Self {
        PoolConfig {
            size,
            min: 0,
            max: 0,
            allocator: None,
            params: AllocationParams::default(),
            layout: None,
        }
    }

    /// Buffers holding `layout` ([`size`](Self::size) and the params' alignment are the
    /// caller's: [`set_config`](super::BufferPool::set_config) proposes them if they are
    /// below what the layout needs).
    pub fn with_layout(mut self, layout: Arc<dyn BufferLayout>) -> Self {
        self.layout = Some(layout);
        self
    }

    /// The layout as its concrete type `L`.
    pub fn layout_as<L: BufferLayout>(&self) -> Option<&L> {
        let any: &dyn Any = self.layout.as_deref()?;
        any.downcast_ref::<L>()
    }

    /// Sets `min` and `max` (0 = unlimited).
    pub fn min_max(mut self, min: u32, max: u32) -> Self {
        self.min = min;
        self.max = max;
        self
    }

    /// Sets the allocator and its params.
    pub fn allocator(mut self, allocator: Arc<dyn Allocator>, params: AllocationParams) -> Self {
        self.allocator = Some(allocator);
        self.params = params;
        self
    }

    /// Sets the allocation params.
    pub fn params(mut self, params: AllocationParams) -> Self {
        self.params = params;
        self
    }
}

/// How [`BufferPool::acquire`](super::BufferPool::acquire) behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AcquireParams {
    /// Return [`PoolError::WouldBlock`] instead of waiting when `max` buffers are out.
    pub dont_wait: bool,
    /// Mark the buffer DISCONT.
    pub discont: bool,
}

impl AcquireParams {
    /// Don't wait.
    pub const DONT_WAIT: AcquireParams = AcquireParams {
        dont_wait: true,
        discont: false,
    };
}

/// Errors of pools.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// The pool is flushing; acquire again after `set_flushing(false)`.
    #[error("buffer pool '{0}' is flushing")]
    Flushing(String),
    /// All `max` buffers are out and the caller asked not to wait.
    #[error("buffer pool '{pool}': all {max} buffers are in use (would block)")]
    WouldBlock {
        /// Pool name.
        pool: String,
        /// Its maximum.
        max: u32,
    },
    /// The pool is not active.
    #[error("buffer pool '{0}' is not active (call set_active(true) first)")]
    Inactive(String),
    /// Configuration while active, or before any configuration.
    #[error("buffer pool '{pool}': {what}")]
    State {
        /// Pool name.
        pool: String,
        /// What was wrong.
        what: &'static str,
    },
    /// The configuration was not accepted; `proposal` is one that would be.
    #[error("pool configuration rejected: {reason}{}", if .proposal.is_some() { " (a counter-proposal is attached)" } else { "" })]
    Config {
        /// Why.
        reason: String,
        /// An acceptable configuration close to the one asked for, if any.
        proposal: Option<Box<PoolConfig>>,
    },
    /// A memory could not be allocated.
    #[error("buffer pool '{pool}': {source}")]
    Alloc {
        /// Pool name.
        pool: String,
        /// The allocator's error.
        #[source]
        source: MemoryError,
    },
}

/// Counters of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// Buffers allocated since the pool was made.
    pub allocated: u64,
    /// Buffers handed out and not returned yet.
    pub outstanding: usize,
    /// Acquires served with a returned buffer.
    pub reused: u64,
    /// Buffers freed (pool deactivated, memories replaced, shared, or reconfigured).
    pub freed: u64,
    /// Buffers waiting in the pool now.
    pub free: usize,
}
