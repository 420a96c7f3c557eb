package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// composeFile is the part of the Compose specification the compose files
// use; anything else in them fails the strict parse.
type composeFile struct {
	Services map[string]composeService `json:"services"`
	Volumes  map[string]*struct{}      `json:"volumes"`
}

type composeService struct {
	Image string `json:"image"`
	Build *struct {
		Context    string `json:"context"`
		Dockerfile string `json:"dockerfile"`
	} `json:"build"`
	Command     []string          `json:"command"`
	Environment map[string]string `json:"environment"`
	Ports       []string          `json:"ports"`
	Volumes     []string          `json:"volumes"`
	DependsOn   []string          `json:"depends_on"`
}

// loadCompose parses a compose file strictly: top-level keys other than
// services and volumes must be extensions (x-…); a field the Compose
// specification has but composeService lacks fails too.
func loadCompose(t *testing.T, file string) composeFile {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// Not YAMLToJSONStrict: it takes a key a merge (<<) brings and the
	// mapping sets again for a repeated key. Unknown fields still fail
	// below.
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(j, &top); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for k := range top {
		if k != "services" && k != "volumes" && !strings.HasPrefix(k, "x-") {
			delete(top, k)
			t.Errorf("%s: top-level key %q", file, k)
		}
	}
	var cf composeFile
	for _, k := range []string{"services", "volumes"} {
		dec := json.NewDecoder(bytes.NewReader(top[k]))
		dec.DisallowUnknownFields()
		var err error
		if k == "services" {
			err = dec.Decode(&cf.Services)
		} else if top[k] != nil {
			err = dec.Decode(&cf.Volumes)
		}
		if err != nil {
			t.Fatalf("%s: %s: %v", file, k, err)
		}
	}
	if len(cf.Services) == 0 {
		t.Fatalf("%s: no services", file)
	}
	return cf
}

// pedigreeServices returns the services built from deploy/Dockerfile, in
// name order, with the serve command each runs (its command, or the
// image's default, and its PEDIGREE_* variables as flags).
func pedigreeServices(t *testing.T, file string, cf composeFile) (names []string, args map[string][]string) {
	t.Helper()
	args = map[string][]string{}
	for name, s := range cf.Services {
		if s.Build == nil {
			continue
		}
		if s.Build.Dockerfile != "deploy/Dockerfile" {
			t.Errorf("%s: service %s builds %s", file, name, s.Build.Dockerfile)
		}
		cmd := s.Command
		if cmd == nil {
			cmd = dockerfileCmd(t)
		}
		names = append(names, name)
		args[name] = append(append([]string(nil), cmd...), envArgs(s.Environment)...)
	}
	slices.Sort(names)
	return names, args
}

// dockerfileCmd returns the CMD of deploy/Dockerfile (exec form).
func dockerfileCmd(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for l := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(l, "CMD "); ok {
			var cmd []string
			if err := json.Unmarshal([]byte(rest), &cmd); err != nil {
				t.Fatalf("Dockerfile CMD: %v", err)
			}
			return cmd
		}
	}
	t.Fatal("Dockerfile: no CMD")
	return nil
}

// TestComposeFilesRunValidCommands: every compose file parses strictly and
// every Pedigree service's command, with its PEDIGREE_* variables, parses
// against the binary's flags, with its data directory on a volume.
func TestComposeFilesRunValidCommands(t *testing.T) {
	files, err := filepath.Glob("compose*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no compose files: %v", err)
	}
	for _, f := range files {
		cf := loadCompose(t, f)
		names, args := pedigreeServices(t, f, cf)
		if len(names) == 0 {
			t.Errorf("%s: no service builds the pedigree image", f)
		}
		for _, name := range names {
			where := f + " service " + name
			checkServeArgs(t, where, args[name])
			data, ok := flagValue(args[name], "data")
			if !ok {
				t.Errorf("%s: no --data", where)
				continue
			}
			if !mountsVolume(cf, cf.Services[name], data) {
				t.Errorf("%s: --data %s is not on a named volume", where, data)
			}
		}
	}
}

// TestComposeClusterOfThree: compose.yaml runs three nodes whose embedded
// servers form one cluster: each names the others' services in its
// routes, all agree on the node that starts the ledger, and the names are
// distinct.
func TestComposeClusterOfThree(t *testing.T) {
	cf := loadCompose(t, "compose.yaml")
	names, args := pedigreeServices(t, "compose.yaml", cf)
	if len(names) != 3 {
		t.Fatalf("compose.yaml: %d Pedigree services, want 3", len(names))
	}
	genesis := map[string]bool{}
	nodeNames := map[string]bool{}
	for _, name := range names {
		a := args[name]
		where := "compose.yaml service " + name
		if v, _ := flagValue(a, "stream-replicas"); v != "3" {
			t.Errorf("%s: --stream-replicas %q, want 3", where, v)
		}
		g, _ := flagValue(a, "genesis-node")
		genesis[g] = true
		nn, _ := flagValue(a, "node-name")
		nodeNames[nn] = true
		listen, _ := flagValue(a, "nats-cluster-listen")
		_, port, err := net.SplitHostPort(listen)
		if err != nil {
			t.Errorf("%s: --nats-cluster-listen %q: %v", where, listen, err)
			continue
		}
		routes, _ := flagValue(a, "nats-routes")
		for _, other := range names {
			if !strings.Contains(","+routes+",", fmt.Sprintf(",nats://%s:%s,", other, port)) {
				t.Errorf("%s: --nats-routes %q lacks nats://%s:%s", where, routes, other, port)
			}
		}
		cred, _ := flagValue(a, "nats-cluster-credentials")
		if !mountsFile(cf.Services[name], cred) {
			t.Errorf("%s: --nats-cluster-credentials %s is not mounted", where, cred)
		}
	}
	if len(genesis) != 1 || len(nodeNames) != 3 {
		t.Fatalf("compose.yaml: genesis nodes %v, node names %v: want one genesis node and three names", genesis, nodeNames)
	}
	for g := range genesis {
		if !nodeNames[g] {
			t.Errorf("compose.yaml: --genesis-node %s is none of the nodes %v", g, nodeNames)
		}
	}
}

// mountsVolume reports whether s mounts one of cf's named volumes at dir.
func mountsVolume(cf composeFile, s composeService, dir string) bool {
	for _, v := range s.Volumes {
		src, dst, _ := strings.Cut(v, ":")
		dst, _, _ = strings.Cut(dst, ":")
		if _, named := cf.Volumes[src]; named && path.Clean(dst) == path.Clean(dir) {
			return true
		}
	}
	return false
}

// mountsFile reports whether s mounts something at file.
func mountsFile(s composeService, file string) bool {
	for _, v := range s.Volumes {
		_, dst, _ := strings.Cut(v, ":")
		dst, _, _ = strings.Cut(dst, ":")
		if path.Clean(dst) == path.Clean(file) {
			return true
		}
	}
	return false
}
