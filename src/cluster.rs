//! Clusters on dynamic ports that are really ready: full mesh, and with JetStream a meta leader known everywhere.
//!
//! Formation without guessing ports: node 1 starts with a dynamic cluster port and one route to a *reserved closed
//! port* (a socket bound but never listening, held by the [`Cluster`]): a JetStream node refuses to start with no
//! route at all, and a refused connection costs nothing. The other nodes start in parallel with a route to node 1's
//! discovered cluster port, and gossip completes the mesh. Once formed, every node's routes name every other node,
//! so any node restarted later rejoins on its own.
//!
//! Readiness is measured, never slept for: every running node's `/routez` lists the server ids of every other
//! running node, and with JetStream every node's `/jsz` names the same meta leader, the leader sees every peer as
//! current, and `/healthz` answers 200 on every node (asked only at the end: each failed health check writes a
//! warning into the server log).

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::options::{ClusterListener, ClusterOptions};
use crate::ready::{dial_host, url_host, Backoff};
use crate::server::Server;

/// A cluster of real servers. `servers[i]` is node `i` (0-based); dropping the cluster stops them all.
#[derive(Debug)]
pub struct Cluster {
    /// The nodes, in start order. Public for compatibility with the original crate.
    pub servers: Vec<Server>,
    name: String,
    ready_timeout: Duration,
    /// Keeps node 1's placeholder route port reserved (bound, never listening) for the cluster's life.
    _placeholder_route: Option<ReservedPort>,
}

impl Cluster {
    /// Options to build a cluster with ([`ClusterOptions`]), ending in [`ClusterOptions::run`]:
    ///
    /// ```no_run
    /// # fn main() -> nats_server::Result<()> {
    /// let cluster = nats_server::Cluster::builder().nodes(5).jetstream(true).run()?;
    /// println!("connect to {}", cluster.client_url());
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder() -> ClusterOptions {
        ClusterOptions::new()
    }

    /// Starts the nodes and returns once the cluster is ready (see the module docs). A node that fails to start
    /// fails the whole start with its own words, and nothing is left running.
    pub fn run(opts: &ClusterOptions) -> Result<Cluster> {
        opts.validate()?;
        let name = opts
            .name
            .clone()
            .unwrap_or_else(|| format!("c{:016x}", crate::unique::random_u64()));
        let placeholder = ReservedPort::new(dial_host(&opts.server.host))?;
        let node_opts = |i: usize, routes: Vec<String>| {
            let mut node = opts.server.clone();
            node.name = Some(
                opts.node_names
                    .get(i)
                    .cloned()
                    .or_else(|| opts.server.name.as_ref().map(|n| format!("{n}-{}", i + 1)))
                    .unwrap_or_else(|| format!("node{}", i + 1)),
            );
            if let Some(version) = opts.node_versions.get(i).filter(|v| !v.is_empty()) {
                node.version = Some(version.clone());
                node.binary = None;
            }
            if let Some(binary) = opts
                .node_binaries
                .get(i)
                .filter(|b| !b.as_os_str().is_empty())
            {
                node.binary = Some(binary.clone());
            }
            if let Some(file) = opts.node_config_files.get(i) {
                node.config_file = Some(file.clone());
            }
            node.cluster = Some(ClusterListener {
                name: name.clone(),
                port: None,
                routes,
            });
            node
        };
        let placeholder_route = format!(
            "nats://{}:{}",
            url_host(dial_host(&opts.server.host)),
            placeholder.port
        );
        let first = Server::run(&node_opts(0, vec![placeholder_route]))
            .map_err(|e| e.context("cluster node 1 failed to start"))?;
        let seed = first
            .cluster_url()
            .expect("a cluster node has a cluster listener");
        // Plain threads that own their options, not `thread::scope`: a scope creates a `std::thread::current()`
        // handle on the calling thread, which a C caller's valgrind reports as "possibly lost".
        let starts: Vec<_> = (1..opts.nodes)
            .map(|i| {
                let node = node_opts(i, vec![seed.clone()]);
                std::thread::Builder::new()
                    .name(format!("start node {}", i + 1))
                    .spawn(move || {
                        Server::run(&node).map_err(|e| {
                            e.context(format!("cluster node {} failed to start", i + 1))
                        })
                    })
                    .map_err(|e| Error::io("starting a thread to start a cluster node", e))
            })
            .collect();
        let others: Vec<Result<Server>> = starts
            .into_iter()
            .map(|start| {
                start?.join().unwrap_or_else(|_| {
                    Err(Error::new(ErrorKind::Internal, "a node start panicked"))
                })
            })
            .collect();
        let mut servers = vec![first];
        for node in others {
            // On any failure the servers started so far are dropped here: stopped and cleaned up.
            servers.push(node?);
        }
        let mut cluster = Cluster {
            servers,
            name,
            ready_timeout: Duration::from_millis(opts.ready_timeout_ms),
            _placeholder_route: Some(placeholder),
        };
        cluster.route_every_node_to_all_others();
        cluster.wait_ready(cluster.ready_timeout)?;
        Ok(cluster)
    }

    /// The cluster's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The number of nodes (running or not).
    pub fn len(&self) -> usize {
        self.servers.len()
    }

    /// Whether the cluster has no nodes.
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// Node `i` (0-based).
    pub fn node(&self, i: usize) -> Result<&Server> {
        let len = self.servers.len();
        self.servers.get(i).ok_or_else(|| bad_index(i, len))
    }

    /// Node `i` (0-based), mutably.
    pub fn node_mut(&mut self, i: usize) -> Result<&mut Server> {
        let len = self.servers.len();
        self.servers.get_mut(i).ok_or_else(|| bad_index(i, len))
    }

    /// The first node's client URL (`nats://localhost:PORT`), as in the original crate.
    pub fn client_url(&self) -> String {
        self.servers[0].client_url()
    }

    /// Every node's client URL, in node order.
    pub fn client_urls(&self) -> Vec<String> {
        self.servers.iter().map(Server::client_url).collect()
    }

    // ----- node faults ---------------------------------------------------------------------------------------

    /// Kills node `i` (SIGKILL, like a crash).
    pub fn kill(&mut self, i: usize) -> Result<()> {
        self.node_mut(i)?.kill()
    }

    /// Stops node `i` gracefully.
    pub fn stop(&mut self, i: usize) -> Result<()> {
        self.node_mut(i)?.stop()
    }

    /// Starts node `i` again (same ports, same store) and waits until it has rejoined the running nodes.
    pub fn start(&mut self, i: usize) -> Result<()> {
        self.node_mut(i)?.start()?;
        self.wait_ready(self.ready_timeout)
    }

    /// Restarts node `i` (same ports, same store) and waits until it has rejoined.
    pub fn restart(&mut self, i: usize) -> Result<()> {
        self.node_mut(i)?.try_restart()?;
        self.wait_ready(self.ready_timeout)
    }

    /// Restarts every node in turn, waiting for the cluster to be ready after each.
    pub fn rolling_restart(&mut self) -> Result<()> {
        for i in 0..self.servers.len() {
            self.restart(i)?;
        }
        Ok(())
    }

    /// Stops node `i`, starts it again on release `version` (installed first, when missing) with the same ports
    /// and store, and waits until the cluster is ready again (mesh, and with JetStream a meta leader and every
    /// node healthy).
    pub fn upgrade_node(&mut self, i: usize, version: &str) -> Result<()> {
        self.node_mut(i)?
            .upgrade(version)
            .map_err(|e| e.context(format!("upgrading cluster node {} to {version}", i + 1)))?;
        self.wait_ready(self.ready_timeout)
    }

    /// Like [`Cluster::upgrade_node`], with a binary instead of a release.
    pub fn upgrade_node_binary(&mut self, i: usize, binary: impl AsRef<Path>) -> Result<()> {
        self.node_mut(i)?.upgrade_binary(binary)?;
        self.wait_ready(self.ready_timeout)
    }

    /// Upgrades every node in turn to release `version` (see [`Cluster::upgrade_node`]); the release is installed
    /// before any node stops.
    pub fn rolling_upgrade(&mut self, version: &str) -> Result<()> {
        crate::install::resolve(version)?;
        for i in 0..self.servers.len() {
            self.upgrade_node(i, version)?;
        }
        Ok(())
    }

    /// Freezes node `i` (SIGSTOP). Readiness checks leave paused nodes out.
    pub fn pause(&mut self, i: usize) -> Result<()> {
        self.node_mut(i)?.pause()
    }

    /// Lets node `i` run again (SIGCONT).
    pub fn resume(&mut self, i: usize) -> Result<()> {
        self.node_mut(i)?.resume()
    }

    /// Puts node `i` into lame duck mode.
    pub fn lame_duck(&mut self, i: usize) -> Result<()> {
        self.node_mut(i)?.lame_duck()
    }

    /// Records that the test using this cluster failed (see [`Server::mark_failed`]), for every node.
    pub fn mark_failed(&mut self) {
        for server in &mut self.servers {
            server.mark_failed();
        }
    }

    // ----- readiness -----------------------------------------------------------------------------------------

    /// Whether any node runs JetStream (by its options, else by its INFO: a config file may turn it on).
    pub fn jetstream(&self) -> bool {
        self.servers
            .iter()
            .any(|s| s.options().jetstream || s.info()["jetstream"].as_bool().unwrap_or(false))
    }

    /// Waits until every running, unpaused node routes to every other one, and (with JetStream) they agree on a
    /// meta leader that sees them all and every one answers `/healthz` with 200.
    pub fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        self.wait_mesh(deadline)?;
        if self.jetstream() {
            self.wait_leader(deadline)?;
            self.wait_healthy(deadline)?;
        }
        Ok(())
    }

    /// Waits until every running node names the same JetStream meta leader; returns its node index.
    pub fn wait_for_leader(&self, timeout: Duration) -> Result<usize> {
        self.wait_leader(Instant::now() + timeout)
    }

    /// The node index of the JetStream meta leader, as the running nodes agree on it now (`None` when they do not
    /// agree or there is none).
    pub fn meta_leader(&self) -> Option<usize> {
        self.agreed_leader().ok()
    }

    fn active(&self) -> impl Iterator<Item = (usize, &Server)> {
        self.servers
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_running() && !s.is_paused())
    }

    /// Polls `check` until it yields a value or `deadline` passes; the error then quotes the last reason it gave.
    /// Monitoring failures count as "not yet": a node busy electing may answer slowly.
    fn poll<T>(
        &self,
        deadline: Instant,
        what: &str,
        mut check: impl FnMut() -> Result<T, String>,
    ) -> Result<T> {
        let mut backoff = Backoff::new(Duration::from_millis(5));
        loop {
            let reason = match check() {
                Ok(value) => return Ok(value),
                Err(reason) => reason,
            };
            if Instant::now() >= deadline {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("cluster {}: {what} in time: {reason}", self.name),
                ));
            }
            backoff.sleep(deadline);
        }
    }

    fn wait_mesh(&self, deadline: Instant) -> Result<()> {
        self.poll(deadline, "the nodes did not form a full mesh", || {
            let gaps = self.mesh_gaps()?;
            if gaps.is_empty() {
                Ok(())
            } else {
                Err(gaps.join("; "))
            }
        })
    }

    /// For each active node that does not yet route to every other active node, which peers it lacks.
    fn mesh_gaps(&self) -> Result<Vec<String>, String> {
        // Each active node's own server id and the ids its routes lead to, from its /routez.
        let mut views: Vec<(usize, String, HashSet<String>)> = Vec::new();
        for (i, server) in self.active() {
            let routez = server.monitor("routez").map_err(|e| e.to_string())?;
            let own = routez["server_id"].as_str().unwrap_or_default().to_string();
            let seen = routez["routes"]
                .as_array()
                .map(|routes| {
                    routes
                        .iter()
                        .filter_map(|r| r["remote_id"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            views.push((i, own, seen));
        }
        let mut gaps = Vec::new();
        for (i, _, seen) in &views {
            let lacking: Vec<String> = views
                .iter()
                .filter(|(j, id, _)| j != i && !seen.contains(id))
                .map(|(j, _, _)| format!("node {}", j + 1))
                .collect();
            if !lacking.is_empty() {
                gaps.push(format!(
                    "node {} has no route to {}",
                    i + 1,
                    lacking.join(", ")
                ));
            }
        }
        Ok(gaps)
    }

    fn wait_leader(&self, deadline: Instant) -> Result<usize> {
        self.poll(deadline, "no JetStream meta leader", || {
            let leader = self.agreed_leader()?;
            let behind = self.peers_not_current(leader)?;
            if behind.is_empty() {
                Ok(leader)
            } else {
                Err(format!(
                    "node {} leads but does not yet see every peer as current: {}",
                    leader + 1,
                    behind.join("; ")
                ))
            }
        })
    }

    /// The active node that every active node names as meta leader, or why there is none.
    fn agreed_leader(&self) -> Result<usize, String> {
        let mut agreed: Option<String> = None;
        for (i, server) in self.active() {
            let jsz = server.monitor("jsz").map_err(|e| e.to_string())?;
            let leader = jsz["meta_cluster"]["leader"].as_str().unwrap_or_default();
            if leader.is_empty() {
                return Err(format!("node {} knows no meta leader yet", i + 1));
            }
            match &agreed {
                Some(a) if a != leader => {
                    return Err(format!("the nodes name different leaders ({a}, {leader})"))
                }
                _ => agreed = Some(leader.to_string()),
            }
        }
        let name = agreed.ok_or("no node is running")?;
        self.active()
            .find(|(_, s)| s.info()["server_name"].as_str() == Some(name.as_str()))
            .map(|(i, _)| i)
            .ok_or_else(|| format!("the nodes still name {name}, which is stopped or paused"))
    }

    /// The active peers the leader does not (yet) see as current, each with the leader's view of it.
    fn peers_not_current(&self, leader: usize) -> Result<Vec<String>, String> {
        let jsz = self.servers[leader]
            .monitor("jsz")
            .map_err(|e| e.to_string())?;
        let replicas = jsz["meta_cluster"]["replicas"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut behind = Vec::new();
        for (i, server) in self.active().filter(|(i, _)| *i != leader) {
            let name = server.info()["server_name"].as_str().unwrap_or_default();
            match replicas.iter().find(|r| r["name"].as_str() == Some(name)) {
                None => behind.push(format!("node {} ({name}) is not among its peers", i + 1)),
                Some(r)
                    if !r["current"].as_bool().unwrap_or(false)
                        || r["offline"].as_bool().unwrap_or(false) =>
                {
                    behind.push(format!("node {} ({name}): {r}", i + 1))
                }
                Some(_) => {}
            }
        }
        Ok(behind)
    }

    fn wait_healthy(&self, deadline: Instant) -> Result<()> {
        for (i, server) in self.active() {
            loop {
                let (status, body): (u16, Value) = match server.monitor_status("healthz") {
                    Ok(answer) => answer,
                    Err(e) => (0, Value::String(e.to_string())),
                };
                if status == 200 {
                    break;
                }
                if Instant::now() >= deadline {
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        format!(
                            "cluster {}: node {} is not healthy in time: {body}",
                            self.name,
                            i + 1
                        ),
                    ));
                }
                // Gently: each failed health check writes a warning into the server's log.
                std::thread::sleep(
                    Duration::from_millis(20)
                        .min(deadline.saturating_duration_since(Instant::now())),
                );
            }
        }
        Ok(())
    }

    /// After formation: every node's routes name every other node, so a restarted node rejoins by itself.
    fn route_every_node_to_all_others(&mut self) {
        let urls: Vec<Option<String>> = self.servers.iter().map(Server::cluster_url).collect();
        for (i, server) in self.servers.iter_mut().enumerate() {
            let routes = urls
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .filter_map(|(_, u)| u.clone())
                .collect();
            server.set_routes(routes);
        }
    }
}

fn bad_index(i: usize, len: usize) -> Error {
    Error::new(
        ErrorKind::InvalidOptions,
        format!("node index {i} is out of range: the cluster has {len} nodes (0-based)"),
    )
}

/// A TCP port bound but never listening: connections to it are refused, and no one else can take it while the
/// socket is held.
#[derive(Debug)]
struct ReservedPort {
    _socket: socket2::Socket,
    port: u16,
}

impl ReservedPort {
    fn new(host: &str) -> Result<ReservedPort> {
        let ip: std::net::IpAddr = host.parse().map_err(|_| {
            Error::new(
                ErrorKind::InvalidOptions,
                format!("cluster host {host:?} must be an IP address"),
            )
        })?;
        let addr = std::net::SocketAddr::new(ip, 0);
        let io = |e| Error::io("reserving a placeholder route port", e);
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            None,
        )
        .map_err(io)?;
        socket.bind(&addr.into()).map_err(io)?;
        let port = socket
            .local_addr()
            .map_err(io)?
            .as_socket()
            .map(|a| a.port())
            .ok_or_else(|| Error::new(ErrorKind::Io, "the placeholder route socket has no port"))?;
        Ok(ReservedPort {
            _socket: socket,
            port,
        })
    }
}

/// Turns one config or three per-node configs into what [`crate::run_cluster`] needs (the original crate's
/// trait).
pub trait IntoConfig<'a> {
    /// One config path per node of a three-node cluster (`""` for none).
    fn into_config(self) -> [&'a str; 3];
}

impl<'a> IntoConfig<'a> for &'a str {
    fn into_config(self) -> [&'a str; 3] {
        [self, self, self]
    }
}

impl<'a> IntoConfig<'a> for [&'a str; 3] {
    fn into_config(self) -> [&'a str; 3] {
        self
    }
}
