//! From working lines to frame bytes: chroma subsampling, packing into each format's
//! planes, and cached frames copied row by row.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

use super::color::Px;
use crate::{MAX_PLANES, VideoFormat};

/// Where subsampled chroma sits horizontally, which decides how GStreamer filters it
/// when subsampling. Vertically (4:2:0) chroma is always centred between two rows:
/// each chroma row is the average of two luma rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum HSite {
    /// Centred between two columns: the average of the two.
    Center,
    /// On the even column (`h-cosited`): a [1 2 1] / 4 filter around it.
    Cosited,
}

/// Chroma subsampling of a format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subsampling {
    /// 4:4:4, RGB or gray: nothing to do.
    None,
    /// 4:2:2: every row subsampled horizontally.
    H,
    /// 4:2:0: pairs of rows averaged, then subsampled horizontally.
    HV,
}

/// Byte ranges of a row that are written, per plane (at most two ranges).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Segments {
    ranges: [(usize, usize); 2],
    len: usize,
}

impl Segments {
    fn one(end: usize) -> Segments {
        Segments {
            ranges: [(0, end), (0, 0)],
            len: 1,
        }
    }

    fn iter(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        self.ranges[..self.len].iter().map(|&(a, b)| a..b)
    }

    /// One past the last byte written.
    pub(crate) fn end(&self) -> usize {
        self.ranges[self.len - 1].1
    }
}

/// How frames of one format and size are laid out and packed.
#[derive(Debug, Clone)]
pub(crate) struct Packer {
    format: VideoFormat,
    width: usize,
    height: usize,
    sub: Subsampling,
    site: HSite,
    /// Byte offsets of components 0..4 within a row group, and their pixel strides.
    comp_offset: [usize; 4],
    comp_pstride: [usize; 4],
    comp_plane: [usize; 4],
}

/// A frame being written: its bytes and per-plane offsets and strides.
pub(crate) struct Target<'a> {
    pub(crate) data: &'a mut [u8],
    pub(crate) offsets: [usize; MAX_PLANES],
    pub(crate) strides: [usize; MAX_PLANES],
}

impl Packer {
    pub(crate) fn new(format: VideoFormat, width: usize, height: usize, site: HSite) -> Packer {
        let sub = match format {
            VideoFormat::I420 | VideoFormat::Yv12 | VideoFormat::Nv12 | VideoFormat::Nv21 => {
                Subsampling::HV
            }
            VideoFormat::Yuy2 | VideoFormat::Uyvy => Subsampling::H,
            _ => Subsampling::None,
        };
        let mut comp_offset = [0; 4];
        let mut comp_pstride = [0; 4];
        let mut comp_plane = [0; 4];
        for c in 0..format.n_components() {
            comp_offset[c] = format.component_offset(c);
            comp_pstride[c] = format.pixel_stride(c);
            comp_plane[c] = format.component_plane(c);
        }
        Packer {
            format,
            width,
            height,
            sub,
            site,
            comp_offset,
            comp_pstride,
            comp_plane,
        }
    }

    pub(crate) fn n_planes(&self) -> usize {
        self.format.n_planes()
    }

    /// Rows of `plane`.
    pub(crate) fn plane_rows(&self, plane: usize) -> usize {
        self.size(plane).map_or(0, |p| p.height as usize)
    }

    /// The size of `plane` ([`VideoFormat::plane_size`]).
    fn size(&self, plane: usize) -> Option<crate::PlaneSize> {
        // The renderer's sizes come from a VideoInfo: they fit in u32.
        let w = u32::try_from(self.width).ok()?;
        let h = u32::try_from(self.height).ok()?;
        self.format.plane_size(plane, w, h)
    }

    /// The bytes of a row of `plane` that packing a line writes.
    ///
    /// That is the whole visible row, except in packed 4:2:2 with an odd width, where
    /// the last pixel pair has only its first luma sample: YUY2 then writes bytes
    /// `0..2w` and `2w + 1` (skipping the missing Y), UYVY writes `0..2w + 1`.
    pub(crate) fn pack_segments(&self, plane: usize) -> Segments {
        let w = self.width;
        match self.format {
            VideoFormat::Yuy2 if w % 2 == 1 => Segments {
                ranges: [(0, 2 * w), (2 * w + 1, 2 * w + 2)],
                len: 2,
            },
            VideoFormat::Uyvy if w % 2 == 1 => Segments::one(2 * w + 1),
            _ => Segments::one(self.row_bytes(plane)),
        }
    }

    /// The bytes of a row of `plane` that GStreamer's frame copy (which copies static
    /// patterns from their cached frame) writes: component `plane`'s samples times its
    /// pixel stride. For packed 4:2:2 with an odd width this is `2w`, one or two bytes
    /// short of the row: the last chroma sample is not copied.
    pub(crate) fn copy_segments(&self, plane: usize) -> Segments {
        // Component `plane`, as GStreamer's copy has it (not the plane's components).
        let samples = u32::try_from(self.width).map_or(0, |w| self.format.comp_width(plane, w));
        Segments::one(samples as usize * self.format.pixel_stride(plane))
    }

    /// Bytes in a visible row of `plane`.
    pub(crate) fn row_bytes(&self, plane: usize) -> usize {
        self.size(plane).map_or(0, |p| p.row_bytes)
    }

    /// Subsamples the chroma of `top` in place (using `bottom`, the next row, for 4:2:0),
    /// as GStreamer's chroma resampler does: for 4:2:0 every pixel's chroma first becomes
    /// the rounded average of `top` and `bottom`, then the even pixels are filtered
    /// horizontally. Only the even pixels' chroma is meaningful afterwards.
    fn subsample(&self, top: &mut [Px], bottom: Option<&[Px]>) {
        if self.sub == Subsampling::None {
            return;
        }
        if let Some(bottom) = bottom {
            for (t, b) in top.iter_mut().zip(bottom) {
                t[2] = avg2(t[2], b[2]);
                t[3] = avg2(t[3], b[3]);
            }
        }
        let w = top.len();
        match self.site {
            HSite::Center => {
                for x in (0..w.saturating_sub(1)).step_by(2) {
                    let next = top[x + 1];
                    let px = &mut top[x];
                    px[2] = avg2(px[2], next[2]);
                    px[3] = avg2(px[3], next[3]);
                }
            }
            HSite::Cosited => {
                if w < 2 {
                    return;
                }
                // [1 2 1] / 4 around each even pixel (odd pixels are only read). At the
                // left edge the missing left neighbour is the pixel itself; the last even
                // pixel other than pixel 0 uses itself as its right neighbour even when
                // an odd pixel follows it, which is what GStreamer's filter does.
                for x in (0..w).step_by(2) {
                    let cur = top[x];
                    let left = if x == 0 { cur } else { top[x - 1] };
                    let right = if x + 2 < w || x == 0 { top[x + 1] } else { cur };
                    top[x][2] = filt121(left[2], cur[2], right[2]);
                    top[x][3] = filt121(left[3], cur[3], right[3]);
                }
            }
        }
    }

    /// Packs frame row `y` from `line` (already subsampled) into `out`.
    fn pack_row(&self, y: usize, line: &[Px], out: &mut Target<'_>) {
        let w = self.width;
        debug_assert_eq!(line.len(), w);
        let row_start = |plane: usize, row: usize| out.offsets[plane] + row * out.strides[plane];
        match self.sub {
            Subsampling::None => {
                let start = row_start(0, y);
                let ps = self.comp_pstride[0];
                let row = &mut out.data[start..start + self.row_bytes(0)];
                if self.format == VideoFormat::Gray8 {
                    for (d, s) in row.iter_mut().zip(line) {
                        *d = s[1];
                    }
                    return;
                }
                // RGB: components 0..3 are R, G, B (line bytes 1..4), 3 is A (line
                // byte 0). The unused byte of the 4-byte formats without alpha gets the
                // alpha value too, as GStreamer's packing does.
                let [or, og, ob] = [
                    self.comp_offset[0],
                    self.comp_offset[1],
                    self.comp_offset[2],
                ];
                let oa = if ps == 4 {
                    Some(6 - or - og - ob)
                } else {
                    None
                };
                for (d, s) in row.chunks_exact_mut(ps).zip(line) {
                    d[or] = s[1];
                    d[og] = s[2];
                    d[ob] = s[3];
                    if let Some(oa) = oa {
                        d[oa] = s[0];
                    }
                }
            }
            Subsampling::H => {
                // Packed 4:2:2: Y at offset + 2x, U and V of each pair at their offsets
                // + 2x of the even pixel.
                let start = row_start(0, y);
                let len = self.pack_segments(0).end();
                let row = &mut out.data[start..start + len];
                let [oy, ou, ov, _] = self.comp_offset;
                for (x, s) in line.iter().enumerate() {
                    row[oy + 2 * x] = s[1];
                    if x % 2 == 0 {
                        row[ou + 2 * x] = s[2];
                        row[ov + 2 * x] = s[3];
                    }
                }
            }
            Subsampling::HV => {
                let start = row_start(0, y);
                for (d, s) in out.data[start..start + w].iter_mut().zip(line) {
                    *d = s[1];
                }
                if y % 2 == 1 {
                    return;
                }
                let cw = w.div_ceil(2);
                for c in 1..3 {
                    let plane = self.comp_plane[c];
                    let (off, ps) = (self.comp_offset[c], self.comp_pstride[c]);
                    let start = row_start(plane, y / 2);
                    let row = &mut out.data[start..start + cw * ps];
                    for (i, s) in line.iter().step_by(2).enumerate() {
                        row[off + i * ps] = s[c + 1];
                    }
                }
            }
        }
    }

    /// Draws frame rows `rows` into `out`: each row is painted by `paint` (which gets the
    /// row number and the working line, holding whatever the previous row left in it),
    /// scrolled left by `x_offset` pixels, chroma-subsampled and packed.
    ///
    /// For 4:2:0 formats `rows.start` must be even and `rows.end` even or the height.
    pub(crate) fn draw_rows(
        &self,
        rows: Range<usize>,
        x_offset: usize,
        out: &mut Target<'_>,
        mut paint: impl FnMut(usize, &mut [Px]),
    ) {
        let w = self.width;
        let mut work = vec![[0u8; 4]; w];
        let mut top = vec![[0u8; 4]; w];
        let mut bottom = vec![[0u8; 4]; w];
        let scroll = |work: &[Px], dst: &mut [Px]| {
            if x_offset == 0 {
                dst.copy_from_slice(work);
            } else {
                dst[..w - x_offset].copy_from_slice(&work[x_offset..]);
                dst[w - x_offset..].copy_from_slice(&work[..x_offset]);
            }
        };
        let mut y = rows.start;
        while y < rows.end {
            paint(y, &mut work);
            scroll(&work, &mut top);
            let pair = self.sub == Subsampling::HV && y + 1 < self.height;
            if pair {
                paint(y + 1, &mut work);
                scroll(&work, &mut bottom);
                self.subsample(&mut top, Some(&bottom));
            } else {
                self.subsample(&mut top, None);
            }
            self.pack_row(y, &top, out);
            if pair {
                self.pack_row(y + 1, &bottom, out);
                y += 2;
            } else {
                y += 1;
            }
        }
    }

    /// The offsets and strides of a tightly packed frame (each row exactly
    /// [`Packer::row_bytes`] long) and its size.
    pub(crate) fn tight_layout(&self) -> ([usize; MAX_PLANES], [usize; MAX_PLANES], usize) {
        let mut offsets = [0; MAX_PLANES];
        let mut strides = [0; MAX_PLANES];
        let mut size = 0;
        for p in 0..self.n_planes() {
            offsets[p] = size;
            strides[p] = self.row_bytes(p);
            size += strides[p] * self.plane_rows(p);
        }
        (offsets, strides, size)
    }
}

/// Rounded average of two samples.
#[inline]
fn avg2(a: u8, b: u8) -> u8 {
    ((u16::from(a) + u16::from(b) + 1) >> 1) as u8
}

/// `(a + 2b + c + 2) / 4`.
#[inline]
fn filt121(a: u8, b: u8, c: u8) -> u8 {
    ((u16::from(a) + 2 * u16::from(b) + u16::from(c) + 2) >> 2) as u8
}

/// The rows of one plane of a cached frame.
#[derive(Clone)]
enum PlaneRows {
    /// Every written byte of every row is this value.
    Fill(u8),
    /// Every row is this row.
    Same(Vec<u8>),
    /// Row `r` is distinct row `map[r]`; the distinct rows are `len` bytes each, one
    /// after the other in `distinct`. (Patterns have few distinct rows, which stay in
    /// the CPU's caches while the frame is written.)
    Distinct {
        distinct: Vec<u8>,
        len: usize,
        map: Vec<u32>,
    },
}

impl fmt::Debug for PlaneRows {
    // A summary: the rows themselves can be megabytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlaneRows::Fill(v) => write!(f, "Fill({v:#04x})"),
            PlaneRows::Same(row) => write!(f, "Same({} bytes)", row.len()),
            PlaneRows::Distinct { len, map, distinct } => write!(
                f,
                "Distinct({} rows of {len} bytes, {} distinct)",
                map.len(),
                distinct.len() / (*len).max(1)
            ),
        }
    }
}

/// A frame drawn once and written again row by row: the written bytes of each row are
/// copied (or filled), the rest of the frame is left alone.
#[derive(Debug, Clone)]
pub(crate) struct Cache {
    planes: Vec<(PlaneRows, usize, Segments)>,
}

impl Cache {
    /// Draws a whole frame with `draw` into a tight buffer and keeps, per plane, the
    /// bytes `segments(plane)` says are written.
    pub(crate) fn build(
        packer: &Packer,
        segments: impl Fn(usize) -> Segments,
        draw: impl FnOnce(&mut Target<'_>),
    ) -> Cache {
        let (offsets, strides, size) = packer.tight_layout();
        let mut data = vec![0u8; size];
        draw(&mut Target {
            data: &mut data,
            offsets,
            strides,
        });
        let planes = (0..packer.n_planes())
            .map(|p| {
                let segs = segments(p);
                let rows = packer.plane_rows(p);
                let len = strides[p];
                let plane = &data[offsets[p]..offsets[p] + len * rows];
                let row = |r: usize| &plane[r * len..(r + 1) * len];
                let first = row(0);
                let kind = if (1..rows).all(|r| row(r) == first) {
                    let mut bytes = segs.iter().flat_map(|s| first[s].iter().copied());
                    let v = bytes.next().unwrap_or(0);
                    if bytes.all(|b| b == v) {
                        PlaneRows::Fill(v)
                    } else {
                        PlaneRows::Same(first.to_vec())
                    }
                } else {
                    let mut index: HashMap<&[u8], u32> = HashMap::new();
                    let mut distinct = Vec::new();
                    let map = (0..rows)
                        .map(|r| {
                            let next = index.len() as u32;
                            *index.entry(row(r)).or_insert_with(|| {
                                distinct.extend_from_slice(row(r));
                                next
                            })
                        })
                        .collect();
                    PlaneRows::Distinct { distinct, len, map }
                };
                (kind, rows, segs)
            })
            .collect();
        Cache { planes }
    }

    /// Writes the cached frame into `out`.
    pub(crate) fn write(&self, out: &mut Target<'_>) {
        for (p, (kind, rows, segs)) in self.planes.iter().enumerate() {
            let (offset, stride) = (out.offsets[p], out.strides[p]);
            let segs = *segs;
            for r in 0..*rows {
                let dst_row = offset + r * stride;
                for s in segs.iter() {
                    let dst = &mut out.data[dst_row + s.start..dst_row + s.end];
                    match kind {
                        PlaneRows::Fill(v) => dst.fill(*v),
                        PlaneRows::Same(row) => dst.copy_from_slice(&row[s]),
                        PlaneRows::Distinct { distinct, len, map } => {
                            let start = map[r] as usize * len;
                            dst.copy_from_slice(&distinct[start + s.start..start + s.end]);
                        }
                    }
                }
            }
        }
    }

    /// Whether every plane is a single repeated byte.
    #[cfg(test)]
    pub(crate) fn is_fill(&self) -> bool {
        self.planes
            .iter()
            .all(|(k, _, _)| matches!(k, PlaneRows::Fill(_)))
    }
}

/// How to overwrite luma (or gray, or R = G = B) samples directly in a frame: used for
/// the noise of `snow` and `smpte`, whose chroma never changes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LumaWriter {
    /// Byte offsets within a pixel of the samples to write (1 or 3 of them).
    offsets: [usize; 3],
    n: usize,
    /// Bytes from one pixel to the next.
    pstride: usize,
    /// Whether to write the working pixel's byte 1 (Y) or bytes 1..4 (R, G, B).
    rgb: bool,
}

impl LumaWriter {
    pub(crate) fn new(packer: &Packer) -> LumaWriter {
        let f = packer.format;
        if f.is_rgb() {
            LumaWriter {
                offsets: [
                    packer.comp_offset[0],
                    packer.comp_offset[1],
                    packer.comp_offset[2],
                ],
                n: 3,
                pstride: packer.comp_pstride[0],
                rgb: true,
            }
        } else {
            LumaWriter {
                offsets: [packer.comp_offset[0], 0, 0],
                n: 1,
                pstride: packer.comp_pstride[0],
                rgb: false,
            }
        }
    }

    /// Writes pixels `x0..x0 + values.len()` of row `y` (plane 0).
    pub(crate) fn write(
        &self,
        out: &mut Target<'_>,
        y: usize,
        x0: usize,
        values: impl Iterator<Item = Px>,
    ) {
        let start = out.offsets[0] + y * out.strides[0] + x0 * self.pstride;
        let row = &mut out.data[start..];
        if self.n == 1 && self.pstride == 1 {
            for (d, v) in row.iter_mut().zip(values) {
                *d = v[1];
            }
            return;
        }
        for (px, v) in row.chunks_mut(self.pstride).zip(values) {
            if self.rgb {
                px[self.offsets[0]] = v[1];
                px[self.offsets[1]] = v[2];
                px[self.offsets[2]] = v[3];
            } else {
                px[self.offsets[0]] = v[1];
            }
        }
    }
}
