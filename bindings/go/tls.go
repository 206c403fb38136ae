//go:build cgo

package natsserver

// #include <stdlib.h>
// #include "nats_server.h"
import "C"

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// TLSOptions configure TLS for a server (the Rust TlsOptions). The zero value is TLS on the client listener with a
// private CA and a server certificate for localhost, 127.0.0.1 and ::1, generated once per process, valid a day.
type TLSOptions struct {
	// Verify requires and verifies client certificates (mTLS): use ClientCertFile/ClientKeyFile or TLSConfig.
	Verify bool `json:"verify,omitempty"`
	// HandshakeFirst makes clients start with the TLS handshake (nats.TLSHandshakeFirst(); nats-server 2.10.4+).
	HandshakeFirst bool `json:"handshake_first,omitempty"`
	// Websocket puts TLS on the websocket listener too (needs Options.Websocket); its URL becomes wss://.
	Websocket bool `json:"websocket,omitempty"`
	// Routes puts TLS on cluster routes too (use it in ClusterOptions.Server); nodes verify each other.
	Routes bool `json:"routes,omitempty"`
	// Gateways puts TLS on the gateways of a supercluster too (use it in SuperclusterOptions.Server); both ends
	// verify each other against the CA.
	Gateways bool `json:"gateways,omitempty"`
	// LeafNodes puts TLS on leaf node links too: a hub's leaf listener (Options.LeafNodes) requires a certificate
	// of the CA, a leaf's remotes (Options.LeafRemotes) verify the hub and present the server certificate. Set it on
	// the hub and on its leaves (they share the process's CA).
	LeafNodes bool `json:"leafnodes,omitempty"`
	// CertFile and KeyFile are your own server certificate and key (PEM) instead of generated ones.
	CertFile string `json:"cert_file,omitempty"`
	KeyFile  string `json:"key_file,omitempty"`
	// CAFile is your own CA (PEM), only with CertFile, to verify clients (Verify) and peers (Routes, Gateways,
	// LeafNodes).
	CAFile string `json:"ca_file,omitempty"`
}

// CAFile is the CA certificate (PEM) that signed the server's certificate: the generated CA (shared by every
// server of the process) or your TLSOptions.CAFile. ErrUnavailable without TLS.
func (s *Server) CAFile() (string, error) {
	return s.str("CAFile", func(h *C.nats_server_t, o, e **C.char) C.nats_server_status {
		return C.nats_server_ca_file(h, o, e)
	})
}

// ClientCertFile is a client certificate (PEM) signed by the generated CA, for TLSOptions.Verify.
// ErrUnavailable without TLS or with your own certificate files.
func (s *Server) ClientCertFile() (string, error) {
	return s.str("ClientCertFile", func(h *C.nats_server_t, o, e **C.char) C.nats_server_status {
		return C.nats_server_client_cert_file(h, o, e)
	})
}

// ClientKeyFile is the private key (PEM, mode 0600) of ClientCertFile.
func (s *Server) ClientKeyFile() (string, error) {
	return s.str("ClientKeyFile", func(h *C.nats_server_t, o, e **C.char) C.nats_server_status {
		return C.nats_server_client_key_file(h, o, e)
	})
}

// TLSConfig is a client *tls.Config that trusts exactly the server's CA and presents the generated client
// certificate when there is one: nats.Connect(s.ClientURL(), nats.Secure(cfg)). Remove cfg.Certificates to
// connect without one. ErrUnavailable without TLS.
func (s *Server) TLSConfig() (*tls.Config, error) {
	caFile, err := s.CAFile()
	if err != nil {
		return nil, err
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("natsserver: reading the CA file: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("natsserver: %s holds no PEM certificate", caFile)
	}
	cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	certFile, certErr := s.ClientCertFile()
	keyFile, keyErr := s.ClientKeyFile()
	if certErr == nil && keyErr == nil {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("natsserver: loading the client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// CAFile is the CA every node's certificate is signed by (the nodes share it). ErrUnavailable without TLS.
func (c *Cluster) CAFile() (string, error) {
	node, err := c.Node(0)
	if err != nil {
		return "", err
	}
	return node.CAFile()
}

// TLSConfig is a client *tls.Config that verifies every node (see Server.TLSConfig).
func (c *Cluster) TLSConfig() (*tls.Config, error) {
	node, err := c.Node(0)
	if err != nil {
		return nil, err
	}
	return node.TLSConfig()
}
