//! Spawning server processes so that none outlives us, sending them signals, and reaping them.
//!
//! Spawning uses `posix_spawn` (std's fast path, no `fork` of a possibly large test process: a Python or Go
//! process forks in 2-3 ms here, a spawn takes 0.5 ms), in any thread, with each server in its own process
//! group, so a Ctrl-C aimed at the test runner reaches the harness (which cleans up) rather than racing it.
//!
//! Orphan protection: a watchdog, one small `/bin/sh` per harness process started at its first spawn (in a
//! process group of its own), reads from a socket whose other end only this process holds. Every server is
//! announced to it with its private directory. When this process dies, however it dies (SIGKILL, abort, exec),
//! the kernel closes that end; the watchdog reads end-of-file and SIGKILLs every announced server whose command
//! line still names its directory (so a reused pid is never hit), then exits. What a crash leaves on disk is
//! swept by [`crate::workdir`].

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The watchdog's script: collect "PID DIR" lines until end-of-file, then kill those still serving from DIR.
/// `cat` collects them: it reads whole announcements at a time, where the shell's `read` makes one system call
/// per byte (stealing CPU from the server being started) and appends in quadratic time.
const WATCHDOG_SCRIPT: &str = r#"list=$(cat)
printf '%s\n' "$list" | while IFS=' ' read -r pid dir; do
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || continue
  case "$(tr '\000' ' ' < "/proc/$pid/cmdline" 2>/dev/null)" in
    *"$dir"*) kill -9 "$pid" 2>/dev/null ;;
  esac
done"#;

/// This process's connection to its watchdog: (the pid that started it, our end of the socket, the watchdog).
static WATCHDOG: Mutex<Option<(u32, UnixStream, Child)>> = Mutex::new(None);

/// Spawns `cmd` (a server running from `dir`) in a process group of its own and announces it to the watchdog.
pub fn spawn(mut cmd: Command, dir: &Path) -> io::Result<Child> {
    cmd.process_group(0);
    let child = cmd.spawn()?;
    announce(child.id(), dir);
    Ok(child)
}

/// Tells the watchdog about a server, starting the watchdog first if this process has none (a process forked
/// from ours starts its own). Without a watchdog the server runs unguarded, and a warning says so once.
fn announce(pid: u32, dir: &Path) {
    let mut watchdog = WATCHDOG.lock().unwrap_or_else(|e| e.into_inner());
    let me = std::process::id();
    if watchdog.as_ref().is_none_or(|(owner, _, _)| *owner != me) {
        match start_watchdog() {
            Ok((socket, child)) => *watchdog = Some((me, socket, child)),
            Err(e) => {
                static WARNED: std::sync::Once = std::sync::Once::new();
                WARNED.call_once(|| {
                    eprintln!(
                        "nats-server harness: warning: no watchdog ({e}); servers may outlive a crashed test process"
                    )
                });
                return;
            }
        }
    }
    let (_, socket, _) = watchdog.as_ref().expect("watchdog started above");
    let line = format!("{pid} {}\n", dir.display());
    // send(2) with MSG_NOSIGNAL: a dead watchdog must not raise SIGPIPE in the test process.
    // SAFETY: a valid socket fd and a buffer of the given length.
    unsafe {
        libc::send(
            socket.as_raw_fd(),
            line.as_ptr().cast(),
            line.len(),
            libc::MSG_NOSIGNAL,
        );
    }
}

/// The pid of this process's watchdog (a child of ours for the whole run), once a server was spawned.
#[cfg_attr(not(feature = "internals"), allow(dead_code))] // only the tests ask
pub fn watchdog_pid() -> Option<u32> {
    let watchdog = WATCHDOG.lock().unwrap_or_else(|e| e.into_inner());
    watchdog
        .as_ref()
        .filter(|(owner, _, _)| *owner == std::process::id())
        .map(|(_, _, child)| child.id())
}

fn start_watchdog() -> io::Result<(UnixStream, Child)> {
    let (ours, theirs) = UnixStream::pair()?; // both close-on-exec: no server inherits either end
    let child = Command::new("/bin/sh")
        .arg("-c")
        .arg(WATCHDOG_SCRIPT)
        .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()?;
    Ok((ours, child))
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
///
/// A server stops within a few milliseconds of SIGTERM, and a restart waits for that: steps of at most 0.5 ms for
/// the first 100 ms (a coarser step would add up to its own length to every restart), then 5 ms.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> io::Result<Option<ExitStatus>> {
    let started = Instant::now();
    let deadline = started + timeout;
    let mut pause = Duration::from_micros(50);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        std::thread::sleep(pause.min(deadline - now));
        let cap = if now - started < Duration::from_millis(100) {
            Duration::from_micros(500)
        } else {
            Duration::from_millis(5)
        };
        pause = (pause * 2).min(cap);
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
