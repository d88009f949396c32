//! Conversion of prometheus-client's OpenMetrics 1.0 text into the Prometheus
//! text format 0.0.4.
//!
//! The two formats differ only in metadata for what certvigil emits:
//! * `# EOF` (OpenMetrics terminator) and `# UNIT` lines do not exist in 0.0.4;
//! * a counter family is named without `_total` in OpenMetrics (`# TYPE x counter`,
//!   sample `x_total`); 0.0.4 names the TYPE/HELP after the sample (`x_total`);
//! * an `info` family `x` (sample `x_info`) becomes a 0.0.4 gauge `x_info`;
//! * HELP escaping: OpenMetrics escapes `\`, `"` and line feed, 0.0.4 only `\`
//!   and line feed, so `\"` is turned back into `"`.
//!
//! Sample lines are copied verbatim: label value escaping (`\\`, `\"`, `\n`) and
//! number syntax are the same in both formats.

/// Convert an OpenMetrics exposition (as written by prometheus-client) to the
/// Prometheus text format 0.0.4.
pub fn openmetrics_to_text(om: &str) -> String {
    let mut out = String::with_capacity(om.len());
    // HELP precedes TYPE: hold it until the TYPE line tells how to rename.
    let mut pending_help: Option<(&str, &str)> = None;
    let mut rest = om;
    while !rest.is_empty() {
        // Copy the run of sample lines up to the next comment line in one go.
        let next_comment = if rest.starts_with('#') {
            0
        } else {
            match rest.find("\n#") {
                Some(i) => i + 1,
                None => rest.len(),
            }
        };
        if next_comment > 0 {
            out.push_str(&rest[..next_comment]);
            rest = &rest[next_comment..];
            continue;
        }
        let (line, tail) = match rest.find('\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        rest = tail;
        if let Some(h) = line.strip_prefix("# HELP ") {
            let (name, text) = h.split_once(' ').unwrap_or((h, ""));
            pending_help = Some((name, text));
        } else if let Some(t) = line.strip_prefix("# TYPE ") {
            let (name, typ) = t.split_once(' ').unwrap_or((t, "untyped"));
            let (name, typ) = match typ {
                "counter" => (format!("{name}_total"), "counter"),
                "info" => (format!("{name}_info"), "gauge"),
                "unknown" => (name.to_string(), "untyped"),
                other => (name.to_string(), other),
            };
            if let Some((_, text)) = pending_help.take() {
                out.push_str("# HELP ");
                out.push_str(&name);
                out.push(' ');
                out.push_str(&text.replace("\\\"", "\""));
                out.push('\n');
            }
            out.push_str("# TYPE ");
            out.push_str(&name);
            out.push(' ');
            out.push_str(typ);
            out.push('\n');
        } else if line == "# EOF" || line.starts_with("# UNIT ") {
            // Not part of 0.0.4.
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::openmetrics_to_text;

    #[test]
    fn converts_metadata() {
        let om = "# HELP a_seconds Some \\\"help\\\".\n# TYPE a_seconds gauge\n# UNIT a_seconds seconds\na_seconds 1.5\n\
# HELP c Errors.\n# TYPE c counter\nc_total{r=\"x\\\"y\"} 3\n\
# HELP b Build.\n# TYPE b info\nb_info{v=\"1\"} 1\n# EOF\n";
        let text = openmetrics_to_text(om);
        assert_eq!(
            text,
            "# HELP a_seconds Some \"help\".\n# TYPE a_seconds gauge\na_seconds 1.5\n\
# HELP c_total Errors.\n# TYPE c_total counter\nc_total{r=\"x\\\"y\"} 3\n\
# HELP b_info Build.\n# TYPE b_info gauge\nb_info{v=\"1\"} 1\n"
        );
    }

    #[test]
    fn sample_lines_with_hash_in_labels_are_untouched() {
        let om = "# HELP g G.\n# TYPE g gauge\ng{l=\"a\\n# TYPE x counter\"} 1\n# EOF\n";
        let text = openmetrics_to_text(om);
        assert_eq!(
            text,
            "# HELP g G.\n# TYPE g gauge\ng{l=\"a\\n# TYPE x counter\"} 1\n"
        );
    }
}
