//! Running pipelines of the basic elements end to end.

use std::time::Duration;

use penstock::element::{Element, PropValue};
use penstock::pipeline::Pipeline;

fn make(p: &mut Pipeline, factory: &str, props: &[(&str, &str)]) -> Element {
    thread_local! {
        static REGISTRY: penstock::element::Registry = penstock_elements::registry();
    }
    let e = REGISTRY.with(|r| r.make(factory, None)).unwrap();
    for (k, v) in props {
        e.set_property_str(k, v).unwrap();
    }
    p.add(e.clone()).unwrap();
    e
}

/// Buffers the sink's pad handed to it.
fn received(e: &Element) -> u64 {
    e.sink_pad().map_or(0, |p| p.buffers())
}

#[test]
fn fakesrc_to_fakesink_runs_to_eos() {
    let mut p = Pipeline::new("p");
    let src = make(&mut p, "fakesrc", &[("num-buffers", "1000")]);
    let id = make(&mut p, "identity", &[]);
    let sink = make(&mut p, "fakesink", &[]);
    Pipeline::link_many(&[&src, &id, &sink]).unwrap();
    p.run(Some(Duration::from_secs(20)), || false, |_| {})
        .unwrap();
    assert_eq!(received(&sink), 1000);
    assert_eq!(sink.property("silent"), Some(PropValue::Bool(true)));
}

#[test]
fn queue_and_tee_deliver_every_buffer_to_every_branch() {
    let mut p = Pipeline::new("p");
    let src = make(
        &mut p,
        "fakesrc",
        &[
            ("num-buffers", "500"),
            ("sizetype", "fixed"),
            ("sizemax", "1024"),
        ],
    );
    let tee = make(&mut p, "tee", &[]);
    let q1 = make(&mut p, "queue", &[]);
    let s1 = make(&mut p, "fakesink", &[]);
    let q2 = make(&mut p, "queue", &[("max-size-buffers", "2")]);
    let s2 = make(&mut p, "fakesink", &[]);
    Pipeline::link_many(&[&src, &tee, &q1, &s1]).unwrap();
    Pipeline::link_many(&[&tee, &q2, &s2]).unwrap();
    p.run(Some(Duration::from_secs(20)), || false, |_| {})
        .unwrap();
    assert_eq!(received(&s1), 500);
    assert_eq!(received(&s2), 500);
}
