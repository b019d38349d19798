//! The process entry point every runner binary calls: parse, run, and on a usage error print a
//! record that says so.

use clap::Parser;

use crate::args::Args;
use crate::execute;
use membench_protocol::{Allocator, ERROR_EXIT_CODE, ErrorKind, RunnerError, RunnerRecord};

/// The process entry point of every runner binary; returns the exit code.
pub fn main(alloc: Allocator) -> i32 {
    let args = Args::parse();
    let job = match args.job() {
        Ok(job) => job,
        Err(e) => return usage_error(&args.strategy_name(), alloc, &e),
    };
    match execute::run(&job, alloc) {
        Ok(code) => code,
        Err(e) => usage_error(&args.strategy_name(), alloc, &e),
    }
}

/// Prints a record with a usage error (and the message on stderr).
fn usage_error(strategy: &str, alloc: Allocator, e: &anyhow::Error) -> i32 {
    let message = format!("{e:#}");
    let record = RunnerRecord {
        strategy: strategy.to_string(),
        allocator: alloc,
        measure: membench_protocol::RunnerMeasure {
            error: Some(RunnerError {
                kind: ErrorKind::Usage,
                message: message.clone(),
            }),
            ..Default::default()
        },
        ..RunnerRecord::default()
    };
    println!(
        "{}",
        serde_json::to_string(&record).expect("records serialize")
    );
    eprintln!("membench-runner: {message}");
    ERROR_EXIT_CODE
}
