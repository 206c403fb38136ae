//! `nats_supercluster_t`: clusters joined by gateways, and the node handles it lends.

use std::ffi::c_char;
use std::sync::{Arc, Mutex};

use super::boundary::{
    bad_handle, guard, lock, millis, opt_out_arg, opt_str_arg, out_arg, str_arg, to_c_string,
};
use super::server::{keep_from_int, nats_server_t};
use super::status::{nats_server_status, FfiError, FfiResult};
use crate::error::Result;
use crate::options::SuperclusterOptions;
use crate::supercluster::Supercluster;

const SUPERCLUSTER_MAGIC: u64 = 0x6e61_7473_5f73_7570; // "nats_sup"
const DEAD_MAGIC: u64 = 0xdead_dead_dead_dead;

/// A supercluster (opaque): clusters of `nats-server` processes joined by gateways, made by
/// `nats_supercluster_run` and freed by `nats_supercluster_free`.
///
/// The supercluster owns its nodes. `nats_supercluster_node` lends a node's `nats_server_t` handle, valid until
/// the supercluster is freed; `nats_server_free` on it is detected and does nothing.
///
/// Thread safety: one mutex is shared with the node handles, so the supercluster and its nodes may be used from
/// several threads at once; calls are serialized. Freeing must not race with any other call on it or its nodes.
pub struct nats_supercluster_t {
    magic: u64,
    supercluster: Arc<Mutex<Supercluster>>,
    /// One borrowed handle per node, cluster by cluster. Boxed slices never reallocate: the addresses lent stay put.
    nodes: Box<[Box<[nats_server_t]>]>,
}

impl nats_supercluster_t {
    fn with<T>(&self, f: impl FnOnce(&mut Supercluster) -> Result<T>) -> FfiResult<T> {
        Ok(f(&mut lock(&self.supercluster))?)
    }
}

impl Drop for nats_supercluster_t {
    fn drop(&mut self) {
        self.magic = DEAD_MAGIC;
    }
}

/// Checks a handle argument.
///
/// # Safety
/// `sc` is NULL or a pointer returned by `nats_supercluster_run` and not freed since.
unsafe fn handle<'a>(sc: *const nats_supercluster_t) -> FfiResult<&'a nats_supercluster_t> {
    if sc.is_null() || (*sc).magic != SUPERCLUSTER_MAGIC {
        return Err(bad_handle(
            "supercluster",
            "nats_supercluster_t",
            sc.is_null(),
        ));
    }
    Ok(&*sc)
}

fn bad_index(what: &str, index: usize, len: usize) -> FfiError {
    FfiError::new(
        nats_server_status::NATS_SERVER_INVALID_ARGUMENT,
        format!(
            "nats-server harness: invalid argument: {what} index {index} is out of range: there are {len} (0-based)"
        ),
    )
}

unsafe fn node_fault(
    sc: *mut nats_supercluster_t,
    cluster: usize,
    index: usize,
    error: *mut *mut c_char,
    f: impl FnOnce(&mut Supercluster, usize, usize) -> Result<()>,
) -> nats_server_status {
    guard(error, || {
        let sc = handle(sc)?;
        check_indices(sc, cluster, Some(index))?;
        sc.with(|s| f(s, cluster, index))
    })
}

fn check_indices(sc: &nats_supercluster_t, cluster: usize, index: Option<usize>) -> FfiResult<()> {
    let nodes = sc
        .nodes
        .get(cluster)
        .ok_or_else(|| bad_index("cluster", cluster, sc.nodes.len()))?;
    if let Some(index) = index {
        if index >= nodes.len() {
            return Err(bad_index("node", index, nodes.len()));
        }
    }
    Ok(())
}

/// Starts a supercluster from options given as one JSON document (the schema of the Rust `SuperclusterOptions`;
/// NULL or `{}` means 2 clusters of 3 nodes without JetStream) and returns once it is ready: every cluster fully
/// meshed, every gateway connected and, with JetStream, one meta leader every node agrees on and every node healthy.
///
/// Example options: `{"clusters": 2, "nodes": 3, "names": ["east", "west"], "server": {"jetstream": true}}`.
/// An unknown or ill-typed field, or an impossible shape (`"clusters": 0`), fails with
/// `NATS_SERVER_INVALID_OPTIONS` and a message naming it.
///
/// On success `*out` is a new handle owned by the caller: free it with `nats_supercluster_free`. On failure `*out`
/// is NULL, nothing is left running, and `*error` holds the cause.
#[no_mangle]
pub unsafe extern "C" fn nats_supercluster_run(
    options_json: *const c_char,
    out: *mut *mut nats_supercluster_t,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        let opts = match opt_str_arg(options_json, "options_json")? {
            Some(json) => SuperclusterOptions::from_json(json)?,
            None => SuperclusterOptions::new(),
        };
        let sc = Supercluster::run(&opts)?;
        let shape: Vec<usize> = sc.clusters().iter().map(|c| c.len()).collect();
        let sc = Arc::new(Mutex::new(sc));
        let nodes = shape
            .iter()
            .enumerate()
            .map(|(c, len)| {
                (0..*len)
                    .map(|i| nats_server_t::borrowed_from_supercluster(Arc::clone(&sc), c, i))
                    .collect()
            })
            .collect();
        *out = Box::into_raw(Box::new(nats_supercluster_t {
            magic: SUPERCLUSTER_MAGIC,
            supercluster: sc,
            nodes,
        }));
        Ok(())
    })
}

/// Frees the supercluster: kills and reaps every node and removes their directories (unless kept). Every node
/// handle it lent becomes invalid. NULL is accepted (`NATS_SERVER_OK`); a handle that is not a live supercluster is
/// `NATS_SERVER_INVALID_HANDLE`.
#[no_mangle]
pub unsafe extern "C" fn nats_supercluster_free(
    sc: *mut nats_supercluster_t,
) -> nats_server_status {
    guard(std::ptr::null_mut(), || {
        if !sc.is_null() {
            handle(sc)?;
            drop(Box::from_raw(sc));
        }
        Ok(())
    })
}

/// The number of clusters, in `*out`.
#[no_mangle]
pub unsafe extern "C" fn nats_supercluster_len(
    sc: *const nats_supercluster_t,
    out: *mut usize,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        *out = handle(sc)?.nodes.len();
        Ok(())
    })
}

/// The number of nodes of cluster `cluster` (0-based), in `*out`. A cluster index out of range is
/// `NATS_SERVER_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_supercluster_cluster_len(
    sc: *const nats_supercluster_t,
    cluster: usize,
    out: *mut usize,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        let sc = handle(sc)?;
        check_indices(sc, cluster, None)?;
        *out = sc.nodes[cluster].len();
        Ok(())
    })
}

/// The name of cluster `cluster` (its gateway name, e.g. for JetStream placement). Free `*out` with
/// `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_supercluster_cluster_name(
    sc: *const nats_supercluster_t,
    cluster: usize,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        let sc = handle(sc)?;
        check_indices(sc, cluster, None)?;
        *out = to_c_string(sc.with(|s| Ok(s.names()[cluster].clone()))?);
        Ok(())
    })
}

/// Lends the handle of node `index` of cluster `cluster` (both 0-based) in `*out`. The handle is owned by the
/// supercluster: valid until `nats_supercluster_free`, never freed by the caller. Every `nats_server_*` call works
/// on it. An index out of range is `NATS_SERVER_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_supercluster_node(
    sc: *mut nats_supercluster_t,
    cluster: usize,
    index: usize,
    out: *mut *mut nats_server_t,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        let sc = handle(sc)?;
        check_indices(sc, cluster, Some(index))?;
        *out = (&sc.nodes[cluster][index] as *const nats_server_t).cast_mut();
        Ok(())
    })
}

/// Every node's client URL by cluster, as a JSON array of arrays of strings (`[["nats://localhost:A", ...], ...]`).
/// Free `*out` with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_supercluster_client_urls_json(
    sc: *const nats_supercluster_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        let urls = handle(sc)?.with(|s| Ok(s.client_urls()))?;
        *out = to_c_string(serde_json::Value::from(urls).to_string());
        Ok(())
    })
}

/// Kills node `index` of cluster `cluster` (SIGKILL, like a crash).
#[no_mangle]
pub unsafe extern "C" fn nats_supercluster_kill_node(
    sc: *mut nats_supercluster_t,
    cluster: usize,
    index: usize,
    error: *mut *mut c_char,
) -> nats_server_status {
    node_fault(sc, cluster, index, error, Supercluster::kill)
}

/// Stops node `index` of cluster `cluster` gracefully.
#[no_mangle]
pub unsafe extern "C" fn nats_supercluster_stop_node(
    sc: *mut nats_supercluster_t,
    cluster: usize,
    index: usize,
    error: *mut *mut c_char,
) -> nats_server_status {
    node_fault(sc, cluster, index, error, Supercluster::stop)
}

/// Starts node `index` of cluster `cluster` again (same ports, same store) and waits until it is back in the
/// supercluster (routes, gateways, JetStream).
#[no_mangle]
pub unsafe extern "C" fn nats_supercluster_start_node(
    sc: *mut nats_supercluster_t,
    cluster: usize,
    index: usize,
    error: *mut *mut c_char,
) -> nats_server_status {
    node_fault(sc, cluster, index, error, Supercluster::start)
}

/// Restarts node `index` of cluster `cluster` (same ports, same store) and waits until it is back in the
/// supercluster.
#[no_mangle]
pub unsafe extern "C" fn nats_supercluster_restart_node(
    sc: *mut nats_supercluster_t,
    cluster: usize,
    index: usize,
    error: *mut *mut c_char,
) -> nats_server_status {
    node_fault(sc, cluster, index, error, Supercluster::restart)
}

/// Freezes node `index` of cluster `cluster` (SIGSTOP). Readiness waits leave paused nodes out.
#[no_mangle]
pub unsafe extern "C" fn nats_supercluster_pause_node(
    sc: *mut nats_supercluster_t,
    cluster: usize,
    index: usize,
    error: *mut *mut c_char,
) -> nats_server_status {
    node_fault(sc, cluster, index, error, Supercluster::pause)
}

/// Lets node `index` of cluster `cluster` run again (SIGCONT).
#[no_mangle]
pub unsafe extern "C" fn nats_supercluster_resume_node(
    sc: *mut nats_supercluster_t,
    cluster: usize,
    index: usize,
    error: *mut *mut c_char,
) -> nats_server_status {
    node_fault(sc, cluster, index, error, Supercluster::resume)
}

/// Puts node `index` of cluster `cluster` into lame duck mode.
#[no_mangle]
pub unsafe extern "C" fn nats_supercluster_lame_duck_node(
    sc: *mut nats_supercluster_t,
    cluster: usize,
    index: usize,
    error: *mut *mut c_char,
) -> nats_server_status {
    node_fault(sc, cluster, index, error, Supercluster::lame_duck)
}

/// Sets the keep policy (a `nats_server_keep` value) of every node.
#[no_mangle]
pub unsafe extern "C" fn nats_supercluster_set_keep(
    sc: *mut nats_supercluster_t,
    keep: i32,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let sc = handle(sc)?;
        let keep = keep_from_int(keep)?;
        let shape: Vec<usize> = sc.nodes.iter().map(|c| c.len()).collect();
        sc.with(|s| {
            for (c, len) in shape.iter().enumerate() {
                for i in 0..*len {
                    s.node_mut(c, i)?.set_keep(keep);
                }
            }
            Ok(())
        })
    })
}

/// Records that the test using this supercluster failed, for every node (see `nats_server_mark_failed`).
#[no_mangle]
pub unsafe extern "C" fn nats_supercluster_mark_failed(
    sc: *mut nats_supercluster_t,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        handle(sc)?.with(|s| {
            s.mark_failed();
            Ok(())
        })
    })
}

/// Waits up to `timeout_ms` until the supercluster is ready again (meshes, gateways, JetStream leader and health;
/// stopped and paused nodes left out). `NATS_SERVER_TIMEOUT` otherwise.
#[no_mangle]
pub unsafe extern "C" fn nats_supercluster_wait_ready(
    sc: *const nats_supercluster_t,
    timeout_ms: u64,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        handle(sc)?.with(|s| s.wait_ready(millis(timeout_ms)))
    })
}

/// Waits up to `timeout_ms` until the queue group `queue` on `subject` is known across the gateways: every running
/// node of every other cluster lists it in its outbound gateway to each cluster with a member. Call it after the
/// members subscribed and before publishing: a message published while a cluster learns of another's members may
/// be delivered in both. `NATS_SERVER_TIMEOUT` otherwise (also when no cluster has a member).
#[no_mangle]
pub unsafe extern "C" fn nats_supercluster_wait_for_queue_interest(
    sc: *const nats_supercluster_t,
    subject: *const c_char,
    queue: *const c_char,
    timeout_ms: u64,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let subject = str_arg(subject, "subject")?;
        let queue = str_arg(queue, "queue")?;
        handle(sc)?.with(|s| s.wait_for_queue_interest(subject, queue, millis(timeout_ms)))
    })
}

/// Waits up to `timeout_ms` until the running nodes agree on a JetStream meta leader; its cluster and node indices
/// go to `*cluster` and `*index` (each may be NULL). `NATS_SERVER_TIMEOUT` otherwise.
#[no_mangle]
pub unsafe extern "C" fn nats_supercluster_wait_for_leader(
    sc: *const nats_supercluster_t,
    timeout_ms: u64,
    cluster: *mut usize,
    index: *mut usize,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let cluster = opt_out_arg(cluster);
        let index = opt_out_arg(index);
        let (c, i) = handle(sc)?.with(|s| s.wait_for_leader(millis(timeout_ms)))?;
        if let Some(cluster) = cluster {
            *cluster = c;
        }
        if let Some(index) = index {
            *index = i;
        }
        Ok(())
    })
}

// ----- gateway links (option `gateway_proxies`) -------------------------------------------------------------------

/// Cuts every gateway link between clusters of different groups, given as a JSON array of arrays of 0-based
/// cluster indexes, e.g. `[[0], [1]]`; clusters not named form one more group together. Routes inside each cluster
/// are untouched. A cluster index out of range or named twice is `NATS_SERVER_INVALID_ARGUMENT`; a supercluster
/// started without `"gateway_proxies": true` is `NATS_SERVER_INVALID_OPTIONS`.
#[no_mangle]
pub unsafe extern "C" fn nats_supercluster_partition(
    sc: *mut nats_supercluster_t,
    groups_json: *const c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let sc = handle(sc)?;
        let json = super::boundary::str_arg(groups_json, "groups_json")?;
        let groups: Vec<Vec<usize>> = serde_json::from_str(json).map_err(|e| {
            FfiError::new(
                nats_server_status::NATS_SERVER_INVALID_ARGUMENT,
                format!("`groups_json` must be an array of arrays of cluster indexes, e.g. [[0], [1]]: {e}"),
            )
        })?;
        let mut seen = std::collections::HashSet::new();
        for &c in groups.iter().flatten() {
            check_indices(sc, c, None)?;
            if !seen.insert(c) {
                return Err(FfiError::new(
                    nats_server_status::NATS_SERVER_INVALID_ARGUMENT,
                    format!("partition names cluster {c} more than once; each cluster belongs to one side"),
                ));
            }
        }
        let groups: Vec<&[usize]> = groups.iter().map(Vec::as_slice).collect();
        sc.with(|s| s.partition(&groups))
    })
}

/// Brings every gateway link up again after `nats_supercluster_partition`.
#[no_mangle]
pub unsafe extern "C" fn nats_supercluster_heal(
    sc: *mut nats_supercluster_t,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || handle(sc)?.with(|s| s.heal()))
}

/// Adds a fault (a toxiproxy toxic document, as for `nats_server_fault_add`) to the gateway link node
/// `from_index` of cluster `from_cluster` dials to node `to_index` of cluster `to_cluster` (the clusters differ).
#[no_mangle]
pub unsafe extern "C" fn nats_supercluster_gateway_fault_add(
    sc: *mut nats_supercluster_t,
    from_cluster: usize,
    from_index: usize,
    to_cluster: usize,
    to_index: usize,
    fault_json: *const c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let sc = handle(sc)?;
        check_indices(sc, from_cluster, Some(from_index))?;
        check_indices(sc, to_cluster, Some(to_index))?;
        check_two_clusters(from_cluster, to_cluster)?;
        let fault = crate::Fault::from_json(super::boundary::str_arg(fault_json, "fault_json")?)?;
        sc.with(|s| {
            s.gateway_link((from_cluster, from_index), (to_cluster, to_index))?
                .add(fault)
        })
    })
}

/// Removes the fault named `name` (every fault when NULL) from a gateway link (as for
/// `nats_supercluster_gateway_fault_add`).
#[no_mangle]
pub unsafe extern "C" fn nats_supercluster_gateway_fault_remove(
    sc: *mut nats_supercluster_t,
    from_cluster: usize,
    from_index: usize,
    to_cluster: usize,
    to_index: usize,
    name: *const c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let sc = handle(sc)?;
        check_indices(sc, from_cluster, Some(from_index))?;
        check_indices(sc, to_cluster, Some(to_index))?;
        check_two_clusters(from_cluster, to_cluster)?;
        let name = opt_str_arg(name, "name")?;
        sc.with(|s| {
            let link = s.gateway_link((from_cluster, from_index), (to_cluster, to_index))?;
            match name {
                Some(name) => link.remove(name),
                None => link.remove_all(),
            }
        })
    })
}

fn check_two_clusters(from: usize, to: usize) -> FfiResult<()> {
    if from == to {
        return Err(FfiError::new(
            nats_server_status::NATS_SERVER_INVALID_ARGUMENT,
            format!(
                "both nodes are in cluster {from}: a gateway link joins two different clusters"
            ),
        ));
    }
    Ok(())
}
