//! The `penstock` binary, run as a user runs it.

use std::process::{Command, Output};

fn penstock(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_penstock"))
        .args(args)
        .output()
        .expect("run penstock")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stats(args: &[&str]) -> String {
    let dir = std::env::temp_dir().join(format!(
        "penstock-cli-{}-{}",
        std::process::id(),
        args.len()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("stats-{}.json", args.join("_").len()));
    let mut all: Vec<&str> = vec!["launch", "-q", "--stats-json", path.to_str().unwrap()];
    all.extend_from_slice(args);
    let o = penstock(&all);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::read_to_string(&path).unwrap()
}

/// The value after `"key": ` in the stats JSON (first occurrence).
fn field(json: &str, key: &str) -> String {
    let start = json
        .find(&format!("\"{key}\": "))
        .unwrap_or_else(|| panic!("no {key} in {json}"))
        + key.len()
        + 4;
    json[start..]
        .split([',', '\n'])
        .next()
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn launch_reports_buffers_and_no_copies() {
    let json = stats(&[
        "fakesrc",
        "num-buffers=1000",
        "!",
        "identity",
        "!",
        "fakesink",
    ]);
    assert_eq!(field(&json, "buffers"), "1000");
    assert_eq!(field(&json, "count"), "0", "copies: {json}");
    for key in [
        "wall_seconds",
        "copies",
        "by_reason",
        "by_element",
        "allocations",
        "bytes",
    ] {
        assert!(
            json.contains(&format!("\"{key}\"")),
            "{key} missing: {json}"
        );
    }
}

#[test]
fn options_may_follow_the_pipeline() {
    let dir = std::env::temp_dir().join(format!("penstock-cli-after-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("s.json");
    let o = penstock(&[
        "launch",
        "fakesrc",
        "num-buffers=5",
        "!",
        "fakesink",
        "--stats-json",
        path.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        field(&std::fs::read_to_string(&path).unwrap(), "buffers"),
        "5"
    );
    assert!(o.stdout.is_empty(), "-q prints no summary");
}

#[test]
fn summary_names_sinks_and_copies() {
    let o = penstock(&[
        "launch",
        "fakesrc",
        "num-buffers=10",
        "!",
        "tee",
        "name=t",
        "t.",
        "!",
        "queue",
        "!",
        "fakesink",
        "t.",
        "!",
        "queue",
        "!",
        "fakesink",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("fakesink0") && out.contains("fakesink1"),
        "{out}"
    );
    assert!(out.contains("copies: 0"), "{out}");
}

#[test]
fn bad_pipelines_fail_with_one_line_naming_the_place() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["fakesrc", "!", "fakesnk"],
            "no element \"fakesnk\" (did you mean \"fakesink\"?)",
        ),
        (&["fakesrc", "num-buffers=abc", "!", "fakesink"], "column 9"),
        (
            &["fakesrc", "nosuch=1", "!", "fakesink"],
            "has no property 'nosuch'",
        ),
        (&["fakesrc", "!"], "dangling link"),
        (&["!", "fakesink"], "column 1,"),
        (
            &["fakesrc", "location=\"x", "!", "fakesink"],
            "never closed",
        ),
        (
            &["queue", "leaky=sideways"],
            "one of no (0), upstream (1), downstream (2)",
        ),
        (&["x.", "!", "fakesink"], "x"),
        (
            &["filesrc", "location=/nonexistent/file", "!", "fakesink"],
            "pipeline0/filesrc0",
        ),
    ];
    for (args, expect) in cases {
        let mut all = vec!["launch"];
        all.extend_from_slice(args);
        let o = penstock(&all);
        let err = stderr(&o);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: one line expected: {err}"
        );
        assert!(err.starts_with("ERROR"), "{err}");
    }
}

#[test]
fn inspect_lists_and_describes_elements() {
    let o = penstock(&["inspect"]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    for e in [
        "fakesrc",
        "fakesink",
        "identity",
        "queue",
        "tee",
        "capsfilter",
        "filesrc",
        "filesink",
        "rawvideoparse",
        "checksumsink",
    ] {
        assert!(out.contains(&format!("{e}:")), "{e} missing from {out}");
    }
    let o = penstock(&["inspect", "queue"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("max-size-buffers") && out.contains("Default: 200"),
        "{out}"
    );
    assert!(out.contains("(2): downstream"), "{out}");
    assert!(out.contains("SINK template: 'sink'"), "{out}");
    let o = penstock(&["inspect", "nosuchelement"]);
    assert!(!o.status.success());
}

/// The allocation count of a stats file (the `"allocations": {"count": N` entry).
fn allocations(json: &str) -> u64 {
    let at = json.find("\"allocations\"").expect("allocations key");
    field(&json[at..], "count").parse().unwrap()
}

#[test]
fn tee_of_1080p_frames_copies_nothing_and_stops_allocating_after_warm_up() {
    let pipeline = [
        "videotestsrc",
        "num-buffers=600",
        "!",
        "video/x-raw,format=NV12,width=1920,height=1080",
        "!",
        "tee",
        "name=t",
        "t.",
        "!",
        "queue",
        "!",
        "fakesink",
        "t.",
        "!",
        "queue",
        "!",
        "fakesink",
    ];
    let json = stats(&pipeline);
    assert_eq!(field(&json, "buffers"), "1200", "{json}");
    assert_eq!(field(&json, "count"), "0", "copies: {json}");
    // Only the pool's warm-up allocates: the two queues hold at most 3 frames each
    // (10 MB limit), so the pool never needs more than a handful of frames, whatever
    // the number of buffers.
    let n = allocations(&json);
    assert!(
        (1..=10).contains(&n),
        "{n} allocations for 600 frames: {json}"
    );
}

#[test]
fn raw_file_to_frames_copies_and_allocates_nothing() {
    let dir = std::env::temp_dir().join(format!("penstock-cli-raw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("frames.nv12");
    let frame = 1920 * 1080 * 3 / 2;
    let bytes: Vec<u8> = (0..frame * 5).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&file, &bytes).unwrap();
    let location = format!("location={}", file.display());
    let json = stats(&[
        "filesrc",
        &location,
        "!",
        "rawvideoparse",
        "format=nv12",
        "width=1920",
        "height=1080",
        "!",
        "fakesink",
    ]);
    assert_eq!(field(&json, "buffers"), "5", "{json}");
    assert_eq!(field(&json, "count"), "0", "copies: {json}");
    assert_eq!(allocations(&json), 0, "{json}");
}

#[test]
fn impossible_caps_name_both_sides_and_the_field() {
    let o = penstock(&[
        "launch",
        "videotestsrc",
        "num-buffers=1",
        "!",
        "video/x-raw,format=NV12",
        "!",
        "capsfilter",
        "caps=video/x-raw,format=I420",
        "!",
        "fakesink",
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("videotestsrc0:src"), "{err}");
    assert!(err.contains("capsfilter0:sink"), "{err}");
    assert!(err.contains("field 'format': NV12 vs I420"), "{err}");
    assert!(err.contains("not negotiated"), "{err}");
}
