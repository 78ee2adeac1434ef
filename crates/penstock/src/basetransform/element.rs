//! [`BaseTransform`]: a [`Transform`] as an element (negotiation, the per-buffer path,
//! events and queries).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use super::{Allocation, Transform, TransformMode};
use crate::buffer::Buffer;
use crate::caps::Caps;
use crate::element::{Element, ElementError, ElementImpl, PropValue, PropertyError, StateChange};
use crate::event::Event;
use crate::flow::{FlowError, FlowResult};
use crate::pad::{Pad, PadDirection};
use crate::pool::BufferPool;
use crate::query::{AllocationQuery, CapsQuery, Query};
use crate::sync::MutexExt;

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
        self.state
            .lock_ignore_poison()
            .allocation
            .as_ref()
            .map(|a| a.mode)
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
            let mut st = self.state.lock_ignore_poison();
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
        let old = self
            .state
            .lock_ignore_poison()
            .allocation
            .replace(allocation);
        deactivate(old);
        Ok(())
    }

    /// The allocation for the next buffer, decided again first after a reconfigure.
    fn current_allocation(&self, element: &Element, src: &Pad) -> Result<Allocation, FlowError> {
        let again = {
            let mut st = self.state.lock_ignore_poison();
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
        self.state
            .lock_ignore_poison()
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
        self.state
            .lock_ignore_poison()
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
            let old = std::mem::take(&mut *self.state.lock_ignore_poison());
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
            let mut st = self.state.lock_ignore_poison();
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
