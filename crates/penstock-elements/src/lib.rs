//! penstock's elements, one file each, and [`registry`] to make them by name.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod capsfilter;
pub mod checksumsink;
pub mod fakesink;
pub mod fakesrc;
pub mod fdsink;
pub mod fdsrc;
pub mod filesink;
pub mod filesrc;
pub mod identity;
pub mod queue;
pub mod rawvideoparse;
pub mod stdout;
pub mod tee;
pub mod videoconvert;
pub mod videocrop;
pub mod videotestsrc;

use penstock::element::Registry;

/// A registry with every element of this crate.
pub fn registry() -> Registry {
    let mut r = Registry::new();
    r.register(capsfilter::factory());
    r.register(checksumsink::factory());
    r.register(fakesink::factory());
    r.register(fakesrc::factory());
    r.register(fdsink::factory());
    r.register(fdsrc::factory());
    r.register(filesink::factory());
    r.register(filesrc::factory());
    r.register(identity::factory());
    r.register(queue::factory());
    r.register(rawvideoparse::factory());
    r.register(tee::factory());
    r.register(videoconvert::factory());
    r.register(videocrop::factory());
    r.register(videotestsrc::factory());
    r
}

/// The `num-buffers` property sources and sinks share: a count, -1 for unlimited.
pub(crate) fn num_buffers_property(blurb: &'static str) -> penstock::element::PropertySpec {
    use penstock::element::{PropType, PropValue, PropertySpec};
    PropertySpec::new(
        "num-buffers",
        blurb,
        PropType::Int {
            min: -1,
            max: i64::from(i32::MAX),
        },
        PropValue::Int(-1),
    )
}
