//! `recommend`'s predictions, measured: fitted on runs at 10k–300k rows, its predictions at 1M
//! rows are compared with a real 1M-row run of the same strategies.

use std::path::{Path, PathBuf};

use membench_protocol::{InputFormat, Workload};
use membench_report::predict::{Fits, recommend};
use membench_report::record::read_records;

/// The runner and generator that `cargo test --release --workspace` built next to this test.
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

fn run(out: &Path, data: &Path, rows: &str) {
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "run",
            "--rows",
            rows,
            "--format",
            "csv",
            "--workload",
            "top-n",
        ])
        .args([
            "--strategy",
            "streaming,load-all,chunked",
            "--repeat",
            "1",
            "--no-report",
        ])
        .arg("--datasets")
        .arg(data)
        .arg("--out")
        .arg(out)
        .env("MEMBENCH_BIN_DIR", bin_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

/// The stated accuracy: memory within 1.5× either way, time within 2× (a 2-core machine's
/// time at 1M rows is noisier than its memory).
#[test]
fn predictions_at_1m_from_10k_to_300k_are_within_the_stated_factor() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("datasets");
    let (small, large) = (tmp.path().join("small"), tmp.path().join("large"));
    run(&small, &data, "10k,30k,100k,300k");
    run(&large, &data, "1m");
    let fitted = read_records(&small.join("results.jsonl")).unwrap();
    let (ranked, _) = recommend(&fitted, &top_n_csv(), 1_000_000, 1 << 40);
    let (measured, _) = recommend(
        &read_records(&large.join("results.jsonl")).unwrap(),
        &top_n_csv(),
        1_000_000,
        1 << 40,
    );
    // A one-size run has nothing to fit: read its medians straight from the records.
    let actual = |strategy: &str, pick: &dyn Fn(&membench_report::record::Record) -> f64| {
        let rs: Vec<f64> = read_records(&large.join("results.jsonl"))
            .unwrap()
            .iter()
            .filter(|r| {
                r.strategy == strategy && r.allocator == membench_protocol::Allocator::System
            })
            .map(pick)
            .collect();
        rs[0]
    };
    assert!(measured.is_empty(), "one size: nothing to fit");
    for c in &ranked {
        let mem = actual(&c.strategy, &|r| r.process.peak_rss_anon_bytes as f64);
        let time = actual(&c.strategy, &|r| r.measure.wall_ns.unwrap() as f64);
        let (em, et) = (c.memory_bytes.mid / mem, c.wall_ns.mid / time);
        eprintln!(
            "{}: memory predicted/measured {em:.2}, time {et:.2}",
            c.strategy
        );
        assert!(
            (1.0 / 1.5..=1.5).contains(&em),
            "{}: predicted memory {} vs measured {mem} ({em:.2}×)",
            c.strategy,
            c.memory_bytes.mid
        );
        assert!(
            (0.5..=2.0).contains(&et),
            "{}: predicted time {} vs measured {time} ({et:.2}×)",
            c.strategy,
            c.wall_ns.mid
        );
    }
    // And the ranking under a budget load-all cannot meet at 10M rows.
    let (ranked, _) = recommend(&fitted, &top_n_csv(), 10_000_000, 256 << 20);
    let load_all = ranked.iter().find(|c| c.strategy == "load-all").unwrap();
    assert_eq!(load_all.fits, Fits::No, "{}", load_all.why);
    assert!(load_all.why.contains("does not fit"));
    assert_eq!(ranked[0].fits, Fits::Yes);
    assert_ne!(ranked[0].strategy, "load-all");

    // --verify-all: every strategy predicted to fit 64 MiB at 1M rows is run under it (the
    // 1M table is already generated) and is ok, its prediction error printed.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "recommend",
            "--workload",
            "top-n",
            "--rows",
            "1m",
            "--memory",
            "64MiB",
        ])
        .arg("--from")
        .arg(&small)
        .arg("--datasets")
        .arg(&data)
        .arg("--verify-all")
        .env("MEMBENCH_BIN_DIR", bin_dir())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (predicted, _) = recommend(&fitted, &top_n_csv(), 1_000_000, 64 << 20);
    let fit: Vec<&str> = predicted
        .iter()
        .filter(|c| c.fits == Fits::Yes)
        .map(|c| c.strategy.as_str())
        .collect();
    assert!(
        fit.contains(&"streaming") && !fit.contains(&"load-all"),
        "{fit:?}"
    );
    for s in &fit {
        assert!(
            text.contains(&format!("verify: {s} at 1m rows under 64.0 MiB: ok")),
            "{s}: {text}"
        );
    }
    assert_eq!(text.matches("verify: ").count(), fit.len(), "{text}");
}

/// The group of the default table's top-n on CSV.
fn top_n_csv() -> membench_protocol::GroupKey {
    membench_protocol::GroupKey {
        workload: Workload::TOP_N,
        format: InputFormat::CSV,
        shape: Default::default(),
    }
}
