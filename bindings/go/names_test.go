package natsserver_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	natsserver "github.com/nats-server-harness/nats-server/bindings/go"
)

// headerPath is the C header the package is built against, in the repository.
const headerPath = "../../include/nats_server.h"

func readHeader(t *testing.T) string {
	t.Helper()
	text, err := os.ReadFile(headerPath)
	if err != nil {
		t.Skipf("the header is not here (%v): the tests run outside the repository", err)
	}
	return string(text)
}

// headerFunctions are the names of every function the header declares.
func headerFunctions(t *testing.T) []string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^[A-Za-z_][\w \*]*?\b((?:nats_server|nats_cluster)_\w+)\(`)
	var names []string
	for _, m := range re.FindAllStringSubmatch(readHeader(t), -1) {
		if strings.HasPrefix(m[0], "static inline ") {
			continue // a helper defined in the header (nats_server_abi_compatible), not a function of the library
		}
		names = append(names, m[1])
	}
	sort.Strings(names)
	return names
}

// cCalls are the C functions the package's own (non-test) sources use through cgo, as C.<name>.
func cCalls(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "C" {
					used[sel.Sel.Name] = true
				}
			}
			return true
		})
	}
	return used
}

// Every function of the C ABI is reachable from Go: the package calls each one.
func TestEveryHeaderFunctionIsCalled(t *testing.T) {
	functions := headerFunctions(t)
	if len(functions) < 60 {
		t.Fatalf("only %d functions found in %s: is the pattern stale? %v", len(functions), headerPath, functions)
	}
	used := cCalls(t)
	// The options builder serves C callers; Go sends its options as one JSON document (Options.JSON).
	cOnly := map[string]bool{
		"nats_server_options_new": true, "nats_cluster_options_new": true, "nats_server_options_free": true,
		"nats_server_options_set_string": true, "nats_server_options_set_bool": true,
		"nats_server_options_set_int": true, "nats_server_options_append_string": true,
		"nats_server_options_add_arg": true, "nats_server_options_to_json": true,
	}
	for _, name := range functions {
		if !used[name] && !cOnly[name] {
			t.Errorf("%s is declared in the header but no Go code calls C.%s", name, name)
		}
	}
	for name := range used {
		if (strings.HasPrefix(name, "nats_server_") || strings.HasPrefix(name, "nats_cluster_")) &&
			!strings.HasPrefix(name, "nats_server_t") && !strings.HasPrefix(name, "nats_cluster_t") &&
			!strings.HasPrefix(name, "nats_server_status") && sort.SearchStrings(functions, name) == len(functions) {
			t.Errorf("Go calls C.%s, which the header does not declare", name)
		}
	}
}

// The Status constants carry the header's numbers, and every status of the header has one.
func TestStatusConstantsMatchTheHeader(t *testing.T) {
	goStatus := map[string]natsserver.Status{
		"OK":               natsserver.StatusOK,
		"BINARY_NOT_FOUND": natsserver.StatusBinaryNotFound,
		"INVALID_OPTIONS":  natsserver.StatusInvalidOptions,
		"CONFIG":           natsserver.StatusConfig,
		"PORT_IN_USE":      natsserver.StatusPortInUse,
		"STARTUP_TIMEOUT":  natsserver.StatusStartupTimeout,
		"SERVER_EXITED":    natsserver.StatusServerExited,
		"NOT_RUNNING":      natsserver.StatusNotRunning,
		"IO":               natsserver.StatusIO,
		"MONITORING":       natsserver.StatusMonitoring,
		"TIMEOUT":          natsserver.StatusTimeout,
		"INTERNAL":         natsserver.StatusInternal,
		"INSTALL":          natsserver.StatusInstall,
		"NULL_ARGUMENT":    natsserver.StatusNullArgument,
		"INVALID_UTF8":     natsserver.StatusInvalidUTF8,
		"INVALID_HANDLE":   natsserver.StatusInvalidHandle,
		"BORROWED_HANDLE":  natsserver.StatusBorrowedHandle,
		"UNAVAILABLE":      natsserver.StatusUnavailable,
		"INVALID_ARGUMENT": natsserver.StatusInvalidArgument,
	}
	re := regexp.MustCompile(`(?m)^\s*NATS_SERVER_(\w+) = (\d+),?$`)
	seen := 0
	for _, m := range re.FindAllStringSubmatch(readHeader(t), -1) {
		if strings.HasPrefix(m[1], "KEEP_") {
			continue
		}
		seen++
		number, _ := strconv.Atoi(m[2])
		status, ok := goStatus[m[1]]
		if !ok {
			t.Errorf("the header's NATS_SERVER_%s = %d has no Status constant", m[1], number)
			continue
		}
		if int(status) != number {
			t.Errorf("Status for NATS_SERVER_%s is %d, the header says %d", m[1], int(status), number)
		}
		if status.String() != "NATS_SERVER_"+m[1] {
			t.Errorf("Status(%d).String() = %s, want NATS_SERVER_%s", number, status, m[1])
		}
	}
	if seen != len(goStatus) {
		t.Errorf("the header has %d statuses, Go %d", seen, len(goStatus))
	}
}

// goDeclarations are the package's exported functions ("Run") and methods ("Server.Start"), from its sources.
func goDeclarations(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || !fn.Name.IsExported() {
				continue
			}
			if fn.Recv == nil {
				declared[fn.Name.Name] = true
				continue
			}
			recv := fn.Recv.List[0].Type
			if star, ok := recv.(*ast.StarExpr); ok {
				recv = star.X
			}
			if ident, ok := recv.(*ast.Ident); ok {
				declared[ident.Name+"."+fn.Name.Name] = true
			}
		}
	}
	return declared
}

// The Go column of the README's names table names this package's API.
func TestReadmeNamesTableGoColumn(t *testing.T) {
	text, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Skipf("the README is not here (%v)", err)
	}
	readme := string(text)
	start := strings.Index(readme, "## Names across the surfaces")
	if start < 0 {
		t.Fatal(`README has no section "Names across the surfaces"`)
	}
	var rows [][]string
	for _, line := range strings.Split(readme[start:], "\n")[1:] {
		if !strings.HasPrefix(line, "|") {
			if len(rows) > 0 {
				break
			}
			continue
		}
		rows = append(rows, strings.Split(strings.Trim(line, "|"), "|"))
	}
	if len(rows) < 60 || strings.TrimSpace(rows[0][5]) != "Go" {
		t.Fatalf("the table has %d rows and header %v", len(rows), rows[0])
	}
	declared := goDeclarations(t)
	ident := regexp.MustCompile("`([^`]+)`")
	for _, row := range rows[2:] {
		for _, m := range ident.FindAllStringSubmatch(row[5], -1) {
			name := strings.TrimPrefix(m[1], "natsserver.")
			if !declared[name] {
				t.Errorf("README row %q names Go %s, which the package does not declare", strings.TrimSpace(row[0]), m[1])
			}
		}
	}
}
