//! Property tests of the launch-line parser: no input makes it panic, generated
//! pipelines parse to the description they were generated from (spans included), and
//! printing a parsed description then parsing the print gives it back.

use penstock::caps::Caps;
use penstock::launch::{
    ElementDesc, Endpoint, LaunchError, LinkDesc, PipelineDesc, PropertyDesc, Span, parse,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------
// A model of a launch line, rendered to text and to the description it must parse to.

#[derive(Debug, Clone, Copy)]
enum Quote {
    Bare,
    Double,
    Single,
}

#[derive(Debug, Clone)]
struct Prop {
    name: String,
    value: String,
    quote: Quote,
}

#[derive(Debug, Clone, Copy)]
enum NameStyle {
    /// `n3`.
    Ident,
    /// `n.3`: references split at the last dot.
    Dotted,
    /// `"el 3"`: cannot be referred to.
    Spaced,
}

#[derive(Debug, Clone)]
struct Element {
    factory: String,
    props: Vec<Prop>,
    name: Option<(NameStyle, usize)>,
}

#[derive(Debug, Clone)]
enum Sep {
    /// Whitespace: a new chain.
    Space(&'static str),
    /// `!`, with caps (text, quoted) or not; `tight` writes no spaces around the `!`.
    Link {
        caps: Option<(String, bool)>,
        tight: bool,
    },
}

#[derive(Debug, Clone)]
struct Model {
    elements: Vec<Element>,
    /// (where among the items, which named element, pad).
    refs: Vec<(usize, usize, Option<String>)>,
    seps: Vec<Sep>,
}

#[derive(Debug, Clone)]
enum Item {
    Def(usize),
    Ref(usize, Option<String>),
}

fn escape(text: &str, quote: char) -> String {
    let mut out = String::new();
    out.push(quote);
    for c in text.chars() {
        if c == quote || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push(quote);
    out
}

impl Prop {
    fn render_value(&self) -> String {
        match self.quote {
            Quote::Bare => self.value.clone(),
            Quote::Double => escape(&self.value, '"'),
            Quote::Single => escape(&self.value, '\''),
        }
    }
}

fn element_name(style: NameStyle, index: usize) -> String {
    match style {
        NameStyle::Ident => format!("n{index}"),
        NameStyle::Dotted => format!("n.{index}"),
        NameStyle::Spaced => format!("el {index}"),
    }
}

impl Model {
    /// The element's properties, its `name=` placed among them.
    fn props(&self, index: usize) -> Vec<Prop> {
        let e = &self.elements[index];
        let mut props = e.props.clone();
        if let Some((style, pos)) = e.name {
            let quote = match style {
                NameStyle::Spaced => Quote::Double,
                _ => Quote::Bare,
            };
            props.insert(
                pos % (props.len() + 1),
                Prop {
                    name: "name".into(),
                    value: element_name(style, index),
                    quote,
                },
            );
        }
        props
    }

    fn items(&self) -> Vec<Item> {
        let mut items: Vec<Item> = (0..self.elements.len()).map(Item::Def).collect();
        let referable: Vec<usize> = (0..self.elements.len())
            .filter(|&i| {
                matches!(
                    self.elements[i].name,
                    Some((NameStyle::Ident | NameStyle::Dotted, _))
                )
            })
            .collect();
        if !referable.is_empty() {
            for (pos, target, pad) in &self.refs {
                let target = referable[target % referable.len()];
                items.insert(pos % (items.len() + 1), Item::Ref(target, pad.clone()));
            }
        }
        items
    }

    /// The launch line and the description it must parse to.
    fn render(&self) -> (String, PipelineDesc) {
        let mut text = String::new();
        let mut elements: Vec<ElementDesc> = Vec::new();
        let mut links: Vec<LinkDesc> = Vec::new();
        let mut prev: Option<Endpoint> = None;
        let mut pending: Option<(Option<Caps>, Span)> = None;
        for (k, item) in self.items().iter().enumerate() {
            if k > 0 {
                let sep = self.seps.get(k - 1).cloned().unwrap_or(Sep::Space(" "));
                match sep {
                    Sep::Space(ws) => {
                        text.push_str(ws);
                        pending = None;
                    }
                    Sep::Link { caps, tight } => {
                        let pad = if tight { "" } else { " " };
                        text.push_str(pad);
                        let start = text.len();
                        text.push('!');
                        let parsed = caps.map(|(c, quoted)| {
                            text.push_str(pad);
                            if quoted {
                                text.push_str(&escape(&c, '"'));
                            } else {
                                text.push_str(&c);
                            }
                            text.push_str(pad);
                            text.push('!');
                            c.parse::<Caps>().expect("generated caps parse")
                        });
                        pending = Some((parsed, Span::new(start, text.len())));
                        text.push_str(pad);
                    }
                }
            }
            let start = text.len();
            let endpoint = match item {
                Item::Def(i) => {
                    let e = &self.elements[*i];
                    text.push_str(&e.factory);
                    let factory_span = Span::new(start, text.len());
                    let mut properties = Vec::new();
                    let mut name = None;
                    for p in self.props(*i) {
                        text.push(' ');
                        let pstart = text.len();
                        text.push_str(&p.name);
                        text.push('=');
                        let vstart = text.len();
                        text.push_str(&p.render_value());
                        if p.name == "name" {
                            name = Some(p.value.clone());
                        }
                        properties.push(PropertyDesc {
                            name: p.name,
                            value: p.value,
                            quoted: !matches!(p.quote, Quote::Bare),
                            span: Span::new(pstart, text.len()),
                            value_span: Span::new(vstart, text.len()),
                        });
                    }
                    elements.push(ElementDesc {
                        factory: e.factory.clone(),
                        name,
                        properties,
                        span: Span::new(start, text.len()),
                    });
                    Endpoint {
                        element: *i,
                        pad: None,
                        span: factory_span,
                    }
                }
                Item::Ref(target, pad) => {
                    let (style, _) = self.elements[*target].name.expect("referable");
                    text.push_str(&element_name(style, *target));
                    text.push('.');
                    if let Some(pad) = pad {
                        text.push_str(pad);
                    }
                    Endpoint {
                        element: *target,
                        pad: pad.clone(),
                        span: Span::new(start, text.len()),
                    }
                }
            };
            if let (Some(src), Some((caps, span))) = (prev.take(), pending.take()) {
                links.push(LinkDesc {
                    src,
                    sink: endpoint.clone(),
                    caps,
                    span,
                });
            }
            prev = Some(endpoint);
        }
        (text, PipelineDesc { elements, links })
    }
}

// ---------------------------------------------------------------------------------------
// Strategies.

fn quoted_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,12}",
        "[a-z \"'\\\\!=()]{0,10}",
        any::<String>(),
        Just(String::new()),
    ]
}

fn prop_strategy() -> impl Strategy<Value = Prop> {
    let value = prop_oneof![
        3 => "[A-Za-z0-9_/.:,+=()-]{1,12}".prop_map(|v| (v, Quote::Bare)),
        2 => quoted_text().prop_map(|v| (v, Quote::Double)),
        1 => quoted_text().prop_map(|v| (v, Quote::Single)),
    ];
    (
        "[a-z][a-z0-9_-]{0,8}|[a-z]{1,5}::[a-z]{1,5}".prop_filter("not name", |n| n != "name"),
        value,
    )
        .prop_map(|(name, (value, quote))| Prop { name, value, quote })
}

fn element_strategy() -> impl Strategy<Value = Element> {
    let name = prop_oneof![
        2 => Just(None),
        3 => (0usize..8).prop_map(|p| Some((NameStyle::Ident, p))),
        1 => (0usize..8).prop_map(|p| Some((NameStyle::Dotted, p))),
        1 => (0usize..8).prop_map(|p| Some((NameStyle::Spaced, p))),
    ];
    (
        "[a-z0-9][a-z0-9_+-]{0,10}",
        prop::collection::vec(prop_strategy(), 0..4),
        name,
    )
        .prop_map(|(factory, props, name)| Element {
            factory,
            props,
            name,
        })
}

fn caps_strategy() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        (1i32..5000).prop_map(|w| format!("width={w}")),
        Just("format=NV12".to_owned()),
        Just("format={ NV12, I420 }".to_owned()),
        Just("framerate=30/1".to_owned()),
        Just("height=[ 1, 4096 ]".to_owned()),
        Just("s=\"a ! b\"".to_owned()),
        Just("t=(string)\"q\\\"!\"".to_owned()),
        Just("drm-format=NV12:0x0100000000000002".to_owned()),
        Just("rate=(double)1.5".to_owned()),
    ];
    let structure = (
        prop_oneof![
            Just("video/x-raw"),
            Just("audio/x-raw"),
            Just("application/x-rtp")
        ],
        prop_oneof![
            Just(""),
            Just("(memory:DMABuf)"),
            Just("(ANY)"),
            Just("(memory:DMABuf, meta:GstVideoMeta)")
        ],
        prop::collection::vec(field, 0..4),
        prop_oneof![Just(","), Just(", "), Just(" , ")],
    )
        .prop_map(|(media, features, fields, comma)| {
            let mut s = format!("{media}{features}");
            for f in fields {
                s.push_str(comma);
                s.push_str(&f);
            }
            s
        });
    prop_oneof![
        8 => structure.clone(),
        1 => (structure.clone(), structure).prop_map(|(a, b)| format!("{a}; {b}")),
        1 => Just("ANY".to_owned()),
    ]
}

fn sep_strategy() -> impl Strategy<Value = Sep> {
    prop_oneof![
        1 => prop_oneof![Just(" "), Just("  "), Just("\n"), Just("\t "), Just("\r\n")]
            .prop_map(Sep::Space),
        2 => any::<bool>().prop_map(|tight| Sep::Link { caps: None, tight }),
        2 => (caps_strategy(), any::<bool>(), any::<bool>())
            .prop_map(|(c, quoted, tight)| Sep::Link { caps: Some((c, quoted)), tight }),
    ]
}

fn model_strategy() -> impl Strategy<Value = Model> {
    (
        prop::collection::vec(element_strategy(), 1..6),
        prop::collection::vec(
            (
                0usize..16,
                0usize..8,
                prop::option::of("(src|sink|video|audio)_[0-9]{1,2}"),
            ),
            0..5,
        ),
        prop::collection::vec(sep_strategy(), 0..12),
    )
        .prop_map(|(elements, refs, seps)| Model {
            elements,
            refs,
            seps,
        })
}

/// Text made of the launch syntax's characters, to reach deep into the parser.
fn launchish() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-c !.=\"'\\\\()/,;x0-9_ -]{0,40}",
        "([a-c]{1,3}|[a-c]\\.[a-z]{0,3}|[a-c]=[a-c\"']{1,3}|!|video/x-raw(,[a-z]=[0-9\"]{1,2})*|\"|'|\\(|\\)| |  )*",
        any::<String>(),
    ]
}

// ---------------------------------------------------------------------------------------
// Checks.

/// An error's accessors agree with each other and with the input, and render.
fn check_error(input: &str, e: &LaunchError) -> Result<(), TestCaseError> {
    let span = e.span();
    prop_assert!(span.start <= span.end && span.end <= input.len(), "{e:?}");
    prop_assert_eq!(e.column(), span.start);
    prop_assert_eq!(e.token(), span.text(input));
    let _ = e.to_string();
    let snippet = e.snippet(input);
    prop_assert!(snippet.contains('^'));
    Ok(())
}

/// Printing `d` and parsing the print gives `d` back, spans aside.
fn check_reprint(d: &PipelineDesc) -> Result<(), TestCaseError> {
    let printed = d.to_string();
    let again = parse(&printed)
        .map_err(|e| TestCaseError::fail(format!("{printed:?} does not parse: {e}")))?;
    prop_assert_eq!(
        again.without_spans(),
        d.without_spans(),
        "printed as {}",
        printed
    );
    prop_assert_eq!(again.to_string(), printed);
    Ok(())
}

// Under Miri (very slow here: the generated pipelines took minutes for a few cases), only
// a few arbitrary inputs run: the launch module has no unsafe code, and its unit tests run
// under Miri too. No failure files (Miri isolates the file system).
proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 1000 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_input_never_panics(input in launchish()) {
        match parse(&input) {
            Ok(d) => {
                for l in &d.links {
                    prop_assert!(l.src.element < d.elements.len());
                    prop_assert!(l.sink.element < d.elements.len());
                }
                check_reprint(&d)?;
            }
            Err(e) => check_error(&input, &e)?,
        }
    }

    #[test]
    #[cfg_attr(miri, ignore)]
    fn generated_pipelines_parse_to_their_model(model in model_strategy()) {
        let (text, expected) = model.render();
        let got = parse(&text).map_err(|e| {
            TestCaseError::fail(format!("{text:?} does not parse: {e}\n{}", e.snippet(&text)))
        })?;
        prop_assert_eq!(&got, &expected, "parsing {}", text);
        check_reprint(&got)?;
    }

    #[test]
    #[cfg_attr(miri, ignore)]
    fn damaged_pipelines_never_panic(
        model in model_strategy(),
        cut in any::<prop::sample::Index>(),
        insert in any::<prop::sample::Index>(),
        junk in prop_oneof![Just("!"), Just("\""), Just("'"), Just("("), Just("."), Just("="),
                            Just(" "), Just("/"), Just("\\"), Just("é")],
    ) {
        let (text, _) = model.render();
        let boundaries: Vec<usize> =
            (0..=text.len()).filter(|&i| text.is_char_boundary(i)).collect();
        let truncated = &text[..boundaries[cut.index(boundaries.len())]];
        let at = boundaries[insert.index(boundaries.len())];
        let mut damaged = text.clone();
        damaged.insert_str(at, junk);
        for input in [truncated, damaged.as_str()] {
            match parse(input) {
                Ok(d) => check_reprint(&d)?,
                Err(e) => check_error(input, &e)?,
            }
        }
    }
}
