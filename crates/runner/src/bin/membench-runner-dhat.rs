//! `membench-runner-dhat`: the runner with dhat as its allocator, for `--profile dhat`.

#[global_allocator]
static GLOBAL: dhat::Alloc = dhat::Alloc;

fn main() {
    std::process::exit(membench_runner::main(membench_runner::Allocator::Dhat));
}
