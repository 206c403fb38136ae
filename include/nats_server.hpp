// nats_server.hpp -- a thin, header-only C++17 RAII wrapper over nats_server.h.
//
// Every failing call throws nats_server::error (a std::runtime_error carrying the nats_server_status); strings come
// back as std::string; nats_server::server frees its handle (stopping the process) in its destructor.
//
//   c++ -std=c++17 -Iinclude my_test.cpp -o my_test target/debug/libnats_server.a -lpthread -ldl -lm
//
//   nats_server::server s(R"({"jetstream": true})");
//   connect_somehow(s.client_url());
//   s.restart();                                    // same port, same JetStream store
//   nats_server::cluster c(R"({"nodes": 3, "server": {"jetstream": true}})");
//   nats_server::server_ref n = c.node(0);          // borrowed: lives as long as the cluster
//   c.kill_node(0);
//   nats_server::supercluster sc(R"({"clusters": 2, "nodes": 3})");
//   sc.restart_node(1, 0);                          // back in the supercluster (gateways) when it returns
//   nats_server::server hub(R"({"leafnodes": true})");
//   nats_server::server leaf(R"({"leaf_remotes": [{"urls": [")" + hub.leafnode_url() + R"("]}]})");
//
// Thread safety is that of the C handles: one object may be used from several threads at once, except that it must
// not be destroyed or moved from while another thread uses it.
#ifndef NATS_SERVER_HPP
#define NATS_SERVER_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

#include "nats_server.h"

namespace nats_server {

/// A failed call: the status and the library's message.
class error : public std::runtime_error {
public:
    error(nats_server_status status, const std::string &message)
        : std::runtime_error(message), status_(status) {}
    nats_server_status status() const noexcept { return status_; }
    const char *status_name() const noexcept { return nats_server_status_name(status_); }

private:
    nats_server_status status_;
};

namespace detail {

/// Takes ownership of a string the library returned.
inline std::string take(char *text) {
    std::string result = text ? text : "";
    nats_server_string_free(text);
    return result;
}

inline void check(nats_server_status status, char *message) {
    if (status != NATS_SERVER_OK) {
        std::string text = message ? take(message) : std::string(nats_server_status_name(status));
        throw error(status, text);
    }
    nats_server_string_free(message);
}

/// Calls f(char **error) and throws on failure.
template <class F> void call(F &&f) {
    char *message = nullptr;
    nats_server_status status = f(&message);
    check(status, message);
}

/// Calls f(char **out, char **error) and returns the string.
template <class F> std::string string_call(F &&f) {
    char *out = nullptr;
    call([&](char **message) { return f(&out, message); });
    return take(out);
}

/// Calls f(T *out, char **error) and returns the value.
template <class T, class F> T value_call(F &&f) {
    T out{};
    call([&](char **message) { return f(&out, message); });
    return out;
}

} // namespace detail

/// This library's version, e.g. "0.2.0".
inline std::string library_version() { return nats_server_library_version(); }
/// The C ABI version of the linked library (compare NATS_SERVER_ABI_VERSION of the header compiled against).
inline uint32_t abi_version() noexcept { return nats_server_abi_version(); }
/// True when the linked library speaks the C ABI of the header compiled against (nats_server_abi_compatible()).
inline bool abi_compatible() noexcept { return nats_server_abi_compatible(); }

/// Parses a keep policy name ("on-failure", "on_failure", "1", "never", ...) as the library does everywhere.
inline nats_server_keep parse_keep(const std::string &name) {
    return static_cast<nats_server_keep>(
        detail::value_call<int32_t>([&](int32_t *o, char **e) { return nats_server_keep_parse(name.c_str(), o, e); }));
}

/// Installs a nats-server release ("2.14", "2.14.6", "latest") into the per-user cache when missing; returns
/// its binary's path. Throws (status NATS_SERVER_INSTALL) naming the version, the sources tried and their answers.
inline std::string install(const std::string &version) {
    return detail::string_call([&](char **o, char **e) { return nats_server_install(version.c_str(), o, e); });
}

/// The cache's releases and (unless installed_only) the ones the sources offer, as JSON:
/// {"cache": "...", "installed": [{"version", "binary"}], "available": ["2.14.6", ...]}.
inline std::string versions_json(bool installed_only = false) {
    return detail::string_call([&](char **o, char **e) { return nats_server_versions(installed_only, o, e); });
}

/// The answer of a monitoring endpoint: its HTTP status and body, whatever the status.
struct monitor_response {
    uint16_t http_status = 0;
    std::string body;
};

/// Options built field by field (the JSON schema underneath; mistakes throw naming the field). Move-only.
/// `options::for_server().set("jetstream", true).set("config", "max_payload: 2MB").arg("-D")`.
class options {
public:
    static options for_server() { return options(nats_server_options_new()); }
    static options for_cluster() { return options(nats_cluster_options_new()); }
    ~options() { nats_server_options_free(h_); }
    options(options &&other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
    options &operator=(options &&other) noexcept {
        if (this != &other) {
            nats_server_options_free(h_);
            h_ = std::exchange(other.h_, nullptr);
        }
        return *this;
    }
    options(const options &) = delete;
    options &operator=(const options &) = delete;

    options &set(const std::string &key, const std::string &value) {
        detail::call([&](char **e) { return nats_server_options_set_string(h_, key.c_str(), value.c_str(), e); });
        return *this;
    }
    options &set(const std::string &key, const char *value) { return set(key, std::string(value)); }
    options &set(const std::string &key, bool value) {
        detail::call([&](char **e) { return nats_server_options_set_bool(h_, key.c_str(), value, e); });
        return *this;
    }
    options &set(const std::string &key, int64_t value) {
        detail::call([&](char **e) { return nats_server_options_set_int(h_, key.c_str(), value, e); });
        return *this;
    }
    options &set(const std::string &key, int value) { return set(key, static_cast<int64_t>(value)); }
    options &append(const std::string &key, const std::string &value) {
        detail::call(
            [&](char **e) { return nats_server_options_append_string(h_, key.c_str(), value.c_str(), e); });
        return *this;
    }
    options &arg(const std::string &value) {
        detail::call([&](char **e) { return nats_server_options_add_arg(h_, value.c_str(), e); });
        return *this;
    }
    /// The checked JSON document.
    std::string json() const {
        return detail::string_call([&](char **o, char **e) { return nats_server_options_to_json(h_, o, e); });
    }

private:
    explicit options(nats_server_options_t *handle) : h_(handle) {
        if (h_ == nullptr) throw error(NATS_SERVER_INTERNAL, "nats-server harness: internal: no options");
    }
    nats_server_options_t *h_;
};

/// A non-owning view of a server handle: a cluster's node, or an owned server seen without ownership. Cheap to
/// copy; valid as long as the handle it views.
class server_ref {
public:
    explicit server_ref(nats_server_t *handle) noexcept : h_(handle) {}
    nats_server_t *handle() const noexcept { return h_; }

    // Control.
    void stop() { detail::call([&](char **e) { return nats_server_stop(h_, e); }); }
    /// SIGTERM, then SIGKILL once `timeout` has passed; returns within about `timeout`.
    void stop(std::chrono::milliseconds timeout) {
        detail::call([&](char **e) { return nats_server_stop_timeout(h_, to_ms(timeout), e); });
    }
    /// Waits until a server made by server::spawn is ready (the errors of the constructor); a no-op otherwise.
    void wait_ready() { detail::call([&](char **e) { return nats_server_wait_ready(h_, e); }); }
    void start() { detail::call([&](char **e) { return nats_server_start(h_, e); }); }
    void restart() { detail::call([&](char **e) { return nats_server_restart(h_, e); }); }
    void kill() { detail::call([&](char **e) { return nats_server_kill(h_, e); }); }
    void pause() { detail::call([&](char **e) { return nats_server_pause(h_, e); }); }
    void resume() { detail::call([&](char **e) { return nats_server_resume(h_, e); }); }
    void lame_duck() { detail::call([&](char **e) { return nats_server_lame_duck(h_, e); }); }
    void reload() { detail::call([&](char **e) { return nats_server_reload(h_, e); }); }
    /// Restarts on release `version` (installed when missing), same ports and store.
    void upgrade(const std::string &version) {
        detail::call([&](char **e) { return nats_server_upgrade(h_, version.c_str(), e); });
    }
    void set_keep(nats_server_keep keep) {
        detail::call([&](char **e) { return nats_server_set_keep(h_, static_cast<int32_t>(keep), e); });
    }
    /// Says the test failed: under the on-failure keep policy (the default) the directory is kept at destruction.
    void mark_failed() { detail::call([&](char **e) { return nats_server_mark_failed(h_, e); }); }
    /// Waits for the process to exit on its own; returns its exit code (minus the signal number if signalled).
    int wait_exit(std::chrono::milliseconds timeout) {
        return detail::value_call<int32_t>(
            [&](int32_t *code, char **e) { return nats_server_wait_exit(h_, to_ms(timeout), code, e); });
    }

    // Queries.
    bool is_running() const {
        return detail::value_call<bool>([&](bool *o, char **e) { return nats_server_is_running(h_, o, e); });
    }
    bool is_paused() const {
        return detail::value_call<bool>([&](bool *o, char **e) { return nats_server_is_paused(h_, o, e); });
    }
    uint32_t pid() const {
        return detail::value_call<uint32_t>([&](uint32_t *o, char **e) { return nats_server_pid(h_, o, e); });
    }
    /// The pid of the latest start, also after the server stopped; 0 before any start.
    uint32_t last_pid() const {
        return detail::value_call<uint32_t>([&](uint32_t *o, char **e) { return nats_server_last_pid(h_, o, e); });
    }
    /// Whether clients must use TLS (the client URL is then tls://).
    bool tls_required() const {
        return detail::value_call<bool>([&](bool *o, char **e) { return nats_server_tls_required(h_, o, e); });
    }
    uint16_t client_port() const { return port(nats_server_client_port); }
    uint16_t monitoring_port() const { return port(nats_server_monitoring_port); }
    uint16_t websocket_port() const { return port(nats_server_websocket_port); }
    uint16_t cluster_port() const { return port(nats_server_cluster_port); }
    std::string client_url() const { return text(nats_server_client_url); }
    std::string url() const { return text(nats_server_url); }
    /// The host the server listens on (the `host` option, else the configuration's, else 127.0.0.1).
    std::string host() const { return text(nats_server_host); }

    // The client link's fault proxy (options {"client_proxy": true}).
    /// The client URL through the fault proxy.
    std::string proxied_url() const { return text(nats_server_proxied_url); }
    /// Adds a fault given as a toxiproxy toxic document, e.g.
    /// {"type":"latency","stream":"downstream","attributes":{"latency":50}}.
    void fault_add(const std::string &fault_json) {
        detail::call([&](char **e) { return nats_server_fault_add(h_, fault_json.c_str(), e); });
    }
    /// Removes the fault named `name`.
    void fault_remove(const std::string &name) {
        detail::call([&](char **e) { return nats_server_fault_remove(h_, name.c_str(), e); });
    }
    /// Removes every fault.
    void fault_remove_all() { detail::call([&](char **e) { return nats_server_fault_remove(h_, nullptr, e); }); }
    /// Takes the client link down (connections closed, new ones refused) or up again.
    void link_set_up(bool up) { detail::call([&](char **e) { return nats_server_link_set_up(h_, up, e); }); }

    // The leaf node links' fault proxy (a hub: options {"leafnodes": true, "leafnode_proxy": true}).
    /// The leaf node URL through the fault proxy: the one the hub advertises and its leaves connect to.
    std::string proxied_leafnode_url() const { return text(nats_server_proxied_leafnode_url); }
    /// Adds a fault to the leaf node links (a toxiproxy toxic document, as for fault_add).
    void leafnode_fault_add(const std::string &fault_json) {
        detail::call([&](char **e) { return nats_server_leafnode_fault_add(h_, fault_json.c_str(), e); });
    }
    /// Removes the leaf node links' fault named `name`.
    void leafnode_fault_remove(const std::string &name) {
        detail::call([&](char **e) { return nats_server_leafnode_fault_remove(h_, name.c_str(), e); });
    }
    /// Removes every fault from the leaf node links.
    void leafnode_fault_remove_all() {
        detail::call([&](char **e) { return nats_server_leafnode_fault_remove(h_, nullptr, e); });
    }
    /// Cuts every leaf off (reconnects refused) or lets them reconnect.
    void leafnode_link_set_up(bool up) {
        detail::call([&](char **e) { return nats_server_leafnode_link_set_up(h_, up, e); });
    }
    std::string client_url_with(const std::string &user, const std::string &password) const {
        return detail::string_call([&](char **o, char **e) {
            return nats_server_client_url_with(h_, user.c_str(), password.c_str(), o, e);
        });
    }
    std::string client_url_with_token(const std::string &token) const {
        return detail::string_call(
            [&](char **o, char **e) { return nats_server_client_url_with_token(h_, token.c_str(), o, e); });
    }
    /// The creds file of `user` in `account` (operator mode); the system account is "SYS" with user "sys".
    std::string creds(const std::string &account, const std::string &user) const {
        return detail::string_call(
            [&](char **o, char **e) { return nats_server_creds(h_, account.c_str(), user.c_str(), o, e); });
    }
    /// The seed ("SU...") of an nkey user: a secret.
    std::string nkey_seed(const std::string &user) const { return user_text(nats_server_nkey_seed, user); }
    /// The public key ("U...") of an nkey user.
    std::string nkey_public_key(const std::string &user) const {
        return user_text(nats_server_nkey_public_key, user);
    }
    /// The file (0600) holding an nkey user's seed.
    std::string seed_file(const std::string &user) const { return user_text(nats_server_seed_file, user); }
    /// The generated authentication material as JSON (no secrets).
    std::string auth_json() const { return text(nats_server_auth_json); }
    std::string monitoring_url() const { return text(nats_server_monitoring_url); }
    std::string websocket_url() const { return text(nats_server_websocket_url); }
    std::string cluster_url() const { return text(nats_server_cluster_url); }
    std::string gateway_url() const { return text(nats_server_gateway_url); }
    /// The URL leaves connect to (a hub: `{"leafnodes": true}`).
    std::string leafnode_url() const { return text(nats_server_leafnode_url); }
    std::string mqtt_url() const { return text(nats_server_mqtt_url); }
    /// The leaf node connections the server lists in /leafz now.
    std::size_t leaf_connections() const {
        return detail::value_call<std::size_t>(
            [&](std::size_t *o, char **e) { return nats_server_leaf_connections(h_, o, e); });
    }
    /// Waits until the server lists at least `count` leaf node connections (a hub: its leaves are back).
    void wait_for_leaf_connections(std::size_t count, std::chrono::milliseconds timeout) {
        detail::call([&](char **e) { return nats_server_wait_for_leaf_connections(h_, count, to_ms(timeout), e); });
    }
    /// Waits until this hub lists `leaf` and, with a JetStream domain on the leaf, its JetStream answers through
    /// the hub.
    void wait_for_leaf(const server_ref &leaf, std::chrono::milliseconds timeout) {
        detail::call([&](char **e) { return nats_server_wait_for_leaf(h_, leaf.handle(), to_ms(timeout), e); });
    }
    std::string dir() const { return text(nats_server_dir); }
    std::string store_dir() const { return text(nats_server_store_dir); }
    std::string log_path() const { return text(nats_server_log_path); }
    /// TLS (the `tls` option): the CA to verify the server with, and the generated client certificate and key for
    /// mTLS. Throw an error with status NATS_SERVER_UNAVAILABLE when the server has none.
    std::string ca_file() const { return text(nats_server_ca_file); }
    std::string client_cert_file() const { return text(nats_server_client_cert_file); }
    std::string client_key_file() const { return text(nats_server_client_key_file); }
    std::string log_tail(std::size_t lines = 50) const {
        return detail::string_call([&](char **o, char **e) { return nats_server_log_tail(h_, lines, o, e); });
    }
    std::string server_id() const { return text(nats_server_server_id); }
    std::string version() const { return text(nats_server_version); }
    std::string info_json() const { return text(nats_server_info); }
    /// The path of the nats-server binary this server runs.
    std::string binary() const { return text(nats_server_binary); }
    /// The server's options as a JSON document (the schema the constructor takes).
    std::string options_json() const { return text(nats_server_options_json); }
    /// GETs a monitoring endpoint ("varz", "jsz?accounts=true") and returns its JSON text.
    std::string monitor(const std::string &endpoint) const {
        return detail::string_call(
            [&](char **o, char **e) { return nats_server_monitor(h_, endpoint.c_str(), o, e); });
    }
    /// GETs a monitoring endpoint and returns its HTTP status and body whatever the status ("healthz" answers
    /// 503 while unhealthy); throws only when no answer came.
    monitor_response monitor_status(const std::string &endpoint) const {
        monitor_response response;
        response.body = detail::string_call([&](char **o, char **e) {
            return nats_server_monitor_status(h_, endpoint.c_str(), &response.http_status, o, e);
        });
        return response;
    }

protected:
    static uint64_t to_ms(std::chrono::milliseconds timeout) {
        return timeout.count() < 0 ? 0 : static_cast<uint64_t>(timeout.count());
    }
    template <class F> uint16_t port(F f) const {
        return detail::value_call<uint16_t>([&](uint16_t *o, char **e) { return f(h_, o, e); });
    }
    template <class F> std::string text(F f) const {
        return detail::string_call([&](char **o, char **e) { return f(h_, o, e); });
    }
    template <class F> std::string user_text(F f, const std::string &user) const {
        return detail::string_call([&](char **o, char **e) { return f(h_, user.c_str(), o, e); });
    }

    nats_server_t *h_;
};

/// An owned server: started by the constructor, killed and cleaned up by the destructor. Move-only.
class server : public server_ref {
public:
    /// Starts a server from JSON options (nullptr: the defaults). Throws nats_server::error on failure.
    explicit server(const char *options_json = nullptr) : server_ref(nullptr) {
        detail::call([&](char **e) { return nats_server_run(options_json, &h_, e); });
    }
    explicit server(const std::string &options_json) : server(options_json.c_str()) {}
    explicit server(const options &built) : server(built.json()) {}
    /// Starts a server without waiting for it to be ready: call wait_ready() later.
    static server spawn(const char *options_json = nullptr) {
        nats_server_t *handle = nullptr;
        detail::call([&](char **e) { return nats_server_spawn(options_json, &handle, e); });
        return server(handle);
    }
    static server spawn(const std::string &options_json) { return spawn(options_json.c_str()); }
    ~server() { nats_server_free(h_); }

    server(server &&other) noexcept : server_ref(std::exchange(other.h_, nullptr)) {}
    server &operator=(server &&other) noexcept {
        if (this != &other) {
            nats_server_free(h_);
            h_ = std::exchange(other.h_, nullptr);
        }
        return *this;
    }
    server(const server &) = delete;
    server &operator=(const server &) = delete;

private:
    explicit server(nats_server_t *handle) noexcept : server_ref(handle) {}
};

/// An owned cluster: started (and ready) after the constructor, stopped by the destructor. Move-only.
class cluster {
public:
    /// Starts a cluster from JSON options (nullptr: three nodes, no JetStream). Throws on failure.
    explicit cluster(const char *options_json = nullptr) {
        detail::call([&](char **e) { return nats_cluster_run(options_json, &h_, e); });
    }
    explicit cluster(const std::string &options_json) : cluster(options_json.c_str()) {}
    explicit cluster(const options &built) : cluster(built.json()) {}
    ~cluster() { nats_cluster_free(h_); }

    cluster(cluster &&other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
    cluster &operator=(cluster &&other) noexcept {
        if (this != &other) {
            nats_cluster_free(h_);
            h_ = std::exchange(other.h_, nullptr);
        }
        return *this;
    }
    cluster(const cluster &) = delete;
    cluster &operator=(const cluster &) = delete;

    nats_cluster_t *handle() const noexcept { return h_; }

    std::size_t size() const {
        return detail::value_call<std::size_t>([&](std::size_t *o, char **e) { return nats_cluster_len(h_, o, e); });
    }
    /// Node i (0-based), borrowed: valid as long as this cluster.
    server_ref node(std::size_t i) const {
        return server_ref(detail::value_call<nats_server_t *>(
            [&](nats_server_t **o, char **e) { return nats_cluster_node(h_, i, o, e); }));
    }
    std::string name() const {
        return detail::string_call([&](char **o, char **e) { return nats_cluster_name(h_, o, e); });
    }
    /// Every node's client URL, comma-separated (what natsConnection_ConnectTo accepts).
    std::string client_urls() const {
        return detail::string_call([&](char **o, char **e) { return nats_cluster_client_urls(h_, o, e); });
    }
    std::string client_urls_json() const {
        return detail::string_call([&](char **o, char **e) { return nats_cluster_client_urls_json(h_, o, e); });
    }
    /// Node 0's client URL (as the Rust Cluster::client_url()).
    std::string client_url() const { return node(0).client_url(); }
    /// Whether the cluster runs JetStream.
    bool jetstream() const {
        return detail::value_call<bool>([&](bool *o, char **e) { return nats_cluster_jetstream(h_, o, e); });
    }

    void kill_node(std::size_t i) { fault(nats_cluster_kill_node, i); }
    void stop_node(std::size_t i) { fault(nats_cluster_stop_node, i); }
    /// Stops node i with SIGTERM, then SIGKILL after `timeout`; node stops from several threads run in parallel.
    void stop_node(std::size_t i, std::chrono::milliseconds timeout) {
        detail::call([&](char **e) { return nats_cluster_stop_node_timeout(h_, i, ms(timeout), e); });
    }
    void start_node(std::size_t i) { fault(nats_cluster_start_node, i); }
    void restart_node(std::size_t i) { fault(nats_cluster_restart_node, i); }
    void pause_node(std::size_t i) { fault(nats_cluster_pause_node, i); }
    void resume_node(std::size_t i) { fault(nats_cluster_resume_node, i); }
    void lame_duck_node(std::size_t i) { fault(nats_cluster_lame_duck_node, i); }
    void rolling_restart() { detail::call([&](char **e) { return nats_cluster_rolling_restart(h_, e); }); }
    /// Restarts node i on release `version` (installed when missing) and waits until the cluster is ready.
    void upgrade_node(std::size_t i, const std::string &version) {
        detail::call([&](char **e) { return nats_cluster_upgrade_node(h_, i, version.c_str(), e); });
    }
    /// Upgrades every node in turn to release `version`.
    void rolling_upgrade(const std::string &version) {
        detail::call([&](char **e) { return nats_cluster_rolling_upgrade(h_, version.c_str(), e); });
    }
    void set_keep(nats_server_keep keep) {
        detail::call([&](char **e) { return nats_cluster_set_keep(h_, static_cast<int32_t>(keep), e); });
    }
    /// Says the test failed, for every node (see server_ref::mark_failed).
    void mark_failed() { detail::call([&](char **e) { return nats_cluster_mark_failed(h_, e); }); }

    // Route links (options {"route_proxies": true}).
    /// Cuts the routes between groups of 0-based node indexes given as JSON, e.g. "[[0],[1,2]]".
    void partition(const std::string &groups_json) {
        detail::call([&](char **e) { return nats_cluster_partition(h_, groups_json.c_str(), e); });
    }
    /// Brings every route link up again.
    void heal() { detail::call([&](char **e) { return nats_cluster_heal(h_, e); }); }
    /// Adds a fault (toxiproxy toxic JSON) to the route link node `from` dials to node `to`.
    void route_fault_add(std::size_t from, std::size_t to, const std::string &fault_json) {
        detail::call([&](char **e) { return nats_cluster_route_fault_add(h_, from, to, fault_json.c_str(), e); });
    }
    /// Removes every fault from the route link node `from` dials to node `to`.
    void route_fault_remove_all(std::size_t from, std::size_t to) {
        detail::call([&](char **e) { return nats_cluster_route_fault_remove(h_, from, to, nullptr, e); });
    }

    void wait_ready(std::chrono::milliseconds timeout) {
        detail::call([&](char **e) { return nats_cluster_wait_ready(h_, ms(timeout), e); });
    }
    /// Waits for a JetStream meta leader; returns its node index.
    std::size_t wait_for_leader(std::chrono::milliseconds timeout) {
        return detail::value_call<std::size_t>(
            [&](std::size_t *o, char **e) { return nats_cluster_wait_for_leader(h_, ms(timeout), o, e); });
    }
    /// The meta leader's node index now; throws (NATS_SERVER_UNAVAILABLE) when there is none.
    std::size_t meta_leader() const {
        return detail::value_call<std::size_t>(
            [&](std::size_t *o, char **e) { return nats_cluster_meta_leader(h_, o, e); });
    }

private:
    static uint64_t ms(std::chrono::milliseconds timeout) {
        return timeout.count() < 0 ? 0 : static_cast<uint64_t>(timeout.count());
    }
    template <class F> void fault(F f, std::size_t i) {
        detail::call([&](char **e) { return f(h_, i, e); });
    }

    nats_cluster_t *h_ = nullptr;
};

/// An owned supercluster (clusters joined by gateways): ready after the constructor, stopped by the destructor.
/// Move-only. Nodes are addressed by cluster and node index (both 0-based).
class supercluster {
public:
    /// Starts a supercluster from JSON options (nullptr: 2 clusters x 3 nodes, no JetStream). Throws on failure.
    explicit supercluster(const char *options_json = nullptr) {
        detail::call([&](char **e) { return nats_supercluster_run(options_json, &h_, e); });
    }
    explicit supercluster(const std::string &options_json) : supercluster(options_json.c_str()) {}
    ~supercluster() { nats_supercluster_free(h_); }

    supercluster(supercluster &&other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
    supercluster &operator=(supercluster &&other) noexcept {
        if (this != &other) {
            nats_supercluster_free(h_);
            h_ = std::exchange(other.h_, nullptr);
        }
        return *this;
    }
    supercluster(const supercluster &) = delete;
    supercluster &operator=(const supercluster &) = delete;

    nats_supercluster_t *handle() const noexcept { return h_; }

    /// The number of clusters.
    std::size_t size() const {
        return detail::value_call<std::size_t>(
            [&](std::size_t *o, char **e) { return nats_supercluster_len(h_, o, e); });
    }
    /// The number of nodes of cluster c.
    std::size_t cluster_size(std::size_t c) const {
        return detail::value_call<std::size_t>(
            [&](std::size_t *o, char **e) { return nats_supercluster_cluster_len(h_, c, o, e); });
    }
    /// Cluster c's name (its gateway name, e.g. for JetStream placement).
    std::string cluster_name(std::size_t c) const {
        return detail::string_call([&](char **o, char **e) { return nats_supercluster_cluster_name(h_, c, o, e); });
    }
    /// Node i of cluster c, borrowed: valid as long as this supercluster.
    server_ref node(std::size_t c, std::size_t i) const {
        return server_ref(detail::value_call<nats_server_t *>(
            [&](nats_server_t **o, char **e) { return nats_supercluster_node(h_, c, i, o, e); }));
    }
    /// Every node's client URL by cluster, as JSON (an array of arrays).
    std::string client_urls_json() const {
        return detail::string_call([&](char **o, char **e) { return nats_supercluster_client_urls_json(h_, o, e); });
    }

    void kill_node(std::size_t c, std::size_t i) { fault(nats_supercluster_kill_node, c, i); }
    void stop_node(std::size_t c, std::size_t i) { fault(nats_supercluster_stop_node, c, i); }
    void start_node(std::size_t c, std::size_t i) { fault(nats_supercluster_start_node, c, i); }
    void restart_node(std::size_t c, std::size_t i) { fault(nats_supercluster_restart_node, c, i); }
    void pause_node(std::size_t c, std::size_t i) { fault(nats_supercluster_pause_node, c, i); }
    void resume_node(std::size_t c, std::size_t i) { fault(nats_supercluster_resume_node, c, i); }
    void lame_duck_node(std::size_t c, std::size_t i) { fault(nats_supercluster_lame_duck_node, c, i); }
    void set_keep(nats_server_keep keep) {
        detail::call([&](char **e) { return nats_supercluster_set_keep(h_, static_cast<int32_t>(keep), e); });
    }
    void mark_failed() { detail::call([&](char **e) { return nats_supercluster_mark_failed(h_, e); }); }

    // Gateway links (options {"gateway_proxies": true}).
    /// Cuts every gateway link between clusters of different groups, e.g. "[[0],[1]]" (0-based cluster indexes).
    void partition(const std::string &groups_json) {
        detail::call([&](char **e) { return nats_supercluster_partition(h_, groups_json.c_str(), e); });
    }
    /// Brings every gateway link up again.
    void heal() { detail::call([&](char **e) { return nats_supercluster_heal(h_, e); }); }
    /// Adds a fault (a toxiproxy toxic document) to the gateway link node (fc, fi) dials to node (tc, ti).
    void gateway_fault_add(std::size_t fc, std::size_t fi, std::size_t tc, std::size_t ti,
                           const std::string &fault_json) {
        detail::call([&](char **e) {
            return nats_supercluster_gateway_fault_add(h_, fc, fi, tc, ti, fault_json.c_str(), e);
        });
    }
    /// Removes every fault from the gateway link node (fc, fi) dials to node (tc, ti).
    void gateway_fault_remove_all(std::size_t fc, std::size_t fi, std::size_t tc, std::size_t ti) {
        detail::call([&](char **e) {
            return nats_supercluster_gateway_fault_remove(h_, fc, fi, tc, ti, nullptr, e);
        });
    }
    void wait_ready(std::chrono::milliseconds timeout) {
        detail::call([&](char **e) { return nats_supercluster_wait_ready(h_, ms(timeout), e); });
    }
    /// Waits for a JetStream meta leader; returns its (cluster, node) indices.
    std::pair<std::size_t, std::size_t> wait_for_leader(std::chrono::milliseconds timeout) {
        std::size_t c = 0, i = 0;
        detail::call([&](char **e) { return nats_supercluster_wait_for_leader(h_, ms(timeout), &c, &i, e); });
        return {c, i};
    }
    /// Waits until the queue group `queue` on `subject` is known across the gateways (every node of every other
    /// cluster lists it for each cluster with a member): call it after subscribing, before publishing to the group.
    void wait_for_queue_interest(const std::string &subject, const std::string &queue,
                                 std::chrono::milliseconds timeout) {
        detail::call([&](char **e) {
            return nats_supercluster_wait_for_queue_interest(h_, subject.c_str(), queue.c_str(), ms(timeout), e);
        });
    }

private:
    static uint64_t ms(std::chrono::milliseconds timeout) {
        return timeout.count() < 0 ? 0 : static_cast<uint64_t>(timeout.count());
    }
    template <class F> void fault(F f, std::size_t c, std::size_t i) {
        detail::call([&](char **e) { return f(h_, c, i, e); });
    }

    nats_supercluster_t *h_ = nullptr;
};

} // namespace nats_server

#endif // NATS_SERVER_HPP
