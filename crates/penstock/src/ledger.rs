//! Process-wide accounting of copies and allocations.
//!
//! Every place in penstock that copies bytes or allocates a memory reports it here
//! with a [`CopyReason`] and a *site*: the element (or API) that caused it. Tools read a
//! [`snapshot`] to tell the user how many bytes were copied, why, and where.
//!
//! The totals per reason are plain atomics; the per-site tables take a lock, but only on
//! the path that is already paying for a copy or an allocation. When nothing is copied
//! the ledger costs almost nothing: entering a site (done per element per buffer) writes
//! a small interned id into a thread-local cell and leaving it writes the previous id
//! back: no lock, no atomic, no allocation, no map lookup. Names are interned once
//! (when an element is made, or by [`enter_site`] with a name) and looked up only when
//! a copy or allocation is recorded.
//!
//! ```
//! use penstock::ledger::{self, CopyReason};
//! let _site = ledger::enter_site("doc-example");
//! ledger::record_copy(CopyReason::Explicit, 4096, "example");
//! let snap = ledger::snapshot();
//! assert_eq!(snap.site("doc-example").copies.count, 1);
//! assert_eq!(snap.site("doc-example").copies.bytes, 4096);
//! ```

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::sync::MutexExt;

/// Why a copy was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CopyReason {
    /// Write access was asked for a memory that is shared (copy-on-write).
    Cow,
    /// A chunk of an externally owned frame did not hold whole rows.
    PaddedChunk,
    /// Several memories were merged into one.
    Merge,
    /// A mapped range spanned several memories.
    MapRange,
    /// The producer could not meet the consumer's alignment or layout.
    Alignment,
    /// The memory type had to change (for example system memory to DMA-BUF).
    MemoryType,
    /// The caller asked for a copy.
    Explicit,
    /// A crop was applied by copying the visible rectangle into a new frame (the
    /// consumer could not take a crop meta).
    Crop,
    /// Pixels were converted into a new frame (another format or layout).
    Convert,
}

/// How many [`CopyReason`]s there are.
pub const N_REASONS: usize = CopyReason::ALL.len();

impl CopyReason {
    /// All reasons, in report order.
    pub const ALL: [CopyReason; 9] = [
        CopyReason::Cow,
        CopyReason::PaddedChunk,
        CopyReason::Merge,
        CopyReason::MapRange,
        CopyReason::Alignment,
        CopyReason::MemoryType,
        CopyReason::Explicit,
        CopyReason::Crop,
        CopyReason::Convert,
    ];

    /// The reason's name as it appears in reports (`cow`, `padded-chunk`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            CopyReason::Cow => "cow",
            CopyReason::PaddedChunk => "padded-chunk",
            CopyReason::Merge => "merge",
            CopyReason::MapRange => "map-range",
            CopyReason::Alignment => "alignment",
            CopyReason::MemoryType => "memory-type",
            CopyReason::Explicit => "explicit",
            CopyReason::Crop => "crop",
            CopyReason::Convert => "convert",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for CopyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A count of events and the bytes they moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// How many copies or allocations.
    pub count: u64,
    /// How many bytes in all.
    pub bytes: u64,
}

impl Totals {
    fn add(&mut self, bytes: u64) {
        self.count += 1;
        self.bytes += bytes;
    }

    fn saturating_sub(self, earlier: Totals) -> Totals {
        Totals {
            count: self.count.saturating_sub(earlier.count),
            bytes: self.bytes.saturating_sub(earlier.bytes),
        }
    }
}

/// What one site (element or API) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteTotals {
    /// Copies made at this site.
    pub copies: Totals,
    /// Copies per reason, indexed like [`CopyReason::ALL`].
    pub copies_by_reason: [Totals; N_REASONS],
    /// Memories allocated at this site.
    pub allocations: Totals,
}

impl SiteTotals {
    /// Copies made at this site for `reason`.
    pub fn reason(&self, reason: CopyReason) -> Totals {
        self.copies_by_reason[reason.index()]
    }
}

/// A consistent-enough view of the ledger at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerSnapshot {
    /// All copies.
    pub copies: Totals,
    /// Copies per reason, indexed like [`CopyReason::ALL`].
    pub copies_by_reason: [Totals; N_REASONS],
    /// All allocations of memory.
    pub allocations: Totals,
    /// Everything per site name.
    pub sites: BTreeMap<String, SiteTotals>,
}

impl LedgerSnapshot {
    /// Copies for one reason.
    pub fn reason(&self, reason: CopyReason) -> Totals {
        self.copies_by_reason[reason.index()]
    }

    /// Totals of one site (zero when the site never reported).
    pub fn site(&self, name: &str) -> SiteTotals {
        self.sites.get(name).cloned().unwrap_or_default()
    }

    /// What happened between `earlier` and this snapshot.
    pub fn since(&self, earlier: &LedgerSnapshot) -> LedgerSnapshot {
        let mut sites = BTreeMap::new();
        for (name, now) in &self.sites {
            let before = earlier.sites.get(name).cloned().unwrap_or_default();
            let mut d = SiteTotals {
                copies: now.copies.saturating_sub(before.copies),
                allocations: now.allocations.saturating_sub(before.allocations),
                ..SiteTotals::default()
            };
            for i in 0..N_REASONS {
                d.copies_by_reason[i] =
                    now.copies_by_reason[i].saturating_sub(before.copies_by_reason[i]);
            }
            if d != SiteTotals::default() {
                sites.insert(name.clone(), d);
            }
        }
        let mut copies_by_reason = [Totals::default(); N_REASONS];
        for (i, slot) in copies_by_reason.iter_mut().enumerate() {
            *slot = self.copies_by_reason[i].saturating_sub(earlier.copies_by_reason[i]);
        }
        LedgerSnapshot {
            copies: self.copies.saturating_sub(earlier.copies),
            copies_by_reason,
            allocations: self.allocations.saturating_sub(earlier.allocations),
            sites,
        }
    }
}

impl fmt::Display for LedgerSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "copies: {} ({} bytes); allocations: {} ({} bytes)",
            self.copies.count, self.copies.bytes, self.allocations.count, self.allocations.bytes
        )?;
        for reason in CopyReason::ALL {
            let t = self.reason(reason);
            if t.count > 0 {
                writeln!(
                    f,
                    "  reason {:<13} {:>8} copies {:>14} bytes",
                    reason, t.count, t.bytes
                )?;
            }
        }
        for (name, s) in &self.sites {
            writeln!(
                f,
                "  site {:<24} {:>6} copies {:>12} bytes {:>6} allocs {:>12} bytes",
                name, s.copies.count, s.copies.bytes, s.allocations.count, s.allocations.bytes
            )?;
        }
        Ok(())
    }
}

struct Counter {
    count: AtomicU64,
    bytes: AtomicU64,
}

impl Counter {
    const fn new() -> Self {
        Counter {
            count: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }
    fn add(&self, bytes: u64) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
    fn load(&self) -> Totals {
        Totals {
            count: self.count.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }
    fn reset(&self) {
        self.count.store(0, Ordering::Relaxed);
        self.bytes.store(0, Ordering::Relaxed);
    }
}

static COPIES: [Counter; N_REASONS] = [const { Counter::new() }; N_REASONS];
static ALLOCATIONS: Counter = Counter::new();
static SITES: Mutex<BTreeMap<String, SiteTotals>> = Mutex::new(BTreeMap::new());

/// A site name interned in the ledger: a small number that is cheap to enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SiteId(u32);

/// Interned site names: by name, and by id (`id - 1` indexes `names`). Names are never
/// removed (there is one per distinct element name or API site, as in the per-site
/// table itself).
struct Interned {
    ids: HashMap<Arc<str>, u32>,
    names: Vec<Arc<str>>,
}

static INTERNED: Mutex<Option<Interned>> = Mutex::new(None);

thread_local! {
    /// The current site's id; 0 for none.
    static CURRENT_SITE: Cell<u32> = const { Cell::new(0) };
}

/// The id of site `name`, interning it on first use (takes a lock: call it once per
/// element or per API site, not per buffer).
pub fn site_id(name: impl Into<Arc<str>>) -> SiteId {
    let name = name.into();
    let mut guard = INTERNED.lock_ignore_poison();
    let table = guard.get_or_insert_with(|| Interned {
        ids: HashMap::new(),
        names: Vec::new(),
    });
    if let Some(&id) = table.ids.get(&name) {
        return SiteId(id);
    }
    table.names.push(Arc::clone(&name));
    let id = u32::try_from(table.names.len()).unwrap_or(u32::MAX);
    table.ids.insert(name, id);
    SiteId(id)
}

fn site_name(id: u32) -> Option<Arc<str>> {
    if id == 0 {
        return None;
    }
    let guard = INTERNED.lock_ignore_poison();
    guard.as_ref()?.names.get(id as usize - 1).cloned()
}

fn sites() -> MutexGuard<'static, BTreeMap<String, SiteTotals>> {
    // A panic while holding this lock leaves consistent data behind (plain counters).
    SITES.lock_ignore_poison()
}

fn with_site<R>(fallback: &str, f: impl FnOnce(&mut SiteTotals) -> R) -> R {
    let current = current_site();
    let name: &str = current.as_deref().unwrap_or(fallback);
    let mut map = sites();
    if let Some(entry) = map.get_mut(name) {
        f(entry)
    } else {
        f(map.entry(name.to_owned()).or_default())
    }
}

/// Records a copy of `bytes` bytes made for `reason`.
///
/// The copy is attributed to the site entered on this thread with [`enter_site`], or to
/// `fallback_site` (usually the API that copied, such as `"Buffer::map_range"`) if none.
pub fn record_copy(reason: CopyReason, bytes: usize, fallback_site: &str) {
    let bytes = bytes as u64;
    COPIES[reason.index()].add(bytes);
    with_site(fallback_site, |s| {
        s.copies.add(bytes);
        s.copies_by_reason[reason.index()].add(bytes);
    });
}

/// Records an allocation of a memory of `bytes` bytes.
pub fn record_allocation(bytes: usize, fallback_site: &str) {
    let bytes = bytes as u64;
    ALLOCATIONS.add(bytes);
    with_site(fallback_site, |s| s.allocations.add(bytes));
}

/// Attributes the copies and allocations made on this thread to `name` until the
/// returned guard is dropped. Sites nest: dropping the guard restores the site that was
/// current when it was entered, so guards must be dropped in reverse order (as scoped
/// `let _site = ...` bindings are).
///
/// This interns `name` (a lock and a map lookup); on a per-buffer path, intern once with
/// [`site_id`] and use [`enter_site_id`].
#[must_use = "the site is left when the guard is dropped"]
pub fn enter_site(name: impl Into<Arc<str>>) -> SiteGuard {
    enter_site_id(site_id(name))
}

/// [`enter_site`] for an interned site: two thread-local writes in all (this and the
/// guard's drop).
#[must_use = "the site is left when the guard is dropped"]
#[inline]
pub fn enter_site_id(id: SiteId) -> SiteGuard {
    let previous = CURRENT_SITE.with(|c| c.replace(id.0));
    SiteGuard { previous }
}

/// The site entered on this thread, if any.
pub fn current_site() -> Option<Arc<str>> {
    site_name(CURRENT_SITE.with(Cell::get))
}

/// Restores the previous site when dropped; see [`enter_site`].
#[derive(Debug)]
pub struct SiteGuard {
    previous: u32,
}

impl Drop for SiteGuard {
    #[inline]
    fn drop(&mut self) {
        let previous = self.previous;
        CURRENT_SITE.with(|c| c.set(previous));
    }
}

/// Reads the ledger.
pub fn snapshot() -> LedgerSnapshot {
    let mut copies_by_reason = [Totals::default(); N_REASONS];
    let mut copies = Totals::default();
    for (slot, counter) in copies_by_reason.iter_mut().zip(COPIES.iter()) {
        *slot = counter.load();
        copies.count += slot.count;
        copies.bytes += slot.bytes;
    }
    LedgerSnapshot {
        copies,
        copies_by_reason,
        allocations: ALLOCATIONS.load(),
        sites: sites().clone(),
    }
}

/// Sets every count back to zero.
pub fn reset() {
    let mut map = sites();
    for c in &COPIES {
        c.reset();
    }
    ALLOCATIONS.reset();
    map.clear();
}
