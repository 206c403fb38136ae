//! Links between servers beyond routes: gateways, leaf nodes and the MQTT listener.
//!
//! Everything a server needs for them lives here, so [`crate::server`] stays a process manager: the config blocks
//! written into the generated config, the discovery of their ports (the ports file never lists them; `/varz` reports
//! them once the ports file exists), and the leaf side of readiness (every remote connected, per `/leafz`).
//! Link URLs are built in one place ([`link_url`]), so a later fault proxy can sit on any link.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};
use crate::options::ServerOptions;
use crate::ready::{dial_host, url_host, Backoff};
use crate::server::{Ports, Server};
use crate::tls::TlsFiles;

/// The URL another server dials to reach `port` on `server`'s host (a gateway, leaf node or route URL).
pub(crate) fn link_url(host: &str, port: u16) -> String {
    format!("nats://{}:{port}", url_host(dial_host(host)))
}

/// The config blocks for gateways, leaf nodes, MQTT and the JetStream domain, with pinned ports where known.
/// `tls` is the server's TLS files when it has any: with `tls.gateways` / `tls.leafnodes` those links get TLS.
/// `leaf_advertise`: the `host:port` the leaf node listener advertises (its fault proxy), when set.
pub(crate) fn config_blocks(
    opts: &ServerOptions,
    ports: &Ports,
    tls: Option<&TlsFiles>,
    leaf_advertise: Option<&str>,
) -> String {
    let host = quote(opts.listen_host());
    let flags = opts.tls.clone().unwrap_or_default();
    let gateway_tls = tls.filter(|_| flags.gateways);
    let leaf_tls = tls.filter(|_| flags.leafnodes);
    let mut text = String::new();
    if let Some(gateway) = &opts.gateway {
        text.push_str(&format!(
            "gateway {{\n  name: {}\n  host: {host}\n  port: {}\n",
            quote(&gateway.name),
            port_value(gateway.port.or(ports.gateway))
        ));
        if let Some(advertise) = &gateway.advertise {
            text.push_str(&format!("  advertise: {}\n", quote(advertise)));
        }
        if !gateway.gateways.is_empty() {
            text.push_str("  gateways: [\n");
            for remote in &gateway.gateways {
                text.push_str(&format!(
                    "    {{name: {}, urls: {}}}\n",
                    quote(&remote.name),
                    quote_list(&remote.urls)
                ));
            }
            text.push_str("  ]\n");
        }
        if let Some(files) = gateway_tls {
            text.push_str(&files.link_block("  "));
        }
        text.push_str("}\n");
    }
    if opts.leafnodes || !opts.leaf_remotes.is_empty() {
        text.push_str("leafnodes {\n");
        if opts.leafnodes {
            text.push_str(&format!(
                "  host: {host}\n  port: {}\n",
                port_value(ports.leafnode)
            ));
            if let Some(advertise) = leaf_advertise {
                text.push_str(&format!("  advertise: {}\n", quote(advertise)));
            }
            if let Some(files) = leaf_tls {
                text.push_str(&files.link_block("  "));
            }
        }
        if !opts.leaf_remotes.is_empty() {
            text.push_str("  remotes: [\n");
            for remote in &opts.leaf_remotes {
                text.push_str(&format!(
                    "    {{\n      urls: {}\n",
                    quote_list(&remote.urls)
                ));
                if let Some(account) = &remote.account {
                    text.push_str(&format!("      account: {}\n", quote(account)));
                }
                if let Some(creds) = &remote.credentials {
                    let path = std::path::absolute(creds).unwrap_or_else(|_| creds.clone());
                    text.push_str(&format!(
                        "      credentials: {}\n",
                        quote(&path.to_string_lossy())
                    ));
                }
                if let Some(files) = leaf_tls {
                    text.push_str(&files.remote_block("      "));
                }
                text.push_str("    }\n");
            }
            text.push_str("  ]\n");
        }
        text.push_str("}\n");
    }
    if opts.mqtt {
        text.push_str(&format!(
            "mqtt {{\n  host: {host}\n  port: {}\n}}\n",
            port_value(ports.mqtt)
        ));
    }
    if let Some(domain) = &opts.jetstream_domain {
        text.push_str(&format!("jetstream {{\n  domain: {}\n}}\n", quote(domain)));
    }
    text
}

/// Whether the config text has a top-level block or key `key` (e.g. `gateway`), which the harness would conflict
/// with. A plain scan: a line starting with the key followed by `{`, `:` or `=`.
pub(crate) fn config_sets(text: &str, key: &str) -> bool {
    text.lines().any(|line| {
        line.trim_start()
            .strip_prefix(key)
            .map(str::trim_start)
            .is_some_and(|rest| rest.starts_with(['{', ':', '=']))
    })
}

/// Rejects user configuration that sets a block the harness generates (`what` names the generator).
pub(crate) fn reject_conflicting_config(opts: &ServerOptions, key: &str, what: &str) -> Result<()> {
    let mut sources = Vec::new();
    if let Some(config) = &opts.config {
        sources.push(("`config`".to_string(), config.clone()));
    }
    if let Some(file) = &opts.config_file {
        if let Ok(text) = std::fs::read_to_string(file) {
            sources.push((format!("config file {}", file.display()), text));
        }
    }
    for (source, text) in sources {
        if config_sets(&text, key) {
            return Err(Error::new(
                ErrorKind::InvalidOptions,
                format!(
                    "{source} sets a `{key}` block, which conflicts with the `{key}` block the harness generates for \
                     {what}; remove it (the harness chooses the {key} name, port and peers)"
                ),
            ));
        }
    }
    Ok(())
}

/// Reads the gateway, leaf node and MQTT ports from `/varz` (called once the ports file exists).
pub(crate) fn discover_ports(server: &Server) -> Result<(Option<u16>, Option<u16>, Option<u16>)> {
    let varz = server.monitor("varz")?;
    let port = |section: &str| {
        varz[section]["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p != 0)
    };
    let opts = server.options();
    let gateway = opts.gateway.as_ref().and_then(|_| port("gateway"));
    let leafnode = if opts.leafnodes { port("leaf") } else { None };
    let mqtt = if opts.mqtt { port("mqtt") } else { None };
    for (wanted, found, what) in [
        (opts.gateway.is_some(), gateway, "gateway"),
        (opts.leafnodes, leafnode, "leaf node"),
        (opts.mqtt, mqtt, "MQTT"),
    ] {
        if wanted && found.is_none() {
            return Err(Error::new(
                ErrorKind::Monitoring,
                format!("the server's /varz reports no {what} port: {varz}"),
            ));
        }
    }
    Ok((gateway, leafnode, mqtt))
}

/// Fails at once, before spawning, when none of a remote's hub URLs accepts connections: a leaf whose hub is gone
/// would otherwise retry forever.
pub(crate) fn check_hubs_reachable(opts: &ServerOptions) -> Result<()> {
    for (i, remote) in opts.leaf_remotes.iter().enumerate() {
        let reachable = remote.urls.iter().any(|url| dial(url).is_ok());
        if !reachable {
            let why = remote
                .urls
                .iter()
                .map(|url| format!("{url}: {}", dial(url).err().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "leaf remote {i} cannot reach its hub ({why}); start the hub first (with `leafnodes: true`) and \
                     pass its `leafnode_url()`"
                ),
            ));
        }
    }
    Ok(())
}

fn dial(url: &str) -> std::result::Result<(), String> {
    let rest = url.split("://").nth(1).unwrap_or(url);
    let host_port = rest
        .rsplit('@')
        .next()
        .unwrap_or(rest)
        .trim_end_matches('/');
    let addrs = host_port
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve: {e}"))?;
    let mut last = String::from("no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

/// The number of leaf node connections `server`'s `/leafz` lists.
pub(crate) fn leaf_connections(server: &Server) -> Result<usize> {
    let leafz = server.monitor("leafz")?;
    Ok(leafz["leafs"].as_array().map_or(0, Vec::len))
}

/// Waits until `server` lists at least `count` leaf node connections in `/leafz`.
pub(crate) fn wait_leaf_connections(
    server: &Server,
    count: usize,
    deadline: Instant,
) -> Result<()> {
    let mut backoff = Backoff::new(Duration::from_millis(10));
    loop {
        let seen = leaf_connections(server);
        match &seen {
            Ok(n) if *n >= count => return Ok(()),
            _ => {}
        }
        if Instant::now() >= deadline {
            let seen = seen.map_or_else(|e| e.to_string(), |n| n.to_string());
            return Err(Error::new(
                ErrorKind::Timeout,
                format!("the server lists {seen} leaf node connection(s) in /leafz, not {count}, in time"),
            ));
        }
        backoff.sleep(deadline);
    }
}

/// What a hub knows a leaf by: its server name and, when it runs JetStream in a domain, that domain.
pub(crate) fn leaf_identity(leaf: &Server) -> (String, Option<String>) {
    let name = leaf.info()["server_name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let opts = leaf.options();
    let domain = opts.jetstream_domain.clone().filter(|_| opts.jetstream);
    (name, domain)
}

/// Waits until `hub`'s `/leafz` lists a leaf connection from the server named `leaf` and, when `domain` is given
/// (the leaf runs JetStream in that domain), until that connection carries the leaf's interest in
/// `$JS.<domain>.API.INFO`: the hub routes the domain's API requests to the leaf, so the leaf's JetStream answers
/// through the hub.
pub(crate) fn wait_hub_lists(
    hub: &Server,
    leaf: &str,
    domain: Option<&str>,
    deadline: Instant,
) -> Result<()> {
    let api = domain.map(|d| format!("$JS.{d}.API.INFO"));
    let endpoint = if api.is_some() {
        "leafz?subs=1"
    } else {
        "leafz"
    };
    let mut backoff = Backoff::new(Duration::from_millis(10));
    loop {
        let seen = hub
            .monitor(endpoint)
            .map(|leafz| hub_view(&leafz, leaf, api.as_deref()));
        match &seen {
            Ok(HubView::Ready) => return Ok(()),
            _ if Instant::now() < deadline => backoff.sleep(deadline),
            Ok(HubView::Listed) => {
                let domain = domain.unwrap_or_default();
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "the hub lists the leaf {leaf:?}, but the leaf's JetStream domain {domain:?} does not \
                         answer through it in time (the leaf connection carries no interest in \
                         `$JS.{domain}.API.INFO`)"
                    ),
                ));
            }
            Ok(HubView::Missing(names)) => {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                    "the hub's /leafz does not list the leaf {leaf:?} in time (it lists {names:?})"
                ),
                ))
            }
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("the hub's /leafz does not list the leaf {leaf:?} in time: {e}"),
                ))
            }
        }
    }
}

/// What a hub's `/leafz` shows of one leaf.
#[derive(Debug, PartialEq)]
enum HubView {
    /// Not listed; the names it does list.
    Missing(Vec<String>),
    /// Listed, without the JetStream API interest asked for.
    Listed,
    /// Listed (with the JetStream API interest, when asked for).
    Ready,
}

fn hub_view(leafz: &serde_json::Value, leaf: &str, api: Option<&str>) -> HubView {
    let leafs = leafz["leafs"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let name_of = |l: &serde_json::Value| l["name"].as_str().unwrap_or_default().to_string();
    // Servers before 2.10 do not name their leaves in /leafz: any unnamed connection counts there.
    let listed: Vec<&serde_json::Value> = leafs
        .iter()
        .filter(|l| {
            let name = name_of(l);
            name == leaf || name.is_empty()
        })
        .collect();
    if listed.is_empty() {
        return HubView::Missing(leafs.iter().map(name_of).collect());
    }
    let Some(api) = api else {
        return HubView::Ready;
    };
    let carries = |l: &&serde_json::Value| {
        l["subscriptions_list"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str())
            .any(|s| subject_covers(s, api))
    };
    if listed.iter().any(carries) {
        HubView::Ready
    } else {
        HubView::Listed
    }
}

/// Whether the subscription subject `filter` (with `*` and `>` wildcards) matches the literal `subject`.
fn subject_covers(filter: &str, subject: &str) -> bool {
    let mut tokens = subject.split('.');
    for want in filter.split('.') {
        match (want, tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (want, Some(token)) if want == token => {}
            _ => return false,
        }
    }
    tokens.next().is_none()
}

fn port_value(port: Option<u16>) -> String {
    port.map_or_else(|| "-1".to_string(), |p| p.to_string())
}

fn quote(text: &str) -> String {
    serde_json::to_string(text).expect("strings always serialize")
}

fn quote_list(items: &[String]) -> String {
    serde_json::to_string(items).expect("strings always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicting_blocks_are_found() {
        assert!(config_sets("gateway {\n name: x\n}", "gateway"));
        assert!(config_sets("  gateway: { name: x }", "gateway"));
        assert!(!config_sets("gateways_seen = 1\n# gateway", "gateway"));
        assert!(!config_sets("leafnodes { }", "gateway"));
    }

    #[test]
    fn blocks_pin_known_ports() {
        let opts = ServerOptions::new()
            .leafnodes(true)
            .mqtt(true)
            .jetstream(true)
            .jetstream_domain("leaf");
        let ports = Ports {
            leafnode: Some(7422),
            ..Ports::default()
        };
        let text = config_blocks(&opts, &ports, None, None);
        assert!(text.contains("port: 7422"), "{text}");
        assert!(
            text.contains("mqtt {\n  host: \"127.0.0.1\"\n  port: -1"),
            "{text}"
        );
        assert!(text.contains("domain: \"leaf\""), "{text}");
    }

    /// Without the JetStream half of leaf readiness, a leaf listed by the hub before its `$JS.<domain>.API`
    /// interest arrived would count as ready, and a hub client's first domain request could find no responder.
    #[test]
    fn a_hub_sees_a_leafs_jetstream_domain_by_its_api_interest() {
        let leafz = serde_json::json!({"leafs": [
            {"name": "other", "subscriptions_list": ["$JS.d.API.INFO"]},
            {"name": "leaf", "subscriptions_list": ["$JS.e.API.INFO", "$JS.d.API.STREAM.>"]},
            {"name": "sys", "subscriptions_list": ["$JS.f.API.>"]},
        ]});
        assert_eq!(hub_view(&leafz, "leaf", None), HubView::Ready);
        assert_eq!(
            hub_view(&leafz, "leaf", Some("$JS.d.API.INFO")),
            HubView::Listed
        );
        assert_eq!(
            hub_view(&leafz, "leaf", Some("$JS.e.API.INFO")),
            HubView::Ready
        );
        assert_eq!(
            hub_view(&leafz, "sys", Some("$JS.f.API.INFO")),
            HubView::Ready
        );
        assert_eq!(
            hub_view(&leafz, "sys", Some("$JS.g.API.INFO")),
            HubView::Listed
        );
        assert_eq!(
            hub_view(&leafz, "gone", None),
            HubView::Missing(vec!["other".into(), "leaf".into(), "sys".into()])
        );
    }

    #[test]
    fn subjects_match_nats_wildcards() {
        assert!(subject_covers("$JS.d.API.INFO", "$JS.d.API.INFO"));
        assert!(subject_covers("$JS.d.API.>", "$JS.d.API.INFO"));
        assert!(subject_covers("$JS.*.API.INFO", "$JS.d.API.INFO"));
        assert!(!subject_covers("$JS.d.API.>", "$JS.d.API"));
        assert!(!subject_covers("$JS.d.API", "$JS.d.API.INFO"));
        assert!(!subject_covers("$JS.e.API.>", "$JS.d.API.INFO"));
    }
}
