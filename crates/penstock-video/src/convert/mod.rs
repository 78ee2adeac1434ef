//! Raw video conversion between every pair of [`VideoFormat`]s, matching GStreamer
//! 1.22's `videoconvert` to within ±1 per sample (most pairs exactly).
//!
//! A [`Converter`] is made for an input and an output [`VideoInfo`] of the same size and
//! converts frames given as planes ([`Plane`], [`PlaneMut`]), so frames may have any
//! strides and offsets (a video meta's layout) and live in one memory or several.
//!
//! # What GStreamer does, and what is done here
//!
//! Caps with a `colorimetry` field are converted with its range and matrix
//! ([`Colorimetry::from_caps_field`], [`Converter::with_colorimetry`]); caps without
//! one get GStreamer's defaults ([`default_space`]): YUV is
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

pub mod matrix;
#[cfg(test)]
mod tests;

use matrix::{ColorMatrix, RgbToYuv, Space, YuvToRgb, YuvToYuv};

use super::{VideoFormat, VideoInfo};

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
    /// A caps `colorimetry` value this converter cannot use.
    #[error("{field}={value} for {format}: {why}")]
    Colorimetry {
        /// The caps field (`colorimetry`).
        field: &'static str,
        /// The value as written.
        value: String,
        /// The frames' format.
        format: VideoFormat,
        /// Why it cannot be used.
        why: String,
    },
}

/// One plane of an input frame: its bytes from the first visible pixel, and its stride.
#[derive(Debug, Clone, Copy)]
pub struct Plane<'a> {
    /// Bytes from the plane's first visible pixel to (at least) the end of its last
    /// visible row.
    pub data: &'a [u8],
    /// Bytes from one row to the next.
    pub stride: usize,
}

/// One plane of an output frame.
#[derive(Debug)]
pub struct PlaneMut<'a> {
    /// Bytes from the plane's first visible pixel to (at least) the end of its last
    /// visible row.
    pub data: &'a mut [u8],
    /// Bytes from one row to the next.
    pub stride: usize,
}

/// The planes of a frame laid out as `info` says in `data` (one memory).
///
/// # Errors
/// [`ConvertError::PlaneTooSmall`] when a plane starts past the end of `data`.
pub fn planes<'a>(data: &'a [u8], info: &VideoInfo) -> Result<Vec<Plane<'a>>, ConvertError> {
    (0..info.n_planes())
        .map(|p| {
            let off = info.offset(p);
            let rest = data.get(off..).ok_or(ConvertError::PlaneTooSmall {
                what: "input",
                plane: p,
                len: data.len(),
                needed: off,
            })?;
            Ok(Plane {
                data: rest,
                stride: info.stride(p),
            })
        })
        .collect()
}

/// The planes of a writable frame laid out as `info` says in `data`, each ending
/// where the next plane in memory begins.
///
/// # Errors
/// [`ConvertError::BadLayout`] when planes overlap or lie past the end of `data`.
pub fn planes_mut<'a>(
    data: &'a mut [u8],
    info: &VideoInfo,
) -> Result<Vec<PlaneMut<'a>>, ConvertError> {
    let n = info.n_planes();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&p| info.offset(p));
    let mut out: Vec<Option<PlaneMut<'a>>> = (0..n).map(|_| None).collect();
    let mut rest = data;
    let mut pos = 0usize;
    for (i, &p) in order.iter().enumerate() {
        let off = info.offset(p);
        let skip = off
            .checked_sub(pos)
            .ok_or_else(|| ConvertError::BadLayout {
                reason: format!("plane {p} at offset {off} overlaps the plane before it"),
            })?;
        if skip > rest.len() {
            return Err(ConvertError::BadLayout {
                reason: format!("plane {p} at offset {off} starts past the frame's end"),
            });
        }
        let tail = std::mem::take(&mut rest);
        let (_, tail) = tail.split_at_mut(skip);
        let end = match order.get(i + 1) {
            Some(&next) => info.offset(next) - off,
            None => tail.len(),
        };
        if end > tail.len() {
            return Err(ConvertError::BadLayout {
                reason: format!("plane {p} runs past the frame's end"),
            });
        }
        let (mine, tail) = tail.split_at_mut(end);
        out[p] = Some(PlaneMut {
            data: mine,
            stride: info.stride(p),
        });
        rest = tail;
        pos = off + end;
    }
    Ok(out.into_iter().flatten().collect())
}

/// Chroma siting of subsampled YUV, as GStreamer assumes without a `chroma-site` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChromaSite {
    /// RGB and gray: no chroma planes.
    None,
    /// Chroma centred between luma samples (GStreamer's `jpeg`).
    Centered,
    /// Chroma horizontally on the even luma samples, vertically centred (`mpeg2`).
    HCosited,
}

/// The colour space GStreamer 1.22 gives `format` frames `height` rows high when the
/// caps have no `colorimetry` (its `set_default_colorimetry`).
pub fn default_space(format: VideoFormat, height: u32) -> Space {
    if format.is_yuv() {
        Space::Yuv(if height >= 2160 {
            ColorMatrix::Bt2020
        } else if height > 576 {
            ColorMatrix::Bt709
        } else {
            ColorMatrix::Bt601
        })
    } else if format.is_gray() {
        Space::Gray
    } else {
        Space::Rgb
    }
}

/// The chroma siting GStreamer 1.22 assumes for `format` frames `height` rows high.
pub fn default_site(format: VideoFormat, height: u32) -> ChromaSite {
    if !format.is_yuv() {
        ChromaSite::None
    } else if height > 576 {
        ChromaSite::HCosited
    } else {
        ChromaSite::Centered
    }
}

/// How one side of a conversion encodes colour: its [`Space`] and its chroma siting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colorimetry {
    /// Range and matrix.
    pub space: Space,
    /// Where subsampled chroma sits ([`ChromaSite::None`] for RGB and gray).
    pub site: ChromaSite,
}

impl Colorimetry {
    /// GStreamer 1.22's default for `format` frames `height` rows high.
    pub fn default_for(format: VideoFormat, height: u32) -> Colorimetry {
        Colorimetry {
            space: default_space(format, height),
            site: default_site(format, height),
        }
    }

    /// From a caps structure's `colorimetry` field (`None` where it is absent:
    /// GStreamer's default for the format and size).
    ///
    /// The value is one of GStreamer's names (`bt601`, `bt709`, `bt2020`, `bt2020-10`,
    /// `bt2100-pq`, `bt2100-hlg`, `smpte240m`, `sRGB`) or its
    /// `range:matrix:transfer:primaries` numbers (range 0 unknown, 1 full, 2 limited;
    /// matrix 0 unknown, 1 RGB, 2 FCC, 3 BT.709, 4 BT.601, 5 SMPTE 240M, 6 BT.2020);
    /// unknown parts take the default. Only the range and the matrix matter to the
    /// conversion: GStreamer 1.22's videoconvert converts neither transfer functions
    /// nor primaries by default.
    ///
    /// The chroma siting stays GStreamer's default for the size, whatever the caps'
    /// `chroma-site` says: GStreamer's own fast paths ignore that field, and where its
    /// generic path follows it, this converter does not match it yet.
    ///
    /// # Errors
    /// [`ConvertError::Colorimetry`] for a value that is not one of these, or that the
    /// format cannot have (the RGB matrix for YUV, limited-range RGB).
    pub fn from_caps_field(
        format: VideoFormat,
        height: u32,
        colorimetry: Option<&str>,
    ) -> Result<Colorimetry, ConvertError> {
        let mut c = Colorimetry::default_for(format, height);
        let Some(v) = colorimetry else {
            return Ok(c);
        };
        let bad = |why: &str| ConvertError::Colorimetry {
            field: "colorimetry",
            value: v.to_owned(),
            format,
            why: why.to_owned(),
        };
        // (range, matrix) as GStreamer numbers; 0 = unknown.
        let (range, matrix) = match v {
            "bt601" => (2, 4),
            "bt709" => (2, 3),
            "smpte240m" => (2, 5),
            "sRGB" => (1, 1),
            "bt2020" | "bt2020-10" | "bt2100-pq" | "bt2100-hlg" => (2, 6),
            _ => {
                let parts: Vec<Option<u32>> = v.split(':').map(|p| p.parse().ok()).collect();
                match parts.as_slice() {
                    [Some(r), Some(m), Some(_), Some(_)] => (*r, *m),
                    _ => {
                        return Err(bad(
                            "not a GStreamer colorimetry name nor range:matrix:transfer:primaries",
                        ));
                    }
                }
            }
        };
        if format.is_yuv() {
            let m = match matrix {
                0 => c.space.matrix().unwrap_or(ColorMatrix::Bt601),
                2 => ColorMatrix::Fcc,
                3 => ColorMatrix::Bt709,
                4 => ColorMatrix::Bt601,
                5 => ColorMatrix::Smpte240m,
                6 => ColorMatrix::Bt2020,
                1 => return Err(bad("YUV cannot have the RGB matrix")),
                _ => return Err(bad("unknown matrix number")),
            };
            c.space = match range {
                0 | 2 => Space::Yuv(m),
                1 => Space::YuvFull(m),
                _ => return Err(bad("unknown range number")),
            };
        } else if format.is_rgb() && range == 2 {
            return Err(bad(
                "limited-range RGB is not supported (GStreamer's videoconvert takes RGB as full range)",
            ));
        }
        Ok(c)
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
    path: Path,
    /// 4:4:4 working rows of the generic path (4 bytes a pixel).
    tmp: Vec<u8>,
}

impl Converter {
    /// A converter from `input` frames to `output` frames (formats and size; the
    /// layouts are given with each frame).
    ///
    /// # Errors
    /// [`ConvertError::SizeMismatch`] when the sizes differ.
    pub fn new(input: &VideoInfo, output: &VideoInfo) -> Result<Converter, ConvertError> {
        let (fi, fo, h) = (input.format(), output.format(), input.height());
        Converter::with_colorimetry(
            input,
            output,
            Colorimetry::default_for(fi, h),
            Colorimetry::default_for(fo, h),
        )
    }

    /// A converter between frames whose colorimetry is given (from their caps'
    /// `colorimetry` field, [`Colorimetry::from_caps_field`]) rather than
    /// GStreamer's default for their format and size. Frames of one format with
    /// different colorimetries are converted, not copied.
    ///
    /// # Errors
    /// [`ConvertError::SizeMismatch`] when the sizes differ.
    pub fn with_colorimetry(
        input: &VideoInfo,
        output: &VideoInfo,
        ci: Colorimetry,
        co: Colorimetry,
    ) -> Result<Converter, ConvertError> {
        if input.width() != output.width() || input.height() != output.height() {
            return Err(ConvertError::SizeMismatch {
                in_width: input.width(),
                in_height: input.height(),
                out_width: output.width(),
                out_height: output.height(),
            });
        }
        let (fi, fo, h) = (input.format(), output.format(), input.height());
        let path = plan(fi, fo, ci, co);
        Ok(Converter {
            input: fi,
            output: fo,
            width: input.width(),
            height: h,
            path,
            tmp: Vec::new(),
        })
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
fn plan(fi: VideoFormat, fo: VideoFormat, ci: Colorimetry, co: Colorimetry) -> Path {
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

fn sub_scale(x: u32, shift: u32) -> usize {
    ((x as usize) + (1 << shift) - 1) >> shift
}

/// Rows of `plane` in a frame `height` rows high.
fn plane_rows(f: VideoFormat, height: u32, plane: usize) -> usize {
    let comp = f.plane_components(plane).next().unwrap_or(0);
    sub_scale(height, f.subsampling(comp).1)
}

/// Bytes of one row of `plane`.
fn plane_row_bytes(f: VideoFormat, width: u32, plane: usize) -> usize {
    f.plane_components(plane)
        .map(|c| sub_scale(width, f.subsampling(c).0) * f.pixel_stride(c))
        .max()
        .unwrap_or(0)
}

fn check_planes(
    what: &'static str,
    f: VideoFormat,
    width: u32,
    height: u32,
    planes: impl ExactSizeIterator<Item = (usize, usize)>,
) -> Result<(), ConvertError> {
    if planes.len() != f.n_planes() {
        return Err(ConvertError::PlaneCount {
            what,
            format: f,
            expected: f.n_planes(),
            got: planes.len(),
        });
    }
    for (p, (len, stride)) in planes.enumerate() {
        let row = plane_row_bytes(f, width, p);
        if stride < row {
            return Err(ConvertError::StrideTooSmall {
                what,
                plane: p,
                stride,
                needed: row,
            });
        }
        let rows = plane_rows(f, height, p);
        let needed = stride * (rows - 1) + row;
        if len < needed {
            return Err(ConvertError::PlaneTooSmall {
                what,
                plane: p,
                len,
                needed,
            });
        }
    }
    Ok(())
}

fn row<'a>(p: &Plane<'a>, r: usize, len: usize) -> &'a [u8] {
    &p.data[r * p.stride..r * p.stride + len]
}

fn row_mut<'a, 'b>(p: &'b mut PlaneMut<'a>, r: usize, len: usize) -> &'b mut [u8] {
    &mut p.data[r * p.stride..r * p.stride + len]
}

fn copy_rows(src: &Plane<'_>, dst: &mut PlaneMut<'_>, rows: usize, bytes: usize) {
    if src.stride == dst.stride && src.stride == bytes {
        let n = bytes * rows;
        dst.data[..n].copy_from_slice(&src.data[..n]);
        return;
    }
    for r in 0..rows {
        row_mut(dst, r, bytes).copy_from_slice(row(src, r, bytes));
    }
}

/// (plane, byte offset in the pixel group, pixel stride, hsub, vsub) of `comp`.
fn comp_desc(f: VideoFormat, comp: usize) -> (usize, usize, usize, u32, u32) {
    let (h, v) = f.subsampling(comp);
    (
        f.component_plane(comp),
        f.component_offset(comp),
        f.pixel_stride(comp),
        h,
        v,
    )
}

/// Copies component `c` of `fi` into component `c` of `fo` (same subsampling).
fn move_comp(
    fi: VideoFormat,
    fo: VideoFormat,
    c: usize,
    (w, h): (usize, usize),
    src: &[Plane<'_>],
    dst: &mut [PlaneMut<'_>],
) {
    let (pi, oi, si, hs, vs) = comp_desc(fi, c);
    let (po, oo, so, _, _) = comp_desc(fo, c);
    let cols = sub_scale(w as u32, hs);
    let rows = sub_scale(h as u32, vs);
    for r in 0..rows {
        let s = &src[pi].data[r * src[pi].stride + oi..];
        let d = &mut dst[po].data[r * dst[po].stride + oo..];
        match (si, so) {
            (1, 1) => d[..cols].copy_from_slice(&s[..cols]),
            (2, 1) => {
                for (o, i) in d[..cols].iter_mut().zip(s.chunks(2)) {
                    *o = i[0];
                }
            }
            (1, 2) => {
                for (o, i) in d.chunks_mut(2).zip(&s[..cols]) {
                    o[0] = *i;
                }
            }
            _ => {
                for x in 0..cols {
                    d[x * so] = s[x * si];
                }
            }
        }
    }
}

fn repack_420(
    fi: VideoFormat,
    fo: VideoFormat,
    w: usize,
    h: usize,
    src: &[Plane<'_>],
    dst: &mut [PlaneMut<'_>],
) {
    copy_rows(&src[0], &mut dst[0], h, w);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    // NV12/NV21 → I420/YV12: deinterleave both chroma planes at once.
    if fi.n_planes() == 2 && fo.n_planes() == 3 {
        // Output planes for the first and second byte of each interleaved pair.
        let first_is_u = fi.component_offset(1) == 0;
        let u_first = fo.component_plane(1) == 1;
        let (a, b) = dst.split_at_mut(2);
        let (p1, p2) = (&mut a[1], &mut b[0]);
        let (d0, d1) = if first_is_u == u_first {
            (p1, p2)
        } else {
            (p2, p1)
        };
        for r in 0..ch {
            deinterleave(
                row(&src[1], r, cw * 2),
                row_mut(d0, r, cw),
                row_mut(d1, r, cw),
            );
        }
        return;
    }
    if fi.n_planes() == 3 && fo.n_planes() == 2 {
        let (uo, vo) = (fo.component_offset(1), fo.component_offset(2));
        let (pu, pv) = (fi.component_plane(1), fi.component_plane(2));
        for r in 0..ch {
            let u = row(&src[pu], r, cw);
            let v = row(&src[pv], r, cw);
            let d = row_mut(&mut dst[1], r, cw * 2);
            if uo < vo {
                interleave(u, v, d);
            } else {
                interleave(v, u, d);
            }
        }
        return;
    }
    for c in 1..3 {
        move_comp(fi, fo, c, (w, h), src, dst);
    }
}

/// Eight bytes as a little-endian word (`p` holds exactly eight).
#[inline(always)]
fn load_u64(p: &[u8]) -> u64 {
    u64::from_le_bytes(p.try_into().unwrap_or([0; 8]))
}

/// The even bytes of `w` (little-endian) packed into its low half.
#[inline(always)]
fn even_bytes(w: u64) -> u64 {
    let x = w & 0x00ff_00ff_00ff_00ff;
    let x = (x | (x >> 8)) & 0x0000_ffff_0000_ffff;
    (x | (x >> 16)) & 0x0000_0000_ffff_ffff
}

/// Splits byte pairs: `a[i] = s[2i]`, `b[i] = s[2i + 1]`.
#[inline]
pub fn deinterleave(s: &[u8], a: &mut [u8], b: &mut [u8]) {
    let n = a.len().min(b.len()).min(s.len() / 2);
    let (s, a, b) = (&s[..2 * n], &mut a[..n], &mut b[..n]);
    // Eight pairs at a time in 64-bit words (masks and shifts: SWAR, which the
    // compiler also widens to vector registers); SSE2 has no byte shuffle.
    let mut sc = s.chunks_exact(16);
    let mut ac = a.chunks_exact_mut(8);
    let mut bc = b.chunks_exact_mut(8);
    for ((p, x), y) in (&mut sc).zip(&mut ac).zip(&mut bc) {
        let (w0, w1) = (load_u64(&p[..8]), load_u64(&p[8..]));
        let e = even_bytes(w0) | (even_bytes(w1) << 32);
        let o = even_bytes(w0 >> 8) | (even_bytes(w1 >> 8) << 32);
        x.copy_from_slice(&e.to_le_bytes());
        y.copy_from_slice(&o.to_le_bytes());
    }
    for ((p, x), y) in sc
        .remainder()
        .chunks_exact(2)
        .zip(ac.into_remainder())
        .zip(bc.into_remainder())
    {
        *x = p[0];
        *y = p[1];
    }
}

/// Joins bytes into pairs: `d[2i] = a[i]`, `d[2i + 1] = b[i]`.
#[inline]
pub fn interleave(a: &[u8], b: &[u8], d: &mut [u8]) {
    let mut dc = d.chunks_exact_mut(32);
    let mut ac = a.chunks_exact(16);
    let mut bc = b.chunks_exact(16);
    for ((d, a), b) in (&mut dc).zip(&mut ac).zip(&mut bc) {
        let mut x = [0u8; 32];
        for i in 0..16 {
            let w = u16::from(a[i]) | (u16::from(b[i]) << 8);
            let [lo, hi] = w.to_le_bytes();
            x[2 * i] = lo;
            x[2 * i + 1] = hi;
        }
        d.copy_from_slice(&x);
    }
    for ((o, p), q) in dc
        .into_remainder()
        .chunks_exact_mut(2)
        .zip(ac.remainder())
        .zip(bc.remainder())
    {
        o[0] = *p;
        o[1] = *q;
    }
}

fn swap_422(w: usize, h: usize, src: &Plane<'_>, dst: &mut PlaneMut<'_>) {
    let bytes = w.div_ceil(2) * 4;
    for r in 0..h {
        let s = row(src, r, bytes);
        let d = row_mut(dst, r, bytes);
        for (o, i) in d.chunks_exact_mut(2).zip(s.chunks_exact(2)) {
            o[0] = i[1];
            o[1] = i[0];
        }
    }
}

/// (Y offset, U offset, V offset) within a 4-byte YUY2/UYVY pair.
fn packed_offsets(f: VideoFormat) -> (usize, usize, usize) {
    (
        f.component_offset(0),
        f.component_offset(1),
        f.component_offset(2),
    )
}

fn planar420_to_packed422(
    fi: VideoFormat,
    fo: VideoFormat,
    w: usize,
    h: usize,
    src: &[Plane<'_>],
    dst: &mut [PlaneMut<'_>],
) {
    let (pu, pv) = (fi.component_plane(1), fi.component_plane(2));
    let (yo, uo, vo) = packed_offsets(fo);
    let cw = w.div_ceil(2);
    for r in 0..h {
        let y = row(&src[0], r, w);
        let u = row(&src[pu], r / 2, cw);
        let v = row(&src[pv], r / 2, cw);
        let d = row_mut(&mut dst[0], r, cw * 4);
        for (k, o) in d.chunks_exact_mut(4).enumerate() {
            o[yo] = y[2 * k];
            o[yo + 2] = y[(2 * k + 1).min(w - 1)];
            o[uo] = u[k];
            o[vo] = v[k];
        }
    }
}

fn packed422_to_planar420(
    fi: VideoFormat,
    fo: VideoFormat,
    w: usize,
    h: usize,
    src: &[Plane<'_>],
    dst: &mut [PlaneMut<'_>],
) {
    let (yo, uo, vo) = packed_offsets(fi);
    let (pu, pv) = (fo.component_plane(1), fo.component_plane(2));
    let cw = w.div_ceil(2);
    for r in 0..h {
        let s = row(&src[0], r, cw * 4);
        let d = row_mut(&mut dst[0], r, w);
        for (x, o) in d.iter_mut().enumerate() {
            *o = s[(x / 2) * 4 + yo + (x & 1) * 2];
        }
    }
    for k in 0..h.div_ceil(2) {
        let a = row(&src[0], 2 * k, cw * 4);
        // The last row of an odd height has no partner: its chroma is kept.
        let b = row(&src[0], (2 * k + 1).min(h - 1), cw * 4);
        for (off, plane) in [(uo, pu), (vo, pv)] {
            let d = row_mut(&mut dst[plane], k, cw);
            for (x, o) in d.iter_mut().enumerate() {
                let (p, q) = (u16::from(a[x * 4 + off]), u16::from(b[x * 4 + off]));
                *o = ((p + q + 1) >> 1) as u8;
            }
        }
    }
}

/// Offsets of R, G, B and of alpha or the unused byte (if any) in an RGB pixel.
fn rgb_offsets(f: VideoFormat) -> ([usize; 3], Option<usize>, usize) {
    let ps = f.pixel_stride(0);
    let rgb = [
        f.component_offset(0),
        f.component_offset(1),
        f.component_offset(2),
    ];
    let a = if ps == 4 {
        Some((0..4).find(|o| !rgb.contains(o)).unwrap_or(3))
    } else {
        None
    };
    (rgb, a, ps)
}

/// Stores one RGB pixel at its offsets (`rgb_offsets`), alpha (or the unused byte)
/// opaque.
#[inline(always)]
fn put_rgb(o: &mut [u8], [or, og, ob]: [usize; 3], oa: Option<usize>, [r, g, b]: [u8; 3]) {
    o[or] = r;
    o[og] = g;
    o[ob] = b;
    if let Some(a) = oa {
        o[a] = 255;
    }
}

fn planar420_to_rgb(
    fi: VideoFormat,
    fo: VideoFormat,
    w: usize,
    h: usize,
    k: &YuvToRgb,
    src: &[Plane<'_>],
    dst: &mut [PlaneMut<'_>],
) {
    let (pu, pv) = (fi.component_plane(1), fi.component_plane(2));
    let (offs, oa, ps) = rgb_offsets(fo);
    let cw = w.div_ceil(2);
    for r in 0..h {
        let y = row(&src[0], r, w);
        let u = row(&src[pu], r / 2, cw);
        let v = row(&src[pv], r / 2, cw);
        let d = row_mut(&mut dst[0], r, w * ps);
        for (x, o) in d.chunks_exact_mut(ps).enumerate() {
            put_rgb(o, offs, oa, k.apply(y[x], u[x / 2], v[x / 2]));
        }
    }
}

/// One chroma row of NV12/NV21 upsampled horizontally to `w` samples the way
/// GStreamer's resampler does (3:1 taps when centred, neighbour average when
/// co-sited; the first sample and an even width's last keep their value).
fn upsample_chroma_row(
    s: &[u8],
    w: usize,
    site: ChromaSite,
    (ui, vi): (usize, usize),
    u: &mut [u8],
    v: &mut [u8],
) {
    let c = |k: usize, o: usize| s[2 * k + o];
    for (x, (uo, vo)) in u[..w].iter_mut().zip(v[..w].iter_mut()).enumerate() {
        let k = x >> 1;
        let (a, b) = if x % 2 == 1 {
            if x + 1 < w {
                match site {
                    ChromaSite::HCosited => {
                        (f11(c(k, ui), c(k + 1, ui)), f11(c(k, vi), c(k + 1, vi)))
                    }
                    _ => (f31(c(k, ui), c(k + 1, ui)), f31(c(k, vi), c(k + 1, vi))),
                }
            } else {
                (c(k, ui), c(k, vi))
            }
        } else if x == 0 || site == ChromaSite::HCosited {
            (c(k, ui), c(k, vi))
        } else {
            (f31(c(k, ui), c(k - 1, ui)), f31(c(k, vi), c(k - 1, vi)))
        };
        *uo = a;
        *vo = b;
    }
}

/// NV12/NV21 → RGB with the generic path's arithmetic, row by row: each chroma row
/// is upsampled horizontally once (a two-row cache), rows are mixed vertically 3:1
/// with their partner row as GStreamer pairs them, then the tabulated Orc matrix.
#[allow(clippy::too_many_arguments)]
fn semi_planar_to_rgb(
    fi: VideoFormat,
    fo: VideoFormat,
    (w, h): (usize, usize),
    k: &YuvToRgb,
    site: ChromaSite,
    src: &[Plane<'_>],
    dst: &mut [PlaneMut<'_>],
    tmp: &mut [u8],
) {
    let offs = (fi.component_offset(1), fi.component_offset(2));
    let (rgb, oa, ps) = rgb_offsets(fo);
    let cw = w.div_ceil(2);
    // Two cached upsampled chroma rows: (chroma row index, U, V).
    let (c0, c1) = tmp.split_at_mut(2 * w);
    let (u0, v0) = c0.split_at_mut(w);
    let (u1, v1) = c1[..2 * w].split_at_mut(w);
    let mut slots: [(Option<usize>, &mut [u8], &mut [u8]); 2] = [(None, u0, v0), (None, u1, v1)];
    for y in 0..h {
        let own = y >> 1;
        let partner = if y % 2 == 1 {
            (y + 1 < h).then_some((y + 1) >> 1)
        } else {
            y.checked_sub(1).map(|p| p >> 1)
        };
        let needed = [Some(own), partner];
        for need in needed.into_iter().flatten() {
            if slots.iter().all(|(i, _, _)| *i != Some(need)) {
                // Reuse a slot holding no row this output row needs.
                let free = usize::from(needed.contains(&slots[0].0) && slots[0].0.is_some());
                let slot = &mut slots[free];
                upsample_chroma_row(row(&src[1], need, cw * 2), w, site, offs, slot.1, slot.2);
                slot.0 = Some(need);
            }
        }
        let find = |want: usize| usize::from(slots[0].0 != Some(want));
        let so = find(own);
        let yrow = row(&src[0], y, w);
        let d = row_mut(&mut dst[0], y, w * ps);
        let (uo, vo) = (&slots[so].1[..w], &slots[so].2[..w]);
        match partner.filter(|&p| p != own) {
            Some(p) => {
                let sp = find(p);
                let (up, vp) = (&slots[sp].1[..w], &slots[sp].2[..w]);
                for (x, o) in d.chunks_exact_mut(ps).enumerate() {
                    let p = k.apply(yrow[x], f31(uo[x], up[x]), f31(vo[x], vp[x]));
                    put_rgb(o, rgb, oa, p);
                }
            }
            None => {
                for (x, o) in d.chunks_exact_mut(ps).enumerate() {
                    put_rgb(o, rgb, oa, k.apply(yrow[x], uo[x], vo[x]));
                }
            }
        }
    }
}

fn luma(
    fi: VideoFormat,
    fo: VideoFormat,
    w: usize,
    h: usize,
    src: &[Plane<'_>],
    dst: &mut [PlaneMut<'_>],
) {
    move_comp(fi, fo, 0, (w, h), src, dst);
    if fo.is_yuv() {
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let bytes = if fo.n_planes() == 2 { cw * 2 } else { cw };
        for plane in dst.iter_mut().skip(1) {
            for r in 0..ch {
                row_mut(plane, r, bytes).fill(128);
            }
        }
    }
}

fn rgb_reorder(
    fi: VideoFormat,
    fo: VideoFormat,
    w: usize,
    h: usize,
    src: &Plane<'_>,
    dst: &mut PlaneMut<'_>,
) {
    let (ri, ai, pi) = rgb_offsets(fi);
    let (ro, ao, po) = rgb_offsets(fo);
    // As in GStreamer, the unused byte of an RGBx-style input is read as alpha and an
    // RGBx-style output's unused byte is written with the alpha.
    let alpha_in = ai;
    for r in 0..h {
        let s = row(src, r, w * pi);
        let d = row_mut(dst, r, w * po);
        match (pi, po) {
            (4, 4) => {
                // Output byte j is input byte perm[j] (alpha and unused bytes included).
                let mut perm = [0usize; 4];
                for k in 0..3 {
                    perm[ro[k]] = ri[k];
                }
                if let (Some(a), Some(b)) = (ao, ai) {
                    perm[a] = b;
                }
                shuffle_rows(perm, s, d);
            }
            (4, 3) => reorder_px::<4, 3>(s, d, ri, alpha_in, ro, ao),
            (3, 4) => reorder_px::<3, 4>(s, d, ri, alpha_in, ro, ao),
            _ => reorder_px::<3, 3>(s, d, ri, alpha_in, ro, ao),
        }
    }
}

/// `d` pixel = `s` pixel with its bytes permuted, for the permutations between
/// RGBA, BGRA, ARGB and ABGR byte orders (the RGBx family shares them).
fn shuffle_rows(perm: [usize; 4], s: &[u8], d: &mut [u8]) {
    macro_rules! dispatch {
        ($($p0:literal, $p1:literal, $p2:literal, $p3:literal);*) => {
            match perm {
                $([$p0, $p1, $p2, $p3] => shuffle4::<$p0, $p1, $p2, $p3>(s, d),)*
                _ => shuffle_any(perm, s, d),
            }
        };
    }
    dispatch!(0, 1, 2, 3;
        0, 3, 2, 1;
        1, 2, 3, 0;
        2, 1, 0, 3;
        3, 0, 1, 2;
        3, 2, 1, 0);
}

/// One fixed permutation: constant shifts and masks on 32-bit words vectorise.
#[inline(always)]
fn shuffle4<const P0: usize, const P1: usize, const P2: usize, const P3: usize>(
    s: &[u8],
    d: &mut [u8],
) {
    for (o, i) in d.chunks_exact_mut(4).zip(s.chunks_exact(4)) {
        let v = u32::from_le_bytes(i.try_into().unwrap_or([0; 4]));
        let b = |p: usize| (v >> (8 * p)) & 0xff;
        let r = b(P0) | (b(P1) << 8) | (b(P2) << 16) | (b(P3) << 24);
        o.copy_from_slice(&r.to_le_bytes());
    }
}

fn shuffle_any(perm: [usize; 4], s: &[u8], d: &mut [u8]) {
    for (o, i) in d.chunks_exact_mut(4).zip(s.chunks_exact(4)) {
        for (x, &p) in o.iter_mut().zip(&perm) {
            *x = i[p];
        }
    }
}

#[inline(always)]
fn reorder_px<const I: usize, const O: usize>(
    s: &[u8],
    d: &mut [u8],
    ri: [usize; 3],
    ai: Option<usize>,
    ro: [usize; 3],
    ao: Option<usize>,
) {
    for (o, i) in d.chunks_exact_mut(O).zip(s.chunks_exact(I)) {
        let i: &[u8; I] = i.try_into().unwrap_or(&[0; I]);
        let o: &mut [u8; O] = match o.try_into() {
            Ok(o) => o,
            Err(_) => continue,
        };
        let mut px = [255u8; O];
        px[ro[0]] = i[ri[0]];
        px[ro[1]] = i[ri[1]];
        px[ro[2]] = i[ri[2]];
        if let (Some(a), Some(b)) = (ao, ai) {
            px[a] = i[b];
        }
        *o = px;
    }
}

/// GStreamer's generic conversion, one row (or, for 4:2:0 outputs, one pair of rows)
/// at a time, so that the 4:4:4 working rows stay in cache.
struct Generic<'a> {
    fi: VideoFormat,
    fo: VideoFormat,
    w: usize,
    h: usize,
    up: Option<Resample>,
    matrix: &'a Matrix,
    down: Option<Resample>,
}

impl Generic<'_> {
    /// Row `y` unpacked to 4:4:4 and upsampled, in `row`; `scratch` is a second row.
    fn input_row(&self, y: usize, src: &[Plane<'_>], row: &mut [u8], scratch: &mut [u8]) {
        unpack_row(self.fi, y, src, row);
        let Some(up) = &self.up else {
            return;
        };
        if up.hsub == 1 {
            upsample_h(up.site, self.w, row);
        }
        if up.vsub == 1 {
            // GStreamer filters row pairs (2k-1, 2k): an odd row with the row below,
            // an even row with the row above; the first row and an even height's last
            // row have no partner.
            let partner = if y % 2 == 1 {
                (y + 1 < self.h).then_some(y + 1)
            } else {
                y.checked_sub(1)
            };
            if let Some(n) = partner {
                unpack_row(self.fi, n, src, scratch);
                if up.hsub == 1 {
                    upsample_h(up.site, self.w, scratch);
                }
                for (p, q) in row.chunks_exact_mut(4).zip(scratch.chunks_exact(4)) {
                    p[2] = f31(p[2], q[2]);
                    p[3] = f31(p[3], q[3]);
                }
            }
        }
    }

    fn run(&self, src: &[Plane<'_>], dst: &mut [PlaneMut<'_>], tmp: &mut [u8]) {
        let w4 = self.w * 4;
        let (a, rest) = tmp.split_at_mut(w4);
        let (b, scratch) = rest.split_at_mut(w4);
        let scratch = &mut scratch[..w4];
        let pairs = self.down.is_some_and(|d| d.vsub == 1);
        let mut y = 0;
        while y < self.h {
            self.input_row(y, src, a, scratch);
            apply_matrix(self.matrix, a);
            if pairs {
                if y + 1 < self.h {
                    self.input_row(y + 1, src, b, scratch);
                    apply_matrix(self.matrix, b);
                    pack_row(self.fo, y + 1, self.w, b, dst);
                    // Vertical downsampling: the pair's chroma averaged into the even row.
                    for (p, q) in a.chunks_exact_mut(4).zip(b.chunks_exact(4)) {
                        p[2] = f11(p[2], q[2]);
                        p[3] = f11(p[3], q[3]);
                    }
                }
                if let Some(d) = &self.down {
                    downsample_h(d, self.w, a);
                }
                pack_row(self.fo, y, self.w, a, dst);
                y += 2;
            } else {
                if let Some(d) = &self.down {
                    downsample_h(d, self.w, a);
                }
                pack_row(self.fo, y, self.w, a, dst);
                y += 1;
            }
        }
    }
}

/// Unpacks row `y` to 4:4:4 A, Y, U, V (or A, R, G, B): subsampled chroma repeated,
/// gray with U = V = 128, missing alpha 255.
fn unpack_row(f: VideoFormat, y: usize, src: &[Plane<'_>], trow: &mut [u8]) {
    for px in trow.chunks_exact_mut(4) {
        px.copy_from_slice(&[255, 0, 128, 128]);
    }
    if let (true, false, (_, Some(pad), 4)) = (f.is_rgb(), f.has_alpha(), rgb_offsets(f)) {
        // GStreamer reads the unused byte of RGBx-style formats as alpha.
        let s = &src[0].data[y * src[0].stride + pad..];
        for (px, v) in trow.chunks_exact_mut(4).zip(s.iter().step_by(4)) {
            px[0] = *v;
        }
    }
    for c in 0..f.n_components() {
        let (p, off, ps, hs, vs) = comp_desc(f, c);
        let ch = channel(f, c);
        let start = (y >> vs) * src[p].stride + off;
        let s = &src[p].data[start..];
        if hs == 0 {
            for (px, v) in trow.chunks_exact_mut(4).zip(s.iter().step_by(ps)) {
                px[ch] = *v;
            }
        } else {
            // Each chroma sample serves two pixels.
            for (pair, v) in trow.chunks_mut(8).zip(s.iter().step_by(ps)) {
                pair[ch] = *v;
                if let Some(x) = pair.get_mut(4 + ch) {
                    *x = *v;
                }
            }
        }
    }
}

/// Packs row `y`: every component of full-height planes, subsampled chroma from the
/// even pixels of even rows, and alpha into the unused byte of RGBx-style formats.
fn pack_row(f: VideoFormat, y: usize, w: usize, trow: &[u8], dst: &mut [PlaneMut<'_>]) {
    for c in 0..f.n_components() {
        let (p, off, ps, hs, vs) = comp_desc(f, c);
        if vs == 1 && y % 2 == 1 {
            continue;
        }
        let ch = channel(f, c);
        let start = (y >> vs) * dst[p].stride + off;
        let d = &mut dst[p].data[start..];
        let cols = sub_scale(w as u32, hs);
        if hs == 0 {
            for (o, px) in d
                .iter_mut()
                .step_by(ps)
                .zip(trow.chunks_exact(4))
                .take(cols)
            {
                *o = px[ch];
            }
        } else {
            for (o, px) in d.iter_mut().step_by(ps).zip(trow.chunks(8)).take(cols) {
                *o = px[ch];
            }
        }
    }
    if let (true, false, (_, Some(pad), 4)) = (f.is_rgb(), f.has_alpha(), rgb_offsets(f)) {
        let d = row_mut(&mut dst[0], y, w * 4);
        for (px, a) in d.chunks_exact_mut(4).zip(trow.chunks_exact(4)) {
            px[pad] = a[0];
        }
    }
}

fn apply_matrix(m: &Matrix, tmp: &mut [u8]) {
    match m {
        Matrix::None => {}
        Matrix::YuvToRgb(k) => {
            for px in tmp.chunks_exact_mut(4) {
                let [r, g, b] = k.apply(px[1], px[2], px[3]);
                px[1] = r;
                px[2] = g;
                px[3] = b;
            }
        }
        Matrix::RgbToYuv(k) => {
            for px in tmp.chunks_exact_mut(4) {
                let [y, u, v] = k.apply(px[1], px[2], px[3]);
                px[1] = y;
                px[2] = u;
                px[3] = v;
            }
        }
        Matrix::YuvToYuv(k) => {
            for px in tmp.chunks_exact_mut(4) {
                let [y, u, v] = k.apply(px[1], px[2], px[3]);
                px[1] = y;
                px[2] = u;
                px[3] = v;
            }
        }
    }
}

#[inline(always)]
fn f31(a: u8, b: u8) -> u8 {
    ((3 * u16::from(a) + u16::from(b) + 2) >> 2) as u8
}

#[inline(always)]
fn f11(a: u8, b: u8) -> u8 {
    ((u16::from(a) + u16::from(b) + 1) >> 1) as u8
}

/// GStreamer's horizontal chroma upsampling of a row whose chroma is repeated:
/// 3:1 linear taps for centred chroma, the average of both neighbours for co-sited.
fn upsample_h(site: ChromaSite, w: usize, trow: &mut [u8]) {
    for ch in 2..4 {
        match site {
            ChromaSite::HCosited => {
                let mut i = 1;
                while i + 1 < w {
                    trow[i * 4 + ch] = f11(trow[(i - 1) * 4 + ch], trow[(i + 1) * 4 + ch]);
                    i += 2;
                }
            }
            _ => {
                let mut t1 = trow[ch];
                let mut i = 1;
                while i + 1 < w {
                    let t0 = t1;
                    t1 = trow[(i + 1) * 4 + ch];
                    trow[i * 4 + ch] = f31(t0, t1);
                    trow[(i + 1) * 4 + ch] = f31(t1, t0);
                    i += 2;
                }
            }
        }
    }
}

/// GStreamer's horizontal chroma downsampling into the even pixels: pairs averaged
/// when centred, a 1:2:1 filter when co-sited.
fn downsample_h(r: &Resample, w: usize, trow: &mut [u8]) {
    if r.hsub != 1 {
        return;
    }
    for ch in 2..4 {
        let at = |i: usize| i * 4 + ch;
        match r.site {
            ChromaSite::HCosited => {
                if w < 2 {
                    continue;
                }
                trow[at(0)] = f31(trow[at(0)], trow[at(1)]);
                let mut i = 2;
                while i + 2 < w {
                    let (a, b, c) = (trow[at(i - 1)], trow[at(i)], trow[at(i + 1)]);
                    trow[at(i)] = ((u16::from(a) + 2 * u16::from(b) + u16::from(c) + 2) >> 2) as u8;
                    i += 2;
                }
                if i < w {
                    trow[at(i)] = f31(trow[at(i)], trow[at(i - 1)]);
                }
            }
            _ => {
                let mut i = 0;
                while i + 1 < w {
                    trow[at(i)] = f11(trow[at(i)], trow[at(i + 1)]);
                    i += 2;
                }
            }
        }
    }
}
