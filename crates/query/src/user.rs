//! A user's run, parsed once at the edge: `--input NAME=PATH` ([`InputArg`]) and
//! `--query [name=]SQL` or `--query-file` ([`QueryArg`]), every table typed and every query
//! planned ([`prepare`]) before any cell runs, so that a bad input or an unsupported query is
//! refused up front with one message. A cell gets each table back, already typed, from its
//! [`UserTable`] ([`Table::from_user`]): no cell pays for inference, and all read alike.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use membench_protocol::{Plan, QuerySpec, UserTable};

use crate::error::InputError;
use crate::infer::{CsvOptions, Table, open_table};
use crate::source::{FileKind, input_files};

/// `--input NAME=PATH` (or a bare `PATH`, named by its file stem).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputArg {
    pub name: String,
    pub path: PathBuf,
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl FromStr for InputArg {
    type Err = String;

    fn from_str(s: &str) -> Result<InputArg, String> {
        if let Some((name, path)) = s.split_once('=')
            && is_identifier(name)
        {
            return Ok(InputArg {
                name: name.to_string(),
                path: PathBuf::from(path),
            });
        }
        let path = PathBuf::from(s);
        // `flights.csv.gz` → `flights`; a folder or glob → its last component's stem.
        let stem = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = stem.split('.').next().unwrap_or_default();
        let name: String = stem
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        if !is_identifier(&name) {
            return Err(format!(
                "--input {s:?}: name the table, as NAME=PATH (NAME: letters, digits, _)"
            ));
        }
        Ok(InputArg { name, path })
    }
}

/// `--query [name=]SQL`: the short name is what the report and the records call it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryArg {
    pub name: Option<String>,
    pub sql: String,
}

impl FromStr for QueryArg {
    type Err = String;

    fn from_str(s: &str) -> Result<QueryArg, String> {
        let named = s.split_once('=').filter(|(n, _)| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
        let (name, sql) = match named {
            Some((n, sql)) => (Some(n.to_string()), sql),
            None => (None, s),
        };
        if sql.trim().is_empty() {
            return Err(format!("--query {s:?}: no SQL"));
        }
        Ok(QueryArg {
            name,
            sql: sql.trim().to_string(),
        })
    }
}

/// The queries of a `--query-file`: statements separated by `;`, each named by a
/// `-- name: NAME` line before it (else `FILE-N`).
pub fn query_file(path: &Path) -> Result<Vec<QueryArg>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--query-file {}: {e}", path.display()))?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "query".into());
    let mut out = Vec::new();
    for stmt in text.split(';') {
        let mut name = None;
        let mut sql = String::new();
        for line in stmt.lines() {
            match line.trim().strip_prefix("--") {
                Some(c) => {
                    if let Some(n) = c.trim().strip_prefix("name:") {
                        name = Some(n.trim().to_string());
                    }
                }
                None => {
                    sql.push_str(line);
                    sql.push('\n');
                }
            }
        }
        if sql.trim().is_empty() {
            continue;
        }
        let n = out.len() + 1;
        out.push(QueryArg {
            name: Some(name.unwrap_or_else(|| format!("{stem}-{n}"))),
            sql: sql.trim().to_string(),
        });
    }
    if out.is_empty() {
        return Err(format!("--query-file {}: no query in it", path.display()));
    }
    Ok(out)
}

/// One ASCII character, `tab` or `\t`.
pub fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() && !matches!(s, "\"" | "\n" | "\r") => {
            Ok(s.as_bytes()[0])
        }
        _ => Err(format!(
            "{s:?}: the delimiter is one ASCII character other than a quote or a line break, or `tab`"
        )),
    }
}

/// Why a user's run cannot start.
#[derive(Debug)]
pub enum UserError {
    Input(InputError),
    /// A query refused by the planner (`name: reason`).
    Query {
        name: String,
        reason: String,
    },
    Usage(String),
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserError::Input(e) => e.fmt(f),
            UserError::Query { name, reason } => write!(f, "query {name}: {reason}"),
            UserError::Usage(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for UserError {}

/// A user's run, ready: the tables typed, the queries planned.
#[derive(Clone, Debug)]
pub struct UserRun {
    pub tables: Vec<(String, Table)>,
    pub queries: Vec<(QuerySpec, Plan)>,
}

impl UserRun {
    /// The tables a plan reads, in its input order, as a cell's job carries them.
    pub fn tables_of(&self, plan: &Plan) -> Vec<UserTable> {
        plan.inputs
            .iter()
            .filter_map(|n| self.tables.iter().find(|(t, _)| t == n))
            .map(|(n, t)| t.to_user(n))
            .collect()
    }
}

/// Types every input and plans every query; names queries without one `q1`, `q2`, ….
pub fn prepare(
    inputs: &[InputArg],
    queries: &[QueryArg],
    opts: &CsvOptions,
) -> Result<UserRun, UserError> {
    if inputs.is_empty() || queries.is_empty() {
        return Err(UserError::Usage(
            "a user's run needs both --input NAME=PATH and --query SQL (or --query-file)".into(),
        ));
    }
    let mut tables: Vec<(String, Table)> = Vec::new();
    for i in inputs {
        if tables.iter().any(|(n, _)| *n == i.name) {
            return Err(UserError::Usage(format!(
                "--input {}: two inputs have this name; give each its own",
                i.name
            )));
        }
        tables.push((
            i.name.clone(),
            open_table(&i.path, opts).map_err(UserError::Input)?,
        ));
    }
    let schemas: Vec<(&str, &membench_protocol::TableSchema)> = tables
        .iter()
        .map(|(n, t)| (n.as_str(), &t.schema))
        .collect();
    let mut planned: Vec<(QuerySpec, Plan)> = Vec::new();
    for (k, q) in queries.iter().enumerate() {
        let name = q.name.clone().unwrap_or_else(|| format!("q{}", k + 1));
        if planned.iter().any(|(s, _)| s.name == name) {
            return Err(UserError::Usage(format!(
                "--query {name}: two queries have this name; give each its own"
            )));
        }
        let plan = crate::sql::plan(&q.sql, &schemas).map_err(|e| UserError::Query {
            name: name.clone(),
            reason: e.to_string(),
        })?;
        planned.push((
            QuerySpec {
                name,
                sql: q.sql.clone(),
                tables: plan.inputs.clone(),
                schemas: plan
                    .inputs
                    .iter()
                    .filter_map(|n| tables.iter().find(|(t, _)| t == n))
                    .map(|(_, t)| t.schema.to_string())
                    .collect(),
                groups: plan.groups_by_keys(),
            },
            plan,
        ));
    }
    Ok(UserRun {
        tables,
        queries: planned,
    })
}

/// A user's query as an external program reads it (`{query}`): the SQL and each table's
/// files, format (`csv` or `parquet`), delimiter, null tokens and column types (`peers/membench_answer.py` documents it).
pub fn peer_spec(sql: &str, tables: &[UserTable]) -> serde_json::Value {
    let tables: serde_json::Map<String, serde_json::Value> = tables
        .iter()
        .map(|t| {
            let files = input_files(&t.path).unwrap_or_else(|_| vec![t.path.clone()]);
            let columns: Vec<(String, String)> = t
                .schema
                .columns
                .iter()
                .map(|c| (c.name.clone(), c.ty.to_string()))
                .collect();
            let parquet = files
                .first()
                .is_some_and(|f| FileKind::of(f) == FileKind::Parquet);
            (
                t.name.clone(),
                serde_json::json!({
                    "files": files,
                    "format": if parquet { "parquet" } else { "csv" },
                    "delimiter": (t.delimiter as char).to_string(),
                    "nulls": t.nulls.0,
                    "columns": columns,
                }),
            )
        })
        .collect();
    serde_json::json!({ "sql": sql, "tables": tables })
}

impl Table {
    /// The table as a cell's job carries it.
    pub fn to_user(&self, name: &str) -> UserTable {
        UserTable {
            name: name.to_string(),
            path: self.path.clone(),
            delimiter: self.delimiter,
            nulls: self.nulls.clone(),
            schema: self.schema.clone(),
            given: self.given.clone(),
            sampled_rows: self.sampled_rows,
        }
    }

    /// Its data rows, counted by a framing pass (records checked for their field count, no
    /// value parsed), and its bytes on disk.
    pub fn count(&self) -> Result<(u64, u64), InputError> {
        let names = self.names();
        let (mut rows, mut bytes) = (0, 0);
        for file in &self.files {
            bytes += std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
            if self.is_parquet() {
                rows += crate::parquet::ParquetFile::open(file)?.rows();
                continue;
            }
            let text = crate::source::open_text(file)?;
            let mut records = crate::infer::FileRecords::open(file, text, self.delimiter, &names)?;
            while records.next()?.is_some() {
                rows += 1;
            }
        }
        Ok((rows, bytes))
    }

    /// A table typed by the driver: its files listed again, its types as the driver found
    /// them (so a type break reads the same from every cell).
    pub fn from_user(u: &UserTable) -> Result<Table, InputError> {
        Ok(Table {
            path: u.path.clone(),
            files: input_files(&u.path)?,
            delimiter: u.delimiter,
            nulls: u.nulls.clone(),
            given: u.given.clone(),
            schema: u.schema.clone(),
            sampled_rows: u.sampled_rows,
            notes: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_and_queries_parse_with_and_without_names() {
        let i: InputArg = "flights=data/f.csv".parse().unwrap();
        assert_eq!(
            (i.name.as_str(), i.path.as_path()),
            ("flights", Path::new("data/f.csv"))
        );
        let i: InputArg = "data/seattle-weather.csv.gz".parse().unwrap();
        assert_eq!(i.name, "seattle_weather");
        let q: QueryArg = "top=SELECT a FROM t WHERE b = 1".parse().unwrap();
        assert_eq!(q.name.as_deref(), Some("top"));
        let q: QueryArg = "SELECT a FROM t WHERE b = 1".parse().unwrap();
        assert_eq!(q.name, None);
        assert!(" ".parse::<QueryArg>().is_err());
    }

    #[test]
    fn a_query_file_splits_on_semicolons_and_names_each_statement() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("mine.sql");
        std::fs::write(
            &f,
            "-- name: by-island\nSELECT island, count(*) FROM p GROUP BY island;\n\
             -- just a comment\nSELECT 1 FROM p;\n\n",
        )
        .unwrap();
        let q = query_file(&f).unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!(q[0].name.as_deref(), Some("by-island"));
        assert_eq!(q[0].sql, "SELECT island, count(*) FROM p GROUP BY island");
        assert_eq!(q[1].name.as_deref(), Some("mine-2"));
        std::fs::write(&f, "-- nothing\n").unwrap();
        assert!(query_file(&f).unwrap_err().contains("no query in it"));
    }
}
