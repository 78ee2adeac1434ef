//! A pool implementation from outside the core crate, proposed downstream-up through
//! the allocation query: a toy "device" sink owns a pool whose buffers are the
//! device's and are requeued to it when they come back, as a V4L2 output device's are.
//! videotestsrc takes the proposed pool, renders into the device's buffers (zero
//! copies), and every buffer goes back through the device's requeue.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use penstock::buffer::{Buffer, BufferMut, BufferRef};
use penstock::bus::MessageKind;
use penstock::caps::Caps;
use penstock::element::{Element, ElementFactory, ElementImpl, Registry};
use penstock::event::Event;
use penstock::flow::FlowResult;
use penstock::ledger;
use penstock::memory::Memory;
use penstock::pad::{Pad, PadTemplate};
use penstock::pipeline::Pipeline;
use penstock::pool::{BufferPool, PoolConfig, PoolError, PoolImpl};
use penstock::query::Query;
use penstock_video::{VideoMeta, VideoQueryExt};

const FRAMES: usize = 40;
const DEVICE_BUFFERS: u32 = 3;

/// The "device": it hands out buffers of its own memory and counts the requeues.
#[derive(Default)]
struct ToyDevice {
    made: AtomicUsize,
    requeued: AtomicUsize,
    /// Address of each device buffer's memory, to recognise them downstream.
    addresses: Mutex<Vec<usize>>,
}

impl PoolImpl for ToyDevice {
    fn name(&self) -> &str {
        "toy-device"
    }

    fn check_config(&self, config: &PoolConfig) -> Result<(), PoolError> {
        if config.max == 0 || config.max > DEVICE_BUFFERS {
            let mut p = config.clone();
            p.max = DEVICE_BUFFERS;
            p.min = p.min.min(DEVICE_BUFFERS);
            return Err(PoolError::Config {
                reason: format!("the device has {DEVICE_BUFFERS} buffers"),
                proposal: Some(Box::new(p)),
            });
        }
        Ok(())
    }

    fn alloc_buffer(&self, _pool: &str, config: &PoolConfig) -> Result<BufferMut, PoolError> {
        self.made.fetch_add(1, Ordering::SeqCst);
        let memory = Memory::from_owner(vec![0u8; config.size]);
        let address = memory.map_read().expect("readable").as_ptr() as usize;
        self.addresses.lock().unwrap().push(address);
        let mut b = BufferMut::from_memory(memory);
        if let Some(layout) = &config.layout {
            layout.add_metas(&mut b);
        }
        Ok(b)
    }

    fn release_buffer(&self, _buffer: &mut BufferRef) {
        self.requeued.fetch_add(1, Ordering::SeqCst);
    }
}

/// A sink that proposes the device's pool and checks that what arrives is the device's.
struct ToySink {
    pool: BufferPool,
    received: AtomicUsize,
    foreign: AtomicUsize,
}

impl Default for ToySink {
    fn default() -> Self {
        ToySink {
            pool: BufferPool::with_impl("toy-device-pool", ToyDevice::default()),
            received: AtomicUsize::new(0),
            foreign: AtomicUsize::new(0),
        }
    }
}

impl ToySink {
    fn device(&self) -> &ToyDevice {
        self.pool
            .implementation::<ToyDevice>()
            .expect("the toy device")
    }
}

impl ElementImpl for ToySink {
    fn chain(&self, _e: &Element, _pad: &Pad, buffer: Buffer) -> FlowResult {
        let address = buffer.memory(0).unwrap().map_read().unwrap().as_ptr() as usize;
        let ours = self.device().addresses.lock().unwrap().contains(&address);
        if !ours || !buffer.is_pooled() || buffer.meta::<VideoMeta>().is_none() {
            self.foreign.fetch_add(1, Ordering::SeqCst);
        }
        // Rendered into: not all zero.
        assert!(buffer.map_read().unwrap().iter().any(|&b| b != 0));
        self.received.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn sink_event(&self, element: &Element, _pad: &Pad, event: Event) -> bool {
        if event == Event::Eos {
            element.post(MessageKind::Eos);
        }
        true
    }

    fn query(&self, element: &Element, pad: &Pad, query: &mut Query) -> bool {
        match query {
            Query::Allocation(q) => {
                q.add_pool(Some(self.pool.clone()), 0, 2, DEVICE_BUFFERS);
                q.add_video_meta(None);
                true
            }
            _ => element.default_query(pad, query),
        }
    }
}

fn registry() -> Registry {
    let mut r = penstock_elements::registry();
    r.register(ElementFactory {
        name: "toydevicesink",
        long_name: "toy device sink",
        klass: "Sink/Video",
        description: "proposes a device pool that counts its requeues",
        properties: vec![],
        pad_templates: vec![PadTemplate::always_sink(
            "video/x-raw".parse::<Caps>().unwrap(),
        )],
        create: || Box::new(ToySink::default()),
    });
    r
}

#[test]
fn a_device_pool_from_another_crate_is_filled_with_zero_copies() {
    let r = registry();
    let mut p = Pipeline::new("device-pool");
    let src = r
        .make("videotestsrc", Some("device-pool-src"))
        .expect("videotestsrc");
    src.set_property_str("num-buffers", &FRAMES.to_string())
        .unwrap();
    let caps = r.make("capsfilter", None).unwrap();
    caps.set_property_str("caps", "video/x-raw,format=NV12,width=320,height=240")
        .unwrap();
    let sink = r.make("toydevicesink", Some("device-pool-sink")).unwrap();
    for e in [&src, &caps, &sink] {
        p.add(e.clone()).unwrap();
    }
    Pipeline::link_many(&[&src, &caps, &sink]).unwrap();
    p.run(Some(Duration::from_secs(30)), || false, |_| {})
        .expect("the pipeline runs to EOS");

    let toy = sink.implementation_as::<ToySink>().unwrap();
    let device = toy.device();
    assert_eq!(toy.received.load(Ordering::SeqCst), FRAMES);
    assert_eq!(
        toy.foreign.load(Ordering::SeqCst),
        0,
        "every frame in device memory, pooled, with the pool's VideoMeta"
    );
    // The device's limit held: no more buffers than it has, each requeued after use.
    let made = device.made.load(Ordering::SeqCst);
    assert!((1..=DEVICE_BUFFERS as usize).contains(&made), "{made}");
    assert_eq!(device.requeued.load(Ordering::SeqCst), FRAMES);
    assert_eq!(ledger::snapshot().site("device-pool-src").copies.count, 0);
    assert_eq!(toy.pool.stats().outstanding, 0);
}
