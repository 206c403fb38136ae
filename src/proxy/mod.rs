//! A TCP fault proxy on loopback: the harness puts one in front of a link (a server's client port, a route between
//! two cluster nodes) and a test injects faults into it at run time.
//!
//! Threads, no async runtime: one accepting thread per proxy, and per connection one watcher thread plus a reader
//! and a writer per direction. A [`Proxy`] owns all of them: [`Proxy::close`] (or drop) closes every connection,
//! stops accepting and joins every thread, so a proxy never outlives its owner (a server or a cluster).

mod fault;
mod link;
pub(crate) mod routes;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use fault::{Direction, Fault, FaultKind};

use crate::error::{Error, ErrorKind, Result};
use link::Conn;

/// How long an accepted connection waits for the proxy to learn where to forward (cluster formation).
const TARGET_WAIT: Duration = Duration::from_secs(30);
/// How long the proxy tries to reach its target.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A fault proxy: listens on loopback and forwards every connection to its target, through its faults.
///
/// All methods take `&self` and may be called from any thread while data flows. Faults apply to open connections
/// at once and to new ones; each connection decides once per fault, with the fault's toxicity, whether it applies.
#[derive(Debug)]
pub struct Proxy {
    shared: Arc<Shared>,
    listen: SocketAddr,
    accepting: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Signalled on every change: faults, enable/disable, target, a connection's thread ending, close.
    changed: Condvar,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    target: Option<SocketAddr>,
    disabled: bool,
    closed: bool,
    faults: Vec<ActiveFault>,
    serial: u64,
    conns: HashMap<u64, Arc<Conn>>,
    next_conn: u64,
    watchers: Vec<JoinHandle<()>>,
}

/// A fault as installed: `serial` changes when it is added or updated, so connections roll its toxicity again.
#[derive(Clone, Debug)]
pub(crate) struct ActiveFault {
    fault: Fault,
    serial: u64,
}

impl Proxy {
    /// Starts a proxy on `listen_host` (an IP address, e.g. `127.0.0.1`), on a port the system chooses,
    /// forwarding to `target`.
    pub fn new(listen_host: &str, target: SocketAddr) -> Result<Proxy> {
        Proxy::start(listen_host, Some(target))
    }

    /// A proxy whose target is set later ([`Proxy::set_target`]); connections wait for it.
    pub(crate) fn start(listen_host: &str, target: Option<SocketAddr>) -> Result<Proxy> {
        let ip: std::net::IpAddr = listen_host.parse().map_err(|_| {
            Error::new(
                ErrorKind::InvalidOptions,
                format!("proxy listen host {listen_host:?} must be an IP address"),
            )
        })?;
        let listener = TcpListener::bind((ip, 0))
            .map_err(|e| Error::io(format!("binding a fault proxy on {ip}"), e))?;
        let listen = listener
            .local_addr()
            .map_err(|e| Error::io("reading the fault proxy's address", e))?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                target,
                ..State::default()
            }),
            changed: Condvar::new(),
        });
        let accepting = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("proxy {}", listen.port()))
                .spawn(move || accept_loop(&shared, &listener))
                .map_err(|e| Error::io("starting the fault proxy's thread", e))?
        };
        Ok(Proxy {
            shared,
            listen,
            accepting: Mutex::new(Some(accepting)),
        })
    }

    /// The address clients connect to.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.listen.port()
    }

    /// Where connections are forwarded (`None` while a cluster is still forming).
    pub fn target(&self) -> Option<SocketAddr> {
        self.shared.lock().target
    }

    pub(crate) fn set_target(&self, target: SocketAddr) {
        self.shared.lock().target = Some(target);
        self.shared.changed.notify_all();
    }

    /// Adds a fault. Its name must not be in use on this proxy.
    pub fn add(&self, fault: Fault) -> Result<()> {
        let fault = fault.validated()?;
        let mut state = self.open_state("add a fault")?;
        if state.faults.iter().any(|f| f.fault.name == fault.name) {
            return Err(Error::new(
                ErrorKind::InvalidOptions,
                format!(
                    "a fault named {:?} already exists on this proxy; remove or update it, or choose another name",
                    fault.name
                ),
            ));
        }
        state.serial += 1;
        let serial = state.serial;
        state.faults.push(ActiveFault { fault, serial });
        drop(state);
        self.shared.changed.notify_all();
        Ok(())
    }

    /// Replaces the fault with the same name (connections decide again whether it applies to them).
    pub fn update(&self, fault: Fault) -> Result<()> {
        let fault = fault.validated()?;
        let mut state = self.open_state("update a fault")?;
        state.serial += 1;
        let serial = state.serial;
        let Some(slot) = state.faults.iter_mut().find(|f| f.fault.name == fault.name) else {
            return Err(no_such_fault(&fault.name));
        };
        *slot = ActiveFault { fault, serial };
        drop(state);
        self.shared.changed.notify_all();
        Ok(())
    }

    /// Removes the fault named `name`.
    pub fn remove(&self, name: &str) -> Result<()> {
        let mut state = self.open_state("remove a fault")?;
        let before = state.faults.len();
        state.faults.retain(|f| f.fault.name != name);
        if state.faults.len() == before {
            return Err(no_such_fault(name));
        }
        drop(state);
        self.shared.changed.notify_all();
        Ok(())
    }

    /// Removes every fault (the link's up/down state is kept).
    pub fn remove_all(&self) -> Result<()> {
        self.open_state("remove faults")?.faults.clear();
        self.shared.changed.notify_all();
        Ok(())
    }

    /// The faults installed, in the order they were added.
    pub fn faults(&self) -> Vec<Fault> {
        self.shared
            .lock()
            .faults
            .iter()
            .map(|f| f.fault.clone())
            .collect()
    }

    /// Takes the link down: closes every open connection and refuses new ones (accepted, then reset at once).
    pub fn disable(&self) -> Result<()> {
        let mut state = self.open_state("take the link down")?;
        state.disabled = true;
        for conn in state.conns.values() {
            conn.close(false);
        }
        drop(state);
        self.shared.changed.notify_all();
        Ok(())
    }

    /// Brings the link up again after [`Proxy::disable`].
    pub fn enable(&self) -> Result<()> {
        self.open_state("bring the link up")?.disabled = false;
        self.shared.changed.notify_all();
        Ok(())
    }

    /// Whether the link is up (not disabled, not closed).
    pub fn is_enabled(&self) -> bool {
        let state = self.shared.lock();
        !state.disabled && !state.closed
    }

    /// The number of connections open through the proxy.
    pub fn connection_count(&self) -> usize {
        self.shared.lock().conns.len()
    }

    /// The local ports of the proxy's own connections to its target: what the target sees as their remote port.
    pub fn target_side_ports(&self) -> Vec<u16> {
        self.shared
            .lock()
            .conns
            .values()
            .map(|c| c.target_side_port)
            .collect()
    }

    /// Closes every connection, stops listening and joins every thread. Later calls that change the proxy fail
    /// with [`ErrorKind::NotRunning`]. Closing twice is a no-op.
    pub fn close(&self) {
        let watchers = {
            let mut state = self.shared.lock();
            state.closed = true;
            for conn in state.conns.values() {
                conn.close(false);
            }
            std::mem::take(&mut state.watchers)
        };
        self.shared.changed.notify_all();
        let accepting = self
            .accepting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(accepting) = accepting {
            // Wake the blocking accept; it sees `closed` and returns, dropping the listener.
            let _ = TcpStream::connect_timeout(&self.listen, Duration::from_secs(1));
            let _ = accepting.join();
        }
        for watcher in watchers {
            let _ = watcher.join();
        }
        // A connection accepted just before the close may have registered a watcher meanwhile.
        let late = std::mem::take(&mut self.shared.lock().watchers);
        for watcher in late {
            let _ = watcher.join();
        }
    }

    /// Whether [`Proxy::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }

    fn open_state(&self, what: &str) -> Result<MutexGuard<'_, State>> {
        let state = self.shared.lock();
        if state.closed {
            return Err(Error::new(
                ErrorKind::NotRunning,
                format!(
                    "cannot {what}: the fault proxy on port {} is closed (its server or cluster was dropped or it was closed)",
                    self.listen.port()
                ),
            ));
        }
        Ok(state)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.close();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn no_such_fault(name: &str) -> Error {
    Error::new(
        ErrorKind::InvalidOptions,
        format!("no fault named {name:?} on this proxy"),
    )
}

fn accept_loop(shared: &Arc<Shared>, listener: &TcpListener) {
    for incoming in listener.incoming() {
        let mut state = shared.lock();
        if state.closed {
            return;
        }
        let Ok(client) = incoming else {
            // Out of descriptors or an aborted handshake: keep serving.
            drop(state);
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        if state.disabled {
            link::reset(&client);
            continue;
        }
        state.watchers.retain(|w| !w.is_finished());
        let id = state.next_conn;
        state.next_conn += 1;
        let shared2 = shared.clone();
        match std::thread::Builder::new()
            .name(format!("proxy conn {id}"))
            .spawn(move || serve(&shared2, id, client))
        {
            Ok(watcher) => state.watchers.push(watcher),
            Err(_) => continue,
        }
    }
}

/// Forwards one accepted connection until it ends; runs the fault timers (timeout, reset_peer) meanwhile.
fn serve(shared: &Arc<Shared>, id: u64, client: TcpStream) {
    let Some(target) = wait_for_target(shared) else {
        link::reset(&client);
        return;
    };
    let Ok(server) = TcpStream::connect_timeout(&target, CONNECT_TIMEOUT) else {
        link::reset(&client);
        return;
    };
    let Ok(conn) = Conn::new(client, server) else {
        return;
    };
    let conn = Arc::new(conn);
    {
        let mut state = shared.lock();
        if state.closed || state.disabled {
            conn.close(false);
        }
        state.conns.insert(id, conn.clone());
    }
    let pumps = link::spawn_pumps(shared, &conn);
    watch(shared, &conn, pumps.len());
    for pump in pumps {
        let _ = pump.join();
    }
    shared.lock().conns.remove(&id);
}

fn wait_for_target(shared: &Shared) -> Option<SocketAddr> {
    let deadline = Instant::now() + TARGET_WAIT;
    let mut state = shared.lock();
    loop {
        if state.closed || state.disabled {
            return None;
        }
        if let Some(target) = state.target {
            return Some(target);
        }
        let left = deadline.checked_duration_since(Instant::now())?;
        state = shared
            .changed
            .wait_timeout(state, left)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

/// Waits until all `pumps` threads of `conn` have ended, closing or resetting it when a timeout or reset_peer
/// fault's time comes.
fn watch(shared: &Shared, conn: &Conn, pumps: usize) {
    let mut state = shared.lock();
    loop {
        if conn.finished_pumps() >= pumps {
            return;
        }
        let mut next: Option<Instant> = None;
        if !conn.is_closing() {
            for (fault, since) in conn.applying(&state, None) {
                let (after, reset) = match fault.kind {
                    FaultKind::Timeout { timeout } if timeout > 0 => (timeout, false),
                    FaultKind::ResetPeer { timeout } => (timeout, true),
                    _ => continue,
                };
                let due = since + Duration::from_millis(after);
                if due <= Instant::now() {
                    conn.close(reset);
                    next = None;
                    break;
                }
                next = Some(next.map_or(due, |n| n.min(due)));
            }
        }
        state = match next {
            Some(due) => {
                let left = due.saturating_duration_since(Instant::now());
                shared
                    .changed
                    .wait_timeout(state, left)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
            None => shared
                .changed
                .wait(state)
                .unwrap_or_else(|e| e.into_inner()),
        };
    }
}
