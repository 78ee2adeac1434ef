//! Fractions: frame rates and pixel aspect ratios.

use super::*;

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
    pub(super) fn abs_diff(self, other: Fraction) -> (i128, i128) {
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

pub(super) fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}
