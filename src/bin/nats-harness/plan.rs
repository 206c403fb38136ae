//! From flags and an optional options file (JSON or TOML, the shared schema) to what to start.

use std::fs;
use std::path::Path;

use nats_server::{
    ClusterOptions, Error, ErrorKind, Keep, LeafRemote, ServerOptions, SuperclusterOptions,
    TlsOptions,
};

use crate::args::StartArgs;

/// What to start.
#[derive(Debug)]
pub enum Plan {
    Single(ServerOptions),
    Cluster(ClusterOptions),
    Supercluster(SuperclusterOptions),
}

/// Why no plan could be made.
#[derive(Debug)]
pub enum PlanError {
    /// The flags contradict each other (exit 2, like clap's own errors).
    Usage(String),
    /// The options file is unreadable or invalid (exit 1).
    Invalid(Error),
}

impl From<Error> for PlanError {
    fn from(e: Error) -> Self {
        PlanError::Invalid(e)
    }
}

/// An options file's document: the shape decides between a single server and a cluster.
#[derive(Debug)]
enum FileDoc {
    Server(ServerOptions),
    Cluster(ClusterOptions),
}

/// Fields only a cluster document has: any of them makes the file a `ClusterOptions` document.
const CLUSTER_KEYS: &[&str] = &[
    "nodes",
    "server",
    "node_config_files",
    "node_names",
    "node_store_dirs",
    "node_versions",
    "node_binaries",
    "ready_timeout_ms",
];

impl Plan {
    /// The options file (if any) with the flags applied over it.
    pub fn from_args(args: &StartArgs) -> Result<Plan, PlanError> {
        let file = args.options.as_deref().map(load_options).transpose()?;
        let file_nodes = match &file {
            Some(FileDoc::Cluster(c)) => Some(c.nodes),
            _ => None,
        };
        let configs = &args.config;
        let nodes = args
            .nodes
            .map(|n| n as usize)
            .or((configs.len() > 1).then_some(configs.len()))
            .or(file_nodes)
            .unwrap_or(1);
        if let Some(clusters) = args.clusters {
            return supercluster_plan(
                args,
                file,
                clusters as usize,
                args.nodes.map(|n| n as usize),
            );
        }
        let cluster = args.cluster || nodes > 1 || file_nodes.is_some();
        if configs.len() > 1 && configs.len() != nodes {
            return Err(PlanError::Usage(format!(
                "{} --config files for {nodes} nodes: give one --config for every node, or one for all",
                configs.len()
            )));
        }
        if args.route_proxies && !cluster {
            return Err(PlanError::Usage(
                "--route-proxies is for a cluster: add --nodes N (N > 1)".into(),
            ));
        }
        if args.gateway_proxies {
            return Err(PlanError::Usage(
                "--gateway-proxies is for a supercluster: add --clusters M".into(),
            ));
        }
        if !cluster {
            let mut opts = match file {
                Some(FileDoc::Server(s)) => s,
                _ => ServerOptions::new(),
            };
            apply_server_flags(&mut opts, args);
            if let Some(port) = args.port {
                opts.port = Some(port);
            }
            if let Some(name) = &args.name {
                opts.name = Some(name.clone());
            }
            if let Some(config) = configs.first() {
                opts.config_file = Some(config.clone());
            }
            return Ok(Plan::Single(opts));
        }
        if args.port.is_some() {
            return Err(PlanError::Usage(
                "--port sets a single server's client port; a cluster picks its nodes' ports itself \
                 (drop --port, or run one node without --cluster)"
                    .into(),
            ));
        }
        let mut opts = match file {
            Some(FileDoc::Cluster(c)) => c,
            Some(FileDoc::Server(s)) => ClusterOptions {
                server: s,
                ..ClusterOptions::new()
            },
            None => ClusterOptions::new(),
        };
        opts.nodes = nodes;
        if args.route_proxies {
            opts.route_proxies = true;
        }
        apply_server_flags(&mut opts.server, args);
        if let Some(name) = &args.name {
            opts.name = Some(name.clone());
        }
        match configs.len() {
            0 => {}
            1 => opts.server.config_file = Some(configs[0].clone()),
            _ => opts.node_config_files = configs.clone(),
        }
        Ok(Plan::Cluster(opts))
    }
}

/// `--clusters M`: a supercluster of M clusters of `--nodes` (default 3) nodes each.
fn supercluster_plan(
    args: &StartArgs,
    file: Option<FileDoc>,
    clusters: usize,
    nodes: Option<usize>,
) -> Result<Plan, PlanError> {
    if args.port.is_some() {
        return Err(PlanError::Usage(
            "--port sets a single server's client port; a supercluster picks its nodes' ports itself".into(),
        ));
    }
    if args.config.len() > 1 {
        return Err(PlanError::Usage(
            "one --config per node is for a single cluster; a supercluster takes one --config for all nodes".into(),
        ));
    }
    let mut opts = SuperclusterOptions::new();
    match file {
        Some(FileDoc::Cluster(c))
            if !(c.node_config_files.is_empty()
                && c.node_names.is_empty()
                && c.node_store_dirs.is_empty()
                && c.node_versions.is_empty()
                && c.node_binaries.is_empty()) =>
        {
            return Err(PlanError::Usage(
                "the options file has per-node lists (`node_*`), which are for a single cluster; a supercluster's \
                 nodes share the file's `server` options (drop --clusters, or the `node_*` lists)"
                    .into(),
            ));
        }
        Some(FileDoc::Cluster(c)) => {
            opts.nodes = c.nodes;
            opts.server = c.server;
        }
        Some(FileDoc::Server(s)) => opts.server = s,
        None => {}
    }
    if args.route_proxies {
        return Err(PlanError::Usage(
            "--route-proxies is for a single cluster; a supercluster takes --gateway-proxies"
                .into(),
        ));
    }
    opts.gateway_proxies = args.gateway_proxies;
    opts.clusters = clusters;
    if let Some(nodes) = nodes {
        opts.nodes = nodes;
    }
    apply_server_flags(&mut opts.server, args);
    if let Some(name) = &args.name {
        opts.server.name = Some(name.clone());
    }
    if let Some(config) = args.config.first() {
        opts.server.config_file = Some(config.clone());
    }
    Ok(Plan::Supercluster(opts))
}

fn apply_server_flags(opts: &mut ServerOptions, args: &StartArgs) {
    if args.client_proxy {
        opts.client_proxy = true;
    }
    for url in &args.leaf_of {
        opts.leaf_remotes.push(LeafRemote::new(url.clone()));
    }
    if args.leafnodes {
        opts.leafnodes = true;
    }
    if args.mqtt {
        opts.mqtt = true;
    }
    if let Some(domain) = &args.jetstream_domain {
        opts.jetstream_domain = Some(domain.clone());
    }
    if args.jetstream {
        opts.jetstream = true;
    }
    if let Some(host) = &args.host {
        opts.host = Some(host.clone());
    }
    if let Some(user) = &args.user {
        opts.user = Some(user.clone());
    }
    if let Some(password) = &args.password {
        opts.password = Some(password.clone());
    }
    if let Some(token) = &args.token {
        opts.token = Some(token.clone());
    }
    if args.websocket {
        opts.websocket = true;
    }
    if args.operator {
        opts.operator = true;
    }
    for spec in &args.account {
        let (name, users) = spec.split_once(':').unwrap_or((spec, ""));
        let mut users: Vec<String> = users
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(String::from)
            .collect();
        if users.is_empty() {
            users.push(name.to_lowercase());
        }
        let account = opts.accounts.entry(name.to_string()).or_default();
        if args.jetstream {
            account.jetstream = nats_server::AccountJetStream::Enabled;
        }
        for user in users {
            // Operator mode: every user has a creds file. Otherwise: a generated nkey (no password to choose).
            account.users.push(nats_server::User {
                user,
                nkey: !args.operator,
                ..Default::default()
            });
        }
    }
    for user in &args.nkey_user {
        opts.users.push(nats_server::User::nkey(user.clone()));
    }
    if let Some(binary) = &args.binary {
        opts.binary = Some(binary.clone());
    }
    if let Some(version) = &args.server_version {
        opts.version = Some(version.clone());
    }
    if args.debug {
        opts.debug = true;
    }
    if args.trace {
        opts.trace = true;
    }
    if args.keep {
        opts.keep = Some(Keep::Always);
    }
    apply_tls_flags(opts, args);
}

/// Any TLS flag turns TLS on (keeping what an options file set) and sets its part.
fn apply_tls_flags(opts: &mut ServerOptions, args: &StartArgs) {
    let any = args.tls
        || args.tls_verify
        || args.tls_handshake_first
        || args.tls_websocket
        || args.tls_routes
        || args.tls_gateways
        || args.tls_leafnodes
        || args.tls_cert.is_some();
    if !any {
        return;
    }
    let tls = opts.tls.get_or_insert_with(TlsOptions::new);
    tls.verify |= args.tls_verify;
    tls.handshake_first |= args.tls_handshake_first;
    tls.websocket |= args.tls_websocket;
    tls.routes |= args.tls_routes;
    tls.gateways |= args.tls_gateways;
    tls.leafnodes |= args.tls_leafnodes;
    if let Some(cert) = &args.tls_cert {
        tls.cert_file = Some(cert.clone());
        tls.key_file = args.tls_key.clone();
        tls.ca_file = args.tls_ca.clone();
    }
}

/// Reads an options file: TOML when it ends in `.toml` (or does not look like JSON), else JSON. Unknown fields
/// are rejected by name, with the line where they are.
fn load_options(path: &Path) -> Result<FileDoc, Error> {
    let invalid = |msg: String| {
        Error::new(
            ErrorKind::InvalidOptions,
            format!("options file {}: {msg}", path.display()),
        )
    };
    let text = fs::read_to_string(path).map_err(|e| invalid(format!("cannot read it: {e}")))?;
    let toml = match path.extension().and_then(|e| e.to_str()) {
        Some(ext) if ext.eq_ignore_ascii_case("toml") => true,
        Some(ext) if ext.eq_ignore_ascii_case("json") => false,
        _ => !text.trim_start().starts_with('{'),
    };
    let keys: Vec<String> = if toml {
        toml::from_str::<toml::Table>(&text)
            .map_err(|e| invalid(format!("invalid TOML: {}", e.to_string().trim_end())))?
            .keys()
            .cloned()
            .collect()
    } else {
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text)
            .map_err(|e| invalid(format!("invalid JSON (expected an object): {e}")))?
            .keys()
            .cloned()
            .collect()
    };
    let is_cluster = keys.iter().any(|k| CLUSTER_KEYS.contains(&k.as_str()));
    let (kind, doc) = if is_cluster {
        (
            "cluster",
            parse::<ClusterOptions>(&text, toml).map(FileDoc::Cluster),
        )
    } else {
        (
            "server",
            parse::<ServerOptions>(&text, toml).map(FileDoc::Server),
        )
    };
    doc.map_err(|e| {
        invalid(format!(
            "not valid {kind} options ({}): {e}",
            if is_cluster {
                "a cluster document, as it has one of `nodes`, `server`, `node_config_files`, `node_names`, \
                 `node_store_dirs`, `node_versions`, `node_binaries`, `ready_timeout_ms`"
            } else {
                "a single-server document; a cluster document has `nodes` or `server`"
            }
        ))
    })
}

fn parse<T: serde::de::DeserializeOwned>(text: &str, toml: bool) -> Result<T, String> {
    if toml {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
    } else {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Cmd};
    use clap::Parser;
    use std::io::Write;

    fn plan(argv: &[&str]) -> Result<Plan, PlanError> {
        let cli = Cli::try_parse_from(["nats-harness", "run"].iter().chain(argv)).unwrap();
        let Cmd::Run(run) = cli.command else {
            unreachable!()
        };
        Plan::from_args(&run.start)
    }

    fn file(ext: &str, text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new()
            .suffix(&format!(".{ext}"))
            .tempfile()
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn one_node_is_a_single_server_unless_cluster() {
        assert!(matches!(plan(&[]).unwrap(), Plan::Single(_)));
        assert!(matches!(plan(&["--cluster"]).unwrap(), Plan::Cluster(_)));
        let Plan::Cluster(c) = plan(&["-n", "3", "-j", "--name", "c1"]).unwrap() else {
            panic!("not a cluster")
        };
        assert_eq!((c.nodes, c.server.jetstream), (3, true));
        assert_eq!(c.name.as_deref(), Some("c1"));
    }

    #[test]
    fn clusters_make_a_supercluster_and_leaf_flags_apply() {
        let Plan::Supercluster(s) = plan(&["--clusters", "2", "-n", "3", "-j"]).unwrap() else {
            panic!("not a supercluster")
        };
        assert_eq!((s.clusters, s.nodes, s.server.jetstream), (2, 3, true));
        assert!(matches!(
            plan(&["--clusters", "2", "-p", "4222"]),
            Err(PlanError::Usage(_))
        ));
        let Plan::Single(o) = plan(&["--leaf-of", "nats://127.0.0.1:7422", "--leafnodes"]).unwrap()
        else {
            panic!("not a single server")
        };
        assert_eq!(o.leaf_remotes[0].urls, ["nats://127.0.0.1:7422"]);
        assert!(o.leafnodes);
    }

    #[test]
    fn several_configs_mean_one_per_node() {
        let Plan::Cluster(c) = plan(&["-c", "a.conf", "-c", "b.conf"]).unwrap() else {
            panic!("not a cluster")
        };
        assert_eq!(c.nodes, 2);
        assert_eq!(c.node_config_files.len(), 2);
        assert!(matches!(
            plan(&["-n", "3", "-c", "a", "-c", "b"]),
            Err(PlanError::Usage(_))
        ));
        assert!(matches!(
            plan(&["-n", "3", "-p", "4222"]),
            Err(PlanError::Usage(_))
        ));
    }

    #[test]
    fn flags_override_the_file() {
        let f = file(
            "toml",
            "nodes = 5\nname = \"from-file\"\n[server]\njetstream = true\n",
        );
        let path = f.path().to_str().unwrap();
        let Plan::Cluster(c) = plan(&["--options", path, "-n", "2", "--name", "x"]).unwrap() else {
            panic!("not a cluster")
        };
        assert_eq!(
            (c.nodes, c.name.as_deref(), c.server.jetstream),
            (2, Some("x"), true)
        );
        let f = file("json", r#"{"port": 4999, "jetstream": true}"#);
        let Plan::Single(s) =
            plan(&["--options", f.path().to_str().unwrap(), "-p", "5000"]).unwrap()
        else {
            panic!("not a single server")
        };
        assert_eq!((s.port, s.jetstream), (Some(5000), true));
    }

    #[test]
    fn unknown_fields_are_named() {
        let f = file("toml", "jetstreem = true\n");
        let Err(PlanError::Invalid(e)) = plan(&["--options", f.path().to_str().unwrap()]) else {
            panic!("accepted")
        };
        assert!(e.message().contains("jetstreem"), "{e}");
        assert!(e.message().contains("line 1"), "{e}");
        let f = file("conf", r#"{"nodes": 3, "server": {"prot": 1}}"#);
        let Err(PlanError::Invalid(e)) = plan(&["--options", f.path().to_str().unwrap()]) else {
            panic!("accepted")
        };
        assert!(e.message().contains("prot"), "{e}");
        assert!(e.message().contains("cluster"), "{e}");
    }
}
