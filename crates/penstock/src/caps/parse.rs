//! The caps string syntax: a hand-written recursive-descent parser that reports the byte
//! column and text of the offending token.
//!
//! ```text
//! caps      := "ANY" | "EMPTY" | "NONE" | "" | structure ( ";" structure )* [ ";" ]
//! structure := media-type [ "(" features ")" ] ( "," field )*
//! field     := name "=" value
//! value     := [ "(" type ")" ] ( scalar | "[" bound "," bound [ "," step ] "]"
//!                                 | "{" [ value ( "," value )* [","] ] "}"
//!                                 | "<" [ value ( "," value )* [","] ] ">" )
//! scalar    := word | "\"" quoted "\""
//! ```
//!
//! Whitespace may surround every token. A bare `word` is made of letters, digits and
//! `_-+/:.`; anything else must be quoted, with `\` escaping the next byte and `\ooo`
//! giving a byte in octal.

use std::fmt;

use super::Caps;
use super::features::CapsFeatures;
use super::structure::Structure;
use super::value::{Fraction, Value, ValueType, is_simple_char};

/// Nesting limit of lists, arrays and ranges, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 32;

/// A caps string (or structure, features or value string) that could not be parsed.
///
/// It says where: [`column`](ParseError::column) is the 0-based byte offset of the
/// offending token in the input and [`token`](ParseError::token) its text (empty at
/// the end of the input); and what: [`kind`](ParseError::kind). The message counts
/// columns from 1, as editors do.
///
/// ```
/// use penstock::caps::{Caps, ParseErrorKind};
/// let err = "video/x-raw, width=(int)abc".parse::<Caps>().unwrap_err();
/// assert_eq!((err.column(), err.token()), (24, "abc"));
/// assert!(matches!(err.kind(), ParseErrorKind::InvalidValue { .. }));
/// assert_eq!(
///     err.to_string(),
///     "at column 25, `abc`: not a valid int: write an integer such as 1920, -5, 0x1f, min or max"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at column {}, {}: {kind}", column + 1, TokenDesc(token))]
pub struct ParseError {
    kind: ParseErrorKind,
    column: usize,
    token: String,
}

struct TokenDesc<'a>(&'a str);

impl fmt::Display for TokenDesc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("end of input")
        } else {
            write!(f, "`{}`", self.0)
        }
    }
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, column: usize, token: impl Into<String>) -> Self {
        ParseError {
            kind,
            column,
            token: token.into(),
        }
    }

    /// What is wrong.
    pub fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }

    /// 0-based byte offset of the offending token in the input.
    pub fn column(&self) -> usize {
        self.column
    }

    /// Text of the offending token; empty when the input ended too early.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Two lines for a terminal: the input, and carets under the offending token.
    ///
    /// ```
    /// use penstock::caps::Caps;
    /// let input = "video/x-raw, width=[ 1, 2";
    /// let err = input.parse::<Caps>().unwrap_err();
    /// assert_eq!(err.snippet(input), "video/x-raw, width=[ 1, 2\n                   ^");
    /// ```
    pub fn snippet(&self, input: &str) -> String {
        let indent = input
            .get(..self.column)
            .map_or(self.column, |p| p.chars().count());
        let width = self.token.chars().count().max(1);
        format!("{input}\n{}{}", " ".repeat(indent), "^".repeat(width))
    }
}

/// What is wrong with a caps string; each message says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The string does not start with a media type.
    #[error(
        "missing media type: caps start with a media type such as video/x-raw, then the fields"
    )]
    MissingMediaType,
    /// The media type has characters it may not have.
    #[error(
        "invalid media type: it must start with a letter and hold only letters, digits and _-+/:."
    )]
    InvalidMediaType,
    /// `ANY`, `EMPTY` or `NONE` used beside structures.
    #[error("ANY, EMPTY and NONE must be the whole caps string, not one of several structures")]
    MisplacedSpecialCaps,
    /// An opening bracket, parenthesis or brace is never closed.
    #[error("'{open}' is never closed: add a matching '{close}'")]
    UnclosedBracket {
        /// The opening character.
        open: char,
        /// The closing character that is missing.
        close: char,
    },
    /// A closing bracket without its opening one.
    #[error("'{close}' has no matching opening bracket: remove it or add the opening one")]
    UnmatchedClose {
        /// The closing character.
        close: char,
    },
    /// A quoted string without its closing quote.
    #[error("quoted string is never closed: add a '\"' at its end")]
    UnterminatedString,
    /// `\` then `0`-`3` not followed by two more octal digits.
    #[error("bad escape: '\\' then 0-3 must be a 3-digit octal byte such as \\101")]
    InvalidEscape,
    /// The bytes of a quoted string (after escapes) are not UTF-8.
    #[error("the quoted string's escapes do not make valid UTF-8 text")]
    InvalidUtf8,
    /// A type name in `(...)` that is not known.
    #[error(
        "unknown type '{name}': use int, guint64, double, boolean, string or fraction \
         (or their short forms i, uint64, d, b, s, F)"
    )]
    UnknownType {
        /// The unknown name.
        name: String,
    },
    /// Text that is not a value of the (declared or only possible) type.
    #[error("not a valid {ty}: {}", value_hint(*ty))]
    InvalidValue {
        /// The type the text was read as.
        ty: ValueType,
    },
    /// A value was expected.
    #[error("expected a value, e.g. 1920, 30/1, NV12, \"quoted text\" or [ 1, 100 ]")]
    ExpectedValue,
    /// A bare value with a character that needs quoting.
    #[error(
        "unexpected '{found}' in a value: quote values that hold characters other than \
         letters, digits and _-+/:. (\"like this\")"
    )]
    NeedsQuotes {
        /// The character.
        found: char,
    },
    /// Some other character where it cannot be.
    #[error("unexpected '{found}': expected {expected}")]
    UnexpectedChar {
        /// The character found.
        found: char,
        /// What could have been there.
        expected: &'static str,
    },
    /// A `,` with no field after it.
    #[error("trailing ',' with no field after it: remove it or add a field")]
    TrailingComma,
    /// `=` with no field name before it.
    #[error("missing field name before '='")]
    MissingFieldName,
    /// A field name not followed by `=`.
    #[error("expected '=' after the field name '{field}'")]
    ExpectedEquals {
        /// The field name.
        field: String,
    },
    /// `name=value` right after the media type's place: the media type is missing.
    #[error(
        "'{name}' is followed by '=', so it is a field, but caps must start with a media \
         type such as video/x-raw"
    )]
    FieldInsteadOfMediaType {
        /// The word read as a media type.
        name: String,
    },
    /// A range with bad bounds or step.
    #[error("invalid range: {reason}")]
    InvalidRange {
        /// Why.
        reason: String,
    },
    /// A caps feature that is not of the form `namespace:Name`.
    #[error("invalid caps feature: features look like namespace:Name, e.g. memory:DMABuf")]
    InvalidFeature,
    /// `()` with no feature inside.
    #[error(
        "empty caps features '()': remove the parentheses or name a feature such as memory:DMABuf"
    )]
    EmptyFeatures,
    /// `ANY` mixed with named features.
    #[error("ANY caps features cannot be combined with named features")]
    AnyFeatureMixed,
    /// The input ends where more was needed.
    #[error("the input ends too early: expected {expected}")]
    UnexpectedEnd {
        /// What could have been there.
        expected: &'static str,
    },
    /// Values nested too deep.
    #[error("values are nested more than {MAX_DEPTH} levels deep")]
    TooDeep,
}

fn value_hint(ty: ValueType) -> &'static str {
    match ty {
        ValueType::Int => "write an integer such as 1920, -5, 0x1f, min or max",
        ValueType::U64 => "write an unsigned integer such as 42 or 0x0100000000000002",
        ValueType::Double => "write a number such as 29.97, 1e-3 or inf",
        ValueType::Bool => "write true or false (or yes/no, t/f, 1/0)",
        ValueType::String => "write a word or a \"quoted string\"",
        ValueType::Fraction => {
            "write a fraction such as 30/1 or 30000/1001 (the denominator cannot be 0)"
        }
    }
}

type Result<T> = std::result::Result<T, ParseError>;

pub(crate) fn parse_caps(src: &str) -> Result<Caps> {
    let trimmed = src.trim();
    match trimmed {
        "" | "EMPTY" | "NONE" => return Ok(Caps::new_empty()),
        "ANY" => return Ok(Caps::new_any()),
        _ => {}
    }
    let mut p = Parser { src, pos: 0 };
    let mut caps = Caps::new_empty();
    loop {
        p.skip_ws();
        let (s, f) = p.structure(true)?;
        caps.append_structure_full(s, f);
        p.skip_ws();
        if p.at_end() {
            return Ok(caps);
        }
    }
}

pub(crate) fn parse_structure(src: &str) -> Result<Structure> {
    let mut p = Parser { src, pos: 0 };
    p.skip_ws();
    let (s, _) = p.structure(false)?;
    p.skip_ws();
    match p.peek() {
        None => Ok(s),
        Some(_) => Err(p.unexpected("the end: a structure string holds one structure")),
    }
}

pub(crate) fn parse_features(src: &str) -> Result<CapsFeatures> {
    let mut p = Parser { src, pos: 0 };
    p.skip_ws();
    let open = if p.peek() == Some(b'(') {
        p.pos += 1;
        Some(p.pos - 1)
    } else {
        None
    };
    let features = p.features_body(open)?;
    p.skip_ws();
    match p.peek() {
        None => Ok(features),
        Some(_) => Err(p.unexpected("the end of the features")),
    }
}

pub(crate) fn parse_value(src: &str) -> Result<Value> {
    let mut p = Parser { src, pos: 0 };
    let v = p.value(None, 0)?;
    p.skip_ws();
    match p.peek() {
        None => Ok(v),
        Some(_) => Err(p.unexpected("the end of the value")),
    }
}

/// One bare or quoted scalar read as `ty` (surrounding whitespace allowed).
pub(crate) fn parse_scalar_as(src: &str, ty: ValueType) -> Result<Value> {
    let mut p = Parser { src, pos: 0 };
    p.skip_ws();
    let v = p.scalar(Some(ty))?;
    p.skip_ws();
    match p.peek() {
        None => Ok(v),
        Some(_) => Err(p.unexpected("the end of the value")),
    }
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// A run of bare-word characters (possibly empty).
    fn word(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(is_simple_char) {
            self.pos += 1;
        }
        &self.src[start..self.pos]
    }

    /// The character at `pos` (whole, even when not ASCII).
    fn char_at(&self, pos: usize) -> Option<char> {
        self.src.get(pos..).and_then(|s| s.chars().next())
    }

    /// The token starting at `pos`: a bare word, or else one character.
    fn token_at(&self, pos: usize) -> &'a str {
        let bytes = self.src.as_bytes();
        let mut end = pos;
        while end < bytes.len() && is_simple_char(bytes[end]) {
            end += 1;
        }
        if end == pos {
            end = pos + self.char_at(pos).map_or(0, char::len_utf8);
        }
        self.src.get(pos..end).unwrap_or("")
    }

    fn error(&self, kind: ParseErrorKind, column: usize, token: &str) -> ParseError {
        ParseError::new(kind, column, token)
    }

    fn unclosed(&self, open_pos: usize, open: char, close: char) -> ParseError {
        let token = self.src.get(open_pos..).unwrap_or("");
        let token: String = token.chars().take(1).collect();
        ParseError::new(
            ParseErrorKind::UnclosedBracket { open, close },
            open_pos,
            token,
        )
    }

    /// An error for the character at the current position, which is not `expected`.
    fn unexpected(&self, expected: &'static str) -> ParseError {
        match self.char_at(self.pos) {
            None => self.error(ParseErrorKind::UnexpectedEnd { expected }, self.pos, ""),
            Some(c @ (')' | ']' | '}' | '>')) => self.error(
                ParseErrorKind::UnmatchedClose { close: c },
                self.pos,
                self.token_at(self.pos),
            ),
            Some(found) => self.error(
                ParseErrorKind::UnexpectedChar { found, expected },
                self.pos,
                self.token_at(self.pos),
            ),
        }
    }

    /// A media type, its features and its fields, up to and including a `;` or the end.
    fn structure(&mut self, allow_features: bool) -> Result<(Structure, CapsFeatures)> {
        let start = self.pos;
        let name = self.word();
        if name.is_empty() {
            return Err(match self.char_at(self.pos) {
                None | Some(',' | '(' | ';' | '=') => self.error(
                    ParseErrorKind::MissingMediaType,
                    self.pos,
                    self.token_at(self.pos),
                ),
                Some(_) => self.unexpected("a media type such as video/x-raw"),
            });
        }
        if !name.as_bytes()[0].is_ascii_alphabetic() {
            return Err(self.error(ParseErrorKind::InvalidMediaType, start, name));
        }
        if matches!(name, "ANY" | "EMPTY" | "NONE") {
            return Err(self.error(ParseErrorKind::MisplacedSpecialCaps, start, name));
        }
        let mut structure = Structure::new(name);
        self.skip_ws();
        let features = if self.peek() == Some(b'(') && allow_features {
            self.pos += 1;
            self.features_body(Some(self.pos - 1))?
        } else {
            CapsFeatures::default()
        };
        loop {
            self.skip_ws();
            match self.peek() {
                None => break,
                Some(b';') => {
                    self.pos += 1;
                    break;
                }
                Some(b',') => {
                    let comma = self.pos;
                    self.pos += 1;
                    self.skip_ws();
                    if matches!(self.peek(), None | Some(b',' | b';')) {
                        return Err(self.error(ParseErrorKind::TrailingComma, comma, ","));
                    }
                    let (field, value) = self.field()?;
                    structure.set(field, value);
                }
                Some(b'=') if structure.is_empty() && features.is_system_memory() => {
                    return Err(self.error(
                        ParseErrorKind::FieldInsteadOfMediaType {
                            name: name.to_owned(),
                        },
                        start,
                        name,
                    ));
                }
                Some(b'(') => {
                    return Err(self.error(
                        ParseErrorKind::UnexpectedChar {
                            found: '(',
                            expected: "',' before the next field (caps features are not allowed here)",
                        },
                        self.pos,
                        "(",
                    ));
                }
                Some(_) => {
                    return Err(self
                        .unexpected("',' before the next field or ';' before the next structure"));
                }
            }
        }
        Ok((structure, features))
    }

    /// Features up to the `)` matching the `(` at `open`, or up to the end when `open` is
    /// `None`.
    fn features_body(&mut self, open: Option<usize>) -> Result<CapsFeatures> {
        let mut names: Vec<&str> = Vec::new();
        let mut any = false;
        loop {
            self.skip_ws();
            let start = self.pos;
            let name = self.word();
            if name.is_empty() {
                return Err(match (self.peek(), open) {
                    (None, Some(open)) => self.unclosed(open, '(', ')'),
                    (Some(b')'), Some(open)) if names.is_empty() && !any => {
                        let token = self.src.get(open..=self.pos).unwrap_or("()");
                        self.error(ParseErrorKind::EmptyFeatures, open, token)
                    }
                    (None, None) if names.is_empty() && !any => {
                        self.error(ParseErrorKind::EmptyFeatures, start, "")
                    }
                    _ => self.unexpected("a caps feature such as memory:DMABuf"),
                });
            }
            self.skip_ws();
            if let (Some(b'='), Some(open)) = (self.peek(), open) {
                // `video/x-raw(memory:DMABuf, width=1`: the ')' was forgotten.
                return Err(self.unclosed(open, '(', ')'));
            }
            if name == "ANY" {
                if !names.is_empty() {
                    return Err(self.error(ParseErrorKind::AnyFeatureMixed, start, name));
                }
                any = true;
            } else if any {
                return Err(self.error(ParseErrorKind::AnyFeatureMixed, start, name));
            } else if !CapsFeatures::is_valid_name(name) {
                return Err(self.error(ParseErrorKind::InvalidFeature, start, name));
            } else {
                names.push(name);
            }
            match (self.peek(), open) {
                (Some(b','), _) => self.pos += 1,
                (Some(b')'), Some(_)) => {
                    self.pos += 1;
                    break;
                }
                (None, None) => break,
                (None, Some(open)) => return Err(self.unclosed(open, '(', ')')),
                (Some(_), Some(_)) => {
                    return Err(self.unexpected("',' between features or ')' after them"));
                }
                (Some(_), None) => return Err(self.unexpected("',' between features")),
            }
        }
        Ok(if any {
            CapsFeatures::new_any()
        } else {
            CapsFeatures::new(names)
        })
    }

    /// `name = value`.
    fn field(&mut self) -> Result<(&'a str, Value)> {
        let name = self.word();
        if name.is_empty() {
            return Err(match self.peek() {
                Some(b'=') => self.error(ParseErrorKind::MissingFieldName, self.pos, "="),
                _ => self.unexpected("a field name"),
            });
        }
        self.skip_ws();
        if !self.eat(b'=') {
            return Err(self.error(
                ParseErrorKind::ExpectedEquals {
                    field: name.to_owned(),
                },
                self.pos,
                self.token_at(self.pos),
            ));
        }
        let value = self.value(None, 0)?;
        Ok((name, value))
    }

    /// `[ (type) ] value`, the type applying to every scalar inside unless overridden.
    fn value(&mut self, outer: Option<ValueType>, depth: usize) -> Result<Value> {
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
    fn composite(
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
    fn range(&mut self, ty: Option<ValueType>, depth: usize) -> Result<Value> {
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

    fn range_bound(&mut self, ty: Option<ValueType>, depth: usize, open: usize) -> Result<Value> {
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

    fn invalid_range(&self, open: usize, end: usize, reason: String) -> ParseError {
        self.error(
            ParseErrorKind::InvalidRange { reason },
            open,
            self.src.get(open..end).unwrap_or("["),
        )
    }

    /// A bare word or quoted string, read as `ty` or, untyped, as the first type it
    /// parses as (int, guint64, double, fraction, boolean, string).
    fn scalar(&mut self, ty: Option<ValueType>) -> Result<Value> {
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
    fn quoted(&mut self) -> Result<String> {
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
fn infer(word: &str) -> Value {
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

fn read_as(word: &str, ty: ValueType) -> Option<Value> {
    Some(match ty {
        ValueType::Int => Value::Int(read_int(word)?),
        ValueType::U64 => Value::U64(read_u64(word)?),
        ValueType::Double => Value::Double(read_double(word)?),
        ValueType::Bool => Value::Bool(read_bool(word)?),
        ValueType::String => Value::String(word.to_owned()),
        ValueType::Fraction => Value::Fraction(read_fraction(word)?),
    })
}

/// `[+-]` then decimal digits or `0x` and hex digits.
fn read_int_literal(word: &str) -> Option<i128> {
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
fn read_int(word: &str) -> Option<i32> {
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

fn read_u64(word: &str) -> Option<u64> {
    if let Some(v) = read_int_literal(word) {
        return u64::try_from(v).ok();
    }
    match word.to_ascii_lowercase().as_str() {
        "min" => Some(0),
        "max" => Some(u64::MAX),
        _ => None,
    }
}

fn read_double(word: &str) -> Option<f64> {
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

fn read_fraction(word: &str) -> Option<Fraction> {
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

fn read_bool(word: &str) -> Option<bool> {
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
