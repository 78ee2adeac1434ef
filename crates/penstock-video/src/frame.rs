//! Video caps ↔ [`VideoInfo`], and re-laying frames out when a consumer cannot read a
//! producer's layout.

use crate::meta::VideoMeta;
use penstock::buffer::{BufferError, BufferMut, BufferRef};
use penstock::caps::{Caps, Structure};
use penstock::ledger::{self, CopyReason};

use super::dma_drm::{DMA_DRM_FORMAT, VideoInfoDmaDrm};
use super::{Colorimetry, VideoError, VideoFormat, VideoInfo};

/// The frame layout fixed `video/x-raw` caps describe (GStreamer's default layout, with
/// the colorimetry of the caps' `colorimetry` and `chroma-site` fields,
/// [`Colorimetry::from_caps_fields`]), or `None` for caps that are not fixed raw video.
///
/// Two kinds of caps describe a layout:
///
/// * system memory with a format name: `video/x-raw, format=NV12, width=…, height=…`;
/// * DMA_DRM caps with a LINEAR modifier: `video/x-raw(memory:DMABuf), format=DMA_DRM,
///   drm-format=NV12, width=…, height=…` is laid out exactly like the equivalent plain
///   format (see [`dma_drm`](super::dma_drm)).
///
/// A `colorimetry` or `chroma-site` field that cannot be read gives
/// `Some(Err(VideoError::Colorimetry(…)))`, naming the field and the value.
/// Other DMA_DRM caps give `Some(Err(VideoError::DmaDrm(…)))` saying why there is no CPU
/// layout (a tiled or compressed modifier, a fourcc penstock does not know, a bad
/// `drm-format`). Caps in other memory (such as `video/x-raw(memory:DMABuf),
/// format=NV12`, the pre-1.24 spelling) give `None`.
pub fn info_from_caps(caps: &Caps) -> Option<Result<VideoInfo, VideoError>> {
    let s = caps.structure(0)?;
    if s.name() != "video/x-raw" {
        return None;
    }
    let features = caps.features(0)?;
    if s.get_str("format") == Some(DMA_DRM_FORMAT) {
        if !caps.is_fixed() {
            return None;
        }
        let info = VideoInfoDmaDrm::from_caps(caps).and_then(|i| i.cpu_layout().cloned());
        return Some(
            info.map_err(|e| VideoError::DmaDrm(Box::new(e)))
                .and_then(|i| with_caps_colorimetry(i, s)),
        );
    }
    if !features.is_system_memory() {
        return None;
    }
    let name = s.get_str("format")?;
    let Some(format) = VideoFormat::from_name(name) else {
        return Some(Err(VideoError::UnknownFormat {
            name: name.to_owned(),
        }));
    };
    let width = u32::try_from(s.get_int("width")?).ok()?;
    let height = u32::try_from(s.get_int("height")?).ok()?;
    Some(VideoInfo::new(format, width, height).and_then(|i| with_caps_colorimetry(i, s)))
}

/// `info` with the colorimetry of the caps structure `s` (its `colorimetry` and
/// `chroma-site` fields, [`Colorimetry::from_caps_fields`]).
fn with_caps_colorimetry(info: VideoInfo, s: &Structure) -> Result<VideoInfo, VideoError> {
    let c = Colorimetry::from_caps_fields(
        info.format(),
        info.height(),
        s.get_str("colorimetry"),
        s.get_str("chroma-site"),
    )?;
    Ok(info.with_colorimetry(c))
}

/// True if `meta` describes exactly `info`'s default layout.
pub fn meta_matches(meta: &VideoMeta, info: &VideoInfo) -> bool {
    let n = info.n_planes();
    meta.format == info.format()
        && meta.width == info.width()
        && meta.height == info.height()
        && meta.modifier == 0
        && meta.offset[..n] == info.offsets()[..n]
        && meta.stride[..n] == info.strides()[..n]
}

/// Copies the frame in `src` (laid out as `meta` says) into `dst` in `info`'s default
/// layout, row by row, recorded in the ledger with reason `alignment`.
///
/// # Errors
/// [`BufferError`] if a buffer cannot be mapped or is too small for its layout.
pub fn copy_to_layout(
    src: &BufferRef,
    meta: &VideoMeta,
    info: &VideoInfo,
    dst: &mut BufferMut,
) -> Result<(), BufferError> {
    let map = src.map_read()?;
    let mut out = dst.map_memory_write(0)?;
    let too_small = |what: &'static str, size| BufferError::OutOfRange {
        what,
        offset: 0,
        size,
        total: map.len(),
    };
    let mut copied = 0;
    for plane in 0..info.n_planes() {
        let rows = info.plane_height(plane) as usize;
        let row_bytes = info.plane_row_bytes(plane);
        for row in 0..rows {
            let s = meta.offset[plane] + row * meta.stride[plane];
            let d = info.offset(plane) + row * info.stride(plane);
            let from = map
                .get(s..s + row_bytes)
                .ok_or_else(|| too_small("video frame (source layout)", s + row_bytes))?;
            let to = out
                .get_mut(d..d + row_bytes)
                .ok_or_else(|| too_small("video frame (default layout)", d + row_bytes))?;
            to.copy_from_slice(from);
            copied += row_bytes;
        }
    }
    ledger::record_copy(CopyReason::Alignment, copied, "video::copy_to_layout");
    Ok(())
}
