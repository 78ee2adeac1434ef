//! `penstock launch PIPELINE`.

use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use penstock::bus::{Message, MessageKind};
use penstock::element::Element;
use penstock::event::Event;
use penstock::ledger::{self, CopyReason, LedgerSnapshot};

use crate::json::Json;
use crate::out::{self, Failure};

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

/// gst-launch-1.0 options penstock refuses, with why.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "--force-position",
        "penstock shows its progress line only on a terminal",
    ),
    ("--gst-", "penstock has no GStreamer core options"),
];

/// Options may also follow the pipeline (`penstock launch PIPELINE --stats-json F -v`):
/// a word of a pipeline never starts with `-` (element names, properties, caps, links
/// do not), so such words are taken back out as options.
fn options_after_pipeline(args: &mut Args) -> Result<(), String> {
    let mut words = std::mem::take(&mut args.pipeline).into_iter();
    let mut rest = Vec::new();
    while let Some(w) = words.next() {
        if !w.starts_with('-') || w == "-" {
            rest.push(w);
            continue;
        }
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
            "--exclude" | "-X" => args.exclude.push(value("--exclude")?),
            "--quiet" => args.quiet = true,
            "--verbose" => args.verbose = true,
            "--messages" => args.messages = true,
            "--eos-on-shutdown" => args.eos_on_shutdown = true,
            "--tags" => args.tags = true,
            "--toc" => args.toc = true,
            "--no-fault" => args.no_fault = true,
            "--no-position" => args.no_position = true,
            f if !f.starts_with("--") && f.len() > 1 => {
                // A cluster of short flags: `-v`, `-qe`.
                for c in f[1..].chars() {
                    match c {
                        'q' => args.quiet = true,
                        'v' => args.verbose = true,
                        'm' => args.messages = true,
                        'e' => args.eos_on_shutdown = true,
                        't' => args.tags = true,
                        'c' => args.toc = true,
                        'f' => args.no_fault = true,
                        _ => return Err(unknown_option(&w)),
                    }
                }
            }
            _ => return Err(unknown_option(&w)),
        }
    }
    args.pipeline = rest;
    Ok(())
}

fn unknown_option(word: &str) -> String {
    let word = penstock::launch::abbreviate(word);
    for (prefix, why) in UNSUPPORTED {
        if word.starts_with(prefix) {
            return format!("ERROR: option {word} is not supported: {why}");
        }
    }
    format!(
        "ERROR: unknown option {word} (penstock launch takes --stats-json, --timeout and \
         gst-launch's -q, -v, -m, -e, -t, -c, -X, -f, --no-position; see --help)"
    )
}

/// Where `--stats-json` writes: opened before the run, so that a long job learns at once
/// that the path is not writable.
enum StatsOut {
    Stdout,
    File(PathBuf, std::fs::File),
}

impl StatsOut {
    fn open(path: &Path) -> Result<StatsOut, String> {
        if path.as_os_str() == "-" {
            return Ok(StatsOut::Stdout);
        }
        std::fs::File::create(path)
            .map(|f| StatsOut::File(path.to_owned(), f))
            .map_err(|e| format!("ERROR: cannot write stats to {}: {e}", path.display()))
    }

    fn write(self, json: &str) -> Result<(), Failure> {
        match self {
            StatsOut::Stdout => out::print(json),
            StatsOut::File(path, mut f) => f
                .write_all(json.as_bytes())
                .and_then(|()| f.flush())
                .map_err(|e| {
                    Failure::Message(format!(
                        "ERROR: cannot write stats to {}: {e}",
                        path.display()
                    ))
                }),
        }
    }
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
    let registry = penstock_elements::registry();
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

/// GStreamer's type name for an element of `factory` (`GstVideoTestSrc`), as gst-launch
/// prints it in paths.
fn type_name(factory: &str) -> String {
    const KNOWN: &[(&str, &str)] = &[
        ("capsfilter", "GstCapsFilter"),
        ("checksumsink", "GstChecksumSink"),
        ("fakesink", "GstFakeSink"),
        ("fakesrc", "GstFakeSrc"),
        ("fdsink", "GstFdSink"),
        ("fdsrc", "GstFdSrc"),
        ("filesink", "GstFileSink"),
        ("filesrc", "GstFileSrc"),
        ("identity", "GstIdentity"),
        ("queue", "GstQueue"),
        ("rawvideoparse", "GstRawVideoParse"),
        ("tee", "GstTee"),
        ("videoconvert", "GstVideoConvert"),
        ("videocrop", "GstVideoCrop"),
        ("videotestsrc", "GstVideoTestSrc"),
    ];
    KNOWN.iter().find(|(f, _)| *f == factory).map_or_else(
        || {
            let mut c = factory.chars();
            c.next().map_or_else(String::new, |first| {
                format!("Gst{}{}", first.to_ascii_uppercase(), c.as_str())
            })
        },
        |(_, t)| (*t).to_owned(),
    )
}

/// `-v`: the caps of every pad as they are set, and `last-message` lines.
struct Verbose {
    /// Each pad, its gst-launch path, and the caps last printed for it.
    pads: Vec<(penstock::pad::Pad, String, Option<String>)>,
    /// gst-launch paths of the elements, by penstock path.
    elements: Vec<(String, String)>,
    exclude: Vec<String>,
    checked: Option<Instant>,
}

impl Verbose {
    fn new(pipeline: &penstock::pipeline::Pipeline, exclude: Vec<String>) -> Verbose {
        // Upstream first, following the links from the sources, as caps travel.
        let mut order: Vec<Element> = pipeline
            .elements()
            .iter()
            .filter(|e| e.sink_pads().is_empty())
            .cloned()
            .collect();
        let mut i = 0;
        while i < order.len() {
            for p in order[i].src_pads() {
                if let Some(next) = p.peer().and_then(|k| k.parent()) {
                    if !order.contains(&next) {
                        order.push(next);
                    }
                }
            }
            i += 1;
        }
        for e in pipeline.elements() {
            if !order.contains(e) {
                order.push(e.clone());
            }
        }
        let mut pads = Vec::new();
        let mut elements = Vec::new();
        for e in &order {
            let path = format!(
                "/GstPipeline:{}/{}:{}",
                pipeline.name(),
                type_name(e.factory().name),
                e.name()
            );
            let mut all = e.sink_pads();
            all.extend(e.src_pads());
            for p in all {
                pads.push((p.clone(), format!("{path}.GstPad:{}", p.name()), None));
            }
            elements.push((e.path(), path));
        }
        Verbose {
            pads,
            elements,
            exclude,
            checked: None,
        }
    }

    /// Prints the pads whose caps changed since the last call (at most every 20 ms: this
    /// runs once per bus message).
    fn caps_changes(&mut self) -> Result<(), Failure> {
        if self.exclude.iter().any(|x| x == "caps")
            || self
                .checked
                .is_some_and(|t| t.elapsed() < Duration::from_millis(20))
        {
            return Ok(());
        }
        self.checked = Some(Instant::now());
        let mut text = String::new();
        for (pad, path, last) in &mut self.pads {
            let now = pad.current_caps().map(|c| c.to_string());
            if now != *last {
                if let Some(caps) = &now {
                    text.push_str(&format!("{path}: caps = {caps}\n"));
                }
                *last = now;
            }
        }
        if text.is_empty() {
            Ok(())
        } else {
            out::print(&text)
        }
    }

    /// A `last-message` line for a handoff message (fakesink silent=false).
    fn message(&self, msg: &Message) -> Result<(), Failure> {
        let MessageKind::Element { name, text } = &msg.kind else {
            return Ok(());
        };
        if name != "handoff" || self.exclude.iter().any(|x| x == "last-message") {
            return Ok(());
        }
        let path = self
            .elements
            .iter()
            .find(|(p, _)| *p == msg.source)
            .map_or(msg.source.as_str(), |(_, g)| g.as_str());
        out::print(&format!("{path}: last-message = {text}\n"))
    }
}

/// `-m`: one bus message as gst-launch prints it.
fn message_line(n: u64, msg: &Message) -> String {
    let element = msg.source.rsplit('/').next().unwrap_or(&msg.source);
    let (kind, body) = match &msg.kind {
        MessageKind::Error { message, debug } => (
            "error",
            format!(
                "GstMessageError, gerror=(GError)\"{message}\", debug=(string)\"{}\";",
                debug.as_deref().unwrap_or("")
            ),
        ),
        MessageKind::Warning { message } => (
            "warning",
            format!("GstMessageWarning, gerror=(GError)\"{message}\";"),
        ),
        MessageKind::Eos => ("eos", "no message details".to_owned()),
        MessageKind::StateChanged { old, new } => (
            "state-changed",
            format!(
                "GstMessageStateChanged, old-state=(GstState){}, new-state=(GstState){};",
                old.to_string().to_lowercase(),
                new.to_string().to_lowercase()
            ),
        ),
        MessageKind::StreamStart => ("stream-start", "GstMessageStreamStart;".to_owned()),
        MessageKind::Element { name, text } => {
            ("element", format!("{name}, text=(string)\"{text}\";"))
        }
    };
    format!("Got message #{n} from element \"{element}\" ({kind}): {body}\n")
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
