//! The value rules of a `sales` row: the one place that says which values are valid, including
//! that `quantity × price` fits in 64 bits (so `net = quantity × price − discount`, with a
//! non-negative discount, fits too). The CSV
//! parser ([`crate::LineParser`]) and the Parquet fold call [`check_values`]; the Polars plan
//! mirrors the same constants as expressions (`membench_strategies::polars`' `invalid`), so a new engine adds no
//! copy of its own.

use crate::bad::{BadKind, BadRow};

/// Columns that must hold a value in every row (a null or empty one makes the row bad).
pub const REQUIRED: [&str; 6] = [
    "order_id",
    "customer_id",
    "product_id",
    "category",
    "quantity",
    "price",
];
/// The smallest valid `quantity`.
pub const MIN_QUANTITY: i64 = 1;
/// The smallest valid `price`, in cents.
pub const MIN_PRICE_CENTS: i64 = 0;
/// The smallest valid `discount`, in cents (a missing discount is valid and means 0).
pub const MIN_DISCOUNT_CENTS: i64 = 0;

/// The most cents (in magnitude) a float money value may hold: 2^53, the last whole number a
/// double holds exactly; past it, neighbouring cents are the same double.
pub const MAX_FLOAT_CENTS: f64 = 9_007_199_254_740_992.0;
/// How far from a whole number of cents a float money value may be (a billionth of a cent): the
/// noise of float arithmetic, so `0.1 + 0.2` is 30 cents.
pub const FLOAT_CENTS_TOLERANCE: f64 = 1e-9;

/// A float money value (Parquet, an engine's frame) in exact integer cents `c`: finite, within
/// [`MAX_FLOAT_CENTS`], and a whole number of cents — within [`FLOAT_CENTS_TOLERANCE`], or
/// exactly the double a decimal with two places parses to (`c / 100`, correctly rounded), which
/// holds at every magnitude where a tolerance cannot. 12.345 is never money. `field` names the
/// column in the reason.
pub fn float_cents(field: &str, v: f64) -> Result<i64, BadRow> {
    if !v.is_finite() {
        return Err(BadRow::new(
            BadKind::NotANumber,
            format!("{field}: {v} is not a finite number"),
        ));
    }
    let scaled = v * 100.0;
    if scaled.abs() > MAX_FLOAT_CENTS {
        return Err(BadRow::new(
            BadKind::OutOfRange,
            format!("{field}: {v} is out of range"),
        ));
    }
    let cents = scaled.round();
    if (scaled - cents).abs() > FLOAT_CENTS_TOLERANCE && cents / 100.0 != v {
        return Err(BadRow::new(
            BadKind::NotANumber,
            format!("{field}: {v} is not a whole number of cents"),
        ));
    }
    Ok(cents as i64)
}

/// Formats cents as a decimal (`-1050` → `-10.50`), without allocating more than the string.
pub fn cents_text(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Checks the numeric values of a parsed row against the rules: the test inline (every row of
/// every strategy passes here), the reason built out of line.
#[inline(always)]
pub fn check_values(
    quantity: i64,
    price_cents: i64,
    discount_cents: Option<i64>,
) -> Result<(), BadRow> {
    if quantity >= MIN_QUANTITY
        && price_cents >= MIN_PRICE_CENTS
        && quantity.checked_mul(price_cents).is_some()
        && discount_cents.is_none_or(|d| d >= MIN_DISCOUNT_CENTS)
    {
        return Ok(());
    }
    Err(value_error(quantity, price_cents, discount_cents))
}

/// Why [`check_values`] refused a row (the first rule it breaks).
#[cold]
#[inline(never)]
fn value_error(quantity: i64, price_cents: i64, discount_cents: Option<i64>) -> BadRow {
    match reason(quantity, price_cents, discount_cents) {
        Err(bad) => bad,
        Ok(()) => unreachable!("value_error called on values that break no rule"),
    }
}

fn reason(quantity: i64, price_cents: i64, discount_cents: Option<i64>) -> Result<(), BadRow> {
    if quantity < MIN_QUANTITY {
        return Err(BadRow::new(
            BadKind::OutOfRange,
            format!("quantity: {quantity} is below {MIN_QUANTITY}"),
        ));
    }
    if price_cents < MIN_PRICE_CENTS {
        return Err(BadRow::new(
            BadKind::OutOfRange,
            format!("price: {} is negative", cents_text(price_cents)),
        ));
    }
    if quantity.checked_mul(price_cents).is_none() {
        return Err(BadRow::new(
            BadKind::OutOfRange,
            format!(
                "quantity × price overflows 64 bits: {quantity} × {}",
                cents_text(price_cents)
            ),
        ));
    }
    if let Some(d) = discount_cents.filter(|&d| d < MIN_DISCOUNT_CENTS) {
        return Err(BadRow::new(
            BadKind::OutOfRange,
            format!("discount: {} is negative", cents_text(d)),
        ));
    }
    Ok(())
}

/// The reason for a row whose required value is missing (a null in Parquet or an engine frame).
pub fn missing_value() -> BadRow {
    BadRow::new(
        BadKind::NotANumber,
        "a required value is missing (null)".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_money_is_whole_cents_finite_and_in_range() {
        assert_eq!(float_cents("price", 12.34), Ok(1234));
        assert_eq!(float_cents("price", 0.1 + 0.2), Ok(30));
        assert_eq!(float_cents("price", -0.05), Ok(-5));
        assert_eq!(
            float_cents("price", 90_000_000_000_000.0),
            Ok(9_000_000_000_000_000)
        );
        assert_eq!(
            float_cents("price", 12_345_678_901.23),
            Ok(1_234_567_890_123)
        );
        let reason = |v: f64| float_cents("price", v).unwrap_err().reason;
        assert_eq!(
            reason(12.345),
            "price: 12.345 is not a whole number of cents"
        );
        assert_eq!(reason(f64::NAN), "price: NaN is not a finite number");
        assert_eq!(
            reason(f64::NEG_INFINITY),
            "price: -inf is not a finite number"
        );
        assert_eq!(reason(1e17), "price: 100000000000000000 is out of range");
        // Half a cent is caught wherever a double can still hold it.
        assert!(float_cents("price", 1e12 + 0.005).is_err());
    }

    #[test]
    fn each_rule_names_its_field() {
        assert!(check_values(1, 0, None).is_ok());
        assert!(check_values(3, 100, Some(0)).is_ok());
        let q = check_values(0, 100, None).unwrap_err();
        assert_eq!(
            (q.kind, q.reason.as_str()),
            (BadKind::OutOfRange, "quantity: 0 is below 1")
        );
        let p = check_values(1, -1050, None).unwrap_err();
        assert_eq!(p.reason, "price: -10.50 is negative");
        let d = check_values(1, 5, Some(-5)).unwrap_err();
        assert_eq!(d.reason, "discount: -0.05 is negative");
        let o = check_values(i64::MAX, 99_999_999_999, None).unwrap_err();
        assert_eq!(o.kind, BadKind::OutOfRange);
        assert!(
            o.reason.starts_with("quantity × price overflows 64 bits"),
            "{}",
            o.reason
        );
        assert!(
            check_values(i64::MAX, 1, Some(i64::MAX)).is_ok(),
            "q × p - d cannot overflow"
        );
    }
}
