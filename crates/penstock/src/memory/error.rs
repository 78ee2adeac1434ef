//! What can go wrong with memories.

use super::*;

/// Errors of memory operations. None of them leaves anything locked or lost.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryError {
    /// Write access to a READONLY memory.
    #[error("memory is read-only (READONLY flag): it cannot be mapped for writing")]
    ReadOnly,
    /// Write access to a memory that other handles also hold.
    #[error(
        "memory is shared by {holders} handles: write access needs a unique memory \
         (drop the other handles, or write through BufferMut, which copies on write)"
    )]
    Shared {
        /// How many handles hold the region (this one included).
        holders: usize,
    },
    /// A mapping conflicts with one that is alive.
    #[error(
        "memory cannot be mapped {requested}: it is mapped {held}, and a write mapping is exclusive"
    )]
    Busy {
        /// The access that was asked for.
        requested: MapMode,
        /// The access of a guard that is alive.
        held: MapMode,
    },
    /// The memory has no CPU mapping.
    #[error("{memory_type} memory cannot be mapped (NOT_MAPPABLE): {why}")]
    NotMappable {
        /// The memory type.
        memory_type: MemoryType,
        /// Why, as far as known.
        why: &'static str,
    },
    /// Sharing a NO_SHARE memory.
    #[error("memory has the NO_SHARE flag: sub-memories of it cannot be made (copy it instead)")]
    NoShare,
    /// A range outside the memory.
    #[error("{what}: offset {offset} + size {size} is outside 0..{limit}")]
    OutOfRange {
        /// The operation that was asked for.
        what: &'static str,
        /// Requested offset.
        offset: i128,
        /// Requested size.
        size: usize,
        /// The limit it had to fit in.
        limit: usize,
    },
    /// Merging memories that are not adjacent windows of one region.
    #[error("memories do not span: they are not adjacent windows of the same region")]
    NotSpan,
    /// Allocation failed.
    #[error("allocating {size} bytes failed: {reason}")]
    Alloc {
        /// Requested size in bytes.
        size: usize,
        /// What went wrong.
        reason: String,
    },
    /// Allocation failed in a lower layer (a memfd, a DMA-BUF heap, udmabuf), whose own
    /// typed error is kept as the [`source`](std::error::Error::source). Its message
    /// reads as [`MemoryError::Alloc`]'s, with the source's message as the reason.
    #[error("allocating {size} bytes failed: {source}")]
    AllocFailed {
        /// Requested size in bytes.
        size: usize,
        /// The lower layer's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// A backend hook failed (for example a DMA-BUF sync ioctl).
    #[error("{memory_type} memory: {message}")]
    Backend {
        /// The memory type.
        memory_type: MemoryType,
        /// What failed, with the OS error if any.
        message: String,
    },
    /// A backend hook failed in a lower layer (a DMA-BUF sync ioctl), whose own error is
    /// kept as the [`source`](std::error::Error::source). Its message reads as
    /// [`MemoryError::Backend`]'s, with `what` and the source's message.
    #[error("{memory_type} memory: {what}: {source}")]
    BackendFailed {
        /// The memory type.
        memory_type: MemoryType,
        /// What failed (`DMA_BUF_IOCTL_SYNC (...) on file descriptor 7 failed`).
        what: String,
        /// The lower layer's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}

impl MemoryError {
    /// A [`MemoryError::AllocFailed`] of `size` bytes caused by `source`.
    pub fn alloc_failed(
        size: usize,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> MemoryError {
        MemoryError::AllocFailed {
            size,
            source: Box::new(source),
        }
    }
}
