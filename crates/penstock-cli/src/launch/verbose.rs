//! What `-v` and `-m` print: negotiated caps per pad and every bus message.

use super::*;

/// GStreamer's type name for an element of `factory` (`GstVideoTestSrc`), as gst-launch
/// prints it in paths.
pub(super) fn type_name(factory: &str) -> String {
    const KNOWN: &[(&str, &str)] = &[
        ("capsfilter", "GstCapsFilter"),
        ("checksumsink", "GstChecksumSink"),
        ("fakesink", "GstFakeSink"),
        ("fakesrc", "GstFakeSrc"),
        ("fdsink", "GstFdSink"),
        ("fdsrc", "GstFdSrc"),
        ("filesink", "GstFileSink"),
        ("filesrc", "GstFileSrc"),
        ("identity", "GstIdentity"),
        ("queue", "GstQueue"),
        ("rawvideoparse", "GstRawVideoParse"),
        ("tee", "GstTee"),
        ("videoconvert", "GstVideoConvert"),
        ("videocrop", "GstVideoCrop"),
        ("videotestsrc", "GstVideoTestSrc"),
    ];
    KNOWN.iter().find(|(f, _)| *f == factory).map_or_else(
        || {
            let mut c = factory.chars();
            c.next().map_or_else(String::new, |first| {
                format!("Gst{}{}", first.to_ascii_uppercase(), c.as_str())
            })
        },
        |(_, t)| (*t).to_owned(),
    )
}

/// `-v`: the caps of every pad as they are set, and `last-message` lines.
pub(super) struct Verbose {
    /// Each pad, its gst-launch path, and the caps last printed for it.
    pub(super) pads: Vec<(penstock::pad::Pad, String, Option<String>)>,
    /// gst-launch paths of the elements, by penstock path.
    pub(super) elements: Vec<(String, String)>,
    pub(super) exclude: Vec<String>,
    pub(super) checked: Option<Instant>,
}

impl Verbose {
    pub(super) fn new(pipeline: &penstock::pipeline::Pipeline, exclude: Vec<String>) -> Verbose {
        // Upstream first, following the links from the sources, as caps travel.
        let mut order: Vec<Element> = pipeline
            .elements()
            .iter()
            .filter(|e| e.sink_pads().is_empty())
            .cloned()
            .collect();
        let mut i = 0;
        while i < order.len() {
            for p in order[i].src_pads() {
                if let Some(next) = p.peer().and_then(|k| k.parent()) {
                    if !order.contains(&next) {
                        order.push(next);
                    }
                }
            }
            i += 1;
        }
        for e in pipeline.elements() {
            if !order.contains(e) {
                order.push(e.clone());
            }
        }
        let mut pads = Vec::new();
        let mut elements = Vec::new();
        for e in &order {
            let path = format!(
                "/GstPipeline:{}/{}:{}",
                pipeline.name(),
                type_name(e.factory().name),
                e.name()
            );
            let mut all = e.sink_pads();
            all.extend(e.src_pads());
            for p in all {
                pads.push((p.clone(), format!("{path}.GstPad:{}", p.name()), None));
            }
            elements.push((e.path(), path));
        }
        Verbose {
            pads,
            elements,
            exclude,
            checked: None,
        }
    }

    /// Prints the pads whose caps changed since the last call (at most every 20 ms: this
    /// runs once per bus message).
    pub(super) fn caps_changes(&mut self) -> Result<(), Failure> {
        if self.exclude.iter().any(|x| x == "caps")
            || self
                .checked
                .is_some_and(|t| t.elapsed() < Duration::from_millis(20))
        {
            return Ok(());
        }
        self.checked = Some(Instant::now());
        let mut text = String::new();
        for (pad, path, last) in &mut self.pads {
            let now = pad.current_caps().map(|c| c.to_string());
            if now != *last {
                if let Some(caps) = &now {
                    text.push_str(&format!("{path}: caps = {caps}\n"));
                }
                *last = now;
            }
        }
        if text.is_empty() {
            Ok(())
        } else {
            out::print(&text)
        }
    }

    /// A `last-message` line for a handoff message (fakesink silent=false).
    pub(super) fn message(&self, msg: &Message) -> Result<(), Failure> {
        let MessageKind::Element { name, text } = &msg.kind else {
            return Ok(());
        };
        if name != "handoff" || self.exclude.iter().any(|x| x == "last-message") {
            return Ok(());
        }
        let path = self
            .elements
            .iter()
            .find(|(p, _)| *p == msg.source)
            .map_or(msg.source.as_str(), |(_, g)| g.as_str());
        out::print(&format!("{path}: last-message = {text}\n"))
    }
}

/// `-m`: one bus message as gst-launch prints it.
pub(super) fn message_line(n: u64, msg: &Message) -> String {
    let element = msg.source.rsplit('/').next().unwrap_or(&msg.source);
    let (kind, body) = match &msg.kind {
        MessageKind::Error { message, debug } => (
            "error",
            format!(
                "GstMessageError, gerror=(GError)\"{message}\", debug=(string)\"{}\";",
                debug.as_deref().unwrap_or("")
            ),
        ),
        MessageKind::Warning { message } => (
            "warning",
            format!("GstMessageWarning, gerror=(GError)\"{message}\";"),
        ),
        MessageKind::Eos => ("eos", "no message details".to_owned()),
        MessageKind::StateChanged { old, new } => (
            "state-changed",
            format!(
                "GstMessageStateChanged, old-state=(GstState){}, new-state=(GstState){};",
                old.to_string().to_lowercase(),
                new.to_string().to_lowercase()
            ),
        ),
        MessageKind::StreamStart => ("stream-start", "GstMessageStreamStart;".to_owned()),
        MessageKind::Element { name, text } => {
            ("element", format!("{name}, text=(string)\"{text}\";"))
        }
    };
    format!("Got message #{n} from element \"{element}\" ({kind}): {body}\n")
}
