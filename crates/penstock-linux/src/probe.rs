//! [`probe`]: what this kernel offers penstock's memory, found by trying it: memfd with
//! sealing, the DMA-BUF heaps (each asked for one page), udmabuf, and the V4L2 device
//! nodes (listed only).

use std::path::{Path, PathBuf};

use penstock::allocator::AllocationParams;

use crate::dma_heap::{DMA_HEAP_DIR, DmaHeapAllocator, available_heaps};
use crate::memfd::{MEMFD_SEALS, MemfdAllocator};
use crate::udmabuf::{UDMABUF_PATH, UdmabufAllocator};

/// What [`probe`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The page size, the granularity of every mapping.
    pub page_size: usize,
    /// memfd support.
    pub memfd: MemfdProbe,
    /// The entries of `/dev/dma_heap`, sorted by name (empty without heaps).
    pub dma_heaps: Vec<HeapProbe>,
    /// `/dev/udmabuf`.
    pub udmabuf: UdmabufProbe,
    /// The `/dev/video*` nodes, in numeric order.
    pub video_devices: Vec<PathBuf>,
}

/// memfd: whether a sealed memfd could be made, mapped, written and read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemfdProbe {
    /// A memfd memory was allocated, written through its mapping, and the bytes were
    /// read back with `pread` on its descriptor.
    pub works: bool,
    /// It carried `F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL`.
    pub sealing: bool,
    /// Why not, when it does not work.
    pub error: Option<String>,
}

/// One DMA-BUF heap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeapProbe {
    /// Its name (`system`).
    pub name: String,
    /// Its device node.
    pub path: PathBuf,
    /// One page was allocated, mapped and written (with the sync ioctls).
    pub alloc_works: bool,
    /// Why not.
    pub error: Option<String>,
}

/// udmabuf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdmabufProbe {
    /// `/dev/udmabuf` exists.
    pub present: bool,
    /// A one-page DMA-BUF was made from a memfd, mapped and written.
    pub works: bool,
    /// Why not, when present but not working.
    pub error: Option<String>,
}

/// Allocates one page with `alloc`, writes it through a map and checks it.
fn try_page(
    alloc: impl FnOnce(usize) -> Result<penstock::Memory, crate::LinuxError>,
) -> Result<penstock::Memory, String> {
    let page = rustix::param::page_size();
    let memory = alloc(page).map_err(|e| e.to_string())?;
    memory.map_write().map_err(|e| e.to_string())?.fill(0xa5);
    let ok = memory
        .map_read()
        .map_err(|e| e.to_string())?
        .iter()
        .all(|&b| b == 0xa5);
    if ok {
        Ok(memory)
    } else {
        Err("the bytes written did not read back".to_owned())
    }
}

fn probe_memfd() -> MemfdProbe {
    let params = AllocationParams::default();
    let result = try_page(|n| MemfdAllocator::new().allocate(n, &params)).and_then(|m| {
        let (fd, _) = m.fd().ok_or("the memory has no descriptor")?;
        let seals = rustix::fs::fcntl_get_seals(fd).map_err(|e| e.to_string())?;
        let mut first = [0u8; 16];
        rustix::io::pread(fd, &mut first, 0).map_err(|e| e.to_string())?;
        if first != [0xa5; 16] {
            return Err("pread on the memfd does not see the mapped bytes".to_owned());
        }
        Ok(seals)
    });
    match result {
        Ok(seals) => MemfdProbe {
            works: true,
            sealing: seals.contains(MEMFD_SEALS),
            error: None,
        },
        Err(e) => MemfdProbe {
            works: false,
            sealing: false,
            error: Some(e),
        },
    }
}

fn probe_heaps() -> Vec<HeapProbe> {
    let params = AllocationParams::default();
    available_heaps()
        .into_iter()
        .map(|name| {
            let result = DmaHeapAllocator::new(&name)
                .map_err(|e| e.to_string())
                .and_then(|heap| try_page(|n| heap.allocate(n, &params)));
            HeapProbe {
                path: Path::new(DMA_HEAP_DIR).join(&name),
                name,
                alloc_works: result.is_ok(),
                error: result.err(),
            }
        })
        .collect()
}

fn probe_udmabuf() -> UdmabufProbe {
    if !Path::new(UDMABUF_PATH).exists() {
        return UdmabufProbe {
            present: false,
            works: false,
            error: None,
        };
    }
    let params = AllocationParams::default();
    let result = UdmabufAllocator::new()
        .map_err(|e| e.to_string())
        .and_then(|u| try_page(|n| u.allocate(n, &params)));
    UdmabufProbe {
        present: true,
        works: result.is_ok(),
        error: result.err(),
    }
}

/// The `/dev/video<N>` nodes, sorted by `N`.
fn video_devices() -> Vec<PathBuf> {
    let mut nodes: Vec<(u32, PathBuf)> = std::fs::read_dir("/dev")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    let n = name.strip_prefix("video")?.parse().ok()?;
                    Some((n, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    nodes.sort();
    nodes.into_iter().map(|(_, p)| p).collect()
}

/// Probes this kernel (allocating and freeing one page per feature).
pub fn probe() -> Probe {
    Probe {
        page_size: rustix::param::page_size(),
        memfd: probe_memfd(),
        dma_heaps: probe_heaps(),
        udmabuf: probe_udmabuf(),
        video_devices: video_devices(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_agrees_with_the_device_nodes() {
        let p = probe();
        assert!(p.page_size.is_power_of_two());
        assert!(p.memfd.works, "{:?}", p.memfd.error);
        assert!(p.memfd.sealing);
        let names: Vec<&str> = p.dma_heaps.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, available_heaps());
        assert_eq!(p.udmabuf.present, Path::new(UDMABUF_PATH).exists());
        if !p.udmabuf.present {
            assert!(!p.udmabuf.works);
        }
        for v in &p.video_devices {
            assert!(v.exists(), "{}", v.display());
        }
    }
}
