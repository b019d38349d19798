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
    let conn = Connection::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut pragmas = vec![
        "journal_mode=OFF".to_string(),
        "synchronous=OFF".to_string(),
    ];
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
