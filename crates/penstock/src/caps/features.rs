//! Caps features: where the memory lives (and other per-structure capabilities).

use std::fmt;
use std::str::FromStr;

use super::parse::{self, ParseError};

/// The feature of ordinary CPU-mappable memory, the default.
pub const CAPS_FEATURE_MEMORY_SYSTEM_MEMORY: &str = "memory:SystemMemory";
/// The feature of dma-buf memory (Linux DMA buffers, one fd per plane).
pub const CAPS_FEATURE_MEMORY_DMABUF: &str = "memory:DMABuf";

/// The set of features of one caps structure, as GStreamer's `GstCapsFeatures`:
/// `memory:SystemMemory` by default, other memory kinds such as `memory:DMABuf`, meta
/// features such as `meta:GstVideoOverlayComposition`, or ANY (matches every feature
/// set).
///
/// It is a set: order does not matter to equality, and names appear once. An empty set
/// means `memory:SystemMemory`. Feature names look like `namespace:Name`.
///
/// ```
/// use penstock::caps::CapsFeatures;
/// let f: CapsFeatures = "memory:DMABuf, meta:GstVideoOverlayComposition".parse()?;
/// assert!(f.contains("memory:DMABuf"));
/// assert!(!f.is_compatible(&CapsFeatures::default()));
/// assert!(f.is_compatible(&CapsFeatures::new_any()));
/// # Ok::<(), penstock::caps::ParseError>(())
/// ```
#[derive(Debug, Clone)]
pub struct CapsFeatures {
    any: bool,
    names: Vec<String>,
}

impl CapsFeatures {
    /// The given features (duplicates dropped); none at all means
    /// `memory:SystemMemory`. Names are not checked: they should look like
    /// `namespace:Name` (see [`CapsFeatures::is_valid_name`]) to print and parse back.
    pub fn new<I, S>(names: I) -> CapsFeatures
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut f = CapsFeatures {
            any: false,
            names: Vec::new(),
        };
        for name in names {
            f.add(name);
        }
        if f.names.is_empty() {
            f.names.push(CAPS_FEATURE_MEMORY_SYSTEM_MEMORY.to_owned());
        }
        f
    }

    /// `memory:SystemMemory` alone (also [`Default`]).
    pub fn system_memory() -> CapsFeatures {
        CapsFeatures::new([CAPS_FEATURE_MEMORY_SYSTEM_MEMORY])
    }

    /// ANY features: compatible with every feature set.
    pub fn new_any() -> CapsFeatures {
        CapsFeatures {
            any: true,
            names: Vec::new(),
        }
    }

    /// Whether these are ANY features.
    pub fn is_any(&self) -> bool {
        self.any
    }

    /// Whether this is `memory:SystemMemory` alone, the default (printed as nothing).
    pub fn is_system_memory(&self) -> bool {
        !self.any && self.names.len() == 1 && self.names[0] == CAPS_FEATURE_MEMORY_SYSTEM_MEMORY
    }

    /// Whether `name` is one of the features (never true for ANY features).
    pub fn contains(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// The feature names in the order they were added (none for ANY features).
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.names.iter().map(String::as_str)
    }

    /// Number of feature names (0 for ANY features).
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are no feature names, which is only the case for ANY features.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Adds a feature (no effect on ANY features, or if it is already there).
    pub fn add(&mut self, name: impl Into<String>) {
        let name = name.into();
        if !self.any && !self.contains(&name) {
            self.names.push(name);
        }
    }

    /// Removes a feature; returns whether it was there. Removing the last one leaves
    /// `memory:SystemMemory`.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.names.len();
        self.names.retain(|n| n != name);
        let removed = self.names.len() != before;
        if removed && self.names.is_empty() {
            self.names
                .push(CAPS_FEATURE_MEMORY_SYSTEM_MEMORY.to_owned());
        }
        removed
    }

    /// Whether structures with these features and `other` can intersect: equal sets, or
    /// either is ANY (GStreamer's `gst_caps_features_is_equal`).
    pub fn is_compatible(&self, other: &CapsFeatures) -> bool {
        self.any || other.any || self == other
    }

    /// Whether these features are within `superset`'s: equal sets, or `superset` is ANY.
    pub fn is_subset(&self, superset: &CapsFeatures) -> bool {
        superset.any || (!self.any && self == superset)
    }

    /// Whether `name` is a valid feature name: letters, `:`, then a letter followed by
    /// letters and digits (`memory:DMABuf`, `meta:GstVideoOverlayComposition`).
    pub fn is_valid_name(name: &str) -> bool {
        let Some((ns, rest)) = name.split_once(':') else {
            return false;
        };
        !ns.is_empty()
            && ns.bytes().all(|b| b.is_ascii_alphabetic())
            && rest.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
            && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    }
}

impl Default for CapsFeatures {
    fn default() -> Self {
        CapsFeatures::system_memory()
    }
}

impl PartialEq for CapsFeatures {
    fn eq(&self, other: &Self) -> bool {
        self.any == other.any
            && self.names.len() == other.names.len()
            && self.names.iter().all(|n| other.contains(n))
    }
}

impl Eq for CapsFeatures {}

impl fmt::Display for CapsFeatures {
    /// `ANY`, or the names separated by `, ` (without parentheses).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.any {
            return f.write_str("ANY");
        }
        for (i, name) in self.names.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

impl FromStr for CapsFeatures {
    type Err = ParseError;

    /// Parses `memory:DMABuf, meta:Foo` or `ANY`, with or without surrounding parentheses.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse::parse_features(s)
    }
}
