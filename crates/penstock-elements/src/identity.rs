//! `identity`: passes buffers through untouched (no lock, no copy): a transform that is
//! always in passthrough.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};

use penstock::basetransform::{BaseTransform, Transform};
use penstock::caps::Caps;
use penstock::element::{
    Element, ElementError, ElementFactory, PropValue, PropertyError, PropertySpec,
};
use penstock::pad::PadTemplate;
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
        create: || Box::new(BaseTransform::new(Identity::default())),
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

/// The element's logic (the element is a [`BaseTransform`] of it).
pub struct Identity {
    silent: AtomicBool,
}

impl Default for Identity {
    fn default() -> Self {
        Identity {
            silent: AtomicBool::new(true),
        }
    }
}

impl Transform for Identity {
    const ALWAYS_PASSTHROUGH: bool = true;

    /// The caps go on as they came, fixed or not.
    fn fixate_caps(
        &self,
        _element: &Element,
        incaps: &Caps,
        _othercaps: Caps,
    ) -> Result<Caps, ElementError> {
        Ok(incaps.clone())
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
}
