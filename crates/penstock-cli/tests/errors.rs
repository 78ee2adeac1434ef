//! The `penstock` binary given bad input, or failing mid-stream: a non-zero exit and one
//! `ERROR` line naming the place, never a panic or a hang.
//!
//! Ctrl-C is not tested: the handler is installed after the pipeline is built, and a
//! test cannot tell from outside when that happened, so a SIGINT sent from here would
//! race it (killing the process instead of stopping the pipeline).

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

struct Out {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    wall: Duration,
}

/// Runs `penstock ARGS`, killing it (and failing) if it runs for more than 30 s.
fn penstock(args: &[&str]) -> Out {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_penstock"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run penstock");
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for penstock") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("penstock {args:?} still running after 30 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let wall = started.elapsed();
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    Out {
        status,
        stdout,
        stderr,
        wall,
    }
}

fn launch(args: &[&str]) -> Out {
    let mut all = vec!["launch", "-q"];
    all.extend_from_slice(args);
    penstock(&all)
}

/// A failure: exit status 1 (not a panic's 101), one line on stderr, starting `ERROR`
/// and containing every part of `expect`.
fn assert_one_error(o: &Out, args: &[&str], expect: &[&str]) {
    assert_eq!(
        o.status.code(),
        Some(1),
        "{args:?}: {:?}\n{}",
        o.status,
        o.stderr
    );
    let err = o.stderr.trim_end();
    assert_eq!(
        err.lines().count(),
        1,
        "{args:?}: one line expected:\n{err}"
    );
    assert!(err.starts_with("ERROR"), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    for part in expect {
        assert!(err.contains(part), "{args:?}: '{part}' missing: {err}");
    }
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("penstock-cli-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn a_write_error_mid_stream_exits_non_zero_naming_the_sink() {
    let stats = scratch("full.json");
    let stats_arg = stats.to_str().unwrap();
    let args = [
        "--stats-json",
        stats_arg,
        "videotestsrc",
        "num-buffers=10",
        "!",
        "filesink",
        "location=/dev/full",
    ];
    let o = launch(&args);
    assert_one_error(
        &o,
        &args,
        &["pipeline0/filesink0", "/dev/full", "No space left"],
    );
    assert!(o.stdout.is_empty(), "{}", o.stdout);
    // The statistics of the failed run are still written.
    let json = std::fs::read_to_string(&stats).expect("stats written on failure");
    assert!(json.contains("\"buffers\""), "{json}");
}

#[test]
fn a_timeout_stops_an_endless_pipeline_with_an_error() {
    for args in [
        &["--timeout", "0.5", "fakesrc", "!", "fakesink"][..],
        &["fakesrc", "!", "fakesink", "--timeout=0.5"][..],
    ] {
        let o = launch(args);
        assert_one_error(&o, args, &["no EOS after"]);
        assert!(
            o.wall >= Duration::from_millis(500),
            "{args:?}: stopped after {:?}",
            o.wall
        );
    }
}

#[test]
fn bad_timeouts_are_refused_without_a_panic() {
    for (value, expect) in [
        ("-1", "--timeout takes seconds"),
        ("nan", "--timeout takes seconds"),
        ("inf", "--timeout takes seconds"),
        ("1e300", "--timeout takes seconds"),
        ("soon", "--timeout takes seconds, not 'soon'"),
    ] {
        let args = ["fakesrc", "!", "fakesink", "--timeout", value];
        let o = launch(&args);
        assert_one_error(&o, &args, &[expect]);
    }
    let args = ["fakesrc", "num-buffers=1", "!", "fakesink", "--timeout"];
    assert_one_error(&launch(&args), &args, &["--timeout needs a value"]);
}

#[test]
fn state_change_failures_name_the_element() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["videotestsrc", "num-buffers=1", "!", "filesink"],
            &["pipeline0/filesink0", "No file name specified"],
        ),
        (
            &[
                "videotestsrc",
                "num-buffers=1",
                "!",
                "filesink",
                "location=/nonexistent/dir/out.raw",
            ],
            &["pipeline0/filesink0", "/nonexistent/dir/out.raw"],
        ),
    ];
    for (args, expect) in cases {
        assert_one_error(&launch(args), args, expect);
    }
}

#[test]
fn errors_at_the_end_of_the_stream_and_in_negotiation_name_the_element() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            // Frames of 8 bytes, parsed as 1920x1080 frames: not one whole frame.
            &[
                "videotestsrc",
                "num-buffers=1",
                "!",
                "video/x-raw,format=GRAY8,width=4,height=2",
                "!",
                "rawvideoparse",
                "!",
                "fakesink",
            ],
            &["pipeline0/rawvideoparse0"],
        ),
        (
            &["videotestsrc", "!", "video/x-raw,width=0", "!", "fakesink"],
            &[
                "pipeline0/videotestsrc0",
                "pipeline0/capsfilter0:sink",
                "field 'width'",
                "not negotiated",
            ],
        ),
    ];
    for (args, expect) in cases {
        assert_one_error(&launch(args), args, expect);
    }
}

#[test]
fn link_errors_name_the_element() {
    let args = [
        "fakesrc",
        "num-buffers=1",
        "!",
        "fakesink",
        "name=x",
        "fakesrc",
        "!",
        "x.",
    ];
    assert_one_error(
        &launch(&args),
        &args,
        &[
            "pipeline could not be constructed",
            "pipeline0/x",
            "no free sink pad",
        ],
    );
    let args = ["fakesrc", "!", "fakesink", "x.", "!", "fakesink"];
    let o = launch(&args);
    assert_eq!(o.status.code(), Some(1), "{}", o.stderr);
    assert!(o.stderr.starts_with("ERROR"), "{}", o.stderr);
}

#[test]
fn request_pads_named_in_any_order_link() {
    // `t.src_1` first used to make `src_0`, so that `t.src_0` then found it taken.
    let args = [
        "fakesrc",
        "num-buffers=3",
        "!",
        "tee",
        "name=t",
        "t.src_1",
        "!",
        "queue",
        "!",
        "fakesink",
        "t.src_0",
        "!",
        "queue",
        "!",
        "fakesink",
    ];
    let o = launch(&args);
    assert!(o.status.success(), "{args:?}: {}", o.stderr);
}

#[test]
fn inspect_videotestsrc_lists_its_pattern_nicks() {
    let o = penstock(&["inspect", "videotestsrc"]);
    assert!(o.status.success(), "{}", o.stderr);
    let out = &o.stdout;
    for line in [
        "(0): smpte",
        "(1): snow",
        "(2): black",
        "(3): white",
        "(7): checkers-1",
        "(12): blink",
        "(18): ball",
        "(20): bar",
    ] {
        assert!(out.contains(line), "'{line}' missing:\n{out}");
    }
    assert!(out.contains("pattern"), "{out}");
    assert!(out.contains("Default: 0, \"smpte\""), "{out}");
    assert!(out.contains("num-buffers"), "{out}");
    assert!(out.contains("SRC template: 'src'"), "{out}");
    assert!(out.contains("video/x-raw"), "{out}");
    // Unsupported patterns are not offered.
    assert!(!out.contains("circular"), "{out}");

    let o = penstock(&["inspect", "videotestsr"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        o.stderr.contains("did you mean \"videotestsrc\""),
        "{}",
        o.stderr
    );
}

#[test]
fn an_element_error_names_its_element_once() {
    // The framework adds the element's path to what the element says; an element that
    // added it too made "pipeline0/videotestsrc0: pipeline0/videotestsrc0: ...".
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "videotestsrc",
                "num-buffers=1",
                "!",
                "video/x-raw,format=NV12,width=64,height=64,colorimetry=bogus",
                "!",
                "fakesink",
            ],
            "pipeline0/videotestsrc0",
        ),
        (
            &[
                "filesrc",
                "location=/dev/null",
                "!",
                "rawvideoparse",
                "format=nv12",
                "width=0",
                "!",
                "fakesink",
            ],
            "pipeline0/rawvideoparse0",
        ),
    ];
    for (args, path) in cases {
        let o = launch(args);
        assert_one_error(&o, args, &[path]);
        assert_eq!(o.stderr.matches(path).count(), 1, "{args:?}: {}", o.stderr);
    }
}
