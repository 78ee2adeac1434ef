//! Live parity with the GStreamer installed here (`gst-launch-1.0`): the same launch
//! line run by penstock and by GStreamer, both into `filesink`, must give the same bytes
//! (in every byte GStreamer writes: see `gst_support::compare_frames`).
//!
//! Without GStreamer these tests print `gst-parity: not run (gst-launch-1.0 not
//! installed)` and pass; with `PENSTOCK_REQUIRE_GST=1` they fail instead. The stored
//! hashes in `crates/penstock/src/testsrc/data/gst122_hashes.txt` cover the renderer
//! without GStreamer (see `docs/parity.md`).

mod gst_support;

use std::path::Path;
use std::time::{Duration, Instant};

use gst_support::{TempDir, compare_frames, gst_launch, run_gst, run_parallel};
use penstock::testsrc::{Pattern, RenderOptions, Renderer};
use penstock::video::{VideoFormat, VideoInfo};

/// Patterns compared (with the options given on both launch lines).
const PATTERNS: &[(&str, &str)] = &[
    ("smpte", ""),
    ("smpte75", ""),
    ("smpte100", ""),
    ("black", ""),
    ("white", ""),
    ("red", ""),
    ("green", ""),
    ("blue", ""),
    ("checkers-1", ""),
    ("checkers-2", ""),
    ("checkers-4", ""),
    ("checkers-8", ""),
    ("solid-color", "foreground-color=0xff3c8d1e"),
    ("bar", "foreground-color=0xffd02070"),
    ("snow", ""),
    ("ball", ""),
];

/// Sizes compared: 1x1 and 2x2 (smallest, one chroma sample), odd widths and heights
/// (7x5, 33x17, 641x479), even ones (64x48, 320x240).
const SIZES: &[(u32, u32)] = &[
    (1, 1),
    (2, 2),
    (7, 5),
    (33, 17),
    (64, 48),
    (320, 240),
    (641, 479),
];

/// Frames per pipeline: several for the patterns that change from frame to frame.
fn frames_of(pattern: &str) -> usize {
    match pattern {
        "snow" | "ball" => 3,
        _ => 1,
    }
}

/// Runs a penstock launch line (without its sink) into a file and returns the bytes.
fn run_penstock(line: &str) -> Vec<u8> {
    let dir = TempDir::new("penstock");
    let text = format!("{line} ! filesink location={}", dir.file(0).display());
    let registry = penstock_elements::registry();
    let p = penstock::launch::build(&registry, &text).unwrap_or_else(|e| panic!("{text}: {e}"));
    p.run(Some(Duration::from_secs(60)), || false, |_| {})
        .unwrap_or_else(|e| panic!("{text}: {e}"));
    drop(p);
    std::fs::read(dir.file(0)).unwrap_or_else(|e| panic!("{text}: no output: {e}"))
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// One comparison: the launch line and what the frames look like.
struct Case {
    line: String,
    info: VideoInfo,
    frames: usize,
    last_chroma_written: bool,
}

/// Runs every case on both sides; GStreamer in batches of `batch` branches per process.
/// Returns (cases, bytes compared); panics listing every mismatch.
fn compare_all(gst: &Path, cases: &[Case], batch: usize) -> (usize, usize) {
    let chunks: Vec<&[Case]> = cases.chunks(batch).collect();
    let theirs: Vec<Vec<u8>> = run_parallel(&chunks, threads(), |chunk| {
        let lines: Vec<String> = chunk.iter().map(|c| c.line.clone()).collect();
        run_gst(gst, &lines)
    })
    .into_iter()
    .flatten()
    .collect();
    let results = run_parallel(cases, threads(), |c| run_penstock(&c.line));
    let mut failures = Vec::new();
    let mut bytes = 0;
    for ((ours, c), theirs) in results.iter().zip(cases).zip(&theirs) {
        match compare_frames(&c.info, c.frames, ours, theirs, c.last_chroma_written) {
            Ok(n) => bytes += n,
            Err(e) => failures.push(format!("{}: {e}", c.line)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ from GStreamer:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    (cases.len(), bytes)
}

fn is_static(pattern: &str, opts: RenderOptions, info: &VideoInfo) -> bool {
    let p = Pattern::from_nick_or_value(pattern).expect("known pattern");
    Renderer::new(p, info, opts).expect("supported").is_static()
}

#[test]
fn videotestsrc_matches_gstreamer_live() {
    let Some(gst) = gst_launch() else { return };
    let start = Instant::now();
    let mut cases = Vec::new();
    for (pattern, props) in PATTERNS {
        for format in VideoFormat::ALL {
            for &(w, h) in SIZES {
                let info = VideoInfo::new(format, w, h).unwrap();
                let frames = frames_of(pattern);
                cases.push(Case {
                    line: format!(
                        "videotestsrc num-buffers={frames} pattern={pattern} {props} ! \
                         video/x-raw,format={},width={w},height={h},framerate=30/1",
                        format.name()
                    ),
                    last_chroma_written: !is_static(pattern, RenderOptions::default(), &info),
                    info,
                    frames,
                });
            }
        }
    }
    // One GStreamer process per pattern and format (all sizes as separate branches).
    let (n, bytes) = compare_all(&gst, &cases, SIZES.len());
    println!(
        "gst-parity: videotestsrc: {n} pattern x format x size combinations, {bytes} bytes \
         identical to GStreamer, in {:.1?}",
        start.elapsed()
    );
    assert_eq!(n, PATTERNS.len() * 17 * SIZES.len());
}

/// Crops compared: (left, right, top, bottom), each on input sizes it fits.
const CROPS: &[(u32, u32, u32, u32)] = &[
    (1, 0, 0, 0),
    (0, 1, 0, 0),
    (0, 0, 1, 0),
    (0, 0, 0, 1),
    (1, 2, 1, 2),
    (2, 1, 3, 0),
    (3, 3, 1, 1),
    (2, 2, 2, 2),
    (5, 0, 0, 3),
];

#[test]
fn videocrop_matches_gstreamer_live() {
    let Some(gst) = gst_launch() else { return };
    let start = Instant::now();
    let mut cases = Vec::new();
    // snow: every pixel differs from its neighbours, so an offset by one shows.
    for pattern in ["snow", "smpte"] {
        for format in VideoFormat::ALL {
            for (w, h) in [(7, 5), (16, 9), (33, 17)] {
                for &(l, r, t, b) in CROPS {
                    if l + r >= w || t + b >= h {
                        continue;
                    }
                    let info = VideoInfo::new(format, w - l - r, h - t - b).unwrap();
                    cases.push(Case {
                        line: format!(
                            "videotestsrc num-buffers=2 pattern={pattern} ! \
                             video/x-raw,format={},width={w},height={h},framerate=30/1 ! \
                             videocrop left={l} right={r} top={t} bottom={b}",
                            format.name()
                        ),
                        info,
                        frames: 2,
                        // GStreamer's crop copies width*2 bytes per YUY2/UYVY row.
                        last_chroma_written: false,
                    });
                }
            }
        }
    }
    let (n, bytes) = compare_all(&gst, &cases, 27);
    println!(
        "gst-parity: videocrop: {n} crops, {bytes} bytes identical to GStreamer, in {:.1?}",
        start.elapsed()
    );
}
