//! Integration tests of `penstock::memory` and `penstock::allocator`, modelled on
//! GStreamer's `gstmemory` checks: map guards, write exclusivity, READONLY / NOT_MAPPABLE
//! / NO_SHARE, shares of shares, spans, resize within maxsize, copies, release callbacks,
//! foreign memory, allocation parameters.

use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use penstock::allocator::{AllocationParams, Allocator, DEFAULT_ALIGN_MASK, SystemAllocator};
use penstock::ledger::{self, CopyReason};
use penstock::memory::{MapMode, Memory, MemoryBackend, MemoryError, MemoryFlags, MemoryType};
use proptest::prelude::*;

/// The memory type of the test backends.
const TEST_MEMORY: MemoryType = MemoryType::new("TestMemory");

/// `len` bytes counting up from `seed` (wrapping).
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| seed.wrapping_add(i as u8)).collect()
}

fn ptr_of(m: &Memory) -> usize {
    m.map_read().unwrap().as_ptr() as usize
}

/// A backend that counts its access hooks and can be told to fail them.
#[derive(Default)]
struct CountingBackend {
    begins: Arc<AtomicUsize>,
    ends: Arc<AtomicUsize>,
    fail: bool,
}

impl MemoryBackend for CountingBackend {
    fn memory_type(&self) -> MemoryType {
        TEST_MEMORY
    }

    fn begin_access(&self, _mode: MapMode) -> Result<(), MemoryError> {
        if self.fail {
            return Err(MemoryError::Backend {
                memory_type: TEST_MEMORY,
                message: "sync failed".into(),
            });
        }
        self.begins.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn end_access(&self, _mode: MapMode) {
        self.ends.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn new_system_is_zeroed_and_maps() {
    let m = Memory::new_system(100).unwrap();
    assert_eq!(m.size(), 100);
    assert_eq!(m.offset(), 0);
    assert_eq!(m.maxsize(), 100);
    assert_eq!(m.memory_type(), "SystemMemory");
    assert!(m.backend().is_none());
    assert!(m.fd().is_none());
    assert!(m.align() >= 64);
    assert_eq!(ptr_of(&m) % 64, 0);
    assert!(m.map_read().unwrap().iter().all(|&b| b == 0));
    assert!(m.is_writable());
    assert_eq!(m.holders(), 1);
    assert!(format!("{m:?}").contains("SystemMemory"));
}

#[test]
fn zero_sized_memory() {
    let m = Memory::new_system(0).unwrap();
    assert_eq!(m.size(), 0);
    assert!(m.map_read().unwrap().is_empty());
    assert!(m.map_write().unwrap().is_empty());
    let s = m.share(0, 0).unwrap();
    assert_eq!(s.size(), 0);
    assert!(matches!(m.share(0, 1), Err(MemoryError::OutOfRange { .. })));
}

#[test]
fn map_write_then_read_round_trips() {
    let m = Memory::new_system(16).unwrap();
    {
        let mut w = m.map_write().unwrap();
        assert_eq!(w.len(), 16);
        w.copy_from_slice(&pattern(16, 3));
        assert!(m.is_mapped());
        assert!(format!("{w:?}").contains("16 bytes"));
    }
    assert!(!m.is_mapped());
    let r = m.map_read().unwrap();
    assert_eq!(&*r, &pattern(16, 3)[..]);
    assert_eq!(r.as_ref(), &pattern(16, 3)[..]);
    assert!(m.is_mapped());
    drop(r);
    assert!(!m.is_mapped());
}

#[test]
fn write_map_is_exclusive() {
    let m = Memory::new_system(8).unwrap();
    // Two read guards are fine.
    let r1 = m.map_read().unwrap();
    let r2 = m.map_read().unwrap();
    assert_eq!(r1.len(), r2.len());
    // A write map while readers live is Busy.
    match m.map_write() {
        Err(MemoryError::Busy { requested, held }) => {
            assert_eq!(requested, MapMode::Write);
            assert_eq!(held, MapMode::Read);
        }
        other => panic!("expected Busy, got {other:?}"),
    }
    drop(r1);
    assert!(matches!(m.map_write(), Err(MemoryError::Busy { .. })));
    drop(r2);
    // Now it works, and while the writer lives nothing else maps.
    let w = m.map_write().unwrap();
    match m.map_read() {
        Err(e @ MemoryError::Busy { .. }) => {
            let MemoryError::Busy { requested, held } = e else {
                unreachable!()
            };
            assert_eq!(requested, MapMode::Read);
            assert_eq!(held, MapMode::Write);
            let text = e.to_string();
            assert!(
                text.contains("for reading") && text.contains("for writing"),
                "{text}"
            );
        }
        other => panic!("expected Busy, got {other:?}"),
    }
    match m.map_write() {
        Err(MemoryError::Busy { requested, held }) => {
            assert_eq!(requested, MapMode::Write);
            assert_eq!(held, MapMode::Write);
        }
        other => panic!("expected Busy, got {other:?}"),
    }
    drop(w);
    // The failed attempts left nothing locked.
    assert!(!m.is_mapped());
    drop(m.map_write().unwrap());
    drop(m.map_read().unwrap());
}

#[test]
fn read_guards_on_shares_exclude_the_writer_of_the_region() {
    let m = Memory::new_system(32).unwrap();
    let s = m.share(8, 8).unwrap();
    let r = s.map_read().unwrap();
    // The parent is shared now, so writing fails for that reason first.
    assert!(matches!(
        m.map_write(),
        Err(MemoryError::Shared { holders: 2 })
    ));
    assert!(m.is_mapped(), "the region is mapped through the share");
    drop(r);
    drop(s);
    assert!(!m.is_mapped());
    drop(m.map_write().unwrap());
}

#[test]
fn readonly_memory_refuses_write_without_panicking() {
    static DATA: [u8; 6] = [1, 2, 3, 4, 5, 6];
    let m = Memory::from_owner_readonly(&DATA[..]);
    assert!(m.has_flags(MemoryFlags::READONLY));
    assert!(!m.is_writable());
    assert!(matches!(m.map_write(), Err(MemoryError::ReadOnly)));
    assert_eq!(&*m.map_read().unwrap(), &DATA);
    // Zero copy: the mapping is the static data itself.
    assert_eq!(ptr_of(&m), DATA.as_ptr() as usize);
    // Shares inherit READONLY.
    let s = m.share(1, 3).unwrap();
    assert!(s.has_flags(MemoryFlags::READONLY));
    drop(m);
    assert!(matches!(s.map_write(), Err(MemoryError::ReadOnly)));
    assert_eq!(&*s.map_read().unwrap(), &[2, 3, 4]);

    // READONLY asked for through the allocation params.
    let params = AllocationParams {
        flags: MemoryFlags::READONLY,
        ..AllocationParams::default()
    };
    let m = SystemAllocator.alloc(8, &params).unwrap();
    assert!(matches!(m.map_write(), Err(MemoryError::ReadOnly)));
    assert!(!m.is_writable());

    // And through a backend.
    let m = Memory::with_backend(
        vec![0u8; 4],
        CountingBackend::default(),
        MemoryFlags::READONLY,
    );
    assert!(matches!(m.map_write(), Err(MemoryError::ReadOnly)));
    assert!(!m.is_mapped());
    assert_eq!(m.map_read().unwrap().len(), 4);
}

#[test]
fn not_mappable_memory_errors() {
    let m = Memory::with_backend(
        vec![0u8; 16],
        CountingBackend::default(),
        MemoryFlags::NOT_MAPPABLE,
    );
    assert_eq!(m.memory_type(), "TestMemory");
    assert!(m.backend().is_some());
    match m.map_read() {
        Err(MemoryError::NotMappable { memory_type, .. }) => assert_eq!(memory_type, "TestMemory"),
        other => panic!("expected NotMappable, got {other:?}"),
    }
    assert!(matches!(
        m.map_write(),
        Err(MemoryError::NotMappable { .. })
    ));
    assert!(matches!(m.copy(0, 4), Err(MemoryError::NotMappable { .. })));
    // Shares and spans keep the flag.
    let a = m.share(0, 8).unwrap();
    let b = m.share(8, 8).unwrap();
    assert!(a.has_flags(MemoryFlags::NOT_MAPPABLE));
    let ab = a.merge_span(&b).unwrap();
    assert!(ab.has_flags(MemoryFlags::NOT_MAPPABLE));
    assert!(matches!(
        ab.into_mapped(),
        Err(MemoryError::NotMappable { .. })
    ));
    assert!(!m.is_mapped());
}

#[test]
fn backend_hooks_bracket_every_mapping() {
    let backend = CountingBackend::default();
    let begins = Arc::clone(&backend.begins);
    let ends = Arc::clone(&backend.ends);
    let m = Memory::with_backend(vec![7u8; 8], backend, MemoryFlags::empty());
    {
        let _r1 = m.map_read().unwrap();
        let _r2 = m.map_read().unwrap();
        assert_eq!(begins.load(Ordering::SeqCst), 2);
        assert_eq!(ends.load(Ordering::SeqCst), 0);
        // A refused write map does not call begin_access.
        assert!(m.map_write().is_err());
        assert_eq!(begins.load(Ordering::SeqCst), 2);
    }
    assert_eq!(ends.load(Ordering::SeqCst), 2);
    m.map_write().unwrap()[0] = 1;
    assert_eq!(begins.load(Ordering::SeqCst), 3);
    assert_eq!(ends.load(Ordering::SeqCst), 3);
    let mapped = m.into_mapped().unwrap();
    assert_eq!(mapped[0], 1);
    assert_eq!(begins.load(Ordering::SeqCst), 4);
    let m = mapped.into_memory();
    assert_eq!(ends.load(Ordering::SeqCst), 4);
    assert!(!m.is_mapped());

    // A failing begin_access fails the map and leaves nothing locked.
    let failing = CountingBackend {
        fail: true,
        ..CountingBackend::default()
    };
    let ends = Arc::clone(&failing.ends);
    let m = Memory::with_backend(vec![0u8; 8], failing, MemoryFlags::empty());
    let err = m.map_read().unwrap_err();
    assert!(matches!(err, MemoryError::Backend { .. }));
    assert!(err.to_string().contains("sync failed"));
    assert!(matches!(m.map_write(), Err(MemoryError::Backend { .. })));
    assert!(!m.is_mapped());
    assert_eq!(ends.load(Ordering::SeqCst), 0, "no end without a begin");
}

#[test]
fn no_share_memory_cannot_be_shared_but_can_be_copied() {
    let _site = ledger::enter_site("memory-test-no-share");
    let params = AllocationParams {
        flags: MemoryFlags::NO_SHARE,
        ..AllocationParams::default()
    };
    let m = SystemAllocator.alloc(16, &params).unwrap();
    assert!(m.has_flags(MemoryFlags::NO_SHARE));
    assert!(matches!(m.share(0, 8), Err(MemoryError::NoShare)));
    assert!(matches!(m.share_from(4), Err(MemoryError::NoShare)));
    assert!(MemoryError::NoShare.to_string().contains("NO_SHARE"));
    // A clone is not a sub-memory: it is allowed, and makes the memory unwritable.
    let c = m.clone();
    assert!(!m.is_writable());
    drop(c);
    let copy = m.copy(0, 16).unwrap();
    assert!(!copy.same_region(&m));
    assert!(!copy.has_flags(MemoryFlags::NO_SHARE));
    let site = ledger::snapshot().site("memory-test-no-share");
    assert_eq!(site.reason(CopyReason::Explicit).count, 1);
    assert_eq!(site.reason(CopyReason::Explicit).bytes, 16);
}

#[test]
fn share_of_share_is_relative_and_zero_copy() {
    let _site = ledger::enter_site("memory-test-share-of-share");
    let m = Memory::from_owner(pattern(100, 0));
    let s1 = m.share(10, 50).unwrap();
    let s2 = s1.share(5, 20).unwrap();
    assert_eq!(s1.offset(), 10);
    assert_eq!(s2.offset(), 15);
    assert_eq!(s2.size(), 20);
    assert_eq!(s2.maxsize(), 100);
    assert!(s2.same_region(&m) && s1.same_region(&s2));
    assert_eq!(m.holders(), 3);
    assert_eq!(&*s2.map_read().unwrap(), &pattern(100, 0)[15..35]);
    assert_eq!(ptr_of(&s2), ptr_of(&m) + 15);
    let tail = s1.share_from(45).unwrap();
    assert_eq!(tail.offset(), 55);
    assert_eq!(tail.size(), 5);
    assert_eq!(&*tail.map_read().unwrap(), &pattern(100, 0)[55..60]);
    // Out of range shares fail, including overflowing ones.
    assert!(matches!(
        s1.share(40, 11),
        Err(MemoryError::OutOfRange { .. })
    ));
    assert!(matches!(
        s1.share(usize::MAX, 2),
        Err(MemoryError::OutOfRange { .. })
    ));
    assert!(matches!(
        s1.share_from(51),
        Err(MemoryError::OutOfRange { .. })
    ));
    // Nothing was copied or allocated.
    let site = ledger::snapshot().site("memory-test-share-of-share");
    assert_eq!(site.copies.count, 0);
    assert_eq!(site.allocations.count, 0);
}

#[test]
fn share_clears_zero_flags_as_documented() {
    let params = AllocationParams {
        prefix: 8,
        padding: 8,
        flags: MemoryFlags::ZERO_PREFIXED | MemoryFlags::ZERO_PADDED,
        ..AllocationParams::default()
    };
    let m = SystemAllocator.alloc(16, &params).unwrap();
    let both = MemoryFlags::ZERO_PREFIXED | MemoryFlags::ZERO_PADDED;
    assert!(m.has_flags(both));
    assert!(m.share(0, 16).unwrap().has_flags(both));
    let head = m.share(0, 8).unwrap();
    assert!(head.has_flags(MemoryFlags::ZERO_PREFIXED));
    assert!(!head.has_flags(MemoryFlags::ZERO_PADDED));
    let tail = m.share(8, 8).unwrap();
    assert!(!tail.has_flags(MemoryFlags::ZERO_PREFIXED));
    assert!(tail.has_flags(MemoryFlags::ZERO_PADDED));
    // Merging the two gives back both flags.
    let merged = head.merge_span(&tail).unwrap();
    assert!(merged.has_flags(both));
}

#[test]
fn writability_follows_the_refcount() {
    let m = Memory::new_system(8).unwrap();
    assert!(m.is_writable());
    let c = m.clone();
    assert_eq!(m.holders(), 2);
    assert!(!m.is_writable() && !c.is_writable());
    match m.map_write() {
        Err(e @ MemoryError::Shared { holders: 2 }) => {
            assert!(e.to_string().contains("2 handles"));
        }
        other => panic!("expected Shared, got {other:?}"),
    }
    assert!(matches!(c.map_write(), Err(MemoryError::Shared { .. })));
    drop(c);
    assert!(m.is_writable());
    m.map_write().unwrap().fill(9);
    let s = m.share(2, 2).unwrap();
    assert!(matches!(
        m.map_write(),
        Err(MemoryError::Shared { holders: 2 })
    ));
    assert!(matches!(
        s.map_write(),
        Err(MemoryError::Shared { holders: 2 })
    ));
    drop(m);
    // The share is unique now: it may write its window.
    s.map_write().unwrap().fill(1);
    assert_eq!(&*s.map_read().unwrap(), &[1, 1]);
}

#[test]
fn adjacent_shares_span_and_merge_without_copy() {
    let m = Memory::from_owner(pattern(64, 1));
    let a = m.share(4, 10).unwrap();
    let b = m.share(14, 20).unwrap();
    assert_eq!(a.is_span(&b), Some(4));
    assert_eq!(b.is_span(&a), None, "order matters");
    let ab = a.merge_span(&b).unwrap();
    assert!(ab.same_region(&m));
    assert_eq!(ab.offset(), 4);
    assert_eq!(ab.size(), 30);
    assert_eq!(&*ab.map_read().unwrap(), &pattern(64, 1)[4..34]);
    assert_eq!(ptr_of(&ab), ptr_of(&m) + 4);
    // Empty shares span too.
    let e = m.share(34, 0).unwrap();
    assert_eq!(ab.merge_span(&e).unwrap().size(), 30);

    // Not adjacent: a gap or an overlap.
    let gap = m.share(15, 5).unwrap();
    assert!(a.is_span(&gap).is_none());
    assert!(matches!(a.merge_span(&gap), Err(MemoryError::NotSpan)));
    let overlap = m.share(13, 5).unwrap();
    assert!(matches!(a.merge_span(&overlap), Err(MemoryError::NotSpan)));
    // Different regions, even with matching offsets.
    let other = Memory::from_owner(pattern(64, 1));
    let ob = other.share(14, 20).unwrap();
    assert!(a.is_span(&ob).is_none());
    assert!(matches!(a.merge_span(&ob), Err(MemoryError::NotSpan)));
    assert!(MemoryError::NotSpan.to_string().contains("do not span"));
}

#[test]
fn merge_span_keeps_restrictive_flags() {
    static DATA: [u8; 8] = [0; 8];
    let m = Memory::from_owner_readonly(&DATA[..]);
    let a = m.share(0, 4).unwrap();
    let b = m.share(4, 4).unwrap();
    assert!(a.merge_span(&b).unwrap().has_flags(MemoryFlags::READONLY));
}

#[test]
fn resize_into_prefix_and_padding() {
    let params = AllocationParams {
        prefix: 16,
        padding: 8,
        flags: MemoryFlags::ZERO_PREFIXED | MemoryFlags::ZERO_PADDED,
        ..AllocationParams::default()
    };
    let mut m = SystemAllocator.alloc(32, &params).unwrap();
    assert_eq!(m.offset(), 16);
    assert_eq!(m.size(), 32);
    assert_eq!(m.maxsize(), 56);
    m.map_write().unwrap().fill(0xAB);

    // Negative offset: into the prefix, which is zero.
    m.resize(-16, 48).unwrap();
    assert_eq!((m.offset(), m.size()), (0, 48));
    {
        let r = m.map_read().unwrap();
        assert!(r[..16].iter().all(|&b| b == 0));
        assert!(r[16..].iter().all(|&b| b == 0xAB));
    }
    // Moving back or keeping the end does not clear the flags.
    assert!(m.has_flags(MemoryFlags::ZERO_PREFIXED | MemoryFlags::ZERO_PADDED));

    // Grow into the padding (which is zero too).
    m.resize(16, 40).unwrap();
    assert_eq!((m.offset(), m.size()), (16, 40));
    assert!(m.map_read().unwrap()[32..].iter().all(|&b| b == 0));
    // Moving the start forward clears ZERO_PREFIXED; the end did not move back.
    assert!(!m.has_flags(MemoryFlags::ZERO_PREFIXED));
    assert!(m.has_flags(MemoryFlags::ZERO_PADDED));

    // Shrinking the end clears ZERO_PADDED.
    m.resize(0, 10).unwrap();
    assert_eq!((m.offset(), m.size()), (16, 10));
    assert!(!m.has_flags(MemoryFlags::ZERO_PADDED));

    // Out of range: nothing changes.
    let before = (m.offset(), m.size(), m.flags());
    for (off, size) in [
        (-17isize, 1usize),
        (0, 41),
        (40, 1),
        (41, 0),
        (isize::MIN, 0),
        (isize::MAX, usize::MAX),
        (0, usize::MAX),
    ] {
        let err = m.resize(off, size).unwrap_err();
        assert!(
            matches!(err, MemoryError::OutOfRange { limit: 56, .. }),
            "{off} {size}: {err:?}"
        );
        assert_eq!((m.offset(), m.size(), m.flags()), before);
    }
    // The exact limits are fine.
    m.resize(-16, 56).unwrap();
    assert_eq!((m.offset(), m.size()), (0, 56));
    m.resize(56, 0).unwrap();
    assert_eq!((m.offset(), m.size()), (56, 0));
    m.set_window(16, 32).unwrap();
    assert_eq!((m.offset(), m.size()), (16, 32));
    assert!(matches!(
        m.set_window(50, 7),
        Err(MemoryError::OutOfRange { .. })
    ));
    assert!(matches!(
        m.set_window(usize::MAX, 0),
        Err(MemoryError::OutOfRange { .. })
    ));
    assert_eq!((m.offset(), m.size()), (16, 32));
}

#[test]
fn resize_of_a_share_does_not_affect_other_handles() {
    let m = Memory::from_owner(pattern(32, 0));
    let mut s = m.share(8, 8).unwrap();
    s.resize(-8, 24).unwrap();
    assert_eq!((s.offset(), s.size()), (0, 24));
    assert_eq!((m.offset(), m.size()), (0, 32));
    assert_eq!(&*s.map_read().unwrap(), &pattern(32, 0)[..24]);
}

#[test]
fn copy_is_a_real_copy() {
    let _site = ledger::enter_site("memory-test-copy");
    let m = Memory::from_owner(pattern(32, 5));
    let c = m.copy(3, 7).unwrap();
    assert!(!c.same_region(&m));
    assert_eq!(c.size(), 7);
    assert_eq!(c.offset(), 0);
    assert_eq!(&*c.map_read().unwrap(), &pattern(32, 5)[3..10]);
    // Independent bytes: writing the copy leaves the original alone.
    assert!(c.is_writable());
    c.map_write().unwrap().fill(0);
    assert_eq!(&*m.map_read().unwrap(), &pattern(32, 5)[..]);
    // Errors are not recorded.
    assert!(matches!(m.copy(30, 3), Err(MemoryError::OutOfRange { .. })));
    assert!(matches!(
        m.copy(usize::MAX, 1),
        Err(MemoryError::OutOfRange { .. })
    ));
    // Copying while a writer holds the region fails with Busy, not a torn read.
    let w = m.map_write().unwrap();
    assert!(matches!(m.copy(0, 1), Err(MemoryError::Busy { .. })));
    drop(w);
    let site = ledger::snapshot().site("memory-test-copy");
    assert_eq!(site.copies.count, 1);
    assert_eq!(site.copies.bytes, 7);
    assert_eq!(site.reason(CopyReason::Explicit).count, 1);
    assert_eq!(site.allocations.count, 1);

    // copy_for records the given reason.
    let _inner = ledger::enter_site("memory-test-copy-for");
    let c2 = m.copy_for(0, 32, CopyReason::Alignment, "test").unwrap();
    assert_eq!(&*c2.map_read().unwrap(), &pattern(32, 5)[..]);
    let site = ledger::snapshot().site("memory-test-copy-for");
    assert_eq!(site.reason(CopyReason::Alignment).bytes, 32);
    assert_eq!(site.reason(CopyReason::Explicit).count, 0);
}

#[test]
fn wrap_releases_exactly_once_after_the_last_handle() {
    let released = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&released);
    let m = Memory::wrap(vec![0u8; 64], move |v: Vec<u8>| {
        // The owner comes back with what was written through the memory.
        assert_eq!(v.len(), 64);
        assert_eq!(v[10], 42);
        r.fetch_add(1, Ordering::SeqCst);
    });
    m.map_write().unwrap()[10] = 42;
    let s1 = m.share(8, 32).unwrap();
    let s2 = s1.share(1, 4).unwrap();
    let c = m.clone();
    let s3 = c.share_from(60).unwrap();
    drop(m);
    drop(s1);
    assert_eq!(released.load(Ordering::SeqCst), 0);
    drop(c);
    drop(s3);
    assert_eq!(released.load(Ordering::SeqCst), 0);
    assert_eq!(s2.map_read().unwrap()[1], 42);
    drop(s2);
    assert_eq!(released.load(Ordering::SeqCst), 1);
}

#[test]
fn from_owner_is_zero_copy_and_drops_the_owner() {
    struct Owner {
        bytes: Vec<u8>,
        dropped: Arc<AtomicUsize>,
    }
    impl AsMut<[u8]> for Owner {
        fn as_mut(&mut self) -> &mut [u8] {
            &mut self.bytes
        }
    }
    impl Drop for Owner {
        fn drop(&mut self) {
            self.dropped.fetch_add(1, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let bytes = pattern(20, 9);
    let addr = bytes.as_ptr() as usize;
    let m = Memory::from_owner(Owner {
        bytes,
        dropped: Arc::clone(&dropped),
    });
    assert_eq!(ptr_of(&m), addr, "the owner's bytes are used in place");
    assert_eq!(&*m.map_read().unwrap(), &pattern(20, 9)[..]);
    let s = m.share(5, 5).unwrap();
    drop(m);
    assert_eq!(dropped.load(Ordering::SeqCst), 0);
    drop(s);
    assert_eq!(dropped.load(Ordering::SeqCst), 1);

    // Inline bytes (an array) work too: the box keeps them in place.
    let m = Memory::from_owner([5u8; 12]);
    m.map_write().unwrap()[0] = 1;
    assert_eq!(&m.map_read().unwrap()[..2], &[1, 5]);
    assert_eq!(m.maxsize(), 12);
}

/// A raw pointer to a leaked boxed slice that the release callback frees.
struct LeakedSlice(NonNull<[u8]>);
// SAFETY: the pointer is the only handle on the leaked allocation; it is used from one
// thread at a time (by the release callback, once).
unsafe impl Send for LeakedSlice {}

#[test]
fn from_raw_parts_with_a_leaked_box() {
    let released = Arc::new(AtomicUsize::new(0));
    let boxed: Box<[u8]> = pattern(48, 2).into_boxed_slice();
    let len = boxed.len();
    let raw = NonNull::from(Box::leak(boxed));
    let ptr = raw.cast::<u8>();
    let leaked = LeakedSlice(raw);
    let r = Arc::clone(&released);
    let release = move || {
        let leaked = leaked;
        // SAFETY: made by `Box::leak` above; this callback runs exactly once.
        drop(unsafe { Box::from_raw(leaked.0.as_ptr()) });
        r.fetch_add(1, Ordering::SeqCst);
    };
    // SAFETY: the leaked box stays valid, initialised and writable until the callback
    // frees it, and nothing but the memory's guards touches it until then.
    let m = unsafe { Memory::from_raw_parts(ptr, len, MemoryFlags::empty(), None, release) };
    assert_eq!(m.size(), 48);
    assert_eq!(m.maxsize(), 48);
    assert_eq!(ptr_of(&m), ptr.as_ptr() as usize);
    assert_eq!(&*m.map_read().unwrap(), &pattern(48, 2)[..]);
    m.map_write().unwrap()[0] = 99;
    let s = m.share(0, 1).unwrap();
    drop(m);
    assert_eq!(released.load(Ordering::SeqCst), 0);
    assert_eq!(&*s.map_read().unwrap(), &[99]);
    drop(s);
    assert_eq!(released.load(Ordering::SeqCst), 1);
}

#[test]
fn from_raw_parts_readonly() {
    static DATA: [u8; 4] = [4, 3, 2, 1];
    let released = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&released);
    let ptr = NonNull::from(&DATA[..]).cast::<u8>();
    // SAFETY: static data is valid forever and never written (READONLY).
    let m = unsafe {
        Memory::from_raw_parts(
            ptr,
            DATA.len(),
            MemoryFlags::READONLY,
            Some(Box::new(CountingBackend::default())),
            move || {
                r.fetch_add(1, Ordering::SeqCst);
            },
        )
    };
    assert_eq!(m.memory_type(), "TestMemory");
    assert!(matches!(m.map_write(), Err(MemoryError::ReadOnly)));
    assert_eq!(&*m.map_read().unwrap(), &DATA);
    drop(m);
    assert_eq!(released.load(Ordering::SeqCst), 1);
}

#[test]
fn into_mapped_moves_across_threads() {
    let m = Memory::from_owner(pattern(256, 7));
    let mapped = m.into_mapped().unwrap();
    assert!(mapped.memory().is_mapped());
    // While mapped, the memory cannot be written (through any handle).
    let other = mapped.memory().clone();
    assert!(other.map_write().is_err());
    drop(other);
    let handle = std::thread::spawn(move || {
        assert_eq!(&*mapped, &pattern(256, 7)[..]);
        assert!(format!("{mapped:?}").contains("MappedMemory"));
        mapped.into_memory()
    });
    let m = handle.join().unwrap();
    assert!(!m.is_mapped());
    assert!(m.is_writable());
    m.map_write().unwrap()[0] = 0;

    // Several threads read shares of one region at once.
    let m = Memory::from_owner(pattern(64, 0));
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let mapped = m.share(i * 16, 16).unwrap().into_mapped().unwrap();
            std::thread::spawn(move || {
                assert_eq!(&*mapped, &pattern(64, 0)[i * 16..i * 16 + 16]);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(!m.is_mapped());
    assert!(m.is_writable());

    // A write guard makes into_mapped fail with Busy, and gives nothing back locked.
    let m2 = Memory::new_system(4).unwrap();
    let w = m2.map_write().unwrap();
    assert!(matches!(
        m2.clone().into_mapped(),
        Err(MemoryError::Busy { .. })
    ));
    drop(w);
    assert!(!m2.is_mapped());
}

#[test]
fn memories_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Memory>();
    assert_send_sync::<penstock::memory::MappedMemory>();
    assert_send_sync::<MemoryError>();
}

#[test]
fn allocator_alignment_is_honoured() {
    for align in [16usize, 64, 128, 4096] {
        let params = AllocationParams::aligned_to(align).unwrap();
        assert_eq!(params.align, align - 1);
        for size in [1usize, 100, 4097] {
            let m = SystemAllocator.alloc(size, &params).unwrap();
            assert_eq!(
                m.map_read().unwrap().as_ptr() as usize % align,
                0,
                "{align}"
            );
            assert!(m.align() >= align.max(64));
            assert_eq!(m.size(), size);
        }
    }
    // The default is 64.
    let m = SystemAllocator
        .alloc(10, &AllocationParams::default())
        .unwrap();
    assert_eq!(ptr_of(&m) % (DEFAULT_ALIGN_MASK + 1), 0);
    assert_eq!(SystemAllocator.name(), "SystemMemory");
    assert_eq!(SystemAllocator.memory_type(), "SystemMemory");
    let dyn_alloc = penstock::allocator::default_allocator();
    assert_eq!(dyn_alloc.alloc(3, &params_default()).unwrap().size(), 3);
}

fn params_default() -> AllocationParams {
    AllocationParams::default()
}

#[test]
fn allocator_prefix_and_padding() {
    let _site = ledger::enter_site("memory-test-alloc-prefix");
    let params = AllocationParams {
        align: 4095,
        prefix: 24,
        padding: 40,
        flags: MemoryFlags::empty(),
    };
    let m = SystemAllocator.alloc(100, &params).unwrap();
    assert_eq!(m.offset(), 24);
    assert_eq!(m.size(), 100);
    assert_eq!(m.maxsize(), 24 + 100 + 40);
    // The region is aligned; the window starts `prefix` bytes into it.
    assert_eq!((ptr_of(&m) - 24) % 4096, 0);
    let mut whole = m.clone();
    whole.resize(-24, 164).unwrap();
    assert_eq!(ptr_of(&whole) % 4096, 0);
    assert!(whole.map_read().unwrap().iter().all(|&b| b == 0));
    let site = ledger::snapshot().site("memory-test-alloc-prefix");
    assert_eq!(site.allocations.count, 1);
    assert_eq!(site.allocations.bytes, 164);
    assert_eq!(site.copies.count, 0);
}

#[test]
fn bad_alignment_is_an_error() {
    // Not a power of two.
    for bytes in [0usize, 3, 48, 1000] {
        assert!(
            matches!(
                AllocationParams::aligned_to(bytes),
                Err(MemoryError::Alloc { .. })
            ),
            "{bytes}"
        );
    }
    // A mask that is not 2^n - 1 (here: bytes given instead of a mask).
    let params = AllocationParams {
        align: 4096,
        ..AllocationParams::default()
    };
    match SystemAllocator.alloc(16, &params) {
        Err(MemoryError::Alloc { size, reason }) => {
            assert_eq!(size, 16);
            assert!(reason.contains("mask"), "{reason}");
        }
        other => panic!("expected Alloc error, got {other:?}"),
    }
    let odd = AllocationParams {
        align: 5,
        ..AllocationParams::default()
    };
    assert!(odd.alignment_bytes(0).is_err());
    assert_eq!(
        AllocationParams::aligned_to(8)
            .unwrap()
            .alignment_bytes(DEFAULT_ALIGN_MASK)
            .unwrap(),
        64
    );
    assert_eq!(
        AllocationParams::aligned_to(256)
            .unwrap()
            .alignment_bytes(DEFAULT_ALIGN_MASK)
            .unwrap(),
        256
    );
    let max = AllocationParams {
        align: usize::MAX,
        ..AllocationParams::default()
    };
    assert!(max.alignment_bytes(0).is_err());
    // Sizes that overflow are refused, not wrapped.
    let huge = AllocationParams {
        prefix: usize::MAX,
        ..AllocationParams::default()
    };
    assert!(matches!(
        SystemAllocator.alloc(1, &huge),
        Err(MemoryError::Alloc { .. })
    ));
    assert!(matches!(
        SystemAllocator.alloc(usize::MAX, &AllocationParams::default()),
        Err(MemoryError::Alloc { .. })
    ));
}

#[test]
fn allocation_params_merge() {
    let a = AllocationParams {
        align: 15,
        prefix: 4,
        padding: 32,
        flags: MemoryFlags::ZERO_PADDED,
    };
    let b = AllocationParams {
        align: 255,
        prefix: 16,
        padding: 8,
        flags: MemoryFlags::PHYSICALLY_CONTIGUOUS,
    };
    let m = a.merge(&b);
    assert_eq!(m.align, 255);
    assert_eq!(m.prefix, 16);
    assert_eq!(m.padding, 32);
    assert_eq!(
        m.flags,
        MemoryFlags::ZERO_PADDED | MemoryFlags::PHYSICALLY_CONTIGUOUS
    );
    assert_eq!(m, b.merge(&a));
}

#[test]
fn fd_of_a_share_adds_its_offset() {
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
    /// Exports stdin's descriptor (nothing is opened, so this also runs under Miri).
    struct FdBackend(std::io::Stdin);
    impl MemoryBackend for FdBackend {
        fn memory_type(&self) -> MemoryType {
            MemoryType::new("FdMemory")
        }
        fn fd(&self) -> Option<BorrowedFd<'_>> {
            Some(self.0.as_fd())
        }
        fn fd_offset(&self) -> u64 {
            4096
        }
    }
    let m = Memory::with_backend(
        vec![0u8; 64],
        FdBackend(std::io::stdin()),
        MemoryFlags::empty(),
    );
    let (fd, off) = m.fd().unwrap();
    assert_eq!(fd.as_raw_fd(), 0);
    assert_eq!(off, 4096);
    let s = m.share(10, 4).unwrap();
    let (_, off) = s.fd().unwrap();
    assert_eq!(off, 4106);
    let mut t = s.share(2, 2).unwrap();
    assert_eq!(t.fd().unwrap().1, 4108);
    t.resize(-12, 64).unwrap();
    assert_eq!(t.fd().unwrap().1, 4096);
    assert_eq!(t.memory_type(), "FdMemory");
}

#[test]
fn with_backend_window_keeps_the_zero_flags() {
    let flags = MemoryFlags::ZERO_PREFIXED | MemoryFlags::ZERO_PADDED;
    let m = Memory::with_backend_window(vec![0u8; 64], CountingBackend::default(), 8, 40, flags)
        .unwrap();
    assert_eq!((m.offset(), m.size(), m.maxsize()), (8, 40, 64));
    assert!(m.has_flags(flags));
    assert_eq!(m.memory_type(), "TestMemory");
    assert_eq!(m.map_read().unwrap().len(), 40);
    let e = Memory::with_backend_window(vec![0u8; 64], CountingBackend::default(), 8, 57, flags)
        .unwrap_err();
    assert!(
        matches!(e, MemoryError::OutOfRange { limit: 64, .. }),
        "{e:?}"
    );
    let ro = Memory::with_backend_window(
        vec![0u8; 4],
        CountingBackend::default(),
        0,
        4,
        MemoryFlags::READONLY,
    )
    .unwrap();
    assert!(matches!(ro.map_write(), Err(MemoryError::ReadOnly)));
}

#[test]
fn memory_without_mapping_has_a_size_and_never_maps() {
    let begins = Arc::new(AtomicUsize::new(0));
    let backend = CountingBackend {
        begins: Arc::clone(&begins),
        ..CountingBackend::default()
    };
    let m = Memory::without_mapping(1 << 20, backend, MemoryFlags::PHYSICALLY_CONTIGUOUS);
    assert_eq!((m.size(), m.maxsize(), m.offset()), (1 << 20, 1 << 20, 0));
    assert!(m.has_flags(MemoryFlags::NOT_MAPPABLE | MemoryFlags::PHYSICALLY_CONTIGUOUS));
    assert_eq!(m.memory_type(), "TestMemory");
    assert!(matches!(
        m.map_read(),
        Err(MemoryError::NotMappable {
            memory_type: TEST_MEMORY,
            ..
        })
    ));
    assert!(matches!(
        m.map_write(),
        Err(MemoryError::NotMappable { .. })
    ));
    // Windows and spans keep the flag, and still do not map.
    let a = m.share(0, 4096).unwrap();
    let b = m.share(4096, 4096).unwrap();
    let ab = a.merge_span(&b).unwrap();
    assert!(ab.has_flags(MemoryFlags::NOT_MAPPABLE));
    assert!(matches!(
        ab.map_read(),
        Err(MemoryError::NotMappable { .. })
    ));
    assert!(matches!(
        ab.copy(0, 16),
        Err(MemoryError::NotMappable { .. })
    ));
    drop((a, b, ab));
    assert!(matches!(
        m.into_mapped(),
        Err(MemoryError::NotMappable { .. })
    ));
    // The backend was never asked to open an access window.
    assert_eq!(begins.load(Ordering::SeqCst), 0);
}

// ---------------------------------------------------------------------------------------
// Property tests: random share / resize / merge sequences on one region.

#[derive(Debug, Clone)]
enum Op {
    /// Share (offset, size) of handle `h`.
    Share {
        h: usize,
        offset: usize,
        size: usize,
    },
    /// Resize handle `h` by (offset delta, size).
    Resize { h: usize, delta: isize, size: usize },
    /// Clone handle `h`.
    Clone { h: usize },
    /// Merge handle `a` with handle `b`.
    Merge { a: usize, b: usize },
    /// Drop handle `h` (if more than one is left).
    Drop { h: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..8usize, 0..80usize, 0..80usize).prop_map(|(h, offset, size)| Op::Share {
            h,
            offset,
            size
        }),
        (0..8usize, -80..80isize, 0..100usize).prop_map(|(h, delta, size)| Op::Resize {
            h,
            delta,
            size
        }),
        (0..8usize).prop_map(|h| Op::Clone { h }),
        (0..8usize, 0..8usize).prop_map(|(a, b)| Op::Merge { a, b }),
        (0..8usize).prop_map(|h| Op::Drop { h }),
    ]
}

fn proptest_config() -> ProptestConfig {
    ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn random_shares_and_resizes_read_the_original(
        maxsize in 0..64usize,
        start in 0..64usize,
        ops in proptest::collection::vec(op(), 0..24),
    ) {
        let data = pattern(maxsize, 17);
        let released = Arc::new(AtomicUsize::new(0));
        let r = Arc::clone(&released);
        let mut root = Memory::wrap(data.clone(), move |_| {
            r.fetch_add(1, Ordering::SeqCst);
        });
        let start = start.min(maxsize);
        root.resize(start as isize, maxsize - start).unwrap();
        // Each handle with its model window (offset in the region, size).
        let mut handles: Vec<(Memory, usize, usize)> = vec![(root, start, maxsize - start)];
        for op in ops {
            match op {
                Op::Share { h, offset, size } => {
                    let h = h % handles.len();
                    let (m, o, s) = &handles[h];
                    let res = m.share(offset, size);
                    if offset + size <= *s {
                        let sub = res.unwrap();
                        prop_assert!(sub.same_region(m));
                        prop_assert_eq!(sub.offset(), o + offset);
                        prop_assert_eq!(sub.size(), size);
                        let o = *o;
                        handles.push((sub, o + offset, size));
                    } else {
                        let is_range_err = matches!(res, Err(MemoryError::OutOfRange { .. }));
                        prop_assert!(is_range_err);
                    }
                }
                Op::Resize { h, delta, size } => {
                    let h = h % handles.len();
                    let (m, o, s) = &mut handles[h];
                    let new_off = *o as isize + delta;
                    let ok = new_off >= 0 && new_off as usize + size <= maxsize;
                    let res = m.resize(delta, size);
                    prop_assert_eq!(res.is_ok(), ok);
                    if ok {
                        *o = new_off as usize;
                        *s = size;
                    }
                    prop_assert_eq!((m.offset(), m.size()), (*o, *s));
                }
                Op::Clone { h } => {
                    let h = h % handles.len();
                    let copy = handles[h].clone();
                    handles.push(copy);
                }
                Op::Merge { a, b } => {
                    let a = a % handles.len();
                    let b = b % handles.len();
                    let (ma, oa, sa) = &handles[a];
                    let (mb, ob, sb) = &handles[b];
                    let spans = oa + sa == *ob;
                    prop_assert_eq!(ma.is_span(mb).is_some(), spans);
                    match ma.merge_span(mb) {
                        Ok(m) => {
                            prop_assert!(spans);
                            let (oa, sum) = (*oa, sa + sb);
                            prop_assert_eq!((m.offset(), m.size()), (oa, sum));
                            handles.push((m, oa, sum));
                        }
                        Err(e) => {
                            prop_assert!(!spans);
                            prop_assert!(matches!(e, MemoryError::NotSpan));
                        }
                    }
                }
                Op::Drop { h } => {
                    if handles.len() > 1 {
                        let h = h % handles.len();
                        handles.swap_remove(h);
                    }
                }
            }
            // Every handle reads the original bytes of its window.
            for (m, o, s) in &handles {
                prop_assert_eq!(&*m.map_read().unwrap(), &data[*o..*o + *s]);
                prop_assert_eq!(m.holders(), handles.len());
                prop_assert_eq!(m.maxsize(), maxsize);
            }
            prop_assert_eq!(released.load(Ordering::SeqCst), 0);
        }
        drop(handles);
        prop_assert_eq!(released.load(Ordering::SeqCst), 1);
    }
}

/// An error of a lower layer, for the source chain of allocation errors.
#[derive(Debug, thiserror::Error)]
#[error("the device said no: {0}")]
struct DeviceError(#[source] std::io::Error);

#[test]
fn allocation_errors_from_lower_layers_keep_their_source() {
    use std::error::Error as _;
    let os = std::io::Error::from(std::io::ErrorKind::OutOfMemory);
    let e = MemoryError::alloc_failed(4096, DeviceError(os));
    // The message reads as an Alloc error's, with the lower layer's message as reason.
    assert_eq!(
        e.to_string(),
        format!(
            "allocating 4096 bytes failed: the device said no: {}",
            std::io::Error::from(std::io::ErrorKind::OutOfMemory)
        )
    );
    // The chain is kept down to the OS error.
    let device = e.source().expect("the device error is the source");
    assert!(device.downcast_ref::<DeviceError>().is_some(), "{device:?}");
    let io = device.source().expect("and the OS error below it");
    assert_eq!(
        io.downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind),
        Some(std::io::ErrorKind::OutOfMemory)
    );
    // An error made in the core itself has no source.
    let plain = AllocationParams::aligned_to(3).unwrap_err();
    assert!(plain.source().is_none());
}
