//! The harness's self-test cells: `calibrate` (allocates and touches exactly N bytes),
//! `selftest-leak` (leaks N bytes each time it runs, for `--soak`), and cells that sleep, panic
//! or abort, so the parent's timeout and status mapping can be tested.

use serde_json::{Value, json};

/// A self-test cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelfTest {
    /// Allocate and touch this many bytes, and hold them for `hold_ms` (`--sleep-ms`; 0 by
    /// default) so that a sampler sees them.
    Calibrate {
        bytes: usize,
        hold_ms: u64,
    },
    /// Leak this many bytes each run (never freed): what `--soak` must flag.
    Leak {
        bytes: usize,
    },
    /// Sleep this many milliseconds.
    Sleep {
        ms: u64,
    },
    Panic,
    Abort,
}

impl SelfTest {
    /// The self-test a strategy name asks for, if any.
    pub fn parse(name: &str, bytes: usize, sleep_ms: Option<u64>) -> Option<SelfTest> {
        match name {
            "calibrate" => Some(SelfTest::Calibrate {
                bytes,
                hold_ms: sleep_ms.unwrap_or(0),
            }),
            "selftest-leak" => Some(SelfTest::Leak { bytes }),
            "selftest-sleep" => Some(SelfTest::Sleep {
                ms: sleep_ms.unwrap_or(60_000),
            }),
            "selftest-panic" => Some(SelfTest::Panic),
            "selftest-abort" => Some(SelfTest::Abort),
            _ => None,
        }
    }

    /// Runs it; returns its answer.
    pub fn run(self) -> Value {
        match self {
            SelfTest::Calibrate { bytes, hold_ms } => {
                let v = vec![1u8; bytes];
                let sum = std::hint::black_box(&v)
                    .iter()
                    .step_by(4096)
                    .map(|&b| u64::from(b))
                    .sum::<u64>();
                std::thread::sleep(std::time::Duration::from_millis(hold_ms));
                drop(v);
                json!({"calibrate_bytes": bytes, "pages_touched": sum})
            }
            SelfTest::Leak { bytes } => {
                let kept: &'static mut [u8] = Vec::leak(vec![1u8; bytes]);
                json!({"leaked_bytes": std::hint::black_box(kept).len()})
            }
            SelfTest::Sleep { ms } => {
                std::thread::sleep(std::time::Duration::from_millis(ms));
                json!({"slept_ms": ms})
            }
            SelfTest::Panic => panic!("selftest-panic: a deliberate panic"),
            SelfTest::Abort => std::process::abort(),
        }
    }
}
