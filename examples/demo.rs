//! The quick-start demo: a server and a JetStream cluster, ready in milliseconds, cleaned up on exit.
//!
//! Run it with `cargo run --example demo`.

use std::time::Instant;

use nats_server::{Cluster, ClusterOptions, Server, ServerOptions};

fn main() -> nats_server::Result<()> {
    let t = Instant::now();
    let mut server = Server::run(&ServerOptions::new().jetstream(true))?;
    println!(
        "server {} (nats-server {}) ready at {} in {:.1?}",
        server.server_id(),
        server.version().map(|v| v.to_string()).unwrap_or_default(),
        server.client_url(),
        t.elapsed()
    );
    let port = server.client_port();
    let t = Instant::now();
    server.try_restart()?;
    println!(
        "restarted on the same port ({}) in {:.1?}",
        server.client_port() == port,
        t.elapsed()
    );

    let t = Instant::now();
    let cluster = Cluster::run(&ClusterOptions::new().nodes(3).jetstream(true))?;
    println!(
        "3-node JetStream cluster {} ready (meta leader: node {}) in {:.1?}: {}",
        cluster.name(),
        cluster.meta_leader().map_or(0, |i| i + 1),
        t.elapsed(),
        cluster.client_urls().join(", ")
    );
    Ok(())
}
