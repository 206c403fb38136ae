//! The original crate's API, used exactly as its users' test suites use it.

mod common;

use std::time::Duration;

use common::*;
use futures::StreamExt;

#[tokio::test]
async fn basic_server_publish_subscribe() {
    let server = nats_server::run_basic_server();
    let client = async_nats::connect(server.client_url()).await.unwrap();
    let mut sub = client.subscribe("compat").await.unwrap();
    client.publish("compat", "data".into()).await.unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(msg.payload.as_ref(), b"data");
    assert_eq!(
        server.client_url(),
        format!("nats://localhost:{}", server.client_port())
    );
    assert!(server.client_pid() > 0);
    assert!(pid_alive(server.client_pid() as u32));
}

#[tokio::test]
async fn run_server_with_jetstream_conf() {
    if skip_before(2, 11, "configs/jetstream.conf uses `strict`, new in 2.11") {
        return;
    }
    let server = nats_server::run_server(&jetstream_conf());
    let client = async_nats::connect(server.client_url()).await.unwrap();
    async_nats::jetstream::new(client)
        .query_account()
        .await
        .unwrap();
    let jsz = server.monitor("jsz").unwrap();
    assert_eq!(
        jsz["config"]["max_memory"].as_u64(),
        Some(8 * 1024 * 1024),
        "the config's 8 MiB limit"
    );
}

#[tokio::test]
async fn reconnect_after_restart() {
    let mut server = nats_server::run_server("");
    let client = async_nats::connect(server.client_url()).await.unwrap();
    let port = server.client_port();
    server.restart();
    assert_eq!(server.client_port(), port);
    client.publish("test", "data".into()).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        while client.flush().await.is_err() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the client reconnects to the restarted server");
}

#[test]
fn run_server_with_an_explicit_port() {
    let port = quiet_port();
    let server = nats_server::run_server_with_port("", Some(&port.to_string()));
    assert_eq!(server.client_port(), port);
    assert!(!nats_server::is_port_available(port as usize));
    let dynamic = nats_server::run_server_with_port("", None);
    assert_ne!(dynamic.client_port(), 0);
}

#[test]
fn url_helpers_match_the_original_forms() {
    let server = nats_server::run_basic_server();
    let port = server.client_port();
    assert_eq!(
        server.client_url_with("u", "p"),
        format!("nats://u:p@localhost:{port}")
    );
    assert_eq!(
        server.client_url_with_token("tok"),
        format!("nats://tok@localhost:{port}")
    );
}

#[test]
fn lame_duck_helper_makes_the_server_leave() {
    let mut server = nats_server::run_basic_server();
    nats_server::set_lame_duck_mode(&server);
    server.wait_exit(Duration::from_secs(15)).unwrap();
}

#[test]
fn is_port_available_sees_a_bound_port() {
    // Outside the ephemeral range: once dropped, no concurrent test's dynamic port can take it.
    let port = quiet_port();
    let holder = std::net::TcpListener::bind(("0.0.0.0", port)).unwrap();
    let port = port as usize;
    assert!(!nats_server::is_port_available(port));
    drop(holder);
    assert!(nats_server::is_port_available(port));
    assert!(!nats_server::is_port_available(70_000), "not a port");
}
