//! `fakesink`: takes buffers and drops them (counting them).

use std::sync::Mutex;

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

/// The sink.
#[derive(Default)]
pub struct FakeSink {
    settings: Mutex<(bool, bool, i64)>,
}

impl ElementImpl for FakeSink {
    fn init(&self, _element: &Element) {
        *self.settings.lock().unwrap_or_else(|p| p.into_inner()) = (true, false, -1);
    }

    fn set_property(
        &self,
        _element: &Element,
        name: &str,
        value: PropValue,
    ) -> Result<(), PropertyError> {
        let mut s = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        match (name, value) {
            ("silent", PropValue::Bool(b)) => s.0 = b,
            ("sync", PropValue::Bool(b)) => s.1 = b,
            ("num-buffers", PropValue::Int(n)) => s.2 = n,
            _ => {}
        }
        Ok(())
    }

    fn property(&self, _element: &Element, name: &str) -> Option<PropValue> {
        let s = *self.settings.lock().unwrap_or_else(|p| p.into_inner());
        Some(match name {
            "silent" => PropValue::Bool(s.0),
            "sync" => PropValue::Bool(s.1),
            "num-buffers" => PropValue::Int(s.2),
            _ => return None,
        })
    }

    fn chain(&self, element: &Element, pad: &Pad, buffer: Buffer) -> FlowResult {
        // The pad counts every buffer it hands us (this one included) since streaming
        // started.
        let n = pad.buffers();
        let (silent, _, limit) = *self.settings.lock().unwrap_or_else(|p| p.into_inner());
        if !silent {
            element.post(MessageKind::Element {
                name: "handoff".into(),
                text: format!(
                    "chain ******* ({}:sink) ({} bytes, pts: {:?}) {:?}",
                    element.name(),
                    buffer.size(),
                    buffer.pts(),
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
                q.add_meta("VideoMeta", None);
                q.add_meta("VideoCropMeta", None);
                true
            }
            _ => element.default_query(pad, query),
        }
    }
}
