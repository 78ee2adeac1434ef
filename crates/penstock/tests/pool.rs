//! Integration tests of `penstock::pool`, modelled on GStreamer's `gstbufferpool` checks:
//! configuration and counter-proposals, preallocation, reuse, buffers that must be freed
//! instead of reused, blocking at `max`, flushing and deactivation wake-ups, concurrency,
//! reset of returned buffers, buffer layouts (size, alignment, pooled metas), pool
//! implementations (the hooks a device or IPC pool overrides), `wait_idle`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use penstock::allocator::{AllocationParams, Allocator, SystemAllocator};
use penstock::buffer::BufferRef;
use penstock::ledger;
use penstock::memory::{Memory, MemoryError};
use penstock::meta::{Meta, MetaTransform};
use penstock::pool::{AcquireParams, BufferLayout, PoolError, PoolImpl};
use penstock::{BufferFlags, BufferMut, BufferPool, ClockTime, PoolConfig};

const WAIT: AcquireParams = AcquireParams {
    dont_wait: false,
    discont: false,
};

fn active_pool(name: &str, size: usize, min: u32, max: u32) -> BufferPool {
    let pool = BufferPool::new(name);
    pool.set_config(PoolConfig::new(size).min_max(min, max))
        .unwrap();
    pool.set_active(true).unwrap();
    pool
}

fn region_addr(b: &BufferMut) -> usize {
    b.memory(0).unwrap().map_read().unwrap().as_ptr() as usize
}

/// Lets a thread that is about to block get there.
fn settle() {
    thread::sleep(Duration::from_millis(if cfg!(miri) { 10 } else { 50 }));
}

/// Applies counter-proposals until the pool accepts (as a GStreamer element would).
fn negotiate(pool: &BufferPool, mut config: PoolConfig) -> (PoolConfig, usize) {
    for rounds in 0..8 {
        match pool.set_config(config) {
            Ok(c) => return (c, rounds),
            Err(PoolError::Config {
                proposal: Some(p), ..
            }) => config = *p,
            Err(e) => panic!("no counter-proposal: {e}"),
        }
    }
    panic!("no agreement after 8 rounds");
}

#[test]
fn unconfigured_or_inactive_pools_refuse() {
    let pool = BufferPool::new("pool-test-unconfigured");
    assert_eq!(pool.name(), "pool-test-unconfigured");
    assert!(pool.config().is_none());
    assert!(!pool.is_active());
    assert!(matches!(
        pool.set_active(true),
        Err(PoolError::State { .. })
    ));
    assert!(matches!(pool.acquire(WAIT), Err(PoolError::Inactive(_))));
    // Deactivating an inactive pool is a no-op.
    pool.set_active(false).unwrap();
    pool.set_config(PoolConfig::new(16)).unwrap();
    assert!(matches!(
        pool.acquire(AcquireParams::DONT_WAIT),
        Err(PoolError::Inactive(name)) if name == "pool-test-unconfigured"
    ));
    let other = pool.clone();
    assert!(other.ptr_eq(&pool));
    assert!(!BufferPool::new("x").ptr_eq(&pool));
    assert!(format!("{pool:?}").contains("pool-test-unconfigured"));
}

#[test]
fn set_config_counter_proposals() {
    let pool = BufferPool::new("pool-test-config");

    // max below min: the proposal raises max to min.
    match pool.set_config(PoolConfig::new(1024).min_max(4, 2)) {
        Err(PoolError::Config {
            reason,
            proposal: Some(p),
        }) => {
            assert!(reason.contains("max 2"), "{reason}");
            assert_eq!((p.min, p.max), (4, 4));
            assert_eq!(p.size, 1024);
            assert_eq!(pool.set_config(*p.clone()).unwrap(), *p);
        }
        other => panic!("expected a counter-proposal, got {other:?}"),
    }
    // Unlimited max is fine with any min.
    pool.set_config(PoolConfig::new(16).min_max(8, 0)).unwrap();

    // No size and no layout: rejected without a proposal. Nothing changed.
    let before = pool.config();
    match pool.set_config(PoolConfig::new(0)) {
        Err(PoolError::Config { proposal: None, .. }) => {}
        other => panic!("expected a plain rejection, got {other:?}"),
    }
    assert_eq!(pool.config(), before);
}

#[test]
fn set_config_while_active_is_refused() {
    let pool = active_pool("pool-test-config-active", 64, 1, 2);
    let before = pool.config().unwrap();
    match pool.set_config(PoolConfig::new(128)) {
        Err(e @ PoolError::State { .. }) => assert!(e.to_string().contains("active")),
        other => panic!("expected State, got {other:?}"),
    }
    assert_eq!(pool.config().unwrap(), before);
    assert_eq!(pool.stats().free, 1);
    pool.set_active(false).unwrap();
    pool.set_config(PoolConfig::new(128)).unwrap();
    assert_eq!(pool.config().unwrap().size, 128);
}

#[test]
fn set_active_preallocates_min() {
    let name = "pool-test-prealloc";
    let _site = ledger::enter_site(name);
    let pool = BufferPool::new(name);
    pool.set_config(PoolConfig::new(1000).min_max(3, 5))
        .unwrap();
    pool.set_active(true).unwrap();
    assert!(pool.is_active());
    let s = pool.stats();
    assert_eq!(s.allocated, 3);
    assert_eq!(s.free, 3);
    assert_eq!(s.outstanding, 0);
    assert_eq!(s.reused, 0);
    let site = ledger::snapshot().site(name);
    assert_eq!(site.allocations.count, 3);
    assert_eq!(site.allocations.bytes, 3000);
    assert_eq!(site.copies.count, 0);
    // Activating twice does nothing more.
    pool.set_active(true).unwrap();
    assert_eq!(pool.stats().allocated, 3);

    // Deactivating frees the idle buffers, once each.
    pool.set_active(false).unwrap();
    let s = pool.stats();
    assert_eq!(s.free, 0);
    assert_eq!(s.freed, 3);
    assert_eq!(s.outstanding, 0);
    assert!(!pool.is_active());
    // And reactivating preallocates again.
    pool.set_active(true).unwrap();
    let s = pool.stats();
    assert_eq!(s.allocated, 6);
    assert_eq!(s.free, 3);
    assert_eq!(s.freed, 3);
    // All min buffers come from the free list, then new ones up to max.
    let bufs: Vec<_> = (0..5).map(|_| pool.acquire(WAIT).unwrap()).collect();
    let s = pool.stats();
    assert_eq!(s.reused, 3);
    assert_eq!(s.allocated, 8);
    assert_eq!(s.outstanding, 5);
    assert!(matches!(
        pool.acquire(AcquireParams::DONT_WAIT),
        Err(PoolError::WouldBlock { max: 5, .. })
    ));
    drop(bufs);
    assert_eq!(pool.stats().free, 5);
}

#[test]
fn returned_buffers_are_reused() {
    let pool = active_pool("pool-test-reuse", 256, 0, 0);
    let mut b = pool.acquire(WAIT).unwrap();
    assert!(b.is_pooled());
    assert_eq!(b.size(), 256);
    assert_eq!(b.n_memory(), 1);
    let addr = region_addr(&b);
    b.memset(0, 7, 256).unwrap();
    assert_eq!(pool.stats().allocated, 1);
    assert_eq!(pool.stats().outstanding, 1);
    drop(b);
    let s = pool.stats();
    assert_eq!((s.outstanding, s.free, s.freed), (0, 1, 0));

    for round in 1..=5u64 {
        let b = pool.acquire(WAIT).unwrap();
        assert_eq!(region_addr(&b), addr, "the same memory comes back");
        // Shared and frozen handles: only the last drop returns it.
        let frozen = b.freeze();
        let tee = frozen.clone();
        drop(frozen);
        assert_eq!(pool.stats().outstanding, 1);
        drop(tee);
        let s = pool.stats();
        assert_eq!(s.reused, round);
        assert_eq!(s.allocated, 1);
        assert_eq!(s.outstanding, 0);
    }
}

#[test]
fn resized_memory_is_restored_on_return() {
    let pool = active_pool("pool-test-resized", 100, 1, 1);
    let mut b = pool.acquire(WAIT).unwrap();
    b.resize(10, 20).unwrap();
    assert_eq!(b.size(), 20);
    b.memory_mut(0).unwrap().resize(-10, 5).unwrap();
    drop(b);
    let b = pool.acquire(WAIT).unwrap();
    assert_eq!(b.size(), 100);
    assert_eq!(b.memory(0).unwrap().offset(), 0);
    assert_eq!(pool.stats().freed, 0);
    assert_eq!(pool.stats().reused, 2);
}

#[test]
fn buffers_with_replaced_or_removed_memory_are_freed() {
    let pool = active_pool("pool-test-replaced", 64, 0, 0);

    let mut b = pool.acquire(WAIT).unwrap();
    let old = b
        .replace_memory(0, Memory::new_system(64).unwrap())
        .unwrap();
    drop(old);
    drop(b);
    let s = pool.stats();
    assert_eq!((s.freed, s.free, s.outstanding), (1, 0, 0));

    let mut b = pool.acquire(WAIT).unwrap();
    assert_eq!(pool.stats().allocated, 2);
    b.remove_memory(0).unwrap();
    drop(b);
    assert_eq!(pool.stats().freed, 2);

    // A memory added beside the pool's own (a converter putting a plane it shares from
    // its input in front of the planes it wrote) is let go when the buffer returns,
    // and the buffer is reused with its own memory.
    let mut b = pool.acquire(WAIT).unwrap();
    b.insert_memory(0, Memory::new_system(4).unwrap());
    b.append_memory(Memory::new_system(4).unwrap());
    drop(b);
    assert_eq!(pool.stats().freed, 2);
    let b = pool.acquire(WAIT).unwrap();
    assert_eq!((b.n_memory(), b.size()), (1, 64));
    drop(b);
    assert_eq!(pool.stats().freed, 2);

    // A write through a shared pool memory copies it (cow): the buffer then holds
    // another memory and is freed too.
    let b = pool.acquire(WAIT).unwrap();
    let keep = b.memory(0).unwrap().clone();
    let mut b = b;
    b.map_memory_write(0).unwrap()[0] = 1;
    assert!(!b.memory(0).unwrap().same_region(&keep));
    drop(b);
    assert_eq!(pool.stats().freed, 3);
    drop(keep);
    let s = pool.stats();
    assert_eq!((s.free, s.outstanding), (0, 0));
    assert_eq!(s.allocated, 3);
}

#[test]
fn buffers_whose_memory_is_still_shared_are_freed() {
    let pool = active_pool("pool-test-shared", 32, 0, 2);
    let mut b = pool.acquire(WAIT).unwrap();
    b.fill(0, b"pooled").unwrap();
    let keep = b.memory(0).unwrap().clone();
    let sub = b.memory(0).unwrap().share(0, 6).unwrap();
    drop(b);
    let s = pool.stats();
    assert_eq!((s.freed, s.free, s.outstanding), (1, 0, 0));
    // The memory outlives its buffer untouched.
    assert_eq!(&*sub.map_read().unwrap(), b"pooled");
    assert_eq!(keep.holders(), 2);
    // The freed buffer no longer counts against max.
    let a = pool.acquire(AcquireParams::DONT_WAIT).unwrap();
    let c = pool.acquire(AcquireParams::DONT_WAIT).unwrap();
    assert!(pool.acquire(AcquireParams::DONT_WAIT).is_err());
    drop((a, c));
}

#[test]
fn buffer_outliving_its_pool_is_freed() {
    let pool = active_pool("pool-test-dropped", 128, 2, 4);
    let mut b = pool.acquire(WAIT).unwrap();
    let frozen_clone = {
        let c = pool.acquire(WAIT).unwrap().freeze();
        (c.clone(), c)
    };
    assert!(b.is_pooled());
    let extra = pool.clone();
    drop(pool);
    assert!(b.is_pooled(), "a pool handle is still alive");
    drop(extra);
    assert!(!b.is_pooled());
    b.memset(0, 1, 128).unwrap();
    assert_eq!(b.memcmp(0, &[1; 128]).unwrap(), std::cmp::Ordering::Equal);
    drop(b);
    drop(frozen_clone);
}

#[test]
fn max_blocks_until_a_buffer_returns() {
    let pool = active_pool("pool-test-max", 16, 0, 2);
    let a = pool.acquire(WAIT).unwrap();
    let b = pool.acquire(WAIT).unwrap();
    match pool.acquire(AcquireParams::DONT_WAIT) {
        Err(e @ PoolError::WouldBlock { max: 2, .. }) => {
            assert!(e.to_string().contains("would block"));
        }
        other => panic!("expected WouldBlock, got {other:?}"),
    }
    assert_eq!(pool.stats().outstanding, 2);

    let done = Arc::new(AtomicBool::new(false));
    let waiter = {
        let pool = pool.clone();
        let done = Arc::clone(&done);
        thread::spawn(move || {
            let buf = pool.acquire(WAIT);
            done.store(true, Ordering::SeqCst);
            buf.map(|b| region_addr(&b))
        })
    };
    settle();
    assert!(
        !done.load(Ordering::SeqCst),
        "acquire returned while max were out"
    );
    let addr = region_addr(&a);
    drop(a);
    let got = waiter.join().unwrap().expect("woken with a buffer");
    assert_eq!(got, addr, "the returned buffer was handed on");
    drop(b);
    let s = pool.stats();
    assert_eq!(s.outstanding, 0);
    assert_eq!(s.allocated, 2);
    assert_eq!(s.reused, 1);
}

#[test]
fn flushing_wakes_a_blocked_acquire() {
    let pool = active_pool("pool-test-flushing", 16, 0, 1);
    let held = pool.acquire(WAIT).unwrap();
    let waiter = {
        let pool = pool.clone();
        thread::spawn(move || pool.acquire(WAIT).map(drop))
    };
    settle();
    pool.set_flushing(true);
    match waiter.join().unwrap() {
        Err(e @ PoolError::Flushing(_)) => assert!(e.to_string().contains("flushing")),
        other => panic!("expected Flushing, got {other:?}"),
    }
    // While flushing nothing is handed out, even if buffers are free.
    drop(held);
    assert_eq!(pool.stats().free, 1);
    assert!(matches!(
        pool.acquire(AcquireParams::DONT_WAIT),
        Err(PoolError::Flushing(_))
    ));
    pool.set_flushing(false);
    let b = pool.acquire(AcquireParams::DONT_WAIT).unwrap();
    assert!(matches!(
        pool.acquire(AcquireParams::DONT_WAIT),
        Err(PoolError::WouldBlock { .. })
    ));
    drop(b);
}

#[test]
fn deactivation_wakes_a_blocked_acquire() {
    let pool = active_pool("pool-test-deactivate", 16, 1, 1);
    let held = pool.acquire(WAIT).unwrap();
    let waiter = {
        let pool = pool.clone();
        thread::spawn(move || pool.acquire(WAIT).map(drop))
    };
    settle();
    pool.set_active(false).unwrap();
    match waiter.join().unwrap() {
        Err(e @ PoolError::Inactive(_)) => assert!(e.to_string().contains("not active")),
        other => panic!("expected Inactive, got {other:?}"),
    }
    // A buffer that comes back to an inactive pool is freed.
    drop(held);
    let s = pool.stats();
    assert_eq!((s.outstanding, s.free, s.freed), (0, 0, 1));
    // The pool works again once reactivated, and max still holds.
    pool.set_active(true).unwrap();
    let b = pool.acquire(AcquireParams::DONT_WAIT).unwrap();
    assert!(matches!(
        pool.acquire(AcquireParams::DONT_WAIT),
        Err(PoolError::WouldBlock { .. })
    ));
    drop(b);
    assert_eq!(pool.stats().free, 1);
}

#[test]
fn concurrent_acquire_and_release() {
    let threads = 4;
    let iters = if cfg!(miri) { 20 } else { 1000 };
    let pool = active_pool("pool-test-concurrency", 64, 0, 3);
    let in_use = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let pool = pool.clone();
            let in_use = Arc::clone(&in_use);
            let most = Arc::clone(&most);
            thread::spawn(move || {
                for i in 0..iters {
                    let mut b = pool.acquire(WAIT).unwrap();
                    let now = in_use.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    // The buffer is ours alone: write, check, and share it around.
                    let tag = (t * 31 + i) as u8;
                    b.memset(0, tag, 64).unwrap();
                    b.set_pts(Some(ClockTime::from_nseconds(i as u64)));
                    let frozen = b.freeze();
                    let tee = frozen.clone();
                    assert_eq!(
                        tee.memcmp(0, &[tag; 64]).unwrap(),
                        std::cmp::Ordering::Equal
                    );
                    in_use.fetch_sub(1, Ordering::SeqCst);
                    if i % 2 == 0 {
                        drop(frozen);
                        drop(tee);
                    } else {
                        drop(tee);
                        drop(frozen);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let s = pool.stats();
    assert_eq!(s.outstanding, 0);
    assert!(s.allocated <= 3, "{s:?}");
    assert!(most.load(Ordering::SeqCst) <= 3);
    assert_eq!(s.allocated + s.reused, (threads * iters) as u64, "{s:?}");
    assert_eq!(s.freed, 0);
    assert_eq!(s.free as u64, s.allocated);
}

#[test]
fn concurrent_drops_of_clones_return_the_buffer_once() {
    let rounds = if cfg!(miri) { 10 } else { 500 };
    let pool = active_pool("pool-test-clone-race", 8, 0, 1);
    for _ in 0..rounds {
        let b = pool.acquire(WAIT).unwrap().freeze();
        let clones: Vec<_> = (0..3).map(|_| b.clone()).collect();
        drop(b);
        let hs: Vec<_> = clones
            .into_iter()
            .map(|c| thread::spawn(move || drop(c)))
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        let s = pool.stats();
        assert_eq!(s.outstanding, 0, "{s:?}");
        assert_eq!(s.free, 1, "{s:?}");
    }
    let s = pool.stats();
    assert_eq!(s.allocated, 1);
    assert_eq!(s.freed, 0);
}

/// A meta added by the user: dropped when the buffer returns to its pool.
#[derive(Debug, Clone, PartialEq)]
struct UserMeta(u32);
impl Meta for UserMeta {
    fn name(&self) -> &'static str {
        "UserMeta"
    }
    fn transform(&self, _t: &MetaTransform) -> Option<Box<dyn Meta>> {
        Some(Box::new(self.clone()))
    }
}

#[test]
fn wait_idle_waits_for_outstanding_buffers() {
    let pool = active_pool("pool-test-idle", 16, 0, 0);
    assert!(pool.wait_idle(Duration::ZERO));
    let b = pool.acquire(WAIT).unwrap();
    assert!(!pool.wait_idle(Duration::from_millis(10)));
    let dropper = thread::spawn(move || {
        settle();
        drop(b);
    });
    assert!(pool.wait_idle(Duration::from_secs(30)));
    assert_eq!(pool.stats().outstanding, 0);
    dropper.join().unwrap();
}

#[test]
fn returned_buffer_wakes_the_acquirer_even_when_someone_waits_for_idle() {
    let pool = active_pool("pool-test-idle-and-acquire", 16, 0, 2);
    let a = pool.acquire(WAIT).unwrap();
    let b = pool.acquire(WAIT).unwrap();
    // First an idle waiter, then a blocked acquirer, on the same pool.
    let idle = {
        let pool = pool.clone();
        thread::spawn(move || pool.wait_idle(Duration::from_secs(5)))
    };
    settle();
    let (tx, rx) = mpsc::channel();
    let acquirer = {
        let pool = pool.clone();
        thread::spawn(move || {
            let got = pool.acquire(WAIT).map(drop);
            tx.send(got.is_ok()).unwrap();
        })
    };
    settle();
    // One buffer comes back: the acquirer must get it (the pool is not idle yet).
    drop(a);
    let got = rx.recv_timeout(Duration::from_secs(2));
    // Unblock everyone before asserting, so that a failure does not hang the suite.
    drop(b);
    acquirer.join().unwrap();
    assert!(idle.join().unwrap());
    assert_eq!(got, Ok(true), "the blocked acquire was not woken");
}

#[test]
fn reconfiguring_with_buffers_out_keeps_max_honest() {
    let pool = active_pool("pool-test-reconfigure", 16, 0, 2);
    let a = pool.acquire(WAIT).unwrap();
    let b = pool.acquire(WAIT).unwrap();
    pool.set_active(false).unwrap();
    pool.set_config(PoolConfig::new(32).min_max(0, 2)).unwrap();
    pool.set_active(true).unwrap();
    // Buffers of the old configuration are freed when they come back ...
    drop(a);
    drop(b);
    let s = pool.stats();
    assert_eq!(s.outstanding, 0);
    assert_eq!(s.freed, 2);
    assert_eq!(s.free, 0);
    // ... and no longer count against the new max.
    let c = pool.acquire(AcquireParams::DONT_WAIT).unwrap();
    let d = pool.acquire(AcquireParams::DONT_WAIT).unwrap();
    assert_eq!(c.size(), 32);
    assert!(matches!(
        pool.acquire(AcquireParams::DONT_WAIT),
        Err(PoolError::WouldBlock { .. })
    ));
    drop((c, d));
    assert_eq!(pool.stats().free, 2);
}

#[test]
fn reconfiguring_frees_idle_buffers() {
    let pool = active_pool("pool-test-reconfigure-idle", 16, 2, 2);
    pool.set_active(false).unwrap();
    assert_eq!(pool.stats().freed, 2);
    pool.set_config(PoolConfig::new(24).min_max(1, 1)).unwrap();
    pool.set_active(true).unwrap();
    let b = pool.acquire(WAIT).unwrap();
    assert_eq!(b.size(), 24);
    assert!(matches!(
        pool.acquire(AcquireParams::DONT_WAIT),
        Err(PoolError::WouldBlock { max: 1, .. })
    ));
    drop(b);
    let s = pool.stats();
    assert_eq!((s.allocated, s.freed, s.free, s.outstanding), (3, 2, 1, 0));
}

/// An allocator that succeeds `left` times, then fails.
#[derive(Debug)]
struct FailingAllocator {
    left: AtomicUsize,
}

impl Allocator for FailingAllocator {
    fn name(&self) -> &str {
        "failing"
    }
    fn alloc(&self, size: usize, params: &AllocationParams) -> Result<Memory, MemoryError> {
        let ok = self
            .left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if ok {
            SystemAllocator.alloc(size, params)
        } else {
            Err(MemoryError::Alloc {
                size,
                reason: "test allocator exhausted".into(),
            })
        }
    }
}

#[test]
fn failed_preallocation_leaves_the_pool_inactive() {
    let alloc = Arc::new(FailingAllocator {
        left: AtomicUsize::new(2),
    });
    let pool = BufferPool::new("pool-test-prealloc-fail");
    pool.set_config(
        PoolConfig::new(64)
            .min_max(4, 4)
            .allocator(alloc.clone(), AllocationParams::default()),
    )
    .unwrap();
    match pool.set_active(true) {
        Err(e @ PoolError::Alloc { .. }) => {
            assert!(e.to_string().contains("exhausted"), "{e}");
        }
        other => panic!("expected Alloc, got {other:?}"),
    }
    assert!(!pool.is_active());
    let s = pool.stats();
    assert_eq!(s.allocated, 0);
    assert_eq!(s.outstanding, 0);
    assert_eq!(s.free, 0);
    assert!(matches!(pool.acquire(WAIT), Err(PoolError::Inactive(_))));

    // With enough memory it activates; an allocation failure in acquire is reported
    // and does not use up a slot.
    alloc.left.store(5, Ordering::SeqCst);
    pool.set_active(true).unwrap();
    assert_eq!(pool.stats().allocated, 4);
    pool.set_active(false).unwrap();
    pool.set_config(
        PoolConfig::new(64)
            .min_max(0, 1)
            .allocator(alloc.clone(), AllocationParams::default()),
    )
    .unwrap();
    pool.set_active(true).unwrap();
    alloc.left.store(0, Ordering::SeqCst);
    assert!(matches!(
        pool.acquire(AcquireParams::DONT_WAIT),
        Err(PoolError::Alloc { .. })
    ));
    assert_eq!(pool.stats().outstanding, 0);
    alloc.left.store(1, Ordering::SeqCst);
    let b = pool.acquire(AcquireParams::DONT_WAIT).unwrap();
    assert_eq!(b.size(), 64);
}

#[test]
fn pool_with_allocator_params() {
    let params = AllocationParams {
        align: 4095,
        prefix: 16,
        padding: 32,
        ..AllocationParams::default()
    };
    let pool = BufferPool::new("pool-test-params");
    pool.set_config(
        PoolConfig::new(100)
            .min_max(1, 1)
            .allocator(penstock::allocator::default_allocator(), params),
    )
    .unwrap();
    pool.set_active(true).unwrap();
    let mut b = pool.acquire(WAIT).unwrap();
    let m = b.memory(0).unwrap();
    assert_eq!((m.offset(), m.size(), m.maxsize()), (16, 100, 148));
    assert_eq!((region_addr(&b) - 16) % 4096, 0);
    // Using the prefix and padding is fine: the window is restored on return.
    b.resize(-16, 148).unwrap();
    drop(b);
    let b = pool.acquire(WAIT).unwrap();
    let m = b.memory(0).unwrap();
    assert_eq!((m.offset(), m.size()), (16, 100));
    assert_eq!(pool.stats().freed, 0);

    // Params alone (system memory).
    let cfg = PoolConfig::new(8).params(AllocationParams::aligned_to(256).unwrap());
    let pool = BufferPool::new("pool-test-params-only");
    pool.set_config(cfg).unwrap();
    pool.set_active(true).unwrap();
    let b = pool.acquire(WAIT).unwrap();
    assert_eq!(region_addr(&b) % 256, 0);
}

/// What the pool keeps on each buffer of a [`Block`] layout.
#[derive(Debug, Clone, PartialEq)]
struct Stamp(usize);
impl Meta for Stamp {
    fn name(&self) -> &'static str {
        "Stamp"
    }
    fn transform(&self, _t: &MetaTransform) -> Option<Box<dyn Meta>> {
        Some(Box::new(self.clone()))
    }
}

/// A layout of `size` bytes whose memory is aligned to `mask`, stamped with a meta.
#[derive(Debug, Clone, PartialEq)]
struct Block {
    size: usize,
    mask: usize,
}

impl BufferLayout for Block {
    fn size(&self) -> usize {
        self.size
    }
    fn align_mask(&self) -> usize {
        self.mask
    }
    fn add_metas(&self, buffer: &mut BufferRef) {
        buffer.add_meta(Stamp(self.size));
    }
    fn describe(&self) -> String {
        format!("a {}-byte block", self.size)
    }
    fn check(&self, config: &PoolConfig) -> Result<(), (String, Option<PoolConfig>)> {
        if config.max == 1 {
            return Err(("a block pool needs two buffers".into(), None));
        }
        Ok(())
    }
    fn same(&self, other: &dyn BufferLayout) -> bool {
        let any: &dyn std::any::Any = other;
        any.downcast_ref::<Block>() == Some(self)
    }
}

#[test]
fn a_layout_gets_its_size_alignment_and_metas() {
    let pool = BufferPool::new("pool-test-layout");
    let layout = Arc::new(Block {
        size: 1000,
        mask: 127,
    });
    // Size and alignment below the layout's: one proposal each, then accepted.
    let config = PoolConfig::new(10).with_layout(layout.clone());
    let (accepted, rounds) = negotiate(&pool, config);
    assert_eq!(rounds, 2);
    assert_eq!(accepted.size, 1000);
    assert_eq!(accepted.params.align & 127, 127);
    assert_eq!(accepted.layout_as::<Block>(), Some(&*layout));
    match pool.set_config(PoolConfig::new(10).with_layout(layout.clone())) {
        Err(PoolError::Config { reason, .. }) => {
            assert!(
                reason.contains("below the 1000 bytes of a 1000-byte block"),
                "{reason}"
            )
        }
        other => panic!("expected a counter-proposal, got {other:?}"),
    }
    // What the layout itself refuses, with its reason.
    let refused = accepted.clone().min_max(1, 1);
    match pool.set_config(refused) {
        Err(PoolError::Config {
            reason,
            proposal: None,
        }) => assert!(reason.contains("two buffers"), "{reason}"),
        other => panic!("expected the layout's refusal, got {other:?}"),
    }
    pool.set_config(accepted.min_max(1, 0)).unwrap();
    pool.set_active(true).unwrap();
    assert!(pool.layout().is_some());

    // The layout's meta is the pool's: kept on reuse; the user's goes.
    let mut b = pool.acquire(WAIT).unwrap();
    assert_eq!(region_addr(&b) % 128, 0);
    assert_eq!(b.meta::<Stamp>(), Some(&Stamp(1000)));
    b.add_meta(Stamp(1));
    b.add_meta(UserMeta(7));
    b.set_pts(Some(ClockTime::SECOND));
    b.insert_flags(BufferFlags::DELTA_UNIT);
    assert_eq!(b.metas_of::<Stamp>().count(), 2);
    drop(b);
    let b = pool.acquire(WAIT).unwrap();
    assert_eq!(b.metas_of::<Stamp>().collect::<Vec<_>>(), [&Stamp(1000)]);
    assert!(b.meta::<UserMeta>().is_none());
    assert_eq!((b.pts(), b.flags()), (None, BufferFlags::empty()));
    assert_eq!(pool.stats().allocated, 1);
}

/// A toy device pool: buffers are the "driver's" (made by the implementation), and
/// every buffer that comes back is requeued to it.
#[derive(Default)]
struct ToyDevice {
    made: AtomicUsize,
    requeued: AtomicUsize,
    freed: AtomicUsize,
    started: AtomicUsize,
    stopped: AtomicUsize,
    flushes: AtomicUsize,
}

impl PoolImpl for ToyDevice {
    fn name(&self) -> &str {
        "toy-device"
    }
    fn check_config(&self, config: &PoolConfig) -> Result<(), PoolError> {
        if config.max > 4 || config.max == 0 {
            let mut p = config.clone();
            p.max = 4;
            p.min = p.min.min(4);
            return Err(PoolError::Config {
                reason: "the device has 4 buffers".into(),
                proposal: Some(Box::new(p)),
            });
        }
        Ok(())
    }
    fn start(&self, _config: &PoolConfig) -> Result<(), PoolError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn stop(&self) {
        self.stopped.fetch_add(1, Ordering::SeqCst);
    }
    fn alloc_buffer(&self, _pool: &str, config: &PoolConfig) -> Result<BufferMut, PoolError> {
        let n = self.made.fetch_add(1, Ordering::SeqCst);
        // Two memories per buffer, as a two-plane device buffer.
        let mut b = BufferMut::from_memory(Memory::from_owner(vec![n as u8; config.size]));
        b.append_memory(Memory::from_owner(vec![0u8; config.size / 2]));
        Ok(b)
    }
    fn release_buffer(&self, buffer: &mut BufferRef) {
        assert_eq!(buffer.n_memory(), 2, "released with the device's memories");
        self.requeued.fetch_add(1, Ordering::SeqCst);
    }
    fn free_buffer(&self, _buffer: &mut BufferRef) {
        self.freed.fetch_add(1, Ordering::SeqCst);
    }
    fn flush_start(&self) {
        self.flushes.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_pool_implementation_makes_takes_back_and_frees() {
    let pool = BufferPool::with_impl("pool-test-toy", ToyDevice::default());
    let (config, rounds) = negotiate(&pool, PoolConfig::new(64).min_max(2, 8));
    assert_eq!((rounds, config.max), (1, 4));
    pool.set_active(true).unwrap();
    let toy = pool.implementation::<ToyDevice>().expect("the toy");
    assert_eq!(toy.started.load(Ordering::SeqCst), 1);
    assert_eq!(toy.made.load(Ordering::SeqCst), 2);
    assert!(format!("{pool:?}").contains("toy-device"));

    let a = pool.acquire(WAIT).unwrap();
    let b = pool.acquire(WAIT).unwrap();
    let c = pool.acquire(WAIT).unwrap();
    assert_eq!(toy.made.load(Ordering::SeqCst), 3);
    assert_eq!(a.n_memory(), 2);
    drop((a, b));
    assert_eq!(toy.requeued.load(Ordering::SeqCst), 2);
    // A buffer whose memory was replaced cannot go back to the device: freed.
    let mut c = c;
    c.replace_memory(0, Memory::new_system(64).unwrap())
        .unwrap();
    drop(c);
    assert_eq!(toy.requeued.load(Ordering::SeqCst), 2);
    assert_eq!(toy.freed.load(Ordering::SeqCst), 1);

    pool.set_flushing(true);
    pool.set_flushing(true);
    assert_eq!(toy.flushes.load(Ordering::SeqCst), 1, "once per change");
    pool.set_flushing(false);
    pool.set_active(false).unwrap();
    assert_eq!(toy.stopped.load(Ordering::SeqCst), 1);
    assert_eq!(
        toy.freed.load(Ordering::SeqCst),
        3,
        "the idle two on deactivation"
    );
    assert!(
        pool.implementation::<penstock::pool::DefaultPoolImpl>()
            .is_none()
    );
}
