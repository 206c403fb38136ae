//! Leaf node links through a fault proxy: the hub advertises its proxy, so its leaves reach it only through it
//! (checked in `/leafz`); taking the proxy down cuts them off until it comes up. Real servers, real client.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::StreamExt;
use nats_server::{ErrorKind, Keep, Server, ServerOptions};

fn hub() -> Server {
    Server::run(
        &ServerOptions::new()
            .leafnodes(true)
            .leafnode_proxy(true)
            .keep(Keep::Never),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// The remote ports of the hub's leaf connections, from its `/leafz`.
fn leaf_ports(hub: &Server) -> Vec<u16> {
    hub.monitor("leafz").unwrap()["leafs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| l["port"].as_u64().unwrap() as u16)
        .collect()
}

/// Publishes `payload` from `publisher` until `sub` receives a message; returns the first one received.
async fn publish_until_received(
    publisher: &async_nats::Client,
    sub: &mut async_nats::Subscriber,
    payload: &'static str,
) -> async_nats::Message {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            publisher.publish("across", payload.into()).await.unwrap();
            publisher.flush().await.unwrap();
            if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(100), sub.next()).await
            {
                return m;
            }
        }
    })
    .await
    .expect("a message crosses the leaf connection")
}

#[tokio::test]
async fn a_leaf_reaches_its_hub_only_through_the_proxy_and_a_cut_stops_traffic_until_restored() {
    let hub = hub();
    let proxy = hub.leafnode_proxy().expect("the hub has a leaf node proxy");
    let proxied = hub.proxied_leafnode_url().unwrap();
    assert_ne!(Some(proxied.clone()), hub.leafnode_url());
    assert!(
        proxied.ends_with(&format!(":{}", proxy.port())),
        "{proxied}"
    );
    let leaf = Server::run_leaf_of(&hub, &ServerOptions::new().keep(Keep::Never)).unwrap();
    let through: HashSet<u16> = proxy.target_side_ports().into_iter().collect();
    let ports = leaf_ports(&hub);
    assert_eq!(ports.len(), 1, "one leaf connection");
    assert!(
        through.contains(&ports[0]),
        "the leaf connection (remote port {}) bypasses the proxy {through:?}",
        ports[0]
    );

    let on_hub = async_nats::connect(hub.client_url()).await.unwrap();
    let on_leaf = async_nats::connect(leaf.client_url()).await.unwrap();
    let mut sub = on_hub.subscribe("across").await.unwrap();
    on_hub.flush().await.unwrap();
    assert_eq!(
        &publish_until_received(&on_leaf, &mut sub, "before")
            .await
            .payload[..],
        b"before"
    );
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(50), sub.next()).await {}

    proxy.disable().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while hub.leaf_connections().unwrap() != 0 || leaf.leaf_connections().unwrap() != 0 {
        assert!(
            Instant::now() < deadline,
            "the leaf connection did not drop"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    on_leaf.publish("across", "during".into()).await.unwrap();
    on_leaf.flush().await.unwrap();

    proxy.enable().unwrap();
    hub.wait_for_leaf_connections(1, Duration::from_secs(30))
        .unwrap();
    // The leaf came back through the proxy too: the hub never advertised its direct address.
    let through: HashSet<u16> = proxy.target_side_ports().into_iter().collect();
    for port in leaf_ports(&hub) {
        assert!(
            through.contains(&port),
            "after the cut the leaf reconnected around the proxy (remote port {port}, proxy {through:?})"
        );
    }
    let first = publish_until_received(&on_leaf, &mut sub, "after").await;
    assert_eq!(
        &first.payload[..],
        b"after",
        "a message published during the cut crossed it"
    );
}

#[test]
fn a_leafnode_proxy_without_a_leaf_node_listener_is_a_clear_error() {
    let err = Server::run(&ServerOptions::new().leafnode_proxy(true)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidOptions);
    assert!(err.to_string().contains("leafnodes: true"), "{err}");
    let plain = Server::run(&ServerOptions::new().keep(Keep::Never)).unwrap();
    assert!(plain.leafnode_proxy().is_none());
    assert!(plain.proxied_leafnode_url().is_none());
}
