//! Criterion benches of the video converter. Run: `cargo bench -p penstock --bench convert`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use penstock_video::convert::{Converter, planes, planes_mut};
use penstock_video::{VideoFormat, VideoInfo};

/// Benches `run` under `name` and prints its fastest single run too: the machine may
/// be shared, and besides criterion's statistics the fastest run is the figure least
/// disturbed by other load.
fn timed(c: &mut Criterion, name: &str, mut run: impl FnMut()) {
    let mut fastest = Duration::MAX;
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                run();
                let d = t.elapsed();
                fastest = fastest.min(d);
                total += d;
            }
            total
        })
    });
    if fastest != Duration::MAX {
        println!("fastest run: {name}: {fastest:?}");
    }
}

fn bench_pair(c: &mut Criterion, from: VideoFormat, to: VideoFormat) {
    let input = VideoInfo::new(from, 1920, 1080).expect("input");
    let output = VideoInfo::new(to, 1920, 1080).expect("output");
    let src: Vec<u8> = (0..input.size()).map(|i| (i * 31 % 251) as u8).collect();
    let mut dst = vec![0u8; output.size()];
    let mut conv = Converter::new(&input, &output).expect("converter");
    timed(c, &format!("convert 1080p {from} -> {to}"), || {
        let sp = planes(black_box(&src), &input).expect("planes");
        let mut dp = planes_mut(&mut dst, &output).expect("planes");
        conv.convert(&sp, &mut dp).expect("convert");
    });
    black_box(&dst);
}

fn memcpy_floor(c: &mut Criterion) {
    let info = VideoInfo::new(VideoFormat::Nv12, 1920, 1080).expect("info");
    let src = vec![7u8; info.size()];
    let mut dst = vec![0u8; info.size()];
    timed(c, "memcpy 1080p NV12 frame (floor)", || {
        dst.copy_from_slice(black_box(&src));
    });
    black_box(&dst);
}

fn converts(c: &mut Criterion) {
    use VideoFormat::*;
    memcpy_floor(c);
    bench_pair(c, Nv12, I420);
    bench_pair(c, Nv12, Bgrx);
    bench_pair(c, I420, Bgrx);
    bench_pair(c, Rgba, Bgra);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = converts
}
criterion_main!(benches);
