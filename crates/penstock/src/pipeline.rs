//! Pipelines: a set of linked elements, their bus, and running them to the end.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use crate::bus::{Bus, Message, MessageKind};
use crate::element::{Element, ElementError, State};
use crate::pad::{LinkError, Pad, PadDirection, PadPresence};

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
    /// A pad that is always there is not linked: data would have nowhere to go (a
    /// source pad) or nowhere to come from (a sink pad). Found before anything runs.
    #[error(
        "pad {pad} is not linked: link it to another element (with `!` in a launch line) \
         or remove {element}"
    )]
    NotLinked {
        /// The pad's path (`pipeline0/videotestsrc0:src`).
        pad: String,
        /// Its element's path.
        element: String,
    },
    /// Links that go round in a circle: buffers would flow forever and the pipeline has
    /// no order to change state in. Found before anything runs.
    #[error("the links form a cycle: {}; break it by linking the last element to a sink", .pads.join(" -> "))]
    Cycle {
        /// The source pads along the cycle, each linked to the next one's element.
        pads: Vec<String>,
    },
}

/// The elements in state-change order, from [`Pipeline::topological`].
struct Topology {
    /// Positions, downstream first.
    order: Vec<usize>,
    /// Per element, whether it is on or upstream of a cycle; `None` when there is no
    /// cycle.
    unordered: Option<Vec<bool>>,
    /// Per element, the elements its source pads link to.
    down: Vec<Vec<usize>>,
}

/// A pipeline. Dropping it stops it and unlinks everything.
pub struct Pipeline {
    name: String,
    elements: Vec<Element>,
    /// Position of each element in `elements`, by name.
    names: HashMap<String, usize>,
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
            names: HashMap::new(),
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
        self.names
            .insert(element.name().to_owned(), self.elements.len());
        self.elements.push(element);
        Ok(())
    }

    /// The elements, in the order added.
    pub fn elements(&self) -> &[Element] {
        &self.elements
    }

    /// The element named `name`.
    pub fn by_name(&self, name: &str) -> Option<&Element> {
        self.names.get(name).map(|&i| &self.elements[i])
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

    /// The position in `elements` of the element `pad` belongs to, if it is in this
    /// pipeline.
    fn index_of(&self, pad: &Pad) -> Option<usize> {
        let element = pad.parent()?;
        let &i = self.names.get(element.name())?;
        (self.elements[i] == element).then_some(i)
    }

    /// For each element, the positions of the elements its source pads are linked to.
    fn downstream_links(&self) -> Vec<Vec<usize>> {
        self.elements
            .iter()
            .map(|e| {
                e.src_pads()
                    .iter()
                    .filter_map(|p| p.peer().and_then(|k| self.index_of(&k)))
                    .collect()
            })
            .collect()
    }

    /// Elements ordered downstream first (sinks before sources), as state changes go
    /// up: by the length of the longest path to a sink, then in the order added. Linear
    /// in elements and links (a topological order, Kahn's algorithm). Elements on or
    /// upstream of a cycle, which have no such order, come last, in the order added.
    fn downstream_first(&self) -> Vec<Element> {
        self.topological()
            .order
            .into_iter()
            .map(|i| self.elements[i].clone())
            .collect()
    }

    /// Positions sorted by depth (longest path to a sink), and which elements could not
    /// be ordered (those on or upstream of a cycle).
    fn topological(&self) -> Topology {
        let n = self.elements.len();
        let down = self.downstream_links();
        let mut up: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut pending: Vec<usize> = vec![0; n];
        for (i, targets) in down.iter().enumerate() {
            pending[i] = targets.len();
            for &j in targets {
                up[j].push(i);
            }
        }
        let mut ready: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
        let mut depth = vec![0usize; n];
        let mut done = 0;
        while let Some(j) = ready.pop() {
            done += 1;
            for &i in &up[j] {
                depth[i] = depth[i].max(depth[j] + 1);
                pending[i] -= 1;
                if pending[i] == 0 {
                    ready.push(i);
                }
            }
        }
        let mut order: Vec<usize> = (0..n).collect();
        // Unordered elements (pending > 0) last; sort_by_key is stable.
        order.sort_by_key(|&i| (pending[i] > 0, depth[i]));
        Topology {
            order,
            unordered: (done < n).then(|| pending.iter().map(|&p| p > 0).collect()),
            down,
        }
    }

    /// Checks that the pipeline can run to its end: every always-present pad is linked,
    /// and the links contain no cycle. [`Pipeline::run`] checks this before anything
    /// starts; [`Pipeline::set_state`] does not, so that an application may change links
    /// while paused or playing (a push to an unlinked pad then fails `NotLinked`).
    ///
    /// # Errors
    /// [`PipelineError::NotLinked`] naming the first unlinked pad (in the order elements
    /// were added); [`PipelineError::Cycle`] naming the pads around a cycle.
    pub fn check_links(&self) -> Result<(), PipelineError> {
        for e in &self.elements {
            for p in e.pads() {
                if p.template().presence == PadPresence::Always && !p.is_linked() {
                    return Err(PipelineError::NotLinked {
                        pad: p.path(),
                        element: e.path(),
                    });
                }
            }
        }
        let topology = self.topological();
        match &topology.unordered {
            None => Ok(()),
            Some(unordered) => Err(PipelineError::Cycle {
                pads: self.find_cycle(&topology.down, unordered),
            }),
        }
    }

    /// The source pads around one cycle, from the links (`down`) and the elements that
    /// could not be ordered (on or upstream of a cycle).
    fn find_cycle(&self, down: &[Vec<usize>], unordered: &[bool]) -> Vec<String> {
        // Walk downstream from an unordered element, always into an unordered one (each
        // has one: it waits on a link into the cycle), until an element repeats: the
        // walk from its first visit is a cycle. Linear: each element is visited once.
        let Some(start) = unordered.iter().position(|&u| u) else {
            return Vec::new();
        };
        let mut seen_at: HashMap<usize, usize> = HashMap::new();
        let mut path: Vec<usize> = Vec::new();
        let mut at = start;
        loop {
            if let Some(&first) = seen_at.get(&at) {
                path.drain(..first);
                break;
            }
            seen_at.insert(at, path.len());
            path.push(at);
            match down[at].iter().copied().find(|&j| unordered[j]) {
                Some(next) => at = next,
                None => break,
            }
        }
        // Name each element's source pad that leads to the next element on the cycle.
        path.iter()
            .enumerate()
            .map(|(k, &i)| {
                let next = path[(k + 1) % path.len()];
                self.elements[i]
                    .src_pads()
                    .into_iter()
                    .find(|p| p.peer().and_then(|peer| self.index_of(&peer)) == Some(next))
                    .map_or_else(|| self.elements[i].path(), |p| p.path())
            })
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
    /// [`PipelineError::NotLinked`] or [`PipelineError::Cycle`] before starting (see
    /// [`Pipeline::check_links`]); the first error message (with the element path), a
    /// failed state change, or a timeout.
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
        // Before anything streams: a pipeline with an unlinked pad or a cycle could only
        // fail later ("not linked", "not negotiated"), succeed having done nothing, or
        // run forever.
        self.check_links()?;
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
