//! `membench-runner-sys`: the runner under the system allocator. It measures time without the
//! counting allocator's cost; it reports no heap figures. An allocation the system refuses (a
//! kernel limit) ends it with the protocol's out-of-memory exit code.

#[global_allocator]
static GLOBAL: membench_alloc::ExitOnFailure<std::alloc::System> =
    membench_alloc::ExitOnFailure(std::alloc::System);

fn main() {
    std::process::exit(membench_runner::main(membench_runner::Allocator::System));
}
