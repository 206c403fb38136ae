//! Route links through fault proxies: every route goes through a proxy, partitions stop traffic, JetStream keeps
//! every acknowledged message across a partition and heal. Real servers, real client (async-nats).

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream};
use futures::StreamExt;
use nats_server::{Cluster, ClusterOptions, ErrorKind, Fault, Keep};

fn proxied_cluster(jetstream: bool) -> Cluster {
    let mut opts = ClusterOptions::new()
        .nodes(3)
        .jetstream(jetstream)
        .route_proxies(true);
    opts.server.keep = Some(Keep::Never);
    Cluster::run(&opts).unwrap_or_else(|e| panic!("{e}"))
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

/// Node `k`'s routes as (remote port, `did_solicit`, remote server name).
fn routes_of(cluster: &Cluster, k: usize) -> Vec<(u16, bool, String)> {
    let routez = cluster.node(k).unwrap().monitor("routez").unwrap();
    routez["routes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r["port"].as_u64().unwrap() as u16,
                r["did_solicit"].as_bool().unwrap_or(false),
                r["remote_name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn every_route_goes_through_a_proxy() {
    let cluster = proxied_cluster(false);
    let links = cluster.route_links().unwrap();
    assert_eq!(links.len(), 6, "one proxy per ordered pair");
    for k in 0..3 {
        // Both other nodes are reached. Eventually: under load a route between two nodes that both dial each
        // other can be replaced shortly after the mesh was first seen complete (seen once in 20 busy runs).
        let routes = eventually(Duration::from_secs(10), || {
            let routes = routes_of(&cluster, k);
            let peers: HashSet<&String> = routes.iter().map(|(_, _, p)| p).collect();
            match peers.len() {
                2 => Ok(routes.clone()),
                _ => Err(format!("node {k}: {routes:?}")),
            }
        });
        let dialled: HashSet<u16> = links
            .iter()
            .filter(|(from, _, _)| *from == k)
            .map(|(_, _, p)| p.port())
            .collect();
        let accepted: HashSet<u16> = links
            .iter()
            .filter(|(_, to, _)| *to == k)
            .flat_map(|(_, _, p)| p.target_side_ports())
            .collect();
        // A route node k dialled shows a proxy's port; one it accepted shows the port of a proxy's own
        // connection to k. (`did_solicit` cannot tell which: pooled routes report it loosely.) A direct route
        // would show a peer's cluster port or a peer's ephemeral port, which neither set holds.
        for (port, _, peer) in &routes {
            assert!(
                dialled.contains(port) || accepted.contains(port),
                "node {k}'s route to {peer} (remote port {port}) bypasses the proxies: proxies it dials {dialled:?}, \
                 proxies' connections to it {accepted:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_partition_stops_traffic_between_the_sides_until_heal() {
    let cluster = proxied_cluster(false);
    let urls = cluster.client_urls();
    let isolated = async_nats::connect(&urls[0]).await.unwrap();
    let majority = async_nats::connect(&urls[2]).await.unwrap();
    let mut sub = isolated.subscribe("across").await.unwrap();
    isolated.flush().await.unwrap();
    // Before: a message crosses (interest may take a moment to propagate).
    let crossed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            majority.publish("across", "before".into()).await.unwrap();
            majority.flush().await.unwrap();
            if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(100), sub.next()).await
            {
                return m;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(&crossed.payload[..], b"before");
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(50), sub.next()).await {}

    cluster.partition(&[&[0], &[1, 2]]).unwrap();
    eventually(Duration::from_secs(10), || {
        let routes = routes_of(&cluster, 0);
        let others = [1, 2].map(|k| routes_of(&cluster, k));
        let to_zero = others
            .iter()
            .flatten()
            .filter(|(_, _, peer)| peer == "node1")
            .count();
        if routes.is_empty() && to_zero == 0 {
            Ok(())
        } else {
            Err(format!("node 0 routes {routes:?}; routes to it {to_zero}"))
        }
    });
    // The majority still talks among itself.
    let routes_1 = routes_of(&cluster, 1);
    assert!(
        routes_1.iter().any(|(_, _, p)| p == "node3"),
        "{routes_1:?}"
    );
    majority.publish("across", "during".into()).await.unwrap();
    majority.flush().await.unwrap();

    cluster.heal().unwrap();
    cluster.wait_ready(Duration::from_secs(30)).unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            majority.publish("across", "after".into()).await.unwrap();
            majority.flush().await.unwrap();
            if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(100), sub.next()).await
            {
                return m;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(
        &first.payload[..],
        b"after",
        "a message published during the partition crossed it"
    );
}

#[test]
fn a_fault_on_one_route_link_and_bad_partitions() {
    let cluster = proxied_cluster(false);
    let link = cluster.route_link(0, 1).unwrap();
    link.add(Fault::latency(Duration::from_millis(5), Duration::ZERO))
        .unwrap();
    assert_eq!(link.faults().len(), 1);
    assert!(cluster.route_link(1, 0).unwrap().faults().is_empty());
    let err = cluster.partition(&[&[0], &[1, 5]]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidOptions);
    assert!(err.to_string().contains("node 5"), "{err}");
    let err = cluster.partition(&[&[0, 1], &[1, 2]]).unwrap_err();
    assert!(err.to_string().contains("more than once"), "{err}");
    let err = cluster.route_link(0, 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidOptions);
    let err = cluster.route_link(0, 3).unwrap_err();
    assert!(err.to_string().contains("out of range"), "{err}");
    // Nothing was cut by the rejected partitions.
    assert!(cluster
        .route_links()
        .unwrap()
        .iter()
        .all(|(_, _, p)| p.is_enabled()));

    let mut plain = ClusterOptions::new().nodes(2);
    plain.server.keep = Some(Keep::Never);
    let plain = Cluster::run(&plain).unwrap();
    let err = plain.partition(&[&[0], &[1]]).unwrap_err();
    assert!(err.to_string().contains("route_proxies"), "{err}");
}

#[test]
fn route_proxies_close_with_their_cluster() {
    let cluster = proxied_cluster(false);
    let ports: Vec<u16> = cluster
        .route_links()
        .unwrap()
        .iter()
        .map(|(_, _, p)| p.port())
        .collect();
    drop(cluster);
    for port in ports {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "proxy port {port} still accepts"
        );
    }
}

/// The stream's message count on node `k` (from its `/jsz`), if it hosts the stream.
fn stream_messages(cluster: &Cluster, k: usize, stream: &str) -> Option<u64> {
    let jsz = cluster
        .node(k)
        .ok()?
        .monitor("jsz?accounts=true&streams=true")
        .ok()?;
    jsz["account_details"]
        .as_array()?
        .iter()
        .flat_map(|a| a["stream_detail"].as_array().cloned().unwrap_or_default())
        .find(|s| s["name"] == stream)
        .and_then(|s| s["state"]["messages"].as_u64())
}

fn meta_leader_seen_by(cluster: &Cluster, k: usize) -> String {
    cluster
        .node(k)
        .unwrap()
        .monitor("jsz")
        .map(|j| {
            j["meta_cluster"]["leader"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jetstream_cluster_keeps_every_acknowledged_message_across_a_partition() {
    let cluster = proxied_cluster(true);
    let names: Vec<String> = (0..3)
        .map(|k| {
            cluster.node(k).unwrap().info()["server_name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let client = async_nats::connect(&cluster.client_urls()[1])
        .await
        .unwrap();
    let js = jetstream::new(client);
    // On a loaded machine the first API request can time out while the new cluster settles: retry (creating the
    // same stream again is idempotent).
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let created = js
                .create_stream(stream::Config {
                    name: "ORDERS".into(),
                    subjects: vec!["orders.>".into()],
                    num_replicas: 3,
                    ..Default::default()
                })
                .await;
            match created {
                Ok(_) => return,
                Err(e) => eprintln!("creating the stream: {e}; retrying"),
            }
        }
    })
    .await
    .expect("the stream is created");

    // A publisher with message ids against the majority's node, retrying until each message is acknowledged.
    let acked = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = {
        let (acked, stop) = (acked.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let id = format!("order-{n}");
                loop {
                    let msg = jetstream::message::PublishMessage::build()
                        .payload(id.clone().into())
                        .message_id(&id);
                    if let Ok(ack) = js.send_publish(format!("orders.{n}"), msg).await {
                        if ack.await.is_ok() {
                            break;
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                n += 1;
                acked.store(n, Ordering::SeqCst);
            }
        })
    };
    let acked_at_least = |k: u64, within: Duration| {
        let acked = acked.clone();
        async move {
            tokio::time::timeout(within, async {
                while acked.load(Ordering::SeqCst) < k {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
            .await
            .unwrap_or_else(|_| panic!("fewer than {k} messages acknowledged in {within:?}"));
        }
    };
    acked_at_least(20, Duration::from_secs(20)).await;

    cluster.partition(&[&[0], &[1, 2]]).unwrap();
    let before = acked.load(Ordering::SeqCst);
    // The minority loses its leader and cannot elect one; the majority agrees on one of its own.
    tokio::task::block_in_place(|| {
        eventually(Duration::from_secs(60), || {
            let minority = meta_leader_seen_by(&cluster, 0);
            let majority = [1, 2].map(|k| meta_leader_seen_by(&cluster, k));
            if !minority.is_empty() {
                return Err(format!("node 0 still names leader {minority:?}"));
            }
            if majority[0].is_empty() || majority[0] != majority[1] || majority[0] == names[0] {
                return Err(format!("the majority names {majority:?}"));
            }
            Ok(())
        })
    });
    // Publishing continues on the majority side.
    acked_at_least(before + 20, Duration::from_secs(30)).await;
    assert!(
        meta_leader_seen_by(&cluster, 0).is_empty(),
        "the minority elected a leader"
    );

    cluster.heal().unwrap();
    acked_at_least(acked.load(Ordering::SeqCst) + 10, Duration::from_secs(30)).await;
    stop.store(true, Ordering::SeqCst);
    publisher.await.unwrap();
    let total = acked.load(Ordering::SeqCst);

    // After heal every node, the isolated one included, holds exactly the acknowledged messages.
    tokio::task::block_in_place(|| {
        eventually(Duration::from_secs(60), || {
            let counts: Vec<Option<u64>> = (0..3)
                .map(|k| stream_messages(&cluster, k, "ORDERS"))
                .collect();
            if counts.iter().all(|c| *c == Some(total)) {
                Ok(())
            } else {
                Err(format!("{total} acknowledged; nodes hold {counts:?}"))
            }
        })
    });
    println!(
        "{total} messages acknowledged, {before} before the partition; every node holds them all"
    );
}
