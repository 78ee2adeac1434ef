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

//!
//! What the pool does with buffers (how they are made, what happens when one comes back)
//! is a [`PoolImpl`]: [`BufferPool::new`] uses [`DefaultPoolImpl`], and
//! [`BufferPool::with_impl`] takes any other, such as a device pool that queues returned
//! buffers back to its driver.

mod config;
mod imp;

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use smallvec::SmallVec;

use crate::buffer::{BufferFlags, BufferMut, BufferRef, PoolLink};
use crate::sync::{CondvarExt, MutexExt};

pub use config::{AcquireParams, BufferLayout, PoolConfig, PoolError, PoolStats};
pub use imp::{DefaultPoolImpl, PoolImpl, default_alloc_buffer};

struct State {
    config: Option<PoolConfig>,
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
    imp: Box<dyn PoolImpl>,
    state: Mutex<State>,
    cond: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is plain counters and a list: still consistent after a panic elsewhere.
        self.state.lock_ignore_poison()
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
            .field("impl", &self.shared.imp.name())
            .field("stats", &self.stats())
            .finish()
    }
}

impl BufferPool {
    /// A new, unconfigured, inactive pool with the default behaviour.
    pub fn new(name: impl Into<String>) -> BufferPool {
        BufferPool::with_impl(name, DefaultPoolImpl)
    }

    /// A new, unconfigured, inactive pool whose buffers `imp` makes and takes back.
    pub fn with_impl(name: impl Into<String>, imp: impl PoolImpl) -> BufferPool {
        BufferPool {
            shared: Arc::new(Shared {
                name: name.into(),
                imp: Box::new(imp),
                state: Mutex::new(State {
                    config: None,
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

    /// The pool's implementation, as its concrete type `I` (a device element reaching
    /// the device pool it proposed).
    pub fn implementation<I: PoolImpl>(&self) -> Option<&I> {
        let any: &dyn std::any::Any = self.shared.imp.as_ref();
        any.downcast_ref::<I>()
    }

    /// True if both handles are the same pool.
    pub fn ptr_eq(&self, other: &BufferPool) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Checks `config` and, if acceptable as is, stores it and returns it. Otherwise
    /// nothing changes and the error carries a counter-proposal where one exists:
    /// `max` below `min`, what the layout refuses ([`BufferLayout::check`]: for video,
    /// alignment without the meta that describes it), `size` below the layout's size,
    /// memory alignment weaker than the layout's; then what the implementation refuses
    /// ([`PoolImpl::check_config`]).
    ///
    /// # Errors
    /// [`PoolError::State`] while active; [`PoolError::Config`] as above.
    pub fn set_config(&self, config: PoolConfig) -> Result<PoolConfig, PoolError> {
        Self::validate(&config)?;
        self.shared.imp.check_config(&config)?;
        let mut st = self.shared.lock();
        if st.active {
            return Err(PoolError::State {
                pool: self.shared.name.clone(),
                what: "cannot change the configuration while active",
            });
        }
        st.config = Some(config.clone());
        st.generation += 1;
        let dropped = std::mem::take(&mut st.free);
        st.stats.freed += dropped.len() as u64;
        // Buffers of the old configuration no longer count against `max`: the free ones
        // go now, the outstanding ones are freed when they come back.
        st.live = 0;
        st.stats.free = 0;
        drop(st);
        self.discard(dropped);
        Ok(config)
    }

    fn validate(config: &PoolConfig) -> Result<(), PoolError> {
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
        if let Some(layout) = &config.layout {
            layout
                .check(config)
                .map_err(|(reason, proposal)| PoolError::Config {
                    reason,
                    proposal: proposal.map(Box::new),
                })?;
            let size = layout.size();
            if config.size < size {
                let mut p = config.clone();
                p.size = size;
                return Err(reject(
                    format!(
                        "size {} is below the {size} bytes of {}",
                        config.size,
                        layout.describe()
                    ),
                    p,
                ));
            }
            let mask = layout.align_mask();
            if config.params.align & mask != mask {
                let mut p = config.clone();
                p.params.align |= mask;
                return Err(reject(
                    format!(
                        "memory alignment mask {:#x} is weaker than the stride alignment {mask:#x}",
                        config.params.align
                    ),
                    p,
                ));
            }
        } else if config.size == 0 {
            return Err(PoolError::Config {
                reason: "size is 0 and no layout gives one".into(),
                proposal: None,
            });
        }
        if let Some(alloc) = &config.allocator {
            // A probe would allocate; check only what can be checked without it.
            if alloc.name().is_empty() {
                return Err(PoolError::Config {
                    reason: "the allocator has no name".into(),
                    proposal: None,
                });
            }
        }
        Ok(())
    }

    /// The current configuration.
    pub fn config(&self) -> Option<PoolConfig> {
        self.shared.lock().config.clone()
    }

    /// What the configured buffers hold (a video frame layout), if anything.
    pub fn layout(&self) -> Option<Arc<dyn BufferLayout>> {
        self.shared.lock().config.as_ref()?.layout.clone()
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
        if !active {
            st.active = false;
            let dropped = std::mem::take(&mut st.free);
            st.stats.freed += dropped.len() as u64;
            st.live -= dropped.len();
            st.stats.free = 0;
            self.shared.cond.notify_all();
            drop(st);
            self.discard(dropped);
            self.shared.imp.stop();
            return Ok(());
        }
        let Some(config) = st.config.clone() else {
            return Err(PoolError::State {
                pool: self.shared.name.clone(),
                what: "not configured (call set_config first)",
            });
        };
        let generation = st.generation;
        // The implementation's hooks run without the lock.
        drop(st);
        self.shared.imp.start(&config)?;
        let mut fresh = Vec::with_capacity(config.min as usize);
        for _ in 0..config.min {
            match self.alloc_buffer(&config, generation) {
                Ok(b) => fresh.push(b),
                Err(e) => {
                    self.discard(fresh);
                    self.shared.imp.stop();
                    return Err(e);
                }
            }
        }
        let mut st = self.shared.lock();
        if st.active || st.generation != generation {
            // Another thread activated or reconfigured the pool meanwhile: its state
            // stands, these buffers go.
            let reconfigured = st.generation != generation;
            drop(st);
            self.discard(fresh);
            if reconfigured {
                self.shared.imp.stop();
                return Err(PoolError::State {
                    pool: self.shared.name.clone(),
                    what: "reconfigured while activating",
                });
            }
            return Ok(());
        }
        st.stats.allocated += fresh.len() as u64;
        st.live += fresh.len();
        st.free.extend(fresh);
        st.stats.free = st.free.len();
        st.active = true;
        st.flushing = false;
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
        let changed = st.flushing != flushing;
        st.flushing = flushing;
        if flushing {
            self.shared.cond.notify_all();
        }
        drop(st);
        if changed {
            if flushing {
                self.shared.imp.flush_start();
            } else {
                self.shared.imp.flush_stop();
            }
        }
    }

    /// A new buffer from the implementation, linked to this pool: the memories and
    /// metas it has now are what the pool restores on reuse.
    fn alloc_buffer(
        &self,
        config: &PoolConfig,
        generation: u64,
    ) -> Result<Arc<BufferRef>, PoolError> {
        let b = self.shared.imp.alloc_buffer(&self.shared.name, config)?;
        let mut arc = b.into_arc();
        let Some(r) = Arc::get_mut(&mut arc) else {
            unreachable!("a BufferMut is unique")
        };
        if r.pool.is_some() {
            return Err(PoolError::State {
                pool: self.shared.name.clone(),
                what: "the implementation returned a buffer that belongs to a pool",
            });
        }
        let link_layout: SmallVec<_> = r
            .memories
            .iter()
            .map(|m| (m.region_id(), m.offset(), m.size()))
            .collect();
        r.mark_metas_pooled();
        r.pool = Some(PoolLink {
            pool: Arc::downgrade(&self.shared),
            layout: link_layout,
            generation,
        });
        Ok(arc)
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
                let generation = st.generation;
                drop(st);
                return match self.alloc_buffer(&config, generation) {
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
            st = self.shared.cond.wait_ignore_poison(st);
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
                .wait_timeout_ignore_poison(st, deadline - now);
            st = guard;
            st.idle_waiters -= 1;
        }
        true
    }
}

impl BufferPool {
    /// Frees buffers that never left the pool (or were already counted as freed): their
    /// pool link is cut first, so that dropping them does not return them to the pool.
    fn discard(&self, buffers: Vec<Arc<BufferRef>>) {
        discard_with(&*self.shared.imp, buffers);
    }
}

fn discard_with(imp: &dyn PoolImpl, mut buffers: Vec<Arc<BufferRef>>) {
    for arc in &mut buffers {
        if let Some(r) = Arc::get_mut(arc) {
            r.pool = None;
            imp.free_buffer(r);
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
    if reusable {
        shared.imp.release_buffer(r);
    }
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
    if let Some(mut arc) = freed {
        if let Some(r) = Arc::get_mut(&mut arc) {
            shared.imp.free_buffer(r);
        }
    }
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
