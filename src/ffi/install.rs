//! Installing nats-server releases through the C ABI: `nats_server_install` and `nats_server_versions`.

use std::ffi::c_char;

use super::boundary::{guard, out_arg, str_arg, to_c_string};
use super::status::nats_server_status;
use crate::install::Installer;

/// Resolves a release (`"2.14"`, `"2.14.6"`, `"latest"`) to an installed `nats-server` binary, installing it into
/// the per-user cache when missing (`NATS_SERVER_CACHE`, `NATS_SERVER_SOURCES`: see the README). Safe to call from
/// several processes at once: one downloads, the others wait.
///
/// On success `*binary_out` is the binary's absolute path, a new string freed with `nats_server_string_free`.
/// `NATS_SERVER_INSTALL` when no source has the release (the message names the version, the sources tried and
/// what each answered); `NATS_SERVER_INVALID_OPTIONS` when `version` is not a version.
#[no_mangle]
pub unsafe extern "C" fn nats_server_install(
    version: *const c_char,
    binary_out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(binary_out, "binary_out")?;
        let version = str_arg(version, "version")?;
        let installed = Installer::from_env()?.resolve(version)?;
        *out = to_c_string(installed.binary.display().to_string());
        Ok(())
    })
}

/// The releases in the cache and, unless `installed_only`, the ones the sources offer for this machine, as one
/// JSON document: `{"cache": "...", "installed": [{"version": "2.14.6", "binary": "..."}], "available":
/// ["2.14.6", ...]}`. `*json_out` is a new string freed with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_versions(
    installed_only: bool,
    json_out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(json_out, "json_out")?;
        let doc = Installer::from_env()?.versions(!installed_only)?;
        *out = to_c_string(doc.to_string());
        Ok(())
    })
}
