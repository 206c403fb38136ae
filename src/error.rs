//! One error type for the whole harness.
//!
//! Every failure carries an [`ErrorKind`] (stable, mirrored by the C status codes and by the Python and Go
//! exception/sentinel types) and a message meant for a human: it names the cause, what to do about it, and, when
//! the server itself complained, the server's own words.

use std::fmt;

/// What went wrong, as a stable category. The numbers are part of the C ABI and are never reused. New kinds may be
/// added in a minor release: a `match` needs a `_` arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The `nats-server` binary was not found or could not be executed.
    BinaryNotFound = 1,
    /// The options given to the harness are invalid (unknown field, wrong type, impossible value).
    InvalidOptions = 2,
    /// The server rejected its configuration or arguments (missing or malformed config file, unknown field,
    /// unknown command-line flag). The message quotes the server.
    Config = 3,
    /// A listener could not bind because its port is in use.
    PortInUse = 4,
    /// The server did not become ready within the startup timeout.
    StartupTimeout = 5,
    /// The server process exited when it should not have (during start-up, for a reason not covered above).
    ServerExited = 6,
    /// The operation needs a running server, and it is stopped.
    NotRunning = 7,
    /// A file-system or socket operation of the harness itself failed.
    Io = 8,
    /// A request to the server's monitoring endpoint failed (or monitoring is disabled).
    Monitoring = 9,
    /// A wait helper (cluster formation, leader election, ...) ran out of time.
    Timeout = 10,
    /// A bug in the harness (a caught panic). Please report it.
    Internal = 11,
    /// A requested nats-server `version` could not be resolved or installed (no such release, a checksum
    /// mismatch, no network). The message names the version, the sources tried and what each answered.
    Install = 12,
}

impl ErrorKind {
    /// A short stable name, used in messages and by the bindings.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::BinaryNotFound => "binary not found",
            ErrorKind::InvalidOptions => "invalid options",
            ErrorKind::Config => "configuration rejected",
            ErrorKind::PortInUse => "port in use",
            ErrorKind::StartupTimeout => "startup timeout",
            ErrorKind::ServerExited => "server exited",
            ErrorKind::NotRunning => "not running",
            ErrorKind::Io => "i/o error",
            ErrorKind::Monitoring => "monitoring request failed",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Internal => "internal error",
            ErrorKind::Install => "install failed",
        }
    }
}

/// The harness's error: a kind and a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// Builds an error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// The category of the error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human-readable message (without the kind prefix).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Returns the same error with `context` put in front of its message.
    pub(crate) fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    pub(crate) fn io(what: impl fmt::Display, err: std::io::Error) -> Self {
        Error::new(ErrorKind::Io, format!("{what}: {err}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&harness_message(self.kind.name(), &self.message))
    }
}

/// The one place the harness's message prefix is built: `nats-server harness: <kind>: <detail>`. Used by
/// [`Error`]'s `Display`, the C boundary (whose own kinds, such as "null argument", have no [`ErrorKind`]) and
/// the few messages assembled outside an [`Error`]; the Python and Go bindings take their messages from here.
pub(crate) fn harness_message(kind: &str, detail: impl fmt::Display) -> String {
    format!("nats-server harness: {kind}: {detail}")
}

impl std::error::Error for Error {}

/// The harness's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
