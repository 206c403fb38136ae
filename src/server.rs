//! One real `nats-server` process: start, readiness, control, knowledge, cleanup.
//!
//! A [`Server`] owns its child process and its private directory ([`WorkDir`]). Dropping it kills and reaps the
//! process and removes the directory (unless the keep policy says otherwise). Ports chosen dynamically at the first
//! start are pinned, so `restart()` and `start()` after `stop()` come back on the same ports with the same store.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde::Serialize;
use serde_json::Value;

use crate::auth::Credentials;
use crate::binary::{self, Version};
use crate::confscan::ConfigKeys;
use crate::error::{Error, ErrorKind, Result};
use crate::links;
use crate::options::{Keep, ServerOptions, DEFAULT_HOST};
use crate::process;
use crate::proxy::Proxy;
use crate::ready::{self, url_host, NotReady, PortsFile};
use crate::tls::TlsFiles;
use crate::workdir::WorkDir;

const CONFIG_FILE: &str = "server.conf";
const LOG_FILE: &str = "nats-server.log";
const OUTPUT_FILE: &str = "output.log";
const STORE_DIR: &str = "jetstream";
/// How long [`Server::info`] waits for the server's INFO line.
const INFO_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `stop()` waits for a graceful exit before it kills.
pub const STOP_GRACE: Duration = Duration::from_secs(10);
/// The configuration keys that open the monitoring listener (any one of them means the user chose it).
const MONITORING_KEYS: &[&str] = &["http", "http_port", "monitor_port", "https", "https_port"];

/// The ports a server listens on. Dynamic ports are discovered at the first start and kept afterwards.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Ports {
    /// The client port.
    pub client: u16,
    /// The HTTP monitoring port, when monitoring is on.
    pub monitoring: Option<u16>,
    /// The websocket port, when websocket is on.
    pub websocket: Option<u16>,
    /// The cluster (route) port, when the server has a cluster listener.
    pub cluster: Option<u16>,
    /// The gateway port, when the server has a gateway listener (discovered from `/varz`).
    pub gateway: Option<u16>,
    /// The leaf node port, when the server is a hub (discovered from `/varz`).
    pub leafnode: Option<u16>,
    /// The MQTT port, when MQTT is on (discovered from `/varz`).
    pub mqtt: Option<u16>,
}

/// A running (or stopped) `nats-server` owned by the test.
#[derive(Debug)]
pub struct Server {
    opts: ServerOptions,
    binary: PathBuf,
    child: Option<Child>,
    last_pid: u32,
    ports: Ports,
    /// The listeners' URLs as the server wrote them in its ports file at its last start: their schemes are the
    /// truth (`tls://` exactly when its INFO says `tls_required`, `wss://` for a websocket with TLS, `https://`).
    urls: PortsFile,
    /// When a spawn has not been waited for yet ([`Server::spawn`]): its readiness deadline.
    pending: Option<Instant>,
    /// The TLS files when the `tls` option is on (written into the private directory before the first start).
    tls: Option<TlsFiles>,
    /// The INFO of the current start, read on first use (see [`Server::info`]); emptied at every start.
    info: OnceLock<Value>,
    paused: bool,
    /// Where this start's output begins in the output and log files, so errors quote only this start.
    output_offset: u64,
    log_offset: u64,
    /// Generated keys, seed and creds files and the config text using them (empty without auth options).
    credentials: Credentials,
    /// The fault proxy in front of the client port (option `client_proxy`); closed and joined when dropped.
    client_proxy: Option<Proxy>,
    /// The fault proxy in front of the leaf node listener (option `leafnode_proxy`), advertised to leaves.
    leafnode_proxy: Option<Proxy>,
    /// Declared last: dropped after the process is gone.
    dir: WorkDir,
}

impl Server {
    /// Options to build a server with ([`ServerOptions`]), ending in [`ServerOptions::run`]:
    ///
    /// ```no_run
    /// # fn main() -> nats_server::Result<()> {
    /// let server = nats_server::Server::builder().jetstream(true).run()?;
    /// println!("connect to {}", server.client_url());
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder() -> ServerOptions {
        ServerOptions::new()
    }

    /// Starts a server and returns once it accepts clients: its ports file is written, which the server does
    /// only once JetStream (if on) is enabled and every listener is bound (and, with `wait_for_routes`, once its
    /// routes to its running peers are up).
    pub fn run(opts: &ServerOptions) -> Result<Server> {
        let mut server = Server::spawn(opts)?;
        server.wait_ready()?;
        Ok(server)
    }

    /// Starts a server and returns at once, without waiting for it to be ready: start several at once, or one
    /// that is expected to fail, and call [`Server::wait_ready`] later. Until then its ports are unknown (0).
    /// The startup timeout counts from this call.
    pub fn spawn(opts: &ServerOptions) -> Result<Server> {
        opts.validate()?;
        if opts.gateway.is_some() {
            links::reject_conflicting_config(opts, "gateway", "its `gateway` option")?;
        }
        let mut opts = opts.clone();
        if opts.mqtt && opts.name.is_none() {
            // MQTT needs a server name; a unique one keeps parallel servers apart.
            opts.name = Some(format!("mqtt-{:012x}", crate::unique::random_u64() >> 16));
        }
        // Port 0 means "any free port", as for a socket.
        opts.port = opts.port.filter(|p| *p != 0);
        if let Some(cluster) = opts.cluster.as_mut() {
            cluster.port = cluster.port.filter(|p| *p != 0);
        }
        let binary = binary::resolve_for(opts.binary.as_deref(), opts.version.as_deref())?;
        let keep = opts.keep.unwrap_or_else(Keep::from_env);
        let dir = WorkDir::create(keep)?;
        let credentials = Credentials::generate(&opts, dir.path())?;
        let mut server = Server {
            opts,
            binary,
            child: None,
            last_pid: 0,
            ports: Ports::default(),
            urls: PortsFile::default(),
            pending: None,
            tls: None,
            info: OnceLock::new(),
            paused: false,
            output_offset: 0,
            log_offset: 0,
            credentials,
            client_proxy: None,
            leafnode_proxy: None,
            dir,
        };
        if server.opts.leafnode_proxy {
            // Started before the first spawn: the config advertises its address. Its target is set once the leaf
            // node port is known.
            let ip = server.listen_ip("leafnode_proxy")?;
            server.leafnode_proxy = Some(Proxy::start(&ip.to_string(), None)?);
        }
        if let Some(tls) = &server.opts.tls {
            server.tls = Some(TlsFiles::prepare(server.dir.path(), tls)?);
        }
        server.spawn_process()?;
        Ok(server)
    }

    /// Waits until a server started with [`Server::spawn`] is ready, with the same guarantees and errors as
    /// [`Server::run`] (on failure the process is gone and the error quotes the server). Returns at once when
    /// there is nothing to wait for (already waited, or started by `run`).
    pub fn wait_ready(&mut self) -> Result<()> {
        match self.pending.take() {
            Some(deadline) => self.wait_until_ready(deadline),
            None => Ok(()),
        }
    }

    // ----- control -------------------------------------------------------------------------------------------

    /// Starts the server again after `stop()` or `kill()`, on the same ports with the same store.
    /// Does nothing when it is running.
    pub fn start(&mut self) -> Result<()> {
        if self.is_running() {
            return Ok(());
        }
        if let Some(mut exited) = self.child.take() {
            // It exited on its own (a crash, lame duck): reap it so no zombie stays behind.
            let _ = exited.wait();
        }
        self.paused = false;
        self.spawn_on_kept_ports()
    }

    /// Stops the server gracefully (SIGTERM; SIGKILL after 10 s, [`STOP_GRACE`]) and reaps it. Stopping a
    /// stopped server is a no-op.
    pub fn stop(&mut self) -> Result<()> {
        self.stop_timeout(STOP_GRACE)
    }

    /// Stops the server with SIGTERM, and SIGKILL once `timeout` has passed (a lame-duck server with clients
    /// attached waits out its grace period otherwise), and reaps it. Returns within about `timeout`.
    pub fn stop_timeout(&mut self, timeout: Duration) -> Result<()> {
        match self.begin_stop()? {
            Some(stopping) => stopping.finish(timeout),
            None => Ok(()),
        }
    }

    /// Sends SIGTERM and hands the exiting process over: the server counts as stopped from now on, and the
    /// caller waits for the exit with [`Stopping::finish`] (e.g. outside a lock, so other nodes of a cluster can
    /// be stopped meanwhile). `None` when it was not running.
    pub(crate) fn begin_stop(&mut self) -> Result<Option<Stopping>> {
        self.pending = None;
        let Some(mut child) = self.child.take() else {
            return Ok(None);
        };
        let paused = std::mem::take(&mut self.paused);
        if child
            .try_wait()
            .map_err(|e| Error::io("checking nats-server", e))?
            .is_some()
        {
            return Ok(None);
        }
        if paused {
            let _ = process::signal(child.id(), libc::SIGCONT);
        }
        let _ = process::signal(child.id(), libc::SIGTERM);
        Ok(Some(Stopping { child: Some(child) }))
    }

    /// Asks the server to stop (SIGTERM, after SIGCONT if paused) and returns at once, so that many servers can
    /// stop in parallel; [`Server::stop`], [`Server::kill`] or drop then reaps it. Does nothing when it is not
    /// running.
    pub fn request_stop(&self) -> Result<()> {
        if !self.is_running() {
            return Ok(());
        }
        let pid = self.child.as_ref().map(Child::id).unwrap_or_default();
        if self.paused {
            let _ = process::signal(pid, libc::SIGCONT);
        }
        process::signal(pid, libc::SIGTERM)
            .map_err(|e| Error::io(format!("signalling nats-server (pid {pid}) to stop"), e))
    }

    /// Kills the server at once (SIGKILL, like a crash) and reaps it. Killing a stopped server is a no-op.
    pub fn kill(&mut self) -> Result<()> {
        self.pending = None;
        if let Some(child) = self.child.as_mut() {
            process::kill_and_reap(child).map_err(|e| Error::io("killing nats-server", e))?;
        }
        self.child = None;
        self.paused = false;
        Ok(())
    }

    /// Stops the server (gracefully) and starts it again on the same ports with the same store.
    pub fn try_restart(&mut self) -> Result<()> {
        self.stop()?;
        self.spawn_on_kept_ports()
    }

    /// Stops the server (gracefully) and starts it again on release `version` (`"2.15"`, `"2.15.1"`, `"latest"`;
    /// installed when missing), on the same ports with the same store. The release is installed before the server
    /// stops, so a failed install leaves it as it was. A stopped server is only switched (and started).
    pub fn upgrade(&mut self, version: &str) -> Result<()> {
        let binary = crate::install::resolve(version)?.binary;
        self.opts.version = Some(version.to_string());
        self.opts.binary = None;
        self.switch_binary(binary)
    }

    /// Like [`Server::upgrade`], with a binary instead of a release.
    pub fn upgrade_binary(&mut self, binary: impl AsRef<Path>) -> Result<()> {
        let binary = binary::resolve(Some(binary.as_ref()))?;
        self.opts.binary = Some(binary.clone());
        self.switch_binary(binary)
    }

    fn switch_binary(&mut self, binary: PathBuf) -> Result<()> {
        self.stop()?;
        self.binary = binary;
        self.spawn_on_kept_ports()
    }

    /// Freezes the process (SIGSTOP): it keeps its sockets but answers nothing, like a hung server.
    /// Returns once every thread of the process has stopped.
    pub fn pause(&mut self) -> Result<()> {
        self.send(libc::SIGSTOP, "pause")?;
        self.paused = true;
        self.wait_stopped(true, "stop")
    }

    /// Lets a paused process run again (SIGCONT). Returns once it runs.
    pub fn resume(&mut self) -> Result<()> {
        self.send(libc::SIGCONT, "resume")?;
        self.paused = false;
        self.wait_stopped(false, "run again")
    }

    fn wait_stopped(&self, stopped: bool, what: &str) -> Result<()> {
        let pid = self.pid().unwrap_or_default();
        if process::wait_stopped(pid, stopped, Duration::from_secs(5)) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Timeout,
                format!("nats-server (pid {pid}) did not {what} within 5 s of the signal"),
            ))
        }
    }

    /// Puts the server into lame duck mode (SIGUSR2): it stops accepting clients and exits at once when it has
    /// none; otherwise it waits `lame_duck_grace_period` (default 10 s), then closes its clients over
    /// `lame_duck_duration` (at least 30 s). Tests set a short grace period in `config`, e.g.
    /// `lame_duck_grace_period: "1s"`.
    pub fn lame_duck(&mut self) -> Result<()> {
        self.send(libc::SIGUSR2, "enter lame duck mode")
    }

    /// Makes the server reload its configuration (SIGHUP). The configuration is the generated one, which includes
    /// `config_file`, so edits to that file are picked up.
    pub fn reload(&mut self) -> Result<()> {
        self.send(libc::SIGHUP, "reload")
    }

    /// Whether the process is alive (paused counts as alive).
    pub fn is_running(&self) -> bool {
        let Some(child) = self.child.as_ref() else {
            return false;
        };
        // waitid with WNOWAIT peeks without reaping, so this works through a shared reference.
        // SAFETY: a zeroed siginfo_t is a valid out-parameter for waitid.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                child.id() as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        // SAFETY: si_pid is valid to read after a successful waitid.
        rc == 0 && unsafe { info.si_pid() } == 0
    }

    /// Whether the process is paused by [`Server::pause`].
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Waits up to `timeout` for the process to exit on its own (e.g. after lame duck) and reaps it.
    /// Returns its exit status, or a [`ErrorKind::Timeout`] error.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let child = self
            .child
            .as_mut()
            .ok_or_else(|| Error::new(ErrorKind::NotRunning, "the server is not running"))?;
        match process::wait_timeout(child, timeout)
            .map_err(|e| Error::io("waiting for nats-server", e))?
        {
            Some(status) => {
                self.child = None;
                self.paused = false;
                Ok(status)
            }
            None => Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "nats-server (pid {}) still runs after {timeout:?}",
                    child.id()
                ),
            )),
        }
    }

    // ----- knowledge -----------------------------------------------------------------------------------------

    /// The options the server was started with.
    pub fn options(&self) -> &ServerOptions {
        &self.opts
    }

    /// The binary it runs.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// Every listener's port.
    pub fn ports(&self) -> Ports {
        self.ports
    }

    /// The host the server listens on: the `host` option when set, else what its configuration chose (from the
    /// ports file; `0.0.0.0` when it lists several addresses), else `127.0.0.1`.
    pub fn host(&self) -> String {
        if let Some(host) = &self.opts.host {
            return host.clone();
        }
        match self.urls.nats.as_slice() {
            [] => DEFAULT_HOST.to_string(),
            [one] => url_host_part(one).unwrap_or(DEFAULT_HOST).to_string(),
            _ => "0.0.0.0".to_string(),
        }
    }

    /// The client URL on the server's real host, e.g. `nats://127.0.0.1:4222` (`tls://` when TLS is required).
    pub fn url(&self) -> String {
        format!(
            "{}://{}:{}",
            self.scheme(),
            self.dial_host(),
            self.ports.client
        )
    }

    /// The fault proxy in front of the client port, when the server was started with `client_proxy`: add and
    /// remove faults on it while clients connected to [`Server::proxied_url`] run.
    pub fn client_proxy(&self) -> Option<&Proxy> {
        self.client_proxy.as_ref()
    }

    /// The client proxy, or an error saying how to get one.
    pub(crate) fn require_client_proxy(&self) -> Result<&Proxy> {
        self.client_proxy.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOptions,
                "the server has no fault proxy; start it with `client_proxy: true`",
            )
        })
    }

    /// The client URL through the fault proxy, e.g. `nats://127.0.0.1:40123`, when the server was started with
    /// `client_proxy` (the direct [`Server::client_url`] stays available).
    pub fn proxied_url(&self) -> Option<String> {
        self.client_proxy.as_ref().map(|p| {
            let host = url_host(&p.listen_addr().ip().to_string());
            format!("{}://{host}:{}", self.scheme(), p.port())
        })
    }

    /// The fault proxy in front of the leaf node listener, when the server was started with `leafnode_proxy`: its
    /// leaves reach it only through this proxy (add faults, or `disable()` it to cut them off).
    pub fn leafnode_proxy(&self) -> Option<&Proxy> {
        self.leafnode_proxy.as_ref()
    }

    /// The leaf node proxy, or an error saying how to get one.
    pub(crate) fn require_leafnode_proxy(&self) -> Result<&Proxy> {
        self.leafnode_proxy.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOptions,
                "the server has no leaf node fault proxy; start it with `leafnodes: true, leafnode_proxy: true`",
            )
        })
    }

    /// The leaf node URL through the fault proxy, e.g. `nats://127.0.0.1:40123`, when the server was started with
    /// `leafnode_proxy` (the direct [`Server::leafnode_url`] stays available, but leaves never learn it).
    pub fn proxied_leafnode_url(&self) -> Option<String> {
        self.leafnode_proxy
            .as_ref()
            .map(|p| links::link_url(&p.listen_addr().ip().to_string(), p.port()))
    }

    /// The IP address the server listens on, for a proxy in front of it (`what` names the option needing it).
    fn listen_ip(&self, what: &str) -> Result<std::net::IpAddr> {
        let host = ready::dial_host(self.opts.listen_host());
        host.parse().map_err(|_| {
            Error::new(
                ErrorKind::InvalidOptions,
                format!("`{what}` needs `host` to be an IP address, not {host:?}"),
            )
        })
    }

    /// The monitoring base URL, e.g. `http://127.0.0.1:8222` (`https://` when the server serves it with TLS),
    /// when monitoring is on.
    pub fn monitoring_url(&self) -> Option<String> {
        let host = self.dial_host();
        let scheme = scheme_of(&self.urls.monitoring, "http");
        self.ports
            .monitoring
            .map(|p| format!("{scheme}://{host}:{p}"))
    }

    /// The websocket URL, e.g. `ws://127.0.0.1:8080` (`wss://` when the listener has TLS), when websocket is on.
    pub fn websocket_url(&self) -> Option<String> {
        let host = self.dial_host();
        let scheme = scheme_of(&self.urls.websocket, "ws");
        self.ports
            .websocket
            .map(|p| format!("{scheme}://{host}:{p}"))
    }

    /// The route URL other servers use to join this one, e.g. `nats://127.0.0.1:6222`, when it has a cluster
    /// listener.
    pub fn cluster_url(&self) -> Option<String> {
        let host = self.dial_host();
        let scheme = scheme_of(&self.urls.cluster, "nats");
        self.ports.cluster.map(|p| format!("{scheme}://{host}:{p}"))
    }

    /// The gateway URL other clusters use to reach this one, e.g. `nats://127.0.0.1:7222`, when it has a gateway
    /// listener.
    pub fn gateway_url(&self) -> Option<String> {
        self.ports
            .gateway
            .map(|p| links::link_url(self.opts.listen_host(), p))
    }

    /// The leaf node URL leaves connect to, e.g. `nats://127.0.0.1:7422`, when the server is a hub
    /// (`leafnodes: true`).
    pub fn leafnode_url(&self) -> Option<String> {
        self.ports
            .leafnode
            .map(|p| links::link_url(self.opts.listen_host(), p))
    }

    /// The MQTT URL, e.g. `mqtt://127.0.0.1:1883`, when MQTT is on.
    pub fn mqtt_url(&self) -> Option<String> {
        let host = self.dial_host();
        self.ports.mqtt.map(|p| format!("mqtt://{host}:{p}"))
    }

    /// The number of leaf node connections the server lists in `/leafz` (a hub's leaves, a leaf's hubs).
    pub fn leaf_connections(&self) -> Result<usize> {
        links::leaf_connections(self)
    }

    /// Waits until the server lists at least `count` leaf node connections in `/leafz`: on a hub, until its
    /// leaves are connected (again, e.g. after a restart).
    pub fn wait_for_leaf_connections(&self, count: usize, timeout: Duration) -> Result<()> {
        links::wait_leaf_connections(self, count, Instant::now() + timeout)
    }

    /// Starts a leaf of `hub` (which has `leafnodes` on) with `opts` plus a remote to the hub, and returns once
    /// the hub's `/leafz` lists it (with a `jetstream_domain`: once its JetStream answers through the hub, see
    /// [`Server::wait_for_leaf`]). For a leaf of a cluster of hubs, set `leaf_remotes` with every hub node's
    /// [`Server::leafnode_url`] and call [`Server::run`].
    pub fn run_leaf_of(hub: &Server, opts: &ServerOptions) -> Result<Server> {
        let url = hub
            .proxied_leafnode_url()
            .or_else(|| hub.leafnode_url())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidOptions,
                    "the hub has no leaf node listener; start it with `leafnodes: true`",
                )
            })?;
        let mut opts = opts.clone();
        opts.leaf_remotes.push(crate::options::LeafRemote::new(url));
        if opts.name.is_none() {
            // The hub names its leaves by server name: a unique one lets it be found.
            opts.name = Some(format!("leaf-{:012x}", crate::unique::random_u64() >> 16));
        }
        let leaf = Server::run(&opts)?;
        let timeout = Duration::from_millis(opts.startup_timeout_ms);
        hub.wait_for_leaf(&leaf, timeout)?;
        Ok(leaf)
    }

    /// Waits until this hub's `/leafz` lists `leaf` (by server name) and, when the leaf runs JetStream with a
    /// `jetstream_domain`, until its JetStream answers through the hub (the leaf connection carries its interest in
    /// `$JS.<domain>.API`): after a start, or after either restarted.
    pub fn wait_for_leaf(&self, leaf: &Server, timeout: Duration) -> Result<()> {
        let (name, domain) = links::leaf_identity(leaf);
        links::wait_hub_lists(self, &name, domain.as_deref(), Instant::now() + timeout)
    }

    /// The cluster listener's socket address, for proxies that forward to it.
    pub(crate) fn cluster_addr(&self) -> Result<std::net::SocketAddr> {
        self.link_addr(self.ports.cluster, "cluster")
    }

    /// The gateway listener's socket address, for proxies that forward to it.
    pub(crate) fn gateway_addr(&self) -> Result<std::net::SocketAddr> {
        self.link_addr(self.ports.gateway, "gateway")
    }

    fn link_addr(&self, port: Option<u16>, what: &str) -> Result<std::net::SocketAddr> {
        let port = port.ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOptions,
                format!("the server has no {what} listener"),
            )
        })?;
        let host = self.opts.listen_host();
        let ip = ready::dial_host(host).parse().map_err(|_| {
            Error::new(
                ErrorKind::InvalidOptions,
                format!("proxied {what} links need `host` to be an IP address, not {host:?}"),
            )
        })?;
        Ok(std::net::SocketAddr::new(ip, port))
    }

    /// The server's private directory (config, log, output, ports file, default store).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The JetStream store directory passed to the server.
    pub fn store_dir(&self) -> PathBuf {
        self.opts
            .store_dir
            .clone()
            .unwrap_or_else(|| self.dir.join(STORE_DIR))
    }

    /// The server's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join(LOG_FILE)
    }

    /// The last `lines` lines of the server's log (all starts) followed by anything it printed to stdout/stderr.
    pub fn log_tail(&self, lines: usize) -> String {
        let mut text = tail_lines(&read_from(&self.log_path(), 0), lines);
        let output = tail_lines(&read_from(&self.dir.join(OUTPUT_FILE), 0), lines);
        if !output.trim().is_empty() {
            text.push_str("--- stdout/stderr ---\n");
            text.push_str(&output);
        }
        text
    }

    /// What the server says about itself in the INFO line of its client port: `server_id`, `server_name`,
    /// `version`, `host`, `port`, `tls_required`, `max_payload`, `proto`, and `jetstream` (a bool).
    ///
    /// Read on first use after each start (about 0.5 ms; starting does not wait for it) and kept until the next
    /// start. `Value::Null` if it could not be read: the server was stopped or paused, or did not answer in 5 s.
    pub fn info(&self) -> &Value {
        static UNKNOWN: Value = Value::Null;
        if let Some(info) = self.info.get() {
            return info;
        }
        if !self.is_running() || self.paused {
            return &UNKNOWN;
        }
        match self.fetch_info(INFO_TIMEOUT) {
            Ok(info) => self.info.get_or_init(|| info),
            Err(_) => &UNKNOWN,
        }
    }

    /// The server's id (from its INFO; empty while stopped or paused).
    pub fn server_id(&self) -> &str {
        self.info()["server_id"].as_str().unwrap_or_default()
    }

    /// The server's own version (from its INFO, else from `nats-server --version`).
    pub fn version(&self) -> Option<Version> {
        self.info()["version"]
            .as_str()
            .and_then(Version::parse)
            .or_else(|| binary::version(&self.binary).ok())
    }

    /// Whether clients must use TLS.
    pub fn tls_required(&self) -> bool {
        scheme_of(&self.urls.nats, "nats") == "tls"
    }

    /// The server's TLS files when the `tls` option is on (generated ones live in the private directory).
    pub fn tls_files(&self) -> Option<&TlsFiles> {
        self.tls.as_ref()
    }

    /// The CA certificate (PEM) that signed the server's certificate, for clients to verify the server with:
    /// the generated CA, or your `tls.ca_file`. `None` without TLS.
    pub fn ca_file(&self) -> Option<&Path> {
        self.tls.as_ref().and_then(|t| t.ca_file.as_deref())
    }

    /// A client certificate (PEM) signed by the generated CA, for mTLS (`tls.verify`). `None` without TLS or
    /// with your own certificates.
    pub fn client_cert_file(&self) -> Option<&Path> {
        self.tls
            .as_ref()
            .and_then(|t| t.client_cert_file.as_deref())
    }

    /// The private key (PEM, mode 0600) of [`Server::client_cert_file`].
    pub fn client_key_file(&self) -> Option<&Path> {
        self.tls.as_ref().and_then(|t| t.client_key_file.as_deref())
    }

    /// GETs a monitoring endpoint (`"varz"`, `"/healthz"`, `"jsz?accounts=true"`) and returns its JSON.
    /// Any HTTP status other than 200 is an error that quotes the answer.
    pub fn monitor(&self, endpoint: &str) -> Result<Value> {
        let (status, body) = self.monitor_status(endpoint)?;
        if status != 200 {
            return Err(Error::new(
                ErrorKind::Monitoring,
                format!(
                    "GET /{} answered {status}: {body}",
                    endpoint.trim_start_matches('/')
                ),
            ));
        }
        Ok(body)
    }

    /// GETs a monitoring endpoint and returns the HTTP status with the JSON body, whatever the status.
    pub fn monitor_status(&self, endpoint: &str) -> Result<(u16, Value)> {
        let base = self.monitoring_url().ok_or_else(|| {
            Error::new(
                ErrorKind::Monitoring,
                "monitoring is disabled for this server (`monitoring: false`)",
            )
        })?;
        if !self.is_running() {
            return Err(Error::new(
                ErrorKind::NotRunning,
                "the server is not running",
            ));
        }
        if self.paused {
            // It would not answer: fail now rather than after the request's timeout.
            return Err(Error::new(
                ErrorKind::NotRunning,
                "the server is paused; resume() it first",
            ));
        }
        ready::http_get(
            &format!("{base}/{}", endpoint.trim_start_matches('/')),
            Duration::from_secs(5),
        )
    }

    // ----- authentication (see the `auth` module) ------------------------------------------------------------

    /// The creds file (user JWT and seed, mode 0600) of `user` in `account`, in operator mode
    /// (`operator: true`). The system account is `SYS` with user `sys`.
    pub fn creds(&self, account: &str, user: &str) -> Result<PathBuf> {
        self.credentials.creds(account, user).map(Path::to_path_buf)
    }

    /// The seed (`SU...`) of an nkey user (`nkey: true`, or any user in operator mode).
    pub fn nkey_seed(&self, user: &str) -> Result<String> {
        self.credentials.nkey_seed(user).map(str::to_string)
    }

    /// The public key (`U...`) of an nkey user.
    pub fn nkey_public_key(&self, user: &str) -> Result<String> {
        self.credentials.nkey_public_key(user).map(str::to_string)
    }

    /// A file (mode 0600) holding the seed of an nkey user, for clients that read seeds from files.
    pub fn seed_file(&self, user: &str) -> Result<PathBuf> {
        self.credentials.seed_file(user).map(Path::to_path_buf)
    }

    /// The account of a user: a name of `accounts`, or `$G` for `users`.
    pub fn account_of(&self, user: &str) -> Result<String> {
        self.credentials.account_of(user).map(str::to_string)
    }

    /// The generated authentication material as JSON, without secrets:
    /// `{"operator": "O..."|null, "accounts": [...], "users": {"a": {"account", "public_key", "seed_file", "creds"}}}`.
    pub fn auth_json(&self) -> Value {
        self.credentials.describe()
    }

    /// Changes what is kept of the private directory when the server is dropped.
    pub fn set_keep(&mut self, keep: Keep) {
        self.dir.set_keep_policy(keep);
    }

    /// Records that the test using this server failed: under the on-failure policy (the default, or
    /// `NATS_SERVER_KEEP`) its directory is then kept when it is dropped, and its path printed. A failing Rust
    /// test needs no call (its panic says so); test frameworks of other languages call this.
    pub fn mark_failed(&mut self) {
        self.dir.mark_failed();
    }

    // ----- the original crate's API --------------------------------------------------------------------------

    /// `nats://localhost:PORT`, or `tls://localhost:PORT` when the server requires TLS (the original crate's
    /// form, which matches certificates issued for `localhost`).
    pub fn client_url(&self) -> String {
        format!(
            "{}://{}:{}",
            self.scheme(),
            self.url_host_for_clients(),
            self.ports.client
        )
    }

    /// The client port.
    pub fn client_port(&self) -> u16 {
        self.ports.client
    }

    /// The client URL with a user and password in it (percent-encoded).
    pub fn client_url_with(&self, user: &str, pass: &str) -> String {
        format!(
            "{}://{}:{}@{}:{}",
            self.scheme(),
            utf8_percent_encode(user, USERINFO),
            utf8_percent_encode(pass, USERINFO),
            self.url_host_for_clients(),
            self.ports.client
        )
    }

    /// The client URL with a token in it (percent-encoded).
    pub fn client_url_with_token(&self, token: &str) -> String {
        format!(
            "{}://{}@{}:{}",
            self.scheme(),
            utf8_percent_encode(token, USERINFO),
            self.url_host_for_clients(),
            self.ports.client
        )
    }

    /// The process id (of the last start, if it has stopped since).
    pub fn client_pid(&self) -> usize {
        self.last_pid as usize
    }

    /// Stops and starts the server on the same ports with the same store; panics with the cause on failure.
    pub fn restart(&mut self) {
        if let Err(e) = self.try_restart() {
            panic!("{e}");
        }
    }

    // ----- internals -----------------------------------------------------------------------------------------

    /// Replaces the routes used from the next start on (clusters use this once every peer's port is known).
    pub(crate) fn set_routes(&mut self, routes: Vec<String>) {
        if let Some(cluster) = self.opts.cluster.as_mut() {
            cluster.routes = routes;
        }
    }

    /// Replaces the gateways used from the next start on (superclusters use this once every port is known).
    pub(crate) fn set_gateways(&mut self, gateways: Vec<crate::options::RemoteGateway>) {
        if let Some(gateway) = self.opts.gateway.as_mut() {
            gateway.gateways = gateways;
        }
    }

    fn scheme(&self) -> &'static str {
        if self.tls_required() {
            "tls"
        } else {
            "nats"
        }
    }

    /// The listen host as a URL host to dial (a wildcard host is dialled on loopback).
    fn dial_host(&self) -> String {
        url_host(ready::dial_host(&self.host()))
    }

    fn url_host_for_clients(&self) -> String {
        match self.host().as_str() {
            "127.0.0.1" | "0.0.0.0" | "localhost" | "" => "localhost".to_string(),
            _ => self.dial_host(),
        }
    }

    fn send(&mut self, signal: libc::c_int, what: &str) -> Result<()> {
        if !self.is_running() {
            return Err(Error::new(
                ErrorKind::NotRunning,
                format!("cannot {what}: the server is not running"),
            ));
        }
        let pid = self.child.as_ref().map(Child::id).unwrap_or_default();
        process::signal(pid, signal)
            .map_err(|e| Error::io(format!("signalling nats-server (pid {pid}) to {what}"), e))
    }

    /// Starts again on the ports of the first start. Dynamic ports come from the kernel's ephemeral range, so
    /// while the server is down a short-lived outgoing connection (a monitoring poll, a client connecting
    /// elsewhere) can hold one as its local port for a moment: a busy port is retried for up to 2 s before the
    /// start fails with [`ErrorKind::PortInUse`].
    fn spawn_on_kept_ports(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut pause = Duration::from_millis(5);
        loop {
            match self.spawn_and_wait() {
                Err(e) if e.kind() == ErrorKind::PortInUse && Instant::now() + pause < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(250));
                }
                done => return done,
            }
        }
    }

    /// Writes the generated config, spawns the process and waits until it is ready or has failed.
    fn spawn_and_wait(&mut self) -> Result<()> {
        self.spawn_process()?;
        self.wait_ready()
    }

    /// The client addresses (from `/varz` `connect_urls`) of peers whose INFO does not yet list this server's
    /// client port among their `connect_urls` (each read the way readiness reads INFO: the probe never counts
    /// as a client).
    fn peers_not_advertising_me(&self, peers: usize) -> Vec<String> {
        let Ok(varz) = self.monitor("varz") else {
            return vec!["(this server's /varz did not answer)".into()];
        };
        let own = self.ports.client;
        let mine = |url: &str| split_host_port(url).is_some_and(|(_, port)| port == own);
        let others: Vec<&str> = varz["connect_urls"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|u| u.as_str())
            .filter(|u| !mine(u))
            .collect();
        if others.len() < peers {
            return vec![format!(
                "(this server knows {} of its {peers} peers' client URLs so far)",
                others.len()
            )];
        }
        let mut unaware = Vec::new();
        for url in others {
            let Some((host, port)) = split_host_port(url) else {
                continue;
            };
            let aware = ready::read_info(&host, port, Duration::from_secs(1)).is_ok_and(|info| {
                info["connect_urls"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|u| u.as_str())
                    .any(mine)
            });
            if !aware {
                unaware.push(format!("{url} (does not list this server yet)"));
            }
        }
        unaware
    }

    /// Writes the generated config and spawns the process; [`Server::wait_ready`] waits for it.
    fn spawn_process(&mut self) -> Result<()> {
        let started = Instant::now();
        let deadline = started + Duration::from_millis(self.opts.startup_timeout_ms);
        self.info = OnceLock::new();
        if !self.opts.leaf_remotes.is_empty() {
            links::check_hubs_reachable(&self.opts)?;
        }
        self.write_config()?;
        let output_path = self.dir.join(OUTPUT_FILE);
        let output = private_file(&output_path)?;
        // Created here, private: the server appends to it and keeps its mode.
        drop(private_file(&self.log_path())?);
        // Where this start's words begin (a first start's files are new: nothing to skip).
        if self.last_pid != 0 {
            self.output_offset = output.metadata().map_or(0, |m| m.len());
            self.log_offset = file_len(&self.log_path());
        }
        let mut cmd = Command::new(&self.binary);
        cmd.args(self.arguments())
            .stdin(Stdio::null())
            .stdout(
                output
                    .try_clone()
                    .map_err(|e| Error::io("duplicating a file handle", e))?,
            )
            .stderr(output);
        let child = process::spawn(cmd, self.dir.path()).map_err(|e| {
            let kind = match e.kind() {
                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                    ErrorKind::BinaryNotFound
                }
                _ => ErrorKind::Io,
            };
            Error::new(
                kind,
                format!("could not run {}: {e}", self.binary.display()),
            )
        })?;
        self.last_pid = child.id();
        self.child = Some(child);
        self.pending = Some(deadline);
        Ok(())
    }

    /// Waits for the spawned process's ports file (and its routes, with `wait_for_routes`) until `deadline`.
    fn wait_until_ready(&mut self, deadline: Instant) -> Result<()> {
        let Some(child) = self.child.as_mut() else {
            return Err(Error::new(
                ErrorKind::NotRunning,
                "the server was stopped before it was ready",
            ));
        };
        let ports = match ready::wait_for_ports_file(self.dir.path(), &self.binary, child, deadline)
        {
            Ok(ports) => ports,
            Err(not_ready) => return Err(self.startup_failure(not_ready)),
        };
        self.record_ports(&ports);
        if let Err(e) = self.attach_client_proxy() {
            return Err(self.fail_start(e));
        }
        if let Err(e) = self.await_links(deadline) {
            return Err(self.fail_start(e));
        }
        if let (Some(proxy), Some(port)) = (&self.leafnode_proxy, self.ports.leafnode) {
            match self.listen_ip("leafnode_proxy") {
                Ok(ip) => proxy.set_target(std::net::SocketAddr::new(ip, port)),
                Err(e) => return Err(self.fail_start(e)),
            }
        }
        if self.opts.wait_for_routes {
            if let Err(not_ready) = self.wait_for_routes(deadline) {
                return Err(self.startup_failure(not_ready));
            }
        }
        Ok(())
    }

    /// With `client_proxy`: points the client link's fault proxy at the client port, starting the proxy at the
    /// first ready (ports are kept across restarts, so its address stays the same for the server's life).
    fn attach_client_proxy(&mut self) -> Result<()> {
        if !self.opts.client_proxy {
            return Ok(());
        }
        let host = ready::dial_host(&self.host()).to_string();
        let ip: std::net::IpAddr =
            host.trim_matches(|c| c == '[' || c == ']')
                .parse()
                .map_err(|_| {
                    Error::new(
                ErrorKind::InvalidOptions,
                format!("`client_proxy` needs the server's host to be an IP address, not {host:?}"),
            )
                })?;
        let target = std::net::SocketAddr::new(ip, self.ports.client);
        match &self.client_proxy {
            Some(proxy) => proxy.set_target(target),
            None => self.client_proxy = Some(Proxy::new(&ip.to_string(), target)?),
        }
        Ok(())
    }

    /// After the ports file: the ports only `/varz` reports (first start), and a leaf's connections to its hubs.
    fn await_links(&mut self, deadline: Instant) -> Result<()> {
        let o = &self.opts;
        let unknown = (o.gateway.is_some() && self.ports.gateway.is_none())
            || (o.leafnodes && self.ports.leafnode.is_none())
            || (o.mqtt && self.ports.mqtt.is_none());
        if unknown {
            let (gateway, leafnode, mqtt) = links::discover_ports(self)?;
            self.ports.gateway = self.ports.gateway.or(gateway);
            self.ports.leafnode = self.ports.leafnode.or(leafnode);
            self.ports.mqtt = self.ports.mqtt.or(mqtt);
        }
        if !self.opts.leaf_remotes.is_empty() {
            links::wait_leaf_connections(self, self.opts.leaf_remotes.len(), deadline)
                .map_err(|e| e.context("the leaf did not connect to its hub"))?;
        }
        Ok(())
    }

    /// Waits until `/routez` shows a route to every configured peer (from `/varz`) whose route port answers.
    fn wait_for_routes(&mut self, deadline: Instant) -> std::result::Result<(), NotReady> {
        let failed = |msg: String| NotReady::Failed(Error::new(ErrorKind::InvalidOptions, msg));
        if self.monitoring_url().is_none() {
            return Err(failed(
                "`wait_for_routes` needs the monitoring listener (`monitoring: true`) to read /routez".into(),
            ));
        }
        let own_id = self.server_id().to_string();
        let varz = self.monitor("varz").map_err(NotReady::Failed)?;
        let Some(own_port) = self.ports.cluster else {
            return Err(failed(
                "`wait_for_routes` is set but the server has no cluster listener (the `cluster` option, or a \
                 `cluster` block in its configuration)"
                    .into(),
            ));
        };
        let configured: Vec<String> = varz["cluster"]["urls"]
            .as_array()
            .map(|urls| {
                urls.iter()
                    .filter_map(|u| u.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        // The running peers, by server id, each with the route URL it was configured as.
        let mut peers: Vec<(String, String)> = Vec::new();
        for url in configured {
            let Some((host, port)) = split_host_port(&url) else {
                continue;
            };
            if port == own_port && ready::dial_host(&host) == ready::dial_host(&self.host()) {
                continue;
            }
            let Ok(info) = ready::read_info(&host, port, Duration::from_secs(1)) else {
                continue; // not running (yet): nothing to wait for
            };
            match info["server_id"].as_str() {
                Some(id) if id != own_id && !peers.iter().any(|(p, _)| p == id) => {
                    peers.push((id.to_string(), url.clone()))
                }
                _ => {}
            }
        }
        let mut backoff = ready::Backoff::new(Duration::from_millis(5));
        loop {
            let routez = self.monitor("routez").map_err(NotReady::Failed)?;
            let routed: Vec<&str> = routez["routes"]
                .as_array()
                .map(|routes| {
                    routes
                        .iter()
                        .filter_map(|r| r["remote_id"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            let missing: Vec<&str> = peers
                .iter()
                .filter(|(id, _)| !routed.contains(&id.as_str()))
                .map(|(_, url)| url.as_str())
                .collect();
            // Up on this end; a peer advertises this server to its own clients only once it has the route too.
            let missing = if missing.is_empty() {
                self.peers_not_advertising_me(peers.len())
            } else {
                missing.iter().map(|s| s.to_string()).collect()
            };
            if missing.is_empty() {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut() {
                match child.try_wait() {
                    Ok(Some(status)) => return Err(NotReady::Exited(status)),
                    Ok(None) => {}
                    Err(e) => {
                        return Err(NotReady::Failed(Error::io("waiting for nats-server", e)))
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(NotReady::Failed(Error::new(
                    ErrorKind::StartupTimeout,
                    format!(
                        "nats-server had no route to its running peer(s) {} within {} ms (startup_timeout_ms, \
                         `wait_for_routes`)",
                        missing.join(", "),
                        self.opts.startup_timeout_ms
                    ),
                )));
            }
            backoff.sleep(deadline);
        }
    }

    /// What the server says about itself: the INFO line of its client port (sent before any TLS handshake). The
    /// probe hangs up and waits for the server to hang up too, so the harness never counts as a client (in
    /// connection counts, or holding back lame duck mode). Normalized, with `jetstream` as a bool.
    fn fetch_info(&self, timeout: Duration) -> std::result::Result<Value, String> {
        let handshake_first = self.opts.tls.as_ref().is_some_and(|t| t.handshake_first);
        let mut source = if handshake_first {
            // No INFO before the TLS handshake: /varz says the same (and more).
            let mut varz = self.monitor("varz").map_err(|e| e.to_string())?;
            let jetstream = !varz["jetstream"]["config"].is_null();
            varz["jetstream"] = Value::Bool(jetstream);
            varz["tls_required"] = Value::Bool(self.tls_required());
            varz
        } else {
            ready::read_info(&self.host(), self.ports.client, timeout).map_err(|e| e.to_string())?
        };
        let jetstream = source["jetstream"].as_bool().unwrap_or(false);
        let tls_required = source["tls_required"].as_bool().unwrap_or(false);
        let mut info = serde_json::Map::new();
        for key in [
            "server_id",
            "server_name",
            "version",
            "host",
            "port",
            "max_payload",
            "proto",
        ] {
            if let Some(value) = source.get_mut(key) {
                info.insert(key.to_string(), value.take());
            }
        }
        info.insert("tls_required".into(), Value::Bool(tls_required));
        info.insert("jetstream".into(), Value::Bool(jetstream));
        Ok(Value::Object(info))
    }

    /// The command line: only what must beat any configuration. The config file, log and ports file are the
    /// harness's; explicit options (and the ports kept from the first start) are flags because flags override
    /// every alias of a setting in a configuration. Credentials are never here: they are in the private config.
    fn arguments(&self) -> Vec<String> {
        let o = &self.opts;
        let mut args: Vec<String> = vec![
            "-c".into(),
            path_arg(&self.dir.join(CONFIG_FILE)),
            "-l".into(),
            path_arg(&self.log_path()),
            "--ports_file_dir".into(),
            path_arg(self.dir.path()),
        ];
        if let Some(host) = &o.host {
            args.extend(["-a".into(), host.clone()]);
        }
        if let Some(port) = o.port.or(nonzero(self.ports.client)) {
            args.extend(["-p".into(), port.to_string()]);
        }
        if let Some(port) = self.ports.monitoring {
            let flag = if scheme_of(&self.urls.monitoring, "http") == "https" {
                "--https_port"
            } else {
                "-m"
            };
            args.extend([flag.into(), port.to_string()]);
        }
        if let Some(dir) = &o.store_dir {
            args.extend(["--store_dir".into(), path_arg(dir)]);
        }
        if o.jetstream {
            args.push("-js".into());
        }
        if let Some(name) = &o.name {
            args.extend(["-n".into(), name.clone()]);
        }
        if let Some(cluster) = &o.cluster {
            let port = port_arg(cluster.port.or(self.ports.cluster));
            args.extend([
                "--cluster".into(),
                format!("nats://{}:{port}", url_host(o.listen_host())),
                "--cluster_name".into(),
                cluster.name.clone(),
            ]);
            if !cluster.routes.is_empty() {
                args.extend(["--routes".into(), cluster.routes.join(",")]);
            }
        }
        if o.debug {
            args.push("-D".into());
        }
        if o.trace {
            args.push("-V".into());
        }
        args.extend(o.args.iter().cloned());
        args
    }

    /// The top-level keys the user's configuration (file, its includes, inline text) sets.
    fn user_config_keys(&self) -> ConfigKeys {
        let mut keys = ConfigKeys::default();
        if let Some(file) = &self.opts.config_file {
            keys.add_file(file);
        }
        if let Some(inline) = &self.opts.config {
            keys.add_text(inline, self.dir.path());
        }
        keys
    }

    /// The generated config, private to the owner (mode 0600). In order, later settings overriding earlier ones:
    /// the harness's defaults (each only where the user's configuration sets none of its aliases, since aliases
    /// are applied in a random order), the user's file (included), the inline text, then the credentials options
    /// (which override the user's `authorization`). The command-line flags ([`Server::arguments`]) beat all.
    fn write_config(&self) -> Result<()> {
        let o = &self.opts;
        let user = self.user_config_keys();
        let mut text = String::from(
            "# Generated by the nats-server test harness. Later settings override earlier ones;\n\
             # the command-line flags (explicit options, kept ports) override all of them.\n\
             # 1. The harness's defaults, where the configuration below does not choose.\n",
        );
        if o.host.is_none() && !user.sets_any(&["host", "net", "listen"]) {
            text.push_str(&format!("host: {}\n", quote(DEFAULT_HOST)));
        }
        if o.port.is_none() && self.ports.client == 0 && !user.sets_any(&["port", "listen"]) {
            text.push_str("port: -1\n");
        }
        if o.monitoring && self.ports.monitoring.is_none() && !user.sets_any(MONITORING_KEYS) {
            // The monitoring host follows the client host.
            text.push_str("http_port: -1\n");
        }
        if o.websocket && !user.sets_any(&["websocket", "ws"]) {
            let tls = match (&self.tls, &o.tls) {
                (Some(files), Some(tls)) if tls.websocket => files.websocket_block(tls),
                _ => "  no_tls: true\n".to_string(),
            };
            text.push_str(&format!(
                "websocket {{\n  host: {}\n  port: {}\n{tls}}}\n",
                quote(o.listen_host()),
                port_arg(self.ports.websocket)
            ));
        }
        if o.store_dir.is_none() && !user.mentions_any(&["store_dir", "storedir"]) {
            text.push_str(&format!(
                "store_dir: {}\n",
                quote(&path_arg(&self.dir.join(STORE_DIR)))
            ));
        }
        text.push_str("# 2. The user's configuration.\n");
        if let Some(file) = &o.config_file {
            let absolute = std::path::absolute(file)
                .map_err(|e| Error::io(format!("resolving {}", file.display()), e))?;
            // nats-server joins include paths to the including file's directory, even absolute ones: climb to /.
            let include = relative_to_root(self.dir.path(), &absolute);
            text.push_str(&format!("include {}\n", quote(&include)));
        }
        if let Some(inline) = &o.config {
            text.push_str(inline);
            text.push('\n');
        }
        text.push_str("# 3. Explicit options.\n");
        if let (Some(user), Some(pass)) = (&o.user, &o.password) {
            text.push_str(&format!(
                "authorization {{\n  user: {}\n  password: {}\n}}\n",
                quote(user),
                quote(pass)
            ));
        }
        if let Some(token) = &o.token {
            text.push_str(&format!(
                "authorization {{\n  token: {}\n}}\n",
                quote(token)
            ));
        }
        if let (Some(files), Some(tls)) = (&self.tls, &o.tls) {
            text.push_str(&files.config(tls));
        }
        let leaf_advertise = self
            .leafnode_proxy
            .as_ref()
            .map(|p| p.listen_addr().to_string());
        text.push_str(&links::config_blocks(
            &self.opts,
            &self.ports,
            self.tls.as_ref(),
            leaf_advertise.as_deref(),
        ));
        let path = self.dir.join(CONFIG_FILE);
        if !self.credentials.is_empty() {
            // Passwords and JWTs (the auth options): in this private file only.
            text.push_str(self.credentials.config());
        }
        let mut file = private_file_truncated(&path)?;
        std::io::Write::write_all(&mut file, text.as_bytes())
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))
    }

    fn record_ports(&mut self, ports: &PortsFile) {
        self.ports.client = PortsFile::port_of(&ports.nats).unwrap_or_default();
        self.ports.monitoring = PortsFile::port_of(&ports.monitoring);
        self.ports.websocket = PortsFile::port_of(&ports.websocket);
        self.ports.cluster = PortsFile::port_of(&ports.cluster);
        self.urls = ports.clone();
    }

    /// Turns a failed wait into an error with the server's own words, leaving no process behind.
    fn startup_failure(&mut self, not_ready: NotReady) -> Error {
        let err = match not_ready {
            NotReady::Failed(e) => e,
            NotReady::TimedOut => Error::new(
                ErrorKind::StartupTimeout,
                format!(
                    "nats-server was not ready within {} ms (startup_timeout_ms); a slow or overloaded machine may \
                     need a larger timeout",
                    self.opts.startup_timeout_ms
                ),
            ),
            NotReady::Exited(status) => {
                let words = self.words_since_start();
                let (kind, cause) = classify_exit(&words);
                let port_hint = if kind == ErrorKind::PortInUse {
                    match self.opts.port {
                        Some(p) => format!(" (port {p} was requested; choose another or leave `port` unset)"),
                        None => " (a port kept from an earlier start was taken meanwhile)".to_string(),
                    }
                } else {
                    String::new()
                };
                Error::new(
                    kind,
                    format!(
                        "nats-server exited ({status}) before it was ready: {cause}{port_hint}. It said:\n{}",
                        indent(if words.trim().is_empty() { "(nothing)" } else { &words })
                    ),
                )
            }
        };
        self.fail_start(err)
    }

    /// Kills and reaps whatever runs, and adds the command line and the log's tail to `err`.
    fn fail_start(&mut self, err: Error) -> Error {
        if let Some(child) = self.child.as_mut() {
            let _ = process::kill_and_reap(child);
        }
        self.child = None;
        let command = std::iter::once(self.binary.display().to_string())
            .chain(mask_secrets(self.arguments()))
            .collect::<Vec<_>>()
            .join(" ");
        let mut message = format!("{}\ncommand: {command}", err.message());
        if err.kind() == ErrorKind::StartupTimeout {
            let log = read_from(&self.log_path(), self.log_offset);
            message.push_str(&format!("\nlog so far:\n{}", indent(&tail_lines(&log, 20))));
        }
        Error::new(err.kind(), message)
    }

    /// What the server printed and logged as errors since the last spawn.
    fn words_since_start(&self) -> String {
        let mut words = read_from(&self.dir.join(OUTPUT_FILE), self.output_offset);
        let log = read_from(&self.log_path(), self.log_offset);
        for line in log
            .lines()
            .filter(|l| l.contains("[FTL]") || l.contains("[ERR]"))
        {
            words.push_str(line);
            words.push('\n');
        }
        words.trim().to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if !self.dir.owned_by_this_process() {
            // A forked copy of the owner (e.g. Python's multiprocessing) must not kill the owner's server.
            return;
        }
        if let Some(child) = self.child.as_mut() {
            let _ = process::kill_and_reap(child);
        }
        // `dir` is dropped after this, removing (or keeping) the directory.
    }
}

/// What made a server exit at start, from its own words.
fn classify_exit(words: &str) -> (ErrorKind, &'static str) {
    let lower = words.to_ascii_lowercase();
    if lower.contains("address already in use") {
        (ErrorKind::PortInUse, "a port it needs is already in use")
    } else if lower.contains("flag provided but not defined")
        || lower.contains("usage: nats-server")
    {
        (
            ErrorKind::Config,
            "it does not know one of its command-line options",
        )
    } else if !words.trim().is_empty() {
        (ErrorKind::Config, "it rejected its configuration")
    } else {
        (ErrorKind::ServerExited, "it gave no reason")
    }
}

/// Characters escaped in the user-info part of a URL (RFC 3986 user-info allows unreserved and sub-delims).
const USERINFO: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b':')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'@')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// The arguments with the values of `--pass` and `--auth` replaced, for messages.
fn mask_secrets(args: Vec<String>) -> impl Iterator<Item = String> {
    let mut hide_next = false;
    args.into_iter().map(move |arg| {
        let shown = if hide_next {
            "***".to_string()
        } else {
            arg.clone()
        };
        hide_next = arg == "--pass" || arg == "--auth";
        shown
    })
}

/// A server process after SIGTERM, handed over by [`Server::begin_stop`]; killed and reaped if dropped unfinished.
#[derive(Debug)]
pub(crate) struct Stopping {
    child: Option<Child>,
}

impl Stopping {
    /// Waits up to `timeout` for the exit, then kills; reaps either way.
    pub(crate) fn finish(mut self, timeout: Duration) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if process::wait_timeout(&mut child, timeout)
            .map_err(|e| Error::io("waiting for nats-server to stop", e))?
            .is_none()
        {
            process::kill_and_reap(&mut child).map_err(|e| Error::io("killing nats-server", e))?;
        }
        Ok(())
    }
}

impl Drop for Stopping {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = process::kill_and_reap(child);
        }
    }
}

/// The scheme of a listener's first URL in the ports file (`wss`, `https`, `tls`, ...), else `default`.
fn scheme_of<'a>(urls: &'a [String], default: &'a str) -> &'a str {
    urls.first()
        .and_then(|u| u.split_once("://"))
        .map_or(default, |(scheme, _)| scheme)
}

/// The host of a URL such as `nats://[::1]:4222`, without brackets.
fn url_host_part(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (host, _) = rest.rsplit_once(':')?;
    Some(host.trim_start_matches('[').trim_end_matches(']'))
}

/// Host and port of a route URL as `/varz` lists it (`nats://127.0.0.1:6222` or `127.0.0.1:6222`).
fn split_host_port(url: &str) -> Option<(String, u16)> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest
        .rsplit_once('@')
        .map_or(rest, |(_, r)| r)
        .trim_end_matches('/');
    let (host, port) = rest.rsplit_once(':')?;
    Some((
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port.parse().ok()?,
    ))
}

/// Opens a file of the harness's for appending, created readable by the owner only (it may hold secrets).
fn private_file(path: &Path) -> Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))
}

/// Opens a file of the harness's for writing from scratch, created readable by the owner only.
fn private_file_truncated(path: &Path) -> Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))
}

fn nonzero(port: u16) -> Option<u16> {
    (port != 0).then_some(port)
}

fn port_arg(port: Option<u16>) -> String {
    port.map_or_else(|| "-1".to_string(), |p| p.to_string())
}

fn path_arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// A config-file string literal.
fn quote(text: &str) -> String {
    serde_json::to_string(text).expect("strings always serialize")
}

/// A path that, joined to `from`, names `to`: enough `..` to climb to the root, then `to` without its root.
fn relative_to_root(from: &Path, to: &Path) -> String {
    let depth = from
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .count();
    let mut rel = "../".repeat(depth);
    rel.push_str(to.to_string_lossy().trim_start_matches('/'));
    rel
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn read_from(path: &Path, offset: u64) -> String {
    let Ok(mut file) = fs::File::open(path) else {
        return String::new();
    };
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(offset)).is_err() || file.read_to_end(&mut bytes).is_err() {
        return String::new();
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn tail_lines(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let mut out = all[all.len().saturating_sub(lines)..].join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_path_climbs_to_root() {
        let rel = relative_to_root(Path::new("/tmp/a/b"), Path::new("/home/u/x.conf"));
        assert_eq!(rel, "../../../home/u/x.conf");
    }

    #[test]
    fn secrets_are_masked_in_messages() {
        let args = ["--user", "u", "--pass", "p", "--auth", "t", "-p", "4222"]
            .map(String::from)
            .to_vec();
        let shown: Vec<String> = mask_secrets(args).collect();
        assert_eq!(
            shown,
            ["--user", "u", "--pass", "***", "--auth", "***", "-p", "4222"]
        );
    }

    #[test]
    fn userinfo_is_encoded() {
        let enc = utf8_percent_encode("a@b:c/d e", USERINFO).to_string();
        assert_eq!(enc, "a%40b%3Ac%2Fd%20e");
    }

    #[test]
    fn exits_are_classified() {
        assert_eq!(
            classify_exit("[FTL] Error listening on port: 127.0.0.1:4222, \"listen tcp 127.0.0.1:4222: bind: address already in use\"").0,
            ErrorKind::PortInUse
        );
        assert_eq!(
            classify_exit("flag provided but not defined: -bogus").0,
            ErrorKind::Config
        );
        assert_eq!(
            classify_exit("nats-server: x.conf:1:3: unknown field").0,
            ErrorKind::Config
        );
        assert_eq!(classify_exit("").0, ErrorKind::ServerExited);
    }
}
