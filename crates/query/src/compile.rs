//! A plan's row expressions compiled once into closures typed by the plan's column types: exact
//! numbers as `i64` units at a scale known when compiling, floats, booleans, dates and text, so a
//! row is evaluated without moving [`Value`]s through the interpreter's `match` at every node.
//!
//! The interpreter ([`crate::eval::eval`]) stays the oracle. Whatever a compiled expression does
//! not expect — a value of another type than the plan's, an overflow, an operator or function it
//! has no form for — goes back to the interpreter, which gives the value or the error, worded as
//! always: a compiled closure answers `None` ("ask the interpreter") rather than deciding.
//!
//! What it must not do: give a value the interpreter would not give. The tests evaluate both on
//! random rows, nulls and extremes included.

use std::cmp::Ordering;

use membench_protocol::{BinOp, ColumnType, Expr, Literal};

use crate::eval::{Env, EvalError, POW10, eval, is_true};
use crate::text::Value;

/// `None`: the interpreter decides; `Some(None)`: NULL.
type Out<T> = Option<Option<T>>;
type F<T> = Box<dyn Fn(&[Value]) -> Out<T> + Send + Sync>;

/// An expression compiled for the rows of a plan, with the expression kept for what the
/// compiled form hands back.
pub struct Compiled {
    expr: Expr,
    typed: Option<Typed>,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("expr", &self.expr)
            .field("typed", &self.typed.is_some())
            .finish()
    }
}

impl Compiled {
    /// Compiles `expr` over rows whose columns have the types `columns` (a plan's
    /// [`membench_protocol::ScanColumn`]s in order). An expression reading a group's keys or
    /// aggregates is not a row expression: it is only interpreted.
    pub fn new(expr: &Expr, columns: &[ColumnType]) -> Self {
        Compiled {
            expr: expr.clone(),
            typed: typed(expr, columns),
        }
    }

    /// Whether a compiled form exists (else every row is interpreted).
    pub fn is_compiled(&self) -> bool {
        self.typed.is_some()
    }

    /// Its value on `row`: what [`eval`] gives over `Env::row(row)`.
    #[inline]
    pub fn eval(&self, row: &[Value]) -> Result<Value, EvalError> {
        if let Some(t) = &self.typed
            && let Some(v) = t.value(row)
        {
            return Ok(v);
        }
        eval(&self.expr, Env::row(row))
    }

    /// Its value on `row` as exact units and their scale, when it is compiled as an exact
    /// number (`Some(None)`: NULL); `None`: ask [`Compiled::eval`].
    #[inline]
    pub fn exact(&self, row: &[Value]) -> Option<Option<(i64, u8)>> {
        match &self.typed {
            Some(Typed::Exact { f, scale, .. }) => Some(f(row)?.map(|u| (u, *scale))),
            _ => None,
        }
    }

    /// Whether it is true on `row` (NULL is not): a filter.
    #[inline]
    pub fn holds(&self, row: &[Value]) -> Result<bool, EvalError> {
        if let Some(Typed::Bool(f)) = &self.typed
            && let Some(b) = f(row)
        {
            return Ok(b == Some(true));
        }
        Ok(is_true(&self.eval(row)?))
    }
}

/// A compiled expression, by the type of its value.
enum Typed {
    /// An exact number, `i64` units of `10^-scale`; `int` when the interpreter's value is an
    /// integer ([`Value::Int`]), else a decimal.
    Exact {
        f: F<i64>,
        scale: u8,
        int: bool,
    },
    Float(F<f64>),
    Bool(F<bool>),
    /// Days since 1970-01-01.
    Date(F<i32>),
    Text(Text),
}

/// Text: a column's or a literal's.
enum Text {
    Col(usize),
    Lit(String),
}

impl Text {
    #[inline]
    fn get<'a>(&'a self, row: &'a [Value]) -> Out<&'a str> {
        match self {
            Text::Lit(s) => Some(Some(s)),
            Text::Col(i) => match &row[*i] {
                Value::Str(s) => Some(Some(s)),
                Value::Null => Some(None),
                _ => None,
            },
        }
    }
}

impl Typed {
    /// Its value as the interpreter would give it (`None`: ask the interpreter).
    #[inline]
    fn value(&self, row: &[Value]) -> Option<Value> {
        Some(match self {
            Typed::Exact { f, scale, int } => match f(row)? {
                None => Value::Null,
                Some(v) if *int => Value::Int(v),
                Some(v) => Value::Decimal(v, *scale),
            },
            Typed::Float(f) => f(row)?.map_or(Value::Null, Value::Float),
            Typed::Bool(f) => f(row)?.map_or(Value::Null, Value::Bool),
            Typed::Date(f) => f(row)?.map_or(Value::Null, Value::Date),
            Typed::Text(t) => t
                .get(row)?
                .map_or(Value::Null, |s| Value::Str(s.to_owned())),
        })
    }

    /// Whether its value is NULL.
    fn nullness(self) -> F<bool> {
        match self {
            Typed::Exact { f, .. } => Box::new(move |r| Some(Some(f(r)?.is_none()))),
            Typed::Float(f) => Box::new(move |r| Some(Some(f(r)?.is_none()))),
            Typed::Bool(f) => Box::new(move |r| Some(Some(f(r)?.is_none()))),
            Typed::Date(f) => Box::new(move |r| Some(Some(f(r)?.is_none()))),
            Typed::Text(t) => Box::new(move |r| Some(Some(t.get(r)?.is_none()))),
        }
    }

    /// As a float, as the interpreter converts numbers (`None`: not a number).
    fn floaty(self) -> Option<F<f64>> {
        Some(match self {
            Typed::Float(f) => f,
            Typed::Exact { f, int: true, .. } => Box::new(move |r| Some(f(r)?.map(|v| v as f64))),
            Typed::Exact { f, scale, .. } => {
                let d = POW10[scale as usize] as f64;
                Box::new(move |r| Some(f(r)?.map(|v| v as f64 / d)))
            }
            _ => return None,
        })
    }
}

/// The compiled form of `e`, if it has one.
fn typed(e: &Expr, cols: &[ColumnType]) -> Option<Typed> {
    Some(match e {
        Expr::Col(i) => column(*i, *cols.get(*i)?)?,
        Expr::Lit(l) => literal(l)?,
        Expr::Neg(x) => match typed(x, cols)? {
            Typed::Exact { f, scale, int } => Typed::Exact {
                f: Box::new(move |r| {
                    Some(match f(r)? {
                        Some(v) => Some(v.checked_neg()?),
                        None => None,
                    })
                }),
                scale,
                int,
            },
            Typed::Float(f) => Typed::Float(Box::new(move |r| Some(f(r)?.map(|v| -v)))),
            _ => return None,
        },
        Expr::Not(x) => match typed(x, cols)? {
            Typed::Bool(f) => Typed::Bool(Box::new(move |r| Some(f(r)?.map(|b| !b)))),
            _ => return None,
        },
        Expr::Bin(BinOp::And, l, r) => {
            let (Typed::Bool(a), Typed::Bool(b)) = (typed(l, cols)?, typed(r, cols)?) else {
                return None;
            };
            Typed::Bool(Box::new(move |row| {
                let x = a(row)?;
                if x == Some(false) {
                    return Some(x);
                }
                Some(match (x, b(row)?) {
                    (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                })
            }))
        }
        Expr::Bin(BinOp::Or, l, r) => {
            let (Typed::Bool(a), Typed::Bool(b)) = (typed(l, cols)?, typed(r, cols)?) else {
                return None;
            };
            Typed::Bool(Box::new(move |row| {
                let x = a(row)?;
                if x == Some(true) {
                    return Some(x);
                }
                Some(match (x, b(row)?) {
                    (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                })
            }))
        }
        Expr::Bin(op @ (BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Mod), l, r) => {
            arith(*op, typed(l, cols)?, typed(r, cols)?)?
        }
        Expr::Bin(BinOp::Div, l, r) => {
            let (a, b) = (typed(l, cols)?.floaty()?, typed(r, cols)?.floaty()?);
            Typed::Float(Box::new(move |row| {
                let (x, y) = (a(row)?, b(row)?);
                Some(match (x, y) {
                    (Some(x), Some(y)) => Some(x / y),
                    _ => None,
                })
            }))
        }
        Expr::Bin(
            op @ (BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq),
            l,
            r,
        ) => {
            let c = cmp(typed(l, cols)?, typed(r, cols)?)?;
            let op = *op;
            Typed::Bool(Box::new(move |row| {
                Some(c(row)?.map(|o| match op {
                    BinOp::Eq => o == Ordering::Equal,
                    BinOp::NotEq => o != Ordering::Equal,
                    BinOp::Lt => o == Ordering::Less,
                    BinOp::LtEq => o != Ordering::Greater,
                    BinOp::Gt => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                }))
            }))
        }
        Expr::IsNull { expr, negated } => {
            let n = typed(expr, cols)?.nullness();
            let negated = *negated;
            Typed::Bool(Box::new(move |r| Some(Some(n(r)?? != negated))))
        }
        Expr::Between {
            expr,
            low,
            high,
            negated,
        } => {
            let ge = cmp(typed(expr, cols)?, typed(low, cols)?)?;
            let le = cmp(typed(expr, cols)?, typed(high, cols)?)?;
            let negated = *negated;
            Typed::Bool(Box::new(move |row| {
                let ge = ge(row)?.map(|o| o != Ordering::Less);
                let le = le(row)?.map(|o| o != Ordering::Greater);
                let inside = match (ge, le) {
                    (Some(false), _) | (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                };
                Some(inside.map(|b| b != negated))
            }))
        }
        _ => return None,
    })
}

/// Column `i`, of type `ty`: a value of another type goes to the interpreter.
fn column(i: usize, ty: ColumnType) -> Option<Typed> {
    Some(match ty {
        ColumnType::Int64 => Typed::Exact {
            f: Box::new(move |r| match r[i] {
                Value::Int(v) => Some(Some(v)),
                Value::Null => Some(None),
                _ => None,
            }),
            scale: 0,
            int: true,
        },
        ColumnType::Decimal { scale } => Typed::Exact {
            f: Box::new(move |r| match r[i] {
                Value::Decimal(v, s) if s == scale => Some(Some(v)),
                Value::Null => Some(None),
                _ => None,
            }),
            scale,
            int: false,
        },
        ColumnType::Float64 => Typed::Float(Box::new(move |r| match r[i] {
            Value::Float(v) => Some(Some(v)),
            Value::Null => Some(None),
            _ => None,
        })),
        ColumnType::Bool => Typed::Bool(Box::new(move |r| match r[i] {
            Value::Bool(v) => Some(Some(v)),
            Value::Null => Some(None),
            _ => None,
        })),
        ColumnType::Date => Typed::Date(Box::new(move |r| match r[i] {
            Value::Date(v) => Some(Some(v)),
            Value::Null => Some(None),
            _ => None,
        })),
        ColumnType::String => Typed::Text(Text::Col(i)),
        ColumnType::Timestamp { .. } => return None,
    })
}

fn literal(l: &Literal) -> Option<Typed> {
    Some(match *l {
        Literal::Int(v) => Typed::Exact {
            f: Box::new(move |_| Some(Some(v))),
            scale: 0,
            int: true,
        },
        Literal::Decimal { units, scale } if (scale as usize) < POW10.len() => Typed::Exact {
            f: Box::new(move |_| Some(Some(units))),
            scale,
            int: false,
        },
        Literal::Float(v) => Typed::Float(Box::new(move |_| Some(Some(v)))),
        Literal::Bool(v) => Typed::Bool(Box::new(move |_| Some(Some(v)))),
        Literal::Date(v) => Typed::Date(Box::new(move |_| Some(Some(v)))),
        Literal::Str(ref s) => Typed::Text(Text::Lit(s.clone())),
        _ => return None,
    })
}

/// `+ - * %` as the interpreter computes them: integers stay integers, exact numbers exact (a
/// product's scale the sum of its operands', a sum's the larger), a float on either side makes
/// a float; `%` by zero is NULL; an overflow goes to the interpreter (which words the error).
fn arith(op: BinOp, a: Typed, b: Typed) -> Option<Typed> {
    use BinOp::*;
    Some(match (a, b) {
        (
            Typed::Exact {
                f: x,
                scale: sx,
                int: ix,
            },
            Typed::Exact {
                f: y,
                scale: sy,
                int: iy,
            },
        ) => {
            if ix && iy {
                return Some(Typed::Exact {
                    f: Box::new(move |r| {
                        let (Some(x), Some(y)) = (x(r)?, y(r)?) else {
                            return Some(None);
                        };
                        Some(Some(match op {
                            Add => x.checked_add(y)?,
                            Sub => x.checked_sub(y)?,
                            Mul => x.checked_mul(y)?,
                            _ if y == 0 => return Some(None),
                            _ => x.checked_rem(y)?,
                        }))
                    }),
                    scale: 0,
                    int: true,
                });
            }
            if op == Mul {
                let s = sx + sy;
                if s as usize >= POW10.len() {
                    return None;
                }
                return Some(Typed::Exact {
                    f: Box::new(move |r| {
                        let (Some(x), Some(y)) = (x(r)?, y(r)?) else {
                            return Some(None);
                        };
                        Some(Some(x.checked_mul(y)?))
                    }),
                    scale: s,
                    int: false,
                });
            }
            let s = sx.max(sy);
            let (mx, my) = (POW10[(s - sx) as usize], POW10[(s - sy) as usize]);
            Typed::Exact {
                f: Box::new(move |r| {
                    let (Some(x), Some(y)) = (x(r)?, y(r)?) else {
                        return Some(None);
                    };
                    let (x, y) = (x.checked_mul(mx)?, y.checked_mul(my)?);
                    Some(Some(match op {
                        Add => x.checked_add(y)?,
                        Sub => x.checked_sub(y)?,
                        _ if y == 0 => return Some(None),
                        _ => x.checked_rem(y)?,
                    }))
                }),
                scale: s,
                int: false,
            }
        }
        (a, b) => {
            let (x, y) = (a.floaty()?, b.floaty()?);
            Typed::Float(Box::new(move |r| {
                let (Some(x), Some(y)) = (x(r)?, y(r)?) else {
                    return Some(None);
                };
                Some(Some(match op {
                    Add => x + y,
                    Sub => x - y,
                    Mul => x * y,
                    _ if y == 0.0 => return Some(None),
                    _ => x % y,
                }))
            }))
        }
    })
}

/// SQL comparison of two compiled values as [`crate::eval::compare`] makes it (NULL when either
/// is); `None` for kinds it does not compile.
fn cmp(a: Typed, b: Typed) -> Option<F<Ordering>> {
    Some(match (a, b) {
        (
            Typed::Exact {
                f: x, scale: sx, ..
            },
            Typed::Exact {
                f: y, scale: sy, ..
            },
        ) => {
            let s = sx.max(sy);
            let (mx, my) = (
                POW10[(s - sx) as usize] as i128,
                POW10[(s - sy) as usize] as i128,
            );
            Box::new(move |r| {
                let (x, y) = (x(r)?, y(r)?);
                Some(match (x, y) {
                    (Some(x), Some(y)) => Some((x as i128 * mx).cmp(&(y as i128 * my))),
                    _ => None,
                })
            })
        }
        (Typed::Date(x), Typed::Date(y)) => Box::new(move |r| {
            let (x, y) = (x(r)?, y(r)?);
            Some(x.zip(y).map(|(x, y)| x.cmp(&y)))
        }),
        (Typed::Bool(x), Typed::Bool(y)) => Box::new(move |r| {
            let (x, y) = (x(r)?, y(r)?);
            Some(x.zip(y).map(|(x, y)| x.cmp(&y)))
        }),
        (Typed::Text(x), Typed::Text(y)) => Box::new(move |r| {
            let (x, y) = (x.get(r)?, y.get(r)?);
            Some(x.zip(y).map(|(x, y)| x.as_bytes().cmp(y.as_bytes())))
        }),
        (
            a @ (Typed::Float(_) | Typed::Exact { .. }),
            b @ (Typed::Float(_) | Typed::Exact { .. }),
        ) => {
            let (x, y) = (a.floaty()?, b.floaty()?);
            Box::new(move |r| {
                let (x, y) = (x(r)?, y(r)?);
                Some(x.zip(y).map(|(x, y)| (x + 0.0).total_cmp(&(y + 0.0))))
            })
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn pick<T: Clone>(&mut self, v: &[T]) -> T {
            v[self.below(v.len() as u64) as usize].clone()
        }
    }

    const TYPES: [ColumnType; 7] = [
        ColumnType::Int64,
        ColumnType::Decimal { scale: 2 },
        ColumnType::Float64,
        ColumnType::Bool,
        ColumnType::Date,
        ColumnType::String,
        ColumnType::Decimal { scale: 0 },
    ];

    fn int(r: &mut Rng) -> i64 {
        r.pick(&[
            0,
            1,
            -1,
            7,
            -13,
            250,
            100_000,
            i64::MAX,
            i64::MIN,
            4_000_000_000,
        ])
    }

    /// A value of `ty`, NULL now and then, and now and then one of another type than the
    /// plan says (what the compiled form must hand to the interpreter).
    fn value(r: &mut Rng, ty: ColumnType) -> Value {
        match r.below(10) {
            0 => return Value::Null,
            1 => return r.pick(&[Value::Decimal(5, 3), Value::Int(3), Value::Str("x".into())]),
            _ => {}
        }
        match ty {
            ColumnType::Int64 => Value::Int(int(r)),
            ColumnType::Decimal { scale } => Value::Decimal(int(r), scale),
            ColumnType::Float64 => Value::Float(r.pick(&[0.0, -0.0, 1.5, -2.25, 1e300, f64::NAN])),
            ColumnType::Bool => Value::Bool(r.below(2) == 0),
            ColumnType::Date => Value::Date(r.pick(&[0, 1, -1, 19_000, 20_000])),
            _ => Value::Str(r.pick(&["", "a", "b", "garden", "Ä"]).into()),
        }
    }

    fn literal(r: &mut Rng) -> Literal {
        match r.below(8) {
            0 => Literal::Int(int(r)),
            1 => Literal::Decimal {
                units: int(r),
                scale: r.pick(&[0, 1, 2, 9]),
            },
            2 => Literal::Float(r.pick(&[0.0, 2.5, -1.0, f64::INFINITY])),
            3 => Literal::Bool(r.below(2) == 0),
            4 => Literal::Date(r.pick(&[0, 19_000])),
            5 => Literal::Str(r.pick(&["a", "garden", ""]).into()),
            6 => Literal::Null,
            _ => Literal::Int(r.below(5) as i64),
        }
    }

    fn expr(r: &mut Rng, depth: u32) -> Expr {
        let b = |r: &mut Rng, d| Box::new(expr(r, d));
        if depth == 0 || r.below(4) == 0 {
            return match r.below(3) {
                0 => Expr::Lit(literal(r)),
                _ => Expr::Col(r.below(TYPES.len() as u64) as usize),
            };
        }
        let d = depth - 1;
        use BinOp::*;
        match r.below(7) {
            0 => Expr::Neg(b(r, d)),
            1 => Expr::Not(b(r, d)),
            2 => Expr::IsNull {
                expr: b(r, d),
                negated: r.below(2) == 0,
            },
            3 => Expr::Between {
                expr: b(r, d),
                low: b(r, d),
                high: b(r, d),
                negated: r.below(2) == 0,
            },
            4 => Expr::Bin(r.pick(&[And, Or]), b(r, d), b(r, d)),
            5 => Expr::Bin(r.pick(&[Eq, NotEq, Lt, LtEq, Gt, GtEq]), b(r, d), b(r, d)),
            _ => Expr::Bin(r.pick(&[Add, Sub, Mul, Mod, Div]), b(r, d), b(r, d)),
        }
    }

    #[test]
    fn compiled_expressions_give_what_the_interpreter_gives() {
        let mut r = Rng(0x9E37_79B9_7F4A_7C15);
        let (mut compiled, mut rows) = (0, 0);
        for _ in 0..4000 {
            let e = expr(&mut r, 3);
            let c = Compiled::new(&e, &TYPES);
            compiled += usize::from(c.is_compiled());
            for _ in 0..20 {
                let row: Vec<Value> = TYPES.iter().map(|&t| value(&mut r, t)).collect();
                let want = eval(&e, Env::row(&row));
                assert_eq!(
                    format!("{:?}", c.eval(&row)),
                    format!("{want:?}"),
                    "{e:?} on {row:?}"
                );
                if let Some(exact) = c.exact(&row) {
                    let as_value = match exact {
                        None => Value::Null,
                        Some((u, 0)) if matches!(want, Ok(Value::Int(_))) => Value::Int(u),
                        Some((u, s)) => Value::Decimal(u, s),
                    };
                    assert_eq!(
                        Ok(as_value),
                        want.clone(),
                        "{e:?} as exact units on {row:?}"
                    );
                }
                assert_eq!(
                    c.holds(&row),
                    want.map(|v| is_true(&v)),
                    "{e:?} as a filter on {row:?}"
                );
                rows += 1;
            }
        }
        // Most random expressions mix types the binder would refuse; enough still compile
        // for the comparison to mean something.
        eprintln!("{compiled} of 4000 expressions compiled, {rows} rows compared");
        assert!(
            compiled > 800,
            "only {compiled} of 4000 expressions compiled"
        );
    }

    #[test]
    fn the_built_in_workloads_expressions_compile() {
        let types = [ColumnType::Int64, ColumnType::Decimal { scale: 2 }];
        let total = Expr::Bin(BinOp::Mul, Box::new(Expr::Col(0)), Box::new(Expr::Col(1)));
        let above = Expr::Bin(
            BinOp::Gt,
            Box::new(total.clone()),
            Box::new(Expr::Lit(Literal::Decimal {
                units: 400_000,
                scale: 2,
            })),
        );
        for e in [&total, &above] {
            assert!(Compiled::new(e, &types).is_compiled(), "{e:?}");
        }
        let row = [Value::Int(3), Value::Decimal(150_001, 2)];
        assert_eq!(
            Compiled::new(&total, &types).eval(&row),
            Ok(Value::Decimal(450_003, 2))
        );
        assert_eq!(Compiled::new(&above, &types).holds(&row), Ok(true));
        // An overflow is the interpreter's error, worded as always.
        let big = [Value::Int(i64::MAX), Value::Decimal(2, 2)];
        assert_eq!(
            Compiled::new(&total, &types).eval(&big),
            eval(&total, Env::row(&big))
        );
        assert!(Compiled::new(&total, &types).eval(&big).is_err());
    }
}
