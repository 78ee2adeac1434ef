//! DMA-BUF format negotiation between a consumer and a producer, with a shared-memory
//! fallback, in the order PipeWire streams use.
//!
//! # The procedure
//!
//! Which modifier (tiling or compression layout) a DMA-BUF should use can only be
//! decided by whoever allocates it: the allocator knows which of the layouts everyone
//! accepts it can actually make for this size, and which of them it prefers. So the
//! consumer does not pick one; it says what it accepts, and the producer, which
//! allocates, fixes the modifier.
//!
//! 1. **The consumer offers** ([`Offer`]): a list of entries in its order of preference.
//!    DMA-BUF entries come first: a fourcc, the frame size (and rate), and every modifier
//!    the consumer can import for that fourcc, including
//!    [`DRM_FORMAT_MOD_INVALID`] when it can import buffers without an explicit modifier
//!    (the driver's implicit layout). Shared-memory entries follow: the same formats with
//!    no modifier, used when no DMA-BUF works. [`Offer::builder`] builds offers this way.
//! 2. **The producer intersects** ([`Producer::negotiate`]): it walks the entries in the
//!    consumer's order. For a DMA-BUF entry it keeps the consumer's modifiers that its
//!    allocator can make ([`DrmFormatSet`](penstock::drm::DrmFormatSet)).
//!    * None left: the entry is skipped.
//!    * Exactly one left: the modifier is fixed; no test is needed.
//!    * Several left: the modifier is not fixed yet. The producer makes a *test
//!      allocation* ([`TestAllocate`]) with all of the explicit candidates (everything but
//!      `DRM_FORMAT_MOD_INVALID`), and the allocator picks the one it prefers. If that
//!      fails and the implicit modifier is among the candidates, it tries once more
//!      without an explicit modifier. If that fails too, the entry's modifiers are dropped
//!      and the next entry is tried.
//! 3. **The producer announces** the fixed format ([`Announcement`]): one fourcc with one
//!    modifier, and the number of planes (DMA-BUF fds) each buffer has, which depends on
//!    the format *and* the modifier (compression can add planes), so it is asked of the
//!    allocator once the modifier is fixed ([`TestAllocate::plane_count`]).
//! 4. **Falling back**: when no DMA-BUF entry has a modifier both sides can use, the
//!    producer takes the first shared-memory entry it can produce: both sides then use
//!    CPU-mapped memory in the format's default layout.
//! 5. **The consumer checks the announcement** ([`Offer::accept`]): it must be one of the
//!    offered fourcc + modifier pairs (at the offered size), or an offered shared-memory
//!    format. A consumer may still fail to import buffers of the fixed modifier later;
//!    it then removes that modifier from its offer ([`Offer::reject_modifier`]) and
//!    negotiation starts over with what is left.
//!
//! DMA-BUFs from V4L2 capture are ordinary LINEAR buffers in main memory: offer and
//! accept the LINEAR modifier ([`DRM_FORMAT_MOD_LINEAR`]) for them.
//!
//! Every step is recorded in the [`Outcome`]'s [`Explanation`], which prints as a
//! readable list of what was tried and why it was rejected.
//!
//! # Caps
//!
//! An offer converts to caps and back ([`Offer::to_caps`], [`Offer::from_caps`]): each
//! DMA-BUF entry is a `video/x-raw(memory:DMABuf), format=DMA_DRM` structure whose
//! `drm-format` lists its modifiers in order, and each shared-memory entry a plain
//! `video/x-raw, format=…` structure, so pipelines can carry offers in caps queries. The
//! announcement converts to fixed caps ([`Announcement::to_caps`]).
//!
//! # Example
//!
//! ```
//! use penstock_video::negotiate::{Choice, FirstCandidate, Offer, Producer};
//! use penstock_video::VideoFormat;
//! use penstock::drm::{DrmFormat, DrmFormatSet, DrmFourcc, DRM_FORMAT_MOD_LINEAR};
//!
//! const Y_TILED: u64 = 0x0100_0000_0000_0002;
//!
//! // The consumer can import tiled or linear NV12, and read NV12 from shared memory.
//! let offer = Offer::builder(1280, 720)
//!     .format(VideoFormat::Nv12, [Y_TILED, DRM_FORMAT_MOD_LINEAR])
//!     .build()?;
//! assert_eq!(offer.entries().len(), 2); // DMA-BUF NV12, then shared-memory NV12
//!
//! // The producer's allocator makes both; a test allocation picks one. Here the
//! // allocator takes the consumer's first choice (a real one would try to allocate).
//! let formats: DrmFormatSet = [
//!     DrmFormat::new(DrmFourcc::Nv12, Y_TILED),
//!     DrmFormat::linear(DrmFourcc::Nv12),
//! ]
//! .into_iter()
//! .collect();
//! let outcome = Producer::new(formats).negotiate(&offer, &mut FirstCandidate)?;
//! assert_eq!(
//!     outcome.announcement.choice,
//!     Choice::DmaBuf { format: DrmFormat::new(DrmFourcc::Nv12, Y_TILED), n_planes: 2 }
//! );
//!
//! // The consumer checks what the producer announced.
//! offer.accept(&outcome.announcement)?;
//!
//! // Importing tiled buffers fails after all: drop that modifier and start over.
//! let mut offer = offer;
//! offer.reject_modifier(DrmFormat::new(DrmFourcc::Nv12, Y_TILED), "EGL import failed")?;
//! let formats: DrmFormatSet = [DrmFormat::linear(DrmFourcc::Nv12)].into_iter().collect();
//! let again = Producer::new(formats).negotiate(&offer, &mut FirstCandidate)?;
//! assert_eq!(
//!     again.announcement.choice,
//!     Choice::DmaBuf { format: DrmFormat::linear(DrmFourcc::Nv12), n_planes: 2 }
//! );
//! println!("{}", again.explanation);
//! # Ok::<(), penstock_video::negotiate::NegotiationError>(())
//! ```

mod builder;
mod caps;
mod consumer;
mod error;
mod offer;
mod outcome;
mod producer;
pub mod source;

#[cfg(test)]
mod tests;

use std::fmt;

use penstock::caps::Fraction;
use penstock::drm::{DRM_FORMAT_MOD_INVALID, DRM_FORMAT_MOD_LINEAR};

pub use builder::OfferBuilder;
pub use error::NegotiationError;
pub use offer::{EntryFormat, Offer, OfferEntry, Rejection, fourcc_from_code};
pub use outcome::{Announcement, Attempt, AttemptResult, Choice, Explanation, Outcome};
pub use producer::{FirstCandidate, Producer, TestAllocate, default_plane_count};

/// Largest width or height (GStreamer stores them as `gint`).
const MAX_DIMENSION: u32 = i32::MAX as u32;

fn write_size(
    f: &mut fmt::Formatter<'_>,
    width: u32,
    height: u32,
    framerate: Option<Fraction>,
) -> fmt::Result {
    write!(f, " {width}x{height}")?;
    if let Some(r) = framerate {
        write!(f, "@{r}")?;
    }
    Ok(())
}

/// A modifier as people read it: `LINEAR`, `INVALID (implicit)` or hexadecimal.
fn modifier_name(m: u64) -> String {
    match m {
        DRM_FORMAT_MOD_LINEAR => "LINEAR".to_owned(),
        DRM_FORMAT_MOD_INVALID => "INVALID (implicit)".to_owned(),
        m => format!("{m:#018x}"),
    }
}

fn modifier_list(ms: &[u64]) -> String {
    ms.iter()
        .map(|&m| modifier_name(m))
        .collect::<Vec<_>>()
        .join(", ")
}
