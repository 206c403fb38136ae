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
    /// The cluster (route) port; `None` picks a free one (kept across restarts).
    pub port: Option<u16>,
    /// Route URLs to peers, e.g. `nats://127.0.0.1:6222`.
    pub routes: Vec<String>,
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
    /// The interface to listen on (all listeners). Default `127.0.0.1`.
    pub host: String,
    /// The client port; `None` picks a free one (kept across restarts).
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
    /// Debug logging (`-D`).
    pub debug: bool,
    /// Protocol tracing (`-V`).
    pub trace: bool,
    /// Extra command-line arguments, passed last.
    pub args: Vec<String>,
    /// How long to wait for the server to become ready, in milliseconds. Default 10 000.
    pub startup_timeout_ms: u64,
    /// What to keep after the server is dropped; default from `NATS_SERVER_KEEP`, else on-failure.
    pub keep: Option<Keep>,
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
            host: "127.0.0.1".to_string(),
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
            debug: false,
            trace: false,
            args: Vec::new(),
            startup_timeout_ms: 10_000,
            keep: None,
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
        host: impl Into<String> => |v: _| Into::<String>::into(v);
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
        /// Enables or disables debug logging.
        debug: bool => |v| v;
        /// Enables or disables protocol tracing.
        trace: bool => |v| v;
        /// Sets the startup timeout in milliseconds.
        startup_timeout_ms: u64 => |v| v;
        /// Sets what to keep after drop.
        keep: Keep => Some;
    }

    /// Starts a server with these options (see [`crate::Server::run`]).
    pub fn run(&self) -> Result<crate::Server> {
        crate::Server::run(self)
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
        if self.host.trim().is_empty() {
            return invalid("`host` must not be empty (default 127.0.0.1)".into());
        }
        if self.port == Some(0) {
            return invalid("`port` 0 is not a port; leave it unset for a dynamic port".into());
        }
        crate::auth::validate(self)?;
        if let Some(version) = &self.version {
            crate::install::VersionSpec::parse(version)?;
        }
        if let Some(cluster) = &self.cluster {
            if cluster.name.trim().is_empty() {
                return invalid("`cluster.name` must not be empty".into());
            }
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
    /// One release per node (`"2.14"`, `"2.15.1"`, ...; an empty string: `server.version`), for mixed-version
    /// clusters. Empty: every node runs `server`'s binary or version.
    pub node_versions: Vec<String>,
    /// One binary per node (an empty path: the node falls back to `node_versions`, then `server`). Wins over
    /// `node_versions` for that node.
    pub node_binaries: Vec<PathBuf>,
    /// How long to wait for the cluster to be ready (mesh formed, JetStream leader known), in milliseconds.
    /// Default 30 000.
    pub ready_timeout_ms: u64,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            nodes: 3,
            name: None,
            server: ServerOptions::default(),
            node_config_files: Vec::new(),
            node_names: Vec::new(),
            node_versions: Vec::new(),
            node_binaries: Vec::new(),
            ready_timeout_ms: 30_000,
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
        /// Sets one release per node (mixed-version clusters).
        node_versions: Vec<String> => |v| v;
        /// Sets one binary per node (mixed-version clusters).
        node_binaries: Vec<PathBuf> => |v| v;
        /// Sets the readiness timeout in milliseconds.
        ready_timeout_ms: u64 => |v| v;
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
        if self.server.port.is_some() || self.server.cluster.is_some() {
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
            return invalid("nodes cannot share one `server.store_dir`; leave it unset".into());
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
        self.server.validate()
    }
}

/// Parses a JSON document, naming the field at fault (`server.cluster.name: invalid type ...`) and rejecting
/// trailing text.
fn from_json<T: for<'de> Deserialize<'de>>(json: &str, what: &str) -> Result<T> {
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
        assert_eq!(opts.host, "127.0.0.1");
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
        let err = ClusterOptions::new()
            .node_names(vec!["a".into()])
            .validate()
            .unwrap_err();
        assert!(err.message().contains("node_names"), "{err}");
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
