//! Buffer reclaim: a queue that holds pooled buffers gives them back when drained or
//! stopped, so the producer's pool deactivates only after every buffer came back.

use std::sync::mpsc;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

use penstock::PoolConfig;
use penstock::basesrc::{BaseSrc, PushSource};
use penstock::buffer::Buffer;
use penstock::caps::Caps;
use penstock::element::{Element, ElementFactory, ElementImpl, PropValue, State};
use penstock::event::Event;
use penstock::flow::{FlowError, FlowResult};
use penstock::pad::{Pad, PadTemplate};
use penstock::pipeline::Pipeline;
use penstock::pool::{AcquireParams, BufferPool};
use penstock::query::Query;

/// The pool of the test source, reachable from the test.
fn pool() -> &'static BufferPool {
    static POOL: OnceLock<BufferPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let p = BufferPool::new("drain-test");
        p.set_config(PoolConfig::new(4096).min_max(2, 8)).unwrap();
        p
    })
}

/// A gate the sink waits at: closed until the test opens it.
fn gate() -> &'static (Mutex<bool>, Condvar) {
    static GATE: OnceLock<(Mutex<bool>, Condvar)> = OnceLock::new();
    GATE.get_or_init(|| (Mutex::new(false), Condvar::new()))
}

fn set_gate(open: bool) {
    let (m, c) = gate();
    *m.lock().unwrap() = open;
    c.notify_all();
}

struct PoolSrc;

impl PushSource for PoolSrc {
    fn start(&self, _e: &Element) -> Result<(), penstock::element::ElementError> {
        pool()
            .set_active(true)
            .map_err(|e| penstock::element::ElementError::new(e.to_string()))
    }
    fn stop(&self, _e: &Element) {
        // Deactivation frees idle buffers; buffers still out are freed on return.
        let _ = pool().set_active(false);
    }
    fn unlock(&self, _e: &Element) {
        pool().set_flushing(true);
    }
    fn unlock_stop(&self, _e: &Element) {
        pool().set_flushing(false);
    }
    fn create(&self, _e: &Element) -> Result<Buffer, FlowError> {
        Ok(pool()
            .acquire(AcquireParams::default())
            .map_err(|_| FlowError::Flushing)?
            .freeze())
    }
}

/// A sink that holds each buffer until the gate opens.
struct GateSink;

impl ElementImpl for GateSink {
    fn chain(&self, _e: &Element, pad: &Pad, buffer: Buffer) -> FlowResult {
        let (m, c) = gate();
        let mut open = m.lock().unwrap();
        while !*open {
            if pad.is_flushing() {
                return Err(FlowError::Flushing);
            }
            open = c.wait_timeout(open, Duration::from_millis(10)).unwrap().0;
        }
        drop(buffer);
        Ok(())
    }
    fn sink_event(&self, _e: &Element, _p: &Pad, _ev: Event) -> bool {
        true
    }
    fn unlock(&self, _e: &Element) {
        gate().1.notify_all();
    }
}

fn registry() -> penstock::element::Registry {
    let mut r = penstock_elements::registry();
    r.register(ElementFactory {
        name: "poolsrc",
        long_name: "pool source",
        klass: "Source",
        description: "test",
        properties: vec![],
        pad_templates: vec![PadTemplate::always_src(Caps::new_any())],
        create: || Box::new(BaseSrc::new(PoolSrc)),
    });
    r.register(ElementFactory {
        name: "gatesink",
        long_name: "gate sink",
        klass: "Sink",
        description: "test",
        properties: vec![],
        pad_templates: vec![PadTemplate::always_sink(Caps::new_any())],
        create: || Box::new(GateSink),
    });
    r
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn queued_buffers_come_back_on_drain_and_on_stop() {
    let r = registry();
    let mut p = Pipeline::new("drain");
    let src = r.make("poolsrc", None).unwrap();
    let q = r.make("queue", None).unwrap();
    let sink = r.make("gatesink", None).unwrap();
    for e in [&src, &q, &sink] {
        p.add(e.clone()).unwrap();
    }
    Pipeline::link_many(&[&src, &q, &sink]).unwrap();
    set_gate(false);
    p.set_state(State::Playing).unwrap();

    // The sink holds one buffer, the queue the rest: the pool's max of 8 is reached.
    wait_for("the pool to run dry", || pool().stats().outstanding == 8);
    assert!(
        !pool().wait_idle(Duration::from_millis(50)),
        "buffers are held downstream"
    );

    // A drain query waits until the queue has handed its buffers downstream: it
    // cannot finish while the sink holds the gate closed...
    let (tx, rx) = mpsc::channel();
    let upstream_pad = q.sink_pad().unwrap().peer().unwrap();
    let drainer = std::thread::spawn(move || {
        let mut drain = Query::Drain;
        let answered = upstream_pad.peer_query(&mut drain);
        tx.send(answered).unwrap();
    });
    assert!(
        rx.recv_timeout(Duration::from_millis(200)).is_err(),
        "drain returned while buffers were held"
    );
    // ...and finishes once they can flow.
    set_gate(true);
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(true));
    drainer.join().unwrap();
    set_gate(false);
    wait_for("the pool to run dry again", || {
        pool().stats().outstanding == 8
    });

    // Stop: the queue releases its buffers before the source deactivates its pool.
    p.set_state(State::Null).unwrap();
    let stats = pool().stats();
    assert_eq!(stats.outstanding, 0, "{stats:?}");
    assert!(!pool().is_active());
    assert_eq!(
        stats.free, 0,
        "an inactive pool keeps no buffers: {stats:?}"
    );
    assert_eq!(
        stats.freed, stats.allocated,
        "every buffer was freed exactly once: {stats:?}"
    );
    assert_eq!(
        q.property("current-level-buffers"),
        Some(PropValue::UInt(0))
    );
}
