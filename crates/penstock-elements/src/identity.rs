//! `identity`: passes buffers through untouched (no lock, no copy).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, OnceLock};

use penstock::buffer::Buffer;
use penstock::caps::Caps;
use penstock::element::{
    Element, ElementFactory, ElementImpl, PropValue, PropertyError, PropertySpec,
};
use penstock::flow::{FlowError, FlowResult};
use penstock::pad::{Pad, PadTemplate};
use penstock::property::PropertyTable;

/// The factory.
pub fn factory() -> ElementFactory {
    ElementFactory {
        name: "identity",
        long_name: "Identity",
        klass: "Generic",
        description: "Pass data without modification",
        properties: PROPERTIES.specs(),
        pad_templates: PadTemplate::sink_and_src(Caps::new_any()),
        create: || Box::new(Identity::default()),
    }
}

static PROPERTIES: LazyLock<PropertyTable<Identity>> = LazyLock::new(|| {
    // Kept for launch lines written for GStreamer; identity reports nothing either way.
    PropertyTable::<Identity>::new().add(
        PropertySpec::bool("silent", "Don't report each buffer", true),
        |s| s.silent.load(Ordering::Relaxed),
        |s, v| s.silent.store(v, Ordering::Relaxed),
    )
});

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
        PROPERTIES.set(self, element, name, value)
    }

    fn property(&self, _element: &Element, name: &str) -> Option<PropValue> {
        PROPERTIES.get(self, name)
    }

    fn chain(&self, _element: &Element, _pad: &Pad, buffer: Buffer) -> FlowResult {
        self.src.get().ok_or(FlowError::NotLinked)?.push(buffer)
    }
}
