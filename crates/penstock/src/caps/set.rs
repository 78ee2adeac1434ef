//! Hash lookups over the scalars of a list, so that list operations (intersection,
//! subset, equality, de-duplication) are linear in the list lengths instead of their
//! product: `width={1,...,20000}` against another list of 20,000 widths is 40,000
//! lookups, not 400 million comparisons.
//!
//! Scalars and ranges are hashed for equality; for intersection, ints and int ranges
//! are also kept sorted by their bounds, so that the elements a value can meet are
//! found by binary search when they do not overlap each other (as in practice). Arrays
//! and nested lists (rare) are compared one by one, exactly as before.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use super::value::Value;

/// A hash of a scalar or range consistent with `Value`'s equality (`-0.0 == 0.0`, NaN
/// equal to NaN), or `None` for lists and arrays. Values of different types hash
/// differently because the discriminant is hashed first.
pub(crate) fn scalar_hash(v: &Value) -> Option<u64> {
    let mut h = DefaultHasher::new();
    std::mem::discriminant(v).hash(&mut h);
    match v {
        Value::Int(x) => x.hash(&mut h),
        Value::U64(x) | Value::Bitmask(x) => x.hash(&mut h),
        Value::Double(x) => canonical_f64(*x).hash(&mut h),
        Value::Float(x) => canonical_f64(f64::from(*x)).hash(&mut h),
        Value::Bool(x) => x.hash(&mut h),
        Value::String(x) => x.hash(&mut h),
        Value::Fraction(x) => x.hash(&mut h),
        Value::IntRange { min, max, step } => (min, max, step).hash(&mut h),
        Value::FractionRange { min, max } => (min, max).hash(&mut h),
        Value::List(_) | Value::Array(_) => return None,
    }
    Some(h.finish())
}

/// Bits that are equal exactly when the numbers compare equal (or are both NaN).
fn canonical_f64(x: f64) -> u64 {
    if x == 0.0 {
        0
    } else if x.is_nan() {
        f64::NAN.to_bits()
    } else {
        x.to_bits()
    }
}

/// Whether `v` names one value (not a range, list or array).
pub(crate) fn is_scalar(v: &Value) -> bool {
    !matches!(
        v,
        Value::IntRange { .. } | Value::FractionRange { .. } | Value::List(_) | Value::Array(_)
    )
}

/// The scalars and ranges of a slice of values by hash, and the positions of the rest.
pub(crate) struct ScalarIndex {
    by_hash: HashMap<u64, Vec<usize>>,
    others: Vec<usize>,
}

impl ScalarIndex {
    pub(crate) fn new(items: &[Value]) -> ScalarIndex {
        let mut index = ScalarIndex {
            by_hash: HashMap::with_capacity(items.len()),
            others: Vec::new(),
        };
        for (i, item) in items.iter().enumerate() {
            index.insert(item, i);
        }
        index
    }

    /// An empty index, to fill with [`ScalarIndex::insert`].
    pub(crate) fn empty() -> ScalarIndex {
        ScalarIndex {
            by_hash: HashMap::new(),
            others: Vec::new(),
        }
    }

    /// Records that `items[position]` is `item`.
    pub(crate) fn insert(&mut self, item: &Value, position: usize) {
        match scalar_hash(item) {
            Some(h) => self.by_hash.entry(h).or_default().push(position),
            None => self.others.push(position),
        }
    }

    /// The positions of the scalars and ranges in `items` equal to `v`.
    pub(crate) fn equal_to<'a>(
        &'a self,
        items: &'a [Value],
        v: &'a Value,
    ) -> impl Iterator<Item = usize> + 'a {
        scalar_hash(v)
            .and_then(|h| self.by_hash.get(&h))
            .into_iter()
            .flatten()
            .copied()
            .filter(move |&i| items[i] == *v)
    }

    /// The positions of the values that are lists or arrays.
    pub(crate) fn others(&self) -> &[usize] {
        &self.others
    }
}

/// The elements of a list, indexed to find which of them a value can intersect without
/// trying each one.
pub(crate) struct ListIndex<'a> {
    items: &'a [Value],
    /// Scalars other than ints, by hash.
    equal: ScalarIndex,
    /// Ints and int ranges as `(min, max, position)`, sorted.
    spans: Vec<(i64, i64, usize)>,
    /// Whether the spans are disjoint (then their maxima are sorted too).
    disjoint: bool,
    /// Positions of everything else: fraction ranges, lists, arrays.
    rest: Vec<usize>,
}

impl<'a> ListIndex<'a> {
    pub(crate) fn new(items: &'a [Value]) -> ListIndex<'a> {
        let mut equal = ScalarIndex::empty();
        let mut spans = Vec::new();
        let mut rest = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match *item {
                Value::Int(x) => spans.push((i64::from(x), i64::from(x), i)),
                Value::IntRange { min, max, .. } => {
                    spans.push((i64::from(min), i64::from(max), i));
                }
                _ if is_scalar(item) => equal.insert(item, i),
                _ => rest.push(i),
            }
        }
        spans.sort_unstable();
        let disjoint = spans.windows(2).all(|w| w[0].1 < w[1].0);
        ListIndex {
            items,
            equal,
            spans,
            disjoint,
            rest,
        }
    }

    /// The positions, in order, of the elements that `v` may intersect or be a subset
    /// of (a superset of those it does: the caller still intersects each).
    pub(crate) fn candidates(&self, v: &Value) -> Vec<usize> {
        let mut out: Vec<usize> = match *v {
            Value::Int(x) => self.overlapping(i64::from(x), i64::from(x)),
            Value::IntRange { min, max, .. } => self.overlapping(i64::from(min), i64::from(max)),
            _ if is_scalar(v) => self.equal.equal_to(self.items, v).collect(),
            _ => return (0..self.items.len()).collect(),
        };
        out.extend_from_slice(&self.rest);
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Positions of the ints and int ranges whose bounds overlap `[lo, hi]`.
    fn overlapping(&self, lo: i64, hi: i64) -> Vec<usize> {
        let overlaps = |&(a, b, _): &(i64, i64, usize)| a <= hi && b >= lo;
        if self.disjoint {
            // Sorted by min and disjoint, so sorted by max too: skip those ending
            // before `lo`, stop at the first starting after `hi`.
            let first = self.spans.partition_point(|s| s.1 < lo);
            self.spans[first..]
                .iter()
                .take_while(|s| s.0 <= hi)
                .map(|s| s.2)
                .collect()
        } else {
            self.spans
                .iter()
                .filter(|s| overlaps(s))
                .map(|s| s.2)
                .collect()
        }
    }
}

#[cfg(test)]
thread_local! {
    static COMPARISONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts one `Value` comparison on this thread (tests only), so that tests can check
/// that list operations stay linear by counting, not timing.
#[cfg(test)]
pub(crate) fn count_comparison() {
    COMPARISONS.with(|c| c.set(c.get() + 1));
}

/// `Value` comparisons made on this thread so far (tests only).
#[cfg(test)]
pub(crate) fn comparisons() -> u64 {
    COMPARISONS.with(std::cell::Cell::get)
}
