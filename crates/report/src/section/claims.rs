//! "The articles' claims": each background claim with this run's number and verdict.

use std::fmt::Write as _;

use super::Section;
use crate::Report;

/// The background articles' claims, each with this run's number and verdict.
pub struct Claims;

impl Section for Claims {
    fn render(&self, report: &Report) -> String {
        if report.cells.is_empty() {
            return String::new();
        }
        let mut md = String::from(
            "## The articles' claims\n\n\
             The numbers of the articles membench grew from (`reports/claims.json`), checked against \
             this run by the rule in the last column but one; a claim this run has no cells for is \
             *not measured*.\n\n\
             | claim | seed | the article says | this run | rule | verdict |\n\
             |---|---|---|---|---|---|\n",
        );
        for c in crate::claims::evaluate(report) {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {} | {} | {} |",
                c.id,
                c.seed,
                c.article_number,
                c.measured,
                c.rule,
                c.verdict.text()
            );
        }
        md.push('\n');
        md
    }
}
