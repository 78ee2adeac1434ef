//! Deep pipelines without stack overflows.
//!
//! A buffer, event or query travels from pad to pad by calls: pushing through a chain of
//! N elements nests N calls, as in GStreamer. A few thousand elements overflow a
//! streaming thread's stack (2 MiB by default in Rust), which aborts the process.
//!
//! [`guarded`] wraps each pad-to-peer hand-off. It measures how much of the current
//! thread's stack the nesting has used since the outermost hand-off on that thread (by
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
//! extra for ordinary pipelines (one thread-local read per hand-off), and for pipelines
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

thread_local! {
    /// Address of the outermost hand-off's frame on this thread (0: none in progress).
    static BASE: Cell<usize> = const { Cell::new(0) };
    /// How far below `BASE` nesting may go on this thread.
    static BUDGET: Cell<usize> = const { Cell::new(FIRST_BUDGET) };
}

#[cfg(test)]
thread_local! {
    static MOVES: Cell<u64> = const { Cell::new(0) };
}

/// Resets `BASE` when the outermost hand-off returns (or unwinds).
struct Outermost;

impl Drop for Outermost {
    fn drop(&mut self) {
        BASE.with(|b| b.set(0));
    }
}

/// Runs `f` (a hand-off to a peer pad) here, or on a fresh thread with a large stack
/// when this thread's nesting has used up its budget.
#[inline]
pub(crate) fn guarded<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let marker = 0u8;
    let here = std::ptr::addr_of!(marker).addr();
    let base = BASE.with(Cell::get);
    if base == 0 {
        BASE.with(|b| b.set(here));
        let _outermost = Outermost;
        return f();
    }
    if base.abs_diff(here) < BUDGET.with(Cell::get) {
        return f();
    }
    on_fresh_stack(f)
}

#[cold]
#[inline(never)]
fn on_fresh_stack<R: Send>(f: impl FnOnce() -> R + Send) -> R {
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
                BUDGET.with(|b| b.set(DEEP_BUDGET));
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
