//! `penstock probe [--json]`: what this kernel offers penstock's memory.

use std::fmt::Write;

use penstock_linux::probe::{Probe, probe};

use crate::json::Json;
use crate::out::{self, Failure};

/// Arguments of `probe`.
#[derive(clap::Args)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<(), Failure> {
    let p = probe();
    if args.json {
        out::print(&to_json(&p).to_pretty())
    } else {
        out::print(&to_text(&p))
    }
}

fn opt(s: &Option<String>) -> Json {
    s.as_ref().map_or(Json::Null, |s| Json::S(s.clone()))
}

/// The probe as JSON: `memfd`, `dma_heaps` (array), `udmabuf`, `video_devices`.
pub fn to_json(p: &Probe) -> Json {
    Json::O(vec![
        ("page_size".into(), Json::U(p.page_size as u64)),
        (
            "memfd".into(),
            Json::O(vec![
                ("works".into(), Json::B(p.memfd.works)),
                ("sealing".into(), Json::B(p.memfd.sealing)),
                ("error".into(), opt(&p.memfd.error)),
            ]),
        ),
        (
            "dma_heaps".into(),
            Json::A(
                p.dma_heaps
                    .iter()
                    .map(|h| {
                        Json::O(vec![
                            ("name".into(), Json::S(h.name.clone())),
                            ("path".into(), Json::S(h.path.display().to_string())),
                            ("alloc_works".into(), Json::B(h.alloc_works)),
                            ("error".into(), opt(&h.error)),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "udmabuf".into(),
            Json::O(vec![
                ("present".into(), Json::B(p.udmabuf.present)),
                ("works".into(), Json::B(p.udmabuf.works)),
                ("error".into(), opt(&p.udmabuf.error)),
            ]),
        ),
        (
            "video_devices".into(),
            Json::A(
                p.video_devices
                    .iter()
                    .map(|v| Json::S(v.display().to_string()))
                    .collect(),
            ),
        ),
    ])
}

fn works(ok: bool, error: &Option<String>) -> String {
    match (ok, error) {
        (true, _) => "works".to_owned(),
        (false, Some(e)) => format!("FAILS: {e}"),
        (false, None) => "FAILS".to_owned(),
    }
}

/// The probe as lines of text.
pub fn to_text(p: &Probe) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "page size: {} bytes", p.page_size);
    let _ = writeln!(
        s,
        "memfd:     {} (sealing: {})",
        works(p.memfd.works, &p.memfd.error),
        if p.memfd.sealing { "yes" } else { "no" }
    );
    if p.dma_heaps.is_empty() {
        let _ = writeln!(s, "dma-heaps: none (no /dev/dma_heap)");
    } else {
        let _ = writeln!(s, "dma-heaps:");
        for h in &p.dma_heaps {
            let _ = writeln!(
                s,
                "  {} ({}): one-page allocation {}",
                h.name,
                h.path.display(),
                works(h.alloc_works, &h.error)
            );
        }
    }
    let udmabuf = if p.udmabuf.present {
        format!("/dev/udmabuf {}", works(p.udmabuf.works, &p.udmabuf.error))
    } else {
        "not present (no /dev/udmabuf)".to_owned()
    };
    let _ = writeln!(s, "udmabuf:   {udmabuf}");
    if p.video_devices.is_empty() {
        let _ = writeln!(s, "video:     none (no /dev/video*)");
    } else {
        let list: Vec<String> = p
            .video_devices
            .iter()
            .map(|v| v.display().to_string())
            .collect();
        let _ = writeln!(s, "video:     {}", list.join(" "));
    }
    s
}
