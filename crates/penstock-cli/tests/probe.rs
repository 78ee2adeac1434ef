//! `penstock probe`, run as a user runs it, checked against this machine's device nodes.

use std::path::Path;
use std::process::Command;

fn probe(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_penstock"))
        .arg("probe")
        .args(args)
        .output()
        .expect("run penstock probe");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).expect("utf-8 output")
}

/// Names in `dir`, sorted; empty when it does not exist.
fn entries(dir: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn json_reports_working_memfd_and_the_heaps_that_exist() {
    let json = probe(&["--json"]);
    // memfd works and seals on every supported kernel.
    assert!(
        json.contains(
            "\"memfd\": {\n    \"works\": true,\n    \"sealing\": true,\n    \"error\": null\n  }"
        ),
        "{json}"
    );
    let heaps = entries("/dev/dma_heap");
    if heaps.is_empty() {
        // This host: no DMA-BUF heaps.
        assert!(json.contains("\"dma_heaps\": [],"), "{json}");
    } else {
        for h in &heaps {
            assert!(json.contains(&format!("\"name\": \"{h}\"")), "{h}: {json}");
        }
    }
    let udmabuf = Path::new("/dev/udmabuf").exists();
    assert!(
        json.contains(&format!("\"udmabuf\": {{\n    \"present\": {udmabuf},")),
        "{json}"
    );
    assert!(json.contains("\"page_size\": "), "{json}");
    assert!(json.contains("\"video_devices\": "), "{json}");
    assert!(json.trim_end().ends_with('}'));
}

#[test]
fn text_says_what_works() {
    let text = probe(&[]);
    assert!(text.contains("memfd:     works (sealing: yes)"), "{text}");
    if entries("/dev/dma_heap").is_empty() {
        assert!(
            text.contains("dma-heaps: none (no /dev/dma_heap)"),
            "{text}"
        );
    } else {
        assert!(text.contains("one-page allocation"), "{text}");
    }
    if !Path::new("/dev/udmabuf").exists() {
        assert!(text.contains("udmabuf:   not present"), "{text}");
    }
}
