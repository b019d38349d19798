//! A plan's expressions evaluated over [`Value`]s, with SQL's null semantics: an operator with a
//! NULL operand gives NULL, `AND`/`OR` are three-valued, a condition that is NULL is not true,
//! `/` and `%` by zero give NULL (as DuckDB and SQLite; the PostgreSQL strategy's SQL is written
//! to agree). Integer and decimal arithmetic is exact and checked: an overflow is an error, not
//! a wrapped number.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use membench_protocol::{BinOp, ColumnType, DatePart, Expr, Func, Literal};

use crate::text::{self, Value, civil_from_days};

/// Why an expression has no value for a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalError(pub String);

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

type Result<T> = std::result::Result<T, EvalError>;

fn err<T>(m: impl Into<String>) -> Result<T> {
    Err(EvalError(m.into()))
}

/// What an expression reads: the row's columns, and (grouped) the group's keys and aggregates.
#[derive(Clone, Copy, Debug)]
pub struct Env<'a> {
    pub row: &'a [Value],
    pub keys: &'a [Value],
    pub aggs: &'a [Value],
}

impl<'a> Env<'a> {
    /// Over a row.
    pub fn row(row: &'a [Value]) -> Self {
        Env {
            row,
            keys: &[],
            aggs: &[],
        }
    }
}

/// A literal as a value.
pub fn literal(l: &Literal) -> Value {
    match l {
        Literal::Null => Value::Null,
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Int(v) => Value::Int(*v),
        Literal::Float(v) => Value::Float(*v),
        Literal::Decimal { units, scale } => Value::Decimal(*units, *scale),
        Literal::Str(s) => Value::Str(s.clone()),
        Literal::Date(d) => Value::Date(*d),
        Literal::Timestamp(t) => Value::Timestamp(*t),
    }
}

/// Whether a condition's value is true (NULL is not).
#[inline]
pub fn is_true(v: &Value) -> bool {
    matches!(v, Value::Bool(true))
}

/// Evaluates `e`.
pub fn eval(e: &Expr, env: Env<'_>) -> Result<Value> {
    Ok(match e {
        Expr::Col(i) => env.row[*i].clone(),
        Expr::Key(i) => env.keys[*i].clone(),
        Expr::Agg(i) => env.aggs[*i].clone(),
        Expr::Lit(l) => literal(l),
        Expr::Neg(x) => match eval(x, env)? {
            Value::Int(v) => Value::Int(v.checked_neg().ok_or_else(overflow)?),
            Value::Decimal(v, s) => Value::Decimal(v.checked_neg().ok_or_else(overflow)?, s),
            Value::Float(v) => Value::Float(-v),
            Value::Null => Value::Null,
            other => return err(format!("cannot negate {other:?}")),
        },
        Expr::Not(x) => match eval(x, env)? {
            Value::Bool(b) => Value::Bool(!b),
            _ => Value::Null,
        },
        Expr::Bin(BinOp::And, l, r) => {
            let a = eval(l, env)?;
            if a == Value::Bool(false) {
                return Ok(a);
            }
            match (a, eval(r, env)?) {
                (_, Value::Bool(false)) => Value::Bool(false),
                (Value::Bool(true), Value::Bool(true)) => Value::Bool(true),
                _ => Value::Null,
            }
        }
        Expr::Bin(BinOp::Or, l, r) => {
            let a = eval(l, env)?;
            if a == Value::Bool(true) {
                return Ok(a);
            }
            match (a, eval(r, env)?) {
                (_, Value::Bool(true)) => Value::Bool(true),
                (Value::Bool(false), Value::Bool(false)) => Value::Bool(false),
                _ => Value::Null,
            }
        }
        Expr::Bin(op, l, r) => binary(*op, eval(l, env)?, eval(r, env)?)?,
        Expr::IsNull { expr, negated } => Value::Bool(eval(expr, env)?.is_null() != *negated),
        Expr::In {
            expr,
            list,
            negated,
        } => {
            let v = eval(expr, env)?;
            if v.is_null() {
                return Ok(Value::Null);
            }
            let mut saw_null = false;
            let mut found = false;
            for item in list {
                match compare(&v, &eval(item, env)?) {
                    Some(Ordering::Equal) => {
                        found = true;
                        break;
                    }
                    None => saw_null = true,
                    _ => {}
                }
            }
            if found {
                Value::Bool(!negated)
            } else if saw_null {
                Value::Null
            } else {
                Value::Bool(*negated)
            }
        }
        Expr::Between {
            expr,
            low,
            high,
            negated,
        } => {
            let v = eval(expr, env)?;
            let ge = compare(&v, &eval(low, env)?).map(|o| o != Ordering::Less);
            let le = compare(&v, &eval(high, env)?).map(|o| o != Ordering::Greater);
            let inside = match (ge, le) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            };
            match inside {
                Some(b) => Value::Bool(b != *negated),
                None => Value::Null,
            }
        }
        Expr::Like {
            expr,
            pattern,
            negated,
            case_insensitive,
        } => match eval(expr, env)? {
            Value::Str(s) => {
                let m = if *case_insensitive {
                    like(&s.to_lowercase(), &pattern.to_lowercase())
                } else {
                    like(&s, pattern)
                };
                Value::Bool(m != *negated)
            }
            _ => Value::Null,
        },
        Expr::Case { whens, otherwise } => {
            for (c, v) in whens {
                if is_true(&eval(c, env)?) {
                    return eval(v, env);
                }
            }
            match otherwise {
                Some(o) => eval(o, env)?,
                None => Value::Null,
            }
        }
        Expr::Cast(x, ty) => cast(eval(x, env)?, *ty)?,
        Expr::Call(f, args) => call(*f, args, env)?,
        Expr::Extract(part, x) => match eval(x, env)? {
            Value::Date(d) => Value::Int(date_part(d, *part)),
            Value::Timestamp(us) => {
                let d = us.div_euclid(86_400_000_000) as i32;
                match part {
                    DatePart::Hour => Value::Int(us.rem_euclid(86_400_000_000) / 3_600_000_000),
                    _ => Value::Int(date_part(d, *part)),
                }
            }
            _ => Value::Null,
        },
    })
}

fn date_part(d: i32, part: DatePart) -> i64 {
    let (y, m, day) = civil_from_days(d);
    match part {
        DatePart::Year => y as i64,
        DatePart::Month => m as i64,
        DatePart::Day => day as i64,
        DatePart::Hour => 0,
    }
}

fn overflow() -> EvalError {
    EvalError("integer overflow (the result does not fit 64 bits)".into())
}

/// Powers of ten that fit an `i64` (a decimal's scale factors).
pub(crate) const POW10: [i64; 19] = {
    let mut p = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        p[i] = p[i - 1] * 10;
        i += 1;
    }
    p
};

/// `units` of scale `from` at scale `to` (`to ≥ from`), checked.
fn rescale(units: i64, from: u8, to: u8) -> Result<i64> {
    units
        .checked_mul(POW10[(to - from) as usize])
        .ok_or_else(overflow)
}

/// A number as (units, scale): integers at scale 0.
fn exact(v: &Value) -> Option<(i64, u8)> {
    match v {
        Value::Int(i) => Some((*i, 0)),
        Value::Decimal(u, s) => Some((*u, *s)),
        _ => None,
    }
}

fn float(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Decimal(u, s) => Some(*u as f64 / POW10[*s as usize] as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

fn binary(op: BinOp, a: Value, b: Value) -> Result<Value> {
    use BinOp::*;
    if a.is_null() || b.is_null() {
        return Ok(Value::Null);
    }
    Ok(match op {
        Eq | NotEq | Lt | LtEq | Gt | GtEq => {
            let Some(o) = compare(&a, &b) else {
                return Ok(Value::Null);
            };
            Value::Bool(match op {
                Eq => o == Ordering::Equal,
                NotEq => o != Ordering::Equal,
                Lt => o == Ordering::Less,
                LtEq => o != Ordering::Greater,
                Gt => o == Ordering::Greater,
                _ => o != Ordering::Less,
            })
        }
        Concat => Value::Str(format!("{}{}", as_text(&a), as_text(&b))),
        Div => Value::Float(num(&a)? / num(&b)?),
        Add | Sub | Mul | Mod => {
            if let (Value::Int(x), Value::Int(y)) = (&a, &b) {
                return Ok(Value::Int(
                    match op {
                        Add => x.checked_add(*y),
                        Sub => x.checked_sub(*y),
                        Mul => x.checked_mul(*y),
                        _ if *y == 0 => return Ok(Value::Null),
                        _ => x.checked_rem(*y),
                    }
                    .ok_or_else(overflow)?,
                ));
            }
            if let (Some((x, sx)), Some((y, sy))) = (exact(&a), exact(&b)) {
                if op == Mul {
                    let s = sx + sy;
                    return Ok(Value::Decimal(x.checked_mul(y).ok_or_else(overflow)?, s));
                }
                let s = sx.max(sy);
                let (x, y) = (rescale(x, sx, s)?, rescale(y, sy, s)?);
                return Ok(Value::Decimal(
                    match op {
                        Add => x.checked_add(y),
                        Sub => x.checked_sub(y),
                        _ if y == 0 => return Ok(Value::Null),
                        _ => x.checked_rem(y),
                    }
                    .ok_or_else(overflow)?,
                    s,
                ));
            }
            let (x, y) = (num(&a)?, num(&b)?);
            Value::Float(match op {
                Add => x + y,
                Sub => x - y,
                Mul => x * y,
                _ if y == 0.0 => return Ok(Value::Null),
                _ => x % y,
            })
        }
        And | Or => unreachable!("evaluated lazily"),
    })
}

fn num(v: &Value) -> Result<f64> {
    float(v).ok_or_else(|| EvalError(format!("{v:?} is not a number")))
}

fn as_text(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        Value::Timestamp(us) => text::format_timestamp(*us, false),
        other => other.render(ColumnType::String),
    }
}

/// SQL comparison: `None` when either side is NULL (or the two cannot be compared). Numbers
/// compare exactly across integer and decimal, as floats with a float.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    use Value::*;
    match (a, b) {
        (Null, _) | (_, Null) => None,
        (Int(x), Int(y)) => Some(x.cmp(y)),
        (Str(x), Str(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Bool(x), Bool(y)) => Some(x.cmp(y)),
        (Date(x), Date(y)) => Some(x.cmp(y)),
        (Timestamp(x), Timestamp(y)) => Some(x.cmp(y)),
        (Date(d), Timestamp(t)) => Some((*d as i64 * 86_400_000_000).cmp(t)),
        (Timestamp(t), Date(d)) => Some(t.cmp(&(*d as i64 * 86_400_000_000))),
        (Float(_), _) | (_, Float(_)) => Some((float(a)? + 0.0).total_cmp(&(float(b)? + 0.0))),
        _ => {
            let ((x, sx), (y, sy)) = (exact(a)?, exact(b)?);
            let s = sx.max(sy);
            let x = x as i128 * POW10[(s - sx) as usize] as i128;
            let y = y as i128 * POW10[(s - sy) as usize] as i128;
            Some(x.cmp(&y))
        }
    }
}

/// `%` any run, `_` one character.
fn like(s: &str, p: &str) -> bool {
    let s: Vec<char> = s.chars().collect();
    let p: Vec<char> = p.chars().collect();
    // Iterative matching with one backtrack point (the last `%`).
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if j < p.len() && (p[j] == '_' || p[j] == s[i]) {
            i += 1;
            j += 1;
        } else if j < p.len() && p[j] == '%' {
            star = Some((j, i));
            j += 1;
        } else if let Some((sj, si)) = star {
            j = sj + 1;
            i = si + 1;
            star = Some((sj, si + 1));
        } else {
            return false;
        }
    }
    p[j..].iter().all(|&c| c == '%')
}

/// A value as `ty` (CAST): numbers convert (decimals and floats to integers round half away
/// from zero), text is read by the same rules as a file's fields, anything renders as text.
pub fn cast(v: Value, ty: ColumnType) -> Result<Value> {
    use ColumnType as T;
    let bad = |v: &Value| EvalError(format!("cannot CAST {} to {ty}", v.render(T::String)));
    Ok(match (v, ty) {
        (Value::Null, _) => Value::Null,
        (Value::Str(s), T::String) => Value::Str(s),
        (Value::Str(s), _) => {
            let t = s.trim();
            text::parse_value(t.as_bytes(), ty)
                .map_err(|_| EvalError(format!("cannot CAST {s:?} to {ty}")))?
        }
        (v, T::String) => Value::Str(as_text(&v)),
        (Value::Int(i), T::Int64) => Value::Int(i),
        (Value::Int(i), T::Float64) => Value::Float(i as f64),
        (Value::Int(i), T::Decimal { scale }) => Value::Decimal(rescale(i, 0, scale)?, scale),
        (Value::Int(i), T::Bool) => Value::Bool(i != 0),
        (Value::Decimal(u, s), T::Decimal { scale }) => {
            Value::Decimal(round_units(u, s, scale)?, scale)
        }
        (Value::Decimal(u, s), T::Int64) => Value::Int(round_units(u, s, 0)?),
        (Value::Decimal(u, s), T::Float64) => Value::Float(u as f64 / POW10[s as usize] as f64),
        (Value::Float(f), T::Float64) => Value::Float(f),
        (Value::Float(f), T::Int64) => {
            let r = f.round();
            if !(-9.2e18..9.2e18).contains(&r) {
                return Err(bad(&Value::Float(f)));
            }
            Value::Int(r as i64)
        }
        (Value::Float(f), T::Decimal { scale }) => {
            let r = (f * POW10[scale as usize] as f64).round();
            if !(-9.2e18..9.2e18).contains(&r) {
                return Err(bad(&Value::Float(f)));
            }
            Value::Decimal(r as i64, scale)
        }
        (Value::Bool(b), T::Bool) => Value::Bool(b),
        (Value::Bool(b), T::Int64) => Value::Int(b.into()),
        (Value::Date(d), T::Date) => Value::Date(d),
        (Value::Date(d), T::Timestamp { .. }) => Value::Timestamp(d as i64 * 86_400_000_000),
        (Value::Timestamp(t), T::Timestamp { .. }) => Value::Timestamp(t),
        (Value::Timestamp(t), T::Date) => Value::Date(t.div_euclid(86_400_000_000) as i32),
        (v, _) => return Err(bad(&v)),
    })
}

/// Decimal units at another scale, rounding half away from zero when the scale drops.
fn round_units(u: i64, from: u8, to: u8) -> Result<i64> {
    if to >= from {
        return rescale(u, from, to);
    }
    let p = POW10[(from - to) as usize];
    let q = u / p;
    let r = u % p;
    Ok(if r.unsigned_abs() * 2 >= p as u64 {
        q + u.signum()
    } else {
        q
    })
}

fn call(f: Func, args: &[Expr], env: Env<'_>) -> Result<Value> {
    if f == Func::Coalesce {
        for a in args {
            let v = eval(a, env)?;
            if !v.is_null() {
                return Ok(v);
            }
        }
        return Ok(Value::Null);
    }
    let vals: Vec<Value> = args.iter().map(|a| eval(a, env)).collect::<Result<_>>()?;
    if vals.contains(&Value::Null) {
        return Ok(Value::Null);
    }
    let s = || match &vals[0] {
        Value::Str(s) => Ok(s.as_str()),
        v => err(format!("{v:?} is not a string")),
    };
    let int = |i: usize| match vals.get(i) {
        Some(Value::Int(v)) => Ok(*v),
        v => err(format!("{v:?} is not an integer")),
    };
    Ok(match f {
        Func::Lower => Value::Str(s()?.to_lowercase()),
        Func::Upper => Value::Str(s()?.to_uppercase()),
        Func::Trim => Value::Str(s()?.trim_matches(' ').to_string()),
        Func::Length => Value::Int(s()?.chars().count() as i64),
        Func::Substr => {
            let chars: Vec<char> = s()?.chars().collect();
            let start = int(1)?;
            let end = if vals.len() == 3 {
                let n = int(2)?;
                if n < 0 {
                    return err("substr: a negative length");
                }
                start.saturating_add(n)
            } else {
                i64::MAX
            };
            let from = start.max(1) - 1;
            let to = (end - 1).clamp(0, chars.len() as i64);
            if from >= to {
                Value::Str(String::new())
            } else {
                Value::Str(chars[from as usize..to as usize].iter().collect())
            }
        }
        Func::Abs => match &vals[0] {
            Value::Int(v) => Value::Int(v.checked_abs().ok_or_else(overflow)?),
            Value::Decimal(u, s) => Value::Decimal(u.checked_abs().ok_or_else(overflow)?, *s),
            Value::Float(v) => Value::Float(v.abs()),
            v => return err(format!("abs of {v:?}")),
        },
        Func::Round => {
            let digits = if vals.len() == 2 { int(1)? } else { 0 };
            match &vals[0] {
                Value::Int(v) => Value::Int(*v),
                Value::Decimal(u, s) => {
                    let to = (*s).min(digits as u8);
                    Value::Decimal(round_units(*u, *s, to)?, to)
                }
                Value::Float(v) => {
                    let p = 10f64.powi(digits as i32);
                    Value::Float((v * p).round() / p)
                }
                v => return err(format!("round of {v:?}")),
            }
        }
        Func::Coalesce => unreachable!("above"),
    })
}

impl Eq for Value {}

impl Hash for Value {
    /// Equal values hash alike: a float by its bits (`-0.0` as `0.0`), a decimal by its units
    /// and scale (values of one typed column share a scale).
    fn hash<H: Hasher>(&self, h: &mut H) {
        std::mem::discriminant(self).hash(h);
        match self {
            Value::Null => {}
            Value::Int(v) | Value::Timestamp(v) => v.hash(h),
            Value::Float(v) => text::canonical_bits(*v).hash(h),
            Value::Decimal(u, s) => (u, s).hash(h),
            Value::Bool(b) => b.hash(h),
            Value::Date(d) => d.hash(h),
            Value::Str(s) => s.hash(h),
        }
    }
}

/// A total order for sorting answers: NULL last, then by [`compare`] (values of one column
/// share a type).
pub fn total_order(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        _ => compare(a, b).unwrap_or(Ordering::Equal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(op: BinOp, a: Value, c: Value) -> Value {
        binary(op, a, c).unwrap()
    }

    #[test]
    fn arithmetic_is_exact_and_null_propagates() {
        assert_eq!(
            b(BinOp::Add, Value::Decimal(150, 2), Value::Int(2)),
            Value::Decimal(350, 2)
        );
        assert_eq!(
            b(BinOp::Mul, Value::Decimal(15, 1), Value::Decimal(25, 1)),
            Value::Decimal(375, 2)
        );
        assert_eq!(
            b(BinOp::Div, Value::Int(5), Value::Int(2)),
            Value::Float(2.5)
        );
        assert_eq!(
            b(BinOp::Div, Value::Int(5), Value::Int(0)),
            Value::Float(f64::INFINITY)
        );
        assert_eq!(
            compare(&Value::Float(f64::NAN), &Value::Float(f64::INFINITY)),
            Some(Ordering::Greater)
        );
        assert_eq!(
            compare(&Value::Float(-0.0), &Value::Int(0)),
            Some(Ordering::Equal)
        );
        assert_eq!(b(BinOp::Mod, Value::Int(5), Value::Int(0)), Value::Null);
        assert_eq!(b(BinOp::Add, Value::Null, Value::Int(1)), Value::Null);
        assert!(binary(BinOp::Mul, Value::Int(i64::MAX), Value::Int(2)).is_err());
        assert_eq!(
            compare(&Value::Decimal(100, 2), &Value::Int(1)),
            Some(Ordering::Equal)
        );
    }

    #[test]
    fn like_casts_and_rounding() {
        assert!(like("Adelie Penguin", "Ad%P_nguin"));
        assert!(like("abc", "%") && like("", "%") && !like("abc", "b%"));
        assert!(like("aXbXc", "%b%c") && !like("ab", "a_b"));
        assert_eq!(round_units(125, 2, 1).unwrap(), 13);
        assert_eq!(round_units(-125, 2, 1).unwrap(), -13);
        assert_eq!(round_units(-124, 2, 1).unwrap(), -12);
        assert_eq!(
            cast(
                Value::Str(" 12.5 ".into()),
                ColumnType::Decimal { scale: 2 }
            )
            .unwrap(),
            Value::Decimal(1250, 2)
        );
        assert_eq!(
            cast(Value::Decimal(-250, 2), ColumnType::Int64).unwrap(),
            Value::Int(-3)
        );
        assert!(cast(Value::Str("x".into()), ColumnType::Int64).is_err());
        assert_eq!(
            cast(Value::Date(1), ColumnType::String).unwrap(),
            Value::Str("1970-01-02".into())
        );
    }
}
