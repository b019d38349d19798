//! How a cell ended.

use serde::{Deserialize, Serialize};

/// How a cell (or one repetition of it) ended. Ordered from best to worst: a cell's status is
/// the worst of its repetitions'.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Exited 0 with a record.
    #[default]
    Ok,
    /// Not run: a requirement of the strategy is missing (the record says which).
    Skipped,
    /// Exited non-zero (bad input, unsupported option, panic).
    Error,
    /// Killed after the timeout.
    Timeout,
    /// Heap budget exceeded, or an allocation failed under a kernel limit.
    Oom,
    /// Killed by a signal (abort, segfault, external kill).
    Crash,
    /// Ran, but its answer differs from the reference (set by the driver).
    WrongAnswer,
}

impl Status {
    /// Every status, best first.
    pub const ALL: [Status; 7] = [
        Status::Ok,
        Status::Skipped,
        Status::Error,
        Status::Timeout,
        Status::Oom,
        Status::Crash,
        Status::WrongAnswer,
    ];

    /// The status as written in records.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Skipped => "skipped",
            Status::Error => "error",
            Status::Timeout => "timeout",
            Status::Oom => "oom",
            Status::Crash => "crash",
            Status::WrongAnswer => "wrong-answer",
        }
    }

    /// Parses a status name.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.name() == s)
    }

    /// Whether the cell ran to an answer that may be compared and measured.
    pub fn is_ok(self) -> bool {
        self == Status::Ok
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.name()), Some(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.name()));
        }
    }

    #[test]
    fn worst_wins() {
        assert_eq!(
            [Status::Ok, Status::WrongAnswer, Status::Oom].iter().max(),
            Some(&Status::WrongAnswer)
        );
        assert!(Status::Error < Status::Timeout && Status::Timeout < Status::Oom);
    }
}
