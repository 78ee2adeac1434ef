//! Structures: a media type name and its ordered, typed fields.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use super::parse::{self, ParseError};
use super::value::{Fraction, Value, write_field_value};
use crate::drm::{DRM_FORMAT_FIELD, DrmFormat};

/// A media type (`video/x-raw`) and its ordered fields (`width=(int)1920`), as
/// GStreamer's `GstStructure`.
///
/// Equality is GStreamer's `gst_structure_is_equal`: the same name and the same fields
/// with equal values, in any order.
///
/// `drm-format` values (strings, or lists of them) are compared, intersected and tested
/// for subsets as the DRM formats they name, not as text: `NV12` and `NV12:0x0` are
/// both LINEAR NV12 (a `drm-format` without a modifier is LINEAR, as in GStreamer's
/// DMA_DRM caps), and the modifier's hex digits may differ in case and zero padding. An
/// intersection writes such a field in [`DrmFormat`]'s canonical spelling
/// (`NV12`, `NV12:0x0100000000000002`); strings that are not DRM formats compare as text.
///
/// ```
/// use penstock::caps::{Fraction, Structure};
/// let s = Structure::builder("video/x-raw")
///     .field("format", "NV12")
///     .field("width", 1920)
///     .field("framerate", Fraction::new(30, 1))
///     .build();
/// assert_eq!(s.get::<i32>("width")?, 1920);
/// assert_eq!(s.get_str("format"), Some("NV12"));
/// assert_eq!(
///     s.to_string(),
///     "video/x-raw, format=(string)NV12, width=(int)1920, framerate=(fraction)30/1"
/// );
/// # Ok::<(), penstock::caps::FieldError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Structure {
    name: String,
    fields: Vec<(String, Value)>,
}

/// A field that [`Structure::get`] could not read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FieldError {
    /// The structure has no such field.
    #[error("{structure} has no field '{field}'")]
    Missing {
        /// The structure's media type.
        structure: String,
        /// The field asked for.
        field: String,
    },
    /// The field holds a value of another type (or a range or list: fixate it first).
    #[error("field '{field}' of {structure} is {actual} {value}, not {expected}")]
    WrongType {
        /// The structure's media type.
        structure: String,
        /// The field asked for.
        field: String,
        /// The type asked for.
        expected: &'static str,
        /// The kind of value found (`int range`, `string`, ...).
        actual: &'static str,
        /// The value found.
        value: Value,
    },
}

/// Types that [`Structure::get`] can read out of a [`Value`].
pub trait FromValue<'a>: Sized {
    /// The type's name for error messages (`int`, `string`...).
    const TYPE_NAME: &'static str;

    /// The value as `Self`, if it holds exactly one value of that type.
    fn from_value(value: &'a Value) -> Option<Self>;
}

impl FromValue<'_> for i32 {
    const TYPE_NAME: &'static str = "int";
    fn from_value(value: &Value) -> Option<Self> {
        value.as_int()
    }
}

impl FromValue<'_> for u64 {
    const TYPE_NAME: &'static str = "guint64";
    fn from_value(value: &Value) -> Option<Self> {
        value.as_u64()
    }
}

impl FromValue<'_> for f64 {
    const TYPE_NAME: &'static str = "double";
    fn from_value(value: &Value) -> Option<Self> {
        value.as_f64()
    }
}

impl FromValue<'_> for bool {
    const TYPE_NAME: &'static str = "boolean";
    fn from_value(value: &Value) -> Option<Self> {
        value.as_bool()
    }
}

impl FromValue<'_> for Fraction {
    const TYPE_NAME: &'static str = "fraction";
    fn from_value(value: &Value) -> Option<Self> {
        value.as_fraction()
    }
}

impl<'a> FromValue<'a> for &'a str {
    const TYPE_NAME: &'static str = "string";
    fn from_value(value: &'a Value) -> Option<Self> {
        value.as_str()
    }
}

impl FromValue<'_> for String {
    const TYPE_NAME: &'static str = "string";
    fn from_value(value: &Value) -> Option<Self> {
        value.as_str().map(str::to_owned)
    }
}

impl<'a> FromValue<'a> for &'a Value {
    const TYPE_NAME: &'static str = "value";
    fn from_value(value: &'a Value) -> Option<Self> {
        Some(value)
    }
}

/// Why two structures do not intersect (for [`CapsMismatch`](super::CapsMismatch)).
pub(crate) enum StructureMismatch {
    /// Different media types.
    Name,
    /// Fields present on both sides with nothing in common: the first one, and how many.
    Fields {
        field: String,
        left: Value,
        right: Value,
        count: usize,
    },
}

impl Structure {
    /// A structure with no fields. The name should start with a letter and hold only
    /// letters, digits and `_-+/:.` to print and parse back.
    pub fn new(name: impl Into<String>) -> Structure {
        Structure {
            name: name.into(),
            fields: Vec::new(),
        }
    }

    /// A builder: `Structure::builder("video/x-raw").field("width", 1920).build()`.
    pub fn builder(name: impl Into<String>) -> StructureBuilder {
        StructureBuilder {
            structure: Structure::new(name),
        }
    }

    /// The media type, e.g. `video/x-raw`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Renames the structure.
    pub fn set_name(&mut self, name: impl Into<String>) {
        self.name = name.into();
    }

    /// Whether the media type is `name`.
    pub fn has_name(&self, name: &str) -> bool {
        self.name == name
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The fields in order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &Value)> + '_ {
        self.fields.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Whether the field is set.
    pub fn has_field(&self, field: &str) -> bool {
        self.value(field).is_some()
    }

    /// The field's value.
    pub fn value(&self, field: &str) -> Option<&Value> {
        self.fields.iter().find(|(k, _)| k == field).map(|(_, v)| v)
    }

    /// The field's value, mutably.
    pub fn value_mut(&mut self, field: &str) -> Option<&mut Value> {
        self.fields
            .iter_mut()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v)
    }

    /// The field as `T` (`i32`, `u64`, `f64`, `bool`, `&str`, `String`, [`Fraction`] or
    /// `&Value`); an error says whether it is missing or of another type.
    pub fn get<'a, T: FromValue<'a>>(&'a self, field: &str) -> Result<T, FieldError> {
        let value = self.value(field).ok_or_else(|| FieldError::Missing {
            structure: self.name.clone(),
            field: field.to_owned(),
        })?;
        T::from_value(value).ok_or_else(|| FieldError::WrongType {
            structure: self.name.clone(),
            field: field.to_owned(),
            expected: T::TYPE_NAME,
            actual: value.kind_name(),
            value: value.clone(),
        })
    }

    /// The field, if it is a plain int.
    pub fn get_int(&self, field: &str) -> Option<i32> {
        self.value(field).and_then(Value::as_int)
    }

    /// The field, if it is a plain guint64.
    pub fn get_u64(&self, field: &str) -> Option<u64> {
        self.value(field).and_then(Value::as_u64)
    }

    /// The field, if it is a plain double.
    pub fn get_double(&self, field: &str) -> Option<f64> {
        self.value(field).and_then(Value::as_f64)
    }

    /// The field, if it is a plain boolean.
    pub fn get_bool(&self, field: &str) -> Option<bool> {
        self.value(field).and_then(Value::as_bool)
    }

    /// The field, if it is a plain string.
    pub fn get_str(&self, field: &str) -> Option<&str> {
        self.value(field).and_then(Value::as_str)
    }

    /// The field, if it is a plain fraction.
    pub fn get_fraction(&self, field: &str) -> Option<Fraction> {
        self.value(field).and_then(Value::as_fraction)
    }

    /// Sets a field, replacing its value in place if it is already there, else adding it
    /// at the end. Field names should hold only letters, digits and `_-+/:.` to print
    /// and parse back.
    pub fn set(&mut self, field: impl Into<String>, value: impl Into<Value>) {
        let field = field.into();
        let value = value.into();
        match self.value_mut(&field) {
            Some(slot) => *slot = value,
            None => self.fields.push((field, value)),
        }
    }

    /// Removes a field, returning its value.
    pub fn remove(&mut self, field: &str) -> Option<Value> {
        let i = self.fields.iter().position(|(k, _)| k == field)?;
        Some(self.fields.remove(i).1)
    }

    /// Whether every field holds one value (no ranges or lists).
    pub fn is_fixed(&self) -> bool {
        self.fields.iter().all(|(_, v)| v.is_fixed())
    }

    /// The structure of values allowed by both: the same name is required; fields in
    /// both must intersect ([`Value::intersect`]); fields in only one are kept. Fields
    /// come in `self`'s order, then `other`'s extra ones.
    pub fn intersect(&self, other: &Structure) -> Option<Structure> {
        self.intersect_detailed(other).ok()
    }

    /// Whether [`intersect`](Structure::intersect) would give a structure.
    pub fn can_intersect(&self, other: &Structure) -> bool {
        self.name == other.name
            && self.fields.iter().all(|(k, v)| match other.value(k) {
                Some(w) => comparable(k, v).can_intersect(&comparable(k, w)),
                None => true,
            })
    }

    pub(crate) fn intersect_detailed(
        &self,
        other: &Structure,
    ) -> Result<Structure, StructureMismatch> {
        if self.name != other.name {
            return Err(StructureMismatch::Name);
        }
        let mut out = Structure::new(self.name.clone());
        let mut failure: Option<(String, Value, Value)> = None;
        let mut failures = 0;
        for (k, v) in &self.fields {
            match other.value(k) {
                None => out.fields.push((k.clone(), v.clone())),
                Some(w) => match comparable(k, v).intersect(&comparable(k, w)) {
                    Some(i) => out.fields.push((k.clone(), i)),
                    None => {
                        failures += 1;
                        if failure.is_none() {
                            failure = Some((k.clone(), v.clone(), w.clone()));
                        }
                    }
                },
            }
        }
        if let Some((field, left, right)) = failure {
            return Err(StructureMismatch::Fields {
                field,
                left,
                right,
                count: failures,
            });
        }
        for (k, w) in &other.fields {
            if !self.has_field(k) {
                out.fields.push((k.clone(), w.clone()));
            }
        }
        Ok(out)
    }

    /// Whether every structure `self` allows is allowed by `superset`: the same name,
    /// and every field of `superset` is in `self` with a [subset](Value::is_subset)
    /// value (`self` may have more fields: it is more constrained).
    pub fn is_subset(&self, superset: &Structure) -> bool {
        self.name == superset.name
            && superset.fields.iter().all(|(k, sup)| match self.value(k) {
                Some(v) => comparable(k, v).is_subset(&comparable(k, sup)),
                None => false,
            })
    }

    /// Fixates every field ([`Value::fixate`]: ranges to their minimum, lists to their
    /// first element).
    pub fn fixate(&mut self) {
        for (_, v) in &mut self.fields {
            if !v.is_fixed() {
                *v = v.fixate();
            }
        }
    }

    /// Replaces an int range or list field by its value nearest to `target`
    /// ([`Value::nearest_int`]). Returns whether the field was changed: false if it is
    /// missing, already a plain int, or holds no int.
    pub fn fixate_field_nearest_int(&mut self, field: &str, target: i32) -> bool {
        let Some(v) = self.value_mut(field) else {
            return false;
        };
        if v.is_fixed() {
            return false;
        }
        match v.nearest_int(target) {
            Some(x) => {
                *v = Value::Int(x);
                true
            }
            None => false,
        }
    }

    /// Replaces a fraction range or list field by its value nearest to `target`
    /// ([`Value::nearest_fraction`]). Returns whether the field was changed.
    pub fn fixate_field_nearest_fraction(
        &mut self,
        field: &str,
        target: impl Into<Fraction>,
    ) -> bool {
        let target = target.into();
        let Some(v) = self.value_mut(field) else {
            return false;
        };
        if v.is_fixed() {
            return false;
        }
        match v.nearest_fraction(target) {
            Some(x) => {
                *v = Value::Fraction(x);
                true
            }
            None => false,
        }
    }

    /// Replaces a list of strings by `target` if it is one of them, else by the first
    /// string. Returns whether the field was changed.
    pub fn fixate_field_string(&mut self, field: &str, target: &str) -> bool {
        self.fixate_list_field(
            field,
            |v| v.as_str() == Some(target),
            |v| v.as_str().is_some(),
        )
    }

    /// Replaces a list of booleans by `target` if it is one of them, else by the first
    /// boolean. Returns whether the field was changed.
    pub fn fixate_field_bool(&mut self, field: &str, target: bool) -> bool {
        self.fixate_list_field(
            field,
            |v| v.as_bool() == Some(target),
            |v| v.as_bool().is_some(),
        )
    }

    fn fixate_list_field(
        &mut self,
        field: &str,
        wanted: impl Fn(&Value) -> bool,
        fallback: impl Fn(&Value) -> bool,
    ) -> bool {
        let Some(v) = self.value_mut(field) else {
            return false;
        };
        let Value::List(items) = v else {
            return false;
        };
        let pick = items
            .iter()
            .find(|x| wanted(x))
            .or_else(|| items.iter().find(|x| fallback(x)))
            .cloned();
        match pick {
            Some(x) => {
                *v = x;
                true
            }
            None => false,
        }
    }
}

impl PartialEq for Structure {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.fields.len() == other.fields.len()
            && self.fields.iter().all(|(k, v)| {
                other
                    .value(k)
                    .is_some_and(|w| comparable(k, v) == comparable(k, w))
            })
    }
}

/// `value` of field `field` as it takes part in comparisons: `drm-format` strings that
/// parse as a [`DrmFormat`] in its canonical spelling, everything else as it is.
fn comparable<'a>(field: &str, value: &'a Value) -> Cow<'a, Value> {
    if field == DRM_FORMAT_FIELD {
        if let Some(canonical) = canonical_drm_formats(value) {
            return Cow::Owned(canonical);
        }
    }
    Cow::Borrowed(value)
}

/// `value` with each DRM format string (alone or in a list) in canonical spelling, or
/// `None` when nothing changes (already canonical, not a DRM format, not a string).
fn canonical_drm_formats(value: &Value) -> Option<Value> {
    match value {
        Value::String(text) => {
            let canonical = text.parse::<DrmFormat>().ok()?.to_string();
            (canonical != *text).then_some(Value::String(canonical))
        }
        Value::List(items) => {
            let changed: Vec<Option<Value>> = items.iter().map(canonical_drm_formats).collect();
            if changed.iter().all(Option::is_none) {
                return None;
            }
            Some(Value::List(
                items
                    .iter()
                    .zip(changed)
                    .map(|(item, c)| c.unwrap_or_else(|| item.clone()))
                    .collect(),
            ))
        }
        _ => None,
    }
}

impl fmt::Display for Structure {
    /// `name, field=(type)value, ...` as GStreamer prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        self.write_fields(f)
    }
}

impl Structure {
    pub(crate) fn write_fields(&self, f: &mut impl fmt::Write) -> fmt::Result {
        for (k, v) in &self.fields {
            write!(f, ", {k}=")?;
            write_field_value(f, v)?;
        }
        Ok(())
    }
}

impl FromStr for Structure {
    type Err = ParseError;

    /// Parses one structure without features, e.g. `video/x-raw, width=1920`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse::parse_structure(s)
    }
}

/// Builds a [`Structure`] field by field.
#[derive(Debug, Clone)]
pub struct StructureBuilder {
    structure: Structure,
}

impl StructureBuilder {
    /// Sets a field (see [`Structure::set`]).
    pub fn field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.structure.set(name, value);
        self
    }

    /// The structure.
    pub fn build(self) -> Structure {
        self.structure
    }
}
