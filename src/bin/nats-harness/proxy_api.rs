//! `--proxy-api ADDR`: the fault proxies of the running topology behind a small HTTP API compatible with
//! toxiproxy's, so toxiproxy clients in any language can drive them.
//!
//! Proxies are named by link: `client` (a single server's client port) or `client-I` (node I's), `route-I-J`
//! (the routes node I dials to node J), `gateway-C.I-D.J` (the gateway node I of cluster C dials to node J of
//! cluster D); indexes are 0-based. Endpoints: `GET /proxies`, `GET /proxies/{name}`, `POST /proxies/{name}`
//! (`{"enabled": false}` takes the link down), `GET|POST /proxies/{name}/toxics`,
//! `GET|DELETE /proxies/{name}/toxics/{toxic}`, `POST /reset` (every link up, every toxic removed), `GET /version`.
//! Errors are `{"error": "...", "status": N}` as toxiproxy sends them. The server thread borrows the topology and
//! is stopped ([`ProxyApi::stop`]) before the topology is shut down.

use std::thread::{Scope, ScopedJoinHandle};

use nats_server::{Fault, Proxy};
use serde_json::{json, Value};
use tiny_http::{Header, Method, Request, Response, Server as HttpServer};

use crate::report::Running;

/// One named link.
struct Link<'a> {
    name: String,
    proxy: &'a Proxy,
}

/// The running API server; [`ProxyApi::stop`] ends it.
pub struct ProxyApi<'scope> {
    http: std::sync::Arc<HttpServer>,
    thread: ScopedJoinHandle<'scope, ()>,
    /// The address it serves on, e.g. `127.0.0.1:8474`.
    pub addr: String,
}

impl<'scope> ProxyApi<'scope> {
    /// Serves the proxies of `running` on `addr` (e.g. `127.0.0.1:8474`; port 0 picks a free one).
    pub fn serve<'env>(
        scope: &'scope Scope<'scope, 'env>,
        addr: &str,
        running: &'env Running,
    ) -> Result<ProxyApi<'scope>, String> {
        let links = links_of(running);
        if links.is_empty() {
            return Err(
                "--proxy-api needs proxies: add --client-proxy, --route-proxies or --gateway-proxies".into(),
            );
        }
        let http = HttpServer::http(addr)
            .map_err(|e| format!("--proxy-api {addr}: cannot listen there: {e}"))?;
        let addr = http
            .server_addr()
            .to_ip()
            .map_or_else(|| addr.to_string(), |a| a.to_string());
        let http = std::sync::Arc::new(http);
        let serving = http.clone();
        let thread = std::thread::Builder::new()
            .name("proxy api".into())
            .spawn_scoped(scope, move || {
                for request in serving.incoming_requests() {
                    handle(request, &links);
                }
            })
            .map_err(|e| format!("starting the proxy API thread: {e}"))?;
        Ok(ProxyApi { http, thread, addr })
    }

    /// Stops serving and waits for the server thread.
    pub fn stop(self) {
        self.http.unblock();
        let _ = self.thread.join();
    }
}

fn links_of(running: &Running) -> Vec<Link<'_>> {
    let mut links = Vec::new();
    let servers = running.servers();
    for (i, server) in servers.iter().enumerate() {
        if let Some(proxy) = server.client_proxy() {
            let name = match running {
                Running::Single(_) => "client".to_string(),
                _ => format!("client-{i}"),
            };
            links.push(Link { name, proxy });
        }
    }
    match running {
        Running::Cluster(cluster) => {
            for (i, j, proxy) in cluster.route_links().unwrap_or_default() {
                links.push(Link {
                    name: format!("route-{i}-{j}"),
                    proxy,
                });
            }
        }
        Running::Supercluster(sc) => {
            for ((c, i), (d, j), proxy) in sc.gateway_links().unwrap_or_default() {
                links.push(Link {
                    name: format!("gateway-{c}.{i}-{d}.{j}"),
                    proxy,
                });
            }
        }
        Running::Single(_) => {}
    }
    links
}

fn proxy_json(link: &Link) -> Value {
    json!({
        "name": link.name,
        "listen": link.proxy.listen_addr().to_string(),
        "upstream": link.proxy.target().map(|t| t.to_string()).unwrap_or_default(),
        "enabled": link.proxy.is_enabled(),
        "toxics": toxics_json(link.proxy),
    })
}

fn toxics_json(proxy: &Proxy) -> Value {
    Value::Array(proxy.faults().iter().map(fault_json).collect())
}

/// A fault as toxiproxy shows a toxic (name, type, stream, toxicity, attributes).
fn fault_json(fault: &Fault) -> Value {
    serde_json::from_str(&fault.to_json()).unwrap_or(Value::Null)
}

/// An HTTP answer: status and JSON body (`None`: 204 No Content).
type Answer = (u16, Option<Value>);

fn error(status: u16, message: impl Into<String>) -> Answer {
    (
        status,
        Some(json!({"error": message.into(), "status": status})),
    )
}

fn handle(mut request: Request, links: &[Link]) {
    let mut body = String::new();
    let answer = match request.as_reader().read_to_string(&mut body) {
        Ok(_) => route(request.method(), request.url(), &body, links),
        Err(e) => error(400, format!("reading the request body: {e}")),
    };
    let response = match answer {
        (status, Some(value)) => Response::from_string(value.to_string())
            .with_status_code(status)
            .with_header(
                Header::from_bytes("Content-Type", "application/json").expect("a valid header"),
            )
            .boxed(),
        (status, None) => Response::empty(status).boxed(),
    };
    let _ = request.respond(response);
}

fn route(method: &Method, url: &str, body: &str, links: &[Link]) -> Answer {
    let path = url.split('?').next().unwrap_or_default();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let find = |name: &str| {
        links
            .iter()
            .find(|l| l.name == name)
            .ok_or_else(|| error(404, "proxy not found"))
    };
    match (method, parts.as_slice()) {
        (Method::Get, ["version"]) => (200, Some(json!(env!("CARGO_PKG_VERSION")))),
        (Method::Get, ["proxies"]) => {
            let map: serde_json::Map<String, Value> = links
                .iter()
                .map(|l| (l.name.clone(), proxy_json(l)))
                .collect();
            (200, Some(Value::Object(map)))
        }
        (Method::Post, ["reset"]) => {
            for link in links {
                if let Err(e) = link.proxy.enable().and_then(|()| link.proxy.remove_all()) {
                    return error(500, e.to_string());
                }
            }
            (204, None)
        }
        (Method::Get, ["proxies", name]) => match find(name) {
            Ok(link) => (200, Some(proxy_json(link))),
            Err(e) => e,
        },
        (Method::Post | Method::Patch, ["proxies", name]) => {
            let link = match find(name) {
                Ok(link) => link,
                Err(e) => return e,
            };
            let update: Value = match serde_json::from_str(body) {
                Ok(v) => v,
                Err(e) => return error(400, format!("bad JSON: {e}")),
            };
            if let Some(enabled) = update.get("enabled") {
                let Some(enabled) = enabled.as_bool() else {
                    return error(400, "`enabled` must be true or false");
                };
                let done = match enabled {
                    true => link.proxy.enable(),
                    false => link.proxy.disable(),
                };
                if let Err(e) = done {
                    return error(500, e.to_string());
                }
            }
            (200, Some(proxy_json(link)))
        }
        (Method::Get, ["proxies", name, "toxics"]) => match find(name) {
            Ok(link) => (200, Some(toxics_json(link.proxy))),
            Err(e) => e,
        },
        (Method::Post, ["proxies", name, "toxics"]) => {
            let link = match find(name) {
                Ok(link) => link,
                Err(e) => return e,
            };
            let fault = match Fault::from_json(body) {
                Ok(f) => f,
                Err(e) => return error(400, e.to_string()),
            };
            if link.proxy.faults().iter().any(|f| f.name == fault.name) {
                return error(409, "toxic already exists");
            }
            match link.proxy.add(fault.clone()) {
                Ok(()) => (200, Some(fault_json(&fault))),
                Err(e) => error(400, e.to_string()),
            }
        }
        (Method::Get | Method::Delete, ["proxies", name, "toxics", toxic]) => {
            let link = match find(name) {
                Ok(link) => link,
                Err(e) => return e,
            };
            let found = link.proxy.faults().into_iter().find(|f| f.name == *toxic);
            match (method, found) {
                (_, None) => error(404, "toxic not found"),
                (Method::Get, Some(f)) => (200, Some(fault_json(&f))),
                (_, Some(_)) => match link.proxy.remove(toxic) {
                    Ok(()) => (204, None),
                    Err(e) => error(500, e.to_string()),
                },
            }
        }
        _ => error(404, format!("no such endpoint: {method} {path}")),
    }
}
