//! `identity`: passes buffers through untouched (no lock, no copy): a transform that is
//! always in passthrough.

use std::sync::atomic::{AtomicBool, Ordering};

use penstock::basetransform::{BaseTransform, Transform};
use penstock::caps::Caps;
use penstock::element::{
    Element, ElementError, ElementFactory, PropType, PropValue, PropertyError, PropertySpec,
};
use penstock::pad::{PadDirection, PadPresence, PadTemplate};

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
        pad_templates: vec![
            PadTemplate::new(
                "sink",
                PadDirection::Sink,
                PadPresence::Always,
                Caps::new_any(),
            ),
            PadTemplate::new(
                "src",
                PadDirection::Src,
                PadPresence::Always,
                Caps::new_any(),
            ),
        ],
        create: || Box::new(BaseTransform::new(Identity::default())),
    }
}

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
}
