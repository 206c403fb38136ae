//! Client links through the fault proxy, driven by a real client (async-nats).

mod common;

use std::time::{Duration, Instant};

use async_nats::{ConnectOptions, Event};
use futures::StreamExt;
use nats_server::{ErrorKind, Fault, Keep, Server, ServerOptions};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

fn proxied(opts: ServerOptions) -> Server {
    Server::run(&opts.client_proxy(true).keep(Keep::Never)).unwrap_or_else(|e| panic!("{e}"))
}

/// A client on `url` whose connection events arrive on the returned channel.
async fn watched_client(
    url: &str,
    opts: ConnectOptions,
) -> (async_nats::Client, UnboundedReceiver<Event>) {
    let (tx, rx) = unbounded_channel();
    let client = opts
        .event_callback(move |event| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(event);
            }
        })
        // Reconnect quickly: the tests wait for it, they do not sleep.
        .reconnect_delay_callback(|_| Duration::from_millis(20))
        .connect(url)
        .await
        .unwrap();
    (client, rx)
}

async fn wait_for(events: &mut UnboundedReceiver<Event>, wanted: Event, within: Duration) {
    let found = tokio::time::timeout(within, async {
        while let Some(event) = events.recv().await {
            if std::mem::discriminant(&event) == std::mem::discriminant(&wanted) {
                return;
            }
        }
    })
    .await;
    assert!(found.is_ok(), "no {wanted} event within {within:?}");
}

/// Publishes "hello" on `subject` from `publisher` until `sub` receives it. (`flush` only writes out the client's
/// buffer, so a subscription made through the proxy may reach the server after a publish on a direct connection.)
async fn publish_until_received(
    publisher: &async_nats::Client,
    subject: &'static str,
    sub: &mut async_nats::Subscriber,
) -> async_nats::Message {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            publisher.publish(subject, "hello".into()).await.unwrap();
            publisher.flush().await.unwrap();
            if let Ok(Some(msg)) =
                tokio::time::timeout(Duration::from_millis(100), sub.next()).await
            {
                return msg;
            }
        }
    })
    .await
    .expect("the subscription receives")
}

#[tokio::test]
async fn the_proxied_url_reaches_the_server_and_the_direct_one_stays() {
    let server = proxied(ServerOptions::new());
    let proxied_url = server.proxied_url().expect("a proxied url");
    assert_ne!(proxied_url, server.client_url());
    let through = async_nats::connect(&proxied_url).await.unwrap();
    let direct = async_nats::connect(&server.client_url()).await.unwrap();
    let mut sub = through.subscribe("x").await.unwrap();
    let msg = publish_until_received(&direct, "x", &mut sub).await;
    assert_eq!(&msg.payload[..], b"hello");
    assert_eq!(server.client_proxy().unwrap().connection_count(), 1);
    // A server without the option has neither.
    let plain = Server::run(&ServerOptions::new().keep(Keep::Never)).unwrap();
    assert!(plain.proxied_url().is_none() && plain.client_proxy().is_none());
}

#[tokio::test]
async fn a_client_reconnects_after_reset_peer_and_its_subscription_still_receives() {
    let server = proxied(ServerOptions::new());
    let proxy = server.client_proxy().unwrap();
    let (client, mut events) =
        watched_client(&server.proxied_url().unwrap(), ConnectOptions::new()).await;
    let mut sub = client.subscribe("after.reset").await.unwrap();
    client.flush().await.unwrap();
    wait_for(&mut events, Event::Connected, Duration::from_secs(5)).await;

    proxy.add(Fault::reset_peer(Duration::ZERO)).unwrap();
    wait_for(&mut events, Event::Disconnected, Duration::from_secs(10)).await;
    proxy.remove_all().unwrap();
    wait_for(&mut events, Event::Connected, Duration::from_secs(10)).await;

    let publisher = async_nats::connect(&server.client_url()).await.unwrap();
    // The resubscription races our first publish: publish until it arrives.
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            publisher
                .publish("after.reset", "again".into())
                .await
                .unwrap();
            publisher.flush().await.unwrap();
            if let Ok(Some(msg)) =
                tokio::time::timeout(Duration::from_millis(100), sub.next()).await
            {
                return msg;
            }
        }
    })
    .await
    .expect("the subscription receives after the reconnect");
    assert_eq!(&got.payload[..], b"again");
}

#[tokio::test]
async fn a_request_under_latency_takes_at_least_the_added_time() {
    let server = proxied(ServerOptions::new());
    let proxy = server.client_proxy().unwrap();
    let responder = async_nats::connect(&server.client_url()).await.unwrap();
    let mut requests = responder.subscribe("echo").await.unwrap();
    responder.flush().await.unwrap();
    tokio::spawn(async move {
        while let Some(req) = requests.next().await {
            if let Some(reply) = req.reply {
                let _ = responder.publish(reply, req.payload).await;
            }
        }
    });
    let client = async_nats::connect(&server.proxied_url().unwrap())
        .await
        .unwrap();
    client.request("echo", "warm".into()).await.unwrap();
    for stream in nats_server::Direction::BOTH {
        proxy
            .add(Fault::latency(Duration::from_millis(50), Duration::ZERO).stream(stream))
            .unwrap();
    }
    let started = Instant::now();
    let answer = client.request("echo", "slow".into()).await.unwrap();
    let took = started.elapsed();
    assert_eq!(&answer.payload[..], b"slow");
    println!("request with 50 ms latency each way took {took:?}");
    assert!(took >= Duration::from_millis(100), "took only {took:?}");
    proxy.remove_all().unwrap();
    let started = Instant::now();
    client.request("echo", "fast".into()).await.unwrap();
    println!("request without faults took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_slow_consumer_under_a_bandwidth_limit_is_reported_by_the_server() {
    let server = proxied(
        ServerOptions::new()
            .config("max_payload: 64KB\nmax_pending: 256KB\nwrite_deadline: \"500ms\""),
    );
    let proxy = server.client_proxy().unwrap();
    let consumer = async_nats::connect(&server.proxied_url().unwrap())
        .await
        .unwrap();
    let _sub = consumer.subscribe("flood").await.unwrap();
    consumer.flush().await.unwrap();
    proxy.add(Fault::bandwidth(10).downstream()).unwrap();
    let publisher = async_nats::connect(&server.client_url()).await.unwrap();
    let payload = vec![b'x'; 32 * 1024];
    let reported = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            for _ in 0..64 {
                publisher
                    .publish("flood", payload.clone().into())
                    .await
                    .unwrap();
            }
            publisher.flush().await.unwrap();
            let varz = server.monitor("varz").unwrap();
            if varz["slow_consumers"].as_u64().unwrap_or(0) > 0 {
                return varz["slow_consumers"].as_u64().unwrap();
            }
        }
    })
    .await
    .expect("the server reports a slow consumer");
    assert!(reported >= 1);
}

#[tokio::test]
async fn a_blackhole_is_detected_by_the_clients_ping_interval() {
    let server = proxied(ServerOptions::new());
    let proxy = server.client_proxy().unwrap();
    let (_client, mut events) = watched_client(
        &server.proxied_url().unwrap(),
        ConnectOptions::new().ping_interval(Duration::from_millis(200)),
    )
    .await;
    wait_for(&mut events, Event::Connected, Duration::from_secs(5)).await;
    for stream in nats_server::Direction::BOTH {
        proxy.add(Fault::timeout(None).stream(stream)).unwrap();
    }
    // The connection stays open (a blackhole): only the unanswered pings can tell.
    wait_for(&mut events, Event::Disconnected, Duration::from_secs(10)).await;
    proxy.remove_all().unwrap();
    wait_for(&mut events, Event::Connected, Duration::from_secs(10)).await;
}

#[tokio::test]
async fn a_timeout_fault_closes_the_connection_after_its_delay() {
    let server = proxied(ServerOptions::new());
    let proxy = server.client_proxy().unwrap();
    let (_client, mut events) =
        watched_client(&server.proxied_url().unwrap(), ConnectOptions::new()).await;
    wait_for(&mut events, Event::Connected, Duration::from_secs(5)).await;
    let added = Instant::now();
    proxy
        .add(Fault::timeout(Some(Duration::from_millis(100))))
        .unwrap();
    wait_for(&mut events, Event::Disconnected, Duration::from_secs(10)).await;
    assert!(added.elapsed() >= Duration::from_millis(100));
}

#[tokio::test]
async fn sliced_data_still_makes_whole_messages() {
    let server = proxied(ServerOptions::new());
    let proxy = server.client_proxy().unwrap();
    for stream in nats_server::Direction::BOTH {
        proxy
            .add(Fault::slicer(3, 2, Duration::from_micros(10)).stream(stream))
            .unwrap();
    }
    let client = async_nats::connect(&server.proxied_url().unwrap())
        .await
        .unwrap();
    let mut sub = client.subscribe("sliced").await.unwrap();
    let payload = "a payload long enough to be cut into many small pieces".repeat(20);
    client
        .publish("sliced", payload.clone().into())
        .await
        .unwrap();
    client.flush().await.unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(msg.payload, payload.as_bytes());
}

#[tokio::test]
async fn limit_data_closes_the_connection_after_the_bytes() {
    let server = proxied(ServerOptions::new());
    let proxy = server.client_proxy().unwrap();
    let (client, mut events) =
        watched_client(&server.proxied_url().unwrap(), ConnectOptions::new()).await;
    wait_for(&mut events, Event::Connected, Duration::from_secs(5)).await;
    proxy.add(Fault::limit_data(1000).upstream()).unwrap();
    for _ in 0..10 {
        let _ = client.publish("bytes", vec![b'x'; 200].into()).await;
    }
    let _ = client.flush().await;
    wait_for(&mut events, Event::Disconnected, Duration::from_secs(10)).await;
}

#[tokio::test]
async fn toxicity_zero_never_applies() {
    let server = proxied(ServerOptions::new());
    let proxy = server.client_proxy().unwrap();
    proxy
        .add(Fault::reset_peer(Duration::ZERO).toxicity(0.0))
        .unwrap();
    let client = async_nats::connect(&server.proxied_url().unwrap())
        .await
        .unwrap();
    let mut sub = client.subscribe("t").await.unwrap();
    client.publish("t", "ok".into()).await.unwrap();
    client.flush().await.unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&msg.payload[..], b"ok");
}

#[tokio::test]
async fn a_disabled_link_drops_connections_and_refuses_new_ones_until_enabled() {
    let server = proxied(ServerOptions::new());
    let proxy = server.client_proxy().unwrap();
    let (_client, mut events) =
        watched_client(&server.proxied_url().unwrap(), ConnectOptions::new()).await;
    wait_for(&mut events, Event::Connected, Duration::from_secs(5)).await;
    proxy.disable().unwrap();
    assert!(!proxy.is_enabled());
    wait_for(&mut events, Event::Disconnected, Duration::from_secs(10)).await;
    let refused = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(2))
        .connect(server.proxied_url().unwrap())
        .await;
    assert!(
        refused.is_err(),
        "a new connection through a down link works"
    );
    proxy.enable().unwrap();
    wait_for(&mut events, Event::Connected, Duration::from_secs(10)).await;
}

#[test]
fn bad_faults_are_clear_errors() {
    let server = proxied(ServerOptions::new());
    let proxy = server.client_proxy().unwrap();
    let err = proxy
        .add(Fault::latency(Duration::from_secs(7200), Duration::ZERO))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidOptions);
    assert!(err.to_string().contains("absurd"), "{err}");
    let err = proxy.add(Fault::bandwidth(0)).unwrap_err();
    assert!(err.to_string().contains("rate 0"), "{err}");
    let err = proxy.add(Fault::bandwidth(1).toxicity(-0.5)).unwrap_err();
    assert!(err.to_string().contains("toxicity -0.5"), "{err}");
    let err = Fault::from_json(r#"{"type":"timeout","attributes":{"timeout":-1}}"#).unwrap_err();
    assert!(err.to_string().contains("`-1`"), "{err}");
    assert!(err.to_string().contains("cannot be negative"), "{err}");
    proxy.add(Fault::bandwidth(1)).unwrap();
    let err = proxy.add(Fault::bandwidth(2)).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    let err = proxy.remove("nope").unwrap_err();
    assert!(err.to_string().contains("no fault named \"nope\""), "{err}");
    assert_eq!(proxy.faults().len(), 1);
}

#[test]
fn faults_on_a_closed_proxy_are_errors_and_its_port_is_gone() {
    let server = proxied(ServerOptions::new());
    let proxy = server.client_proxy().unwrap();
    let port = proxy.port();
    proxy.close();
    assert!(proxy.is_closed());
    let err = proxy.add(Fault::bandwidth(1)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotRunning);
    assert!(err.to_string().contains("closed"), "{err}");
    assert_eq!(proxy.disable().unwrap_err().kind(), ErrorKind::NotRunning);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn the_proxy_dies_with_its_server() {
    let server = proxied(ServerOptions::new());
    let port = server.client_proxy().unwrap().port();
    let held = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    drop(server);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    drop(held);
}

#[test]
fn client_proxy_in_a_json_document() {
    let opts = ServerOptions::from_json(r#"{"client_proxy": true}"#).unwrap();
    assert!(opts.client_proxy);
}
