//! Raw video conversion between every pair of [`VideoFormat`]s, matching GStreamer
//! 1.22's `videoconvert` to within ±1 per sample (most pairs exactly).
//!
//! A [`Converter`] is made for an input and an output [`VideoInfo`] of the same size and
//! converts frames given as planes ([`Plane`], [`PlaneMut`]), so frames may have any
//! strides and offsets (a video meta's layout) and live in one memory or several.
//!
//! # What GStreamer does, and what is done here
//!
//! Frames are converted with the range and matrix of their [`VideoInfo::colorimetry`]
//! (read from the caps' `colorimetry` field, or GStreamer's default for caps without
//! one, [`Colorimetry::default_for`]): YUV is
//! limited-range BT.601 up to 576 rows, BT.709 above, BT.2020 from 2160 rows; RGB is
//! full-range; GRAY8 is full-range BT.601. Chroma of 4:2:0 and 4:2:2 YUV is centred
//! between luma samples up to 576 rows and horizontally co-sited above.
//!
//! The generic path is GStreamer's: each row is unpacked to 4:4:4 (A, Y, U, V or
//! A, R, G, B; subsampled chroma repeated), chroma is upsampled with GStreamer's linear
//! filters when the input and output differ in chroma siting or subsampling, the
//! colour matrix is applied with GStreamer's integer arithmetic ([`matrix`]), chroma is
//! downsampled (averaging) for subsampled outputs, and the row is packed (subsampled
//! chroma taken from even pixels and rows). Conversions for which GStreamer has a
//! dedicated fast path (I420↔YUY2, I420→RGB, ...) follow that fast path's arithmetic
//! instead (nearest-neighbour chroma, line averaging). Pure repacks (NV12↔I420, RGB
//! byte orders, YUY2↔UYVY) are plain copies and shuffles.
//!
//! Alpha is copied when both formats have it and set to 255 when the input has none.
//! As in GStreamer, the unused byte of an `RGBx`-style input is read as alpha (so
//! `RGBx` → `RGBA` copies it) and an `RGBx`-style output's unused byte gets the alpha
//! (255 from YUV, gray and 3-byte RGB).
//!
//! # Where the code is
//!
//! This module plans a conversion ([`Converter::new`] picks a path) and runs it;
//! `planes` holds the frame checks and row access, `repack` the paths that move
//! samples (4:2:0 repacking, 4:2:2 swaps, luma copies), `rgb` the paths to RGB and
//! between RGB byte orders, `generic` GStreamer's unpack–resample–matrix–pack path,
//! and [`matrix`] the colour arithmetic.

mod generic;
pub mod matrix;
mod planes;
mod repack;
mod rgb;
#[cfg(test)]
mod tests;

pub use planes::{Plane, PlaneMut, planes, planes_mut};
pub use repack::{deinterleave, interleave};

use generic::Generic;
use planes::{check_planes, copy_rows, plane_row_bytes, plane_rows};
use repack::{luma, packed422_to_planar420, planar420_to_packed422, repack_420, swap_422};
use rgb::{planar420_to_rgb, rgb_reorder, semi_planar_to_rgb};

use matrix::{RgbToYuv, YuvToRgb, YuvToYuv};

use crate::colorimetry::{ChromaSite, ColorMatrix, ColorRange, Colorimetry, Space};
use crate::{VideoFormat, VideoInfo};

/// Why a conversion could not be set up or run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// Input and output frames differ in size (this converter does not scale).
    #[error(
        "cannot convert {in_width}x{in_height} to {out_width}x{out_height}: \
         videoconvert keeps the frame size (scale first)"
    )]
    SizeMismatch {
        /// Input width.
        in_width: u32,
        /// Input height.
        in_height: u32,
        /// Output width.
        out_width: u32,
        /// Output height.
        out_height: u32,
    },
    /// The wrong number of planes was given for a frame.
    #[error("{what} frame of format {format} needs {expected} plane(s), {got} were given")]
    PlaneCount {
        /// `input` or `output`.
        what: &'static str,
        /// The frame's format.
        format: VideoFormat,
        /// Planes of the format.
        expected: usize,
        /// Planes given.
        got: usize,
    },
    /// A plane's stride cannot hold one row.
    #[error("{what} plane {plane}: stride {stride} is smaller than a row ({needed} bytes)")]
    StrideTooSmall {
        /// `input` or `output`.
        what: &'static str,
        /// Plane index.
        plane: usize,
        /// The stride given.
        stride: usize,
        /// Bytes in one row.
        needed: usize,
    },
    /// A plane's bytes end before its last row does.
    #[error("{what} plane {plane} holds {len} bytes, its rows need {needed}")]
    PlaneTooSmall {
        /// `input` or `output`.
        what: &'static str,
        /// Plane index.
        plane: usize,
        /// Bytes given.
        len: usize,
        /// Bytes needed.
        needed: usize,
    },
    /// Two planes of one writable frame overlap, or a plane lies outside the frame.
    #[error("output frame layout: {reason}")]
    BadLayout {
        /// What is wrong.
        reason: String,
    },
    /// A colorimetry this converter cannot convert.
    #[error("{what} colorimetry {colorimetry} for {format}: {why}")]
    Colorimetry {
        /// `input` or `output`.
        what: &'static str,
        /// The colorimetry, as caps write it.
        colorimetry: String,
        /// The frames' format.
        format: VideoFormat,
        /// Why it cannot be converted.
        why: &'static str,
    },
}

/// How one side of a conversion encodes colour, as the kernels compute with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Side {
    /// Range and matrix.
    space: Space,
    /// Where subsampled chroma sits ([`ChromaSite::UNKNOWN`] for RGB and gray).
    site: ChromaSite,
}

impl Side {
    /// What `info`'s colorimetry means to the converter, as to GStreamer 1.22's
    /// videoconvert: the range and matrix of YUV, full-range R'G'B' for RGB, full-range
    /// BT.601 for gray whatever its caps say; transfer functions and primaries are not
    /// converted. The chroma siting is the default of the size whatever the colorimetry
    /// says: GStreamer's own fast paths ignore `chroma-site`, and where its generic path
    /// follows it, this converter does not match it yet.
    fn of(what: &'static str, info: &VideoInfo) -> Result<Side, ConvertError> {
        let (f, h) = (info.format(), info.height());
        let c = info.colorimetry();
        let default = Colorimetry::default_for(f, h);
        let unsupported = |why: &'static str| ConvertError::Colorimetry {
            what,
            colorimetry: c.to_string(),
            format: f,
            why,
        };
        let space = if f.is_yuv() {
            let matrix = match c.matrix {
                ColorMatrix::Unknown => default.matrix,
                ColorMatrix::Rgb => return Err(unsupported("YUV cannot have the RGB matrix")),
                m => m,
            };
            let range = match c.range {
                ColorRange::Full => ColorRange::Full,
                _ => ColorRange::Limited,
            };
            Space::Yuv(matrix, range)
        } else if f.is_gray() {
            default.space(f)
        } else {
            if c.range == ColorRange::Limited {
                return Err(unsupported(
                    "limited-range RGB is not supported (GStreamer's videoconvert takes RGB as \
                     full range)",
                ));
            }
            Space::Rgb
        };
        Ok(Side {
            space,
            site: default.chroma_site,
        })
    }
}

/// Largest horizontal and vertical subsampling shift of a format.
fn subsampling(format: VideoFormat) -> (u32, u32) {
    (0..format.n_components())
        .map(|c| format.subsampling(c))
        .fold((0, 0), |(h, v), (a, b)| (h.max(a), v.max(b)))
}

/// The channel (0 = A, 1..=3 = Y,U,V or R,G,B) of the 4:4:4 row that component `comp`
/// maps to.
fn channel(format: VideoFormat, comp: usize) -> usize {
    if format.is_rgb() && comp == 3 {
        0
    } else {
        comp + 1
    }
}

fn is_420_planar(f: VideoFormat) -> bool {
    matches!(f, VideoFormat::I420 | VideoFormat::Yv12)
}

fn is_420(f: VideoFormat) -> bool {
    matches!(
        f,
        VideoFormat::I420 | VideoFormat::Yv12 | VideoFormat::Nv12 | VideoFormat::Nv21
    )
}

fn is_packed_422(f: VideoFormat) -> bool {
    matches!(f, VideoFormat::Yuy2 | VideoFormat::Uyvy)
}

/// The colour step of the generic path.
#[derive(Debug, Clone)]
enum Matrix {
    None,
    YuvToRgb(Box<YuvToRgb>),
    RgbToYuv(RgbToYuv),
    YuvToYuv(YuvToYuv),
}

/// One resampling step: the subsampling shifts and siting of the subsampled side.
#[derive(Debug, Clone, Copy)]
struct Resample {
    hsub: u32,
    vsub: u32,
    site: ChromaSite,
}

#[derive(Debug, Clone)]
enum Path {
    /// Same format: rows copied.
    Copy,
    /// 4:2:0 to 4:2:0 (I420, YV12, NV12, NV21): luma copied, chroma moved.
    Repack420,
    /// YUY2 ↔ UYVY: byte pairs swapped.
    Swap422,
    /// I420/YV12 → YUY2/UYVY (GStreamer fast path: chroma rows repeated).
    Planar420ToPacked422,
    /// YUY2/UYVY → I420/YV12 (GStreamer fast path: chroma of row pairs averaged).
    Packed422ToPlanar420,
    /// I420/YV12 → any RGB (GStreamer fast path: chroma repeated, Orc arithmetic).
    Planar420ToRgb(Box<YuvToRgb>),
    /// NV12/NV21 → any RGB: the generic path's arithmetic (linear chroma upsampling,
    /// Orc matrix) fused per row without the 4:4:4 working rows.
    SemiPlanarToRgb(Box<YuvToRgb>, ChromaSite),
    /// Luma copied, chroma (if any) set to 128.
    Luma,
    /// RGB byte orders: samples moved, alpha kept or set to 255.
    RgbReorder,
    /// Unpack, resample, matrix, resample, pack.
    Generic {
        up: Option<Resample>,
        matrix: Matrix,
        down: Option<Resample>,
    },
}

/// Converts frames of one [`VideoInfo`] into frames of another of the same size.
#[derive(Debug)]
pub struct Converter {
    input: VideoFormat,
    output: VideoFormat,
    width: u32,
    height: u32,
    /// Input and output [`Side`]s are equal.
    same_encoding: bool,
    path: Path,
    /// 4:4:4 working rows of the generic path (4 bytes a pixel).
    tmp: Vec<u8>,
}

impl Converter {
    /// A converter from `input` frames to `output` frames: their formats, size and
    /// colorimetries ([`VideoInfo::colorimetry`], as [`frame::info_from_caps`] reads it
    /// from caps). Of a colorimetry only the range and matrix of YUV matter, as in
    /// GStreamer 1.22's videoconvert: RGB is full range, gray full-range BT.601 whatever
    /// its colorimetry says, transfer functions and primaries are not converted, and
    /// chroma siting is the default of the size (see the [module docs](self)). The
    /// layouts are given with each frame. Frames of one format with different
    /// colorimetries are converted, not copied.
    ///
    /// [`frame::info_from_caps`]: crate::frame::info_from_caps
    ///
    /// # Errors
    /// [`ConvertError::SizeMismatch`] when the sizes differ;
    /// [`ConvertError::Colorimetry`] for a colorimetry the converter cannot take
    /// (limited-range RGB, YUV with the RGB matrix).
    pub fn new(input: &VideoInfo, output: &VideoInfo) -> Result<Converter, ConvertError> {
        if input.width() != output.width() || input.height() != output.height() {
            return Err(ConvertError::SizeMismatch {
                in_width: input.width(),
                in_height: input.height(),
                out_width: output.width(),
                out_height: output.height(),
            });
        }
        let ci = Side::of("input", input)?;
        let co = Side::of("output", output)?;
        let (fi, fo, h) = (input.format(), output.format(), input.height());
        let path = plan(fi, fo, ci, co);
        Ok(Converter {
            input: fi,
            output: fo,
            width: input.width(),
            height: h,
            same_encoding: ci == co,
            path,
            tmp: Vec::new(),
        })
    }

    /// Whether input and output encode colour alike (range, matrix and chroma siting as
    /// the converter sees them), so that samples only move: with the same format on
    /// both sides, a converter that only copies, and frames that may be passed on as
    /// they are.
    pub fn keeps_samples(&self) -> bool {
        self.same_encoding
    }

    /// Input format.
    pub fn input_format(&self) -> VideoFormat {
        self.input
    }

    /// Output format.
    pub fn output_format(&self) -> VideoFormat {
        self.output
    }

    /// Converts one frame.
    ///
    /// # Errors
    /// [`ConvertError`] when the planes do not match the formats and size.
    pub fn convert(
        &mut self,
        src: &[Plane<'_>],
        dst: &mut [PlaneMut<'_>],
    ) -> Result<(), ConvertError> {
        check_planes(
            "input",
            self.input,
            self.width,
            self.height,
            src.iter().map(|p| (p.data.len(), p.stride)),
        )?;
        check_planes(
            "output",
            self.output,
            self.width,
            self.height,
            dst.iter().map(|p| (p.data.len(), p.stride)),
        )?;
        let (w, h) = (self.width as usize, self.height as usize);
        let (fi, fo) = (self.input, self.output);
        match &self.path {
            Path::Copy => {
                for p in 0..fi.n_planes() {
                    let info_rows = plane_rows(fi, self.height, p);
                    let bytes = plane_row_bytes(fi, self.width, p);
                    copy_rows(&src[p], &mut dst[p], info_rows, bytes);
                }
            }
            Path::Repack420 => repack_420(fi, fo, w, h, src, dst),
            Path::Swap422 => swap_422(w, h, &src[0], &mut dst[0]),
            Path::Planar420ToPacked422 => planar420_to_packed422(fi, fo, w, h, src, dst),
            Path::Packed422ToPlanar420 => packed422_to_planar420(fi, fo, w, h, src, dst),
            Path::Planar420ToRgb(k) => planar420_to_rgb(fi, fo, w, h, k, src, dst),
            Path::SemiPlanarToRgb(k, site) => {
                self.tmp.resize(w * 4, 0);
                semi_planar_to_rgb(fi, fo, (w, h), k, *site, src, dst, &mut self.tmp);
            }
            Path::Luma => luma(fi, fo, w, h, src, dst),
            Path::RgbReorder => rgb_reorder(fi, fo, w, h, &src[0], &mut dst[0]),
            Path::Generic { up, matrix, down } => {
                self.tmp.resize(w * 4 * 3, 0);
                let g = Generic {
                    fi,
                    fo,
                    w,
                    h,
                    up: *up,
                    matrix,
                    down: *down,
                };
                g.run(src, dst, &mut self.tmp);
            }
        }
        Ok(())
    }
}

/// Picks GStreamer's way of converting `fi` frames of colorimetry `ci` to `fo` frames
/// of colorimetry `co`.
fn plan(fi: VideoFormat, fo: VideoFormat, ci: Side, co: Side) -> Path {
    use VideoFormat::*;
    let (si, so) = (ci.space, co.space);
    let same_matrix = si.matrix() == so.matrix();
    // The repacking fast paths move samples without arithmetic: only for the same
    // colorimetry on both sides.
    if ci == co {
        if fi == fo {
            return Path::Copy;
        }
        if is_420(fi) && is_420(fo) {
            return Path::Repack420;
        }
        if is_packed_422(fi) && is_packed_422(fo) {
            return Path::Swap422;
        }
        if is_420_planar(fi) && is_packed_422(fo) {
            return Path::Planar420ToPacked422;
        }
        if is_packed_422(fi) && is_420_planar(fo) {
            return Path::Packed422ToPlanar420;
        }
    }
    if is_420_planar(fi) && fo.is_rgb() {
        return Path::Planar420ToRgb(Box::new(YuvToRgb::new(si)));
    }
    if fi.is_rgb() && fo.is_rgb() {
        return Path::RgbReorder;
    }
    if matches!(fi, Nv12 | Nv21) && fo.is_rgb() {
        return Path::SemiPlanarToRgb(Box::new(YuvToRgb::new(si)), ci.site);
    }
    // GStreamer's UYVY → GRAY8 fast path copies luma whatever the matrices.
    if (same_matrix && ((fi.is_yuv() && fo == Gray8) || (fi == Gray8 && is_420(fo))))
        || (fi == Uyvy && fo == Gray8)
    {
        return Path::Luma;
    }
    let matrix = match (si, so) {
        (Space::Rgb, Space::Rgb) => Matrix::None,
        (Space::Rgb, to) => Matrix::RgbToYuv(RgbToYuv::new(to)),
        (from, Space::Rgb) => Matrix::YuvToRgb(Box::new(YuvToRgb::new(from))),
        // GStreamer 1.22 applies no matrix between two YUV (or gray) spaces of the same
        // matrix, even when their ranges differ (checked: I420 `1:4:0:0` → I420
        // `bt601` comes out as a copy).
        (from, to) if from.matrix() == to.matrix() => Matrix::None,
        (from, to) => Matrix::YuvToYuv(YuvToYuv::new(from, to)),
    };
    let (ih, iv) = subsampling(fi);
    let (oh, ov) = subsampling(fo);
    let (site_i, site_o) = (ci.site, co.site);
    let resample = (ih, iv, site_i) != (oh, ov, site_o);
    let up = (resample && (ih, iv) != (0, 0)).then_some(Resample {
        hsub: ih,
        vsub: iv,
        site: site_i,
    });
    let down = (resample && (oh, ov) != (0, 0)).then_some(Resample {
        hsub: oh,
        vsub: ov,
        site: site_o,
    });
    Path::Generic { up, matrix, down }
}
