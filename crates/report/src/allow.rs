//! Acknowledgements (`membench-allow.toml`): a regression someone accepted, on purpose, for a
//! while. Each entry names the cells (a pattern on the check's cell name, `*` matching any
//! text), the metric, the new limit, the reason and an expiry date; a regression within an
//! unexpired entry's limit is `allowed` instead of failing, and an expired entry fails the check
//! itself — acknowledgements are revisited, not forgotten.
//!
//! ```toml
//! [[allow]]
//! cell = "top-n · csv · load-all · *"
//! metric = "peak_heap_bytes"      # or peak_rss_bytes, wall_ns
//! limit = "900MiB"                # time: "1.5s", "800ms"
//! reason = "the new parser keeps the whole row index (#123)"
//! expires = "2027-03-31"
//! ```
//!
//! Must not: read files or the clock (the caller passes the entries and today's date).

use serde::Deserialize;

use crate::gate::{CheckOutcome, Verdict};

/// One acknowledgement.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allowance {
    pub cell: String,
    pub metric: String,
    pub limit: String,
    pub reason: String,
    /// `YYYY-MM-DD`, the last day it holds.
    pub expires: String,
}

/// The file: `[[allow]]` entries.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowFile {
    #[serde(default)]
    pub allow: Vec<Allowance>,
}

const METRICS: [&str; 3] = ["peak_heap_bytes", "peak_rss_bytes", "wall_ns"];

impl Allowance {
    /// The limit in the metric's unit (bytes, or nanoseconds for `wall_ns`).
    pub fn limit_value(&self) -> Result<f64, String> {
        if self.metric == "wall_ns" {
            let t = self.limit.trim();
            let (num, scale) = if let Some(v) = t.strip_suffix("ms") {
                (v, 1e6)
            } else if let Some(v) = t.strip_suffix('s') {
                (v, 1e9)
            } else {
                return Err(format!("limit {t:?}: a duration like 800ms or 1.5s"));
            };
            num.trim()
                .parse::<f64>()
                .map(|v| v * scale)
                .map_err(|_| format!("limit {t:?}: a duration like 800ms or 1.5s"))
        } else {
            membench_protocol::parse_size(&self.limit).map(|b| b as f64)
        }
    }

    /// Checks the entry: a known metric, a limit in its unit, a date, a reason.
    pub fn validate(&self) -> Result<(), String> {
        if !METRICS.contains(&self.metric.as_str()) {
            return Err(format!(
                "metric {:?} (one of {})",
                self.metric,
                METRICS.join(", ")
            ));
        }
        self.limit_value()?;
        if membench_protocol::Date::parse(&self.expires).is_none() {
            return Err(format!("expires {:?}: a date YYYY-MM-DD", self.expires));
        }
        if self.reason.trim().is_empty() {
            return Err("an empty reason".into());
        }
        Ok(())
    }

    fn matches(&self, cell: &str) -> bool {
        glob(&self.cell, cell)
    }
}

/// `*` matches any text, everything else itself.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for p in &parts[1..parts.len() - 1] {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    true
}

/// Applies the entries to a check's outcome: each regression row within an unexpired matching
/// entry's limit becomes [`Verdict::Allowed`]. Returns the lines for the report: what was
/// allowed and why, and every expired entry (each one fails the check: see
/// [`CheckOutcome::expired_allowances`]).
pub fn apply(out: &mut CheckOutcome, entries: &[Allowance], today: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for e in entries {
        if e.expires.as_str() < today {
            out.expired_allowances += 1;
            lines.push(format!(
                "**expired** acknowledgement ({} · {}, expired {}): \"{}\" — renew it or fix \
                 the regression",
                e.cell, e.metric, e.expires, e.reason
            ));
        }
    }
    for row in out
        .rows
        .iter_mut()
        .filter(|r| r.verdict == Verdict::Regression)
    {
        let Some(now) = row.now_value else { continue };
        let found = entries.iter().find(|e| {
            e.expires.as_str() >= today
                && e.metric == row.metric
                && e.matches(&row.cell)
                && e.limit_value().is_ok_and(|l| now <= l)
        });
        if let Some(e) = found {
            row.verdict = Verdict::Allowed;
            lines.push(format!(
                "{} · {}: {} allowed up to {} until {}: \"{}\"",
                row.cell, row.metric, row.now, e.limit, e.expires, e.reason
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::CheckRow;

    fn row(cell: &str, now: f64) -> CheckRow {
        CheckRow {
            cell: cell.into(),
            metric: "peak_heap_bytes".into(),
            baseline: "1 MiB".into(),
            now: "x".into(),
            change: "+50%".into(),
            verdict: Verdict::Regression,
            now_value: Some(now),
        }
    }

    #[test]
    fn an_entry_allows_within_its_limit_until_it_expires() {
        let e = Allowance {
            cell: "top-n · csv · load-all · *".into(),
            metric: "peak_heap_bytes".into(),
            limit: "2MiB".into(),
            reason: "a bigger index, on purpose".into(),
            expires: "2027-01-31".into(),
        };
        e.validate().unwrap();
        let mut out = CheckOutcome {
            rows: vec![
                row("top-n · csv · load-all · 1m", 1.5 * 1048576.0),
                row("top-n · csv · load-all · 10m", 3.0 * 1048576.0),
                row("top-n · csv · streaming · 1m", 1.5 * 1048576.0),
            ],
            ..CheckOutcome::default()
        };
        let lines = apply(&mut out, std::slice::from_ref(&e), "2026-12-06");
        let v: Vec<Verdict> = out.rows.iter().map(|r| r.verdict).collect();
        assert_eq!(
            v,
            [Verdict::Allowed, Verdict::Regression, Verdict::Regression]
        );
        assert_eq!(lines.len(), 1);
        assert_eq!(out.regressions(), 2);
        // Expired: nothing allowed, and the entry itself fails the check.
        let mut later = CheckOutcome {
            rows: vec![row("top-n · csv · load-all · 1m", 1.5 * 1048576.0)],
            ..CheckOutcome::default()
        };
        let lines = apply(&mut later, &[e], "2027-02-01");
        assert!(lines[0].contains("**expired**"), "{lines:?}");
        assert_eq!(later.regressions(), 2);
        assert!(glob("a*c*e", "abcde") && !glob("a*c", "abd") && glob("x", "x"));
    }
}
