//! A global allocator that counts, per thread, the heap bytes currently live, so a test can
//! show that some work leaves memory flat (tests run on parallel threads; each sees only
//! its own allocations). Install it in the test file:
//!
//! ```text
//! #[global_allocator]
//! static ALLOC: alloc_counter::Counting = alloc_counter::Counting;
//! ```
//!
//! Memory freed on another thread than the one that allocated it is counted there; the
//! tests that use this keep each measured object on one thread.
#![allow(dead_code)]
// The only unsafe code in the test suite: a GlobalAlloc impl must be `unsafe impl`. It
// forwards every call to the system allocator unchanged.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    /// Bytes allocated minus bytes freed by this thread. Const-initialised and without a
    /// destructor, so touching it never allocates.
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn add(n: isize) {
    let _ = LIVE.try_with(|c| c.set(c.get() + n));
}

/// The system allocator, counting live bytes per thread.
pub struct Counting;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// GlobalAlloc contract is System's; the bookkeeping touches only a thread-local integer.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        add(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            add(new_size as isize - layout.size() as isize);
        }
        p
    }
}

/// Heap bytes live on this thread (allocated minus freed since the thread started).
pub fn live_bytes() -> isize {
    LIVE.try_with(Cell::get).unwrap_or(0)
}
