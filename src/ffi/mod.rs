//! The C ABI: opaque handles, fixed status codes, one string-free function, no panic across the boundary.
//!
//! The generated header is `include/nats_server.h` (regenerate it with
//! `UPDATE_HEADER=1 cargo test --test header`); its preamble, in `cbindgen.toml`, states the conventions:
//!
//! - Every fallible function returns a [`nats_server_status`] (`NATS_SERVER_OK` = 0) and takes an optional
//!   `char **error` as its last parameter: NULL, or where a message is written on failure (and NULL on success).
//! - Every string this library returns (messages, URLs, paths, JSON) is freed with [`nats_server_string_free`];
//!   except [`nats_server_library_version`] and [`nats_server_status_name`], which are static.
//! - Options cross as one JSON document of the Rust options schema; unknown fields are rejected by name.
//! - Out-parameters are reset (NULL, 0, false) on entry, so they never hold garbage after a failure.
//! - NULL handles, NULL required strings, non-UTF-8 strings and dead handles return a status, never crash
//!   (a freed handle is detected on a best-effort basis only).
//! - Every body runs inside `catch_unwind`: a panic becomes `NATS_SERVER_INTERNAL`.
//! - Handles hold a mutex: one handle may be shared between threads; calls on it are serialized.
//!
//! A test failing in C keeps the server's directory by calling `nats_server_mark_failed` (or
//! `nats_cluster_mark_failed`) before freeing it (see the README's "Keeping a failed test's directory").

// Exported functions are `unsafe extern "C"`: their contract is stated once, in the module docs and the header,
// rather than in a `# Safety` section on each.
#![allow(clippy::missing_safety_doc)]
// The C names are the names: `nats_server_t`, `nats_server_status`, `NATS_SERVER_OK`.
#![allow(non_camel_case_types)]

// Declared in the order cbindgen writes them into the header (the blank lines keep rustfmt from sorting them).
mod status;

mod server;

mod cluster;

mod auth;
mod supercluster;

mod options;
mod tls;

mod install;

mod boundary;

use std::ffi::{c_char, c_int};

pub use auth::*;
pub use cluster::*;
pub use install::*;
pub use options::*;
pub use server::*;
pub use status::nats_server_status;
pub use supercluster::*;
pub use tls::*;

/// The version of this C ABI. Bindings check it when they load the library; it changes whenever a function's
/// signature or meaning changes incompatibly.
pub const NATS_SERVER_ABI_VERSION: u32 = 2;

/// The version of this C ABI (`NATS_SERVER_ABI_VERSION` of the header the library was built with). Bindings compare
/// it with the version they were written for.
#[no_mangle]
pub extern "C" fn nats_server_abi_version() -> u32 {
    NATS_SERVER_ABI_VERSION
}

/// This library's version, e.g. `"0.2.0"`: a static string, never freed.
#[no_mangle]
pub extern "C" fn nats_server_library_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The name of a status code, e.g. `"NATS_SERVER_NOT_RUNNING"`, or `"NATS_SERVER_UNKNOWN_STATUS"` for a number
/// this library does not know: a static string, never freed.
#[no_mangle]
pub extern "C" fn nats_server_status_name(status: c_int) -> *const c_char {
    boundary::guard_value(c"NATS_SERVER_UNKNOWN_STATUS".as_ptr(), || {
        nats_server_status::ALL
            .iter()
            .find(|s| **s as c_int == status)
            .map_or(c"NATS_SERVER_UNKNOWN_STATUS", |s| s.c_name())
            .as_ptr()
    })
}

/// Frees a string returned by this library (an error message, URL, path, JSON document). NULL is accepted.
/// Each string is freed once; static strings (`nats_server_library_version`, `nats_server_status_name`) are never
/// freed.
#[no_mangle]
pub unsafe extern "C" fn nats_server_string_free(text: *mut c_char) {
    boundary::guard_value((), || boundary::free_c_string(text));
}

// The thread-safety promise of the header, checked by the compiler: handles may be shared between threads.
const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<nats_server_t>();
    shareable::<nats_cluster_t>();
    shareable::<nats_supercluster_t>();
    shareable::<nats_server_options_t>();
};
