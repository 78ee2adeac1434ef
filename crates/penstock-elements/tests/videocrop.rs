//! `videocrop` in pipelines: the crop-meta path (no copy, meta values), the copy path
//! (recorded with reason `crop`, the expected bytes), crops chained through metas,
//! passthrough, and bad input. Byte parity with GStreamer's own videocrop is checked
//! live in `gst_parity.rs`.
//!
//! Element names are unique per test: the ledger counts per element name, process-wide.

use std::sync::Mutex;
use std::time::Duration;

use penstock::buffer::Buffer;
use penstock::bus::MessageKind;
use penstock::caps::Caps;
use penstock::element::{Element, ElementFactory, ElementImpl, PropValue, Registry};
use penstock::event::Event;
use penstock::flow::FlowResult;
use penstock::ledger::{self, CopyReason};
use penstock::pad::{Pad, PadTemplate};
use penstock::pipeline::{Pipeline, PipelineError};
use penstock::query::Query;
use penstock_elements::videocrop::crop_copy;
use penstock_video::VideoQueryExt;
use penstock_video::testsrc::{Pattern, RenderOptions, Renderer};
use penstock_video::{VideoCropMeta, VideoMeta};
use penstock_video::{VideoFormat, VideoInfo};

/// A sink that keeps its buffers and caps and answers the allocation query with the
/// metas it was made with.
struct KeepSink {
    metas: &'static [&'static str],
    buffers: Mutex<Vec<Buffer>>,
    caps: Mutex<Option<Caps>>,
    allocation_caps: Mutex<Option<Caps>>,
}

impl KeepSink {
    fn new(metas: &'static [&'static str]) -> KeepSink {
        KeepSink {
            metas,
            buffers: Mutex::default(),
            caps: Mutex::default(),
            allocation_caps: Mutex::default(),
        }
    }
    fn of(p: &Pipeline, name: &str) -> Vec<Buffer> {
        let e = p.by_name(name).unwrap();
        e.implementation_as::<KeepSink>()
            .unwrap()
            .buffers
            .lock()
            .unwrap()
            .clone()
    }
    fn caps_of(p: &Pipeline, name: &str) -> Caps {
        let e = p.by_name(name).unwrap();
        let s = e.implementation_as::<KeepSink>().unwrap();
        s.caps.lock().unwrap().clone().unwrap()
    }
}

impl ElementImpl for KeepSink {
    fn chain(&self, _e: &Element, _pad: &Pad, buffer: Buffer) -> FlowResult {
        self.buffers.lock().unwrap().push(buffer);
        Ok(())
    }
    fn sink_event(&self, element: &Element, _pad: &Pad, event: Event) -> bool {
        match event {
            Event::Eos => element.post(MessageKind::Eos),
            Event::Caps(c) => *self.caps.lock().unwrap() = Some(c),
            _ => {}
        }
        true
    }
    fn query(&self, element: &Element, pad: &Pad, query: &mut Query) -> bool {
        match query {
            Query::Allocation(q) => {
                *self.allocation_caps.lock().unwrap() = Some(q.caps.clone());
                for m in self.metas {
                    match *m {
                        "VideoMeta" => q.add_video_meta(None),
                        "VideoCropMeta" => q.add_video_crop_meta(),
                        other => panic!("no such meta in these tests: {other}"),
                    }
                }
                // It may hold 4 buffers at once.
                q.add_pool(None, 0, 4, 0);
                true
            }
            _ => element.default_query(pad, query),
        }
    }
}

fn sink_factory(name: &'static str, create: fn() -> Box<dyn ElementImpl>) -> ElementFactory {
    ElementFactory {
        name,
        long_name: "keeping sink",
        klass: "Sink",
        description: "keeps buffers, answers the allocation query with some metas",
        properties: vec![],
        pad_templates: vec![PadTemplate::always_sink(Caps::new_any())],
        create,
    }
}

fn registry() -> Registry {
    let mut r = penstock_elements::registry();
    r.register(sink_factory("cropmetasink", || {
        Box::new(KeepSink::new(&["VideoMeta", "VideoCropMeta"]))
    }));
    r.register(sink_factory("videometasink", || {
        Box::new(KeepSink::new(&["VideoMeta"]))
    }));
    r.register(sink_factory("plainsink", || Box::new(KeepSink::new(&[]))));
    r
}

fn run(line: &str) -> (Pipeline, Result<(), PipelineError>) {
    let p = penstock::launch::build(&registry(), line).unwrap_or_else(|e| panic!("{line}: {e}"));
    let r = p.run(Some(Duration::from_secs(20)), || false, |_| {});
    (p, r.map(|_| ()))
}

/// Frame `n` of `pattern` in `info`'s default layout, as videotestsrc draws it.
fn full_frame(pattern: Pattern, info: &VideoInfo, n: u64) -> Vec<u8> {
    let mut r = Renderer::new(pattern, info, RenderOptions::default()).unwrap();
    let mut frame = vec![0u8; info.size()];
    r.render(n, &mut frame, &info.offsets(), &info.strides())
        .unwrap();
    frame
}

fn bytes(b: &Buffer) -> Vec<u8> {
    b.map_read().unwrap().to_vec()
}

const SRC_I420: &str = "videotestsrc num-buffers=3 pattern=snow ! \
                        video/x-raw,format=I420,width=16,height=8,framerate=30/1";

#[test]
fn meta_path_adds_a_crop_meta_and_copies_nothing() {
    let (p, r) = run(&format!(
        "{SRC_I420} ! videocrop name=crop-meta left=2 right=3 top=1 bottom=2 ! cropmetasink name=k"
    ));
    r.unwrap();
    let site = ledger::snapshot().site("crop-meta");
    assert_eq!(site.copies.count, 0, "{site:?}");
    // Downstream sees the cropped size in the caps...
    let caps = KeepSink::caps_of(&p, "k");
    let s = caps.structure(0).unwrap();
    assert_eq!(
        (s.get_int("width"), s.get_int("height")),
        (Some(11), Some(5))
    );
    let full = VideoInfo::new(VideoFormat::I420, 16, 8).unwrap();
    let buffers = KeepSink::of(&p, "k");
    assert_eq!(buffers.len(), 3);
    for (n, b) in buffers.iter().enumerate() {
        // ...and the full frame with its layout and the rectangle in the metas.
        assert_eq!(
            b.meta::<VideoCropMeta>(),
            Some(&VideoCropMeta {
                x: 2,
                y: 1,
                width: 11,
                height: 5
            })
        );
        let vm = b
            .meta::<VideoMeta>()
            .expect("a VideoMeta for the full frame");
        assert_eq!((vm.width, vm.height, vm.format), (16, 8, VideoFormat::I420));
        assert_eq!(b.size(), full.size());
        assert_eq!(
            bytes(b),
            full_frame(Pattern::Snow, &full, n as u64),
            "frame {n}"
        );
    }
}

#[test]
fn copy_path_makes_a_default_layout_frame_recorded_as_crop() {
    // RGB: the expected crop is plain slicing of the full frame's rows.
    let (p, r) = run("videotestsrc num-buffers=3 pattern=snow ! \
         video/x-raw,format=RGB,width=10,height=7,framerate=30/1 ! \
         videocrop name=crop-copy left=3 right=2 top=2 bottom=1 ! videometasink name=k");
    r.unwrap();
    let full = VideoInfo::new(VideoFormat::Rgb, 10, 7).unwrap();
    let out = VideoInfo::new(VideoFormat::Rgb, 5, 4).unwrap();
    let buffers = KeepSink::of(&p, "k");
    assert_eq!(buffers.len(), 3);
    for (n, b) in buffers.iter().enumerate() {
        assert!(b.meta::<VideoCropMeta>().is_none());
        let frame = full_frame(Pattern::Snow, &full, n as u64);
        let got = bytes(b);
        assert_eq!(got.len(), out.size());
        for row in 0..4 {
            let s = (row + 2) * full.stride(0) + 3 * 3;
            let d = row * out.stride(0);
            assert_eq!(&got[d..d + 15], &frame[s..s + 15], "frame {n} row {row}");
        }
    }
    let site = ledger::snapshot().site("crop-copy");
    let crop = site.reason(CopyReason::Crop);
    assert_eq!(crop.count, 3, "{site:?}");
    assert_eq!(crop.bytes, 3 * 5 * 4 * 3);
    assert_eq!(site.copies.count, 3, "only the crop copies: {site:?}");
}

#[test]
fn a_consumer_with_videometa_only_gets_the_copy() {
    // GStreamer uses the crop meta only if downstream takes both metas.
    let (p, r) = run(&format!(
        "{SRC_I420} ! videocrop name=crop-vmonly left=1 top=1 ! videometasink name=k"
    ));
    r.unwrap();
    let out = VideoInfo::new(VideoFormat::I420, 15, 7).unwrap();
    for b in KeepSink::of(&p, "k") {
        assert!(b.meta::<VideoCropMeta>().is_none());
        assert_eq!(b.size(), out.size());
    }
    let site = ledger::snapshot().site("crop-vmonly");
    assert_eq!(site.reason(CopyReason::Crop).count, 3, "{site:?}");
}

#[test]
fn chained_crops_add_up_in_the_meta_and_a_copy_honours_it() {
    // Two crops by meta: offsets add, the size is the last one's.
    let (p, r) = run(&format!(
        "{SRC_I420} ! videocrop name=crop-a1 left=2 top=1 ! \
         videocrop name=crop-a2 left=3 top=2 right=1 ! cropmetasink name=k"
    ));
    r.unwrap();
    for b in KeepSink::of(&p, "k") {
        assert_eq!(
            b.meta::<VideoCropMeta>(),
            Some(&VideoCropMeta {
                x: 5,
                y: 3,
                width: 10,
                height: 5
            })
        );
    }
    for site in ["crop-a1", "crop-a2"] {
        assert_eq!(ledger::snapshot().site(site).copies.count, 0, "{site}");
    }
    // The first by meta, the second by copy: the copy starts at the meta's offset, so
    // the result is the same as one crop of (5, 3) by copy.
    let (p, r) = run(&format!(
        "{SRC_I420} ! videocrop name=crop-b1 left=2 top=1 ! \
         videocrop name=crop-b2 left=3 top=2 right=1 ! plainsink name=k"
    ));
    r.unwrap();
    let two = KeepSink::of(&p, "k");
    assert_eq!(ledger::snapshot().site("crop-b1").copies.count, 0);
    assert_eq!(
        ledger::snapshot()
            .site("crop-b2")
            .reason(CopyReason::Crop)
            .count,
        3
    );
    let (p, r) = run(&format!(
        "{SRC_I420} ! videocrop name=crop-c left=5 top=3 right=1 ! plainsink name=k"
    ));
    r.unwrap();
    let one = KeepSink::of(&p, "k");
    assert_eq!(two.len(), 3);
    let full = VideoInfo::new(VideoFormat::I420, 16, 8).unwrap();
    let out = VideoInfo::new(VideoFormat::I420, 10, 5).unwrap();
    for (n, (a, b)) in two.iter().zip(&one).enumerate() {
        assert_eq!(bytes(a), bytes(b), "frame {n}");
        // And both are the reference crop of the full frame.
        let frame = full_frame(Pattern::Snow, &full, n as u64);
        let mut expected = vec![0u8; out.size()];
        crop_copy(
            &frame,
            &full.offsets(),
            &full.strides(),
            5,
            3,
            &out,
            &mut expected,
        )
        .unwrap();
        let got = bytes(a);
        for p in 0..3 {
            for r in 0..out.plane_height(p) as usize {
                let s = out.offset(p) + r * out.stride(p);
                let e = s + out.plane_row_bytes(p);
                assert_eq!(got[s..e], expected[s..e], "frame {n} plane {p} row {r}");
            }
        }
    }
}

#[test]
fn no_crop_passes_buffers_and_the_allocation_query_through() {
    let (p, r) = run(&format!(
        "{SRC_I420} ! videocrop name=crop-none ! plainsink name=k"
    ));
    r.unwrap();
    let e = p.by_name("k").unwrap();
    let sink = e.implementation_as::<KeepSink>().unwrap();
    // The source's allocation query reached the sink (forwarded, full size).
    let caps = sink
        .allocation_caps
        .lock()
        .unwrap()
        .clone()
        .expect("query forwarded");
    assert_eq!(caps.structure(0).unwrap().get_int("width"), Some(16));
    let full = VideoInfo::new(VideoFormat::I420, 16, 8).unwrap();
    for (n, b) in KeepSink::of(&p, "k").iter().enumerate() {
        assert!(b.meta::<VideoCropMeta>().is_none());
        assert_eq!(bytes(b), full_frame(Pattern::Snow, &full, n as u64));
    }
    assert_eq!(ledger::snapshot().site("crop-none").copies.count, 0);
}

#[test]
fn crop_larger_than_the_frame_is_an_error_naming_the_sizes() {
    for (props, what) in [
        ("left=10 right=6", "left=10 right=6 top=0 bottom=0"),
        ("top=8", "left=0 right=0 top=8 bottom=0"),
    ] {
        let (_p, r) = run(&format!(
            "{SRC_I420} ! videocrop name=crop-big {props} ! plainsink name=k"
        ));
        let e = r.expect_err(props).to_string();
        assert!(e.contains(what) && e.contains("16x8"), "{props}: {e}");
    }
}

#[test]
fn auto_crop_is_refused_with_a_reason() {
    let e = registry().make("videocrop", Some("crop-auto")).unwrap();
    for side in ["left", "right", "top", "bottom"] {
        let err = e.set_property_str(side, "-1").unwrap_err().to_string();
        assert!(err.contains("not supported"), "{side}: {err}");
        assert_eq!(e.property(side), Some(PropValue::Int(0)));
    }
    e.set_property_str("left", "4").unwrap();
    assert_eq!(e.property("left"), Some(PropValue::Int(4)));
    assert!(e.set_property_str("left", "-2").is_err());
}

/// The crop element a [`ChangeSink`] changes, and the sizes it saw.
static CHANGED: std::sync::OnceLock<Element> = std::sync::OnceLock::new();
static CHANGE_SEEN: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// Sets the crop's `left` to 4 after the third buffer.
struct ChangeSink;

impl ElementImpl for ChangeSink {
    fn chain(&self, _e: &Element, _pad: &Pad, buffer: Buffer) -> FlowResult {
        let n = {
            let mut s = CHANGE_SEEN.lock().unwrap();
            s.push(buffer.size());
            s.len()
        };
        if n == 3 {
            CHANGED
                .get()
                .unwrap()
                .set_property_str("left", "4")
                .unwrap();
        }
        Ok(())
    }
    fn sink_event(&self, e: &Element, _p: &Pad, ev: Event) -> bool {
        if ev == Event::Eos {
            e.post(MessageKind::Eos);
        }
        true
    }
}

#[test]
fn changing_the_crop_mid_stream_renegotiates() {
    let mut r = registry();
    r.register(sink_factory("changesink", || Box::new(ChangeSink)));
    let p = penstock::launch::build(
        &r,
        "videotestsrc num-buffers=8 ! video/x-raw,format=GRAY8,width=16,height=4,framerate=30/1 ! \
         videocrop name=crop-change left=2 ! changesink name=k",
    )
    .unwrap();
    CHANGED
        .set(p.by_name("crop-change").unwrap().clone())
        .unwrap();
    p.run(Some(Duration::from_secs(20)), || false, |_| {})
        .unwrap();
    let seen = CHANGE_SEEN.lock().unwrap().clone();
    assert_eq!(seen.len(), 8, "{seen:?}");
    // GRAY8 14x4 (stride 16) before, 12x4 (stride 12) after.
    assert!(seen[..3].iter().all(|&s| s == 64), "{seen:?}");
    assert!(seen[4..].iter().all(|&s| s == 48), "{seen:?}");
    let caps = p
        .by_name("k")
        .unwrap()
        .sink_pad()
        .unwrap()
        .current_caps()
        .unwrap();
    assert_eq!(caps.structure(0).unwrap().get_int("width"), Some(12));
}

/// A source of GRAY8 8x4 frames that carry a crop meta pointing past the frame.
#[derive(Default)]
struct BadMetaSrc {
    sent: std::sync::atomic::AtomicBool,
}

impl penstock::basesrc::PushSource for BadMetaSrc {
    fn create(&self, _e: &Element) -> Result<Buffer, penstock::flow::FlowError> {
        if self.sent.swap(true, std::sync::atomic::Ordering::Relaxed) {
            return Err(penstock::flow::FlowError::Eos);
        }
        let mut b = penstock::BufferMut::copy_from_slice(&[7u8; 32]).unwrap();
        b.add_meta(VideoMeta::from_info(
            &VideoInfo::new(VideoFormat::Gray8, 8, 4).unwrap(),
        ));
        b.add_meta(VideoCropMeta {
            x: 6,
            y: 0,
            width: 8,
            height: 4,
        });
        Ok(b.freeze())
    }
}

#[test]
fn a_crop_meta_pointing_outside_the_frame_is_an_error() {
    let mut r = registry();
    r.register(ElementFactory {
        name: "badmetasrc",
        long_name: "bad meta source",
        klass: "Source/Video",
        description: "a frame whose crop meta leaves it",
        properties: vec![],
        pad_templates: vec![PadTemplate::always_src(
            "video/x-raw, format=GRAY8, width=8, height=4, framerate=30/1"
                .parse::<Caps>()
                .unwrap(),
        )],
        create: || Box::new(penstock::basesrc::BaseSrc::new(BadMetaSrc::default())),
    });
    let p = penstock::launch::build(
        &r,
        "badmetasrc ! videocrop name=crop-bad left=1 ! plainsink",
    )
    .unwrap();
    let e = p
        .run(Some(Duration::from_secs(20)), || false, |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("7x4 at (7, 0)") && e.contains("8x4 frame"),
        "{e}"
    );
}

#[test]
fn in_the_meta_path_upstream_learns_the_metas_and_how_many_buffers_downstream_holds() {
    use penstock::element::State;
    use penstock::query::AllocationQuery;
    let r = registry();
    let mut p = Pipeline::new("crop-alloc");
    let mut add = |factory: &str, name: &str| {
        let e = r.make(factory, Some(name)).unwrap();
        p.add(e.clone()).unwrap();
        e
    };
    let s = add("fakesrc", "crop-alloc-src");
    let c = add("videocrop", "crop-alloc");
    let k = add("cropmetasink", "crop-alloc-sink");
    c.set_property_str("left", "2").unwrap();
    Pipeline::link_many(&[&s, &c, &k]).unwrap();
    p.set_state(State::Paused).unwrap();
    let src = s.src_pad().unwrap();
    let caps: Caps = "video/x-raw, format=NV12, width=64, height=32, framerate=30/1"
        .parse()
        .unwrap();
    assert!(src.push_event(Event::Caps(caps.clone())));
    // Downstream got the cropped caps...
    let out = KeepSink::caps_of(&p, "crop-alloc-sink");
    assert_eq!(out.structure(0).unwrap().get_int("width"), Some(62));
    // ...and upstream's query is answered with both metas and the sink's count, for
    // frames of the full input size.
    let mut q = Query::Allocation(AllocationQuery::new(caps, true));
    assert!(src.peer_query(&mut q));
    let Query::Allocation(q) = q else {
        unreachable!()
    };
    assert!(
        q.has_meta::<VideoMeta>() && q.has_meta::<VideoCropMeta>(),
        "{q:?}"
    );
    assert_eq!((q.pools[0].size, q.pools[0].min), (64 * 32 * 3 / 2, 4));
    p.set_state(State::Null).unwrap();
}
