//! `cargo xtask list`: strategies (their registry metadata), workloads and formats. Reads the
//! metadata from `membench-protocol`, so it builds nothing heavy and answers at once.

use anyhow::Result;
use clap::Args;
use membench_protocol::{Format, InputFormat, STRATEGIES, Skip, Workload};

/// List strategies (with declared memory growth per format), workloads and formats.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// Print JSON: {"strategies": [...], "workloads": [...], "formats": [...]}.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print the README's strategy table (Markdown), as the tidy test expects it.
    #[arg(long)]
    pub markdown: bool,
}

/// The README's strategy table, from the registry metadata (a tidy test keeps them equal).
pub fn markdown_table() -> String {
    let mut t = String::from(
        "| strategy | how it reads | memory on CSV | memory on Parquet | memory in `join` | \
         `csv.gz` / `csv.zst` | `--on-bad-row skip` | engine | your `--query` | needs (by \
         default in `run`?) |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for s in STRATEGIES {
        t.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            s.name,
            s.description,
            growth_name(s, &Workload::TOP_N, Format::Csv),
            growth_name(s, &Workload::TOP_N, Format::Parquet),
            growth_name(s, &Workload::JOIN, Format::Csv),
            s.compressed.name(),
            if s.skip == Skip::Counts {
                "counts"
            } else {
                "refuses"
            },
            format!("{:?}", s.engine).to_lowercase(),
            query_text(s),
            needs_text(s),
        ));
    }
    t
}

/// Whether a strategy runs a user's query (`run --input … --query SQL`).
fn query_text(s: &membench_protocol::StrategyInfo) -> &'static str {
    match s.queries {
        membench_protocol::Queries::Runs => "yes",
        membench_protocol::Queries::Joins => "joins",
        membench_protocol::Queries::Groups => "`GROUP BY`",
        membench_protocol::Queries::No(_) => "not yet",
    }
}

/// What a strategy needs, and whether `run` includes it without `--strategy`.
fn needs_text(s: &membench_protocol::StrategyInfo) -> String {
    let needs: Vec<String> = s.needs.iter().map(|r| r.describe()).collect();
    let needs = if needs.is_empty() {
        "nothing".to_string()
    } else {
        needs.join("; ")
    };
    let default = if s.on_by_default { "yes" } else { "no" };
    format!("{needs} ({default})")
}

fn workload_text(w: &Workload) -> String {
    match w {
        Workload::TopN(top) => {
            let above = match top.above_cents % 100 {
                0 => format!("{}", top.above_cents / 100),
                c => format!("{}.{:02}", top.above_cents / 100, c.abs()),
            };
            format!(
                "{} largest orders by quantity × price above {above}, ties by order_id",
                top.n
            )
        }
        Workload::GroupBy => {
            "per category: rows, sum of quantity, sum of quantity × price (exact cents)".into()
        }
        Workload::Etl => "clean every row (trim, lowercase, cents, net total), write it in input \
                          order; answer: rows written and the output's sha256"
            .into(),
        Workload::Join(dates) => format!(
            "orders ⋈ order_items on order_id, orders with order_date in {dates} (--dates): per \
             item category, joined items, sum of quantity, sum of quantity × price (inner join)"
        ),
        Workload::Query(q) => q.sql.clone(),
    }
}

pub fn run(a: ListArgs) -> Result<()> {
    if a.markdown {
        print!("{}", markdown_table());
        return Ok(());
    }
    if a.json {
        let workloads: Vec<serde_json::Value> = Workload::builtin()
            .map(|w| serde_json::json!({"name": w.name(), "description": workload_text(&w)}))
            .collect();
        let v = serde_json::json!({
            "strategies": STRATEGIES,
            "workloads": workloads,
            "formats": InputFormat::ALL,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!(
        "strategies:\n  {:<16} {:<9} {:<9} {:<9} {:<6} {:<8} {:<8} description",
        "name", "csv", "parquet", "join", "skip", "engine", "query"
    );
    for s in STRATEGIES {
        println!(
            "  {:<16} {:<9} {:<9} {:<9} {:<6} {:<8} {:<8} {}{}",
            s.name,
            growth_name(s, &Workload::TOP_N, Format::Csv),
            growth_name(s, &Workload::TOP_N, Format::Parquet),
            growth_name(s, &Workload::JOIN, Format::Csv),
            if s.skip == Skip::Counts { "yes" } else { "no" },
            format!("{:?}", s.engine).to_lowercase(),
            query_text(s),
            s.description,
            if s.on_by_default {
                ""
            } else {
                " (not on by default)"
            }
        );
        for r in s.needs {
            println!("  {:<16} needs {}", "", r.describe());
        }
    }
    println!(
        "  (csv / parquet: declared memory growth of the sales workloads, join: of the join; \
         checked by `cargo xtask check`; `-`: does not do it; query: runs a user's query)"
    );
    println!("workloads:");
    for w in Workload::builtin() {
        println!("  {:<16} {}", w.name(), workload_text(&w));
    }
    println!(
        "  {:<16} your SQL over your files: run --input NAME=PATH --query [name=]SQL",
        "query"
    );
    println!(
        "formats: csv, parquet, csv.gz, csv.zst (compressed CSV: streaming decompression, \
         `overlapped` on a thread of its own, `whole` into memory first; `mmap` and `lazy` do not \
         read it)"
    );
    Ok(())
}

/// A strategy's declared growth for `workload` on `format`, or `-` when it does not do it.
fn growth_name(
    s: &membench_protocol::StrategyInfo,
    workload: &Workload,
    format: Format,
) -> &'static str {
    s.growth.of(workload, format).map_or("-", |g| g.name())
}
