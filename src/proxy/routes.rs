//! Route links of a cluster: one fault proxy per ordered pair of nodes, so a partition can cut exactly the links
//! between its sides.
//!
//! Node `i` is given routes only to the proxies `i -> j`, each forwarding to node `j`'s cluster port. Route URLs
//! are gossiped: every node advertises a closed placeholder address (`--cluster_advertise`), so a node that learns
//! of a peer through gossip cannot reach it directly and keeps its configured, proxied route. Owned by the
//! [`crate::Cluster`]: the proxies close with it.

use std::collections::HashSet;
use std::net::SocketAddr;

use super::Proxy;
use crate::error::{Error, ErrorKind, Result};

/// `links[i][j]`: the proxy node `i` dials to reach node `j` (`None` on the diagonal).
#[derive(Debug)]
pub(crate) struct RouteLinks {
    links: Vec<Vec<Option<Proxy>>>,
    /// The closed `host:port` every node advertises for routes.
    advertise: String,
}

impl RouteLinks {
    /// Proxies for every ordered pair of `nodes`, listening on `host`, their targets still unknown; every node
    /// will advertise `advertise` (a reserved closed `host:port`) for routes.
    pub(crate) fn new(nodes: usize, host: &str, advertise: String) -> Result<RouteLinks> {
        RouteLinks::for_pairs(nodes, host, advertise, |_, _| true)
    }

    /// Proxies for the ordered pairs `(i, j)`, `i != j`, of `nodes` for which `linked(i, j)` holds (a
    /// supercluster's gateway links: pairs of nodes in different clusters, by their index among all nodes).
    pub(crate) fn for_pairs(
        nodes: usize,
        host: &str,
        advertise: String,
        linked: impl Fn(usize, usize) -> bool,
    ) -> Result<RouteLinks> {
        let mut links = Vec::with_capacity(nodes);
        for i in 0..nodes {
            let mut row = Vec::with_capacity(nodes);
            for j in 0..nodes {
                row.push(if i != j && linked(i, j) {
                    Some(Proxy::start(host, None)?)
                } else {
                    None
                });
            }
            links.push(row);
        }
        Ok(RouteLinks { links, advertise })
    }

    /// The closed address every node advertises for routes (`--cluster_advertise`).
    pub(crate) fn advertise(&self) -> &str {
        &self.advertise
    }

    /// The route URLs node `i` is configured with: its proxies to every other node.
    pub(crate) fn routes_from(&self, i: usize) -> Vec<String> {
        self.links[i]
            .iter()
            .flatten()
            .map(|p| format!("nats://{}", p.listen_addr()))
            .collect()
    }

    /// The URLs of the proxies node `i` dials to reach each of `targets` (those that exist).
    pub(crate) fn urls_to(&self, i: usize, targets: std::ops::Range<usize>) -> Vec<String> {
        targets
            .filter_map(|j| self.links[i][j].as_ref())
            .map(|p| format!("nats://{}", p.listen_addr()))
            .collect()
    }

    /// Node `j`'s cluster listener is at `addr`: every proxy towards it forwards there.
    pub(crate) fn set_target(&self, j: usize, addr: SocketAddr) {
        for row in &self.links {
            if let Some(proxy) = &row[j] {
                proxy.set_target(addr);
            }
        }
    }

    /// The proxy carrying routes from node `from` to node `to`.
    pub(crate) fn link(&self, from: usize, to: usize) -> Result<&Proxy> {
        let n = self.links.len();
        for i in [from, to] {
            if i >= n {
                return Err(Error::new(
                    ErrorKind::InvalidOptions,
                    format!("node index {i} is out of range: the cluster has {n} nodes (0-based)"),
                ));
            }
        }
        self.links[from][to].as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOptions,
                format!("there is no route link from node {from} to itself"),
            )
        })
    }

    /// Every proxy, with its (from, to) pair.
    pub(crate) fn all(&self) -> impl Iterator<Item = (usize, usize, &Proxy)> {
        self.links.iter().enumerate().flat_map(|(i, row)| {
            row.iter()
                .enumerate()
                .filter_map(move |(j, p)| p.as_ref().map(|p| (i, j, p)))
        })
    }

    /// Cuts every link between nodes of different groups (both ways) and brings every other link up. Nodes not
    /// named form one more group together. A node named twice or out of range is an error, and nothing changes.
    pub(crate) fn partition(&self, groups: &[Vec<usize>]) -> Result<()> {
        let n = self.links.len();
        let mut side = vec![usize::MAX; n];
        let mut seen = HashSet::new();
        for (g, group) in groups.iter().enumerate() {
            for &i in group {
                if i >= n {
                    return Err(Error::new(
                        ErrorKind::InvalidOptions,
                        format!(
                            "partition names node {i}, but the cluster has {n} nodes (0-based indexes 0..{})",
                            n - 1
                        ),
                    ));
                }
                if !seen.insert(i) {
                    return Err(Error::new(
                        ErrorKind::InvalidOptions,
                        format!("partition names node {i} more than once; each node belongs to one side"),
                    ));
                }
                side[i] = g;
            }
        }
        for (i, j, proxy) in self.all() {
            if side[i] == side[j] {
                proxy.enable()?;
            } else {
                proxy.disable()?;
            }
        }
        Ok(())
    }

    /// Brings every link up (faults added to single links stay).
    pub(crate) fn heal(&self) -> Result<()> {
        for (_, _, proxy) in self.all() {
            proxy.enable()?;
        }
        Ok(())
    }
}
