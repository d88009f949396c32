//! Wiring: configuration → scraper task → HTTP server; signals, reload, shutdown.

pub fn main() -> std::process::ExitCode {
    todo!()
}
