//! A capsfilter whose caps change mid-stream sends a reconfigure event upstream; the
//! source renegotiates caps and allocation and the stream goes on in the new format.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use penstock::buffer::Buffer;
use penstock::bus::MessageKind;
use penstock::caps::Caps;
use penstock::element::{Element, ElementFactory, ElementImpl, PropValue, Registry};
use penstock::event::Event;
use penstock::flow::FlowResult;
use penstock::pad::{Pad, PadTemplate};
use penstock::pipeline::Pipeline;

/// Sizes and pts of the buffers the sink saw, and the capsfilter to change.
fn seen() -> &'static Mutex<Vec<(usize, u64)>> {
    static SEEN: OnceLock<Mutex<Vec<(usize, u64)>>> = OnceLock::new();
    SEEN.get_or_init(|| Mutex::new(Vec::new()))
}
static FILTER: OnceLock<Element> = OnceLock::new();

struct SwitchSink;

impl ElementImpl for SwitchSink {
    fn chain(&self, _e: &Element, _pad: &Pad, buffer: Buffer) -> FlowResult {
        let n = {
            let mut s = seen().lock().unwrap();
            s.push((buffer.size(), buffer.pts().map_or(0, |t| t.nseconds())));
            s.len()
        };
        if n == 3 {
            let caps: Caps = "video/x-raw, format=GRAY8, width=32, height=32, framerate=30/1"
                .parse()
                .unwrap();
            FILTER
                .get()
                .unwrap()
                .set_property("caps", PropValue::Caps(caps))
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
fn changing_a_capsfilter_mid_stream_renegotiates_the_source() {
    let mut r: Registry = penstock_elements::registry();
    r.register(ElementFactory {
        name: "switchsink",
        long_name: "switch sink",
        klass: "Sink",
        description: "test",
        properties: vec![],
        pad_templates: vec![PadTemplate::always_sink(Caps::new_any())],
        create: || Box::new(SwitchSink),
    });
    let mut p = Pipeline::new("reconf");
    let src = r.make("videotestsrc", None).unwrap();
    src.set_property_str("num-buffers", "8").unwrap();
    let filter = r.make("capsfilter", None).unwrap();
    filter
        .set_property_str(
            "caps",
            "video/x-raw, format=GRAY8, width=16, height=16, framerate=30/1",
        )
        .unwrap();
    let sink = r.make("switchsink", None).unwrap();
    for e in [&src, &filter, &sink] {
        p.add(e.clone()).unwrap();
    }
    Pipeline::link_many(&[&src, &filter, &sink]).unwrap();
    FILTER.set(filter.clone()).unwrap();
    p.run(Some(Duration::from_secs(20)), || false, |_| {})
        .unwrap();
    let seen = seen().lock().unwrap().clone();
    assert_eq!(seen.len(), 8, "{seen:?}");
    // GRAY8 16x16 (stride 16) before, 32x32 after; the stream's clock goes on.
    assert!(seen[..3].iter().all(|(size, _)| *size == 256), "{seen:?}");
    assert!(seen[4..].iter().all(|(size, _)| *size == 1024), "{seen:?}");
    let pts: Vec<u64> = seen.iter().map(|(_, t)| *t).collect();
    assert!(
        pts.windows(2).all(|w| w[1] > w[0]),
        "timestamps keep increasing: {pts:?}"
    );
    let caps = sink.sink_pad().unwrap().current_caps().unwrap();
    assert_eq!(caps.structure(0).unwrap().get_int("width"), Some(32));
}
