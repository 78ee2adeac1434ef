//! Pipelines: a set of linked elements, their bus, and running them to the end.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::bus::{Bus, Message, MessageKind};
use crate::element::{Element, ElementError, State};
use crate::pad::{LinkError, Pad, PadDirection};

/// Running a pipeline failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// An element posted an error.
    #[error("from element {source_path}: {message}")]
    Element {
        /// Path of the element.
        source_path: String,
        /// The message.
        message: String,
        /// Debug details.
        debug: Option<String>,
    },
    /// A state change failed.
    #[error("state change failed: {0}")]
    StateChange(#[from] ElementError),
    /// Linking failed.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// Two elements with one name.
    #[error("pipeline {pipeline} already has an element named '{name}'")]
    DuplicateName {
        /// The pipeline.
        pipeline: String,
        /// The name.
        name: String,
    },
    /// The pipeline did not finish in time.
    #[error("timed out: no EOS after {0:?}")]
    Timeout(Duration),
}

/// A pipeline. Dropping it stops it and unlinks everything.
pub struct Pipeline {
    name: String,
    elements: Vec<Element>,
    bus: Bus,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("name", &self.name)
            .field("elements", &self.elements)
            .finish()
    }
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Execution time, as gst-launch's "Execution ended after": from the moment every
    /// sink has had its first buffer (GStreamer's preroll: gst-launch waits for it in
    /// PAUSED and only then sets PLAYING and starts its clock) until the last sink's EOS
    /// message was read from the bus. Start-up (building, state changes, negotiation,
    /// allocation, the first buffer) and shutdown are not counted. From PLAYING when a
    /// sink never had a buffer. (Data flows while the state change to PLAYING is still
    /// returning: buffers that reach every sink by then are counted.)
    pub wall: Duration,
    /// From the moment every element was PLAYING (the state change returned) until the
    /// last EOS: `wall` plus negotiation, allocation and the first buffer.
    pub playing: Duration,
    /// Warnings posted during the run: the first [`REPORT_MESSAGES`].
    pub warnings: Vec<Message>,
    /// Element messages (for example checksum lines), in order: the first
    /// [`REPORT_MESSAGES`]. ([`Pipeline::run_with`] shows every message as it comes.)
    pub element_messages: Vec<Message>,
    /// Warnings and element messages not in the report: past [`REPORT_MESSAGES`], or
    /// dropped by a full bus (see [`BUS_CAPACITY`](crate::bus::BUS_CAPACITY)).
    pub messages_not_kept: u64,
}

/// Warnings and element messages a [`RunReport`] keeps at most (each): a sink that
/// posts a message for every buffer must not make an endless run grow without bound.
pub const REPORT_MESSAGES: usize = 4096;

impl RunReport {
    fn keep(&mut self, msg: Message) {
        let list = match msg.kind {
            MessageKind::Warning { .. } => &mut self.warnings,
            MessageKind::Element { .. } => &mut self.element_messages,
            _ => return,
        };
        if list.len() < REPORT_MESSAGES {
            list.push(msg);
        } else {
            self.messages_not_kept += 1;
        }
    }
}

impl Pipeline {
    /// An empty pipeline.
    pub fn new(name: impl Into<String>) -> Pipeline {
        Pipeline {
            name: name.into(),
            elements: Vec::new(),
            bus: Bus::new(),
        }
    }

    /// The pipeline's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The bus.
    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// Adds an element.
    ///
    /// # Errors
    /// [`PipelineError::DuplicateName`] if an element of that name is already in the
    /// pipeline (paths and the EOS accounting rely on unique names).
    pub fn add(&mut self, element: Element) -> Result<(), PipelineError> {
        if self.by_name(element.name()).is_some() {
            return Err(PipelineError::DuplicateName {
                pipeline: self.name.clone(),
                name: element.name().to_owned(),
            });
        }
        element.set_parent(self.name.clone(), self.bus.clone());
        self.elements.push(element);
        Ok(())
    }

    /// The elements, in the order added.
    pub fn elements(&self) -> &[Element] {
        &self.elements
    }

    /// The element named `name`.
    pub fn by_name(&self, name: &str) -> Option<&Element> {
        self.elements.iter().find(|e| e.name() == name)
    }

    /// Links `src` to `sink` through free pads (or the named ones; request pads are
    /// made as needed).
    ///
    /// # Errors
    /// [`LinkError`] naming both sides.
    pub fn link_pads(
        src: &Element,
        src_pad: Option<&str>,
        sink: &Element,
        sink_pad: Option<&str>,
    ) -> Result<(Pad, Pad), LinkError> {
        let s = src
            .linkable_pad(PadDirection::Src, src_pad)
            .ok_or_else(|| LinkError::NoPad {
                element: src.path(),
                what: "free source",
                name: src_pad.map(str::to_owned),
            })?;
        let k = sink
            .linkable_pad(PadDirection::Sink, sink_pad)
            .ok_or_else(|| LinkError::NoPad {
                element: sink.path(),
                what: "free sink",
                name: sink_pad.map(str::to_owned),
            })?;
        Pad::link(&s, &k)?;
        Ok((s, k))
    }

    /// Links elements in a chain.
    ///
    /// # Errors
    /// The first [`LinkError`].
    pub fn link_many(elements: &[&Element]) -> Result<(), LinkError> {
        for w in elements.windows(2) {
            Pipeline::link_pads(w[0], None, w[1], None)?;
        }
        Ok(())
    }

    /// Elements ordered downstream first (sinks before sources), as state changes go
    /// up.
    fn downstream_first(&self) -> Vec<Element> {
        // Depth = length of the longest path to a sink, computed by relaxation.
        let n = self.elements.len();
        let mut depth = vec![0usize; n];
        for _ in 0..n {
            let mut changed = false;
            for (i, e) in self.elements.iter().enumerate() {
                for p in e.src_pads() {
                    if let Some(peer) = p.peer().and_then(|k| k.parent()) {
                        if let Some(j) = self.elements.iter().position(|x| *x == peer) {
                            if depth[i] < depth[j] + 1 {
                                depth[i] = depth[j] + 1;
                                changed = true;
                            }
                        }
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| depth[i]);
        order
            .into_iter()
            .map(|i| self.elements[i].clone())
            .collect()
    }

    /// Sets every element to `target`: upwards sinks first, downwards after stopping
    /// every streaming thread (all pads flushing, `unlock`, join).
    ///
    /// # Errors
    /// The first failing element's error; the pipeline is then taken back to NULL.
    pub fn set_state(&self, target: State) -> Result<(), PipelineError> {
        let order = self.downstream_first();
        let current = order
            .iter()
            .map(Element::state)
            .max()
            .unwrap_or(State::Null);
        if target < current {
            if current == State::Playing {
                for e in &order {
                    e.unlock();
                }
                for e in &order {
                    e.stop_tasks();
                }
            }
            // An element that fails to go down must not keep the others up: take every
            // element down and report the first failure.
            let mut first = Ok(());
            for e in order.iter().rev() {
                if let Err(err) = e.set_state(target) {
                    if first.is_ok() {
                        first = Err(PipelineError::Element {
                            source_path: e.path(),
                            message: err.message,
                            debug: err.debug,
                        });
                    }
                }
            }
            return first;
        }
        for step in [State::Ready, State::Paused, State::Playing] {
            if step > target {
                break;
            }
            for e in &order {
                // Only upwards: an element already at or past this step stays where it
                // is (going "up" to Ready from Paused would be a step down).
                if e.state() >= step {
                    continue;
                }
                if let Err(err) = e.set_state(step) {
                    let _ = self.set_state(State::Null);
                    return Err(PipelineError::Element {
                        source_path: e.path(),
                        message: err.message,
                        debug: err.debug,
                    });
                }
            }
        }
        Ok(())
    }

    /// When the last sink got its first buffer (all sinks prerolled), if they all did.
    fn prerolled(&self) -> Option<Instant> {
        let mut last: Option<Instant> = None;
        for sink in self.sinks() {
            for pad in sink.sink_pads() {
                let t = pad.first_buffer_at()?;
                last = Some(last.map_or(t, |l| l.max(t)));
            }
        }
        last
    }

    /// Sink elements (no source pads).
    pub fn sinks(&self) -> Vec<Element> {
        self.elements
            .iter()
            .filter(|e| e.src_pads().is_empty() && !e.sink_pads().is_empty())
            .cloned()
            .collect()
    }

    /// Plays until every sink got EOS, an error, `timeout`, or `stop()` returns true
    /// (checked every 50 ms, for Ctrl-C); then stops the pipeline (NULL).
    /// `on_tick` is called at least every 50 ms (progress display).
    ///
    /// # Errors
    /// The first error message (with the element path), a failed state change, or a
    /// timeout.
    pub fn run(
        &self,
        timeout: Option<Duration>,
        stop: impl FnMut() -> bool,
        on_tick: impl FnMut(Duration),
    ) -> Result<RunReport, PipelineError> {
        self.run_with(timeout, stop, on_tick, |_| {})
    }

    /// As [`run`](Self::run), and shows `on_message` every message read from the bus
    /// (before it is handled), in order, including those posted while stopping.
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub fn run_with(
        &self,
        timeout: Option<Duration>,
        mut stop: impl FnMut() -> bool,
        mut on_tick: impl FnMut(Duration),
        mut on_message: impl FnMut(&Message),
    ) -> Result<RunReport, PipelineError> {
        let sinks: BTreeSet<String> = self.sinks().iter().map(Element::path).collect();
        let start = Instant::now();
        self.set_state(State::Playing)?;
        let playing = Instant::now();
        let mut eos: BTreeSet<String> = BTreeSet::new();
        let mut report = RunReport {
            wall: Duration::ZERO,
            playing: Duration::ZERO,
            warnings: Vec::new(),
            element_messages: Vec::new(),
            messages_not_kept: 0,
        };
        let result = loop {
            if sinks.is_subset(&eos) {
                break Ok(());
            }
            if timeout.is_some_and(|t| start.elapsed() > t) {
                break Err(PipelineError::Timeout(start.elapsed()));
            }
            if stop() {
                break Ok(());
            }
            on_tick(start.elapsed());
            let Some(msg) = self.bus.pop(Some(Duration::from_millis(50))) else {
                continue;
            };
            on_message(&msg);
            match msg.kind {
                MessageKind::Eos => {
                    eos.insert(msg.source);
                }
                MessageKind::Error { message, debug } => {
                    break Err(PipelineError::Element {
                        source_path: msg.source,
                        message,
                        debug,
                    });
                }
                _ => report.keep(msg),
            }
        };
        let end = Instant::now();
        report.playing = end.duration_since(playing);
        // From the last sink's first buffer even when it came before the state change
        // returned (a short stream can be mostly through by then); never from before
        // this run started (a mark left from an earlier run).
        report.wall = end.duration_since(self.prerolled().unwrap_or(playing).max(start));
        let stopped = self.set_state(State::Null);
        // Messages posted while stopping (checksum lines of the last buffers).
        for msg in self.bus.drain() {
            on_message(&msg);
            if let MessageKind::Element { .. } = msg.kind {
                report.keep(msg);
            }
        }
        report.messages_not_kept += self.bus.dropped();
        result?;
        stopped?;
        Ok(report)
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        let _ = self.set_state(State::Null);
        for e in &self.elements {
            for p in e.pads() {
                p.unlink();
            }
        }
    }
}
