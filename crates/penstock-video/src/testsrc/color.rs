//! Colours of the test patterns: the colour tables, RGB to Y'CbCr conversion and alpha
//! blending, all with the integer arithmetic that makes the output match GStreamer 1.22's
//! `videotestsrc` byte for byte.

/// One pixel of a working line, before chroma subsampling and packing:
/// `[A, Y, Cb, Cr]` when the output is YUV or gray, `[A, R, G, B]` when it is RGB.
pub(crate) type Px = [u8; 4];

pub(crate) use crate::colorimetry::{ColorMatrix, Space};

/// The coefficients GStreamer 1.22's videotestsrc converts with for `matrix`: BT.601's
/// for [`ColorMatrix::Bt601`], BT.709's for every other matrix (BT.2020 included, as
/// GStreamer does). Both are limited ("studio") range: Y' in 16..=235, Cb and Cr in
/// 16..=240, whatever range the colorimetry says.
fn coeffs(matrix: ColorMatrix) -> &'static [[i32; 3]; 3] {
    match matrix {
        ColorMatrix::Bt601 => &COEFFS_601,
        _ => &COEFFS_709,
    }
}

/// Fixed-point precision of the conversion coefficients.
const SCALE_BITS: u32 = 10;

/// Integer RGB to Y'CbCr coefficients, `[[Y], [Cb], [Cr]]` x `[R, G, B]`, scaled by
/// `2^SCALE_BITS`.
///
/// Each is the real coefficient of the matrix, times 219/255 (Y') or 224/255 (Cb, Cr) for
/// the limited range, times 1024, rounded to the nearest integer (see
/// `derive_coefficients`, which the tests check these against). For BT.601 the real
/// coefficients are Y' = 0.299 R + 0.587 G + 0.114 B, Cb = (B - Y') / 1.772,
/// Cr = (R - Y') / 1.402.
const COEFFS_601: [[i32; 3]; 3] = [[263, 516, 100], [-152, -298, 450], [450, -377, -73]];
/// As [`COEFFS_601`] for BT.709 (Y' = 0.2126 R + 0.7152 G + 0.0722 B,
/// Cb = (B - Y') / 1.8556, Cr = (R - Y') / 1.5748).
const COEFFS_709: [[i32; 3]; 3] = [[187, 629, 63], [-103, -347, 450], [450, -409, -41]];

/// Computes the integer coefficients of a matrix from its `Kr` and `Kb`.
#[cfg(test)]
pub(crate) fn derive_coefficients(kr: f64, kb: f64) -> [[i32; 3]; 3] {
    let kg = 1.0 - kr - kb;
    let fix = |x: f64| (x * f64::from(1u32 << SCALE_BITS)).round() as i32;
    let y = 219.0 / 255.0;
    let c = 224.0 / 255.0;
    let cb = 0.5 / (1.0 - kb);
    let cr = 0.5 / (1.0 - kr);
    [
        [fix(kr * y), fix(kg * y), fix(kb * y)],
        [-fix(kr * cb * c), -fix(kg * cb * c), fix(0.5 * c)],
        [fix(0.5 * c), -fix(kg * cr * c), -fix(kb * cr * c)],
    ]
}

#[cfg(test)]
pub(crate) fn coefficients(matrix: ColorMatrix) -> [[i32; 3]; 3] {
    *coeffs(matrix)
}

/// Converts a full-range RGB colour to limited-range Y'CbCr.
///
/// Y' rounds to nearest; Cb and Cr add one half minus one ulp before the arithmetic
/// shift, which is what GStreamer's output shows (and keeps grays at exactly 128).
pub(crate) fn rgb_to_yuv(matrix: ColorMatrix, r: u8, g: u8, b: u8) -> [u8; 3] {
    let m = coeffs(matrix);
    let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
    let half = 1 << (SCALE_BITS - 1);
    let dot = |k: &[i32; 3]| k[0] * r + k[1] * g + k[2] * b;
    let y = (dot(&m[0]) + half + (16 << SCALE_BITS)) >> SCALE_BITS;
    let u = ((dot(&m[1]) + half - 1) >> SCALE_BITS) + 128;
    let v = ((dot(&m[2]) + half - 1) >> SCALE_BITS) + 128;
    // In range by construction: y in 16..=235, u and v in 16..=240.
    [clamp_u8(y), clamp_u8(u), clamp_u8(v)]
}

fn clamp_u8(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

/// Converts a big-endian ARGB colour (`0xAARRGGBB`, as the `foreground-color` property
/// takes it) into a working pixel.
pub(crate) fn argb_to_px(space: Space, argb: u32) -> Px {
    let [a, r, g, b] = argb.to_be_bytes();
    match space {
        Space::Rgb => [a, r, g, b],
        Space::Yuv(m, _) => {
            let [y, u, v] = rgb_to_yuv(m, r, g, b);
            [a, y, u, v]
        }
    }
}

/// The opaque gray `v` of the noise patterns.
///
/// GStreamer does not put noise through the fixed-point matrix of [`rgb_to_yuv`]: a gray
/// becomes Y' = 16 + 219 v / 255 rounded to nearest (the same for every matrix), with
/// neutral chroma. The two differ by one for 14 of the 256 grays (v = 216: 202 here,
/// 201 through the matrix), and GStreamer's output shows both.
pub(crate) fn noise_gray(space: Space, v: u8) -> Px {
    match space {
        Space::Rgb => [255, v, v, v],
        Space::Yuv(..) => [255, ((219 * u32::from(v) + 127) / 255 + 16) as u8, 128, 128],
    }
}

/// Blends `fg` over `bg` with coverage `alpha` (0 = all `bg`, 255 = all `fg`), every
/// component (alpha included) as `(fg * alpha + bg * (255 - alpha)) / 255` rounded to
/// nearest.
pub(crate) fn blend(fg: Px, bg: Px, alpha: u8) -> Px {
    let a = u32::from(alpha);
    let mix = |f: u8, b: u8| ((u32::from(f) * a + u32::from(b) * (255 - a) + 127) / 255) as u8;
    [
        mix(fg[0], bg[0]),
        mix(fg[1], bg[1]),
        mix(fg[2], bg[2]),
        mix(fg[3], bg[3]),
    ]
}

/// The named colours of the patterns, in the order of the tables below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Named {
    White,
    // Only used through the tables (as one of the bars).
    #[allow(dead_code)]
    Yellow,
    Cyan,
    Green,
    Magenta,
    Red,
    Blue,
    Black,
    /// The SMPTE -I (in-phase) signal.
    NegI,
    /// The SMPTE +Q (quadrature) signal.
    PosQ,
    /// Below black (Y' = 0), for the PLUGE.
    SuperBlack,
    /// 4% above black, for the PLUGE.
    DarkGrey,
}

/// Number of [`Named`] colours.
const N_NAMED: usize = 12;

// The colour tables. These are the values GStreamer 1.22's videotestsrc writes (read
// back from its output); the YUV ones are the standard limited-range values of 100% and
// 75% colour bars for each matrix, the RGB ones full-range.

/// RGB, 100% bars and the extra colours, in [`Named`] order.
const RGB_100: [[u8; 3]; N_NAMED] = [
    [255, 255, 255],
    [255, 255, 0],
    [0, 255, 255],
    [0, 255, 0],
    [255, 0, 255],
    [255, 0, 0],
    [0, 0, 255],
    [0, 0, 0],
    [0, 0, 128],
    [0, 128, 255],
    [0, 0, 0],
    [19, 19, 19],
];
/// RGB, 75% bars (white to blue).
const RGB_75: [[u8; 3]; 7] = [
    [191, 191, 191],
    [191, 191, 0],
    [0, 191, 191],
    [0, 191, 0],
    [191, 0, 191],
    [191, 0, 0],
    [0, 0, 191],
];
/// BT.601 Y'CbCr, 100% bars and the extra colours, in [`Named`] order.
const YUV601_100: [[u8; 3]; N_NAMED] = [
    [235, 128, 128],
    [210, 16, 146],
    [170, 166, 16],
    [145, 54, 34],
    [106, 202, 222],
    [81, 90, 240],
    [41, 240, 110],
    [16, 128, 128],
    [16, 198, 21],
    [16, 235, 198],
    [0, 128, 128],
    [32, 128, 128],
];
/// BT.601 Y'CbCr, 75% bars.
const YUV601_75: [[u8; 3]; 7] = [
    [180, 128, 128],
    [162, 44, 142],
    [131, 156, 44],
    [112, 72, 58],
    [84, 184, 198],
    [65, 100, 212],
    [35, 212, 114],
];
/// BT.709 Y'CbCr, 100% bars and the extra colours, in [`Named`] order.
const YUV709_100: [[u8; 3]; N_NAMED] = [
    [235, 128, 128],
    [219, 16, 138],
    [188, 154, 16],
    [173, 42, 26],
    [78, 214, 230],
    [63, 102, 240],
    [32, 240, 118],
    [16, 128, 128],
    [16, 198, 21],
    [16, 235, 198],
    [0, 128, 128],
    [32, 128, 128],
];
/// BT.709 Y'CbCr, 75% bars.
const YUV709_75: [[u8; 3]; 7] = [
    [180, 128, 128],
    [168, 44, 136],
    [145, 147, 44],
    [133, 63, 52],
    [63, 193, 204],
    [51, 109, 212],
    [28, 212, 120],
];

/// Every colour a pattern may paint, resolved for one output colour space.
#[derive(Debug, Clone)]
pub(crate) struct Palette {
    named: [Px; N_NAMED],
    bars75: [Px; 7],
    /// The foreground colour (`foreground-color`).
    pub(crate) fg: Px,
    /// The background colour (`background-color`).
    pub(crate) bg: Px,
    /// `gray[v]` is the opaque gray `v, v, v` of noise and snow ([`noise_gray`]).
    pub(crate) gray: [Px; 256],
}

impl Palette {
    pub(crate) fn new(space: Space, foreground: u32, background: u32) -> Palette {
        let opaque = |c: [u8; 3]| [255, c[0], c[1], c[2]];
        let (named, bars75) = match space {
            Space::Rgb => (RGB_100, RGB_75),
            Space::Yuv(ColorMatrix::Bt601, _) => (YUV601_100, YUV601_75),
            Space::Yuv(..) => (YUV709_100, YUV709_75),
        };
        let mut gray = [[0; 4]; 256];
        for (v, px) in gray.iter_mut().enumerate() {
            *px = noise_gray(space, v as u8);
        }
        Palette {
            named: named.map(opaque),
            bars75: bars75.map(opaque),
            fg: argb_to_px(space, foreground),
            bg: argb_to_px(space, background),
            gray,
        }
    }

    /// A named colour.
    pub(crate) fn get(&self, c: Named) -> Px {
        self.named[c as usize]
    }

    /// The seven 100% colour bars, white to blue.
    pub(crate) fn bars100(&self) -> [Px; 7] {
        let mut out = [[0; 4]; 7];
        out.copy_from_slice(&self.named[..7]);
        out
    }

    /// The seven 75% colour bars, white to blue.
    pub(crate) fn bars75(&self) -> [Px; 7] {
        self.bars75
    }
}
