//! `penstock launch PIPELINE`.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use penstock::bus::{Message, MessageKind};
use penstock::element::Element;
use penstock::event::Event;
use penstock::ledger::{self, CopyReason, LedgerSnapshot};

use crate::json::Json;
use crate::out::{self, Failure};

mod options;
mod report;
mod verbose;

use options::*;
use report::*;
use verbose::*;

/// Arguments of `launch`. Besides its own options it takes gst-launch-1.0's, with the
/// same meaning (`-v`, `-q`, `-m`, `-e`, `-t`, `-c`, `-X`, `-f`, `--no-position`),
/// before or after the pipeline.
#[derive(clap::Args)]
pub struct Args {
    /// Write the run's statistics as JSON to this file (`-` for stdout; the summary then
    /// goes to stderr). The file is created before the pipeline starts.
    #[arg(long, value_name = "FILE")]
    stats_json: Option<PathBuf>,
    /// Print no progress line and no summary.
    #[arg(short, long)]
    quiet: bool,
    /// Stop with an error if the pipeline has not finished after this many seconds (0:
    /// no limit, the default).
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// As gst-launch: print the caps negotiated on every pad
    /// (`/GstPipeline:pipeline0/GstFakeSink:fakesink0.GstPad:sink: caps = ...`) and the
    /// `last-message` of elements with `silent=false`.
    #[arg(short, long)]
    verbose: bool,
    /// As gst-launch: print every bus message.
    #[arg(short, long)]
    messages: bool,
    /// As gst-launch: on Ctrl-C, send EOS to the sources and wait for it to reach the
    /// sinks (so files are finished); a second Ctrl-C stops at once.
    #[arg(short, long = "eos-on-shutdown")]
    eos_on_shutdown: bool,
    /// As gst-launch: print tags (penstock's elements post none).
    #[arg(short, long)]
    tags: bool,
    /// As gst-launch: print the table of contents (penstock's elements post none).
    #[arg(short = 'c', long)]
    toc: bool,
    /// As gst-launch: with -v, leave out notifications of this property (`caps`,
    /// `last-message`); may be repeated.
    #[arg(short = 'X', long = "exclude", value_name = "PROPERTY-NAME")]
    exclude: Vec<String>,
    /// As gst-launch: install no fault handler (penstock installs none anyway).
    #[arg(short = 'f', long)]
    no_fault: bool,
    /// As gst-launch: show no progress line.
    #[arg(long)]
    no_position: bool,
    /// The pipeline, in gst-launch syntax (several arguments are joined with spaces).
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pipeline: Vec<String>,
}

pub fn run(mut args: Args) -> Result<(), Failure> {
    // First, so that Ctrl-C is ours from the start (a FIFO's open, a slow build).
    // The run loop stops the pipeline on the first Ctrl-C (with -e: sends EOS, and
    // stops on the second). One more than that means stopping is stuck (a state change
    // blocked in the kernel, as opening a FIFO for writing without a reader): the
    // process exits at once, so Ctrl-C always ends it.
    let interrupts = Arc::new(AtomicU32::new(0));
    let eos_mode = Arc::new(AtomicBool::new(false));
    {
        let count = Arc::clone(&interrupts);
        let eos_mode = Arc::clone(&eos_mode);
        // If this fails, Ctrl-C keeps its default action (ending the process).
        let _ = ctrlc::set_handler(move || {
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            let limit = if eos_mode.load(Ordering::SeqCst) {
                3
            } else {
                2
            };
            if n >= limit {
                out::eprintln("Interrupted again while stopping: exiting now.");
                std::process::exit(130);
            }
        });
    }
    options_after_pipeline(&mut args)?;
    eos_mode.store(args.eos_on_shutdown, Ordering::SeqCst);
    if args.pipeline.is_empty() {
        return Err(Failure::Message(
            "ERROR: no pipeline given (e.g. penstock launch videotestsrc ! fakesink)".into(),
        ));
    }
    // Negative, NaN or huge seconds would panic in `Duration::from_secs_f64`; 0 means no
    // limit (as for timeout(1)).
    let timeout = args
        .timeout
        .map(|t| {
            Duration::try_from_secs_f64(t)
                .map_err(|_| format!("ERROR: --timeout takes seconds, not '{t:?}'"))
        })
        .transpose()?
        .filter(|t| !t.is_zero());
    let stats = args.stats_json.as_deref().map(StatsOut::open).transpose()?;
    let summary_to_stderr = matches!(stats, Some(StatsOut::Stdout));
    let text = join_words(&args.pipeline);
    let registry = crate::plugins::registry();
    let pipeline = penstock::launch::build(&registry, &text).map_err(|e| {
        let mut msg = format!("ERROR: pipeline could not be constructed: {e}");
        if std::io::stderr().is_terminal() {
            msg.push('\n');
            msg.push_str(&penstock::launch::point_at(&text, e.span()));
        }
        msg
    })?;
    let sinks: Vec<SinkCount> = pipeline
        .sinks()
        .iter()
        .map(|e: &Element| SinkCount {
            name: e.name().to_owned(),
            pads: e.sink_pads(),
        })
        .collect();

    let progress =
        (!args.quiet && !args.no_position && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(8));
            bar
        });
    let verbose = RefCell::new(
        args.verbose
            .then(|| Verbose::new(&pipeline, args.exclude.clone())),
    );
    let mut messages = args.messages.then_some(0u64);
    // The first failure to print (stdout closed or full) stops the run.
    let failed: RefCell<Option<Failure>> = RefCell::new(None);
    let record = |r: Result<(), Failure>| {
        if let Err(e) = r {
            failed.borrow_mut().get_or_insert(e);
        }
    };
    let mut eos_sent = false;

    ledger::reset();
    let started = Instant::now();
    let mut last = (Instant::now(), 0u64);
    let result = pipeline.run_with(
        timeout,
        || {
            if failed.borrow().is_some() || penstock_elements::stdout::is_closed() {
                return true;
            }
            match interrupts.load(Ordering::SeqCst) {
                0 => false,
                1 if args.eos_on_shutdown => {
                    if !eos_sent {
                        eos_sent = true;
                        out::eprintln("EOS on shutdown enabled -- Forcing EOS on the pipeline");
                        send_eos(&pipeline);
                    }
                    false
                }
                _ => true,
            }
        },
        |elapsed| {
            if let Some(v) = verbose.borrow_mut().as_mut() {
                record(v.caps_changes());
            }
            if let Some(bar) = &progress {
                let total: u64 = sinks.iter().map(SinkCount::buffers).sum();
                let now = Instant::now();
                let dt = now.duration_since(last.0).as_secs_f64();
                if dt >= 0.25 {
                    let rate = (total - last.1.min(total)) as f64 / dt;
                    last = (now, total);
                    bar.set_message(format!(
                        "{:>8.1} s  {total} buffers  {rate:.1} buffers/s",
                        elapsed.as_secs_f64()
                    ));
                    bar.tick();
                }
            }
        },
        |msg| {
            if failed.borrow().is_some() {
                return;
            }
            if let Some(n) = messages.as_mut() {
                *n += 1;
                record(out::print(&message_line(*n, msg)));
            }
            if let Some(v) = verbose.borrow_mut().as_mut() {
                // Before an EOS or error is handled the pads still hold their caps;
                // and caps go before the first buffer's last-message.
                if matches!(msg.kind, MessageKind::Eos | MessageKind::Error { .. })
                    || (matches!(msg.kind, MessageKind::Element { .. })
                        && v.pads.iter().any(|(_, _, last)| last.is_none()))
                {
                    v.checked = None;
                }
                record(v.caps_changes());
                record(v.message(msg));
            }
        },
    );
    // The execution time is the pipeline's own, measured as gst-launch's "Execution
    // ended after" (from preroll to EOS, see `RunReport::wall`); when the run failed,
    // the whole run's time.
    let wall = match &result {
        Ok(r) => r.wall,
        Err(_) => started.elapsed(),
    };
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if let Some(v) = verbose.borrow_mut().as_mut() {
        // Caps set after the last tick.
        record(v.caps_changes());
    }
    let ledger = ledger::snapshot();
    let json = || stats_json(&text, &sinks, wall, &ledger).to_pretty();
    // A reader that closed stdout (`| head`) stops everything quietly.
    if penstock_elements::stdout::is_closed() {
        return Err(Failure::StdoutClosed);
    }
    if let Some(f) = failed.take() {
        return Err(f);
    }
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            if let Some(stats) = stats {
                stats.write(&json())?;
            }
            let mut msg = format!("ERROR: {e}");
            if let penstock::pipeline::PipelineError::Element { debug: Some(d), .. } = &e {
                if std::io::stderr().is_terminal() {
                    msg.push_str(&format!("\nAdditional debug info:\n{d}"));
                }
            }
            return Err(Failure::Message(msg));
        }
    };
    for m in &report.warnings {
        if let penstock::bus::MessageKind::Warning { message } = &m.kind {
            out::eprintln(&format!("WARNING: from element {}: {message}", m.source));
        }
    }
    if !args.quiet {
        if interrupts.load(Ordering::SeqCst) > 0 {
            out::eprintln(if eos_sent && interrupts.load(Ordering::SeqCst) == 1 {
                "Interrupted: EOS sent to the sources and received by every sink."
            } else {
                "Interrupted: stopped before EOS."
            });
        }
        let text = summary(&sinks, wall, &ledger);
        if summary_to_stderr {
            out::eprintln(text.trim_end());
        } else {
            out::print(&text)?;
        }
    }
    if let Some(stats) = stats {
        stats.write(&json())?;
    }
    Ok(())
}

/// Sends EOS to every source (gst-launch `-e`): each ends its stream after the buffer
/// it is making.
fn send_eos(pipeline: &penstock::pipeline::Pipeline) {
    for e in pipeline.elements() {
        if e.sink_pads().is_empty() {
            for pad in e.src_pads() {
                e.implementation().src_event(e, &pad, Event::Eos);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::join_words;

    #[test]
    fn words_with_spaces_are_requoted() {
        let w: Vec<String> = ["filesrc", "location=/tmp/a b.raw", "!", "fakesink"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            join_words(&w),
            "filesrc location=\"/tmp/a b.raw\" ! fakesink"
        );
    }
}
