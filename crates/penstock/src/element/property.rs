//! Element properties: their types, values, specs and errors.

use super::*;

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

pub(super) fn parse_i64(t: &str) -> Option<i64> {
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return i64::from_str_radix(h, 16).ok();
    }
    if let Some(h) = t.strip_prefix("-0x") {
        return i64::from_str_radix(h, 16).ok().map(|v| -v);
    }
    t.parse().ok()
}

pub(super) fn parse_u64(t: &str) -> Option<u64> {
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u64::from_str_radix(h, 16).ok();
    }
    t.parse().ok()
}
