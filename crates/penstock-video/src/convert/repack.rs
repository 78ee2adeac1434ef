//! Conversions that move samples without arithmetic (and GStreamer's fast paths
//! between planar 4:2:0 and packed 4:2:2, which average or repeat chroma): 4:2:0
//! repacking, 4:2:2 byte swaps, luma-only copies.

use super::planes::{Plane, PlaneMut, comp_desc, copy_rows, row, row_mut};
use crate::VideoFormat;

/// Copies component `c` of `fi` into component `c` of `fo` (same subsampling).
pub(super) fn move_comp(
    fi: VideoFormat,
    fo: VideoFormat,
    c: usize,
    (w, h): (usize, usize),
    src: &[Plane<'_>],
    dst: &mut [PlaneMut<'_>],
) {
    let (pi, oi, si, _, _) = comp_desc(fi, c);
    let (po, oo, so, _, _) = comp_desc(fo, c);
    // The frame's width and height came from u32s.
    let cols = fi.comp_width(c, w as u32) as usize;
    let rows = fi.comp_height(c, h as u32) as usize;
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

pub(super) fn repack_420(
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
pub(super) fn load_u64(p: &[u8]) -> u64 {
    u64::from_le_bytes(p.try_into().unwrap_or([0; 8]))
}

/// The even bytes of `w` (little-endian) packed into its low half.
#[inline(always)]
pub(super) fn even_bytes(w: u64) -> u64 {
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

pub(super) fn swap_422(w: usize, h: usize, src: &Plane<'_>, dst: &mut PlaneMut<'_>) {
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
pub(super) fn packed_offsets(f: VideoFormat) -> (usize, usize, usize) {
    (
        f.component_offset(0),
        f.component_offset(1),
        f.component_offset(2),
    )
}

pub(super) fn planar420_to_packed422(
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

pub(super) fn packed422_to_planar420(
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

pub(super) fn luma(
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
