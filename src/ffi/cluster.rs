//! `nats_cluster_t`: a cluster of servers and the node handles it lends.

use std::ffi::c_char;
use std::sync::{Arc, Mutex};

use super::boundary::{
    bad_handle, guard, lock, millis, opt_str_arg, out_arg, str_arg, to_c_string,
};
use super::server::{keep_from_int, nats_server_t};
use super::status::{nats_server_status, FfiError, FfiResult};
use crate::cluster::Cluster;
use crate::error::Result;
use crate::options::ClusterOptions;

const CLUSTER_MAGIC: u64 = 0x6e61_7473_5f63_6c75; // "nats_clu"
const DEAD_MAGIC: u64 = 0xdead_dead_dead_dead;

/// A cluster of `nats-server` processes (opaque), made by `nats_cluster_run` and freed by `nats_cluster_free`.
///
/// The cluster owns its nodes. `nats_cluster_node` lends a node's `nats_server_t` handle, valid until the cluster
/// is freed; `nats_server_free` on it is detected and does nothing.
///
/// Thread safety: the cluster holds one mutex shared with its node handles, so the cluster and its nodes may be
/// used from several threads at once; calls are serialized (node faults by index wait for the cluster to be ready
/// again while holding it), except the wait for a stopped node's exit, which runs unlocked. Freeing must not race with any other call on the cluster or its nodes.
pub struct nats_cluster_t {
    magic: u64,
    cluster: Arc<Mutex<Cluster>>,
    /// One borrowed handle per node. A boxed slice never reallocates, so the addresses lent stay put.
    nodes: Box<[nats_server_t]>,
}

impl nats_cluster_t {
    fn with<T>(&self, f: impl FnOnce(&mut Cluster) -> Result<T>) -> FfiResult<T> {
        Ok(f(&mut lock(&self.cluster))?)
    }
}

impl Drop for nats_cluster_t {
    fn drop(&mut self) {
        self.magic = DEAD_MAGIC;
    }
}

/// Checks a handle argument.
///
/// # Safety
/// `cluster` is NULL or a pointer returned by `nats_cluster_run` and not freed since.
unsafe fn handle<'a>(cluster: *const nats_cluster_t) -> FfiResult<&'a nats_cluster_t> {
    if cluster.is_null() || (*cluster).magic != CLUSTER_MAGIC {
        return Err(bad_handle("cluster", "nats_cluster_t", cluster.is_null()));
    }
    Ok(&*cluster)
}

/// Checks a node index: out of range is `NATS_SERVER_INVALID_ARGUMENT` (a bad argument, not bad options).
fn check_index(cluster: &nats_cluster_t, index: usize) -> FfiResult<()> {
    let len = cluster.nodes.len();
    if index < len {
        return Ok(());
    }
    Err(FfiError::new(
        nats_server_status::NATS_SERVER_INVALID_ARGUMENT,
        format!("node index {index} is out of range: the cluster has {len} nodes (0-based)"),
    ))
}

unsafe fn cluster_call(
    cluster: *mut nats_cluster_t,
    error: *mut *mut c_char,
    f: impl FnOnce(&mut Cluster) -> Result<()>,
) -> nats_server_status {
    guard(error, || handle(cluster)?.with(f))
}

/// A fault on node `index`: the index is checked first (`NATS_SERVER_INVALID_ARGUMENT`).
unsafe fn node_fault(
    cluster: *mut nats_cluster_t,
    index: usize,
    error: *mut *mut c_char,
    f: impl FnOnce(&mut Cluster) -> Result<()>,
) -> nats_server_status {
    guard(error, || {
        let cluster = handle(cluster)?;
        check_index(cluster, index)?;
        cluster.with(f)
    })
}

/// Starts a cluster from options given as one JSON document (the schema of the Rust `ClusterOptions`; NULL or
/// `{}` means three nodes without JetStream) and returns once it is ready: full mesh and, with JetStream, a meta
/// leader every node agrees on and every node healthy.
///
/// Example options: `{"nodes": 3, "server": {"jetstream": true}}`. An unknown or ill-typed field fails with
/// `NATS_SERVER_INVALID_OPTIONS` and a message naming the field.
///
/// On success `*out` is a new handle owned by the caller: free it with `nats_cluster_free`. On failure `*out` is
/// NULL, nothing is left running, and `*error` holds the cause.
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_run(
    options_json: *const c_char,
    out: *mut *mut nats_cluster_t,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        let opts = match opt_str_arg(options_json, "options_json")? {
            Some(json) => ClusterOptions::from_json(json)?,
            None => ClusterOptions::new(),
        };
        let cluster = Cluster::run(&opts)?;
        let len = cluster.len();
        let cluster = Arc::new(Mutex::new(cluster));
        let nodes = (0..len)
            .map(|i| nats_server_t::borrowed(Arc::clone(&cluster), i))
            .collect();
        *out = Box::into_raw(Box::new(nats_cluster_t {
            magic: CLUSTER_MAGIC,
            cluster,
            nodes,
        }));
        Ok(())
    })
}

/// Frees the cluster: kills and reaps every node and removes their directories (unless kept). Every node handle
/// it lent becomes invalid. NULL is accepted (`NATS_SERVER_OK`); a handle that is not a live cluster is
/// `NATS_SERVER_INVALID_HANDLE` and nothing happens. No other thread may be using the cluster or its nodes
/// meanwhile.
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_free(cluster: *mut nats_cluster_t) -> nats_server_status {
    guard(std::ptr::null_mut(), || {
        if !cluster.is_null() {
            handle(cluster)?;
            drop(Box::from_raw(cluster));
        }
        Ok(())
    })
}

/// The number of nodes (running or not).
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_len(
    cluster: *const nats_cluster_t,
    out: *mut usize,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        *out = handle(cluster)?.nodes.len();
        Ok(())
    })
}

/// Lends node `index`'s handle (0-based) in `*out`. The handle is owned by the cluster: it stays valid until
/// `nats_cluster_free` and must not be freed (`nats_server_free` on it does nothing and answers
/// `NATS_SERVER_BORROWED_HANDLE`). Every `nats_server_*` call works on it. An index out of range is
/// `NATS_SERVER_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_node(
    cluster: *mut nats_cluster_t,
    index: usize,
    out: *mut *mut nats_server_t,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        let cluster = handle(cluster)?;
        check_index(cluster, index)?;
        *out = (&cluster.nodes[index] as *const nats_server_t).cast_mut();
        Ok(())
    })
}

/// The cluster's name. Free `*out` with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_name(
    cluster: *const nats_cluster_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        *out = to_c_string(handle(cluster)?.with(|c| Ok(c.name().to_string()))?);
        Ok(())
    })
}

/// Every node's client URL in node order, comma-separated (`nats://localhost:A,nats://localhost:B,...`): the form
/// `natsConnection_ConnectTo` accepts. Free `*out` with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_client_urls(
    cluster: *const nats_cluster_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        *out = to_c_string(handle(cluster)?.with(|c| Ok(c.client_urls().join(",")))?);
        Ok(())
    })
}

/// Every node's client URL in node order, as a JSON array of strings. Free `*out` with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_client_urls_json(
    cluster: *const nats_cluster_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        let urls = handle(cluster)?.with(|c| Ok(c.client_urls()))?;
        *out = to_c_string(serde_json::Value::from(urls).to_string());
        Ok(())
    })
}

/// Whether the cluster runs JetStream.
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_jetstream(
    cluster: *const nats_cluster_t,
    out: *mut bool,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        *out = handle(cluster)?.with(|c| Ok(c.jetstream()))?;
        Ok(())
    })
}

/// Kills node `index` (SIGKILL, like a crash).
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_kill_node(
    cluster: *mut nats_cluster_t,
    index: usize,
    error: *mut *mut c_char,
) -> nats_server_status {
    node_fault(cluster, index, error, |c| c.kill(index))
}

/// Stops node `index` gracefully (SIGTERM, SIGKILL after 10 s). Stopping a stopped node is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_stop_node(
    cluster: *mut nats_cluster_t,
    index: usize,
    error: *mut *mut c_char,
) -> nats_server_status {
    nats_cluster_stop_node_timeout(
        cluster,
        index,
        crate::server::STOP_GRACE.as_millis() as u64,
        error,
    )
}

/// Stops node `index` with SIGTERM, and SIGKILL once `timeout_ms` has passed. The cluster's lock is held only to
/// send the signal: stops of different nodes from several threads run in parallel (three take about as long as
/// one). An index out of range is `NATS_SERVER_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_stop_node_timeout(
    cluster: *mut nats_cluster_t,
    index: usize,
    timeout_ms: u64,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let cluster = handle(cluster)?;
        check_index(cluster, index)?;
        let stopping = cluster.with(|c| c.node_mut(index)?.begin_stop())?;
        if let Some(stopping) = stopping {
            stopping.finish(millis(timeout_ms))?;
        }
        Ok(())
    })
}

/// Starts node `index` again (same ports, same store) and waits until the cluster is ready again.
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_start_node(
    cluster: *mut nats_cluster_t,
    index: usize,
    error: *mut *mut c_char,
) -> nats_server_status {
    node_fault(cluster, index, error, |c| c.start(index))
}

/// Restarts node `index` (same ports, same store) and waits until the cluster is ready again.
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_restart_node(
    cluster: *mut nats_cluster_t,
    index: usize,
    error: *mut *mut c_char,
) -> nats_server_status {
    node_fault(cluster, index, error, |c| c.restart(index))
}

/// Freezes node `index` (SIGSTOP). Readiness waits leave paused nodes out.
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_pause_node(
    cluster: *mut nats_cluster_t,
    index: usize,
    error: *mut *mut c_char,
) -> nats_server_status {
    node_fault(cluster, index, error, |c| c.pause(index))
}

/// Lets node `index` run again (SIGCONT).
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_resume_node(
    cluster: *mut nats_cluster_t,
    index: usize,
    error: *mut *mut c_char,
) -> nats_server_status {
    node_fault(cluster, index, error, |c| c.resume(index))
}

/// Puts node `index` into lame duck mode.
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_lame_duck_node(
    cluster: *mut nats_cluster_t,
    index: usize,
    error: *mut *mut c_char,
) -> nats_server_status {
    node_fault(cluster, index, error, |c| c.lame_duck(index))
}

/// Restarts every node in turn, waiting for the cluster to be ready after each.
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_rolling_restart(
    cluster: *mut nats_cluster_t,
    error: *mut *mut c_char,
) -> nats_server_status {
    cluster_call(cluster, error, Cluster::rolling_restart)
}

/// Stops node `index`, starts it again on release `version` (`"2.15"`, `"2.15.1"`, `"latest"`; installed first
/// when missing) with the same ports and store, and waits until the cluster is ready again.
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_upgrade_node(
    cluster: *mut nats_cluster_t,
    index: usize,
    version: *const c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let version = str_arg(version, "version")?;
        let cluster = handle(cluster)?;
        check_index(cluster, index)?;
        cluster.with(|c| c.upgrade_node(index, version))
    })
}

/// Upgrades every node in turn to release `version` (see `nats_cluster_upgrade_node`); the release is installed
/// before any node stops.
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_rolling_upgrade(
    cluster: *mut nats_cluster_t,
    version: *const c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let version = str_arg(version, "version")?;
        handle(cluster)?.with(|c| c.rolling_upgrade(version))
    })
}

/// Sets the keep policy (a `nats_server_keep` value) of every node.
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_set_keep(
    cluster: *mut nats_cluster_t,
    keep: i32,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let cluster = handle(cluster)?;
        let keep = keep_from_int(keep)?;
        cluster.with(|c| {
            for server in &mut c.servers {
                server.set_keep(keep);
            }
            Ok(())
        })
    })
}

/// Records that the test using this cluster failed, for every node (see `nats_server_mark_failed`).
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_mark_failed(
    cluster: *mut nats_cluster_t,
    error: *mut *mut c_char,
) -> nats_server_status {
    cluster_call(cluster, error, |c| {
        c.mark_failed();
        Ok(())
    })
}

/// Waits up to `timeout_ms` until every running, unpaused node routes to every other one and, with JetStream,
/// they agree on a meta leader that sees them all and every one is healthy. `NATS_SERVER_TIMEOUT` otherwise.
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_wait_ready(
    cluster: *const nats_cluster_t,
    timeout_ms: u64,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        handle(cluster)?.with(|c| c.wait_ready(millis(timeout_ms)))
    })
}

/// Waits up to `timeout_ms` until the running nodes agree on a JetStream meta leader; its node index goes to
/// `*leader` (may be NULL). `NATS_SERVER_TIMEOUT` otherwise.
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_wait_for_leader(
    cluster: *const nats_cluster_t,
    timeout_ms: u64,
    leader: *mut usize,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let leader = super::boundary::opt_out_arg(leader);
        let index = handle(cluster)?.with(|c| c.wait_for_leader(millis(timeout_ms)))?;
        if let Some(leader) = leader {
            *leader = index;
        }
        Ok(())
    })
}

/// The node index of the JetStream meta leader the running nodes agree on now, in `*out`.
/// `NATS_SERVER_UNAVAILABLE` when they do not agree or there is none (see `nats_cluster_wait_for_leader`).
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_meta_leader(
    cluster: *const nats_cluster_t,
    out: *mut usize,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        *out = handle(cluster)?
            .with(|c| Ok(c.meta_leader()))?
            .ok_or_else(|| {
                FfiError::new(
                    nats_server_status::NATS_SERVER_UNAVAILABLE,
                    "the running nodes do not agree on a JetStream meta leader now",
                )
            })?;
        Ok(())
    })
}

// ----- route links (option `route_proxies`) ----------------------------------------------------------------------

/// Cuts every route between nodes of different groups, given as a JSON array of arrays of 0-based node indexes,
/// e.g. `[[0], [1, 2]]`; nodes not named form one more group together. An index out of range or named twice is
/// `NATS_SERVER_INVALID_ARGUMENT`; a cluster started without `"route_proxies": true` is
/// `NATS_SERVER_INVALID_OPTIONS`.
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_partition(
    cluster: *mut nats_cluster_t,
    groups_json: *const c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let cluster = handle(cluster)?;
        let json = str_arg(groups_json, "groups_json")?;
        let groups: Vec<Vec<usize>> = serde_json::from_str(json).map_err(|e| {
            FfiError::new(
                nats_server_status::NATS_SERVER_INVALID_ARGUMENT,
                format!("`groups_json` must be an array of arrays of node indexes, e.g. [[0], [1, 2]]: {e}"),
            )
        })?;
        let mut seen = std::collections::HashSet::new();
        for &i in groups.iter().flatten() {
            check_index(cluster, i)?;
            if !seen.insert(i) {
                return Err(FfiError::new(
                    nats_server_status::NATS_SERVER_INVALID_ARGUMENT,
                    format!(
                        "partition names node {i} more than once; each node belongs to one side"
                    ),
                ));
            }
        }
        let groups: Vec<&[usize]> = groups.iter().map(Vec::as_slice).collect();
        cluster.with(|c| c.partition(&groups))
    })
}

/// Brings every route link up again after `nats_cluster_partition`.
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_heal(
    cluster: *mut nats_cluster_t,
    error: *mut *mut c_char,
) -> nats_server_status {
    cluster_call(cluster, error, |c| c.heal())
}

/// Adds a fault (a toxiproxy toxic document, as for `nats_server_fault_add`) to the route link node `from` dials
/// to node `to`.
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_route_fault_add(
    cluster: *mut nats_cluster_t,
    from: usize,
    to: usize,
    fault_json: *const c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let cluster = handle(cluster)?;
        check_index(cluster, from)?;
        check_index(cluster, to)?;
        let fault = crate::Fault::from_json(str_arg(fault_json, "fault_json")?)?;
        cluster.with(|c| c.route_link(from, to)?.add(fault))
    })
}

/// Removes the fault named `name` (every fault when NULL) from the route link node `from` dials to node `to`.
#[no_mangle]
pub unsafe extern "C" fn nats_cluster_route_fault_remove(
    cluster: *mut nats_cluster_t,
    from: usize,
    to: usize,
    name: *const c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let cluster = handle(cluster)?;
        check_index(cluster, from)?;
        check_index(cluster, to)?;
        let name = opt_str_arg(name, "name")?;
        cluster.with(|c| {
            let link = c.route_link(from, to)?;
            match name {
                Some(name) => link.remove(name),
                None => link.remove_all(),
            }
        })
    })
}
