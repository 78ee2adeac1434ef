//! Allocators: where memories come from.
//!
//! An [`Allocator`] makes memories of a given size with [`AllocationParams`] (alignment,
//! prefix, padding, flags). The [`SystemAllocator`] is the default; the Linux crate adds
//! memfd, DMA-BUF heap and udmabuf allocators behind the same trait, and the allocation
//! query carries `Arc<dyn Allocator>` between elements.

use std::fmt;
use std::sync::Arc;

use crate::ledger;
use crate::memory::{Memory, MemoryError, MemoryFlags, MemoryType};

/// Default alignment of system memory: 64 bytes (a cache line, enough for AVX-512).
pub const DEFAULT_ALIGN_MASK: usize = 63;

/// Parameters of an allocation, as GStreamer's `GstAllocationParams`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AllocationParams {
    /// Alignment as a mask (alignment − 1), as in GStreamer: 15 asks for 16 bytes.
    /// Allocators may align more; 0 means their default.
    pub align: usize,
    /// Bytes reserved before the visible window (the memory's `offset`).
    pub prefix: usize,
    /// Bytes reserved after the visible window.
    pub padding: usize,
    /// Flags for the new memory. ZERO_PREFIXED / ZERO_PADDED ask for zeroed prefix and
    /// padding.
    pub flags: MemoryFlags,
}

impl AllocationParams {
    /// Params asking for `bytes` alignment (a power of two).
    ///
    /// # Errors
    /// [`MemoryError::Alloc`] if `bytes` is not a power of two.
    pub fn aligned_to(bytes: usize) -> Result<Self, MemoryError> {
        if !bytes.is_power_of_two() {
            return Err(MemoryError::Alloc {
                size: 0,
                reason: format!("alignment {bytes} is not a power of two"),
            });
        }
        Ok(AllocationParams {
            align: bytes - 1,
            ..Self::default()
        })
    }

    /// The alignment in bytes these params ask for, at least `default_mask + 1`.
    ///
    /// # Errors
    /// [`MemoryError::Alloc`] if the mask is not of the form 2ⁿ−1.
    pub fn alignment_bytes(&self, default_mask: usize) -> Result<usize, MemoryError> {
        let valid = |m: usize| m.checked_add(1).is_some_and(usize::is_power_of_two);
        let mask = self.align | default_mask;
        if !valid(self.align) || !valid(mask) {
            return Err(MemoryError::Alloc {
                size: 0,
                reason: format!("alignment mask {:#x} is not 2^n-1", self.align),
            });
        }
        Ok(mask + 1)
    }

    /// Combines two parameter sets: the stricter alignment, the larger prefix and
    /// padding, the union of flags (used when merging allocation proposals).
    pub fn merge(&self, other: &AllocationParams) -> AllocationParams {
        AllocationParams {
            align: self.align | other.align,
            prefix: self.prefix.max(other.prefix),
            padding: self.padding.max(other.padding),
            flags: self.flags | other.flags,
        }
    }
}

/// A source of memories.
pub trait Allocator: Send + Sync + fmt::Debug + 'static {
    /// A short name (`"SystemMemory"`, `"memfd"`, `"dmaheap:system"`).
    fn name(&self) -> &str;

    /// The memory type of what this allocator makes (as in caps features; default
    /// [`MemoryType::SYSTEM`]).
    fn memory_type(&self) -> MemoryType {
        MemoryType::SYSTEM
    }

    /// A memory whose visible window has `size` bytes, with `params.prefix` bytes before
    /// and `params.padding` bytes after it.
    ///
    /// # Errors
    /// [`MemoryError::Alloc`] when the memory cannot be made, naming the reason.
    fn alloc(&self, size: usize, params: &AllocationParams) -> Result<Memory, MemoryError>;

    /// The DRM formats (fourcc, modifier) this allocator can lay out, for allocators of
    /// DMA-BUF memory; `None` for memory that is not a DMA-BUF (system memory).
    fn drm_formats(&self) -> Option<crate::drm::DrmFormatSet> {
        None
    }
}

/// Heap memory from the global allocator, zero-initialised, aligned to at least 64 bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemAllocator;

impl SystemAllocator {
    pub(crate) fn alloc_memory(
        &self,
        size: usize,
        params: &AllocationParams,
    ) -> Result<Memory, MemoryError> {
        let align = params
            .alignment_bytes(DEFAULT_ALIGN_MASK)
            .map_err(|e| match e {
                MemoryError::Alloc { reason, .. } => MemoryError::Alloc { size, reason },
                other => other,
            })?;
        let maxsize = params
            .prefix
            .checked_add(size)
            .and_then(|s| s.checked_add(params.padding))
            .filter(|&s| s <= isize::MAX as usize)
            .ok_or_else(|| MemoryError::Alloc {
                size,
                reason: format!(
                    "prefix {} + size {size} + padding {} overflows",
                    params.prefix, params.padding
                ),
            })?;
        // The bytes are zeroed, so the zero flags hold whenever they are asked for.
        let memory =
            crate::memory::system_memory(maxsize, align, params.prefix, size, params.flags)?;
        ledger::record_allocation(maxsize, "SystemAllocator");
        Ok(memory)
    }
}

impl Allocator for SystemAllocator {
    fn name(&self) -> &str {
        "SystemMemory"
    }

    fn alloc(&self, size: usize, params: &AllocationParams) -> Result<Memory, MemoryError> {
        self.alloc_memory(size, params)
    }
}

/// The default allocator, shared.
pub fn default_allocator() -> Arc<dyn Allocator> {
    Arc::new(SystemAllocator)
}
