//! `compare`: two commands measured side by side on this machine — interleaved A B B A … (so
//! drift, cache warm-up and a busy neighbour fall on both sides alike), each run a fresh process
//! measured by the harness (wall time, peak RSS of its process tree) — and a Mann–Whitney U test
//! per metric, ending in one verdict line per metric.
//!
//! A difference is called only when it is both significant (`p < --alpha`) and at least
//! `--min-effect` in size (the ratio of the medians): with identical sides, a test at α = 1 %
//! alone would still cry wolf once in a hundred comparisons.
//!
//! `--runners DIR_A,DIR_B` compares one cell as two builds run it (the base and the head of a
//! pull request): time and RSS from each build's system-allocator runner, peak heap from its
//! counting runner.
//!
//! Must not: measure in this process, or judge from the medians without the test.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;
use membench_harness::{CellCommand, Scope, run_cell};
use membench_protocol::Status;
use membench_report::format::{bytes, duration_ns};
use membench_report::significance::mann_whitney_p;

use crate::run::external::External;

/// Time two commands interleaved and say whether one is slower or larger, with a test.
#[derive(Args, Debug)]
pub struct CompareArgs {
    /// A side, `NAME=PROGRAM [ARGS…]` (as `run --command`); exactly two, the first is the
    /// reference (`a`), the second is judged against it (`b`).
    #[arg(
        long = "command",
        value_name = "NAME=CMD",
        required_unless_present = "runners"
    )]
    pub commands: Vec<String>,
    /// Instead of commands: one cell run by two builds' runners, `DIR_A,DIR_B` (folders holding
    /// `membench-runner` and `membench-runner-sys`, e.g. the base's and the head's
    /// `target/release`): time and RSS from the system-allocator runner, peak heap from the
    /// counting one, each run interleaved.
    #[arg(long, value_delimiter = ',', value_name = "DIR_A,DIR_B", conflicts_with = "commands",
          requires_all = ["strategy", "input"])]
    pub runners: Vec<PathBuf>,
    /// `--runners`: the cell's strategy.
    #[arg(long)]
    pub strategy: Option<String>,
    /// `--runners`: the cell's workload.
    #[arg(long, default_value = "top-n", value_parser = membench_protocol::Workload::parse)]
    pub workload: membench_protocol::Workload,
    /// `--runners`: the cell's input file (or folder).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Measured runs per side.
    #[arg(long, default_value_t = 20)]
    pub runs: u32,
    /// Unmeasured runs per side before them.
    #[arg(long, default_value_t = 1)]
    pub warmup: u32,
    /// The significance level (two-sided).
    #[arg(long, default_value_t = 0.01)]
    pub alpha: f64,
    /// The smallest difference of the medians called a difference (0.02: 2 %).
    #[arg(long, default_value_t = 0.02)]
    pub min_effect: f64,
    /// Seconds a run may take.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// Exit 1 when the second side is significantly slower or larger (a CI gate).
    #[arg(long)]
    pub fail_on_regression: bool,
    /// Also write every measurement and the verdicts as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// One metric's comparison.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Verdict {
    pub metric: &'static str,
    pub median_a: f64,
    pub median_b: f64,
    /// `median_b / median_a − 1`.
    pub effect: f64,
    /// Two-sided p of the Mann–Whitney U test.
    pub p: f64,
    /// Significant and at least `--min-effect`.
    pub differs: bool,
}

impl Verdict {
    fn line(&self, a: &str, b: &str, fmt: fn(f64) -> String, more: &str, less: &str) -> String {
        let medians = format!(
            "medians {a} {}, {b} {}",
            fmt(self.median_a),
            fmt(self.median_b)
        );
        if self.differs {
            let word = if self.effect > 0.0 { more } else { less };
            format!(
                "{}: {b} is {:.1} % {word} than {a} (p = {:.2e}; {medians})",
                self.metric,
                self.effect.abs() * 100.0,
                self.p
            )
        } else {
            format!(
                "{}: no significant difference (p = {:.2}, {:+.1} %; {medians})",
                self.metric,
                self.p,
                self.effect * 100.0
            )
        }
    }
}

/// One side of a comparison: a command, or a build's runners on one cell.
enum Side {
    Command(External),
    Runners { name: String, dir: PathBuf },
}

impl Side {
    fn name(&self) -> &str {
        match self {
            Side::Command(e) => &e.name,
            Side::Runners { name, .. } => name,
        }
    }
}

/// One run's figures: wall time, peak RSS, and (runners) peak heap.
type Figures = (f64, f64, Option<f64>);

pub fn run(a: CompareArgs) -> Result<i32> {
    let sides = match a.runners.is_empty() {
        true => sides(&a.commands)?.map(Side::Command),
        false => runner_sides(&a.runners)?,
    };
    if a.runs < 5 {
        bail!(
            "--runs {}: at least 5 per side for the test to mean anything",
            a.runs
        );
    }
    if !(a.alpha > 0.0 && a.alpha < 1.0) {
        bail!("--alpha {}: must be between 0 and 1", a.alpha);
    }
    let timeout = Duration::from_secs(a.timeout);
    let job = match (&a.strategy, &a.input) {
        (Some(s), Some(i)) => Some(membench_protocol::CellJob::new(s, a.workload.clone(), i)),
        _ => None,
    };
    let measured = |name: &str, cmd: CellCommand| -> Result<membench_harness::Measured> {
        let m = run_cell(&cmd.timeout(timeout));
        if m.status != Status::Ok {
            let why = m
                .runner
                .as_ref()
                .and_then(|r| r.measure.error.as_ref())
                .map_or_else(|| m.stderr_tail.trim().to_string(), |e| e.message.clone());
            bail!("{name} ended {}: {why}", m.status.name());
        }
        Ok(m)
    };
    let one = |side: &Side| -> Result<Figures> {
        match side {
            Side::Command(e) => {
                // The whole process tree, as `run` measures an external program.
                let cmd = CellCommand::new(&e.program)
                    .args(e.args.clone())
                    .scope(Scope::Tree);
                let m = measured(&e.name, cmd)?;
                Ok((
                    m.process.process_wall_ns as f64,
                    m.process.peak_rss_bytes as f64,
                    None,
                ))
            }
            Side::Runners { name, dir } => {
                let args = job.as_ref().expect("--runners requires a cell").to_args();
                let timed = measured(
                    name,
                    CellCommand::new(dir.join("membench-runner-sys")).args(args.clone()),
                )?;
                let counted = measured(
                    name,
                    CellCommand::new(dir.join("membench-runner")).args(args),
                )?;
                let wall = timed
                    .runner
                    .as_ref()
                    .and_then(|r| r.measure.wall_ns)
                    .unwrap_or(timed.process.process_wall_ns);
                let heap = counted
                    .runner
                    .as_ref()
                    .and_then(|r| r.measure.peak_heap_bytes);
                Ok((
                    wall as f64,
                    timed.process.peak_rss_bytes as f64,
                    heap.map(|h| h as f64),
                ))
            }
        }
    };
    for _ in 0..a.warmup {
        one(&sides[0])?;
        one(&sides[1])?;
    }
    // Per side: times, RSS, heaps.
    let mut got: [(Vec<f64>, Vec<f64>, Vec<f64>); 2] = Default::default();
    for i in 0..a.runs {
        // A B, then B A: each side runs first as often as second.
        let order = if i % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in order {
            let (t, r, h) = one(&sides[side])?;
            got[side].0.push(t);
            got[side].1.push(r);
            got[side].2.extend(h);
        }
        eprint!("\r{}/{} pairs", i + 1, a.runs);
    }
    eprintln!();
    let [(ta, ra, ha), (tb, rb, hb)] = &got;
    let time = judge("time", ta, tb, a.alpha, a.min_effect);
    let rss = judge("peak RSS", ra, rb, a.alpha, a.min_effect);
    let heap = (!ha.is_empty()).then(|| judge("peak heap", ha, hb, a.alpha, a.min_effect));
    let (na, nb) = (sides[0].name(), sides[1].name());
    println!(
        "{} runs each, interleaved; Mann–Whitney U, α = {}, smallest effect {} %",
        a.runs,
        a.alpha,
        a.min_effect * 100.0
    );
    println!("{}", time.line(na, nb, duration_ns, "slower", "faster"));
    println!("{}", rss.line(na, nb, bytes, "larger", "smaller"));
    if let Some(h) = &heap {
        println!("{}", h.line(na, nb, bytes, "larger", "smaller"));
    }
    let verdicts: Vec<&Verdict> = [Some(&time), Some(&rss), heap.as_ref()]
        .into_iter()
        .flatten()
        .collect();
    if let Some(path) = &a.json {
        let doc = serde_json::json!({
            "a": na, "b": nb, "runs": a.runs,
            "wall_ns": {"a": ta, "b": tb}, "peak_rss_bytes": {"a": ra, "b": rb},
            "peak_heap_bytes": {"a": ha, "b": hb},
            "verdicts": verdicts,
        });
        std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")?;
    }
    let regressed = verdicts.iter().any(|v| v.differs && v.effect > 0.0);
    Ok(i32::from(a.fail_on_regression && regressed))
}

/// `--runners DIR_A,DIR_B`: two folders, each holding both runners; named by the folders.
fn runner_sides(dirs: &[PathBuf]) -> Result<[Side; 2]> {
    let [a, b] = dirs else {
        bail!(
            "--runners takes two folders, DIR_A,DIR_B (got {})",
            dirs.len()
        );
    };
    for d in [a, b] {
        for bin in ["membench-runner", "membench-runner-sys"] {
            crate::util::bin(d, bin)?;
        }
    }
    let (na, nb) = (a.display().to_string(), b.display().to_string());
    let (na, nb) = if na == nb {
        (format!("{na} (a)"), format!("{nb} (b)"))
    } else {
        (na, nb)
    };
    Ok([
        Side::Runners {
            name: na,
            dir: a.clone(),
        },
        Side::Runners {
            name: nb,
            dir: b.clone(),
        },
    ])
}

/// The two sides, parsed as `run --command` parses them; placeholders are `run`'s alone.
fn sides(commands: &[String]) -> Result<[External; 2]> {
    let [a, b] = commands else {
        bail!(
            "compare takes exactly two --command NAME=CMD (got {})",
            commands.len()
        );
    };
    let (a, b) = (External::parse(a)?, External::parse(b)?);
    if a.name == b.name {
        bail!("--command {}: give the two sides different names", a.name);
    }
    for e in [&a, &b] {
        if let Some(p) = e.args.iter().find(|x| x.contains('{')) {
            bail!(
                "--command {}: {p}: placeholders are filled by `run`, not by `compare`",
                e.name
            );
        }
    }
    Ok([a, b])
}

/// The comparison of one metric's samples.
pub fn judge(metric: &'static str, a: &[f64], b: &[f64], alpha: f64, min_effect: f64) -> Verdict {
    let median = |v: &[f64]| membench_report::stats::spread(v).map_or(0.0, |s| s.median);
    let (median_a, median_b) = (median(a), median(b));
    let effect = if median_a > 0.0 {
        median_b / median_a - 1.0
    } else {
        0.0
    };
    let p = mann_whitney_p(a, b);
    Verdict {
        metric,
        median_a,
        median_b,
        effect,
        p,
        differs: p < alpha && effect.abs() >= min_effect,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shift_beyond_the_smallest_effect_differs_and_a_tiny_one_does_not() {
        // (The test's p-values: `membench_report::significance`.)
        let a: Vec<f64> = (0..10).map(|i| 100.0 + f64::from(i)).collect();
        let b: Vec<f64> = (0..10).map(|i| 120.0 + f64::from(i)).collect();
        let v = judge("time", &a, &b, 0.01, 0.02);
        assert!(v.differs && v.effect > 0.18, "{v:?}");
        // Significant but tiny: not called a difference.
        let c: Vec<f64> = a.iter().map(|x| x * 1.001 + 0.01).collect();
        assert!(!judge("time", &a, &c, 0.01, 0.02).differs);
    }
}
