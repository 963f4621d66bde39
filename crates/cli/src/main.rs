//! The `stackbench` binary: parses arguments and hands over to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let opts = stackbench::Opts::parse();
    match stackbench::run(opts) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", stackbench::error_message(&e));
            ExitCode::FAILURE
        }
    }
}
