//go:build cgo

package natsserver

// #include <stdlib.h>
// #include "nats_server.h"
import "C"

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Installed is a release in the cache.
type Installed struct {
	Version string `json:"version"`
	Binary  string `json:"binary"`
}

// Releases lists the cache's releases and the ones the sources offer (see Versions).
type Releases struct {
	Cache     string      `json:"cache"`
	Installed []Installed `json:"installed"`
	Available []string    `json:"available"`
}

// Install resolves a release ("2.14", "2.14.6", "latest") to a nats-server binary in the per-user cache
// ($NATS_SERVER_CACHE, else $XDG_CACHE_HOME or ~/.cache), installing it when missing; safe from several
// processes at once. ErrInstall names the version, the sources tried and what each answered.
func Install(version string) (string, error) {
	v, err := cString(version, "version")
	if err != nil {
		return "", err
	}
	defer freeC(v)
	var out, msg *C.char
	if err := check(C.nats_server_install(v, &out, &msg), msg); err != nil {
		return "", err
	}
	return takeString(out), nil
}

// Versions lists the releases in the cache and, unless installedOnly, the ones the sources offer.
func Versions(installedOnly bool) (Releases, error) {
	var out, msg *C.char
	var r Releases
	if err := check(C.nats_server_versions(C.bool(installedOnly), &out, &msg), msg); err != nil {
		return r, err
	}
	text := takeString(out)
	if err := json.Unmarshal([]byte(text), &r); err != nil {
		return r, &Error{Status: StatusInternal, Message: fmt.Sprintf("natsserver: the versions document is not JSON: %v: %s", err, text)}
	}
	return r, nil
}

// Upgrade stops the server and starts it again on release version (installed first when missing), on the same
// ports with the same store. A failed install (ErrInstall) leaves the server as it was.
func (s *Server) Upgrade(version string) error {
	v, err := cString(version, "version")
	if err != nil {
		return err
	}
	defer freeC(v)
	return s.call("Upgrade", func(h *C.nats_server_t, e **C.char) C.nats_server_status {
		return C.nats_server_upgrade(h, v, e)
	})
}

// UpgradeNode restarts node i on release version (installed first when missing), same ports and store, and
// waits until the cluster is ready again.
func (c *Cluster) UpgradeNode(i int, version string) error {
	v, err := cString(version, "version")
	if err != nil {
		return err
	}
	defer freeC(v)
	return c.call("UpgradeNode", func(h *C.nats_cluster_t, e **C.char) C.nats_server_status {
		return C.nats_cluster_upgrade_node(h, index(i), v, e)
	})
}

// RollingUpgrade upgrades every node in turn to release version; the release is installed before any node stops.
func (c *Cluster) RollingUpgrade(version string) error {
	v, err := cString(version, "version")
	if err != nil {
		return err
	}
	defer freeC(v)
	return c.call("RollingUpgrade", func(h *C.nats_cluster_t, e **C.char) C.nats_server_status {
		return C.nats_cluster_rolling_upgrade(h, v, e)
	})
}

var versionPattern = regexp.MustCompile(`(\d+)\.(\d+)(?:\.(\d+))?`)

// parseVersion reads "2.11", "2.11.3" or "nats-server: v2.11.3" as [major, minor, patch].
func parseVersion(text string) ([3]int, bool) {
	var v [3]int
	m := versionPattern.FindStringSubmatch(text)
	if m == nil {
		return v, false
	}
	for i := range v {
		v[i], _ = strconv.Atoi(m[i+1])
	}
	return v, true
}

// AtLeast reports whether version (e.g. a Server's Version()) is at least min ("2.11", "2.11.3").
func AtLeast(version, min string) bool {
	have, ok1 := parseVersion(version)
	want, ok2 := parseVersion(min)
	if !ok1 || !ok2 {
		return false
	}
	for i := range have {
		if have[i] != want[i] {
			return have[i] > want[i]
		}
	}
	return true
}

// Versioned is anything that reports the nats-server version it runs: a *Server, a cluster's or a supercluster's
// node.
type Versioned interface {
	Version() (string, error)
}

// Requires skips the test (t.Skipf, saying why) unless s runs nats-server min ("2.11") or newer.
func Requires(t testing.TB, s Versioned, min string) {
	t.Helper()
	v, err := s.Version()
	if err != nil {
		t.Fatalf("natsserver.Requires: %v", err)
		return
	}
	if !AtLeast(v, min) {
		t.Skipf("needs nats-server >= %s; this is %s", min, v)
	}
}

// VersionsEnv names the releases ForEachVersion runs a test against, comma-separated ("2.14,2.15").
const VersionsEnv = "NATS_SERVER_VERSIONS"

// ForEachVersion runs fn once per release listed in $NATS_SERVER_VERSIONS, each as a subtest named after the
// release; pass version on as Options.Version (installed into the per-user cache when missing). With none listed
// it runs fn once, directly, with version "" (the default binary).
func ForEachVersion(t *testing.T, fn func(t *testing.T, version string)) {
	t.Helper()
	var versions []string
	for _, v := range strings.Split(os.Getenv(VersionsEnv), ",") {
		if v = strings.TrimSpace(v); v != "" {
			versions = append(versions, v)
		}
	}
	if len(versions) == 0 {
		fn(t, "")
		return
	}
	for _, v := range versions {
		t.Run(v, func(t *testing.T) { fn(t, v) })
	}
}
