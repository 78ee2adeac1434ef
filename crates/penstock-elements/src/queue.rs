//! `queue`: a thread boundary. Upstream's thread stores buffers and serialized events;
//! the queue's own thread pushes them downstream. Buffers move as handles: no copy.

use std::collections::VecDeque;
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

#[derive(Default)]
struct Level {
    buffers: u64,
    bytes: u64,
    time: u64,
}

struct State {
    items: VecDeque<Item>,
    level: Level,
    flushing: bool,
    /// Last flow result of the streaming thread, returned to upstream.
    downstream: FlowResult,
    waiting_empty: usize,
    /// Bumped whenever flushing starts or stops: a streaming thread of an older epoch
    /// (still finishing a push) exits instead of taking items of the new one.
    epoch: u64,
}

/// The element.
pub struct Queue {
    limits: Mutex<Limits>,
    state: Arc<(Mutex<State>, Condvar, Condvar)>,
    src: OnceLock<Pad>,
}

impl Default for Queue {
    fn default() -> Self {
        Queue {
            limits: Mutex::new(Limits {
                buffers: 200,
                bytes: 10_485_760,
                time: 1_000_000_000,
                leaky: 0,
            }),
            state: Arc::new((
                Mutex::new(State {
                    items: VecDeque::new(),
                    level: Level::default(),
                    flushing: true,
                    downstream: Ok(()),
                    waiting_empty: 0,
                    epoch: 0,
                }),
                Condvar::new(),
                Condvar::new(),
            )),
            src: OnceLock::new(),
        }
    }
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Queue {
    fn limits(&self) -> Limits {
        *self.limits.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_full(level: &Level, l: &Limits) -> bool {
        (l.buffers > 0 && level.buffers >= l.buffers)
            || (l.bytes > 0 && level.bytes >= l.bytes)
            || (l.time > 0 && level.time >= l.time)
    }

    fn account(level: &mut Level, b: &Buffer, sign: i8) {
        let bytes = b.size() as u64;
        let time = b.duration().map_or(0, |d| d.nseconds());
        if sign > 0 {
            level.buffers += 1;
            level.bytes += bytes;
            level.time += time;
        } else {
            level.buffers -= 1;
            level.bytes -= bytes;
            level.time = level.time.saturating_sub(time);
        }
    }

    /// Drops every queued item (their buffers go back to their pools).
    fn clear(st: &mut State) -> Vec<Item> {
        st.level = Level::default();
        st.items.drain(..).collect()
    }

    fn start_task(&self, element: &Element) -> Result<(), ElementError> {
        let src = self
            .src
            .get()
            .cloned()
            .ok_or_else(|| ElementError::new("queue has no source pad"))?;
        let state = Arc::clone(&self.state);
        let epoch = lock(&self.state.0).epoch;
        let el = element.clone();
        element.spawn_task("queue", move || {
            let (m, not_empty, not_full) = &*state;
            let item = {
                let mut st = lock(m);
                loop {
                    if st.flushing || st.epoch != epoch {
                        return TaskControl::Stop;
                    }
                    if let Some(item) = st.items.pop_front() {
                        if let Item::Buffer(b) = &item {
                            Queue::account(&mut st.level, b, -1);
                        }
                        not_full.notify_one();
                        if st.items.is_empty() && st.waiting_empty > 0 {
                            not_full.notify_all();
                        }
                        break item;
                    }
                    st = not_empty.wait(st).unwrap_or_else(|p| p.into_inner());
                }
            };
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
                    let mut st = lock(m);
                    if st.epoch != epoch {
                        // Flushed meanwhile: this result belongs to the old stream.
                        return TaskControl::Stop;
                    }
                    st.downstream = Err(e);
                    not_full.notify_all();
                    drop(st);
                    if e.is_fatal() {
                        el.report_flow_error(e);
                        src.push_event(Event::Eos);
                    }
                    TaskControl::Stop
                }
            }
        })
    }

    fn enqueue(&self, item: Item) -> FlowResult {
        let (m, not_empty, not_full) = &*self.state;
        let limits = self.limits();
        let mut st = lock(m);
        if st.flushing {
            return Err(FlowError::Flushing);
        }
        st.downstream?;
        if let Item::Buffer(b) = &item {
            while Queue::is_full(&st.level, &limits) {
                match limits.leaky {
                    1 => return Ok(()), // leak the new buffer
                    2 => {
                        // Leak the oldest buffer.
                        let pos = st.items.iter().position(|i| matches!(i, Item::Buffer(_)));
                        match pos.and_then(|p| st.items.remove(p)) {
                            Some(Item::Buffer(old)) => Queue::account(&mut st.level, &old, -1),
                            _ => break,
                        }
                    }
                    _ => {
                        st = not_full.wait(st).unwrap_or_else(|p| p.into_inner());
                        if st.flushing {
                            return Err(FlowError::Flushing);
                        }
                        st.downstream?;
                    }
                }
            }
            Queue::account(&mut st.level, b, 1);
        }
        st.items.push_back(item);
        not_empty.notify_one();
        Ok(())
    }

    fn set_flushing(&self, flushing: bool) -> Vec<Item> {
        let (m, not_empty, not_full) = &*self.state;
        let mut st = lock(m);
        st.flushing = flushing;
        st.epoch += 1;
        let dropped = if flushing {
            Queue::clear(&mut st)
        } else {
            Vec::new()
        };
        if !flushing {
            st.downstream = Ok(());
        }
        not_empty.notify_all();
        not_full.notify_all();
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
        let mut l = self.limits.lock().unwrap_or_else(|p| p.into_inner());
        match (name, value) {
            ("max-size-buffers", PropValue::UInt(v)) => l.buffers = v,
            ("max-size-bytes", PropValue::UInt(v)) => l.bytes = v,
            ("max-size-time", PropValue::UInt(v)) => l.time = v,
            ("leaky", PropValue::Enum(v)) => l.leaky = v,
            _ => {}
        }
        drop(l);
        // Limits may have grown: wake a waiting upstream.
        self.state.2.notify_all();
        Ok(())
    }

    fn property(&self, _element: &Element, name: &str) -> Option<PropValue> {
        let l = self.limits();
        let st = lock(&self.state.0);
        Some(match name {
            "max-size-buffers" => PropValue::UInt(l.buffers),
            "max-size-bytes" => PropValue::UInt(l.bytes),
            "max-size-time" => PropValue::UInt(l.time),
            "leaky" => PropValue::Enum(l.leaky),
            "current-level-buffers" => PropValue::UInt(st.level.buffers),
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
                let (m, _, not_full) = &*self.state;
                let mut st = lock(m);
                if st.flushing || st.downstream.is_err() {
                    let dropped = Queue::clear(&mut st);
                    drop(st);
                    drop(dropped);
                } else {
                    st.waiting_empty += 1;
                    while !st.items.is_empty() && !st.flushing && st.downstream.is_ok() {
                        st = not_full.wait(st).unwrap_or_else(|p| p.into_inner());
                    }
                    st.waiting_empty -= 1;
                    let dropped = Queue::clear(&mut st);
                    drop(st);
                    drop(dropped);
                }
                element.default_query(pad, query)
            }
            _ => element.default_query(pad, query),
        }
    }
}
