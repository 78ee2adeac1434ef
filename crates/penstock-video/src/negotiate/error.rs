//! The errors of negotiation.

use penstock::caps::Fraction;
use penstock::drm::DrmFormat;

use super::Explanation;
use crate::dma_drm::DmaDrmError;

/// Errors of negotiation: invalid offers and announcements, and no format in common.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NegotiationError {
    /// An offer without any entry.
    #[error(
        "the offer is empty: the consumer must offer at least one format (a DMA-BUF entry \
         or a shared-memory entry)"
    )]
    EmptyOffer,
    /// A raw fourcc code that is not a DRM format penstock knows.
    #[error("fourcc code {code:#010x} ({chars:?}) is not a DRM format penstock knows")]
    UnknownFourcc {
        /// The code.
        code: u32,
        /// Its four bytes as characters (non-printable ones as `?`).
        chars: String,
    },
    /// An entry whose width or height is 0 or above `i32::MAX`.
    #[error(
        "offer entry {index} ({entry}): size {width}x{height} is invalid; width and height \
         must be from 1 to 2147483647"
    )]
    InvalidSize {
        /// Index of the entry in the offer.
        index: usize,
        /// The entry.
        entry: String,
        /// The width given.
        width: u32,
        /// The height given.
        height: u32,
    },
    /// An entry with a negative framerate.
    #[error("offer entry {index} ({entry}): framerate {framerate} is negative")]
    InvalidFramerate {
        /// Index of the entry in the offer.
        index: usize,
        /// The entry.
        entry: String,
        /// The framerate given.
        framerate: Fraction,
    },
    /// A DMA-BUF entry without modifiers.
    #[error(
        "offer entry {index}: DMA-BUF {fourcc} lists no modifier; list the modifiers the \
         consumer can import (DRM_FORMAT_MOD_INVALID for implicit ones), or offer it as \
         shared memory"
    )]
    NoModifiers {
        /// Index of the entry in the offer.
        index: usize,
        /// The fourcc.
        fourcc: String,
    },
    /// A modifier listed twice in one entry.
    #[error("offer entry {index}: {format} is listed twice; list each modifier once")]
    DuplicateModifier {
        /// Index of the entry in the offer.
        index: usize,
        /// The format listed twice.
        format: DrmFormat,
    },
    /// Two entries for the same memory, format, size and rate.
    #[error(
        "offer entries {first} and {second} are both {entry}; merge them (one entry per \
         format, size and rate, with all its modifiers)"
    )]
    DuplicateEntry {
        /// Index of the first entry.
        first: usize,
        /// Index of the second entry.
        second: usize,
        /// The entry.
        entry: String,
    },
    /// Caps that cannot be read as an offer or announcement.
    #[error("caps {caps} cannot be used for negotiation: {reason}")]
    UnsupportedCaps {
        /// The caps structure (or caps) at fault.
        caps: String,
        /// What is wrong and what to change.
        reason: String,
    },
    /// DMA_DRM caps that are invalid.
    #[error(transparent)]
    DmaDrm(#[from] DmaDrmError),
    /// Nothing offered can be produced: no DMA-BUF modifier in common (or every test
    /// allocation failed), and no shared-memory format the producer makes.
    #[error(
        "no format in common: the consumer offered [{offered}], the producer makes \
         [{supported}]\n{explanation}\nadd a format both sides support (a shared-memory \
         entry is the usual fallback)"
    )]
    NoCommonFormat {
        /// What the consumer offered.
        offered: String,
        /// What the producer can make.
        supported: String,
        /// Every entry tried and why it was rejected.
        explanation: Explanation,
    },
    /// The test allocation answered with a modifier it was not given.
    #[error(
        "the test allocation for {fourcc} chose modifier {chosen:#018x}, which is not one of \
         the candidates [{candidates}]; the allocator must pick one of the modifiers it is \
         given"
    )]
    TestAllocationOutOfRange {
        /// The fourcc.
        fourcc: String,
        /// The modifier it returned.
        chosen: u64,
        /// The candidates it was given.
        candidates: String,
    },
    /// An announcement the consumer did not offer.
    #[error(
        "the producer announced {announced}, which the consumer did not offer; the consumer \
         offered [{offered}]"
    )]
    NotOffered {
        /// The announcement.
        announced: String,
        /// What the consumer offered.
        offered: String,
    },
    /// An announcement of a modifier the consumer rejected earlier.
    #[error(
        "the producer announced {announced}, but the consumer rejected {format} earlier \
         ({reason}); renegotiate with the consumer's current offer"
    )]
    PreviouslyRejected {
        /// The announcement.
        announced: String,
        /// The rejected format.
        format: DrmFormat,
        /// Why the consumer rejected it.
        reason: String,
    },
    /// An announcement with a plane count the format cannot have.
    #[error("the producer announced {announced} with {n_planes} plane(s); {format} has {expected}")]
    InvalidPlaneCount {
        /// The announcement.
        announced: String,
        /// The format.
        format: DrmFormat,
        /// The plane count announced.
        n_planes: usize,
        /// What it must be.
        expected: String,
    },
    /// A modifier rejection for a format that is not in the offer.
    #[error(
        "cannot reject {format}: the offer has no DMA-BUF entry with it; the offer is [{offered}]"
    )]
    RejectNotOffered {
        /// The format to reject.
        format: DrmFormat,
        /// What the consumer offers.
        offered: String,
    },
    /// Rejecting a modifier would leave nothing to offer.
    #[error(
        "rejecting {format} ({reason}) leaves the consumer nothing to offer; add a \
         shared-memory fallback or other modifiers"
    )]
    OfferExhausted {
        /// The format rejected.
        format: DrmFormat,
        /// Why.
        reason: String,
    },
}
