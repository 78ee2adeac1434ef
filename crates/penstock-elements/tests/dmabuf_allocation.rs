//! videotestsrc under DMA_DRM caps picks its DMA-BUF allocator through
//! `penstock_video::negotiate::source`: the first allocator downstream proposes that
//! can lay out the negotiated format, else the kernel's exporter. The DMA-BUF
//! allocator here is a stand-in backed by plain memory, so this runs on any kernel.
//!
//! Element and pipeline names are unique per test: the ledger is process-wide.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use penstock::allocator::{AllocationParams, Allocator};
use penstock::buffer::Buffer;
use penstock::bus::MessageKind;
use penstock::caps::Caps;
use penstock::drm::{DrmFormat, DrmFormatSet, DrmFourcc};
use penstock::element::{Element, ElementFactory, ElementImpl, Registry};
use penstock::event::Event;
use penstock::flow::FlowResult;
use penstock::ledger;
use penstock::memory::{Memory, MemoryBackend, MemoryError, MemoryFlags, MemoryType};
use penstock::pad::{Pad, PadDirection, PadPresence, PadTemplate};
use penstock::pipeline::Pipeline;
use penstock::query::Query;

const Y_TILED: u64 = 0x0100_0000_0000_0002;
const FRAMES: usize = 3;

struct FakeDmaBuf;
impl MemoryBackend for FakeDmaBuf {
    fn memory_type(&self) -> MemoryType {
        MemoryType::DMABUF
    }
}

/// A DMA-BUF allocator stand-in that lays out `formats` and counts its allocations.
#[derive(Debug)]
struct FakeHeap {
    formats: Vec<DrmFormat>,
    allocations: AtomicU64,
}

impl FakeHeap {
    fn new(formats: Vec<DrmFormat>) -> Arc<FakeHeap> {
        Arc::new(FakeHeap {
            formats,
            allocations: AtomicU64::new(0),
        })
    }
}

impl Allocator for FakeHeap {
    fn name(&self) -> &str {
        "fake-heap"
    }
    fn memory_type(&self) -> MemoryType {
        MemoryType::DMABUF
    }
    fn alloc(&self, size: usize, _p: &AllocationParams) -> Result<Memory, MemoryError> {
        self.allocations.fetch_add(1, Ordering::Relaxed);
        Ok(Memory::with_backend(
            vec![0u8; size],
            FakeDmaBuf,
            MemoryFlags::empty(),
        ))
    }
    fn drm_formats(&self) -> Option<DrmFormatSet> {
        Some(self.formats.iter().copied().collect())
    }
}

/// What the sink saw: the caps event and each buffer's memory types.
#[derive(Default)]
struct Seen {
    caps: Option<Caps>,
    types: Vec<Vec<MemoryType>>,
}

/// A sink that offers tiled then LINEAR NV12 DMA-BUFs and proposes `heaps`.
struct HeapSink {
    heaps: Vec<Arc<FakeHeap>>,
    seen: Mutex<Seen>,
}

impl ElementImpl for HeapSink {
    fn chain(&self, _e: &Element, _p: &Pad, buffer: Buffer) -> FlowResult {
        let types = buffer.memories().iter().map(Memory::memory_type).collect();
        self.seen.lock().unwrap().types.push(types);
        Ok(())
    }
    fn sink_event(&self, e: &Element, _p: &Pad, ev: Event) -> bool {
        match ev {
            Event::Caps(c) => self.seen.lock().unwrap().caps = Some(c),
            Event::Eos => e.post(MessageKind::Eos),
            _ => {}
        }
        true
    }
    fn query(&self, e: &Element, pad: &Pad, q: &mut Query) -> bool {
        match q {
            Query::Allocation(q) => {
                for h in &self.heaps {
                    let h: Arc<dyn Allocator> = Arc::clone(h) as Arc<dyn Allocator>;
                    q.add_allocator(Some(h), AllocationParams::default());
                }
                true
            }
            _ => e.default_query(pad, q),
        }
    }
}

const SINK_CAPS: &str = "video/x-raw(memory:DMABuf), format=DMA_DRM, \
                         drm-format={ NV12:0x0100000000000002, NV12 }, width=64, height=48";

/// Runs `videotestsrc ! heapsink` with the sink proposing `heaps`.
fn run(name: &str, heaps: Vec<Arc<FakeHeap>>) -> (Result<(), String>, Seen, ledger::SiteTotals) {
    // The factory's create is a plain fn: the heaps go through a static, one run at a
    // time.
    static SERIAL: Mutex<()> = Mutex::new(());
    static HEAPS: Mutex<Vec<Arc<FakeHeap>>> = Mutex::new(Vec::new());
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let mut r: Registry = penstock_elements::registry();
    *HEAPS.lock().unwrap() = heaps;
    r.register(ElementFactory {
        name: "heapsink",
        long_name: "sink",
        klass: "Sink",
        description: "test",
        properties: vec![],
        pad_templates: vec![PadTemplate::new(
            "sink",
            PadDirection::Sink,
            PadPresence::Always,
            SINK_CAPS.parse().unwrap(),
        )],
        create: || {
            Box::new(HeapSink {
                heaps: HEAPS.lock().unwrap().clone(),
                seen: Mutex::new(Seen::default()),
            })
        },
    });
    let mut p = Pipeline::new(format!("{name}-pipeline"));
    let s = r.make("videotestsrc", Some(name)).unwrap();
    s.set_property(
        "num-buffers",
        penstock::element::PropValue::Int(FRAMES as i64),
    )
    .unwrap();
    let k = r.make("heapsink", None).unwrap();
    p.add(s.clone()).unwrap();
    p.add(k.clone()).unwrap();
    Pipeline::link_many(&[&s, &k]).unwrap();
    let result = p
        .run(Some(Duration::from_secs(20)), || false, |_| {})
        .map(|_| ())
        .map_err(|e| e.to_string());
    let seen = std::mem::take(
        &mut *k
            .implementation_as::<HeapSink>()
            .unwrap()
            .seen
            .lock()
            .unwrap(),
    );
    (result, seen, ledger::snapshot().site(name))
}

#[test]
fn frames_are_rendered_into_the_proposed_allocator_that_lays_the_format_out() {
    let nv12 = DrmFormat::linear(DrmFourcc::Nv12);
    // The first proposal cannot lay out NV12 (YUYV only), the second can.
    let yuyv_only = FakeHeap::new(vec![DrmFormat::linear(DrmFourcc::Yuyv)]);
    let fits = FakeHeap::new(vec![DrmFormat::new(DrmFourcc::Nv12, Y_TILED), nv12]);
    let (result, seen, site) = run(
        "videotestsrc-dmabuf-proposed",
        vec![Arc::clone(&yuyv_only), Arc::clone(&fits)],
    );
    result.unwrap();
    // videotestsrc renders LINEAR only: the tiled modifier the sink prefers is not
    // announced.
    let caps = seen.caps.expect("a caps event");
    let (s, f) = caps.iter().next().unwrap();
    assert!(f.contains("memory:DMABuf"), "{caps}");
    assert_eq!(s.get_str("drm-format"), Some("NV12"), "{caps}");
    assert_eq!(seen.types.len(), FRAMES);
    assert!(seen.types.iter().all(|t| t == &[MemoryType::DMABUF]));
    assert_eq!(yuyv_only.allocations.load(Ordering::Relaxed), 0);
    assert!(fits.allocations.load(Ordering::Relaxed) > 0);
    assert_eq!(site.copies.count, 0, "{site:?}");
}

#[test]
fn without_a_fitting_proposal_the_kernel_exporter_is_used_or_named() {
    let yuyv_only = FakeHeap::new(vec![DrmFormat::linear(DrmFourcc::Yuyv)]);
    let (result, seen, _) = run("videotestsrc-dmabuf-unfit", vec![Arc::clone(&yuyv_only)]);
    assert_eq!(yuyv_only.allocations.load(Ordering::Relaxed), 0);
    match penstock_linux::dmabuf::software_allocator() {
        // A kernel with an exporter: frames are real DMA-BUFs from it.
        Ok(_) => {
            result.unwrap();
            assert!(seen.types.iter().all(|t| t == &[MemoryType::DMABUF]));
        }
        // None (like our development machines): one error naming both exporters.
        Err(_) => {
            let e = result.unwrap_err();
            assert!(e.contains("/dev/dma_heap/system"), "{e}");
            assert!(e.contains("/dev/udmabuf"), "{e}");
            assert!(seen.types.is_empty());
        }
    }
}
