//! Spawn-to-ready of the harness against the bare `nats-server` in the same run, with ratios.
//!
//!     cargo bench --bench startup                 # default run counts
//!     BENCH_RUNS=100 cargo bench --bench startup  # more runs for the single-server cases
//!     BENCH_BARE_ONLY=1 cargo bench --bench startup  # the bare server alone (a baseline for other languages)
//!     BENCH_TLS_ONLY=1 cargo bench --bench startup   # only the TLS start against the plain start
//!
//! "Bare" is the binary started by hand the way a careful script would: dynamic ports, a private ports file
//! directory, polled every 50 µs until the ports file appears (for clusters: until every node's `/jsz` names the
//! same meta leader). "Log poll" starts it like the original crate did and polls the log every 500 ms. Bare and
//! harness runs alternate, so a busy moment of the machine hits both alike. Each case prints a table row and a
//! JSON line (`{"bench": "rust", "case": ..., "ms": {...}}`) for the cross-language report.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nats_server::internals::{
    binary_version, http_get, resolve_binary, wait_for_ports_file, PortsFile,
};
use nats_server::{
    Cluster, ClusterOptions, Keep, Server, ServerOptions, Supercluster, SuperclusterOptions,
    TlsOptions,
};

fn main() {
    let bin = resolve_binary(None).expect("set NATS_SERVER_BIN or put nats-server on PATH");
    let version = binary_version(&bin).expect("nats-server --version");
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(30);
    let cluster_runs = (runs / 3).max(3);
    let parallel_runs = (runs / 6).max(3);
    println!(
        "nats-server {version} at {}; {} cores",
        bin.display(),
        cores()
    );
    println!(
        "{:<28} {:>22} {:>22} {:>7} {:>9}",
        "case", "bare ms (min/med/p90)", "harness ms (min/med/p90)", "ratio", "paired Δ"
    );

    let opts = ServerOptions::new().keep(Keep::Never).binary(&bin);
    if !bare_only() {
        compare_tls(runs, &opts);
        if std::env::var_os("BENCH_TLS_ONLY").is_some_and(|v| v == "1") {
            return;
        }
    }
    let js = opts.clone().jetstream(true);
    let bare_plain = compare(
        "plain",
        runs,
        || bare_start(&bin, &[]).0,
        || start_only(|| Server::run(&opts).unwrap()),
    );
    compare(
        "jetstream",
        runs,
        || bare_start(&bin, &["-js"]).0,
        || start_only(|| Server::run(&js).unwrap()),
    );
    {
        let mut bare = BareServer::start(&bin, &["-js"]);
        let mut server = Server::run(&js).unwrap();
        compare(
            "restart (jetstream)",
            runs,
            || bare.restart(),
            || timed(|| server.try_restart().unwrap()),
        );
    }
    let cluster_opts = ClusterOptions::new()
        .nodes(3)
        .jetstream(true)
        .server(js.clone());
    compare(
        "cluster 3 nodes, meta leader",
        cluster_runs,
        || bare_cluster(&bin, 3),
        || start_only(|| Cluster::run(&cluster_opts).unwrap()),
    );
    let supercluster_opts = SuperclusterOptions::new()
        .clusters(2)
        .nodes(3)
        .server(js.clone());
    compare(
        "supercluster 2x3 jetstream",
        std::env::var("BENCH_SUPERCLUSTER_RUNS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(3),
        || bare_supercluster(&bin, 2, 3),
        || start_only(|| Supercluster::run(&supercluster_opts).unwrap()),
    );
    compare(
        "20 servers in parallel",
        parallel_runs,
        || start_only(|| parallel(20, || bare_start(&bin, &[]).1)),
        || start_only(|| parallel(20, || Server::run(&opts).unwrap())),
    );
    if bare_only() {
        return;
    }
    let legacy = stats((0..3).map(|_| log_poll_start(&bin)).collect());
    println!(
        "{:<28} {:>22} {:>22} {:>7}",
        "original crate (log poll)",
        legacy.show(),
        "",
        format!("{:.1}x", legacy.median / bare_plain.median)
    );
    println!("{}", legacy.json("legacy_log_poll", "plain"));
}

/// Runs `bare` and `harness` alternately `runs` times, then prints both, the ratio of medians and the median
/// difference within pairs. Returns the
/// bare figures.
fn compare(
    case: &str,
    runs: usize,
    mut bare: impl FnMut() -> f64,
    mut harness: impl FnMut() -> f64,
) -> Stats {
    let slug = case.split([' ', '(']).next().unwrap_or(case);
    if bare_only() {
        bare();
        let b = stats((0..runs).map(|_| bare()).collect());
        println!("{}", b.json("bare", slug));
        return b;
    }
    // One warm-up of each: page cache, first spawn of the spawner thread.
    bare();
    harness();
    let (mut b, mut h, mut paired) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let (bare_ms, harness_ms) = (bare(), harness());
        b.push(bare_ms);
        h.push(harness_ms);
        paired.push(harness_ms - bare_ms);
    }
    // The median of the differences within each adjacent pair: a steadier estimate of the harness's own cost
    // than a ratio of medians when the machine's speed drifts during the run.
    let paired = stats(paired).median;
    let (b, h) = (stats(b), stats(h));
    println!(
        "{:<28} {:>22} {:>22} {:>6.2}x {:>6.2} ms",
        case,
        b.show(),
        h.show(),
        h.median / b.median,
        paired
    );
    println!("{}", b.json("bare", slug));
    println!("{}", h.json("rust", slug));
    b
}

/// A harness start with generated TLS (client listener, mTLS) against a plain harness start, alternating, in the
/// same run. The first TLS start of the process generates the CA and certificates (then reused): it is shown
/// apart. Target: a ratio of medians of at most 1.2.
fn compare_tls(runs: usize, plain: &ServerOptions) {
    let tls = plain.clone().tls(TlsOptions::new().verify(true));
    let first = start_only(|| Server::run(&tls).unwrap());
    start_only(|| Server::run(plain).unwrap());
    let (mut p, mut t, mut paired) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let plain_ms = start_only(|| Server::run(plain).unwrap());
        let tls_ms = start_only(|| Server::run(&tls).unwrap());
        p.push(plain_ms);
        t.push(tls_ms);
        paired.push(tls_ms - plain_ms);
    }
    let paired = stats(paired).median;
    let (p, t) = (stats(p), stats(t));
    println!(
        "{:<28} {:>22} {:>22} {:>6.2}x {:>6.2} ms   (plain | tls; ratio of minimums {:.2}x; first tls start, \
         generating the CA: {first:.1} ms)",
        "tls vs plain (harness)",
        p.show(),
        t.show(),
        t.median / p.median,
        paired,
        t.min / p.min
    );
    println!("{}", p.json("rust", "tls_baseline_plain"));
    println!("{}", t.json("rust", "tls"));
}

/// `BENCH_BARE_ONLY=1` measures the bare server alone (scripts/bench.sh takes a baseline next to each language).
fn bare_only() -> bool {
    std::env::var_os("BENCH_BARE_ONLY").is_some_and(|v| v == "1")
}

struct Stats {
    min: f64,
    median: f64,
    p90: f64,
    max: f64,
    runs: usize,
}

impl Stats {
    fn show(&self) -> String {
        format!("{:.1}/{:.1}/{:.1}", self.min, self.median, self.p90)
    }

    fn json(&self, bench: &str, case: &str) -> String {
        format!(
            r#"{{"bench": "{bench}", "case": "{case}", "runs": {}, "ms": {{"min": {:.2}, "median": {:.2}, "p90": {:.2}, "max": {:.2}}}}}"#,
            self.runs, self.min, self.median, self.p90, self.max
        )
    }
}

fn stats(mut v: Vec<f64>) -> Stats {
    v.sort_by(f64::total_cmp);
    let at = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    Stats {
        min: v[0],
        median: at(0.5),
        p90: at(0.9),
        max: v[v.len() - 1],
        runs: v.len(),
    }
}

fn timed(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64() * 1e3
}

/// Times `start` alone: what it returns is dropped (stopped, cleaned up) after the clock stops, as for the bare
/// servers.
fn start_only<T>(start: impl FnOnce() -> T) -> f64 {
    let t = Instant::now();
    let started = start();
    let ms = t.elapsed().as_secs_f64() * 1e3;
    drop(started);
    ms
}

/// Runs `f` on `n` threads at once and returns what they made (so nothing is dropped inside the timing).
fn parallel<T: Send>(n: usize, f: impl Fn() -> T + Sync) -> Vec<T> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n).map(|_| s.spawn(&f)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// A bare server in its own temp dir, killed on drop.
struct BareServer {
    bin: PathBuf,
    extra: Vec<String>,
    dir: tempfile::TempDir,
    child: Child,
    ports: PortsFile,
}

impl BareServer {
    fn start(bin: &Path, extra: &[&str]) -> BareServer {
        let dir = tempfile::tempdir().unwrap();
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let (child, ports) = spawn_bare(bin, dir.path(), &extra, None, None);
        BareServer {
            bin: bin.to_path_buf(),
            extra,
            dir,
            child,
            ports,
        }
    }

    /// SIGTERM, wait, and start again on the same ports, as the harness's restart does.
    fn restart(&mut self) -> f64 {
        let t = Instant::now();
        let client = PortsFile::port_of(&self.ports.nats);
        let monitoring = PortsFile::port_of(&self.ports.monitoring);
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.child.wait().unwrap();
        let (child, ports) =
            spawn_bare(&self.bin, self.dir.path(), &self.extra, client, monitoring);
        self.child = child;
        self.ports = ports;
        t.elapsed().as_secs_f64() * 1e3
    }
}

impl Drop for BareServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn port_arg(p: Option<u16>) -> String {
    p.map_or("-1".into(), |p| p.to_string())
}

fn spawn_bare(
    bin: &Path,
    dir: &Path,
    extra: &[String],
    client: Option<u16>,
    mon: Option<u16>,
) -> (Child, PortsFile) {
    let mut child = Command::new(bin)
        .args([
            "-a",
            "127.0.0.1",
            "-p",
            &port_arg(client),
            "-m",
            &port_arg(mon),
        ])
        .arg("--ports_file_dir")
        .arg(dir)
        .arg("--store_dir")
        .arg(dir.join("js"))
        .arg("-l")
        .arg(dir.join("log"))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ports = wait_ports(dir, bin, &mut child);
    (child, ports)
}

fn wait_ports(dir: &Path, bin: &Path, child: &mut Child) -> PortsFile {
    let deadline = Instant::now() + Duration::from_secs(10);
    wait_for_ports_file(dir, bin, child, deadline)
        .unwrap_or_else(|e| panic!("bare nats-server did not start: {e:?}"))
}

/// Starts a bare server and returns the time to its ports file, with the server (killed on drop).
fn bare_start(bin: &Path, extra: &[&str]) -> (f64, BareServer) {
    let t = Instant::now();
    let server = BareServer::start(bin, extra);
    (t.elapsed().as_secs_f64() * 1e3, server)
}

/// Three (or `n`) bare JetStream servers formed as the harness does, until every node's /jsz names one leader.
fn bare_cluster(bin: &Path, n: usize) -> f64 {
    let t = Instant::now();
    let placeholder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = placeholder.local_addr().unwrap().port();
    drop(placeholder);
    let name = format!("bench{}", fastrand::u64(..));
    let node = |i: usize, route: String| {
        let args = [
            "-js".to_string(),
            "-n".into(),
            format!("n{i}"),
            "--cluster_name".into(),
            name.clone(),
            "--cluster".into(),
            "nats://127.0.0.1:-1".into(),
            "--routes".into(),
            route,
        ];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        BareServer::start(bin, &args)
    };
    let first = node(1, format!("nats://127.0.0.1:{closed_port}"));
    let seed = format!(
        "nats://127.0.0.1:{}",
        PortsFile::port_of(&first.ports.cluster).unwrap()
    );
    let mut nodes = vec![first];
    nodes.extend(std::thread::scope(|s| {
        let handles: Vec<_> = (2..=n)
            .map(|i| {
                s.spawn({
                    let seed = seed.clone();
                    let node = &node;
                    move || node(i, seed)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    }));
    let monitors: Vec<String> = nodes
        .iter()
        .map(|s| {
            format!(
                "http://127.0.0.1:{}/jsz",
                PortsFile::port_of(&s.ports.monitoring).unwrap()
            )
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let leaders: Vec<String> = monitors
            .iter()
            .map(|url| {
                http_get(url, Duration::from_secs(2))
                    .map(|(_, v)| {
                        v["meta_cluster"]["leader"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string()
                    })
                    .unwrap_or_default()
            })
            .collect();
        if !leaders[0].is_empty() && leaders.iter().all(|l| *l == leaders[0]) {
            break;
        }
        assert!(Instant::now() < deadline, "bare cluster found no leader");
        std::thread::sleep(Duration::from_millis(5));
    }
    t.elapsed().as_secs_f64() * 1e3
}

/// A JetStream supercluster of `m` clusters of `n` bare servers, started by hand in the harness's order (node 1
/// of cluster 1; node 1 of the others with a gateway to it; the rest with a route to their node 1 and gateways
/// to every other node 1; routes padded with closed ports so every node expects m x n meta peers), then polled
/// by a plain loop for the harness's readiness: every node routes to its cluster's peers, has an outbound
/// gateway to every other cluster, each cluster has one inbound gateway per remote node, every node names the
/// same meta leader and answers /healthz with 200.
fn bare_supercluster(bin: &Path, m: usize, n: usize) -> f64 {
    let t = Instant::now();
    let total = m * n;
    let confs = tempfile::tempdir().unwrap();
    let padding: Vec<String> = (0..total)
        .map(|_| {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("nats://127.0.0.1:{}", l.local_addr().unwrap().port())
        })
        .collect();
    let tag = fastrand::u32(..);
    let cname = |c: usize| format!("b{c}-{tag}");
    let conf_of = |c: usize, i: usize, mut routes: Vec<String>, gateways: &[(String, String)]| {
        routes.extend(
            padding
                .iter()
                .take(total.saturating_sub(routes.len() + gateways.len()))
                .cloned(),
        );
        let gw: Vec<String> = gateways
            .iter()
            .map(|(name, url)| format!("{{name: \"{name}\", urls: [\"{url}\"]}}"))
            .collect();
        let text = format!(
            "server_name: \"{}-{}\"\ncluster {{ name: \"{}\", listen: \"127.0.0.1:-1\", routes: [{}] }}\n\
             gateway {{ name: \"{}\", listen: \"127.0.0.1:-1\", gateways: [{}] }}\n",
            cname(c),
            i + 1,
            cname(c),
            routes.iter().map(|r| format!("\"{r}\"")).collect::<Vec<_>>().join(", "),
            cname(c),
            gw.join(", ")
        );
        let path = confs.path().join(format!("{c}-{i}.conf"));
        std::fs::write(&path, text).unwrap();
        path
    };
    let start = |path: PathBuf| {
        let path = path.to_string_lossy().into_owned();
        BareServer::start(bin, &["-js", "-c", &path])
    };
    let port = |s: &BareServer, what: &str| -> u16 {
        if what == "cluster" {
            return PortsFile::port_of(&s.ports.cluster).unwrap();
        }
        let mon = PortsFile::port_of(&s.ports.monitoring).unwrap();
        let (_, varz) = http_get(
            &format!("http://127.0.0.1:{mon}/varz"),
            Duration::from_secs(2),
        )
        .unwrap();
        varz[what]["port"].as_u64().unwrap() as u16
    };
    let mut firsts = vec![start(conf_of(0, 0, vec![], &[]))];
    let to_first = vec![(
        cname(0),
        format!("nats://127.0.0.1:{}", port(&firsts[0], "gateway")),
    )];
    let others: Vec<PathBuf> = (1..m).map(|c| conf_of(c, 0, vec![], &to_first)).collect();
    firsts.extend(parallel_map(others, start));
    let seeds: Vec<(String, String)> = firsts
        .iter()
        .enumerate()
        .map(|(c, s)| (cname(c), format!("nats://127.0.0.1:{}", port(s, "gateway"))))
        .collect();
    let mut rest = Vec::new();
    for (c, first) in firsts.iter().enumerate() {
        let seed = format!("nats://127.0.0.1:{}", port(first, "cluster"));
        let gws: Vec<(String, String)> = seeds
            .iter()
            .filter(|(name, _)| *name != cname(c))
            .cloned()
            .collect();
        for i in 1..n {
            rest.push((c, conf_of(c, i, vec![seed.clone()], &gws)));
        }
    }
    let mut nodes: Vec<(usize, BareServer)> = firsts.into_iter().enumerate().collect();
    let cluster_of: Vec<usize> = rest.iter().map(|(c, _)| *c).collect();
    let started = parallel_map(rest.into_iter().map(|(_, p)| p).collect(), start);
    nodes.extend(cluster_of.into_iter().zip(started));
    let mon: Vec<(usize, String)> = nodes
        .iter()
        .map(|(c, s)| {
            (
                *c,
                format!(
                    "http://127.0.0.1:{}",
                    PortsFile::port_of(&s.ports.monitoring).unwrap()
                ),
            )
        })
        .collect();
    let get = |url: String| {
        http_get(&url, Duration::from_secs(2)).unwrap_or((0, serde_json::Value::Null))
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut ready = true;
        let mut leaders = Vec::new();
        let mut inbound = vec![vec![0usize; m]; m];
        for (c, base) in &mon {
            let (_, routez) = get(format!("{base}/routez"));
            let peers: std::collections::HashSet<&str> = routez["routes"]
                .as_array()
                .map(|r| r.iter().filter_map(|x| x["remote_id"].as_str()).collect())
                .unwrap_or_default();
            ready &= peers.len() >= n - 1;
            let (_, gz) = get(format!("{base}/gatewayz"));
            for o in (0..m).filter(|o| o != c) {
                ready &= gz["outbound_gateways"].get(cname(o)).is_some();
                inbound[*c][o] += gz["inbound_gateways"][cname(o)]
                    .as_array()
                    .map_or(0, Vec::len);
            }
            let (_, jsz) = get(format!("{base}/jsz"));
            leaders.push(
                jsz["meta_cluster"]["leader"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
        for (c, row) in inbound.iter().enumerate() {
            ready &= row.iter().enumerate().all(|(o, k)| o == c || *k == n);
        }
        ready &= !leaders[0].is_empty() && leaders.iter().all(|l| *l == leaders[0]);
        if ready
            && mon
                .iter()
                .all(|(_, base)| get(format!("{base}/healthz")).0 == 200)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "bare supercluster not ready in 60 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let took = t.elapsed().as_secs_f64() * 1e3;
    drop(nodes);
    took
}

/// Runs `f` on every item on its own thread; results in order.
fn parallel_map<I: Send, T: Send>(items: Vec<I>, f: impl Fn(I) -> T + Sync) -> Vec<T> {
    std::thread::scope(|s| {
        let handles: Vec<_> = items.into_iter().map(|item| s.spawn(|| f(item))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// The original crate's way: spawn, then read the log every 500 ms until it names the client address.
fn log_poll_start(bin: &Path) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let t = Instant::now();
    let mut child = Command::new(bin)
        .args(["-a", "127.0.0.1", "-p", "-1", "-l"])
        .arg(&log)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    loop {
        if std::fs::read_to_string(&log).is_ok_and(|l| l.contains("client connections on")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let _ = child.kill();
    let _ = child.wait();
    ms
}
