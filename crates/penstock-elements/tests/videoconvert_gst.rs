//! Parity of penstock's video conversion with GStreamer 1.22's `videoconvert`.
//!
//! For every input format, one `gst-launch-1.0` process renders a test pattern, writes
//! it raw and converts it to the 16 other formats (a `tee` with 17 branches). penstock
//! converts the same raw input, and every visible sample of every component must be
//! within ±1 of GStreamer's. Without `gst-launch-1.0` the test says so and passes,
//! unless `PENSTOCK_REQUIRE_GST=1`.
//!
//! `PENSTOCK_PARITY_TABLE=path` writes the largest difference per pair and size there
//! (the table in `docs/videoconvert.md`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use penstock_video::convert::{Converter, planes, planes_mut};
use penstock_video::{VideoFormat, VideoInfo};

/// Largest difference per (input index, output index, size).
type MaxDiffs = BTreeMap<(usize, usize, (u32, u32)), u8>;

/// SD sizes (BT.601, centred chroma), odd ones included, and one above 576 rows
/// (BT.709, horizontally co-sited chroma).
const SIZES: [(u32, u32); 3] = [(64, 48), (33, 17), (18, 721)];
/// Patterns and extra videotestsrc properties: colour bars, every colour, a luma-only
/// checkerboard, and a half-transparent solid colour (alpha handling).
const PATTERNS: [(&str, &str); 4] = [
    ("smpte", ""),
    ("colors", ""),
    ("checkers-1", ""),
    ("solid-color", "foreground-color=0x80c04020"),
];
const TOLERANCE: u8 = 1;

fn gst_available() -> bool {
    Command::new("gst-launch-1.0")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether `gst-launch-1.0` is there to compare with. Without it the test says so and
/// passes, unless `PENSTOCK_REQUIRE_GST=1` (CI), where it fails.
fn gst_or_say_why() -> bool {
    if gst_available() {
        return true;
    }
    if std::env::var("PENSTOCK_REQUIRE_GST").is_ok_and(|v| v == "1") {
        panic!("gst-parity: gst-launch-1.0 is required (PENSTOCK_REQUIRE_GST=1) but not installed");
    }
    println!("gst-parity: not run (gst-launch-1.0 not installed)");
    false
}

fn work_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("penstock-videoconvert-gst-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// One gst-launch run: input format `from`, every other format out.
fn run_gst(
    dir: &Path,
    (pattern, extra): (&str, &str),
    from: VideoFormat,
    w: u32,
    h: u32,
) -> PathBuf {
    let sub = dir.join(format!("{pattern}-{w}x{h}-{}", from.name()));
    std::fs::create_dir_all(&sub).expect("dir");
    let mut args: Vec<String> = vec![
        "-q".into(),
        "videotestsrc".into(),
        "num-buffers=1".into(),
        format!("pattern={pattern}"),
    ];
    args.extend(extra.split_whitespace().map(str::to_owned));
    args.extend([
        "!".to_owned(),
        format!(
            "video/x-raw,format={},width={w},height={h},framerate=30/1",
            from.name()
        ),
        "!".into(),
        "tee".into(),
        "name=t".into(),
        "t.".into(),
        "!".into(),
        "queue".into(),
        "!".into(),
        "filesink".into(),
        format!("location={}", sub.join("in.raw").display()),
    ]);
    for to in VideoFormat::ALL.into_iter().filter(|&f| f != from) {
        for a in [
            "t.".to_owned(),
            "!".into(),
            "queue".into(),
            "!".into(),
            "videoconvert".into(),
            "!".into(),
            format!("video/x-raw,format={}", to.name()),
            "!".into(),
            "filesink".into(),
            format!(
                "location={}",
                sub.join(format!("{}.raw", to.name())).display()
            ),
        ] {
            args.push(a);
        }
    }
    let out = Command::new("gst-launch-1.0")
        .args(&args)
        .output()
        .expect("run gst-launch-1.0");
    assert!(
        out.status.success(),
        "gst-launch-1.0 {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    sub
}

/// Visible samples of each component of a default-layout frame, and for RGBx-style
/// formats the unused byte as a last component.
fn components(info: &VideoInfo, data: &[u8]) -> Vec<Vec<u8>> {
    let f = info.format();
    let mut comps: Vec<Vec<u8>> = (0..f.n_components())
        .map(|c| {
            let p = f.component_plane(c);
            let (off, ps) = (f.component_offset(c), f.pixel_stride(c));
            let mut v = Vec::new();
            for r in 0..info.comp_height(c) as usize {
                for x in 0..info.comp_width(c) as usize {
                    v.push(data[info.offset(p) + r * info.stride(p) + off + x * ps]);
                }
            }
            v
        })
        .collect();
    if f.is_rgb() && !f.has_alpha() && f.pixel_stride(0) == 4 {
        let used: Vec<usize> = (0..3).map(|c| f.component_offset(c)).collect();
        let pad = (0..4).find(|o| !used.contains(o)).unwrap_or(3);
        let mut v = Vec::new();
        for r in 0..info.height() as usize {
            for x in 0..info.width() as usize {
                v.push(data[r * info.stride(0) + pad + 4 * x]);
            }
        }
        comps.push(v);
    }
    comps
}

fn penstock_convert(input: &VideoInfo, data: &[u8], to: VideoFormat) -> (VideoInfo, Vec<u8>) {
    let out = VideoInfo::new(to, input.width(), input.height()).expect("info");
    let mut buf = vec![0u8; out.size()];
    let mut conv = Converter::new(input, &out).expect("converter");
    let src = planes(data, input).expect("planes");
    let mut dst = planes_mut(&mut buf, &out).expect("planes");
    conv.convert(&src, &mut dst).expect("convert");
    (out, buf)
}

#[test]
fn videoconvert_matches_gstreamer_for_every_pair() {
    if !gst_or_say_why() {
        return;
    }
    let started = Instant::now();
    let dir = work_dir();
    let mut jobs = Vec::new();
    for pattern in PATTERNS {
        for (w, h) in SIZES {
            for from in VideoFormat::ALL {
                jobs.push((pattern, w, h, from));
            }
        }
    }
    // Several gst-launch processes at once: each mostly waits on its own start-up.
    let queue = Mutex::new(jobs);
    // (from, to, size) -> largest difference; failures as messages.
    let results: Mutex<MaxDiffs> = Mutex::new(BTreeMap::new());
    let failures = Mutex::new(Vec::<String>::new());
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(2)
        * 2;
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let Some((pattern, w, h, from)) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let sub = run_gst(&dir, pattern, from, w, h);
                    let pattern = pattern.0;
                    let input = VideoInfo::new(from, w, h).unwrap();
                    let data = std::fs::read(sub.join("in.raw")).expect("input frame");
                    assert_eq!(data.len(), input.size(), "{from} {w}x{h} input size");
                    for to in VideoFormat::ALL.into_iter().filter(|&f| f != from) {
                        let gst = std::fs::read(sub.join(format!("{}.raw", to.name())))
                            .expect("gst frame");
                        let (info, ours) = penstock_convert(&input, &data, to);
                        assert_eq!(gst.len(), info.size(), "{from}->{to} {w}x{h} output size");
                        let (a, b) = (components(&info, &gst), components(&info, &ours));
                        let mut max = 0u8;
                        let mut first = None;
                        for (c, (ga, pb)) in a.iter().zip(&b).enumerate() {
                            for (i, (x, y)) in ga.iter().zip(pb).enumerate() {
                                let d = x.abs_diff(*y);
                                max = max.max(d);
                                if d > TOLERANCE && first.is_none() {
                                    // The unused byte of RGBx-style formats comes last.
                                    let cw = if c < to.n_components() {
                                        info.comp_width(c)
                                    } else {
                                        info.width()
                                    } as usize;
                                    first = Some(format!(
                                        "comp {c} at ({}, {}): gst {x}, penstock {y}",
                                        i % cw,
                                        i / cw
                                    ));
                                }
                            }
                        }
                        if let Some(first) = first {
                            failures.lock().unwrap().push(format!(
                                "{pattern} {w}x{h} {from}->{to}: max diff {max}, first {first}"
                            ));
                        }
                        let key = (index(from), index(to), (w, h));
                        let mut r = results.lock().unwrap();
                        let e = r.entry(key).or_insert(0);
                        *e = (*e).max(max);
                    }
                }
            });
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
    let results = results.into_inner().unwrap();
    if let Ok(path) = std::env::var("PENSTOCK_PARITY_TABLE") {
        std::fs::write(&path, table(&results)).expect("write table");
    }
    let failures = failures.into_inner().unwrap();
    let exact = results.values().filter(|&&d| d == 0).count();
    println!(
        "gst-parity: {} pair/size combinations, {} exact, max diff {}, {:.1} s",
        results.len(),
        exact,
        results.values().max().copied().unwrap_or(0),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(results.len(), 17 * 16 * SIZES.len());
    assert!(
        failures.is_empty(),
        "{} samples off by more than {TOLERANCE}:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn index(f: VideoFormat) -> usize {
    VideoFormat::ALL.iter().position(|&g| g == f).unwrap_or(0)
}

/// A Markdown table: rows = input, columns = output, cells = max diff at each size.
fn table(results: &MaxDiffs) -> String {
    let mut s = String::from("| in \\ out |");
    for f in VideoFormat::ALL {
        s += &format!(" {} |", f.name());
    }
    s += "\n|---|";
    for _ in VideoFormat::ALL {
        s += "---|";
    }
    s += "\n";
    for (i, fi) in VideoFormat::ALL.iter().enumerate() {
        s += &format!("| **{}** |", fi.name());
        for j in 0..VideoFormat::ALL.len() {
            if i == j {
                s += " = |";
                continue;
            }
            let cells: Vec<String> = SIZES
                .iter()
                .map(|&sz| {
                    results
                        .get(&(i, j, sz))
                        .map_or("-".into(), |d| d.to_string())
                })
                .collect();
            s += &format!(" {} |", cells.join("/"));
        }
        s += "\n";
    }
    s
}

/// Conversions whose caps carry a `colorimetry`: (input format, its extra caps fields,
/// output format, its extra caps fields, size). GStreamer converts with what the caps
/// say; so must penstock.
/// Input format and caps fields, output format and caps fields, size.
type ColorimetryCase = (
    VideoFormat,
    &'static str,
    VideoFormat,
    &'static str,
    (u32, u32),
);

const COLORIMETRY_CASES: [ColorimetryCase; 11] = {
    use VideoFormat::*;
    [
        (I420, "colorimetry=bt709", Rgba, "", (64, 48)),
        (Nv12, "colorimetry=bt709", Bgrx, "", (33, 17)),
        (I420, "colorimetry=bt601", Rgba, "", (18, 721)),
        (Yuy2, "colorimetry=bt2020", Argb, "", (64, 48)),
        (I420, "colorimetry=1:4:0:0", Rgba, "", (64, 48)),
        (Rgba, "", I420, "colorimetry=bt709", (64, 48)),
        (Bgra, "", Nv12, "colorimetry=1:3:0:0", (33, 17)),
        (
            I420,
            "colorimetry=bt709",
            I420,
            "colorimetry=bt601",
            (64, 48),
        ),
        (I420, "colorimetry=smpte240m", Rgbx, "", (64, 48)),
        (Yuy2, "colorimetry=bt709", Gray8, "", (64, 48)),
        (Uyvy, "colorimetry=bt2020", Bgr, "", (33, 17)),
    ]
};

/// The value of `field=value` in a caps fields string like `colorimetry=bt709`.
fn field<'a>(fields: &'a str, name: &str) -> Option<&'a str> {
    fields
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[test]
fn videoconvert_follows_colorimetry_like_gstreamer() {
    use penstock_video::Colorimetry;
    if !gst_or_say_why() {
        return;
    }
    let dir = work_dir().join("colorimetry");
    std::fs::create_dir_all(&dir).expect("dir");
    let mut failures = Vec::new();
    for (n, (from, fin, to, fout, (w, h))) in COLORIMETRY_CASES.into_iter().enumerate() {
        let (raw_in, raw_out) = (
            dir.join(format!("{n}-in.raw")),
            dir.join(format!("{n}-out.raw")),
        );
        let sep = |f: &str| {
            if f.is_empty() {
                String::new()
            } else {
                format!(",{f}")
            }
        };
        let line = format!(
            "videotestsrc num-buffers=1 pattern=smpte ! video/x-raw,format={},width={w},height={h},framerate=30/1{} \
             ! tee name=t t. ! queue ! filesink location={} \
             t. ! queue ! videoconvert ! video/x-raw,format={}{} ! filesink location={}",
            from.name(),
            sep(fin),
            raw_in.display(),
            to.name(),
            sep(fout),
            raw_out.display()
        );
        let out = Command::new("gst-launch-1.0")
            .arg("-q")
            .args(line.split_whitespace())
            .output()
            .expect("run gst-launch-1.0");
        assert!(
            out.status.success(),
            "gst-launch-1.0 {line} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let input = VideoInfo::new(from, w, h).unwrap();
        let output = VideoInfo::new(to, w, h).unwrap();
        let data = std::fs::read(&raw_in).expect("input frame");
        let gst = std::fs::read(&raw_out).expect("gst frame");
        assert_eq!(
            (data.len(), gst.len()),
            (input.size(), output.size()),
            "case {n}"
        );
        let caps_colorimetry = |f, fields| {
            Colorimetry::from_caps_fields(
                f,
                h,
                field(fields, "colorimetry"),
                field(fields, "chroma-site"),
            )
        };
        let ci = caps_colorimetry(from, fin).expect("input colorimetry");
        let co = caps_colorimetry(to, fout).expect("output colorimetry");
        let mut ours = vec![0u8; output.size()];
        let mut conv = Converter::new(
            &input.clone().with_colorimetry(ci),
            &output.clone().with_colorimetry(co),
        )
        .expect("converter");
        conv.convert(
            &planes(&data, &input).unwrap(),
            &mut planes_mut(&mut ours, &output).unwrap(),
        )
        .expect("convert");
        let (a, b) = (components(&output, &gst), components(&output, &ours));
        let max = a
            .iter()
            .zip(&b)
            .flat_map(|(x, y)| x.iter().zip(y).map(|(p, q)| p.abs_diff(*q)))
            .max()
            .unwrap_or(0);
        // The same conversion with the default colorimetry differs: the caps mattered.
        let mut default = vec![0u8; output.size()];
        Converter::new(&input, &output)
            .unwrap()
            .convert(
                &planes(&data, &input).unwrap(),
                &mut planes_mut(&mut default, &output).unwrap(),
            )
            .unwrap();
        let mattered = components(&output, &default) != b;
        println!(
            "gst-parity colorimetry {n}: {from}[{fin}] -> {to}[{fout}] {w}x{h}: max diff {max}, differs from default: {mattered}"
        );
        if max > TOLERANCE || !mattered {
            failures.push(format!(
                "{from}[{fin}] -> {to}[{fout}] {w}x{h}: max diff {max}, differs from default: {mattered}"
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
