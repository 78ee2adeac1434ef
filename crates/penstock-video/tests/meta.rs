//! Integration tests of `penstock::meta`: user metas through the `Meta` trait, typed
//! access on buffers, the transform rules of `VideoMeta` and `VideoCropMeta` beside
//! user metas on copies and regions.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use penstock::buffer::CopyFlags;
use penstock::meta::{Meta, MetaTransform};
use penstock::{Buffer, BufferMut};
use penstock_video::{VideoCropMeta, VideoMeta};
use penstock_video::{VideoFormat, VideoInfo};

#[derive(Debug, Clone, PartialEq)]
struct FrameNumber(u64);

impl Meta for FrameNumber {
    fn name(&self) -> &'static str {
        "FrameNumber"
    }
    fn transform(&self, _t: &MetaTransform) -> Option<Box<dyn Meta>> {
        Some(Box::new(self.clone()))
    }
}

/// Counts live instances, to check metas are dropped with their buffers.
#[derive(Debug)]
struct Tracked(Arc<AtomicUsize>);

impl Tracked {
    fn new(live: &Arc<AtomicUsize>) -> Self {
        live.fetch_add(1, Ordering::SeqCst);
        Tracked(Arc::clone(live))
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Meta for Tracked {
    fn name(&self) -> &'static str {
        "Tracked"
    }
    fn transform(&self, t: &MetaTransform) -> Option<Box<dyn Meta>> {
        (!t.deep).then(|| Box::new(Tracked::new(&self.0)) as Box<dyn Meta>)
    }
}

#[test]
fn user_metas_are_typed() {
    let mut b = BufferMut::new();
    assert!(b.meta::<FrameNumber>().is_none());
    let m = b.add_meta(FrameNumber(1));
    m.0 = 2;
    assert_eq!(b.meta::<FrameNumber>(), Some(&FrameNumber(2)));
    b.add_meta(FrameNumber(3));
    b.add_meta(VideoCropMeta::default());
    let all: Vec<u64> = b.metas_of::<FrameNumber>().map(|f| f.0).collect();
    assert_eq!(all, [2, 3]);
    assert_eq!(
        b.meta::<FrameNumber>(),
        Some(&FrameNumber(2)),
        "the first one"
    );
    b.meta_mut::<FrameNumber>().unwrap().0 = 10;
    assert_eq!(b.meta::<FrameNumber>().unwrap().0, 10);
    let names: Vec<&str> = b.metas().map(|m| m.name()).collect();
    assert_eq!(names, ["FrameNumber", "FrameNumber", "VideoCropMeta"]);
    assert!(format!("{b:?}").contains("FrameNumber(10)"));
    assert_eq!(b.remove_meta::<FrameNumber>(), 2);
    assert_eq!(b.remove_meta::<FrameNumber>(), 0);
    assert!(b.meta::<FrameNumber>().is_none());
    assert!(b.meta_mut::<VideoMeta>().is_none());
    assert_eq!(b.metas().count(), 1);
    // Metas stay with the frozen buffer and its clones.
    b.add_meta(FrameNumber(4));
    let frozen: Buffer = b.freeze();
    let tee = frozen.clone();
    assert_eq!(tee.meta::<FrameNumber>(), Some(&FrameNumber(4)));
    assert_eq!(tee.meta::<VideoCropMeta>(), Some(&VideoCropMeta::default()));
}

#[test]
fn metas_are_dropped_with_the_buffer_and_transformed_on_copy() {
    let live = Arc::new(AtomicUsize::new(0));
    let mut b = BufferMut::with_size(16).unwrap();
    b.add_meta(Tracked::new(&live));
    assert_eq!(live.load(Ordering::SeqCst), 1);
    let shallow = b.copy_region(CopyFlags::ALL, 0, None).unwrap();
    assert_eq!(live.load(Ordering::SeqCst), 2);
    assert!(shallow.meta::<Tracked>().is_some());
    // This meta refuses deep copies.
    let deep = b.copy_deep().unwrap();
    assert!(deep.meta::<Tracked>().is_none());
    assert_eq!(live.load(Ordering::SeqCst), 2);
    // make_mut of a shared buffer transforms; of a unique one it does not.
    let frozen = b.freeze();
    let tee = frozen.clone();
    let m = tee.make_mut();
    assert_eq!(live.load(Ordering::SeqCst), 3);
    let unique = frozen.make_mut();
    assert_eq!(live.load(Ordering::SeqCst), 3);
    drop((shallow, deep, m, unique));
    assert_eq!(live.load(Ordering::SeqCst), 0);
}

fn transformed(meta: &dyn Meta, t: MetaTransform) -> Option<String> {
    meta.transform(&t).map(|m| format!("{m:?}"))
}

fn region(offset: usize, size: usize) -> MetaTransform {
    MetaTransform {
        region: true,
        offset,
        size,
        deep: false,
    }
}

#[test]
fn video_meta_from_info() {
    let info = VideoInfo::new(VideoFormat::Nv12, 64, 48).unwrap();
    let m = VideoMeta::from_info(&info);
    assert_eq!(m.format, VideoFormat::Nv12);
    assert_eq!((m.width, m.height), (64, 48));
    assert_eq!(m.n_planes, 2);
    assert_eq!(m.offset[..2], [info.offset(0), info.offset(1)]);
    assert_eq!(m.stride[..2], [info.stride(0), info.stride(1)]);
    assert_eq!(m.offset[1], 64 * 48);
    assert_eq!(m.modifier, 0, "linear");
    assert_eq!(m.name(), "VideoMeta");

    let info = VideoInfo::new(VideoFormat::I420, 32, 16).unwrap();
    let m = VideoMeta::from_info(&info);
    assert_eq!(m.n_planes, 3);
    assert_eq!(m.stride[..3], [32, 16, 16]);
    assert!(m.offset[1] < m.offset[2]);
    let gray = VideoMeta::from_info(&VideoInfo::new(VideoFormat::Gray8, 8, 8).unwrap());
    assert_eq!(gray.n_planes, 1);
}

#[test]
fn video_meta_transform_rules() {
    let info = VideoInfo::new(VideoFormat::Nv12, 64, 48).unwrap();
    let meta = VideoMeta::from_info(&info);
    let expect = format!("{meta:?}");
    // Whole copies (shallow or deep) keep it unchanged.
    assert_eq!(
        transformed(&meta, MetaTransform::whole(info.size())),
        Some(expect.clone())
    );
    let deep_whole = MetaTransform {
        deep: true,
        ..MetaTransform::whole(info.size())
    };
    assert_eq!(transformed(&meta, deep_whole), Some(expect.clone()));
    // A region from 0 that still holds the frame (the buffer had trailing bytes).
    assert_eq!(
        transformed(&meta, region(0, info.size())),
        Some(expect.clone())
    );
    // A region from anywhere else invalidates the plane offsets.
    assert_eq!(transformed(&meta, region(1, info.size())), None);
    assert_eq!(transformed(&meta, region(info.offset(1), 64)), None);
    // A head shorter than the first plane's first row.
    assert_eq!(transformed(&meta, region(0, 10)), None);
    assert_eq!(transformed(&meta, region(0, 0)), None);
    // Heads that hold the first rows of every plane but not all of their rows.
    assert_eq!(transformed(&meta, region(0, info.offset(1) + 64 + 1)), None);
    assert_eq!(transformed(&meta, region(0, info.size() - 1)), None);
    let i420 = VideoInfo::new(VideoFormat::I420, 64, 48).unwrap();
    let i420_meta = VideoMeta::from_info(&i420);
    assert!(transformed(&i420_meta, region(0, i420.size())).is_some());
    assert_eq!(
        transformed(&i420_meta, region(0, i420.offset(2) + 64)),
        None
    );

    // Through a buffer.
    let mut b = BufferMut::with_size(info.size() + 100).unwrap();
    b.add_meta(meta.clone());
    let whole = b.copy_region(CopyFlags::ALL, 0, None).unwrap();
    assert_eq!(whole.meta::<VideoMeta>(), Some(&meta));
    let without_tail = b.copy_region(CopyFlags::ALL, 0, Some(info.size())).unwrap();
    assert_eq!(without_tail.meta::<VideoMeta>(), Some(&meta));
    let tail = b.copy_region(CopyFlags::ALL, 100, None).unwrap();
    assert!(tail.meta::<VideoMeta>().is_none());
}

#[test]
fn video_crop_meta_transform_rules() {
    let crop = VideoCropMeta {
        x: 2,
        y: 4,
        width: 8,
        height: 6,
    };
    assert_eq!(crop.name(), "VideoCropMeta");
    let expect = format!("{crop:?}");
    assert_eq!(
        transformed(&crop, MetaTransform::whole(100)),
        Some(expect.clone())
    );
    assert_eq!(transformed(&crop, region(0, 50)), Some(expect));
    assert_eq!(transformed(&crop, region(8, 50)), None);
}

#[test]
fn meta_transform_whole() {
    let t = MetaTransform::whole(4096);
    assert_eq!(
        t,
        MetaTransform {
            region: false,
            offset: 0,
            size: 4096,
            deep: false
        }
    );
}

#[test]
fn metas_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + ?Sized>() {}
    assert_send_sync::<dyn Meta>();
    assert_send_sync::<VideoMeta>();
    assert_send_sync::<VideoCropMeta>();
}

/// A user meta that records the transform it was copied with.
#[derive(Debug, Clone, PartialEq)]
struct Lineage {
    copies: u32,
    last: Option<MetaTransform>,
}

impl Meta for Lineage {
    fn name(&self) -> &'static str {
        "Lineage"
    }
    fn transform(&self, t: &MetaTransform) -> Option<Box<dyn Meta>> {
        Some(Box::new(Lineage {
            copies: self.copies + 1,
            last: Some(*t),
        }))
    }
}

/// A user meta that never survives a region.
#[derive(Debug, Clone, PartialEq)]
struct WholeOnly(u8);

impl Meta for WholeOnly {
    fn name(&self) -> &'static str {
        "WholeOnly"
    }
    fn transform(&self, t: &MetaTransform) -> Option<Box<dyn Meta>> {
        (!t.region).then(|| Box::new(self.clone()) as Box<dyn Meta>)
    }
}

#[test]
fn metas_transform_on_copy() {
    let info = VideoInfo::new(VideoFormat::Nv12, 64, 48).unwrap();
    let mut b = BufferMut::with_size(info.size()).unwrap();
    b.add_meta(VideoMeta::from_info(&info));
    b.add_meta(VideoCropMeta {
        x: 0,
        y: 0,
        width: 32,
        height: 16,
    });
    b.add_meta(Lineage {
        copies: 0,
        last: None,
    });
    b.add_meta(WholeOnly(5));
    assert_eq!(b.metas().count(), 4);
    let names: Vec<&str> = b.metas().map(|m| m.name()).collect();
    assert_eq!(
        names,
        ["VideoMeta", "VideoCropMeta", "Lineage", "WholeOnly"]
    );

    // Whole copy: every meta kept.
    let whole = b.copy_region(CopyFlags::ALL, 0, None).unwrap();
    assert_eq!(
        whole.meta::<VideoMeta>(),
        Some(&VideoMeta::from_info(&info))
    );
    assert!(whole.meta::<VideoCropMeta>().is_some());
    assert_eq!(whole.meta::<WholeOnly>(), Some(&WholeOnly(5)));
    let l = whole.meta::<Lineage>().unwrap();
    assert_eq!(l.copies, 1);
    assert_eq!(l.last, Some(MetaTransform::whole(info.size())));

    // Partial region from an offset: the layout metas go, the user meta sees it.
    let part = b
        .copy_region(CopyFlags::ALL | CopyFlags::DEEP, 64, Some(128))
        .unwrap();
    assert!(part.meta::<VideoMeta>().is_none());
    assert!(part.meta::<VideoCropMeta>().is_none());
    assert!(part.meta::<WholeOnly>().is_none());
    let l = part.meta::<Lineage>().unwrap();
    assert_eq!(
        l.last,
        Some(MetaTransform {
            region: true,
            offset: 64,
            size: 128,
            deep: true
        })
    );

    // A head too short for the frame drops the VideoMeta, keeps the crop.
    let head = b.copy_region(CopyFlags::ALL, 0, Some(64)).unwrap();
    assert!(head.meta::<VideoMeta>().is_none());
    assert!(head.meta::<VideoCropMeta>().is_some());

    // Without META nothing is transformed.
    let bare = b.copy_region(CopyFlags::MEMORY, 0, None).unwrap();
    assert_eq!(bare.metas().count(), 0);

    // A copy of a copy counts generations; make_mut transforms as a whole copy.
    let again = whole.copy_region(CopyFlags::META, 0, None).unwrap();
    assert_eq!(again.meta::<Lineage>().unwrap().copies, 2);
    let frozen = b.freeze();
    let keep = frozen.clone();
    let m = keep.make_mut();
    assert_eq!(m.meta::<Lineage>().unwrap().copies, 1);
    assert_eq!(m.meta::<WholeOnly>(), Some(&WholeOnly(5)));
    assert_eq!(frozen.meta::<Lineage>().unwrap().copies, 0);
}
