//go:build cgo

package natsserver

// #include <stdlib.h>
// #include "nats_server.h"
import "C"

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// ABIVersion is the C ABI version this package was written for. The linked library (and the header it was
// compiled against) must report the same, or Run and RunCluster fail with ErrABIMismatch.
const ABIVersion = 2

var (
	abiOnce sync.Once
	abiErr  error
)

// checkABI compares the linked library's ABI version with ours, once.
func checkABI() error {
	abiOnce.Do(func() {
		lib := uint32(C.nats_server_abi_version())
		header := uint32(C.NATS_SERVER_ABI_VERSION)
		if lib != ABIVersion || header != ABIVersion {
			abiErr = &Error{Status: statusABIMismatch, Message: fmt.Sprintf(
				"natsserver: the linked libnats_server (version %s, link mode %q) speaks C ABI version %d and its "+
					"header version %d, but this Go package needs version %d: rebuild the library "+
					"(`cargo build --lib` at the repository root) or use the Go module of the same release",
				LibraryVersion(), LinkMode, lib, header, ABIVersion)}
		}
	})
	return abiErr
}

// LibraryVersion is the version of the linked C library, e.g. "0.2.0" (not nats-server's: see Server.Version).
func LibraryVersion() string { return C.GoString(C.nats_server_library_version()) }

// LibraryABIVersion is the C ABI version of the linked library (compare ABIVersion).
func LibraryABIVersion() int { return int(C.nats_server_abi_version()) }

func statusName(s Status) string {
	if s < math.MinInt32 || s > math.MaxInt32 {
		return "NATS_SERVER_UNKNOWN_STATUS"
	}
	return C.GoString(C.nats_server_status_name(C.int(s)))
}

// check turns a status and its message into nil or an *Error, freeing the message.
func check(status C.nats_server_status, msg *C.char) error {
	text := takeString(msg)
	if status == C.NATS_SERVER_OK {
		return nil
	}
	return &Error{Status: Status(status), Message: text}
}

// takeString copies a string the library returned and frees it. NULL is "".
func takeString(p *C.char) string {
	if p == nil {
		return ""
	}
	s := C.GoString(p)
	C.nats_server_string_free(p)
	return s
}

// cString copies s into C memory (free it with C.free). A C string cannot hold a NUL byte: that is
// ErrInvalidArgument rather than a silent truncation.
func cString(s, what string) (*C.char, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, &Error{Status: StatusInvalidArgument, Message: fmt.Sprintf("natsserver: invalid argument: %s contains a NUL byte", what)}
	}
	return C.CString(s), nil
}

func freeC(p *C.char) { C.free(unsafe.Pointer(p)) }

// millis converts a timeout to whole milliseconds, rounding up (so 1 ns waits 1 ms, never "no wait at all").
func millis(d time.Duration) C.uint64_t {
	if d <= 0 {
		return 0
	}
	if d > math.MaxInt64-time.Millisecond {
		return C.uint64_t(math.MaxInt64 / int64(time.Millisecond))
	}
	return C.uint64_t((d + time.Millisecond - 1) / time.Millisecond)
}

// keepCode parses a Keep with the library's one parser (nats_server_keep_parse: every spelling
// $NATS_SERVER_KEEP accepts, such as "on_failure" or "1"); anything else is ErrInvalidArgument with its message.
func keepCode(k Keep) (C.int32_t, error) {
	text := C.CString(string(k))
	defer C.free(unsafe.Pointer(text))
	var code C.int32_t
	var msg *C.char
	err := check(C.nats_server_keep_parse(text, &code, &msg), msg)
	return code, err
}

// index converts a node index; a negative one becomes a number the library rejects as out of range.
func index(i int) C.size_t {
	if i < 0 {
		return C.size_t(math.MaxUint32)
	}
	return C.size_t(i)
}

// guard protects a handle against being freed while a call runs: calls hold it shared, Close exclusively.
// A cluster and its node views share one guard.
type guard struct {
	mu     sync.RWMutex
	closed bool
}
