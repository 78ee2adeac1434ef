//! An element's state changes, streaming threads and bus messages.

use super::*;

impl Element {
    /// Current state.
    pub fn state(&self) -> State {
        *self.0.state.lock_ignore_poison()
    }

    /// Goes step by step to `target`, posting a state-changed message per step.
    ///
    /// # Errors
    /// The first failing step's [`ElementError`] (also posted on the bus).
    pub fn set_state(&self, target: State) -> Result<(), ElementError> {
        loop {
            let current = self.state();
            let Some((change, next)) = StateChange::next(current, target) else {
                return Ok(());
            };
            match change {
                StateChange::ReadyToPaused => {
                    for p in self.pads() {
                        p.reset_for_streaming();
                    }
                }
                StateChange::PlayingToPaused => self.stop_tasks(),
                StateChange::PausedToReady => {
                    for p in self.pads() {
                        p.set_flushing(true);
                    }
                }
                _ => {}
            }
            if let Err(e) = self.0.imp.change_state(self, change) {
                self.post_error(&e.message, e.debug.clone());
                return Err(e.in_element(self));
            }
            *self.0.state.lock_ignore_poison() = next;
            self.post(MessageKind::StateChanged {
                old: current,
                new: next,
            });
        }
    }

    /// Sets every pad flushing and asks the implementation to unblock (first phase of
    /// stopping).
    pub fn unlock(&self) {
        for p in self.pads() {
            p.set_flushing(true);
        }
        self.0.imp.unlock(self);
    }

    /// Stops and joins the element's streaming threads (after [`unlock`](Self::unlock)).
    pub fn stop_tasks(&self) {
        self.unlock();
        let tasks = std::mem::take(&mut *self.0.tasks.lock_ignore_poison());
        for (stop, _) in &tasks {
            stop.store(true, Ordering::Release);
        }
        for (_, handle) in tasks {
            // A panic in `f` is caught and posted by the thread itself; this is for one
            // that escaped (a panic while posting).
            if handle.join().is_err() {
                self.post_error("a streaming thread panicked", None);
            }
        }
    }

    /// Starts a streaming thread calling `f` until it returns [`TaskControl::Stop`] or
    /// the element stops its tasks.
    ///
    /// A panic in `f` ends the task at once and is posted on the bus as an error from
    /// this element (with the panic's message), so the pipeline stops with it instead
    /// of waiting for data that will not come.
    ///
    /// # Errors
    /// [`ElementError`] if the thread cannot be spawned.
    pub fn spawn_task<F>(&self, what: &str, mut f: F) -> Result<(), ElementError>
    where
        F: FnMut() -> TaskControl + Send + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let element = Arc::downgrade(&self.0);
        let task = what.to_owned();
        let handle = std::thread::Builder::new()
            .name(format!("{}:{what}", self.name()))
            .spawn(move || {
                // One unwind guard around the whole loop (not one per iteration: the
                // loop body then stays one inlined function on the per-buffer path).
                let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    while !stop2.load(Ordering::Acquire) {
                        if let TaskControl::Stop = f() {
                            break;
                        }
                    }
                }));
                if let Err(payload) = run {
                    if let Some(inner) = element.upgrade() {
                        Element(inner).post_error(
                            &format!(
                                "streaming thread '{task}' panicked: {}",
                                panic_message(payload.as_ref())
                            ),
                            None,
                        );
                    }
                }
            })
            .map_err(|e| {
                ElementError::new(format!("cannot start a streaming thread: {e}")).in_element(self)
            })?;
        self.0.tasks.lock_ignore_poison().push((stop, handle));
        Ok(())
    }

    /// Posts a message on the pipeline's bus.
    pub fn post(&self, kind: MessageKind) {
        if let Some(bus) = &*self.0.bus.read_ignore_poison() {
            bus.post(self.path(), kind);
        }
    }

    /// Posts an error.
    pub fn post_error(&self, message: &str, debug: Option<String>) {
        self.post(MessageKind::Error {
            message: message.to_owned(),
            debug,
        });
    }

    /// Posts a warning.
    pub fn post_warning(&self, message: &str) {
        self.post(MessageKind::Warning {
            message: message.to_owned(),
        });
    }

    /// Reports a flow error that ends a streaming thread, as GStreamer's
    /// "streaming stopped, reason not-negotiated" (fatal ones only), and sends EOS
    /// downstream so sinks finish.
    pub fn report_flow_error(&self, err: FlowError) {
        if err.is_fatal() {
            self.post_error(
                &format!(
                    "Internal data stream error: streaming stopped, reason {}",
                    flow_name(err)
                ),
                None,
            );
        }
    }
}

/// The text of a panic's payload (`panic!("...")` gives a `&str` or a `String`).
pub(super) fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}

pub(super) fn flow_name(e: FlowError) -> &'static str {
    match e {
        FlowError::Flushing => "flushing",
        FlowError::Eos => "eos",
        FlowError::NotLinked => "not-linked",
        FlowError::NotNegotiated => "not-negotiated",
        FlowError::Error => "error",
    }
}
