//! The `nats-harness` command-line tool, driven as a user or a script would: the built binary, real servers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_nats-harness");

fn harness(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env("NATS_SERVER_KEEP", "never");
    cmd
}

/// A harness process that is SIGKILLed if a test fails before it ends (its servers die with it: they are
/// spawned with parent-death protection).
struct Harness {
    child: Child,
    stdout: BufReader<ChildStdout>,
}

impl Harness {
    fn spawn(args: &[&str]) -> Harness {
        let mut child = harness(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn nats-harness");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Harness { child, stdout }
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read stdout");
        if line.is_empty() {
            let status = self.child.wait().expect("wait for nats-harness");
            let mut stderr = String::new();
            if let Some(mut err) = self.child.stderr.take() {
                let _ = err.read_to_string(&mut stderr);
            }
            panic!("nats-harness closed its stdout early ({status}); it said:\n{stderr}");
        }
        line.trim_end().to_string()
    }

    fn signal(&self, signo: libc::c_int) {
        // SAFETY: kill(2) on the child we spawned and have not reaped.
        assert_eq!(
            unsafe { libc::kill(self.child.id() as libc::pid_t, signo) },
            0
        );
    }

    /// Waits for the exit (at most `secs`), returning the status and everything it wrote on stderr.
    fn finish(mut self, secs: u64) -> (ExitStatus, String) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "nats-harness did not exit within {secs} s"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (status, stderr)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs to completion (at most a minute), with stdin closed.
fn output(args: &[&str]) -> Output {
    let mut child = harness(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nats-harness");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        bytes
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("nats-harness {args:?} hangs");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `nats://127.0.0.1:4222` -> `127.0.0.1:4222`.
fn host_port(url: &str) -> &str {
    url.split("://").nth(1).expect("a URL with a scheme")
}

/// Connects like a client and returns the server's INFO.
fn info_of(url: &str) -> Value {
    let stream =
        TcpStream::connect(host_port(url)).unwrap_or_else(|e| panic!("connect {url}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    let json = line
        .strip_prefix("INFO ")
        .unwrap_or_else(|| panic!("{url} sent {line:?}, not INFO"));
    serde_json::from_str(json.trim()).unwrap()
}

/// GETs a monitoring endpoint and returns the status line.
fn http_status(url: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(host_port(url)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    line.trim_end().to_string()
}

/// Whether a nats-server that was serving from `dir` still runs as `pid` (a recycled pid is not it).
fn serves(pid: u64, dir: &Path) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|cmdline| String::from_utf8_lossy(&cmdline).contains(&*dir.to_string_lossy()))
        .unwrap_or(false)
}

fn wait_for_file(path: &Path, h: &mut Harness) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text;
        }
        if let Some(status) = h.child.try_wait().unwrap() {
            panic!(
                "nats-harness exited ({status}) before writing {}",
                path.display()
            );
        }
        assert!(Instant::now() < deadline, "no {} in time", path.display());
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

// ----- exec ------------------------------------------------------------------------------------------------------

#[test]
fn exec_exits_with_the_commands_status() {
    let out = output(&["exec", "-q", "--", "sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    let out = output(&["exec", "-q", "--", "true"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Killed by a signal: 128 + N, as a shell reports it.
    let out = output(&["exec", "-q", "--", "sh", "-c", "kill -TERM $$"]);
    assert_eq!(out.status.code(), Some(128 + 15), "{}", text(&out.stderr));
    // Not found: 127, and the harness says so.
    let out = output(&["exec", "-q", "--", "/nonexistent/command"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(text(&out.stderr).contains("/nonexistent/command"));
}

#[test]
fn exec_exports_a_reachable_server() {
    // The command prints its environment, then waits on stdin so the test can talk to the server meanwhile.
    let mut h = Harness::spawn(&[
        "exec",
        "--",
        "sh",
        "-c",
        r#"echo "$NATS_URL"; echo "$NATS_URLS"; echo "$NATS_PORT"; echo "$NATS_MONITORING_URL"; read _go; exit 3"#,
    ]);
    let (url, urls, port, monitoring) = (h.line(), h.line(), h.line(), h.line());
    assert!(url.starts_with("nats://127.0.0.1:"), "{url}");
    assert_eq!(urls, url);
    assert_eq!(url, format!("nats://127.0.0.1:{port}"));
    let info = info_of(&url);
    assert_eq!(info["port"].as_u64(), Some(port.parse().unwrap()));
    assert!(monitoring.starts_with("http://127.0.0.1:"), "{monitoring}");
    assert!(http_status(&monitoring, "/healthz").contains(" 200"));
    writeln!(h.child.stdin.as_mut().unwrap(), "go").unwrap();
    let (status, stderr) = h.finish(30);
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn exec_exports_every_node_of_a_cluster() {
    let mut h = Harness::spawn(&[
        "exec",
        "--nodes",
        "3",
        "--",
        "sh",
        "-c",
        r#"echo "$NATS_URLS"; echo "$NATS_URL"; echo "port:${NATS_PORT:-none}"; read _go"#,
    ]);
    let (urls, url, port) = (h.line(), h.line(), h.line());
    let urls: Vec<&str> = urls.split(',').collect();
    assert_eq!(urls.len(), 3, "{urls:?}");
    assert_eq!(urls[0], url);
    assert_eq!(port, "port:none", "NATS_PORT is for a single server only");
    let ids: std::collections::HashSet<String> = urls
        .iter()
        .map(|u| info_of(u)["server_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3, "three different servers");
    writeln!(h.child.stdin.as_mut().unwrap(), "go").unwrap();
    let (status, stderr) = h.finish(30);
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("3-node cluster"),
        "progress/status line: {stderr}"
    );
}

#[test]
fn exec_forwards_sigterm_to_the_command() {
    let mut h = Harness::spawn(&["exec", "--", "sh", "-c", "echo ready; exec sleep 30"]);
    assert_eq!(h.line(), "ready");
    let sent = Instant::now();
    h.signal(libc::SIGTERM);
    let (status, stderr) = h.finish(20);
    assert_eq!(status.code(), Some(128 + 15), "{stderr}");
    assert!(sent.elapsed() < Duration::from_secs(10));
}

#[test]
fn exec_takes_a_toml_options_file() {
    let dir = scratch();
    let file = dir.path().join("cluster.toml");
    std::fs::write(
        &file,
        "nodes = 2\nname = \"from-toml\"\n\n[server]\njetstream = true\n",
    )
    .unwrap();
    let out = output(&[
        "exec",
        "--options",
        file.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        r#"echo "$NATS_URLS""#,
    ]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(text(&out.stdout).trim().split(',').count(), 2);
    assert!(stderr.contains("from-toml"), "{stderr}");
}

// ----- run -------------------------------------------------------------------------------------------------------

/// Starts `run --json --urls-file`, checks both JSON copies and the servers, stops it with `signo`, and checks
/// that nothing is left: no process, no directory, no URLs file.
fn run_then_stop(extra: &[&str], signo: libc::c_int, nodes: usize) {
    let scratch = scratch();
    let urls_file = scratch.path().join("urls.json");
    let mut args = vec!["run", "--json", "--urls-file", urls_file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let mut h = Harness::spawn(&args);
    let from_file: Value = serde_json::from_str(&wait_for_file(&urls_file, &mut h)).unwrap();
    let from_stdout: Value = serde_json::from_str(&h.line()).unwrap();
    assert_eq!(from_file, from_stdout);
    let report = from_file;
    assert_eq!(
        report["harness_pid"].as_u64(),
        Some(u64::from(h.child.id()))
    );
    let node_list = report["nodes"].as_array().unwrap();
    assert_eq!(node_list.len(), nodes);
    assert_eq!(report["urls"].as_array().unwrap().len(), nodes);
    assert_eq!(report["monitoring_urls"].as_array().unwrap().len(), nodes);
    assert_eq!(report["cluster_name"].is_string(), nodes > 1);
    let mut nodes_seen = Vec::new();
    for node in node_list {
        let url = node["client_url"].as_str().unwrap();
        let pid = node["pid"].as_u64().unwrap();
        let dir = PathBuf::from(node["dir"].as_str().unwrap());
        assert_eq!(
            info_of(url)["server_id"].as_str(),
            node["server_id"].as_str()
        );
        assert!(dir.is_dir(), "{}", dir.display());
        assert!(serves(pid, &dir), "pid {pid} is not the server");
        nodes_seen.push((pid, dir));
    }
    h.signal(signo);
    let (status, stderr) = h.finish(30);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for (pid, dir) in nodes_seen {
        assert!(!serves(pid, &dir), "nats-server {pid} outlived the harness");
        assert!(!dir.exists(), "{} was not removed", dir.display());
    }
    assert!(!urls_file.exists(), "the URLs file is removed on stop");
}

#[test]
fn run_stops_cleanly_on_sigint() {
    run_then_stop(&["--jetstream"], libc::SIGINT, 1);
}

#[test]
fn run_stops_cleanly_on_sigterm() {
    run_then_stop(&["--timings"], libc::SIGTERM, 1);
}

#[test]
fn run_stops_cleanly_with_a_stop_timeout() {
    run_then_stop(&["--stop-timeout", "0.5"], libc::SIGTERM, 1);
    let out = output(&["run", "--stop-timeout=-1"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("non-negative number of seconds"),
        "{stderr}"
    );
}

#[test]
fn run_cluster_stops_cleanly_on_sigterm() {
    run_then_stop(&["--nodes", "3", "--jetstream"], libc::SIGTERM, 3);
}

#[test]
fn run_prints_text_by_default() {
    let mut h = Harness::spawn(&[
        "run",
        "--websocket",
        "--user",
        "alice",
        "--password",
        "s3cret",
    ]);
    let first = h.line();
    assert!(
        first.starts_with("nats-server ") && first.ends_with(" ready"),
        "{first}"
    );
    let mut lines = Vec::new();
    loop {
        let line = h.line();
        let done = line.trim_start().starts_with("dir ");
        lines.push(line);
        if done {
            break;
        }
    }
    let all = lines.join("\n");
    for field in ["url ", "monitoring ", "websocket ", "auth ", "pid "] {
        assert!(all.contains(field), "{field:?} missing in:\n{all}");
    }
    assert!(!all.contains("s3cret"), "the password is never printed");
    let url = lines[0].split_whitespace().last().unwrap();
    assert_eq!(info_of(url)["auth_required"], true);
    h.signal(libc::SIGINT);
    let (status, stderr) = h.finish(30);
    assert_eq!(status.code(), Some(0), "{stderr}");
}

// ----- errors ----------------------------------------------------------------------------------------------------

#[test]
fn a_bad_flag_is_a_usage_error() {
    let out = output(&["run", "--bogus"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unexpected argument '--bogus'"), "{stderr}");
    assert!(stderr.contains("Usage: nats-harness run"), "{stderr}");
    let out = output(&["run", "--nodes", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = output(&["exec", "--nodes", "3", "--port", "4222", "--", "true"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--port"), "{stderr}");
    let out = output(&["exec"]);
    assert_eq!(out.status.code(), Some(2), "a command is required");
}

#[test]
fn a_bad_config_file_quotes_the_server() {
    let dir = scratch();
    let conf = dir.path().join("bad.conf");
    std::fs::write(&conf, "jetstreem: true\n").unwrap();
    let out = output(&["run", "--config", conf.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("nats-server harness: configuration rejected"),
        "{stderr}"
    );
    assert!(
        stderr.contains(r#"unknown field "jetstreem""#),
        "the server's own words: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let out = output(&["exec", "--config", "/nonexistent/x.conf", "--", "true"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("/nonexistent/x.conf"), "{stderr}");
}

#[test]
fn a_bad_options_file_names_the_field() {
    let dir = scratch();
    let toml = dir.path().join("opts.toml");
    std::fs::write(&toml, "jetstream = true\nprot = 4222\n").unwrap();
    let out = output(&["run", "--options", toml.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("unknown field `prot`"), "{stderr}");
    assert!(stderr.contains("line 2"), "{stderr}");
    let json = dir.path().join("opts.json");
    std::fs::write(&json, r#"{"nodes": 3, "server": {"jetstream": "yes"}}"#).unwrap();
    let out = output(&["run", "--options", json.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("invalid type"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn help_and_version() {
    let out = output(&["--help"]);
    let help = text(&out.stdout);
    assert!(out.status.success());
    assert!(
        help.contains("Examples:") && help.contains("exec"),
        "{help}"
    );
    let out = output(&["exec", "--help"]);
    assert!(text(&out.stdout).contains("NATS_URLS"));
    let out = output(&["--version"]);
    assert_eq!(
        text(&out.stdout).trim(),
        format!("nats-harness {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn run_in_operator_mode_reports_creds_that_connect() {
    let mut h = Harness::spawn(&[
        "run",
        "--json",
        "-q",
        "-j",
        "--operator",
        "--account",
        "A:alice,bob",
        "--account",
        "B",
    ]);
    let report: Value = serde_json::from_str(&h.line()).unwrap();
    let auth = &report["auth"];
    assert!(
        auth["operator"].as_str().unwrap().starts_with('O'),
        "{auth}"
    );
    assert_eq!(auth["users"]["b"]["account"], "B", "{auth}");
    let creds = PathBuf::from(auth["users"]["alice"]["creds"].as_str().unwrap());
    let text = std::fs::read_to_string(&creds).unwrap();
    assert!(text.contains("BEGIN NATS USER JWT"));
    // The server asks for a signature over its nonce: a creds file that the server accepts is what a client needs.
    let url = report["urls"][0].as_str().unwrap().to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = async_nats::ConnectOptions::with_credentials_file(&creds)
            .await
            .unwrap()
            .connect(&url)
            .await
            .unwrap();
        client.flush().await.unwrap();
        assert!(
            async_nats::connect(&url).await.is_err(),
            "no creds: refused"
        );
    });
    h.signal(libc::SIGTERM);
    let (status, stderr) = h.finish(30);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!creds.exists(), "the creds file is removed on stop");
}

#[test]
fn exec_exports_the_first_users_creds_or_nkey() {
    for (flags, var, start) in [
        (
            &["--operator", "--account", "A"][..],
            "NATS_CREDS",
            "-----BEGIN NATS USER JWT",
        ),
        (&["--nkey-user", "alice"][..], "NATS_NKEY", "SU"),
    ] {
        let mut args = vec!["exec", "-q"];
        args.extend_from_slice(flags);
        let script = format!(r#"head -c {} "${var}"; stat -c %a "${var}""#, start.len());
        args.extend_from_slice(&["--", "sh", "-c", &script]);
        let out = output(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), format!("{start}600\n"));
    }
}

// ----- topologies ------------------------------------------------------------------------------------------------

#[test]
fn run_a_supercluster_lists_every_url_by_cluster() {
    let mut h = Harness::spawn(&["run", "--json", "--clusters", "2", "--nodes", "2"]);
    let report: Value = serde_json::from_str(&h.line()).unwrap();
    let clusters = report["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 2, "{report}");
    let mut ids = Vec::new();
    for cluster in clusters {
        let urls = cluster["urls"].as_array().unwrap();
        assert_eq!(urls.len(), 2, "{report}");
        for url in urls {
            ids.push(info_of(url.as_str().unwrap())["server_id"].clone());
        }
    }
    ids.dedup();
    assert_eq!(ids.len(), 4, "four distinct servers");
    let nodes = report["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 4);
    assert!(
        nodes.iter().all(|n| n["gateway_url"].is_string()),
        "{report}"
    );
    assert_eq!(nodes[0]["cluster"], clusters[0]["name"]);
    assert_eq!(nodes[3]["cluster"], clusters[1]["name"]);
    h.signal(libc::SIGTERM);
    let (status, stderr) = h.finish(30);
    assert_eq!(status.code(), Some(0), "{stderr}");
    let out = output(&["run", "--clusters", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn a_leaf_of_a_running_hub_and_of_a_gone_one() {
    let mut hub = Harness::spawn(&["run", "--json", "--leafnodes"]);
    let report: Value = serde_json::from_str(&hub.line()).unwrap();
    let leaf_url = report["leafnode_urls"][0].as_str().unwrap().to_string();
    assert_eq!(report["nodes"][0]["leafnode_url"], leaf_url.as_str());
    let monitoring = report["monitoring_urls"][0].as_str().unwrap().to_string();
    // While the leaf runs, its command asks the hub's /leafz: the leaf is listed there.
    let script =
        format!("curl -s {monitoring}/leafz | grep -q '\"leafnodes\": 1' && echo LISTED $NATS_URL");
    let out = output(&["exec", "--leaf-of", &leaf_url, "--", "sh", "-c", &script]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("LISTED nats://"),
        "{}",
        text(&out.stdout)
    );
    hub.signal(libc::SIGTERM);
    let (status, stderr) = hub.finish(30);
    assert_eq!(status.code(), Some(0), "{stderr}");
    let out = output(&["exec", "--leaf-of", &leaf_url, "--", "true"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot reach its hub"), "{stderr}");
    assert!(stderr.contains(&leaf_url), "{stderr}");
}

#[test]
fn server_version_picks_the_release_of_every_node_and_files_mix_them() {
    // --server-version for a whole supercluster (installed into the cache when missing).
    let mut h = Harness::spawn(&[
        "run",
        "--json",
        "--server-version",
        "2.14",
        "--clusters",
        "2",
        "--nodes",
        "1",
    ]);
    let report: Value = serde_json::from_str(&h.line()).unwrap();
    for cluster in report["clusters"].as_array().unwrap() {
        let url = cluster["urls"][0].as_str().unwrap();
        let version = info_of(url)["version"].as_str().unwrap().to_string();
        assert!(version.starts_with("2.14."), "{url} runs {version}");
    }
    h.signal(libc::SIGTERM);
    let (status, stderr) = h.finish(30);
    assert_eq!(status.code(), Some(0), "{stderr}");

    // One release per node from an options file.
    let dir = scratch();
    let file = dir.path().join("mixed.json");
    std::fs::write(&file, r#"{"nodes": 2, "node_versions": ["2.14", "2.15"]}"#).unwrap();
    let mut h = Harness::spawn(&["run", "--json", "--options", file.to_str().unwrap()]);
    let report: Value = serde_json::from_str(&h.line()).unwrap();
    let versions: Vec<String> = report["urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            info_of(u.as_str().unwrap())["version"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        versions[0].starts_with("2.14.") && versions[1].starts_with("2.15."),
        "{versions:?}"
    );
    h.signal(libc::SIGTERM);
    let (status, stderr) = h.finish(30);
    assert_eq!(status.code(), Some(0), "{stderr}");

    // Per-node lists with --clusters are a usage error, not silently dropped.
    let out = output(&[
        "run",
        "--clusters",
        "2",
        "--options",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("per-node lists"),
        "{}",
        text(&out.stderr)
    );
}

// ----- TLS -------------------------------------------------------------------------------------------------------

#[test]
fn exec_exports_the_tls_files_and_a_client_connects_with_them() {
    let mut h = Harness::spawn(&[
        "exec",
        "-q",
        "--tls-verify",
        "--",
        "sh",
        "-c",
        r#"echo "$NATS_URL"; echo "$NATS_CA"; echo "$NATS_CERT"; echo "$NATS_KEY"; read _go; exit 0"#,
    ]);
    let (url, ca, cert, key) = (h.line(), h.line(), h.line(), h.line());
    assert!(url.starts_with("tls://127.0.0.1:"), "{url}");
    for path in [&ca, &cert, &key] {
        assert!(Path::new(path).is_file(), "{path:?}");
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let with_cert = async_nats::ConnectOptions::new()
            .add_root_certificates(ca.clone().into())
            .add_client_certificate(cert.clone().into(), key.clone().into())
            .require_tls(true)
            .connect(&url)
            .await
            .unwrap();
        with_cert.flush().await.unwrap();
        let without = async_nats::ConnectOptions::new()
            .add_root_certificates(ca.clone().into())
            .require_tls(true)
            .connect(&url)
            .await;
        assert!(
            without.is_err(),
            "mTLS lets no client in without a certificate"
        );
    });
    writeln!(h.child.stdin.as_mut().unwrap(), "go").unwrap();
    let (status, stderr) = h.finish(30);
    assert_eq!(status.code(), Some(0), "{stderr}");
}

#[test]
fn run_json_names_the_tls_files_of_a_tls_cluster() {
    let mut h = Harness::spawn(&["run", "--json", "-q", "--nodes", "2", "--tls-routes"]);
    let report: Value = serde_json::from_str(&h.line()).unwrap();
    for url in report["urls"].as_array().unwrap() {
        assert!(url.as_str().unwrap().starts_with("tls://"), "{report}");
    }
    let ca = report["tls"]["ca_file"].as_str().unwrap();
    assert!(Path::new(ca).is_file(), "{report}");
    assert!(report["tls"]["client_key_file"].is_string(), "{report}");
    h.signal(libc::SIGTERM);
    let (status, stderr) = h.finish(30);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!Path::new(ca).exists(), "removed on stop");
}

#[test]
fn a_tls_leaf_of_a_tls_hub() {
    let mut hub = Harness::spawn(&["run", "--json", "-q", "--leafnodes", "--tls-leafnodes"]);
    let report: Value = serde_json::from_str(&hub.line()).unwrap();
    let leaf_url = report["leafnode_urls"][0].as_str().unwrap().to_string();
    let monitoring = report["monitoring_urls"][0].as_str().unwrap().to_string();
    // The leaf is ready only once its TLS remote is connected; the hub then lists it, and its /varz says the
    // leaf listener requires TLS.
    let script = format!(
        "curl -s {monitoring}/leafz | grep -q '\"leafnodes\": 1' && \
         curl -s {monitoring}/varz | tr -d ' \\n' | grep -q '\"leaf\":{{[^}}]*\"tls_required\":true' && \
         echo LISTED $NATS_URL"
    );
    // The generated CA is per process: a leaf in another process presents the hub's client certificate and
    // trusts the hub's CA, as its own files.
    let tls = &report["tls"];
    let file = |key: &str| tls[key].as_str().unwrap().to_string();
    let out = output(&[
        "exec",
        "--leaf-of",
        &leaf_url,
        "--tls-leafnodes",
        "--tls-cert",
        &file("client_cert_file"),
        "--tls-key",
        &file("client_key_file"),
        "--tls-ca",
        &file("ca_file"),
        "--",
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("LISTED tls://"),
        "{}",
        text(&out.stdout)
    );
    hub.signal(libc::SIGTERM);
    let (status, stderr) = hub.finish(30);
    assert_eq!(status.code(), Some(0), "{stderr}");
    let out = output(&["run", "--tls-gateways"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--clusters"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn nats_server_version_runs_a_whole_suite_on_another_release() {
    // The environment's release wins over NATS_SERVER_BIN; what the harness runs is its child's INFO.
    let out = harness(&["exec", "-q", "--", "sh", "-c", r#"echo "$NATS_URL""#])
        .env("NATS_SERVER_VERSION", "2.14")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.trim().starts_with("nats://"), "{stdout}");
    let mut h = {
        let mut child = harness(&["run", "--json"])
            .env("NATS_SERVER_VERSION", "2.14")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Harness { child, stdout }
    };
    let report: Value = serde_json::from_str(&h.line()).unwrap();
    let url = report["urls"][0].as_str().unwrap();
    let version = info_of(url)["version"].as_str().unwrap().to_string();
    assert!(version.starts_with("2.14."), "{version}");
    h.signal(libc::SIGTERM);
    let (status, stderr) = h.finish(30);
    assert_eq!(status.code(), Some(0), "{stderr}");

    // A bad value names the variable.
    let out = harness(&["run"])
        .env("NATS_SERVER_VERSION", "2.x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("the release $NATS_SERVER_VERSION names: `version` \"2.x\" is not a nats-server version"),
        "{stderr}"
    );
}

#[test]
fn bad_tls_flags_are_usage_errors() {
    let out = output(&["run", "--tls-websocket"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--websocket"), "{stderr}");
    let out = output(&["run", "--tls-cert", "/nonexistent/cert.pem"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--tls-key"), "{stderr}");
    let out = output(&[
        "exec",
        "--tls-cert",
        "/nonexistent/cert.pem",
        "--tls-key",
        "/nonexistent/key.pem",
        "--",
        "true",
    ]);
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("/nonexistent/cert.pem"), "{stderr}");
}
