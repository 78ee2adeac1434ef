//! When a source's frames carry a padded layout (as a driver with a fixed stride
//! produces) and the consumer does not understand VideoMeta, the framework copies each
//! frame into the default layout and records it with reason `alignment`; a consumer
//! that understands the meta gets the frames as they are.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use penstock::allocator::{AllocationParams, Allocator};
use penstock::basesrc::{BaseSrc, BufferAdapter, PushSource};
use penstock::buffer::{Buffer, BufferMut};
use penstock::bus::MessageKind;
use penstock::caps::Caps;
use penstock::element::{Element, ElementError, ElementFactory, Registry};
use penstock::flow::FlowError;
use penstock::ledger;
use penstock::pad::PadTemplate;
use penstock::pipeline::Pipeline;
use penstock::query::AllocationQuery;
use penstock_video::VideoMeta;
use penstock_video::{VideoFormat, VideoInfo};
use sha1::{Digest, Sha1};

const W: usize = 8;
const H: usize = 4;
const STRIDE: usize = 16;
const FRAMES: u64 = 3;

/// Row `r` of frame `n`: bytes n*16 + r*W + x.
fn pixel(n: u64, r: usize, x: usize) -> u8 {
    (n as usize * 16 + r * W + x) as u8
}

#[derive(Default)]
struct PaddedSrc {
    n: AtomicU64,
}

impl PushSource for PaddedSrc {
    fn output_adapter(
        &self,
        element: &Element,
        caps: &Caps,
        query: &AllocationQuery,
        target: Option<(Arc<dyn Allocator>, AllocationParams)>,
    ) -> Result<Option<Box<dyn BufferAdapter>>, ElementError> {
        penstock_video::relayout::relayout_adapter(element, caps, query, target)
    }

    fn create(&self, _e: &Element) -> Result<Buffer, FlowError> {
        let n = self.n.fetch_add(1, Ordering::Relaxed);
        if n >= FRAMES {
            return Err(FlowError::Eos);
        }
        let mut frame = vec![0xEEu8; STRIDE * H];
        for r in 0..H {
            for x in 0..W {
                frame[r * STRIDE + x] = pixel(n, r, x);
            }
        }
        let mut b = BufferMut::from_memory(penstock::Memory::from_owner(frame));
        let info = VideoInfo::new(VideoFormat::Gray8, W as u32, H as u32).unwrap();
        let mut meta = VideoMeta::from_info(&info);
        meta.stride[0] = STRIDE;
        b.add_meta(meta);
        b.set_pts(Some(penstock::ClockTime::from_nseconds(n * 33_333_333)));
        Ok(b.freeze())
    }
}

fn registry() -> Registry {
    let mut r = penstock_elements::registry();
    r.register(ElementFactory {
        name: "paddedsrc",
        long_name: "padded source",
        klass: "Source/Video",
        description: "GRAY8 frames with a 16-byte stride",
        properties: vec![],
        pad_templates: vec![PadTemplate::always_src(
            "video/x-raw, format=GRAY8, width=8, height=4, framerate=30/1"
                .parse::<Caps>()
                .unwrap(),
        )],
        create: || Box::new(BaseSrc::new(PaddedSrc::default())),
    });
    r
}

fn run(sink: &str, src_name: &str) -> (Vec<String>, ledger::SiteTotals) {
    let r = registry();
    let mut p = Pipeline::new("relayout");
    let src = r.make("paddedsrc", Some(src_name)).unwrap();
    let k = r.make(sink, None).unwrap();
    p.add(src.clone()).unwrap();
    p.add(k.clone()).unwrap();
    Pipeline::link_many(&[&src, &k]).unwrap();
    let report = p
        .run(Some(Duration::from_secs(20)), || false, |_| {})
        .unwrap();
    let lines = report
        .element_messages
        .iter()
        .filter_map(|m| match &m.kind {
            MessageKind::Element { name, text } if name == "checksum" => Some(text.clone()),
            _ => None,
        })
        .collect();
    (lines, ledger::snapshot().site(src_name))
}

#[test]
fn consumer_without_videometa_gets_default_layout_through_a_recorded_copy() {
    let (lines, site) = run("checksumsink", "paddedsrc-relayout");
    assert_eq!(lines.len(), FRAMES as usize);
    for (n, line) in lines.iter().enumerate() {
        let mut packed = Vec::new();
        for r in 0..H {
            packed.extend((0..W).map(|x| pixel(n as u64, r, x)));
        }
        let hex: String = Sha1::digest(&packed)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(
            line.ends_with(&hex),
            "frame {n}: {line} (expected sha1 {hex})"
        );
    }
    let alignment = site.reason(ledger::CopyReason::Alignment);
    assert_eq!(alignment.count, FRAMES);
    assert_eq!(alignment.bytes, FRAMES * (W * H) as u64);
}

#[test]
fn consumer_with_videometa_gets_frames_without_a_copy() {
    let (_, site) = run("fakesink", "paddedsrc-direct");
    assert_eq!(site.copies.count, 0, "{site:?}");
}
