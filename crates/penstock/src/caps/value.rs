//! Typed field values: scalars, ranges, lists and arrays, with GStreamer's set semantics.

use std::cmp::Ordering;
use std::fmt::{self, Write as _};
use std::ops::RangeInclusive;
use std::str::FromStr;

use super::parse::{self, ParseError};
use super::set::{ListIndex, ScalarIndex, scalar_hash};

/// A rational number `numer/denom`, always reduced, with `denom > 0` (GStreamer's
/// `GstFraction`, used for frame rates and pixel aspect ratios).
///
/// Equality is equality of value (the representation is canonical) and [`Ord`] orders by
/// value: `1/2 < 2/3`.
///
/// ```
/// use penstock::caps::Fraction;
/// let f = Fraction::new(60, 2);
/// assert_eq!(f, Fraction::new(30, 1));
/// assert_eq!(f.to_string(), "30/1");
/// assert!(Fraction::new(30000, 1001) < f);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fraction {
    numer: i32,
    denom: i32,
}

impl Fraction {
    /// `0/1`.
    pub const ZERO: Fraction = Fraction { numer: 0, denom: 1 };
    /// `2147483647/1`, the largest fraction (GStreamer's `max` for fractions).
    pub const MAX: Fraction = Fraction {
        numer: i32::MAX,
        denom: 1,
    };
    /// `-2147483647/1`, the smallest fraction (GStreamer's `min` for fractions;
    /// GStreamer does not allow the numerator `i32::MIN`).
    pub const MIN: Fraction = Fraction {
        numer: -i32::MAX,
        denom: 1,
    };

    /// The reduced fraction `numer/denom`.
    ///
    /// # Panics
    /// If `denom` is 0, or the reduced numerator is `i32::MIN` or does not fit in an
    /// `i32` (as for `i32::MIN / -1`), which GStreamer does not allow. Use
    /// [`Fraction::checked_new`] for input you do not control.
    pub fn new(numer: i32, denom: i32) -> Fraction {
        match Self::checked_new(numer, denom) {
            Some(f) => f,
            None => panic!("invalid fraction {numer}/{denom}: the denominator must not be 0"),
        }
    }

    /// The reduced fraction `numer/denom`, or `None` if `denom` is 0 or the reduced
    /// numerator is outside `-i32::MAX..=i32::MAX`.
    pub fn checked_new(numer: i32, denom: i32) -> Option<Fraction> {
        Self::from_i64(i64::from(numer), i64::from(denom))
    }

    pub(crate) fn from_i64(numer: i64, denom: i64) -> Option<Fraction> {
        if denom == 0 {
            return None;
        }
        let g = gcd(numer.unsigned_abs(), denom.unsigned_abs()).max(1);
        // g >= 1 divides both, and both are at most 2^63 in magnitude, so this is exact.
        let (mut n, mut d) = (
            i128::from(numer) / i128::from(g),
            i128::from(denom) / i128::from(g),
        );
        if d < 0 {
            n = -n;
            d = -d;
        }
        let numer = i32::try_from(n).ok().filter(|&n| n != i32::MIN)?;
        Some(Fraction {
            numer,
            denom: i32::try_from(d).ok()?,
        })
    }

    /// The whole number `n/1`.
    pub const fn from_integer(n: i32) -> Fraction {
        Fraction { numer: n, denom: 1 }
    }

    /// The numerator (carries the sign).
    pub const fn numer(self) -> i32 {
        self.numer
    }

    /// The denominator, always positive.
    pub const fn denom(self) -> i32 {
        self.denom
    }

    /// The value as a floating-point number.
    pub fn to_f64(self) -> f64 {
        f64::from(self.numer) / f64::from(self.denom)
    }

    /// `|self - other|` as an exact (numerator, denominator) pair, denominator > 0.
    fn abs_diff(self, other: Fraction) -> (i128, i128) {
        let n = i128::from(self.numer) * i128::from(other.denom)
            - i128::from(other.numer) * i128::from(self.denom);
        (n.abs(), i128::from(self.denom) * i128::from(other.denom))
    }
}

impl Default for Fraction {
    fn default() -> Self {
        Fraction::ZERO
    }
}

impl Ord for Fraction {
    fn cmp(&self, other: &Self) -> Ordering {
        let a = i64::from(self.numer) * i64::from(other.denom);
        let b = i64::from(other.numer) * i64::from(self.denom);
        a.cmp(&b)
    }
}

impl PartialOrd for Fraction {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Fraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.numer, self.denom)
    }
}

impl From<i32> for Fraction {
    fn from(n: i32) -> Self {
        Fraction::from_integer(n)
    }
}

impl FromStr for Fraction {
    type Err = ParseError;

    /// Parses `30/1`, `30000/1001`, `-4/6` (reduced to `-2/3`), a whole number `30`, or
    /// `min`/`max`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match parse::parse_scalar_as(s, ValueType::Fraction)? {
            Value::Fraction(f) => Ok(f),
            _ => Err(ParseError::new(
                parse::ParseErrorKind::InvalidValue {
                    ty: ValueType::Fraction,
                },
                0,
                s.to_owned(),
            )),
        }
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

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

/// Normalised bounds of an int range: the smallest and largest multiples of the step
/// (step below 1 taken as 1) inside `[min, max]`, or `None` if there are none.
fn int_range_bounds(v: &Value) -> Option<(i64, i64, i64)> {
    let Value::IntRange { min, max, step } = *v else {
        return None;
    };
    let step = i64::from(step.max(1));
    let lo = ceil_multiple(i64::from(min), step);
    let hi = floor_multiple(i64::from(max), step);
    (lo <= hi).then_some((lo, hi, step))
}

fn int_in(x: i64, lo: i64, hi: i64, step: i64) -> bool {
    lo <= x && x <= hi && x.rem_euclid(step) == 0
}

fn ceil_multiple(x: i64, step: i64) -> i64 {
    let r = x.rem_euclid(step);
    if r == 0 { x } else { x - r + step }
}

fn floor_multiple(x: i64, step: i64) -> i64 {
    x - x.rem_euclid(step)
}

fn lcm(a: i64, b: i64) -> i64 {
    // Both are in 1..=i32::MAX, so the product fits.
    let g = gcd(a.unsigned_abs(), b.unsigned_abs()).max(1) as i64;
    a / g * b
}

/// The set `{ x in [lo, hi] : step | x }` as a value (`lo`, `hi` multiples of `step`).
fn make_int_set(lo: i64, hi: i64, step: i64) -> Option<Value> {
    if lo > hi {
        return None;
    }
    let lo32 = i32::try_from(lo).ok()?;
    let hi32 = i32::try_from(hi).ok()?;
    if lo == hi {
        return Some(Value::Int(lo32));
    }
    match i32::try_from(step) {
        Ok(step) => Some(Value::IntRange {
            min: lo32,
            max: hi32,
            step,
        }),
        // A step beyond i32 leaves at most a couple of values inside i32.
        Err(_) => {
            let mut values = Vec::new();
            let mut x = lo;
            while x <= hi {
                values.push(Value::Int(i32::try_from(x).ok()?));
                x += step;
            }
            Some(Value::List(values))
        }
    }
}

/// Whether pairing every element of `a` with every element of `b` costs more than
/// building an index of `b`: short lists (formats, a few rates) are compared directly,
/// as building a hash map for them would cost more than it saves.
fn worth_indexing(a: &[Value], b: &[Value]) -> bool {
    a.len() > 1 && a.len().saturating_mul(b.len()) > 4096
}

fn intersect_list(items: &[Value], other: &Value) -> Option<Value> {
    let mut out = FlatList::new();
    // Against another list, each element is intersected only with the elements it can
    // meet, found in an index of that list (by hash, or by bounds for ints and int
    // ranges), in the list's order: the same result as trying each, linear instead of
    // quadratic.
    let index = match other {
        Value::List(o) if worth_indexing(items, o) => Some((o, ListIndex::new(o))),
        _ => None,
    };
    for item in items {
        match &index {
            Some((o, idx)) if !matches!(item, Value::List(_)) => {
                for i in idx.candidates(item) {
                    if let Some(v) = o[i].intersect(item) {
                        out.push_flat(v);
                    }
                }
            }
            _ => {
                if let Some(v) = item.intersect(other) {
                    out.push_flat(v);
                }
            }
        }
    }
    let mut out = out.items;
    match out.len() {
        0 => None,
        1 => out.pop(),
        _ => Some(Value::List(out)),
    }
}

/// A list being built without duplicates, with its scalars indexed by hash so that the
/// duplicate check is not a scan (once the list is long enough for that to pay).
struct FlatList {
    items: Vec<Value>,
    /// Built when `items` reaches [`FlatList::INDEX_FROM`] elements.
    index: Option<ScalarIndex>,
}

impl FlatList {
    const INDEX_FROM: usize = 64;

    fn new() -> FlatList {
        FlatList {
            items: Vec::new(),
            index: None,
        }
    }

    fn push_flat(&mut self, v: Value) {
        match v {
            Value::List(items) => {
                for item in items {
                    self.push_flat(item);
                }
            }
            v => {
                let present = match &self.index {
                    None => self.items.contains(&v),
                    Some(index) if scalar_hash(&v).is_some() => {
                        index.equal_to(&self.items, &v).next().is_some()
                    }
                    Some(index) => index.others().iter().any(|&i| self.items[i] == v),
                };
                if present {
                    return;
                }
                match &mut self.index {
                    Some(index) => index.insert(&v, self.items.len()),
                    None if self.items.len() + 1 >= Self::INDEX_FROM => {
                        let mut index = ScalarIndex::new(&self.items);
                        index.insert(&v, self.items.len());
                        self.index = Some(index);
                    }
                    None => {}
                }
                self.items.push(v);
            }
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        #[cfg(test)]
        super::set::count_comparison();
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::U64(a), Value::U64(b)) => a == b,
            // A NaN field is the same value as itself (a caps must equal its own
            // print-then-parse): compare NaNs as equal, as GStreamer's value compare
            // does not order them either. Found by the caps fuzz target.
            (Value::Double(a), Value::Double(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Value::Float(a), Value::Float(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Value::Bitmask(a), Value::Bitmask(b)) => a == b,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Fraction(a), Value::Fraction(b)) => a == b,
            (
                Value::IntRange {
                    min: a0,
                    max: a1,
                    step: a2,
                },
                Value::IntRange {
                    min: b0,
                    max: b1,
                    step: b2,
                },
            ) => a0 == b0 && a1 == b1 && a2 == b2,
            (
                Value::FractionRange { min: a0, max: a1 },
                Value::FractionRange { min: b0, max: b1 },
            ) => a0 == b0 && a1 == b1,
            (Value::List(a), Value::List(b)) => multiset_eq(a, b),
            (Value::Array(a), Value::Array(b)) => a == b,
            _ => false,
        }
    }
}

/// Same elements, each matched once, in any order. Scalars are looked up by hash, so
/// this is linear for lists of scalars.
fn multiset_eq(a: &[Value], b: &[Value]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if !worth_indexing(a, b) {
        let mut used = vec![false; b.len()];
        return a.iter().all(|x| {
            let found = (0..b.len()).find(|&i| !used[i] && *x == b[i]);
            found.inspect(|&i| used[i] = true).is_some()
        });
    }
    let index = ScalarIndex::new(b);
    let mut used = vec![false; b.len()];
    a.iter().all(|x| {
        let found = if scalar_hash(x).is_some() {
            index.equal_to(b, x).find(|&i| !used[i])
        } else {
            index
                .others()
                .iter()
                .copied()
                .find(|&i| !used[i] && *x == b[i])
        };
        match found {
            Some(i) => {
                used[i] = true;
                true
            }
            None => false,
        }
    })
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

// ---------------------------------------------------------------------------------------
// Printing, as gst_caps_to_string does.

/// Characters GStreamer writes without quotes (and reads as a bare word).
pub(crate) fn is_simple_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'/' | b':' | b'.')
}

/// The type to write before a field's value, or `None` for a list or array whose scalar
/// elements have different types (those are written each with its own type).
fn leaf_type(v: &Value) -> Option<ValueType> {
    match v {
        Value::List(items) | Value::Array(items) => {
            let mut found: Option<ValueType> = None;
            for item in items {
                if matches!(item, Value::List(_) | Value::Array(_)) {
                    continue; // nested composites carry their own element types
                }
                let t = item.value_type();
                match found {
                    None => found = Some(t),
                    Some(prev) if prev != t => return None,
                    Some(_) => {}
                }
            }
            Some(found.unwrap_or_else(|| v.value_type()))
        }
        other => Some(other.value_type()),
    }
}

/// `(type)body` for a field value.
pub(crate) fn write_field_value(f: &mut impl fmt::Write, v: &Value) -> fmt::Result {
    match v {
        Value::List(_) | Value::Array(_) => match leaf_type(v) {
            Some(t) => {
                write!(f, "({})", t.name())?;
                write_composite(f, v, false)
            }
            None => write_composite(f, v, true),
        },
        other => {
            write!(f, "({})", other.value_type().name())?;
            write_scalar_body(f, other)
        }
    }
}

/// `{ a, b }` / `< a, b >`. Nested lists and arrays always type their own elements (as
/// GStreamer does); `typed_elements` types this level's scalar elements too.
fn write_composite(f: &mut impl fmt::Write, v: &Value, typed_elements: bool) -> fmt::Result {
    let (open, close, items) = match v {
        Value::List(items) => ("{ ", " }", items),
        Value::Array(items) => ("< ", " >", items),
        other => return write_scalar_body(f, other),
    };
    f.write_str(open)?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        match item {
            Value::List(_) | Value::Array(_) => write_composite(f, item, true)?,
            scalar if typed_elements => {
                write!(f, "({})", scalar.value_type().name())?;
                write_scalar_body(f, scalar)?;
            }
            scalar => write_scalar_body(f, scalar)?,
        }
    }
    f.write_str(close)
}

fn write_scalar_body(f: &mut impl fmt::Write, v: &Value) -> fmt::Result {
    match v {
        Value::Int(x) => write!(f, "{x}"),
        Value::U64(x) => write!(f, "{x}"),
        Value::Double(x) => f.write_str(&format_double(*x)),
        // GStreamer prints a float widened to double (`g_ascii_dtostr`).
        Value::Float(x) => f.write_str(&format_double(f64::from(*x))),
        Value::Bitmask(x) => write!(f, "0x{x:016x}"),
        Value::Bool(x) => f.write_str(if *x { "true" } else { "false" }),
        Value::String(s) => write_string(f, s),
        Value::Fraction(x) => write!(f, "{x}"),
        Value::IntRange { min, max, step } => {
            if *step == 1 {
                write!(f, "[ {min}, {max} ]")
            } else {
                write!(f, "[ {min}, {max}, {step} ]")
            }
        }
        Value::FractionRange { min, max } => write!(f, "[ {min}, {max} ]"),
        Value::List(_) | Value::Array(_) => write_composite(f, v, leaf_type(v).is_none()),
    }
}

/// A bare word when every byte is a letter, digit or one of `_-+/:.`; otherwise (and
/// for "" and "NULL") quoted, with `\` before other printable ASCII and `\ooo` octal
/// for control bytes and the bytes of non-ASCII characters.
pub(crate) fn write_string(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    if !s.is_empty() && s != "NULL" && s.bytes().all(is_simple_char) {
        return f.write_str(s);
    }
    f.write_char('"')?;
    for b in s.bytes() {
        if is_simple_char(b) {
            f.write_char(char::from(b))?;
        } else if !(0x20..0x7f).contains(&b) {
            write!(f, "\\{}{}{}", b >> 6, (b >> 3) & 7, b & 7)?;
        } else {
            f.write_char('\\')?;
            f.write_char(char::from(b))?;
        }
    }
    f.write_char('"')
}

/// C's `%.17g`, as GStreamer's `g_ascii_dtostr`: 17 significant digits, trailing zeros
/// dropped, exponent form below 1e-4 and from 1e17.
pub(crate) fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".to_owned();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let sci = format!("{d:.16e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::from(sign);
    if !(-4..17).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        let rest = rest.trim_end_matches('0');
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    } else if exp >= 0 {
        let split = (exp as usize + 1).min(digits.len());
        let (int_part, frac) = digits.split_at(split);
        out.push_str(int_part);
        let frac = frac.trim_end_matches('0');
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
    } else {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(digits.trim_end_matches('0'));
    }
    out
}
