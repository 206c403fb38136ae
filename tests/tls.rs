//! TLS with generated certificates (and your own), driven by a real client (async-nats with rustls).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use async_nats::{ConnectOptions, Event};
use common::*;
use futures::StreamExt;
use nats_server::{Cluster, ClusterOptions, ErrorKind, Keep, Server, ServerOptions, TlsOptions};

fn run(opts: ServerOptions) -> Server {
    Server::run(&opts.keep(Keep::Never)).unwrap_or_else(|e| panic!("{e}"))
}

/// Trusts exactly the server's CA: connecting proves the server's certificate chains to it.
fn verifying(ca: &Path) -> ConnectOptions {
    ConnectOptions::new()
        .add_root_certificates(ca.to_path_buf())
        .require_tls(true)
}

async fn round_trip(client: &async_nats::Client) {
    let mut sub = client.subscribe("tls.greet").await.unwrap();
    client.flush().await.unwrap();
    client.publish("tls.greet", "hi".into()).await.unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(msg.payload.as_ref(), b"hi");
}

#[tokio::test]
async fn a_tls_server_verifies_against_its_generated_ca() {
    let server = run(ServerOptions::new().tls(TlsOptions::new()));
    assert!(server.tls_required());
    assert!(
        server.url().starts_with("tls://127.0.0.1:"),
        "{}",
        server.url()
    );
    assert!(server.client_url().starts_with("tls://localhost:"));
    let ca = server.ca_file().unwrap();
    assert!(
        ca.starts_with(server.dir()),
        "generated inside the private directory"
    );
    // Both names on the certificate verify: localhost and 127.0.0.1.
    for url in [server.client_url(), server.url()] {
        let client = verifying(ca).connect(url).await.unwrap();
        round_trip(&client).await;
    }
    // A client that trusts only the system roots refuses the private CA.
    let err = ConnectOptions::new()
        .require_tls(true)
        .connect(server.client_url())
        .await;
    assert!(err.is_err(), "an unknown CA must not verify");
}

#[test]
fn private_keys_are_0600_and_never_in_the_config_or_log() {
    let server = run(ServerOptions::new().tls(TlsOptions::new().verify(true)));
    let files = server.tls_files().unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&files.key_file), 0o600);
    assert_eq!(mode(server.client_key_file().unwrap()), 0o600);
    let key = std::fs::read_to_string(&files.key_file).unwrap();
    let config = std::fs::read_to_string(server.dir().join("server.conf")).unwrap();
    assert!(config.contains("verify: true"), "{config}");
    assert!(!config.contains("PRIVATE KEY"));
    let key_body = key.lines().nth(1).unwrap();
    assert!(!server.log_tail(1000).contains(key_body));
}

#[tokio::test]
async fn mtls_accepts_the_generated_client_certificate_and_refuses_none() {
    let server = run(ServerOptions::new().tls(TlsOptions::new().verify(true)));
    let ca = server.ca_file().unwrap();
    let client = verifying(ca)
        .add_client_certificate(
            server.client_cert_file().unwrap().to_path_buf(),
            server.client_key_file().unwrap().to_path_buf(),
        )
        .connect(server.client_url())
        .await
        .unwrap();
    round_trip(&client).await;
    let refused = verifying(ca).connect(server.client_url()).await;
    assert!(
        refused.is_err(),
        "a client without a certificate must be refused"
    );
}

#[tokio::test]
async fn handshake_first_with_the_generated_ca() {
    if skip_before(2, 10, "handshake_first arrived in nats-server 2.10") {
        return;
    }
    let server = run(ServerOptions::new().tls(TlsOptions::new().handshake_first(true)));
    // Such a server sends no INFO before the handshake: the harness reads it from /varz instead.
    assert!(server.server_id().starts_with('N'));
    let client = verifying(server.ca_file().unwrap())
        .tls_first()
        .connect(server.client_url())
        .await
        .unwrap();
    round_trip(&client).await;
}

#[test]
fn websocket_over_tls_has_a_wss_url() {
    let server = run(ServerOptions::new()
        .websocket(true)
        .tls(TlsOptions::new().websocket(true)));
    let url = server.websocket_url().unwrap();
    assert!(url.starts_with("wss://"), "{url}");
    let plain = run(ServerOptions::new().websocket(true).tls(TlsOptions::new()));
    assert!(plain.websocket_url().unwrap().starts_with("ws://"));
}

#[tokio::test]
async fn a_client_fails_over_between_nodes_of_a_tls_cluster() {
    let mut cluster = Cluster::run(
        &ClusterOptions::new().nodes(3).server(
            ServerOptions::new()
                .keep(Keep::Never)
                .tls(TlsOptions::new().routes(true)),
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // The routes are TLS, and the peers verify each other's certificates against the shared CA.
    for node in &cluster.servers {
        let varz = node.monitor("varz").unwrap();
        assert_eq!(varz["cluster"]["tls_required"], true, "{}", varz["cluster"]);
        assert_eq!(varz["cluster"]["tls_verify"], true, "{}", varz["cluster"]);
    }
    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let client = verifying(cluster.ca_file().unwrap())
        .event_callback(move |event| {
            let tx = events_tx.clone();
            async move {
                let _ = tx.send(event);
            }
        })
        .connect(cluster.client_urls())
        .await
        .unwrap();
    round_trip(&client).await;
    let port = client.server_info().port;
    let connected = cluster
        .servers
        .iter()
        .position(|s| s.client_port() == port)
        .expect("connected to a node");
    cluster.kill(connected).unwrap();
    let mut disconnected = false;
    loop {
        let event = tokio::time::timeout(Duration::from_secs(15), events.recv())
            .await
            .expect("the client reconnects")
            .unwrap();
        match event {
            Event::Disconnected => disconnected = true,
            Event::Connected if disconnected => break,
            _ => {}
        }
    }
    let now = client.server_info().port;
    assert_ne!(now, port, "reconnected to another node");
    round_trip(&client).await;
}

#[test]
fn cluster_nodes_share_one_ca() {
    let cluster = Cluster::run(
        &ClusterOptions::new().nodes(2).server(
            ServerOptions::new()
                .keep(Keep::Never)
                .tls(TlsOptions::new()),
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let a = std::fs::read(cluster.servers[0].ca_file().unwrap()).unwrap();
    let b = std::fs::read(cluster.servers[1].ca_file().unwrap()).unwrap();
    assert_eq!(a, b);
}

#[tokio::test]
async fn bring_your_own_certificate() {
    // Material from another server stands in for the user's own files.
    let donor = run(ServerOptions::new().tls(TlsOptions::new()));
    let own = tempfile::tempdir().unwrap();
    let files = donor.tls_files().unwrap();
    for (from, to) in [
        (&files.cert_file, "cert.pem"),
        (&files.key_file, "key.pem"),
        (files.ca_file.as_ref().unwrap(), "ca.pem"),
    ] {
        std::fs::copy(from, own.path().join(to)).unwrap();
    }
    let server = run(ServerOptions::new().tls(
        TlsOptions::new()
            .cert_file(own.path().join("cert.pem"))
            .key_file(own.path().join("key.pem"))
            .ca_file(own.path().join("ca.pem")),
    ));
    assert_eq!(server.ca_file(), Some(own.path().join("ca.pem").as_path()));
    assert_eq!(server.client_cert_file(), None);
    let client = verifying(server.ca_file().unwrap())
        .connect(server.client_url())
        .await
        .unwrap();
    round_trip(&client).await;
}

/// Fails with `kind` and a message containing `needle`, leaving no directory behind (a start that got as far
/// as spawning names its directory in the command line it quotes).
fn fails(opts: ServerOptions, kind: ErrorKind, needle: &str) -> String {
    let err = Server::run(&opts.keep(Keep::Never)).unwrap_err();
    assert_eq!(err.kind(), kind, "{err}");
    assert!(err.message().contains(needle), "{err}");
    assert!(!err.message().contains("PRIVATE KEY"), "{err}");
    let root = nats_server::internals::workdir_root().display().to_string();
    if let Some(at) = err.message().find(&root) {
        let rest = &err.message()[at + root.len() + 1..];
        let dir = rest.split('/').next().unwrap();
        assert!(
            !Path::new(&root).join(dir).exists(),
            "{dir} was left behind"
        );
    }
    err.to_string()
}

#[test]
fn a_missing_certificate_file_is_the_servers_own_words() {
    let err = fails(
        ServerOptions::new().tls(
            TlsOptions::new()
                .cert_file("/nonexistent/cert.pem")
                .key_file("/nonexistent/key.pem"),
        ),
        ErrorKind::Config,
        "/nonexistent/cert.pem",
    );
    assert!(err.contains("no such file"), "{err}");
}

#[test]
fn a_key_that_does_not_match_its_certificate_is_refused() {
    let donor = run(ServerOptions::new().tls(TlsOptions::new().verify(true)));
    let err = fails(
        ServerOptions::new().tls(
            TlsOptions::new()
                .cert_file(&donor.tls_files().unwrap().cert_file)
                .key_file(donor.client_key_file().unwrap()),
        ),
        ErrorKind::Config,
        "private key does not match public key",
    );
    assert!(err.contains("It said"), "{err}");
}

#[test]
fn tls_on_a_listener_that_is_off_is_refused() {
    fails(
        ServerOptions::new().tls(TlsOptions::new().websocket(true)),
        ErrorKind::InvalidOptions,
        "websocket: true",
    );
    fails(
        ServerOptions::new().tls(TlsOptions::new().routes(true)),
        ErrorKind::InvalidOptions,
        "cluster",
    );
}

#[tokio::test]
async fn tls_with_user_and_password() {
    // nats.py's "TLS + auth" fixture, as options alone.
    let server = run(ServerOptions::new()
        .tls(TlsOptions::new())
        .user("alice")
        .password("s3cret"));
    let client = verifying(server.ca_file().unwrap())
        .user_and_password("alice".into(), "s3cret".into())
        .connect(server.client_url())
        .await
        .unwrap();
    round_trip(&client).await;
    let refused = verifying(server.ca_file().unwrap())
        .connect(server.client_url())
        .await;
    assert!(refused.is_err(), "TLS does not replace the password");
}
