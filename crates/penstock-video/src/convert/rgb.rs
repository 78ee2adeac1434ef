//! Conversions to RGB and between RGB byte orders: GStreamer's I420 → RGB fast path,
//! NV12/NV21 → RGB with the generic path's arithmetic fused per row, and byte
//! shuffles.

use super::generic::{f11, f31};
use super::matrix::YuvToRgb;
use super::planes::{Plane, PlaneMut, row, row_mut};
use crate::VideoFormat;
use crate::colorimetry::ChromaSite;

/// Offsets of R, G, B and of alpha or the unused byte (if any) in an RGB pixel.
pub(super) fn rgb_offsets(f: VideoFormat) -> ([usize; 3], Option<usize>, usize) {
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
pub(super) fn put_rgb(
    o: &mut [u8],
    [or, og, ob]: [usize; 3],
    oa: Option<usize>,
    [r, g, b]: [u8; 3],
) {
    o[or] = r;
    o[og] = g;
    o[ob] = b;
    if let Some(a) = oa {
        o[a] = 255;
    }
}

pub(super) fn planar420_to_rgb(
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
pub(super) fn upsample_chroma_row(
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
                    ChromaSite::H_COSITED => {
                        (f11(c(k, ui), c(k + 1, ui)), f11(c(k, vi), c(k + 1, vi)))
                    }
                    _ => (f31(c(k, ui), c(k + 1, ui)), f31(c(k, vi), c(k + 1, vi))),
                }
            } else {
                (c(k, ui), c(k, vi))
            }
        } else if x == 0 || site == ChromaSite::H_COSITED {
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
pub(super) fn semi_planar_to_rgb(
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

pub(super) fn rgb_reorder(
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
pub(super) fn shuffle_rows(perm: [usize; 4], s: &[u8], d: &mut [u8]) {
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
pub(super) fn shuffle4<const P0: usize, const P1: usize, const P2: usize, const P3: usize>(
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

pub(super) fn shuffle_any(perm: [usize; 4], s: &[u8], d: &mut [u8]) {
    for (o, i) in d.chunks_exact_mut(4).zip(s.chunks_exact(4)) {
        for (x, &p) in o.iter_mut().zip(&perm) {
            *x = i[p];
        }
    }
}

#[inline(always)]
pub(super) fn reorder_px<const I: usize, const O: usize>(
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
