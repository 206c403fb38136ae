//! Authentication options with a real client (async-nats): nkeys, operator mode with creds files, permissions,
//! `no_auth_user`, exports and imports, JetStream limits, and bad input.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use async_nats::{ConnectOptions, Event};
use futures::StreamExt;
use nats_server::{ErrorKind, Keep, Server, ServerOptions};

fn run_json(json: &str) -> Server {
    let opts = ServerOptions::from_json(json)
        .unwrap_or_else(|e| panic!("{e}"))
        .keep(Keep::Never);
    Server::run(&opts).unwrap_or_else(|e| panic!("{e}"))
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Connects as `user` with password `p` (async-nats ignores credentials in the URL).
async fn user_pass(
    server: &Server,
    user: &str,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    ConnectOptions::with_user_and_password(user.into(), "p".into())
        .connect(server.client_url())
        .await
}

/// Returns once the server has processed everything `client` sent before (async-nats's `flush` only writes the
/// socket): a message to its own inbox comes back only after the earlier protocol lines were handled.
async fn round_trip(client: &async_nats::Client) {
    let inbox = client.new_inbox();
    let mut sub = client.subscribe(inbox.clone()).await.unwrap();
    client.publish(inbox, "sync".into()).await.unwrap();
    next_within(&mut sub).await;
}

async fn next_within(sub: &mut async_nats::Subscriber) -> async_nats::Message {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("a message within 5 s")
        .expect("the subscription is open")
}

#[tokio::test]
async fn nkey_user_connects_and_others_are_refused() {
    let server = run_json(r#"{"users": [{"user": "alice", "nkey": true}]}"#);
    let seed = server.nkey_seed("alice").unwrap();
    assert!(seed.starts_with("SU"), "a user seed");
    assert!(server.nkey_public_key("alice").unwrap().starts_with('U'));
    let file = server.seed_file("alice").unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), seed);
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&server.dir().join("auth")), 0o700);
    assert_eq!(mode(&server.dir().join("server.conf")), 0o600);
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", server.pid().unwrap())).unwrap();
    assert!(!String::from_utf8_lossy(&cmdline).contains(&seed));
    assert!(
        !format!("{server:?}").contains(&seed),
        "Debug shows no seed"
    );

    let client = ConnectOptions::with_nkey(seed)
        .connect(server.client_url())
        .await
        .unwrap();
    client.flush().await.unwrap();
    assert!(async_nats::connect(server.client_url()).await.is_err());
    let stranger = nkeys::KeyPair::new_user().seed().unwrap();
    assert!(ConnectOptions::with_nkey(stranger)
        .connect(server.client_url())
        .await
        .is_err());
}

#[tokio::test]
async fn operator_mode_creds_user_publishes_to_its_stream_and_other_accounts_cannot_see_it() {
    let mut server = run_json(
        r#"{"jetstream": true, "operator": true, "accounts": {
            "A": {"jetstream": true, "users": [{"user": "a"}]},
            "B": {"jetstream": {"max_memory": 1048576, "max_file": 1048576}, "users": [{"user": "b"}]}}}"#,
    );
    let creds_a = server.creds("A", "a").unwrap();
    assert_eq!(mode(&creds_a), 0o600);
    assert!(std::fs::read_to_string(&creds_a)
        .unwrap()
        .contains("BEGIN NATS USER JWT"));
    // Without creds: refused.
    assert!(async_nats::connect(server.client_url()).await.is_err());

    let a = ConnectOptions::with_credentials_file(&creds_a)
        .await
        .unwrap()
        .connect(server.client_url())
        .await
        .unwrap();
    let js_a = jetstream::new(a);
    js_a.create_stream(stream::Config {
        name: "ORDERS".into(),
        subjects: vec!["orders.>".into()],
        ..Default::default()
    })
    .await
    .unwrap();
    let ack = js_a
        .publish("orders.1", "one".into())
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(ack.stream, "ORDERS");

    let b = ConnectOptions::with_credentials_file(server.creds("B", "b").unwrap())
        .await
        .unwrap()
        .connect(server.client_url())
        .await
        .unwrap();
    let js_b = jetstream::new(b);
    let err = js_b.get_stream("ORDERS").await.unwrap_err();
    assert!(err.to_string().contains("not found"), "{err}");

    // The system user works, and a restart keeps every creds file valid.
    let sys = server.creds("SYS", "sys").unwrap();
    server.try_restart().unwrap();
    for creds in [&creds_a, &sys] {
        let client = ConnectOptions::with_credentials_file(creds)
            .await
            .unwrap()
            .connect(server.client_url())
            .await
            .unwrap();
        client.flush().await.unwrap();
    }
}

#[tokio::test]
async fn publishing_where_denied_is_a_permissions_violation() {
    let server = run_json(
        r#"{"users": [{"user": "u", "password": "p",
            "permissions": {"publish": {"allow": ["open.>"], "deny": ["open.secret"]}}}]}"#,
    );
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let client = ConnectOptions::with_user_and_password("u".into(), "p".into())
        .event_callback(move |event| {
            let tx = tx.clone();
            async move {
                if let Event::ServerError(e) = event {
                    let _ = tx.send(e.to_string());
                }
            }
        })
        .connect(server.client_url())
        .await
        .unwrap();
    let mut sub = client.subscribe("open.>").await.unwrap();
    client.publish("open.door", "ok".into()).await.unwrap();
    assert_eq!(next_within(&mut sub).await.subject.as_str(), "open.door");
    client.publish("open.secret", "no".into()).await.unwrap();
    client.flush().await.unwrap();
    let error = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("an error within 5 s")
        .unwrap();
    assert!(
        error.to_lowercase().contains("permissions violation") && error.contains("open.secret"),
        "{error}"
    );
}

#[tokio::test]
async fn operator_mode_permissions_are_in_the_user_jwt() {
    let server = run_json(
        r#"{"operator": true, "accounts": {"A": {"users": [{"user": "ro",
            "permissions": {"publish": {"deny": [">"]}}}]}}}"#,
    );
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let client = ConnectOptions::with_credentials_file(server.creds("A", "ro").unwrap())
        .await
        .unwrap()
        .event_callback(move |event| {
            let tx = tx.clone();
            async move {
                if let Event::ServerError(e) = event {
                    let _ = tx.send(e.to_string());
                }
            }
        })
        .connect(server.client_url())
        .await
        .unwrap();
    client.publish("anything", "no".into()).await.unwrap();
    client.flush().await.unwrap();
    let error = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(
        error.to_lowercase().contains("permissions violation"),
        "{error}"
    );
}

#[tokio::test]
async fn no_auth_user_places_anonymous_clients_in_its_account() {
    let server = run_json(
        r#"{"accounts": {"A": {"users": [{"user": "guest", "password": "g"}, {"user": "a", "password": "p"}]},
            "B": {"users": [{"user": "b", "password": "p"}]}},
            "no_auth_user": "guest"}"#,
    );
    let a = user_pass(&server, "a").await.unwrap();
    let b = user_pass(&server, "b").await.unwrap();
    let mut in_a = a.subscribe("hello").await.unwrap();
    let mut in_b = b.subscribe("hello").await.unwrap();
    round_trip(&a).await;
    round_trip(&b).await;
    let anonymous = async_nats::connect(server.client_url()).await.unwrap();
    anonymous.publish("hello", "anon".into()).await.unwrap();
    anonymous.flush().await.unwrap();
    assert_eq!(next_within(&mut in_a).await.payload.as_ref(), b"anon");
    // B's subscriber is in another account: a marker published in B arrives first, the anonymous one never.
    b.publish("hello", "marker".into()).await.unwrap();
    assert_eq!(next_within(&mut in_b).await.payload.as_ref(), b"marker");
}

#[tokio::test]
async fn exports_and_imports_deliver_between_accounts() {
    for operator in [false, true] {
        let users = if operator {
            (r#"[{"user": "a"}]"#, r#"[{"user": "b"}]"#)
        } else {
            (
                r#"[{"user": "a", "password": "p"}]"#,
                r#"[{"user": "b", "password": "p"}]"#,
            )
        };
        let server = run_json(&format!(
            r#"{{"operator": {operator}, "accounts": {{
                "A": {{"users": {}, "exports": [{{"stream": "events.>"}}, {{"service": "time"}}]}},
                "B": {{"users": {}, "imports": [{{"stream": "events.>", "account": "A", "to": "a.events.>"}},
                                           {{"service": "time", "account": "A", "to": "a.time"}}]}}}}}}"#,
            users.0, users.1
        ));
        let connect = |user: &'static str| {
            let server = &server;
            async move {
                let opts = if operator {
                    ConnectOptions::with_credentials_file(
                        server.creds(&user.to_uppercase(), user).unwrap(),
                    )
                    .await
                    .unwrap()
                } else {
                    ConnectOptions::with_user_and_password(user.into(), "p".into())
                };
                opts.connect(server.client_url()).await.unwrap()
            }
        };
        let a = connect("a").await;
        let b = connect("b").await;
        let mut events = b.subscribe("a.events.>").await.unwrap();
        let mut service = a.subscribe("time").await.unwrap();
        round_trip(&b).await;
        round_trip(&a).await;
        a.publish("events.1", "e1".into()).await.unwrap();
        let got = next_within(&mut events).await;
        assert_eq!(got.subject.as_str(), "a.events.1", "operator {operator}");
        let responder = {
            let a = a.clone();
            tokio::spawn(async move {
                let request = next_within(&mut service).await;
                a.publish(request.reply.unwrap(), "noon".into())
                    .await
                    .unwrap();
                a.flush().await.unwrap();
            })
        };
        let reply = tokio::time::timeout(Duration::from_secs(5), b.request("a.time", "".into()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(reply.payload.as_ref(), b"noon", "operator {operator}");
        responder.await.unwrap();
    }
}

#[tokio::test]
async fn jetstream_limits_reach_the_server() {
    let server = run_json(
        r#"{"jetstream": true, "jetstream_limits": {"max_memory": 10485760, "max_file": 20971520},
            "accounts": {"A": {"jetstream": {"max_memory": 1048576, "max_streams": 1},
                               "users": [{"user": "a", "password": "p"}]}}}"#,
    );
    let jsz = server.monitor("jsz").unwrap();
    assert_eq!(jsz["config"]["max_memory"], 10485760, "{jsz}");
    assert_eq!(jsz["config"]["max_storage"], 20971520, "{jsz}");
    let client = user_pass(&server, "a").await.unwrap();
    let js = jetstream::new(client);
    let first = stream::Config {
        name: "ONE".into(),
        storage: stream::StorageType::Memory,
        max_bytes: 1024,
        ..Default::default()
    };
    js.create_stream(first).await.unwrap();
    let second = stream::Config {
        name: "TWO".into(),
        storage: stream::StorageType::Memory,
        max_bytes: 1024,
        ..Default::default()
    };
    let err = js.create_stream(second).await.unwrap_err();
    assert!(
        err.to_string().contains("maximum number of streams"),
        "{err}"
    );
}

#[test]
fn bad_names_are_clear_errors_and_leave_nothing_behind() {
    let server = run_json(r#"{"operator": true, "accounts": {"A": {"users": [{"user": "a"}]}}}"#);
    let err = server.creds("NOPE", "x").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidOptions);
    assert!(
        err.message().contains("\"NOPE\"") && err.message().contains("A, SYS"),
        "{err}"
    );
    let err = server.creds("A", "nobody").unwrap_err();
    assert!(err.message().contains("\"nobody\""), "{err}");
    let err = server.creds("SYS", "a").unwrap_err();
    assert!(err.message().contains("is in account \"A\""), "{err}");
    let err = server.nkey_seed("nobody").unwrap_err();
    assert!(err.message().contains("\"nobody\""), "{err}");

    let plain = run_json(r#"{"users": [{"user": "u", "password": "secret-pw"}]}"#);
    let shown = format!("{:?}", plain.auth_json());
    assert!(!shown.contains("secret-pw"), "{shown}");
    let err = plain.nkey_seed("u").unwrap_err();
    assert!(err.message().contains("nkey"), "{err}");
    assert!(!err.message().contains("secret-pw"));
    let err = plain.creds("A", "u").unwrap_err();
    assert!(err.message().contains("operator mode"), "{err}");
}

#[test]
fn an_import_from_a_missing_account_names_it() {
    let err = ServerOptions::from_json(
        r#"{"accounts": {"B": {"imports": [{"stream": "s", "account": "MISSING"}]}}}"#,
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidOptions);
    assert!(
        err.message().contains("accounts.B.imports[0].account")
            && err.message().contains("MISSING"),
        "{err}"
    );
    // Built in Rust rather than parsed, the same check runs at start, before any directory or process exists.
    let mut opts = ServerOptions::new().keep(Keep::Always);
    opts.accounts.insert(
        "B".into(),
        nats_server::Account {
            imports: vec![nats_server::Import {
                stream: Some("s".into()),
                account: "MISSING".into(),
                ..Default::default()
            }],
            ..Default::default()
        },
    );
    let err = Server::run(&opts).unwrap_err();
    assert!(err.message().contains("MISSING"), "{err}");
}

#[test]
fn a_user_named_sys_outside_the_system_account_is_refused_in_operator_mode() {
    let err = ServerOptions::from_json(
        r#"{"operator": true, "accounts": {"A": {"users": [{"user": "sys"}]}}}"#,
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidOptions);
    assert!(
        err.message().contains("accounts.A.users") && err.message().contains("reserved"),
        "{err}"
    );
    // Outside operator mode `sys` is an ordinary name, and `SYS` may list it (the generated user replaces it).
    let server = run_json(r#"{"users": [{"user": "sys", "password": "p"}]}"#);
    assert!(server.nkey_seed("sys").is_err());
    let server =
        run_json(r#"{"operator": true, "accounts": {"SYS": {"users": [{"user": "sys"}]}}}"#);
    assert!(server.creds("SYS", "sys").unwrap().is_file());
}
