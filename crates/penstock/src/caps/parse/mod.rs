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

mod error;
mod values;

pub use error::{ParseError, ParseErrorKind};

/// Nesting limit of lists, arrays and ranges, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 32;

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
}
