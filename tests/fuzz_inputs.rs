//! A small, deterministic fuzz of the inputs users control: the options parser and the C ABI's string arguments.
//! Thousands of mutated documents and byte strings (invalid UTF-8, embedded quotes, huge numbers, wrong types)
//! must each give a clear error or a valid result: never a panic, never a crash, never a hang.
//! `FUZZ_ITERATIONS=100000 cargo test --release --test fuzz_inputs` runs longer.

use std::ffi::{c_char, CStr, CString};
use std::ptr;

use nats_server::ffi::*;
use nats_server::{ClusterOptions, ErrorKind, ServerOptions};

const SEEDS: &[&str] = &[
    r#"{"jetstream": true, "port": 4222, "name": "a", "args": ["-D"], "keep": "never"}"#,
    r#"{"user": "u", "password": "p", "monitoring": false, "websocket": true, "startup_timeout_ms": 5}"#,
    r#"{"cluster": {"name": "c", "port": 6222, "routes": ["nats://127.0.0.1:1"]}, "host": "127.0.0.1"}"#,
    r#"{"nodes": 3, "name": "x", "server": {"jetstream": true}, "node_names": ["a", "b", "c"]}"#,
    r#"{"node_config_files": ["/nonexistent"], "ready_timeout_ms": 1}"#,
];

const SPLICES: &[&str] = &[
    "\"",
    "\\",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "null",
    "true",
    "-1",
    "1e400",
    "18446744073709551616",
    "\"\u{0}\"",
    "\"\u{fffd}\"",
    "\"on-failure\"",
    "\"sometimes\"",
    "{\"port\": \"x\"}",
    "[[[[[[",
    "\u{1F600}",
    "   ",
];

fn iterations() -> usize {
    std::env::var("FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

fn mutate(rng: &mut fastrand::Rng, seed: &str) -> Vec<u8> {
    let mut bytes = seed.as_bytes().to_vec();
    for _ in 0..rng.usize(1..4) {
        let at = rng.usize(..=bytes.len());
        match rng.u8(..4) {
            0 => {
                let splice = SPLICES[rng.usize(..SPLICES.len())].as_bytes();
                bytes.splice(at..at, splice.iter().copied());
            }
            1 if !bytes.is_empty() => {
                let end = (at + rng.usize(1..8)).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            2 if at < bytes.len() => bytes[at] = rng.u8(..),
            _ => bytes.insert(at, rng.u8(0x80..)), // a byte that is never valid UTF-8 on its own
        }
    }
    bytes
}

/// Options documents that happen to be valid must not start servers in this test: point them at no binary.
fn without_a_binary() {
    // SAFETY: set before any thread of this test binary reads the environment (one test, run first).
    unsafe { std::env::set_var("NATS_SERVER_BIN", "/nonexistent/nats-server-for-fuzzing") };
}

#[test]
fn options_parsers_and_c_strings_never_panic() {
    without_a_binary();
    let mut rng = fastrand::Rng::with_seed(0x6e617473);
    let mut outcomes = [0usize; 3]; // parsed, rejected, not UTF-8
    for i in 0..iterations() {
        let bytes = mutate(&mut rng, SEEDS[i % SEEDS.len()]);
        match std::str::from_utf8(&bytes) {
            Ok(text) => {
                for result in [
                    ServerOptions::from_json(text).map(|_| ()),
                    ClusterOptions::from_json(text).map(|_| ()),
                ] {
                    match result {
                        Ok(()) => outcomes[0] += 1,
                        Err(e) => {
                            assert!(
                                matches!(e.kind(), ErrorKind::InvalidOptions | ErrorKind::Config),
                                "{e}"
                            );
                            assert!(!e.message().is_empty());
                            outcomes[1] += 1;
                        }
                    }
                }
            }
            Err(_) => outcomes[2] += 1,
        }
        through_the_c_abi(&bytes);
    }
    assert!(
        outcomes.iter().all(|n| *n > 0),
        "every kind of outcome was exercised: {outcomes:?}"
    );
}

/// Feeds the bytes to the ABI's string parameters: each call returns a status (OK only for valid documents),
/// and a failure always comes with a message.
fn through_the_c_abi(bytes: &[u8]) {
    let Ok(arg) = CString::new(
        bytes
            .iter()
            .copied()
            .filter(|b| *b != 0)
            .collect::<Vec<u8>>(),
    ) else {
        unreachable!("NUL bytes were filtered out")
    };
    unsafe {
        let mut server = ptr::null_mut();
        let mut error: *mut c_char = ptr::null_mut();
        let status = nats_server_run(arg.as_ptr(), &mut server, &mut error);
        // With no binary, nothing can start: every document fails, with a message.
        assert_ne!(status, nats_server_status::NATS_SERVER_OK);
        assert!(server.is_null());
        assert!(!error.is_null());
        assert!(!CStr::from_ptr(error).to_bytes().is_empty());
        nats_server_string_free(error);

        let mut cluster = ptr::null_mut();
        let mut error: *mut c_char = ptr::null_mut();
        let status = nats_cluster_run(arg.as_ptr(), &mut cluster, &mut error);
        assert_ne!(status, nats_server_status::NATS_SERVER_OK);
        assert!(cluster.is_null());
        nats_server_string_free(error);

        // A NULL handle with any strings: an error status, never a crash.
        let mut url: *mut c_char = ptr::null_mut();
        let status = nats_server_client_url_with(
            ptr::null(),
            arg.as_ptr(),
            arg.as_ptr(),
            &mut url,
            ptr::null_mut(),
        );
        let expected = if std::str::from_utf8(arg.as_bytes()).is_ok() {
            vec![nats_server_status::NATS_SERVER_NULL_ARGUMENT]
        } else {
            // Either fault may be reported first.
            vec![
                nats_server_status::NATS_SERVER_NULL_ARGUMENT,
                nats_server_status::NATS_SERVER_INVALID_UTF8,
            ]
        };
        assert!(expected.contains(&status), "{status:?}");
        assert!(url.is_null());
    }
}
