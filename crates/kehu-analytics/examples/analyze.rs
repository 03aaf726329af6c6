//! `kehu analyze` without the rest of kehu: the same `command::run`, for benchmarking the
//! engine alone (`cargo run --release -p kehu-analytics --example analyze -- --transactions …`).

use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: kehu_analytics::command::AnalyzeArgs,
}

fn main() -> std::process::ExitCode {
    match kehu_analytics::command::run(&Cli::parse().args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
