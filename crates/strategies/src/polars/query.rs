//! A user's query ([`membench_kernel::Workload::Query`]) as one Polars plan, shared by `lazy`
//! (scans, the streaming engine) and `load-all-polars` (every input read eagerly, then the
//! in-memory engine): the typed plan translated to Polars expressions with membench's semantics,
//! the engine's result frame read back by each output's type.
//!
//! The translation settles the differences once, as the databases' printer does
//! (`db::plan_sql`): SQL nulls throughout (Polars' `&`/`|` are Kleene's), `/` a float division
//! (±inf, NaN by zero), `%` the truncated remainder and NULL by zero, `round` and casts to
//! integers half away from zero, `IN` and `BETWEEN` as the comparisons they stand for, `LIKE` as
//! an anchored regular expression, `sum` of no values NULL. Decimals are held as `Float64` (as
//! most Polars users hold money) and read back at their scale, as SQLite's `REAL`.
//!
//! Polars reads the files itself (its CSV reader with the inferred schema and membench's null
//! tokens, its Parquet reader). When the engine objects, membench's own operators run the plan
//! to find the error every other strategy reports (file, line, column, value); the engine's
//! message is kept only when they find none.

use std::io::Read as _;

use membench_protocol::{
    AggFunc, BinOp, ColumnType, DatePart, Expr as P, Func, JoinKind, Literal, Plan,
};
use membench_query::Table;
use membench_query::text::Value;
use polars::prelude::*;

use super::input::engine;
use super::join::Read;
use crate::db::plan_sql::{Bound, value_of};
use crate::io::csv::{Decoding, open_bytes};
use crate::{Outcome, QueryParams, RunError};

/// Runs the plan with Polars, its inputs scanned (`Read::Scan`) or read whole first.
pub(crate) fn run(q: &QueryParams, read: Read) -> Result<Outcome, RunError> {
    let plan = &q.plan;
    let tr = Translate { plan };
    // Refused before any reading: what the translation cannot express.
    let answer = tr.answer().map_err(RunError::Unsupported)?;
    let result = engine(|| {
        let mut rows = 0u64;
        let mut frames = Vec::with_capacity(q.tables.len());
        let mut stats = Vec::new();
        for (i, t) in q.tables.iter().enumerate() {
            let lf = frame(t, &used(plan, i), read)?;
            let lf = match read {
                Read::Scan => {
                    stats.push(
                        lf.clone()
                            .select([len().cast(DataType::Int64).alias("rows")]),
                    );
                    lf
                }
                Read::Eager => {
                    let df = lf.collect()?;
                    rows += df.height() as u64;
                    df.lazy()
                }
            };
            frames.push(lf);
        }
        let out = answer(frames)?;
        let df = match read {
            Read::Eager => out.collect()?,
            Read::Scan => {
                stats.push(out);
                let mut all = LazyFrame::collect_all_with_engine(
                    stats.into_iter().map(|lf| lf.logical_plan).collect(),
                    Engine::Streaming,
                    OptFlags::default(),
                )?;
                let df = all.pop().expect("the answer's frame");
                for s in &all {
                    rows += s.column("rows")?.i64()?.get(0).unwrap_or(0) as u64;
                }
                df
            }
        };
        Ok((rows, df))
    });
    let (rows_read, df) = match result {
        Ok(r) => r,
        Err(e) => return Err(located(q, e)),
    };
    let rows = result_rows(plan, &df)
        .map_err(|e| RunError::Other(anyhow::anyhow!("unexpected Polars result: {e}")))?;
    crate::io::query::from_rows(q, rows, rows_read)
}

/// The error for a plan the engine failed on: the one membench's operators find (what every
/// strategy reports), else the engine's own message.
fn located(q: &QueryParams, e: PolarsError) -> RunError {
    let tables = q.tables();
    match membench_query::scan::run(&q.plan, &tables, membench_query::scan::Reading::Streaming) {
        Err(found) => RunError::Query(found),
        Ok(_) => RunError::Other(anyhow::anyhow!("Polars failed on the query: {e}")),
    }
}

/// The plan's columns read from input `i`: (plan column, table column).
fn used(plan: &Plan, i: usize) -> Vec<(usize, usize)> {
    plan.columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.input == i)
        .map(|(j, c)| (j, c.column))
        .collect()
}

/// How Polars holds a column of `ty`.
fn dtype(ty: ColumnType) -> DataType {
    match ty {
        ColumnType::Int64 => DataType::Int64,
        ColumnType::Float64 | ColumnType::Decimal { .. } => DataType::Float64,
        ColumnType::Bool => DataType::Boolean,
        ColumnType::Date => DataType::Date,
        ColumnType::Timestamp { .. } => DataType::Datetime(TimeUnit::Microseconds, None),
        ColumnType::String => DataType::String,
    }
}

/// One table's used columns as a frame, each named `x{plan column}`: its files read by Polars
/// (CSV with the inferred types, other columns as text; a compressed file decompressed whole
/// first, as Polars' own readers do), stacked in name order.
fn frame(t: &Table, used: &[(usize, usize)], read: Read) -> PolarsResult<LazyFrame> {
    let schema = Arc::new(Schema::from_iter(t.schema.columns.iter().enumerate().map(
        |(i, c)| {
            let ty = match used.iter().any(|(_, u)| *u == i) {
                true => dtype(c.ty),
                false => DataType::String,
            };
            Field::new(c.name.as_str().into(), ty)
        },
    )));
    let nulls = Some(NullValues::AllColumns(
        t.nulls.0.iter().map(|s| s.as_str().into()).collect(),
    ));
    let missing_is_null = t.nulls.0.iter().any(String::is_empty);
    let mut select: Vec<Expr> = used
        .iter()
        .map(|(j, c)| {
            col(t.schema.columns[*c].name.as_str())
                .cast(dtype(t.schema.columns[*c].ty))
                .alias(format!("x{j}"))
        })
        .collect();
    if select.is_empty() {
        // No column used (`count(*)`): the rows are still counted, so one column is read.
        let first = t
            .schema
            .columns
            .first()
            .ok_or_else(|| polars_err!(NoData: "no columns"))?;
        select.push(col(first.name.as_str()).alias("_row"));
    }
    // Polars' eager CSV reader with the same schema and null tokens as the lazy scan.
    let eager = || {
        CsvReadOptions::default()
            .with_has_header(true)
            .with_schema(Some(schema.clone()))
            .map_parse_options(|o| {
                o.with_separator(t.delimiter)
                    .with_null_values(nulls.clone())
                    .with_missing_is_null(missing_is_null)
            })
    };
    let mut parts = Vec::with_capacity(t.files.len());
    for f in &t.files {
        let path = PlRefPath::new(f.to_string_lossy().as_ref());
        let lf = if t.is_parquet() {
            match read {
                Read::Scan => LazyFrame::scan_parquet(path, ScanArgsParquet::default())?,
                Read::Eager => ParquetReader::new(std::fs::File::open(f)?).finish()?.lazy(),
            }
        } else if !crate::Compression::of_path(f).is_none() {
            let mut bytes = Vec::new();
            open_bytes(f, Decoding::Inline)
                .map_err(|e| polars_err!(ComputeError: "{e}"))?
                .read_to_end(&mut bytes)?;
            eager()
                .into_reader_with_file_handle(std::io::Cursor::new(bytes))
                .finish()?
                .lazy()
        } else {
            match read {
                Read::Scan => LazyCsvReader::new(path)
                    .with_has_header(true)
                    .with_schema(Some(schema.clone()))
                    .with_separator(t.delimiter)
                    .with_null_values(nulls.clone())
                    .with_missing_is_null(missing_is_null)
                    .finish()?,
                Read::Eager => eager()
                    .try_into_reader_with_file_path(Some(f.clone()))?
                    .finish()?
                    .lazy(),
            }
        };
        parts.push(lf.select(select.clone()));
    }
    match parts.len() {
        1 => Ok(parts.pop().expect("one part")),
        _ => concat(parts, UnionArgs::default()),
    }
}

/// The answer's plan over the inputs' frames, as a function of them.
type AnswerPlan = Box<dyn Fn(Vec<LazyFrame>) -> PolarsResult<LazyFrame>>;

/// The plan's translation, made once (its errors are the constructs Polars is not given).
struct Translate<'p> {
    plan: &'p Plan,
}

impl Translate<'_> {
    /// The whole query: join → filter → group (aggregate, `HAVING`) or project → order →
    /// limit; the outputs named `c{i}` (hidden ones too: the answer drops them).
    fn answer(&self) -> Result<AnswerPlan, String> {
        let plan = self.plan;
        let join = plan.join.map(|j| {
            let kind = match j.kind {
                JoinKind::Inner => JoinType::Inner,
                JoinKind::Left => JoinType::Left,
            };
            (
                col(format!("x{}", j.left_key)),
                col(format!("x{}", j.right_key)),
                kind,
            )
        });
        let filter = plan.filter.as_ref().map(|f| self.expr(f)).transpose()?;
        let group = match &plan.group {
            None => None,
            Some(g) => {
                let keys = g
                    .keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| Ok(self.expr(&k.expr)?.alias(format!("k{i}"))))
                    .collect::<Result<Vec<_>, String>>()?;
                let aggs = g
                    .aggregates
                    .iter()
                    .enumerate()
                    .map(|(i, a)| Ok(self.aggregate(a)?.alias(format!("a{i}"))))
                    .collect::<Result<Vec<_>, String>>()?;
                let having = g.having.as_ref().map(|h| self.expr(h)).transpose()?;
                Some((keys, aggs, having))
            }
        };
        let outputs = plan
            .output
            .iter()
            .enumerate()
            .map(|(i, o)| Ok(self.expr(&o.expr)?.alias(format!("c{i}"))))
            .collect::<Result<Vec<_>, String>>()?;
        let order: Vec<Expr> = plan
            .order
            .iter()
            .map(|k| col(format!("c{}", k.output)))
            .collect();
        let sort = SortMultipleOptions::default()
            .with_order_descending_multi(plan.order.iter().map(|k| k.desc))
            .with_nulls_last_multi(plan.order.iter().map(|k| !k.nulls_first));
        let limit = plan.limit;
        Ok(Box::new(move |mut frames: Vec<LazyFrame>| {
            let mut lf = frames.remove(0);
            if let Some((l, r, kind)) = &join {
                let right = frames.remove(0);
                lf = lf.join(
                    right,
                    [l.clone()],
                    [r.clone()],
                    JoinArgs::new(kind.clone()).with_coalesce(JoinCoalesce::KeepColumns),
                );
            }
            if let Some(f) = &filter {
                lf = lf.filter(f.clone());
            }
            if let Some((keys, aggs, having)) = &group {
                lf = match keys.is_empty() {
                    true => lf.select(aggs.clone()),
                    false => lf.group_by(keys.clone()).agg(aggs.clone()),
                };
                if let Some(h) = having {
                    lf = lf.filter(h.clone());
                }
            }
            lf = lf.select(outputs.clone());
            if !order.is_empty() {
                lf = lf.sort_by_exprs(order.clone(), sort.clone());
            }
            if let Some(n) = limit {
                lf = lf.limit(n as IdxSize);
            }
            Ok(lf)
        }))
    }

    fn aggregate(&self, a: &membench_protocol::Aggregate) -> Result<Expr, String> {
        let Some(arg) = &a.arg else {
            return Ok(len().cast(DataType::Int64));
        };
        let x = self.expr(arg)?;
        let values = match a.distinct {
            true => x.drop_nulls().unique(),
            false => x,
        };
        Ok(match a.func {
            // Non-null values (distinct ones: `values` is already unique).
            AggFunc::Count => values.count().cast(DataType::Int64),
            // SQL: the sum of no values is NULL (Polars says 0).
            AggFunc::Sum => when(values.clone().count().eq(lit(0)))
                .then(lit(NULL))
                .otherwise(values.sum()),
            AggFunc::Min => values.min(),
            AggFunc::Max => values.max(),
            AggFunc::Avg => values.mean(),
        })
    }

    /// An expression's type, by the binder's rules (`None`: NULL).
    fn ty(&self, e: &P) -> Option<ColumnType> {
        use ColumnType as T;
        let group = || self.plan.group.as_ref().expect("a grouped plan");
        match e {
            P::Col(i) => Some(self.plan.columns[*i].ty),
            P::Key(i) => group().keys[*i].ty,
            P::Agg(i) => Some(group().aggregates[*i].ty),
            P::Lit(l) => l.ty(),
            P::Neg(x) => self.ty(x),
            P::Bin(BinOp::Div, ..) => Some(T::Float64),
            P::Bin(BinOp::Concat, ..) => Some(T::String),
            P::Bin(BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Mod, a, b) => {
                match (self.ty(a)?, self.ty(b)?) {
                    (T::Int64, T::Int64) => Some(T::Int64),
                    (T::Float64, _) | (_, T::Float64) => Some(T::Float64),
                    (x, y) => {
                        let s = |t| match t {
                            T::Decimal { scale } => scale,
                            _ => 0,
                        };
                        let scale = match e {
                            P::Bin(BinOp::Mul, ..) => s(x) + s(y),
                            _ => s(x).max(s(y)),
                        };
                        Some(T::Decimal { scale })
                    }
                }
            }
            P::Case { whens, otherwise } => whens
                .iter()
                .map(|(_, v)| v)
                .chain(otherwise.as_deref())
                .find_map(|v| self.ty(v)),
            P::Cast(_, t) => Some(*t),
            P::Call(Func::Coalesce, args) => args.iter().find_map(|a| self.ty(a)),
            P::Call(Func::Lower | Func::Upper | Func::Trim | Func::Substr, _) => Some(T::String),
            P::Call(Func::Length, _) => Some(T::Int64),
            P::Call(Func::Abs, args) => self.ty(&args[0]),
            P::Call(Func::Round, args) => match (self.ty(&args[0]), args.get(1)) {
                (Some(T::Decimal { scale }), Some(P::Lit(Literal::Int(d)))) => Some(T::Decimal {
                    scale: scale.min((*d).clamp(0, 18) as u8),
                }),
                (Some(T::Decimal { .. }), None) => Some(T::Decimal { scale: 0 }),
                (t, _) => t,
            },
            P::Extract(..) => Some(T::Int64),
            _ => Some(T::Bool),
        }
    }

    fn expr(&self, e: &P) -> Result<Expr, String> {
        Ok(match e {
            P::Col(i) => col(format!("x{i}")),
            P::Key(i) => col(format!("k{i}")),
            P::Agg(i) => col(format!("a{i}")),
            P::Lit(l) => literal(l),
            P::Neg(x) => -self.expr(x)?,
            P::Not(x) => self.expr(x)?.not(),
            P::Bin(op, a, b) => self.binary(*op, a, b)?,
            P::IsNull { expr, negated } => match negated {
                false => self.expr(expr)?.is_null(),
                true => self.expr(expr)?.is_not_null(),
            },
            // `x IN (a, b)` is `x = a OR x = b`, nulls and all.
            P::In {
                expr,
                list,
                negated,
            } => {
                let x = self.expr(expr)?;
                let mut any: Option<Expr> = None;
                for item in list {
                    let eq = x.clone().eq(self.expr(item)?);
                    any = Some(match any {
                        None => eq,
                        Some(a) => a.or(eq),
                    });
                }
                let any = any.ok_or("IN of an empty list")?;
                negate(any, *negated)
            }
            P::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let x = self.expr(expr)?;
                let inside = x
                    .clone()
                    .gt_eq(self.expr(low)?)
                    .and(x.lt_eq(self.expr(high)?));
                negate(inside, *negated)
            }
            P::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => {
                let (x, pattern) = match case_insensitive {
                    true => (
                        self.expr(expr)?.str().to_lowercase(),
                        pattern.to_lowercase(),
                    ),
                    false => (self.expr(expr)?, pattern.clone()),
                };
                negate(x.str().contains(lit(like_regex(&pattern)), true), *negated)
            }
            P::Case { whens, otherwise } => {
                // Nested from the last WHEN: the first true condition wins, as in a chain.
                let mut out = match otherwise {
                    Some(o) => self.expr(o)?,
                    None => lit(NULL),
                };
                for (c, v) in whens.iter().rev() {
                    out = when(self.expr(c)?).then(self.expr(v)?).otherwise(out);
                }
                out
            }
            P::Cast(x, to) => self.cast(self.expr(x)?, self.ty(x), *to),
            P::Call(f, args) => self.call(*f, args)?,
            P::Extract(part, x) => {
                let v = self.expr(x)?;
                let date = self.ty(x) == Some(ColumnType::Date);
                let part = match part {
                    DatePart::Year => v.dt().year(),
                    DatePart::Month => v.dt().month(),
                    DatePart::Day => v.dt().day(),
                    // A date's hour is 0.
                    DatePart::Hour if date => when(v.is_null()).then(lit(NULL)).otherwise(lit(0)),
                    DatePart::Hour => v.dt().hour(),
                };
                part.cast(DataType::Int64)
            }
        })
    }

    fn binary(&self, op: BinOp, a: &P, b: &P) -> Result<Expr, String> {
        let text = |e: &P| -> Result<Expr, String> {
            let x = self.expr(e)?;
            Ok(match self.ty(e) {
                Some(ColumnType::String) => x,
                from => self.cast(x, from, ColumnType::String),
            })
        };
        if op == BinOp::Concat {
            return Ok(text(a)? + text(b)?);
        }
        let (x, y) = (self.expr(a)?, self.expr(b)?);
        Ok(match op {
            BinOp::Add => x + y,
            BinOp::Sub => x - y,
            BinOp::Mul => x * y,
            // A float division: ±inf and NaN by zero.
            BinOp::Div => x.cast(DataType::Float64) / y.cast(DataType::Float64),
            // The truncated remainder (the sign of the dividend), NULL by zero.
            BinOp::Mod => {
                let r = x.clone() % y.clone();
                let floored = r
                    .clone()
                    .neq(lit(0))
                    .and(r.clone().lt(lit(0)).neq(x.lt(lit(0))));
                let truncated = when(floored).then(r.clone() - y.clone()).otherwise(r);
                when(y.eq(lit(0))).then(lit(NULL)).otherwise(truncated)
            }
            BinOp::Eq => x.eq(y),
            BinOp::NotEq => x.neq(y),
            BinOp::Lt => x.lt(y),
            BinOp::LtEq => x.lt_eq(y),
            BinOp::Gt => x.gt(y),
            BinOp::GtEq => x.gt_eq(y),
            BinOp::And => x.and(y),
            BinOp::Or => x.or(y),
            BinOp::Concat => unreachable!("above"),
        })
    }

    /// `CAST(x AS to)` from `from`, by membench's rules (`eval::cast`).
    fn cast(&self, x: Expr, from: Option<ColumnType>, to: ColumnType) -> Expr {
        use ColumnType as T;
        let Some(from) = from else {
            return lit(NULL).cast(dtype(to));
        };
        match (from, to) {
            (f, t) if f == t => x,
            (T::Float64 | T::Decimal { .. }, T::Int64) => x
                .round(0, RoundMode::HalfAwayFromZero)
                .strict_cast(DataType::Int64),
            (T::Float64 | T::Decimal { .. }, T::Decimal { scale }) => round_to(x, scale),
            (T::Int64, T::Bool) => x.neq(lit(0)),
            (T::String, T::Date) => x
                .str()
                .strip_chars(lit(NULL))
                .str()
                .to_date(StrptimeOptions::default()),
            (T::String, T::Timestamp { .. }) => x.str().strip_chars(lit(NULL)).str().to_datetime(
                Some(TimeUnit::Microseconds),
                None,
                StrptimeOptions::default(),
                lit("raise"),
            ),
            (T::String, T::Decimal { scale }) => round_to(
                x.str()
                    .strip_chars(lit(NULL))
                    .strict_cast(DataType::Float64),
                scale,
            ),
            (T::String, t) => x.str().strip_chars(lit(NULL)).strict_cast(dtype(t)),
            (_, t) => x.strict_cast(dtype(t)),
        }
    }

    fn call(&self, f: Func, args: &[P]) -> Result<Expr, String> {
        let a: Vec<Expr> = args
            .iter()
            .map(|x| self.expr(x))
            .collect::<Result<_, _>>()?;
        let x = a.first().cloned().ok_or("a call without arguments")?;
        Ok(match f {
            Func::Coalesce => coalesce(&a),
            Func::Lower => x.str().to_lowercase(),
            Func::Upper => x.str().to_uppercase(),
            Func::Trim => x.str().strip_chars(lit(" ")),
            Func::Length => x.str().len_chars().cast(DataType::Int64),
            // 1-based, in characters: from max(start, 1), up to (not including) start + n.
            Func::Substr => {
                let start = a.get(1).cloned().ok_or("substr without a start")?;
                let offset = when(start.clone().lt(lit(1)))
                    .then(lit(0i64))
                    .otherwise(start.clone() - lit(1i64));
                let length = match a.get(2) {
                    None => lit(NULL).cast(DataType::Int64),
                    Some(n) => {
                        let l = start + n.clone() - lit(1i64) - offset.clone();
                        when(l.clone().lt(lit(0i64))).then(lit(0i64)).otherwise(l)
                    }
                };
                x.str().slice(offset, length)
            }
            Func::Abs => when(x.clone().lt(lit(0))).then(-x.clone()).otherwise(x),
            Func::Round => {
                let digits = match args.get(1) {
                    None => 0,
                    Some(P::Lit(Literal::Int(d))) => *d,
                    Some(_) => {
                        return Err("round to a number of digits that is not a constant".into());
                    }
                };
                match self.ty(&args[0]) {
                    Some(ColumnType::Int64) => x,
                    Some(ColumnType::Decimal { scale }) => {
                        round_to(x, scale.min(digits.clamp(0, 18) as u8))
                    }
                    _ => {
                        let p = 10f64.powi(digits.clamp(-308, 308) as i32);
                        (x * lit(p)).round(0, RoundMode::HalfAwayFromZero) / lit(p)
                    }
                }
            }
        })
    }
}

/// A float rounded half away from zero to `scale` digits.
fn round_to(x: Expr, scale: u8) -> Expr {
    let p = 10f64.powi(i32::from(scale));
    (x * lit(p)).round(0, RoundMode::HalfAwayFromZero) / lit(p)
}

fn negate(e: Expr, negated: bool) -> Expr {
    match negated {
        true => e.not(),
        false => e,
    }
}

fn literal(l: &Literal) -> Expr {
    match l {
        Literal::Null => lit(NULL),
        Literal::Bool(b) => lit(*b),
        Literal::Int(i) => lit(*i),
        Literal::Float(f) => lit(*f),
        Literal::Decimal { units, scale } => lit(*units as f64 / 10f64.powi(i32::from(*scale))),
        Literal::Str(s) => lit(s.as_str()),
        Literal::Date(d) => lit(*d).cast(DataType::Date),
        Literal::Timestamp(us) => lit(*us).cast(DataType::Datetime(TimeUnit::Microseconds, None)),
    }
}

/// `LIKE`'s pattern as an anchored regular expression: `%` any run, `_` one character, the
/// rest literal (`.` matching newlines too).
fn like_regex(pattern: &str) -> String {
    let mut re = String::from("(?s)^");
    for c in pattern.chars() {
        match c {
            '%' => re.push_str(".*"),
            '_' => re.push('.'),
            c => re.push_str(&regex_escape(c)),
        }
    }
    re.push('$');
    re
}

fn regex_escape(c: char) -> String {
    match c {
        '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$'
        | '#' | '&' | '-' | '~' => format!("\\{c}"),
        c => c.to_string(),
    }
}

/// The result frame's rows, each output read by its type.
fn result_rows(plan: &Plan, df: &DataFrame) -> PolarsResult<Vec<Vec<Value>>> {
    let columns: Vec<&Series> = (0..plan.output.len())
        .map(|i| {
            df.column(&format!("c{i}"))
                .map(|c| c.as_materialized_series())
        })
        .collect::<PolarsResult<_>>()?;
    let mut rows = Vec::with_capacity(df.height());
    for r in 0..df.height() {
        let mut row = Vec::with_capacity(columns.len());
        for (s, o) in columns.iter().zip(&plan.output) {
            row.push(value(s.get(r)?, o.ty));
        }
        rows.push(row);
    }
    Ok(rows)
}

/// One engine value read by its output's type.
fn value(v: AnyValue<'_>, ty: Option<ColumnType>) -> Value {
    if ty.is_none() {
        return Value::Null;
    }
    let b = match v {
        AnyValue::Null => Bound::Null,
        AnyValue::Boolean(b) => return Value::Bool(b),
        AnyValue::Date(d) => return Value::Date(d),
        AnyValue::Datetime(t, unit, _) => {
            return Value::Timestamp(match unit {
                TimeUnit::Nanoseconds => t.div_euclid(1000),
                TimeUnit::Microseconds => t,
                TimeUnit::Milliseconds => t * 1000,
            });
        }
        AnyValue::String(s) => Bound::Text(s.to_string().into()),
        AnyValue::StringOwned(s) => Bound::Text(s.to_string().into()),
        AnyValue::Float64(f) => Bound::Real(f),
        AnyValue::Float32(f) => Bound::Real(f64::from(f)),
        other => match other.extract::<i64>() {
            Some(i) => Bound::Int(i),
            None => Bound::Text(other.to_string().into()),
        },
    };
    value_of(b, ty)
}
