//! A tour of the core and the video library: a pooled 1080p NV12 frame, a shared sub-memory, a frame wrapped
//! from externally owned chunks, copy-on-write, and the ledger's report.
//!
//! Run: `cargo run --example demo -p penstock-video`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use penstock::ledger;
use penstock::pool::AcquireParams;
use penstock::{BufferMut, BufferPool, PoolConfig};
use penstock_video::VideoMeta;
use penstock_video::{VideoAlignment, VideoFormat, VideoInfo, VideoPoolConfigExt};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    ledger::reset();

    // 1. A pool of 1080p NV12 frames with 32-byte aligned strides and a VideoMeta.
    let info = VideoInfo::new(VideoFormat::Nv12, 1920, 1080)?;
    let align = VideoAlignment {
        stride_align: [31, 31, 0, 0],
        ..VideoAlignment::default()
    };
    let pool = BufferPool::new("demo-pool");
    let wanted = PoolConfig::video(info)
        .min_max(2, 4)
        .with_video_alignment(align);
    let config = match pool.set_config(wanted) {
        Ok(c) => c,
        Err(penstock::pool::PoolError::Config {
            reason,
            proposal: Some(p),
        }) => {
            println!("pool counter-proposal: {reason}");
            pool.set_config(*p)?
        }
        Err(e) => return Err(e.into()),
    };
    pool.set_active(true)?;
    println!(
        "pool configured: {} bytes per buffer, min {} max {}",
        config.size, config.min, config.max
    );
    {
        let _site = ledger::enter_site("producer");
        for frame in 0..300u64 {
            let mut buf = pool.acquire(AcquireParams::default())?;
            buf.set_pts(Some(penstock::ClockTime::from_nseconds(frame * 33_333_333)));
            // Render a gradient into the luma plane: the buffer is unique, no copy.
            let meta = buf
                .meta::<VideoMeta>()
                .cloned()
                .ok_or("pool adds a VideoMeta")?;
            let mut map = buf.map_memory_write(0)?;
            let y = &mut map[meta.offset[0]..meta.offset[0] + meta.stride[0] * 1080];
            for (i, px) in y.iter_mut().enumerate().step_by(4096) {
                *px = (i as u64 + frame) as u8;
            }
            drop(map);
            let shared = buf.freeze();
            let for_sink = shared.clone(); // a tee: a refcount, not a copy
            drop(shared);
            drop(for_sink); // last handle: back to the pool
        }
    }
    println!("pool after 300 frames: {:?}", pool.stats());

    // 2. A shared sub-memory: the chroma plane of one frame, no copy.
    let frame = pool.acquire(AcquireParams::default())?.freeze();
    let meta = frame.meta::<VideoMeta>().cloned().ok_or("meta")?;
    let uv = frame
        .memory(0)
        .ok_or("memory")?
        .share(meta.offset[1], meta.stride[1] * 540)?;
    println!(
        "chroma plane shared: {} bytes at offset {} of the same region: {}",
        uv.size(),
        uv.offset(),
        uv.same_region(frame.memory(0).ok_or("memory")?)
    );

    // 3. Copy-on-write: writing to a frame another handle still holds copies it.
    let mut writer = frame.clone().make_mut();
    {
        let _site = ledger::enter_site("overlay");
        writer.memset(0, 0xff, 16)?;
    }
    drop((uv, writer, frame));

    // 4. A frame that arrives as externally owned chunks (as a Spice server sends a
    //    bitmap): 64 rows of 256 bytes in 5 chunks, one of them padded.
    let released = Arc::new(AtomicUsize::new(0));
    let stride = 256;
    let chunks: Vec<Vec<u8>> = [
        16 * stride,
        16 * stride,
        10 * stride + 100,
        6 * stride - 100,
        16 * stride,
    ]
    .iter()
    .enumerate()
    .map(|(i, &len)| vec![i as u8; len])
    .collect();
    let r = Arc::clone(&released);
    let wrapped = {
        let _site = ledger::enter_site("chunked-source");
        BufferMut::from_chunks(chunks, stride, 64 * stride, move || {
            r.fetch_add(1, Ordering::SeqCst);
        })?
    };
    println!(
        "chunked frame: {} bytes in {} memories; release callback ran {} times while alive",
        wrapped.size(),
        wrapped.n_memory(),
        released.load(Ordering::SeqCst)
    );
    drop(wrapped);
    println!(
        "release callback ran {} time(s) after the frame was dropped",
        released.load(Ordering::SeqCst)
    );

    // 5. The ledger: every copy with its reason and site.
    println!("\nledger:\n{}", ledger::snapshot());
    Ok(())
}
