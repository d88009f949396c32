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
//! Conversion happens while prometheus-client writes ([`TextWriter`]).
//! Sample lines are copied verbatim: label value escaping (`\\`, `\"`, `\n`) and
//! number syntax are the same in both formats.

use std::fmt::Write as _;

/// Convert an OpenMetrics exposition (as written by prometheus-client) to the
/// Prometheus text format 0.0.4.
pub fn openmetrics_to_text(om: &str) -> String {
    let mut out = String::with_capacity(om.len());
    let mut w = TextWriter::new(&mut out);
    // Writing into a String cannot fail.
    let _ = w.write_str(om);
    w.finish();
    out
}

/// A [`std::fmt::Write`] adapter that receives OpenMetrics text (in chunks of
/// any size) and appends its Prometheus 0.0.4 conversion to a `String`, so the
/// encoder's output is converted while it is written, without a second pass.
/// Sample lines are passed through; only comment lines are buffered.
#[derive(Debug)]
pub struct TextWriter<'a> {
    out: &'a mut String,
    at_line_start: bool,
    in_comment: bool,
    comment: String,
    pending_help: Option<(String, String)>,
}

impl<'a> TextWriter<'a> {
    pub fn new(out: &'a mut String) -> Self {
        TextWriter {
            out,
            at_line_start: true,
            in_comment: false,
            comment: String::new(),
            pending_help: None,
        }
    }

    /// Flush an unterminated last comment line (not produced by
    /// prometheus-client, handled for completeness).
    pub fn finish(mut self) {
        if self.in_comment {
            let line = std::mem::take(&mut self.comment);
            self.comment_line(&line);
        }
        if let Some((name, text)) = self.pending_help.take() {
            self.push_help(&name, &text);
        }
    }

    fn push_help(&mut self, name: &str, text: &str) {
        self.out.push_str("# HELP ");
        self.out.push_str(name);
        self.out.push(' ');
        self.out.push_str(&text.replace("\\\"", "\""));
        self.out.push('\n');
    }

    fn comment_line(&mut self, line: &str) {
        if let Some(h) = line.strip_prefix("# HELP ") {
            let (name, text) = h.split_once(' ').unwrap_or((h, ""));
            if let Some((n, t)) = self.pending_help.take() {
                self.push_help(&n, &t);
            }
            self.pending_help = Some((name.to_string(), text.to_string()));
        } else if let Some(t) = line.strip_prefix("# TYPE ") {
            let (name, typ) = t.split_once(' ').unwrap_or((t, "untyped"));
            let (name, typ) = match typ {
                "counter" => (format!("{name}_total"), "counter"),
                "info" => (format!("{name}_info"), "gauge"),
                "unknown" => (name.to_string(), "untyped"),
                other => (name.to_string(), other),
            };
            if let Some((_, text)) = self.pending_help.take() {
                self.push_help(&name, &text);
            }
            self.out.push_str("# TYPE ");
            self.out.push_str(&name);
            self.out.push(' ');
            self.out.push_str(typ);
            self.out.push('\n');
        } else if line == "# EOF" || line.starts_with("# UNIT ") {
            // Not part of 0.0.4.
        } else {
            self.out.push_str(line);
            self.out.push('\n');
        }
    }
}

impl std::fmt::Write for TextWriter<'_> {
    fn write_str(&mut self, mut s: &str) -> std::fmt::Result {
        while !s.is_empty() {
            if self.at_line_start {
                self.in_comment = s.starts_with('#');
                self.at_line_start = false;
            }
            let (chunk, eol) = match s.find('\n') {
                Some(i) => (&s[..i], true),
                None => (s, false),
            };
            s = &s[chunk.len() + usize::from(eol)..];
            if self.in_comment {
                self.comment.push_str(chunk);
                if eol {
                    let line = std::mem::take(&mut self.comment);
                    self.comment_line(&line);
                    self.comment = line;
                    self.comment.clear();
                }
            } else {
                self.out.push_str(chunk);
                if eol {
                    self.out.push('\n');
                }
            }
            if eol {
                self.at_line_start = true;
                self.in_comment = false;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{openmetrics_to_text, TextWriter};
    use std::fmt::Write;

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
    fn converts_in_arbitrary_chunks() {
        let om = "# HELP c Errors.\n# TYPE c counter\nc_total{r=\"#x\"} 3\n# HELP g G.\n# TYPE g gauge\ng 1\n# EOF\n";
        let whole = openmetrics_to_text(om);
        for size in 1..8 {
            let mut out = String::new();
            let mut w = TextWriter::new(&mut out);
            let chars: Vec<char> = om.chars().collect();
            for piece in chars.chunks(size) {
                let piece: String = piece.iter().collect();
                w.write_str(&piece).unwrap();
            }
            w.finish();
            assert_eq!(out, whole, "chunk size {size}");
        }
        assert_eq!(
            whole,
            "# HELP c_total Errors.\n# TYPE c_total counter\nc_total{r=\"#x\"} 3\n# HELP g G.\n# TYPE g gauge\ng 1\n"
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
