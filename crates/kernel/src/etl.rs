//! The `etl` workload's one transform and its encodings: every strategy cleans a row with
//! [`Cleaner`] (or, in the Polars strategies, with the same rules written as expressions) and
//! writes it as a CSV line with [`push_csv_row`] or into an [`EtlColumns`] batch for Parquet.
//!
//! The rules, applied to every valid row, in input order:
//! - text fields (`order_date`, `region`, `category`, `note`) are trimmed of Unicode white space;
//! - `region` and `category` are lowercased (Unicode rules, the same as `str::to_lowercase` and
//!   Polars' `to_lowercase`);
//! - money becomes exact integer cents: `price_cents`, `discount_cents` (a missing discount is 0);
//! - `net_cents = quantity × price_cents − discount_cents` is added.

use crate::parse::RowRef;

/// Columns of the `etl` output, in file order.
pub const ETL_COLUMNS: [&str; 11] = [
    "order_id",
    "order_date",
    "customer_id",
    "region",
    "category",
    "product_id",
    "quantity",
    "price_cents",
    "discount_cents",
    "net_cents",
    "note",
];

/// Rows per row group in a Parquet `etl` output (fixed, so every strategy writes the same file).
pub const ETL_ROW_GROUP_ROWS: usize = 65_536;

/// One cleaned row, borrowing its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EtlRow<'a> {
    pub order_id: i64,
    pub order_date: &'a str,
    pub customer_id: i64,
    pub region: &'a str,
    pub category: &'a str,
    pub product_id: i64,
    pub quantity: i64,
    pub price_cents: i64,
    pub discount_cents: i64,
    pub net_cents: i64,
    pub note: &'a str,
    /// No text of it needs quoting in CSV, as its row's reader knew ([`RowRef::unquoted`];
    /// trimming and lowercasing add no such character): [`push_csv_row`] copies its texts as
    /// they are.
    pub unquoted: bool,
}

/// Applies the `etl` rules, reusing its buffers: no allocation per row unless a `region` or
/// `category` holds non-ASCII text that needs lowercasing.
#[derive(Debug, Default)]
pub struct Cleaner {
    region: String,
    category: String,
}

/// `s` without leading and trailing Unicode white space (`str::trim`), looking at one byte
/// at each end when they are ASCII and not white space (most texts).
#[inline]
fn trim(s: &str) -> &str {
    let b = s.as_bytes();
    // Rust's white space among ASCII bytes: tab, line feed, vertical tab, form feed, carriage
    // return and space; any other white space is several bytes, each of them >= 0x80.
    let kept = |c: u8| c < 0x80 && !matches!(c, b'\t'..=b'\r' | b' ');
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) if kept(f) && kept(l) => s,
        _ => s.trim(),
    }
}

/// Trims `s` and lowercases it, into `buf` only when it changes.
fn lower<'a>(s: &'a str, buf: &'a mut String) -> &'a str {
    let s = trim(s);
    // One pass for the usual case: ASCII without capitals.
    if !s.bytes().any(|b| b >= 0x80 || b.is_ascii_uppercase()) {
        return s;
    }
    if s.is_ascii() {
        buf.clear();
        buf.push_str(s);
        buf.make_ascii_lowercase();
    } else {
        *buf = s.to_lowercase();
    }
    buf
}

impl Cleaner {
    /// A cleaner with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cleans one validated row.
    pub fn clean<'a>(&'a mut self, r: &RowRef<'a>) -> EtlRow<'a> {
        let discount_cents = r.discount_cents.unwrap_or(0);
        EtlRow {
            order_id: r.order_id,
            order_date: trim(r.order_date),
            customer_id: r.customer_id,
            region: lower(r.region, &mut self.region),
            category: lower(r.category, &mut self.category),
            product_id: r.product_id,
            quantity: r.quantity,
            price_cents: r.price_cents,
            discount_cents,
            net_cents: r.quantity * r.price_cents - discount_cents,
            note: trim(r.note),
            unquoted: r.unquoted,
        }
    }
}

/// Appends a CSV field, quoted (with `""` escapes) only if it holds `,`, `"`, `\r` or `\n`.
#[inline]
pub fn push_csv_field(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    if !needs_quotes(b) {
        out.extend_from_slice(b);
        return;
    }
    out.reserve(b.len() + 2);
    out.push(b'"');
    // Runs between quotes copied whole; each quote doubled.
    let mut from = 0;
    for q in memchr::memchr_iter(b'"', b) {
        out.extend_from_slice(&b[from..=q]);
        out.push(b'"');
        from = q + 1;
    }
    out.extend_from_slice(&b[from..]);
    out.push(b'"');
}

/// Whether `b` holds `,`, `"`, `\n` or `\r`: eight bytes at a time (SWAR: a byte equal to one
/// of them makes its lane zero after an XOR, and `(y − 0x01…) & !y & 0x80…` is non-zero exactly
/// when a lane of `y` is zero). The fields are short: one pass in registers beats two `memchr`
/// calls, whose set-up dominated at this length (measured in the `etl` profile).
#[inline]
fn needs_quotes(b: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    #[inline(always)]
    fn lane_is(x: u64, c: u8) -> u64 {
        let y = x ^ (LO * u64::from(c));
        y.wrapping_sub(LO) & !y & HI
    }
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let x = u64::from_le_bytes(c.try_into().expect("eight bytes"));
        if lane_is(x, b',') | lane_is(x, b'"') | lane_is(x, b'\n') | lane_is(x, b'\r') != 0 {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&c| matches!(c, b',' | b'"' | b'\n' | b'\r'))
}

/// Appends the header line of a CSV `etl` output.
pub fn push_csv_header(out: &mut Vec<u8>) {
    out.extend_from_slice(ETL_COLUMNS.join(",").as_bytes());
    out.push(b'\n');
}

/// Appends one cleaned row as a CSV line (`\n`-terminated).
pub fn push_csv_row(out: &mut Vec<u8>, r: &EtlRow<'_>) {
    let mut num = itoa::Buffer::new();
    let mut int = |out: &mut Vec<u8>, v: i64| {
        out.extend_from_slice(num.format(v).as_bytes());
        out.push(b',');
    };
    let text = |out: &mut Vec<u8>, s: &str| {
        if r.unquoted {
            out.extend_from_slice(s.as_bytes());
        } else {
            push_csv_field(out, s);
        }
    };
    int(out, r.order_id);
    text(out, r.order_date);
    out.push(b',');
    int(out, r.customer_id);
    text(out, r.region);
    out.push(b',');
    text(out, r.category);
    out.push(b',');
    int(out, r.product_id);
    int(out, r.quantity);
    int(out, r.price_cents);
    int(out, r.discount_cents);
    int(out, r.net_cents);
    text(out, r.note);
    out.push(b'\n');
}

/// A column of strings in one buffer (no allocation per value).
#[derive(Clone, Debug, Default)]
pub struct TextColumn {
    bytes: String,
    ends: Vec<usize>,
}

impl TextColumn {
    /// Appends a value.
    pub fn push(&mut self, s: &str) {
        self.bytes.push_str(s);
        self.ends.push(self.bytes.len());
    }
    /// The `i`-th value.
    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }
    /// All values in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.ends.len()).map(|i| self.get(i))
    }
    /// Appends `other`'s values in `rows`: one copy of their bytes, their ends shifted.
    pub fn extend_from(&mut self, other: &TextColumn, rows: std::ops::Range<usize>) {
        if rows.is_empty() {
            return;
        }
        let start = if rows.start == 0 {
            0
        } else {
            other.ends[rows.start - 1]
        };
        let base = self.bytes.len();
        self.bytes
            .push_str(&other.bytes[start..other.ends[rows.end - 1]]);
        self.ends
            .extend(other.ends[rows].iter().map(|&e| e - start + base));
    }
    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }
}

/// A batch of cleaned rows, column by column: what a Parquet `etl` output is built from.
#[derive(Clone, Debug, Default)]
pub struct EtlColumns {
    pub order_id: Vec<i64>,
    pub order_date: TextColumn,
    pub customer_id: Vec<i64>,
    pub region: TextColumn,
    pub category: TextColumn,
    pub product_id: Vec<i64>,
    pub quantity: Vec<i64>,
    pub price_cents: Vec<i64>,
    pub discount_cents: Vec<i64>,
    pub net_cents: Vec<i64>,
    pub note: TextColumn,
}

impl EtlColumns {
    /// Appends a row.
    pub fn push(&mut self, r: &EtlRow<'_>) {
        self.order_id.push(r.order_id);
        self.order_date.push(r.order_date);
        self.customer_id.push(r.customer_id);
        self.region.push(r.region);
        self.category.push(r.category);
        self.product_id.push(r.product_id);
        self.quantity.push(r.quantity);
        self.price_cents.push(r.price_cents);
        self.discount_cents.push(r.discount_cents);
        self.net_cents.push(r.net_cents);
        self.note.push(r.note);
    }
    /// Appends `other`'s rows in `rows`, column by column (what [`EtlColumns::push`] of each
    /// of them would make).
    pub fn extend_from(&mut self, other: &EtlColumns, rows: std::ops::Range<usize>) {
        let r = rows.clone();
        self.order_id.extend_from_slice(&other.order_id[r.clone()]);
        self.order_date.extend_from(&other.order_date, r.clone());
        self.customer_id
            .extend_from_slice(&other.customer_id[r.clone()]);
        self.region.extend_from(&other.region, r.clone());
        self.category.extend_from(&other.category, r.clone());
        self.product_id
            .extend_from_slice(&other.product_id[r.clone()]);
        self.quantity.extend_from_slice(&other.quantity[r.clone()]);
        self.price_cents
            .extend_from_slice(&other.price_cents[r.clone()]);
        self.discount_cents
            .extend_from_slice(&other.discount_cents[r.clone()]);
        self.net_cents.extend_from_slice(&other.net_cents[r]);
        self.note.extend_from(&other.note, rows);
    }
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.order_id.len()
    }
    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.order_id.is_empty()
    }
    /// The `i`-th row.
    pub fn row(&self, i: usize) -> EtlRow<'_> {
        EtlRow {
            order_id: self.order_id[i],
            order_date: self.order_date.get(i),
            customer_id: self.customer_id[i],
            region: self.region.get(i),
            category: self.category.get(i),
            product_id: self.product_id[i],
            quantity: self.quantity[i],
            price_cents: self.price_cents[i],
            discount_cents: self.discount_cents[i],
            net_cents: self.net_cents[i],
            note: self.note.get(i),
            unquoted: false,
        }
    }
    /// Empties the batch, keeping its buffers.
    pub fn clear(&mut self) {
        for v in [
            &mut self.order_id,
            &mut self.customer_id,
            &mut self.product_id,
            &mut self.quantity,
            &mut self.price_cents,
            &mut self.discount_cents,
            &mut self.net_cents,
        ] {
            v.clear();
        }
        for t in [
            &mut self.order_date,
            &mut self.region,
            &mut self.category,
            &mut self.note,
        ] {
            t.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_extended_by_ranges_are_the_rows_pushed_one_by_one() {
        let texts = [
            "",
            "a",
            "north",
            "é,\"x\"",
            "",
            "a longer note\nof two lines",
        ];
        let mut all = EtlColumns::default();
        for i in 0..23usize {
            let t = |k: usize| texts[(i * 7 + k) % texts.len()];
            all.push(&EtlRow {
                order_id: i as i64,
                order_date: t(0),
                customer_id: 10 * i as i64,
                region: t(1),
                category: t(2),
                product_id: -(i as i64),
                quantity: 1 + i as i64,
                price_cents: 100 * i as i64,
                discount_cents: i as i64 % 3,
                net_cents: 99 * i as i64,
                note: t(3),
                unquoted: false,
            });
        }
        let rows = |c: &EtlColumns| {
            (0..c.len())
                .map(|i| format!("{:?}", c.row(i)))
                .collect::<Vec<_>>()
        };
        for cuts in [
            vec![0, 23],
            vec![0, 1, 23],
            vec![0, 5, 5, 17, 23],
            vec![0, 22, 23],
        ] {
            // Into a batch that already holds rows, as an output's row group does.
            let mut group = EtlColumns::default();
            group.push(&all.row(3));
            let mut want = rows(&group);
            want.extend(rows(&all));
            for w in cuts.windows(2) {
                group.extend_from(&all, w[0]..w[1]);
            }
            assert_eq!(rows(&group), want, "{cuts:?}");
        }
    }

    #[test]
    fn a_field_is_quoted_exactly_when_it_must_be_with_every_quote_doubled() {
        // The rule written byte by byte, against the vectorised one.
        fn reference(out: &mut Vec<u8>, s: &str) {
            if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
                out.push(b'"');
                for b in s.bytes() {
                    if b == b'"' {
                        out.push(b'"');
                    }
                    out.push(b);
                }
                out.push(b'"');
            } else {
                out.extend_from_slice(s.as_bytes());
            }
        }
        let alphabet = ['a', ',', '"', '\n', '\r', 'é', ' ', 'z'];
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut quoted = 0;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 80) as usize;
            let s: String = (0..len)
                .map(|i| alphabet[((x >> (i % 60)) as usize + i * 7) % alphabet.len()])
                .collect();
            let (mut got, mut want) = (b"x,".to_vec(), b"x,".to_vec());
            push_csv_field(&mut got, &s);
            reference(&mut want, &s);
            assert_eq!(got, want, "{s:?}");
            quoted += usize::from(got.get(2) == Some(&b'"'));
        }
        assert!(quoted > 1000, "{quoted} fields quoted");
    }

    fn row<'a>(region: &'a str, category: &'a str, note: &'a str) -> RowRef<'a> {
        RowRef {
            order_id: 7,
            order_date: " 2024-01-02 ",
            customer_id: 3,
            region,
            category,
            product_id: 9,
            quantity: 4,
            price_cents: 1_050,
            discount_cents: None,
            note,
            unquoted: false,
        }
    }

    #[test]
    fn cleans_text_fills_discount_and_computes_net() {
        let mut c = Cleaner::new();
        let r = row("  North-East ", "BOOKS", "  a, \"quoted\" note ");
        let e = c.clean(&r);
        assert_eq!(e.order_date, "2024-01-02");
        assert_eq!((e.region, e.category), ("north-east", "books"));
        assert_eq!((e.discount_cents, e.net_cents), (0, 4_200));
        let mut out = Vec::new();
        push_csv_row(&mut out, &e);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "7,2024-01-02,3,north-east,books,9,4,1050,0,4200,\"a, \"\"quoted\"\" note\"\n"
        );
        let r = RowRef {
            discount_cents: Some(30),
            ..row("north", "books", "plain")
        };
        let e = c.clean(&r);
        assert_eq!(e.net_cents, 4 * 1_050 - 30);
        assert_eq!(e.region, "north", "already clean text is borrowed as is");
    }

    #[test]
    fn trims_like_std() {
        let ws = [
            "", " ", "\t", "\n", "\x0b", "\x0c", "\r", "\u{85}", "\u{a0}", "\u{2003}", "\u{3000}",
        ];
        let cores = ["", "a", "a b", "é", "\u{1c}", "x\u{85}y", ","];
        for l in ws {
            for c in cores {
                for r in ws {
                    let s = format!("{l}{c}{r}");
                    assert_eq!(trim(&s), s.trim(), "{s:?}");
                }
            }
        }
    }

    #[test]
    fn lowercases_like_std_including_final_sigma() {
        let mut c = Cleaner::new();
        let e = c.clean(&row(" ΟΔΟΣ ", "Größe", ""));
        assert_eq!(e.region, "ΟΔΟΣ".to_lowercase());
        assert!(e.region.ends_with('ς'), "final sigma: {}", e.region);
        assert_eq!(e.category, "größe");
    }

    #[test]
    fn columns_round_trip_rows() {
        let mut c = Cleaner::new();
        let mut cols = EtlColumns::default();
        let a = row("a", "b", "x");
        let b = row("c", "d", "");
        cols.push(&c.clean(&a));
        cols.push(&c.clean(&b));
        assert_eq!(cols.len(), 2);
        assert_eq!(cols.row(0).note, "x");
        assert_eq!(cols.row(1).region, "c");
        assert_eq!(cols.row(1).note, "");
        cols.clear();
        assert!(cols.is_empty());
    }
}
