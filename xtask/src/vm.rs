//! Boots the guest once and runs jobs (host programs) in it, in sequence.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::error::{Error, IoContext, Result, msg, show};
use crate::prepare::PreparedVm;

/// One program to run in the guest.
#[derive(Debug, Clone)]
pub struct Job {
    /// What to call it in messages.
    pub name: String,
    /// Program and arguments; a program without `/` is looked up in the guest's `PATH`.
    pub argv: Vec<String>,
    /// Working directory (a host path; the guest sees the host's `/` read-only).
    pub cwd: PathBuf,
    /// Environment on top of the guest's base (PATH, HOME, TMPDIR).
    pub env: Vec<(String, String)>,
}

/// What one job did.
#[derive(Debug, Clone)]
pub struct JobResult {
    /// Exit status as the guest shell reports it (128 + N for signal N).
    pub code: i32,
    pub stdout: Vec<u8>,
    pub duration: Duration,
}

/// The outcome of one boot.
#[derive(Debug)]
pub struct Report {
    pub results: Vec<JobResult>,
    /// From starting QEMU until /init was ready to run the first job.
    pub boot: Duration,
    pub total: Duration,
}

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub timeout: Duration,
    /// Copy each job's output to our stdout/stderr while it runs.
    pub stream: bool,
    /// Print a `==> [i/n] program` line on stderr when a job starts.
    pub announce: bool,
    /// Keep the run folder (results share and console log) after a successful run.
    pub keep: bool,
}

/// Exit code the guest's job script uses when it cannot enter the working directory.
pub const CWD_FAILED: i32 = 125;

/// Quotes `s` for a POSIX shell.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Whether `name` can be an environment variable name in the guest's shell.
pub fn valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The shell script (run by the host's `/bin/sh` inside the chroot) for `job`.
pub fn job_script(job: &Job) -> Result<String> {
    let mut s = String::from(
        "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n\
         export HOME=/root USER=root LOGNAME=root TMPDIR=/run/tmp\n",
    );
    for (key, value) in &job.env {
        if !valid_env_name(key) {
            return Err(msg(format!("invalid environment variable name `{key}`")));
        }
        s.push_str(&format!("export {key}={}\n", sh_quote(value)));
    }
    let cwd = job
        .cwd
        .to_str()
        .ok_or_else(|| msg("working directory is not UTF-8"))?;
    s.push_str(&format!(
        "cd {} || {{ echo {} >&2; exit {CWD_FAILED}; }}\n",
        sh_quote(cwd),
        sh_quote(&format!("vm: cannot enter {cwd} in the guest"))
    ));
    let argv: Vec<String> = job.argv.iter().map(|a| sh_quote(a)).collect();
    if argv.is_empty() {
        return Err(msg("no program to run"));
    }
    Ok(format!("{s}exec {}\n", argv.join(" ")))
}

/// `tsc_early_khz` for the guest: the host's TSC frequency from `/proc/cpuinfo` (`cpu MHz`).
/// Without it (and `tsc=reliable no_timer_check`) the microvm guest hangs calibrating the TSC.
pub fn parse_cpu_khz(cpuinfo: &str) -> Option<u64> {
    cpuinfo
        .lines()
        .filter(|l| l.starts_with("cpu MHz"))
        .filter_map(|l| l.split_once(':'))
        .filter_map(|(_, v)| v.trim().parse::<f64>().ok())
        .find(|mhz| *mhz > 0.0)
        .map(|mhz| (mhz * 1000.0).round() as u64)
}

/// A path as a value of a QEMU `-fsdev` option (commas are doubled).
fn qemu_opt_path(path: &Path) -> String {
    path.display().to_string().replace(',', ",,")
}

/// QEMU's arguments. microvm with ACPI (needed for `poweroff`), TCG (the host's `/dev/kvm`
/// is a paravirtual KVM that cannot run a normal guest kernel), the ELF `vmlinux` booted
/// through PVH (faster than the bzImage), the host's `/` read-only over 9p as `host0` and
/// the run folder writable as `results`.
pub fn qemu_args(vm: &PreparedVm, run_dir: &Path, tsc_khz: u64) -> Vec<String> {
    let append =
        format!("console=ttyS0 quiet panic=-1 tsc_early_khz={tsc_khz} tsc=reliable no_timer_check");
    [
        "-M",
        "microvm,acpi=on,pit=on,pic=on,rtc=on",
        "-accel",
        "tcg",
        "-cpu",
        "max",
        "-smp",
        "2",
        "-m",
        "1024",
        "-nographic",
        "-no-reboot",
        "-kernel",
        &vm.vmlinux.display().to_string(),
        "-initrd",
        &vm.initramfs.display().to_string(),
        "-append",
        &append,
        "-fsdev",
        "local,id=host0,path=/,security_model=none,readonly=on,multidevs=remap",
        "-device",
        "virtio-9p-device,fsdev=host0,mount_tag=host0",
        "-fsdev",
        &format!(
            "local,id=results,path={},security_model=none",
            qemu_opt_path(run_dir)
        ),
        "-device",
        "virtio-9p-device,fsdev=results,mount_tag=results",
    ]
    .map(String::from)
    .to_vec()
}

/// A file the guest writes, read on the host as it grows.
struct Follower {
    path: PathBuf,
    file: Option<File>,
    data: Vec<u8>,
}

impl Follower {
    fn new(path: PathBuf) -> Self {
        Self {
            path,
            file: None,
            data: Vec::new(),
        }
    }

    /// Reads what was added since last time; returns the new bytes.
    fn poll(&mut self) -> &[u8] {
        let start = self.data.len();
        if self.file.is_none() {
            self.file = File::open(&self.path).ok();
        }
        if let Some(f) = &mut self.file {
            if f.seek(SeekFrom::Start(start as u64)).is_ok() {
                let _ = f.read_to_end(&mut self.data);
            }
        }
        &self.data[start..]
    }
}

/// A fresh folder for one boot under `runs_dir`.
fn new_run_dir(runs_dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(runs_dir).ctx(|| format!("creating {}", show(runs_dir)))?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = runs_dir.join(format!("{nanos}-{}", std::process::id()));
    std::fs::create_dir(&dir).ctx(|| format!("creating {}", show(&dir)))?;
    Ok(dir)
}

/// The last `n` lines of the console log, for failure reports.
fn console_tail(log: &Path, n: usize) -> String {
    let text = std::fs::read(log).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(n)..];
    if tail.is_empty() {
        "(the console log is empty)".into()
    } else {
        tail.join("\n")
    }
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Boots the guest once, runs `jobs` in order, and returns what each did. Fails (with the
/// console log's tail in the message) if the guest does not report every job's exit code
/// within `opts.timeout`.
/// How one boot went wrong: before the guest was ready (worth another boot: TCG guests
/// rarely panic early in boot) or later (the jobs' fault or a real hang).
enum Failure {
    Boot(Error),
    Run(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Run(e)
    }
}

/// Boots attempts before giving up on a guest that fails before it is ready.
const BOOT_ATTEMPTS: usize = 3;

/// Boots the guest, runs `jobs` in order, and reports their exit codes and output. A
/// guest that dies or hangs before it is ready to run jobs is booted again (up to
/// [`BOOT_ATTEMPTS`] times); a failure after that is final.
pub fn run(vm: &PreparedVm, jobs: &[Job], opts: &Options) -> Result<Report> {
    let mut attempt = 1;
    loop {
        match run_once(vm, jobs, opts) {
            Ok(r) => return Ok(r),
            Err(Failure::Run(e)) => return Err(e),
            Err(Failure::Boot(e)) if attempt >= BOOT_ATTEMPTS => return Err(e),
            Err(Failure::Boot(e)) => {
                eprintln!(
                    "vm: boot {attempt} of {BOOT_ATTEMPTS} failed before any job ran; booting again\n{e}"
                );
                attempt += 1;
            }
        }
    }
}

fn run_once(vm: &PreparedVm, jobs: &[Job], opts: &Options) -> std::result::Result<Report, Failure> {
    let cpuinfo =
        std::fs::read_to_string("/proc/cpuinfo").ctx(|| "reading /proc/cpuinfo".into())?;
    let khz = parse_cpu_khz(&cpuinfo)
        .ok_or_else(|| msg("no `cpu MHz` in /proc/cpuinfo: cannot set the guest's TSC rate"))?;
    let run_dir = new_run_dir(&vm.runs_dir)?;
    for (i, job) in jobs.iter().enumerate() {
        let path = run_dir.join(format!("job-{i}.sh"));
        std::fs::write(&path, job_script(job)?).ctx(|| format!("writing {}", show(&path)))?;
    }
    let console = run_dir.join("console.log");
    let log = File::create(&console).ctx(|| format!("creating {}", show(&console)))?;
    let log2 = log.try_clone().ctx(|| "duplicating a file handle".into())?;
    let start = Instant::now();
    let mut child = Command::new("qemu-system-x86_64")
        .args(qemu_args(vm, &run_dir, khz))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .spawn()
        .ctx(|| "starting qemu-system-x86_64 (package qemu-system-x86)".into())?;

    let fail =
        |child: &mut Child, why: String, booted: bool| -> std::result::Result<Report, Failure> {
            kill(child);
            let e = msg(format!(
                "{why}\n--- guest console (last lines of {}) ---\n{}\n---",
                show(&console),
                console_tail(&console, 40)
            ));
            Err(if booted {
                Failure::Run(e)
            } else {
                Failure::Boot(e)
            })
        };

    let booted = run_dir.join("booted");
    let mut boot = None;
    let mut results = Vec::new();
    let mut current: Option<(Follower, Follower, Instant)> = None;
    let mut exited = None;
    loop {
        if boot.is_none() && booted.exists() {
            boot = Some(start.elapsed());
        }
        if let Some(b) = boot {
            let i = results.len();
            if i < jobs.len() {
                let (out, err, began) = current.get_or_insert_with(|| {
                    if opts.announce {
                        eprintln!("==> [{}/{}] {}", i + 1, jobs.len(), jobs[i].name);
                    }
                    let began = if i == 0 { start + b } else { Instant::now() };
                    (
                        Follower::new(run_dir.join(format!("{i}.out"))),
                        Follower::new(run_dir.join(format!("{i}.err"))),
                        began,
                    )
                });
                let rc_path = run_dir.join(format!("{i}.rc"));
                let done = rc_path.exists();
                forward(out, err, opts.stream);
                if done {
                    let text = std::fs::read_to_string(&rc_path).unwrap_or_default();
                    let Ok(code) = text.trim().parse::<i32>() else {
                        return fail(
                            &mut child,
                            format!("guest wrote a bad exit code {text:?}"),
                            true,
                        );
                    };
                    let duration = began.elapsed();
                    let (out, _, _) = current.take().expect("current job");
                    results.push(JobResult {
                        code,
                        stdout: out.data,
                        duration,
                    });
                    continue;
                }
            }
        }
        if results.len() == jobs.len() && exited.is_some() {
            break;
        }
        if exited.is_none() {
            exited = child.try_wait().ctx(|| "waiting for qemu".into())?;
            if exited.is_some() {
                // The guest may have written its last results just before it stopped:
                // look once more before judging.
                continue;
            }
        }
        if let Some(st) = exited {
            if results.len() < jobs.len() {
                let what = if boot.is_none() {
                    "the guest stopped before it was ready to run jobs".to_string()
                } else {
                    format!(
                        "the guest stopped before reporting the exit code of job {} ({})",
                        results.len() + 1,
                        jobs[results.len()].name
                    )
                };
                let fatal = std::fs::read_to_string(run_dir.join("fatal")).unwrap_or_default();
                let fatal = if fatal.is_empty() {
                    String::new()
                } else {
                    format!(": {}", fatal.trim())
                };
                return fail(
                    &mut child,
                    format!("{what}{fatal} (qemu {st})"),
                    boot.is_some(),
                );
            }
        }
        let elapsed = start.elapsed();
        if elapsed > opts.timeout {
            if results.len() == jobs.len() {
                // Every job reported; the guest just did not power off.
                eprintln!("vm: warning: the guest did not power off; killed qemu");
                kill(&mut child);
                break;
            }
            return fail(
                &mut child,
                format!(
                    "timed out after {} s (boot {}): {} of {} jobs reported",
                    opts.timeout.as_secs(),
                    if boot.is_some() {
                        "done"
                    } else {
                        "not finished"
                    },
                    results.len(),
                    jobs.len()
                ),
                boot.is_some(),
            );
        }
        std::thread::sleep(Duration::from_millis(if opts.stream { 50 } else { 100 }));
    }
    let total = start.elapsed();
    if !opts.keep {
        let _ = std::fs::remove_dir_all(&run_dir);
    }
    Ok(Report {
        results,
        boot: boot.unwrap_or(total),
        total,
    })
}

fn forward(out: &mut Follower, err: &mut Follower, stream: bool) {
    let new_out = out.poll();
    if stream && !new_out.is_empty() {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(new_out);
        let _ = stdout.flush();
    }
    let new_err = err.poll();
    if stream && !new_err.is_empty() {
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(new_err);
        let _ = stderr.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(sh_quote("plain"), "'plain'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_quote(""), "''");
    }

    #[test]
    fn env_names() {
        assert!(valid_env_name("PENSTOCK_REQUIRE_KERNEL"));
        assert!(valid_env_name("_x1"));
        assert!(!valid_env_name("1X"));
        assert!(!valid_env_name("A-B"));
        assert!(!valid_env_name(""));
    }

    #[test]
    fn script_sets_env_cwd_and_execs() {
        let job = Job {
            name: "sh".into(),
            argv: vec!["/bin/sh".into(), "-c".into(), "echo 'hi'; exit 3".into()],
            cwd: "/work/a b".into(),
            env: vec![("K".into(), "v w".into())],
        };
        let s = job_script(&job).unwrap();
        assert!(s.contains("export K='v w'\n"));
        assert!(s.contains(
            "cd '/work/a b' || { echo 'vm: cannot enter /work/a b in the guest' >&2; exit 125; }\n"
        ));
        assert!(s.ends_with("exec '/bin/sh' '-c' 'echo '\\''hi'\\''; exit 3'\n"));
        let bad = Job {
            env: vec![("A=B".into(), String::new())],
            ..job
        };
        assert!(job_script(&bad).is_err());
    }

    #[test]
    fn cpu_khz() {
        let cpuinfo = "processor\t: 0\nmodel name\t: X\ncpu MHz\t\t: 2596.098\n\nprocessor\t: 1\ncpu MHz\t\t: 2600.000\n";
        assert_eq!(parse_cpu_khz(cpuinfo), Some(2_596_098));
        assert_eq!(parse_cpu_khz("processor: 0\n"), None);
    }

    #[test]
    fn qemu_command_line() {
        let vm = PreparedVm {
            kernel: crate::apt::KernelPackage {
                name: "k".into(),
                version: "1".into(),
            },
            vmlinux: "/c/vmlinux".into(),
            initramfs: "/c/initramfs.cpio".into(),
            runs_dir: "/c/runs".into(),
        };
        let args = qemu_args(&vm, Path::new("/c/runs/a,b"), 2_596_098);
        let after = |flag: &str| {
            let i = args.iter().position(|a| a == flag).unwrap();
            args[i + 1].clone()
        };
        assert_eq!(after("-M"), "microvm,acpi=on,pit=on,pic=on,rtc=on");
        assert_eq!(after("-accel"), "tcg");
        assert_eq!(after("-kernel"), "/c/vmlinux");
        assert!(after("-append").contains("tsc_early_khz=2596098 tsc=reliable no_timer_check"));
        assert!(
            args.contains(&"local,id=results,path=/c/runs/a,,b,security_model=none".to_string())
        );
        assert!(
            args.iter()
                .any(|a| a.contains("path=/,security_model=none,readonly=on"))
        );
    }
}
