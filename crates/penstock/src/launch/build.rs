//! Building a [`Pipeline`] from a parsed description.

use std::fmt;

use super::{LaunchError, PipelineDesc, Span, parse};
use crate::element::{Element, MakeError, PropValue, PropertyError, Registry};
use crate::pad::LinkError;
use crate::pipeline::{Pipeline, PipelineError};

/// Why a pipeline could not be built from a launch line. Every variant points at the
/// offending text.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// The text does not parse.
    Parse(LaunchError),
    /// An element factory does not exist.
    NoElement {
        /// The registry's error (with a suggestion).
        error: MakeError,
        /// Where.
        span: Span,
    },
    /// A property does not exist or its value does not fit.
    Property {
        /// The element's error.
        error: Box<PropertyError>,
        /// Where.
        span: Span,
    },
    /// The pipeline refused the element (a duplicate name).
    Pipeline {
        /// The pipeline's error.
        error: Box<PipelineError>,
        /// Where.
        span: Span,
    },
    /// Two elements could not be linked.
    Link {
        /// The link error, naming both pads.
        error: Box<LinkError>,
        /// Where.
        span: Span,
    },
}

impl BuildError {
    /// The span of the offending text.
    pub fn span(&self) -> Span {
        match self {
            BuildError::Parse(e) => e.span(),
            BuildError::NoElement { span, .. }
            | BuildError::Property { span, .. }
            | BuildError::Pipeline { span, .. }
            | BuildError::Link { span, .. } => *span,
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Parse(e) => write!(f, "{e}"),
            BuildError::NoElement { error, span } => {
                write!(f, "at column {}: {error}", span.start + 1)
            }
            BuildError::Property { error, span } => {
                write!(f, "at column {}: {error}", span.start + 1)
            }
            BuildError::Pipeline { error, span } => {
                write!(f, "at column {}: {error}", span.start + 1)
            }
            BuildError::Link { error, span } => {
                write!(f, "at column {}: {error}", span.start + 1)
            }
        }
    }
}

impl std::error::Error for BuildError {}

/// The input line with `^^^` under `span`.
pub fn point_at(input: &str, span: Span) -> String {
    let start = span.start.min(input.len());
    let end = span.end.clamp(start + 1, input.len().max(start + 1));
    format!(
        "  {input}\n  {}{}",
        " ".repeat(input[..start].chars().count()),
        "^".repeat(
            input
                .get(start..end)
                .map_or(1, |s| s.chars().count().max(1))
        )
    )
}

/// Parses `text` and builds the pipeline: elements made from `registry` (named by
/// `name=` or `factoryN`), properties set from text (enums by nick or number), caps
/// between links made into `capsfilter` elements, pads linked (request pads made).
///
/// # Errors
/// [`BuildError`] pointing at the offending token.
pub fn build(registry: &Registry, text: &str) -> Result<Pipeline, BuildError> {
    let desc = parse(text).map_err(BuildError::Parse)?;
    build_desc(registry, &desc)
}

/// Builds a pipeline from a description (see [`build`]).
///
/// # Errors
/// [`BuildError`].
pub fn build_desc(registry: &Registry, desc: &PipelineDesc) -> Result<Pipeline, BuildError> {
    let mut pipeline = Pipeline::new("pipeline0");
    let mut elements: Vec<Element> = Vec::with_capacity(desc.elements.len());
    for e in &desc.elements {
        let element = registry
            .make(&e.factory, e.name.as_deref())
            .map_err(|error| BuildError::NoElement {
                error,
                span: e.span,
            })?;
        for p in &e.properties {
            if p.name == "name" {
                continue;
            }
            element
                .set_property_str(&p.name, &p.value)
                .map_err(|error| BuildError::Property {
                    error: Box::new(error),
                    span: p.span,
                })?;
        }
        pipeline
            .add(element.clone())
            .map_err(|error| BuildError::Pipeline {
                error: Box::new(error),
                span: e.span,
            })?;
        elements.push(element);
    }
    for link in &desc.links {
        let src = &elements[link.src.element];
        let sink = &elements[link.sink.element];
        let result = match &link.caps {
            None => {
                Pipeline::link_pads(src, link.src.pad.as_deref(), sink, link.sink.pad.as_deref())
                    .map(|_| ())
            }
            Some(caps) => {
                let filter =
                    registry
                        .make("capsfilter", None)
                        .map_err(|error| BuildError::NoElement {
                            error,
                            span: link.span,
                        })?;
                filter
                    .set_property("caps", PropValue::Caps(caps.clone()))
                    .map_err(|error| BuildError::Property {
                        error: Box::new(error),
                        span: link.span,
                    })?;
                pipeline
                    .add(filter.clone())
                    .map_err(|error| BuildError::Pipeline {
                        error: Box::new(error),
                        span: link.span,
                    })?;
                Pipeline::link_pads(src, link.src.pad.as_deref(), &filter, None)
                    .and_then(|_| {
                        Pipeline::link_pads(&filter, None, sink, link.sink.pad.as_deref())
                    })
                    .map(|_| ())
            }
        };
        result.map_err(|error| BuildError::Link {
            error: Box::new(error),
            span: link.span,
        })?;
    }
    Ok(pipeline)
}
