//! What a consumer offers: entries in its order of preference (step 1 of the
//! [procedure](super)), and their validation.

use std::collections::{HashMap, HashSet};
use std::fmt;

use penstock::caps::Fraction;
use penstock::drm::{DrmFormat, DrmFourcc, fourcc_chars};

use super::{MAX_DIMENSION, NegotiationError, OfferBuilder, modifier_list, write_size};
use crate::VideoFormat;

/// The memory and pixel format of one offer entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EntryFormat {
    /// DMA-BUFs of `fourcc`, with any of `modifiers` (in the consumer's order of
    /// preference; [`DRM_FORMAT_MOD_INVALID`](penstock::drm::DRM_FORMAT_MOD_INVALID)
    /// for the implicit modifier).
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

/// What a consumer accepts, in its order of preference: see the [module docs](super).
///
/// An offer is always valid: at least one entry, sizes from 1 to `i32::MAX`, DMA-BUF
/// entries with at least one modifier and none twice, and no two entries for the same
/// memory, format, size and rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub(super) entries: Vec<OfferEntry>,
    pub(super) rejected: Vec<Rejection>,
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
        OfferBuilder::new(width, height)
    }

    /// The entries, preferred first.
    pub fn entries(&self) -> &[OfferEntry] {
        &self.entries
    }

    /// The modifiers rejected with [`Offer::reject_modifier`], oldest first.
    pub fn rejected(&self) -> &[Rejection] {
        &self.rejected
    }

    /// The entries, `; `-separated, for messages.
    pub(super) fn summary(&self) -> String {
        self.entries
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl fmt::Display for Offer {
    /// The entries, `; `-separated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}
