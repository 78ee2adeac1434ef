//! Property tables: an element declares each property once (name, type, default,
//! description, how to read and write it) and both its factory's list (what `inspect`
//! prints and launch lines are checked against) and its `set_property`/`property` come
//! from that one declaration.
//!
//! ```
//! use std::sync::LazyLock;
//! use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
//! use penstock::element::{Element, ElementImpl, PropValue, PropertyError, PropertySpec};
//! use penstock::property::PropertyTable;
//!
//! #[derive(Default)]
//! struct Counter {
//!     silent: AtomicBool,
//!     limit: AtomicI64,
//! }
//!
//! static PROPERTIES: LazyLock<PropertyTable<Counter>> = LazyLock::new(|| {
//!     PropertyTable::<Counter>::new()
//!         .add(
//!             PropertySpec::bool("silent", "Say nothing", false),
//!             |c| c.silent.load(Ordering::Relaxed),
//!             |c, v| c.silent.store(v, Ordering::Relaxed),
//!         )
//!         .add(
//!             PropertySpec::int("limit", "How many (-1 = unlimited)", -1..=1000, -1),
//!             |c| c.limit.load(Ordering::Relaxed),
//!             |c, v| c.limit.store(v, Ordering::Relaxed),
//!         )
//! });
//!
//! impl ElementImpl for Counter {
//!     fn set_property(&self, e: &Element, name: &str, v: PropValue) -> Result<(), PropertyError> {
//!         PROPERTIES.set(self, e, name, v)
//!     }
//!     fn property(&self, _: &Element, name: &str) -> Option<PropValue> {
//!         PROPERTIES.get(self, name)
//!     }
//! }
//! // The factory's `properties: PROPERTIES.specs()`.
//! assert_eq!(PROPERTIES.specs().len(), 2);
//! ```

use std::fmt;

use crate::caps::Caps;
use crate::element::{Element, PropValue, PropertyError, PropertySpec, State};

/// A Rust type a property's value is read and written as: `bool`, `i64` (integers),
/// `u64` (unsigned integers), `f64`, `String`, [`Caps`], and `i32` for an enum's value.
pub trait PropertyValue: Sized {
    /// As a [`PropValue`].
    fn into_value(self) -> PropValue;
    /// From a [`PropValue`] of this type (`None` for another type).
    fn from_value(value: PropValue) -> Option<Self>;
}

macro_rules! property_value {
    ($t:ty, $variant:ident) => {
        impl PropertyValue for $t {
            fn into_value(self) -> PropValue {
                PropValue::$variant(self)
            }
            fn from_value(value: PropValue) -> Option<Self> {
                match value {
                    PropValue::$variant(v) => Some(v),
                    _ => None,
                }
            }
        }
    };
}

property_value!(bool, Bool);
property_value!(i64, Int);
property_value!(u64, UInt);
property_value!(f64, Double);
property_value!(String, String);
property_value!(Caps, Caps);
// An enum's value.
property_value!(i32, Enum);

/// Why a setter refused a value that has the property's type and range: what it
/// expects and why this value is not it. The table turns it into
/// [`PropertyError::BadValue`] naming the element, the property and the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// What the property takes (`a fraction N/D in 0/1..=2147483647/1`).
    pub expected: String,
    /// Why the value is not that.
    pub why: String,
}

impl Refused {
    /// A refusal.
    pub fn new(expected: impl Into<String>, why: impl Into<String>) -> Self {
        Refused {
            expected: expected.into(),
            why: why.into(),
        }
    }
}

type Getter<T> = Box<dyn Fn(&T) -> PropValue + Send + Sync>;
type Setter<T> = Box<dyn Fn(&T, &Element, PropValue) -> Option<Result<(), Refused>> + Send + Sync>;

struct Entry<T> {
    spec: PropertySpec,
    get: Getter<T>,
    set: Setter<T>,
    /// Refused from Paused up (a file name, a frame layout).
    stopped_only: bool,
}

/// The properties of element implementation `T`, each declared once.
pub struct PropertyTable<T> {
    entries: Vec<Entry<T>>,
    after_set: Option<fn(&T, &Element)>,
}

impl<T> fmt::Debug for PropertyTable<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|e| e.spec.name))
            .finish()
    }
}

impl<T> Default for PropertyTable<T> {
    fn default() -> Self {
        PropertyTable {
            entries: Vec::new(),
            after_set: None,
        }
    }
}

impl<T: 'static> PropertyTable<T> {
    /// An empty table.
    pub fn new() -> Self {
        PropertyTable::default()
    }

    /// Declares a property read by `get` and written by `set`, as `V` (see
    /// [`PropertyValue`]; `V` must match the spec's type).
    ///
    /// # Panics
    /// If the table already has a property of that name (a mistake in the declaration,
    /// found the first time the table is built).
    #[must_use]
    pub fn add<V: PropertyValue + 'static>(
        self,
        spec: PropertySpec,
        get: fn(&T) -> V,
        set: fn(&T, V),
    ) -> Self {
        self.push(spec, get, move |imp, _element, v| {
            set(imp, v);
            Ok(())
        })
    }

    /// Declares a property whose setter checks the value further (beyond the spec's type
    /// and range) or needs the element; a [`Refused`] becomes
    /// [`PropertyError::BadValue`].
    ///
    /// # Panics
    /// As [`add`](Self::add).
    #[must_use]
    pub fn add_checked<V: PropertyValue + 'static>(
        self,
        spec: PropertySpec,
        get: fn(&T) -> V,
        set: fn(&T, &Element, V) -> Result<(), Refused>,
    ) -> Self {
        self.push(spec, get, set)
    }

    fn push<V: PropertyValue + 'static>(
        mut self,
        spec: PropertySpec,
        get: fn(&T) -> V,
        set: impl Fn(&T, &Element, V) -> Result<(), Refused> + Send + Sync + 'static,
    ) -> Self {
        assert!(
            self.entries.iter().all(|e| e.spec.name != spec.name),
            "property '{}' declared twice",
            spec.name
        );
        self.entries.push(Entry {
            spec,
            get: Box::new(move |imp| get(imp).into_value()),
            set: Box::new(move |imp, element, value| {
                V::from_value(value).map(|v| set(imp, element, v))
            }),
            stopped_only: false,
        });
        self
    }

    /// The property declared last can only change in NULL or READY (setting it later
    /// fails with [`PropertyError::WrongState`]).
    #[must_use]
    pub fn only_when_stopped(mut self) -> Self {
        if let Some(e) = self.entries.last_mut() {
            e.stopped_only = true;
        }
        self
    }

    /// Every property declared so far can only change in NULL or READY.
    #[must_use]
    pub fn all_only_when_stopped(mut self) -> Self {
        for e in &mut self.entries {
            e.stopped_only = true;
        }
        self
    }

    /// Calls `f` after any property was set (to wake a waiting thread, or ask upstream
    /// to renegotiate).
    #[must_use]
    pub fn after_set(mut self, f: fn(&T, &Element)) -> Self {
        self.after_set = Some(f);
        self
    }

    /// The specs, in declaration order: the factory's `properties`.
    pub fn specs(&self) -> Vec<PropertySpec> {
        self.entries.iter().map(|e| e.spec.clone()).collect()
    }

    /// Sets property `name` of `imp` (what [`ElementImpl::set_property`] does with a
    /// table).
    ///
    /// # Errors
    /// [`PropertyError::NotWritable`] for a name the table does not have or a value of
    /// another type, [`PropertyError::WrongState`] for a property that cannot change
    /// now, [`PropertyError::BadValue`] for a value the setter refused.
    ///
    /// [`ElementImpl::set_property`]: crate::element::ElementImpl::set_property
    pub fn set(
        &self,
        imp: &T,
        element: &Element,
        name: &str,
        value: PropValue,
    ) -> Result<(), PropertyError> {
        let Some(entry) = self.entries.iter().find(|e| e.spec.name == name) else {
            return Err(PropertyError::not_writable(element, name, &value));
        };
        if entry.stopped_only {
            let state = element.state();
            if state >= State::Paused {
                return Err(PropertyError::WrongState {
                    element: element.path(),
                    name: name.to_owned(),
                    state,
                });
            }
        }
        let shown = match &value {
            // As written (the Display form quotes strings).
            PropValue::String(s) => s.clone(),
            other => other.to_string(),
        };
        let refused = |value: &PropValue| PropertyError::not_writable(element, name, value);
        match (entry.set)(imp, element, value.clone()) {
            None => return Err(refused(&value)),
            Some(Err(r)) => {
                return Err(PropertyError::BadValue {
                    element: element.path(),
                    name: name.to_owned(),
                    value: shown,
                    expected: r.expected,
                    why: r.why,
                });
            }
            Some(Ok(())) => {}
        }
        if let Some(f) = self.after_set {
            f(imp, element);
        }
        Ok(())
    }

    /// Reads property `name` of `imp` (`None`: the table does not have it).
    pub fn get(&self, imp: &T, name: &str) -> Option<PropValue> {
        self.entries
            .iter()
            .find(|e| e.spec.name == name)
            .map(|e| (e.get)(imp))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::element::{ElementFactory, ElementImpl, PropType, Registry};
    use crate::sync::MutexExt;

    const MODES: &[(i32, &str, &str)] = &[(0, "off", "Off"), (1, "on", "On")];

    #[derive(Default)]
    struct Thing {
        label: Mutex<String>,
        mode: Mutex<i32>,
        even: Mutex<i64>,
        sets: AtomicU32,
    }

    fn table() -> PropertyTable<Thing> {
        PropertyTable::<Thing>::new()
            .add(
                PropertySpec::string("label", "A label", ""),
                |t| t.label.lock_ignore_poison().clone(),
                |t, v| *t.label.lock_ignore_poison() = v,
            )
            .only_when_stopped()
            .add(
                PropertySpec::enumeration("mode", "A mode", MODES, 1),
                |t| *t.mode.lock_ignore_poison(),
                |t, v| *t.mode.lock_ignore_poison() = v,
            )
            .add_checked(
                PropertySpec::int("even", "An even number", 0..=100, 0),
                |t| *t.even.lock_ignore_poison(),
                |t, _, v| {
                    if v % 2 != 0 {
                        return Err(Refused::new("an even number", "odd"));
                    }
                    *t.even.lock_ignore_poison() = v;
                    Ok(())
                },
            )
            .after_set(|t, _| {
                t.sets.fetch_add(1, Ordering::Relaxed);
            })
    }

    static TABLE: std::sync::LazyLock<PropertyTable<Thing>> = std::sync::LazyLock::new(table);

    impl ElementImpl for Thing {
        fn set_property(
            &self,
            element: &Element,
            name: &str,
            value: PropValue,
        ) -> Result<(), PropertyError> {
            TABLE.set(self, element, name, value)
        }

        fn property(&self, _element: &Element, name: &str) -> Option<PropValue> {
            TABLE.get(self, name)
        }
    }

    fn element() -> Element {
        let mut r = Registry::new();
        r.register(ElementFactory {
            name: "thing",
            long_name: "Thing",
            klass: "Test",
            description: "has a property table",
            properties: TABLE.specs(),
            pad_templates: vec![],
            create: || Box::<Thing>::default(),
        });
        r.make("thing", Some("t0")).unwrap()
    }

    #[test]
    fn one_declaration_gives_specs_setters_and_getters() {
        let specs = TABLE.specs();
        let names: Vec<_> = specs.iter().map(|s| s.name).collect();
        assert_eq!(names, ["label", "mode", "even"]);
        assert_eq!(specs[1].ty, PropType::Enum(MODES));
        assert_eq!(specs[1].default, PropValue::Enum(1));
        assert_eq!(specs[2].ty, PropType::Int { min: 0, max: 100 });

        let e = element();
        e.set_property_str("label", "hello").unwrap();
        e.set_property_str("mode", "off").unwrap();
        e.set_property("even", PropValue::Int(42)).unwrap();
        assert_eq!(e.property("label"), Some(PropValue::String("hello".into())));
        assert_eq!(e.property("mode"), Some(PropValue::Enum(0)));
        assert_eq!(e.property("even"), Some(PropValue::Int(42)));
        assert_eq!(e.property("nosuch"), None);
        let thing = e.implementation_as::<Thing>().unwrap();
        assert_eq!(thing.sets.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn a_refused_value_names_element_property_and_value() {
        let e = element();
        let err = e.set_property("even", PropValue::Int(3)).unwrap_err();
        assert_eq!(
            err,
            PropertyError::BadValue {
                element: "t0".into(),
                name: "even".into(),
                value: "3".into(),
                expected: "an even number".into(),
                why: "odd".into(),
            }
        );
        assert_eq!(e.property("even"), Some(PropValue::Int(0)));
        // Refused: no after-set hook.
        let thing = e.implementation_as::<Thing>().unwrap();
        assert_eq!(thing.sets.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_stopped_only_property_is_refused_while_paused() {
        let e = element();
        e.set_state(State::Paused).unwrap();
        let err = e.set_property_str("label", "x").unwrap_err();
        assert!(
            matches!(&err, PropertyError::WrongState { name, state: State::Paused, .. } if name == "label"),
            "{err:?}"
        );
        // The others still change.
        e.set_property_str("mode", "on").unwrap();
        e.set_state(State::Null).unwrap();
        e.set_property_str("label", "x").unwrap();
    }

    #[test]
    fn a_name_or_type_the_table_lacks_is_not_writable() {
        let e = element();
        let thing = Thing::default();
        let err = TABLE
            .set(&thing, &e, "nosuch", PropValue::Bool(true))
            .unwrap_err();
        assert!(matches!(err, PropertyError::NotWritable { .. }), "{err:?}");
        let err = TABLE
            .set(&thing, &e, "mode", PropValue::Bool(true))
            .unwrap_err();
        assert!(matches!(err, PropertyError::NotWritable { .. }), "{err:?}");
    }

    #[test]
    #[should_panic(expected = "declared twice")]
    fn a_name_declared_twice_is_a_mistake_found_at_once() {
        let _ = PropertyTable::<Thing>::new()
            .add(PropertySpec::bool("x", "", false), |_| false, |_, _| {})
            .add(PropertySpec::bool("x", "", false), |_| false, |_, _| {});
    }
}
