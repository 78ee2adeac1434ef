//! `identity`: passes buffers through untouched (no lock, no copy).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use penstock::buffer::Buffer;
use penstock::caps::Caps;
use penstock::element::{
    Element, ElementFactory, ElementImpl, PropType, PropValue, PropertyError, PropertySpec,
};
use penstock::flow::{FlowError, FlowResult};
use penstock::pad::{Pad, PadTemplate};

/// The factory.
pub fn factory() -> ElementFactory {
    ElementFactory {
        name: "identity",
        long_name: "Identity",
        klass: "Generic",
        description: "Pass data without modification",
        properties: vec![PropertySpec::new(
            "silent",
            "Don't report each buffer",
            PropType::Bool,
            PropValue::Bool(true),
        )],
        pad_templates: PadTemplate::sink_and_src(Caps::new_any()),
        create: || Box::new(Identity::default()),
    }
}

/// The element.
pub struct Identity {
    src: OnceLock<Pad>,
    silent: AtomicBool,
}

impl Default for Identity {
    fn default() -> Self {
        Identity {
            src: OnceLock::new(),
            silent: AtomicBool::new(true),
        }
    }
}

impl ElementImpl for Identity {
    fn init(&self, element: &Element) {
        if let Some(p) = element.src_pad() {
            let _ = self.src.set(p);
        }
    }

    fn set_property(
        &self,
        element: &Element,
        name: &str,
        value: PropValue,
    ) -> Result<(), PropertyError> {
        match (name, value) {
            // Kept for launch lines written for GStreamer; identity reports nothing either way.
            ("silent", PropValue::Bool(v)) => self.silent.store(v, Ordering::Relaxed),
            (_, value) => return Err(PropertyError::not_writable(element, name, &value)),
        }
        Ok(())
    }

    fn property(&self, _element: &Element, name: &str) -> Option<PropValue> {
        (name == "silent").then(|| PropValue::Bool(self.silent.load(Ordering::Relaxed)))
    }

    fn chain(&self, _element: &Element, _pad: &Pad, buffer: Buffer) -> FlowResult {
        self.src.get().ok_or(FlowError::NotLinked)?.push(buffer)
    }
}
