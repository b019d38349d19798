//! Row values and their CSV text, one block at a time.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Rows per generation block (the unit of determinism and parallelism for CSV).
pub const BLOCK_ROWS: u64 = 65_536;

/// The 8 regions (uniform).
pub const REGIONS: [&str; 8] = [
    "north",
    "south",
    "east",
    "west",
    "central",
    "north-east",
    "south-west",
    "overseas",
];
/// The 24 categories (skewed: the first ones are far more frequent).
pub const CATEGORIES: [&str; 24] = [
    "electronics",
    "books",
    "clothing",
    "home",
    "garden",
    "toys",
    "sports",
    "beauty",
    "grocery",
    "automotive",
    "music",
    "movies",
    "office",
    "pets",
    "health",
    "jewelry",
    "shoes",
    "tools",
    "baby",
    "games",
    "software",
    "outdoors",
    "crafts",
    "industrial",
];
/// Malformed-row kinds injected by `--bad-row-rate`, in sidecar order. The first
/// [`RANDOM_BAD_KINDS`] are drawn at random; `unterminated_quote` is the last row of every file
/// with bad rows, because an open quote runs (RFC 4180) until the quotes balance or the input
/// ends: anywhere else it would swallow the rows after it.
pub const BAD_KINDS: [&str; 8] = [
    "too_few_fields",
    "too_many_fields",
    "non_numeric_quantity",
    "negative_price",
    "multiline_extra_field",
    "invalid_utf8",
    "empty_line",
    "unterminated_quote",
];
/// How many of [`BAD_KINDS`] are drawn at random.
pub const RANDOM_BAD_KINDS: usize = 7;
/// The kind forced on the last row of a file with bad rows.
pub const LAST_ROW_BAD_KIND: usize = 7;

pub(crate) const WORDS: [&str; 48] = [
    "order",
    "shipped",
    "customer",
    "asked",
    "for",
    "gift",
    "wrap",
    "delivery",
    "was",
    "late",
    "package",
    "arrived",
    "damaged",
    "please",
    "call",
    "before",
    "leaving",
    "at",
    "door",
    "the",
    "blue",
    "one",
    "size",
    "large",
    "small",
    "return",
    "window",
    "extended",
    "promo",
    "applied",
    "loyalty",
    "member",
    "since",
    "weekend",
    "express",
    "standard",
    "invoice",
    "attached",
    "and",
    "receipt",
    "backorder",
    "warehouse",
    "restock",
    "priority",
    "fragile",
    "handle",
    "with",
    "care",
];
const NON_ASCII: [&str; 6] = ["café", "naïve", "Größe", "日本", "señor", "crème brûlée"];
/// First day of `order_date`, and how many days it spans (four years).
pub(crate) const DAYS: u32 = 1461;

/// One generated row's values; `note` is in the scratch buffer passed to [`gen_row`].
#[derive(Debug, Clone, Copy)]
pub struct RowVals {
    pub order_id: i64,
    pub day: u32,
    pub customer_id: i64,
    pub region: usize,
    pub category: usize,
    pub product_id: i64,
    pub quantity: i64,
    pub price_cents: i64,
    pub discount_cents: Option<i64>,
}

/// `YYYY-MM-DD` for each day of the span.
pub fn date_table() -> Vec<String> {
    let start = chrono::NaiveDate::from_ymd_opt(2021, 1, 1).expect("valid date");
    (0..DAYS)
        .map(|d| {
            (start + chrono::Days::new(u64::from(d)))
                .format("%Y-%m-%d")
                .to_string()
        })
        .collect()
}

/// The random stream for block `block` of a dataset with `seed`.
pub fn block_rng(seed: u64, block: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(block);
    rng
}

/// Makes a note messy (`--messy`), deterministically from the row index and without drawing
/// from the random stream: line feeds, CRLFs and quotes inside it, so that it is quoted over
/// several physical lines.
pub fn make_messy(note: &mut String, index: u64) {
    let Some(space) = note.find(' ') else { return };
    let insert = match index % 8 {
        0 | 4 => "\n",
        1 | 5 => "\r\n",
        2 => "\n\"quoted\"\r\n, and a comma\n",
        _ => return,
    };
    note.replace_range(space..space + 1, insert);
}

/// Draws one row; writes its note text (unquoted) into `note`.
pub fn gen_row(rng: &mut ChaCha8Rng, index: u64, note: &mut String) -> RowVals {
    let u: f64 = rng.random();
    let quantity = 1 + (49.0 * u * u * u) as i64;
    let u: f64 = rng.random();
    let price_cents = ((10f64.powf(2.9 * u * u)) * 100.0).round() as i64;
    let u: f64 = rng.random();
    let category = (24.0 * u * u) as usize;
    let discount_cents = if rng.random_ratio(1, 50) {
        None
    } else {
        Some(rng.random_range(0..=30))
    };
    note.clear();
    let target = rng.random_range(60..190usize);
    let fancy: u32 = rng.random_range(0..100);
    while note.len() < target {
        if !note.is_empty() {
            note.push(' ');
        }
        note.push_str(WORDS[rng.random_range(0..WORDS.len())]);
    }
    match fancy {
        0..=5 => note.push_str(", then more"),
        6..=8 => note.push_str(" \"quoted\" text"),
        9..=11 => {
            note.push(' ');
            note.push_str(NON_ASCII[rng.random_range(0..NON_ASCII.len())]);
        }
        _ => {}
    }
    RowVals {
        order_id: index as i64 + 1,
        day: rng.random_range(0..DAYS),
        customer_id: rng.random_range(1..=1_000_000),
        region: rng.random_range(0..REGIONS.len()),
        category,
        product_id: rng.random_range(1..=50_000),
        quantity,
        price_cents,
        discount_cents,
    }
}

/// Appends `cents` as a decimal with two places.
pub fn push_cents(out: &mut Vec<u8>, cents: i64, num: &mut itoa::Buffer) {
    if cents < 0 {
        out.push(b'-');
    }
    let c = cents.unsigned_abs();
    out.extend_from_slice(num.format(c / 100).as_bytes());
    out.push(b'.');
    let f = (c % 100) as u8;
    out.push(b'0' + f / 10);
    out.push(b'0' + f % 10);
}

/// Appends a CSV field, quoted only when needed (the kernel's encoder, also used by `etl`).
pub use membench_kernel::etl::push_csv_field as push_field;

/// Appends one row as a CSV line. `bad` selects a malformed variant (index into [`BAD_KINDS`]).
pub fn push_csv_row(
    out: &mut Vec<u8>,
    r: &RowVals,
    note: &str,
    dates: &[String],
    bad: Option<usize>,
    num: &mut itoa::Buffer,
) {
    if bad == Some(6) {
        out.push(b'\n');
        return;
    }
    let mut int = |out: &mut Vec<u8>, v: i64| {
        out.extend_from_slice(num.format(v).as_bytes());
        out.push(b',');
    };
    int(out, r.order_id);
    out.extend_from_slice(dates[r.day as usize].as_bytes());
    out.push(b',');
    int(out, r.customer_id);
    out.extend_from_slice(REGIONS[r.region].as_bytes());
    out.push(b',');
    out.extend_from_slice(CATEGORIES[r.category].as_bytes());
    out.push(b',');
    int(out, r.product_id);
    if bad == Some(0) {
        out.extend_from_slice(num.format(r.quantity).as_bytes());
        out.push(b'\n');
        return;
    }
    if bad == Some(2) {
        out.extend_from_slice(b"many,");
    } else {
        int(out, r.quantity);
    }
    let mut num2 = itoa::Buffer::new();
    let price = if bad == Some(3) {
        -r.price_cents.max(1)
    } else {
        r.price_cents
    };
    push_cents(out, price, &mut num2);
    out.push(b',');
    if let Some(d) = r.discount_cents {
        push_cents(out, d, &mut num2);
    }
    out.push(b',');
    match bad {
        Some(1) => out.extend_from_slice(b"plain note,extra field"),
        // A quoted note over two physical lines, then one field too many.
        Some(4) => out.extend_from_slice(b"\"a note over\ntwo lines\",extra field"),
        Some(7) => out.extend_from_slice(b"\"unterminated note"),
        Some(5) => out.extend_from_slice(b"bad \xff\xfe bytes"),
        Some(_) => out.extend_from_slice(b"plain note"),
        None => push_field(out, note),
    }
    out.push(b'\n');
}
