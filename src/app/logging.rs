//! Logging setup: `tracing` to stderr, as human text or as one JSON object per
//! line (`log.format: json`). The filter is, in order of precedence:
//! `--log.level`/`-v`, `RUST_LOG`, then the configuration's `log.level` (or a
//! command's own default).
//!
//! The JSON lines are built here (`timestamp`, `level`, `target`, `spans`, then
//! the event's fields, `message` included) with serde_json, so no extra
//! tracing-subscriber feature is needed.

use std::fmt;
use std::io::IsTerminal;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Pick the filter: explicit level, else `RUST_LOG` (when valid), else `fallback`.
fn filter(cli_level: Option<&str>, fallback: &str) -> EnvFilter {
    if let Some(l) = cli_level {
        if let Ok(f) = EnvFilter::builder().parse(l) {
            return f;
        }
    }
    if let Ok(env) = std::env::var("RUST_LOG") {
        if !env.trim().is_empty() {
            match EnvFilter::builder().parse(&env) {
                Ok(f) => return f,
                Err(e) => eprintln!("certvigil: ignoring invalid RUST_LOG ({e})"),
            }
        }
    }
    EnvFilter::builder()
        .parse(fallback)
        .unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Install the global subscriber. Calling it twice is harmless (the second call
/// is ignored).
pub fn init(cli_level: Option<&str>, fallback_level: &str, format: LogFormat) {
    let filter = filter(cli_level, fallback_level);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
            .try_init(),
        LogFormat::Json => builder.with_ansi(false).event_format(JsonLines).try_init(),
    };
}

/// One JSON object per event.
struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut map = Map::new();
        map.insert(
            "timestamp".into(),
            Value::String(
                chrono::Utc::now()
                    .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                    .to_string(),
            ),
        );
        map.insert("level".into(), Value::String(meta.level().to_string()));
        map.insert("target".into(), Value::String(meta.target().to_string()));
        if let Some(scope) = ctx.event_scope() {
            let spans: Vec<Value> = scope
                .from_root()
                .map(|s| Value::String(s.name().to_string()))
                .collect();
            if !spans.is_empty() {
                map.insert("spans".into(), Value::Array(spans));
            }
        }
        let mut visitor = JsonVisitor(&mut map);
        event.record(&mut visitor);
        writeln!(writer, "{}", Value::Object(map))
    }
}

struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let v = serde_json::Number::from_f64(value)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(value.to_string()));
        self.0.insert(field.name().to_string(), v);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_string(), Value::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().to_string(), Value::String(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(
            field.name().to_string(),
            Value::String(format!("{value:?}")),
        );
    }
}
