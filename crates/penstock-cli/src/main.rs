//! `penstock`: run pipelines written in gst-launch syntax and report every copy.
#![deny(unsafe_code)]

mod inspect;
mod json;
mod launch;
mod out;
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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Usage errors go to stderr; --help and --version to stdout, which may be full or
        // closed like any other output.
        Err(e) => {
            let text = e.render().to_string();
            if e.use_stderr() {
                out::eprintln(text.trim_end());
                return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
            }
            return exit(out::print(&text));
        }
    };
    let result = match cli.command {
        Command::Launch(a) => launch::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Probe(a) => probe::run(a),
    };
    exit(result)
}

fn exit(result: Result<(), out::Failure>) -> ExitCode {
    match result {
        // A reader that closed stdout (`| head`) wanted no more: stop quietly.
        Ok(()) | Err(out::Failure::StdoutClosed) => ExitCode::SUCCESS,
        Err(out::Failure::Message(message)) => {
            out::eprintln(&message);
            ExitCode::FAILURE
        }
    }
}
