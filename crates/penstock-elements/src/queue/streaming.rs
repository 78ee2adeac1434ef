//! The queue's streaming thread: takes the ring's items in batches and hands them on.

use super::ring::*;
use super::*;

/// The streaming thread's side: its batch and what it handed on.
pub(super) struct Streaming {
    pub(super) shared: Arc<Shared>,
    pub(super) epoch: u64,
    pub(super) out: Arc<Out>,
    /// Everything handed on (or dropped) in this epoch: what `out` holds.
    pub(super) handed: Level,
    pub(super) batch: VecDeque<Item>,
    /// Items handed on since the last look at `wanted`.
    pub(super) unchecked: u32,
}

impl Streaming {
    /// Records `item` as handed downstream (before pushing it: GStreamer's level does
    /// not count the item being pushed either), and wakes upstream or a drain if they
    /// wait and this made room for them.
    pub(super) fn hand_on(&mut self, item: &Item) {
        self.handed.add(Level::of(item));
        self.out.store(self.handed);
        self.unchecked += 1;
        // Every `WAKE_EVERY` items and before the last of a batch (before the push, which
        // may block: a drain waits for that one), a full fence pairs with the one of
        // upstream announcing it waits (`Queue::make_room`, `Queue::drain`): either upstream sees this
        // item handed on, or this thread sees `wanted`. Upstream is woken only from a
        // quarter full anyway, so looking every few items is soon enough, and taking the
        // lock for every item while upstream waits would make it contend for it.
        if self.unchecked >= WAKE_EVERY || self.batch.is_empty() {
            self.unchecked = 0;
            fence(Ordering::SeqCst);
            if self.shared.wanted.load(Ordering::Relaxed) {
                self.wake_upstream();
            }
        }
    }

    #[cold]
    pub(super) fn wake_upstream(&self) {
        let mut tx = self.shared.tx.lock();
        let wake = self.current_epoch() && tx.wake_waiters(&self.shared);
        drop(tx);
        if wake {
            self.shared.wake_room();
        }
    }

    pub(super) fn current_epoch(&self) -> bool {
        self.shared.epoch.load(Ordering::Acquire) == self.epoch
    }

    /// Waits for items and takes a batch: upstream's whole ring (one item in a leaky
    /// queue). False: flushing or a newer epoch; stop.
    pub(super) fn take_batch(&mut self) -> bool {
        let shared = Arc::clone(&self.shared);
        let (mut spun, mut slept) = (false, false);
        loop {
            if !self.current_epoch() {
                return false;
            }
            let leaky = shared.leaky.load(Ordering::Relaxed) != 0;
            let n = shared.queued.load(Ordering::Relaxed);
            // Take what is there at once if it makes a batch, or if waiting longer would
            // only add latency: after a spin, after a sleep (an item reached an idle
            // queue: a live or slow upstream gets it forwarded at once), when upstream
            // waits for room, or in a leaky queue (one item at a time).
            if n > 0
                && (n >= SPIN_BATCH
                    || spun
                    || slept
                    || leaky
                    || shared.wanted.load(Ordering::Relaxed))
            {
                let mut tx = shared.tx.lock();
                if leaky {
                    // A leaky queue drops queued items itself: it hands one item at a
                    // time, as items in a batch could not be leaked.
                    if let Some(item) = tx.items.pop_front() {
                        self.batch.push_back(item);
                    }
                } else {
                    // Everything, in O(1) under the lock: the emptied batch (with its
                    // capacity) becomes upstream's ring.
                    std::mem::swap(&mut tx.items, &mut self.batch);
                }
                shared.queued.store(tx.items.len(), Ordering::Relaxed);
                drop(tx);
                if !self.batch.is_empty() {
                    return true;
                }
                continue;
            }
            if !spun {
                // Few items or none: upstream is likely pushing more. Each batch taken
                // moves the lock's and the ring's cache lines between the cores, and
                // looking at the count pulls its line from upstream's core: wait a
                // little, looking now and then, for a batch to accumulate (or upstream
                // to wait, or items to stop coming), then take whatever is there, and
                // park only if that is nothing.
                spun = true;
                Self::spin(&shared, n);
                continue;
            }
            // Park under upstream's lock, which orders it against pushes: either a push
            // comes before and this sees the item, or it comes after and sees `parked`
            // (and wakes this thread under `park`, held from here until the wait).
            let parking = shared.park.lock_ignore_poison();
            let mut tx = shared.tx.lock();
            let park = tx.items.is_empty() && self.current_epoch();
            tx.parked |= park;
            drop(tx);
            if park {
                drop(shared.not_empty.wait_ignore_poison(parking));
                slept = true;
            }
        }
    }

    /// Waits for `SPIN_BATCH` items, for upstream to wait for room, for items to stop
    /// coming (`SPIN_STILL` looks without a change) or for `SPINS` looks, whichever
    /// comes first. `found`: the items there when it started.
    pub(super) fn spin(shared: &Shared, found: usize) {
        let (mut last, mut still) = (found, 0);
        watch(SPINS, SPIN_PAUSES, || {
            let queued = shared.queued.load(Ordering::Relaxed);
            if queued >= SPIN_BATCH || shared.wanted.load(Ordering::Relaxed) {
                return true;
            }
            if queued > 0 && queued == last {
                still += 1;
                still >= SPIN_STILL
            } else {
                (last, still) = (queued, 0);
                false
            }
        });
    }

    /// Downstream refused an item: the rest of the batch is dropped (and counted as
    /// gone), the error is kept for upstream. False if the queue flushed meanwhile.
    pub(super) fn fail(&mut self, e: FlowError) -> bool {
        for item in &self.batch {
            self.handed.add(Level::of(item));
        }
        self.out.store(self.handed);
        self.batch.clear();
        let mut tx = self.shared.tx.lock();
        if !self.current_epoch() {
            // Flushed meanwhile: this result belongs to the old stream.
            return false;
        }
        tx.downstream = Err(e);
        drop(tx);
        self.shared.wake_room();
        true
    }
}
