//! GStreamer's generic conversion path: unpack each row to 4:4:4, upsample chroma,
//! apply the matrix, downsample chroma, pack.

use super::planes::{Plane, PlaneMut, comp_desc, row_mut};
use super::rgb::rgb_offsets;
use super::{Matrix, Resample, channel};
use crate::VideoFormat;
use crate::colorimetry::ChromaSite;

/// GStreamer's generic conversion, one row (or, for 4:2:0 outputs, one pair of rows)
/// at a time, so that the 4:4:4 working rows stay in cache.
pub(super) struct Generic<'a> {
    pub(super) fi: VideoFormat,
    pub(super) fo: VideoFormat,
    pub(super) w: usize,
    pub(super) h: usize,
    pub(super) up: Option<Resample>,
    pub(super) matrix: &'a Matrix,
    pub(super) down: Option<Resample>,
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

    pub(super) fn run(&self, src: &[Plane<'_>], dst: &mut [PlaneMut<'_>], tmp: &mut [u8]) {
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
pub(super) fn unpack_row(f: VideoFormat, y: usize, src: &[Plane<'_>], trow: &mut [u8]) {
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
pub(super) fn pack_row(f: VideoFormat, y: usize, w: usize, trow: &[u8], dst: &mut [PlaneMut<'_>]) {
    for c in 0..f.n_components() {
        let (p, off, ps, hs, vs) = comp_desc(f, c);
        if vs == 1 && y % 2 == 1 {
            continue;
        }
        let ch = channel(f, c);
        let start = (y >> vs) * dst[p].stride + off;
        let d = &mut dst[p].data[start..];
        let cols = f.comp_width(c, w as u32) as usize;
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

pub(super) fn apply_matrix(m: &Matrix, tmp: &mut [u8]) {
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
pub(super) fn f31(a: u8, b: u8) -> u8 {
    ((3 * u16::from(a) + u16::from(b) + 2) >> 2) as u8
}

#[inline(always)]
pub(super) fn f11(a: u8, b: u8) -> u8 {
    ((u16::from(a) + u16::from(b) + 1) >> 1) as u8
}

/// GStreamer's horizontal chroma upsampling of a row whose chroma is repeated:
/// 3:1 linear taps for centred chroma, the average of both neighbours for co-sited.
pub(super) fn upsample_h(site: ChromaSite, w: usize, trow: &mut [u8]) {
    for ch in 2..4 {
        match site {
            ChromaSite::H_COSITED => {
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
pub(super) fn downsample_h(r: &Resample, w: usize, trow: &mut [u8]) {
    if r.hsub != 1 {
        return;
    }
    for ch in 2..4 {
        let at = |i: usize| i * 4 + ch;
        match r.site {
            ChromaSite::H_COSITED => {
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
