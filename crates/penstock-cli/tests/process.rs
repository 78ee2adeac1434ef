//! The `penstock` binary as a Unix process: stdout closed by its reader or full, Ctrl-C
//! while blocked, an input truncated while read, pipes in and out, gst-launch's
//! options. Every run is bounded: a hang fails the test instead of hanging it.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_penstock"))
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("penstock-process-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Waits for `child` at most `limit`; kills it and fails if it is still running.
fn wait(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn read_all(r: Option<impl Read>) -> String {
    let mut s = String::new();
    if let Some(mut r) = r {
        r.read_to_string(&mut s).unwrap();
    }
    s
}

/// A stdout whose reader is already gone: every write fails with EPIPE.
fn pipe() -> (File, File) {
    let (r, w) = rustix::pipe::pipe().unwrap();
    (File::from(r), File::from(w))
}

fn closed_pipe() -> Stdio {
    let (r, w) = pipe();
    drop(r);
    Stdio::from(w)
}

fn dev_full() -> Stdio {
    Stdio::from(File::options().write(true).open("/dev/full").unwrap())
}

/// Waits until the process has installed its SIGINT handler (its `SigCgt` mask has
/// SIGINT), so that a SIGINT sent now reaches the handler and not the default action.
fn wait_for_sigint_handler(child: &Child) {
    let start = Instant::now();
    loop {
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
        let caught = status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
            .unwrap();
        if caught & (1 << (2 - 1)) != 0 {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no SIGINT handler"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn sigint(child: &Child) {
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -INT");
}

/// Every print path of the CLI: endless pipelines that print per buffer, the summary,
/// JSON, inspect and probe.
const PRINTERS: &[&[&str]] = &[
    &["launch", "videotestsrc", "!", "checksumsink"],
    &[
        "launch",
        "videotestsrc",
        "num-buffers=50",
        "!",
        "checksumsink",
    ],
    &[
        "launch",
        "-v",
        "videotestsrc",
        "!",
        "fakesink",
        "silent=false",
    ],
    &["launch", "-m", "videotestsrc", "!", "fakesink"],
    &["launch", "videotestsrc", "!", "fdsink"],
    &[
        "launch",
        "videotestsrc",
        "!",
        "filesink",
        "location=/dev/stdout",
    ],
    &["launch", "videotestsrc", "num-buffers=3", "!", "fakesink"],
    &[
        "launch",
        "-q",
        "videotestsrc",
        "num-buffers=3",
        "!",
        "fakesink",
        "--stats-json",
        "-",
    ],
    &["inspect"],
    &["inspect", "fakesink"],
    &["probe"],
    &["probe", "--json"],
    &["--help"],
    &["launch", "--help"],
    &["--version"],
];

#[test]
fn a_stdout_closed_by_its_reader_stops_quietly() {
    for args in PRINTERS {
        let mut child = bin()
            .args(*args)
            .stdin(Stdio::null())
            .stdout(closed_pipe())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let status = wait(&mut child, Duration::from_secs(20), &format!("{args:?}"));
        let err = read_all(child.stderr.take());
        assert!(status.success(), "{args:?}: {status}: {err}");
        assert!(err.is_empty(), "{args:?}: nothing on stderr: {err}");
    }
}

#[test]
fn head_dash_1_ends_an_endless_checksum_pipeline() {
    let mut child = bin()
        .args(["launch", "videotestsrc", "!", "checksumsink"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // The reader is dropped here, as `head -1` exits.
    assert!(line.starts_with("0:00:00.000000000 "), "{line}");
    let status = wait(&mut child, Duration::from_secs(10), "| head -1");
    let err = read_all(child.stderr.take());
    assert!(status.success(), "{status}: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_full_stdout_is_one_clear_error() {
    for args in PRINTERS {
        let mut child = bin()
            .args(*args)
            .stdin(Stdio::null())
            .stdout(dev_full())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let status = wait(&mut child, Duration::from_secs(20), &format!("{args:?}"));
        let err = read_all(child.stderr.take());
        assert_eq!(status.code(), Some(1), "{args:?}: {err}");
        assert!(err.starts_with("ERROR"), "{args:?}: {err}");
        assert!(
            err.to_lowercase().contains("no space left"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn ctrl_c_while_blocked_on_a_fifo_stdin_or_a_full_pipe_exits_promptly() {
    let fifo = temp("fifo");
    let _ = std::fs::remove_file(&fifo);
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let location = format!("location={}", fifo.display());
    // A FIFO nobody opens for writing, stdin nobody writes to, stdout nobody reads.
    let (stdin_r, stdin_w) = pipe();
    let (stdout_r, stdout_w) = pipe();
    let cases: Vec<(&str, Vec<&str>, Stdio, Stdio)> = vec![
        (
            "filesrc on a FIFO without a writer",
            vec!["launch", "filesrc", &location, "!", "fakesink"],
            Stdio::null(),
            Stdio::null(),
        ),
        (
            "fdsrc on a silent stdin",
            vec!["launch", "fdsrc", "!", "fakesink"],
            Stdio::from(stdin_r),
            Stdio::null(),
        ),
        (
            "fdsink on a stdout nobody reads",
            vec!["launch", "-q", "videotestsrc", "!", "fdsink"],
            Stdio::null(),
            Stdio::from(stdout_w),
        ),
    ];
    for (what, args, stdin, stdout) in cases {
        let mut child = bin()
            .args(&args)
            .stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for_sigint_handler(&child);
        // Let it get to the blocking point.
        std::thread::sleep(Duration::from_millis(500));
        assert!(child.try_wait().unwrap().is_none(), "{what}: ended early");
        let sent = Instant::now();
        sigint(&child);
        let status = wait(&mut child, Duration::from_secs(5), what);
        let err = read_all(child.stderr.take());
        assert!(status.success(), "{what}: {status}: {err}");
        assert!(
            sent.elapsed() < Duration::from_secs(3),
            "{what}: took {:?}",
            sent.elapsed()
        );
    }
    drop((stdin_w, stdout_r));

    // A state change blocked in the kernel (filesink opening a FIFO nobody reads): the
    // first Ctrl-C cannot reach the run loop; the second ends the process at once.
    let mut child = bin()
        .args(["launch", "videotestsrc", "!", "filesink", &location])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_sigint_handler(&child);
    std::thread::sleep(Duration::from_millis(500));
    sigint(&child);
    std::thread::sleep(Duration::from_millis(200));
    let sent = Instant::now();
    sigint(&child);
    let status = wait(&mut child, Duration::from_secs(5), "filesink on a FIFO");
    let err = read_all(child.stderr.take());
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("exiting now"), "{err}");
    assert!(sent.elapsed() < Duration::from_secs(3));
    let _ = std::fs::remove_file(&fifo);
}

#[test]
fn fdsrc_and_fdsink_round_trip_through_pipes_and_filesrc_reads_a_fifo() {
    let data: Vec<u8> = (0..1_000_003u32).map(|i| (i * 31 % 253) as u8).collect();
    // stdin → fdsrc ! queue ! fdsink → stdout.
    let mut child = bin()
        .args(["launch", "-q", "fdsrc", "!", "queue", "!", "fdsink"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = data.clone();
    let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    writer.join().unwrap();
    let status = wait(&mut child, Duration::from_secs(20), "fdsrc ! fdsink");
    assert!(status.success(), "{}", read_all(child.stderr.take()));
    assert!(out == data, "{} bytes out of {}", out.len(), data.len());

    // A FIFO, written while filesrc streams it, 7-byte blocks.
    let fifo = temp("fifo-data");
    let _ = std::fs::remove_file(&fifo);
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let location = format!("location={}", fifo.display());
    let mut child = bin()
        .args([
            "launch",
            "-q",
            "filesrc",
            &location,
            "blocksize=7",
            "!",
            "fdsink",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (path, input) = (fifo.clone(), data.clone());
    let writer = std::thread::spawn(move || {
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .write_all(&input)
            .unwrap();
    });
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    writer.join().unwrap();
    let status = wait(&mut child, Duration::from_secs(20), "filesrc on a FIFO");
    assert!(status.success(), "{}", read_all(child.stderr.take()));
    assert!(out == data, "{} bytes out of {}", out.len(), data.len());
    let _ = std::fs::remove_file(&fifo);
}

#[test]
fn a_file_truncated_while_read_ends_with_an_error_naming_it() {
    let path = temp("shrinking.gray");
    // 96 MiB: the first chunk (32 MiB) is read before the truncation, the next is not.
    {
        let mut f = File::create(&path).unwrap();
        let block = vec![0x55u8; 1 << 20];
        for _ in 0..96 {
            f.write_all(&block).unwrap();
        }
    }
    let location = format!("location={}", path.display());
    let mut child = bin()
        .args([
            "launch",
            "-q",
            "filesrc",
            &location,
            "!",
            "rawvideoparse",
            "format=gray8",
            "width=64",
            "height=64",
            "!",
            "checksumsink",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    let drain = std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let status = wait(&mut child, Duration::from_secs(60), "truncated input");
    drain.join().unwrap().unwrap();
    let err = read_all(child.stderr.take());
    assert_eq!(
        status.code(),
        Some(1),
        "not killed by a signal: {status}: {err}"
    );
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("truncated"), "{err}");
    let _ = std::fs::remove_file(&path);
}

fn run(args: &[&str]) -> (ExitStatus, String, String) {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = std::thread::scope(|s| {
        let o = s.spawn(|| read_all(child.stdout.take()));
        let e = read_all(child.stderr.take());
        (o.join().unwrap(), e)
    });
    let status = wait(&mut child, Duration::from_secs(30), &format!("{args:?}"));
    (status, out.0, out.1)
}

#[test]
fn gst_launch_options_mean_what_they_mean_to_gst_launch() {
    // -v: the caps of every link, in gst-launch's form; last-message of fakesink.
    let (status, out, err) = run(&[
        "launch",
        "-v",
        "videotestsrc",
        "num-buffers=2",
        "!",
        "video/x-raw,format=GRAY8,width=16,height=16",
        "!",
        "fakesink",
        "silent=false",
    ]);
    assert!(status.success(), "{err}");
    let caps = "caps = video/x-raw, format=(string)GRAY8, width=(int)16, height=(int)16";
    for pad in [
        "/GstPipeline:pipeline0/GstVideoTestSrc:videotestsrc0.GstPad:src: ",
        "/GstPipeline:pipeline0/GstCapsFilter:capsfilter0.GstPad:sink: ",
        "/GstPipeline:pipeline0/GstFakeSink:fakesink0.GstPad:sink: ",
    ] {
        assert!(out.contains(&format!("{pad}{caps}")), "{pad}: {out}");
    }
    assert_eq!(
        out.matches("/GstPipeline:pipeline0/GstFakeSink:fakesink0: last-message = chain")
            .count(),
        2,
        "{out}"
    );
    // -q after the pipeline, -m: bus messages, no summary.
    let (status, out, err) = run(&[
        "launch",
        "fakesrc",
        "num-buffers=1",
        "!",
        "fakesink",
        "-q",
        "-m",
    ]);
    assert!(status.success(), "{err}");
    assert!(
        out.contains("Got message #") && out.contains("(eos)"),
        "{out}"
    );
    assert!(!out.contains("Execution ended"), "{out}");
    // -t, -c, -f, --no-position are accepted; unknown and unsupported ones say so.
    let (status, _, err) = run(&[
        "launch",
        "-t",
        "-c",
        "-f",
        "--no-position",
        "-q",
        "fakesrc",
        "num-buffers=1",
        "!",
        "fakesink",
    ]);
    assert!(status.success(), "{err}");
    for (bad, says) in [
        ("-Z", "unknown option -Z"),
        ("--force-position", "not supported"),
    ] {
        let (status, _, err) = run(&["launch", "fakesrc", "!", "fakesink", bad]);
        assert_eq!(status.code(), Some(1));
        assert!(
            err.starts_with("ERROR") && err.contains(says),
            "{bad}: {err}"
        );
    }
}

#[test]
fn eos_on_shutdown_finishes_the_stream_on_ctrl_c() {
    let out = temp("eos.gray");
    let location = format!("location={}", out.display());
    let mut child = bin()
        .args([
            "launch",
            "-e",
            "videotestsrc",
            "!",
            "video/x-raw,format=GRAY8,width=16,height=16",
            "!",
            "queue",
            "!",
            "filesink",
            &location,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_sigint_handler(&child);
    std::thread::sleep(Duration::from_millis(300));
    sigint(&child);
    let status = wait(&mut child, Duration::from_secs(10), "-e");
    let err = read_all(child.stderr.take());
    assert!(status.success(), "{err}");
    assert!(err.contains("EOS"), "{err}");
    let len = std::fs::metadata(&out).unwrap().len();
    assert!(len > 0 && len % 256 == 0, "{len} bytes: whole frames");
    let _ = std::fs::remove_file(&out);
}

#[test]
fn stats_json_is_checked_before_the_run_and_dash_is_stdout() {
    // An endless pipeline: the unwritable path must be found at once, not at the end.
    let (status, _, err) = run(&[
        "launch",
        "--stats-json",
        "/nonexistent-penstock/stats.json",
        "videotestsrc",
        "!",
        "fakesink",
    ]);
    assert_eq!(status.code(), Some(1));
    assert!(
        err.starts_with("ERROR: cannot write stats to /nonexistent-penstock/stats.json"),
        "{err}"
    );
    let (status, out, err) = run(&[
        "launch",
        "fakesrc",
        "num-buffers=4",
        "!",
        "fakesink",
        "--stats-json",
        "-",
    ]);
    assert!(status.success(), "{err}");
    assert!(
        out.starts_with('{') && out.contains("\"buffers\": 4"),
        "{out}"
    );
    assert!(
        err.contains("Execution ended"),
        "the summary goes to stderr: {err}"
    );
    assert!(!std::path::Path::new("-").exists());
}

#[test]
fn small_visible_things_read_right() {
    // --timeout 0 is no limit.
    let (status, _, err) = run(&[
        "launch",
        "--timeout",
        "0",
        "-q",
        "fakesrc",
        "num-buffers=3",
        "!",
        "fakesink",
    ]);
    assert!(status.success(), "{err}");
    // A huge unknown name is not echoed in full.
    let name = "x".repeat(120_000);
    let (status, _, err) = run(&["launch", &name, "!", "fakesink"]);
    assert_eq!(status.code(), Some(1));
    assert!(
        err.len() < 1000 && err.contains("(120000 bytes)"),
        "{} bytes",
        err.len()
    );
    let (status, _, err) = run(&["inspect", &name]);
    assert_eq!(status.code(), Some(1));
    assert!(err.len() < 1000, "{} bytes", err.len());
    // Columns count from 1: `!` is the first character.
    let (_, _, err) = run(&["launch", "!", "fakesink"]);
    assert!(err.contains("at column 1,"), "{err}");
    // One whole frame, in the singular.
    let path = temp("one-and-a-bit.gray");
    std::fs::write(&path, vec![1u8; 64 + 10]).unwrap();
    let location = format!("location={}", path.display());
    let (status, _, err) = run(&[
        "launch",
        "-q",
        "filesrc",
        &location,
        "!",
        "rawvideoparse",
        "format=gray8",
        "width=8",
        "height=8",
        "!",
        "fakesink",
    ]);
    assert!(status.success(), "{err}");
    assert!(err.contains("1 whole frame was output"), "{err}");
    let _ = std::fs::remove_file(&path);
    // A conversion nobody downstream takes names the target, and each element path
    // appears once.
    let (status, _, err) = run(&[
        "launch",
        "videotestsrc",
        "num-buffers=1",
        "!",
        "video/x-raw,format=I420",
        "!",
        "videoconvert",
        "!",
        "video/x-raw,format=P010_10LE",
        "!",
        "fakesink",
    ]);
    assert_eq!(status.code(), Some(1));
    let first = err.lines().next().unwrap_or_default();
    assert!(!first.trim_end().ends_with(" to"), "{first}");
    assert!(first.contains("P010_10LE"), "{first}");
    assert_eq!(
        first.matches("pipeline0/videoconvert0").count(),
        2,
        "{first}"
    );
    assert!(
        !first.contains("pipeline0/videoconvert0: pipeline0/videoconvert0"),
        "{first}"
    );
}
