//! `cargo xtask list`: strategies (from the runner's registry) and workloads.

use std::process::Command;

use anyhow::{Context, Result};

use crate::util::{bin, binaries};

pub fn run() -> Result<()> {
    let dir = binaries(false)?;
    let out = Command::new(bin(&dir, "membench-runner")?)
        .arg("--list")
        .output()
        .context("running membench-runner --list")?;
    println!("strategies:");
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).context("parsing the runner's list")?;
        println!(
            "  {:<16} {:<9} {}",
            v["name"].as_str().unwrap_or(""),
            v["growth"].as_str().unwrap_or(""),
            v["description"].as_str().unwrap_or("")
        );
    }
    println!("workloads:");
    for w in membench_kernel::Workload::ALL {
        let what = match w {
            membench_kernel::Workload::TopN => {
                "100 largest orders by quantity × price above 1000, ties by order_id"
            }
            membench_kernel::Workload::GroupBy => {
                "per category: rows, sum of quantity, sum of quantity × price (exact cents)"
            }
            membench_kernel::Workload::Etl => {
                "clean every row (trim, lowercase, cents, net total), write it in input order; \
                 answer: rows written and the output's sha256"
            }
        };
        println!("  {:<16} {what}", w.name());
    }
    println!("formats: csv, parquet");
    Ok(())
}
