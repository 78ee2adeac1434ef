//! `penstock launch PIPELINE`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use penstock::element::Element;
use penstock::ledger::{self, CopyReason, LedgerSnapshot};

use crate::json::Json;

/// Arguments of `launch`.
#[derive(clap::Args)]
pub struct Args {
    /// Write the run's statistics as JSON to this file.
    #[arg(long, value_name = "FILE")]
    stats_json: Option<PathBuf>,
    /// Print no progress line and no summary.
    #[arg(short, long)]
    quiet: bool,
    /// Stop with an error if the pipeline has not finished after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// The pipeline, in gst-launch syntax (several arguments are joined with spaces).
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pipeline: Vec<String>,
}

/// Joins command-line words as gst-launch does: a word the shell unquoted that still
/// holds whitespace gets its value quoted again.
fn join_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            if w.chars().any(char::is_whitespace) && !w.contains('"') {
                match w.split_once('=') {
                    Some((k, v)) if !k.contains(char::is_whitespace) && !k.is_empty() => {
                        format!("{k}=\"{v}\"")
                    }
                    _ => w.clone(),
                }
            } else {
                w.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

struct SinkCount {
    name: String,
    pads: Vec<penstock::pad::Pad>,
}

impl SinkCount {
    fn buffers(&self) -> u64 {
        self.pads.iter().map(penstock::pad::Pad::buffers).sum()
    }
}

/// Options may also follow the pipeline (`penstock launch PIPELINE --stats-json F`):
/// no pipeline word starts with `--`, so such words are taken back out as options.
fn options_after_pipeline(args: &mut Args) -> Result<(), String> {
    let mut words = std::mem::take(&mut args.pipeline).into_iter();
    let mut rest = Vec::new();
    while let Some(w) = words.next() {
        let (flag, inline) = match w.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (w.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| words.next())
                .ok_or_else(|| format!("ERROR: {name} needs a value"))
        };
        match flag.as_str() {
            "--stats-json" => args.stats_json = Some(PathBuf::from(value("--stats-json")?)),
            "--timeout" => {
                let v = value("--timeout")?;
                args.timeout = Some(
                    v.parse()
                        .map_err(|_| format!("ERROR: --timeout takes seconds, not '{v}'"))?,
                );
            }
            "--quiet" | "-q" => args.quiet = true,
            _ => rest.push(w),
        }
    }
    args.pipeline = rest;
    Ok(())
}

pub fn run(mut args: Args) -> Result<(), String> {
    options_after_pipeline(&mut args)?;
    // Negative, NaN or huge seconds would panic in `Duration::from_secs_f64`.
    let timeout = args
        .timeout
        .map(|t| {
            Duration::try_from_secs_f64(t)
                .map_err(|_| format!("ERROR: --timeout takes seconds, not '{t:?}'"))
        })
        .transpose()?;
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

    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = Arc::clone(&interrupted);
        // A second Ctrl-C while stopping goes to the default handler only if this fails.
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    }
    let progress = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(8));
        bar
    });

    ledger::reset();
    let started = Instant::now();
    let mut last = (Instant::now(), 0u64);
    let result = pipeline.run(
        timeout,
        || interrupted.load(Ordering::SeqCst),
        |elapsed| {
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
    let ledger = ledger::snapshot();
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            write_stats(&args, &text, &sinks, wall, &ledger)?;
            let mut msg = format!("ERROR: {e}");
            if let penstock::pipeline::PipelineError::Element { debug: Some(d), .. } = &e {
                if std::io::stderr().is_terminal() {
                    msg.push_str(&format!("\nAdditional debug info:\n{d}"));
                }
            }
            return Err(msg);
        }
    };
    for m in &report.warnings {
        if let penstock::bus::MessageKind::Warning { message } = &m.kind {
            eprintln!("WARNING: from element {}: {message}", m.source);
        }
    }
    if !args.quiet {
        if interrupted.load(Ordering::SeqCst) {
            eprintln!("Interrupted: stopped before EOS.");
        }
        print!("{}", summary(&sinks, wall, &ledger));
    }
    write_stats(&args, &text, &sinks, wall, &ledger)
}

fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

fn summary(sinks: &[SinkCount], wall: Duration, l: &LedgerSnapshot) -> String {
    use std::fmt::Write;
    let secs = wall.as_secs_f64();
    let mut s = String::new();
    let _ = writeln!(s, "Execution ended after {:.6} s", secs);
    let _ = writeln!(
        s,
        "\n  {:<24} {:>12} {:>14}",
        "sink", "buffers", "buffers/s"
    );
    for k in sinks {
        let n = k.buffers();
        let _ = writeln!(
            s,
            "  {:<24} {:>12} {:>14.1}",
            k.name,
            n,
            n as f64 / secs.max(1e-9)
        );
    }
    let _ = writeln!(
        s,
        "\n  copies: {} ({})",
        l.copies.count,
        human_bytes(l.copies.bytes)
    );
    for r in CopyReason::ALL {
        let t = l.reason(r);
        if t.count > 0 {
            let _ = writeln!(
                s,
                "    reason  {:<16} {:>8} {:>14}",
                r,
                t.count,
                human_bytes(t.bytes)
            );
        }
    }
    for (name, site) in &l.sites {
        if site.copies.count > 0 {
            let _ = writeln!(
                s,
                "    element {:<16} {:>8} {:>14}",
                name,
                site.copies.count,
                human_bytes(site.copies.bytes)
            );
        }
    }
    let _ = writeln!(
        s,
        "  allocations: {} ({})",
        l.allocations.count,
        human_bytes(l.allocations.bytes)
    );
    for (name, site) in &l.sites {
        if site.allocations.count > 0 {
            let _ = writeln!(
                s,
                "    element {:<16} {:>8} {:>14}",
                name,
                site.allocations.count,
                human_bytes(site.allocations.bytes)
            );
        }
    }
    s
}

fn totals(t: ledger::Totals) -> Json {
    Json::O(vec![
        ("count".into(), Json::U(t.count)),
        ("bytes".into(), Json::U(t.bytes)),
    ])
}

/// The stats JSON: `buffers`, `wall_seconds` (execution time as gst-launch's "Execution
/// ended after": from the moment every sink had its first buffer to EOS; start-up and
/// shutdown excluded), `copies` (with `by_reason` and
/// `by_element`), `allocations` (with `by_element`), and `sinks`.
fn stats_json(pipeline: &str, sinks: &[SinkCount], wall: Duration, l: &LedgerSnapshot) -> Json {
    let buffers: u64 = sinks.iter().map(SinkCount::buffers).sum();
    let by_reason = CopyReason::ALL
        .iter()
        .filter(|r| l.reason(**r).count > 0)
        .map(|r| (r.as_str().to_owned(), totals(l.reason(*r))))
        .collect();
    let by_element = l
        .sites
        .iter()
        .filter(|(_, s)| s.copies.count > 0)
        .map(|(n, s)| (n.clone(), totals(s.copies)))
        .collect();
    let alloc_by_element = l
        .sites
        .iter()
        .filter(|(_, s)| s.allocations.count > 0)
        .map(|(n, s)| (n.clone(), totals(s.allocations)))
        .collect();
    Json::O(vec![
        ("pipeline".into(), Json::S(pipeline.to_owned())),
        ("buffers".into(), Json::U(buffers)),
        ("wall_seconds".into(), Json::F(wall.as_secs_f64())),
        (
            "copies".into(),
            Json::O(vec![
                ("count".into(), Json::U(l.copies.count)),
                ("bytes".into(), Json::U(l.copies.bytes)),
                ("by_reason".into(), Json::O(by_reason)),
                ("by_element".into(), Json::O(by_element)),
            ]),
        ),
        (
            "allocations".into(),
            Json::O(vec![
                ("count".into(), Json::U(l.allocations.count)),
                ("bytes".into(), Json::U(l.allocations.bytes)),
                ("by_element".into(), Json::O(alloc_by_element)),
            ]),
        ),
        (
            "sinks".into(),
            Json::O(
                sinks
                    .iter()
                    .map(|k| (k.name.clone(), Json::U(k.buffers())))
                    .collect(),
            ),
        ),
    ])
}

fn write_stats(
    args: &Args,
    text: &str,
    sinks: &[SinkCount],
    wall: Duration,
    l: &LedgerSnapshot,
) -> Result<(), String> {
    if let Some(path) = &args.stats_json {
        std::fs::write(path, stats_json(text, sinks, wall, l).to_pretty())
            .map_err(|e| format!("ERROR: cannot write stats to {}: {e}", path.display()))?;
    }
    Ok(())
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
