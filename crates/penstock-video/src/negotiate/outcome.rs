//! What a negotiation settles on ([`Announcement`], step 3 of the [procedure](super))
//! and why ([`Explanation`]: every entry tried and what happened to it).

use std::fmt;

use penstock::caps::Fraction;
use penstock::drm::DrmFormat;

use super::{Rejection, modifier_list, modifier_name, write_size};
use crate::{MAX_PLANES, VideoFormat};

/// The fixed format a negotiation settled on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Choice {
    /// DMA-BUFs of one fourcc and one modifier, each with `n_planes` planes.
    DmaBuf {
        /// The fourcc and the fixed modifier.
        format: DrmFormat,
        /// Planes (DMA-BUF fds) per buffer.
        n_planes: usize,
    },
    /// Shared memory with frames of `format` in the default layout.
    SharedMemory {
        /// The pixel format.
        format: VideoFormat,
    },
}

/// What the producer announces: the fixed format, size and rate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Announcement {
    /// DMA-BUF with fourcc, modifier and planes, or shared memory with a format.
    pub choice: Choice,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second, if the offer named it.
    pub framerate: Option<Fraction>,
}

impl fmt::Display for Announcement {
    /// `DMA-BUF NV12:0x0100000000000002 (2 planes) 1280x720` or
    /// `shared-memory NV12 1280x720`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.choice {
            Choice::DmaBuf { format, n_planes } => {
                write!(f, "DMA-BUF {format} ({n_planes} plane(s))")?;
            }
            Choice::SharedMemory { format } => write!(f, "shared-memory {format}")?,
        }
        write_size(f, self.width, self.height, self.framerate)
    }
}

/// What happened to one offer entry during negotiation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptResult {
    /// The producer's allocator makes none of the entry's modifiers.
    NoCommonModifier {
        /// The modifiers the allocator makes for this fourcc (ascending).
        producer: Vec<u64>,
    },
    /// The producer does not make this format in shared memory.
    SharedMemoryUnsupported,
    /// Several modifiers were common, and the test allocation failed for all of them.
    TestAllocationFailed {
        /// The candidates tried.
        candidates: Vec<u64>,
        /// The allocator's errors (the explicit modifiers, then the implicit one).
        errors: Vec<String>,
    },
    /// The allocator cannot say how many planes the chosen format has.
    PlaneCountUnknown {
        /// The chosen format.
        format: DrmFormat,
    },
    /// The allocator gave a plane count the format cannot have.
    BadPlaneCount {
        /// The chosen format.
        format: DrmFormat,
        /// The plane count it gave.
        n_planes: usize,
    },
    /// One modifier was common: fixed without a test allocation.
    Fixed {
        /// The modifier.
        modifier: u64,
    },
    /// Several modifiers were common; the test allocation chose one.
    TestAllocated {
        /// The common modifiers.
        candidates: Vec<u64>,
        /// The one chosen.
        modifier: u64,
        /// The error of the explicit test allocation, when the implicit modifier was
        /// chosen because it failed.
        explicit_error: Option<String>,
    },
    /// The producer makes this shared-memory format.
    SharedMemory,
    /// The consumer accepted the announcement of this entry.
    Accepted,
}

/// One offer entry tried during negotiation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Index of the entry in the offer.
    pub index: usize,
    /// The entry, printed.
    pub entry: String,
    /// What happened.
    pub result: AttemptResult,
}

impl Attempt {
    /// Whether this attempt settled the negotiation.
    pub fn is_success(&self) -> bool {
        matches!(
            self.result,
            AttemptResult::Fixed { .. }
                | AttemptResult::TestAllocated { .. }
                | AttemptResult::SharedMemory
                | AttemptResult::Accepted
        )
    }
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "entry {} ({}): ", self.index, self.entry)?;
        match &self.result {
            AttemptResult::NoCommonModifier { producer } if producer.is_empty() => {
                write!(
                    f,
                    "rejected: the producer's allocator does not make this fourcc"
                )
            }
            AttemptResult::NoCommonModifier { producer } => write!(
                f,
                "rejected: no modifier in common; the producer's allocator makes {{{}}}",
                modifier_list(producer)
            ),
            AttemptResult::SharedMemoryUnsupported => {
                write!(f, "rejected: the producer does not make this format")
            }
            AttemptResult::TestAllocationFailed { candidates, errors } => write!(
                f,
                "rejected: the test allocation failed for every common modifier {{{}}}: {}",
                modifier_list(candidates),
                errors.join("; ")
            ),
            AttemptResult::PlaneCountUnknown { format } => write!(
                f,
                "rejected: the allocator does not know how many planes {format} has"
            ),
            AttemptResult::BadPlaneCount { format, n_planes } => write!(
                f,
                "rejected: the allocator says {format} has {n_planes} planes (1 to {MAX_PLANES} \
                 are possible)"
            ),
            AttemptResult::Fixed { modifier } => write!(
                f,
                "chosen: {} is the only common modifier",
                modifier_name(*modifier)
            ),
            AttemptResult::TestAllocated {
                candidates,
                modifier,
                explicit_error,
            } => {
                write!(
                    f,
                    "chosen: the test allocation picked {} among {{{}}}",
                    modifier_name(*modifier),
                    modifier_list(candidates)
                )?;
                match explicit_error {
                    Some(e) => write!(f, " (explicit modifiers failed: {e})"),
                    None => Ok(()),
                }
            }
            AttemptResult::SharedMemory => {
                write!(f, "chosen: falling back to shared memory")
            }
            AttemptResult::Accepted => write!(f, "accepted: the producer announced this entry"),
        }
    }
}

/// Why a negotiation ended as it did: the modifiers the consumer rejected earlier, and
/// every entry tried in order. Prints one line each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Explanation {
    /// Modifiers removed from the offer by the consumer before this negotiation.
    pub rejected: Vec<Rejection>,
    /// The entries tried, in order.
    pub attempts: Vec<Attempt>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut line = |f: &mut fmt::Formatter<'_>| {
            if !std::mem::take(&mut first) {
                f.write_str("\n")?;
            }
            f.write_str("  - ")
        };
        for r in &self.rejected {
            line(f)?;
            write!(f, "{} was rejected by the consumer: {}", r.format, r.reason)?;
        }
        for a in &self.attempts {
            line(f)?;
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

/// The result of a negotiation: the fixed format and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The fixed format the producer announces.
    pub announcement: Announcement,
    /// What was tried before.
    pub explanation: Explanation,
}

impl Outcome {
    /// Whether the buffers are DMA-BUFs.
    pub fn is_dmabuf(&self) -> bool {
        matches!(self.announcement.choice, Choice::DmaBuf { .. })
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "negotiated {}:", self.announcement)?;
        write!(f, "{}", self.explanation)
    }
}
