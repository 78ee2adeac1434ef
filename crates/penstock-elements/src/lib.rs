//! penstock's elements, one file each; [`PLUGIN`] registers them all.
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
pub mod templates;
pub mod videoconvert;
pub mod videocrop;
pub mod videotestsrc;

use penstock::element::{Plugin, Registry};

/// This crate's elements, for [`Registry::with_plugins`].
pub const PLUGIN: Plugin = Plugin {
    name: "penstock-elements",
    description: "sources, sinks, queue, tee, capsfilter, video and file elements",
    register,
};

/// Adds every element of this crate to `registry`.
pub fn register(registry: &mut Registry) {
    registry.register(capsfilter::factory());
    registry.register(checksumsink::factory());
    registry.register(fakesink::factory());
    registry.register(fakesrc::factory());
    registry.register(fdsink::factory());
    registry.register(fdsrc::factory());
    registry.register(filesink::factory());
    registry.register(filesrc::factory());
    registry.register(identity::factory());
    registry.register(queue::factory());
    registry.register(rawvideoparse::factory());
    registry.register(tee::factory());
    registry.register(videoconvert::factory());
    registry.register(videocrop::factory());
    registry.register(videotestsrc::factory());
}

/// A registry with every element of this crate (and no other crate's: an application
/// lists its plugins with [`Registry::with_plugins`]).
pub fn registry() -> Registry {
    Registry::with_plugins(&[PLUGIN])
}

/// The `num-buffers` property sources and sinks share: a count, -1 for unlimited.
pub(crate) fn num_buffers_property(blurb: &'static str) -> penstock::element::PropertySpec {
    penstock::element::PropertySpec::int("num-buffers", blurb, -1..=i64::from(i32::MAX), -1)
}
