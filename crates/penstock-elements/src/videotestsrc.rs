//! `videotestsrc`: renders GStreamer's test patterns straight into buffers acquired from
//! the negotiated pool (no intermediate frame, no copy).

use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use penstock::allocator::{AllocationParams, Allocator};
use penstock::basesrc::{BaseSrc, BufferAdapter, PushSource};
use penstock::buffer::Buffer;
use penstock::caps::{Caps, Fraction};
use penstock::drm::DrmFormat;
use penstock::element::{
    Element, ElementError, ElementFactory, PropValue, PropertyError, PropertySpec,
};
use penstock::flow::FlowError;
use penstock::pad::PadTemplate;
use penstock::pool::{AcquireParams, BufferPool};
use penstock::property::PropertyTable;
use penstock::query::AllocationQuery;
use penstock::sync::MutexExt;
use penstock::{ClockTime, PoolConfig};
use penstock_video::VideoMeta;
use penstock_video::dma_drm::{self, VideoInfoDmaDrm};
use penstock_video::negotiate::source::{
    AllocatorTest, allocator_for, fixate_dma_drm, wants_dma_drm,
};
use penstock_video::negotiate::{FirstCandidate, Producer};
use penstock_video::testsrc::{Pattern, RenderOptions, Renderer};
use penstock_video::{ColorMatrix, ColorRange, Colorimetry, VideoFormat, VideoInfo};
use penstock_video::{VideoPoolConfigExt, VideoQueryExt};

fn pattern_values() -> &'static [(i32, &'static str, &'static str)] {
    static VALUES: std::sync::OnceLock<Vec<(i32, &'static str, &'static str)>> =
        std::sync::OnceLock::new();
    VALUES.get_or_init(|| {
        Pattern::ALL
            .iter()
            .filter(|p| p.is_supported())
            .map(|p| (p.value(), p.nick(), p.nick()))
            .collect()
    })
}

/// The factory.
pub fn factory() -> ElementFactory {
    ElementFactory {
        name: "videotestsrc",
        long_name: "Video test source",
        klass: "Source/Video",
        description: "Creates a test video stream",
        properties: PROPERTIES.specs(),
        pad_templates: vec![PadTemplate::always_src(
            crate::templates::raw_video_and_dma_drm(),
        )],
        create: || Box::new(BaseSrc::new(VideoTestSrc::default())),
    }
}

#[derive(Debug, Clone)]
struct Settings {
    num_buffers: i64,
    is_live: bool,
    pattern: i32,
    foreground: u32,
    background: u32,
}

struct Stream {
    info: VideoInfo,
    frame_duration: Option<Rate>,
    renderer: Renderer,
    pool: BufferPool,
    n: u64,
    started: Instant,
}

/// The caps' framerate `num/den` (`den > 0`; `num == 0` is a still image).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rate {
    num: u64,
    den: u64,
}

impl Rate {
    /// Running time of frame `n`: `n * den * GST_SECOND / num` truncated, as
    /// GStreamer's `gst_util_uint64_scale` computes it, from the frame count so that
    /// nothing accumulates (frame 3 at 30/1 is 0.100000000, not 0.099999999). Computed
    /// in u128; saturates at `u64::MAX` ns (584 years). A still image (`num == 0`) is
    /// always at 0.
    fn running_time(self, n: u64) -> ClockTime {
        if self.num == 0 {
            return ClockTime::ZERO;
        }
        let ns = u128::from(n) * u128::from(self.den) * 1_000_000_000 / u128::from(self.num);
        ClockTime::from_nseconds(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    /// Duration of frame `n`: the next frame's running time minus this one's, as
    /// GStreamer's videotestsrc sets it (so durations alternate where the rate does
    /// not divide a second); none for a still image.
    fn duration(self, n: u64) -> Option<ClockTime> {
        if self.num == 0 {
            return None;
        }
        let next = self.running_time(n.saturating_add(1)).nseconds();
        Some(ClockTime::from_nseconds(
            next.saturating_sub(self.running_time(n).nseconds()),
        ))
    }
}

/// What `set_caps` decided, for `decide_allocation`.
struct Pending {
    info: VideoInfo,
    frame_duration: Option<Rate>,
    /// The DRM format when the caps are `memory:DMABuf` (DMA_DRM).
    dmabuf: Option<DrmFormat>,
}

/// The colorimetry frames are rendered with, from the caps' `colorimetry` and
/// `chroma-site` fields as GStreamer 1.22's videotestsrc takes them (checked byte for
/// byte; [`Colorimetry::from_caps_fields`]): without `colorimetry`, the defaults of the
/// size, `chroma-site` not read; with it, the siting is the field's, or centred when
/// absent, whatever the size. Only YUV reads the caps (gray is drawn with BT.601
/// whatever they say). The renderer draws limited-range BT.601 and BT.709; other
/// values are an error rather than frames in a colorimetry the caps do not say.
fn render_colorimetry(
    s: &penstock::caps::Structure,
    info: &VideoInfo,
) -> Result<Colorimetry, String> {
    let format = info.format();
    let default = Colorimetry::default_for(format, info.height());
    if !format.is_yuv() {
        return Ok(default);
    }
    let Some(v) = s.get_str("colorimetry") else {
        return Ok(default);
    };
    let c = Colorimetry::from_caps_fields(format, info.height(), Some(v), s.get_str("chroma-site"))
        .map_err(|e| e.to_string())?;
    if c.range == ColorRange::Full || !matches!(c.matrix, ColorMatrix::Bt601 | ColorMatrix::Bt709) {
        return Err(format!(
            "colorimetry={v} ({:?} {:?}): videotestsrc renders limited-range \
             BT.601 and BT.709 only",
            c.range, c.matrix
        ));
    }
    Ok(c)
}

static PROPERTIES: LazyLock<PropertyTable<VideoTestSrc>> = LazyLock::new(|| {
    PropertyTable::<VideoTestSrc>::new()
        .add(
            crate::num_buffers_property(
                "Number of buffers to output before sending EOS (-1 = unlimited)",
            ),
            |s| s.settings.lock_ignore_poison().num_buffers,
            |s, v| s.settings.lock_ignore_poison().num_buffers = v,
        )
        .add(
            PropertySpec::bool(
                "is-live",
                "Whether to act as a live source (pace buffers at the frame rate)",
                false,
            ),
            |s| s.settings.lock_ignore_poison().is_live,
            |s, v| s.settings.lock_ignore_poison().is_live = v,
        )
        .add(
            PropertySpec::enumeration(
                "pattern",
                "Type of test pattern to generate",
                pattern_values(),
                0,
            ),
            |s| s.settings.lock_ignore_poison().pattern,
            |s, v| s.settings.lock_ignore_poison().pattern = v,
        )
        .add(
            PropertySpec::uint(
                "foreground-color",
                "Foreground color to use (big-endian ARGB)",
                0..=u64::from(u32::MAX),
                0xffff_ffff,
            ),
            |s| u64::from(s.settings.lock_ignore_poison().foreground),
            |s, v| s.settings.lock_ignore_poison().foreground = v as u32,
        )
        .add(
            PropertySpec::uint(
                "background-color",
                "Background color to use (big-endian ARGB)",
                0..=u64::from(u32::MAX),
                0xff00_0000,
            ),
            |s| u64::from(s.settings.lock_ignore_poison().background),
            |s, v| s.settings.lock_ignore_poison().background = v as u32,
        )
});

/// The source.
pub struct VideoTestSrc {
    settings: Mutex<Settings>,
    stream: Mutex<Option<Stream>>,
    pending: Mutex<Option<Pending>>,
}

impl Default for VideoTestSrc {
    fn default() -> Self {
        VideoTestSrc {
            settings: Mutex::new(Settings {
                num_buffers: -1,
                is_live: false,
                pattern: 0,
                foreground: 0xffff_ffff,
                background: 0xff00_0000,
            }),
            stream: Mutex::new(None),
            pending: Mutex::new(None),
        }
    }
}

/// The caps with GStreamer's videotestsrc defaults fixated, nearest: 320x240 at 30/1.
fn fixate_size(mut caps: Caps) -> Caps {
    caps.fixate_field_nearest_int("width", 320);
    caps.fixate_field_nearest_int("height", 240);
    caps.fixate_field_nearest_fraction("framerate", Fraction::new(30, 1));
    caps
}

fn err(e: impl std::fmt::Display) -> ElementError {
    ElementError::new(e.to_string())
}

impl VideoTestSrc {
    fn settings(&self) -> Settings {
        self.settings.lock_ignore_poison().clone()
    }

    fn pool(&self) -> Option<BufferPool> {
        self.stream
            .lock_ignore_poison()
            .as_ref()
            .map(|s| s.pool.clone())
    }
}

impl PushSource for VideoTestSrc {
    fn fixate(&self, _element: &Element, caps: Caps) -> Caps {
        fixate_size(caps).fixate()
    }

    /// DMA_DRM caps: the drm-format is chosen by the PipeWire procedure, with the
    /// allocator frames will be rendered into as the producer (see
    /// `penstock_video::negotiate::source`).
    fn decide_caps(
        &self,
        _element: &Element,
        common: Caps,
        downstream: &Caps,
    ) -> Result<Caps, ElementError> {
        let caps = fixate_size(common);
        if !wants_dma_drm(&caps) {
            return Ok(caps.fixate());
        }
        let chosen = match penstock_linux::dmabuf::software_allocator() {
            Ok(allocator) => fixate_dma_drm(
                &caps,
                downstream,
                &Producer::from_allocator(allocator.as_ref()),
                &mut AllocatorTest(allocator.as_ref()),
            ),
            // No exporter on this kernel: what the caps say the source makes (LINEAR);
            // downstream may still propose an allocator, else allocation says why not.
            Err(_) => Producer::from_caps(&caps)
                .and_then(|p| fixate_dma_drm(&caps, downstream, &p, &mut FirstCandidate)),
        };
        match chosen {
            Ok(Some((fixed, _outcome))) => Ok(fixed),
            Ok(None) => Ok(caps.fixate()),
            Err(e) => Err(err(format!("not negotiated: {e}"))),
        }
    }

    fn set_caps(&self, _element: &Element, caps: &Caps) -> Result<(), ElementError> {
        let s = caps.structure(0).ok_or_else(|| err("empty caps"))?;
        let (format, dmabuf) = if dma_drm::is_dma_drm(s) {
            let dma = VideoInfoDmaDrm::from_caps(caps).map_err(err)?;
            let layout = dma.cpu_layout().map_err(err)?;
            (layout.format(), Some(dma.drm_format()))
        } else {
            let format = s
                .get_str("format")
                .and_then(VideoFormat::from_name)
                .ok_or_else(|| err(format!("unsupported format in {caps}")))?;
            (format, None)
        };
        let width = s
            .get_int("width")
            .ok_or_else(|| err("caps without width"))?;
        let height = s
            .get_int("height")
            .ok_or_else(|| err("caps without height"))?;
        let info = VideoInfo::new(
            format,
            u32::try_from(width).map_err(err)?,
            u32::try_from(height).map_err(err)?,
        )
        .map_err(err)?;
        let duration = s.get_fraction("framerate").and_then(|f| {
            Some(Rate {
                num: u64::try_from(f.numer()).ok()?,
                den: u64::try_from(f.denom()).ok().filter(|&d| d > 0)?,
            })
        });
        let colorimetry = render_colorimetry(s, &info).map_err(err)?;
        let info = info.with_colorimetry(colorimetry);
        *self.pending.lock_ignore_poison() = Some(Pending {
            info,
            frame_duration: duration,
            dmabuf,
        });
        Ok(())
    }

    fn decide_allocation(
        &self,
        element: &Element,
        query: &AllocationQuery,
    ) -> Result<(), ElementError> {
        let Pending {
            info,
            frame_duration,
            dmabuf,
        } = self
            .pending
            .lock_ignore_poison()
            .take()
            .ok_or_else(|| err("allocation before caps"))?;
        let min = query.pools.first().map_or(0, |p| p.min).max(2);
        let mut config = PoolConfig::video(info.clone()).min_max(min, 0);
        config = match dmabuf {
            // DMA-BUF caps: render straight into DMA-BUFs, from the first allocator
            // downstream proposed that can lay out this format, else from the kernel's
            // system heap or udmabuf.
            Some(drm) => {
                let fail = |e: &dyn std::fmt::Display| err(format!("{drm} caps: {e}"));
                let (w, h) = (info.width(), info.height());
                let proposed = query
                    .allocators
                    .iter()
                    .filter_map(|a| a.allocator.clone().map(|al| (al, a.params)));
                let (allocator, params) =
                    match allocator_for(drm, w, h, proposed).map_err(|e| fail(&e))? {
                        Some(p) => p,
                        None => {
                            let own = penstock_linux::dmabuf::software_allocator()
                                .map_err(|e| fail(&e))?;
                            allocator_for(drm, w, h, [(own, query.params())])
                                .map_err(|e| fail(&e))?
                                .ok_or_else(|| fail(&"the DMA-BUF allocator cannot lay it out"))?
                        }
                    };
                config.allocator(allocator, params)
            }
            None => config.params(query.params()),
        };
        if query.has_meta::<VideoMeta>() {
            config = match query.video_alignment() {
                Some(a) => config.with_video_alignment(a),
                None => config.with_video_meta(),
            };
        }
        let pool = match query.pools.first().and_then(|p| p.pool.clone()) {
            Some(p) => p,
            None => BufferPool::new(format!("{}-pool", element.name())),
        };
        let config = match pool.set_config(config) {
            Ok(c) => c,
            Err(penstock::pool::PoolError::Config {
                proposal: Some(p), ..
            }) => pool.set_config(*p).map_err(err)?,
            Err(e) => return Err(err(e)),
        };
        let _ = config;
        pool.set_active(true).map_err(err)?;
        let s = self.settings();
        let pattern = Pattern::ALL
            .iter()
            .copied()
            .find(|p| p.value() == s.pattern)
            .ok_or_else(|| err(format!("unknown pattern {}", s.pattern)))?;
        let options = RenderOptions {
            foreground_color: s.foreground,
            background_color: s.background,
            ..RenderOptions::default()
        };
        let renderer = Renderer::new(pattern, &info, options).map_err(err)?;
        let mut guard = self.stream.lock_ignore_poison();
        // After a reconfigure the stream goes on: keep the frame count and clock.
        let (n, started) = guard
            .as_ref()
            .map_or((0, Instant::now()), |s| (s.n, s.started));
        let old = guard.replace(Stream {
            info,
            frame_duration,
            renderer,
            pool,
            n,
            started,
        });
        drop(guard);
        if let Some(old) = old {
            let _ = old.pool.set_active(false);
        }
        Ok(())
    }

    fn stop(&self, _element: &Element) {
        if let Some(s) = self.stream.lock_ignore_poison().take() {
            let _ = s.pool.set_active(false);
        }
    }

    fn unlock(&self, _element: &Element) {
        if let Some(p) = self.pool() {
            p.set_flushing(true);
        }
    }

    fn unlock_stop(&self, _element: &Element) {
        if let Some(p) = self.pool() {
            p.set_flushing(false);
        }
    }

    fn output_adapter(
        &self,
        element: &Element,
        caps: &Caps,
        query: &AllocationQuery,
        target: Option<(Arc<dyn Allocator>, AllocationParams)>,
    ) -> Result<Option<Box<dyn BufferAdapter>>, ElementError> {
        // Frames from a downstream pool may be padded: a consumer without VideoMeta gets
        // them re-laid out.
        penstock_video::relayout::relayout_adapter(element, caps, query, target)
    }

    fn create(&self, element: &Element) -> Result<Buffer, FlowError> {
        let settings = self.settings();
        // Acquire without holding the stream lock: `unlock` takes it to set the pool
        // flushing, and an acquire may wait for a buffer to come back.
        let pool = {
            let guard = self.stream.lock_ignore_poison();
            let stream = guard.as_ref().ok_or(FlowError::NotNegotiated)?;
            if settings.num_buffers >= 0 && stream.n >= settings.num_buffers as u64 {
                return Err(FlowError::Eos);
            }
            // A still image (framerate 0/1): one frame, then EOS, as GStreamer does.
            if stream.frame_duration.is_some_and(|r| r.num == 0) && stream.n >= 1 {
                return Err(FlowError::Eos);
            }
            stream.pool.clone()
        };
        let mut buf = pool
            .acquire(AcquireParams::default())
            .map_err(|_| FlowError::Flushing)?;
        let mut guard = self.stream.lock_ignore_poison();
        let stream = guard.as_mut().ok_or(FlowError::NotNegotiated)?;
        let n = stream.n;
        let (offsets, strides) = match buf.meta::<VideoMeta>() {
            Some(m) => (m.offset, m.stride),
            None => (stream.info.offsets(), stream.info.strides()),
        };
        let planes = stream.info.n_planes();
        {
            let mut map = buf.map_memory_write(0).map_err(|e| {
                element.post_error(&format!("cannot map a frame for writing: {e}"), None);
                FlowError::Error
            })?;
            stream
                .renderer
                .render(n, &mut map, &offsets[..planes], &strides[..planes])
                .map_err(|e| {
                    element.post_error(&format!("rendering failed: {e}"), None);
                    FlowError::Error
                })?;
        }
        let (pts, duration) = match stream.frame_duration {
            Some(rate) => (Some(rate.running_time(n)), rate.duration(n)),
            None => (None, None),
        };
        buf.set_pts(pts);
        buf.set_duration(duration);
        buf.set_offset(Some(n));
        buf.set_offset_end(Some(n + 1));
        stream.n += 1;
        if settings.is_live {
            if let Some(pts) = pts {
                let due = stream.started + Duration::from(pts);
                drop(guard);
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
            }
        }
        Ok(buf.freeze())
    }

    fn set_property(
        &self,
        element: &Element,
        name: &str,
        value: PropValue,
    ) -> Result<(), PropertyError> {
        PROPERTIES.set(self, element, name, value)
    }

    fn property(&self, _element: &Element, name: &str) -> Option<PropValue> {
        PROPERTIES.get(self, name)
    }
}
