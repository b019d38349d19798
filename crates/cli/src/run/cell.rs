//! The matrix's pieces: a [`Dataset`] of the run, a [`Cell`] (strategy × workload × dataset)
//! and a [`Group`] of cells that share a workload and a dataset (and so a reference answer).

use std::path::PathBuf;

use membench_protocol::{InputFormat, Workload};

/// A dataset of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    /// The file (`orders` datasets: the `orders` table).
    pub path: PathBuf,
    /// `orders` datasets: the `order_items` table.
    pub items: Option<PathBuf>,
    pub format: InputFormat,
    /// Rows (`orders` datasets: orders).
    pub rows: u64,
    /// Bytes (`orders` datasets: of both tables).
    pub bytes: u64,
    /// A generated table's shape knobs (the default table, a user's files: none).
    pub shape: membench_protocol::Shape,
}

impl Dataset {
    /// Whether this dataset is the `orders` tables (the `join` workload's input).
    pub fn is_orders(&self) -> bool {
        self.items.is_some()
    }

    /// How the file is compressed (`csv.gz`, `csv.zst` datasets).
    pub fn compression(&self) -> membench_protocol::Compression {
        self.format.compression
    }
}

/// One cell of the matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    /// A strategy's name, or an external program's.
    pub strategy: String,
    pub workload: Workload,
    pub dataset: Dataset,
}

impl Cell {
    /// `strategy · workload · format · rows`, for progress lines.
    pub fn label(&self) -> String {
        format!(
            "{} · {} · {} · {} rows",
            self.strategy,
            self.workload,
            self.dataset.format,
            membench_report::format::rows(self.dataset.rows)
        )
    }

    /// The same workload and dataset with another strategy.
    pub fn with_strategy(&self, strategy: &str) -> Cell {
        Cell {
            strategy: strategy.to_string(),
            ..self.clone()
        }
    }
}

/// A group of cells sharing a workload and a dataset, so they share a reference answer.
#[derive(Clone, Debug)]
pub struct Group {
    pub workload: Workload,
    pub dataset: Dataset,
    pub strategies: Vec<String>,
}

impl Group {
    /// The group's cells, in strategy order.
    pub fn cells(&self) -> impl Iterator<Item = Cell> + '_ {
        self.strategies.iter().map(|s| Cell {
            strategy: s.clone(),
            workload: self.workload.clone(),
            dataset: self.dataset.clone(),
        })
    }
}
