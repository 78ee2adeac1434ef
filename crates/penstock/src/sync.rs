//! Locks that ignore poisoning: the one way elements and the runtime take their locks.
//!
//! A lock is poisoned when a thread panics while holding it. Everything penstock keeps
//! behind a lock (settings, counters, lists of pads and pools) stays consistent across
//! such a panic: each write is a whole assignment or push. So the data is taken as it
//! is instead of spreading the panic to every thread that touches the element later;
//! the panic itself is reported once, on the bus (see [`Element::spawn_task`]).
//!
//! ```
//! use std::sync::{Mutex, RwLock};
//! use penstock::sync::{MutexExt, RwLockExt};
//!
//! let m = Mutex::new(1);
//! *m.lock_ignore_poison() += 1;
//! assert_eq!(*m.lock_ignore_poison(), 2);
//! let l = RwLock::new("a".to_owned());
//! l.write_ignore_poison().push('b');
//! assert_eq!(*l.read_ignore_poison(), "ab");
//! ```
//!
//! [`Element::spawn_task`]: crate::element::Element::spawn_task

use std::sync::{Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

/// [`Mutex::lock`] whether or not a panic poisoned the mutex.
pub trait MutexExt<T: ?Sized> {
    /// Locks the mutex, poisoned or not.
    fn lock_ignore_poison(&self) -> MutexGuard<'_, T>;
    /// The data through a unique reference (no locking needed), poisoned or not.
    fn get_mut_ignore_poison(&mut self) -> &mut T;
}

impl<T: ?Sized> MutexExt<T> for Mutex<T> {
    #[inline]
    fn lock_ignore_poison(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[inline]
    fn get_mut_ignore_poison(&mut self) -> &mut T {
        self.get_mut().unwrap_or_else(|p| p.into_inner())
    }
}

/// [`RwLock::read`] and [`RwLock::write`] whether or not a panic poisoned the lock.
pub trait RwLockExt<T: ?Sized> {
    /// Takes a read lock, poisoned or not.
    fn read_ignore_poison(&self) -> RwLockReadGuard<'_, T>;
    /// Takes the write lock, poisoned or not.
    fn write_ignore_poison(&self) -> RwLockWriteGuard<'_, T>;
}

impl<T: ?Sized> RwLockExt<T> for RwLock<T> {
    #[inline]
    fn read_ignore_poison(&self) -> RwLockReadGuard<'_, T> {
        self.read().unwrap_or_else(|p| p.into_inner())
    }

    #[inline]
    fn write_ignore_poison(&self) -> RwLockWriteGuard<'_, T> {
        self.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// [`Condvar::wait`] and [`Condvar::wait_timeout`] whether or not the mutex is poisoned.
pub trait CondvarExt {
    /// Waits for a notification, poisoned or not.
    fn wait_ignore_poison<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T>;
    /// Waits for a notification at most `timeout`, poisoned or not; true if it timed out.
    fn wait_timeout_ignore_poison<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, T>, bool);
}

impl CondvarExt for Condvar {
    #[inline]
    fn wait_ignore_poison<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.wait(guard).unwrap_or_else(|p| p.into_inner())
    }

    #[inline]
    fn wait_timeout_ignore_poison<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, T>, bool) {
        let (g, r) = self
            .wait_timeout(guard, timeout)
            .unwrap_or_else(|p| p.into_inner());
        (g, r.timed_out())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_poisoned_mutex_still_gives_its_data() {
        let m = Arc::new(Mutex::new(5));
        let m2 = Arc::clone(&m);
        let _ = std::thread::spawn(move || {
            *m2.lock().unwrap() = 6;
            let _g = m2.lock().unwrap();
            panic!("poisoning on purpose");
        })
        .join();
        assert!(m.is_poisoned());
        *m.lock_ignore_poison() += 1;
        assert_eq!(*m.lock_ignore_poison(), 7);
        let mut m = Arc::try_unwrap(m).unwrap();
        *m.get_mut_ignore_poison() += 1;
        assert_eq!(*m.get_mut_ignore_poison(), 8);
    }

    #[test]
    fn a_poisoned_rwlock_still_gives_its_data() {
        let l = Arc::new(RwLock::new(String::from("a")));
        let l2 = Arc::clone(&l);
        let _ = std::thread::spawn(move || {
            l2.write().unwrap().push('b');
            let _g = l2.write().unwrap();
            panic!("poisoning on purpose");
        })
        .join();
        assert!(l.is_poisoned());
        assert_eq!(*l.read_ignore_poison(), "ab");
        l.write_ignore_poison().push('c');
        assert_eq!(*l.read_ignore_poison(), "abc");
    }

    #[test]
    fn a_timed_wait_says_it_timed_out() {
        let m = Mutex::new(0);
        let c = Condvar::new();
        let (g, timed_out) =
            c.wait_timeout_ignore_poison(m.lock_ignore_poison(), Duration::from_millis(1));
        assert!(timed_out);
        assert_eq!(*g, 0);
    }
}
