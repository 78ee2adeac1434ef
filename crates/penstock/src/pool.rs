//! Buffer pools: preallocated buffers of one size, handed out and taken back.
//!
//! ```text
//!  set_config ─▶ set_active(true) ─▶ acquire() ─▶ BufferMut ─▶ ... ─▶ last handle dropped
//!       ▲             (min preallocated)   │ blocks while max are out        │
//!       │                                  ◀──────── reset, reused ◀─────────┘
//!  set_active(false): free list dropped; buffers still out are freed when they return
//! ```
//!
//! A buffer holds only a `Weak` reference to its pool: dropping the pool does not wait
//! for buffers, and a buffer that outlives its pool is simply freed. Returning a buffer
//! never blocks and never fails. A buffer whose memories were replaced or removed, or
//! are still shared elsewhere, is freed instead of reused; memories added beside the
//! pool's own are let go and the buffer is reused.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use smallvec::SmallVec;

use crate::allocator::{AllocationParams, Allocator, SystemAllocator};
use crate::buffer::{BufferFlags, BufferMut, BufferRef, PoolLink};
use crate::memory::MemoryError;
use crate::meta::VideoMeta;
use crate::video::{VideoAlignment, VideoInfo};

/// A pool's configuration. Build with [`PoolConfig::new`] or [`PoolConfig::video`] and
/// the builder methods; [`BufferPool::set_config`] answers with the accepted config or a
/// counter-proposal.
#[derive(Clone)]
pub struct PoolConfig {
    /// Bytes per buffer. For video, at least the (aligned) frame size.
    pub size: usize,
    /// Buffers allocated when the pool is activated.
    pub min: u32,
    /// Most buffers out at once; 0 means unlimited.
    pub max: u32,
    /// Where memories come from (`None`: system memory).
    pub allocator: Option<Arc<dyn Allocator>>,
    /// Allocation parameters.
    pub params: AllocationParams,
    /// The video frames the buffers hold, if any.
    pub video_info: Option<VideoInfo>,
    /// Attach a [`VideoMeta`] describing the layout to every buffer.
    pub video_meta: bool,
    /// Padding and stride alignment for video frames (needs `video_meta`).
    pub video_alignment: Option<VideoAlignment>,
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
            .field("video_info", &self.video_info)
            .field("video_meta", &self.video_meta)
            .field("video_alignment", &self.video_alignment)
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
        same_alloc
            && self.size == o.size
            && self.min == o.min
            && self.max == o.max
            && self.params == o.params
            && self.video_info == o.video_info
            && self.video_meta == o.video_meta
            && self.video_alignment == o.video_alignment
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
            video_info: None,
            video_meta: false,
            video_alignment: None,
        }
    }

    /// Buffers for frames of `info` in its default layout.
    pub fn video(info: VideoInfo) -> Self {
        let mut c = PoolConfig::new(info.size());
        c.video_info = Some(info);
        c
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

    /// Adds a VideoMeta to every buffer.
    pub fn with_video_meta(mut self) -> Self {
        self.video_meta = true;
        self
    }

    /// Pads and aligns the frames. Implies the video meta, and raises the memory
    /// alignment to the strictest stride alignment.
    pub fn with_video_alignment(mut self, align: VideoAlignment) -> Self {
        self.params.align |= stride_mask(&align);
        self.video_alignment = Some(align);
        self.video_meta = true;
        self
    }

    /// The frame layout the buffers will have, with padding and alignment applied.
    ///
    /// # Errors
    /// [`PoolError::Config`] if the alignment cannot be applied.
    pub fn layout(&self) -> Result<Option<VideoInfo>, PoolError> {
        let Some(info) = &self.video_info else {
            return Ok(None);
        };
        let mut info = info.clone();
        if let Some(a) = &self.video_alignment {
            info.align(a).map_err(|e| PoolError::Config {
                reason: format!("video alignment {a:?} cannot be applied: {e}"),
                proposal: None,
            })?;
        }
        Ok(Some(info))
    }
}

/// How [`BufferPool::acquire`] behaves.
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

struct State {
    config: Option<PoolConfig>,
    /// Layout of a configured video pool.
    layout: Option<VideoInfo>,
    generation: u64,
    active: bool,
    flushing: bool,
    free: Vec<Arc<BufferRef>>,
    /// Buffers alive (free + outstanding) of the current generation.
    live: usize,
    stats: PoolStats,
    waiters: usize,
    idle_waiters: usize,
}

pub(crate) struct Shared {
    name: String,
    state: Mutex<State>,
    cond: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is plain counters and a list: still consistent after a panic elsewhere.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A pool of buffers. Cloning the handle shares the pool.
#[derive(Clone)]
pub struct BufferPool {
    shared: Arc<Shared>,
}

impl fmt::Debug for BufferPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferPool")
            .field("name", &self.shared.name)
            .field("stats", &self.stats())
            .finish()
    }
}

impl BufferPool {
    /// A new, unconfigured, inactive pool.
    pub fn new(name: impl Into<String>) -> BufferPool {
        BufferPool {
            shared: Arc::new(Shared {
                name: name.into(),
                state: Mutex::new(State {
                    config: None,
                    layout: None,
                    generation: 0,
                    active: false,
                    flushing: false,
                    free: Vec::new(),
                    live: 0,
                    stats: PoolStats::default(),
                    waiters: 0,
                    idle_waiters: 0,
                }),
                cond: Condvar::new(),
            }),
        }
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// True if both handles are the same pool.
    pub fn ptr_eq(&self, other: &BufferPool) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Checks `config` and, if acceptable as is, stores it and returns it. Otherwise
    /// nothing changes and the error carries a counter-proposal where one exists:
    /// `size` below the (aligned) frame size, `max` below `min`, alignment without the
    /// video meta that describes it.
    ///
    /// # Errors
    /// [`PoolError::State`] while active; [`PoolError::Config`] as above.
    pub fn set_config(&self, config: PoolConfig) -> Result<PoolConfig, PoolError> {
        let layout = Self::validate(&config)?;
        let mut st = self.shared.lock();
        if st.active {
            return Err(PoolError::State {
                pool: self.shared.name.clone(),
                what: "cannot change the configuration while active",
            });
        }
        st.config = Some(config.clone());
        st.layout = layout;
        st.generation += 1;
        let dropped = std::mem::take(&mut st.free);
        st.stats.freed += dropped.len() as u64;
        // Buffers of the old configuration no longer count against `max`: the free ones
        // go now, the outstanding ones are freed when they come back.
        st.live = 0;
        st.stats.free = 0;
        drop(st);
        discard(dropped);
        Ok(config)
    }

    fn validate(config: &PoolConfig) -> Result<Option<VideoInfo>, PoolError> {
        let reject = |reason: String, proposal: PoolConfig| PoolError::Config {
            reason,
            proposal: Some(Box::new(proposal)),
        };
        if config.max != 0 && config.max < config.min {
            let mut p = config.clone();
            p.max = p.min;
            return Err(reject(
                format!("max {} is below min {}", config.max, config.min),
                p,
            ));
        }
        if config.video_alignment.is_some() && !config.video_meta {
            let mut p = config.clone();
            p.video_meta = true;
            return Err(reject(
                "a video alignment needs the video meta to describe the padded layout".into(),
                p,
            ));
        }
        let layout = config.layout()?;
        if let Some(info) = &layout {
            if config.size < info.size() {
                let mut p = config.clone();
                p.size = info.size();
                return Err(reject(
                    format!(
                        "size {} is below the {} bytes of a {}x{} {:?} frame in this layout",
                        config.size,
                        info.size(),
                        info.width(),
                        info.height(),
                        info.format()
                    ),
                    p,
                ));
            }
            if let Some(a) = &config.video_alignment {
                let stride_mask = stride_mask(a);
                if config.params.align & stride_mask != stride_mask {
                    let mut p = config.clone();
                    p.params.align |= stride_mask;
                    return Err(reject(
                        format!(
                            "memory alignment mask {:#x} is weaker than the stride alignment {:#x}",
                            config.params.align, stride_mask
                        ),
                        p,
                    ));
                }
            }
        } else if config.size == 0 {
            return Err(PoolError::Config {
                reason: "size is 0 and no video info gives one".into(),
                proposal: None,
            });
        }
        check_preallocation(config)?;
        if let Some(alloc) = &config.allocator {
            // A probe would allocate; check only what can be checked without it.
            if alloc.name().is_empty() {
                return Err(PoolError::Config {
                    reason: "the allocator has no name".into(),
                    proposal: None,
                });
            }
        }
        Ok(layout)
    }

    /// The current configuration.
    pub fn config(&self) -> Option<PoolConfig> {
        self.shared.lock().config.clone()
    }

    /// The frame layout of a video pool (aligned), as its buffers' VideoMeta says.
    pub fn video_layout(&self) -> Option<VideoInfo> {
        self.shared.lock().layout.clone()
    }

    /// Activates (preallocating `min` buffers) or deactivates (freeing the idle ones;
    /// buffers still out are freed when they come back, and waiters get
    /// [`PoolError::Inactive`]).
    ///
    /// # Errors
    /// [`PoolError::State`] when not configured; [`PoolError::Alloc`] if preallocation
    /// fails (the pool stays inactive, nothing leaks).
    pub fn set_active(&self, active: bool) -> Result<(), PoolError> {
        let mut st = self.shared.lock();
        if st.active == active {
            return Ok(());
        }
        if active {
            let Some(config) = st.config.clone() else {
                return Err(PoolError::State {
                    pool: self.shared.name.clone(),
                    what: "not configured (call set_config first)",
                });
            };
            let mut fresh = Vec::with_capacity(config.min as usize);
            for _ in 0..config.min {
                match self.alloc_buffer(&config, st.layout.as_ref(), st.generation) {
                    Ok(b) => fresh.push(b),
                    Err(e) => {
                        drop(st);
                        discard(fresh);
                        return Err(e);
                    }
                }
            }
            st.stats.allocated += fresh.len() as u64;
            st.live += fresh.len();
            st.free.extend(fresh);
            st.stats.free = st.free.len();
            st.active = true;
            st.flushing = false;
        } else {
            st.active = false;
            let dropped = std::mem::take(&mut st.free);
            st.stats.freed += dropped.len() as u64;
            st.live -= dropped.len();
            st.stats.free = 0;
            self.shared.cond.notify_all();
            drop(st);
            discard(dropped);
        }
        Ok(())
    }

    /// True if active.
    pub fn is_active(&self) -> bool {
        self.shared.lock().active
    }

    /// Starts or stops flushing. While flushing, `acquire` fails with
    /// [`PoolError::Flushing`] and waiters are woken with that error.
    pub fn set_flushing(&self, flushing: bool) {
        let mut st = self.shared.lock();
        st.flushing = flushing;
        if flushing {
            self.shared.cond.notify_all();
        }
    }

    fn alloc_buffer(
        &self,
        config: &PoolConfig,
        layout: Option<&VideoInfo>,
        generation: u64,
    ) -> Result<Arc<BufferRef>, PoolError> {
        let memory = match &config.allocator {
            Some(a) => a.alloc(config.size, &config.params),
            None => SystemAllocator.alloc(config.size, &config.params),
        }
        .map_err(|source| PoolError::Alloc {
            pool: self.shared.name.clone(),
            source,
        })?;
        let mut r = BufferRef::empty();
        let mut link_layout = SmallVec::new();
        link_layout.push((memory.region_id(), memory.offset(), memory.size()));
        r.memories.push(memory);
        if config.video_meta {
            if let Some(info) = layout {
                r.add_pooled_meta(VideoMeta::from_info(info));
            }
        }
        r.pool = Some(PoolLink {
            pool: Arc::downgrade(&self.shared),
            layout: link_layout,
            generation,
        });
        Ok(Arc::new(r))
    }

    /// A buffer from the pool: a returned one if any, a new one while fewer than `max`
    /// exist, or else waits for one to come back (unless `params.dont_wait`).
    ///
    /// # Errors
    /// [`PoolError::Flushing`], [`PoolError::Inactive`], [`PoolError::WouldBlock`],
    /// [`PoolError::Alloc`].
    pub fn acquire(&self, params: AcquireParams) -> Result<BufferMut, PoolError> {
        let mut st = self.shared.lock();
        loop {
            if st.flushing {
                return Err(PoolError::Flushing(self.shared.name.clone()));
            }
            if !st.active {
                return Err(PoolError::Inactive(self.shared.name.clone()));
            }
            if let Some(arc) = st.free.pop() {
                st.stats.outstanding += 1;
                st.stats.reused += 1;
                st.stats.free = st.free.len();
                drop(st);
                let mut b = BufferMut::from_arc_unique(arc);
                if params.discont {
                    b.insert_flags(BufferFlags::DISCONT);
                }
                return Ok(b);
            }
            let max = st.config.as_ref().map_or(0, |c| c.max);
            if max == 0 || st.live < max as usize {
                st.live += 1;
                st.stats.outstanding += 1;
                let config = st.config.clone().ok_or_else(|| PoolError::State {
                    pool: self.shared.name.clone(),
                    what: "not configured",
                })?;
                let layout = st.layout.clone();
                let generation = st.generation;
                drop(st);
                return match self.alloc_buffer(&config, layout.as_ref(), generation) {
                    Ok(arc) => {
                        self.shared.lock().stats.allocated += 1;
                        let mut b = BufferMut::from_arc_unique(arc);
                        if params.discont {
                            b.insert_flags(BufferFlags::DISCONT);
                        }
                        Ok(b)
                    }
                    Err(e) => {
                        let mut st = self.shared.lock();
                        st.live -= 1;
                        st.stats.outstanding -= 1;
                        // The condvar also holds `wait_idle` waiters: wake them all so
                        // that an acquirer is among them.
                        self.shared.cond.notify_all();
                        Err(e)
                    }
                };
            }
            if params.dont_wait {
                return Err(PoolError::WouldBlock {
                    pool: self.shared.name.clone(),
                    max,
                });
            }
            st.waiters += 1;
            st = self.shared.cond.wait(st).unwrap_or_else(|p| p.into_inner());
            st.waiters -= 1;
        }
    }

    /// The counters.
    pub fn stats(&self) -> PoolStats {
        self.shared.lock().stats
    }

    /// Waits until no buffer is out, at most `timeout`; returns true if none is.
    /// (Used to deactivate a pool only after its buffers came back.)
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        while st.stats.outstanding > 0 {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            st.idle_waiters += 1;
            let (guard, _) = self
                .shared
                .cond
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|p| p.into_inner());
            st = guard;
            st.idle_waiters -= 1;
        }
        true
    }
}

/// The union of the per-plane stride alignment masks.
fn stride_mask(a: &VideoAlignment) -> usize {
    a.stride_align.iter().fold(0usize, |m, &s| m | s as usize)
}

/// Frees buffers that never left the pool (or were already counted as freed): their
/// pool link is cut first, so that dropping them does not return them to the pool.
/// Refuses a configuration whose preallocation (`min` buffers of `size` bytes, prefix and
/// padding included) exceeds [`crate::limits::max_pool_size`], before anything is
/// allocated; the product is computed without overflow.
fn check_preallocation(config: &PoolConfig) -> Result<(), PoolError> {
    let limit = crate::limits::max_pool_size().map_err(|e| PoolError::Config {
        reason: e.to_string(),
        proposal: None,
    })?;
    let per_buffer = [config.size, config.params.prefix, config.params.padding]
        .iter()
        .try_fold(0u64, |acc, &b| acc.checked_add(u64::try_from(b).ok()?));
    let total = per_buffer.and_then(|b| b.checked_mul(u64::from(config.min)));
    match total {
        Some(total) if total <= limit => Ok(()),
        _ => Err(PoolError::Config {
            reason: format!(
                "preallocating {} buffers of {} bytes needs {}, above the pool bound of {}; \
                 ask for fewer or smaller buffers, or raise the bound with {}=<bytes> \
                 (e.g. 16G) or penstock::limits::set_max_pool_size",
                config.min,
                config.size,
                total.map_or_else(|| "more than 2^64 bytes".into(), crate::limits::describe),
                crate::limits::describe(limit),
                crate::limits::MAX_POOL_SIZE_ENV
            ),
            proposal: None,
        }),
    }
}

fn discard(mut buffers: Vec<Arc<BufferRef>>) {
    for arc in &mut buffers {
        if let Some(r) = Arc::get_mut(arc) {
            r.pool = None;
        }
    }
    drop(buffers);
}

/// Puts a buffer's windows back as the pool made them; false if it cannot be reused.
fn reset(r: &mut BufferRef, link: &PoolLink) -> bool {
    // Memories added beside the pool's own (a converter putting a plane it shares from
    // its input in front of the planes it writes) are let go; the pool's are reused.
    if r.memories.len() > link.layout.len() {
        r.memories
            .retain(|m| link.layout.iter().any(|&(id, _, _)| m.region_id() == id));
    }
    if r.memories.len() != link.layout.len() {
        return false;
    }
    for (m, &(id, offset, size)) in r.memories.iter_mut().zip(link.layout.iter()) {
        if m.region_id() != id || !m.is_writable() || m.is_mapped() {
            return false;
        }
        if m.set_window(offset, size).is_err() {
            return false;
        }
    }
    r.reset_for_pool();
    true
}

/// Takes back a buffer whose last handle was just dropped (`arc` is unique).
pub(crate) fn release(mut arc: Arc<BufferRef>) {
    let Some(r) = Arc::get_mut(&mut arc) else {
        return;
    };
    let Some(link) = r.pool.take() else { return };
    let Some(shared) = link.pool.upgrade() else {
        return; // The pool is gone: the buffer is freed here.
    };
    let reusable = reset(r, &link);
    let mut st = shared.lock();
    st.stats.outstanding = st.stats.outstanding.saturating_sub(1);
    let current = link.generation == st.generation;
    let freed = if reusable && current && st.active {
        r.pool = Some(link);
        st.free.push(arc);
        st.stats.free = st.free.len();
        None
    } else {
        if current {
            st.live -= 1;
        }
        st.stats.freed += 1;
        Some(arc)
    };
    if st.waiters > 0 {
        // Not `notify_one`: it could wake a `wait_idle` waiter instead of an acquirer.
        shared.cond.notify_all();
    }
    if st.idle_waiters > 0 && st.stats.outstanding == 0 {
        shared.cond.notify_all();
    }
    drop(st);
    drop(freed);
}

/// The rare path: two handles dropped at once and the count reached zero inside `Arc`.
/// The contents move to a new allocation and go back the usual way.
pub(crate) fn release_contents(r: &mut BufferRef) {
    let mut fresh = BufferRef::empty();
    std::mem::swap(&mut fresh.memories, &mut r.memories);
    std::mem::swap(&mut fresh.metas, &mut r.metas);
    fresh.pool = r.pool.take();
    release(Arc::new(fresh));
}
