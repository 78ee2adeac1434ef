//! The producer's side: intersecting the consumer's offer with what its allocator can
//! make, test-allocating when a modifier is not fixed, announcing one (steps 2 to 4 of
//! the [procedure](super)).

use std::fmt;

use penstock::caps::{CAPS_FEATURE_MEMORY_DMABUF, Caps, Value};
use penstock::drm::{DRM_FORMAT_MOD_INVALID, DrmFormat, DrmFormatSet, DrmFourcc, fourcc_chars};

use super::{
    Announcement, Attempt, AttemptResult, Choice, EntryFormat, Explanation, NegotiationError,
    Offer, OfferEntry, Outcome, modifier_list,
};
use crate::dma_drm::{DMA_DRM_FORMAT, drm_formats_of};
use crate::{MAX_PLANES, VideoFormat};

/// A test allocation: the producer's allocator picks, among candidate modifiers of a
/// format, the one it can allocate and prefers (step 2 of the [module docs](super)).
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
pub(super) fn check_plane_count(format: DrmFormat, n_planes: usize) -> Result<(), String> {
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
    /// [module docs](super)), test-allocating with `test` when a modifier is not fixed.
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
