//! Checkpoint and resume of `etl`: runs killed (SIGKILL) at many points, then resumed with the
//! same command, finish with the very output of an uninterrupted run — no row lost or doubled.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use membench_datagen::{Format as GenFormat, GenSpec, generate};
use membench_protocol::{CellJob, RunnerRecord, Workload};

const RUNNER: &str = env!("CARGO_BIN_EXE_membench-runner");
const STRATEGIES: [&str; 4] = ["streaming", "chunked", "adaptive", "parallel"];

fn command(strategy: &str, input: &Path, output: &Path) -> Command {
    let job = CellJob {
        output: Some(output.to_path_buf()),
        output_format: Some(membench_protocol::Format::Csv),
        chunk_rows: 20_000,
        checkpoint_every: Some(10_000),
        resume_etl: true,
        ..CellJob::new(strategy, Workload::Etl, input)
    };
    let mut c = Command::new(RUNNER);
    c.args(job.to_args())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn finish(strategy: &str, input: &Path, output: &Path) -> RunnerRecord {
    let out = command(strategy, input, output).output().unwrap();
    assert!(
        out.status.success(),
        "{strategy}: the resumed run failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    RunnerRecord::from_stdout(&String::from_utf8_lossy(&out.stdout)).unwrap()
}

/// Starts a run and kills it `delay` after its first checkpoint appears (or after `delay` when
/// none appears first). Returns whether it was still running when killed.
fn kill_during(strategy: &str, input: &Path, output: &Path, delay: Duration) -> bool {
    let mut checkpoint = output.as_os_str().to_owned();
    checkpoint.push(".checkpoint.json");
    let checkpoint = PathBuf::from(checkpoint);
    // Nobody reads a killed run's stderr: a full pipe must not stall it.
    let mut child = command(strategy, input, output)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !checkpoint.exists() && started.elapsed() < Duration::from_secs(5) {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    std::thread::sleep(delay);
    let running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    running
}

/// A small deterministic generator of delays (no `rand` needed).
struct Delays(u64);

impl Delays {
    fn next(&mut self, max_ms: u64) -> Duration {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        Duration::from_micros((self.0 >> 33) % (max_ms * 1000))
    }
}

#[test]
fn killed_etl_runs_resume_to_byte_identical_output() {
    let dir = tempfile::tempdir().unwrap();
    let spec = GenSpec {
        rows: 200_000,
        row_group_rows: 10_000,
        // Quoted line feeds: a checkpoint's byte offset must fall between whole records.
        messy: true,
        ..GenSpec::default()
    };
    for (format, kills) in [(GenFormat::Csv, 10), (GenFormat::Parquet, 4)] {
        let input = generate(&spec, format, dir.path(), false, &mut |_| {})
            .unwrap()
            .path;
        let reference = dir.path().join("reference.csv");
        let job = CellJob {
            output: Some(reference.clone()),
            output_format: Some(membench_protocol::Format::Csv),
            ..CellJob::new("streaming", Workload::Etl, &input)
        };
        let mut plain = Command::new(RUNNER);
        plain.args(job.to_args());
        assert!(plain.output().unwrap().status.success());
        let want = std::fs::read(&reference).unwrap();
        // A kill between the end's two steps (the checkpoint removed, the whole `.tmp` not yet
        // renamed) leaves a `.tmp` and no checkpoint: the next run starts afresh.
        for strategy in STRATEGIES {
            let output = dir.path().join(format!("{strategy}-renamed.csv"));
            let mut tmp = output.as_os_str().to_owned();
            tmp.push(".tmp");
            std::fs::write(&tmp, &want[..want.len() / 2]).unwrap();
            finish(strategy, &input, &output);
            assert!(std::fs::read(&output).unwrap() == want, "{strategy}");
            assert!(!Path::new(&tmp).exists(), "{strategy}: .tmp left");
        }
        // Two strategies at a time, each with its own delays: a kill lands mid-run as often
        // (the runs are, if anything, slower), in about half the time.
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..2)
                .map(|parity| {
                    let input = &input;
                    let want = &want;
                    scope.spawn(move || {
                        for (i, strategy) in STRATEGIES.iter().enumerate().skip(parity).step_by(2) {
                            kill_and_resume(strategy, input, want, kills, Delays(42 + i as u64));
                        }
                    })
                })
                .collect();
            for w in workers {
                w.join().unwrap();
            }
        });
    }
}

/// `kills` runs of `strategy` killed at `delays`' points (every other resumed run killed
/// too), each then finished: the output is `want`, nothing left behind.
fn kill_and_resume(strategy: &str, input: &Path, want: &[u8], kills: usize, mut delays: Delays) {
    let dir = input.parent().unwrap();
    let format = input.extension().unwrap().to_string_lossy();
    let mut mid_run = 0;
    for k in 0..kills {
        let output = dir.join(format!("{strategy}-{format}-{k}.csv"));
        mid_run += usize::from(kill_during(strategy, input, &output, delays.next(40)));
        // Every other kill point, the resumed run is killed too.
        if k % 2 == 1 {
            kill_during(strategy, input, &output, delays.next(20));
        }
        let r = finish(strategy, input, &output);
        assert_eq!(
            r.measure.rows_read,
            Some(200_000),
            "{strategy} kill {k} {format}"
        );
        let got = std::fs::read(&output).unwrap();
        assert!(
            got == want,
            "{strategy} kill {k} {format}: the resumed output differs ({} vs {} bytes)",
            got.len(),
            want.len()
        );
        // Nothing left behind: no checkpoint, no partial file.
        for leftover in [".checkpoint.json", ".tmp"] {
            let mut p = output.as_os_str().to_owned();
            p.push(leftover);
            assert!(!Path::new(&p).exists(), "{strategy}: {leftover} left");
        }
    }
    assert!(
        mid_run * 2 >= kills,
        "{strategy} {format}: only {mid_run} of {kills} kills landed mid-run"
    );
}

#[test]
fn the_other_strategies_and_bad_combinations_refuse_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let spec = GenSpec {
        rows: 2_000,
        ..GenSpec::default()
    };
    let input = generate(&spec, GenFormat::Csv, dir.path(), false, &mut |_| {})
        .unwrap()
        .path;
    let output = dir.path().join("o.csv");
    for strategy in ["load-all", "lazy", "mmap"] {
        let out = command(strategy, &input, &output).output().unwrap();
        let r = RunnerRecord::from_stdout(&String::from_utf8_lossy(&out.stdout)).unwrap();
        let e = r.measure.error.unwrap().message;
        assert!(
            e.contains("cannot checkpoint and resume"),
            "{strategy}: {e}"
        );
    }
    // Parquet output cannot be appended to.
    let job = CellJob {
        output: Some(dir.path().join("o.parquet")),
        output_format: Some(membench_protocol::Format::Parquet),
        checkpoint_every: Some(10),
        resume_etl: true,
        ..CellJob::new("streaming", Workload::Etl, &input)
    };
    let mut c = Command::new(RUNNER);
    c.args(job.to_args());
    let r =
        RunnerRecord::from_stdout(&String::from_utf8_lossy(&c.output().unwrap().stdout)).unwrap();
    assert!(r.measure.error.unwrap().message.contains("must be CSV"));
    // A checkpoint of another input is refused, not trusted.
    let foreign = serde_json::json!({
        "version": 1, "strategy": "streaming", "input": "/elsewhere/sales.csv",
        "input_bytes": 12345, "at": {"offset": 100, "lines": 2}, "rows_read": 1,
        "rows_skipped": 0, "rows_written": 1, "output_bytes": 10, "output_sha256": "00"
    });
    std::fs::write(
        dir.path().join("o.csv.checkpoint.json"),
        foreign.to_string(),
    )
    .unwrap();
    let out = command("streaming", &input, &output).output().unwrap();
    let r = RunnerRecord::from_stdout(&String::from_utf8_lossy(&out.stdout)).unwrap();
    let e = r.measure.error.unwrap().message;
    assert!(e.contains("the checkpoint is of another run"), "{e}");
}

/// A checkpoint names its input by path, size and a hash of its first and last 64 KiB: an input
/// edited in place (the same size) is refused on resume, never continued from a position that
/// means something else now.
#[test]
fn a_checkpoint_of_an_input_edited_in_place_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let spec = GenSpec {
        rows: 200_000,
        ..GenSpec::default()
    };
    let input = generate(&spec, GenFormat::Csv, dir.path(), false, &mut |_| {})
        .unwrap()
        .path;
    let output = dir.path().join("out.csv");
    let mut checkpoint = output.as_os_str().to_owned();
    checkpoint.push(".checkpoint.json");
    let mut left = false;
    for ms in [2, 5, 10, 20, 40] {
        kill_during("streaming", &input, &output, Duration::from_millis(ms));
        if Path::new(&checkpoint).exists() {
            left = true;
            break;
        }
    }
    assert!(left, "no checkpoint was left by a killed run");
    // The first data line's order id: one digit changed, the size kept.
    let mut bytes = std::fs::read(&input).unwrap();
    let at = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    bytes[at] = if bytes[at] == b'9' { b'8' } else { b'9' };
    std::fs::write(&input, &bytes).unwrap();
    let out = command("streaming", &input, &output).output().unwrap();
    assert!(!out.status.success());
    let r = RunnerRecord::from_stdout(&String::from_utf8_lossy(&out.stdout)).unwrap();
    let err = r.measure.error.unwrap().message;
    assert!(err.contains("changed since the checkpoint"), "{err}");
}
