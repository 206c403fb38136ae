//! The options schema shared by Rust, the C ABI, Python, Go and the command-line tool.
//!
//! One serde schema: JSON documents with unknown fields are rejected with the field's name. Durations are whole
//! milliseconds so every language can write them. Builder methods with the fields' names allow
//! `ServerOptions::new().jetstream(true).port(4222)`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::auth::{Account, JetStreamLimits, User};
use crate::error::{Error, ErrorKind, Result};
use crate::tls::TlsOptions;

/// Environment variable that sets the default [`Keep`] policy (`never`, `on-failure` or `always`).
pub const KEEP_ENV: &str = "NATS_SERVER_KEEP";

/// What to keep of a server's private directory (log, config, ports file, JetStream store) once it is dropped.
///
/// Serialized as `never`, `on-failure`, `always`; deserialized from every spelling [`Keep::parse`] accepts (the one
/// place keep values are parsed: options documents from C, Python and Go, and `NATS_SERVER_KEEP`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Keep {
    /// Always remove everything.
    Never,
    /// Keep it when the dropping thread is panicking (a failed Rust test), and say where it is.
    OnFailure,
    /// Always keep it, and say where it is.
    Always,
}

impl<'de> Deserialize<'de> for Keep {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Keep::parse(&text).map_err(|e| serde::de::Error::custom(e.message()))
    }
}

impl Keep {
    /// Parses `never` (or `no`, `0`, `false`), `on-failure` (or `on_failure`, empty) and `always` (or `yes`, `1`,
    /// `true`), in any case.
    pub fn parse(text: &str) -> Result<Keep> {
        match text.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "never" | "no" | "0" | "false" => Ok(Keep::Never),
            "on-failure" | "" => Ok(Keep::OnFailure),
            "always" | "yes" | "1" | "true" => Ok(Keep::Always),
            other => Err(Error::new(
                ErrorKind::InvalidOptions,
                format!("keep policy {other:?} is not one of never, on-failure, always"),
            )),
        }
    }

    /// The policy from `NATS_SERVER_KEEP`, or [`Keep::OnFailure`] when it is unset or invalid.
    pub fn from_env() -> Keep {
        std::env::var(KEEP_ENV)
            .ok()
            .and_then(|v| Keep::parse(&v).ok())
            .unwrap_or(Keep::OnFailure)
    }
}

/// A cluster listener for one server: the building block of clusters, usable on its own for custom topologies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterListener {
    /// The cluster name; servers only join peers with the same name.
    pub name: String,
    /// The cluster (route) port; `None` (or 0) picks a free one (kept across restarts).
    pub port: Option<u16>,
    /// Route URLs to peers, e.g. `nats://127.0.0.1:6222`.
    pub routes: Vec<String>,
}

/// A gateway listener for one server: joins its cluster to other clusters (a supercluster). The building block of
/// [`crate::Supercluster`], usable on its own for custom topologies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayListener {
    /// The gateway name: the name of this server's cluster, the same on every node of it.
    pub name: String,
    /// The gateway port; `None` picks a free one (kept across restarts).
    pub port: Option<u16>,
    /// The other clusters to connect to, each by name with gateway URLs of some of its nodes.
    pub gateways: Vec<RemoteGateway>,
    /// The `host:port` the server gives other gateways to reach it (default: its listener's). A supercluster with
    /// `gateway_proxies` sets a closed one, so no gateway learns a direct address that bypasses the proxies.
    pub advertise: Option<String>,
}

/// Another cluster a gateway connects to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RemoteGateway {
    /// That cluster's gateway name.
    pub name: String,
    /// Gateway URLs of its nodes, e.g. `nats://127.0.0.1:7222`.
    pub urls: Vec<String>,
}

/// A leaf node connection to a hub: makes this server a leaf of the hub.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LeafRemote {
    /// The hub's leaf node URLs (e.g. [`crate::Server::leafnode_url`]); credentials may be in the URL
    /// (`nats://user:pass@host:port`).
    pub urls: Vec<String>,
    /// The local account the connection is bound to (default: the global account).
    pub account: Option<String>,
    /// A credentials file (JWT + seed) to authenticate to the hub.
    pub credentials: Option<PathBuf>,
}

impl LeafRemote {
    /// A remote to one hub URL.
    pub fn new(url: impl Into<String>) -> LeafRemote {
        LeafRemote {
            urls: vec![url.into()],
            ..LeafRemote::default()
        }
    }
}

/// Options for one `nats-server`. Every listener is on a dynamic port unless a port is given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerOptions {
    /// The `nats-server` binary. The binary run is, in order: `binary` if set, else the release `version`
    /// names, else `$NATS_SERVER_BIN`, else `nats-server` on `PATH`.
    pub binary: Option<PathBuf>,
    /// A nats-server release to run (`"2.14"`, `"2.14.6"`, `"latest"`), installed into the per-user cache when
    /// missing (see [`crate::Installer`]). Ignored when `binary` is set.
    pub version: Option<String>,
    /// A configuration file (relative paths are resolved against the current directory).
    pub config_file: Option<PathBuf>,
    /// Configuration text, applied after `config_file` (so it overrides it).
    pub config: Option<String>,
    /// Enables JetStream (`-js`). A config file can enable it too.
    pub jetstream: bool,
    /// The JetStream store directory; default: inside the server's private directory (removed with it).
    /// A directory given here belongs to the caller and is never removed.
    pub store_dir: Option<PathBuf>,
    /// The interface to listen on (all listeners). Unset: `127.0.0.1`, unless the configuration sets `host`,
    /// `net` or `listen` (see [`ServerOptions::listen_host`]). When set, it overrides the configuration.
    pub host: Option<String>,
    /// The client port; `None` (or 0) picks a free one unless the configuration sets `port` or `listen`. When
    /// set, it overrides the configuration. Either way the port is kept across restarts.
    pub port: Option<u16>,
    /// The server name (`-n`).
    pub name: Option<String>,
    /// Require this user (with `password`) from clients.
    pub user: Option<String>,
    /// The password for `user`.
    pub password: Option<String>,
    /// Require this token from clients.
    pub token: Option<String>,
    /// Users of the global account, each with a password or a generated nkey, and permissions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<User>,
    /// Named accounts with their users, JetStream, exports and imports.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub accounts: BTreeMap<String, Account>,
    /// The user (of `users` or `accounts`) that clients connecting without credentials become.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_auth_user: Option<String>,
    /// The server's JetStream limits (needs `jetstream: true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jetstream_limits: Option<JetStreamLimits>,
    /// Operator mode: a generated operator signs `accounts` (plus a system account `SYS` with user `sys`) and
    /// their users into JWTs served by the memory resolver; each user gets a creds file.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub operator: bool,
    /// Opens the HTTP monitoring listener (`/varz`, `/healthz`, ...). Default on.
    pub monitoring: bool,
    /// Opens a plain-text websocket listener.
    pub websocket: bool,
    /// Opens a cluster listener with routes (see [`ClusterListener`]).
    pub cluster: Option<ClusterListener>,
    /// Opens a gateway listener with gateways to other clusters (see [`GatewayListener`]).
    pub gateway: Option<GatewayListener>,
    /// Opens a leaf node listener on a dynamic port, so leaf nodes can connect: makes this server a hub.
    pub leafnodes: bool,
    /// Leaf node connections to hubs: makes this server a leaf. The server is ready once every remote is connected.
    pub leaf_remotes: Vec<LeafRemote>,
    /// The JetStream domain (needs `jetstream`), e.g. for a leaf whose JetStream the hub reaches as
    /// `$JS.<domain>.API`.
    pub jetstream_domain: Option<String>,
    /// Opens an MQTT listener on a dynamic port (needs `jetstream`; a server name is chosen when none is given).
    pub mqtt: bool,
    /// TLS with generated certificates (or your own); `"tls": true` in JSON for the defaults. See [`TlsOptions`].
    #[serde(
        deserialize_with = "crate::tls::deserialize_tls",
        skip_serializing_if = "Option::is_none"
    )]
    pub tls: Option<TlsOptions>,
    /// Debug logging (`-D`).
    pub debug: bool,
    /// Protocol tracing (`-V`).
    pub trace: bool,
    /// Extra command-line arguments, passed last. Arguments that would take over what the harness sets (`-c`,
    /// `-l`, `--ports_file_dir`, listener ports and hosts, `--store_dir`, cluster flags, credentials) are refused
    /// with the name of the option to use instead.
    pub args: Vec<String>,
    /// With a cluster listener (the `cluster` option or the configuration's own `cluster` block): return from the
    /// start only once this server has a route to every configured peer that is already running (its route port
    /// answers), as `/routez` shows. Needs monitoring. Default off.
    pub wait_for_routes: bool,
    /// How long to wait for the server to become ready, in milliseconds. Default 10 000.
    pub startup_timeout_ms: u64,
    /// What to keep after the server is dropped; default from `NATS_SERVER_KEEP`, else on-failure.
    pub keep: Option<Keep>,
    /// Puts a fault proxy in front of the client port: clients given `proxied_url()` go through it, and the test
    /// injects faults with `client_proxy()`. The direct URL stays available.
    pub client_proxy: bool,
    /// With `leafnodes`: puts a fault proxy in front of the leaf node listener and advertises the proxy's address,
    /// so leaves (given `proxied_leafnode_url()`; [`crate::Server::run_leaf_of`] uses it) reach this hub only
    /// through it; faults and link down/up with `leafnode_proxy()`.
    pub leafnode_proxy: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            binary: None,
            version: None,
            config_file: None,
            config: None,
            jetstream: false,
            store_dir: None,
            host: None,
            port: None,
            name: None,
            user: None,
            password: None,
            token: None,
            users: Vec::new(),
            accounts: BTreeMap::new(),
            no_auth_user: None,
            jetstream_limits: None,
            operator: false,
            monitoring: true,
            websocket: false,
            cluster: None,
            gateway: None,
            leafnodes: false,
            leaf_remotes: Vec::new(),
            jetstream_domain: None,
            mqtt: false,
            tls: None,
            debug: false,
            trace: false,
            args: Vec::new(),
            wait_for_routes: false,
            startup_timeout_ms: 10_000,
            keep: None,
            client_proxy: false,
            leafnode_proxy: false,
        }
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty => $val:expr;)*) => {
        $(
            $(#[$doc])*
            #[must_use]
            pub fn $name(mut self, value: $ty) -> Self {
                #[allow(clippy::redundant_closure_call)]
                { self.$name = ($val)(value); }
                self
            }
        )*
    };
}

impl ServerOptions {
    /// The defaults: loopback, dynamic ports, monitoring on, JetStream off.
    pub fn new() -> Self {
        Self::default()
    }

    setters! {
        /// Sets the binary path.
        binary: impl Into<PathBuf> => |v: _| Some(Into::<PathBuf>::into(v));
        /// Sets the release to run (`"2.14"`, `"2.14.6"`, `"latest"`), installed when missing.
        version: impl Into<String> => |v: _| Some(Into::<String>::into(v));
        /// Sets a configuration file.
        config_file: impl Into<PathBuf> => |v: _| Some(Into::<PathBuf>::into(v));
        /// Sets inline configuration text.
        config: impl Into<String> => |v: _| Some(Into::<String>::into(v));
        /// Enables or disables JetStream.
        jetstream: bool => |v| v;
        /// Sets the JetStream store directory (owned by the caller).
        store_dir: impl Into<PathBuf> => |v: _| Some(Into::<PathBuf>::into(v));
        /// Sets the listen host.
        host: impl Into<String> => |v: _| Some(Into::<String>::into(v));
        /// Sets a fixed client port.
        port: u16 => Some;
        /// Sets the server name.
        name: impl Into<String> => |v: _| Some(Into::<String>::into(v));
        /// Requires a user (set the password too).
        user: impl Into<String> => |v: _| Some(Into::<String>::into(v));
        /// Sets the password for the user.
        password: impl Into<String> => |v: _| Some(Into::<String>::into(v));
        /// Requires a token.
        token: impl Into<String> => |v: _| Some(Into::<String>::into(v));
        /// Sets the user that clients without credentials become.
        no_auth_user: impl Into<String> => |v: _| Some(Into::<String>::into(v));
        /// Sets the server's JetStream limits.
        jetstream_limits: JetStreamLimits => Some;
        /// Enables operator mode (JWT accounts and users, creds files).
        operator: bool => |v| v;
        /// Enables or disables the monitoring listener.
        monitoring: bool => |v| v;
        /// Enables or disables the websocket listener.
        websocket: bool => |v| v;
        /// Adds a cluster listener.
        cluster: ClusterListener => Some;
        /// Adds a gateway listener.
        gateway: GatewayListener => Some;
        /// Enables or disables the leaf node listener (a hub).
        leafnodes: bool => |v| v;
        /// Sets the leaf node connections to hubs (a leaf).
        leaf_remotes: Vec<LeafRemote> => |v| v;
        /// Sets the JetStream domain.
        jetstream_domain: impl Into<String> => |v: _| Some(Into::<String>::into(v));
        /// Enables or disables the MQTT listener.
        mqtt: bool => |v| v;
        /// Turns TLS on (`TlsOptions::new()` for generated certificates on the client listener).
        tls: TlsOptions => Some;
        /// Enables or disables debug logging.
        debug: bool => |v| v;
        /// Enables or disables protocol tracing.
        trace: bool => |v| v;
        /// Waits for routes to the configured, running peers at start.
        wait_for_routes: bool => |v| v;
        /// Sets the startup timeout in milliseconds.
        startup_timeout_ms: u64 => |v| v;
        /// Sets what to keep after drop.
        keep: Keep => Some;
        /// Puts a fault proxy in front of the client port.
        client_proxy: bool => |v| v;
        /// Puts a fault proxy in front of the leaf node listener (with `leafnodes`).
        leafnode_proxy: bool => |v| v;
    }

    /// The host the options ask for: `host` when set, else the harness's default `127.0.0.1` (a configuration
    /// may still choose another; [`crate::Server::host`] tells the one in use).
    pub fn listen_host(&self) -> &str {
        self.host.as_deref().unwrap_or(DEFAULT_HOST)
    }

    /// Starts a server with these options (see [`crate::Server::run`]).
    pub fn run(&self) -> Result<crate::Server> {
        crate::Server::run(self)
    }

    /// Makes this server a leaf of `hub` (which must have `leafnodes` on): adds a remote to its leaf node URL.
    #[must_use]
    pub fn leaf_of(mut self, hub: &crate::Server) -> Self {
        self.leaf_remotes
            .push(LeafRemote::new(hub.leafnode_url().unwrap_or_default()));
        self
    }

    /// Adds one extra command-line argument.
    #[must_use]
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds a user to the global account.
    #[must_use]
    pub fn add_user(mut self, user: User) -> Self {
        self.users.push(user);
        self
    }

    /// Adds (or replaces) a named account.
    #[must_use]
    pub fn account(mut self, name: impl Into<String>, account: Account) -> Self {
        self.accounts.insert(name.into(), account);
        self
    }

    /// Parses options from a JSON document; unknown fields are rejected by name.
    pub fn from_json(json: &str) -> Result<Self> {
        let opts: ServerOptions = from_json(json, "server")?;
        opts.validate()?;
        Ok(opts)
    }

    /// The options as a JSON document.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("options always serialize")
    }

    /// Checks the options for contradictions the server would report less clearly.
    pub fn validate(&self) -> Result<()> {
        self.validate_for(self.cluster.is_some(), self.gateway.is_some())
    }

    /// [`ServerOptions::validate`], with `cluster` and `gateway` saying whether the server will have a cluster
    /// listener and a gateway (a cluster's nodes get theirs from the cluster, a supercluster's from it).
    fn validate_for(&self, cluster: bool, gateway: bool) -> Result<()> {
        if let Some(tls) = &self.tls {
            tls.validate(crate::tls::Links {
                websocket: self.websocket,
                cluster,
                gateway,
                leafnodes: self.leafnodes || !self.leaf_remotes.is_empty(),
            })?;
        }
        let invalid = |msg: String| Err(Error::new(ErrorKind::InvalidOptions, msg));
        if self.password.is_some() && self.user.is_none() {
            return invalid("`password` is set but `user` is not; set both".into());
        }
        if self.user.is_some() && self.password.is_none() {
            return invalid("`user` is set but `password` is not; set both".into());
        }
        if self.token.is_some() && self.user.is_some() {
            return invalid("`token` and `user` cannot be used together; choose one".into());
        }
        if self.startup_timeout_ms == 0 {
            return invalid("`startup_timeout_ms` must be greater than 0".into());
        }
        if self.host.as_deref().is_some_and(|h| h.trim().is_empty()) {
            return invalid("`host` must not be empty (leave it unset for 127.0.0.1)".into());
        }
        crate::auth::validate(self)?;
        check_args(&self.args)?;
        if let Some(version) = &self.version {
            crate::install::VersionSpec::parse(version)?;
        }
        if let Some(cluster) = &self.cluster {
            if cluster.name.trim().is_empty() {
                return invalid("`cluster.name` must not be empty".into());
            }
        }
        if let Some(gateway) = &self.gateway {
            if gateway.name.trim().is_empty() {
                return invalid("`gateway.name` must not be empty".into());
            }
        }
        for (i, remote) in self.leaf_remotes.iter().enumerate() {
            if remote.urls.iter().all(|u| u.trim().is_empty()) {
                return invalid(format!(
                    "`leaf_remotes[{i}].urls` is empty; give the hub's leaf node URL (its `leafnode_url()`, the hub \
                     needs `leafnodes: true`)"
                ));
            }
        }
        if self.leafnode_proxy && !self.leafnodes {
            return invalid(
                "`leafnode_proxy` needs `leafnodes: true` (a leaf node listener to proxy)".into(),
            );
        }
        if self.jetstream_domain.is_some() && !self.jetstream {
            return invalid("`jetstream_domain` needs `jetstream: true`".into());
        }
        if self.mqtt && !self.jetstream {
            return invalid(
                "`mqtt` needs `jetstream: true` (the MQTT listener stores its state in JetStream)"
                    .into(),
            );
        }
        if !self.monitoring
            && (self.gateway.is_some()
                || self.leafnodes
                || self.mqtt
                || !self.leaf_remotes.is_empty())
        {
            return invalid(
                "gateways, leaf nodes and MQTT need `monitoring: true`: the harness reads their ports and connections \
                 from the monitoring endpoints"
                    .into(),
            );
        }
        if let Some(config) = &self.config_file {
            if !config.exists() {
                let cwd = std::env::current_dir()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default();
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "config file {} does not exist (relative paths are resolved against the current directory {cwd})",
                        config.display()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The listen host used when neither the options nor the configuration choose one.
pub const DEFAULT_HOST: &str = "127.0.0.1";

/// Command-line arguments that would take over what the harness sets, each with the option to use instead.
const CONFLICTING_ARGS: &[(&[&str], &str)] = &[
    (
        &["-c", "-config", "--config"],
        "`config_file` (or `config` for inline text)",
    ),
    (
        &["-ports_file_dir", "--ports_file_dir"],
        "nothing: the harness needs its own ports file to know the server is ready",
    ),
    (
        &["-l", "-log", "--log", "-log_file", "--log_file"],
        "nothing: the log is the server directory's `nats-server.log` (`log_path()`)",
    ),
    (&["-sd", "--sd", "-store_dir", "--store_dir"], "`store_dir`"),
    (
        &["-p", "--p", "-port", "--port"],
        "`port` (or `port:` in `config`)",
    ),
    (
        &["-a", "--a", "-addr", "--addr", "-net", "--net"],
        "`host` (or `host:` in `config`)",
    ),
    (
        &[
            "-m",
            "--m",
            "-http_port",
            "--http_port",
            "-ms",
            "--ms",
            "-https_port",
            "--https_port",
        ],
        "`monitoring` (or `http:` / `https:` in `config`)",
    ),
    (
        &[
            "-cluster",
            "--cluster",
            "-cluster_listen",
            "--cluster_listen",
            "-routes",
            "--routes",
            "-cluster_name",
            "--cluster_name",
        ],
        "`cluster`",
    ),
    (&["-js", "--js", "-jetstream", "--jetstream"], "`jetstream`"),
    (
        &[
            "-n",
            "--n",
            "-name",
            "--name",
            "-server_name",
            "--server_name",
        ],
        "`name`",
    ),
    (
        &["-user", "--user", "-pass", "--pass", "-auth", "--auth"],
        "`user` and `password`, or `token`",
    ),
];

/// Refuses arguments that fight the harness, naming the option to use.
fn check_args(args: &[String]) -> Result<()> {
    for arg in args {
        // `--port=4222` and `-p=4222` name the same flag as `--port 4222`.
        let flag = arg.split('=').next().unwrap_or(arg);
        for (flags, instead) in CONFLICTING_ARGS {
            if flags.contains(&flag) {
                return Err(Error::new(
                    ErrorKind::InvalidOptions,
                    format!(
                        "`args` contains {arg:?}, which would take over what the harness sets; use {instead} instead"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Options for a cluster of servers, formed on dynamic ports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterOptions {
    /// Number of nodes, 1 or more. Default 3.
    pub nodes: usize,
    /// The cluster name; default: a random one, so parallel clusters never join each other.
    pub name: Option<String>,
    /// The options every node starts from (JetStream, config, auth, binary, ...). Ports must stay dynamic.
    pub server: ServerOptions,
    /// One config file per node (empty: use `server.config_file` for all).
    pub node_config_files: Vec<PathBuf>,
    /// One server name per node (empty: `node1`, `node2`, ...; or `NAME-1`, `NAME-2`, ... when `server.name` is set).
    pub node_names: Vec<String>,
    /// One JetStream store directory per node, owned by the caller and never removed (empty: each node's store
    /// is in its private directory).
    pub node_store_dirs: Vec<PathBuf>,
    /// One release per node (`"2.14"`, `"2.15.1"`, ...; an empty string: `server.version`), for mixed-version
    /// clusters. Empty: every node runs `server`'s binary or version.
    pub node_versions: Vec<String>,
    /// One binary per node (an empty path: the node falls back to `node_versions`, then `server`). Wins over
    /// `node_versions` for that node.
    pub node_binaries: Vec<PathBuf>,
    /// How long to wait for the cluster to be ready (mesh formed, JetStream leader known), in milliseconds.
    /// Default 30 000.
    pub ready_timeout_ms: u64,
    /// Routes every node-to-node connection through its own fault proxy (one per ordered pair of nodes), for
    /// `partition`, `heal` and faults on single route links.
    pub route_proxies: bool,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            nodes: 3,
            name: None,
            server: ServerOptions::default(),
            node_config_files: Vec::new(),
            node_names: Vec::new(),
            node_store_dirs: Vec::new(),
            node_versions: Vec::new(),
            node_binaries: Vec::new(),
            ready_timeout_ms: 30_000,
            route_proxies: false,
        }
    }
}

impl ClusterOptions {
    /// Three nodes, no JetStream.
    pub fn new() -> Self {
        Self::default()
    }

    setters! {
        /// Sets the node count.
        nodes: usize => |v| v;
        /// Sets the cluster name.
        name: impl Into<String> => |v: _| Some(Into::<String>::into(v));
        /// Sets the options every node starts from.
        server: ServerOptions => |v| v;
        /// Sets one config file per node.
        node_config_files: Vec<PathBuf> => |v| v;
        /// Sets one name per node.
        node_names: Vec<String> => |v| v;
        /// Sets one store directory per node.
        node_store_dirs: Vec<PathBuf> => |v| v;
        /// Sets one release per node (mixed-version clusters).
        node_versions: Vec<String> => |v| v;
        /// Sets one binary per node (mixed-version clusters).
        node_binaries: Vec<PathBuf> => |v| v;
        /// Sets the readiness timeout in milliseconds.
        ready_timeout_ms: u64 => |v| v;
        /// Routes every node-to-node connection through its own fault proxy.
        route_proxies: bool => |v| v;
    }

    /// Enables JetStream on every node.
    #[must_use]
    pub fn jetstream(mut self, on: bool) -> Self {
        self.server.jetstream = on;
        self
    }

    /// Starts a cluster with these options (see [`crate::Cluster::run`]).
    pub fn run(&self) -> Result<crate::Cluster> {
        crate::Cluster::run(self)
    }

    /// Parses options from a JSON document; unknown fields are rejected by name.
    pub fn from_json(json: &str) -> Result<Self> {
        let opts: ClusterOptions = from_json(json, "cluster")?;
        opts.validate()?;
        Ok(opts)
    }

    /// The options as a JSON document.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("options always serialize")
    }

    /// Checks the options.
    pub fn validate(&self) -> Result<()> {
        self.validate_links(false)
    }

    /// [`ClusterOptions::validate`], with `gateway` saying whether the nodes get gateways (in a supercluster).
    pub(crate) fn validate_links(&self, gateway: bool) -> Result<()> {
        let invalid = |msg: String| Err(Error::new(ErrorKind::InvalidOptions, msg));
        if self.nodes == 0 {
            return invalid("`nodes` must be at least 1".into());
        }
        if !self.node_config_files.is_empty() && self.node_config_files.len() != self.nodes {
            return invalid(format!(
                "`node_config_files` has {} entries for {} nodes; give one per node or none",
                self.node_config_files.len(),
                self.nodes
            ));
        }
        if !self.node_names.is_empty() && self.node_names.len() != self.nodes {
            return invalid(format!(
                "`node_names` has {} entries for {} nodes; give one per node or none",
                self.node_names.len(),
                self.nodes
            ));
        }
        if !self.node_store_dirs.is_empty() && self.node_store_dirs.len() != self.nodes {
            return invalid(format!(
                "`node_store_dirs` has {} entries for {} nodes; give one per node or none",
                self.node_store_dirs.len(),
                self.nodes
            ));
        }
        for (field, len) in [
            ("node_versions", self.node_versions.len()),
            ("node_binaries", self.node_binaries.len()),
        ] {
            if len != 0 && len != self.nodes {
                return invalid(format!(
                    "`{field}` has {len} entries for {} nodes; give one per node or none",
                    self.nodes
                ));
            }
        }
        for version in self.node_versions.iter().filter(|v| !v.is_empty()) {
            crate::install::VersionSpec::parse(version)?;
        }
        if self.server.port.is_some_and(|p| p != 0) || self.server.cluster.is_some() {
            return invalid(
                "a cluster chooses its nodes' client and cluster ports itself; leave `server.port` and `server.cluster` unset"
                    .into(),
            );
        }
        if self.server.operator
            || self
                .server
                .users
                .iter()
                .chain(self.server.accounts.values().flat_map(|a| &a.users))
                .any(|u| u.nkey)
        {
            return invalid(
                "`server.operator` and nkey users are not supported for clusters yet (each node would generate its \
                 own keys); use users with passwords"
                    .into(),
            );
        }
        if self.server.store_dir.is_some() {
            return invalid(
                "nodes cannot share one `server.store_dir`; leave it unset or give `node_store_dirs`".into(),
            );
        }
        if self.ready_timeout_ms == 0 {
            return invalid("`ready_timeout_ms` must be greater than 0".into());
        }
        for file in &self.node_config_files {
            if !file.exists() {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("node config file {} does not exist", file.display()),
                ));
            }
        }
        self.server.validate_for(true, gateway)
    }
}

/// Options for a supercluster: clusters of servers joined by gateways, formed on dynamic ports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SuperclusterOptions {
    /// Number of clusters, 1 or more. Default 2.
    pub clusters: usize,
    /// Number of nodes in each cluster, 1 or more. Default 3.
    pub nodes: usize,
    /// One name per cluster (its cluster and gateway name, e.g. for JetStream placement); default: random ones, so
    /// parallel superclusters never join each other.
    pub names: Vec<String>,
    /// The options every node starts from (JetStream, config, auth, binary, ...). Ports, `cluster` and `gateway`
    /// must stay unset; `name`, when set, prefixes the node names (`NAME-CLUSTER-1`, ...).
    pub server: ServerOptions,
    /// One release per cluster (`"2.14"`, `"2.15.1"`, ...; an empty string: `server.version`), for mixed-version
    /// superclusters. Empty: every node runs `server`'s binary or version.
    pub versions: Vec<String>,
    /// How long to wait for the supercluster to be ready (meshes, gateways, JetStream leader), in milliseconds.
    /// Default 30 000.
    pub ready_timeout_ms: u64,
    /// Routes every gateway connection through its own fault proxy (one per ordered pair of nodes in different
    /// clusters), for `partition` (of clusters), `heal` and faults on single gateway links.
    pub gateway_proxies: bool,
}

impl Default for SuperclusterOptions {
    fn default() -> Self {
        SuperclusterOptions {
            clusters: 2,
            nodes: 3,
            names: Vec::new(),
            server: ServerOptions::default(),
            versions: Vec::new(),
            ready_timeout_ms: 30_000,
            gateway_proxies: false,
        }
    }
}

impl SuperclusterOptions {
    /// Two clusters of three nodes, no JetStream.
    pub fn new() -> Self {
        Self::default()
    }

    setters! {
        /// Sets the number of clusters.
        clusters: usize => |v| v;
        /// Sets the number of nodes per cluster.
        nodes: usize => |v| v;
        /// Sets one name per cluster.
        names: Vec<String> => |v| v;
        /// Sets the options every node starts from.
        server: ServerOptions => |v| v;
        /// Sets one release per cluster (mixed-version superclusters).
        versions: Vec<String> => |v| v;
        /// Sets the readiness timeout in milliseconds.
        ready_timeout_ms: u64 => |v| v;
        /// Routes every gateway connection through its own fault proxy.
        gateway_proxies: bool => |v| v;
    }

    /// Enables JetStream on every node.
    #[must_use]
    pub fn jetstream(mut self, on: bool) -> Self {
        self.server.jetstream = on;
        self
    }

    /// Parses options from a JSON document; unknown fields are rejected by name.
    pub fn from_json(json: &str) -> Result<Self> {
        let opts: SuperclusterOptions = from_json(json, "supercluster")?;
        opts.validate()?;
        Ok(opts)
    }

    /// The options as a JSON document.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("options always serialize")
    }

    /// Checks the options.
    pub fn validate(&self) -> Result<()> {
        let invalid = |msg: String| Err(Error::new(ErrorKind::InvalidOptions, msg));
        if self.clusters == 0 {
            return invalid(
                "`clusters` must be at least 1 (a supercluster of 0 clusters has no server)".into(),
            );
        }
        if self.nodes == 0 {
            return invalid("`nodes` must be at least 1 (per cluster)".into());
        }
        if !self.names.is_empty() && self.names.len() != self.clusters {
            return invalid(format!(
                "`names` has {} entries for {} clusters; give one per cluster or none",
                self.names.len(),
                self.clusters
            ));
        }
        for (i, name) in self.names.iter().enumerate() {
            if name.trim().is_empty() || name.contains(char::is_whitespace) {
                return invalid(format!(
                    "`names[{i}]` {name:?} must be a non-empty name without spaces"
                ));
            }
            if self.names[..i].contains(name) {
                return invalid(format!(
                    "`names` has {name:?} twice; cluster names must differ"
                ));
            }
        }
        if !self.versions.is_empty() && self.versions.len() != self.clusters {
            return invalid(format!(
                "`versions` has {} entries for {} clusters; give one per cluster or none",
                self.versions.len(),
                self.clusters
            ));
        }
        for version in self.versions.iter().filter(|v| !v.is_empty()) {
            crate::install::VersionSpec::parse(version)?;
        }
        if self.server.gateway.is_some() {
            return invalid(
                "a supercluster generates every node's gateway; leave `server.gateway` unset"
                    .into(),
            );
        }
        if self.ready_timeout_ms == 0 {
            return invalid("`ready_timeout_ms` must be greater than 0".into());
        }
        self.cluster_options(0, "c").validate_links(true)?;
        crate::links::reject_conflicting_config(&self.server, "gateway", "a supercluster")
    }

    /// The options of cluster `k` named `name`.
    pub(crate) fn cluster_options(&self, k: usize, name: &str) -> ClusterOptions {
        let mut server = self.server.clone();
        if let Some(version) = self.versions.get(k).filter(|v| !v.is_empty()) {
            server.version = Some(version.clone());
            server.binary = None;
        }
        // Server names must be unique across the supercluster (its JetStream meta group spans every cluster).
        server.name = Some(match &self.server.name {
            Some(prefix) => format!("{prefix}-{name}"),
            None => name.to_string(),
        });
        ClusterOptions {
            nodes: self.nodes,
            name: Some(name.to_string()),
            server,
            node_config_files: Vec::new(),
            node_names: Vec::new(),
            node_store_dirs: Vec::new(),
            node_versions: Vec::new(),
            node_binaries: Vec::new(),
            ready_timeout_ms: self.ready_timeout_ms,
            route_proxies: false,
        }
    }
}

/// Parses a JSON document, naming the field at fault (`server.cluster.name: invalid type ...`) and rejecting
/// trailing text.
pub(crate) fn from_json<T: for<'de> Deserialize<'de>>(json: &str, what: &str) -> Result<T> {
    let invalid = |detail: String| {
        Error::new(
            ErrorKind::InvalidOptions,
            format!("{what} options JSON is invalid: {detail}"),
        )
    };
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let opts: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            invalid(e.inner().to_string())
        } else {
            invalid(format!("field `{path}`: {}", e.inner()))
        }
    })?;
    deserializer.end().map_err(|e| invalid(e.to_string()))?;
    Ok(opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_defaults() {
        let opts = ServerOptions::from_json(r#"{"jetstream": true, "port": 4333}"#).unwrap();
        assert!(opts.jetstream);
        assert_eq!(opts.port, Some(4333));
        assert_eq!(opts.host, None);
        assert_eq!(opts.listen_host(), "127.0.0.1");
        let opts = ServerOptions::from_json(r#"{"host": "::1", "port": 0}"#).unwrap();
        assert_eq!(opts.listen_host(), "::1");
        assert!(opts.monitoring);
        let again = ServerOptions::from_json(&opts.to_json()).unwrap();
        assert_eq!(again, opts);
    }

    #[test]
    fn unknown_field_is_named() {
        let err = ServerOptions::from_json(r#"{"jetstreem": true}"#).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidOptions);
        assert!(err.message().contains("jetstreem"), "{err}");
        let err = ClusterOptions::from_json(r#"{"server": {"prot": 1}}"#).unwrap_err();
        assert!(err.message().contains("prot"), "{err}");
    }

    #[test]
    fn wrong_type_is_named() {
        let err = ServerOptions::from_json(r#"{"port": "abc"}"#).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidOptions);
        assert!(
            err.message().contains("field `port`: invalid type"),
            "{err}"
        );
        let err = ClusterOptions::from_json(r#"{"server": {"cluster": {"name": 5}}}"#).unwrap_err();
        assert!(err.message().contains("`server.cluster.name`"), "{err}");
        let err = ServerOptions::from_json("{} {}").unwrap_err();
        assert!(err.message().contains("trailing"), "{err}");
    }

    #[test]
    fn contradictions_are_rejected() {
        let err = ServerOptions::new().password("x").validate().unwrap_err();
        assert!(err.message().contains("user"), "{err}");
        let err = ClusterOptions::new().nodes(0).validate().unwrap_err();
        assert!(err.message().contains("nodes"), "{err}");
        let err = SuperclusterOptions::new()
            .clusters(0)
            .validate()
            .unwrap_err();
        assert!(
            err.message().contains("`clusters` must be at least 1"),
            "{err}"
        );
        let err = SuperclusterOptions::new()
            .names(vec!["a".into(), "a".into()])
            .validate()
            .unwrap_err();
        assert!(err.message().contains("twice"), "{err}");
        let err = SuperclusterOptions::new()
            .server(ServerOptions::new().config("gateway {\n name: x\n}"))
            .validate()
            .unwrap_err();
        assert!(
            err.message().contains("`config` sets a `gateway` block"),
            "{err}"
        );
        let err = ServerOptions::new().mqtt(true).validate().unwrap_err();
        assert!(err.message().contains("jetstream"), "{err}");
        let err = ClusterOptions::new()
            .node_names(vec!["a".into()])
            .validate()
            .unwrap_err();
        assert!(err.message().contains("node_names"), "{err}");
    }

    #[test]
    fn arguments_that_fight_the_harness_are_refused_with_the_option_to_use() {
        for (arg, option) in [
            ("-c", "config_file"),
            ("--config=x.conf", "config_file"),
            ("-ports_file_dir", "ports file"),
            ("-p", "`port`"),
            ("--addr", "`host`"),
            ("-sd", "store_dir"),
            ("--routes", "`cluster`"),
            ("--pass", "password"),
        ] {
            let err = ServerOptions::new()
                .arg(arg)
                .arg("x")
                .validate()
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidOptions);
            assert!(err.message().contains(option), "{arg}: {err}");
            assert!(err.message().contains(arg), "{arg}: {err}");
        }
        ServerOptions::new()
            .arg("--max_payload")
            .arg("2MB")
            .arg("-DV")
            .validate()
            .unwrap();
    }

    #[test]
    fn keep_policy_parses() {
        assert_eq!(Keep::parse("on_failure").unwrap(), Keep::OnFailure);
        assert_eq!(Keep::parse("ALWAYS").unwrap(), Keep::Always);
        assert!(Keep::parse("sometimes").is_err());
        let json = serde_json::to_string(&Keep::OnFailure).unwrap();
        assert_eq!(json, "\"on-failure\"");
    }

    #[test]
    fn keep_deserializes_every_spelling_parse_accepts() {
        for (text, keep) in [
            ("on_failure", Keep::OnFailure),
            ("on-failure", Keep::OnFailure),
            ("1", Keep::Always),
            ("true", Keep::Always),
            ("Always", Keep::Always),
            ("0", Keep::Never),
            ("never", Keep::Never),
        ] {
            let opts = ServerOptions::from_json(&format!("{{\"keep\": \"{text}\"}}")).unwrap();
            assert_eq!(opts.keep, Some(keep), "{text}");
            assert_eq!(Keep::parse(text).unwrap(), keep, "{text}");
        }
        let err = ServerOptions::from_json(r#"{"keep": "sometimes"}"#).unwrap_err();
        assert!(err.message().contains("sometimes"), "{err}");
        assert!(err.message().contains("on-failure"), "{err}");
    }
}
