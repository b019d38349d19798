//! `--shard I/N`: one deterministic slice of a run's cells.

use super::cell::Group;

/// `--shard I/N`: the I-th of N deterministic slices of the matrix's cells (1-based), for a
/// sweep split over machines or jobs and merged afterwards (`report DIR1 DIR2 … --out`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Parses `I/N` with 1 ≤ I ≤ N.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let parsed = s
            .split_once('/')
            .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((index, count)) if index >= 1 && index <= count => Ok(Shard { index, count }),
            _ => Err(format!("{s:?}: expected I/N with 1 ≤ I ≤ N (e.g. 2/4)")),
        }
    }

    /// This shard's cells: every N-th cell of the plan (in its order), starting at the I-th,
    /// so shards of a plan are disjoint, cover it, and differ in size by at most one cell.
    pub fn select(&self, groups: Vec<Group>) -> Vec<Group> {
        let mut i = 0usize;
        groups
            .into_iter()
            .filter_map(|mut g| {
                g.strategies.retain(|_| {
                    let keep = i % self.count == self.index - 1;
                    i += 1;
                    keep
                });
                (!g.strategies.is_empty()).then_some(g)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use membench_protocol::{InputFormat, Workload};

    use super::*;
    use crate::run::cell::Dataset;
    use crate::run::plan::groups;

    fn plan() -> Vec<Group> {
        let d = Dataset {
            path: "sales-10k-s42.csv".into(),
            items: None,
            format: InputFormat::CSV,
            rows: 10_000,
            bytes: 1,
            shape: Default::default(),
        };
        let s: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        groups(&[d], &Workload::sales().collect::<Vec<_>>(), &s)
    }

    fn cells(groups: &[Group]) -> Vec<(Workload, String)> {
        groups
            .iter()
            .flat_map(|g| g.strategies.iter().map(|s| (g.workload.clone(), s.clone())))
            .collect()
    }

    #[test]
    fn shards_are_disjoint_cover_the_plan_and_are_balanced() {
        let all = cells(&plan());
        assert_eq!(all.len(), 9);
        let shards: Vec<Vec<(Workload, String)>> = (1..=4)
            .map(|i| cells(&Shard { index: i, count: 4 }.select(plan())))
            .collect();
        let mut joined: Vec<_> = shards.concat();
        joined.sort();
        let mut expected = all.clone();
        expected.sort();
        assert_eq!(joined, expected);
        assert!(shards.iter().all(|s| s.len() == 2 || s.len() == 3));
        assert_eq!(Shard::parse("2/4").unwrap(), Shard { index: 2, count: 4 });
        for bad in ["0/2", "3/2", "x", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }
}
