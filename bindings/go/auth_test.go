package natsserver_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	natsserver "github.com/nats-server-harness/nats-server/bindings/go"
)

func TestNKeyUserConnects(t *testing.T) {
	t.Parallel()
	s := natsserver.RunT(t, natsserver.Options{Users: []natsserver.User{{User: "alice", NKey: true}}})
	seedFile, err := s.SeedFile("alice")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(seedFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("seed file %s: %v, %v", seedFile, st, err)
	}
	opt, err := nats.NkeyOptionFromSeed(seedFile)
	if err != nil {
		t.Fatal(err)
	}
	nc := connect(t, s.ClientURL(), opt)
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if seed, err := s.NKeySeed("alice"); err != nil || !strings.HasPrefix(seed, "SU") {
		t.Fatalf("seed: %v", err)
	}
	if _, err := nats.Connect(s.ClientURL()); err == nil {
		t.Fatal("a client without the key connected")
	}
}

func TestOperatorCredsUserHasItsOwnStream(t *testing.T) {
	t.Parallel()
	s := natsserver.RunT(t, natsserver.Options{JetStream: true, Operator: true, Accounts: map[string]natsserver.Account{
		"A": {JetStream: true, Users: []natsserver.User{{User: "a"}}},
		"B": {JetStreamLimits: &natsserver.AccountLimits{MaxMemory: natsserver.Int64(1 << 20)}, Users: []natsserver.User{{User: "b"}}},
	}})
	credsA, err := s.Creds("A", "a")
	if err != nil {
		t.Fatal(err)
	}
	ctx := timeout(t, 10*time.Second)
	jsA, err := jetstream.New(connect(t, s.ClientURL(), nats.UserCredentials(credsA)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jsA.CreateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}}); err != nil {
		t.Fatal(err)
	}
	if ack, err := jsA.Publish(ctx, "orders.1", []byte("one")); err != nil || ack.Stream != "ORDERS" {
		t.Fatalf("publish: %v, %v", ack, err)
	}
	credsB, err := s.Creds("B", "b")
	if err != nil {
		t.Fatal(err)
	}
	jsB, err := jetstream.New(connect(t, s.ClientURL(), nats.UserCredentials(credsB)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jsB.Stream(ctx, "ORDERS"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("account B sees A's stream: %v", err)
	}
	auth, err := s.Auth()
	if err != nil || !strings.HasPrefix(auth.Operator, "O") || auth.Users["a"].Account != "A" {
		t.Fatalf("auth %+v, %v", auth, err)
	}
}

func TestPublishingWhereDeniedIsAPermissionsViolation(t *testing.T) {
	t.Parallel()
	s := natsserver.RunT(t, natsserver.Options{Users: []natsserver.User{{User: "u", Password: "p",
		Permissions: &natsserver.Permissions{Publish: natsserver.Rule{Deny: []string{"secret.>"}}}}}})
	errs := make(chan error, 4)
	nc := connect(t, s.ClientURL(), nats.UserInfo("u", "p"),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err }))
	if err := nc.Publish("secret.x", []byte("no")); err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	select {
	case err := <-errs:
		if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), "secret.x") {
			t.Fatalf("error %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no permissions violation within 5 s")
	}
}

func TestNoAuthUserAndAnImport(t *testing.T) {
	t.Parallel()
	s := natsserver.RunT(t, natsserver.Options{NoAuthUser: "guest", Accounts: map[string]natsserver.Account{
		"A": {Users: []natsserver.User{{User: "guest", Password: "g"}}, Exports: []natsserver.Export{{Stream: "events.>"}}},
		"B": {Users: []natsserver.User{{User: "b", Password: "p"}},
			Imports: []natsserver.Import{{Stream: "events.>", Account: "A", To: "a.events.>"}}},
	}})
	b := connect(t, s.ClientURL(), nats.UserInfo("b", "p"))
	sub, err := b.SubscribeSync("a.events.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	anonymous := connect(t, s.ClientURL()) // becomes "guest" of A
	if err := anonymous.Publish("events.1", []byte("e1")); err != nil {
		t.Fatal(err)
	}
	msg, err := sub.NextMsg(5 * time.Second)
	if err != nil || msg.Subject != "a.events.1" {
		t.Fatalf("message %v, %v", msg, err)
	}
}

func TestBadAuthNames(t *testing.T) {
	t.Parallel()
	_, err := natsserver.Run(natsserver.Options{Accounts: map[string]natsserver.Account{
		"B": {Imports: []natsserver.Import{{Stream: "s", Account: "MISSING"}}},
	}})
	wantErr(t, err, natsserver.ErrInvalidOptions, "accounts.B.imports[0].account", "MISSING")
	s := natsserver.RunT(t, natsserver.Options{Operator: true, Accounts: map[string]natsserver.Account{
		"A": {Users: []natsserver.User{{User: "a"}}},
	}})
	_, err = s.Creds("NOPE", "x")
	wantErr(t, err, natsserver.ErrInvalidArgument, `"NOPE"`)
	_, err = s.Creds("A", "nobody")
	wantErr(t, err, natsserver.ErrInvalidArgument, `"nobody"`)
	_, err = s.SeedFile("nobody")
	wantErr(t, err, natsserver.ErrInvalidArgument, `"nobody"`)
}
