//! Tests for the test-pattern renderer.
//!
//! Parity with GStreamer needs no GStreamer here: `data/gst122_hashes.txt` holds FNV-1a 64
//! hashes of GStreamer 1.22's `videotestsrc` output (measured with `gst-launch-1.0` on
//! Debian 12, GStreamer 1.22.0) for every supported pattern and every format at several
//! sizes, and a few small frames are stored below in full. The live comparison across many
//! more sizes is a script kept outside the repository.

use super::color::{
    ColorMatrix, Palette, Space, argb_to_px, blend, coefficients, derive_coefficients, noise_gray,
    rgb_to_yuv,
};
use super::patterns::Lcg;
use super::{Mode, Pattern, RenderOptions, Renderer, TestSrcError};
use crate::{ChromaSite, ColorRange, Colorimetry, VideoError, VideoFormat, VideoInfo};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// FNV-1a, 64 bits.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The visible bytes of a frame: per plane, per visible row, the row without padding.
fn visible(info: &VideoInfo, frame: &[u8], offsets: &[usize], strides: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in 0..info.n_planes() {
        for row in 0..info.plane_height(p) as usize {
            let s = offsets[p] + row * strides[p];
            out.extend_from_slice(&frame[s..s + info.plane_row_bytes(p)]);
        }
    }
    out
}

fn options(fg: u32, bg: u32, hs: i32) -> RenderOptions {
    RenderOptions {
        foreground_color: fg,
        background_color: bg,
        horizontal_speed: hs,
    }
}

/// Renders frames `0..n` into zeroed default-layout buffers and returns their visible
/// bytes, concatenated.
fn render_visible(pattern: Pattern, info: &VideoInfo, opts: RenderOptions, n: u64) -> Vec<u8> {
    let mut r = Renderer::new(pattern, info, opts).unwrap();
    let mut out = Vec::new();
    for i in 0..n {
        let mut frame = vec![0u8; info.size()];
        r.render(i, &mut frame, &info.offsets(), &info.strides())
            .unwrap();
        out.extend(visible(info, &frame, &info.offsets(), &info.strides()));
    }
    out
}

fn supported() -> impl Iterator<Item = Pattern> {
    Pattern::ALL.into_iter().filter(|p| p.is_supported())
}

/// Patterns checked under Miri: one for each way frames are produced (filled, copied,
/// noise, two frames, ball).
const MIRI_PATTERNS: [Pattern; 5] = [
    Pattern::Black,
    Pattern::Checkers2,
    Pattern::Smpte,
    Pattern::Blink,
    Pattern::Ball,
];

/// [`supported`], or [`MIRI_PATTERNS`] under Miri.
fn patterns() -> Vec<Pattern> {
    miri_or(MIRI_PATTERNS.to_vec(), supported().collect())
}

/// Under Miri (thousands of times slower) the tests check a sample: the code paths, not
/// every combination.
fn miri_or<T>(under_miri: T, normally: T) -> T {
    if cfg!(miri) { under_miri } else { normally }
}

/// Formats checked under Miri: one of each kind of layout.
const MIRI_FORMATS: [VideoFormat; 6] = [
    VideoFormat::I420,
    VideoFormat::Nv21,
    VideoFormat::Yuy2,
    VideoFormat::Uyvy,
    VideoFormat::Xrgb,
    VideoFormat::Rgb,
];

fn formats() -> Vec<VideoFormat> {
    miri_or(MIRI_FORMATS.to_vec(), VideoFormat::ALL.to_vec())
}

// ---------------------------------------------------------------------------------------
// Patterns
// ---------------------------------------------------------------------------------------

#[test]
fn nicks_and_values_match_gstreamer() {
    let expected = [
        "smpte",
        "snow",
        "black",
        "white",
        "red",
        "green",
        "blue",
        "checkers-1",
        "checkers-2",
        "checkers-4",
        "checkers-8",
        "circular",
        "blink",
        "smpte75",
        "zone-plate",
        "gamut",
        "chroma-zone-plate",
        "solid-color",
        "ball",
        "smpte100",
        "bar",
        "pinwheel",
        "spokes",
        "gradient",
        "colors",
    ];
    for (i, (p, nick)) in Pattern::ALL.iter().zip(expected).enumerate() {
        assert_eq!(p.value(), i as i32);
        assert_eq!(p.nick(), nick);
        assert_eq!(p.to_string(), nick);
        assert_eq!(Pattern::from_nick_or_value(nick), Some(*p));
        assert_eq!(Pattern::from_nick_or_value(&i.to_string()), Some(*p));
    }
    for bad in [
        "",
        "SMPTE",
        "checkers",
        "-1",
        "25",
        "smpte-rp-219",
        "1.0",
        "ball ",
    ] {
        assert_eq!(Pattern::from_nick_or_value(bad), None, "{bad:?}");
    }
}

#[test]
fn unsupported_patterns_are_refused_by_name() {
    let info = VideoInfo::new(VideoFormat::I420, 8, 8).unwrap();
    for p in Pattern::ALL {
        let r = Renderer::new(p, &info, RenderOptions::default());
        if p.is_supported() {
            assert!(r.is_ok(), "{p}");
        } else {
            let err = r.unwrap_err();
            assert_eq!(err, TestSrcError::UnsupportedPattern { pattern: p });
            let msg = err.to_string();
            assert!(msg.contains(p.nick()), "{msg}");
            assert!(msg.contains("smpte"), "lists the supported ones: {msg}");
        }
    }
    let required = [
        "smpte",
        "smpte75",
        "smpte100",
        "black",
        "white",
        "red",
        "green",
        "blue",
        "checkers-1",
        "checkers-2",
        "checkers-4",
        "checkers-8",
        "solid-color",
        "bar",
        "snow",
        "ball",
        "blink",
    ];
    for nick in required {
        assert!(Pattern::from_nick_or_value(nick).unwrap().is_supported());
    }
}

#[test]
fn default_options_are_gstreamers() {
    let o = RenderOptions::default();
    assert_eq!(o.foreground_color, 0xffff_ffff);
    assert_eq!(o.background_color, 0xff00_0000);
    assert_eq!(o.horizontal_speed, 0);
}

// ---------------------------------------------------------------------------------------
// Colours
// ---------------------------------------------------------------------------------------

#[test]
fn coefficients_follow_from_the_standards() {
    assert_eq!(
        derive_coefficients(0.299, 0.114),
        coefficients(ColorMatrix::Bt601)
    );
    assert_eq!(
        derive_coefficients(0.2126, 0.0722),
        coefficients(ColorMatrix::Bt709)
    );
    for m in [ColorMatrix::Bt601, ColorMatrix::Bt709] {
        let c = coefficients(m);
        // Grays have exactly neutral chroma.
        assert_eq!(c[1].iter().sum::<i32>(), 0);
        assert_eq!(c[2].iter().sum::<i32>(), 0);
    }
}

#[test]
fn foreground_conversion_matches_gstreamer() {
    // (ARGB, AYUV with BT.601, AYUV with BT.709), read back from GStreamer 1.22's
    // solid-color pattern in AYUV.
    let samples: [(u32, u32, u32); 9] = [
        (0xff33_6699, 0xff5f_9e66, 0xff61_9c68),
        (0xce88_5192, 0xce6a_9494, 0xce64_9796),
        (0x1091_80ad, 0x1087_9184, 0x1084_9286),
        (0xc551_f019, 0xc5a0_3949, 0xc5b4_3243),
        (0x90a7_57f6, 0x907f_ba98, 0x9073_be9d),
        (0xc7de_f3e1, 0xc7d9_7b78, 0xc7dc_7a77),
        (0x0aab_d44c, 0x0aae_4a78, 0x0ab6_4873),
        (0xadb6_bcd6, 0xadb2_8c7c, 0xadb2_8c7c),
        (0xf151_a24d, 0xf17e_6762, 0xf187_6360),
    ];
    for (argb, y601, y709) in samples {
        let px = |m| u32::from_be_bytes(argb_to_px(Space::Yuv(m, ColorRange::Limited), argb));
        assert_eq!(px(ColorMatrix::Bt601), y601, "{argb:08x}");
        assert_eq!(px(ColorMatrix::Bt709), y709, "{argb:08x}");
        assert_eq!(u32::from_be_bytes(argb_to_px(Space::Rgb, argb)), argb);
    }
    assert_eq!(
        rgb_to_yuv(ColorMatrix::Bt601, 255, 255, 255),
        [235, 128, 128]
    );
    assert_eq!(rgb_to_yuv(ColorMatrix::Bt709, 0, 0, 0), [16, 128, 128]);
}

#[test]
fn noise_grays_are_not_matrix_grays() {
    let yuv = Space::Yuv(ColorMatrix::Bt601, ColorRange::Limited);
    assert_eq!(noise_gray(yuv, 0), [255, 16, 128, 128]);
    assert_eq!(noise_gray(yuv, 255), [255, 235, 128, 128]);
    // 216 is one of the 14 grays where the two conversions differ (GStreamer's snow and
    // foreground colour disagree there).
    assert_eq!(noise_gray(yuv, 216)[1], 202);
    assert_eq!(argb_to_px(yuv, 0xffd8_d8d8)[1], 201);
    assert_eq!(noise_gray(Space::Rgb, 77), [255, 77, 77, 77]);
    let p = Palette::new(Space::Yuv(ColorMatrix::Bt709, ColorRange::Limited), 0, 0);
    assert_eq!(p.gray[220], [255, 205, 128, 128]);
}

#[test]
fn blend_rounds_to_nearest() {
    let fg = [255, 235, 128, 0];
    let bg = [0, 16, 128, 255];
    assert_eq!(blend(fg, bg, 0), bg);
    assert_eq!(blend(fg, bg, 255), fg);
    assert_eq!(blend(fg, bg, 128), [128, 126, 128, 127]);
}

// ---------------------------------------------------------------------------------------
// Noise generator
// ---------------------------------------------------------------------------------------

#[test]
fn noise_sequence_is_gstreamers() {
    // The first grays of GStreamer's snow in RGB.
    let mut rng = Lcg(0);
    let first: Vec<u8> = (0..8).map(|_| rng.next_byte()).collect();
    assert_eq!(first, [0x00, 0xdc, 0x04, 0x65, 0xaa, 0x1f, 0xad, 0x1d]);
}

#[test]
fn skip_equals_stepping() {
    let mut rng = Lcg(12345);
    for steps in 0..300u64 {
        assert_eq!(Lcg(12345).skip(steps), rng, "{steps}");
        rng.next_byte();
    }
    // Full period.
    assert_eq!(Lcg(7).skip(1 << 32), Lcg(7));
    assert_eq!(Lcg(7).skip((1 << 32) + 5), Lcg(7).skip(5));
}

#[test]
fn fill_equals_drawing_one_by_one() {
    for len in 0..40 {
        let mut one = Lcg(0xdead_beef);
        let expected: Vec<u8> = (0..len).map(|_| one.next_byte()).collect();
        let mut many = Lcg(0xdead_beef);
        let mut got = vec![0; len];
        many.fill(&mut got);
        assert_eq!(got, expected, "{len}");
        assert_eq!(many, one, "{len}");
    }
}

// ---------------------------------------------------------------------------------------
// Parity with GStreamer 1.22
// ---------------------------------------------------------------------------------------

/// Hashes of GStreamer 1.22.0's `videotestsrc` output (see the file's header for how
/// they were measured and what is hashed).
const GST122_HASHES: &str = include_str!("data/gst122_hashes.txt");

#[test]
fn matches_gstreamer_hashes() {
    let mut header_formats = None;
    let mut checked = 0;
    let mut failures = Vec::new();
    // Under Miri, parsing the whole table alone takes a minute: check the first lines
    // (smpte at 1x1, 2x2 and 3x3) in a few formats.
    let lines = miri_or(12, usize::MAX);
    for line in GST122_HASHES.lines().take(lines) {
        if let Some(rest) = line.strip_prefix("# ") {
            if rest.starts_with("I420 ") {
                header_formats = Some(
                    rest.split_whitespace()
                        .map(|n| VideoFormat::from_name(n).unwrap())
                        .collect::<Vec<_>>(),
                );
            }
            continue;
        }
        let formats = header_formats.as_ref().expect("format header first");
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(f.len(), 6 + formats.len(), "{line}");
        let pattern = Pattern::from_nick_or_value(f[0]).unwrap();
        let n: u64 = f[1].parse().unwrap();
        let fg = u32::from_str_radix(f[2], 16).unwrap();
        let bg = u32::from_str_radix(f[3], 16).unwrap();
        let hs: i32 = f[4].parse().unwrap();
        let (w, h) = f[5].split_once('x').unwrap();
        let (w, h): (u32, u32) = (w.parse().unwrap(), h.parse().unwrap());
        for (format, hash) in formats.iter().zip(&f[6..]) {
            if cfg!(miri) && !MIRI_FORMATS.contains(format) {
                continue;
            }
            let expected = u64::from_str_radix(hash, 16).unwrap();
            let info = VideoInfo::new(*format, w, h).unwrap();
            let got = fnv1a64(&render_visible(pattern, &info, options(fg, bg, hs), n));
            checked += 1;
            if got != expected {
                failures.push(format!(
                    "{pattern} {format} {w}x{h} n={n} fg={fg:08x} bg={bg:08x} hs={hs}"
                ));
            }
        }
    }
    assert!(checked >= miri_or(18, 3000), "{checked}");
    assert!(
        failures.is_empty(),
        "{} of {checked} differ from GStreamer:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A frame stored in full: its visible bytes (as [`visible`] lists them), all frames from
/// 0 on.
struct Inline {
    pattern: &'static str,
    format: &'static str,
    width: u32,
    height: u32,
    fg: u32,
    bg: u32,
    bytes: &'static [u8],
}

// Visible bytes of GStreamer 1.22.0's output, as `gst-launch-1.0 ... ! filesink` wrote it.
/// smpte, I420 8x6, frames 0 and 1: bars, reversed bars, -I/white/+Q, PLUGE and noise; BT.601, centred 4:2:0 chroma.
const SMPTE_I420_8X6: Inline = Inline {
    pattern: "smpte",
    format: "I420",
    width: 8,
    height: 6,
    fg: 0xffffffff,
    bg: 0xff000000,
    bytes: &[
        0xeb, 0xd2, 0xaa, 0x91, 0x6a, 0x51, 0x29, 0x29, 0xeb, 0xd2, 0xaa, 0x91, 0x6a, 0x51, 0x29,
        0x29, 0xeb, 0xd2, 0xaa, 0x91, 0x6a, 0x51, 0x29, 0x29, 0xeb, 0xd2, 0xaa, 0x91, 0x6a, 0x51,
        0x29, 0x29, 0x10, 0xeb, 0x10, 0x10, 0x10, 0x20, 0x10, 0xcd, 0x10, 0xeb, 0x10, 0x10, 0x10,
        0x20, 0x13, 0x67, 0x48, 0x6e, 0x92, 0xf0, 0x48, 0x6e, 0x92, 0xf0, 0xa3, 0xeb, 0x80, 0x80,
        0x89, 0x19, 0xe7, 0x6e, 0x89, 0x19, 0xe7, 0x6e, 0x4b, 0xc6, 0x80, 0x80, 0xeb, 0xd2, 0xaa,
        0x91, 0x6a, 0x51, 0x29, 0x29, 0xeb, 0xd2, 0xaa, 0x91, 0x6a, 0x51, 0x29, 0x29, 0xeb, 0xd2,
        0xaa, 0x91, 0x6a, 0x51, 0x29, 0x29, 0xeb, 0xd2, 0xaa, 0x91, 0x6a, 0x51, 0x29, 0x29, 0x10,
        0xeb, 0x10, 0x10, 0x10, 0x20, 0xa2, 0x2b, 0x10, 0xeb, 0x10, 0x10, 0x10, 0x20, 0xa5, 0x29,
        0x48, 0x6e, 0x92, 0xf0, 0x48, 0x6e, 0x92, 0xf0, 0xa3, 0xeb, 0x80, 0x80, 0x89, 0x19, 0xe7,
        0x6e, 0x89, 0x19, 0xe7, 0x6e, 0x4b, 0xc6, 0x80, 0x80,
    ],
};
/// smpte100, RGB 7x2.
const SMPTE100_RGB_7X2: Inline = Inline {
    pattern: "smpte100",
    format: "RGB",
    width: 7,
    height: 2,
    fg: 0xffffffff,
    bg: 0xff000000,
    bytes: &[
        0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0xff, 0xff, 0x00, 0xff, 0x00, 0xff, 0x00, 0xff,
        0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0xff, 0xff,
        0x00, 0xff, 0x00, 0xff, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff,
    ],
};
/// checkers-1, YUY2 5x3: static, so the last V of each row is not written (0 here).
const CHECKERS1_YUY2_5X3: Inline = Inline {
    pattern: "checkers-1",
    format: "YUY2",
    width: 5,
    height: 3,
    fg: 0xffffffff,
    bg: 0xff000000,
    bytes: &[
        0x51, 0x48, 0x91, 0x89, 0x51, 0x48, 0x91, 0x89, 0x51, 0x5a, 0x00, 0x00, 0x91, 0x48, 0x51,
        0x89, 0x91, 0x48, 0x51, 0x89, 0x91, 0x36, 0x00, 0x00, 0x51, 0x48, 0x91, 0x89, 0x51, 0x48,
        0x91, 0x89, 0x51, 0x5a, 0x00, 0x00,
    ],
};
/// bar with foreground 0x80336699, xRGB 9x2: the alpha goes into the x byte.
const BAR_XRGB_9X2: Inline = Inline {
    pattern: "bar",
    format: "xRGB",
    width: 9,
    height: 2,
    fg: 0x80336699,
    bg: 0xff000000,
    bytes: &[
        0x80, 0x33, 0x66, 0x99, 0xff, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00,
        0x00, 0xff, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0xff, 0x00,
        0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x80, 0x33, 0x66, 0x99, 0xff, 0x00, 0x00, 0x00, 0xff,
        0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00,
        0xff, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00,
    ],
};
/// ball, GRAY8 7x5, frames 0 to 3: a small frame inside the ball's anti-aliased edge.
const BALL_GRAY8_7X5: Inline = Inline {
    pattern: "ball",
    format: "GRAY8",
    width: 7,
    height: 5,
    fg: 0xffffffff,
    bg: 0xff000000,
    bytes: &[
        0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb,
        0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb,
        0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb,
        0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb,
        0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb,
        0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb,
        0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb,
        0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb,
        0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb, 0xeb,
        0xeb, 0xeb, 0xeb, 0xeb, 0xeb,
    ],
};
/// snow, UYVY 3x2, frames 0 and 1 (drawn afresh: the last V is written).
const SNOW_UYVY_3X2: Inline = Inline {
    pattern: "snow",
    format: "UYVY",
    width: 3,
    height: 2,
    fg: 0xffffffff,
    bg: 0xff000000,
    bytes: &[
        0x80, 0x10, 0x80, 0xcd, 0x80, 0x13, 0x80, 0x00, 0x80, 0x67, 0x80, 0xa2, 0x80, 0x2b, 0x80,
        0x00, 0x80, 0xa5, 0x80, 0x29, 0x80, 0x5d, 0x80, 0x00, 0x80, 0xcb, 0x80, 0xd5, 0x80, 0xa4,
        0x80, 0x00,
    ],
};
/// solid-color 0xff336699, NV21 3x3.
const SOLID_NV21_3X3: Inline = Inline {
    pattern: "solid-color",
    format: "NV21",
    width: 3,
    height: 3,
    fg: 0xff336699,
    bg: 0xff000000,
    bytes: &[
        0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x66, 0x9e, 0x66, 0x9e, 0x66, 0x9e,
        0x66, 0x9e,
    ],
};

#[test]
fn matches_gstreamer_inline_frames() {
    for f in [
        SMPTE_I420_8X6,
        SMPTE100_RGB_7X2,
        CHECKERS1_YUY2_5X3,
        BAR_XRGB_9X2,
        BALL_GRAY8_7X5,
        SNOW_UYVY_3X2,
        SOLID_NV21_3X3,
    ] {
        let format = VideoFormat::from_name(f.format).unwrap();
        let info = VideoInfo::new(format, f.width, f.height).unwrap();
        let pattern = Pattern::from_nick_or_value(f.pattern).unwrap();
        let one = visible(
            &info,
            &vec![0; info.size()],
            &info.offsets(),
            &info.strides(),
        )
        .len();
        assert_eq!(f.bytes.len() % one, 0);
        let n = (f.bytes.len() / one) as u64;
        let got = render_visible(pattern, &info, options(f.fg, f.bg, 0), n);
        assert_eq!(got, f.bytes, "{} {}", f.pattern, f.format);
    }
}

#[test]
#[cfg_attr(miri, ignore = "frames of 577 rows and more; no unsafe code involved")]
fn tall_yuv_frames_use_bt709_and_cosited_chroma() {
    let top_row = |h: u32, matrix: Option<ColorMatrix>| {
        let mut info = VideoInfo::new(VideoFormat::I420, 14, h).unwrap();
        if let Some(matrix) = matrix {
            let c = info.colorimetry();
            info = info.with_colorimetry(Colorimetry { matrix, ..c });
        }
        render_visible(Pattern::Smpte100, &info, RenderOptions::default(), 1)[..14].to_vec()
    };
    let bt601 = [
        235, 235, 210, 210, 170, 170, 145, 145, 106, 106, 81, 81, 41, 41,
    ];
    let bt709 = [
        235, 235, 219, 219, 188, 188, 173, 173, 78, 78, 63, 63, 32, 32,
    ];
    assert_eq!(top_row(576, None), bt601);
    assert_eq!(top_row(577, None), bt709);
    assert_eq!(top_row(577, Some(ColorMatrix::Bt601)), bt601);
    assert_eq!(top_row(2, Some(ColorMatrix::Bt709)), bt709);
    // Gray is BT.601 whatever the height.
    let gray = VideoInfo::new(VideoFormat::Gray8, 14, 600).unwrap();
    assert_eq!(
        render_visible(Pattern::Smpte100, &gray, RenderOptions::default(), 1)[..14],
        bt601
    );

    // checkers-1 in YUY2: U of red 90 and green 54 alternate. Centred chroma averages
    // pairs; cosited chroma filters [1 2 1] around the even pixel.
    let u_samples = |site: Option<ChromaSite>, h: u32| {
        let info = VideoInfo::new(VideoFormat::Yuy2, 6, h).unwrap();
        let c = info.colorimetry();
        let info = info.with_colorimetry(Colorimetry {
            matrix: ColorMatrix::Bt601,
            chroma_site: site.unwrap_or(c.chroma_site),
            ..c
        });
        let v = render_visible(Pattern::Checkers1, &info, RenderOptions::default(), 1);
        [v[1], v[5], v[9]]
    };
    assert_eq!(u_samples(None, 2), [72, 72, 72]);
    assert_eq!(u_samples(Some(ChromaSite::JPEG), 600), [72, 72, 72]);
    assert_eq!(u_samples(Some(ChromaSite::UNKNOWN), 600), [72, 72, 72]);
    assert_eq!(u_samples(Some(ChromaSite::MPEG2), 2), [81, 72, 81]);
    let dv = VideoInfo::new(VideoFormat::Yuy2, 6, 2).unwrap();
    let dv = dv.clone().with_colorimetry(Colorimetry {
        chroma_site: ChromaSite::DV,
        ..dv.colorimetry()
    });
    assert!(matches!(
        Renderer::new(Pattern::Checkers1, &dv, RenderOptions::default()),
        Err(TestSrcError::UnsupportedChromaSite { .. })
    ));
    // (54 + 2 * 90 + 54 + 2) / 4 = 72 inside, (90 + 2 * 90 + 54 + 2) / 4 = 81 at the left
    // edge, and the last even pixel takes itself as right neighbour: (54 + 270 + 2) / 4.
    assert_eq!(u_samples(None, 600), [81, 72, 81]);
}

// ---------------------------------------------------------------------------------------
// Layouts
// ---------------------------------------------------------------------------------------

const PAD: u8 = 0xa5;

/// The bytes of `plane` rows that lie in the visible area (rows x row bytes).
fn in_visible(info: &VideoInfo, offsets: &[usize], strides: &[usize], size: usize) -> Vec<bool> {
    let mut mask = vec![false; size];
    for p in 0..info.n_planes() {
        for row in 0..info.plane_height(p) as usize {
            let s = offsets[p] + row * strides[p];
            mask[s..s + info.plane_row_bytes(p)].fill(true);
        }
    }
    mask
}

#[test]
fn padded_strides_draw_the_same_pixels_and_leave_padding_alone() {
    let sizes: &[(u32, u32)] = miri_or(&[(3, 3)], &[(1, 1), (3, 3), (7, 5), (17, 9), (64, 48)]);
    let frames: &[u64] = miri_or(&[1], &[0, 1, 7]);
    let speeds: &[i32] = miri_or(&[0], &[0, 3]);
    for format in formats() {
        for &(w, h) in sizes {
            let info = VideoInfo::new(format, w, h).unwrap();
            let n_planes = info.n_planes();
            // Planes in reverse order, each stride 37 bytes wider than needed and each
            // plane 100 bytes after the previous one ends.
            let strides: Vec<usize> = (0..n_planes)
                .map(|p| info.plane_row_bytes(p) + 37)
                .collect();
            let mut offsets = vec![0; n_planes];
            let mut end = 11;
            for p in (0..n_planes).rev() {
                offsets[p] = end;
                end += strides[p] * info.plane_height(p) as usize + 100;
            }
            let size = end;
            let mask = in_visible(&info, &offsets, &strides, size);
            for pattern in patterns() {
                for &hs in speeds {
                    let opts = options(0x80c0_ffee, 0xff20_4080, hs);
                    let mut plain = Renderer::new(pattern, &info, opts.clone()).unwrap();
                    let mut padded = Renderer::new(pattern, &info, opts).unwrap();
                    for &n in frames {
                        let mut a = vec![PAD; info.size()];
                        plain
                            .render(n, &mut a, &info.offsets(), &info.strides())
                            .unwrap();
                        let mut b = vec![PAD; size];
                        padded.render(n, &mut b, &offsets, &strides).unwrap();
                        let what = format!("{pattern} {format} {w}x{h} hs={hs} n={n}");
                        assert_eq!(
                            visible(&info, &a, &info.offsets(), &info.strides()),
                            visible(&info, &b, &offsets, &strides),
                            "{what}"
                        );
                        for (i, (&byte, &vis)) in b.iter().zip(&mask).enumerate() {
                            assert!(vis || byte == PAD, "{what}: padding byte {i} written");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn extra_offsets_and_strides_are_ignored() {
    let info = VideoInfo::new(VideoFormat::Nv12, 6, 4).unwrap();
    let mut r = Renderer::new(Pattern::Smpte, &info, RenderOptions::default()).unwrap();
    let mut a = vec![0; info.size()];
    r.render(0, &mut a, &info.offsets(), &info.strides())
        .unwrap();
    let mut b = vec![0; info.size()];
    r.render(0, &mut b, &info.offsets()[..2], &info.strides()[..2])
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn bad_layouts_are_errors() {
    let info = VideoInfo::new(VideoFormat::I420, 8, 4).unwrap();
    let mut r = Renderer::new(Pattern::Black, &info, RenderOptions::default()).unwrap();
    let mut frame = vec![0; info.size()];
    let err = r
        .render(0, &mut frame, &info.offsets()[..2], &info.strides())
        .unwrap_err();
    assert!(
        matches!(
            err,
            TestSrcError::PlaneCount {
                n_planes: 3,
                offsets: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("3 plane(s)"), "{err}");

    let err = r
        .render(
            0,
            &mut frame[..info.size() - 1],
            &info.offsets(),
            &info.strides(),
        )
        .unwrap_err();
    assert!(
        matches!(err, TestSrcError::Layout(VideoError::InvalidLayout { .. })),
        "{err}"
    );

    let err = r
        .render(0, &mut frame, &info.offsets(), &[7, 4, 4])
        .unwrap_err();
    assert!(err.to_string().contains("stride 7"), "{err}");
    // Nothing was written.
    assert!(frame.iter().all(|&b| b == 0));
}

// ---------------------------------------------------------------------------------------
// Frames over time
// ---------------------------------------------------------------------------------------

#[test]
fn static_patterns_are_static() {
    let info = VideoInfo::new(VideoFormat::I420, miri_or(4, 16), miri_or(2, 12)).unwrap();
    for pattern in supported() {
        let r = Renderer::new(pattern, &info, RenderOptions::default()).unwrap();
        let moving = matches!(
            pattern,
            Pattern::Smpte | Pattern::Snow | Pattern::Ball | Pattern::Blink
        );
        assert_eq!(r.is_static(), !moving, "{pattern}");
        let scrolling =
            Renderer::new(pattern, &info, options(0xffff_ffff, 0xff00_0000, 1)).unwrap();
        assert!(!scrolling.is_static(), "{pattern}");
        assert_eq!(r.pattern(), pattern);
        assert_eq!(r.info(), &info);
    }
    let mut r = Renderer::new(Pattern::Checkers8, &info, RenderOptions::default()).unwrap();
    let mut a = vec![0; info.size()];
    let mut b = vec![0; info.size()];
    r.render(0, &mut a, &info.offsets(), &info.strides())
        .unwrap();
    r.render(1_000_000, &mut b, &info.offsets(), &info.strides())
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn solid_patterns_are_filled_not_copied() {
    let info = VideoInfo::new(VideoFormat::Nv12, 1920, 1080).unwrap();
    let small = VideoInfo::new(VideoFormat::Nv12, 4, 2).unwrap();
    let info = miri_or(small, info);
    for p in [Pattern::Black, Pattern::White] {
        let r = Renderer::new(p, &info, RenderOptions::default()).unwrap();
        let Mode::Still(cache) = &r.mode else {
            panic!("{p} is not cached")
        };
        assert!(cache.is_fill(), "{p}");
    }
}

#[test]
fn frames_can_be_drawn_in_any_order() {
    let info = VideoInfo::new(VideoFormat::Yuy2, miri_or(3, 9), miri_or(3, 7)).unwrap();
    for pattern in [Pattern::Smpte, Pattern::Snow, Pattern::Ball, Pattern::Blink] {
        for hs in [0, -2] {
            let opts = options(0xffff_ffff, 0xff00_0000, hs);
            let mut seq = Renderer::new(pattern, &info, opts.clone()).unwrap();
            let frames: Vec<Vec<u8>> = (0..6)
                .map(|n| {
                    let mut f = vec![0; info.size()];
                    seq.render(n, &mut f, &info.offsets(), &info.strides())
                        .unwrap();
                    f
                })
                .collect();
            let mut random = Renderer::new(pattern, &info, opts).unwrap();
            for n in [5, 2, 0, 3, 3, 1, 4] {
                let mut f = vec![0; info.size()];
                random
                    .render(n, &mut f, &info.offsets(), &info.strides())
                    .unwrap();
                assert_eq!(f, frames[n as usize], "{pattern} hs={hs} frame {n}");
            }
        }
    }
}

#[test]
fn cached_frames_equal_frames_drawn_afresh() {
    // Every mode but `Draw` takes shortcuts; drawing every row afresh must give the same
    // bytes (except, for static patterns, the chroma GStreamer's frame copy skips).
    let sizes: &[(u32, u32)] = if cfg!(miri) {
        &[(3, 3)]
    } else {
        &[
            (1, 1),
            (2, 2),
            (5, 3),
            (8, 6),
            (45, 47),
            (64, 48),
            (17, 579),
        ]
    };
    // Blink and the ball keep their shortcuts when scrolling.
    let speeds: &[i32] = miri_or(&[0], &[0, 3]);
    for format in formats() {
        for &(w, h) in sizes {
            let info = VideoInfo::new(format, w, h).unwrap();
            for (pattern, &hs) in patterns()
                .into_iter()
                .flat_map(|p| speeds.iter().map(move |hs| (p, hs)))
            {
                let opts = options(0xc0ff_8040, 0x4000_80ff, hs);
                let mut fast = Renderer::new(pattern, &info, opts.clone()).unwrap();
                let mut slow = Renderer::new(pattern, &info, opts).unwrap();
                slow.mode = Mode::Draw;
                let skipped_chroma = fast.is_static()
                    && matches!(format, VideoFormat::Yuy2 | VideoFormat::Uyvy)
                    && w % 2 == 1;
                for &n in miri_or(&[57][..], &[0, 1, 2, 57]) {
                    let mut a = vec![0; info.size()];
                    fast.render(n, &mut a, &info.offsets(), &info.strides())
                        .unwrap();
                    let mut b = vec![0; info.size()];
                    slow.render(n, &mut b, &info.offsets(), &info.strides())
                        .unwrap();
                    if skipped_chroma {
                        let stride = info.stride(0);
                        for row in 0..h as usize {
                            let end = row * stride + info.plane_row_bytes(0);
                            b[row * stride + 2 * w as usize..end].fill(0);
                        }
                    }
                    assert!(a == b, "{pattern} {format} {w}x{h} hs={hs} frame {n}");
                }
            }
        }
    }
}

#[test]
fn ball_moves_and_snow_changes() {
    let info = VideoInfo::new(VideoFormat::Gray8, miri_or(48, 64), miri_or(2, 48)).unwrap();
    for pattern in [Pattern::Ball, Pattern::Snow, Pattern::Smpte, Pattern::Blink] {
        let mut r = Renderer::new(pattern, &info, RenderOptions::default()).unwrap();
        let mut a = vec![0; info.size()];
        let mut b = vec![0; info.size()];
        r.render(0, &mut a, &info.offsets(), &info.strides())
            .unwrap();
        r.render(1, &mut b, &info.offsets(), &info.strides())
            .unwrap();
        assert_ne!(a, b, "{pattern}");
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "a sweep of thousands of frames; the other tests run the same code under Miri"
)]
fn every_size_renders() {
    let max = 12;
    for format in VideoFormat::ALL {
        for w in 1..=max {
            for h in 1..=max {
                let info = VideoInfo::new(format, w, h).unwrap();
                for pattern in supported() {
                    for hs in [0, 5, -1] {
                        let mut r =
                            Renderer::new(pattern, &info, options(0xff33_6699, 0xff00_0000, hs))
                                .unwrap();
                        let mut f = vec![0; info.size()];
                        r.render(3, &mut f, &info.offsets(), &info.strides())
                            .unwrap();
                    }
                }
            }
        }
    }
}
