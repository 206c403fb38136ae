//! Private per-server directories: creation, the keep policy, and sweeping what crashed runs left behind.
//!
//! Every server gets its own directory under `$TMPDIR/nats-server-harness/`, holding its generated config, log,
//! captured stdout/stderr, ports file and (by default) its JetStream store. An `owner` file records the pid and
//! start time of the process that created it; the first server started by a process removes directories whose
//! owner is gone (after killing any server still running from them), so even a SIGKILLed test run leaves nothing
//! for long. Directories that were kept on purpose carry a `kept` marker and are swept only a week later.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Once;

use crate::error::{Error, Result};
use crate::options::Keep;

/// The name of the folder under the system temp directory that holds every instance directory.
pub const ROOT_NAME: &str = "nats-server-harness";
const OWNER_FILE: &str = "owner";
const KEPT_MARKER: &str = "kept";
const SERVER_PID_FILE: &str = "server.pid";

/// The root folder of all instance directories (`$TMPDIR/nats-server-harness`).
pub fn root() -> PathBuf {
    std::env::temp_dir().join(ROOT_NAME)
}

/// One server's private directory. Owned by its server; removed on drop unless the keep policy says otherwise.
#[derive(Debug)]
pub struct WorkDir {
    path: PathBuf,
    keep: Keep,
    /// The process that created it: a forked copy never removes it.
    owner: u32,
    /// Set by [`WorkDir::mark_failed`]: the test that used it failed.
    failed: bool,
}

impl WorkDir {
    /// Creates a fresh directory (sweeping stale ones once per process first).
    pub fn create(keep: Keep) -> Result<WorkDir> {
        static SWEEP: Once = Once::new();
        SWEEP.call_once(|| {
            sweep_stale(&root());
        });
        let root = root();
        fs::create_dir_all(&root)
            .map_err(|e| Error::io(format!("creating {}", root.display()), e))?;
        let dir = tempfile::Builder::new()
            .prefix(&format!("ns-{}-", std::process::id()))
            .tempdir_in(&root)
            .map_err(|e| Error::io(format!("creating a directory in {}", root.display()), e))?;
        let path = dir.keep();
        let owner = format!(
            "{} {}",
            std::process::id(),
            process_start_time(std::process::id()).unwrap_or(0)
        );
        fs::write(path.join(OWNER_FILE), owner)
            .map_err(|e| Error::io("writing the owner file", e))?;
        Ok(WorkDir {
            path,
            keep,
            owner: std::process::id(),
            failed: false,
        })
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The keep policy in force.
    pub fn keep_policy(&self) -> Keep {
        self.keep
    }

    /// Changes the keep policy (e.g. a pytest plugin that learns the test failed).
    pub fn set_keep_policy(&mut self, keep: Keep) {
        self.keep = keep;
    }

    /// Records the pid of the server running from this directory, for the sweeper.
    pub fn record_server_pid(&self, pid: u32) {
        let _ = fs::write(self.path.join(SERVER_PID_FILE), pid.to_string());
    }

    /// Records that the test using this directory failed: the on-failure policy then keeps it. (A Rust test's
    /// failure is seen by itself, as a panic; bindings call this for their test frameworks.)
    pub fn mark_failed(&mut self) {
        self.failed = true;
    }

    /// Whether this process created the directory (false in a forked copy of the creator).
    pub fn owned_by_this_process(&self) -> bool {
        self.owner == std::process::id()
    }

    /// Whether the directory will be kept when dropped now.
    pub fn will_keep(&self) -> bool {
        match self.keep {
            Keep::Always => true,
            Keep::Never => false,
            Keep::OnFailure => self.failed || std::thread::panicking(),
        }
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !self.owned_by_this_process() {
            return;
        }
        if self.will_keep() {
            let _ = fs::write(self.path.join(KEPT_MARKER), "");
            eprintln!(
                "nats-server harness: kept the server's directory {} (log: {})",
                self.path.display(),
                self.path.join("nats-server.log").display()
            );
        } else {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// The start time of a process (clock ticks since boot, field 22 of `/proc/PID/stat`), to tell a live owner from
/// a reused pid.
fn process_start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; fields after the closing parenthesis are plain.
    let after = &stat[stat.rfind(')')? + 2..];
    after.split_whitespace().nth(19)?.parse().ok()
}

fn owner_alive(owner: &str) -> bool {
    let mut parts = owner.split_whitespace();
    let (Some(pid), start) = (
        parts.next().and_then(|p| p.parse::<u32>().ok()),
        parts.next(),
    ) else {
        return false;
    };
    match process_start_time(pid) {
        None => false,
        Some(actual) => start
            .and_then(|s| s.parse::<u64>().ok())
            .is_none_or(|s| s == 0 || s == actual),
    }
}

/// Removes instance directories whose owning process is gone, killing servers still running from them.
/// Returns how many directories were removed. Directories kept on purpose are left alone for [`KEPT_FOR`].
pub fn sweep_stale(root: &Path) -> usize {
    let Ok(entries) = fs::read_dir(root) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let dir = entry.path();
        if !dir.is_dir() || kept_recently(&dir) {
            continue;
        }
        let Ok(owner) = fs::read_to_string(dir.join(OWNER_FILE)) else {
            // Being created right now, or not ours: leave it.
            continue;
        };
        if owner_alive(&owner) {
            continue;
        }
        if let Some(pid) = fs::read_to_string(dir.join(SERVER_PID_FILE))
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
        {
            kill_if_serving_from(pid, &dir);
        }
        if fs::remove_dir_all(&dir).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// How long a directory kept on purpose (a failed test's) stays before a sweep removes it.
pub const KEPT_FOR: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// Whether `dir` was kept on purpose less than [`KEPT_FOR`] ago.
fn kept_recently(dir: &Path) -> bool {
    fs::metadata(dir.join(KEPT_MARKER))
        .and_then(|m| m.modified())
        .is_ok_and(|at| at.elapsed().map_or(true, |age| age < KEPT_FOR))
}

/// Kills `pid` only if its command line names `dir` (so a reused pid is never hit).
fn kill_if_serving_from(pid: i32, dir: &Path) {
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return;
    };
    let needle = dir.as_os_str().as_encoded_bytes();
    if cmdline.windows(needle.len()).any(|w| w == needle) {
        // SAFETY: plain kill(2) on a pid we verified serves from our directory.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweeps_dead_owners_but_not_live_or_kept_ones() {
        let root = tempfile::tempdir().unwrap();
        let dead = root.path().join("dead");
        let live = root.path().join("live");
        let kept = root.path().join("kept");
        for d in [&dead, &live, &kept] {
            fs::create_dir(d).unwrap();
        }
        // pid 2^22+1 is above the kernel's pid_max limit, so it never exists.
        fs::write(dead.join(OWNER_FILE), "4194305 1").unwrap();
        fs::write(kept.join(OWNER_FILE), "4194305 1").unwrap();
        fs::write(kept.join(KEPT_MARKER), "").unwrap();
        let old_kept = root.path().join("old-kept");
        fs::create_dir(&old_kept).unwrap();
        fs::write(old_kept.join(OWNER_FILE), "4194305 1").unwrap();
        let marker = fs::File::create(old_kept.join(KEPT_MARKER)).unwrap();
        marker
            .set_modified(
                std::time::SystemTime::now() - KEPT_FOR - std::time::Duration::from_secs(60),
            )
            .unwrap();
        let me = std::process::id();
        fs::write(
            live.join(OWNER_FILE),
            format!("{me} {}", process_start_time(me).unwrap()),
        )
        .unwrap();
        assert_eq!(sweep_stale(root.path()), 2);
        assert!(!dead.exists());
        assert!(!old_kept.exists(), "kept a week ago: swept");
        assert!(live.exists());
        assert!(kept.exists());
    }

    #[test]
    fn a_reused_pid_is_not_an_owner() {
        let me = std::process::id();
        let start = process_start_time(me).unwrap();
        assert!(owner_alive(&format!("{me} {start}")));
        assert!(!owner_alive(&format!("{me} {}", start + 1)));
    }
}
