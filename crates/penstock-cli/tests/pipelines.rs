//! `penstock launch` on pipelines that cannot work: caps asking for frames too large
//! to allocate, pipelines with nowhere for data to go, and very deep pipelines. Each
//! fails at once with one `ERROR` line (or, for deep ones, runs), never growing to the
//! OOM killer, exiting 0 having done nothing, or aborting.

use std::process::{Command, Output};

fn launch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_penstock"))
        .arg("launch")
        .args(args)
        .env_remove("PENSTOCK_MAX_FRAME_SIZE")
        .env_remove("PENSTOCK_MAX_POOL_SIZE")
        .output()
        .expect("run penstock")
}

/// Exit status 1 and one `ERROR` line on stderr containing every part of `expect`.
fn assert_error(o: &Output, what: &str, expect: &[&str]) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{what}: {:?}\n{err}", o.status);
    let err = err.trim_end();
    assert_eq!(err.lines().count(), 1, "{what}: one line expected:\n{err}");
    assert!(err.starts_with("ERROR"), "{what}: {err}");
    for part in expect {
        assert!(err.contains(part), "{what}: '{part}' missing: {err}");
    }
}

#[test]
fn frames_too_large_fail_at_negotiation_naming_size_bound_and_override() {
    for (caps, size) in [
        (
            "video/x-raw,width=100000,height=100000",
            "15000000000 bytes",
        ),
        (
            "video/x-raw,format=RGBA,width=40000,height=40000",
            "6400000000 bytes",
        ),
        (
            "video/x-raw,format=NV12,width=65536,height=32768",
            "3221225472 bytes",
        ),
    ] {
        let o = launch(&["videotestsrc", "num-buffers=3", "!", caps, "!", "fakesink"]);
        assert_error(
            &o,
            caps,
            &[
                size,
                "maximum frame size of 1073741824 bytes",
                "PENSTOCK_MAX_FRAME_SIZE",
            ],
        );
    }
    // The bound is the environment's when set: lowered here, so a default frame fails,
    let o = Command::new(env!("CARGO_BIN_EXE_penstock"))
        .args(["launch", "videotestsrc", "num-buffers=1", "!", "fakesink"])
        .env("PENSTOCK_MAX_FRAME_SIZE", "64K")
        .output()
        .unwrap();
    assert_error(&o, "64K bound", &["115200 bytes", "65536 bytes"]);
    // and a bound that is not a size says so.
    let o = Command::new(env!("CARGO_BIN_EXE_penstock"))
        .args(["launch", "videotestsrc", "num-buffers=1", "!", "fakesink"])
        .env("PENSTOCK_MAX_FRAME_SIZE", "lots")
        .output()
        .unwrap();
    assert_error(
        &o,
        "bad bound",
        &["PENSTOCK_MAX_FRAME_SIZE=\"lots\" is not a size"],
    );
}

#[test]
fn pipelines_that_cannot_do_anything_fail_naming_the_pad() {
    for (line, expect) in [
        (
            "videotestsrc num-buffers=3",
            "pad pipeline0/videotestsrc0:src is not linked",
        ),
        (
            "videotestsrc ! identity",
            "pad pipeline0/identity0:src is not linked",
        ),
        (
            "videotestsrc num-buffers=3 fakesink",
            "pad pipeline0/videotestsrc0:src is not linked",
        ),
        (
            "identity name=a ! identity name=b ! a.",
            "cycle: pipeline0/a:src -> pipeline0/b:src",
        ),
    ] {
        let args: Vec<&str> = line.split(' ').collect();
        assert_error(&launch(&args), line, &[expect]);
    }
}

#[test]
fn a_pipeline_thousands_of_identities_deep_runs() {
    let mut args = vec!["videotestsrc", "num-buffers=3"];
    for _ in 0..4000 {
        args.extend(["!", "identity"]);
    }
    args.extend(["!", "fakesink"]);
    let o = launch(&args);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{:?}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().take(2).eq(["fakesink0", "3"])),
        "{out}"
    );
}
