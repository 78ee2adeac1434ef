//! Pipeline descriptions in `gst-launch-1.0` syntax: [`parse`] turns a launch line into a
//! [`PipelineDesc`] (elements, their properties, and the links between them, with caps
//! filters), and [`Display`](fmt::Display) prints a description back as a launch line.
//!
//! The parser only describes: it does not know which element factories or properties
//! exist, and it converts no property value (the runtime does, per property type). Every
//! element, property, link and endpoint carries the [`Span`] of the text it came from, so
//! that the runtime can point at the offending text too.
//!
//! ```
//! use penstock::launch::parse;
//! let desc = parse(
//!     "videotestsrc num-buffers=600 ! video/x-raw,format=NV12,width=1920,height=1080 \
//!      ! tee name=t  t. ! queue ! fakesink  t. ! queue ! fakesink",
//! )?;
//! assert_eq!(desc.elements.len(), 6);
//! assert_eq!(desc.elements[1].name.as_deref(), Some("t"));
//! assert_eq!(desc.links.len(), 5);
//! let caps = desc.links[0].caps.as_ref().unwrap();
//! assert_eq!(caps.structure(0).unwrap().get_int("width"), Some(1920));
//! // The second branch: tee -> queue (element 4).
//! assert_eq!((desc.links[3].src.element, desc.links[3].sink.element), (1, 4));
//! # Ok::<(), penstock::launch::LaunchError>(())
//! ```
//!
//! # Syntax
//!
//! * **Elements**: a factory name (letters, digits, `_`, `-`, `+`), then its properties
//!   `name=value`, separated by whitespace: `videotestsrc num-buffers=10 pattern=ball`.
//!   No spaces around `=`.
//! * **Values** are kept as text, with [`quoted`](PropertyDesc::quoted) telling whether
//!   they were quoted: a bare value runs up to the next whitespace or `!`
//!   (`caps=video/x-raw,format=NV12` is one bare value); `"double"` and `'single'` quotes
//!   take anything, including spaces and `!`, with `\"` (`\'` in single quotes) and `\\` as
//!   escapes; any other `\` is kept as it is. `""` is the empty string. A quote must
//!   enclose the whole value (`text=it's` is an error: write `text="it's"`).
//! * **Names**: `name=t` is an ordinary property, also exposed as
//!   [`ElementDesc::name`] (the last `name=` wins). Names must be unique and not empty.
//! * **Links**: `a ! b` links `a` to `b`; `a ! b ! c` is a chain. A word that does not
//!   follow a `!` starts a new chain: `a ! b  c ! d` is two chains.
//! * **Caps filters**: `a ! video/x-raw,format=NV12 ! b` filters the link with caps. An
//!   item right after `!` whose first word (up to whitespace, `,`, `(` or `;`) holds a
//!   `/` — or is `ANY` or `EMPTY` — is caps and runs up to the next `!` outside a quoted
//!   string, so it may hold spaces, features, ranges, lists and quoted strings:
//!   `! video/x-raw(memory:DMABuf), format=DMA_DRM, width=[ 1, 4096 ] !`. A quoted item
//!   is caps too: `! "video/x-raw, format=NV12" !` (with `\"` and `\\` escapes).
//!   Caps use the [caps syntax](crate::caps).
//! * **References**: `name.` is the element named `name` (any pad), `name.pad` one of
//!   its pads (the text after the last `.`). A reference may start a chain
//!   (`t. ! queue`), end it (`src ! t.`) or sit in its middle (`a ! t.sink_1 ! b`
//!   would be odd but is accepted), and may come before the element it names: names are
//!   resolved after the whole line is read.
//! * **Bins** `( ... )` are not supported yet: they are rejected with
//!   [`LaunchErrorKind::BinsUnsupported`].
//!
//! Errors ([`LaunchError`]) give the span of the offending text and say how to fix it;
//! [`LaunchError::snippet`] underlines it.
//!
//! # Printing
//!
//! [`PipelineDesc`]'s `Display` writes a canonical launch line: elements in order, each
//! link as `src ! sink` or `src ! caps ! sink`, chains continued where a link starts
//! where the previous one ended, references (`name.pad`) where an element was already
//! written or is written later. Values that need it are written in double quotes; caps
//! as [`Caps`]' `Display` writes them (typed fields), quoted when needed. For every
//! description [`parse`] returns, parsing the printed line gives the same description
//! back, except for the spans (see [`PipelineDesc::without_spans`]).

mod build;
mod lexer;
mod parser;
mod print;

#[cfg(test)]
mod tests;

use std::fmt;
use std::ops::Range;

use crate::caps::{Caps, ParseError};

pub use build::{BuildError, build, build_desc, point_at};

/// Parses a launch line (see the [module docs](self) for the syntax).
///
/// ```
/// let desc = penstock::launch::parse("filesrc location=\"/tmp/a b.raw\" ! fakesink")?;
/// let location = &desc.elements[0].properties[0];
/// assert_eq!((location.value.as_str(), location.quoted), ("/tmp/a b.raw", true));
/// assert_eq!((desc.links[0].src.element, desc.links[0].sink.element), (0, 1));
/// # Ok::<(), penstock::launch::LaunchError>(())
/// ```
pub fn parse(input: &str) -> Result<PipelineDesc, LaunchError> {
    parser::parse(input)
}

/// A pipeline: its elements, in the order they appear in the launch line, and the links
/// between them, in the order of their `!`.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineDesc {
    /// The elements, in order of appearance (references do not add elements).
    pub elements: Vec<ElementDesc>,
    /// The links, in order of appearance.
    pub links: Vec<LinkDesc>,
}

/// One element to create.
#[derive(Debug, Clone, PartialEq)]
pub struct ElementDesc {
    /// The factory name, such as `videotestsrc`.
    pub factory: String,
    /// The value of the element's last `name=` property, if any. Elements without one
    /// cannot be referenced; the runtime names them.
    pub name: Option<String>,
    /// The properties in the order written, `name=` included.
    pub properties: Vec<PropertyDesc>,
    /// From the factory name to the end of the last property.
    pub span: Span,
}

/// One `name=value` property, its value as written (unescaped when quoted).
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyDesc {
    /// The property name, such as `num-buffers`.
    pub name: String,
    /// The value's text: a bare word as it is, or a quoted string without its quotes and
    /// with its escapes resolved.
    pub value: String,
    /// Whether the value was quoted (`"..."` or `'...'`).
    pub quoted: bool,
    /// The whole `name=value`.
    pub span: Span,
    /// The value as written, with its quotes if it had them.
    pub value_span: Span,
}

/// A link from a source pad to a sink pad, optionally filtered by caps.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkDesc {
    /// The upstream side.
    pub src: Endpoint,
    /// The downstream side.
    pub sink: Endpoint,
    /// The caps filter between the two `!`, if any.
    pub caps: Option<Caps>,
    /// The link's operator: the `!`, or `! caps !` when filtered.
    pub span: Span,
}

/// One side of a link: an element and possibly one of its pads.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// Index of the element in [`PipelineDesc::elements`].
    pub element: usize,
    /// The pad named by a reference (`t.src_0`), or `None` for any pad (an element
    /// written in place, or a reference such as `t.`).
    pub pad: Option<String>,
    /// The text naming the endpoint: the factory name of an element written in place,
    /// or the whole reference (`t.src_0`).
    pub span: Span,
}

/// A range of byte offsets in the launch line, `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset just past the last byte.
    pub end: usize,
}

impl Span {
    /// `start..end`.
    pub const fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// Length in bytes.
    pub const fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// Whether the span covers no byte.
    pub const fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// `start..end`, to index the input with.
    pub const fn range(&self) -> Range<usize> {
        self.start..self.end
    }

    /// The text of the span in `input` (empty when it does not fall on character
    /// boundaries of `input`).
    pub fn text<'a>(&self, input: &'a str) -> &'a str {
        input.get(self.range()).unwrap_or("")
    }
}

impl PipelineDesc {
    /// Index of the element named `name` (by its `name=` property).
    pub fn element_by_name(&self, name: &str) -> Option<usize> {
        self.elements
            .iter()
            .position(|e| e.name.as_deref() == Some(name))
    }

    /// A copy with every span set to `0..0`, to compare descriptions whatever text they
    /// came from: `parse(&desc.to_string())?.without_spans() == desc.without_spans()`.
    pub fn without_spans(&self) -> PipelineDesc {
        let none = Span::default();
        let mut d = self.clone();
        for e in &mut d.elements {
            e.span = none;
            for p in &mut e.properties {
                p.span = none;
                p.value_span = none;
            }
        }
        for l in &mut d.links {
            l.span = none;
            l.src.span = none;
            l.sink.span = none;
        }
        d
    }
}

impl ElementDesc {
    /// The last property called `name`, if any.
    pub fn property(&self, name: &str) -> Option<&PropertyDesc> {
        self.properties.iter().rev().find(|p| p.name == name)
    }
}

/// A launch line that could not be parsed: what is wrong ([`kind`](Self::kind)) and
/// where ([`span`](Self::span), [`column`](Self::column), [`token`](Self::token)).
///
/// ```
/// use penstock::launch::{parse, LaunchErrorKind};
/// let input = "videotestsrc ! ! fakesink";
/// let err = parse(input).unwrap_err();
/// assert!(matches!(err.kind(), LaunchErrorKind::ExpectedElement { .. }));
/// assert_eq!((err.column(), err.token()), (15, "!"));
/// assert_eq!(err.snippet(input), "videotestsrc ! ! fakesink\n               ^");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at column {}, {}: {kind}", span.start + 1, TokenDesc(token))]
pub struct LaunchError {
    kind: LaunchErrorKind,
    span: Span,
    token: String,
}

struct TokenDesc<'a>(&'a str);

impl fmt::Display for TokenDesc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("end of input")
        } else {
            write!(f, "`{}`", abbreviate(self.0))
        }
    }
}

/// Characters of user text that messages quote at most; longer text is cut there.
pub const QUOTE_MAX_CHARS: usize = 64;

/// `text` for quoting in a message: as is when short, else its first
/// [`QUOTE_MAX_CHARS`] characters, `…` and its length (an accidental 100 KB "element
/// name" must not flood the terminal).
///
/// ```
/// let long = "x".repeat(1000);
/// assert_eq!(penstock::launch::abbreviate("queue"), "queue");
/// assert!(penstock::launch::abbreviate(&long).ends_with("… (1000 bytes)"));
/// ```
pub fn abbreviate(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(QUOTE_MAX_CHARS) {
        None => std::borrow::Cow::Borrowed(text),
        Some((cut, _)) => {
            std::borrow::Cow::Owned(format!("{}… ({} bytes)", &text[..cut], text.len()))
        }
    }
}

impl LaunchError {
    /// An error of `kind` about `span` of `input`.
    pub(crate) fn new(kind: LaunchErrorKind, span: Span, input: &str) -> LaunchError {
        LaunchError {
            kind,
            span,
            token: span.text(input).to_owned(),
        }
    }

    /// What is wrong.
    pub fn kind(&self) -> &LaunchErrorKind {
        &self.kind
    }

    /// The offending text's byte offsets in the input.
    pub fn span(&self) -> Span {
        self.span
    }

    /// 0-based byte offset of the offending text in the input (messages show it 1-based,
    /// as editors count columns).
    pub fn column(&self) -> usize {
        self.span.start
    }

    /// The offending text; empty when the input ended too early.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Two lines for a terminal: the input's line that holds the error, and carets
    /// under the offending text (tabs are kept, so the carets line up).
    ///
    /// ```
    /// let input = "filesrc location=\"/tmp/a b.raw ! fakesink";
    /// let err = penstock::launch::parse(input).unwrap_err();
    /// assert_eq!(err.snippet(input), format!("{input}\n                 ^"));
    /// ```
    pub fn snippet(&self, input: &str) -> String {
        let mut start = self.span.start.min(input.len());
        while !input.is_char_boundary(start) {
            start -= 1;
        }
        let line_start = input[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = input[start..].find('\n').map_or(input.len(), |i| start + i);
        let line = input[line_start..line_end].trim_end_matches('\r');
        let indent: String = input[line_start..start]
            .chars()
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let end = self.span.end.clamp(start, line_end);
        let width = input
            .get(start..end)
            .map_or(1, |t| t.chars().count().max(1));
        format!("{line}\n{indent}{}", "^".repeat(width))
    }
}

/// What is wrong with a launch line; each message says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LaunchErrorKind {
    /// Nothing but whitespace.
    #[error("empty pipeline: write at least one element, e.g. `videotestsrc ! fakesink`")]
    EmptyPipeline,
    /// A quoted string without its closing quote (the span is the opening quote).
    #[error(
        "this {quote} is never closed: add a closing {quote} (write \\{quote} for a quote \
         inside the string)"
    )]
    UnbalancedQuote {
        /// The quote character.
        quote: char,
    },
    /// An element was expected (after `!`, or at the start of a chain).
    #[error("expected an element: {hint}")]
    ExpectedElement {
        /// What was found instead, and what to do.
        hint: &'static str,
    },
    /// A `!` with no element on one side: at the start or end of a chain.
    #[error("dangling link: {hint}")]
    DanglingLink {
        /// Which side is missing.
        hint: &'static str,
    },
    /// A reference to a name no element has.
    #[error("no element is named `{name}`: give one `name={name}`, or fix the reference")]
    UnknownReference {
        /// The name referred to.
        name: String,
    },
    /// Two elements with the same name (the span is the second one's `name=`).
    #[error("another element is already named `{name}`: element names must be unique")]
    DuplicateName {
        /// The name.
        name: String,
    },
    /// A malformed property.
    #[error("bad property: {reason}")]
    BadProperty {
        /// What is wrong, and what to do.
        reason: &'static str,
    },
    /// A reference that is not `name.` or `name.pad`.
    #[error("bad reference: {reason}")]
    BadReference {
        /// What is wrong.
        reason: &'static str,
    },
    /// A word where an element factory name was expected, with characters factory names
    /// never have.
    #[error(
        "not an element factory name: factory names hold only letters, digits, `_`, `-` \
         and `+` (quote property values, and write caps between two `!`)"
    )]
    BadFactoryName,
    /// A caps filter that does not parse; the wrapped error's column is in the whole
    /// launch line.
    #[error("invalid caps filter: {}", .0.kind())]
    InvalidCaps(#[source] ParseError),
    /// A caps filter that is not between two linked elements.
    #[error("misplaced caps filter: {hint}")]
    MisplacedCaps {
        /// What is wrong.
        hint: &'static str,
    },
    /// Text that cannot be where it is.
    #[error("unexpected text: {hint}")]
    Unexpected {
        /// What was expected.
        hint: &'static str,
    },
    /// `(` or `)`: bins are not supported.
    #[error("bins `( ... )` are not supported yet: write the elements without parentheses")]
    BinsUnsupported,
}
