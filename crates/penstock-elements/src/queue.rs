//! `queue`: a thread boundary. Upstream's thread stores buffers and serialized events;
//! the queue's own thread pushes them downstream. Buffers move as handles: no copy.
//!
//! Per buffer, upstream takes one [`spin::Spin`] (one atomic swap, released by a store)
//! and appends to a ring; the streaming thread takes the whole ring at once when it has
//! handed on its previous batch, and publishes what it handed on through counters only
//! it writes. Upstream reads those only when its own count says the queue may be full.
//! Each side's per-item writes sit on cache lines of their own: with them next to each
//! other, the two cores traded a line per buffer and the handoff cost five times more.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Condvar, LazyLock, Mutex, OnceLock};

use penstock::buffer::Buffer;
use penstock::caps::Caps;
use penstock::element::{
    Element, ElementError, ElementFactory, ElementImpl, PropValue, PropertyError, PropertySpec,
    State as ElementState, StateChange, TaskControl,
};
use penstock::event::Event;
use penstock::flow::{FlowError, FlowResult};
use penstock::pad::{Pad, PadDirection, PadTemplate};
use penstock::property::PropertyTable;
use penstock::query::Query;
use penstock::spin;
use penstock::sync::{CondvarExt, MutexExt};

const LEAKY: &[(i32, &str, &str)] = &[
    (0, "no", "Not Leaky"),
    (1, "upstream", "Leaky on upstream (new buffers)"),
    (2, "downstream", "Leaky on downstream (old buffers)"),
];

/// The factory.
pub fn factory() -> ElementFactory {
    ElementFactory {
        name: "queue",
        long_name: "Queue",
        klass: "Generic",
        description: "Simple data queue",
        properties: PROPERTIES.specs(),
        pad_templates: PadTemplate::sink_and_src(Caps::new_any()),
        create: || Box::new(Queue::default()),
    }
}

/// How many times (`SPIN_PAUSES` pause instructions apart) the streaming thread looks
/// for `SPIN_BATCH` items in a queue that holds fewer before it takes what is there, or
/// parks. It also goes back early when upstream waits for room, or when items are
/// there and their count has not changed for `SPIN_STILL` looks. Each look pulls the
/// count's cache line from upstream's core, which then waits for it back to count the
/// next item: looking more often than this slowed a fast upstream.
const SPINS: u32 = 64;
const SPIN_BATCH: usize = 32;
const SPIN_STILL: u32 = 4;
const SPIN_PAUSES: u32 = 32;
/// Every `SPIN_YIELD` looks, the spinning thread yields its core.
const SPIN_YIELD: u32 = 16;
/// The capacity the two item rings start with (they grow if needed and are kept).
const BATCH: usize = 256;
/// The streaming thread looks whether upstream or a drain waits (a full fence) every
/// `WAKE_EVERY` items it hands on, and before the last item of each batch.
const WAKE_EVERY: u32 = 8;
/// How many times upstream, finding the queue full, looks for room (`ROOM_PAUSES`
/// pause instructions apart, for the same reason as `SPIN_PAUSES`) before it sleeps.
const ROOM_LOOKS: u32 = 1024;
const ROOM_PAUSES: u32 = 64;
/// How many times upstream, finding room but less than a quarter, looks for more before
/// it pushes anyway.
const NEAR_FULL_LOOKS: u32 = 64;

#[derive(Debug, Clone, Copy)]
struct Limits {
    buffers: u64,
    bytes: u64,
    time: u64,
    leaky: i32,
}

enum Item {
    Buffer(Buffer),
    /// Boxed: a queued item stays two words.
    Event(Box<Event>),
}

/// Amounts of data: items (buffers and events), buffers, bytes, nanoseconds.
#[derive(Default, Clone, Copy, Debug, PartialEq)]
struct Level {
    items: u64,
    buffers: u64,
    bytes: u64,
    time: u64,
}

impl Level {
    fn of(item: &Item) -> Level {
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

    fn add(&mut self, o: Level) {
        self.items += o.items;
        self.buffers += o.buffers;
        self.bytes += o.bytes;
        self.time += o.time;
    }

    /// Buffers, bytes and time times `num / den` (items as they are): full by this
    /// measure means more than `den / num` full.
    fn scaled(self, num: u64, den: u64) -> Level {
        Level {
            items: self.items,
            buffers: self.buffers.saturating_mul(num) / den,
            bytes: self.bytes.saturating_mul(num) / den,
            time: self.time.saturating_mul(num) / den,
        }
    }

    /// `self - o`, where `o` counts part of what `self` counts.
    fn minus(self, o: Level) -> Level {
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
struct Out {
    items: AtomicU64,
    buffers: AtomicU64,
    bytes: AtomicU64,
    time: AtomicU64,
}

impl Out {
    fn load(&self) -> Level {
        Level {
            items: self.items.load(Ordering::Acquire),
            buffers: self.buffers.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            time: self.time.load(Ordering::Relaxed),
        }
    }

    fn store(&self, l: Level) {
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
struct Tx {
    /// Items not yet taken by the streaming thread.
    items: VecDeque<Item>,
    flushing: bool,
    /// Last flow error of the streaming thread, returned to upstream.
    downstream: FlowResult,
    limits: Limits,
    /// Pushed in this epoch (less what leaked out of the queue).
    pushed: Level,
    /// This epoch's `Out`, and its value when last read: while `pushed - out_seen` is
    /// not full, neither is the queue, and the streaming thread's counters (a cache line
    /// it writes per item) are not read.
    out: Arc<Out>,
    out_seen: Level,
    /// Upstream threads waiting for room, and drain queries waiting for the queue to
    /// empty; they sleep on `not_full`.
    waiting_room: usize,
    waiting_empty: usize,
    /// `not_full` was notified since the last waiter began to wait: every waiter then is
    /// woken already.
    room_notified: bool,
    /// The streaming thread found no items and sleeps (or is about to) on `not_empty`:
    /// the next push wakes it.
    parked: bool,
}

impl Tx {
    /// The level as GStreamer counts it: what has not been handed downstream yet.
    fn current(&mut self) -> Level {
        self.out_seen = self.out.load();
        self.pushed.minus(self.out_seen)
    }

    fn is_full(level: &Level, l: &Limits) -> bool {
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
    fn low(level: &Level, l: &Limits) -> bool {
        !Tx::is_full(&level.scaled(4, 1), l)
    }

    /// Whether to wake (`Shared::wake_room`) upstream, if it waits for room and the queue
    /// is at most a quarter full, and drain queries, if nothing is queued any more (nor
    /// held un-handed in the streaming thread's batch). Marks the notification as done.
    fn wake_waiters(&mut self, shared: &Shared) -> bool {
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
    fn reset(&mut self) {
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
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Upstream writes `tx` and `queued` per item, the streaming thread writes `Out` per
/// item (each on lines of their own); the rest is read per item and written rarely.
struct Shared {
    tx: Padded<spin::Spin<Tx>>,
    /// Upstream waits for room, drain queries for the queue to empty, until `wakes`
    /// changes (with `sleep`).
    sleep: Mutex<()>,
    not_full: Condvar,
    /// Held by the streaming thread while it hands a batch on, and by a flush-stop.
    stream: Padded<Mutex<()>>,
    /// A parked streaming thread waits for an item (with `park`).
    park: Mutex<()>,
    not_empty: Condvar,
    /// `Tx::items.len()`, stored by upstream after each push: what the streaming thread,
    /// waiting for a batch, watches without taking the lock.
    queued: Padded<AtomicUsize>,
    /// Bumped whenever flushing starts or stops: a streaming thread of an older epoch
    /// (still finishing a push) exits instead of taking items of the new one.
    epoch: AtomicU64,
    /// `Limits::leaky`, for the streaming thread.
    leaky: AtomicI32,
    /// Someone waits for room or for a drain: the streaming thread then takes the `tx`
    /// lock after handing items on, to wake them when there is room.
    wanted: AtomicBool,
    /// Bumped with every notification of `not_full`, at flushing and at a downstream
    /// error: what a waiting upstream or drain waits for a change of.
    wakes: AtomicU64,
}

static PROPERTIES: LazyLock<PropertyTable<Queue>> = LazyLock::new(|| {
    PropertyTable::<Queue>::new()
        .add(
            PropertySpec::uint(
                "max-size-buffers",
                "Max. number of buffers in the queue (0=disable)",
                0..=u64::from(u32::MAX),
                200,
            ),
            |q| q.shared.tx.lock().limits.buffers,
            |q, v| q.shared.tx.lock().limits.buffers = v,
        )
        .add(
            PropertySpec::uint(
                "max-size-bytes",
                "Max. amount of data in the queue (bytes, 0=disable)",
                0..=u64::from(u32::MAX),
                10_485_760,
            ),
            |q| q.shared.tx.lock().limits.bytes,
            |q, v| q.shared.tx.lock().limits.bytes = v,
        )
        .add(
            PropertySpec::uint(
                "max-size-time",
                "Max. amount of data in the queue (in ns, 0=disable)",
                0..=u64::MAX,
                1_000_000_000,
            ),
            |q| q.shared.tx.lock().limits.time,
            |q, v| q.shared.tx.lock().limits.time = v,
        )
        .add(
            PropertySpec::enumeration("leaky", "Where the queue leaks, if at all", LEAKY, 0),
            |q| q.shared.tx.lock().limits.leaky,
            |q, v| {
                q.shared.tx.lock().limits.leaky = v;
                q.shared.leaky.store(v, Ordering::Relaxed);
            },
        )
        // Limits may have grown: wake a waiting upstream.
        .after_set(|q, _| q.shared.wake_room())
});

/// The element.
pub struct Queue {
    shared: Arc<Shared>,
    src: OnceLock<Pad>,
}

impl Default for Queue {
    fn default() -> Self {
        Queue {
            shared: Arc::new(Shared {
                tx: Padded(spin::Spin::new(Tx {
                    items: VecDeque::with_capacity(BATCH),
                    flushing: true,
                    downstream: Ok(()),
                    limits: Limits {
                        buffers: 200,
                        bytes: 10_485_760,
                        time: 1_000_000_000,
                        leaky: 0,
                    },
                    pushed: Level::default(),
                    out: Arc::new(Out::default()),
                    out_seen: Level::default(),
                    waiting_room: 0,
                    waiting_empty: 0,
                    room_notified: false,
                    parked: false,
                })),
                sleep: Mutex::new(()),
                not_full: Condvar::new(),
                stream: Padded(Mutex::new(())),
                park: Mutex::new(()),
                not_empty: Condvar::new(),
                queued: Padded(AtomicUsize::new(0)),
                epoch: AtomicU64::new(0),
                leaky: AtomicI32::new(0),
                wanted: AtomicBool::new(false),
                wakes: AtomicU64::new(0),
            }),
            src: OnceLock::new(),
        }
    }
}

/// Looks `looks` times, `pauses` pause instructions apart, until `done` says so,
/// yielding the core every `SPIN_YIELD` looks: the other side may be waiting for this
/// core (a busy or one-core machine), and the yield lets it run.
fn watch(looks: u32, pauses: u32, mut done: impl FnMut() -> bool) {
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

/// The streaming thread's side: its batch and what it handed on.
struct Streaming {
    shared: Arc<Shared>,
    epoch: u64,
    out: Arc<Out>,
    /// Everything handed on (or dropped) in this epoch: what `out` holds.
    handed: Level,
    batch: VecDeque<Item>,
    /// Items handed on since the last look at `wanted`.
    unchecked: u32,
}

impl Streaming {
    /// Records `item` as handed downstream (before pushing it: GStreamer's level does
    /// not count the item being pushed either), and wakes upstream or a drain if they
    /// wait and this made room for them.
    fn hand_on(&mut self, item: &Item) {
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
    fn wake_upstream(&self) {
        let mut tx = self.shared.tx.lock();
        let wake = self.current_epoch() && tx.wake_waiters(&self.shared);
        drop(tx);
        if wake {
            self.shared.wake_room();
        }
    }

    fn current_epoch(&self) -> bool {
        self.shared.epoch.load(Ordering::Acquire) == self.epoch
    }

    /// Waits for items and takes a batch: upstream's whole ring (one item in a leaky
    /// queue). False: flushing or a newer epoch; stop.
    fn take_batch(&mut self) -> bool {
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
    fn spin(shared: &Shared, found: usize) {
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
    fn fail(&mut self, e: FlowError) -> bool {
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

impl Queue {
    fn start_task(&self, element: &Element) -> Result<(), ElementError> {
        let src = self
            .src
            .get()
            .cloned()
            .ok_or_else(|| ElementError::new("queue has no source pad"))?;
        let mut streaming = {
            let tx = self.shared.tx.lock();
            Streaming {
                shared: Arc::clone(&self.shared),
                epoch: self.shared.epoch.load(Ordering::Relaxed),
                out: Arc::clone(&tx.out),
                handed: tx.out.load(),
                batch: VecDeque::with_capacity(BATCH),
                unchecked: 0,
            }
        };
        let el = element.clone();
        element.spawn_task("queue", move || {
            if !streaming.take_batch() {
                return TaskControl::Stop;
            }
            // The stream lock, held while this batch is handed on: a flush-stop takes
            // it, so it waits until no item taken before the flush can still be pushed
            // (each item is checked against the epoch under it; after a flush-start,
            // downstream refuses a push at once, so the wait is short).
            let shared = Arc::clone(&streaming.shared);
            let _stream = shared.stream.lock_ignore_poison();
            while let Some(item) = streaming.batch.pop_front() {
                if !streaming.current_epoch() {
                    streaming.batch.clear();
                    return TaskControl::Stop;
                }
                streaming.hand_on(&item);
                let result = match item {
                    Item::Buffer(b) => src.push(b),
                    Item::Event(e) => {
                        let eos = *e == Event::Eos;
                        src.push_event(*e);
                        if eos { Err(FlowError::Eos) } else { Ok(()) }
                    }
                };
                if let Err(e) = result {
                    if streaming.fail(e) && e.is_fatal() {
                        el.report_flow_error(e);
                        src.push_event(Event::Eos);
                    }
                    return TaskControl::Stop;
                }
            }
            TaskControl::Continue
        })
    }

    fn enqueue(&self, item: Item) -> FlowResult {
        let shared = &*self.shared;
        let mut tx = shared.tx.lock();
        if tx.flushing {
            return Err(FlowError::Flushing);
        }
        tx.downstream?;
        let level = Level::of(&item);
        // While what was pushed less what was last seen handed on is not full, the queue
        // is not full either.
        if level.buffers > 0 && Tx::is_full(&tx.pushed.minus(tx.out_seen), &tx.limits) {
            drop(tx);
            match self.make_room()? {
                (t, Room::Made) => tx = t,
                (_, Room::LeakNew) => return Ok(()),
            }
        }
        tx.pushed.add(level);
        tx.items.push_back(item);
        shared.queued.store(tx.items.len(), Ordering::Relaxed);
        let wake = std::mem::take(&mut tx.parked);
        drop(tx);
        if wake {
            // Under `park`: the streaming thread holds it from parking until it waits.
            // All: one of them may be a thread of an older epoch, about to exit.
            let _parking = shared.park.lock_ignore_poison();
            shared.not_empty.notify_all();
        }
        Ok(())
    }

    /// The queue looked full: waits for room (or leaks, in a leaky queue). Returns with
    /// upstream's lock held and room for a buffer, or an error (flushing, downstream).
    #[cold]
    fn make_room(&self) -> Result<(spin::SpinGuard<'_, Tx>, Room), FlowError> {
        let shared = &*self.shared;
        let mut spun = false;
        loop {
            let mut tx = shared.tx.lock();
            if tx.flushing {
                return Err(FlowError::Flushing);
            }
            tx.downstream?;
            let level = tx.current();
            let wakes = shared.wakes.load(Ordering::Acquire);
            if !Tx::is_full(&level, &tx.limits) {
                if spun || tx.limits.leaky != 0 || !Tx::is_full(&level.scaled(4, 3), &tx.limits) {
                    return Ok((tx, Room::Made));
                }
                // Room, but little, and the streaming thread is probably handing items on
                // (it was full a moment ago). Pushing now would bring upstream back here
                // for every item, each time reading the line of counters the streaming
                // thread writes per item, and the two cores would trade it per buffer:
                // watch briefly for a quarter of the queue to free up, then push a burst
                // (or push anyway: downstream may be blocked, and the room is there).
                spun = true;
                let out = Arc::clone(&tx.out);
                let (pushed, limits) = (tx.pushed, tx.limits);
                drop(tx);
                Queue::spin_for_room(shared, &out, pushed, &limits, wakes, NEAR_FULL_LOOKS);
                continue;
            }
            match tx.limits.leaky {
                1 => return Ok((tx, Room::LeakNew)),
                2 => {
                    // Leak the oldest buffer (events stay, in order).
                    let pos = tx.items.iter().position(|i| matches!(i, Item::Buffer(_)));
                    let Some(old) = pos.and_then(|p| tx.items.remove(p)) else {
                        // Only events are queued: nothing to leak, and they are no data.
                        return Ok((tx, Room::Made));
                    };
                    // Upstream's own count: it leaked out before the streaming thread saw
                    // it.
                    tx.pushed = tx.pushed.minus(Level::of(&old));
                    shared.queued.store(tx.items.len(), Ordering::Relaxed);
                    drop(tx);
                    drop(old);
                }
                _ if !spun => {
                    // The streaming thread is likely handing items on, on another core:
                    // watch its count without the lock (and without sleeping: a sleep and
                    // a wake-up cost far more than the microseconds a batch takes) until
                    // a quarter of the queue is free, so that upstream then pushes a
                    // burst rather than one item per item handed on.
                    spun = true;
                    let out = Arc::clone(&tx.out);
                    let (pushed, limits) = (tx.pushed, tx.limits);
                    drop(tx);
                    Queue::spin_for_room(shared, &out, pushed, &limits, wakes, ROOM_LOOKS);
                }
                _ => {
                    tx.waiting_room += 1;
                    tx.room_notified = false;
                    // Announce, then look again (see `Streaming::hand_on`).
                    shared.wanted.store(true, Ordering::Relaxed);
                    fence(Ordering::SeqCst);
                    let full = Tx::is_full(&tx.current(), &tx.limits);
                    drop(tx);
                    if full {
                        // The streaming thread made no room while upstream watched:
                        // sleep until it does (from a quarter full, see `Tx::low`).
                        shared.sleep_until(wakes);
                    }
                    shared.tx.lock().waiting_room -= 1;
                }
            }
        }
    }

    /// Upstream, finding the queue (nearly) full: watches the streaming thread's count
    /// until a quarter of the queue is free, for `looks` looks (some pauses apart,
    /// yielding the core every few: on a busy machine both threads often share one core,
    /// and the yield lets the streaming thread drain at once). Returns early at a flush
    /// or a downstream error (`wakes` changed).
    fn spin_for_room(
        shared: &Shared,
        out: &Out,
        pushed: Level,
        limits: &Limits,
        wakes: u64,
        looks: u32,
    ) {
        watch(looks, ROOM_PAUSES, || {
            let level = pushed.minus(out.load());
            !Tx::is_full(&level.scaled(4, 3), limits)
                || shared.wakes.load(Ordering::Acquire) != wakes
        });
    }

    /// Starts or stops flushing: a new epoch either way. Starting drops every queued
    /// item (returned, to be dropped without the locks: their buffers go back to their
    /// pools); the streaming thread drops its own batch when it sees the new epoch.
    fn set_flushing(&self, flushing: bool) -> Vec<Item> {
        let shared = &*self.shared;
        let mut tx = shared.tx.lock();
        tx.flushing = flushing;
        if !flushing {
            tx.downstream = Ok(());
        }
        shared.epoch.fetch_add(1, Ordering::AcqRel);
        tx.reset();
        tx.parked = false;
        // Upstream cannot push any more while flushing: what the ring holds now is all
        // there is to drop.
        let dropped = std::mem::take(&mut tx.items);
        shared.queued.store(0, Ordering::Relaxed);
        drop(tx);
        let parking = shared.park.lock_ignore_poison();
        shared.not_empty.notify_all();
        drop(parking);
        shared.wake_room();
        dropped.into()
    }

    /// Waits until everything queued was handed downstream (or the queue flushed, or
    /// downstream failed: then drops what is left).
    fn drain(&self) {
        let shared = &*self.shared;
        let mut tx = shared.tx.lock();
        tx.waiting_empty += 1;
        loop {
            if tx.flushing || tx.downstream.is_err() {
                break;
            }
            tx.room_notified = false;
            let wakes = shared.wakes.load(Ordering::Acquire);
            // Announce, then look (see `Streaming::hand_on`).
            shared.wanted.store(true, Ordering::Relaxed);
            fence(Ordering::SeqCst);
            if tx.current().items == 0 {
                break;
            }
            drop(tx);
            shared.sleep_until(wakes);
            tx = shared.tx.lock();
        }
        tx.waiting_empty -= 1;
        // Everything was handed on, unless downstream failed or the queue flushed: then
        // drop what is left.
        if !tx.flushing && tx.downstream.is_ok() {
            return;
        }
        let dropped = std::mem::take(&mut tx.items);
        shared.queued.store(0, Ordering::Relaxed);
        let mut gone = Level::default();
        for item in &dropped {
            gone.add(Level::of(item));
        }
        tx.pushed = tx.pushed.minus(gone);
        drop(tx);
        drop(dropped);
    }
}

impl Shared {
    /// Sleeps until `wakes` differs from `seen`.
    fn sleep_until(&self, seen: u64) {
        let mut g = self.sleep.lock_ignore_poison();
        while self.wakes.load(Ordering::Acquire) == seen {
            g = self.not_full.wait_ignore_poison(g);
        }
    }

    /// Changes `wakes` and wakes every `sleep_until`: taking `sleep` after the change
    /// means a sleeper is either waiting already or will see the change before it
    /// waits. Upstream spinning for room (`Queue::spin_for_room`) sees the change too.
    fn wake_room(&self) {
        self.wakes.fetch_add(1, Ordering::Release);
        drop(self.sleep.lock_ignore_poison());
        self.not_full.notify_all();
    }
}

/// What `make_room` did.
enum Room {
    /// There is room now.
    Made,
    /// `leaky=upstream`: drop the new buffer.
    LeakNew,
}

impl ElementImpl for Queue {
    fn init(&self, element: &Element) {
        if let Some(p) = element.src_pad() {
            let _ = self.src.set(p);
        }
    }

    fn set_property(
        &self,
        element: &Element,
        name: &str,
        value: PropValue,
    ) -> Result<(), PropertyError> {
        PROPERTIES.set(self, element, name, value)
    }

    fn property(&self, _element: &Element, name: &str) -> Option<PropValue> {
        PROPERTIES.get(self, name).or_else(|| {
            // A level, not a setting: readable, and not in the factory's list.
            (name == "current-level-buffers")
                .then(|| PropValue::UInt(self.shared.tx.lock().current().buffers))
        })
    }

    fn change_state(&self, element: &Element, change: StateChange) -> Result<(), ElementError> {
        match change {
            StateChange::PausedToPlaying => {
                drop(self.set_flushing(false));
                self.start_task(element)
            }
            _ => Ok(()),
        }
    }

    fn unlock(&self, _element: &Element) {
        // Buffers still queued are released here, before upstream deactivates its pool.
        drop(self.set_flushing(true));
    }

    fn chain(&self, _element: &Element, _pad: &Pad, buffer: Buffer) -> FlowResult {
        self.enqueue(Item::Buffer(buffer))
    }

    fn sink_event(&self, element: &Element, _pad: &Pad, event: Event) -> bool {
        match event {
            Event::FlushStart => {
                drop(self.set_flushing(true));
                self.src
                    .get()
                    .is_some_and(|p| p.push_event(Event::FlushStart))
            }
            Event::FlushStop { reset_time } => {
                // Wait for the streaming thread of before the flush to finish its batch
                // (see `start_task`): nothing from before the flush follows flush-stop.
                let stream = self.shared.stream.lock_ignore_poison();
                drop(self.set_flushing(false));
                let forwarded = self
                    .src
                    .get()
                    .is_some_and(|p| p.push_event(Event::FlushStop { reset_time }));
                // The streaming thread ended at flush-start (or at EOS): start another,
                // once downstream stopped flushing.
                if element.state() == ElementState::Playing {
                    if let Err(e) = self.start_task(element) {
                        element.post_error(&e.message, e.debug);
                    }
                }
                drop(stream);
                forwarded
            }
            e => self.enqueue(Item::Event(Box::new(e))).is_ok(),
        }
    }

    fn query(&self, element: &Element, pad: &Pad, query: &mut Query) -> bool {
        match query {
            Query::Drain if pad.direction() == PadDirection::Sink => {
                // Hand every queued buffer downstream (or drop them if nothing flows),
                // then ask downstream to drain too.
                self.drain();
                element.default_query(pad, query)
            }
            _ => element.default_query(pad, query),
        }
    }
}
