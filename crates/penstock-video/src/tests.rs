//! Tests for the video module.

use drm_fourcc::DrmFourcc;
use proptest::prelude::*;

use super::VideoFormat::{self, *};
use super::{MAX_PLANES, VideoAlignment, VideoError, VideoInfo};

// ---------------------------------------------------------------------------------------
// Formats
// ---------------------------------------------------------------------------------------

const NAMES: [(VideoFormat, &str); 17] = [
    (I420, "I420"),
    (Yv12, "YV12"),
    (Nv12, "NV12"),
    (Nv21, "NV21"),
    (Yuy2, "YUY2"),
    (Uyvy, "UYVY"),
    (Rgba, "RGBA"),
    (Bgra, "BGRA"),
    (Argb, "ARGB"),
    (Abgr, "ABGR"),
    (Rgbx, "RGBx"),
    (Bgrx, "BGRx"),
    (Xrgb, "xRGB"),
    (Xbgr, "xBGR"),
    (Rgb, "RGB"),
    (Bgr, "BGR"),
    (Gray8, "GRAY8"),
];

#[test]
fn all_lists_every_format_once() {
    let mut all = VideoFormat::ALL.to_vec();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 17);
    assert_eq!(VideoFormat::ALL.map(|f| f), NAMES.map(|(f, _)| f));
}

#[test]
fn names_round_trip() {
    for (format, name) in NAMES {
        assert_eq!(format.name(), name);
        assert_eq!(format.to_string(), name);
        assert_eq!(VideoFormat::from_name(name), Some(format));
        assert_eq!(name.parse::<VideoFormat>(), Ok(format));
    }
}

#[test]
fn names_are_exact() {
    for bad in [
        "", "rgba", "Rgbx", "RGBX", "XRGB", "i420", "GRAY", "GRAY8 ", " NV12", "NV12\0",
    ] {
        assert_eq!(VideoFormat::from_name(bad), None, "{bad:?}");
    }
}

#[test]
fn unknown_name_error_lists_valid_names() {
    let err = "rgba".parse::<VideoFormat>().unwrap_err();
    assert_eq!(
        err,
        VideoError::UnknownFormat {
            name: "rgba".into()
        }
    );
    let msg = err.to_string();
    assert!(msg.contains("\"rgba\""), "{msg}");
    for (_, name) in NAMES {
        assert!(msg.contains(name), "{msg} lacks {name}");
    }
}

#[test]
fn drm_fourcc_mapping() {
    // GStreamer 1.24's gst_video_dma_drm_fourcc_from_format (DRM names are little-endian).
    let expected = [
        (I420, DrmFourcc::Yuv420),
        (Yv12, DrmFourcc::Yvu420),
        (Nv12, DrmFourcc::Nv12),
        (Nv21, DrmFourcc::Nv21),
        (Yuy2, DrmFourcc::Yuyv),
        (Uyvy, DrmFourcc::Uyvy),
        (Rgba, DrmFourcc::Abgr8888),
        (Bgra, DrmFourcc::Argb8888),
        (Argb, DrmFourcc::Bgra8888),
        (Abgr, DrmFourcc::Rgba8888),
        (Rgbx, DrmFourcc::Xbgr8888),
        (Bgrx, DrmFourcc::Xrgb8888),
        (Xrgb, DrmFourcc::Bgrx8888),
        (Xbgr, DrmFourcc::Rgbx8888),
        (Rgb, DrmFourcc::Bgr888),
        (Bgr, DrmFourcc::Rgb888),
        (Gray8, DrmFourcc::R8),
    ];
    for (format, fourcc) in expected {
        assert_eq!(format.drm_fourcc(), Some(fourcc), "{format}");
        assert_eq!(
            VideoFormat::from_drm_fourcc(fourcc),
            Some(format),
            "{fourcc:?}"
        );
    }
}

#[test]
fn drm_fourcc_round_trip_and_unmapped() {
    for format in VideoFormat::ALL {
        let fourcc = format.drm_fourcc().expect("every format has a fourcc");
        assert_eq!(VideoFormat::from_drm_fourcc(fourcc), Some(format));
    }
    for fourcc in [
        DrmFourcc::Nv16,
        DrmFourcc::Yvyu,
        DrmFourcc::Rgb565,
        DrmFourcc::P010,
    ] {
        assert_eq!(VideoFormat::from_drm_fourcc(fourcc), None, "{fourcc:?}");
    }
}

#[test]
fn format_classes() {
    // (format, planes, components, yuv, rgb, gray, alpha)
    let expected = [
        (I420, 3, 3, true, false, false, false),
        (Yv12, 3, 3, true, false, false, false),
        (Nv12, 2, 3, true, false, false, false),
        (Nv21, 2, 3, true, false, false, false),
        (Yuy2, 1, 3, true, false, false, false),
        (Uyvy, 1, 3, true, false, false, false),
        (Rgba, 1, 4, false, true, false, true),
        (Bgra, 1, 4, false, true, false, true),
        (Argb, 1, 4, false, true, false, true),
        (Abgr, 1, 4, false, true, false, true),
        (Rgbx, 1, 3, false, true, false, false),
        (Bgrx, 1, 3, false, true, false, false),
        (Xrgb, 1, 3, false, true, false, false),
        (Xbgr, 1, 3, false, true, false, false),
        (Rgb, 1, 3, false, true, false, false),
        (Bgr, 1, 3, false, true, false, false),
        (Gray8, 1, 1, false, false, true, false),
    ];
    for (f, planes, comps, yuv, rgb, gray, alpha) in expected {
        assert_eq!(f.n_planes(), planes, "{f}");
        assert_eq!(f.n_components(), comps, "{f}");
        assert_eq!(f.is_yuv(), yuv, "{f}");
        assert_eq!(f.is_rgb(), rgb, "{f}");
        assert_eq!(f.is_gray(), gray, "{f}");
        assert_eq!(f.has_alpha(), alpha, "{f}");
        assert!(f.n_planes() <= MAX_PLANES);
    }
}

#[test]
fn component_layouts() {
    // (format, component, plane, offset, pixel stride, subsampling)
    let expected = [
        (I420, 0, 0, 0, 1, (0, 0)),
        (I420, 1, 1, 0, 1, (1, 1)),
        (I420, 2, 2, 0, 1, (1, 1)),
        (Yv12, 0, 0, 0, 1, (0, 0)),
        (Yv12, 1, 2, 0, 1, (1, 1)),
        (Yv12, 2, 1, 0, 1, (1, 1)),
        (Nv12, 0, 0, 0, 1, (0, 0)),
        (Nv12, 1, 1, 0, 2, (1, 1)),
        (Nv12, 2, 1, 1, 2, (1, 1)),
        (Nv21, 1, 1, 1, 2, (1, 1)),
        (Nv21, 2, 1, 0, 2, (1, 1)),
        (Yuy2, 0, 0, 0, 2, (0, 0)),
        (Yuy2, 1, 0, 1, 4, (1, 0)),
        (Yuy2, 2, 0, 3, 4, (1, 0)),
        (Uyvy, 0, 0, 1, 2, (0, 0)),
        (Uyvy, 1, 0, 0, 4, (1, 0)),
        (Uyvy, 2, 0, 2, 4, (1, 0)),
        (Rgba, 0, 0, 0, 4, (0, 0)),
        (Rgba, 3, 0, 3, 4, (0, 0)),
        (Bgra, 0, 0, 2, 4, (0, 0)),
        (Bgra, 2, 0, 0, 4, (0, 0)),
        (Argb, 0, 0, 1, 4, (0, 0)),
        (Argb, 3, 0, 0, 4, (0, 0)),
        (Abgr, 0, 0, 3, 4, (0, 0)),
        (Abgr, 1, 0, 2, 4, (0, 0)),
        (Abgr, 2, 0, 1, 4, (0, 0)),
        (Rgbx, 2, 0, 2, 4, (0, 0)),
        (Bgrx, 0, 0, 2, 4, (0, 0)),
        (Xrgb, 0, 0, 1, 4, (0, 0)),
        (Xbgr, 0, 0, 3, 4, (0, 0)),
        (Xbgr, 2, 0, 1, 4, (0, 0)),
        (Rgb, 1, 0, 1, 3, (0, 0)),
        (Bgr, 0, 0, 2, 3, (0, 0)),
        (Bgr, 2, 0, 0, 3, (0, 0)),
        (Gray8, 0, 0, 0, 1, (0, 0)),
    ];
    for (f, comp, plane, offset, pstride, sub) in expected {
        assert_eq!(f.component_plane(comp), plane, "{f} comp {comp}");
        assert_eq!(f.component_offset(comp), offset, "{f} comp {comp}");
        assert_eq!(f.pixel_stride(comp), pstride, "{f} comp {comp}");
        assert_eq!(f.subsampling(comp), sub, "{f} comp {comp}");
    }
}

#[test]
fn component_invariants() {
    for f in VideoFormat::ALL {
        let mut planes_seen = [false; MAX_PLANES];
        for comp in 0..f.n_components() {
            assert!(f.component_plane(comp) < f.n_planes(), "{f} comp {comp}");
            assert!(
                f.component_offset(comp) < f.pixel_stride(comp),
                "{f} comp {comp}"
            );
            planes_seen[f.component_plane(comp)] = true;
            assert!(
                f.plane_components(f.component_plane(comp))
                    .any(|c| c == comp)
            );
        }
        // Every plane holds at least one component.
        assert!(planes_seen[..f.n_planes()].iter().all(|&s| s), "{f}");
        // Components sharing a plane and pixel group do not overlap.
        for a in 0..f.n_components() {
            for b in a + 1..f.n_components() {
                if f.component_plane(a) == f.component_plane(b)
                    && f.pixel_stride(a) == f.pixel_stride(b)
                {
                    assert_ne!(f.component_offset(a), f.component_offset(b), "{f} {a} {b}");
                }
            }
        }
    }
}

#[test]
fn out_of_range_components_and_planes_do_not_panic() {
    for f in VideoFormat::ALL {
        let n = f.n_components();
        for comp in [n, n + 1, 4, usize::MAX] {
            assert_eq!(f.subsampling(comp), (0, 0));
            assert_eq!(f.pixel_stride(comp), 0);
            assert_eq!(f.component_plane(comp), 0);
            assert_eq!(f.component_offset(comp), 0);
        }
        assert_eq!(f.plane_components(f.n_planes()).count(), 0);
        let info = VideoInfo::new(f, 7, 5).unwrap();
        for plane in [f.n_planes(), MAX_PLANES, usize::MAX] {
            assert_eq!(info.offset(plane), 0);
            assert_eq!(info.stride(plane), 0);
            assert_eq!(info.plane_height(plane), 0);
            assert_eq!(info.plane_row_bytes(plane), 0);
        }
        assert_eq!(info.comp_width(n), 0);
        assert_eq!(info.comp_height(usize::MAX), 0);
    }
}

// ---------------------------------------------------------------------------------------
// Default layouts
// ---------------------------------------------------------------------------------------

/// (format, width, height, frame size, plane offsets, plane strides)
type DefaultLayoutFact = (
    VideoFormat,
    u32,
    u32,
    usize,
    &'static [usize],
    &'static [usize],
);

/// GStreamer's default layouts, as facts: (format, width, height, frame size, plane
/// offsets, plane strides).
///
/// Measured with GStreamer 1.22 (Debian 12): the sizes are the byte counts of the file
/// written by `gst-launch-1.0 -q videotestsrc num-buffers=1 !
/// video/x-raw,format=F,width=W,height=H ! filesink location=x.raw`; the offsets and
/// strides are those `gst_video_info_set_format` reports (and were checked against the
/// gst-launch output by finding each component's samples of a solid colour at them).
#[rustfmt::skip]
const GSTREAMER_DEFAULT_LAYOUTS: &[DefaultLayoutFact] = &[
    (I420, 1, 1, 16, &[0, 8, 12], &[4, 4, 4]),
    (I420, 2, 2, 16, &[0, 8, 12], &[4, 4, 4]),
    (I420, 3, 3, 32, &[0, 16, 24], &[4, 4, 4]),
    (I420, 5, 7, 96, &[0, 64, 80], &[8, 4, 4]),
    (I420, 7, 5, 72, &[0, 48, 60], &[8, 4, 4]),
    (I420, 17, 9, 320, &[0, 200, 260], &[20, 12, 12]),
    (I420, 320, 240, 115200, &[0, 76800, 96000], &[320, 160, 160]),
    (I420, 321, 241, 118096, &[0, 78408, 98252], &[324, 164, 164]),
    (I420, 1920, 1080, 3110400, &[0, 2073600, 2592000], &[1920, 960, 960]),
    (I420, 1919, 1079, 3110400, &[0, 2073600, 2592000], &[1920, 960, 960]),
    (I420, 1, 3, 32, &[0, 16, 24], &[4, 4, 4]),
    (I420, 3, 1, 16, &[0, 8, 12], &[4, 4, 4]),
    (I420, 6, 2, 24, &[0, 16, 20], &[8, 4, 4]),
    (I420, 13, 13, 336, &[0, 224, 280], &[16, 8, 8]),
    (Yv12, 1, 1, 16, &[0, 8, 12], &[4, 4, 4]),
    (Yv12, 2, 2, 16, &[0, 8, 12], &[4, 4, 4]),
    (Yv12, 3, 3, 32, &[0, 16, 24], &[4, 4, 4]),
    (Yv12, 5, 7, 96, &[0, 64, 80], &[8, 4, 4]),
    (Yv12, 7, 5, 72, &[0, 48, 60], &[8, 4, 4]),
    (Yv12, 17, 9, 320, &[0, 200, 260], &[20, 12, 12]),
    (Yv12, 320, 240, 115200, &[0, 76800, 96000], &[320, 160, 160]),
    (Yv12, 321, 241, 118096, &[0, 78408, 98252], &[324, 164, 164]),
    (Yv12, 1920, 1080, 3110400, &[0, 2073600, 2592000], &[1920, 960, 960]),
    (Yv12, 1919, 1079, 3110400, &[0, 2073600, 2592000], &[1920, 960, 960]),
    (Yv12, 1, 3, 32, &[0, 16, 24], &[4, 4, 4]),
    (Yv12, 3, 1, 16, &[0, 8, 12], &[4, 4, 4]),
    (Yv12, 6, 2, 24, &[0, 16, 20], &[8, 4, 4]),
    (Yv12, 13, 13, 336, &[0, 224, 280], &[16, 8, 8]),
    (Nv12, 1, 1, 12, &[0, 8], &[4, 4]),
    (Nv12, 2, 2, 12, &[0, 8], &[4, 4]),
    (Nv12, 3, 3, 24, &[0, 16], &[4, 4]),
    (Nv12, 5, 7, 96, &[0, 64], &[8, 8]),
    (Nv12, 7, 5, 72, &[0, 48], &[8, 8]),
    (Nv12, 17, 9, 300, &[0, 200], &[20, 20]),
    (Nv12, 320, 240, 115200, &[0, 76800], &[320, 320]),
    (Nv12, 321, 241, 117612, &[0, 78408], &[324, 324]),
    (Nv12, 1920, 1080, 3110400, &[0, 2073600], &[1920, 1920]),
    (Nv12, 1919, 1079, 3110400, &[0, 2073600], &[1920, 1920]),
    (Nv12, 1, 3, 24, &[0, 16], &[4, 4]),
    (Nv12, 3, 1, 12, &[0, 8], &[4, 4]),
    (Nv12, 6, 2, 24, &[0, 16], &[8, 8]),
    (Nv12, 13, 13, 336, &[0, 224], &[16, 16]),
    (Nv21, 1, 1, 12, &[0, 8], &[4, 4]),
    (Nv21, 2, 2, 12, &[0, 8], &[4, 4]),
    (Nv21, 3, 3, 24, &[0, 16], &[4, 4]),
    (Nv21, 5, 7, 96, &[0, 64], &[8, 8]),
    (Nv21, 7, 5, 72, &[0, 48], &[8, 8]),
    (Nv21, 17, 9, 300, &[0, 200], &[20, 20]),
    (Nv21, 320, 240, 115200, &[0, 76800], &[320, 320]),
    (Nv21, 321, 241, 117612, &[0, 78408], &[324, 324]),
    (Nv21, 1920, 1080, 3110400, &[0, 2073600], &[1920, 1920]),
    (Nv21, 1919, 1079, 3110400, &[0, 2073600], &[1920, 1920]),
    (Nv21, 1, 3, 24, &[0, 16], &[4, 4]),
    (Nv21, 3, 1, 12, &[0, 8], &[4, 4]),
    (Nv21, 6, 2, 24, &[0, 16], &[8, 8]),
    (Nv21, 13, 13, 336, &[0, 224], &[16, 16]),
    (Yuy2, 1, 1, 4, &[0], &[4]),
    (Yuy2, 2, 2, 8, &[0], &[4]),
    (Yuy2, 3, 3, 24, &[0], &[8]),
    (Yuy2, 5, 7, 84, &[0], &[12]),
    (Yuy2, 7, 5, 80, &[0], &[16]),
    (Yuy2, 17, 9, 324, &[0], &[36]),
    (Yuy2, 320, 240, 153600, &[0], &[640]),
    (Yuy2, 321, 241, 155204, &[0], &[644]),
    (Yuy2, 1920, 1080, 4147200, &[0], &[3840]),
    (Yuy2, 1919, 1079, 4143360, &[0], &[3840]),
    (Yuy2, 1, 3, 12, &[0], &[4]),
    (Yuy2, 3, 1, 8, &[0], &[8]),
    (Yuy2, 6, 2, 24, &[0], &[12]),
    (Yuy2, 13, 13, 364, &[0], &[28]),
    (Uyvy, 1, 1, 4, &[0], &[4]),
    (Uyvy, 2, 2, 8, &[0], &[4]),
    (Uyvy, 3, 3, 24, &[0], &[8]),
    (Uyvy, 5, 7, 84, &[0], &[12]),
    (Uyvy, 7, 5, 80, &[0], &[16]),
    (Uyvy, 17, 9, 324, &[0], &[36]),
    (Uyvy, 320, 240, 153600, &[0], &[640]),
    (Uyvy, 321, 241, 155204, &[0], &[644]),
    (Uyvy, 1920, 1080, 4147200, &[0], &[3840]),
    (Uyvy, 1919, 1079, 4143360, &[0], &[3840]),
    (Uyvy, 1, 3, 12, &[0], &[4]),
    (Uyvy, 3, 1, 8, &[0], &[8]),
    (Uyvy, 6, 2, 24, &[0], &[12]),
    (Uyvy, 13, 13, 364, &[0], &[28]),
    (Rgba, 1, 1, 4, &[0], &[4]),
    (Rgba, 2, 2, 16, &[0], &[8]),
    (Rgba, 3, 3, 36, &[0], &[12]),
    (Rgba, 5, 7, 140, &[0], &[20]),
    (Rgba, 7, 5, 140, &[0], &[28]),
    (Rgba, 17, 9, 612, &[0], &[68]),
    (Rgba, 320, 240, 307200, &[0], &[1280]),
    (Rgba, 321, 241, 309444, &[0], &[1284]),
    (Rgba, 1920, 1080, 8294400, &[0], &[7680]),
    (Rgba, 1919, 1079, 8282404, &[0], &[7676]),
    (Rgba, 1, 3, 12, &[0], &[4]),
    (Rgba, 3, 1, 12, &[0], &[12]),
    (Rgba, 6, 2, 48, &[0], &[24]),
    (Rgba, 13, 13, 676, &[0], &[52]),
    (Bgra, 1, 1, 4, &[0], &[4]),
    (Bgra, 2, 2, 16, &[0], &[8]),
    (Bgra, 3, 3, 36, &[0], &[12]),
    (Bgra, 5, 7, 140, &[0], &[20]),
    (Bgra, 7, 5, 140, &[0], &[28]),
    (Bgra, 17, 9, 612, &[0], &[68]),
    (Bgra, 320, 240, 307200, &[0], &[1280]),
    (Bgra, 321, 241, 309444, &[0], &[1284]),
    (Bgra, 1920, 1080, 8294400, &[0], &[7680]),
    (Bgra, 1919, 1079, 8282404, &[0], &[7676]),
    (Bgra, 1, 3, 12, &[0], &[4]),
    (Bgra, 3, 1, 12, &[0], &[12]),
    (Bgra, 6, 2, 48, &[0], &[24]),
    (Bgra, 13, 13, 676, &[0], &[52]),
    (Argb, 1, 1, 4, &[0], &[4]),
    (Argb, 2, 2, 16, &[0], &[8]),
    (Argb, 3, 3, 36, &[0], &[12]),
    (Argb, 5, 7, 140, &[0], &[20]),
    (Argb, 7, 5, 140, &[0], &[28]),
    (Argb, 17, 9, 612, &[0], &[68]),
    (Argb, 320, 240, 307200, &[0], &[1280]),
    (Argb, 321, 241, 309444, &[0], &[1284]),
    (Argb, 1920, 1080, 8294400, &[0], &[7680]),
    (Argb, 1919, 1079, 8282404, &[0], &[7676]),
    (Argb, 1, 3, 12, &[0], &[4]),
    (Argb, 3, 1, 12, &[0], &[12]),
    (Argb, 6, 2, 48, &[0], &[24]),
    (Argb, 13, 13, 676, &[0], &[52]),
    (Abgr, 1, 1, 4, &[0], &[4]),
    (Abgr, 2, 2, 16, &[0], &[8]),
    (Abgr, 3, 3, 36, &[0], &[12]),
    (Abgr, 5, 7, 140, &[0], &[20]),
    (Abgr, 7, 5, 140, &[0], &[28]),
    (Abgr, 17, 9, 612, &[0], &[68]),
    (Abgr, 320, 240, 307200, &[0], &[1280]),
    (Abgr, 321, 241, 309444, &[0], &[1284]),
    (Abgr, 1920, 1080, 8294400, &[0], &[7680]),
    (Abgr, 1919, 1079, 8282404, &[0], &[7676]),
    (Abgr, 1, 3, 12, &[0], &[4]),
    (Abgr, 3, 1, 12, &[0], &[12]),
    (Abgr, 6, 2, 48, &[0], &[24]),
    (Abgr, 13, 13, 676, &[0], &[52]),
    (Rgbx, 1, 1, 4, &[0], &[4]),
    (Rgbx, 2, 2, 16, &[0], &[8]),
    (Rgbx, 3, 3, 36, &[0], &[12]),
    (Rgbx, 5, 7, 140, &[0], &[20]),
    (Rgbx, 7, 5, 140, &[0], &[28]),
    (Rgbx, 17, 9, 612, &[0], &[68]),
    (Rgbx, 320, 240, 307200, &[0], &[1280]),
    (Rgbx, 321, 241, 309444, &[0], &[1284]),
    (Rgbx, 1920, 1080, 8294400, &[0], &[7680]),
    (Rgbx, 1919, 1079, 8282404, &[0], &[7676]),
    (Rgbx, 1, 3, 12, &[0], &[4]),
    (Rgbx, 3, 1, 12, &[0], &[12]),
    (Rgbx, 6, 2, 48, &[0], &[24]),
    (Rgbx, 13, 13, 676, &[0], &[52]),
    (Bgrx, 1, 1, 4, &[0], &[4]),
    (Bgrx, 2, 2, 16, &[0], &[8]),
    (Bgrx, 3, 3, 36, &[0], &[12]),
    (Bgrx, 5, 7, 140, &[0], &[20]),
    (Bgrx, 7, 5, 140, &[0], &[28]),
    (Bgrx, 17, 9, 612, &[0], &[68]),
    (Bgrx, 320, 240, 307200, &[0], &[1280]),
    (Bgrx, 321, 241, 309444, &[0], &[1284]),
    (Bgrx, 1920, 1080, 8294400, &[0], &[7680]),
    (Bgrx, 1919, 1079, 8282404, &[0], &[7676]),
    (Bgrx, 1, 3, 12, &[0], &[4]),
    (Bgrx, 3, 1, 12, &[0], &[12]),
    (Bgrx, 6, 2, 48, &[0], &[24]),
    (Bgrx, 13, 13, 676, &[0], &[52]),
    (Xrgb, 1, 1, 4, &[0], &[4]),
    (Xrgb, 2, 2, 16, &[0], &[8]),
    (Xrgb, 3, 3, 36, &[0], &[12]),
    (Xrgb, 5, 7, 140, &[0], &[20]),
    (Xrgb, 7, 5, 140, &[0], &[28]),
    (Xrgb, 17, 9, 612, &[0], &[68]),
    (Xrgb, 320, 240, 307200, &[0], &[1280]),
    (Xrgb, 321, 241, 309444, &[0], &[1284]),
    (Xrgb, 1920, 1080, 8294400, &[0], &[7680]),
    (Xrgb, 1919, 1079, 8282404, &[0], &[7676]),
    (Xrgb, 1, 3, 12, &[0], &[4]),
    (Xrgb, 3, 1, 12, &[0], &[12]),
    (Xrgb, 6, 2, 48, &[0], &[24]),
    (Xrgb, 13, 13, 676, &[0], &[52]),
    (Xbgr, 1, 1, 4, &[0], &[4]),
    (Xbgr, 2, 2, 16, &[0], &[8]),
    (Xbgr, 3, 3, 36, &[0], &[12]),
    (Xbgr, 5, 7, 140, &[0], &[20]),
    (Xbgr, 7, 5, 140, &[0], &[28]),
    (Xbgr, 17, 9, 612, &[0], &[68]),
    (Xbgr, 320, 240, 307200, &[0], &[1280]),
    (Xbgr, 321, 241, 309444, &[0], &[1284]),
    (Xbgr, 1920, 1080, 8294400, &[0], &[7680]),
    (Xbgr, 1919, 1079, 8282404, &[0], &[7676]),
    (Xbgr, 1, 3, 12, &[0], &[4]),
    (Xbgr, 3, 1, 12, &[0], &[12]),
    (Xbgr, 6, 2, 48, &[0], &[24]),
    (Xbgr, 13, 13, 676, &[0], &[52]),
    (Rgb, 1, 1, 4, &[0], &[4]),
    (Rgb, 2, 2, 16, &[0], &[8]),
    (Rgb, 3, 3, 36, &[0], &[12]),
    (Rgb, 5, 7, 112, &[0], &[16]),
    (Rgb, 7, 5, 120, &[0], &[24]),
    (Rgb, 17, 9, 468, &[0], &[52]),
    (Rgb, 320, 240, 230400, &[0], &[960]),
    (Rgb, 321, 241, 232324, &[0], &[964]),
    (Rgb, 1920, 1080, 6220800, &[0], &[5760]),
    (Rgb, 1919, 1079, 6215040, &[0], &[5760]),
    (Rgb, 1, 3, 12, &[0], &[4]),
    (Rgb, 3, 1, 12, &[0], &[12]),
    (Rgb, 6, 2, 40, &[0], &[20]),
    (Rgb, 13, 13, 520, &[0], &[40]),
    (Bgr, 1, 1, 4, &[0], &[4]),
    (Bgr, 2, 2, 16, &[0], &[8]),
    (Bgr, 3, 3, 36, &[0], &[12]),
    (Bgr, 5, 7, 112, &[0], &[16]),
    (Bgr, 7, 5, 120, &[0], &[24]),
    (Bgr, 17, 9, 468, &[0], &[52]),
    (Bgr, 320, 240, 230400, &[0], &[960]),
    (Bgr, 321, 241, 232324, &[0], &[964]),
    (Bgr, 1920, 1080, 6220800, &[0], &[5760]),
    (Bgr, 1919, 1079, 6215040, &[0], &[5760]),
    (Bgr, 1, 3, 12, &[0], &[4]),
    (Bgr, 3, 1, 12, &[0], &[12]),
    (Bgr, 6, 2, 40, &[0], &[20]),
    (Bgr, 13, 13, 520, &[0], &[40]),
    (Gray8, 1, 1, 4, &[0], &[4]),
    (Gray8, 2, 2, 8, &[0], &[4]),
    (Gray8, 3, 3, 12, &[0], &[4]),
    (Gray8, 5, 7, 56, &[0], &[8]),
    (Gray8, 7, 5, 40, &[0], &[8]),
    (Gray8, 17, 9, 180, &[0], &[20]),
    (Gray8, 320, 240, 76800, &[0], &[320]),
    (Gray8, 321, 241, 78084, &[0], &[324]),
    (Gray8, 1920, 1080, 2073600, &[0], &[1920]),
    (Gray8, 1919, 1079, 2071680, &[0], &[1920]),
    (Gray8, 1, 3, 12, &[0], &[4]),
    (Gray8, 3, 1, 4, &[0], &[4]),
    (Gray8, 6, 2, 16, &[0], &[8]),
    (Gray8, 13, 13, 208, &[0], &[16]),
];

#[test]
fn default_layouts_match_gstreamer() {
    assert_eq!(GSTREAMER_DEFAULT_LAYOUTS.len(), 17 * 14);
    for &(format, w, h, size, offsets, strides) in GSTREAMER_DEFAULT_LAYOUTS {
        let info = VideoInfo::new(format, w, h).unwrap();
        let what = format!("{format} {w}x{h}");
        assert_eq!(info.format(), format);
        assert_eq!((info.width(), info.height()), (w, h));
        assert_eq!(info.size(), size, "size of {what}");
        assert_eq!(info.n_planes(), offsets.len(), "{what}");
        assert_eq!(
            &info.offsets()[..offsets.len()],
            offsets,
            "offsets of {what}"
        );
        assert_eq!(
            &info.strides()[..strides.len()],
            strides,
            "strides of {what}"
        );
        assert!(info.offsets()[offsets.len()..].iter().all(|&o| o == 0));
        assert!(info.strides()[strides.len()..].iter().all(|&s| s == 0));
        for plane in 0..info.n_planes() {
            assert_eq!(info.offset(plane), offsets[plane]);
            assert_eq!(info.stride(plane), strides[plane]);
        }
        assert!(info.is_default_layout());
    }
}

#[test]
fn default_layout_formulas() {
    let i420 = VideoInfo::new(I420, 321, 241).unwrap();
    // stride0 = RU4(321) = 324; chroma stride = RU4(RU2(321) / 2) = 164;
    // offset1 = 324 * RU2(241) = 78408; chroma rows = 121.
    assert_eq!(i420.strides(), [324, 164, 164, 0]);
    assert_eq!(i420.offsets(), [0, 78408, 78408 + 164 * 121, 0]);
    assert_eq!(i420.size(), 78408 + 2 * 164 * 121);
    assert_eq!(i420.plane_height(0), 241);
    assert_eq!(i420.plane_height(1), 121);
    assert_eq!(i420.plane_height(2), 121);
    assert_eq!((i420.comp_width(0), i420.comp_height(0)), (321, 241));
    assert_eq!((i420.comp_width(1), i420.comp_height(1)), (161, 121));
    assert_eq!(i420.plane_row_bytes(0), 321);
    assert_eq!(i420.plane_row_bytes(1), 161);

    // YV12 has the same plane layout; only the components' planes differ.
    let yv12 = VideoInfo::new(Yv12, 321, 241).unwrap();
    assert_eq!(yv12.offsets(), i420.offsets());
    assert_eq!(yv12.strides(), i420.strides());
    assert_eq!(yv12.size(), i420.size());

    let nv12 = VideoInfo::new(Nv12, 5, 7).unwrap();
    assert_eq!(nv12.strides(), [8, 8, 0, 0]);
    assert_eq!(nv12.offsets(), [0, 64, 0, 0]);
    assert_eq!(nv12.size(), 96);
    assert_eq!(nv12.plane_row_bytes(1), 6);
    assert_eq!(nv12.plane_height(1), 4);

    let yuy2 = VideoInfo::new(Yuy2, 3, 2).unwrap();
    assert_eq!(yuy2.stride(0), 8);
    assert_eq!(yuy2.plane_row_bytes(0), 8);
    assert_eq!(yuy2.comp_width(1), 2);

    let rgb = VideoInfo::new(Rgb, 5, 3).unwrap();
    assert_eq!(
        (rgb.stride(0), rgb.size(), rgb.plane_row_bytes(0)),
        (16, 48, 15)
    );
    let rgbx = VideoInfo::new(Rgbx, 5, 3).unwrap();
    assert_eq!(
        (rgbx.stride(0), rgbx.size(), rgbx.plane_row_bytes(0)),
        (20, 60, 20)
    );
    let gray = VideoInfo::new(Gray8, 5, 3).unwrap();
    assert_eq!((gray.stride(0), gray.size()), (8, 24));
}

#[test]
fn new_rejects_bad_dimensions() {
    for (w, h) in [
        (0, 1),
        (1, 0),
        (0, 0),
        (1 << 31, 1),
        (1, 1 << 31),
        (u32::MAX, u32::MAX),
    ] {
        for f in VideoFormat::ALL {
            let err = VideoInfo::new(f, w, h).unwrap_err();
            assert!(
                matches!(err, VideoError::InvalidDimensions { format, width, height, .. }
                    if format == f && width == w && height == h),
                "{f} {w}x{h}: {err:?}"
            );
            assert!(err.to_string().contains(&format!("{w}x{h}")), "{err}");
        }
    }
}

#[test]
fn new_rejects_strides_gstreamer_cannot_hold() {
    // GStreamer strides are gint: a stride above i32::MAX bytes is refused.
    let err = VideoInfo::new(Rgba, 536_870_912, 1).unwrap_err();
    assert!(matches!(err, VideoError::TooLarge { .. }), "{err:?}");
    assert!(err.to_string().contains("stride"), "{err}");
    assert_eq!(
        VideoInfo::new_within(Rgba, 536_870_911, 1, u64::MAX)
            .unwrap()
            .stride(0),
        2_147_483_644
    );
    assert!(VideoInfo::new(Gray8, i32::MAX as u32, 1).is_err());
    assert!(VideoInfo::new_within(Gray8, 2_147_483_644, 1, u64::MAX).is_ok());
    assert!(VideoInfo::new(Yuy2, 1_073_741_823, 1).is_err());
    assert!(VideoInfo::new(Rgb, 715_827_882, 1).is_err());
    // Every format at the largest dimensions: an error, never a panic.
    for f in VideoFormat::ALL {
        let max = i32::MAX as u32;
        assert!(VideoInfo::new(f, max, max).is_err(), "{f}");
        let _ = VideoInfo::new(f, 1, max);
        let _ = VideoInfo::new(f, max, 1);
    }
}

#[test]
fn huge_sizes_fit_on_64_bit() {
    if usize::BITS < 64 {
        return;
    }
    // Beyond what GStreamer 1.22 accepts, but a valid layout for penstock when the
    // frame-size bound allows it.
    let info = VideoInfo::new_within(Rgba, 100_000, 100_000, u64::MAX).unwrap();
    assert_eq!(info.size(), 40_000_000_000);
}

/// Frames above the frame-size bound are refused when the layout is computed, for every
/// format and for sizes that are near the bound, far above it, or whose byte count
/// would overflow 32 bits; the error names the size, the bound and how to raise it.
#[test]
fn frames_above_the_size_bound_are_refused_before_allocation() {
    let bound = penstock::limits::DEFAULT_MAX_FRAME_SIZE;
    for f in VideoFormat::ALL {
        for (w, h) in [
            (100_000, 100_000),
            (40_000, 40_000),
            (16_385, 16_385),
            (1 << 20, 1 << 12),
        ] {
            let size = VideoInfo::new_within(f, w, h, u64::MAX).unwrap().size() as u64;
            match VideoInfo::new_within(f, w, h, bound) {
                Err(VideoError::FrameTooLarge { size: s, limit, .. }) => {
                    assert_eq!((s, limit), (size, bound), "{f} {w}x{h}");
                }
                Ok(_) => assert!(size <= bound, "{f} {w}x{h}: {size} bytes accepted"),
                Err(e) => panic!("{f} {w}x{h}: {e}"),
            }
        }
        // Exactly at the bound is accepted; one byte below it is not.
        let exact = VideoInfo::new(f, 64, 64).unwrap().size() as u64;
        assert!(VideoInfo::new_within(f, 64, 64, exact).is_ok());
        assert!(matches!(
            VideoInfo::new_within(f, 64, 64, exact - 1),
            Err(VideoError::FrameTooLarge { .. })
        ));
    }
    let e = VideoInfo::new(I420, 100_000, 100_000).unwrap_err();
    assert_eq!(
        e.to_string(),
        "I420 frame of 100000x100000 needs 15000000000 bytes (14.0 GiB), above the maximum \
         frame size of 1073741824 bytes (1.0 GiB); use smaller dimensions, or raise the bound \
         with PENSTOCK_MAX_FRAME_SIZE=<bytes> (e.g. 16G) or penstock::limits::set_max_frame_size"
    );
    // Padding counts: a frame under the bound padded past it is refused too.
    let mut info = VideoInfo::new(Rgba, 16_384, 16_000).unwrap();
    let before = info.clone();
    let pad = VideoAlignment {
        padding_bottom: 1_000,
        ..Default::default()
    };
    assert!(matches!(
        info.align(&pad),
        Err(VideoError::FrameTooLarge { .. })
    ));
    assert_eq!(info, before, "unchanged on error");
}

// ---------------------------------------------------------------------------------------
// Alignment
// ---------------------------------------------------------------------------------------

/// (format, width, height, [top, bottom, left, right] padding, stride_align masks,
/// padding_left written back, frame size, plane offsets, plane strides)
type AlignedLayoutFact = (
    VideoFormat,
    u32,
    u32,
    [u32; 4],
    [u32; 4],
    u32,
    usize,
    &'static [usize],
    &'static [usize],
);

/// `gst_video_info_align` results, as facts: (format, width, height, [top, bottom,
/// left, right] padding, stride_align masks, padding_left GStreamer wrote back, frame
/// size, plane offsets, plane strides). Measured with GStreamer 1.22's libgstvideo
/// (`gst_video_info_set_format` then `gst_video_info_align`).
#[rustfmt::skip]
const GSTREAMER_ALIGNED_LAYOUTS: &[AlignedLayoutFact] = &[
    (I420, 321, 241, [4, 0, 2, 0], [31, 31, 31, 0], 64, 165312, &[1856, 110688, 138240], &[448, 224, 224]),
    (I420, 16, 16, [2, 2, 4, 0], [0, 0, 0, 0], 4, 640, &[44, 414, 534], &[20, 12, 12]),
    (Nv12, 1920, 1080, [0, 0, 0, 0], [63, 63, 0, 0], 0, 3110400, &[0, 2073600], &[1920, 1920]),
    (I420, 1918, 1080, [0, 0, 0, 0], [31, 31, 31, 31], 0, 3110400, &[0, 2073600, 2592000], &[1920, 960, 960]),
    (Gray8, 16, 16, [0, 0, 6, 0], [15, 0, 0, 0], 16, 512, &[16], &[32]),
    (Yv12, 100, 50, [8, 8, 32, 32], [63, 31, 31, 0], 64, 25344, &[2112, 17440, 21664], &[256, 128, 128]),
    (Yuy2, 33, 7, [3, 1, 2, 5], [15, 0, 0, 0], 8, 1056, &[304], &[96]),
    (Rgb, 5, 5, [1, 1, 1, 1], [3, 0, 0, 0], 4, 224, &[44], &[32]),
    (I420, 332, 486, [4, 1, 24, 5], [127, 0, 0, 63], 128, 377856, &[2176, 252480, 315456], &[512, 256, 256]),
    (Yv12, 597, 30, [16, 1, 12, 3], [0, 0, 31, 31], 64, 50688, &[11328, 36640, 45088], &[704, 352, 352]),
    (Nv12, 93, 283, [12, 9, 2, 0], [63, 0, 3, 127], 64, 87552, &[2368, 59584], &[192, 192]),
    (Nv21, 591, 300, [12, 4, 2, 6], [3, 0, 63, 3], 4, 286296, &[7252, 194492], &[604, 604]),
    (Yuy2, 148, 277, [3, 9, 18, 9], [63, 127, 3, 0], 32, 110976, &[1216], &[384]),
    (Uyvy, 655, 97, [11, 0, 6, 9], [63, 127, 0, 63], 32, 152064, &[15552], &[1408]),
    (Rgba, 211, 255, [13, 4, 20, 3], [31, 63, 31, 15], 24, 261120, &[12576], &[960]),
    (Bgra, 185, 358, [7, 5, 5, 7], [63, 15, 63, 31], 16, 307840, &[5888], &[832]),
    (Argb, 295, 312, [2, 2, 7, 7], [63, 31, 3, 15], 16, 404480, &[2624], &[1280]),
    (Abgr, 432, 21, [2, 7, 20, 9], [15, 127, 15, 63], 20, 55680, &[3792], &[1856]),
    (Rgbx, 468, 36, [2, 0, 17, 4], [31, 127, 127, 0], 24, 75392, &[4064], &[1984]),
    (Bgrx, 663, 296, [14, 0, 18, 7], [127, 31, 127, 15], 32, 872960, &[39552], &[2816]),
    (Xrgb, 364, 87, [3, 3, 31, 6], [0, 3, 15, 3], 31, 149172, &[4936], &[1604]),
    (Xbgr, 401, 470, [15, 4, 5, 2], [3, 31, 31, 63], 5, 798048, &[24500], &[1632]),
    (Rgb, 441, 443, [8, 2, 26, 1], [15, 127, 31, 3], 32, 645072, &[11488], &[1424]),
    (Bgr, 181, 78, [7, 4, 14, 4], [0, 31, 63, 3], 14, 53400, &[4242], &[600]),
    (Gray8, 5, 75, [13, 8, 23, 9], [63, 63, 15, 3], 64, 12288, &[1728], &[128]),
];

#[test]
fn align_matches_gstreamer() {
    for &(format, w, h, [top, bottom, left, right], masks, left_out, size, offsets, strides) in
        GSTREAMER_ALIGNED_LAYOUTS
    {
        let what =
            format!("{format} {w}x{h} padding {top},{bottom},{left},{right} masks {masks:?}");
        let mut info = VideoInfo::new(format, w, h).unwrap();
        let mut align = VideoAlignment {
            padding_top: top,
            padding_bottom: bottom,
            padding_left: left,
            padding_right: right,
            stride_align: masks,
        };
        info.align_full(&mut align)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(align.padding_left, left_out, "{what}");
        assert_eq!((info.width(), info.height()), (w, h), "{what}");
        assert_eq!(info.size(), size, "{what}");
        assert_eq!(&info.offsets()[..offsets.len()], offsets, "{what}");
        assert_eq!(&info.strides()[..strides.len()], strides, "{what}");

        // align() gives the same layout without touching its argument.
        let mut info2 = VideoInfo::new(format, w, h).unwrap();
        let align2 = VideoAlignment {
            padding_left: left,
            ..align
        };
        info2.align(&align2).unwrap();
        assert_eq!(info2, info, "{what}");
    }
}

#[test]
fn align_nv12_1080p_already_aligned() {
    let mut info = VideoInfo::new(Nv12, 1920, 1080).unwrap();
    let default = info.clone();
    info.align(&VideoAlignment {
        stride_align: [63, 63, 0, 0],
        ..Default::default()
    })
    .unwrap();
    assert_eq!(info.strides(), [1920, 1920, 0, 0]);
    assert_eq!(info, default);
    assert!(info.is_default_layout());
}

#[test]
fn align_i420_1918_strides_to_32() {
    let mut info = VideoInfo::new(I420, 1918, 1080).unwrap();
    let default_size = info.size();
    info.align(&VideoAlignment {
        stride_align: [31; MAX_PLANES],
        ..Default::default()
    })
    .unwrap();
    for plane in 0..3 {
        assert_eq!(
            info.stride(plane) % 32,
            0,
            "plane {plane}: {}",
            info.stride(plane)
        );
    }
    assert_eq!(info.strides(), [1920, 960, 960, 0]);
    assert_eq!((info.width(), info.height()), (1918, 1080));
    assert!(info.size() >= default_size);
    // GStreamer's rounding already gives 1918 pixels 32-byte aligned strides.
    assert!(info.is_default_layout());

    // 1900 pixels: RU4 gives 1900 and 952, so the padded width grows.
    let mut info = VideoInfo::new(I420, 1900, 1080).unwrap();
    let default_size = info.size();
    info.align(&VideoAlignment {
        stride_align: [31; MAX_PLANES],
        ..Default::default()
    })
    .unwrap();
    for plane in 0..3 {
        assert_eq!(
            info.stride(plane) % 32,
            0,
            "plane {plane}: {}",
            info.stride(plane)
        );
    }
    assert!(info.size() > default_size);
    assert!(!info.is_default_layout());
}

#[test]
fn align_padding_moves_offsets() {
    // I420 16x16 with 2 rows above, 2 below, 4 pixels left, 6 right: padded 26x20.
    let mut info = VideoInfo::new(I420, 16, 16).unwrap();
    let default_size = info.size();
    let padding = VideoAlignment {
        padding_top: 2,
        padding_bottom: 2,
        padding_left: 4,
        padding_right: 6,
        stride_align: [0; MAX_PLANES],
    };
    info.align(&padding).unwrap();
    let padded = VideoInfo::new(I420, 26, 20).unwrap();
    assert_eq!(info.strides(), padded.strides());
    assert_eq!(info.size(), padded.size());
    assert!(info.size() >= default_size);
    // Y: 2 rows and 4 pixels in; U and V: 1 row and 2 pixels in.
    assert_eq!(info.offset(0), 2 * padded.stride(0) + 4);
    assert_eq!(info.offset(1), padded.offset(1) + padded.stride(1) + 2);
    assert_eq!(info.offset(2), padded.offset(2) + padded.stride(2) + 2);
    assert_eq!((info.width(), info.height()), (16, 16));

    // Packed formats move by whole pixels: RGBA 3 pixels left = 12 bytes.
    let mut rgba = VideoInfo::new(Rgba, 10, 10).unwrap();
    rgba.align(&VideoAlignment {
        padding_top: 1,
        padding_left: 3,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(rgba.stride(0), 13 * 4);
    assert_eq!(rgba.offset(0), 13 * 4 + 3 * 4);
    assert_eq!(rgba.size(), 13 * 4 * 11);

    // NV12: the UV plane moves by (top/2) rows and (left/2) pairs of 2 bytes.
    let mut nv12 = VideoInfo::new(Nv12, 8, 8).unwrap();
    nv12.align(&VideoAlignment {
        padding_top: 4,
        padding_left: 4,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(nv12.strides()[..2], [12, 12]);
    assert_eq!(nv12.offset(0), 4 * 12 + 4);
    assert_eq!(nv12.offset(1), 12 * 12 + 2 * 12 + 2 * 2);

    // YUY2: vertical padding may be odd (no vertical subsampling).
    let mut yuy2 = VideoInfo::new(Yuy2, 8, 8).unwrap();
    yuy2.align(&VideoAlignment {
        padding_top: 3,
        padding_left: 2,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(yuy2.stride(0), 20);
    assert_eq!(yuy2.offset(0), 3 * 20 + 2 * 2);
}

#[test]
fn align_grows_left_padding_like_gstreamer() {
    // A 2-pixel left padding with 32-byte masks: GStreamer grows it to 64 so that the
    // chroma planes' first visible byte (64 / 2 = 32) is aligned too.
    let mut info = VideoInfo::new(I420, 321, 241).unwrap();
    let mut align = VideoAlignment {
        padding_top: 4,
        padding_left: 2,
        stride_align: [31, 31, 31, 0],
        ..Default::default()
    };
    info.align_full(&mut align).unwrap();
    assert_eq!(align.padding_left, 64);
    for plane in 0..3 {
        assert_eq!(info.stride(plane) % 32, 0);
    }
    assert_eq!(info.offset(0) % 32, 0);
    assert_eq!(info.offset(1) % 32, 0);
    assert_eq!(info.offset(2) % 32, 0);
}

#[test]
fn align_rejects_padding_that_splits_chroma() {
    let cases = [
        (I420, 1, 0),
        (I420, 0, 1),
        (Yv12, 3, 0),
        (Nv12, 0, 3),
        (Nv21, 5, 2),
        (Yuy2, 1, 0),
        (Uyvy, 7, 0),
    ];
    for (f, left, top) in cases {
        let mut info = VideoInfo::new(f, 16, 16).unwrap();
        let before = info.clone();
        let err = info
            .align(&VideoAlignment {
                padding_left: left,
                padding_top: top,
                ..Default::default()
            })
            .unwrap_err();
        assert!(
            matches!(err, VideoError::InvalidAlignment { .. }),
            "{f}: {err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("padding_"), "{msg}");
        assert!(msg.contains("multiple of 2"), "{msg}");
        assert_eq!(info, before, "unchanged on error");
    }
    // Odd paddings are fine where nothing is subsampled that way, and odd right and
    // bottom paddings only grow the allocation.
    for (f, left, top, right, bottom) in [
        (Yuy2, 0, 1, 0, 0),
        (Rgb, 1, 1, 1, 1),
        (Gray8, 3, 5, 7, 9),
        (I420, 2, 2, 1, 1),
    ] {
        let mut info = VideoInfo::new(f, 16, 16).unwrap();
        info.align(&VideoAlignment {
            padding_left: left,
            padding_top: top,
            padding_right: right,
            padding_bottom: bottom,
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("{f}: {e}"));
    }
}

#[test]
fn align_impossible_masks_error_without_panic() {
    for f in VideoFormat::ALL {
        let mut info = VideoInfo::new(f, 33, 17).unwrap();
        let before = info.clone();
        let err = info
            .align(&VideoAlignment {
                stride_align: [u32::MAX; MAX_PLANES],
                ..Default::default()
            })
            .unwrap_err();
        assert!(
            matches!(
                err,
                VideoError::InvalidAlignment { .. } | VideoError::TooLarge { .. }
            ),
            "{f}: {err:?}"
        );
        assert_eq!(info, before);

        // Same through the left padding loop.
        let mut align = VideoAlignment {
            padding_left: 2,
            stride_align: [u32::MAX; MAX_PLANES],
            ..Default::default()
        };
        assert!(info.align_full(&mut align).is_err());
        assert_eq!(align.padding_left, 2, "unchanged on error");
    }
}

#[test]
fn align_rejects_overflowing_padding() {
    let mut info = VideoInfo::new(Rgba, 64, 64).unwrap();
    for align in [
        VideoAlignment {
            padding_right: u32::MAX,
            ..Default::default()
        },
        VideoAlignment {
            padding_bottom: u32::MAX,
            padding_top: u32::MAX - 1,
            ..Default::default()
        },
        VideoAlignment {
            padding_left: 1 << 30,
            padding_right: 1 << 30,
            ..Default::default()
        },
    ] {
        let err = info.align(&align).unwrap_err();
        assert!(matches!(err, VideoError::TooLarge { .. }), "{err:?}");
    }
}

#[test]
fn align_recomputes_from_visible_size() {
    let mut info = VideoInfo::new(I420, 100, 100).unwrap();
    info.align(&VideoAlignment {
        padding_top: 16,
        padding_left: 16,
        ..Default::default()
    })
    .unwrap();
    info.align(&VideoAlignment::default()).unwrap();
    assert_eq!(info, VideoInfo::new(I420, 100, 100).unwrap());
}

// ---------------------------------------------------------------------------------------
// Explicit layouts
// ---------------------------------------------------------------------------------------

fn layout_err(
    f: VideoFormat,
    w: u32,
    h: u32,
    offsets: &[usize],
    strides: &[usize],
    size: usize,
) -> String {
    match VideoInfo::with_layout(f, w, h, offsets, strides, size) {
        Ok(info) => panic!("{f} {w}x{h} {offsets:?} {strides:?} {size} accepted: {info:?}"),
        Err(e @ VideoError::InvalidLayout { .. }) => e.to_string(),
        Err(e) => panic!("unexpected error {e:?}"),
    }
}

#[test]
fn with_layout_accepts_default_and_aligned_layouts() {
    for f in VideoFormat::ALL {
        for (w, h) in [(1, 1), (7, 5), (320, 240), (1919, 1079)] {
            let info = VideoInfo::new(f, w, h).unwrap();
            let n = info.n_planes();
            let again = VideoInfo::with_layout(
                f,
                w,
                h,
                &info.offsets()[..n],
                &info.strides()[..n],
                info.size(),
            )
            .unwrap();
            assert_eq!(again, info);
            assert!(again.is_default_layout());

            let mut aligned = info.clone();
            aligned
                .align(&VideoAlignment {
                    padding_top: 2,
                    padding_bottom: 6,
                    padding_left: 4,
                    padding_right: 8,
                    stride_align: [63; MAX_PLANES],
                })
                .unwrap();
            let again = VideoInfo::with_layout(
                f,
                w,
                h,
                &aligned.offsets()[..n],
                &aligned.strides()[..n],
                aligned.size(),
            )
            .unwrap();
            assert_eq!(again, aligned);
            assert!(!again.is_default_layout());
        }
    }
}

#[test]
fn with_layout_tight_and_reordered_layouts() {
    // NV12 4x2 packed tightly: the last row of each plane needs no padding.
    let info = VideoInfo::with_layout(Nv12, 4, 2, &[0, 8], &[4, 4], 12).unwrap();
    assert_eq!(info.size(), 12);
    assert!(info.is_default_layout());
    // I420 3x3 with tight strides: Y 3x3, U and V 2x2.
    let info = VideoInfo::with_layout(I420, 3, 3, &[0, 9, 13], &[3, 2, 2], 17).unwrap();
    assert!(!info.is_default_layout());
    assert!(layout_err(I420, 3, 3, &[0, 9, 13], &[3, 2, 2], 16).contains("17"));
    // Planes stored in another order than the default are accepted.
    VideoInfo::with_layout(I420, 4, 4, &[8, 0, 4], &[4, 2, 2], 24).unwrap();
    // A larger buffer than the frame keeps the default layout.
    let info = VideoInfo::with_layout(Gray8, 4, 4, &[0], &[4], 100).unwrap();
    assert!(info.is_default_layout());
    assert_eq!(info.size(), 100);
}

#[test]
fn with_layout_rejects_wrong_plane_counts() {
    let msg = layout_err(I420, 4, 4, &[0, 16], &[4, 2], 24);
    assert!(msg.contains("3 plane(s)"), "{msg}");
    let msg = layout_err(Nv12, 4, 4, &[0, 16, 0, 0], &[4, 4, 0, 0], 24);
    assert!(msg.contains("2 plane(s) but 4 offset(s)"), "{msg}");
    layout_err(Rgba, 4, 4, &[], &[], 64);
    layout_err(Rgba, 4, 4, &[0], &[16, 16], 64);
}

#[test]
fn with_layout_rejects_small_strides() {
    let msg = layout_err(Rgba, 4, 4, &[0], &[15], 64);
    assert!(
        msg.contains("stride 15") && msg.contains("at least 16"),
        "{msg}"
    );
    // RGB 5 pixels: 15 bytes per row.
    layout_err(Rgb, 5, 1, &[0], &[14], 100);
    VideoInfo::with_layout(Rgb, 5, 1, &[0], &[15], 15).unwrap();
    // YUY2 3 pixels: two macropixels, 8 bytes.
    let msg = layout_err(Yuy2, 3, 1, &[0], &[6], 100);
    assert!(msg.contains("at least 8"), "{msg}");
    // NV12 3 pixels: UV row holds 2 pairs = 4 bytes.
    let msg = layout_err(Nv12, 3, 2, &[0, 8], &[4, 3], 100);
    assert!(
        msg.contains("plane 1") && msg.contains("at least 4"),
        "{msg}"
    );
    // A zero stride is never enough.
    layout_err(Gray8, 1, 1, &[0], &[0], 100);
}

#[test]
fn with_layout_rejects_planes_past_size() {
    let msg = layout_err(Gray8, 4, 4, &[0], &[4], 15);
    assert!(
        msg.contains("ends at byte 16") && msg.contains("at least 16"),
        "{msg}"
    );
    let msg = layout_err(I420, 4, 4, &[0, 16, 20], &[4, 2, 2], 23);
    assert!(msg.contains("plane 2"), "{msg}");
    layout_err(Gray8, 4, 4, &[1], &[4], 16);
    layout_err(Nv21, 4, 4, &[0, 16], &[4, 4], 23);
}

#[test]
fn with_layout_rejects_overflow_without_panic() {
    layout_err(Gray8, 4, 4, &[usize::MAX], &[4], usize::MAX / 2);
    layout_err(Gray8, 4, 4, &[0], &[usize::MAX], usize::MAX / 2);
    layout_err(Gray8, 4, 4, &[0], &[usize::MAX / 2], usize::MAX / 2);
    layout_err(Rgba, 4, 4, &[usize::MAX - 3], &[16], usize::MAX);
    layout_err(I420, 2, 2, &[0, usize::MAX, 4], &[2, 1, 1], 6);
    let msg = layout_err(Rgba, 1, 1, &[0], &[4], usize::MAX);
    assert!(msg.contains("isize::MAX"), "{msg}");
    let max = i32::MAX as u32;
    layout_err(Rgba, max, max, &[0], &[usize::MAX], usize::MAX / 2);
}

#[test]
fn with_layout_rejects_bad_dimensions() {
    for (w, h) in [(0, 4), (4, 0), (u32::MAX, 1)] {
        let err = VideoInfo::with_layout(Gray8, w, h, &[0], &[4], 16).unwrap_err();
        assert!(
            matches!(err, VideoError::InvalidDimensions { .. }),
            "{err:?}"
        );
    }
}

#[test]
fn is_default_layout_detects_differences() {
    let info = VideoInfo::new(I420, 16, 16).unwrap();
    assert!(info.is_default_layout());
    let moved = VideoInfo::with_layout(I420, 16, 16, &[0, 256, 320], &[16, 8, 8], 400).unwrap();
    assert!(moved.is_default_layout());
    let swapped = VideoInfo::with_layout(I420, 16, 16, &[0, 320, 256], &[16, 8, 8], 384).unwrap();
    assert!(!swapped.is_default_layout());
    let wide = VideoInfo::with_layout(I420, 16, 16, &[0, 512, 640], &[32, 16, 16], 768).unwrap();
    assert!(!wide.is_default_layout());
}

#[test]
fn errors_are_displayable() {
    let errors = [
        VideoInfo::new(I420, 0, 4).unwrap_err(),
        VideoInfo::new(Rgba, 1 << 30, 1).unwrap_err(),
        VideoInfo::with_layout(Rgba, 4, 4, &[0], &[4], 64).unwrap_err(),
        VideoInfo::new(I420, 4, 4)
            .unwrap()
            .align(&VideoAlignment {
                padding_left: 1,
                ..Default::default()
            })
            .unwrap_err(),
    ];
    for err in errors {
        let msg = err.to_string();
        assert!(msg.len() > 20, "{msg}");
        assert!(msg.contains("RGBA") || msg.contains("I420"), "{msg}");
    }
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

fn any_format() -> impl Strategy<Value = VideoFormat> {
    prop::sample::select(VideoFormat::ALL.to_vec())
}

/// Checks the invariants every VideoInfo must satisfy.
fn check_invariants(info: &VideoInfo) {
    let f = info.format();
    let n = info.n_planes();
    for plane in 0..n {
        let (offset, stride) = (info.offset(plane), info.stride(plane));
        let rows = info.plane_height(plane) as usize;
        assert!(rows >= 1);
        // The visible part of the plane lies within the frame.
        assert!(offset + stride * (rows - 1) + info.plane_row_bytes(plane) <= info.size());
        for comp in f.plane_components(plane) {
            assert!(stride >= info.comp_width(comp) as usize * f.pixel_stride(comp));
            let last = offset
                + (info.comp_height(comp) as usize - 1) * stride
                + f.component_offset(comp)
                + (info.comp_width(comp) as usize - 1) * f.pixel_stride(comp);
            assert!(last < info.size(), "{f} comp {comp}");
        }
    }
}

proptest! {
    // Few cases under Miri (slow), and no failure files (Miri isolates the file system).
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn default_layouts_are_consistent(f in any_format(), w in 1u32..=4096, h in 1u32..=4096) {
        let info = VideoInfo::new(f, w, h).unwrap();
        let n = info.n_planes();
        prop_assert_eq!(n, f.n_planes());
        let offsets = info.offsets();
        prop_assert_eq!(offsets[0], 0);
        for plane in 1..n {
            // Planes follow each other in memory, each after the whole previous plane.
            prop_assert!(offsets[plane] > offsets[plane - 1]);
            prop_assert!(
                offsets[plane]
                    >= offsets[plane - 1] + info.stride(plane - 1) * info.plane_height(plane - 1) as usize
            );
        }
        for plane in 0..n {
            // Every plane, padding rows included, lies within the frame.
            prop_assert!(
                info.offset(plane) + info.stride(plane) * info.plane_height(plane) as usize <= info.size()
            );
            prop_assert_eq!(info.stride(plane) % 4 == 0, !matches!(f, Rgb | Bgr) || info.stride(plane) % 4 == 0);
        }
        for comp in 0..f.n_components() {
            let plane = f.component_plane(comp);
            prop_assert!(info.stride(plane) >= info.comp_width(comp) as usize * f.pixel_stride(comp));
        }
        check_invariants(&info);
        prop_assert!(info.is_default_layout());
        let again = VideoInfo::with_layout(f, w, h, &offsets[..n], &info.strides()[..n], info.size()).unwrap();
        prop_assert_eq!(again, info);
    }

    #[test]
    fn aligned_layouts_are_consistent(
        f in any_format(),
        w in 1u32..=2048,
        h in 1u32..=2048,
        padding in prop::array::uniform4(0u32..=64),
        mask_bits in prop::array::uniform4(0u32..=8),
    ) {
        // Paddings that respect the subsampling, masks of the form 2^k - 1.
        let [top, bottom, left, right] = padding;
        let align = VideoAlignment {
            padding_top: top & !1,
            padding_bottom: bottom,
            padding_left: left & !1,
            padding_right: right,
            stride_align: mask_bits.map(|b| (1u32 << b) - 1),
        };
        let default = VideoInfo::new(f, w, h).unwrap();
        let mut info = default.clone();
        let mut used = align;
        info.align_full(&mut used).unwrap();
        prop_assert!(used.padding_left >= align.padding_left);
        prop_assert_eq!((info.width(), info.height()), (w, h));
        prop_assert!(info.size() >= default.size());
        for plane in 0..info.n_planes() {
            prop_assert_eq!(info.stride(plane) & align.stride_align[plane] as usize, 0);
            prop_assert!(info.stride(plane) >= default.stride(plane));
        }
        check_invariants(&info);
        let n = info.n_planes();
        let again = VideoInfo::with_layout(
            f, w, h, &info.offsets()[..n], &info.strides()[..n], info.size(),
        ).unwrap();
        prop_assert_eq!(again, info);
    }

    #[test]
    fn with_layout_never_panics(
        f in any_format(),
        w in prop_oneof![0u32..=64, Just(u32::MAX), Just(i32::MAX as u32)],
        h in prop_oneof![0u32..=64, Just(u32::MAX), Just(i32::MAX as u32)],
        offsets in prop::collection::vec(prop_oneof![0usize..=8192, Just(usize::MAX), any::<usize>()], 0..=5),
        strides in prop::collection::vec(prop_oneof![0usize..=512, Just(usize::MAX), any::<usize>()], 0..=5),
        size in prop_oneof![0usize..=65536, Just(usize::MAX), any::<usize>()],
    ) {
        if let Ok(info) = VideoInfo::with_layout(f, w, h, &offsets, &strides, size) {
            check_invariants(&info);
        }
    }

    #[test]
    fn align_never_panics(
        f in any_format(),
        w in 1u32..=64,
        h in 1u32..=64,
        padding in prop::array::uniform4(prop_oneof![0u32..=64, Just(u32::MAX), any::<u32>()]),
        masks in prop::array::uniform4(prop_oneof![0u32..=255, any::<u32>()]),
    ) {
        let mut info = VideoInfo::new(f, w, h).unwrap();
        let before = info.clone();
        let [padding_top, padding_bottom, padding_left, padding_right] = padding;
        let align = VideoAlignment { padding_top, padding_bottom, padding_left, padding_right, stride_align: masks };
        match info.align(&align) {
            Ok(()) => check_invariants(&info),
            Err(_) => prop_assert_eq!(info, before),
        }
    }
}
