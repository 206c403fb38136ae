package natsserver

import (
	"encoding/json"
	"fmt"
)

// Keep says what to keep of a server's private directory (log, config, JetStream store) when it is closed. Besides
// the constants below, any spelling the library's one parser accepts works ("on_failure", "1", "true", ...), as in
// $NATS_SERVER_KEEP; the library checks it (ErrInvalidOptions in Options, ErrInvalidArgument in SetKeep).
type Keep string

// Keep policies. The zero value, KeepDefault, takes the policy from $NATS_SERVER_KEEP (never, on-failure or
// always), else on-failure.
const (
	KeepDefault   Keep = ""
	KeepNever     Keep = "never"
	KeepOnFailure Keep = "on-failure" // kept once MarkFailed was called (RunT and RunClusterT call it for a failed test)
	KeepAlways    Keep = "always"     // always kept; the path is printed to stderr on Close
)

// Options configure one server. They are the shared JSON schema of the Rust ServerOptions (src/options.rs): the
// json tags are its keys, and every zero value is left out so that the Rust default applies (loopback, every
// listener on a dynamic port, monitoring on, JetStream off, a 10 s startup timeout).
type Options struct {
	// Binary is the nats-server executable; else the release Version, else $NATS_SERVER_BIN, else PATH.
	Binary string `json:"binary,omitempty"`
	// Version is a release to run ("2.14", "2.14.6", "latest"), installed into the per-user cache when missing.
	Version string `json:"version,omitempty"`
	// ConfigFile is a server configuration file (a relative path is resolved against the current directory).
	ConfigFile string `json:"config_file,omitempty"`
	// Config is configuration text, applied after ConfigFile (so it overrides it), e.g. "max_payload: 2MB".
	Config string `json:"config,omitempty"`
	// JetStream enables JetStream (-js), with a store inside the server's private directory by default.
	JetStream bool `json:"jetstream,omitempty"`
	// StoreDir is the JetStream store directory; it belongs to the caller and is never removed.
	StoreDir string `json:"store_dir,omitempty"`
	// Host is the interface every listener binds; "" means 127.0.0.1 unless the configuration chooses (host,
	// net, listen). When set it overrides the configuration.
	Host string `json:"host,omitempty"`
	// Port is a fixed client port, overriding the configuration; 0 picks a free one unless the configuration
	// sets port or listen. Kept across restarts either way.
	Port int `json:"port,omitempty"`
	// Name is the server name (-n).
	Name string `json:"name,omitempty"`
	// User and Password require these credentials from clients (set both).
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
	// Token requires this token from clients.
	Token string `json:"token,omitempty"`
	// Users are users of the global account, each with a password or a generated nkey, and permissions.
	Users []User `json:"users,omitempty"`
	// Accounts are named accounts with users, JetStream, exports and imports.
	Accounts map[string]Account `json:"accounts,omitempty"`
	// NoAuthUser is the user (of Users or Accounts) that clients without credentials become.
	NoAuthUser string `json:"no_auth_user,omitempty"`
	// JetStreamLimits are the server's JetStream limits (needs JetStream).
	JetStreamLimits *JetStreamLimits `json:"jetstream_limits,omitempty"`
	// Operator turns on operator mode: a generated operator signs Accounts (plus the system account "SYS" with
	// user "sys") and their users into JWTs served by the memory resolver; each user gets a creds file (Creds).
	Operator bool `json:"operator,omitempty"`
	// Monitoring opens the HTTP monitoring listener; nil means the default, on. Use Bool(false) to turn it off.
	Monitoring *bool `json:"monitoring,omitempty"`
	// Websocket opens a plain-text websocket listener.
	Websocket bool `json:"websocket,omitempty"`
	// Cluster opens a cluster (route) listener: the building block of custom topologies (RunCluster makes
	// whole clusters).
	Cluster *ClusterListener `json:"cluster,omitempty"`
	// Gateway opens a gateway listener with gateways to other clusters (RunSupercluster makes whole
	// superclusters).
	Gateway *GatewayListener `json:"gateway,omitempty"`
	// LeafNodes opens a leaf node listener on a dynamic port: the server is a hub (see Server.LeafNodeURL).
	LeafNodes bool `json:"leafnodes,omitempty"`
	// LeafRemotes are leaf node connections to hubs: the server is a leaf, ready once every remote is connected.
	LeafRemotes []LeafRemote `json:"leaf_remotes,omitempty"`
	// JetStreamDomain is the JetStream domain (needs JetStream), e.g. of a leaf the hub reaches as
	// $JS.<domain>.API.
	JetStreamDomain string `json:"jetstream_domain,omitempty"`
	// MQTT opens an MQTT listener on a dynamic port (needs JetStream; a server name is chosen when none is given).
	MQTT bool `json:"mqtt,omitempty"`
	// TLS turns TLS on with generated certificates (or your own files); see TLSOptions. &TLSOptions{} is the
	// default: generated CA and server certificate, TLS on the client listener.
	TLS *TLSOptions `json:"tls,omitempty"`
	// Debug (-D) and Trace (-V) turn on debug logging and protocol tracing.
	Debug bool `json:"debug,omitempty"`
	Trace bool `json:"trace,omitempty"`
	// Args are extra command-line arguments, passed last. Arguments that would take over what the harness sets
	// (-c, -p, -l, --ports_file_dir, ...) are refused with ErrInvalidOptions, naming the option to use.
	Args []string `json:"args,omitempty"`
	// WaitForRoutes makes a server with a cluster listener return only once its routes to every configured,
	// running peer are up (as /routez shows) and those peers advertise it to their clients.
	WaitForRoutes bool `json:"wait_for_routes,omitempty"`
	// StartupTimeoutMS is how long to wait for the server to be ready, in milliseconds; 0 means 10 000.
	StartupTimeoutMS uint64 `json:"startup_timeout_ms,omitempty"`
	// Keep is what to keep of the server's directory when it is closed.
	Keep Keep `json:"keep,omitempty"`
	// ClientProxy puts a fault proxy in front of the client port (Server.ProxiedURL, Server.AddFault).
	ClientProxy bool `json:"client_proxy,omitempty"`
	// LeafNodeProxy puts a fault proxy in front of a hub's leaf node listener and advertises it to its leaves
	// (Server.ProxiedLeafNodeURL, Server.AddLeafNodeFault); needs LeafNodes.
	LeafNodeProxy bool `json:"leafnode_proxy,omitempty"`
	// Extra holds more top-level fields, written over the ones above: options that a newer library knows and
	// this struct does not yet. An unknown name fails with ErrInvalidOptions, naming it.
	Extra map[string]any `json:"-"`
}

// ClusterListener is a cluster (route) listener for one server.
type ClusterListener struct {
	// Name is the cluster name; servers only join peers with the same name. Required.
	Name string `json:"name,omitempty"`
	// Port is a fixed cluster port; 0 picks a free one, kept across restarts.
	Port int `json:"port,omitempty"`
	// Routes are URLs of peers to join, e.g. "nats://127.0.0.1:6222".
	Routes []string `json:"routes,omitempty"`
}

// GatewayListener is a gateway listener for one server.
type GatewayListener struct {
	// Name is the gateway name: the name of the server's cluster. Required.
	Name string `json:"name,omitempty"`
	// Port is a fixed gateway port; 0 picks a free one, kept across restarts.
	Port int `json:"port,omitempty"`
	// Gateways are the other clusters to connect to.
	Gateways []RemoteGateway `json:"gateways,omitempty"`
	// Advertise is the host:port given to other gateways to reach this server; "" means the listener's.
	Advertise string `json:"advertise,omitempty"`
}

// RemoteGateway is another cluster a gateway connects to.
type RemoteGateway struct {
	Name string   `json:"name"`
	URLs []string `json:"urls"`
}

// LeafRemote is a leaf node connection to a hub.
type LeafRemote struct {
	// URLs are the hub's leaf node URLs (Server.LeafNodeURL); credentials may be in the URL.
	URLs []string `json:"urls"`
	// Account is the local account the connection is bound to (default: the global account).
	Account string `json:"account,omitempty"`
	// Credentials is a credentials file (JWT and seed) to authenticate to the hub.
	Credentials string `json:"credentials,omitempty"`
}

// SuperclusterOptions configure a supercluster (clusters joined by gateways) formed on dynamic ports: the shared
// JSON schema of the Rust SuperclusterOptions.
type SuperclusterOptions struct {
	// Clusters is the number of clusters; 0 means 2.
	Clusters int `json:"clusters,omitempty"`
	// Nodes is the number of nodes per cluster; 0 means 3.
	Nodes int `json:"nodes,omitempty"`
	// Names gives one name per cluster (its gateway name, e.g. for JetStream placement); none: random names, so
	// parallel superclusters never join each other.
	Names []string `json:"names,omitempty"`
	// Server holds the options every node starts from. Leave Port, Cluster, Gateway and StoreDir unset.
	Server Options `json:"server"`
	// Versions gives one release per cluster, for mixed-version superclusters ("": the template's).
	Versions []string `json:"versions,omitempty"`
	// ReadyTimeoutMS is how long to wait for readiness (meshes, gateways, JetStream leader), in milliseconds;
	// 0 means 30 000.
	ReadyTimeoutMS uint64 `json:"ready_timeout_ms,omitempty"`
	// GatewayProxies routes every gateway connection through its own fault proxy (Partition, Heal,
	// AddGatewayFault).
	GatewayProxies bool `json:"gateway_proxies,omitempty"`
	// Extra holds more top-level fields, written over the ones above (see Options.Extra).
	Extra map[string]any `json:"-"`
}

// MarshalJSON writes the options as the shared schema's JSON document, with Extra merged in.
func (o SuperclusterOptions) MarshalJSON() ([]byte, error) {
	type plain SuperclusterOptions
	return withExtra(plain(o), o.Extra)
}

// JSON returns the options as the JSON document the C library receives (for logs, or for
// RunSuperclusterJSON).
func (o SuperclusterOptions) JSON() (string, error) {
	doc, err := json.Marshal(o)
	if err != nil {
		return "", &Error{Status: StatusInvalidOptions, Message: "natsserver: encoding the supercluster options as JSON: " + err.Error()}
	}
	return string(doc), nil
}

// ClusterOptions configure a cluster formed on dynamic ports: the shared JSON schema of the Rust ClusterOptions.
type ClusterOptions struct {
	// Nodes is the number of nodes; 0 means 3.
	Nodes int `json:"nodes,omitempty"`
	// Name is the cluster name; default a random one, so parallel clusters never join each other.
	Name string `json:"name,omitempty"`
	// Server holds the options every node starts from (JetStream, config, auth, binary, ...). Leave Port,
	// Cluster and StoreDir unset: the cluster chooses them per node.
	Server Options `json:"server"`
	// NodeConfigFiles gives one config file per node (none: Server.ConfigFile for all).
	NodeConfigFiles []string `json:"node_config_files,omitempty"`
	// NodeNames gives one server name per node (none: node1, node2, ...).
	NodeNames []string `json:"node_names,omitempty"`
	// NodeStoreDirs gives one JetStream store directory per node (owned by the caller, never removed).
	NodeStoreDirs []string `json:"node_store_dirs,omitempty"`
	// NodeVersions gives one release per node, for mixed-version clusters ("": the template's).
	NodeVersions []string `json:"node_versions,omitempty"`
	// NodeBinaries gives one binary per node (wins over NodeVersions for that node).
	NodeBinaries []string `json:"node_binaries,omitempty"`
	// ReadyTimeoutMS is how long to wait for the cluster to be ready (mesh formed, JetStream meta leader agreed),
	// in milliseconds; 0 means 30 000.
	ReadyTimeoutMS uint64 `json:"ready_timeout_ms,omitempty"`
	// RouteProxies routes every node-to-node connection through its own fault proxy (Cluster.Partition,
	// Cluster.Heal, Cluster.AddRouteFault).
	RouteProxies bool `json:"route_proxies,omitempty"`
	// Extra holds more top-level fields, written over the ones above (see Options.Extra).
	Extra map[string]any `json:"-"`
}

// Bool returns a pointer to b, for Options.Monitoring.
func Bool(b bool) *bool { return &b }

// MarshalJSON writes the options as the shared schema's JSON document, with Extra merged in.
func (o Options) MarshalJSON() ([]byte, error) {
	type plain Options
	return withExtra(plain(o), o.Extra)
}

// MarshalJSON writes the options as the shared schema's JSON document, with Extra merged in.
func (o ClusterOptions) MarshalJSON() ([]byte, error) {
	type plain ClusterOptions
	return withExtra(plain(o), o.Extra)
}

func withExtra(v any, extra map[string]any) ([]byte, error) {
	doc, err := json.Marshal(v)
	if err != nil || len(extra) == 0 {
		return doc, err
	}
	fields := map[string]json.RawMessage{}
	if err := json.Unmarshal(doc, &fields); err != nil {
		return nil, err
	}
	for k, v := range extra {
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("extra option %q: %w", k, err)
		}
		fields[k] = raw
	}
	return json.Marshal(fields)
}

// JSON returns the options as the JSON document the C library receives (for logs, or for RunJSON).
func (o Options) JSON() (string, error) {
	doc, err := json.Marshal(o)
	if err != nil {
		return "", &Error{Status: StatusInvalidOptions, Message: "natsserver: encoding the options as JSON: " + err.Error()}
	}
	return string(doc), nil
}

// JSON returns the options as the JSON document the C library receives (for logs, or for RunClusterJSON).
func (o ClusterOptions) JSON() (string, error) {
	doc, err := json.Marshal(o)
	if err != nil {
		return "", &Error{Status: StatusInvalidOptions, Message: "natsserver: encoding the cluster options as JSON: " + err.Error()}
	}
	return string(doc), nil
}
