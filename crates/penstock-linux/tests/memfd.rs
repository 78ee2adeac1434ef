//! memfd memories and the DMA-BUF import's refusals, on the host kernel (memfd is
//! everywhere; DMA-BUF exporters are not: see `kernel.rs` for those).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use penstock::allocator::{AllocationParams, Allocator};
use penstock::memory::{MemoryError, MemoryFlags, MemoryType};
use penstock::pool::AcquireParams;
use penstock::{BufferPool, Memory, PoolConfig};
use penstock_linux::{
    DmaBufImport, LinuxError, MEMFD_MEMORY_TYPE, MemfdAllocator, dmabuf, dup_fd, export_fd,
};
use penstock_video::{VideoFormat, VideoInfo, VideoPoolConfigExt};
use rustix::fs::{MemfdFlags, SealFlags};

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| seed.wrapping_add((i * 7) as u8)).collect()
}

fn fd_of(m: &Memory) -> (BorrowedFd<'_>, u64) {
    m.fd().expect("memfd memories have a descriptor")
}

/// A memfd of `len` bytes with `seals` (and sealing allowed).
fn memfd_with_seals(len: u64, seals: SealFlags) -> OwnedFd {
    let fd =
        rustix::fs::memfd_create("test", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).unwrap();
    rustix::fs::ftruncate(&fd, len).unwrap();
    if !seals.is_empty() {
        rustix::fs::fcntl_add_seals(&fd, seals).unwrap();
    }
    fd
}

#[test]
fn alloc_makes_a_sealed_mapped_memfd_with_prefix_and_padding() {
    let params = AllocationParams {
        prefix: 100,
        padding: 28,
        flags: MemoryFlags::ZERO_PREFIXED | MemoryFlags::ZERO_PADDED,
        ..AllocationParams::default()
    };
    let m = MemfdAllocator::new().alloc(1000, &params).unwrap();
    assert_eq!(m.memory_type(), MEMFD_MEMORY_TYPE);
    assert_eq!((m.offset(), m.size(), m.maxsize()), (100, 1000, 1128));
    assert!(m.has_flags(MemoryFlags::ZERO_PREFIXED | MemoryFlags::ZERO_PADDED));
    assert!(m.align() >= 4096, "regions start on a page: {}", m.align());
    assert!(m.map_read().unwrap().iter().all(|&b| b == 0));

    let (fd, offset) = fd_of(&m);
    assert_eq!(offset, 100, "fd offset is the window's offset in the file");
    let seals = rustix::fs::fcntl_get_seals(fd).unwrap();
    assert!(
        seals.contains(SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL),
        "{seals:?}"
    );
    assert_eq!(rustix::fs::fstat(fd).unwrap().st_size, 1128);
    // The seals hold: the file cannot be resized or resealed.
    assert!(rustix::fs::ftruncate(fd, 10).is_err());
    assert!(rustix::fs::ftruncate(fd, 1 << 20).is_err());
    assert!(rustix::fs::fcntl_add_seals(fd, SealFlags::WRITE).is_err());
    // Close-on-exec.
    let fl = rustix::io::fcntl_getfd(fd).unwrap();
    assert!(fl.contains(rustix::io::FdFlags::CLOEXEC));
}

#[test]
fn writes_through_the_map_reach_the_file() {
    let alloc = MemfdAllocator::new();
    let params = AllocationParams {
        prefix: 5000,
        ..AllocationParams::default()
    };
    let m = alloc.allocate(10_000, &params).unwrap();
    let data = pattern(10_000, 3);
    m.map_write().unwrap().copy_from_slice(&data);

    // pread on the descriptor.
    let (fd, offset) = fd_of(&m);
    let mut back = vec![0u8; 10_000];
    assert_eq!(rustix::io::pread(fd, &mut back, offset).unwrap(), 10_000);
    assert_eq!(back, data);

    // A second, independent mapping (an import of a duplicate, at an offset that is
    // not on a page boundary).
    let second = MemfdAllocator::import(dup_fd(fd).unwrap(), offset, 10_000).unwrap();
    assert!(!second.same_region(&m));
    assert_eq!(&*second.map_read().unwrap(), &data[..]);
    assert_eq!(second.fd().unwrap().1, 5000);

    // And back: a write through the second mapping is seen by the first.
    second.map_write().unwrap()[..4].copy_from_slice(b"abcd");
    assert_eq!(&m.map_read().unwrap()[..4], b"abcd");
}

#[test]
fn export_duplicates_the_descriptor_with_the_window() {
    let m = MemfdAllocator::new()
        .allocate(
            64,
            &AllocationParams {
                prefix: 16,
                ..AllocationParams::default()
            },
        )
        .unwrap();
    let sub = m.share(8, 32).unwrap();
    let e = export_fd(&sub).unwrap();
    let (fd, _) = fd_of(&m);
    assert_ne!(
        std::os::fd::AsRawFd::as_raw_fd(&e.fd),
        std::os::fd::AsRawFd::as_raw_fd(&fd)
    );
    let a = rustix::fs::fstat(&e.fd).unwrap();
    let b = rustix::fs::fstat(fd).unwrap();
    assert_eq!((a.st_dev, a.st_ino), (b.st_dev, b.st_ino), "same file");
    assert_eq!((e.offset, e.size), (24, 32));
    drop(m);
    drop(sub);
    // The export outlives the memory: the file is still there.
    assert_eq!(rustix::fs::fstat(&e.fd).unwrap().st_size, 80);

    let system = Memory::new_system(16).unwrap();
    let err = export_fd(&system).unwrap_err();
    assert!(
        matches!(
            err,
            LinuxError::NoFd {
                memory_type: MemoryType::SYSTEM
            }
        ),
        "{err:?}"
    );
}

#[test]
fn import_of_an_unsealed_memfd_is_refused_with_its_seals() {
    let fd = memfd_with_seals(4096, SealFlags::empty());
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
    let e = MemfdAllocator::import(fd, 0, 4096).unwrap_err();
    let LinuxError::UnsealedMemfd { what, seals } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(what, &format!("file descriptor {raw}"));
    assert_eq!(seals, "none");
    assert!(e.to_string().contains("F_SEAL_SHRINK"), "{e}");

    // Sealed, but not against shrinking.
    let fd = memfd_with_seals(4096, SealFlags::GROW | SealFlags::SEAL);
    let e = MemfdAllocator::import(fd, 0, 4096).unwrap_err();
    assert!(
        matches!(&e, LinuxError::UnsealedMemfd { seals, .. } if seals == "F_SEAL_SEAL | F_SEAL_GROW"),
        "{e:?}"
    );

    // A file that cannot be sealed at all.
    let proc_file: OwnedFd = std::fs::File::open("/proc/self/status").unwrap().into();
    let e = MemfdAllocator::import(proc_file, 0, 1).unwrap_err();
    assert!(
        matches!(&e, LinuxError::UnsealedMemfd { seals, .. } if seals.contains("does not support sealing")),
        "{e:?}"
    );
    // A plain file: unsealable, or (on tmpfs) sealed with F_SEAL_SEAL only.
    let path = std::env::temp_dir().join(format!("penstock-unsealed-{}", std::process::id()));
    std::fs::write(&path, [0u8; 4096]).unwrap();
    let file: OwnedFd = std::fs::File::open(&path).unwrap().into();
    std::fs::remove_file(&path).unwrap();
    let e = MemfdAllocator::import(file, 0, 4096).unwrap_err();
    assert!(
        matches!(&e, LinuxError::UnsealedMemfd { seals, .. }
            if seals.contains("does not support sealing") || seals == "F_SEAL_SEAL"),
        "{e:?}"
    );
}

#[test]
fn import_beyond_the_file_is_an_error_not_sigbus() {
    let fd = memfd_with_seals(8192, SealFlags::SHRINK);
    let dup = dup_fd(fd.as_fd()).unwrap();
    let e = MemfdAllocator::import(dup, 4096, 4097).unwrap_err();
    assert!(
        matches!(
            e,
            LinuxError::OutOfBounds {
                offset: 4096,
                size: 4097,
                file_size: 8192,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("8192 bytes"), "{e}");
    let dup = dup_fd(fd.as_fd()).unwrap();
    assert!(matches!(
        MemfdAllocator::import(dup, u64::MAX, 2),
        Err(LinuxError::OutOfBounds { .. })
    ));
    let dup = dup_fd(fd.as_fd()).unwrap();
    assert!(matches!(
        MemfdAllocator::import(dup, 0, 0),
        Err(LinuxError::BadSize { .. })
    ));
    // The whole file, exactly, is fine.
    let m = MemfdAllocator::import(fd, 0, 8192).unwrap();
    assert_eq!(m.size(), 8192);
}

#[test]
fn import_of_a_write_sealed_or_read_only_memfd_is_readonly() {
    let fd = memfd_with_seals(4096, SealFlags::SHRINK | SealFlags::WRITE);
    let m = MemfdAllocator::import(fd, 0, 4096).unwrap();
    assert!(m.has_flags(MemoryFlags::READONLY));
    assert!(matches!(m.map_write(), Err(MemoryError::ReadOnly)));
    assert_eq!(m.map_read().unwrap().len(), 4096);

    let writable = MemfdAllocator::new()
        .allocate(4096, &Default::default())
        .unwrap();
    writable.map_write().unwrap()[0] = 42;
    let (fd, _) = fd_of(&writable);
    let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd));
    let ro: OwnedFd = std::fs::File::open(path).unwrap().into();
    let m = MemfdAllocator::import(ro, 0, 4096).unwrap();
    assert!(m.has_flags(MemoryFlags::READONLY));
    assert_eq!(m.map_read().unwrap()[0], 42);
}

#[test]
fn allocator_trait_errors_and_formats() {
    let alloc: Arc<dyn Allocator> = Arc::new(MemfdAllocator::new());
    assert_eq!(alloc.name(), "memfd");
    assert_eq!(alloc.memory_type(), "memfd");
    assert!(alloc.drm_formats().is_none(), "memfd is not a DMA-BUF");
    let e = alloc.alloc(0, &AllocationParams::default()).unwrap_err();
    assert!(
        matches!(&e, MemoryError::AllocFailed { size: 0, .. }),
        "{e:?}"
    );
    // The message is the Linux error's, and the Linux error itself is the source.
    assert!(
        e.to_string()
            .starts_with("allocating 0 bytes failed: memfd"),
        "{e}"
    );
    let source = std::error::Error::source(&e).expect("the Linux error is kept");
    let linux = source
        .downcast_ref::<LinuxError>()
        .expect("the source is the LinuxError");
    assert!(
        matches!(linux, LinuxError::BadSize { size: 0, .. }),
        "{linux:?}"
    );
    assert_eq!(e.to_string(), format!("allocating 0 bytes failed: {linux}"));
    let huge = AllocationParams::aligned_to(1 << 16).unwrap();
    let e = alloc.alloc(10, &huge).unwrap_err();
    assert!(e.to_string().contains("page size"), "{e}");
}

#[test]
fn a_pool_of_memfd_buffers_reuses_them() {
    let info = VideoInfo::new(VideoFormat::Nv12, 320, 240).unwrap();
    let pool = BufferPool::new("memfd-pool");
    pool.set_config(
        PoolConfig::video(info)
            .min_max(2, 2)
            .allocator(Arc::new(MemfdAllocator::new()), AllocationParams::default()),
    )
    .unwrap();
    pool.set_active(true).unwrap();
    let first_fd;
    {
        let mut buf = pool.acquire(AcquireParams::default()).unwrap();
        let m = buf.memory(0).unwrap();
        assert_eq!(m.memory_type(), "memfd");
        assert_eq!(m.size(), 320 * 240 * 3 / 2);
        first_fd = rustix::fs::fstat(m.fd().unwrap().0).unwrap().st_ino;
        buf.map_memory_write(0).unwrap()[0] = 1;
    }
    let a = pool.acquire(AcquireParams::default()).unwrap();
    let b = pool.acquire(AcquireParams::default()).unwrap();
    let inodes: Vec<u64> = [&a, &b]
        .iter()
        .map(|buf| {
            rustix::fs::fstat(buf.memory(0).unwrap().fd().unwrap().0)
                .unwrap()
                .st_ino
        })
        .collect();
    assert!(
        inodes.contains(&first_fd),
        "the buffer came back: {inodes:?}"
    );
    assert_eq!(pool.stats().allocated, 2);
}

#[test]
fn dmabuf_import_refuses_what_is_not_a_dmabuf() {
    let m = MemfdAllocator::new()
        .allocate(4096, &Default::default())
        .unwrap();
    let fd = dup_fd(m.fd().unwrap().0).unwrap();
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
    assert!(!dmabuf::is_dmabuf(fd.as_fd()));
    let e = dmabuf::import(fd).unwrap_err();
    let LinuxError::NotDmaBuf { what, is } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(what, &format!("file descriptor {raw}"));
    assert_eq!(is, "a regular file on tmpfs (a memfd or shared memory?)");

    let (sock, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
    let e = dmabuf::import_with(
        OwnedFd::from(sock),
        DmaBufImport {
            size: Some(1),
            ..DmaBufImport::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(&e, LinuxError::NotDmaBuf { is, .. } if is == "a socket on sockfs"),
        "{e:?}"
    );
    assert!(e.to_string().contains("is not a DMA-BUF"), "{e}");
}
