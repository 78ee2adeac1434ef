//! Frames as planes: the [`Plane`]s a converter reads and the [`PlaneMut`]s it writes,
//! their checks, and row access.

use super::ConvertError;
use crate::{VideoFormat, VideoInfo};

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

/// Rows of `plane` in a frame `height` rows high.
pub(super) fn plane_rows(f: VideoFormat, height: u32, plane: usize) -> usize {
    f.plane_size(plane, 1, height)
        .map_or(0, |p| p.height as usize)
}

/// Bytes of one row of `plane`.
pub(super) fn plane_row_bytes(f: VideoFormat, width: u32, plane: usize) -> usize {
    f.plane_size(plane, width, 1).map_or(0, |p| p.row_bytes)
}

pub(super) fn check_planes(
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

pub(super) fn row<'a>(p: &Plane<'a>, r: usize, len: usize) -> &'a [u8] {
    &p.data[r * p.stride..r * p.stride + len]
}

pub(super) fn row_mut<'a, 'b>(p: &'b mut PlaneMut<'a>, r: usize, len: usize) -> &'b mut [u8] {
    &mut p.data[r * p.stride..r * p.stride + len]
}

pub(super) fn copy_rows(src: &Plane<'_>, dst: &mut PlaneMut<'_>, rows: usize, bytes: usize) {
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
pub(super) fn comp_desc(f: VideoFormat, comp: usize) -> (usize, usize, usize, u32, u32) {
    let (h, v) = f.subsampling(comp);
    (
        f.component_plane(comp),
        f.component_offset(comp),
        f.pixel_stride(comp),
        h,
        v,
    )
}
