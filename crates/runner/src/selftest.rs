//! The harness's self-test cells: `calibrate` (allocates and touches exactly N bytes), and cells
//! that sleep, panic or abort, so the parent's timeout and status mapping can be tested.

use serde_json::{Value, json};

/// A self-test cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelfTest {
    /// Allocate and touch this many bytes.
    Calibrate {
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
    pub fn parse(name: &str, bytes: usize, sleep_ms: u64) -> Option<SelfTest> {
        match name {
            "calibrate" => Some(SelfTest::Calibrate { bytes }),
            "selftest-sleep" => Some(SelfTest::Sleep { ms: sleep_ms }),
            "selftest-panic" => Some(SelfTest::Panic),
            "selftest-abort" => Some(SelfTest::Abort),
            _ => None,
        }
    }

    /// Runs it; returns its answer.
    pub fn run(self) -> Value {
        match self {
            SelfTest::Calibrate { bytes } => {
                let v = vec![1u8; bytes];
                let sum = std::hint::black_box(&v)
                    .iter()
                    .step_by(4096)
                    .map(|&b| u64::from(b))
                    .sum::<u64>();
                drop(v);
                json!({"calibrate_bytes": bytes, "pages_touched": sum})
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
