//! Converter tests that need no GStreamer (the parity tests against GStreamer live in
//! penstock-elements). Sizes stay small so that Miri runs them.

use super::matrix::{RgbToYuv, YuvToRgb, integer_matrix};
use super::planes::comp_desc;
use super::*;
use crate::colorimetry::{ColorMatrix, ColorRange, Colorimetry, Space};
use crate::{VideoFormat, VideoInfo};

fn frame(f: VideoFormat, w: u32, h: u32, fill: impl Fn(usize) -> u8) -> (VideoInfo, Vec<u8>) {
    let info = VideoInfo::new(f, w, h).unwrap();
    let data = (0..info.size()).map(fill).collect();
    (info, data)
}

fn convert(src: &(VideoInfo, Vec<u8>), to: VideoFormat) -> (VideoInfo, Vec<u8>) {
    let (info, data) = src;
    let out = VideoInfo::new(to, info.width(), info.height()).unwrap();
    let mut buf = vec![0u8; out.size()];
    let mut c = Converter::new(info, &out).unwrap();
    let sp = planes(data, info).unwrap();
    let mut dp = planes_mut(&mut buf, &out).unwrap();
    c.convert(&sp, &mut dp).unwrap();
    (out, buf)
}

/// The visible samples of component `comp`.
fn samples(frame: &(VideoInfo, Vec<u8>), comp: usize) -> Vec<u8> {
    let (info, data) = frame;
    let f = info.format();
    let (p, off, ps, _, _) = comp_desc(f, comp);
    let mut v = Vec::new();
    for r in 0..info.comp_height(comp) as usize {
        for x in 0..info.comp_width(comp) as usize {
            v.push(data[info.offset(p) + r * info.stride(p) + off + x * ps]);
        }
    }
    v
}

#[test]
fn integer_matrices_are_gstreamers() {
    // As printed by GST_DEBUG=video-converter:5 (GStreamer 1.22).
    let m601 = Space::Yuv(ColorMatrix::Bt601, ColorRange::Limited);
    let m709 = Space::Yuv(ColorMatrix::Bt709, ColorRange::Limited);
    // GStreamer's gray: full-range BT.601.
    let gray = Colorimetry::default_for(VideoFormat::Gray8, 48).space(VideoFormat::Gray8);
    assert_eq!(
        integer_matrix(Space::Rgb, m601),
        [
            [66, 129, 25, 4096],
            [-38, -74, 112, 32768],
            [112, -94, -18, 32768]
        ]
    );
    assert_eq!(
        integer_matrix(Space::Rgb, m709),
        [
            [47, 157, 16, 4096],
            [-26, -87, 112, 32768],
            [112, -102, -10, 32768]
        ]
    );
    assert_eq!(
        integer_matrix(Space::Rgb, gray),
        [
            [77, 150, 29, 0],
            [-43, -85, 128, 32768],
            [128, -107, -21, 32768]
        ]
    );
    assert_eq!(
        integer_matrix(m601, Space::Rgb),
        [
            [298, 0, 409, -57068],
            [298, -100, -208, 34707],
            [298, 516, 0, -70870]
        ]
    );
    assert_eq!(
        integer_matrix(m709, Space::Rgb),
        [
            [298, 0, 459, -63514],
            [298, -55, -136, 19681],
            [298, 541, 0, -73988]
        ]
    );
    assert_eq!(
        integer_matrix(gray, Space::Rgb),
        [
            [256, 0, 359, -45941],
            [256, -88, -183, 34677],
            [256, 454, 0, -58065]
        ]
    );
}

#[test]
fn yuv_to_rgb_matches_gstreamer_samples() {
    // (Y, U, V) → (R, G, B) pairs read from GStreamer 1.22's Y444 → RGBx output.
    let k = YuvToRgb::new(Space::Yuv(ColorMatrix::Bt601, ColorRange::Limited));
    for (yuv, rgb) in [
        ([235, 128, 128], [253, 253, 253]),
        ([210, 16, 146], [251, 251, 0]),
        ([170, 166, 16], [0, 252, 253]),
        ([81, 90, 240], [253, 0, 0]),
        ([16, 198, 21], [0, 56, 139]),
        ([16, 235, 198], [110, 0, 214]),
        ([16, 128, 128], [0, 0, 0]),
        ([98, 128, 128], [94, 94, 94]),
        ([19, 128, 128], [1, 1, 1]),
    ] {
        assert_eq!(k.apply(yuv[0], yuv[1], yuv[2]), rgb, "{yuv:?}");
    }
}

#[test]
fn rgb_to_yuv_known_colours() {
    let k = RgbToYuv::new(Space::Yuv(ColorMatrix::Bt601, ColorRange::Limited));
    assert_eq!(k.apply(255, 255, 255), [235, 128, 128]);
    assert_eq!(k.apply(0, 0, 0), [16, 128, 128]);
    assert_eq!(k.apply(255, 0, 0), [81, 90, 239]);
    let g = RgbToYuv::new(Space::Yuv(ColorMatrix::Bt601, ColorRange::Full));
    assert_eq!(g.apply(255, 255, 255)[0], 255);
}

/// What the converter makes of `format` frames `height` rows high with caps field
/// `colorimetry`.
fn side(f: VideoFormat, h: u32, colorimetry: Option<&str>) -> Result<Side, String> {
    let c = Colorimetry::from_caps_fields(f, h, colorimetry, None).map_err(|e| e.to_string())?;
    let info = VideoInfo::new(f, 8, h).unwrap().with_colorimetry(c);
    Side::of("input", &info).map_err(|e| e.to_string())
}

#[test]
fn defaults_follow_gstreamer() {
    use VideoFormat::*;
    let yuv = |m| Space::Yuv(m, ColorRange::Limited);
    let space = |f, h| side(f, h, None).unwrap().space;
    assert_eq!(space(I420, 576), yuv(ColorMatrix::Bt601));
    assert_eq!(space(I420, 577), yuv(ColorMatrix::Bt709));
    assert_eq!(space(Nv12, 2160), yuv(ColorMatrix::Bt2020));
    assert_eq!(
        space(Gray8, 1080),
        Space::Yuv(ColorMatrix::Bt601, ColorRange::Full)
    );
    assert_eq!(space(Rgbx, 48), Space::Rgb);
    assert_eq!(side(I420, 480, None).unwrap().site, ChromaSite::NONE);
    assert_eq!(side(I420, 1080, None).unwrap().site, ChromaSite::H_COSITED);
    // The siting stays the size's default whatever the caps say.
    assert_eq!(
        side(I420, 1080, Some("bt709")).unwrap().site,
        ChromaSite::H_COSITED
    );
}

#[test]
fn white_rgb_becomes_limited_range_white() {
    let src = frame(VideoFormat::Rgbx, 3, 3, |_| 255);
    for to in [VideoFormat::I420, VideoFormat::Nv12, VideoFormat::Yuy2] {
        let out = convert(&src, to);
        assert!(samples(&out, 0).iter().all(|&y| y == 235), "{to}");
        assert!(samples(&out, 1).iter().all(|&u| u == 128), "{to}");
        assert!(samples(&out, 2).iter().all(|&v| v == 128), "{to}");
    }
    let gray = convert(&src, VideoFormat::Gray8);
    assert!(samples(&gray, 0).iter().all(|&y| y == 255));
}

#[test]
fn repacks_round_trip_exactly() {
    use VideoFormat::*;
    let src = frame(I420, 5, 3, |i| (i * 37 % 251) as u8);
    for via in [Yv12, Nv12, Nv21] {
        let back = convert(&convert(&src, via), I420);
        for c in 0..3 {
            assert_eq!(
                samples(&back, c),
                samples(&src, c),
                "I420 via {via}, comp {c}"
            );
        }
    }
    let rgba = frame(Rgba, 3, 2, |i| (i * 13 % 256) as u8);
    for via in [Bgra, Argb, Abgr] {
        let back = convert(&convert(&rgba, via), Rgba);
        assert_eq!(back.1, rgba.1, "RGBA via {via}");
    }
    let yuy2 = frame(Yuy2, 4, 2, |i| (i * 7 % 256) as u8);
    assert_eq!(convert(&convert(&yuy2, Uyvy), Yuy2).1, yuy2.1);
}

#[test]
fn alpha_is_kept_or_set() {
    use VideoFormat::*;
    let rgba = frame(Rgba, 2, 1, |i| if i % 4 == 3 { 7 } else { 100 });
    assert_eq!(convert(&rgba, Argb).1, [7, 100, 100, 100, 7, 100, 100, 100]);
    // GStreamer carries alpha into (and out of) the unused byte of RGBx-style formats.
    assert_eq!(convert(&rgba, Xrgb).1, [7, 100, 100, 100, 7, 100, 100, 100]);
    let rgbx = frame(Rgbx, 1, 1, |i| [1, 2, 3, 9][i]);
    assert_eq!(convert(&rgbx, Abgr).1, [9, 3, 2, 1]);
    let i420 = frame(I420, 2, 2, |_| 128);
    assert!(convert(&i420, Bgrx).1.chunks(4).all(|p| p[3] == 255));
    assert!(
        convert(&convert(&i420, Nv12), Xbgr)
            .1
            .chunks(4)
            .all(|p| p[0] == 255)
    );
    let rgb = frame(Rgb, 1, 1, |i| [1, 2, 3, 0][i]);
    assert_eq!(convert(&rgb, Bgra).1, [3, 2, 1, 255]);
}

#[test]
fn rgb_round_trip_through_yuv_is_close() {
    use VideoFormat::*;
    // A flat colour survives RGB → YUV → RGB within the 8-bit limited range's error.
    let src = frame(Rgbx, 4, 4, |i| [200, 60, 120, 255][i % 4]);
    for via in [I420, Nv12, Yuy2, Uyvy, Yv12, Nv21] {
        let back = convert(&convert(&src, via), Rgbx);
        for (a, b) in back.1.iter().zip(&src.1) {
            assert!(a.abs_diff(*b) <= 4, "via {via}: {a} vs {b}");
        }
    }
}

#[test]
fn every_pair_at_odd_sizes_does_not_panic() {
    let sizes: &[(u32, u32)] = if cfg!(miri) {
        &[(3, 3)]
    } else {
        &[(1, 1), (3, 3), (5, 2), (2, 5), (7, 1)]
    };
    for &(w, h) in sizes {
        for fi in VideoFormat::ALL {
            let src = frame(fi, w, h, |i| (i * 29 % 256) as u8);
            for fo in VideoFormat::ALL {
                let _ = convert(&src, fo);
            }
        }
    }
}

#[test]
fn bad_frames_are_errors() {
    use VideoFormat::*;
    let i = VideoInfo::new(I420, 4, 4).unwrap();
    let o = VideoInfo::new(Rgbx, 4, 4).unwrap();
    let mut c = Converter::new(&i, &o).unwrap();
    let data = vec![0u8; i.size()];
    let mut out = vec![0u8; o.size()];
    let sp = planes(&data, &i).unwrap();
    let mut dp = planes_mut(&mut out, &o).unwrap();
    assert!(matches!(
        c.convert(&sp[..2], &mut dp),
        Err(ConvertError::PlaneCount {
            expected: 3,
            got: 2,
            ..
        })
    ));
    let short = [
        Plane {
            data: &data[..10],
            stride: 4,
        },
        sp[1],
        sp[2],
    ];
    assert!(matches!(
        c.convert(&short, &mut dp),
        Err(ConvertError::PlaneTooSmall { plane: 0, .. })
    ));
    let narrow = [
        Plane {
            data: &data,
            stride: 2,
        },
        sp[1],
        sp[2],
    ];
    assert!(matches!(
        c.convert(&narrow, &mut dp),
        Err(ConvertError::StrideTooSmall { plane: 0, .. })
    ));
    let small = VideoInfo::new(Rgbx, 2, 4).unwrap();
    assert!(matches!(
        Converter::new(&i, &small),
        Err(ConvertError::SizeMismatch { .. })
    ));
}

#[test]
fn colorimetry_fields_are_read_like_gstreamer() {
    use VideoFormat::*;
    let yuv = |m| Ok(Space::Yuv(m, ColorRange::Limited));
    let space = |f, h, v| side(f, h, v).map(|c| c.space);
    // Absent: the default for the size.
    assert_eq!(space(I420, 48, None), yuv(ColorMatrix::Bt601));
    assert_eq!(space(I420, 720, None), yuv(ColorMatrix::Bt709));
    // Names, at a size whose default differs.
    assert_eq!(space(I420, 48, Some("bt709")), yuv(ColorMatrix::Bt709));
    assert_eq!(space(Nv12, 720, Some("bt601")), yuv(ColorMatrix::Bt601));
    assert_eq!(space(Yuy2, 48, Some("bt2100-pq")), yuv(ColorMatrix::Bt2020));
    assert_eq!(
        space(I420, 48, Some("smpte240m")),
        yuv(ColorMatrix::Smpte240m)
    );
    assert_eq!(space(Rgba, 48, Some("sRGB")), Ok(Space::Rgb));
    // Numbers: range:matrix:transfer:primaries, unknown parts defaulted.
    assert_eq!(
        space(I420, 48, Some("1:4:0:0")),
        Ok(Space::Yuv(ColorMatrix::Bt601, ColorRange::Full))
    );
    assert_eq!(space(I420, 48, Some("2:2:0:0")), yuv(ColorMatrix::Fcc));
    assert_eq!(space(I420, 720, Some("0:0:0:0")), yuv(ColorMatrix::Bt709));
    assert_eq!(
        space(Gray8, 48, Some("bt709")),
        Ok(Space::Yuv(ColorMatrix::Bt601, ColorRange::Full))
    );
    // Refused, with the value and the reason: by the caps reader, or (limited-range
    // RGB, which caps may say) by the converter.
    for (f, v, shown) in [
        (I420, "bogus", "bogus"),
        (I420, "1:4:0", "1:4:0"),
        (I420, "1:x:0:0", "1:x:0:0"),
        (I420, "1:1:0:0", "1:1:0:0"),
        (I420, "3:4:0:0", "3:4:0:0"),
        (I420, "1:9:0:0", "1:9:0:0"),
        (Rgba, "2:1:0:0", "2:1:0:0"),
    ] {
        let e = side(f, 48, Some(v)).unwrap_err();
        assert!(e.contains(shown) && e.contains(f.name()), "{e}");
    }
    let limited = VideoInfo::new(Rgba, 8, 8)
        .unwrap()
        .with_colorimetry(Colorimetry::from_caps_fields(Rgba, 8, Some("2:1:0:0"), None).unwrap());
    let i420 = VideoInfo::new(I420, 8, 8).unwrap();
    assert!(matches!(
        Converter::new(&limited, &i420),
        Err(ConvertError::Colorimetry { what: "input", .. })
    ));
}
