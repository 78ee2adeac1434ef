//! `videocrop`: removes `top`, `bottom`, `left` and `right` pixels from raw video frames.
//!
//! The output caps are the input caps with `width - left - right` and
//! `height - top - bottom`, as in GStreamer's `videocrop` (its caps transform, including
//! the clamp of transformed sizes to at least 1 while negotiating).
//!
//! # Two ways to crop
//!
//! After the caps are set, the element asks downstream (allocation query) which metas it
//! understands, as GStreamer 1.22's `gst_video_crop_decide_allocation` does:
//!
//! * **Crop meta, no copy.** Downstream understands both `VideoMeta` and
//!   `VideoCropMeta`: each buffer goes on unchanged except for its metas. A buffer
//!   without a `VideoMeta` gets one describing the full input frame (the caps now give
//!   the cropped size, so the full layout must travel with the buffer), and its
//!   `VideoCropMeta` is added or moved: `x += left`, `y += top`, `width`/`height` = the
//!   output size. Nothing is copied.
//! * **Copy.** Otherwise the visible rectangle is copied into a new frame in the default
//!   layout of the output caps (recorded in the ledger with reason `crop`). The bytes are
//!   GStreamer's, including its rounding for subsampled formats: chroma planes of
//!   I420/YV12/NV12/NV21 start at chroma sample `left / 2`, row `top / 2` (rounded down),
//!   and for YUY2/UYVY an odd `left` moves the luma samples one pixel left but keeps the
//!   chroma of the macro-pixel at `left - 1`, except for the last luma sample of each
//!   row, which GStreamer does not move (it would read past its source window).
//!
//! With all four properties 0 buffers pass through untouched, and allocation queries
//! from upstream are forwarded downstream (GStreamer's passthrough).
//!
//! To upstream the element says it understands `VideoMeta` and `VideoCropMeta` (as
//! GStreamer's `propose_allocation`): in the copy path frames are read through their
//! `VideoMeta` layout and their crop meta's `x`/`y` offset is added to the crop (a
//! rectangle that then leaves the frame is an error). In the meta path the answer also
//! carries downstream's buffer count (its pool proposal's `min`), since upstream's
//! buffers are the ones downstream holds.
//!
//! A consumer that takes `VideoMeta` but not `VideoCropMeta` gets the copy, as in
//! GStreamer. (A `VideoMeta` with offsets moved to the crop's corner would avoid it for
//! crops aligned to the chroma subsampling, but a pool's buffers carry a `VideoMeta` the
//! pool keeps across uses, so it cannot be changed in place; not done.)
//!
//! The element is a [`BaseTransform`]: the base answers caps queries through the crop's
//! caps transform, runs the allocation query, passes buffers through with nothing to crop
//! and forwards events; this file decides the crop's way and crops.
//!
//! GStreamer's `-1` ("crop automatically to the downstream caps") is not supported: it is
//! rejected when the property is set, with a message saying so.
//!
//! The pixel copy itself is [`penstock_video::crop`]'s ([`crop_copy`], re-exported here
//! with [`Crop`] and [`CropError`]); this file is the element around it.

use std::sync::{LazyLock, Mutex};

use penstock::basetransform::{
    Allocation, BaseTransform, Transform, TransformMode, default_query_caps,
};
use penstock::buffer::{Buffer, BufferMut, BufferRef};
use penstock::caps::{Caps, Value};
use penstock::element::{
    Element, ElementError, ElementFactory, PropValue, PropertyError, PropertySpec,
};
use penstock::event::Event;
use penstock::flow::{FlowError, FlowResult};
use penstock::ledger::{self, CopyReason};
use penstock::pad::{Pad, PadDirection, PadTemplate};
use penstock::pool::{BufferPool, PoolConfig};
use penstock::property::{PropertyTable, Refused};
use penstock::query::{AllocationQuery, Query};
use penstock::sync::MutexExt;
use penstock_video::VideoInfo;
pub use penstock_video::crop::{Crop, CropError, crop_copy};
use penstock_video::frame::info_from_caps;
use penstock_video::{VideoCropMeta, VideoMeta};
use penstock_video::{VideoPoolConfigExt, VideoQueryExt};

/// The factory.
pub fn factory() -> ElementFactory {
    ElementFactory {
        name: "videocrop",
        long_name: "Crop",
        klass: "Filter/Effect/Video",
        description: "Crops video into a user-defined region",
        properties: PROPERTIES.specs(),
        pad_templates: PadTemplate::sink_and_src(crate::templates::raw_video_and_dma_drm()),
        create: || Box::new(BaseTransform::new(VideoCrop::default())),
    }
}

/// How buffers are cropped, decided from downstream's allocation answer.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Add or update a crop meta (in place). Upstream's buffers reach downstream, so
    /// upstream is told how many downstream holds (`min` of its pool proposal).
    Meta {
        /// Buffers downstream may hold at once.
        min: u32,
    },
    /// Copy into frames from the output pool the base holds.
    Copy,
}

/// The negotiated stream.
#[derive(Debug)]
struct Stream {
    crop: Crop,
    input: VideoInfo,
    output: VideoInfo,
    /// `None` until the allocation is decided (and in passthrough).
    mode: Option<Mode>,
}

/// A side's property value as pixels: -1, GStreamer's automatic crop, is refused.
fn side_value(v: i64) -> Result<u32, Refused> {
    u32::try_from(v).map_err(|_| {
        Refused::new(
            "a number of pixels from 0 to 2147483647",
            "-1 (GStreamer's automatic crop to the downstream caps) is not supported; \
             give the number of pixels to crop",
        )
    })
}

static PROPERTIES: LazyLock<PropertyTable<VideoCrop>> = LazyLock::new(|| {
    let side = |name: &'static str, blurb: &'static str| {
        PropertySpec::int(name, blurb, -1..=i64::from(i32::MAX), 0)
    };
    PropertyTable::<VideoCrop>::new()
        .add_checked(
            side(
                "left",
                "Pixels to crop at left (-1 to auto-crop: not supported)",
            ),
            |c| i64::from(c.current_crop().left),
            |c, _, v| {
                c.crop.lock_ignore_poison().left = side_value(v)?;
                Ok(())
            },
        )
        .add_checked(
            side(
                "right",
                "Pixels to crop at right (-1 to auto-crop: not supported)",
            ),
            |c| i64::from(c.current_crop().right),
            |c, _, v| {
                c.crop.lock_ignore_poison().right = side_value(v)?;
                Ok(())
            },
        )
        .add_checked(
            side(
                "top",
                "Pixels to crop at top (-1 to auto-crop: not supported)",
            ),
            |c| i64::from(c.current_crop().top),
            |c, _, v| {
                c.crop.lock_ignore_poison().top = side_value(v)?;
                Ok(())
            },
        )
        .add_checked(
            side(
                "bottom",
                "Pixels to crop at bottom (-1 to auto-crop: not supported)",
            ),
            |c| i64::from(c.current_crop().bottom),
            |c, _, v| {
                c.crop.lock_ignore_poison().bottom = side_value(v)?;
                Ok(())
            },
        )
        .after_set(|_, element| {
            // While streaming, new sizes need new caps: ask upstream to renegotiate.
            if let Some(sink) = element.sink_pad() {
                if sink.is_linked() && sink.current_caps().is_some() {
                    sink.push_event(Event::Reconfigure);
                }
            }
        })
});

/// The element's logic (the element is a [`BaseTransform`] of it).
#[derive(Default)]
pub struct VideoCrop {
    crop: Mutex<Crop>,
    stream: Mutex<Option<Stream>>,
}

/// Adds `delta` to a width or height value, clamped to `1..=i32::MAX` as GStreamer's
/// `gst_video_crop_transform_dimension`; `None` for a value that is not an integer,
/// range or list of them.
fn shift_dimension(v: &Value, delta: i64) -> Option<Value> {
    let shift = |x: i32| (i64::from(x) + delta).clamp(1, i64::from(i32::MAX)) as i32;
    match v {
        Value::Int(x) => Some(Value::Int(shift(*x))),
        Value::IntRange { min, max, .. } => Some(Value::int_range(shift(*min), shift(*max))),
        Value::List(items) => {
            let out: Vec<Value> = items
                .iter()
                .filter_map(|i| shift_dimension(i, delta))
                .collect();
            (!out.is_empty()).then(|| Value::list(out))
        }
        _ => None,
    }
}

/// `caps` with widths changed by `dx` and heights by `dy`; structures without a usable
/// width and height are dropped (as GStreamer does).
fn shift_caps(caps: &Caps, dx: i64, dy: i64) -> Caps {
    if caps.is_any() {
        return caps.clone();
    }
    let mut out = Caps::new_empty();
    for (s, f) in caps.iter() {
        let (Some(w), Some(h)) = (s.value("width"), s.value("height")) else {
            continue;
        };
        let (Some(w), Some(h)) = (shift_dimension(w, dx), shift_dimension(h, dy)) else {
            continue;
        };
        let mut s = s.clone();
        s.set("width", w);
        s.set("height", h);
        out.append_structure_full(s, f.clone());
    }
    out
}

impl VideoCrop {
    fn current_crop(&self) -> Crop {
        *self.crop.lock_ignore_poison()
    }

    /// Caps on the other side of the element for `caps` on the `direction` side.
    fn transform(&self, direction: PadDirection, caps: &Caps) -> Caps {
        let c = self.current_crop();
        let dx = i64::from(c.left) + i64::from(c.right);
        let dy = i64::from(c.top) + i64::from(c.bottom);
        match direction {
            PadDirection::Sink => shift_caps(caps, -dx, -dy),
            PadDirection::Src => shift_caps(caps, dx, dy),
        }
    }

    /// The input frame of caps, and the output frame the crop leaves of it.
    fn frames(&self, caps: &Caps) -> Result<(Crop, VideoInfo, VideoInfo), ElementError> {
        let input = match info_from_caps(caps) {
            Some(Ok(info)) => info,
            Some(Err(e)) => return Err(ElementError::new(e.to_string())),
            None => {
                return Err(ElementError::new(format!(
                    "cannot crop {caps}: not raw video in system memory"
                )));
            }
        };
        let crop = self.current_crop();
        let output = crop
            .apply(&input)
            .map_err(|e| ElementError::new(e.to_string()))?;
        Ok((crop, input, output))
    }

    fn copy(
        &self,
        element: &Element,
        buffer: &BufferRef,
        s: &Stream,
        out: &mut BufferMut,
    ) -> FlowResult {
        let meta = buffer.meta::<VideoMeta>();
        let (offsets, strides) = match meta {
            Some(m) => (m.offset, m.stride),
            None => (s.input.offsets(), s.input.strides()),
        };
        let (x, y) = buffer
            .meta::<VideoCropMeta>()
            .map_or((0, 0), |c| (c.x, c.y));
        // The rectangle must lie within the frame the buffer holds.
        let (fw, fh) = meta.map_or((s.input.width(), s.input.height()), |m| (m.width, m.height));
        let left = u64::from(s.crop.left) + u64::from(x);
        let top = u64::from(s.crop.top) + u64::from(y);
        if left + u64::from(s.output.width()) > u64::from(fw)
            || top + u64::from(s.output.height()) > u64::from(fh)
        {
            let e = CropError::OutsideFrame {
                x: left,
                y: top,
                width: s.output.width(),
                height: s.output.height(),
                frame_width: fw,
                frame_height: fh,
            };
            element.post_error(&e.to_string(), None);
            return Err(FlowError::Error);
        }
        let (left, top) = (left as u32, top as u32);
        let result = {
            let map = buffer.map_read().map_err(|e| {
                element.post_error(&e.to_string(), None);
                FlowError::Error
            })?;
            let mut w = out.map_memory_write(0).map_err(|e| {
                element.post_error(&e.to_string(), None);
                FlowError::Error
            })?;
            crop_copy(&map, &offsets, &strides, left, top, &s.output, &mut w)
        };
        let bytes = result.map_err(|e| {
            element.post_error(&e.to_string(), None);
            FlowError::Error
        })?;
        ledger::record_copy(CopyReason::Crop, bytes, "videocrop");
        Ok(())
    }
}

impl Transform for VideoCrop {
    fn transform_caps(
        &self,
        _element: &Element,
        direction: PadDirection,
        caps: &Caps,
        filter: Option<&Caps>,
    ) -> Caps {
        let other = self.transform(direction, caps);
        match filter {
            Some(f) => f.intersect(&other),
            None => other,
        }
    }

    /// Only reached when the transform of the input caps is not fixed: input caps that
    /// are not raw video with a size, or a crop the frame cannot take. Says which.
    fn fixate_caps(
        &self,
        element: &Element,
        incaps: &Caps,
        othercaps: Caps,
    ) -> Result<Caps, ElementError> {
        self.frames(incaps)?;
        if othercaps.is_empty() {
            return Err(ElementError::new(format!(
                "not negotiated: downstream of {} takes nothing {incaps} can become",
                element.path()
            )));
        }
        Ok(othercaps.fixate())
    }

    fn query_caps(&self, element: &Element, pad: &Pad, filter: Option<&Caps>) -> Caps {
        let mut result = default_query_caps(self, element, pad, filter);
        if let Some(f) = filter {
            if pad.direction() == PadDirection::Sink {
                // Sizes the crop does not fit would only make negotiation fail with "no
                // caps in common": let them through so that the caps event reports the
                // crop and the frame size.
                for (st, feat) in f.intersect(&pad.template().caps).iter() {
                    if !self.fits(st) {
                        result.append_structure_full(st.clone(), feat.clone());
                    }
                }
            }
        }
        result
    }

    /// Passthrough with nothing to crop; else the allocation decides between the crop
    /// meta and a copy.
    fn set_caps(
        &self,
        _element: &Element,
        incaps: &Caps,
        _outcaps: &Caps,
    ) -> Result<TransformMode, ElementError> {
        let (crop, input, output) = self.frames(incaps)?;
        *self.stream.lock_ignore_poison() = Some(Stream {
            crop,
            input,
            output,
            mode: None,
        });
        Ok(if crop.is_empty() {
            TransformMode::Passthrough
        } else {
            TransformMode::InPlace
        })
    }

    /// Asks downstream how to crop (see the module docs).
    fn decide_allocation(
        &self,
        element: &Element,
        query: &AllocationQuery,
        answered: bool,
        _mode: TransformMode,
    ) -> Result<Allocation, ElementError> {
        let output = self
            .stream
            .lock_ignore_poison()
            .as_ref()
            .map(|s| s.output.clone())
            .ok_or_else(|| ElementError::new("no caps yet"))?;
        let metas = answered && query.has_meta::<VideoMeta>() && query.has_meta::<VideoCropMeta>();
        let min = query.pools.first().map_or(0, |p| p.min);
        let (mode, allocation) = if metas {
            (Mode::Meta { min }, Allocation::in_place())
        } else {
            let pool = BufferPool::new(format!("{}-pool", element.name()));
            pool.set_config(PoolConfig::video(output).min_max(min.max(2), 0))
                .and_then(|_| pool.set_active(true))
                .map_err(|e| ElementError::new(e.to_string()))?;
            (Mode::Copy, Allocation::new_buffers(Some(pool)))
        };
        self.stream
            .lock_ignore_poison()
            .as_mut()
            .ok_or_else(|| ElementError::new("no caps yet"))?
            .mode = Some(mode);
        Ok(allocation)
    }

    fn propose_allocation(
        &self,
        _element: &Element,
        _mode: TransformMode,
        query: &mut Query,
    ) -> bool {
        let Query::Allocation(q) = query else {
            return false;
        };
        q.add_video_meta(None);
        q.add_video_crop_meta();
        if let Some(Stream {
            input,
            mode: Some(Mode::Meta { min }),
            ..
        }) = self.stream.lock_ignore_poison().as_ref()
        {
            q.add_pool(None, input.size(), *min, 0);
        }
        true
    }

    /// The crop meta way: metas only.
    fn transform_ip(&self, _element: &Element, b: &mut BufferMut) -> FlowResult {
        let guard = self.stream.lock_ignore_poison();
        let s = guard.as_ref().ok_or(FlowError::NotNegotiated)?;
        if b.meta::<VideoMeta>().is_none() {
            b.add_meta(VideoMeta::from_info(&s.input));
        }
        let crop = match b.meta_mut::<VideoCropMeta>() {
            Some(c) => c,
            None => b.add_meta(VideoCropMeta::default()),
        };
        crop.x = crop.x.saturating_add(s.crop.left);
        crop.y = crop.y.saturating_add(s.crop.top);
        crop.width = s.output.width();
        crop.height = s.output.height();
        Ok(())
    }

    /// The copy way.
    fn transform(&self, element: &Element, input: &Buffer, output: &mut BufferMut) -> FlowResult {
        let guard = self.stream.lock_ignore_poison();
        let s = guard.as_ref().ok_or(FlowError::NotNegotiated)?;
        self.copy(element, input, s, output)
    }

    fn stop(&self, _element: &Element) {
        *self.stream.lock_ignore_poison() = None;
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

/// The largest value of a width or height field.
fn max_dimension(v: &Value) -> Option<i32> {
    match v {
        Value::Int(x) => Some(*x),
        Value::IntRange { max, .. } => Some(*max),
        Value::List(items) => items.iter().filter_map(max_dimension).max(),
        _ => None,
    }
}

impl VideoCrop {
    /// False if even the largest width or height of `s` leaves no pixel after the crop.
    fn fits(&self, s: &penstock::caps::Structure) -> bool {
        let c = self.current_crop();
        let fits = |field: &str, crop: u64| {
            s.value(field)
                .and_then(max_dimension)
                .is_none_or(|m| i64::from(m) > crop as i64)
        };
        fits("width", u64::from(c.left) + u64::from(c.right))
            && fits("height", u64::from(c.top) + u64::from(c.bottom))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimensions_shift_and_clamp_like_gstreamer() {
        assert_eq!(shift_dimension(&Value::Int(10), -4), Some(Value::Int(6)));
        assert_eq!(shift_dimension(&Value::Int(3), -4), Some(Value::Int(1)));
        assert_eq!(
            shift_dimension(&Value::int_range(1, i32::MAX), 4),
            Some(Value::int_range(5, i32::MAX))
        );
        assert_eq!(
            shift_dimension(&Value::list([Value::Int(8), Value::Int(16)]), -2),
            Some(Value::list([Value::Int(6), Value::Int(14)]))
        );
        assert_eq!(shift_dimension(&Value::from("x"), 1), None);
    }
}
