//! A user's query as a typed plan ([`Plan`]): what the driver checks before any cell runs and
//! what every strategy runs. It is made once from SQL (`membench-query`'s binder) against the
//! inputs' schemas; columns are indices, every expression's type is known, and nothing in it is
//! a name to look up again.
//!
//! The shape is fixed: scan one input (or an equi-join of two) → keep the columns used → filter
//! → either project each row, or group by keys and aggregate (then `HAVING`) → order → limit.

use serde::{Deserialize, Serialize};

use crate::ColumnType;

/// A query's plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The query's text, as given.
    pub sql: String,
    /// The input tables it reads, by name: the `FROM` table, then the joined one.
    pub inputs: Vec<String>,
    pub join: Option<JoinSpec>,
    /// The columns each row carries, in order: those the query uses, from their inputs.
    /// [`Expr::Col`] indexes this list.
    pub columns: Vec<ScanColumn>,
    pub filter: Option<Expr>,
    /// Grouping and aggregates (`None`: one output row per input row).
    pub group: Option<Group>,
    /// The output columns; [`Output::hidden`] ones exist only to order by.
    pub output: Vec<Output>,
    pub order: Vec<OrderKey>,
    pub limit: Option<u64>,
}

impl Plan {
    /// Whether it groups rows by keys (`GROUP BY`; a global aggregate has none).
    pub fn groups_by_keys(&self) -> bool {
        self.group.as_ref().is_some_and(|g| !g.keys.is_empty())
    }
}

/// One column a row carries: from which input, which of its columns, and its type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScanColumn {
    /// Index into [`Plan::inputs`].
    pub input: usize,
    /// Index into that input's schema.
    pub column: usize,
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ColumnType,
}

/// An equi-join of the two inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinSpec {
    pub kind: JoinKind,
    /// The key: a [`Plan::columns`] index from input 0 and one from input 1.
    pub left_key: usize,
    pub right_key: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinKind {
    Inner,
    Left,
}

/// `GROUP BY` keys (none: one group, a global aggregate), aggregates and `HAVING`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Key expressions over the row ([`Expr::Col`]).
    pub keys: Vec<Typed>,
    pub aggregates: Vec<Aggregate>,
    /// Over [`Expr::Key`] and [`Expr::Agg`].
    pub having: Option<Expr>,
}

/// An aggregate of a group's rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Aggregate {
    pub func: AggFunc,
    /// Its argument over the row (`None` for `count(*)`).
    pub arg: Option<Expr>,
    pub distinct: bool,
    /// The argument's type (`None`: `count(*)`, or a NULL argument).
    pub arg_ty: Option<ColumnType>,
    /// The result's type.
    #[serde(rename = "type")]
    pub ty: ColumnType,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AggFunc {
    Count,
    Sum,
    Min,
    Max,
    Avg,
}

/// An output column: its name, its expression (over the row, or over keys and aggregates when
/// grouped) and its type (`None`: every value is NULL).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Output {
    pub name: String,
    pub expr: Expr,
    #[serde(rename = "type")]
    pub ty: Option<ColumnType>,
    pub hidden: bool,
}

/// An expression with its type (`None`: NULL).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Typed {
    pub expr: Expr,
    #[serde(rename = "type")]
    pub ty: Option<ColumnType>,
}

/// `ORDER BY` one output column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderKey {
    /// Index into [`Plan::output`].
    pub output: usize,
    pub desc: bool,
    /// Where NULLs go (SQL's default: last ascending, first descending).
    pub nulls_first: bool,
}

/// A constant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Units of `10^-scale`.
    Decimal {
        units: i64,
        scale: u8,
    },
    Str(String),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01.
    Timestamp(i64),
}

impl Literal {
    /// Its type (`None`: NULL).
    pub fn ty(&self) -> Option<ColumnType> {
        Some(match self {
            Literal::Null => return None,
            Literal::Bool(_) => ColumnType::Bool,
            Literal::Int(_) => ColumnType::Int64,
            Literal::Float(_) => ColumnType::Float64,
            Literal::Decimal { scale, .. } => ColumnType::Decimal { scale: *scale },
            Literal::Str(_) => ColumnType::String,
            Literal::Date(_) => ColumnType::Date,
            Literal::Timestamp(_) => ColumnType::Timestamp { zone: false },
        })
    }
}

/// A binary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    /// Always a float result, like DuckDB (`5 / 2` is 2.5); by zero: IEEE (`inf`, `nan`).
    Div,
    /// Integer or decimal remainder; by zero: NULL.
    Mod,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
    /// String concatenation (`||`).
    Concat,
}

/// A scalar function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Func {
    Coalesce,
    Lower,
    Upper,
    Trim,
    /// Characters, not bytes.
    Length,
    /// `substr(s, start[, len])`, 1-based, in characters.
    Substr,
    Abs,
    /// `round(x[, digits])`, half away from zero.
    Round,
}

/// The part `extract` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatePart {
    Year,
    Month,
    Day,
    Hour,
}

/// An expression. Its type is known from the plan: the binder typed it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expr {
    /// A row column ([`Plan::columns`] index).
    Col(usize),
    /// A group's key ([`Group::keys`] index).
    Key(usize),
    /// A group's aggregate ([`Group::aggregates`] index).
    Agg(usize),
    Lit(Literal),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        pattern: String,
        negated: bool,
        case_insensitive: bool,
    },
    /// `CASE WHEN c THEN v … ELSE e END` (a simple `CASE x WHEN a` is bound to `x = a`).
    Case {
        whens: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
    Cast(Box<Expr>, ColumnType),
    Call(Func, Vec<Expr>),
    Extract(DatePart, Box<Expr>),
}
