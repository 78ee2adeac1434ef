//! `capsfilter`: restricts the caps that can flow (what `! video/x-raw,... !` makes).

use std::sync::{LazyLock, OnceLock, RwLock};

use penstock::buffer::Buffer;
use penstock::caps::Caps;
use penstock::element::{
    Element, ElementFactory, ElementImpl, PropValue, PropertyError, PropertySpec,
};
use penstock::flow::{FlowError, FlowResult};
use penstock::pad::{Pad, PadTemplate};
use penstock::property::PropertyTable;
use penstock::query::Query;
use penstock::sync::RwLockExt;

/// The factory.
pub fn factory() -> ElementFactory {
    ElementFactory {
        name: "capsfilter",
        long_name: "CapsFilter",
        klass: "Generic",
        description: "Pass data without modification, limiting formats",
        properties: PROPERTIES.specs(),
        pad_templates: PadTemplate::sink_and_src(Caps::new_any()),
        create: || Box::new(CapsFilter::default()),
    }
}

static PROPERTIES: LazyLock<PropertyTable<CapsFilter>> = LazyLock::new(|| {
    PropertyTable::<CapsFilter>::new()
        .add(
            PropertySpec::caps(
                "caps",
                "Restrict the possible allowed capabilities",
                Caps::new_any(),
            ),
            CapsFilter::filter,
            |s, c| *s.caps.write_ignore_poison() = c,
        )
        .after_set(|_, element| {
            // New caps while streaming: ask upstream to renegotiate.
            if let Some(sink) = element.sink_pad() {
                if sink.is_linked() {
                    sink.push_event(penstock::event::Event::Reconfigure);
                }
            }
        })
});

/// The element.
pub struct CapsFilter {
    caps: RwLock<Caps>,
    src: OnceLock<Pad>,
}

impl Default for CapsFilter {
    fn default() -> Self {
        CapsFilter {
            caps: RwLock::new(Caps::new_any()),
            src: OnceLock::new(),
        }
    }
}

impl CapsFilter {
    fn filter(&self) -> Caps {
        self.caps.read_ignore_poison().clone()
    }
}

impl ElementImpl for CapsFilter {
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

    fn caps_restriction(&self) -> Option<Caps> {
        Some(self.filter())
    }

    fn chain(&self, _element: &Element, _pad: &Pad, buffer: Buffer) -> FlowResult {
        self.src.get().ok_or(FlowError::NotLinked)?.push(buffer)
    }

    fn query(&self, element: &Element, pad: &Pad, query: &mut Query) -> bool {
        match query {
            Query::Caps(q) => {
                let filter = self.filter();
                let f = match &q.filter {
                    Some(f) => f.intersect(&filter),
                    None => filter.clone(),
                };
                // What the other side can do, within the filter.
                let other = element.proxy_caps(pad, Some(&f));
                q.result = Some(other.intersect(&filter));
                true
            }
            Query::AcceptCaps { caps, result } => {
                let mut downstream = Query::AcceptCaps {
                    caps: caps.clone(),
                    result: false,
                };
                element.default_query(pad, &mut downstream);
                *result = caps.can_intersect(&self.filter())
                    && matches!(downstream, Query::AcceptCaps { result: true, .. });
                true
            }
            _ => element.default_query(pad, query),
        }
    }
}
