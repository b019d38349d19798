//! Sizes and row counts as people write them (`512MiB`, `2.5m`).

/// Parses a byte size: `512MiB`, `1GB`, `4096` (via the `bytesize` crate). The error says what
/// was given and what is expected.
pub fn parse_size(s: &str) -> Result<u64, String> {
    s.trim()
        .parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|e| format!("{s:?} is not a size (e.g. 512MiB, 1GiB, 2GB): {e}"))
}

/// Parses a row count: `100k`, `1m`, `2.5m`, `50m`, `1000`. The error says what was given.
pub fn parse_count(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let (num, mul) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1e3),
        Some('m') => (&t[..t.len() - 1], 1e6),
        Some('g') | Some('b') => (&t[..t.len() - 1], 1e9),
        _ => (&t[..], 1.0),
    };
    match num.parse::<f64>() {
        Ok(v) if v >= 0.0 => Ok((v * mul).round() as u64),
        _ => Err(format!("{s:?} is not a row count (e.g. 100k, 1m, 50m)")),
    }
}

/// Parses a scale factor: `10x`, `0.5x`, `100` (a multiple of a table's rows, above 0 and at
/// most 10⁶). The error says what was given and the valid range.
pub fn parse_scale(s: &str) -> Result<f64, String> {
    let t = s.trim().to_ascii_lowercase();
    let num = t.strip_suffix('x').unwrap_or(&t);
    match num.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1e6 => Ok(v),
        Ok(_) => Err(format!("{s:?}: a scale is above 0 and at most 1000000x")),
        _ => Err(format!("{s:?} is not a scale (e.g. 1x, 10x, 0.5x)")),
    }
}

/// A scale factor as a label: `10` → `10x`, `0.5` → `0.5x`.
pub fn scale_label(f: f64) -> String {
    format!("{f}x")
}

/// A row count as a short label: `1000000` → `1m`, `100000` → `100k`, otherwise the number.
pub fn rows_label(rows: u64) -> String {
    if rows >= 1_000_000 && rows.is_multiple_of(1_000_000) {
        format!("{}m", rows / 1_000_000)
    } else if rows >= 1000 && rows.is_multiple_of(1000) {
        format!("{}k", rows / 1000)
    } else {
        rows.to_string()
    }
}
