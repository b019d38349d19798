//! The `orders` schema — two related tables, `orders` and `order_items` — and the `join`
//! workload over them (seed 000 §6): for the orders whose `order_date` falls in a range, per item
//! `category`, the number of joined items, the sum of `quantity` and the sum of
//! `quantity × price` in integer cents.
//!
//! The join is an SQL inner join on `order_id`: an item whose order does not exist, or is out of
//! the range, counts for nothing; an order without items adds no group; an order id that appears
//! `k` times among the orders in range counts each of its items `k` times (so hash, merge and
//! partitioned strategies, and the databases, agree on every input). Dates are text compared
//! byte by byte (ISO dates sort as text), so every engine filters the same rows.

use crate::accumulate::GroupAcc;
use crate::answer::Answer;
use crate::bad::BadRow;
use crate::parse::Fields;

/// The `orders` table's columns, in file order.
pub const ORDERS_COLUMNS: [&str; 5] = ["order_id", "order_date", "customer_id", "region", "status"];
/// The `order_items` table's columns, in file order.
pub const ITEMS_COLUMNS: [&str; 6] = [
    "order_id",
    "line_no",
    "product_id",
    "category",
    "quantity",
    "price",
];

/// One of the two tables of the `orders` schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    Orders,
    Items,
}

impl Table {
    /// The table's columns, in file order.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Table::Orders => &ORDERS_COLUMNS,
            Table::Items => &ITEMS_COLUMNS,
        }
    }

    /// The table's name (and its files' prefix).
    pub fn name(self) -> &'static str {
        match self {
            Table::Orders => "orders",
            Table::Items => "order_items",
        }
    }
}

/// One validated `orders` row, borrowing from the parser's buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderRow<'a> {
    pub order_id: i64,
    pub order_date: &'a str,
    pub customer_id: i64,
    pub region: &'a str,
    pub status: &'a str,
}

impl<'a> OrderRow<'a> {
    /// Reads and validates a record's fields (layout from [`ORDERS_COLUMNS`]).
    #[inline]
    pub fn from_fields(f: &Fields<'a>) -> Result<Self, BadRow> {
        Ok(OrderRow {
            order_id: f.int(0)?,
            order_date: f.text(1),
            customer_id: f.int(2)?,
            region: f.text(3),
            status: f.text(4),
        })
    }
}

/// One validated `order_items` row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ItemRow<'a> {
    pub order_id: i64,
    pub line_no: i64,
    pub product_id: i64,
    pub category: &'a str,
    pub quantity: i64,
    pub price_cents: i64,
}

impl<'a> ItemRow<'a> {
    /// Reads and validates a record's fields (layout from [`ITEMS_COLUMNS`]); `quantity` and
    /// `price` obey the same rules as in `sales` ([`crate::rules::check_values`]).
    #[inline]
    pub fn from_fields(f: &Fields<'a>) -> Result<Self, BadRow> {
        let row = ItemRow {
            order_id: f.int(0)?,
            line_no: f.int(1)?,
            product_id: f.int(2)?,
            category: f.text(3),
            quantity: f.int(4)?,
            price_cents: f.cents(5)?,
        };
        crate::rules::check_values(row.quantity, row.price_cents, None)?;
        Ok(row)
    }
}

pub use membench_protocol::DateRange;

/// The `join` fold: items of orders in range, per category, each counted as many times as its
/// order id appears among the orders in range (`weight`). Sums are exact (128 bits, checked once
/// at the end); partial folds merge exactly.
#[derive(Clone, Debug, Default)]
pub struct JoinAcc {
    groups: GroupAcc,
}

impl JoinAcc {
    /// Adds one item joined `weight` times (0 adds nothing).
    #[inline]
    pub fn add(&mut self, item: &ItemRow<'_>, weight: u32) {
        self.add_parts(item.category, item.quantity, item.price_cents, weight);
    }

    /// [`JoinAcc::add`] from the columns the fold reads.
    #[inline]
    pub fn add_parts(&mut self, category: &str, quantity: i64, price_cents: i64, weight: u32) {
        if weight == 0 {
            return;
        }
        let total = quantity.saturating_mul(price_cents);
        self.groups
            .push_weighted(category, quantity, total, u64::from(weight));
    }

    /// Adds a group an engine aggregated itself, its sums wider than 64 bits.
    pub fn add_group_wide(
        &mut self,
        category: &str,
        rows: u64,
        sum_quantity: i128,
        sum_total: i128,
    ) {
        self.groups
            .push_group_wide(category, rows, sum_quantity, sum_total);
    }

    /// Merges a partial fold.
    pub fn merge(&mut self, other: JoinAcc) {
        self.groups.merge(other.groups);
    }

    /// The canonical answer, or why a sum does not fit 64 bits.
    pub fn finish(self) -> Result<Answer, String> {
        Ok(Answer::Join {
            groups: self.groups.into_rows()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{GroupRow, LineParser, RecordReader, header_layout_for};

    fn parse_all(table: Table, text: &str) -> Vec<Result<String, String>> {
        let mut r = RecordReader::new(text.as_bytes(), 1 << 20);
        let mut p = LineParser::new();
        let header = r.next_record().unwrap().unwrap().bytes.to_vec();
        let layout = header_layout_for(&mut p, &header, table.columns()).unwrap();
        p.set_layout(&layout);
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            let f = p.fields_of(&rec);
            out.push(match (table, f) {
                (_, Err(e)) => Err(e.reason),
                (Table::Orders, Ok(f)) => OrderRow::from_fields(&f)
                    .map(|o| format!("{}@{}", o.order_id, o.order_date))
                    .map_err(|e| e.reason),
                (Table::Items, Ok(f)) => ItemRow::from_fields(&f)
                    .map(|i| format!("{}:{}:{}", i.order_id, i.category, i.price_cents))
                    .map_err(|e| e.reason),
            });
        }
        out
    }

    #[test]
    fn rows_are_read_by_header_name_and_validated_with_the_column_named() {
        let orders = "status,order_id,order_date,customer_id,region\nshipped,7,2023-02-01,3,north\n\
                      x,8,2023-02-01,abc,north\n";
        assert_eq!(
            parse_all(Table::Orders, orders),
            vec![
                Ok("7@2023-02-01".into()),
                Err("customer_id: \"abc\" is not an integer".into())
            ]
        );
        let items = "order_id,line_no,product_id,category,quantity,price\n7,1,9,books,2,3.50\n\
                     7,2,9,books,0,3.50\n7,3,9,books,1\n";
        assert_eq!(
            parse_all(Table::Items, items),
            vec![
                Ok("7:books:350".into()),
                Err("quantity: 0 is below 1".into()),
                Err("expected 6 fields, found 5".into()),
            ]
        );
    }

    #[test]
    fn weights_multiply_and_partial_folds_merge_exactly() {
        let item = |cat, q, p| ItemRow {
            order_id: 1,
            line_no: 1,
            product_id: 1,
            category: cat,
            quantity: q,
            price_cents: p,
        };
        let mut a = JoinAcc::default();
        a.add(&item("books", 2, 150), 2);
        a.add(&item("toys", 1, 100), 0);
        let mut b = JoinAcc::default();
        b.add(&item("books", 1, 100), 1);
        a.merge(b);
        assert_eq!(
            a.finish().unwrap(),
            Answer::Join {
                groups: vec![GroupRow {
                    category: "books".into(),
                    rows: 3,
                    sum_quantity: 5,
                    sum_total_cents: 700,
                }]
            }
        );
        let mut big = JoinAcc::default();
        big.add(&item("x", 1, i64::MAX), 2);
        assert!(big.finish().unwrap_err().contains("out of range"));
    }

    #[test]
    fn the_range_is_inclusive_text_and_checked() {
        let r = DateRange::parse("2023-01-01..2023-12-31").unwrap();
        assert!(r.contains("2023-01-01") && r.contains("2023-12-31"));
        assert!(!r.contains("2022-12-31") && !r.contains("2024-01-01"));
        assert_eq!(r, DateRange::default());
        assert!(DateRange::parse("2023-12-31..2023-01-01").is_err());
        assert!(DateRange::parse("2023-1-1..2023-12-31").is_err());
        assert!(DateRange::parse("2023-01-01").is_err());
    }
}
