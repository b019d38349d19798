//! The generic operators every kernel strategy runs a [`Plan`] with: filter, project, hash
//! aggregate, top-k, hash join (build the joined input, stream the `FROM` input), and the
//! canonical [`QueryAnswer`]. They take rows from whoever reads (a stream, all rows in memory,
//! chunks, threads) and hold only what the question needs: O(groups) for a group-by, O(k) for
//! an ordered `LIMIT k`, O(build side) for a join, all rows only for an unlimited projection.
//!
//! Sums are exact: integers and decimals in 128 bits, floats in Shewchuk's non-overlapping
//! partials (Python's `math.fsum`), rounded once at the end — so a sum does not depend on the
//! order rows arrive in, and every kernel strategy gives the same bits.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use membench_protocol::{AggFunc, Aggregate, ColumnType, Expr, JoinKind, Plan};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::compile::Compiled;
use crate::eval::{Env, EvalError, cast, eval, is_true, total_order};
use crate::text::Value;

type Result<T> = std::result::Result<T, EvalError>;

/// An exact float sum (Shewchuk's partials), rounded correctly once at the end.
#[derive(Clone, Debug, Default)]
pub struct ExactSum {
    partials: Vec<f64>,
}

impl ExactSum {
    pub fn add(&mut self, mut x: f64) {
        let mut i = 0;
        for j in 0..self.partials.len() {
            let mut y = self.partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                self.partials[i] = lo;
                i += 1;
            }
            x = hi;
        }
        self.partials.truncate(i);
        self.partials.push(x);
    }

    pub fn merge(&mut self, other: &ExactSum) {
        for &p in &other.partials {
            self.add(p);
        }
    }

    /// The correctly rounded sum.
    pub fn value(&self) -> f64 {
        let p = &self.partials;
        let Some(mut n) = p.len().checked_sub(1) else {
            return 0.0;
        };
        let mut hi = p[n];
        let mut lo = 0.0;
        while n > 0 {
            n -= 1;
            let x = hi;
            let y = p[n];
            hi = x + y;
            let yr = hi - x;
            lo = y - yr;
            if lo != 0.0 {
                break;
            }
        }
        // Half-way cases: look at the next partial's sign (as `math.fsum` does).
        if n > 0 && ((lo < 0.0 && p[n - 1] < 0.0) || (lo > 0.0 && p[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            if y == x - hi {
                hi = x;
            }
        }
        hi
    }
}

/// One aggregate's running state.
#[derive(Clone, Debug)]
enum State {
    Count(i64),
    /// Integers or decimals (units at the argument's scale), exactly.
    SumExact {
        sum: i128,
        seen: bool,
    },
    SumFloat {
        sum: ExactSum,
        seen: bool,
    },
    Min(Value),
    Max(Value),
    Avg {
        exact: i128,
        scale: u8,
        float: ExactSum,
        n: i64,
    },
    /// `DISTINCT`: the distinct non-null values, folded at the end.
    Distinct(FxHashSet<Value>),
}

fn new_state(a: &Aggregate, arg_ty: Option<ColumnType>) -> State {
    if a.distinct {
        return State::Distinct(FxHashSet::default());
    }
    match a.func {
        AggFunc::Count => State::Count(0),
        AggFunc::Sum if a.ty == ColumnType::Float64 => State::SumFloat {
            sum: ExactSum::default(),
            seen: false,
        },
        AggFunc::Sum => State::SumExact {
            sum: 0,
            seen: false,
        },
        AggFunc::Min => State::Min(Value::Null),
        AggFunc::Max => State::Max(Value::Null),
        AggFunc::Avg => State::Avg {
            exact: 0,
            scale: match arg_ty {
                Some(ColumnType::Decimal { scale }) => scale,
                _ => 0,
            },
            float: ExactSum::default(),
            n: 0,
        },
    }
}

/// A new group's aggregate states.
fn fresh_states(g: &membench_protocol::Group, arg_types: &[Option<ColumnType>]) -> Vec<State> {
    g.aggregates
        .iter()
        .zip(arg_types)
        .map(|(a, t)| new_state(a, *t))
        .collect()
}

/// Folds one row into its group's aggregate states (`args`: each aggregate's compiled argument).
fn fold_states(
    states: &mut [State],
    g: &membench_protocol::Group,
    args: &[Option<Compiled>],
    row: &[Value],
) -> Result<()> {
    for ((s, a), arg) in states.iter_mut().zip(&g.aggregates).zip(args) {
        // An exact sum of an argument compiled as an exact number: no value built.
        if let (State::SumExact { sum, seen }, Some(c)) = (&mut *s, arg)
            && let Some(v) = c.exact(row)
        {
            if let Some((units, from)) = v {
                let scale = match a.ty {
                    ColumnType::Decimal { scale } => scale,
                    _ => 0,
                };
                *sum += rescale(units.into(), from, scale);
                *seen = true;
            }
            continue;
        }
        let v = match arg {
            Some(e) => Some(e.eval(row)?),
            None => None,
        };
        s.add(v, a.ty);
    }
    Ok(())
}

/// A plan's row expressions, compiled once and shared by an executor's forks.
#[derive(Debug)]
struct RowExprs {
    filter: Option<Compiled>,
    /// Each output's (an ungrouped plan's).
    outputs: Vec<Compiled>,
    /// Each group key's.
    keys: Vec<Compiled>,
    /// The row column that is the only group key, if it is one (the row's value is then the
    /// key, looked up without a copy).
    single_key: Option<usize>,
    /// Each aggregate's argument.
    args: Vec<Option<Compiled>>,
}

impl RowExprs {
    fn of(plan: &Plan) -> Self {
        let types: Vec<ColumnType> = plan.columns.iter().map(|c| c.ty).collect();
        let c = |e: &Expr| Compiled::new(e, &types);
        let (keys, args) = match &plan.group {
            Some(g) => (
                g.keys.iter().map(|k| c(&k.expr)).collect(),
                g.aggregates.iter().map(|a| a.arg.as_ref().map(c)).collect(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        let single_key = match plan.group.as_ref().map(|g| g.keys.as_slice()) {
            Some([k]) => match k.expr {
                Expr::Col(i) => Some(i),
                _ => None,
            },
            _ => None,
        };
        RowExprs {
            single_key,
            filter: plan.filter.as_ref().map(c),
            outputs: match plan.group {
                Some(_) => Vec::new(),
                None => plan.output.iter().map(|o| c(&o.expr)).collect(),
            },
            keys,
            args,
        }
    }
}

fn units(v: &Value, scale: u8) -> i128 {
    match v {
        Value::Int(i) => rescale((*i).into(), 0, scale),
        Value::Decimal(u, s) => rescale((*u).into(), *s, scale),
        _ => 0,
    }
}

/// `units` of `10^-from` as units of `10^-to` (a sum's scale is at least its values').
#[inline]
fn rescale(units: i128, from: u8, to: u8) -> i128 {
    units * 10i128.pow((to - from.min(to)) as u32)
}

impl State {
    /// Adds one row's argument (`None`: `count(*)`).
    fn add(&mut self, v: Option<Value>, ty: ColumnType) {
        let Some(v) = v else {
            if let State::Count(n) = self {
                *n += 1;
            }
            return;
        };
        if v.is_null() {
            return;
        }
        match self {
            State::Count(n) => *n += 1,
            State::SumExact { sum, seen } => {
                let scale = match ty {
                    ColumnType::Decimal { scale } => scale,
                    _ => 0,
                };
                *sum += units(&v, scale);
                *seen = true;
            }
            State::SumFloat { sum, seen } => {
                sum.add(as_f64(&v));
                *seen = true;
            }
            State::Min(m) => {
                if m.is_null() || total_order(&v, m) == Ordering::Less {
                    *m = v;
                }
            }
            State::Max(m) => {
                if m.is_null() || total_order(&v, m) == Ordering::Greater {
                    *m = v;
                }
            }
            State::Avg {
                exact,
                scale,
                float,
                n,
            } => {
                match v {
                    Value::Float(f) => float.add(f),
                    _ => *exact += units(&v, *scale),
                }
                *n += 1;
            }
            State::Distinct(set) => {
                set.insert(v);
            }
        }
    }

    fn merge(&mut self, other: State) {
        match (self, other) {
            (State::Count(a), State::Count(b)) => *a += b,
            (State::SumExact { sum, seen }, State::SumExact { sum: s, seen: e }) => {
                *sum += s;
                *seen |= e;
            }
            (State::SumFloat { sum, seen }, State::SumFloat { sum: s, seen: e }) => {
                sum.merge(&s);
                *seen |= e;
            }
            (State::Min(m), State::Min(v)) => {
                if m.is_null() || (!v.is_null() && total_order(&v, m) == Ordering::Less) {
                    *m = v;
                }
            }
            (State::Max(m), State::Max(v)) => {
                if m.is_null() || (!v.is_null() && total_order(&v, m) == Ordering::Greater) {
                    *m = v;
                }
            }
            (
                State::Avg {
                    exact, float, n, ..
                },
                State::Avg {
                    exact: e,
                    float: f,
                    n: k,
                    ..
                },
            ) => {
                *exact += e;
                float.merge(&f);
                *n += k;
            }
            (State::Distinct(a), State::Distinct(b)) => a.extend(b),
            _ => unreachable!("one aggregate's states"),
        }
    }

    fn finish(self, a: &Aggregate, arg_ty: Option<ColumnType>) -> Result<Value> {
        Ok(match self {
            State::Count(n) => Value::Int(n),
            State::SumExact { seen: false, .. } | State::SumFloat { seen: false, .. } => {
                Value::Null
            }
            State::SumExact { sum, .. } => {
                let v = i64::try_from(sum).map_err(|_| {
                    EvalError("sum overflows 64 bits (CAST the column to double)".into())
                })?;
                match a.ty {
                    ColumnType::Decimal { scale } => Value::Decimal(v, scale),
                    _ => Value::Int(v),
                }
            }
            State::SumFloat { sum, .. } => Value::Float(sum.value()),
            State::Min(v) | State::Max(v) => v,
            State::Avg { n: 0, .. } => Value::Null,
            State::Avg {
                exact,
                scale,
                float,
                n,
            } => {
                if arg_ty == Some(ColumnType::Float64) {
                    Value::Float(float.value() / n as f64)
                } else {
                    Value::Float(exact as f64 / 10f64.powi(scale as i32) / n as f64)
                }
            }
            State::Distinct(set) => {
                let plain = Aggregate {
                    distinct: false,
                    ..a.clone()
                };
                let mut s = new_state(&plain, arg_ty);
                for v in set {
                    s.add(Some(v), a.ty);
                }
                s.finish(&plain, arg_ty)?
            }
        })
    }
}

fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Decimal(u, s) => *u as f64 / 10f64.powi(*s as i32),
        Value::Float(f) => *f,
        _ => 0.0,
    }
}

/// A query's answer: a table, in canonical order.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryAnswer {
    pub columns: Vec<String>,
    pub types: Vec<Option<ColumnType>>,
    pub rows: Vec<Vec<Value>>,
    /// The result went to a file (`--output`): its rows and digest instead of `rows`.
    pub written: Option<crate::output::Written>,
}

/// The rows an unordered or ordered projection keeps: all of them, or the best k.
enum Rows {
    All(Vec<Vec<Value>>),
    TopK(BinaryHeap<Ranked>),
}

/// An output row ordered by the plan's `ORDER BY`, ties by every column (so which rows a
/// `LIMIT` keeps does not depend on the order they came in).
struct Ranked {
    row: Vec<Value>,
    order: std::sync::Arc<Vec<membench_protocol::OrderKey>>,
}

fn rank(order: &[membench_protocol::OrderKey], a: &[Value], b: &[Value]) -> Ordering {
    for k in order {
        let (x, y) = (&a[k.output], &b[k.output]);
        let o = match (x == &Value::Null, y == &Value::Null) {
            (true, true) => Ordering::Equal,
            (true, false) => {
                if k.nulls_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (false, true) => {
                if k.nulls_first {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            _ => {
                let o = total_order(x, y);
                if k.desc { o.reverse() } else { o }
            }
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    for (x, y) in a.iter().zip(b) {
        let o = total_order(x, y);
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

impl PartialEq for Ranked {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Ranked {
    fn cmp(&self, o: &Self) -> Ordering {
        rank(&self.order, &self.row, &o.row)
    }
}

/// Runs a plan over rows pushed to it (each row: the plan's columns, in order).
pub struct Executor<'p> {
    plan: &'p Plan,
    /// The argument type of each aggregate.
    arg_types: Vec<Option<ColumnType>>,
    groups: FxHashMap<Vec<Value>, Vec<State>>,
    rows: Rows,
    order: std::sync::Arc<Vec<membench_protocol::OrderKey>>,
    /// Reused buffers: a row's group key, a row's outputs.
    key: Vec<Value>,
    out: Vec<Value>,
    /// Where the result goes instead of the answer (`--output`).
    output: Option<crate::output::ResultFile>,
    exprs: std::sync::Arc<RowExprs>,
}

impl std::fmt::Debug for Executor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("groups", &self.groups.len())
            .finish()
    }
}

impl<'p> Executor<'p> {
    pub fn new(plan: &'p Plan) -> Self {
        Executor::with_exprs(plan, std::sync::Arc::new(RowExprs::of(plan)))
    }

    /// An executor of `plan` with its row expressions compiled already (shared by forks).
    fn with_exprs(plan: &'p Plan, exprs: std::sync::Arc<RowExprs>) -> Self {
        let arg_types = plan
            .group
            .as_ref()
            .map(|g| g.aggregates.iter().map(|a| a.arg_ty).collect())
            .unwrap_or_default();
        let order = std::sync::Arc::new(plan.order.clone());
        let rows = match plan.limit {
            // A grouped plan's output rows too: a spilling aggregation settles its groups
            // partition by partition, and only the best `LIMIT` rows need be kept.
            Some(_) => Rows::TopK(BinaryHeap::new()),
            _ => Rows::All(Vec::new()),
        };
        Executor {
            plan,
            arg_types,
            groups: FxHashMap::default(),
            rows,
            order,
            key: Vec::new(),
            out: Vec::new(),
            output: None,
            exprs,
        }
    }

    /// An executor whose result is written to `file` instead of kept (a result of one row per
    /// input row as the rows come, any other when it finishes).
    pub fn writing(plan: &'p Plan, file: crate::output::ResultFile) -> Self {
        let mut e = Executor::new(plan);
        e.output = Some(file);
        e
    }

    /// A new executor of the same plan writing to the same file (a partition's, a worker's).
    pub fn fork(&self) -> Self {
        let mut e = Executor::with_exprs(self.plan, self.exprs.clone());
        e.output = self.output.clone();
        e
    }

    /// Whether its result goes to a file (`--output`).
    pub fn writes_file(&self) -> bool {
        self.output.is_some()
    }

    /// Whether rows are written as they come (no grouping, ordering or limit).
    fn streams_out(&self) -> bool {
        self.output.is_some()
            && self.plan.group.is_none()
            && self.plan.order.is_empty()
            && self.plan.limit.is_none()
    }

    /// Writes one output row (every output, hidden ones included) to the file.
    fn write_out(&self, out: &[Value]) -> Result<()> {
        let file = self.output.as_ref().expect("an output file");
        let row: Vec<Value> = self
            .plan
            .output
            .iter()
            .zip(out)
            .filter(|(o, _)| !o.hidden)
            .map(|(o, v)| match o.ty {
                Some(t) => cast(v.clone(), t),
                None => Ok(Value::Null),
            })
            .collect::<Result<_>>()?;
        file.write(&row).map_err(EvalError)
    }

    /// How many groups it holds (for memory assertions and progress).
    pub fn groups(&self) -> usize {
        self.groups.len()
    }

    /// Filters one row and folds it in.
    pub fn push(&mut self, row: &[Value]) -> Result<()> {
        if let Some(f) = &self.exprs.filter
            && !f.holds(row)?
        {
            return Ok(());
        }
        match &self.plan.group {
            Some(g) => {
                let key: &[Value] = match self.exprs.single_key {
                    Some(i) => std::slice::from_ref(&row[i]),
                    None => {
                        self.fill_key(g, row)?;
                        &self.key
                    }
                };
                let states = match self.groups.get_mut(key) {
                    Some(s) => s,
                    None => {
                        let fresh = fresh_states(g, &self.arg_types);
                        self.groups.entry(key.to_vec()).or_insert(fresh)
                    }
                };
                fold_states(states, g, &self.exprs.args, row)?;
            }
            None => {
                self.out.clear();
                for o in &self.exprs.outputs {
                    self.out.push(o.eval(row)?);
                }
                // A row that would not enter a full top-k is not copied.
                if let Rows::TopK(heap) = &self.rows
                    && heap.len() as u64 >= self.plan.limit.unwrap_or(u64::MAX)
                    && heap
                        .peek()
                        .is_none_or(|w| rank(&self.order, &self.out, &w.row) != Ordering::Less)
                {
                    return Ok(());
                }
                if self.streams_out() {
                    return self.write_out(&self.out);
                }
                let out = self.out.clone();
                self.keep(out);
            }
        }
        Ok(())
    }

    /// Builds a row's group key in the reused buffer (a column's text copied into the
    /// buffer's own allocation; a new group's key is then the only allocation).
    fn fill_key(&mut self, g: &membench_protocol::Group, row: &[Value]) -> Result<()> {
        self.key.resize(g.keys.len(), Value::Null);
        for ((slot, k), c) in self.key.iter_mut().zip(&g.keys).zip(&self.exprs.keys) {
            match &k.expr {
                Expr::Col(i) => match (&mut *slot, &row[*i]) {
                    (Value::Str(mine), Value::Str(theirs)) => {
                        mine.clear();
                        mine.push_str(theirs);
                    }
                    (slot, v) => *slot = v.clone(),
                },
                _ => *slot = c.eval(row)?,
            }
        }
        Ok(())
    }

    /// [`Executor::push`] for a spilling aggregation of a grouped plan: the row is filtered,
    /// then folded if its group is held, or `admit` (the group is then created). Otherwise its
    /// group key is returned, for the caller to spill the row by: a group held once stays
    /// held, so every row of a group goes the same way.
    pub fn push_held(&mut self, row: &[Value], admit: bool) -> Result<Option<&[Value]>> {
        if let Some(f) = &self.exprs.filter
            && !f.holds(row)?
        {
            return Ok(None);
        }
        let plan = self.plan;
        let g = plan.group.as_ref().expect("push_held folds a grouped plan");
        self.fill_key(g, row)?;
        let states = match self.groups.get_mut(self.key.as_slice()) {
            Some(s) => s,
            None if admit => {
                let fresh = fresh_states(g, &self.arg_types);
                self.groups.entry(self.key.clone()).or_insert(fresh)
            }
            None => return Ok(Some(&self.key)),
        };
        fold_states(states, g, &self.exprs.args, row)?;
        Ok(None)
    }

    /// Finishes the held groups into output rows (`HAVING` applied), kept to be ordered and
    /// limited when it finishes; the groups are dropped. A spilling aggregation settles each
    /// partition's groups (disjoint from the others'), then merges the rows.
    pub fn settle_groups(&mut self) -> Result<()> {
        let plan = self.plan;
        let Some(g) = &plan.group else {
            return Ok(());
        };
        let groups = std::mem::take(&mut self.groups);
        for (keys, states) in groups {
            let aggs: Vec<Value> = states
                .into_iter()
                .zip(&g.aggregates)
                .zip(&self.arg_types)
                .map(|((s, a), t)| s.finish(a, *t))
                .collect::<Result<_>>()?;
            let env = Env {
                row: &[],
                keys: &keys,
                aggs: &aggs,
            };
            if let Some(h) = &g.having
                && !is_true(&eval(h, env)?)
            {
                continue;
            }
            let out: Vec<Value> = plan
                .output
                .iter()
                .map(|o| eval(&o.expr, env))
                .collect::<Result<_>>()?;
            self.keep(out);
        }
        Ok(())
    }

    fn keep(&mut self, out: Vec<Value>) {
        match &mut self.rows {
            Rows::All(v) => v.push(out),
            Rows::TopK(heap) => {
                let k = self.plan.limit.unwrap_or(u64::MAX) as usize;
                if k == 0 {
                    return;
                }
                let r = Ranked {
                    row: out,
                    order: self.order.clone(),
                };
                if heap.len() < k {
                    heap.push(r);
                } else if let Some(worst) = heap.peek()
                    && r < *worst
                {
                    heap.pop();
                    heap.push(r);
                }
            }
        }
    }

    /// Merges another executor's groups (a partition of the same plan's rows).
    pub fn merge(&mut self, other: Executor<'p>) {
        for (k, states) in other.groups {
            match self.groups.get_mut(&k) {
                Some(mine) => {
                    for (m, s) in mine.iter_mut().zip(states) {
                        m.merge(s);
                    }
                }
                None => {
                    self.groups.insert(k, states);
                }
            }
        }
        let rows = match other.rows {
            Rows::All(v) => v,
            Rows::TopK(h) => h.into_iter().map(|r| r.row).collect(),
        };
        for r in rows {
            self.keep(r);
        }
    }

    /// The answer: groups finished and `HAVING` applied, ordered, limited, hidden columns
    /// dropped, each value in its column's type.
    pub fn finish(mut self) -> Result<QueryAnswer> {
        let plan = self.plan;
        if let Some(g) = &plan.group
            && g.keys.is_empty()
            && self.groups.is_empty()
        {
            // A global aggregate over no rows is one row.
            let fresh = fresh_states(g, &self.arg_types);
            self.groups.insert(Vec::new(), fresh);
        }
        self.settle_groups()?;
        let rows = match std::mem::replace(&mut self.rows, Rows::All(Vec::new())) {
            Rows::All(v) => v,
            Rows::TopK(h) => h.into_iter().map(|r| r.row).collect(),
        };
        let mut answer = answer_from_rows(plan, rows)?;
        if let Some(file) = self.output.take() {
            for r in std::mem::take(&mut answer.rows) {
                file.write(&r).map_err(EvalError)?;
            }
            answer.written = file.finish().map_err(EvalError)?;
        }
        Ok(answer)
    }
}

/// The canonical answer of a plan from its output rows (every output, hidden ones included, in
/// any order): ordered by `ORDER BY`, ties by every column, limited, hidden columns dropped,
/// each value cast to its column's type. An engine that computes the rows itself (a database)
/// ends here too.
pub fn answer_from_rows(plan: &Plan, mut rows: Vec<Vec<Value>>) -> Result<QueryAnswer> {
    rows.sort_by(|a, b| rank(&plan.order, a, b));
    if let Some(k) = plan.limit {
        rows.truncate(k as usize);
    }
    let visible: Vec<usize> = (0..plan.output.len())
        .filter(|&i| !plan.output[i].hidden)
        .collect();
    let rows = rows
        .into_iter()
        .map(|r| {
            visible
                .iter()
                .map(|&i| match plan.output[i].ty {
                    Some(t) => cast(r[i].clone(), t),
                    None => Ok(Value::Null),
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<_>>()?;
    Ok(QueryAnswer {
        columns: visible
            .iter()
            .map(|&i| plan.output[i].name.clone())
            .collect(),
        types: visible.iter().map(|&i| plan.output[i].ty).collect(),
        rows,
        written: None,
    })
}

/// A hash join: the joined input (index 1) held by key, the `FROM` input streamed past it.
pub struct HashJoin<'p> {
    plan: &'p Plan,
    /// The plan-column positions of each input.
    left_cols: Vec<usize>,
    right_cols: Vec<usize>,
    table: FxHashMap<Value, Vec<Vec<Value>>>,
    row: Vec<Value>,
}

impl<'p> HashJoin<'p> {
    pub fn new(plan: &'p Plan) -> Self {
        let cols = |input| {
            (0..plan.columns.len())
                .filter(|&i| plan.columns[i].input == input)
                .collect::<Vec<_>>()
        };
        HashJoin {
            plan,
            left_cols: cols(0),
            right_cols: cols(1),
            table: FxHashMap::default(),
            row: vec![Value::Null; plan.columns.len()],
        }
    }

    /// The plan-column positions of input `i`, in the order its rows are given.
    pub fn columns_of(&self, input: usize) -> &[usize] {
        if input == 0 {
            &self.left_cols
        } else {
            &self.right_cols
        }
    }

    /// Holds one row of the joined input (its values in [`HashJoin::columns_of`]`(1)` order).
    pub fn build(&mut self, values: Vec<Value>) {
        let j = self.plan.join.expect("a join plan");
        let pos = self.right_cols.iter().position(|&c| c == j.right_key);
        let key = pos.map_or(Value::Null, |p| values[p].clone());
        if key.is_null() {
            return; // NULL never joins
        }
        self.table.entry(key).or_default().push(values);
    }

    /// Joins one row of the `FROM` input and hands every joined row to `out`.
    pub fn probe(
        &mut self,
        values: &[Value],
        out: &mut dyn FnMut(&[Value]) -> Result<()>,
    ) -> Result<()> {
        let mut row = std::mem::take(&mut self.row);
        let r = self.probe_with(values, &mut row, out);
        self.row = row;
        r
    }

    /// A buffer for [`HashJoin::probe_with`]: one joined row.
    pub fn row_buffer(&self) -> Vec<Value> {
        vec![Value::Null; self.plan.columns.len()]
    }

    /// [`HashJoin::probe`] with the joined row built in `row` (from [`HashJoin::row_buffer`]),
    /// so that several threads probe one built table.
    pub fn probe_with(
        &self,
        values: &[Value],
        row: &mut [Value],
        out: &mut dyn FnMut(&[Value]) -> Result<()>,
    ) -> Result<()> {
        let j = self.plan.join.expect("a join plan");
        for (&c, v) in self.left_cols.iter().zip(values) {
            row[c] = v.clone();
        }
        let key = &row[j.left_key];
        let matches = if key.is_null() {
            None
        } else {
            // Keys compare by value across integer and decimal: normalise to the right's type.
            let k = cast(key.clone(), self.plan.columns[j.right_key].ty).unwrap_or(Value::Null);
            self.table.get(&k)
        };
        match matches {
            Some(rows) => {
                for r in rows {
                    for (&c, v) in self.right_cols.iter().zip(r) {
                        row[c] = v.clone();
                    }
                    out(row)?;
                }
            }
            None if j.kind == JoinKind::Left => {
                for &c in &self.right_cols {
                    row[c] = Value::Null;
                }
                out(row)?;
            }
            None => {}
        }
        Ok(())
    }

    /// How many rows of the joined input it holds.
    pub fn held(&self) -> usize {
        self.table.values().map(Vec::len).sum()
    }
}

impl QueryAnswer {
    /// The canonical JSON: `{"columns": [...], "rows": [[...], ...]}` with integers and finite
    /// floats as JSON numbers (`inf`, `-inf`, `nan` as strings), decimals, dates and timestamps
    /// as strings, NULL as `null`.
    pub fn to_json(&self) -> serde_json::Value {
        let rows: Vec<serde_json::Value> = self
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&self.types)
                    .map(|(v, t)| match v {
                        Value::Null => serde_json::Value::Null,
                        Value::Int(i) => (*i).into(),
                        Value::Float(f) => match serde_json::Number::from_f64(*f) {
                            Some(n) => serde_json::Value::Number(n),
                            None => format!("{f}").to_lowercase().into(),
                        },
                        Value::Bool(b) => (*b).into(),
                        other => other.render(t.unwrap_or(ColumnType::String)).into(),
                    })
                    .collect()
            })
            .collect();
        match &self.written {
            Some(w) => serde_json::json!({
                "columns": self.columns,
                "rows": rows,
                "written": { "rows": w.rows, "digest": w.digest },
            }),
            None => serde_json::json!({ "columns": self.columns, "rows": rows }),
        }
    }
}
