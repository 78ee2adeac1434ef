//! `fakesink`: takes buffers and drops them (counting them).

use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use penstock::buffer::Buffer;
use penstock::bus::MessageKind;
use penstock::caps::Caps;
use penstock::element::{
    Element, ElementFactory, ElementImpl, PropValue, PropertyError, PropertySpec,
};
use penstock::event::Event;
use penstock::flow::{FlowError, FlowResult};
use penstock::pad::{Pad, PadTemplate};
use penstock::property::PropertyTable;
use penstock::query::Query;
use penstock_video::VideoQueryExt;

/// The factory.
pub fn factory() -> ElementFactory {
    ElementFactory {
        name: "fakesink",
        long_name: "Fake Sink",
        klass: "Sink",
        description: "Black hole for data",
        properties: PROPERTIES.specs(),
        pad_templates: vec![PadTemplate::always_sink(Caps::new_any())],
        create: || Box::new(FakeSink::default()),
    }
}

static PROPERTIES: LazyLock<PropertyTable<FakeSink>> = LazyLock::new(|| {
    PropertyTable::<FakeSink>::new()
        .add(
            PropertySpec::bool("silent", "Don't report each buffer", true),
            |s| s.silent.load(Ordering::Relaxed),
            |s, v| s.silent.store(v, Ordering::Relaxed),
        )
        .add(
            PropertySpec::bool(
                "sync",
                "Sync on the clock (accepted; penstock sinks never sync yet)",
                false,
            ),
            |s| s.sync.load(Ordering::Relaxed),
            |s, v| s.sync.store(v, Ordering::Relaxed),
        )
        .add(
            crate::num_buffers_property(
                "Number of buffers to accept before going EOS (-1 = unlimited)",
            ),
            |s| s.limit.load(Ordering::Relaxed),
            |s, v| s.limit.store(v, Ordering::Relaxed),
        )
});

/// A time as GStreamer prints it, or `none`.
fn time_or_none(t: Option<penstock::time::ClockTime>) -> String {
    t.map_or_else(|| "none".to_owned(), |t| t.to_string())
}

/// The sink. Its settings are atomics: a buffer takes no lock here.
pub struct FakeSink {
    silent: AtomicBool,
    sync: AtomicBool,
    limit: AtomicI64,
}

impl Default for FakeSink {
    fn default() -> Self {
        FakeSink {
            silent: AtomicBool::new(true),
            sync: AtomicBool::new(false),
            limit: AtomicI64::new(-1),
        }
    }
}

impl ElementImpl for FakeSink {
    fn set_property(
        &self,
        element: &Element,
        name: &str,
        value: PropValue,
    ) -> Result<(), PropertyError> {
        PROPERTIES.set(self, element, name, value)
    }

    fn property(&self, _element: &Element, name: &str) -> Option<PropValue> {
        PROPERTIES.get(self, name)
    }

    fn chain(&self, element: &Element, pad: &Pad, buffer: Buffer) -> FlowResult {
        // The pad counts every buffer it hands us (this one included) since streaming
        // started.
        let n = pad.buffers();
        let limit = self.limit.load(Ordering::Relaxed);
        if !self.silent.load(Ordering::Relaxed) {
            element.post(MessageKind::Element {
                name: "handoff".into(),
                text: format!(
                    "chain   ******* ({}:{}) ({} bytes, dts: {}, pts: {}, duration: {}, \
                     offset: {}, offset_end: {}, flags: {:?})",
                    element.name(),
                    pad.name(),
                    buffer.size(),
                    time_or_none(buffer.dts()),
                    time_or_none(buffer.pts()),
                    time_or_none(buffer.duration()),
                    buffer.offset().map_or("none".into(), |o| o.to_string()),
                    buffer.offset_end().map_or("none".into(), |o| o.to_string()),
                    buffer.flags()
                ),
            });
        }
        drop(buffer);
        if limit >= 0 && n >= limit as u64 {
            element.post(MessageKind::Eos);
            return Err(FlowError::Eos);
        }
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
            // A black hole handles any layout, any meta.
            Query::Allocation(q) => {
                q.add_video_meta(None);
                q.add_video_crop_meta();
                true
            }
            _ => element.default_query(pad, query),
        }
    }
}
