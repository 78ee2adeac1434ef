//! Options given after the pipeline (gst-launch habits) and where `--stats-json` goes.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::Args;
use crate::out::{self, Failure};

/// Joins command-line words as gst-launch does: a word the shell unquoted that still
/// holds whitespace gets its value quoted again.
pub(super) fn join_words(words: &[String]) -> String {
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

/// gst-launch-1.0 options penstock refuses, with why.
pub(super) const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "--force-position",
        "penstock shows its progress line only on a terminal",
    ),
    ("--gst-", "penstock has no GStreamer core options"),
];

/// Options may also follow the pipeline (`penstock launch PIPELINE --stats-json F -v`):
/// a word of a pipeline never starts with `-` (element names, properties, caps, links
/// do not), so such words are taken back out as options.
pub(super) fn options_after_pipeline(args: &mut Args) -> Result<(), String> {
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

pub(super) fn unknown_option(word: &str) -> String {
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
pub(super) enum StatsOut {
    Stdout,
    File(PathBuf, std::fs::File),
}

impl StatsOut {
    pub(super) fn open(path: &Path) -> Result<StatsOut, String> {
        if path.as_os_str() == "-" {
            return Ok(StatsOut::Stdout);
        }
        std::fs::File::create(path)
            .map(|f| StatsOut::File(path.to_owned(), f))
            .map_err(|e| format!("ERROR: cannot write stats to {}: {e}", path.display()))
    }

    pub(super) fn write(self, json: &str) -> Result<(), Failure> {
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
