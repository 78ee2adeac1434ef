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

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use penstock::PoolConfig;
use penstock::buffer::{Buffer, BufferMut};
use penstock::caps::Caps;
use penstock::element::{Element, ElementError, ElementFactory, ElementImpl, StateChange};
use penstock::event::Event;
use penstock::flow::{FlowError, FlowResult};
use penstock::ledger::{self, CopyReason};
use penstock::pad::{Pad, PadDirection, PadTemplate};
use penstock::pool::{AcquireParams, BufferPool, PoolError};
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
        create: || Box::new(VideoConvert::default()),
    }
}

/// How buffers are turned into output buffers.
struct Stream {
    in_info: VideoInfo,
    out_info: VideoInfo,
    converter: Mutex<Converter>,
    pool: BufferPool,
    /// NV12 → I420 with a shared luma memory: a pool of chroma-only buffers.
    share_luma: Option<BufferPool>,
}

/// The element.
#[derive(Default)]
pub struct VideoConvert {
    sink: OnceLock<Pad>,
    src: OnceLock<Pad>,
    /// Input caps = output caps: push buffers as they come (read without a lock).
    passthrough: AtomicBool,
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

impl VideoConvert {
    fn stream(&self) -> Option<Arc<Stream>> {
        self.stream.lock_ignore_poison().clone()
    }

    fn set_stream(&self, s: Option<Arc<Stream>>) {
        let old = std::mem::replace(&mut *self.stream.lock_ignore_poison(), s);
        if let Some(old) = old {
            let _ = old.pool.set_active(false);
            if let Some(p) = &old.share_luma {
                let _ = p.set_active(false);
            }
        }
    }

    /// New input caps: pick and send the output caps, then set up the conversion.
    fn set_caps(&self, element: &Element, caps: &Caps) -> Result<(), ElementError> {
        let src = self.src.get().ok_or_else(|| err("no source pad"))?;
        let in_info = match frame::info_from_caps(caps) {
            Some(Ok(i)) => i,
            Some(Err(e)) => return Err(err(e)),
            None => return Err(err(format!("not raw video: {caps}"))),
        };
        let downstream = src.peer_caps(None);
        let out_caps = choose_output(caps, in_info.format(), &downstream).ok_or_else(|| {
            ElementError::new(format!(
                "not negotiated: {} cannot convert {caps} to anything {} takes \
                 ({downstream})",
                element.path(),
                src.peer()
                    .map(|p| p.path())
                    .unwrap_or_else(|| "(unlinked)".into()),
            ))
            .with_debug(format!("downstream: {downstream}"))
        })?;
        let out_info = match frame::info_from_caps(&out_caps) {
            Some(Ok(i)) => i,
            _ => {
                return Err(err(format!("bad output caps {out_caps}")));
            }
        };
        let converter = Converter::new(&in_info, &out_info).map_err(err)?;
        let passthrough = out_info.format() == in_info.format() && converter.keeps_samples();
        // Passthrough is decided before downstream sees the caps, so that an allocation
        // query coming back from upstream is forwarded.
        self.passthrough.store(passthrough, Ordering::Release);
        if !src.push_event(Event::Caps(out_caps.clone())) {
            return Err(err(format!(
                "not negotiated: downstream of {} refused {out_caps}",
                src.path()
            )));
        }
        if passthrough {
            self.set_stream(None);
            return Ok(());
        }
        let mut q = Query::Allocation(AllocationQuery::new(out_caps, true));
        src.peer_query(&mut q);
        let Query::Allocation(q) = q else {
            return Err(err("allocation query changed kind"));
        };
        let stream = decide_allocation(element, &q, converter, in_info, out_info)?;
        self.set_stream(Some(Arc::new(stream)));
        Ok(())
    }

    fn convert(
        &self,
        element: &Element,
        stream: &Stream,
        buffer: &Buffer,
    ) -> Result<Buffer, FlowError> {
        let fail = |what: String| {
            element.post_error(&what, None);
            FlowError::Error
        };
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
        if let Some(chroma_pool) = &stream.share_luma {
            if let Some(out) =
                self.convert_sharing_luma(stream, chroma_pool, buffer, &in_layout, &fail)?
            {
                return Ok(out);
            }
        }
        let mut out = stream
            .pool
            .acquire(AcquireParams::default())
            .map_err(|_| FlowError::Flushing)?;
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
        copy_attributes(buffer, &mut out);
        Ok(out.freeze())
    }

    /// NV12 → I420 with the input's luma memory shared into the output: only the
    /// chroma is written. `None` when the input's luma is not inside one memory.
    fn convert_sharing_luma(
        &self,
        stream: &Stream,
        chroma_pool: &BufferPool,
        buffer: &Buffer,
        in_layout: &VideoInfo,
        fail: &dyn Fn(String) -> FlowError,
    ) -> Result<Option<Buffer>, FlowError> {
        let (w, h) = (in_layout.width() as usize, in_layout.height() as usize);
        let y_len = in_layout.stride(0) * (h - 1) + w;
        let Some((idx, 1, skip)) = buffer.find_memory(in_layout.offset(0), y_len) else {
            return Ok(None);
        };
        let Some(y_mem) = buffer.memory(idx).and_then(|m| m.share(skip, y_len).ok()) else {
            return Ok(None);
        };
        let mut out = chroma_pool
            .acquire(AcquireParams::default())
            .map_err(|_| FlowError::Flushing)?;
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
        copy_attributes(buffer, &mut out);
        Ok(Some(out.freeze()))
    }
}

fn copy_attributes(from: &Buffer, to: &mut BufferMut) {
    to.set_pts(from.pts());
    to.set_dts(from.dts());
    to.set_duration(from.duration());
    to.set_offset(from.offset());
    to.set_offset_end(from.offset_end());
    to.set_flags(from.flags());
}

/// Configures the output pool from downstream's answer.
fn decide_allocation(
    element: &Element,
    q: &AllocationQuery,
    converter: Converter,
    in_info: VideoInfo,
    out_info: VideoInfo,
) -> Result<Stream, ElementError> {
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
    match pool.set_config(config) {
        Ok(_) => {}
        Err(PoolError::Config {
            proposal: Some(p), ..
        }) => {
            pool.set_config(*p).map_err(err)?;
        }
        Err(e) => return Err(err(e)),
    }
    pool.set_active(true).map_err(err)?;
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
    Ok(Stream {
        in_info,
        out_info,
        converter: Mutex::new(converter),
        pool,
        share_luma,
    })
}

impl ElementImpl for VideoConvert {
    fn init(&self, element: &Element) {
        if let Some(p) = element.src_pad() {
            let _ = self.src.set(p);
        }
        if let Some(p) = element.sink_pad() {
            let _ = self.sink.set(p);
        }
    }

    fn change_state(&self, _element: &Element, change: StateChange) -> Result<(), ElementError> {
        if change == StateChange::PausedToReady {
            self.set_stream(None);
            self.passthrough.store(false, Ordering::Release);
        }
        Ok(())
    }

    fn unlock(&self, _element: &Element) {
        if let Some(s) = self.stream() {
            s.pool.set_flushing(true);
            if let Some(p) = &s.share_luma {
                p.set_flushing(true);
            }
        }
    }

    fn chain(&self, element: &Element, _pad: &Pad, buffer: Buffer) -> FlowResult {
        let src = self.src.get().ok_or(FlowError::NotLinked)?;
        if self.passthrough.load(Ordering::Acquire) {
            return src.push(buffer);
        }
        let stream = self.stream().ok_or(FlowError::NotNegotiated)?;
        let out = self.convert(element, &stream, &buffer)?;
        // The input goes back to its pool after the output: an output sharing its luma
        // is usually released downstream within this push, so the input's memory is
        // unshared again when the input returns and its pool can reuse it.
        let result = src.push(out);
        drop(buffer);
        result
    }

    fn sink_event(&self, element: &Element, _pad: &Pad, event: Event) -> bool {
        match event {
            Event::Caps(caps) => match self.set_caps(element, &caps) {
                Ok(()) => true,
                Err(e) => {
                    element.post_error(&e.message, e.debug);
                    false
                }
            },
            Event::FlushStop { .. } => {
                if let Some(s) = self.stream() {
                    s.pool.set_flushing(false);
                    if let Some(p) = &s.share_luma {
                        p.set_flushing(false);
                    }
                }
                element.forward_event_downstream(event)
            }
            other => element.forward_event_downstream(other),
        }
    }

    fn query(&self, element: &Element, pad: &Pad, query: &mut Query) -> bool {
        match query {
            Query::Caps(q) => {
                let other = match pad.direction() {
                    PadDirection::Sink => self.src.get(),
                    PadDirection::Src => self.sink.get(),
                };
                let theirs = other.map_or_else(Caps::new_any, |p| p.peer_caps(None));
                let mut caps = transform_caps(&theirs).intersect(&pad.template().caps);
                if let Some(f) = &q.filter {
                    caps = f.intersect(&caps);
                }
                q.result = Some(caps);
                true
            }
            Query::AcceptCaps { caps, result } => {
                let other = match pad.direction() {
                    PadDirection::Sink => self.src.get(),
                    PadDirection::Src => self.sink.get(),
                };
                let theirs = other.map_or_else(Caps::new_any, |p| p.peer_caps(None));
                *result = caps.can_intersect(&pad.template().caps)
                    && caps.can_intersect(&transform_caps(&theirs));
                true
            }
            Query::Allocation(q) if pad.direction() == PadDirection::Sink => {
                if self.passthrough.load(Ordering::Acquire) {
                    return element.default_query(pad, query);
                }
                // We read any layout a video meta describes.
                q.add_video_meta(None);
                if let Some(Ok(info)) = frame::info_from_caps(&q.caps) {
                    q.add_pool(None, info.size(), 2, 0);
                }
                true
            }
            _ => element.default_query(pad, query),
        }
    }
}
