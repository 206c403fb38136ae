//! Reliability in a bounded form that fits CI: leaks over many start/stop cycles, parallel stress, and faults
//! under a client's steady load. The tests of this file run one at a time (they count process-wide resources).
//! `RELIABILITY_SCALE=5 cargo test --release --test reliability` runs them five times bigger.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use common::connect_all;
use nats_server::{Cluster, ClusterOptions, Keep, Server, ServerOptions};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn scale() -> usize {
    std::env::var("RELIABILITY_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
        .max(1)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn our_dirs() -> usize {
    let prefix = format!("ns-{}-", std::process::id());
    std::fs::read_dir(nats_server::internals::workdir_root())
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .count()
        })
        .unwrap_or(0)
}

/// Live (not zombie) children of this process, but for the harness's watchdog (which lives as long as we do).
fn live_children() -> Vec<u32> {
    let me = std::process::id().to_string();
    let watchdog = nats_server::internals::watchdog_pid();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| Some(*pid) != watchdog)
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                let fields: Vec<&str> = stat
                    .rsplit(')')
                    .next()
                    .unwrap_or("")
                    .split_whitespace()
                    .collect();
                fields.get(1) == Some(&me.as_str()) && fields.first() != Some(&"Z")
            })
        })
        .collect()
}

#[test]
fn two_hundred_start_stop_cycles_leave_no_file_directory_process_or_descriptor() {
    let _serial = serial();
    // Warm up the process-wide pieces (the watchdog, the sweep) before counting.
    drop(Server::run(&ServerOptions::new().keep(Keep::Never)).unwrap());
    let (fds, dirs) = (open_fds(), our_dirs());
    let opts = ServerOptions::new().jetstream(true).keep(Keep::Never);
    for i in 0..200 * scale() {
        let mut server = Server::run(&opts).unwrap_or_else(|e| panic!("cycle {i}: {e}"));
        if i % 4 == 0 {
            server
                .try_restart()
                .unwrap_or_else(|e| panic!("cycle {i}: {e}"));
        }
        if i % 4 == 1 {
            server.stop().unwrap();
        }
    }
    assert_eq!(open_fds(), fds, "file descriptors leaked");
    assert_eq!(our_dirs(), dirs, "directories leaked");
    assert!(
        live_children().is_empty(),
        "processes leaked: {:?}",
        live_children()
    );
}

#[test]
fn a_hundred_servers_from_eight_threads_all_start_on_distinct_ports() {
    let _serial = serial();
    let per_thread = (100 * scale()).div_ceil(8);
    let servers: Vec<Server> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                s.spawn(move || {
                    (0..per_thread)
                        .map(|i| {
                            Server::run(&ServerOptions::new().keep(Keep::Never))
                                .unwrap_or_else(|e| panic!("thread {t}, server {i}: {e}"))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(servers.len() >= 100);
    let mut ports = HashSet::new();
    for server in &servers {
        let p = server.ports();
        assert!(ports.insert(p.client), "client port {} twice", p.client);
        assert!(ports.insert(p.monitoring.unwrap()), "monitoring port twice");
        assert!(server.is_running());
    }
    drop(servers);
    assert!(
        live_children().is_empty(),
        "processes left: {:?}",
        live_children()
    );
}

/// Publishes continuously through a client connected to every node, remembering each acknowledged message.
fn steady_publisher(
    js: jetstream::Context,
    acked: Arc<Mutex<BTreeMap<u64, String>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let mut failures = 0;
        let mut n = 0u64;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            n += 1;
            let payload = format!("m{n}");
            match js.publish("load.x", payload.clone().into()).await {
                Ok(ack) => match ack.await {
                    Ok(ack) => {
                        acked.lock().unwrap().insert(ack.sequence, payload);
                    }
                    Err(_) => failures += 1,
                },
                Err(_) => failures += 1,
            }
            if failures > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        failures
    })
}

#[test]
fn kill_pause_and_lame_duck_under_load_lose_no_acknowledged_message() {
    let _serial = serial();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(faults_under_load());
}

async fn faults_under_load() {
    let mut opts = ClusterOptions::new().nodes(3).jetstream(true);
    opts.server.keep = Some(Keep::Never);
    opts.server.config = Some("lame_duck_grace_period: \"1s\"".into());
    let mut cluster = tokio::task::block_in_place(|| Cluster::run(&opts)).unwrap();
    let client = connect_all(&cluster).await;
    let js = jetstream::new(client);
    let mut stream = js
        .create_stream(stream::Config {
            name: "LOAD".into(),
            subjects: vec!["load.>".into()],
            num_replicas: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    let acked = Arc::new(Mutex::new(BTreeMap::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let publisher = steady_publisher(js.clone(), acked.clone(), stop.clone());
    let settle = || tokio::time::sleep(Duration::from_millis(300));

    for round in 0..scale() {
        settle().await;
        tokio::task::block_in_place(|| -> nats_server::Result<()> {
            cluster.kill(0)?;
            std::thread::sleep(Duration::from_millis(300));
            cluster.start(0)
        })
        .unwrap_or_else(|e| panic!("round {round}, kill: {e}"));
        settle().await;
        tokio::task::block_in_place(|| -> nats_server::Result<()> {
            cluster.pause(1)?;
            std::thread::sleep(Duration::from_millis(500));
            cluster.resume(1)?;
            cluster.wait_ready(Duration::from_secs(30))
        })
        .unwrap_or_else(|e| panic!("round {round}, pause: {e}"));
        settle().await;
        tokio::task::block_in_place(|| -> nats_server::Result<()> {
            cluster.lame_duck(2)?;
            cluster.node_mut(2)?.wait_exit(Duration::from_secs(30))?;
            cluster.start(2)
        })
        .unwrap_or_else(|e| panic!("round {round}, lame duck: {e}"));
    }
    settle().await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    publisher.await.unwrap();

    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 20,
        "the load really ran: {} acknowledged",
        acked.len()
    );
    let info = stream.info().await.unwrap();
    assert!(info.state.messages >= acked.len() as u64);
    for (seq, payload) in &acked {
        let msg = stream
            .get_raw_message(*seq)
            .await
            .unwrap_or_else(|e| panic!("acknowledged message {seq} is lost: {e}"));
        assert_eq!(
            msg.payload.as_ref(),
            payload.as_bytes(),
            "message {seq} changed"
        );
    }
}
