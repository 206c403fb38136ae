//! Status codes and the error carried to the boundary.

use std::ffi::CStr;

use crate::error::{harness_message, Error, ErrorKind};

/// The result of every fallible call. `NATS_SERVER_OK` (0) is success; every other value is a failure whose
/// human-readable message is handed back through the call's `char **error` out-parameter.
///
/// The numbers are fixed and never reused. 1 to 12 mirror the Rust `ErrorKind`s; 100 and above exist only at the
/// C boundary (bad arguments, handles). New codes get new numbers; bindings must treat an unknown code as a
/// generic failure.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(C)]
pub enum nats_server_status {
    /// Success.
    NATS_SERVER_OK = 0,
    /// The `nats-server` binary was not found or could not be executed.
    NATS_SERVER_BINARY_NOT_FOUND = 1,
    /// The options are invalid: JSON syntax, an unknown field (named in the message), a wrong type, an impossible
    /// value, or a node index out of range.
    NATS_SERVER_INVALID_OPTIONS = 2,
    /// The server rejected its configuration or arguments (missing or malformed config file). The message quotes
    /// the server.
    NATS_SERVER_CONFIG = 3,
    /// A listener could not bind because its port is in use.
    NATS_SERVER_PORT_IN_USE = 4,
    /// The server did not become ready within `startup_timeout_ms`.
    NATS_SERVER_STARTUP_TIMEOUT = 5,
    /// The server process exited when it should not have.
    NATS_SERVER_SERVER_EXITED = 6,
    /// The operation needs a running server, and it is stopped.
    NATS_SERVER_NOT_RUNNING = 7,
    /// A file-system or socket operation of the harness failed.
    NATS_SERVER_IO = 8,
    /// A monitoring request failed (or monitoring is disabled).
    NATS_SERVER_MONITORING = 9,
    /// A wait (exit, cluster readiness, leader election) ran out of time.
    NATS_SERVER_TIMEOUT = 10,
    /// A bug in the harness (a caught panic). Please report it with the message.
    NATS_SERVER_INTERNAL = 11,
    /// A requested nats-server `version` could not be resolved or installed (no such release, a checksum
    /// mismatch, no network). The message names the version, the sources tried and what each answered.
    NATS_SERVER_INSTALL = 12,
    /// A required pointer argument (handle, string, out-parameter) is NULL. The message names the argument.
    NATS_SERVER_NULL_ARGUMENT = 100,
    /// A string argument is not valid UTF-8. The message names the argument and the byte offset.
    NATS_SERVER_INVALID_UTF8 = 101,
    /// The handle is not a live handle of the expected kind (already freed, or not a handle at all). Detection is
    /// best effort: a freed handle may also crash.
    NATS_SERVER_INVALID_HANDLE = 102,
    /// `nats_server_free` was given a node handle borrowed from a cluster; nothing was done. The cluster owns its
    /// nodes: free the cluster instead.
    NATS_SERVER_BORROWED_HANDLE = 103,
    /// What was asked for does not exist now: the listener is disabled in the options (websocket, cluster,
    /// monitoring port), or the cluster's nodes do not agree on a JetStream meta leader.
    NATS_SERVER_UNAVAILABLE = 104,
    /// An argument has a value outside its range (e.g. an unknown keep policy).
    NATS_SERVER_INVALID_ARGUMENT = 105,
}

impl nats_server_status {
    /// A short stable name, e.g. `"NATS_SERVER_NOT_RUNNING"`.
    pub fn name(self) -> &'static str {
        self.c_name().to_str().unwrap_or("NATS_SERVER_UNKNOWN")
    }

    /// The same name as a NUL-terminated static C string.
    pub fn c_name(self) -> &'static CStr {
        use nats_server_status::*;
        match self {
            NATS_SERVER_OK => c"NATS_SERVER_OK",
            NATS_SERVER_BINARY_NOT_FOUND => c"NATS_SERVER_BINARY_NOT_FOUND",
            NATS_SERVER_INVALID_OPTIONS => c"NATS_SERVER_INVALID_OPTIONS",
            NATS_SERVER_CONFIG => c"NATS_SERVER_CONFIG",
            NATS_SERVER_PORT_IN_USE => c"NATS_SERVER_PORT_IN_USE",
            NATS_SERVER_STARTUP_TIMEOUT => c"NATS_SERVER_STARTUP_TIMEOUT",
            NATS_SERVER_SERVER_EXITED => c"NATS_SERVER_SERVER_EXITED",
            NATS_SERVER_NOT_RUNNING => c"NATS_SERVER_NOT_RUNNING",
            NATS_SERVER_IO => c"NATS_SERVER_IO",
            NATS_SERVER_MONITORING => c"NATS_SERVER_MONITORING",
            NATS_SERVER_TIMEOUT => c"NATS_SERVER_TIMEOUT",
            NATS_SERVER_INTERNAL => c"NATS_SERVER_INTERNAL",
            NATS_SERVER_INSTALL => c"NATS_SERVER_INSTALL",
            NATS_SERVER_NULL_ARGUMENT => c"NATS_SERVER_NULL_ARGUMENT",
            NATS_SERVER_INVALID_UTF8 => c"NATS_SERVER_INVALID_UTF8",
            NATS_SERVER_INVALID_HANDLE => c"NATS_SERVER_INVALID_HANDLE",
            NATS_SERVER_BORROWED_HANDLE => c"NATS_SERVER_BORROWED_HANDLE",
            NATS_SERVER_UNAVAILABLE => c"NATS_SERVER_UNAVAILABLE",
            NATS_SERVER_INVALID_ARGUMENT => c"NATS_SERVER_INVALID_ARGUMENT",
        }
    }

    /// The kind named in this status's messages (`nats-server harness: <kind>: ...`): the [`ErrorKind`] name for
    /// 1 to 12, the boundary's own kinds above 100.
    pub(crate) fn kind_name(self) -> &'static str {
        use nats_server_status::*;
        match self {
            NATS_SERVER_OK => "ok",
            NATS_SERVER_BINARY_NOT_FOUND => ErrorKind::BinaryNotFound.name(),
            NATS_SERVER_INVALID_OPTIONS => ErrorKind::InvalidOptions.name(),
            NATS_SERVER_CONFIG => ErrorKind::Config.name(),
            NATS_SERVER_PORT_IN_USE => ErrorKind::PortInUse.name(),
            NATS_SERVER_STARTUP_TIMEOUT => ErrorKind::StartupTimeout.name(),
            NATS_SERVER_SERVER_EXITED => ErrorKind::ServerExited.name(),
            NATS_SERVER_NOT_RUNNING => ErrorKind::NotRunning.name(),
            NATS_SERVER_IO => ErrorKind::Io.name(),
            NATS_SERVER_MONITORING => ErrorKind::Monitoring.name(),
            NATS_SERVER_TIMEOUT => ErrorKind::Timeout.name(),
            NATS_SERVER_INTERNAL => ErrorKind::Internal.name(),
            NATS_SERVER_INSTALL => ErrorKind::Install.name(),
            NATS_SERVER_NULL_ARGUMENT => "null argument",
            NATS_SERVER_INVALID_UTF8 => "invalid UTF-8",
            NATS_SERVER_INVALID_HANDLE => "invalid handle",
            NATS_SERVER_BORROWED_HANDLE => "borrowed handle",
            NATS_SERVER_UNAVAILABLE => "unavailable",
            NATS_SERVER_INVALID_ARGUMENT => "invalid argument",
        }
    }

    /// Every status, for tests and bindings generators.
    pub const ALL: [nats_server_status; 19] = {
        use nats_server_status::*;
        [
            NATS_SERVER_OK,
            NATS_SERVER_BINARY_NOT_FOUND,
            NATS_SERVER_INVALID_OPTIONS,
            NATS_SERVER_CONFIG,
            NATS_SERVER_PORT_IN_USE,
            NATS_SERVER_STARTUP_TIMEOUT,
            NATS_SERVER_SERVER_EXITED,
            NATS_SERVER_NOT_RUNNING,
            NATS_SERVER_IO,
            NATS_SERVER_MONITORING,
            NATS_SERVER_TIMEOUT,
            NATS_SERVER_INTERNAL,
            NATS_SERVER_INSTALL,
            NATS_SERVER_NULL_ARGUMENT,
            NATS_SERVER_INVALID_UTF8,
            NATS_SERVER_INVALID_HANDLE,
            NATS_SERVER_BORROWED_HANDLE,
            NATS_SERVER_UNAVAILABLE,
            NATS_SERVER_INVALID_ARGUMENT,
        ]
    };
}

impl From<ErrorKind> for nats_server_status {
    fn from(kind: ErrorKind) -> Self {
        use nats_server_status::*;
        match kind {
            ErrorKind::BinaryNotFound => NATS_SERVER_BINARY_NOT_FOUND,
            ErrorKind::InvalidOptions => NATS_SERVER_INVALID_OPTIONS,
            ErrorKind::Config => NATS_SERVER_CONFIG,
            ErrorKind::PortInUse => NATS_SERVER_PORT_IN_USE,
            ErrorKind::StartupTimeout => NATS_SERVER_STARTUP_TIMEOUT,
            ErrorKind::ServerExited => NATS_SERVER_SERVER_EXITED,
            ErrorKind::NotRunning => NATS_SERVER_NOT_RUNNING,
            ErrorKind::Io => NATS_SERVER_IO,
            ErrorKind::Monitoring => NATS_SERVER_MONITORING,
            ErrorKind::Timeout => NATS_SERVER_TIMEOUT,
            ErrorKind::Internal => NATS_SERVER_INTERNAL,
            ErrorKind::Install => NATS_SERVER_INSTALL,
        }
    }
}

/// A failure on its way to the boundary: a status and the message for `*error`.
#[derive(Debug)]
pub(crate) struct FfiError {
    pub(crate) status: nats_server_status,
    pub(crate) message: String,
}

impl FfiError {
    /// A failure of `status` whose message is `detail` behind the harness's prefix naming the status's kind.
    pub(crate) fn new(status: nats_server_status, detail: impl std::fmt::Display) -> Self {
        FfiError {
            status,
            message: harness_message(status.kind_name(), detail),
        }
    }
}

impl From<Error> for FfiError {
    fn from(err: Error) -> Self {
        FfiError {
            status: err.kind().into(),
            message: err.to_string(),
        }
    }
}

pub(crate) type FfiResult<T> = Result<T, FfiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_keep_their_numbers() {
        for kind in [
            ErrorKind::BinaryNotFound,
            ErrorKind::InvalidOptions,
            ErrorKind::Config,
            ErrorKind::PortInUse,
            ErrorKind::StartupTimeout,
            ErrorKind::ServerExited,
            ErrorKind::NotRunning,
            ErrorKind::Io,
            ErrorKind::Monitoring,
            ErrorKind::Timeout,
            ErrorKind::Internal,
            ErrorKind::Install,
        ] {
            assert_eq!(kind as i32, nats_server_status::from(kind) as i32);
        }
    }

    #[test]
    fn names_match() {
        for status in nats_server_status::ALL {
            assert!(status.name().starts_with("NATS_SERVER_"));
            assert_eq!(format!("{status:?}"), status.name());
        }
    }
}
