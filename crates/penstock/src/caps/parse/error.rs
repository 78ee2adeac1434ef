//! Parse errors: where (column, token) and what, with a hint for each value type.

use super::*;

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

pub(super) struct TokenDesc<'a>(&'a str);

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
        "unknown type '{name}': use int, guint64, double, float, boolean, string, fraction \
         or bitmask (or their short forms i, uint64, d, f, b, s, F)"
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

pub(super) fn value_hint(ty: ValueType) -> &'static str {
    match ty {
        ValueType::Int => "write an integer such as 1920, -5, 0x1f, min or max",
        ValueType::U64 => "write an unsigned integer such as 42 or 0x0100000000000002",
        ValueType::Double => "write a number such as 29.97, 1e-3 or inf",
        ValueType::Bool => "write true or false (or yes/no, t/f, 1/0)",
        ValueType::String => "write a word or a \"quoted string\"",
        ValueType::Fraction => {
            "write a fraction such as 30/1 or 30000/1001 (the denominator cannot be 0)"
        }
        ValueType::Float => "write a number such as 1.5 or 1e-3 within float's range",
        ValueType::Bitmask => "write hexadecimal bits such as 0x3 or 0x0000000000000003",
    }
}
