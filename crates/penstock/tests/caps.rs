//! Property tests of caps: printing then parsing gives the same caps back, intersection
//! is commutative and gives a subset of both sides, and no input makes the parser panic.

use penstock::caps::{Caps, CapsFeatures, Fraction, Structure, Value};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------
// Arbitrary caps, for the round trip.

fn fraction() -> impl Strategy<Value = Fraction> {
    prop_oneof![
        (-1000i32..1000, 1i32..1000),
        (any::<i32>(), 1i32..=i32::MAX),
        Just((i32::MAX, 1)),
        Just((-i32::MAX, 1)),
    ]
    .prop_filter_map("representable", |(n, d)| Fraction::checked_new(n, d))
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_+/:.-]{0,12}",
        "[ -~]{0,12}",
        any::<String>(),
        Just(String::new()),
        Just("NULL".to_owned()),
        Just("NV12:0x0100000000000002".to_owned()),
        Just("30/1".to_owned()),
        Just("true".to_owned()),
        Just("max".to_owned()),
    ]
}

fn double() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("not NaN", |d| !d.is_nan()),
        (-1000i32..1000).prop_map(f64::from),
        Just(0.1),
        Just(-0.0),
        Just(f64::INFINITY),
        Just(1e-310),
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i32>().prop_map(Value::Int),
        any::<u64>().prop_map(Value::U64),
        double().prop_map(Value::Double),
        any::<bool>().prop_map(Value::Bool),
        string().prop_map(Value::String),
        fraction().prop_map(Value::Fraction),
    ]
}

fn int_range() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-10_000i32..10_000, 1i32..10_000, 1i32..=16).prop_map(|(a, len, step)| {
            Value::IntRange {
                min: a * step,
                max: (a + len) * step,
                step,
            }
        }),
        Just(Value::IntRange {
            min: 1,
            max: i32::MAX,
            step: 1
        }),
        Just(Value::IntRange {
            min: i32::MIN,
            max: i32::MAX,
            step: 1
        }),
    ]
}

fn fraction_range() -> impl Strategy<Value = Value> {
    (fraction(), fraction())
        .prop_filter("distinct", |(a, b)| a != b)
        .prop_map(|(a, b)| Value::FractionRange {
            min: a.min(b),
            max: a.max(b),
        })
}

fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        4 => scalar(),
        1 => int_range(),
        1 => fraction_range(),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::List),
            prop::collection::vec(inner, 0..5).prop_map(Value::Array),
        ]
    })
}

fn features() -> impl Strategy<Value = CapsFeatures> {
    prop_oneof![
        4 => Just(CapsFeatures::default()),
        1 => Just(CapsFeatures::new(["memory:DMABuf"])),
        1 => Just(CapsFeatures::new_any()),
        1 => Just(CapsFeatures::new(["memory:DMABuf", "meta:GstVideoOverlayComposition"])),
        1 => Just(CapsFeatures::new(["memory:SystemMemory", "meta:Foo"])),
    ]
}

fn structure(value: impl Strategy<Value = Value>) -> impl Strategy<Value = Structure> {
    let name = "[a-z]{1,6}/[a-z][a-z0-9-]{0,6}";
    let fields = prop::collection::vec(("[a-z][a-z0-9-]{0,8}", value), 0..6);
    (name, fields).prop_map(|(name, fields)| {
        let mut s = Structure::new(name);
        for (k, v) in fields {
            s.set(k, v);
        }
        s
    })
}

fn any_caps() -> impl Strategy<Value = Caps> {
    prop_oneof![
        1 => Just(Caps::new_any()),
        1 => Just(Caps::new_empty()),
        8 => prop::collection::vec((structure(any_value()), features()), 1..4).prop_map(
            |entries| {
                let mut caps = Caps::new_empty();
                for (s, f) in entries {
                    caps.append_structure_full(s, f);
                }
                caps
            }
        ),
    ]
}

// ---------------------------------------------------------------------------------------
// Simple caps over small domains, so that intersections are often non-empty.

fn simple_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        (0i32..8).prop_map(Value::Int),
        (0i32..6, 1i32..6, 1i32..=3).prop_map(|(a, len, step)| Value::IntRange {
            min: a * step,
            max: (a + len) * step,
            step,
        }),
        prop::sample::select(vec!["a", "b", "c"]).prop_map(Value::from),
        (0i32..4, 1i32..3).prop_map(|(n, d)| Value::Fraction(Fraction::new(n, d))),
        (0i32..4, 1i32..4).prop_map(|(a, len)| Value::FractionRange {
            min: Fraction::from_integer(a),
            max: Fraction::from_integer(a + len),
        }),
        any::<bool>().prop_map(Value::Bool),
    ];
    prop_oneof![
        4 => leaf.clone(),
        2 => prop::collection::vec(leaf.clone(), 1..4).prop_map(Value::List),
        1 => prop::collection::vec(leaf, 1..3).prop_map(Value::Array),
    ]
}

fn simple_caps() -> impl Strategy<Value = Caps> {
    let entry = (
        prop::sample::select(vec!["video/x-raw", "audio/x-raw"]),
        prop::collection::vec(
            (prop::sample::select(vec!["f", "g", "h"]), simple_value()),
            0..3,
        ),
        prop_oneof![
            4 => Just(CapsFeatures::default()),
            1 => Just(CapsFeatures::new(["memory:DMABuf"])),
            1 => Just(CapsFeatures::new_any()),
        ],
    );
    prop_oneof![
        1 => Just(Caps::new_any()),
        1 => Just(Caps::new_empty()),
        10 => prop::collection::vec(entry, 1..4).prop_map(|entries| {
            let mut caps = Caps::new_empty();
            for (name, fields, f) in entries {
                let mut s = Structure::new(name);
                for (k, v) in fields {
                    s.set(k, v);
                }
                caps.append_structure_full(s, f);
            }
            caps
        }),
    ]
}

proptest! {
    // Few cases under Miri (slow), and no failure files (Miri isolates the file system).
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 8 } else { 2000 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn print_then_parse_gives_the_same_caps(caps in any_caps()) {
        let printed = caps.to_string();
        let parsed: Caps = printed
            .parse()
            .map_err(|e| TestCaseError::fail(format!("{printed:?} does not parse: {e}")))?;
        prop_assert_eq!(&parsed, &caps, "printed as {}", printed);
        prop_assert_eq!(parsed.to_string(), printed);
    }

    #[test]
    fn value_print_then_parse(v in any_value()) {
        let typed = v.typed().to_string();
        let parsed: Value = typed
            .parse()
            .map_err(|e| TestCaseError::fail(format!("{typed:?} does not parse: {e}")))?;
        prop_assert_eq!(parsed, v);
    }

    #[test]
    fn intersection_is_commutative(a in simple_caps(), b in simple_caps()) {
        let ab = a.intersect(&b);
        let ba = b.intersect(&a);
        prop_assert!(ab.is_equal(&ba), "{} ∩ {}:\n  {}\nvs\n  {}", a, b, ab, ba);
    }

    #[test]
    fn intersection_is_a_subset_of_both(a in simple_caps(), b in simple_caps()) {
        let ab = a.intersect(&b);
        prop_assert!(ab.is_subset(&a), "{} ∩ {} = {} ⊄ left", a, b, ab);
        prop_assert!(ab.is_subset(&b), "{} ∩ {} = {} ⊄ right", a, b, ab);
        prop_assert_eq!(a.can_intersect(&b), !ab.is_empty());
        prop_assert_eq!(a.intersect_explained(&b).is_ok(), !ab.is_empty());
        if let Ok(c) = a.intersect_explained(&b) {
            prop_assert_eq!(c, ab);
        }
    }

    #[test]
    fn intersecting_with_a_superset_changes_nothing(a in simple_caps(), b in simple_caps()) {
        prop_assert!(a.intersect(&a).is_equal(&a), "{} ∩ itself", a);
        if a.is_subset(&b) {
            prop_assert!(a.intersect(&b).is_equal(&a), "{} ⊆ {}", a, b);
        }
    }

    #[test]
    fn fixate_gives_one_format_inside(c in simple_caps()) {
        let f = c.fixate();
        if c.is_any() || c.is_empty() {
            prop_assert_eq!(f, c);
        } else {
            prop_assert!(f.is_fixed(), "{} fixated to {}", c, f);
            prop_assert!(f.is_subset(&c), "{} fixated to {}", c, f);
        }
    }

    #[test]
    fn parser_never_panics(s in any::<String>()) {
        let _ = s.parse::<Caps>();
        let _ = s.parse::<Value>();
    }

    #[test]
    fn parser_never_panics_on_caps_like_text(
        s in r#"[a-z/(){}<>\[\],;=" \\:.0-9+-]{0,40}"#
    ) {
        if let Ok(caps) = s.parse::<Caps>() {
            // Whatever parses prints to something that parses to the same caps.
            let printed = caps.to_string();
            let again: Caps = printed
                .parse()
                .map_err(|e| TestCaseError::fail(format!("{printed:?} does not parse: {e}")))?;
            prop_assert_eq!(again, caps);
        }
        let _ = s.parse::<Structure>();
        let _ = s.parse::<CapsFeatures>();
    }
}
