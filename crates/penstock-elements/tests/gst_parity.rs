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

use gst_support::{
    Compared, TempDir, TwoRuns, compare_frames, gst_launch, run_gst_twice, run_parallel,
};
use penstock_video::testsrc::{Pattern, RenderOptions, Renderer};
use penstock_video::{VideoFormat, VideoInfo};

/// Patterns compared: (pattern, options given on both launch lines, frames). Several
/// frames for the patterns that change from frame to frame.
const PATTERNS: &[(&str, &str, usize)] = &[
    ("smpte", "", 2),
    ("smpte75", "", 1),
    ("smpte100", "", 1),
    ("black", "", 1),
    ("white", "", 1),
    ("red", "", 1),
    ("green", "", 1),
    ("blue", "", 1),
    ("checkers-1", "", 1),
    ("checkers-2", "", 1),
    ("checkers-4", "", 1),
    ("checkers-8", "", 1),
    ("solid-color", "foreground-color=0xff3c8d1e", 1),
    ("solid-color", "foreground-color=0x80c0ffee", 1),
    ("bar", "foreground-color=0xffd02070", 1),
    (
        "bar",
        "foreground-color=0xff336699 background-color=0x40123456",
        1,
    ),
    ("snow", "", 3),
    ("ball", "", 3),
    (
        "ball",
        "foreground-color=0xffd0a030 background-color=0xff204080",
        2,
    ),
    ("blink", "", 2),
];

/// Sizes compared: 1x1 and 2x2 (smallest, one chroma sample), odd widths and heights
/// (7x5, 33x17, 641x479), even ones (64x48, 320x240), and more than 576 rows (35x581,
/// 36x578), where GStreamer switches to BT.709 and another 4:2:0 chroma filter.
const SIZES: &[(u32, u32)] = &[
    (1, 1),
    (2, 2),
    (7, 5),
    (33, 17),
    (64, 48),
    (320, 240),
    (641, 479),
    (35, 581),
    (36, 578),
];

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

/// Runs every case on both sides and compares them. GStreamer runs batches of `batch`
/// branches per process (twice: see `gst_support::compare_frames`); batches are spread
/// over threads, and each batch is compared and dropped before the next (bounded
/// memory). Panics listing every mismatch.
fn compare_all(gst: &Path, cases: &[Case], batch: usize) -> Compared {
    let chunks: Vec<&[Case]> = cases.chunks(batch).collect();
    let results = run_parallel(&chunks, threads(), |chunk| {
        let lines: Vec<String> = chunk.iter().map(|c| c.line.clone()).collect();
        let t = Instant::now();
        let theirs = run_gst_twice(gst, &lines);
        let gst_time = t.elapsed();
        let t = Instant::now();
        let mut failures = Vec::new();
        let mut total = Compared::default();
        for (c, theirs) in chunk.iter().zip(&theirs) {
            let ours = run_penstock(&c.line);
            match compare_frames(&c.info, c.frames, &ours, theirs, c.last_chroma_written) {
                Ok(n) => {
                    total.bytes += n.bytes;
                    total.unwritten += n.unwritten;
                    total.excluded_but_stable += n.excluded_but_stable;
                }
                Err(e) => failures.push(format!("{}: {e}", c.line)),
            }
        }
        (total, failures, gst_time, t.elapsed())
    });
    let mut failures = Vec::new();
    let mut total = Compared::default();
    let (mut gst_time, mut ours_time) = (Duration::ZERO, Duration::ZERO);
    for (t, f, g, o) in results {
        total.bytes += t.bytes;
        total.unwritten += t.unwritten;
        total.excluded_but_stable += t.excluded_but_stable;
        failures.extend(f);
        gst_time += g;
        ours_time += o;
    }
    println!(
        "gst-parity: {} cases in {} batches; thread time: GStreamer (2 runs) {gst_time:.1?}, \
         penstock and comparison {ours_time:.1?}",
        cases.len(),
        chunks.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} differ from GStreamer:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // If MALLOC_PERTURB_ shows GStreamer's unwritten bytes at all (glibc), the rule must
    // exclude no visible byte that GStreamer writes.
    if total.unwritten > 0 {
        assert_eq!(
            total.excluded_but_stable, 0,
            "is_written() skips visible bytes GStreamer writes"
        );
    }
    total
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
    for &(pattern, props, frames) in PATTERNS {
        for format in VideoFormat::ALL {
            for &(w, h) in SIZES {
                let info = VideoInfo::new(format, w, h).unwrap();
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
    // One GStreamer process per pattern (every format and size a branch of it).
    assert_eq!(cases.len(), PATTERNS.len() * 17 * SIZES.len());
    let c = compare_all(&gst, &cases, 17 * SIZES.len());
    println!(
        "gst-parity: videotestsrc: {} pattern x format x size combinations, {} bytes \
         identical to GStreamer ({} bytes it leaves unwritten not compared), in {:.1?}",
        cases.len(),
        c.bytes,
        c.unwritten,
        start.elapsed()
    );
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
    let c = compare_all(&gst, &cases, 100);
    println!(
        "gst-parity: videocrop: {} crops, {} bytes identical to GStreamer ({} bytes it \
         leaves unwritten not compared), in {:.1?}",
        cases.len(),
        c.bytes,
        c.unwritten,
        start.elapsed()
    );
}

/// The harness itself, without GStreamer: which bytes count as written, and that a
/// difference in one is found while unwritten bytes are ignored.
#[test]
fn harness_compares_exactly_the_bytes_gstreamer_writes() {
    use gst_support::is_written;
    // YUY2 7 wide: 16 bytes a row, [.. Y6 U6][Ypad V6]; stride 16.
    let yuy2 = VideoInfo::new(VideoFormat::Yuy2, 7, 1).unwrap();
    let cols = |info: &VideoInfo, last: bool| -> Vec<usize> {
        (0..info.stride(0))
            .filter(|&c| is_written(info, 0, c, last))
            .collect()
    };
    assert_eq!(cols(&yuy2, false), (0..14).collect::<Vec<_>>());
    assert_eq!(cols(&yuy2, true), (0..14).chain([15]).collect::<Vec<_>>());
    // UYVY: [.. U6 Y6][V6 Ypad].
    let uyvy = VideoInfo::new(VideoFormat::Uyvy, 7, 1).unwrap();
    assert_eq!(cols(&uyvy, true), (0..15).collect::<Vec<_>>());
    // RGB 7 wide: 21 bytes of a 24-byte stride.
    let rgb = VideoInfo::new(VideoFormat::Rgb, 7, 2).unwrap();
    assert_eq!(cols(&rgb, false), (0..21).collect::<Vec<_>>());

    let frame: Vec<u8> = (0..rgb.size() as u8).collect();
    let mut a = frame.clone();
    let mut b = frame.clone();
    // Padding left unwritten: different in the two runs, ignored.
    for i in [21, 22, 23, 45, 46, 47] {
        a[i] = 0xaa;
        b[i] = 0x55;
    }
    let runs = TwoRuns { a, b };
    let c = compare_frames(&rgb, 1, &frame, &runs, false).unwrap();
    assert_eq!((c.bytes, c.unwritten, c.excluded_but_stable), (42, 6, 0));
    let mut ours = frame.clone();
    ours[30] ^= 1;
    let e = compare_frames(&rgb, 1, &ours, &runs, false).unwrap_err();
    assert!(e.contains("row 1 byte 6"), "{e}");
    // A byte counted as written that GStreamer did not write is an error too.
    let mut runs2 = TwoRuns {
        a: runs.a.clone(),
        b: runs.b.clone(),
    };
    runs2.b[3] ^= 0xff;
    let e = compare_frames(&rgb, 1, &frame, &runs2, false).unwrap_err();
    assert!(e.contains("unwritten"), "{e}");
    // Sizes must match.
    assert!(compare_frames(&rgb, 2, &frame, &runs, false).is_err());
}

/// Caps fields compared on YUV output at sizes where they differ from the default:
/// BT.709 and `mpeg2` siting below 577 rows, BT.601 and `jpeg` siting above 576. A
/// `chroma-site` without `colorimetry` is compared too: GStreamer does not read it then.
const COLORIMETRIES: &[(&str, &[(u32, u32)])] = &[
    ("colorimetry=bt709", &[(64, 48), (33, 17)]),
    ("colorimetry=2:3:5:1", &[(7, 5)]),
    ("chroma-site=mpeg2", &[(64, 48), (33, 17)]),
    ("colorimetry=bt709,chroma-site=mpeg2", &[(64, 48)]),
    ("colorimetry=bt601", &[(36, 578), (35, 581)]),
    ("chroma-site=jpeg", &[(36, 578)]),
    ("colorimetry=bt601,chroma-site=jpeg", &[(35, 581)]),
];

#[test]
fn videotestsrc_follows_colorimetry_and_chroma_site_like_gstreamer() {
    let Some(gst) = gst_launch() else { return };
    let start = Instant::now();
    let mut cases = Vec::new();
    for &(fields, sizes) in COLORIMETRIES {
        for format in VideoFormat::ALL.into_iter().filter(|f| f.is_yuv()) {
            for &(w, h) in sizes {
                for pattern in ["smpte", "checkers-2", "bar"] {
                    let info = VideoInfo::new(format, w, h).unwrap();
                    cases.push(Case {
                        line: format!(
                            "videotestsrc num-buffers=1 pattern={pattern} ! \
                             video/x-raw,format={},width={w},height={h},framerate=30/1,{fields}",
                            format.name()
                        ),
                        last_chroma_written: !is_static(pattern, RenderOptions::default(), &info),
                        info,
                        frames: 1,
                    });
                }
            }
        }
    }
    let n = cases.len();
    let c = compare_all(&gst, &cases, 24);
    println!(
        "gst-parity: videotestsrc with colorimetry/chroma-site caps: {n} cases, {} bytes \
         identical to GStreamer, in {:.1?}",
        c.bytes,
        start.elapsed()
    );
}

#[test]
fn videotestsrc_refuses_a_colorimetry_it_cannot_render() {
    let registry = penstock_elements::registry();
    for (fields, want) in [
        ("colorimetry=bt2020", "BT.601 and BT.709 only"),
        ("colorimetry=1:4:0:0", "BT.601 and BT.709 only"),
        ("colorimetry=nonsense", "colorimetry=nonsense"),
        ("colorimetry=bt709,chroma-site=dv", "chroma-site=dv"),
    ] {
        let line = format!(
            "videotestsrc num-buffers=1 ! video/x-raw,format=I420,width=16,height=16,{fields} ! fakesink"
        );
        let p = penstock::launch::build(&registry, &line).unwrap();
        let e = p
            .run(Some(Duration::from_secs(30)), || false, |_| {})
            .unwrap_err()
            .to_string();
        drop(p);
        assert!(e.contains(want), "{line}: {e}");
    }
}
