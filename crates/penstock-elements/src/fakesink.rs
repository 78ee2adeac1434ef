//! `fakesink`: takes buffers and drops them (counting them).

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use penstock::buffer::Buffer;
use penstock::bus::MessageKind;
use penstock::caps::Caps;
use penstock::element::{
    Element, ElementFactory, ElementImpl, PropType, PropValue, PropertyError, PropertySpec,
};
use penstock::event::Event;
use penstock::flow::{FlowError, FlowResult};
use penstock::pad::{Pad, PadDirection, PadPresence, PadTemplate};
use penstock::query::Query;
use penstock_video::VideoQueryExt;

/// The factory.
pub fn factory() -> ElementFactory {
    ElementFactory {
        name: "fakesink",
        long_name: "Fake Sink",
        klass: "Sink",
        description: "Black hole for data",
        properties: vec![
            PropertySpec::new(
                "silent",
                "Don't report each buffer",
                PropType::Bool,
                PropValue::Bool(true),
            ),
            PropertySpec::new(
                "sync",
                "Sync on the clock (accepted; penstock sinks never sync yet)",
                PropType::Bool,
                PropValue::Bool(false),
            ),
            crate::num_buffers_property(
                "Number of buffers to accept before going EOS (-1 = unlimited)",
            ),
        ],
        pad_templates: vec![PadTemplate::new(
            "sink",
            PadDirection::Sink,
            PadPresence::Always,
            Caps::new_any(),
        )],
        create: || Box::new(FakeSink::default()),
    }
}

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
        match (name, value) {
            ("silent", PropValue::Bool(b)) => self.silent.store(b, Ordering::Relaxed),
            ("sync", PropValue::Bool(b)) => self.sync.store(b, Ordering::Relaxed),
            ("num-buffers", PropValue::Int(n)) => self.limit.store(n, Ordering::Relaxed),
            (_, value) => return Err(PropertyError::not_writable(element, name, &value)),
        }
        Ok(())
    }

    fn property(&self, _element: &Element, name: &str) -> Option<PropValue> {
        Some(match name {
            "silent" => PropValue::Bool(self.silent.load(Ordering::Relaxed)),
            "sync" => PropValue::Bool(self.sync.load(Ordering::Relaxed)),
            "num-buffers" => PropValue::Int(self.limit.load(Ordering::Relaxed)),
            _ => return None,
        })
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
