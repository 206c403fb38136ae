//! Spawning server processes so that none outlives us, sending them signals, and reaping them.
//!
//! Orphan protection: on Linux every child asks the kernel for `SIGKILL` when its parent dies
//! (`PR_SET_PDEATHSIG`). That signal fires when the *thread* that forked the child exits, and test runners, Go
//! and Python move work between threads, so every spawn happens on a small pool of dedicated spawner threads that
//! live as long as the process (never exit, so never fire the signal early). Children also get their own process group, so a Ctrl-C aimed at the test runner reaches the
//! harness (which cleans up) rather than racing it. What a hard crash still leaves (directories) is swept by
//! [`crate::workdir`].

use std::io;
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type SpawnRequest = (Command, Sender<io::Result<Child>>);

/// How many spawner threads share the work: forks of one process run in parallel on them.
const SPAWNER_THREADS: usize = 4;

/// Spawns `cmd` on one of the long-lived spawner threads, with parent-death protection.
pub fn spawn(mut cmd: Command) -> io::Result<Child> {
    protect(&mut cmd);
    // (pid that started the threads, their shared queue): a process forked from ours has no spawner threads, so
    // it starts its own instead of waiting forever on a queue nobody reads.
    static SPAWNERS: Mutex<Option<(u32, Sender<SpawnRequest>)>> = Mutex::new(None);
    let mut spawners = SPAWNERS.lock().unwrap_or_else(|e| e.into_inner());
    let me = std::process::id();
    if spawners.as_ref().is_none_or(|(pid, _)| *pid != me) {
        let (tx, rx) = channel::<SpawnRequest>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..SPAWNER_THREADS {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("nats-server-spawner-{i}"))
                .spawn(move || loop {
                    let next = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok((mut cmd, reply)) = next else { return };
                    let _ = reply.send(cmd.spawn());
                })?;
        }
        *spawners = Some((me, tx));
    }
    let queue = spawners.as_ref().expect("spawners started above").1.clone();
    drop(spawners);
    let (reply_tx, reply_rx) = channel();
    queue
        .send((cmd, reply_tx))
        .map_err(|_| io::Error::other("the nats-server spawner threads are gone"))?;
    reply_rx
        .recv()
        .map_err(|_| io::Error::other("the nats-server spawner threads did not answer"))?
}

#[cfg(target_os = "linux")]
fn protect(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs between fork and exec and only calls async-signal-safe functions.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl: then nobody would ever kill us.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            libc::setpgid(0, 0);
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn protect(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
}

/// Sends `signal` to `pid`. Errors when the process does not exist.
pub fn signal(pid: u32, signal: libc::c_int) -> io::Result<()> {
    // SAFETY: kill(2) with a pid of a child we own.
    if unsafe { libc::kill(pid as libc::pid_t, signal) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Waits up to `timeout` for `child` to exit, polling finely. `None` when it is still running.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_micros(100);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(5));
    }
}

/// Kills `child` with SIGKILL (also when it is stopped) and reaps it.
pub fn kill_and_reap(child: &mut Child) -> io::Result<ExitStatus> {
    if let Some(status) = child.try_wait()? {
        return Ok(status);
    }
    let _ = child.kill();
    child.wait()
}

/// Whether every thread of `pid` is stopped (state `T`), from `/proc/PID/task/*/stat`. `None` when unknown.
fn all_threads_stopped(pid: u32) -> Option<bool> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut any = false;
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
        let state = stat.rsplit(')').next()?.split_whitespace().next()?;
        if state != "T" && state != "t" {
            return Some(false);
        }
        any = true;
    }
    Some(any)
}

/// Waits up to `timeout` until `pid` is stopped (`stopped`) or running again (`!stopped`): signals are delivered
/// asynchronously, and a test that pauses a server must not race the last few messages it still handles.
/// Returns false on timeout; true at once where `/proc` cannot tell.
pub fn wait_stopped(pid: u32, stopped: bool, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        match all_threads_stopped(pid) {
            None => return true,
            Some(now) if now == stopped => return true,
            Some(_) if Instant::now() >= deadline => return false,
            Some(_) => std::thread::sleep(Duration::from_micros(200)),
        }
    }
}
