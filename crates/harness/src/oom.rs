//! Out-of-memory messages of external programs (`--command`): a hint beside a failed cell's
//! status ([`ProcessRecord::stderr_says_out_of_memory`](crate::ProcessRecord)), never the status
//! itself — text on stderr can quote the input, so `oom` comes from exit codes and kernel
//! events alone ([`run_cell`](crate::run_cell)).
//!
//! The text is read narrowly: only when the program failed, only its last few lines, only
//! where a runtime puts its message — the start of a line (`MemoryError`,
//! `java.lang.OutOfMemoryError: …`, Rust's `memory allocation of N bytes failed`) or the end of
//! an errno message (`…: Cannot allocate memory`) — and never inside quotes, where error
//! messages quote input values.

/// How many of the last non-empty stderr lines are read.
pub const LINES: usize = 5;

/// Whether a failed external program's stderr ends with an out-of-memory message.
pub fn says_out_of_memory(stderr: &str) -> bool {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(LINES)..]
        .iter()
        .any(|l| line_says_out_of_memory(l))
}

/// One line: a runtime's out-of-memory message, outside quotes.
pub fn line_says_out_of_memory(original: &str) -> bool {
    // C++: `terminate called after throwing an instance of 'std::bad_alloc'` — the runtime
    // quotes the type name itself.
    if original.starts_with("terminate called after throwing an instance of ") {
        return original.ends_with("'std::bad_alloc'");
    }
    let line = unquoted(original);
    let line = line.trim();
    // Java: `Exception in thread "main" java.lang.OutOfMemoryError: Java heap space` (the
    // thread's name was quoted, so it is gone here).
    let line = line
        .strip_prefix("Exception in thread")
        .map_or(line, str::trim);
    // Rust's default allocation-error message; a membench runner's, when a program runs one.
    if line.starts_with("memory allocation of ") && line.ends_with(" bytes failed") {
        return true;
    }
    if line.starts_with(membench_protocol::OOM_MESSAGE_PREFIX)
        || line.starts_with(membench_protocol::ALLOC_FAILED_MESSAGE_PREFIX)
    {
        return true;
    }
    // An exception type leading the line: `MemoryError`, `numpy…_ArrayMemoryError: …`,
    // `pyarrow.lib.ArrowMemoryError: …`, `java.lang.OutOfMemoryError: …`,
    // `duckdb.OutOfMemoryException: …`.
    let head = line.split([':', ' ']).next().unwrap_or("");
    let is_path = !head.is_empty()
        && head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if is_path {
        let last = head.rsplit('.').next().unwrap_or(head);
        if last.ends_with("MemoryError") || last == "OutOfMemoryException" {
            return true;
        }
    }
    // The C library's text for ENOMEM, ending an errno message.
    line.ends_with("Cannot allocate memory")
}

/// The line with every quoted span (`'…'`, `"…"`) removed.
fn unquoted(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, c) => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes_messages_are_recognised() {
        for l in [
            "memory allocation of 400000000 bytes failed",
            "MemoryError",
            "MemoryError: cannot allocate array",
            "numpy.core._exceptions._ArrayMemoryError: Unable to allocate 7.45 GiB for an array",
            "pyarrow.lib.ArrowMemoryError: malloc of size 1024 failed",
            "duckdb.duckdb.OutOfMemoryException: Out of Memory Error: failed to allocate",
            "Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space",
            "sh: 1: Cannot fork: Cannot allocate memory",
            "terminate called after throwing an instance of 'std::bad_alloc'",
            "membench: heap budget exceeded: budget_bytes=1 live_bytes=2 requested_bytes=3",
            "membench: an allocation failed (out of memory): requested_bytes=400000000",
        ] {
            assert!(line_says_out_of_memory(l), "{l}");
        }
    }

    #[test]
    fn input_quoted_in_an_error_is_not_out_of_memory() {
        for l in [
            "ValueError: invalid literal for int() with base 10: 'memory allocation of'",
            "sales.csv:3: quantity \"memory allocation of 5 bytes failed\" is not an integer",
            "error: value 'MemoryError' is not a number",
            "row 7: \"Cannot allocate memory\"",
            "terminate called after throwing an instance of 'MyError' (std::bad_alloc)",
            "ValueError: could not convert string to float: 'Cannot allocate memory'",
            "membench-runner: sales.csv:3: quantity: memory allocation of is not a number",
        ] {
            assert!(!line_says_out_of_memory(l), "{l}");
        }
    }

    #[test]
    fn only_the_last_lines_count() {
        let early = format!("MemoryError\n{}", "traceback line\n".repeat(LINES));
        assert!(!says_out_of_memory(&early));
        assert!(says_out_of_memory(
            "Traceback (most recent call last):\n  …\nMemoryError\n"
        ));
    }
}
