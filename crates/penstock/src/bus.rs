//! The bus: messages from elements and streaming threads to the application.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::element::State;
use crate::sync::{CondvarExt, MutexExt};

/// What a message says.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageKind {
    /// A fatal error: the pipeline must stop.
    Error {
        /// What went wrong, for the user.
        message: String,
        /// Details for the developer.
        debug: Option<String>,
    },
    /// Something went wrong but the stream goes on.
    Warning {
        /// What happened.
        message: String,
    },
    /// A sink reached end of stream (or the whole pipeline did, when from the pipeline).
    Eos,
    /// An element changed state.
    StateChanged {
        /// Previous state.
        old: State,
        /// New state.
        new: State,
    },
    /// A stream started flowing.
    StreamStart,
    /// Element-specific information (for example a checksum line).
    Element {
        /// Message name.
        name: String,
        /// Text.
        text: String,
    },
}

/// A message with the path of the element that posted it (`pipeline0/queue1`).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Path of the poster.
    pub source: String,
    /// What it says.
    pub kind: MessageKind,
}

/// Messages of the kinds an element may post for every buffer (element messages,
/// warnings, state changes, stream starts) that a bus holds unread at most; more are
/// dropped (and counted, see [`Bus::dropped`]) so that a reader that falls behind, or
/// none at all, costs bounded memory. Errors and EOS are always kept.
pub const BUS_CAPACITY: usize = 4096;

struct Queue {
    messages: VecDeque<Message>,
    /// Droppable messages in `messages`.
    droppable: usize,
    dropped: u64,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

/// A bus: many posters, one reader. Cloning shares it. Posting never blocks; at most
/// [`BUS_CAPACITY`] droppable messages wait unread.
#[derive(Clone)]
pub struct Bus {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bus")
    }
}

impl Default for Bus {
    fn default() -> Self {
        Bus::new()
    }
}

fn droppable(kind: &MessageKind) -> bool {
    !matches!(kind, MessageKind::Error { .. } | MessageKind::Eos)
}

impl Bus {
    /// A new bus.
    pub fn new() -> Bus {
        Bus {
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue {
                    messages: VecDeque::new(),
                    droppable: 0,
                    dropped: 0,
                }),
                ready: Condvar::new(),
            }),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.shared.queue.lock_ignore_poison()
    }

    /// Posts a message; never blocks. A droppable message (anything but an error or
    /// EOS) is dropped when [`BUS_CAPACITY`] of them wait unread.
    pub fn post(&self, source: impl Into<String>, kind: MessageKind) {
        let mut q = self.queue();
        let drop_it = droppable(&kind);
        if drop_it {
            if q.droppable >= BUS_CAPACITY {
                q.dropped += 1;
                return;
            }
            q.droppable += 1;
        }
        q.messages.push_back(Message {
            source: source.into(),
            kind,
        });
        drop(q);
        self.shared.ready.notify_one();
    }

    fn take(q: &mut Queue) -> Option<Message> {
        let m = q.messages.pop_front()?;
        if droppable(&m.kind) {
            q.droppable -= 1;
        }
        Some(m)
    }

    /// The next message, waiting at most `timeout` (`None`: forever).
    pub fn pop(&self, timeout: Option<Duration>) -> Option<Message> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut q = self.queue();
        loop {
            if let Some(m) = Bus::take(&mut q) {
                return Some(m);
            }
            q = match deadline {
                None => self.shared.ready.wait_ignore_poison(q),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    self.shared.ready.wait_timeout_ignore_poison(q, left).0
                }
            };
        }
    }

    /// Every message waiting now.
    pub fn drain(&self) -> Vec<Message> {
        let mut q = self.queue();
        q.droppable = 0;
        q.messages.drain(..).collect()
    }

    /// Droppable messages dropped so far because [`BUS_CAPACITY`] of them waited
    /// unread.
    pub fn dropped(&self) -> u64 {
        self.queue().dropped
    }
}
