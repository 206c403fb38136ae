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
use crate::options::{
    ClusterListener, ClusterOptions, GatewayListener, RemoteGateway, ServerOptions,
};
use crate::proxy::routes::RouteLinks;
use crate::proxy::Proxy;
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
    /// Keeps the JetStream padding route ports reserved (see [`Cluster::run`]).
    _padding: Vec<ReservedPort>,
    /// Set by [`crate::Supercluster`]: the JetStream meta group then spans every cluster, so this cluster's own
    /// readiness is its mesh only and the supercluster checks JetStream.
    pub(crate) in_supercluster: bool,
    /// The route proxies (option `route_proxies`), closed after the nodes stop (declared after `servers`).
    route_links: Option<RouteLinks>,
}

/// What a supercluster adds to the nodes of its clusters at their first start.
#[derive(Clone, Debug, Default)]
pub(crate) struct NodeLinks {
    /// The node's gateway listener and the gateways it connects to.
    pub gateway: Option<GatewayListener>,
    /// The JetStream meta group size a node should expect at its first start (0: leave it to the server).
    /// nats-server expects `max(2, routes + gateway URLs of other clusters)` peers; the harness pads each node's
    /// routes with `padding` so that it expects every node of the supercluster. No cluster then reaches a quorum
    /// on its own and elects a meta leader of its own before its gateways connect (they are solicited 1 s after
    /// a start), which would split the meta group for good.
    pub expected_peers: usize,
    /// Route URLs to reserved closed ports, for the padding.
    pub padding: Vec<String>,
    /// With `gateway_proxies`: each node's gateways go to its own proxies instead of `gateway`'s URLs.
    pub gateway_proxies: Option<GatewayProxies>,
}

/// The gateway proxies of a supercluster, as one node of cluster `cluster` sees them.
#[derive(Clone, Debug)]
pub(crate) struct GatewayProxies {
    /// Proxies between every pair of nodes in different clusters, by index among all nodes (`cluster * nodes + i`).
    pub links: std::sync::Arc<RouteLinks>,
    /// This cluster's index.
    pub cluster: usize,
    /// Every cluster's name, in order.
    pub names: Vec<String>,
    /// Nodes per cluster.
    pub nodes: usize,
}

impl NodeLinks {
    /// Applies the links to node `i`'s options.
    fn apply(&self, node: &mut ServerOptions, i: usize) {
        node.gateway = self.gateway.clone();
        if let (Some(gateway), Some(p)) = (node.gateway.as_mut(), &self.gateway_proxies) {
            let me = p.cluster * p.nodes + i;
            gateway.advertise = Some(p.links.advertise().to_string());
            gateway.gateways = (0..p.names.len())
                .filter(|&d| d != p.cluster)
                .map(|d| RemoteGateway {
                    name: p.names[d].clone(),
                    urls: p.links.urls_to(me, d * p.nodes..(d + 1) * p.nodes),
                })
                .collect();
        }
        let gateway = &node.gateway;
        let gateway_urls: usize = gateway
            .iter()
            .flat_map(|g| &g.gateways)
            .map(|g| g.urls.len())
            .sum();
        if let Some(cluster) = node.cluster.as_mut() {
            let mut padding = self.padding.iter();
            while cluster.routes.len() + gateway_urls < self.expected_peers {
                match padding.next() {
                    Some(url) => cluster.routes.push(url.clone()),
                    None => break,
                }
            }
        }
    }
}

/// The options of node `i` of cluster `name`, with `routes` (with route proxies: the proxies to every other node,
/// and a cluster advertise address that refuses connections, so gossip never makes a route around the proxies).
fn node_options(
    opts: &ClusterOptions,
    name: &str,
    i: usize,
    routes: Vec<String>,
    proxies: Option<&RouteLinks>,
) -> ServerOptions {
    let mut node = opts.server.clone();
    let routes = match proxies {
        Some(links) => {
            node.args
                .extend(["--cluster_advertise".into(), links.advertise().to_string()]);
            links.routes_from(i)
        }
        None => routes,
    };
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
    if let Some(dir) = opts.node_store_dirs.get(i) {
        node.store_dir = Some(dir.clone());
    }
    node.cluster = Some(ClusterListener {
        name: name.to_string(),
        port: None,
        routes,
    });
    node
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
        // With JetStream every node expects the whole cluster in its meta group (see `NodeLinks`): with a route
        // to node 1 only, each node expects 2 peers, and two pairs of nodes can each elect a meta leader of their
        // own before they learn of each other, splitting the meta group for good (seen with 5 nodes on 2.9.10 on
        // a busy machine).
        let padding: Vec<ReservedPort> = if opts.server.jetstream {
            let host = dial_host(opts.server.listen_host());
            (1..opts.nodes)
                .map(|_| ReservedPort::new(host))
                .collect::<Result<_>>()?
        } else {
            Vec::new()
        };
        let links = NodeLinks {
            gateway: None,
            gateway_proxies: None,
            expected_peers: if padding.is_empty() { 0 } else { opts.nodes },
            padding: padding
                .iter()
                .map(|r| crate::links::link_url(dial_host(opts.server.listen_host()), r.port))
                .collect(),
        };
        let mut cluster = Cluster::start_first(opts, &links)?.start_rest(opts, &links)?;
        cluster._padding = padding;
        cluster.route_every_node_to_all_others();
        cluster.wait_ready(cluster.ready_timeout)?;
        Ok(cluster)
    }

    /// Validates the options and starts node 1 (with a dynamic cluster port and, when given, `gateway`): the
    /// first half of a start; [`Cluster::start_rest`] is the second. Superclusters run the halves of several
    /// clusters in step.
    pub(crate) fn start_first(opts: &ClusterOptions, links: &NodeLinks) -> Result<Cluster> {
        opts.validate_links(links.gateway.is_some())?;
        let name = opts
            .name
            .clone()
            .unwrap_or_else(|| format!("c{:016x}", crate::unique::random_u64()));
        let placeholder = ReservedPort::new(dial_host(opts.server.listen_host()))?;
        let route_links = match opts.route_proxies && opts.nodes > 1 {
            true => Some(RouteLinks::new(
                opts.nodes,
                dial_host(opts.server.listen_host()),
                format!(
                    "{}:{}",
                    url_host(dial_host(opts.server.listen_host())),
                    placeholder.port
                ),
            )?),
            false => None,
        };
        let placeholder_route = format!(
            "nats://{}:{}",
            url_host(dial_host(opts.server.listen_host())),
            placeholder.port
        );
        let mut first = node_options(
            opts,
            &name,
            0,
            vec![placeholder_route],
            route_links.as_ref(),
        );
        links.apply(&mut first, 0);
        let first = Server::run(&first).map_err(|e| e.context("cluster node 1 failed to start"))?;
        if let Some(links) = &route_links {
            links.set_target(0, first.cluster_addr()?);
        }
        Ok(Cluster {
            servers: vec![first],
            name,
            ready_timeout: Duration::from_millis(opts.ready_timeout_ms),
            _placeholder_route: Some(placeholder),
            _padding: Vec::new(),
            in_supercluster: false,
            route_links,
        })
    }

    /// Starts nodes 2..N in parallel with a route to node 1 (and, when given, `gateway`). A node that fails to
    /// start fails the whole start with its own words, and nothing is left running.
    pub(crate) fn start_rest(
        mut self,
        opts: &ClusterOptions,
        links: &NodeLinks,
    ) -> Result<Cluster> {
        let seed = self.servers[0]
            .cluster_url()
            .expect("a cluster node has a cluster listener");
        // Plain threads that own their options, not `thread::scope`: a scope creates a `std::thread::current()`
        // handle on the calling thread, which a C caller's valgrind reports as "possibly lost".
        let name = self.name.clone();
        let starts: Vec<_> = (1..opts.nodes)
            .map(|i| {
                let mut node = node_options(
                    opts,
                    &name,
                    i,
                    vec![seed.clone()],
                    self.route_links.as_ref(),
                );
                links.apply(&mut node, i);
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
        for node in others {
            // On any failure the servers started so far are dropped here: stopped and cleaned up.
            let node = node?;
            if let Some(links) = &self.route_links {
                links.set_target(self.servers.len(), node.cluster_addr()?);
            }
            self.servers.push(node);
        }
        Ok(self)
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

    // ----- link faults (option `route_proxies`) ---------------------------------------------------------------

    /// The fault proxy carrying the routes node `from` dials to node `to` (0-based). Faults on it slow or break
    /// that direction of the pair's routes; [`Cluster::partition`] and [`Cluster::heal`] act on all of them.
    pub fn route_link(&self, from: usize, to: usize) -> Result<&Proxy> {
        self.links()?.link(from, to)
    }

    /// Cuts every route between nodes of different groups (0-based indexes), e.g. `partition(&[&[0], &[1, 2]])`
    /// isolates node 0. Nodes not named form one more group together. Links inside a group are brought up.
    /// Open routes across the cut are closed and new ones refused until [`Cluster::heal`].
    pub fn partition(&self, groups: &[&[usize]]) -> Result<()> {
        let groups: Vec<Vec<usize>> = groups.iter().map(|g| g.to_vec()).collect();
        self.links()?.partition(&groups)
    }

    /// Brings every route link up again; the nodes reconnect on their own (explicit routes retry every second).
    pub fn heal(&self) -> Result<()> {
        self.links()?.heal()
    }

    /// Every route proxy as `(from, to, proxy)`.
    pub fn route_links(&self) -> Result<Vec<(usize, usize, &Proxy)>> {
        Ok(self.links()?.all().collect())
    }

    fn links(&self) -> Result<&RouteLinks> {
        self.route_links.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOptions,
                format!(
                    "cluster {}: its routes are not proxied; start it with `route_proxies` (and at least 2 nodes) to partition it or fault its links",
                    self.name
                ),
            )
        })
    }

    /// The CA every node's certificate is signed by, with `server.tls` (the nodes share one CA).
    pub fn ca_file(&self) -> Option<&std::path::Path> {
        self.servers.first().and_then(Server::ca_file)
    }

    /// A client certificate signed by the nodes' CA, with generated `server.tls` (for `tls.verify`).
    pub fn client_cert_file(&self) -> Option<&std::path::Path> {
        self.servers.first().and_then(Server::client_cert_file)
    }

    /// The private key of [`Cluster::client_cert_file`].
    pub fn client_key_file(&self) -> Option<&std::path::Path> {
        self.servers.first().and_then(Server::client_key_file)
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

    /// Stops node `i` with SIGTERM, and SIGKILL once `timeout` has passed (see [`Server::stop_timeout`]).
    pub fn stop_timeout(&mut self, i: usize, timeout: Duration) -> Result<()> {
        self.node_mut(i)?.stop_timeout(timeout)
    }

    /// Stops several nodes at once (SIGTERM to all, then SIGKILL to those still running after `timeout`): about
    /// as long as stopping one.
    pub fn stop_nodes(&mut self, nodes: &[usize], timeout: Duration) -> Result<()> {
        for &i in nodes {
            self.node(i)?;
        }
        let mut stopping = Vec::new();
        for &i in nodes {
            stopping.extend(self.servers[i].begin_stop()?);
        }
        let deadline = Instant::now() + timeout;
        for node in stopping {
            node.finish(deadline.saturating_duration_since(Instant::now()))?;
        }
        Ok(())
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
        if self.jetstream() && !self.in_supercluster {
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

    fn poll<T>(
        &self,
        deadline: Instant,
        what: &str,
        check: impl FnMut() -> Result<T, String>,
    ) -> Result<T> {
        poll_until(&format!("cluster {}", self.name), deadline, what, check)
    }

    pub(crate) fn wait_mesh(&self, deadline: Instant) -> Result<()> {
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

    /// The active nodes, labelled for messages ("node 2").
    fn labelled(&self) -> Vec<(usize, String, &Server)> {
        self.active()
            .map(|(i, s)| (i, format!("node {}", i + 1), s))
            .collect()
    }

    fn wait_leader(&self, deadline: Instant) -> Result<usize> {
        let nodes = self.labelled();
        let scope = format!("cluster {}", self.name);
        wait_meta_leader(&scope, &nodes, deadline).map(|pos| nodes[pos].0)
    }

    /// The active node that every active node names as meta leader, or why there is none.
    fn agreed_leader(&self) -> Result<usize, String> {
        let nodes = self.labelled();
        agreed_meta_leader(&nodes).map(|pos| nodes[pos].0)
    }

    fn wait_healthy(&self, deadline: Instant) -> Result<()> {
        wait_all_healthy(
            &format!("cluster {}", self.name),
            &self.labelled(),
            deadline,
        )
    }

    /// After formation: every node's routes name every other node, so a restarted node rejoins by itself.
    pub(crate) fn route_every_node_to_all_others(&mut self) {
        if self.route_links.is_some() {
            // Every node's routes already name its proxies to every other node: nothing may bypass them.
            return;
        }
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

/// Active nodes for the JetStream checks shared by clusters and superclusters: (index, label, server).
pub(crate) type Labelled<'a> = (usize, String, &'a Server);

/// Polls `check` until it yields a value or `deadline` passes; the error then quotes the last reason it gave.
/// Monitoring failures count as "not yet": a node busy electing may answer slowly.
pub(crate) fn poll_until<T>(
    scope: &str,
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
                format!("{scope}: {what} in time: {reason}"),
            ));
        }
        backoff.sleep(deadline);
    }
}

/// Waits until every node names the same meta leader and it sees every other node as a current peer; returns
/// the leader's position in `nodes`.
pub(crate) fn wait_meta_leader(
    scope: &str,
    nodes: &[Labelled],
    deadline: Instant,
) -> Result<usize> {
    poll_until(scope, deadline, "no JetStream meta leader", || {
        let leader = agreed_meta_leader(nodes)?;
        let behind = peers_not_current(nodes, leader)?;
        if behind.is_empty() {
            Ok(leader)
        } else {
            Err(format!(
                "{} leads but does not yet see every peer as current: {}",
                nodes[leader].1,
                behind.join("; ")
            ))
        }
    })
}

/// The position in `nodes` of the node every node names as meta leader, or why there is none.
pub(crate) fn agreed_meta_leader(nodes: &[Labelled]) -> Result<usize, String> {
    let mut agreed: Option<String> = None;
    for (_, label, server) in nodes {
        let jsz = server.monitor("jsz").map_err(|e| e.to_string())?;
        let leader = jsz["meta_cluster"]["leader"].as_str().unwrap_or_default();
        if leader.is_empty() {
            return Err(format!("{label} knows no meta leader yet"));
        }
        match &agreed {
            Some(a) if a != leader => {
                return Err(format!("the nodes name different leaders ({a}, {leader})"))
            }
            _ => agreed = Some(leader.to_string()),
        }
    }
    let name = agreed.ok_or("no node is running")?;
    nodes
        .iter()
        .position(|(_, _, s)| s.info()["server_name"].as_str() == Some(name.as_str()))
        .ok_or_else(|| format!("the nodes still name {name}, which is stopped or paused"))
}

/// The nodes the leader does not (yet) see as current, each with the leader's view of it.
fn peers_not_current(nodes: &[Labelled], leader: usize) -> Result<Vec<String>, String> {
    let jsz = nodes[leader].2.monitor("jsz").map_err(|e| e.to_string())?;
    let replicas = jsz["meta_cluster"]["replicas"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut behind = Vec::new();
    for (pos, (_, label, server)) in nodes.iter().enumerate() {
        if pos == leader {
            continue;
        }
        let name = server.info()["server_name"].as_str().unwrap_or_default();
        match replicas.iter().find(|r| r["name"].as_str() == Some(name)) {
            None => behind.push(format!("{label} ({name}) is not among its peers")),
            Some(r)
                if !r["current"].as_bool().unwrap_or(false)
                    || r["offline"].as_bool().unwrap_or(false) =>
            {
                behind.push(format!("{label} ({name}): {r}"))
            }
            Some(_) => {}
        }
    }
    Ok(behind)
}

/// Waits until every node answers `/healthz` with 200 (asked gently: each failure is a warning in its log).
pub(crate) fn wait_all_healthy(scope: &str, nodes: &[Labelled], deadline: Instant) -> Result<()> {
    for (_, label, server) in nodes {
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
                    format!("{scope}: {label} is not healthy in time: {body}"),
                ));
            }
            std::thread::sleep(
                Duration::from_millis(20).min(deadline.saturating_duration_since(Instant::now())),
            );
        }
    }
    Ok(())
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
pub(crate) struct ReservedPort {
    _socket: socket2::Socket,
    pub(crate) port: u16,
}

impl ReservedPort {
    pub(crate) fn new(host: &str) -> Result<ReservedPort> {
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
