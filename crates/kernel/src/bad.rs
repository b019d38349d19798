//! Why a row is malformed ([`BadKind`], [`BadRow`]): what the parser and the value rules
//! report, and what every strategy turns into the same located error.

use std::fmt;

/// Why a row is malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BadKind {
    /// Not exactly [`N_COLUMNS`] fields.
    FieldCount,
    /// A numeric field that does not parse.
    NotANumber,
    /// A value out of its domain (negative price or discount, quantity below 1).
    OutOfRange,
    /// A quoted field that never closes (the input ends inside it).
    UnterminatedQuote,
    /// A quote inside an unquoted field, or text after a closing quote (RFC 4180 forbids both).
    MalformedQuote,
    /// Bytes that are not UTF-8.
    InvalidUtf8,
}

impl BadKind {
    /// Short stable name, used in sidecars and reports.
    pub fn name(self) -> &'static str {
        match self {
            BadKind::FieldCount => "field_count",
            BadKind::NotANumber => "not_a_number",
            BadKind::OutOfRange => "out_of_range",
            BadKind::UnterminatedQuote => "unterminated_quote",
            BadKind::MalformedQuote => "malformed_quote",
            BadKind::InvalidUtf8 => "invalid_utf8",
        }
    }
}

/// A malformed row: its kind and a human-readable reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRow {
    /// Category of the problem.
    pub kind: BadKind,
    /// Human-readable reason, e.g. `quantity: "abc" is not an integer`.
    pub reason: String,
}

impl fmt::Display for BadRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl BadRow {
    pub(crate) fn new(kind: BadKind, reason: String) -> Self {
        BadRow { kind, reason }
    }
}
