//! [`VideoInfo`]: the memory layout of one raw video frame, and [`VideoAlignment`].

use super::{Colorimetry, MAX_PLANES, VideoError, VideoFormat};

/// Padding around a frame and alignment of its strides, as in GStreamer's
/// `GstVideoAlignment`. Applied with [`VideoInfo::align`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VideoAlignment {
    /// Rows of padding above the visible frame.
    pub padding_top: u32,
    /// Rows of padding below the visible frame.
    pub padding_bottom: u32,
    /// Pixels of padding left of the visible frame.
    pub padding_left: u32,
    /// Pixels of padding right of the visible frame.
    pub padding_right: u32,
    /// Per plane, a mask of stride bits that must be zero: `15` asks for strides that
    /// are a multiple of 16 bytes, `0` for no constraint.
    pub stride_align: [u32; MAX_PLANES],
}

/// The layout of one raw video frame: format, visible size, and where each plane lies;
/// and how its samples encode colour ([`VideoInfo::colorimetry`]).
///
/// Build one with [`VideoInfo::new`] (GStreamer's default layout), then optionally
/// [`VideoInfo::align`] it; or validate a layout from elsewhere with
/// [`VideoInfo::with_layout`]. A `VideoInfo` always describes a layout in which every
/// plane's visible rows lie within [`VideoInfo::size`] bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VideoInfo {
    format: VideoFormat,
    width: u32,
    height: u32,
    size: usize,
    offsets: [usize; MAX_PLANES],
    strides: [usize; MAX_PLANES],
    colorimetry: Colorimetry,
}

/// Plane offsets, strides and frame size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    offsets: [usize; MAX_PLANES],
    strides: [usize; MAX_PLANES],
    size: usize,
}

/// Largest width or height accepted (GStreamer stores them as `gint`).
const MAX_DIMENSION: u32 = i32::MAX as u32;
/// Largest stride produced (GStreamer stores strides as `gint`).
const MAX_STRIDE: usize = i32::MAX as usize;
/// Largest frame size (Rust cannot allocate more than `isize::MAX` bytes).
const MAX_SIZE: usize = isize::MAX as usize;

/// Round up to a multiple of 2.
fn ru2(x: usize) -> Option<usize> {
    Some(x.checked_add(1)? & !1)
}

/// Round up to a multiple of 4.
fn ru4(x: usize) -> Option<usize> {
    Some(x.checked_add(3)? & !3)
}

/// Why a default layout could not be computed.
enum LayoutOverflow {
    Stride,
    Size,
}

/// GStreamer's default layout (`fill_planes` in video-info.c) for `width` x `height`.
fn default_layout(format: VideoFormat, width: u64, height: u64) -> Result<Layout, LayoutOverflow> {
    use LayoutOverflow::{Size, Stride};
    let w = usize::try_from(width).map_err(|_| Stride)?;
    let h = usize::try_from(height).map_err(|_| Size)?;
    let mut offsets = [0usize; MAX_PLANES];
    let mut strides = [0usize; MAX_PLANES];
    let size;
    match format {
        VideoFormat::I420 | VideoFormat::Yv12 => {
            let s0 = ru4(w).ok_or(Stride)?;
            let s1 = ru4(ru2(w).ok_or(Stride)? / 2).ok_or(Stride)?;
            let h2 = ru2(h).ok_or(Size)?;
            let chroma_h = h2 / 2;
            let off1 = s0.checked_mul(h2).ok_or(Size)?;
            let chroma_size = s1.checked_mul(chroma_h).ok_or(Size)?;
            let off2 = off1.checked_add(chroma_size).ok_or(Size)?;
            size = off2.checked_add(chroma_size).ok_or(Size)?;
            // Planes in memory order: I420 is Y,U,V and YV12 is Y,V,U; the offsets and
            // strides of planes 1 and 2 are the same either way.
            strides[..3].copy_from_slice(&[s0, s1, s1]);
            offsets[..3].copy_from_slice(&[0, off1, off2]);
        }
        VideoFormat::Nv12 | VideoFormat::Nv21 => {
            let s0 = ru4(w).ok_or(Stride)?;
            let h2 = ru2(h).ok_or(Size)?;
            let off1 = s0.checked_mul(h2).ok_or(Size)?;
            size = off1.checked_add(off1 / 2).ok_or(Size)?;
            strides[..2].copy_from_slice(&[s0, s0]);
            offsets[..2].copy_from_slice(&[0, off1]);
        }
        VideoFormat::Yuy2 | VideoFormat::Uyvy => {
            let row = ru2(w).ok_or(Stride)?.checked_mul(2).ok_or(Stride)?;
            strides[0] = ru4(row).ok_or(Stride)?;
            size = strides[0].checked_mul(h).ok_or(Size)?;
        }
        VideoFormat::Rgba
        | VideoFormat::Bgra
        | VideoFormat::Argb
        | VideoFormat::Abgr
        | VideoFormat::Rgbx
        | VideoFormat::Bgrx
        | VideoFormat::Xrgb
        | VideoFormat::Xbgr => {
            strides[0] = w.checked_mul(4).ok_or(Stride)?;
            size = strides[0].checked_mul(h).ok_or(Size)?;
        }
        VideoFormat::Rgb | VideoFormat::Bgr => {
            strides[0] = ru4(w.checked_mul(3).ok_or(Stride)?).ok_or(Stride)?;
            size = strides[0].checked_mul(h).ok_or(Size)?;
        }
        VideoFormat::Gray8 => {
            strides[0] = ru4(w).ok_or(Stride)?;
            size = strides[0].checked_mul(h).ok_or(Size)?;
        }
    }
    if strides.iter().any(|&s| s > MAX_STRIDE) {
        return Err(Stride);
    }
    if size > MAX_SIZE {
        return Err(Size);
    }
    Ok(Layout {
        offsets,
        strides,
        size,
    })
}

/// Like [`default_layout`], with the overflow turned into a [`VideoError::TooLarge`].
fn default_layout_checked(
    format: VideoFormat,
    width: u64,
    height: u64,
) -> Result<Layout, VideoError> {
    default_layout(format, width, height).map_err(|o| VideoError::TooLarge {
        format,
        width,
        height,
        what: match o {
            LayoutOverflow::Stride => "a row stride (GStreamer's limit is i32::MAX bytes)",
            LayoutOverflow::Size => "the frame size (the limit is isize::MAX bytes)",
        },
    })
}

fn check_dimensions(format: VideoFormat, width: u32, height: u32) -> Result<(), VideoError> {
    let reason = if width == 0 && height == 0 {
        "width and height must be at least 1"
    } else if width == 0 {
        "width must be at least 1"
    } else if height == 0 {
        "height must be at least 1"
    } else if width > MAX_DIMENSION {
        "width must be at most i32::MAX (2147483647)"
    } else if height > MAX_DIMENSION {
        "height must be at most i32::MAX (2147483647)"
    } else {
        return Ok(());
    };
    Err(VideoError::InvalidDimensions {
        format,
        width,
        height,
        reason,
    })
}

/// The first component stored in `plane` (the one GStreamer uses for per-plane
/// subsampling), or `None` for a plane the format does not have.
fn first_component(format: VideoFormat, plane: usize) -> Option<usize> {
    format.plane_components(plane).next()
}

/// Bytes of pixel data in one row of `plane`, or `None` on overflow (or for a plane the
/// format does not have).
fn row_bytes_of(format: VideoFormat, width: u32, plane: usize) -> Option<usize> {
    format.plane_size(plane, width, 1).map(|p| p.row_bytes)
}

impl VideoInfo {
    /// The layout GStreamer gives a `width` x `height` frame of `format` by default
    /// (no padding, GStreamer's row rounding), so that raw frames are byte-for-byte
    /// interchangeable with GStreamer's.
    ///
    /// # Errors
    ///
    /// [`VideoError::InvalidDimensions`] for a width or height of 0 or above
    /// `i32::MAX`; [`VideoError::TooLarge`] when a stride exceeds `i32::MAX` or the
    /// frame size exceeds `isize::MAX`.
    pub fn new(format: VideoFormat, width: u32, height: u32) -> Result<VideoInfo, VideoError> {
        check_dimensions(format, width, height)?;
        let layout = default_layout_checked(format, width.into(), height.into())?;
        Ok(VideoInfo {
            format,
            width,
            height,
            size: layout.size,
            offsets: layout.offsets,
            strides: layout.strides,
            colorimetry: Colorimetry::default_for(format, height),
        })
    }

    /// Validates an explicit layout, such as a video meta carries, and returns it as a
    /// `VideoInfo`.
    ///
    /// `offsets` and `strides` must have exactly [`VideoFormat::n_planes`] entries. Each
    /// plane's stride must hold a row of its pixels ([`VideoInfo::plane_row_bytes`]),
    /// and each plane's visible rows must lie within `size` bytes: `offset +
    /// stride * (rows - 1) + row_bytes <= size` (the last row needs no stride padding).
    /// Planes may come in any order; overlap between planes is not checked.
    ///
    /// # Errors
    ///
    /// [`VideoError::InvalidDimensions`] as for [`VideoInfo::new`];
    /// [`VideoError::InvalidLayout`] when the plane count is wrong, a stride is too
    /// small, a plane runs past `size`, or the arithmetic overflows.
    pub fn with_layout(
        format: VideoFormat,
        width: u32,
        height: u32,
        offsets: &[usize],
        strides: &[usize],
        size: usize,
    ) -> Result<VideoInfo, VideoError> {
        check_dimensions(format, width, height)?;
        let invalid = |reason: String| VideoError::InvalidLayout {
            format,
            width,
            height,
            reason,
        };
        let n_planes = format.n_planes();
        if offsets.len() != n_planes || strides.len() != n_planes {
            return Err(invalid(format!(
                "{format} has {n_planes} plane(s) but {} offset(s) and {} stride(s) were given; \
                 pass exactly one offset and one stride per plane",
                offsets.len(),
                strides.len()
            )));
        }
        if size > MAX_SIZE {
            return Err(invalid(format!(
                "size {size} exceeds isize::MAX, the largest possible allocation"
            )));
        }
        for plane in 0..n_planes {
            let (offset, stride) = (offsets[plane], strides[plane]);
            let row_bytes = row_bytes_of(format, width, plane)
                .ok_or_else(|| invalid(format!("plane {plane}: the row size overflows usize")))?;
            if stride < row_bytes {
                return Err(invalid(format!(
                    "plane {plane}: stride {stride} is smaller than the {row_bytes} bytes one \
                     row of {width} pixels needs; use a stride of at least {row_bytes}"
                )));
            }
            let rows =
                first_component(format, plane).map_or(0, |comp| format.comp_height(comp, height));
            // rows >= 1 because height >= 1.
            let end = usize::try_from(rows - 1)
                .ok()
                .and_then(|r| stride.checked_mul(r))
                .and_then(|b| b.checked_add(row_bytes))
                .and_then(|b| b.checked_add(offset))
                .ok_or_else(|| {
                    invalid(format!(
                        "plane {plane}: offset {offset} + stride {stride} x {rows} rows overflows usize"
                    ))
                })?;
            if end > size {
                return Err(invalid(format!(
                    "plane {plane} (offset {offset}, stride {stride}, {rows} rows) ends at byte \
                     {end}, past the frame size {size}; the size must be at least {end}"
                )));
            }
        }
        let mut info = VideoInfo {
            format,
            width,
            height,
            size,
            offsets: [0; MAX_PLANES],
            strides: [0; MAX_PLANES],
            colorimetry: Colorimetry::default_for(format, height),
        };
        info.offsets[..n_planes].copy_from_slice(offsets);
        info.strides[..n_planes].copy_from_slice(strides);
        Ok(info)
    }

    /// How the samples encode colour: GStreamer's default for the format and size
    /// ([`Colorimetry::default_for`]) unless set with [`VideoInfo::with_colorimetry`]
    /// (as [`info_from_caps`](crate::frame::info_from_caps) does from the caps).
    pub fn colorimetry(&self) -> Colorimetry {
        self.colorimetry
    }

    /// This layout with the given colorimetry.
    pub fn with_colorimetry(mut self, colorimetry: Colorimetry) -> VideoInfo {
        self.colorimetry = colorimetry;
        self
    }

    /// The pixel format.
    pub fn format(&self) -> VideoFormat {
        self.format
    }

    /// Visible width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Visible height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Bytes of one frame, padding included.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Number of planes (the format's [`VideoFormat::n_planes`]).
    pub fn n_planes(&self) -> usize {
        self.format.n_planes()
    }

    /// Byte offset of the first visible pixel of `plane` from the start of the frame
    /// (0 for a plane the format does not have).
    pub fn offset(&self, plane: usize) -> usize {
        self.offsets.get(plane).copied().unwrap_or(0)
    }

    /// Bytes between the starts of two consecutive rows of `plane` (0 for a plane the
    /// format does not have).
    pub fn stride(&self, plane: usize) -> usize {
        self.strides.get(plane).copied().unwrap_or(0)
    }

    /// All plane offsets; entries past [`VideoInfo::n_planes`] are 0.
    pub fn offsets(&self) -> [usize; MAX_PLANES] {
        self.offsets
    }

    /// All plane strides; entries past [`VideoInfo::n_planes`] are 0.
    pub fn strides(&self) -> [usize; MAX_PLANES] {
        self.strides
    }

    /// Visible rows in `plane`: the height, scaled down by the vertical subsampling of
    /// the plane's components and rounded up (an I420 frame 241 rows high has 121 chroma
    /// rows). 0 for a plane the format does not have.
    pub fn plane_height(&self, plane: usize) -> u32 {
        self.format
            .plane_size(plane, self.width, self.height)
            .map_or(0, |p| p.height)
    }

    /// Bytes of visible pixel data in one row of `plane`, i.e. the smallest stride
    /// that plane could have: the widest of its components' `comp_width * pixel_stride`
    /// (0 for a plane the format does not have).
    pub fn plane_row_bytes(&self, plane: usize) -> usize {
        // Cannot overflow: a VideoInfo's strides hold a row and fit in usize.
        row_bytes_of(self.format, self.width, plane).unwrap_or(0)
    }

    /// Samples per row of component `comp`: the width scaled down by its horizontal
    /// subsampling, rounded up. 0 for a component the format does not have.
    pub fn comp_width(&self, comp: usize) -> u32 {
        self.format.comp_width(comp, self.width)
    }

    /// Rows of component `comp`: the height scaled down by its vertical subsampling,
    /// rounded up. 0 for a component the format does not have.
    pub fn comp_height(&self, comp: usize) -> u32 {
        self.format.comp_height(comp, self.height)
    }

    /// Pads the frame and aligns its strides the way `gst_video_info_align` does.
    ///
    /// The layout is recomputed from the format and visible size (any previous layout
    /// is replaced), in GStreamer's steps:
    ///
    /// 1. While some plane's left padding in bytes (`padding_left`, scaled by the plane's
    ///    horizontal subsampling, times its pixel stride) has a bit of that plane's
    ///    `stride_align` mask set, `padding_left` grows by its lowest set bit, so that
    ///    the first visible pixel of every plane is as aligned as its strides. (GStreamer
    ///    writes the grown value back into the alignment; [`VideoInfo::align_full`]
    ///    does too.)
    /// 2. The default layout of the padded size `(padding_left + width + padding_right)
    ///    x (padding_top + height + padding_bottom)` is computed; while some plane's
    ///    stride has a bit of its `stride_align` mask set, the padded width grows by its
    ///    lowest set bit and the layout is recomputed.
    /// 3. The width and height stay the visible ones, the strides and size are the
    ///    padded ones, and each plane's offset moves to the first visible pixel: past
    ///    `padding_top` rows and `padding_left` pixels, both scaled by the subsampling of
    ///    the plane's first component.
    ///
    /// On error `self` is left unchanged.
    ///
    /// # Errors
    ///
    /// [`VideoError::InvalidAlignment`] when `padding_left` or `padding_top` is not a
    /// multiple of the format's subsampling (an odd left padding for I420 would split a
    /// chroma sample; GStreamer silently rounds such offsets), or when no padding or
    /// width up to `i32::MAX` satisfies the `stride_align` masks;
    /// [`VideoError::TooLarge`] when the padded frame overflows.
    pub fn align(&mut self, align: &VideoAlignment) -> Result<(), VideoError> {
        let mut align = *align;
        self.align_full(&mut align)
    }

    /// [`VideoInfo::align`], also writing back into `align` the `padding_left` actually
    /// used (step 1 may grow it), as `gst_video_info_align` does. On error neither
    /// `self` nor `align` is changed.
    ///
    /// # Errors
    ///
    /// As for [`VideoInfo::align`].
    pub fn align_full(&mut self, align: &mut VideoAlignment) -> Result<(), VideoError> {
        let format = self.format;
        let invalid = |reason: String| VideoError::InvalidAlignment {
            format,
            width: self.width,
            height: self.height,
            reason,
        };
        let n_planes = format.n_planes();
        let mask = |plane: usize| -> usize {
            // A u32 always fits in usize on the 32- and 64-bit targets penstock supports.
            usize::try_from(align.stride_align[plane]).unwrap_or(usize::MAX)
        };
        let (max_hsub, max_vsub) = (0..format.n_components())
            .map(|comp| format.subsampling(comp))
            .fold((0, 0), |(h, v), (ch, cv)| (h.max(ch), v.max(cv)));
        let (h_multiple, v_multiple) = (1u32 << max_hsub, 1u32 << max_vsub);
        if align.padding_left % h_multiple != 0 {
            return Err(invalid(format!(
                "padding_left {} is not a multiple of {h_multiple}, the horizontal chroma \
                 subsampling; use {} or {}",
                align.padding_left,
                align.padding_left / h_multiple * h_multiple,
                (u64::from(align.padding_left) / u64::from(h_multiple) + 1) * u64::from(h_multiple)
            )));
        }
        if align.padding_top % v_multiple != 0 {
            return Err(invalid(format!(
                "padding_top {} is not a multiple of {v_multiple}, the vertical chroma \
                 subsampling; use {} or {}",
                align.padding_top,
                align.padding_top / v_multiple * v_multiple,
                (u64::from(align.padding_top) / u64::from(v_multiple) + 1) * u64::from(v_multiple)
            )));
        }

        // Step 1: grow the left padding until each plane's left edge is aligned.
        let mut padding_left = u64::from(align.padding_left);
        loop {
            let left_aligned = (0..n_planes).all(|plane| {
                first_component(format, plane).is_none_or(|comp| {
                    let cols = padding_left >> format.subsampling(comp).0;
                    let bytes = cols.saturating_mul(format.pixel_stride(comp) as u64);
                    usize::try_from(bytes).is_ok_and(|b| b & mask(plane) == 0)
                })
            });
            if left_aligned {
                break;
            }
            // padding_left > 0 here (a zero padding is always aligned); growing by the
            // lowest set bit at least doubles that bit, so this takes at most 32 steps.
            padding_left += padding_left & padding_left.wrapping_neg();
            if padding_left > u64::from(MAX_DIMENSION) {
                return Err(invalid(format!(
                    "no padding_left up to i32::MAX puts the first pixel of every plane on the \
                     stride_align masks {:?}; use smaller masks",
                    &align.stride_align[..n_planes]
                )));
            }
        }

        let padded_height =
            u64::from(align.padding_top) + u64::from(self.height) + u64::from(align.padding_bottom);
        let unaligned_width = padding_left + u64::from(self.width) + u64::from(align.padding_right);
        let mut padded_width = unaligned_width;
        let too_large = |width: u64, what: &'static str| VideoError::TooLarge {
            format,
            width,
            height: padded_height,
            what,
        };
        if padded_height > u64::from(MAX_DIMENSION) {
            return Err(too_large(
                padded_width,
                "the padded height (the limit is i32::MAX)",
            ));
        }
        let mut layout;
        loop {
            if padded_width > u64::from(MAX_DIMENSION) {
                return Err(if padded_width == unaligned_width {
                    too_large(padded_width, "the padded width (the limit is i32::MAX)")
                } else {
                    invalid(format!(
                        "no padded width up to i32::MAX gives strides aligned to the masks {:?}; \
                         use smaller stride_align masks",
                        &align.stride_align[..n_planes]
                    ))
                });
            }
            layout = default_layout_checked(format, padded_width, padded_height)?;
            let aligned = (0..n_planes).all(|plane| layout.strides[plane] & mask(plane) == 0);
            if aligned {
                break;
            }
            // Grow by the lowest set bit: each step at least doubles it, so this ends
            // after at most 32 steps (padded_width > 0 because width >= 1).
            padded_width += padded_width & padded_width.wrapping_neg();
        }

        for plane in 0..n_planes {
            let Some(comp) = first_component(format, plane) else {
                continue;
            };
            let (hsub, vsub) = format.subsampling(comp);
            let rows = usize::try_from(align.padding_top >> vsub).ok();
            let cols = usize::try_from(padding_left >> hsub).ok();
            let shift = rows
                .and_then(|r| r.checked_mul(layout.strides[plane]))
                .zip(cols.and_then(|c| c.checked_mul(format.pixel_stride(comp))))
                .and_then(|(a, b)| a.checked_add(b))
                .and_then(|s| s.checked_add(layout.offsets[plane]))
                .ok_or_else(|| too_large(padded_width, "a plane offset"))?;
            layout.offsets[plane] = shift;
        }
        self.size = layout.size;
        self.offsets = layout.offsets;
        self.strides = layout.strides;
        // padding_left <= padded_width <= i32::MAX, checked above.
        align.padding_left = u32::try_from(padding_left).unwrap_or(u32::MAX);
        Ok(())
    }

    /// Whether this is GStreamer's default layout for the format and size: the offsets
    /// and strides are those of [`VideoInfo::new`] and the size is at least its size.
    /// Such frames need no video meta to be understood by GStreamer (which accepts
    /// buffers larger than the frame).
    pub fn is_default_layout(&self) -> bool {
        match VideoInfo::new(self.format, self.width, self.height) {
            Ok(d) => d.offsets == self.offsets && d.strides == self.strides && self.size >= d.size,
            Err(_) => false,
        }
    }
}
