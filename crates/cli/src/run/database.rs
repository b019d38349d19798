//! The databases of a run: which database strategies can run on this machine, and the
//! PostgreSQL server the `postgres` cells use — `--postgres-url`, or a throw-away server started
//! here and removed at the end (also when the run is killed: see
//! [`membench_harness::postgres`]).

use std::collections::BTreeMap;

use anyhow::Result;
use membench_harness::postgres::{Cluster, ClusterConfig, drop_schema, find_bin_dir};
use membench_protocol::{Requirement, strategy};

use super::config::RunConfig;

/// What the database cells of a run connect to.
#[derive(Debug, Default)]
pub struct Databases {
    cluster: Option<Cluster>,
    /// The server `postgres` cells connect to.
    pub postgres_url: Option<String>,
    /// The schema they work in.
    pub schema: String,
    /// Strategies that cannot run here, with the reason (their cells are recorded `skipped`).
    pub unavailable: BTreeMap<String, String>,
    /// A schema made on the user's server, dropped at the end.
    drop_at_end: bool,
}

fn needs_postgres(name: &str) -> bool {
    strategy(name).is_some_and(|s| s.needs.contains(&Requirement::PostgresServer))
}

/// Finds or starts what the run's database strategies need.
pub fn prepare(c: &RunConfig, run_id: &str) -> Result<Databases> {
    let mut d = Databases {
        schema: membench_protocol::CellJob::DEFAULT_POSTGRES_SCHEMA.into(),
        ..Databases::default()
    };
    let wanted: Vec<String> = c
        .builtin
        .iter()
        .filter(|s| needs_postgres(s))
        .cloned()
        .collect();
    if wanted.is_empty() {
        return Ok(d);
    }
    if let Some(url) = &c.postgres_url {
        d.postgres_url = Some(url.clone());
        d.schema = schema_of(run_id);
        d.drop_at_end = true;
        eprintln!(
            "postgres: {}, schema {} (dropped at the end)",
            membench_protocol::redact(url),
            d.schema
        );
        return Ok(d);
    }
    let reason = match find_bin_dir() {
        None => format!("skipped: needs {}", Requirement::PostgresServer.describe()),
        Some(bin) => {
            let config = ClusterConfig {
                shared_buffers_bytes: c.budget.as_ref().map(|b| b.bytes / 4),
                ..ClusterConfig::default()
            };
            eprintln!(
                "postgres: starting a throw-away server ({})…",
                bin.display()
            );
            match Cluster::start(&bin, &config) {
                Ok(c) => {
                    eprintln!(
                        "postgres: throw-away server in {} (removed at the end)",
                        c.dir().display()
                    );
                    d.postgres_url = Some(c.url().to_string());
                    d.cluster = Some(c);
                    return Ok(d);
                }
                Err(e) => format!("skipped: the throw-away PostgreSQL server did not start: {e:#}"),
            }
        }
    };
    eprintln!("postgres: {reason}");
    for s in wanted {
        d.unavailable.insert(s, reason.clone());
    }
    Ok(d)
}

/// A schema name of the run: `membench_` and the run id's letters and digits.
fn schema_of(run_id: &str) -> String {
    let id: String = run_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("membench_{id}")
}

impl Databases {
    /// Drops the run's schema on a user's server; stops and removes a throw-away server.
    pub fn finish(mut self) -> Result<()> {
        if self.drop_at_end
            && let Some(url) = &self.postgres_url
            && let Err(e) = drop_schema(url, &self.schema)
        {
            // The records are written; a server that cannot be reached now (or never could:
            // its cells are errors) does not fail the run.
            eprintln!(
                "postgres: could not drop schema {} at the end: {}",
                self.schema,
                membench_protocol::redact(&format!("{e:#}"))
            );
        }
        match self.cluster.take() {
            Some(c) => c.stop(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_schema_is_a_plain_sql_name() {
        assert_eq!(schema_of("20261123-1620"), "membench_20261123_1620");
    }
}
