//! Live comparisons with GStreamer: runs `gst-launch-1.0` pipelines that end in
//! `filesink`, and compares raw frames byte for byte.
//!
//! * [`gst_launch`] finds `gst-launch-1.0` on `PATH`. When it is missing the test prints
//!   `gst-parity: not run (gst-launch-1.0 not installed)` and passes, unless
//!   `PENSTOCK_REQUIRE_GST=1` is set, in which case it fails.
//! * [`run_gst`] runs many independent pipelines (branches) in one `gst-launch-1.0`
//!   process, each to its own file, and [`run_parallel`] spreads batches over threads:
//!   starting GStreamer once per batch rather than once per frame keeps a sweep of
//!   thousands of frames within seconds.
//! * [`compare_frames`] compares only the bytes GStreamer writes (see there).
//!
//! Shared by several test files; each uses a part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use penstock::sync::MutexExt;
use penstock_video::{VideoFormat, VideoInfo};

/// `gst-launch-1.0` if installed. `None` (after printing why) when it is missing and
/// GStreamer is not required.
///
/// # Panics
/// When `PENSTOCK_REQUIRE_GST=1` and `gst-launch-1.0` is not on `PATH`.
pub fn gst_launch() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("gst-launch-1.0"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var("PENSTOCK_REQUIRE_GST").is_ok_and(|v| v == "1") {
            panic!("gst-parity: gst-launch-1.0 not installed, and PENSTOCK_REQUIRE_GST=1");
        }
        println!("gst-parity: not run (gst-launch-1.0 not installed)");
    }
    found
}

/// A fresh empty directory for one batch's files (removed by [`TempDir`]'s drop).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(what: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "penstock-{what}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn file(&self, i: usize) -> PathBuf {
        self.0.join(format!("{i}.raw"))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `branches` (each a launch line without its sink, e.g. `videotestsrc
/// num-buffers=1 ! video/x-raw,format=I420,width=8,height=8`) as independent pipelines
/// of one `gst-launch-1.0` process, each into its own `filesink`, and returns each
/// branch's bytes.
///
/// # Panics
/// When gst-launch fails or a file is missing (with GStreamer's output).
pub fn run_gst(gst: &Path, branches: &[String]) -> Vec<Vec<u8>> {
    run_gst_with(gst, branches, None)
}

/// Output of a batch run twice, with glibc filling fresh and freed memory with two
/// different bytes (`MALLOC_PERTURB_`): a byte GStreamer leaves unwritten differs
/// between the two runs, a byte it writes cannot.
pub struct TwoRuns {
    pub a: Vec<u8>,
    pub b: Vec<u8>,
}

/// [`run_gst`] twice, under `MALLOC_PERTURB_=17` and `MALLOC_PERTURB_=34`: glibc fills fresh memory with
/// the complement of the value and freed memory with the value, so the four fill bytes
/// (0xee, 0x11, 0xdd, 0x22) all differ: an unwritten byte differs between the runs
/// (barring allocator bookkeeping left in reused memory, which is not seen in practice).
pub fn run_gst_twice(gst: &Path, branches: &[String]) -> Vec<TwoRuns> {
    let a = run_gst_with(gst, branches, Some(0x11));
    let b = run_gst_with(gst, branches, Some(0x22));
    a.into_iter()
        .zip(b)
        .map(|(a, b)| TwoRuns { a, b })
        .collect()
}

fn run_gst_with(gst: &Path, branches: &[String], perturb: Option<u8>) -> Vec<Vec<u8>> {
    let dir = TempDir::new("gst");
    let mut cmd = Command::new(gst);
    cmd.arg("-q");
    if let Some(v) = perturb {
        cmd.env("MALLOC_PERTURB_", v.to_string());
    }
    for (i, b) in branches.iter().enumerate() {
        cmd.args(b.split_whitespace());
        cmd.arg("!")
            .arg("filesink")
            .arg(format!("location={}", dir.file(i).display()));
    }
    let out = cmd.output().expect("run gst-launch-1.0");
    assert!(
        out.status.success(),
        "gst-launch-1.0 failed ({}):\n{}\n{}\nfirst branch: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        branches.first().map_or("", String::as_str)
    );
    (0..branches.len())
        .map(|i| {
            std::fs::read(dir.file(i)).unwrap_or_else(|e| {
                panic!(
                    "gst-launch-1.0 wrote no {} ({e}): {}",
                    dir.file(i).display(),
                    branches[i]
                )
            })
        })
        .collect()
}

/// Runs `f` on each job, `threads` at a time, and returns the results in job order.
pub fn run_parallel<J: Sync, R: Send>(
    jobs: &[J],
    threads: usize,
    f: impl Fn(&J) -> R + Sync,
) -> Vec<R> {
    let next = AtomicU64::new(0);
    let mut results: Vec<Option<R>> = (0..jobs.len()).map(|_| None).collect();
    let slots = std::sync::Mutex::new(&mut results);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    if i >= jobs.len() {
                        break;
                    }
                    let r = f(&jobs[i]);
                    slots.lock_ignore_poison()[i] = Some(r);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}

/// True if GStreamer writes byte `col` of a row of `plane`.
///
/// Every visible byte (`VideoInfo::plane_row_bytes`) is written except, for YUY2 and
/// UYVY of odd width, in the last macro-pixel: the luma of the pixel past the right edge
/// is never written, and GStreamer's frame copies (`gst_video_frame_copy`, which
/// `videotestsrc` uses for the patterns it draws once, and `videocrop`'s row copies) copy
/// `width * 2` bytes, so the last V sample is not written either.
/// `last_chroma_written` says it is (frames drawn afresh: smpte, snow, ball).
pub fn is_written(info: &VideoInfo, plane: usize, col: usize, last_chroma_written: bool) -> bool {
    if col >= info.plane_row_bytes(plane) {
        return false;
    }
    let w2 = info.width() as usize * 2;
    match info.format() {
        VideoFormat::Yuy2 | VideoFormat::Uyvy if info.width() % 2 == 1 && col >= w2 => {
            // YUY2 ends [Y U][Ypad V], UYVY ends [U Y][V Ypad].
            let v = if info.format() == VideoFormat::Yuy2 {
                w2 + 1
            } else {
                w2
            };
            last_chroma_written && col == v
        }
        _ => true,
    }
}

/// What [`compare_frames`] found.
#[derive(Debug, Default, Clone, Copy)]
pub struct Compared {
    /// Bytes compared (and equal).
    pub bytes: usize,
    /// Bytes of the planes' rows and their stride padding that GStreamer demonstrably
    /// left unwritten (they differ between its two runs).
    pub unwritten: usize,
    /// Visible bytes [`is_written`] excludes that were equal in GStreamer's two runs.
    pub excluded_but_stable: usize,
}

/// Compares `ours` with GStreamer's two runs, all `frames` frames in `info`'s default
/// layout, in every byte GStreamer writes.
///
/// Which bytes GStreamer writes is known two ways, and they must agree: by rule
/// ([`is_written`]: stride padding and the tail of an odd YUY2/UYVY row are not
/// written), and by experiment (a byte that differs between the two `MALLOC_PERTURB_`
/// runs was not written). A byte that the rule counts as written but that differs
/// between the runs is an error (the rule would compare garbage); visible bytes the rule
/// excludes but that were stable are counted in [`Compared::excluded_but_stable`].
/// Returns the counts, or the first difference.
pub fn compare_frames(
    info: &VideoInfo,
    frames: usize,
    ours: &[u8],
    theirs: &TwoRuns,
    last_chroma_written: bool,
) -> Result<Compared, String> {
    let expected = info.size() * frames;
    if ours.len() != expected || theirs.a.len() != expected || theirs.b.len() != expected {
        return Err(format!(
            "sizes differ: penstock {} bytes, GStreamer {} and {} bytes, {frames} frame(s) of {} expected",
            ours.len(),
            theirs.a.len(),
            theirs.b.len(),
            info.size()
        ));
    }
    let mut c = Compared::default();
    for p in 0..info.n_planes() {
        let row_bytes = info.plane_row_bytes(p);
        let written: Vec<bool> = (0..row_bytes)
            .map(|col| is_written(info, p, col, last_chroma_written))
            .collect();
        // Runs of written columns, compared a slice at a time.
        let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
        for (col, &w) in written.iter().enumerate() {
            match runs.last_mut() {
                Some(r) if w && r.end == col => r.end += 1,
                _ if w => runs.push(col..col + 1),
                _ => {}
            }
        }
        let excluded: Vec<usize> = (0..row_bytes).filter(|&col| !written[col]).collect();
        for n in 0..frames {
            let base = n * info.size();
            for r in 0..info.plane_height(p) as usize {
                let start = base + info.offset(p) + r * info.stride(p);
                // Unwritten bytes of the row and its padding, for the report.
                let padded = start..(start + info.stride(p)).min(base + info.size());
                if theirs.a[padded.clone()] != theirs.b[padded.clone()] {
                    c.unwritten += padded.filter(|&i| theirs.a[i] != theirs.b[i]).count();
                }
                let row = start..start + row_bytes;
                let (a, b, o) = (&theirs.a[row.clone()], &theirs.b[row.clone()], &ours[row]);
                for &col in &excluded {
                    c.excluded_but_stable += usize::from(a[col] == b[col]);
                }
                for run in &runs {
                    if a[run.clone()] == b[run.clone()] && a[run.clone()] == o[run.clone()] {
                        c.bytes += run.len();
                        continue;
                    }
                    for col in run.clone() {
                        let at = || format!("frame {n} plane {p} row {r} byte {col}");
                        if a[col] != b[col] {
                            return Err(format!(
                                "{}: GStreamer left it unwritten ({:#04x} / {:#04x} in its two runs)",
                                at(),
                                a[col],
                                b[col]
                            ));
                        }
                        if o[col] != a[col] {
                            return Err(format!(
                                "{}: penstock {:#04x}, GStreamer {:#04x}",
                                at(),
                                o[col],
                                a[col]
                            ));
                        }
                    }
                }
            }
        }
    }
    Ok(c)
}
