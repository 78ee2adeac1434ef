//! Pad template caps the video elements share: one definition of "raw video".

use penstock::caps::{Caps, Fraction, Value};
use penstock_video::{VideoFormat, dma_drm};

/// `video/x-raw` in every format penstock handles, any size (1 to `i32::MAX`) and any
/// frame rate, in system memory.
pub fn raw_video() -> Caps {
    raw_video_formats(VideoFormat::ALL)
}

/// `video/x-raw` in `formats` (in that order), any size and frame rate.
pub fn raw_video_formats(formats: impl IntoIterator<Item = VideoFormat>) -> Caps {
    Caps::builder("video/x-raw")
        .field(
            "format",
            Value::list(formats.into_iter().map(VideoFormat::name)),
        )
        .field("width", 1..=i32::MAX)
        .field("height", 1..=i32::MAX)
        .field(
            "framerate",
            Fraction::new(0, 1)..=Fraction::new(i32::MAX, 1),
        )
        .build()
}

/// [`raw_video`] and the same as LINEAR `DMA_DRM` caps in DMA-BUF memory.
pub fn raw_video_and_dma_drm() -> Caps {
    let mut caps = raw_video();
    // Every format has a DRM fourcc, so the conversion cannot fail.
    if let Ok(dma) = dma_drm::raw_caps_to_dma_drm(&caps) {
        caps.append(dma);
    }
    caps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_video_has_every_format_and_open_ranges() {
        let caps = raw_video();
        assert_eq!(caps.len(), 1);
        let s = caps.structure(0).unwrap();
        assert_eq!(s.name(), "video/x-raw");
        let Some(Value::List(formats)) = s.value("format") else {
            panic!("no format list in {caps}");
        };
        assert_eq!(formats.len(), VideoFormat::ALL.len());
        let fixed: Caps = "video/x-raw,format=NV12,width=1920,height=1080,framerate=30/1"
            .parse()
            .unwrap();
        assert!(fixed.can_intersect(&caps));
    }

    #[test]
    fn a_format_subset_keeps_its_order() {
        let caps = raw_video_formats([VideoFormat::Nv12, VideoFormat::I420]);
        assert!(caps.to_string().contains("{ NV12, I420 }"), "{caps}");
    }

    #[test]
    fn the_dma_drm_variant_adds_dmabuf_caps() {
        let caps = raw_video_and_dma_drm();
        assert_eq!(caps.len(), 2);
        assert!(caps.to_string().contains("memory:DMABuf"), "{caps}");
    }
}
