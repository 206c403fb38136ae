//! Gateway links through fault proxies: every gateway connection goes through a proxy (checked in `/gatewayz`),
//! a partition of clusters stops traffic between them until heal. Real servers, real client (async-nats).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::StreamExt;
use nats_server::{ErrorKind, Keep, Supercluster, SuperclusterOptions};

fn proxied_supercluster() -> Supercluster {
    let mut opts = SuperclusterOptions::new()
        .clusters(2)
        .nodes(2)
        .gateway_proxies(true);
    opts.server.keep = Some(Keep::Never);
    Supercluster::run(&opts).unwrap_or_else(|e| panic!("{e}"))
}

/// Polls `check` every 20 ms until it gives a value; panics with its last reason after `within`.
fn eventually<T>(within: Duration, mut check: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + within;
    loop {
        match check() {
            Ok(value) => return value,
            Err(reason) if Instant::now() >= deadline => panic!("not within {within:?}: {reason}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// A gateway connection: the other cluster's name and the connection's remote port.
type Peer = (String, u16);

/// Node (c, i)'s gateway connections from `/gatewayz`: (outbound remote ports, inbound remote ports), each with
/// the other cluster's name.
fn gateways_of(sc: &Supercluster, c: usize, i: usize) -> (Vec<Peer>, Vec<Peer>) {
    let gatewayz = sc.node(c, i).unwrap().monitor("gatewayz").unwrap();
    let port = |conn: &serde_json::Value| conn["connection"]["port"].as_u64().unwrap() as u16;
    let outbound = gatewayz["outbound_gateways"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, g)| (name.clone(), port(g)))
        .collect();
    let inbound = gatewayz["inbound_gateways"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(name, list)| {
            list.as_array()
                .into_iter()
                .flatten()
                .map(move |g| (name.clone(), port(g)))
        })
        .collect();
    (outbound, inbound)
}

#[test]
fn every_gateway_connection_goes_through_a_proxy() {
    let sc = proxied_supercluster();
    let links = sc.gateway_links().unwrap();
    assert_eq!(
        links.len(),
        8,
        "one proxy per ordered pair of nodes in different clusters"
    );
    // Each node keeps one outbound gateway per other cluster, to one of its nodes: a cluster has one inbound
    // gateway per node of the other cluster, spread over its nodes as they chose.
    let mut inbound_into = [0; 2];
    for (c, i) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        let (outbound, inbound) = gateways_of(&sc, c, i);
        let dialled: HashSet<u16> = links
            .iter()
            .filter(|(from, _, _)| *from == (c, i))
            .map(|(_, _, p)| p.port())
            .collect();
        let accepted: HashSet<u16> = links
            .iter()
            .filter(|(_, to, _)| *to == (c, i))
            .flat_map(|(_, _, p)| p.target_side_ports())
            .collect();
        let other = sc.names()[1 - c].clone();
        assert_eq!(
            outbound.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            vec![&other],
            "node ({c},{i}) has one outbound gateway, to the other cluster"
        );
        // An outbound gateway shows the proxy's port; an inbound one the port of a proxy's own connection to
        // this node. A direct link would show a node's gateway port or a node's ephemeral port.
        for (name, port) in &outbound {
            assert!(
                dialled.contains(port),
                "node ({c},{i})'s outbound gateway to {name} (port {port}) bypasses the proxies {dialled:?}"
            );
        }
        inbound_into[c] += inbound.len();
        for (name, port) in &inbound {
            assert!(
                accepted.contains(port),
                "node ({c},{i})'s inbound gateway from {name} (port {port}) bypasses the proxies {accepted:?}"
            );
        }
    }
    assert_eq!(inbound_into, [2, 2], "inbound gateways per cluster");
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
    .expect("a message crosses the gateways")
}

#[tokio::test]
async fn a_partition_of_clusters_stops_traffic_until_heal() {
    let sc = proxied_supercluster();
    let urls = sc.client_urls();
    let west = async_nats::connect(&urls[0][0]).await.unwrap();
    let east = async_nats::connect(&urls[1][1]).await.unwrap();
    let mut sub = west.subscribe("across").await.unwrap();
    west.flush().await.unwrap();
    let before = publish_until_received(&east, &mut sub, "before").await;
    assert_eq!(&before.payload[..], b"before");
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(50), sub.next()).await {}

    sc.partition(&[&[0], &[1]]).unwrap();
    eventually(Duration::from_secs(10), || {
        let linked: Vec<String> = [(0, 0), (0, 1), (1, 0), (1, 1)]
            .into_iter()
            .filter_map(|(c, i)| {
                let (outbound, inbound) = gateways_of(&sc, c, i);
                (!outbound.is_empty() || !inbound.is_empty())
                    .then(|| format!("node ({c},{i}): out {outbound:?} in {inbound:?}"))
            })
            .collect();
        if linked.is_empty() {
            Ok(())
        } else {
            Err(linked.join("; "))
        }
    });
    // Each cluster still works on its own.
    sc.cluster(0)
        .unwrap()
        .wait_ready(Duration::from_secs(10))
        .unwrap();
    east.publish("across", "during".into()).await.unwrap();
    east.flush().await.unwrap();

    sc.heal().unwrap();
    sc.wait_ready(Duration::from_secs(30)).unwrap();
    let first = publish_until_received(&east, &mut sub, "after").await;
    assert_eq!(
        &first.payload[..],
        b"after",
        "a message published during the partition crossed it"
    );
}

#[test]
fn bad_gateway_partitions_are_clear_errors() {
    let sc = proxied_supercluster();
    let err = sc.partition(&[&[0], &[5]]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidOptions);
    assert!(err.to_string().contains("cluster 5"), "{err}");
    let err = sc.partition(&[&[0, 1], &[1]]).unwrap_err();
    assert!(err.to_string().contains("more than once"), "{err}");
    let err = sc.gateway_link((0, 0), (0, 1)).unwrap_err();
    assert!(err.to_string().contains("both in cluster 0"), "{err}");
    assert!(sc.gateway_link((0, 0), (1, 7)).is_err());
    // A fault on one gateway link stays on that link.
    let link = sc.gateway_link((0, 0), (1, 1)).unwrap();
    link.add(nats_server::Fault::latency(
        Duration::from_millis(5),
        Duration::ZERO,
    ))
    .unwrap();
    assert_eq!(link.faults().len(), 1);
    assert!(sc.gateway_link((1, 1), (0, 0)).unwrap().faults().is_empty());

    let mut plain = SuperclusterOptions::new().clusters(2).nodes(1);
    plain.server.keep = Some(Keep::Never);
    let plain = Supercluster::run(&plain).unwrap();
    let err = plain.partition(&[&[0], &[1]]).unwrap_err();
    assert!(err.to_string().contains("gateway_proxies"), "{err}");
}
