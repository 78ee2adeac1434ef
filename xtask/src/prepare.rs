//! Builds (once, cached) what the guest boots: kernel, modules and a busybox initramfs.
//!
//! Cache layout, under [`vm_dir`]:
//! ```text
//! <kernel package>_<version>/deb/*.deb        apt-get download of the kernel image package
//! <kernel package>_<version>/root/            dpkg -x of it (plus depmod's modules.dep)
//! <kernel package>_<version>/vmlinux          ELF kernel cut out of the bzImage
//! <kernel package>_<version>/modules/         decompressed modules the guest loads
//! <kernel package>_<version>/initramfs.cpio   busybox + modules + /init (newc)
//! kernel-package                              the resolved package, until apt's lists change
//! runs/                                       one folder per guest boot (results share)
//! ```
//! Each step is skipped when its output exists; outputs are renamed into place, so an
//! interrupted step is redone. A newer kernel package gets a new folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::apt::{self, KernelPackage};
use crate::error::{IoContext, Result, msg, output, show};
use crate::kernel;

/// Modules the guest needs; [`kernel::load_order`] adds their dependencies from
/// `modules.dep`. With Debian's 6.12 kernel this gives the order found to work by hand:
/// rc-core cec mc videobuf2-common videodev videobuf2-v4l2 videobuf2-memops
/// videobuf2-vmalloc videobuf2-dma-contig v4l2-dv-timings v4l2-tpg (for vivid),
/// virtio_mmio (the transport of QEMU microvm's devices), netfs 9pnet 9pnet_virtio 9p.
pub const ROOT_MODULES: &[&str] = &["virtio_mmio", "9pnet_virtio", "9p", "vivid"];

/// Module parameters: one vivid instance gives /dev/video0..3 and /dev/media0.
pub const MODULE_PARAMS: &[(&str, &str)] = &[("vivid", "n_devs=1")];

/// Device nodes /init checks before running jobs (udmabuf and the system heap are built in).
pub const REQUIRED_DEVICES: &[&str] = &["/dev/dma_heap/system", "/dev/udmabuf", "/dev/video0"];

/// The static busybox of Debian's `busybox-static`.
const BUSYBOX: &str = "/bin/busybox";

/// Everything a guest boot needs.
#[derive(Debug, Clone)]
pub struct PreparedVm {
    pub kernel: KernelPackage,
    pub vmlinux: PathBuf,
    pub initramfs: PathBuf,
    pub runs_dir: PathBuf,
}

/// Root of the cache: `$PENSTOCK_VM_DIR`, else `$CARGO_TARGET_DIR/vm`, else
/// `<workspace>/target/vm`.
pub fn vm_dir() -> Result<PathBuf> {
    let cwd = std::env::current_dir().ctx(|| "reading the current directory".into())?;
    if let Some(dir) = std::env::var_os("PENSTOCK_VM_DIR").filter(|d| !d.is_empty()) {
        return Ok(cwd.join(dir));
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        return Ok(cwd.join(dir).join("vm"));
    }
    Ok(workspace_root().join("target").join("vm"))
}

/// The workspace this xtask belongs to.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// Reports one preparation step on stderr; with `quiet`, cached steps are not shown.
struct Steps {
    quiet: bool,
}

impl Steps {
    fn cached(&self, what: &str) {
        if !self.quiet {
            eprintln!("vm: {what} (cached)");
        }
    }
    fn info(&self, what: &str) {
        if !self.quiet {
            eprintln!("vm: {what}");
        }
    }
    fn did(&self, what: &str) {
        eprintln!("vm: {what}");
    }
}

/// Runs every preparation step that has no cached output yet.
pub fn prepare(quiet: bool) -> Result<PreparedVm> {
    let steps = Steps { quiet };
    let root = vm_dir()?;

    let report = apt::ensure_host_packages()?;
    if report.starts_with("installed") {
        steps.did(&report);
    } else {
        steps.cached(&report);
    }

    let pkg = apt::resolve_kernel_package_memo(&root.join("kernel-package"))?;
    let dir = root.join(pkg.cache_key());
    steps.info(&format!(
        "kernel package {} {} (from {}); cache {}",
        pkg.name,
        pkg.version,
        apt::KERNEL_META_PACKAGE,
        show(&dir)
    ));

    let deb_dir = dir.join("deb");
    let deb = match apt::find_deb(&deb_dir)? {
        Some(deb) => {
            steps.cached(&format!("apt-get download: {}", file_name(&deb)));
            deb
        }
        None => {
            let deb = apt::download(&pkg, &deb_dir)?;
            steps.did(&format!("apt-get download: {}", file_name(&deb)));
            deb
        }
    };

    let unpacked = dir.join("root");
    if unpacked.exists() {
        steps.cached("dpkg -x: root/");
    } else {
        let tmp = tmp_path(&unpacked);
        output(Command::new("dpkg").arg("-x").arg(&deb).arg(&tmp))?;
        move_into_place(&tmp, &unpacked)?;
        steps.did("dpkg -x: root/");
    }
    let kver = kernel_release(&unpacked)?;

    let config_path = unpacked.join(format!("boot/config-{kver}"));
    let config =
        std::fs::read_to_string(&config_path).ctx(|| format!("reading {}", show(&config_path)))?;
    let bad = kernel::config_mismatches(&config);
    if !bad.is_empty() {
        return Err(msg(format!(
            "kernel {kver} lacks what the guest needs: {} (see {})",
            bad.join(" "),
            show(&config_path)
        )));
    }

    let vmlinux = dir.join("vmlinux");
    if vmlinux.exists() {
        steps.cached("vmlinux (zstd payload of the bzImage)");
    } else {
        kernel::extract_vmlinux(&unpacked.join(format!("boot/vmlinuz-{kver}")), &vmlinux)?;
        steps.did("vmlinux (zstd payload of the bzImage)");
    }

    let modules = dir.join("modules");
    if modules.join("order").exists() {
        steps.cached("depmod -b + xz -d: modules/");
    } else {
        let tmp = tmp_path(&modules);
        let names = unpack_modules(&unpacked, &kver, &tmp)?;
        move_into_place(&tmp, &modules)?;
        steps.did(&format!(
            "depmod -b + xz -d: modules/ ({})",
            names.join(" ")
        ));
    }

    let order_path = modules.join("order");
    let order: Vec<String> = std::fs::read_to_string(&order_path)
        .ctx(|| format!("reading {}", show(&order_path)))?
        .lines()
        .map(str::to_owned)
        .collect();
    let init = init_script(&order);
    let initramfs = dir.join("initramfs.cpio");
    let init_copy = dir.join("initramfs.init");
    let same_init = std::fs::read_to_string(&init_copy).is_ok_and(|old| old == init);
    if initramfs.exists() && same_init {
        steps.cached("busybox initramfs: initramfs.cpio");
    } else {
        build_initramfs(&dir, &modules, &order, &init, &initramfs)?;
        std::fs::write(&init_copy, &init).ctx(|| format!("writing {}", show(&init_copy)))?;
        steps.did("busybox initramfs: initramfs.cpio");
    }

    Ok(PreparedVm {
        kernel: pkg,
        vmlinux,
        initramfs,
        runs_dir: root.join("runs"),
    })
}

/// A sibling of `path` for building it: unique to this process (several xtask processes may
/// prepare the same cache at once), then moved into place with [`move_into_place`].
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp{}", std::process::id()));
    let tmp = path.with_file_name(name);
    if tmp.is_dir() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    tmp
}

/// Renames `tmp` to `path`; if another process got there first (a folder that exists),
/// keeps theirs.
pub fn move_into_place(tmp: &Path, path: &Path) -> Result<()> {
    match std::fs::rename(tmp, path) {
        Ok(()) => Ok(()),
        Err(_) if tmp.is_dir() && path.is_dir() => {
            let _ = std::fs::remove_dir_all(tmp);
            Ok(())
        }
        Err(e) => Err(e).ctx(|| format!("renaming {} to {}", show(tmp), show(path))),
    }
}

/// `name` from PATH, else from /usr/sbin or /sbin (not in a normal user's PATH on Debian).
fn sbin_tool(name: &str) -> PathBuf {
    let in_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()));
    if !in_path {
        for dir in ["/usr/sbin", "/sbin"] {
            let path = Path::new(dir).join(name);
            if path.is_file() {
                return path;
            }
        }
    }
    PathBuf::from(name)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The kernel release (`uname -r`) of an unpacked image package: its one `lib/modules/*`.
fn kernel_release(unpacked: &Path) -> Result<String> {
    let dir = unpacked.join("lib/modules");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).ctx(|| format!("reading {}", show(&dir)))? {
        let entry = entry.ctx(|| format!("reading {}", show(&dir)))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    match names.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(msg(format!(
            "expected one kernel release in {}, found {names:?}",
            show(&dir)
        ))),
    }
}

/// Runs `depmod`, then decompresses the modules to load into `out` (plain `.ko`, as
/// busybox `insmod` wants them) and writes their names in load order to `out/order`.
fn unpack_modules(unpacked: &Path, kver: &str, out: &Path) -> Result<Vec<String>> {
    // The package ships no modules.dep.
    output(
        Command::new(sbin_tool("depmod"))
            .arg("-b")
            .arg(unpacked)
            .arg(kver),
    )?;
    let moddir = unpacked.join("lib/modules").join(kver);
    let dep_path = moddir.join("modules.dep");
    let deps = kernel::parse_modules_dep(
        &std::fs::read_to_string(&dep_path).ctx(|| format!("reading {}", show(&dep_path)))?,
    );
    let order = kernel::load_order(&deps, ROOT_MODULES)?;
    std::fs::create_dir_all(out).ctx(|| format!("creating {}", show(out)))?;
    let mut names = Vec::new();
    for rel in &order {
        let name = kernel::module_name(rel);
        let src = moddir.join(rel);
        let dst = out.join(format!("{name}.ko"));
        let file = std::fs::File::create(&dst).ctx(|| format!("creating {}", show(&dst)))?;
        if rel.ends_with(".xz") {
            output(Command::new("xz").arg("-dc").arg(&src).stdout(file))?;
        } else if rel.ends_with(".ko") {
            std::fs::copy(&src, &dst).ctx(|| format!("copying {}", show(&src)))?;
        } else {
            return Err(msg(format!("unsupported module compression: {rel}")));
        }
        names.push(name);
    }
    let order_path = out.join("order");
    std::fs::write(&order_path, names.join("\n") + "\n")
        .ctx(|| format!("writing {}", show(&order_path)))?;
    Ok(names)
}

/// The guest's /init (busybox sh). It loads `modules` in order, mounts the host's `/`
/// read-only (9p tag `host0`) on /host with the guest's own proc, sys, dev and a tmpfs
/// /run over it, mounts the writable results share (tag `results`) on /results, and for
/// each /results/job-N.sh runs it chrooted into /host, with stdout, stderr and exit code
/// going to /results/N.out, N.err, N.rc. Then it powers off.
pub fn init_script(modules: &[String]) -> String {
    let mut s = String::from(
        "#!/bin/busybox sh\n\
         # Generated by penstock's xtask (xtask/src/prepare.rs).\n\
         /bin/busybox mkdir -p /dev /proc /sys /sbin /usr/bin /usr/sbin\n\
         /bin/busybox --install -s\n\
         mount -t devtmpfs devtmpfs /dev\n\
         exec </dev/console >/dev/console 2>&1\n\
         mount -t proc proc /proc\n\
         mount -t sysfs sysfs /sys\n\
         die() {\n  echo \"penstock-vm: FATAL: $*\"\n  echo \"$*\" >/results/fatal 2>/dev/null\n  sync\n  poweroff -f\n}\n",
    );
    for name in modules {
        let params = MODULE_PARAMS
            .iter()
            .find(|(m, _)| m == name)
            .map(|(_, p)| format!(" {p}"))
            .unwrap_or_default();
        s.push_str(&format!(
            "insmod /lib/modules/{name}.ko{params} || die \"insmod {name} failed\"\n"
        ));
    }
    s.push_str(
        "o=trans=virtio,version=9p2000.L,msize=512000\n\
         mount -t 9p -o $o results /results || die \"cannot mount the results share\"\n\
         mount -t 9p -o $o,ro host0 /host || die \"cannot mount the host's /\"\n\
         mount -t proc proc /host/proc || die \"cannot mount /host/proc\"\n\
         mount -t sysfs sysfs /host/sys || die \"cannot mount /host/sys\"\n\
         mount -t devtmpfs devtmpfs /host/dev || die \"cannot mount /host/dev\"\n\
         mount -t tmpfs tmpfs /host/run || die \"cannot mount /host/run\"\n\
         mkdir -p /host/dev/shm /host/dev/pts /host/run/tmp\n\
         mount -t tmpfs tmpfs /host/dev/shm\n\
         mount -t devpts devpts /host/dev/pts\n\
         ln -s /proc/self/fd /host/dev/fd\n\
         ln -s /proc/self/fd/0 /host/dev/stdin\n\
         ln -s /proc/self/fd/1 /host/dev/stdout\n\
         ln -s /proc/self/fd/2 /host/dev/stderr\n",
    );
    for dev in REQUIRED_DEVICES {
        s.push_str(&format!("[ -e /host{dev} ] || die \"{dev} is missing\"\n"));
    }
    s.push_str(
        "cat /proc/uptime >/results/booted\n\
         i=0\n\
         while [ -f /results/job-$i.sh ]; do\n  \
           chroot /host /bin/sh -c \"$(cat /results/job-$i.sh)\" </dev/null >/results/$i.out 2>/results/$i.err\n  \
           echo $? >/results/$i.rc.tmp\n  \
           mv /results/$i.rc.tmp /results/$i.rc\n  \
           i=$((i + 1))\n\
         done\n\
         sync\n\
         poweroff -f\n",
    );
    s
}

/// Writes `initramfs` (cpio newc) with busybox, the modules and `init`.
fn build_initramfs(
    dir: &Path,
    modules: &Path,
    order: &[String],
    init: &str,
    initramfs: &Path,
) -> Result<()> {
    let stage = tmp_path(&dir.join("initramfs.d"));
    let mut entries: Vec<String> = [
        ".",
        "bin",
        "dev",
        "proc",
        "sys",
        "host",
        "results",
        "tmp",
        "lib",
        "lib/modules",
    ]
    .map(String::from)
    .to_vec();
    for d in &entries[1..] {
        std::fs::create_dir_all(stage.join(d))
            .ctx(|| format!("creating {d} in {}", show(&stage)))?;
    }
    let busybox = stage.join("bin/busybox");
    std::fs::copy(BUSYBOX, &busybox)
        .ctx(|| format!("copying {BUSYBOX} (package busybox-static)"))?;
    entries.push("bin/busybox".into());
    let init_path = stage.join("init");
    std::fs::write(&init_path, init).ctx(|| format!("writing {}", show(&init_path)))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&init_path, std::fs::Permissions::from_mode(0o755))
        .ctx(|| format!("chmod {}", show(&init_path)))?;
    entries.push("init".into());
    for name in order {
        let rel = format!("lib/modules/{name}.ko");
        std::fs::copy(modules.join(format!("{name}.ko")), stage.join(&rel))
            .ctx(|| format!("copying module {name}"))?;
        entries.push(rel);
    }
    let tmp = tmp_path(initramfs);
    let file = std::fs::File::create(&tmp).ctx(|| format!("creating {}", show(&tmp)))?;
    let mut child = Command::new("cpio")
        .args(["-o", "-H", "newc", "--quiet", "-R", "0:0"])
        .current_dir(&stage)
        .stdin(Stdio::piped())
        .stdout(file)
        .spawn()
        .ctx(|| "starting cpio".into())?;
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin
            .write_all((entries.join("\n") + "\n").as_bytes())
            .ctx(|| "writing the file list to cpio".into())?;
    }
    let st = child.wait().ctx(|| "waiting for cpio".into())?;
    if !st.success() {
        return Err(msg(format!("cpio failed ({st}) building {}", show(&tmp))));
    }
    move_into_place(&tmp, initramfs)?;
    let _ = std::fs::remove_dir_all(&stage);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_loads_modules_in_order_with_params() {
        let init = init_script(&["mc".into(), "videodev".into(), "vivid".into()]);
        let mc = init.find("insmod /lib/modules/mc.ko ").unwrap();
        let vivid = init.find("insmod /lib/modules/vivid.ko n_devs=1 ").unwrap();
        assert!(mc < vivid);
        assert!(init.contains("[ -e /host/dev/udmabuf ]"));
        assert!(init.ends_with("poweroff -f\n"));
    }
}
