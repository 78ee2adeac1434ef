//! The gate of penstock's kernel tests (the `tests/kernel.rs` targets, which
//! `cargo xtask vm-test` runs in a QEMU guest whose kernel has every feature).
//!
//! A test asks [`kernel_has`] for the devices it needs. On a kernel without them the test
//! reports itself as not run and passes — unless `PENSTOCK_REQUIRE_KERNEL=1` is set (as
//! the guest runner does), where a missing device fails it, so a guest that lost a
//! feature cannot pass silently.

use std::io::Write;
use std::path::Path;

/// The environment variable that turns a missing device into a failure.
pub const REQUIRE_ENV: &str = "PENSTOCK_REQUIRE_KERNEL";

/// Whether any of `devices` exists, for kernel test `name`. When none does: a panic
/// (test failure) under `PENSTOCK_REQUIRE_KERNEL=1`, else the line
/// `kernel-test NAME: not run on this kernel (no DEVICE)` on stderr (past the test
/// harness's capture, so it shows in every run) and `false`.
///
/// # Panics
/// When no device exists and `PENSTOCK_REQUIRE_KERNEL=1` is set: that is the point.
pub fn kernel_has(name: &str, devices: &[&str]) -> bool {
    if devices.iter().any(|d| Path::new(d).exists()) {
        return true;
    }
    let line = format!(
        "kernel-test {name}: not run on this kernel (no {})",
        devices.join(" nor ")
    );
    assert!(
        std::env::var_os(REQUIRE_ENV).is_none_or(|v| v != "1"),
        "{line}, and {REQUIRE_ENV}=1 requires it"
    );
    let _ = writeln!(std::io::stderr().lock(), "{line}");
    false
}
