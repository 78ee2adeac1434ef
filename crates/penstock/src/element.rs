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

/// The type of a property, with its range.
#[derive(Debug, Clone, PartialEq)]
pub enum PropType {
    /// `true`/`false`.
    Bool,
    /// A signed integer in `min..=max`.
    Int {
        /// Minimum.
        min: i64,
        /// Maximum.
        max: i64,
    },
    /// An unsigned integer in `min..=max`.
    UInt {
        /// Minimum.
        min: u64,
        /// Maximum.
        max: u64,
    },
    /// A floating-point number in `min..=max`.
    Double {
        /// Minimum.
        min: f64,
        /// Maximum.
        max: f64,
    },
    /// A string.
    String,
    /// One of named values: (value, nick, description).
    Enum(&'static [(i32, &'static str, &'static str)]),
    /// Caps.
    Caps,
}

impl PropType {
    /// The type's name as `inspect` prints it.
    pub fn name(&self) -> &'static str {
        match self {
            PropType::Bool => "Boolean",
            PropType::Int { .. } => "Integer",
            PropType::UInt { .. } => "Unsigned Integer",
            PropType::Double { .. } => "Double",
            PropType::String => "String",
            PropType::Enum(_) => "Enum",
            PropType::Caps => "Caps",
        }
    }
}

/// A property value.
#[derive(Debug, Clone, PartialEq)]
pub enum PropValue {
    /// Boolean.
    Bool(bool),
    /// Signed integer.
    Int(i64),
    /// Unsigned integer.
    UInt(u64),
    /// Floating point.
    Double(f64),
    /// String.
    String(String),
    /// Enum value.
    Enum(i32),
    /// Caps.
    Caps(Caps),
}

impl fmt::Display for PropValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropValue::Bool(b) => write!(f, "{b}"),
            PropValue::Int(i) => write!(f, "{i}"),
            PropValue::UInt(u) => write!(f, "{u}"),
            PropValue::Double(d) => write!(f, "{d}"),
            PropValue::String(s) => write!(f, "\"{s}\""),
            PropValue::Enum(e) => write!(f, "{e}"),
            PropValue::Caps(c) => write!(f, "{c}"),
        }
    }
}

/// Why a property could not be set.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PropertyError {
    /// No such property.
    #[error("{element} has no property '{name}' (properties: {known})")]
    Unknown {
        /// Element or factory name.
        element: String,
        /// The property asked for.
        name: String,
        /// The properties it has.
        known: String,
    },
    /// The value does not fit the type.
    #[error("property '{name}' of {element} is {expected}; '{value}' is not valid: {why}")]
    BadValue {
        /// Element or factory name.
        element: String,
        /// Property.
        name: String,
        /// What was given.
        value: String,
        /// The type and range.
        expected: String,
        /// Why.
        why: String,
    },
    /// The property cannot change in the current state.
    #[error("property '{name}' of {element} cannot change while {state}")]
    WrongState {
        /// Element.
        element: String,
        /// Property.
        name: String,
        /// State.
        state: State,
    },
    /// The factory declares the property, but the element's implementation does not set
    /// it (or not from a value of this type): the value is refused instead of dropped.
    #[error(
        "{element} has no writable property '{name}': it is declared, but the element does \
         not implement setting it (the value {value} was not applied)"
    )]
    NotWritable {
        /// Element.
        element: String,
        /// Property.
        name: String,
        /// The value refused.
        value: String,
    },
}

impl PropertyError {
    /// [`PropertyError::NotWritable`]: what an implementation returns for a property, or
    /// a value type, it does not set.
    pub fn not_writable(element: &Element, name: &str, value: &PropValue) -> Self {
        PropertyError::NotWritable {
            element: element.path(),
            name: name.to_owned(),
            value: value.to_string(),
        }
    }
}

/// A property: name, type, default and a description.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertySpec {
    /// Name (`num-buffers`).
    pub name: &'static str,
    /// One-line description.
    pub blurb: &'static str,
    /// Type and range.
    pub ty: PropType,
    /// Default value.
    pub default: PropValue,
}

impl PropertySpec {
    /// A property.
    pub fn new(name: &'static str, blurb: &'static str, ty: PropType, default: PropValue) -> Self {
        PropertySpec {
            name,
            blurb,
            ty,
            default,
        }
    }

    /// A boolean property.
    pub fn bool(name: &'static str, blurb: &'static str, default: bool) -> Self {
        PropertySpec::new(name, blurb, PropType::Bool, PropValue::Bool(default))
    }

    /// A signed integer property in `range`.
    pub fn int(
        name: &'static str,
        blurb: &'static str,
        range: std::ops::RangeInclusive<i64>,
        default: i64,
    ) -> Self {
        let (min, max) = range.into_inner();
        PropertySpec::new(
            name,
            blurb,
            PropType::Int { min, max },
            PropValue::Int(default),
        )
    }

    /// An unsigned integer property in `range`.
    pub fn uint(
        name: &'static str,
        blurb: &'static str,
        range: std::ops::RangeInclusive<u64>,
        default: u64,
    ) -> Self {
        let (min, max) = range.into_inner();
        PropertySpec::new(
            name,
            blurb,
            PropType::UInt { min, max },
            PropValue::UInt(default),
        )
    }

    /// A floating-point property in `range`.
    pub fn double(
        name: &'static str,
        blurb: &'static str,
        range: std::ops::RangeInclusive<f64>,
        default: f64,
    ) -> Self {
        let (min, max) = range.into_inner();
        PropertySpec::new(
            name,
            blurb,
            PropType::Double { min, max },
            PropValue::Double(default),
        )
    }

    /// A string property.
    pub fn string(name: &'static str, blurb: &'static str, default: &str) -> Self {
        PropertySpec::new(
            name,
            blurb,
            PropType::String,
            PropValue::String(default.to_owned()),
        )
    }

    /// An enum property: `values` are (value, nick, description).
    pub fn enumeration(
        name: &'static str,
        blurb: &'static str,
        values: &'static [(i32, &'static str, &'static str)],
        default: i32,
    ) -> Self {
        PropertySpec::new(
            name,
            blurb,
            PropType::Enum(values),
            PropValue::Enum(default),
        )
    }

    /// A caps property.
    pub fn caps(name: &'static str, blurb: &'static str, default: Caps) -> Self {
        PropertySpec::new(name, blurb, PropType::Caps, PropValue::Caps(default))
    }

    fn expected(&self) -> String {
        match &self.ty {
            PropType::Int { min, max } => format!("an integer in {min}..={max}"),
            PropType::UInt { min, max } => format!("an unsigned integer in {min}..={max}"),
            PropType::Double { min, max } => format!("a number in {min}..={max}"),
            PropType::Bool => "a boolean (true/false)".into(),
            PropType::String => "a string".into(),
            PropType::Caps => "caps".into(),
            PropType::Enum(values) => format!(
                "one of {}",
                values
                    .iter()
                    .map(|(v, nick, _)| format!("{nick} ({v})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// Parses a value given as text (`gst-launch` style: enums by nick or number,
    /// integers in decimal or `0x` hex, booleans as true/false/yes/no/1/0).
    ///
    /// # Errors
    /// [`PropertyError::BadValue`] saying what was expected.
    pub fn parse(&self, element: &str, text: &str) -> Result<PropValue, PropertyError> {
        let bad = |why: String| PropertyError::BadValue {
            element: element.to_owned(),
            name: self.name.to_owned(),
            value: text.to_owned(),
            expected: self.expected(),
            why,
        };
        let t = text.trim();
        let value = match &self.ty {
            PropType::Bool => match t.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" | "on" => PropValue::Bool(true),
                "false" | "no" | "0" | "off" => PropValue::Bool(false),
                _ => return Err(bad("not a boolean".into())),
            },
            PropType::Int { .. } => {
                PropValue::Int(parse_i64(t).ok_or_else(|| bad("not an integer".into()))?)
            }
            PropType::UInt { .. } => {
                PropValue::UInt(parse_u64(t).ok_or_else(|| bad("not an unsigned integer".into()))?)
            }
            PropType::Double { .. } => {
                PropValue::Double(t.parse::<f64>().map_err(|e| bad(e.to_string()))?)
            }
            PropType::String => PropValue::String(text.to_owned()),
            PropType::Caps => PropValue::Caps(t.parse::<Caps>().map_err(|e| bad(e.to_string()))?),
            PropType::Enum(values) => {
                let found = values
                    .iter()
                    .find(|(_, nick, _)| nick.eq_ignore_ascii_case(t))
                    .or_else(|| {
                        parse_i64(t)
                            .and_then(|n| values.iter().find(|(v, _, _)| i64::from(*v) == n))
                    });
                match found {
                    Some((v, _, _)) => PropValue::Enum(*v),
                    None => return Err(bad("no such value".into())),
                }
            }
        };
        self.check(element, value).map_err(|e| match e {
            PropertyError::BadValue { why, .. } => bad(why),
            other => other,
        })
    }

    /// Checks a value's type and range.
    ///
    /// # Errors
    /// [`PropertyError::BadValue`].
    pub fn check(&self, element: &str, value: PropValue) -> Result<PropValue, PropertyError> {
        let bad = |why: &str| PropertyError::BadValue {
            element: element.to_owned(),
            name: self.name.to_owned(),
            value: value.to_string(),
            expected: self.expected(),
            why: why.to_owned(),
        };
        let ok = match (&self.ty, &value) {
            (PropType::Bool, PropValue::Bool(_))
            | (PropType::String, PropValue::String(_))
            | (PropType::Caps, PropValue::Caps(_)) => true,
            (PropType::Int { min, max }, PropValue::Int(v)) => {
                if v < min || v > max {
                    return Err(bad("out of range"));
                }
                true
            }
            (PropType::UInt { min, max }, PropValue::UInt(v)) => {
                if v < min || v > max {
                    return Err(bad("out of range"));
                }
                true
            }
            (PropType::Double { min, max }, PropValue::Double(v)) => {
                if !(v >= min && v <= max) {
                    return Err(bad("out of range"));
                }
                true
            }
            (PropType::Enum(values), PropValue::Enum(v)) => values.iter().any(|(x, _, _)| x == v),
            _ => false,
        };
        if ok {
            Ok(value)
        } else {
            Err(bad("wrong type"))
        }
    }
}

fn parse_i64(t: &str) -> Option<i64> {
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return i64::from_str_radix(h, 16).ok();
    }
    if let Some(h) = t.strip_prefix("-0x") {
        return i64::from_str_radix(h, 16).ok().map(|v| -v);
    }
    t.parse().ok()
}

fn parse_u64(t: &str) -> Option<u64> {
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u64::from_str_radix(h, 16).ok();
    }
    t.parse().ok()
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

/// The description of an element type.
pub struct ElementFactory {
    /// Factory name (`videotestsrc`).
    pub name: &'static str,
    /// Human name.
    pub long_name: &'static str,
    /// Classification (`Source/Video`).
    pub klass: &'static str,
    /// What it does.
    pub description: &'static str,
    /// Properties (besides `name`).
    pub properties: Vec<PropertySpec>,
    /// Pad templates.
    pub pad_templates: Vec<PadTemplate>,
    /// Makes an implementation.
    pub create: fn() -> Box<dyn ElementImpl>,
}

impl fmt::Debug for ElementFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ElementFactory")
            .field("name", &self.name)
            .finish()
    }
}

impl ElementFactory {
    /// The spec of property `name`.
    pub fn property(&self, name: &str) -> Option<&PropertySpec> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// The template named `name`.
    pub fn pad_template(&self, name: &str) -> Option<&PadTemplate> {
        self.pad_templates.iter().find(|t| t.name == name)
    }
}

/// A crate's elements, registered in one call: penstock's static plugins.
///
/// Every crate that offers elements exports one (`penstock_elements::PLUGIN`); an
/// application builds its [`Registry`] from the plugins it links with
/// ([`Registry::with_plugins`]), so a new element crate is one more entry in that list.
///
/// ```
/// use penstock::element::{Plugin, Registry};
///
/// fn register(registry: &mut Registry) {
///     // registry.register(mysrc::factory());
///     let _ = registry;
/// }
///
/// pub const PLUGIN: Plugin = Plugin {
///     name: "my-elements",
///     description: "my sources and sinks",
///     register,
/// };
///
/// let registry = Registry::with_plugins(&[PLUGIN]);
/// assert_eq!(registry.plugins().collect::<Vec<_>>(), ["my-elements"]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Plugin {
    /// The plugin's name (by convention its crate's).
    pub name: &'static str,
    /// What its elements are for.
    pub description: &'static str,
    /// Adds the plugin's factories to a registry.
    pub register: fn(&mut Registry),
}

/// Element factories by name.
#[derive(Default, Debug)]
pub struct Registry {
    factories: BTreeMap<&'static str, Arc<ElementFactory>>,
    /// The plugin each factory came from (none for a factory registered directly).
    origins: BTreeMap<&'static str, &'static str>,
    plugins: Vec<&'static str>,
    /// The plugin being registered.
    registering: Option<&'static str>,
    counters: Mutex<BTreeMap<&'static str, u32>>,
}

/// Making an element failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MakeError {
    /// No factory of that name.
    #[error("no element \"{}\"{}", crate::launch::abbreviate(name), .suggestion.as_ref().map(|s| format!(" (did you mean \"{s}\"?)")).unwrap_or_default())]
    NoSuchElement {
        /// The name asked for.
        name: String,
        /// The closest known name.
        suggestion: Option<String>,
    },
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// A registry with the factories of every plugin in `plugins`, in order.
    pub fn with_plugins(plugins: &[Plugin]) -> Self {
        let mut r = Registry::new();
        for p in plugins {
            r.register_plugin(p);
        }
        r
    }

    /// Adds every factory of `plugin` (a later plugin's factory replaces an earlier one
    /// of the same name, as [`register`](Self::register) does).
    pub fn register_plugin(&mut self, plugin: &Plugin) {
        let outer = self.registering.replace(plugin.name);
        (plugin.register)(self);
        self.registering = outer;
        if !self.plugins.contains(&plugin.name) {
            self.plugins.push(plugin.name);
        }
    }

    /// Adds a factory (replacing one of the same name).
    pub fn register(&mut self, factory: ElementFactory) {
        match self.registering {
            Some(plugin) => self.origins.insert(factory.name, plugin),
            None => self.origins.remove(factory.name),
        };
        self.factories.insert(factory.name, Arc::new(factory));
    }

    /// The names of the plugins registered, in order.
    pub fn plugins(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.plugins.iter().copied()
    }

    /// The plugin factory `name` came from (`None`: unknown, or registered directly).
    pub fn plugin_of(&self, name: &str) -> Option<&'static str> {
        self.origins.get(name).copied()
    }

    /// The factory named `name`.
    pub fn find(&self, name: &str) -> Option<&Arc<ElementFactory>> {
        self.factories.get(name)
    }

    /// All factories, by name.
    pub fn factories(&self) -> impl Iterator<Item = &Arc<ElementFactory>> {
        self.factories.values()
    }

    /// Makes an element; `name` defaults to the factory name and a counter
    /// (`queue0`, `queue1`).
    ///
    /// # Errors
    /// [`MakeError::NoSuchElement`] with the closest known name.
    pub fn make(&self, factory: &str, name: Option<&str>) -> Result<Element, MakeError> {
        let Some(f) = self.factories.get(factory) else {
            let suggestion = self
                .factories
                .keys()
                .map(|k| (edit_distance(k, factory), *k))
                // Close enough to be a typo: a third of the name, at least one edit.
                .filter(|(d, _)| *d <= (factory.chars().count() / 3).max(1))
                .min()
                .map(|(_, k)| k.to_owned());
            return Err(MakeError::NoSuchElement {
                name: factory.to_owned(),
                suggestion,
            });
        };
        let name = match name {
            Some(n) => n.to_owned(),
            None => {
                let mut c = self.counters.lock_ignore_poison();
                let n = c.entry(f.name).or_insert(0);
                let name = format!("{}{}", f.name, n);
                *n += 1;
                name
            }
        };
        Ok(Element::new(Arc::clone(f), name))
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let v = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
            cur.push(v);
        }
        prev = cur;
    }
    prev[b.len()]
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

    /// All pads.
    pub fn pads(&self) -> Vec<Pad> {
        self.0.pads.read_ignore_poison().clone()
    }

    /// Source pads.
    pub fn src_pads(&self) -> Vec<Pad> {
        self.pads()
            .into_iter()
            .filter(|p| p.direction() == PadDirection::Src)
            .collect()
    }

    /// Sink pads.
    pub fn sink_pads(&self) -> Vec<Pad> {
        self.pads()
            .into_iter()
            .filter(|p| p.direction() == PadDirection::Sink)
            .collect()
    }

    /// The pad named `name`.
    pub fn pad(&self, name: &str) -> Option<Pad> {
        self.0
            .pads
            .read_ignore_poison()
            .iter()
            .find(|p| p.name() == name)
            .cloned()
    }

    /// The first source pad.
    pub fn src_pad(&self) -> Option<Pad> {
        self.0
            .pads
            .read_ignore_poison()
            .iter()
            .find(|p| p.direction() == PadDirection::Src)
            .cloned()
    }

    /// The first sink pad.
    pub fn sink_pad(&self) -> Option<Pad> {
        self.0
            .pads
            .read_ignore_poison()
            .iter()
            .find(|p| p.direction() == PadDirection::Sink)
            .cloned()
    }

    /// Makes a pad from request template `template` (`src_%u` → `src_0`, `src_1`...).
    ///
    /// # Errors
    /// [`ElementError`] if there is no such request template.
    pub fn request_pad(&self, template: &str) -> Result<Pad, ElementError> {
        self.make_request_pad(template, None)
    }

    /// Makes a pad from request template `template`, named `name` (`src_5`, the
    /// template's prefix and a number) or by the counter.
    fn make_request_pad(&self, template: &str, name: Option<&str>) -> Result<Pad, ElementError> {
        let t = self
            .0
            .factory
            .pad_templates
            .iter()
            .find(|t| t.name == template && t.presence == PadPresence::Request)
            .ok_or_else(|| {
                ElementError::new(format!(
                    "{} has no request pad template '{template}'",
                    self.path()
                ))
            })?;
        let pad_name = {
            let mut c = self.0.request_counter.lock_ignore_poison();
            match name {
                Some(name) => {
                    // Later unnamed requests must not take this name.
                    if let Some(n) = request_index(t.name, name) {
                        *c = (*c).max(n.saturating_add(1));
                    }
                    name.to_owned()
                }
                None => {
                    let n = *c;
                    *c += 1;
                    t.name.replace("%u", &n.to_string())
                }
            }
        };
        let pad = Pad::new(pad_name, t.clone());
        pad.set_parent(Arc::downgrade(&self.0));
        if *self.0.state.lock_ignore_poison() >= State::Paused {
            pad.reset_for_streaming();
        }
        self.0.pads.write_ignore_poison().push(pad.clone());
        self.0.imp.pad_added(self, &pad);
        Ok(pad)
    }

    /// A free source pad for linking: an unlinked always-pad, or a new request pad.
    pub(crate) fn linkable_pad(&self, direction: PadDirection, name: Option<&str>) -> Option<Pad> {
        if let Some(n) = name {
            if let Some(p) = self.pad(n) {
                return (p.direction() == direction).then_some(p);
            }
            // A request pad asked for by name (`src_1`) gets that name, as in GStreamer.
            let t = self.0.factory.pad_templates.iter().find(|t| {
                t.direction == direction
                    && t.presence == PadPresence::Request
                    && request_index(t.name, n).is_some()
            })?;
            return self.make_request_pad(t.name, Some(n)).ok();
        }
        let free = self
            .pads()
            .into_iter()
            .find(|p| p.direction() == direction && !p.is_linked());
        if free.is_some() {
            return free;
        }
        let t = self
            .0
            .factory
            .pad_templates
            .iter()
            .find(|t| t.direction == direction && t.presence == PadPresence::Request)?;
        self.request_pad(t.name).ok()
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

    /// Current state.
    pub fn state(&self) -> State {
        *self.0.state.lock_ignore_poison()
    }

    /// Goes step by step to `target`, posting a state-changed message per step.
    ///
    /// # Errors
    /// The first failing step's [`ElementError`] (also posted on the bus).
    pub fn set_state(&self, target: State) -> Result<(), ElementError> {
        loop {
            let current = self.state();
            let Some((change, next)) = StateChange::next(current, target) else {
                return Ok(());
            };
            match change {
                StateChange::ReadyToPaused => {
                    for p in self.pads() {
                        p.reset_for_streaming();
                    }
                }
                StateChange::PlayingToPaused => self.stop_tasks(),
                StateChange::PausedToReady => {
                    for p in self.pads() {
                        p.set_flushing(true);
                    }
                }
                _ => {}
            }
            if let Err(e) = self.0.imp.change_state(self, change) {
                self.post_error(&e.message, e.debug.clone());
                return Err(e.in_element(self));
            }
            *self.0.state.lock_ignore_poison() = next;
            self.post(MessageKind::StateChanged {
                old: current,
                new: next,
            });
        }
    }

    /// Sets every pad flushing and asks the implementation to unblock (first phase of
    /// stopping).
    pub fn unlock(&self) {
        for p in self.pads() {
            p.set_flushing(true);
        }
        self.0.imp.unlock(self);
    }

    /// Stops and joins the element's streaming threads (after [`unlock`](Self::unlock)).
    pub fn stop_tasks(&self) {
        self.unlock();
        let tasks = std::mem::take(&mut *self.0.tasks.lock_ignore_poison());
        for (stop, _) in &tasks {
            stop.store(true, Ordering::Release);
        }
        for (_, handle) in tasks {
            // A panic in `f` is caught and posted by the thread itself; this is for one
            // that escaped (a panic while posting).
            if handle.join().is_err() {
                self.post_error("a streaming thread panicked", None);
            }
        }
    }

    /// Starts a streaming thread calling `f` until it returns [`TaskControl::Stop`] or
    /// the element stops its tasks.
    ///
    /// A panic in `f` ends the task at once and is posted on the bus as an error from
    /// this element (with the panic's message), so the pipeline stops with it instead
    /// of waiting for data that will not come.
    ///
    /// # Errors
    /// [`ElementError`] if the thread cannot be spawned.
    pub fn spawn_task<F>(&self, what: &str, mut f: F) -> Result<(), ElementError>
    where
        F: FnMut() -> TaskControl + Send + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let element = Arc::downgrade(&self.0);
        let task = what.to_owned();
        let handle = std::thread::Builder::new()
            .name(format!("{}:{what}", self.name()))
            .spawn(move || {
                while !stop2.load(Ordering::Acquire) {
                    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut f)) {
                        Ok(TaskControl::Continue) => {}
                        Ok(TaskControl::Stop) => break,
                        Err(payload) => {
                            if let Some(inner) = element.upgrade() {
                                Element(inner).post_error(
                                    &format!(
                                        "streaming thread '{task}' panicked: {}",
                                        panic_message(payload.as_ref())
                                    ),
                                    None,
                                );
                            }
                            break;
                        }
                    }
                }
            })
            .map_err(|e| {
                ElementError::new(format!("cannot start a streaming thread: {e}")).in_element(self)
            })?;
        self.0.tasks.lock_ignore_poison().push((stop, handle));
        Ok(())
    }

    /// Posts a message on the pipeline's bus.
    pub fn post(&self, kind: MessageKind) {
        if let Some(bus) = &*self.0.bus.read_ignore_poison() {
            bus.post(self.path(), kind);
        }
    }

    /// Posts an error.
    pub fn post_error(&self, message: &str, debug: Option<String>) {
        self.post(MessageKind::Error {
            message: message.to_owned(),
            debug,
        });
    }

    /// Posts a warning.
    pub fn post_warning(&self, message: &str) {
        self.post(MessageKind::Warning {
            message: message.to_owned(),
        });
    }

    /// Reports a flow error that ends a streaming thread, as GStreamer's
    /// "streaming stopped, reason not-negotiated" (fatal ones only), and sends EOS
    /// downstream so sinks finish.
    pub fn report_flow_error(&self, err: FlowError) {
        if err.is_fatal() {
            self.post_error(
                &format!(
                    "Internal data stream error: streaming stopped, reason {}",
                    flow_name(err)
                ),
                None,
            );
        }
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

/// The number in `name` if it is a name of request template `template` (`src_%u` and
/// `src_12` give 12).
fn request_index(template: &str, name: &str) -> Option<u32> {
    let prefix = template.strip_suffix("%u")?;
    let digits = name.strip_prefix(prefix)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The text of a panic's payload (`panic!("...")` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}

fn flow_name(e: FlowError) -> &'static str {
    match e {
        FlowError::Flushing => "flushing",
        FlowError::Eos => "eos",
        FlowError::NotLinked => "not-linked",
        FlowError::NotNegotiated => "not-negotiated",
        FlowError::Error => "error",
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
