//! Integration tests of `penstock::buffer`, modelled on GStreamer's `gstbuffer` checks:
//! writability and copy-on-write, many memories, map_range (zero-copy spans vs copies),
//! fill/extract/memcmp/memset across memories, resize, append, copy_region with every
//! flag, timestamp and flag copy rules, meta transforms.

use std::cmp::Ordering;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use penstock::allocator::{AllocationParams, Allocator, SystemAllocator};
use penstock::buffer::{BufferError, CopyFlags, INLINE_MEMORIES};
use penstock::ledger::{self, CopyReason, SiteTotals};
use penstock::memory::{Memory, MemoryError, MemoryFlags};
use penstock::meta::{Meta, MetaTransform};
use penstock::{Buffer, BufferFlags, BufferMut, ClockTime};
use proptest::prelude::*;

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| seed.wrapping_add(i as u8)).collect()
}

fn site(name: &str) -> SiteTotals {
    ledger::snapshot().site(name)
}

/// A buffer of separate memories (one region each) of the given sizes, holding
/// `pattern(sum, seed)` in order.
fn split_buffer(sizes: &[usize], seed: u8) -> (BufferMut, Vec<u8>) {
    let total: usize = sizes.iter().sum();
    let data = pattern(total, seed);
    let mut b = BufferMut::new();
    let mut pos = 0;
    for &s in sizes {
        b.append_memory(Memory::from_owner(data[pos..pos + s].to_vec()));
        pos += s;
    }
    (b, data)
}

/// A buffer whose memories are adjacent shares of one region.
fn span_buffer(sizes: &[usize], seed: u8) -> (BufferMut, Vec<u8>, Memory) {
    let total: usize = sizes.iter().sum();
    let data = pattern(total, seed);
    let root = Memory::from_owner(data.clone());
    let mut b = BufferMut::new();
    let mut pos = 0;
    for &s in sizes {
        b.append_memory(root.share(pos, s).unwrap());
        pos += s;
    }
    (b, data, root)
}

fn bytes_of(b: &penstock::BufferRef) -> Vec<u8> {
    let mut out = vec![0; b.size()];
    assert_eq!(b.extract(0, &mut out).unwrap(), b.size());
    out
}

fn ptr_of(m: &Memory) -> usize {
    m.map_read().unwrap().as_ptr() as usize
}

#[test]
fn new_buffer_is_empty() {
    let b = BufferMut::new();
    assert_eq!(b.size(), 0);
    assert_eq!(b.n_memory(), 0);
    assert!(b.map_read().unwrap().is_empty());
    assert!(!b.map_read().unwrap().is_copy());
    assert_eq!(b.pts(), None);
    assert_eq!(b.flags(), BufferFlags::empty());
    assert!(!b.is_pooled());
    assert!(b.is_all_memory_writable());
    let d = BufferMut::default();
    assert_eq!(d.size(), 0);
    let b = BufferMut::with_size(10).unwrap();
    assert_eq!(b.size(), 10);
    assert_eq!(bytes_of(&b), vec![0; 10]);
}

#[test]
fn buffers_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Buffer>();
    assert_send_sync::<BufferMut>();
    assert_send_sync::<BufferError>();
}

#[test]
fn try_into_mut_needs_a_unique_handle() {
    let b: Buffer = BufferMut::copy_from_slice(b"hello").unwrap().freeze();
    let c = b.clone();
    assert_eq!(b.ref_count(), 2);
    assert!(b.ptr_eq(&c));
    let b = match b.try_into_mut() {
        Ok(_) => panic!("two handles: must not be unique"),
        Err(b) => b,
    };
    assert_eq!(b.ref_count(), 2);
    drop(c);
    assert_eq!(b.ref_count(), 1);
    let mut m = b.try_into_mut().expect("unique now");
    m.fill(0, b"j").unwrap();
    let b: Buffer = m.into();
    assert_eq!(b.memcmp(0, b"jello").unwrap(), Ordering::Equal);
}

/// A user meta that is cloned on every copy.
#[derive(Debug, Clone, PartialEq)]
struct Tag(u32);

impl Meta for Tag {
    fn name(&self) -> &'static str {
        "Tag"
    }
    fn transform(&self, _t: &MetaTransform) -> Option<Box<dyn Meta>> {
        Some(Box::new(self.clone()))
    }
}

#[test]
fn make_mut_copies_the_struct_not_the_memories_then_cows() {
    let name = "buffer-test-make-mut-cow";
    let _site = ledger::enter_site(name);
    let mut src = BufferMut::from_memory(Memory::from_owner(pattern(64, 1)));
    src.set_pts(Some(ClockTime::from_mseconds(40)));
    src.insert_flags(BufferFlags::DELTA_UNIT);
    src.add_meta(Tag(3));
    let shared = src.freeze();
    let other = shared.clone();
    let before = site(name);

    let mut m = other.make_mut();
    assert!(!m.ptr_eq_buffer(&shared));
    assert_eq!(m.n_memory(), 1);
    assert!(m.memory(0).unwrap().same_region(shared.memory(0).unwrap()));
    assert_eq!(m.pts(), shared.pts());
    assert_eq!(m.flags(), BufferFlags::DELTA_UNIT);
    assert_eq!(m.meta::<Tag>(), Some(&Tag(3)));
    assert!(!m.is_all_memory_writable());
    // Nothing copied yet.
    assert_eq!(site(name), before);

    // Writing the shared memory copies it first (cow), once.
    m.map_memory_write(0).unwrap()[0] = 0xFF;
    let after = site(name);
    assert_eq!(after.reason(CopyReason::Cow).count, 1);
    assert_eq!(after.reason(CopyReason::Cow).bytes, 64);
    assert_eq!(after.copies.count, 1);
    assert_eq!(after.allocations.count, before.allocations.count + 1);
    assert!(!m.memory(0).unwrap().same_region(shared.memory(0).unwrap()));
    assert!(m.is_all_memory_writable());
    m.map_memory_write(0).unwrap()[1] = 0xFE;
    assert_eq!(site(name).copies.count, 1, "the copy is unique now");
    // The original is untouched.
    assert_eq!(bytes_of(&shared), pattern(64, 1));
    let mut expect = pattern(64, 1);
    expect[0] = 0xFF;
    expect[1] = 0xFE;
    assert_eq!(bytes_of(&m), expect);
}

#[test]
fn make_mut_of_a_unique_buffer_is_free() {
    let name = "buffer-test-make-mut-unique";
    let _site = ledger::enter_site(name);
    let b = BufferMut::from_memory(Memory::from_owner(vec![0u8; 16])).freeze();
    let addr = ptr_of(b.memory(0).unwrap());
    let mut m = b.make_mut();
    m.map_memory_write(0).unwrap()[0] = 1;
    assert_eq!(ptr_of(m.memory(0).unwrap()), addr);
    assert_eq!(site(name).copies.count, 0);
    assert_eq!(site(name).allocations.count, 0);
}

/// `ptr_eq` lives on `Buffer`; compare a `BufferMut` through its memories' identity.
trait PtrEqBuffer {
    fn ptr_eq_buffer(&self, other: &Buffer) -> bool;
}
impl PtrEqBuffer for BufferMut {
    fn ptr_eq_buffer(&self, other: &Buffer) -> bool {
        std::ptr::eq::<penstock::BufferRef>(&**self, &**other)
    }
}

#[test]
fn write_to_readonly_memory_copies_on_write() {
    static DATA: [u8; 4] = [9, 8, 7, 6];
    let name = "buffer-test-readonly-cow";
    let _site = ledger::enter_site(name);
    let mut b = BufferMut::from_memory(Memory::from_owner_readonly(&DATA[..]));
    assert!(!b.is_all_memory_writable());
    b.fill(1, &[0]).unwrap();
    assert_eq!(bytes_of(&b), vec![9, 0, 7, 6]);
    assert_eq!(DATA, [9, 8, 7, 6]);
    assert_eq!(site(name).reason(CopyReason::Cow).bytes, 4);
}

#[test]
fn many_memories_are_kept_without_merging() {
    let name = "buffer-test-many-memories";
    let _site = ledger::enter_site(name);
    let n = 100;
    let mut b = BufferMut::new();
    for i in 0..n {
        b.append_memory(Memory::from_owner(vec![i as u8; 3]));
        assert_eq!(b.n_memory(), i + 1);
    }
    assert!(n > INLINE_MEMORIES);
    assert_eq!(b.size(), 3 * n);
    assert_eq!(site(name).copies.count, 0, "appending never merges");
    for i in 0..n {
        assert_eq!(&*b.memory(i).unwrap().map_read().unwrap(), &[i as u8; 3]);
    }
    let expect: Vec<u8> = (0..n).flat_map(|i| [i as u8; 3]).collect();
    assert_eq!(bytes_of(&b), expect);
    // Mapping all of them needs one copy.
    let map = b.map_read().unwrap();
    assert!(map.is_copy());
    assert_eq!(&*map, &expect[..]);
    assert!(format!("{map:?}").contains("copy: true"));
    drop(map);
    let s = site(name);
    assert_eq!(s.reason(CopyReason::MapRange).count, 1);
    assert_eq!(s.reason(CopyReason::MapRange).bytes, 300);
    assert_eq!(b.n_memory(), n, "map_range does not change the buffer");
    // find_memory.
    assert_eq!(b.find_memory(0, 3), Some((0, 1, 0)));
    assert_eq!(b.find_memory(4, 1), Some((1, 1, 1)));
    assert_eq!(b.find_memory(5, 4), Some((1, 2, 2)));
    assert_eq!(b.find_memory(5, 5), Some((1, 3, 2)));
    assert_eq!(b.find_memory(299, 1), Some((99, 1, 2)));
    assert_eq!(b.find_memory(299, 2), None);
    assert_eq!(b.find_memory(300, 0), None);

    // 100 adjacent shares of one region map without a copy.
    let name2 = "buffer-test-many-spans";
    let _site2 = ledger::enter_site(name2);
    let sizes = vec![3; n];
    let (b, data, root) = span_buffer(&sizes, 4);
    let map = b.map_read().unwrap();
    assert!(!map.is_copy());
    assert_eq!(map.as_ptr() as usize, ptr_of(&root));
    assert_eq!(&*map, &data[..]);
    drop(map);
    assert_eq!(site(name2).copies.count, 0);
}

#[test]
fn map_range_copies_only_when_needed() {
    let name = "buffer-test-map-range";
    let _site = ledger::enter_site(name);
    let (b, data) = split_buffer(&[4, 6, 8], 0);

    // One memory: mapped in place.
    let one = b.map_range(1, 1).unwrap();
    assert!(!one.is_copy());
    assert_eq!(&*one, &data[4..10]);
    assert_eq!(one.as_ptr() as usize, ptr_of(b.memory(1).unwrap()));
    drop(one);
    assert!(b.map_range(3, 0).unwrap().is_empty());
    assert_eq!(site(name).copies.count, 0);

    // Several memories of different regions: one copy, recorded.
    let several = b.map_range(1, 2).unwrap();
    assert!(several.is_copy());
    assert_eq!(&*several, &data[4..18]);
    drop(several);
    let s = site(name);
    assert_eq!(s.reason(CopyReason::MapRange).count, 1);
    assert_eq!(s.reason(CopyReason::MapRange).bytes, 14);
    assert_eq!(s.allocations.count, 1);

    // Bad ranges.
    for (idx, len) in [(0, 4), (3, 1), (4, 0), (usize::MAX, 2)] {
        assert!(
            matches!(
                b.map_range(idx, len),
                Err(BufferError::BadMemoryRange { .. })
            ),
            "{idx} {len}"
        );
    }
    assert_eq!(site(name).copies.count, 1);

    // Adjacent shares of one region: no copy.
    let (b, data, root) = span_buffer(&[5, 5, 5], 2);
    let map = b.map_range(0, 3).unwrap();
    assert!(!map.is_copy());
    assert_eq!(&*map, &data[..]);
    assert_eq!(map.as_ptr() as usize, ptr_of(&root));
    // The mapping is a read lock on the region.
    assert!(root.is_mapped());
    drop(map);
    assert!(!root.is_mapped());
    let map = b.map_range(1, 2).unwrap();
    assert!(!map.is_copy());
    assert_eq!(&*map, &data[5..]);
    drop(map);
    assert_eq!(site(name).copies.count, 1, "spans cost nothing");

    // Shares of one region that are not adjacent (out of order): copy.
    let root = Memory::from_owner(pattern(10, 0));
    let mut b = BufferMut::new();
    b.append_memory(root.share(5, 5).unwrap());
    b.append_memory(root.share(0, 5).unwrap());
    let map = b.map_read().unwrap();
    assert!(map.is_copy());
    assert_eq!(&*map, &[5, 6, 7, 8, 9, 0, 1, 2, 3, 4]);
    drop(map);
    assert_eq!(site(name).reason(CopyReason::MapRange).count, 2);

    // NOT_MAPPABLE memories fail to map; no copy is recorded.
    let mut b = BufferMut::new();
    b.append_memory(Memory::new_system(4).unwrap());
    b.append_memory(Memory::with_backend(
        vec![0u8; 4],
        NamedBackend,
        MemoryFlags::NOT_MAPPABLE,
    ));
    assert!(matches!(
        b.map_read(),
        Err(BufferError::Memory(MemoryError::NotMappable { .. }))
    ));
    assert!(matches!(
        b.map_range(1, 1),
        Err(BufferError::Memory(MemoryError::NotMappable { .. }))
    ));
    assert_eq!(site(name).copies.count, 2);
}

struct NamedBackend;
impl penstock::memory::MemoryBackend for NamedBackend {
    fn memory_type(&self) -> penstock::MemoryType {
        penstock::MemoryType::new("Opaque")
    }
}

#[test]
fn map_range_write_merges() {
    let name = "buffer-test-map-range-write";
    let _site = ledger::enter_site(name);

    // Adjacent shares whose root is gone: merged into one unique handle, no copy.
    let (mut b, data, root) = span_buffer(&[4, 4, 4, 4], 1);
    let addr = ptr_of(&root);
    drop(root);
    {
        let mut w = b.map_range_write(1, 2).unwrap();
        assert_eq!(&*w, &data[4..12]);
        // The merged handle shares the region with memories 0 and 3: writing it needed
        // a copy-on-write of its 8 bytes, but no merge copy.
        assert_ne!(w.as_ptr() as usize, addr + 4);
        w.fill(0);
    }
    assert_eq!(b.n_memory(), 3);
    assert_eq!(b.memory(1).unwrap().size(), 8);
    assert!(b.memory(0).unwrap().same_region(b.memory(2).unwrap()));
    let s = site(name);
    assert_eq!(s.reason(CopyReason::Cow).count, 1);
    assert_eq!(s.reason(CopyReason::Cow).bytes, 8);
    assert_eq!(s.reason(CopyReason::MapRange).count, 0);
    assert_eq!(s.reason(CopyReason::Merge).count, 0);
    let mut expect = data.clone();
    expect[4..12].fill(0);
    assert_eq!(bytes_of(&b), expect);

    // Adjacent shares that are the only handles on the region: no copy at all.
    let name2 = "buffer-test-map-range-write-unique";
    let _site2 = ledger::enter_site(name2);
    let (mut b, data, root) = span_buffer(&[3, 5], 9);
    let addr = ptr_of(&root);
    drop(root);
    {
        let w = b.map_range_write(0, 2).unwrap();
        assert_eq!(&*w, &data[..]);
        assert_eq!(w.as_ptr() as usize, addr);
    }
    assert_eq!(b.n_memory(), 1);
    assert_eq!(site(name2).copies.count, 0);

    // Memories of different regions: one merged copy (map-range).
    let name3 = "buffer-test-map-range-write-copy";
    let _site3 = ledger::enter_site(name3);
    let (mut b, data) = split_buffer(&[2, 3, 4, 5], 0);
    {
        let mut w = b.map_range_write(1, 3).unwrap();
        assert_eq!(&*w, &data[2..14]);
        w[0] = 0xEE;
    }
    assert_eq!(b.n_memory(), 2);
    let s = site(name3);
    assert_eq!(s.reason(CopyReason::MapRange).count, 1);
    assert_eq!(s.reason(CopyReason::MapRange).bytes, 12);
    assert_eq!(
        s.reason(CopyReason::Cow).count,
        0,
        "the merged copy is unique"
    );
    let mut expect = data.clone();
    expect[2] = 0xEE;
    assert_eq!(bytes_of(&b), expect);

    // A single memory maps in place; bad ranges fail.
    let (mut b, _) = split_buffer(&[2, 3], 0);
    assert_eq!(b.map_range_write(1, 1).unwrap().len(), 3);
    assert!(matches!(
        b.map_range_write(0, 0),
        Err(BufferError::BadMemoryRange { .. })
    ));
    assert!(matches!(
        b.map_range_write(1, 2),
        Err(BufferError::BadMemoryRange { .. })
    ));
    assert!(matches!(
        b.map_memory_write(2),
        Err(BufferError::BadMemoryRange { .. })
    ));
    assert_eq!(b.n_memory(), 2);
    assert_eq!(site(name3).copies.count, 1);
}

#[test]
fn fill_extract_memcmp_memset_cross_memories() {
    let (mut b, mut model) = split_buffer(&[3, 5, 7], 10);
    assert_eq!(b.size(), 15);

    // fill across all three memories.
    let data = pattern(10, 100);
    assert_eq!(b.fill(2, &data).unwrap(), 10);
    model[2..12].copy_from_slice(&data);
    assert_eq!(bytes_of(&b), model);
    // fill at the end is truncated.
    assert_eq!(b.fill(13, &[1, 2, 3, 4]).unwrap(), 2);
    model[13..15].copy_from_slice(&[1, 2]);
    assert_eq!(b.fill(15, &[1]).unwrap(), 0);
    assert_eq!(b.fill(100, &[1]).unwrap(), 0);
    assert_eq!(bytes_of(&b), model);

    // extract pieces and past the end.
    let mut out = [0u8; 6];
    assert_eq!(b.extract(1, &mut out).unwrap(), 6);
    assert_eq!(out, model[1..7]);
    let mut out = [0u8; 6];
    assert_eq!(b.extract(12, &mut out).unwrap(), 3);
    assert_eq!(out[..3], model[12..15]);
    assert_eq!(b.extract(15, &mut out).unwrap(), 0);
    assert_eq!(b.extract(usize::MAX, &mut out).unwrap(), 0);
    assert_eq!(b.extract(0, &mut []).unwrap(), 0);

    // memcmp.
    assert_eq!(b.memcmp(0, &model).unwrap(), Ordering::Equal);
    assert_eq!(b.memcmp(2, &model[2..9]).unwrap(), Ordering::Equal);
    assert_eq!(b.memcmp(15, &[]).unwrap(), Ordering::Equal);
    let mut bigger = model[4..12].to_vec();
    bigger[7] = bigger[7].wrapping_add(1);
    if bigger[7] != 0 {
        assert_eq!(b.memcmp(4, &bigger).unwrap(), Ordering::Less);
    }
    let mut smaller = model[4..12].to_vec();
    smaller[5] = 0;
    if model[9] != 0 {
        assert_eq!(b.memcmp(4, &smaller).unwrap(), Ordering::Greater);
    }
    assert!(matches!(
        b.memcmp(10, &[0; 6]),
        Err(BufferError::OutOfRange { .. })
    ));
    assert!(matches!(
        b.memcmp(usize::MAX, &[0; 2]),
        Err(BufferError::OutOfRange { .. })
    ));

    // memset across memories.
    assert_eq!(b.memset(1, 0xAA, 12).unwrap(), 12);
    model[1..13].fill(0xAA);
    assert_eq!(bytes_of(&b), model);
    assert_eq!(b.memset(10, 0x55, 100).unwrap(), 5);
    model[10..].fill(0x55);
    assert_eq!(bytes_of(&b), model);
    assert_eq!(b.n_memory(), 3, "no merging");
}

#[test]
fn fill_copies_only_the_shared_memories_it_touches() {
    let name = "buffer-test-fill-cow";
    let _site = ledger::enter_site(name);
    let (b, data) = split_buffer(&[4, 4, 4], 0);
    let frozen = b.freeze();
    let keep = frozen.clone();
    let mut m = frozen.make_mut();
    // Touches memories 1 and 2 only.
    assert_eq!(m.memset(5, 0, 4).unwrap(), 4);
    let s = site(name);
    assert_eq!(s.reason(CopyReason::Cow).count, 2);
    assert_eq!(s.reason(CopyReason::Cow).bytes, 8);
    assert!(m.memory(0).unwrap().same_region(keep.memory(0).unwrap()));
    assert!(!m.memory(1).unwrap().same_region(keep.memory(1).unwrap()));
    assert_eq!(bytes_of(&keep), data);
    let mut expect = data.clone();
    expect[5..9].fill(0);
    assert_eq!(bytes_of(&m), expect);
}

fn windows(b: &penstock::BufferRef) -> Vec<(usize, usize)> {
    b.memories()
        .iter()
        .map(|m| (m.offset(), m.size()))
        .collect()
}

/// Three memories: the first with an 8-byte zero prefix, the last with 8 bytes of
/// zero padding; content 1..=12.
fn prefixed_buffer() -> (BufferMut, Vec<u8>) {
    let first = SystemAllocator
        .alloc(
            4,
            &AllocationParams {
                prefix: 8,
                ..AllocationParams::default()
            },
        )
        .unwrap();
    let middle = Memory::new_system(4).unwrap();
    let last = SystemAllocator
        .alloc(
            4,
            &AllocationParams {
                padding: 8,
                ..AllocationParams::default()
            },
        )
        .unwrap();
    let mut b = BufferMut::new();
    b.append_memory(first);
    b.append_memory(middle);
    b.append_memory(last);
    let data: Vec<u8> = (1..=12).collect();
    b.fill(0, &data).unwrap();
    (b, data)
}

#[test]
fn resize_shrink_grow_and_prefix() {
    let name = "buffer-test-resize";
    let _site = ledger::enter_site(name);

    // Shrink from the front across a memory boundary.
    let (mut b, data) = prefixed_buffer();
    b.resize(5, 7).unwrap();
    assert_eq!(b.size(), 7);
    assert_eq!(bytes_of(&b), data[5..12]);
    assert_eq!(b.n_memory(), 3, "emptied memories stay");
    assert_eq!(windows(&b), [(12, 0), (1, 3), (0, 4)]);
    // A negative offset now reaches into the first memory's prefix, which holds the
    // bytes it no longer shows (the emptied memory's window sits at its old end).
    b.resize(-1, 8).unwrap();
    assert_eq!(windows(&b), [(11, 1), (1, 3), (0, 4)]);
    assert_eq!(bytes_of(&b), [4, 6, 7, 8, 9, 10, 11, 12]);

    // Grow into the padding (zeros).
    let (mut b, data) = prefixed_buffer();
    b.resize(0, 20).unwrap();
    let mut expect = data.clone();
    expect.extend([0; 8]);
    assert_eq!(bytes_of(&b), expect);
    assert_eq!(windows(&b), [(8, 4), (0, 4), (0, 12)]);
    b.resize(0, 12).unwrap();
    assert_eq!(bytes_of(&b), data);

    // Negative: into the prefix (zeros), and back.
    let (mut b, data) = prefixed_buffer();
    b.resize(-8, 20).unwrap();
    let mut expect = vec![0; 8];
    expect.extend(&data);
    assert_eq!(bytes_of(&b), expect);
    assert_eq!(b.memory(0).unwrap().offset(), 0);
    b.resize(8, 12).unwrap();
    assert_eq!(bytes_of(&b), data);
    assert_eq!(windows(&b), [(8, 4), (0, 4), (0, 4)]);

    // Shrink the end; growing again extends the last memory (into its padding), as
    // the emptied middle memory stays empty.
    b.resize(0, 3).unwrap();
    assert_eq!(bytes_of(&b), data[..3]);
    assert_eq!(windows(&b), [(8, 3), (0, 0), (0, 0)]);
    b.resize(0, 12).unwrap();
    assert_eq!(bytes_of(&b), [1, 2, 3, 9, 10, 11, 12, 0, 0, 0, 0, 0]);

    // Errors leave everything as it was.
    let (mut b, data) = prefixed_buffer();
    let w = windows(&b);
    for (off, size) in [
        (-9isize, 12usize),
        (-8, 29),
        (0, 21),
        (21, 0),
        (isize::MIN, 0),
        (0, usize::MAX),
        (isize::MAX, 1),
        (isize::MIN, usize::MAX),
    ] {
        assert!(
            matches!(b.resize(off, size), Err(BufferError::OutOfRange { .. })),
            "{off} {size}"
        );
        assert_eq!(windows(&b), w, "{off} {size}");
    }
    assert_eq!(bytes_of(&b), data);
    // The exact limits work.
    b.resize(-8, 28).unwrap();
    assert_eq!(b.size(), 28);
    assert_eq!(windows(&b), [(0, 12), (0, 4), (0, 12)]);
    assert_eq!(site(name).copies.count, 0, "resize never copies");

    // An empty buffer only resizes to nothing.
    let mut e = BufferMut::new();
    e.resize(0, 0).unwrap();
    assert!(e.resize(0, 1).is_err());
    assert!(e.resize(-1, 0).is_err());
    assert!(e.resize(1, 0).is_err());
}

#[test]
fn resize_to_a_window_inside_the_padding() {
    let (mut b, _) = prefixed_buffer();
    // Start past the current end, inside the last memory's padding.
    b.resize(14, 3).unwrap();
    assert_eq!(b.size(), 3, "windows: {:?}", windows(&b));
    assert_eq!(windows(&b), [(12, 0), (4, 0), (6, 3)]);
    assert_eq!(bytes_of(&b), vec![0; 3]);
    // An empty window at the very end of the padding.
    let (mut b, _) = prefixed_buffer();
    b.resize(20, 0).unwrap();
    assert_eq!(b.size(), 0, "windows: {:?}", windows(&b));
    assert_eq!(windows(&b), [(12, 0), (4, 0), (12, 0)]);
}

#[test]
fn resize_to_a_window_inside_the_prefix() {
    let (mut b, _) = prefixed_buffer();
    b.resize(-8, 4).unwrap();
    assert_eq!(b.size(), 4, "windows: {:?}", windows(&b));
    assert_eq!(windows(&b), [(0, 4), (0, 0), (0, 0)]);
    assert_eq!(bytes_of(&b), vec![0; 4]);
    // One memory.
    let m = SystemAllocator
        .alloc(
            4,
            &AllocationParams {
                prefix: 8,
                ..AllocationParams::default()
            },
        )
        .unwrap();
    let mut b = BufferMut::from_memory(m);
    b.resize(-6, 2).unwrap();
    assert_eq!(windows(&b), [(2, 2)]);
    b.resize(-2, 0).unwrap();
    assert_eq!(windows(&b), [(0, 0)]);
}

#[test]
fn append_moves_memories_without_copy() {
    let name = "buffer-test-append";
    let _site = ledger::enter_site(name);
    let (mut a, da) = split_buffer(&[3, 3], 0);
    let (b, db) = split_buffer(&[4, 4, 4], 50);
    let addrs: Vec<usize> = b.memories().iter().map(ptr_of).collect();
    a.append(b.freeze());
    assert_eq!(a.n_memory(), 5);
    let got: Vec<usize> = a.memories()[2..].iter().map(ptr_of).collect();
    assert_eq!(got, addrs);
    // Moved, not shared: the memories are unique.
    assert!(a.is_all_memory_writable());
    let mut expect = da.clone();
    expect.extend(&db);
    assert_eq!(bytes_of(&a), expect);

    // Appending a shared buffer shares its memories.
    let (c, dc) = split_buffer(&[2], 99);
    let c = c.freeze();
    let keep = c.clone();
    a.append(c);
    assert_eq!(a.n_memory(), 6);
    assert!(a.memory(5).unwrap().same_region(keep.memory(0).unwrap()));
    assert!(!a.is_all_memory_writable());
    assert_eq!(bytes_of(&keep), dc);
    expect.extend(&dc);
    assert_eq!(bytes_of(&a), expect);
    assert_eq!(site(name).copies.count, 0);
}

#[test]
fn memory_list_operations() {
    let (mut b, _) = split_buffer(&[1, 2, 3], 0);
    let extra = Memory::from_owner(vec![9u8; 4]);
    b.insert_memory(1, extra.clone());
    assert_eq!(b.memory(1).unwrap().size(), 4);
    b.insert_memory(100, Memory::new_system(5).unwrap());
    assert_eq!(b.n_memory(), 5);
    assert_eq!(b.memory(4).unwrap().size(), 5);
    let old = b.replace_memory(0, Memory::new_system(7).unwrap()).unwrap();
    assert_eq!(old.size(), 1);
    assert!(matches!(
        b.replace_memory(5, Memory::new_system(1).unwrap()),
        Err(BufferError::BadMemoryRange { .. })
    ));
    let removed = b.remove_memory(1).unwrap();
    assert!(removed.same_region(&extra));
    assert!(b.remove_memory(4).is_none());
    assert_eq!(b.size(), 7 + 2 + 3 + 5);
    b.memory_mut(0).unwrap().resize(0, 2).unwrap();
    assert_eq!(b.size(), 2 + 2 + 3 + 5);
    assert!(b.memory_mut(9).is_none());
    b.remove_all_memory();
    assert_eq!(b.n_memory(), 0);
    assert_eq!(b.size(), 0);
}

#[test]
fn copy_region_memory_shares() {
    let name = "buffer-test-copy-region-share";
    let _site = ledger::enter_site(name);
    let (b, data) = split_buffer(&[4, 4, 4], 0);
    let c = b.copy_region(CopyFlags::MEMORY, 2, Some(7)).unwrap();
    assert_eq!(c.n_memory(), 3);
    assert_eq!(c.size(), 7);
    for i in 0..3 {
        assert!(c.memory(i).unwrap().same_region(b.memory(i).unwrap()));
    }
    assert_eq!(bytes_of(&c), data[2..9]);
    // Whole copy and copy to the end.
    let c = b.copy_region(CopyFlags::MEMORY, 0, None).unwrap();
    assert_eq!(bytes_of(&c), data);
    let c = b.copy_region(CopyFlags::MEMORY, 8, None).unwrap();
    assert_eq!(c.n_memory(), 1);
    assert_eq!(bytes_of(&c), data[8..]);
    let c = b.copy_region(CopyFlags::MEMORY, 12, None).unwrap();
    assert_eq!(c.size(), 0);
    // Without MEMORY there are no memories.
    let c = b.copy_region(CopyFlags::FLAGS, 0, None).unwrap();
    assert_eq!(c.n_memory(), 0);
    // Out of range.
    assert!(matches!(
        b.copy_region(CopyFlags::MEMORY, 13, None),
        Err(BufferError::OutOfRange { .. })
    ));
    assert!(matches!(
        b.copy_region(CopyFlags::MEMORY, 10, Some(3)),
        Err(BufferError::OutOfRange { .. })
    ));
    assert!(matches!(
        b.copy_region(CopyFlags::MEMORY, usize::MAX, Some(2)),
        Err(BufferError::OutOfRange { .. })
    ));
    let s = site(name);
    assert_eq!(s.copies.count, 0);
    assert_eq!(s.allocations.count, 0);
}

#[test]
fn copy_region_deep_copies_everything() {
    let name = "buffer-test-copy-region-deep";
    let _site = ledger::enter_site(name);
    let (b, data) = split_buffer(&[4, 4, 4], 0);
    let c = b
        .copy_region(CopyFlags::MEMORY | CopyFlags::DEEP, 2, Some(7))
        .unwrap();
    assert_eq!(bytes_of(&c), data[2..9]);
    for (m, orig) in c.memories().iter().zip(b.memories()) {
        assert!(!m.same_region(orig));
    }
    assert!(c.is_all_memory_writable());
    let s = site(name);
    assert_eq!(s.reason(CopyReason::Explicit).count, 3);
    assert_eq!(s.reason(CopyReason::Explicit).bytes, 7);
    assert_eq!(s.copies.count, 3);

    let d = b.copy_deep().unwrap();
    assert_eq!(bytes_of(&d), data);
    assert_eq!(site(name).reason(CopyReason::Explicit).bytes, 7 + 12);
}

#[test]
fn copy_region_copies_no_share_memories() {
    let name = "buffer-test-copy-region-no-share";
    let _site = ledger::enter_site(name);
    let no_share = SystemAllocator
        .alloc(
            8,
            &AllocationParams {
                flags: MemoryFlags::NO_SHARE,
                ..AllocationParams::default()
            },
        )
        .unwrap();
    let mut b = BufferMut::new();
    b.append_memory(Memory::from_owner(pattern(8, 0)));
    b.append_memory(no_share);
    b.fill(8, &pattern(8, 8)).unwrap();
    let c = b.copy_region(CopyFlags::MEMORY, 4, Some(8)).unwrap();
    assert_eq!(c.n_memory(), 2);
    assert!(c.memory(0).unwrap().same_region(b.memory(0).unwrap()));
    assert!(!c.memory(1).unwrap().same_region(b.memory(1).unwrap()));
    assert_eq!(bytes_of(&c), pattern(16, 0)[4..12]);
    let s = site(name);
    assert_eq!(s.reason(CopyReason::MemoryType).count, 1);
    assert_eq!(s.reason(CopyReason::MemoryType).bytes, 4);
    assert_eq!(s.copies.count, 1);
}

#[test]
fn copy_region_merge() {
    let name = "buffer-test-copy-region-merge";
    let _site = ledger::enter_site(name);
    // Different regions: merged by copy.
    let (b, data) = split_buffer(&[4, 4, 4], 0);
    let c = b
        .copy_region(CopyFlags::MEMORY | CopyFlags::MERGE, 1, Some(10))
        .unwrap();
    assert_eq!(c.n_memory(), 1);
    assert_eq!(bytes_of(&c), data[1..11]);
    let s = site(name);
    assert_eq!(s.reason(CopyReason::Merge).count, 1);
    assert_eq!(s.reason(CopyReason::Merge).bytes, 10);
    assert_eq!(s.copies.count, 1);

    // A single memory region: nothing to merge.
    let c = b
        .copy_region(CopyFlags::MEMORY | CopyFlags::MERGE, 4, Some(4))
        .unwrap();
    assert_eq!(c.n_memory(), 1);
    assert!(c.memory(0).unwrap().same_region(b.memory(1).unwrap()));
    assert_eq!(site(name).copies.count, 1);

    // Adjacent shares of one region: merged without a copy.
    let (b, data, root) = span_buffer(&[4, 4, 4], 3);
    let c = b
        .copy_region(CopyFlags::MEMORY | CopyFlags::MERGE, 2, Some(9))
        .unwrap();
    assert_eq!(c.n_memory(), 1);
    assert!(c.memory(0).unwrap().same_region(&root));
    assert_eq!(bytes_of(&c), data[2..11]);
    assert_eq!(site(name).copies.count, 1);
}

fn stamped_buffer() -> BufferMut {
    let (mut b, _) = split_buffer(&[4, 4], 0);
    b.set_pts(Some(ClockTime::from_mseconds(100)));
    b.set_dts(Some(ClockTime::from_mseconds(90)));
    b.set_duration(Some(ClockTime::from_mseconds(40)));
    b.set_offset(Some(7));
    b.set_offset_end(Some(8));
    b.set_flags(BufferFlags::DISCONT | BufferFlags::MARKER);
    b
}

#[test]
fn timestamps_and_flags_copy_rules() {
    let b = stamped_buffer();
    assert_eq!(b.flags(), BufferFlags::DISCONT | BufferFlags::MARKER);

    let whole = b.copy_region(CopyFlags::ALL, 0, None).unwrap();
    assert_eq!(whole.pts(), b.pts());
    assert_eq!(whole.dts(), b.dts());
    assert_eq!(whole.duration(), b.duration());
    assert_eq!(whole.offset(), Some(7));
    assert_eq!(whole.offset_end(), Some(8));
    assert_eq!(whole.flags(), b.flags());

    // A head: starts where the buffer starts, ends earlier.
    let head = b.copy_region(CopyFlags::ALL, 0, Some(5)).unwrap();
    assert_eq!(head.pts(), b.pts());
    assert_eq!(head.dts(), b.dts());
    assert_eq!(head.offset(), Some(7));
    assert_eq!(head.duration(), None);
    assert_eq!(head.offset_end(), None);

    // A tail: starts later.
    let tail = b.copy_region(CopyFlags::ALL, 3, None).unwrap();
    assert_eq!(tail.pts(), None);
    assert_eq!(tail.dts(), None);
    assert_eq!(tail.offset(), None);
    assert_eq!(tail.duration(), None);
    assert_eq!(tail.offset_end(), None);
    assert_eq!(tail.flags(), b.flags());

    // Without the flags.
    let bare = b.copy_region(CopyFlags::MEMORY, 0, None).unwrap();
    assert_eq!(bare.pts(), None);
    assert_eq!(bare.duration(), None);
    assert_eq!(bare.flags(), BufferFlags::empty());
    let ts = b.copy_region(CopyFlags::TIMESTAMPS, 0, None).unwrap();
    assert_eq!(ts.pts(), b.pts());
    assert_eq!(ts.flags(), BufferFlags::empty());
    assert_eq!(ts.n_memory(), 0);

    // make_mut keeps everything.
    let frozen = b.freeze();
    let other = frozen.clone();
    let m = other.make_mut();
    assert_eq!(m.pts(), frozen.pts());
    assert_eq!(m.dts(), frozen.dts());
    assert_eq!(m.duration(), frozen.duration());
    assert_eq!(m.offset(), frozen.offset());
    assert_eq!(m.offset_end(), frozen.offset_end());
    assert_eq!(m.flags(), frozen.flags());

    // Flag editing.
    let mut m = m;
    m.insert_flags(BufferFlags::GAP);
    m.remove_flags(BufferFlags::DISCONT);
    assert_eq!(m.flags(), BufferFlags::GAP | BufferFlags::MARKER);
    assert_eq!(frozen.flags(), BufferFlags::DISCONT | BufferFlags::MARKER);
}

#[test]
fn buffer_debug_and_errors_read_well() {
    let b = stamped_buffer();
    let text = format!("{b:?}");
    assert!(text.contains("size: 8"), "{text}");
    let e = BufferError::OutOfRange {
        what: "Buffer::resize",
        offset: -3,
        size: 4,
        total: 2,
    };
    assert!(e.to_string().contains("Buffer::resize"));
    let e: BufferError = MemoryError::NoShare.into();
    assert!(e.to_string().contains("NO_SHARE"));
}

#[test]
fn copy_from_slice_is_an_explicit_copy() {
    let name = "buffer-test-copy-from-slice";
    let _site = ledger::enter_site(name);
    let b = BufferMut::copy_from_slice(&[1, 2, 3]).unwrap();
    assert_eq!(bytes_of(&b), [1, 2, 3]);
    let s = site(name);
    assert_eq!(s.reason(CopyReason::Explicit).bytes, 3);
    assert_eq!(s.allocations.count, 1);
}

#[test]
fn frozen_buffers_are_read_from_many_threads() {
    let (b, data) = split_buffer(&[16, 16, 16, 16], 1);
    let b = b.freeze();
    let data = Arc::new(data);
    let done = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let b = b.clone();
            let data = Arc::clone(&data);
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                assert_eq!(&*b.map_range(i, 1).unwrap(), &data[i * 16..i * 16 + 16]);
                assert_eq!(b.memcmp(0, &data).unwrap(), Ordering::Equal);
                done.fetch_add(1, AtomicOrdering::SeqCst);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(done.load(AtomicOrdering::SeqCst), 4);
    assert_eq!(b.ref_count(), 1);
    assert!(b.try_into_mut().is_ok());
}

// ---------------------------------------------------------------------------------------
// Property tests.

fn proptest_config() -> ProptestConfig {
    ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Memory sizes summing to anything up to ~64, with empty memories allowed.
fn sizes() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0..12usize, 0..8)
}

proptest! {
    #![proptest_config(proptest_config())]

    /// fill then extract round trips, whatever the split into memories, and matches a
    /// plain `Vec` model; memcmp agrees with the model.
    #[test]
    fn fill_extract_round_trip(
        sizes in sizes(),
        shared_mask in any::<u8>(),
        writes in proptest::collection::vec((0..80usize, proptest::collection::vec(any::<u8>(), 0..40)), 1..6),
        read_at in 0..80usize,
        read_len in 0..80usize,
    ) {
        let (b, mut model) = split_buffer(&sizes, 0);
        // Keep some memories shared elsewhere, so that writes copy on write.
        let keep: Vec<Memory> = b
            .memories()
            .iter()
            .enumerate()
            .filter(|(i, _)| shared_mask & (1 << (i % 8)) != 0)
            .map(|(_, m)| m.clone())
            .collect();
        let kept_bytes: Vec<Vec<u8>> =
            keep.iter().map(|m| m.map_read().unwrap().to_vec()).collect();
        let mut b = b;
        for (offset, data) in &writes {
            let n = b.fill(*offset, data).unwrap();
            let expect = data.len().min(model.len().saturating_sub(*offset));
            prop_assert_eq!(n, expect);
            let at = (*offset).min(model.len());
            model[at..at + n].copy_from_slice(&data[..n]);
        }
        prop_assert_eq!(b.n_memory(), sizes.len());
        prop_assert_eq!(bytes_of(&b), model.clone());
        let mut out = vec![0u8; read_len];
        let n = b.extract(read_at, &mut out).unwrap();
        let avail = read_len.min(model.len().saturating_sub(read_at));
        prop_assert_eq!(n, avail);
        if n > 0 {
            prop_assert_eq!(&out[..n], &model[read_at..read_at + n]);
        }
        match b.memcmp(read_at, &out[..n]) {
            Ok(ord) => {
                prop_assert!(read_at <= model.len());
                prop_assert_eq!(ord, Ordering::Equal);
            }
            Err(e) => {
                prop_assert!(read_at > model.len(), "memcmp failed: {e}");
                let is_range_err = matches!(e, BufferError::OutOfRange { .. });
                prop_assert!(is_range_err);
            }
        }
        if read_at + read_len > model.len() && read_len > n {
            let too_long = b.memcmp(read_at, &out);
            let is_range_err = matches!(too_long, Err(BufferError::OutOfRange { .. }));
            prop_assert!(is_range_err);
        }
        let map = b.map_read().unwrap();
        prop_assert_eq!(&*map, &model[..]);
        drop(map);
        // The memories kept elsewhere never saw the writes.
        for (m, bytes) in keep.iter().zip(&kept_bytes) {
            prop_assert_eq!(&*m.map_read().unwrap(), &bytes[..]);
        }
    }

    /// Resizing a buffer whose memories are adjacent windows of one region gives the
    /// windows of the model below, reads the region bytes of those windows, and on error
    /// changes nothing.
    #[test]
    fn resize_matches_a_model(
        prefix in 0..8usize,
        sizes in sizes(),
        padding in 0..8usize,
        steps in proptest::collection::vec((-30..30isize, 0..40usize), 1..6),
    ) {
        let total: usize = sizes.iter().sum();
        let region = pattern(prefix + total + padding, 1);
        let root = Memory::from_owner(region.clone());
        let mut b = BufferMut::new();
        let mut pos = prefix;
        for &s in &sizes {
            b.append_memory(root.share(pos, s).unwrap());
            pos += s;
        }
        drop(root);
        let mut model = windows(&b);
        for (offset, new_size) in steps {
            let res = b.resize(offset, new_size);
            match model_resize(&model, region.len(), offset, new_size) {
                Some(next) => {
                    prop_assert!(res.is_ok(), "{model:?} resize({offset}, {new_size}): {res:?}");
                    model = next;
                }
                None => {
                    let is_range_err = matches!(res, Err(BufferError::OutOfRange { .. }));
                    prop_assert!(is_range_err, "{model:?} resize({offset}, {new_size}) accepted");
                }
            }
            prop_assert_eq!(windows(&b), model.clone());
            let expect: Vec<u8> = model
                .iter()
                .flat_map(|&(o, s)| region[o..o + s].iter().copied())
                .collect();
            prop_assert_eq!(b.size(), expect.len());
            prop_assert_eq!(bytes_of(&b), expect);
        }
    }
}

/// GStreamer's `gst_buffer_resize_range` on memory windows `(offset, size)` of regions of
/// `maxsize` bytes, `None` where it refuses; one difference, as documented by penstock:
/// a memory emptied because the window starts after it keeps an empty window at its
/// old end (GStreamer moves it to its start).
fn model_resize(
    windows: &[(usize, usize)],
    maxsize: usize,
    offset: isize,
    size: usize,
) -> Option<Vec<(usize, usize)>> {
    let n = windows.len();
    if n == 0 {
        return (offset == 0 && size == 0).then(Vec::new);
    }
    let total: i128 = windows.iter().map(|w| w.1 as i128).sum();
    let bufoffs = windows[0].0 as i128;
    let (lo, ls) = windows[n - 1];
    let padding = (maxsize - lo - ls) as i128;
    let (offset_i, size_i) = (offset as i128, size as i128);
    if offset_i < -bufoffs || offset_i + size_i > total + padding {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    let mut off = offset_i;
    let mut left_size = size_i;
    for (i, &(o, s)) in windows.iter().enumerate() {
        let bsize = s as i128;
        let mut noffs = 0;
        let left = if i + 1 == n {
            left_size
        } else if bsize <= off {
            noffs = off - bsize;
            off = bsize;
            0
        } else {
            (bsize - off).min(left_size)
        };
        out.push(((o as i128 + off) as usize, left as usize));
        off = noffs;
        left_size -= left;
    }
    Some(out)
}
