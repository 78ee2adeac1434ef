//! Elements: the processing nodes of a pipeline, their properties, states and tasks.
//!
//! An element implementation ([`ElementImpl`]) is shared between the application and
//! the streaming threads (`&self` everywhere): it keeps its own state behind whatever
//! locks or atomics it needs, so that a buffer passing through an element that needs no
//! state takes no lock. An [`ElementFactory`] describes an element (properties with
//! types and defaults, pad templates) and makes instances; a [`Registry`] holds the
//! factories by name.
//!
//! States go `Null → Ready → Paused → Playing` and back, one step at a time. Sources and
//! queues start their streaming threads ([`Element::spawn_task`]) when going to
//! Playing; on the way down the framework sets every pad flushing, calls
//! [`ElementImpl::unlock`] so blocked calls return, and joins the threads.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use crate::buffer::Buffer;
use crate::bus::{Bus, MessageKind};
use crate::caps::Caps;
use crate::event::Event;
use crate::flow::{FlowError, FlowResult};
use crate::pad::{Pad, PadDirection, PadPresence, PadTemplate};
use crate::query::{CapsQuery, Query};
use crate::sync::{MutexExt, RwLockExt};

mod pads;
mod property;
mod registry;
mod task;

pub use property::{PropType, PropValue, PropertyError, PropertySpec};
pub use registry::{ElementFactory, MakeError, Plugin, Registry};

/// Element states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    /// Nothing allocated.
    Null,
    /// Resources opened (files, devices).
    Ready,
    /// Ready to stream; streaming threads idle.
    Paused,
    /// Data flows.
    Playing,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Null => "NULL",
            State::Ready => "READY",
            State::Paused => "PAUSED",
            State::Playing => "PLAYING",
        })
    }
}

/// One step between adjacent states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateChange {
    /// Null → Ready: open resources.
    NullToReady,
    /// Ready → Paused: prepare streaming.
    ReadyToPaused,
    /// Paused → Playing: start streaming threads.
    PausedToPlaying,
    /// Playing → Paused: threads are stopped (after `unlock`).
    PlayingToPaused,
    /// Paused → Ready: release streaming resources (pools).
    PausedToReady,
    /// Ready → Null: close resources.
    ReadyToNull,
}

impl StateChange {
    fn next(from: State, to: State) -> Option<(StateChange, State)> {
        use State::*;
        Some(match (from, to) {
            (a, b) if a == b => return None,
            (Null, _) => (StateChange::NullToReady, Ready),
            (Ready, Paused | Playing) => (StateChange::ReadyToPaused, Paused),
            (Paused, Playing) => (StateChange::PausedToPlaying, Playing),
            (Playing, _) => (StateChange::PlayingToPaused, Paused),
            (Paused, _) => (StateChange::PausedToReady, Ready),
            (Ready, Null) => (StateChange::ReadyToNull, Null),
            _ => return None,
        })
    }
}

/// An error of an element, with a message for the user.
///
/// Element implementations write only what went wrong; the framework adds the element's
/// path once, when the error leaves the element ([`Element::set_state`] fills
/// [`element`](Self::element), a bus message carries it as its source), so a message
/// must not start with the path itself.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{message}", .element.as_ref().map(|p| format!("{p}: ")).unwrap_or_default())]
pub struct ElementError {
    /// What went wrong.
    pub message: String,
    /// Details for developers.
    pub debug: Option<String>,
    /// The path of the element the error came from, added by the framework.
    pub element: Option<String>,
}

impl ElementError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        ElementError {
            message: message.into(),
            debug: None,
            element: None,
        }
    }

    /// The error with details for developers.
    #[must_use]
    pub fn with_debug(mut self, debug: impl Into<String>) -> Self {
        self.debug = Some(debug.into());
        self
    }

    /// The error attributed to `element`, unless it already names one.
    #[must_use]
    pub fn in_element(mut self, element: &Element) -> Self {
        if self.element.is_none() {
            self.element = Some(element.path());
        }
        self
    }
}

/// What a streaming task's function says after each run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskControl {
    /// Call me again.
    Continue,
    /// The task is done (EOS or error); the thread exits.
    Stop,
}

/// The behaviour of an element. All methods take `&self`: implementations keep their
/// state behind their own locks or atomics.
pub trait ElementImpl: std::any::Any + Send + Sync + 'static {
    /// Called once after the always-pads exist (cache pads here).
    fn init(&self, element: &Element) {
        let _ = element;
    }

    /// Sets a property already checked against its spec: [`Element::set_property`] only
    /// calls this for a property the factory declares, with a value of the declared type
    /// and range.
    ///
    /// The default refuses every property with [`PropertyError::NotWritable`], so an
    /// element that declares properties but does not implement them cannot drop values;
    /// an element without properties needs no implementation.
    ///
    /// # Errors
    /// [`PropertyError`] if the value cannot be used now, or the property (or this value
    /// type) is not handled.
    fn set_property(
        &self,
        element: &Element,
        name: &str,
        value: PropValue,
    ) -> Result<(), PropertyError> {
        Err(PropertyError::not_writable(element, name, &value))
    }

    /// Reads a property (`None`: unknown). The default knows none.
    fn property(&self, element: &Element, name: &str) -> Option<PropValue> {
        let _ = (element, name);
        None
    }

    /// A state step. Sources and queues start their tasks in `PausedToPlaying`.
    ///
    /// # Errors
    /// [`ElementError`]: the state change fails and is reported on the bus.
    fn change_state(&self, element: &Element, change: StateChange) -> Result<(), ElementError> {
        let _ = (element, change);
        Ok(())
    }

    /// Unblocks anything that may wait inside the element (pool acquires, queue waits)
    /// before its tasks are joined. The pads are already flushing.
    fn unlock(&self, element: &Element) {
        let _ = element;
    }

    /// A buffer arrives on sink pad `pad`.
    ///
    /// # Errors
    /// The flow result.
    fn chain(&self, element: &Element, pad: &Pad, buffer: Buffer) -> FlowResult {
        let _ = (element, pad, buffer);
        Err(FlowError::NotLinked)
    }

    /// A downstream event arrives on sink pad `pad` (the pad already stored it if
    /// sticky). The default forwards it to every source pad.
    fn sink_event(&self, element: &Element, pad: &Pad, event: Event) -> bool {
        let _ = pad;
        element.forward_event_downstream(event)
    }

    /// An upstream event arrives on source pad `pad`. The default forwards it upstream.
    fn src_event(&self, element: &Element, pad: &Pad, event: Event) -> bool {
        let _ = pad;
        element.forward_event_upstream(event)
    }

    /// A query arrives on `pad`. The default proxies caps and accept-caps through the
    /// element (intersected with the pad templates), forwards allocation queries
    /// downstream and drain queries both ways.
    fn query(&self, element: &Element, pad: &Pad, query: &mut Query) -> bool {
        element.default_query(pad, query)
    }

    /// The caps this element lets through besides its pad templates (a capsfilter's
    /// `caps`), used to explain failed negotiations.
    fn caps_restriction(&self) -> Option<Caps> {
        None
    }

    /// A request pad was added (tee's `src_%u`).
    fn pad_added(&self, element: &Element, pad: &Pad) {
        let _ = (element, pad);
    }
}

pub(crate) struct ElementInner {
    name: String,
    /// The name as an interned ledger site (copies made while this element runs are its
    /// own); entering it costs two thread-local writes.
    site: crate::ledger::SiteId,
    factory: Arc<ElementFactory>,
    imp: Box<dyn ElementImpl>,
    pads: RwLock<Vec<Pad>>,
    state: Mutex<State>,
    parent_path: RwLock<Option<String>>,
    bus: RwLock<Option<Bus>>,
    tasks: Mutex<Vec<(Arc<AtomicBool>, JoinHandle<()>)>>,
    request_counter: Mutex<u32>,
}

/// An element instance. Cloning the handle shares it.
#[derive(Clone)]
pub struct Element(Arc<ElementInner>);

impl fmt::Debug for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Element({})", self.path())
    }
}

impl PartialEq for Element {
    fn eq(&self, other: &Element) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Element {
    fn new(factory: Arc<ElementFactory>, name: String) -> Element {
        let imp = (factory.create)();
        let pads = factory
            .pad_templates
            .iter()
            .filter(|t| t.presence == PadPresence::Always)
            .map(|t| Pad::new(t.name.to_owned(), t.clone()))
            .collect();
        let element = Element(Arc::new(ElementInner {
            site: crate::ledger::site_id(name.as_str()),
            name,
            factory,
            imp,
            pads: RwLock::new(pads),
            state: Mutex::new(State::Null),
            parent_path: RwLock::new(None),
            bus: RwLock::new(None),
            tasks: Mutex::new(Vec::new()),
            request_counter: Mutex::new(0),
        }));
        for pad in element.pads() {
            pad.set_parent(Arc::downgrade(&element.0));
        }
        element.0.imp.init(&element);
        element
    }

    pub(crate) fn from_inner(inner: Arc<ElementInner>) -> Element {
        Element(inner)
    }

    pub(crate) fn imp(&self) -> &dyn ElementImpl {
        &*self.0.imp
    }

    /// The implementation.
    pub fn implementation(&self) -> &dyn ElementImpl {
        &*self.0.imp
    }

    /// The implementation as its concrete type (tools read sink counters this way).
    pub fn implementation_as<T: ElementImpl>(&self) -> Option<&T> {
        let any: &dyn std::any::Any = &*self.0.imp;
        any.downcast_ref::<T>()
    }

    /// The element's name (`queue0`).
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Attributes the ledger's copies and allocations on this thread to this element
    /// until the guard drops.
    #[inline]
    pub fn enter_site(&self) -> crate::ledger::SiteGuard {
        crate::ledger::enter_site_id(self.0.site)
    }

    /// The factory.
    pub fn factory(&self) -> &Arc<ElementFactory> {
        &self.0.factory
    }

    /// `pipeline0/queue0`, or the name outside a pipeline.
    pub fn path(&self) -> String {
        match &*self.0.parent_path.read_ignore_poison() {
            Some(p) => format!("{p}/{}", self.0.name),
            None => self.0.name.clone(),
        }
    }

    pub(crate) fn set_parent(&self, path: String, bus: Bus) {
        *self.0.parent_path.write_ignore_poison() = Some(path);
        *self.0.bus.write_ignore_poison() = Some(bus);
    }

    /// Sets a property from text (as in a launch line).
    ///
    /// # Errors
    /// [`PropertyError`] naming the property and what was expected.
    pub fn set_property_str(&self, name: &str, value: &str) -> Result<(), PropertyError> {
        let spec = self.spec(name)?;
        let v = spec.parse(self.name(), value)?;
        self.0.imp.set_property(self, name, v)
    }

    /// Sets a property.
    ///
    /// # Errors
    /// [`PropertyError`].
    pub fn set_property(&self, name: &str, value: PropValue) -> Result<(), PropertyError> {
        let spec = self.spec(name)?;
        let v = spec.check(self.name(), value)?;
        self.0.imp.set_property(self, name, v)
    }

    /// Reads a property.
    pub fn property(&self, name: &str) -> Option<PropValue> {
        if name == "name" {
            return Some(PropValue::String(self.0.name.clone()));
        }
        self.0.imp.property(self, name)
    }

    fn spec(&self, name: &str) -> Result<&PropertySpec, PropertyError> {
        self.0
            .factory
            .property(name)
            .ok_or_else(|| PropertyError::Unknown {
                element: self.path(),
                name: name.to_owned(),
                known: self
                    .0
                    .factory
                    .properties
                    .iter()
                    .map(|p| p.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Forwards a downstream event to every source pad; true if all handled it.
    pub fn forward_event_downstream(&self, event: Event) -> bool {
        let pads = self.src_pads();
        let mut ok = true;
        for p in &pads {
            ok &= p.push_event(event.clone());
        }
        ok || pads.is_empty()
    }

    /// Forwards an upstream event to every sink pad's peer.
    pub fn forward_event_upstream(&self, event: Event) -> bool {
        let mut ok = true;
        for p in self.sink_pads() {
            ok &= p.push_event(event.clone());
        }
        ok
    }

    /// The default query handling (see [`ElementImpl::query`]).
    pub fn default_query(&self, pad: &Pad, query: &mut Query) -> bool {
        match query {
            Query::Caps(q) => {
                q.result = Some(self.proxy_caps(pad, q.filter.as_ref()));
                true
            }
            Query::AcceptCaps { caps, result } => {
                *result = caps.can_intersect(&pad.template().caps);
                if *result {
                    // Ask the other side too (a capsfilter or sink further on).
                    let other = self.proxy_caps(pad, None);
                    *result = caps.can_intersect(&other);
                }
                true
            }
            Query::Allocation(_) => match pad.direction() {
                PadDirection::Sink => self.src_pad().is_some_and(|p| p.peer_query(query)),
                PadDirection::Src => false,
            },
            Query::Drain => {
                let others = match pad.direction() {
                    PadDirection::Sink => self.src_pads(),
                    PadDirection::Src => self.sink_pads(),
                };
                for p in others {
                    p.peer_query(query);
                }
                true
            }
        }
    }

    /// What the element can handle on `pad`: the pad's template intersected with what
    /// the pads on the other side can do (their peers' answers through their own
    /// templates).
    pub fn proxy_caps(&self, pad: &Pad, filter: Option<&Caps>) -> Caps {
        let mut caps = pad.template().caps.clone();
        if let Some(f) = filter {
            caps = f.intersect(&caps);
        }
        let others = match pad.direction() {
            PadDirection::Sink => self.src_pads(),
            PadDirection::Src => self.sink_pads(),
        };
        for other in others {
            let mut c = other.template().caps.intersect(&caps);
            if other.is_linked() {
                c = other.peer_caps(Some(&c));
            }
            caps = caps.intersect(&c);
        }
        caps
    }
}

/// The answer to a caps query on a pad: its template within `filter`.
pub fn template_caps_query(pad: &Pad, q: &mut CapsQuery) {
    let t = &pad.template().caps;
    q.result = Some(match &q.filter {
        Some(f) => f.intersect(t),
        None => t.clone(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Declares `level` and `label` but implements neither setter nor getter: the
    /// mistake the default `set_property` is there to catch.
    struct Forgetful;

    impl ElementImpl for Forgetful {}

    /// Implements `level` only for the type it was written for.
    #[derive(Default)]
    struct Partial {
        level: Mutex<i64>,
    }

    impl ElementImpl for Partial {
        fn set_property(
            &self,
            element: &Element,
            name: &str,
            value: PropValue,
        ) -> Result<(), PropertyError> {
            match (name, value) {
                ("level", PropValue::Int(v)) => {
                    *self.level.lock_ignore_poison() = v;
                    Ok(())
                }
                (_, value) => Err(PropertyError::not_writable(element, name, &value)),
            }
        }

        fn property(&self, _element: &Element, name: &str) -> Option<PropValue> {
            (name == "level").then(|| PropValue::Int(*self.level.lock_ignore_poison()))
        }
    }

    fn registry() -> Registry {
        let properties = || {
            vec![
                PropertySpec::new(
                    "level",
                    "a level",
                    PropType::Int { min: 0, max: 10 },
                    PropValue::Int(0),
                ),
                PropertySpec::new(
                    "label",
                    "a label",
                    PropType::String,
                    PropValue::String(String::new()),
                ),
            ]
        };
        let mut r = Registry::new();
        r.register(ElementFactory {
            name: "forgetful",
            long_name: "Forgetful",
            klass: "Test",
            description: "declares properties it does not implement",
            properties: properties(),
            pad_templates: vec![],
            create: || Box::new(Forgetful),
        });
        r.register(ElementFactory {
            name: "partial",
            long_name: "Partial",
            klass: "Test",
            description: "implements one of its two properties",
            properties: properties(),
            pad_templates: vec![],
            create: || Box::<Partial>::default(),
        });
        r
    }

    #[test]
    fn a_declared_property_without_a_setter_is_refused_not_dropped() {
        let el = registry().make("forgetful", Some("f0")).unwrap();
        let e = el.set_property("level", PropValue::Int(7)).unwrap_err();
        assert_eq!(
            e,
            PropertyError::NotWritable {
                element: "f0".into(),
                name: "level".into(),
                value: "7".into(),
            }
        );
        let msg = e.to_string();
        assert!(
            msg.contains("f0") && msg.contains("'level'") && msg.contains("no writable"),
            "{msg}"
        );
        // The text path reaches the same refusal once the value parses.
        let e = el.set_property_str("label", "hello").unwrap_err();
        assert!(
            matches!(&e, PropertyError::NotWritable { name, value, .. }
                if name == "label" && value == "\"hello\""),
            "{e:?}"
        );
        // Nothing was stored: the default getter knows no property.
        assert_eq!(el.property("level"), None);
        assert_eq!(el.property("label"), None);
        assert_eq!(el.property("name"), Some(PropValue::String("f0".into())));

        // An undeclared name still fails earlier, with the list of declared ones.
        let e = el.set_property("nosuch", PropValue::Int(1)).unwrap_err();
        assert!(matches!(e, PropertyError::Unknown { .. }), "{e:?}");
        // And a declared one with a bad value fails the spec check first.
        let e = el.set_property("level", PropValue::Int(11)).unwrap_err();
        assert!(matches!(e, PropertyError::BadValue { .. }), "{e:?}");
    }

    #[test]
    fn an_unhandled_property_next_to_a_handled_one_is_refused() {
        let el = registry().make("partial", Some("p0")).unwrap();
        el.set_property("level", PropValue::Int(4)).unwrap();
        assert_eq!(el.property("level"), Some(PropValue::Int(4)));
        let e = el.set_property_str("label", "x").unwrap_err();
        assert!(
            matches!(&e, PropertyError::NotWritable { element, name, .. }
                if element == "p0" && name == "label"),
            "{e:?}"
        );
        assert_eq!(el.property("label"), None);
        assert_eq!(el.property("level"), Some(PropValue::Int(4)));
    }
}
