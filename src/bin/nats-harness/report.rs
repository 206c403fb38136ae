//! What a started server or cluster looks like to a person (text) and to a script (JSON), and its environment
//! for `exec`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use nats_server::{Cluster, Error, ErrorKind, Server, Supercluster};
use serde::Serialize;

/// What runs: one server or a cluster. Dropping it stops everything and removes the directories.
#[derive(Debug)]
pub enum Running {
    Single(Box<Server>),
    Cluster(Cluster),
    Supercluster(Supercluster),
}

impl Running {
    /// Every node, in order (cluster by cluster for a supercluster).
    pub fn servers(&self) -> Vec<&Server> {
        match self {
            Running::Single(s) => vec![s],
            Running::Cluster(c) => c.servers.iter().collect(),
            Running::Supercluster(sc) => sc.servers().map(|(_, _, s)| s).collect(),
        }
    }

    /// The clusters with their nodes' client URLs (none for a single server).
    fn clusters(&self) -> Vec<ClusterUrls> {
        let of = |c: &Cluster| ClusterUrls {
            name: c.name().to_string(),
            urls: c.servers.iter().map(Server::url).collect(),
        };
        match self {
            Running::Single(_) => Vec::new(),
            Running::Cluster(c) => vec![of(c)],
            Running::Supercluster(sc) => sc.clusters().iter().map(of).collect(),
        }
    }
}

/// One cluster's name and its nodes' client URLs.
#[derive(Debug, Serialize)]
pub struct ClusterUrls {
    pub name: String,
    pub urls: Vec<String>,
}

/// The JSON printed by `run --json` and written by `--urls-file`.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Every node's client URL, in node order.
    pub urls: Vec<String>,
    /// Every node's monitoring URL (empty when monitoring is off).
    pub monitoring_urls: Vec<String>,
    /// Every node's websocket URL (empty without `--websocket`).
    pub websocket_urls: Vec<String>,
    /// The cluster's name; `null` for a single server; the first cluster's for a supercluster.
    pub cluster_name: Option<String>,
    /// Every cluster with its nodes' client URLs (one for a cluster, several for a supercluster).
    pub clusters: Vec<ClusterUrls>,
    /// Every node's leaf node URL (with `--leafnodes`).
    pub leafnode_urls: Vec<String>,
    /// Every node's MQTT URL (with `--mqtt`).
    pub mqtt_urls: Vec<String>,
    /// Every node's client URL through its fault proxy (with `--client-proxy`).
    pub proxied_urls: Vec<String>,
    /// Whether JetStream is on.
    pub jetstream: bool,
    /// The nats-server version.
    pub version: Option<String>,
    /// The pid of nats-harness itself: send it SIGINT or SIGTERM to stop everything.
    pub harness_pid: u32,
    pub nodes: Vec<Node>,
    /// The generated authentication material of the first node (operator, accounts, users with their creds and
    /// seed files; no secrets inline); `null` without authentication options.
    pub auth: Option<serde_json::Value>,
    /// The TLS files a client needs (shared by every node); `null` without TLS.
    pub tls: Option<TlsReport>,
}

/// The TLS files of the first node (every node of a cluster trusts the same CA).
#[derive(Debug, Serialize)]
pub struct TlsReport {
    pub ca_file: Option<PathBuf>,
    pub client_cert_file: Option<PathBuf>,
    pub client_key_file: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
pub struct Node {
    pub name: String,
    pub server_id: String,
    pub client_url: String,
    pub client_port: u16,
    pub monitoring_url: Option<String>,
    pub websocket_url: Option<String>,
    /// The node's cluster (`null` for a single server).
    pub cluster: Option<String>,
    pub gateway_url: Option<String>,
    pub leafnode_url: Option<String>,
    pub mqtt_url: Option<String>,
    pub pid: Option<u32>,
    /// The node's private directory (config, log, JetStream store), removed when it stops unless kept.
    pub dir: PathBuf,
}

impl Report {
    pub fn of(running: &Running) -> Report {
        let servers = running.servers();
        let nodes: Vec<Node> = servers
            .iter()
            .map(|s| Node {
                name: s.info()["server_name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                server_id: s.server_id().to_string(),
                // The real host (127.0.0.1), not `localhost`: some clients resolve that to ::1 first and fail.
                client_url: s.url(),
                client_port: s.client_port(),
                monitoring_url: s.monitoring_url(),
                websocket_url: s.websocket_url(),
                cluster: s.options().cluster.as_ref().map(|c| c.name.clone()),
                gateway_url: s.gateway_url(),
                leafnode_url: s.leafnode_url(),
                mqtt_url: s.mqtt_url(),
                pid: s.pid(),
                dir: s.dir().to_path_buf(),
            })
            .collect();
        Report {
            urls: nodes.iter().map(|n| n.client_url.clone()).collect(),
            monitoring_urls: nodes
                .iter()
                .filter_map(|n| n.monitoring_url.clone())
                .collect(),
            websocket_urls: nodes
                .iter()
                .filter_map(|n| n.websocket_url.clone())
                .collect(),
            cluster_name: match running {
                Running::Single(_) => None,
                Running::Cluster(c) => Some(c.name().to_string()),
                Running::Supercluster(sc) => sc.names().first().cloned(),
            },
            clusters: running.clusters(),
            leafnode_urls: nodes
                .iter()
                .filter_map(|n| n.leafnode_url.clone())
                .collect(),
            mqtt_urls: nodes.iter().filter_map(|n| n.mqtt_url.clone()).collect(),
            proxied_urls: servers.iter().filter_map(|s| s.proxied_url()).collect(),
            jetstream: servers
                .iter()
                .any(|s| s.info()["jetstream"].as_bool().unwrap_or(false)),
            version: servers
                .first()
                .and_then(|s| s.version())
                .map(|v| v.to_string()),
            harness_pid: std::process::id(),
            nodes,
            auth: servers.first().map(|s| s.auth_json()).filter(|auth| {
                auth["users"]
                    .as_object()
                    .is_some_and(|users| !users.is_empty())
            }),
            tls: servers.first().and_then(|s| {
                s.tls_files().map(|_| TlsReport {
                    ca_file: s.ca_file().map(Path::to_path_buf),
                    client_cert_file: s.client_cert_file().map(Path::to_path_buf),
                    client_key_file: s.client_key_file().map(Path::to_path_buf),
                })
            }),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a report always serializes")
    }

    /// The variables `exec` sets for its command.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("NATS_URL", self.urls[0].clone()),
            ("NATS_URLS", self.urls.join(",")),
        ];
        let first = &self.nodes[0];
        if let Some(url) = &first.monitoring_url {
            env.push(("NATS_MONITORING_URL", url.clone()));
        }
        if let Some(url) = &first.websocket_url {
            env.push(("NATS_WEBSOCKET_URL", url.clone()));
        }
        if let Some(url) = &first.leafnode_url {
            env.push(("NATS_LEAFNODE_URL", url.clone()));
        }
        if let Some(url) = &first.mqtt_url {
            env.push(("NATS_MQTT_URL", url.clone()));
        }
        if self.cluster_name.is_none() {
            env.push(("NATS_PORT", first.client_port.to_string()));
        }
        // The first user's files (of the first account that is not the system account), as the nats CLI reads them.
        if let Some(users) = self.auth.as_ref().and_then(|a| a["users"].as_object()) {
            let mut users: Vec<_> = users.values().collect();
            users.sort_by_key(|u| (u["account"] == "SYS", u["account"].to_string()));
            if let Some(creds) = users.iter().find_map(|u| u["creds"].as_str()) {
                env.push(("NATS_CREDS", creds.to_string()));
            } else if let Some(seed) = users.iter().find_map(|u| u["seed_file"].as_str()) {
                env.push(("NATS_NKEY", seed.to_string()));
            }
        }
        if let Some(tls) = &self.tls {
            for (name, path) in [
                ("NATS_CA", &tls.ca_file),
                ("NATS_CERT", &tls.client_cert_file),
                ("NATS_KEY", &tls.client_key_file),
            ] {
                if let Some(path) = path {
                    env.push((name, path.display().to_string()));
                }
            }
        }
        env
    }

    /// The TLS files, one line each, with these labels.
    fn tls_text(&self, ca: &str, cert: &str, key: &str) -> String {
        let Some(tls) = &self.tls else {
            return String::new();
        };
        [
            (ca, &tls.ca_file),
            (cert, &tls.client_cert_file),
            (key, &tls.client_key_file),
        ]
        .iter()
        .filter_map(|(label, path)| path.as_ref().map(|p| format!("{label}{}\n", p.display())))
        .collect()
    }

    /// The human-readable form of `run`.
    pub fn to_text(&self, running: &Running) -> String {
        let version = self
            .version
            .as_deref()
            .map_or_else(|| "nats-server".to_string(), |v| format!("nats-server {v}"));
        let servers = running.servers();
        let auth = servers.first().map(|s| s.options()).and_then(|o| {
            o.user
                .as_ref()
                .map(|u| format!("user {u:?} (with its password)"))
                .or(o.token.as_ref().map(|_| "token".to_string()))
        });
        let mut out = String::new();
        match running {
            Running::Single(_) => {
                let n = &self.nodes[0];
                out.push_str(&format!(
                    "{version} ready{}\n",
                    if self.jetstream { " (JetStream)" } else { "" }
                ));
                out.push_str(&format!("  url         {}\n", n.client_url));
                if let Some(url) = &n.monitoring_url {
                    out.push_str(&format!("  monitoring  {url}\n"));
                }
                if let Some(url) = &n.websocket_url {
                    out.push_str(&format!("  websocket   {url}\n"));
                }
                if let Some(url) = &n.leafnode_url {
                    out.push_str(&format!("  leafnodes   {url}\n"));
                }
                if let Some(url) = &n.mqtt_url {
                    out.push_str(&format!("  mqtt        {url}\n"));
                }
                if let Some(auth) = &auth {
                    out.push_str(&format!("  auth        {auth}\n"));
                }
                out.push_str(&self.tls_text("  tls ca      ", "  client cert ", "  client key  "));
                if let Some(pid) = n.pid {
                    out.push_str(&format!("  pid         {pid}\n"));
                }
                out.push_str(&format!("  dir         {}\n", n.dir.display()));
            }
            Running::Cluster(cluster) => {
                let leader = if self.jetstream {
                    match cluster.meta_leader() {
                        Some(i) => format!(", JetStream meta leader {}", self.nodes[i].name),
                        None => ", JetStream".to_string(),
                    }
                } else {
                    String::new()
                };
                out.push_str(&format!(
                    "cluster {} ready: {} nodes, {version}{leader}\n",
                    cluster.name(),
                    self.nodes.len()
                ));
                let width = self.nodes.iter().map(|n| n.name.len()).max().unwrap_or(0);
                for n in &self.nodes {
                    let mut line = format!("  {:width$}  {}", n.name, n.client_url);
                    if let Some(url) = &n.monitoring_url {
                        line.push_str(&format!("  {url}"));
                    }
                    if let Some(url) = &n.websocket_url {
                        line.push_str(&format!("  {url}"));
                    }
                    if let Some(pid) = n.pid {
                        line.push_str(&format!("  pid {pid}"));
                    }
                    line.push_str(&format!("  {}\n", n.dir.display()));
                    out.push_str(&line);
                }
                if let Some(auth) = &auth {
                    out.push_str(&format!("  auth: {auth}\n"));
                }
                out.push_str(&self.tls_text("  tls ca: ", "  client cert: ", "  client key: "));
                out.push_str(&format!("  urls: {}\n", self.urls.join(",")));
            }
            Running::Supercluster(sc) => {
                out.push_str(&format!(
                    "supercluster ready: {} clusters x {} nodes, {version}{}\n",
                    sc.len(),
                    self.nodes.len() / sc.len().max(1),
                    if self.jetstream { ", JetStream" } else { "" }
                ));
                for cluster in &self.clusters {
                    out.push_str(&format!(
                        "  cluster {}: {}\n",
                        cluster.name,
                        cluster.urls.join(",")
                    ));
                }
                if let Some(auth) = &auth {
                    out.push_str(&format!("  auth: {auth}\n"));
                }
            }
        }
        out
    }
}

/// Writes `text` to `path` so that a reader sees nothing or all of it: a temporary file beside it, renamed.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), Error> {
    let fail = |e: io::Error| {
        Error::new(
            ErrorKind::Io,
            format!("writing the URLs file {}: {e}", path.display()),
        )
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".nats-harness-")
        .tempfile_in(dir)
        .map_err(fail)?;
    tmp.write_all(text.as_bytes()).map_err(fail)?;
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(fail)?;
    }
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}
