//! Video buffer pools and the video side of the allocation query.
//!
//! The core's pools and allocation query know no video. A video pool is a core
//! [`PoolConfig`] whose [`layout`](PoolConfig::layout) is a [`VideoLayout`]: the frame's
//! [`VideoInfo`], whether each buffer carries a [`VideoMeta`], and the padding and stride
//! alignment applied. [`VideoPoolConfigExt`] builds one with the same calls as before
//! the split (`PoolConfig::video(info).with_video_alignment(a)`); [`VideoQueryExt`]
//! states and reads the video meta with its alignment in the allocation query.
//!
//! ```
//! use penstock::{BufferPool, PoolConfig};
//! use penstock_video::{VideoAlignment, VideoBufferPoolExt, VideoFormat, VideoInfo, VideoMeta, VideoPoolConfigExt};
//!
//! let info = VideoInfo::new(VideoFormat::Nv12, 1920, 1080)?;
//! let align = VideoAlignment { stride_align: [63; 4], ..Default::default() };
//! let mut config = PoolConfig::video(info).with_video_alignment(align);
//! config.size = config.video_layout()?.expect("a video pool").size();
//! let pool = BufferPool::new("frames");
//! pool.set_config(config)?;
//! pool.set_active(true)?;
//! let b = pool.acquire(Default::default())?;
//! assert_eq!(b.meta::<VideoMeta>().unwrap().stride[0] % 64, 0);
//! assert_eq!(pool.video_layout().unwrap().strides()[0] % 64, 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::Arc;

use penstock::buffer::BufferRef;
use penstock::meta::MetaParams;
use penstock::pool::{BufferLayout, BufferPool, PoolConfig, PoolError};
use penstock::query::AllocationQuery;

use crate::{VideoAlignment, VideoCropMeta, VideoInfo, VideoMeta};

/// Buffers that hold one video frame: the layout a [`PoolConfig`] carries for video.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoLayout {
    info: VideoInfo,
    meta: bool,
    alignment: Option<VideoAlignment>,
    /// `info` with `alignment` applied, or why it cannot be.
    aligned: Result<VideoInfo, String>,
}

impl VideoLayout {
    /// Frames of `info` in its default layout, without a meta.
    pub fn new(info: VideoInfo) -> VideoLayout {
        VideoLayout {
            aligned: Ok(info.clone()),
            info,
            meta: false,
            alignment: None,
        }
    }

    /// The same, with a [`VideoMeta`] on every buffer (`meta`).
    pub fn with_meta(mut self, meta: bool) -> VideoLayout {
        self.meta = meta;
        self
    }

    /// The same, padded and aligned by `alignment` (applied as `gst_video_info_align`).
    pub fn with_alignment(mut self, alignment: Option<VideoAlignment>) -> VideoLayout {
        self.alignment = alignment;
        self.aligned = match &alignment {
            None => Ok(self.info.clone()),
            Some(a) => {
                let mut info = self.info.clone();
                info.align(a)
                    .map(|()| info)
                    .map_err(|e| format!("video alignment {a:?} cannot be applied: {e}"))
            }
        };
        self
    }

    /// The frame as the caps describe it (before padding and alignment).
    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    /// True if every buffer carries a [`VideoMeta`].
    pub fn has_meta(&self) -> bool {
        self.meta
    }

    /// The padding and stride alignment, if any.
    pub fn alignment(&self) -> Option<VideoAlignment> {
        self.alignment
    }

    /// The frame layout the buffers have, padding and alignment applied.
    ///
    /// # Errors
    /// [`PoolError::Config`] if the alignment cannot be applied.
    pub fn aligned(&self) -> Result<&VideoInfo, PoolError> {
        self.aligned.as_ref().map_err(|reason| PoolError::Config {
            reason: reason.clone(),
            proposal: None,
        })
    }

    fn stride_mask(&self) -> usize {
        self.alignment.map_or(0, |a| {
            a.stride_align.iter().fold(0usize, |m, &s| m | s as usize)
        })
    }
}

impl BufferLayout for VideoLayout {
    fn size(&self) -> usize {
        self.aligned.as_ref().unwrap_or(&self.info).size()
    }

    fn align_mask(&self) -> usize {
        self.stride_mask()
    }

    fn add_metas(&self, buffer: &mut BufferRef) {
        if self.meta {
            if let Ok(info) = &self.aligned {
                buffer.add_meta(VideoMeta::from_info(info));
            }
        }
    }

    fn describe(&self) -> String {
        let info = self.aligned.as_ref().unwrap_or(&self.info);
        format!(
            "a {}x{} {:?} frame in this layout",
            info.width(),
            info.height(),
            info.format()
        )
    }

    fn check(&self, config: &PoolConfig) -> Result<(), (String, Option<PoolConfig>)> {
        if self.alignment.is_some() && !self.meta {
            let mut p = config.clone();
            p.layout = Some(Arc::new(self.clone().with_meta(true)));
            return Err((
                "a video alignment needs the video meta to describe the padded layout".into(),
                Some(p),
            ));
        }
        if let Err(reason) = &self.aligned {
            return Err((reason.clone(), None));
        }
        Ok(())
    }

    fn same(&self, other: &dyn BufferLayout) -> bool {
        let any: &dyn std::any::Any = other;
        any.downcast_ref::<VideoLayout>() == Some(self)
    }
}

/// Video pool configurations on the core's [`PoolConfig`].
pub trait VideoPoolConfigExt: Sized {
    /// Buffers for frames of `info` in its default layout (`size` = the frame size).
    fn video(info: VideoInfo) -> Self;

    /// Adds a [`VideoMeta`] to every buffer (no effect without a video layout).
    fn with_video_meta(self) -> Self;

    /// Pads and aligns the frames. Implies the video meta, and raises the memory
    /// alignment to the strictest stride alignment. `size` stays as it is:
    /// [`set_config`](BufferPool::set_config) proposes the aligned frame size if it is
    /// below.
    fn with_video_alignment(self, align: VideoAlignment) -> Self;

    /// The video layout, if this is a video pool configuration.
    fn as_video(&self) -> Option<&VideoLayout>;

    /// The frame layout the buffers will have, with padding and alignment applied.
    ///
    /// # Errors
    /// [`PoolError::Config`] if the alignment cannot be applied.
    fn video_layout(&self) -> Result<Option<VideoInfo>, PoolError>;
}

impl VideoPoolConfigExt for PoolConfig {
    fn video(info: VideoInfo) -> Self {
        PoolConfig::new(info.size()).with_layout(Arc::new(VideoLayout::new(info)))
    }

    fn with_video_meta(self) -> Self {
        match self.as_video().cloned() {
            Some(l) => self.with_layout(Arc::new(l.with_meta(true))),
            None => self,
        }
    }

    fn with_video_alignment(mut self, align: VideoAlignment) -> Self {
        let Some(l) = self.as_video().cloned() else {
            return self;
        };
        let l = l.with_meta(true).with_alignment(Some(align));
        self.params.align |= l.stride_mask();
        self.with_layout(Arc::new(l))
    }

    fn as_video(&self) -> Option<&VideoLayout> {
        self.layout_as::<VideoLayout>()
    }

    fn video_layout(&self) -> Result<Option<VideoInfo>, PoolError> {
        match self.as_video() {
            None => Ok(None),
            Some(l) => l.aligned().map(|i| Some(i.clone())),
        }
    }
}

/// The video layout of a configured pool.
pub trait VideoBufferPoolExt {
    /// The frame layout of a video pool (aligned), as its buffers' VideoMeta says.
    fn video_layout(&self) -> Option<VideoInfo>;
}

impl VideoBufferPoolExt for BufferPool {
    fn video_layout(&self) -> Option<VideoInfo> {
        let layout = self.layout()?;
        let any: &dyn std::any::Any = layout.as_ref();
        any.downcast_ref::<VideoLayout>()?.aligned().ok().cloned()
    }
}

/// The padding and stride alignment a consumer asks for with [`VideoMeta`]; tee
/// branches merge to the union of their needs.
impl MetaParams for VideoAlignment {
    fn merge(&self, other: &dyn MetaParams) -> Arc<dyn MetaParams> {
        let any: &dyn std::any::Any = other;
        let Some(b) = any.downcast_ref::<VideoAlignment>() else {
            return Arc::new(*self);
        };
        let a = self;
        let mut out = VideoAlignment {
            padding_top: a.padding_top.max(b.padding_top),
            padding_bottom: a.padding_bottom.max(b.padding_bottom),
            padding_left: a.padding_left.max(b.padding_left),
            padding_right: a.padding_right.max(b.padding_right),
            stride_align: [0; 4],
        };
        for i in 0..4 {
            out.stride_align[i] = a.stride_align[i] | b.stride_align[i];
        }
        Arc::new(out)
    }

    fn same(&self, other: &dyn MetaParams) -> bool {
        let any: &dyn std::any::Any = other;
        any.downcast_ref::<VideoAlignment>() == Some(self)
    }
}

/// The video metas in the allocation query.
pub trait VideoQueryExt {
    /// States that downstream reads [`VideoMeta`] (any layout), asking for `alignment`.
    fn add_video_meta(&mut self, alignment: Option<VideoAlignment>);

    /// States that downstream applies [`VideoCropMeta`] itself.
    fn add_video_crop_meta(&mut self);

    /// The alignment downstream asked for with [`VideoMeta`], if any.
    fn video_alignment(&self) -> Option<VideoAlignment>;
}

impl VideoQueryExt for AllocationQuery {
    fn add_video_meta(&mut self, alignment: Option<VideoAlignment>) {
        self.add_meta::<VideoMeta>(alignment.map(|a| Arc::new(a) as Arc<dyn MetaParams>));
    }

    fn add_video_crop_meta(&mut self) {
        self.add_meta::<VideoCropMeta>(None);
    }

    fn video_alignment(&self) -> Option<VideoAlignment> {
        self.meta_params::<VideoMeta, VideoAlignment>().copied()
    }
}
