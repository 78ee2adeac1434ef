//! Video pools: `PoolConfig::video` with the video meta and alignment on the core's
//! pool, counter-proposals for video layouts, and the pool's own VideoMeta surviving
//! reuse while the user's metas go.

use std::sync::Arc;

use penstock::meta::{Meta, MetaTransform};
use penstock::pool::{AcquireParams, PoolError};
use penstock::{BufferFlags, BufferPool, ClockTime, PoolConfig};
use penstock_video::{
    VideoAlignment, VideoBufferPoolExt, VideoCropMeta, VideoFormat, VideoInfo, VideoLayout,
    VideoMeta, VideoPoolConfigExt,
};

const WAIT: AcquireParams = AcquireParams {
    dont_wait: false,
    discont: false,
};

fn nv12(width: u32, height: u32) -> VideoInfo {
    VideoInfo::new(VideoFormat::Nv12, width, height).unwrap()
}

/// Takes the pool's counter-proposals until it accepts; the accepted config and the
/// number of proposals taken.
fn agree(pool: &BufferPool, first: PoolConfig) -> (PoolConfig, usize) {
    let mut next = first;
    let mut taken = 0;
    loop {
        match pool.set_config(next) {
            Ok(accepted) => return (accepted, taken),
            Err(PoolError::Config {
                proposal: Some(p), ..
            }) if taken < 8 => {
                next = *p;
                taken += 1;
            }
            Err(e) => panic!("no agreement after {taken} proposals: {e}"),
        }
    }
}

#[test]
fn video_config_counter_proposals() {
    let pool = BufferPool::new("pool-test-video-config");
    // A video alignment without the meta that describes it.
    let info = nv12(64, 48);
    let align = VideoAlignment {
        padding_bottom: 2,
        ..VideoAlignment::default()
    };
    let config = PoolConfig::video(info.clone()).with_layout(Arc::new(
        VideoLayout::new(info.clone()).with_alignment(Some(align)),
    ));
    assert!(!config.as_video().unwrap().has_meta());
    match pool.set_config(config.clone()) {
        Err(PoolError::Config {
            proposal: Some(p), ..
        }) => {
            assert!(p.as_video().unwrap().has_meta());
            assert_eq!(p.as_video().unwrap().alignment(), Some(align));
        }
        other => panic!("expected a counter-proposal, got {other:?}"),
    }

    // Size too small for the video frames.
    let mut config = PoolConfig::video(info.clone()).with_video_meta();
    config.size = 100;
    match pool.set_config(config) {
        Err(e @ PoolError::Config { .. }) => {
            assert!(e.to_string().contains("counter-proposal"), "{e}");
            let PoolError::Config {
                reason,
                proposal: Some(p),
            } = e
            else {
                unreachable!()
            };
            assert!(reason.contains("size 100"), "{reason}");
            assert_eq!(p.size, info.size());
            pool.set_config(*p).unwrap();
        }
        other => panic!("expected a counter-proposal, got {other:?}"),
    }
    assert_eq!(pool.video_layout(), Some(info.clone()));

    // Alignment and padding: the proposals lead to a size that holds the padded frame.
    let align = VideoAlignment {
        padding_bottom: 16,
        padding_right: 8,
        ..VideoAlignment::default()
    };
    let mut padded = info.clone();
    padded.align(&align).unwrap();
    assert!(padded.size() > info.size());
    let config = PoolConfig::video(info.clone()).with_layout(Arc::new(
        VideoLayout::new(info.clone()).with_alignment(Some(align)),
    ));
    let (accepted, rounds) = agree(&pool, config);
    assert!(rounds >= 2, "meta and size were both missing");
    assert!(accepted.as_video().unwrap().has_meta());
    assert_eq!(accepted.size, padded.size());
    assert_eq!(pool.config(), Some(accepted));
    assert_eq!(pool.video_layout(), Some(padded));
}

/// A meta added by the user: dropped when the buffer returns to its pool.
#[derive(Debug, Clone, PartialEq)]
struct UserMeta(u32);
impl Meta for UserMeta {
    fn name(&self) -> &'static str {
        "UserMeta"
    }
    fn transform(&self, _t: &MetaTransform) -> Option<Box<dyn Meta>> {
        Some(Box::new(self.clone()))
    }
}

#[test]
fn reset_clears_what_the_user_set_and_keeps_the_pool_meta() {
    let info = nv12(32, 16);
    let pool = BufferPool::new("pool-test-reset");
    pool.set_config(
        PoolConfig::video(info.clone())
            .with_video_meta()
            .min_max(1, 1),
    )
    .unwrap();
    pool.set_active(true).unwrap();
    let mut b = pool.acquire(WAIT).unwrap();
    assert_eq!(b.meta::<VideoMeta>(), Some(&VideoMeta::from_info(&info)));
    assert_eq!(b.metas().count(), 1);
    b.set_pts(Some(ClockTime::SECOND));
    b.set_dts(Some(ClockTime::SECOND));
    b.set_duration(Some(ClockTime::MSECOND));
    b.set_offset(Some(1));
    b.set_offset_end(Some(2));
    b.insert_flags(BufferFlags::DELTA_UNIT | BufferFlags::CORRUPTED);
    b.add_meta(UserMeta(7));
    b.add_meta(VideoCropMeta {
        x: 0,
        y: 0,
        width: 8,
        height: 8,
    });
    // The user edits the pool's meta too; edits are the user's business.
    b.meta_mut::<VideoMeta>().unwrap().width = 30;
    drop(b);

    let b = pool
        .acquire(AcquireParams {
            dont_wait: true,
            discont: true,
        })
        .unwrap();
    assert_eq!(pool.stats().reused, 2);
    assert_eq!(b.pts(), None);
    assert_eq!(b.dts(), None);
    assert_eq!(b.duration(), None);
    assert_eq!(b.offset(), None);
    assert_eq!(b.offset_end(), None);
    assert_eq!(
        b.flags(),
        BufferFlags::DISCONT,
        "only the acquire's DISCONT"
    );
    assert!(b.meta::<UserMeta>().is_none());
    assert!(b.meta::<VideoCropMeta>().is_none());
    assert_eq!(b.metas_of::<VideoMeta>().count(), 1);
    assert_eq!(b.metas().count(), 1);
    drop(b);

    // A user's own VideoMeta is not the pool's: it goes, the pool's stays.
    let mut b = pool.acquire(WAIT).unwrap();
    assert_eq!(b.remove_meta::<UserMeta>(), 0);
    b.add_meta(VideoMeta::from_info(&nv12(8, 8)));
    assert_eq!(b.metas_of::<VideoMeta>().count(), 2);
    drop(b);
    let b = pool.acquire(WAIT).unwrap();
    assert_eq!(b.metas_of::<VideoMeta>().count(), 1);
    assert_eq!(b.meta::<VideoMeta>().unwrap().format, VideoFormat::Nv12);
    assert_eq!(pool.stats().allocated, 1);
}

#[test]
fn video_alignment_gives_aligned_strides() {
    let info = nv12(100, 30);
    assert_ne!(info.stride(0) % 64, 0, "the test needs an unaligned stride");
    let align = VideoAlignment {
        stride_align: [63, 63, 0, 0],
        ..VideoAlignment::default()
    };
    let pool = BufferPool::new("pool-test-video-align");
    // Without memory alignment the pool proposes it (the stride alignment is useless
    // when the plane starts are not aligned).
    let config = PoolConfig::video(info.clone()).with_video_alignment(align);
    match pool.set_config(config.clone()) {
        Err(PoolError::Config {
            proposal: Some(p), ..
        }) => assert_eq!(p.params.align & 63, 63),
        other => panic!("expected a counter-proposal, got {other:?}"),
    }
    let (accepted, _) = agree(&pool, config);
    assert!(accepted.as_video().unwrap().has_meta());
    let layout = pool.video_layout().unwrap();
    assert!(accepted.size >= layout.size());
    pool.set_active(true).unwrap();
    let b = pool.acquire(WAIT).unwrap();
    let meta = b
        .meta::<VideoMeta>()
        .expect("the pool adds the layout")
        .clone();
    assert_eq!(meta.width, 100);
    assert_eq!(meta.height, 30);
    assert_eq!(meta.n_planes, 2);
    for p in 0..meta.n_planes {
        assert_eq!(meta.stride[p] % 64, 0, "plane {p}: {meta:?}");
        assert!(meta.stride[p] >= 100);
        assert_eq!(meta.stride[p], layout.stride(p));
        assert_eq!(meta.offset[p], layout.offset(p));
    }
    let addr = b.memory(0).unwrap().map_read().unwrap().as_ptr() as usize;
    for p in 0..meta.n_planes {
        assert_eq!((addr + meta.offset[p]) % 64, 0, "plane {p} start");
    }
    assert!(b.size() >= layout.size());
}
