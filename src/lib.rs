//! # nats-server: real `nats-server` processes for integration tests
//!
//! Starts the real Go `nats-server` binary as a child process on dynamic ports, returns the moment it is ready
//! (milliseconds, no sleeps), lets a test restart, pause, kill or lame-duck it, and removes everything it made
//! when dropped. Clusters are formed on dynamic ports and returned only when fully meshed (and, with JetStream,
//! when a meta leader is known everywhere).
//!
//! ```no_run
//! use nats_server::{Server, ServerOptions};
//!
//! # fn main() -> nats_server::Result<()> {
//! let mut server = Server::run(&ServerOptions::new().jetstream(true))?;
//! println!("connect to {}", server.client_url());
//! server.try_restart()?; // same port, same JetStream store
//! # Ok(())
//! # }
//! ```
//!
//! The original crate's helpers (`run_server`, `run_basic_server`, `run_server_with_port`, `run_cluster`,
//! `set_lame_duck_mode`, `is_port_available`) keep their signatures; they panic with the cause on failure.
//!
//! The binary is found through the `binary` option, then `NATS_SERVER_BIN`, then `PATH`. `NATS_SERVER_KEEP`
//! (`never`, `on-failure`, `always`) says what to keep of a server's private directory after the test.

mod auth;
mod binary;
mod cluster;
mod confscan;
mod error;
mod install;
// The C ABI (`include/nats_server.h`): public for this crate's tests, hidden from the Rust docs (Rust users use
// the types re-exported below). cbindgen reads src/ffi/ itself; the symbols are exported whatever the visibility.
#[doc(hidden)]
pub mod ffi;
mod jwt;
mod links;
mod options;
mod process;
mod proxy;
mod ready;
mod server;
mod supercluster;
mod tls;
mod unique;
mod workdir;

/// Machinery this crate's own integration tests and benchmarks reach into (feature `internals`, turned on for
/// them by the dev-dependency on this crate). Not part of the API: it changes without notice.
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod internals {
    pub use crate::binary::{resolve as resolve_binary, version as binary_version};
    pub use crate::process::watchdog_pid;
    pub use crate::ready::{http_get, wait_for_ports_file, PortsFile};
    pub use crate::workdir::{root as workdir_root, sweep_stale};
}

pub use auth::{
    Account, AccountJetStream, AccountLimits, Export, Import, JetStreamLimits, Permissions, Rule,
    User, SYSTEM_ACCOUNT, SYSTEM_USER,
};
pub use binary::Version;
pub use cluster::{Cluster, IntoConfig};
pub use error::{Error, ErrorKind, Result};
pub use install::{requires, requires_version, Installed, Installer, Source, VersionSpec};
pub use options::{
    ClusterListener, ClusterOptions, GatewayListener, Keep, LeafRemote, RemoteGateway,
    ServerOptions, SuperclusterOptions,
};
pub use proxy::{Direction, Fault, FaultKind, Proxy};
pub use server::{Ports, Server};
pub use supercluster::{GatewayLink, Supercluster};
pub use tls::{TlsFiles, TlsOptions};

/// This library's version, e.g. `"0.2.0"` (not nats-server's: see [`Server::version`]). The C ABI hands it out
/// as `nats_server_library_version()`.
pub const LIBRARY_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Starts a server with the config file `cfg` (`""` for none) on a dynamic port. Panics with the cause on failure.
pub fn run_server(cfg: &str) -> Server {
    run_server_with_port(cfg, None)
}

/// Starts a server with no config on a dynamic port. Panics with the cause on failure.
pub fn run_basic_server() -> Server {
    run_server("")
}

/// Starts a server with the config file `cfg` (`""` for none) on `port` (`None`: dynamic, or `"-1"`).
/// Panics with the cause on failure.
pub fn run_server_with_port(cfg: &str, port: Option<&str>) -> Server {
    let mut opts = ServerOptions::new();
    if !cfg.is_empty() {
        opts.config_file = Some(cfg.into());
    }
    if let Some(port) = port.map(str::trim).filter(|p| *p != "-1") {
        match port.parse::<u16>() {
            Ok(p) => opts.port = Some(p),
            Err(_) => {
                let detail = format!("port {port:?} is not a port number");
                panic!("{}", Error::new(ErrorKind::InvalidOptions, detail))
            }
        }
    }
    Server::run(&opts).unwrap_or_else(|e| panic!("{e}"))
}

/// Starts a ready three-node cluster with one config for all nodes (`&str`, `""` for none) or one per node
/// (`[&str; 3]`). Panics with the cause on failure.
pub fn run_cluster<'a, C: IntoConfig<'a>>(cfg: C) -> Cluster {
    let configs = cfg.into_config();
    let mut opts = ClusterOptions::new().nodes(3);
    if configs.iter().any(|c| !c.is_empty()) {
        if configs.iter().any(|c| c.is_empty()) {
            let detail = "give a config for every node or for none";
            panic!("{}", Error::new(ErrorKind::InvalidOptions, detail));
        }
        opts.node_config_files = configs.iter().map(Into::into).collect();
    }
    Cluster::run(&opts).unwrap_or_else(|e| panic!("{e}"))
}

/// Puts the server into lame duck mode (as `nats-server --signal ldm=PID` does). Panics if it is not running.
pub fn set_lame_duck_mode(s: &Server) {
    let pid = s
        .pid()
        .unwrap_or_else(|| panic!("nats-server harness: not running: cannot enter lame duck mode"));
    process::signal(pid, libc::SIGUSR2)
        .unwrap_or_else(|e| panic!("nats-server harness: signalling pid {pid}: {e}"));
}

/// Whether a TCP port can be bound on all interfaces right now. (A check, not a reservation: prefer dynamic
/// ports.)
pub fn is_port_available(port: usize) -> bool {
    u16::try_from(port).is_ok_and(|p| std::net::TcpListener::bind(("0.0.0.0", p)).is_ok())
}
