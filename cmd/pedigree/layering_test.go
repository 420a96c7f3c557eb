package main

// The layering tests check that the packages of the
// module depend on each other in one direction only, as
// docs/architecture.md describes.
//
// The rules, from the bottom up:
//
//   - gs1, subjects and ledger import no other Pedigree package;
//     ledger/witness imports only ledger;
//     lifecycle, epcis, gs1/label and gs1/epc import only gs1;
//   - the packages outside services/ (gs1, subjects, lifecycle, ledger,
//     envelope, epcis, client, scanners/...) depend on nothing under
//     services/;
//   - scanners/sdk links neither the NATS server nor grpc-gateway;
//   - only packages under services/ import services/internal/... (the Go
//     toolchain enforces it too), and services/internal/... never depends on
//     services/node or services/nodetest, not even in its tests.
//
// Run them with: go test -run Layering ./cmd/pedigree

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// module is the module path; the rules below name packages relative to it.
const module = "github.com/pedigree-project/pedigree"

// pkg is what the rules need of `go list -json`.
type pkg struct {
	ImportPath   string
	Imports      []string // direct, non-test
	Deps         []string // transitive, non-test
	TestImports  []string
	XTestImports []string
}

// rel returns p relative to the module, or "" when p is not in it.
func rel(p string) string {
	if p == module {
		return "."
	}
	r, ok := strings.CutPrefix(p, module+"/")
	if !ok {
		return ""
	}
	return r
}

// under reports whether the module-relative path p is dir or below it.
func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

// list runs `go list -json` over the module's packages. `go test` puts the
// go command of the toolchain that runs the test first in PATH.
func list(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,Deps,TestImports,XTestImports", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages; run the test from inside the module", len(pkgs))
	}
	return pkgs
}

// violations returns a line for every rule a package breaks.
func violations(pkgs []pkg) []string {
	// leaves maps a leaf package to the Pedigree packages it may depend on.
	leaves := map[string][]string{
		"gs1":            nil,
		"subjects":       nil,
		"ledger":         nil,
		"ledger/witness": {"ledger"},
		"lifecycle":      {"gs1"},
		"epcis":          {"gs1"},
		"gs1/label":      {"gs1"},
		"gs1/epc":        {"gs1"},
	}
	// forbidden maps a package to module-path prefixes of third-party
	// packages it must not link.
	forbidden := map[string][]string{
		"scanners/sdk": {"github.com/nats-io/nats-server", "github.com/grpc-ecosystem/grpc-gateway"},
	}
	var bad []string
	seen := map[string]bool{}
	for _, p := range pkgs {
		me := rel(p.ImportPath)
		if me == "" {
			continue
		}
		seen[me] = true
		if allowed, ok := leaves[me]; ok {
			for _, d := range p.Deps {
				if r := rel(d); r != "" && !slices.Contains(allowed, r) {
					bad = append(bad, fmt.Sprintf("%s depends on %s: it may use only %v of this module", me, r, allowed))
				}
			}
		}
		for _, prefix := range forbidden[me] {
			for _, d := range p.Deps {
				if d == prefix || strings.HasPrefix(d, prefix+"/") {
					bad = append(bad, fmt.Sprintf("%s links %s", me, d))
				}
			}
		}
		if !under(me, "services") && !under(me, "cmd") && !under(me, "bench") && !under(me, "internal") {
			for _, d := range p.Deps {
				if r := rel(d); under(r, "services") {
					bad = append(bad, fmt.Sprintf("%s depends on %s: packages outside services/ use only services/node and services/nodetest, and only from cmd/ and bench/", me, r))
				}
			}
		}
		direct := slices.Concat(p.Imports, p.TestImports, p.XTestImports)
		if !under(me, "services") {
			for _, d := range direct {
				if r := rel(d); under(r, "services/internal") {
					bad = append(bad, fmt.Sprintf("%s imports %s: services/internal is for services/ only", me, r))
				}
			}
		}
		if under(me, "services/internal") {
			for _, d := range slices.Concat(p.Deps, direct) {
				if r := rel(d); under(r, "services/node") || under(r, "services/nodetest") {
					bad = append(bad, fmt.Sprintf("%s depends on %s: server packages never use the public entry point", me, r))
				}
			}
		}
	}
	for _, want := range []string{"gs1", "subjects", "ledger", "lifecycle", "epcis", "scanners/sdk", "services/node"} {
		if !seen[want] {
			bad = append(bad, "no package "+want+": the rules name a package that moved")
		}
	}
	slices.Sort(bad)
	return slices.Compact(bad)
}

// TestDependenciesRunOneWay checks the layering rules of the package
// documentation against `go list` of the whole module.
func TestLayeringDependenciesRunOneWay(t *testing.T) {
	for _, v := range violations(list(t)) {
		t.Error(v)
	}
}

// TestViolationsAreFound checks that each rule reports a package that
// breaks it.
func TestLayeringViolationsAreFound(t *testing.T) {
	p := func(path string, deps ...string) pkg {
		q := pkg{ImportPath: module + "/" + path}
		for _, d := range deps {
			if !strings.Contains(d, ".") {
				d = module + "/" + d
			}
			q.Deps = append(q.Deps, d)
			q.Imports = append(q.Imports, d)
		}
		return q
	}
	base := []pkg{p("gs1"), p("subjects"), p("ledger"), p("lifecycle", "gs1"), p("epcis", "gs1"), p("scanners/sdk"), p("services/node")}
	if v := violations(base); len(v) != 0 {
		t.Fatalf("a clean module reports %v", v)
	}
	for _, tc := range []struct {
		name string
		p    pkg
		want string
	}{
		{"leaf imports another package", p("ledger", "gs1"), "ledger depends on gs1"},
		{"lifecycle imports envelope", p("lifecycle", "gs1", "envelope"), "lifecycle depends on envelope"},
		{"sdk links the NATS server", p("scanners/sdk", "github.com/nats-io/nats-server/v2/server"), "scanners/sdk links github.com/nats-io/nats-server/v2/server"},
		{"sdk links the gateway", p("scanners/sdk", "github.com/grpc-ecosystem/grpc-gateway/v2/runtime"), "scanners/sdk links github.com/grpc-ecosystem/grpc-gateway"},
		{"client imports services/internal", p("client", "services/internal/state"), "client imports services/internal/state"},
		{"envelope depends on services/node", p("envelope", "services/node"), "envelope depends on services/node"},
		{"server package imports node", p("services/internal/ingest", "services/node"), "services/internal/ingest depends on services/node"},
		{"server package test imports nodetest", pkg{ImportPath: module + "/services/internal/writer", XTestImports: []string{module + "/services/nodetest"}}, "services/internal/writer depends on services/nodetest"},
	} {
		pkgs := slices.Clone(base)
		for i, q := range pkgs {
			if q.ImportPath == tc.p.ImportPath {
				pkgs = slices.Delete(pkgs, i, i+1)
				break
			}
		}
		got := strings.Join(violations(append(pkgs, tc.p)), "\n")
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: violations %q, want one saying %q", tc.name, got, tc.want)
		}
	}
}
