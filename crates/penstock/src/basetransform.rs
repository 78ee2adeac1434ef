//! The driver of one-in-one-out elements: caps transform, passthrough, in-place or new
//! output buffers, allocation forwarded or decided (GStreamer's `GstBaseTransform`).
//!
//! An element implements [`Transform`]; [`BaseTransform`] turns it into an element.
//!
//! * **Caps.** [`Transform::transform_caps`] says what caps on one side become on the
//!   other. With it the base answers caps queries on both pads (the other side's peer
//!   asked with the transformed filter, its answer transformed back), accept-caps
//!   queries, and turns the input caps of a caps event into output caps: the transform
//!   itself when it is fixed, else downstream's answer fixated by
//!   [`Transform::fixate_caps`]. [`Transform::set_caps`] gets both and picks the
//!   [`TransformMode`]; then the output caps go downstream.
//! * **Passthrough.** Buffers are pushed on untouched, allocation queries from upstream
//!   are forwarded downstream. The per-buffer path reads one atomic flag and takes no
//!   lock: an `identity` costs what a push costs.
//! * **In place** ([`Transform::transform_ip`]) or **new buffer**
//!   ([`Transform::transform`] into a buffer from [`Transform::prepare_output_buffer`],
//!   by default acquired from the pool decided for the output).
//! * **Allocation.** Outside passthrough the base asks downstream (the allocation query
//!   with the output caps) and lets the element decide ([`Transform::decide_allocation`]:
//!   the mode, and the pool output buffers come from); to upstream the element proposes
//!   what it needs ([`Transform::propose_allocation`]; by default in-place elements
//!   forward the query downstream, since upstream's buffers are the ones downstream gets).
//!   A reconfigure event from downstream has the allocation decided again before the next
//!   buffer.
//! * **Events** other than caps are forwarded; flush-stop unflushes the output pool.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::buffer::{Buffer, BufferMut};
use crate::caps::Caps;
use crate::element::{Element, ElementError, ElementImpl, PropValue, PropertyError, StateChange};
use crate::event::Event;
use crate::flow::{FlowError, FlowResult};
use crate::pad::{Pad, PadDirection};
use crate::pool::{AcquireParams, BufferPool, PoolConfig, PoolError};
use crate::query::{AllocationQuery, CapsQuery, Query};

/// What a transform does with its buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransformMode {
    /// Buffers go on untouched; allocation queries are forwarded downstream.
    Passthrough,
    /// Each buffer is made writable and changed by [`Transform::transform_ip`].
    InPlace,
    /// Each buffer is transformed into a new output buffer by [`Transform::transform`].
    NewBuffer,
}

/// How output buffers are made, as [`Transform::decide_allocation`] decided.
#[derive(Debug, Clone)]
pub struct Allocation {
    /// The mode.
    pub mode: TransformMode,
    /// The pool output buffers come from ([`TransformMode::NewBuffer`]; the default
    /// [`Transform::prepare_output_buffer`] acquires from it). The base deactivates it
    /// when the allocation is decided again or the element stops.
    pub pool: Option<BufferPool>,
}

impl Allocation {
    /// Buffers go on untouched.
    pub fn passthrough() -> Self {
        Allocation {
            mode: TransformMode::Passthrough,
            pool: None,
        }
    }

    /// Buffers are changed in place.
    pub fn in_place() -> Self {
        Allocation {
            mode: TransformMode::InPlace,
            pool: None,
        }
    }

    /// New output buffers, from `pool` (or made by the element's own
    /// [`Transform::prepare_output_buffer`] when `None`).
    pub fn new_buffers(pool: Option<BufferPool>) -> Self {
        Allocation {
            mode: TransformMode::NewBuffer,
            pool,
        }
    }
}

/// A one-in-one-out element's own logic. Every method has a default except the ones a
/// mode needs: [`transform_ip`](Transform::transform_ip) for
/// [`TransformMode::InPlace`] and [`transform`](Transform::transform) for
/// [`TransformMode::NewBuffer`].
pub trait Transform: Send + Sync + 'static {
    /// True for an element that never changes buffers (identity): always in passthrough,
    /// before caps too, whatever [`set_caps`](Transform::set_caps) would say; the
    /// per-buffer path then reads not even the mode flag. Caps, queries and events still
    /// go through the element's methods.
    const ALWAYS_PASSTHROUGH: bool = false;

    /// True if buffers go through untouched before any caps are set (a stream without
    /// caps, as from a source of ANY caps). Read once when the element is made.
    /// Default: [`ALWAYS_PASSTHROUGH`](Transform::ALWAYS_PASSTHROUGH) (else buffers
    /// before caps are not negotiated).
    fn passthrough_before_caps(&self) -> bool {
        Self::ALWAYS_PASSTHROUGH
    }

    /// The caps on the other side of the element for `caps` on the `direction` side
    /// (`Sink`: what input `caps` can become; `Src`: what input gives output `caps`),
    /// within `filter` if given. Default: the same caps.
    fn transform_caps(
        &self,
        element: &Element,
        direction: PadDirection,
        caps: &Caps,
        filter: Option<&Caps>,
    ) -> Caps {
        let _ = (element, direction);
        match filter {
            Some(f) => f.intersect(caps),
            None => caps.clone(),
        }
    }

    /// The fixed output caps for fixed input caps `incaps`, when the transform of
    /// `incaps` is not fixed; `othercaps` is what downstream answered to a caps query
    /// with that transform as filter. Default: `othercaps` fixated.
    ///
    /// # Errors
    /// [`ElementError`] if nothing can be output for `incaps`.
    fn fixate_caps(
        &self,
        element: &Element,
        incaps: &Caps,
        othercaps: Caps,
    ) -> Result<Caps, ElementError> {
        if othercaps.is_empty() {
            return Err(ElementError::new(format!(
                "not negotiated: downstream of {} takes nothing {incaps} can become",
                element.path()
            )));
        }
        let fixed = othercaps.fixate();
        if !fixed.is_fixed() {
            return Err(ElementError::new(format!(
                "not negotiated: {} could not fixate caps {fixed}",
                element.path()
            )));
        }
        Ok(fixed)
    }

    /// The answer to a caps query on `pad` (default: [`default_query_caps`]).
    fn query_caps(&self, element: &Element, pad: &Pad, filter: Option<&Caps>) -> Caps {
        default_query_caps(self, element, pad, filter)
    }

    /// Whether `caps` would be accepted on `pad` (default: [`default_accept_caps`]).
    fn accept_caps(&self, element: &Element, pad: &Pad, caps: &Caps) -> bool {
        default_accept_caps(self, element, pad, caps)
    }

    /// New caps: `incaps` on the sink pad, `outcaps` about to go downstream. Returns the
    /// mode (the allocation may still change it). Default: passthrough for equal caps,
    /// else new buffers.
    ///
    /// # Errors
    /// [`ElementError`] if the element cannot work with these caps (posted on the bus;
    /// the caps event fails).
    fn set_caps(
        &self,
        element: &Element,
        incaps: &Caps,
        outcaps: &Caps,
    ) -> Result<TransformMode, ElementError> {
        let _ = element;
        Ok(if incaps.is_equal(outcaps) {
            TransformMode::Passthrough
        } else {
            TransformMode::NewBuffer
        })
    }

    /// Decides how output buffers are made from downstream's answer to the allocation
    /// query for the output caps (`answered`: whether downstream answered at all);
    /// `mode` is what [`set_caps`](Transform::set_caps) chose. Default: that mode, with
    /// [`default_output_pool`] for new buffers.
    ///
    /// # Errors
    /// [`ElementError`] if no allocation works.
    fn decide_allocation(
        &self,
        element: &Element,
        query: &AllocationQuery,
        answered: bool,
        mode: TransformMode,
    ) -> Result<Allocation, ElementError> {
        let _ = answered;
        Ok(match mode {
            TransformMode::Passthrough => Allocation::passthrough(),
            TransformMode::InPlace => Allocation::in_place(),
            TransformMode::NewBuffer => {
                Allocation::new_buffers(Some(default_output_pool(element, query)?))
            }
        })
    }

    /// Answers an allocation query from upstream outside passthrough (`mode` is the
    /// decided one). Default: in place, forwarded downstream (upstream's buffers are
    /// the ones downstream gets); for new buffers nothing is proposed.
    fn propose_allocation(
        &self,
        element: &Element,
        mode: TransformMode,
        query: &mut Query,
    ) -> bool {
        match mode {
            TransformMode::NewBuffer => true,
            _ => element.src_pad().is_some_and(|p| p.peer_query(query)),
        }
    }

    /// The buffer [`transform`](Transform::transform) writes `input`'s output into.
    /// Default: one from `pool`, the decided output pool.
    ///
    /// # Errors
    /// [`FlowError::Flushing`] when the pool is flushing or stopped;
    /// [`FlowError::NotNegotiated`] without a pool.
    fn prepare_output_buffer(
        &self,
        element: &Element,
        input: &Buffer,
        pool: Option<&BufferPool>,
    ) -> Result<BufferMut, FlowError> {
        let _ = (element, input);
        pool.ok_or(FlowError::NotNegotiated)?
            .acquire(AcquireParams::default())
            .map_err(|_| FlowError::Flushing)
    }

    /// Transforms `input` into `output` ([`TransformMode::NewBuffer`]). The base has
    /// already copied the timestamps, offsets and flags. Default: not negotiated.
    ///
    /// # Errors
    /// A flow error; post a message first for a fatal one.
    fn transform(&self, element: &Element, input: &Buffer, output: &mut BufferMut) -> FlowResult {
        let _ = (element, input, output);
        Err(FlowError::NotNegotiated)
    }

    /// Changes `buffer` in place ([`TransformMode::InPlace`]). Default: not negotiated.
    ///
    /// # Errors
    /// A flow error; post a message first for a fatal one.
    fn transform_ip(&self, element: &Element, buffer: &mut BufferMut) -> FlowResult {
        let _ = (element, buffer);
        Err(FlowError::NotNegotiated)
    }

    /// A downstream event other than caps arrived (flush-stop after the base unflushed
    /// the output pool). Default: forwarded downstream.
    fn sink_event(&self, element: &Element, event: Event) -> bool {
        element.forward_event_downstream(event)
    }

    /// An upstream event arrived (a reconfigure after the base marked the allocation to
    /// be decided again). Default: forwarded upstream.
    fn src_event(&self, element: &Element, event: Event) -> bool {
        element.forward_event_upstream(event)
    }

    /// Unblocks what may wait inside the element (its own pools) before streaming
    /// threads are joined; the output pool is already flushing.
    fn unlock(&self, element: &Element) {
        let _ = element;
    }

    /// Undoes [`unlock`](Transform::unlock) (at flush-stop).
    fn unlock_stop(&self, element: &Element) {
        let _ = element;
    }

    /// PAUSED→READY: release what `set_caps` and `decide_allocation` made (the base
    /// deactivates the output pool itself).
    fn stop(&self, element: &Element) {
        let _ = element;
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

/// GStreamer's caps query of a transform: the filter transformed to the other side
/// (within that pad's template) asks the other pad's peer, whose answer is transformed
/// back and kept within `pad`'s template and the filter.
pub fn default_query_caps<T: Transform + ?Sized>(
    t: &T,
    element: &Element,
    pad: &Pad,
    filter: Option<&Caps>,
) -> Caps {
    let template = &pad.template().caps;
    let other_pad = other_pad(element, pad);
    let other_template = other_pad.as_ref().map(|p| p.template().caps.clone());
    let other_filter = filter.map(|f| t.transform_caps(element, pad.direction(), f, None));
    let other_filter = match (other_filter, other_template) {
        (Some(f), Some(tpl)) => Some(f.intersect(&tpl)),
        (None, tpl) => tpl,
        (f, None) => f,
    };
    let other = match &other_pad {
        Some(p) => p.peer_caps(other_filter.as_ref()),
        None => other_filter.unwrap_or_else(Caps::new_any),
    };
    let other_direction = match pad.direction() {
        PadDirection::Sink => PadDirection::Src,
        PadDirection::Src => PadDirection::Sink,
    };
    let back = t
        .transform_caps(element, other_direction, &other, None)
        .intersect(template);
    match filter {
        Some(f) => f.intersect(&back),
        None => back,
    }
}

/// Whether `pad` accepts `caps`: they fit its template, and their transform fits what
/// the other pad's peer can take (anything while it is unlinked).
pub fn default_accept_caps<T: Transform + ?Sized>(
    t: &T,
    element: &Element,
    pad: &Pad,
    caps: &Caps,
) -> bool {
    if !caps.can_intersect(&pad.template().caps) {
        return false;
    }
    match other_pad(element, pad) {
        Some(other) if other.is_linked() => t
            .transform_caps(element, pad.direction(), caps, None)
            .can_intersect(&other.peer_caps(None)),
        _ => true,
    }
}

/// An output pool from downstream's answer: its proposed pool (or a new one) with the
/// proposal's size and counts (at least 2 buffers) and its allocator params.
///
/// # Errors
/// [`ElementError`] when downstream proposed no size, or the pool refuses the
/// configuration (and its counter-proposal).
pub fn default_output_pool(
    element: &Element,
    query: &AllocationQuery,
) -> Result<BufferPool, ElementError> {
    let proposal = query.pools.iter().find(|p| p.size > 0).ok_or_else(|| {
        ElementError::new(format!(
            "downstream of {} proposed no buffer size for {}: the element must decide its \
             output allocation itself",
            element.path(),
            query.caps
        ))
    })?;
    let pool = proposal
        .pool
        .clone()
        .unwrap_or_else(|| BufferPool::new(format!("{}-pool", element.name())));
    let config = PoolConfig::new(proposal.size)
        .min_max(proposal.min.max(2), proposal.max)
        .params(query.params());
    configure_pool(&pool, config)?;
    Ok(pool)
}

/// Configures `pool` with `config` (or the pool's counter-proposal) and activates it.
///
/// # Errors
/// [`ElementError`] with the pool's reason.
pub fn configure_pool(pool: &BufferPool, config: PoolConfig) -> Result<(), ElementError> {
    let fail = |e: PoolError| ElementError::new(e.to_string());
    match pool.set_config(config) {
        Ok(_) => {}
        Err(PoolError::Config {
            proposal: Some(p), ..
        }) => {
            pool.set_config(*p).map_err(fail)?;
        }
        Err(e) => return Err(fail(e)),
    }
    pool.set_active(true).map_err(fail)
}

fn other_pad(element: &Element, pad: &Pad) -> Option<Pad> {
    match pad.direction() {
        PadDirection::Sink => element.src_pad(),
        PadDirection::Src => element.sink_pad(),
    }
}

/// The negotiated stream.
#[derive(Default)]
struct Negotiated {
    /// The output caps (the allocation query's caps when deciding again).
    outcaps: Option<Caps>,
    /// The mode `set_caps` chose.
    wanted: Option<TransformMode>,
    /// `None`: not negotiated (no caps, or the allocation failed).
    allocation: Option<Allocation>,
    /// A reconfigure came from downstream: decide again before the next buffer.
    stale: bool,
}

/// A [`Transform`] as an element.
pub struct BaseTransform<T: Transform> {
    imp: T,
    src: OnceLock<Pad>,
    /// Read per buffer without a lock.
    passthrough: AtomicBool,
    /// What the element does before caps.
    initial_passthrough: bool,
    state: Mutex<Negotiated>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn deactivate(allocation: Option<Allocation>) {
    if let Some(pool) = allocation.and_then(|a| a.pool) {
        let _ = pool.set_active(false);
    }
}

impl<T: Transform> BaseTransform<T> {
    /// Wraps a transform.
    pub fn new(imp: T) -> Self {
        let initial_passthrough = imp.passthrough_before_caps();
        BaseTransform {
            imp,
            src: OnceLock::new(),
            passthrough: AtomicBool::new(initial_passthrough),
            initial_passthrough,
            state: Mutex::new(Negotiated::default()),
        }
    }

    /// The element's own logic.
    pub fn imp(&self) -> &T {
        &self.imp
    }

    /// The current mode (`None` before negotiation, except for elements that pass
    /// buffers through before caps).
    pub fn mode(&self) -> Option<TransformMode> {
        if self.passthrough.load(Ordering::Acquire) {
            return Some(TransformMode::Passthrough);
        }
        lock(&self.state).allocation.as_ref().map(|a| a.mode)
    }

    /// Input caps → output caps: the transform if it is fixed, else downstream's answer
    /// to it, fixated by the element.
    fn find_transform(
        &self,
        element: &Element,
        src: &Pad,
        incaps: &Caps,
    ) -> Result<Caps, ElementError> {
        let othercaps = self
            .imp
            .transform_caps(element, PadDirection::Sink, incaps, None)
            .intersect(&src.template().caps);
        if othercaps.is_fixed() {
            return Ok(othercaps);
        }
        let peer = if othercaps.is_empty() {
            othercaps
        } else {
            src.peer_caps(Some(&othercaps))
        };
        self.imp.fixate_caps(element, incaps, peer)
    }

    /// A caps event: output caps, the element's set_caps, the caps downstream, the
    /// allocation.
    fn set_caps(&self, element: &Element, incaps: &Caps) -> Result<bool, ElementError> {
        let src = self
            .src
            .get()
            .ok_or_else(|| ElementError::new("no source pad"))?;
        let outcaps = self.find_transform(element, src, incaps)?;
        let mode = if T::ALWAYS_PASSTHROUGH {
            TransformMode::Passthrough
        } else {
            self.imp.set_caps(element, incaps, &outcaps)?
        };
        // Passthrough is known before downstream sees the caps, so that an allocation
        // query coming back from upstream is forwarded.
        self.passthrough
            .store(mode == TransformMode::Passthrough, Ordering::Release);
        let old = {
            let mut st = lock(&self.state);
            st.outcaps = Some(outcaps.clone());
            st.wanted = Some(mode);
            st.stale = false;
            if mode == TransformMode::Passthrough {
                st.allocation.replace(Allocation::passthrough())
            } else {
                st.allocation.take()
            }
        };
        deactivate(old);
        if !src.push_event(Event::Caps(outcaps.clone())) {
            // Downstream refused: the one who sent the caps reports it.
            return Ok(false);
        }
        if mode != TransformMode::Passthrough {
            self.decide(element, src, outcaps, mode)?;
        }
        Ok(true)
    }

    /// Runs the allocation query downstream and lets the element decide.
    fn decide(
        &self,
        element: &Element,
        src: &Pad,
        outcaps: Caps,
        mode: TransformMode,
    ) -> Result<(), ElementError> {
        let mut q = Query::Allocation(AllocationQuery::new(outcaps, true));
        let answered = src.peer_query(&mut q);
        let Query::Allocation(q) = q else {
            return Err(ElementError::new("allocation query changed kind"));
        };
        let allocation = self.imp.decide_allocation(element, &q, answered, mode)?;
        self.passthrough.store(
            allocation.mode == TransformMode::Passthrough,
            Ordering::Release,
        );
        let old = lock(&self.state).allocation.replace(allocation);
        deactivate(old);
        Ok(())
    }

    /// The allocation for the next buffer, decided again first after a reconfigure.
    fn current_allocation(&self, element: &Element, src: &Pad) -> Result<Allocation, FlowError> {
        let again = {
            let mut st = lock(&self.state);
            if st.stale {
                st.stale = false;
                let old = st.allocation.take();
                let again = st.outcaps.clone().zip(st.wanted);
                drop(st);
                deactivate(old);
                again
            } else {
                None
            }
        };
        if let Some((outcaps, mode)) = again {
            if let Err(e) = self.decide(element, src, outcaps, mode) {
                element.post_error(&e.message, e.debug);
                return Err(FlowError::NotNegotiated);
            }
        }
        lock(&self.state)
            .allocation
            .clone()
            .ok_or(FlowError::NotNegotiated)
    }

    /// Everything but passthrough.
    #[inline(never)]
    fn chain_transform(&self, element: &Element, src: &Pad, input: Buffer) -> FlowResult {
        let allocation = self.current_allocation(element, src)?;
        match allocation.mode {
            TransformMode::Passthrough => src.push(input),
            TransformMode::InPlace => {
                let mut b = input.make_mut();
                self.imp.transform_ip(element, &mut b)?;
                src.push(b.freeze())
            }
            TransformMode::NewBuffer => {
                let mut out =
                    self.imp
                        .prepare_output_buffer(element, &input, allocation.pool.as_ref())?;
                out.set_pts(input.pts());
                out.set_dts(input.dts());
                out.set_duration(input.duration());
                out.set_offset(input.offset());
                out.set_offset_end(input.offset_end());
                out.set_flags(input.flags());
                self.imp.transform(element, &input, &mut out)?;
                // The input goes back to its pool after the output: an output sharing
                // its memory is usually released downstream within this push, so the
                // input is unshared again when it returns and its pool can reuse it.
                let result = src.push(out.freeze());
                drop(input);
                result
            }
        }
    }

    fn output_pool(&self) -> Option<BufferPool> {
        lock(&self.state)
            .allocation
            .as_ref()
            .and_then(|a| a.pool.clone())
    }
}

impl<T: Transform> ElementImpl for BaseTransform<T> {
    fn init(&self, element: &Element) {
        if let Some(p) = element.src_pad() {
            let _ = self.src.set(p);
        }
    }

    fn set_property(
        &self,
        element: &Element,
        name: &str,
        value: PropValue,
    ) -> Result<(), PropertyError> {
        self.imp.set_property(element, name, value)
    }

    fn property(&self, element: &Element, name: &str) -> Option<PropValue> {
        self.imp.property(element, name)
    }

    fn change_state(&self, element: &Element, change: StateChange) -> Result<(), ElementError> {
        if change == StateChange::PausedToReady {
            let old = std::mem::take(&mut *lock(&self.state));
            deactivate(old.allocation);
            self.passthrough
                .store(self.initial_passthrough, Ordering::Release);
            self.imp.stop(element);
        }
        Ok(())
    }

    fn unlock(&self, element: &Element) {
        if let Some(pool) = self.output_pool() {
            pool.set_flushing(true);
        }
        self.imp.unlock(element);
    }

    #[inline]
    fn chain(&self, element: &Element, _pad: &Pad, buffer: Buffer) -> FlowResult {
        let src = self.src.get().ok_or(FlowError::NotLinked)?;
        if T::ALWAYS_PASSTHROUGH || self.passthrough.load(Ordering::Acquire) {
            return src.push(buffer);
        }
        self.chain_transform(element, src, buffer)
    }

    fn sink_event(&self, element: &Element, _pad: &Pad, event: Event) -> bool {
        match event {
            Event::Caps(caps) => match self.set_caps(element, &caps) {
                Ok(accepted) => accepted,
                Err(e) => {
                    element.post_error(&e.message, e.debug);
                    false
                }
            },
            Event::FlushStop { .. } => {
                if let Some(pool) = self.output_pool() {
                    pool.set_flushing(false);
                }
                self.imp.unlock_stop(element);
                self.imp.sink_event(element, event)
            }
            other => self.imp.sink_event(element, other),
        }
    }

    fn src_event(&self, element: &Element, _pad: &Pad, event: Event) -> bool {
        if event == Event::Reconfigure {
            let mut st = lock(&self.state);
            if st.outcaps.is_some() {
                st.stale = true;
            }
        }
        self.imp.src_event(element, event)
    }

    fn query(&self, element: &Element, pad: &Pad, query: &mut Query) -> bool {
        match query {
            Query::Caps(CapsQuery { filter, result }) => {
                *result = Some(self.imp.query_caps(element, pad, filter.as_ref()));
                true
            }
            Query::AcceptCaps { caps, result } => {
                *result = self.imp.accept_caps(element, pad, caps);
                true
            }
            Query::Allocation(_) if pad.direction() == PadDirection::Sink => match self.mode() {
                None | Some(TransformMode::Passthrough) => element.default_query(pad, query),
                Some(mode) => self.imp.propose_allocation(element, mode, query),
            },
            _ => element.default_query(pad, query),
        }
    }
}
