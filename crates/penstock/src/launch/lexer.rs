//! Splits a launch line into tokens: `!`, parentheses, factory names, references,
//! `name=value` properties and caps filters (parsed here, with their error columns moved
//! into the whole line).

use crate::caps::{Caps, ParseError};

use super::{LaunchError, LaunchErrorKind, PropertyDesc, Span};

/// What a token is.
#[derive(Debug)]
pub(super) enum Tok<'a> {
    /// `!`.
    Bang,
    /// `(` or `)`.
    Paren,
    /// A word without `.` or `=`: an element factory name.
    Factory(&'a str),
    /// `name.` or `name.pad`.
    Reference {
        /// Text before the last `.` (not empty).
        name: &'a str,
        /// Text after the last `.`, if any.
        pad: Option<&'a str>,
    },
    /// `name=value`.
    Property(PropertyDesc),
    /// A caps filter, bare or quoted.
    Caps(Caps),
}

/// A token and its text's span.
#[derive(Debug)]
pub(super) struct Token<'a> {
    pub(super) tok: Tok<'a>,
    pub(super) span: Span,
}

type Result<T> = std::result::Result<T, LaunchError>;

/// Whether `b` ends a word (whitespace, `!`, a parenthesis).
fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'!' | b'(' | b')')
}

/// Whether the text at the start of `rest` is a bare caps filter: its first word (up to
/// whitespace, `,`, `;`, a parenthesis, `!` or a quote) holds a `/` or is `ANY` or
/// `EMPTY`, and is not a property name (followed by `=`).
pub(super) fn looks_like_caps(rest: &str) -> bool {
    let end = rest
        .find(|c: char| {
            c.is_ascii_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '!' | '=' | '"' | '\'')
        })
        .unwrap_or(rest.len());
    let word = &rest[..end];
    !rest[end..].starts_with('=') && (word.contains('/') || word == "ANY" || word == "EMPTY")
}

/// Whether a property value must be quoted to be read back as it is.
pub(super) fn value_needs_quotes(value: &str) -> bool {
    value.is_empty()
        || value
            .bytes()
            .any(|b| b.is_ascii_whitespace() || matches!(b, b'!' | b'"' | b'\''))
}

/// Whether the characters of `name` may make a property name.
fn is_property_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':'))
}

/// Whether the characters of `name` may make an element factory name.
pub(super) fn is_factory_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+'))
}

/// `"`, `\`: the quoted form of `text`, with `\"` and `\\` escapes.
pub(super) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A quoted string's content and where each of its bytes came from.
struct Quoted {
    /// The content, escapes resolved.
    text: String,
    /// `map[i]`: offset in the input of the content's byte `i` (of its escape sequence's
    /// `\` for an escaped character); `map[text.len()]` is the closing quote's.
    map: Vec<usize>,
    /// Offset just past the closing quote.
    end: usize,
}

pub(super) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(src: &'a str) -> Lexer<'a> {
        Lexer { src, pos: 0 }
    }

    fn err<T>(&self, kind: LaunchErrorKind, start: usize, end: usize) -> Result<T> {
        Err(LaunchError::new(kind, Span::new(start, end), self.src))
    }

    fn byte(&self, pos: usize) -> Option<u8> {
        self.src.as_bytes().get(pos).copied()
    }

    /// Offset of the first byte at or after `pos` for which `stop` holds (or the end).
    fn scan(&self, pos: usize, stop: impl Fn(u8) -> bool) -> usize {
        let bytes = self.src.as_bytes();
        let mut i = pos;
        while i < bytes.len() && !stop(bytes[i]) {
            i += 1;
        }
        i
    }

    /// The next token, or `None` at the end of the input.
    pub(super) fn next_token(&mut self) -> Result<Option<Token<'a>>> {
        self.pos = self.scan(self.pos, |b| !b.is_ascii_whitespace());
        let start = self.pos;
        let Some(b) = self.byte(start) else {
            return Ok(None);
        };
        let (tok, end) = match b {
            b'!' => (Tok::Bang, start + 1),
            b'(' | b')' => (Tok::Paren, start + 1),
            b'"' | b'\'' => self.quoted_caps(start)?,
            b'=' => {
                let end = self.scan(start, is_delimiter);
                return self.err(
                    LaunchErrorKind::BadProperty {
                        reason: "missing property name before '=' (no spaces around '=')",
                    },
                    start,
                    end,
                );
            }
            _ if looks_like_caps(&self.src[start..]) => self.bare_caps(start)?,
            _ => self.word(start)?,
        };
        self.pos = end;
        Ok(Some(Token {
            tok,
            span: Span::new(start, end),
        }))
    }

    /// A factory name, a reference or a property, starting at `start`.
    fn word(&self, start: usize) -> Result<(Tok<'a>, usize)> {
        let end = self.scan(start, |b| is_delimiter(b) || b == b'=');
        let word = &self.src[start..end];
        if self.byte(end) == Some(b'=') {
            return self.property(start, end);
        }
        if let Some(dot) = word.rfind('.') {
            let (name, pad) = (&word[..dot], &word[dot + 1..]);
            if name.is_empty() {
                return self.err(
                    LaunchErrorKind::BadReference {
                        reason: "missing element name before '.': write name. or name.pad",
                    },
                    start,
                    end,
                );
            }
            let pad = (!pad.is_empty()).then_some(pad);
            return Ok((Tok::Reference { name, pad }, end));
        }
        if !is_factory_name(word) {
            return self.err(LaunchErrorKind::BadFactoryName, start, end);
        }
        Ok((Tok::Factory(word), end))
    }

    /// `name=value`, the name at `start..eq` and `=` at `eq`.
    fn property(&self, start: usize, eq: usize) -> Result<(Tok<'a>, usize)> {
        let name = &self.src[start..eq];
        if !is_property_name(name) {
            return self.err(
                LaunchErrorKind::BadProperty {
                    reason: "property names hold only letters, digits, '-', '_' and ':'",
                },
                start,
                eq,
            );
        }
        let vstart = eq + 1;
        let (value, quoted, vend) = match self.byte(vstart) {
            Some(b'"' | b'\'') => {
                let q = self.quoted(vstart)?;
                self.check_after_quote(
                    q.end,
                    LaunchErrorKind::BadProperty {
                        reason: "text right after the closing quote: the quotes must enclose \
                                 the whole value",
                    },
                )?;
                (q.text, true, q.end)
            }
            None => {
                return self.err(
                    LaunchErrorKind::BadProperty {
                        reason: "missing value after '=': write prop=\"\" for an empty string",
                    },
                    start,
                    vstart,
                );
            }
            Some(b) if b.is_ascii_whitespace() || b == b'!' => {
                return self.err(
                    LaunchErrorKind::BadProperty {
                        reason: "missing value after '=' (no spaces around '='; write \
                                 prop=\"\" for an empty string)",
                    },
                    start,
                    vstart,
                );
            }
            Some(_) => {
                let vend = self.scan(vstart, |b| b.is_ascii_whitespace() || b == b'!');
                let value = &self.src[vstart..vend];
                if let Some(q) = value.find(['"', '\'']) {
                    let at = vstart + q;
                    return self.err(
                        LaunchErrorKind::BadProperty {
                            reason: "a quote inside a value: quote the whole value, as in \
                                     text=\"it's\"",
                        },
                        at,
                        at + 1,
                    );
                }
                (value.to_owned(), false, vend)
            }
        };
        let prop = PropertyDesc {
            name: name.to_owned(),
            value,
            quoted,
            span: Span::new(start, vend),
            value_span: Span::new(vstart, vend),
        };
        Ok((Tok::Property(prop), vend))
    }

    /// Errs with `kind` unless the text at `pos` ends a word.
    fn check_after_quote(&self, pos: usize, kind: LaunchErrorKind) -> Result<()> {
        match self.byte(pos) {
            Some(b) if !is_delimiter(b) => {
                let end = self.scan(pos, is_delimiter);
                self.err(kind, pos, end)
            }
            _ => Ok(()),
        }
    }

    /// The quoted string whose opening quote is at `start`.
    fn quoted(&self, start: usize) -> Result<Quoted> {
        let quote = char::from(self.src.as_bytes()[start]);
        let body = &self.src[start + 1..];
        let mut text = String::new();
        let mut map = Vec::new();
        let mut chars = body.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let at = start + 1 + i;
            if c == quote {
                map.push(at);
                return Ok(Quoted {
                    text,
                    map,
                    end: at + 1,
                });
            }
            if c == '\\' {
                if let Some(&(_, next)) = chars.peek() {
                    if next == quote || next == '\\' {
                        chars.next();
                        text.push(next);
                        map.push(at);
                        continue;
                    }
                }
            }
            text.push(c);
            map.extend(at..at + c.len_utf8());
        }
        self.err(LaunchErrorKind::UnbalancedQuote { quote }, start, start + 1)
    }

    /// A quoted caps filter at `start`.
    fn quoted_caps(&self, start: usize) -> Result<(Tok<'a>, usize)> {
        let q = self.quoted(start)?;
        self.check_after_quote(
            q.end,
            LaunchErrorKind::Unexpected {
                hint: "text right after the quoted caps: write `! \"caps\" ! element`",
            },
        )?;
        match q.text.parse::<Caps>() {
            Ok(caps) => Ok((Tok::Caps(caps), q.end)),
            Err(e) => {
                let close = q.end - 1;
                let at = |i: usize| q.map.get(i).copied().unwrap_or(close);
                let from = at(e.column());
                let to = if e.token().is_empty() {
                    from
                } else {
                    at(e.column() + e.token().len()).max(from)
                };
                Err(self.caps_error(&e, from, to))
            }
        }
    }

    /// A bare caps filter at `start`: up to the next `!` outside a quoted string.
    fn bare_caps(&self, start: usize) -> Result<(Tok<'a>, usize)> {
        let bytes = self.src.as_bytes();
        let mut i = start;
        let mut in_quotes = false;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if in_quotes => i += 1,
                b'"' => in_quotes = !in_quotes,
                b'!' if !in_quotes => break,
                _ => {}
            }
            i += 1;
        }
        let end = i.min(bytes.len());
        let text = self.src[start..end].trim_end_matches(|c: char| c.is_ascii_whitespace());
        let end = start + text.len();
        match text.parse::<Caps>() {
            Ok(caps) => Ok((Tok::Caps(caps), end)),
            Err(e) => {
                let from = (start + e.column()).min(end);
                let to = (from + e.token().len()).min(end);
                Err(self.caps_error(&e, from, to))
            }
        }
    }

    /// A caps error, its column moved to `from` in the whole line.
    fn caps_error(&self, e: &ParseError, from: usize, to: usize) -> LaunchError {
        let moved = ParseError::new(e.kind().clone(), from, e.token());
        LaunchError::new(
            LaunchErrorKind::InvalidCaps(moved),
            Span::new(from, to),
            self.src,
        )
    }
}
