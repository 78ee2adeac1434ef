//! Events: stream-start, caps, segment, EOS, flushes, reconfigure.
//!
//! Downstream events travel with the data, in order. Stream-start, caps and segment are
//! *sticky*: a pad keeps the last of each and resends them to a new peer.

use crate::caps::Caps;
use crate::time::ClockTime;

/// The format of segment positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Nanoseconds.
    Time,
    /// Bytes.
    Bytes,
    /// Buffers (frames).
    Buffers,
}

/// The part of the stream that is played, and how timestamps map to stream time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Format of `start`, `stop`, `time` and `position`.
    pub format: Format,
    /// Playback rate (1 = normal), as a fraction.
    pub rate: (i32, i32),
    /// First timestamp in the segment.
    pub start: u64,
    /// Last timestamp, or `None` for open ended.
    pub stop: Option<u64>,
    /// Stream time of `start`.
    pub time: u64,
    /// Current position.
    pub position: u64,
}

impl Segment {
    /// An open segment starting at 0.
    pub fn new(format: Format) -> Self {
        Segment {
            format,
            rate: (1, 1),
            start: 0,
            stop: None,
            time: 0,
            position: 0,
        }
    }
}

/// An event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A new stream starts; first event on a pad.
    StreamStart {
        /// A stream identifier, unique in the pipeline.
        stream_id: String,
    },
    /// The format of the buffers that follow.
    Caps(Caps),
    /// The segment of the buffers that follow.
    Segment(Segment),
    /// A gap in the data until `timestamp + duration`.
    Gap {
        /// Start of the gap.
        timestamp: ClockTime,
        /// Length of the gap.
        duration: Option<ClockTime>,
    },
    /// No more data on this pad.
    Eos,
    /// Drop everything and refuse data until `FlushStop` (travels out of band).
    FlushStart,
    /// Data flows again.
    FlushStop {
        /// Reset running time.
        reset_time: bool,
    },
    /// Upstream event: downstream's needs changed, renegotiate caps and allocation.
    Reconfigure,
}

impl Event {
    /// The event's name, as GStreamer prints it.
    pub fn name(&self) -> &'static str {
        match self {
            Event::StreamStart { .. } => "stream-start",
            Event::Caps(_) => "caps",
            Event::Segment(_) => "segment",
            Event::Gap { .. } => "gap",
            Event::Eos => "eos",
            Event::FlushStart => "flush-start",
            Event::FlushStop { .. } => "flush-stop",
            Event::Reconfigure => "reconfigure",
        }
    }

    /// True for events a pad keeps and resends (stream-start, caps, segment).
    pub fn is_sticky(&self) -> bool {
        matches!(
            self,
            Event::StreamStart { .. } | Event::Caps(_) | Event::Segment(_)
        )
    }

    /// True for events that travel upstream.
    pub fn is_upstream(&self) -> bool {
        matches!(
            self,
            Event::Reconfigure | Event::FlushStart | Event::FlushStop { .. }
        )
    }

    /// True for events that must not wait behind data (flushes).
    pub fn is_serialized(&self) -> bool {
        !matches!(self, Event::FlushStart | Event::Reconfigure)
    }
}
