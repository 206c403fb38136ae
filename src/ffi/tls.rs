//! The generated TLS material of a server, through the C ABI: paths to hand to a client (nats.c:
//! `natsOptions_LoadCATrustedCertificates`, `natsOptions_LoadCertificatesChain`).

use std::ffi::c_char;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::boundary::{bytes_to_c_string, guard, out_arg};
use super::server::{handle, nats_server_t};
use super::status::{nats_server_status, FfiError};
use crate::server::Server;

/// Answers one of the server's TLS paths, or `NATS_SERVER_UNAVAILABLE` saying why there is none.
unsafe fn tls_path(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
    what: &'static str,
    f: impl FnOnce(&Server) -> Option<&Path>,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        let path = handle(server)?.with(|s| {
            Ok(f(s).map(|p| p.as_os_str().as_bytes().to_vec()).ok_or_else(|| {
                let why = if s.tls_files().is_none() {
                    "the server has no `tls` option"
                } else {
                    "the server uses your own certificate files (`tls.cert_file`), so the harness has none to give"
                };
                FfiError::new(
                    nats_server_status::NATS_SERVER_UNAVAILABLE,
                    format!("nats-server harness: unavailable: no {what}: {why}"),
                )
            }))
        })??;
        *out = bytes_to_c_string(path);
        Ok(())
    })
}

/// The CA certificate (PEM) that signed the server's certificate: give it to the client to verify the server
/// (nats.c: `natsOptions_LoadCATrustedCertificates`). The generated CA, shared by every server of the process, or
/// your `tls.ca_file`. `NATS_SERVER_UNAVAILABLE` without TLS (or with your own certificate and no `tls.ca_file`).
/// Free `*out` with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_ca_file(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    tls_path(server, out, error, "CA file", Server::ca_file)
}

/// A client certificate (PEM) signed by the generated CA, for servers with `tls.verify` (mTLS; nats.c:
/// `natsOptions_LoadCertificatesChain(opts, cert, key)`). `NATS_SERVER_UNAVAILABLE` without TLS or with your own
/// certificate files. Free `*out` with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_client_cert_file(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    tls_path(
        server,
        out,
        error,
        "client certificate",
        Server::client_cert_file,
    )
}

/// The private key (PEM, mode 0600) of the client certificate. `NATS_SERVER_UNAVAILABLE` as for
/// `nats_server_client_cert_file`. Free `*out` with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_client_key_file(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    tls_path(server, out, error, "client key", Server::client_key_file)
}
