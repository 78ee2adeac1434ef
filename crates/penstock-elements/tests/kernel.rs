//! DMA-BUF pipelines against a real kernel exporter (`/dev/dma_heap/system` or
//! `/dev/udmabuf`). The development host has neither; `cargo xtask vm-test` runs this
//! file in a QEMU guest whose kernel has both, with `PENSTOCK_REQUIRE_KERNEL=1`.
//!
//! Without an exporter each test prints
//! `kernel-test NAME: not run on this kernel (no DMA-BUF exporter)` and passes, unless
//! `PENSTOCK_REQUIRE_KERNEL=1` is set: then the absence fails the test.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use penstock::buffer::Buffer;
use penstock::bus::MessageKind;
use penstock::caps::Caps;
use penstock::element::{Element, ElementFactory, ElementImpl, Registry};
use penstock::event::Event;
use penstock::flow::FlowResult;
use penstock::ledger;
use penstock::memory::Memory;
use penstock::pad::{Pad, PadTemplate};
use penstock::sync::MutexExt;

/// Whether this kernel exports DMA-BUFs for software frames (else: not run, or a
/// failure under `PENSTOCK_REQUIRE_KERNEL=1`).
fn kernel_has_exporter(name: &str) -> bool {
    penstock_linux::kernel_test::kernel_has(name, &["/dev/dma_heap/system", "/dev/udmabuf"])
}

/// One received buffer: memory types, whether each memory has an fd, and the bytes.
#[derive(Clone, Debug)]
struct Received {
    types: Vec<penstock::MemoryType>,
    fds: Vec<bool>,
    bytes: Vec<u8>,
}

type Log = Arc<Mutex<Vec<Received>>>;

/// A sink that accepts any caps and records what it gets (mapping each buffer through
/// its map guards: for DMA-BUFs that is the kept mapping plus two sync ioctls).
struct RecordSink(Log);

impl ElementImpl for RecordSink {
    fn chain(&self, _e: &Element, _p: &Pad, buffer: Buffer) -> FlowResult {
        let types = buffer.memories().iter().map(Memory::memory_type).collect();
        let fds = buffer.memories().iter().map(|m| m.fd().is_some()).collect();
        let bytes = buffer.map_read().expect("map a received frame").to_vec();
        self.0.lock().unwrap().push(Received { types, fds, bytes });
        Ok(())
    }
    fn sink_event(&self, e: &Element, _p: &Pad, ev: Event) -> bool {
        if ev == Event::Eos {
            e.post(MessageKind::Eos);
        }
        true
    }
}

static LOG: Mutex<Option<Log>> = Mutex::new(None);
/// The tests share `LOG` (element factories are plain fns): one pipeline at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn registry() -> Registry {
    let mut r = penstock_elements::registry();
    r.register(ElementFactory {
        name: "recordsink",
        long_name: "Recording sink",
        klass: "Sink",
        description: "records memory types and bytes of every buffer",
        properties: vec![],
        pad_templates: vec![PadTemplate::always_sink(Caps::new_any())],
        create: || {
            let log = LOG.lock().unwrap().clone().expect("log set by the test");
            Box::new(RecordSink(log))
        },
    });
    r
}

/// Runs `line ! recordsink` and returns what the sink got and the copies made.
fn run(line: &str) -> (Vec<Received>, ledger::LedgerSnapshot) {
    let _one = ONE_AT_A_TIME.lock_ignore_poison();
    let log: Log = Arc::default();
    *LOG.lock().unwrap() = Some(Arc::clone(&log));
    let text = format!("{line} ! recordsink");
    let before = ledger::snapshot();
    let p = penstock::launch::build(&registry(), &text).unwrap_or_else(|e| panic!("{text}: {e}"));
    p.run(Some(Duration::from_secs(120)), || false, |_| {})
        .unwrap_or_else(|e| panic!("{text}: {e}"));
    drop(p);
    let delta = ledger::snapshot().since(&before);
    let got = log.lock().unwrap().clone();
    (got, delta)
}

#[test]
fn videotestsrc_renders_into_dmabufs_with_zero_copies() {
    if !kernel_has_exporter("videotestsrc_renders_into_dmabufs_with_zero_copies") {
        return;
    }
    const FRAMES: usize = 6;
    for (format, drm) in [("NV12", "NV12"), ("I420", "YU12"), ("BGRx", "XR24")] {
        let (dma, copies) = run(&format!(
            "videotestsrc num-buffers={FRAMES} pattern=ball ! \
             video/x-raw(memory:DMABuf),format=DMA_DRM,drm-format={drm},width=320,height=240"
        ));
        assert_eq!(copies.copies.count, 0, "{format}: copies {copies:?}");
        assert_eq!(dma.len(), FRAMES, "{format}");
        for r in &dma {
            assert!(r.types.iter().all(|t| *t == "DMABuf"), "{format}: {r:?}");
            assert!(r.fds.iter().all(|&f| f), "{format}: memory without fd");
        }
        // The same frames in system memory: the DMA-BUF path must not change a byte.
        let (sys, _) = run(&format!(
            "videotestsrc num-buffers={FRAMES} pattern=ball ! \
             video/x-raw,format={format},width=320,height=240"
        ));
        assert_eq!(sys.len(), FRAMES);
        for (n, (d, s)) in dma.iter().zip(&sys).enumerate() {
            assert!(s.types.iter().all(|t| *t == "SystemMemory"));
            assert!(d.bytes == s.bytes, "{format}: frame {n} differs");
        }
    }
}

#[test]
fn dmabuf_frames_through_tee_and_queues_are_never_copied() {
    if !kernel_has_exporter("dmabuf_frames_through_tee_and_queues_are_never_copied") {
        return;
    }
    let (got, copies) = run("videotestsrc num-buffers=8 ! \
         video/x-raw(memory:DMABuf),format=DMA_DRM,drm-format=NV12,width=640,height=480 ! \
         tee name=t t. ! queue ! fakesink t. ! queue");
    assert_eq!(copies.copies.count, 0, "{copies:?}");
    assert_eq!(got.len(), 8);
    assert!(got.iter().all(|r| r.types == ["DMABuf"]));
}
