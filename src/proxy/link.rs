//! One proxied connection: a reader and a writer thread per direction, faults applied by the writer.
//!
//! The reader timestamps each piece of data as it arrives and hands it over a small bounded queue (so a slow
//! writer, e.g. under a bandwidth limit, pushes back on the sender as a slow network does); the writer applies the
//! faults of its direction that this connection rolled, then writes. A [`Conn`] is owned by its proxy's state and
//! by its threads; its sockets close when the last of them lets go.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Direction, Fault, FaultKind, Shared, State};
use crate::unique::random_u64;

/// Bytes read at once.
const READ_SIZE: usize = 32 * 1024;
/// Pieces queued between a reader and its writer.
const QUEUE: usize = 16;

enum Chunk {
    Data(Vec<u8>, Instant),
    /// The sender closed its side (EOF).
    Closed,
    /// Reading failed (e.g. the peer reset).
    Failed,
}

/// Whether a fault applies to this connection (rolled once with its toxicity) and since when.
#[derive(Clone, Copy, Debug)]
struct Roll {
    applies: bool,
    since: Instant,
}

/// A proxied connection: the client's socket and the proxy's socket to the target.
#[derive(Debug)]
pub(crate) struct Conn {
    client: TcpStream,
    server: TcpStream,
    /// The local port of the socket to the target (the target sees it as the remote port).
    pub(crate) target_side_port: u16,
    rolls: Mutex<HashMap<u64, Roll>>,
    closing: Mutex<bool>,
    wake: Condvar,
    finished: AtomicUsize,
}

impl Conn {
    pub(crate) fn new(client: TcpStream, server: TcpStream) -> std::io::Result<Conn> {
        client.set_nodelay(true)?;
        server.set_nodelay(true)?;
        let target_side_port = server.local_addr()?.port();
        Ok(Conn {
            client,
            server,
            target_side_port,
            rolls: Mutex::new(HashMap::new()),
            closing: Mutex::new(false),
            wake: Condvar::new(),
            finished: AtomicUsize::new(0),
        })
    }

    /// The faults of `direction` (all when `None`) that apply to this connection, with the moment each began to.
    /// Rolls a fault's toxicity the first time this connection sees it.
    pub(crate) fn applying(
        &self,
        state: &State,
        direction: Option<Direction>,
    ) -> Vec<(Fault, Instant)> {
        let mut rolls = self.rolls.lock().unwrap_or_else(|e| e.into_inner());
        state
            .faults
            .iter()
            .filter(|f| direction.is_none_or(|d| f.fault.stream == d))
            .filter_map(|f| {
                let roll = *rolls.entry(f.serial).or_insert_with(|| Roll {
                    applies: roll(f.fault.toxicity),
                    since: Instant::now(),
                });
                roll.applies.then(|| (f.fault.clone(), roll.since))
            })
            .collect()
    }

    /// Closes both sides (FIN), or with `reset` sends the client a TCP RST (as toxiproxy's reset_peer does).
    pub(crate) fn close(&self, reset: bool) {
        let mut closing = self.closing.lock().unwrap_or_else(|e| e.into_inner());
        if *closing {
            return;
        }
        *closing = true;
        self.wake.notify_all();
        if reset {
            // Linger 0 makes the last close of the socket an RST; shutting down only the read side wakes the
            // reader without sending a FIN first.
            let _ = socket2::SockRef::from(&self.client).set_linger(Some(Duration::ZERO));
            let _ = self.client.shutdown(Shutdown::Read);
        } else {
            let _ = self.client.shutdown(Shutdown::Both);
        }
        let _ = self.server.shutdown(Shutdown::Both);
    }

    pub(crate) fn is_closing(&self) -> bool {
        *self.closing.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn finished_pumps(&self) -> usize {
        self.finished.load(Ordering::SeqCst)
    }

    /// Sleeps until `until`; returns false (early) when the connection is closing.
    fn sleep_until(&self, until: Instant) -> bool {
        let mut closing = self.closing.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if *closing {
                return false;
            }
            let Some(left) = until.checked_duration_since(Instant::now()) else {
                return true;
            };
            closing = self
                .wake
                .wait_timeout(closing, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

fn roll(toxicity: f64) -> bool {
    toxicity >= 1.0 || (random_u64() as f64 / u64::MAX as f64) < toxicity
}

/// Accepts a connection's end and resets it at once (a refused connection, as the peer sees it).
pub(crate) fn reset(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
}

/// Starts the four threads of `conn`; each counts itself finished and wakes the watcher when it ends.
pub(crate) fn spawn_pumps(shared: &Arc<Shared>, conn: &Arc<Conn>) -> Vec<JoinHandle<()>> {
    let mut threads = Vec::new();
    for direction in Direction::BOTH {
        let (from, to) = match direction {
            Direction::Upstream => (&conn.client, &conn.server),
            Direction::Downstream => (&conn.server, &conn.client),
        };
        let (Ok(from), Ok(to)) = (from.try_clone(), to.try_clone()) else {
            conn.close(false);
            continue;
        };
        let (tx, rx) = sync_channel(QUEUE);
        let reader = {
            let (shared, conn) = (shared.clone(), conn.clone());
            move || {
                read_into(from, &tx);
                done(&shared, &conn);
            }
        };
        let writer = {
            let (shared, conn) = (shared.clone(), conn.clone());
            move || {
                write_from(&shared, &conn, direction, to, &rx);
                done(&shared, &conn);
            }
        };
        for (name, body) in [
            ("read", Box::new(reader) as Box<dyn FnOnce() + Send>),
            ("write", Box::new(writer)),
        ] {
            match std::thread::Builder::new()
                .name(format!("proxy {name} {}", direction.name()))
                .spawn(body)
            {
                Ok(thread) => threads.push(thread),
                Err(_) => conn.close(false),
            }
        }
    }
    threads
}

fn done(shared: &Shared, conn: &Conn) {
    conn.finished.fetch_add(1, Ordering::SeqCst);
    drop(shared.lock());
    shared.changed.notify_all();
}

fn read_into(mut from: TcpStream, tx: &SyncSender<Chunk>) {
    let mut buf = vec![0u8; READ_SIZE];
    loop {
        let chunk = match from.read(&mut buf) {
            Ok(0) => Chunk::Closed,
            Ok(n) => Chunk::Data(buf[..n].to_vec(), Instant::now()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => Chunk::Failed,
        };
        let last = !matches!(chunk, Chunk::Data(..));
        if tx.send(chunk).is_err() || last {
            return;
        }
    }
}

fn write_from(
    shared: &Shared,
    conn: &Conn,
    direction: Direction,
    mut to: TcpStream,
    rx: &Receiver<Chunk>,
) {
    let mut sent: u64 = 0;
    let mut bandwidth_free = Instant::now();
    while let Ok(chunk) = rx.recv() {
        let faults: Vec<Fault> = conn
            .applying(&shared.lock(), Some(direction))
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        let (mut data, at) = match chunk {
            Chunk::Data(data, at) => (data, at),
            Chunk::Closed => {
                for fault in &faults {
                    if let FaultKind::SlowClose { delay } = fault.kind {
                        if !conn.sleep_until(Instant::now() + Duration::from_millis(delay)) {
                            return;
                        }
                    }
                }
                if !conn.is_closing() {
                    // Pass the half-close on; the other direction may still flow.
                    let _ = to.shutdown(Shutdown::Write);
                }
                return;
            }
            Chunk::Failed => {
                conn.close(false);
                return;
            }
        };
        if faults
            .iter()
            .any(|f| matches!(f.kind, FaultKind::Timeout { .. }))
        {
            continue; // data stops (the watcher closes the connection when the timeout says so)
        }
        let mut close_after = false;
        let mut piece_max = usize::MAX;
        let mut rate: Option<u64> = None;
        let mut slicer: Option<(usize, usize, u64)> = None;
        let mut delay = Duration::ZERO;
        for fault in &faults {
            match fault.kind {
                FaultKind::LimitData { bytes } => {
                    let room = bytes.saturating_sub(sent);
                    if data.len() as u64 >= room {
                        data.truncate(usize::try_from(room).unwrap_or(usize::MAX));
                        close_after = true;
                    }
                }
                FaultKind::Latency { latency, jitter } => {
                    let mut ms = latency as i64;
                    if jitter > 0 {
                        let spread = (random_u64() % (2 * jitter + 1)) as i64;
                        ms += spread - jitter as i64;
                    }
                    delay += Duration::from_millis(ms.max(0) as u64);
                }
                FaultKind::Bandwidth { rate: r } => {
                    rate = Some(r);
                    // At most 100 ms worth at once, as toxiproxy does.
                    piece_max =
                        piece_max.min(usize::try_from(r * 100).unwrap_or(usize::MAX).max(1));
                }
                FaultKind::Slicer {
                    average_size,
                    size_variation,
                    delay,
                } => slicer = Some((average_size, size_variation, delay)),
                _ => {}
            }
        }
        if !delay.is_zero() && !conn.sleep_until(at + delay) {
            return;
        }
        let mut rest: &[u8] = &data;
        while !rest.is_empty() {
            let mut size = piece_max;
            if let Some((average, variation, _)) = slicer {
                let offset = if variation > 0 {
                    (random_u64() % (2 * variation as u64 + 1)) as usize
                } else {
                    variation
                };
                size = size.min(average + offset - variation);
            }
            let (piece, tail) = rest.split_at(size.min(rest.len()));
            if to.write_all(piece).is_err() {
                conn.close(false);
                return;
            }
            sent += piece.len() as u64;
            rest = tail;
            let mut pause_until = Instant::now();
            if let Some(rate) = rate {
                let cost = Duration::from_secs_f64(piece.len() as f64 / (rate as f64 * 1000.0));
                bandwidth_free = bandwidth_free.max(Instant::now()) + cost;
                pause_until = pause_until.max(bandwidth_free);
            }
            if let Some((_, _, micros)) = slicer {
                if !rest.is_empty() {
                    pause_until = pause_until.max(Instant::now() + Duration::from_micros(micros));
                }
            }
            if pause_until > Instant::now() && !conn.sleep_until(pause_until) {
                return;
            }
        }
        if close_after {
            conn.close(false);
            return;
        }
    }
}
