//! The summary and the `--stats-json` document of a run.

use super::*;

pub(super) struct SinkCount {
    pub(super) name: String,
    pub(super) pads: Vec<penstock::pad::Pad>,
}

impl SinkCount {
    pub(super) fn buffers(&self) -> u64 {
        self.pads.iter().map(penstock::pad::Pad::buffers).sum()
    }
}

pub(super) fn human_bytes(b: u64) -> String {
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

pub(super) fn summary(sinks: &[SinkCount], wall: Duration, l: &LedgerSnapshot) -> String {
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

pub(super) fn totals(t: ledger::Totals) -> Json {
    Json::O(vec![
        ("count".into(), Json::U(t.count)),
        ("bytes".into(), Json::U(t.bytes)),
    ])
}

/// The stats JSON: `buffers`, `wall_seconds` (execution time as gst-launch's "Execution
/// ended after": from the moment every sink had its first buffer to EOS; start-up and
/// shutdown excluded), `copies` (with `by_reason` and
/// `by_element`), `allocations` (with `by_element`), and `sinks`.
pub(super) fn stats_json(
    pipeline: &str,
    sinks: &[SinkCount],
    wall: Duration,
    l: &LedgerSnapshot,
) -> Json {
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
