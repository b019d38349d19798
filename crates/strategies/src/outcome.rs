//! What a strategy computed ([`Outcome`]), or why it did not ([`RunError`]).

use membench_kernel::{Answer, InputError};

/// What a strategy computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub answer: Answer,
    /// Valid rows folded into the answer.
    pub rows_read: u64,
    /// Malformed rows skipped (`--on-bad-row skip`).
    pub rows_skipped: u64,
}

/// Why a strategy did not produce an answer.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Bad input: names the file, the line and the reason.
    #[error("{0}")]
    Input(InputError),
    /// A user's query failed on its input (a type break, a malformed record, an expression's
    /// error): names the file, the line and the reason, the same text from every strategy.
    #[error("{0}")]
    Query(membench_query::scan::QueryError),
    /// The strategy cannot honour the request (e.g. `skip` on an engine that cannot count).
    #[error("{0}")]
    Unsupported(String),
    /// I/O or engine failure.
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
    /// The kernel refused a resource the strategy needs (a thread: its stack counts against
    /// `RLIMIT_DATA`). Under a memory limit the runner records this as out of memory.
    #[error("the system refused a thread: {0}")]
    Resources(std::io::Error),
}

impl From<membench_query::scan::QueryError> for RunError {
    /// A refused thread is a resource failure (out of memory under a limit); any other query
    /// error is the query's.
    fn from(e: membench_query::scan::QueryError) -> Self {
        match e {
            membench_query::scan::QueryError::Thread(e) => RunError::Resources(e),
            e => RunError::Query(e),
        }
    }
}

impl From<InputError> for RunError {
    fn from(e: InputError) -> Self {
        RunError::Input(e)
    }
}

impl RunError {
    /// Whether the kernel refused a thread for lack of memory (`EAGAIN`, `ENOMEM`): under a
    /// memory limit, the cell ran out of memory.
    pub fn is_refused_resource(&self) -> bool {
        matches!(self, RunError::Resources(e)
            if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::OutOfMemory))
    }

    /// The protocol's name for this kind of error.
    pub fn kind(&self) -> membench_protocol::ErrorKind {
        match self {
            RunError::Input(_) | RunError::Query(_) => membench_protocol::ErrorKind::Input,
            RunError::Unsupported(_) => membench_protocol::ErrorKind::Unsupported,
            RunError::Other(_) | RunError::Resources(_) => membench_protocol::ErrorKind::Other,
        }
    }
}

/// Counts of a fold.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub read: u64,
    pub skipped: u64,
}

impl Counts {
    /// Adds another part's counts.
    pub fn add(&mut self, o: Counts) {
        self.read += o.read;
        self.skipped += o.skipped;
    }
}
