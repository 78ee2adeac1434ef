//! The procedure for a source run by penstock's base source
//! ([`penstock::basesrc`]): DMA_DRM caps fixed by the producer's side of the
//! [procedure](super), and the allocator for them picked the same way.
//!
//! The base source asks downstream for its caps, intersects them with its own and lets
//! the source fix them ([`PushSource::decide_caps`]); only then does it send the caps
//! event and run the allocation query, whose answer names the allocators downstream
//! proposes. So a modifier is fixed in two steps:
//!
//! 1. **Caps** ([`fixate_dma_drm`]): downstream's DMA_DRM structures, in its order of
//!    preference, are the consumer's [`Offer`]; the source's own allocator is the
//!    [`Producer`] ([`Producer::from_allocator`]); [`AllocatorTest`] test-allocates from it
//!    when several modifiers are common; the announced format narrows the caps.
//! 2. **Allocation** ([`allocator_for`]): the first allocator, of those downstream
//!    proposes and then the source's own, that can lay out the fixed format (the same
//!    intersection, on the one announced entry).
//!
//! Downstream's allocators cannot take part in step 1: the allocation query carries
//! fixed caps (as GStreamer's), so they are known only once the modifier is fixed.
//!
//! [`PushSource::decide_caps`]: penstock::basesrc::PushSource::decide_caps

use std::sync::Arc;

use penstock::allocator::{AllocationParams, Allocator};
use penstock::caps::{CAPS_FEATURE_MEMORY_DMABUF, Caps, CapsFeatures, Structure};
use penstock::drm::{DRM_FORMAT_MOD_LINEAR, DrmFormat, DrmFourcc, fourcc_chars};
use penstock::memory::{MemoryError, MemoryType};

use super::{Choice, NegotiationError, Offer, OfferEntry, Outcome, Producer, TestAllocate};
use crate::dma_drm::{DRM_FORMAT_FIELD, drm_formats_of, is_dma_drm};
use crate::{VideoError, VideoFormat, VideoInfo};

/// Why a test allocation from a penstock [`Allocator`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestAllocationError {
    /// None of the candidates is LINEAR: an [`Allocator`] allocates bytes, and lays
    /// them out LINEAR; a tiled or compressed layout needs a graphics API (GBM,
    /// Vulkan) that takes the fourcc, modifier and size.
    #[error(
        "{allocator} allocates LINEAR buffers only, and LINEAR is not among the \
         candidates [{candidates}]"
    )]
    NoLinearCandidate {
        /// The allocator's name.
        allocator: String,
        /// The candidate modifiers.
        candidates: String,
    },
    /// The fourcc has no penstock format, so the frame size is unknown.
    #[error("{fourcc} has no penstock video format: the size of a frame is unknown")]
    UnknownFormat {
        /// The fourcc.
        fourcc: String,
    },
    /// The frame size is invalid.
    #[error(transparent)]
    Size(#[from] VideoError),
    /// The allocation failed.
    #[error("the test allocation from {allocator} failed: {source}")]
    Alloc {
        /// The allocator's name.
        allocator: String,
        /// Its error.
        #[source]
        source: MemoryError,
    },
}

/// A [`TestAllocate`] that allocates one frame, LINEAR, from a penstock [`Allocator`]
/// and drops it: it answers LINEAR when that is a candidate and the allocation
/// succeeds.
#[derive(Debug, Clone, Copy)]
pub struct AllocatorTest<'a>(pub &'a dyn Allocator);

impl TestAllocate for AllocatorTest<'_> {
    type Error = TestAllocationError;

    fn test_allocate(
        &mut self,
        fourcc: DrmFourcc,
        candidate_modifiers: &[u64],
        width: u32,
        height: u32,
    ) -> Result<u64, TestAllocationError> {
        if !candidate_modifiers.contains(&DRM_FORMAT_MOD_LINEAR) {
            return Err(TestAllocationError::NoLinearCandidate {
                allocator: self.0.name().to_owned(),
                candidates: super::modifier_list(candidate_modifiers),
            });
        }
        let format = VideoFormat::from_drm_fourcc(fourcc).ok_or_else(|| {
            TestAllocationError::UnknownFormat {
                fourcc: fourcc_chars(fourcc),
            }
        })?;
        let info = VideoInfo::new(format, width, height)?;
        self.0
            .alloc(info.size(), &AllocationParams::default())
            .map_err(|source| TestAllocationError::Alloc {
                allocator: self.0.name().to_owned(),
                source,
            })?;
        Ok(DRM_FORMAT_MOD_LINEAR)
    }
}

/// Whether the structure is DMA_DRM caps in DMA-BUF memory.
fn is_dmabuf_structure(s: &Structure, f: &CapsFeatures) -> bool {
    f.contains(CAPS_FEATURE_MEMORY_DMABUF) && is_dma_drm(s)
}

/// Whether the first structure of `caps`, the one GStreamer's fixation chooses, is
/// DMA_DRM caps in DMA-BUF memory: when [`fixate_dma_drm`] has a choice to make.
pub fn wants_dma_drm(caps: &Caps) -> bool {
    caps.iter()
        .next()
        .is_some_and(|(s, f)| is_dmabuf_structure(s, f))
}

/// Fixes DMA_DRM caps by the producer's procedure (step 1 of the [module
/// docs](self)).
///
/// `caps` are what the source and downstream have in common, with the source's width,
/// height and framerate fixed in every structure; `downstream` are downstream's caps
/// (their order is the consumer's preference). When the first structure of `caps`,
/// the one GStreamer's fixation would choose, is DMA_DRM in DMA-BUF memory, the
/// DMA_DRM structures of `downstream ∩ caps` are the offer, `producer` makes the
/// choice (testing with `test`), and the result is the offered structure of the
/// announced entry with that one `drm-format`, its other fields fixated. `Ok(None)`:
/// the first structure is not DMA_DRM, there is nothing to choose here.
///
/// # Errors
/// [`NegotiationError::NoCommonFormat`] with the explanation when no offered format can
/// be produced; the errors of [`Offer::new`] and [`Offer::from_caps`] for structures
/// without fixed sizes or with a bad `drm-format`.
pub fn fixate_dma_drm<T: TestAllocate + ?Sized>(
    caps: &Caps,
    downstream: &Caps,
    producer: &Producer,
    test: &mut T,
) -> Result<Option<(Caps, Outcome)>, NegotiationError> {
    if !wants_dma_drm(caps) {
        return Ok(None);
    }
    let preferred = downstream.intersect(caps);
    let offered: Vec<(&Structure, &CapsFeatures)> = preferred
        .iter()
        .filter(|(s, f)| is_dmabuf_structure(s, f))
        .collect();
    // One entry per fourcc, size and rate: structures that differ in other fields
    // (colorimetry, ...) add their modifiers to the first one's entry.
    let mut entries: Vec<OfferEntry> = Vec::new();
    for (s, f) in &offered {
        let one = Caps::from_structure_full((*s).clone(), (*f).clone());
        for e in Offer::from_caps(&one)?.entries() {
            match entries.iter_mut().find(|x| same_slot(x, e)) {
                Some(x) => merge_modifiers(x, e),
                None => entries.push(e.clone()),
            }
        }
    }
    let offer = Offer::new(entries)?;
    let outcome = producer.negotiate(&offer, test)?;
    let a = &outcome.announcement;
    let Choice::DmaBuf { format, .. } = a.choice else {
        // The offer has DMA-BUF entries only.
        return Err(NegotiationError::UnsupportedCaps {
            caps: caps.to_string(),
            reason: format!("the producer announced {a}, which is no DMA-BUF"),
        });
    };
    let (s, f) = offered
        .into_iter()
        .find(|(s, _)| {
            let text = || s.to_string();
            let size = |field| s.get_int(field).and_then(|v| u32::try_from(v).ok());
            (size("width"), size("height")) == (Some(a.width), Some(a.height))
                && drm_formats_of(s, &text).is_ok_and(|ds| ds.contains(&format))
        })
        .ok_or_else(|| NegotiationError::UnsupportedCaps {
            caps: preferred.to_string(),
            reason: format!("no structure offers the announced {a}"),
        })?;
    let mut s = s.clone();
    s.set(DRM_FORMAT_FIELD, format.to_string());
    let fixed = Caps::from_structure_full(s, f.clone()).fixate();
    Ok(Some((fixed, outcome)))
}

/// An allocator with the params to allocate with, as the allocation query proposes them.
pub type ProposedAllocator = (Arc<dyn Allocator>, AllocationParams);

/// Whether two entries are for the same memory, format, size and rate.
fn same_slot(a: &OfferEntry, b: &OfferEntry) -> bool {
    use super::EntryFormat::{DmaBuf, SharedMemory};
    let format = match (&a.format, &b.format) {
        (DmaBuf { fourcc: x, .. }, DmaBuf { fourcc: y, .. }) => x == y,
        (SharedMemory { format: x }, SharedMemory { format: y }) => x == y,
        _ => false,
    };
    format && (a.width, a.height, a.framerate) == (b.width, b.height, b.framerate)
}

/// Adds `from`'s modifiers that `into` lacks, in order.
fn merge_modifiers(into: &mut OfferEntry, from: &OfferEntry) {
    use super::EntryFormat::DmaBuf;
    if let (DmaBuf { modifiers: ms, .. }, DmaBuf { modifiers: new, .. }) =
        (&mut into.format, &from.format)
    {
        for m in new {
            if !ms.contains(m) {
                ms.push(*m);
            }
        }
    }
}

/// The first of `allocators` that can lay out `format` for `width` x `height` frames
/// (step 2 of the [module docs](self)): the producer's procedure run for each, on an
/// offer of that one format. Allocators of other memory than DMA-BUF never fit.
///
/// # Errors
/// [`NegotiationError::InvalidSize`] for a size out of range.
pub fn allocator_for(
    format: DrmFormat,
    width: u32,
    height: u32,
    allocators: impl IntoIterator<Item = ProposedAllocator>,
) -> Result<Option<ProposedAllocator>, NegotiationError> {
    let offer = Offer::new(vec![OfferEntry::dmabuf(
        format.fourcc,
        [format.modifier],
        width,
        height,
    )])?;
    for (allocator, params) in allocators {
        if allocator.memory_type() != MemoryType::DMABUF {
            continue;
        }
        let producer = Producer::from_allocator(allocator.as_ref());
        if producer
            .negotiate(&offer, &mut AllocatorTest(allocator.as_ref()))
            .is_ok()
        {
            return Ok(Some((allocator, params)));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use penstock::SystemAllocator;
    use penstock::drm::{DRM_FORMAT_MOD_INVALID, DrmFormatSet};
    use penstock::memory::{Memory, MemoryBackend, MemoryFlags};

    use super::*;
    use crate::negotiate::AttemptResult;

    const Y_TILED: u64 = 0x0100_0000_0000_0002;

    struct DmaBufBytes;
    impl MemoryBackend for DmaBufBytes {
        fn memory_type(&self) -> MemoryType {
            MemoryType::DMABUF
        }
    }

    /// A DMA-BUF allocator stand-in: lays out `formats`; allocations fail when `fail`.
    #[derive(Debug)]
    struct Heap {
        formats: Vec<DrmFormat>,
        fail: bool,
        allocations: AtomicUsize,
    }

    impl Heap {
        fn new(formats: &[DrmFormat], fail: bool) -> Heap {
            Heap {
                formats: formats.to_vec(),
                fail,
                allocations: AtomicUsize::new(0),
            }
        }
    }

    impl Allocator for Heap {
        fn name(&self) -> &str {
            "test-heap"
        }
        fn memory_type(&self) -> MemoryType {
            MemoryType::DMABUF
        }
        fn alloc(&self, size: usize, _: &AllocationParams) -> Result<Memory, MemoryError> {
            self.allocations.fetch_add(1, Ordering::Relaxed);
            if self.fail {
                return Err(MemoryError::Alloc {
                    size,
                    reason: "the heap is empty".into(),
                });
            }
            Ok(Memory::with_backend(
                vec![0u8; size],
                DmaBufBytes,
                MemoryFlags::empty(),
            ))
        }
        fn drm_formats(&self) -> Option<DrmFormatSet> {
            Some(self.formats.iter().copied().collect())
        }
    }

    fn nv12(m: u64) -> DrmFormat {
        DrmFormat::new(DrmFourcc::Nv12, m)
    }

    fn caps(s: &str) -> Caps {
        s.parse().unwrap()
    }

    /// The source's side: NV12 and YUYV DMA-BUFs (tiled and linear), sizes fixed.
    const OURS: &str = "video/x-raw(memory:DMABuf), format=DMA_DRM, \
        drm-format={ NV12, NV12:0x0100000000000002, YUYV }, width=64, height=48, \
        framerate=30/1; video/x-raw, format=NV12, width=64, height=48, framerate=30/1";

    #[test]
    fn the_consumer_order_and_the_allocator_decide_and_other_fields_stay() {
        // Downstream prefers YUYV, then NV12; it names a colorimetry.
        let downstream = caps(
            "video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format={ YUYV, NV12 }, \
             width=[ 1, 4096 ], height=[ 1, 4096 ], colorimetry=bt601",
        );
        let common = caps(OURS).intersect(&downstream);
        // The allocator lays out NV12 only.
        let heap = Heap::new(&[nv12(DRM_FORMAT_MOD_LINEAR)], false);
        let producer = Producer::from_allocator(&heap);
        let (fixed, outcome) =
            fixate_dma_drm(&common, &downstream, &producer, &mut AllocatorTest(&heap))
                .unwrap()
                .expect("DMA_DRM caps");
        assert!(fixed.is_fixed(), "{fixed}");
        let (s, f) = fixed.iter().next().unwrap();
        assert!(f.contains(CAPS_FEATURE_MEMORY_DMABUF));
        assert_eq!(s.get_str(DRM_FORMAT_FIELD), Some("NV12"), "{fixed}");
        assert_eq!(s.get_str("colorimetry"), Some("bt601"), "{fixed}");
        assert_eq!(
            (s.get_int("width"), s.get_int("height")),
            (Some(64), Some(48))
        );
        // YUYV was tried first and rejected: the allocator does not make it.
        let attempts = &outcome.explanation.attempts;
        assert_eq!(attempts.len(), 2, "{outcome}");
        assert!(attempts[0].entry.contains("YUYV"), "{outcome}");
        assert!(matches!(
            attempts[1].result,
            AttemptResult::Fixed {
                modifier: DRM_FORMAT_MOD_LINEAR
            }
        ));
        // One common modifier: no test allocation.
        assert_eq!(heap.allocations.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn several_common_modifiers_are_test_allocated_from_the_allocator() {
        let downstream = caps(
            "video/x-raw(memory:DMABuf), format=DMA_DRM, \
             drm-format={ NV12:0x0100000000000002, NV12 }, width=64, height=48",
        );
        let common = caps(OURS).intersect(&downstream);
        let heap = Heap::new(&[nv12(Y_TILED), nv12(DRM_FORMAT_MOD_LINEAR)], false);
        let producer = Producer::from_allocator(&heap);
        let (fixed, outcome) =
            fixate_dma_drm(&common, &downstream, &producer, &mut AllocatorTest(&heap))
                .unwrap()
                .unwrap();
        // Bytes are laid out LINEAR: that is what the test allocation answers.
        assert_eq!(
            fixed.structure(0).unwrap().get_str(DRM_FORMAT_FIELD),
            Some("NV12")
        );
        assert!(matches!(
            &outcome.explanation.attempts[0].result,
            AttemptResult::TestAllocated {
                modifier: DRM_FORMAT_MOD_LINEAR,
                ..
            }
        ));
        assert_eq!(heap.allocations.load(Ordering::Relaxed), 1);

        // A failing allocator: nothing can be announced, and the error says why.
        let broken = Heap::new(&[nv12(Y_TILED), nv12(DRM_FORMAT_MOD_LINEAR)], true);
        let producer = Producer::from_allocator(&broken);
        let e = fixate_dma_drm(&common, &downstream, &producer, &mut AllocatorTest(&broken))
            .unwrap_err();
        assert!(matches!(e, NegotiationError::NoCommonFormat { .. }), "{e}");
        assert!(e.to_string().contains("the heap is empty"), "{e}");
    }

    #[test]
    fn caps_choosing_system_memory_are_left_alone() {
        let ours = caps(
            "video/x-raw, format=NV12, width=64, height=48; \
             video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=NV12, width=64, height=48",
        );
        let heap = Heap::new(&[nv12(DRM_FORMAT_MOD_LINEAR)], false);
        let producer = Producer::from_allocator(&heap);
        assert!(!wants_dma_drm(&ours));
        assert!(
            fixate_dma_drm(
                &ours,
                &Caps::new_any(),
                &producer,
                &mut AllocatorTest(&heap)
            )
            .unwrap()
            .is_none()
        );
    }

    #[test]
    fn the_test_allocation_needs_a_linear_candidate() {
        let heap = Heap::new(&[nv12(Y_TILED)], false);
        let e = AllocatorTest(&heap)
            .test_allocate(DrmFourcc::Nv12, &[Y_TILED, DRM_FORMAT_MOD_INVALID], 64, 48)
            .unwrap_err();
        assert!(
            matches!(e, TestAllocationError::NoLinearCandidate { .. }),
            "{e}"
        );
        assert_eq!(heap.allocations.load(Ordering::Relaxed), 0);
        let e = AllocatorTest(&heap)
            .test_allocate(DrmFourcc::Nv12, &[DRM_FORMAT_MOD_LINEAR], 0, 48)
            .unwrap_err();
        assert!(matches!(e, TestAllocationError::Size(_)), "{e}");
    }

    #[test]
    fn the_allocator_is_the_first_that_lays_the_format_out() {
        let yuyv: Arc<dyn Allocator> =
            Arc::new(Heap::new(&[DrmFormat::linear(DrmFourcc::Yuyv)], false));
        let nv12_heap: Arc<dyn Allocator> =
            Arc::new(Heap::new(&[nv12(DRM_FORMAT_MOD_LINEAR)], false));
        let system: Arc<dyn Allocator> = Arc::new(SystemAllocator);
        let padded = AllocationParams {
            padding: 64,
            ..AllocationParams::default()
        };
        let candidates = [
            (Arc::clone(&system), AllocationParams::default()),
            (Arc::clone(&yuyv), AllocationParams::default()),
            (Arc::clone(&nv12_heap), padded),
        ];
        let (chosen, params) = allocator_for(nv12(DRM_FORMAT_MOD_LINEAR), 64, 48, candidates)
            .unwrap()
            .expect("the NV12 heap");
        assert!(Arc::ptr_eq(&chosen, &nv12_heap));
        assert_eq!(params, padded);
        // Nothing lays out tiled NV12.
        let none = allocator_for(
            nv12(Y_TILED),
            64,
            48,
            [(yuyv, AllocationParams::default()), (nv12_heap, padded)],
        )
        .unwrap();
        assert!(none.is_none());
        assert!(matches!(
            allocator_for(nv12(DRM_FORMAT_MOD_LINEAR), 0, 48, []),
            Err(NegotiationError::InvalidSize { .. })
        ));
    }
}
