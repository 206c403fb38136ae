//! The generated authentication material of a server (see the `auth` option fields): creds files, nkey seeds and
//! seed files, and a JSON description. Every string handed out is owned by the caller (free it with
//! `nats_server_string_free`); seeds are secrets: do not log them.

use std::ffi::c_char;
use std::os::unix::ffi::OsStrExt;

use super::boundary::{bytes_to_c_string, guard, out_arg, str_arg, to_c_string};
use super::server::{handle, nats_server_t};
use super::status::{nats_server_status, FfiError, FfiResult};
use crate::error::{Error, ErrorKind};

/// A name that is not in the server's options is a bad argument at the C boundary.
fn argument(err: Error) -> FfiError {
    if err.kind() == ErrorKind::InvalidOptions {
        FfiError::new(
            nats_server_status::NATS_SERVER_INVALID_ARGUMENT,
            format!("nats-server harness: invalid argument: {}", err.message()),
        )
    } else {
        err.into()
    }
}

/// Answers text about the server's generated material; a name it does not know is a bad argument.
unsafe fn material_query(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    f: impl FnOnce(&crate::Server) -> crate::Result<Vec<u8>>,
) -> FfiResult<()> {
    let out = out_arg(out, "out")?;
    let answer: FfiResult<Vec<u8>> = handle(server)?.with(|s| Ok(f(s).map_err(argument)))?;
    *out = bytes_to_c_string(answer?);
    Ok(())
}

/// The creds file (user JWT and seed, mode 0600) of `user` in `account`, for a server started with
/// `"operator": true`; the system account is `SYS` with user `sys`. For `natsOptions_SetUserCredentialsFromFiles
/// (opts, path, NULL)`. An account or user that does not exist is `NATS_SERVER_INVALID_ARGUMENT` (the message
/// names it and lists the existing ones). Free `*out` with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_creds(
    server: *const nats_server_t,
    account: *const c_char,
    user: *const c_char,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let account = str_arg(account, "account")?;
        let user = str_arg(user, "user")?;
        material_query(server, out, |s| {
            Ok(s.creds(account, user)?.as_os_str().as_bytes().to_vec())
        })
    })
}

/// The seed (`SU...`) of an nkey user (`"nkey": true`, or any user in operator mode): a secret. Free `*out` with
/// `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_nkey_seed(
    server: *const nats_server_t,
    user: *const c_char,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let user = str_arg(user, "user")?;
        material_query(server, out, |s| Ok(s.nkey_seed(user)?.into_bytes()))
    })
}

/// The public key (`U...`) of an nkey user, e.g. for `natsOptions_SetNKeyFromSeed(opts, public_key, seed_file)`.
/// Free `*out` with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_nkey_public_key(
    server: *const nats_server_t,
    user: *const c_char,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let user = str_arg(user, "user")?;
        material_query(server, out, |s| Ok(s.nkey_public_key(user)?.into_bytes()))
    })
}

/// The file (mode 0600) holding the seed of an nkey user. Free `*out` with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_seed_file(
    server: *const nats_server_t,
    user: *const c_char,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let user = str_arg(user, "user")?;
        material_query(server, out, |s| {
            Ok(s.seed_file(user)?.as_os_str().as_bytes().to_vec())
        })
    })
}

/// The generated authentication material as JSON, without secrets: `{"operator": "O..." or null, "accounts":
/// [...], "users": {"NAME": {"account", "public_key", "seed_file", "creds"}}}`. Free `*out` with
/// `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_auth_json(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        let json = handle(server)?.with(|s| Ok(s.auth_json().to_string()))?;
        *out = to_c_string(json);
        Ok(())
    })
}
