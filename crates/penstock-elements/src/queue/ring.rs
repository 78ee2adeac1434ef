//! The queue's ring: what upstream and the streaming thread share (the item list under
//! a spin lock, the level counters each side writes on cache lines of its own), the
//! limits and the level arithmetic, and the spin-then-sleep waits.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use penstock::buffer::Buffer;
use penstock::event::Event;
use penstock::flow::FlowResult;
use penstock::spin;
use penstock::sync::{CondvarExt, MutexExt};

/// How many times (`SPIN_PAUSES` pause instructions apart) the streaming thread looks
/// for `SPIN_BATCH` items in a queue that holds fewer before it takes what is there, or
/// parks. It also goes back early when upstream waits for room, or when items are
/// there and their count has not changed for `SPIN_STILL` looks. Each look pulls the
/// count's cache line from upstream's core, which then waits for it back to count the
/// next item: looking more often than this slowed a fast upstream.
pub(super) const SPINS: u32 = 64;
pub(super) const SPIN_BATCH: usize = 32;
pub(super) const SPIN_STILL: u32 = 4;
pub(super) const SPIN_PAUSES: u32 = 32;
/// Every `SPIN_YIELD` looks, the spinning thread yields its core.
pub(super) const SPIN_YIELD: u32 = 16;
/// The capacity the two item rings start with (they grow if needed and are kept).
pub(super) const BATCH: usize = 256;
/// The streaming thread looks whether upstream or a drain waits (a full fence) every
/// `WAKE_EVERY` items it hands on, and before the last item of each batch.
pub(super) const WAKE_EVERY: u32 = 8;
/// How many times upstream, finding the queue full, looks for room (`ROOM_PAUSES`
/// pause instructions apart, for the same reason as `SPIN_PAUSES`) before it sleeps.
pub(super) const ROOM_LOOKS: u32 = 1024;
pub(super) const ROOM_PAUSES: u32 = 64;
/// How many times upstream, finding room but less than a quarter, looks for more before
/// it pushes anyway.
pub(super) const NEAR_FULL_LOOKS: u32 = 64;

#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub(super) buffers: u64,
    pub(super) bytes: u64,
    pub(super) time: u64,
    pub(super) leaky: i32,
}

pub(super) enum Item {
    Buffer(Buffer),
    /// Boxed: a queued item stays two words.
    Event(Box<Event>),
}

/// Amounts of data: items (buffers and events), buffers, bytes, nanoseconds.
#[derive(Default, Clone, Copy, Debug, PartialEq)]
pub(super) struct Level {
    pub(super) items: u64,
    pub(super) buffers: u64,
    pub(super) bytes: u64,
    pub(super) time: u64,
}

impl Level {
    pub(super) fn of(item: &Item) -> Level {
        match item {
            Item::Buffer(b) => Level {
                items: 1,
                buffers: 1,
                bytes: b.size() as u64,
                time: b.duration().map_or(0, |d| d.nseconds()),
            },
            Item::Event(_) => Level {
                items: 1,
                ..Level::default()
            },
        }
    }

    pub(super) fn add(&mut self, o: Level) {
        self.items += o.items;
        self.buffers += o.buffers;
        self.bytes += o.bytes;
        self.time += o.time;
    }

    /// Buffers, bytes and time times `num / den` (items as they are): full by this
    /// measure means more than `den / num` full.
    pub(super) fn scaled(self, num: u64, den: u64) -> Level {
        Level {
            items: self.items,
            buffers: self.buffers.saturating_mul(num) / den,
            bytes: self.bytes.saturating_mul(num) / den,
            time: self.time.saturating_mul(num) / den,
        }
    }

    /// `self - o`, where `o` counts part of what `self` counts.
    pub(super) fn minus(self, o: Level) -> Level {
        Level {
            items: self.items.saturating_sub(o.items),
            buffers: self.buffers.saturating_sub(o.buffers),
            bytes: self.bytes.saturating_sub(o.bytes),
            time: self.time.saturating_sub(o.time),
        }
    }
}

/// Everything the streaming thread of one epoch has handed downstream (or dropped after
/// a downstream error): cumulative, written by that thread alone with plain stores,
/// read by upstream. The queue's level is what upstream pushed in the epoch less this.
/// A flush gives the next epoch a fresh one, so an older thread cannot disturb it.
#[derive(Default)]
#[repr(align(128))]
pub(super) struct Out {
    pub(super) items: AtomicU64,
    pub(super) buffers: AtomicU64,
    pub(super) bytes: AtomicU64,
    pub(super) time: AtomicU64,
}

impl Out {
    pub(super) fn load(&self) -> Level {
        Level {
            items: self.items.load(Ordering::Acquire),
            buffers: self.buffers.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            time: self.time.load(Ordering::Relaxed),
        }
    }

    pub(super) fn store(&self, l: Level) {
        self.buffers.store(l.buffers, Ordering::Relaxed);
        self.bytes.store(l.bytes, Ordering::Relaxed);
        self.time.store(l.time, Ordering::Relaxed);
        self.items.store(l.items, Ordering::Release);
    }
}

/// Upstream's side, under a [`spin::Spin`] that upstream takes once per item: the
/// streaming thread takes it only to park, to wake upstream, or to report a downstream
/// error; a flush, a drain and the properties take it too. Nothing that blocks (or drops
/// a buffer) happens under it.
pub(super) struct Tx {
    /// Items not yet taken by the streaming thread.
    pub(super) items: VecDeque<Item>,
    pub(super) flushing: bool,
    /// Last flow error of the streaming thread, returned to upstream.
    pub(super) downstream: FlowResult,
    pub(super) limits: Limits,
    /// Pushed in this epoch (less what leaked out of the queue).
    pub(super) pushed: Level,
    /// This epoch's `Out`, and its value when last read: while `pushed - out_seen` is
    /// not full, neither is the queue, and the streaming thread's counters (a cache line
    /// it writes per item) are not read.
    pub(super) out: Arc<Out>,
    pub(super) out_seen: Level,
    /// Upstream threads waiting for room, and drain queries waiting for the queue to
    /// empty; they sleep on `not_full`.
    pub(super) waiting_room: usize,
    pub(super) waiting_empty: usize,
    /// `not_full` was notified since the last waiter began to wait: every waiter then is
    /// woken already.
    pub(super) room_notified: bool,
    /// The streaming thread found no items and sleeps (or is about to) on `not_empty`:
    /// the next push wakes it.
    pub(super) parked: bool,
}

impl Tx {
    /// The level as GStreamer counts it: what has not been handed downstream yet.
    pub(super) fn current(&mut self) -> Level {
        self.out_seen = self.out.load();
        self.pushed.minus(self.out_seen)
    }

    pub(super) fn is_full(level: &Level, l: &Limits) -> bool {
        (l.buffers > 0 && level.buffers >= l.buffers)
            || (l.bytes > 0 && level.bytes >= l.bytes)
            || (l.time > 0 && level.time >= l.time)
    }

    /// At most a quarter full: where a blocked upstream is woken. Waking it at the first
    /// free slot would cost a wake-up (a system call and, when both threads share a
    /// core, two context switches) per buffer when upstream is the faster side; from a
    /// quarter full it refills three quarters in one go, while the streaming thread
    /// still has a quarter to hand on before upstream's wake-up latency could leave it
    /// idle.
    pub(super) fn low(level: &Level, l: &Limits) -> bool {
        !Tx::is_full(&level.scaled(4, 1), l)
    }

    /// Whether to wake (`Shared::wake_room`) upstream, if it waits for room and the queue
    /// is at most a quarter full, and drain queries, if nothing is queued any more (nor
    /// held un-handed in the streaming thread's batch). Marks the notification as done.
    pub(super) fn wake_waiters(&mut self, shared: &Shared) -> bool {
        if self.waiting_room == 0 && self.waiting_empty == 0 {
            shared.wanted.store(false, Ordering::Relaxed);
            return false;
        }
        let level = self.current();
        let empty = level.items == 0;
        if !self.room_notified
            && ((self.waiting_room > 0 && (empty || Tx::low(&level, &self.limits)))
                || (self.waiting_empty > 0 && empty))
        {
            self.room_notified = true;
            return true;
        }
        false
    }

    /// A new epoch: nothing pushed, nothing handed.
    pub(super) fn reset(&mut self) {
        self.pushed = Level::default();
        self.out = Arc::new(Out::default());
        self.out_seen = Level::default();
    }
}

/// Keeps a field on cache lines of its own (two: adjacent-line prefetch pairs them), so
/// that one core writing it does not take the line another core reads its neighbours
/// from.
#[repr(align(128))]
#[derive(Default)]
pub(super) struct Padded<T>(pub(super) T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Upstream writes `tx` and `queued` per item, the streaming thread writes `Out` per
/// item (each on lines of their own); the rest is read per item and written rarely.
pub(super) struct Shared {
    pub(super) tx: Padded<spin::Spin<Tx>>,
    /// Upstream waits for room, drain queries for the queue to empty, until `wakes`
    /// changes (with `sleep`).
    pub(super) sleep: Mutex<()>,
    pub(super) not_full: Condvar,
    /// Held by the streaming thread while it hands a batch on, and by a flush-stop.
    pub(super) stream: Padded<Mutex<()>>,
    /// A parked streaming thread waits for an item (with `park`).
    pub(super) park: Mutex<()>,
    pub(super) not_empty: Condvar,
    /// `Tx::items.len()`, stored by upstream after each push: what the streaming thread,
    /// waiting for a batch, watches without taking the lock.
    pub(super) queued: Padded<AtomicUsize>,
    /// Bumped whenever flushing starts or stops: a streaming thread of an older epoch
    /// (still finishing a push) exits instead of taking items of the new one.
    pub(super) epoch: AtomicU64,
    /// `Limits::leaky`, for the streaming thread.
    pub(super) leaky: AtomicI32,
    /// Someone waits for room or for a drain: the streaming thread then takes the `tx`
    /// lock after handing items on, to wake them when there is room.
    pub(super) wanted: AtomicBool,
    /// Bumped with every notification of `not_full`, at flushing and at a downstream
    /// error: what a waiting upstream or drain waits for a change of.
    pub(super) wakes: AtomicU64,
}

impl Shared {
    /// Sleeps until `wakes` differs from `seen`.
    pub(super) fn sleep_until(&self, seen: u64) {
        let mut g = self.sleep.lock_ignore_poison();
        while self.wakes.load(Ordering::Acquire) == seen {
            g = self.not_full.wait_ignore_poison(g);
        }
    }

    /// Changes `wakes` and wakes every `sleep_until`: taking `sleep` after the change
    /// means a sleeper is either waiting already or will see the change before it
    /// waits. Upstream spinning for room (`Queue::spin_for_room`) sees the change too.
    pub(super) fn wake_room(&self) {
        self.wakes.fetch_add(1, Ordering::Release);
        drop(self.sleep.lock_ignore_poison());
        self.not_full.notify_all();
    }
}

/// What `make_room` did.
pub(super) enum Room {
    /// There is room now.
    Made,
    /// `leaky=upstream`: drop the new buffer.
    LeakNew,
}

/// Looks `looks` times, `pauses` pause instructions apart, until `done` says so,
/// yielding the core every `SPIN_YIELD` looks: the other side may be waiting for this
/// core (a busy or one-core machine), and the yield lets it run.
pub(super) fn watch(looks: u32, pauses: u32, mut done: impl FnMut() -> bool) {
    for i in 0..looks {
        if i % SPIN_YIELD == SPIN_YIELD - 1 {
            std::thread::yield_now();
        }
        for _ in 0..pauses {
            std::hint::spin_loop();
        }
        if done() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer_item(size: usize, duration_ns: Option<u64>) -> Item {
        let mut b = penstock::BufferMut::with_size(size).unwrap();
        b.set_duration(duration_ns.map(penstock::ClockTime::from_nseconds));
        Item::Buffer(b.freeze())
    }

    #[test]
    fn a_level_counts_items_buffers_bytes_and_time() {
        let mut l = Level::default();
        l.add(Level::of(&buffer_item(100, Some(40))));
        l.add(Level::of(&buffer_item(50, None)));
        l.add(Level::of(&Item::Event(Box::new(Event::Eos))));
        assert_eq!(
            l,
            Level {
                items: 3,
                buffers: 2,
                bytes: 150,
                time: 40
            }
        );
        let handed = Level::of(&buffer_item(100, Some(40)));
        assert_eq!(
            l.minus(handed),
            Level {
                items: 2,
                buffers: 1,
                bytes: 50,
                time: 0
            }
        );
        // Never below zero, whatever was handed.
        assert_eq!(Level::default().minus(l), Level::default());
        // Scaling leaves the item count alone and saturates.
        let big = Level {
            items: 1,
            buffers: u64::MAX,
            bytes: 8,
            time: 3,
        };
        assert_eq!(
            big.scaled(4, 1),
            Level {
                items: 1,
                buffers: u64::MAX,
                bytes: 32,
                time: 12
            }
        );
    }

    #[test]
    fn full_by_any_limit_and_low_at_a_quarter() {
        let limits = Limits {
            buffers: 8,
            bytes: 0,
            time: 1_000,
            leaky: 0,
        };
        let at = |buffers, time| Level {
            items: buffers,
            buffers,
            bytes: u64::MAX,
            time,
        };
        // bytes=0 is no limit, however many bytes are queued.
        assert!(!Tx::is_full(&at(7, 999), &limits));
        assert!(Tx::is_full(&at(8, 0), &limits));
        assert!(Tx::is_full(&at(0, 1_000), &limits));
        // Low: at most a quarter of every limit.
        assert!(Tx::low(&at(1, 249), &limits));
        assert!(!Tx::low(&at(2, 0), &limits));
        assert!(!Tx::low(&at(0, 250), &limits));
        let unlimited = Limits {
            buffers: 0,
            bytes: 0,
            time: 0,
            leaky: 0,
        };
        assert!(!Tx::is_full(&at(u64::MAX, u64::MAX), &unlimited));
    }
}
