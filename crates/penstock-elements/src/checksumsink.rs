//! `checksumsink`: prints a checksum of every buffer, in GStreamer's format:
//!
//! ```text
//! 0:00:00.000000000 a8b3cb3e8f9eba1f1c62aa989911a94897316335
//! 0:00:00.033333333 a8b3cb3e8f9eba1f1c62aa989911a94897316335
//! ```
//!
//! One line per buffer: the PTS as `H:MM:SS.NNNNNNNNN` (`99:99:99.999999999` when the
//! buffer has none), a space, and the lowercase hex digest of the buffer's bytes. The
//! memories are hashed one after the other (no merge, no copy). Each line goes to
//! stdout and is also posted on the bus as an element message named `checksum`. A
//! stdout closed by its reader ends the stream quietly, a full one is an error (see
//! [`crate::stdout`]).

use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use md5::Md5;
use penstock::buffer::BufferRef;
use penstock::bus::MessageKind;
use penstock::caps::Caps;
use penstock::element::{
    Element, ElementFactory, ElementImpl, PropValue, PropertyError, PropertySpec,
};
use penstock::event::Event;
use penstock::flow::{FlowError, FlowResult};
use penstock::memory::MemoryError;
use penstock::pad::{Pad, PadTemplate};
use penstock::property::PropertyTable;

use sha1::{Digest, Sha1};
use sha2::{Sha256, Sha512};

/// The hash functions, numbered as GStreamer's `GstChecksumSinkHash` (GLib's
/// `GChecksumType`).
pub const HASHES: &[(i32, &str, &str)] = &[
    (0, "md5", "MD5"),
    (1, "sha1", "SHA-1"),
    (2, "sha256", "SHA-256"),
    (3, "sha512", "SHA-512"),
];

/// What GStreamer prints for a buffer without a PTS (`GST_TIME_FORMAT` of NONE).
pub const NO_PTS: &str = "99:99:99.999999999";

/// The factory.
pub fn factory() -> ElementFactory {
    ElementFactory {
        name: "checksumsink",
        long_name: "Checksum sink",
        klass: "Debug/Sink",
        description: "Calculates a checksum for buffers",
        properties: PROPERTIES.specs(),
        pad_templates: vec![PadTemplate::always_sink(Caps::new_any())],
        create: || Box::new(ChecksumSink::default()),
    }
}

enum Hasher {
    Md5(Md5),
    Sha1(Sha1),
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    fn new(hash: i32) -> Hasher {
        match hash {
            0 => Hasher::Md5(Md5::new()),
            2 => Hasher::Sha256(Sha256::new()),
            3 => Hasher::Sha512(Sha512::new()),
            _ => Hasher::Sha1(Sha1::new()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    fn hex(self) -> String {
        let bytes: Vec<u8> = match self {
            Hasher::Md5(h) => h.finalize().to_vec(),
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        };
        let mut s = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        }
        s
    }
}

/// The digest of a buffer's bytes with hash `hash` (a value of [`HASHES`]), lowercase
/// hex, hashing its memories in order without merging them.
///
/// # Errors
/// A memory that cannot be mapped for reading.
pub fn buffer_digest(buffer: &BufferRef, hash: i32) -> Result<String, MemoryError> {
    let mut h = Hasher::new(hash);
    for m in buffer.memories() {
        h.update(&m.map_read()?);
    }
    Ok(h.hex())
}

/// The line GStreamer's checksumsink prints for `buffer` (without the newline).
///
/// # Errors
/// As [`buffer_digest`].
pub fn checksum_line(buffer: &BufferRef, hash: i32) -> Result<String, MemoryError> {
    let digest = buffer_digest(buffer, hash)?;
    Ok(match buffer.pts() {
        Some(pts) => format!("{pts} {digest}"),
        None => format!("{NO_PTS} {digest}"),
    })
}

static PROPERTIES: LazyLock<PropertyTable<ChecksumSink>> = LazyLock::new(|| {
    PropertyTable::<ChecksumSink>::new()
        .add(
            PropertySpec::enumeration("hash", "Checksum type", HASHES, 1),
            |s| s.hash.load(Ordering::Relaxed),
            |s, v| s.hash.store(v, Ordering::Relaxed),
        )
        .add(
            PropertySpec::bool(
                "sync",
                "Sync on the clock (accepted; penstock sinks never sync yet)",
                false,
            ),
            |s| s.sync.load(Ordering::Relaxed),
            |s, v| s.sync.store(v, Ordering::Relaxed),
        )
});

/// The sink.
pub struct ChecksumSink {
    hash: AtomicI32,
    sync: AtomicBool,
}

impl Default for ChecksumSink {
    fn default() -> Self {
        ChecksumSink {
            hash: AtomicI32::new(1),
            sync: AtomicBool::new(false),
        }
    }
}

impl ElementImpl for ChecksumSink {
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

    fn chain(&self, element: &Element, _pad: &Pad, buffer: penstock::Buffer) -> FlowResult {
        let line = checksum_line(&buffer, self.hash.load(Ordering::Relaxed)).map_err(|e| {
            element.post_error(
                &format!("Could not compute the checksum of a buffer: {e}"),
                Some(format!("buffer: {buffer:?}")),
            );
            FlowError::Error
        })?;
        drop(buffer);
        // A closed stdout (`| head`) ends the stream quietly; a full one is an error.
        crate::stdout::write_line(&line).map_err(|e| crate::stdout::failed(element, &e))?;
        element.post(MessageKind::Element {
            name: "checksum".into(),
            text: line,
        });
        Ok(())
    }

    fn sink_event(&self, element: &Element, _pad: &Pad, event: Event) -> bool {
        if event == Event::Eos {
            if let Err(e) = crate::stdout::flush() {
                let _ = crate::stdout::failed(element, &e);
                return false;
            }
            element.post(MessageKind::Eos);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use penstock::buffer::BufferMut;
    use penstock::memory::Memory;
    use penstock::time::ClockTime;

    #[test]
    fn lines_match_gstreamer() {
        // `gst-launch-1.0 -q videotestsrc num-buffers=3 pattern=black !
        //  video/x-raw,format=GRAY8,width=8,height=8 ! checksumsink` (GStreamer 1.22)
        // prints this for its second frame: 64 bytes of 0x10.
        let mut b = BufferMut::from_memory(Memory::from_owner(vec![0x10u8; 64]));
        b.set_pts(Some(ClockTime::from_nseconds(33_333_333)));
        assert_eq!(
            checksum_line(&b, 1).unwrap(),
            "0:00:00.033333333 a8b3cb3e8f9eba1f1c62aa989911a94897316335"
        );
        b.set_pts(None);
        assert!(
            checksum_line(&b, 1)
                .unwrap()
                .starts_with("99:99:99.999999999 ")
        );
    }

    #[test]
    fn every_hash_and_split_memories_hash_the_same_bytes() {
        let whole = BufferMut::from_memory(Memory::from_owner(b"abc".to_vec()));
        let mut split = BufferMut::from_memory(Memory::from_owner(b"a".to_vec()));
        split.append_memory(Memory::from_owner(b"bc".to_vec()));
        // Well-known digests of "abc".
        let expected = [
            (0, "900150983cd24fb0d6963f7d28e17f72"),
            (1, "a9993e364706816aba3e25717850c26c9cd0d89d"),
            (
                2,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (
                3,
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
                 2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            ),
        ];
        for (hash, hex) in expected {
            assert_eq!(buffer_digest(&whole, hash).unwrap(), hex);
            assert_eq!(buffer_digest(&split, hash).unwrap(), hex);
        }
    }
}
