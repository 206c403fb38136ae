//! Clusters of real servers, driven by a real client (async-nats).

mod common;

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use common::*;
use futures::StreamExt;
use nats_server::{Cluster, ClusterOptions, ErrorKind, Keep, ServerOptions};

fn run(opts: ClusterOptions) -> Cluster {
    let mut opts = opts;
    opts.server.keep = Some(Keep::Never);
    Cluster::run(&opts).unwrap_or_else(|e| panic!("{e}"))
}

fn js_cluster(nodes: usize) -> Cluster {
    run(ClusterOptions::new().nodes(nodes).jetstream(true))
}

fn replicated(name: &str, replicas: usize) -> stream::Config {
    stream::Config {
        name: name.into(),
        subjects: vec![format!("{}.>", name.to_lowercase())],
        num_replicas: replicas,
        storage: stream::StorageType::File,
        ..Default::default()
    }
}

/// Publishes and waits for the ack, retrying while the stream elects a new leader (a client's job in a failover).
/// The message id (subject and payload) makes the stream drop a retry of a message it already stored.
async fn publish_acked(js: &jetstream::Context, subject: String, payload: String) -> u64 {
    let id = format!("{subject}/{payload}");
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let message = jetstream::message::PublishMessage::build()
                .payload(payload.clone().into())
                .message_id(&id);
            if let Ok(ack) = js.send_publish(subject.clone(), message).await {
                if let Ok(ack) = ack.await {
                    return ack.sequence;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the publish is acknowledged")
}

#[tokio::test]
async fn a_message_published_on_node_3_reaches_a_subscriber_on_node_1() {
    let cluster = run(ClusterOptions::new().nodes(3));
    let urls = cluster.client_urls();
    assert_eq!(urls.len(), 3);
    let sub_client = async_nats::connect(&urls[0]).await.unwrap();
    let pub_client = async_nats::connect(&urls[2]).await.unwrap();
    let mut sub = sub_client.subscribe("across").await.unwrap();
    sub_client.flush().await.unwrap();
    // Interest travels over the route: wait until node 3 knows it (the server's own propagation, not ours).
    assert!(eventually(Duration::from_secs(5), || {
        let routez = cluster.servers[2].monitor("routez?subs=1").unwrap();
        routez["routes"].as_array().unwrap().iter().any(|route| {
            route["subscriptions_list"]
                .as_array()
                .is_some_and(|subs| subs.iter().any(|s| s == "across"))
        })
    }));
    pub_client.publish("across", "hi".into()).await.unwrap();
    pub_client.flush().await.unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(msg.payload.as_ref(), b"hi");
}

#[tokio::test]
async fn an_r3_stream_is_created_on_the_first_try_every_time() {
    for round in 0..20 {
        let cluster = js_cluster(3);
        let client = connect_all(&cluster).await;
        let js = jetstream::new(client);
        js.create_stream(replicated("FIRST", 3))
            .await
            .unwrap_or_else(|e| panic!("round {round}: the first attempt failed: {e}"));
    }
}

#[tokio::test]
async fn killing_the_stream_leader_loses_no_acknowledged_message() {
    let mut cluster = js_cluster(3);
    let client = connect_all(&cluster).await;
    let js = jetstream::new(client);
    let mut stream = js.create_stream(replicated("KILL", 3)).await.unwrap();
    for i in 0..10 {
        publish_acked(&js, format!("kill.{i}"), format!("m{i}")).await;
    }
    let leader_name = stream
        .info()
        .await
        .unwrap()
        .cluster
        .as_ref()
        .unwrap()
        .leader
        .clone()
        .unwrap();
    let leader = cluster
        .servers
        .iter()
        .position(|s| s.info()["server_name"].as_str() == Some(leader_name.as_str()))
        .unwrap();
    cluster.kill(leader).unwrap();
    for i in 10..20 {
        publish_acked(&js, format!("kill.{i}"), format!("m{i}")).await;
    }
    cluster.start(leader).unwrap();
    assert!(cluster.servers[leader].is_running());
    // The node is back in the cluster; its copy of the stream catches up on its own. Until it has, some server
    // versions (2.10, 2.11) may answer a stream info from it: wait, as a client would, for every replica to be
    // current.
    let info = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Ok(info) = stream.info().await.cloned() {
                let cluster = info.cluster.clone().unwrap_or_default();
                if cluster.leader.is_some()
                    && cluster.replicas.len() == 2
                    && cluster.replicas.iter().all(|r| r.current)
                {
                    return info;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("every replica of the stream is current again");
    assert_eq!(info.state.messages, 20);
    for seq in 1..=20u64 {
        let msg = stream.get_raw_message(seq).await.unwrap();
        assert_eq!(msg.payload.as_ref(), format!("m{}", seq - 1).as_bytes());
    }
}

#[tokio::test]
async fn a_paused_node_is_elected_around_and_rejoins_after_resume() {
    let mut cluster = js_cluster(3);
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).unwrap();
    cluster.pause(leader).unwrap();
    let new_leader = cluster.wait_for_leader(Duration::from_secs(30)).unwrap();
    assert_ne!(
        new_leader, leader,
        "the others elect a leader without the paused one"
    );
    let client = async_nats::connect(cluster.servers[new_leader].client_url())
        .await
        .unwrap();
    // The JetStream API answers through the new leader while the old one is frozen. (Placing a replicated
    // stream now would be the server's gamble: it may still count the frozen node as a live peer.)
    let reply = client.request("$JS.API.INFO", "".into()).await.unwrap();
    let info: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
    assert!(info.get("error").is_none(), "JetStream answers: {info}");
    cluster.resume(leader).unwrap();
    cluster.wait_ready(Duration::from_secs(30)).unwrap();
    let agreed = cluster.meta_leader();
    assert!(agreed.is_some(), "all three agree on a leader again");
}

#[tokio::test]
async fn a_five_node_cluster_holds_an_r5_stream() {
    let cluster = js_cluster(5);
    assert_eq!(cluster.len(), 5);
    for server in &cluster.servers {
        let routes = server.monitor("routez").unwrap();
        let peers: std::collections::HashSet<&str> = routes["routes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["remote_id"].as_str())
            .collect();
        assert_eq!(peers.len(), 4, "every node routes to the four others");
    }
    let client = connect_all(&cluster).await;
    jetstream::new(client)
        .create_stream(replicated("FIVE", 5))
        .await
        .unwrap();
}

#[test]
fn four_clusters_in_parallel_never_collide() {
    let clusters: Vec<Cluster> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| js_cluster(3))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut ports = std::collections::HashSet::new();
    for cluster in &clusters {
        let ids: std::collections::HashSet<&str> =
            cluster.servers.iter().map(|s| s.server_id()).collect();
        for server in &cluster.servers {
            let p = server.ports();
            for port in [Some(p.client), p.monitoring, p.cluster]
                .into_iter()
                .flatten()
            {
                assert!(ports.insert(port), "port {port} used twice");
            }
            // No node routes to a node of another cluster.
            let routes = server.monitor("routez").unwrap();
            for route in routes["routes"].as_array().unwrap() {
                assert!(ids.contains(route["remote_id"].as_str().unwrap()));
            }
        }
    }
    let names: std::collections::HashSet<&str> = clusters.iter().map(|c| c.name()).collect();
    assert_eq!(names.len(), 4, "random cluster names");
}

#[test]
fn per_node_configs_apply_to_their_node() {
    let scratch = scratch();
    let files: Vec<std::path::PathBuf> = (1..=3)
        .map(|i| {
            let f = scratch.path().join(format!("node{i}.conf"));
            std::fs::write(&f, format!("max_payload: {}\n", 1000 * i)).unwrap();
            f
        })
        .collect();
    let paths: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
    let cluster = nats_server::run_cluster([paths[0], paths[1], paths[2]]);
    for (i, server) in cluster.servers.iter().enumerate() {
        let varz = server.monitor("varz").unwrap();
        assert_eq!(varz["max_payload"].as_u64(), Some(1000 * (i as u64 + 1)));
    }
}

#[tokio::test]
async fn the_original_run_cluster_with_jetstream_conf() {
    if skip_before(2, 11, "configs/jetstream.conf uses `strict`, new in 2.11") {
        return;
    }
    let cluster = nats_server::run_cluster(jetstream_conf().as_str());
    assert!(cluster.client_url().starts_with("nats://localhost:"));
    let client = async_nats::connect(cluster.client_url()).await.unwrap();
    jetstream::new(client)
        .create_stream(replicated("COMPAT", 3))
        .await
        .unwrap();
}

#[tokio::test]
async fn restarting_a_node_and_a_rolling_restart_keep_ports_and_data() {
    let mut cluster = js_cluster(3);
    let ports: Vec<_> = cluster.servers.iter().map(|s| s.ports()).collect();
    let client = connect_all(&cluster).await;
    let js = jetstream::new(client);
    js.create_stream(replicated("ROLL", 3)).await.unwrap();
    publish_acked(&js, "roll.1".into(), "one".into()).await;
    cluster.restart(1).unwrap();
    cluster.rolling_restart().unwrap();
    let after: Vec<_> = cluster.servers.iter().map(|s| s.ports()).collect();
    assert_eq!(ports, after, "every node keeps its ports");
    assert_eq!(publish_acked(&js, "roll.2".into(), "two".into()).await, 2);
}

#[test]
fn a_node_that_fails_to_start_fails_the_whole_start_and_leaves_nothing() {
    let scratch = scratch();
    let good = scratch.path().join("good.conf");
    let bad = scratch.path().join("bad.conf");
    std::fs::write(&good, "max_payload: 2048\n").unwrap();
    std::fs::write(&bad, "no_such_field: true\n").unwrap();
    let err = Cluster::run(
        &ClusterOptions::new()
            .server(ServerOptions::new().keep(Keep::Never))
            .node_config_files(vec![good.clone(), bad.clone(), good.clone()]),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.message().contains("cluster node 2 failed to start"),
        "{err}"
    );
    assert!(
        err.message().contains("no_such_field"),
        "the node's own words: {err}"
    );

    let err = Cluster::run(
        &ClusterOptions::new().server(ServerOptions::new().binary("/nope/nats-server")),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BinaryNotFound);
}

#[test]
fn dropping_a_cluster_leaves_no_process_and_no_directory() {
    let cluster = js_cluster(3);
    let pids: Vec<u32> = cluster.servers.iter().map(|s| s.pid().unwrap()).collect();
    let dirs: Vec<_> = cluster
        .servers
        .iter()
        .map(|s| s.dir().to_path_buf())
        .collect();
    drop(cluster);
    assert_nothing_left(&pids, &dirs);
}

#[test]
fn bad_node_indexes_are_errors() {
    let mut cluster = run(ClusterOptions::new().nodes(1));
    let err = cluster.kill(3).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidOptions);
    assert!(err.message().contains("out of range"), "{err}");
}

#[test]
fn each_node_can_have_its_own_store_directory() {
    let stores: Vec<tempfile::TempDir> = (0..3).map(|_| scratch()).collect();
    let cluster = run(ClusterOptions::new()
        .jetstream(true)
        .node_store_dirs(stores.iter().map(|d| d.path().to_path_buf()).collect()));
    for (i, store) in stores.iter().enumerate() {
        let node = cluster.node(i).unwrap();
        assert_eq!(node.store_dir(), store.path());
        let varz = node.monitor("varz").unwrap();
        let reported = varz["jetstream"]["config"]["store_dir"].as_str().unwrap();
        assert!(
            reported.starts_with(&store.path().display().to_string()),
            "node {i} stores in {reported}"
        );
    }
    let err = ClusterOptions::new()
        .node_store_dirs(vec![stores[0].path().to_path_buf()])
        .validate()
        .unwrap_err();
    assert!(err.message().contains("node_store_dirs"), "{err}");
}

#[tokio::test]
async fn stopping_three_nodes_at_once_takes_about_as_long_as_one() {
    // Lame duck with a client attached: each stop needs its full timeout, so serial stops would add up.
    let config = "lame_duck_grace_period: \"20s\"";
    let mut cluster = run(ClusterOptions::new()
        .nodes(4)
        .server(ServerOptions::new().config(config)));
    let mut clients = Vec::new();
    for (i, url) in cluster.client_urls().into_iter().enumerate() {
        let client = connect_watching_lame_duck(&url).await;
        cluster.lame_duck(i).unwrap();
        clients.push(client);
    }
    for (_, told) in &clients {
        assert!(
            told_lame_duck(told).await,
            "the server told its client it is in lame duck mode"
        );
    }
    let timeout = Duration::from_millis(300);
    let started = std::time::Instant::now();
    cluster.stop_timeout(0, timeout).unwrap();
    let one = started.elapsed();
    let started = std::time::Instant::now();
    cluster.stop_nodes(&[1, 2, 3], timeout).unwrap();
    let three = started.elapsed();
    println!("one lame-duck node stopped in {one:?}; three more at once in {three:?}");
    assert!(three < one * 2, "one {one:?}, three at once {three:?}");
    assert!(cluster.servers.iter().all(|s| !s.is_running()));
    let err = cluster
        .stop_nodes(&[0, 7], Duration::from_millis(1))
        .unwrap_err();
    assert!(err.message().contains("out of range"), "{err}");
}
