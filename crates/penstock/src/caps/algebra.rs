//! Caps algebra: intersection (GStreamer's zig-zag order), the mismatch an empty one
//! explains, subset and equality, and fixation.

use super::*;

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
pub(super) fn zigzag(len1: usize, len2: usize) -> impl Iterator<Item = (usize, usize)> {
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
