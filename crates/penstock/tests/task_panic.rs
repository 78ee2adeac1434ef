//! A panic in a streaming thread reaches the bus at once, as an error of its element.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use penstock::caps::Caps;
use penstock::element::{
    Element, ElementError, ElementFactory, ElementImpl, Registry, StateChange, TaskControl,
};
use penstock::pad::PadTemplate;
use penstock::pipeline::{Pipeline, PipelineError};

/// A source whose streaming thread panics on its third run.
#[derive(Default)]
struct Panicky;

impl ElementImpl for Panicky {
    fn change_state(&self, element: &Element, change: StateChange) -> Result<(), ElementError> {
        if change == StateChange::PausedToPlaying {
            let runs = AtomicU32::new(0);
            element.spawn_task("src", move || {
                if runs.fetch_add(1, Ordering::Relaxed) == 2 {
                    panic!("the device went away");
                }
                std::thread::sleep(Duration::from_millis(1));
                TaskControl::Continue
            })?;
        }
        Ok(())
    }
}

/// A sink that never finishes by itself (no buffer or EOS ever reaches it).
struct Waiting;

impl ElementImpl for Waiting {}

fn registry() -> Registry {
    let mut r = Registry::new();
    r.register(ElementFactory {
        name: "panicky",
        long_name: "Panicky",
        klass: "Source",
        description: "panics in its streaming thread",
        properties: vec![],
        pad_templates: vec![PadTemplate::always_src(Caps::new_any())],
        create: || Box::new(Panicky),
    });
    r.register(ElementFactory {
        name: "waiting",
        long_name: "Waiting",
        klass: "Sink",
        description: "waits",
        properties: vec![],
        pad_templates: vec![PadTemplate::always_sink(Caps::new_any())],
        create: || Box::new(Waiting),
    });
    r
}

#[test]
fn a_panicking_streaming_thread_ends_the_run_with_an_error_naming_its_element() {
    let r = registry();
    let mut p = Pipeline::new("ppanic");
    let src = r.make("panicky", None).unwrap();
    let sink = r.make("waiting", None).unwrap();
    p.add(src.clone()).unwrap();
    p.add(sink.clone()).unwrap();
    Pipeline::link_many(&[&src, &sink]).unwrap();

    let start = Instant::now();
    let err = p
        .run(Some(Duration::from_secs(20)), || false, |_| {})
        .unwrap_err();
    // At once: not at the 20 s timeout, nor when the thread is joined at stop.
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    match &err {
        PipelineError::Element {
            source_path,
            message,
            ..
        } => {
            assert_eq!(source_path, "ppanic/panicky0");
            assert!(message.contains("panicked"), "{message}");
            assert!(message.contains("the device went away"), "{message}");
        }
        other => panic!("expected an element error, got {other:?}"),
    }
    let text = err.to_string();
    assert_eq!(text.matches("ppanic/panicky0").count(), 1, "{text}");
}

#[test]
fn a_panicking_task_posts_its_error_before_anyone_stops_the_element() {
    let r = registry();
    let mut p = Pipeline::new("ppanic2");
    let src = r.make("panicky", None).unwrap();
    let sink = r.make("waiting", None).unwrap();
    p.add(src.clone()).unwrap();
    p.add(sink.clone()).unwrap();
    Pipeline::link_many(&[&src, &sink]).unwrap();
    p.set_state(penstock::element::State::Playing).unwrap();
    // Nobody stops the pipeline: the message must arrive from the thread itself.
    let deadline = Instant::now() + Duration::from_secs(5);
    let msg = loop {
        let m = p
            .bus()
            .pop(Some(Duration::from_millis(50)))
            .filter(|m| matches!(m.kind, penstock::bus::MessageKind::Error { .. }));
        if let Some(m) = m {
            break m;
        }
        assert!(Instant::now() < deadline, "no error on the bus");
    };
    assert_eq!(msg.source, "ppanic2/panicky0");
    p.set_state(penstock::element::State::Null).unwrap();
    // The panic was reported once, by the thread; joining it found nothing more.
    let more: Vec<_> = p
        .bus()
        .drain()
        .into_iter()
        .filter(|m| matches!(m.kind, penstock::bus::MessageKind::Error { .. }))
        .collect();
    assert!(more.is_empty(), "{more:?}");
}
