//! SIGINT, SIGTERM and SIGHUP as events, with plain libc: a handler writes a two-byte record into a pipe (the
//! self-pipe pattern; write(2) is async-signal-safe) and the main thread reads it when it is ready to act. Nothing
//! stops the process from inside a handler, so the servers' and directories' Drop impls always run.
//!
//! Why a handler and not a blocked signal mask with sigwait: a mask is inherited by every thread, including the
//! core's spawner thread, and by every process spawned from there; a handler is reset by exec, so nats-server and
//! the `exec` command start with default signal dispositions.
//!
//! The record also says whether a process sent the signal (`kill`, `si_code <= 0`) or the kernel did (a Ctrl-C in
//! the terminal, `SI_KERNEL`): `exec` forwards only the former, because the terminal already delivered the latter
//! to the whole foreground process group, command included.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

/// The signals that stop `run` and that `exec` forwards.
pub const HANDLED: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

static WRITE_FD: AtomicI32 = AtomicI32::new(-1);

const FROM_PROCESS: u8 = 1;
const FROM_KERNEL: u8 = 2;
const CHILD_EXITED: u8 = 0;

/// Something the main thread waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A handled signal arrived; `from_process` when another process sent it with kill(2).
    Signal {
        signo: libc::c_int,
        from_process: bool,
    },
    /// The `exec` command exited (it is not reaped yet).
    ChildExited,
}

/// The read end of the self-pipe. Install once, early (before any server starts).
pub struct Signals {
    read_fd: RawFd,
}

impl Signals {
    /// Creates the pipe and installs the handlers.
    pub fn install() -> io::Result<Signals> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: pipe writes two descriptors into the array; fcntl only sets flags on them. Called before any
        // child is spawned, so none can inherit them before FD_CLOEXEC is set.
        unsafe {
            if libc::pipe(fds.as_mut_ptr()) != 0 {
                return Err(io::Error::last_os_error());
            }
            for fd in fds {
                if libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) != 0
                    || libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK) != 0
                {
                    return Err(io::Error::last_os_error());
                }
            }
        }
        WRITE_FD.store(fds[1], Ordering::SeqCst);
        for signo in HANDLED {
            // SAFETY: a zeroed sigaction is valid; we fill in the handler, flags and an empty mask.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = handler as *const () as libc::sighandler_t;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                if libc::sigaction(signo, &action, std::ptr::null_mut()) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
        }
        Ok(Signals { read_fd: fds[0] })
    }

    /// Waits for the next event, at most `timeout` (`None`: forever). `None` when the time ran out.
    pub fn wait(&self, timeout: Option<Duration>) -> Option<Event> {
        let millis = timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as libc::c_int);
        let mut pfd = libc::pollfd {
            fd: self.read_fd,
            events: libc::POLLIN,
            revents: 0,
        };
        loop {
            // SAFETY: one valid pollfd.
            let n = unsafe { libc::poll(&mut pfd, 1, millis) };
            if n > 0 {
                break;
            }
            if n == 0 {
                return None;
            }
            if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return None;
            }
            // EINTR: a handler ran; its record is in the pipe now.
        }
        let mut record = [0u8; 2];
        // SAFETY: reading into a 2-byte buffer we own. Records are written whole (2 bytes < PIPE_BUF).
        let n = unsafe { libc::read(self.read_fd, record.as_mut_ptr().cast(), 2) };
        if n != 2 {
            return None;
        }
        Some(match record {
            [CHILD_EXITED, _] => Event::ChildExited,
            [signo, how] => Event::Signal {
                signo: libc::c_int::from(signo),
                from_process: how == FROM_PROCESS,
            },
        })
    }

    /// An event already waiting, without blocking.
    pub fn pending(&self) -> Option<Event> {
        self.wait(Some(Duration::ZERO))
    }
}

/// Tells the main thread that the `exec` command exited (called from the thread that waits for it).
pub fn notify_child_exited() {
    write_record([CHILD_EXITED, 0]);
}

fn write_record(record: [u8; 2]) {
    let fd = WRITE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; the pipe is non-blocking, so a full pipe drops the record.
        unsafe {
            libc::write(fd, record.as_ptr().cast(), 2);
        }
    }
}

extern "C" fn handler(signo: libc::c_int, info: *mut libc::siginfo_t, _context: *mut libc::c_void) {
    let saved = errno();
    // SAFETY: the kernel passes a valid siginfo_t with SA_SIGINFO; checked for null anyway.
    let code = if info.is_null() {
        0
    } else {
        unsafe { (*info).si_code }
    };
    // SI_USER (0), SI_QUEUE (-1), SI_TKILL (-6)...: sent by a process. SI_KERNEL (0x80): the terminal, or the kernel.
    let how = if code <= 0 { FROM_PROCESS } else { FROM_KERNEL };
    write_record([signo as u8, how]);
    set_errno(saved);
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn errno_location() -> *mut libc::c_int {
    // SAFETY: always valid for the calling thread.
    unsafe { libc::__errno_location() }
}

#[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
fn errno_location() -> *mut libc::c_int {
    // SAFETY: always valid for the calling thread.
    unsafe { libc::__error() }
}

fn errno() -> libc::c_int {
    // SAFETY: the thread's own errno.
    unsafe { *errno_location() }
}

fn set_errno(value: libc::c_int) {
    // SAFETY: the thread's own errno.
    unsafe { *errno_location() = value }
}
