//! Tests against the kernel's DMA-BUF exporters: `/dev/dma_heap/system` and
//! `/dev/udmabuf`. The development host has neither; the QEMU guest runner of the
//! project (Debian 6.12 kernel) has both.
//!
//! A test whose device is missing prints
//! `kernel-test NAME: not run on this kernel (no /dev/...)` and passes, unless
//! `PENSTOCK_REQUIRE_KERNEL=1` is set: then the absence fails the test (set it wherever
//! the kernel is meant to have them, as in the guest runner).

use std::os::fd::AsFd;
use std::sync::Arc;

use penstock::allocator::{AllocationParams, Allocator};
use penstock::drm::{DrmFormat, DrmFourcc};
use penstock::memory::{MemoryError, MemoryFlags, MemoryType};
use penstock::pool::AcquireParams;
use penstock::{BufferPool, PoolConfig};
use penstock_linux::{
    DmaBufImport, DmaHeapAllocator, LinuxError, MemfdAllocator, UdmabufAllocator, dmabuf, export_fd,
};
use penstock_video::{VideoFormat, VideoInfo, VideoPoolConfigExt};

const HEAP: &str = "/dev/dma_heap/system";
const UDMABUF: &str = "/dev/udmabuf";

fn kernel_has(name: &str, device: &str) -> bool {
    penstock_linux::kernel_test::kernel_has(name, &[device])
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add((i * 13) as u8))
        .collect()
}

#[test]
fn dma_heap_alloc_map_write_sync_read_back_through_a_second_import() {
    if !kernel_has(
        "dma_heap_alloc_map_write_sync_read_back_through_a_second_import",
        HEAP,
    ) {
        return;
    }
    let heap = DmaHeapAllocator::system().unwrap();
    assert_eq!(heap.name(), "dmaheap:system");
    assert_eq!(heap.memory_type(), "DMABuf");
    let formats = heap.drm_formats().unwrap();
    assert!(formats.contains(&DrmFormat::linear(DrmFourcc::Nv12)));
    assert!(formats.iter().all(DrmFormat::is_linear));

    let size = 1920 * 1080 * 3 / 2;
    let params = AllocationParams {
        prefix: 64,
        flags: MemoryFlags::ZERO_PREFIXED,
        ..AllocationParams::default()
    };
    let m = heap.alloc(size, &params).unwrap();
    assert_eq!(m.memory_type(), "DMABuf");
    assert_eq!((m.offset(), m.size()), (64, size));
    assert!(m.has_flags(MemoryFlags::ZERO_PREFIXED));
    assert!(
        m.map_read().unwrap().iter().all(|&b| b == 0),
        "heap pages are zeroed"
    );
    let data = pattern(size, 1);
    m.map_write().unwrap().copy_from_slice(&data);

    let (fd, offset) = m.fd().unwrap();
    assert!(dmabuf::is_dmabuf(fd));
    assert_eq!(offset, 64);
    let page = rustix::param::page_size();
    assert_eq!(
        dmabuf::dmabuf_size(fd).unwrap() as usize,
        (size + 64).div_ceil(page) * page
    );

    // A second import of a duplicate of the same DMA-BUF: its own mapping.
    let exported = export_fd(&m).unwrap();
    let second = dmabuf::import(exported.fd).unwrap();
    assert!(!second.same_region(&m));
    assert_eq!(second.memory_type(), "DMABuf");
    assert_eq!(&second.map_read().unwrap()[64..64 + size], &data[..]);
    // And the other way.
    second.map_write().unwrap()[64..68].copy_from_slice(b"back");
    assert_eq!(&m.map_read().unwrap()[..4], b"back");

    // Asking for more than the buffer holds is a typed error, never SIGBUS.
    let dup = penstock_linux::dup_fd(fd).unwrap();
    let e = dmabuf::import_with(
        dup,
        DmaBufImport {
            size: Some(second.size() + 1),
            ..DmaBufImport::default()
        },
    )
    .unwrap_err();
    assert!(matches!(e, LinuxError::OutOfBounds { .. }), "{e:?}");
}

#[test]
fn dma_heap_pool_reuses_its_dmabufs() {
    if !kernel_has("dma_heap_pool_reuses_its_dmabufs", HEAP) {
        return;
    }
    let info = VideoInfo::new(VideoFormat::Nv12, 640, 480).unwrap();
    let pool = BufferPool::new("heap-pool");
    pool.set_config(PoolConfig::video(info).min_max(2, 2).allocator(
        Arc::new(DmaHeapAllocator::system().unwrap()),
        AllocationParams::default(),
    ))
    .unwrap();
    pool.set_active(true).unwrap();
    for round in 0..4u8 {
        let mut buf = pool.acquire(AcquireParams::default()).unwrap();
        assert_eq!(buf.memory(0).unwrap().memory_type(), "DMABuf");
        buf.map_memory_write(0).unwrap().fill(round);
    }
    assert_eq!(pool.stats().allocated, 2);
}

#[test]
fn udmabuf_and_its_memfd_see_each_others_writes() {
    if !kernel_has("udmabuf_and_its_memfd_see_each_others_writes", UDMABUF) {
        return;
    }
    let udmabuf = UdmabufAllocator::new().unwrap();
    let page = rustix::param::page_size();
    let size = 3 * page;
    let memfd = MemfdAllocator::new()
        .allocate(size, &AllocationParams::default())
        .unwrap();
    let (memfd_fd, _) = memfd.fd().unwrap();
    let dma = udmabuf
        .wrap_memfd(penstock_linux::dup_fd(memfd_fd).unwrap(), 0, size)
        .unwrap();
    assert_eq!(dma.memory_type(), "DMABuf");
    let (dma_fd, _) = dma.fd().unwrap();
    assert!(dmabuf::is_dmabuf(dma_fd));
    assert_eq!(dmabuf::dmabuf_size(dma_fd).unwrap() as usize, size);

    // memfd -> udmabuf (through the udmabuf memory's mapping of the memfd).
    let a = pattern(size, 7);
    memfd.map_write().unwrap().copy_from_slice(&a);
    assert_eq!(&*dma.map_read().unwrap(), &a[..]);

    // memfd -> the DMA-BUF's own mapping (mmap of the udmabuf descriptor).
    let direct = dmabuf::import(export_fd(&dma).unwrap().fd).unwrap();
    assert_eq!(&*direct.map_read().unwrap(), &a[..]);

    // DMA-BUF mapping -> memfd.
    let b = pattern(size, 99);
    direct.map_write().unwrap().copy_from_slice(&b);
    assert_eq!(&*memfd.map_read().unwrap(), &b[..]);
    assert_eq!(&*dma.map_read().unwrap(), &b[..]);
}

#[test]
fn udmabuf_allocator_makes_windows_and_refuses_unsealed_memfds() {
    if !kernel_has(
        "udmabuf_allocator_makes_windows_and_refuses_unsealed_memfds",
        UDMABUF,
    ) {
        return;
    }
    let udmabuf = UdmabufAllocator::new().unwrap();
    assert!(
        udmabuf
            .drm_formats()
            .unwrap()
            .contains(&DrmFormat::linear(DrmFourcc::Yuv420))
    );
    let params = AllocationParams {
        prefix: 10,
        padding: 6,
        ..AllocationParams::default()
    };
    let m = udmabuf.alloc(5000, &params).unwrap();
    assert_eq!((m.offset(), m.size(), m.maxsize()), (10, 5000, 5016));
    assert_eq!(m.fd().unwrap().1, 10);
    m.map_write().unwrap().fill(0x3c);
    let direct = dmabuf::import(export_fd(&m).unwrap().fd).unwrap();
    assert!(
        direct.map_read().unwrap()[10..5010]
            .iter()
            .all(|&b| b == 0x3c)
    );

    let unsealed = rustix::fs::memfd_create(
        "unsealed",
        rustix::fs::MemfdFlags::CLOEXEC | rustix::fs::MemfdFlags::ALLOW_SEALING,
    )
    .unwrap();
    rustix::fs::ftruncate(&unsealed, 4096).unwrap();
    let e = udmabuf.wrap_memfd(unsealed, 0, 4096).unwrap_err();
    assert!(matches!(e, LinuxError::UnsealedMemfd { .. }), "{e:?}");
}

#[test]
fn non_linear_import_is_not_mappable() {
    if !kernel_has("non_linear_import_is_not_mappable", HEAP) {
        return;
    }
    let heap = DmaHeapAllocator::system().unwrap();
    let m = heap.alloc(8192, &AllocationParams::default()).unwrap();
    let fd = export_fd(&m).unwrap().fd;
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
    // NVIDIA 16Bx2 block-linear, say: any modifier but LINEAR.
    let tiled = dmabuf::import_with(
        fd,
        DmaBufImport {
            size: None,
            modifier: 0x0300_0000_0000_0010,
        },
    )
    .unwrap();
    assert!(tiled.has_flags(MemoryFlags::NOT_MAPPABLE));
    assert_eq!(tiled.size(), 8192);
    assert_eq!(tiled.memory_type(), "DMABuf");
    assert!(matches!(
        tiled.map_read(),
        Err(MemoryError::NotMappable {
            memory_type: MemoryType::DMABUF,
            ..
        })
    ));
    assert!(matches!(
        tiled.map_write(),
        Err(MemoryError::NotMappable { .. })
    ));
    // It is still a DMA-BUF memory that can be shared and exported.
    let (tfd, _) = tiled.fd().unwrap();
    assert_eq!(std::os::fd::AsRawFd::as_raw_fd(&tfd), raw);
    let plane = tiled.share(4096, 4096).unwrap();
    assert_eq!(plane.fd().unwrap().1, 4096);
    assert!(dmabuf::is_dmabuf(export_fd(&plane).unwrap().fd.as_fd()));
}
