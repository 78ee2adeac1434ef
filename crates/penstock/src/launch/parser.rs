//! Chains of items linked by `!` (with optional caps between), then name resolution.

use std::collections::HashMap;

use crate::caps::Caps;

use super::lexer::{Lexer, Tok, Token};
use super::{ElementDesc, Endpoint, LaunchError, LaunchErrorKind, LinkDesc, PipelineDesc, Span};

type Result<T> = std::result::Result<T, LaunchError>;

/// What an item of a chain stands for.
#[derive(Debug, Clone, Copy)]
enum Target<'a> {
    /// An element written in place (its index).
    Element(usize),
    /// A reference, resolved once the whole line is read.
    Named(&'a str),
}

/// One item of a chain: an element written in place or a reference.
#[derive(Debug, Clone, Copy)]
struct Item<'a> {
    target: Target<'a>,
    pad: Option<&'a str>,
    span: Span,
}

/// Where the parser is in a chain.
enum State<'a> {
    /// Before the first item of a chain.
    Start,
    /// After an item (properties may follow an element).
    AfterItem(Item<'a>),
    /// After `src !`.
    AfterBang { src: Item<'a>, bang: Span },
    /// After `src ! caps`.
    AfterCaps {
        src: Item<'a>,
        bang: Span,
        caps: Caps,
        caps_span: Span,
    },
    /// After `src ! caps !`.
    AfterCapsBang {
        src: Item<'a>,
        bang: Span,
        caps: Caps,
        bang2: Span,
    },
}

struct Parser<'a> {
    input: &'a str,
    elements: Vec<ElementDesc>,
    links: Vec<LinkDesc>,
    /// For each link, the names of its references (source, sink) to resolve.
    link_refs: Vec<(Option<&'a str>, Option<&'a str>)>,
    /// Every reference, in order, to check that it resolves.
    refs: Vec<(&'a str, Span)>,
    /// For each element, the span of its last `name=` property.
    name_spans: Vec<Option<Span>>,
}

pub(super) fn parse(input: &str) -> Result<PipelineDesc> {
    let mut p = Parser {
        input,
        elements: Vec::new(),
        links: Vec::new(),
        link_refs: Vec::new(),
        refs: Vec::new(),
        name_spans: Vec::new(),
    };
    p.chains()?;
    p.resolve()?;
    Ok(PipelineDesc {
        elements: p.elements,
        links: p.links,
    })
}

impl<'a> Parser<'a> {
    fn err<T>(&self, kind: LaunchErrorKind, span: Span) -> Result<T> {
        Err(LaunchError::new(kind, span, self.input))
    }

    /// Reads every token, building elements and links.
    fn chains(&mut self) -> Result<()> {
        let mut lexer = Lexer::new(self.input);
        let mut state = State::Start;
        loop {
            let token = lexer.next_token()?;
            state = match token {
                None => return self.end(state),
                Some(token) => self.step(state, token)?,
            };
        }
    }

    /// The state after `token`.
    fn step(&mut self, state: State<'a>, token: Token<'a>) -> Result<State<'a>> {
        let span = token.span;
        if let Tok::Paren = token.tok {
            return self.err(LaunchErrorKind::BinsUnsupported, span);
        }
        match state {
            State::Start => match token.tok {
                Tok::Bang => self.err(
                    LaunchErrorKind::DanglingLink {
                        hint: "this `!` has no element before it",
                    },
                    span,
                ),
                Tok::Caps(_) => self.err(no_element_before_caps(), span),
                Tok::Property(_) => self.err(property_instead_of_element(), span),
                tok => Ok(State::AfterItem(self.item(tok, span))),
            },
            State::AfterItem(item) => match token.tok {
                Tok::Bang => Ok(State::AfterBang {
                    src: item,
                    bang: span,
                }),
                Tok::Property(prop) => {
                    let Target::Element(index) = item.target else {
                        return self.err(
                            LaunchErrorKind::BadProperty {
                                reason: "properties follow an element's factory name, not a \
                                         reference",
                            },
                            span,
                        );
                    };
                    if prop.name == "name" && prop.value.is_empty() {
                        return self.err(
                            LaunchErrorKind::BadProperty {
                                reason: "an element name cannot be empty",
                            },
                            prop.value_span,
                        );
                    }
                    let element = &mut self.elements[index];
                    if prop.name == "name" {
                        element.name = Some(prop.value.clone());
                        self.name_spans[index] = Some(prop.span);
                    }
                    element.span.end = prop.span.end;
                    element.properties.push(prop);
                    Ok(State::AfterItem(item))
                }
                Tok::Caps(_) => self.err(no_element_before_caps(), span),
                // A new chain.
                tok => Ok(State::AfterItem(self.item(tok, span))),
            },
            State::AfterBang { src, bang } => match token.tok {
                Tok::Caps(caps) => Ok(State::AfterCaps {
                    src,
                    bang,
                    caps,
                    caps_span: span,
                }),
                tok => {
                    let sink = self.sink_item(tok, span)?;
                    self.link(src, sink, None, bang);
                    Ok(State::AfterItem(sink))
                }
            },
            State::AfterCaps {
                src,
                bang,
                caps,
                caps_span,
            } => match token.tok {
                Tok::Bang => Ok(State::AfterCapsBang {
                    src,
                    bang,
                    caps,
                    bang2: span,
                }),
                // Bare caps run up to the next `!`, so only quoted caps get here.
                _ => self.err(
                    LaunchErrorKind::MisplacedCaps {
                        hint: "a caps filter must be followed by `!` and an element",
                    },
                    caps_span,
                ),
            },
            State::AfterCapsBang {
                src,
                bang,
                caps,
                bang2,
            } => match token.tok {
                Tok::Caps(_) => self.err(
                    LaunchErrorKind::MisplacedCaps {
                        hint: "two caps filters in a row: merge them into one",
                    },
                    span,
                ),
                tok => {
                    let sink = self.sink_item(tok, span)?;
                    self.link(src, sink, Some(caps), Span::new(bang.start, bang2.end));
                    Ok(State::AfterItem(sink))
                }
            },
        }
    }

    /// The end of the input in `state`.
    fn end(&self, state: State<'a>) -> Result<()> {
        match state {
            State::Start => {
                if self.elements.is_empty() && self.refs.is_empty() {
                    return self.err(LaunchErrorKind::EmptyPipeline, Span::new(0, 0));
                }
                Ok(())
            }
            State::AfterItem(_) => Ok(()),
            State::AfterBang { bang: span, .. } | State::AfterCapsBang { bang2: span, .. } => self
                .err(
                    LaunchErrorKind::DanglingLink {
                        hint: "this `!` has no element after it",
                    },
                    span,
                ),
            State::AfterCaps { caps_span, .. } => self.err(
                LaunchErrorKind::DanglingLink {
                    hint: "the caps filter has no `!` and element after it",
                },
                caps_span,
            ),
        }
    }

    /// The item that `token` (a factory name or a reference) is, right after a `!`.
    fn sink_item(&mut self, tok: Tok<'a>, span: Span) -> Result<Item<'a>> {
        match tok {
            Tok::Bang => self.err(
                LaunchErrorKind::ExpectedElement {
                    hint: "found another `!`: remove one, or put an element between them",
                },
                span,
            ),
            Tok::Property(_) => self.err(property_instead_of_element(), span),
            tok => Ok(self.item(tok, span)),
        }
    }

    /// A new element or a reference, from a factory or reference token.
    fn item(&mut self, tok: Tok<'a>, span: Span) -> Item<'a> {
        match tok {
            Tok::Reference { name, pad } => {
                self.refs.push((name, span));
                Item {
                    target: Target::Named(name),
                    pad,
                    span,
                }
            }
            Tok::Factory(factory) => {
                self.elements.push(ElementDesc {
                    factory: factory.to_owned(),
                    name: None,
                    properties: Vec::new(),
                    span,
                });
                self.name_spans.push(None);
                Item {
                    target: Target::Element(self.elements.len() - 1),
                    pad: None,
                    span,
                }
            }
            // The callers handle every other token before.
            Tok::Bang | Tok::Paren | Tok::Property(_) | Tok::Caps(_) => Item {
                target: Target::Named(""),
                pad: None,
                span,
            },
        }
    }

    fn link(&mut self, src: Item<'a>, sink: Item<'a>, caps: Option<Caps>, span: Span) {
        let endpoint = |item: Item<'a>| {
            let (element, name) = match item.target {
                Target::Element(i) => (i, None),
                Target::Named(name) => (0, Some(name)),
            };
            let endpoint = Endpoint {
                element,
                pad: item.pad.map(str::to_owned),
                span: item.span,
            };
            (endpoint, name)
        };
        let (src, src_ref) = endpoint(src);
        let (sink, sink_ref) = endpoint(sink);
        self.links.push(LinkDesc {
            src,
            sink,
            caps,
            span,
        });
        self.link_refs.push((src_ref, sink_ref));
    }

    /// Checks that names are unique and references name elements, and resolves them.
    fn resolve(&mut self) -> Result<()> {
        let mut names: HashMap<&str, usize> = HashMap::new();
        for (i, element) in self.elements.iter().enumerate() {
            let Some(name) = element.name.as_deref() else {
                continue;
            };
            if names.insert(name, i).is_some() {
                let span = self.name_spans[i].unwrap_or(element.span);
                return self.err(
                    LaunchErrorKind::DuplicateName {
                        name: name.to_owned(),
                    },
                    span,
                );
            }
        }
        for &(name, span) in &self.refs {
            if !names.contains_key(name) {
                return self.err(
                    LaunchErrorKind::UnknownReference {
                        name: name.to_owned(),
                    },
                    span,
                );
            }
        }
        for (link, &(src, sink)) in self.links.iter_mut().zip(&self.link_refs) {
            if let Some(index) = src.and_then(|n| names.get(n)) {
                link.src.element = *index;
            }
            if let Some(index) = sink.and_then(|n| names.get(n)) {
                link.sink.element = *index;
            }
        }
        Ok(())
    }
}

fn no_element_before_caps() -> LaunchErrorKind {
    LaunchErrorKind::MisplacedCaps {
        hint: "this caps filter has no element and `!` before it: caps go between two \
               linked elements, as in `a ! video/x-raw ! b`",
    }
}

fn property_instead_of_element() -> LaunchErrorKind {
    LaunchErrorKind::ExpectedElement {
        hint: "found a property: properties follow their element's factory name, as in \
               `fakesink sync=false`",
    }
}
