//! The `certvigil` binary: parse arguments, hand over to [`certvigil::app`].
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    certvigil::app::main()
}
