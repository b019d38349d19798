//! `sqlite`: push the workload down to an embedded SQLite (seed 003). The input is validated by
//! the kernel and loaded in one transaction through one reused prepared statement inserting
//! [`BATCH_ROWS`] rows at a time (seed 004 §5's batch inserts); the workload's index is built;
//! the workload runs as SQL. SQLite's own memory is routed through the global allocator
//! ([`crate::db::sqlite_mem`]), so the heap figures include the engine.

use anyhow::Context;
use membench_kernel::RowRef;
use rusqlite::{Connection, Statement};

use crate::outcome::Counts;
use crate::db::{self, Database, Dialect, SqlRow, kib, remove_db_files, sqlite_mem};
use crate::{Outcome, Params, RunError, Strategy};

pub struct Sqlite;

/// Rows per `INSERT` statement while loading (× 11 parameters, well under SQLite's limit).
pub const BATCH_ROWS: usize = 128;

const DIALECT: Dialect = Dialect {
    seq: "INTEGER PRIMARY KEY",
    integer: "INTEGER",
    text: "TEXT",
};

impl Strategy for Sqlite {
    fn run(&self, p: &Params) -> Result<Outcome, RunError> {
        sqlite_mem::install().map_err(|e| RunError::Other(anyhow::anyhow!(e)))?;
        if let Some(state) = &p.state {
            return incremental(p, state);
        }
        std::fs::create_dir_all(&p.db.dir)
            .with_context(|| format!("{}: cannot create the folder", p.db.dir.display()))?;
        // One file in a private folder of its own (random name, 0700: no other user can plant
        // a link where SQLite will write), or one shared file of loaded inputs with --db-reuse,
        // which needs a stable name: in the system temp folder, this user's private folder.
        let (path, private) = match p.db.reuse {
            true => {
                let dir = if p.db.dir == std::env::temp_dir() {
                    membench_safefs::user_temp_dir().context("--db-reuse's folder")?
                } else {
                    p.db.dir.clone()
                };
                (dir.join("membench-reuse.sqlite"), None)
            }
            false => {
                let dir = membench_safefs::private_dir(&p.db.dir, "membench-sqlite-")
                    .context("creating the database's folder")?;
                (dir.path().join("scratch.sqlite"), Some(dir))
            }
        };
        let result = open(p, &path).and_then(|conn| db::run(p, &mut SqliteDb { conn }));
        if p.db.keep || p.db.reuse {
            // A kept database outlives its private folder's guard.
            let _ = private.map(tempfile::TempDir::keep);
            p.setting(format!("database={} (kept)", path.display()));
        } else {
            remove_db_files(&path);
        }
        result
    }

    /// A user's query pushed down: each table created with the driver's types and loaded in
    /// one transaction through one prepared statement (the rows read and checked by the same
    /// typed reader as the other strategies, so a bad value is the same error), then the plan
    /// printed as SQLite SQL and run; no index (the query is the user's, not one we tuned).
    fn query(&self, p: &Params, q: &crate::QueryParams) -> Result<Outcome, RunError> {
        sqlite_mem::install().map_err(|e| RunError::Other(anyhow::anyhow!(e)))?;
        std::fs::create_dir_all(&p.db.dir)
            .with_context(|| format!("{}: cannot create the folder", p.db.dir.display()))?;
        let dir = membench_safefs::private_dir(&p.db.dir, "membench-sqlite-")
            .context("creating the database's folder")?;
        let path = dir.path().join("query.sqlite");
        let result = open(p, &path).and_then(|conn| query(p, q, &conn));
        remove_db_files(&path);
        result
    }
}

/// Opens the database and sets its knobs: a scratch database needs no journal and no fsync;
/// under a budget the page cache gets a quarter of it and SQLite's soft heap limit half.
fn open(p: &Params, path: &std::path::Path) -> Result<Connection, RunError> {
    open_with(p, path, ["journal_mode=OFF", "synchronous=OFF"])
}

/// [`open`] with the journal and sync settings given.
fn open_with(
    p: &Params,
    path: &std::path::Path,
    durability: [&str; 2],
) -> Result<Connection, RunError> {
    let conn = Connection::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut pragmas: Vec<String> = durability.iter().map(|s| s.to_string()).collect();
    if let Some(budget) = p.memory_budget_bytes {
        pragmas.push(format!("cache_size=-{}", kib(budget / 4, 64)));
        pragmas.push("temp_store=FILE".to_string());
        // SAFETY: a plain setter of the library's global limit.
        unsafe { rusqlite::ffi::sqlite3_soft_heap_limit64((budget / 2) as i64) };
        p.setting(format!(
            "soft_heap_limit={} (half the --memory-limit)",
            budget / 2
        ));
    }
    for pragma in pragmas {
        conn.execute_batch(&format!("PRAGMA {pragma}"))
            .with_context(|| format!("{}: PRAGMA {pragma}", path.display()))?;
        // The cache size is reported as read back below.
        if !pragma.starts_with("cache_size") {
            p.setting(pragma);
        }
    }
    let cache: i64 = conn
        .query_row("PRAGMA cache_size", [], |r| r.get(0))
        .context("reading cache_size")?;
    p.setting(format!("cache_size={cache} (negative: KiB)"));
    p.setting(format!("insert batch={BATCH_ROWS} rows, one transaction"));
    Ok(conn)
}

struct SqliteDb {
    conn: Connection,
}

/// A row copied out of the reader's buffer, to wait for its batch.
#[derive(Default)]
struct OwnedRow {
    seq: i64,
    ints: [i64; 5],
    texts: [String; 4],
    discount_cents: Option<i64>,
}

impl OwnedRow {
    fn set(&mut self, seq: i64, r: &RowRef<'_>) {
        self.seq = seq;
        self.ints = [
            r.order_id,
            r.customer_id,
            r.product_id,
            r.quantity,
            r.price_cents,
        ];
        for (slot, text) in self
            .texts
            .iter_mut()
            .zip([r.order_date, r.region, r.category, r.note])
        {
            slot.clear();
            slot.push_str(text);
        }
        self.discount_cents = r.discount_cents;
    }

    /// Binds the row's 11 values from parameter `first` on, in table order.
    fn bind(&self, st: &mut Statement<'_>, first: usize) -> rusqlite::Result<()> {
        let [order_id, customer_id, product_id, quantity, price] = self.ints;
        let [date, region, category, note] = &self.texts;
        st.raw_bind_parameter(first, self.seq)?;
        st.raw_bind_parameter(first + 1, order_id)?;
        st.raw_bind_parameter(first + 2, date.as_str())?;
        st.raw_bind_parameter(first + 3, customer_id)?;
        st.raw_bind_parameter(first + 4, region.as_str())?;
        st.raw_bind_parameter(first + 5, category.as_str())?;
        st.raw_bind_parameter(first + 6, product_id)?;
        st.raw_bind_parameter(first + 7, quantity)?;
        st.raw_bind_parameter(first + 8, price)?;
        st.raw_bind_parameter(first + 9, self.discount_cents)?;
        st.raw_bind_parameter(first + 10, note.as_str())
    }
}

fn insert_sql(table: &str, rows: usize) -> String {
    let one = format!("({})", ["?"; db::ROW_VALUES].join(","));
    format!("INSERT INTO {table} VALUES {}", vec![one; rows].join(","))
}

/// Executes `st` with `rows` bound.
fn insert(st: &mut Statement<'_>, rows: &[OwnedRow]) -> anyhow::Result<()> {
    for (i, r) in rows.iter().enumerate() {
        r.bind(st, 1 + i * db::ROW_VALUES)?;
    }
    st.raw_execute().context("INSERT")?;
    Ok(())
}

impl Database for SqliteDb {
    fn dialect(&self) -> Dialect {
        DIALECT
    }

    fn load_table(
        &mut self,
        table: &str,
        columns: usize,
        feed: &mut db::Feed<'_>,
    ) -> Result<(), RunError> {
        let tx = self.conn.unchecked_transaction().context("BEGIN")?;
        let sql = format!("INSERT INTO {table} VALUES ({})", vec!["?"; columns].join(","));
        let mut st = tx.prepare(&sql).context("INSERT")?;
        feed(&mut |values| {
            for (i, v) in values.iter().enumerate() {
                match *v {
                    db::Value::Int(x) => st.raw_bind_parameter(i + 1, x)?,
                    db::Value::Text(t) => st.raw_bind_parameter(i + 1, t)?,
                }
            }
            st.raw_execute().context("INSERT")?;
            Ok(())
        })?;
        drop(st);
        tx.commit().context("COMMIT")?;
        Ok(())
    }

    fn analyze(&mut self, _tables: &[&str]) -> anyhow::Result<()> {
        Ok(())
    }

    fn loaded(&mut self, key: &str) -> anyhow::Result<Option<(String, Counts)>> {
        self.execute(&db::loaded_table_sql(DIALECT))?;
        let mut st = self
            .conn
            .prepare("SELECT tbl, rows_read, rows_skipped FROM membench_loaded WHERE key = ?1")?;
        let mut rows = st.query([key])?;
        Ok(match rows.next()? {
            Some(r) => Some((
                r.get(0)?,
                Counts {
                    read: r.get::<_, i64>(1)? as u64,
                    skipped: r.get::<_, i64>(2)? as u64,
                },
            )),
            None => None,
        })
    }

    fn load(&mut self, p: &Params, table: &str) -> Result<Counts, RunError> {
        self.execute(&format!("DROP TABLE IF EXISTS {table}"))?;
        self.execute(&db::create_table_sql(table, DIALECT))?;
        let tx = self.conn.unchecked_transaction().context("BEGIN")?;
        let mut batch_st = tx.prepare(&insert_sql(table, BATCH_ROWS)).context("INSERT")?;
        let mut one_st = tx.prepare(&insert_sql(table, 1)).context("INSERT")?;
        let mut batch: Vec<OwnedRow> = (0..BATCH_ROWS).map(|_| OwnedRow::default()).collect();
        let mut filled = 0;
        let counts = db::load_rows(p, &mut |seq, row| {
            batch[filled].set(seq, row);
            filled += 1;
            if filled == BATCH_ROWS {
                insert(&mut batch_st, &batch)?;
                filled = 0;
            }
            Ok(())
        })?;
        for r in &batch[..filled] {
            insert(&mut one_st, std::slice::from_ref(r))?;
        }
        drop((batch_st, one_st));
        tx.commit().context("COMMIT")?;
        Ok(counts)
    }

    fn mark_loaded(&mut self, key: &str, table: &str, c: Counts) -> anyhow::Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO membench_loaded VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![key, table, c.read as i64, c.skipped as i64],
        )?;
        Ok(())
    }

    fn execute(&mut self, sql: &str) -> anyhow::Result<()> {
        self.conn.execute_batch(sql).with_context(|| sql.to_string())
    }

    fn needs_seq_index(&self) -> bool {
        false
    }

    fn query(
        &mut self,
        sql: &str,
        f: &mut dyn FnMut(&dyn SqlRow) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut st = self.conn.prepare(sql).with_context(|| sql.to_string())?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            f(&SqliteRow(r))?;
        }
        Ok(())
    }

    fn drop_table(&mut self, table: &str) -> anyhow::Result<()> {
        self.execute(&format!("DROP TABLE IF EXISTS {table}"))
    }
}

struct SqliteRow<'a, 'b>(&'a rusqlite::Row<'b>);

impl SqlRow for SqliteRow<'_, '_> {
    fn int(&self, i: usize) -> anyhow::Result<i64> {
        Ok(self.0.get(i)?)
    }
    fn opt_int(&self, i: usize) -> anyhow::Result<Option<i64>> {
        Ok(self.0.get(i)?)
    }
    fn text(&self, i: usize) -> anyhow::Result<&str> {
        Ok(self.0.get_ref(i)?.as_str()?)
    }
}

/// Loads the tables (`t0`, `t1`) and runs the plan.
fn query(p: &Params, q: &crate::QueryParams, conn: &Connection) -> Result<Outcome, RunError> {
    use crate::db::plan_sql::{Bound, Sql, bind, create_table, select, value_of};
    use rusqlite::types::{Null, ValueRef};
    // SQLite's LIKE ignores ASCII case unless told; membench's (and SQL's) does not.
    conn.execute_batch("PRAGMA case_sensitive_like = ON")
        .context("PRAGMA case_sensitive_like")?;
    p.phase("load");
    let names: Vec<String> = (0..q.tables.len()).map(|i| format!("t{i}")).collect();
    let mut rows_read = 0;
    for (t, name) in q.tables.iter().zip(&names) {
        conn.execute_batch(&create_table(name, &t.schema, Sql::Sqlite))
            .with_context(|| format!("creating {name}"))?;
        let width = t.schema.columns.len();
        let marks = vec!["?"; width].join(", ");
        let tx = conn.unchecked_transaction().context("BEGIN")?;
        {
            let mut insert = tx
                .prepare(&format!("INSERT INTO {name} VALUES ({marks})"))
                .context("preparing the insert")?;
            let all: Vec<usize> = (0..width).collect();
            let mut failed: Option<rusqlite::Error> = None;
            let read = membench_query::scan::scan(t, &all, |values| {
                if failed.is_some() {
                    return Ok(());
                }
                let mut put = || -> rusqlite::Result<()> {
                    for (i, (v, c)) in values.iter().zip(&t.schema.columns).enumerate() {
                        match bind(v, c.ty) {
                            Bound::Null => insert.raw_bind_parameter(i + 1, Null)?,
                            Bound::Int(x) => insert.raw_bind_parameter(i + 1, x)?,
                            Bound::Real(x) => insert.raw_bind_parameter(i + 1, x)?,
                            Bound::Text(x) => insert.raw_bind_parameter(i + 1, x.as_ref())?,
                        }
                    }
                    insert.raw_execute().map(drop)
                };
                failed = put().err();
                Ok(())
            })
            .map_err(RunError::Query)?;
            if let Some(e) = failed {
                return Err(anyhow::Error::new(e).context(format!("loading {name}")).into());
            }
            rows_read += read;
        }
        tx.commit().context("COMMIT")?;
    }
    p.phase("query");
    let tables: Vec<&str> = names.iter().map(String::as_str).collect();
    let sql = select(&q.plan, &tables, Sql::Sqlite);
    p.setting(format!("sql={sql}"));
    let mut stmt = conn.prepare(&sql).with_context(|| format!("preparing {sql}"))?;
    let mut rs = stmt.query([]).context("running the query")?;
    let mut rows = Vec::new();
    while let Some(r) = rs.next().context("reading the result")? {
        let mut row = Vec::with_capacity(q.plan.output.len());
        for (i, o) in q.plan.output.iter().enumerate() {
            let b = match r.get_ref(i).context("reading a value")? {
                ValueRef::Null => Bound::Null,
                ValueRef::Integer(x) => Bound::Int(x),
                ValueRef::Real(x) => Bound::Real(x),
                ValueRef::Text(t) | ValueRef::Blob(t) => {
                    Bound::Text(String::from_utf8_lossy(t).into_owned().into())
                }
            };
            row.push(value_of(b, o.ty));
        }
        rows.push(row);
    }
    crate::io::query::from_rows(q, rows, rows_read)
}

/// Incremental `top-n` and `group-by` (`--state DB`): the state is a SQLite database that keeps
/// the loaded rows, a watermark per input file (`membench_watermark`, the same watermarks as
/// the kernel strategies', `io::incremental`) and the input it describes (`membench_state`).
/// A run inserts only the rows past the watermarks and moves them in the same transaction
/// (rollback journal, full sync: a kill leaves the old rows and watermarks or the new ones),
/// then answers from the workload's summary table ([`Summary`]), which each run grows by the
/// new rows in the same transaction. Any aggregate can be asked of one state: it holds the
/// rows, and a summary is made from them the first time its aggregate is asked for.
fn incremental(p: &Params, state: &std::path::Path) -> Result<Outcome, RunError> {
    use crate::io::incremental::{Mark, lock, plan, read_piece, refuse};
    let _lock = lock(state)?;
    if !state.exists() {
        // It keeps the data's rows: readable by this user alone (its journal inherits the mode).
        membench_safefs::create_new(state)
            .with_context(|| format!("--state {}: cannot create", state.display()))?;
    }
    let conn = open_with(p, state, ["journal_mode=DELETE", "synchronous=FULL"])?;
    let input = p.input.display().to_string();
    let sql = |e: rusqlite::Error| RunError::Other(anyhow::anyhow!("{}: {e}", state.display()));
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS membench_state (input TEXT NOT NULL, rows_read INTEGER NOT \
         NULL, rows_skipped INTEGER NOT NULL); CREATE TABLE IF NOT EXISTS membench_watermark \
         (file TEXT PRIMARY KEY, bytes INTEGER NOT NULL, lines INTEGER NOT NULL, head_sha256 \
         TEXT NOT NULL); {}",
        db::create_table_sql("sales", DIALECT).replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS")
    ))
    .map_err(sql)?;
    let before: Option<(String, i64, i64)> = conn
        .query_row("SELECT input, rows_read, rows_skipped FROM membench_state", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(sql(e)),
        })?;
    let mut counts = Counts::default();
    if let Some((was, read, skipped)) = &before {
        if *was != input {
            return refuse(state, format!("it describes the input {was}, not {input}"));
        }
        counts = Counts {
            read: *read as u64,
            skipped: *skipped as u64,
        };
    }
    let marks: Vec<Mark> = {
        let mut st = conn
            .prepare("SELECT file, bytes, lines, head_sha256 FROM membench_watermark")
            .map_err(sql)?;
        st.query_map([], |r| {
            Ok(Mark {
                file: r.get(0)?,
                bytes: r.get::<_, i64>(1)? as u64,
                lines: r.get::<_, i64>(2)? as u64,
                head_sha256: r.get(3)?,
            })
        })
        .map_err(sql)?
        .collect::<Result<_, _>>()
        .map_err(sql)?
    };
    let pieces = plan(p, state, &marks)?;
    p.phase("load");
    let tx = conn.unchecked_transaction().context("BEGIN")?;
    let seq: i64 = tx
        .query_row("SELECT coalesce(max(seq), 0) FROM sales", [], |r| r.get(0))
        .map_err(sql)?;
    let mut new_bytes = 0;
    {
        let mut batch_st = tx.prepare(&insert_sql("sales", BATCH_ROWS)).context("INSERT")?;
        let mut one_st = tx.prepare(&insert_sql("sales", 1)).context("INSERT")?;
        let mut sink = Batched {
            batch: (0..BATCH_ROWS).map(|_| OwnedRow::default()).collect(),
            filled: 0,
            seq,
            st: &mut batch_st,
            error: None,
        };
        for x in &pieces {
            let (c, mark) = read_piece(p, x, crate::io::fold::Columns::All, &mut sink)?;
            if let Some(e) = sink.error.take() {
                return Err(RunError::Other(e));
            }
            counts.add(c);
            new_bytes += mark.bytes.saturating_sub(x.start.offset);
            tx.execute(
                "INSERT OR REPLACE INTO membench_watermark VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![mark.file, mark.bytes as i64, mark.lines as i64, mark.head_sha256],
            )
            .map_err(sql)?;
        }
        for r in &sink.batch[..sink.filled] {
            insert(&mut one_st, std::slice::from_ref(r))?;
        }
    }
    // Every summary table of the state grows by the new rows; this workload's is made from
    // every row the first time it is asked for.
    let asked = Summary::of(&p.workload);
    let mut names: Vec<String> = {
        let mut st = tx
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'membench_sum_%'")
            .map_err(sql)?;
        st.query_map([], |r| r.get(0))
            .map_err(sql)?
            .collect::<Result<_, _>>()
            .map_err(sql)?
    };
    if !names.contains(&asked.table()) {
        tx.execute_batch(&asked.create()).map_err(sql)?;
        tx.execute_batch(&asked.add(0)).map_err(sql)?;
        names.retain(|n| *n != asked.table());
    }
    for name in names {
        if let Some(s) = Summary::parse(&name) {
            tx.execute_batch(&s.add(seq)).map_err(sql)?;
        }
    }
    tx.execute("DELETE FROM membench_state", []).map_err(sql)?;
    tx.execute(
        "INSERT INTO membench_state VALUES (?1, ?2, ?3)",
        rusqlite::params![input, counts.read as i64, counts.skipped as i64],
    )
    .map_err(sql)?;
    tx.commit().context("COMMIT")?;
    p.new_input(new_bytes);
    // The summary is the answer.
    p.phase("query");
    let mut out = crate::Output::new(p)?;
    SqliteDb { conn }.query(&asked.answer(), &mut |r| {
        if let crate::Output::Fold(acc) = &mut out {
            match acc {
                membench_kernel::Accumulator::GroupBy(g) => {
                    let (category, rows, q, t) = db::group_row(r)?;
                    g.push_group_wide(category, rows, q, t);
                }
                membench_kernel::Accumulator::TopN(_) => {
                    acc.add_parts(r.int(0)?, "", r.int(1)?, r.int(2)?);
                }
            }
        }
        Ok(())
    })?;
    out.finish(&p.input, counts)
}

/// A summary table an incremental state keeps per aggregate asked of it, grown by each run's
/// new rows in the run's transaction — the summary a SQL user keeps instead of reading every
/// row again: per category the row count and the two sums (each split in its high and low 32
/// bits as the group-by query sums them: exact, each part within 64 bits), or the top `n` rows
/// above the threshold (the kept ones and the new ones' best, cut back to `n`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Summary {
    GroupBy,
    TopN(membench_protocol::TopNParams),
}

impl Summary {
    fn of(w: &membench_protocol::Workload) -> Summary {
        match w {
            membench_protocol::Workload::TopN(t) => Summary::TopN(*t),
            _ => Summary::GroupBy,
        }
    }

    fn table(&self) -> String {
        match self {
            Summary::GroupBy => "membench_sum_groupby".into(),
            Summary::TopN(t) => format!("membench_sum_top_{}_{}", t.n, t.above_cents)
                .replace('-', "m"),
        }
    }

    fn parse(name: &str) -> Option<Summary> {
        if name == "membench_sum_groupby" {
            return Some(Summary::GroupBy);
        }
        let (n, above) = name.strip_prefix("membench_sum_top_")?.split_once('_')?;
        let above = match above.strip_prefix('m') {
            Some(a) => -a.parse::<i64>().ok()?,
            None => above.parse().ok()?,
        };
        Some(Summary::TopN(membench_protocol::TopNParams {
            n: n.parse().ok()?,
            above_cents: above,
        }))
    }

    fn create(&self) -> String {
        let t = self.table();
        match self {
            Summary::GroupBy => format!(
                "CREATE TABLE {t} (category TEXT PRIMARY KEY, n INTEGER NOT NULL, q_hi INTEGER \
                 NOT NULL, q_lo INTEGER NOT NULL, t_hi INTEGER NOT NULL, t_lo INTEGER NOT NULL)"
            ),
            Summary::TopN(_) => format!(
                "CREATE TABLE {t} (order_id INTEGER NOT NULL, quantity INTEGER NOT NULL, \
                 price_cents INTEGER NOT NULL)"
            ),
        }
    }

    /// The statements that add the rows after `seq` to the summary.
    fn add(&self, seq: i64) -> String {
        let t = self.table();
        match self {
            Summary::GroupBy => format!(
                "INSERT INTO {t} SELECT category, COUNT(*), SUM(quantity >> 32), \
                 SUM(quantity & 4294967295), SUM((quantity * price_cents) >> 32), \
                 SUM((quantity * price_cents) & 4294967295) FROM sales WHERE seq > {seq} \
                 GROUP BY category ON CONFLICT(category) DO UPDATE SET n = n + excluded.n, \
                 q_hi = q_hi + excluded.q_hi, q_lo = q_lo + excluded.q_lo, \
                 t_hi = t_hi + excluded.t_hi, t_lo = t_lo + excluded.t_lo"
            ),
            Summary::TopN(p) => format!(
                "INSERT INTO {t} SELECT order_id, quantity, price_cents FROM sales \
                 WHERE seq > {seq} AND quantity * price_cents > {above} \
                 ORDER BY quantity * price_cents DESC, order_id ASC LIMIT {n}; \
                 DELETE FROM {t} WHERE rowid NOT IN (SELECT rowid FROM {t} \
                 ORDER BY quantity * price_cents DESC, order_id ASC LIMIT {n})",
                above = p.above_cents,
                n = p.n
            ),
        }
    }

    /// The query of the answer.
    fn answer(&self) -> String {
        let t = self.table();
        match self {
            Summary::GroupBy => format!("SELECT category, n, q_hi, q_lo, t_hi, t_lo FROM {t}"),
            Summary::TopN(_) => format!("SELECT order_id, quantity, price_cents FROM {t}"),
        }
    }
}

/// Rows inserted [`BATCH_ROWS`] at a time, numbered on from `seq`; the rest wait in `batch`.
struct Batched<'a, 'c> {
    batch: Vec<OwnedRow>,
    filled: usize,
    seq: i64,
    st: &'a mut Statement<'c>,
    error: Option<anyhow::Error>,
}

impl crate::RowSink for Batched<'_, '_> {
    fn add(&mut self, row: &RowRef<'_>) {
        if self.error.is_some() {
            return;
        }
        self.seq += 1;
        self.batch[self.filled].set(self.seq, row);
        self.filled += 1;
        if self.filled == BATCH_ROWS {
            self.filled = 0;
            if let Err(e) = insert(self.st, &self.batch) {
                self.error = Some(e);
            }
        }
    }
}

#[cfg(test)]
mod summary_tests {
    use super::Summary;
    use membench_protocol::{TopNParams, Workload};

    #[test]
    fn a_summary_is_found_again_by_its_table_name() {
        for s in [
            Summary::GroupBy,
            Summary::of(&Workload::TOP_N),
            Summary::TopN(TopNParams {
                n: 7,
                above_cents: -250,
            }),
        ] {
            assert_eq!(Summary::parse(&s.table()), Some(s), "{}", s.table());
        }
        assert_eq!(Summary::parse("membench_sum_top_x_1"), None);
    }
}
