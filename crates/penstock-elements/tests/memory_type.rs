//! When the caps ask for a memory type (`memory:X`) and downstream proposes an
//! allocator of X, buffers of another type are copied into X by the framework and the
//! copy is recorded with reason `memory-type`; buffers already in X pass untouched.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use penstock::allocator::{AllocationParams, Allocator};
use penstock::basesrc::{BaseSrc, PushSource};
use penstock::buffer::{Buffer, BufferMut};
use penstock::bus::MessageKind;
use penstock::caps::Caps;
use penstock::element::{Element, ElementFactory, ElementImpl, Registry};
use penstock::event::Event;
use penstock::flow::{FlowError, FlowResult};
use penstock::ledger;
use penstock::memory::{Memory, MemoryBackend, MemoryError, MemoryFlags, MemoryType};
use penstock::pad::{Pad, PadTemplate};
use penstock::pipeline::Pipeline;
use penstock::query::Query;
use penstock_video::VideoQueryExt;

const CAPS: &str =
    "video/x-raw(memory:TestMemory), format=GRAY8, width=8, height=4, framerate=30/1";
const FRAMES: u64 = 4;
/// The memory type the caps ask for.
const TEST_MEMORY: MemoryType = MemoryType::new("TestMemory");

struct TestBackend;
impl MemoryBackend for TestBackend {
    fn memory_type(&self) -> MemoryType {
        TEST_MEMORY
    }
}

#[derive(Debug)]
struct TestAllocator;
impl Allocator for TestAllocator {
    fn name(&self) -> &str {
        "test-allocator"
    }
    fn memory_type(&self) -> MemoryType {
        TEST_MEMORY
    }
    fn alloc(&self, size: usize, _p: &AllocationParams) -> Result<Memory, MemoryError> {
        Ok(Memory::with_backend(
            vec![0u8; size],
            TestBackend,
            MemoryFlags::empty(),
        ))
    }
}

/// One received buffer: its memory types and bytes.
type Received = (Vec<MemoryType>, Vec<u8>);

/// What the sink received.
fn received() -> &'static Mutex<Vec<Received>> {
    static R: OnceLock<Mutex<Vec<Received>>> = OnceLock::new();
    R.get_or_init(|| Mutex::new(Vec::new()))
}

/// Sources: `sysmemsrc` makes system memory, `testmemsrc` TestMemory already.
struct Src {
    n: AtomicU64,
    native: bool,
}

impl PushSource for Src {
    fn create(&self, _e: &Element) -> Result<Buffer, FlowError> {
        let n = self.n.fetch_add(1, Ordering::Relaxed);
        if n >= FRAMES {
            return Err(FlowError::Eos);
        }
        let bytes: Vec<u8> = (0..32).map(|i| (i + n as usize * 32) as u8).collect();
        let memory = if self.native {
            Memory::with_backend(bytes, TestBackend, MemoryFlags::empty())
        } else {
            Memory::from_owner(bytes)
        };
        let mut b = BufferMut::from_memory(memory);
        b.set_pts(Some(penstock::ClockTime::from_nseconds(n)));
        Ok(b.freeze())
    }
}

struct Sink;
impl ElementImpl for Sink {
    fn chain(&self, _e: &Element, _p: &Pad, buffer: Buffer) -> FlowResult {
        let types = buffer.memories().iter().map(Memory::memory_type).collect();
        let bytes = buffer.map_read().unwrap().to_vec();
        received().lock().unwrap().push((types, bytes));
        Ok(())
    }
    fn sink_event(&self, e: &Element, _p: &Pad, ev: Event) -> bool {
        if ev == Event::Eos {
            e.post(MessageKind::Eos);
        }
        true
    }
    fn query(&self, e: &Element, pad: &Pad, q: &mut Query) -> bool {
        match q {
            Query::Allocation(q) => {
                q.add_allocator(Some(Arc::new(TestAllocator)), AllocationParams::default());
                q.add_video_meta(None);
                true
            }
            _ => e.default_query(pad, q),
        }
    }
}

fn registry() -> Registry {
    let caps: Caps = CAPS.parse().unwrap();
    let mut r = Registry::new();
    for (name, native) in [("sysmemsrc", false), ("testmemsrc", true)] {
        r.register(ElementFactory {
            name,
            long_name: "source",
            klass: "Source",
            description: "test",
            properties: vec![],
            pad_templates: vec![PadTemplate::always_src(caps.clone())],
            create: if native {
                || {
                    Box::new(BaseSrc::new(Src {
                        n: AtomicU64::new(0),
                        native: true,
                    }))
                }
            } else {
                || {
                    Box::new(BaseSrc::new(Src {
                        n: AtomicU64::new(0),
                        native: false,
                    }))
                }
            },
        });
    }
    r.register(ElementFactory {
        name: "testmemsink",
        long_name: "sink",
        klass: "Sink",
        description: "test",
        properties: vec![],
        pad_templates: vec![PadTemplate::always_sink(caps)],
        create: || Box::new(Sink),
    });
    r
}

fn run(src: &str, name: &str) -> ledger::SiteTotals {
    let r = registry();
    let mut p = Pipeline::new(name);
    let s = r.make(src, Some(name)).unwrap();
    let k = r.make("testmemsink", None).unwrap();
    p.add(s.clone()).unwrap();
    p.add(k.clone()).unwrap();
    Pipeline::link_many(&[&s, &k]).unwrap();
    p.run(Some(Duration::from_secs(20)), || false, |_| {})
        .unwrap();
    ledger::snapshot().site(name)
}

#[test]
fn system_memory_is_copied_into_the_memory_type_the_caps_ask_for() {
    received().lock().unwrap().clear();
    let site = run("sysmemsrc", "sysmemsrc-for-memory-type");
    let copies = site.reason(ledger::CopyReason::MemoryType);
    assert_eq!(copies.count, FRAMES);
    assert_eq!(copies.bytes, FRAMES * 32);
    let got = received().lock().unwrap().clone();
    assert_eq!(got.len(), FRAMES as usize);
    for (n, (types, bytes)) in got.iter().enumerate() {
        assert_eq!(types, &vec!["TestMemory"]);
        let want: Vec<u8> = (0..32).map(|i| (i + n * 32) as u8).collect();
        assert_eq!(bytes, &want);
    }

    // A source that already makes that memory type is not touched.
    received().lock().unwrap().clear();
    let site = run("testmemsrc", "testmemsrc-native");
    assert_eq!(site.copies.count, 0, "{site:?}");
    assert!(
        received()
            .lock()
            .unwrap()
            .iter()
            .all(|(t, _)| t == &vec!["TestMemory"])
    );
}
