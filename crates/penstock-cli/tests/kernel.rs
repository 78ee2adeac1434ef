//! `penstock probe` and a DMA-BUF `penstock launch` on a kernel with DMA-BUF heaps,
//! udmabuf and vivid (the QEMU guest of `cargo xtask vm-test`). On a kernel without them
//! each test prints `kernel-test NAME: not run on this kernel (...)` and passes, unless
//! `PENSTOCK_REQUIRE_KERNEL=1` is set: then it fails.

use std::path::Path;
use std::process::Command;

fn kernel_has(name: &str, device: &str) -> bool {
    penstock_linux::kernel_test::kernel_has(name, &[device])
}

fn penstock(args: &[&str]) -> (bool, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_penstock"))
        .args(args)
        .output()
        .expect("run penstock");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn probe_finds_the_system_heap_udmabuf_and_video_devices_working() {
    if !kernel_has("probe_finds_the_system_heap", "/dev/dma_heap/system")
        || !kernel_has("probe_finds_udmabuf", "/dev/udmabuf")
    {
        return;
    }
    let (ok, json, err) = penstock(&["probe", "--json"]);
    assert!(ok, "{err}");
    assert!(json.contains("\"name\": \"system\""), "{json}");
    assert!(
        json.contains("\"udmabuf\": {\n    \"present\": true,\n    \"works\": true,"),
        "{json}"
    );
    if Path::new("/dev/video0").exists() {
        assert!(json.contains("/dev/video0"), "{json}");
    }
}

#[test]
fn launch_reports_zero_copies_for_a_dmabuf_pipeline() {
    if !kernel_has("launch_dmabuf_pipeline", "/dev/dma_heap/system") {
        return;
    }
    let stats = std::env::temp_dir().join(format!("penstock-kernel-{}.json", std::process::id()));
    let (ok, out, err) = penstock(&[
        "launch",
        "videotestsrc",
        "num-buffers=10",
        "!",
        "video/x-raw(memory:DMABuf),format=DMA_DRM,drm-format=NV12,width=1280,height=720",
        "!",
        "fakesink",
        "--stats-json",
        stats.to_str().expect("utf-8 temp path"),
    ]);
    assert!(ok, "{out}\n{err}");
    let json = std::fs::read_to_string(&stats).expect("stats written");
    let _ = std::fs::remove_file(&stats);
    assert!(
        json.contains("\"copies\": {\n    \"count\": 0,"),
        "copies must be 0: {json}"
    );
    assert!(out.contains("copies: 0"), "{out}");
}
