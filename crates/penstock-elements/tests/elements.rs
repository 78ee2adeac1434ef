//! The real elements in pipelines: caps and allocation queries through identity, queue,
//! capsfilter and tee; the queue's limits, leaks and thread; tee's zero-copy fan-out;
//! errors mid-stream; videotestsrc's negotiation, timestamps and aligned layouts.
//!
//! Every run has a timeout and every wait is a bounded poll. Element and pipeline names
//! are unique per test: the ledger (per element name) and thread names are process-wide.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use penstock::allocator::AllocationParams;
use penstock::basesrc::{BaseSrc, PushSource};
use penstock::buffer::Buffer;
use penstock::bus::MessageKind;
use penstock::caps::{Caps, Fraction};
use penstock::element::{
    Element, ElementError, ElementFactory, ElementImpl, PropValue, Registry, State,
};
use penstock::event::Event;
use penstock::flow::{FlowError, FlowResult};
use penstock::ledger;
use penstock::pad::{Pad, PadTemplate};
use penstock::pipeline::{Pipeline, PipelineError, RunReport};
use penstock::pool::{AcquireParams, BufferPool};
use penstock::query::{AllocationQuery, Query};
use penstock::{ClockTime, PoolConfig};
use penstock_video::VideoMeta;
use penstock_video::VideoQueryExt;
use penstock_video::{VideoAlignment, VideoFormat, VideoInfo};

const RUN_TIMEOUT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------
// Test elements.

/// Shared by a source and a sink of one test: the sink holds each buffer until the gate
/// is open and counts the buffers it started to handle.
#[derive(Default)]
struct Link {
    open: Mutex<bool>,
    gate: Condvar,
    entered: Mutex<u64>,
    entered_cond: Condvar,
}

impl Link {
    fn set_open(&self, open: bool) {
        *self.open.lock().unwrap() = open;
        self.gate.notify_all();
    }

    /// Waits at the gate; false if `pad` started flushing meanwhile.
    fn pass(&self, pad: &Pad) -> bool {
        let mut open = self.open.lock().unwrap();
        while !*open {
            if pad.is_flushing() {
                return false;
            }
            open = self
                .gate
                .wait_timeout(open, Duration::from_millis(5))
                .unwrap()
                .0;
        }
        true
    }

    fn enter(&self) {
        *self.entered.lock().unwrap() += 1;
        self.entered_cond.notify_all();
    }

    /// Waits (at most 10 s) until the sink has started on `n` buffers.
    fn wait_entered(&self, n: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut e = self.entered.lock().unwrap();
        while *e < n {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            e = self.entered_cond.wait_timeout(e, deadline - now).unwrap().0;
        }
        true
    }
}

/// A source of numbered pooled buffers. With a link: buffer 1 is made only once the
/// sink holds buffer 0, and the gate opens when the last buffer has been pushed.
struct StepSrc {
    num_buffers: Mutex<Option<u64>>,
    link: Mutex<Option<Arc<Link>>>,
    produced: AtomicU64,
    pool: BufferPool,
}

impl Default for StepSrc {
    fn default() -> Self {
        let pool = BufferPool::new("elements-step-src");
        pool.set_config(PoolConfig::new(64).min_max(2, 0)).unwrap();
        StepSrc {
            num_buffers: Mutex::new(None),
            link: Mutex::new(None),
            produced: AtomicU64::new(0),
            pool,
        }
    }
}

impl StepSrc {
    fn of(e: &Element) -> &StepSrc {
        e.implementation_as::<BaseSrc<StepSrc>>().unwrap().source()
    }
}

impl PushSource for StepSrc {
    fn start(&self, _e: &Element) -> Result<(), ElementError> {
        self.produced.store(0, Ordering::SeqCst);
        self.pool
            .set_active(true)
            .map_err(|e| ElementError::new(e.to_string()))
    }
    fn stop(&self, _e: &Element) {
        let _ = self.pool.set_active(false);
    }
    fn unlock(&self, _e: &Element) {
        self.pool.set_flushing(true);
    }
    fn unlock_stop(&self, _e: &Element) {
        self.pool.set_flushing(false);
    }
    fn create(&self, element: &Element) -> Result<Buffer, FlowError> {
        let n = self.produced.fetch_add(1, Ordering::SeqCst);
        let link = self.link.lock().unwrap().clone();
        if *self.num_buffers.lock().unwrap() == Some(n) {
            if let Some(l) = link {
                l.set_open(true);
            }
            return Err(FlowError::Eos);
        }
        if n == 1 {
            if let Some(l) = &link {
                if !l.wait_entered(1) {
                    element.post_error("the sink never took buffer 0", None);
                    return Err(FlowError::Error);
                }
            }
        }
        let mut b = self
            .pool
            .acquire(AcquireParams::default())
            .map_err(|_| FlowError::Flushing)?;
        b.set_offset(Some(n));
        Ok(b.freeze())
    }
}

/// What a buffer looked like when it reached a sink.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    offset: Option<u64>,
    offset_end: Option<u64>,
    pts: Option<ClockTime>,
    duration: Option<ClockTime>,
    size: usize,
}

/// A sink that records what it gets; optionally holds buffers at a gate, keeps them,
/// fails after some, and answers the allocation query.
#[derive(Default)]
struct TestSink {
    link: Mutex<Option<Arc<Link>>>,
    seen: Mutex<Vec<Seen>>,
    kept: Mutex<Vec<Buffer>>,
    keep: Mutex<bool>,
    fail_after: Mutex<Option<usize>>,
    alloc: Mutex<Option<AllocationQuery>>,
}

impl TestSink {
    fn of(e: &Element) -> &TestSink {
        e.implementation_as::<TestSink>().unwrap()
    }
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
    fn offsets(&self) -> Vec<u64> {
        self.seen().iter().map(|s| s.offset.unwrap()).collect()
    }
    fn kept(&self) -> Vec<Buffer> {
        self.kept.lock().unwrap().clone()
    }
}

impl ElementImpl for TestSink {
    fn chain(&self, element: &Element, pad: &Pad, buffer: Buffer) -> FlowResult {
        let n = {
            let mut seen = self.seen.lock().unwrap();
            seen.push(Seen {
                offset: buffer.offset(),
                offset_end: buffer.offset_end(),
                pts: buffer.pts(),
                duration: buffer.duration(),
                size: buffer.size(),
            });
            seen.len()
        };
        let link = self.link.lock().unwrap().clone();
        if let Some(l) = &link {
            l.enter();
        }
        if *self.fail_after.lock().unwrap() == Some(n) {
            element.post_error(&format!("failing at buffer {n} on purpose"), None);
            return Err(FlowError::Error);
        }
        if let Some(l) = &link {
            if !l.pass(pad) {
                return Err(FlowError::Flushing);
            }
        }
        if *self.keep.lock().unwrap() {
            self.kept.lock().unwrap().push(buffer);
        }
        Ok(())
    }
    fn sink_event(&self, element: &Element, _pad: &Pad, event: Event) -> bool {
        if event == Event::Eos {
            element.post(MessageKind::Eos);
        }
        true
    }
    fn unlock(&self, _e: &Element) {
        if let Some(l) = &*self.link.lock().unwrap() {
            l.gate.notify_all();
        }
    }
    fn query(&self, element: &Element, pad: &Pad, query: &mut Query) -> bool {
        match query {
            Query::Allocation(q) => {
                let Some(a) = self.alloc.lock().unwrap().clone() else {
                    return false;
                };
                q.pools = a.pools;
                q.allocators = a.allocators;
                q.metas = a.metas;
                true
            }
            _ => element.default_query(pad, query),
        }
    }
}

const RESTRICTED: &str = "video/x-raw, format={ NV12, I420 }, width=[ 1, 1000 ]";

fn registry() -> Registry {
    let mut r = penstock_elements::registry();
    r.register(ElementFactory {
        name: "stepsrc",
        long_name: "step source",
        klass: "Source",
        description: "numbered pooled buffers",
        properties: vec![],
        pad_templates: vec![PadTemplate::always_src(Caps::new_any())],
        create: || Box::new(BaseSrc::new(StepSrc::default())),
    });
    r.register(ElementFactory {
        name: "testsink",
        long_name: "test sink",
        klass: "Sink",
        description: "records buffers",
        properties: vec![],
        pad_templates: vec![PadTemplate::always_sink(Caps::new_any())],
        create: || Box::new(TestSink::default()),
    });
    r.register(ElementFactory {
        name: "restrictedsink",
        long_name: "restricted sink",
        klass: "Sink",
        description: "records buffers of some formats",
        properties: vec![],
        pad_templates: vec![PadTemplate::always_sink(RESTRICTED.parse().unwrap())],
        create: || Box::new(TestSink::default()),
    });
    r
}

fn caps(s: &str) -> Caps {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn add(
    p: &mut Pipeline,
    r: &Registry,
    factory: &str,
    name: &str,
    props: &[(&str, &str)],
) -> Element {
    let e = r.make(factory, Some(name)).unwrap();
    for (k, v) in props {
        e.set_property_str(k, v)
            .unwrap_or_else(|err| panic!("{name}.{k}={v}: {err}"));
    }
    p.add(e.clone()).unwrap();
    e
}

fn run(p: &Pipeline) -> Result<RunReport, PipelineError> {
    p.run(Some(RUN_TIMEOUT), || false, |_| {})
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Runs `f` on another thread and fails if it does not finish in 10 s (a deadlock).
fn bounded<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("{what} did not finish in 10 s: deadlock?"))
}

/// Names of this process's threads that start with `prefix` (Linux: `/proc/self/task`).
fn threads_named(prefix: &str) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    dir.filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|c| c.trim_end().to_owned())
        .filter(|c| c.starts_with(prefix))
        .collect()
}

fn assert_threads_gone(prefixes: &[&str]) {
    for p in prefixes {
        wait_for(&format!("threads {p}* to end"), || {
            threads_named(p).is_empty()
        });
    }
}

fn uint(e: &Element, name: &str) -> u64 {
    match e.property(name) {
        Some(PropValue::UInt(v)) => v,
        other => panic!("{name}: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Queries through the elements.

/// Every property a shipped element declares is implemented: setting its default is
/// accepted (the default `set_property` would refuse an unhandled one) and reads back.
#[test]
fn every_declared_property_of_every_element_takes_its_default_and_reads_back() {
    let r = penstock_elements::registry();
    let mut checked = 0;
    for f in r.factories() {
        let e = r
            .make(f.name, Some(&format!("allprops-{}", f.name)))
            .unwrap();
        for spec in &f.properties {
            let what = format!("{}.{}", f.name, spec.name);
            e.set_property(spec.name, spec.default.clone())
                .unwrap_or_else(|err| panic!("{what}: {err}"));
            let back = e.property(spec.name);
            assert!(back.is_some(), "{what} reads back nothing");
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} properties checked");
}

#[test]
fn identity_keeps_silent_as_set() {
    let e = registry()
        .make("identity", Some("silent-identity"))
        .unwrap();
    assert_eq!(e.property("silent"), Some(PropValue::Bool(true)));
    e.set_property_str("silent", "false").unwrap();
    assert_eq!(e.property("silent"), Some(PropValue::Bool(false)));
}

#[test]
fn caps_queries_proxy_through_identity_queue_and_capsfilter() {
    let r = registry();
    let mut p = Pipeline::new("qcaps");
    let s = add(&mut p, &r, "fakesrc", "s", &[]);
    let i = add(&mut p, &r, "identity", "i", &[]);
    let q = add(&mut p, &r, "queue", "q", &[]);
    let f = add(
        &mut p,
        &r,
        "capsfilter",
        "f",
        &[("caps", "video/x-raw, format=NV12")],
    );
    let k = add(&mut p, &r, "restrictedsink", "k", &[]);
    Pipeline::link_many(&[&s, &i, &q, &f, &k]).unwrap();
    let src = s.src_pad().unwrap();

    let all = src.peer_caps(None);
    assert!(
        all.is_equal(&caps("video/x-raw, format=NV12, width=[ 1, 1000 ]")),
        "{all}"
    );
    let narrow = src.peer_caps(Some(&caps("video/x-raw, width=[ 500, 2000 ]")));
    assert!(
        narrow.is_equal(&caps("video/x-raw, format=NV12, width=[ 500, 1000 ]")),
        "{narrow}"
    );
    assert!(
        src.peer_caps(Some(&caps("video/x-raw, format=I420")))
            .is_empty()
    );
    // From the middle: what the queue can send is what the capsfilter and sink take.
    let from_queue = q.src_pad().unwrap().peer_caps(None);
    assert!(from_queue.is_equal(&all), "{from_queue}");

    assert!(src.peer_accepts(&caps("video/x-raw, format=NV12, width=640")));
    assert!(
        !src.peer_accepts(&caps("video/x-raw, format=I420, width=640")),
        "the capsfilter refuses I420"
    );
    assert!(
        !src.peer_accepts(&caps("video/x-raw, format=NV12, width=1920")),
        "the sink refuses 1920"
    );
}

fn answer(
    pool: Option<(usize, u32, u32)>,
    params: Option<AllocationParams>,
    metas: &[(&'static str, Option<VideoAlignment>)],
) -> AllocationQuery {
    let mut q = AllocationQuery::new(Caps::new_any(), true);
    if let Some((size, min, max)) = pool {
        q.add_pool(None, size, min, max);
    }
    if let Some(p) = params {
        q.add_allocator(None, p);
    }
    for &(api, a) in metas {
        match api {
            "VideoMeta" => q.add_video_meta(a),
            "VideoCropMeta" => q.add_video_crop_meta(),
            other => panic!("no such meta in these tests: {other}"),
        }
    }
    q
}

fn allocation_from(pad: &Pad, c: &Caps) -> Option<AllocationQuery> {
    let mut q = Query::Allocation(AllocationQuery::new(c.clone(), true));
    if !pad.peer_query(&mut q) {
        return None;
    }
    match q {
        Query::Allocation(q) => Some(q),
        _ => unreachable!(),
    }
}

#[test]
fn allocation_queries_reach_the_sink_through_identity_and_queue() {
    let r = registry();
    let mut p = Pipeline::new("qalloc");
    let s = add(&mut p, &r, "fakesrc", "s", &[]);
    let i = add(&mut p, &r, "identity", "i", &[]);
    let q = add(&mut p, &r, "queue", "q", &[]);
    let f = add(&mut p, &r, "capsfilter", "f", &[]);
    let k = add(&mut p, &r, "testsink", "k", &[]);
    Pipeline::link_many(&[&s, &i, &q, &f, &k]).unwrap();
    let align = VideoAlignment {
        padding_right: 16,
        stride_align: [63; 4],
        ..Default::default()
    };
    let params = AllocationParams {
        align: 255,
        ..Default::default()
    };
    *TestSink::of(&k).alloc.lock().unwrap() = Some(answer(
        Some((8192, 5, 9)),
        Some(params),
        &[("VideoMeta", Some(align))],
    ));
    let c = caps("video/x-raw, format=GRAY8, width=64, height=64");
    let a = allocation_from(&s.src_pad().unwrap(), &c).expect("answered");
    assert_eq!(a.caps, c, "the caps travel unchanged");
    assert_eq!(
        (a.pools[0].size, a.pools[0].min, a.pools[0].max),
        (8192, 5, 9)
    );
    assert_eq!(a.params(), params);
    assert_eq!(a.video_alignment(), Some(align));

    // Unanswered downstream: unanswered upstream.
    *TestSink::of(&k).alloc.lock().unwrap() = None;
    assert!(allocation_from(&s.src_pad().unwrap(), &c).is_none());
}

#[test]
fn tee_merges_the_allocation_answers_of_its_branches() {
    let r = registry();
    let mut p = Pipeline::new("qtee");
    let s = add(&mut p, &r, "fakesrc", "s", &[]);
    let t = add(&mut p, &r, "tee", "t", &[]);
    let q = add(&mut p, &r, "queue", "q", &[]);
    let k1 = add(&mut p, &r, "testsink", "k1", &[]);
    let k2 = add(&mut p, &r, "testsink", "k2", &[]);
    Pipeline::link_many(&[&s, &t, &q, &k1]).unwrap();
    Pipeline::link_many(&[&t, &k2]).unwrap();
    let a1 = VideoAlignment {
        padding_top: 2,
        stride_align: [15; 4],
        ..Default::default()
    };
    let a2 = VideoAlignment {
        padding_left: 8,
        stride_align: [63, 31, 31, 0],
        ..Default::default()
    };
    *TestSink::of(&k1).alloc.lock().unwrap() = Some(answer(
        Some((1000, 2, 0)),
        Some(AllocationParams {
            align: 15,
            prefix: 4,
            ..Default::default()
        }),
        &[("VideoMeta", Some(a1)), ("VideoCropMeta", None)],
    ));
    *TestSink::of(&k2).alloc.lock().unwrap() = Some(answer(
        Some((3000, 3, 5)),
        Some(AllocationParams {
            align: 63,
            ..Default::default()
        }),
        &[("VideoMeta", Some(a2))],
    ));
    let c = caps("video/x-raw, format=GRAY8, width=64, height=64");
    let a = allocation_from(&s.src_pad().unwrap(), &c).expect("answered");
    assert_eq!(a.pools.len(), 1);
    assert!(a.pools[0].pool.is_none());
    assert_eq!(
        (a.pools[0].size, a.pools[0].min, a.pools[0].max),
        (3000, 3, 5)
    );
    assert_eq!(
        a.params(),
        AllocationParams {
            align: 63,
            prefix: 4,
            ..Default::default()
        }
    );
    let apis: Vec<_> = a.metas.iter().map(|m| m.api.name()).collect();
    assert_eq!(apis, ["VideoMeta"]);
    assert_eq!(
        a.video_alignment(),
        Some(VideoAlignment {
            padding_top: 2,
            padding_left: 8,
            stride_align: [63, 31, 31, 15],
            ..Default::default()
        })
    );

    // A branch that does not answer understands no meta: none is left.
    *TestSink::of(&k2).alloc.lock().unwrap() = None;
    let a = allocation_from(&s.src_pad().unwrap(), &c).expect("the tee answers");
    assert!(a.metas.is_empty(), "{:?}", a.metas);
    assert_eq!((a.pools[0].size, a.pools[0].min), (1000, 2));
}

// ---------------------------------------------------------------------------------------
// Queue.

/// stepsrc → queue (2 buffers, `leaky`) → gated sink. The sink holds buffer 0 while the
/// source pushes the other 9, then the gate opens.
fn leaky_run(name: &str, leaky: &str) -> Vec<u64> {
    let r = registry();
    let mut p = Pipeline::new(name);
    let s = add(&mut p, &r, "stepsrc", &format!("{name}s"), &[]);
    let q = add(
        &mut p,
        &r,
        "queue",
        &format!("{name}q"),
        &[
            ("max-size-buffers", "2"),
            ("max-size-bytes", "0"),
            ("max-size-time", "0"),
            ("leaky", leaky),
        ],
    );
    let k = add(&mut p, &r, "testsink", &format!("{name}k"), &[]);
    Pipeline::link_many(&[&s, &q, &k]).unwrap();
    let link = Arc::new(Link::default());
    *StepSrc::of(&s).num_buffers.lock().unwrap() = Some(10);
    *StepSrc::of(&s).link.lock().unwrap() = Some(Arc::clone(&link));
    *TestSink::of(&k).link.lock().unwrap() = Some(link);
    run(&p).unwrap();
    assert_eq!(StepSrc::of(&s).pool.stats().outstanding, 0);
    TestSink::of(&k).offsets()
}

#[test]
fn queue_leaky_upstream_drops_the_new_buffers() {
    assert_eq!(leaky_run("lku", "upstream"), [0, 1, 2]);
}

#[test]
fn queue_leaky_downstream_drops_the_old_buffers() {
    assert_eq!(leaky_run("lkd", "downstream"), [0, 8, 9]);
}

#[test]
fn queue_max_size_buffers_blocks_upstream_and_its_thread_is_joined() {
    let r = registry();
    let mut p = Pipeline::new("qblock");
    let s = add(&mut p, &r, "stepsrc", "qbsrc", &[]);
    let q = add(
        &mut p,
        &r,
        "queue",
        "qbq",
        &[("max-size-buffers", "3"), ("max-size-bytes", "0")],
    );
    let k = add(&mut p, &r, "testsink", "qbsink", &[]);
    Pipeline::link_many(&[&s, &q, &k]).unwrap();
    let link = Arc::new(Link::default());
    *StepSrc::of(&s).num_buffers.lock().unwrap() = Some(20);
    *StepSrc::of(&s).link.lock().unwrap() = Some(Arc::clone(&link));
    *TestSink::of(&k).link.lock().unwrap() = Some(Arc::clone(&link));

    let observed = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            // The sink holds buffer 0, the queue 1..=3, and the source is stuck pushing 4.
            wait_for("the queue to fill", || {
                uint(&q, "current-level-buffers") == 3
                    && StepSrc::of(&s).produced.load(Ordering::SeqCst) == 5
            });
            std::thread::sleep(Duration::from_millis(50));
            let observed = (
                uint(&q, "current-level-buffers"),
                StepSrc::of(&s).produced.load(Ordering::SeqCst),
                TestSink::of(&k).seen().len(),
            );
            link.set_open(true);
            observed
        });
        run(&p).unwrap();
        watcher.join().unwrap()
    });
    assert_eq!(
        observed,
        (3, 5, 1),
        "upstream stays blocked while the queue is full"
    );
    assert_eq!(TestSink::of(&k).offsets(), (0..20).collect::<Vec<_>>());
    for e in [&s, &q, &k] {
        assert_eq!(e.state(), State::Null);
    }
    assert_eq!(uint(&q, "current-level-buffers"), 0);
    assert_threads_gone(&["qbq:", "qbsrc:"]);
}

#[test]
fn stopping_while_the_queue_is_full_and_the_sink_blocked_joins_everything() {
    let r = registry();
    let mut p = Pipeline::new("qstop");
    let s = add(&mut p, &r, "stepsrc", "qssrc", &[]);
    let q = add(&mut p, &r, "queue", "qsq", &[("max-size-buffers", "3")]);
    let k = add(&mut p, &r, "testsink", "qssink", &[]);
    Pipeline::link_many(&[&s, &q, &k]).unwrap();
    let link = Arc::new(Link::default());
    *StepSrc::of(&s).link.lock().unwrap() = Some(Arc::clone(&link));
    *TestSink::of(&k).link.lock().unwrap() = Some(link);
    let pool = StepSrc::of(&s).pool.clone();

    p.set_state(State::Playing).unwrap();
    wait_for("the queue to fill", || {
        uint(&q, "current-level-buffers") == 3 && pool.stats().outstanding == 5
    });
    let p = bounded("stopping a blocked pipeline", move || {
        p.set_state(State::Null).unwrap();
        p
    });
    for e in [&s, &q, &k] {
        assert_eq!(e.state(), State::Null);
    }
    assert_eq!(uint(&q, "current-level-buffers"), 0);
    let stats = pool.stats();
    assert_eq!(stats.outstanding, 0, "{stats:?}");
    assert_eq!(stats.freed, stats.allocated, "{stats:?}");
    assert_threads_gone(&["qsq:", "qssrc:"]);
    drop(p);
}

#[test]
fn queue_resumes_after_a_flush_and_after_eos_then_flush() {
    let r = registry();
    let mut p = Pipeline::new("qflush");
    let up = add(&mut p, &r, "identity", "qfup", &[]);
    let q = add(&mut p, &r, "queue", "qfq", &[]);
    let k = add(&mut p, &r, "testsink", "qfk", &[]);
    Pipeline::link_many(&[&up, &q, &k]).unwrap();
    let pad = up.src_pad().unwrap();
    let buffer = |n: u64| {
        let mut b = penstock::buffer::BufferMut::with_size(4).unwrap();
        b.set_offset(Some(n));
        b.freeze()
    };
    let sink = TestSink::of(&k);
    p.set_state(State::Playing).unwrap();

    assert_eq!(pad.push(buffer(0)), Ok(()));
    wait_for("buffer 0", || sink.seen().len() == 1);
    assert!(pad.push_event(Event::FlushStart));
    assert_eq!(pad.push(buffer(99)), Err(FlowError::Flushing));
    assert!(pad.push_event(Event::FlushStop { reset_time: true }));
    assert_eq!(pad.push(buffer(1)), Ok(()));
    wait_for("buffer 1 after the flush", || sink.seen().len() == 2);

    // EOS ends the queue's stream; a flush starts a new one.
    assert!(pad.push_event(Event::Eos));
    wait_for("EOS at the sink", || k.sink_pad().unwrap().is_eos());
    assert_eq!(pad.push(buffer(98)), Err(FlowError::Eos));
    assert!(pad.push_event(Event::FlushStart));
    assert!(pad.push_event(Event::FlushStop { reset_time: true }));
    assert_eq!(pad.push(buffer(2)), Ok(()));
    wait_for("buffer 2 after EOS and a flush", || sink.seen().len() == 3);
    assert_eq!(sink.offsets(), [0, 1, 2]);

    let p = bounded("stopping", move || {
        p.set_state(State::Null).unwrap();
        p
    });
    assert_threads_gone(&["qfq:"]);
    drop(p);
}

/// A slow or live upstream: a buffer pushed into an idle queue reaches the sink on its
/// own, without waiting for a batch to fill or for EOS. (The bound is generous, one
/// second: a missing wake-up, not a slow one, is what fails.)
#[test]
fn queue_forwards_a_lone_buffer_at_once() {
    let r = registry();
    let mut p = Pipeline::new("qlone");
    let up = add(&mut p, &r, "identity", "qlup", &[]);
    let q = add(&mut p, &r, "queue", "qlq", &[]);
    let k = add(&mut p, &r, "testsink", "qlk", &[]);
    Pipeline::link_many(&[&up, &q, &k]).unwrap();
    let link = Arc::new(Link::default());
    link.set_open(true);
    *TestSink::of(&k).link.lock().unwrap() = Some(Arc::clone(&link));
    let pad = up.src_pad().unwrap();
    p.set_state(State::Playing).unwrap();

    for n in 0..5u64 {
        let mut b = penstock::buffer::BufferMut::with_size(4).unwrap();
        b.set_offset(Some(n));
        assert_eq!(pad.push(b.freeze()), Ok(()));
        // Arrival is signalled through the sink's condition variable, waited on with a
        // timeout.
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut entered = link.entered.lock().unwrap();
        while *entered <= n {
            let now = Instant::now();
            assert!(now < deadline, "buffer {n} did not reach the sink");
            entered = link
                .entered_cond
                .wait_timeout(entered, deadline - now)
                .unwrap()
                .0;
        }
        drop(entered);
        if n % 2 == 1 {
            // Let the queue's thread go to sleep before the next one.
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    assert_eq!(TestSink::of(&k).offsets(), [0, 1, 2, 3, 4]);

    let p = bounded("stopping", move || {
        p.set_state(State::Null).unwrap();
        p
    });
    assert_threads_gone(&["qlq:"]);
    drop(p);
}

// ---------------------------------------------------------------------------------------
// Tee.

#[test]
fn tee_gives_every_branch_the_same_buffer_and_copies_nothing() {
    let r = registry();
    let mut p = Pipeline::new("ptee");
    let s = add(
        &mut p,
        &r,
        "fakesrc",
        "teesrcZ",
        &[
            ("num-buffers", "20"),
            ("sizetype", "fixed"),
            ("sizemax", "4096"),
        ],
    );
    let t = add(&mut p, &r, "tee", "teeZ", &[]);
    let q = add(&mut p, &r, "queue", "teeqZ", &[]);
    let k1 = add(&mut p, &r, "testsink", "teek1Z", &[]);
    let k2 = add(&mut p, &r, "testsink", "teek2Z", &[]);
    Pipeline::link_many(&[&s, &t, &q, &k1]).unwrap();
    Pipeline::link_many(&[&t, &k2]).unwrap();
    for k in [&k1, &k2] {
        *TestSink::of(k).keep.lock().unwrap() = true;
    }
    run(&p).unwrap();

    let (b1, b2) = (TestSink::of(&k1).kept(), TestSink::of(&k2).kept());
    assert_eq!(b1.len(), 20);
    assert_eq!(b2.len(), 20);
    for (n, (x, y)) in b1.iter().zip(&b2).enumerate() {
        assert!(x.ptr_eq(y), "buffer {n} differs between branches");
        assert!(x.memory(0).unwrap().same_region(y.memory(0).unwrap()));
        assert_eq!(x.offset(), Some(n as u64));
        assert_eq!(x.size(), 4096);
    }
    let snap = ledger::snapshot();
    for site in ["teesrcZ", "teeZ", "teeqZ", "teek1Z", "teek2Z"] {
        assert_eq!(snap.site(site).copies.count, 0, "{site}: {snap}");
    }
    assert_eq!(
        t.src_pads()
            .iter()
            .map(|p| p.name().to_owned())
            .collect::<Vec<_>>(),
        ["src_0", "src_1"]
    );
}

// ---------------------------------------------------------------------------------------
// Errors mid-stream.

#[test]
fn a_sink_error_behind_a_queue_stops_every_thread_and_returns_every_buffer() {
    let r = registry();
    let mut p = Pipeline::new("perrq");
    let s = add(&mut p, &r, "stepsrc", "eqsrc", &[]);
    let q = add(&mut p, &r, "queue", "eqq", &[]);
    let k = add(&mut p, &r, "testsink", "eqsink", &[]);
    Pipeline::link_many(&[&s, &q, &k]).unwrap();
    *TestSink::of(&k).fail_after.lock().unwrap() = Some(5);
    let pool = StepSrc::of(&s).pool.clone();

    let e = run(&p).unwrap_err();
    match &e {
        PipelineError::Element {
            source_path,
            message,
            ..
        } => {
            assert_eq!(source_path, "perrq/eqsink");
            assert!(message.contains("failing at buffer 5"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(TestSink::of(&k).seen().len(), 5, "nothing after the error");
    for el in [&s, &q, &k] {
        assert_eq!(el.state(), State::Null);
    }
    let stats = pool.stats();
    assert_eq!(stats.outstanding, 0, "{stats:?}");
    assert!(!pool.is_active());
    assert_eq!(uint(&q, "current-level-buffers"), 0);
    assert_threads_gone(&["eqq:", "eqsrc:"]);
}

#[test]
fn filesink_on_a_full_disk_fails_naming_itself() {
    let r = registry();
    let mut p = Pipeline::new("pfull");
    let s = add(
        &mut p,
        &r,
        "videotestsrc",
        "fullsrc",
        &[("num-buffers", "10")],
    );
    let k = add(
        &mut p,
        &r,
        "filesink",
        "fullsink",
        &[("location", "/dev/full")],
    );
    Pipeline::link_many(&[&s, &k]).unwrap();
    let e = run(&p).unwrap_err();
    match &e {
        PipelineError::Element {
            source_path,
            message,
            ..
        } => {
            assert_eq!(source_path, "pfull/fullsink");
            assert!(message.contains("/dev/full"), "{message}");
            assert!(message.contains("No space left"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.state(), State::Null);
    assert_threads_gone(&["fullsrc:"]);
}

// ---------------------------------------------------------------------------------------
// videotestsrc.

fn vts_run(name: &str, filter: Option<&str>, n: &str) -> (Element, Vec<Seen>) {
    let r = registry();
    let mut p = Pipeline::new(name);
    let s = add(
        &mut p,
        &r,
        "videotestsrc",
        &format!("{name}src"),
        &[("num-buffers", n)],
    );
    let k = add(&mut p, &r, "testsink", &format!("{name}k"), &[]);
    match filter {
        Some(f) => {
            let cf = add(
                &mut p,
                &r,
                "capsfilter",
                &format!("{name}f"),
                &[("caps", f)],
            );
            Pipeline::link_many(&[&s, &cf, &k]).unwrap();
        }
        None => Pipeline::link_many(&[&s, &k]).unwrap(),
    }
    run(&p).unwrap();
    let seen = TestSink::of(&k).seen();
    (k, seen)
}

fn negotiated(sink: &Element) -> Caps {
    sink.sink_pad().unwrap().current_caps().expect("caps")
}

#[test]
fn videotestsrc_negotiates_320x240_at_30fps_by_default() {
    let (k, seen) = vts_run("vdef", None, "5");
    let c = negotiated(&k);
    assert!(c.is_fixed(), "{c}");
    let st = c.structure(0).unwrap();
    assert_eq!(st.name(), "video/x-raw");
    assert_eq!(st.get_int("width"), Some(320));
    assert_eq!(st.get_int("height"), Some(240));
    assert_eq!(st.get_fraction("framerate"), Some(Fraction::new(30, 1)));
    let format = VideoFormat::from_name(st.get_str("format").unwrap()).unwrap();
    let size = VideoInfo::new(format, 320, 240).unwrap().size();

    assert_eq!(seen.len(), 5, "num-buffers");
    let d = 1_000_000_000u64 / 30;
    for (n, b) in seen.iter().enumerate() {
        let n = n as u64;
        assert_eq!(b.size, size);
        assert_eq!(b.duration, Some(ClockTime::from_nseconds(d)));
        assert_eq!(
            b.pts,
            Some(ClockTime::from_nseconds(n * d)),
            "pts = n * duration"
        );
        assert_eq!((b.offset, b.offset_end), (Some(n), Some(n + 1)));
    }
}

#[test]
fn videotestsrc_honours_a_caps_filter() {
    let (k, seen) = vts_run(
        "vfilt",
        Some("video/x-raw, format=NV12, width=64, height=48, framerate=10/1"),
        "4",
    );
    assert_eq!(
        negotiated(&k),
        caps("video/x-raw, format=NV12, width=64, height=48, framerate=10/1")
    );
    assert_eq!(seen.len(), 4);
    for (n, b) in seen.iter().enumerate() {
        assert_eq!(b.size, 64 * 48 * 3 / 2);
        assert_eq!(b.pts, Some(ClockTime::from_mseconds(100 * n as u64)));
        assert_eq!(b.duration, Some(ClockTime::from_mseconds(100)));
    }

    // A range in the filter is fixated towards the defaults, within it.
    let (k, seen) = vts_run(
        "vrange",
        Some("video/x-raw, format=GRAY8, width=[ 400, 800 ], height=[ 16, 100 ]"),
        "1",
    );
    let c = negotiated(&k);
    let st = c.structure(0).unwrap();
    assert_eq!(st.get_int("width"), Some(400));
    assert_eq!(st.get_int("height"), Some(100));
    assert_eq!(seen[0].size, 400 * 100);

    // num-buffers=0: EOS at once.
    let (_, seen) = vts_run("vzero", None, "0");
    assert!(seen.is_empty());
}

/// Frames of I420 100x30 (odd strides by default) into a sink that answers the allocation
/// query with `alloc`; the frames and the source's name.
fn vts_frames(name: &str, alloc: Option<AllocationQuery>) -> (VideoInfo, Vec<Buffer>) {
    let r = registry();
    let mut p = Pipeline::new(name);
    let s = add(&mut p, &r, "videotestsrc", name, &[("num-buffers", "3")]);
    let f = add(
        &mut p,
        &r,
        "capsfilter",
        &format!("{name}f"),
        &[(
            "caps",
            "video/x-raw, format=I420, width=100, height=30, framerate=30/1",
        )],
    );
    let k = add(&mut p, &r, "testsink", &format!("{name}k"), &[]);
    Pipeline::link_many(&[&s, &f, &k]).unwrap();
    *TestSink::of(&k).keep.lock().unwrap() = true;
    *TestSink::of(&k).alloc.lock().unwrap() = alloc;
    run(&p).unwrap();
    let info = VideoInfo::new(VideoFormat::I420, 100, 30).unwrap();
    (info, TestSink::of(&k).kept())
}

/// The visible bytes of each plane, row by row, as laid out by `offsets`/`strides`.
fn visible(info: &VideoInfo, b: &Buffer, offsets: &[usize], strides: &[usize]) -> Vec<Vec<u8>> {
    let map = b.map_read().unwrap();
    let mut rows = Vec::new();
    for plane in 0..info.n_planes() {
        let len = info.plane_row_bytes(plane);
        for row in 0..info.plane_height(plane) as usize {
            let at = offsets[plane] + row * strides[plane];
            rows.push(map[at..at + len].to_vec());
        }
    }
    rows
}

#[test]
fn videotestsrc_renders_into_the_layout_downstream_asks_for() {
    let (info, plain) = vts_frames("vtsplain", None);
    assert_eq!(plain.len(), 3);
    assert!(
        info.strides()[..3].iter().any(|s| s % 64 != 0),
        "the default layout is not 64-aligned: {:?}",
        info.strides()
    );
    for b in &plain {
        assert!(b.meta::<VideoMeta>().is_none(), "default layout, no meta");
        assert_eq!(b.size(), info.size());
    }

    for (name, align) in [
        (
            "vtsalign",
            VideoAlignment {
                stride_align: [63; 4],
                ..Default::default()
            },
        ),
        (
            "vtspad",
            VideoAlignment {
                padding_top: 2,
                padding_left: 16,
                padding_right: 4,
                padding_bottom: 6,
                stride_align: [63; 4],
            },
        ),
    ] {
        let before = ledger::snapshot().site(name);
        let mut a = AllocationQuery::new(Caps::new_any(), true);
        a.add_video_meta(Some(align));
        let (_, aligned) = vts_frames(name, Some(a));
        assert_eq!(aligned.len(), 3, "{name}");
        for (n, (b, d)) in aligned.iter().zip(&plain).enumerate() {
            let meta = b.meta::<VideoMeta>().expect("a VideoMeta");
            assert_eq!((meta.width, meta.height), (100, 30), "{name}");
            assert_eq!(meta.format, VideoFormat::I420);
            for p in 0..meta.n_planes {
                assert_eq!(meta.stride[p] % 64, 0, "{name}: plane {p}: {meta:?}");
                assert!(meta.stride[p] >= info.plane_row_bytes(p));
            }
            assert_eq!(
                visible(&info, b, &meta.offset, &meta.stride),
                visible(&info, d, &info.offsets(), &info.strides()),
                "{name}: frame {n}: the visible pixels differ from the default layout's"
            );
        }
        let after = ledger::snapshot().site(name);
        assert_eq!(
            after.copies.count, before.copies.count,
            "{name}: rendering into the aligned layout copies nothing"
        );
    }
}

/// A source that pushes in bursts and pauses (so the queue's thread parks and is woken
/// again and again), with flushes in between: every buffer pushed after the last flush
/// arrives, in order, nothing from before a flush arrives after it, and EOS still gets
/// through. A lost wake-up hangs `wait_for`; a lost or reordered buffer fails the
/// comparison.
#[test]
fn queue_parks_wakes_and_flushes_without_losing_or_reordering() {
    let r = registry();
    let mut p = Pipeline::new("qstress");
    let up = add(&mut p, &r, "identity", "qsup", &[]);
    let q = add(&mut p, &r, "queue", "qsqq", &[("max-size-buffers", "4")]);
    let k = add(&mut p, &r, "testsink", "qsk", &[]);
    Pipeline::link_many(&[&up, &q, &k]).unwrap();
    let pad = up.src_pad().unwrap();
    let sink = TestSink::of(&k);
    p.set_state(State::Playing).unwrap();

    const N: u64 = 3000;
    let mut last_flush_at = 0;
    for n in 0..N {
        if n % 997 == 996 {
            assert!(pad.push_event(Event::FlushStart));
            assert!(pad.push_event(Event::FlushStop { reset_time: true }));
            last_flush_at = sink.seen().len();
        }
        let mut b = penstock::buffer::BufferMut::with_size(4).unwrap();
        b.set_offset(Some(n));
        assert_eq!(pad.push(b.freeze()), Ok(()), "buffer {n}");
        if n % 37 == 0 {
            // Let the queue drain and its thread park.
            std::thread::sleep(Duration::from_micros(300));
        }
    }
    assert!(pad.push_event(Event::Eos));
    wait_for("EOS at the sink", || k.sink_pad().unwrap().is_eos());

    let seen = sink.offsets();
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "offsets go up: {seen:?}"
    );
    // Everything pushed after the last flush (at 2990) arrived; of what was pushed
    // before, at most the buffer being handed on when the flush came.
    let last_flush = 2990;
    let after: Vec<u64> = seen.iter().copied().filter(|&o| o >= last_flush).collect();
    assert_eq!(after, (last_flush..N).collect::<Vec<_>>());
    assert!(seen.len() - last_flush_at <= after.len() + 1, "{seen:?}");
    assert_eq!(uint(&q, "current-level-buffers"), 0);

    let p = bounded("stopping", move || {
        p.set_state(State::Null).unwrap();
        p
    });
    assert_threads_gone(&["qsqq:"]);
    drop(p);
}
