//! `xinfang`: the admin CLI over a desk's data dir. Its flags and JSON are a contract that
//! scripts and tests rely on; messages to people are in Chinese.

mod cli;
mod conflict_cmd;
mod idcard_cmd;
mod matter_cmd;
mod output;
mod person_cmd;
mod queue_cmd;
mod seed;
mod stats_cmd;
mod sync_cmd;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("XINFANG_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = cli::Args::parse();
    let json = args.json;
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => output::fail(&e, json),
    }
}
