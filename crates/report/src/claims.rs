//! The background articles' claims (`reports/claims.json`, compiled in, so the report stands
//! alone) checked against a run: for each claim, the number this run measured and whether the
//! claim holds by the rule written beside it here. A claim whose cells the run does not have is
//! "not measured", never guessed; one that does not hold is reported as not holding.

use serde::{Deserialize, Serialize};

use crate::Report;
use crate::format::{bytes, rows};
use crate::stats::CellStats;
use membench_protocol::{InputFormat, Workload};

/// The claims file, as committed.
const CLAIMS_JSON: &str = include_str!("../../../reports/claims.json");

/// One claim of the articles.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Claim {
    pub id: String,
    pub seed: String,
    pub section: String,
    pub claim: String,
    pub article_number: String,
    pub measured_by: String,
}

#[derive(Deserialize)]
struct ClaimsFile {
    claims: Vec<Claim>,
}

/// Every claim of `reports/claims.json`.
pub fn claims() -> Vec<Claim> {
    serde_json::from_str::<ClaimsFile>(CLAIMS_JSON)
        .expect("reports/claims.json parses (a unit test checks it)")
        .claims
}

/// Whether a claim held in this run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Holds,
    DoesNotHold,
    NotMeasured,
}

impl Verdict {
    /// Short text for tables.
    pub fn text(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::DoesNotHold => "**does not hold**",
            Verdict::NotMeasured => "not measured",
        }
    }
}

/// A claim checked against a run.
#[derive(Clone, Debug, Serialize)]
pub struct ClaimRow {
    pub id: String,
    pub seed: String,
    pub article_number: String,
    /// What this run measured, in words and numbers.
    pub measured: String,
    /// The rule the verdict applies.
    pub rule: &'static str,
    pub verdict: Verdict,
}

/// Every claim, checked against `report`'s cells.
pub fn evaluate(report: &Report) -> Vec<ClaimRow> {
    claims()
        .into_iter()
        .map(|c| {
            let (rule, found) = check(&c.id, report);
            let (measured, verdict) = found.unwrap_or_else(|| {
                (
                    "this run has no cell for it".to_string(),
                    Verdict::NotMeasured,
                )
            });
            ClaimRow {
                id: c.id,
                seed: c.seed,
                article_number: c.article_number,
                measured,
                rule,
                verdict,
            }
        })
        .collect()
}

type Found = Option<(String, Verdict)>;

fn verdict(holds: bool) -> Verdict {
    if holds {
        Verdict::Holds
    } else {
        Verdict::DoesNotHold
    }
}

/// The largest ok cell of a strategy on a workload and format.
fn largest<'a>(
    r: &'a Report,
    strategy: &str,
    workload: &Workload,
    format: InputFormat,
) -> Option<&'a CellStats> {
    r.cells
        .iter()
        .filter(|c| {
            c.status.is_ok()
                && c.key.strategy == strategy
                && c.key.workload == *workload
                && c.key.format == format
                && c.key.shape.is_default()
        })
        .max_by_key(|c| c.key.rows)
}

fn heap(c: &CellStats) -> Option<f64> {
    c.peak_heap_bytes.map(|s| s.median)
}

fn slope(r: &Report, strategy: &str, workload: &Workload, format: InputFormat) -> Option<f64> {
    r.growth
        .get(&(
            membench_protocol::GroupKey {
                workload: workload.clone(),
                format,
                shape: Default::default(),
            },
            strategy.into(),
        ))
        .map(|g| g.slope)
}

/// Peak heap as a multiple of the input's size.
fn times_input(c: &CellStats) -> Option<f64> {
    Some(heap(c)? / c.input_bytes.max(1) as f64)
}

/// The rule of claim `id` and what the run shows for it.
fn check(id: &str, r: &Report) -> (&'static str, Found) {
    match id {
        "load-all-2x" => (
            "load-all's peak heap within 1.5–2.5× the CSV (top-n)",
            load_all_2x(r),
        ),
        "chunked-500mb" => (
            "chunked's heap does not grow with the file (slope ≤ 0.5)",
            chunked(r),
        ),
        "polars-streaming-300mb" => (
            "lazy (Polars streaming) bounded on CSV (slope ≤ 0.5) and under 300 MB",
            polars_streaming(r),
        ),
        "streaming-1mb" => (
            "streaming under 1 MiB at every size (top-n, CSV)",
            streaming_1mb(r),
        ),
        "db-pushdown-1mb" => (
            "postgres's client heap under 1 MiB on the join",
            db_pushdown(r),
        ),
        "dask-800mb" => (
            "parallel's heap per worker under 100 MB",
            parallel_per_worker(r),
        ),
        "etl-3x" => ("load-all's etl peak heap within 2–4× the CSV", etl_3x(r)),
        "batch-size-x-record" => (
            "chunked's heap within 0.5–2× chunk rows × bytes per CSV row",
            batch_size(r),
        ),
        "mmap-pages" => (
            "mmap's heap under 1 MiB while the pages it reads are file-backed RSS",
            mmap_pages(r),
        ),
        "projection-30-40" => (
            "load-all-lean (the workload's columns only) at least 30 % under load-all (top-n)",
            lean_vs_load_all(r, &Workload::TOP_N, 0.30),
        ),
        "categoricals-50-70" => (
            "load-all-lean (dictionary codes, narrow integers) at least 50 % under load-all on \
             whole rows (etl)",
            lean_vs_load_all(r, &Workload::Etl, 0.50),
        ),
        "memory-guard-2.9gb" => (
            "adaptive at least 80 % under load-all's peak heap (etl, CSV) in at most 1.25× its \
             time",
            memory_guard(r),
        ),
        "compression-tradeoff" => (
            "streaming on csv.gz and csv.zst: smaller on disk than the CSV, and its peak heap \
             at most 1 MiB above the CSV's (top-n)",
            compression(r),
        ),
        _ => ("no strategy measures it yet", None),
    }
}

fn load_all_2x(r: &Report) -> Found {
    let c = largest(r, "load-all", &Workload::TOP_N, InputFormat::CSV)?;
    let x = times_input(c)?;
    let polars = largest(r, "load-all-polars", &Workload::TOP_N, InputFormat::CSV)
        .and_then(times_input)
        .map(|p| format!("; load-all-polars {p:.2}×"))
        .unwrap_or_default();
    Some((
        format!(
            "{x:.2}× the file ({} for {} of CSV, {} rows){polars}",
            bytes(heap(c)?),
            bytes(c.input_bytes as f64),
            rows(c.key.rows)
        ),
        verdict((1.5..=2.5).contains(&x)),
    ))
}

fn chunked(r: &Report) -> Found {
    let c = largest(r, "chunked", &Workload::TOP_N, InputFormat::CSV)?;
    let s = slope(r, "chunked", &Workload::TOP_N, InputFormat::CSV)?;
    Some((
        format!(
            "{} at {} rows, growth slope {s:.2}",
            bytes(heap(c)?),
            rows(c.key.rows)
        ),
        verdict(s <= 0.5),
    ))
}

fn polars_streaming(r: &Report) -> Found {
    let c = largest(r, "lazy", &Workload::TOP_N, InputFormat::CSV)?;
    let s = slope(r, "lazy", &Workload::TOP_N, InputFormat::CSV)?;
    let h = heap(c)?;
    let rss = c
        .peak_rss_bytes
        .map(|s| bytes(s.median))
        .unwrap_or_default();
    Some((
        format!(
            "{} heap, {rss} RSS at {} rows, slope {s:.2}",
            bytes(h),
            rows(c.key.rows)
        ),
        verdict(s <= 0.5 && h < 300e6),
    ))
}

fn streaming_1mb(r: &Report) -> Found {
    let cells: Vec<&CellStats> = r
        .cells
        .iter()
        .filter(|c| c.status.is_ok() && c.key.strategy == "streaming")
        .filter(|c| c.key.workload == Workload::TOP_N && c.key.format == InputFormat::CSV)
        .collect();
    let max = cells
        .iter()
        .filter_map(|c| heap(c))
        .fold(None, |m: Option<f64>, h| Some(m.map_or(h, |m| m.max(h))))?;
    Some((
        format!("at most {} over {} sizes", bytes(max), cells.len()),
        verdict(max < (1 << 20) as f64),
    ))
}

fn db_pushdown(r: &Report) -> Found {
    let c = largest(r, "postgres", &Workload::JOIN, InputFormat::CSV)?;
    let h = heap(c)?;
    let server = c
        .server_peak_rss_bytes
        .map(|s| format!(", server {}", bytes(s.median)))
        .unwrap_or_default();
    let load_all = largest(r, "load-all", &Workload::JOIN, InputFormat::CSV)
        .and_then(heap)
        .map(|l| format!("; load-all {}", bytes(l)))
        .unwrap_or_default();
    Some((
        format!(
            "client {}{server} at {} orders{load_all}",
            bytes(h),
            rows(c.key.rows)
        ),
        verdict(h < (1 << 20) as f64),
    ))
}

fn parallel_per_worker(r: &Report) -> Found {
    let c = largest(r, "parallel", &Workload::TOP_N, InputFormat::CSV)?;
    let threads = r
        .records
        .iter()
        .find(|x| x.strategy == "parallel")
        .map_or(1, |x| x.threads.max(1));
    let per = heap(c)? / threads as f64;
    let speedup = largest(r, "streaming", &Workload::TOP_N, InputFormat::CSV)
        .and_then(|s| Some(s.wall_ns?.median / c.wall_ns?.median))
        .map(|x| format!(", {x:.1}× streaming's speed"))
        .unwrap_or_default();
    Some((
        format!("{} per worker ({threads} workers){speedup}", bytes(per)),
        verdict(per < 100e6),
    ))
}

fn etl_3x(r: &Report) -> Found {
    let c = largest(r, "load-all", &Workload::Etl, InputFormat::CSV)?;
    let x = times_input(c)?;
    Some((
        format!(
            "{x:.2}× the file ({} for {})",
            bytes(heap(c)?),
            bytes(c.input_bytes as f64)
        ),
        verdict((2.0..=4.0).contains(&x)),
    ))
}

fn batch_size(r: &Report) -> Found {
    let c = largest(r, "chunked", &Workload::TOP_N, InputFormat::CSV)?;
    let chunk = r
        .records
        .iter()
        .find(|x| x.strategy == "chunked")
        .map(|x| x.chunk_rows)?;
    let row_bytes = c.input_bytes as f64 / c.key.rows.max(1) as f64;
    let x = heap(c)? / (chunk as f64 * row_bytes);
    Some((
        format!(
            "{} for {chunk}-row chunks of {row_bytes:.0}-byte rows: {x:.2}× chunk × row",
            bytes(heap(c)?)
        ),
        verdict((0.5..=2.0).contains(&x)),
    ))
}

fn mmap_pages(r: &Report) -> Found {
    let c = largest(r, "mmap", &Workload::TOP_N, InputFormat::CSV)?;
    let h = heap(c)?;
    let file = c.peak_rss_file_bytes?.median;
    Some((
        format!(
            "heap {}, file-backed RSS {}, anonymous {} at {} rows",
            bytes(h),
            bytes(file),
            c.peak_rss_anon_bytes
                .map(|s| bytes(s.median))
                .unwrap_or_default(),
            rows(c.key.rows)
        ),
        verdict(h < (1 << 20) as f64 && file > h),
    ))
}

fn memory_guard(r: &Report) -> Found {
    let guard = largest(r, "adaptive", &Workload::Etl, InputFormat::CSV)?;
    let all = largest(r, "load-all", &Workload::Etl, InputFormat::CSV)?;
    let less = 1.0 - heap(guard)? / heap(all)?;
    let slower = guard.wall_ns?.median / all.wall_ns?.median;
    Some((
        format!(
            "{} vs {} ({:.0} % less) at {:+.0} % time, {} rows",
            bytes(heap(guard)?),
            bytes(heap(all)?),
            less * 100.0,
            (slower - 1.0) * 100.0,
            rows(guard.key.rows)
        ),
        verdict(less >= 0.80 && slower <= 1.25),
    ))
}

fn compression(r: &Report) -> Found {
    let plain = largest(r, "streaming", &Workload::TOP_N, InputFormat::CSV)?;
    let mut parts = Vec::new();
    let mut holds = true;
    for f in [InputFormat::CSV_GZ, InputFormat::CSV_ZST] {
        let Some(c) =
            largest(r, "streaming", &Workload::TOP_N, f).filter(|c| c.key.rows == plain.key.rows)
        else {
            continue;
        };
        let disk = c.input_bytes as f64 / plain.input_bytes.max(1) as f64;
        let time = c.wall_ns?.median / plain.wall_ns?.median;
        let extra = heap(c)? - heap(plain)?;
        holds &= disk < 1.0 && extra <= (1 << 20) as f64;
        parts.push(format!(
            "{f}: {:.0} % of the disk, {time:.1}× the time, heap {}",
            disk * 100.0,
            bytes(heap(c)?)
        ));
    }
    if parts.is_empty() {
        return None;
    }
    Some((
        format!(
            "{} (csv: heap {}, {} rows)",
            parts.join("; "),
            bytes(heap(plain)?),
            rows(plain.key.rows)
        ),
        verdict(holds),
    ))
}

fn lean_vs_load_all(r: &Report, workload: &Workload, at_least: f64) -> Found {
    let lean = heap(largest(r, "load-all-lean", workload, InputFormat::CSV)?)?;
    let all = heap(largest(r, "load-all", workload, InputFormat::CSV)?)?;
    let less = 1.0 - lean / all;
    Some((
        format!(
            "{:.0} % less ({} vs {}, {workload})",
            less * 100.0,
            bytes(lean),
            bytes(all)
        ),
        verdict(less >= at_least),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_claims_file_parses_and_every_claim_has_a_rule_or_says_it_has_none() {
        let all = claims();
        assert!(all.len() >= 10);
        let empty = Report::from_records("t", Vec::new());
        for c in &all {
            let (rule, found) = check(&c.id, &empty);
            assert!(!rule.is_empty(), "{}", c.id);
            assert!(
                found.is_none(),
                "{}: nothing measured in an empty run",
                c.id
            );
        }
        assert!(
            evaluate(&empty)
                .iter()
                .all(|r| r.verdict == Verdict::NotMeasured)
        );
    }
}
