//! The runtime, exercised with test elements defined here: pads and linking, states,
//! events, queries, the bus, the allocation-query merge, properties and the registry.
//!
//! Every pipeline run goes through `Pipeline::run` with a timeout, and every wait is a
//! bounded poll, so a regression fails instead of hanging. Element and pipeline names are
//! unique per test: the ledger and the thread names are process-wide.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use penstock::allocator::AllocationParams;
use penstock::basesrc::{BaseSrc, PushSource};
use penstock::buffer::{Buffer, BufferMut};
use penstock::bus::{Bus, Message, MessageKind};
use penstock::caps::{Caps, CapsMismatch};
use penstock::element::{
    Element, ElementError, ElementFactory, ElementImpl, MakeError, PropType, PropValue,
    PropertyError, PropertySpec, Registry, State, StateChange,
};
use penstock::event::{Event, Format, Segment};
use penstock::flow::{FlowError, FlowResult};
use penstock::meta::{Meta, MetaApi, MetaParams, MetaTransform};
use penstock::pad::{LinkError, Pad, PadDirection, PadPresence, PadTemplate};
use penstock::pipeline::{Pipeline, PipelineError};
use penstock::pool::{AcquireParams, BufferPool};
use penstock::query::{AllocationQuery, CapsQuery, MetaProposal, Query};
use penstock::{ClockTime, PoolConfig};

const RUN_TIMEOUT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------
// Test elements.

/// A layout meta (as a video frame's) for the allocation query tests.
#[derive(Debug)]
struct LayoutMeta;

/// A crop meta for the allocation query tests.
#[derive(Debug)]
struct CropMeta;

impl Meta for LayoutMeta {
    fn name(&self) -> &'static str {
        "LayoutMeta"
    }
    fn transform(&self, _t: &MetaTransform) -> Option<Box<dyn Meta>> {
        None
    }
}

impl Meta for CropMeta {
    fn name(&self) -> &'static str {
        "CropMeta"
    }
    fn transform(&self, _t: &MetaTransform) -> Option<Box<dyn Meta>> {
        None
    }
}

fn layout_api() -> MetaApi {
    MetaApi::of::<LayoutMeta>()
}

fn crop_api() -> MetaApi {
    MetaApi::of::<CropMeta>()
}

/// What a consumer asks with [`LayoutMeta`]: rows of padding and a stride mask; tee
/// branches merge to the most padding and the union of the masks.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Needs {
    padding: u32,
    stride_mask: u32,
}

impl MetaParams for Needs {
    fn merge(&self, other: &dyn MetaParams) -> Arc<dyn MetaParams> {
        let any: &dyn std::any::Any = other;
        let o = any.downcast_ref::<Needs>().copied().unwrap_or_default();
        Arc::new(Needs {
            padding: self.padding.max(o.padding),
            stride_mask: self.stride_mask | o.stride_mask,
        })
    }
    fn same(&self, other: &dyn MetaParams) -> bool {
        let any: &dyn std::any::Any = other;
        any.downcast_ref::<Needs>() == Some(self)
    }
}

fn needs(n: Option<Needs>) -> Option<Arc<dyn MetaParams>> {
    n.map(|n| Arc::new(n) as Arc<dyn MetaParams>)
}

/// What a probe's sink answers to the allocation query.
#[derive(Clone, Default)]
struct AllocAnswer {
    pool: Option<(usize, u32, u32)>,
    params: Option<AllocationParams>,
    metas: Vec<(MetaApi, Option<Needs>)>,
}

/// One element type for sinks, pass-throughs and pad holders: it records what reaches
/// its sink pads, forwards to its source pads when it has any, and can be told to fail.
#[derive(Default)]
struct Probe {
    log: Mutex<Vec<String>>,
    received: AtomicU64,
    /// Post an error and return `FlowError::Error` on this buffer (1-based).
    fail_after: Mutex<Option<u64>>,
    fail_change: Mutex<Option<StateChange>>,
    alloc: Mutex<Option<AllocAnswer>>,
    /// State changes of several elements, in order.
    journal: Mutex<Option<Arc<Mutex<Vec<String>>>>>,
}

impl Probe {
    fn of(e: &Element) -> &Probe {
        e.implementation_as::<Probe>().expect("a probe")
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn note(&self, s: String) {
        self.log.lock().unwrap().push(s);
    }
}

impl ElementImpl for Probe {
    fn change_state(&self, element: &Element, change: StateChange) -> Result<(), ElementError> {
        if let Some(j) = &*self.journal.lock().unwrap() {
            j.lock()
                .unwrap()
                .push(format!("{}:{change:?}", element.name()));
        }
        if *self.fail_change.lock().unwrap() == Some(change) {
            return Err(ElementError::new(format!(
                "{} refuses {change:?}",
                element.name()
            )));
        }
        if change == StateChange::ReadyToPaused {
            self.received.store(0, Ordering::Relaxed);
        }
        Ok(())
    }

    fn chain(&self, element: &Element, _pad: &Pad, buffer: Buffer) -> FlowResult {
        let n = self.received.fetch_add(1, Ordering::Relaxed) + 1;
        self.note(format!(
            "buffer:{}",
            buffer.offset().map_or(-1, |o| o as i64)
        ));
        if *self.fail_after.lock().unwrap() == Some(n) {
            element.post_error(&format!("{} gives up at buffer {n}", element.name()), None);
            return Err(FlowError::Error);
        }
        match element.src_pad() {
            Some(src) => src.push(buffer),
            None => Ok(()),
        }
    }

    fn sink_event(&self, element: &Element, _pad: &Pad, event: Event) -> bool {
        self.note(format!("event:{}", event.name()));
        if !element.src_pads().is_empty() {
            return element.forward_event_downstream(event);
        }
        if event == Event::Eos {
            element.post(MessageKind::Eos);
        }
        true
    }

    fn query(&self, element: &Element, pad: &Pad, query: &mut Query) -> bool {
        if let Query::Allocation(q) = query {
            if element.src_pads().is_empty() {
                let Some(a) = self.alloc.lock().unwrap().clone() else {
                    return false;
                };
                if let Some((size, min, max)) = a.pool {
                    q.add_pool(None, size, min, max);
                }
                if let Some(p) = a.params {
                    q.add_allocator(None, p);
                }
                for (api, align) in a.metas {
                    q.add_meta_api(api, needs(align));
                }
                return true;
            }
        }
        element.default_query(pad, query)
    }
}

/// A push source with its own pool (4 buffers at most), configurable caps and a buffer
/// count.
struct ScriptSrc {
    caps: Mutex<Caps>,
    num_buffers: AtomicI64,
    produced: AtomicU64,
    pool: BufferPool,
}

impl Default for ScriptSrc {
    fn default() -> Self {
        let pool = BufferPool::new("runtime-script-src");
        pool.set_config(PoolConfig::new(64).min_max(2, 4)).unwrap();
        ScriptSrc {
            caps: Mutex::new(Caps::new_any()),
            num_buffers: AtomicI64::new(-1),
            produced: AtomicU64::new(0),
            pool,
        }
    }
}

impl ScriptSrc {
    fn of(e: &Element) -> &ScriptSrc {
        e.implementation_as::<BaseSrc<ScriptSrc>>()
            .expect("a script source")
            .source()
    }
}

impl PushSource for ScriptSrc {
    fn caps(&self, _e: &Element) -> Caps {
        self.caps.lock().unwrap().clone()
    }
    fn start(&self, _e: &Element) -> Result<(), ElementError> {
        self.produced.store(0, Ordering::Relaxed);
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
    fn create(&self, _e: &Element) -> Result<Buffer, FlowError> {
        let n = self.produced.fetch_add(1, Ordering::Relaxed);
        let limit = self.num_buffers.load(Ordering::Relaxed);
        if limit >= 0 && n >= limit as u64 {
            return Err(FlowError::Eos);
        }
        let mut b = self
            .pool
            .acquire(AcquireParams::default())
            .map_err(|_| FlowError::Flushing)?;
        b.set_offset(Some(n));
        b.set_pts(Some(ClockTime::from_mseconds(n)));
        Ok(b.freeze())
    }
    fn set_property(&self, e: &Element, name: &str, v: PropValue) -> Result<(), PropertyError> {
        match (name, v) {
            ("num-buffers", PropValue::Int(n)) => self.num_buffers.store(n, Ordering::Relaxed),
            (_, v) => return Err(PropertyError::not_writable(e, name, &v)),
        }
        Ok(())
    }
    fn property(&self, _e: &Element, name: &str) -> Option<PropValue> {
        (name == "num-buffers").then(|| PropValue::Int(self.num_buffers.load(Ordering::Relaxed)))
    }
}

fn caps(s: &str) -> Caps {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn tpl(name: &'static str, dir: PadDirection, presence: PadPresence, c: &str) -> PadTemplate {
    let c = if c == "ANY" { Caps::new_any() } else { caps(c) };
    PadTemplate::new(name, dir, presence, c)
}

fn probe_factory(name: &'static str, pads: Vec<PadTemplate>) -> ElementFactory {
    ElementFactory {
        name,
        long_name: "probe",
        klass: "Testing",
        description: "records what reaches it",
        properties: vec![],
        pad_templates: pads,
        create: || Box::new(Probe::default()),
    }
}

const RESTRICTED_SINK: &str = "video/x-raw, format={ NV12, I420 }, width=[ 1, 1000 ]";

fn registry() -> Registry {
    use PadDirection::{Sink, Src};
    use PadPresence::{Always, Request};
    let mut r = Registry::new();
    r.register(probe_factory(
        "probe-sink",
        vec![tpl("sink", Sink, Always, "ANY")],
    ));
    r.register(probe_factory(
        "probe-pass",
        vec![
            tpl("sink", Sink, Always, "ANY"),
            tpl("src", Src, Always, "ANY"),
        ],
    ));
    r.register(probe_factory(
        "probe-srcpad",
        vec![tpl("src", Src, Always, "ANY")],
    ));
    r.register(probe_factory(
        "probe-req",
        vec![
            tpl("sink", Sink, Always, "ANY"),
            tpl("src_%u", Src, Request, "ANY"),
        ],
    ));
    r.register(probe_factory(
        "probe-src-nv12",
        vec![tpl("src", Src, Always, "video/x-raw, format=NV12")],
    ));
    r.register(probe_factory(
        "probe-sink-i420",
        vec![tpl("sink", Sink, Always, "video/x-raw, format=I420")],
    ));
    r.register(probe_factory(
        "probe-sink-restricted",
        vec![tpl("sink", Sink, Always, RESTRICTED_SINK)],
    ));
    r.register(probe_factory(
        "probe-pass-wide",
        vec![
            tpl("sink", Sink, Always, "ANY"),
            tpl("src", Src, Always, "video/x-raw, width=[ 500, 2000 ]"),
        ],
    ));
    r.register(ElementFactory {
        name: "script-src",
        long_name: "script source",
        klass: "Source",
        description: "pooled buffers, configurable caps",
        properties: vec![PropertySpec::new(
            "num-buffers",
            "buffers before EOS",
            PropType::Int { min: -1, max: 1000 },
            PropValue::Int(-1),
        )],
        pad_templates: vec![tpl("src", Src, Always, "ANY")],
        create: || Box::new(BaseSrc::new(ScriptSrc::default())),
    });
    r
}

/// Makes `factory` named `name` and adds it to `p`.
fn add(p: &mut Pipeline, r: &Registry, factory: &str, name: &str) -> Element {
    let e = r.make(factory, Some(name)).unwrap();
    p.add(e.clone()).unwrap();
    e
}

fn run(p: &Pipeline) -> Result<penstock::pipeline::RunReport, PipelineError> {
    p.run(Some(RUN_TIMEOUT), || false, |_| {})
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Names of this process's threads that start with `prefix` (Linux: `/proc/self/task`).
fn threads_named(prefix: &str) -> Vec<String> {
    // Miri isolates the file system; the normal test run checks the threads.
    if cfg!(miri) {
        return Vec::new();
    }
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    dir.filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|c| c.trim_end().to_owned())
        .filter(|c| c.starts_with(prefix))
        .collect()
}

fn state_changes(msgs: &[Message]) -> Vec<(String, State, State)> {
    msgs.iter()
        .filter_map(|m| match m.kind {
            MessageKind::StateChanged { old, new } => Some((m.source.clone(), old, new)),
            _ => None,
        })
        .collect()
}

fn buffer(offset: u64) -> Buffer {
    let mut b = BufferMut::with_size(8).unwrap();
    b.set_offset(Some(offset));
    b.freeze()
}

// ---------------------------------------------------------------------------------------
// Linking.

#[test]
fn link_refuses_the_wrong_direction_naming_both_pads() {
    let r = registry();
    let mut p = Pipeline::new("pdir");
    let a = add(&mut p, &r, "probe-pass", "a");
    let b = add(&mut p, &r, "probe-pass", "b");
    let (a_src, a_sink) = (a.pad("src").unwrap(), a.pad("sink").unwrap());
    let (b_src, b_sink) = (b.pad("src").unwrap(), b.pad("sink").unwrap());
    for (x, y) in [(&a_sink, &b_src), (&a_src, &b_src), (&a_sink, &b_sink)] {
        let e = Pad::link(x, y).unwrap_err();
        assert!(
            matches!(&e, LinkError::WrongDirection { src, sink } if *src == x.path() && *sink == y.path()),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(msg.contains(&x.path()) && msg.contains(&y.path()), "{msg}");
        assert!(!x.is_linked() && !y.is_linked());
    }
    assert_eq!(a_src.path(), "pdir/a:src");
}

#[test]
fn link_refuses_a_linked_pad_naming_both_pads_and_the_current_peer() {
    let r = registry();
    let mut p = Pipeline::new("plinked");
    let a = add(&mut p, &r, "probe-pass", "a");
    let b = add(&mut p, &r, "probe-sink", "b");
    let c = add(&mut p, &r, "probe-sink", "c");
    let d = add(&mut p, &r, "probe-srcpad", "d");
    Pad::link(&a.pad("src").unwrap(), &b.pad("sink").unwrap()).unwrap();

    // The source side is taken.
    let e = Pad::link(&a.pad("src").unwrap(), &c.pad("sink").unwrap()).unwrap_err();
    match &e {
        LinkError::AlreadyLinked {
            src,
            sink,
            busy,
            peer,
        } => {
            assert_eq!(src, "plinked/a:src");
            assert_eq!(sink, "plinked/c:sink");
            assert_eq!(busy, "plinked/a:src");
            assert_eq!(peer, "plinked/b:sink");
        }
        other => panic!("{other:?}"),
    }
    let msg = e.to_string();
    for part in ["plinked/a:src", "plinked/c:sink", "plinked/b:sink"] {
        assert!(msg.contains(part), "{part} missing: {msg}");
    }

    // The sink side is taken.
    let e = Pad::link(&d.pad("src").unwrap(), &b.pad("sink").unwrap()).unwrap_err();
    assert!(
        matches!(&e, LinkError::AlreadyLinked { busy, peer, .. }
            if busy == "plinked/b:sink" && peer == "plinked/a:src"),
        "{e:?}"
    );
    // The failed links changed nothing.
    assert_eq!(b.pad("sink").unwrap().peer(), a.pad("src"));
    assert!(!c.pad("sink").unwrap().is_linked());
    assert!(!d.pad("src").unwrap().is_linked());
}

#[test]
fn link_refuses_caps_with_nothing_in_common_naming_pads_caps_and_field() {
    let r = registry();
    let mut p = Pipeline::new("pcaps");
    let s = add(&mut p, &r, "probe-src-nv12", "nv12src");
    let k = add(&mut p, &r, "probe-sink-i420", "i420sink");
    let e = Pipeline::link_pads(&s, None, &k, None).unwrap_err();
    match &e {
        LinkError::NoCommonCaps {
            src,
            sink,
            src_caps,
            sink_caps,
            mismatch,
        } => {
            assert_eq!(src, "pcaps/nv12src:src");
            assert_eq!(sink, "pcaps/i420sink:sink");
            assert_eq!(*src_caps, caps("video/x-raw, format=NV12"));
            assert_eq!(*sink_caps, caps("video/x-raw, format=I420"));
            assert!(
                matches!(&**mismatch, CapsMismatch::Field { field, .. } if field == "format"),
                "{mismatch:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    let msg = e.to_string();
    for part in [
        "pcaps/nv12src:src",
        "pcaps/i420sink:sink",
        "format=(string)NV12",
        "format=(string)I420",
        "field 'format'",
    ] {
        assert!(msg.contains(part), "{part} missing: {msg}");
    }
    assert!(!s.pad("src").unwrap().is_linked());
}

#[test]
fn unlink_frees_both_pads_and_pushes_then_fail_not_linked() {
    let r = registry();
    let mut p = Pipeline::new("punlink");
    let s = add(&mut p, &r, "probe-srcpad", "s");
    let k = add(&mut p, &r, "probe-sink", "k");
    let k2 = add(&mut p, &r, "probe-sink", "k2");
    let (src, sink) = Pipeline::link_pads(&s, None, &k, None).unwrap();
    assert_eq!(src.peer().as_ref(), Some(&sink));
    assert_eq!(sink.peer().as_ref(), Some(&src));
    p.set_state(State::Paused).unwrap();
    assert_eq!(src.push(buffer(0)), Ok(()));

    // Unlinking from either side frees both.
    sink.unlink();
    assert!(!src.is_linked() && !sink.is_linked());
    assert_eq!(src.push(buffer(1)), Err(FlowError::NotLinked));
    assert!(
        !src.push_event(Event::Eos),
        "an unlinked pad handles no event"
    );
    src.unlink(); // unlinking an unlinked pad is harmless

    // The freed pads link again, to anything.
    Pad::link(&src, &k2.pad("sink").unwrap()).unwrap();
    assert_eq!(src.push(buffer(2)), Ok(()));
    p.set_state(State::Null).unwrap();
    assert_eq!(Probe::of(&k).log(), vec!["buffer:0"]);
    assert_eq!(Probe::of(&k2).log(), vec!["buffer:2"]);
}

#[test]
fn request_pads_are_numbered_from_their_template() {
    let r = registry();
    let mut p = Pipeline::new("preq");
    let t = add(&mut p, &r, "probe-req", "t");
    assert_eq!(t.src_pads().len(), 0, "request pads exist only on request");
    let p0 = t.request_pad("src_%u").unwrap();
    let p1 = t.request_pad("src_%u").unwrap();
    assert_eq!(p0.name(), "src_0");
    assert_eq!(p1.name(), "src_1");
    assert_eq!(p1.path(), "preq/t:src_1");
    assert_eq!(p0.direction(), PadDirection::Src);
    assert_eq!(p0.template().presence, PadPresence::Request);
    assert_eq!(p0.parent().as_ref(), Some(&t));
    assert_eq!(t.pad("src_1").as_ref(), Some(&p1));
    assert_eq!(t.src_pads(), vec![p0.clone(), p1.clone()]);

    let e = t.request_pad("sink_%u").unwrap_err();
    assert!(
        e.message.contains("preq/t") && e.message.contains("sink_%u"),
        "{e}"
    );
    let e = t.request_pad("sink").unwrap_err();
    assert!(e.message.contains("no request pad template"), "{e}");

    // Linking without a pad name takes a free request pad first, then makes a new one.
    let a = add(&mut p, &r, "probe-sink", "a");
    let b = add(&mut p, &r, "probe-sink", "b");
    let c = add(&mut p, &r, "probe-sink", "c");
    let (la, _) = Pipeline::link_pads(&t, None, &a, None).unwrap();
    let (lb, _) = Pipeline::link_pads(&t, None, &b, None).unwrap();
    let (lc, _) = Pipeline::link_pads(&t, None, &c, None).unwrap();
    assert_eq!(
        [la.name(), lb.name(), lc.name()],
        ["src_0", "src_1", "src_2"]
    );
}

#[test]
fn linking_by_pad_name() {
    let r = registry();
    let mut p = Pipeline::new("pname");
    let t = add(&mut p, &r, "probe-req", "t");
    let a = add(&mut p, &r, "probe-sink", "a");
    let b = add(&mut p, &r, "probe-sink", "b");
    let c = add(&mut p, &r, "probe-sink", "c");
    let pass = add(&mut p, &r, "probe-pass", "pass");

    // A request pad asked for by name gets that name, whatever the order.
    let (s1, k) = Pipeline::link_pads(&t, Some("src_1"), &a, Some("sink")).unwrap();
    assert_eq!(s1.name(), "src_1");
    assert_eq!(k.path(), "pname/a:sink");
    let (s0, _) = Pipeline::link_pads(&t, Some("src_0"), &b, None).unwrap();
    assert_eq!(s0.name(), "src_0");
    // An unnamed request after named ones does not reuse a taken name.
    let (s2, _) = Pipeline::link_pads(&t, None, &c, None).unwrap();
    assert_eq!(s2.name(), "src_2");
    assert_eq!(t.src_pads().len(), 3);

    // An existing pad that is taken.
    let e = Pipeline::link_pads(&t, Some("src_1"), &pass, None).unwrap_err();
    assert!(
        matches!(&e, LinkError::AlreadyLinked { busy, peer, .. }
            if busy == "pname/t:src_1" && peer == "pname/a:sink"),
        "{e:?}"
    );
    // No such pad, or a pad of the wrong direction.
    let e = Pipeline::link_pads(&pass, Some("nosuch"), &a, None).unwrap_err();
    assert!(
        matches!(&e, LinkError::NoPad { element, name: Some(n), .. }
            if element == "pname/pass" && n == "nosuch"),
        "{e:?}"
    );
    assert!(e.to_string().contains("'nosuch'"), "{e}");
    let e = Pipeline::link_pads(&pass, Some("sink"), &a, None).unwrap_err();
    assert!(matches!(e, LinkError::NoPad { .. }), "{e:?}");
    // A name that only looks like the template's is no request.
    let e = Pipeline::link_pads(&t, Some("src_x"), &pass, None).unwrap_err();
    assert!(matches!(e, LinkError::NoPad { .. }), "{e:?}");
    assert_eq!(t.src_pads().len(), 3, "no pad made for a bad name");
}

#[test]
fn pipelines_refuse_duplicate_names() {
    let r = registry();
    let mut p = Pipeline::new("pdup");
    add(&mut p, &r, "probe-sink", "same");
    let e = p
        .add(r.make("probe-pass", Some("same")).unwrap())
        .unwrap_err();
    assert!(
        matches!(&e, PipelineError::DuplicateName { pipeline, name } if pipeline == "pdup" && name == "same"),
        "{e:?}"
    );
    assert_eq!(p.elements().len(), 1);
}

// ---------------------------------------------------------------------------------------
// States.

#[test]
fn states_go_up_and_down_one_step_at_a_time_with_messages_in_order() {
    let r = registry();
    let mut p = Pipeline::new("pst");
    let s = add(&mut p, &r, "probe-srcpad", "s");
    let m = add(&mut p, &r, "probe-pass", "m");
    let k = add(&mut p, &r, "probe-sink", "k");
    Pipeline::link_many(&[&s, &m, &k]).unwrap();
    let journal = Arc::new(Mutex::new(Vec::new()));
    for e in [&s, &m, &k] {
        *Probe::of(e).journal.lock().unwrap() = Some(Arc::clone(&journal));
        assert_eq!(e.state(), State::Null);
    }
    let sc = |e: &Element, old, new| (e.path(), old, new);
    use State::*;

    // Upwards: sinks first.
    for (target, from) in [(Ready, Null), (Paused, Ready), (Playing, Paused)] {
        p.set_state(target).unwrap();
        for e in [&s, &m, &k] {
            assert_eq!(e.state(), target);
        }
        assert_eq!(
            state_changes(&p.bus().drain()),
            vec![
                sc(&k, from, target),
                sc(&m, from, target),
                sc(&s, from, target)
            ]
        );
    }
    // Setting the current state again changes nothing.
    p.set_state(Playing).unwrap();
    assert!(state_changes(&p.bus().drain()).is_empty());

    // Downwards, one step at a time: sources first.
    for (target, from) in [(Paused, Playing), (Ready, Paused), (Null, Ready)] {
        p.set_state(target).unwrap();
        assert_eq!(
            state_changes(&p.bus().drain()),
            vec![
                sc(&s, from, target),
                sc(&m, from, target),
                sc(&k, from, target)
            ]
        );
    }
    assert_eq!(
        journal.lock().unwrap().clone(),
        [
            "k:NullToReady",
            "m:NullToReady",
            "s:NullToReady",
            "k:ReadyToPaused",
            "m:ReadyToPaused",
            "s:ReadyToPaused",
            "k:PausedToPlaying",
            "m:PausedToPlaying",
            "s:PausedToPlaying",
            "s:PlayingToPaused",
            "m:PlayingToPaused",
            "k:PlayingToPaused",
            "s:PausedToReady",
            "m:PausedToReady",
            "k:PausedToReady",
            "s:ReadyToNull",
            "m:ReadyToNull",
            "k:ReadyToNull",
        ]
    );

    // Null to Playing in one call still goes through every state, per element in order.
    p.set_state(Playing).unwrap();
    p.set_state(Null).unwrap();
    let changes = state_changes(&p.bus().drain());
    for e in [&s, &m, &k] {
        let mine: Vec<(State, State)> = changes
            .iter()
            .filter(|c| c.0 == e.path())
            .map(|c| (c.1, c.2))
            .collect();
        assert_eq!(
            mine,
            [
                (Null, Ready),
                (Ready, Paused),
                (Paused, Playing),
                (Playing, Paused),
                (Paused, Ready),
                (Ready, Null)
            ],
            "{}",
            e.path()
        );
    }
}

#[test]
fn a_failing_state_change_names_the_element_and_leaves_the_pipeline_in_null() {
    let r = registry();
    let mut p = Pipeline::new("pfail");
    let s = add(&mut p, &r, "probe-srcpad", "s");
    let bad = add(&mut p, &r, "probe-pass", "bad");
    let k = add(&mut p, &r, "probe-sink", "k");
    Pipeline::link_many(&[&s, &bad, &k]).unwrap();
    *Probe::of(&bad).fail_change.lock().unwrap() = Some(StateChange::ReadyToPaused);

    let e = p.set_state(State::Playing).unwrap_err();
    match &e {
        PipelineError::Element {
            source_path,
            message,
            ..
        } => {
            assert_eq!(source_path, "pfail/bad");
            assert!(message.contains("refuses ReadyToPaused"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("pfail/bad"), "{e}");
    for el in [&s, &bad, &k] {
        assert_eq!(el.state(), State::Null, "{}", el.path());
    }
    let msgs = p.bus().drain();
    assert!(
        msgs.iter().any(|m| m.source == "pfail/bad"
            && matches!(&m.kind, MessageKind::Error { message, .. } if message.contains("refuses"))),
        "{msgs:?}"
    );
    // The sink had reached Paused before the failure: it came back down.
    let ks: Vec<_> = state_changes(&msgs)
        .into_iter()
        .filter(|c| c.0 == "pfail/k")
        .map(|c| (c.1, c.2))
        .collect();
    assert_eq!(
        ks,
        [
            (State::Null, State::Ready),
            (State::Ready, State::Paused),
            (State::Paused, State::Ready),
            (State::Ready, State::Null)
        ]
    );

    // run() reports the same failure and does not hang.
    let e = run(&p).unwrap_err();
    assert!(
        matches!(&e, PipelineError::Element { source_path, .. } if source_path == "pfail/bad"),
        "{e:?}"
    );
    for el in [&s, &bad, &k] {
        assert_eq!(el.state(), State::Null);
    }
}

#[test]
fn a_failing_downward_state_change_still_takes_every_other_element_down() {
    let r = registry();
    let mut p = Pipeline::new("pdown");
    let s = add(&mut p, &r, "probe-srcpad", "s");
    let bad = add(&mut p, &r, "probe-pass", "bad");
    let k = add(&mut p, &r, "probe-sink", "k");
    Pipeline::link_many(&[&s, &bad, &k]).unwrap();
    *Probe::of(&bad).fail_change.lock().unwrap() = Some(StateChange::PausedToReady);
    p.set_state(State::Playing).unwrap();

    let e = p.set_state(State::Null).unwrap_err();
    assert!(
        matches!(&e, PipelineError::Element { source_path, .. } if source_path == "pdown/bad"),
        "{e:?}"
    );
    // The elements that can go down did, even the one after the failing element.
    assert_eq!(s.state(), State::Null);
    assert_eq!(k.state(), State::Null);
    assert_eq!(bad.state(), State::Paused);
    // Once the element stops refusing, the pipeline reaches Null.
    *Probe::of(&bad).fail_change.lock().unwrap() = None;
    p.set_state(State::Null).unwrap();
    assert_eq!(bad.state(), State::Null);
}

// ---------------------------------------------------------------------------------------
// Events.

#[test]
fn sticky_events_reach_the_sink_in_order_before_the_first_buffer() {
    let r = registry();
    let mut p = Pipeline::new("pev");
    let s = add(&mut p, &r, "script-src", "evsrc");
    let m = add(&mut p, &r, "probe-pass", "evpass");
    let k = add(&mut p, &r, "probe-sink", "evsink");
    Pipeline::link_many(&[&s, &m, &k]).unwrap();
    s.set_property_str("num-buffers", "3").unwrap();
    *ScriptSrc::of(&s).caps.lock().unwrap() =
        caps("video/x-raw, format=GRAY8, width=[ 1, 64 ], height=2, framerate=30/1");

    run(&p).unwrap();
    let expected_log = [
        "event:stream-start",
        "event:caps",
        "event:segment",
        "buffer:0",
        "buffer:1",
        "buffer:2",
        "event:eos",
    ];
    assert_eq!(Probe::of(&k).log(), expected_log);
    assert_eq!(Probe::of(&m).log(), expected_log);

    // The fixed caps and the other sticky events stay readable on the pads.
    let fixed = caps("video/x-raw, format=GRAY8, width=1, height=2, framerate=30/1");
    for pad in [
        s.src_pad().unwrap(),
        m.sink_pad().unwrap(),
        m.src_pad().unwrap(),
        k.sink_pad().unwrap(),
    ] {
        assert_eq!(pad.current_caps().as_ref(), Some(&fixed), "{pad:?}");
        assert_eq!(
            pad.sticky_event("caps"),
            Some(Event::Caps(fixed.clone())),
            "{pad:?}"
        );
        assert_eq!(
            pad.sticky_event("stream-start"),
            Some(Event::StreamStart {
                stream_id: "pev/evsrc/src".into()
            })
        );
        assert_eq!(
            pad.sticky_event("segment"),
            Some(Event::Segment(Segment::new(Format::Time)))
        );
        assert_eq!(pad.sticky_event("eos"), None, "EOS is not sticky");
        assert!(pad.is_eos(), "{pad:?}");
    }
    assert_eq!(k.sink_pad().unwrap().buffers(), 3);
}

#[test]
fn eos_makes_the_sink_post_eos_and_run_return_ok() {
    let r = registry();
    let mut p = Pipeline::new("peos");
    let s = add(&mut p, &r, "script-src", "eossrc");
    let k1 = add(&mut p, &r, "probe-sink", "eosk");
    Pipeline::link_many(&[&s, &k1]).unwrap();
    s.set_property("num-buffers", PropValue::Int(0)).unwrap();
    let report = run(&p).unwrap();
    assert!(report.warnings.is_empty());
    // The sink posted EOS (it was the message that ended the run, so it is gone from the
    // bus); its log says why.
    assert_eq!(
        Probe::of(&k1).log(),
        ["event:stream-start", "event:segment", "event:eos"]
    );
    assert_eq!(s.state(), State::Null);
    assert_eq!(k1.state(), State::Null);
}

#[test]
fn flush_start_refuses_pushes_until_flush_stop_and_eos_refuses_chains() {
    let r = registry();
    let mut p = Pipeline::new("pflush");
    let s = add(&mut p, &r, "probe-srcpad", "s");
    let m = add(&mut p, &r, "probe-pass", "m");
    let k = add(&mut p, &r, "probe-sink", "k");
    Pipeline::link_many(&[&s, &m, &k]).unwrap();
    let src = s.src_pad().unwrap();

    // Before streaming starts, pads are flushing.
    assert_eq!(src.push(buffer(99)), Err(FlowError::Flushing));
    p.set_state(State::Paused).unwrap();
    assert_eq!(src.push(buffer(0)), Ok(()));

    assert!(src.push_event(Event::FlushStart));
    assert!(src.is_flushing());
    assert!(m.sink_pad().unwrap().is_flushing());
    assert!(
        k.sink_pad().unwrap().is_flushing(),
        "flush-start travels on"
    );
    assert_eq!(src.push(buffer(1)), Err(FlowError::Flushing));
    // Serialized events are refused while flushing.
    assert!(!src.push_event(Event::Segment(Segment::new(Format::Time))));

    assert!(src.push_event(Event::FlushStop { reset_time: true }));
    assert!(!k.sink_pad().unwrap().is_flushing());
    assert_eq!(src.push(buffer(2)), Ok(()));

    // After EOS, chains return Eos, until a flush.
    assert!(src.push_event(Event::Eos));
    assert!(k.sink_pad().unwrap().is_eos());
    assert_eq!(src.push(buffer(3)), Err(FlowError::Eos));
    assert!(src.push_event(Event::FlushStart));
    assert!(src.push_event(Event::FlushStop { reset_time: false }));
    assert!(!k.sink_pad().unwrap().is_eos());
    assert_eq!(src.push(buffer(4)), Ok(()));

    assert_eq!(
        Probe::of(&k).log(),
        [
            "buffer:0",
            "event:flush-start",
            "event:flush-stop",
            "buffer:2",
            "event:eos",
            "event:flush-start",
            "event:flush-stop",
            "buffer:4",
        ]
    );
    let msgs = p.bus().drain();
    assert!(
        msgs.iter()
            .any(|m| m.source == "pflush/k" && m.kind == MessageKind::Eos),
        "{msgs:?}"
    );
    p.set_state(State::Null).unwrap();
    assert!(src.is_flushing(), "stopped pads flush");
    assert_eq!(src.push(buffer(5)), Err(FlowError::Flushing));
}

// ---------------------------------------------------------------------------------------
// Queries.

#[test]
fn caps_queries_proxy_through_elements_and_intersect_templates() {
    let r = registry();
    let mut p = Pipeline::new("pq");
    let s = add(&mut p, &r, "probe-srcpad", "s");
    let m = add(&mut p, &r, "probe-pass-wide", "m");
    let k = add(&mut p, &r, "probe-sink-restricted", "k");
    Pipeline::link_many(&[&s, &m, &k]).unwrap();
    let src = s.src_pad().unwrap();

    let all = src.peer_caps(None);
    assert!(
        all.is_equal(&caps(
            "video/x-raw, format={ NV12, I420 }, width=[ 500, 1000 ]"
        )),
        "{all}"
    );
    let within = src.peer_caps(Some(&caps("video/x-raw, format=I420")));
    assert!(
        within.is_equal(&caps("video/x-raw, format=I420, width=[ 500, 1000 ]")),
        "{within}"
    );
    let none = src.peer_caps(Some(&caps("video/x-raw, format=RGB")));
    assert!(none.is_empty(), "{none}");

    // The query as an element sees it.
    let mut q = Query::Caps(CapsQuery {
        filter: None,
        result: None,
    });
    assert!(src.peer_query(&mut q));
    assert!(matches!(q, Query::Caps(CapsQuery { result: Some(ref c), .. }) if c.is_equal(&all)));

    // Accept-caps asks all the way down.
    assert!(src.peer_accepts(&caps("video/x-raw, format=NV12, width=600")));
    assert!(!src.peer_accepts(&caps("video/x-raw, format=NV12, width=200")));
    assert!(!src.peer_accepts(&caps("video/x-raw, format=NV12, width=1500")));
    assert!(!src.peer_accepts(&caps("video/x-raw, format=RGB, width=600")));
    assert!(!src.peer_accepts(&caps("audio/x-raw")));

    // An unlinked pad's peer caps: anything within the filter.
    let lone = r
        .make("probe-srcpad", Some("lone"))
        .unwrap()
        .src_pad()
        .unwrap();
    assert!(lone.peer_caps(None).is_any());
    assert!(!lone.peer_accepts(&caps("video/x-raw")));
}

#[test]
fn allocation_queries_reach_the_sink_through_pass_through_elements() {
    let r = registry();
    let mut p = Pipeline::new("palloc");
    let s = add(&mut p, &r, "probe-srcpad", "s");
    let m1 = add(&mut p, &r, "probe-pass", "m1");
    let m2 = add(&mut p, &r, "probe-pass", "m2");
    let k = add(&mut p, &r, "probe-sink", "k");
    Pipeline::link_many(&[&s, &m1, &m2, &k]).unwrap();
    let align = Needs {
        stride_mask: 63,
        ..Default::default()
    };
    let params = AllocationParams {
        align: 127,
        prefix: 16,
        ..Default::default()
    };
    *Probe::of(&k).alloc.lock().unwrap() = Some(AllocAnswer {
        pool: Some((4096, 3, 0)),
        params: Some(params),
        metas: vec![(layout_api(), Some(align))],
    });
    let c = caps("video/x-raw, format=GRAY8, width=64, height=64");
    let mut q = Query::Allocation(AllocationQuery::new(c.clone(), true));
    assert!(s.src_pad().unwrap().peer_query(&mut q));
    let Query::Allocation(q) = q else {
        unreachable!()
    };
    assert_eq!(q.caps, c);
    assert_eq!(q.pools.len(), 1);
    assert_eq!(
        (q.pools[0].size, q.pools[0].min, q.pools[0].max),
        (4096, 3, 0)
    );
    assert_eq!(q.params(), params);
    assert!(q.has_meta::<LayoutMeta>());
    assert!(!q.has_meta::<CropMeta>());
    assert_eq!(q.meta_params::<LayoutMeta, Needs>(), Some(&align));

    // A sink that does not answer: the query is not answered.
    *Probe::of(&k).alloc.lock().unwrap() = None;
    let mut q = Query::Allocation(AllocationQuery::new(c, true));
    assert!(!s.src_pad().unwrap().peer_query(&mut q));
}

fn answer(
    pools: &[(usize, u32, u32)],
    params: &[AllocationParams],
    metas: &[(MetaApi, Option<Needs>)],
) -> AllocationQuery {
    let mut q = AllocationQuery::new(caps("video/x-raw"), true);
    for &(size, min, max) in pools {
        q.add_pool(None, size, min, max);
    }
    for p in params {
        q.add_allocator(None, *p);
    }
    for &(api, a) in metas {
        q.add_meta_api(api, needs(a));
    }
    q
}

#[test]
fn allocation_merge_takes_the_strictest_of_every_branch() {
    let a1 = Needs {
        padding: 8,
        stride_mask: 15,
    };
    let a2 = Needs {
        padding: 4,
        stride_mask: 48,
    };
    let branches = [
        answer(
            &[(1000, 2, 0)],
            &[AllocationParams {
                align: 15,
                prefix: 8,
                ..Default::default()
            }],
            &[(layout_api(), Some(a1)), (crop_api(), None)],
        ),
        answer(
            &[(4000, 4, 10)],
            &[AllocationParams {
                align: 63,
                padding: 32,
                ..Default::default()
            }],
            &[(layout_api(), Some(a2))],
        ),
        answer(&[(2000, 1, 6)], &[], &[(layout_api(), None)]),
    ];
    let mut q = AllocationQuery::new(caps("video/x-raw"), true);
    // Whatever the query held before is replaced.
    q.add_pool(None, 1, 1, 1);
    q.add_meta::<CropMeta>(None);
    q.merge(&branches);

    assert_eq!(q.pools.len(), 1);
    let pool = &q.pools[0];
    assert!(pool.pool.is_none(), "a tee shares no downstream pool");
    assert_eq!(pool.size, 4000, "largest size");
    assert_eq!(pool.min, 4, "largest min");
    assert_eq!(pool.max, 6, "smallest non-zero max");
    assert_eq!(
        q.params(),
        AllocationParams {
            align: 63,
            prefix: 8,
            padding: 32,
            ..Default::default()
        }
    );
    assert_eq!(
        q.metas,
        vec![MetaProposal {
            api: layout_api(),
            params: needs(Some(Needs {
                padding: 8,
                stride_mask: 63,
            })),
        }],
        "only metas every branch has; CropMeta is on one branch only"
    );
}

#[test]
fn allocation_merge_edge_cases() {
    // A max below the largest min is raised to it.
    let mut q = AllocationQuery::new(caps("video/x-raw"), true);
    q.merge(&[
        answer(&[(10, 6, 0)], &[], &[]),
        answer(&[(10, 1, 4)], &[], &[]),
    ]);
    assert_eq!((q.pools[0].min, q.pools[0].max), (6, 6));

    // All maxes unlimited: unlimited.
    let mut q = AllocationQuery::new(caps("video/x-raw"), true);
    q.merge(&[
        answer(&[(10, 1, 0)], &[], &[]),
        answer(&[(20, 2, 0)], &[], &[]),
    ]);
    assert_eq!(
        (q.pools[0].size, q.pools[0].min, q.pools[0].max),
        (20, 2, 0)
    );

    // No pool, no allocator, no meta anywhere: nothing.
    let mut q = AllocationQuery::new(caps("video/x-raw"), true);
    q.add_meta::<LayoutMeta>(None);
    q.merge(&[answer(&[], &[], &[]), answer(&[], &[], &[])]);
    assert!(q.pools.is_empty() && q.allocators.is_empty() && q.metas.is_empty());

    // A branch that understands no meta removes it for everyone, in either order.
    for order in [[0, 1], [1, 0]] {
        let bs = [
            answer(&[], &[], &[(layout_api(), None), (crop_api(), None)]),
            answer(&[], &[], &[(crop_api(), None)]),
        ];
        let mut q = AllocationQuery::new(caps("video/x-raw"), true);
        q.merge(&[bs[order[0]].clone(), bs[order[1]].clone()]);
        let apis: Vec<_> = q.metas.iter().map(|m| m.api.name()).collect();
        assert_eq!(apis, ["CropMeta"], "{order:?}");
    }

    // No branch at all.
    let mut q = AllocationQuery::new(caps("video/x-raw"), true);
    q.merge(&[]);
    assert!(q.pools.is_empty() && q.metas.is_empty());

    // One branch: its answer, minus the pool object.
    let only = answer(
        &[(64, 2, 8)],
        &[AllocationParams {
            align: 31,
            ..Default::default()
        }],
        &[(layout_api(), None)],
    );
    let mut q = AllocationQuery::new(caps("video/x-raw"), true);
    q.merge(std::slice::from_ref(&only));
    assert_eq!(
        (q.pools[0].size, q.pools[0].min, q.pools[0].max),
        (64, 2, 8)
    );
    assert_eq!(q.params().align, 31);
    assert_eq!(q.metas, only.metas);
}

// ---------------------------------------------------------------------------------------
// Errors while streaming.

#[test]
fn a_sink_error_mid_stream_stops_everything_and_returns_every_buffer() {
    let r = registry();
    let mut p = Pipeline::new("perr");
    let s = add(&mut p, &r, "script-src", "errsrc");
    let m = add(&mut p, &r, "probe-pass", "errmid");
    let k = add(&mut p, &r, "probe-sink", "errsink");
    Pipeline::link_many(&[&s, &m, &k]).unwrap();
    *Probe::of(&k).fail_after.lock().unwrap() = Some(3);
    let pool = ScriptSrc::of(&s).pool.clone();

    let e = run(&p).unwrap_err();
    match &e {
        PipelineError::Element {
            source_path,
            message,
            ..
        } => {
            assert_eq!(source_path, "perr/errsink");
            assert!(message.contains("gives up at buffer 3"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("perr/errsink"), "{e}");
    for el in [&s, &m, &k] {
        assert_eq!(el.state(), State::Null);
    }
    // The source stopped at the error: no buffer after the third. (Whether the EOS the
    // source sends after the error gets there before the pipeline flushes is a race.)
    let buffers: Vec<String> = Probe::of(&k)
        .log()
        .into_iter()
        .filter(|l| l.starts_with("buffer"))
        .collect();
    assert_eq!(buffers, ["buffer:0", "buffer:1", "buffer:2"]);
    let stats = pool.stats();
    assert_eq!(stats.outstanding, 0, "{stats:?}");
    assert!(!pool.is_active());
    assert_eq!(stats.freed, stats.allocated, "{stats:?}");
    wait_for("the streaming thread to be gone", || {
        threads_named("errsrc:").is_empty()
    });
}

#[test]
fn an_endless_pipeline_times_out_and_stops() {
    let r = registry();
    let mut p = Pipeline::new("ptimeout");
    let s = add(&mut p, &r, "script-src", "tosrc");
    let k = add(&mut p, &r, "probe-sink", "tosink");
    Pipeline::link_many(&[&s, &k]).unwrap();
    let started = Instant::now();
    // Miri runs far slower: give the source time for a few buffers there too.
    let limit = Duration::from_millis(if cfg!(miri) { 5_000 } else { 200 });
    let e = p.run(Some(limit), || false, |_| {}).unwrap_err();
    assert!(matches!(e, PipelineError::Timeout(_)), "{e:?}");
    assert!(started.elapsed() < RUN_TIMEOUT);
    assert_eq!(s.state(), State::Null);
    assert!(k.sink_pad().unwrap().buffers() > 0);
    assert_eq!(ScriptSrc::of(&s).pool.stats().outstanding, 0);
    wait_for("the streaming thread to be gone", || {
        threads_named("tosrc:").is_empty()
    });

    // A stop request ends a run as well, without an error.
    let mut polls = 0;
    p.run(
        Some(RUN_TIMEOUT),
        || {
            polls += 1;
            polls > 3
        },
        |_| {},
    )
    .unwrap();
    assert_eq!(s.state(), State::Null);
}

// ---------------------------------------------------------------------------------------
// The bus.

#[test]
fn the_bus_keeps_each_posters_order_and_never_blocks() {
    let bus = Bus::new();
    assert_eq!(bus.pop(Some(Duration::from_millis(1))), None);
    assert!(bus.drain().is_empty());
    let posters: Vec<_> = (0..4)
        .map(|t| {
            let bus = bus.clone();
            std::thread::spawn(move || {
                for i in 0..100 {
                    bus.post(
                        format!("t{t}"),
                        MessageKind::Element {
                            name: "n".into(),
                            text: i.to_string(),
                        },
                    );
                }
            })
        })
        .collect();
    for h in posters {
        h.join().unwrap();
    }
    let first = bus.pop(None).unwrap();
    let mut all = vec![first];
    all.extend(bus.drain());
    assert_eq!(all.len(), 400);
    for t in 0..4 {
        let texts: Vec<String> = all
            .iter()
            .filter(|m| m.source == format!("t{t}"))
            .map(|m| match &m.kind {
                MessageKind::Element { text, .. } => text.clone(),
                _ => unreachable!(),
            })
            .collect();
        let expected: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        assert_eq!(texts, expected);
    }
    assert!(bus.drain().is_empty());
}

#[test]
fn an_unread_bus_holds_a_bounded_number_of_messages_but_every_error_and_eos() {
    use penstock::bus::BUS_CAPACITY;
    let bus = Bus::new();
    let element = |i: usize| MessageKind::Element {
        name: "checksum".into(),
        text: i.to_string(),
    };
    for i in 0..BUS_CAPACITY * 3 {
        bus.post("sink", element(i));
    }
    bus.post("sink", MessageKind::Eos);
    bus.post(
        "src",
        MessageKind::Error {
            message: "broken".into(),
            debug: None,
        },
    );
    assert_eq!(bus.dropped(), (BUS_CAPACITY * 2) as u64);
    let all = bus.drain();
    assert_eq!(all.len(), BUS_CAPACITY + 2);
    // The oldest are kept, in order, then the EOS and the error posted past the bound.
    assert_eq!(all[0].kind, element(0));
    assert_eq!(all[BUS_CAPACITY - 1].kind, element(BUS_CAPACITY - 1));
    assert_eq!(all[BUS_CAPACITY].kind, MessageKind::Eos);
    assert!(matches!(
        all[BUS_CAPACITY + 1].kind,
        MessageKind::Error { .. }
    ));
    // Read, it has room again.
    bus.post("sink", element(7));
    assert_eq!(
        bus.pop(Some(Duration::from_millis(10))),
        Some(Message {
            source: "sink".into(),
            kind: element(7),
        })
    );
}

#[test]
fn elements_post_with_their_path_and_without_a_pipeline_post_nowhere() {
    let r = registry();
    let lone = r.make("probe-sink", Some("lone")).unwrap();
    lone.post_warning("nobody listens"); // no bus: nothing happens, nothing panics
    assert_eq!(lone.path(), "lone");

    let mut p = Pipeline::new("pbus");
    let e = add(&mut p, &r, "probe-sink", "poster");
    e.post_warning("careful");
    e.post_error("broken", Some("details".into()));
    assert_eq!(
        p.bus().drain(),
        vec![
            Message {
                source: "pbus/poster".into(),
                kind: MessageKind::Warning {
                    message: "careful".into()
                }
            },
            Message {
                source: "pbus/poster".into(),
                kind: MessageKind::Error {
                    message: "broken".into(),
                    debug: Some("details".into())
                }
            },
        ]
    );
    // A fatal flow error becomes GStreamer's "streaming stopped" error; quiet ones post
    // nothing.
    e.report_flow_error(FlowError::Flushing);
    e.report_flow_error(FlowError::Eos);
    assert!(p.bus().drain().is_empty());
    e.report_flow_error(FlowError::NotNegotiated);
    let m = p.bus().pop(Some(Duration::from_secs(1))).unwrap();
    assert!(
        matches!(&m.kind, MessageKind::Error { message, .. }
            if message.contains("streaming stopped, reason not-negotiated")),
        "{m:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Properties and the registry.

fn spec(ty: PropType, default: PropValue) -> PropertySpec {
    PropertySpec::new("prop", "a property", ty, default)
}

#[test]
fn property_text_parses_per_type() {
    let b = spec(PropType::Bool, PropValue::Bool(false));
    for (t, v) in [
        ("true", true),
        ("YES", true),
        ("1", true),
        ("on", true),
        (" false ", false),
        ("no", false),
        ("0", false),
        ("Off", false),
    ] {
        assert_eq!(b.parse("el", t), Ok(PropValue::Bool(v)), "{t}");
    }
    assert!(b.parse("el", "maybe").is_err());

    let i = spec(
        PropType::Int {
            min: -300,
            max: 300,
        },
        PropValue::Int(0),
    );
    assert_eq!(i.parse("el", "-12"), Ok(PropValue::Int(-12)));
    assert_eq!(i.parse("el", "0x10"), Ok(PropValue::Int(16)));
    assert_eq!(i.parse("el", "0XfF"), Ok(PropValue::Int(255)));
    assert_eq!(i.parse("el", "-0x10"), Ok(PropValue::Int(-16)));
    let e = i.parse("el", "301").unwrap_err();
    match &e {
        PropertyError::BadValue {
            element,
            name,
            value,
            expected,
            why,
        } => {
            assert_eq!(element, "el");
            assert_eq!(name, "prop");
            assert_eq!(value, "301");
            assert_eq!(expected, "an integer in -300..=300");
            assert_eq!(why, "out of range");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("'301'"), "{e}");
    assert!(i.parse("el", "12abc").is_err());
    assert!(i.parse("el", "").is_err());

    let u = spec(PropType::UInt { min: 0, max: 10 }, PropValue::UInt(0));
    assert_eq!(u.parse("el", "0xa"), Ok(PropValue::UInt(10)));
    assert!(u.parse("el", "-1").is_err());
    assert!(u.parse("el", "11").is_err());

    let d = spec(
        PropType::Double { min: 0.0, max: 1.0 },
        PropValue::Double(0.0),
    );
    assert_eq!(d.parse("el", "0.25"), Ok(PropValue::Double(0.25)));
    assert!(d.parse("el", "1.5").is_err());
    assert!(d.parse("el", "NaN").is_err(), "NaN is in no range");

    let s = spec(PropType::String, PropValue::String(String::new()));
    assert_eq!(
        s.parse("el", " keeps spaces "),
        Ok(PropValue::String(" keeps spaces ".into()))
    );

    let c = spec(PropType::Caps, PropValue::Caps(Caps::new_any()));
    assert_eq!(
        c.parse("el", "video/x-raw, width=320"),
        Ok(PropValue::Caps(caps("video/x-raw, width=320")))
    );
    assert!(c.parse("el", "video/x-raw, width=").is_err());

    const VALUES: &[(i32, &str, &str)] = &[(0, "no", "No"), (5, "upstream", "Up")];
    let en = spec(PropType::Enum(VALUES), PropValue::Enum(0));
    assert_eq!(en.parse("el", "UpStream"), Ok(PropValue::Enum(5)));
    assert_eq!(en.parse("el", "5"), Ok(PropValue::Enum(5)));
    assert_eq!(en.parse("el", "0x5"), Ok(PropValue::Enum(5)));
    let e = en.parse("el", "1").unwrap_err();
    assert!(e.to_string().contains("one of no (0), upstream (5)"), "{e}");
    assert!(en.parse("el", "sideways").is_err());

    // Typed values are checked too.
    assert!(i.check("el", PropValue::Bool(true)).is_err());
    assert!(en.check("el", PropValue::Enum(3)).is_err());
    assert_eq!(en.check("el", PropValue::Enum(5)), Ok(PropValue::Enum(5)));
}

#[test]
fn element_properties_are_checked_against_their_specs() {
    let r = registry();
    let mut p = Pipeline::new("pprop");
    let s = add(&mut p, &r, "script-src", "propsrc");
    assert_eq!(s.property("num-buffers"), Some(PropValue::Int(-1)));
    assert_eq!(
        s.property("name"),
        Some(PropValue::String("propsrc".into()))
    );
    s.set_property_str("num-buffers", "0x20").unwrap();
    assert_eq!(s.property("num-buffers"), Some(PropValue::Int(32)));

    let e = s.set_property_str("nosuch", "1").unwrap_err();
    match &e {
        PropertyError::Unknown {
            element,
            name,
            known,
        } => {
            assert_eq!(element, "pprop/propsrc");
            assert_eq!(name, "nosuch");
            assert_eq!(known, "num-buffers");
        }
        other => panic!("{other:?}"),
    }
    let e = s
        .set_property("num-buffers", PropValue::Int(1001))
        .unwrap_err();
    assert!(matches!(e, PropertyError::BadValue { .. }), "{e:?}");
    let e = s
        .set_property("num-buffers", PropValue::String("3".into()))
        .unwrap_err();
    assert!(e.to_string().contains("wrong type"), "{e}");
    assert_eq!(s.property("num-buffers"), Some(PropValue::Int(32)));
    assert_eq!(s.property("nosuch"), None);
}

#[test]
fn the_registry_names_elements_and_suggests_close_names() {
    let r = registry();
    let a = r.make("probe-sink", None).unwrap();
    let b = r.make("probe-sink", None).unwrap();
    let c = r.make("probe-pass", None).unwrap();
    assert_eq!(
        [a.name(), b.name(), c.name()],
        ["probe-sink0", "probe-sink1", "probe-pass0"]
    );
    assert_eq!(r.make("probe-sink", Some("mine")).unwrap().name(), "mine");
    assert_eq!(a.factory().name, "probe-sink");
    assert!(r.find("probe-req").is_some());
    assert!(r.find("nosuch").is_none());
    assert!(r.factories().any(|f| f.name == "script-src"));

    let e = r.make("probe-snk", None).unwrap_err();
    let MakeError::NoSuchElement { name, suggestion } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(name, "probe-snk");
    assert_eq!(suggestion.as_deref(), Some("probe-sink"));
    assert_eq!(
        e.to_string(),
        "no element \"probe-snk\" (did you mean \"probe-sink\"?)"
    );
    let e = r.make("completely-different", None).unwrap_err();
    assert!(
        matches!(
            &e,
            MakeError::NoSuchElement {
                suggestion: None,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "no element \"completely-different\"");
}
