//! Map guards: a memory's bytes for reading or writing, released on drop.

use super::*;

/// A read mapping of a memory; derefs to `&[u8]`. Dropping it ends the access.
pub struct MapRead<'a> {
    pub(super) access: ReadAccess<'a>,
}

impl Deref for MapRead<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.access.slice()
    }
}

impl AsRef<[u8]> for MapRead<'_> {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl fmt::Debug for MapRead<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MapRead({} bytes)", self.len())
    }
}

/// An exclusive write mapping of a memory; derefs to `&mut [u8]`.
pub struct MapWrite<'a> {
    pub(super) access: WriteAccess<'a>,
}

impl Deref for MapWrite<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.access.slice()
    }
}

impl DerefMut for MapWrite<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.access.slice_mut()
    }
}

impl fmt::Debug for MapWrite<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MapWrite({} bytes)", self.len())
    }
}

/// A memory mapped for reading that owns its handle; derefs to `&[u8]`.
pub struct MappedMemory {
    pub(super) access: OwnedReadAccess,
    pub(super) memory: Memory,
}

impl MappedMemory {
    /// The memory.
    pub fn memory(&self) -> &Memory {
        &self.memory
    }

    /// Unmaps and returns the memory.
    pub fn into_memory(self) -> Memory {
        let MappedMemory { access, memory } = self;
        drop(access);
        memory
    }
}

impl Deref for MappedMemory {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.access.slice()
    }
}

impl fmt::Debug for MappedMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MappedMemory({:?})", self.memory)
    }
}
