//! A user's query pushed down to a database: the typed plan printed back as SQL the database
//! runs with membench's semantics ([`select`]), the tables created with the types the driver
//! inferred ([`create_table`]), and the rows it returns read back by each output's type
//! ([`value_of`]). The plan is printed, not the user's text, so that the dialects' differences
//! are settled here once ([`Sql`]): `/` is a float division with ±inf (and NaN) for a zero
//! divisor (membench follows DuckDB), `%` by zero is NULL, `LIKE` is case-sensitive. SQLite
//! keeps dates and timestamps as ISO text (they compare as text in time order) and decimals as
//! `REAL`; PostgreSQL has them all, decimals as exact `numeric`.

use membench_protocol::{
    AggFunc, BinOp, ColumnType, DatePart, Expr, Func, JoinKind, Literal, Plan, TableSchema,
};
use membench_query::text::{Value, format_date, format_decimal, format_timestamp, parse_value};

/// The database a plan is printed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sql {
    Sqlite,
    Postgres,
}

/// The SQL type a column is stored as. SQLite: integers and booleans as `INTEGER`, floats and
/// decimals as `REAL` (no exact decimal; answers are compared within 1e-9), the rest as ISO
/// text. PostgreSQL: each its own type, decimals as `numeric`, text in byte order (`"C"`).
pub fn sql_type(t: ColumnType, d: Sql) -> String {
    match (d, t) {
        (Sql::Sqlite, ColumnType::Int64 | ColumnType::Bool) => "INTEGER".into(),
        (Sql::Sqlite, ColumnType::Float64 | ColumnType::Decimal { .. }) => "REAL".into(),
        (Sql::Sqlite, _) => "TEXT".into(),
        (Sql::Postgres, ColumnType::Int64) => "bigint".into(),
        (Sql::Postgres, ColumnType::Float64) => "double precision".into(),
        (Sql::Postgres, ColumnType::Decimal { scale }) => format!("numeric(38,{scale})"),
        (Sql::Postgres, ColumnType::Bool) => "boolean".into(),
        (Sql::Postgres, ColumnType::Date) => "date".into(),
        (Sql::Postgres, ColumnType::Timestamp { zone: false }) => "timestamp".into(),
        (Sql::Postgres, ColumnType::Timestamp { zone: true }) => "timestamptz".into(),
        (Sql::Postgres, ColumnType::String) => "text COLLATE \"C\"".into(),
    }
}

/// A quoted identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `CREATE TABLE` for a user's table, its columns in file order.
pub fn create_table(name: &str, schema: &TableSchema, d: Sql) -> String {
    let cols: Vec<String> = schema
        .columns
        .iter()
        .map(|c| format!("{} {}", ident(&c.name), sql_type(c.ty, d)))
        .collect();
    format!("CREATE TABLE {} ({})", ident(name), cols.join(", "))
}

/// The plan as one `SELECT` over tables named `tables[i]` (the plan's inputs, in order): every
/// output (hidden ones too, which the answer drops), grouped, filtered, ordered and limited.
pub fn select(plan: &Plan, tables: &[&str], d: Sql) -> String {
    let p = Printer { plan, d };
    let mut sql = String::from("SELECT ");
    let outs: Vec<String> = plan
        .output
        .iter()
        .enumerate()
        .map(|(i, o)| format!("{} AS c{i}", p.expr(&o.expr)))
        .collect();
    sql.push_str(&outs.join(", "));
    sql.push_str(&format!(" FROM {} AS a0", ident(tables[0])));
    if let Some(j) = plan.join {
        let kind = match j.kind {
            JoinKind::Inner => "JOIN",
            JoinKind::Left => "LEFT JOIN",
        };
        sql.push_str(&format!(
            " {kind} {} AS a1 ON {} = {}",
            ident(tables[1]),
            p.expr(&Expr::Col(j.left_key)),
            p.expr(&Expr::Col(j.right_key))
        ));
    }
    if let Some(f) = &plan.filter {
        sql.push_str(&format!(" WHERE {}", p.expr(f)));
    }
    if let Some(g) = &plan.group {
        if !g.keys.is_empty() {
            let keys: Vec<String> = g.keys.iter().map(|k| p.expr(&k.expr)).collect();
            sql.push_str(&format!(" GROUP BY {}", keys.join(", ")));
        }
        if let Some(h) = &g.having {
            sql.push_str(&format!(" HAVING {}", p.expr(h)));
        }
    }
    if !plan.order.is_empty() {
        let keys: Vec<String> = plan
            .order
            .iter()
            .map(|k| {
                format!(
                    "c{}{}{}",
                    k.output,
                    if k.desc { " DESC" } else { "" },
                    if k.nulls_first {
                        " NULLS FIRST"
                    } else {
                        " NULLS LAST"
                    }
                )
            })
            .collect();
        sql.push_str(&format!(" ORDER BY {}", keys.join(", ")));
    }
    if let Some(n) = plan.limit {
        sql.push_str(&format!(" LIMIT {n}"));
    }
    sql
}

struct Printer<'p> {
    plan: &'p Plan,
    d: Sql,
}

impl Printer<'_> {
    fn expr(&self, e: &Expr) -> String {
        match e {
            Expr::Col(i) => {
                let c = &self.plan.columns[*i];
                format!("a{}.{}", c.input, ident(&c.name))
            }
            Expr::Key(i) => {
                let g = self.plan.group.as_ref().expect("a key of a grouped plan");
                self.expr(&g.keys[*i].expr)
            }
            Expr::Agg(i) => {
                let g = self
                    .plan
                    .group
                    .as_ref()
                    .expect("an aggregate of a grouped plan");
                let a = &g.aggregates[*i];
                let func = match a.func {
                    AggFunc::Count => "count",
                    AggFunc::Sum => "sum",
                    AggFunc::Min => "min",
                    AggFunc::Max => "max",
                    AggFunc::Avg => "avg",
                };
                match &a.arg {
                    None => "count(*)".into(),
                    Some(x) if a.distinct => format!("{func}(DISTINCT {})", self.expr(x)),
                    Some(x) => format!("{func}({})", self.expr(x)),
                }
            }
            Expr::Lit(l) => literal(l, self.d),
            Expr::Neg(x) => format!("(-{})", self.expr(x)),
            Expr::Not(x) => format!("(NOT {})", self.expr(x)),
            Expr::Bin(op, a, b) => {
                let (a, b) = (self.expr(a), self.expr(b));
                let op = match op {
                    // membench (as DuckDB) divides as floats: x / 0 is ±inf (SQLite's 1e999),
                    // where SQLite says NULL and PostgreSQL fails; 0 / 0 is NaN, which SQLite
                    // cannot hold (NULL).
                    BinOp::Div => {
                        let (inf, nan, float) = match self.d {
                            Sql::Sqlite => ("1e999", "NULL", "REAL"),
                            Sql::Postgres => ("'Infinity'::float8", "'NaN'::float8", "float8"),
                        };
                        return format!(
                            "(CASE WHEN {b} = 0 THEN (CASE WHEN {a} > 0 THEN {inf} \
                             WHEN {a} < 0 THEN -{inf} WHEN {a} = 0 THEN {nan} END) \
                             ELSE CAST({a} AS {float}) / {b} END)"
                        );
                    }
                    // x % 0 is NULL (PostgreSQL would fail).
                    BinOp::Mod if self.d == Sql::Postgres => {
                        return format!("(CASE WHEN {b} = 0 THEN NULL ELSE {a} % {b} END)");
                    }
                    BinOp::Add => "+",
                    BinOp::Sub => "-",
                    BinOp::Mul => "*",
                    BinOp::Mod => "%",
                    BinOp::Eq => "=",
                    BinOp::NotEq => "<>",
                    BinOp::Lt => "<",
                    BinOp::LtEq => "<=",
                    BinOp::Gt => ">",
                    BinOp::GtEq => ">=",
                    BinOp::And => "AND",
                    BinOp::Or => "OR",
                    BinOp::Concat => "||",
                };
                format!("({a} {op} {b})")
            }
            Expr::IsNull { expr, negated } => {
                format!("({} IS {}NULL)", self.expr(expr), not(*negated))
            }
            Expr::In {
                expr,
                list,
                negated,
            } => {
                let items: Vec<String> = list.iter().map(|x| self.expr(x)).collect();
                format!(
                    "({} {}IN ({}))",
                    self.expr(expr),
                    not(*negated),
                    items.join(", ")
                )
            }
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => format!(
                "({} {}BETWEEN {} AND {})",
                self.expr(expr),
                not(*negated),
                self.expr(low),
                self.expr(high)
            ),
            Expr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => match case_insensitive {
                true if self.d == Sql::Postgres => {
                    format!(
                        "({} {}ILIKE {})",
                        self.expr(expr),
                        not(*negated),
                        text(pattern)
                    )
                }
                true => format!(
                    "(lower({}) {}LIKE lower({}))",
                    self.expr(expr),
                    not(*negated),
                    text(pattern)
                ),
                false => format!(
                    "({} {}LIKE {})",
                    self.expr(expr),
                    not(*negated),
                    text(pattern)
                ),
            },
            Expr::Case { whens, otherwise } => {
                let mut s = String::from("(CASE");
                for (w, t) in whens {
                    s.push_str(&format!(" WHEN {} THEN {}", self.expr(w), self.expr(t)));
                }
                if let Some(o) = otherwise {
                    s.push_str(&format!(" ELSE {}", self.expr(o)));
                }
                s.push_str(" END)");
                s
            }
            Expr::Cast(x, t) if self.d == Sql::Postgres => {
                let ty = match t {
                    ColumnType::String => "text".to_string(),
                    t => sql_type(*t, self.d),
                };
                format!("CAST({} AS {ty})", self.expr(x))
            }
            Expr::Cast(x, t) => {
                let x = self.expr(x);
                match t {
                    ColumnType::Int64 => format!("CAST(round({x}) AS INTEGER)"),
                    ColumnType::Float64 | ColumnType::Decimal { .. } => {
                        format!("CAST({x} AS REAL)")
                    }
                    ColumnType::String => format!("CAST({x} AS TEXT)"),
                    ColumnType::Date => format!("date({x})"),
                    _ => x,
                }
            }
            Expr::Call(f, args) => {
                let args: Vec<String> = args.iter().map(|a| self.expr(a)).collect();
                let name = match f {
                    Func::Coalesce => "coalesce",
                    Func::Lower => "lower",
                    Func::Upper => "upper",
                    Func::Trim => "trim",
                    Func::Length => "length",
                    Func::Substr => "substr",
                    Func::Abs => "abs",
                    Func::Round => "round",
                };
                // PostgreSQL rounds to a number of digits only as `numeric`.
                if *f == Func::Round && self.d == Sql::Postgres && !args.is_empty() {
                    let rest: String = args[1..].iter().map(|a| format!(", {a}")).collect();
                    return format!("round(CAST({} AS numeric){rest})", args[0]);
                }
                format!("{name}({})", args.join(", "))
            }
            Expr::Extract(part, x) if self.d == Sql::Postgres => {
                let part = match part {
                    DatePart::Year => "year",
                    DatePart::Month => "month",
                    DatePart::Day => "day",
                    DatePart::Hour => "hour",
                };
                format!("CAST(extract({part} FROM {}) AS bigint)", self.expr(x))
            }
            Expr::Extract(part, x) => {
                let f = match part {
                    DatePart::Year => "%Y",
                    DatePart::Month => "%m",
                    DatePart::Day => "%d",
                    DatePart::Hour => "%H",
                };
                format!("CAST(strftime('{f}', {}) AS INTEGER)", self.expr(x))
            }
        }
    }
}

fn not(negated: bool) -> &'static str {
    if negated { "NOT " } else { "" }
}

fn literal(l: &Literal, d: Sql) -> String {
    match (l, d) {
        (Literal::Bool(b), Sql::Postgres) => b.to_string(),
        (Literal::Float(f), Sql::Postgres) => {
            format!("CAST({} AS float8)", text(&format!("{f:?}")))
        }
        (Literal::Decimal { units, scale }, Sql::Postgres) => {
            format!("CAST({} AS numeric)", format_decimal(*units, *scale))
        }
        (Literal::Date(x), Sql::Postgres) => format!("DATE {}", text(&format_date(*x))),
        (Literal::Timestamp(us), Sql::Postgres) => {
            format!("TIMESTAMP {}", text(&format_timestamp(*us, false)))
        }
        _ => literal_sqlite(l),
    }
}

fn literal_sqlite(l: &Literal) -> String {
    match l {
        Literal::Null => "NULL".into(),
        Literal::Bool(b) => u8::from(*b).to_string(),
        Literal::Int(i) => i.to_string(),
        Literal::Float(f) => format!("{f:?}"),
        Literal::Decimal { units, scale } => format_decimal(*units, *scale),
        Literal::Str(s) => text(s),
        Literal::Date(d) => text(&format_date(*d)),
        Literal::Timestamp(us) => text(&format_timestamp(*us, false)),
    }
}

/// A stored value as the database binds it: booleans as 0/1, decimals as floats, dates and
/// timestamps as ISO text.
pub enum Bound<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(std::borrow::Cow<'a, str>),
}

/// How a value is stored.
pub fn bind(v: &Value, ty: ColumnType) -> Bound<'_> {
    match v {
        Value::Null => Bound::Null,
        Value::Int(i) => Bound::Int(*i),
        Value::Bool(b) => Bound::Int(i64::from(*b)),
        Value::Float(f) => Bound::Real(*f),
        Value::Decimal(units, scale) => Bound::Real(*units as f64 / 10f64.powi(i32::from(*scale))),
        Value::Str(s) => Bound::Text(s.as_str().into()),
        other => Bound::Text(other.render(ty).into()),
    }
}

/// A returned value read by its output's type (`None`: a null-typed column).
pub fn value_of(b: Bound<'_>, ty: Option<ColumnType>) -> Value {
    let Some(ty) = ty else { return Value::Null };
    match (b, ty) {
        (Bound::Null, _) => Value::Null,
        (Bound::Int(i), ColumnType::Bool) => Value::Bool(i != 0),
        (Bound::Int(i), ColumnType::Float64) => Value::Float(i as f64),
        (Bound::Int(i), ColumnType::Decimal { scale }) => {
            Value::Decimal(i.saturating_mul(10i64.pow(u32::from(scale))), scale)
        }
        (Bound::Int(i), _) => Value::Int(i),
        (Bound::Real(f), ColumnType::Decimal { scale }) => {
            Value::Decimal((f * 10f64.powi(i32::from(scale))).round() as i64, scale)
        }
        (Bound::Real(f), ColumnType::Int64) => Value::Int(f.round() as i64),
        (Bound::Real(f), _) => Value::Float(f),
        (Bound::Text(t), ColumnType::Float64) => match t.as_ref() {
            "Infinity" => Value::Float(f64::INFINITY),
            "-Infinity" => Value::Float(f64::NEG_INFINITY),
            "NaN" => Value::Float(f64::NAN),
            s => s
                .parse()
                .map_or_else(|_| Value::Str(t.into_owned()), Value::Float),
        },
        (Bound::Text(t), ty) => {
            parse_value(t.as_bytes(), ty).unwrap_or_else(|_| Value::Str(t.into_owned()))
        }
    }
}
