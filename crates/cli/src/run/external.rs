//! Any program as a strategy: `--command 'name=program arg {input} {workload}'`.
//!
//! The command is split into words (no shell: `'…'` and `"…"` group words, nothing else is
//! special) and its placeholders substituted per cell: `{input}`, `{items}` (the join's second
//! table), `{workload}`, `{format}`, `{rows}`, `{output}` (where `etl` writes), `{threads}`,
//! `{query}` (a user's query: the path of its JSON spec, `peers/membench_answer.py` says what).
//! It runs in its own process group under the run's timeout and budget (a kernel limit: the
//! counting allocator cannot see into another program), measured on its whole process tree.
//! Its answer is the last line of its standard output, if that is the canonical answer JSON
//! (`membench_kernel::Answer`; see `peers/README.md`): compared with the reference like any
//! strategy's. A command that prints no answer is `unchecked`, not wrong.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use membench_harness::{CellCommand, Measured, Scope};
use membench_kernel::Answer;
use membench_protocol::{RunnerMeasure, RunnerRecord};

use super::cell::Cell;

/// A validated `--command`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct External {
    pub name: String,
    /// The program, resolved (on `PATH`, or relative to the working directory).
    pub program: PathBuf,
    /// Its arguments, with placeholders.
    pub args: Vec<String>,
}

/// A name a user gives (a `--command`'s, a `--label`): it names files, report columns and page
/// elements, so it is 1–64 characters of ASCII letters, digits, `-`, `_` and `.`, starting with
/// a letter or a digit.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        bail!(
            "the name {name:?} is not allowed: use 1–64 ASCII letters, digits, '-', '_' or '.', \
             starting with a letter or a digit (it names files, report columns and page elements)"
        );
    }
    Ok(())
}

/// Splits a command line into words: whitespace separates, quotes group.
pub fn split_words(s: &str) -> Result<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for ch in s.chars() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(ch);
                word.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(q) = quote {
        bail!("unclosed {q} in {s:?}");
    }
    words.extend(word);
    Ok(words)
}

/// Finds a program: a path as given when it holds a `/`, else the first match on `PATH`.
pub fn resolve(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return p.is_file().then(|| std::path::absolute(&p).unwrap_or(p));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

const PLACEHOLDERS: &[&str] = &[
    "{input}",
    "{items}",
    "{workload}",
    "{format}",
    "{rows}",
    "{output}",
    "{threads}",
    "{query}",
];

/// The `{name}` words of an argument (lowercase letters and `_` between braces); other braces,
/// such as JSON's, are text.
fn placeholders(arg: &str) -> impl Iterator<Item = &str> {
    arg.match_indices('{').filter_map(|(at, _)| {
        let end = at + arg[at..].find('}')?;
        let inner = &arg[at + 1..end];
        (!inner.is_empty() && inner.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .then(|| &arg[at..=end])
    })
}

impl External {
    /// Parses `name=program args…`; refuses a name of a built-in strategy, an unknown
    /// placeholder and a program that cannot be found, saying which.
    pub fn parse(spec: &str) -> Result<External> {
        let Some((name, line)) = spec.split_once('=') else {
            bail!("--command {spec:?}: expected NAME=PROGRAM [ARGS…]");
        };
        let name = name.trim();
        check_name(name).map_err(|e| anyhow::anyhow!("--command {spec:?}: {e}"))?;
        if membench_protocol::strategy(name).is_some() {
            bail!("--command {name}: a built-in strategy has that name");
        }
        let mut words = split_words(line)?.into_iter();
        let Some(program) = words.next() else {
            bail!("--command {name}: no program after '='");
        };
        let args: Vec<String> = words.collect();
        for a in &args {
            if let Some(p) = placeholders(a).find(|p| !PLACEHOLDERS.contains(p)) {
                bail!(
                    "--command {name}: unknown placeholder {p} (known: {})",
                    PLACEHOLDERS.join(" ")
                );
            }
        }
        let Some(resolved) = resolve(&program) else {
            bail!("--command {name}: program {program:?} not found (not a file, not on PATH)");
        };
        Ok(External {
            name: name.to_string(),
            program: resolved,
            args,
        })
    }

    /// The process to start for `cell`.
    pub fn command(
        &self,
        cell: &Cell,
        threads: usize,
        output: Option<&Path>,
        query: Option<&Path>,
    ) -> CellCommand {
        let value = |placeholder: &str| -> Option<String> {
            let path = |p: Option<&Path>| p.map(|p| p.to_string_lossy().into_owned());
            Some(match placeholder {
                "{input}" => cell.dataset.path.to_string_lossy().into_owned(),
                "{items}" => path(cell.dataset.items.as_deref()).unwrap_or_default(),
                "{workload}" => cell.workload.name().to_string(),
                "{format}" => cell.dataset.format.name().to_string(),
                "{rows}" => cell.dataset.rows.to_string(),
                "{output}" => path(output).unwrap_or_default(),
                "{threads}" => threads.to_string(),
                "{query}" => path(query).unwrap_or_default(),
                _ => return None,
            })
        };
        CellCommand::new(&self.program)
            .args(self.args.iter().map(|a| substitute(a, value)))
            .scope(Scope::Tree)
    }
}

/// `arg` with each placeholder replaced by its value, in one pass: a value is never searched for
/// placeholders again (a dataset path holding `{output}` stays that path).
fn substitute(arg: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(arg.len());
    let mut rest = arg;
    for p in placeholders(arg) {
        // `placeholders` yields sub-slices of `arg` in order.
        let at = p.as_ptr() as usize - rest.as_ptr() as usize;
        out.push_str(&rest[..at]);
        match value(p) {
            Some(v) => out.push_str(&v),
            None => out.push_str(p),
        }
        rest = &rest[at + p.len()..];
    }
    out.push_str(rest);
    out
}

/// What an external program's run amounts to, as a runner's record: its answer's digest (when
/// its last output line is an answer), its process wall time; heap is not known.
pub fn as_runner_record(m: &Measured, cell: &Cell) -> (RunnerRecord, AnswerCheck) {
    let line = m.stdout_last_line.trim();
    let (answer, check) = if !line.starts_with('{') {
        (None, AnswerCheck::Unchecked)
    } else {
        match serde_json::from_str::<Answer>(line) {
            Ok(a) => (Some(a), AnswerCheck::Checked),
            Err(e) => (None, AnswerCheck::Unreadable(e.to_string())),
        }
    };
    let digest = answer.as_ref().map(Answer::digest);
    // A user's query keeps the answer, to be compared value by value with the reference's.
    let answer = answer
        .as_ref()
        .filter(|_| cell.workload.query().is_some())
        .and_then(|a| serde_json::to_value(a).ok());
    let r = RunnerRecord {
        strategy: cell.strategy.clone(),
        workload: Some(cell.workload.clone()),
        measure: RunnerMeasure {
            answer_digest: digest,
            answer,
            wall_ns: Some(m.process.process_wall_ns),
            ..Default::default()
        },
        ..Default::default()
    };
    (r, check)
}

/// Whether an external program's answer could be compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnswerCheck {
    /// Its last output line is an answer.
    Checked,
    /// It printed no answer: recorded as `unchecked`, not wrong.
    Unchecked,
    /// Its last line looks like JSON but is not an answer: wrong, with the reason.
    Unreadable(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_substituted_once() {
        let value = |p: &str| match p {
            "{input}" => Some("/data/{output}/x.csv".to_string()),
            "{output}" => Some("/out/o.csv".to_string()),
            _ => None,
        };
        assert_eq!(
            substitute("--in={input} --out {output} {json}", value),
            "--in=/data/{output}/x.csv --out /out/o.csv {json}"
        );
        assert_eq!(substitute("plain", value), "plain");
    }

    #[test]
    fn words_split_on_whitespace_and_quotes_group_them() {
        assert_eq!(
            split_words(r#"python3 -c 'print(1 + 2)' "a b" {input}"#).unwrap(),
            ["python3", "-c", "print(1 + 2)", "a b", "{input}"]
        );
        assert_eq!(split_words("x ''").unwrap(), ["x", ""]);
        assert!(split_words("x 'open").is_err());
    }

    #[test]
    fn a_spec_is_validated_with_reasons() {
        let e = External::parse("py=sh -c 'echo {input} {workload}'").unwrap();
        assert_eq!(e.name, "py");
        assert!(e.program.ends_with("sh"));
        let err = |s: &str| External::parse(s).unwrap_err().to_string();
        assert!(err("nothing").contains("NAME=PROGRAM"));
        for bad in ["<!--<script>", "a|b", "a,b", "a\"b", "a b", "-x", ""] {
            assert!(
                err(&format!("{bad}=sh")).contains("is not allowed"),
                "{bad:?}"
            );
        }
        assert!(err("streaming=sh").contains("built-in"));
        assert!(err("x=sh {inptu}").contains("unknown placeholder {inptu}"));
        assert!(err("x=no-such-program-anywhere").contains("not found"));
        assert!(err("x=").contains("no program"));
        // JSON in an argument is text, not a placeholder.
        assert!(External::parse(r#"x=printf %s '{"workload":"top-n"}'"#).is_ok());
    }
}
