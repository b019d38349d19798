//! The driver's loop: for each group (workload × dataset) its input files read once into the
//! page cache and a reference answer, then each cell's warm-up (see [`Warmed`]) and its
//! counting-allocator repetitions (heap), and, for cells whose heap repetitions ended ok, the
//! time repetitions — a database's or external program's one after another, the in-process
//! engines' interleaved across the group's cells (`Driver::run_group`). Every repetition becomes
//! one record in the sink before the next one runs; the ledger says what a resumed run has
//! already done.

use std::collections::BTreeMap;

use anyhow::Result;
use indicatif::ProgressBar;
use membench_protocol::{Allocator, Status};

use super::cell::{Cell, Group};
use super::executor::Executor;
use super::ledger::{Ledger, SeriesKey, Sink};
use super::record::{RecordContext, Reference, make};

/// What the loop did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Driven {
    pub records: usize,
    pub wrong_answers: usize,
}

/// The series a cell is measured in: heap under the counting allocator, then time under the
/// system allocator — and for a Polars strategy also under mimalloc, the allocator Polars
/// recommends (its users' time; the system figure kept beside it) — or, for an external program
/// (`--command`, not in the registry), whose heap no allocator of ours sees, the system one alone.
pub fn series(cell: &Cell) -> &'static [Allocator] {
    match membench_protocol::strategy(&cell.strategy) {
        Some(s) if s.engine == membench_protocol::Engine::Polars => {
            &[Allocator::Counting, Allocator::System, Allocator::Mimalloc]
        }
        Some(_) => &[Allocator::Counting, Allocator::System],
        None => &[Allocator::System],
    }
}

/// What an uncounted warm-up run is for, and when a cell still needs one. A runner process
/// shares nothing with the next but the page cache and the binaries on disk: the group's input
/// files are read through before its cells ([`Executor::warm_inputs`]), so an in-process
/// engine (the kernel, Polars) needs a warm-up only for a runner binary that has not run yet
/// in this session. A database strategy (a server, a database file that outlives the process) and an
/// external program (an interpreter, its imports) keep a warm-up per cell.
#[derive(Debug, Default)]
pub struct Warmed {
    warm: std::collections::BTreeSet<Allocator>,
    /// `--no-warmup`: no cell gets one.
    off: bool,
}

impl Warmed {
    /// Warm-ups as the run's settings say (`--no-warmup`: none).
    pub fn new(warmup: bool) -> Warmed {
        Warmed {
            off: !warmup,
            ..Warmed::default()
        }
    }

    /// The allocators `cell` is to be warmed up under (and notes them as warm).
    pub fn needed(&mut self, cell: &Cell) -> Vec<Allocator> {
        if self.off {
            return Vec::new();
        }
        if !in_process(cell) {
            return vec![Allocator::System];
        }
        series(cell)
            .iter()
            .copied()
            .filter(|&a| self.warm.insert(a))
            .collect()
    }
}

/// Repetitions still to run for `cell`: (counting, timed — every other series).
pub fn remaining(ledger: &Ledger, cell: &Cell, repeat: u32) -> (u32, u32) {
    let left = |a: Allocator| repeat.saturating_sub(ledger.count(&SeriesKey::of(cell, a)));
    series(cell).iter().fold((0, 0), |(c, t), &a| match a {
        Allocator::Counting => (c + left(a), t),
        _ => (c, t + left(a)),
    })
}

/// The loop over a run's groups, with everything it needs.
pub struct Driver<'a> {
    pub repeat: u32,
    /// Strategies that cannot run here, with the reason: their cells get one `skipped`
    /// record each instead of running.
    pub unavailable: &'a BTreeMap<String, String>,
    pub exec: &'a mut dyn Executor,
    pub ledger: &'a mut Ledger,
    pub sink: &'a mut dyn Sink,
    pub cx: &'a RecordContext<'a>,
    pub bar: ProgressBar,
    pub warmed: Warmed,
}

impl Driver<'_> {
    /// Total repetitions still to run (for the progress bar); an unavailable strategy runs none.
    pub fn planned(&self, groups: &[Group]) -> u64 {
        groups
            .iter()
            .flat_map(|g| g.cells())
            .filter(|c| self.skipped_why(c).is_none())
            .map(|c| {
                let (a, b) = remaining(self.ledger, &c, self.repeat);
                u64::from(a + b)
            })
            .sum()
    }

    /// Why a cell is recorded as skipped instead of run: its strategy is unavailable here, or
    /// it does not run this user's query (the registry's [`membench_protocol::Queries`]).
    fn skipped_why(&self, c: &Cell) -> Option<String> {
        if let Some(why) = self.unavailable.get(&c.strategy) {
            return Some(why.clone());
        }
        c.workload.query()?;
        let info = membench_protocol::strategy(&c.strategy)?;
        info.queries
            .refusal(info.name, c.workload.is_join(), c.workload.groups())
            .map(|why| format!("skipped: {why}"))
    }

    /// Runs every group.
    pub fn drive(&mut self, groups: &[Group]) -> Result<Driven> {
        let mut driven = Driven::default();
        for g in groups {
            let todo: Vec<Cell> = g
                .cells()
                .filter(|c| remaining(self.ledger, c, self.repeat) != (0, 0))
                .collect();
            let (skipped, todo): (Vec<Cell>, Vec<Cell>) = todo
                .into_iter()
                .partition(|c| self.skipped_why(c).is_some());
            for cell in &skipped {
                self.record_skipped(cell, &mut driven)?;
            }
            let Some(first) = todo.first() else { continue };
            let files: Vec<String> = std::iter::once(&first.dataset.path)
                .chain(&first.dataset.items)
                .map(|p| p.display().to_string())
                .collect();
            self.bar.set_message(format!(
                "reading {} into the page cache",
                files.join(" and ")
            ));
            self.exec.warm_inputs(&first.dataset);
            self.bar
                .set_message(format!("reference answer for {}", first.label()));
            let expected = self.reference(first, &g.strategies);
            let usual = membench_protocol::reference_strategy();
            if let Some(r) = expected.as_ref().filter(|r| r.strategy != usual) {
                self.bar.println(format!(
                    "{usual} failed on {}: the answers are compared with {}'s",
                    first.label(),
                    r.strategy
                ));
            }
            self.run_group(&todo, expected.as_ref(), &mut driven)?;
        }
        Ok(driven)
    }

    /// The reference answer of a group: the registry's reference strategy's, or, when it fails
    /// on this input, the first of the group's built-in strategies that runs ok (the others are
    /// still compared, and disagreements still recorded as wrong answers). `None` when none
    /// does.
    fn reference(&mut self, first: &Cell, strategies: &[String]) -> Option<Reference> {
        let usual = membench_protocol::reference_strategy();
        let candidates = std::iter::once(usual).chain(
            strategies
                .iter()
                .map(String::as_str)
                .filter(|s| *s != usual && membench_protocol::strategy(s).is_some()),
        );
        for s in candidates {
            let m = self
                .exec
                .execute(&first.with_strategy(s), Allocator::System);
            if m.status != Status::Ok {
                continue;
            }
            if let Some(r) = m.runner
                && let Some(digest) = r.measure.answer_digest
            {
                return Some(Reference {
                    strategy: s.to_string(),
                    digest,
                    answer: r.measure.answer,
                });
            }
        }
        None
    }

    /// One `skipped` record for a cell that cannot run here (none if a resumed run has it).
    fn record_skipped(&mut self, cell: &Cell, driven: &mut Driven) -> Result<()> {
        if self.ledger.count(&SeriesKey::of(cell, Allocator::Counting)) > 0 {
            return Ok(());
        }
        let why = self.skipped_why(cell).unwrap_or_default();
        let m = membench_harness::Measured::skipped(&why);
        let rec = make(self.cx, cell, Allocator::Counting, 1, &m, None);
        self.sink.append(&rec)?;
        self.ledger.add(rec);
        driven.records += 1;
        Ok(())
    }

    /// A group's cells: each one's warm-up and heap repetitions in turn; a database or external
    /// program's time repetitions right after them, its caches as its warm-up left them; the
    /// in-process engines' time repetitions (kernel, Polars: the group's input already in the
    /// page cache, nothing else surviving a runner process) interleaved across the cells —
    /// round `r` runs every cell's `r`-th — so a burst of machine noise lifts one repetition of
    /// several cells rather than every repetition of one (a cell's fastest repetition, which
    /// time is read from, then stays on the floor; and no strategy is favoured by when it ran).
    fn run_group(
        &mut self,
        todo: &[Cell],
        expected: Option<&Reference>,
        driven: &mut Driven,
    ) -> Result<()> {
        let mut interleaved = Vec::new();
        for cell in todo {
            let name = cell.label();
            for allocator in self.warmed.needed(cell) {
                self.bar
                    .set_message(format!("{name} (warm-up, {})", allocator.name()));
                let _ = self.exec.execute(cell, allocator);
            }
            if series(cell).contains(&Allocator::Counting) {
                for rep in 1..=self.repeat {
                    self.repetition(cell, Allocator::Counting, rep, expected, driven)?;
                }
            }
            if in_process(cell) {
                interleaved.push(cell);
            } else {
                for &allocator in timed(cell) {
                    for rep in 1..=self.repeat {
                        self.repetition(cell, allocator, rep, expected, driven)?;
                    }
                }
            }
        }
        for rep in 1..=self.repeat {
            for cell in &interleaved {
                for &allocator in timed(cell) {
                    self.repetition(cell, allocator, rep, expected, driven)?;
                }
            }
        }
        Ok(())
    }

    /// Repetition `rep` of a cell's series, unless the ledger has it (a resumed run) or it is a
    /// time repetition of a cell whose heap repetitions did not all end ok (a cell that is oom,
    /// an error or wrong has its status already, and more runs would not change it).
    fn repetition(
        &mut self,
        cell: &Cell,
        allocator: Allocator,
        rep: u32,
        expected: Option<&Reference>,
        driven: &mut Driven,
    ) -> Result<()> {
        let key = SeriesKey::of(cell, allocator);
        if self.ledger.count(&key) >= rep {
            return Ok(());
        }
        if allocator != Allocator::Counting
            && series(cell).contains(&Allocator::Counting)
            && !self
                .ledger
                .all_ok(&SeriesKey::of(cell, Allocator::Counting))
        {
            return Ok(());
        }
        let name = cell.label();
        self.bar
            .set_message(format!("{name} ({} #{rep})", allocator.name()));
        let m = self.exec.execute(cell, allocator);
        let rec = make(self.cx, cell, allocator, rep, &m, expected);
        if rec.status == Status::WrongAnswer {
            driven.wrong_answers += 1;
            self.bar.println(format!(
                "WRONG ANSWER: {name}: {:?} != the reference's ({}) {:?}",
                rec.measure.answer_digest,
                expected.map_or("-", |r| r.strategy.as_str()),
                expected.map(|r| &r.digest)
            ));
        }
        self.sink.append(&rec)?;
        self.ledger.add(rec);
        driven.records += 1;
        self.bar.inc(1);
        Ok(())
    }
}

/// A cell's time series: every one but the counting allocator's.
fn timed(cell: &Cell) -> impl Iterator<Item = &'static Allocator> {
    series(cell).iter().filter(|&&a| a != Allocator::Counting)
}

/// Whether the cell's strategy runs inside the runner process (the kernel, Polars), not in a
/// database server or an external program.
fn in_process(cell: &Cell) -> bool {
    matches!(
        membench_protocol::strategy(&cell.strategy).map(|s| s.engine),
        Some(membench_protocol::Engine::Kernel | membench_protocol::Engine::Polars)
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::PathBuf;

    use membench_harness::Measured;
    use membench_protocol::{InputFormat, ProcessRecord, RunnerMeasure, RunnerRecord, Workload};
    use membench_report::record::{Record, RunContext};

    use super::*;
    use crate::run::RunArgs;
    use crate::run::cell::Dataset;
    use crate::run::config::RunConfig;
    use crate::run::plan::groups;

    /// Answers every cell at once: a digest per strategy ("good" unless told otherwise) and a
    /// status per strategy (ok unless told otherwise). Counts what it was asked to run.
    #[derive(Default)]
    struct FakeExecutor {
        digest: HashMap<String, String>,
        status: HashMap<String, Status>,
        calls: Vec<(String, Allocator)>,
        /// Groups whose inputs were read into the page cache.
        warmed_inputs: usize,
    }

    impl Executor for FakeExecutor {
        fn warm_inputs(&mut self, _: &Dataset) {
            self.warmed_inputs += 1;
        }

        fn execute(&mut self, cell: &Cell, allocator: Allocator) -> Measured {
            self.calls.push((cell.strategy.clone(), allocator));
            let status = *self.status.get(&cell.strategy).unwrap_or(&Status::Ok);
            let runner = RunnerRecord {
                strategy: cell.strategy.clone(),
                allocator,
                measure: RunnerMeasure {
                    wall_ns: Some(if allocator == Allocator::Counting {
                        120
                    } else {
                        100
                    }),
                    peak_heap_bytes: (allocator == Allocator::Counting).then_some(4096),
                    answer_digest: Some(
                        self.digest
                            .get(&cell.strategy)
                            .cloned()
                            .unwrap_or_else(|| "good".into()),
                    ),
                    ..RunnerMeasure::default()
                },
                ..RunnerRecord::default()
            };
            Measured {
                status,
                runner: Some(runner),
                process: ProcessRecord {
                    exit_code: Some(0),
                    peak_rss_bytes: 1 << 20,
                    peak_rss_anon_bytes: 1 << 19,
                    process_wall_ns: 1000,
                    ..ProcessRecord::default()
                },
                ..Measured::skipped("")
            }
        }
    }

    #[derive(Default)]
    struct VecSink(Vec<Record>);
    impl Sink for VecSink {
        fn append(&mut self, r: &Record) -> Result<()> {
            self.0.push(r.clone());
            Ok(())
        }
    }

    fn config() -> RunConfig {
        use clap::Parser;
        #[derive(Parser)]
        struct Wrap {
            #[command(flatten)]
            a: RunArgs,
        }
        RunConfig::from_args(Wrap::parse_from(["run"]).a).unwrap()
    }

    fn plan(strategies: &[&str]) -> Vec<Group> {
        let d = Dataset {
            items: None,
            path: PathBuf::from("datasets/x.csv"),
            format: InputFormat::CSV,
            rows: 1000,
            bytes: 100_000,
            shape: Default::default(),
        };
        let s: Vec<String> = strategies.iter().map(|s| s.to_string()).collect();
        groups(&[d], &[Workload::TOP_N], &s)
    }

    fn go(exec: &mut FakeExecutor, ledger: &mut Ledger, groups: &[Group]) -> (Driven, Vec<Record>) {
        go_without(exec, ledger, groups, &BTreeMap::new())
    }

    fn go_without(
        exec: &mut FakeExecutor,
        ledger: &mut Ledger,
        groups: &[Group],
        unavailable: &BTreeMap<String, String>,
    ) -> (Driven, Vec<Record>) {
        go_with(exec, ledger, groups, unavailable, Warmed::default())
    }

    fn go_with(
        exec: &mut FakeExecutor,
        ledger: &mut Ledger,
        groups: &[Group],
        unavailable: &BTreeMap<String, String>,
        warmed: Warmed,
    ) -> (Driven, Vec<Record>) {
        let c = config();
        let ctx = RunContext::default();
        let cx = RecordContext {
            run_id: "test",
            config: &c,
            context: &ctx,
        };
        let mut sink = VecSink::default();
        let mut driver = Driver {
            repeat: 3,
            unavailable,
            exec,
            ledger,
            sink: &mut sink,
            cx: &cx,
            bar: ProgressBar::hidden(),
            warmed,
        };
        let d = driver.drive(groups).unwrap();
        (d, sink.0)
    }

    #[test]
    fn an_unavailable_strategy_gets_one_skipped_record_with_the_reason_once() {
        let unavailable = BTreeMap::from([("postgres".to_string(), "skipped: no server".into())]);
        let mut exec = FakeExecutor::default();
        let mut ledger = Ledger::default();
        let groups = plan(&["streaming", "postgres"]);
        let (_, recs) = go_without(&mut exec, &mut ledger, &groups, &unavailable);
        let pg: Vec<&Record> = recs.iter().filter(|r| r.strategy == "postgres").collect();
        assert_eq!(pg.len(), 1);
        assert_eq!(pg[0].status, Status::Skipped);
        assert_eq!(pg[0].error(), Some("skipped: no server"));
        assert!(exec.calls.iter().all(|(s, _)| s != "postgres"));
        // A resumed run neither runs it nor records it again.
        let (d, again) = go_without(&mut exec, &mut ledger, &groups, &unavailable);
        assert_eq!((d.records, again.len()), (0, 0));
    }

    #[test]
    fn every_cell_gets_heap_and_time_repetitions_each_naming_its_allocator() {
        let mut exec = FakeExecutor::default();
        let (d, recs) = go(
            &mut exec,
            &mut Ledger::default(),
            &plan(&["streaming", "load-all"]),
        );
        assert_eq!(d.records, 12);
        for s in ["streaming", "load-all"] {
            for a in [Allocator::Counting, Allocator::System] {
                let reps: Vec<u32> = recs
                    .iter()
                    .filter(|r| r.strategy == s && r.allocator == a)
                    .map(|r| r.repetition)
                    .collect();
                assert_eq!(reps, vec![1, 2, 3], "{s} {a:?}");
            }
        }
        assert!(
            recs.iter()
                .filter(|r| r.allocator == Allocator::System)
                .all(|r| r.measure.peak_heap_bytes.is_none())
        );
        // The group's inputs read once, one reference, the first cell's runners warmed up
        // (each binary once: nothing else survives a runner process), then six repetitions a
        // cell.
        assert_eq!(exec.warmed_inputs, 1);
        let warm = [
            ("streaming", Allocator::System),
            ("streaming", Allocator::Counting),
            ("streaming", Allocator::System),
        ];
        assert_eq!(exec.calls[..3], warm.map(|(s, a)| (s.to_string(), a)));
        assert_eq!(exec.calls.len(), 1 + 2 + 2 * 6);
        let cells = membench_report::stats::cells(&recs);
        assert_eq!(cells[0].time_allocator, Allocator::System);
        assert_eq!(cells[0].counting_overhead, Some(1.2));
    }

    #[test]
    fn a_database_or_external_cell_is_warmed_up_every_time_an_engine_binary_once() {
        // A database outlives its runner process, an external program has its own start-up:
        // each of their cells gets a warm-up; in-process engines warm each runner binary once.
        let mut exec = FakeExecutor::default();
        let mut groups = plan(&["streaming", "lazy", "sqlite", "load-all", "my-tool"]);
        let mut second = groups[0].clone();
        second.dataset.path = PathBuf::from("datasets/y.csv");
        groups.push(second);
        go(&mut exec, &mut Ledger::default(), &groups);
        assert_eq!(exec.warmed_inputs, 2, "once a group");
        let calls = |s: &str| -> Vec<Allocator> {
            exec.calls
                .iter()
                .filter(|(c, _)| c == s)
                .map(|(_, a)| *a)
                .collect()
        };
        use Allocator::{Counting as C, Mimalloc as M, System as S};
        let reps = |series: &[Allocator]| -> Vec<Allocator> {
            series.iter().flat_map(|&a| [a; 3]).collect()
        };
        let cat = |a: &[Allocator], b: &[Allocator]| [a, b].concat();
        // Two groups: streaming is each one's reference as well.
        let streaming_group = |first: bool| {
            let warm: &[Allocator] = if first { &[C, S] } else { &[] };
            cat(&cat(&[S], warm), &reps(&[C, S]))
        };
        assert_eq!(
            calls("streaming"),
            cat(&streaming_group(true), &streaming_group(false))
        );
        // Time repetitions interleaved: lazy's system and mimalloc ones alternate.
        let lazy_timed = [S, M, S, M, S, M];
        let lazy = cat(&cat(&[M], &reps(&[C])), &lazy_timed);
        assert_eq!(calls("lazy"), cat(&lazy, &cat(&reps(&[C]), &lazy_timed)));
        assert_eq!(calls("load-all"), cat(&reps(&[C, S]), &reps(&[C, S])));
        let sqlite = cat(&[S], &reps(&[C, S]));
        assert_eq!(calls("sqlite"), cat(&sqlite, &sqlite), "a warm-up per cell");
        let tool = cat(&[S], &reps(&[S]));
        assert_eq!(calls("my-tool"), cat(&tool, &tool));
    }

    #[test]
    fn in_process_time_repetitions_interleave_across_cells_and_a_database_runs_its_own_in_a_row() {
        let mut exec = FakeExecutor::default();
        let groups = plan(&["streaming", "load-all", "sqlite", "lazy"]);
        let (d, recs) = go(&mut exec, &mut Ledger::default(), &groups);
        use Allocator::{Counting as C, Mimalloc as M, System as S};
        let mut want: Vec<(&str, Allocator)> = vec![("streaming", S)]; // the reference
        want.extend([("streaming", C), ("streaming", S)]); // each runner binary warmed once
        want.extend([("streaming", C); 3]);
        want.extend([("load-all", C); 3]);
        want.push(("sqlite", S)); // a database: a warm-up per cell…
        want.extend([("sqlite", C); 3]);
        want.extend([("sqlite", S); 3]); // …and its time repetitions right after it
        want.push(("lazy", M));
        want.extend([("lazy", C); 3]);
        for _ in 0..3 {
            want.extend([("streaming", S), ("load-all", S), ("lazy", S), ("lazy", M)]);
        }
        let got: Vec<(&str, Allocator)> =
            exec.calls.iter().map(|(s, a)| (s.as_str(), *a)).collect();
        assert_eq!(got, want);
        // Each series still has its repetitions 1, 2, 3 in order.
        assert_eq!(d.records, 3 * 2 + 3 * 2 + 3 * 2 + 3 * 3);
        for r in &recs {
            let earlier = recs
                .iter()
                .take_while(|x| !std::ptr::eq(*x, r))
                .filter(|x| x.strategy == r.strategy && x.allocator == r.allocator)
                .count();
            assert_eq!(
                r.repetition as usize,
                earlier + 1,
                "{} {:?}",
                r.strategy,
                r.allocator
            );
        }
    }

    #[test]
    fn no_warmup_runs_no_uncounted_run_of_any_kind() {
        let mut exec = FakeExecutor::default();
        let groups = plan(&["streaming", "lazy", "sqlite", "my-tool"]);
        let (d, _) = go_with(
            &mut exec,
            &mut Ledger::default(),
            &groups,
            &BTreeMap::new(),
            Warmed::new(false),
        );
        // The reference answer is streaming's one system-allocator run; then the repetitions
        // alone: counting and system three each (lazy: mimalloc too), the program's system.
        let runs = |s: &str| exec.calls.iter().filter(|(c, _)| c == s).count();
        assert_eq!(runs("streaming"), 1 + 6);
        assert_eq!(runs("lazy"), 9);
        assert_eq!(runs("sqlite"), 6);
        assert_eq!(runs("my-tool"), 3);
        assert_eq!(d.records, 6 + 9 + 6 + 3);
    }

    #[test]
    fn a_polars_cell_is_timed_under_mimalloc_as_well_and_reported_by_it() {
        let mut exec = FakeExecutor::default();
        let (d, recs) = go(&mut exec, &mut Ledger::default(), &plan(&["lazy"]));
        assert_eq!(d.records, 9, "counting, system and mimalloc, three each");
        for a in [Allocator::Counting, Allocator::System, Allocator::Mimalloc] {
            assert_eq!(recs.iter().filter(|r| r.allocator == a).count(), 3, "{a:?}");
        }
        let cells = membench_report::stats::cells(&recs);
        assert_eq!(cells[0].time_allocator, Allocator::Mimalloc);
        // The counting allocator's overhead is still measured against the system allocator.
        assert_eq!(cells[0].counting_overhead, Some(1.2));
        // A kernel strategy is not.
        let (_, recs) = go(&mut exec, &mut Ledger::default(), &plan(&["streaming"]));
        assert!(recs.iter().all(|r| r.allocator != Allocator::Mimalloc));
    }

    #[test]
    fn a_differing_digest_is_a_wrong_answer() {
        let mut exec = FakeExecutor::default();
        exec.digest.insert("lazy".into(), "bad".into());
        let (d, recs) = go(
            &mut exec,
            &mut Ledger::default(),
            &plan(&["streaming", "lazy"]),
        );
        assert_eq!(
            d.wrong_answers, 3,
            "the counting repetitions; no time runs after that"
        );
        assert!(
            recs.iter()
                .filter(|r| r.strategy == "lazy")
                .all(|r| r.status == Status::WrongAnswer && r.allocator == Allocator::Counting)
        );
        assert!(
            recs.iter()
                .filter(|r| r.strategy == "streaming")
                .all(|r| r.status == Status::Ok)
        );
    }

    #[test]
    fn when_the_reference_fails_another_ok_strategy_serves_and_disagreements_are_still_wrong() {
        let mut exec = FakeExecutor::default();
        exec.status.insert("streaming".into(), Status::Error);
        exec.digest.insert("lazy".into(), "bad".into());
        let (d, recs) = go(
            &mut exec,
            &mut Ledger::default(),
            &plan(&["load-all", "streaming", "lazy"]),
        );
        assert_eq!(d.wrong_answers, 3);
        let of = |s: &'static str| recs.iter().filter(move |r| r.strategy == s);
        assert!(of("lazy").all(|r| r.status == Status::WrongAnswer));
        assert!(of("load-all").all(|r| r.status == Status::Ok));
        assert!(
            recs.iter()
                .all(|r| r.reference_strategy.as_deref() == Some("load-all")
                    && r.expected_digest.as_deref() == Some("good")),
            "{recs:?}"
        );
        // streaming's own cell is an error, not silently ok.
        assert!(of("streaming").all(|r| r.status == Status::Error));
    }

    #[test]
    fn an_oom_cell_gets_no_time_repetitions() {
        let mut exec = FakeExecutor::default();
        exec.status.insert("load-all".into(), Status::Oom);
        let (_, recs) = go(
            &mut exec,
            &mut Ledger::default(),
            &plan(&["streaming", "load-all"]),
        );
        let load_all: Vec<&Record> = recs.iter().filter(|r| r.strategy == "load-all").collect();
        assert_eq!(load_all.len(), 3);
        assert!(
            load_all
                .iter()
                .all(|r| r.status == Status::Oom && r.allocator == Allocator::Counting)
        );
    }

    #[test]
    fn a_resumed_run_runs_only_what_is_missing() {
        let groups = plan(&["streaming", "chunked"]);
        let mut exec = FakeExecutor::default();
        let (_, first) = go(&mut exec, &mut Ledger::default(), &groups);
        // Keep streaming's six and chunked's first counting repetition, as a kill would.
        let kept: Vec<Record> = first
            .iter()
            .filter(|r| {
                r.strategy == "streaming"
                    || (r.allocator == Allocator::Counting && r.repetition == 1)
            })
            .cloned()
            .collect();
        assert_eq!(kept.len(), 7);
        let mut ledger = Ledger::from_records(kept);
        let c = config();
        let ctx = RunContext::default();
        let cx = RecordContext {
            run_id: "test",
            config: &c,
            context: &ctx,
        };
        let mut sink = VecSink::default();
        let mut fake = FakeExecutor::default();
        let planned = Driver {
            repeat: 3,
            unavailable: &BTreeMap::new(),
            exec: &mut fake,
            ledger: &mut ledger,
            sink: &mut sink,
            cx: &cx,
            bar: ProgressBar::hidden(),
            warmed: Warmed::default(),
        }
        .planned(&groups);
        assert_eq!(planned, 5);
        let mut exec = FakeExecutor::default();
        let (d, recs) = go(&mut exec, &mut ledger, &groups);
        assert_eq!(d.records, 5);
        let reps: Vec<(Allocator, u32)> =
            recs.iter().map(|r| (r.allocator, r.repetition)).collect();
        assert_eq!(
            reps,
            vec![
                (Allocator::Counting, 2),
                (Allocator::Counting, 3),
                (Allocator::System, 1),
                (Allocator::System, 2),
                (Allocator::System, 3)
            ]
        );
        assert!(
            exec.calls
                .iter()
                .all(|(s, _)| s == "chunked" || s == "streaming")
        );
        // Nothing left: a third pass runs nothing, not even the reference.
        let mut exec = FakeExecutor::default();
        let (d, _) = go(&mut exec, &mut ledger, &groups);
        assert_eq!((d.records, exec.calls.len()), (0, 0));
    }
}
