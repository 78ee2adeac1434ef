//! The memory bounds of `penstock::limits`: pools refuse preallocations above the pool
//! bound when configured, before allocating anything, without overflowing.

use penstock::allocator::AllocationParams;
use penstock::limits::{self, DEFAULT_MAX_POOL_SIZE};
use penstock::pool::{BufferPool, PoolConfig, PoolError};

fn reason(r: Result<PoolConfig, PoolError>) -> String {
    match r {
        Err(PoolError::Config {
            reason,
            proposal: None,
        }) => reason,
        other => panic!("expected a refused configuration, got {other:?}"),
    }
}

#[test]
fn pools_refuse_preallocations_above_the_bound() {
    // The environment is not set in tests, so the default bound applies.
    assert_eq!(limits::max_pool_size(), Ok(DEFAULT_MAX_POOL_SIZE));
    let pool = BufferPool::new("limits");
    let gib = 1usize << 30;
    // 4 x 1 GiB is exactly the bound: accepted (nothing is allocated until set_active).
    pool.set_config(PoolConfig::new(gib).min_max(4, 0)).unwrap();
    let r = reason(pool.set_config(PoolConfig::new(gib).min_max(5, 0)));
    assert_eq!(
        r,
        "preallocating 5 buffers of 1073741824 bytes needs 5368709120 bytes (5.0 GiB), above \
         the pool bound of 4294967296 bytes (4.0 GiB); ask for fewer or smaller buffers, or \
         raise the bound with PENSTOCK_MAX_POOL_SIZE=<bytes> (e.g. 16G) or \
         penstock::limits::set_max_pool_size"
    );
    // Prefix and padding count; products beyond 64 bits are refused, not wrapped.
    let padded = AllocationParams {
        padding: 1,
        ..AllocationParams::default()
    };
    reason(pool.set_config(PoolConfig::new(gib).min_max(4, 0).params(padded)));
    let r = reason(pool.set_config(PoolConfig::new(usize::MAX).min_max(u32::MAX, 0)));
    assert!(r.contains("more than 2^64 bytes"), "{r}");
    // A refused configuration leaves the pool unconfigured-or-previous, never active.
    assert!(!pool.is_active());
}

/// An allocation the system cannot make is a clean `MemoryError`, never an abort: the
/// system allocator's null return is handled (here 4 EiB, beyond any address space).
#[test]
#[cfg(target_pointer_width = "64")]
#[cfg_attr(
    miri,
    ignore = "Miri reports resource exhaustion instead of returning null"
)]
fn impossible_allocations_are_clean_errors() {
    use penstock::allocator::{Allocator, SystemAllocator};
    use penstock::memory::MemoryError;
    match SystemAllocator.alloc(1 << 62, &AllocationParams::default()) {
        Err(MemoryError::Alloc { size, reason }) => {
            assert_eq!(size, 1 << 62);
            assert!(reason.contains("out of memory"), "{reason}");
        }
        other => panic!("expected an allocation error, got {other:?}"),
    }
}
