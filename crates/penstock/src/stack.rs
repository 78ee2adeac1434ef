//! Deep pipelines without stack overflows.
//!
//! A buffer, event or query travels from pad to pad by calls: pushing through a chain of
//! N elements nests N calls, as in GStreamer. A few thousand elements overflow a
//! streaming thread's stack (2 MiB by default in Rust), which aborts the process.
//!
//! [`guarded`] wraps each pad-to-peer hand-off. It measures how much of the current
//! thread's stack is used below the outermost hand-off seen on that thread (by
//! comparing addresses of locals, which needs no `unsafe`), and once that passes a
//! budget it continues the call on a fresh thread with a large stack, waiting for it
//! (the hand-off stays synchronous: same order, same return value, panics propagate).
//! So the depth any one stack sees is bounded whatever the pipeline's depth, on every
//! thread that pushes, sends events or queries — streaming threads, queues' threads,
//! and the application's thread during negotiation.
//!
//! Why this rather than a streaming-thread stack sized from the number of elements
//! downstream: the same recursion happens on threads penstock does not create (the
//! application's, for queries and events at start-up), links change while running, and
//! frame sizes per element vary (debug builds use several times the stack of release
//! builds); measuring the stack actually used covers all of them. The cost is nothing
//! extra for ordinary pipelines (one thread-local access per hand-off), and for pipelines
//! deeper than the budget one thread start per budget's worth of elements per buffer.

use std::cell::Cell;
use std::sync::Mutex;

/// Stack the outermost thread may use for nested hand-offs before moving on: a quarter
/// of Rust's default 2 MiB thread stack, leaving the rest for the elements' own frames.
const FIRST_BUDGET: usize = 512 * 1024;
/// Stack of the threads that continue deep calls (virtual memory, committed as used).
const DEEP_STACK: usize = 64 << 20;
/// Stack those threads may use for nested hand-offs before moving on again.
const DEEP_BUDGET: usize = DEEP_STACK - (8 << 20);

/// Where this thread's hand-offs measure their depth from, and how deep they may go.
struct Depth {
    /// The highest (outermost, as stacks grow down) address a hand-off on this thread
    /// has run at: the stack used below it is used by nesting (or by the caller's own
    /// frames, which count against the same stack). Only ever raised, so there is
    /// nothing to reset when a hand-off returns or unwinds.
    base: Cell<usize>,
    /// How far below `base` nesting may go on this thread.
    budget: Cell<usize>,
}

thread_local! {
    static DEPTH: Depth = const {
        Depth {
            base: Cell::new(0),
            budget: Cell::new(FIRST_BUDGET),
        }
    };
}

#[cfg(test)]
thread_local! {
    static MOVES: Cell<u64> = const { Cell::new(0) };
}

/// True if a hand-off may run on this thread's stack: its nesting has not used up the
/// budget. One thread-local access and a comparison; the hot path (a buffer push)
/// calls this and then its peer directly, so the call stays inlined.
#[inline(always)]
pub(crate) fn within_budget() -> bool {
    let marker = 0u8;
    let here = std::ptr::addr_of!(marker).addr();
    DEPTH.with(|d| {
        let base = d.base.get();
        if here >= base {
            d.base.set(here);
            true
        } else {
            base - here < d.budget.get()
        }
    })
}

/// Runs `f` (a hand-off to a peer pad) here, or on a fresh thread with a large stack
/// when this thread's nesting has used up its budget.
#[inline]
pub(crate) fn guarded<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if within_budget() {
        return f();
    }
    on_fresh_stack(f)
}

#[cold]
#[inline(never)]
pub(crate) fn on_fresh_stack<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    #[cfg(test)]
    MOVES.with(|m| m.set(m.get() + 1));
    // Kept here so that `f` can still run on this thread if no thread can be started.
    let slot = Mutex::new(Some(f));
    let name = std::thread::current()
        .name()
        .map_or_else(|| "penstock-deep".to_owned(), |n| format!("{n}+"));
    let ran = std::thread::scope(|s| {
        let spawned = std::thread::Builder::new()
            .name(name)
            .stack_size(DEEP_STACK)
            .spawn_scoped(s, || {
                let f = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
                DEPTH.with(|d| d.budget.set(DEEP_BUDGET));
                f.map(|f| guarded(f))
            });
        match spawned {
            Ok(handle) => match handle.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            },
            Err(_) => None,
        }
    });
    match ran {
        Some(r) => r,
        // No thread could be started: go on here, as deep as this stack allows.
        None => match slot.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(f) => f(),
            None => unreachable_after_take(),
        },
    }
}

/// The closure is taken by exactly one of the two paths above: the spawned thread ran
/// (and returned `Some`) or it did not start (and the closure is still in the slot).
#[cold]
fn unreachable_after_take() -> ! {
    unreachable!("a deep call's closure was taken by a thread that did not return")
}

/// Times this thread moved a deep call to a fresh stack (tests only).
#[cfg(test)]
pub(crate) fn moves() -> u64 {
    MOVES.with(Cell::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recursion through `guarded`, using `frame` bytes of stack per level.
    fn nest(levels: u32) -> u32 {
        let pad = std::hint::black_box([0u8; 2048]);
        if levels == 0 {
            return u32::from(pad[0]);
        }
        guarded(move || nest(levels - 1) + 1 + u32::from(pad[levels as usize % 2048]))
    }

    #[test]
    fn shallow_calls_stay_on_this_thread() {
        let before = moves();
        assert_eq!(nest(20), 20);
        assert_eq!(moves(), before, "20 x 2 KiB is within the budget");
    }

    /// 4000 levels of at least 2 KiB each (8 MiB) on a 1 MiB thread: without the guard
    /// this overflows; with it the calls move to fresh stacks and return normally.
    #[test]
    #[cfg_attr(
        miri,
        ignore = "Miri has no native stack to overflow, and is slow here"
    )]
    fn deep_calls_move_to_fresh_stacks() {
        let (result, moved) = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(|| {
                let r = nest(4000);
                (r, moves())
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(result, 4000);
        assert!(moved >= 1, "moved {moved} times");
        // The fresh stack's budget is large: a few moves, not one per level.
        assert!(moved <= 4, "moved {moved} times");
    }
}
