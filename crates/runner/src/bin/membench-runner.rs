//! `membench-runner`: one measured cell per process, under the counting allocator. An
//! allocation the system refuses ends it with the protocol's out-of-memory exit code, like the
//! heap budget.

#[global_allocator]
static GLOBAL: membench_alloc::ExitOnFailure<membench_alloc::CountingAlloc> =
    membench_alloc::ExitOnFailure(membench_alloc::CountingAlloc);

fn main() {
    std::process::exit(membench_runner::main(membench_runner::Allocator::Counting));
}
