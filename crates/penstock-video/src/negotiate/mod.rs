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
//!    allocator can make ([`DrmFormatSet`]).
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

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::dma_drm::{
    DMA_DRM_FORMAT, DRM_FORMAT_FIELD, DmaDrmError, VideoInfoDmaDrm, drm_formats_of,
};
use crate::{MAX_PLANES, VideoFormat};
use penstock::caps::{CAPS_FEATURE_MEMORY_DMABUF, Caps, CapsFeatures, Fraction, Structure, Value};
use penstock::drm::{
    DRM_FORMAT_MOD_INVALID, DRM_FORMAT_MOD_LINEAR, DrmFormat, DrmFormatSet, DrmFourcc, fourcc_chars,
};

#[cfg(test)]
mod tests;

/// Largest width or height (GStreamer stores them as `gint`).
const MAX_DIMENSION: u32 = i32::MAX as u32;

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

/// The memory and pixel format of one offer entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EntryFormat {
    /// DMA-BUFs of `fourcc`, with any of `modifiers` (in the consumer's order of
    /// preference; [`DRM_FORMAT_MOD_INVALID`] for the implicit modifier).
    DmaBuf {
        /// The pixel format.
        fourcc: DrmFourcc,
        /// The acceptable modifiers, preferred first.
        modifiers: Vec<u64>,
    },
    /// CPU-mappable shared memory holding frames of `format` in GStreamer's default
    /// layout.
    SharedMemory {
        /// The pixel format.
        format: VideoFormat,
    },
}

/// One format a consumer offers: memory and pixel format, size and rate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OfferEntry {
    /// Memory and pixel format.
    pub format: EntryFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second, if the consumer constrains it (`None`: any rate).
    pub framerate: Option<Fraction>,
}

impl OfferEntry {
    /// A DMA-BUF entry.
    pub fn dmabuf(
        fourcc: DrmFourcc,
        modifiers: impl IntoIterator<Item = u64>,
        width: u32,
        height: u32,
    ) -> OfferEntry {
        OfferEntry {
            format: EntryFormat::DmaBuf {
                fourcc,
                modifiers: modifiers.into_iter().collect(),
            },
            width,
            height,
            framerate: None,
        }
    }

    /// A shared-memory entry.
    pub fn shared_memory(format: VideoFormat, width: u32, height: u32) -> OfferEntry {
        OfferEntry {
            format: EntryFormat::SharedMemory { format },
            width,
            height,
            framerate: None,
        }
    }

    /// The entry with a framerate.
    pub fn with_framerate(mut self, framerate: Fraction) -> OfferEntry {
        self.framerate = Some(framerate);
        self
    }

    /// What makes two entries duplicates: the same memory, format, size and rate.
    fn slot(&self) -> (bool, u32, u32, u32, Option<Fraction>) {
        let (dmabuf, code) = match &self.format {
            EntryFormat::DmaBuf { fourcc, .. } => (true, *fourcc as u32),
            // Format indices, which no fourcc-keyed slot can meet (the flag differs).
            EntryFormat::SharedMemory { format } => (false, *format as u32),
        };
        (dmabuf, code, self.width, self.height, self.framerate)
    }

    /// The caps structure of the entry (see [`Offer::to_caps`]).
    fn to_structure(&self) -> (Structure, CapsFeatures) {
        let mut s = Structure::new("video/x-raw");
        let features = match &self.format {
            EntryFormat::DmaBuf { fourcc, modifiers } => {
                s.set("format", DMA_DRM_FORMAT);
                let mut drm: Vec<String> = modifiers
                    .iter()
                    .map(|&m| DrmFormat::new(*fourcc, m).to_string())
                    .collect();
                let drm = if drm.len() == 1 {
                    Value::String(drm.remove(0))
                } else {
                    Value::list(drm)
                };
                s.set(DRM_FORMAT_FIELD, drm);
                CapsFeatures::new([CAPS_FEATURE_MEMORY_DMABUF])
            }
            EntryFormat::SharedMemory { format } => {
                s.set("format", format.name());
                CapsFeatures::default()
            }
        };
        set_size(&mut s, self.width, self.height, self.framerate);
        (s, features)
    }
}

fn set_size(s: &mut Structure, width: u32, height: u32, framerate: Option<Fraction>) {
    s.set("width", i32::try_from(width).unwrap_or(i32::MAX));
    s.set("height", i32::try_from(height).unwrap_or(i32::MAX));
    if let Some(f) = framerate {
        s.set("framerate", f);
    }
}

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

impl fmt::Display for OfferEntry {
    /// `DMA-BUF NV12 {0x0100000000000002, LINEAR} 1280x720@30/1` or
    /// `shared-memory NV12 1280x720`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.format {
            EntryFormat::DmaBuf { fourcc, modifiers } => {
                write!(
                    f,
                    "DMA-BUF {} {{{}}}",
                    fourcc_chars(*fourcc),
                    modifier_list(modifiers)
                )?;
            }
            EntryFormat::SharedMemory { format } => write!(f, "shared-memory {format}")?,
        }
        write_size(f, self.width, self.height, self.framerate)
    }
}

/// The DRM fourcc with this code, for codes from outside (IPC, drivers).
///
/// # Errors
/// [`NegotiationError::UnknownFourcc`] when penstock knows no such DRM format.
pub fn fourcc_from_code(code: u32) -> Result<DrmFourcc, NegotiationError> {
    DrmFourcc::try_from(code).map_err(|_| NegotiationError::UnknownFourcc {
        code,
        chars: code
            .to_le_bytes()
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '?'
                }
            })
            .collect(),
    })
}

/// A modifier the consumer rejected after it was negotiated (for example because
/// importing the buffers failed).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rejection {
    /// The fourcc and modifier.
    pub format: DrmFormat,
    /// Why, in words.
    pub reason: String,
}

/// What a consumer accepts, in its order of preference: see the [module docs](self).
///
/// An offer is always valid: at least one entry, sizes from 1 to `i32::MAX`, DMA-BUF
/// entries with at least one modifier and none twice, and no two entries for the same
/// memory, format, size and rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    entries: Vec<OfferEntry>,
    rejected: Vec<Rejection>,
}

impl Offer {
    /// An offer of `entries`, preferred first.
    ///
    /// # Errors
    /// [`NegotiationError::EmptyOffer`], [`NegotiationError::InvalidSize`],
    /// [`NegotiationError::InvalidFramerate`], [`NegotiationError::NoModifiers`],
    /// [`NegotiationError::DuplicateModifier`], [`NegotiationError::DuplicateEntry`].
    pub fn new(entries: Vec<OfferEntry>) -> Result<Offer, NegotiationError> {
        if entries.is_empty() {
            return Err(NegotiationError::EmptyOffer);
        }
        let mut slots = HashMap::with_capacity(entries.len());
        for (index, e) in entries.iter().enumerate() {
            if !(1..=MAX_DIMENSION).contains(&e.width) || !(1..=MAX_DIMENSION).contains(&e.height) {
                return Err(NegotiationError::InvalidSize {
                    index,
                    entry: e.to_string(),
                    width: e.width,
                    height: e.height,
                });
            }
            if let Some(framerate) = e.framerate.filter(|r| r.numer() < 0) {
                return Err(NegotiationError::InvalidFramerate {
                    index,
                    entry: e.to_string(),
                    framerate,
                });
            }
            if let EntryFormat::DmaBuf { fourcc, modifiers } = &e.format {
                if modifiers.is_empty() {
                    return Err(NegotiationError::NoModifiers {
                        index,
                        fourcc: fourcc_chars(*fourcc),
                    });
                }
                // Sets, not pairwise scans: offers may come from untrusted peers.
                let mut seen = HashSet::with_capacity(modifiers.len());
                if let Some(m) = modifiers.iter().find(|&&m| !seen.insert(m)) {
                    return Err(NegotiationError::DuplicateModifier {
                        index,
                        format: DrmFormat::new(*fourcc, *m),
                    });
                }
            }
            if let Some(&first) = slots.get(&e.slot()) {
                return Err(NegotiationError::DuplicateEntry {
                    first,
                    second: index,
                    entry: e.to_string(),
                });
            }
            slots.insert(e.slot(), index);
        }
        Ok(Offer {
            entries,
            rejected: Vec::new(),
        })
    }

    /// A builder of offers of one size: DMA-BUF entries first, then their
    /// shared-memory fallbacks.
    pub fn builder(width: u32, height: u32) -> OfferBuilder {
        OfferBuilder {
            width,
            height,
            framerate: None,
            dmabuf: Vec::new(),
            shm: Vec::new(),
            fallback: true,
            error: None,
        }
    }

    /// The entries, preferred first.
    pub fn entries(&self) -> &[OfferEntry] {
        &self.entries
    }

    /// The modifiers rejected with [`Offer::reject_modifier`], oldest first.
    pub fn rejected(&self) -> &[Rejection] {
        &self.rejected
    }

    /// Removes a modifier the consumer cannot use after all (importing buffers of it
    /// failed), so that the next negotiation picks something else. Entries left without
    /// modifiers are removed; the shared-memory entries stay.
    ///
    /// # Errors
    /// [`NegotiationError::RejectNotOffered`] when no DMA-BUF entry lists `format` (the
    /// offer is unchanged); [`NegotiationError::OfferExhausted`] when nothing would be
    /// left to offer (the offer is unchanged).
    pub fn reject_modifier(
        &mut self,
        format: DrmFormat,
        reason: impl Into<String>,
    ) -> Result<(), NegotiationError> {
        let reason = reason.into();
        let lists = |e: &OfferEntry| {
            matches!(&e.format, EntryFormat::DmaBuf { fourcc, modifiers }
                if *fourcc == format.fourcc && modifiers.contains(&format.modifier))
        };
        if !self.entries.iter().any(lists) {
            return Err(NegotiationError::RejectNotOffered {
                format,
                offered: self.summary(),
            });
        }
        let mut entries = self.entries.clone();
        for e in &mut entries {
            if let EntryFormat::DmaBuf { fourcc, modifiers } = &mut e.format {
                if *fourcc == format.fourcc {
                    modifiers.retain(|&m| m != format.modifier);
                }
            }
        }
        entries.retain(
            |e| !matches!(&e.format, EntryFormat::DmaBuf { modifiers, .. } if modifiers.is_empty()),
        );
        if entries.is_empty() {
            return Err(NegotiationError::OfferExhausted { format, reason });
        }
        self.entries = entries;
        self.rejected.push(Rejection { format, reason });
        Ok(())
    }

    /// Checks the producer's announcement against the offer (the consumer's side of
    /// step 5 in the [module docs](self)).
    ///
    /// # Errors
    /// [`NegotiationError::PreviouslyRejected`] for a modifier the consumer rejected;
    /// [`NegotiationError::NotOffered`] for any other format, modifier, size or rate
    /// that was not offered (an entry without a framerate accepts any rate); [`NegotiationError::InvalidPlaneCount`] for a DMA-BUF
    /// announcement with 0 or more than 4 planes, or a LINEAR one whose plane count is
    /// not its format's.
    pub fn accept(&self, announcement: &Announcement) -> Result<Outcome, NegotiationError> {
        let a = announcement;
        // An entry without a framerate accepts any.
        let size = |e: &OfferEntry| {
            (e.width, e.height) == (a.width, a.height)
                && e.framerate.is_none_or(|r| a.framerate == Some(r))
        };
        let found = self.entries.iter().position(|e| {
            size(e)
                && match (&e.format, &a.choice) {
                    (EntryFormat::DmaBuf { fourcc, modifiers }, Choice::DmaBuf { format, .. }) => {
                        *fourcc == format.fourcc && modifiers.contains(&format.modifier)
                    }
                    (EntryFormat::SharedMemory { format }, Choice::SharedMemory { format: g }) => {
                        format == g
                    }
                    _ => false,
                }
        });
        let Some(index) = found else {
            if let Choice::DmaBuf { format, .. } = &a.choice {
                if let Some(r) = self.rejected.iter().find(|r| r.format == *format) {
                    return Err(NegotiationError::PreviouslyRejected {
                        announced: a.to_string(),
                        format: *format,
                        reason: r.reason.clone(),
                    });
                }
            }
            return Err(NegotiationError::NotOffered {
                announced: a.to_string(),
                offered: self.summary(),
            });
        };
        if let Choice::DmaBuf { format, n_planes } = a.choice {
            check_plane_count(format, n_planes).map_err(|expected| {
                NegotiationError::InvalidPlaneCount {
                    announced: a.to_string(),
                    format,
                    n_planes,
                    expected,
                }
            })?;
        }
        Ok(Outcome {
            announcement: a.clone(),
            explanation: Explanation {
                rejected: self.rejected.clone(),
                attempts: vec![Attempt {
                    index,
                    entry: self.entries[index].to_string(),
                    result: AttemptResult::Accepted,
                }],
            },
        })
    }

    /// The entries, `; `-separated, for messages.
    fn summary(&self) -> String {
        self.entries
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The offer as caps, preferred first: a DMA-BUF entry becomes
    /// `video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format={ NV12:0x…, NV12 },
    /// width=…, height=…[, framerate=…]` (its modifiers in order), a shared-memory entry
    /// `video/x-raw, format=NV12, width=…, height=…[, framerate=…]`.
    ///
    /// GStreamer cannot write the implicit modifier in `drm-format`; penstock writes it
    /// as `NV12:0x00ffffffffffffff` so that it reads back.
    pub fn to_caps(&self) -> Caps {
        let mut caps = Caps::new_empty();
        for e in &self.entries {
            let (s, f) = e.to_structure();
            caps.append_structure_full(s, f);
        }
        caps
    }

    /// Reads an offer from caps as [`Offer::to_caps`] writes them. Each structure must
    /// be `video/x-raw` with fixed `width` and `height` and an optional fixed
    /// `framerate`; a DMA_DRM structure (feature `memory:DMABuf`) gives one DMA-BUF
    /// entry per fourcc of its `drm-format` string or list (modifiers in list order), a
    /// system-memory structure one shared-memory entry per name of its `format` string
    /// or list.
    ///
    /// # Errors
    /// [`NegotiationError::UnsupportedCaps`] for ANY caps and structures of another kind,
    /// [`NegotiationError::DmaDrm`] for a bad `drm-format`, and the errors of
    /// [`Offer::new`].
    pub fn from_caps(caps: &Caps) -> Result<Offer, NegotiationError> {
        if caps.is_any() {
            return Err(NegotiationError::UnsupportedCaps {
                caps: caps.to_string(),
                reason: "ANY caps offer no particular format; list the formats".into(),
            });
        }
        let mut entries = Vec::new();
        for (s, f) in caps {
            let unsupported = |reason: &str| NegotiationError::UnsupportedCaps {
                caps: s.to_string(),
                reason: reason.to_owned(),
            };
            if s.name() != "video/x-raw" {
                return Err(unsupported("only video/x-raw structures can be negotiated"));
            }
            let (width, height, framerate) = fixed_size(s).map_err(unsupported)?;
            if s.get_str("format") == Some(DMA_DRM_FORMAT) {
                if !f.contains(CAPS_FEATURE_MEMORY_DMABUF) {
                    return Err(unsupported(
                        "format=DMA_DRM needs the memory:DMABuf feature",
                    ));
                }
                let text = || s.to_string();
                let mut by_fourcc: Vec<(DrmFourcc, Vec<u64>)> = Vec::new();
                for d in drm_formats_of(s, &text)? {
                    match by_fourcc.iter_mut().find(|(c, _)| *c == d.fourcc) {
                        Some((_, ms)) => ms.push(d.modifier),
                        None => by_fourcc.push((d.fourcc, vec![d.modifier])),
                    }
                }
                for (fourcc, modifiers) in by_fourcc {
                    entries.push(OfferEntry {
                        format: EntryFormat::DmaBuf { fourcc, modifiers },
                        width,
                        height,
                        framerate,
                    });
                }
            } else if f.is_system_memory() {
                let names: Vec<&str> = match s.value("format") {
                    Some(Value::String(n)) => vec![n.as_str()],
                    Some(Value::List(items)) => items
                        .iter()
                        .map(Value::as_str)
                        .collect::<Option<_>>()
                        .ok_or_else(|| unsupported("format must be a string or list of strings"))?,
                    _ => {
                        return Err(unsupported(
                            "shared-memory structures need format=NAME or a list of names",
                        ));
                    }
                };
                for name in names {
                    let format = VideoFormat::from_name(name).ok_or_else(|| {
                        unsupported(&format!(
                            "unknown video format {name:?}; use one of {}",
                            VideoFormat::valid_names()
                        ))
                    })?;
                    entries.push(OfferEntry {
                        format: EntryFormat::SharedMemory { format },
                        width,
                        height,
                        framerate,
                    });
                }
            } else {
                return Err(unsupported(
                    "only memory:DMABuf with format=DMA_DRM and system memory can be negotiated",
                ));
            }
        }
        Offer::new(entries)
    }
}

/// The fixed width, height and optional framerate of a structure.
fn fixed_size(s: &Structure) -> Result<(u32, u32, Option<Fraction>), &'static str> {
    let dim = |field| {
        s.get_int(field)
            .and_then(|v| u32::try_from(v).ok())
            .filter(|&v| v > 0)
    };
    let width = dim("width").ok_or("width must be a fixed int of at least 1; fixate it first")?;
    let height =
        dim("height").ok_or("height must be a fixed int of at least 1; fixate it first")?;
    let framerate = match s.value("framerate") {
        None => None,
        Some(v) => Some(
            v.as_fraction()
                .ok_or("framerate must be a fixed fraction; fixate it first")?,
        ),
    };
    Ok((width, height, framerate))
}

impl fmt::Display for Offer {
    /// The entries, `; `-separated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

/// Builds an [`Offer`] of one size: see [`Offer::builder`].
#[derive(Debug, Clone)]
pub struct OfferBuilder {
    width: u32,
    height: u32,
    framerate: Option<Fraction>,
    dmabuf: Vec<(DrmFourcc, Vec<u64>)>,
    shm: Vec<VideoFormat>,
    fallback: bool,
    error: Option<NegotiationError>,
}

impl OfferBuilder {
    /// Sets the framerate of every entry.
    pub fn framerate(mut self, framerate: Fraction) -> Self {
        self.framerate = Some(framerate);
        self
    }

    /// Offers DMA-BUFs of `format` with `modifiers` (preferred first), and shared memory
    /// of `format` as fallback.
    pub fn format(self, format: VideoFormat, modifiers: impl IntoIterator<Item = u64>) -> Self {
        match format.drm_fourcc() {
            Some(fourcc) => self.dmabuf(fourcc, modifiers),
            // Every penstock format has a fourcc; shared memory is what is left otherwise.
            None => self.shared_memory(format),
        }
    }

    /// Offers DMA-BUFs of `fourcc` with `modifiers` (preferred first). Its
    /// shared-memory fallback is added when penstock has a format for the fourcc.
    pub fn dmabuf(mut self, fourcc: DrmFourcc, modifiers: impl IntoIterator<Item = u64>) -> Self {
        self.dmabuf.push((fourcc, modifiers.into_iter().collect()));
        self
    }

    /// [`OfferBuilder::dmabuf`] for a raw fourcc code (from IPC or a driver); an unknown
    /// code makes [`OfferBuilder::build`] fail with [`NegotiationError::UnknownFourcc`].
    pub fn dmabuf_code(self, code: u32, modifiers: impl IntoIterator<Item = u64>) -> Self {
        match fourcc_from_code(code) {
            Ok(fourcc) => self.dmabuf(fourcc, modifiers),
            Err(e) => {
                let mut b = self;
                b.error.get_or_insert(e);
                b
            }
        }
    }

    /// Offers every format of `set`, one DMA-BUF entry per fourcc with its modifiers
    /// (in ascending order), as a graphics API lists what it can import.
    pub fn dmabuf_set(mut self, set: &DrmFormatSet) -> Self {
        for f in set {
            match self.dmabuf.iter_mut().find(|(c, _)| *c == f.fourcc) {
                Some((_, ms)) => {
                    if !ms.contains(&f.modifier) {
                        ms.push(f.modifier);
                    }
                }
                None => self.dmabuf.push((f.fourcc, vec![f.modifier])),
            }
        }
        self
    }

    /// Offers shared memory of `format` only (after the DMA-BUF fallbacks).
    pub fn shared_memory(mut self, format: VideoFormat) -> Self {
        self.shm.push(format);
        self
    }

    /// Adds no automatic shared-memory fallbacks for the DMA-BUF formats.
    pub fn without_shm_fallback(mut self) -> Self {
        self.fallback = false;
        self
    }

    /// The offer: the DMA-BUF entries in the order given, then the shared-memory
    /// fallbacks of their formats in the same order, then the other shared-memory
    /// entries.
    ///
    /// # Errors
    /// As [`Offer::new`], and [`NegotiationError::UnknownFourcc`] from
    /// [`OfferBuilder::dmabuf_code`].
    pub fn build(self) -> Result<Offer, NegotiationError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let (w, h, r) = (self.width, self.height, self.framerate);
        let with_rate = |mut e: OfferEntry| {
            e.framerate = r;
            e
        };
        let mut entries: Vec<OfferEntry> = self
            .dmabuf
            .iter()
            .map(|(fourcc, ms)| with_rate(OfferEntry::dmabuf(*fourcc, ms.iter().copied(), w, h)))
            .collect();
        let mut fallbacks: Vec<VideoFormat> = Vec::new();
        if self.fallback {
            for (fourcc, _) in &self.dmabuf {
                if let Some(v) = VideoFormat::from_drm_fourcc(*fourcc) {
                    if !fallbacks.contains(&v) {
                        fallbacks.push(v);
                    }
                }
            }
        }
        let mut shm = fallbacks.clone();
        // An explicit entry that is already a fallback is the same entry; explicit
        // duplicates are left for Offer::new to report.
        shm.extend(self.shm.into_iter().filter(|v| !fallbacks.contains(v)));
        entries.extend(
            shm.into_iter()
                .map(|v| with_rate(OfferEntry::shared_memory(v, w, h))),
        );
        Offer::new(entries)
    }
}

/// A test allocation: the producer's allocator picks, among candidate modifiers of a
/// format, the one it can allocate and prefers (step 2 of the [module docs](self)).
///
/// Closures `FnMut(DrmFourcc, &[u64], u32, u32) -> Result<u64, E>` implement it (with
/// the default plane count).
pub trait TestAllocate {
    /// Why a test allocation failed.
    type Error: fmt::Display;

    /// Tries to allocate a `width` x `height` buffer of `fourcc` with one of
    /// `candidate_modifiers` (the consumer's order of preference), and returns the
    /// modifier the allocator chose, which must be one of them. `candidate_modifiers`
    /// is `[DRM_FORMAT_MOD_INVALID]` when asking for an allocation without an explicit
    /// modifier.
    ///
    /// # Errors
    /// When no candidate can be allocated.
    fn test_allocate(
        &mut self,
        fourcc: DrmFourcc,
        candidate_modifiers: &[u64],
        width: u32,
        height: u32,
    ) -> Result<u64, Self::Error>;

    /// The number of planes (DMA-BUF fds) of a buffer of `format`, or `None` if unknown.
    ///
    /// The default is the plane count of the equivalent penstock format
    /// ([`default_plane_count`]), right for LINEAR and for tiled modifiers; allocators
    /// that use modifiers with extra planes (compression metadata such as Intel CCS or
    /// AMD DCC) must answer from their graphics API.
    fn plane_count(&mut self, format: DrmFormat) -> Option<usize> {
        default_plane_count(format)
    }
}

impl<F, E> TestAllocate for F
where
    F: FnMut(DrmFourcc, &[u64], u32, u32) -> Result<u64, E>,
    E: fmt::Display,
{
    type Error = E;

    fn test_allocate(
        &mut self,
        fourcc: DrmFourcc,
        candidate_modifiers: &[u64],
        width: u32,
        height: u32,
    ) -> Result<u64, E> {
        self(fourcc, candidate_modifiers, width, height)
    }
}

/// A [`TestAllocate`] for allocators that can make every format they list (software
/// allocators such as memfd or udmabuf): it picks the first candidate, the consumer's
/// preference.
#[derive(Debug, Clone, Copy, Default)]
pub struct FirstCandidate;

impl TestAllocate for FirstCandidate {
    type Error = std::convert::Infallible;

    fn test_allocate(
        &mut self,
        _fourcc: DrmFourcc,
        candidate_modifiers: &[u64],
        _width: u32,
        _height: u32,
    ) -> Result<u64, Self::Error> {
        // Never called with no candidates; DRM_FORMAT_MOD_INVALID would not be chosen
        // then anyway, as it is not among them.
        Ok(candidate_modifiers
            .first()
            .copied()
            .unwrap_or(DRM_FORMAT_MOD_INVALID))
    }
}

/// The plane count of the penstock format equivalent to `format`'s fourcc, whatever the
/// modifier; `None` for fourccs penstock has no format for.
pub fn default_plane_count(format: DrmFormat) -> Option<usize> {
    VideoFormat::from_drm_format(&format).map(VideoFormat::n_planes)
}

/// Checks an announced plane count: 1 to 4, and the format's own for LINEAR.
fn check_plane_count(format: DrmFormat, n_planes: usize) -> Result<(), String> {
    if format.is_linear() {
        if let Some(v) = VideoFormat::from_drm_format(&format) {
            return if n_planes == v.n_planes() {
                Ok(())
            } else {
                Err(format!("{} plane(s) when LINEAR", v.n_planes()))
            };
        }
    }
    if (1..=MAX_PLANES).contains(&n_planes) {
        Ok(())
    } else {
        Err(format!("1 to {MAX_PLANES} planes"))
    }
}

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

impl Announcement {
    /// Fixed caps: `video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=…, width=…,
    /// height=…[, framerate=…]` or `video/x-raw, format=…, width=…, height=…[,
    /// framerate=…]`. (The plane count is not in caps: it travels with the buffers.)
    pub fn to_caps(&self) -> Caps {
        let mut s = Structure::new("video/x-raw");
        let features = match self.choice {
            Choice::DmaBuf { format, .. } => {
                s.set("format", DMA_DRM_FORMAT);
                s.set(DRM_FORMAT_FIELD, format.to_string());
                CapsFeatures::new([CAPS_FEATURE_MEMORY_DMABUF])
            }
            Choice::SharedMemory { format } => {
                s.set("format", format.name());
                CapsFeatures::default()
            }
        };
        set_size(&mut s, self.width, self.height, self.framerate);
        Caps::from_structure_full(s, features)
    }

    /// Reads fixed caps as [`Announcement::to_caps`] writes them (a consumer receiving
    /// the producer's choice in a caps event). A DMA-BUF announcement gets
    /// [`default_plane_count`] planes; set [`Choice::DmaBuf`]'s `n_planes` when the
    /// buffers say otherwise.
    ///
    /// # Errors
    /// [`NegotiationError::DmaDrm`] for invalid DMA_DRM caps;
    /// [`NegotiationError::UnsupportedCaps`] for caps that are not fixed raw video in
    /// DMA_DRM or system memory, or a fourcc without a known plane count.
    pub fn from_caps(caps: &Caps) -> Result<Announcement, NegotiationError> {
        let unsupported = |reason: &str| NegotiationError::UnsupportedCaps {
            caps: caps.to_string(),
            reason: reason.to_owned(),
        };
        if !caps.is_fixed() {
            return Err(unsupported(
                "an announcement must be fixed caps; fixate them first",
            ));
        }
        let (s, features) = caps
            .iter()
            .next()
            .ok_or_else(|| unsupported("an announcement needs one structure"))?;
        if s.name() != "video/x-raw" {
            return Err(unsupported("only video/x-raw can be negotiated"));
        }
        let (width, height, framerate) = fixed_size(s).map_err(unsupported)?;
        let choice = if s.get_str("format") == Some(DMA_DRM_FORMAT) {
            let format = VideoInfoDmaDrm::from_caps(caps)?.drm_format();
            let n_planes = default_plane_count(format).ok_or_else(|| {
                unsupported(&format!(
                    "the plane count of {format} is unknown; build the Announcement with the \
                     buffers' plane count"
                ))
            })?;
            Choice::DmaBuf { format, n_planes }
        } else if features.is_system_memory() {
            let name = s
                .get_str("format")
                .ok_or_else(|| unsupported("format must be a video format name"))?;
            let format = VideoFormat::from_name(name).ok_or_else(|| {
                unsupported(&format!(
                    "unknown video format {name:?}; use one of {}",
                    VideoFormat::valid_names()
                ))
            })?;
            Choice::SharedMemory { format }
        } else {
            return Err(unsupported(
                "only memory:DMABuf with format=DMA_DRM and system memory can be negotiated",
            ));
        };
        Ok(Announcement {
            choice,
            width,
            height,
            framerate,
        })
    }
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

/// The producer's side: what its allocator can make in DMA-BUFs, and which formats it
/// can write into shared memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Producer {
    dmabuf: DrmFormatSet,
    shm: Vec<VideoFormat>,
}

impl Producer {
    /// A producer whose allocator makes `dmabuf` (see [`Allocator::drm_formats`]); it
    /// can write the LINEAR ones' formats into shared memory too.
    ///
    /// [`Allocator::drm_formats`]: penstock::Allocator::drm_formats
    pub fn new(dmabuf: DrmFormatSet) -> Producer {
        let mut shm: Vec<VideoFormat> = dmabuf
            .iter()
            .filter(|f| f.is_linear())
            .filter_map(VideoFormat::from_drm_format)
            .collect();
        shm.dedup();
        Producer { dmabuf, shm }
    }

    /// A producer allocating from `allocator`: the DMA-BUF formats it reports
    /// ([`Allocator::drm_formats`]) with the LINEAR ones' formats in shared memory too,
    /// or, for an allocator of plain memory, every format in shared memory and no
    /// DMA-BUF.
    ///
    /// [`Allocator::drm_formats`]: penstock::Allocator::drm_formats
    pub fn from_allocator(allocator: &dyn penstock::Allocator) -> Producer {
        match allocator.drm_formats() {
            Some(formats) => Producer::new(formats),
            None => Producer::new(DrmFormatSet::new()).with_shm_formats(VideoFormat::ALL),
        }
    }

    /// A producer that can make what `caps` list (a source's template or `caps()`):
    /// the `drm-format`s of its DMA_DRM structures, and the `format` names of its
    /// system-memory `video/x-raw` structures. Other fields (sizes, rates) are not
    /// looked at, and other structures are ignored.
    ///
    /// # Errors
    /// [`NegotiationError::DmaDrm`] for a DMA_DRM structure without a valid
    /// `drm-format`.
    pub fn from_caps(caps: &Caps) -> Result<Producer, NegotiationError> {
        let mut dmabuf = DrmFormatSet::new();
        let mut shm: Vec<VideoFormat> = Vec::new();
        for (s, f) in caps {
            if s.name() != "video/x-raw" {
                continue;
            }
            if s.get_str("format") == Some(DMA_DRM_FORMAT) {
                if f.contains(CAPS_FEATURE_MEMORY_DMABUF) {
                    let text = || s.to_string();
                    for d in drm_formats_of(s, &text)? {
                        dmabuf.insert(d);
                    }
                }
            } else if f.is_system_memory() {
                let names: Vec<&str> = match s.value("format") {
                    Some(Value::String(n)) => vec![n.as_str()],
                    Some(Value::List(items)) => items.iter().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                };
                for v in names.into_iter().filter_map(VideoFormat::from_name) {
                    if !shm.contains(&v) {
                        shm.push(v);
                    }
                }
            }
        }
        Ok(Producer { dmabuf, shm })
    }

    /// Sets the formats the producer can write into shared memory.
    pub fn with_shm_formats(mut self, formats: impl IntoIterator<Item = VideoFormat>) -> Producer {
        self.shm = formats.into_iter().collect();
        self
    }

    /// The DMA-BUF formats the producer's allocator makes.
    pub fn dmabuf_formats(&self) -> &DrmFormatSet {
        &self.dmabuf
    }

    /// The formats the producer can write into shared memory.
    pub fn shm_formats(&self) -> &[VideoFormat] {
        &self.shm
    }

    fn summary(&self) -> String {
        let mut parts: Vec<String> = self.dmabuf.iter().map(|f| format!("DMA-BUF {f}")).collect();
        parts.extend(self.shm.iter().map(|v| format!("shared-memory {v}")));
        parts.join(", ")
    }

    /// Negotiates the first entry of `offer` the producer can make (steps 2 to 4 of the
    /// [module docs](self)), test-allocating with `test` when a modifier is not fixed.
    ///
    /// # Errors
    /// [`NegotiationError::NoCommonFormat`] with the whole explanation when no entry
    /// works; [`NegotiationError::TestAllocationOutOfRange`] when `test` picks a
    /// modifier it was not given.
    pub fn negotiate<T: TestAllocate + ?Sized>(
        &self,
        offer: &Offer,
        test: &mut T,
    ) -> Result<Outcome, NegotiationError> {
        let mut explanation = Explanation {
            rejected: offer.rejected.clone(),
            attempts: Vec::new(),
        };
        for (index, entry) in offer.entries.iter().enumerate() {
            let result = match &entry.format {
                EntryFormat::DmaBuf { fourcc, modifiers } => {
                    self.try_dmabuf(*fourcc, modifiers, entry, test)?
                }
                EntryFormat::SharedMemory { format } => {
                    if self.shm.contains(format) {
                        Ok((
                            AttemptResult::SharedMemory,
                            Choice::SharedMemory { format: *format },
                        ))
                    } else {
                        Err(AttemptResult::SharedMemoryUnsupported)
                    }
                }
            };
            let attempt = |result| Attempt {
                index,
                entry: entry.to_string(),
                result,
            };
            match result {
                Ok((result, choice)) => {
                    explanation.attempts.push(attempt(result));
                    return Ok(Outcome {
                        announcement: Announcement {
                            choice,
                            width: entry.width,
                            height: entry.height,
                            framerate: entry.framerate,
                        },
                        explanation,
                    });
                }
                Err(result) => explanation.attempts.push(attempt(result)),
            }
        }
        Err(NegotiationError::NoCommonFormat {
            offered: offer.summary(),
            supported: self.summary(),
            explanation,
        })
    }

    /// One DMA-BUF entry: `Ok(Ok(chosen))`, `Ok(Err(why not))`, or a hard error.
    #[allow(clippy::type_complexity)]
    fn try_dmabuf<T: TestAllocate + ?Sized>(
        &self,
        fourcc: DrmFourcc,
        modifiers: &[u64],
        entry: &OfferEntry,
        test: &mut T,
    ) -> Result<Result<(AttemptResult, Choice), AttemptResult>, NegotiationError> {
        let common: Vec<u64> = modifiers
            .iter()
            .copied()
            .filter(|&m| self.dmabuf.contains(&DrmFormat::new(fourcc, m)))
            .collect();
        let (result, modifier) = match common.as_slice() {
            [] => {
                return Ok(Err(AttemptResult::NoCommonModifier {
                    producer: self.dmabuf.modifiers(fourcc).collect(),
                }));
            }
            [m] => (AttemptResult::Fixed { modifier: *m }, *m),
            _ => {
                let explicit: Vec<u64> = common
                    .iter()
                    .copied()
                    .filter(|&m| m != DRM_FORMAT_MOD_INVALID)
                    .collect();
                let out_of_range =
                    |chosen, candidates: &[u64]| NegotiationError::TestAllocationOutOfRange {
                        fourcc: fourcc_chars(fourcc),
                        chosen,
                        candidates: modifier_list(candidates),
                    };
                match test.test_allocate(fourcc, &explicit, entry.width, entry.height) {
                    Ok(m) if explicit.contains(&m) => (
                        AttemptResult::TestAllocated {
                            candidates: common.clone(),
                            modifier: m,
                            explicit_error: None,
                        },
                        m,
                    ),
                    Ok(m) => return Err(out_of_range(m, &explicit)),
                    Err(e) if common.contains(&DRM_FORMAT_MOD_INVALID) => {
                        let implicit = [DRM_FORMAT_MOD_INVALID];
                        match test.test_allocate(fourcc, &implicit, entry.width, entry.height) {
                            Ok(DRM_FORMAT_MOD_INVALID) => (
                                AttemptResult::TestAllocated {
                                    candidates: common.clone(),
                                    modifier: DRM_FORMAT_MOD_INVALID,
                                    explicit_error: Some(e.to_string()),
                                },
                                DRM_FORMAT_MOD_INVALID,
                            ),
                            Ok(m) => return Err(out_of_range(m, &implicit)),
                            Err(e2) => {
                                return Ok(Err(AttemptResult::TestAllocationFailed {
                                    candidates: common,
                                    errors: vec![e.to_string(), e2.to_string()],
                                }));
                            }
                        }
                    }
                    Err(e) => {
                        return Ok(Err(AttemptResult::TestAllocationFailed {
                            candidates: common,
                            errors: vec![e.to_string()],
                        }));
                    }
                }
            }
        };
        let format = DrmFormat::new(fourcc, modifier);
        let Some(n_planes) = test.plane_count(format) else {
            return Ok(Err(AttemptResult::PlaneCountUnknown { format }));
        };
        if check_plane_count(format, n_planes).is_err() {
            return Ok(Err(AttemptResult::BadPlaneCount { format, n_planes }));
        }
        Ok(Ok((result, Choice::DmaBuf { format, n_planes })))
    }
}
