//! A read mapping of a buffer's range: borrowed from one memory, or a copy.

use super::*;

/// A read mapping of a range of a buffer's memories; derefs to `&[u8]`.
pub struct BufferMap<'a>(pub(super) MapInner<'a>);

pub(super) enum MapInner<'a> {
    Empty,
    Borrowed(MapRead<'a>),
    Owned(MappedMemory),
    Copied(Vec<u8>),
}

impl BufferMap<'_> {
    /// True if mapping this range needed a copy.
    pub fn is_copy(&self) -> bool {
        matches!(self.0, MapInner::Copied(_))
    }
}

impl Deref for BufferMap<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.0 {
            MapInner::Empty => &[],
            MapInner::Borrowed(m) => m,
            MapInner::Owned(m) => m,
            MapInner::Copied(v) => v,
        }
    }
}

impl fmt::Debug for BufferMap<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "BufferMap({} bytes, copy: {})",
            self.len(),
            self.is_copy()
        )
    }
}
