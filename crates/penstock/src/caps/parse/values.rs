//! Values: scalars (typed or inferred from the word), ranges, lists and arrays, quoted
//! strings.

use super::*;

impl<'a> Parser<'a> {
    /// `[ (type) ] value`, the type applying to every scalar inside unless overridden.
    pub(super) fn value(&mut self, outer: Option<ValueType>, depth: usize) -> Result<Value> {
        self.skip_ws();
        if depth > MAX_DEPTH {
            return Err(self.error(ParseErrorKind::TooDeep, self.pos, self.token_at(self.pos)));
        }
        let mut ty = outer;
        if self.peek() == Some(b'(') {
            let open = self.pos;
            self.pos += 1;
            self.skip_ws();
            let start = self.pos;
            let name = self.word();
            if name.is_empty() {
                return Err(if self.at_end() {
                    self.unclosed(open, '(', ')')
                } else {
                    self.unexpected("a type name such as int or string")
                });
            }
            self.skip_ws();
            if !self.eat(b')') {
                return Err(if self.at_end() {
                    self.unclosed(open, '(', ')')
                } else {
                    self.unexpected("')' after the type name")
                });
            }
            ty = Some(ValueType::from_name(name).ok_or_else(|| {
                self.error(
                    ParseErrorKind::UnknownType {
                        name: name.to_owned(),
                    },
                    start,
                    name,
                )
            })?);
            self.skip_ws();
        }
        match self.peek() {
            Some(b'[') => self.range(ty, depth),
            Some(b'{') => self.composite(ty, depth, '{', '}').map(Value::List),
            Some(b'<') => self.composite(ty, depth, '<', '>').map(Value::Array),
            _ => self.scalar(ty),
        }
    }

    /// `{ a, b }` or `< a, b >` (a trailing comma is allowed, as in GStreamer).
    pub(super) fn composite(
        &mut self,
        ty: Option<ValueType>,
        depth: usize,
        open: char,
        close: char,
    ) -> Result<Vec<Value>> {
        let open_pos = self.pos;
        self.pos += 1;
        let close_byte = close as u8;
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Err(self.unclosed(open_pos, open, close)),
                Some(b) if b == close_byte => {
                    self.pos += 1;
                    return Ok(items);
                }
                Some(_) => {}
            }
            items.push(self.value(ty, depth + 1)?);
            self.skip_ws();
            match self.peek() {
                None => return Err(self.unclosed(open_pos, open, close)),
                Some(b',') => self.pos += 1,
                Some(b) if b == close_byte => {}
                Some(_) => {
                    return Err(self.unexpected(if open == '{' {
                        "',' between list elements or '}' to close the list"
                    } else {
                        "',' between array elements or '>' to close the array"
                    }));
                }
            }
        }
    }

    /// `[ min, max ]` or `[ min, max, step ]`.
    pub(super) fn range(&mut self, ty: Option<ValueType>, depth: usize) -> Result<Value> {
        let open = self.pos;
        self.pos += 1;
        let min = self.range_bound(ty, depth, open)?;
        self.skip_ws();
        match self.peek() {
            Some(b',') => self.pos += 1,
            None => return Err(self.unclosed(open, '[', ']')),
            Some(b']') => {
                return Err(self.invalid_range(
                    open,
                    self.pos + 1,
                    "a range needs a minimum and a maximum: [ min, max ]".into(),
                ));
            }
            Some(_) => return Err(self.unexpected("',' between the range's bounds")),
        }
        let max = self.range_bound(ty, depth, open)?;
        self.skip_ws();
        let step = if self.eat(b',') {
            Some(self.range_bound(Some(ValueType::Int), depth, open)?)
        } else {
            None
        };
        self.skip_ws();
        match self.peek() {
            Some(b']') => self.pos += 1,
            None => return Err(self.unclosed(open, '[', ']')),
            Some(_) => return Err(self.unexpected("']' to close the range")),
        }
        let end = self.pos;
        match (min, max) {
            (Value::Int(min), Value::Int(max)) => {
                let step = match step {
                    None => 1,
                    Some(Value::Int(s)) if s > 0 => s,
                    Some(_) => {
                        return Err(self.invalid_range(
                            open,
                            end,
                            "the step (third number) must be a positive int".into(),
                        ));
                    }
                };
                if min >= max {
                    return Err(self.invalid_range(
                        open,
                        end,
                        format!("the minimum {min} must be below the maximum {max}"),
                    ));
                }
                if min % step != 0 || max % step != 0 {
                    return Err(self.invalid_range(
                        open,
                        end,
                        format!("both bounds must be multiples of the step {step}"),
                    ));
                }
                Ok(Value::IntRange { min, max, step })
            }
            (Value::Fraction(min), Value::Fraction(max)) => {
                if step.is_some() {
                    return Err(self.invalid_range(
                        open,
                        end,
                        "fraction ranges take no step".into(),
                    ));
                }
                if min >= max {
                    return Err(self.invalid_range(
                        open,
                        end,
                        format!("the minimum {min} must be below the maximum {max}"),
                    ));
                }
                Ok(Value::FractionRange { min, max })
            }
            (a, b) if a.value_type() == b.value_type() => Err(self.invalid_range(
                open,
                end,
                format!(
                    "ranges of {} are not supported, only of int and fraction",
                    a.value_type()
                ),
            )),
            (a, b) => Err(self.invalid_range(
                open,
                end,
                format!(
                    "the bounds have different types ({} and {}): write both alike, \
                     e.g. [ 1, 100 ] or [ 0/1, 30/1 ]",
                    a.value_type(),
                    b.value_type()
                ),
            )),
        }
    }

    pub(super) fn range_bound(
        &mut self,
        ty: Option<ValueType>,
        depth: usize,
        open: usize,
    ) -> Result<Value> {
        self.skip_ws();
        if self.at_end() {
            return Err(self.unclosed(open, '[', ']'));
        }
        let start = self.pos;
        let v = self.value(ty, depth + 1)?;
        match v {
            Value::IntRange { .. }
            | Value::FractionRange { .. }
            | Value::List(_)
            | Value::Array(_) => Err(self.error(
                ParseErrorKind::InvalidRange {
                    reason: "range bounds must be single values".into(),
                },
                start,
                self.src.get(start..self.pos).unwrap_or(""),
            )),
            v => Ok(v),
        }
    }

    pub(super) fn invalid_range(&self, open: usize, end: usize, reason: String) -> ParseError {
        self.error(
            ParseErrorKind::InvalidRange { reason },
            open,
            self.src.get(open..end).unwrap_or("["),
        )
    }

    /// A bare word or quoted string, read as `ty` or, untyped, as the first type it
    /// parses as (int, guint64, double, fraction, boolean, string).
    pub(super) fn scalar(&mut self, ty: Option<ValueType>) -> Result<Value> {
        let start = self.pos;
        match self.char_at(self.pos) {
            None => return Err(self.error(ParseErrorKind::ExpectedValue, self.pos, "")),
            Some('"') => {
                let s = self.quoted()?;
                return match ty {
                    None | Some(ValueType::String) => Ok(Value::String(s)),
                    Some(ty) => Err(self.error(
                        ParseErrorKind::InvalidValue { ty },
                        start,
                        &self.src[start..self.pos],
                    )),
                };
            }
            Some(_) => {}
        }
        let word = self.word();
        if word.is_empty() {
            return Err(match self.char_at(self.pos) {
                Some(c @ (',' | ';' | ')' | ']' | '}' | '>' | '=')) => self.error(
                    ParseErrorKind::ExpectedValue,
                    self.pos,
                    c.encode_utf8(&mut [0; 4]),
                ),
                Some(found) => self.error(
                    ParseErrorKind::NeedsQuotes { found },
                    self.pos,
                    found.encode_utf8(&mut [0; 4]),
                ),
                None => self.error(ParseErrorKind::ExpectedValue, self.pos, ""),
            });
        }
        let parsed = match ty {
            Some(ty) => read_as(word, ty),
            None => Some(infer(word)),
        };
        parsed.ok_or_else(|| {
            self.error(
                ParseErrorKind::InvalidValue {
                    ty: ty.unwrap_or(ValueType::String),
                },
                start,
                word,
            )
        })
    }

    /// `"..."`: `\ooo` is an octal byte, `\x` is `x`.
    pub(super) fn quoted(&mut self) -> Result<String> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(&b) = bytes.get(self.pos) else {
                return Err(self.error(
                    ParseErrorKind::UnterminatedString,
                    start,
                    &self.src[start..],
                ));
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\\' => {
                    let esc = self.pos;
                    match bytes.get(esc + 1) {
                        None => {
                            return Err(self.error(
                                ParseErrorKind::UnterminatedString,
                                start,
                                &self.src[start..],
                            ));
                        }
                        Some(d0 @ b'0'..=b'3') => {
                            let d1 = bytes.get(esc + 2).copied();
                            let d2 = bytes.get(esc + 3).copied();
                            match (d1, d2) {
                                (Some(d1 @ b'0'..=b'7'), Some(d2 @ b'0'..=b'7')) => {
                                    out.push(((d0 - b'0') << 6) | ((d1 - b'0') << 3) | (d2 - b'0'));
                                    self.pos = esc + 4;
                                }
                                _ => {
                                    let mut end = esc + 2;
                                    while end < esc + 4
                                        && bytes.get(end).is_some_and(u8::is_ascii_digit)
                                    {
                                        end += 1;
                                    }
                                    return Err(self.error(
                                        ParseErrorKind::InvalidEscape,
                                        esc,
                                        self.src.get(esc..end).unwrap_or("\\"),
                                    ));
                                }
                            }
                        }
                        Some(&other) => {
                            out.push(other);
                            self.pos = esc + 2;
                        }
                    }
                }
                other => {
                    out.push(other);
                    self.pos += 1;
                }
            }
        }
        String::from_utf8(out).map_err(|_| {
            self.error(
                ParseErrorKind::InvalidUtf8,
                start,
                self.src.get(start..self.pos).unwrap_or("\""),
            )
        })
    }
}

/// The untyped reading of a bare word, in GStreamer's order: int, then (an addition)
/// guint64 for integers beyond 32 bits, double, fraction, boolean, and string.
pub(super) fn infer(word: &str) -> Value {
    read_int(word)
        .map(Value::Int)
        .or_else(|| {
            read_int_literal(word)
                .and_then(|v| u64::try_from(v).ok())
                .map(Value::U64)
        })
        .or_else(|| read_double(word).map(Value::Double))
        .or_else(|| read_fraction(word).map(Value::Fraction))
        .or_else(|| read_bool(word).map(Value::Bool))
        .unwrap_or_else(|| Value::String(word.to_owned()))
}

pub(super) fn read_as(word: &str, ty: ValueType) -> Option<Value> {
    Some(match ty {
        ValueType::Int => Value::Int(read_int(word)?),
        ValueType::U64 => Value::U64(read_u64(word)?),
        ValueType::Double => Value::Double(read_double(word)?),
        ValueType::Bool => Value::Bool(read_bool(word)?),
        ValueType::String => Value::String(word.to_owned()),
        ValueType::Fraction => Value::Fraction(read_fraction(word)?),
        ValueType::Float => Value::Float(read_float(word)?),
        ValueType::Bitmask => Value::Bitmask(read_bitmask(word)?),
    })
}

/// A double that fits a float: GStreamer's `gst_value_deserialize_float` refuses
/// values beyond `G_MAXFLOAT`, infinities included (`nan` passes).
pub(super) fn read_float(word: &str) -> Option<f32> {
    let d = read_double(word)?;
    if d.abs() > f64::from(f32::MAX) {
        return None;
    }
    #[allow(clippy::cast_possible_truncation)]
    Some(d as f32)
}

/// Hexadecimal, with or without `0x`, as GStreamer's `gst_value_deserialize_bitmask`
/// reads it (`g_ascii_strtoull` in base 16): `0x3` and `3` are both 3, `10` is 16.
pub(super) fn read_bitmask(word: &str) -> Option<u64> {
    let hex = word
        .strip_prefix("0x")
        .or_else(|| word.strip_prefix("0X"))
        .unwrap_or(word);
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// `[+-]` then decimal digits or `0x` and hex digits.
pub(super) fn read_int_literal(word: &str) -> Option<i128> {
    let (neg, body) = match word.as_bytes().first()? {
        b'-' => (true, &word[1..]),
        b'+' => (false, &word[1..]),
        _ => (false, word),
    };
    let (digits, radix) = match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (body, 10),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let v = i128::from(u64::from_str_radix(digits, radix).ok()?);
    Some(if neg { -v } else { v })
}

/// GStreamer's int: 32-bit, values up to `u32::MAX` wrap to negative ones, and the
/// names min, max, little_endian, big_endian and byte_order.
pub(super) fn read_int(word: &str) -> Option<i32> {
    if let Some(v) = read_int_literal(word) {
        return match i32::try_from(v) {
            Ok(v) => Some(v),
            Err(_) => u32::try_from(v).ok().map(|u| u as i32),
        };
    }
    let lower = word.to_ascii_lowercase();
    match lower.as_str() {
        "min" => Some(i32::MIN),
        "max" => Some(i32::MAX),
        "little_endian" => Some(1234),
        "big_endian" => Some(4321),
        "byte_order" => Some(if cfg!(target_endian = "big") {
            4321
        } else {
            1234
        }),
        _ => None,
    }
}

pub(super) fn read_u64(word: &str) -> Option<u64> {
    if let Some(v) = read_int_literal(word) {
        return u64::try_from(v).ok();
    }
    match word.to_ascii_lowercase().as_str() {
        "min" => Some(0),
        "max" => Some(u64::MAX),
        _ => None,
    }
}

pub(super) fn read_double(word: &str) -> Option<f64> {
    if let Ok(v) = word.parse::<f64>() {
        return Some(v);
    }
    if let Some(v) = read_int_literal(word) {
        return Some(v as f64);
    }
    match word.to_ascii_lowercase().as_str() {
        "min" => Some(f64::MIN_POSITIVE),
        "max" => Some(f64::MAX),
        _ => None,
    }
}

pub(super) fn read_fraction(word: &str) -> Option<Fraction> {
    match word.to_ascii_lowercase().as_str() {
        "min" => return Some(Fraction::MIN),
        "max" => return Some(Fraction::MAX),
        _ => {}
    }
    let part = |s: &str| read_int_literal(s).and_then(|v| i64::try_from(v).ok());
    match word.split_once('/') {
        Some((n, d)) => Fraction::from_i64(part(n)?, part(d)?),
        None => Fraction::from_i64(part(word)?, 1),
    }
}

pub(super) fn read_bool(word: &str) -> Option<bool> {
    if word == "1" {
        return Some(true);
    }
    if word == "0" {
        return Some(false);
    }
    match word.to_ascii_lowercase().as_str() {
        "true" | "yes" | "t" => Some(true),
        "false" | "no" | "f" => Some(false),
        _ => None,
    }
}
