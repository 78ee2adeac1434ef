//! Caps: media types, typed fields and caps features, with GStreamer's semantics and
//! string syntax.
//!
//! [`Caps`] describe the formats a pad can handle: ANY, EMPTY, or a list of
//! [`Structure`]s (a media type and typed fields, whose values may be ranges or lists of
//! alternatives), each with its [`CapsFeatures`] (where the memory lives:
//! `memory:SystemMemory` by default, `memory:DMABuf`...). Negotiation
//! [intersects](Caps::intersect) what two pads can do and [fixates](Caps::fixate) the
//! result to one format.
//!
//! ```
//! use penstock::caps::{Caps, Fraction};
//! let src: Caps = "video/x-raw(memory:DMABuf), format=DMA_DRM, \
//!                  drm-format=NV12:0x0100000000000002, width=[ 1, 4096 ], \
//!                  height=[ 1, 4096 ], framerate=[ 0/1, 60/1 ]".parse()?;
//! let sink = Caps::builder("video/x-raw")
//!     .features(["memory:DMABuf"])
//!     .field("format", "DMA_DRM")
//!     .field("width", 1920)
//!     .field("height", 1080)
//!     .build();
//! let mut caps = src.intersect(&sink);
//! caps.fixate_field_nearest_fraction("framerate", Fraction::new(30, 1));
//! let caps = caps.fixate();
//! assert!(caps.is_fixed());
//! assert_eq!(
//!     caps.to_string(),
//!     "video/x-raw(memory:DMABuf), format=(string)DMA_DRM, \
//!      drm-format=(string)NV12:0x0100000000000002, width=(int)1920, height=(int)1080, \
//!      framerate=(fraction)30/1"
//! );
//! # Ok::<(), penstock::caps::ParseError>(())
//! ```
//!
//! # String syntax
//!
//! [`Caps`] parse ([`FromStr`]) and print ([`Display`](fmt::Display)) GStreamer's
//! syntax, as `gst_caps_from_string` / `gst_caps_to_string`, and printing then parsing
//! gives the same caps back:
//!
//! * `ANY`, `EMPTY` (also `NONE` or the empty string), or structures separated by `;`
//!   (printed `; `);
//! * a structure is a media type, optional features in parentheses (`(memory:DMABuf)`,
//!   `(ANY)`; `memory:SystemMemory` alone is not printed), then `, name=value` fields;
//! * values may carry a type: `(int)`/`(i)`, `(guint64)`/`(uint64)`, `(double)`/`(d)`,
//!   `(boolean)`/`(bool)`/`(b)`, `(string)`/`(s)`/`(str)`, `(fraction)`/`(F)` (and the
//!   GLib names `gint`, `gdouble`, `gboolean`, `gchararray`, `GstFraction`). Untyped
//!   bare words are read as the first type they fit: int (32-bit, also `0x1f`, `min`,
//!   `max`), guint64 (integers beyond 32 bits), double (`29.97`, `1e-3`, `inf`),
//!   fraction (`30/1`), boolean (`true`/`false`, `yes`/`no`, `t`/`f`), else string;
//!   quoted strings (`"a b"`, `\` escapes the next byte, `\ooo` is an octal byte) are
//!   always strings. A bare word is letters, digits and `_-+/:.`, so
//!   `drm-format=NV12:0x0100000000000002` is a string;
//! * `[ 1, 100 ]`, `[ 2, 100, 2 ]` (with a step) and `[ 0/1, 30/1 ]` are ranges, `{ a, b }`
//!   a list of alternatives, `< a, b >` an ordered array.
//!
//! Printing always writes the type: `video/x-raw, format=(string){ NV12, I420 },
//! width=(int)[ 1, 2147483647 ], framerate=(fraction)30/1`. Doubles are printed as C's
//! `%.17g` (`0.10000000000000001`), strings quoted only when needed.
//!
//! Where this differs from GStreamer: untyped integers beyond 32 bits become guint64
//! (GStreamer makes them doubles); leading zeros are decimal (`010` is ten, not octal);
//! a trailing `,` after the last field is an error; `()` (empty features) is an error;
//! `(float)` (also `f`) and `(bitmask)` are read as GStreamer reads them (a bitmask is
//! hexadecimal, with or without `0x`); flag sets, int64 and double ranges and other GLib
//! types are not supported;
//! a list mixing scalar types is printed with each element's type
//! (`{ (int)1, (string)a }`) so that it parses back.
//!
//! Parse errors ([`ParseError`]) give the 0-based byte column and text of the offending
//! token and say how to fix it.

mod features;
mod parse;
mod set;
mod structure;
mod value;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

pub use features::{CAPS_FEATURE_MEMORY_DMABUF, CAPS_FEATURE_MEMORY_SYSTEM_MEMORY, CapsFeatures};
pub use parse::{ParseError, ParseErrorKind};
pub use structure::{FieldError, FromValue, Structure, StructureBuilder};
pub use value::{Fraction, Value, ValueType};

use structure::StructureMismatch;

/// The formats a pad can produce or accept, as GStreamer's `GstCaps`: ANY (every
/// format), EMPTY (none), or an ordered list of ([`Structure`], [`CapsFeatures`]) pairs,
/// the earlier ones preferred.
///
/// `==` is strict equality (same structures in the same order, as
/// `gst_caps_is_strictly_equal`); [`Caps::is_equal`] compares the sets of formats.
#[derive(Debug, Clone, PartialEq)]
pub struct Caps {
    any: bool,
    entries: Vec<(Structure, CapsFeatures)>,
}

/// Which of two caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The caps whose method was called (`self`).
    Left,
    /// The caps passed as argument (`other`).
    Right,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Left => "left",
            Side::Right => "right",
        })
    }
}

/// Why two caps have nothing in common, for the closest pair of structures: a field both
/// set with no common value, else differing features, else differing media types
/// (see [`Caps::intersect_explained`]).
///
/// Indices are of the structures in the left (`self`) and right (`other`) caps.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CapsMismatch {
    /// One side is EMPTY: it allows no format at all.
    #[error("the {side} caps are EMPTY: they allow no format at all")]
    Empty {
        /// The empty side (the left one if both are).
        side: Side,
    },
    /// The media types differ.
    #[error("media type {left} vs {right}: the media types differ")]
    MediaType {
        /// Left media type.
        left: String,
        /// Right media type.
        right: String,
        /// Index of the left structure.
        left_index: usize,
        /// Index of the right structure.
        right_index: usize,
    },
    /// Same media type, but the caps features differ (e.g. DMA-buf vs system memory).
    #[error("{media_type}: caps features ({left}) vs ({right}) do not match")]
    Features {
        /// The media type.
        media_type: String,
        /// Left features.
        left: CapsFeatures,
        /// Right features.
        right: CapsFeatures,
        /// Index of the left structure.
        left_index: usize,
        /// Index of the right structure.
        right_index: usize,
    },
    /// Same media type and features, but a field set on both sides has no common value.
    #[error("field '{field}': {left} vs {right} have nothing in common")]
    Field {
        /// The media type.
        media_type: String,
        /// The first field without a common value.
        field: String,
        /// The left value.
        left: Box<Value>,
        /// The right value.
        right: Box<Value>,
        /// How many fields had no common value (this one included).
        mismatched_fields: usize,
        /// Index of the left structure.
        left_index: usize,
        /// Index of the right structure.
        right_index: usize,
    },
}

impl CapsMismatch {
    /// Closeness for picking the mismatch to report: fields beat features beat names;
    /// fewer mismatched fields beat more.
    fn rank(&self) -> (u8, usize) {
        match self {
            CapsMismatch::Empty { .. } => (0, 0),
            CapsMismatch::MediaType { .. } => (1, 0),
            CapsMismatch::Features { .. } => (2, 0),
            CapsMismatch::Field {
                mismatched_fields, ..
            } => (3, usize::MAX - mismatched_fields),
        }
    }
}

impl Caps {
    /// ANY caps: every format.
    pub fn new_any() -> Caps {
        Caps {
            any: true,
            entries: Vec::new(),
        }
    }

    /// EMPTY caps: no format.
    pub fn new_empty() -> Caps {
        Caps {
            any: false,
            entries: Vec::new(),
        }
    }

    /// Caps of one structure with no fields: every format of that media type.
    pub fn new_empty_simple(name: impl Into<String>) -> Caps {
        Caps::from_structure(Structure::new(name))
    }

    /// Caps of one structure in system memory.
    pub fn from_structure(structure: Structure) -> Caps {
        Caps::from_structure_full(structure, CapsFeatures::default())
    }

    /// Caps of one structure with the given features.
    pub fn from_structure_full(structure: Structure, features: CapsFeatures) -> Caps {
        Caps {
            any: false,
            entries: vec![(structure, features)],
        }
    }

    /// A builder for caps of one structure:
    /// `Caps::builder("video/x-raw").field("format", "NV12").build()`.
    pub fn builder(name: impl Into<String>) -> CapsBuilder {
        CapsBuilder {
            structure: Structure::new(name),
            features: CapsFeatures::default(),
        }
    }

    /// Whether these are ANY caps.
    pub fn is_any(&self) -> bool {
        self.any
    }

    /// Whether these are EMPTY caps (no structure, not ANY).
    pub fn is_empty(&self) -> bool {
        !self.any && self.entries.is_empty()
    }

    /// Number of structures (0 for ANY and EMPTY).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the caps name exactly one format: one structure, features not ANY, and no
    /// range or list in any field.
    pub fn is_fixed(&self) -> bool {
        match self.entries.as_slice() {
            [(s, f)] => !self.any && !f.is_any() && s.is_fixed(),
            _ => false,
        }
    }

    /// The structure at `index`.
    pub fn structure(&self, index: usize) -> Option<&Structure> {
        self.entries.get(index).map(|(s, _)| s)
    }

    /// The structure at `index`, mutably.
    pub fn structure_mut(&mut self, index: usize) -> Option<&mut Structure> {
        self.entries.get_mut(index).map(|(s, _)| s)
    }

    /// The features of the structure at `index`.
    pub fn features(&self, index: usize) -> Option<&CapsFeatures> {
        self.entries.get(index).map(|(_, f)| f)
    }

    /// Sets the features of the structure at `index`; returns false if there is none.
    pub fn set_features(&mut self, index: usize, features: CapsFeatures) -> bool {
        match self.entries.get_mut(index) {
            Some((_, f)) => {
                *f = features;
                true
            }
            None => false,
        }
    }

    /// The structures and their features, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Structure, &CapsFeatures)> + '_ {
        self.entries.iter().map(|(s, f)| (s, f))
    }

    /// The structures and their features, mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&mut Structure, &mut CapsFeatures)> + '_ {
        self.entries.iter_mut().map(|(s, f)| (s, f))
    }

    /// Appends a structure in system memory (no effect on ANY caps).
    pub fn append_structure(&mut self, structure: Structure) {
        self.append_structure_full(structure, CapsFeatures::default());
    }

    /// Appends a structure with its features (no effect on ANY caps).
    pub fn append_structure_full(&mut self, structure: Structure, features: CapsFeatures) {
        if !self.any {
            self.entries.push((structure, features));
        }
    }

    /// Appends all of `other`'s structures, as `gst_caps_append`; either side ANY makes
    /// the result ANY.
    pub fn append(&mut self, other: Caps) {
        if other.any {
            *self = Caps::new_any();
        } else if !self.any {
            self.entries.extend(other.entries);
        }
    }

    /// Appends a structure unless an existing one already includes it (as
    /// `gst_caps_merge_structure_full`).
    pub fn merge_structure(&mut self, structure: Structure, features: CapsFeatures) {
        if self.any {
            return;
        }
        let redundant = self
            .entries
            .iter()
            .any(|(s, f)| features.is_subset(f) && structure.is_subset(s));
        if !redundant {
            self.entries.push((structure, features));
        }
    }

    /// Appends `other`'s structures that the caps do not already include, as
    /// `gst_caps_merge`; either side ANY makes the result ANY.
    pub fn merge(&mut self, other: Caps) {
        if other.any {
            *self = Caps::new_any();
        } else if !self.any {
            for (s, f) in other.entries {
                self.merge_structure(s, f);
            }
        }
    }

    /// The same set of formats without redundant structures: each structure included in
    /// an earlier one (or in a later one that is not itself dropped) is dropped.
    pub fn simplify(&self) -> Caps {
        if self.any {
            return Caps::new_any();
        }
        let mut keep: Vec<(Structure, CapsFeatures)> = Vec::new();
        for (s, f) in &self.entries {
            if keep
                .iter()
                .any(|(ks, kf)| f.is_subset(kf) && s.is_subset(ks))
            {
                continue;
            }
            keep.retain(|(ks, kf)| !(kf.is_subset(f) && ks.is_subset(s)));
            keep.push((s.clone(), f.clone()));
        }
        Caps {
            any: false,
            entries: keep,
        }
    }

    /// Keeps the first structure only.
    pub fn truncate(&mut self) {
        self.entries.truncate(1);
    }

    /// Removes and returns the structure at `index`.
    pub fn remove_structure(&mut self, index: usize) -> Option<(Structure, CapsFeatures)> {
        (index < self.entries.len()).then(|| self.entries.remove(index))
    }

    /// The formats in both `self` and `other`.
    ///
    /// ANY is the identity, EMPTY absorbs. Otherwise each pair of structures with the
    /// same media type and compatible features ([`CapsFeatures::is_compatible`]: equal,
    /// or one ANY) gives their [`Structure::intersect`]; pairs are visited in GStreamer's
    /// zig-zag order so that both sides' preferences are kept, and results included in
    /// an earlier result are dropped.
    ///
    /// ```
    /// use penstock::caps::Caps;
    /// let a: Caps = "video/x-raw, format={ NV12, I420 }, width=[ 1, 4096 ]".parse()?;
    /// let b: Caps = "video/x-raw, format=I420, width=1920, height=1080".parse()?;
    /// assert_eq!(
    ///     a.intersect(&b).to_string(),
    ///     "video/x-raw, format=(string)I420, width=(int)1920, height=(int)1080"
    /// );
    /// let dmabuf: Caps = "video/x-raw(memory:DMABuf)".parse()?;
    /// assert!(dmabuf.intersect(&b).is_empty());
    /// # Ok::<(), penstock::caps::ParseError>(())
    /// ```
    pub fn intersect(&self, other: &Caps) -> Caps {
        if self.any {
            return other.clone();
        }
        if other.any {
            return self.clone();
        }
        let mut out = Caps::new_empty();
        for (i, j) in zigzag(self.entries.len(), other.entries.len()) {
            let (s1, f1) = &self.entries[i];
            let (s2, f2) = &other.entries[j];
            if !f1.is_compatible(f2) {
                continue;
            }
            if let Some(s) = s1.intersect(s2) {
                let f = if f1.is_any() { f2 } else { f1 };
                out.merge_structure(s, f.clone());
            }
        }
        out
    }

    /// Whether [`intersect`](Caps::intersect) would be non-empty.
    pub fn can_intersect(&self, other: &Caps) -> bool {
        if self.any || other.any {
            return !(self.is_empty() || other.is_empty());
        }
        self.entries.iter().any(|(s1, f1)| {
            other
                .entries
                .iter()
                .any(|(s2, f2)| f1.is_compatible(f2) && s1.can_intersect(s2))
        })
    }

    /// [`intersect`](Caps::intersect), or, when the result would be EMPTY, why:
    /// for the pair of structures that came closest (a mismatched field beats mismatched
    /// features beats different media types; then the fewest mismatched fields; then
    /// the first pair), the first field with no common value, the features, or the
    /// media types.
    ///
    /// ```
    /// use penstock::caps::{Caps, CapsMismatch};
    /// let a: Caps = "video/x-raw, format=NV12, width=1920".parse()?;
    /// let b: Caps = "video/x-raw, format={ I420, YV12 }".parse()?;
    /// let err = a.intersect_explained(&b).unwrap_err();
    /// assert!(matches!(&err, CapsMismatch::Field { field, .. } if field == "format"));
    /// assert_eq!(
    ///     err.to_string(),
    ///     "field 'format': NV12 vs { I420, YV12 } have nothing in common"
    /// );
    /// # Ok::<(), penstock::caps::ParseError>(())
    /// ```
    pub fn intersect_explained(&self, other: &Caps) -> Result<Caps, CapsMismatch> {
        if self.is_empty() {
            return Err(CapsMismatch::Empty { side: Side::Left });
        }
        if other.is_empty() {
            return Err(CapsMismatch::Empty { side: Side::Right });
        }
        let result = self.intersect(other);
        if !result.is_empty() {
            return Ok(result);
        }
        let mut best: Option<CapsMismatch> = None;
        for (i, (s1, f1)) in self.entries.iter().enumerate() {
            for (j, (s2, f2)) in other.entries.iter().enumerate() {
                let mismatch = if s1.name() != s2.name() {
                    CapsMismatch::MediaType {
                        left: s1.name().to_owned(),
                        right: s2.name().to_owned(),
                        left_index: i,
                        right_index: j,
                    }
                } else if !f1.is_compatible(f2) {
                    CapsMismatch::Features {
                        media_type: s1.name().to_owned(),
                        left: f1.clone(),
                        right: f2.clone(),
                        left_index: i,
                        right_index: j,
                    }
                } else {
                    match s1.intersect_detailed(s2) {
                        Ok(_) => continue, // not reached: the intersection was empty
                        Err(StructureMismatch::Name) => CapsMismatch::MediaType {
                            left: s1.name().to_owned(),
                            right: s2.name().to_owned(),
                            left_index: i,
                            right_index: j,
                        },
                        Err(StructureMismatch::Fields {
                            field,
                            left,
                            right,
                            count,
                        }) => CapsMismatch::Field {
                            media_type: s1.name().to_owned(),
                            field,
                            left: Box::new(left),
                            right: Box::new(right),
                            mismatched_fields: count,
                            left_index: i,
                            right_index: j,
                        },
                    }
                };
                if best.as_ref().is_none_or(|b| mismatch.rank() > b.rank()) {
                    best = Some(mismatch);
                }
            }
        }
        // Both sides have structures, so some pair was compared.
        Err(best.unwrap_or(CapsMismatch::Empty { side: Side::Left }))
    }

    /// Whether every format of `self` is in `superset` (as `gst_caps_is_subset`: each
    /// structure of `self` must be included in one structure of `superset` with
    /// features it fits in). EMPTY is a subset of everything, everything of ANY.
    pub fn is_subset(&self, superset: &Caps) -> bool {
        if superset.any || self.is_empty() {
            return true;
        }
        if self.any || superset.is_empty() {
            return false;
        }
        self.entries.iter().all(|(s1, f1)| {
            superset
                .entries
                .iter()
                .any(|(s2, f2)| f1.is_subset(f2) && s1.is_subset(s2))
        })
    }

    /// Whether both caps describe the same formats (each a subset of the other), as
    /// `gst_caps_is_equal`; `==` compares strictly.
    pub fn is_equal(&self, other: &Caps) -> bool {
        self.is_subset(other) && other.is_subset(self)
    }

    /// One format, as `gst_caps_fixate`: the first structure, every range fixated to its
    /// minimum and every list to its first element ([`Value::fixate`]), ANY features
    /// replaced by system memory. Steer the choice first with
    /// [`fixate_field_nearest_int`](Caps::fixate_field_nearest_int) and friends.
    /// ANY and EMPTY caps cannot be fixated and are returned as they are.
    pub fn fixate(&self) -> Caps {
        let Some((s, f)) = self.entries.first() else {
            return self.clone();
        };
        let mut s = s.clone();
        s.fixate();
        let f = if f.is_any() {
            CapsFeatures::default()
        } else {
            f.clone()
        };
        Caps::from_structure_full(s, f)
    }

    /// [`Structure::fixate_field_nearest_int`] on every structure: `width=[ 1, 4096 ]`
    /// with target 1920 becomes `width=1920`. Returns whether any field changed.
    pub fn fixate_field_nearest_int(&mut self, field: &str, target: i32) -> bool {
        let mut changed = false;
        for (s, _) in &mut self.entries {
            changed |= s.fixate_field_nearest_int(field, target);
        }
        changed
    }

    /// [`Structure::fixate_field_nearest_fraction`] on every structure:
    /// `framerate=[ 0/1, 60/1 ]` with target 30/1 becomes `framerate=30/1`. Returns
    /// whether any field changed.
    pub fn fixate_field_nearest_fraction(
        &mut self,
        field: &str,
        target: impl Into<Fraction>,
    ) -> bool {
        let target = target.into();
        let mut changed = false;
        for (s, _) in &mut self.entries {
            changed |= s.fixate_field_nearest_fraction(field, target);
        }
        changed
    }

    /// [`Structure::fixate_field_string`] on every structure. Returns whether any field
    /// changed.
    pub fn fixate_field_string(&mut self, field: &str, target: &str) -> bool {
        let mut changed = false;
        for (s, _) in &mut self.entries {
            changed |= s.fixate_field_string(field, target);
        }
        changed
    }
}

/// Pairs `(i, j)` of indices into caps of `len1` and `len2` structures, in GStreamer's
/// zig-zag order: along the anti-diagonals, from the top row then down the right column.
fn zigzag(len1: usize, len2: usize) -> impl Iterator<Item = (usize, usize)> {
    let diagonals = if len1 == 0 || len2 == 0 {
        0
    } else {
        len1 + len2 - 1
    };
    (0..diagonals).flat_map(move |d| {
        let i0 = d.min(len1.saturating_sub(1));
        let j0 = d - i0;
        (0..=i0)
            .map(move |step| (i0 - step, j0 + step))
            .take_while(move |&(_, j)| j < len2)
    })
}

impl Default for Caps {
    /// EMPTY caps.
    fn default() -> Self {
        Caps::new_empty()
    }
}

impl fmt::Display for Caps {
    /// As `gst_caps_to_string`: `ANY`, `EMPTY`, or the structures separated by `; `,
    /// each `name(features), field=(type)value, ...` (features omitted when they are
    /// `memory:SystemMemory` alone).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.any {
            return f.write_str("ANY");
        }
        if self.entries.is_empty() {
            return f.write_str("EMPTY");
        }
        for (i, (s, features)) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            f.write_str(s.name())?;
            if !features.is_system_memory() {
                write!(f, "({features})")?;
            }
            s.write_fields(f)?;
        }
        Ok(())
    }
}

impl FromStr for Caps {
    type Err = ParseError;

    /// Parses GStreamer's caps syntax (see the [module docs](self)).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse::parse_caps(s)
    }
}

impl<'a> IntoIterator for &'a Caps {
    type Item = (&'a Structure, &'a CapsFeatures);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Structure, CapsFeatures)>,
        fn(&'a (Structure, CapsFeatures)) -> (&'a Structure, &'a CapsFeatures),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(s, f)| (s, f))
    }
}

impl From<Structure> for Caps {
    fn from(s: Structure) -> Self {
        Caps::from_structure(s)
    }
}

/// Builds caps of one structure: a media type, its fields and its features.
#[derive(Debug, Clone)]
pub struct CapsBuilder {
    structure: Structure,
    features: CapsFeatures,
}

impl CapsBuilder {
    /// Sets a field (see [`Structure::set`]); values convert from `i32`, `u64`, `f64`,
    /// `bool`, `&str`, [`Fraction`], `a..=b` ranges or a [`Value`].
    pub fn field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.structure.set(name, value);
        self
    }

    /// Sets the features, e.g. `["memory:DMABuf"]` (see [`CapsFeatures::new`]).
    pub fn features<I, S>(mut self, features: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.features = CapsFeatures::new(features);
        self
    }

    /// Sets ANY features.
    pub fn any_features(mut self) -> Self {
        self.features = CapsFeatures::new_any();
        self
    }

    /// The caps.
    pub fn build(self) -> Caps {
        Caps::from_structure_full(self.structure, self.features)
    }
}
