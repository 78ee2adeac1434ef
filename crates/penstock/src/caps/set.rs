//! Hash lookups over the scalars of a list, so that list operations (intersection,
//! subset, equality, de-duplication) are linear in the list lengths instead of their
//! product: `width={1,...,20000}` against another list of 20,000 widths is 40,000
//! lookups, not 400 million comparisons.
//!
//! Only scalars are hashed; ranges, arrays and nested lists (few in practice) are kept
//! aside and compared one by one, exactly as before.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use super::value::Value;

/// A hash of a scalar value consistent with `Value`'s equality (`-0.0 == 0.0`, NaN
/// equal to NaN), or `None` for ranges, lists and arrays. Values of different types
/// hash differently because the discriminant is hashed first.
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
        Value::IntRange { .. } | Value::FractionRange { .. } | Value::List(_) | Value::Array(_) => {
            return None;
        }
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

/// The scalars of a slice of values by hash, and the positions of the rest.
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

    /// The positions of the scalars in `items` equal to `v` (a scalar).
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

    /// The positions of the values that are not scalars.
    pub(crate) fn others(&self) -> &[usize] {
        &self.others
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
