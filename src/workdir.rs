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
const OWNER_PENDING_FILE: &str = "owner.new";
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
        Self::create_in(&root(), keep)
    }

    fn create_in(root: &Path, keep: Keep) -> Result<WorkDir> {
        fs::create_dir_all(root)
            .map_err(|e| Error::io(format!("creating {}", root.display()), e))?;
        let dir = tempfile::Builder::new()
            .prefix(&format!("ns-{}-", std::process::id()))
            .tempdir_in(root)
            .map_err(|e| Error::io(format!("creating a directory in {}", root.display()), e))?;
        let path = dir.keep();
        let owner = format!(
            "{} {}",
            std::process::id(),
            process_start_time(std::process::id()).unwrap_or(0)
        );
        // Written aside and renamed into place: another process's sweep must never read a half-written owner.
        let pending = path.join(OWNER_PENDING_FILE);
        fs::write(&pending, owner)
            .and_then(|()| fs::rename(&pending, path.join(OWNER_FILE)))
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
        let alive = match fs::read_to_string(dir.join(OWNER_FILE)) {
            Ok(owner) => owner_alive(&owner),
            // Being created right now (the owner file appears atomically), or its creator died before writing
            // it: only a directory that has stayed ownerless for a while is judged by the pid in its name.
            Err(_) => !ownerless_for_a_while(&dir) || name_pid_alive(&dir),
        };
        if alive {
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

/// How long a directory may lack its owner file before the sweep judges it by the pid in its name.
const OWNERLESS_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

fn ownerless_for_a_while(dir: &Path) -> bool {
    fs::metadata(dir)
        .and_then(|m| m.modified())
        .is_ok_and(|at| at.elapsed().is_ok_and(|age| age > OWNERLESS_GRACE))
}

/// Whether the process named in a directory name `ns-<pid>-XXXX` exists (true when the name has no pid: not
/// ours to judge).
fn name_pid_alive(dir: &Path) -> bool {
    let pid = dir
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("ns-"))
        .and_then(|n| n.split('-').next())
        .and_then(|p| p.parse::<u32>().ok());
    pid.is_none_or(|pid| process_start_time(pid).is_some())
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
    fn ownerless_directories_are_left_alone_until_their_named_creator_is_gone() {
        let root = tempfile::tempdir().unwrap();
        let fresh = root.path().join("ns-4194305-fresh");
        let old_dead = root.path().join("ns-4194305-old");
        let old_live = root.path().join(format!("ns-{}-old", std::process::id()));
        for d in [&fresh, &old_dead, &old_live] {
            fs::create_dir(d).unwrap();
        }
        let long_ago = std::time::SystemTime::now() - OWNERLESS_GRACE * 2;
        for d in [&old_dead, &old_live] {
            fs::File::open(d).unwrap().set_modified(long_ago).unwrap();
        }
        assert_eq!(sweep_stale(root.path()), 1);
        assert!(fresh.exists(), "maybe being created right now");
        assert!(!old_dead.exists());
        assert!(old_live.exists());
    }

    #[test]
    fn a_sweep_never_takes_a_directory_being_created() {
        // Another process's sweep runs while this one creates directories: each must survive its creation.
        use std::sync::atomic::{AtomicBool, Ordering};
        struct StopOnDrop<'a>(&'a AtomicBool);
        impl Drop for StopOnDrop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let root = tempfile::tempdir().unwrap();
        let done = AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    sweep_stale(root.path());
                }
            });
            // Stops the sweeper even when an assertion below fails.
            let _stop = StopOnDrop(&done);
            let mut dirs = Vec::new();
            for _ in 0..300 {
                let dir = WorkDir::create_in(root.path(), Keep::Never).unwrap();
                assert!(dir.join(OWNER_FILE).exists(), "{}", dir.path().display());
                dirs.push(dir);
            }
            assert!(dirs.iter().all(|d| d.path().exists()));
        });
    }

    #[test]
    fn a_reused_pid_is_not_an_owner() {
        let me = std::process::id();
        let start = process_start_time(me).unwrap();
        assert!(owner_alive(&format!("{me} {start}")));
        assert!(!owner_alive(&format!("{me} {}", start + 1)));
    }
}
