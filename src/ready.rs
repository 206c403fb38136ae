//! Readiness: the ports file, the client INFO line, and monitoring requests. Every wait races the child's exit
//! and polls in steps of a fraction of a millisecond, growing to a few milliseconds at most.

use std::io::{BufRead, BufReader};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};

/// The listeners a server reports in its ports file (`--ports_file_dir`), written once all are up.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PortsFile {
    pub nats: Vec<String>,
    pub monitoring: Vec<String>,
    pub cluster: Vec<String>,
    pub websocket: Vec<String>,
}

impl PortsFile {
    /// The port of the first URL of a listener, if it is open.
    pub fn port_of(urls: &[String]) -> Option<u16> {
        let first = urls.first()?;
        let host_port = first.rsplit("://").next()?;
        host_port
            .rsplit(':')
            .next()?
            .trim_end_matches('/')
            .parse()
            .ok()
    }
}

/// How a wait for start-up ended when it did not succeed.
#[derive(Debug)]
pub enum NotReady {
    /// The process exited first.
    Exited(ExitStatus),
    /// The deadline passed.
    TimedOut,
    /// The harness could not poll.
    Failed(Error),
}

/// A polling pause that starts at 50 µs and doubles up to `max`.
pub struct Backoff {
    pause: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(max: Duration) -> Self {
        Backoff {
            pause: Duration::from_micros(50),
            max,
        }
    }

    /// Sleeps for the current pause (never past `deadline`) and grows it.
    pub fn sleep(&mut self, deadline: Instant) {
        let left = deadline.saturating_duration_since(Instant::now());
        std::thread::sleep(self.pause.min(left));
        self.pause = (self.pause * 2).min(self.max);
    }
}

/// Waits for the ports file of `child` (started from `binary`) in `dir`, racing the child's exit. The server
/// names it `<file name of argv[0]>_<pid>.ports`, so the path is known and each poll is one `open`. A partially
/// written file is read again.
pub fn wait_for_ports_file(
    dir: &Path,
    binary: &Path,
    child: &mut Child,
    deadline: Instant,
) -> Result<PortsFile, NotReady> {
    let mut name = binary
        .file_name()
        .unwrap_or(binary.as_os_str())
        .to_os_string();
    name.push(format!("_{}.ports", child.id()));
    let path = dir.join(name);
    // Fine steps: the server is ready ~10 ms after spawn, and each step late is pure overhead.
    let mut backoff = Backoff::new(Duration::from_micros(500));
    loop {
        if let Some(found) = read_ports_file(&path) {
            return Ok(found);
        }
        match child.try_wait() {
            Ok(Some(status)) => return Err(NotReady::Exited(status)),
            Ok(None) => {}
            Err(e) => return Err(NotReady::Failed(Error::io("waiting for nats-server", e))),
        }
        if Instant::now() >= deadline {
            return Err(NotReady::TimedOut);
        }
        backoff.sleep(deadline);
    }
}

fn read_ports_file(path: &Path) -> Option<PortsFile> {
    let text = std::fs::read_to_string(path).ok()?;
    // Written non-atomically: an incomplete document fails to parse and is read again later.
    let ports: PortsFile = serde_json::from_str(&text).ok()?;
    (!ports.nats.is_empty()).then_some(ports)
}

/// The address to dial for a listener bound to `host` (a wildcard host is dialled on loopback).
pub fn dial_host(host: &str) -> &str {
    match host {
        "0.0.0.0" | "" => "127.0.0.1",
        "::" | "[::]" => "::1",
        other => other,
    }
}

/// A host as it appears in a URL: IPv6 addresses in brackets.
pub fn url_host(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// Connects to a client port and reads the server's `INFO` line (sent before any TLS handshake).
pub fn read_info(host: &str, port: u16, timeout: Duration) -> std::io::Result<Value> {
    let host = dial_host(host)
        .trim_start_matches('[')
        .trim_end_matches(']');
    let addr = (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("{host} does not resolve")))?;
    let stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    let mut reader = BufReader::new(&stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    // Hang up and wait for the server to hang up too: once it has, it has dropped this connection, so the
    // harness never counts as a client (in connection counts, or holding back lame duck mode).
    stream.shutdown(std::net::Shutdown::Write)?;
    std::io::copy(&mut reader, &mut std::io::sink())?;
    let json = line.trim().strip_prefix("INFO ").ok_or_else(|| {
        std::io::Error::other(format!("expected an INFO line, got {:?}", line.trim()))
    })?;
    serde_json::from_str(json).map_err(std::io::Error::other)
}

/// GETs `url` and returns the HTTP status and body parsed as JSON (`Value::Null` when the body is not JSON).
/// `timeout` bounds each phase (connect, send, answer, body).
pub fn http_get(url: &str, timeout: Duration) -> Result<(u16, Value)> {
    // No global or resolve timeout: with one, ureq resolves the host on a new thread and waits on a channel, which
    // creates a `std::thread::current()` handle on the calling thread (valgrind's "possibly lost" for a C caller).
    // The hosts are IP literals or `localhost`, resolved at once without a timeout.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(timeout))
        .timeout_send_request(Some(timeout))
        .timeout_recv_response(Some(timeout))
        .timeout_recv_body(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .get(url)
        .call()
        .map_err(|e| Error::new(ErrorKind::Monitoring, format!("GET {url} failed: {e}")))?;
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().map_err(|e| {
        Error::new(
            ErrorKind::Monitoring,
            format!("reading the answer to GET {url}: {e}"),
        )
    })?;
    Ok((status, serde_json::from_str(&body).unwrap_or(Value::Null)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_of_urls() {
        let urls = vec![
            "nats://127.0.0.1:4222".to_string(),
            "nats://[::1]:4222".to_string(),
        ];
        assert_eq!(PortsFile::port_of(&urls), Some(4222));
        assert_eq!(
            PortsFile::port_of(&["http://[::1]:8222".to_string()]),
            Some(8222)
        );
        assert_eq!(PortsFile::port_of(&[]), None);
    }

    #[test]
    fn partial_ports_file_is_not_ready() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nats-server_42.ports");
        assert!(read_ports_file(&path).is_none(), "not there yet");
        std::fs::write(&path, r#"{"nats":["nats://127.0.0.1:4"#).unwrap();
        assert!(read_ports_file(&path).is_none());
        std::fs::write(
            &path,
            r#"{"nats":["nats://127.0.0.1:4222"],"monitoring":["http://127.0.0.1:8222"]}"#,
        )
        .unwrap();
        let ports = read_ports_file(&path).unwrap();
        assert_eq!(PortsFile::port_of(&ports.monitoring), Some(8222));
    }
}
