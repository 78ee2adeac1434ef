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

mod element;

pub use element::BaseTransform;

use crate::buffer::{Buffer, BufferMut};
use crate::caps::Caps;
use crate::element::{Element, ElementError, PropValue, PropertyError};
use crate::event::Event;
use crate::flow::{FlowError, FlowResult};
use crate::pad::{Pad, PadDirection};
use crate::pool::{AcquireParams, BufferPool, PoolConfig, PoolError};
use crate::query::{AllocationQuery, Query};

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

    /// Sets a property (see [`ElementImpl::set_property`](crate::element::ElementImpl::set_property)). The default refuses every
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
