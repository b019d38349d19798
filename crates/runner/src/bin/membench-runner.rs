//! `membench-runner`: one measured cell per process, under the counting allocator.

#[global_allocator]
static GLOBAL: membench_alloc::CountingAlloc = membench_alloc::CountingAlloc;

fn main() {
    std::process::exit(membench_runner::main(membench_runner::Allocator::Counting));
}
