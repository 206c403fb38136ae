//! `nats_server_t`: one server, owned by the caller or borrowed from a cluster.

use std::ffi::c_char;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::boundary::{
    bad_handle, bytes_to_c_string, guard, lock, millis, opt_out_arg, opt_str_arg, out_arg, str_arg,
    to_c_string, OutValue,
};
use super::status::{nats_server_status, FfiError, FfiResult};
use crate::cluster::Cluster;
use crate::error::Result;
use crate::options::{Keep, ServerOptions};
use crate::server::Server;
use crate::supercluster::Supercluster;

const SERVER_MAGIC: u64 = 0x6e61_7473_5f73_7276; // "nats_srv"
const DEAD_MAGIC: u64 = 0xdead_dead_dead_dead;

/// A `nats-server` process and its private directory (opaque).
///
/// Made by `nats_server_run` (owned: the caller frees it with `nats_server_free`) or lent by `nats_cluster_node`
/// (borrowed: valid until the cluster is freed, never freed by the caller).
///
/// Thread safety: every handle holds a mutex, so one handle may be used from several threads at once; calls on it
/// are serialized (a slow call such as a restart or `nats_server_wait_exit` makes the others wait). Calls on a
/// borrowed node handle take the cluster's lock. Freeing must not race with any other call on the same handle.
pub struct nats_server_t {
    magic: u64,
    target: Target,
}

enum Target {
    /// Boxed: a `Server` is large, a node reference small.
    Owned(Box<Mutex<Server>>),
    Node {
        cluster: Arc<Mutex<Cluster>>,
        index: usize,
    },
    SuperNode {
        supercluster: Arc<Mutex<Supercluster>>,
        cluster: usize,
        index: usize,
    },
}

impl nats_server_t {
    pub(crate) fn owned(server: Server) -> Self {
        nats_server_t {
            magic: SERVER_MAGIC,
            target: Target::Owned(Box::new(Mutex::new(server))),
        }
    }

    pub(crate) fn borrowed(cluster: Arc<Mutex<Cluster>>, index: usize) -> Self {
        nats_server_t {
            magic: SERVER_MAGIC,
            target: Target::Node { cluster, index },
        }
    }

    pub(crate) fn borrowed_from_supercluster(
        supercluster: Arc<Mutex<Supercluster>>,
        cluster: usize,
        index: usize,
    ) -> Self {
        nats_server_t {
            magic: SERVER_MAGIC,
            target: Target::SuperNode {
                supercluster,
                cluster,
                index,
            },
        }
    }

    /// Stops the server (SIGTERM, SIGKILL after `timeout`), holding its lock (or its cluster's) only to send the
    /// signal: the wait for the exit runs unlocked, so other nodes of a cluster can be stopped meanwhile.
    pub(crate) fn stop_timeout(&self, timeout: std::time::Duration) -> FfiResult<()> {
        let stopping = self.with(Server::begin_stop)?;
        if let Some(stopping) = stopping {
            stopping.finish(timeout)?;
        }
        Ok(())
    }

    /// Runs `f` on the server with its lock held.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Server) -> Result<T>) -> FfiResult<T> {
        match &self.target {
            Target::Owned(server) => Ok(f(&mut lock(server))?),
            Target::Node { cluster, index } => {
                let mut cluster = lock(cluster);
                Ok(f(cluster.node_mut(*index)?)?)
            }
            Target::SuperNode {
                supercluster,
                cluster,
                index,
            } => {
                let mut supercluster = lock(supercluster);
                Ok(f(supercluster.node_mut(*cluster, *index)?)?)
            }
        }
    }
}

impl Drop for nats_server_t {
    fn drop(&mut self) {
        self.magic = DEAD_MAGIC;
    }
}

/// Checks a handle argument.
///
/// # Safety
/// `server` is NULL or a pointer returned by `nats_server_run` / `nats_cluster_node` that is still live.
pub(crate) unsafe fn handle<'a>(server: *const nats_server_t) -> FfiResult<&'a nats_server_t> {
    if server.is_null() || (*server).magic != SERVER_MAGIC {
        return Err(bad_handle("server", "nats_server_t", server.is_null()));
    }
    Ok(&*server)
}

/// Runs a control on the server.
unsafe fn control(
    server: *mut nats_server_t,
    error: *mut *mut c_char,
    f: impl FnOnce(&mut Server) -> Result<()>,
) -> nats_server_status {
    guard(error, || handle(server)?.with(f))
}

/// Runs a query that answers a string.
unsafe fn string_query(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
    f: impl FnOnce(&mut Server) -> FfiResult<String>,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        let server = handle(server)?;
        let text = server.with(|s| Ok(f(s)))??;
        *out = to_c_string(text);
        Ok(())
    })
}

/// Runs a query that answers a path.
unsafe fn path_query(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
    f: impl FnOnce(&Server) -> std::path::PathBuf,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        let path = handle(server)?.with(|s| Ok(f(s)))?;
        *out = bytes_to_c_string(Path::new(&path).as_os_str().as_bytes().to_vec());
        Ok(())
    })
}

/// Runs a query that answers a port.
unsafe fn port_query(
    server: *const nats_server_t,
    out: *mut u16,
    error: *mut *mut c_char,
    what: &'static str,
    f: impl FnOnce(&Server) -> Option<u16>,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        *out = handle(server)?
            .with(|s| Ok(f(s)))?
            .ok_or_else(|| no_listener(what))?;
        Ok(())
    })
}

/// Runs a query that answers a plain value (a flag, a pid).
unsafe fn value_query<T: OutValue>(
    server: *const nats_server_t,
    out: *mut T,
    error: *mut *mut c_char,
    f: impl FnOnce(&Server) -> T,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        *out = handle(server)?.with(|s| Ok(f(s)))?;
        Ok(())
    })
}

fn no_listener(what: &str) -> FfiError {
    FfiError::new(
        nats_server_status::NATS_SERVER_UNAVAILABLE,
        format!("the server has no {what} listener (it is off in its options)"),
    )
}

// ----- life cycle ----------------------------------------------------------------------------------------------

/// Starts a server from options given as one JSON document (the schema of the Rust `ServerOptions`; NULL or `{}`
/// means the defaults: loopback, dynamic ports, monitoring on, JetStream off) and returns once it accepts clients.
///
/// Example options: `{"jetstream": true, "binary": "/usr/bin/nats-server", "config": "max_payload: 2MB"}`.
/// An unknown or ill-typed field fails with `NATS_SERVER_INVALID_OPTIONS` and a message naming the field.
///
/// On success `*out` is a new handle owned by the caller: free it with `nats_server_free`. On failure `*out` is
/// NULL, nothing is left running, and `*error` (when `error` is not NULL) holds the cause with the server's own
/// words; free it with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_run(
    options_json: *const c_char,
    out: *mut *mut nats_server_t,
    error: *mut *mut c_char,
) -> nats_server_status {
    start_with(options_json, out, error, Server::run)
}

/// The body of `nats_server_run` and `nats_server_spawn`: parse the options, start the server with `start`, and
/// hand the caller a new owned handle in `*out`.
unsafe fn start_with(
    options_json: *const c_char,
    out: *mut *mut nats_server_t,
    error: *mut *mut c_char,
    start: fn(&ServerOptions) -> crate::Result<Server>,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        let opts = match opt_str_arg(options_json, "options_json")? {
            Some(json) => ServerOptions::from_json(json)?,
            None => ServerOptions::new(),
        };
        let server = start(&opts)?;
        *out = Box::into_raw(Box::new(nats_server_t::owned(server)));
        Ok(())
    })
}

/// Starts a server like `nats_server_run` but returns at once, without waiting for it to be ready: start
/// several at once, or one expected to fail, then call `nats_server_wait_ready`. Until then its ports are
/// unknown. Fails at once only for what needs no server (bad options, no binary).
#[no_mangle]
pub unsafe extern "C" fn nats_server_spawn(
    options_json: *const c_char,
    out: *mut *mut nats_server_t,
    error: *mut *mut c_char,
) -> nats_server_status {
    start_with(options_json, out, error, Server::spawn)
}

/// Waits until a server made by `nats_server_spawn` is ready, with the statuses and messages of
/// `nats_server_run` (on failure the process is gone; the handle stays valid and is still freed by the
/// caller). `NATS_SERVER_OK` at once when there is nothing to wait for.
#[no_mangle]
pub unsafe extern "C" fn nats_server_wait_ready(
    server: *mut nats_server_t,
    error: *mut *mut c_char,
) -> nats_server_status {
    control(server, error, Server::wait_ready)
}

/// Frees an owned handle: kills and reaps the server if it runs, and removes its private directory (unless the
/// keep policy says to keep it; see `nats_server_set_keep`). NULL is accepted (`NATS_SERVER_OK`).
///
/// A node handle borrowed from a cluster is detected and left alone: the answer is `NATS_SERVER_BORROWED_HANDLE`
/// and nothing happens (free the cluster instead). The handle must not be used after this call, and no other
/// thread may be using it during the call.
#[no_mangle]
pub unsafe extern "C" fn nats_server_free(server: *mut nats_server_t) -> nats_server_status {
    guard(std::ptr::null_mut(), || {
        if server.is_null() {
            return Ok(());
        }
        let live = handle(server)?;
        if matches!(live.target, Target::Node { .. } | Target::SuperNode { .. }) {
            return Err(FfiError::new(
                nats_server_status::NATS_SERVER_BORROWED_HANDLE,
                "a cluster or supercluster node handle is owned by its cluster",
            ));
        }
        drop(Box::from_raw(server));
        Ok(())
    })
}

// ----- control -------------------------------------------------------------------------------------------------

/// Stops the server gracefully (SIGTERM, SIGKILL after 10 s) and reaps it. Stopping a stopped server is a no-op
/// (`NATS_SERVER_OK`). The ports and the store stay reserved for `nats_server_start`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_stop(
    server: *mut nats_server_t,
    error: *mut *mut c_char,
) -> nats_server_status {
    nats_server_stop_timeout(server, crate::server::STOP_GRACE.as_millis() as u64, error)
}

/// Stops the server with SIGTERM, and SIGKILL once `timeout_ms` has passed (a lame-duck server with clients
/// attached would otherwise wait out its grace period), and reaps it: returns within about `timeout_ms`.
/// The handle's lock is held only to send the signal, so stops of several cluster nodes run in parallel.
#[no_mangle]
pub unsafe extern "C" fn nats_server_stop_timeout(
    server: *mut nats_server_t,
    timeout_ms: u64,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || handle(server)?.stop_timeout(millis(timeout_ms)))
}

/// Starts a stopped (or killed) server again on the same ports with the same JetStream store, and returns once it
/// accepts clients. Does nothing when it runs. (A node of a cluster: prefer `nats_cluster_start_node`, which also waits
/// for the node to rejoin.)
#[no_mangle]
pub unsafe extern "C" fn nats_server_start(
    server: *mut nats_server_t,
    error: *mut *mut c_char,
) -> nats_server_status {
    control(server, error, Server::start)
}

/// Stops the server gracefully and starts it again on the same ports with the same JetStream store.
#[no_mangle]
pub unsafe extern "C" fn nats_server_restart(
    server: *mut nats_server_t,
    error: *mut *mut c_char,
) -> nats_server_status {
    control(server, error, Server::try_restart)
}

/// The host the server listens on: the `host` option, else what its configuration chose, else `127.0.0.1`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_host(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    string_query(server, out, error, |s| Ok(s.host()))
}

/// Stops the server gracefully and starts it again on release `version` (`"2.15"`, `"2.15.1"`, `"latest"`;
/// installed first when missing, see `nats_server_install`) with the same ports and JetStream store. A failed
/// install (`NATS_SERVER_INSTALL`) leaves the server as it was. (A node of a cluster: prefer
/// `nats_cluster_upgrade_node`, which also waits for the cluster to be ready again.)
#[no_mangle]
pub unsafe extern "C" fn nats_server_upgrade(
    server: *mut nats_server_t,
    version: *const c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let version = str_arg(version, "version")?;
        handle(server)?.with(|s| s.upgrade(version))
    })
}

/// Kills the server at once (SIGKILL, like a crash) and reaps it. Killing a stopped server is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_server_kill(
    server: *mut nats_server_t,
    error: *mut *mut c_char,
) -> nats_server_status {
    control(server, error, Server::kill)
}

/// Freezes the process (SIGSTOP): it keeps its sockets but answers nothing, like a hung server.
/// `NATS_SERVER_NOT_RUNNING` when it is stopped.
#[no_mangle]
pub unsafe extern "C" fn nats_server_pause(
    server: *mut nats_server_t,
    error: *mut *mut c_char,
) -> nats_server_status {
    control(server, error, Server::pause)
}

/// Lets a paused process run again (SIGCONT). `NATS_SERVER_NOT_RUNNING` when it is stopped.
#[no_mangle]
pub unsafe extern "C" fn nats_server_resume(
    server: *mut nats_server_t,
    error: *mut *mut c_char,
) -> nats_server_status {
    control(server, error, Server::resume)
}

/// Puts the server into lame duck mode (SIGUSR2): it stops accepting clients and exits once its clients are gone
/// or its grace period is over. Follow with `nats_server_wait_exit`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_lame_duck(
    server: *mut nats_server_t,
    error: *mut *mut c_char,
) -> nats_server_status {
    control(server, error, Server::lame_duck)
}

/// Makes the server reload its configuration (SIGHUP); edits to the `config_file` are picked up.
#[no_mangle]
pub unsafe extern "C" fn nats_server_reload(
    server: *mut nats_server_t,
    error: *mut *mut c_char,
) -> nats_server_status {
    control(server, error, Server::reload)
}

/// Waits up to `timeout_ms` for the process to exit on its own (after lame duck, say) and reaps it.
/// `exit_code` (may be NULL) receives the exit code, or minus the signal number when a signal ended it.
/// `NATS_SERVER_TIMEOUT` when it still runs; `NATS_SERVER_NOT_RUNNING` when it was not running.
#[no_mangle]
pub unsafe extern "C" fn nats_server_wait_exit(
    server: *mut nats_server_t,
    timeout_ms: u64,
    exit_code: *mut i32,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let code = opt_out_arg(exit_code);
        let status = handle(server)?.with(|s| s.wait_exit(millis(timeout_ms)))?;
        if let Some(code) = code {
            *code = status
                .code()
                .or_else(|| status.signal().map(|s| -s))
                .unwrap_or(-1);
        }
        Ok(())
    })
}

/// What to keep of a server's private directory (log, config, JetStream store) when it is freed.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub enum nats_server_keep {
    /// Always remove everything.
    NATS_SERVER_KEEP_NEVER = 0,
    /// Keep it when the test failed: call `nats_server_mark_failed` (or `nats_cluster_mark_failed`) before
    /// freeing. The default, unless the options or `NATS_SERVER_KEEP` say otherwise.
    NATS_SERVER_KEEP_ON_FAILURE = 1,
    /// Always keep it; its path is printed to stderr when the server is freed.
    NATS_SERVER_KEEP_ALWAYS = 2,
}

pub(crate) fn keep_from_int(keep: i32) -> FfiResult<Keep> {
    match keep {
        0 => Ok(Keep::Never),
        1 => Ok(Keep::OnFailure),
        2 => Ok(Keep::Always),
        other => Err(FfiError::new(
            nats_server_status::NATS_SERVER_INVALID_ARGUMENT,
            format!(
                "keep policy {other} is not one of NATS_SERVER_KEEP_NEVER (0), \
                 NATS_SERVER_KEEP_ON_FAILURE (1), NATS_SERVER_KEEP_ALWAYS (2)"
            ),
        )),
    }
}

/// Parses a keep policy name into a `nats_server_keep` value in `*out`: the one parser every surface shares
/// (`never`/`no`/`0`/`false`, `on-failure`/`on_failure`, `always`/`yes`/`1`/`true`, any case), the same that reads
/// `NATS_SERVER_KEEP` and the `keep` option. Anything else is `NATS_SERVER_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_keep_parse(
    text: *const c_char,
    out: *mut i32,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        let keep = Keep::parse(str_arg(text, "text")?).map_err(|e| {
            FfiError::new(
                nats_server_status::NATS_SERVER_INVALID_ARGUMENT,
                e.message(),
            )
        })?;
        *out = match keep {
            Keep::Never => nats_server_keep::NATS_SERVER_KEEP_NEVER,
            Keep::OnFailure => nats_server_keep::NATS_SERVER_KEEP_ON_FAILURE,
            Keep::Always => nats_server_keep::NATS_SERVER_KEEP_ALWAYS,
        } as i32;
        Ok(())
    })
}

/// Sets what to keep of the server's private directory when it is freed: a `nats_server_keep` value.
#[no_mangle]
pub unsafe extern "C" fn nats_server_set_keep(
    server: *mut nats_server_t,
    keep: i32,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let server = handle(server)?;
        let keep = keep_from_int(keep)?;
        server.with(|s| {
            s.set_keep(keep);
            Ok(())
        })
    })
}

/// Records that the test using this server failed: under the on-failure keep policy (the default, or
/// `NATS_SERVER_KEEP=on-failure`) its directory is then kept when the server is freed, and its path printed to
/// stderr. Other policies are unaffected. Works on a cluster's node handle too.
#[no_mangle]
pub unsafe extern "C" fn nats_server_mark_failed(
    server: *mut nats_server_t,
    error: *mut *mut c_char,
) -> nats_server_status {
    control(server, error, |s| {
        s.mark_failed();
        Ok(())
    })
}

// ----- queries -------------------------------------------------------------------------------------------------

/// Whether the process is alive (a paused process counts as alive).
#[no_mangle]
pub unsafe extern "C" fn nats_server_is_running(
    server: *const nats_server_t,
    out: *mut bool,
    error: *mut *mut c_char,
) -> nats_server_status {
    value_query(server, out, error, |s| s.is_running())
}

/// Whether the process is paused by `nats_server_pause`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_is_paused(
    server: *const nats_server_t,
    out: *mut bool,
    error: *mut *mut c_char,
) -> nats_server_status {
    value_query(server, out, error, |s| s.is_paused())
}

/// Whether clients must use TLS (the scheme of the client URL in the server's ports file, which follows its INFO).
#[no_mangle]
pub unsafe extern "C" fn nats_server_tls_required(
    server: *const nats_server_t,
    out: *mut bool,
    error: *mut *mut c_char,
) -> nats_server_status {
    value_query(server, out, error, |s| s.tls_required())
}

/// The process id of the latest start, also after the server stopped (to find its traces); 0 before any start.
#[no_mangle]
pub unsafe extern "C" fn nats_server_last_pid(
    server: *const nats_server_t,
    out: *mut u32,
    error: *mut *mut c_char,
) -> nats_server_status {
    value_query(server, out, error, |s| s.client_pid() as u32)
}

/// The process id. `NATS_SERVER_NOT_RUNNING` when it is stopped.
#[no_mangle]
pub unsafe extern "C" fn nats_server_pid(
    server: *const nats_server_t,
    out: *mut u32,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        *out = handle(server)?.with(|s| {
            s.pid().ok_or_else(|| {
                crate::Error::new(crate::ErrorKind::NotRunning, "the server is not running")
            })
        })?;
        Ok(())
    })
}

/// The client URL, `nats://localhost:PORT` (`tls://` when the server requires TLS). Free `*out` with
/// `nats_server_string_free`. Known while stopped too (the port is kept).
#[no_mangle]
pub unsafe extern "C" fn nats_server_client_url(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    string_query(server, out, error, |s| Ok(s.client_url()))
}

/// The client URL on the server's real listen address, e.g. `nats://127.0.0.1:PORT`. Free `*out` with
/// `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_url(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    string_query(server, out, error, |s| Ok(s.url()))
}

/// The client URL with a user and password in it (percent-encoded), e.g. `nats://u:p@localhost:PORT`.
/// Free `*out` with `nats_server_string_free`. Note: the NATS C client (3.4) does not percent-decode the user
/// info of a URL; with it, pass credentials that need encoding through `natsOptions_SetUserInfo` instead.
#[no_mangle]
pub unsafe extern "C" fn nats_server_client_url_with(
    server: *const nats_server_t,
    user: *const c_char,
    password: *const c_char,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        let user = str_arg(user, "user")?;
        let password = str_arg(password, "password")?;
        let url = handle(server)?.with(|s| Ok(s.client_url_with(user, password)))?;
        *out = to_c_string(url);
        Ok(())
    })
}

/// The client URL with a token in it (percent-encoded), e.g. `nats://TOKEN@localhost:PORT`.
/// Free `*out` with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_client_url_with_token(
    server: *const nats_server_t,
    token: *const c_char,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        let token = str_arg(token, "token")?;
        let url = handle(server)?.with(|s| Ok(s.client_url_with_token(token)))?;
        *out = to_c_string(url);
        Ok(())
    })
}

/// The client port (kept across restarts).
#[no_mangle]
pub unsafe extern "C" fn nats_server_client_port(
    server: *const nats_server_t,
    out: *mut u16,
    error: *mut *mut c_char,
) -> nats_server_status {
    port_query(server, out, error, "client", |s| Some(s.client_port()))
}

/// The HTTP monitoring port. `NATS_SERVER_UNAVAILABLE` when monitoring is off.
#[no_mangle]
pub unsafe extern "C" fn nats_server_monitoring_port(
    server: *const nats_server_t,
    out: *mut u16,
    error: *mut *mut c_char,
) -> nats_server_status {
    port_query(server, out, error, "monitoring", |s| s.ports().monitoring)
}

/// The websocket port. `NATS_SERVER_UNAVAILABLE` when websocket is off.
#[no_mangle]
pub unsafe extern "C" fn nats_server_websocket_port(
    server: *const nats_server_t,
    out: *mut u16,
    error: *mut *mut c_char,
) -> nats_server_status {
    port_query(server, out, error, "websocket", |s| s.ports().websocket)
}

/// The cluster (route) port. `NATS_SERVER_UNAVAILABLE` when the server has no cluster listener.
#[no_mangle]
pub unsafe extern "C" fn nats_server_cluster_port(
    server: *const nats_server_t,
    out: *mut u16,
    error: *mut *mut c_char,
) -> nats_server_status {
    port_query(server, out, error, "cluster", |s| s.ports().cluster)
}

/// The monitoring base URL, e.g. `http://127.0.0.1:8222`. `NATS_SERVER_UNAVAILABLE` when monitoring is off.
/// Free `*out` with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_monitoring_url(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    string_query(server, out, error, |s| {
        s.monitoring_url().ok_or_else(|| no_listener("monitoring"))
    })
}

/// The websocket URL, e.g. `ws://127.0.0.1:8080`. `NATS_SERVER_UNAVAILABLE` when websocket is off.
/// Free `*out` with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_websocket_url(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    string_query(server, out, error, |s| {
        s.websocket_url().ok_or_else(|| no_listener("websocket"))
    })
}

/// The route URL peers use to join this server, e.g. `nats://127.0.0.1:6222`. `NATS_SERVER_UNAVAILABLE` without
/// a cluster listener. Free `*out` with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_cluster_url(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    string_query(server, out, error, |s| {
        s.cluster_url().ok_or_else(|| no_listener("cluster"))
    })
}

/// The gateway URL other clusters use to reach this server, e.g. `nats://127.0.0.1:7222`.
/// `NATS_SERVER_UNAVAILABLE` without a gateway listener (nodes of a supercluster have one). Free `*out` with
/// `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_gateway_url(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    string_query(server, out, error, |s| {
        s.gateway_url().ok_or_else(|| no_listener("gateway"))
    })
}

/// The leaf node URL leaves connect to, e.g. `nats://127.0.0.1:7422` (give it to a leaf as
/// `{"leaf_remotes": [{"urls": [URL]}]}`). `NATS_SERVER_UNAVAILABLE` unless the server is a hub
/// (`"leafnodes": true`). Free `*out` with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_leafnode_url(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    string_query(server, out, error, |s| {
        s.leafnode_url().ok_or_else(|| no_listener("leaf node"))
    })
}

/// The MQTT URL, e.g. `mqtt://127.0.0.1:1883`. `NATS_SERVER_UNAVAILABLE` unless `"mqtt": true`. Free `*out`
/// with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_mqtt_url(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    string_query(server, out, error, |s| {
        s.mqtt_url().ok_or_else(|| no_listener("MQTT"))
    })
}

/// The number of leaf node connections the server lists in `/leafz` (a hub's leaves, a leaf's hubs), in `*out`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_leaf_connections(
    server: *const nats_server_t,
    out: *mut usize,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        *out = handle(server)?.with(|s| s.leaf_connections())?;
        Ok(())
    })
}

/// Waits up to `timeout_ms` until the server lists at least `count` leaf node connections in `/leafz`: on a hub,
/// until its leaves are connected (again, e.g. after the hub restarted). `NATS_SERVER_TIMEOUT` otherwise.
#[no_mangle]
pub unsafe extern "C" fn nats_server_wait_for_leaf_connections(
    server: *const nats_server_t,
    count: usize,
    timeout_ms: u64,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        handle(server)?.with(|s| s.wait_for_leaf_connections(count, millis(timeout_ms)))
    })
}

/// Waits up to `timeout_ms` until this hub's `/leafz` lists `leaf` (by server name) and, when the leaf runs
/// JetStream with a `jetstream_domain`, until its JetStream answers through the hub (the leaf connection carries
/// its interest in `$JS.<domain>.API`). `NATS_SERVER_TIMEOUT` otherwise, naming what is missing. Both handles may
/// be nodes of the same cluster.
#[no_mangle]
pub unsafe extern "C" fn nats_server_wait_for_leaf(
    hub: *const nats_server_t,
    leaf: *const nats_server_t,
    timeout_ms: u64,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        // The leaf's facts first, its lock released: hub and leaf may share one cluster's lock.
        let (name, domain) = handle(leaf)?.with(|l| Ok(crate::links::leaf_identity(l)))?;
        let deadline = std::time::Instant::now() + millis(timeout_ms);
        handle(hub)?.with(|h| crate::links::wait_hub_lists(h, &name, domain.as_deref(), deadline))
    })
}

/// The server's private directory (generated config, log, captured output, default store). Free `*out` with
/// `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_dir(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    path_query(server, out, error, |s| s.dir().to_path_buf())
}

/// The JetStream store directory. Free `*out` with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_store_dir(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    path_query(server, out, error, Server::store_dir)
}

/// The server's log file. Free `*out` with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_log_path(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    path_query(server, out, error, Server::log_path)
}

/// The last `lines` lines of the server's log, then anything it printed to stdout/stderr. Free `*out` with
/// `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_log_tail(
    server: *const nats_server_t,
    lines: usize,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    string_query(server, out, error, |s| Ok(s.log_tail(lines)))
}

/// The server's id, from its INFO (read on first use after each start, so a restart gives a new id).
/// `NATS_SERVER_UNAVAILABLE` when it cannot be read: the server is stopped or paused and was not asked earlier
/// in this start. Free `*out` with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_server_id(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    string_query(server, out, error, |s| {
        Ok(info_of(s)?["server_id"]
            .as_str()
            .unwrap_or_default()
            .to_string())
    })
}

/// The server's INFO, or `NATS_SERVER_UNAVAILABLE` when it cannot be read.
fn info_of(server: &Server) -> FfiResult<&serde_json::Value> {
    let info = server.info();
    if info.is_null() {
        return Err(FfiError::new(
            nats_server_status::NATS_SERVER_UNAVAILABLE,
            "the server's INFO could not be read (it is stopped or paused, or \
             did not answer within 5 s)",
        ));
    }
    Ok(info)
}

/// The running server's own version, e.g. `2.15.1` (not this library's: see `nats_server_library_version`).
/// Free `*out` with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_version(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    string_query(server, out, error, |s| {
        s.version().map(|v| v.to_string()).ok_or_else(|| {
            FfiError::new(
                nats_server_status::NATS_SERVER_UNAVAILABLE,
                "the server's INFO carried no version",
            )
        })
    })
}

/// The nats-server binary the server runs (after the lookup: option, `NATS_SERVER_BIN`, `PATH`). Free `*out`
/// with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_binary(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    path_query(server, out, error, |s| s.binary().to_path_buf())
}

/// The options the server was started with, as one JSON document of the shared schema (defaults filled in).
/// Free `*out` with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_options_json(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    string_query(server, out, error, |s| Ok(s.options().to_json()))
}

/// The server's INFO as JSON text: read on first use after each start and kept until the next start.
/// `NATS_SERVER_UNAVAILABLE` when it cannot be read: the server is stopped or paused and was not asked earlier
/// in this start. Free `*out` with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    string_query(server, out, error, |s| Ok(info_of(s)?.to_string()))
}

/// GETs a monitoring endpoint (`"varz"`, `"/healthz"`, `"jsz?accounts=true"`) and returns its JSON text in `*out`
/// (free it with `nats_server_string_free`). Any HTTP status but 200 is `NATS_SERVER_MONITORING` with the answer
/// in the message.
#[no_mangle]
pub unsafe extern "C" fn nats_server_monitor(
    server: *const nats_server_t,
    endpoint: *const c_char,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        let endpoint = str_arg(endpoint, "endpoint")?;
        let body = handle(server)?.with(|s| s.monitor(endpoint))?;
        *out = to_c_string(body.to_string());
        Ok(())
    })
}

/// GETs a monitoring endpoint and returns the HTTP status in `*http_status` and the JSON body in `*out` whatever
/// the status (e.g. `/healthz` answering 503). Free `*out` with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_monitor_status(
    server: *const nats_server_t,
    endpoint: *const c_char,
    http_status: *mut u16,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let http_status = out_arg(http_status, "http_status")?;
        let out = out_arg(out, "out")?;
        let endpoint = str_arg(endpoint, "endpoint")?;
        let (status, body) = handle(server)?.with(|s| s.monitor_status(endpoint))?;
        *http_status = status;
        *out = to_c_string(body.to_string());
        Ok(())
    })
}

// ----- the client link's fault proxy (option `client_proxy`) -----------------------------------------------------

fn with_proxy(s: &Server, f: impl FnOnce(&crate::Proxy) -> Result<()>) -> Result<()> {
    f(s.require_client_proxy()?)
}

/// The client URL through the server's fault proxy, e.g. `nats://127.0.0.1:PORT` (the server was started with
/// `"client_proxy": true`; otherwise `NATS_SERVER_INVALID_OPTIONS`). Free `*out` with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_proxied_url(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    string_query(server, out, error, |s| {
        Ok(s.require_client_proxy()
            .map(|_| s.proxied_url().unwrap_or_default())?)
    })
}

/// Adds a fault to the client link, given as a toxiproxy toxic document, e.g.
/// `{"type": "latency", "stream": "downstream", "toxicity": 1.0, "attributes": {"latency": 50, "jitter": 0}}`
/// (types `latency`, `bandwidth`, `timeout`, `reset_peer`, `slow_close`, `slicer`, `limit_data`; `name` defaults
/// to `<type>_<stream>`). A bad document or value is `NATS_SERVER_INVALID_OPTIONS` naming it.
#[no_mangle]
pub unsafe extern "C" fn nats_server_fault_add(
    server: *mut nats_server_t,
    fault_json: *const c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let fault = crate::Fault::from_json(str_arg(fault_json, "fault_json")?)?;
        handle(server)?.with(|s| with_proxy(s, |p| p.add(fault)))
    })
}

/// Removes the client link's fault named `name`, or every fault when `name` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_server_fault_remove(
    server: *mut nats_server_t,
    name: *const c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let name = opt_str_arg(name, "name")?;
        handle(server)?.with(|s| {
            with_proxy(s, |p| match name {
                Some(name) => p.remove(name),
                None => p.remove_all(),
            })
        })
    })
}

/// Takes the client link down (`up` false: open connections are closed, new ones refused) or up again.
#[no_mangle]
pub unsafe extern "C" fn nats_server_link_set_up(
    server: *mut nats_server_t,
    up: bool,
    error: *mut *mut c_char,
) -> nats_server_status {
    control(server, error, |s| {
        with_proxy(s, |p| if up { p.enable() } else { p.disable() })
    })
}

// ----- the leaf node link's fault proxy (option `leafnode_proxy`) ------------------------------------------------

fn with_leafnode_proxy(s: &Server, f: impl FnOnce(&crate::Proxy) -> Result<()>) -> Result<()> {
    f(s.require_leafnode_proxy()?)
}

/// The leaf node URL through the hub's leaf node fault proxy, e.g. `nats://127.0.0.1:PORT`: the one the hub
/// advertises and its leaves connect to (the server was started with `"leafnodes": true, "leafnode_proxy": true`;
/// otherwise `NATS_SERVER_INVALID_OPTIONS`). Free `*out` with `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_proxied_leafnode_url(
    server: *const nats_server_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    string_query(server, out, error, |s| {
        Ok(s.require_leafnode_proxy()
            .map(|_| s.proxied_leafnode_url().unwrap_or_default())?)
    })
}

/// Adds a fault to the hub's leaf node links (a toxiproxy toxic document, as for `nats_server_fault_add`).
/// A bad document or value is `NATS_SERVER_INVALID_OPTIONS` naming it.
#[no_mangle]
pub unsafe extern "C" fn nats_server_leafnode_fault_add(
    server: *mut nats_server_t,
    fault_json: *const c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let fault = crate::Fault::from_json(str_arg(fault_json, "fault_json")?)?;
        handle(server)?.with(|s| with_leafnode_proxy(s, |p| p.add(fault)))
    })
}

/// Removes the leaf node links' fault named `name`, or every fault when `name` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_server_leafnode_fault_remove(
    server: *mut nats_server_t,
    name: *const c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let name = opt_str_arg(name, "name")?;
        handle(server)?.with(|s| {
            with_leafnode_proxy(s, |p| match name {
                Some(name) => p.remove(name),
                None => p.remove_all(),
            })
        })
    })
}

/// Takes the hub's leaf node links down (`up` false: every leaf is cut off, reconnects refused) or up again
/// (the leaves reconnect on their own; `nats_server_wait_for_leaf_connections` waits for them).
#[no_mangle]
pub unsafe extern "C" fn nats_server_leafnode_link_set_up(
    server: *mut nats_server_t,
    up: bool,
    error: *mut *mut c_char,
) -> nats_server_status {
    control(server, error, |s| {
        with_leafnode_proxy(s, |p| if up { p.enable() } else { p.disable() })
    })
}
