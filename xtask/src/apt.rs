//! Debian packages: the host tools the guest needs, and the guest kernel package.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{IoContext, Result, msg, output, show, status};

/// Host packages the guest needs: QEMU, a static busybox for the initramfs, `depmod`,
/// `cpio`, and the decompressors for the kernel image and its modules.
pub const HOST_PACKAGES: &[&str] = &[
    "qemu-system-x86",
    "busybox-static",
    "kmod",
    "cpio",
    "zstd",
    "xz-utils",
];

/// Meta package of Debian 12's 6.12 kernel (from bookworm-security). Its kernel has
/// `UDMABUF=y`, `DMABUF_HEAPS=y`, `DMABUF_HEAPS_SYSTEM=y`, `VIDEO_VIVID=m`, 9p and
/// virtio-mmio as modules, and `PVH=y`. Debian 12's default 6.1 kernel
/// (`linux-image-amd64`) has neither udmabuf nor DMA-BUF heaps, so it is of no use.
pub const KERNEL_META_PACKAGE: &str = "linux-image-6.12-amd64";

/// The concrete kernel image package and the version apt would fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelPackage {
    pub name: String,
    pub version: String,
}

impl KernelPackage {
    /// Directory name of this package's cache: changes whenever the package does.
    pub fn cache_key(&self) -> String {
        format!("{}_{}", self.name, self.version).replace([':', '/'], "_")
    }
}

/// Whether we are root (otherwise apt-get runs under sudo).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `apt-get ARGS` with `sudo` when not root, non-interactive.
fn apt_get(args: &[&str]) -> Command {
    let mut cmd = if is_root() {
        Command::new("apt-get")
    } else {
        let mut c = Command::new("sudo");
        c.args(["--preserve-env=DEBIAN_FRONTEND", "apt-get"]);
        c
    };
    // Wait for another apt (a colleague's, unattended upgrades) instead of failing at once.
    cmd.env("DEBIAN_FRONTEND", "noninteractive")
        .args(["-o", "DPkg::Lock::Timeout=300"])
        .args(args);
    cmd
}

/// Refreshes apt's package lists.
pub fn update() -> Result<()> {
    eprintln!("vm: apt-get update");
    output(&mut apt_get(&["update", "-q"]))?;
    Ok(())
}

/// Names among `wanted` that `dpkg-query -W` output (`${Package} ${Status}` lines) does
/// not show as installed.
pub fn missing_from_dpkg_query(query: &str, wanted: &[&str]) -> Vec<String> {
    wanted
        .iter()
        .filter(|pkg| {
            !query.lines().any(|line| {
                let mut words = line.split_whitespace();
                let name = words.next().unwrap_or("");
                // `name:arch` for multi-arch packages.
                let name = name.split(':').next().unwrap_or("");
                let status: Vec<&str> = words.collect();
                name == **pkg && status == ["install", "ok", "installed"]
            })
        })
        .map(|pkg| pkg.to_string())
        .collect()
}

/// Installs whichever of [`HOST_PACKAGES`] are missing. Returns the step's one-line report.
pub fn ensure_host_packages() -> Result<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${Package} ${Status}\n"])
        .args(HOST_PACKAGES)
        .output()
        .ctx(|| "running dpkg-query (is this a Debian system?)".into())?;
    // dpkg-query exits 1 when some package is unknown; its stdout is still right.
    let missing = missing_from_dpkg_query(&String::from_utf8_lossy(&out.stdout), HOST_PACKAGES);
    if missing.is_empty() {
        return Ok(format!(
            "host packages installed: {}",
            HOST_PACKAGES.join(" ")
        ));
    }
    eprintln!("vm: installing {} (apt-get)", missing.join(" "));
    let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
    args.extend(missing.iter().map(String::as_str));
    if output(&mut apt_get(&args)).is_err() {
        // A fresh machine may have no (or stale) package lists.
        update()?;
        output(&mut apt_get(&args))?;
    }
    Ok(format!("installed {}", missing.join(" ")))
}

/// The concrete `linux-image-*` package that `apt-cache depends META` names.
pub fn parse_depends(text: &str, meta: &str) -> Option<String> {
    text.lines()
        .map(|l| l.trim().trim_start_matches('|'))
        .filter_map(|l| l.strip_prefix("Depends:"))
        .map(str::trim)
        .find(|name| {
            name.starts_with("linux-image-")
                && *name != meta
                && !name.starts_with('<')
                && !name.ends_with("-dbg")
                && !name.contains("-unsigned")
        })
        .map(str::to_owned)
}

/// The `Candidate:` version of `apt-cache policy PKG` output.
pub fn parse_candidate(text: &str) -> Option<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("Candidate:"))
        .map(str::trim)
        .find(|v| !v.is_empty() && *v != "(none)")
        .map(str::to_owned)
}

fn try_resolve() -> Option<KernelPackage> {
    let deps = Command::new("apt-cache")
        .args(["depends", KERNEL_META_PACKAGE])
        .output()
        .ok()?;
    let name = parse_depends(&String::from_utf8_lossy(&deps.stdout), KERNEL_META_PACKAGE)?;
    let policy = Command::new("apt-cache")
        .args(["policy", &name])
        .output()
        .ok()?;
    let version = parse_candidate(&String::from_utf8_lossy(&policy.stdout))?;
    Some(KernelPackage { name, version })
}

/// Resolves [`KERNEL_META_PACKAGE`] to the concrete package and version, refreshing the
/// package lists once if apt does not know it.
pub fn resolve_kernel_package() -> Result<KernelPackage> {
    if let Some(pkg) = try_resolve() {
        return Ok(pkg);
    }
    update()?;
    try_resolve().ok_or_else(|| {
        msg(format!(
            "apt does not know {KERNEL_META_PACKAGE} even after apt-get update: it comes from \
             Debian 12's security repository; add `deb http://deb.debian.org/debian-security \
             bookworm-security main` to the apt sources"
        ))
    })
}

/// When apt's package lists last changed (`apt-get update` renames files into the folder).
fn lists_stamp() -> Option<String> {
    let modified = std::fs::metadata("/var/lib/apt/lists")
        .ok()?
        .modified()
        .ok()?;
    let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(since.as_nanos().to_string())
}

/// [`resolve_kernel_package`], remembered in `memo` until apt's package lists change
/// (asking apt-cache takes a second or two on a loaded machine, on every `vm-run`).
pub fn resolve_kernel_package_memo(memo: &Path) -> Result<KernelPackage> {
    let stamp = lists_stamp();
    if let (Some(stamp), Ok(text)) = (&stamp, std::fs::read_to_string(memo)) {
        if let [s, name, version] = text.lines().collect::<Vec<_>>()[..] {
            if s == stamp {
                return Ok(KernelPackage {
                    name: name.into(),
                    version: version.into(),
                });
            }
        }
    }
    let pkg = resolve_kernel_package()?;
    if let Some(stamp) = lists_stamp() {
        if let Some(dir) = memo.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let tmp = crate::prepare::tmp_path(memo);
        let text = format!("{stamp}\n{}\n{}\n", pkg.name, pkg.version);
        if std::fs::write(&tmp, text).is_ok() {
            let _ = std::fs::rename(&tmp, memo);
        }
    }
    Ok(pkg)
}

/// Downloads `pkg` into `dir` (`apt-get download`, nothing installed) and returns the file.
pub fn download(pkg: &KernelPackage, dir: &Path) -> Result<PathBuf> {
    let tmp = crate::prepare::tmp_path(dir);
    std::fs::create_dir_all(&tmp).ctx(|| format!("creating {}", show(&tmp)))?;
    download_into(pkg, &tmp)?;
    crate::prepare::move_into_place(&tmp, dir)?;
    find_deb(dir)?.ok_or_else(|| msg(format!("apt-get download left no .deb in {}", show(dir))))
}

fn download_into(pkg: &KernelPackage, dir: &Path) -> Result<()> {
    let spec = format!("{}={}", pkg.name, pkg.version);
    let mut cmd = Command::new("apt-get");
    // As root apt drops to the `_apt` user for downloads, which cannot write our cache.
    cmd.args(["-q", "-o", "APT::Sandbox::User=root", "download", &spec])
        .current_dir(dir);
    if output(&mut cmd).is_err() {
        update()?;
        status(&mut cmd)?;
    }
    Ok(())
}

/// The `.deb` in `dir`, if there is one.
pub fn find_deb(dir: &Path) -> Result<Option<PathBuf>> {
    if !dir.exists() {
        return Ok(None);
    }
    for entry in std::fs::read_dir(dir).ctx(|| format!("reading {}", show(dir)))? {
        let path = entry.ctx(|| format!("reading {}", show(dir)))?.path();
        if path.extension().is_some_and(|e| e == "deb") {
            return Ok(Some(path));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depends_names_the_concrete_image() {
        let text = "linux-image-6.12-amd64\n  Depends: linux-image-6.12.117+deb12-amd64\n";
        assert_eq!(
            parse_depends(text, KERNEL_META_PACKAGE).as_deref(),
            Some("linux-image-6.12.117+deb12-amd64")
        );
    }

    #[test]
    fn depends_skips_alternatives_that_are_not_images() {
        let text = "linux-image-6.12-amd64\n \
                    |Depends: <linux-image-virtual>\n  \
                    Depends: linux-image-6.12.9+deb12-amd64-dbg\n  \
                    Depends: linux-base\n  \
                    Depends: linux-image-6.12.9+deb12-amd64\n  \
                    Recommends: firmware-linux-free\n";
        assert_eq!(
            parse_depends(text, KERNEL_META_PACKAGE).as_deref(),
            Some("linux-image-6.12.9+deb12-amd64")
        );
        assert_eq!(
            parse_depends("E: No packages found\n", KERNEL_META_PACKAGE),
            None
        );
    }

    #[test]
    fn candidate_version() {
        let text = "linux-image-6.12.117+deb12-amd64:\n  Installed: (none)\n  \
                    Candidate: 6.12.117-1~deb12u1\n  Version table:\n     \
                    6.12.117-1~deb12u1 500\n";
        assert_eq!(parse_candidate(text).as_deref(), Some("6.12.117-1~deb12u1"));
        assert_eq!(
            parse_candidate("x:\n  Installed: (none)\n  Candidate: (none)\n"),
            None
        );
    }

    #[test]
    fn cache_key_is_a_plain_file_name() {
        let pkg = KernelPackage {
            name: "linux-image-6.12.117+deb12-amd64".into(),
            version: "1:6.12.117-1~deb12u1".into(),
        };
        assert_eq!(
            pkg.cache_key(),
            "linux-image-6.12.117+deb12-amd64_1_6.12.117-1~deb12u1"
        );
    }

    #[test]
    fn missing_packages() {
        let query = "qemu-system-x86 install ok installed\n\
                     busybox-static deinstall ok config-files\n\
                     kmod install ok installed\n";
        assert_eq!(
            missing_from_dpkg_query(
                query,
                &["qemu-system-x86", "busybox-static", "kmod", "cpio"]
            ),
            ["busybox-static", "cpio"]
        );
    }
}
