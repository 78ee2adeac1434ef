//! Printing values as gst_caps_to_string does.

use super::*;

/// Characters GStreamer writes without quotes (and reads as a bare word).
pub(crate) fn is_simple_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'/' | b':' | b'.')
}

/// The type to write before a field's value, or `None` for a list or array whose scalar
/// elements have different types (those are written each with its own type).
pub(super) fn leaf_type(v: &Value) -> Option<ValueType> {
    match v {
        Value::List(items) | Value::Array(items) => {
            let mut found: Option<ValueType> = None;
            for item in items {
                if matches!(item, Value::List(_) | Value::Array(_)) {
                    continue; // nested composites carry their own element types
                }
                let t = item.value_type();
                match found {
                    None => found = Some(t),
                    Some(prev) if prev != t => return None,
                    Some(_) => {}
                }
            }
            Some(found.unwrap_or_else(|| v.value_type()))
        }
        other => Some(other.value_type()),
    }
}

/// `(type)body` for a field value.
pub(crate) fn write_field_value(f: &mut impl fmt::Write, v: &Value) -> fmt::Result {
    match v {
        Value::List(_) | Value::Array(_) => match leaf_type(v) {
            Some(t) => {
                write!(f, "({})", t.name())?;
                write_composite(f, v, false)
            }
            None => write_composite(f, v, true),
        },
        other => {
            write!(f, "({})", other.value_type().name())?;
            write_scalar_body(f, other)
        }
    }
}

/// `{ a, b }` / `< a, b >`. Nested lists and arrays always type their own elements (as
/// GStreamer does); `typed_elements` types this level's scalar elements too.
pub(super) fn write_composite(
    f: &mut impl fmt::Write,
    v: &Value,
    typed_elements: bool,
) -> fmt::Result {
    let (open, close, items) = match v {
        Value::List(items) => ("{ ", " }", items),
        Value::Array(items) => ("< ", " >", items),
        other => return write_scalar_body(f, other),
    };
    f.write_str(open)?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        match item {
            Value::List(_) | Value::Array(_) => write_composite(f, item, true)?,
            scalar if typed_elements => {
                write!(f, "({})", scalar.value_type().name())?;
                write_scalar_body(f, scalar)?;
            }
            scalar => write_scalar_body(f, scalar)?,
        }
    }
    f.write_str(close)
}

pub(super) fn write_scalar_body(f: &mut impl fmt::Write, v: &Value) -> fmt::Result {
    match v {
        Value::Int(x) => write!(f, "{x}"),
        Value::U64(x) => write!(f, "{x}"),
        Value::Double(x) => f.write_str(&format_double(*x)),
        // GStreamer prints a float widened to double (`g_ascii_dtostr`).
        Value::Float(x) => f.write_str(&format_double(f64::from(*x))),
        Value::Bitmask(x) => write!(f, "0x{x:016x}"),
        Value::Bool(x) => f.write_str(if *x { "true" } else { "false" }),
        Value::String(s) => write_string(f, s),
        Value::Fraction(x) => write!(f, "{x}"),
        Value::IntRange { min, max, step } => {
            if *step == 1 {
                write!(f, "[ {min}, {max} ]")
            } else {
                write!(f, "[ {min}, {max}, {step} ]")
            }
        }
        Value::FractionRange { min, max } => write!(f, "[ {min}, {max} ]"),
        Value::List(_) | Value::Array(_) => write_composite(f, v, leaf_type(v).is_none()),
    }
}

/// A bare word when every byte is a letter, digit or one of `_-+/:.`; otherwise (and
/// for "" and "NULL") quoted, with `\` before other printable ASCII and `\ooo` octal
/// for control bytes and the bytes of non-ASCII characters.
pub(crate) fn write_string(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    if !s.is_empty() && s != "NULL" && s.bytes().all(is_simple_char) {
        return f.write_str(s);
    }
    f.write_char('"')?;
    for b in s.bytes() {
        if is_simple_char(b) {
            f.write_char(char::from(b))?;
        } else if !(0x20..0x7f).contains(&b) {
            write!(f, "\\{}{}{}", b >> 6, (b >> 3) & 7, b & 7)?;
        } else {
            f.write_char('\\')?;
            f.write_char(char::from(b))?;
        }
    }
    f.write_char('"')
}

/// C's `%.17g`, as GStreamer's `g_ascii_dtostr`: 17 significant digits, trailing zeros
/// dropped, exponent form below 1e-4 and from 1e17.
pub(crate) fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".to_owned();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let sci = format!("{d:.16e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::from(sign);
    if !(-4..17).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        let rest = rest.trim_end_matches('0');
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    } else if exp >= 0 {
        let split = (exp as usize + 1).min(digits.len());
        let (int_part, frac) = digits.split_at(split);
        out.push_str(int_part);
        let frac = frac.trim_end_matches('0');
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
    } else {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(digits.trim_end_matches('0'));
    }
    out
}
