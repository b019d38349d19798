//! One screen at the end of a run: the largest size of each workload × format.

use membench_report::format::{bytes, duration_ns, rows as rows_label};
use membench_report::record::Record;

pub fn print(records: &[Record]) {
    let cells = membench_report::stats::cells(records);
    let largest = cells.iter().map(|c| c.key.rows).max().unwrap_or(0);
    println!(
        "{:<10} {:<8} {:<16} {:>12} {:>12} {:>10} {:>9} {:>9}  status",
        "workload", "format", "strategy", "peak heap", "peak RSS", "time", "MB/s", "counting"
    );
    for c in cells.iter().filter(|c| c.key.rows == largest) {
        println!(
            "{:<10} {:<8} {:<16} {:>12} {:>12} {:>10} {:>9} {:>9}  {}",
            c.key.workload,
            c.key.format,
            c.key.strategy,
            c.peak_heap_bytes
                .map(|s| bytes(s.median))
                .unwrap_or_else(|| {
                    // An external program: measured as a process tree, no heap.
                    if c.peak_pss_bytes.is_some() {
                        "n/a"
                    } else {
                        ""
                    }
                    .to_string()
                }),
            c.peak_rss_bytes
                .map(|s| bytes(s.median))
                .unwrap_or_default(),
            c.wall_ns.map(|s| duration_ns(s.median)).unwrap_or_default(),
            c.mb_per_s.map(|m| format!("{m:.0}")).unwrap_or_default(),
            c.counting_overhead
                .map(|o| format!("{:+.0}%", (o - 1.0) * 100.0))
                .unwrap_or_default(),
            if c.answer_unchecked {
                format!("{} (unchecked)", c.status)
            } else {
                c.status.to_string()
            }
        );
    }
    println!(
        "(largest size: {} rows; time from system-allocator runs, the Polars strategies' from \
         mimalloc ones; \"counting\": the counting allocator's time overhead on that cell)",
        rows_label(largest)
    );
}
