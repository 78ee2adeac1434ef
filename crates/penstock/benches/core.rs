//! Criterion benches of the core's hot paths. Run: `cargo bench -p penstock --bench core`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use penstock::pool::AcquireParams;
use penstock::{BufferPool, Memory, PoolConfig};

fn pool_acquire_release(c: &mut Criterion) {
    // The bytes of a 1080p NV12 frame (1920 × 1080 × 3/2).
    let frame = 1920 * 1080 * 3 / 2;
    let pool = BufferPool::new("bench");
    pool.set_config(PoolConfig::new(frame).min_max(4, 8))
        .expect("config");
    pool.set_active(true).expect("activate");
    // Warm up: every buffer allocated and faulted in once.
    drop(pool.acquire(AcquireParams::default()).expect("acquire"));
    c.bench_function("pool acquire+release 1080p NV12", |b| {
        b.iter(|| {
            let buf = pool.acquire(AcquireParams::default()).expect("acquire");
            black_box(&buf);
            drop(buf);
        })
    });
    let stats = pool.stats();
    assert!(
        stats.allocated <= 4,
        "no allocation after warm-up: {stats:?}"
    );
}

fn buffer_clone_drop(c: &mut Criterion) {
    let buf = penstock::BufferMut::with_size(3_110_400)
        .expect("alloc")
        .freeze();
    c.bench_function("Buffer clone+drop", |b| {
        b.iter(|| {
            let c = black_box(&buf).clone();
            drop(black_box(c));
        })
    });
}

fn memory_map_unmap(c: &mut Criterion) {
    let mem = Memory::new_system(3_110_400).expect("alloc");
    c.bench_function("system memory map_read+unmap", |b| {
        b.iter(|| {
            let m = black_box(&mem).map_read().expect("map");
            black_box(m.len());
        })
    });
    c.bench_function("system memory map_write+unmap", |b| {
        b.iter(|| {
            let mut m = black_box(&mem).map_write().expect("map");
            m[0] = 1;
        })
    });
}

criterion_group!(
    benches,
    pool_acquire_release,
    buffer_clone_drop,
    memory_map_unmap
);
criterion_main!(benches);
