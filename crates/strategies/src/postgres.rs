//! `postgres`: push the workload down to a PostgreSQL server (seed 000 §6, seed 004). The input
//! is validated by the kernel and streamed through the client with `COPY … FROM STDIN` (text
//! format, one reused buffer); the workload's index is built; the query runs on the server and
//! its rows come back through a portal, [`FETCH_ROWS`] at a time, never as a whole result set.
//! The server is `--postgres-url` (the driver starts a throw-away one); everything lives in the
//! schema it names. The runner is told the backend's process id and samples its memory.

use std::io::Write;

use anyhow::Context;
use membench_kernel::RowRef;
use postgres::{Client, NoTls};

use crate::outcome::Counts;
use crate::db::{self, Database, Dialect, SqlRow, kib};
use crate::{Outcome, Params, RunError, Strategy};

pub struct Postgres;

/// Rows fetched from the portal at a time.
pub const FETCH_ROWS: i32 = 10_000;
/// Bytes of `COPY` text gathered before they are handed to the client.
const COPY_CHUNK: usize = 64 * 1024;

const DIALECT: Dialect = Dialect {
    seq: "bigint NOT NULL",
    integer: "bigint",
    text: "text COLLATE \"C\"",
};

impl Strategy for Postgres {
    fn run(&self, p: &Params) -> Result<Outcome, RunError> {
        let url = server(p)?;
        let mut pg = PgDb {
            client: connect(p, url)?,
        };
        db::run(p, &mut pg)
    }

    /// A user's query pushed down: each table created with the driver's types (decimals as
    /// exact `numeric`) and streamed in with `COPY` (the rows read and checked by the same typed
    /// reader as the other strategies), then the plan printed as PostgreSQL SQL and run; its
    /// rows come back as text through a portal and are read by the outputs' types.
    fn query(&self, p: &Params, q: &crate::QueryParams) -> Result<Outcome, RunError> {
        let url = server(p)?;
        let mut client = connect(p, url)?;
        client
            .batch_execute("SET TimeZone = 'UTC'; SET extra_float_digits = 1")
            .context("setting the session")?;
        let names: Vec<String> = (0..q.tables.len()).map(|i| format!("query_t{i}")).collect();
        let result = query(p, q, &mut client, &names);
        for n in &names {
            let _ = client.batch_execute(&format!("DROP TABLE IF EXISTS {n}"));
        }
        result
    }
}

/// The server to connect to, or why there is none.
fn server(p: &Params) -> Result<&str, RunError> {
    p.db.postgres_url.as_deref().ok_or_else(|| {
        RunError::Unsupported(
            "postgres needs a server: --postgres-url URL (cargo xtask run starts a throw-away \
             one when PostgreSQL is installed)"
                .into(),
        )
    })
}

/// Whether every host of `url` is this machine: a Unix socket, or a loopback name or address.
/// A remote server's backend pid means nothing in this machine's `/proc`.
pub fn is_local(url: &str) -> bool {
    use postgres::config::Host;
    let Ok(config) = url.parse::<postgres::Config>() else {
        return false;
    };
    let hosts = config.get_hosts();
    !hosts.is_empty()
        && hosts.iter().all(|h| match h {
            Host::Unix(_) => true,
            Host::Tcp(name) => {
                name == "localhost"
                    || name
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
        })
}

/// Connects, tells the observer the backend's pid, enters the schema and sets the knobs.
fn connect(p: &Params, url: &str) -> Result<Client, RunError> {
    let mut client = Client::connect(url, NoTls).with_context(|| {
        format!(
            "connecting to PostgreSQL at {}",
            membench_protocol::redact(url)
        )
    })?;
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .context("pg_backend_pid()")?
        .get(0);
    // The backend's memory is sampled from /proc: only where the pid is this machine's.
    if let Some(o) = p.observer.filter(|_| is_local(url)) {
        o.server_backend(pid as u32);
    }
    let schema = &p.db.postgres_schema;
    // `CREATE SCHEMA IF NOT EXISTS` is not safe against a concurrent one: two sessions that
    // both find it missing race, and the loser gets a unique violation on pg_namespace. The
    // schema then exists, which is all this asks.
    if let Err(e) = client.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")) {
        let raced = e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION);
        if !raced {
            return Err(anyhow::Error::new(e)
                .context(format!("entering schema {schema}"))
                .into());
        }
    }
    client
        .batch_execute(&format!("SET search_path TO {schema}"))
        .with_context(|| format!("entering schema {schema}"))?;
    if let Some(budget) = p.memory_budget_bytes {
        let (work, maintenance) = (kib(budget / 8, 64), kib(budget / 4, 1024));
        client
            .batch_execute(&format!(
                "SET work_mem = '{work}kB'; SET maintenance_work_mem = '{maintenance}kB'"
            ))
            .context("setting work_mem")?;
        p.setting(format!("work_mem={work}kB (an eighth of --memory-limit)"));
        p.setting(format!(
            "maintenance_work_mem={maintenance}kB (a quarter of --memory-limit)"
        ));
    }
    for knob in ["shared_buffers", "work_mem", "server_version"] {
        let v: String = client
            .query_one(&format!("SHOW {knob}"), &[])
            .with_context(|| format!("SHOW {knob}"))?
            .get(0);
        p.setting(format!("{knob}={v}"));
    }
    Ok(client)
}

struct PgDb {
    client: Client,
}

/// `COPY … FROM STDIN` text gathered into [`COPY_CHUNK`]-byte writes.
struct CopyText<'a> {
    writer: postgres::CopyInWriter<'a>,
    buf: Vec<u8>,
}

impl CopyText<'_> {
    /// The buffer to append the next line to.
    fn line(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Hands the gathered text to the client once a chunk is full.
    fn flush_full(&mut self) -> anyhow::Result<()> {
        if self.buf.len() >= COPY_CHUNK {
            self.writer.write_all(&self.buf).context("COPY")?;
            self.buf.clear();
        }
        Ok(())
    }
}

/// Streams into `table` whatever `fill` appends, then ends the `COPY`.
fn copy_in(
    client: &mut Client,
    table: &str,
    fill: &mut dyn FnMut(&mut CopyText<'_>) -> Result<(), RunError>,
) -> Result<(), RunError> {
    let writer = client
        .copy_in(&format!("COPY {table} FROM STDIN"))
        .context("COPY … FROM STDIN")?;
    let mut out = CopyText {
        writer,
        buf: Vec::with_capacity(COPY_CHUNK + 4096),
    };
    fill(&mut out)?;
    out.writer.write_all(&out.buf).context("COPY")?;
    out.writer.finish().context("COPY")?;
    Ok(())
}

/// Appends a text value in `COPY` text format; PostgreSQL text cannot hold a NUL byte.
fn push_text(out: &mut Vec<u8>, s: &str) -> anyhow::Result<()> {
    for b in s.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0 => anyhow::bail!("a text value holds a NUL byte, which PostgreSQL cannot store"),
            b => out.push(b),
        }
    }
    Ok(())
}

/// Appends one row as a `COPY` text line, in table order.
fn push_row(out: &mut Vec<u8>, seq: i64, r: &RowRef<'_>) -> anyhow::Result<()> {
    let int = |out: &mut Vec<u8>, v: i64| {
        out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        out.push(b'\t');
    };
    int(out, seq);
    int(out, r.order_id);
    push_text(out, r.order_date)?;
    out.push(b'\t');
    int(out, r.customer_id);
    push_text(out, r.region)?;
    out.push(b'\t');
    push_text(out, r.category)?;
    out.push(b'\t');
    int(out, r.product_id);
    int(out, r.quantity);
    int(out, r.price_cents);
    match r.discount_cents {
        Some(d) => int(out, d),
        None => out.extend_from_slice(b"\\N\t"),
    }
    push_text(out, r.note)?;
    out.push(b'\n');
    Ok(())
}

impl Database for PgDb {
    fn dialect(&self) -> Dialect {
        DIALECT
    }

    fn load_table(
        &mut self,
        table: &str,
        _columns: usize,
        feed: &mut db::Feed<'_>,
    ) -> Result<(), RunError> {
        let mut num = itoa::Buffer::new();
        copy_in(&mut self.client, table, &mut |out| {
            feed(&mut |values| {
                let buf = out.line();
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        buf.push(b'\t');
                    }
                    match *v {
                        db::Value::Int(x) => buf.extend_from_slice(num.format(x).as_bytes()),
                        db::Value::Text(t) => push_text(buf, t)?,
                    }
                }
                buf.push(b'\n');
                out.flush_full()
            })
        })
    }

    fn analyze(&mut self, tables: &[&str]) -> anyhow::Result<()> {
        self.execute(&format!("ANALYZE {}", tables.join(", ")))
    }

    fn loaded(&mut self, key: &str) -> anyhow::Result<Option<(String, Counts)>> {
        self.execute(&db::loaded_table_sql(DIALECT))?;
        let row = self.client.query_opt(
            "SELECT tbl, rows_read, rows_skipped FROM membench_loaded WHERE key = $1",
            &[&key],
        )?;
        Ok(row.map(|r| {
            let counts = Counts {
                read: r.get::<_, i64>(1) as u64,
                skipped: r.get::<_, i64>(2) as u64,
            };
            (r.get(0), counts)
        }))
    }

    fn load(&mut self, p: &Params, table: &str) -> Result<Counts, RunError> {
        self.execute(&format!("DROP TABLE IF EXISTS {table}"))?;
        self.execute(&db::create_table_sql(table, DIALECT))?;
        let mut counts = Counts::default();
        copy_in(&mut self.client, table, &mut |out| {
            counts = db::load_rows(p, &mut |seq, row| {
                push_row(out.line(), seq, row)?;
                out.flush_full()
            })?;
            Ok(())
        })?;
        self.execute(&format!("ANALYZE {table}"))?;
        Ok(counts)
    }

    fn mark_loaded(&mut self, key: &str, table: &str, c: Counts) -> anyhow::Result<()> {
        self.client.execute(
            "INSERT INTO membench_loaded VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO UPDATE \
             SET tbl = EXCLUDED.tbl, rows_read = EXCLUDED.rows_read, \
             rows_skipped = EXCLUDED.rows_skipped",
            &[&key, &table, &(c.read as i64), &(c.skipped as i64)],
        )?;
        Ok(())
    }

    fn execute(&mut self, sql: &str) -> anyhow::Result<()> {
        self.client
            .batch_execute(sql)
            .with_context(|| sql.to_string())
    }

    fn needs_seq_index(&self) -> bool {
        true
    }

    fn query(
        &mut self,
        sql: &str,
        f: &mut dyn FnMut(&dyn SqlRow) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut tx = self.client.transaction()?;
        let portal = tx.bind(sql, &[]).with_context(|| sql.to_string())?;
        loop {
            let rows = tx.query_portal(&portal, FETCH_ROWS)?;
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                f(&PgRow(r))?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn drop_table(&mut self, table: &str) -> anyhow::Result<()> {
        self.execute(&format!("DROP TABLE IF EXISTS {table}"))
    }
}

struct PgRow<'a>(&'a postgres::Row);

impl SqlRow for PgRow<'_> {
    fn int(&self, i: usize) -> anyhow::Result<i64> {
        Ok(self.0.try_get(i)?)
    }
    fn opt_int(&self, i: usize) -> anyhow::Result<Option<i64>> {
        Ok(self.0.try_get(i)?)
    }
    fn text(&self, i: usize) -> anyhow::Result<&str> {
        Ok(self.0.try_get(i)?)
    }
}

/// Loads the tables with `COPY` and runs the plan.
fn query(
    p: &Params,
    q: &crate::QueryParams,
    client: &mut Client,
    names: &[String],
) -> Result<Outcome, RunError> {
    use crate::db::plan_sql::{Bound, Sql, create_table, select, value_of};
    use membench_query::text::Value;
    p.phase("load");
    let mut rows_read = 0;
    for (t, name) in q.tables.iter().zip(names) {
        client
            .batch_execute(&format!(
                "DROP TABLE IF EXISTS {name}; {}",
                create_table(name, &t.schema, Sql::Postgres)
            ))
            .with_context(|| format!("creating {name}"))?;
        let all: Vec<usize> = (0..t.schema.columns.len()).collect();
        copy_in(client, name, &mut |copy| {
            let mut failed: Option<anyhow::Error> = None;
            rows_read += membench_query::scan::scan(t, &all, |values| {
                if failed.is_some() {
                    return Ok(());
                }
                let line = copy.line();
                for (i, (v, c)) in values.iter().zip(&t.schema.columns).enumerate() {
                    if i > 0 {
                        line.push(b'\t');
                    }
                    let special: Option<&[u8]> = match v {
                        Value::Null => Some(b"\\N"),
                        Value::Float(f) if f.is_nan() => Some(b"NaN"),
                        Value::Float(f) if f.is_infinite() && *f > 0.0 => Some(b"Infinity"),
                        Value::Float(f) if f.is_infinite() => Some(b"-Infinity"),
                        _ => None,
                    };
                    let pushed = match (special, v) {
                        (Some(text), _) => {
                            line.extend_from_slice(text);
                            Ok(())
                        }
                        (None, Value::Str(s)) => push_text(line, s),
                        (None, other) => push_text(line, &other.render(c.ty)),
                    };
                    if let Err(e) = pushed {
                        failed = Some(e);
                    }
                }
                line.push(b'\n');
                if let Err(e) = copy.flush_full() {
                    failed = Some(e);
                }
                Ok(())
            })
            .map_err(RunError::Query)?;
            match failed {
                Some(e) => Err(e.context(format!("loading {name}")).into()),
                None => Ok(()),
            }
        })?;
    }
    p.phase("query");
    let tables: Vec<&str> = names.iter().map(String::as_str).collect();
    let inner = select(&q.plan, &tables, Sql::Postgres);
    p.setting(format!("sql={inner}"));
    let n = q.plan.output.len();
    let cols: Vec<String> = (0..n).map(|i| format!("c{i}::text")).collect();
    let sql = format!("SELECT {} FROM ({inner}) AS q", cols.join(", "));
    let mut tx = client.transaction().context("BEGIN")?;
    let portal = tx.bind(&sql, &[]).with_context(|| format!("preparing {inner}"))?;
    let mut rows = Vec::new();
    loop {
        let batch = tx
            .query_portal(&portal, FETCH_ROWS)
            .context("reading the result")?;
        if batch.is_empty() {
            break;
        }
        for r in &batch {
            let row: Vec<Value> = q
                .plan
                .output
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    let text: Option<String> = r.get(i);
                    let b = text.map_or(Bound::Null, |t| Bound::Text(t.into()));
                    value_of(b, o.ty)
                })
                .collect();
            rows.push(row);
        }
    }
    tx.commit().context("COMMIT")?;
    crate::io::query::from_rows(q, rows, rows_read)
}

#[cfg(test)]
mod local_tests {
    use super::is_local;

    #[test]
    fn only_a_server_on_this_machine_is_sampled() {
        assert!(is_local("host=/tmp/membench-pg-x port=5432 user=membench"));
        assert!(is_local("host='/tmp/a b' port=5432"));
        assert!(is_local("postgresql://u:p@localhost:5432/db"));
        assert!(is_local("postgresql://u@127.0.0.1/db"));
        assert!(!is_local("postgresql://u:p@db.example.com:5432/db"));
        assert!(!is_local("host=10.0.0.7 user=u"));
        assert!(!is_local("host=/tmp/x,db.example.com user=u"));
        assert!(!is_local("not a connection string ==="));
    }
}
