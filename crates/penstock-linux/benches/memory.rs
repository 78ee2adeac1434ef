//! Criterion benches of penstock's Linux memory.
//! Run: `cargo bench -p penstock-linux --bench memory`.
//!
//! - `memfd pool acquire+release 1080p NV12`: a [`BufferPool`] of memfd memories.
//! - `dmabuf map+unmap (kept mapping)`: a read map of a DMA-BUF memory and its release,
//!   that is two `DMA_BUF_IOCTL_SYNC` calls and no `mmap`. It needs `/dev/dma_heap/system`
//!   or `/dev/udmabuf`; without either it says so and is not run.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use penstock::allocator::{AllocationParams, Allocator};
use penstock::pool::AcquireParams;
use penstock::{BufferPool, PoolConfig};
use penstock_linux::{DmaHeapAllocator, MemfdAllocator, UdmabufAllocator};
use penstock_video::{VideoFormat, VideoInfo, VideoPoolConfigExt};

fn memfd_pool_acquire_release(c: &mut Criterion) {
    let info = VideoInfo::new(VideoFormat::Nv12, 1920, 1080).expect("1080p NV12");
    let pool = BufferPool::new("memfd-bench");
    pool.set_config(
        PoolConfig::video(info)
            .min_max(4, 8)
            .allocator(Arc::new(MemfdAllocator::new()), AllocationParams::default()),
    )
    .expect("config");
    pool.set_active(true).expect("activate");
    drop(pool.acquire(AcquireParams::default()).expect("acquire"));
    c.bench_function("memfd pool acquire+release 1080p NV12", |b| {
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

/// A DMA-BUF allocator of this kernel, if it has one.
fn dmabuf_allocator() -> Result<Box<dyn Allocator>, String> {
    let heap = match DmaHeapAllocator::system() {
        Ok(heap) => return Ok(Box::new(heap)),
        Err(e) => e,
    };
    match UdmabufAllocator::new() {
        Ok(u) => Ok(Box::new(u)),
        Err(e) => Err(format!("{heap}; {e}")),
    }
}

fn dmabuf_map_unmap(c: &mut Criterion) {
    let alloc = match dmabuf_allocator() {
        Ok(a) => a,
        Err(why) => {
            eprintln!("dmabuf map+unmap: not run on this kernel: no DMA-BUF exporter ({why})");
            return;
        }
    };
    let memory = alloc
        .alloc(1920 * 1080 * 3 / 2, &AllocationParams::default())
        .expect("alloc");
    let name = format!("dmabuf map+unmap (kept mapping, {})", alloc.name());
    c.bench_function(&name, |b| {
        b.iter(|| {
            let map = memory.map_read().expect("map");
            black_box(map[0]);
        })
    });
}

criterion_group!(benches, memfd_pool_acquire_release, dmabuf_map_unmap);
criterion_main!(benches);
