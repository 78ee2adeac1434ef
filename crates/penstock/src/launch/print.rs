//! Printing a [`PipelineDesc`] as a canonical launch line.
//!
//! Elements are written in index order, each where a link first needs it or else alone
//! (a chain of one element); links in order, a link continuing the current chain when
//! it starts where the previous one ended. An endpoint is written as the element itself
//! when that element is the next to write, and as a reference otherwise. A description
//! that [`parse`](super::parse) returned always prints this way; one built by hand that
//! needs a reference to an element without a usable name gets a reference `#N.` (N its
//! index), which does not parse.

use std::fmt::{self, Write as _};

use crate::caps::Caps;

use super::lexer::{Lexer, Tok, looks_like_caps, quote, value_needs_quotes};
use super::{Endpoint, PipelineDesc};

impl fmt::Display for PipelineDesc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut p = Printer {
            desc: self,
            out: String::new(),
            next: 0,
            cur: None,
        };
        for link in &self.links {
            p.link(&link.src, &link.sink, link.caps.as_ref());
        }
        p.flush_to(self.elements.len());
        f.write_str(&p.out)
    }
}

/// An endpoint as (element index, pad).
type End<'d> = (usize, Option<&'d str>);

fn end(e: &Endpoint) -> End<'_> {
    (e.element, e.pad.as_deref())
}

struct Printer<'d> {
    desc: &'d PipelineDesc,
    out: String,
    /// The next element to write.
    next: usize,
    /// The last item of the current chain.
    cur: Option<End<'d>>,
}

impl<'d> Printer<'d> {
    /// Whether the endpoint can be written as a reference that parses back to it.
    fn referable(&self, (element, pad): End<'_>) -> bool {
        let Some(name) = self
            .desc
            .elements
            .get(element)
            .and_then(|e| e.name.as_deref())
        else {
            return false;
        };
        let text = reference_text(name, pad);
        let mut lexer = Lexer::new(&text);
        match lexer.next_token() {
            Ok(Some(token)) => {
                matches!(token.tok, Tok::Reference { name: n, pad: p } if n == name && p == pad)
                    && token.span.end == text.len()
            }
            _ => false,
        }
    }

    fn space(&mut self) {
        if !self.out.is_empty() {
            self.out.push(' ');
        }
    }

    /// Writes element `self.next`.
    fn define(&mut self) {
        let Some(element) = self.desc.elements.get(self.next) else {
            return;
        };
        self.next += 1;
        self.space();
        self.out.push_str(&element.factory);
        for prop in &element.properties {
            self.out.push(' ');
            self.out.push_str(&prop.name);
            self.out.push('=');
            if prop.quoted || value_needs_quotes(&prop.value) {
                self.out.push_str(&quote(&prop.value));
            } else {
                self.out.push_str(&prop.value);
            }
        }
    }

    /// Writes the elements before `end` not written yet, each alone.
    fn flush_to(&mut self, end: usize) {
        while self.next < end.min(self.desc.elements.len()) {
            self.define();
            self.cur = None;
        }
    }

    /// Writes a reference to the endpoint.
    fn reference(&mut self, (element, pad): End<'_>) {
        self.space();
        let name = self
            .desc
            .elements
            .get(element)
            .and_then(|e| e.name.as_deref());
        match name {
            Some(name) if self.referable((element, pad)) => {
                self.out.push_str(&reference_text(name, pad));
            }
            _ => {
                let _ = write!(self.out, "#{element}.{}", pad.unwrap_or(""));
            }
        }
    }

    /// Writes the endpoint: the element itself if it is the next to write, else a
    /// reference.
    fn item(&mut self, e: End<'_>) {
        if e.1.is_none() && e.0 == self.next {
            self.define();
        } else {
            self.reference(e);
        }
    }

    fn bang(&mut self, caps: Option<&Caps>) {
        self.out.push_str(" !");
        if let Some(caps) = caps {
            self.out.push(' ');
            self.out.push_str(&caps_text(caps));
            self.out.push_str(" !");
        }
    }

    fn link(&mut self, src: &'d Endpoint, sink: &'d Endpoint, caps: Option<&Caps>) {
        let (src, sink) = (end(src), end(sink));
        let sink_in_place = sink.1.is_none() && sink.0 == self.next;
        let sink_referable = self.referable(sink);
        if self.cur == Some(src) && (sink_in_place || sink_referable) {
            // Continue the chain.
            self.bang(caps);
            self.item(sink);
        } else if sink.1.is_none() && !sink_referable && sink.0 > self.next {
            // The sink can only be written in place, after every element before it.
            if src.1.is_none() && src.0 + 1 == sink.0 && src.0 >= self.next {
                self.flush_to(src.0);
                self.define();
            } else {
                self.flush_to(sink.0);
                self.reference(src);
            }
            self.bang(caps);
            self.define();
        } else {
            if src.1.is_none() && src.0 == self.next {
                self.define();
            } else if self.referable(src) {
                self.reference(src);
            } else if src.1.is_none() && src.0 > self.next {
                self.flush_to(src.0);
                self.define();
            } else {
                self.reference(src);
            }
            self.bang(caps);
            self.item(sink);
        }
        self.cur = Some(sink);
    }
}

fn reference_text(name: &str, pad: Option<&str>) -> String {
    format!("{name}.{}", pad.unwrap_or(""))
}

/// Caps as `Display` writes them, quoted unless they read back bare.
fn caps_text(caps: &Caps) -> String {
    let text = caps.to_string();
    if looks_like_caps(&text) {
        let mut lexer = Lexer::new(&text);
        if let Ok(Some(token)) = lexer.next_token() {
            if matches!(&token.tok, Tok::Caps(c) if c == caps) && token.span.end == text.len() {
                return text;
            }
        }
    }
    quote(&text)
}
