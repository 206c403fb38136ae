//! The panic boundary and the conversions every exported function shares: arguments in, strings and out-values
//! out, errors into `char **error`.

use std::any::Any;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::status::{nats_server_status, FfiError, FfiResult};

/// Runs `body` behind the panic boundary: clears `*error`, turns a returned error or a caught panic into a status
/// and, when `error` is not NULL, a newly allocated message in `*error`.
///
/// # Safety
/// `error` is NULL or valid for one pointer write.
pub(crate) unsafe fn guard(
    error: *mut *mut c_char,
    body: impl FnOnce() -> FfiResult<()>,
) -> nats_server_status {
    if !error.is_null() {
        *error = ptr::null_mut();
    }
    let result =
        catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| Err(panic_error(payload)));
    match result {
        Ok(()) => nats_server_status::NATS_SERVER_OK,
        Err(err) => {
            if !error.is_null() {
                *error = to_c_string(err.message);
            }
            err.status
        }
    }
}

/// Runs an infallible body behind the panic boundary, returning `fallback` if it panics.
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

fn panic_error(payload: Box<dyn Any + Send>) -> FfiError {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string());
    FfiError::new(
        nats_server_status::NATS_SERVER_INTERNAL,
        format!("a panic was caught at the C boundary: {what}. Please report it."),
    )
}

/// A newly allocated C string for `text` (freed by `nats_server_string_free`). NUL bytes, which a C string cannot
/// hold, become U+FFFD.
pub(crate) fn to_c_string(text: String) -> *mut c_char {
    let bytes = if text.contains('\0') {
        text.replace('\0', "\u{FFFD}").into_bytes()
    } else {
        text.into_bytes()
    };
    // No NUL byte is left, so this cannot fail.
    CString::new(bytes).map_or(ptr::null_mut(), CString::into_raw)
}

/// A newly allocated C string for raw bytes (paths). Bytes after a NUL, which a path cannot hold, are dropped.
pub(crate) fn bytes_to_c_string(mut bytes: Vec<u8>) -> *mut c_char {
    if let Some(nul) = bytes.iter().position(|&b| b == 0) {
        bytes.truncate(nul);
    }
    CString::new(bytes).map_or(ptr::null_mut(), CString::into_raw)
}

/// Frees a string made by [`to_c_string`] or [`bytes_to_c_string`].
///
/// # Safety
/// `text` is NULL or was returned by this library and not freed since.
pub(crate) unsafe fn free_c_string(text: *mut c_char) {
    if !text.is_null() {
        drop(CString::from_raw(text));
    }
}

fn null(name: &str) -> FfiError {
    FfiError::new(
        nats_server_status::NATS_SERVER_NULL_ARGUMENT,
        format!("`{name}` is NULL"),
    )
}

/// A required string argument, borrowed.
///
/// # Safety
/// `text` is NULL or points to a NUL-terminated string that outlives the call.
pub(crate) unsafe fn str_arg<'a>(text: *const c_char, name: &str) -> FfiResult<&'a str> {
    opt_str_arg(text, name)?.ok_or_else(|| null(name))
}

/// An optional string argument (NULL is `None`), borrowed.
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(
    text: *const c_char,
    name: &str,
) -> FfiResult<Option<&'a str>> {
    if text.is_null() {
        return Ok(None);
    }
    CStr::from_ptr(text).to_str().map(Some).map_err(|e| {
        FfiError::new(
            nats_server_status::NATS_SERVER_INVALID_UTF8,
            format!(
                "`{name}` is not valid UTF-8 (first bad byte at offset {})",
                e.valid_up_to()
            ),
        )
    })
}

/// A required out-parameter, reset to `T::default()` (NULL for pointers) so it never holds garbage after a failure.
///
/// # Safety
/// `out` is NULL or valid for reads and writes of a `T`.
pub(crate) unsafe fn out_arg<'a, T: OutValue>(out: *mut T, name: &str) -> FfiResult<&'a mut T> {
    if out.is_null() {
        return Err(null(name));
    }
    out.write(T::empty());
    Ok(&mut *out)
}

/// An optional out-parameter (NULL means the caller does not want the value).
///
/// # Safety
/// As [`out_arg`].
pub(crate) unsafe fn opt_out_arg<'a, T: OutValue>(out: *mut T) -> Option<&'a mut T> {
    if out.is_null() {
        return None;
    }
    out.write(T::empty());
    Some(&mut *out)
}

/// What an out-parameter holds before a value is written: NULL, zero or false.
pub(crate) trait OutValue {
    fn empty() -> Self;
}

impl<T> OutValue for *mut T {
    fn empty() -> Self {
        ptr::null_mut()
    }
}

macro_rules! out_value_zero {
    ($($t:ty),*) => { $(impl OutValue for $t { fn empty() -> Self { Default::default() } })* };
}
out_value_zero!(bool, u16, u32, i32, usize);

/// Locks a handle's mutex. A panic caught earlier may have poisoned it; the state behind it is still the harness's
/// own consistent bookkeeping of a child process, so the lock is taken anyway rather than failing forever.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The error for a NULL or dead handle.
pub(crate) fn bad_handle(name: &str, what: &str, handle_is_null: bool) -> FfiError {
    if handle_is_null {
        null(name)
    } else {
        FfiError::new(
            nats_server_status::NATS_SERVER_INVALID_HANDLE,
            format!("`{name}` is not a live {what} (already freed, or not such a handle)"),
        )
    }
}

/// A timeout in milliseconds.
pub(crate) fn millis(ms: u64) -> std::time::Duration {
    std::time::Duration::from_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_internal() {
        let mut message: *mut c_char = ptr::null_mut();
        let status = unsafe { guard(&mut message, || panic!("boom")) };
        assert_eq!(status, nats_server_status::NATS_SERVER_INTERNAL);
        let text = unsafe { CStr::from_ptr(message) }
            .to_str()
            .unwrap()
            .to_string();
        unsafe { free_c_string(message) };
        assert!(text.contains("boom"), "{text}");
    }

    #[test]
    fn strings_are_checked() {
        let err = unsafe { str_arg(ptr::null(), "user") }.unwrap_err();
        assert_eq!(err.status, nats_server_status::NATS_SERVER_NULL_ARGUMENT);
        assert!(err.message.contains("`user`"));
        let bad = c"a\xffb";
        let err = unsafe { str_arg(bad.as_ptr(), "user") }.unwrap_err();
        assert_eq!(err.status, nats_server_status::NATS_SERVER_INVALID_UTF8);
        assert!(err.message.contains("offset 1"), "{}", err.message);
        let text = to_c_string("a\0b".to_string());
        let back = unsafe { CStr::from_ptr(text) }
            .to_str()
            .unwrap()
            .to_string();
        unsafe { free_c_string(text) };
        assert_eq!(back, "a\u{FFFD}b");
    }
}
