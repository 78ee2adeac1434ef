//! [`Spin`]: a lock whose release is one plain store, for state that one thread touches
//! per item and others rarely: the producer side of the `queue` element, which its
//! streaming thread, a flush, a drain and the properties also reach.
//!
//! A standard mutex costs two atomic read-modify-writes per use (the lock and the
//! release, which must look for sleepers), and each waits for the core's pending
//! stores; at tens of millions of buffers per second that was the largest single cost of
//! a queue. Taking a `Spin` uncontended costs one atomic swap on a line that stays in
//! the taking core's cache, and releasing it one store.
//!
//! It never sleeps: a waiter spins, then yields its core. So it must only be held for a
//! few instructions, and never across anything that blocks, allocates much, or drops a
//! buffer (whose pool may wake someone). Sleeping and waking belong to a mutex and
//! condition variable beside it, as in the `queue` element.
//!
//! This module holds the lock's cell and is, with the memory backend, one of the two
//! places of the core that use `unsafe`; every block says why it holds. Its tests run
//! under Miri.
#![allow(unsafe_code)]

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

/// How many times a waiter spins before it yields its core at each further try.
const SPINS_BEFORE_YIELD: u32 = 64;

/// A lock released by one plain store; waiters spin, then yield. See the module
/// documentation for when it fits.
pub struct Spin<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through a `SpinGuard`, and only one guard exists at
// a time (the `locked` swap with acquire, released with release), like a mutex; the
// value moves between threads with the lock, hence `T: Send`.
unsafe impl<T: Send> Sync for Spin<T> {}
// SAFETY: as above; `Spin` owns its value.
unsafe impl<T: Send> Send for Spin<T> {}

impl<T: Default> Default for Spin<T> {
    fn default() -> Self {
        Spin::new(T::default())
    }
}

impl<T> Spin<T> {
    /// A new, unlocked lock.
    pub const fn new(value: T) -> Spin<T> {
        Spin {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Takes the lock, spinning (then yielding the core) while another thread holds it.
    pub fn lock(&self) -> SpinGuard<'_, T> {
        let mut tries = 0u32;
        while self.locked.swap(true, Ordering::Acquire) {
            // Wait with plain loads: a swap per try would pull the line from the holder.
            while self.locked.load(Ordering::Relaxed) {
                tries = tries.saturating_add(1);
                if tries < SPINS_BEFORE_YIELD {
                    std::hint::spin_loop();
                } else {
                    // The holder may be preempted, or need this core.
                    std::thread::yield_now();
                }
            }
        }
        SpinGuard { lock: self }
    }

    /// The value, through a unique borrow of the lock (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

/// Access to a [`Spin`]'s value; the lock is released when it is dropped.
pub struct SpinGuard<'a, T> {
    lock: &'a Spin<T>,
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard is the only one (see `Spin`'s `Sync`).
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard is the only one, and it is borrowed mutably.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::sync::{Arc, Condvar, Mutex};

    const N: usize = if cfg!(miri) { 200 } else { 100_000 };

    #[test]
    fn spin_excludes() {
        let counter = Arc::new(Spin::new(0u64));
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let c = Arc::clone(&counter);
                std::thread::spawn(move || {
                    for _ in 0..N / 10 {
                        // A read-modify-write in two steps: lost updates if the lock
                        // let two threads in (and a data race Miri reports).
                        let mut g = c.lock();
                        let v = *g;
                        std::hint::spin_loop();
                        *g = v + 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*counter.lock(), 3 * (N / 10) as u64);
        let mut c = Arc::try_unwrap(counter).ok().unwrap();
        assert_eq!(*c.get_mut(), 3 * (N / 10) as u64);
    }

    /// The `queue` element's sleeping protocol: the producer pushes under the `Spin` and
    /// wakes the consumer if it parked; the consumer parks under the same `Spin` only if
    /// nothing is queued, holding the mutex the producer notifies under from before
    /// parking until it waits. A lost wake-up would hang this test; lost or reordered
    /// items fail it.
    #[test]
    fn parking_under_the_spin_never_loses_a_wake_up() {
        #[derive(Default)]
        struct Side {
            items: VecDeque<usize>,
            parked: bool,
        }
        let side = Arc::new(Spin::new(Side::default()));
        let wake = Arc::new((Mutex::new(()), Condvar::new()));
        let (s, w) = (Arc::clone(&side), Arc::clone(&wake));
        let producer = std::thread::spawn(move || {
            for i in 0..N {
                let mut g = s.lock();
                g.items.push_back(i);
                let woke = std::mem::take(&mut g.parked);
                drop(g);
                if woke {
                    let _m = w.0.lock().unwrap();
                    w.1.notify_one();
                }
                if i % 7 == 0 {
                    std::thread::yield_now();
                }
            }
        });
        let mut batch = VecDeque::new();
        let mut expect = 0;
        while expect < N {
            if let Some(v) = batch.pop_front() {
                assert_eq!(v, expect);
                expect += 1;
                continue;
            }
            std::mem::swap(&mut side.lock().items, &mut batch);
            if !batch.is_empty() {
                continue;
            }
            let m = wake.0.lock().unwrap();
            let mut g = side.lock();
            let park = g.items.is_empty();
            g.parked |= park;
            drop(g);
            if park {
                drop(wake.1.wait(m).unwrap());
            }
        }
        producer.join().unwrap();
    }
}
