//! The CSV compliance report: the `scan --format csv` columns
//! ([`crate::outputs::csv::HEADER`], same quoting rules: RFC 4180, CRLF, verbatim
//! values) plus `status` (expiry class), `days_left` and `findings` (finding ids
//! of that certificate joined with `;`, empty when none). One header row and one
//! row per certificate; findings are not rows of their own, so the file stays
//! one-row-per-certificate for spreadsheets.

use super::{expiry_status, ids_joined, Report};
use crate::outputs::csv::{push_record, row, HEADER};

/// Columns appended to the inventory columns.
pub const EXTRA_COLUMNS: [&str; 3] = ["status", "days_left", "findings"];

/// Render the report as CSV.
pub fn render(report: &Report<'_>) -> String {
    let mut out = String::new();
    push_record(&mut out, HEADER.iter().chain(EXTRA_COLUMNS.iter()).copied());
    for (i, e) in report.snapshot.certificates.iter().enumerate() {
        let base = row(e);
        let extra = [
            expiry_status(e, report.now, report.window_secs).to_string(),
            super::days_left(e.cert.not_after, report.now).to_string(),
            ids_joined(report, i, ";"),
        ];
        push_record(
            &mut out,
            base.iter().chain(extra.iter()).map(String::as_str),
        );
    }
    out
}
