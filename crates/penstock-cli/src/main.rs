//! `penstock`: run pipelines written in gst-launch syntax and report every copy.
#![deny(unsafe_code)]

mod inspect;
mod json;
mod launch;
mod plugins;
mod probe;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "penstock",
    version,
    about = "Zero-copy media pipelines: run, inspect, account for every copy"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a pipeline until EOS, an error or Ctrl-C, then print a summary.
    Launch(launch::Args),
    /// List elements, or show one element's properties and pad templates.
    Inspect(inspect::Args),
    /// Report what this kernel offers: memfd sealing, DMA-BUF heaps, udmabuf, V4L2 nodes.
    Probe(probe::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Launch(a) => launch::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Probe(a) => probe::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
