//! A `sales` dataset generated (or reused): the file of a spec in its format, through the
//! format's writer.

use std::path::Path;

use anyhow::{Result, bail};

use crate::spec::{
    Compression, DataSchema, Format, GenOutput, GenSpec, Target, check_spec as check, file_name,
    write_dataset,
};

/// Generates `spec` as `format` into `dir` (or reuses a matching file unless `force`).
/// `progress` is called with the number of rows written so far. For the `orders` schema, use
/// [`crate::generate_orders`].
pub fn generate(
    spec: &GenSpec,
    format: Format,
    dir: &Path,
    force: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<GenOutput> {
    check(spec, format)?;
    if spec.schema != DataSchema::Sales {
        bail!("generate() writes the sales schema; generate_orders() writes the orders tables");
    }
    let file = Target {
        dir,
        name: file_name(spec, format),
        table: "sales",
        rows: spec.rows,
        pair: None,
        compressed: Compression::None,
    };
    write_dataset(&file, spec, format, force, &mut |tmp| match format {
        Format::Csv => crate::csv_out::write_csv(spec, tmp, progress),
        Format::Parquet => crate::parquet_out::write_parquet(spec, tmp, progress),
    })
}
