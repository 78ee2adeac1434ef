//! Tests for DMA-BUF negotiation.

use std::cell::RefCell;

use proptest::prelude::*;

use super::*;
use crate::MAX_PLANES;
use crate::VideoFormat;
use crate::dma_drm::VideoInfoDmaDrm;
use crate::frame::info_from_caps;
use crate::{VideoError, VideoInfo};
use penstock::caps::{Caps, Fraction};
use penstock::drm::{DrmFormat, DrmFormatSet, DrmFourcc, fourcc_chars};

const X_TILED: u64 = 0x0100_0000_0000_0001;
const Y_TILED: u64 = 0x0100_0000_0000_0002;
const CCS: u64 = 0x0100_0000_0000_0004;
const LINEAR: u64 = DRM_FORMAT_MOD_LINEAR;
const INVALID: u64 = DRM_FORMAT_MOD_INVALID;

fn set(formats: &[(DrmFourcc, u64)]) -> DrmFormatSet {
    formats.iter().map(|&(f, m)| DrmFormat::new(f, m)).collect()
}

fn nv12(m: u64) -> DrmFormat {
    DrmFormat::new(DrmFourcc::Nv12, m)
}

/// A test allocation that must not happen.
fn no_test(_: DrmFourcc, c: &[u64], _: u32, _: u32) -> Result<u64, String> {
    panic!("unexpected test allocation with {c:x?}")
}

/// An allocator that can allocate `ok` and prefers them in that order; records calls.
struct Gpu {
    ok: Vec<DrmFormat>,
    calls: Vec<(DrmFourcc, Vec<u64>)>,
}

impl Gpu {
    fn new(ok: &[DrmFormat]) -> Gpu {
        Gpu {
            ok: ok.to_vec(),
            calls: Vec::new(),
        }
    }
}

impl TestAllocate for Gpu {
    type Error = String;

    fn test_allocate(
        &mut self,
        fourcc: DrmFourcc,
        candidates: &[u64],
        _width: u32,
        _height: u32,
    ) -> Result<u64, String> {
        self.calls.push((fourcc, candidates.to_vec()));
        self.ok
            .iter()
            .find(|f| f.fourcc == fourcc && candidates.contains(&f.modifier))
            .map(|f| f.modifier)
            .ok_or_else(|| {
                format!(
                    "cannot allocate {} with {candidates:x?}",
                    fourcc_chars(fourcc)
                )
            })
    }

    fn plane_count(&mut self, format: DrmFormat) -> Option<usize> {
        // Compression metadata adds a plane per colour plane.
        let base = default_plane_count(format)?;
        Some(if format.modifier == CCS {
            base * 2
        } else {
            base
        })
    }
}

#[test]
fn a_single_common_modifier_is_fixed_without_a_test_allocation() {
    let offer = Offer::builder(1280, 720)
        .framerate(Fraction::new(30, 1))
        .format(VideoFormat::Nv12, [Y_TILED, X_TILED, LINEAR])
        .build()
        .unwrap();
    let producer = Producer::new(set(&[(DrmFourcc::Nv12, X_TILED)]));
    let outcome = producer.negotiate(&offer, &mut no_test).unwrap();
    assert_eq!(
        outcome.announcement,
        Announcement {
            choice: Choice::DmaBuf {
                format: nv12(X_TILED),
                n_planes: 2
            },
            width: 1280,
            height: 720,
            framerate: Some(Fraction::new(30, 1)),
        }
    );
    assert_eq!(
        outcome.explanation.attempts,
        [Attempt {
            index: 0,
            entry: "DMA-BUF NV12 {0x0100000000000002, 0x0100000000000001, LINEAR} 1280x720@30/1"
                .into(),
            result: AttemptResult::Fixed { modifier: X_TILED },
        }]
    );
    assert!(outcome.is_dmabuf());
    let accepted = offer.accept(&outcome.announcement).unwrap();
    assert_eq!(accepted.announcement, outcome.announcement);
}

#[test]
fn the_implicit_modifier_alone_is_fixed() {
    // A modifier-less consumer and producer: only DRM_FORMAT_MOD_INVALID is announced.
    let offer = Offer::builder(640, 480)
        .format(VideoFormat::Bgrx, [INVALID])
        .build()
        .unwrap();
    let producer = Producer::new(set(&[(DrmFourcc::Xrgb8888, INVALID)]));
    let outcome = producer.negotiate(&offer, &mut no_test).unwrap();
    assert_eq!(
        outcome.announcement.choice,
        Choice::DmaBuf {
            format: DrmFormat::new(DrmFourcc::Xrgb8888, INVALID),
            n_planes: 1
        }
    );
}

#[test]
fn several_common_modifiers_are_fixed_by_a_test_allocation() {
    let offer = Offer::builder(1920, 1080)
        .format(VideoFormat::Nv12, [Y_TILED, X_TILED, LINEAR, INVALID])
        .build()
        .unwrap();
    let producer = Producer::new(set(&[
        (DrmFourcc::Nv12, LINEAR),
        (DrmFourcc::Nv12, X_TILED),
        (DrmFourcc::Nv12, INVALID),
    ]));
    // The allocator prefers LINEAR over X-tiled (its own preference, not the consumer's).
    let mut gpu = Gpu::new(&[nv12(LINEAR), nv12(X_TILED)]);
    let outcome = producer.negotiate(&offer, &mut gpu).unwrap();
    // The candidates are the common modifiers in the consumer's order, without INVALID.
    assert_eq!(gpu.calls, [(DrmFourcc::Nv12, vec![X_TILED, LINEAR])]);
    assert_eq!(
        outcome.announcement.choice,
        Choice::DmaBuf {
            format: nv12(LINEAR),
            n_planes: 2
        }
    );
    assert_eq!(
        outcome.explanation.attempts[0].result,
        AttemptResult::TestAllocated {
            candidates: vec![X_TILED, LINEAR, INVALID],
            modifier: LINEAR,
            explicit_error: None,
        }
    );
    offer.accept(&outcome.announcement).unwrap();
}

#[test]
fn a_failed_explicit_test_allocation_falls_back_to_the_implicit_modifier() {
    let offer = Offer::builder(64, 64)
        .format(VideoFormat::Nv12, [X_TILED, INVALID])
        .build()
        .unwrap();
    let producer = Producer::new(set(&[
        (DrmFourcc::Nv12, X_TILED),
        (DrmFourcc::Nv12, INVALID),
    ]));
    let mut gpu = Gpu::new(&[nv12(INVALID)]);
    let outcome = producer.negotiate(&offer, &mut gpu).unwrap();
    assert_eq!(
        gpu.calls,
        [
            (DrmFourcc::Nv12, vec![X_TILED]),
            (DrmFourcc::Nv12, vec![INVALID])
        ]
    );
    assert_eq!(
        outcome.announcement.choice,
        Choice::DmaBuf {
            format: nv12(INVALID),
            n_planes: 2
        }
    );
    assert!(matches!(
        &outcome.explanation.attempts[0].result,
        AttemptResult::TestAllocated { modifier: INVALID, explicit_error: Some(e), .. }
            if e.contains("cannot allocate NV12")
    ));
}

#[test]
fn a_failed_test_allocation_moves_on_to_the_next_entry() {
    let offer = Offer::builder(3840, 2160)
        .format(VideoFormat::Nv12, [Y_TILED, X_TILED])
        .format(VideoFormat::Bgrx, [X_TILED, LINEAR])
        .build()
        .unwrap();
    let producer = Producer::new(set(&[
        (DrmFourcc::Nv12, X_TILED),
        (DrmFourcc::Nv12, Y_TILED),
        (DrmFourcc::Xrgb8888, X_TILED),
        (DrmFourcc::Xrgb8888, LINEAR),
    ]));
    // This GPU cannot allocate NV12 at all at this size.
    let bgrx = DrmFormat::new(DrmFourcc::Xrgb8888, X_TILED);
    let mut gpu = Gpu::new(&[bgrx]);
    let outcome = producer.negotiate(&offer, &mut gpu).unwrap();
    assert_eq!(
        outcome.announcement.choice,
        Choice::DmaBuf {
            format: bgrx,
            n_planes: 1
        }
    );
    let attempts = &outcome.explanation.attempts;
    assert_eq!(attempts.len(), 2);
    assert!(matches!(
        &attempts[0].result,
        AttemptResult::TestAllocationFailed { candidates, errors }
            if candidates == &[Y_TILED, X_TILED] && errors.len() == 1
    ));
    assert!(!attempts[0].is_success() && attempts[1].is_success());
    let text = outcome.to_string();
    assert!(
        text.contains("entry 0 (DMA-BUF NV12")
            && text.contains("the test allocation failed for every common modifier"),
        "{text}"
    );
}

#[test]
fn no_modifier_in_common_falls_back_to_shared_memory() {
    let offer = Offer::builder(1280, 720)
        .format(VideoFormat::Nv12, [Y_TILED])
        .format(VideoFormat::I420, [Y_TILED])
        .build()
        .unwrap();
    assert_eq!(offer.entries().len(), 4);
    // The producer's allocator only makes linear buffers (a software allocator), and it
    // can write I420 but not NV12 into shared memory.
    let producer = Producer::new(set(&[
        (DrmFourcc::Nv12, LINEAR),
        (DrmFourcc::Yuv420, LINEAR),
    ]))
    .with_shm_formats([VideoFormat::I420]);
    let outcome = producer.negotiate(&offer, &mut no_test).unwrap();
    assert_eq!(
        outcome.announcement.choice,
        Choice::SharedMemory {
            format: VideoFormat::I420
        }
    );
    assert!(!outcome.is_dmabuf());
    let results: Vec<_> = outcome
        .explanation
        .attempts
        .iter()
        .map(|a| a.result.clone())
        .collect();
    assert_eq!(
        results,
        [
            AttemptResult::NoCommonModifier {
                producer: vec![LINEAR]
            },
            AttemptResult::NoCommonModifier {
                producer: vec![LINEAR]
            },
            AttemptResult::SharedMemoryUnsupported,
            AttemptResult::SharedMemory,
        ]
    );
    let text = outcome.to_string();
    assert!(
        text.starts_with("negotiated shared-memory I420 1280x720:")
            && text.contains("no modifier in common; the producer's allocator makes {LINEAR}")
            && text.contains("falling back to shared memory"),
        "{text}"
    );
    offer.accept(&outcome.announcement).unwrap();
    // A producer without any DMA-BUF allocator falls back too.
    let sysmem = Producer::new(DrmFormatSet::new()).with_shm_formats([VideoFormat::Nv12]);
    let outcome = sysmem.negotiate(&offer, &mut no_test).unwrap();
    assert_eq!(
        outcome.announcement.choice,
        Choice::SharedMemory {
            format: VideoFormat::Nv12
        }
    );
    assert!(
        outcome.explanation.attempts[0]
            .to_string()
            .contains("does not make this fourcc")
    );
}

#[test]
fn nothing_in_common_is_an_error_naming_both_sides() {
    let offer = Offer::builder(16, 16)
        .format(VideoFormat::Nv12, [Y_TILED])
        .build()
        .unwrap();
    let producer = Producer::new(set(&[(DrmFourcc::Xrgb8888, LINEAR)]));
    let err = producer.negotiate(&offer, &mut no_test).unwrap_err();
    let NegotiationError::NoCommonFormat {
        offered,
        supported,
        explanation,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(
        offered,
        "DMA-BUF NV12 {0x0100000000000002} 16x16; shared-memory NV12 16x16"
    );
    assert_eq!(supported, "DMA-BUF XR24, shared-memory BGRx");
    assert_eq!(explanation.attempts.len(), 2);
    let text = err.to_string();
    assert!(
        text.contains("shared-memory entry is the usual fallback"),
        "{text}"
    );
}

#[test]
fn a_rejected_modifier_is_excluded_from_renegotiation() {
    let mut offer = Offer::builder(1280, 720)
        .format(VideoFormat::Nv12, [Y_TILED, LINEAR])
        .build()
        .unwrap();
    let producer = Producer::new(set(&[
        (DrmFourcc::Nv12, Y_TILED),
        (DrmFourcc::Nv12, LINEAR),
    ]));
    let first = producer.negotiate(&offer, &mut FirstCandidate).unwrap();
    assert_eq!(
        first.announcement.choice,
        Choice::DmaBuf {
            format: nv12(Y_TILED),
            n_planes: 2
        }
    );
    offer.accept(&first.announcement).unwrap();

    // Importing Y-tiled buffers fails on the consumer's side.
    offer
        .reject_modifier(nv12(Y_TILED), "eglCreateImage failed")
        .unwrap();
    assert_eq!(
        offer.rejected(),
        [Rejection {
            format: nv12(Y_TILED),
            reason: "eglCreateImage failed".into()
        }]
    );
    // A late announcement of the rejected modifier is refused, naming the reason.
    let err = offer.accept(&first.announcement).unwrap_err();
    assert!(
        matches!(&err, NegotiationError::PreviouslyRejected { reason, .. } if reason == "eglCreateImage failed"),
        "{err:?}"
    );
    // Renegotiation: only LINEAR is left, so it is fixed without a test allocation.
    let second = producer.negotiate(&offer, &mut no_test).unwrap();
    assert_eq!(
        second.announcement.choice,
        Choice::DmaBuf {
            format: nv12(LINEAR),
            n_planes: 2
        }
    );
    let text = second.explanation.to_string();
    assert!(
        text.contains(
            "NV12:0x0100000000000002 was rejected by the consumer: eglCreateImage failed"
        ),
        "{text}"
    );
    offer.accept(&second.announcement).unwrap();

    // Rejecting LINEAR too leaves shared memory.
    offer
        .reject_modifier(nv12(LINEAR), "import failed")
        .unwrap();
    assert_eq!(offer.entries().len(), 1);
    let third = producer.negotiate(&offer, &mut no_test).unwrap();
    assert_eq!(
        third.announcement.choice,
        Choice::SharedMemory {
            format: VideoFormat::Nv12
        }
    );

    // Rejecting what is not offered is an error and changes nothing.
    let before = offer.clone();
    assert!(matches!(
        offer.reject_modifier(nv12(X_TILED), "?"),
        Err(NegotiationError::RejectNotOffered { .. })
    ));
    assert_eq!(offer, before);
}

#[test]
fn rejecting_the_last_format_is_an_error() {
    let mut offer = Offer::builder(8, 8)
        .format(VideoFormat::Nv12, [LINEAR])
        .without_shm_fallback()
        .build()
        .unwrap();
    let before = offer.clone();
    let err = offer
        .reject_modifier(nv12(LINEAR), "import failed")
        .unwrap_err();
    assert!(matches!(err, NegotiationError::OfferExhausted { .. }));
    assert!(err.to_string().contains("add a shared-memory fallback"));
    assert_eq!(offer, before);
}

#[test]
fn the_plane_count_comes_from_the_fixed_format() {
    let offer = Offer::builder(256, 256)
        .format(VideoFormat::Nv12, [CCS, Y_TILED])
        .build()
        .unwrap();
    let producer = Producer::new(set(&[(DrmFourcc::Nv12, CCS), (DrmFourcc::Nv12, Y_TILED)]));
    let mut gpu = Gpu::new(&[nv12(CCS), nv12(Y_TILED)]);
    let outcome = producer.negotiate(&offer, &mut gpu).unwrap();
    // The compressed modifier carries metadata planes: 4 fds, not NV12's 2.
    assert_eq!(
        outcome.announcement.choice,
        Choice::DmaBuf {
            format: nv12(CCS),
            n_planes: 4
        }
    );
    offer.accept(&outcome.announcement).unwrap();

    // A fourcc penstock has no format for: the default plane count is unknown, so the
    // entry is skipped (an allocator would answer from its graphics API).
    let p010 = Offer::builder(256, 256)
        .dmabuf(DrmFourcc::P010, [LINEAR])
        .format(VideoFormat::Nv12, [LINEAR])
        .build()
        .unwrap();
    let producer = Producer::new(set(&[(DrmFourcc::P010, LINEAR), (DrmFourcc::Nv12, LINEAR)]));
    let outcome = producer.negotiate(&p010, &mut no_test).unwrap();
    assert_eq!(
        outcome.explanation.attempts[0].result,
        AttemptResult::PlaneCountUnknown {
            format: DrmFormat::linear(DrmFourcc::P010)
        }
    );
    assert_eq!(
        outcome.announcement.choice,
        Choice::DmaBuf {
            format: nv12(LINEAR),
            n_planes: 2
        }
    );

    // An allocator claiming an impossible plane count is not believed.
    struct Liar;
    impl TestAllocate for Liar {
        type Error = String;
        fn test_allocate(
            &mut self,
            _: DrmFourcc,
            c: &[u64],
            _: u32,
            _: u32,
        ) -> Result<u64, String> {
            Ok(c[0])
        }
        fn plane_count(&mut self, _: DrmFormat) -> Option<usize> {
            Some(7)
        }
    }
    let err = Producer::new(set(&[(DrmFourcc::Nv12, LINEAR)]))
        .with_shm_formats([])
        .negotiate(&p010, &mut Liar)
        .unwrap_err();
    let NegotiationError::NoCommonFormat { explanation, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        explanation.attempts[1].result,
        AttemptResult::BadPlaneCount {
            format: nv12(LINEAR),
            n_planes: 7
        }
    );
}

#[test]
fn a_test_allocation_choosing_an_unoffered_modifier_is_an_error() {
    let offer = Offer::builder(8, 8)
        .format(VideoFormat::Nv12, [Y_TILED, LINEAR])
        .build()
        .unwrap();
    let producer = Producer::new(set(&[
        (DrmFourcc::Nv12, Y_TILED),
        (DrmFourcc::Nv12, LINEAR),
    ]));
    let mut bogus = |_: DrmFourcc, _: &[u64], _: u32, _: u32| Ok::<u64, String>(X_TILED);
    let err = producer.negotiate(&offer, &mut bogus).unwrap_err();
    assert!(
        matches!(
            &err,
            NegotiationError::TestAllocationOutOfRange {
                chosen: X_TILED,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("must pick one of the modifiers it is given")
    );
}

#[test]
fn the_test_allocation_gets_the_entry_size() {
    let offer = Offer::builder(1000, 500)
        .format(VideoFormat::Nv12, [Y_TILED, LINEAR])
        .build()
        .unwrap();
    let producer = Producer::new(set(&[
        (DrmFourcc::Nv12, Y_TILED),
        (DrmFourcc::Nv12, LINEAR),
    ]));
    let seen = RefCell::new(None);
    let mut record = |_: DrmFourcc, c: &[u64], w: u32, h: u32| {
        *seen.borrow_mut() = Some((w, h));
        Ok::<u64, String>(c[c.len() - 1])
    };
    let outcome = producer.negotiate(&offer, &mut record).unwrap();
    assert_eq!(*seen.borrow(), Some((1000, 500)));
    assert_eq!(
        outcome.announcement.choice,
        Choice::DmaBuf {
            format: nv12(LINEAR),
            n_planes: 2
        }
    );
}

#[test]
fn the_consumer_refuses_announcements_it_did_not_offer() {
    let offer = Offer::builder(1280, 720)
        .format(VideoFormat::Nv12, [Y_TILED, LINEAR])
        .build()
        .unwrap();
    let ok = Announcement {
        choice: Choice::DmaBuf {
            format: nv12(LINEAR),
            n_planes: 2,
        },
        width: 1280,
        height: 720,
        framerate: None,
    };
    offer.accept(&ok).unwrap();
    let bad = [
        // A modifier not offered.
        Announcement {
            choice: Choice::DmaBuf {
                format: nv12(X_TILED),
                n_planes: 2,
            },
            ..ok.clone()
        },
        // Another fourcc.
        Announcement {
            choice: Choice::DmaBuf {
                format: DrmFormat::linear(DrmFourcc::Yuv420),
                n_planes: 3,
            },
            ..ok.clone()
        },
        // Another size.
        Announcement {
            width: 1920,
            ..ok.clone()
        },
        // A shared-memory format not offered.
        Announcement {
            choice: Choice::SharedMemory {
                format: VideoFormat::I420,
            },
            ..ok.clone()
        },
    ];
    for a in bad {
        let err = offer.accept(&a).unwrap_err();
        let NegotiationError::NotOffered { announced, offered } = &err else {
            panic!("{a}: {err:?}");
        };
        assert_eq!(announced, &a.to_string());
        assert_eq!(
            offered,
            "DMA-BUF NV12 {0x0100000000000002, LINEAR} 1280x720; shared-memory NV12 1280x720"
        );
    }
    // An entry without a framerate accepts any; one with a framerate only that one.
    let at_30 = Announcement {
        framerate: Some(Fraction::new(30, 1)),
        ..ok.clone()
    };
    offer.accept(&at_30).unwrap();
    let offer_30 = Offer::builder(1280, 720)
        .framerate(Fraction::new(30, 1))
        .format(VideoFormat::Nv12, [LINEAR])
        .build()
        .unwrap();
    offer_30.accept(&at_30).unwrap();
    for framerate in [None, Some(Fraction::new(25, 1))] {
        let a = Announcement {
            framerate,
            ..at_30.clone()
        };
        assert!(matches!(
            offer_30.accept(&a),
            Err(NegotiationError::NotOffered { .. })
        ));
    }
    // Plane counts a LINEAR NV12 buffer cannot have, or no DMA-BUF can have.
    for n_planes in [0, 1, 3, 5] {
        let a = Announcement {
            choice: Choice::DmaBuf {
                format: nv12(LINEAR),
                n_planes,
            },
            ..ok.clone()
        };
        assert!(matches!(
            offer.accept(&a),
            Err(NegotiationError::InvalidPlaneCount { .. })
        ));
    }
    for n_planes in [0, 5] {
        let a = Announcement {
            choice: Choice::DmaBuf {
                format: nv12(Y_TILED),
                n_planes,
            },
            ..ok.clone()
        };
        assert!(matches!(
            offer.accept(&a),
            Err(NegotiationError::InvalidPlaneCount { .. })
        ));
    }
}

#[test]
fn bogus_offers_are_typed_errors() {
    assert_eq!(Offer::new(vec![]), Err(NegotiationError::EmptyOffer));
    assert!(matches!(
        Offer::builder(8, 8).build(),
        Err(NegotiationError::EmptyOffer)
    ));
    for (w, h) in [(0, 8), (8, 0), (0, 0), (u32::MAX, 8), (8, 1 << 31)] {
        assert!(matches!(
            Offer::builder(w, h)
                .format(VideoFormat::Nv12, [LINEAR])
                .build(),
            Err(NegotiationError::InvalidSize { index: 0, .. })
        ));
        assert!(matches!(
            Offer::new(vec![OfferEntry::shared_memory(VideoFormat::Nv12, w, h)]),
            Err(NegotiationError::InvalidSize { .. })
        ));
    }
    // Unknown fourcc codes from outside.
    let err = Offer::builder(8, 8)
        .dmabuf_code(u32::from_le_bytes(*b"QQQQ"), [LINEAR])
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        NegotiationError::UnknownFourcc {
            code: u32::from_le_bytes(*b"QQQQ"),
            chars: "QQQQ".into()
        }
    );
    assert!(matches!(
        fourcc_from_code(0xffff_ff01),
        Err(NegotiationError::UnknownFourcc { chars, .. }) if chars == "????"
    ));
    assert_eq!(
        fourcc_from_code(u32::from_le_bytes(*b"NV12")),
        Ok(DrmFourcc::Nv12)
    );
    // Duplicate entries, also hidden behind different modifier lists.
    let err = Offer::new(vec![
        OfferEntry::dmabuf(DrmFourcc::Nv12, [LINEAR], 8, 8),
        OfferEntry::shared_memory(VideoFormat::Nv12, 8, 8),
        OfferEntry::dmabuf(DrmFourcc::Nv12, [Y_TILED], 8, 8),
    ])
    .unwrap_err();
    assert!(matches!(
        err,
        NegotiationError::DuplicateEntry {
            first: 0,
            second: 2,
            ..
        }
    ));
    assert!(matches!(
        Offer::builder(8, 8)
            .shared_memory(VideoFormat::I420)
            .shared_memory(VideoFormat::I420)
            .build(),
        Err(NegotiationError::DuplicateEntry { .. })
    ));
    // The same format at another size is not a duplicate.
    Offer::new(vec![
        OfferEntry::dmabuf(DrmFourcc::Nv12, [LINEAR], 8, 8),
        OfferEntry::dmabuf(DrmFourcc::Nv12, [LINEAR], 16, 16),
        OfferEntry::dmabuf(DrmFourcc::Nv12, [LINEAR], 16, 16).with_framerate(Fraction::new(30, 1)),
    ])
    .unwrap();
    // An explicit shared-memory entry that is also a fallback is one entry.
    let offer = Offer::builder(8, 8)
        .format(VideoFormat::Nv12, [LINEAR])
        .shared_memory(VideoFormat::Nv12)
        .build()
        .unwrap();
    assert_eq!(offer.entries().len(), 2);
    assert!(matches!(
        Offer::builder(8, 8).format(VideoFormat::Nv12, [LINEAR, Y_TILED, LINEAR]).build(),
        Err(NegotiationError::DuplicateModifier { index: 0, format }) if format == nv12(LINEAR)
    ));
    assert!(matches!(
        Offer::builder(8, 8).format(VideoFormat::Nv12, []).build(),
        Err(NegotiationError::NoModifiers { index: 0, .. })
    ));
    assert!(matches!(
        Offer::new(vec![
            OfferEntry::shared_memory(VideoFormat::Nv12, 8, 8).with_framerate(Fraction::new(-1, 1))
        ]),
        Err(NegotiationError::InvalidFramerate { .. })
    ));
}

#[test]
fn large_offers_are_checked() {
    // Offers may come from untrusted peers: thousands of entries or modifiers are
    // checked without pairwise scans, and a duplicate at the end is still found.
    let n: u32 = if cfg!(miri) { 50 } else { 20_000 };
    let entries: Vec<OfferEntry> = (1..=n)
        .map(|w| OfferEntry::shared_memory(VideoFormat::Nv12, w, 8))
        .collect();
    let offer = Offer::new(entries.clone()).unwrap();
    assert_eq!(offer.entries().len(), n as usize);
    let mut dup = entries;
    dup.push(OfferEntry::shared_memory(VideoFormat::Nv12, n / 2, 8));
    assert!(matches!(
        Offer::new(dup),
        Err(NegotiationError::DuplicateEntry { first, second, .. })
            if first == n as usize / 2 - 1 && second == n as usize
    ));
    let mut modifiers: Vec<u64> = (0..u64::from(n)).map(|m| m << 8).collect();
    modifiers.push(5 << 8);
    assert!(matches!(
        Offer::new(vec![OfferEntry::dmabuf(DrmFourcc::Nv12, modifiers, 8, 8)]),
        Err(NegotiationError::DuplicateModifier { format, .. }) if format == nv12(5 << 8)
    ));
    // A DMA-BUF entry and a shared-memory entry never collide, whatever their codes.
    Offer::new(vec![
        OfferEntry::dmabuf(DrmFourcc::Nv12, [LINEAR], 8, 8),
        OfferEntry::shared_memory(VideoFormat::Nv12, 8, 8),
        OfferEntry::shared_memory(VideoFormat::I420, 8, 8),
    ])
    .unwrap();
}

#[test]
fn offers_convert_to_caps_and_back() {
    let offer = Offer::builder(1280, 720)
        .framerate(Fraction::new(30, 1))
        .format(VideoFormat::Nv12, [Y_TILED, LINEAR, INVALID])
        .format(VideoFormat::I420, [LINEAR])
        .build()
        .unwrap();
    let caps = offer.to_caps();
    assert_eq!(
        caps.to_string(),
        "video/x-raw(memory:DMABuf), format=(string)DMA_DRM, drm-format=(string){ \
         NV12:0x0100000000000002, NV12, NV12:0x00ffffffffffffff }, width=(int)1280, \
         height=(int)720, framerate=(fraction)30/1; \
         video/x-raw(memory:DMABuf), format=(string)DMA_DRM, drm-format=(string)YU12, \
         width=(int)1280, height=(int)720, framerate=(fraction)30/1; \
         video/x-raw, format=(string)NV12, width=(int)1280, height=(int)720, \
         framerate=(fraction)30/1; \
         video/x-raw, format=(string)I420, width=(int)1280, height=(int)720, \
         framerate=(fraction)30/1"
    );
    assert_eq!(Offer::from_caps(&caps).unwrap(), offer);
    let reparsed: Caps = caps.to_string().parse().unwrap();
    assert_eq!(Offer::from_caps(&reparsed).unwrap(), offer);

    // Structures listing several fourccs or format names split into entries.
    let caps: Caps = "video/x-raw(memory:DMABuf), format=DMA_DRM, \
                      drm-format={ NV12:0x0100000000000002, XR24, NV12 }, width=8, height=8; \
                      video/x-raw, format={ NV12, BGRx }, width=8, height=8"
        .parse()
        .unwrap();
    let offer = Offer::from_caps(&caps).unwrap();
    assert_eq!(
        offer.entries(),
        [
            OfferEntry::dmabuf(DrmFourcc::Nv12, [Y_TILED, LINEAR], 8, 8),
            OfferEntry::dmabuf(DrmFourcc::Xrgb8888, [LINEAR], 8, 8),
            OfferEntry::shared_memory(VideoFormat::Nv12, 8, 8),
            OfferEntry::shared_memory(VideoFormat::Bgrx, 8, 8),
        ]
    );

    // What the producer announces is fixed caps a source can negotiate and read.
    let producer = Producer::new(set(&[(DrmFourcc::Nv12, LINEAR)]));
    let outcome = producer.negotiate(&offer, &mut no_test).unwrap();
    let fixed = outcome.announcement.to_caps();
    assert!(fixed.is_fixed());
    assert!(fixed.is_subset(&caps));
    assert_eq!(
        fixed.to_string(),
        "video/x-raw(memory:DMABuf), format=(string)DMA_DRM, drm-format=(string)NV12, \
         width=(int)8, height=(int)8"
    );
    assert_eq!(
        VideoInfoDmaDrm::from_caps(&fixed).unwrap().drm_format(),
        nv12(LINEAR)
    );
    assert_eq!(
        info_from_caps(&fixed),
        Some(Ok(VideoInfo::new(VideoFormat::Nv12, 8, 8).unwrap()))
    );
    let shm = Announcement {
        choice: Choice::SharedMemory {
            format: VideoFormat::Bgrx,
        },
        width: 8,
        height: 8,
        framerate: Some(Fraction::new(25, 1)),
    };
    assert_eq!(
        shm.to_caps().to_string(),
        "video/x-raw, format=(string)BGRx, width=(int)8, height=(int)8, framerate=(fraction)25/1"
    );
    // A tiled announcement has no CPU layout.
    let tiled = Announcement {
        choice: Choice::DmaBuf {
            format: nv12(Y_TILED),
            n_planes: 2,
        },
        ..shm
    };
    assert!(matches!(
        info_from_caps(&tiled.to_caps()),
        Some(Err(VideoError::DmaDrm(_)))
    ));
}

#[test]
fn caps_that_are_no_offer_are_typed_errors() {
    let unsupported = [
        "ANY",
        "audio/x-raw, format=S16LE, width=8, height=8",
        "video/x-raw, format=NV12, width=[ 1, 8 ], height=8",
        "video/x-raw, format=NV12, width=8",
        "video/x-raw, format=NV12, width=0, height=8",
        "video/x-raw, format=NV12, width=8, height=8, framerate=[ 0/1, 30/1 ]",
        "video/x-raw, format=FOO, width=8, height=8",
        "video/x-raw, width=8, height=8",
        "video/x-raw, format={ NV12, 3 }, width=8, height=8",
        "video/x-raw, format=DMA_DRM, drm-format=NV12, width=8, height=8",
        "video/x-raw(memory:VASurface), format=NV12, width=8, height=8",
    ];
    for text in unsupported {
        let caps: Caps = text.parse().unwrap();
        let err = Offer::from_caps(&caps).unwrap_err();
        assert!(
            matches!(err, NegotiationError::UnsupportedCaps { .. }),
            "{text}: {err:?}"
        );
    }
    let bad_drm = [
        "video/x-raw(memory:DMABuf), format=DMA_DRM, width=8, height=8",
        "video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=QQQQ, width=8, height=8",
        "video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format={ NV12, NV12:zz }, width=8, height=8",
    ];
    for text in bad_drm {
        let caps: Caps = text.parse().unwrap();
        let err = Offer::from_caps(&caps).unwrap_err();
        assert!(
            matches!(err, NegotiationError::DmaDrm(_)),
            "{text}: {err:?}"
        );
    }
    let caps: Caps = "EMPTY".parse().unwrap();
    assert_eq!(Offer::from_caps(&caps), Err(NegotiationError::EmptyOffer));
    let dup: Caps = "video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format={ NV12, NV12 }, \
                     width=8, height=8"
        .parse()
        .unwrap();
    assert!(matches!(
        Offer::from_caps(&dup),
        Err(NegotiationError::DuplicateModifier { .. })
    ));
}

#[test]
fn dmabuf_set_offers_every_format_of_a_set() {
    let importable = set(&[
        (DrmFourcc::Nv12, LINEAR),
        (DrmFourcc::Nv12, Y_TILED),
        (DrmFourcc::Xrgb8888, LINEAR),
    ]);
    let offer = Offer::builder(8, 8)
        .dmabuf_set(&importable)
        .build()
        .unwrap();
    assert_eq!(
        offer.entries(),
        // In the set's order: by fourcc code, then modifier.
        [
            OfferEntry::dmabuf(DrmFourcc::Nv12, [LINEAR, Y_TILED], 8, 8),
            OfferEntry::dmabuf(DrmFourcc::Xrgb8888, [LINEAR], 8, 8),
            OfferEntry::shared_memory(VideoFormat::Nv12, 8, 8),
            OfferEntry::shared_memory(VideoFormat::Bgrx, 8, 8),
        ]
    );
}

#[test]
fn announcements_and_producers_from_caps() {
    let producer: Caps = "video/x-raw(memory:DMABuf), format=DMA_DRM, \
                          drm-format={ NV12:0x0100000000000002, NV12 }, width=[ 1, 4096 ], \
                          height=[ 1, 4096 ]; \
                          video/x-raw, format={ NV12, I420 }, width=[ 1, 4096 ], \
                          height=[ 1, 4096 ]; audio/x-raw, rate=48000"
        .parse()
        .unwrap();
    let producer = Producer::from_caps(&producer).unwrap();
    assert_eq!(
        producer.dmabuf_formats(),
        &set(&[(DrmFourcc::Nv12, LINEAR), (DrmFourcc::Nv12, Y_TILED)])
    );
    assert_eq!(
        producer.shm_formats(),
        [VideoFormat::Nv12, VideoFormat::I420]
    );
    let bad: Caps = "video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=NV12:0x"
        .parse()
        .unwrap();
    assert!(matches!(
        Producer::from_caps(&bad),
        Err(NegotiationError::DmaDrm(_))
    ));

    // The consumer reads the producer's choice back from the caps event and checks it.
    let offer = Offer::builder(320, 240)
        .framerate(Fraction::new(30, 1))
        .format(VideoFormat::Nv12, [Y_TILED, LINEAR])
        .build()
        .unwrap();
    let outcome = producer.negotiate(&offer, &mut FirstCandidate).unwrap();
    let caps = outcome.announcement.to_caps();
    let read = Announcement::from_caps(&caps).unwrap();
    assert_eq!(read, outcome.announcement);
    offer.accept(&read).unwrap();
    let shm = Announcement {
        choice: Choice::SharedMemory {
            format: VideoFormat::Nv12,
        },
        ..read.clone()
    };
    assert_eq!(Announcement::from_caps(&shm.to_caps()).unwrap(), shm);

    for text in [
        "video/x-raw, format={ NV12, I420 }, width=8, height=8",
        "video/x-raw, format=FOO, width=8, height=8",
        "video/x-raw, width=8, height=8",
        "video/x-raw(memory:VASurface), format=NV12, width=8, height=8",
        "audio/x-raw, format=NV12, width=8, height=8",
        "video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=P010, width=8, height=8",
        "EMPTY",
    ] {
        let caps: Caps = text.parse().unwrap();
        assert!(
            matches!(
                Announcement::from_caps(&caps),
                Err(NegotiationError::UnsupportedCaps { .. })
            ),
            "{text}"
        );
    }
    let caps: Caps = "video/x-raw, format=DMA_DRM, drm-format=NV12, width=8, height=8"
        .parse()
        .unwrap();
    assert!(matches!(
        Announcement::from_caps(&caps),
        Err(NegotiationError::DmaDrm(_))
    ));
}

#[test]
fn producers_from_allocators() {
    use penstock::allocator::{AllocationParams, Allocator, SystemAllocator};
    use penstock::memory::{Memory, MemoryError};

    /// A DMA-BUF allocator stand-in that reports what it lays out.
    #[derive(Debug)]
    struct Heap;
    impl Allocator for Heap {
        fn name(&self) -> &str {
            "test-heap"
        }
        fn memory_type(&self) -> penstock::MemoryType {
            penstock::MemoryType::DMABUF
        }
        fn alloc(&self, size: usize, params: &AllocationParams) -> Result<Memory, MemoryError> {
            SystemAllocator.alloc(size, params)
        }
        fn drm_formats(&self) -> Option<DrmFormatSet> {
            Some(set(&[
                (DrmFourcc::Nv12, LINEAR),
                (DrmFourcc::Nv12, Y_TILED),
            ]))
        }
    }

    let offer = Offer::builder(32, 32)
        .format(VideoFormat::Nv12, [Y_TILED])
        .format(VideoFormat::Bgrx, [LINEAR])
        .build()
        .unwrap();
    let heap = Producer::from_allocator(&Heap);
    assert_eq!(heap.shm_formats(), [VideoFormat::Nv12]);
    let outcome = heap.negotiate(&offer, &mut no_test).unwrap();
    assert_eq!(
        outcome.announcement.choice,
        Choice::DmaBuf {
            format: nv12(Y_TILED),
            n_planes: 2
        }
    );
    // Plain memory: no DMA-BUF, every format in shared memory.
    let sysmem = Producer::from_allocator(&SystemAllocator);
    assert!(sysmem.dmabuf_formats().is_empty());
    assert_eq!(sysmem.shm_formats(), VideoFormat::ALL);
    let outcome = sysmem.negotiate(&offer, &mut no_test).unwrap();
    assert_eq!(
        outcome.announcement.choice,
        Choice::SharedMemory {
            format: VideoFormat::Nv12
        }
    );
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

const FOURCCS: [DrmFourcc; 4] = [
    DrmFourcc::Nv12,
    DrmFourcc::Yuv420,
    DrmFourcc::Xrgb8888,
    DrmFourcc::P010,
];
const MODIFIERS: [u64; 5] = [LINEAR, X_TILED, Y_TILED, CCS, INVALID];

fn drm_format() -> impl Strategy<Value = DrmFormat> {
    (
        prop::sample::select(&FOURCCS[..]),
        prop::sample::select(&MODIFIERS[..]),
    )
        .prop_map(|(f, m)| DrmFormat::new(f, m))
}

/// Offers built the way consumers build them, with random formats and modifier orders.
fn offer() -> impl Strategy<Value = Offer> {
    (
        prop::collection::vec(
            (
                prop::sample::select(&FOURCCS[..]),
                prop::sample::subsequence(&MODIFIERS[..], 1..=MODIFIERS.len()).prop_shuffle(),
            ),
            0..4,
        ),
        prop::collection::vec(prop::sample::select(&VideoFormat::ALL[..]), 0..3),
        any::<bool>(),
    )
        .prop_filter_map("valid offer", |(dmabuf, shm, fallback)| {
            let mut b = Offer::builder(64, 48);
            for (f, ms) in dmabuf {
                b = b.dmabuf(f, ms);
            }
            for v in shm {
                b = b.shared_memory(v);
            }
            if !fallback {
                b = b.without_shm_fallback();
            }
            b.build().ok()
        })
}

proptest! {
    // Few cases under Miri (slow), and no failure files (Miri isolates the file system).
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Whatever both sides and the allocator do, the outcome is something the consumer
    /// offered (its own check accepts it) and the producer supports, and it is the first
    /// entry that works.
    #[test]
    fn the_outcome_is_offered_and_supported(
        offer in offer(),
        producer_formats in prop::collection::vec(drm_format(), 0..24),
        producer_shm in prop::collection::vec(prop::sample::select(&VideoFormat::ALL[..]), 0..4),
        allocatable in prop::collection::vec(drm_format(), 0..24),
        rejections in prop::collection::vec(drm_format(), 0..3),
    ) {
        let mut offer = offer;
        for r in rejections {
            // Errors (not offered / nothing left) leave the offer unchanged.
            let before = offer.clone();
            if offer.reject_modifier(r, "import failed").is_err() {
                prop_assert_eq!(&offer, &before);
            }
        }
        let producer = Producer::new(producer_formats.into_iter().collect())
            .with_shm_formats(producer_shm);
        let mut gpu = Gpu::new(&allocatable);
        match producer.negotiate(&offer, &mut gpu) {
            Ok(outcome) => {
                let accepted = offer.accept(&outcome.announcement);
                prop_assert!(accepted.is_ok(), "{:?}", accepted);
                match outcome.announcement.choice {
                    Choice::DmaBuf { format, n_planes } => {
                        prop_assert!(producer.dmabuf_formats().contains(&format));
                        prop_assert!(!offer.rejected().iter().any(|r| r.format == format));
                        prop_assert!((1..=MAX_PLANES).contains(&n_planes));
                    }
                    Choice::SharedMemory { format } => {
                        prop_assert!(producer.shm_formats().contains(&format));
                    }
                }
                let attempts = &outcome.explanation.attempts;
                prop_assert!(attempts.last().is_some_and(Attempt::is_success));
                prop_assert!(attempts[..attempts.len() - 1].iter().all(|a| !a.is_success()));
                // Entries are tried in the consumer's order, none skipped.
                let indices: Vec<usize> = attempts.iter().map(|a| a.index).collect();
                prop_assert_eq!(indices, (0..attempts.len()).collect::<Vec<_>>());
            }
            Err(NegotiationError::NoCommonFormat { explanation, .. }) => {
                prop_assert_eq!(explanation.attempts.len(), offer.entries().len());
                prop_assert!(explanation.attempts.iter().all(|a| !a.is_success()));
                for e in offer.entries() {
                    if let EntryFormat::SharedMemory { format } = &e.format {
                        prop_assert!(!producer.shm_formats().contains(format));
                    }
                }
            }
            Err(e) => prop_assert!(false, "unexpected error {e:?}"),
        }
    }

    /// Arbitrary entries (zero sizes, empty lists, duplicates, negative rates) give an
    /// offer or a typed error, never a panic; valid offers survive caps.
    #[test]
    fn arbitrary_entries_never_panic(
        entries in prop::collection::vec(
            (
                prop_oneof![
                    (prop::sample::select(&FOURCCS[..]), prop::collection::vec(prop::sample::select(&MODIFIERS[..]), 0..4))
                        .prop_map(|(fourcc, modifiers)| EntryFormat::DmaBuf { fourcc, modifiers }),
                    prop::sample::select(&VideoFormat::ALL[..])
                        .prop_map(|format| EntryFormat::SharedMemory { format }),
                ],
                prop_oneof![Just(0u32), 1u32..4, Just(u32::MAX)],
                prop_oneof![Just(0u32), 1u32..4, Just(1u32 << 31)],
                prop::option::of((-2i32..3, 1i32..3)),
            ),
            0..5,
        ),
        code in any::<u32>(),
    ) {
        let entries: Vec<OfferEntry> = entries
            .into_iter()
            .map(|(format, width, height, rate)| OfferEntry {
                format,
                width,
                height,
                framerate: rate.map(|(n, d)| Fraction::new(n, d)),
            })
            .collect();
        if let Ok(offer) = Offer::new(entries) {
            prop_assert_eq!(Offer::from_caps(&offer.to_caps()), Ok(offer));
        }
        let _ = Offer::builder(1, 1).dmabuf_code(code, [LINEAR]).build();
    }
}
