//! Incremental `top-n` and `group-by` (`--state`): after rows are appended to a file and new
//! files arrive, each increment — also one run after others were killed (SIGKILL) at random
//! points — gives exactly the answer of a full recompute, and reads only what is new.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use membench_datagen::{Format as GenFormat, GenSpec, generate};
use membench_protocol::{CellJob, RunnerRecord, Workload};

const RUNNER: &str = env!("CARGO_BIN_EXE_membench-runner");
const STRATEGIES: [&str; 3] = ["streaming", "parallel", "sqlite"];

fn job(strategy: &str, w: &Workload, input: &Path, state: Option<&Path>) -> CellJob {
    CellJob {
        state: state.map(Path::to_path_buf),
        ..CellJob::new(strategy, w.clone(), input)
    }
}

/// Runs a job to the end: its record, or its error message.
fn run(j: &CellJob) -> Result<RunnerRecord, String> {
    let out = Command::new(RUNNER)
        .args(j.to_args())
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let r = RunnerRecord::from_stdout(&String::from_utf8_lossy(&out.stdout))
        .ok_or_else(|| "no record".to_string())?;
    match (&r.measure.error, out.status.success()) {
        (None, true) => Ok(r),
        (Some(e), _) => Err(e.message.clone()),
        (None, false) => Err(format!("exit {:?}", out.status)),
    }
}

/// The answer digest of a full recompute (no state).
fn recompute(w: &Workload, input: &Path) -> String {
    run(&job("streaming", w, input, None))
        .unwrap()
        .measure
        .answer_digest
        .unwrap()
}

/// A generated CSV file's data rows (its bytes after the header line).
fn data_rows(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    let header_end = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    bytes[header_end..].to_vec()
}

fn csv(dir: &Path, rows: u64, seed: u64) -> PathBuf {
    let spec = GenSpec {
        rows,
        seed,
        // Quoted line feeds: a watermark must fall between whole records.
        messy: true,
        ..GenSpec::default()
    };
    generate(&spec, GenFormat::Csv, dir, false, &mut |_| {})
        .unwrap()
        .path
}

fn append(path: &Path, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

/// Whatever the state folder holds besides the state and its lock (a temporary file or a
/// journal left).
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "state" && !n.ends_with(".lock"))
        .collect()
}

#[test]
fn increments_equal_a_full_recompute_and_read_only_what_is_new() {
    let gen_dir = tempfile::tempdir().unwrap();
    let a = csv(gen_dir.path(), 60_000, 1);
    let b = csv(gen_dir.path(), 6_000, 2);
    let c = csv(gen_dir.path(), 3_000, 3);
    let mut delays = 17u64;
    for w in [Workload::TOP_N, Workload::GroupBy] {
        for strategy in STRATEGIES {
            let work = tempfile::tempdir().unwrap();
            let folder = work.path().join("data");
            std::fs::create_dir(&folder).unwrap();
            let part0 = folder.join("part-0.csv");
            std::fs::copy(&a, &part0).unwrap();
            let states = work.path().join("states");
            std::fs::create_dir(&states).unwrap();
            // The kernel strategies' state is JSON, sqlite's a database: one name for both.
            let state = states.join("state");
            let inc = job(strategy, &w, &folder, Some(&state));
            let label = format!("{strategy} {w}");

            // 1. The first run reads everything and starts the state.
            let first = run(&inc).unwrap();
            assert_eq!(
                first.measure.answer_digest.unwrap(),
                recompute(&w, &folder),
                "{label}: first run"
            );
            let full_read = first.measure.read_bytes.unwrap();
            assert!(
                full_read >= std::fs::metadata(&part0).unwrap().len(),
                "{label}: the first run read {full_read} bytes, less than the file"
            );

            // 2. Rows appended to the file: only they are read.
            let appended = data_rows(&b);
            append(&part0, &appended);
            let second = run(&inc).unwrap();
            assert_eq!(
                second.measure.answer_digest.unwrap(),
                recompute(&w, &folder),
                "{label}: after rows were appended"
            );
            assert_eq!(
                second.measure.new_input_bytes,
                Some(appended.len() as u64),
                "{label}: the watermark moved by the appended bytes exactly"
            );
            let read = second.measure.read_bytes.unwrap();
            assert!(
                read < full_read / 4,
                "{label}: the increment read {read} bytes of the appended {} (the first run \
                 read {full_read})",
                appended.len()
            );

            // 3. A new file arrives; increments are killed at random points, then one finishes.
            std::fs::copy(&c, folder.join("part-1.csv")).unwrap();
            let mut mid_run = 0;
            for _ in 0..6 {
                let mut child = Command::new(RUNNER)
                    .args(inc.to_args())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                delays = delays
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                std::thread::sleep(Duration::from_micros((delays >> 33) % 30_000));
                mid_run += usize::from(child.try_wait().unwrap().is_none());
                child.kill().unwrap();
                child.wait().unwrap();
            }
            assert!(
                mid_run >= 2,
                "{label}: only {mid_run} of 6 kills landed mid-run"
            );
            let third = run(&inc).unwrap();
            assert_eq!(
                third.measure.answer_digest.clone().unwrap(),
                recompute(&w, &folder),
                "{label}: after a new file and killed increments"
            );
            // 4. Nothing new: the same answer, and no file is read again.
            let fourth = run(&inc).unwrap();
            assert_eq!(
                fourth.measure.answer_digest, third.measure.answer_digest,
                "{label}"
            );
            assert_eq!(fourth.measure.new_input_bytes, Some(0), "{label}");
            // (sqlite reads its database to answer: only the kernel's reads are the input's.)
            assert!(
                strategy == "sqlite" || fourth.measure.read_bytes.unwrap() < 1 << 20,
                "{label}: nothing new, yet {} bytes read",
                fourth.measure.read_bytes.unwrap()
            );
            assert!(
                leftovers(&states).is_empty(),
                "{label}: {:?}",
                leftovers(&states)
            );
            let mode = std::os::unix::fs::PermissionsExt::mode(
                &std::fs::metadata(&state).unwrap().permissions(),
            );
            assert_eq!(mode & 0o077, 0, "{label}: the state is readable by others");
        }
    }
}

#[test]
fn a_bad_appended_row_is_named_by_its_line_and_changed_inputs_are_refused() {
    let gen_dir = tempfile::tempdir().unwrap();
    let a = csv(gen_dir.path(), 5_000, 4);
    let lines = std::fs::read(&a)
        .unwrap()
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    for strategy in STRATEGIES {
        let work = tempfile::tempdir().unwrap();
        let file = work.path().join("sales.csv");
        std::fs::copy(&a, &file).unwrap();
        let state = work.path().join("state");
        let inc = job(strategy, &Workload::GroupBy, &file, Some(&state));
        run(&inc).unwrap();
        // The appended row's line is the one after the file's last: the watermark kept the
        // physical line count.
        append(&file, b"1,2024-01-01,books,x,2,10.00,note\n");
        let e = run(&inc).unwrap_err();
        assert!(
            e.contains(&format!("sales.csv:{}", lines + 1)),
            "{strategy}: {e}"
        );
        // The failed run saved nothing: with the bad row gone, the state goes on.
        std::fs::copy(&a, &file).unwrap();
        run(&inc).unwrap();
        // Another workload's aggregate is refused (sqlite keeps the rows: any aggregate
        // continues), and so is another input's state and a file changed in place.
        let other = job(strategy, &Workload::TOP_N, &file, Some(&state));
        match strategy {
            "sqlite" => {
                assert_eq!(
                    run(&other).unwrap().measure.answer_digest.unwrap(),
                    recompute(&Workload::TOP_N, &file)
                );
                // A state begun by top-n makes its group-by summary from every row when a
                // group-by first asks, then keeps it.
                let fresh = work.path().join("fresh");
                run(&job(strategy, &Workload::TOP_N, &file, Some(&fresh))).unwrap();
                let g = job(strategy, &Workload::GroupBy, &file, Some(&fresh));
                for _ in 0..2 {
                    assert_eq!(
                        run(&g).unwrap().measure.answer_digest.unwrap(),
                        recompute(&Workload::GroupBy, &file)
                    );
                    append(&file, &data_rows(&a));
                }
                std::fs::copy(&a, &file).unwrap();
            }
            _ => {
                let e = run(&other).unwrap_err();
                assert!(e.contains("written for group-by"), "{strategy}: {e}");
            }
        }
        let elsewhere = work.path().join("copy.csv");
        std::fs::copy(&file, &elsewhere).unwrap();
        let e = run(&job(strategy, &Workload::GroupBy, &elsewhere, Some(&state))).unwrap_err();
        assert!(e.contains("it describes the input"), "{strategy}: {e}");
        let mut bytes = std::fs::read(&a).unwrap();
        let at = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
        bytes[at] = if bytes[at] == b'9' { b'8' } else { b'9' };
        std::fs::write(&file, &bytes).unwrap();
        let e = run(&inc).unwrap_err();
        assert!(e.contains("changed in place"), "{strategy}: {e}");
        assert!(e.contains("sales.csv"), "{strategy}: {e}");
    }
    // A strategy without an incremental mode refuses, naming those that have one.
    let work = tempfile::tempdir().unwrap();
    let e = run(&job(
        "chunked",
        &Workload::GroupBy,
        &a,
        Some(&work.path().join("s.json")),
    ))
    .unwrap_err();
    assert!(e.contains("streaming, parallel, sqlite"), "{e}");
}
