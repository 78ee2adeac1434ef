//! `rawvideoparse`: cuts a raw byte stream (a file of frames) into video frames.
//!
//! ```text
//!   in:  [ 4096 ][ 4096 ][ 4096 ][ 4096 ] ...       (any sizes, any memories)
//!   out: [    frame 0    ][    frame 1    ] ...     (each: windows of the input)
//! ```
//!
//! The frame size comes from [`VideoInfo::new`] (GStreamer's default layout) or from
//! explicit `plane-strides`/`plane-offsets`. Frames are made without copying: a frame
//! inside one incoming memory is a shared window of it; a frame that straddles memories
//! or buffers is a buffer of several windows (windows that are adjacent in one region,
//! such as consecutive `filesrc` blocks of one chunk, are merged into one memory).
//! Only a memory that may not be shared (`NO_SHARE`) and must be split is copied, and
//! that copy is recorded in the ledger with reason `merge`.
//!
//! Output buffers carry pts = dts = n × duration (duration = 1 s × D / N, rounded down),
//! the byte offset of the frame in the input as `offset`, and a [`VideoMeta`], as
//! GStreamer's rawvideoparse does. A trailing partial frame at EOS is dropped with a
//! warning; a stream without a single whole frame is an error.

use std::collections::VecDeque;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, OnceLock};

use penstock::buffer::{Buffer, BufferFlags, BufferMut};
use penstock::caps::{Caps, Fraction};
use penstock::element::{
    Element, ElementError, ElementFactory, ElementImpl, PropValue, PropertyError, PropertySpec,
    StateChange,
};
use penstock::event::{Event, Format, Segment};
use penstock::flow::{FlowError, FlowResult};
use penstock::ledger::CopyReason;
use penstock::memory::{Memory, MemoryError};
use penstock::pad::{Pad, PadDirection, PadTemplate};
use penstock::property::{PropertyTable, Refused};
use penstock::query::Query;
use penstock::sync::MutexExt;
use penstock::time::ClockTime;
use penstock_video::VideoMeta;
use penstock_video::{VideoFormat, VideoInfo};

mod framer;
mod settings;

pub(crate) use framer::Framer;
use settings::*;

/// The formats, with GStreamer's `GstVideoFormat` numbers and nicks (checked against
/// `gst-inspect-1.0 rawvideoparse`, GStreamer 1.22).
pub const FORMATS: &[(i32, &str, &str)] = &[
    (2, "i420", "GST_VIDEO_FORMAT_I420"),
    (3, "yv12", "GST_VIDEO_FORMAT_YV12"),
    (4, "yuy2", "GST_VIDEO_FORMAT_YUY2"),
    (5, "uyvy", "GST_VIDEO_FORMAT_UYVY"),
    (7, "rgbx", "GST_VIDEO_FORMAT_RGBx"),
    (8, "bgrx", "GST_VIDEO_FORMAT_BGRx"),
    (9, "xrgb", "GST_VIDEO_FORMAT_xRGB"),
    (10, "xbgr", "GST_VIDEO_FORMAT_xBGR"),
    (11, "rgba", "GST_VIDEO_FORMAT_RGBA"),
    (12, "bgra", "GST_VIDEO_FORMAT_BGRA"),
    (13, "argb", "GST_VIDEO_FORMAT_ARGB"),
    (14, "abgr", "GST_VIDEO_FORMAT_ABGR"),
    (15, "rgb", "GST_VIDEO_FORMAT_RGB"),
    (16, "bgr", "GST_VIDEO_FORMAT_BGR"),
    (23, "nv12", "GST_VIDEO_FORMAT_NV12"),
    (24, "nv21", "GST_VIDEO_FORMAT_NV21"),
    (25, "gray8", "GST_VIDEO_FORMAT_GRAY8"),
];

/// The format of GStreamer number `value` (one of [`FORMATS`]).
pub fn format_from_number(value: i32) -> Option<VideoFormat> {
    let (_, nick, _) = FORMATS.iter().find(|(v, _, _)| *v == value)?;
    VideoFormat::ALL
        .into_iter()
        .find(|f| f.name().eq_ignore_ascii_case(nick))
}

const DEFAULT_FORMAT: i32 = 2;
const DEFAULT_WIDTH: i64 = 320;
const DEFAULT_HEIGHT: i64 = 240;

/// The factory.
pub fn factory() -> ElementFactory {
    ElementFactory {
        name: "rawvideoparse",
        long_name: "rawvideoparse",
        klass: "Codec/Parser/Video",
        description: "Converts unformatted data streams into timestamped raw video frames",
        properties: PROPERTIES.specs(),
        pad_templates: vec![
            PadTemplate::always_sink(Caps::new_any()),
            PadTemplate::always_src(src_caps()),
        ],
        create: || Box::new(RawVideoParse::default()),
    }
}

fn src_caps() -> Caps {
    crate::templates::raw_video_formats(
        FORMATS
            .iter()
            .filter_map(|(v, _, _)| format_from_number(*v)),
    )
}

struct Parse {
    config: Option<Arc<Config>>,
    framer: Framer,
    /// Frames output since the stream (or the last flush) started.
    frames: u64,
    /// Input bytes consumed: the offset of the next frame.
    offset: u64,
    /// Caps and segment still have to be sent.
    need_negotiation: bool,
    /// Next frame gets DISCONT.
    discont: bool,
}

impl Default for Parse {
    fn default() -> Self {
        Parse {
            config: None,
            framer: Framer::default(),
            frames: 0,
            offset: 0,
            need_negotiation: true,
            discont: true,
        }
    }
}

impl Parse {
    fn restart(&mut self) {
        self.framer.clear();
        self.frames = 0;
        self.offset = 0;
        self.need_negotiation = true;
        self.discont = true;
    }
}

static PROPERTIES: LazyLock<PropertyTable<RawVideoParse>> = LazyLock::new(|| {
    let dimension = 0..=i64::from(i32::MAX);
    PropertyTable::<RawVideoParse>::new()
        .add(
            PropertySpec::enumeration(
                "format",
                "Format of frames in raw stream",
                FORMATS,
                DEFAULT_FORMAT,
            ),
            |p| p.settings().format,
            |p, v| p.settings().format = v,
        )
        .add(
            PropertySpec::int(
                "width",
                "Width of frames in raw stream",
                dimension.clone(),
                DEFAULT_WIDTH,
            ),
            |p| p.settings().width,
            |p, v| p.settings().width = v,
        )
        .add(
            PropertySpec::int(
                "height",
                "Height of frames in raw stream",
                dimension,
                DEFAULT_HEIGHT,
            ),
            |p| p.settings().height,
            |p, v| p.settings().height = v,
        )
        .add_checked(
            PropertySpec::string(
                "framerate",
                "Rate of frames in raw stream, N/D (0/1 to 2147483647/1)",
                "25/1",
            ),
            |p| {
                let (n, d) = p.settings().framerate;
                format!("{n}/{d}")
            },
            |p, _, t| {
                let expected = "a fraction N/D in 0/1..=2147483647/1";
                p.settings().framerate =
                    fraction_value(
                        &t,
                        expected,
                        |n, _| {
                            if n < 0 { Err("negative") } else { Ok(()) }
                        },
                    )?;
                Ok(())
            },
        )
        .add_checked(
            PropertySpec::string(
                "pixel-aspect-ratio",
                "Pixel aspect ratio of frames in raw stream, N/D (1/100 to 100/1)",
                "1/1",
            ),
            |p| {
                let (n, d) = p.settings().par;
                format!("{n}/{d}")
            },
            |p, _, t| {
                let expected = "a fraction N/D in 1/100..=100/1";
                p.settings().par = fraction_value(&t, expected, |n, d| {
                    if n * 100 < d || n > 100 * d {
                        Err("out of range")
                    } else {
                        Ok(())
                    }
                })?;
                Ok(())
            },
        )
        .add(
            PropertySpec::uint(
                "frame-size",
                "Size of a frame (0 = frames are tightly packed together)",
                0..=u64::from(u32::MAX),
                0,
            ),
            |p| p.settings().frame_size,
            |p, v| p.settings().frame_size = v,
        )
        .add_checked(
            PropertySpec::string(
                "plane-strides",
                "Strides of the planes in bytes (e.g. plane-strides=\"<320,320>\"; \
                 empty = the format's default layout)",
                "",
            ),
            |p| format_plane_list(&p.settings().layout().0),
            |p, _, t| {
                p.settings().plane_strides = plane_list_value(&t)?;
                Ok(())
            },
        )
        .add_checked(
            PropertySpec::string(
                "plane-offsets",
                "Offsets of the planes in bytes (e.g. plane-offsets=\"<0,76800>\"; \
                 empty = the format's default layout)",
                "",
            ),
            |p| format_plane_list(&p.settings().layout().1),
            |p, _, t| {
                p.settings().plane_offsets = plane_list_value(&t)?;
                Ok(())
            },
        )
        .all_only_when_stopped()
});

/// The element.
#[derive(Default)]
pub struct RawVideoParse {
    settings: Mutex<Settings>,
    parse: Mutex<Parse>,
    src: OnceLock<Pad>,
}

impl RawVideoParse {
    fn parse(&self) -> MutexGuard<'_, Parse> {
        self.parse.lock_ignore_poison()
    }

    fn settings(&self) -> MutexGuard<'_, Settings> {
        self.settings.lock_ignore_poison()
    }

    /// Sends caps (checked with downstream) and a time segment.
    fn negotiate(&self, element: &Element, src: &Pad, config: &Config) -> FlowResult {
        match penstock::basesrc::negotiate_caps(element, src, &config.caps, |c, _| Ok(c.fixate())) {
            Ok(_) => {
                src.push_event(Event::Segment(Segment::new(Format::Time)));
                Ok(())
            }
            Err(e) => {
                self.parse().need_negotiation = true;
                element.post_error(&e.message, e.debug);
                Err(FlowError::NotNegotiated)
            }
        }
    }

    fn frame_buffer(config: &Config, p: &mut Parse, memories: Vec<Memory>) -> Buffer {
        let mut b = BufferMut::new();
        for m in memories {
            b.append_memory(m);
        }
        let n = p.frames;
        let pts = match config.duration {
            Some(d) => Some(ClockTime::from_nseconds(d.saturating_mul(n))),
            // GStreamer times the first frame at the segment start and no others.
            None => (n == 0).then_some(ClockTime::ZERO),
        };
        b.set_pts(pts);
        b.set_dts(pts);
        b.set_duration(config.duration.map(ClockTime::from_nseconds));
        b.set_offset(Some(p.offset));
        if std::mem::take(&mut p.discont) {
            b.insert_flags(BufferFlags::DISCONT);
        }
        b.add_meta(VideoMeta::from_info(&config.info));
        p.frames += 1;
        p.offset += config.advance as u64;
        b.freeze()
    }

    fn end_of_stream(&self, element: &Element) {
        let (left, frames, config) = {
            let mut p = self.parse();
            let left = p.framer.queued();
            p.framer.clear();
            (left, p.frames, p.config.clone())
        };
        let Some(config) = config else { return };
        let what = format!(
            "{} {}x{} frames are {} bytes",
            config.info.format(),
            config.info.width(),
            config.info.height(),
            config.advance
        );
        if frames == 0 {
            element.post_error(
                "No valid frames found before end of stream",
                Some(format!(
                    "the input ended after {left} bytes; {what} (check format, width, height \
                     and frame-size)"
                )),
            );
        } else if left > 0 {
            let frames = match frames {
                1 => "1 whole frame was".to_owned(),
                n => format!("{n} whole frames were"),
            };
            element.post_warning(&format!(
                "Dropping {left} trailing bytes at end of stream: not a whole frame ({what}; \
                 {frames} output)"
            ));
        }
    }
}

impl ElementImpl for RawVideoParse {
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
        PROPERTIES.set(self, element, name, value)
    }

    fn property(&self, _element: &Element, name: &str) -> Option<PropValue> {
        PROPERTIES.get(self, name)
    }

    fn change_state(&self, _element: &Element, change: StateChange) -> Result<(), ElementError> {
        match change {
            StateChange::ReadyToPaused => {
                let settings = self.settings.lock_ignore_poison().clone();
                let config = settings.config().map_err(|why| {
                    ElementError::new(format!("invalid raw video settings: {why}"))
                        .with_debug(format!("{settings:?}"))
                })?;
                let mut p = self.parse();
                p.restart();
                p.config = Some(Arc::new(config));
            }
            StateChange::PausedToReady => {
                let mut p = self.parse();
                p.restart();
                p.config = None;
            }
            _ => {}
        }
        Ok(())
    }

    fn chain(&self, element: &Element, _pad: &Pad, buffer: Buffer) -> FlowResult {
        let src = self.src.get().ok_or(FlowError::NotLinked)?;
        let (frames, negotiate, config) = {
            let mut p = self.parse();
            let config = p.config.clone().ok_or(FlowError::Flushing)?;
            if buffer.flags().contains(BufferFlags::DISCONT) {
                p.discont = true;
            }
            for m in buffer.memories() {
                p.framer.push(m.clone());
            }
            drop(buffer);
            let mut frames = Vec::new();
            while p.framer.queued() >= config.advance {
                let memories = p
                    .framer
                    .take(config.out_size, config.advance, element.name())
                    .map_err(|e| {
                        element.post_error(
                            &format!("Could not assemble frame {}: {e}", p.frames),
                            None,
                        );
                        FlowError::Error
                    })?;
                frames.push(Self::frame_buffer(&config, &mut p, memories));
            }
            let negotiate = !frames.is_empty() && std::mem::take(&mut p.need_negotiation);
            (frames, negotiate, config)
        };
        // Pushed without holding the lock: downstream may block (a full queue) while a
        // flush needs to get in.
        if negotiate {
            self.negotiate(element, src, &config)?;
        }
        for frame in frames {
            src.push(frame)?;
        }
        Ok(())
    }

    fn sink_event(&self, element: &Element, _pad: &Pad, event: Event) -> bool {
        let Some(src) = self.src.get() else {
            return false;
        };
        match event {
            Event::StreamStart { .. } => {
                self.parse().restart();
                src.push_event(event)
            }
            // The input is bytes: its caps (if any) say nothing about the frames.
            Event::Caps(_) => true,
            // A byte segment in, a time segment out (after the caps).
            Event::Segment(_) => {
                let (negotiate, config) = {
                    let mut p = self.parse();
                    (std::mem::take(&mut p.need_negotiation), p.config.clone())
                };
                match config {
                    Some(c) if negotiate => self.negotiate(element, src, &c).is_ok(),
                    Some(_) => src.push_event(Event::Segment(Segment::new(Format::Time))),
                    None => false,
                }
            }
            Event::Eos => {
                self.end_of_stream(element);
                src.push_event(Event::Eos)
            }
            Event::FlushStop { .. } => {
                self.parse().restart();
                src.push_event(event)
            }
            other => src.push_event(other),
        }
    }

    fn query(&self, element: &Element, pad: &Pad, query: &mut Query) -> bool {
        if pad.direction() == PadDirection::Src {
            let config = self.parse().config.clone();
            if let Some(config) = config {
                match query {
                    Query::Caps(q) => {
                        q.result = Some(match &q.filter {
                            Some(f) => f.intersect(&config.caps),
                            None => config.caps.clone(),
                        });
                        return true;
                    }
                    Query::AcceptCaps { caps, result } => {
                        *result = caps.can_intersect(&config.caps);
                        return true;
                    }
                    _ => {}
                }
            }
        }
        element.default_query(pad, query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use penstock::ledger;
    use penstock::memory::{MemoryBackend, MemoryFlags};

    fn bytes(ms: &[Memory]) -> Vec<u8> {
        ms.iter()
            .flat_map(|m| m.map_read().unwrap().to_vec())
            .collect()
    }

    fn numbered(n: usize, from: u8) -> Memory {
        Memory::from_owner(
            (0..n)
                .map(|i| from.wrapping_add(i as u8))
                .collect::<Vec<u8>>(),
        )
    }

    #[test]
    fn nicks_are_the_lowercase_format_names() {
        for (v, nick, desc) in FORMATS {
            let f = format_from_number(*v).unwrap();
            assert_eq!(f.name().to_ascii_lowercase(), *nick);
            assert_eq!(*desc, format!("GST_VIDEO_FORMAT_{}", f.name()));
        }
        assert_eq!(format_from_number(23), Some(VideoFormat::Nv12));
        assert_eq!(format_from_number(25), Some(VideoFormat::Gray8));
        assert_eq!(format_from_number(0), None);
    }

    #[test]
    fn frame_inside_one_memory_is_a_window_of_it() {
        let input = numbered(100, 0);
        let mut f = Framer::default();
        f.push(input.clone());
        let a = f.take(30, 30, "t").unwrap();
        let b = f.take(30, 30, "t").unwrap();
        assert_eq!(a.len(), 1);
        assert!(a[0].same_region(&input) && b[0].same_region(&input));
        assert_eq!(bytes(&a), (0..30).collect::<Vec<u8>>());
        assert_eq!(bytes(&b), (30..60).collect::<Vec<u8>>());
        assert_eq!(f.queued(), 40);
    }

    #[test]
    fn straddling_frame_is_several_memories_without_copy() {
        let (m1, m2, m3) = (numbered(10, 0), numbered(10, 10), numbered(10, 20));
        let mut f = Framer::default();
        for m in [&m1, &m2, &m3] {
            f.push(m.clone());
        }
        let frame = f.take(25, 25, "t").unwrap();
        assert_eq!(frame.len(), 3);
        assert!(frame[0].same_region(&m1) && frame[2].same_region(&m3));
        assert_eq!(bytes(&frame), (0..25).collect::<Vec<u8>>());
        assert_eq!(f.queued(), 5);
    }

    #[test]
    fn adjacent_windows_of_one_region_merge() {
        let whole = numbered(64, 0);
        let mut f = Framer::default();
        for i in 0..8 {
            f.push(whole.share(i * 8, 8).unwrap());
        }
        let frame = f.take(20, 20, "t").unwrap();
        assert_eq!(frame.len(), 1);
        assert_eq!((frame[0].offset(), frame[0].size()), (0, 20));
        let frame = f.take(20, 20, "t").unwrap();
        assert_eq!((frame[0].offset(), frame[0].size()), (20, 20));
    }

    #[test]
    fn frame_size_padding_is_skipped() {
        let mut f = Framer::default();
        f.push(numbered(30, 0));
        assert_eq!(
            bytes(&f.take(8, 10, "t").unwrap()),
            (0..8).collect::<Vec<u8>>()
        );
        assert_eq!(
            bytes(&f.take(8, 10, "t").unwrap()),
            (10..18).collect::<Vec<u8>>()
        );
    }

    struct NoShareBackend;
    impl MemoryBackend for NoShareBackend {
        fn memory_type(&self) -> penstock::MemoryType {
            penstock::MemoryType::new("NoShareTest")
        }
    }

    #[test]
    fn no_share_memory_is_copied_only_where_split() {
        let site = "rawvideoparse-test-noshare";
        let noshare = Memory::with_backend(
            (0..10u8).collect::<Vec<u8>>(),
            NoShareBackend,
            MemoryFlags::NO_SHARE,
        );
        let mut f = Framer::default();
        f.push(noshare.clone());
        f.push(numbered(10, 10));
        // Whole memory used as is: no copy.
        let frame = f.take(12, 12, site).unwrap();
        assert!(frame[0].same_region(&noshare));
        assert_eq!(bytes(&frame), (0..12).collect::<Vec<u8>>());
        assert_eq!(ledger::snapshot().site(site).copies.count, 0);
        // Split: the part taken is copied, recorded as a merge.
        let mut f = Framer::default();
        f.push(noshare.clone());
        let frame = f.take(4, 4, site).unwrap();
        assert!(!frame[0].same_region(&noshare));
        assert_eq!(bytes(&frame), vec![0, 1, 2, 3]);
        let s = ledger::snapshot().site(site);
        assert_eq!(s.reason(CopyReason::Merge).count, 1);
        assert_eq!(s.reason(CopyReason::Merge).bytes, 4);
    }

    #[test]
    fn layouts_follow_gstreamer() {
        let mut s = Settings {
            format: 23,
            width: 64,
            height: 48,
            ..Settings::default()
        };
        assert_eq!(s.config().unwrap().out_size, 4608);
        // Sizes GStreamer 1.22 gives these layouts (fakesink silent=false).
        s.plane_strides = vec![128, 128];
        s.plane_offsets = vec![0, 6144];
        assert_eq!(s.config().unwrap().out_size, 9216);
        s.plane_offsets.clear();
        assert_eq!(s.config().unwrap().out_size, 6144);
        s.plane_strides.clear();
        s.plane_offsets = vec![0, 7000];
        assert_eq!(s.config().unwrap().out_size, 8536);
        s.plane_offsets = vec![0];
        assert!(
            s.config()
                .unwrap_err()
                .contains("plane-offsets has 1 value")
        );
        s.plane_offsets.clear();
        s.frame_size = 5000;
        let c = s.config().unwrap();
        assert_eq!((c.out_size, c.advance), (4608, 5000));
        s.width = 0;
        assert!(s.config().is_err());
    }

    #[test]
    fn parses_fractions_and_lists() {
        assert_eq!(parse_fraction("30000/1001"), Some((30000, 1001)));
        assert_eq!(parse_fraction("25"), Some((25, 1)));
        assert_eq!(parse_fraction("1/0"), None);
        assert_eq!(parse_plane_list("<320,160,160>"), Some(vec![320, 160, 160]));
        assert_eq!(
            parse_plane_list("< (int)0, (int)76800 >"),
            Some(vec![0, 76800])
        );
        assert_eq!(parse_plane_list(""), Some(vec![]));
        assert_eq!(parse_plane_list("<1,-2>"), None);
    }
}
