//! No orphans: a test process that is SIGKILLed takes its servers with it, and what it leaves on disk is swept.
//!
//! The parent test re-runs this test binary as a child (`ORPHAN_CHILD=1`, running only `orphan_child`), which
//! starts a server from a short-lived thread (the thread exits: the server must live on) and a cluster, reports
//! their pids and directories, and waits to be killed.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use nats_server::{Cluster, ClusterOptions, Keep, Server, ServerOptions};

const CHILD_ENV: &str = "ORPHAN_CHILD";

#[test]
fn a_sigkilled_test_process_leaves_no_server_alive_and_its_directories_are_swept() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let mut child = KillOnDrop(
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "orphan_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, "1")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let child = &mut child.0;
    let mut pids: Vec<u32> = Vec::new();
    let mut dirs: Vec<PathBuf> = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        // libtest prints "test orphan_child ... " before the test's own first line.
        if let Some(rest) = line.find("SERVER ").map(|at| &line[at + "SERVER ".len()..]) {
            let (pid, dir) = rest.split_once(' ').unwrap();
            pids.push(pid.parse().unwrap());
            dirs.push(PathBuf::from(dir));
        } else if line == "READY" {
            break;
        }
    }
    assert_eq!(
        pids.len(),
        4,
        "the child started a server and a 3-node cluster"
    );
    for pid in &pids {
        assert!(
            pid_alive(*pid),
            "pid {pid} must outlive the thread that started it"
        );
    }

    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    assert!(
        eventually(Duration::from_secs(1), || pids
            .iter()
            .all(|p| !pid_alive(*p))),
        "servers still alive a second after their test process was killed: {:?}",
        pids.iter().filter(|p| pid_alive(**p)).collect::<Vec<_>>()
    );

    // The crash left the directories; the next run (here: an explicit sweep) removes them.
    assert!(dirs.iter().all(|d| d.exists()));
    nats_server::internals::sweep_stale(&nats_server::internals::workdir_root());
    for dir in &dirs {
        assert!(!dir.exists(), "{} was not swept", dir.display());
    }
}

/// Kills the child if the parent test fails before it does.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn orphan_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let server = std::thread::spawn(|| {
        Server::run(&ServerOptions::new().jetstream(true).keep(Keep::Never)).unwrap()
    })
    .join()
    .unwrap();
    let cluster = Cluster::run(&ClusterOptions::new().jetstream(true)).unwrap();
    for s in std::iter::once(&server).chain(&cluster.servers) {
        println!("SERVER {} {}", s.pid().unwrap(), s.dir().display());
    }
    println!("READY");
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}
