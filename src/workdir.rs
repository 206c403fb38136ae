//! Private per-server directories: creation, the keep policy, and sweeping what crashed runs left behind.
//!
//! Every server gets its own directory (mode 0700) under `$TMPDIR/nats-server-harness/`, holding its generated config, log,
//! captured stdout/stderr, ports file and (by default) its JetStream store. Its name, `ns-<pid>-<start>-XXXXXX`,
//! records the pid and start time of the process that created it, so ownership is known from the moment the
//! directory exists (one `mkdir`, atomic; no owner file to race with). The first server started by a process
//! removes directories whose owner is gone (after killing any server still running from them), so even a
//! SIGKILLed test run leaves nothing for long. Directories that were kept on purpose carry a `kept` marker and
//! are swept only a week later.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Once;

use crate::error::{Error, Result};
use crate::options::Keep;
use crate::unique;

/// The name of the folder under the system temp directory that holds every instance directory.
pub const ROOT_NAME: &str = "nats-server-harness";
const KEPT_MARKER: &str = "kept";

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
        let (me, started) = this_process();
        // One `mkdir` per attempt (atomic: an existing name, or a symlink planted there, fails it); the suffix is
        // drawn without `tempfile`, whose generator creates a thread handle on a C caller's thread (see `unique`).
        let mut attempts = 0;
        let path = loop {
            let path = root.join(format!("ns-{me}-{started}-{}", unique::alphanumeric(6)));
            // Private to the owner (0700): the generated config may hold credentials.
            match std::os::unix::fs::DirBuilderExt::mode(&mut fs::DirBuilder::new(), 0o700)
                .create(&path)
            {
                Ok(()) => break path,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && attempts == 0 => {
                    // The root is made on first use (and again should something remove it).
                    fs::create_dir_all(root)
                        .map_err(|e| Error::io(format!("creating {}", root.display()), e))?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempts < 100 => {}
                Err(e) => {
                    return Err(Error::io(
                        format!("creating a directory in {}", root.display()),
                        e,
                    ))
                }
            }
            attempts += 1;
        };
        Ok(WorkDir {
            path,
            keep,
            owner: me,
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

    /// Changes the keep policy (e.g. a pytest plugin that learns the test failed).
    pub fn set_keep_policy(&mut self, keep: Keep) {
        self.keep = keep;
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

/// This process's pid and start time, read once per process (a forked child reads its own).
fn this_process() -> (u32, u64) {
    static CACHED: std::sync::Mutex<(u32, u64)> = std::sync::Mutex::new((0, 0));
    let me = std::process::id();
    let mut cached = CACHED.lock().unwrap_or_else(|e| e.into_inner());
    if cached.0 != me {
        *cached = (me, process_start_time(me).unwrap_or(0));
    }
    *cached
}

/// The creator named by an instance directory's name: `ns-<pid>-<start>-XXXXXX`, or `ns-<pid>-XXXXXX` as made by
/// earlier versions (no start time). `None` for a name that is not an instance directory's.
fn creator_of(dir: &Path) -> Option<(u32, Option<u64>)> {
    let name = dir.file_name()?.to_str()?.strip_prefix("ns-")?;
    let parts: Vec<&str> = name.split('-').collect();
    match parts[..] {
        [pid, start, _random] => Some((pid.parse().ok()?, Some(start.parse().ok()?))),
        [pid, _random] => Some((pid.parse().ok()?, None)),
        _ => None,
    }
}

/// Whether the process that created a directory still runs (the same pid with the same start time: a reused
/// pid is not the creator).
fn creator_alive(pid: u32, start: Option<u64>) -> bool {
    match process_start_time(pid) {
        None => false,
        Some(actual) => start.is_none_or(|s| s == 0 || s == actual),
    }
}

/// Removes instance directories whose owning process is gone, killing servers still running from them.
/// Returns how many directories were removed. Directories kept on purpose are left alone for [`KEPT_FOR`].
pub fn sweep_stale(root: &Path) -> usize {
    let Ok(entries) = fs::read_dir(root) else {
        return 0;
    };
    let stale: Vec<PathBuf> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|dir| {
            creator_of(dir) // None: not an instance directory
                .is_some_and(|(pid, start)| !creator_alive(pid, start))
                && dir.is_dir()
                && !kept_recently(dir)
        })
        .collect();
    if stale.is_empty() {
        return 0;
    }
    kill_servers_serving_from(&stale);
    stale
        .iter()
        .filter(|dir| fs::remove_dir_all(dir).is_ok())
        .count()
}

/// How long a directory kept on purpose (a failed test's) stays before a sweep removes it.
pub const KEPT_FOR: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// Whether `dir` was kept on purpose less than [`KEPT_FOR`] ago.
fn kept_recently(dir: &Path) -> bool {
    fs::metadata(dir.join(KEPT_MARKER))
        .and_then(|m| m.modified())
        .is_ok_and(|at| at.elapsed().map_or(true, |age| age < KEPT_FOR))
}

/// Kills every process whose command line names a file in one of `dirs` (a server started from it: its config,
/// log and store are all there). Only used on directories of dead creators, whose watchdog should already have
/// done it; one pass over `/proc` for all of them.
fn kill_servers_serving_from(dirs: &[PathBuf]) {
    let Ok(processes) = fs::read_dir("/proc") else {
        return;
    };
    let needles: Vec<Vec<u8>> = dirs
        .iter()
        .map(|dir| {
            let mut needle = dir.as_os_str().as_encoded_bytes().to_vec();
            needle.push(b'/');
            needle
        })
        .collect();
    for process in processes.flatten() {
        let Some(pid) = process
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let serves_from_one = needles.iter().any(|needle| {
            cmdline
                .windows(needle.len())
                .any(|w| w == needle.as_slice())
        });
        if serves_from_one {
            // SAFETY: plain kill(2) on a process we verified serves from a dead creator's directory.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // pid 2^22+1 is above the kernel's pid_max limit, so it never exists.
    const DEAD: &str = "4194305";

    #[test]
    fn sweeps_dead_creators_but_not_live_kept_or_foreign_ones() {
        let root = tempfile::tempdir().unwrap();
        let (me, started) = this_process();
        let dead = root.path().join(format!("ns-{DEAD}-1-aaaaaa"));
        let legacy_dead = root.path().join(format!("ns-{DEAD}-bbbbbb"));
        let live = root.path().join(format!("ns-{me}-{started}-cccccc"));
        let reused_pid = root.path().join(format!("ns-{me}-{}-dddddd", started + 1));
        let kept = root.path().join(format!("ns-{DEAD}-1-eeeeee"));
        let old_kept = root.path().join(format!("ns-{DEAD}-1-ffffff"));
        let foreign = root.path().join("something-else");
        for d in [
            &dead,
            &legacy_dead,
            &live,
            &reused_pid,
            &kept,
            &old_kept,
            &foreign,
        ] {
            fs::create_dir(d).unwrap();
        }
        fs::write(kept.join(KEPT_MARKER), "").unwrap();
        let marker = fs::File::create(old_kept.join(KEPT_MARKER)).unwrap();
        marker
            .set_modified(
                std::time::SystemTime::now() - KEPT_FOR - std::time::Duration::from_secs(60),
            )
            .unwrap();
        assert_eq!(sweep_stale(root.path()), 4);
        assert!(!dead.exists());
        assert!(!legacy_dead.exists(), "made by an earlier version");
        assert!(!reused_pid.exists(), "same pid, another process");
        assert!(!old_kept.exists(), "kept a week ago: swept");
        assert!(live.exists());
        assert!(kept.exists());
        assert!(foreign.exists(), "not ours");
    }

    #[test]
    fn a_new_directory_names_this_process_as_its_creator() {
        let root = tempfile::tempdir().unwrap();
        let dir = WorkDir::create_in(&root.path().join("made-on-demand"), Keep::Never).unwrap();
        let (pid, start) = creator_of(dir.path()).unwrap();
        assert_eq!(pid, std::process::id());
        assert!(creator_alive(pid, start));
        assert_eq!(sweep_stale(&root.path().join("made-on-demand")), 0);
        assert!(dir.path().exists());
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
                fs::write(dir.join("server.conf"), "").unwrap();
                dirs.push(dir);
            }
            assert!(dirs.iter().all(|d| d.path().exists()));
        });
    }

    #[test]
    fn a_reused_pid_is_not_a_creator() {
        let (me, start) = this_process();
        assert!(creator_alive(me, Some(start)));
        assert!(!creator_alive(me, Some(start + 1)));
        assert!(!creator_alive(DEAD.parse().unwrap(), None));
    }
}
