//! `summary.json`: one object per cell with its statistics and growth fit.

use anyhow::Result;

use super::Exporter;
use crate::Report;

/// Writes `summary.json`.
pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn file_name(&self) -> &'static str {
        "summary.json"
    }
    fn render(&self, report: &Report) -> Result<String> {
        let cells: Vec<serde_json::Value> = report
            .cells
            .iter()
            .map(|c| {
                let mut v = serde_json::to_value(c).expect("cells serialize");
                let g = report.growth.get(&crate::stats::strategy_key(&c.key));
                v["growth_slope"] = serde_json::json!(g.map(|g| g.slope));
                v["growth_class"] = serde_json::json!(g.map(|g| g.class()));
                v
            })
            .collect();
        let doc =
            serde_json::json!({"title": report.title, "context": report.context, "cells": cells});
        Ok(serde_json::to_string_pretty(&doc)? + "\n")
    }
}
