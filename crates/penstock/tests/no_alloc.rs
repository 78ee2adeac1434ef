//! A warm pool's acquire/release cycle allocates nothing — not a frame, not a buffer
//! struct, not a byte of heap. A counting global allocator proves it. It counts only
//! on the thread that runs the cycle: the test harness's own threads allocate at times
//! of their choosing (that made this test fail now and then).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use std::sync::Arc;

use penstock::buffer::BufferRef;
use penstock::meta::{Meta, MetaTransform};
use penstock::pool::{AcquireParams, BufferLayout};
use penstock::{BufferPool, PoolConfig};

/// A frame layout's meta, as the video crate's VideoMeta: added by the pool, kept on reuse.
#[derive(Debug, Clone, PartialEq)]
struct FrameMeta {
    stride: usize,
}

impl Meta for FrameMeta {
    fn name(&self) -> &'static str {
        "FrameMeta"
    }
    fn transform(&self, _t: &MetaTransform) -> Option<Box<dyn Meta>> {
        Some(Box::new(self.clone()))
    }
}

/// 1080p NV12 frames (1920 × 1080 × 3/2 bytes) with a FrameMeta each.
#[derive(Debug, PartialEq)]
struct Nv12Frames;

impl BufferLayout for Nv12Frames {
    fn size(&self) -> usize {
        1920 * 1080 * 3 / 2
    }
    fn add_metas(&self, buffer: &mut BufferRef) {
        buffer.add_meta(FrameMeta { stride: 1920 });
    }
    fn describe(&self) -> String {
        "a 1080p NV12 frame".into()
    }
    fn same(&self, other: &dyn BufferLayout) -> bool {
        let any: &dyn std::any::Any = other;
        any.is::<Nv12Frames>()
    }
}

struct Counting;

thread_local! {
    /// Whether this thread's allocations are counted (const-initialised, no destructor:
    /// safe to read from inside the global allocator).
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn counting() -> bool {
    COUNTING.try_with(Cell::get).unwrap_or(false)
}
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counting() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if counting() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counting() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn warm_pool_cycle_allocates_nothing() {
    let pool = BufferPool::new("no-alloc");
    let config = PoolConfig::new(Nv12Frames.size())
        .with_layout(Arc::new(Nv12Frames))
        .min_max(2, 2);
    pool.set_config(config).unwrap();
    pool.set_active(true).unwrap();
    // Warm-up: both buffers out and back once.
    let a = pool.acquire(AcquireParams::default()).unwrap();
    let b = pool.acquire(AcquireParams::default()).unwrap();
    drop((a, b));

    let rounds = if cfg!(miri) { 10 } else { 10_000 };
    COUNTING.set(true);
    for i in 0..rounds {
        let mut buf = pool.acquire(AcquireParams::default()).unwrap();
        assert_eq!(buf.meta::<FrameMeta>().map(|m| m.stride), Some(1920));
        buf.set_pts(Some(penstock::ClockTime::from_nseconds(i)));
        buf.map_memory_write(0).unwrap()[0] = i as u8;
        let shared = buf.freeze();
        let tee = shared.clone();
        drop(shared);
        drop(tee);
    }
    COUNTING.set(false);
    assert_eq!(
        ALLOCS.load(Ordering::SeqCst),
        0,
        "heap allocations after warm-up"
    );
    let stats = pool.stats();
    assert_eq!(stats.allocated, 2);
    assert_eq!(stats.outstanding, 0);
    // min=2 were preallocated, so even the warm-up acquires were reuses.
    assert_eq!(stats.reused, rounds + 2);
}
