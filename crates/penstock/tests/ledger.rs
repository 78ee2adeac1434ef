//! Integration tests of `penstock::ledger`: sites (nesting, per thread), per-site and
//! per-reason accounting, `since`, `reset`, the report text.
//!
//! The ledger is process-wide and this file is one process: every test takes `LOCK`, so
//! that `reset` and the exact `since` checks see only their own records.

use std::sync::{Arc, Mutex, MutexGuard};

use penstock::ledger::{self, CopyReason, Totals};
use penstock::sync::MutexExt;

static LOCK: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    LOCK.lock_ignore_poison()
}

#[test]
fn sites_nest_and_restore() {
    let _l = serial();
    assert_eq!(
        ledger::current_site(),
        None,
        "a fresh test thread has no site"
    );
    let outer = ledger::enter_site("ledger-test-outer");
    assert_eq!(ledger::current_site().as_deref(), Some("ledger-test-outer"));
    {
        let inner = ledger::enter_site(String::from("ledger-test-inner"));
        assert_eq!(ledger::current_site().as_deref(), Some("ledger-test-inner"));
        ledger::record_copy(CopyReason::Cow, 5, "fallback");
        {
            let _innermost = ledger::enter_site(Arc::<str>::from("ledger-test-innermost"));
            ledger::record_copy(CopyReason::Cow, 7, "fallback");
        }
        assert_eq!(ledger::current_site().as_deref(), Some("ledger-test-inner"));
        assert!(format!("{inner:?}").contains("SiteGuard"));
    }
    assert_eq!(ledger::current_site().as_deref(), Some("ledger-test-outer"));
    ledger::record_copy(CopyReason::Cow, 11, "fallback");
    drop(outer);
    assert_eq!(ledger::current_site(), None);

    let snap = ledger::snapshot();
    assert_eq!(snap.site("ledger-test-inner").copies.bytes, 5);
    assert_eq!(snap.site("ledger-test-innermost").copies.bytes, 7);
    assert_eq!(snap.site("ledger-test-outer").copies.bytes, 11);
    assert_eq!(snap.site("fallback").copies.count, 0);
}

#[test]
fn records_per_site_and_reason() {
    let _l = serial();
    let name = "ledger-test-record";
    let before = ledger::snapshot();
    {
        let _s = ledger::enter_site(name);
        ledger::record_copy(CopyReason::Cow, 10, "x");
        ledger::record_copy(CopyReason::Cow, 5, "x");
        ledger::record_copy(CopyReason::Merge, 7, "x");
        ledger::record_copy(CopyReason::Explicit, 0, "x");
        ledger::record_allocation(100, "x");
        ledger::record_allocation(28, "x");
    }
    let snap = ledger::snapshot();
    let s = snap.site(name);
    assert_eq!(
        s.copies,
        Totals {
            count: 4,
            bytes: 22
        }
    );
    assert_eq!(
        s.reason(CopyReason::Cow),
        Totals {
            count: 2,
            bytes: 15
        }
    );
    assert_eq!(s.reason(CopyReason::Merge), Totals { count: 1, bytes: 7 });
    assert_eq!(
        s.reason(CopyReason::Explicit),
        Totals { count: 1, bytes: 0 }
    );
    assert_eq!(s.reason(CopyReason::MapRange), Totals::default());
    assert_eq!(
        s.allocations,
        Totals {
            count: 2,
            bytes: 128
        }
    );
    // The per-reason table sums to the total.
    let sum: u64 = s.copies_by_reason.iter().map(|t| t.bytes).sum();
    assert_eq!(sum, s.copies.bytes);
    // Global totals moved by (at least, and here exactly) as much.
    let d = snap.since(&before);
    assert_eq!(
        d.copies,
        Totals {
            count: 4,
            bytes: 22
        }
    );
    assert_eq!(
        d.reason(CopyReason::Cow),
        Totals {
            count: 2,
            bytes: 15
        }
    );
    assert_eq!(
        d.allocations,
        Totals {
            count: 2,
            bytes: 128
        }
    );
    // A site that never reported reads as zero.
    assert_eq!(
        snap.site("ledger-test-never"),
        ledger::SiteTotals::default()
    );
}

#[test]
fn fallback_site_without_an_entered_one() {
    let _l = serial();
    assert_eq!(ledger::current_site(), None);
    ledger::record_copy(CopyReason::Alignment, 64, "ledger-test-fallback");
    ledger::record_allocation(64, "ledger-test-fallback");
    let s = ledger::snapshot().site("ledger-test-fallback");
    assert_eq!(s.reason(CopyReason::Alignment).bytes, 64);
    assert_eq!(s.allocations.bytes, 64);
}

#[test]
fn sites_are_per_thread() {
    let _l = serial();
    let _s = ledger::enter_site("ledger-test-main-thread");
    std::thread::spawn(|| {
        assert_eq!(ledger::current_site(), None);
        ledger::record_copy(CopyReason::MemoryType, 3, "ledger-test-other-thread");
        let _t = ledger::enter_site("ledger-test-thread-site");
        ledger::record_copy(CopyReason::MemoryType, 4, "ledger-test-other-thread");
    })
    .join()
    .unwrap();
    let snap = ledger::snapshot();
    assert_eq!(snap.site("ledger-test-main-thread").copies.count, 0);
    assert_eq!(snap.site("ledger-test-other-thread").copies.bytes, 3);
    assert_eq!(snap.site("ledger-test-thread-site").copies.bytes, 4);
    assert_eq!(
        ledger::current_site().as_deref(),
        Some("ledger-test-main-thread")
    );
}

#[test]
fn since_reports_only_what_changed() {
    let _l = serial();
    // Something before, at a site that does not change afterwards.
    {
        let _s = ledger::enter_site("ledger-test-since-quiet");
        ledger::record_copy(CopyReason::Explicit, 1, "x");
    }
    let before = ledger::snapshot();
    {
        let _s = ledger::enter_site("ledger-test-since-busy");
        ledger::record_copy(CopyReason::PaddedChunk, 640, "x");
        ledger::record_copy(CopyReason::PaddedChunk, 640, "x");
    }
    {
        let _s = ledger::enter_site("ledger-test-since-new");
        ledger::record_allocation(4096, "x");
    }
    let after = ledger::snapshot();
    let d = after.since(&before);
    assert_eq!(d.sites.len(), 2, "{:?}", d.sites.keys().collect::<Vec<_>>());
    assert!(!d.sites.contains_key("ledger-test-since-quiet"));
    let busy = d.site("ledger-test-since-busy");
    assert_eq!(
        busy.reason(CopyReason::PaddedChunk),
        Totals {
            count: 2,
            bytes: 1280
        }
    );
    assert_eq!(busy.allocations, Totals::default());
    let new = d.site("ledger-test-since-new");
    assert_eq!(new.copies, Totals::default());
    assert_eq!(
        new.allocations,
        Totals {
            count: 1,
            bytes: 4096
        }
    );
    assert_eq!(
        d.copies,
        Totals {
            count: 2,
            bytes: 1280
        }
    );
    assert_eq!(d.reason(CopyReason::Explicit), Totals::default());
    assert_eq!(
        d.allocations,
        Totals {
            count: 1,
            bytes: 4096
        }
    );
    // Nothing since now.
    let none = after.since(&after);
    assert!(none.sites.is_empty());
    assert_eq!(none.copies, Totals::default());
    // Against a later snapshot (after a reset, say) it saturates at zero.
    let back = before.since(&after);
    assert_eq!(back.copies, Totals::default());
    assert!(back.sites.is_empty());
}

#[test]
fn reset_zeroes_everything() {
    let _l = serial();
    {
        let _s = ledger::enter_site("ledger-test-reset");
        ledger::record_copy(CopyReason::Cow, 9, "x");
        ledger::record_allocation(9, "x");
    }
    assert!(ledger::snapshot().copies.count > 0);
    ledger::reset();
    let snap = ledger::snapshot();
    assert_eq!(snap.copies, Totals::default());
    assert_eq!(snap.allocations, Totals::default());
    assert!(snap.sites.is_empty());
    for r in CopyReason::ALL {
        assert_eq!(snap.reason(r), Totals::default());
    }
    assert_eq!(snap, ledger::LedgerSnapshot::default());
    // Still counting afterwards.
    {
        let _s = ledger::enter_site("ledger-test-reset");
        ledger::record_copy(CopyReason::Cow, 2, "x");
    }
    let snap = ledger::snapshot();
    assert_eq!(snap.copies, Totals { count: 1, bytes: 2 });
    assert_eq!(snap.site("ledger-test-reset").copies.bytes, 2);
}

#[test]
fn reasons_have_stable_names() {
    let names: Vec<&str> = CopyReason::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(
        names,
        [
            "cow",
            "padded-chunk",
            "merge",
            "map-range",
            "alignment",
            "memory-type",
            "explicit",
            "crop",
            "convert"
        ]
    );
    for r in CopyReason::ALL {
        assert_eq!(r.to_string(), r.as_str());
    }
}

#[test]
fn display_names_reasons_and_sites() {
    let _l = serial();
    let before = ledger::snapshot();
    {
        let _s = ledger::enter_site("ledger-test-display");
        ledger::record_copy(CopyReason::Cow, 100, "x");
        ledger::record_copy(CopyReason::PaddedChunk, 20, "x");
        ledger::record_allocation(300, "x");
    }
    let d = ledger::snapshot().since(&before);
    let text = d.to_string();
    assert!(text.contains("copies: 2 (120 bytes)"), "{text}");
    assert!(text.contains("allocations: 1 (300 bytes)"), "{text}");
    assert!(text.contains("cow"), "{text}");
    assert!(text.contains("padded-chunk"), "{text}");
    assert!(
        !text.contains("map-range"),
        "reasons without copies are left out: {text}"
    );
    assert!(text.contains("ledger-test-display"), "{text}");
    // An empty report still has its header.
    let empty = ledger::LedgerSnapshot::default().to_string();
    assert!(empty.starts_with("copies: 0 (0 bytes)"), "{empty}");
}

#[test]
fn concurrent_records_are_all_counted() {
    let _l = serial();
    let threads = 4;
    let per = if cfg!(miri) { 10 } else { 1000 };
    let hs: Vec<_> = (0..threads)
        .map(|t| {
            std::thread::spawn(move || {
                let _s = ledger::enter_site(format!("ledger-test-concurrent-{t}"));
                for _ in 0..per {
                    ledger::record_copy(CopyReason::Merge, 3, "x");
                    let _shared = ledger::enter_site("ledger-test-concurrent-shared");
                    ledger::record_allocation(2, "x");
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    let snap = ledger::snapshot();
    for t in 0..threads {
        let s = snap.site(&format!("ledger-test-concurrent-{t}"));
        assert_eq!(
            s.reason(CopyReason::Merge),
            Totals {
                count: per,
                bytes: 3 * per
            }
        );
        assert_eq!(s.allocations, Totals::default());
    }
    let shared = snap.site("ledger-test-concurrent-shared");
    assert_eq!(shared.allocations.count, threads * per);
    assert_eq!(shared.allocations.bytes, 2 * threads * per);
}
