//! The guest kernel: `vmlinux` out of Debian's bzImage, and which modules to load in which order.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::Command;

use crate::error::{IoContext, Result, msg, output, show};

/// Where the compressed kernel sits inside a bzImage (x86 boot protocol >= 2.08).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payload {
    /// Byte offset in the bzImage file.
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
}

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

fn u16_at(data: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([data[at], data[at + 1]])
}

fn u32_at(data: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

/// Finds the compressed payload through the setup header (Documentation/arch/x86/boot.rst):
/// `setup_sects` at 0x1f1 (0 means 4), magic `HdrS` at 0x202, protocol version at 0x206,
/// `payload_offset` at 0x248 and `payload_length` at 0x24c, both relative to the start of
/// the protected-mode code, which follows the `setup_sects + 1` 512-byte setup sectors.
pub fn find_payload(image: &[u8]) -> Result<Payload> {
    if image.len() < 0x250 || &image[0x202..0x206] != b"HdrS" {
        return Err(msg("not a bzImage: no `HdrS` setup header at 0x202"));
    }
    let version = u16_at(image, 0x206);
    if version < 0x0208 {
        return Err(msg(format!(
            "bzImage boot protocol {}.{:02} has no payload fields (needs 2.08)",
            version >> 8,
            version & 0xff
        )));
    }
    let setup_sects = match image[0x1f1] {
        0 => 4,
        n => usize::from(n),
    };
    let offset = (setup_sects + 1) * 512 + u32_at(image, 0x248) as usize;
    let len = u32_at(image, 0x24c) as usize;
    if offset.checked_add(len).is_none_or(|end| end > image.len()) {
        return Err(msg(format!(
            "bzImage payload {offset}+{len} runs past the end of the file ({} bytes)",
            image.len()
        )));
    }
    Ok(Payload { offset, len })
}

/// The zstd frame of the payload: the kernel build appends the uncompressed size as 4 more
/// bytes, which the `zstd` tool would reject as trailing garbage.
pub fn zstd_frame(image: &[u8], payload: Payload) -> Result<&[u8]> {
    let bytes = &image[payload.offset..payload.offset + payload.len];
    if bytes.len() < 8 || bytes[..4] != ZSTD_MAGIC {
        return Err(msg(
            "bzImage payload is not zstd-compressed (Debian's 6.12 kernels are); \
             this kernel package is not supported",
        ));
    }
    Ok(&bytes[..bytes.len() - 4])
}

/// Writes the uncompressed ELF kernel of `bzimage` to `vmlinux`, which QEMU's microvm boots
/// through PVH (faster than booting the bzImage).
pub fn extract_vmlinux(bzimage: &Path, vmlinux: &Path) -> Result<()> {
    let image = std::fs::read(bzimage).ctx(|| format!("reading {}", show(bzimage)))?;
    let frame = zstd_frame(&image, find_payload(&image)?)?;
    let compressed = crate::prepare::tmp_path(&vmlinux.with_extension("zst"));
    std::fs::write(&compressed, frame).ctx(|| format!("writing {}", show(&compressed)))?;
    let tmp = crate::prepare::tmp_path(vmlinux);
    output(
        Command::new("zstd")
            .args(["-d", "-q", "-f", "--memory=2048MB", "-o"])
            .arg(&tmp)
            .arg(&compressed),
    )?;
    let _ = std::fs::remove_file(&compressed);
    let head = std::fs::read(&tmp).ctx(|| format!("reading {}", show(&tmp)))?;
    if !head.starts_with(b"\x7fELF") {
        return Err(msg(format!("{} is not an ELF file", show(&tmp))));
    }
    crate::prepare::move_into_place(&tmp, vmlinux)
}

/// Kernel module name of a `modules.dep` path: `.../9pnet_virtio.ko.xz` gives
/// `9pnet_virtio`; dashes and underscores are the same to the kernel.
pub fn module_name(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split(".ko").next().unwrap_or(file);
    stem.replace('-', "_")
}

/// Parsed `modules.dep`: module name to (path, dependency paths).
pub type ModuleDeps = BTreeMap<String, (String, Vec<String>)>;

/// Parses `modules.dep` (`path: dep-path dep-path ...` lines, as `depmod` writes them).
pub fn parse_modules_dep(text: &str) -> ModuleDeps {
    text.lines()
        .filter_map(|line| {
            let (path, deps) = line.split_once(':')?;
            let path = path.trim();
            Some((
                module_name(path),
                (
                    path.to_owned(),
                    deps.split_whitespace().map(str::to_owned).collect(),
                ),
            ))
        })
        .collect()
}

/// Module paths to load, each after all its dependencies, for the `roots` in order.
pub fn load_order(deps: &ModuleDeps, roots: &[&str]) -> Result<Vec<String>> {
    fn visit(
        deps: &ModuleDeps,
        name: &str,
        seen: &mut HashSet<String>,
        order: &mut Vec<String>,
    ) -> Result<()> {
        if !seen.insert(name.to_owned()) {
            return Ok(());
        }
        let (path, needs) = deps
            .get(name)
            .ok_or_else(|| msg(format!("kernel module `{name}` is not in modules.dep")))?;
        for dep in needs {
            visit(deps, &module_name(dep), seen, order)?;
        }
        order.push(path.clone());
        Ok(())
    }
    let mut seen = HashSet::new();
    let mut order = Vec::new();
    for root in roots {
        visit(deps, &root.replace('-', "_"), &mut seen, &mut order)?;
    }
    Ok(order)
}

/// Options that must be set in the kernel's config for the guest to work, and how.
pub const REQUIRED_CONFIG: &[(&str, &str)] = &[
    ("CONFIG_PVH", "y"),
    ("CONFIG_UDMABUF", "y"),
    ("CONFIG_DMABUF_HEAPS", "y"),
    ("CONFIG_DMABUF_HEAPS_SYSTEM", "y"),
    ("CONFIG_DEVTMPFS", "y"),
    ("CONFIG_VIDEO_VIVID", "m"),
    ("CONFIG_VIRTIO_MMIO", "m"),
    ("CONFIG_NET_9P_VIRTIO", "m"),
    ("CONFIG_9P_FS", "m"),
];

/// Options of [`REQUIRED_CONFIG`] that `config` (a kernel `.config`) does not have as needed.
pub fn config_mismatches(config: &str) -> Vec<String> {
    REQUIRED_CONFIG
        .iter()
        .filter(|(key, want)| {
            !config
                .lines()
                .any(|l| l.split_once('=') == Some((key, want)))
        })
        .map(|(key, want)| format!("{key}={want}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synthetic_bzimage(setup_sects: u8, payload: &[u8], payload_offset: u32) -> Vec<u8> {
        let sects = if setup_sects == 0 {
            4
        } else {
            setup_sects as usize
        };
        let pm_start = (sects + 1) * 512;
        let mut image = vec![0u8; pm_start + payload_offset as usize];
        image[0x1f1] = setup_sects;
        image[0x202..0x206].copy_from_slice(b"HdrS");
        image[0x206..0x208].copy_from_slice(&0x020fu16.to_le_bytes());
        image[0x248..0x24c].copy_from_slice(&payload_offset.to_le_bytes());
        image[0x24c..0x250].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        image.extend_from_slice(payload);
        image.extend_from_slice(b"tail of the decompressor");
        image
    }

    #[test]
    fn payload_found_through_setup_header() {
        let mut payload = ZSTD_MAGIC.to_vec();
        payload.extend_from_slice(b"frame");
        payload.extend_from_slice(&1234u32.to_le_bytes());
        let image = synthetic_bzimage(3, &payload, 100);
        let found = find_payload(&image).unwrap();
        assert_eq!(
            found,
            Payload {
                offset: 4 * 512 + 100,
                len: payload.len()
            }
        );
        let frame = zstd_frame(&image, found).unwrap();
        assert_eq!(frame, &payload[..payload.len() - 4]);
    }

    #[test]
    fn zero_setup_sects_means_four() {
        let mut payload = ZSTD_MAGIC.to_vec();
        payload.extend_from_slice(&[0; 8]);
        let image = synthetic_bzimage(0, &payload, 0);
        assert_eq!(find_payload(&image).unwrap().offset, 5 * 512);
    }

    #[test]
    fn bad_images_are_rejected() {
        assert!(find_payload(&[0u8; 4096]).is_err());
        let mut image = synthetic_bzimage(1, b"\x1f\x8b gzip payload", 0);
        let payload = find_payload(&image).unwrap();
        assert!(zstd_frame(&image, payload).is_err());
        // Length past the end of the file.
        image[0x24c..0x250].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(find_payload(&image).is_err());
        // Too old a boot protocol.
        image[0x206..0x208].copy_from_slice(&0x0206u16.to_le_bytes());
        assert!(find_payload(&image).is_err());
    }

    #[test]
    fn modules_load_after_their_dependencies() {
        let dep = "kernel/net/9p/9pnet_virtio.ko.xz: kernel/net/9p/9pnet.ko.xz\n\
                   kernel/net/9p/9pnet.ko.xz:\n\
                   kernel/fs/netfs/netfs.ko.xz:\n\
                   kernel/fs/9p/9p.ko.xz: kernel/fs/netfs/netfs.ko.xz kernel/net/9p/9pnet.ko.xz\n\
                   kernel/drivers/virtio/virtio_mmio.ko.xz:\n\
                   kernel/drivers/media/mc/mc.ko.xz:\n\
                   kernel/drivers/media/v4l2-core/videodev.ko.xz: kernel/drivers/media/mc/mc.ko.xz\n\
                   kernel/drivers/media/test-drivers/vivid/vivid.ko.xz: \
                   kernel/drivers/media/v4l2-core/videodev.ko.xz kernel/drivers/media/mc/mc.ko.xz\n";
        let deps = parse_modules_dep(dep);
        let order = load_order(&deps, &["virtio_mmio", "9pnet_virtio", "9p", "vivid"]).unwrap();
        let names: Vec<String> = order.iter().map(|p| module_name(p)).collect();
        assert_eq!(
            names,
            [
                "virtio_mmio",
                "9pnet",
                "9pnet_virtio",
                "netfs",
                "9p",
                "mc",
                "videodev",
                "vivid"
            ]
        );
        assert!(load_order(&deps, &["nonexistent"]).is_err());
    }

    #[test]
    fn module_names_normalise_dashes() {
        assert_eq!(
            module_name("kernel/a/videobuf2-common.ko.xz"),
            "videobuf2_common"
        );
        assert_eq!(module_name("rc-core.ko"), "rc_core");
    }

    #[test]
    fn config_check() {
        let config: String = REQUIRED_CONFIG
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        assert!(config_mismatches(&config).is_empty());
        let config = config.replace("CONFIG_UDMABUF=y", "# CONFIG_UDMABUF is not set");
        assert_eq!(config_mismatches(&config), ["CONFIG_UDMABUF=y"]);
    }
}
