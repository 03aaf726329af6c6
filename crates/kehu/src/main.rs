//! `kehu`: the CRM in one binary. Thin: parses the command line and calls the library crates.

mod cli;
mod import;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: fewer cycles per request than glibc's allocator on kehu's many small strings.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kehu: {e:#}");
            ExitCode::FAILURE
        }
    }
}
