//! The safety net under every entry point: the registry of live handles, the panic
//! boundary, and checked conversions of the raw pointers C passes in.
//!
//! A handle is a `Box` leaked to C. Its address is entered in a registry (16 shards of a
//! mutex-guarded map, keyed by address) with its type, and removed by its `_free`. Every
//! call looks the handle up before touching it, so a freed, foreign or wrongly typed
//! handle is refused with `JYQQ_INVALID_HANDLE` without its memory being read. While a
//! call runs, the handle is marked busy: a second call on it from another thread at the
//! same time (or a `_free` racing a call) gets `JYQQ_HANDLE_BUSY` instead of a data race.

use super::result::jyqq_result;
use std::collections::BTreeMap;
use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

/// The types of handle, so one type's handle is refused where another is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    SessionConfig,
    Session,
    Capture,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    kind: Kind,
    busy: bool,
    poisoned: bool,
}

const SHARDS: usize = 16;

#[allow(clippy::declare_interior_mutable_const)] // used only to initialise the array below
const SHARD: Mutex<BTreeMap<usize, Entry>> = Mutex::new(BTreeMap::new());
static LIVE: [Mutex<BTreeMap<usize, Entry>>; SHARDS] = [SHARD; SHARDS];

fn shard(addr: usize) -> &'static Mutex<BTreeMap<usize, Entry>> {
    // Boxes are at least 8-byte aligned: drop the low bits before picking a shard.
    &LIVE[(addr >> 4) % SHARDS]
}

fn with_shard<R>(addr: usize, f: impl FnOnce(&mut BTreeMap<usize, Entry>) -> R) -> R {
    // A panic never happens while a shard is locked (the closures below only touch the
    // map), so a poisoned lock still holds a consistent map.
    let mut map = shard(addr).lock().unwrap_or_else(|e| e.into_inner());
    f(&mut map)
}

/// Runs `f` behind the panic boundary: a panic becomes `JYQQ_PANIC`.
pub(crate) fn guard(f: impl FnOnce() -> jyqq_result) -> jyqq_result {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(jyqq_result::JYQQ_PANIC)
}

/// Gives a new object to C: boxes it, registers it, returns the pointer.
pub(crate) fn register<T>(value: T, kind: Kind) -> *mut T {
    let ptr = Box::into_raw(Box::new(value));
    with_shard(ptr as usize, |m| m.insert(ptr as usize, Entry { kind, busy: false, poisoned: false }));
    ptr
}

/// Marks the handle busy for the duration of a call, checking it is live and of `kind`.
fn acquire(addr: usize, kind: Kind) -> Result<(), jyqq_result> {
    with_shard(addr, |m| match m.get_mut(&addr) {
        Some(e) if e.kind == kind => {
            if e.poisoned {
                Err(jyqq_result::JYQQ_PANIC)
            } else if e.busy {
                Err(jyqq_result::JYQQ_HANDLE_BUSY)
            } else {
                e.busy = true;
                Ok(())
            }
        }
        _ => Err(jyqq_result::JYQQ_INVALID_HANDLE),
    })
}

fn release(addr: usize, panicked: bool) {
    with_shard(addr, |m| {
        if let Some(e) = m.get_mut(&addr) {
            e.busy = false;
            e.poisoned |= panicked;
        }
    });
}

/// Calls `f` with the live handle `ptr` of `kind`, behind the panic boundary.
///
/// NULL → `JYQQ_NULL_PARAMETER`; not registered as `kind` → `JYQQ_INVALID_HANDLE`; in use by
/// another thread → `JYQQ_HANDLE_BUSY`; poisoned by an earlier panic → `JYQQ_PANIC`.
///
/// # Safety
/// A registered address is a `Box<T>` this module leaked for `kind`, and `T` is the type
/// registered for `kind` (the callers below pair them).
pub(crate) unsafe fn with_handle<T>(ptr: *mut T, kind: Kind, f: impl FnOnce(&mut T) -> jyqq_result) -> jyqq_result {
    guard(|| {
        if ptr.is_null() {
            return jyqq_result::JYQQ_NULL_PARAMETER;
        }
        let addr = ptr as usize;
        if let Err(e) = acquire(addr, kind) {
            return e;
        }
        // SAFETY: registered and marked busy: the Box is alive and no other call uses it.
        let obj = unsafe { &mut *ptr };
        let r = catch_unwind(AssertUnwindSafe(|| f(obj)));
        release(addr, r.is_err());
        r.unwrap_or(jyqq_result::JYQQ_PANIC)
    })
}

/// Frees a handle registered as `kind`. NULL is a no-op returning `JYQQ_OK` (like
/// `free(NULL)`); a handle not registered (already freed, foreign) is refused.
///
/// # Safety
/// As [`with_handle`].
pub(crate) unsafe fn free_handle<T>(ptr: *mut T, kind: Kind) -> jyqq_result {
    guard(|| {
        if ptr.is_null() {
            return jyqq_result::JYQQ_OK;
        }
        let addr = ptr as usize;
        let removed = with_shard(addr, |m| match m.get(&addr) {
            Some(e) if e.kind == kind && !e.busy => m.remove(&addr).map(|_| ()).ok_or(jyqq_result::JYQQ_INVALID_HANDLE),
            Some(e) if e.kind == kind => Err(jyqq_result::JYQQ_HANDLE_BUSY),
            _ => Err(jyqq_result::JYQQ_INVALID_HANDLE),
        });
        match removed {
            // SAFETY: it was registered (so it is our live Box<T>) and is now unregistered,
            // so no other call can reach it.
            Ok(()) => {
                drop(unsafe { Box::from_raw(ptr) });
                jyqq_result::JYQQ_OK
            }
            Err(e) => e,
        }
    })
}

/// The `len` elements at `ptr`. A zero length gives an empty slice whatever `ptr` is;
/// NULL with a non-zero length is `JYQQ_NULL_PARAMETER`; a pointer not aligned for `T`
/// or a length beyond `isize::MAX` bytes is `JYQQ_INVALID_VALUE` / `JYQQ_INVALID_LENGTH`.
///
/// # Safety
/// Non-NULL `ptr` points to `len` initialised `T`s that stay valid and unmodified for `'a`.
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], jyqq_result> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(jyqq_result::JYQQ_NULL_PARAMETER);
    }
    if !ptr.is_aligned() {
        return Err(jyqq_result::JYQQ_INVALID_VALUE);
    }
    if len.checked_mul(std::mem::size_of::<T>()).map_or(true, |b| b > isize::MAX as usize) {
        return Err(jyqq_result::JYQQ_INVALID_LENGTH);
    }
    // SAFETY: non-NULL, aligned, size within isize::MAX; validity is the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A non-empty byte slice: as [`slice`], and a zero length is `JYQQ_INVALID_LENGTH`.
///
/// # Safety
/// As [`slice`].
pub(crate) unsafe fn data<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], jyqq_result> {
    if ptr.is_null() {
        return Err(jyqq_result::JYQQ_NULL_PARAMETER);
    }
    if len == 0 {
        return Err(jyqq_result::JYQQ_INVALID_LENGTH);
    }
    // SAFETY: the caller's contract.
    unsafe { slice(ptr, len) }
}

/// A NUL-terminated UTF-8 string. NULL → `JYQQ_NULL_PARAMETER`; not UTF-8 →
/// `JYQQ_INVALID_UTF8`.
///
/// # Safety
/// Non-NULL `ptr` points to a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn string<'a>(ptr: *const c_char) -> Result<&'a str, jyqq_result> {
    if ptr.is_null() {
        return Err(jyqq_result::JYQQ_NULL_PARAMETER);
    }
    // SAFETY: non-NULL; termination is the caller's contract.
    unsafe { CStr::from_ptr(ptr) }.to_str().map_err(|_| jyqq_result::JYQQ_INVALID_UTF8)
}

/// An optional string: NULL → `None`.
///
/// # Safety
/// As [`string`].
pub(crate) unsafe fn opt_string<'a>(ptr: *const c_char) -> Result<Option<&'a str>, jyqq_result> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: the caller's contract.
        unsafe { string(ptr) }.map(Some)
    }
}

/// Checks an out-pointer is not NULL.
pub(crate) fn out<T>(ptr: *mut T) -> Result<*mut T, jyqq_result> {
    if ptr.is_null() {
        Err(jyqq_result::JYQQ_NULL_PARAMETER)
    } else {
        Ok(ptr)
    }
}

/// Writes `value` to a checked out-pointer (no read or drop of the old contents).
///
/// # Safety
/// `ptr` is non-NULL (checked by [`out`]) and valid for a write of `T`.
pub(crate) unsafe fn write<T>(ptr: *mut T, value: T) {
    // SAFETY: the caller's contract; write_unaligned tolerates C's packing of the caller's variable.
    unsafe { ptr.write_unaligned(value) }
}

/// Turns `Result<(), jyqq_result>` into the code.
pub(crate) fn code(r: Result<(), jyqq_result>) -> jyqq_result {
    match r {
        Ok(()) => jyqq_result::JYQQ_OK,
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_poisons_the_handle_which_can_still_be_freed() {
        let p = register(5u32, Kind::Capture);
        // SAFETY (test): `p` is a registered Box<u32> of Kind::Capture.
        unsafe {
            assert_eq!(with_handle(p, Kind::Capture, |_| panic!("bug")), jyqq_result::JYQQ_PANIC);
            assert_eq!(with_handle(p, Kind::Capture, |_| jyqq_result::JYQQ_OK), jyqq_result::JYQQ_PANIC);
            assert_eq!(free_handle(p, Kind::Capture), jyqq_result::JYQQ_OK);
            assert_eq!(with_handle(p, Kind::Capture, |_| jyqq_result::JYQQ_OK), jyqq_result::JYQQ_INVALID_HANDLE);
        }
        assert_eq!(guard(|| panic!("bug")), jyqq_result::JYQQ_PANIC);
    }

    #[test]
    fn a_handle_in_use_is_busy_and_cannot_be_freed() {
        let p = register(String::from("x"), Kind::SessionConfig);
        // SAFETY (test): `p` is a registered Box<String> of Kind::SessionConfig.
        unsafe {
            let r = with_handle(p, Kind::SessionConfig, |s| {
                s.push('y');
                assert_eq!(
                    with_handle(p, Kind::SessionConfig, |_| jyqq_result::JYQQ_OK),
                    jyqq_result::JYQQ_HANDLE_BUSY
                );
                assert_eq!(free_handle(p, Kind::SessionConfig), jyqq_result::JYQQ_HANDLE_BUSY);
                jyqq_result::JYQQ_OK
            });
            assert_eq!(r, jyqq_result::JYQQ_OK);
            assert_eq!(with_handle(p, Kind::Session, |_| jyqq_result::JYQQ_OK), jyqq_result::JYQQ_INVALID_HANDLE);
            assert_eq!(
                with_handle(p, Kind::SessionConfig, |s| if s == "xy" {
                    jyqq_result::JYQQ_OK
                } else {
                    jyqq_result::JYQQ_PANIC
                }),
                jyqq_result::JYQQ_OK
            );
            assert_eq!(free_handle(p, Kind::SessionConfig), jyqq_result::JYQQ_OK);
            assert_eq!(free_handle(p, Kind::SessionConfig), jyqq_result::JYQQ_INVALID_HANDLE);
            assert_eq!(free_handle(std::ptr::null_mut::<String>(), Kind::SessionConfig), jyqq_result::JYQQ_OK);
        }
    }

    #[test]
    fn buffers_are_checked() {
        let v = [1i16, 2, 3];
        // SAFETY (test): the pointers below are either valid for the lengths or rejected first.
        unsafe {
            assert_eq!(slice(v.as_ptr(), 3), Ok(&v[..]));
            assert_eq!(slice::<i16>(std::ptr::null(), 0), Ok(&[][..]));
            assert_eq!(slice::<i16>(std::ptr::null(), 1), Err(jyqq_result::JYQQ_NULL_PARAMETER));
            let odd = (v.as_ptr() as *const u8).add(1) as *const i16;
            assert_eq!(slice(odd, 1), Err(jyqq_result::JYQQ_INVALID_VALUE));
            assert_eq!(slice(v.as_ptr(), usize::MAX / 2), Err(jyqq_result::JYQQ_INVALID_LENGTH));
            assert_eq!(data(b"ab".as_ptr(), 0), Err(jyqq_result::JYQQ_INVALID_LENGTH));
            assert_eq!(string(c"héllo".as_ptr()), Ok("héllo"));
            assert_eq!(string(c"\xff".as_ptr()), Err(jyqq_result::JYQQ_INVALID_UTF8));
            assert_eq!(opt_string(std::ptr::null()), Ok(None));
        }
    }
}
