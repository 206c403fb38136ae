//go:build cgo

package natsserver

// #include <stdlib.h>
// #include "nats_server.h"
import "C"

import "encoding/json"

// userQuery runs a C query about one user that answers text.
func (s *Server) userQuery(op, user string, f func(h *C.nats_server_t, user *C.char, out, msg **C.char) C.nats_server_status) (string, error) {
	cu, err := cString(user, "user")
	if err != nil {
		return "", err
	}
	defer freeC(cu)
	return s.str(op, func(h *C.nats_server_t, o, e **C.char) C.nats_server_status { return f(h, cu, o, e) })
}

// Creds is the creds file (user JWT and seed, mode 0600) of user in account, in operator mode (Options.Operator);
// the system account is "SYS" with user "sys". For nats.go: nats.UserCredentials(path). An unknown account or
// user is ErrInvalidArgument, naming it.
func (s *Server) Creds(account, user string) (string, error) {
	ca, err := cString(account, "account")
	if err != nil {
		return "", err
	}
	defer freeC(ca)
	return s.userQuery("Creds", user, func(h *C.nats_server_t, u *C.char, o, e **C.char) C.nats_server_status {
		return C.nats_server_creds(h, ca, u, o, e)
	})
}

// NKeySeed is the seed ("SU...") of an nkey user (User.NKey, or any user in operator mode): a secret.
func (s *Server) NKeySeed(user string) (string, error) {
	return s.userQuery("NKeySeed", user, func(h *C.nats_server_t, u *C.char, o, e **C.char) C.nats_server_status {
		return C.nats_server_nkey_seed(h, u, o, e)
	})
}

// NKeyPublicKey is the public key ("U...") of an nkey user.
func (s *Server) NKeyPublicKey(user string) (string, error) {
	return s.userQuery("NKeyPublicKey", user, func(h *C.nats_server_t, u *C.char, o, e **C.char) C.nats_server_status {
		return C.nats_server_nkey_public_key(h, u, o, e)
	})
}

// SeedFile is a file (mode 0600) holding an nkey user's seed. For nats.go: nats.NkeyOptionFromSeed(path).
func (s *Server) SeedFile(user string) (string, error) {
	return s.userQuery("SeedFile", user, func(h *C.nats_server_t, u *C.char, o, e **C.char) C.nats_server_status {
		return C.nats_server_seed_file(h, u, o, e)
	})
}

// AuthInfo describes the generated authentication material, without secrets.
type AuthInfo struct {
	// Operator is the operator's public key in operator mode, else empty.
	Operator string `json:"operator"`
	// Accounts are the account names (with "SYS" in operator mode).
	Accounts []string `json:"accounts"`
	// Users maps each user name to its account, public key and files.
	Users map[string]struct {
		Account   string `json:"account"`
		PublicKey string `json:"public_key"`
		SeedFile  string `json:"seed_file"`
		Creds     string `json:"creds"`
	} `json:"users"`
}

// Auth describes the generated authentication material (accounts, users, their public keys and files).
func (s *Server) Auth() (AuthInfo, error) {
	var info AuthInfo
	text, err := s.str("Auth", func(h *C.nats_server_t, o, e **C.char) C.nats_server_status {
		return C.nats_server_auth_json(h, o, e)
	})
	if err != nil {
		return info, err
	}
	return info, json.Unmarshal([]byte(text), &info)
}
