//! The cost of a hop: a buffer pushed from a source pad through `n` identities into a
//! fakesink, on the calling thread (no streaming thread, no queue). The per-identity
//! cost is the difference between `n = 5` and `n = 0`, divided by 5;
//! `scripts/bench-vs-gst` measures the same against GStreamer with whole pipelines.

use criterion::{Criterion, criterion_group, criterion_main};
use penstock::buffer::BufferMut;
use penstock::element::State;
use penstock::pipeline::Pipeline;

fn hops(c: &mut Criterion) {
    let registry = penstock_elements::registry();
    let mut group = c.benchmark_group("push");
    for n in [0usize, 1, 5] {
        let mut p = Pipeline::new(format!("hops{n}"));
        // A source that is never started: its pad is pushed on from this thread.
        let src = registry.make("fakesrc", None).unwrap();
        let mut chain = vec![src.clone()];
        for _ in 0..n {
            chain.push(registry.make("identity", None).unwrap());
        }
        chain.push(registry.make("fakesink", None).unwrap());
        for e in &chain {
            p.add(e.clone()).unwrap();
        }
        Pipeline::link_many(&chain.iter().collect::<Vec<_>>()).unwrap();
        // PAUSED: pads stop flushing, and no streaming thread starts.
        p.set_state(State::Paused).unwrap();
        let pad = src.src_pad().unwrap();
        let buffer = BufferMut::new().freeze();
        group.bench_function(format!("{n} identities"), |b| {
            b.iter(|| pad.push(buffer.clone()).unwrap());
        });
        p.set_state(State::Null).unwrap();
    }
    group.finish();
}

criterion_group!(benches, hops);
criterion_main!(benches);
