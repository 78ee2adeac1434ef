//! `videoconvert` in pipelines: negotiation, passthrough without copies, conversion
//! into pooled buffers, VideoMeta layouts in and out, and the shared-luma NV12 → I420.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use penstock::buffer::Buffer;
use penstock::caps::Caps;
use penstock::element::{Element, ElementFactory, ElementImpl, PropValue, PropertyError, Registry};
use penstock::event::Event;
use penstock::flow::FlowResult;
use penstock::launch;
use penstock::ledger::{self, CopyReason};
use penstock::pad::{Pad, PadTemplate};
use penstock::query::Query;
use penstock_video::VideoMeta;
use penstock_video::VideoQueryExt;
use penstock_video::convert::{Converter, planes, planes_mut};
use penstock_video::testsrc::{Pattern, RenderOptions, Renderer};
use penstock_video::{VideoFormat, VideoInfo};

/// What a capture sink saw: caps, and per buffer its visible planes (packed), the
/// number of memories, whether it had a VideoMeta, and its pts.
#[derive(Debug, Default, Clone)]
struct Captured {
    caps: Option<Caps>,
    frames: Vec<Vec<Vec<u8>>>,
    memories: Vec<usize>,
    metas: Vec<bool>,
    buffers: Vec<Buffer>,
}

/// Captures per sink name (tests run in parallel).
fn store() -> &'static Mutex<std::collections::BTreeMap<String, Captured>> {
    static S: OnceLock<Mutex<std::collections::BTreeMap<String, Captured>>> = OnceLock::new();
    S.get_or_init(Default::default)
}

#[derive(Default)]
struct CaptureSink {
    meta: AtomicBool,
    keep: AtomicBool,
}

fn visible_planes(buffer: &Buffer, info: &VideoInfo) -> Vec<Vec<u8>> {
    let layout = match buffer.meta::<VideoMeta>() {
        Some(m) => {
            let n = m.n_planes;
            VideoInfo::with_layout(
                m.format,
                m.width,
                m.height,
                &m.offset[..n],
                &m.stride[..n],
                buffer.size(),
            )
            .unwrap()
        }
        None => info.clone(),
    };
    let map = buffer.map_read().unwrap();
    (0..info.n_planes())
        .map(|p| {
            let mut v = Vec::new();
            for r in 0..layout.plane_height(p) as usize {
                let s = layout.offset(p) + r * layout.stride(p);
                v.extend_from_slice(&map[s..s + layout.plane_row_bytes(p)]);
            }
            v
        })
        .collect()
}

impl ElementImpl for CaptureSink {
    fn set_property(&self, e: &Element, name: &str, v: PropValue) -> Result<(), PropertyError> {
        match (name, v) {
            ("video-meta", PropValue::Bool(b)) => self.meta.store(b, Ordering::Relaxed),
            ("keep", PropValue::Bool(b)) => self.keep.store(b, Ordering::Relaxed),
            (_, v) => return Err(PropertyError::not_writable(e, name, &v)),
        }
        Ok(())
    }
    fn chain(&self, e: &Element, pad: &Pad, buffer: Buffer) -> FlowResult {
        let caps = pad.current_caps().unwrap();
        let info = penstock_video::frame::info_from_caps(&caps)
            .unwrap()
            .unwrap();
        let mut s = store().lock().unwrap();
        let c = s.entry(e.name().to_owned()).or_default();
        c.caps = Some(caps);
        c.frames.push(visible_planes(&buffer, &info));
        c.memories.push(buffer.n_memory());
        c.metas.push(buffer.meta::<VideoMeta>().is_some());
        if self.keep.load(Ordering::Relaxed) {
            c.buffers.push(buffer);
        }
        Ok(())
    }
    fn sink_event(&self, e: &Element, _pad: &Pad, event: Event) -> bool {
        if let Event::Eos = event {
            e.post(penstock::bus::MessageKind::Eos);
        }
        true
    }
    fn query(&self, _e: &Element, _pad: &Pad, q: &mut Query) -> bool {
        match q {
            Query::Caps(q) => {
                q.result = Some(q.filter.clone().unwrap_or_else(Caps::new_any));
                true
            }
            Query::AcceptCaps { result, .. } => {
                *result = true;
                true
            }
            Query::Allocation(q) => {
                if self.meta.load(Ordering::Relaxed) {
                    q.add_video_meta(None);
                }
                true
            }
            Query::Drain => true,
        }
    }
}

fn registry() -> Registry {
    let mut r = penstock_elements::registry();
    r.register(ElementFactory {
        name: "capturesink",
        long_name: "capture sink",
        klass: "Sink",
        description: "keeps what it receives for the test",
        properties: vec![
            penstock::element::PropertySpec::new(
                "video-meta",
                "understand VideoMeta",
                penstock::element::PropType::Bool,
                PropValue::Bool(false),
            ),
            penstock::element::PropertySpec::new(
                "keep",
                "keep the buffers",
                penstock::element::PropType::Bool,
                PropValue::Bool(false),
            ),
        ],
        pad_templates: vec![PadTemplate::always_sink(Caps::new_any())],
        create: || Box::new(CaptureSink::default()),
    });
    r
}

fn run(line: &str) -> ledger::LedgerSnapshot {
    let before = ledger::snapshot();
    let p = launch::build(&registry(), line).unwrap_or_else(|e| panic!("{line}: {e}"));
    p.run(Some(Duration::from_secs(30)), || false, |_| {})
        .unwrap_or_else(|e| panic!("{line}: {e}"));
    let _ = p.set_state(penstock::element::State::Null);
    ledger::snapshot().since(&before)
}

fn captured(name: &str) -> Captured {
    store()
        .lock()
        .unwrap()
        .get(name)
        .cloned()
        .unwrap_or_default()
}

/// penstock's videotestsrc frame `n` of `pattern` as a default-layout frame.
fn rendered(pattern: &str, info: &VideoInfo, n: u64) -> Vec<u8> {
    let p = Pattern::ALL
        .iter()
        .copied()
        .find(|p| p.nick() == pattern)
        .unwrap();
    let mut r = Renderer::new(p, info, RenderOptions::default()).unwrap();
    let mut buf = vec![0u8; info.size()];
    let np = info.n_planes();
    r.render(n, &mut buf, &info.offsets()[..np], &info.strides()[..np])
        .unwrap();
    buf
}

fn expected_planes(from: &VideoInfo, data: &[u8], to: VideoFormat) -> Vec<Vec<u8>> {
    let out = VideoInfo::new(to, from.width(), from.height()).unwrap();
    let mut buf = vec![0u8; out.size()];
    Converter::new(from, &out)
        .unwrap()
        .convert(
            &planes(data, from).unwrap(),
            &mut planes_mut(&mut buf, &out).unwrap(),
        )
        .unwrap();
    let b = penstock::BufferMut::copy_from_slice(&buf).unwrap().freeze();
    visible_planes(&b, &out)
}

#[test]
fn equal_caps_pass_through_without_copies() {
    let site = "vc-pass";
    let d = run(&format!(
        "videotestsrc num-buffers=4 pattern=smpte ! video/x-raw,format=I420,width=64,height=48 ! \
         videoconvert name={site} ! capturesink name=pass-sink"
    ));
    let s = d.site(site);
    assert_eq!(s.copies.count, 0, "{s:?}");
    assert_eq!(s.allocations.count, 0, "{s:?}");
    let c = captured("pass-sink");
    assert_eq!(c.frames.len(), 4);
    let caps = c.caps.unwrap();
    assert_eq!(caps.structure(0).unwrap().get_str("format"), Some("I420"));
    let info = VideoInfo::new(VideoFormat::I420, 64, 48).unwrap();
    let b = penstock::BufferMut::copy_from_slice(&rendered("smpte", &info, 0))
        .unwrap()
        .freeze();
    assert_eq!(c.frames[0], visible_planes(&b, &info));
}

#[test]
fn converts_to_the_format_downstream_asks_for_into_pooled_buffers() {
    let site = "vc-bgrx";
    let d = run(&format!(
        "videotestsrc num-buffers=6 pattern=smpte ! video/x-raw,format=NV12,width=33,height=17 ! \
         videoconvert name={site} ! video/x-raw,format=BGRx ! capturesink name=bgrx-sink"
    ));
    let c = captured("bgrx-sink");
    assert_eq!(c.frames.len(), 6);
    assert_eq!(
        c.caps.unwrap().structure(0).unwrap().get_str("format"),
        Some("BGRx")
    );
    let info = VideoInfo::new(VideoFormat::Nv12, 33, 17).unwrap();
    for (n, frame) in c.frames.iter().enumerate() {
        let want = expected_planes(
            &info,
            &rendered("smpte", &info, n as u64),
            VideoFormat::Bgrx,
        );
        assert_eq!(frame, &want, "frame {n}");
    }
    let s = d.site(site);
    let conv = s.reason(CopyReason::Convert);
    assert_eq!(conv.count, 6);
    assert_eq!(conv.bytes, 6 * 33 * 4 * 17);
    // Output buffers come from a pool: a few allocations, not one per frame.
    assert!(s.allocations.count <= 3, "{s:?}");
}

#[test]
fn prefers_the_closest_format_downstream_offers() {
    run(
        "videotestsrc num-buffers=1 ! video/x-raw,format=NV12,width=16,height=16 ! videoconvert ! \
         video/x-raw,format={ RGBA, YUY2, I420 } ! capturesink name=pick-yuv",
    );
    assert_eq!(
        captured("pick-yuv")
            .caps
            .unwrap()
            .structure(0)
            .unwrap()
            .get_str("format"),
        Some("I420")
    );
    run(
        "videotestsrc num-buffers=1 ! video/x-raw,format=RGBx,width=16,height=16 ! videoconvert ! \
         video/x-raw,format={ I420, BGRA, BGRx } ! capturesink name=pick-rgb",
    );
    assert_eq!(
        captured("pick-rgb")
            .caps
            .unwrap()
            .structure(0)
            .unwrap()
            .get_str("format"),
        Some("BGRx")
    );
}

#[test]
fn upstream_is_offered_every_format_and_picks_its_own() {
    // Only the sink's format is fixed: videotestsrc picks its first format (I420) and
    // videoconvert converts.
    run(
        "videotestsrc num-buffers=1 ! video/x-raw,width=16,height=8 ! videoconvert ! \
         video/x-raw,format=RGB ! capturesink name=free-up",
    );
    let c = captured("free-up");
    assert_eq!(
        c.caps.unwrap().structure(0).unwrap().get_str("format"),
        Some("RGB")
    );
    assert_eq!(c.frames[0][0].len(), 16 * 3 * 8);
}

#[test]
fn nv12_to_i420_shares_the_luma_when_downstream_reads_video_meta() {
    let site = "vc-share";
    let d = run(&format!(
        "videotestsrc num-buffers=3 pattern=smpte ! video/x-raw,format=NV12,width=64,height=48 ! \
         videoconvert name={site} ! video/x-raw,format=I420 ! capturesink name=share-sink video-meta=true"
    ));
    let c = captured("share-sink");
    assert_eq!(c.frames.len(), 3);
    assert!(c.metas.iter().all(|&m| m));
    assert!(c.memories.iter().all(|&n| n == 2), "{:?}", c.memories);
    let info = VideoInfo::new(VideoFormat::Nv12, 64, 48).unwrap();
    for (n, frame) in c.frames.iter().enumerate() {
        let want = expected_planes(
            &info,
            &rendered("smpte", &info, n as u64),
            VideoFormat::I420,
        );
        assert_eq!(frame, &want, "frame {n}");
    }
    // Only the chroma was written.
    let conv = d.site(site).reason(CopyReason::Convert);
    assert_eq!(conv.count, 3);
    assert_eq!(conv.bytes, 3 * 2 * 32 * 24);
    // Without VideoMeta downstream: a whole default-layout frame, one memory.
    run(
        "videotestsrc num-buffers=2 pattern=smpte ! video/x-raw,format=NV12,width=64,height=48 ! \
         videoconvert ! video/x-raw,format=I420 ! capturesink name=noshare-sink",
    );
    let c = captured("noshare-sink");
    assert!(c.memories.iter().all(|&n| n == 1));
    assert!(c.metas.iter().all(|&m| !m));
    let want = expected_planes(&info, &rendered("smpte", &info, 0), VideoFormat::I420);
    assert_eq!(c.frames[0], want);
}

#[test]
fn shared_luma_outlives_a_held_output_buffer() {
    // The sink keeps every buffer: the input's memory stays shared, so upstream's pool
    // must not reuse (and overwrite) it while the output still shows it.
    run(
        "videotestsrc num-buffers=5 pattern=smpte ! video/x-raw,format=NV12,width=32,height=16 ! \
         videoconvert ! video/x-raw,format=I420 ! capturesink name=hold-sink video-meta=true keep=true",
    );
    let c = captured("hold-sink");
    let info = VideoInfo::new(VideoFormat::Nv12, 32, 16).unwrap();
    let out = VideoInfo::new(VideoFormat::I420, 32, 16).unwrap();
    for (n, b) in c.buffers.iter().enumerate() {
        let want = expected_planes(
            &info,
            &rendered("smpte", &info, n as u64),
            VideoFormat::I420,
        );
        assert_eq!(visible_planes(b, &out), want, "frame {n}");
    }
}

#[test]
fn reads_input_in_the_layout_of_its_video_meta() {
    // rawvideoparse with explicit strides hands over frames with a padded VideoMeta.
    let (w, h) = (6u32, 4u32);
    let stride = 16usize;
    let info = VideoInfo::new(VideoFormat::Gray8, w, h).unwrap();
    let mut file = Vec::new();
    for r in 0..h as usize {
        let mut row = vec![0xEEu8; stride];
        for (x, v) in row.iter_mut().take(w as usize).enumerate() {
            *v = (r * 40 + x * 7) as u8;
        }
        file.extend_from_slice(&row);
    }
    let dir = std::env::temp_dir().join(format!("penstock-vc-meta-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("padded.gray");
    std::fs::write(&path, &file).unwrap();
    run(&format!(
        "filesrc location={} ! rawvideoparse format=gray8 width={w} height={h} \
         plane-strides=<{stride}> plane-offsets=<0> frame-size={} ! videoconvert ! \
         video/x-raw,format=RGBA ! capturesink name=meta-in-sink",
        path.display(),
        stride * h as usize
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let c = captured("meta-in-sink");
    assert_eq!(c.frames.len(), 1);
    // The same frame in the default layout (rows of 8 bytes).
    let mut packed = vec![0u8; info.size()];
    for r in 0..h as usize {
        let d = r * info.stride(0);
        packed[d..d + w as usize].copy_from_slice(&file[r * stride..r * stride + w as usize]);
    }
    let want = expected_planes(&info, &packed, VideoFormat::Rgba);
    assert_eq!(c.frames[0], want);
}

/// Frame 0 of `smpte` as penstock's videotestsrc renders it for caps with BT.709
/// colorimetry (as GStreamer's does), converted as caps with colorimetry `fin` → `fout`
/// and format `to` say.
fn expected_with_colorimetry(
    info: &VideoInfo,
    (fin, fout): (&str, &str),
    to: VideoFormat,
) -> Vec<Vec<u8>> {
    use penstock_video::Colorimetry;
    let p = Pattern::ALL
        .iter()
        .copied()
        .find(|p| p.nick() == "smpte")
        .unwrap();
    let ci = Colorimetry::from_caps_fields(info.format(), info.height(), Some(fin), None).unwrap();
    let co = Colorimetry::from_caps_fields(to, info.height(), Some(fout), None).unwrap();
    let info = &info.clone().with_colorimetry(ci);
    let mut r = Renderer::new(p, info, RenderOptions::default()).unwrap();
    let mut data = vec![0u8; info.size()];
    let np = info.n_planes();
    r.render(0, &mut data, &info.offsets()[..np], &info.strides()[..np])
        .unwrap();
    let out = VideoInfo::new(to, info.width(), info.height())
        .unwrap()
        .with_colorimetry(co);
    let mut buf = vec![0u8; out.size()];
    Converter::new(info, &out)
        .unwrap()
        .convert(
            &planes(&data, info).unwrap(),
            &mut planes_mut(&mut buf, &out).unwrap(),
        )
        .unwrap();
    let b = penstock::BufferMut::copy_from_slice(&buf).unwrap().freeze();
    visible_planes(&b, &out)
}

#[test]
fn keeps_the_input_colorimetry_within_yuv_like_gstreamer() {
    // BT.709 at 48 rows (the default there is BT.601): NV12 output keeps BT.709, so the
    // conversion is a repack, not a matrix change.
    run("videotestsrc num-buffers=1 pattern=smpte ! \
         video/x-raw,format=I420,width=64,height=48,colorimetry=bt709 ! videoconvert ! \
         video/x-raw,format=NV12 ! capturesink name=cm-keep");
    let c = captured("cm-keep");
    let caps = c.caps.unwrap();
    let s = caps.structure(0).unwrap();
    assert_eq!(
        (s.get_str("format"), s.get_str("colorimetry")),
        (Some("NV12"), Some("bt709"))
    );
    let info = VideoInfo::new(VideoFormat::I420, 64, 48).unwrap();
    assert_eq!(
        c.frames[0],
        expected_with_colorimetry(&info, ("bt709", "bt709"), VideoFormat::Nv12)
    );
}

#[test]
fn converts_between_colorimetries_of_one_format() {
    let site = "vc-matrix";
    let d = run(&format!(
        "videotestsrc num-buffers=2 pattern=smpte ! \
         video/x-raw,format=I420,width=64,height=48,colorimetry=bt709 ! videoconvert name={site} ! \
         video/x-raw,format=I420,colorimetry=bt601 ! capturesink name=cm-601"
    ));
    let c = captured("cm-601");
    assert_eq!(
        c.caps.unwrap().structure(0).unwrap().get_str("colorimetry"),
        Some("bt601")
    );
    let info = VideoInfo::new(VideoFormat::I420, 64, 48).unwrap();
    let want = expected_with_colorimetry(&info, ("bt709", "bt601"), VideoFormat::I420);
    assert_eq!(c.frames[0], want);
    // Not passed through: converted, and the copy recorded.
    assert_ne!(
        want,
        expected_with_colorimetry(&info, ("bt709", "bt709"), VideoFormat::I420)
    );
    assert_eq!(d.site(site).reason(CopyReason::Convert).count, 2);
}

#[test]
fn a_colorimetry_it_cannot_read_is_a_clear_error() {
    let line = "videotestsrc num-buffers=1 ! \
                video/x-raw,format=I420,width=16,height=16,colorimetry=bogus ! \
                videoconvert ! video/x-raw,format=RGBA ! fakesink";
    let p = launch::build(&registry(), line).unwrap();
    let e = p
        .run(Some(Duration::from_secs(30)), || false, |_| {})
        .unwrap_err()
        .to_string();
    let _ = p.set_state(penstock::element::State::Null);
    assert!(e.contains("colorimetry=bogus") && e.contains("I420"), "{e}");
}
