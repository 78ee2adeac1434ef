//! DRM formats: a fourcc plus a format modifier, the currency of DMA-BUF negotiation.
//!
//! A [`DrmFormat`] is written the way GStreamer 1.24 writes `drm-format` in caps: the
//! fourcc's four characters, and for any modifier but LINEAR a colon and the modifier in
//! hexadecimal (`NV12`, `NV12:0x0100000000000001`). A [`DrmFormatSet`] is what an
//! allocator can make or a peer can accept; negotiation intersects such sets.
//!
//! ```
//! use penstock::drm::{DrmFormat, DrmFormatSet, DRM_FORMAT_MOD_LINEAR};
//!
//! let f: DrmFormat = "NV12".parse()?;
//! assert_eq!(f.modifier, DRM_FORMAT_MOD_LINEAR);
//! let tiled: DrmFormat = "NV12:0x0100000000000001".parse()?;
//! assert_eq!(tiled.to_string(), "NV12:0x0100000000000001");
//!
//! let a: DrmFormatSet = [f, tiled].into_iter().collect();
//! let b: DrmFormatSet = [f].into_iter().collect();
//! assert_eq!(a.intersect(&b).iter().collect::<Vec<_>>(), [&f]);
//! # Ok::<(), penstock::drm::DrmFormatError>(())
//! ```

use std::fmt;
use std::str::FromStr;

pub use drm_fourcc::DrmFourcc;

/// `DRM_FORMAT_MOD_LINEAR`: rows one after another, as the CPU expects.
pub const DRM_FORMAT_MOD_LINEAR: u64 = 0;
/// `DRM_FORMAT_MOD_INVALID`: "no explicit modifier" (implicit, driver-chosen layout).
pub const DRM_FORMAT_MOD_INVALID: u64 = 0x00ff_ffff_ffff_ffff;

/// The caps field that names DMA-BUF formats (`drm-format=NV12:0x...`), GStreamer 1.24's.
/// [`Caps`](crate::caps::Caps) compare its values as [`DrmFormat`]s, not as text.
pub const DRM_FORMAT_FIELD: &str = "drm-format";

/// Errors from parsing a `drm-format` string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DrmFormatError {
    /// The fourcc part is not four characters.
    #[error(
        "invalid drm-format {text:?}: the fourcc must be exactly 4 characters (as NV12, YU12, XR24)"
    )]
    BadFourcc {
        /// The whole string.
        text: String,
    },
    /// Four characters, but no DRM format penstock knows.
    #[error("invalid drm-format {text:?}: {fourcc:?} is not a DRM fourcc penstock knows")]
    UnknownFourcc {
        /// The whole string.
        text: String,
        /// The fourcc part.
        fourcc: String,
    },
    /// The modifier part is not `0x` followed by 1 to 16 hex digits.
    #[error(
        "invalid drm-format {text:?}: the modifier must be 0x followed by 1 to 16 hex digits (as NV12:0x0100000000000001)"
    )]
    BadModifier {
        /// The whole string.
        text: String,
    },
}

/// A DRM fourcc with a format modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DrmFormat {
    /// The pixel format.
    pub fourcc: DrmFourcc,
    /// The layout modifier ([`DRM_FORMAT_MOD_LINEAR`] for plain rows).
    pub modifier: u64,
}

impl DrmFormat {
    /// A format with the LINEAR modifier.
    pub const fn linear(fourcc: DrmFourcc) -> DrmFormat {
        DrmFormat {
            fourcc,
            modifier: DRM_FORMAT_MOD_LINEAR,
        }
    }

    /// A format with the given modifier.
    pub const fn new(fourcc: DrmFourcc, modifier: u64) -> DrmFormat {
        DrmFormat { fourcc, modifier }
    }

    /// Whether the CPU can read the layout row by row (LINEAR).
    pub const fn is_linear(&self) -> bool {
        self.modifier == DRM_FORMAT_MOD_LINEAR
    }

    /// Sort key: fourcc code, then modifier.
    fn key(&self) -> (u32, u64) {
        (self.fourcc as u32, self.modifier)
    }
}

impl PartialOrd for DrmFormat {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for DrmFormat {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// The four characters of a fourcc code (`NV12`, `YU12`).
pub fn fourcc_chars(fourcc: DrmFourcc) -> String {
    (fourcc as u32)
        .to_le_bytes()
        .iter()
        .map(|&b| b as char)
        .collect()
}

impl fmt::Display for DrmFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&fourcc_chars(self.fourcc))?;
        if self.modifier != DRM_FORMAT_MOD_LINEAR {
            write!(f, ":0x{:016x}", self.modifier)?;
        }
        Ok(())
    }
}

impl FromStr for DrmFormat {
    type Err = DrmFormatError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (code, modifier) = match text.split_once(':') {
            Some((c, m)) => (c, Some(m)),
            None => (text, None),
        };
        let bytes = code.as_bytes();
        if bytes.len() != 4 || !code.is_ascii() {
            return Err(DrmFormatError::BadFourcc { text: text.into() });
        }
        let raw = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let fourcc = DrmFourcc::try_from(raw).map_err(|_| DrmFormatError::UnknownFourcc {
            text: text.into(),
            fourcc: code.into(),
        })?;
        let modifier = match modifier {
            None => DRM_FORMAT_MOD_LINEAR,
            Some(m) => {
                let hex = m
                    .strip_prefix("0x")
                    .or_else(|| m.strip_prefix("0X"))
                    .filter(|h| !h.is_empty() && h.len() <= 16)
                    .ok_or_else(|| DrmFormatError::BadModifier { text: text.into() })?;
                u64::from_str_radix(hex, 16)
                    .map_err(|_| DrmFormatError::BadModifier { text: text.into() })?
            }
        };
        Ok(DrmFormat { fourcc, modifier })
    }
}

/// A set of DRM formats, kept sorted and without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DrmFormatSet {
    formats: Vec<DrmFormat>,
}

impl DrmFormatSet {
    /// The empty set.
    pub const fn new() -> DrmFormatSet {
        DrmFormatSet {
            formats: Vec::new(),
        }
    }

    /// Adds a format; returns whether it was new.
    pub fn insert(&mut self, format: DrmFormat) -> bool {
        match self.formats.binary_search(&format) {
            Ok(_) => false,
            Err(at) => {
                self.formats.insert(at, format);
                true
            }
        }
    }

    /// Whether the set holds `format`.
    pub fn contains(&self, format: &DrmFormat) -> bool {
        self.formats.binary_search(format).is_ok()
    }

    /// The formats in both sets.
    pub fn intersect(&self, other: &DrmFormatSet) -> DrmFormatSet {
        DrmFormatSet {
            formats: self
                .formats
                .iter()
                .filter(|f| other.contains(f))
                .copied()
                .collect(),
        }
    }

    /// The modifiers listed for `fourcc`, in ascending order.
    pub fn modifiers(&self, fourcc: DrmFourcc) -> impl Iterator<Item = u64> + '_ {
        self.formats
            .iter()
            .filter(move |f| f.fourcc == fourcc)
            .map(|f| f.modifier)
    }

    /// The formats, sorted by fourcc code then modifier.
    pub fn iter(&self) -> std::slice::Iter<'_, DrmFormat> {
        self.formats.iter()
    }

    /// Number of formats.
    pub fn len(&self) -> usize {
        self.formats.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.formats.is_empty()
    }
}

impl FromIterator<DrmFormat> for DrmFormatSet {
    fn from_iter<I: IntoIterator<Item = DrmFormat>>(iter: I) -> Self {
        let mut formats: Vec<DrmFormat> = iter.into_iter().collect();
        formats.sort_unstable();
        formats.dedup();
        DrmFormatSet { formats }
    }
}

impl<'a> IntoIterator for &'a DrmFormatSet {
    type Item = &'a DrmFormat;
    type IntoIter = std::slice::Iter<'a, DrmFormat>;
    fn into_iter(self) -> Self::IntoIter {
        self.formats.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print_round_trip() {
        for text in ["NV12", "YU12", "XR24", "NV12:0x0100000000000001", "R8  "] {
            let f: DrmFormat = text.parse().unwrap();
            assert_eq!(f.to_string(), text);
        }
        let f: DrmFormat = "NV12:0x0".parse().unwrap();
        assert!(f.is_linear());
        assert_eq!(f.to_string(), "NV12");
    }

    #[test]
    fn bad_strings_are_typed_errors() {
        assert!(matches!(
            "NV1".parse::<DrmFormat>(),
            Err(DrmFormatError::BadFourcc { .. })
        ));
        assert!(matches!(
            "QQQQ".parse::<DrmFormat>(),
            Err(DrmFormatError::UnknownFourcc { .. })
        ));
        for bad in [
            "NV12:",
            "NV12:12",
            "NV12:0x",
            "NV12:0x1ffffffffffffffff",
            "NV12:0xzz",
        ] {
            assert!(
                matches!(
                    bad.parse::<DrmFormat>(),
                    Err(DrmFormatError::BadModifier { .. })
                ),
                "{bad}"
            );
        }
        assert!("ÿÿ".parse::<DrmFormat>().is_err());
    }

    #[test]
    fn set_ops() {
        let nv12 = DrmFormat::linear(DrmFourcc::Nv12);
        let tiled = DrmFormat::new(DrmFourcc::Nv12, 0x0100_0000_0000_0001);
        let mut s = DrmFormatSet::new();
        assert!(s.insert(tiled));
        assert!(s.insert(nv12));
        assert!(!s.insert(nv12));
        assert_eq!(s.iter().copied().collect::<Vec<_>>(), [nv12, tiled]);
        assert_eq!(
            s.modifiers(DrmFourcc::Nv12).collect::<Vec<_>>(),
            [0, 0x0100_0000_0000_0001]
        );
        let only: DrmFormatSet = [tiled].into_iter().collect();
        assert_eq!(s.intersect(&only), only);
        assert!(s.intersect(&DrmFormatSet::new()).is_empty());
    }
}
