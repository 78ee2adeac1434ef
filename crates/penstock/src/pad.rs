//! Pads: the typed connection points of elements.
//!
//! A source pad pushes buffers and downstream events to the sink pad it is linked to;
//! that pad hands them to its element. Queries go to the peer and come back answered.
//! Stream-start, caps and segment events are *sticky*: the pad keeps the latest of each.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::Instant;

use crate::buffer::Buffer;
use crate::caps::{Caps, CapsMismatch};
use crate::element::{Element, ElementInner};
use crate::event::Event;
use crate::flow::{FlowError, FlowResult};
use crate::query::{CapsQuery, Query};
use crate::sync::{MutexExt, RwLockExt};

/// Direction of a pad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PadDirection {
    /// Data leaves the element here.
    Src,
    /// Data enters the element here.
    Sink,
}

impl fmt::Display for PadDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PadDirection::Src => "SRC",
            PadDirection::Sink => "SINK",
        })
    }
}

/// When pads of a template exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PadPresence {
    /// Always there.
    Always,
    /// Created by the element when it knows (demuxers).
    Sometimes,
    /// Created on request (`tee`'s `src_%u`).
    Request,
}

impl fmt::Display for PadPresence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PadPresence::Always => "Always",
            PadPresence::Sometimes => "Sometimes",
            PadPresence::Request => "On request",
        })
    }
}

/// A description of the pads an element can have.
#[derive(Debug, Clone, PartialEq)]
pub struct PadTemplate {
    /// Name, or pattern with `%u` for request pads.
    pub name: &'static str,
    /// Direction.
    pub direction: PadDirection,
    /// Presence.
    pub presence: PadPresence,
    /// Caps the pad can handle.
    pub caps: Caps,
}

impl PadTemplate {
    /// A template.
    pub fn new(
        name: &'static str,
        direction: PadDirection,
        presence: PadPresence,
        caps: Caps,
    ) -> Self {
        PadTemplate {
            name,
            direction,
            presence,
            caps,
        }
    }

    /// An always source pad named `src`.
    pub fn always_src(caps: Caps) -> Self {
        PadTemplate::new("src", PadDirection::Src, PadPresence::Always, caps)
    }

    /// An always sink pad named `sink`.
    pub fn always_sink(caps: Caps) -> Self {
        PadTemplate::new("sink", PadDirection::Sink, PadPresence::Always, caps)
    }

    /// Request source pads named from `name` (`src_%u` makes `src_0`, `src_1`...).
    pub fn request_src(name: &'static str, caps: Caps) -> Self {
        PadTemplate::new(name, PadDirection::Src, PadPresence::Request, caps)
    }

    /// Request sink pads named from `name` (`sink_%u`).
    pub fn request_sink(name: &'static str, caps: Caps) -> Self {
        PadTemplate::new(name, PadDirection::Sink, PadPresence::Request, caps)
    }

    /// The `sink` and `src` always pads of a one-in-one-out element, both with `caps`.
    pub fn sink_and_src(caps: Caps) -> Vec<Self> {
        vec![
            PadTemplate::always_sink(caps.clone()),
            PadTemplate::always_src(caps),
        ]
    }
}

/// Why two pads could not be linked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// Wrong directions.
    #[error("cannot link {src} to {sink}: a link goes from a source pad to a sink pad")]
    WrongDirection {
        /// Source side path.
        src: String,
        /// Sink side path.
        sink: String,
    },
    /// A pad already has a peer.
    #[error("cannot link {src} to {sink}: {busy} is already linked to {peer}")]
    AlreadyLinked {
        /// Source side path.
        src: String,
        /// Sink side path.
        sink: String,
        /// The linked pad.
        busy: String,
        /// Its current peer.
        peer: String,
    },
    /// The pads' caps have nothing in common.
    #[error(
        "cannot link {src} to {sink}: their caps have nothing in common ({mismatch})\n  {src}: {src_caps}\n  {sink}: {sink_caps}"
    )]
    NoCommonCaps {
        /// Source side path.
        src: String,
        /// Sink side path.
        sink: String,
        /// Source side caps.
        src_caps: Caps,
        /// Sink side caps.
        sink_caps: Caps,
        /// Which field or feature failed.
        mismatch: Box<CapsMismatch>,
    },
    /// No pad of that name or direction.
    #[error("element {element} has no {what} pad{}", .name.as_ref().map(|n| format!(" named '{n}'")).unwrap_or_default())]
    NoPad {
        /// Element path.
        element: String,
        /// "source" or "sink".
        what: &'static str,
        /// The pad name asked for.
        name: Option<String>,
    },
}

pub(crate) struct PadInner {
    name: String,
    direction: PadDirection,
    template: PadTemplate,
    parent: OnceLock<Weak<ElementInner>>,
    peer: RwLock<Option<Pad>>,
    /// Changes (to a value no pad ever had) whenever `peer` changes: the per-thread hop
    /// cache compares it to know its entry for this pad is still the link.
    link: AtomicU64,
    caps: Mutex<Option<Caps>>,
    sticky: Mutex<Vec<Event>>,
    flushing: AtomicBool,
    eos: AtomicBool,
    /// Buffers that went through this pad.
    buffers: AtomicU64,
    /// When the first buffer since streaming started arrived (GStreamer's preroll).
    first_buffer: Mutex<Option<Instant>>,
}

/// Link generations: unique over the process, so that a cache entry of a freed pad can
/// never match a new pad at the same address.
static LINK_GENERATION: AtomicU64 = AtomicU64::new(1);

fn next_link_generation() -> u64 {
    LINK_GENERATION.fetch_add(1, Ordering::Relaxed)
}

/// What a push from one source pad needs: the peer and the peer's element.
struct Hop {
    /// Address of the source pad's `PadInner` (the key).
    from: usize,
    /// The source pad's link generation this was read at.
    link: u64,
    peer: Pad,
    element: Element,
}

/// Pushes per thread go through a small cache of hops, so that a push takes no lock and
/// no atomic read-modify-write to find its peer: it reads the pad's link generation
/// (a plain atomic load) and finds the entry by address. On a miss (first push, or the
/// link changed) the peer is read under the pad's lock and the entry replaced.
///
/// Entries hold the peer and its element alive while they stay in the cache: until the
/// entry is replaced, or the thread ends (streaming threads end at every stop).
const HOP_SLOTS: usize = 8;

#[derive(Default)]
struct HopCache {
    slots: [Option<Rc<Hop>>; HOP_SLOTS],
    /// Next slot to replace on a miss (round robin).
    next: usize,
}

thread_local! {
    static HOPS: RefCell<HopCache> = RefCell::new(HopCache::default());
}

/// A pad. Cloning the handle shares the pad.
#[derive(Clone)]
pub struct Pad(Arc<PadInner>);

impl fmt::Debug for Pad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pad({})", self.path())
    }
}

impl PartialEq for Pad {
    fn eq(&self, other: &Pad) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Pad {
    pub(crate) fn new(name: String, template: PadTemplate) -> Pad {
        Pad(Arc::new(PadInner {
            name,
            direction: template.direction,
            template,
            parent: OnceLock::new(),
            peer: RwLock::new(None),
            link: AtomicU64::new(next_link_generation()),
            caps: Mutex::new(None),
            sticky: Mutex::new(Vec::new()),
            flushing: AtomicBool::new(true),
            eos: AtomicBool::new(false),
            buffers: AtomicU64::new(0),
            first_buffer: Mutex::new(None),
        }))
    }

    pub(crate) fn set_parent(&self, parent: Weak<ElementInner>) {
        let _ = self.0.parent.set(parent);
    }

    /// The pad's name (`src`, `sink`, `src_0`).
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Direction.
    pub fn direction(&self) -> PadDirection {
        self.0.direction
    }

    /// The template the pad was made from.
    pub fn template(&self) -> &PadTemplate {
        &self.0.template
    }

    /// The element the pad belongs to.
    pub fn parent(&self) -> Option<Element> {
        self.0.parent.get()?.upgrade().map(Element::from_inner)
    }

    /// `element-path.pad-name`.
    pub fn path(&self) -> String {
        match self.parent() {
            Some(e) => format!("{}:{}", e.path(), self.name()),
            None => self.name().to_owned(),
        }
    }

    /// The linked pad.
    pub fn peer(&self) -> Option<Pad> {
        self.0.peer.read_ignore_poison().clone()
    }

    /// True if linked.
    pub fn is_linked(&self) -> bool {
        self.0.peer.read_ignore_poison().is_some()
    }

    /// The caps set on this pad by a caps event.
    pub fn current_caps(&self) -> Option<Caps> {
        self.0.caps.lock_ignore_poison().clone()
    }

    /// The last sticky event of the same kind as `like` (matching by name).
    pub fn sticky_event(&self, name: &str) -> Option<Event> {
        let sticky = self.0.sticky.lock_ignore_poison();
        sticky.iter().find(|e| e.name() == name).cloned()
    }

    /// True while flushing (pushes and chains return [`FlowError::Flushing`]).
    pub fn is_flushing(&self) -> bool {
        self.0.flushing.load(Ordering::Acquire)
    }

    /// Sets or clears flushing.
    pub fn set_flushing(&self, flushing: bool) {
        self.0.flushing.store(flushing, Ordering::Release);
    }

    /// Buffers handed to this (sink) pad's element since it last started streaming.
    pub fn buffers(&self) -> u64 {
        self.0.buffers.load(Ordering::Relaxed)
    }

    /// When the first buffer since streaming started reached this (sink) pad's element:
    /// the moment GStreamer would call it prerolled.
    pub fn first_buffer_at(&self) -> Option<Instant> {
        *self.0.first_buffer.lock_ignore_poison()
    }

    #[cold]
    #[inline(never)]
    fn mark_first_buffer(&self) {
        self.0
            .first_buffer
            .lock_ignore_poison()
            .get_or_insert_with(Instant::now);
    }

    /// True after EOS went through (until a flush-stop).
    pub fn is_eos(&self) -> bool {
        self.0.eos.load(Ordering::Acquire)
    }

    pub(crate) fn reset_for_streaming(&self) {
        self.0.buffers.store(0, Ordering::Relaxed);
        *self.0.first_buffer.lock_ignore_poison() = None;
        self.0.eos.store(false, Ordering::Release);
        self.0.flushing.store(false, Ordering::Release);
        self.0.sticky.lock_ignore_poison().clear();
        *self.0.caps.lock_ignore_poison() = None;
    }

    /// Links `src` to `sink`, checking directions, existing links and that their
    /// template caps can intersect.
    ///
    /// # Errors
    /// [`LinkError`] naming both pads, and for caps both caps and the failing field.
    pub fn link(src: &Pad, sink: &Pad) -> Result<(), LinkError> {
        if src.direction() != PadDirection::Src || sink.direction() != PadDirection::Sink {
            return Err(LinkError::WrongDirection {
                src: src.path(),
                sink: sink.path(),
            });
        }
        for p in [src, sink] {
            if let Some(peer) = p.peer() {
                return Err(LinkError::AlreadyLinked {
                    src: src.path(),
                    sink: sink.path(),
                    busy: p.path(),
                    peer: peer.path(),
                });
            }
        }
        let (a, b) = (&src.template().caps, &sink.template().caps);
        if let Err(mismatch) = a.intersect_explained(b) {
            return Err(LinkError::NoCommonCaps {
                src: src.path(),
                sink: sink.path(),
                src_caps: a.clone(),
                sink_caps: b.clone(),
                mismatch: Box::new(mismatch),
            });
        }
        src.set_peer(Some(sink.clone()));
        sink.set_peer(Some(src.clone()));
        Ok(())
    }

    /// Unlinks the pad from its peer (both sides).
    pub fn unlink(&self) {
        if let Some(peer) = self.set_peer(None) {
            peer.set_peer(None);
        }
    }

    /// Replaces the peer and moves the link generation on (under the lock, so a reader
    /// that saw the new generation reads the new peer). Returns the old peer.
    fn set_peer(&self, peer: Option<Pad>) -> Option<Pad> {
        let mut guard = self.0.peer.write_ignore_poison();
        let old = std::mem::replace(&mut *guard, peer);
        self.0.link.store(next_link_generation(), Ordering::Release);
        old
    }

    /// The peer and its element for a push, from this thread's hop cache.
    #[inline]
    fn hop(&self) -> Result<Rc<Hop>, FlowError> {
        let from = Arc::as_ptr(&self.0).addr();
        let link = self.0.link.load(Ordering::Acquire);
        let cached = HOPS.try_with(|h| {
            let h = h.borrow();
            h.slots
                .iter()
                .flatten()
                .find(|hop| hop.from == from && hop.link == link)
                .cloned()
        });
        match cached {
            Ok(Some(hop)) => Ok(hop),
            _ => self.hop_miss(from, link),
        }
    }

    #[cold]
    #[inline(never)]
    fn hop_miss(&self, from: usize, link: u64) -> Result<Rc<Hop>, FlowError> {
        // Read the peer after the generation: if the link changes in between, the entry
        // holds a newer peer under an older generation, and the next push reads again.
        let peer = self.peer().ok_or(FlowError::NotLinked)?;
        let element = peer.parent().ok_or(FlowError::Flushing)?;
        let hop = Rc::new(Hop {
            from,
            link,
            peer,
            element,
        });
        let old = HOPS.try_with(|h| {
            let mut h = h.borrow_mut();
            let h = &mut *h;
            // Replace this pad's stale entry if there is one, else the next slot.
            let slot = h
                .slots
                .iter()
                .position(|s| s.as_ref().is_some_and(|s| s.from == from))
                .unwrap_or_else(|| {
                    let i = h.next;
                    h.next = (i + 1) % HOP_SLOTS;
                    i
                });
            // The old entry may hold the last handle of an element: drop it after the
            // borrow ends (its drop may push, and so use this cache).
            h.slots[slot].replace(Rc::clone(&hop))
        });
        drop(old);
        Ok(hop)
    }

    /// Pushes a buffer to the peer (source pads).
    ///
    /// # Errors
    /// The flow result of downstream: [`FlowError::Flushing`], `NotLinked`, `Eos`, ...
    pub fn push(&self, buffer: Buffer) -> FlowResult {
        if self.is_flushing() {
            return Err(FlowError::Flushing);
        }
        let hop = self.hop()?;
        let (peer, element) = (&hop.peer, &hop.element);
        // Deep chains continue on a fresh stack instead of overflowing this one; the
        // usual case calls the peer directly (no closure on the per-buffer path).
        if crate::stack::within_budget() {
            peer.chain(element, buffer)
        } else {
            crate::stack::on_fresh_stack(move || peer.chain(element, buffer))
        }
    }

    /// Hands a buffer to this (sink) pad's element.
    #[inline]
    fn chain(&self, element: &Element, buffer: Buffer) -> FlowResult {
        if self.is_flushing() {
            return Err(FlowError::Flushing);
        }
        if self.is_eos() {
            return Err(FlowError::Eos);
        }
        // One streaming thread chains a pad at a time (its peer's): a load and a store
        // count without a locked read-modify-write.
        let n = self.0.buffers.load(Ordering::Relaxed);
        self.0.buffers.store(n + 1, Ordering::Relaxed);
        if n == 0 {
            self.mark_first_buffer();
        }
        let _site = element.enter_site();
        element.imp().chain(element, self, buffer)
    }

    /// Sends an event from this pad to its peer: downstream from a source pad (sticky
    /// events are kept here first), upstream from a sink pad. Returns whether it was
    /// handled.
    pub fn push_event(&self, event: Event) -> bool {
        match self.direction() {
            PadDirection::Src => {
                self.store_event(&event);
                match self.peer() {
                    Some(peer) => crate::stack::guarded(move || peer.receive_event(event)),
                    None => false,
                }
            }
            PadDirection::Sink => match self.peer() {
                Some(peer) => crate::stack::guarded(move || peer.receive_event(event)),
                None => false,
            },
        }
    }

    fn store_event(&self, event: &Event) {
        match event {
            Event::Caps(c) => {
                *self.0.caps.lock_ignore_poison() = Some(c.clone());
            }
            Event::Eos => self.0.eos.store(true, Ordering::Release),
            Event::FlushStart => self.set_flushing(true),
            Event::FlushStop { .. } => {
                self.set_flushing(false);
                self.0.eos.store(false, Ordering::Release);
            }
            _ => {}
        }
        if event.is_sticky() {
            let mut sticky = self.0.sticky.lock_ignore_poison();
            sticky.retain(|e| e.name() != event.name());
            sticky.push(event.clone());
        }
    }

    /// An event arriving at this pad from its peer.
    fn receive_event(&self, event: Event) -> bool {
        let Some(element) = self.parent() else {
            return false;
        };
        match self.direction() {
            PadDirection::Sink => {
                if self.is_flushing()
                    && !matches!(event, Event::FlushStop { .. } | Event::FlushStart)
                {
                    return false;
                }
                // The pad records the event before the element sees it, as GStreamer
                // sets a sink pad's caps before its event function runs, so that the
                // element's chain sees the current caps.
                let stored = event.clone();
                self.store_event(&stored);
                element.imp().sink_event(&element, self, event)
            }
            PadDirection::Src => element.imp().src_event(&element, self, event),
        }
    }

    /// Sends a query to the peer; returns whether it was answered.
    pub fn peer_query(&self, query: &mut Query) -> bool {
        match self.peer() {
            Some(peer) => match peer.parent() {
                Some(element) => {
                    crate::stack::guarded(|| element.imp().query(&element, &peer, query))
                }
                None => false,
            },
            None => false,
        }
    }

    /// What the peer can handle within `filter` (its answer to a caps query); when the
    /// pad is unlinked or the peer does not answer, `filter` itself (ANY without one).
    pub fn peer_caps(&self, filter: Option<&Caps>) -> Caps {
        let mut q = Query::Caps(CapsQuery {
            filter: filter.cloned(),
            result: None,
        });
        if self.peer_query(&mut q) {
            if let Query::Caps(CapsQuery {
                result: Some(c), ..
            }) = q
            {
                return c;
            }
        }
        match filter {
            Some(f) => f.clone(),
            None => Caps::new_any(),
        }
    }

    /// Would the peer accept `caps`?
    pub fn peer_accepts(&self, caps: &Caps) -> bool {
        let mut q = Query::AcceptCaps {
            caps: caps.clone(),
            result: false,
        };
        if self.peer_query(&mut q) {
            if let Query::AcceptCaps { result, .. } = q {
                return result;
            }
        }
        // No answer: fall back to the peer's template.
        self.peer()
            .is_some_and(|p| caps.can_intersect(&p.template().caps))
    }
}
