//! `nats-harness`: real nats-server processes (a server or a cluster) for tests in any language.
//!
//! `run` starts, prints the URLs (text or JSON, optionally into a file a script can wait for) and stays up until
//! SIGINT, SIGTERM or SIGHUP; `exec` starts, runs a command with `NATS_URL` and friends set, tears down and exits
//! with the command's status. Both stop every server and remove every directory before they exit: the servers
//! and directories are owned values whose Drop impls clean up, and nothing calls `process::exit` while they live.

mod args;
mod plan;
mod proxy_api;
mod report;
mod signals;

use std::fmt::Display;
use std::io::{self, IsTerminal, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitCode, ExitStatus};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::{CommandFactory, Parser};
use nats_server::{Cluster, Error, ErrorKind, Installed, Installer, Server, Supercluster};
use serde_json::Value;

use args::{Cli, Cmd, ExecArgs, InstallArgs, RunArgs, StartArgs, VersionsArgs};
use plan::{Plan, PlanError};
use report::{Report, Running};
use signals::{Event, Signals};

/// How often `run` checks that its servers are still alive.
const WATCH_EVERY: Duration = Duration::from_millis(250);

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        say(format_args!(
            "internal error (a bug in nats-harness, please report it): {info}"
        ));
    }));
    let cli = Cli::parse();
    let (name, result) = match cli.command {
        Cmd::Run(args) => ("run", run(args)),
        Cmd::Exec(args) => ("exec", exec(args)),
        Cmd::Install(args) => ("install", install(args)),
        Cmd::Versions(args) => ("versions", versions(args)),
    };
    // Everything started has been stopped and dropped by now.
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure::Harness(e)) => {
            let _ = writeln!(io::stderr(), "{e}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(message)) => {
            let mut cli = Cli::command();
            cli.build();
            match cli.find_subcommand_mut(name) {
                Some(sub) => sub
                    .error(clap::error::ErrorKind::ArgumentConflict, message)
                    .exit(),
                None => cli
                    .error(clap::error::ErrorKind::ArgumentConflict, message)
                    .exit(),
            }
        }
    }
}

/// `install`: resolves and installs each release in turn; prints `VERSION BINARY` lines (or JSON).
fn install(args: InstallArgs) -> Result<u8, Failure> {
    let installer = Installer::from_env()?;
    let mut done = Vec::new();
    for spec in &args.versions {
        done.push(installer.resolve(spec)?);
    }
    let mut out = io::stdout().lock();
    if args.json {
        let _ = writeln!(
            out,
            "{}",
            Value::Array(done.iter().map(Installed::to_json).collect())
        );
    } else {
        for installed in &done {
            let _ = writeln!(out, "{} {}", installed.version, installed.binary.display());
        }
    }
    Ok(0)
}

/// `versions`: the cache's releases, and (unless `--installed`) the releases the sources offer.
fn versions(args: VersionsArgs) -> Result<u8, Failure> {
    let installer = Installer::from_env()?;
    let doc = installer.versions(!args.installed)?;
    let mut out = io::stdout().lock();
    if args.json {
        let _ = writeln!(out, "{doc}");
        return Ok(0);
    }
    let _ = writeln!(out, "installed in {}:", installer.cache_dir().display());
    for i in installer.installed() {
        let _ = writeln!(out, "  {} {}", i.version, i.binary.display());
    }
    if !args.installed {
        let list: Vec<&str> = doc["available"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .collect();
        let _ = writeln!(out, "available: {}", list.join(" "));
    }
    Ok(0)
}

/// Why a command failed.
enum Failure {
    /// Contradictory flags: clap's format, exit 2.
    Usage(String),
    /// Invalid options, or the servers failed: the harness error (with the server's own words), exit 1.
    Harness(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Harness(e)
    }
}

impl From<PlanError> for Failure {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Usage(message) => Failure::Usage(message),
            PlanError::Invalid(e) => Failure::Harness(e),
        }
    }
}

/// A line on stderr; a closed stderr is not worth a panic.
fn say(line: impl Display) {
    let _ = writeln!(io::stderr(), "nats-harness: {line}");
}

/// Status lines (unless `--quiet`) and timings (with `--timings`), on stderr.
struct Ui {
    quiet: bool,
    timings: bool,
    /// How long shutdown waits after SIGTERM before SIGKILL (`--stop-timeout`).
    stop_timeout: Duration,
}

impl Ui {
    fn new(args: &StartArgs) -> Ui {
        Ui {
            quiet: args.quiet,
            timings: args.timings,
            stop_timeout: args.stop_timeout,
        }
    }

    fn status(&self, line: impl Display) {
        if !self.quiet {
            say(line);
        }
    }

    fn timing(&self, what: &str, took: Duration) {
        if self.timings {
            say(format_args!(
                "timing: {what} {:.1} ms",
                took.as_secs_f64() * 1000.0
            ));
        }
    }
}

fn millis(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn signal_name(signo: libc::c_int) -> &'static str {
    match signo {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

/// The steps both commands share: plan, install signal handling, clear a stale URLs file, start.
fn start(args: &StartArgs, ui: &Ui) -> Result<(Running, Signals, Duration), Failure> {
    let plan = Plan::from_args(args)?;
    let signals = Signals::install().map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("installing the signal handlers: {e}"),
        )
    })?;
    if let Some(path) = &args.urls_file {
        // A file left by an earlier run must not look like this run's readiness.
        remove_file_if_exists(path)?;
    }
    let started = Instant::now();
    let running = match &plan {
        Plan::Single(opts) => Running::Single(Box::new(Server::run(opts)?)),
        Plan::Cluster(opts) => {
            let label = format!(
                "forming a {}-node {}cluster",
                opts.nodes,
                if opts.server.jetstream {
                    "JetStream "
                } else {
                    ""
                }
            );
            Running::Cluster(with_progress(&label, ui.quiet, || Cluster::run(opts))?)
        }
        Plan::Supercluster(opts) => {
            let label = format!(
                "forming a {} x {} {}supercluster",
                opts.clusters,
                opts.nodes,
                if opts.server.jetstream {
                    "JetStream "
                } else {
                    ""
                }
            );
            Running::Supercluster(with_progress(&label, ui.quiet, || Supercluster::run(opts))?)
        }
    };
    let took = started.elapsed();
    let what = match &plan {
        Plan::Single(_) => "server ready (spawn to INFO) in".to_string(),
        Plan::Cluster(opts) => format!(
            "cluster ready ({} nodes up, full mesh{}) in",
            opts.nodes,
            if opts.server.jetstream {
                ", JetStream meta leader elected, all healthy"
            } else {
                ""
            }
        ),
        Plan::Supercluster(opts) => format!(
            "supercluster ready ({} x {} nodes, meshes and gateways{}) in",
            opts.clusters,
            opts.nodes,
            if opts.server.jetstream {
                ", JetStream meta leader elected, all healthy"
            } else {
                ""
            }
        ),
    };
    ui.timing(&what, took);
    Ok((running, signals, took))
}

/// Runs `work` while a progress line on stderr shows that something is happening: redrawn with the elapsed time
/// on a terminal, a single line otherwise.
fn with_progress<T>(label: &str, quiet: bool, work: impl FnOnce() -> T) -> T {
    if quiet {
        return work();
    }
    if !io::stderr().is_terminal() {
        say(format_args!("{label}..."));
        return work();
    }
    let started = Instant::now();
    let (done, ticks) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        scope.spawn(move || loop {
            let _ = write!(
                io::stderr(),
                "\r\x1b[2Knats-harness: {label}... {:.1} s",
                started.elapsed().as_secs_f64()
            );
            if ticks.recv_timeout(Duration::from_millis(100))
                != Err(mpsc::RecvTimeoutError::Timeout)
            {
                let _ = write!(io::stderr(), "\r\x1b[2K");
                break;
            }
        });
        let result = work();
        drop(done);
        result
    })
}

/// Stops every server: SIGTERM to all at once, up to `--stop-timeout` (default 5 s) to exit (a second signal cuts it short), then
/// the Drop impls kill whatever is left, reap, and remove the directories.
fn shutdown(running: Running, signals: &Signals, ui: &Ui) {
    let started = Instant::now();
    for server in running.servers() {
        let _ = server.request_stop();
    }
    let deadline = started + ui.stop_timeout;
    while running.servers().iter().any(|s| s.is_running()) && Instant::now() < deadline {
        if let Some(Event::Signal { .. }) = signals.wait(Some(Duration::from_millis(2))) {
            ui.status("stopping at once");
            break;
        }
    }
    drop(running);
    ui.timing("stopped in", started.elapsed());
}

/// "nats-server 2.15.1" or "3-node cluster c0123 (nats-server 2.15.1)".
fn describe(report: &Report) -> String {
    let server = match &report.version {
        Some(v) => format!("nats-server {v}"),
        None => "nats-server".to_string(),
    };
    match &report.cluster_name {
        Some(_) if report.clusters.len() > 1 => format!(
            "supercluster of {} clusters, {} nodes ({server})",
            report.clusters.len(),
            report.nodes.len()
        ),
        Some(name) => format!("{}-node cluster {name} ({server})", report.nodes.len()),
        None => server,
    }
}

fn remove_file_if_exists(path: &Path) -> Result<(), Error> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::new(
            ErrorKind::Io,
            format!("removing the old URLs file {}: {e}", path.display()),
        )),
        _ => Ok(()),
    }
}

/// `run`: start, announce, wait for a signal (or a server's death), stop.
fn run(args: RunArgs) -> Result<u8, Failure> {
    let ui = Ui::new(&args.start);
    let (running, signals, took) = start(&args.start, &ui)?;
    if let Some(Event::Signal { signo, .. }) = signals.pending() {
        ui.status(format_args!(
            "{} received while starting; stopping",
            signal_name(signo)
        ));
        shutdown(running, &signals, &ui);
        return Ok(0);
    }
    let report = Report::of(&running);
    let mut stdout = io::stdout().lock();
    let _ = if args.json {
        writeln!(stdout, "{}", report.to_json())
    } else {
        write!(stdout, "{}", report.to_text(&running))
    };
    let _ = stdout.flush();
    drop(stdout);
    let urls_file = args.start.urls_file.as_deref();
    if let Some(path) = urls_file {
        if let Err(e) = report::write_atomically(path, &format!("{}\n", report.to_json())) {
            shutdown(running, &signals, &ui);
            return Err(e.into());
        }
    }
    ui.status(format_args!(
        "{} ready in {}; press Ctrl-C (or send SIGTERM to pid {}) to stop",
        describe(&report),
        millis(took),
        std::process::id()
    ));
    let outcome = std::thread::scope(|scope| {
        let api = match args.start.proxy_api.as_deref() {
            Some(addr) => match proxy_api::ProxyApi::serve(scope, addr, &running) {
                Ok(api) => Some(api),
                Err(e) => return Err(Error::new(ErrorKind::InvalidOptions, e)),
            },
            None => None,
        };
        if let Some(api) = &api {
            ui.status(format_args!(
                "toxiproxy-compatible proxy API on http://{}",
                api.addr
            ));
        }
        let outcome = watch(&running, &signals, &ui, &report);
        if let Some(api) = api {
            api.stop();
        }
        outcome
    });
    shutdown(running, &signals, &ui);
    if let Some(path) = urls_file {
        let _ = std::fs::remove_file(path);
    }
    outcome.map_err(Failure::from)
}

/// Waits for a signal (Ok) or a node that exits on its own (Err).
fn watch(running: &Running, signals: &Signals, ui: &Ui, report: &Report) -> Result<u8, Error> {
    loop {
        match signals.wait(Some(WATCH_EVERY)) {
            Some(Event::Signal { signo, .. }) => {
                ui.status(format_args!("{}: stopping", signal_name(signo)));
                break Ok(0);
            }
            Some(Event::ChildExited) => {}
            None => {
                if let Some((i, dead)) = running
                    .servers()
                    .iter()
                    .enumerate()
                    .find(|(_, s)| !s.is_running())
                {
                    let name = match running {
                        Running::Single(_) => "nats-server",
                        Running::Cluster(_) | Running::Supercluster(_) => &report.nodes[i].name,
                    };
                    break Err(Error::new(
                        ErrorKind::ServerExited,
                        format!(
                            "{name} (pid {}) exited on its own; stopping everything. Its log ends with:\n{}",
                            dead.client_pid(),
                            dead.log_tail(20)
                        ),
                    ));
                }
            }
        }
    }
}

/// `exec`: start, run the command with the URLs in its environment, forward signals, stop, exit with its status.
fn exec(args: ExecArgs) -> Result<u8, Failure> {
    let ui = Ui::new(&args.start);
    let (running, signals, took) = start(&args.start, &ui)?;
    if let Some(Event::Signal { signo, .. }) = signals.pending() {
        ui.status(format_args!(
            "{} received while starting; not running the command",
            signal_name(signo)
        ));
        shutdown(running, &signals, &ui);
        return Ok(128u8.saturating_add(signo as u8));
    }
    let report = Report::of(&running);
    let urls_file = args.start.urls_file.as_deref();
    if let Some(path) = urls_file {
        if let Err(e) = report::write_atomically(path, &format!("{}\n", report.to_json())) {
            shutdown(running, &signals, &ui);
            return Err(e.into());
        }
    }
    let program = &args.command[0];
    ui.status(format_args!(
        "{} ready in {} at {}; running {}",
        describe(&report),
        millis(took),
        report.urls.join(","),
        program.to_string_lossy()
    ));
    let started = Instant::now();
    let outcome = match Command::new(program)
        .args(&args.command[1..])
        .envs(report.env())
        .spawn()
    {
        Ok(child) => Ok(supervise(child, &signals)),
        Err(e) => {
            say(format_args!(
                "cannot run {}: {e}",
                program.to_string_lossy()
            ));
            Err(if e.kind() == io::ErrorKind::NotFound {
                127
            } else {
                126
            })
        }
    };
    ui.timing("command ran", started.elapsed());
    shutdown(running, &signals, &ui);
    if let Some(path) = urls_file {
        let _ = std::fs::remove_file(path);
    }
    Ok(match outcome {
        Ok(Ok(status)) => exit_code(status),
        Ok(Err(e)) => return Err(e.into()),
        Err(code) => code,
    })
}

/// Waits for the command to exit, forwarding the signals other processes send to nats-harness.
fn supervise(mut child: std::process::Child, signals: &Signals) -> Result<ExitStatus, Error> {
    let pid = child.id();
    // The waiter only observes the exit (WNOWAIT); the child is reaped below, after the last forwarded signal,
    // so a signal can never reach a recycled pid.
    std::thread::spawn(move || {
        loop {
            // SAFETY: a zeroed siginfo_t is a valid out-parameter for waitid.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            let rc = unsafe {
                libc::waitid(
                    libc::P_PID,
                    pid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOWAIT,
                )
            };
            if rc == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                break;
            }
        }
        signals::notify_child_exited();
    });
    loop {
        match signals.wait(None) {
            Some(Event::ChildExited) => break,
            Some(Event::Signal {
                signo,
                from_process: true,
            }) => {
                // The command is this tool's own child, not a server: plain kill(2).
                // SAFETY: kill(2) with a pid of our unreaped child (it cannot be reused before we wait for it).
                unsafe {
                    libc::kill(pid as libc::pid_t, signo);
                }
            }
            // From the terminal: the command is in our foreground process group and got it already.
            Some(Event::Signal { .. }) => {}
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    child
        .wait()
        .map_err(|e| Error::new(ErrorKind::Io, format!("waiting for the command: {e}")))
}

/// The command's exit code, or 128+N when signal N killed it (as shells report it).
fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code as u8,
        (None, Some(signo)) => 128u8.saturating_add(signo as u8),
        (None, None) => 1,
    }
}
