//! The integer colour matrices GStreamer's video converter uses, between the
//! [`Space`]s of [`crate::colorimetry`].
//!
//! GStreamer builds each matrix in floating point (range offsets and scales, then the
//! Kr/Kb luma weights), scales it by 256 and rounds every coefficient to an integer.
//! The same steps here give the same integers (checked in the tests against the
//! matrices `GST_DEBUG=video-converter:5` prints).

use crate::colorimetry::{ColorMatrix, Space};

/// Offsets and scales of the three components in 8 bits (GStreamer's
/// `gst_video_color_range_offsets`).
fn range(space: Space) -> ([f64; 3], [f64; 3]) {
    match space {
        Space::Rgb => ([0.0, 0.0, 0.0], [255.0, 255.0, 255.0]),
        s if s.is_full_range() => ([0.0, 128.0, 128.0], [255.0, 255.0, 255.0]),
        _ => ([16.0, 128.0, 128.0], [219.0, 224.0, 224.0]),
    }
}

type M4 = [[f64; 4]; 4];

fn identity() -> M4 {
    let mut m = [[0.0; 4]; 4];
    for (i, row) in m.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    m
}

/// `a × b`.
fn mul(a: &M4, b: &M4) -> M4 {
    let mut r = [[0.0; 4]; 4];
    for i in 0..4 {
        for j in 0..4 {
            r[i][j] = (0..4).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    r
}

fn offset(m: &M4, o: [f64; 3]) -> M4 {
    let mut a = identity();
    for i in 0..3 {
        a[i][3] = o[i];
    }
    mul(&a, m)
}

fn scale(m: &M4, s: [f64; 3]) -> M4 {
    let mut a = identity();
    for i in 0..3 {
        a[i][i] = s[i];
    }
    mul(&a, m)
}

fn ycbcr_to_rgb(m: &M4, (kr, kb): (f64, f64)) -> M4 {
    let kg = 1.0 - kr - kb;
    let k = [
        [1.0, 0.0, 2.0 * (1.0 - kr), 0.0],
        [
            1.0,
            -2.0 * kb * (1.0 - kb) / kg,
            -2.0 * kr * (1.0 - kr) / kg,
            0.0,
        ],
        [1.0, 2.0 * (1.0 - kb), 0.0, 0.0],
        [0.0, 0.0, 0.0, 1.0],
    ];
    mul(&k, m)
}

fn rgb_to_ycbcr(m: &M4, (kr, kb): (f64, f64)) -> M4 {
    let kg = 1.0 - kr - kb;
    let xb = 1.0 / (2.0 * (1.0 - kb));
    let xr = 1.0 / (2.0 * (1.0 - kr));
    let k = [
        [kr, kg, kb, 0.0],
        [-xb * kr, -xb * kg, xb * (1.0 - kb), 0.0],
        [xr * (1.0 - kr), -xr * kg, -xr * kb, 0.0],
        [0.0, 0.0, 0.0, 1.0],
    ];
    mul(&k, m)
}

/// Components to 0..1 (offsets removed, scaled), then to R'G'B' if `space` is YCbCr.
fn to_rgb(space: Space) -> M4 {
    let (o, s) = range(space);
    // GStreamer divides in single precision.
    let inv = s.map(|v| f64::from(1.0f32 / v as f32));
    let m = scale(&offset(&identity(), o.map(|v| -v)), inv);
    match space.matrix().and_then(ColorMatrix::kr_kb) {
        Some(k) => ycbcr_to_rgb(&m, k),
        None => m,
    }
}

/// From R'G'B' 0..1 to `space`'s components (YCbCr if `space` is, then range).
fn from_rgb(m: &M4, space: Space) -> M4 {
    let m = match space.matrix().and_then(ColorMatrix::kr_kb) {
        Some(k) => rgb_to_ycbcr(m, k),
        None => *m,
    };
    let (o, s) = range(space);
    offset(&scale(&m, s), o)
}

/// The integer matrix (coefficients × 256, rounded) taking `from` samples to `to`
/// samples, as GStreamer computes it.
pub fn integer_matrix(from: Space, to: Space) -> [[i32; 4]; 3] {
    let m = from_rgb(&to_rgb(from), to);
    let m = scale(&m, [256.0; 3]);
    let mut r = [[0i32; 4]; 3];
    for i in 0..3 {
        for j in 0..4 {
            // `rint`: round half to even; the values are far from halves.
            r[i][j] = m[i][j].round_ties_even() as i32;
        }
    }
    r
}

/// YCbCr → RGB the way GStreamer's Orc kernel (`video_orc_convert_AYUV_ARGB`) does it:
/// each of Y−128, U−128, V−128 becomes a 16-bit word with its byte in both halves,
/// is multiplied by a coefficient keeping the high 16 bits, and the sums saturate to
/// −128..127 before 128 is added back. The coefficients are the integer matrix's
/// `[0][0], [0][2], [2][1], [1][1], [1][2]`; its offsets are not used.
///
/// Every product depends on one 8-bit sample, so they are tabulated: a pixel costs
/// five lookups, four adds and three clamps.
#[derive(Clone, PartialEq, Eq)]
pub struct YuvToRgb {
    y: [i16; 256],
    rv: [i16; 256],
    bu: [i16; 256],
    gu: [i16; 256],
    gv: [i16; 256],
}

impl std::fmt::Debug for YuvToRgb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("YuvToRgb").finish_non_exhaustive()
    }
}

/// `(b << 8) | b` as a signed 16-bit word, for the signed byte `s`.
#[inline(always)]
fn splat(s: i32) -> i32 {
    let b = s & 0xff;
    i32::from(((b << 8) | b) as u16 as i16)
}

#[inline(always)]
fn mulhs(a: i32, b: i32) -> i32 {
    (a * b) >> 16
}

#[inline(always)]
fn sat(v: i32) -> u8 {
    (v.clamp(-128, 127) + 128) as u8
}

/// `mulhs(splat(i - 128), coefficient)` for every sample value `i`.
fn product_table(coefficient: i32) -> [i16; 256] {
    let mut t = [0i16; 256];
    for (i, v) in t.iter_mut().enumerate() {
        // |splat| <= 32768 and |coefficient| < 1024: the high half fits in i16.
        *v = mulhs(splat(i as i32 - 128), coefficient) as i16;
    }
    t
}

impl YuvToRgb {
    /// The kernel for samples in `from` (a YCbCr or gray space).
    pub fn new(from: Space) -> YuvToRgb {
        let m = integer_matrix(from, Space::Rgb);
        YuvToRgb {
            y: product_table(m[0][0]),
            rv: product_table(m[0][2]),
            bu: product_table(m[2][1]),
            gu: product_table(m[1][1]),
            gv: product_table(m[1][2]),
        }
    }

    /// R, G, B of one pixel.
    #[inline(always)]
    pub fn apply(&self, y: u8, u: u8, v: u8) -> [u8; 3] {
        let wy = i32::from(self.y[usize::from(y)]);
        let (u, v) = (usize::from(u), usize::from(v));
        let r = wy + i32::from(self.rv[v]);
        let b = wy + i32::from(self.bu[u]);
        // 16-bit adds in the kernel; they cannot overflow for these coefficients.
        let g = wy + i32::from(self.gu[u]) + i32::from(self.gv[v]);
        [sat(r), sat(g), sat(b)]
    }
}

/// RGB → YCbCr (or gray) the way GStreamer's 8-bit table path does it:
/// `(c0·R + c1·G + c2·B + c3) >> 8` per component, with the integer matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RgbToYuv {
    m: [[i32; 4]; 3],
}

impl RgbToYuv {
    /// The kernel producing samples in `to`.
    pub fn new(to: Space) -> RgbToYuv {
        RgbToYuv {
            m: integer_matrix(Space::Rgb, to),
        }
    }

    /// Y, U, V of one pixel.
    #[inline(always)]
    pub fn apply(&self, r: u8, g: u8, b: u8) -> [u8; 3] {
        let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
        let c = |row: &[i32; 4]| {
            ((row[0] * r + row[1] * g + row[2] * b + row[3]) >> 8).clamp(0, 255) as u8
        };
        [c(&self.m[0]), c(&self.m[1]), c(&self.m[2])]
    }
}

/// YCbCr → YCbCr between two matrices, the way GStreamer's Orc kernel
/// (`video_orc_matrix8`) does it: like [`YuvToRgb`], every input component minus 128
/// is splatted to a 16-bit word and multiplied keeping the high half, the products are
/// summed and saturated, and 128 is added back. The matrix's offsets are not used
/// (the kernel ignores them), which GStreamer's output shows as a shift of a few levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YuvToYuv {
    m: [[i32; 4]; 3],
}

impl YuvToYuv {
    /// The kernel from `from` samples to `to` samples.
    pub fn new(from: Space, to: Space) -> YuvToYuv {
        YuvToYuv {
            m: integer_matrix(from, to),
        }
    }

    /// The converted pixel.
    #[inline(always)]
    pub fn apply(&self, y: u8, u: u8, v: u8) -> [u8; 3] {
        let c = [
            splat(i32::from(y) - 128),
            splat(i32::from(u) - 128),
            splat(i32::from(v) - 128),
        ];
        let row = |r: &[i32; 4]| sat(mulhs(c[0], r[0]) + mulhs(c[1], r[1]) + mulhs(c[2], r[2]));
        [row(&self.m[0]), row(&self.m[1]), row(&self.m[2])]
    }
}
