//! Integration tests of `BufferMut::from_chunks`: frames that arrive as externally owned
//! chunks (Spice / RDP style) become one memory per chunk without copies; only rows that
//! straddle two chunks are copied; the release callback runs exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use penstock::buffer::BufferError;
use penstock::ledger::{self, CopyReason, SiteTotals};
use penstock::memory::MemoryFlags;
use penstock::{BufferMut, BufferRef};
use proptest::prelude::*;

fn site(name: &str) -> SiteTotals {
    ledger::snapshot().site(name)
}

fn counter() -> (Arc<AtomicUsize>, impl FnOnce() + Send + 'static) {
    let released = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&released);
    (released, move || {
        r.fetch_add(1, Ordering::SeqCst);
    })
}

fn count(c: &AtomicUsize) -> usize {
    c.load(Ordering::SeqCst)
}

/// Chunks of the given sizes holding consecutive bytes.
fn chunks(sizes: &[usize]) -> (Vec<Vec<u8>>, Vec<u8>) {
    let total: usize = sizes.iter().sum();
    let all: Vec<u8> = (0..total).map(|i| (i * 7 + 3) as u8).collect();
    let mut out = Vec::new();
    let mut pos = 0;
    for &s in sizes {
        out.push(all[pos..pos + s].to_vec());
        pos += s;
    }
    (out, all)
}

fn bytes_of(b: &BufferRef) -> Vec<u8> {
    let mut out = vec![0; b.size()];
    assert_eq!(b.extract(0, &mut out).unwrap(), b.size());
    out
}

fn addr(b: &BufferRef, idx: usize) -> usize {
    b.memory(idx).unwrap().map_read().unwrap().as_ptr() as usize
}

#[test]
fn whole_row_chunks_become_memories_without_copies() {
    let name = "chunks-test-whole-rows";
    let _site = ledger::enter_site(name);
    let stride = 16;
    let (parts, all) = chunks(&[32, 64, 16, 80]);
    let addrs: Vec<usize> = parts.iter().map(|c| c.as_ptr() as usize).collect();
    let (released, release) = counter();
    let b = BufferMut::from_chunks(parts, stride, 192, release).unwrap();
    assert_eq!(b.n_memory(), 4);
    assert_eq!(b.size(), 192);
    assert_eq!(bytes_of(&b), all);
    for (i, &a) in addrs.iter().enumerate() {
        assert_eq!(addr(&b, i), a, "memory {i} is the chunk itself");
        let m = b.memory(i).unwrap();
        assert!(m.has_flags(MemoryFlags::READONLY));
        assert_eq!(m.size() % stride, 0);
    }
    let s = site(name);
    assert_eq!(s.copies.count, 0);
    assert_eq!(s.allocations.count, 0);

    // Release waits for the last memory, clones and shares included.
    let keep = b.memory(2).unwrap().clone();
    let sub = b.memory(3).unwrap().share(16, 16).unwrap();
    let frozen = b.freeze();
    let tee = frozen.clone();
    drop(frozen);
    assert_eq!(count(&released), 0);
    drop(tee);
    assert_eq!(count(&released), 0);
    drop(keep);
    assert_eq!(count(&released), 0);
    assert_eq!(&*sub.map_read().unwrap(), &all[112 + 16..112 + 32]);
    drop(sub);
    assert_eq!(count(&released), 1);
}

#[test]
fn a_padded_chunk_costs_one_row() {
    let name = "chunks-test-padded";
    let _site = ledger::enter_site(name);
    let stride = 16;
    // 24 = one row and a half; the row continues in the next chunk.
    let (parts, all) = chunks(&[24, 40]);
    let second = parts[1].as_ptr() as usize;
    let (released, release) = counter();
    let b = BufferMut::from_chunks(parts, stride, 64, release).unwrap();
    assert_eq!(bytes_of(&b), all);
    let sizes: Vec<usize> = b.memories().iter().map(|m| m.size()).collect();
    assert_eq!(sizes, [16, 16, 32]);
    // The whole rows of the second chunk are used in place, after the straddling bytes.
    assert_eq!(addr(&b, 2), second + 8);
    let s = site(name);
    assert_eq!(s.reason(CopyReason::PaddedChunk).count, 1);
    assert_eq!(s.reason(CopyReason::PaddedChunk).bytes, stride as u64);
    assert_eq!(s.copies.count, 1);
    drop(b);
    assert_eq!(count(&released), 1);
}

#[test]
fn padded_chunks_in_a_row() {
    let name = "chunks-test-padded-many";
    let _site = ledger::enter_site(name);
    let stride = 10;
    let (parts, all) = chunks(&[15, 15, 15, 15]);
    let (released, release) = counter();
    let b = BufferMut::from_chunks(parts, stride, 60, release).unwrap();
    assert_eq!(bytes_of(&b), all);
    assert!(b.memories().iter().all(|m| m.size() == stride));
    assert_eq!(b.n_memory(), 6);
    let s = site(name);
    assert_eq!(s.reason(CopyReason::PaddedChunk).count, 2);
    assert_eq!(s.reason(CopyReason::PaddedChunk).bytes, 20);
    drop(b);
    assert_eq!(count(&released), 1);
}

#[test]
fn chunks_smaller_than_a_row() {
    let name = "chunks-test-tiny";
    let _site = ledger::enter_site(name);
    let (parts, all) = chunks(&[3, 3, 3, 3, 4]);
    let (released, release) = counter();
    let b = BufferMut::from_chunks(parts, 8, 16, release).unwrap();
    assert_eq!(bytes_of(&b), all);
    assert_eq!(b.n_memory(), 2);
    assert_eq!(site(name).reason(CopyReason::PaddedChunk).bytes, 16);
    // Every byte was copied, so no memory refers to a chunk any more.
    assert_eq!(count(&released), 1);
    drop(b);
    assert_eq!(count(&released), 1);
}

#[test]
fn bytes_past_the_frame_are_ignored() {
    let name = "chunks-test-truncate";
    let _site = ledger::enter_site(name);
    let (parts, all) = chunks(&[24, 50, 10]);
    let (released, release) = counter();
    let b = BufferMut::from_chunks(parts, 16, 64, release).unwrap();
    assert_eq!(b.size(), 64);
    assert_eq!(bytes_of(&b), all[..64]);
    assert_eq!(site(name).reason(CopyReason::PaddedChunk).bytes, 16);
    drop(b);
    assert_eq!(count(&released), 1);

    // A frame that is not a whole number of rows: the last partial row is kept as is.
    let (parts, all) = chunks(&[20]);
    let (released, release) = counter();
    let b = BufferMut::from_chunks(parts, 8, 20, release).unwrap();
    assert_eq!(b.n_memory(), 1);
    assert_eq!(bytes_of(&b), all);
    let (parts2, all2) = chunks(&[12, 8]);
    let (released2, release2) = counter();
    let b2 = BufferMut::from_chunks(parts2, 8, 20, release2).unwrap();
    assert_eq!(bytes_of(&b2), all2);
    drop((b, b2));
    assert_eq!((count(&released), count(&released2)), (1, 1));
}

#[test]
fn too_few_bytes_is_an_error_and_still_releases_once() {
    let (parts, _) = chunks(&[16, 8]);
    let (released, release) = counter();
    match BufferMut::from_chunks(parts, 16, 48, release) {
        Err(e @ BufferError::Chunks(_)) => {
            let text = e.to_string();
            assert!(text.contains("24") && text.contains("48"), "{text}");
        }
        other => panic!("expected Chunks, got {other:?}"),
    }
    assert_eq!(count(&released), 1);

    // Ending inside a straddling row.
    let (parts, _) = chunks(&[24, 4]);
    let (released, release) = counter();
    assert!(matches!(
        BufferMut::from_chunks(parts, 16, 64, release),
        Err(BufferError::Chunks(_))
    ));
    assert_eq!(count(&released), 1);

    // No chunks at all.
    let (released, release) = counter();
    assert!(matches!(
        BufferMut::from_chunks(Vec::<Vec<u8>>::new(), 16, 16, release),
        Err(BufferError::Chunks(_))
    ));
    assert_eq!(count(&released), 1);
}

#[test]
fn stride_zero_is_an_error() {
    let (parts, _) = chunks(&[16]);
    let (released, release) = counter();
    match BufferMut::from_chunks(parts, 0, 16, release) {
        Err(BufferError::Chunks(why)) => assert!(why.contains("stride"), "{why}"),
        other => panic!("expected Chunks, got {other:?}"),
    }
    assert_eq!(count(&released), 1);
}

#[test]
fn empty_frames_release_at_once() {
    let (parts, _) = chunks(&[16, 16]);
    let (released, release) = counter();
    let b = BufferMut::from_chunks(parts, 16, 0, release).unwrap();
    assert_eq!(b.size(), 0);
    assert_eq!(b.n_memory(), 0);
    assert_eq!(count(&released), 1, "no memory refers to the chunks");

    let (released, release) = counter();
    let b = BufferMut::from_chunks(Vec::<Vec<u8>>::new(), 4, 0, release).unwrap();
    assert_eq!(b.size(), 0);
    assert_eq!(count(&released), 1);

    // Empty chunks between full ones contribute nothing.
    let (parts, all) = chunks(&[0, 16, 0, 16, 0]);
    let (released, release) = counter();
    let b = BufferMut::from_chunks(parts, 16, 32, release).unwrap();
    assert_eq!(b.n_memory(), 2);
    assert_eq!(bytes_of(&b), all);
    drop(b);
    assert_eq!(count(&released), 1);
}

#[test]
fn other_chunk_types() {
    static FRAME: [u8; 32] = [5; 32];
    let (released, release) = counter();
    let parts: Vec<&'static [u8]> = vec![&FRAME[..16], &FRAME[16..]];
    let b = BufferMut::from_chunks(parts, 8, 32, release).unwrap();
    assert_eq!(addr(&b, 0), FRAME.as_ptr() as usize);
    assert_eq!(bytes_of(&b), FRAME);
    drop(b);
    assert_eq!(count(&released), 1);

    let (released, release) = counter();
    let parts: Vec<Arc<[u8]>> = vec![Arc::from(vec![1u8; 8]), Arc::from(vec![2u8; 8])];
    let keep = Arc::clone(&parts[0]);
    let b = BufferMut::from_chunks(parts, 8, 16, release).unwrap();
    assert_eq!(bytes_of(&b), [[1u8; 8], [2u8; 8]].concat());
    drop(b);
    assert_eq!(count(&released), 1);
    assert_eq!(
        Arc::strong_count(&keep),
        1,
        "the chunks themselves were dropped"
    );
}

#[test]
fn writing_a_chunk_copies_it_and_release_follows_the_last_chunk_memory() {
    let name = "chunks-test-cow";
    let _site = ledger::enter_site(name);
    let (parts, all) = chunks(&[16, 16]);
    let (released, release) = counter();
    let mut b = BufferMut::from_chunks(parts, 16, 32, release).unwrap();
    // Chunks are READONLY: writing copies (cow), the chunk memory is dropped.
    b.fill(0, &[0xFF]).unwrap();
    assert_eq!(site(name).reason(CopyReason::Cow).bytes, 16);
    assert_eq!(count(&released), 0, "chunk 2 is still in use");
    b.fill(16, &[0xFF]).unwrap();
    assert_eq!(count(&released), 1, "no memory refers to a chunk any more");
    let mut expect = all.clone();
    expect[0] = 0xFF;
    expect[16] = 0xFF;
    assert_eq!(bytes_of(&b), expect);
    drop(b);
    assert_eq!(count(&released), 1);
}

#[test]
fn release_runs_on_the_thread_that_drops_last() {
    let (parts, _) = chunks(&[8, 8]);
    let released_on = Arc::new(std::sync::Mutex::new(None));
    let r = Arc::clone(&released_on);
    let b = BufferMut::from_chunks(parts, 8, 16, move || {
        *r.lock().unwrap() = Some(std::thread::current().id());
    })
    .unwrap()
    .freeze();
    let tee = b.clone();
    let t = std::thread::spawn(move || {
        drop(tee);
        std::thread::current().id()
    });
    drop(b);
    let other = t.join().unwrap();
    let on = released_on.lock().unwrap().expect("released");
    assert!(on == other || on == std::thread::current().id());
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

    /// Any split of a frame: the bytes come through, each memory holds whole rows (the
    /// frame's last partial row aside), only straddling rows are copied, and release runs
    /// once, after the last memory.
    #[test]
    fn any_split_of_a_frame(
        sizes in proptest::collection::vec(0..40usize, 0..8),
        stride in 1..12usize,
        cut in 0..50usize,
    ) {
        let name = "chunks-test-prop";
        let _site = ledger::enter_site(name);
        let (parts, all) = chunks(&sizes);
        let total = all.len();
        let frame = total.saturating_sub(cut % (total + 1));
        let before = site(name);
        let (released, release) = counter();
        let b = BufferMut::from_chunks(parts, stride, frame, release).unwrap();
        prop_assert_eq!(bytes_of(&b), all[..frame].to_vec());
        let mut pos = 0;
        for m in b.memories() {
            pos += m.size();
            prop_assert!(m.size() % stride == 0 || pos == frame, "{} of {}", m.size(), frame);
        }
        // Rows with a chunk boundary strictly inside them.
        let mut bounds = Vec::new();
        let mut p = 0;
        for &s in &sizes {
            p += s;
            bounds.push(p);
        }
        let (mut n, mut bytes) = (0u64, 0u64);
        let mut row = 0;
        while row < frame {
            let end = (row + stride).min(frame);
            if bounds.iter().any(|&x| x > row && x < end) {
                n += 1;
                bytes += (end - row) as u64;
            }
            row = end;
        }
        let after = site(name);
        let padded = after.reason(CopyReason::PaddedChunk);
        let padded_before = before.reason(CopyReason::PaddedChunk);
        prop_assert_eq!(padded.count - padded_before.count, n);
        prop_assert_eq!(padded.bytes - padded_before.bytes, bytes);
        prop_assert_eq!(after.copies.count - before.copies.count, n);
        prop_assert!(count(&released) <= 1);
        drop(b);
        prop_assert_eq!(count(&released), 1);

        // Too short a frame: an error, released once.
        let (parts, _) = chunks(&sizes);
        let (released, release) = counter();
        let res = BufferMut::from_chunks(parts, stride, total + 1, release);
        let is_chunks_err = matches!(res, Err(BufferError::Chunks(_)));
        prop_assert!(is_chunks_err);
        prop_assert_eq!(count(&released), 1);
    }
}
