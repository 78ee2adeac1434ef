//! Elements from any crate: a plugin defined here, outside penstock-elements, registers
//! next to it and the launch builder finds its element.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use penstock::buffer::Buffer;
use penstock::bus::MessageKind;
use penstock::caps::Caps;
use penstock::element::{Element, ElementFactory, ElementImpl, Plugin, Registry};
use penstock::event::Event;
use penstock::flow::FlowResult;
use penstock::pad::{Pad, PadTemplate};

/// A sink that counts its buffers.
#[derive(Default)]
struct CountSink {
    buffers: AtomicU64,
}

impl ElementImpl for CountSink {
    fn chain(&self, _element: &Element, _pad: &Pad, _buffer: Buffer) -> FlowResult {
        self.buffers.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn sink_event(&self, element: &Element, _pad: &Pad, event: Event) -> bool {
        if matches!(event, Event::Eos) {
            element.post(MessageKind::Eos);
        }
        true
    }
}

fn register(registry: &mut Registry) {
    registry.register(ElementFactory {
        name: "countsink",
        long_name: "Counting sink",
        klass: "Sink",
        description: "counts the buffers it gets",
        properties: vec![],
        pad_templates: vec![PadTemplate::always_sink(Caps::new_any())],
        create: || Box::<CountSink>::default(),
    });
}

const COUNTING: Plugin = Plugin {
    name: "counting",
    description: "a sink from a crate of its own",
    register,
};

#[test]
fn the_launch_builder_finds_an_element_registered_by_another_crate() {
    let registry = Registry::with_plugins(&[penstock_elements::PLUGIN, COUNTING]);
    assert_eq!(registry.plugin_of("countsink"), Some("counting"));
    assert_eq!(registry.plugin_of("fakesrc"), Some("penstock-elements"));

    let p = penstock::launch::build(
        &registry,
        "fakesrc num-buffers=7 ! queue ! countsink name=c",
    )
    .unwrap();
    p.run(Some(Duration::from_secs(20)), || false, |_| {})
        .unwrap();
    let sink = p.by_name("c").unwrap();
    let counted = sink.implementation_as::<CountSink>().unwrap();
    assert_eq!(counted.buffers.load(Ordering::Relaxed), 7);
}

#[test]
fn without_its_plugin_the_element_is_unknown() {
    let registry = penstock_elements::registry();
    let e = penstock::launch::build(&registry, "fakesrc ! countsink").unwrap_err();
    assert!(e.to_string().contains("countsink"), "{e}");
}
