//! Video metas: plane layout and crop rectangle.

use crate::{MAX_PLANES, VideoFormat, VideoInfo};
use penstock::meta::{Meta, MetaTransform};

/// The layout of a video frame in its buffer: format, size, and per-plane offset and
/// stride (bytes from the buffer's first byte), plus the DRM format modifier
/// (`0` = linear). When present it overrides the default layout for the caps.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VideoMeta {
    /// Pixel format.
    pub format: VideoFormat,
    /// Visible width in pixels.
    pub width: u32,
    /// Visible height in pixels.
    pub height: u32,
    /// Number of planes used.
    pub n_planes: usize,
    /// Byte offset of each plane's first visible pixel in the buffer.
    pub offset: [usize; MAX_PLANES],
    /// Bytes per row of each plane.
    pub stride: [usize; MAX_PLANES],
    /// DRM format modifier (`DRM_FORMAT_MOD_LINEAR` = 0).
    pub modifier: u64,
}

impl VideoMeta {
    /// The meta describing `info`'s layout, linear.
    pub fn from_info(info: &VideoInfo) -> Self {
        VideoMeta {
            format: info.format(),
            width: info.width(),
            height: info.height(),
            n_planes: info.n_planes(),
            offset: info.offsets(),
            stride: info.strides(),
            modifier: 0,
        }
    }

    /// The layout this meta describes, validated against a buffer of `buffer_size`
    /// bytes (every plane's rows must fit).
    ///
    /// # Errors
    /// [`VideoError`](crate::VideoError) naming what does not fit.
    pub fn layout(&self, buffer_size: usize) -> Result<VideoInfo, crate::VideoError> {
        let n = self.n_planes.min(MAX_PLANES);
        VideoInfo::with_layout(
            self.format,
            self.width,
            self.height,
            &self.offset[..n],
            &self.stride[..n],
            buffer_size,
        )
    }
}

impl Meta for VideoMeta {
    fn name(&self) -> &'static str {
        "VideoMeta"
    }

    fn transform(&self, t: &MetaTransform) -> Option<Box<dyn Meta>> {
        // Plane offsets are relative to the whole buffer: a region invalidates them,
        // unless the region starts at 0 and still holds every row of every plane.
        if t.region {
            if t.offset != 0 {
                return None;
            }
            // Visible rows per plane come from the format; a meta whose format and
            // size make no valid frame cannot be checked, so it is dropped.
            let info = VideoInfo::new(self.format, self.width, self.height).ok()?;
            let last_plane_end = (0..self.n_planes.min(MAX_PLANES))
                .map(|p| match info.plane_height(p) as usize {
                    0 => self.offset[p],
                    rows => self.offset[p]
                        .saturating_add(self.stride[p].saturating_mul(rows - 1))
                        .saturating_add(info.plane_row_bytes(p)),
                })
                .max()
                .unwrap_or(0);
            if t.size < last_plane_end {
                return None;
            }
        }
        Some(Box::new(self.clone()))
    }
}

/// The visible rectangle of a frame: consumers show only `x, y, width, height`.
/// Cropping by adding this meta costs no copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VideoCropMeta {
    /// Left edge in pixels.
    pub x: u32,
    /// Top edge in pixels.
    pub y: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Meta for VideoCropMeta {
    fn name(&self) -> &'static str {
        "VideoCropMeta"
    }

    fn transform(&self, t: &MetaTransform) -> Option<Box<dyn Meta>> {
        if t.region && t.offset != 0 {
            return None;
        }
        Some(Box::new(*self))
    }
}
