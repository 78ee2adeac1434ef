//! Unit tests of the caps module. Expected strings marked "gst" were checked against
//! GStreamer 1.22's `gst_caps_from_string` / `gst_caps_to_string`.

use super::*;

fn caps(s: &str) -> Caps {
    match s.parse() {
        Ok(c) => c,
        Err(e) => panic!("{s:?} should parse: {e}\n{}", e.snippet(s)),
    }
}

/// Parses, prints, and checks the print and that it parses back to equal caps.
fn roundtrip(input: &str, printed: &str) {
    let c = caps(input);
    assert_eq!(c.to_string(), printed, "printing {input:?}");
    let again = caps(printed);
    assert_eq!(again, c, "re-parsing {printed:?}");
    assert_eq!(again.to_string(), printed);
}

fn err(s: &str) -> ParseError {
    match s.parse::<Caps>() {
        Ok(c) => panic!("{s:?} should not parse, got {c}"),
        Err(e) => e,
    }
}

fn value(s: &str) -> Value {
    s.parse()
        .unwrap_or_else(|e| panic!("value {s:?} should parse: {e}"))
}

fn frac(n: i32, d: i32) -> Fraction {
    Fraction::new(n, d)
}

// ---------------------------------------------------------------------------------------
// Printing and parsing, value type by value type.

#[test]
fn special_caps() {
    assert!(caps("ANY").is_any());
    assert!(caps("EMPTY").is_empty());
    assert!(caps("NONE").is_empty());
    assert!(caps("").is_empty());
    assert!(caps("  ANY \n").is_any());
    assert_eq!(Caps::new_any().to_string(), "ANY");
    assert_eq!(Caps::new_empty().to_string(), "EMPTY");
    assert!(!Caps::new_any().is_empty());
    assert!(!Caps::new_empty().is_any());
}

#[test]
fn ints() {
    roundtrip(
        "x, a=1920, b=-5, c=(int)7",
        "x, a=(int)1920, b=(int)-5, c=(int)7",
    );
    // gst: hex, sign, min/max, wrap of 32-bit unsigned values
    roundtrip(
        "x,a=(int)0x10,c=+5,d=-0x10,e=max,f=min",
        "x, a=(int)16, c=(int)5, d=(int)-16, e=(int)2147483647, f=(int)-2147483648",
    );
    roundtrip(
        "x,a=0x7fffffff,b=0xffffffff,c=4294967295,d=(int)2147483648",
        "x, a=(int)2147483647, b=(int)-1, c=(int)-1, d=(int)-2147483648",
    );
    assert_eq!(
        caps("x, a=(i)1, b=(gint)2").to_string(),
        "x, a=(int)1, b=(int)2"
    );
}

#[test]
fn u64s() {
    // gst: guint64 prints in decimal
    roundtrip(
        "x, m=(guint64)0x0100000000000002, n=(uint64)5, o=(guint64)18446744073709551615",
        "x, m=(guint64)72057594037927938, n=(guint64)5, o=(guint64)18446744073709551615",
    );
    // Untyped integers beyond 32 bits are guint64 (GStreamer would make a double).
    assert_eq!(
        value("0x0100000000000002"),
        Value::U64(0x0100_0000_0000_0002)
    );
    assert_eq!(value("4294967296"), Value::U64(1 << 32));
    let s = caps("x, m=(guint64)0x0100000000000002");
    assert_eq!(
        s.structure(0).unwrap().get_u64("m"),
        Some(0x0100_0000_0000_0002)
    );
}

#[test]
fn doubles() {
    // gst: %.17g
    roundtrip(
        "x,a=0.1,b=(double)30,c=1e300,d=1e-5,e=-0.0,f=1.5,g=inf,h=-inf",
        "x, a=(double)0.10000000000000001, b=(double)30, c=(double)1.0000000000000001e+300, \
         d=(double)1.0000000000000001e-05, e=(double)-0, f=(double)1.5, g=(double)inf, \
         h=(double)-inf",
    );
    roundtrip(
        "x,a=1e5,b=.5,c=5.,d=1E5,e=(d)5,f=(gdouble)0x10",
        "x, a=(double)100000, b=(double)0.5, c=(double)5, d=(double)100000, e=(double)5, \
         f=(double)16",
    );
    assert_eq!(
        super::value::format_double(123456789012345678.0),
        "1.2345678901234568e+17"
    );
    assert_eq!(super::value::format_double(1e16), "10000000000000000");
    assert_eq!(super::value::format_double(1e17), "1e+17");
    assert_eq!(super::value::format_double(0.0001), "0.0001");
    assert_eq!(
        super::value::format_double(0.00001),
        "1.0000000000000001e-05"
    );
    assert_eq!(super::value::format_double(29.97), "29.969999999999999");
    assert_eq!(
        super::value::format_double(f64::MAX),
        "1.7976931348623157e+308"
    );
    assert_eq!(
        super::value::format_double(5e-324),
        "4.9406564584124654e-324"
    );
    assert_eq!(super::value::format_double(f64::NAN), "nan");
    for d in [0.1, 29.97, 1.0 / 3.0, 1e-310, 12345.678, -2.5e-7, 6.02e23] {
        let printed = super::value::format_double(d);
        assert_eq!(printed.parse::<f64>().unwrap(), d, "{printed}");
    }
}

#[test]
fn booleans() {
    // gst: typed accepts yes/no/t/f/1/0 in any case; untyped t/f/yes/no are booleans
    roundtrip(
        "x,a=true,b=false,c=(boolean)YES,d=(boolean)0,e=f,g=no,h=(bool)1,i=(b)t,j=(gboolean)False",
        "x, a=(boolean)true, b=(boolean)false, c=(boolean)true, d=(boolean)false, \
         e=(boolean)false, g=(boolean)false, h=(boolean)true, i=(boolean)true, \
         j=(boolean)false",
    );
    // Untyped 1 is an int, not a boolean.
    assert_eq!(value("1"), Value::Int(1));
}

/// `(float)`/`(f)`/`(gfloat)` and `(bitmask)` as gst-launch-1.0 1.22 reads and prints
/// them (outputs checked against `gst-launch-1.0 -v`).
#[test]
fn floats_and_bitmasks() {
    roundtrip(
        "x,a=(float)1.5,b=(f)0.1,c=(gfloat)-0,d=(f)1,e=(float){ 1, 2.5 }",
        "x, a=(float)1.5, b=(float)0.10000000149011612, c=(float)-0, d=(float)1, \
         e=(float){ 1, 2.5 }",
    );
    roundtrip(
        "x,a=(bitmask)0x3,b=(bitmask)10,c=(GstBitmask)ff,d=(bitmask)0xFFFFFFFFFFFFFFFF",
        "x, a=(bitmask)0x0000000000000003, b=(bitmask)0x0000000000000010, \
         c=(bitmask)0x00000000000000ff, d=(bitmask)0xffffffffffffffff",
    );
    // `f` is float as a type, false as a boolean value.
    assert_eq!(value("f"), Value::Bool(false));
    assert_eq!(value("(f)2"), Value::Float(2.0));
    assert_eq!(value("(boolean)f"), Value::Bool(false));
    // Beyond float's range (and infinity) is refused, as gst does; so is a non-hex mask.
    for bad in ["x, a=(float)1e39", "x, a=(float)inf", "x, a=(float)-inf"] {
        check_err(bad, 12, &bad[12..], |k| {
            *k == ParseErrorKind::InvalidValue {
                ty: ValueType::Float,
            }
        });
    }
    check_err("x, a=(bitmask)0xg", 14, "0xg", |k| {
        *k == ParseErrorKind::InvalidValue {
            ty: ValueType::Bitmask,
        }
    });
    check_err(
        "x, a=(bitmask)0x10000000000000000",
        14,
        "0x10000000000000000",
        |k| {
            *k == ParseErrorKind::InvalidValue {
                ty: ValueType::Bitmask,
            }
        },
    );
    // Types never mix: a float is not a double; bitmasks meet only when equal (gst 1.22
    // does not link 0x3 with 0x7).
    assert!(!value("(float)1.5").can_intersect(&value("(double)1.5")));
    assert_eq!(
        value("(float){ 1, 2 }").intersect(&value("(f)2")),
        Some(Value::Float(2.0))
    );
    assert!(!value("(bitmask)0x3").can_intersect(&value("(bitmask)0x7")));
    assert!(value("(bitmask)0x3").is_subset(&value("(bitmask)3")));
    assert_eq!(value("(bitmask)0x3").as_bitmask(), Some(3));
    assert_eq!(value("(f)0.5").as_f32(), Some(0.5));
    assert_eq!(value("(f)0.5").value_type().name(), "float");
}

#[test]
fn strings() {
    roundtrip(
        "x, format=NV12, d=(string)NV12:0x0100000000000002, e=a_b-c+d/e.f",
        "x, format=(string)NV12, d=(string)NV12:0x0100000000000002, e=(string)a_b-c+d/e.f",
    );
    // gst: quoting and escapes
    roundtrip(r#"x, s="a b\"c""#, r#"x, s=(string)"a\ b\"c""#);
    roundtrip(r#"x, a="a,b=c;d""#, r#"x, a=(string)"a\,b\=c\;d""#);
    roundtrip(r#"x, u="héllo""#, r#"x, u=(string)"h\303\251llo""#);
    roundtrip(r#"x, s=(string)"\101\n\\\ q""#, r#"x, s=(string)"An\\\ q""#);
    roundtrip(
        r#"x, a=(string)"", b="NULL""#,
        r#"x, a=(string)"", b=(string)"NULL""#,
    );
    roundtrip(
        "x, a=(s)1920, b=(str)true, c=(gchararray)x",
        "x, a=(string)1920, b=(string)true, c=(string)x",
    );
    // A quoted string is always a string.
    assert_eq!(value("\"30\""), Value::from("30"));
    // Control characters print as octal.
    let mut s = Structure::new("x");
    s.set("a", "tab\there\u{1}");
    let c = Caps::from_structure(s);
    assert_eq!(c.to_string(), r#"x, a=(string)"tab\011here\001""#);
    assert_eq!(caps(&c.to_string()), c);
    // Typed strings keep words that would otherwise be other types.
    assert_eq!(value("(string)max"), Value::from("max"));
    assert_eq!(value("(string)30/1"), Value::from("30/1"));
    // Untyped words that are no other type are strings.
    assert_eq!(value("2/0"), Value::from("2/0"));
    assert_eq!(value("-"), Value::from("-"));
}

#[test]
fn fractions() {
    roundtrip(
        "x, f=30/1, g=(fraction)30000/1001, h=-4/-6, i=(fraction)5, j=(F)60/2, k=(GstFraction)max",
        "x, f=(fraction)30/1, g=(fraction)30000/1001, h=(fraction)2/3, i=(fraction)5/1, \
         j=(fraction)30/1, k=(fraction)2147483647/1",
    );
    assert_eq!(frac(4, -6), frac(-2, 3));
    assert_eq!(frac(0, -5), Fraction::ZERO);
    assert_eq!((frac(-2, 3).numer(), frac(-2, 3).denom()), (-2, 3));
    assert!(frac(1, 2) < frac(2, 3));
    assert!(frac(-1, 2) < Fraction::ZERO);
    assert!(Fraction::MIN < Fraction::MAX);
    assert_eq!(frac(30000, 1001).max(frac(30, 1)), frac(30, 1));
    assert_eq!(frac(30000, 1001).to_string(), "30000/1001");
    assert_eq!(Fraction::checked_new(1, 0), None);
    assert_eq!(Fraction::checked_new(i32::MIN, -1), None);
    assert_eq!(Fraction::checked_new(i32::MIN, 1), None);
    assert_eq!(Fraction::MIN, frac(-i32::MAX, 1));
    // gst
    assert_eq!(
        caps("x,a=(fraction)min,b=(fraction)[min,max]").to_string(),
        "x, a=(fraction)-2147483647/1, b=(fraction)[ -2147483647/1, 2147483647/1 ]"
    );
    assert_eq!(Fraction::checked_new(i32::MIN, -2), Some(frac(1 << 30, 1)));
    assert_eq!("30/1".parse::<Fraction>().unwrap(), frac(30, 1));
    assert_eq!(" 24 ".parse::<Fraction>().unwrap(), frac(24, 1));
    assert!("30/0".parse::<Fraction>().is_err());
    assert!("abc".parse::<Fraction>().is_err());
    assert!((frac(1, 4).to_f64() - 0.25).abs() < f64::EPSILON);
}

#[test]
fn ranges() {
    // gst
    roundtrip(
        "video/x-raw, width=[1,2147483647], height=(int)[ 1, max ], framerate=[0/1,30/1], \
         par=(fraction)[ 0, max ], st=[2,10,2]",
        "video/x-raw, width=(int)[ 1, 2147483647 ], height=(int)[ 1, 2147483647 ], \
         framerate=(fraction)[ 0/1, 30/1 ], par=(fraction)[ 0/1, 2147483647/1 ], \
         st=(int)[ 2, 10, 2 ]",
    );
    roundtrip("x, a=(int)[ 3, 9, 3 ]", "x, a=(int)[ 3, 9, 3 ]");
    assert_eq!(
        value("[ 1, 100 ]"),
        Value::IntRange {
            min: 1,
            max: 100,
            step: 1
        }
    );
    assert_eq!(
        value("[ 0/1, 30/1 ]"),
        Value::FractionRange {
            min: Fraction::ZERO,
            max: frac(30, 1)
        }
    );
    assert_eq!(Value::int_range(5, 5), Value::Int(5));
    assert_eq!(Value::from(1..=4096), value("[ 1, 4096 ]"));
    assert_eq!(
        Value::from(Fraction::ZERO..=frac(60, 1)),
        value("(fraction)[ 0, 60 ]")
    );
}

#[test]
fn lists_and_arrays() {
    // gst
    roundtrip(
        "video/x-raw,format={NV12,I420},a={1,2,},l={[1,2],5},e={},ar=<1,2>,ea=<>",
        "video/x-raw, format=(string){ NV12, I420 }, a=(int){ 1, 2 }, l=(int){ [ 1, 2 ], 5 }, \
         e=(int){  }, ar=(int)< 1, 2 >, ea=(int)<  >",
    );
    roundtrip(
        "x,a={<1,2>,<3,4>},b={<1,2>,5},c=< {1,2}, 3 >",
        "x, a=(int){ < (int)1, (int)2 >, < (int)3, (int)4 > }, b=(int){ < (int)1, (int)2 >, 5 }, \
         c=(int)< { (int)1, (int)2 }, 3 >",
    );
    roundtrip(
        "x, f=(fraction){30/1,[1/1,5/1]}, s=(string){a,b}",
        "x, f=(fraction){ 30/1, [ 1/1, 5/1 ] }, s=(string){ a, b }",
    );
    // Mixed types: each element keeps its type so the string parses back (GStreamer
    // would print `(int){ 1, foo }`, which does not).
    roundtrip("x, l={(int)1,(string)foo}", "x, l={ (int)1, (string)foo }");
    roundtrip(
        "x, l={1,foo,2.5}",
        "x, l={ (int)1, (string)foo, (double)2.5 }",
    );
    roundtrip("x, l=(string){ a, (int)5 }", "x, l={ (string)a, (int)5 }");
    // Lists compare as sets, arrays in order.
    assert_eq!(value("{ a, b }"), value("{ b, a }"));
    assert_ne!(value("{ a, b }"), value("{ a, a }"));
    assert_ne!(value("< a, b >"), value("< b, a >"));
    assert_eq!(value("{ NV12, I420 }").to_string(), "{ NV12, I420 }");
    assert_eq!(value("{ 1, a }").to_string(), "{ (int)1, (string)a }");
    assert_eq!(value("[ 1, 10 ]").typed().to_string(), "(int)[ 1, 10 ]");
}

#[test]
fn features_print_and_parse() {
    // gst
    roundtrip(
        "video/x-raw;audio/x-raw(ANY)",
        "video/x-raw; audio/x-raw(ANY)",
    );
    roundtrip("x(memory:SystemMemory)", "x");
    roundtrip(
        "x(memory:SystemMemory,meta:Foo)",
        "x(memory:SystemMemory, meta:Foo)",
    );
    roundtrip("x(meta:Foo, meta:Foo)", "x(meta:Foo)");
    roundtrip("x(ANY),a=1", "x(ANY), a=(int)1");
    let c = caps("x(meta:A, memory:DMABuf)");
    assert_eq!(
        c.features(0),
        Some(&CapsFeatures::new(["memory:DMABuf", "meta:A"]))
    );
    let f: CapsFeatures = "(memory:DMABuf)".parse().unwrap();
    assert_eq!(f, CapsFeatures::new([CAPS_FEATURE_MEMORY_DMABUF]));
    assert!("ANY".parse::<CapsFeatures>().unwrap().is_any());
    assert!(CapsFeatures::new(Vec::<String>::new()).is_system_memory());
    let mut f = CapsFeatures::new(["memory:DMABuf"]);
    assert!(f.remove("memory:DMABuf"));
    assert!(f.is_system_memory());
    assert!(CapsFeatures::is_valid_name("memory:DMABuf"));
    for bad in [
        "memory",
        ":x",
        "mem1:x",
        "memory:",
        "memory:1x",
        "memory:a-b",
    ] {
        assert!(!CapsFeatures::is_valid_name(bad), "{bad}");
    }
}

#[test]
fn whitespace_and_separators() {
    // gst
    roundtrip(
        "x , a = ( int ) 5 , b= (string) hi",
        "x, a=(int)5, b=(string)hi",
    );
    roundtrip("x, a=1 ; y, b=2", "x, a=(int)1; y, b=(int)2");
    roundtrip("x;", "x");
    roundtrip("x/y-z.w+v:u_a1", "x/y-z.w+v:u_a1");
    roundtrip("\n video/x-raw,\n  width=1\n", "video/x-raw, width=(int)1");
}

#[test]
fn dma_drm_example() {
    let input = "video/x-raw(memory:DMABuf),format=DMA_DRM,drm-format=NV12:0x0100000000000002,\
                 width=1920,height=1080,framerate=30/1";
    // gst
    let printed = "video/x-raw(memory:DMABuf), format=(string)DMA_DRM, \
                   drm-format=(string)NV12:0x0100000000000002, width=(int)1920, \
                   height=(int)1080, framerate=(fraction)30/1";
    roundtrip(input, printed);
    let c = caps(input);
    assert!(c.is_fixed());
    let s = c.structure(0).unwrap();
    assert_eq!(s.name(), "video/x-raw");
    assert!(c.features(0).unwrap().contains(CAPS_FEATURE_MEMORY_DMABUF));
    assert_eq!(s.get_str("drm-format"), Some("NV12:0x0100000000000002"));
    assert_eq!(s.get::<i32>("width"), Ok(1920));
    assert_eq!(s.get_fraction("framerate"), Some(frac(30, 1)));
    let built = Caps::builder("video/x-raw")
        .features(["memory:DMABuf"])
        .field("format", "DMA_DRM")
        .field("drm-format", "NV12:0x0100000000000002")
        .field("width", 1920)
        .field("height", 1080)
        .field("framerate", frac(30, 1))
        .build();
    assert_eq!(built, c);
    assert_eq!(built.to_string(), printed);
}

// ---------------------------------------------------------------------------------------
// Errors.

#[track_caller]
fn check_err(input: &str, column: usize, token: &str, kind: impl Fn(&ParseErrorKind) -> bool) {
    let e = err(input);
    assert_eq!(
        (e.column(), e.token()),
        (column, token),
        "{input:?}: {e}\n{}",
        e.snippet(input)
    );
    assert!(kind(e.kind()), "{input:?}: unexpected kind {:?}", e.kind());
}

#[test]
fn error_unbalanced_quotes() {
    check_err(r#"x, a="abc"#, 5, "\"abc", |k| {
        matches!(k, ParseErrorKind::UnterminatedString)
    });
    check_err(r#"x, a="abc\"#, 5, "\"abc\\", |k| {
        matches!(k, ParseErrorKind::UnterminatedString)
    });
    check_err(r#"x, a="abc\9xyz", b=2, c="d"#, 24, "\"d", |k| {
        matches!(k, ParseErrorKind::UnterminatedString)
    });
    check_err(r#"x, a="\08""#, 6, r"\08", |k| {
        matches!(k, ParseErrorKind::InvalidEscape)
    });
    check_err(r#"x, a="\377""#, 5, r#""\377""#, |k| {
        matches!(k, ParseErrorKind::InvalidUtf8)
    });
}

#[test]
fn error_unbalanced_brackets() {
    let unclosed = |open: char, close: char| {
        move |k: &ParseErrorKind| *k == ParseErrorKind::UnclosedBracket { open, close }
    };
    check_err("video/x-raw, width=[ 1, 2", 19, "[", |k| {
        unclosed('[', ']')(k)
    });
    check_err("video/x-raw, width=[ 1,", 19, "[", |k| {
        unclosed('[', ']')(k)
    });
    check_err("x, f={ a, b", 5, "{", |k| unclosed('{', '}')(k));
    check_err("x, f={ a, { b }", 5, "{", |k| unclosed('{', '}')(k));
    check_err("x, f=< a, b", 5, "<", |k| unclosed('<', '>')(k));
    check_err("x, f=(int 5", 10, "5", |k| {
        matches!(k, ParseErrorKind::UnexpectedChar { found: '5', .. })
    });
    check_err("x, f=(int", 5, "(", |k| unclosed('(', ')')(k));
    check_err("x(memory:DMABuf, width=1", 1, "(", |k| {
        unclosed('(', ')')(k)
    });
    check_err("x(memory:DMABuf", 1, "(", |k| unclosed('(', ')')(k));
    check_err("x, a=1]", 6, "]", |k| {
        matches!(k, ParseErrorKind::UnmatchedClose { close: ']' })
    });
    check_err("x, a={ 1, 2 ]", 12, "]", |k| {
        matches!(k, ParseErrorKind::UnmatchedClose { close: ']' })
    });
    check_err("x, a=[ 1 ]", 5, "[ 1 ]", |k| {
        matches!(k, ParseErrorKind::InvalidRange { .. })
    });
}

#[test]
fn error_types_and_values() {
    check_err(
        "x, a=(foo)1",
        6,
        "foo",
        |k| matches!(k, ParseErrorKind::UnknownType { name } if name == "foo"),
    );
    check_err("x, a=(uint)1", 6, "uint", |k| {
        matches!(k, ParseErrorKind::UnknownType { .. })
    });
    check_err("video/x-raw, width=(int)abc", 24, "abc", |k| {
        *k == ParseErrorKind::InvalidValue { ty: ValueType::Int }
    });
    check_err("x, a=(int)-2147483649", 10, "-2147483649", |k| {
        *k == ParseErrorKind::InvalidValue { ty: ValueType::Int }
    });
    check_err("x, a=(int)1.5", 10, "1.5", |k| {
        *k == ParseErrorKind::InvalidValue { ty: ValueType::Int }
    });
    check_err(r#"x, a=(int)"5""#, 10, "\"5\"", |k| {
        *k == ParseErrorKind::InvalidValue { ty: ValueType::Int }
    });
    check_err("x, a=(fraction)1/0", 15, "1/0", |k| {
        *k == ParseErrorKind::InvalidValue {
            ty: ValueType::Fraction,
        }
    });
    check_err("x, a=(boolean)maybe", 14, "maybe", |k| {
        *k == ParseErrorKind::InvalidValue {
            ty: ValueType::Bool,
        }
    });
    check_err("x, a=(guint64)-1", 14, "-1", |k| {
        *k == ParseErrorKind::InvalidValue { ty: ValueType::U64 }
    });
    check_err("x, a=(double)x1", 13, "x1", |k| {
        *k == ParseErrorKind::InvalidValue {
            ty: ValueType::Double,
        }
    });
    check_err("x, a=", 5, "", |k| {
        matches!(k, ParseErrorKind::ExpectedValue)
    });
    check_err("x, a=, b=1", 5, ",", |k| {
        matches!(k, ParseErrorKind::ExpectedValue)
    });
    check_err("x, a=hello world", 11, "world", |k| {
        matches!(k, ParseErrorKind::UnexpectedChar { found: 'w', .. })
    });
    check_err("x, a=a@b", 6, "@", |k| {
        matches!(k, ParseErrorKind::UnexpectedChar { found: '@', .. })
    });
    check_err("x, a=@b", 5, "@", |k| {
        matches!(k, ParseErrorKind::NeedsQuotes { found: '@' })
    });
    check_err("x, a=é", 5, "é", |k| {
        matches!(k, ParseErrorKind::NeedsQuotes { found: 'é' })
    });
}

#[test]
fn error_ranges() {
    let invalid_range = |k: &ParseErrorKind| matches!(k, ParseErrorKind::InvalidRange { .. });
    check_err("x, a=[ 5, 5 ]", 5, "[ 5, 5 ]", invalid_range);
    check_err("x, a=[ 10, 1 ]", 5, "[ 10, 1 ]", invalid_range);
    check_err("x, a=[ 1, 10, 3 ]", 5, "[ 1, 10, 3 ]", invalid_range);
    check_err("x, a=[ 0, 10, 0 ]", 5, "[ 0, 10, 0 ]", invalid_range);
    check_err("x, a=[ 1, 30/1 ]", 5, "[ 1, 30/1 ]", invalid_range);
    check_err("x, a=[ a, b ]", 5, "[ a, b ]", invalid_range);
    check_err("x, a=[ 30/1, 0/1 ]", 5, "[ 30/1, 0/1 ]", invalid_range);
    check_err(
        "x, a=[ 0/1, 30/1, 2 ]",
        5,
        "[ 0/1, 30/1, 2 ]",
        invalid_range,
    );
    check_err("x, a=[ {1, 2}, 3 ]", 7, "{1, 2}", invalid_range);
    let e = err("x, a=[ 1, 30/1 ]");
    assert!(
        e.to_string().contains("different types (int and fraction)"),
        "{e}"
    );
}

#[test]
fn error_structure_level() {
    check_err(", width=1", 0, ",", |k| {
        matches!(k, ParseErrorKind::MissingMediaType)
    });
    check_err("(memory:DMABuf), width=1", 0, "(", |k| {
        matches!(k, ParseErrorKind::MissingMediaType)
    });
    check_err(
        "width=1920, height=1080",
        0,
        "width",
        |k| matches!(k, ParseErrorKind::FieldInsteadOfMediaType { name } if name == "width"),
    );
    check_err("1x, a=1", 0, "1x", |k| {
        matches!(k, ParseErrorKind::InvalidMediaType)
    });
    check_err("x;;y", 2, ";", |k| {
        matches!(k, ParseErrorKind::MissingMediaType)
    });
    check_err("x, a=1,", 6, ",", |k| {
        matches!(k, ParseErrorKind::TrailingComma)
    });
    check_err("x, a=1 , ", 7, ",", |k| {
        matches!(k, ParseErrorKind::TrailingComma)
    });
    check_err("x, a=1,; y", 6, ",", |k| {
        matches!(k, ParseErrorKind::TrailingComma)
    });
    check_err("x, a=1,, b=2", 6, ",", |k| {
        matches!(k, ParseErrorKind::TrailingComma)
    });
    check_err("x, =1", 3, "=", |k| {
        matches!(k, ParseErrorKind::MissingFieldName)
    });
    check_err(
        "x, a 1",
        5,
        "1",
        |k| matches!(k, ParseErrorKind::ExpectedEquals { field } if field == "a"),
    );
    check_err("x, a", 4, "", |k| {
        matches!(k, ParseErrorKind::ExpectedEquals { .. })
    });
    check_err("x y", 2, "y", |k| {
        matches!(k, ParseErrorKind::UnexpectedChar { .. })
    });
    check_err("ANY; x", 0, "ANY", |k| {
        matches!(k, ParseErrorKind::MisplacedSpecialCaps)
    });
    check_err("x()", 1, "()", |k| {
        matches!(k, ParseErrorKind::EmptyFeatures)
    });
    check_err("x(memory)", 2, "memory", |k| {
        matches!(k, ParseErrorKind::InvalidFeature)
    });
    check_err("x(ANY, memory:DMABuf)", 7, "memory:DMABuf", |k| {
        matches!(k, ParseErrorKind::AnyFeatureMixed)
    });
    check_err("x, a=1(", 6, "(", |k| {
        matches!(k, ParseErrorKind::UnexpectedChar { .. })
    });
}

#[test]
fn error_messages_are_actionable() {
    let e = err("video/x-raw, width=(int)abc");
    assert_eq!(
        e.to_string(),
        "at column 25, `abc`: not a valid int: write an integer such as 1920, -5, 0x1f, min or max"
    );
    let e = err("video/x-raw, width=1,");
    assert_eq!(
        e.to_string(),
        "at column 21, `,`: trailing ',' with no field after it: remove it or add a field"
    );
    let e = err("video/x-raw, width=[ 1, 2");
    assert_eq!(
        e.to_string(),
        "at column 20, `[`: '[' is never closed: add a matching ']'"
    );
    let e = err("video/x-raw, width=(integer)1");
    assert!(
        e.to_string().contains("unknown type 'integer': use int"),
        "{e}"
    );
    let input = "video/x-raw, width=(int)abc";
    assert_eq!(
        err(input).snippet(input),
        "video/x-raw, width=(int)abc\n                        ^^^"
    );
}

#[test]
fn hostile_input_does_not_panic() {
    let deep = "x, a=".to_owned() + &"{".repeat(10_000);
    assert!(matches!(err(&deep).kind(), ParseErrorKind::TooDeep));
    let deep = "x, a=".to_owned() + &"[".repeat(10_000);
    assert!(matches!(err(&deep).kind(), ParseErrorKind::TooDeep));
    for s in [
        "x, a=\"\\",
        "x, a=\"\\1",
        "x, a=\"\\12",
        "x(",
        "x(ANY",
        "x, a=(",
        "x, a=(int)",
        "x, a=[",
        "x, a={",
        "x, a=<",
        "x, a=[1,",
        "x, a=[1,2,",
        "é",
        "x, é=1",
        "x(é)",
        "x, a=\"é\\",
        "x, a=\"\\3é\"",
        ";",
        ",",
        "(",
        "=",
        "x, a=[(int)]",
    ] {
        let _ = s.parse::<Caps>();
        let _ = s.parse::<Structure>();
        let _ = s.parse::<CapsFeatures>();
        let _ = s.parse::<Value>();
    }
}

// ---------------------------------------------------------------------------------------
// Intersection (results checked against GStreamer).

fn inter(a: &str, b: &str) -> String {
    caps(a).intersect(&caps(b)).to_string()
}

#[test]
fn intersect_values() {
    assert_eq!(inter("x,a=[1,10]", "x,a=5"), "x, a=(int)5");
    assert_eq!(inter("x,a=5", "x,a=[1,10]"), "x, a=(int)5");
    assert_eq!(inter("x,a=[1,10]", "x,a=11"), "EMPTY");
    assert_eq!(inter("x,a={a,b}", "x,a={b,c}"), "x, a=(string)b");
    assert_eq!(inter("x,a={a,b,c}", "x,a={c,b}"), "x, a=(string){ b, c }");
    assert_eq!(inter("x,a={a,b}", "x,a=b"), "x, a=(string)b");
    assert_eq!(inter("x,a=[1,10]", "x,a=[5,20]"), "x, a=(int)[ 5, 10 ]");
    assert_eq!(inter("x,a=[1,10]", "x,a=[10,20]"), "x, a=(int)10");
    assert_eq!(
        inter("x,a=[2,20,2]", "x,a=[3,30,3]"),
        "x, a=(int)[ 6, 18, 6 ]"
    );
    assert_eq!(inter("x,a=[2,20,2]", "x,a=[11,12]"), "x, a=(int)12");
    assert_eq!(inter("x,a=[2,20,2]", "x,a=7"), "EMPTY");
    assert_eq!(
        inter("x,a=[0/1,30/1]", "x,a=[30/1,60/1]"),
        "x, a=(fraction)30/1"
    );
    assert_eq!(
        inter("x,a=[0/1,30/1]", "x,a=[25/1,60/1]"),
        "x, a=(fraction)[ 25/1, 30/1 ]"
    );
    assert_eq!(
        inter("x,a=[0/1,30/1]", "x,a={25/1,50/1}"),
        "x, a=(fraction)25/1"
    );
    assert_eq!(
        inter("x,a=[0/1,30/1]", "x,a=30000/1001"),
        "x, a=(fraction)30000/1001"
    );
    assert_eq!(
        inter("x,a=[1,10]", "x,a={[0,3],[8,20],15}"),
        "x, a=(int){ [ 1, 3 ], [ 8, 10 ] }"
    );
    assert_eq!(
        inter("x,a=<1,{2,3}>", "x,a=<{1,4},3>"),
        "x, a=(int)< 1, 3 >"
    );
    assert_eq!(inter("x,a=<1,2>", "x,a=<1,2,3>"), "EMPTY");
    assert_eq!(inter("x,a=(int)1", "x,a=(guint64)1"), "EMPTY");
    assert_eq!(inter("x,a=(double)1", "x,a=(int)1"), "EMPTY");
    assert_eq!(inter("x,a=1.5", "x,a=1.5"), "x, a=(double)1.5");
    assert_eq!(inter("x,a=true", "x,a={false,true}"), "x, a=(boolean)true");
}

#[test]
fn intersect_structures_and_caps() {
    assert_eq!(
        inter("x,a=1,b=2", "x,c=3"),
        "x, a=(int)1, b=(int)2, c=(int)3"
    );
    assert_eq!(inter("x,a=1", "y,a=1"), "EMPTY");
    assert_eq!(inter("x;y;z", "z;y;x"), "z; y; x");
    assert_eq!(
        inter("a,x=1;a,x=2", "a,x=[1,2];a,x=1"),
        "a, x=(int)1; a, x=(int)2"
    );
    assert_eq!(inter("ANY", "x,a=1"), "x, a=(int)1");
    assert_eq!(inter("x,a=1", "ANY"), "x, a=(int)1");
    assert_eq!(inter("ANY", "ANY"), "ANY");
    assert_eq!(inter("EMPTY", "ANY"), "EMPTY");
    assert_eq!(inter("x", "EMPTY"), "EMPTY");
}

#[test]
fn intersect_features() {
    assert_eq!(inter("video/x-raw(memory:DMABuf)", "video/x-raw"), "EMPTY");
    assert_eq!(
        inter("video/x-raw(memory:DMABuf)", "video/x-raw(memory:DMABuf)"),
        "video/x-raw(memory:DMABuf)"
    );
    assert_eq!(
        inter("video/x-raw(ANY),a=1", "video/x-raw(memory:DMABuf),b=2"),
        "video/x-raw(memory:DMABuf), a=(int)1, b=(int)2"
    );
    assert_eq!(
        inter("video/x-raw(memory:DMABuf)", "video/x-raw(ANY)"),
        "video/x-raw(memory:DMABuf)"
    );
    assert_eq!(
        inter(
            "video/x-raw(meta:A, memory:DMABuf)",
            "video/x-raw(memory:DMABuf, meta:A)"
        ),
        "video/x-raw(meta:A, memory:DMABuf)"
    );
    assert_eq!(
        inter(
            "video/x-raw(meta:A, memory:DMABuf)",
            "video/x-raw(memory:DMABuf)"
        ),
        "EMPTY"
    );
    assert!(!caps("video/x-raw(memory:DMABuf)").can_intersect(&caps("video/x-raw")));
}

#[test]
fn can_intersect_agrees() {
    let all = [
        "ANY",
        "EMPTY",
        "x",
        "x,a=1",
        "x,a=[1,10]",
        "x,a={1,20}",
        "x(memory:DMABuf),a=5",
        "x(ANY)",
        "y,a=1",
        "x,a=1;y,b=2",
        "x,a=<1,2>",
        "x,a=(string){ a, b }",
    ];
    for a in all {
        for b in all {
            let (ca, cb) = (caps(a), caps(b));
            assert_eq!(
                ca.can_intersect(&cb),
                !ca.intersect(&cb).is_empty(),
                "{a} / {b}"
            );
        }
    }
}

#[test]
fn intersect_explained_reports_the_field() {
    let a = caps("video/x-raw, format=NV12, width=1920");
    let b = caps("video/x-raw, format={ I420, YV12 }, width=[ 1, 4096 ]");
    let e = a.intersect_explained(&b).unwrap_err();
    assert_eq!(
        e.to_string(),
        "field 'format': NV12 vs { I420, YV12 } have nothing in common"
    );
    match e {
        CapsMismatch::Field {
            media_type,
            field,
            left,
            right,
            mismatched_fields,
            left_index,
            right_index,
        } => {
            assert_eq!(media_type, "video/x-raw");
            assert_eq!(field, "format");
            assert_eq!(*left, Value::from("NV12"));
            assert_eq!(*right, value("{ I420, YV12 }"));
            assert_eq!((mismatched_fields, left_index, right_index), (1, 0, 0));
        }
        other => panic!("{other:?}"),
    }
    // Success passes the intersection through.
    let ok = caps("video/x-raw, format=I420")
        .intersect_explained(&b)
        .unwrap();
    assert_eq!(
        ok.to_string(),
        "video/x-raw, format=(string)I420, width=(int)[ 1, 4096 ]"
    );
}

#[test]
fn intersect_explained_picks_the_closest_pair() {
    // audio vs video: media type; DMABuf vs sysmem: features; the sysmem pair: field.
    let a =
        caps("audio/x-raw; video/x-raw(memory:DMABuf), width=1; video/x-raw, width=1, height=2");
    let b = caps("video/x-raw, width=[ 10, 20 ], height=2");
    match a.intersect_explained(&b).unwrap_err() {
        CapsMismatch::Field {
            field,
            left_index,
            right_index,
            ..
        } => assert_eq!((field.as_str(), left_index, right_index), ("width", 2, 0)),
        other => panic!("{other:?}"),
    }
    // Fewer mismatched fields is closer.
    let a = caps("x, a=1, b=1; x, a=1, b=2");
    let b = caps("x, a=2, b=2");
    match a.intersect_explained(&b).unwrap_err() {
        CapsMismatch::Field {
            field,
            left_index,
            mismatched_fields,
            ..
        } => assert_eq!((field.as_str(), left_index, mismatched_fields), ("a", 1, 1)),
        other => panic!("{other:?}"),
    }
    let e = caps("video/x-raw(memory:DMABuf)")
        .intersect_explained(&caps("video/x-raw; audio/x-raw"))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "video/x-raw: caps features (memory:DMABuf) vs (memory:SystemMemory) do not match"
    );
    let e = caps("video/x-raw")
        .intersect_explained(&caps("audio/x-raw"))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "media type video/x-raw vs audio/x-raw: the media types differ"
    );
    let e = caps("EMPTY").intersect_explained(&caps("ANY")).unwrap_err();
    assert_eq!(e, CapsMismatch::Empty { side: Side::Left });
    assert_eq!(
        e.to_string(),
        "the left caps are EMPTY: they allow no format at all"
    );
    let e = caps("x").intersect_explained(&caps("EMPTY")).unwrap_err();
    assert_eq!(e, CapsMismatch::Empty { side: Side::Right });
    assert!(caps("ANY").intersect_explained(&caps("x")).is_ok());
}

// ---------------------------------------------------------------------------------------
// drm-format: compared as the DRM formats it names, not as text.

#[test]
fn drm_format_without_modifier_is_linear_when_intersecting() {
    // GStreamer's DMA_DRM caps leave LINEAR's modifier out; an explicit 0 is the same.
    for (a, b) in [
        ("NV12", "NV12:0x0"),
        ("NV12:0x0", "NV12"),
        ("NV12:0x0", "NV12:0X00"),
    ] {
        assert_eq!(
            inter(&format!("x,drm-format={a}"), &format!("x,drm-format={b}")),
            "x, drm-format=(string)NV12",
            "{a} ∩ {b}"
        );
    }
    // Different modifiers or fourccs still have nothing in common.
    assert_eq!(
        inter("x,drm-format=NV12", "x,drm-format=NV12:0x0100000000000002"),
        "EMPTY"
    );
    assert_eq!(inter("x,drm-format=NV12:0x0", "x,drm-format=YU12"), "EMPTY");
}

#[test]
fn drm_format_modifiers_match_whatever_their_hex_case_and_padding() {
    // The result is in DrmFormat's canonical spelling: 16 lower-case hex digits.
    for (a, b) in [
        ("NV12:0x0100000000000002", "NV12:0x100000000000002"),
        ("NV12:0x100000000000002", "NV12:0x0100000000000002"),
        ("NV12:0x100000000000002", "NV12:0x100000000000002"),
        ("NV12:0x010000000000000A", "NV12:0x10000000000000a"),
    ] {
        let want = if a.ends_with('2') {
            "x, drm-format=(string)NV12:0x0100000000000002"
        } else {
            "x, drm-format=(string)NV12:0x010000000000000a"
        };
        assert_eq!(
            inter(&format!("x,drm-format={a}"), &format!("x,drm-format={b}")),
            want,
            "{a} ∩ {b}"
        );
    }
}

#[test]
fn drm_format_lists_intersect_by_format() {
    // Left list's order, canonical spelling, spellings of one format counted once.
    assert_eq!(
        inter(
            "x,drm-format={NV12:0x100000000000001,NV12:0x0,YU12}",
            "x,drm-format={NV12,NV12:0x0100000000000001}"
        ),
        "x, drm-format=(string){ NV12:0x0100000000000001, NV12 }"
    );
    assert_eq!(
        inter("x,drm-format={NV12,NV12:0x0}", "x,drm-format=NV12:0x00"),
        "x, drm-format=(string)NV12"
    );
    assert_eq!(
        inter(
            "x,drm-format={NV12:0x100000000000001,YU12}",
            "x,drm-format={NV12,NV12:0x0100000000000002}"
        ),
        "EMPTY"
    );
}

#[test]
fn drm_format_in_full_dma_drm_caps() {
    let src = "video/x-raw(memory:DMABuf), format=DMA_DRM, \
               drm-format={ NV12:0x100000000000002, NV12:0x0 }, width=[ 1, 4096 ]";
    let sink = "video/x-raw(memory:DMABuf), format=DMA_DRM, \
                drm-format={ NV12:0x0100000000000002, NV12 }, width=1920";
    assert_eq!(
        inter(src, sink),
        "video/x-raw(memory:DMABuf), format=(string)DMA_DRM, \
         drm-format=(string){ NV12:0x0100000000000002, NV12 }, width=(int)1920"
    );
    assert!(caps(src).can_intersect(&caps(sink)));
    // System memory does not meet DMA-BUF, whatever the drm-format.
    assert_eq!(
        inter(src, "video/x-raw, format=DMA_DRM, drm-format=NV12"),
        "EMPTY"
    );
}

#[test]
fn drm_format_strings_that_do_not_parse_compare_as_text() {
    assert_eq!(
        inter("x,drm-format=NV12:0x", "x,drm-format=NV12:0x"),
        "x, drm-format=(string)NV12:0x"
    );
    assert_eq!(inter("x,drm-format=NV12:0x", "x,drm-format=NV12"), "EMPTY");
    assert_eq!(inter("x,drm-format=QQQQ", "x,drm-format=qqqq"), "EMPTY");
    assert_eq!(
        inter("x,drm-format={QQQQ,NV12:0x0}", "x,drm-format={NV12,QQQQ}"),
        "x, drm-format=(string){ QQQQ, NV12 }"
    );
    // Non-string values are untouched.
    assert_eq!(
        inter("x,drm-format=(int)1", "x,drm-format=(string)1"),
        "EMPTY"
    );
    // Only drm-format is read that way.
    assert_eq!(inter("x,format=NV12", "x,format=NV12:0x0"), "EMPTY");
    assert_eq!(inter("x,modifier=NV12", "x,modifier=NV12:0x0"), "EMPTY");
}

#[test]
fn drm_format_subsets_equality_and_explanations() {
    assert!(sub("x,drm-format=NV12:0x0", "x,drm-format={NV12,YU12}"));
    assert!(sub(
        "x,drm-format={NV12,NV12:0x100000000000001}",
        "x,drm-format={NV12:0x0,NV12:0x0100000000000001}"
    ));
    assert!(!sub(
        "x,drm-format={NV12,NV12:0x100000000000002}",
        "x,drm-format={NV12:0x0,NV12:0x0100000000000001}"
    ));
    let (a, b) = (
        caps("x,drm-format={NV12:0x0,NV12:0x100000000000001}"),
        caps("x,drm-format={NV12:0x0100000000000001,NV12}"),
    );
    assert!(a.is_equal(&b));
    assert_eq!(a, b);
    assert_ne!(caps("x,drm-format=NV12"), caps("x,drm-format=NV12:0x1"));
    // Merging drops a structure that only respells one already there.
    let mut m = caps("x,drm-format=NV12");
    m.merge(caps("x,drm-format=NV12:0x0"));
    assert_eq!(m.to_string(), "x, drm-format=(string)NV12");
    // A field only one side has is not compared, and is kept as written.
    assert_eq!(
        inter("x,drm-format=NV12:0x0", "x,width=1"),
        "x, drm-format=(string)NV12:0x0, width=(int)1"
    );
    // A failed intersection names the field with the values as written.
    let err = caps("x,drm-format=NV12:0x0")
        .intersect_explained(&caps("x,drm-format=NV12:0x1"))
        .unwrap_err();
    assert!(
        matches!(&err, CapsMismatch::Field { field, .. } if field == "drm-format"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("NV12:0x0") && text.contains("NV12:0x1"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------
// Subset, equality, merge.

fn sub(a: &str, b: &str) -> bool {
    caps(a).is_subset(&caps(b))
}

#[test]
fn subsets() {
    // gst
    assert!(sub("x,a=5", "x,a=[1,10]"));
    assert!(!sub("x,a=[1,10]", "x,a=5"));
    assert!(sub("x,a=[2,4]", "x,a=[1,10]"));
    assert!(sub("x,a=[2,10,2]", "x,a=[1,10]"));
    assert!(!sub("x,a=[1,10]", "x,a=[2,10,2]"));
    assert!(sub("x,a={a,b}", "x,a={a,b,c}"));
    assert!(!sub("x,a={a,d}", "x,a={a,b,c}"));
    assert!(sub("x,a=1,b=2", "x,a=1"));
    assert!(!sub("x,a=1", "x,a=1,b=2"));
    assert!(sub("x(memory:DMABuf)", "x(ANY)"));
    assert!(!sub("x(ANY)", "x(memory:DMABuf)"));
    assert!(!sub("x(memory:DMABuf)", "x"));
    assert!(sub("x,a=[0/1,30/1]", "x,a=[0/1,60/1]"));
    assert!(sub("x,a=25/1", "x,a=[0/1,60/1]"));
    assert!(sub("x,a=[4,8,4]", "x,a=[2,10,2]"));
    assert!(!sub("x,a=[2,10,2]", "x,a=[4,8,4]"));
    assert!(sub("x,a=<1,2>", "x,a=<[0,5],{2,3}>"));
    assert!(sub("x;y", "y;x"));
    assert!(!sub("x;y", "x"));
    assert!(sub("EMPTY", "EMPTY"));
    assert!(sub("x", "ANY"));
    assert!(!sub("ANY", "x"));
    assert!(sub("ANY", "ANY"));
    assert!(!sub("x", "EMPTY"));
}

#[test]
fn equality() {
    assert!(caps("x;y").is_equal(&caps("y;x")));
    assert_ne!(caps("x;y"), caps("y;x"));
    assert_eq!(caps("x,a=1,b=2"), caps("x,b=2,a=1"));
    assert!(caps("x,a={1,2}").is_equal(&caps("x,a={2,1}")));
    assert!(caps("x,a=[1,3]").is_equal(&caps("x,a=[1,3]")));
    assert!(!caps("x,a=[1,3]").is_equal(&caps("x,a={1,2,3}")));
    assert!(caps("ANY").is_equal(&caps("ANY")));
    assert!(!caps("ANY").is_equal(&caps("x")));
}

#[test]
fn merge_append_simplify() {
    let mut a = caps("x,a=[1,10]");
    a.merge(caps("x,a=5; y; x,a=20"));
    assert_eq!(a.to_string(), "x, a=(int)[ 1, 10 ]; y; x, a=(int)20");
    let mut a = caps("x,a=5");
    a.append(caps("x,a=[1,10]"));
    assert_eq!(a.to_string(), "x, a=(int)5; x, a=(int)[ 1, 10 ]");
    assert_eq!(a.simplify().to_string(), "x, a=(int)[ 1, 10 ]");
    assert!(a.is_equal(&a.simplify()));
    let mut e = Caps::new_empty();
    e.append(caps("x"));
    assert_eq!(e.to_string(), "x");
    e.merge(Caps::new_any());
    assert!(e.is_any());
    let mut any = Caps::new_any();
    any.append(caps("x"));
    assert!(any.is_any());
    let mut m = caps("x(memory:DMABuf)");
    m.merge(caps("x"));
    assert_eq!(m.to_string(), "x(memory:DMABuf); x");
    let mut t = caps("x; y; z");
    t.truncate();
    assert_eq!(t.to_string(), "x");
    assert_eq!(caps("x; x; y").simplify().to_string(), "x; y");
}

// ---------------------------------------------------------------------------------------
// Fixation.

#[test]
fn fixed_or_not() {
    assert!(caps("x, a=1, b=NV12, c=30/1, d=<1,2>").is_fixed());
    assert!(!caps("x, a=[1,2]").is_fixed());
    assert!(!caps("x, a={1}").is_fixed());
    assert!(!caps("x, a=<1,[1,2]>").is_fixed());
    assert!(!caps("x; y").is_fixed());
    assert!(!caps("x(ANY)").is_fixed());
    assert!(caps("x(memory:DMABuf)").is_fixed());
    assert!(!caps("ANY").is_fixed());
    assert!(!caps("EMPTY").is_fixed());
}

#[test]
fn fixate_default() {
    // gst
    assert_eq!(
        caps("x,a=[1,10],b={c,d},f=[0/1,30/1],arr=<[1,2],{3,4}>;y")
            .fixate()
            .to_string(),
        "x, a=(int)1, b=(string)c, f=(fraction)0/1, arr=(int)< 1, 3 >"
    );
    assert_eq!(
        caps("x(ANY),a=[2,10,2]").fixate().to_string(),
        "x, a=(int)2"
    );
    assert_eq!(caps("x,a={[5,9],1}").fixate().to_string(), "x, a=(int)5");
    assert!(caps("ANY").fixate().is_any());
    assert!(caps("EMPTY").fixate().is_empty());
    assert!(caps("x,a=[1,2];y").fixate().is_fixed());
}

fn nearest_int(c: &str, target: i32) -> (bool, String) {
    let mut c = caps(c);
    let changed = c.fixate_field_nearest_int("w", target);
    (changed, c.to_string())
}

fn nearest_frac(c: &str, target: Fraction) -> (bool, String) {
    let mut c = caps(c);
    let changed = c.fixate_field_nearest_fraction("f", target);
    (changed, c.to_string())
}

#[test]
fn fixate_nearest_int() {
    // gst
    let ok = |s: &str| (true, s.to_owned());
    assert_eq!(nearest_int("x,w=[1,4096]", 1920), ok("x, w=(int)1920"));
    assert_eq!(nearest_int("x,w=[1,4096]", 5000), ok("x, w=(int)4096"));
    assert_eq!(nearest_int("x,w=[1,4096]", -5), ok("x, w=(int)1"));
    assert_eq!(nearest_int("x,w=[4,4096,4]", 1922), ok("x, w=(int)1920"));
    assert_eq!(nearest_int("x,w=[4,4096,4]", 1923), ok("x, w=(int)1924"));
    assert_eq!(
        nearest_int("x,w={640,1280,1920}", 1500),
        ok("x, w=(int)1280")
    );
    assert_eq!(
        nearest_int("x,w={640,1000,1920}", 1460),
        ok("x, w=(int)1000")
    );
    assert_eq!(
        nearest_int("x,w={[1,100],1920}", 1500),
        ok("x, w=(int)1920")
    );
    assert_eq!(nearest_int("x,w={[1,100],1920}", 500), ok("x, w=(int)100"));
    assert_eq!(
        nearest_int("x,w=5", 1460),
        (false, "x, w=(int)5".to_owned())
    );
    assert_eq!(
        nearest_int("x,w={a,b}", 1),
        (false, "x, w=(string){ a, b }".to_owned())
    );
    assert_eq!(nearest_int("x", 1), (false, "x".to_owned()));
    let mut c = caps("video/x-raw, width=[ 1, 4096 ], height=[ 1, 4096 ]");
    c.fixate_field_nearest_int("width", 1920);
    c.fixate_field_nearest_int("height", 1080);
    assert_eq!(
        c.fixate().to_string(),
        "video/x-raw, width=(int)1920, height=(int)1080"
    );
}

#[test]
fn fixate_nearest_fraction() {
    // gst
    let ok = |s: &str| (true, s.to_owned());
    assert_eq!(
        nearest_frac("x,f=[0/1,60/1]", frac(30, 1)),
        ok("x, f=(fraction)30/1")
    );
    assert_eq!(
        nearest_frac("x,f=[0/1,25/1]", frac(30, 1)),
        ok("x, f=(fraction)25/1")
    );
    assert_eq!(
        nearest_frac("x,f=[50/1,60/1]", frac(30, 1)),
        ok("x, f=(fraction)50/1")
    );
    assert_eq!(
        nearest_frac("x,f={24/1,25/1,60/1}", frac(30, 1)),
        ok("x, f=(fraction)25/1")
    );
    assert_eq!(
        nearest_frac("x,f={30000/1001,25/1,60/1}", frac(30, 1)),
        ok("x, f=(fraction)30000/1001")
    );
    assert_eq!(
        nearest_frac("x,f={[0/1,10/1],[40/1,50/1]}", frac(30, 1)),
        ok("x, f=(fraction)40/1")
    );
    assert_eq!(
        nearest_frac("x,f=30/1", frac(25, 1)),
        (false, "x, f=(fraction)30/1".to_owned())
    );
    let mut c = caps("video/x-raw, framerate=[ 0/1, 60/1 ]");
    assert!(c.fixate_field_nearest_fraction("framerate", 30));
    assert_eq!(c.to_string(), "video/x-raw, framerate=(fraction)30/1");
}

#[test]
fn fixate_strings_and_bools() {
    let mut c = caps("x, f={ I420, NV12 }, b={ false, true }, g={ a, b }");
    assert!(c.fixate_field_string("f", "NV12"));
    assert!(c.fixate_field_string("g", "zz"));
    assert!(c.structure_mut(0).unwrap().fixate_field_bool("b", true));
    assert!(!c.fixate_field_string("f", "I420"));
    assert_eq!(
        c.to_string(),
        "x, f=(string)NV12, b=(boolean)true, g=(string)a"
    );
}

// ---------------------------------------------------------------------------------------
// Structures: getters, setters, builder.

#[test]
fn structure_access() {
    let mut s: Structure = "video/x-raw, format=NV12, width=1920, rate=29.97, i=true, \
                            f=30/1, m=(guint64)5, w2=[1,2]"
        .parse()
        .unwrap();
    assert_eq!(s.name(), "video/x-raw");
    assert!(s.has_name("video/x-raw"));
    assert_eq!(s.len(), 7);
    assert_eq!(s.get::<&str>("format"), Ok("NV12"));
    assert_eq!(s.get::<String>("format"), Ok("NV12".to_owned()));
    assert_eq!(s.get::<i32>("width"), Ok(1920));
    assert_eq!(s.get::<f64>("rate"), Ok(29.97));
    assert_eq!(s.get::<bool>("i"), Ok(true));
    assert_eq!(s.get::<Fraction>("f"), Ok(frac(30, 1)));
    assert_eq!(s.get::<u64>("m"), Ok(5));
    assert_eq!(s.get::<&Value>("w2"), Ok(&Value::int_range(1, 2)));
    assert_eq!(s.get_int("width"), Some(1920));
    assert_eq!(s.get_double("rate"), Some(29.97));
    assert_eq!(s.get_bool("i"), Some(true));
    assert_eq!(s.get_int("format"), None);
    let e = s.get::<i32>("height").unwrap_err();
    assert_eq!(e.to_string(), "video/x-raw has no field 'height'");
    let e = s.get::<i32>("w2").unwrap_err();
    assert_eq!(
        e.to_string(),
        "field 'w2' of video/x-raw is int range [ 1, 2 ], not int"
    );
    s.set("width", 1280);
    s.set("height", 720);
    assert_eq!(s.remove("rate"), Some(Value::Double(29.97)));
    assert_eq!(s.remove("rate"), None);
    assert_eq!(
        s.fields().map(|(k, _)| k).collect::<Vec<_>>(),
        ["format", "width", "i", "f", "m", "w2", "height"]
    );
    s.set_name("video/y");
    assert_eq!(s.name(), "video/y");
    assert!("x, a=1; y".parse::<Structure>().is_err());
    assert!("x(memory:DMABuf)".parse::<Structure>().is_err());
    assert_eq!("x;".parse::<Structure>().unwrap(), Structure::new("x"));
}

#[test]
fn builders() {
    let c = Caps::builder("video/x-raw")
        .field("format", "NV12")
        .field("width", 1920)
        .field("height", 1..=4096)
        .field("framerate", Fraction::ZERO..=frac(60, 1))
        .field("formats", Value::list(["NV12", "I420"]))
        .field("modifier", 0x0100_0000_0000_0002_u64)
        .field("interlaced", false)
        .field("ratio", 1.5)
        .features(["memory:DMABuf"])
        .build();
    assert_eq!(
        c.to_string(),
        "video/x-raw(memory:DMABuf), format=(string)NV12, width=(int)1920, \
         height=(int)[ 1, 4096 ], framerate=(fraction)[ 0/1, 60/1 ], \
         formats=(string){ NV12, I420 }, modifier=(guint64)72057594037927938, \
         interlaced=(boolean)false, ratio=(double)1.5"
    );
    assert_eq!(caps(&c.to_string()), c);
    let any = Caps::builder("x").any_features().build();
    assert_eq!(any.to_string(), "x(ANY)");
    let s = Structure::builder("x").field("a", 1).build();
    assert_eq!(Caps::from(s).to_string(), "x, a=(int)1");
    assert_eq!(Caps::new_empty_simple("x").to_string(), "x");
    let mut c = caps("x; y");
    assert!(c.set_features(1, CapsFeatures::new_any()));
    assert!(!c.set_features(2, CapsFeatures::new_any()));
    assert_eq!(c.to_string(), "x; y(ANY)");
    assert_eq!(c.iter().count(), 2);
    assert_eq!(
        (&c).into_iter().map(|(s, _)| s.name()).collect::<Vec<_>>(),
        ["x", "y"]
    );
    assert_eq!(
        c.remove_structure(0).map(|(s, _)| s),
        Some(Structure::new("x"))
    );
    assert_eq!(c.remove_structure(5), None);
}

// ---------------------------------------------------------------------------------------
// Value-level semantics not covered above.

#[test]
fn value_ops_on_odd_ranges_do_not_panic() {
    let odd = [
        Value::IntRange {
            min: 10,
            max: 1,
            step: 1,
        },
        Value::IntRange {
            min: 1,
            max: 10,
            step: 0,
        },
        Value::IntRange {
            min: 1,
            max: 10,
            step: -3,
        },
        Value::IntRange {
            min: 1,
            max: 10,
            step: 3,
        },
        Value::IntRange {
            min: i32::MIN,
            max: i32::MAX,
            step: i32::MAX,
        },
        Value::IntRange {
            min: i32::MIN,
            max: i32::MAX,
            step: 1 << 30,
        },
        Value::FractionRange {
            min: frac(5, 1),
            max: frac(1, 1),
        },
        Value::List(vec![]),
        Value::Array(vec![]),
        Value::Int(i32::MIN),
        Value::Int(i32::MAX),
        Value::Double(f64::NAN),
    ];
    for a in &odd {
        for b in &odd {
            let _ = a.intersect(b);
            let _ = a.is_subset(b);
        }
        let _ = a.fixate();
        let _ = a.nearest_int(i32::MIN);
        let _ = a.nearest_int(i32::MAX);
        let _ = a.nearest_fraction(Fraction::MIN);
        let _ = a.nearest_fraction(Fraction::MAX);
        let _ = a.to_string();
    }
    // Steps whose least common multiple is beyond i32.
    let a = Value::IntRange {
        min: i32::MIN,
        max: i32::MAX,
        step: 1 << 30,
    };
    let b = Value::IntRange {
        min: -2147483646,
        max: 2147483646,
        step: 2147483646,
    };
    assert_eq!(a.intersect(&b), Some(Value::Int(0)));
}

#[test]
fn value_kinds_and_types() {
    assert_eq!(value("[1,2]").kind_name(), "int range");
    assert_eq!(value("{a}").value_type(), ValueType::String);
    assert_eq!(value("{}").value_type(), ValueType::Int);
    assert_eq!(ValueType::from_name("F"), Some(ValueType::Fraction));
    assert_eq!(ValueType::from_name("uint64"), Some(ValueType::U64));
    assert_eq!(ValueType::from_name("f"), Some(ValueType::Float));
    assert_eq!(ValueType::U64.to_string(), "guint64");
    assert!(value("(int)5").is_subset(&value("{ 1, [ 4, 6 ] }")));
    assert!(value("{}").is_subset(&value("5")));
}

#[test]
fn nan_doubles_equal_themselves_and_round_trip() {
    // Regression: the caps fuzz target found "AAAA0X,HY=NAN" printing to caps that
    // compared unequal to themselves.
    let caps: Caps = "AAAA0X,HY=NAN".parse().unwrap();
    assert_eq!(caps, caps.clone());
    let printed = caps.to_string();
    assert_eq!(printed, "AAAA0X, HY=(double)nan");
    assert_eq!(printed.parse::<Caps>().unwrap(), caps);
    assert!(caps.can_intersect(&caps));
}

/// Operations on long lists are linear: counted in `Value` comparisons, intersecting,
/// comparing and subset-testing two lists of n elements costs a few n, not n². Lists of
/// ints, strings and fractions, with a range mixed in, and caps-level intersection.
#[test]
#[cfg_attr(
    miri,
    ignore = "lists of 20,000 values: minutes under Miri; it counts comparisons, not memory safety, and smaller list tests cover the same code there"
)]
fn long_list_operations_are_linear() {
    let n = 20_000i32;
    let widths = |from: i32| Value::List((from..from + n).map(Value::Int).collect());
    let names = |from: i32| {
        Value::List(
            (from..from + n)
                .map(|i| Value::from(format!("F{i}")))
                .collect(),
        )
    };
    let fracs = |from: i32| {
        Value::List(
            (from..from + n)
                .map(|i| Value::Fraction(Fraction::new(i, 1)))
                .collect(),
        )
    };
    let budget = 10 * u64::try_from(n).unwrap();
    for (a, b, common) in [
        (widths(1), widths(n / 2 + 1), n / 2),
        (names(1), names(n / 2 + 1), n / 2),
        (fracs(1), fracs(n / 2 + 1), n / 2),
    ] {
        let before = super::set::comparisons();
        let i = a.intersect(&b).expect("half the values are common");
        assert!(i.is_subset(&a) && i.is_subset(&b));
        assert!(a == a.clone() && a != b);
        let used = super::set::comparisons() - before;
        assert!(used < budget, "{used} comparisons for lists of {n}");
        let Value::List(items) = i else {
            panic!("a list")
        };
        assert_eq!(items.len(), usize::try_from(common).unwrap());
    }
    // A range inside the other list still matches every value in it.
    let mut with_range: Vec<Value> = (1..=100).map(Value::Int).collect();
    with_range.push(Value::int_range(15_000, 30_000));
    let before = super::set::comparisons();
    let Some(Value::List(items)) = widths(1).intersect(&Value::List(with_range)) else {
        panic!("a list")
    };
    assert_eq!(items.len(), 100 + 5_001);
    assert_eq!(items[100], Value::Int(15_000));
    assert!(super::set::comparisons() - before < budget);

    // Lists of ranges against lists of ranges and of ints: each meets only the
    // elements whose bounds overlap it.
    let ranges = |from: i32| {
        Value::List(
            (from..from + n)
                .map(|i| Value::int_range(4 * i, 4 * i + 2))
                .collect(),
        )
    };
    let before = super::set::comparisons();
    let Some(Value::List(items)) = ranges(1).intersect(&ranges(n / 2 + 1)) else {
        panic!("a list")
    };
    assert_eq!(items.len(), usize::try_from(n / 2).unwrap());
    assert_eq!(
        items[0],
        Value::int_range(4 * (n / 2 + 1), 4 * (n / 2 + 1) + 2)
    );
    let Some(Value::List(items)) = ranges(1).intersect(&widths(1)) else {
        panic!("a list")
    };
    // 4i, 4i+1, 4i+2 for every i with 4i+2 <= n, and 4i = n itself.
    assert_eq!(items.len(), 3 * usize::try_from((n - 2) / 4).unwrap() + 1);
    let common = ranges(1).intersect(&ranges(n / 2 + 1)).unwrap();
    assert!(common.is_subset(&ranges(1)) && common.is_subset(&ranges(n / 2 + 1)));
    assert!(!ranges(1).is_subset(&ranges(2)));
    assert!(super::set::comparisons() - before < 2 * budget);

    // Through caps: `video/x-raw, width={...}` against another long list.
    let text = |from: i32| {
        let list: Vec<String> = (from..from + n).map(|i| i.to_string()).collect();
        format!("video/x-raw, width={{ {} }}", list.join(", "))
    };
    let (a, b) = (caps(&text(1)), caps(&text(n / 2 + 1)));
    let before = super::set::comparisons();
    let i = a.intersect(&b);
    assert!(!i.is_empty() && i.is_subset(&a));
    assert!(super::set::comparisons() - before < budget);
}
