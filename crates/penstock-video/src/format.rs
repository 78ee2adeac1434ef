//! [`VideoFormat`]: the raw pixel formats penstock understands, with GStreamer's names,
//! their DRM fourccs and a description of how each component is laid out in memory.

use std::fmt;
use std::str::FromStr;

use drm_fourcc::DrmFourcc;
use penstock::drm::{DrmFormat, DrmFormatSet};

use super::VideoError;

/// A raw video pixel format, named and laid out as in GStreamer.
///
/// Components are numbered as in GStreamer: for YUV formats 0 = Y, 1 = U (Cb),
/// 2 = V (Cr); for RGB formats 0 = R, 1 = G, 2 = B and 3 = A where there is alpha;
/// for gray formats 0 = Y. Padding bytes (the `x` of `RGBx`) are not components.
///
/// Planes are numbered in memory order, so for [`VideoFormat::Yv12`] plane 1 holds V
/// and plane 2 holds U.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VideoFormat {
    /// Planar 4:2:0 YUV: a Y plane, then a U plane, then a V plane (each chroma plane
    /// half width, half height).
    I420,
    /// Planar 4:2:0 YUV like [`VideoFormat::I420`], but with the V plane before the U plane.
    Yv12,
    /// Semi-planar 4:2:0 YUV: a Y plane, then one plane of interleaved U,V pairs.
    Nv12,
    /// Semi-planar 4:2:0 YUV: a Y plane, then one plane of interleaved V,U pairs.
    Nv21,
    /// Packed 4:2:2 YUV, bytes Y0 U Y1 V for every two pixels.
    Yuy2,
    /// Packed 4:2:2 YUV, bytes U Y0 V Y1 for every two pixels.
    Uyvy,
    /// Packed RGB with alpha, bytes R, G, B, A in memory.
    Rgba,
    /// Packed RGB with alpha, bytes B, G, R, A in memory.
    Bgra,
    /// Packed RGB with alpha, bytes A, R, G, B in memory.
    Argb,
    /// Packed RGB with alpha, bytes A, B, G, R in memory.
    Abgr,
    /// Packed RGB, bytes R, G, B and one unused byte in memory.
    Rgbx,
    /// Packed RGB, bytes B, G, R and one unused byte in memory.
    Bgrx,
    /// Packed RGB, one unused byte then R, G, B in memory.
    Xrgb,
    /// Packed RGB, one unused byte then B, G, R in memory.
    Xbgr,
    /// Packed 24-bit RGB, bytes R, G, B in memory.
    Rgb,
    /// Packed 24-bit RGB, bytes B, G, R in memory.
    Bgr,
    /// 8-bit gray (luma only).
    Gray8,
}

/// Colour model of a format.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Model {
    Yuv,
    Rgb,
    Gray,
}

/// Where one component lives: which plane, at which byte of a pixel group, how far apart
/// two horizontally adjacent samples are, and its subsampling shifts.
#[derive(Clone, Copy)]
struct Comp {
    plane: u8,
    offset: u8,
    pstride: u8,
    hsub: u8,
    vsub: u8,
}

const fn c(plane: u8, offset: u8, pstride: u8, hsub: u8, vsub: u8) -> Comp {
    Comp {
        plane,
        offset,
        pstride,
        hsub,
        vsub,
    }
}

/// Static description of a format.
struct Desc {
    name: &'static str,
    model: Model,
    alpha: bool,
    n_planes: u8,
    comps: &'static [Comp],
}

const I420: Desc = Desc {
    name: "I420",
    model: Model::Yuv,
    alpha: false,
    n_planes: 3,
    comps: &[c(0, 0, 1, 0, 0), c(1, 0, 1, 1, 1), c(2, 0, 1, 1, 1)],
};
const YV12: Desc = Desc {
    name: "YV12",
    model: Model::Yuv,
    alpha: false,
    n_planes: 3,
    comps: &[c(0, 0, 1, 0, 0), c(2, 0, 1, 1, 1), c(1, 0, 1, 1, 1)],
};
const NV12: Desc = Desc {
    name: "NV12",
    model: Model::Yuv,
    alpha: false,
    n_planes: 2,
    comps: &[c(0, 0, 1, 0, 0), c(1, 0, 2, 1, 1), c(1, 1, 2, 1, 1)],
};
const NV21: Desc = Desc {
    name: "NV21",
    model: Model::Yuv,
    alpha: false,
    n_planes: 2,
    comps: &[c(0, 0, 1, 0, 0), c(1, 1, 2, 1, 1), c(1, 0, 2, 1, 1)],
};
const YUY2: Desc = Desc {
    name: "YUY2",
    model: Model::Yuv,
    alpha: false,
    n_planes: 1,
    comps: &[c(0, 0, 2, 0, 0), c(0, 1, 4, 1, 0), c(0, 3, 4, 1, 0)],
};
const UYVY: Desc = Desc {
    name: "UYVY",
    model: Model::Yuv,
    alpha: false,
    n_planes: 1,
    comps: &[c(0, 1, 2, 0, 0), c(0, 0, 4, 1, 0), c(0, 2, 4, 1, 0)],
};
const RGBA: Desc = Desc {
    name: "RGBA",
    model: Model::Rgb,
    alpha: true,
    n_planes: 1,
    comps: &[
        c(0, 0, 4, 0, 0),
        c(0, 1, 4, 0, 0),
        c(0, 2, 4, 0, 0),
        c(0, 3, 4, 0, 0),
    ],
};
const BGRA: Desc = Desc {
    name: "BGRA",
    model: Model::Rgb,
    alpha: true,
    n_planes: 1,
    comps: &[
        c(0, 2, 4, 0, 0),
        c(0, 1, 4, 0, 0),
        c(0, 0, 4, 0, 0),
        c(0, 3, 4, 0, 0),
    ],
};
const ARGB: Desc = Desc {
    name: "ARGB",
    model: Model::Rgb,
    alpha: true,
    n_planes: 1,
    comps: &[
        c(0, 1, 4, 0, 0),
        c(0, 2, 4, 0, 0),
        c(0, 3, 4, 0, 0),
        c(0, 0, 4, 0, 0),
    ],
};
const ABGR: Desc = Desc {
    name: "ABGR",
    model: Model::Rgb,
    alpha: true,
    n_planes: 1,
    comps: &[
        c(0, 3, 4, 0, 0),
        c(0, 2, 4, 0, 0),
        c(0, 1, 4, 0, 0),
        c(0, 0, 4, 0, 0),
    ],
};
const RGBX: Desc = Desc {
    name: "RGBx",
    model: Model::Rgb,
    alpha: false,
    n_planes: 1,
    comps: &[c(0, 0, 4, 0, 0), c(0, 1, 4, 0, 0), c(0, 2, 4, 0, 0)],
};
const BGRX: Desc = Desc {
    name: "BGRx",
    model: Model::Rgb,
    alpha: false,
    n_planes: 1,
    comps: &[c(0, 2, 4, 0, 0), c(0, 1, 4, 0, 0), c(0, 0, 4, 0, 0)],
};
const XRGB: Desc = Desc {
    name: "xRGB",
    model: Model::Rgb,
    alpha: false,
    n_planes: 1,
    comps: &[c(0, 1, 4, 0, 0), c(0, 2, 4, 0, 0), c(0, 3, 4, 0, 0)],
};
const XBGR: Desc = Desc {
    name: "xBGR",
    model: Model::Rgb,
    alpha: false,
    n_planes: 1,
    comps: &[c(0, 3, 4, 0, 0), c(0, 2, 4, 0, 0), c(0, 1, 4, 0, 0)],
};
const RGB: Desc = Desc {
    name: "RGB",
    model: Model::Rgb,
    alpha: false,
    n_planes: 1,
    comps: &[c(0, 0, 3, 0, 0), c(0, 1, 3, 0, 0), c(0, 2, 3, 0, 0)],
};
const BGR: Desc = Desc {
    name: "BGR",
    model: Model::Rgb,
    alpha: false,
    n_planes: 1,
    comps: &[c(0, 2, 3, 0, 0), c(0, 1, 3, 0, 0), c(0, 0, 3, 0, 0)],
};
const GRAY8: Desc = Desc {
    name: "GRAY8",
    model: Model::Gray,
    alpha: false,
    n_planes: 1,
    comps: &[c(0, 0, 1, 0, 0)],
};

impl VideoFormat {
    /// Every format, in declaration order.
    pub const ALL: [VideoFormat; 17] = [
        VideoFormat::I420,
        VideoFormat::Yv12,
        VideoFormat::Nv12,
        VideoFormat::Nv21,
        VideoFormat::Yuy2,
        VideoFormat::Uyvy,
        VideoFormat::Rgba,
        VideoFormat::Bgra,
        VideoFormat::Argb,
        VideoFormat::Abgr,
        VideoFormat::Rgbx,
        VideoFormat::Bgrx,
        VideoFormat::Xrgb,
        VideoFormat::Xbgr,
        VideoFormat::Rgb,
        VideoFormat::Bgr,
        VideoFormat::Gray8,
    ];

    const fn desc(self) -> &'static Desc {
        match self {
            VideoFormat::I420 => &I420,
            VideoFormat::Yv12 => &YV12,
            VideoFormat::Nv12 => &NV12,
            VideoFormat::Nv21 => &NV21,
            VideoFormat::Yuy2 => &YUY2,
            VideoFormat::Uyvy => &UYVY,
            VideoFormat::Rgba => &RGBA,
            VideoFormat::Bgra => &BGRA,
            VideoFormat::Argb => &ARGB,
            VideoFormat::Abgr => &ABGR,
            VideoFormat::Rgbx => &RGBX,
            VideoFormat::Bgrx => &BGRX,
            VideoFormat::Xrgb => &XRGB,
            VideoFormat::Xbgr => &XBGR,
            VideoFormat::Rgb => &RGB,
            VideoFormat::Bgr => &BGR,
            VideoFormat::Gray8 => &GRAY8,
        }
    }

    fn comp(self, comp: usize) -> Option<&'static Comp> {
        self.desc().comps.get(comp)
    }

    /// GStreamer's name of the format (`"I420"`, `"RGBx"`, `"GRAY8"`, ...), as used in
    /// caps strings.
    pub const fn name(self) -> &'static str {
        self.desc().name
    }

    /// The format with exactly this GStreamer name (case-sensitive: `"RGBx"` and
    /// `"xRGB"` are different formats), or `None`.
    pub fn from_name(s: &str) -> Option<VideoFormat> {
        Self::ALL.into_iter().find(|f| f.name() == s)
    }

    /// A comma-separated list of every valid format name, for error messages.
    pub fn valid_names() -> String {
        Self::ALL.map(VideoFormat::name).join(", ")
    }

    /// The DRM fourcc describing the same memory layout, following GStreamer's
    /// `gst_video_dma_drm_fourcc_from_format`.
    ///
    /// DRM fourccs name packed pixels as a little-endian word, so the byte order in memory
    /// is reversed relative to the name: GStreamer `RGBA` (bytes R, G, B, A) is
    /// `ABGR8888`, and GStreamer `RGB` is `BGR888`.
    pub const fn drm_fourcc(self) -> Option<DrmFourcc> {
        Some(match self {
            VideoFormat::I420 => DrmFourcc::Yuv420,
            VideoFormat::Yv12 => DrmFourcc::Yvu420,
            VideoFormat::Nv12 => DrmFourcc::Nv12,
            VideoFormat::Nv21 => DrmFourcc::Nv21,
            VideoFormat::Yuy2 => DrmFourcc::Yuyv,
            VideoFormat::Uyvy => DrmFourcc::Uyvy,
            VideoFormat::Rgba => DrmFourcc::Abgr8888,
            VideoFormat::Bgra => DrmFourcc::Argb8888,
            VideoFormat::Argb => DrmFourcc::Bgra8888,
            VideoFormat::Abgr => DrmFourcc::Rgba8888,
            VideoFormat::Rgbx => DrmFourcc::Xbgr8888,
            VideoFormat::Bgrx => DrmFourcc::Xrgb8888,
            VideoFormat::Xrgb => DrmFourcc::Bgrx8888,
            VideoFormat::Xbgr => DrmFourcc::Rgbx8888,
            VideoFormat::Rgb => DrmFourcc::Bgr888,
            VideoFormat::Bgr => DrmFourcc::Rgb888,
            VideoFormat::Gray8 => DrmFourcc::R8,
        })
    }

    /// The format whose memory layout this DRM fourcc describes, or `None` when penstock
    /// has no such format. Inverse of [`VideoFormat::drm_fourcc`].
    pub fn from_drm_fourcc(f: DrmFourcc) -> Option<VideoFormat> {
        Self::ALL
            .into_iter()
            .find(|fmt| fmt.drm_fourcc() == Some(f))
    }

    /// The format with the memory layout of DRM format `drm`'s fourcc (whatever its
    /// modifier), or `None` when penstock has no such format.
    pub fn from_drm_format(drm: &DrmFormat) -> Option<VideoFormat> {
        Self::from_drm_fourcc(drm.fourcc)
    }

    /// Number of planes (separately strided memory regions) of a frame.
    pub const fn n_planes(self) -> usize {
        self.desc().n_planes as usize
    }

    /// Number of components (Y, U, V / R, G, B / A); unused padding bytes do not count,
    /// so `RGBx` has 3 and `RGBA` has 4.
    pub const fn n_components(self) -> usize {
        self.desc().comps.len()
    }

    /// Whether this is a YUV format.
    pub fn is_yuv(self) -> bool {
        self.desc().model == Model::Yuv
    }

    /// Whether this is an RGB format.
    pub fn is_rgb(self) -> bool {
        self.desc().model == Model::Rgb
    }

    /// Whether this is a gray (luma only) format.
    pub fn is_gray(self) -> bool {
        self.desc().model == Model::Gray
    }

    /// Whether the format carries an alpha component.
    pub const fn has_alpha(self) -> bool {
        self.desc().alpha
    }

    /// Horizontal and vertical subsampling shifts of component `comp`: a component with
    /// shifts `(h, v)` has `ceil(width / 2^h)` samples per row and `ceil(height / 2^v)`
    /// rows. For example I420's U is `(1, 1)` and YUY2's U is `(1, 0)`.
    ///
    /// Returns `(0, 0)` when `comp >= self.n_components()`.
    pub fn subsampling(self, comp: usize) -> (u32, u32) {
        self.comp(comp)
            .map_or((0, 0), |c| (u32::from(c.hsub), u32::from(c.vsub)))
    }

    /// Bytes between two horizontally adjacent samples of component `comp` in its plane
    /// (1 for planar formats, 2 for NV12's U and V, 4 for RGBA, 4 for YUY2's U, ...).
    ///
    /// Returns 0 when `comp >= self.n_components()`.
    pub fn pixel_stride(self, comp: usize) -> usize {
        self.comp(comp).map_or(0, |c| usize::from(c.pstride))
    }

    /// The plane (in memory order) holding component `comp`; YV12's U is in plane 2.
    ///
    /// Returns 0 when `comp >= self.n_components()`.
    pub fn component_plane(self, comp: usize) -> usize {
        self.comp(comp).map_or(0, |c| usize::from(c.plane))
    }

    /// Byte offset of the first sample of component `comp` from the start of a row of its
    /// plane, i.e. within the first pixel group (2 for BGRA's R, 1 for UYVY's Y).
    ///
    /// Returns 0 when `comp >= self.n_components()`.
    pub fn component_offset(self, comp: usize) -> usize {
        self.comp(comp).map_or(0, |c| usize::from(c.offset))
    }

    /// The components stored in `plane`, in component order (empty when
    /// `plane >= self.n_planes()`).
    pub fn plane_components(self, plane: usize) -> impl Iterator<Item = usize> {
        self.desc()
            .comps
            .iter()
            .enumerate()
            .filter(move |(_, c)| usize::from(c.plane) == plane)
            .map(|(i, _)| i)
    }

    /// Samples per row of component `comp` in a frame `width` pixels wide: the width
    /// scaled down by the component's horizontal subsampling, rounded up (GStreamer's
    /// `GST_VIDEO_SUB_SCALE`). 0 when `comp >= self.n_components()`.
    pub fn comp_width(self, comp: usize, width: u32) -> u32 {
        self.comp(comp)
            .map_or(0, |c| sub_scale(width, u32::from(c.hsub)))
    }

    /// Rows of component `comp` in a frame `height` pixels high: the height scaled down
    /// by the component's vertical subsampling, rounded up (an I420 frame 241 rows high
    /// has 121 chroma rows). 0 when `comp >= self.n_components()`.
    pub fn comp_height(self, comp: usize, height: u32) -> u32 {
        self.comp(comp)
            .map_or(0, |c| sub_scale(height, u32::from(c.vsub)))
    }

    /// The size of `plane` in a `width` x `height` frame: the one plane-geometry
    /// computation that layouts ([`VideoInfo`](crate::VideoInfo)), the convert kernels
    /// and the test-pattern renderer share.
    ///
    /// `None` for a plane the format does not have, or when one row's bytes overflow
    /// `usize` (only possible where `usize` has 32 bits).
    pub fn plane_size(self, plane: usize, width: u32, height: u32) -> Option<PlaneSize> {
        // The plane's first component (GStreamer's per-plane subsampling).
        let first = self.plane_components(plane).next()?;
        let row_bytes = self.plane_components(plane).try_fold(0usize, |acc, comp| {
            let w = usize::try_from(self.comp_width(comp, width)).ok()?;
            Some(acc.max(w.checked_mul(self.pixel_stride(comp))?))
        })?;
        Some(PlaneSize {
            width: self.comp_width(first, width),
            height: self.comp_height(first, height),
            row_bytes,
        })
    }
}

/// The size of one plane of a frame ([`VideoFormat::plane_size`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlaneSize {
    /// Samples per row of the plane's first component (the chroma width of a
    /// subsampled plane; for packed 4:2:2, the luma width).
    pub width: u32,
    /// Visible rows.
    pub height: u32,
    /// Bytes of visible pixel data in one row, i.e. the smallest stride the plane could
    /// have: the widest of its components' `comp_width * pixel_stride`.
    pub row_bytes: usize,
}

/// `ceil(x / 2^shift)`, GStreamer's `GST_VIDEO_SUB_SCALE`.
fn sub_scale(x: u32, shift: u32) -> u32 {
    // Computed in u64 so that u32::MAX rounds up without overflowing.
    ((u64::from(x) + (1u64 << shift) - 1) >> shift) as u32
}

impl fmt::Display for VideoFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for VideoFormat {
    type Err = VideoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        VideoFormat::from_name(s).ok_or_else(|| VideoError::UnknownFormat { name: s.to_owned() })
    }
}

/// Every fourcc of a penstock [`VideoFormat`], LINEAR only: what a software allocator
/// (memfd, dma-heap, udmabuf) can lay out.
pub fn linear_drm_formats() -> DrmFormatSet {
    VideoFormat::ALL
        .into_iter()
        .filter_map(VideoFormat::drm_fourcc)
        .map(DrmFormat::linear)
        .collect()
}
