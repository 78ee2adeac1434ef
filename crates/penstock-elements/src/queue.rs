//! `queue`: a thread boundary. Upstream's thread stores buffers and serialized events;
//! the queue's own thread pushes them downstream. Buffers move as handles: no copy.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

use penstock::buffer::Buffer;
use penstock::caps::Caps;
use penstock::element::{
    Element, ElementError, ElementFactory, ElementImpl, PropType, PropValue, PropertyError,
    PropertySpec, State as ElementState, StateChange, TaskControl,
};
use penstock::event::Event;
use penstock::flow::{FlowError, FlowResult};
use penstock::pad::{Pad, PadDirection, PadPresence, PadTemplate};
use penstock::query::Query;

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
        properties: vec![
            PropertySpec::new(
                "max-size-buffers",
                "Max. number of buffers in the queue (0=disable)",
                PropType::UInt {
                    min: 0,
                    max: u32::MAX as u64,
                },
                PropValue::UInt(200),
            ),
            PropertySpec::new(
                "max-size-bytes",
                "Max. amount of data in the queue (bytes, 0=disable)",
                PropType::UInt {
                    min: 0,
                    max: u32::MAX as u64,
                },
                PropValue::UInt(10_485_760),
            ),
            PropertySpec::new(
                "max-size-time",
                "Max. amount of data in the queue (in ns, 0=disable)",
                PropType::UInt {
                    min: 0,
                    max: u64::MAX,
                },
                PropValue::UInt(1_000_000_000),
            ),
            PropertySpec::new(
                "leaky",
                "Where the queue leaks, if at all",
                PropType::Enum(LEAKY),
                PropValue::Enum(0),
            ),
        ],
        pad_templates: vec![
            PadTemplate::new(
                "sink",
                PadDirection::Sink,
                PadPresence::Always,
                Caps::new_any(),
            ),
            PadTemplate::new(
                "src",
                PadDirection::Src,
                PadPresence::Always,
                Caps::new_any(),
            ),
        ],
        create: || Box::new(Queue::default()),
    }
}

/// How many times (8 pause instructions apart) the streaming thread looks for
/// `SPIN_BATCH` items in a queue that holds fewer before it takes what is there, or
/// sleeps. It also goes back early when upstream waits for room, or when items are
/// there and their count has not changed for `SPIN_STILL` looks.
const SPINS: u32 = 256;
const SPIN_BATCH: usize = 32;
const SPIN_STILL: u32 = 16;
/// While upstream waits, the streaming thread gives back what it handed on (and wakes
/// upstream if that made room) every `WAKE_EVERY` items.
const WAKE_EVERY: u64 = 8;
/// How many times upstream, finding the queue full, yields and looks for room before
/// it sleeps.
const ROOM_LOOKS: u32 = 16;
/// Every `SPIN_YIELD` looks, the spinning thread yields its core.
const SPIN_YIELD: u32 = 16;

#[derive(Debug, Clone, Copy)]
struct Limits {
    buffers: u64,
    bytes: u64,
    time: u64,
    leaky: i32,
}

enum Item {
    Buffer(Buffer),
    Event(Event),
}

/// Amounts of queued data: items (buffers and events), buffers, bytes, nanoseconds.
#[derive(Default, Clone, Copy)]
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

    fn sub(&mut self, o: Level) {
        self.items = self.items.saturating_sub(o.items);
        self.buffers = self.buffers.saturating_sub(o.buffers);
        self.bytes = self.bytes.saturating_sub(o.bytes);
        self.time = self.time.saturating_sub(o.time);
    }
}

/// What the streaming thread has handed downstream from its current batch since it
/// last took the lock. The thread writes it (plain stores, one writer); upstream reads
/// it under the lock to know the queue's real level. `items` is written last, with
/// `SeqCst`, and pairs with `Shared::wanted` (see `Queue::hand_on`).
#[derive(Default)]
struct Handed {
    items: AtomicU64,
    buffers: AtomicU64,
    bytes: AtomicU64,
    time: AtomicU64,
}

impl Handed {
    fn load(&self) -> Level {
        let items = self.items.load(Ordering::SeqCst);
        Level {
            items,
            buffers: self.buffers.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            time: self.time.load(Ordering::Relaxed),
        }
    }

    fn store(&self, l: Level) {
        self.buffers.store(l.buffers, Ordering::Relaxed);
        self.bytes.store(l.bytes, Ordering::Relaxed);
        self.time.store(l.time, Ordering::Relaxed);
        self.items.store(l.items, Ordering::SeqCst);
    }
}

struct State {
    /// Items not yet taken by the streaming thread.
    items: VecDeque<Item>,
    /// The level of `items` alone: the streaming thread takes them all at once, with
    /// their level, without looking at each under the lock.
    queued_level: Level,
    /// Everything queued: `items`, and the streaming thread's batch less what it has
    /// handed on (`handed`) since it last took the lock.
    level: Level,
    /// The current streaming thread's `Handed` (a fresh one per thread, so a thread of
    /// an older epoch cannot disturb the count).
    handed: Arc<Handed>,
    flushing: bool,
    /// Last flow result of the streaming thread, returned to upstream.
    downstream: FlowResult,
    /// Drain queries waiting for the queue to empty.
    waiting_empty: usize,
    /// Upstream threads waiting for room (`not_full`), and whether the streaming thread
    /// waits for an item (`not_empty`): condition variables are notified only when
    /// someone waits, so a buffer passing a queue that blocks no one makes no system
    /// call.
    waiting_room: usize,
    /// (A count: a thread of an older epoch may still be waking up.)
    waiting_item: usize,
    /// `not_empty` (`not_full`) was notified since the last thread began to wait on
    /// it: every thread waiting then is woken already, so the next items (hand-offs)
    /// make no system call while the woken thread waits for a core.
    item_notified: bool,
    room_notified: bool,
    /// The limits, under the same lock as the level (one lock per buffer upstream).
    limits: Limits,
    /// Bumped whenever flushing starts or stops: a streaming thread of an older epoch
    /// (still finishing a push) exits instead of taking items of the new one.
    epoch: u64,
}

impl State {
    /// The level as GStreamer counts it: what has not been handed downstream yet.
    fn current(&self) -> Level {
        let mut l = self.level;
        l.sub(self.handed.load());
        l
    }
}

struct Shared {
    state: Mutex<State>,
    not_empty: Condvar,
    not_full: Condvar,
    /// `items.len()`, written under the lock, read without it by a streaming thread
    /// that found the queue empty and looks again before sleeping.
    queued: AtomicUsize,
    /// Someone waits for room or for a drain: the streaming thread then takes the lock
    /// after handing an item on, to account and wake them.
    wanted: AtomicBool,
    /// `State::epoch`, readable per item without the lock.
    epoch: AtomicU64,
    /// Set with every notification of `not_full` (and at flushing or a downstream
    /// error): what upstream, spinning on a full queue before it sleeps, watches.
    room: AtomicBool,
}

/// The element.
pub struct Queue {
    shared: Arc<Shared>,
    src: OnceLock<Pad>,
}

impl Default for Queue {
    fn default() -> Self {
        Queue {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    items: VecDeque::with_capacity(256),
                    queued_level: Level::default(),
                    level: Level::default(),
                    handed: Arc::new(Handed::default()),
                    flushing: true,
                    downstream: Ok(()),
                    waiting_empty: 0,
                    waiting_room: 0,
                    waiting_item: 0,
                    item_notified: false,
                    room_notified: false,
                    limits: Limits {
                        buffers: 200,
                        bytes: 10_485_760,
                        time: 1_000_000_000,
                        leaky: 0,
                    },
                    epoch: 0,
                }),
                not_empty: Condvar::new(),
                not_full: Condvar::new(),
                queued: AtomicUsize::new(0),
                wanted: AtomicBool::new(false),
                epoch: AtomicU64::new(0),
                room: AtomicBool::new(false),
            }),
            src: OnceLock::new(),
        }
    }
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The capacity of the rings the streaming thread and upstream swap (they grow if
/// needed and are kept).
const BATCH: usize = 256;

/// The streaming thread's side: its batch and what it handed on since the last lock.
struct Streaming {
    shared: Arc<Shared>,
    handed_to: Arc<Handed>,
    epoch: u64,
    batch: VecDeque<Item>,
    /// Level of the items taken and not yet given back (handed on or not).
    taken: Level,
    /// Level of the items handed on since the last lock.
    handed: Level,
}

impl Streaming {
    /// Gives the accounting of the items handed on back to the queue (under the lock).
    /// True if upstream or a drain wait for what that freed: notify `not_full` then,
    /// after unlocking (a woken thread that preempts the notifier would find the lock
    /// taken and sleep again).
    #[must_use]
    fn give_back(&mut self, st: &mut State) -> bool {
        st.level.sub(self.handed);
        self.taken.sub(self.handed);
        self.handed = Level::default();
        self.handed_to.store(Level::default());
        Queue::wake_waiters(&self.shared, st)
    }

    /// Records `item` as handed downstream (before pushing it: GStreamer's level does
    /// not count the item being pushed either).
    fn hand_on(&mut self, item: &Item) {
        self.handed.add(Level::of(item));
        self.handed_to.store(self.handed);
        // Pairs with `enqueue` and the drain query: they set `wanted` (SeqCst) and then
        // read `Handed::items` (SeqCst), so either they see this item handed on, or we
        // see `wanted` and take the lock to wake them. Taking it for every item while
        // upstream waits would make a woken upstream contend for it (on a busy core:
        // preempt its holder and sleep again); upstream is woken from a quarter full,
        // so every `WAKE_EVERY` items is soon enough. The last item of a batch always
        // takes it (before the push, which may block): a drain waits for that one.
        if self.shared.wanted.load(Ordering::SeqCst)
            && (self.batch.is_empty() || self.handed.items % WAKE_EVERY == 0)
        {
            let shared = Arc::clone(&self.shared);
            let mut st = lock(&shared.state);
            let wake = st.epoch == self.epoch && self.give_back(&mut st);
            drop(st);
            if wake {
                shared.not_full.notify_all();
            }
        }
    }

    /// The next item: from the batch, or a new batch taken under the lock (waiting for
    /// one). `None`: flushing or a newer epoch; stop.
    fn next(&mut self) -> Option<Item> {
        if self.shared.epoch.load(Ordering::Acquire) != self.epoch {
            return None;
        }
        if let Some(item) = self.batch.pop_front() {
            return Some(item);
        }
        let shared = Arc::clone(&self.shared);
        let mut st = lock(&shared.state);
        let (mut spun, mut slept, mut wake) = (false, false, false);
        loop {
            if st.flushing || st.epoch != self.epoch {
                return None;
            }
            if self.give_back(&mut st) {
                wake = true;
            }
            let n = st.items.len();
            // Take what is there at once if it makes a batch, or if waiting longer would
            // only add latency: after a spin, after a sleep (an item reached an idle
            // queue: a live or slow upstream gets it forwarded at once), when upstream
            // waits for room, or in a leaky queue (one item at a time).
            if n > 0
                && (n >= SPIN_BATCH || spun || slept || st.waiting_room > 0 || st.limits.leaky != 0)
            {
                break;
            }
            if !spun {
                // Few items or none: upstream is likely pushing more. Each batch taken
                // costs a handoff of the lock's, the ring's and the items' cache lines
                // between the cores, and a lock taken per item would make upstream's
                // lock contended: wait a little without the lock for a batch to
                // accumulate (or upstream to wait, or items to stop coming), then take
                // whatever is there, and sleep only if that is nothing.
                spun = true;
                drop(st);
                if std::mem::take(&mut wake) {
                    shared.not_full.notify_all();
                }
                Self::spin(&shared, n);
                st = lock(&shared.state);
                continue;
            }
            if std::mem::take(&mut wake) {
                shared.not_full.notify_all();
            }
            st.waiting_item += 1;
            st.item_notified = false;
            st = shared.not_empty.wait(st).unwrap_or_else(|p| p.into_inner());
            st.waiting_item -= 1;
            slept = true;
        }
        if st.limits.leaky != 0 {
            // A leaky queue drops queued items itself: it hands one item at a time, as
            // items in a batch could not be leaked.
            if let Some(item) = st.items.pop_front() {
                let l = Level::of(&item);
                st.queued_level.sub(l);
                self.taken.add(l);
                self.batch.push_back(item);
            }
        } else {
            // Everything, in O(1) under the lock: the emptied batch (with its capacity)
            // becomes the queue's ring.
            std::mem::swap(&mut st.items, &mut self.batch);
            self.taken.add(st.queued_level);
            st.queued_level = Level::default();
        }
        shared.queued.store(st.items.len(), Ordering::Relaxed);
        drop(st);
        if wake {
            shared.not_full.notify_all();
        }
        self.batch.pop_front()
    }

    /// Waits, without the lock, for `SPIN_BATCH` items, for upstream to wait for room,
    /// for items to stop coming (`SPIN_STILL` looks without a change) or for `SPINS`
    /// looks, whichever comes first. `found`: the items there when it started.
    fn spin(shared: &Shared, found: usize) {
        let (mut last, mut still) = (found, 0);
        for i in 0..SPINS {
            if i % SPIN_YIELD == SPIN_YIELD - 1 {
                // Upstream may be waiting for this core (a busy or one-core machine):
                // let it run.
                std::thread::yield_now();
            }
            for _ in 0..8 {
                std::hint::spin_loop();
            }
            let queued = shared.queued.load(Ordering::Relaxed);
            if queued >= SPIN_BATCH || shared.wanted.load(Ordering::Relaxed) {
                return;
            }
            if queued > 0 && queued == last {
                still += 1;
                if still >= SPIN_STILL {
                    return;
                }
            } else {
                (last, still) = (queued, 0);
            }
        }
    }

    /// Downstream refused an item: everything still taken is dropped from the level,
    /// `result` is kept for upstream. False if the queue flushed meanwhile.
    fn fail(&mut self, e: FlowError) -> bool {
        let mut st = lock(&self.shared.state);
        if st.epoch != self.epoch {
            // Flushed meanwhile: this result belongs to the old stream.
            return false;
        }
        st.level.sub(self.taken);
        self.taken = Level::default();
        self.handed = Level::default();
        self.handed_to.store(Level::default());
        st.downstream = Err(e);
        self.shared.room.store(true, Ordering::Release);
        self.shared.not_full.notify_all();
        drop(st);
        self.batch.clear();
        true
    }
}

impl Queue {
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
        let scaled = Level {
            items: level.items,
            buffers: level.buffers.saturating_mul(4),
            bytes: level.bytes.saturating_mul(4),
            time: level.time.saturating_mul(4),
        };
        !Queue::is_full(&scaled, l)
    }

    /// Whether to wake (notify `not_full`, once the lock is released) upstream, if it
    /// waits for room and the queue is empty or at most a quarter full, and drain queries,
    /// if nothing is queued any more (nor held un-handed in the streaming thread's
    /// batch). Marks the notification as done.
    fn wake_waiters(shared: &Shared, st: &mut State) -> bool {
        if st.waiting_room == 0 && st.waiting_empty == 0 {
            if shared.wanted.load(Ordering::Relaxed) {
                shared.wanted.store(false, Ordering::Relaxed);
            }
            return false;
        }
        let level = st.current();
        let empty = level.items == 0;
        if !st.room_notified
            && ((st.waiting_room > 0 && (empty || Queue::low(&level, &st.limits)))
                || (st.waiting_empty > 0 && empty))
        {
            st.room_notified = true;
            shared.room.store(true, Ordering::Release);
            return true;
        }
        false
    }

    /// Upstream, finding the queue full: watches `room` (or a flush) for `ROOM_LOOKS`
    /// looks, yielding its core before each: on a busy machine both threads often share
    /// one core, and the yield lets the streaming thread drain at once; with a core
    /// each, it returns at once and upstream sees the room within a few hundred
    /// nanoseconds of the streaming thread making it, instead of a wake-up later.
    fn spin_for_room(shared: &Shared) {
        let epoch = shared.epoch.load(Ordering::Relaxed);
        for _ in 0..ROOM_LOOKS {
            std::thread::yield_now();
            if shared.room.load(Ordering::Acquire) || shared.epoch.load(Ordering::Relaxed) != epoch
            {
                return;
            }
        }
    }

    /// Drops every queued item (their buffers go back to their pools).
    fn clear(shared: &Shared, st: &mut State) -> Vec<Item> {
        st.level = Level::default();
        st.queued_level = Level::default();
        // The streaming thread's batch is dropped by that thread, which stops: a new
        // thread starts with a fresh count.
        st.handed = Arc::new(Handed::default());
        shared.queued.store(0, Ordering::Relaxed);
        st.items.drain(..).collect()
    }

    fn start_task(&self, element: &Element) -> Result<(), ElementError> {
        let src = self
            .src
            .get()
            .cloned()
            .ok_or_else(|| ElementError::new("queue has no source pad"))?;
        let mut streaming = {
            let mut st = lock(&self.shared.state);
            // Items a stopped thread had taken are gone with it.
            let mut level = Level::default();
            for item in &st.items {
                level.add(Level::of(item));
            }
            st.level = level;
            st.queued_level = level;
            st.handed = Arc::new(Handed::default());
            Streaming {
                shared: Arc::clone(&self.shared),
                handed_to: Arc::clone(&st.handed),
                epoch: st.epoch,
                batch: VecDeque::with_capacity(BATCH),
                taken: Level::default(),
                handed: Level::default(),
            }
        };
        let el = element.clone();
        element.spawn_task("queue", move || {
            let Some(item) = streaming.next() else {
                return TaskControl::Stop;
            };
            streaming.hand_on(&item);
            let result = match item {
                Item::Buffer(b) => src.push(b),
                Item::Event(e) => {
                    let eos = e == Event::Eos;
                    src.push_event(e);
                    if eos { Err(FlowError::Eos) } else { Ok(()) }
                }
            };
            match result {
                Ok(()) => TaskControl::Continue,
                Err(e) => {
                    if streaming.fail(e) && e.is_fatal() {
                        el.report_flow_error(e);
                        src.push_event(Event::Eos);
                    }
                    TaskControl::Stop
                }
            }
        })
    }

    fn enqueue(&self, item: Item) -> FlowResult {
        let shared = &*self.shared;
        let mut st = lock(&shared.state);
        if st.flushing {
            return Err(FlowError::Flushing);
        }
        st.downstream?;
        if let Item::Buffer(_) = &item {
            let mut spun = false;
            // `level` counts what the streaming thread has handed on since it last took
            // the lock: when that is not full, neither is the real level, and the
            // streaming thread's counters (a cache line it writes per item) are not read.
            while Queue::is_full(&st.level, &st.limits) && Queue::is_full(&st.current(), &st.limits)
            {
                match st.limits.leaky {
                    1 => return Ok(()), // leak the new buffer
                    2 => {
                        // Leak the oldest buffer.
                        let pos = st.items.iter().position(|i| matches!(i, Item::Buffer(_)));
                        match pos.and_then(|p| st.items.remove(p)) {
                            Some(old) => {
                                st.level.sub(Level::of(&old));
                                st.queued_level.sub(Level::of(&old));
                                shared.queued.store(st.items.len(), Ordering::Relaxed);
                            }
                            None => break,
                        }
                    }
                    _ => {
                        st.waiting_room += 1;
                        // Announce, then look again (see `Streaming::hand_on`).
                        shared.wanted.store(true, Ordering::SeqCst);
                        if Queue::is_full(&st.current(), &st.limits) {
                            st.room_notified = false;
                            if spun {
                                st = shared.not_full.wait(st).unwrap_or_else(|p| p.into_inner());
                            } else {
                                // The streaming thread is likely draining on another core:
                                // watch for its wake-up without sleeping first, as a sleep
                                // and a wake-up cost far more than the few microseconds
                                // a batch takes. Registered as waiting, so it signals
                                // `room` where it would notify; the level is looked at
                                // again under the lock afterwards, so nothing is missed.
                                spun = true;
                                shared.room.store(false, Ordering::Relaxed);
                                drop(st);
                                Queue::spin_for_room(shared);
                                st = lock(&shared.state);
                            }
                        }
                        st.waiting_room -= 1;
                        if st.flushing {
                            return Err(FlowError::Flushing);
                        }
                        st.downstream?;
                    }
                }
            }
        }
        let l = Level::of(&item);
        st.level.add(l);
        st.queued_level.add(l);
        st.items.push_back(item);
        shared.queued.store(st.items.len(), Ordering::Relaxed);
        let wake = st.waiting_item > 0 && !st.item_notified;
        st.item_notified |= wake;
        drop(st);
        if wake {
            // All: one of them may be a thread of an older epoch, about to exit. After
            // unlocking: a woken thread that preempts this one must not find the lock
            // taken.
            shared.not_empty.notify_all();
        }
        Ok(())
    }

    fn set_flushing(&self, flushing: bool) -> Vec<Item> {
        let shared = &*self.shared;
        let mut st = lock(&shared.state);
        st.flushing = flushing;
        st.epoch += 1;
        shared.epoch.store(st.epoch, Ordering::Release);
        let dropped = if flushing {
            Queue::clear(shared, &mut st)
        } else {
            Vec::new()
        };
        if !flushing {
            st.downstream = Ok(());
        }
        shared.not_empty.notify_all();
        shared.not_full.notify_all();
        dropped
    }
}

impl ElementImpl for Queue {
    fn init(&self, element: &Element) {
        if let Some(p) = element.src_pad() {
            let _ = self.src.set(p);
        }
    }

    fn set_property(
        &self,
        _element: &Element,
        name: &str,
        value: PropValue,
    ) -> Result<(), PropertyError> {
        let mut st = lock(&self.shared.state);
        let l = &mut st.limits;
        match (name, value) {
            ("max-size-buffers", PropValue::UInt(v)) => l.buffers = v,
            ("max-size-bytes", PropValue::UInt(v)) => l.bytes = v,
            ("max-size-time", PropValue::UInt(v)) => l.time = v,
            ("leaky", PropValue::Enum(v)) => l.leaky = v,
            _ => {}
        }
        drop(st);
        // Limits may have grown: wake a waiting upstream.
        self.shared.not_full.notify_all();
        Ok(())
    }

    fn property(&self, _element: &Element, name: &str) -> Option<PropValue> {
        let st = lock(&self.shared.state);
        let l = st.limits;
        Some(match name {
            "max-size-buffers" => PropValue::UInt(l.buffers),
            "max-size-bytes" => PropValue::UInt(l.bytes),
            "max-size-time" => PropValue::UInt(l.time),
            "leaky" => PropValue::Enum(l.leaky),
            "current-level-buffers" => PropValue::UInt(st.current().buffers),
            _ => return None,
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
                forwarded
            }
            e => self.enqueue(Item::Event(e)).is_ok(),
        }
    }

    fn query(&self, element: &Element, pad: &Pad, query: &mut Query) -> bool {
        match query {
            Query::Drain if pad.direction() == PadDirection::Sink => {
                // Hand every queued buffer downstream (or drop them if nothing flows),
                // then ask downstream to drain too.
                let shared = &*self.shared;
                let mut st = lock(&shared.state);
                if st.flushing || st.downstream.is_err() {
                    let dropped = Queue::clear(shared, &mut st);
                    drop(st);
                    drop(dropped);
                } else {
                    st.waiting_empty += 1;
                    loop {
                        // Announce, then look (see `Streaming::hand_on`).
                        shared.wanted.store(true, Ordering::SeqCst);
                        if st.current().items == 0 || st.flushing || st.downstream.is_err() {
                            break;
                        }
                        st.room_notified = false;
                        st = shared.not_full.wait(st).unwrap_or_else(|p| p.into_inner());
                    }
                    st.waiting_empty -= 1;
                    // Everything was handed on, unless downstream failed or the queue
                    // flushed: then drop what is left.
                    let dropped = if st.flushing || st.downstream.is_err() {
                        Queue::clear(shared, &mut st)
                    } else {
                        Vec::new()
                    };
                    drop(st);
                    drop(dropped);
                }
                element.default_query(pad, query)
            }
            _ => element.default_query(pad, query),
        }
    }
}
