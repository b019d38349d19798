//! How a runner says how a cell ended: its exit codes and the first words of its out-of-memory
//! messages (for people; statuses come from the codes).

/// Exit code of a runner whose strategy reported an error (bad input, unsupported request).
pub const ERROR_EXIT_CODE: i32 = 2;
/// Exit code of a process whose heap budget was exceeded (the counting allocator's `_exit`).
pub const OOM_EXIT_CODE: i32 = 97;
/// First words of the message printed when the heap budget is exceeded.
pub const OOM_MESSAGE_PREFIX: &str = "membench: heap budget exceeded";
/// First words of the message printed when the allocator refused an allocation (a kernel
/// limit, or the machine out of memory) and the runner ended with [`OOM_EXIT_CODE`].
pub const ALLOC_FAILED_MESSAGE_PREFIX: &str = "membench: an allocation failed (out of memory)";
