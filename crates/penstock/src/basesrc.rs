//! The driver of push sources: negotiation, allocation, the streaming thread, EOS.
//!
//! A source implements [`PushSource`]; [`BaseSrc`] turns it into an element. When the
//! element goes to PLAYING, its streaming thread sends stream-start, negotiates caps
//! with downstream (caps query, intersect, fixate, caps event), sends the segment, runs
//! the allocation query and lets the source decide (configure its pool), then calls
//! [`PushSource::create`] and pushes until EOS, a flush or an error.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::allocator::{AllocationParams, Allocator};
use crate::buffer::Buffer;
use crate::buffer::CopyFlags;
use crate::caps::Caps;
use crate::element::{
    Element, ElementError, ElementImpl, PropValue, PropertyError, StateChange, TaskControl,
};
use crate::event::{Event, Format, Segment};
use crate::flow::FlowError;
use crate::ledger::{self, CopyReason};
use crate::memory::{MemoryType, feature_memory_name};
use crate::pad::Pad;
use crate::query::{AllocationQuery, Query};

/// A source of buffers.
pub trait PushSource: Send + Sync + 'static {
    /// Caps the source can produce (default: its source pad template).
    fn caps(&self, element: &Element) -> Caps {
        element
            .src_pad()
            .map(|p| p.template().caps.clone())
            .unwrap_or_else(Caps::new_any)
    }

    /// Makes `caps` fixed (default: GStreamer's default fixation).
    fn fixate(&self, element: &Element, caps: Caps) -> Caps {
        let _ = element;
        caps.fixate()
    }

    /// Chooses the fixed caps from `common`, what the source and downstream have in
    /// common (in the source's order), knowing `downstream`'s own caps (in its order of
    /// preference). A source whose choice can fail says why here: a DMA-BUF source
    /// fixes the modifier with its allocator (the video crate's
    /// `negotiate::source::fixate_dma_drm`). Default: [`PushSource::fixate`].
    ///
    /// # Errors
    /// [`ElementError`] when no caps in `common` can be produced after all.
    fn decide_caps(
        &self,
        element: &Element,
        common: Caps,
        downstream: &Caps,
    ) -> Result<Caps, ElementError> {
        let _ = downstream;
        Ok(self.fixate(element, common))
    }

    /// The negotiated caps.
    ///
    /// # Errors
    /// [`ElementError`] if the source cannot produce them after all.
    fn set_caps(&self, element: &Element, caps: &Caps) -> Result<(), ElementError> {
        let _ = (element, caps);
        Ok(())
    }

    /// Decides how to allocate from downstream's answer to the allocation query.
    ///
    /// # Errors
    /// [`ElementError`] if no allocation strategy works.
    fn decide_allocation(
        &self,
        element: &Element,
        query: &AllocationQuery,
    ) -> Result<(), ElementError> {
        let _ = (element, query);
        Ok(())
    }

    /// A step the framework applies to every buffer before it is pushed, decided after
    /// the allocation query: for a video source, re-laying frames out for a consumer
    /// that cannot read the source's layout (the video crate's `relayout_adapter`).
    /// `target` is where copies must go: `None` for system memory, or the allocator
    /// downstream proposed for the memory type the caps name. Default: none.
    ///
    /// # Errors
    /// [`ElementError`] if the step cannot be set up.
    fn output_adapter(
        &self,
        element: &Element,
        caps: &Caps,
        query: &AllocationQuery,
        target: Option<(Arc<dyn Allocator>, AllocationParams)>,
    ) -> Result<Option<Box<dyn BufferAdapter>>, ElementError> {
        let _ = (element, caps, query, target);
        Ok(None)
    }

    /// Opens resources (NULL→READY is not used; this runs at READY→PAUSED).
    ///
    /// # Errors
    /// [`ElementError`].
    fn start(&self, element: &Element) -> Result<(), ElementError> {
        let _ = element;
        Ok(())
    }

    /// Releases resources (PAUSED→READY): deactivate pools here.
    fn stop(&self, element: &Element) {
        let _ = element;
    }

    /// Wakes a blocked `create` (set the pool flushing).
    fn unlock(&self, element: &Element) {
        let _ = element;
    }

    /// Clears what `unlock` did before streaming restarts.
    fn unlock_stop(&self, element: &Element) {
        let _ = element;
    }

    /// The next buffer, or `Err(FlowError::Eos)` at the end.
    ///
    /// # Errors
    /// A flow error: EOS ends the stream normally; fatal errors should be posted on the
    /// bus by the source with a precise message first.
    fn create(&self, element: &Element) -> Result<Buffer, FlowError>;

    /// Segment format (time by default; bytes for file sources).
    fn segment_format(&self) -> Format {
        Format::Time
    }

    /// Sets a property (see [`ElementImpl::set_property`]). The default refuses every
    /// property with [`PropertyError::NotWritable`].
    ///
    /// # Errors
    /// [`PropertyError`].
    fn set_property(
        &self,
        element: &Element,
        name: &str,
        value: PropValue,
    ) -> Result<(), PropertyError> {
        Err(PropertyError::not_writable(element, name, &value))
    }

    /// Reads a property (`None`: unknown). The default knows none.
    fn property(&self, element: &Element, name: &str) -> Option<PropValue> {
        let _ = (element, name);
        None
    }
}

/// A [`PushSource`] as an element.
pub struct BaseSrc<S: PushSource> {
    src: Arc<S>,
    /// Set by a reconfigure event: renegotiate caps and allocation before the next
    /// buffer.
    reconfigure: Arc<AtomicBool>,
    /// Set by an EOS event sent to the source (gst-launch `-e` on Ctrl-C): end the
    /// stream with EOS instead of the next buffer.
    eos: Arc<AtomicBool>,
}

impl<S: PushSource> BaseSrc<S> {
    /// Wraps a source.
    pub fn new(src: S) -> Self {
        BaseSrc {
            src: Arc::new(src),
            reconfigure: Arc::new(AtomicBool::new(false)),
            eos: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The source.
    pub fn source(&self) -> &S {
        &self.src
    }
}

/// Negotiates caps on `pad` for a source that can produce `ours`: asks downstream,
/// intersects, fixates with `fixate` (given the common caps and downstream's), and
/// sends the caps event.
///
/// # Errors
/// An [`ElementError`] naming both sides and the field that did not intersect, or
/// `fixate`'s.
pub fn negotiate_caps(
    element: &Element,
    pad: &Pad,
    ours: &Caps,
    fixate: impl FnOnce(Caps, &Caps) -> Result<Caps, ElementError>,
) -> Result<Caps, ElementError> {
    let theirs = pad.peer_caps(None);
    let common = match ours.intersect_explained(&theirs) {
        Ok(c) => c,
        Err(mismatch) => {
            if let Some(e) = explain_downstream(pad, ours) {
                return Err(e);
            }
            let peer = pad
                .peer()
                .map(|p| p.path())
                .unwrap_or_else(|| "(unlinked)".into());
            return Err(ElementError {
                message: format!(
                    "not negotiated: {} and {} have no caps in common ({mismatch})",
                    pad.path(),
                    peer
                ),
                debug: Some(format!("{}: {ours}\n{peer}: {theirs}", pad.path())),
                element: None,
            });
        }
    };
    let fixed = fixate(common, &theirs)?;
    if !fixed.is_fixed() {
        return Err(ElementError::new(format!(
            "not negotiated: {} could not fixate caps {fixed}",
            element.path()
        )));
    }
    if !pad.push_event(Event::Caps(fixed.clone())) {
        return Err(ElementError::new(format!(
            "not negotiated: downstream of {} refused caps {fixed}",
            pad.path()
        )));
    }
    Ok(fixed)
}

/// A step applied to each of a source's buffers before it is pushed
/// ([`PushSource::output_adapter`]).
pub trait BufferAdapter: Send + Sync {
    /// The buffer as downstream can take it.
    ///
    /// # Errors
    /// A flow error ends the stream.
    fn apply(&self, buffer: Buffer) -> Result<Buffer, FlowError>;
}

/// What the framework does to a source's buffers that downstream cannot take as they
/// are: the source's own step ([`PushSource::output_adapter`]: a video source
/// re-lays frames out for a consumer without a layout meta), then a move to the memory
/// type the caps ask for (a consumer that needs `memory:X` and proposed an allocator
/// of it).
#[derive(Default)]
struct Adapt {
    layout: Option<Box<dyn BufferAdapter>>,
    memory: Option<MemoryTypeCopy>,
}

impl Adapt {
    fn is_empty(&self) -> bool {
        self.layout.is_none() && self.memory.is_none()
    }

    fn apply(&self, buffer: Buffer) -> Result<Buffer, FlowError> {
        let buffer = match &self.layout {
            Some(r) => r.apply(buffer)?,
            None => buffer,
        };
        match &self.memory {
            Some(m) => m.apply(buffer),
            None => Ok(buffer),
        }
    }
}

/// Copies buffers whose memories are not of `memory_type` into one memory from
/// `allocator` (ledger: memory-type).
struct MemoryTypeCopy {
    memory_type: MemoryType,
    allocator: Arc<dyn Allocator>,
    params: AllocationParams,
}

impl MemoryTypeCopy {
    fn apply(&self, buffer: Buffer) -> Result<Buffer, FlowError> {
        if buffer
            .memories()
            .iter()
            .all(|m| m.memory_type() == self.memory_type)
        {
            return Ok(buffer);
        }
        let size = buffer.size();
        let memory = self
            .allocator
            .alloc(size, &self.params)
            .map_err(|_| FlowError::Error)?;
        {
            let mut w = memory.map_write().map_err(|_| FlowError::Error)?;
            buffer.extract(0, &mut w).map_err(|_| FlowError::Error)?;
        }
        ledger::record_copy(CopyReason::MemoryType, size, "BaseSrc");
        let mut out = buffer
            .copy_region(
                CopyFlags::FLAGS | CopyFlags::TIMESTAMPS | CopyFlags::META,
                0,
                None,
            )
            .map_err(|_| FlowError::Error)?;
        out.append_memory(memory);
        Ok(out.freeze())
    }
}

/// Follows the chain downstream of `pad`, narrowing `ours` by each element's sink
/// template and restriction, and names the first element where nothing is left: its
/// sink pad, both caps, and the field that had no intersection.
fn explain_downstream(pad: &Pad, ours: &Caps) -> Option<ElementError> {
    let mut acc = ours.clone();
    let mut from = pad.path();
    let mut src = pad.clone();
    for _ in 0..64 {
        let sink = src.peer()?;
        let element = sink.parent()?;
        let mut restriction = sink.template().caps.clone();
        if let Some(r) = element.implementation().caps_restriction() {
            restriction = restriction.intersect(&r);
        }
        match acc.intersect_explained(&restriction) {
            Ok(narrowed) => acc = narrowed,
            Err(mismatch) => {
                return Some(ElementError {
                    message: format!(
                        "not negotiated: what {from} can send does not fit {} ({mismatch})",
                        sink.path()
                    ),
                    debug: Some(format!("{from}: {acc}\n{}: {restriction}", sink.path())),
                    element: None,
                });
            }
        }
        from = format!("{} (through {})", pad.path(), element.path());
        src = element.src_pad()?;
    }
    None
}

fn start_stream<S: PushSource>(
    src: &S,
    element: &Element,
    pad: &Pad,
) -> Result<Adapt, ElementError> {
    pad.push_event(Event::StreamStart {
        stream_id: format!("{}/{}", element.path(), pad.name()),
    });
    negotiate_stream(src, element, pad)
}

/// Caps, segment and allocation: at the start, and again after a reconfigure event.
fn negotiate_stream<S: PushSource>(
    src: &S,
    element: &Element,
    pad: &Pad,
) -> Result<Adapt, ElementError> {
    let ours = src.caps(element);
    if ours.is_any() {
        // A source that can produce anything needs no negotiation (as GStreamer's
        // basesrc): no caps event, no allocation query.
        pad.push_event(Event::Segment(Segment::new(src.segment_format())));
        return Ok(Adapt::default());
    }
    let caps = negotiate_caps(element, pad, &ours, |c, theirs| {
        src.decide_caps(element, c, theirs)
    })?;
    src.set_caps(element, &caps)?;
    pad.push_event(Event::Segment(Segment::new(src.segment_format())));
    let mut q = Query::Allocation(AllocationQuery::new(caps.clone(), true));
    pad.peer_query(&mut q);
    let Query::Allocation(q) = q else {
        return Ok(Adapt::default());
    };
    src.decide_allocation(element, &q)?;
    let mut adapt = Adapt::default();
    // Caps in `memory:X` need memories of type X: if downstream proposed an allocator
    // of X, buffers of another type are copied into it.
    let wanted = caps.features(0).and_then(|f| {
        f.iter()
            .find(|name| feature_memory_name(name).is_some())
            .map(str::to_owned)
    });
    let wanted = wanted.filter(|feature| !MemoryType::SYSTEM.is_caps_feature(feature));
    if let Some(feature) = &wanted {
        // The type of the first proposed allocator of it (a backend's own type too).
        let memory_type = q
            .allocators
            .iter()
            .filter_map(|a| a.allocator.as_ref())
            .map(|al| al.memory_type())
            .find(|t| t.is_caps_feature(feature));
        if let Some((memory_type, (allocator, params))) =
            memory_type.and_then(|t| Some((t, q.allocator_of(t, |_| true)?)))
        {
            adapt.memory = Some(MemoryTypeCopy {
                memory_type,
                allocator,
                params,
            });
        }
    }
    // The source's own step (a video source re-lays frames out for a consumer that
    // cannot read its layout). Its copies are made in the memory type the caps name:
    // system memory, or memory from downstream's allocator of that type. With no such
    // allocator there is nowhere to copy to, and frames go out as the source made them.
    let target = match (&wanted, &adapt.memory) {
        (None, _) => Some(None),
        (Some(_), Some(m)) => Some(Some((Arc::clone(&m.allocator), m.params))),
        (Some(_), None) => None,
    };
    if let Some(target) = target {
        adapt.layout = src.output_adapter(element, &caps, &q, target)?;
    }
    Ok(adapt)
}

impl<S: PushSource> ElementImpl for BaseSrc<S> {
    fn set_property(
        &self,
        element: &Element,
        name: &str,
        value: PropValue,
    ) -> Result<(), PropertyError> {
        self.src.set_property(element, name, value)
    }

    fn property(&self, element: &Element, name: &str) -> Option<PropValue> {
        self.src.property(element, name)
    }

    fn change_state(&self, element: &Element, change: StateChange) -> Result<(), ElementError> {
        match change {
            StateChange::ReadyToPaused => self.src.start(element),
            StateChange::PausedToPlaying => {
                let pad = element
                    .src_pad()
                    .ok_or_else(|| ElementError::new("no source pad"))?;
                self.src.unlock_stop(element);
                let src = Arc::clone(&self.src);
                let el = element.clone();
                let mut started = false;
                let mut adapt = Adapt::default();
                let reconfigure = Arc::clone(&self.reconfigure);
                reconfigure.store(false, Ordering::Release);
                let eos = Arc::clone(&self.eos);
                eos.store(false, Ordering::Release);
                element.spawn_task("src", move || {
                    let _site = el.enter_site();
                    if !started {
                        started = true;
                        match start_stream(&*src, &el, &pad) {
                            Ok(a) => adapt = a,
                            Err(e) => {
                                el.post_error(&e.message, e.debug);
                                pad.push_event(Event::Eos);
                                return TaskControl::Stop;
                            }
                        }
                    }
                    // A load first: the swap (a locked read-modify-write) only when set.
                    if reconfigure.load(Ordering::Relaxed)
                        && reconfigure.swap(false, Ordering::AcqRel)
                    {
                        match negotiate_stream(&*src, &el, &pad) {
                            Ok(a) => adapt = a,
                            Err(e) => {
                                el.post_error(&e.message, e.debug);
                                pad.push_event(Event::Eos);
                                return TaskControl::Stop;
                            }
                        }
                    }
                    if eos.load(Ordering::Acquire) {
                        pad.push_event(Event::Eos);
                        return TaskControl::Stop;
                    }
                    let result = src
                        .create(&el)
                        .and_then(|b| {
                            if adapt.is_empty() {
                                Ok(b)
                            } else {
                                adapt.apply(b)
                            }
                        })
                        .and_then(|b| pad.push(b));
                    match result {
                        Ok(()) => TaskControl::Continue,
                        // Woken by an EOS event (see `src_event`): the stream ends here.
                        Err(FlowError::Flushing) if eos.load(Ordering::Acquire) => {
                            pad.push_event(Event::Eos);
                            TaskControl::Stop
                        }
                        Err(FlowError::Flushing) => TaskControl::Stop,
                        Err(FlowError::Eos) => {
                            pad.push_event(Event::Eos);
                            TaskControl::Stop
                        }
                        Err(e) => {
                            el.report_flow_error(e);
                            pad.push_event(Event::Eos);
                            TaskControl::Stop
                        }
                    }
                })
            }
            StateChange::PausedToReady => {
                self.src.stop(element);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn unlock(&self, element: &Element) {
        self.src.unlock(element);
    }

    fn src_event(&self, element: &Element, _pad: &Pad, event: Event) -> bool {
        match event {
            Event::Reconfigure => {
                self.reconfigure.store(true, Ordering::Release);
                true
            }
            // As GStreamer's basesrc: an EOS event sent to a source makes its streaming
            // thread end the stream with EOS; a `create` blocked waiting is woken.
            Event::Eos => {
                self.eos.store(true, Ordering::Release);
                self.src.unlock(element);
                true
            }
            // A source has nothing upstream to forward to.
            _ => false,
        }
    }
}
