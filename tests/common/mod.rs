//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nats_server::internals::{binary_version, resolve_binary};
use nats_server::Version;

/// The version of the nats-server the tests run against.
pub fn server_version() -> Version {
    let bin = resolve_binary(None)
        .expect("tests need a nats-server: set NATS_SERVER_BIN or put it on PATH");
    binary_version(&bin).expect("nats-server --version")
}

/// Skips (returns true and says why) when the server is older than `major.minor`.
pub fn skip_before(major: u32, minor: u32, why: &str) -> bool {
    let v = server_version();
    if v.at_least(major, minor) {
        return false;
    }
    eprintln!("SKIPPED: needs nats-server >= {major}.{minor} ({why}); this is {v}");
    true
}

/// The crate's `configs/jetstream.conf` (strict mode: nats-server 2.11 and later).
pub fn jetstream_conf() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("configs/jetstream.conf")
        .display()
        .to_string()
}

/// Whether a process with this pid exists (a zombie counts as gone).
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|s| s.split_whitespace().next());
            !matches!(state, Some("Z") | Some("X"))
        }
        Err(_) => false,
    }
}

/// A port that is free now and outside the kernel's ephemeral range, so no dynamic port (a `-1` server, a client
/// socket, another test's `bind(0)`) can take it while a test frees and reuses it. Ports made by `bind(0)` come from
/// the ephemeral range and may be handed to a concurrent test the moment they are dropped.
pub fn quiet_port() -> u16 {
    let range =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let ephemeral_low: u16 = range
        .split_whitespace()
        .next()
        .and_then(|low| low.parse().ok())
        .unwrap_or(32768);
    let high = ephemeral_low.clamp(11_000, 32768);
    for _ in 0..1000 {
        let port = fastrand::u16(10_000..high);
        // Free on every interface (the crate's own check) and on loopback, where the tests' servers listen.
        if nats_server::is_port_available(port.into())
            && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
        {
            return port;
        }
    }
    panic!("no free port below the ephemeral range ({ephemeral_low})");
}

/// Waits up to `timeout` for `cond`; returns whether it became true.
pub fn eventually(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Asserts that a server's process and directory are gone.
pub fn assert_nothing_left(pids: &[u32], dirs: &[PathBuf]) {
    for pid in pids {
        assert!(!pid_alive(*pid), "nats-server pid {pid} is still alive");
    }
    for dir in dirs {
        assert!(!dir.exists(), "directory {} was left behind", dir.display());
    }
}

/// A directory for a test's own files, removed on drop.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temp dir")
}

/// A client connected to every node of a cluster (it fails over between them).
pub async fn connect_all(cluster: &nats_server::Cluster) -> async_nats::Client {
    let addrs: Vec<async_nats::ServerAddr> = cluster
        .client_urls()
        .iter()
        .map(|u| u.parse().expect("a client URL"))
        .collect();
    async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(addrs)
        .await
        .expect("connect to the cluster")
}

/// A client that stays on the server at `url` (no failover to discovered ones), with a flag that is set once the
/// server tells it that it entered lame duck mode.
pub async fn connect_watching_lame_duck(
    url: &str,
) -> (
    async_nats::Client,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = flag.clone();
    let client = async_nats::ConnectOptions::new()
        .ignore_discovered_servers()
        .event_callback(move |event| {
            let seen = seen.clone();
            async move {
                if matches!(event, async_nats::Event::LameDuckMode) {
                    seen.store(true, std::sync::atomic::Ordering::SeqCst);
                }
            }
        })
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
    client.flush().await.unwrap();
    (client, flag)
}

/// Waits (without blocking the runtime) up to 5 s for a flag of [`connect_watching_lame_duck`].
pub async fn told_lame_duck(flag: &std::sync::atomic::AtomicBool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if flag.load(std::sync::atomic::Ordering::SeqCst) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    false
}
