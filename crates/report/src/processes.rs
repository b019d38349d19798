//! Which process of an external command's tree grew: the tree's processes by command at its RSS
//! peak (`ProcessRecord::peak_processes`), the baseline's against a run's, and the RSS samples
//! around the run's peak — so an RSS regression of a Python script or a Dask cluster says
//! whether the driver, a worker or the scheduler grew.
//!
//! Must not: sample processes (the harness does) or decide a gate.

use membench_protocol::{ProcessShare, Record};

use crate::format::bytes;

/// The record of `records` whose peak RSS is nearest to `median_rss` (the repetition a
/// median stands for).
pub fn nearest<'r>(records: &[&'r Record], median_rss: f64) -> Option<&'r Record> {
    records.iter().copied().min_by(|a, b| {
        let d = |r: &Record| (r.process.peak_rss_bytes as f64 - median_rss).abs();
        d(a).total_cmp(&d(b))
    })
}

/// A table of the commands at the peak, before and now, largest growth first; then the RSS
/// samples around the run's peak (`timeline`: `[t_ns, rss, anon, file]`).
pub fn growth_text(before: &[ProcessShare], now: &[ProcessShare], timeline: &[[u64; 4]]) -> String {
    let mut commands: Vec<&str> = before
        .iter()
        .chain(now)
        .map(|s| s.command.as_str())
        .collect();
    commands.sort_unstable();
    commands.dedup();
    let of = |list: &[ProcessShare], c: &str| list.iter().find(|s| s.command == c).cloned();
    let mut rows: Vec<(&str, Option<ProcessShare>, Option<ProcessShare>)> = commands
        .into_iter()
        .map(|c| (c, of(before, c), of(now, c)))
        .collect();
    let rss = |s: &Option<ProcessShare>| s.as_ref().map_or(0, |s| s.rss_bytes) as i64;
    rows.sort_by_key(|(c, b, n)| (std::cmp::Reverse(rss(n) - rss(b)), c.to_string()));
    let mut out = format!(
        "{:<16} {:>9} {:>12} {:>12} {:>12}\n",
        "command", "processes", "RSS before", "RSS now", "growth"
    );
    let count = |s: &Option<ProcessShare>| s.as_ref().map_or(0, |s| s.processes);
    let size = |s: &Option<ProcessShare>| {
        s.as_ref()
            .map_or_else(|| "-".to_string(), |s| bytes(s.rss_bytes as f64))
    };
    for (c, b, n) in &rows {
        let delta = rss(n) - rss(b);
        let sign = if delta < 0 { "-" } else { "+" };
        out.push_str(&format!(
            "{:<16} {:>9} {:>12} {:>12} {:>12}\n",
            c,
            format!("{}→{}", count(b), count(n)),
            size(b),
            size(n),
            format!("{sign}{}", bytes(delta.unsigned_abs() as f64)),
        ));
    }
    if before.is_empty() {
        out.push_str("(the baseline has no processes: it was made before they were recorded)\n");
    }
    if let Some(peak) = (0..timeline.len()).max_by_key(|&i| timeline[i][1]) {
        let from = peak.saturating_sub(3);
        let to = (peak + 4).min(timeline.len());
        out.push_str("RSS around the peak (time since start: RSS, * the peak):\n");
        for (i, s) in timeline.iter().enumerate().take(to).skip(from) {
            let mark = if i == peak { "*" } else { " " };
            out.push_str(&format!(
                "{mark} {:>8.0} ms: {}\n",
                s[0] as f64 / 1e6,
                bytes(s[1] as f64)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(command: &str, processes: u32, mib: u64) -> ProcessShare {
        ProcessShare {
            command: command.into(),
            processes,
            rss_bytes: mib << 20,
            rss_anon_bytes: mib << 20,
        }
    }

    #[test]
    fn the_command_that_grew_comes_first_with_its_growth_and_the_samples_around_the_peak() {
        let before = [share("python3", 1, 100), share("dask-worker", 2, 300)];
        let now = [
            share("python3", 1, 101),
            share("dask-worker", 2, 420),
            share("sh", 1, 2),
        ];
        let timeline: Vec<[u64; 4]> = (0..20u64)
            .map(|i| [i * 10_000_000, (100 + i * (20 - i)) << 20, 0, 0])
            .collect();
        let text = growth_text(&before, &now, &timeline);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].starts_with("dask-worker"), "{text}");
        assert!(
            lines[1].contains("2→2") && lines[1].contains("+120"),
            "{text}"
        );
        assert!(
            lines[2].starts_with("sh") && lines[2].contains("0→1"),
            "{text}"
        );
        assert!(
            lines[3].starts_with("python3") && lines[3].contains("+1"),
            "{text}"
        );
        // The peak of i·(20−i) is at i = 10: 100 ms, marked, three samples either side.
        let peak = text.lines().find(|l| l.starts_with('*')).unwrap();
        assert!(peak.contains("100 ms"), "{text}");
        assert_eq!(
            text.lines().filter(|l| l.contains(" ms: ")).count(),
            7,
            "{text}"
        );
    }
}
