//! `run`'s configuration, parsed once: the command line ([`RunArgs`]: what clap reads, every
//! value already typed by its parser) becomes one validated [`RunConfig`] — presets applied,
//! defaults filled where the user said nothing, names checked — that everything after it reads.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use membench_protocol::{CellJob, DateRange, InputFormat, OnBadRow, Workload};

use super::external::{External, check_name};
use super::shard::Shard;

/// A memory size as the user wrote it and in bytes (`64MiB`: records keep the text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    pub text: String,
    pub bytes: u64,
}

impl Budget {
    /// Parses a size (`512MiB`, `1GiB`, `4096`).
    pub fn parse(s: &str) -> Result<Budget, String> {
        Ok(Budget {
            text: s.trim().to_string(),
            bytes: membench_protocol::parse_size(s)?,
        })
    }
}

impl std::fmt::Display for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&self.text)
    }
}

fn parse_count(s: &str) -> Result<u64, String> {
    membench_protocol::parse_count(s)
}

fn parse_bytes(s: &str) -> Result<u64, String> {
    membench_protocol::parse_size(s)
}

/// A named set of defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// Larger than memory for real: top-n on CSV at 1m, 10m and 50m rows (≈ 9.5 GB) under a
    /// 1 GiB heap budget that `load-all` cannot meet, one repetition; checks free disk first.
    Large,
    /// The Python peers of `peers setup` (pandas load-all and chunked, generators, Polars lazy,
    /// DuckDB, Dask on a 2-worker local cluster) beside the built-in strategies, on top-n and
    /// group-by; on a user's run (`--input`, `--query`), the peers with an SQL front end
    /// (`duckdb-sql`, `polars-py-sql`), given the same queries.
    Peers,
}

/// Run the matrix strategies × workloads × formats × sizes and write a report.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Strategies, comma-separated [default: every strategy on by default; see `cargo xtask
    /// list`].
    #[arg(long, value_delimiter = ',')]
    pub strategy: Vec<String>,
    /// Any program as a strategy, repeatable: `NAME=PROGRAM ARGS…`, split into words without a
    /// shell (quotes group), with {input} {items} {workload} {format} {rows} {output}
    /// {threads} substituted per cell. Measured on its whole process tree (no heap), under the
    /// timeout and, with --memory-limit, a kernel limit; its last output line, if it is the
    /// canonical answer JSON (peers/README.md), is compared with the reference, else the cell
    /// is `unchecked`. Without --strategy, only the commands run.
    #[arg(long = "command", value_name = "NAME=PROGRAM ARGS")]
    pub commands: Vec<String>,
    /// Run only the I-th of N deterministic slices of the cells (e.g. 2/4): a sweep split over
    /// jobs or machines, merged afterwards with `report DIR1 DIR2 … --out DIR`.
    #[arg(long, value_name = "I/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// Workloads, comma-separated: top-n, group-by, etl (over `sales` files; etl writes its
    /// output to a scratch file in the run folder, removed after each cell) and join (over the
    /// `orders` tables, generated with the same sizes counted in orders) [default: all four].
    #[arg(long, value_delimiter = ',', value_parser = Workload::parse)]
    pub workload: Vec<Workload>,
    /// join: write the items in shuffled order (strategies that need sorted input pay for
    /// sorting).
    #[arg(long)]
    pub shuffle_items: bool,
    /// join: the orders' `order_date` range, both ends included.
    #[arg(long, default_value = "2023-01-01..2023-12-31", value_parser = DateRange::parse)]
    pub dates: DateRange,
    /// Formats, comma-separated: csv, parquet, and compressed CSV: csv.gz, csv.zst (strategies
    /// that cannot read compressed input are left out of those cells; `cargo xtask list` says
    /// which) [default: csv,parquet].
    #[arg(long, value_delimiter = ',', value_parser = InputFormat::parse)]
    pub format: Vec<InputFormat>,
    /// Spread each `sales` dataset over N part files in a folder, read as one input (the
    /// folder's cells are measured instead of the single file's).
    #[arg(long, value_name = "N")]
    pub files: Option<usize>,
    /// Dataset sizes in rows, comma-separated [default: 10k,100k,1m].
    #[arg(long, value_delimiter = ',', conflicts_with = "size", value_parser = parse_count)]
    pub rows: Vec<u64>,
    /// Dataset sizes in bytes of CSV instead (e.g. 100MiB,1GiB).
    #[arg(long, value_delimiter = ',', value_parser = parse_bytes)]
    pub size: Vec<u64>,
    /// Measured repetitions per cell and allocator: heap from this many counting-allocator
    /// runs, time from as many system-allocator runs (plus uncounted warm-ups: each runner
    /// binary's first run; a database's or external program's every cell) [default: 3].
    #[arg(long)]
    pub repeat: Option<u32>,
    /// No uncounted warm-up runs: every run is a repetition, a cold first one too (a smoke
    /// test of a slow-starting program; or a cold start that is itself what you measure).
    #[arg(long)]
    pub no_warmup: bool,
    /// Heap budget per cell (e.g. 2GiB); a cell over it is recorded as oom. Several,
    /// comma-separated (`64MiB,256MiB,1GiB`), make budgets an axis: the matrix runs under each
    /// into `<out>/budget-<B>/`, and `<out>/BUDGETS.md` says which strategy fits which budget.
    #[arg(long = "memory-limit", value_delimiter = ',', value_parser = Budget::parse)]
    pub memory_limits: Vec<Budget>,
    /// A named set of defaults (`large`, `peers`); options given on the command line win.
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// `--preset peers`: where `peers setup` put the Python peers.
    #[arg(long, default_value = crate::peers::DEFAULT_DIR)]
    pub peers_dir: PathBuf,
    /// Kernel cap on each cell's address space (RLIMIT_AS), for memory that is not heap.
    #[arg(long, value_parser = Budget::parse)]
    pub address_space_limit: Option<Budget>,
    /// Seconds before a cell is killed and recorded as timeout.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// Worker threads for parallel strategies and Polars.
    #[arg(long, default_value_t = CellJob::DEFAULT_THREADS)]
    pub threads: usize,
    /// Rows per chunk for the chunked strategy.
    #[arg(long, default_value_t = CellJob::DEFAULT_CHUNK_ROWS)]
    pub chunk_rows: usize,
    /// The longest CSV record accepted; a longer one stops every strategy with an error at its
    /// first line, before it is read whole.
    #[arg(long, default_value = "16MiB", value_parser = Budget::parse)]
    pub max_record_bytes: Budget,
    /// fail or skip malformed rows.
    #[arg(long, default_value = "fail", value_parser = OnBadRow::parse)]
    pub on_bad_row: OnBadRow,
    /// A user's table, `NAME=PATH` (repeatable): a CSV/TSV file (`.gz`, `.zst` too) or a
    /// Parquet file (typed by its own schema), a folder of parts or a glob; NAME is its name
    /// in `--query`. Typed once before any cell runs
    /// (`membench inspect` shows how); the run measures the `--query` workloads over it
    /// instead of the generated tables.
    #[arg(long, value_name = "NAME=PATH",
          conflicts_with_all = ["workload", "rows", "size", "format", "files", "messy",
              "key_cardinality", "skew", "null_rate", "text_bytes", "sorted_by"])]
    pub input: Vec<membench_query::InputArg>,
    /// `--input`: run the queries on the inputs at these sizes, as multiples of their rows
    /// (`1x,10x,100x`): 1x is the file itself, any other a twin (`membench gen --like`,
    /// generated into `--datasets`), so the size axis, growth fits and `recommend --rows`
    /// work for the user's data. `NAME=F` pins one input at F at every size (a dimension
    /// table that does not grow: `--scale 1x,10x,dim=1x`).
    #[arg(long, value_name = "[NAME=]F", value_delimiter = ',', requires = "input", value_parser = parse_scale_arg)]
    pub scale: Vec<ScaleArg>,
    /// A query over the `--input` tables, `[name=]SQL` (repeatable): each is a workload of the
    /// matrix, run by every strategy that can (the others are recorded as skipped, with why).
    /// Without `--input`, over the generated table `sales` of every size, format and shape
    /// (`--rows`, `--format`, `--key-cardinality`, …). The supported SQL is listed by an
    /// unsupported query's error.
    #[arg(long = "query", value_name = "[NAME=]SQL")]
    pub queries: Vec<membench_query::QueryArg>,
    /// Queries from a file: statements separated by `;`, each named by a `-- name: NAME` line.
    #[arg(long, value_name = "FILE")]
    pub query_file: Vec<PathBuf>,
    /// `--input`: override column types, `col:type,…` (int64, float64, decimal(S), bool, date,
    /// timestamp, timestamptz, string).
    #[arg(long, requires = "input")]
    pub schema: Option<membench_protocol::SchemaOverride>,
    /// `--input`: the field texts that mean null, comma-separated (an empty item is the empty
    /// field).
    #[arg(long, default_value = ",NA,N/A,NULL,null")]
    pub nulls: membench_protocol::NullTokens,
    /// `--input`: the field delimiter, one character or `tab` (default: tab for `.tsv`, else
    /// a comma).
    #[arg(long, requires = "input", value_parser = membench_query::user::parse_delimiter)]
    pub delimiter: Option<u8>,
    /// After each counting-allocator repetition, repeat the cell's work N more times in the
    /// same runner (N ≥ 8) and record the heap it retains after each; a cell retaining at least
    /// `--leak-bytes` per iteration (the Theil–Sen slope after a fifth of warm-up), growing in
    /// every quarter of the runs, is a LEAK, and the run exits 1 after writing its records. Use
    /// with `--repeat 1`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(8..), conflicts_with = "incremental")]
    pub soak: Option<u32>,
    /// `--soak`: bytes retained per iteration from which a cell leaks.
    #[arg(long, default_value_t = membench_report::soak::DEFAULT_LEAK_BYTES_PER_ITERATION, requires = "soak")]
    pub leak_bytes: f64,
    /// Keep every cell's answer in its record and print each workload's answer (as the first
    /// strategy that ended ok computed it) on stdout at the end, one JSON line each. A user's
    /// query keeps its answer anyway (up to 1 MiB), to compare engines value by value.
    #[arg(long)]
    pub emit_answer: bool,
    /// `--query`: write each query's result to FILE (CSV, or Parquet for `.parquet`) instead of
    /// keeping it as the answer — for a result too large to hold. Every cell writes its own
    /// copy to the scratch folder (the writing is measured); the first cell that ends ok
    /// leaves its file at FILE, and the others are compared with it by row count and an
    /// order-independent digest. With several queries FILE must hold `{query}` (the query's
    /// name). An existing FILE is refused.
    #[arg(long = "output", value_name = "FILE", requires = "queries")]
    pub query_output: Option<PathBuf>,
    /// Generate messy datasets: notes with quoted line feeds, CRLFs and quotes.
    #[arg(long)]
    pub messy: bool,
    /// Distinct `customer_id`s of the generated sales tables, comma-separated (1 to 10⁹, e.g.
    /// 10,10k,1m,1e7): an axis of the matrix (`GROUP BY customer_id` has this many groups).
    #[arg(long, value_name = "N,…", value_delimiter = ',',
          value_parser = membench_protocol::parse_key_cardinality)]
    pub key_cardinality: Vec<u64>,
    #[command(flatten)]
    pub knobs: ShapeKnobs,
    /// Dataset seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Dataset folder.
    #[arg(long, default_value = "datasets")]
    pub datasets: PathBuf,
    /// Name for the run folder (reports/local/<timestamp>-<label>) [default: default, or the
    /// preset's name].
    #[arg(long)]
    pub label: Option<String>,
    /// Write into this folder (new or empty) instead of reports/local/<timestamp>-<label>.
    #[arg(long, conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Continue a run: skip repetitions already in DIR/results.jsonl (the same settings only).
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// Skip writing the report at the end.
    #[arg(long)]
    pub no_report: bool,
    /// postgres: use this server (libpq connection string or postgresql:// URL) instead of a
    /// throw-away one; the run works in a schema of its own, dropped at the end.
    #[arg(long, env = "MEMBENCH_POSTGRES_URL", hide_env_values = true)]
    pub postgres_url: Option<String>,
    /// Database strategies: keep each input loaded between repetitions, workloads and
    /// strategies' cells, so that only the first cell on an input loads it and the others
    /// measure the query alone (data that already lives in a database).
    #[arg(long)]
    pub db_reuse: bool,
    /// sqlite: keep the database files in the run folder (`db/`) instead of removing them.
    #[arg(long)]
    pub keep_db: bool,
    /// Measure incremental processing instead of the matrix (top-n and group-by, by the
    /// strategies that have it: streaming, parallel): each `--files N` folder is read once with
    /// a saved state, new rows arrive as one more part file (`--append`), and the increment is
    /// measured against a full recompute of the grown folder — heap, time, bytes read, and the
    /// two answers compared.
    #[arg(long, requires = "files")]
    pub incremental: bool,
    /// `--incremental`: the rows that arrive, as a share of the dataset (`1%`) or a count
    /// (`100k`).
    #[arg(long, value_name = "K", default_value = "1%", requires = "incremental",
          value_parser = Append::parse)]
    pub append: Append,
}

/// The rows an incremental run appends (`--append`): a share of the dataset or a count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Append {
    /// A share of the dataset's rows, in (0, 1].
    Share(f64),
    Rows(u64),
}

impl Append {
    /// Parses `1%`, `0.5%` or a row count (`100k`); refuses 0 and shares above 100 %.
    pub fn parse(s: &str) -> Result<Append, String> {
        if let Some(p) = s.trim().strip_suffix('%') {
            let v: f64 = p.trim().parse().map_err(|_| {
                format!("--append {s:?}: expected a share like 1% or a count like 100k")
            })?;
            if !(v > 0.0 && v <= 100.0) {
                return Err(format!(
                    "--append {s}: a share must be above 0% and at most 100%"
                ));
            }
            return Ok(Append::Share(v / 100.0));
        }
        match parse_count(s)? {
            0 => Err("--append 0: at least one row must arrive".into()),
            n => Ok(Append::Rows(n)),
        }
    }

    /// The rows appended to a dataset of `rows` rows (at least one).
    pub fn rows_for(self, rows: u64) -> u64 {
        match self {
            Append::Share(f) => ((rows as f64 * f).round() as u64).max(1),
            Append::Rows(n) => n,
        }
    }
}

/// The shape knobs besides the key cardinality (`run` takes several cardinalities, `gen` one).
#[derive(Args, Debug, Clone, Default)]
pub struct ShapeKnobs {
    /// Key frequencies of the generated tables: `zipf:S` (the key of rank r drawn with
    /// probability ∝ r^-S).
    #[arg(long, value_name = "zipf:S", value_parser = membench_protocol::parse_skew)]
    pub skew: Option<membench_protocol::Ratio>,
    /// Probability that a generated `discount` is null, 0 to 1 (default table: 0.02).
    #[arg(long, value_name = "R", value_parser = membench_protocol::parse_null_rate)]
    pub null_rate: Option<membench_protocol::Ratio>,
    /// Mean length of a generated `note` in bytes, 0 to 65536 (the rows' width; default ≈ 125).
    #[arg(long, value_name = "B", value_parser = membench_protocol::parse_text_bytes)]
    pub text_bytes: Option<u32>,
    /// Mean width of a generated CSV row in bytes, 60 to 65596 (default ≈ 189): notes of B − 60
    /// bytes (the other fields' width), the same knob as `--text-bytes` seen from the row.
    #[arg(long, value_name = "B", conflicts_with = "text_bytes",
          value_parser = membench_protocol::parse_row_bytes)]
    pub row_bytes: Option<u32>,
    /// Generate the tables sorted by `customer_id` or `order_date`.
    #[arg(long, value_name = "COL", value_parser = membench_protocol::SortKey::parse)]
    pub sorted_by: Option<membench_protocol::SortKey>,
}

impl ShapeKnobs {
    /// The shape of these knobs with `key_cardinality` distinct keys.
    pub fn shape(&self, key_cardinality: Option<u64>) -> membench_protocol::Shape {
        membench_protocol::Shape {
            key_cardinality,
            zipf: self.skew,
            null_rate: self.null_rate,
            text_bytes: self.text_bytes.or(self.row_bytes),
            sorted_by: self.sorted_by,
        }
    }
}

/// The shapes of the generated tables: one per `--key-cardinality` (or one without), each with
/// the other knobs.
fn shapes(a: &RunArgs) -> Vec<membench_protocol::Shape> {
    let keys: Vec<Option<u64>> = match a.key_cardinality.is_empty() {
        true => vec![None],
        false => a.key_cardinality.iter().copied().map(Some).collect(),
    };
    let mut out: Vec<membench_protocol::Shape> =
        keys.into_iter().map(|k| a.knobs.shape(k)).collect();
    out.sort();
    out.dedup();
    out
}

/// The dataset sizes of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sizes {
    /// In rows (`orders` datasets: orders).
    Rows(Vec<u64>),
    /// In bytes of CSV.
    Bytes(Vec<u64>),
}

/// Where a run's records go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// A new `reports/local/<timestamp>-<label>` folder.
    New,
    /// `--out DIR`: a new or empty folder.
    Out(PathBuf),
    /// `--resume DIR`: a run's folder, continued with the same settings.
    Resume(PathBuf),
}

/// A run, configured: every value typed and checked.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Built-in strategies (registry names).
    pub builtin: Vec<String>,
    /// External programs (`--command`), validated.
    pub externals: Vec<External>,
    pub shard: Option<Shard>,
    pub workloads: Vec<Workload>,
    pub shuffle_items: bool,
    pub dates: DateRange,
    pub formats: Vec<InputFormat>,
    pub files: Option<usize>,
    pub sizes: Sizes,
    pub repeat: u32,
    /// Uncounted warm-ups before a cell's repetitions (`--no-warmup` turns them off).
    pub warmup: bool,
    /// Every budget of the run (several: an axis of sub-runs).
    pub budgets: Vec<Budget>,
    /// The one budget of this (sub-)run.
    pub budget: Option<Budget>,
    pub address_space_limit: Option<Budget>,
    pub timeout: Duration,
    pub threads: usize,
    pub chunk_rows: usize,
    pub max_record_bytes: Budget,
    pub on_bad_row: OnBadRow,
    pub messy: bool,
    /// The generated tables' shapes (one per `--key-cardinality`; the default table when no
    /// knob is given): an axis of the matrix.
    pub shapes: Vec<membench_protocol::Shape>,
    pub seed: u64,
    pub datasets: PathBuf,
    pub label: String,
    pub destination: Destination,
    pub no_report: bool,
    pub postgres_url: Option<String>,
    pub db_reuse: bool,
    pub keep_db: bool,
    /// `--soak N` and the leak threshold in bytes per iteration.
    pub soak: Option<(u32, f64)>,
    pub emit_answer: bool,
    /// A user's run (`--input`, `--query`): its tables typed, its queries planned.
    pub user: Option<std::sync::Arc<membench_query::UserRun>>,
    /// `--query` without `--input`: the queries, run over each generated `sales` table.
    pub generated_queries: Vec<membench_query::QueryArg>,
    /// Those queries typed and planned over each generated table (filled once the tables
    /// exist); with `--input` and `--scale`, the user's queries over the inputs' twins.
    pub generated_runs: Vec<std::sync::Arc<membench_query::UserRun>>,
    /// Whether a user's run measures its inputs themselves (`--scale` without 1x does not).
    pub user_at_1x: bool,
    /// `--output`: where each query's result goes (`{query}` replaced by its name).
    pub query_output: Option<PathBuf>,
    /// `--incremental`: the rows that arrive (else the matrix runs).
    pub incremental: Option<Append>,
}

impl RunConfig {
    /// The file query `name`'s result is left in (`--output`).
    pub fn output_for(&self, name: &str) -> Option<PathBuf> {
        self.query_output
            .as_ref()
            .map(|p| PathBuf::from(p.to_string_lossy().replace("{query}", name)))
    }
}

impl RunConfig {
    /// Validates the command line, applying `--preset` to what the user did not say.
    pub fn from_args(a: RunArgs) -> Result<RunConfig> {
        let label = a.label.clone().unwrap_or_else(|| match a.preset {
            Some(Preset::Large) => "large".into(),
            Some(Preset::Peers) => "peers".into(),
            None => "default".into(),
        });
        check_name(&label).map_err(|e| anyhow::anyhow!("--label: {e}"))?;
        let mut commands = a.commands.clone();
        if a.preset == Some(Preset::Peers) {
            commands.extend(crate::peers::commands(&a.peers_dir, !a.input.is_empty())?);
        }
        let externals = commands
            .iter()
            .map(|c| External::parse(c))
            .collect::<Result<Vec<_>>>()?;
        for (i, e) in externals.iter().enumerate() {
            if externals[..i].iter().any(|x| x.name == e.name) {
                bail!(
                    "--command {}: two commands have this name; give each its own",
                    e.name
                );
            }
        }
        let builtin = builtin_strategies(
            &a.strategy,
            !externals.is_empty() && a.preset != Some(Preset::Peers),
        )?;
        let user = user_run(&a)?;
        let (scaled, user_at_1x) = match &user {
            Some(u) => scaled_runs(&a, u)?,
            None => (Vec::new(), true),
        };
        let generated_queries = match user {
            Some(_) => Vec::new(),
            None => all_queries(&a)?,
        };
        if let (Some(out), Some(u)) = (&a.query_output, &user) {
            let many = u.queries.len() > 1;
            anyhow::ensure!(
                !many || out.to_string_lossy().contains("{query}"),
                "--output {}: {} queries write {} results; put {{query}} in the name \
                 (e.g. out-{{query}}.csv)",
                out.display(),
                u.queries.len(),
                u.queries.len()
            );
            for (spec, _) in &u.queries {
                let f = PathBuf::from(out.to_string_lossy().replace("{query}", &spec.name));
                anyhow::ensure!(
                    !f.exists(),
                    "--output {}: the file exists; remove it or choose another name",
                    f.display()
                );
            }
        }
        let workloads = match (a.workload.is_empty(), a.preset) {
            _ if user.is_some() => user
                .iter()
                .flat_map(|u| &u.queries)
                .map(|(spec, _)| Workload::Query(Box::new(spec.clone())))
                .collect(),
            (false, _) => a.workload.clone(),
            // Queries over the generated tables, and no built-in workload unless asked for.
            (true, _) if !generated_queries.is_empty() => Vec::new(),
            (true, Some(Preset::Large)) => vec![Workload::TOP_N],
            (true, Some(Preset::Peers)) => vec![Workload::TOP_N, Workload::GroupBy],
            (true, None) => Workload::builtin().collect(),
        };
        // `--dates` is the `join`'s parameter.
        let workloads: Vec<Workload> = workloads
            .into_iter()
            .map(|w| w.with_dates(&a.dates))
            .collect();
        let formats = match (a.format.is_empty(), a.preset) {
            (_, Some(Preset::Large)) => vec![InputFormat::CSV],
            (false, _) => a.format.clone(),
            (true, _) => vec![InputFormat::CSV, InputFormat::PARQUET],
        };
        let sizes = match (a.rows.is_empty(), a.size.is_empty(), a.preset) {
            (_, false, _) => Sizes::Bytes(a.size.clone()),
            (false, true, _) => Sizes::Rows(a.rows.clone()),
            (true, true, Some(Preset::Large)) => {
                Sizes::Rows(vec![1_000_000, 10_000_000, 50_000_000])
            }
            (true, true, _) => Sizes::Rows(vec![10_000, 100_000, 1_000_000]),
        };
        let budgets = match (a.memory_limits.is_empty(), a.preset) {
            (true, Some(Preset::Large)) => vec![Budget::parse("1GiB").map_err(anyhow::Error::msg)?],
            _ => a.memory_limits.clone(),
        };
        let repeat = match (a.repeat, a.preset) {
            (Some(r), _) => r,
            (None, Some(Preset::Large)) => 1,
            (None, _) => 3,
        };
        if repeat == 0 {
            bail!("--repeat must be at least 1");
        }
        let destination = match (&a.resume, &a.out) {
            (Some(d), _) => Destination::Resume(d.clone()),
            (None, Some(d)) => Destination::Out(d.clone()),
            (None, None) => Destination::New,
        };
        let mut c = RunConfig {
            builtin,
            externals,
            shard: a.shard,
            workloads,
            shuffle_items: a.shuffle_items,
            dates: a.dates,
            formats,
            files: a.files,
            sizes,
            repeat,
            warmup: !a.no_warmup,
            budget: (budgets.len() == 1).then(|| budgets[0].clone()),
            budgets,
            address_space_limit: a.address_space_limit.clone(),
            timeout: Duration::from_secs(a.timeout),
            threads: a.threads,
            chunk_rows: a.chunk_rows,
            max_record_bytes: a.max_record_bytes.clone(),
            on_bad_row: a.on_bad_row,
            messy: a.messy,
            shapes: shapes(&a),
            seed: a.seed,
            datasets: a.datasets.clone(),
            label,
            destination,
            no_report: a.no_report,
            postgres_url: a.postgres_url.clone(),
            db_reuse: a.db_reuse,
            keep_db: a.keep_db,
            soak: a.soak.map(|n| (n, a.leak_bytes)),
            emit_answer: a.emit_answer,
            query_output: a.query_output.clone(),
            user,
            generated_queries,
            generated_runs: scaled,
            user_at_1x,
            incremental: a.incremental.then_some(a.append),
        };
        if c.incremental.is_some() {
            c.check_incremental(&a)?;
        }
        match a.preset {
            Some(Preset::Large) => c.check_disk_for_large()?,
            Some(Preset::Peers) => eprintln!(
                "preset peers: {} Python peers beside {}",
                c.externals.len(),
                c.builtin.join(", ")
            ),
            None => {}
        }
        Ok(c)
    }

    /// `--incremental`: its workloads (top-n and group-by) and strategies (those with an
    /// incremental mode) chosen where the user named none, refused where they named others.
    fn check_incremental(&mut self, a: &RunArgs) -> Result<()> {
        use membench_protocol::Role;
        let able: Vec<String> = membench_protocol::with_role(Role::Incremental)
            .map(|s| s.name.to_string())
            .collect();
        if a.strategy.is_empty() {
            self.builtin = able.clone();
        } else if let Some(s) = self.builtin.iter().find(|s| !able.contains(s)) {
            bail!(
                "--incremental: {s} has no incremental mode (those that have one: {})",
                able.join(", ")
            );
        }
        if a.workload.is_empty() {
            self.workloads = vec![Workload::TOP_N, Workload::GroupBy];
        } else if let Some(w) = self.workloads.iter().find(|w| !w.is_aggregate()) {
            bail!("--incremental: {w} is not an aggregate (top-n and group-by are)");
        }
        let why = if !self.externals.is_empty() {
            Some("--command (an external program keeps no state)")
        } else if self.user.is_some() || !self.generated_queries.is_empty() {
            Some("--input and --query (incremental runs are for top-n and group-by so far)")
        } else if self.shard.is_some() {
            Some("--shard")
        } else if matches!(self.destination, Destination::Resume(_)) {
            Some("--resume (an incremental run is measured whole)")
        } else if self.budgets.len() > 1 {
            Some("several --memory-limit budgets")
        } else {
            None
        };
        if let Some(why) = why {
            bail!("--incremental does not combine with {why}");
        }
        Ok(())
    }

    /// Every strategy of the run by name: the built-in ones, then the external programs.
    pub fn strategies(&self) -> Vec<String> {
        self.builtin
            .iter()
            .cloned()
            .chain(self.externals.iter().map(|e| e.name.clone()))
            .collect()
    }

    /// `--preset large`: refuses clearly when the disk cannot hold its datasets.
    fn check_disk_for_large(&self) -> Result<()> {
        let Sizes::Rows(rows) = &self.sizes else {
            return Ok(());
        };
        // Bounded disk: the CSV files this needs (≈ 200 bytes a row), minus those already there.
        let mut need = 0u64;
        for &n in rows {
            let file = self.datasets.join(format!(
                "sales-{}-s{}.csv",
                membench_kernel::rows_label(n),
                self.seed
            ));
            if !file.exists() {
                need += n * 200;
            }
        }
        std::fs::create_dir_all(&self.datasets)
            .with_context(|| format!("creating {}", self.datasets.display()))?;
        let free = crate::util::free_bytes(&self.datasets)?;
        // Keep 1 GiB spare for the run folder and scratch files.
        if need + (1 << 30) > free {
            bail!(
                "--preset large needs ≈ {:.1} GB of disk for its datasets in {} (plus 1 GiB \
                 spare), and {:.1} GB are free: free some, or point --datasets elsewhere",
                need as f64 / 1e9,
                self.datasets.display(),
                free as f64 / 1e9
            );
        }
        eprintln!(
            "preset large: top-n on CSV at {} rows under {}; {:.1} GB of datasets to generate, \
             {:.1} GB free",
            rows.iter()
                .map(|&n| membench_kernel::rows_label(n))
                .collect::<Vec<_>>()
                .join(", "),
            self.budgets
                .iter()
                .map(|b| b.text.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            need as f64 / 1e9,
            free as f64 / 1e9
        );
        Ok(())
    }
}

/// `--query` and the queries of every `--query-file`.
fn all_queries(a: &RunArgs) -> Result<Vec<membench_query::QueryArg>> {
    let mut queries = a.queries.clone();
    for f in &a.query_file {
        queries.extend(membench_query::query_file(f).map_err(anyhow::Error::msg)?);
    }
    Ok(queries)
}

/// One `--scale` item: a factor for every input, or one input pinned at a factor.
#[derive(Clone, Debug, PartialEq)]
pub struct ScaleArg {
    pub table: Option<String>,
    pub factor: f64,
}

fn parse_scale_arg(s: &str) -> Result<ScaleArg, String> {
    match s.split_once('=') {
        Some((name, f)) => Ok(ScaleArg {
            table: Some(name.trim().to_string()),
            factor: membench_protocol::parse_scale(f)?,
        }),
        None => Ok(ScaleArg {
            table: None,
            factor: membench_protocol::parse_scale(s)?,
        }),
    }
}

/// `--scale`: the user's queries typed and planned over the inputs' twins at each factor but
/// 1x (the inputs themselves), twins generated (or reused) in `--datasets`; and whether the
/// inputs themselves are one of the sizes.
fn scaled_runs(
    a: &RunArgs,
    user: &membench_query::UserRun,
) -> Result<(Vec<std::sync::Arc<membench_query::UserRun>>, bool)> {
    if a.scale.is_empty() {
        return Ok((Vec::new(), true));
    }
    let factors: Vec<f64> = a
        .scale
        .iter()
        .filter(|s| s.table.is_none())
        .map(|s| s.factor)
        .collect();
    anyhow::ensure!(
        !factors.is_empty(),
        "--scale: give the sizes (e.g. 1x,10x) as well as the pinned inputs"
    );
    let pinned = |name: &str| {
        a.scale
            .iter()
            .find(|s| s.table.as_deref() == Some(name))
            .map(|s| s.factor)
    };
    for s in a.scale.iter().filter_map(|s| s.table.as_ref()) {
        anyhow::ensure!(
            user.tables.iter().any(|(n, _)| n == s),
            "--scale {s}=…: no --input is named {s} (inputs: {})",
            user.tables
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let opts = membench_query::CsvOptions {
        delimiter: a.delimiter,
        nulls: a.nulls.clone(),
        schema: a.schema.clone().unwrap_or_default(),
        ..Default::default()
    };
    let queries = all_queries(a)?;
    let mut profiles: std::collections::BTreeMap<String, membench_query::Inspection> =
        Default::default();
    let (mut runs, mut original) = (Vec::new(), false);
    for &f in &factors {
        let mut inputs = Vec::new();
        let mut all_original = true;
        for (name, t) in &user.tables {
            let factor = pinned(name).unwrap_or(f);
            if factor == 1.0 {
                inputs.push(membench_query::InputArg {
                    name: name.clone(),
                    path: t.path.clone(),
                });
                continue;
            }
            all_original = false;
            if !profiles.contains_key(name) {
                eprintln!("profiling {name} ({}) for its twins", t.path.display());
                let found = membench_query::profile(&t.path, &opts)?;
                anyhow::ensure!(
                    !found.delimiter.is_empty(),
                    "--scale: {} is Parquet; twins are written from CSV (export it first)",
                    t.path.display()
                );
                profiles.insert(name.clone(), found);
            }
            let found = &profiles[name];
            let spec = membench_twin::TwinSpec {
                rows: ((found.rows as f64 * factor).round() as u64).max(1),
                seed: a.seed,
                copy_values: true,
            };
            let started = std::time::Instant::now();
            let out = membench_twin::generate_twin(
                found,
                membench_twin::delimiter_of(found),
                &spec,
                &a.datasets,
                false,
                &mut |_| {},
            )?;
            eprintln!(
                "{} {name} at {} ({} rows): {} ({:.1}s)",
                if out.reused { "reused" } else { "twin of" },
                membench_protocol::scale_label(factor),
                spec.rows,
                out.path.display(),
                started.elapsed().as_secs_f64()
            );
            inputs.push(membench_query::InputArg {
                name: name.clone(),
                path: out.path,
            });
        }
        if all_original {
            original = true;
            continue;
        }
        // Typed as the inputs are (a twin writes each value as its original's type reads).
        let run = membench_query::prepare(&inputs, &queries, &opts).with_context(|| {
            format!(
                "the queries over the {} twins",
                membench_protocol::scale_label(f)
            )
        })?;
        // The same question at another size only if every column types the same.
        let types = |s: &membench_protocol::TableSchema| {
            s.columns
                .iter()
                .map(|c| (c.name.clone(), c.ty))
                .collect::<Vec<_>>()
        };
        for ((name, twin), (_, t)) in run.tables.iter().zip(&user.tables) {
            anyhow::ensure!(
                types(&twin.schema) == types(&t.schema),
                "--scale: the twin of {name} ({}) types as {} where the input is {}; pass \
                 --schema for the columns that differ",
                twin.path.display(),
                twin.schema,
                t.schema
            );
        }
        runs.push(std::sync::Arc::new(run));
    }
    Ok((runs, original))
}

/// A user's run: the `--input` tables typed and every query planned, or the first reason not.
fn user_run(a: &RunArgs) -> Result<Option<std::sync::Arc<membench_query::UserRun>>> {
    if a.input.is_empty() {
        return Ok(None);
    }
    let queries = all_queries(a)?;
    let opts = membench_query::CsvOptions {
        delimiter: a.delimiter,
        nulls: a.nulls.clone(),
        schema: a.schema.clone().unwrap_or_default(),
        ..Default::default()
    };
    let run = membench_query::prepare(&a.input, &queries, &opts)?;
    for (name, t) in &run.tables {
        eprintln!("input {name}: {} ({})", t.path.display(), t.schema);
    }
    Ok(Some(std::sync::Arc::new(run)))
}

/// The built-in strategies to run: `--strategy`, or (unless only commands were given) every
/// strategy on by default.
fn builtin_strategies(given: &[String], only_commands: bool) -> Result<Vec<String>> {
    if given.is_empty() {
        if only_commands {
            return Ok(Vec::new());
        }
        return Ok(membench_protocol::STRATEGIES
            .iter()
            .filter(|s| s.on_by_default)
            .map(|s| s.name.to_string())
            .collect());
    }
    for s in given {
        if membench_protocol::strategy(s).is_none() {
            bail!(
                "unknown strategy {s:?} (known: {})",
                membench_protocol::STRATEGIES
                    .iter()
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    Ok(given.to_vec())
}
