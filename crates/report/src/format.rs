//! Human-readable units.

/// `262144` → `256 KiB`.
pub fn bytes(b: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0} B")
    } else if v >= 100.0 {
        format!("{v:.0} {}", UNITS[i])
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

/// `12_500_000` → `12.5 ms`.
pub fn duration_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.1} ms", ns / 1e6)
    } else {
        format!("{:.0} µs", ns / 1e3)
    }
}

pub use membench_kernel::rows_label as rows;

/// Text for a Markdown table cell: `|` escaped (a name with one must not add a column) and line
/// ends replaced by spaces.
pub fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn units() {
        assert_eq!(super::bytes(512.0), "512 B");
        assert_eq!(super::bytes(262_144.0), "256 KiB");
        assert_eq!(super::bytes(1.5 * 1048576.0), "1.5 MiB");
        assert_eq!(super::duration_ns(12_500_000.0), "12.5 ms");
        assert_eq!(super::rows(100_000), "100k");
    }
}
