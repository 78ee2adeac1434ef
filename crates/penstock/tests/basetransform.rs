//! The base transform, with test transforms defined here: passthrough, in place, new
//! output buffers from downstream's pool, caps transformed both ways (queries,
//! accept-caps, the caps event, fixation), allocation forwarded or decided, the
//! allocation decided again after a reconfigure.
//!
//! Buffers are pushed from the test thread through a source pad that has no task (as the
//! hops benchmark does), so every step is synchronous. Element names are unique per test:
//! the ledger is process-wide.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use penstock::basetransform::{BaseTransform, Transform, TransformMode};
use penstock::buffer::{Buffer, BufferMut};
use penstock::bus::MessageKind;
use penstock::caps::{Caps, Value};
use penstock::element::{Element, ElementError, ElementFactory, ElementImpl, Registry, State};
use penstock::event::{Event, Format, Segment};
use penstock::flow::{FlowError, FlowResult};
use penstock::pad::{Pad, PadDirection, PadPresence, PadTemplate};
use penstock::pipeline::Pipeline;
use penstock::pool::BufferPool;
use penstock::query::{AllocationQuery, Query};

// ---------------------------------------------------------------------------------------
// Test elements.

/// A source pad pushed on from the test thread; keeps the upstream events reaching it.
#[derive(Default)]
struct Feeder {
    upstream: Mutex<Vec<&'static str>>,
}

impl ElementImpl for Feeder {
    fn src_event(&self, _element: &Element, _pad: &Pad, event: Event) -> bool {
        self.upstream.lock().unwrap().push(event.name());
        true
    }
}

/// A sink that keeps what reaches it and answers the allocation query with its own pool
/// (when it has one) for the caps' `size`.
#[derive(Default)]
struct Collector {
    buffers: Mutex<Vec<Buffer>>,
    caps: Mutex<Vec<Caps>>,
    allocation_queries: AtomicU32,
    pool: Mutex<Option<BufferPool>>,
    /// Answer allocation queries without a pool proposal.
    no_proposal: AtomicBool,
}

impl Feeder {
    fn of(e: &Element) -> &Feeder {
        e.implementation_as::<Feeder>().expect("a feeder")
    }
}

impl Collector {
    fn of(e: &Element) -> &Collector {
        e.implementation_as::<Collector>().expect("a collector")
    }

    fn buffers(&self) -> Vec<Buffer> {
        self.buffers.lock().unwrap().clone()
    }

    fn last_caps(&self) -> Option<Caps> {
        self.caps.lock().unwrap().last().cloned()
    }
}

fn size_of(caps: &Caps) -> Option<usize> {
    let n = caps.structure(0)?.get_int("size")?;
    usize::try_from(n).ok()
}

impl ElementImpl for Collector {
    fn chain(&self, _element: &Element, _pad: &Pad, buffer: Buffer) -> FlowResult {
        self.buffers.lock().unwrap().push(buffer);
        Ok(())
    }

    fn sink_event(&self, _element: &Element, pad: &Pad, event: Event) -> bool {
        match event {
            Event::Caps(c) if !c.can_intersect(&pad.template().caps) => false,
            Event::Caps(c) => {
                self.caps.lock().unwrap().push(c);
                true
            }
            _ => true,
        }
    }

    fn query(&self, element: &Element, pad: &Pad, query: &mut Query) -> bool {
        match query {
            Query::Allocation(q) => {
                self.allocation_queries.fetch_add(1, Ordering::Relaxed);
                if self.no_proposal.load(Ordering::Relaxed) {
                    return true;
                }
                if let Some(size) = size_of(&q.caps) {
                    q.add_pool(self.pool.lock().unwrap().clone(), size, 3, 0);
                }
                true
            }
            _ => element.default_query(pad, query),
        }
    }
}

fn set_size(caps: &Caps, f: impl Fn(&Value) -> Option<Value>) -> Caps {
    if caps.is_any() {
        return caps.clone();
    }
    let mut out = Caps::new_empty();
    for (s, feat) in caps.iter() {
        let Some(v) = s.value("size").and_then(&f) else {
            continue;
        };
        let mut s = s.clone();
        s.set("size", v);
        out.append_structure_full(s, feat.clone());
    }
    out
}

fn double(v: &Value) -> Option<Value> {
    match v {
        Value::Int(n) => Some(Value::Int(n.checked_mul(2)?)),
        Value::IntRange { min, max, .. } => Some(Value::int_range(
            min.saturating_mul(2),
            max.saturating_mul(2),
        )),
        _ => None,
    }
}

fn halve(v: &Value) -> Option<Value> {
    match v {
        Value::Int(n) if n % 2 == 0 => Some(Value::Int(n / 2)),
        Value::IntRange { min, max, .. } if (min + 1) / 2 <= max / 2 => {
            Some(Value::int_range((min + 1) / 2, max / 2))
        }
        _ => None,
    }
}

/// Every byte twice: output caps have twice the input's `size`; new output buffers.
#[derive(Default)]
struct Doubler;

impl Transform for Doubler {
    fn transform_caps(
        &self,
        _element: &Element,
        direction: PadDirection,
        caps: &Caps,
        filter: Option<&Caps>,
    ) -> Caps {
        let other = match direction {
            PadDirection::Sink => set_size(caps, double),
            PadDirection::Src => set_size(caps, halve),
        };
        match filter {
            Some(f) => f.intersect(&other),
            None => other,
        }
    }

    fn transform(&self, _element: &Element, input: &Buffer, output: &mut BufferMut) -> FlowResult {
        let map = input.map_read().map_err(|_| FlowError::Error)?;
        let mut w = output.map_memory_write(0).map_err(|_| FlowError::Error)?;
        if w.len() < 2 * map.len() {
            return Err(FlowError::Error);
        }
        for (i, b) in map.iter().enumerate() {
            w[2 * i] = *b;
            w[2 * i + 1] = *b;
        }
        Ok(())
    }
}

/// Adds one to every byte, in place; same caps.
#[derive(Default)]
struct AddOne;

impl Transform for AddOne {
    fn set_caps(
        &self,
        _element: &Element,
        _incaps: &Caps,
        _outcaps: &Caps,
    ) -> Result<TransformMode, ElementError> {
        Ok(TransformMode::InPlace)
    }

    fn transform_ip(&self, _element: &Element, buffer: &mut BufferMut) -> FlowResult {
        let mut w = buffer.map_memory_write(0).map_err(|_| FlowError::Error)?;
        for b in w.iter_mut() {
            *b = b.wrapping_add(1);
        }
        Ok(())
    }
}

/// Everything default: same caps, so passthrough once caps are set; and buffers pass
/// before caps too.
#[derive(Default)]
struct Pass;

impl Transform for Pass {
    fn passthrough_before_caps(&self) -> bool {
        true
    }
}

/// Always in passthrough, although its `set_caps` would ask for new buffers.
#[derive(Default)]
struct Always;

impl Transform for Always {
    const ALWAYS_PASSTHROUGH: bool = true;

    fn set_caps(
        &self,
        _element: &Element,
        _incaps: &Caps,
        _outcaps: &Caps,
    ) -> Result<TransformMode, ElementError> {
        Ok(TransformMode::NewBuffer)
    }
}

/// Output `size` anywhere from the input's to twice it: not fixed, so downstream's
/// answer is fixated.
#[derive(Default)]
struct Widen;

impl Transform for Widen {
    fn transform_caps(
        &self,
        _element: &Element,
        direction: PadDirection,
        caps: &Caps,
        filter: Option<&Caps>,
    ) -> Caps {
        let other = match direction {
            PadDirection::Sink => set_size(caps, |v| match v {
                Value::Int(n) => Some(Value::int_range(*n, n.checked_mul(2)?)),
                Value::IntRange { min, max, .. } => {
                    Some(Value::int_range(*min, max.saturating_mul(2)))
                }
                _ => None,
            }),
            PadDirection::Src => set_size(caps, |v| match v {
                Value::Int(n) => Some(Value::int_range((n + 1) / 2, *n)),
                Value::IntRange { min, max, .. } => Some(Value::int_range((min + 1) / 2, *max)),
                _ => None,
            }),
        };
        match filter {
            Some(f) => f.intersect(&other),
            None => other,
        }
    }
}

fn caps(s: &str) -> Caps {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn tpl(name: &'static str, dir: PadDirection, c: &str) -> PadTemplate {
    let c = if c == "ANY" { Caps::new_any() } else { caps(c) };
    PadTemplate::new(name, dir, PadPresence::Always, c)
}

fn transform_factory(name: &'static str, create: fn() -> Box<dyn ElementImpl>) -> ElementFactory {
    ElementFactory {
        name,
        long_name: name,
        klass: "Testing",
        description: "a test transform",
        properties: vec![],
        pad_templates: vec![
            tpl("sink", PadDirection::Sink, "test/x"),
            tpl("src", PadDirection::Src, "test/x"),
        ],
        create,
    }
}

fn sink_factory(name: &'static str, template: &str) -> ElementFactory {
    ElementFactory {
        name,
        long_name: name,
        klass: "Testing",
        description: "collects buffers",
        properties: vec![],
        pad_templates: vec![tpl("sink", PadDirection::Sink, template)],
        create: || Box::new(Collector::default()),
    }
}

fn registry() -> Registry {
    let mut r = Registry::new();
    r.register(ElementFactory {
        name: "feeder",
        long_name: "feeder",
        klass: "Testing",
        description: "a source pad pushed from the test",
        properties: vec![],
        pad_templates: vec![tpl("src", PadDirection::Src, "ANY")],
        create: || Box::<Feeder>::default(),
    });
    r.register(sink_factory("collector", "test/x"));
    r.register(sink_factory("collector-8", "test/x, size=8"));
    r.register(sink_factory("collector-6-up", "test/x, size=[ 6, 100 ]"));
    r.register(transform_factory("doubler", || {
        Box::new(BaseTransform::new(Doubler))
    }));
    r.register(transform_factory("addone", || {
        Box::new(BaseTransform::new(AddOne))
    }));
    r.register(transform_factory("pass", || {
        Box::new(BaseTransform::new(Pass))
    }));
    r.register(transform_factory("always", || {
        Box::new(BaseTransform::new(Always))
    }));
    r.register(transform_factory("widen", || {
        Box::new(BaseTransform::new(Widen))
    }));
    r
}

/// `feeder ! transform ! sink`, PAUSED (pads not flushing, no thread).
struct Chain {
    pipeline: Pipeline,
    feeder_element: Element,
    feeder: Pad,
    transform: Element,
    sink: Element,
}

impl Chain {
    fn new(test: &str, transform: &str, sink: &str) -> Chain {
        let r = registry();
        let mut pipeline = Pipeline::new(format!("{test}-pipeline"));
        let feeder = r.make("feeder", Some(&format!("{test}-feeder"))).unwrap();
        let t = r
            .make(transform, Some(&format!("{test}-{transform}")))
            .unwrap();
        let s = r.make(sink, Some(&format!("{test}-sink"))).unwrap();
        for e in [&feeder, &t, &s] {
            pipeline.add(e.clone()).unwrap();
        }
        Pipeline::link_many(&[&feeder, &t, &s]).unwrap();
        pipeline.set_state(State::Paused).unwrap();
        Chain {
            feeder: feeder.src_pad().unwrap(),
            feeder_element: feeder,
            pipeline,
            transform: t,
            sink: s,
        }
    }

    fn collector(&self) -> &Collector {
        Collector::of(&self.sink)
    }

    /// Stream-start, `caps` and a segment; whether the caps event was taken.
    fn start(&self, c: &str) -> bool {
        self.feeder.push_event(Event::StreamStart {
            stream_id: "test".into(),
        });
        let ok = self.feeder.push_event(Event::Caps(caps(c)));
        self.feeder
            .push_event(Event::Segment(Segment::new(Format::Time)));
        ok
    }

    fn push(&self, bytes: &[u8], offset: u64) -> FlowResult {
        let mut b = BufferMut::with_size(bytes.len()).unwrap();
        b.map_memory_write(0).unwrap().copy_from_slice(bytes);
        b.set_offset(Some(offset));
        self.feeder.push(b.freeze())
    }

    /// The allocation query upstream would send.
    fn upstream_allocation(&self, c: &str) -> (bool, AllocationQuery) {
        let mut q = Query::Allocation(AllocationQuery::new(caps(c), true));
        let answered = self.feeder.peer_query(&mut q);
        let Query::Allocation(q) = q else {
            panic!("the query changed kind")
        };
        (answered, q)
    }

    fn errors(&self) -> Vec<String> {
        self.pipeline
            .bus()
            .drain()
            .into_iter()
            .filter_map(|m| match m.kind {
                MessageKind::Error { message, .. } => Some(message),
                _ => None,
            })
            .collect()
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(State::Null);
    }
}

fn bytes(b: &Buffer) -> Vec<u8> {
    b.map_read().unwrap().to_vec()
}

// ---------------------------------------------------------------------------------------
// Modes.

#[test]
fn passthrough_pushes_the_same_buffer_and_forwards_the_allocation_query() {
    let c = Chain::new("bt-pass", "pass", "collector");
    let pool = BufferPool::new("bt-pass-downstream");
    *c.collector().pool.lock().unwrap() = Some(pool.clone());
    assert!(c.start("test/x, size=4"));
    assert_eq!(c.collector().last_caps(), Some(caps("test/x, size=4")));
    let input = {
        let mut b = BufferMut::with_size(4).unwrap();
        b.map_memory_write(0)
            .unwrap()
            .copy_from_slice(&[1, 2, 3, 4]);
        b.freeze()
    };
    c.feeder.push(input.clone()).unwrap();
    let out = c.collector().buffers();
    assert_eq!(out.len(), 1);
    // The very memory, not a copy.
    assert!(out[0].memories()[0].same_region(&input.memories()[0]));
    // Passthrough asks nothing downstream; upstream's query goes through to the sink,
    // and its pool comes back.
    assert_eq!(c.collector().allocation_queries.load(Ordering::Relaxed), 0);
    let (answered, q) = c.upstream_allocation("test/x, size=4");
    assert!(answered);
    assert_eq!(c.collector().allocation_queries.load(Ordering::Relaxed), 1);
    assert!(
        q.pools
            .first()
            .and_then(|p| p.pool.as_ref())
            .is_some_and(|p| p.ptr_eq(&pool)),
        "{:?}",
        q.pools
    );
    assert!(c.errors().is_empty());
}

#[test]
fn a_transform_may_pass_buffers_before_any_caps() {
    let c = Chain::new("bt-early", "pass", "collector");
    c.push(&[9, 9], 0).unwrap();
    assert_eq!(c.collector().buffers().len(), 1);
    // A transform that needs caps refuses them.
    let d = Chain::new("bt-early-doubler", "doubler", "collector");
    assert_eq!(d.push(&[9, 9], 0), Err(FlowError::NotNegotiated));
    assert!(d.collector().buffers().is_empty());
}

#[test]
fn an_always_passthrough_transform_never_transforms_nor_allocates() {
    let c = Chain::new("bt-always", "always", "collector");
    let input = BufferMut::with_size(2).unwrap().freeze();
    c.feeder.push(input.clone()).unwrap();
    assert!(c.start("test/x, size=2"));
    c.feeder.push(input.clone()).unwrap();
    let out = c.collector().buffers();
    assert_eq!(out.len(), 2);
    assert!(
        out.iter()
            .all(|b| b.memories()[0].same_region(&input.memories()[0]))
    );
    assert_eq!(c.collector().allocation_queries.load(Ordering::Relaxed), 0);
    assert_eq!(
        c.transform
            .implementation_as::<BaseTransform<Always>>()
            .and_then(|b| b.mode()),
        Some(TransformMode::Passthrough)
    );
}

#[test]
fn in_place_changes_the_buffer_and_forwards_the_allocation_query() {
    let c = Chain::new("bt-ip", "addone", "collector");
    let pool = BufferPool::new("bt-ip-downstream");
    *c.collector().pool.lock().unwrap() = Some(pool.clone());
    assert!(c.start("test/x, size=3"));
    c.push(&[1, 2, 255], 7).unwrap();
    c.push(&[10, 20, 30], 8).unwrap();
    let out = c.collector().buffers();
    assert_eq!(out.len(), 2);
    assert_eq!(bytes(&out[0]), [2, 3, 0]);
    assert_eq!(bytes(&out[1]), [11, 21, 31]);
    assert_eq!(out[1].offset(), Some(8));
    // Upstream's buffers are the ones downstream gets: its query goes to the sink.
    let before = c.collector().allocation_queries.load(Ordering::Relaxed);
    let (answered, q) = c.upstream_allocation("test/x, size=3");
    assert!(answered);
    assert_eq!(
        c.collector().allocation_queries.load(Ordering::Relaxed),
        before + 1
    );
    assert!(
        q.pools
            .first()
            .and_then(|p| p.pool.as_ref())
            .is_some_and(|p| p.ptr_eq(&pool))
    );
    assert_eq!(
        c.transform
            .implementation_as::<BaseTransform<AddOne>>()
            .and_then(|b| b.mode()),
        Some(TransformMode::InPlace)
    );
}

#[test]
fn new_buffers_come_from_the_pool_downstream_proposed() {
    let c = Chain::new("bt-new", "doubler", "collector");
    let pool = BufferPool::new("bt-new-downstream");
    *c.collector().pool.lock().unwrap() = Some(pool.clone());
    assert!(c.start("test/x, size=3"));
    // The output caps are the transform of the input's.
    assert_eq!(c.collector().last_caps(), Some(caps("test/x, size=6")));
    // The base asked downstream once, for the output caps, and took its pool.
    assert_eq!(c.collector().allocation_queries.load(Ordering::Relaxed), 1);
    assert!(pool.is_active());
    assert_eq!(pool.config().map(|cfg| cfg.size), Some(6));
    c.push(&[1, 2, 3], 41).unwrap();
    c.push(&[4, 5, 6], 42).unwrap();
    let out = c.collector().buffers();
    assert_eq!(out.len(), 2);
    assert_eq!(bytes(&out[0]), [1, 1, 2, 2, 3, 3]);
    assert_eq!(bytes(&out[1]), [4, 4, 5, 5, 6, 6]);
    // Timestamps, offsets and flags are copied to the new buffer.
    assert_eq!(out[0].offset(), Some(41));
    assert_eq!(pool.stats().outstanding, 2);
    drop(out);
    c.collector().buffers.lock().unwrap().clear();
    assert_eq!(pool.stats().outstanding, 0);
    // Upstream's query is answered here, not forwarded: the sink is not asked again.
    let (answered, q) = c.upstream_allocation("test/x, size=3");
    assert!(answered);
    assert!(q.pools.is_empty());
    assert_eq!(c.collector().allocation_queries.load(Ordering::Relaxed), 1);
    // Stopping deactivates the decided pool.
    c.pipeline.set_state(State::Ready).unwrap();
    assert!(!pool.is_active());
}

#[test]
fn without_a_proposal_the_default_allocation_fails_with_a_message() {
    // The default decision takes the size from downstream's proposal: without one,
    // the caps fail with a message naming the element, and buffers are not negotiated.
    let c = Chain::new("bt-nosize", "doubler", "collector");
    c.collector().no_proposal.store(true, Ordering::Relaxed);
    assert!(!c.start("test/x, size=2"));
    assert_eq!(c.push(&[1, 2], 0), Err(FlowError::NotNegotiated));
    let errors = c.errors();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("bt-nosize-doubler") && e.contains("no buffer size")),
        "{errors:?}"
    );
}

#[test]
fn a_reconfigure_from_downstream_decides_the_allocation_again() {
    let c = Chain::new("bt-reconf", "doubler", "collector");
    assert!(c.start("test/x, size=2"));
    c.push(&[1, 2], 0).unwrap();
    assert_eq!(c.collector().allocation_queries.load(Ordering::Relaxed), 1);
    // Downstream now has a pool of its own and says so.
    let second = BufferPool::new("bt-reconf-second");
    *c.collector().pool.lock().unwrap() = Some(second.clone());
    assert!(c.sink.sink_pad().unwrap().push_event(Event::Reconfigure));
    // Forwarded upstream, and decided again at the next buffer.
    assert_eq!(
        *Feeder::of(&c.feeder_element).upstream.lock().unwrap(),
        ["reconfigure"]
    );
    assert_eq!(c.collector().allocation_queries.load(Ordering::Relaxed), 1);
    c.push(&[3, 4], 1).unwrap();
    assert_eq!(c.collector().allocation_queries.load(Ordering::Relaxed), 2);
    assert!(second.is_active());
    assert_eq!(bytes(&c.collector().buffers()[1]), [3, 3, 4, 4]);
}

// ---------------------------------------------------------------------------------------
// Caps.

#[test]
fn caps_queries_are_transformed_both_ways() {
    let c = Chain::new("bt-caps", "doubler", "collector-8");
    // Upstream asks the transform's sink pad: the sink takes size 8, so input size 4.
    let up = c.feeder.peer_caps(None);
    assert!(up.is_equal(&caps("test/x, size=4")), "{up}");
    // Downstream asks the transform's source pad: upstream (the feeder) takes anything,
    // so the output is the transform of the template: any size... doubled.
    let down = c
        .sink
        .sink_pad()
        .unwrap()
        .peer_caps(Some(&caps("test/x, size=10")));
    assert!(down.is_equal(&caps("test/x, size=10")), "{down}");
    // An odd size has no input.
    let odd = c
        .sink
        .sink_pad()
        .unwrap()
        .peer_caps(Some(&caps("test/x, size=9")));
    assert!(odd.is_empty(), "{odd}");
    // Accept-caps: input 4 becomes 8, which the sink takes; 3 becomes 6, which it does not.
    assert!(c.feeder.peer_accepts(&caps("test/x, size=4")));
    assert!(!c.feeder.peer_accepts(&caps("test/x, size=3")));
    assert!(!c.feeder.peer_accepts(&caps("other/y")));
}

#[test]
fn caps_the_sink_cannot_take_fail_the_caps_event() {
    let c = Chain::new("bt-refuse", "doubler", "collector-8");
    // size 3 → 6: fixed, so no fixation; the sink refuses the caps event.
    assert!(!c.start("test/x, size=3"));
    assert_eq!(c.push(&[1, 2, 3], 0), Err(FlowError::NotNegotiated));
    assert!(c.start("test/x, size=4"));
    assert_eq!(c.collector().last_caps(), Some(caps("test/x, size=8")));
}

#[test]
fn output_caps_that_are_not_fixed_are_fixated_within_what_downstream_takes() {
    let c = Chain::new("bt-fix", "widen", "collector-6-up");
    // 4 can become 4..=8; downstream takes 6 and up: fixated to 6.
    assert!(c.start("test/x, size=4"));
    assert_eq!(c.collector().last_caps(), Some(caps("test/x, size=6")));
    // 2 can become 2..=4: nothing downstream takes; the error names the element.
    assert!(!c.start("test/x, size=2"));
    let errors = c.errors();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("not negotiated") && e.contains("bt-fix-widen")),
        "{errors:?}"
    );
}

#[test]
fn events_other_than_caps_are_forwarded_both_ways() {
    let c = Chain::new("bt-events", "pass", "collector");
    assert!(c.start("test/x, size=1"));
    assert!(c.feeder.push_event(Event::Eos));
    assert!(c.sink.sink_pad().unwrap().is_eos());
    assert!(c.sink.sink_pad().unwrap().push_event(Event::FlushStart));
    assert_eq!(
        *Feeder::of(&c.feeder_element).upstream.lock().unwrap(),
        ["flush-start"]
    );
}
