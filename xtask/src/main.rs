//! Developer tasks of the penstock workspace (`cargo xtask ...`).
//!
//! The host kernel has no V4L2, DMA-BUF heaps or udmabuf, so kernel tests run in a QEMU
//! guest booting Debian 12's 6.12 kernel: see `xtask/README.md`.

mod apt;
mod error;
mod kernel;
mod libtest;
mod prepare;
mod vm;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use clap::{Parser, Subcommand};

use error::{Result, msg, output, show};

#[derive(Parser)]
#[command(
    name = "xtask",
    bin_name = "cargo xtask",
    about = "penstock developer tasks"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run one host program in the kernel test guest, as root, in the current directory;
    /// exits with the program's exit code (125 when the guest itself failed).
    #[command(name = "vm-run")]
    Run {
        /// Set an environment variable in the guest (`K=V`), or pass the host's value (`K`).
        #[arg(long = "env", short = 'e', value_name = "K[=V]")]
        env: Vec<String>,
        /// Give up (and fail) when the guest has not finished after this many seconds.
        #[arg(long, default_value_t = 300, value_name = "SECONDS")]
        timeout: u64,
        /// Keep the run folder (console log, outputs) under target/vm/runs.
        #[arg(long)]
        keep: bool,
        /// Program (a host path, or a name looked up in the guest's PATH) and its arguments.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Build every integration test target named `kernel` and run them all in one guest
    /// boot with PENSTOCK_REQUIRE_KERNEL=1.
    #[command(name = "vm-test")]
    Test {
        /// Only list the packages that have a `kernel` test target.
        #[arg(long)]
        list: bool,
        /// Give up (and fail) when the guest has not finished after this many seconds.
        #[arg(long, default_value_t = 600, value_name = "SECONDS")]
        timeout: u64,
        /// Keep the run folder (console log, outputs) under target/vm/runs.
        #[arg(long)]
        keep: bool,
        /// Arguments for every test binary (libtest's: a filter, --nocapture, ...).
        #[arg(last = true)]
        test_args: Vec<String>,
    },
    /// Only prepare the guest (packages, kernel, initramfs) and print what is cached where.
    #[command(name = "vm-prepare")]
    Prepare,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (name, result) = match cli.command {
        Cmd::Run {
            env,
            timeout,
            keep,
            command,
        } => ("vm-run", vm_run(&env, timeout, keep, command)),
        Cmd::Test {
            list,
            timeout,
            keep,
            test_args,
        } => ("vm-test", vm_test(list, timeout, keep, &test_args)),
        Cmd::Prepare => ("vm-prepare", vm_prepare()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask {name}: error: {e}");
            // vm-run's own exit code is the program's: its failures get one no test uses.
            ExitCode::from(if name == "vm-run" { VM_RUN_FAILED } else { 1 })
        }
    }
}

/// Exit code of `vm-run` when the guest (not the program) failed.
const VM_RUN_FAILED: u8 = 125;

/// Folders the guest mounts its own file systems over: host files there are not visible.
const GUEST_OWNED: &[&str] = &["/proc", "/sys", "/dev", "/run"];

fn check_visible(what: &str, path: &Path) -> Result<()> {
    if let Some(dir) = GUEST_OWNED.iter().find(|d| path.starts_with(d)) {
        return Err(msg(format!(
            "{what} {} is under {dir}, which the guest replaces with its own",
            show(path)
        )));
    }
    Ok(())
}

fn parse_env(specs: &[String]) -> Result<Vec<(String, String)>> {
    specs
        .iter()
        .map(|spec| {
            let (key, value) = match spec.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => {
                    let v = std::env::var(spec).map_err(|_| {
                        msg(format!(
                            "--env {spec}: no such variable in the host environment"
                        ))
                    })?;
                    (spec.clone(), v)
                }
            };
            if !vm::valid_env_name(&key) {
                return Err(msg(format!("--env {spec}: `{key}` is not a variable name")));
            }
            Ok((key, value))
        })
        .collect()
}

fn vm_run(env: &[String], timeout: u64, keep: bool, command: Vec<String>) -> Result<ExitCode> {
    let env = parse_env(env)?;
    let cwd = std::env::current_dir().map_err(|e| msg(format!("current directory: {e}")))?;
    check_visible("the current directory", &cwd)?;
    let program = &command[0];
    if program.contains('/') {
        let path = cwd.join(program);
        if !path.exists() {
            return Err(msg(format!("{program}: no such file on the host")));
        }
        let real = path.canonicalize().unwrap_or(path);
        check_visible("the program", &real)?;
    }
    let prepared = prepare::prepare(true)?;
    let job = vm::Job {
        name: command.join(" "),
        argv: command,
        cwd,
        env,
    };
    let opts = vm::Options {
        timeout: Duration::from_secs(timeout),
        stream: true,
        announce: false,
        keep,
    };
    let report = vm::run(&prepared, std::slice::from_ref(&job), &opts)?;
    let result = &report.results[0];
    eprintln!(
        "vm-run: exit code {}; guest boot {:.1} s, program {:.1} s, total {:.1} s",
        result.code,
        report.boot.as_secs_f64(),
        result.duration.as_secs_f64(),
        report.total.as_secs_f64()
    );
    Ok(ExitCode::from(result.code.clamp(0, 255) as u8))
}

fn vm_prepare() -> Result<ExitCode> {
    let vm = prepare::prepare(false)?;
    println!("kernel package: {} {}", vm.kernel.name, vm.kernel.version);
    println!("vmlinux:        {}", show(&vm.vmlinux));
    println!("initramfs:      {}", show(&vm.initramfs));
    println!("runs:           {}", show(&vm.runs_dir));
    Ok(ExitCode::SUCCESS)
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(prepare::workspace_root());
    cmd
}

/// The test target name `vm-test` runs.
const KERNEL_TEST: &str = "kernel";

/// Packages of the workspace with an integration test target named [`KERNEL_TEST`].
fn kernel_test_packages() -> Result<Vec<String>> {
    let out = output(cargo().args(["metadata", "--no-deps", "--format-version", "1"]))?;
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| msg(format!("cargo metadata printed bad JSON: {e}")))?;
    let mut packages = Vec::new();
    for pkg in meta["packages"].as_array().into_iter().flatten() {
        let has = pkg["targets"].as_array().into_iter().flatten().any(|t| {
            t["name"] == KERNEL_TEST
                && t["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "test"))
        });
        if has {
            packages.push(pkg["name"].as_str().unwrap_or_default().to_owned());
        }
    }
    Ok(packages)
}

fn vm_test(list: bool, timeout: u64, keep: bool, test_args: &[String]) -> Result<ExitCode> {
    let packages = kernel_test_packages()?;
    if packages.is_empty() {
        return Err(msg(format!(
            "no package of the workspace has an integration test target named `{KERNEL_TEST}` \
             (tests/{KERNEL_TEST}.rs); nothing to run"
        )));
    }
    if list {
        for p in &packages {
            println!("{p}: tests/{KERNEL_TEST}.rs");
        }
        return Ok(ExitCode::SUCCESS);
    }

    eprintln!(
        "vm-test: building the `{KERNEL_TEST}` tests of {}",
        packages.join(", ")
    );
    let mut build = cargo();
    build.args([
        "test",
        "--no-run",
        "--message-format=json-render-diagnostics",
    ]);
    for p in &packages {
        build.args(["-p", p]);
    }
    build
        .args(["--test", KERNEL_TEST])
        .stderr(std::process::Stdio::inherit());
    let out = build
        .output()
        .map_err(|e| msg(format!("cannot run cargo: {e}")))?;
    if !out.status.success() {
        return Err(msg(format!(
            "building the `{KERNEL_TEST}` tests failed ({}); the compiler's messages are above",
            out.status
        )));
    }
    let mut binaries =
        libtest::test_executables(&String::from_utf8_lossy(&out.stdout), KERNEL_TEST);
    binaries.sort_by(|a, b| a.package.cmp(&b.package));
    if binaries.len() != packages.len() {
        return Err(msg(format!(
            "cargo built {} `{KERNEL_TEST}` test executables for {} packages",
            binaries.len(),
            packages.len()
        )));
    }

    let prepared = prepare::prepare(false)?;
    let mut env = vec![("PENSTOCK_REQUIRE_KERNEL".to_owned(), "1".to_owned())];
    if let Ok(bt) = std::env::var("RUST_BACKTRACE") {
        env.push(("RUST_BACKTRACE".into(), bt));
    }
    let jobs: Vec<vm::Job> = binaries
        .iter()
        .map(|b| {
            let mut env = env.clone();
            env.push((
                "CARGO_MANIFEST_DIR".into(),
                b.package_dir.display().to_string(),
            ));
            env.push(("CARGO_PKG_NAME".into(), b.package.clone()));
            let mut argv = vec![b.executable.display().to_string()];
            argv.extend(test_args.iter().cloned());
            vm::Job {
                name: format!("{} {}", b.package, b.executable.display()),
                argv,
                cwd: b.package_dir.clone(),
                env,
            }
        })
        .collect();
    let opts = vm::Options {
        timeout: Duration::from_secs(timeout),
        stream: true,
        announce: true,
        keep,
    };
    let report = vm::run(&prepared, &jobs, &opts)?;

    let mut failures = 0;
    println!();
    println!(
        "vm-test summary: guest boot {:.1} s, total {:.1} s ({} {})",
        report.boot.as_secs_f64(),
        report.total.as_secs_f64(),
        prepared.kernel.name,
        prepared.kernel.version
    );
    for (bin, res) in binaries.iter().zip(&report.results) {
        let sum = libtest::parse_summary(&String::from_utf8_lossy(&res.stdout));
        let problem = if res.code != 0 {
            Some(format!("exit code {}", res.code))
        } else if sum.results == 0 {
            Some("printed no `test result:` line".to_owned())
        } else if sum.passed == 0 {
            Some("ran zero tests".to_owned())
        } else {
            None
        };
        let name = bin
            .executable
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_default();
        println!(
            "  {:<6} {} ({}): {} passed, {} failed, {} ignored, {:.1} s{}",
            if problem.is_some() { "FAIL" } else { "ok" },
            bin.package,
            name.display(),
            sum.passed,
            sum.failed,
            sum.ignored,
            res.duration.as_secs_f64(),
            problem.map(|p| format!(" -- {p}")).unwrap_or_default()
        );
        failures += usize::from(res.code != 0 || sum.results == 0 || sum.passed == 0);
    }
    if failures > 0 {
        return Err(msg(format!(
            "{failures} of {} kernel test binaries failed",
            binaries.len()
        )));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_specs() {
        let env = parse_env(&["A=1".into(), "B=x=y".into(), "C=".into()]).unwrap();
        assert_eq!(
            env,
            [
                ("A".to_owned(), "1".to_owned()),
                ("B".to_owned(), "x=y".to_owned()),
                ("C".to_owned(), String::new())
            ]
        );
        assert!(parse_env(&["1A=1".into()]).is_err());
        assert!(parse_env(&["PENSTOCK_XTASK_SURELY_UNSET_VARIABLE".into()]).is_err());
    }

    #[test]
    fn guest_owned_folders_are_refused() {
        assert!(check_visible("x", Path::new("/run/user/0/a.out")).is_err());
        assert!(check_visible("x", Path::new("/proc/self/exe")).is_err());
        assert!(check_visible("x", Path::new("/runner/bin")).is_ok());
        assert!(check_visible("x", Path::new("/tmp/t/debug/deps/kernel-1")).is_ok());
    }
}
