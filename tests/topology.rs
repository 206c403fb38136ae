//! Superclusters, leaf nodes and MQTT of real servers, driven by real clients (async-nats, a raw MQTT client).

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use common::*;
use futures::StreamExt;
use nats_server::{ErrorKind, Keep, Server, ServerOptions, Supercluster, SuperclusterOptions};

fn supercluster(opts: SuperclusterOptions) -> Supercluster {
    let mut opts = opts;
    opts.server.keep = Some(Keep::Never);
    Supercluster::run(&opts).unwrap_or_else(|e| panic!("{e}"))
}

fn server(opts: ServerOptions) -> Server {
    Server::run(&opts.keep(Keep::Never)).unwrap_or_else(|e| panic!("{e}"))
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
                .publish(subject.to_string(), "hello".into())
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
async fn a_subscriber_in_cluster_a_receives_a_message_published_in_cluster_b() {
    let sc = supercluster(SuperclusterOptions::new());
    assert_eq!(sc.len(), 2);
    assert_eq!(
        sc.client_urls().iter().map(Vec::len).collect::<Vec<_>>(),
        [3, 3]
    );
    let a = async_nats::connect(sc.node(0, 1).unwrap().client_url())
        .await
        .unwrap();
    let b = async_nats::connect(sc.node(1, 2).unwrap().client_url())
        .await
        .unwrap();
    let mut sub = a.subscribe("across.gateway").await.unwrap();
    a.flush().await.unwrap();
    assert_eq!(
        publish_until_received(&b, &mut sub, "across.gateway").await,
        "hello"
    );
    // Every node reports its gateway port, found through /varz.
    for (_, _, node) in sc.servers() {
        assert!(node.gateway_url().is_some());
        assert!(node.ports().gateway.is_some());
    }
}

#[tokio::test]
async fn a_queue_group_spread_over_two_clusters_gets_each_message_once() {
    let sc = supercluster(SuperclusterOptions::new().nodes(2));
    let a = async_nats::connect(sc.node(0, 0).unwrap().client_url())
        .await
        .unwrap();
    let b = async_nats::connect(sc.node(1, 1).unwrap().client_url())
        .await
        .unwrap();
    let mut qa = a.queue_subscribe("work", "workers".into()).await.unwrap();
    let mut qb = b.queue_subscribe("work", "workers".into()).await.unwrap();
    a.flush().await.unwrap();
    b.flush().await.unwrap();
    // Publishing while a cluster learns of the other's members can deliver a message in both (nats-server).
    sc.wait_for_queue_interest("work", "workers", Duration::from_secs(10))
        .unwrap();
    const N: usize = 200;
    for i in 0..N {
        let client = if i % 2 == 0 { &a } else { &b };
        client.publish("work", i.to_string().into()).await.unwrap();
    }
    a.flush().await.unwrap();
    b.flush().await.unwrap();
    let mut seen = vec![0u32; N];
    let mut total = 0;
    let (mut from_a, mut from_b) = (0, 0);
    while total < N {
        let msg = tokio::select! {
            Some(m) = qa.next() => { from_a += 1; m }
            Some(m) = qb.next() => { from_b += 1; m }
            _ = tokio::time::sleep(Duration::from_secs(10)) => panic!("only {total} of {N} messages arrived"),
        };
        let i: usize = std::str::from_utf8(&msg.payload).unwrap().parse().unwrap();
        seen[i] += 1;
        total += 1;
    }
    // Nothing more arrives: no message was delivered twice.
    let extra = tokio::select! {
        Some(m) = qa.next() => Some(("a", m)),
        Some(m) = qb.next() => Some(("b", m)),
        _ = tokio::time::sleep(Duration::from_millis(300)) => None,
    };
    if let Some((side, m)) = &extra {
        panic!("a message was delivered twice: {:?} again in cluster {side} (subject {}); counts {seen:?}", m.payload, m.subject);
    }
    assert!(seen.iter().all(|n| *n == 1), "{seen:?}");
    assert!(
        from_a > 0 && from_b > 0,
        "both clusters' members got messages ({from_a}, {from_b})"
    );
}

#[tokio::test]
async fn a_stream_placed_in_cluster_b_is_created_from_cluster_a_and_survives_a_node_kill() {
    let mut sc = supercluster(SuperclusterOptions::new().jetstream(true));
    let target = sc.names()[1].clone();
    let a = async_nats::connect(sc.node(0, 0).unwrap().client_url())
        .await
        .unwrap();
    let js = jetstream::new(a);
    let mut stream = js
        .create_stream(stream::Config {
            name: "PLACED".into(),
            subjects: vec!["placed.>".into()],
            num_replicas: 3,
            placement: Some(stream::Placement {
                cluster: Some(target.clone()),
                tags: vec![],
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let info = stream.info().await.unwrap();
    assert_eq!(
        info.cluster.as_ref().and_then(|c| c.name.clone()),
        Some(target.clone())
    );
    for i in 0..5 {
        js.publish(format!("placed.{i}"), "x".into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    sc.kill(1, 0).unwrap();
    // The stream keeps its messages and takes new ones with two of its three replicas.
    let ack = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let msg = jetstream::message::PublishMessage::build()
                .payload("y".into())
                .message_id("after-kill");
            if let Ok(ack) = js.send_publish("placed.after", msg).await {
                if let Ok(ack) = ack.await {
                    return ack;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the stream takes a message after the kill");
    assert_eq!(ack.sequence, 6);
    let info = stream.info().await.unwrap();
    assert_eq!(info.state.messages, 6);
    sc.start(1, 0).unwrap();
    assert!(sc.node(1, 0).unwrap().is_running());
}

#[tokio::test]
async fn a_restarted_node_is_back_in_the_supercluster() {
    let mut sc = supercluster(SuperclusterOptions::new().clusters(2).nodes(2));
    let gateway_port = sc.node(1, 0).unwrap().ports().gateway;
    sc.restart(1, 0).unwrap();
    assert_eq!(
        sc.node(1, 0).unwrap().ports().gateway,
        gateway_port,
        "the gateway port is kept"
    );
    sc.restart(0, 0).unwrap();
    let a = async_nats::connect(sc.node(0, 0).unwrap().client_url())
        .await
        .unwrap();
    let b = async_nats::connect(sc.node(1, 0).unwrap().client_url())
        .await
        .unwrap();
    let mut sub = b.subscribe("back").await.unwrap();
    b.flush().await.unwrap();
    publish_until_received(&a, &mut sub, "back").await;
    sc.pause(0, 1).unwrap();
    sc.resume(0, 1).unwrap();
    sc.wait_ready(Duration::from_secs(30)).unwrap();
}

#[test]
fn two_superclusters_started_at_once_never_join_each_other() {
    let (one, two) = std::thread::scope(|s| {
        let one = s.spawn(|| supercluster(SuperclusterOptions::new().nodes(2)));
        let two = s.spawn(|| supercluster(SuperclusterOptions::new().nodes(2)));
        (one.join().unwrap(), two.join().unwrap())
    });
    let names_one = one.names();
    for (_, _, node) in two.servers() {
        let gatewayz = node.monitor("gatewayz").unwrap();
        for name in &names_one {
            assert!(
                gatewayz["outbound_gateways"].get(name).is_none(),
                "{gatewayz}"
            );
            assert!(
                gatewayz["inbound_gateways"].get(name).is_none(),
                "{gatewayz}"
            );
        }
        let routes = node.monitor("routez").unwrap()["num_routes"]
            .as_u64()
            .unwrap();
        assert!(routes >= 1);
    }
    let ids_one: Vec<String> = one
        .servers()
        .map(|(_, _, s)| s.server_id().to_string())
        .collect();
    for (_, _, node) in two.servers() {
        let routez = node.monitor("routez").unwrap();
        for r in routez["routes"].as_array().unwrap() {
            assert!(!ids_one.contains(&r["remote_id"].as_str().unwrap().to_string()));
        }
    }
}

#[test]
fn bad_supercluster_shapes_and_conflicting_gateway_config_are_named() {
    let err = Supercluster::run(&SuperclusterOptions::new().clusters(0)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidOptions);
    assert!(
        err.to_string().contains("`clusters` must be at least 1"),
        "{err}"
    );
    let dir = scratch();
    let conf = dir.path().join("gw.conf");
    std::fs::write(&conf, "gateway {\n  name: mine\n  port: -1\n}\n").unwrap();
    let err = Supercluster::run(
        &SuperclusterOptions::new().server(ServerOptions::new().config_file(&conf)),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidOptions);
    assert!(err.to_string().contains("sets a `gateway` block"), "{err}");
    assert!(err.to_string().contains("gw.conf"), "{err}");
}

#[tokio::test]
async fn a_message_published_on_a_leaf_reaches_the_hub_and_back() {
    let hub = server(ServerOptions::new().leafnodes(true));
    assert!(hub.leafnode_url().unwrap().starts_with("nats://127.0.0.1:"));
    let leaf = Server::run_leaf_of(&hub, &ServerOptions::new().keep(Keep::Never)).unwrap();
    assert_eq!(hub.leaf_connections().unwrap(), 1);
    assert_eq!(leaf.leaf_connections().unwrap(), 1);
    let on_hub = async_nats::connect(hub.client_url()).await.unwrap();
    let on_leaf = async_nats::connect(leaf.client_url()).await.unwrap();
    let mut at_hub = on_hub.subscribe("up").await.unwrap();
    on_hub.flush().await.unwrap();
    publish_until_received(&on_leaf, &mut at_hub, "up").await;
    let mut at_leaf = on_leaf.subscribe("down").await.unwrap();
    on_leaf.flush().await.unwrap();
    publish_until_received(&on_hub, &mut at_leaf, "down").await;
}

#[tokio::test]
async fn a_leaf_reconnects_after_the_hub_restarts() {
    let mut hub = server(ServerOptions::new().leafnodes(true));
    let port = hub.ports().leafnode;
    let leaf = Server::run_leaf_of(&hub, &ServerOptions::new().keep(Keep::Never)).unwrap();
    hub.try_restart().unwrap();
    assert_eq!(hub.ports().leafnode, port, "the leaf node port is kept");
    hub.wait_for_leaf(&leaf, Duration::from_secs(20)).unwrap();
    let on_hub = async_nats::connect(hub.client_url()).await.unwrap();
    let on_leaf = async_nats::connect(leaf.client_url()).await.unwrap();
    let mut at_hub = on_hub.subscribe("again").await.unwrap();
    on_hub.flush().await.unwrap();
    publish_until_received(&on_leaf, &mut at_hub, "again").await;
}

#[tokio::test]
async fn the_leafs_jetstream_domain_is_reachable_from_the_hub() {
    let hub = server(
        ServerOptions::new()
            .leafnodes(true)
            .jetstream(true)
            .jetstream_domain("hub"),
    );
    let leaf = Server::run_leaf_of(
        &hub,
        &ServerOptions::new()
            .jetstream(true)
            .jetstream_domain("leafdom")
            .keep(Keep::Never),
    )
    .unwrap();
    let on_hub = async_nats::connect(hub.client_url()).await.unwrap();
    // The raw API prefix answers from the hub...
    let info = on_hub
        .request("$JS.leafdom.API.INFO", "".into())
        .await
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&info.payload).unwrap();
    assert_eq!(info["domain"], "leafdom", "{info}");
    // ...and a stream made through it lives on the leaf.
    let js = jetstream::with_domain(on_hub, "leafdom");
    js.create_stream(stream::Config {
        name: "ONLEAF".into(),
        subjects: vec!["onleaf".into()],
        ..Default::default()
    })
    .await
    .unwrap();
    let jsz = leaf.monitor("jsz").unwrap();
    assert_eq!(jsz["streams"], 1, "{jsz}");
}

#[tokio::test]
async fn after_a_hub_restart_the_leafs_jetstream_domain_answers_once_the_leaf_is_back() {
    let mut hub = server(ServerOptions::new().leafnodes(true));
    let leaf = Server::run_leaf_of(
        &hub,
        &ServerOptions::new()
            .jetstream(true)
            .jetstream_domain("back")
            .keep(Keep::Never),
    )
    .unwrap();
    hub.try_restart().unwrap();
    hub.wait_for_leaf(&leaf, Duration::from_secs(20)).unwrap();
    // One request, no retry: ready means the domain answers through the hub now.
    let on_hub = async_nats::connect(hub.client_url()).await.unwrap();
    let info = on_hub
        .request("$JS.back.API.INFO", "".into())
        .await
        .unwrap_or_else(|e| panic!("the leaf's JetStream does not answer through the hub: {e}"));
    let info: serde_json::Value = serde_json::from_slice(&info.payload).unwrap();
    assert_eq!(info["domain"], "back", "{info}");
}

#[test]
fn a_leaf_whose_hub_is_gone_fails_at_once_naming_the_hub() {
    let mut hub = server(ServerOptions::new().leafnodes(true));
    let url = hub.leafnode_url().unwrap();
    hub.stop().unwrap();
    let started = std::time::Instant::now();
    let err = Server::run(
        &ServerOptions::new()
            .leaf_remotes(vec![nats_server::LeafRemote::new(&url)])
            .keep(Keep::Never),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("cannot reach its hub"), "{err}");
    assert!(err.to_string().contains(&url), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let err = Server::run_leaf_of(&hub, &ServerOptions::new()).unwrap_err();
    assert!(err.to_string().contains("cannot reach its hub"), "{err}");
}

/// A raw MQTT 3.1.1 client: CONNECT (clean session), wait for CONNACK, PUBLISH at QoS 0.
fn mqtt_publish(addr: &str, topic: &str, payload: &[u8]) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let client_id = b"harness-test";
    let mut connect = vec![0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x3c];
    connect.extend_from_slice(&(client_id.len() as u16).to_be_bytes());
    connect.extend_from_slice(client_id);
    stream.write_all(&[0x10, connect.len() as u8]).unwrap();
    stream.write_all(&connect).unwrap();
    let mut connack = [0u8; 4];
    stream.read_exact(&mut connack).unwrap();
    assert_eq!(connack, [0x20, 0x02, 0x00, 0x00], "CONNACK accepted");
    let mut publish = (topic.len() as u16).to_be_bytes().to_vec();
    publish.extend_from_slice(topic.as_bytes());
    publish.extend_from_slice(payload);
    stream.write_all(&[0x30, publish.len() as u8]).unwrap();
    stream.write_all(&publish).unwrap();
    stream.write_all(&[0xe0, 0x00]).unwrap(); // DISCONNECT
    stream.flush().unwrap();
}

#[tokio::test]
async fn an_mqtt_client_publishes_and_a_nats_subscriber_receives() {
    let server = server(ServerOptions::new().jetstream(true).mqtt(true));
    let url = server.mqtt_url().unwrap();
    assert!(url.starts_with("mqtt://127.0.0.1:"), "{url}");
    let nats = async_nats::connect(server.client_url()).await.unwrap();
    let mut sub = nats.subscribe("sensors.temp").await.unwrap();
    nats.flush().await.unwrap();
    let addr = url.trim_start_matches("mqtt://").to_string();
    tokio::task::spawn_blocking(move || mqtt_publish(&addr, "sensors/temp", b"21.5"))
        .await
        .unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&msg.payload[..], b"21.5");
}

#[test]
fn mqtt_without_jetstream_is_refused_by_name() {
    let err = Server::run(&ServerOptions::new().mqtt(true)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidOptions);
    assert!(
        err.to_string().contains("`mqtt` needs `jetstream: true`"),
        "{err}"
    );
}

#[test]
fn waiting_for_a_queue_group_without_members_times_out_naming_it() {
    let sc = supercluster(SuperclusterOptions::new().nodes(1));
    let err = sc
        .wait_for_queue_interest("work", "nobody", Duration::from_millis(500))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.to_string().contains("\"nobody\""), "{err}");
    assert!(
        err.to_string().contains("no running node lists a member"),
        "{err}"
    );
}
