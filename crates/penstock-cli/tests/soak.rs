//! Soak: a pipeline that posts or prints something for every buffer must run in flat
//! memory. Endless `videotestsrc` pipelines (tiny frames, so that per-buffer costs
//! dominate) run side by side for `PENSTOCK_SOAK_SECS` seconds (default 12); the
//! resident set size is sampled after a warm-up third and at the end, and may not grow
//! by more than `MAX_GROWTH_KIB`.
//!
//! Ignored by default (it takes its time); `scripts/test-all` runs it with
//! `cargo test -p penstock-cli --test soak -- --ignored`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Allowed RSS growth between the warm-up sample and the end. The bug this guards
/// against (every `checksum` bus message kept for the summary) grew by ~240 bytes per
/// buffer: tens of MiB in these few seconds.
const MAX_GROWTH_KIB: u64 = 4096;

fn rss_kib(child: &Child) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .expect("read /proc/PID/status of the running pipeline");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

struct Soak {
    what: &'static str,
    child: Child,
    stats: std::path::PathBuf,
    warm: u64,
}

fn start(what: &'static str, pipeline: &str, extra: &[&str]) -> Soak {
    let stats = std::env::temp_dir().join(format!(
        "penstock-soak-{}-{}.json",
        std::process::id(),
        what.replace(' ', "_")
    ));
    let mut args: Vec<&str> = vec!["launch", "--stats-json", stats.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend(pipeline.split(' '));
    let child = Command::new(env!("CARGO_BIN_EXE_penstock"))
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start penstock");
    Soak {
        what,
        child,
        stats,
        warm: 0,
    }
}

fn buffers(json: &str) -> u64 {
    let start = json.find("\"buffers\": ").expect("buffers in the stats") + 11;
    json[start..]
        .split([',', '\n'])
        .next()
        .and_then(|v| v.trim().parse().ok())
        .expect("a buffer count")
}

#[test]
#[ignore = "soak: scripts/test-all runs it (cargo test -p penstock-cli --test soak -- --ignored)"]
fn rss_stays_flat_while_sinks_report_every_buffer() {
    let secs: u64 = std::env::var("PENSTOCK_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12)
        .max(3);
    let tiny = "videotestsrc ! video/x-raw,format=GRAY8,width=16,height=16";
    let mut runs = vec![
        // A checksum line per buffer, printed and posted on the bus.
        start("checksumsink", &format!("{tiny} ! checksumsink"), &[]),
        // A handoff message per buffer on the bus.
        start(
            "fakesink silent=false",
            &format!("{tiny} ! fakesink silent=false"),
            &[],
        ),
        // Every bus message printed (-m) and per-link caps (-v).
        start(
            "bus with -m -v",
            &format!(
                "{tiny} ! tee name=t t. ! queue ! fakesink silent=false t. ! queue ! checksumsink"
            ),
            &["-m", "-v"],
        ),
    ];
    let begin = Instant::now();
    std::thread::sleep(Duration::from_secs(secs / 3));
    for r in &mut runs {
        assert!(
            r.child.try_wait().unwrap().is_none(),
            "{} ended early",
            r.what
        );
        r.warm = rss_kib(&r.child);
    }
    std::thread::sleep(Duration::from_secs(secs).saturating_sub(begin.elapsed()));
    let mut failures = Vec::new();
    for mut r in runs {
        let end = rss_kib(&r.child);
        let status = Command::new("kill")
            .args(["-INT", &r.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        let exit = r.child.wait().unwrap();
        assert!(exit.success(), "{} after Ctrl-C: {exit}", r.what);
        let json = std::fs::read_to_string(&r.stats).expect("stats written after Ctrl-C");
        let _ = std::fs::remove_file(&r.stats);
        let n = buffers(&json);
        let growth = end.saturating_sub(r.warm);
        eprintln!(
            "soak {:<24} {n:>10} buffers in {secs} s, RSS {} KiB after warm-up, {} KiB at the end (+{growth} KiB)",
            r.what, r.warm, end
        );
        assert!(n > 1000, "{}: only {n} buffers", r.what);
        if growth > MAX_GROWTH_KIB {
            failures.push(format!(
                "{}: RSS grew by {growth} KiB over {n} buffers",
                r.what
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
