//! Unit tests of the launch-line parser and printer.

use super::*;
use crate::caps::{Caps, ParseErrorKind};

fn ok(input: &str) -> PipelineDesc {
    match parse(input) {
        Ok(d) => d,
        Err(e) => panic!("{input:?} should parse: {e}\n{}", e.snippet(input)),
    }
}

fn err(input: &str) -> LaunchError {
    match parse(input) {
        Ok(d) => panic!("{input:?} should not parse, got {d:?}"),
        Err(e) => e,
    }
}

fn caps(s: &str) -> Caps {
    s.parse().unwrap()
}

/// A link as `(src element, src pad, sink element, sink pad, has caps)`.
type LinkSummary<'a> = (usize, Option<&'a str>, usize, Option<&'a str>, bool);

fn links(d: &PipelineDesc) -> Vec<LinkSummary<'_>> {
    d.links
        .iter()
        .map(|l| {
            (
                l.src.element,
                l.src.pad.as_deref(),
                l.sink.element,
                l.sink.pad.as_deref(),
                l.caps.is_some(),
            )
        })
        .collect()
}

fn factories(d: &PipelineDesc) -> Vec<&str> {
    d.elements.iter().map(|e| e.factory.as_str()).collect()
}

/// Checks that printing `d` and parsing the print gives `d` back (spans aside), and
/// returns the print.
fn reprint(d: &PipelineDesc) -> String {
    let printed = d.to_string();
    let again = ok(&printed);
    assert_eq!(
        again.without_spans(),
        d.without_spans(),
        "printed as {printed}"
    );
    assert_eq!(again.to_string(), printed, "printing is stable");
    printed
}

// ---------------------------------------------------------------------------------------
// Elements, properties, links.

#[test]
fn simple_chain() {
    let input = "videotestsrc num-buffers=10 ! fakesink";
    let d = ok(input);
    assert_eq!(factories(&d), ["videotestsrc", "fakesink"]);
    let src = &d.elements[0];
    assert_eq!(src.name, None);
    assert_eq!(src.span, Span::new(0, 27));
    assert_eq!(src.span.text(input), "videotestsrc num-buffers=10");
    assert_eq!(
        src.properties,
        [PropertyDesc {
            name: "num-buffers".into(),
            value: "10".into(),
            quoted: false,
            span: Span::new(13, 27),
            value_span: Span::new(25, 27),
        }]
    );
    assert_eq!(d.elements[1].span, Span::new(30, 38));
    assert_eq!(
        d.links,
        [LinkDesc {
            src: Endpoint {
                element: 0,
                pad: None,
                span: Span::new(0, 12),
            },
            sink: Endpoint {
                element: 1,
                pad: None,
                span: Span::new(30, 38),
            },
            caps: None,
            span: Span::new(28, 29),
        }]
    );
    assert_eq!(reprint(&d), input);
}

#[test]
fn single_element_and_no_spaces_around_bang() {
    let d = ok("  fakesink  ");
    assert_eq!(factories(&d), ["fakesink"]);
    assert!(d.links.is_empty());
    assert_eq!(d.elements[0].span, Span::new(2, 10));

    let d = ok("a!b!c");
    assert_eq!(factories(&d), ["a", "b", "c"]);
    assert_eq!(
        links(&d),
        [(0, None, 1, None, false), (1, None, 2, None, false)]
    );
    assert_eq!(reprint(&d), "a ! b ! c");

    let d = ok("a\n!\tb\r\n");
    assert_eq!(links(&d), [(0, None, 1, None, false)]);
}

#[test]
fn properties_of_all_kinds() {
    let input = r#"src a=1 b="/tmp/a b.raw" c='it\'s "x"' d="" e='' f="say \"hi\" \\o/" g="C:\dir" h=x=y i=caps(memory:DMABuf) j="!" k=-1.5e3 child::prop=on"#;
    let d = ok(input);
    let props: Vec<(&str, &str, bool)> = d.elements[0]
        .properties
        .iter()
        .map(|p| (p.name.as_str(), p.value.as_str(), p.quoted))
        .collect();
    assert_eq!(
        props,
        [
            ("a", "1", false),
            ("b", "/tmp/a b.raw", true),
            ("c", "it's \"x\"", true),
            ("d", "", true),
            ("e", "", true),
            ("f", "say \"hi\" \\o/", true),
            ("g", "C:\\dir", true),
            ("h", "x=y", false),
            ("i", "caps(memory:DMABuf)", false),
            ("j", "!", true),
            ("k", "-1.5e3", false),
            ("child::prop", "on", false),
        ]
    );
    for p in &d.elements[0].properties {
        let whole = p.span.text(input);
        assert!(whole.starts_with(&format!("{}=", p.name)), "{whole}");
        assert!(whole.ends_with(p.value_span.text(input)));
    }
    let b = &d.elements[0].properties[1];
    assert_eq!(b.value_span.text(input), "\"/tmp/a b.raw\"");
    assert_eq!(d.elements[0].property("e").map(|p| p.quoted), Some(true));
    assert_eq!(d.elements[0].span, Span::new(0, input.len()));
    let printed = reprint(&d);
    assert_eq!(
        printed,
        r#"src a=1 b="/tmp/a b.raw" c="it's \"x\"" d="" e="" f="say \"hi\" \\o/" g="C:\\dir" h=x=y i=caps(memory:DMABuf) j="!" k=-1.5e3 child::prop=on"#
    );
}

#[test]
fn rawvideoparse_chain() {
    let d = ok("filesrc location=F ! rawvideoparse format=nv12 width=1920 height=1080 ! fakesink");
    assert_eq!(factories(&d), ["filesrc", "rawvideoparse", "fakesink"]);
    let parse = &d.elements[1];
    let props: Vec<(&str, &str)> = parse
        .properties
        .iter()
        .map(|p| (p.name.as_str(), p.value.as_str()))
        .collect();
    assert_eq!(
        props,
        [("format", "nv12"), ("width", "1920"), ("height", "1080")]
    );
    assert_eq!(d.elements[0].property("location").unwrap().value, "F");
    assert_eq!(
        links(&d),
        [(0, None, 1, None, false), (1, None, 2, None, false)]
    );
    reprint(&d);
}

#[test]
fn chains_are_separated_by_whitespace() {
    let d = ok("a ! b c ! d  e");
    assert_eq!(factories(&d), ["a", "b", "c", "d", "e"]);
    assert_eq!(
        links(&d),
        [(0, None, 1, None, false), (2, None, 3, None, false)]
    );
    assert_eq!(reprint(&d), "a ! b c ! d e");
}

#[test]
fn name_property() {
    let d = ok("tee name=t x=1 name=u");
    assert_eq!(
        d.elements[0].name.as_deref(),
        Some("u"),
        "the last name wins"
    );
    assert_eq!(d.elements[0].properties.len(), 3);
    assert_eq!(d.element_by_name("u"), Some(0));
    assert_eq!(d.element_by_name("t"), None);
    let d = ok(r#"tee name="my tee""#);
    assert_eq!(d.elements[0].name.as_deref(), Some("my tee"));
}

// ---------------------------------------------------------------------------------------
// Caps filters.

#[test]
fn caps_filter() {
    let input = "videotestsrc ! video/x-raw,format=NV12,width=1920 ! fakesink";
    let d = ok(input);
    assert_eq!(factories(&d), ["videotestsrc", "fakesink"]);
    assert_eq!(links(&d), [(0, None, 1, None, true)]);
    let l = &d.links[0];
    assert_eq!(
        l.caps.as_ref(),
        Some(&caps("video/x-raw, format=NV12, width=1920"))
    );
    assert_eq!(l.span.text(input), "! video/x-raw,format=NV12,width=1920 !");
    assert_eq!(
        reprint(&d),
        "videotestsrc ! video/x-raw, format=(string)NV12, width=(int)1920 ! fakesink"
    );
}

#[test]
fn dmabuf_caps_filter() {
    let c = "video/x-raw(memory:DMABuf),format=DMA_DRM,drm-format=NV12:0x0100000000000002,\
             width=1920,height=1080";
    let d = ok(&format!("v4l2src ! {c} ! fakesink"));
    let got = d.links[0].caps.as_ref().unwrap();
    assert_eq!(got, &caps(c));
    assert!(got.features(0).unwrap().contains("memory:DMABuf"));
    assert_eq!(
        got.structure(0).unwrap().get_str("drm-format"),
        Some("NV12:0x0100000000000002")
    );
    reprint(&d);
}

#[test]
fn caps_with_spaces_ranges_lists_and_quotes() {
    let d = ok("a ! video/x-raw, format=NV12 ! b");
    assert_eq!(
        d.links[0].caps.as_ref(),
        Some(&caps("video/x-raw,format=NV12"))
    );
    assert_eq!(d.links[0].span, Span::new(2, 30));

    let c = r#"video/x-raw, width=[ 1, 4096 ], format={ NV12, I420 }, s="a ! b", t=(string)"q\"!"; audio/x-raw"#;
    let d = ok(&format!("a ! {c} ! b ! {c} ! c"));
    assert_eq!(factories(&d), ["a", "b", "c"]);
    assert_eq!(d.links[0].caps.as_ref(), Some(&caps(c)));
    assert_eq!(d.links[1].caps.as_ref(), Some(&caps(c)));
    reprint(&d);

    let d = ok("a ! ANY ! b ! EMPTY ! c");
    assert_eq!(d.links[0].caps, Some(Caps::new_any()));
    assert_eq!(d.links[1].caps, Some(Caps::new_empty()));
    assert_eq!(reprint(&d), "a ! ANY ! b ! EMPTY ! c");
}

#[test]
fn quoted_caps() {
    let d = ok(r#"a ! "video/x-raw, format=NV12" ! b"#);
    assert_eq!(
        d.links[0].caps.as_ref(),
        Some(&caps("video/x-raw,format=NV12"))
    );
    let d = ok(r#"a ! 'video/x-raw, s="x y"' ! b ! "video/x-raw, s=\"x y\", b=\"\\\\\"" ! c"#);
    assert_eq!(
        d.links[0].caps.as_ref(),
        Some(&caps(r#"video/x-raw, s="x y""#))
    );
    assert_eq!(
        d.links[1].caps.as_ref(),
        Some(&caps(r#"video/x-raw, s="x y", b="\\""#))
    );
    // Caps whose media type has no `/` only read back quoted.
    let d = ok(r#"a ! "foo, x=1" ! b"#);
    assert_eq!(reprint(&d), r#"a ! "foo, x=(int)1" ! b"#);
}

#[test]
fn capsfilter_property_is_a_value_not_a_filter() {
    let d = ok("a ! capsfilter caps=video/x-raw,format=NV12 ! b");
    assert_eq!(factories(&d), ["a", "capsfilter", "b"]);
    assert_eq!(
        d.elements[1].property("caps").unwrap().value,
        "video/x-raw,format=NV12"
    );
    assert!(d.links.iter().all(|l| l.caps.is_none()));
}

// ---------------------------------------------------------------------------------------
// References.

#[test]
fn tee_example() {
    let input = "videotestsrc num-buffers=600 ! video/x-raw,format=NV12,width=1920,height=1080 \
                 ! tee name=t t. ! queue ! fakesink t. ! queue ! fakesink";
    let d = ok(input);
    assert_eq!(
        factories(&d),
        [
            "videotestsrc",
            "tee",
            "queue",
            "fakesink",
            "queue",
            "fakesink"
        ]
    );
    assert_eq!(d.elements[1].name.as_deref(), Some("t"));
    assert_eq!(
        links(&d),
        [
            (0, None, 1, None, true),
            (1, None, 2, None, false),
            (2, None, 3, None, false),
            (1, None, 4, None, false),
            (4, None, 5, None, false),
        ]
    );
    assert_eq!(
        d.links[0].caps.as_ref(),
        Some(&caps("video/x-raw,format=NV12,width=1920,height=1080"))
    );
    assert_eq!(d.links[1].src.span.text(input), "t.");
    assert_eq!(d.links[3].src.span.text(input), "t.");
    assert_ne!(d.links[1].src.span, d.links[3].src.span);
    assert_eq!(
        reprint(&d),
        "videotestsrc num-buffers=600 ! video/x-raw, format=(string)NV12, width=(int)1920, \
         height=(int)1080 ! tee name=t ! queue ! fakesink t. ! queue ! fakesink"
    );
}

#[test]
fn named_pads() {
    let input = "tee name=t t.src_0 ! queue ! mux.sink_1 t.src_1 ! mux.sink_0  mpegtsmux name=mux";
    let d = ok(input);
    assert_eq!(factories(&d), ["tee", "queue", "mpegtsmux"]);
    assert_eq!(
        links(&d),
        [
            (0, Some("src_0"), 1, None, false),
            (1, None, 2, Some("sink_1"), false),
            (0, Some("src_1"), 2, Some("sink_0"), false),
        ]
    );
    assert_eq!(d.links[1].sink.span.text(input), "mux.sink_1");
    assert_eq!(
        reprint(&d),
        "tee name=t t.src_0 ! queue ! mux.sink_1 t.src_1 ! mux.sink_0 mpegtsmux name=mux"
    );
}

#[test]
fn reference_in_the_middle_and_at_the_end() {
    let d = ok("a ! t.sink_1 ! b  c ! t.  funnel name=t");
    assert_eq!(factories(&d), ["a", "b", "c", "funnel"]);
    assert_eq!(
        links(&d),
        [
            (0, None, 3, Some("sink_1"), false),
            (3, Some("sink_1"), 1, None, false),
            (2, None, 3, None, false),
        ]
    );
    reprint(&d);
}

#[test]
fn forward_references() {
    let d = ok("t. ! queue ! fakesink tee name=t");
    assert_eq!(factories(&d), ["queue", "fakesink", "tee"]);
    assert_eq!(
        links(&d),
        [(2, None, 0, None, false), (0, None, 1, None, false)]
    );
    assert_eq!(reprint(&d), "t. ! queue ! fakesink tee name=t");

    let d = ok("src ! dst.  x  y name=dst");
    assert_eq!(links(&d), [(0, None, 2, None, false)]);
    assert_eq!(reprint(&d), "src ! dst. x y name=dst");
}

#[test]
fn dotted_names_split_at_the_last_dot() {
    let d = ok("tee name=my.tee  my.tee.src_0 ! fakesink  my.tee. ! fakesink");
    assert_eq!(
        links(&d),
        [
            (0, Some("src_0"), 1, None, false),
            (0, None, 2, None, false)
        ]
    );
    reprint(&d);
}

#[test]
fn lone_references_are_checked() {
    let d = ok("tee name=t t.");
    assert!(d.links.is_empty());
    let e = err("tee name=t u.");
    assert_eq!((e.column(), e.token()), (11, "u."));
}

// ---------------------------------------------------------------------------------------
// Errors.

#[test]
fn empty_pipeline() {
    for input in ["", "   ", "\n\t"] {
        let e = err(input);
        assert_eq!(e.kind(), &LaunchErrorKind::EmptyPipeline);
        assert_eq!((e.column(), e.token()), (0, ""));
    }
}

#[test]
fn unbalanced_quote() {
    let input = r#"filesrc location="/tmp/a b.raw ! fakesink"#;
    let e = err(input);
    assert_eq!(e.kind(), &LaunchErrorKind::UnbalancedQuote { quote: '"' });
    assert_eq!((e.column(), e.token()), (17, "\""));
    assert_eq!(
        e.to_string(),
        "at column 18, `\"`: this \" is never closed: add a closing \" (write \\\" for a \
         quote inside the string)"
    );
    // An escaped quote does not close the string.
    let e = err(r#"a b="x\" ! c"#);
    assert_eq!((e.column(), e.token()), (4, "\""));
    let e = err("a b='x ! c");
    assert_eq!(e.kind(), &LaunchErrorKind::UnbalancedQuote { quote: '\'' });
    assert_eq!(e.column(), 4);
    let e = err(r#"a ! "video/x-raw ! b"#);
    assert_eq!((e.column(), e.token()), (4, "\""));
}

#[test]
fn double_bang() {
    let input = "a ! ! b";
    let e = err(input);
    assert!(matches!(e.kind(), LaunchErrorKind::ExpectedElement { .. }));
    assert_eq!((e.column(), e.token()), (4, "!"));
    assert_eq!(e.snippet(input), "a ! ! b\n    ^");
    let e = err("a ! video/x-raw ! ! b");
    assert!(matches!(e.kind(), LaunchErrorKind::ExpectedElement { .. }));
    assert_eq!(e.column(), 18);
}

#[test]
fn trailing_bang() {
    for input in ["a !", "a ! ", "a ! b !\n"] {
        let e = err(input);
        assert!(
            matches!(e.kind(), LaunchErrorKind::DanglingLink { .. }),
            "{input:?}: {e}"
        );
        assert_eq!((e.column(), e.token()), (input.trim_end().len() - 1, "!"));
    }
    let e = err("a ! video/x-raw,width=1 ");
    assert!(matches!(e.kind(), LaunchErrorKind::DanglingLink { .. }));
    assert_eq!((e.column(), e.token()), (4, "video/x-raw,width=1"));
    let e = err("a ! video/x-raw !");
    assert!(matches!(e.kind(), LaunchErrorKind::DanglingLink { .. }));
    assert_eq!(e.column(), 16);
}

#[test]
fn leading_bang() {
    let e = err("! b");
    assert!(matches!(e.kind(), LaunchErrorKind::DanglingLink { .. }));
    assert_eq!((e.column(), e.token()), (0, "!"));
    let e = err("   !b");
    assert_eq!(e.column(), 3);
}

#[test]
fn unknown_reference() {
    let input = "videotestsrc ! x.sink_0";
    let e = err(input);
    assert_eq!(
        e.kind(),
        &LaunchErrorKind::UnknownReference { name: "x".into() }
    );
    assert_eq!((e.column(), e.token()), (15, "x.sink_0"));
    assert_eq!(
        e.to_string(),
        "at column 16, `x.sink_0`: no element is named `x`: give one `name=x`, or fix the \
         reference"
    );
    // Unnamed elements cannot be referred to by their factory.
    let e = err("tee  tee. ! fakesink");
    assert_eq!((e.column(), e.token()), (5, "tee."));
}

#[test]
fn duplicate_name() {
    let input = "tee name=t ! queue name=t";
    let e = err(input);
    assert_eq!(
        e.kind(),
        &LaunchErrorKind::DuplicateName { name: "t".into() }
    );
    assert_eq!((e.column(), e.token()), (19, "name=t"));
    assert_eq!(
        e.snippet(input),
        format!("{input}\n{}^^^^^^", " ".repeat(19))
    );
}

#[test]
fn bad_caps_column_points_into_the_caps() {
    let input = "videotestsrc ! video/x-raw,width=(int)abc ! fakesink";
    let e = err(input);
    let LaunchErrorKind::InvalidCaps(inner) = e.kind() else {
        panic!("{e:?}");
    };
    assert!(matches!(inner.kind(), ParseErrorKind::InvalidValue { .. }));
    assert_eq!((e.column(), e.token()), (38, "abc"));
    assert_eq!((inner.column(), inner.token()), (38, "abc"));
    assert!(
        e.to_string()
            .starts_with("at column 39, `abc`: invalid caps filter: not a valid int")
    );
    assert!(std::error::Error::source(e.kind()).is_some());

    // In quoted caps, with escapes before the error.
    let input = r#"a ! "video/x-raw, s=\"x\", width=(int)abc" ! b"#;
    let e = err(input);
    assert_eq!((e.column(), e.token()), (input.find("abc").unwrap(), "abc"));
    // An error at the end of quoted caps points at the closing quote.
    let input = r#"a ! "video/x-raw, width=[ 1, 2" ! b"#;
    let e = err(input);
    assert!(matches!(e.kind(), LaunchErrorKind::InvalidCaps(_)));
    assert_eq!(e.column(), input.find('[').unwrap());
    let input = "a ! video/x-raw, ! b";
    let e = err(input);
    assert_eq!((e.column(), e.token()), (15, ","));
}

#[test]
fn bins_are_rejected() {
    let e = err("videotestsrc ! ( queue ) ! fakesink");
    assert_eq!(e.kind(), &LaunchErrorKind::BinsUnsupported);
    assert_eq!((e.column(), e.token()), (15, "("));
    let e = err("bin.( a ! b )");
    assert_eq!(e.column(), 4);
}

#[test]
fn bad_properties() {
    let e = err("fakesink =true");
    assert!(matches!(e.kind(), LaunchErrorKind::BadProperty { .. }));
    assert_eq!((e.column(), e.token()), (9, "=true"));
    let e = err("fakesink sync= ! b");
    assert!(matches!(e.kind(), LaunchErrorKind::BadProperty { .. }));
    assert_eq!((e.column(), e.token()), (9, "sync="));
    let e = err("fakesink sync=");
    assert_eq!((e.column(), e.token()), (9, "sync="));
    let e = err("fakesink sync = false");
    assert_eq!((e.column(), e.token()), (14, "="));
    let e = err("textoverlay text=it's");
    assert_eq!((e.column(), e.token()), (19, "'"));
    let e = err(r#"a b="x"y"#);
    assert_eq!((e.column(), e.token()), (7, "y"));
    let e = err("a b.c=1");
    assert_eq!((e.column(), e.token()), (2, "b.c"));
    let e = err("a name=\"\"");
    assert_eq!((e.column(), e.token()), (7, "\"\""));
    let e = err("t. ! q  t. x=1");
    assert!(matches!(e.kind(), LaunchErrorKind::BadProperty { .. }));
    assert_eq!((e.column(), e.token()), (11, "x=1"));
}

#[test]
fn misplaced_items() {
    let e = err("num-buffers=10 ! fakesink");
    assert!(matches!(e.kind(), LaunchErrorKind::ExpectedElement { .. }));
    assert_eq!((e.column(), e.token()), (0, "num-buffers=10"));
    let e = err("a ! sync=false");
    assert!(matches!(e.kind(), LaunchErrorKind::ExpectedElement { .. }));
    assert_eq!(e.column(), 4);
    let e = err("video/x-raw ! fakesink");
    assert!(matches!(e.kind(), LaunchErrorKind::MisplacedCaps { .. }));
    assert_eq!((e.column(), e.token()), (0, "video/x-raw"));
    let e = err("a video/x-raw ! b");
    assert!(matches!(e.kind(), LaunchErrorKind::MisplacedCaps { .. }));
    assert_eq!(e.column(), 2);
    let e = err(r#"a ! "video/x-raw" ! "video/x-raw" ! b"#);
    assert!(matches!(e.kind(), LaunchErrorKind::MisplacedCaps { .. }));
    assert_eq!(e.column(), 20);
    let e = err(r#"a ! "video/x-raw"x ! b"#);
    assert!(matches!(e.kind(), LaunchErrorKind::Unexpected { .. }));
    assert_eq!((e.column(), e.token()), (17, "x"));
    let e = err("a ! fake\"sink");
    assert_eq!(e.kind(), &LaunchErrorKind::BadFactoryName);
    assert_eq!((e.column(), e.token()), (4, "fake\"sink"));
    let e = err("a ! .src");
    assert!(matches!(e.kind(), LaunchErrorKind::BadReference { .. }));
    assert_eq!((e.column(), e.token()), (4, ".src"));
}

#[test]
fn errors_come_in_text_order() {
    // The syntax error comes before the unknown reference, wherever they are.
    let e = err("x. ! a ! ! b");
    assert_eq!(e.column(), 9);
}

#[test]
fn snippet_shows_the_line_of_the_error() {
    let input = "a ! b\n\tc ! x.src\nd";
    let e = err(input);
    assert_eq!(e.snippet(input), "\tc ! x.src\n\t    ^^^^^");
    let input = "a ! \"é ! b";
    let e = err(input);
    assert_eq!(e.snippet(input), format!("{input}\n    ^"));
    let e = err("a ! é");
    assert_eq!(e.kind(), &LaunchErrorKind::BadFactoryName);
    assert_eq!(e.snippet("a ! é"), "a ! é\n    ^");
}

// ---------------------------------------------------------------------------------------
// Printing descriptions built by hand.

fn element(factory: &str, name: Option<&str>) -> ElementDesc {
    let properties = name
        .map(|n| PropertyDesc {
            name: "name".into(),
            value: n.into(),
            quoted: false,
            span: Span::default(),
            value_span: Span::default(),
        })
        .into_iter()
        .collect();
    ElementDesc {
        factory: factory.into(),
        name: name.map(str::to_owned),
        properties,
        span: Span::default(),
    }
}

fn link(src: usize, src_pad: Option<&str>, sink: usize, sink_pad: Option<&str>) -> LinkDesc {
    let end = |element, pad: Option<&str>| Endpoint {
        element,
        pad: pad.map(str::to_owned),
        span: Span::default(),
    };
    LinkDesc {
        src: end(src, src_pad),
        sink: end(sink, sink_pad),
        caps: None,
        span: Span::default(),
    }
}

#[test]
fn printing_hand_built_descriptions() {
    // Links that skip elements: unlinked elements are written alone, in order.
    let d = PipelineDesc {
        elements: vec![
            element("a", None),
            element("s", None),
            element("b", Some("b")),
            element("c", None),
        ],
        links: vec![link(0, None, 2, None), link(2, None, 3, None)],
    };
    assert_eq!(reprint(&d), "a ! b. s b name=b ! c");

    // A link back to an earlier element.
    let d = PipelineDesc {
        elements: vec![element("a", Some("a")), element("b", None)],
        links: vec![link(1, Some("src"), 0, Some("sink"))],
    };
    assert_eq!(d.to_string(), "#1.src ! a.sink a name=a b");
    assert!(parse(&d.to_string()).is_err(), "b has no name for its pad");

    // A reference to an unnamed element cannot be written.
    let d = PipelineDesc {
        elements: vec![element("a", None), element("b", None)],
        links: vec![link(1, None, 0, None)],
    };
    assert_eq!(d.to_string(), "a b ! #0.");

    let d = PipelineDesc {
        elements: vec![],
        links: vec![],
    };
    assert_eq!(d.to_string(), "");
}

#[test]
fn printing_keeps_the_order_of_links_and_elements() {
    for input in [
        "a ! b name=b  s  b. ! e",
        "a ! b name=b  s  b. ! e name=\"e e\"",
        "x. ! q  a ! u  x name=x",
        "a name=a ! b  c  a. ! d",
        "t.src_0 ! q ! t.sink  e t name=t",
        "a ! c.  b  c name=c",
        "tee name=t  t. ! queue  t. ! queue  src ! t.",
    ] {
        let d = ok(input);
        reprint(&d);
    }
}
