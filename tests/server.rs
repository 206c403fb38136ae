//! A single real server, driven by a real client (async-nats).

mod common;

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use common::*;
use futures::StreamExt;
use nats_server::{Keep, Server, ServerOptions, TlsFiles, TlsOptions};

fn run(opts: ServerOptions) -> Server {
    Server::run(&opts.keep(Keep::Never)).unwrap_or_else(|e| panic!("{e}"))
}

/// A server with generated TLS files, whose certificate, key and CA a test then uses as its own (in config text):
/// nothing checked in can expire. Keep it alive while the files are in use (they live in its directory).
fn tls_donor() -> (Server, TlsFiles) {
    let donor = run(ServerOptions::new().tls(TlsOptions::new()));
    let files = donor.tls_files().unwrap().clone();
    (donor, files)
}

#[tokio::test]
async fn publish_and_subscribe() {
    let server = run(ServerOptions::new());
    assert!(server.client_url().starts_with("nats://localhost:"));
    let client = async_nats::connect(server.client_url()).await.unwrap();
    let mut sub = client.subscribe("greet").await.unwrap();
    client.publish("greet", "hello".into()).await.unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(msg.payload.as_ref(), b"hello");
}

#[tokio::test]
async fn restart_on_a_dynamic_port_keeps_port_and_jetstream_data() {
    let mut server = run(ServerOptions::new().jetstream(true));
    let port = server.client_port();
    let first_pid = server.pid().unwrap();
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(server.client_url())
        .await
        .unwrap();
    let js = jetstream::new(client.clone());
    js.create_stream(stream::Config {
        name: "ORDERS".into(),
        subjects: vec!["orders.>".into()],
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .unwrap();
    js.publish("orders.1", "first".into())
        .await
        .unwrap()
        .await
        .unwrap();

    server.try_restart().unwrap();
    assert_eq!(
        server.client_port(),
        port,
        "restart must keep the dynamic port"
    );
    assert_ne!(
        server.pid().unwrap(),
        first_pid,
        "restart must start a new process"
    );

    // The same client reconnects by itself and the stream's data survived.
    let ack = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match js.publish("orders.2", "second".into()).await {
                Ok(ack) => match ack.await {
                    Ok(ack) => return ack,
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                },
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await
    .expect("the client reconnected and published after restart");
    assert_eq!(ack.sequence, 2, "the stream kept its first message");
    let mut stream = js.get_stream("ORDERS").await.unwrap();
    assert_eq!(stream.info().await.unwrap().state.messages, 2);
    let first = stream.get_raw_message(1).await.unwrap();
    assert_eq!(first.payload.as_ref(), b"first");
}

#[tokio::test]
async fn stop_then_start_comes_back_on_the_same_port() {
    let mut server = run(ServerOptions::new());
    let url = server.client_url();
    let pid = server.pid().unwrap();
    server.stop().unwrap();
    assert!(!server.is_running());
    assert!(server.pid().is_none());
    assert!(!pid_alive(pid), "stop must reap the process");
    assert!(
        async_nats::connect(&url).await.is_err(),
        "a stopped server accepts nobody"
    );
    server.stop().unwrap(); // stopping twice is harmless
    server.start().unwrap();
    assert!(server.is_running());
    assert_eq!(server.client_url(), url);
    async_nats::connect(&url)
        .await
        .unwrap()
        .flush()
        .await
        .unwrap();
}

#[tokio::test]
async fn kill_is_a_crash_and_start_recovers() {
    let mut server = run(ServerOptions::new());
    let pid = server.pid().unwrap();
    server.kill().unwrap();
    assert!(!server.is_running());
    assert!(!pid_alive(pid));
    let err = server.pause().unwrap_err();
    assert_eq!(err.kind(), nats_server::ErrorKind::NotRunning);
    server.start().unwrap();
    async_nats::connect(server.client_url())
        .await
        .unwrap()
        .flush()
        .await
        .unwrap();
}

#[tokio::test]
async fn pause_blocks_a_request_and_resume_unblocks_it() {
    let mut server = run(ServerOptions::new());
    let responder = async_nats::connect(server.client_url()).await.unwrap();
    let mut requests = responder.subscribe("echo").await.unwrap();
    tokio::spawn(async move {
        while let Some(msg) = requests.next().await {
            if let Some(reply) = msg.reply {
                responder.publish(reply, msg.payload).await.unwrap();
            }
        }
    });
    let client = async_nats::connect(server.client_url()).await.unwrap();
    client.request("echo", "before".into()).await.unwrap();

    server.pause().unwrap();
    assert!(server.is_running(), "a paused server is still alive");
    let blocked = tokio::time::timeout(
        Duration::from_millis(500),
        client.request("echo", "paused".into()),
    )
    .await;
    assert!(
        !matches!(blocked, Ok(Ok(_))),
        "a request to a paused server must not be answered"
    );
    server.resume().unwrap();
    let answer = tokio::time::timeout(
        Duration::from_secs(5),
        client.request("echo", "after".into()),
    )
    .await
    .expect("the request is answered after resume")
    .unwrap();
    assert_eq!(answer.payload.as_ref(), b"after");
}

#[tokio::test]
async fn lame_duck_tells_clients_and_the_server_leaves() {
    // A short grace period: the server closes remaining clients after it, and then leaves.
    let mut server = run(ServerOptions::new().config("lame_duck_grace_period: \"1s\""));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let client = async_nats::ConnectOptions::new()
        .event_callback(move |event| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(event);
            }
        })
        .connect(server.client_url())
        .await
        .unwrap();
    client.flush().await.unwrap();
    server.lame_duck().unwrap();
    let told = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(event) = rx.recv().await {
            if matches!(event, async_nats::Event::LameDuckMode) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(told, Ok(true), "the client is told about lame duck mode");
    server.wait_exit(Duration::from_secs(15)).unwrap();
    assert!(!server.is_running());
}

#[test]
fn lame_duck_through_the_original_helper() {
    let mut server = run(ServerOptions::new());
    nats_server::set_lame_duck_mode(&server);
    server.wait_exit(Duration::from_secs(15)).unwrap();
}

#[tokio::test]
async fn tls_gives_a_tls_url_that_verifies() {
    let (_donor, files) = tls_donor();
    let config = format!(
        "tls {{\n  cert_file: {:?}\n  key_file: {:?}\n}}\n",
        files.cert_file.display().to_string(),
        files.key_file.display().to_string()
    );
    let server = run(ServerOptions::new().config(config));
    assert!(server.tls_required());
    let url = server.client_url();
    assert!(url.starts_with("tls://localhost:"), "{url}");
    let client = async_nats::ConnectOptions::new()
        .add_root_certificates(files.ca_file.clone().unwrap())
        .require_tls(true)
        .connect(url)
        .await
        .unwrap();
    client.flush().await.unwrap();
}

#[tokio::test]
async fn tls_handshake_first_starts_and_verifies() {
    if skip_before(2, 10, "handshake_first arrived in nats-server 2.10") {
        return;
    }
    // Such a server sends nothing before the TLS handshake: readiness must not wait for its INFO line.
    let (_donor, files) = tls_donor();
    let config = format!(
        "tls {{\n  cert_file: {:?}\n  key_file: {:?}\n  handshake_first: true\n}}\n",
        files.cert_file.display().to_string(),
        files.key_file.display().to_string()
    );
    let server = run(ServerOptions::new().config(config));
    assert!(server.tls_required());
    let client = async_nats::ConnectOptions::new()
        .add_root_certificates(files.ca_file.clone().unwrap())
        .require_tls(true)
        .tls_first()
        .connect(server.client_url())
        .await
        .unwrap();
    client.flush().await.unwrap();
}

#[test]
fn info_belongs_to_the_current_start() {
    let mut server = run(ServerOptions::new());
    let first = server.server_id().to_string();
    assert!(first.starts_with('N'), "a server id: {first:?}");
    assert_eq!(
        server.info()["port"].as_u64(),
        Some(u64::from(server.client_port()))
    );
    server.restart();
    let second = server.server_id().to_string();
    assert!(!second.is_empty());
    assert_ne!(first, second, "every start makes a new server id");
    assert_eq!(server.version(), Some(server_version()));

    let mut paused = run(ServerOptions::new());
    paused.pause().unwrap();
    let asked = std::time::Instant::now();
    assert!(paused.info().is_null(), "a paused server cannot answer");
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "and is not waited for"
    );
    paused.resume().unwrap();
    assert!(!paused.server_id().is_empty());
}

/// The user-info of a URL, percent-decoded (async-nats ignores credentials in URLs; nats.go, nats.c and nats-py
/// read them, and the C, Go and Python tests connect with the URLs as they are).
fn credentials(url: &str) -> (String, Option<String>) {
    let userinfo = url.split("://").nth(1).unwrap().rsplit_once('@').unwrap().0;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .unwrap()
            .into_owned()
    };
    match userinfo.split_once(':') {
        Some((user, pass)) => (decode(user), Some(decode(pass))),
        None => (decode(userinfo), None),
    }
}

#[tokio::test]
async fn user_and_password_urls_authenticate() {
    let server = run(ServerOptions::new().user("alice").password("s3cr@t/:"));
    let url = server.client_url_with("alice", "s3cr@t/:");
    assert!(
        url.starts_with("nats://alice:s3cr%40t%2F%3A@localhost:"),
        "{url}"
    );
    let (user, pass) = credentials(&url);
    async_nats::ConnectOptions::with_user_and_password(user, pass.unwrap())
        .connect(server.client_url())
        .await
        .unwrap()
        .flush()
        .await
        .unwrap();
    let (user, pass) = credentials(&server.client_url_with("alice", "wrong"));
    let wrong = async_nats::ConnectOptions::with_user_and_password(user, pass.unwrap())
        .connect(server.client_url())
        .await;
    assert!(wrong.is_err(), "a wrong password is refused");
    assert!(
        async_nats::connect(server.client_url()).await.is_err(),
        "no credentials are refused"
    );
}

#[tokio::test]
async fn token_urls_authenticate() {
    let server = run(ServerOptions::new().token("t0k en"));
    let url = server.client_url_with_token("t0k en");
    assert!(url.starts_with("nats://t0k%20en@localhost:"), "{url}");
    let (token, none) = credentials(&url);
    assert!(none.is_none());
    async_nats::ConnectOptions::with_token(token)
        .connect(server.client_url())
        .await
        .unwrap()
        .flush()
        .await
        .unwrap();
    let wrong = async_nats::ConnectOptions::with_token("nope".into())
        .connect(server.client_url())
        .await;
    assert!(wrong.is_err(), "a wrong token is refused");
}

#[test]
fn version_is_read_from_the_server_and_the_binary() {
    let server = run(ServerOptions::new());
    let from_info = server.version().expect("INFO carries the version");
    let from_binary = nats_server::internals::binary_version(server.binary()).unwrap();
    assert_eq!(from_info, from_binary);
    assert!(from_info.major >= 2);
}

#[test]
fn every_listener_is_discovered_and_monitoring_answers() {
    let server = run(ServerOptions::new().websocket(true).jetstream(true));
    let ports = server.ports();
    let varz = server.monitor("varz").unwrap();
    assert_eq!(varz["port"].as_u64(), Some(u64::from(ports.client)));
    // The monitoring port answered this very request; varz reports the configured `-1`, not the bound port.
    assert_eq!(
        varz["websocket"]["port"].as_u64(),
        ports.websocket.map(u64::from)
    );
    assert_eq!(
        varz["host"].as_str(),
        Some("127.0.0.1"),
        "loopback only by default"
    );
    assert!(server
        .monitoring_url()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    assert!(server
        .websocket_url()
        .unwrap()
        .starts_with("ws://127.0.0.1:"));
    std::net::TcpStream::connect(("127.0.0.1", ports.websocket.unwrap())).unwrap();
    assert_eq!(
        server.monitor("healthz").unwrap()["status"].as_str(),
        Some("ok")
    );
    let jsz = server.monitor("/jsz").unwrap();
    assert!(jsz["config"]["store_dir"]
        .as_str()
        .unwrap()
        .starts_with(&*server.dir().to_string_lossy()));
    assert!(server.log_tail(50).contains("Server is ready"));
}

#[test]
fn monitoring_can_be_turned_off() {
    let server = run(ServerOptions::new().monitoring(false));
    assert_eq!(server.ports().monitoring, None);
    let err = server.monitor("varz").unwrap_err();
    assert_eq!(err.kind(), nats_server::ErrorKind::Monitoring);
    assert!(err.message().contains("monitoring is disabled"), "{err}");
}

#[test]
fn reload_applies_an_edited_config_file() {
    let scratch = scratch();
    let conf = scratch.path().join("server.conf");
    std::fs::write(&conf, "max_payload: 1MB\n").unwrap();
    let mut server = run(ServerOptions::new().config_file(&conf));
    assert_eq!(
        server.monitor("varz").unwrap()["max_payload"].as_u64(),
        Some(1024 * 1024)
    );
    std::fs::write(&conf, "max_payload: 2048\n").unwrap();
    server.reload().unwrap();
    assert!(
        eventually(Duration::from_secs(5), || server.monitor("varz").unwrap()
            ["max_payload"]
            .as_u64()
            == Some(2048)),
        "the reloaded max_payload is in effect"
    );
}

#[test]
fn drop_leaves_no_process_and_no_directory() {
    let server = run(ServerOptions::new().jetstream(true));
    let (pid, dir) = (server.pid().unwrap(), server.dir().to_path_buf());
    assert!(dir.join("jetstream").exists() || server.store_dir().starts_with(&dir));
    drop(server);
    assert_nothing_left(&[pid], &[dir]);
}

#[test]
fn a_store_dir_given_by_the_caller_is_kept() {
    let scratch = scratch();
    let store = scratch.path().join("store");
    let server = run(ServerOptions::new().jetstream(true).store_dir(&store));
    assert_eq!(server.store_dir(), store);
    let dir = server.dir().to_path_buf();
    drop(server);
    assert!(
        store.join("jetstream").exists(),
        "the caller's store survives"
    );
    assert!(!dir.exists());
}

#[test]
fn keep_always_keeps_the_directory_and_marks_it() {
    let server = Server::run(&ServerOptions::new().keep(Keep::Always)).unwrap();
    let dir = server.dir().to_path_buf();
    drop(server);
    assert!(dir.join("nats-server.log").exists());
    assert!(
        dir.join("kept").exists(),
        "a kept directory is marked, so sweeps leave it for a week"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn keep_on_failure_keeps_the_directory_of_a_panicking_test() {
    let (tx, rx) = std::sync::mpsc::channel();
    let outcome = std::thread::spawn(move || {
        let server = Server::run(&ServerOptions::new().keep(Keep::OnFailure)).unwrap();
        tx.send((server.dir().to_path_buf(), server.pid().unwrap()))
            .unwrap();
        panic!("the test failed");
    })
    .join();
    assert!(outcome.is_err());
    let (dir, pid) = rx.recv().unwrap();
    assert!(
        dir.join("nats-server.log").exists(),
        "the failed test's server directory is kept"
    );
    assert!(!pid_alive(pid), "but its process is gone");
    std::fs::remove_dir_all(dir).unwrap();

    let server = Server::run(&ServerOptions::new().keep(Keep::OnFailure)).unwrap();
    let dir = server.dir().to_path_buf();
    drop(server);
    assert!(!dir.exists(), "a passing test keeps nothing");
}

#[test]
fn options_from_json_start_a_server() {
    let opts =
        ServerOptions::from_json(r#"{"jetstream": true, "name": "json-made", "keep": "never"}"#)
            .unwrap();
    let server = opts.run().unwrap();
    assert_eq!(server.info()["server_name"].as_str(), Some("json-made"));
    assert_eq!(server.info()["jetstream"].as_bool(), Some(true));
}

#[test]
fn a_server_that_left_on_its_own_is_reaped_and_starts_again() {
    let mut server = run(ServerOptions::new().config("lame_duck_grace_period: \"1s\""));
    let pid = server.pid().unwrap();
    server.lame_duck().unwrap();
    assert!(eventually(Duration::from_secs(15), || !server.is_running()));
    server.start().unwrap();
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the old process was reaped, not left a zombie"
    );
    assert!(server.is_running());
}

#[test]
fn the_harness_is_never_left_counted_as_a_client() {
    // Readiness needs no connection, and the INFO probe behind `info()` hangs up and waits for the server to do
    // the same, so a test that counts connections, or enters lame duck mode at once, never sees the harness.
    for i in 0..10 {
        let mut server = run(ServerOptions::new());
        if i % 2 == 1 {
            assert!(!server.server_id().is_empty());
        }
        let connz = server.monitor("connz").unwrap();
        assert_eq!(connz["num_connections"].as_u64(), Some(0), "{connz}");
        server.lame_duck().unwrap();
        // With no client, lame duck mode exits at once (a counted probe would hold it for the 10 s grace period).
        server.wait_exit(Duration::from_secs(5)).unwrap();
    }
}

#[test]
fn a_restart_waits_out_a_moment_when_its_port_is_briefly_taken() {
    // A port outside the ephemeral range, so only this test can take it while the server is down.
    let mut server = run(ServerOptions::new().port(quiet_port()));
    let port = server.client_port();
    server.stop().unwrap();
    // While the server is down, something else holds its port for a moment.
    let occupant = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        drop(occupant);
    });
    server.start().unwrap();
    release.join().unwrap();
    assert_eq!(
        server.client_port(),
        port,
        "the same port, once it was free again"
    );

    // Held for good: the restart gives up with the server's words and says why.
    server.stop().unwrap();
    let _occupant = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let err = server.start().unwrap_err();
    assert_eq!(err.kind(), nats_server::ErrorKind::PortInUse);
    assert!(err.message().contains(&port.to_string()), "{err}");
    assert!(
        err.message().contains("address already in use"),
        "the server's words: {err}"
    );
}

#[tokio::test]
async fn a_websocket_with_tls_gets_a_wss_url_and_a_client_round_trips() {
    let (_donor, files) = tls_donor();
    let config = format!(
        "websocket {{\n  port: -1\n  tls {{\n    cert_file: {:?}\n    key_file: {:?}\n  }}\n}}\n",
        files.cert_file.display().to_string(),
        files.key_file.display().to_string()
    );
    let server = run(ServerOptions::new().config(config));
    let url = server.websocket_url().expect("a websocket listener");
    assert!(url.starts_with("wss://127.0.0.1:"), "{url}");
    let client = async_nats::ConnectOptions::new()
        .add_root_certificates(files.ca_file.clone().unwrap())
        .connect(url.as_str())
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
    let mut sub = client.subscribe("wss.echo").await.unwrap();
    client.publish("wss.echo", "over tls".into()).await.unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&msg.payload[..], b"over tls");
    // A plain websocket keeps its ws:// URL.
    let plain = run(ServerOptions::new().websocket(true));
    assert!(plain.websocket_url().unwrap().starts_with("ws://"));
}

#[tokio::test]
async fn a_config_file_chooses_its_ports_an_explicit_port_beats_it_and_both_survive_a_restart() {
    let dir = scratch();
    let (client_port, http_port) = (quiet_port(), quiet_port());
    let file = dir.path().join("ports.conf");
    std::fs::write(
        &file,
        format!("port: {client_port}\nhttp: \"127.0.0.1:{http_port}\"\n"),
    )
    .unwrap();
    let mut server = run(ServerOptions::new().config_file(&file));
    for round in 0..2 {
        assert_eq!(server.ports().client, client_port, "round {round}");
        assert_eq!(server.ports().monitoring, Some(http_port), "round {round}");
        let client = async_nats::connect(server.url()).await.unwrap();
        client.flush().await.unwrap();
        server.monitor("varz").unwrap();
        server.try_restart().unwrap();
    }
    drop(server);

    let explicit = quiet_port();
    let mut server = run(ServerOptions::new().config_file(&file).port(explicit));
    for round in 0..2 {
        assert_eq!(server.ports().client, explicit, "round {round}");
        assert_eq!(server.ports().monitoring, Some(http_port), "round {round}");
        async_nats::connect(server.url())
            .await
            .unwrap()
            .flush()
            .await
            .unwrap();
        server.try_restart().unwrap();
    }

    // `listen:` (an alias of host and port) is honoured too, every time (aliases apply in a random order).
    for _ in 0..5 {
        let port = quiet_port();
        let server = run(ServerOptions::new().config(format!("listen: \"127.0.0.1:{port}\"")));
        assert_eq!(server.ports().client, port);
    }
}

#[test]
fn port_zero_means_any_free_port_and_host_is_queryable() {
    let server = run(ServerOptions::new().port(0));
    assert_ne!(server.ports().client, 0);
    assert_eq!(server.host(), "127.0.0.1");
    let server = run(ServerOptions::new().config("host: \"0.0.0.0\""));
    assert_eq!(server.host(), "0.0.0.0", "the configuration's host");
    assert!(
        server.url().starts_with("nats://127.0.0.1:"),
        "dialled on loopback"
    );
}

#[tokio::test]
async fn stop_with_a_timeout_bounds_a_lame_duck_server_with_a_client() {
    let mut server = run(ServerOptions::new().config("lame_duck_grace_period: \"20s\""));
    let pid = server.pid().unwrap();
    let dir = server.dir().to_path_buf();
    let (_client, told) = connect_watching_lame_duck(&server.url()).await;
    server.lame_duck().unwrap();
    assert!(
        told_lame_duck(&told).await,
        "the server told its client it is in lame duck mode"
    );
    let started = std::time::Instant::now();
    server.stop_timeout(Duration::from_millis(500)).unwrap();
    let took = started.elapsed();
    println!("stop_timeout(500 ms) on a lame-duck server with a client took {took:?}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(!server.is_running());
    assert!(!pid_alive(pid));
    drop(server);
    assert_nothing_left(&[pid], &[dir]);
}

#[test]
fn credentials_never_reach_the_command_line_and_the_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    for opts in [
        ServerOptions::new().user("alice").password("pw-s3cret"),
        ServerOptions::new().token("tok-s3cret"),
    ] {
        let server = run(opts);
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", server.pid().unwrap())).unwrap();
        let cmdline = String::from_utf8_lossy(&cmdline);
        assert!(!cmdline.contains("s3cret"), "{cmdline}");
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(server.dir()), 0o700, "the private directory");
        for name in ["server.conf", "nats-server.log", "output.log"] {
            assert_eq!(mode(&server.dir().join(name)), 0o600, "{name}");
        }
        let config = std::fs::read_to_string(server.dir().join("server.conf")).unwrap();
        assert!(
            config.contains("s3cret"),
            "the credentials are in the private config"
        );
    }
}

#[test]
fn a_config_flag_in_args_is_refused_at_once_with_the_option_to_use() {
    let started = std::time::Instant::now();
    let err = Server::run(&ServerOptions::new().arg("-c").arg("/etc/nats.conf")).unwrap_err();
    assert_eq!(err.kind(), nats_server::ErrorKind::InvalidOptions);
    assert!(err.message().contains("config_file"), "{err}");
    assert!(err.message().contains("\"-c\""), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refused before any start"
    );
    let err = Server::run(&ServerOptions::new().arg("--port=4222")).unwrap_err();
    assert!(err.message().contains("`port`"), "{err}");
}

#[tokio::test]
async fn spawn_then_wait_ready_behaves_like_run() {
    let mut servers: Vec<Server> = (0..3)
        .map(|_| Server::spawn(&ServerOptions::new().keep(Keep::Never)).unwrap())
        .collect();
    for server in &mut servers {
        server.wait_ready().unwrap();
        server.wait_ready().unwrap(); // nothing left to wait for
        let client = async_nats::connect(server.url()).await.unwrap();
        client.flush().await.unwrap();
    }
    // A server that fails: spawning succeeds, the wait gives run's error.
    let bad = ServerOptions::new()
        .config("no_such_field: 1")
        .keep(Keep::Never);
    let run_err = Server::run(&bad).unwrap_err();
    let mut spawned = Server::spawn(&bad).unwrap();
    let wait_err = spawned.wait_ready().unwrap_err();
    assert_eq!(wait_err.kind(), run_err.kind());
    assert!(wait_err.message().contains("no_such_field"), "{wait_err}");
    assert!(!spawned.is_running());
}

#[tokio::test]
async fn two_servers_started_one_by_one_with_routes_are_returned_with_the_route_up() {
    for round in 0..50 {
        let (a_port, b_port) = (quiet_port(), quiet_port());
        let node = |own: u16, peer: u16| {
            ServerOptions::new()
                .cluster(nats_server::ClusterListener {
                    name: "pair".into(),
                    port: Some(own),
                    routes: vec![format!("nats://127.0.0.1:{peer}")],
                })
                .wait_for_routes(true)
                .keep(Keep::Never)
        };
        let a = run(node(a_port, b_port));
        let b = run(node(b_port, a_port));
        for (name, server) in [("b", &b), ("a", &a)] {
            let client = async_nats::connect(server.url()).await.unwrap();
            let info = client.server_info();
            let others: Vec<&String> = info.connect_urls.iter().collect();
            assert_eq!(
                info.connect_urls.len(),
                2,
                "round {round}: a client of {name} ({}) sees {others:?}",
                server.url()
            );
        }
    }
}
