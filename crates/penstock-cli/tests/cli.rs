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
        (&["fakesrc", "num-buffers=abc", "!", "fakesink"], "column 8"),
        (
            &["fakesrc", "nosuch=1", "!", "fakesink"],
            "has no property 'nosuch'",
        ),
        (&["fakesrc", "!"], "dangling link"),
        (&["!", "fakesink"], "column 0"),
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
