//! filesrc, filesink, rawvideoparse and checksumsink end to end, on real files.
//!
//! The ledger is process-wide and these pipelines run on their own streaming threads,
//! so every test here takes `SERIAL`: the copy counts one test reads cannot include
//! another's.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use penstock::bus::MessageKind;
use penstock::element::Element;
use penstock::ledger;
use penstock::pipeline::{Pipeline, PipelineError, RunReport};
use penstock::sync::MutexExt;
use sha1::{Digest, Sha1};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock_ignore_poison()
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("penstock-files-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, contents).unwrap();
        p
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Deterministic pseudo-random bytes (xorshift64*).
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

fn make(p: &mut Pipeline, factory: &str, props: &[(&str, &str)]) -> Element {
    thread_local! {
        static REGISTRY: penstock::element::Registry = penstock_elements::registry();
    }
    let e = REGISTRY.with(|r| r.make(factory, None)).unwrap();
    for (k, v) in props {
        e.set_property_str(k, v)
            .unwrap_or_else(|err| panic!("{factory} {k}={v}: {err}"));
    }
    p.add(e.clone()).unwrap();
    e
}

fn loc(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn run(p: &Pipeline) -> Result<RunReport, PipelineError> {
    p.run(Some(Duration::from_secs(30)), || false, |_| {})
}

fn checksum_lines(report: &RunReport) -> Vec<String> {
    report
        .element_messages
        .iter()
        .filter_map(|m| match &m.kind {
            MessageKind::Element { name, text } if name == "checksum" => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn sha1_hex(data: &[u8]) -> String {
    Sha1::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `filesrc [props] ! [middle...] ! checksumsink [hash]`, run to the end.
fn checksums(
    input: &Path,
    src_props: &[(&str, &str)],
    parse_props: &[(&str, &str)],
    sink_props: &[(&str, &str)],
) -> Result<RunReport, PipelineError> {
    let mut p = Pipeline::new("p");
    let mut props = vec![("location", loc(input))];
    props.extend_from_slice(src_props);
    let src = make(&mut p, "filesrc", &props);
    let parse = make(&mut p, "rawvideoparse", parse_props);
    let sink = make(&mut p, "checksumsink", sink_props);
    Pipeline::link_many(&[&src, &parse, &sink]).unwrap();
    run(&p)
}

#[test]
fn filesrc_to_filesink_copies_files_exactly_and_copies_no_bytes() {
    let _serial = serial();
    let dir = Scratch::new("copy");
    for (i, size) in [0usize, 1, 4095, 4096, 4097, (1 << 20) + 3]
        .into_iter()
        .enumerate()
    {
        let data = random_bytes(size, 0x5eed + i as u64);
        let input = dir.file(&format!("in-{size}"), &data);
        let output = dir.path(&format!("out-{size}"));
        let mut p = Pipeline::new("p");
        let src = make(&mut p, "filesrc", &[("location", loc(&input))]);
        let sink = make(&mut p, "filesink", &[("location", loc(&output))]);
        Pipeline::link_many(&[&src, &sink]).unwrap();
        let before = ledger::snapshot();
        run(&p).unwrap_or_else(|e| panic!("size {size}: {e}"));
        let copies = ledger::snapshot().since(&before).copies;
        assert_eq!(copies.count, 0, "size {size}: {copies:?} copies");
        assert_eq!(copies.bytes, 0);
        let written = std::fs::read(&output).unwrap();
        assert!(written == data, "size {size}: output differs from input");
        let buffers = sink.sink_pad().unwrap().buffers();
        assert_eq!(buffers, size.div_ceil(4096) as u64, "size {size}");
    }
}

#[test]
fn filesrc_blocksize_and_num_buffers() {
    let _serial = serial();
    let dir = Scratch::new("blocks");
    let data = random_bytes(10_000, 7);
    let input = dir.file("in", &data);
    let output = dir.path("out");
    let mut p = Pipeline::new("p");
    let src = make(
        &mut p,
        "filesrc",
        &[
            ("location", loc(&input)),
            ("blocksize", "3000"),
            ("num-buffers", "2"),
        ],
    );
    let sink = make(&mut p, "filesink", &[("location", loc(&output))]);
    Pipeline::link_many(&[&src, &sink]).unwrap();
    run(&p).unwrap();
    assert_eq!(std::fs::read(&output).unwrap(), &data[..6000]);
    // 0 would never reach the end of the file: refused with the range in the message.
    let e = penstock_elements::registry()
        .make("filesrc", None)
        .unwrap()
        .set_property_str("blocksize", "0")
        .unwrap_err();
    assert!(e.to_string().contains("blocksize"), "{e}");
}

#[test]
fn filesink_append_adds_to_the_end() {
    let _serial = serial();
    let dir = Scratch::new("append");
    let input = dir.file("in", b"world");
    let output = dir.file("out", b"hello ");
    let mut p = Pipeline::new("p");
    let src = make(&mut p, "filesrc", &[("location", loc(&input))]);
    let sink = make(
        &mut p,
        "filesink",
        &[("location", loc(&output)), ("append", "true")],
    );
    Pipeline::link_many(&[&src, &sink]).unwrap();
    run(&p).unwrap();
    assert_eq!(std::fs::read(&output).unwrap(), b"hello world");
}

#[test]
fn rawvideoparse_frames_checksum_as_the_frame_bytes() {
    let _serial = serial();
    let dir = Scratch::new("nv12");
    let frame = 64 * 48 * 3 / 2;
    let data = random_bytes(5 * frame, 42);
    let input = dir.file("nv12.raw", &data);
    let expected: Vec<String> = (0..5)
        .map(|n| {
            format!(
                "0:00:00.{:09} {}",
                n * 40_000_000,
                sha1_hex(&data[n * frame..(n + 1) * frame])
            )
        })
        .collect();
    let parse = [("format", "nv12"), ("width", "64"), ("height", "48")];
    // Frames inside one buffer, straddling two, straddling many.
    for blocksize in ["4096", "1000", "100000", "4608"] {
        let before = ledger::snapshot();
        let report = checksums(&input, &[("blocksize", blocksize)], &parse, &[]).unwrap();
        assert_eq!(checksum_lines(&report), expected, "blocksize {blocksize}");
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        let copies = ledger::snapshot().since(&before).copies;
        assert_eq!(copies.count, 0, "blocksize {blocksize}: {copies:?}");
    }
}

#[test]
fn rawvideoparse_writes_frames_back_exactly_with_frame_size_padding() {
    let _serial = serial();
    let dir = Scratch::new("padding");
    // GRAY8 8x2 frames (16 bytes) stored every 20 bytes.
    let data = random_bytes(3 * 20, 9);
    let input = dir.file("in", &data);
    let output = dir.path("out");
    let mut p = Pipeline::new("p");
    let src = make(
        &mut p,
        "filesrc",
        &[("location", loc(&input)), ("blocksize", "7")],
    );
    let parse = make(
        &mut p,
        "rawvideoparse",
        &[
            ("format", "gray8"),
            ("width", "8"),
            ("height", "2"),
            ("frame-size", "20"),
        ],
    );
    let sink = make(&mut p, "filesink", &[("location", loc(&output))]);
    Pipeline::link_many(&[&src, &parse, &sink]).unwrap();
    let before = ledger::snapshot();
    run(&p).unwrap();
    assert_eq!(ledger::snapshot().since(&before).copies.count, 0);
    let expected: Vec<u8> = data.chunks(20).flat_map(|c| c[..16].to_vec()).collect();
    assert_eq!(std::fs::read(&output).unwrap(), expected);
}

/// Lines printed by GStreamer 1.22 for the same input:
/// `gst-launch-1.0 -q filesrc location=ref.raw blocksize=100 ! rawvideoparse format=gray8
/// width=8 height=8 framerate=30000/1001 ! checksumsink hash=HASH`, where `ref.raw` is
/// the 256 bytes `(i * 7 + 3) % 256`.
const GST_REFERENCE: &[(&str, [&str; 4])] = &[
    (
        "md5",
        [
            "0:00:00.000000000 7160b8fb5e9e4023d549c3971fbaeead",
            "0:00:00.033366666 8b719974d134d9c3b5fca981c3892866",
            "0:00:00.066733332 23802a6de2c9d9ee3fdbe1e7163c8c1b",
            "0:00:00.100099998 7721cfaf2fa87502b9c54c884b560b20",
        ],
    ),
    (
        "sha1",
        [
            "0:00:00.000000000 bede92be29c3874e1b54ddc77988d606fc857a8e",
            "0:00:00.033366666 cfc57584a00817186c85260b3a36a019aec3eacf",
            "0:00:00.066733332 54d40e4265732a586d2cb6d888c598a734319370",
            "0:00:00.100099998 7d4ab07ed9858250334060c15acffc0596fc0590",
        ],
    ),
    (
        "sha256",
        [
            "0:00:00.000000000 39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241",
            "0:00:00.033366666 08044201c3f8f9d160edd72f79206864eba094ef39c179162ebe8cf992cbe0a9",
            "0:00:00.066733332 7fed1c7b9f493689fc9b8b83ce7be1743346792ab7ceaf60565857e6f482cc3e",
            "0:00:00.100099998 daf14d6373768eb940114a21f9b8c9632eb145486f41ba86fd19282223026a78",
        ],
    ),
    (
        "sha512",
        [
            "0:00:00.000000000 8f3cc30b3fb5bf963688a46488249248ac2c67f0f85a145233c6c1e3c16dcd1df634c07d1d31da02576f65b9cf64e1c3fdb318b689b8a14e2e9552bcf30fb133",
            "0:00:00.033366666 3a339bb8a767dd649737d65246583d262040abcb7e99cd06a0c898e8a7d321e0f4807e20808d920235b8e07a7a07307b0bc7d52c27eefb4808cd5d98fd2d6f9c",
            "0:00:00.066733332 639038a53c1c51b7888b25ed297aef6bc8ab84df70474281b8271b45ddb39c1e0e3d372fa96c69595487fb0b11d4eabf527e27911a9b12b4b48cfd6c8828c9fc",
            "0:00:00.100099998 59d4fbd0913ddcfb05fae588bc742427cc0841acd054145d5a048f9faa467906a91f0e0f7e12649526611386f7687000e75c786a75229645d3fe98a5cab355b9",
        ],
    ),
];

#[test]
fn checksum_lines_match_gstreamer() {
    let _serial = serial();
    let dir = Scratch::new("reference");
    let data: Vec<u8> = (0..256u32).map(|i| ((i * 7 + 3) % 256) as u8).collect();
    let input = dir.file("ref.raw", &data);
    let parse = [
        ("format", "gray8"),
        ("width", "8"),
        ("height", "8"),
        ("framerate", "30000/1001"),
    ];
    for (hash, lines) in GST_REFERENCE {
        let report = checksums(&input, &[("blocksize", "100")], &parse, &[("hash", hash)])
            .unwrap_or_else(|e| panic!("{hash}: {e}"));
        assert_eq!(checksum_lines(&report), lines, "hash {hash}");
    }

    // `videotestsrc num-buffers=3 pattern=black ! video/x-raw,format=GRAY8,width=8,
    // height=8 ! checksumsink` in GStreamer 1.22: three frames of 64 bytes of 0x10 at
    // 30/1. The same bytes from a file, the format given by GStreamer number (25).
    let black = dir.file("black.raw", &[0x10; 192]);
    let report = checksums(
        &black,
        &[],
        &[
            ("format", "25"),
            ("width", "8"),
            ("height", "8"),
            ("framerate", "30/1"),
        ],
        &[],
    )
    .unwrap();
    assert_eq!(
        checksum_lines(&report),
        [
            "0:00:00.000000000 a8b3cb3e8f9eba1f1c62aa989911a94897316335",
            "0:00:00.033333333 a8b3cb3e8f9eba1f1c62aa989911a94897316335",
            "0:00:00.066666666 a8b3cb3e8f9eba1f1c62aa989911a94897316335",
        ]
    );
}

#[test]
fn trailing_partial_frame_is_dropped_with_a_warning() {
    let _serial = serial();
    let dir = Scratch::new("partial");
    let frame = 64 * 48 * 3 / 2;
    let data = random_bytes(frame * 5 / 2, 3);
    let input = dir.file("partial.raw", &data);
    let report = checksums(
        &input,
        &[],
        &[("format", "nv12"), ("width", "64"), ("height", "48")],
        &[],
    )
    .unwrap();
    let lines = checksum_lines(&report);
    assert_eq!(lines.len(), 2);
    assert!(lines[1].ends_with(&sha1_hex(&data[frame..2 * frame])));
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    let MessageKind::Warning { message } = &report.warnings[0].kind else {
        panic!("{:?}", report.warnings[0]);
    };
    assert!(
        message.contains(&format!("{} trailing bytes", frame / 2)),
        "{message}"
    );
}

#[test]
fn input_without_a_whole_frame_is_an_error() {
    let _serial = serial();
    let dir = Scratch::new("short");
    for (name, len) in [("empty.raw", 0), ("half.raw", 2304)] {
        let input = dir.file(name, &vec![1; len]);
        let e = checksums(
            &input,
            &[],
            &[("format", "nv12"), ("width", "64"), ("height", "48")],
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("No valid frames"), "{name}: {e}");
    }
}

#[test]
fn missing_file_fails_fast_naming_the_path_and_the_os_error() {
    let _serial = serial();
    let dir = Scratch::new("missing");
    let missing = dir.path("no-such-file.raw");
    let start = Instant::now();
    let e = checksums(&missing, &[], &[], &[]).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(10));
    let text = e.to_string();
    assert!(text.contains(loc(&missing)), "{text}");
    assert!(text.contains("No such file or directory"), "{text}");
    assert!(text.contains("for reading"), "{text}");

    // A directory is not a file to read.
    let e = checksums(&dir.0, &[], &[], &[]).unwrap_err();
    assert!(e.to_string().contains("is a directory"), "{e}");

    // No location at all.
    let mut p = Pipeline::new("p");
    let src = make(&mut p, "filesrc", &[]);
    let sink = make(&mut p, "fakesink", &[]);
    Pipeline::link_many(&[&src, &sink]).unwrap();
    let e = run(&p).unwrap_err();
    assert!(e.to_string().contains("No file name specified"), "{e}");
}

#[test]
fn filesink_into_missing_directory_fails_naming_the_path() {
    let _serial = serial();
    let dir = Scratch::new("unwritable");
    let input = dir.file("in", b"data");
    let output = dir.path("no-such-dir/out");
    let mut p = Pipeline::new("p");
    let src = make(&mut p, "filesrc", &[("location", loc(&input))]);
    let sink = make(&mut p, "filesink", &[("location", loc(&output))]);
    Pipeline::link_many(&[&src, &sink]).unwrap();
    let start = Instant::now();
    let e = run(&p).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(10));
    let text = e.to_string();
    assert!(text.contains(loc(&output)), "{text}");
    assert!(text.contains("for writing"), "{text}");
    assert!(text.contains("No such file or directory"), "{text}");
}

#[test]
fn bad_rawvideoparse_settings_are_refused_with_the_reason() {
    let _serial = serial();
    let dir = Scratch::new("settings");
    let input = dir.file("in", &[0; 4608]);
    // Width 0 is in the property's range (as in GStreamer) but no frame has it.
    let e = checksums(
        &input,
        &[],
        &[("format", "nv12"), ("width", "0"), ("height", "48")],
        &[],
    )
    .unwrap_err();
    assert!(e.to_string().contains("width"), "{e}");
    // One stride for a two-plane format.
    let e = checksums(
        &input,
        &[],
        &[
            ("format", "nv12"),
            ("width", "64"),
            ("height", "48"),
            ("plane-strides", "<64>"),
        ],
        &[],
    )
    .unwrap_err();
    assert!(e.to_string().contains("plane-strides"), "{e}");
    let parse = penstock_elements::registry()
        .make("rawvideoparse", None)
        .unwrap();
    assert!(parse.set_property_str("framerate", "25/0").is_err());
    assert!(parse.set_property_str("format", "nv13").is_err());
    assert!(parse.set_property_str("format", "NV12").is_ok());
}

#[test]
fn unreadable_file_error_names_the_path_and_permission() {
    use std::os::unix::fs::PermissionsExt;
    let _serial = serial();
    let dir = Scratch::new("perm");
    let input = dir.file("secret.raw", b"data");
    std::fs::set_permissions(&input, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(&input).is_ok() {
        // Running as root (or with CAP_DAC_OVERRIDE): permissions are not enforced.
        return;
    }
    let e = checksums(&input, &[], &[], &[]).unwrap_err();
    let text = e.to_string();
    assert!(text.contains(loc(&input)), "{text}");
    assert!(text.contains("Permission denied"), "{text}");
}

#[test]
fn filesrc_maps_a_sealed_memfd_and_reads_it_exactly() {
    use penstock::allocator::{AllocationParams, Allocator};
    use std::os::fd::AsRawFd;
    let _serial = serial();
    let dir = Scratch::new("memfd");
    // A memfd sealed against shrinking (MemfdAllocator seals every memfd): the one kind
    // of file filesrc maps instead of reading.
    let data = random_bytes(50_000, 0xfd);
    let memory = penstock_linux::MemfdAllocator::new()
        .alloc(data.len(), &AllocationParams::default())
        .unwrap();
    memory.map_write().unwrap()[..].copy_from_slice(&data);
    let exported = penstock_linux::export_fd(&memory).unwrap();
    let location = format!("/proc/self/fd/{}", exported.fd.as_raw_fd());
    let whole = std::fs::read(&location).unwrap();
    assert!(whole.starts_with(&data));
    let output = dir.path("out");
    let mut p = Pipeline::new("p");
    let src = make(
        &mut p,
        "filesrc",
        &[("location", &location), ("blocksize", "7000")],
    );
    let sink = make(&mut p, "filesink", &[("location", loc(&output))]);
    Pipeline::link_many(&[&src, &sink]).unwrap();
    run(&p).unwrap();
    assert!(std::fs::read(&output).unwrap() == whole);
}
