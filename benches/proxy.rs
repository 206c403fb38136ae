//! The fault proxy must not distort an unimpaired link, and its faults must be accurate. In one run, against one
//! server: pub/sub throughput and request latency through an idle proxy and directly (alternating rounds, so a busy
//! moment of the machine hits both alike), then a request under a 50 ms latency fault on both directions.
//!
//!     cargo bench --bench proxy
//!     BENCH_MESSAGES=500000 BENCH_REQUESTS=5000 cargo bench --bench proxy
//!
//! Targets (issue 15): throughput through the idle proxy >= 0.8x direct; added median request latency <= 100 us;
//! a request under 50 ms latency each way takes 100-120 ms. Prints numbers; asserts nothing.

use std::time::{Duration, Instant};

use futures::StreamExt;
use nats_server::{Direction, Fault, Keep, Server, ServerOptions};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Messages per second from one publisher to one subscriber, both on `url`.
async fn throughput(url: &str, messages: usize, size: usize) -> f64 {
    let subscriber = async_nats::connect(url).await.unwrap();
    let publisher = async_nats::connect(url).await.unwrap();
    let mut sub = subscriber.subscribe("bench").await.unwrap();
    subscriber.flush().await.unwrap();
    // A round trip so the subscription is known before the clock starts.
    let mut ready = subscriber.subscribe("ready").await.unwrap();
    subscriber.flush().await.unwrap();
    loop {
        publisher.publish("ready", "".into()).await.unwrap();
        publisher.flush().await.unwrap();
        if tokio::time::timeout(Duration::from_millis(50), ready.next())
            .await
            .is_ok()
        {
            break;
        }
    }
    let payload = bytes_of(size);
    let started = Instant::now();
    let receiving = tokio::spawn(async move {
        for _ in 0..messages {
            sub.next().await.unwrap();
        }
    });
    for _ in 0..messages {
        publisher
            .publish("bench", payload.clone().into())
            .await
            .unwrap();
    }
    publisher.flush().await.unwrap();
    receiving.await.unwrap();
    messages as f64 / started.elapsed().as_secs_f64()
}

fn bytes_of(size: usize) -> Vec<u8> {
    vec![b'x'; size]
}

/// Request round trips through `url` to a responder on `direct`, in microseconds, sorted.
async fn request_latencies(url: &str, direct: &str, requests: usize) -> Vec<f64> {
    let responder = async_nats::connect(direct).await.unwrap();
    let mut incoming = responder.subscribe("svc").await.unwrap();
    responder.flush().await.unwrap();
    let answering = tokio::spawn(async move {
        while let Some(req) = incoming.next().await {
            if let Some(reply) = req.reply {
                let _ = responder.publish(reply, req.payload).await;
                let _ = responder.flush().await;
            }
        }
    });
    let client = async_nats::connect(url).await.unwrap();
    // The responder's subscription reaches the server asynchronously (flush does not wait for it): until it
    // does, a request gets "no responders". Warm up with 20 answered requests.
    let mut answered = 0;
    while answered < 20 {
        match client.request("svc", "warm".into()).await {
            Ok(_) => answered += 1,
            Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders => {}
            Err(e) => panic!("a warm-up request failed: {e}"),
        }
    }
    let mut took = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = Instant::now();
        client.request("svc", "x".into()).await.unwrap();
        took.push(started.elapsed().as_secs_f64() * 1e6);
    }
    answering.abort();
    took.sort_by(f64::total_cmp);
    took
}

fn median(sorted: &[f64]) -> f64 {
    sorted[sorted.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let messages = env("BENCH_MESSAGES", 200_000);
    let requests = env("BENCH_REQUESTS", 2_000);
    let rounds = env("BENCH_ROUNDS", 3);
    let server = Server::run(&ServerOptions::new().client_proxy(true).keep(Keep::Never)).unwrap();
    let direct = server.url();
    let proxied = server.proxied_url().unwrap();

    let (mut tp_direct, mut tp_proxied, mut lat_direct, mut lat_proxied) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        tp_direct.push(throughput(&direct, messages, 128).await);
        tp_proxied.push(throughput(&proxied, messages, 128).await);
        lat_direct.push(median(&request_latencies(&direct, &direct, requests).await));
        lat_proxied.push(median(
            &request_latencies(&proxied, &direct, requests).await,
        ));
    }
    let best = |v: &[f64]| v.iter().cloned().fold(f64::MIN, f64::max);
    let mid = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (td, tpx) = (best(&tp_direct), best(&tp_proxied));
    let (ld, lpx) = (mid(&mut lat_direct), mid(&mut lat_proxied));
    println!("pub/sub 128 B, {messages} messages, best of {rounds} rounds:");
    println!("  direct  {td:>12.0} msg/s");
    println!(
        "  proxied {tpx:>12.0} msg/s   ratio {:.2} (target >= 0.80)",
        tpx / td
    );
    println!("request latency, median of {requests} requests, median of {rounds} rounds:");
    println!("  direct  {ld:>8.1} us");
    println!("  proxied {lpx:>8.1} us   added {:.1} us (target <= 100 us; the proxy is on the requester's link only)", lpx - ld);

    let proxy = server.client_proxy().unwrap();
    for stream in Direction::BOTH {
        proxy
            .add(Fault::latency(Duration::from_millis(50), Duration::ZERO).stream(stream))
            .unwrap();
    }
    let slow = request_latencies(&proxied, &direct, 20).await;
    println!(
        "request under 50 ms latency each way: min {:.1} ms, median {:.1} ms, max {:.1} ms (target 100-120 ms)",
        slow[0] / 1000.0,
        median(&slow) / 1000.0,
        slow[slow.len() - 1] / 1000.0
    );
    println!(
        "{{\"bench\": \"proxy\", \"throughput_ratio\": {:.3}, \"added_median_request_us\": {:.1}, \"latency_50ms_median_ms\": {:.1}}}",
        tpx / td,
        lpx - ld,
        median(&slow) / 1000.0
    );
}
