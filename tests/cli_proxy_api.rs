//! `nats-harness run --client-proxy --route-proxies --proxy-api ADDR`: the proxies driven through the
//! toxiproxy-compatible HTTP API with plain HTTP (ureq), observed with a real client (async-nats).

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_nats-harness");

/// The harness process; SIGKILLed if the test fails before it ends (its servers die with it).
struct Harness(Child);

impl Drop for Harness {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// Sends `method path` with an optional JSON body; returns the status and the body as JSON (`Null` if empty).
fn call(api: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{api}{path}");
    let agent = agent();
    let response = match (method, body) {
        ("GET", _) => agent.get(&url).call(),
        ("DELETE", _) => agent.delete(&url).call(),
        ("POST", Some(body)) => agent.post(&url).send(body.to_string()),
        ("POST", None) => agent.post(&url).send_empty(),
        _ => unreachable!(),
    };
    let mut response = response.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_proxy_api_drives_the_proxies_like_toxiproxy() {
    let port = common::quiet_port();
    let mut child = Command::new(BIN)
        .args([
            "run",
            "--json",
            "-q",
            "--nodes",
            "2",
            "--client-proxy",
            "--route-proxies",
            "--proxy-api",
            &format!("127.0.0.1:{port}"),
        ])
        .env("NATS_SERVER_KEEP", "never")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nats-harness");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let harness = Harness(child);
    let report: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    let proxied: Vec<String> = serde_json::from_value(report["proxied_urls"].clone()).unwrap();
    assert_eq!(proxied.len(), 2, "{report}");
    let api = format!("http://127.0.0.1:{port}");
    // The API starts right after the report is printed.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the proxy API did not open");
        std::thread::sleep(Duration::from_millis(10));
    }

    let (status, proxies) = call(&api, "GET", "/proxies", None);
    assert_eq!(status, 200);
    for name in ["client-0", "client-1", "route-0-1", "route-1-0"] {
        let p = &proxies[name];
        assert_eq!(p["name"], name, "{proxies}");
        assert_eq!(p["enabled"], true);
        assert!(p["listen"].as_str().unwrap().starts_with("127.0.0.1:"));
        assert!(p["upstream"].as_str().unwrap().starts_with("127.0.0.1:"));
        assert_eq!(p["toxics"], json!([]));
    }
    assert!(proxied[0].ends_with(proxies["client-0"]["listen"].as_str().unwrap()));

    // A latency toxic on the client link: a client through the proxy sees it on every round trip.
    let toxic = json!({"type": "latency", "stream": "downstream", "attributes": {"latency": 200}});
    let (status, created) = call(
        &api,
        "POST",
        "/proxies/client-0/toxics",
        Some(toxic.clone()),
    );
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["name"], "latency_downstream");
    assert_eq!(created["toxicity"], 1.0);
    let (status, _) = call(&api, "POST", "/proxies/client-0/toxics", Some(toxic));
    assert_eq!(status, 409, "a toxic with the same name exists");
    // Connecting waits for the server's INFO, which comes downstream.
    let started = Instant::now();
    let client = async_nats::connect(&proxied[0]).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "connecting through 200 ms of latency took {:?}",
        started.elapsed()
    );
    let (status, listed) = call(&api, "GET", "/proxies/client-0/toxics", None);
    assert_eq!((status, listed.as_array().unwrap().len()), (200, 1));
    assert_eq!(
        call(
            &api,
            "DELETE",
            "/proxies/client-0/toxics/latency_downstream",
            None
        )
        .0,
        204
    );
    assert_eq!(
        call(
            &api,
            "DELETE",
            "/proxies/client-0/toxics/latency_downstream",
            None
        )
        .0,
        404
    );
    assert_eq!(
        call(&api, "GET", "/proxies/client-0/toxics", None).1,
        json!([])
    );

    // Taking a link down (toxiproxy's enabled: false) closes its connections and refuses new ones.
    let (status, down) = call(
        &api,
        "POST",
        "/proxies/client-0",
        Some(json!({"enabled": false})),
    );
    assert_eq!((status, &down["enabled"]), (200, &json!(false)));
    assert!(
        tokio::time::timeout(Duration::from_secs(2), async_nats::connect(&proxied[0]))
            .await
            .map_or(true, |r| r.is_err()),
        "a client connected through a disabled proxy"
    );
    drop(client);
    assert_eq!(
        call(
            &api,
            "POST",
            "/proxies/route-0-1/toxics",
            Some(json!({"type": "bandwidth", "attributes": {"rate": 100}}))
        )
        .0,
        200
    );
    // /reset: every link up, every toxic gone.
    assert_eq!(call(&api, "POST", "/reset", None).0, 204);
    let (_, proxies) = call(&api, "GET", "/proxies", None);
    for p in proxies.as_object().unwrap().values() {
        assert_eq!(
            (&p["enabled"], &p["toxics"]),
            (&json!(true), &json!([])),
            "{p}"
        );
    }
    async_nats::connect(&proxied[0]).await.unwrap();

    // Bad requests are clear errors in toxiproxy's shape.
    let (status, err) = call(&api, "GET", "/proxies/nope", None);
    assert_eq!((status, &err["status"]), (404, &json!(404)));
    let (status, err) = call(
        &api,
        "POST",
        "/proxies/client-1/toxics",
        Some(json!({"type": "latency", "attributes": {"latency": -5}})),
    );
    assert_eq!(status, 400);
    assert!(
        err["error"]
            .as_str()
            .unwrap()
            .contains("cannot be negative"),
        "{err}"
    );

    // SIGTERM stops everything.
    // SAFETY: kill(2) on the child we spawned and have not reaped.
    unsafe { libc::kill(harness.0.id() as libc::pid_t, libc::SIGTERM) };
    let mut harness = harness;
    let status = harness.0.wait().unwrap();
    let mut stderr = String::new();
    harness
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
}
