//! The DMA-BUF ioctls: `DMA_BUF_IOCTL_SYNC` (CPU access window), `DMA_HEAP_IOCTL_ALLOC`
//! (`/dev/dma_heap/*`) and `UDMABUF_CREATE` (`/dev/udmabuf`). Structures and numbers are
//! those of the kernel's uapi headers `linux/dma-buf.h`, `linux/dma-heap.h` and
//! `linux/udmabuf.h`.
//!
//! # Safety
//!
//! Each ioctl is issued through `rustix::ioctl` with the opcode the kernel header
//! defines for it and a `#[repr(C)]` structure with the header's layout (checked by size
//! assertions below), so the kernel reads and writes exactly that structure and nothing
//! else of this process. The two ioctls that create a file descriptor hand back a fresh
//! descriptor that nothing else owns; it is wrapped in an [`OwnedFd`] at once.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use rustix::fs::OFlags;
use rustix::io::Errno;
use rustix::ioctl::{Ioctl, IoctlOutput, Opcode, Setter, Updater, opcode};

/// `DMA_BUF_MAGIC`: the `f_type` that `fstatfs(2)` reports for a DMA-BUF descriptor.
pub const DMA_BUF_MAGIC: u64 = 0x444d_4142;

bitflags::bitflags! {
    /// The flags of `DMA_BUF_IOCTL_SYNC` (`struct dma_buf_sync`, `linux/dma-buf.h`): the
    /// access (`READ`, `WRITE`, both) and whether the CPU access window opens
    /// ([`DmaBufSyncFlags::START`], no bit) or closes (`END`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct DmaBufSyncFlags: u64 {
        /// `DMA_BUF_SYNC_READ`: the CPU reads.
        const READ = 1;
        /// `DMA_BUF_SYNC_WRITE`: the CPU writes.
        const WRITE = 1 << 1;
        /// `DMA_BUF_SYNC_RW`: the CPU reads and writes.
        const RW = Self::READ.bits() | Self::WRITE.bits();
        /// `DMA_BUF_SYNC_END`: the CPU access window closes.
        const END = 1 << 2;
    }
}

impl DmaBufSyncFlags {
    /// `DMA_BUF_SYNC_START` (0, no bit): the CPU access window opens. Kept out of the
    /// flag set because a zero flag is contained in every value.
    pub const START: DmaBufSyncFlags = DmaBufSyncFlags::empty();
}

/// `UDMABUF_FLAGS_CLOEXEC`.
const UDMABUF_FLAGS_CLOEXEC: u32 = 0x01;

/// `struct dma_buf_sync`.
#[repr(C)]
struct DmaBufSync {
    flags: u64,
}

/// `struct dma_heap_allocation_data`.
#[repr(C)]
struct DmaHeapAllocationData {
    len: u64,
    fd: u32,
    fd_flags: u32,
    heap_flags: u64,
}

/// `struct udmabuf_create`.
#[repr(C)]
struct UdmabufCreate {
    memfd: u32,
    flags: u32,
    offset: u64,
    size: u64,
}

const _: () = assert!(size_of::<DmaBufSync>() == 8);
const _: () = assert!(size_of::<DmaHeapAllocationData>() == 24);
const _: () = assert!(size_of::<UdmabufCreate>() == 24);

/// `DMA_BUF_IOCTL_SYNC = _IOW('b', 0, struct dma_buf_sync)`.
const DMA_BUF_IOCTL_SYNC: Opcode = opcode::write::<DmaBufSync>(b'b', 0);
/// `DMA_HEAP_IOCTL_ALLOC = _IOWR('H', 0, struct dma_heap_allocation_data)`.
const DMA_HEAP_IOCTL_ALLOC: Opcode = opcode::read_write::<DmaHeapAllocationData>(b'H', 0);
/// `UDMABUF_CREATE = _IOW('u', 0x42, struct udmabuf_create)`.
const UDMABUF_CREATE: Opcode = opcode::write::<UdmabufCreate>(b'u', 0x42);

/// `DMA_BUF_IOCTL_SYNC` with `flags` (`START` or `END`, with `READ`, `WRITE` or `RW`),
/// retried when interrupted by a signal (`EINTR`) or while
/// fences are still pending (`EAGAIN`).
///
/// # Errors
/// `ENOTTY` when `fd` is not a DMA-BUF, `EINVAL` for bad flags, or the exporter's error.
pub fn sync(fd: BorrowedFd<'_>, flags: DmaBufSyncFlags) -> io::Result<()> {
    let flags = flags.bits();
    loop {
        // SAFETY: the opcode is DMA_BUF_IOCTL_SYNC and the input is a `struct
        // dma_buf_sync` (module docs); the kernel only reads it.
        let call = unsafe { Setter::<DMA_BUF_IOCTL_SYNC, DmaBufSync>::new(DmaBufSync { flags }) };
        // SAFETY: as above.
        match unsafe { rustix::ioctl::ioctl(fd, call) } {
            Err(Errno::INTR | Errno::AGAIN) => continue,
            other => return other.map_err(io::Error::from),
        }
    }
}

/// `DMA_HEAP_IOCTL_ALLOC` of `len` bytes from the heap open on `heap`: a new DMA-BUF
/// open `O_RDWR | O_CLOEXEC`.
///
/// # Errors
/// `ENOMEM` when the heap is exhausted, `EINVAL` for a zero or too large `len`,
/// `ENOTTY` when `heap` is not a DMA-BUF heap.
pub fn heap_alloc(heap: BorrowedFd<'_>, len: u64) -> io::Result<OwnedFd> {
    let mut data = DmaHeapAllocationData {
        len,
        fd: 0,
        fd_flags: (OFlags::RDWR | OFlags::CLOEXEC).bits(),
        heap_flags: 0,
    };
    // SAFETY: the opcode is DMA_HEAP_IOCTL_ALLOC and `data` is a `struct
    // dma_heap_allocation_data` (module docs), which the kernel reads and fills in.
    let call = unsafe { Updater::<DMA_HEAP_IOCTL_ALLOC, DmaHeapAllocationData>::new(&mut data) };
    // SAFETY: as above.
    unsafe { rustix::ioctl::ioctl(heap, call) }?;
    let raw = i32::try_from(data.fd)
        .map_err(|_| io::Error::other(format!("the heap returned fd {}", data.fd)))?;
    // SAFETY: the ioctl succeeded, so `data.fd` is a new descriptor installed for this
    // process that nothing else owns (module docs).
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// The `UDMABUF_CREATE` call: its result is the new descriptor.
struct CreateUdmabuf(UdmabufCreate);

// SAFETY: the opcode is UDMABUF_CREATE, the pointer is that of a `struct
// udmabuf_create` owned by `self` (the kernel only reads it), and the output is the
// ioctl's return value, which on success is a new descriptor that nothing else owns.
unsafe impl Ioctl for CreateUdmabuf {
    type Output = OwnedFd;
    const IS_MUTATING: bool = false;

    fn opcode(&self) -> Opcode {
        UDMABUF_CREATE
    }

    fn as_ptr(&mut self) -> *mut c_void {
        (&raw mut self.0).cast::<c_void>()
    }

    unsafe fn output_from_ptr(out: IoctlOutput, _: *mut c_void) -> rustix::io::Result<OwnedFd> {
        // SAFETY: rustix calls this only for a successful ioctl, whose return value is
        // the new descriptor (see the impl's SAFETY comment).
        Ok(unsafe { OwnedFd::from_raw_fd(out) })
    }
}

/// `UDMABUF_CREATE` on `/dev/udmabuf` (open on `dev`): a DMA-BUF of bytes
/// `offset..offset+size` of `memfd`, open with `O_CLOEXEC`. Both must be multiples of
/// the page size and the memfd must be sealed against shrinking (and not against
/// writes).
///
/// # Errors
/// `EINVAL` for unaligned ranges or a memfd without `F_SEAL_SHRINK`, `EBADFD` when
/// `memfd` is not a memfd, `E2BIG` beyond the `size_limit_mb` module parameter.
pub fn udmabuf_create(
    dev: BorrowedFd<'_>,
    memfd: BorrowedFd<'_>,
    offset: u64,
    size: u64,
) -> io::Result<OwnedFd> {
    let raw = u32::try_from(memfd.as_raw_fd()).map_err(|_| io::Error::from(Errno::BADF))?;
    let call = CreateUdmabuf(UdmabufCreate {
        memfd: raw,
        flags: UDMABUF_FLAGS_CLOEXEC,
        offset,
        size,
    });
    // SAFETY: see the `Ioctl` impl of `CreateUdmabuf`.
    Ok(unsafe { rustix::ioctl::ioctl(dev, call) }?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcodes_match_the_kernel_headers() {
        // Values as the C macros expand on x86_64 and aarch64.
        assert_eq!(DMA_BUF_IOCTL_SYNC as u64, 0x4008_6200);
        assert_eq!(DMA_HEAP_IOCTL_ALLOC as u64, 0xc018_4800);
        assert_eq!(UDMABUF_CREATE as u64, 0x4018_7542);
    }

    #[test]
    fn sync_on_a_non_dmabuf_is_an_error() {
        let f = std::fs::File::open("/proc/self/status").unwrap();
        let e = sync(
            std::os::fd::AsFd::as_fd(&f),
            DmaBufSyncFlags::START | DmaBufSyncFlags::READ,
        )
        .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(Errno::NOTTY.raw_os_error()));
    }

    #[test]
    fn sync_flags_are_the_kernel_values() {
        // linux/dma-buf.h: READ 1, WRITE 2, RW 3, START 0, END 4.
        assert_eq!(DmaBufSyncFlags::READ.bits(), 1);
        assert_eq!(DmaBufSyncFlags::WRITE.bits(), 2);
        assert_eq!(DmaBufSyncFlags::RW.bits(), 3);
        assert_eq!(DmaBufSyncFlags::START.bits(), 0);
        assert_eq!(DmaBufSyncFlags::END.bits(), 4);
        assert_eq!(
            (DmaBufSyncFlags::END | DmaBufSyncFlags::RW).bits(),
            DmaBufSyncFlags::all().bits()
        );
    }
}
