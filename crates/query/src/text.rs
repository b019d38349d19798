//! A field's text as a typed value, and back: the one set of rules every reader of a user's
//! file applies (`int64`, `float64`, `decimal(S)`, `bool`, `date`, `timestamp[tz]`), so that
//! inference, `inspect` and every strategy accept and refuse the same texts.

use membench_protocol::ColumnType;

/// A typed value (`Null` for a null token). Equality is by value as grouping needs it: every
/// NaN equals every NaN and `-0.0` equals `0.0` (hashing agrees: `Hash` in `eval`).
#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    /// Units of `10^-scale`, and the scale.
    Decimal(i64, u8),
    Bool(bool),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01 00:00 (UTC for `timestamptz`).
    Timestamp(i64),
    Str(String),
}

/// A float's bits with every NaN one NaN and `-0.0` as `0.0`.
#[inline]
pub fn canonical_bits(f: f64) -> u64 {
    if f.is_nan() {
        f64::NAN.to_bits()
    } else {
        (f + 0.0).to_bits()
    }
}

impl PartialEq for Value {
    #[inline]
    fn eq(&self, o: &Value) -> bool {
        use Value::*;
        match (self, o) {
            (Null, Null) => true,
            (Int(a), Int(b)) | (Timestamp(a), Timestamp(b)) => a == b,
            (Float(a), Float(b)) => canonical_bits(*a) == canonical_bits(*b),
            (Decimal(a, s), Decimal(b, t)) => a == b && s == t,
            (Bool(a), Bool(b)) => a == b,
            (Date(a), Date(b)) => a == b,
            (Str(a), Str(b)) => a == b,
            _ => false,
        }
    }
}

/// Why a field's text is not a value of its column's type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeBreak {
    /// Not a value of the type at all.
    NotA,
    /// A number with more digits after the point than the decimal's scale.
    Scale { digits: u32 },
    /// Out of the type's range.
    Range,
    /// A timestamp with a zone in a column without one, or the other way round.
    Zone { has_zone: bool },
}

/// Parses `[+-]digits` into an `i64`.
pub fn parse_int(b: &[u8]) -> Result<i64, TypeBreak> {
    let (neg, digits) = sign(b);
    if digits.is_empty() || digits.len() > 19 {
        return Err(
            if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
                TypeBreak::Range
            } else {
                TypeBreak::NotA
            },
        );
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Err(TypeBreak::NotA);
        }
        v = push_digit(v, d, neg)?;
    }
    Ok(v)
}

/// `v` with one more decimal digit (away from zero when `neg`), checked.
#[inline]
fn push_digit(v: i64, digit: u8, neg: bool) -> Result<i64, TypeBreak> {
    let d = (digit - b'0') as i64;
    v.checked_mul(10)
        .and_then(|v| {
            if neg {
                v.checked_sub(d)
            } else {
                v.checked_add(d)
            }
        })
        .ok_or(TypeBreak::Range)
}

fn sign(b: &[u8]) -> (bool, &[u8]) {
    match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    }
}

/// The number of digits after the point of a plain decimal (`-12.340` → 3, `7` → 0), or `None`
/// when the text is not `[+-]digits[.digits]` (an exponent, a word, a lone point).
pub fn decimal_digits(b: &[u8]) -> Option<u32> {
    let (_, body) = sign(b);
    let (int, frac) = match memchr_dot(body) {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, &[][..]),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.iter().all(u8::is_ascii_digit) || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(frac.len() as u32)
}

fn memchr_dot(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'.')
}

/// Parses a plain decimal into units of `10^-scale`; more digits after the point than `scale`
/// is [`TypeBreak::Scale`], never a rounding. One pass over the text.
pub fn parse_decimal(b: &[u8], scale: u8) -> Result<i64, TypeBreak> {
    let (neg, body) = sign(b);
    let mut v: i64 = 0;
    let mut frac: Option<u32> = None;
    let mut digits = 0u32;
    for &c in body {
        match c {
            b'0'..=b'9' => {
                v = push_digit(v, c, neg)?;
                digits += 1;
                if let Some(f) = &mut frac {
                    *f += 1;
                }
            }
            b'.' if frac.is_none() => frac = Some(0),
            _ => return Err(TypeBreak::NotA),
        }
    }
    if digits == 0 {
        return Err(TypeBreak::NotA);
    }
    let f = frac.unwrap_or(0);
    if f > scale as u32 {
        return Err(TypeBreak::Scale { digits: f });
    }
    for _ in f..scale as u32 {
        v = v.checked_mul(10).ok_or(TypeBreak::Range)?;
    }
    Ok(v)
}

/// Parses a float: what Rust's `f64` parser takes, but only texts that start like a number (so
/// `inf`, `nan` and words are not floats; `1e5`, `.5`, `-0.25` are).
pub fn parse_float(b: &[u8]) -> Result<f64, TypeBreak> {
    let (_, body) = sign(b);
    match body.first() {
        Some(c) if c.is_ascii_digit() || *c == b'.' => {}
        _ => return Err(TypeBreak::NotA),
    }
    let s = std::str::from_utf8(b).map_err(|_| TypeBreak::NotA)?;
    let v: f64 = s.parse().map_err(|_| TypeBreak::NotA)?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(TypeBreak::Range)
    }
}

/// `true` or `false`, any case.
pub fn parse_bool(b: &[u8]) -> Result<bool, TypeBreak> {
    if b.eq_ignore_ascii_case(b"true") {
        Ok(true)
    } else if b.eq_ignore_ascii_case(b"false") {
        Ok(false)
    } else {
        Err(TypeBreak::NotA)
    }
}

fn digits_n(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |v, &d| v * 10 + (d - b'0') as u32))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = (y - era * 400) as u32;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe as i32 - 719_468
}

/// The (year, month, day) of a day number.
pub fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u32;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe as i32 + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// `YYYY-MM-DD` or `YYYY/MM/DD` (the separators alike), a real calendar day.
pub fn parse_date(b: &[u8]) -> Result<i32, TypeBreak> {
    if b.len() != 10 || !(b[4] == b'-' || b[4] == b'/') || b[7] != b[4] {
        return Err(TypeBreak::NotA);
    }
    let (y, m, d) = (
        digits_n(&b[0..4]).ok_or(TypeBreak::NotA)? as i32,
        digits_n(&b[5..7]).ok_or(TypeBreak::NotA)?,
        digits_n(&b[8..10]).ok_or(TypeBreak::NotA)?,
    );
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return Err(TypeBreak::Range);
    }
    Ok(days_from_civil(y, m, d))
}

/// A date and time: `DATE[T| ]HH:MM[:SS[.fraction]][Z|±HH[:MM]]`, or a date alone (midnight).
/// Returns microseconds (UTC when there is a zone) and whether a zone was given.
pub fn parse_timestamp(b: &[u8]) -> Result<(i64, bool), TypeBreak> {
    if b.len() < 10 {
        return Err(TypeBreak::NotA);
    }
    let days = parse_date(&b[..10])? as i64;
    let mut rest = &b[10..];
    let mut micros = days * 86_400_000_000;
    if rest.is_empty() {
        return Ok((micros, false));
    }
    if !(rest[0] == b'T' || rest[0] == b' ') || rest.len() < 6 || rest[3] != b':' {
        return Err(TypeBreak::NotA);
    }
    let h = digits_n(&rest[1..3]).ok_or(TypeBreak::NotA)?;
    let mi = digits_n(&rest[4..6]).ok_or(TypeBreak::NotA)?;
    rest = &rest[6..];
    let mut s = 0;
    let mut frac_us = 0i64;
    if rest.first() == Some(&b':') {
        s = digits_n(rest.get(1..3).ok_or(TypeBreak::NotA)?).ok_or(TypeBreak::NotA)?;
        rest = &rest[3..];
        if rest.first() == Some(&b'.') {
            let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 || n > 9 {
                return Err(TypeBreak::NotA);
            }
            let mut f = 0i64;
            for i in 0..6 {
                f = f * 10
                    + rest
                        .get(1 + i)
                        .filter(|_| i < n)
                        .map_or(0, |c| (c - b'0') as i64);
            }
            frac_us = f;
            rest = &rest[1 + n..];
        }
    }
    if h > 23 || mi > 59 || s > 60 {
        return Err(TypeBreak::Range);
    }
    micros += ((h as i64 * 60 + mi as i64) * 60 + s as i64) * 1_000_000 + frac_us;
    if rest.is_empty() {
        return Ok((micros, false));
    }
    let offset_min: i64 = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), tail @ ..] => {
            let (oh, om) = match tail {
                [a, b] => (digits_n(&[*a, *b]), Some(0)),
                [a, b, b':', c, d] | [a, b, c, d] => (digits_n(&[*a, *b]), digits_n(&[*c, *d])),
                _ => (None, None),
            };
            let (oh, om) = (oh.ok_or(TypeBreak::NotA)?, om.ok_or(TypeBreak::NotA)?);
            if oh > 23 || om > 59 {
                return Err(TypeBreak::Range);
            }
            let m = oh as i64 * 60 + om as i64;
            if *sign == b'-' { -m } else { m }
        }
        _ => return Err(TypeBreak::NotA),
    };
    Ok((micros - offset_min * 60_000_000, true))
}

/// Parses a non-null field as `ty`.
pub fn parse_value(b: &[u8], ty: ColumnType) -> Result<Value, TypeBreak> {
    Ok(match ty {
        ColumnType::Int64 => Value::Int(parse_int(b)?),
        ColumnType::Float64 => Value::Float(parse_float(b)?),
        ColumnType::Decimal { scale } => Value::Decimal(parse_decimal(b, scale)?, scale),
        ColumnType::Bool => Value::Bool(parse_bool(b)?),
        ColumnType::Date => Value::Date(parse_date(b)?),
        ColumnType::Timestamp { zone } => {
            let (us, has_zone) = parse_timestamp(b)?;
            if has_zone != zone {
                return Err(TypeBreak::Zone { has_zone });
            }
            Value::Timestamp(us)
        }
        ColumnType::String => Value::Str(String::from_utf8_lossy(b).into_owned()),
    })
}

/// `units` of `10^-scale` as text (`1234`, 2 → `12.34`; `-5`, 2 → `-0.05`).
pub fn format_decimal(units: i64, scale: u8) -> String {
    if scale == 0 {
        return units.to_string();
    }
    let p = 10u64.pow(scale as u32);
    let a = units.unsigned_abs();
    let sign = if units < 0 { "-" } else { "" };
    format!("{sign}{}.{:0w$}", a / p, a % p, w = scale as usize)
}

/// A day number as `YYYY-MM-DD`.
pub fn format_date(days: i32) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Microseconds as `YYYY-MM-DD HH:MM:SS[.ffffff]` (`Z` appended with a zone).
pub fn format_timestamp(us: i64, zone: bool) -> String {
    let days = us.div_euclid(86_400_000_000);
    let in_day = us.rem_euclid(86_400_000_000);
    let (s, frac) = (in_day / 1_000_000, in_day % 1_000_000);
    let mut t = format!(
        "{} {:02}:{:02}:{:02}",
        format_date(days as i32),
        s / 3600,
        s / 60 % 60,
        s % 60
    );
    if frac != 0 {
        t.push_str(&format!(".{frac:06}"));
    }
    if zone {
        t.push('Z');
    }
    t
}

impl Value {
    /// Whether it is NULL.
    #[inline]
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Appends the value in a compact binary form that [`Value::decode`] reads back (a
    /// strategy's spill files).
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Value::Null => out.push(0),
            Value::Int(v) => {
                out.push(1);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Value::Float(v) => {
                out.push(2);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Value::Decimal(v, s) => {
                out.push(3);
                out.extend_from_slice(&v.to_le_bytes());
                out.push(*s);
            }
            Value::Bool(v) => out.extend_from_slice(&[4, u8::from(*v)]),
            Value::Date(v) => {
                out.push(5);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Value::Timestamp(v) => {
                out.push(6);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Value::Str(s) => {
                out.push(7);
                out.extend_from_slice(&(s.len() as u32).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
        }
    }

    /// Reads one value [`Value::encode`] wrote from the front of `b`, advancing it (`None`:
    /// not such a value).
    pub fn decode(b: &mut &[u8]) -> Option<Value> {
        fn take<const N: usize>(b: &mut &[u8]) -> Option<[u8; N]> {
            let (head, rest) = b.split_first_chunk::<N>()?;
            *b = rest;
            Some(*head)
        }
        let [tag] = take::<1>(b)?;
        Some(match tag {
            0 => Value::Null,
            1 => Value::Int(i64::from_le_bytes(take(b)?)),
            2 => Value::Float(f64::from_le_bytes(take(b)?)),
            3 => {
                let v = i64::from_le_bytes(take(b)?);
                Value::Decimal(v, take::<1>(b)?[0])
            }
            4 => Value::Bool(take::<1>(b)?[0] != 0),
            5 => Value::Date(i32::from_le_bytes(take(b)?)),
            6 => Value::Timestamp(i64::from_le_bytes(take(b)?)),
            7 => {
                let n = u32::from_le_bytes(take(b)?) as usize;
                let s = b.get(..n)?;
                *b = &b[n..];
                Value::Str(String::from_utf8(s.to_vec()).ok()?)
            }
            _ => return None,
        })
    }

    /// The order of two join keys of one type (a sort-merge join's): numbers and times by
    /// value, text by its bytes, NULL first.
    pub fn key_cmp(&self, o: &Value) -> std::cmp::Ordering {
        use Value::*;
        use std::cmp::Ordering;
        match (self, o) {
            (Null, Null) => Ordering::Equal,
            (Null, _) => Ordering::Less,
            (_, Null) => Ordering::Greater,
            (Int(a), Int(b)) | (Timestamp(a), Timestamp(b)) | (Decimal(a, _), Decimal(b, _)) => {
                a.cmp(b)
            }
            (Float(a), Float(b)) => {
                f64::from_bits(canonical_bits(*a)).total_cmp(&f64::from_bits(canonical_bits(*b)))
            }
            (Bool(a), Bool(b)) => a.cmp(b),
            (Date(a), Date(b)) => a.cmp(b),
            (Str(a), Str(b)) => a.as_bytes().cmp(b.as_bytes()),
            (a, b) => (a.rank()).cmp(&b.rank()),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Int(_) => 1,
            Value::Float(_) => 2,
            Value::Decimal(..) => 3,
            Value::Bool(_) => 4,
            Value::Date(_) => 5,
            Value::Timestamp(_) => 6,
            Value::Str(_) => 7,
        }
    }

    /// The value as text in its canonical spelling (the column's type gives a decimal's scale
    /// and a timestamp's zone).
    pub fn render(&self, ty: ColumnType) -> String {
        match (self, ty) {
            (Value::Null, _) => "NULL".into(),
            (Value::Int(v), _) => v.to_string(),
            (Value::Float(v), _) => format!("{v:?}"),
            (Value::Decimal(v, scale), _) => format_decimal(*v, *scale),
            (Value::Bool(v), _) => v.to_string(),
            (Value::Date(d), _) => format_date(*d),
            (Value::Timestamp(us), ColumnType::Timestamp { zone }) => format_timestamp(*us, zone),
            (Value::Timestamp(us), _) => format_timestamp(*us, false),
            (Value::Str(s), _) => s.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_encode_and_decode_back() {
        let vs = [
            Value::Null,
            Value::Int(-7),
            Value::Float(1.5),
            Value::Decimal(-1234, 2),
            Value::Bool(true),
            Value::Date(-3),
            Value::Timestamp(1 << 40),
            Value::Str("héllo".into()),
        ];
        let mut b = Vec::new();
        for v in &vs {
            v.encode(&mut b);
        }
        let mut r = b.as_slice();
        for v in &vs {
            assert_eq!(Value::decode(&mut r).as_ref(), Some(v));
        }
        assert!(r.is_empty());
        assert_eq!(Value::decode(&mut &[9u8][..]), None);
        assert_eq!(Value::decode(&mut &[7u8, 5, 0, 0, 0, b'a'][..]), None);
    }

    #[test]
    fn integers_and_their_range() {
        assert_eq!(parse_int(b"-42"), Ok(-42));
        assert_eq!(parse_int(b"+7"), Ok(7));
        assert_eq!(parse_int(b"9223372036854775807"), Ok(i64::MAX));
        assert_eq!(parse_int(b"-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(parse_int(b"9223372036854775808"), Err(TypeBreak::Range));
        assert_eq!(parse_int(b"12a"), Err(TypeBreak::NotA));
        assert_eq!(parse_int(b"-"), Err(TypeBreak::NotA));
        assert_eq!(parse_int(b""), Err(TypeBreak::NotA));
    }

    #[test]
    fn decimals_are_exact_and_refuse_more_digits() {
        assert_eq!(parse_decimal(b"12.34", 2), Ok(1234));
        assert_eq!(parse_decimal(b"-0.5", 2), Ok(-50));
        assert_eq!(parse_decimal(b"7", 2), Ok(700));
        assert_eq!(parse_decimal(b".5", 1), Ok(5));
        assert_eq!(
            parse_decimal(b"1.234", 2),
            Err(TypeBreak::Scale { digits: 3 })
        );
        assert_eq!(parse_decimal(b"1e3", 2), Err(TypeBreak::NotA));
        assert_eq!(parse_decimal(b".", 2), Err(TypeBreak::NotA));
        assert_eq!(format_decimal(-5, 2), "-0.05");
        assert_eq!(format_decimal(1234, 2), "12.34");
        assert_eq!(decimal_digits(b"-12.340"), Some(3));
    }

    #[test]
    fn floats_start_like_numbers() {
        assert_eq!(parse_float(b"1.5e3"), Ok(1500.0));
        assert_eq!(parse_float(b"-.25"), Ok(-0.25));
        assert_eq!(parse_float(b"nan"), Err(TypeBreak::NotA));
        assert_eq!(parse_float(b"inf"), Err(TypeBreak::NotA));
        assert_eq!(parse_float(b"1e999"), Err(TypeBreak::Range));
    }

    #[test]
    fn dates_are_real_calendar_days() {
        assert_eq!(parse_date(b"1970-01-01"), Ok(0));
        assert_eq!(parse_date(b"2012/01/02"), Ok(15341));
        assert_eq!(
            parse_date(b"2024-02-29").map(format_date),
            Ok("2024-02-29".into())
        );
        assert_eq!(parse_date(b"2023-02-29"), Err(TypeBreak::Range));
        assert_eq!(parse_date(b"2023-13-01"), Err(TypeBreak::Range));
        assert_eq!(parse_date(b"2023-01/01"), Err(TypeBreak::NotA));
        assert_eq!(parse_date(b"01/02/2000"), Err(TypeBreak::NotA));
        for d in [-800_000, -1, 0, 59, 11_016, 20_000, 2_000_000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }

    #[test]
    fn timestamps_with_and_without_zone() {
        let (us, z) = parse_timestamp(b"2024-03-01T12:30:05.25").unwrap();
        assert!(!z);
        assert_eq!(format_timestamp(us, false), "2024-03-01 12:30:05.250000");
        let (utc, z) = parse_timestamp(b"2024-03-01 14:30:05+02:00").unwrap();
        assert!(z);
        assert_eq!(format_timestamp(utc, true), "2024-03-01 12:30:05Z");
        assert_eq!(
            parse_timestamp(b"2010/01/01 00:00").map(|t| t.0),
            Ok(1_262_304_000_000_000)
        );
        assert_eq!(parse_timestamp(b"2024-03-01 24:00"), Err(TypeBreak::Range));
        assert_eq!(parse_timestamp(b"2024-03-01 12"), Err(TypeBreak::NotA));
        assert_eq!(
            parse_value(b"2024-03-01T00:00Z", ColumnType::Timestamp { zone: false }),
            Err(TypeBreak::Zone { has_zone: true })
        );
    }
}
