//! `videoconvert`: converts raw video between any two of the 17 formats, with
//! GStreamer 1.22's arithmetic (see [`penstock_video::convert`]).
//!
//! Caps: both pads take every format at any size and rate; the sink side answers caps
//! queries with what downstream can take with the format left free (and the other way
//! round), as GStreamer's videoconvert transforms caps. When the input caps arrive, the
//! output caps are the input caps with the format downstream prefers: the input format
//! itself when downstream accepts it (**passthrough**: buffers are pushed on untouched,
//! no copy, no pool), else the closest format it takes (same colour model and
//! subsampling first).
//!
//! Converting: output buffers come from a pool negotiated with downstream (the
//! allocation query; a VideoMeta layout when downstream understands it), input frames
//! are read in the layout of their VideoMeta when they carry one, and every converted
//! frame is recorded in the copy ledger with reason `convert`.
//!
//! NV12 → I420 when downstream understands VideoMeta: the output buffer *shares* the
//! input's luma memory (no copy) and only the chroma planes are written, into a small
//! pooled memory; the VideoMeta gives the planes' offsets across the two memories.
//!
//! The element is a [`BaseTransform`]: the base runs the allocation query, passes
//! buffers through, forwards events and fixes the output caps with this file's choice
//! of format; this file answers caps queries, chooses the output format and converts.

use std::sync::{Arc, Mutex};

use penstock::PoolConfig;
use penstock::basetransform::{
    Allocation, BaseTransform, Transform, TransformMode, configure_pool,
};
use penstock::buffer::{Buffer, BufferMut};
use penstock::caps::Caps;
use penstock::element::{Element, ElementError, ElementFactory};
use penstock::flow::{FlowError, FlowResult};
use penstock::ledger::{self, CopyReason};
use penstock::memory::Memory;
use penstock::pad::{Pad, PadDirection, PadTemplate};
use penstock::pool::{AcquireParams, BufferPool};
use penstock::query::{AllocationQuery, Query};
use penstock::sync::MutexExt;
use penstock_video::VideoMeta;
use penstock_video::convert::{Converter, deinterleave, planes, planes_mut};
use penstock_video::{VideoFormat, VideoInfo, frame};
use penstock_video::{VideoPoolConfigExt, VideoQueryExt};

/// The factory.
pub fn factory() -> ElementFactory {
    ElementFactory {
        name: "videoconvert",
        long_name: "Colorspace converter",
        klass: "Filter/Converter/Video",
        description: "Converts video from one colorspace to another",
        properties: vec![],
        pad_templates: PadTemplate::sink_and_src(crate::templates::raw_video()),
        create: || Box::new(BaseTransform::new(VideoConvert::default())),
    }
}

/// How buffers are turned into output buffers.
struct Stream {
    in_info: VideoInfo,
    out_info: VideoInfo,
    converter: Mutex<Converter>,
    /// NV12 → I420 with a shared luma memory: a pool of chroma-only buffers.
    share_luma: Option<BufferPool>,
}

/// The element's logic (the element is a [`BaseTransform`] of it).
#[derive(Default)]
pub struct VideoConvert {
    /// Input and output of the caps (a conversion), for the allocation decided after
    /// them.
    sides: Mutex<Option<(VideoInfo, VideoInfo)>>,
    stream: Mutex<Option<Arc<Stream>>>,
}

fn err(e: impl std::fmt::Display) -> ElementError {
    ElementError::new(e.to_string())
}

/// `caps` with the fields a conversion changes (format, colorimetry, chroma siting)
/// opened up to every format, within the template.
fn transform_caps(caps: &Caps) -> Caps {
    if caps.is_any() {
        return crate::templates::raw_video();
    }
    let mut open = Caps::new_empty();
    for (s, f) in caps.iter() {
        let mut s = s.clone();
        for field in ["format", "colorimetry", "chroma-site"] {
            s.remove(field);
        }
        open.append_structure_full(s, f.clone());
    }
    open.intersect(&crate::templates::raw_video())
}

/// A format's colour model: YUV, RGB or gray.
fn model(f: VideoFormat) -> (bool, bool, bool) {
    (f.is_yuv(), f.is_rgb(), f.is_gray())
}

/// How well `to` keeps what `from` has: same format, then same colour model and
/// subsampling, same alpha, same bytes per pixel.
fn score(from: VideoFormat, to: VideoFormat) -> u32 {
    let sub = |f: VideoFormat| (0..f.n_components()).map(|c| f.subsampling(c)).max();
    u32::from(from == to) * 1000
        + u32::from(model(from) == model(to)) * 100
        + u32::from(sub(from) == sub(to)) * 20
        + u32::from(from.has_alpha() == to.has_alpha()) * 10
        + u32::from(from.pixel_stride(0) == to.pixel_stride(0)) * 5
        + u32::from(from.n_planes() == to.n_planes())
}

/// The output caps for fixed input caps `input`, given what downstream takes: the
/// input's format if downstream takes it (with the input's colorimetry if it takes
/// that too: passthrough), else the closest format it takes.
fn choose_output(input: &Caps, in_format: VideoFormat, downstream: &Caps) -> Option<Caps> {
    let mut candidates = VideoFormat::ALL.to_vec();
    candidates.sort_by_key(|&f| std::cmp::Reverse(score(in_format, f)));
    for f in candidates {
        for keep_colorimetry in [true, false] {
            if keep_colorimetry && f != in_format {
                continue;
            }
            let mut c = input.clone();
            let s = c.structure_mut(0)?;
            if !keep_colorimetry {
                s.remove("colorimetry");
                s.remove("chroma-site");
                s.set("format", f.name());
            }
            let common = c.intersect(downstream);
            if common.is_empty() {
                continue;
            }
            let mut fixed = common.fixate();
            if fixed.is_fixed() {
                transfer_colorimetry(input, in_format, &mut fixed, f);
                return Some(fixed);
            }
        }
    }
    None
}

/// GStreamer 1.22's `transfer_colorimetry_from_input`: output caps that do not fix a
/// colorimetry take the input's when both sides are YUV, both RGB or both gray (so an
/// I420 → NV12 conversion of BT.709 frames stays BT.709 instead of falling to the
/// default of its size), and YUV output takes the input's chroma siting when the
/// subsampling does not change.
fn transfer_colorimetry(input: &Caps, fi: VideoFormat, output: &mut Caps, fo: VideoFormat) {
    let Some(si) = input.structure(0) else { return };
    let subsampling = |f: VideoFormat| {
        (0..f.n_components())
            .map(|c| f.subsampling(c))
            .collect::<Vec<_>>()
    };
    let colorimetry = si.get_str("colorimetry").map(str::to_owned);
    let site = si.get_str("chroma-site").map(str::to_owned);
    let Some(so) = output.structure_mut(0) else {
        return;
    };
    if let Some(c) = colorimetry {
        if !so.has_field("colorimetry") && model(fi) == model(fo) {
            so.set("colorimetry", c.as_str());
        }
    }
    if let Some(c) = site {
        if !so.has_field("chroma-site") && fo.is_yuv() && subsampling(fi) == subsampling(fo) {
            so.set("chroma-site", c.as_str());
        }
    }
}

/// Where the chain's output of one buffer comes from.
enum Output {
    /// A frame from the output pool, converted whole.
    Frame,
    /// NV12 → I420: the input's luma memory (shared) and a chroma buffer.
    SharedLuma {
        /// The input's luma plane.
        y_mem: Memory,
        /// Its length.
        y_len: usize,
    },
}

impl VideoConvert {
    fn stream(&self) -> Option<Arc<Stream>> {
        self.stream.lock_ignore_poison().clone()
    }

    fn set_stream(&self, s: Option<Arc<Stream>>) {
        let old = std::mem::replace(&mut *self.stream.lock_ignore_poison(), s);
        if let Some(p) = old.as_ref().and_then(|old| old.share_luma.as_ref()) {
            let _ = p.set_active(false);
        }
    }

    /// The layout `buffer` is read in: its VideoMeta's, else the caps'; it must be the
    /// caps' format and size.
    fn input_layout(
        stream: &Stream,
        buffer: &Buffer,
        fail: &dyn Fn(String) -> FlowError,
    ) -> Result<VideoInfo, FlowError> {
        let in_layout = match buffer.meta::<VideoMeta>() {
            Some(m) => m
                .layout(buffer.size())
                .map_err(|e| fail(format!("input video meta: {e}")))?,
            None => stream.in_info.clone(),
        };
        if in_layout.format() != stream.in_info.format()
            || in_layout.width() != stream.in_info.width()
            || in_layout.height() != stream.in_info.height()
        {
            return Err(fail(format!(
                "input frame is {} {}x{} but the caps say {} {}x{}",
                in_layout.format(),
                in_layout.width(),
                in_layout.height(),
                stream.in_info.format(),
                stream.in_info.width(),
                stream.in_info.height()
            )));
        }
        Ok(in_layout)
    }

    /// How `buffer` is converted: sharing its luma when the stream does and the luma
    /// lies inside one memory, else into a whole frame.
    fn output_kind(stream: &Stream, buffer: &Buffer, in_layout: &VideoInfo) -> Output {
        if stream.share_luma.is_none() {
            return Output::Frame;
        }
        let (w, h) = (in_layout.width() as usize, in_layout.height() as usize);
        let y_len = in_layout.stride(0) * (h - 1) + w;
        let Some((idx, 1, skip)) = buffer.find_memory(in_layout.offset(0), y_len) else {
            return Output::Frame;
        };
        match buffer.memory(idx).and_then(|m| m.share(skip, y_len).ok()) {
            Some(y_mem) => Output::SharedLuma { y_mem, y_len },
            None => Output::Frame,
        }
    }

    fn convert(
        &self,
        element: &Element,
        stream: &Stream,
        buffer: &Buffer,
        out: &mut BufferMut,
    ) -> FlowResult {
        let fail = |what: String| {
            element.post_error(&what, None);
            FlowError::Error
        };
        let in_layout = Self::input_layout(stream, buffer, &fail)?;
        if let Output::SharedLuma { y_mem, y_len } = Self::output_kind(stream, buffer, &in_layout) {
            return Self::convert_sharing_luma(
                stream,
                buffer,
                &in_layout,
                (y_mem, y_len),
                out,
                &fail,
            );
        }
        let out_layout = match out.meta::<VideoMeta>() {
            Some(m) => m
                .layout(out.size())
                .map_err(|e| fail(format!("output video meta: {e}")))?,
            None => stream.out_info.clone(),
        };
        {
            let map = buffer
                .map_read()
                .map_err(|e| fail(format!("cannot map the input: {e}")))?;
            let src = planes(&map, &in_layout).map_err(|e| fail(e.to_string()))?;
            let mut w = out
                .map_memory_write(0)
                .map_err(|e| fail(format!("cannot map an output frame: {e}")))?;
            let mut dst = planes_mut(&mut w, &out_layout).map_err(|e| fail(e.to_string()))?;
            stream
                .converter
                .lock_ignore_poison()
                .convert(&src, &mut dst)
                .map_err(|e| fail(e.to_string()))?;
        }
        ledger::record_copy(CopyReason::Convert, stream.out_info.size(), "videoconvert");
        Ok(())
    }

    /// NV12 → I420 with the input's luma memory shared into the output (a buffer from
    /// the chroma pool): only the chroma is written.
    fn convert_sharing_luma(
        stream: &Stream,
        buffer: &Buffer,
        in_layout: &VideoInfo,
        (y_mem, y_len): (Memory, usize),
        out: &mut BufferMut,
        fail: &dyn Fn(String) -> FlowError,
    ) -> FlowResult {
        let (w, h) = (in_layout.width() as usize, in_layout.height() as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let cstride = stream.out_info.stride(1);
        let csize = cstride * ch;
        {
            let map = buffer
                .map_read()
                .map_err(|e| fail(format!("cannot map the input: {e}")))?;
            let uv_off = in_layout.offset(1);
            let uv_stride = in_layout.stride(1);
            let mut wmap = out
                .map_memory_write(0)
                .map_err(|e| fail(format!("cannot map an output frame: {e}")))?;
            let (u_plane, v_plane) = wmap.split_at_mut(csize);
            for r in 0..ch {
                let s = map
                    .get(uv_off + r * uv_stride..uv_off + r * uv_stride + cw * 2)
                    .ok_or_else(|| fail("input chroma plane is cut short".into()))?;
                deinterleave(
                    s,
                    &mut u_plane[r * cstride..r * cstride + cw],
                    &mut v_plane[r * cstride..r * cstride + cw],
                );
            }
        }
        ledger::record_copy(CopyReason::Convert, 2 * csize, "videoconvert");
        out.insert_memory(0, y_mem);
        let mut meta = VideoMeta::from_info(&stream.out_info);
        meta.offset[0] = 0;
        meta.stride[0] = in_layout.stride(0);
        meta.offset[1] = y_len;
        meta.stride[1] = cstride;
        meta.offset[2] = y_len + csize;
        meta.stride[2] = cstride;
        out.add_meta(meta);
        Ok(())
    }
}

/// Configures the output pool from downstream's answer.
fn decide_allocation(
    element: &Element,
    q: &AllocationQuery,
    in_info: VideoInfo,
    out_info: VideoInfo,
) -> Result<(Stream, BufferPool), ElementError> {
    let converter = Converter::new(&in_info, &out_info).map_err(err)?;
    let min = q.pools.first().map_or(0, |p| p.min).max(2);
    let mut config = PoolConfig::video(out_info.clone())
        .min_max(min, 0)
        .params(q.params());
    let meta = q.has_meta::<VideoMeta>();
    if meta {
        config = match q.video_alignment() {
            Some(a) => config.with_video_alignment(a),
            None => config.with_video_meta(),
        };
    }
    let pool = match q.pools.first().and_then(|p| p.pool.clone()) {
        Some(p) => p,
        None => BufferPool::new(format!("{}-pool", element.name())),
    };
    configure_pool(&pool, config)?;
    // Sharing the luma needs downstream to read planes through the video meta, and no
    // stride or padding demands of its own.
    let share_luma = (meta
        && q.video_alignment().is_none()
        && in_info.format() == VideoFormat::Nv12
        && out_info.format() == VideoFormat::I420
        && converter.keeps_samples())
    .then(|| -> Result<BufferPool, ElementError> {
        let chroma = 2 * out_info.stride(1) * (out_info.height() as usize).div_ceil(2);
        let p = BufferPool::new(format!("{}-chroma-pool", element.name()));
        p.set_config(PoolConfig::new(chroma).min_max(min, 0).params(q.params()))
            .map_err(err)?;
        p.set_active(true).map_err(err)?;
        Ok(p)
    })
    .transpose()?;
    Ok((
        Stream {
            in_info,
            out_info,
            converter: Mutex::new(converter),
            share_luma,
        },
        pool,
    ))
}

impl Transform for VideoConvert {
    fn transform_caps(
        &self,
        _element: &Element,
        _direction: PadDirection,
        caps: &Caps,
        filter: Option<&Caps>,
    ) -> Caps {
        let open = transform_caps(caps);
        match filter {
            Some(f) => f.intersect(&open),
            None => open,
        }
    }

    /// What the other side's peer takes, with the format opened: its whole answer, not
    /// the part within the conversion's formats (the base's default), so that
    /// negotiation reaches the caps event and its error names the conversion and what
    /// downstream takes.
    fn query_caps(&self, element: &Element, pad: &Pad, filter: Option<&Caps>) -> Caps {
        let other = match pad.direction() {
            PadDirection::Sink => element.src_pad(),
            PadDirection::Src => element.sink_pad(),
        };
        let theirs = other.map_or_else(Caps::new_any, |p| p.peer_caps(None));
        let caps = transform_caps(&theirs).intersect(&pad.template().caps);
        match filter {
            Some(f) => f.intersect(&caps),
            None => caps,
        }
    }

    /// The input's format if downstream takes it, else the closest it takes.
    fn fixate_caps(
        &self,
        element: &Element,
        incaps: &Caps,
        othercaps: Caps,
    ) -> Result<Caps, ElementError> {
        let in_info = match frame::info_from_caps(incaps) {
            Some(Ok(i)) => i,
            Some(Err(e)) => return Err(err(e)),
            None => return Err(err(format!("not raw video: {incaps}"))),
        };
        choose_output(incaps, in_info.format(), &othercaps).ok_or_else(|| {
            // Name all that downstream takes, not only its part within the conversion.
            let src = element.src_pad();
            let downstream = src
                .as_ref()
                .map_or_else(Caps::new_any, |p| p.peer_caps(None));
            ElementError::new(format!(
                "not negotiated: {} cannot convert {incaps} to anything {} takes \
                 ({downstream})",
                element.path(),
                src.and_then(|p| p.peer())
                    .map(|p| p.path())
                    .unwrap_or_else(|| "(unlinked)".into()),
            ))
            .with_debug(format!("downstream: {downstream}"))
        })
    }

    /// Passthrough when the format stays and the conversion keeps every sample, else a
    /// conversion.
    fn set_caps(
        &self,
        _element: &Element,
        incaps: &Caps,
        outcaps: &Caps,
    ) -> Result<TransformMode, ElementError> {
        let in_info = match frame::info_from_caps(incaps) {
            Some(Ok(i)) => i,
            Some(Err(e)) => return Err(err(e)),
            None => return Err(err(format!("not raw video: {incaps}"))),
        };
        let out_info = match frame::info_from_caps(outcaps) {
            Some(Ok(i)) => i,
            _ => return Err(err(format!("bad output caps {outcaps}"))),
        };
        let converter = Converter::new(&in_info, &out_info).map_err(err)?;
        if out_info.format() == in_info.format() && converter.keeps_samples() {
            self.set_stream(None);
            *self.sides.lock_ignore_poison() = None;
            return Ok(TransformMode::Passthrough);
        }
        *self.sides.lock_ignore_poison() = Some((in_info, out_info));
        Ok(TransformMode::NewBuffer)
    }

    fn decide_allocation(
        &self,
        element: &Element,
        query: &AllocationQuery,
        _answered: bool,
        _mode: TransformMode,
    ) -> Result<Allocation, ElementError> {
        let (input, output) = self
            .sides
            .lock_ignore_poison()
            .clone()
            .ok_or_else(|| err("no caps"))?;
        let (stream, pool) = decide_allocation(element, query, input, output)?;
        self.set_stream(Some(Arc::new(stream)));
        Ok(Allocation::new_buffers(Some(pool)))
    }

    /// We read any layout a video meta describes.
    fn propose_allocation(
        &self,
        _element: &Element,
        _mode: TransformMode,
        query: &mut Query,
    ) -> bool {
        if let Query::Allocation(q) = query {
            q.add_video_meta(None);
            if let Some(Ok(info)) = frame::info_from_caps(&q.caps) {
                q.add_pool(None, info.size(), 2, 0);
            }
        }
        true
    }

    fn prepare_output_buffer(
        &self,
        element: &Element,
        input: &Buffer,
        pool: Option<&BufferPool>,
    ) -> Result<BufferMut, FlowError> {
        let stream = self.stream().ok_or(FlowError::NotNegotiated)?;
        let fail = |what: String| {
            element.post_error(&what, None);
            FlowError::Error
        };
        let in_layout = Self::input_layout(&stream, input, &fail)?;
        let pool = match (
            &stream.share_luma,
            Self::output_kind(&stream, input, &in_layout),
        ) {
            (Some(chroma), Output::SharedLuma { .. }) => chroma,
            _ => pool.ok_or(FlowError::NotNegotiated)?,
        };
        pool.acquire(AcquireParams::default())
            .map_err(|_| FlowError::Flushing)
    }

    fn transform(&self, element: &Element, input: &Buffer, output: &mut BufferMut) -> FlowResult {
        let stream = self.stream().ok_or(FlowError::NotNegotiated)?;
        self.convert(element, &stream, input, output)
    }

    fn unlock(&self, _element: &Element) {
        if let Some(p) = self.stream().as_ref().and_then(|s| s.share_luma.as_ref()) {
            p.set_flushing(true);
        }
    }

    fn unlock_stop(&self, _element: &Element) {
        if let Some(p) = self.stream().as_ref().and_then(|s| s.share_luma.as_ref()) {
            p.set_flushing(false);
        }
    }

    fn stop(&self, _element: &Element) {
        self.set_stream(None);
        *self.sides.lock_ignore_poison() = None;
    }
}
