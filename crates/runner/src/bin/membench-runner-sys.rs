//! `membench-runner-sys`: the runner under the system allocator. It measures time without the
//! counting allocator's cost; it reports no heap figures.

fn main() {
    std::process::exit(membench_runner::main(membench_runner::Allocator::System));
}
