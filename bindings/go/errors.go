package natsserver

import (
	"errors"
	"fmt"
)

// Status is a status code of the C library (nats_server_status in nats_server.h). The numbers are fixed and never
// reused; a number this package does not know is still a failure, matched by no sentinel.
type Status int

// The status codes of nats_server.h.
const (
	StatusOK              Status = 0
	StatusBinaryNotFound  Status = 1
	StatusInvalidOptions  Status = 2
	StatusConfig          Status = 3
	StatusPortInUse       Status = 4
	StatusStartupTimeout  Status = 5
	StatusServerExited    Status = 6
	StatusNotRunning      Status = 7
	StatusIO              Status = 8
	StatusMonitoring      Status = 9
	StatusTimeout         Status = 10
	StatusInternal        Status = 11
	StatusInstall         Status = 12
	StatusNullArgument    Status = 100
	StatusInvalidUTF8     Status = 101
	StatusInvalidHandle   Status = 102
	StatusBorrowedHandle  Status = 103
	StatusUnavailable     Status = 104
	StatusInvalidArgument Status = 105
	statusABIMismatch     Status = -1 // Go side only: the linked library speaks another ABI version.
)

// Sentinel errors, one per status code, for errors.Is. Every error this package returns for a failed call is an
// *Error whose Is method matches the sentinel of its Status, and whose message quotes the harness and, when the
// server complained, the server's own words.
var (
	// ErrBinaryNotFound: the nats-server binary was not found or could not be executed.
	ErrBinaryNotFound = errors.New("natsserver: binary not found")
	// ErrInvalidOptions: the options are invalid (unknown field, named in the message; wrong type; impossible
	// value; a node index out of range).
	ErrInvalidOptions = errors.New("natsserver: invalid options")
	// ErrConfig: the server rejected its configuration (missing or malformed config file).
	ErrConfig = errors.New("natsserver: configuration rejected")
	// ErrPortInUse: a listener could not bind because its port is in use.
	ErrPortInUse = errors.New("natsserver: port in use")
	// ErrStartupTimeout: the server did not become ready within the startup timeout.
	ErrStartupTimeout = errors.New("natsserver: startup timeout")
	// ErrServerExited: the server process exited when it should not have.
	ErrServerExited = errors.New("natsserver: server exited")
	// ErrNotRunning: the operation needs a running server, and it is stopped.
	ErrNotRunning = errors.New("natsserver: not running")
	// ErrIO: a file-system or socket operation of the harness failed.
	ErrIO = errors.New("natsserver: i/o error")
	// ErrMonitoring: a monitoring request failed (or monitoring is disabled).
	ErrMonitoring = errors.New("natsserver: monitoring request failed")
	// ErrTimeout: a wait (exit, cluster readiness, leader election) ran out of time.
	ErrTimeout = errors.New("natsserver: timeout")
	// ErrInternal: a bug in the harness (a caught panic). Please report it with the message.
	ErrInternal = errors.New("natsserver: internal error")
	// ErrInstall: a requested nats-server release could not be resolved or installed (no such release, a
	// checksum mismatch, no network); the message names the version, the sources tried and their answers.
	ErrInstall = errors.New("natsserver: install failed")
	// ErrNullArgument: a required pointer was NULL at the C boundary (a bug in this package if it happens).
	ErrNullArgument = errors.New("natsserver: null argument")
	// ErrInvalidUTF8: a string argument is not valid UTF-8.
	ErrInvalidUTF8 = errors.New("natsserver: invalid UTF-8")
	// ErrInvalidHandle: the C handle is not live (a bug in this package if it happens: Close guards it).
	ErrInvalidHandle = errors.New("natsserver: invalid handle")
	// ErrBorrowedHandle: a cluster's node handle was freed (never done by this package).
	ErrBorrowedHandle = errors.New("natsserver: borrowed handle")
	// ErrUnavailable: what was asked for does not exist now: the listener is off (websocket, cluster,
	// monitoring), or the nodes do not agree on a JetStream meta leader.
	ErrUnavailable = errors.New("natsserver: unavailable")
	// ErrInvalidArgument: an argument is out of range (an unknown keep policy, a NUL byte in a string).
	ErrInvalidArgument = errors.New("natsserver: invalid argument")
	// ErrABIMismatch: the linked C library speaks another ABI version than this package; rebuild the library
	// (`cargo build --lib`) or update the Go module so that they match.
	ErrABIMismatch = errors.New("natsserver: C ABI version mismatch")
	// ErrClosed: the Server or Cluster was closed (for a node, its cluster was closed).
	ErrClosed = errors.New("natsserver: use of a closed server or cluster")
)

var sentinels = map[Status]error{
	StatusBinaryNotFound:  ErrBinaryNotFound,
	StatusInvalidOptions:  ErrInvalidOptions,
	StatusConfig:          ErrConfig,
	StatusPortInUse:       ErrPortInUse,
	StatusStartupTimeout:  ErrStartupTimeout,
	StatusServerExited:    ErrServerExited,
	StatusNotRunning:      ErrNotRunning,
	StatusIO:              ErrIO,
	StatusMonitoring:      ErrMonitoring,
	StatusTimeout:         ErrTimeout,
	StatusInternal:        ErrInternal,
	StatusInstall:         ErrInstall,
	StatusNullArgument:    ErrNullArgument,
	StatusInvalidUTF8:     ErrInvalidUTF8,
	StatusInvalidHandle:   ErrInvalidHandle,
	StatusBorrowedHandle:  ErrBorrowedHandle,
	StatusUnavailable:     ErrUnavailable,
	StatusInvalidArgument: ErrInvalidArgument,
	statusABIMismatch:     ErrABIMismatch,
}

// Error is a failed call: the C library's status code and its message, e.g. "nats-server harness: configuration
// rejected: nats-server rejected its configuration: ...". Match it with errors.Is(err, ErrConfig) or read it
// with errors.As.
type Error struct {
	Status  Status
	Message string
}

// Error returns the message (the status name when the library gave none).
func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("natsserver: %s", e.Status)
	}
	return e.Message
}

// Is reports whether target is the sentinel of e's status (ErrConfig for StatusConfig, ...).
func (e *Error) Is(target error) bool {
	s, ok := sentinels[e.Status]
	return ok && s == target
}

// String names the status like the C header does, e.g. "NATS_SERVER_NOT_RUNNING".
func (s Status) String() string {
	if s == statusABIMismatch {
		return "ABI_MISMATCH"
	}
	return statusName(s)
}

// closedError is ErrClosed with the operation that met it.
func closedError(op string) error {
	return fmt.Errorf("natsserver: %s: %w", op, ErrClosed)
}
