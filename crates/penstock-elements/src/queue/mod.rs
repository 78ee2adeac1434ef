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

mod ring;
mod streaming;

use ring::*;
use streaming::*;

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
