//! The bus: messages from elements and streaming threads to the application.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::element::State;
use crate::sync::MutexExt;

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

/// A bus: many posters, one reader. Cloning shares it.
#[derive(Clone)]
pub struct Bus {
    tx: Sender<Message>,
    rx: Arc<Mutex<Receiver<Message>>>,
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

impl Bus {
    /// A new bus.
    pub fn new() -> Bus {
        let (tx, rx) = mpsc::channel();
        Bus {
            tx,
            rx: Arc::new(Mutex::new(rx)),
        }
    }

    /// Posts a message; never blocks.
    pub fn post(&self, source: impl Into<String>, kind: MessageKind) {
        // The reader may be gone when the application stopped listening: nothing to do.
        let _ = self.tx.send(Message {
            source: source.into(),
            kind,
        });
    }

    /// The next message, waiting at most `timeout` (`None`: forever).
    pub fn pop(&self, timeout: Option<Duration>) -> Option<Message> {
        let rx = self.rx.lock_ignore_poison();
        match timeout {
            None => rx.recv().ok(),
            Some(t) => rx.recv_timeout(t).ok(),
        }
    }

    /// Every message waiting now.
    pub fn drain(&self) -> Vec<Message> {
        let rx = self.rx.lock_ignore_poison();
        rx.try_iter().collect()
    }
}
