//! Allocation sites at the heap peak, from a dhat profile (`membench-runner-dhat`): the bytes
//! each call site of membench's own code held when the heap peaked, so that a heap regression
//! names the allocation that grew (`file:line`, function) rather than only the total.
//!
//! A site is the first frame of an allocation's stack that lies in membench's sources (the
//! runner's `profile.release` keeps line tables for its own crates); allocations reached only
//! through other code are summed under the first such frame too, so a site is where membench
//! asked for the memory, whichever library allocated it.
//!
//! Must not: run a profiler (the caller does) or decide a gate.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// One call site and the bytes its allocations held at the heap peak.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    /// `crates/<crate>/src/<file>.rs:<line>`.
    pub location: String,
    /// The function, as the line tables name it.
    pub function: String,
    pub bytes_at_peak: u64,
}

/// A site's change between two profiles.
#[derive(Clone, Debug, PartialEq)]
pub struct SiteGrowth {
    pub location: String,
    pub function: String,
    pub before_bytes: u64,
    pub after_bytes: u64,
}

impl SiteGrowth {
    pub fn delta_bytes(&self) -> i64 {
        self.after_bytes as i64 - self.before_bytes as i64
    }
}

/// The crates whose frames make a site (their sources are under `crates/<name>/src/`; not
/// `alloc`, whose `alloc/src/` the standard library shares).
pub const OWN_CRATES: [&str; 5] = ["strategies", "kernel", "query", "runner", "protocol"];

/// The sites of a dhat profile (`dhat-heap.json`), largest first: per program point its bytes at
/// the global peak (`gb`), summed by site; at most `top`.
pub fn from_dhat(json: &str, top: usize) -> Result<Vec<Site>> {
    let v: serde_json::Value = serde_json::from_str(json).context("not a dhat profile")?;
    let frames: Vec<&str> = v["ftbl"]
        .as_array()
        .context("dhat profile without a frame table")?
        .iter()
        .map(|f| f.as_str().unwrap_or(""))
        .collect();
    let mut by: std::collections::BTreeMap<(String, String), u64> = Default::default();
    for pp in v["pps"]
        .as_array()
        .context("dhat profile without program points")?
    {
        let bytes = pp["gb"].as_u64().unwrap_or(0);
        if bytes == 0 {
            continue;
        }
        let site = pp["fs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| frames.get(i.as_u64()? as usize))
            .find_map(|f| own_frame(f));
        let key = site.unwrap_or_else(|| ("(outside membench's code)".into(), String::new()));
        *by.entry(key).or_default() += bytes;
    }
    let mut sites: Vec<Site> = by
        .into_iter()
        .map(|((location, function), bytes_at_peak)| Site {
            location,
            function,
            bytes_at_peak,
        })
        .collect();
    sites.sort_by(|a, b| {
        b.bytes_at_peak
            .cmp(&a.bytes_at_peak)
            .then(a.location.cmp(&b.location))
    });
    sites.truncate(top);
    Ok(sites)
}

/// `(location, function)` of a frame in membench's sources: dhat writes
/// `0xADDR: FUNCTION (CRATE/src/FILE.rs:LINE:COLUMN)`.
fn own_frame(frame: &str) -> Option<(String, String)> {
    let open = frame.rfind(" (")?;
    let place = frame[open + 2..].strip_suffix(')')?;
    let function = frame[..open].split_once(": ").map_or("", |(_, f)| f);
    let mut parts = place.rsplitn(3, ':');
    let (_column, line, file) = (parts.next()?, parts.next()?, parts.next()?);
    OWN_CRATES
        .iter()
        .find(|c| file.starts_with(&format!("{c}/src/")))?;
    Some((format!("crates/{file}:{line}"), function.to_string()))
}

/// The sites that grew (or shrank) from `before` to `after`, largest growth first; sites under
/// `min_bytes` of change are left out.
pub fn growth(before: &[Site], after: &[Site], min_bytes: u64) -> Vec<SiteGrowth> {
    let find = |v: &[Site], s: &Site| {
        v.iter()
            .find(|x| x.location == s.location)
            .map_or(0, |x| x.bytes_at_peak)
    };
    let mut out: Vec<SiteGrowth> = after
        .iter()
        .map(|s| SiteGrowth {
            location: s.location.clone(),
            function: s.function.clone(),
            before_bytes: find(before, s),
            after_bytes: s.bytes_at_peak,
        })
        .chain(
            before
                .iter()
                .filter(|s| !after.iter().any(|a| a.location == s.location))
                .map(|s| SiteGrowth {
                    location: s.location.clone(),
                    function: s.function.clone(),
                    before_bytes: s.bytes_at_peak,
                    after_bytes: 0,
                }),
        )
        .filter(|g| g.delta_bytes().unsigned_abs() >= min_bytes)
        .collect();
    out.sort_by_key(|g| std::cmp::Reverse(g.delta_bytes()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_are_the_first_own_frame_summed_and_compared() {
        let json = r#"{"ftbl": ["[root]",
            "0x1: <dhat::Alloc as core::alloc::global::GlobalAlloc>::alloc (???:0:0)",
            "0x2: reserve<u8> (src/raw_vec/mod.rs:340:29)",
            "0x3: run (strategies/src/streaming.rs:42:17)",
            "0x4: main (runner/src/main.rs:9:5)"],
          "pps": [{"gb": 1000, "fs": [1, 2, 3, 4]}, {"gb": 24, "fs": [1, 3]},
                  {"gb": 0, "fs": [1, 4]}, {"gb": 8, "fs": [1, 2]}]}"#;
        let s = from_dhat(json, 10).unwrap();
        assert_eq!(s[0].location, "crates/strategies/src/streaming.rs:42");
        assert_eq!(s[0].function, "run");
        assert_eq!(s[0].bytes_at_peak, 1024);
        assert_eq!(s[1].location, "(outside membench's code)");
        let mut grown = s.clone();
        grown[0].bytes_at_peak += 10 << 20;
        let g = growth(&s, &grown, 1024);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].delta_bytes(), 10 << 20);
    }
}
