//! nats.py's 15 legacy server fixture kinds (nats/tests/utils.py), each written as harness options, started and
//! connected to with a real client (async-nats; rustls, as async-nats re-exports it, for websocket over TLS). The
//! README lists the same options, one line each.

mod common;

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use async_nats::ConnectOptions;
use common::*;
use nats_server::{Cluster, ClusterOptions, Keep, Server, ServerOptions};

fn run_json(json: &str) -> Server {
    let opts = ServerOptions::from_json(json)
        .unwrap_or_else(|e| panic!("{json}: {e}"))
        .keep(Keep::Never);
    Server::run(&opts).unwrap_or_else(|e| panic!("{json}: {e}"))
}

/// Connects, checks the connection with a request to the client's own subscription, and returns the client.
async fn connect(url: &str, opts: ConnectOptions) -> async_nats::Client {
    let client = opts
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let inbox = client.new_inbox();
    let mut sub = client.subscribe(inbox.clone()).await.unwrap();
    client.publish(inbox, "hi".into()).await.unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(5), futures::StreamExt::next(&mut sub))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(msg.payload.as_ref(), b"hi");
    client
}

#[tokio::test]
async fn single() {
    let s = run_json("{}");
    connect(&s.client_url(), ConnectOptions::new()).await;
}

#[tokio::test]
async fn user_password() {
    let s = run_json(r#"{"user": "foo", "password": "bar"}"#);
    connect(
        &s.client_url(),
        ConnectOptions::with_user_and_password("foo".into(), "bar".into()),
    )
    .await;
    assert!(async_nats::connect(s.client_url()).await.is_err());
}

#[tokio::test]
async fn token() {
    let s = run_json(r#"{"token": "secret"}"#);
    connect(&s.client_url(), ConnectOptions::with_token("secret".into())).await;
    assert!(async_nats::connect(s.client_url()).await.is_err());
}

#[tokio::test]
async fn nkeys() {
    let s = run_json(r#"{"users": [{"user": "alice", "nkey": true}]}"#);
    connect(
        &s.client_url(),
        ConnectOptions::with_nkey(s.nkey_seed("alice").unwrap()),
    )
    .await;
}

#[tokio::test]
async fn trusted_operator_with_preloaded_resolver() {
    let s = run_json(r#"{"operator": true, "accounts": {"A": {"users": [{"user": "a"}]}}}"#);
    let opts = ConnectOptions::with_credentials_file(s.creds("A", "a").unwrap())
        .await
        .unwrap();
    connect(&s.client_url(), opts).await;
}

#[tokio::test]
async fn jetstream() {
    let s = run_json(r#"{"jetstream": true}"#);
    let client = connect(&s.client_url(), ConnectOptions::new()).await;
    let info = async_nats::jetstream::new(client)
        .query_account()
        .await
        .unwrap();
    assert_eq!(info.streams, 0);
}

#[tokio::test]
async fn jetstream_limits() {
    let s = run_json(
        r#"{"jetstream": true, "jetstream_limits": {"max_memory": 1048576, "max_file": 2097152}}"#,
    );
    connect(&s.client_url(), ConnectOptions::new()).await;
    let jsz = s.monitor("jsz").unwrap();
    assert_eq!(jsz["config"]["max_memory"], 1048576, "{jsz}");
    assert_eq!(jsz["config"]["max_storage"], 2097152, "{jsz}");
}

#[tokio::test]
async fn no_auth_user() {
    let s = run_json(
        r#"{"users": [{"user": "foo", "password": "bar"}, {"user": "guest", "password": "g",
            "permissions": {"publish": {"allow": ["_INBOX.>"]}, "subscribe": {"allow": ["_INBOX.>"]}}}],
            "no_auth_user": "guest"}"#,
    );
    // No credentials: the client is "guest".
    connect(&s.client_url(), ConnectOptions::new()).await;
}

/// Sends a websocket upgrade request over `conn` and returns the start of the answer.
fn websocket_handshake(conn: &mut impl ReadWrite, port: u16) -> String {
    write!(
        conn,
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    conn.flush().unwrap();
    let mut answer = [0u8; 64];
    let n = conn.read(&mut answer).unwrap();
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

#[test]
fn websocket() {
    let s = run_json(r#"{"websocket": true}"#);
    // A websocket handshake on the listener (async-nats is built here without its websocket feature).
    let port = s.ports().websocket.unwrap();
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let answer = websocket_handshake(&mut conn, port);
    assert!(answer.starts_with("HTTP/1.1 101"), "{answer}");
}

#[tokio::test]
async fn tls() {
    let s = run_json(r#"{"tls": true}"#);
    assert!(s.client_url().starts_with("tls://"), "{}", s.client_url());
    connect(&s.client_url(), verifying(&s)).await;
    // Without TLS the server refuses the client.
    let plain = s.client_url().replace("tls://", "nats://");
    assert!(async_nats::connect(plain).await.is_err());
}

#[tokio::test]
async fn tls_handshake_first() {
    if skip_before(2, 10, "handshake_first arrived in nats-server 2.10") {
        return;
    }
    let s = run_json(r#"{"tls": {"handshake_first": true}}"#);
    connect(&s.client_url(), verifying(&s).tls_first()).await;
}

#[tokio::test]
async fn tls_with_auth() {
    let s = run_json(r#"{"tls": true, "user": "foo", "password": "bar"}"#);
    let with_auth = verifying(&s).user_and_password("foo".into(), "bar".into());
    connect(&s.client_url(), with_auth).await;
    assert!(verifying(&s).connect(s.client_url()).await.is_err());
}

#[test]
fn websocket_over_tls() {
    use async_nats::rustls::{self, pki_types::pem::PemObject, pki_types::CertificateDer};
    let s = run_json(r#"{"websocket": true, "tls": {"websocket": true}}"#);
    let url = s.websocket_url().unwrap();
    assert!(url.starts_with("wss://"), "{url}");
    // A websocket handshake inside a TLS session that verifies the listener against the generated CA.
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(s.ca_file().unwrap()).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let port = s.ports().websocket.unwrap();
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let session =
        rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().unwrap()).unwrap();
    let mut conn = rustls::StreamOwned::new(session, tcp);
    let answer = websocket_handshake(&mut conn, port);
    assert!(answer.starts_with("HTTP/1.1 101"), "{answer}");
}

/// Client options that trust exactly the server's generated CA.
fn verifying(s: &Server) -> ConnectOptions {
    ConnectOptions::new()
        .add_root_certificates(s.ca_file().unwrap().to_path_buf())
        .require_tls(true)
}

#[tokio::test]
async fn clustering_on_fixed_ports() {
    let (c1, c2, r1, r2) = (quiet_port(), quiet_port(), quiet_port(), quiet_port());
    let node = |client: u16, route: u16, peer: u16| {
        format!(
            r#"{{"port": {client}, "cluster": {{"name": "fixed", "port": {route},
                "routes": ["nats://127.0.0.1:{peer}"]}}}}"#
        )
    };
    let a = run_json(&node(c1, r1, r2));
    let b = run_json(&node(c2, r2, r1));
    assert_eq!((a.client_port(), b.client_port()), (c1, c2));
    assert!(
        eventually(Duration::from_secs(10), || {
            a.monitor("routez")
                .is_ok_and(|r| r["num_routes"].as_u64() >= Some(1))
        }),
        "the fixed-port nodes did not route to each other"
    );
    connect(&format!("nats://127.0.0.1:{c1}"), ConnectOptions::new()).await;
    connect(&format!("nats://127.0.0.1:{c2}"), ConnectOptions::new()).await;
}

#[tokio::test]
async fn clustering_with_discovery_and_auth() {
    let opts = ClusterOptions::new().nodes(2).server(
        ServerOptions::from_json(r#"{"users": [{"user": "foo", "password": "bar"}]}"#)
            .unwrap()
            .keep(Keep::Never),
    );
    let cluster = Cluster::run(&opts).unwrap_or_else(|e| panic!("{e}"));
    let first = &cluster.servers[0];
    let client = connect(
        &first.client_url(),
        ConnectOptions::with_user_and_password("foo".into(), "bar".into()),
    )
    .await;
    // Discovery: the first node tells the client about the second.
    let second = format!(":{}", cluster.servers[1].client_port());
    let urls = client.server_info().connect_urls;
    assert!(urls.iter().any(|u| u.ends_with(&second)), "{urls:?}");
    assert!(async_nats::connect(first.client_url()).await.is_err());
}
