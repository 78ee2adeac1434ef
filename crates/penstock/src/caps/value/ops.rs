//! Set operations on values: int ranges and steps, list intersection, and list
//! equality as multisets.

use super::*;

/// Normalised bounds of an int range: the smallest and largest multiples of the step
/// (step below 1 taken as 1) inside `[min, max]`, or `None` if there are none.
pub(super) fn int_range_bounds(v: &Value) -> Option<(i64, i64, i64)> {
    let Value::IntRange { min, max, step } = *v else {
        return None;
    };
    let step = i64::from(step.max(1));
    let lo = ceil_multiple(i64::from(min), step);
    let hi = floor_multiple(i64::from(max), step);
    (lo <= hi).then_some((lo, hi, step))
}

pub(super) fn int_in(x: i64, lo: i64, hi: i64, step: i64) -> bool {
    lo <= x && x <= hi && x.rem_euclid(step) == 0
}

pub(super) fn ceil_multiple(x: i64, step: i64) -> i64 {
    let r = x.rem_euclid(step);
    if r == 0 { x } else { x - r + step }
}

pub(super) fn floor_multiple(x: i64, step: i64) -> i64 {
    x - x.rem_euclid(step)
}

pub(super) fn lcm(a: i64, b: i64) -> i64 {
    // Both are in 1..=i32::MAX, so the product fits.
    let g = gcd(a.unsigned_abs(), b.unsigned_abs()).max(1) as i64;
    a / g * b
}

/// The set `{ x in [lo, hi] : step | x }` as a value (`lo`, `hi` multiples of `step`).
pub(super) fn make_int_set(lo: i64, hi: i64, step: i64) -> Option<Value> {
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
pub(super) fn worth_indexing(a: &[Value], b: &[Value]) -> bool {
    a.len() > 1 && a.len().saturating_mul(b.len()) > 4096
}

pub(super) fn intersect_list(items: &[Value], other: &Value) -> Option<Value> {
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
pub(super) struct FlatList {
    pub(super) items: Vec<Value>,
    /// Built when `items` reaches [`FlatList::INDEX_FROM`] elements.
    pub(super) index: Option<ScalarIndex>,
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
        crate::caps::set::count_comparison();
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
pub(super) fn multiset_eq(a: &[Value], b: &[Value]) -> bool {
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
