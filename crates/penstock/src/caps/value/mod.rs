//! Typed field values: scalars, ranges, lists and arrays, with GStreamer's set semantics.

use std::cmp::Ordering;
use std::fmt::{self, Write as _};
use std::ops::RangeInclusive;
use std::str::FromStr;

use super::parse::{self, ParseError};
use super::set::{ListIndex, ScalarIndex, scalar_hash};

mod fraction;
mod ops;
mod print;

pub use fraction::Fraction;
use fraction::gcd;
use ops::*;
#[cfg(test)]
pub(crate) use print::format_double;
use print::*;
pub(crate) use print::{is_simple_char, write_field_value};

/// The scalar type of a [`Value`]; ranges, lists and arrays have the type of their
/// elements. Names are GStreamer's, as written in caps strings: `(int)`, `(string)`...
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// `int` (also `i`, `gint`): a 32-bit signed integer.
    Int,
    /// `guint64` (also `uint64`): a 64-bit unsigned integer (DRM modifiers).
    U64,
    /// `double` (also `d`, `gdouble`).
    Double,
    /// `boolean` (also `bool`, `b`, `gboolean`).
    Bool,
    /// `string` (also `s`, `str`, `gchararray`).
    String,
    /// `fraction` (also `F`, `GstFraction`).
    Fraction,
    /// `float` (also `f`, `gfloat`): a single-precision number.
    Float,
    /// `bitmask` (also `GstBitmask`): 64 bits, such as an audio channel mask.
    Bitmask,
}

impl ValueType {
    /// The name GStreamer prints in caps strings: `int`, `guint64`, `double`, `boolean`,
    /// `string` or `fraction`.
    pub const fn name(self) -> &'static str {
        match self {
            ValueType::Int => "int",
            ValueType::U64 => "guint64",
            ValueType::Double => "double",
            ValueType::Bool => "boolean",
            ValueType::String => "string",
            ValueType::Fraction => "fraction",
            ValueType::Float => "float",
            ValueType::Bitmask => "bitmask",
        }
    }

    /// Looks up a type name as written inside `(...)` in a caps string, aliases included
    /// (case-sensitive, as in GStreamer).
    pub fn from_name(name: &str) -> Option<ValueType> {
        Some(match name {
            "int" | "i" | "gint" => ValueType::Int,
            "guint64" | "uint64" => ValueType::U64,
            "double" | "d" | "gdouble" => ValueType::Double,
            "boolean" | "bool" | "b" | "gboolean" => ValueType::Bool,
            "string" | "s" | "str" | "gchararray" => ValueType::String,
            "fraction" | "F" | "GstFraction" => ValueType::Fraction,
            // As a type `f` is float (GStreamer's abbreviation); as a boolean value it
            // is false.
            "float" | "f" | "gfloat" => ValueType::Float,
            "bitmask" | "GstBitmask" => ValueType::Bitmask,
            _ => return None,
        })
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The value of a caps field.
///
/// Scalars name one value; ranges, lists and arrays name sets of values, and take part
/// in [intersection](Value::intersect) and [subset](Value::is_subset) tests as sets:
///
/// * [`IntRange`](Value::IntRange) holds every multiple of `step` from `min` to `max`
///   (GStreamer keeps `min` and `max` multiples of `step`);
/// * [`FractionRange`](Value::FractionRange) holds every fraction from `min` to `max`;
/// * [`List`](Value::List) (`{ a, b }`) holds the union of its alternatives;
/// * [`Array`](Value::Array) (`< a, b >`) is one ordered sequence: two arrays intersect
///   element by element.
///
/// Equality is GStreamer's: lists compare as multisets (order does not matter), arrays
/// in order, doubles by value. Values of different types are never equal, nor intersect
/// (`(int)1` and `(guint64)1` have nothing in common).
///
/// [`Display`](fmt::Display) writes the value as it appears after `field=(type)` in a
/// caps string (`1920`, `30/1`, `[ 1, 4096 ]`, `{ NV12, I420 }`); [`Value::typed`]
/// writes it with its type.
#[derive(Debug, Clone)]
pub enum Value {
    /// `(int)`: a 32-bit signed integer.
    Int(i32),
    /// `(guint64)`: a 64-bit unsigned integer, e.g. a DRM format modifier.
    U64(u64),
    /// `(double)`.
    Double(f64),
    /// `(boolean)`.
    Bool(bool),
    /// `(string)`.
    String(String),
    /// `(fraction)`.
    Fraction(Fraction),
    /// `(float)`: a single-precision number.
    Float(f32),
    /// `(bitmask)`: 64 bits, printed as GStreamer does (`0x0000000000000003`). Two
    /// bitmasks intersect only when equal, as in GStreamer 1.22 (`0x3` and `0x7` do
    /// not link).
    Bitmask(u64),
    /// `(int)[ min, max ]` or `(int)[ min, max, step ]`: the multiples of `step` from
    /// `min` to `max` inclusive. Valid ranges have `min < max`, `step > 0` and `min`, `max`
    /// multiples of `step`; operations treat a `step` below 1 as 1.
    IntRange {
        /// Smallest value.
        min: i32,
        /// Largest value.
        max: i32,
        /// Distance between values (1 for every integer).
        step: i32,
    },
    /// `(fraction)[ min, max ]`: every fraction from `min` to `max` inclusive. Valid
    /// ranges have `min < max`.
    FractionRange {
        /// Smallest value.
        min: Fraction,
        /// Largest value.
        max: Fraction,
    },
    /// `{ a, b, ... }`: any one of the alternatives.
    List(Vec<Value>),
    /// `< a, b, ... >`: an ordered sequence of values, all of which apply.
    Array(Vec<Value>),
}

impl Value {
    /// `[ min, max ]` of every integer between; `min == max` gives the plain [`Value::Int`].
    pub fn int_range(min: i32, max: i32) -> Value {
        Self::int_range_step(min, max, 1)
    }

    /// `[ min, max, step ]`: the multiples of `step` from `min` to `max`; a single value
    /// gives the plain [`Value::Int`].
    pub fn int_range_step(min: i32, max: i32, step: i32) -> Value {
        if min == max {
            Value::Int(min)
        } else {
            Value::IntRange { min, max, step }
        }
    }

    /// `[ min, max ]` of fractions; `min == max` gives the plain [`Value::Fraction`].
    pub fn fraction_range(min: Fraction, max: Fraction) -> Value {
        if min == max {
            Value::Fraction(min)
        } else {
            Value::FractionRange { min, max }
        }
    }

    /// A list of alternatives `{ a, b }`.
    pub fn list<I, V>(items: I) -> Value
    where
        I: IntoIterator<Item = V>,
        V: Into<Value>,
    {
        Value::List(items.into_iter().map(Into::into).collect())
    }

    /// An ordered array `< a, b >`.
    pub fn array<I, V>(items: I) -> Value
    where
        I: IntoIterator<Item = V>,
        V: Into<Value>,
    {
        Value::Array(items.into_iter().map(Into::into).collect())
    }

    /// The scalar type: the value's own, a range's element type, a list's or array's
    /// first element's (GStreamer's "generic type"; an empty list is `int`).
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Int(_) | Value::IntRange { .. } => ValueType::Int,
            Value::U64(_) => ValueType::U64,
            Value::Double(_) => ValueType::Double,
            Value::Float(_) => ValueType::Float,
            Value::Bitmask(_) => ValueType::Bitmask,
            Value::Bool(_) => ValueType::Bool,
            Value::String(_) => ValueType::String,
            Value::Fraction(_) | Value::FractionRange { .. } => ValueType::Fraction,
            Value::List(v) | Value::Array(v) => v.first().map_or(ValueType::Int, Value::value_type),
        }
    }

    /// A short description of the kind of value, for messages: `int`, `int range`,
    /// `fraction range`, `list`, `array`...
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::IntRange { .. } => "int range",
            Value::FractionRange { .. } => "fraction range",
            Value::List(_) => "list",
            Value::Array(_) => "array",
            other => other.value_type().name(),
        }
    }

    /// The integer, if this is a [`Value::Int`].
    pub fn as_int(&self) -> Option<i32> {
        match self {
            Value::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The integer, if this is a [`Value::U64`].
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::U64(v) => Some(*v),
            _ => None,
        }
    }

    /// The number, if this is a [`Value::Double`].
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Double(v) => Some(*v),
            _ => None,
        }
    }

    /// The number, if this is a [`Value::Float`].
    pub fn as_f32(&self) -> Option<f32> {
        match self {
            Value::Float(v) => Some(*v),
            _ => None,
        }
    }

    /// The bits, if this is a [`Value::Bitmask`].
    pub fn as_bitmask(&self) -> Option<u64> {
        match self {
            Value::Bitmask(v) => Some(*v),
            _ => None,
        }
    }

    /// The boolean, if this is a [`Value::Bool`].
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(v) => Some(*v),
            _ => None,
        }
    }

    /// The string, if this is a [`Value::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(v) => Some(v),
            _ => None,
        }
    }

    /// The fraction, if this is a [`Value::Fraction`].
    pub fn as_fraction(&self) -> Option<Fraction> {
        match self {
            Value::Fraction(v) => Some(*v),
            _ => None,
        }
    }

    /// Whether the value names exactly one value: scalars, and arrays of fixed values.
    /// Ranges and lists (even of one element) are not fixed, as in GStreamer.
    pub fn is_fixed(&self) -> bool {
        match self {
            Value::IntRange { .. } | Value::FractionRange { .. } | Value::List(_) => false,
            Value::Array(v) => v.iter().all(Value::is_fixed),
            _ => true,
        }
    }

    /// The values in both `self` and `other`, or `None` when they have nothing in common.
    ///
    /// `[ 1, 10 ] ∩ 5 = 5`, `{ a, b } ∩ { b, c } = b`, `[ 1, 10 ] ∩ [ 5, 20 ] = [ 5, 10 ]`,
    /// `[ 0/1, 30/1 ] ∩ 25/1 = 25/1`; arrays intersect element by element. A list result
    /// of one element is returned as that element.
    ///
    /// ```
    /// use penstock::caps::Value;
    /// let a: Value = "{ NV12, I420 }".parse()?;
    /// let b: Value = "{ I420, YV12 }".parse()?;
    /// assert_eq!(a.intersect(&b), Some(Value::from("I420")));
    /// assert_eq!(Value::int_range(1, 10).intersect(&Value::Int(5)), Some(Value::Int(5)));
    /// # Ok::<(), penstock::caps::ParseError>(())
    /// ```
    pub fn intersect(&self, other: &Value) -> Option<Value> {
        match (self, other) {
            (Value::List(items), _) => intersect_list(items, other),
            (_, Value::List(items)) => intersect_list(items, self),
            (Value::Int(x), r @ Value::IntRange { .. })
            | (r @ Value::IntRange { .. }, Value::Int(x)) => {
                let (lo, hi, step) = int_range_bounds(r)?;
                int_in(i64::from(*x), lo, hi, step).then_some(Value::Int(*x))
            }
            (Value::IntRange { .. }, Value::IntRange { .. }) => {
                let (lo1, hi1, s1) = int_range_bounds(self)?;
                let (lo2, hi2, s2) = int_range_bounds(other)?;
                let step = lcm(s1, s2);
                let lo = ceil_multiple(lo1.max(lo2), step);
                let hi = floor_multiple(hi1.min(hi2), step);
                make_int_set(lo, hi, step)
            }
            (Value::Fraction(f), Value::FractionRange { min, max })
            | (Value::FractionRange { min, max }, Value::Fraction(f)) => {
                (min <= f && f <= max).then_some(Value::Fraction(*f))
            }
            (
                Value::FractionRange { min: a0, max: a1 },
                Value::FractionRange { min: b0, max: b1 },
            ) => {
                let lo = (*a0).max(*b0);
                let hi = (*a1).min(*b1);
                match lo.cmp(&hi) {
                    Ordering::Less => Some(Value::FractionRange { min: lo, max: hi }),
                    Ordering::Equal => Some(Value::Fraction(lo)),
                    Ordering::Greater => None,
                }
            }
            (Value::Array(a), Value::Array(b)) => {
                if a.len() != b.len() {
                    return None;
                }
                a.iter()
                    .zip(b)
                    .map(|(x, y)| x.intersect(y))
                    .collect::<Option<Vec<_>>>()
                    .map(Value::Array)
            }
            _ => (self == other).then(|| self.clone()),
        }
    }

    /// Whether `self` and `other` have at least one value in common.
    pub fn can_intersect(&self, other: &Value) -> bool {
        self.intersect(other).is_some()
    }

    /// Whether every value in `self` is also in `superset`: `5 ⊆ [ 1, 10 ]`,
    /// `{ a, b } ⊆ { a, b, c }`, `[ 2, 4 ] ⊆ [ 1, 10 ]`.
    ///
    /// A range is only found inside one element of a list, not spread over several.
    pub fn is_subset(&self, superset: &Value) -> bool {
        match (self, superset) {
            // Against a list, each scalar is looked up by hash (linear, not quadratic).
            // Against a list, each element is compared only with those it can be inside
            // (found by hash or by bounds): linear, not quadratic.
            (Value::List(items), Value::List(sup)) if worth_indexing(items, sup) => {
                let index = ListIndex::new(sup);
                items.iter().all(|v| match v {
                    Value::List(_) => v.is_subset(superset),
                    _ => index
                        .candidates(v)
                        .into_iter()
                        .any(|i| v.is_subset(&sup[i])),
                })
            }
            (Value::List(items), _) => items.iter().all(|v| v.is_subset(superset)),
            (_, Value::List(items)) => items.iter().any(|v| self.is_subset(v)),
            (Value::Int(x), r @ Value::IntRange { .. }) => {
                int_range_bounds(r).is_some_and(|(lo, hi, s)| int_in(i64::from(*x), lo, hi, s))
            }
            (r @ Value::IntRange { .. }, Value::Int(y)) => match int_range_bounds(r) {
                None => true,
                Some((lo, hi, _)) => lo == hi && lo == i64::from(*y),
            },
            (Value::IntRange { .. }, Value::IntRange { .. }) => {
                let Some((lo1, hi1, s1)) = int_range_bounds(self) else {
                    return true;
                };
                let Some((lo2, hi2, s2)) = int_range_bounds(superset) else {
                    return false;
                };
                lo1 >= lo2 && hi1 <= hi2 && lo1.rem_euclid(s2) == 0 && (lo1 == hi1 || s1 % s2 == 0)
            }
            (Value::Fraction(f), Value::FractionRange { min, max }) => min <= f && f <= max,
            (Value::FractionRange { min, max }, Value::Fraction(f)) => {
                min > max || (min == f && max == f)
            }
            (
                Value::FractionRange { min: a0, max: a1 },
                Value::FractionRange { min: b0, max: b1 },
            ) => a0 > a1 || (a0 >= b0 && a1 <= b1),
            (Value::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.is_subset(y))
            }
            _ => self == superset,
        }
    }

    /// One value of the set, as GStreamer's default fixation picks it: a range's
    /// smallest value, a list's first element (fixated), an array element by element.
    /// Fixed values are returned as they are.
    pub fn fixate(&self) -> Value {
        match self {
            Value::IntRange { min, .. } => match int_range_bounds(self) {
                Some((lo, _, _)) => Value::Int(i32::try_from(lo).unwrap_or(*min)),
                None => Value::Int(*min),
            },
            Value::FractionRange { min, .. } => Value::Fraction(*min),
            Value::List(items) => items.first().map_or_else(|| self.clone(), Value::fixate),
            Value::Array(items) => Value::Array(items.iter().map(Value::fixate).collect()),
            other => other.clone(),
        }
    }

    /// The integer of this value nearest to `target`: an int itself, the nearest multiple
    /// of a range's step inside the range, or the nearest such candidate in a list (the
    /// first on ties). `None` if the value holds no integer.
    pub fn nearest_int(&self, target: i32) -> Option<i32> {
        match self {
            Value::Int(x) => Some(*x),
            Value::IntRange { .. } => {
                let (lo, hi, step) = int_range_bounds(self)?;
                let t = i64::from(target).clamp(lo, hi);
                let rem = (t - lo).rem_euclid(step);
                let down = t - rem;
                let best = if rem * 2 > step && down + step <= hi {
                    down + step
                } else {
                    down
                };
                i32::try_from(best).ok()
            }
            Value::List(items) => items
                .iter()
                .filter_map(|v| v.nearest_int(target))
                .min_by_key(|x| (i64::from(*x) - i64::from(target)).abs()),
            _ => None,
        }
    }

    /// The fraction of this value nearest to `target`: a fraction itself, `target` clamped
    /// into a range, or the nearest such candidate in a list (the first on ties). `None`
    /// if the value holds no fraction.
    pub fn nearest_fraction(&self, target: Fraction) -> Option<Fraction> {
        match self {
            Value::Fraction(f) => Some(*f),
            Value::FractionRange { min, max } => {
                if min > max {
                    None
                } else {
                    Some(target.clamp(*min, *max))
                }
            }
            Value::List(items) => {
                let mut best: Option<(Fraction, (i128, i128))> = None;
                for f in items.iter().filter_map(|v| v.nearest_fraction(target)) {
                    let d = f.abs_diff(target);
                    let better = match best {
                        None => true,
                        // d.0/d.1 < b.0/b.1 (denominators are positive)
                        Some((_, b)) => d.0 * b.1 < b.0 * d.1,
                    };
                    if better {
                        best = Some((f, d));
                    }
                }
                best.map(|(f, _)| f)
            }
            _ => None,
        }
    }

    /// Writes the value with its type, as after `field=` in a caps string:
    /// `(int)1920`, `(string){ NV12, I420 }`, `{ (int)1, (string)a }` for a list mixing types.
    pub fn typed(&self) -> impl fmt::Display + '_ {
        Typed(self)
    }
}

/// Lets a value be written with its type (see [`Value::typed`]).
struct Typed<'a>(&'a Value);

impl fmt::Display for Typed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_field_value(f, self.0)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(v)
    }
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::U64(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Double(v)
    }
}

impl From<f32> for Value {
    fn from(v: f32) -> Self {
        Value::Float(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::String(v.clone())
    }
}

impl From<Fraction> for Value {
    fn from(v: Fraction) -> Self {
        Value::Fraction(v)
    }
}

impl From<RangeInclusive<i32>> for Value {
    /// `a..=b` is the int range `[ a, b ]` (the plain int when `a == b`).
    fn from(r: RangeInclusive<i32>) -> Self {
        Value::int_range(*r.start(), *r.end())
    }
}

impl From<RangeInclusive<Fraction>> for Value {
    /// `a..=b` is the fraction range `[ a, b ]` (the plain fraction when `a == b`).
    fn from(r: RangeInclusive<Fraction>) -> Self {
        Value::fraction_range(*r.start(), *r.end())
    }
}

impl FromStr for Value {
    type Err = ParseError;

    /// Parses one value as written after `field=` in a caps string, with or without a
    /// type: `(int)[ 1, 4096 ]`, `30/1`, `{ NV12, I420 }`, `"a b"`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse::parse_value(s)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::List(_) | Value::Array(_) => {
                let typed_elements = leaf_type(self).is_none();
                write_composite(f, self, typed_elements)
            }
            other => write_scalar_body(f, other),
        }
    }
}
