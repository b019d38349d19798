//! What the database strategies share: the table, the SQL of each workload, and the one flow
//! `load → index → query` that `sqlite` and `postgres` run through their own [`Database`].
//!
//! Rows are validated by the kernel while loading (the same reader as `streaming`, so bad rows
//! give the same error or the same skip count), money is stored as integer cents, and every
//! aggregate is computed by the database in integers. Sums are split into the high and low 32
//! bits of each value (`x >> 32`, `x & 0xFFFFFFFF`), each summed exactly in 64 bits (up to 2³¹
//! rows) and recombined in 128 bits, so a total that does not fit 64 bits gets the kernel's
//! verdict instead of the database's overflow error or float.
//!
//! A user's query takes another road ([`plan_sql`]): its tables created with the driver's
//! types, loaded through the same typed reader as the other strategies, the plan printed as
//! SQL.

pub mod join;
pub mod plan_sql;
pub mod sqlite_mem;

use std::path::Path;

use anyhow::Context;
use membench_kernel::{Accumulator, ETL_COLUMNS, RowRef, Workload};

use crate::io::fold::{Columns, fold_input};
use crate::outcome::Counts;
use crate::{Outcome, Output, Params, RowSink, RunError};

/// The stored columns, in table order after `seq` (the row's position among the valid rows,
/// which gives `etl` its input order): the `etl` output's columns but the computed `net_cents`
/// (money already in cents, a missing discount kept as NULL).
pub fn columns() -> impl Iterator<Item = &'static str> {
    ETL_COLUMNS.into_iter().filter(|c| *c != "net_cents")
}

/// How many values a stored row has, `seq` included.
pub const ROW_VALUES: usize = ETL_COLUMNS.len();

/// Whether a stored column is text (the others are 64-bit integers).
pub fn is_text(column: &str) -> bool {
    matches!(column, "order_date" | "region" | "category" | "note")
}

/// Column types of one SQL dialect.
#[derive(Clone, Copy, Debug)]
pub struct Dialect {
    /// `seq`'s declaration (SQLite: the rowid itself).
    pub seq: &'static str,
    pub integer: &'static str,
    pub text: &'static str,
}

/// `CREATE TABLE` for the sales rows.
pub fn create_table_sql(table: &str, d: Dialect) -> String {
    let cols: Vec<String> = columns()
        .map(|c| {
            let ty = if is_text(c) { d.text } else { d.integer };
            let null = if c == "discount_cents" {
                ""
            } else {
                " NOT NULL"
            };
            format!("{c} {ty}{null}")
        })
        .collect();
    format!("CREATE TABLE {table} (seq {}, {})", d.seq, cols.join(", "))
}

/// The table of inputs already loaded (`--db-reuse`): key, table, counts.
pub fn loaded_table_sql(d: Dialect) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS membench_loaded (key {t} PRIMARY KEY, tbl {t} NOT NULL, \
         rows_read {i} NOT NULL, rows_skipped {i} NOT NULL)",
        t = d.text,
        i = d.integer
    )
}

/// The indexes that help `workload` (seed 003): an expression index in ranking order for
/// `top-n` (the query reads the first 100 entries), a covering index for `group-by` (groups in
/// index order, no table access). `etl` reads in `seq` order: `seq_index` says whether the
/// dialect needs one (SQLite's `seq` is the rowid).
pub fn index_sql(table: &str, workload: &Workload, seq_index: bool) -> Vec<String> {
    match workload {
        Workload::TopN(_) => vec![format!(
            "CREATE INDEX IF NOT EXISTS {table}_total ON {table} \
             ((quantity * price_cents) DESC, order_id)"
        )],
        Workload::GroupBy => vec![format!(
            "CREATE INDEX IF NOT EXISTS {table}_category ON {table} \
             (category, quantity, price_cents)"
        )],
        Workload::Etl if seq_index => vec![format!(
            "CREATE INDEX IF NOT EXISTS {table}_seq ON {table} (seq)"
        )],
        Workload::Etl => Vec::new(),
        Workload::Join(_) => unreachable!("the registry refuses join for the databases"),
        Workload::Query(_) => {
            unreachable!("a user's query is routed by Entry::run to Strategy::query")
        }
    }
}

/// The query of `workload`, in SQL both dialects run.
pub fn query_sql(table: &str, workload: &Workload) -> String {
    match workload {
        Workload::TopN(top) => format!(
            "SELECT order_id, quantity, price_cents FROM {table} \
             WHERE quantity * price_cents > {} \
             ORDER BY quantity * price_cents DESC, order_id ASC LIMIT {}",
            top.above_cents, top.n
        ),
        Workload::GroupBy => {
            let split = |x: &str| {
                format!("CAST(SUM(({x}) >> 32) AS BIGINT), CAST(SUM(({x}) & 4294967295) AS BIGINT)")
            };
            format!(
                "SELECT category, COUNT(*), {}, {} FROM {table} GROUP BY category",
                split("quantity"),
                split("quantity * price_cents")
            )
        }
        Workload::Etl => format!(
            "SELECT {} FROM {table} ORDER BY seq",
            columns().collect::<Vec<_>>().join(", ")
        ),
        Workload::Join(_) => unreachable!("the registry refuses join for the databases"),
        Workload::Query(_) => {
            unreachable!("a user's query is routed by Entry::run to Strategy::query")
        }
    }
}

/// One result row, whichever database it came from.
pub trait SqlRow {
    fn int(&self, i: usize) -> anyhow::Result<i64>;
    fn opt_int(&self, i: usize) -> anyhow::Result<Option<i64>>;
    fn text(&self, i: usize) -> anyhow::Result<&str>;
}

/// A value of a row loaded by [`Database::load_table`].
#[derive(Clone, Copy, Debug)]
pub enum Value<'a> {
    Int(i64),
    Text(&'a str),
}

/// Hands a table's rows to a database, each as its values: `feed(emit)` calls `emit` once per
/// row and returns when the input is done.
pub type Feed<'f> =
    dyn FnMut(&mut dyn FnMut(&[Value<'_>]) -> anyhow::Result<()>) -> Result<(), RunError> + 'f;

/// What each database does; [`run`] is the flow around it.
pub trait Database {
    /// The column types of its SQL.
    fn dialect(&self) -> Dialect;
    /// Loads the rows `feed` produces (each of `columns` values, in table order) into the
    /// existing `table`.
    fn load_table(
        &mut self,
        table: &str,
        columns: usize,
        feed: &mut Feed<'_>,
    ) -> Result<(), RunError>;
    /// Updates the planner's statistics of `tables` (a no-op where the engine has none).
    fn analyze(&mut self, tables: &[&str]) -> anyhow::Result<()>;
    /// The counts of an input already loaded under `key` (`--db-reuse`), and its table.
    fn loaded(&mut self, key: &str) -> anyhow::Result<Option<(String, Counts)>>;
    /// Creates `table` and streams the input's valid rows into it.
    fn load(&mut self, p: &Params, table: &str) -> Result<Counts, RunError>;
    /// Notes that `key` is loaded in `table` with `counts` (`--db-reuse`).
    fn mark_loaded(&mut self, key: &str, table: &str, counts: Counts) -> anyhow::Result<()>;
    /// Runs statements that return nothing.
    fn execute(&mut self, sql: &str) -> anyhow::Result<()>;
    /// Whether `etl`'s `ORDER BY seq` needs an index.
    fn needs_seq_index(&self) -> bool;
    /// Runs a query, streaming each row to `f` (never the whole result in memory).
    fn query(
        &mut self,
        sql: &str,
        f: &mut dyn FnMut(&dyn SqlRow) -> anyhow::Result<()>,
    ) -> anyhow::Result<()>;
    /// Removes `table` (a cell without `--db-reuse`).
    fn drop_table(&mut self, table: &str) -> anyhow::Result<()>;
}

/// Identifies an input as loaded: its path, size, modification time and the loading options.
pub fn load_key(p: &Params) -> Result<String, RunError> {
    use sha2::{Digest, Sha256};
    // Every file of the input (a folder's or glob's), each by path, size and time.
    let mut files = String::new();
    for f in crate::input_files(&p.input)? {
        let path =
            std::fs::canonicalize(&f).with_context(|| format!("{}: cannot open", f.display()))?;
        let meta =
            std::fs::metadata(&path).with_context(|| format!("{}: cannot open", f.display()))?;
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        files.push_str(&format!("{}|{}|{mtime};", path.display(), meta.len()));
    }
    let text = format!("{files}|{}|{}", p.on_bad_row.name(), p.max_record_bytes);
    Ok(hex::encode(&Sha256::digest(text.as_bytes())[..8]))
}

/// The table of a cell: per input with `--db-reuse`, per run otherwise.
fn table_name(p: &Params, key: &str) -> String {
    if p.db.reuse {
        format!("sales_{key}")
    } else {
        format!("sales_{}", unique_name())
    }
}

/// A name no other run uses at the same time: the process id and a counter (tests run
/// strategies on several threads of one process).
pub fn unique_name() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("p{}_{n}", std::process::id())
}

/// `load` (unless `--db-reuse` finds the input loaded), `index`, `query`; the table is removed
/// afterwards unless it is kept for reuse.
pub fn run(p: &Params, db: &mut dyn Database) -> Result<Outcome, RunError> {
    if p.workload.is_join() {
        return join::run(p, db);
    }
    let key = load_key(p)?;
    let reused = if p.db.reuse { db.loaded(&key)? } else { None };
    let (table, counts) = match reused {
        Some(found) => {
            if let Some(o) = p.observer {
                o.reused();
            }
            found
        }
        None => {
            let table = table_name(p, &key);
            p.phase("load");
            let counts = match db.load(p, &table) {
                Ok(c) => c,
                Err(e) => {
                    let _ = db.drop_table(&table);
                    return Err(e);
                }
            };
            if p.db.reuse {
                db.mark_loaded(&key, &table, counts)?;
            }
            (table, counts)
        }
    };
    let result = index_and_query(p, db, &table, counts);
    if !p.db.reuse {
        db.drop_table(&table)?;
    }
    result
}

/// `index` (the workload's indexes, kept when they exist), then `query` over `table`.
pub(crate) fn index_and_query(
    p: &Params,
    db: &mut dyn Database,
    table: &str,
    counts: Counts,
) -> Result<Outcome, RunError> {
    p.phase("index");
    for sql in index_sql(table, &p.workload, db.needs_seq_index()) {
        db.execute(&sql)?;
    }
    p.phase("query");
    let mut out = Output::new(p)?;
    let sql = query_sql(table, &p.workload);
    match p.workload {
        Workload::TopN(_) => db.query(&sql, &mut |r| {
            add_top(&mut out, r.int(0)?, r.int(1)?, r.int(2)?);
            Ok(())
        })?,
        Workload::GroupBy => db.query(&sql, &mut |r| add_group(&mut out, r))?,
        Workload::Etl => db.query(&sql, &mut |r| {
            out.add(&row_of(r)?);
            Ok(())
        })?,
        Workload::Join(_) => unreachable!("the registry refuses join for the databases"),
        Workload::Query(_) => {
            unreachable!("a user's query is routed by Entry::run to Strategy::query")
        }
    }
    out.finish(&p.input, counts)
}

fn add_top(out: &mut Output, order_id: i64, quantity: i64, price_cents: i64) {
    if let Output::Fold(acc) = out {
        acc.add_parts(order_id, "", quantity, price_cents);
    }
}

/// A group's row — category, count, then the high and low halves of the two sums — as the
/// category, the count and the two sums recombined exactly.
pub fn group_row(r: &dyn SqlRow) -> anyhow::Result<(&str, u64, i128, i128)> {
    let wide = |hi: i64, lo: i64| (i128::from(hi) << 32) + i128::from(lo);
    let rows = u64::try_from(r.int(1)?).context("negative count")?;
    Ok((
        r.text(0)?,
        rows,
        wide(r.int(2)?, r.int(3)?),
        wide(r.int(4)?, r.int(5)?),
    ))
}

fn add_group(out: &mut Output, r: &dyn SqlRow) -> anyhow::Result<()> {
    let (category, rows, sum_quantity, sum_total) = group_row(r)?;
    if let Output::Fold(Accumulator::GroupBy(g)) = out {
        g.push_group_wide(category, rows, sum_quantity, sum_total);
    }
    Ok(())
}

/// A stored row as the kernel's row (in [`columns`] order).
fn row_of(r: &dyn SqlRow) -> anyhow::Result<RowRef<'_>> {
    Ok(RowRef {
        order_id: r.int(0)?,
        order_date: r.text(1)?,
        customer_id: r.int(2)?,
        region: r.text(3)?,
        category: r.text(4)?,
        product_id: r.int(5)?,
        quantity: r.int(6)?,
        price_cents: r.int(7)?,
        discount_cents: r.opt_int(8)?,
        note: r.text(9)?,
        unquoted: false,
    })
}

/// Hands every valid input row to `write` with its `seq` (1, 2, …): the input is read by the
/// kernel exactly as `streaming` reads it. The first error of `write` stops the load.
pub fn load_rows(
    p: &Params,
    write: &mut dyn FnMut(i64, &RowRef<'_>) -> anyhow::Result<()>,
) -> Result<Counts, RunError> {
    let mut sink = Loading {
        write,
        seq: 0,
        error: None,
    };
    let counts = fold_input(p, Columns::All, &mut sink)?;
    match sink.error {
        Some(e) => Err(RunError::Other(e)),
        None => Ok(counts),
    }
}

struct Loading<'a> {
    write: &'a mut dyn FnMut(i64, &RowRef<'_>) -> anyhow::Result<()>,
    seq: i64,
    error: Option<anyhow::Error>,
}

impl RowSink for Loading<'_> {
    fn add(&mut self, row: &RowRef<'_>) {
        if self.error.is_some() {
            return;
        }
        self.seq += 1;
        if let Err(e) = (self.write)(self.seq, row) {
            self.error = Some(e);
        }
    }
}

/// A byte size as SQL settings take it, in KiB, at least `min_kib`.
pub fn kib(bytes: u64, min_kib: u64) -> u64 {
    (bytes / 1024).max(min_kib)
}

/// Removes a file and its SQLite companions, ignoring the ones that are not there.
pub fn remove_db_files(path: &Path) {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}
