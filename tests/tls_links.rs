//! TLS on the links between servers: gateways of a supercluster and leaf node connections, with the generated
//! per-process CA, driven by real clients (async-nats) across the link.

mod common;

use std::path::Path;
use std::time::Duration;

use async_nats::ConnectOptions;
use futures::StreamExt;
use nats_server::{
    ErrorKind, Keep, Server, ServerOptions, Supercluster, SuperclusterOptions, TlsOptions,
};

fn server(opts: ServerOptions) -> Server {
    Server::run(&opts.keep(Keep::Never)).unwrap_or_else(|e| panic!("{e}"))
}

/// A client that trusts exactly the harness's CA.
async fn connect(url: &str, ca: &Path) -> async_nats::Client {
    ConnectOptions::new()
        .add_root_certificates(ca.to_path_buf())
        .require_tls(true)
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"))
}

/// Publishes `subject` from `publisher` until `sub` receives it (interest crosses gateways and leaf connections
/// asynchronously); returns the payload received.
async fn publish_until_received(
    publisher: &async_nats::Client,
    sub: &mut async_nats::Subscriber,
    subject: &str,
) -> String {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            publisher
                .publish(subject.to_string(), "over tls".into())
                .await
                .unwrap();
            publisher.flush().await.unwrap();
            if let Ok(Some(msg)) =
                tokio::time::timeout(Duration::from_millis(100), sub.next()).await
            {
                return String::from_utf8(msg.payload.to_vec()).unwrap();
            }
        }
    })
    .await
    .expect("the message arrives")
}

#[tokio::test]
async fn a_message_crosses_a_tls_gateway_between_two_clusters() {
    let mut opts = SuperclusterOptions::new().nodes(2).server(
        ServerOptions::new()
            .tls(TlsOptions::new().routes(true).gateways(true))
            .keep(Keep::Never),
    );
    opts.ready_timeout_ms = 60_000;
    let sc = Supercluster::run(&opts).unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (sc.node(0, 1).unwrap(), sc.node(1, 0).unwrap());
    let ca = a.ca_file().unwrap();
    assert_eq!(
        std::fs::read(ca).unwrap(),
        std::fs::read(b.ca_file().unwrap()).unwrap(),
        "every node of every cluster trusts the same CA"
    );
    // The gateway links themselves are TLS: every node's /varz says its gateway requires it, with verification.
    for (_, _, node) in sc.servers() {
        let varz = node.monitor("varz").unwrap();
        assert_eq!(varz["gateway"]["tls_required"], true, "{}", varz["gateway"]);
        assert_eq!(varz["gateway"]["tls_verify"], true, "{}", varz["gateway"]);
    }
    let sub_client = connect(&a.client_url(), ca).await;
    let pub_client = connect(&b.client_url(), ca).await;
    let mut sub = sub_client.subscribe("across.tls.gateway").await.unwrap();
    sub_client.flush().await.unwrap();
    assert_eq!(
        publish_until_received(&pub_client, &mut sub, "across.tls.gateway").await,
        "over tls"
    );
}

#[tokio::test]
async fn a_message_crosses_a_tls_leaf_connection() {
    let tls = TlsOptions::new().leafnodes(true);
    let hub = server(ServerOptions::new().leafnodes(true).tls(tls.clone()));
    let leaf = Server::run_leaf_of(&hub, &ServerOptions::new().tls(tls).keep(Keep::Never))
        .unwrap_or_else(|e| panic!("{e}"));
    let varz = hub.monitor("varz").unwrap();
    assert_eq!(varz["leaf"]["tls_required"], true, "{}", varz["leaf"]);
    assert_eq!(varz["leaf"]["tls_verify"], true, "{}", varz["leaf"]);
    assert_eq!(hub.leaf_connections().unwrap(), 1);
    let ca = hub.ca_file().unwrap();
    let on_hub = connect(&hub.client_url(), ca).await;
    let on_leaf = connect(&leaf.client_url(), leaf.ca_file().unwrap()).await;
    // Both ways across the one TLS leaf connection.
    let mut sub = on_hub.subscribe("from.leaf").await.unwrap();
    on_hub.flush().await.unwrap();
    assert_eq!(
        publish_until_received(&on_leaf, &mut sub, "from.leaf").await,
        "over tls"
    );
    let mut sub = on_leaf.subscribe("from.hub").await.unwrap();
    on_leaf.flush().await.unwrap();
    assert_eq!(
        publish_until_received(&on_hub, &mut sub, "from.hub").await,
        "over tls"
    );
}

#[test]
fn a_leaf_without_tls_is_not_let_onto_a_tls_hub() {
    let hub = server(
        ServerOptions::new()
            .leafnodes(true)
            .tls(TlsOptions::new().leafnodes(true)),
    );
    let mut plain = ServerOptions::new().keep(Keep::Never);
    // The leaf is ready only once its remote is connected, which never happens: a short wait is enough.
    plain.startup_timeout_ms = 3_000;
    let err = Server::run_leaf_of(&hub, &plain).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        err.to_string().contains("did not connect to its hub"),
        "{err}"
    );
    assert_eq!(hub.leaf_connections().unwrap(), 0);
}

#[test]
fn tls_on_links_that_are_off_is_refused() {
    let err =
        Server::run(&ServerOptions::new().tls(TlsOptions::new().leafnodes(true))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidOptions);
    assert!(err.to_string().contains("leafnodes: true"), "{err}");
    let err = Server::run(&ServerOptions::new().tls(TlsOptions::new().gateways(true))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidOptions);
    assert!(err.to_string().contains("Supercluster"), "{err}");
    // A plain cluster has no gateway either; a supercluster accepts the same options.
    let err = nats_server::Cluster::run(
        &nats_server::ClusterOptions::new()
            .server(ServerOptions::new().tls(TlsOptions::new().gateways(true))),
    )
    .unwrap_err();
    assert!(err.to_string().contains("tls.gateways"), "{err}");
    let json = r#"{"server": {"tls": {"gateways": true, "leafnodes": true}}}"#;
    let err = SuperclusterOptions::from_json(json).unwrap_err();
    assert!(err.to_string().contains("tls.leafnodes"), "{err}");
}
