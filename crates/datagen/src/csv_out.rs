//! CSV writer: blocks generated in parallel, written in order, hashed as written.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use membench_kernel::HashingWriter;
use rand::Rng;
use rayon::prelude::*;

use crate::rows::BLOCK_ROWS;
use crate::rows::{
    BAD_KINDS, LAST_ROW_BAD_KIND, RANDOM_BAD_KINDS, block_rng, date_table, gen_row, make_messy,
    push_csv_row,
};
use crate::spec::{GenSpec, Written};

/// Generates one block of CSV text and its bad-row counts.
pub(crate) fn csv_block(
    spec: &GenSpec,
    dates: &[String],
    block: u64,
) -> (Vec<u8>, [u64; BAD_KINDS.len()]) {
    let start = block * BLOCK_ROWS;
    let end = (start + BLOCK_ROWS).min(spec.rows);
    let mut rng = block_rng(spec.seed, block);
    let mut out = Vec::with_capacity(((end - start) * 210) as usize);
    let mut note = String::with_capacity(256);
    let mut num = itoa::Buffer::new();
    let mut bad_counts = [0u64; BAD_KINDS.len()];
    let shaper = crate::shape::Shaper::new(spec);
    let mut shape_rng = shaper.rng(spec.seed, block);
    for i in start..end {
        let mut vals = gen_row(&mut rng, i, &mut note);
        if !shaper.is_default() {
            shaper.apply(&mut shape_rng, i, &mut vals, &mut note);
        }
        if spec.messy {
            make_messy(&mut note, i);
        }
        let mut bad = (spec.bad_row_rate > 0.0 && rng.random_bool(spec.bad_row_rate))
            .then(|| rng.random_range(0..RANDOM_BAD_KINDS));
        if spec.bad_row_rate > 0.0 && i + 1 == spec.rows {
            bad = Some(LAST_ROW_BAD_KIND);
        }
        if let Some(k) = bad {
            bad_counts[k] += 1;
        }
        push_csv_row(&mut out, &vals, &note, dates, bad, &mut num);
    }
    (out, bad_counts)
}

pub(crate) fn write_csv(
    spec: &GenSpec,
    tmp: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<Written> {
    let dates = date_table();
    let file = membench_safefs::create_fresh(tmp, 0o644)
        .with_context(|| format!("creating {}", tmp.display()))?;
    let mut w = HashingWriter::new(BufWriter::with_capacity(1 << 20, file));
    let header = membench_kernel::COLUMNS.join(",") + "\n";
    w.write_all(header.as_bytes())?;
    let n_blocks = spec.rows.div_ceil(BLOCK_ROWS);
    // A bounded window of blocks in flight keeps memory flat whatever `rows` is.
    let window = (rayon::current_num_threads() * 2) as u64;
    let mut bad = [0u64; BAD_KINDS.len()];
    let mut b = 0;
    while b < n_blocks {
        let hi = (b + window).min(n_blocks);
        let blocks: Vec<(Vec<u8>, [u64; BAD_KINDS.len()])> = (b..hi)
            .into_par_iter()
            .map(|k| csv_block(spec, &dates, k))
            .collect();
        for (text, counts) in blocks {
            w.write_all(&text)?;
            for (t, c) in bad.iter_mut().zip(counts) {
                *t += c;
            }
        }
        b = hi;
        progress((b * BLOCK_ROWS).min(spec.rows));
    }
    let bad_rows: BTreeMap<String, u64> = BAD_KINDS
        .iter()
        .zip(bad)
        .filter(|(_, c)| spec.bad_row_rate > 0.0 || *c > 0)
        .map(|(k, c)| (k.to_string(), c))
        .collect();
    crate::spec::close(w, tmp, bad_rows)
}
