//! [`MemoryType`]: what kind of memory a [`Memory`](super::Memory) is, or an
//! [`Allocator`](crate::Allocator) makes, as caps features name it (`memory:DMABuf`).

use std::fmt;

/// The prefix of the caps features that name a memory type (`memory:DMABuf`).
pub const CAPS_FEATURE_MEMORY_PREFIX: &str = "memory:";

/// The identity of a memory type: system memory, DMA-BUF, memfd, or one a backend
/// defines with [`MemoryType::new`]. Two types are the same when their names are.
///
/// It prints as its name (`DMABuf`), and converts to and from the caps feature that asks
/// for it (`memory:DMABuf`):
///
/// ```
/// use penstock::memory::MemoryType;
/// assert_eq!(MemoryType::DMABUF.to_string(), "DMABuf");
/// assert_eq!(MemoryType::DMABUF.caps_feature(), "memory:DMABuf");
/// assert_eq!(MemoryType::from_caps_feature("memory:DMABuf"), Some(MemoryType::DMABUF));
/// assert!(MemoryType::new("TestMemory").is_caps_feature("memory:TestMemory"));
/// assert_eq!(MemoryType::from_caps_feature("meta:GstVideoOverlayComposition"), None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemoryType(&'static str);

impl MemoryType {
    /// Heap memory of the process (GStreamer's `SystemMemory`), what caps without a
    /// `memory:` feature carry.
    pub const SYSTEM: MemoryType = MemoryType("SystemMemory");
    /// A DMA-BUF (GStreamer's `DMABuf`): the memory `memory:DMABuf` caps ask for.
    pub const DMABUF: MemoryType = MemoryType("DMABuf");
    /// A sealed memfd, shareable with other processes by descriptor.
    pub const MEMFD: MemoryType = MemoryType("memfd");

    /// The built-in types, which [`MemoryType::from_caps_feature`] recognises.
    pub const KNOWN: [MemoryType; 3] = [MemoryType::SYSTEM, MemoryType::DMABUF, MemoryType::MEMFD];

    /// A memory type named `name`, as the caps feature `memory:name` spells it. Types
    /// with the same name are the same type.
    pub const fn new(name: &'static str) -> MemoryType {
        MemoryType(name)
    }

    /// The name: `SystemMemory`, `DMABuf`, `memfd`, ...
    pub const fn name(self) -> &'static str {
        self.0
    }

    /// Whether this is system memory.
    pub fn is_system(self) -> bool {
        self == MemoryType::SYSTEM
    }

    /// The caps feature that asks for this memory type: `memory:DMABuf`.
    pub fn caps_feature(self) -> String {
        format!("{CAPS_FEATURE_MEMORY_PREFIX}{}", self.0)
    }

    /// Whether `feature` is this type's caps feature.
    pub fn is_caps_feature(self, feature: &str) -> bool {
        feature_memory_name(feature) == Some(self.0)
    }

    /// The built-in memory type ([`MemoryType::KNOWN`]) that `feature` asks for, or
    /// `None` for other features. A type a backend defines is not known here: compare
    /// it with [`MemoryType::is_caps_feature`].
    pub fn from_caps_feature(feature: &str) -> Option<MemoryType> {
        let name = feature_memory_name(feature)?;
        MemoryType::KNOWN.into_iter().find(|t| t.0 == name)
    }
}

/// The memory type name of a `memory:X` caps feature (`X`), or `None` for other
/// features.
pub fn feature_memory_name(feature: &str) -> Option<&str> {
    feature.strip_prefix(CAPS_FEATURE_MEMORY_PREFIX)
}

impl fmt::Display for MemoryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for MemoryType {
    /// As the name in quotes (`"DMABuf"`), as the `&'static str` it replaces printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl PartialEq<str> for MemoryType {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for MemoryType {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<MemoryType> for &str {
    fn eq(&self, other: &MemoryType) -> bool {
        *self == other.0
    }
}

impl AsRef<str> for MemoryType {
    fn as_ref(&self) -> &str {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_print_as_before() {
        assert_eq!(MemoryType::SYSTEM.to_string(), "SystemMemory");
        assert_eq!(MemoryType::DMABUF.to_string(), "DMABuf");
        assert_eq!(MemoryType::MEMFD.to_string(), "memfd");
        assert_eq!(format!("{:?}", MemoryType::DMABUF), "\"DMABuf\"");
        assert_eq!(MemoryType::new("memfd"), MemoryType::MEMFD);
        assert!(MemoryType::SYSTEM.is_system());
        assert!(!MemoryType::DMABUF.is_system());
    }

    #[test]
    fn caps_features_round_trip() {
        for t in MemoryType::KNOWN {
            assert_eq!(MemoryType::from_caps_feature(&t.caps_feature()), Some(t));
            assert!(t.is_caps_feature(&t.caps_feature()));
        }
        let custom = MemoryType::new("TestMemory");
        assert_eq!(custom.caps_feature(), "memory:TestMemory");
        assert!(custom.is_caps_feature("memory:TestMemory"));
        assert!(!custom.is_caps_feature("memory:DMABuf"));
        assert_eq!(MemoryType::from_caps_feature("memory:TestMemory"), None);
        assert_eq!(MemoryType::from_caps_feature("DMABuf"), None);
        assert_eq!(feature_memory_name("meta:Foo"), None);
    }
}
