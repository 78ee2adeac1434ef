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

mod algebra;
mod features;
mod parse;
mod set;
mod structure;
mod value;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

pub use algebra::{CapsMismatch, Side};
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
