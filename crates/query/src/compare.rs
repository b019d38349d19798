//! Whether two engines' answers to one query agree: the canonical answer tables (`columns`,
//! `rows`, as `QueryAnswer::to_json` writes them) compared row for row after sorting (engines
//! order ties differently), integers, decimals, strings and dates exactly, numbers that differ
//! only in how an engine summed floats within a relative 1e-9. The kernel strategies agree bit
//! for bit (their digests are equal); this is for engines that sum in another order.

use serde_json::Value;

/// The relative difference two floats may have and still agree.
pub const FLOAT_TOLERANCE: f64 = 1e-9;

/// `Ok` when the two answers agree, else the first difference.
pub fn agree(a: &Value, b: &Value) -> Result<(), String> {
    // A result written to a file (`--output`) is its row count and order-independent digest.
    if a.get("written") != b.get("written") {
        return Err(format!(
            "written {} against {}",
            a.get("written").unwrap_or(&Value::Null),
            b.get("written").unwrap_or(&Value::Null)
        ));
    }
    let rows = |v: &Value| -> Result<Vec<Vec<Value>>, String> {
        v["rows"]
            .as_array()
            .ok_or("no rows in the answer")?
            .iter()
            .map(|r| {
                r.as_array()
                    .cloned()
                    .ok_or_else(|| "a row is not a list".to_string())
            })
            .collect()
    };
    let (mut x, mut y) = (rows(a)?, rows(b)?);
    if x.len() != y.len() {
        return Err(format!("{} rows against {}", x.len(), y.len()));
    }
    x.sort_by_key(|r| sort_key(r));
    y.sort_by_key(|r| sort_key(r));
    for (i, (r, s)) in x.iter().zip(&y).enumerate() {
        if r.len() != s.len() {
            return Err(format!("row {i}: {} columns against {}", r.len(), s.len()));
        }
        for (c, (u, v)) in r.iter().zip(s).enumerate() {
            if !same_cell(u, v) {
                return Err(format!(
                    "row {i} (sorted), column {}: {u} against {v}",
                    c + 1
                ));
            }
        }
    }
    Ok(())
}

/// A cell as a comparable value: numbers (JSON numbers or decimal strings) as floats.
pub fn same_cell(a: &Value, b: &Value) -> bool {
    let num = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok(),
        _ => None,
    };
    match (a, b) {
        (Value::String(x), Value::String(y)) if x == y => true,
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => x == y || (x - y).abs() <= FLOAT_TOLERANCE * x.abs().max(y.abs()),
            _ => a == b,
        },
    }
}

/// A row's sort key as text, numbers at fixed width (so that near-equal floats sort alike).
pub fn sort_key(row: &[Value]) -> Vec<String> {
    row.iter()
        .map(|c| match c {
            Value::Number(n) => format!("{:020.6}", n.as_f64().unwrap_or(0.0)),
            Value::String(s) => match s.parse::<f64>() {
                Ok(f) => format!("{f:020.6}"),
                Err(_) => s.clone(),
            },
            other => other.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_agree_within_the_tolerance_and_nothing_else_does() {
        let a = json!({"columns": ["k", "m"], "rows": [["x", 1.0000000000001], ["y", "2.50"]]});
        let b = json!({"columns": ["k", "m"], "rows": [["y", 2.5], ["x", 1.0]]});
        assert_eq!(agree(&a, &b), Ok(()));
        let c = json!({"columns": ["k", "m"], "rows": [["y", 2.5], ["x", 1.001]]});
        assert!(agree(&a, &c).unwrap_err().contains("column 2"));
        let d = json!({"columns": ["k", "m"], "rows": [["y", 2.5]]});
        assert_eq!(agree(&a, &d), Err("2 rows against 1".into()));
        let e = json!({"columns": ["k", "m"], "rows": [["x", 1.0], ["z", 2.5]]});
        assert!(agree(&a, &e).is_err());
    }
}
