//! What goes wrong reading a user's file, located: file, line, column and value. The texts are
//! made here only, so every reader of a user's file says the same thing.

use std::fmt;
use std::path::PathBuf;

use membench_protocol::ColumnType;

use crate::text::TypeBreak;

/// An error reading a user's input.
#[derive(Debug)]
pub enum InputError {
    /// The path could not be opened or read.
    Io { path: PathBuf, message: String },
    /// The path names nothing readable (an empty folder, a glob without match, a format not
    /// read here).
    Input { path: PathBuf, reason: String },
    /// The header is unusable (missing, duplicate names, another part's header differs).
    Header { path: PathBuf, reason: String },
    /// A record has another number of fields than the header.
    Shape {
        path: PathBuf,
        line: u64,
        expected: usize,
        found: usize,
    },
    /// A field is not a value of its column's type.
    Type(Box<TypeError>),
}

/// A field that breaks its column's type.
#[derive(Debug)]
pub struct TypeError {
    pub path: PathBuf,
    pub line: u64,
    /// 1-based.
    pub column: usize,
    pub name: String,
    pub value: String,
    pub ty: ColumnType,
    pub why: TypeBreak,
    /// How many rows the type was inferred from (`None`: given by `--schema`).
    pub inferred_from: Option<u64>,
}

impl TypeError {
    /// The type that would hold the value, for the hint.
    fn suggestion(&self) -> ColumnType {
        match (self.ty, &self.why) {
            (ColumnType::Decimal { .. }, TypeBreak::Scale { digits })
                if *digits <= ColumnType::MAX_SCALE as u32 =>
            {
                ColumnType::Decimal {
                    scale: *digits as u8,
                }
            }
            (ColumnType::Int64 | ColumnType::Decimal { .. }, _)
                if crate::text::parse_float(self.value.as_bytes()).is_ok() =>
            {
                ColumnType::Float64
            }
            (ColumnType::Timestamp { .. }, TypeBreak::Zone { has_zone }) => {
                ColumnType::Timestamp { zone: *has_zone }
            }
            _ => ColumnType::String,
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Io { path, message } => write!(f, "{}: {message}", path.display()),
            InputError::Input { path, reason } | InputError::Header { path, reason } => {
                write!(f, "{}: {reason}", path.display())
            }
            InputError::Shape {
                path,
                line,
                expected,
                found,
            } => write!(
                f,
                "{}:{line}: {found} fields where the header has {expected}",
                path.display()
            ),
            InputError::Type(e) => {
                let why = match &e.why {
                    TypeBreak::NotA => String::new(),
                    TypeBreak::Scale { digits } => format!(" ({digits} digits after the point)"),
                    TypeBreak::Range => " (out of range)".into(),
                    TypeBreak::Zone { has_zone: true } => " (it has a time zone)".into(),
                    TypeBreak::Zone { has_zone: false } => " (it has no time zone)".into(),
                };
                write!(
                    f,
                    "{}:{}: column {} ({}): value {:?} is not {}{why}",
                    e.path.display(),
                    e.line,
                    e.column,
                    e.name,
                    e.value,
                    e.ty
                )?;
                match e.inferred_from {
                    Some(n) => write!(
                        f,
                        "; the type was inferred from the first {n} rows: pass --schema '{}:{}'",
                        e.name,
                        e.suggestion()
                    ),
                    None => write!(f, "; --schema gave the type"),
                }
            }
        }
    }
}

impl std::error::Error for InputError {}
