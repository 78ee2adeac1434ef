//! Pipelines that cannot run to their end are refused before anything starts, naming
//! the pad (an unlinked pad, a cycle); pipelines thousands of elements deep run without
//! overflowing a stack.

use std::time::Duration;

use penstock::launch;
use penstock::pipeline::{Pipeline, PipelineError};

fn run(line: &str) -> Result<Pipeline, PipelineError> {
    let p = launch::build(&penstock_elements::registry(), line)
        .unwrap_or_else(|e| panic!("{line}: {e}"));
    p.run(Some(Duration::from_secs(60)), || false, |_| {})?;
    Ok(p)
}

fn not_linked(line: &str) -> String {
    match run(line) {
        Err(PipelineError::NotLinked { pad, .. }) => pad,
        Err(e) => panic!("{line}: expected a not-linked error, got: {e}"),
        Ok(_) => panic!("{line}: ran"),
    }
}

#[test]
fn unlinked_pads_are_refused_naming_the_pad() {
    for (line, pad) in [
        // No sink at all.
        ("videotestsrc num-buffers=3", "pipeline0/videotestsrc0:src"),
        ("fakesrc num-buffers=3", "pipeline0/fakesrc0:src"),
        // A chain that ends in a filter.
        ("videotestsrc ! identity", "pipeline0/identity0:src"),
        ("fakesrc ! queue ! identity name=last", "pipeline0/last:src"),
        // A chain that starts without a source.
        ("identity ! fakesink", "pipeline0/identity0:sink"),
        // A missing `!`: two chains of one element each.
        (
            "videotestsrc num-buffers=3 fakesink",
            "pipeline0/videotestsrc0:src",
        ),
        // The second branch forgets its sink.
        (
            "fakesrc ! fakesink fakesrc ! identity",
            "pipeline0/identity0:src",
        ),
    ] {
        assert_eq!(not_linked(line), pad, "{line}");
    }
    let e = run("videotestsrc num-buffers=3 fakesink").err().unwrap();
    assert_eq!(
        e.to_string(),
        "pad pipeline0/videotestsrc0:src is not linked: link it to another element (with `!` \
         in a launch line) or remove pipeline0/videotestsrc0"
    );
}

#[test]
fn request_pads_that_were_never_asked_for_are_fine() {
    // tee's source pads exist only on request: an unused template is not an unlinked pad.
    run("fakesrc num-buffers=3 ! tee ! fakesink").unwrap();
}

#[test]
fn cycles_are_refused_naming_their_pads() {
    for (line, pads) in [
        (
            "identity name=a ! identity name=b ! a.",
            vec!["pipeline0/a:src", "pipeline0/b:src"],
        ),
        (
            "identity name=a ! identity name=b ! identity name=c ! a.",
            vec!["pipeline0/a:src", "pipeline0/b:src", "pipeline0/c:src"],
        ),
        // A cycle with a way out still never ends.
        (
            "identity name=a ! tee name=t ! fakesink t. ! a.",
            vec!["pipeline0/a:src", "pipeline0/t:src_1"],
        ),
    ] {
        match run(line) {
            Err(PipelineError::Cycle { pads: got }) => assert_eq!(got, pads, "{line}"),
            Err(e) => panic!("{line}: expected a cycle, got: {e}"),
            Ok(_) => panic!("{line}: ran"),
        }
    }
    let e = run("identity name=a ! identity name=b ! a.").err().unwrap();
    assert_eq!(
        e.to_string(),
        "the links form a cycle: pipeline0/a:src -> pipeline0/b:src; break it by linking the \
         last element to a sink"
    );
}

/// Deeper than a streaming thread's stack holds when every hand-off nests a call (4000
/// identities aborted with a stack overflow): buffers, events and queries still go all
/// the way through, through queues too.
#[test]
fn thousands_of_elements_deep_run_to_the_end() {
    for (n, between) in [(5000, "identity"), (1500, "queue")] {
        let chain = vec![between; n].join(" ! ");
        let line = format!("videotestsrc num-buffers=3 ! {chain} ! fakesink name=sink");
        let p = run(&line).unwrap_or_else(|e| panic!("{n} x {between}: {e}"));
        let sink = p.by_name("sink").unwrap();
        assert_eq!(sink.sink_pad().unwrap().buffers(), 3, "{n} x {between}");
    }
}
