//! Bounds on how much memory caps may ask for, so that a typo such as
//! `width=100000,height=100000` is refused at negotiation instead of growing the
//! process until the kernel's OOM killer ends it.
//!
//! * **Frame size** ([`max_frame_size`]): the largest frame a video layout may
//!   describe, checked when `penstock_video::VideoInfo` computes a layout from a format
//!   and size (`VideoInfo::new`, `VideoInfo::align`), i.e. at negotiation, before
//!   anything is allocated. Default [`DEFAULT_MAX_FRAME_SIZE`] (1 GiB: a 16384×16384
//!   RGBA frame).
//! * **Pool size** ([`max_pool_size`]): the most bytes a buffer pool may preallocate
//!   (`min` buffers × their size), checked when the pool is configured. Default
//!   [`DEFAULT_MAX_POOL_SIZE`] (4 GiB).
//!
//! Each is raised (or lowered) for the whole process by its environment variable
//! ([`MAX_FRAME_SIZE_ENV`], [`MAX_POOL_SIZE_ENV`]: bytes, or a number with a `K`, `M`,
//! `G` or `T` suffix, powers of 1024; read once) or by [`set_max_frame_size`] /
//! [`set_max_pool_size`], which win over the environment.
//!
//! ```
//! use penstock::limits;
//!
//! assert_eq!(limits::parse_size("16G"), Some(16 << 30));
//! assert_eq!(limits::describe(15_000_000_000), "15000000000 bytes (14.0 GiB)");
//! ```

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Default largest frame: 1 GiB.
pub const DEFAULT_MAX_FRAME_SIZE: u64 = 1 << 30;
/// Default largest preallocation of one buffer pool: 4 GiB.
pub const DEFAULT_MAX_POOL_SIZE: u64 = 4 << 30;
/// The environment variable that sets the largest frame size.
pub const MAX_FRAME_SIZE_ENV: &str = "PENSTOCK_MAX_FRAME_SIZE";
/// The environment variable that sets the largest pool preallocation.
pub const MAX_POOL_SIZE_ENV: &str = "PENSTOCK_MAX_POOL_SIZE";

/// A limit's environment variable holds something that is not a size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{var}={value:?} is not a size: write a number of bytes such as 2147483648, or with a \
     K, M, G or T suffix such as 2G"
)]
pub struct LimitError {
    /// The variable.
    pub var: &'static str,
    /// What it holds.
    pub value: String,
}

struct Limit {
    env: &'static str,
    default: u64,
    /// 0: not set through the API.
    set: AtomicU64,
    from_env: OnceLock<Result<Option<u64>, LimitError>>,
}

impl Limit {
    const fn new(env: &'static str, default: u64) -> Limit {
        Limit {
            env,
            default,
            set: AtomicU64::new(0),
            from_env: OnceLock::new(),
        }
    }

    fn get(&self) -> Result<u64, LimitError> {
        let set = self.set.load(Ordering::Relaxed);
        if set != 0 {
            return Ok(set);
        }
        let env = self.from_env.get_or_init(|| match std::env::var(self.env) {
            Ok(value) => parse_size(&value).map(Some).ok_or(LimitError {
                var: self.env,
                value,
            }),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(v)) => Err(LimitError {
                var: self.env,
                value: v.to_string_lossy().into_owned(),
            }),
        });
        env.clone().map(|v| v.unwrap_or(self.default))
    }
}

static FRAME: Limit = Limit::new(MAX_FRAME_SIZE_ENV, DEFAULT_MAX_FRAME_SIZE);
static POOL: Limit = Limit::new(MAX_POOL_SIZE_ENV, DEFAULT_MAX_POOL_SIZE);

/// The largest frame, in bytes, a video layout may have: [`set_max_frame_size`]'s
/// value, else [`MAX_FRAME_SIZE_ENV`]'s, else [`DEFAULT_MAX_FRAME_SIZE`].
///
/// # Errors
/// [`LimitError`] when the environment variable is set to something that is not a size.
pub fn max_frame_size() -> Result<u64, LimitError> {
    FRAME.get()
}

/// Sets the largest frame size for the whole process (over the environment variable);
/// 0 goes back to the environment variable or the default.
pub fn set_max_frame_size(bytes: u64) {
    FRAME.set.store(bytes, Ordering::Relaxed);
}

/// The most bytes one buffer pool may preallocate (`min` buffers × size):
/// [`set_max_pool_size`]'s value, else [`MAX_POOL_SIZE_ENV`]'s, else
/// [`DEFAULT_MAX_POOL_SIZE`].
///
/// # Errors
/// [`LimitError`] when the environment variable is set to something that is not a size.
pub fn max_pool_size() -> Result<u64, LimitError> {
    POOL.get()
}

/// Sets the largest pool preallocation for the whole process (over the environment
/// variable); 0 goes back to the environment variable or the default.
pub fn set_max_pool_size(bytes: u64) {
    POOL.set.store(bytes, Ordering::Relaxed);
}

/// Reads a size: decimal bytes, or a number followed by `K`, `M`, `G` or `T` (powers of
/// 1024, case-insensitive, an optional trailing `B` or `iB`). `None` for anything else,
/// for 0 and on overflow.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix("ib"))
        .or_else(|| t.strip_suffix(['B', 'b']))
        .unwrap_or(t);
    let (digits, shift) = match t.char_indices().last()? {
        (i, 'k' | 'K') => (&t[..i], 10),
        (i, 'm' | 'M') => (&t[..i], 20),
        (i, 'g' | 'G') => (&t[..i], 30),
        (i, 't' | 'T') => (&t[..i], 40),
        _ => (t, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let bytes = n.checked_mul(1u64 << shift)?;
    (bytes > 0).then_some(bytes)
}

/// `bytes` for messages, exact and readable: `15000000000 bytes (14.0 GiB)`.
pub fn describe(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{bytes} bytes ({v:.1} {})", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("16G"), Some(16 << 30));
        assert_eq!(parse_size(" 512m "), Some(512 << 20));
        assert_eq!(parse_size("2GiB"), Some(2 << 30));
        assert_eq!(parse_size("3kB"), Some(3 << 10));
        assert_eq!(parse_size("1T"), Some(1 << 40));
        for bad in [
            "",
            "G",
            "0",
            "-1",
            "1.5G",
            "12X",
            "99999999999999999999",
            "16777216T",
        ] {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn sizes_are_described_in_bytes_and_units() {
        assert_eq!(describe(100), "100 bytes");
        assert_eq!(describe(15_000_000_000), "15000000000 bytes (14.0 GiB)");
        assert_eq!(describe(1 << 30), "1073741824 bytes (1.0 GiB)");
    }
}
