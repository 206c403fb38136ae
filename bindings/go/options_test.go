package natsserver_test

import (
	"encoding/json"
	"testing"

	natsserver "github.com/nats-server-harness/nats-server/bindings/go"
)

// Zero fields are left out so that the library's defaults apply; Extra is merged over the struct's fields.
func TestOptionsJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		opts any
		want string
	}{
		{natsserver.Options{}, `{}`},
		{natsserver.Options{Monitoring: natsserver.Bool(false)}, `{"monitoring":false}`},
		{natsserver.Options{JetStream: true, Port: 4333, Keep: natsserver.KeepAlways, StartupTimeoutMS: 500},
			`{"jetstream":true,"port":4333,"startup_timeout_ms":500,"keep":"always"}`},
		{natsserver.Options{Cluster: &natsserver.ClusterListener{Name: "c", Routes: []string{"nats://127.0.0.1:6222"}}},
			`{"cluster":{"name":"c","routes":["nats://127.0.0.1:6222"]}}`},
		{natsserver.Options{Name: "a", Extra: map[string]any{"name": "b", "debug": true}}, `{"debug":true,"name":"b"}`},
		{natsserver.ClusterOptions{}, `{"server":{}}`},
		{natsserver.ClusterOptions{Nodes: 5, ReadyTimeoutMS: 100, Server: natsserver.Options{JetStream: true},
			Extra: map[string]any{"name": "x"}},
			`{"name":"x","nodes":5,"ready_timeout_ms":100,"server":{"jetstream":true}}`},
	} {
		got, err := json.Marshal(tc.opts)
		if err != nil || string(got) != tc.want {
			t.Errorf("%+v: got %s (%v), want %s", tc.opts, got, err, tc.want)
		}
	}
	doc, err := natsserver.Options{Token: "t"}.JSON()
	if err != nil || doc != `{"token":"t"}` {
		t.Fatalf("JSON() %s, %v", doc, err)
	}
}
