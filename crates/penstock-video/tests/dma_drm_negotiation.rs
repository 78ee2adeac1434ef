//! A source negotiating DMA_DRM caps through the base source, with the consumer's offer
//! as its sink template and the PipeWire procedure (test allocation) in `fixate`:
//! the way a DMA-BUF source is expected to use `penstock_video::negotiate`.
//!
//! Element and pipeline names are unique per test: the ledger and the thread names are
//! process-wide.

use std::sync::Mutex;
use std::time::Duration;

use penstock::basesrc::{BaseSrc, PushSource};
use penstock::buffer::{Buffer, BufferMut};
use penstock::bus::MessageKind;
use penstock::caps::{Caps, Fraction};
use penstock::drm::{DrmFormat, DrmFourcc};
use penstock::element::{Element, ElementError, ElementFactory, ElementImpl, Registry};
use penstock::event::Event;
use penstock::flow::{FlowError, FlowResult};
use penstock::pad::{Pad, PadDirection, PadPresence, PadTemplate};
use penstock::pipeline::Pipeline;
use penstock_video::frame::info_from_caps;
use penstock_video::negotiate::{Announcement, Offer, Producer};
use penstock_video::{VideoFormat, VideoInfo};

const Y_TILED: u64 = 0x0100_0000_0000_0002;
const X_TILED: u64 = 0x0100_0000_0000_0001;

/// What the source can make: tiled and linear NV12 DMA-BUFs, NV12 in system memory.
const SRC_CAPS: &str = "video/x-raw(memory:DMABuf), format=DMA_DRM, \
                        drm-format={ NV12:0x0100000000000001, NV12:0x0100000000000002, NV12 }, \
                        width=[ 1, 4096 ], height=[ 1, 4096 ], framerate=[ 0/1, 60/1 ]; \
                        video/x-raw, format=NV12, width=[ 1, 4096 ], height=[ 1, 4096 ], \
                        framerate=[ 0/1, 60/1 ]";

/// The same formats as [`SRC_CAPS`], spelled as other producers may write them: LINEAR
/// with an explicit `:0x0`, modifiers without zero padding and in upper case.
const RESPELLED_SRC_CAPS: &str = "video/x-raw(memory:DMABuf), format=DMA_DRM, \
                        drm-format={ NV12:0x100000000000001, NV12:0X100000000000002, NV12:0x0 }, \
                        width=[ 1, 4096 ], height=[ 1, 4096 ], framerate=[ 0/1, 60/1 ]; \
                        video/x-raw, format=NV12, width=[ 1, 4096 ], height=[ 1, 4096 ], \
                        framerate=[ 0/1, 60/1 ]";

/// A DMA-BUF source whose allocator can only allocate some modifiers.
struct DmaSrc {
    caps: &'static str,
    allocatable: Vec<u64>,
    /// What negotiation ended with: the explanation, the fixed caps, the CPU layout.
    explanation: Mutex<Option<String>>,
    negotiated: Mutex<Option<(Caps, Option<VideoInfo>)>>,
    sent: Mutex<bool>,
}

impl DmaSrc {
    fn new(allocatable: Vec<u64>) -> DmaSrc {
        DmaSrc::with_caps(SRC_CAPS, allocatable)
    }

    fn with_caps(caps: &'static str, allocatable: Vec<u64>) -> DmaSrc {
        DmaSrc {
            caps,
            allocatable,
            explanation: Mutex::new(None),
            negotiated: Mutex::new(None),
            sent: Mutex::new(false),
        }
    }

    fn of(e: &Element) -> &DmaSrc {
        e.implementation_as::<BaseSrc<DmaSrc>>()
            .expect("a DMA-BUF source")
            .source()
    }
}

impl PushSource for DmaSrc {
    fn caps(&self, _e: &Element) -> Caps {
        self.caps.parse().unwrap()
    }

    /// The PipeWire procedure: the consumer's preferences first (downstream's caps
    /// intersected with ours), sizes fixed, then the producer intersects, test-allocates
    /// and announces one format.
    fn fixate(&self, element: &Element, caps: Caps) -> Caps {
        let theirs = element
            .src_pad()
            .map(|p| p.peer_caps(None))
            .unwrap_or_else(Caps::new_any);
        let mut preferred = theirs.intersect(&caps);
        preferred.fixate_field_nearest_int("width", 1920);
        preferred.fixate_field_nearest_int("height", 1080);
        preferred.fixate_field_nearest_fraction("framerate", Fraction::new(30, 1));
        let (offer, producer) = match (Offer::from_caps(&preferred), Producer::from_caps(&caps)) {
            (Ok(o), Ok(p)) => (o, p),
            _ => return caps, // not fixed: the base source reports it
        };
        let allocatable = self.allocatable.clone();
        let mut gpu = move |_: DrmFourcc, candidates: &[u64], _: u32, _: u32| {
            candidates
                .iter()
                .copied()
                .find(|m| allocatable.contains(m))
                .ok_or("no candidate can be allocated")
        };
        match producer.negotiate(&offer, &mut gpu) {
            Ok(outcome) => {
                *self.explanation.lock().unwrap() = Some(outcome.to_string());
                outcome.announcement.to_caps()
            }
            Err(e) => {
                *self.explanation.lock().unwrap() = Some(e.to_string());
                caps
            }
        }
    }

    fn set_caps(&self, _e: &Element, caps: &Caps) -> Result<(), ElementError> {
        let info = match info_from_caps(caps) {
            Some(Ok(info)) => Some(info),
            _ => None,
        };
        *self.negotiated.lock().unwrap() = Some((caps.clone(), info));
        Ok(())
    }

    fn create(&self, _e: &Element) -> Result<Buffer, FlowError> {
        let mut sent = self.sent.lock().unwrap();
        if *sent {
            return Err(FlowError::Eos);
        }
        *sent = true;
        Ok(BufferMut::with_size(16)
            .map_err(|_| FlowError::Error)?
            .freeze())
    }
}

/// A consumer whose sink template is its offer; it checks the caps event against it.
#[derive(Default)]
struct OfferSink {
    accepted: Mutex<Vec<Result<String, String>>>,
}

impl ElementImpl for OfferSink {
    fn chain(&self, _element: &Element, _pad: &Pad, _buffer: Buffer) -> FlowResult {
        Ok(())
    }

    fn sink_event(&self, element: &Element, pad: &Pad, event: Event) -> bool {
        match event {
            Event::Caps(caps) => {
                let offer = Offer::from_caps(&pad.template().caps).unwrap();
                let verdict = Announcement::from_caps(&caps)
                    .and_then(|a| offer.accept(&a))
                    .map(|o| o.announcement.to_string())
                    .map_err(|e| e.to_string());
                let ok = verdict.is_ok();
                self.accepted.lock().unwrap().push(verdict);
                ok
            }
            Event::Eos => {
                element.post(MessageKind::Eos);
                true
            }
            _ => true,
        }
    }
}

fn registry(offer: &Offer) -> Registry {
    let mut r = Registry::new();
    r.register(ElementFactory {
        name: "offer-sink",
        long_name: "offer sink",
        klass: "Sink",
        description: "checks the caps event against its offer",
        properties: vec![],
        pad_templates: vec![PadTemplate::new(
            "sink",
            PadDirection::Sink,
            PadPresence::Always,
            offer.to_caps(),
        )],
        create: || Box::new(OfferSink::default()),
    });
    r
}

fn src_factory(create: fn() -> Box<dyn ElementImpl>) -> ElementFactory {
    ElementFactory {
        name: "dma-src",
        long_name: "DMA-BUF source",
        klass: "Source",
        description: "negotiates DMA_DRM caps",
        properties: vec![],
        pad_templates: vec![PadTemplate::new(
            "src",
            PadDirection::Src,
            PadPresence::Always,
            Caps::new_any(),
        )],
        create,
    }
}

/// Runs `dma-src ! offer-sink` and returns the source and sink elements.
fn run(name: &str, offer: &Offer, create: fn() -> Box<dyn ElementImpl>) -> (Element, Element) {
    let mut r = registry(offer);
    r.register(src_factory(create));
    let mut p = Pipeline::new(name);
    let src = r.make("dma-src", Some(&format!("{name}-src"))).unwrap();
    let sink = r.make("offer-sink", Some(&format!("{name}-sink"))).unwrap();
    p.add(src.clone()).unwrap();
    p.add(sink.clone()).unwrap();
    Pipeline::link_pads(&src, None, &sink, None).unwrap();
    p.run(Some(Duration::from_secs(20)), || false, |_| {})
        .unwrap();
    (src, sink)
}

fn verdicts(sink: &Element) -> Vec<Result<String, String>> {
    sink.implementation_as::<OfferSink>()
        .unwrap()
        .accepted
        .lock()
        .unwrap()
        .clone()
}

#[test]
fn a_source_negotiates_a_test_allocated_tiled_modifier() {
    // The consumer prefers Y-tiled, then X-tiled, then LINEAR; the source's allocator
    // cannot make Y-tiled, so the test allocation settles on X-tiled.
    let offer = Offer::builder(1280, 720)
        .framerate(Fraction::new(30, 1))
        .format(VideoFormat::Nv12, [Y_TILED, X_TILED, 0])
        .build()
        .unwrap();
    let (src, sink) = run("dmaneg-tiled", &offer, || {
        Box::new(BaseSrc::new(DmaSrc::new(vec![X_TILED, 0])))
    });
    let (caps, info) = DmaSrc::of(&src).negotiated.lock().unwrap().clone().unwrap();
    assert_eq!(
        caps.to_string(),
        "video/x-raw(memory:DMABuf), format=(string)DMA_DRM, \
         drm-format=(string)NV12:0x0100000000000001, width=(int)1280, height=(int)720, \
         framerate=(fraction)30/1"
    );
    // Tiled buffers have no CPU layout.
    assert_eq!(info, None);
    let explanation = DmaSrc::of(&src)
        .explanation
        .lock()
        .unwrap()
        .clone()
        .unwrap();
    assert!(
        explanation.contains("the test allocation picked 0x0100000000000001"),
        "{explanation}"
    );
    assert_eq!(
        verdicts(&sink),
        [Ok(
            "DMA-BUF NV12:0x0100000000000001 (2 plane(s)) 1280x720@30/1".to_owned()
        )]
    );
}

#[test]
fn a_source_negotiating_linear_dma_drm_gets_a_video_info() {
    let offer = Offer::builder(64, 48)
        .format(VideoFormat::Nv12, [Y_TILED, 0])
        .build()
        .unwrap();
    let (src, sink) = run("dmaneg-linear", &offer, || {
        Box::new(BaseSrc::new(DmaSrc::new(vec![0])))
    });
    let (caps, info) = DmaSrc::of(&src).negotiated.lock().unwrap().clone().unwrap();
    assert_eq!(
        penstock_video::VideoInfoDmaDrm::from_caps(&caps)
            .unwrap()
            .drm_format(),
        DrmFormat::linear(DrmFourcc::Nv12)
    );
    // LINEAR DMA_DRM NV12 is laid out as plain NV12.
    assert_eq!(
        info,
        Some(VideoInfo::new(VideoFormat::Nv12, 64, 48).unwrap())
    );
    assert_eq!(
        verdicts(&sink),
        // The offer left the rate open; the source fixated 30/1.
        [Ok("DMA-BUF NV12 (2 plane(s)) 64x48@30/1".to_owned())]
    );
}

#[test]
fn a_source_without_a_usable_modifier_falls_back_to_system_memory() {
    let offer = Offer::builder(64, 48)
        .format(VideoFormat::Nv12, [Y_TILED, X_TILED])
        .build()
        .unwrap();
    // The allocator fails for both tiled modifiers.
    let (src, sink) = run("dmaneg-shm", &offer, || {
        Box::new(BaseSrc::new(DmaSrc::new(vec![])))
    });
    let (caps, info) = DmaSrc::of(&src).negotiated.lock().unwrap().clone().unwrap();
    assert_eq!(
        caps.to_string(),
        "video/x-raw, format=(string)NV12, width=(int)64, height=(int)48, \
         framerate=(fraction)30/1"
    );
    assert_eq!(
        info,
        Some(VideoInfo::new(VideoFormat::Nv12, 64, 48).unwrap())
    );
    let explanation = DmaSrc::of(&src)
        .explanation
        .lock()
        .unwrap()
        .clone()
        .unwrap();
    assert!(
        explanation.contains("the test allocation failed") && explanation.contains("shared memory"),
        "{explanation}"
    );
    assert_eq!(
        verdicts(&sink),
        [Ok("shared-memory NV12 64x48@30/1".to_owned())]
    );
}

#[test]
fn drm_formats_spelled_differently_still_negotiate_dma_buf() {
    // The source writes LINEAR as NV12:0x0 and its modifiers unpadded; the consumer's
    // offer uses the canonical spellings. They are the same formats, so the DMA-BUF
    // structure intersects and the test allocation runs as with canonical caps.
    let offer = Offer::builder(1280, 720)
        .framerate(Fraction::new(30, 1))
        .format(VideoFormat::Nv12, [Y_TILED, X_TILED, 0])
        .build()
        .unwrap();
    let (src, sink) = run("dmaneg-respelled", &offer, || {
        Box::new(BaseSrc::new(DmaSrc::with_caps(
            RESPELLED_SRC_CAPS,
            vec![X_TILED, 0],
        )))
    });
    let (caps, info) = DmaSrc::of(&src).negotiated.lock().unwrap().clone().unwrap();
    assert_eq!(
        caps.to_string(),
        "video/x-raw(memory:DMABuf), format=(string)DMA_DRM, \
         drm-format=(string)NV12:0x0100000000000001, width=(int)1280, height=(int)720, \
         framerate=(fraction)30/1"
    );
    assert_eq!(info, None);
    assert_eq!(
        verdicts(&sink),
        [Ok(
            "DMA-BUF NV12:0x0100000000000001 (2 plane(s)) 1280x720@30/1".to_owned()
        )]
    );
}
