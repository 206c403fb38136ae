//! Superclusters on dynamic ports that are really ready: clusters joined by gateways.
//!
//! Formation without guessing ports: node 1 of the first cluster starts with a dynamic gateway port; node 1 of
//! every other cluster starts (in parallel) with a gateway to it; then every remaining node starts (in parallel)
//! with a route to its cluster's node 1 and gateways to every other cluster's node 1. Gateway gossip completes the
//! links. Once formed, every node's gateways name every node of every other cluster (and its routes every node of
//! its own), so any node restarted later rejoins on its own. A gateway listener's port is read from `/varz` (the
//! ports file does not list it) and kept across restarts like the other ports.
//!
//! JetStream: nats-server sizes a new meta group from a node's routes and gateway URLs, and a server solicits its
//! gateways only 1 s after it starts, so clusters started this way would each elect a meta leader of their own
//! and never merge cleanly (measured: a node stays "not current with the meta leader"). Every node's routes are
//! therefore padded with routes to reserved closed ports until it expects the whole supercluster: no cluster
//! reaches a quorum alone, and the one leader is elected once the gateways are up.
//!
//! Readiness is measured: every cluster is fully meshed; every running node has an outbound gateway to every other
//! cluster, and each cluster's nodes together have exactly one inbound gateway from every running node of every
//! other cluster (each node keeps one outbound connection per remote cluster, to one node of it); with JetStream, every
//! node of every cluster names the same meta leader (the meta group spans the supercluster), the leader sees every
//! peer as current, and every node answers `/healthz` with 200.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use std::collections::HashSet;
use std::sync::Arc;

use crate::cluster::{
    agreed_meta_leader, poll_until, wait_all_healthy, wait_meta_leader, Cluster, GatewayProxies,
    Labelled, NodeLinks, ReservedPort,
};
use crate::error::{Error, ErrorKind, Result};
use crate::links::link_url;
use crate::options::{GatewayListener, RemoteGateway, SuperclusterOptions};
use crate::proxy::routes::RouteLinks;
use crate::proxy::Proxy;
use crate::ready::{dial_host, url_host};
use crate::server::Server;

/// One gateway proxy: `((from cluster, from node), (to cluster, to node), proxy)`.
pub type GatewayLink<'a> = ((usize, usize), (usize, usize), &'a Proxy);

/// Clusters of real servers joined by gateways. Dropping it stops every node.
///
/// ```no_run
/// use nats_server::{Supercluster, SuperclusterOptions};
///
/// # fn main() -> nats_server::Result<()> {
/// let mut sc = Supercluster::run(&SuperclusterOptions::new().clusters(2).nodes(3).jetstream(true))?;
/// let in_east = sc.node(0, 0)?.client_url();
/// let west = sc.names()[1].clone(); // a JetStream placement target
/// sc.kill(1, 0)?;
/// sc.start(1, 0)?; // back in the supercluster (routes, gateways, JetStream) when it returns
/// # let _ = (in_east, west);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Supercluster {
    clusters: Vec<Cluster>,
    /// Keeps the padding routes' ports reserved (bound, never listening) for the supercluster's life.
    _padding: Vec<ReservedPort>,
    ready_timeout: Duration,
    /// The gateway proxies (option `gateway_proxies`), closed after the nodes stop (declared after `clusters`).
    gateway_links: Option<Arc<RouteLinks>>,
    /// Nodes per cluster (for the gateway proxies' indexes).
    nodes: usize,
}

impl Supercluster {
    /// Options to build a supercluster with: `Supercluster::builder().clusters(2).nodes(3).run()?`.
    pub fn builder() -> SuperclusterOptions {
        SuperclusterOptions::new()
    }

    /// Starts every node and returns once the supercluster is ready (see the module docs). A node that fails to
    /// start fails the whole start with its own words, and nothing is left running.
    pub fn run(opts: &SuperclusterOptions) -> Result<Supercluster> {
        opts.validate()?;
        let tag = format!("{:08x}", crate::unique::random_u64() as u32);
        let names: Vec<String> = if opts.names.is_empty() {
            (1..=opts.clusters).map(|k| format!("c{k}-{tag}")).collect()
        } else {
            opts.names.clone()
        };
        let cluster_opts: Vec<_> = names
            .iter()
            .enumerate()
            .map(|(k, n)| opts.cluster_options(k, n))
            .collect();
        let names = &names;
        let gateway = move |k: usize, gateways: Vec<RemoteGateway>| GatewayListener {
            name: names[k].clone(),
            port: None,
            gateways,
            advertise: None,
        };
        let context = |k: usize| move |e: Error| e.context(format!("cluster {}", names[k]));

        let deadline = Instant::now() + Duration::from_millis(opts.ready_timeout_ms);
        // Every node expects the whole supercluster in its JetStream meta group (see `NodeLinks`).
        let total = opts.clusters * opts.nodes;
        let host = dial_host(opts.server.listen_host());
        let mut reserved: Vec<ReservedPort> = (0..total)
            .map(|_| ReservedPort::new(host))
            .collect::<Result<_>>()?;
        let padding: Vec<String> = reserved.iter().map(|r| link_url(host, r.port)).collect();
        // With gateway proxies: one per ordered pair of nodes in different clusters, and every node advertises a
        // closed gateway address, so gossip never gives a node a direct gateway URL.
        let gateway_links = if opts.gateway_proxies && opts.clusters > 1 {
            let closed = ReservedPort::new(host)?;
            let advertise = format!("{}:{}", url_host(host), closed.port);
            reserved.push(closed);
            let nodes = opts.nodes;
            Some(Arc::new(RouteLinks::for_pairs(
                total,
                host,
                advertise,
                |a, b| a / nodes != b / nodes,
            )?))
        } else {
            None
        };
        let links = |k: usize, gateways: Vec<RemoteGateway>| NodeLinks {
            gateway: Some(gateway(k, gateways)),
            expected_peers: total,
            padding: padding.clone(),
            gateway_proxies: gateway_links.as_ref().map(|links| GatewayProxies {
                links: links.clone(),
                cluster: k,
                names: names.clone(),
                nodes: opts.nodes,
            }),
        };
        // Points the proxies towards node `i` of cluster `k` at its gateway listener.
        let target = |k: usize, i: usize, server: &Server| -> Result<()> {
            if let Some(links) = &gateway_links {
                links.set_target(k * opts.nodes + i, server.gateway_addr()?);
            }
            Ok(())
        };

        // Node 1 of the first cluster, then node 1 of the others with a gateway to it.
        let first =
            Cluster::start_first(&cluster_opts[0], &links(0, Vec::new())).map_err(context(0))?;
        let to_first = vec![RemoteGateway {
            name: names[0].clone(),
            urls: first.servers[0].gateway_url().into_iter().collect(),
        }];
        target(0, 0, &first.servers[0])?;
        let mut clusters = vec![first];
        let others = in_parallel(
            (1..opts.clusters)
                .map(|k| {
                    let (opts, links, name) = (
                        cluster_opts[k].clone(),
                        links(k, to_first.clone()),
                        names[k].clone(),
                    );
                    job(move || {
                        Cluster::start_first(&opts, &links)
                            .map_err(|e| e.context(format!("cluster {name}")))
                    })
                })
                .collect(),
        );
        for cluster in others {
            let cluster = cluster?;
            target(clusters.len(), 0, &cluster.servers[0])?;
            clusters.push(cluster);
        }

        // The other nodes, with gateways to every other cluster's node 1.
        let seeds: Vec<RemoteGateway> = clusters
            .iter()
            .zip(names)
            .map(|(c, name)| RemoteGateway {
                name: name.clone(),
                urls: c.servers[0].gateway_url().into_iter().collect(),
            })
            .collect();
        let started = in_parallel(
            clusters
                .into_iter()
                .enumerate()
                .map(|(k, cluster)| {
                    let remotes: Vec<RemoteGateway> = seeds
                        .iter()
                        .filter(|g| g.name != names[k])
                        .cloned()
                        .collect();
                    let (opts, links, name) =
                        (cluster_opts[k].clone(), links(k, remotes), names[k].clone());
                    job(move || {
                        cluster
                            .start_rest(&opts, &links)
                            .map_err(|e| e.context(format!("cluster {name}")))
                    })
                })
                .collect(),
        );
        let mut clusters = Vec::new();
        for cluster in started {
            let cluster = cluster?;
            for (i, server) in cluster.servers.iter().enumerate().skip(1) {
                target(clusters.len(), i, server)?;
            }
            clusters.push(cluster);
        }
        for cluster in &mut clusters {
            cluster.in_supercluster = true;
        }
        let mut supercluster = Supercluster {
            clusters,
            _padding: reserved,
            ready_timeout: Duration::from_millis(opts.ready_timeout_ms),
            gateway_links,
            nodes: opts.nodes,
        };
        supercluster.link_every_node_to_all_others();
        supercluster.wait_ready(deadline.saturating_duration_since(Instant::now()))?;
        Ok(supercluster)
    }

    // ----- access --------------------------------------------------------------------------------------------

    /// The clusters, in order.
    pub fn clusters(&self) -> &[Cluster] {
        &self.clusters
    }

    /// Cluster `c` (0-based). Its node faults go through the supercluster ([`Supercluster::kill`], ...), so that
    /// readiness covers the gateways and the supercluster-wide JetStream.
    pub fn cluster(&self, c: usize) -> Result<&Cluster> {
        let len = self.clusters.len();
        self.clusters.get(c).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOptions,
                format!("cluster index {c} is out of range: the supercluster has {len} clusters (0-based)"),
            )
        })
    }

    /// Node `i` of cluster `c` (both 0-based).
    pub fn node(&self, c: usize, i: usize) -> Result<&Server> {
        self.cluster(c)?.node(i)
    }

    /// The number of clusters.
    pub fn len(&self) -> usize {
        self.clusters.len()
    }

    /// Whether there are no clusters (never, once started).
    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
    }

    /// The cluster names, in order (their gateway names, for JetStream placement).
    pub fn names(&self) -> Vec<String> {
        self.clusters.iter().map(|c| c.name().to_string()).collect()
    }

    /// The first node's client URL of the first cluster.
    pub fn client_url(&self) -> String {
        self.clusters[0].client_url()
    }

    /// Every node's client URL, by cluster.
    pub fn client_urls(&self) -> Vec<Vec<String>> {
        self.clusters.iter().map(Cluster::client_urls).collect()
    }

    /// Every node, with its cluster and node index.
    pub fn servers(&self) -> impl Iterator<Item = (usize, usize, &Server)> {
        self.clusters
            .iter()
            .enumerate()
            .flat_map(|(c, cl)| cl.servers.iter().enumerate().map(move |(i, s)| (c, i, s)))
    }

    // ----- gateway link faults (option `gateway_proxies`) -------------------------------------------------------

    /// The fault proxy carrying the gateway connection node `from.1` of cluster `from.0` dials to node `to.1` of
    /// cluster `to.0` (all 0-based; the clusters must differ). A node keeps one outbound gateway per other
    /// cluster, to one of its nodes: faults on every proxy towards a cluster act on all of them
    /// ([`Supercluster::gateway_links`]).
    pub fn gateway_link(&self, from: (usize, usize), to: (usize, usize)) -> Result<&Proxy> {
        let links = self.gateway_proxies()?;
        for (c, i) in [from, to] {
            self.node(c, i)?;
        }
        if from.0 == to.0 {
            return Err(Error::new(
                ErrorKind::InvalidOptions,
                format!(
                    "nodes {} and {} are both in cluster {}: a gateway link joins two clusters",
                    from.1, to.1, from.0
                ),
            ));
        }
        links.link(self.flat(from), self.flat(to))
    }

    /// Every gateway proxy as `((from cluster, from node), (to cluster, to node), proxy)`.
    pub fn gateway_links(&self) -> Result<Vec<GatewayLink<'_>>> {
        let n = self.nodes;
        Ok(self
            .gateway_proxies()?
            .all()
            .map(|(a, b, p)| ((a / n, a % n), (b / n, b % n), p))
            .collect())
    }

    /// Cuts every gateway link between clusters of different groups (0-based cluster indexes), e.g.
    /// `partition(&[&[0], &[1]])`. Clusters not named form one more group together. Gateway links inside a group
    /// are brought up. Open gateway connections across the cut are closed and new ones refused until
    /// [`Supercluster::heal`]. Routes inside each cluster are untouched.
    pub fn partition(&self, groups: &[&[usize]]) -> Result<()> {
        let links = self.gateway_proxies()?;
        let count = self.clusters.len();
        let mut seen = HashSet::new();
        for &c in groups.iter().copied().flatten() {
            if c >= count {
                return Err(Error::new(
                    ErrorKind::InvalidOptions,
                    format!("partition names cluster {c}, but the supercluster has {count} clusters (0-based indexes 0..{})", count - 1),
                ));
            }
            if !seen.insert(c) {
                return Err(Error::new(
                    ErrorKind::InvalidOptions,
                    format!("partition names cluster {c} more than once; each cluster belongs to one side"),
                ));
            }
        }
        let n = self.nodes;
        let node_groups: Vec<Vec<usize>> = groups
            .iter()
            .map(|g| g.iter().flat_map(|&c| c * n..(c + 1) * n).collect())
            .collect();
        links.partition(&node_groups)
    }

    /// Brings every gateway link up again; the gateways reconnect on their own.
    pub fn heal(&self) -> Result<()> {
        self.gateway_proxies()?.heal()
    }

    fn gateway_proxies(&self) -> Result<&RouteLinks> {
        self.gateway_links.as_deref().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOptions,
                "the supercluster's gateways are not proxied; start it with `gateway_proxies` (and at least 2 \
                 clusters) to partition it or fault its gateway links",
            )
        })
    }

    fn flat(&self, (c, i): (usize, usize)) -> usize {
        c * self.nodes + i
    }

    // ----- node faults ---------------------------------------------------------------------------------------

    pub(crate) fn node_mut(&mut self, c: usize, i: usize) -> Result<&mut Server> {
        self.cluster(c)?;
        self.clusters[c].node_mut(i)
    }

    /// Kills node `i` of cluster `c` (SIGKILL, like a crash).
    pub fn kill(&mut self, c: usize, i: usize) -> Result<()> {
        self.node_mut(c, i)?.kill()
    }

    /// Stops node `i` of cluster `c` gracefully.
    pub fn stop(&mut self, c: usize, i: usize) -> Result<()> {
        self.node_mut(c, i)?.stop()
    }

    /// Starts node `i` of cluster `c` again (same ports, same store) and waits until it is back in the
    /// supercluster (routes, gateways, JetStream).
    pub fn start(&mut self, c: usize, i: usize) -> Result<()> {
        self.node_mut(c, i)?.start()?;
        self.wait_ready(self.ready_timeout)
    }

    /// Restarts node `i` of cluster `c` (same ports, same store) and waits until it is back in the supercluster.
    pub fn restart(&mut self, c: usize, i: usize) -> Result<()> {
        self.node_mut(c, i)?.try_restart()?;
        self.wait_ready(self.ready_timeout)
    }

    /// Freezes node `i` of cluster `c` (SIGSTOP). Readiness checks leave paused nodes out.
    pub fn pause(&mut self, c: usize, i: usize) -> Result<()> {
        self.node_mut(c, i)?.pause()
    }

    /// Lets node `i` of cluster `c` run again (SIGCONT).
    pub fn resume(&mut self, c: usize, i: usize) -> Result<()> {
        self.node_mut(c, i)?.resume()
    }

    /// Puts node `i` of cluster `c` into lame duck mode.
    pub fn lame_duck(&mut self, c: usize, i: usize) -> Result<()> {
        self.node_mut(c, i)?.lame_duck()
    }

    /// Records that the test using this supercluster failed (see [`Server::mark_failed`]), for every node.
    pub fn mark_failed(&mut self) {
        for cluster in &mut self.clusters {
            cluster.mark_failed();
        }
    }

    // ----- readiness -----------------------------------------------------------------------------------------

    /// Whether any node runs JetStream.
    pub fn jetstream(&self) -> bool {
        self.clusters.iter().any(Cluster::jetstream)
    }

    /// Waits until every cluster is meshed, every gateway link is up, and (with JetStream) one meta leader is
    /// known everywhere and every node is healthy. Stopped and paused nodes are left out.
    pub fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        for cluster in &self.clusters {
            cluster.wait_mesh(deadline)?;
        }
        poll_until(
            "supercluster",
            deadline,
            "the gateways did not connect",
            || {
                let gaps = self.gateway_gaps()?;
                if gaps.is_empty() {
                    Ok(())
                } else {
                    Err(gaps.join("; "))
                }
            },
        )?;
        if self.jetstream() {
            let nodes = self.labelled();
            wait_meta_leader("supercluster", &nodes, deadline)?;
            wait_all_healthy("supercluster", &nodes, deadline)?;
        }
        Ok(())
    }

    /// Waits until every running node names the same JetStream meta leader; returns its (cluster, node) index.
    pub fn wait_for_leader(&self, timeout: Duration) -> Result<(usize, usize)> {
        let nodes = self.labelled();
        let pos = wait_meta_leader("supercluster", &nodes, Instant::now() + timeout)?;
        Ok(self.position(&nodes, pos))
    }

    /// Waits until the queue group `queue` on `subject` is known across the gateways: for every cluster where a
    /// running node lists a member in `/subsz` (the cluster's own clients, also through routes), every running
    /// node of every other cluster lists the group in its outbound gateway to that cluster (`/gatewayz`). Call it
    /// after the members subscribed (and flushed) and before publishing to the group. A cluster without members
    /// is not waited for; if no cluster has one, this times out naming the group.
    ///
    /// Why: nats-server 2.15 collects the names of the queue groups a message was delivered to in its own cluster
    /// only once it knows a queue subscription of another cluster (`gateway.totalQSubs > 0`, read before local
    /// delivery), and picks the remote groups to send it to after local delivery. A message published while the
    /// first remote queue interest arrives is delivered by both clusters' members of the group (measured: 1 run in
    /// 40 of a 2 x 2 test publishing 200 messages at once). Once every publishing node knows the remote groups,
    /// each message goes to one member.
    pub fn wait_for_queue_interest(
        &self,
        subject: &str,
        queue: &str,
        timeout: Duration,
    ) -> Result<()> {
        let names = self.names();
        poll_until(
            "supercluster",
            Instant::now() + timeout,
            &format!("queue group {queue:?} on {subject:?} did not cross the gateways"),
            || {
                let mut with_members = Vec::new();
                for (c, cluster) in self.clusters.iter().enumerate() {
                    for server in &cluster.servers {
                        if !server.is_running() || server.is_paused() {
                            continue;
                        }
                        let subsz = server
                            .monitor("subsz?subs=1&limit=1048576")
                            .map_err(|e| e.to_string())?;
                        if lists_queue_sub(&subsz["subscriptions_list"], subject, queue) {
                            with_members.push(c);
                            break;
                        }
                    }
                }
                if with_members.is_empty() {
                    return Err(format!(
                        "no running node lists a member of {queue:?} on {subject:?}"
                    ));
                }
                let mut gaps = Vec::new();
                for (c, cluster) in self.clusters.iter().enumerate() {
                    for (i, server) in cluster.servers.iter().enumerate() {
                        if !server.is_running() || server.is_paused() {
                            continue;
                        }
                        for &m in with_members.iter().filter(|&&m| m != c) {
                            let gatewayz = server
                                .monitor("gatewayz?accs=1&subs=detail")
                                .map_err(|e| e.to_string())?;
                            let accounts =
                                &gatewayz["outbound_gateways"][names[m].as_str()]["accounts"];
                            let known = accounts.as_array().is_some_and(|accounts| {
                                accounts.iter().any(|account| {
                                    lists_queue_sub(
                                        &account["subscriptions_list_detail"],
                                        subject,
                                        queue,
                                    )
                                })
                            });
                            if !known {
                                gaps.push(format!(
                                    "cluster {} node {} does not yet know the members in cluster {}",
                                    names[c],
                                    i + 1,
                                    names[m]
                                ));
                            }
                        }
                    }
                }
                if gaps.is_empty() {
                    Ok(())
                } else {
                    Err(gaps.join("; "))
                }
            },
        )
    }

    /// The (cluster, node) index of the JetStream meta leader, as the running nodes agree on it now.
    pub fn meta_leader(&self) -> Option<(usize, usize)> {
        let nodes = self.labelled();
        agreed_meta_leader(&nodes)
            .ok()
            .map(|pos| self.position(&nodes, pos))
    }

    fn position(&self, nodes: &[Labelled], pos: usize) -> (usize, usize) {
        let flat = nodes[pos].0;
        let mut before = 0;
        for (c, cluster) in self.clusters.iter().enumerate() {
            if flat < before + cluster.len() {
                return (c, flat - before);
            }
            before += cluster.len();
        }
        unreachable!("a labelled node belongs to a cluster")
    }

    /// The running, unpaused nodes, labelled "cluster NAME node I"; the index is the position among all nodes.
    fn labelled(&self) -> Vec<Labelled<'_>> {
        let mut flat = 0;
        let mut nodes = Vec::new();
        for cluster in &self.clusters {
            for (i, server) in cluster.servers.iter().enumerate() {
                if server.is_running() && !server.is_paused() {
                    nodes.push((
                        flat,
                        format!("cluster {} node {}", cluster.name(), i + 1),
                        server,
                    ));
                }
                flat += 1;
            }
        }
        nodes
    }

    /// What is missing among the gateway links: outbound from every running node to every other cluster, and
    /// inbound into every cluster from every running node of every other cluster.
    fn gateway_gaps(&self) -> Result<Vec<String>, String> {
        let names = self.names();
        let mut gaps = Vec::new();
        // inbound[(into, from)] = inbound connections the nodes of `into` have from cluster `from`.
        let mut inbound: HashMap<(usize, usize), usize> = HashMap::new();
        let mut active = vec![0usize; names.len()];
        for (c, cluster) in self.clusters.iter().enumerate() {
            for (i, server) in cluster.servers.iter().enumerate() {
                if !server.is_running() || server.is_paused() {
                    continue;
                }
                active[c] += 1;
                let gatewayz = server.monitor("gatewayz").map_err(|e| e.to_string())?;
                let missing: Vec<&str> = names
                    .iter()
                    .enumerate()
                    .filter(|(o, name)| {
                        *o != c && gatewayz["outbound_gateways"].get(name.as_str()).is_none()
                    })
                    .map(|(_, name)| name.as_str())
                    .collect();
                if !missing.is_empty() {
                    gaps.push(format!(
                        "cluster {} node {} has no outbound gateway to {}",
                        names[c],
                        i + 1,
                        missing.join(", ")
                    ));
                }
                for (o, name) in names.iter().enumerate().filter(|(o, _)| *o != c) {
                    let count = gatewayz["inbound_gateways"][name.as_str()]
                        .as_array()
                        .map_or(0, Vec::len);
                    *inbound.entry((c, o)).or_default() += count;
                }
            }
        }
        for (c, name) in names.iter().enumerate() {
            for (o, other) in names.iter().enumerate().filter(|(o, _)| *o != c) {
                let have = inbound.get(&(c, o)).copied().unwrap_or(0);
                // Exactly one per running node: more is a connection still being replaced (a duplicate
                // outbound during formation delivers messages twice until it is closed).
                if have != active[o] {
                    gaps.push(format!(
                        "cluster {name} has {have} inbound gateway(s) from cluster {other}, which has {} running node(s)",
                        active[o]
                    ));
                }
            }
        }
        Ok(gaps)
    }

    /// After formation: every node's gateways name every node of every other cluster, and its routes every node of
    /// its own, so a restarted node rejoins by itself.
    fn link_every_node_to_all_others(&mut self) {
        if self.gateway_links.is_some() {
            // Every node's gateways already name its proxies to every node of every other cluster.
            for cluster in &mut self.clusters {
                cluster.route_every_node_to_all_others();
            }
            return;
        }
        let all: Vec<RemoteGateway> = self
            .clusters
            .iter()
            .map(|c| RemoteGateway {
                name: c.name().to_string(),
                urls: c.servers.iter().filter_map(Server::gateway_url).collect(),
            })
            .collect();
        for cluster in &mut self.clusters {
            cluster.route_every_node_to_all_others();
            let others: Vec<RemoteGateway> = all
                .iter()
                .filter(|g| g.name != cluster.name())
                .cloned()
                .collect();
            for server in &mut cluster.servers {
                server.set_gateways(others.clone());
            }
        }
    }
}

/// A start to run on its own thread.
type Job<T> = Box<dyn FnOnce() -> Result<T> + Send>;

fn job<T>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Job<T> {
    Box::new(f)
}

/// Runs every job on its own thread; results in order. Plain threads that own their data, not `thread::scope`:
/// a scope creates a `std::thread::current()` handle on the calling thread, which a C caller's valgrind reports
/// as "possibly lost".
fn in_parallel<T: Send + 'static>(jobs: Vec<Job<T>>) -> Vec<Result<T>> {
    let threads: Vec<_> = jobs
        .into_iter()
        .map(|job| {
            std::thread::Builder::new()
                .name("start a cluster".into())
                .spawn(job)
                .map_err(|e| Error::io("starting a thread to start a cluster", e))
        })
        .collect();
    threads
        .into_iter()
        .map(|thread| {
            thread?
                .join()
                .unwrap_or_else(|_| Err(Error::new(ErrorKind::Internal, "a start panicked")))
        })
        .collect()
}

/// Whether a monitoring list of subscriptions (`/subsz`'s `subscriptions_list`, `/gatewayz`'s
/// `subscriptions_list_detail`) has one on exactly `subject` in queue group `queue`.
fn lists_queue_sub(subs: &serde_json::Value, subject: &str, queue: &str) -> bool {
    subs.as_array().is_some_and(|subs| {
        subs.iter()
            .any(|sub| sub["subject"] == subject && sub["qgroup"] == queue)
    })
}
