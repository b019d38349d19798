//! `membench-runner-mi`: the runner under mimalloc, the allocator Polars' documentation
//! recommends for it. The driver times the Polars strategies with it as well as with the system
//! allocator (both kept in the record); it reports no heap figures. An allocation refused ends
//! it with the protocol's out-of-memory exit code.

#[global_allocator]
static GLOBAL: membench_alloc::ExitOnFailure<mimalloc::MiMalloc> =
    membench_alloc::ExitOnFailure(mimalloc::MiMalloc);

fn main() {
    std::process::exit(membench_runner::main(membench_runner::Allocator::Mimalloc));
}
