//! Reading a user's table for a plan: each row's used columns parsed by the table's schema (the
//! others only framed), with every error located — a type break as `inspect` reports it, an
//! expression's error (overflow, a bad CAST) at the file and line of the row — and the two ways
//! the kernel strategies run a plan through the generic operators: streaming (rows folded as
//! they are read) and load-all (every row parsed into memory first, then folded).

use std::fmt;
use std::path::PathBuf;

use membench_protocol::{ColumnType, Plan};

use crate::error::InputError;
use crate::eval::EvalError;
use crate::exec::{Executor, HashJoin, QueryAnswer};
use crate::infer::{FileRecords, Table};
use crate::source::open_text;
use crate::text::{Value, parse_value};

/// Why a query could not be answered.
#[derive(Debug)]
pub enum QueryError {
    Input(InputError),
    /// An expression failed on a row (`None`: after the rows, e.g. a sum's overflow).
    Eval {
        at: Option<(PathBuf, u64)>,
        error: EvalError,
    },
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::Input(e) => e.fmt(f),
            QueryError::Eval {
                at: Some((p, line)),
                error,
            } => write!(f, "{}:{line}: {error}", p.display()),
            QueryError::Eval { at: None, error } => error.fmt(f),
        }
    }
}

impl std::error::Error for QueryError {}

impl From<InputError> for QueryError {
    fn from(e: InputError) -> Self {
        QueryError::Input(e)
    }
}

impl From<EvalError> for QueryError {
    fn from(error: EvalError) -> Self {
        QueryError::Eval { at: None, error }
    }
}

/// Reads every row of `table`, parsing the schema columns `wanted` (in that order) and handing
/// their values to `row`. Returns how many rows were read.
pub fn scan(
    table: &Table,
    wanted: &[usize],
    mut row: impl FnMut(&[Value]) -> Result<(), EvalError>,
) -> Result<u64, QueryError> {
    let names = table.names();
    let mut values = vec![Value::Null; wanted.len()];
    let mut rows = 0;
    for file in &table.files {
        let mut records = FileRecords::open(file, open_text(file)?, table.delimiter, &names)?;
        while let Some(rec) = records.next()? {
            for (slot, &c) in values.iter_mut().zip(wanted) {
                let f = rec.field(c);
                let ty = table.schema.columns[c].ty;
                if table.nulls.is_null(f) {
                    *slot = Value::Null;
                    continue;
                }
                // Text reuses the slot's allocation from the previous row.
                if ty == ColumnType::String
                    && let Value::Str(s) = slot
                    && let Ok(t) = std::str::from_utf8(f)
                {
                    s.clear();
                    s.push_str(t);
                    continue;
                }
                *slot = parse_value(f, ty)
                    .map_err(|why| table.type_error(file, rec.line, c, f, why))?;
            }
            row(&values).map_err(|error| QueryError::Eval {
                at: Some((file.clone(), rec.line)),
                error,
            })?;
            rows += 1;
        }
    }
    Ok(rows)
}

/// An expression's error on the `index`-th row of a table loaded whole, located by reading the
/// table again up to that row (paid only when a query fails).
fn located(table: &Table, index: usize, error: EvalError) -> QueryError {
    let mut seen = 0;
    let names = table.names();
    for file in &table.files {
        let Ok(text) = open_text(file) else { break };
        let Ok(mut records) = FileRecords::open(file, text, table.delimiter, &names) else {
            break;
        };
        while let Ok(Some(rec)) = records.next() {
            if seen == index {
                return QueryError::Eval {
                    at: Some((file.clone(), rec.line)),
                    error,
                };
            }
            seen += 1;
        }
    }
    QueryError::Eval { at: None, error }
}

/// The schema columns of input `input` the plan reads, in [`HashJoin::columns_of`] order.
fn wanted(plan: &Plan, input: usize) -> Vec<usize> {
    plan.columns
        .iter()
        .filter(|c| c.input == input)
        .map(|c| c.column)
        .collect()
}

/// How the rows reach the operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// Each row folded as it is read: memory is what the operators hold.
    Streaming,
    /// Every row of every input parsed into memory first (`load-all`), then folded.
    LoadAll,
}

/// Runs a plan over its tables (`tables[i]` is `plan.inputs[i]`).
pub fn run(plan: &Plan, tables: &[&Table], reading: Reading) -> Result<QueryAnswer, QueryError> {
    let mut exec = Executor::new(plan);
    let loaded = |i: usize| -> Result<Vec<Vec<Value>>, QueryError> {
        let mut all = Vec::new();
        scan(tables[i], &wanted(plan, i), |r| {
            all.push(r.to_vec());
            Ok(())
        })?;
        Ok(all)
    };
    match (plan.join.is_some(), reading) {
        (false, Reading::Streaming) => {
            scan(tables[0], &wanted(plan, 0), |r| exec.push(r))?;
        }
        (false, Reading::LoadAll) => {
            for (i, r) in loaded(0)?.iter().enumerate() {
                exec.push(r).map_err(|e| located(tables[0], i, e))?;
            }
        }
        (true, _) => {
            let mut join = HashJoin::new(plan);
            let mut push = |r: &[Value]| exec.push(r);
            match reading {
                Reading::Streaming => {
                    scan(tables[1], &wanted(plan, 1), |r| {
                        join.build(r.to_vec());
                        Ok(())
                    })?;
                    scan(tables[0], &wanted(plan, 0), |r| join.probe(r, &mut push))?;
                }
                Reading::LoadAll => {
                    let (left, right) = (loaded(0)?, loaded(1)?);
                    for r in right {
                        join.build(r);
                    }
                    for (i, r) in left.iter().enumerate() {
                        join.probe(r, &mut push)
                            .map_err(|e| located(tables[0], i, e))?;
                    }
                }
            }
        }
    }
    Ok(exec.finish()?)
}
