package natsserver

import "encoding/json"

// User is a user with a password, or identified by a generated nkey (NKey: true; then NKeySeed, SeedFile and
// NKeyPublicKey give its key). In operator mode every user is an nkey user with a creds file: give only User
// (and Permissions).
type User struct {
	User        string       `json:"user"`
	Password    string       `json:"password,omitempty"`
	NKey        bool         `json:"nkey,omitempty"`
	Permissions *Permissions `json:"permissions,omitempty"`
}

// Permissions say what a user may publish and subscribe to.
type Permissions struct {
	Publish   Rule `json:"publish"`
	Subscribe Rule `json:"subscribe"`
}

// Rule lists allowed and denied subjects (wildcards allowed); an empty Allow allows everything not denied.
type Rule struct {
	Allow []string `json:"allow,omitempty"`
	Deny  []string `json:"deny,omitempty"`
}

// Account is a named account: its users, JetStream, exports and imports.
type Account struct {
	Users []User
	// JetStream enables JetStream for the account without limits; JetStreamLimits enables it with limits.
	JetStream       bool
	JetStreamLimits *AccountLimits
	Exports         []Export
	Imports         []Import
}

// MarshalJSON writes the shared schema: "jetstream" is false, true, or the limits.
func (a Account) MarshalJSON() ([]byte, error) {
	doc := map[string]any{}
	if len(a.Users) > 0 {
		doc["users"] = a.Users
	}
	switch {
	case a.JetStreamLimits != nil:
		doc["jetstream"] = a.JetStreamLimits
	case a.JetStream:
		doc["jetstream"] = true
	}
	if len(a.Exports) > 0 {
		doc["exports"] = a.Exports
	}
	if len(a.Imports) > 0 {
		doc["imports"] = a.Imports
	}
	return json.Marshal(doc)
}

// AccountLimits are one account's JetStream limits (bytes and counts); nil fields are unlimited.
type AccountLimits struct {
	MaxMemory    *int64 `json:"max_memory,omitempty"`
	MaxFile      *int64 `json:"max_file,omitempty"`
	MaxStreams   *int64 `json:"max_streams,omitempty"`
	MaxConsumers *int64 `json:"max_consumers,omitempty"`
}

// JetStreamLimits are the server's JetStream limits in bytes; nil fields keep the server's defaults.
type JetStreamLimits struct {
	MaxMemory *int64 `json:"max_memory,omitempty"`
	MaxFile   *int64 `json:"max_file,omitempty"`
}

// Export offers a Stream (messages) or a Service (request/reply) subject to other accounts.
type Export struct {
	Stream  string `json:"stream,omitempty"`
	Service string `json:"service,omitempty"`
}

// Import takes a Stream or Service subject exported by Account, under the subject To (default: the same).
type Import struct {
	Stream  string `json:"stream,omitempty"`
	Service string `json:"service,omitempty"`
	Account string `json:"account"`
	To      string `json:"to,omitempty"`
}

// Int64 returns a pointer to v, for the limits.
func Int64(v int64) *int64 { return &v }
