//! A minimal JSON writer for the stats file and `probe --json` (objects, arrays,
//! numbers, strings, booleans, null).

use std::fmt::Write;

/// A JSON value.
pub enum Json {
    /// An unsigned integer.
    U(u64),
    /// A float.
    F(f64),
    /// A string.
    S(String),
    /// A boolean.
    B(bool),
    /// `null`.
    Null,
    /// An array.
    A(Vec<Json>),
    /// An object, keys in order.
    O(Vec<(String, Json)>),
}

impl Json {
    /// Serialises with two-space indentation.
    pub fn to_pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out.push('\n');
        out
    }

    fn write(&self, out: &mut String, indent: usize) {
        match self {
            Json::U(v) => {
                let _ = write!(out, "{v}");
            }
            Json::F(v) if v.is_finite() => {
                let _ = write!(out, "{v:?}");
            }
            Json::F(_) => out.push_str("null"),
            Json::S(s) => write_str(out, s),
            Json::B(b) => {
                let _ = write!(out, "{b}");
            }
            Json::Null => out.push_str("null"),
            Json::A(items) => {
                if items.is_empty() {
                    out.push_str("[]");
                    return;
                }
                out.push_str("[\n");
                for (i, v) in items.iter().enumerate() {
                    out.push_str(&"  ".repeat(indent + 1));
                    v.write(out, indent + 1);
                    if i + 1 < items.len() {
                        out.push(',');
                    }
                    out.push('\n');
                }
                out.push_str(&"  ".repeat(indent));
                out.push(']');
            }
            Json::O(fields) => {
                if fields.is_empty() {
                    out.push_str("{}");
                    return;
                }
                out.push_str("{\n");
                for (i, (k, v)) in fields.iter().enumerate() {
                    out.push_str(&"  ".repeat(indent + 1));
                    write_str(out, k);
                    out.push_str(": ");
                    v.write(out, indent + 1);
                    if i + 1 < fields.len() {
                        out.push(',');
                    }
                    out.push('\n');
                }
                out.push_str(&"  ".repeat(indent));
                out.push('}');
            }
        }
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::Json;

    #[test]
    fn writes_nested_objects_and_escapes() {
        let j = Json::O(vec![
            ("a".into(), Json::U(1)),
            (
                "b\"".into(),
                Json::O(vec![
                    ("c".into(), Json::F(0.5)),
                    ("d".into(), Json::S("x\ny".into())),
                ]),
            ),
            ("e".into(), Json::O(vec![])),
        ]);
        assert_eq!(
            j.to_pretty(),
            "{\n  \"a\": 1,\n  \"b\\\"\": {\n    \"c\": 0.5,\n    \"d\": \"x\\ny\"\n  },\n  \"e\": {}\n}\n"
        );
    }

    #[test]
    fn writes_arrays_booleans_and_null() {
        let j = Json::O(vec![
            ("a".into(), Json::A(vec![Json::B(true), Json::Null])),
            ("b".into(), Json::A(vec![])),
            ("c".into(), Json::B(false)),
        ]);
        assert_eq!(
            j.to_pretty(),
            "{\n  \"a\": [\n    true,\n    null\n  ],\n  \"b\": [],\n  \"c\": false\n}\n"
        );
    }
}
