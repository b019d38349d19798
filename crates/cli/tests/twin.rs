//! `membench gen --like`: a twin's errors come out as every strategy's do (file, line, column,
//! value), and options that do not apply to a twin are refused. The twin's fidelity is tested
//! in `crates/twin/tests/fidelity.rs`.

#[test]
fn like_on_a_file_with_a_type_break_names_file_line_column_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    let mut text = String::from("id,amount\n");
    // After the 20 000 rows the types are inferred from.
    for i in 0..20_100 {
        text.push_str(&format!("{i},{i}.5\n"));
    }
    text.push_str("20100,twelve\n");
    std::fs::write(&bad, text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_membench"))
        .args(["gen", "--like"])
        .arg(&bad)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a type break must fail: {err}");
    for part in ["bad.csv:20102:", "column 2 (amount)", "\"twelve\""] {
        assert!(err.contains(part), "{part:?} missing from: {err}");
    }
    assert!(
        !dir.path().join("out").exists()
            || std::fs::read_dir(dir.path().join("out")).unwrap().count() == 0,
        "nothing written"
    );
}

#[test]
fn knobs_and_like_do_not_mix() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_membench"))
        .args(["gen", "--like", "x.csv", "--skew", "zipf:1.1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("shape knobs"));
}

#[test]
fn fidelity_prints_original_against_twin_per_column() {
    let dir = tempfile::tempdir().unwrap();
    let penguins =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/public/penguins.csv");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_membench"))
        .args(["gen", "--like"])
        .arg(&penguins)
        .args(["--scale", "1x,2x", "--fidelity", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("| species | string | 0.000 / 0.000 | 3 / 3 | Adelie / Adelie |"),
        "{text}"
    );
    assert!(dir.path().join("penguins-twin-344-s42.csv").is_file());
    assert!(
        dir.path()
            .join("penguins-twin-688-s42.csv.meta.json")
            .is_file()
    );
}
