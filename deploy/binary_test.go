package deploy

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/services/node"
)

// pedigreeBinary builds the pedigree binary of this module once per test
// run and returns its path.
var pedigreeBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "pedigree-deploy-test-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "pedigree")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/pedigree-project/pedigree/cmd/pedigree")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", &buildError{err: err, out: out.String()}
	}
	return bin, nil
})

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string {
	return "go build ./cmd/pedigree: " + e.err.Error() + "\n" + e.out
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bin, err := pedigreeBinary(); err == nil {
		os.RemoveAll(filepath.Dir(bin))
	}
	os.Exit(code)
}

// envPrefix is the prefix of the environment variable of every flag
// (cmd/pedigree: PEDIGREE_ and the flag's name, upper case, '_' for '-').
const envPrefix = "PEDIGREE_"

// envArgs turns PEDIGREE_* variables into the flags they set.
func envArgs(env map[string]string) []string {
	var args []string
	for k, v := range env {
		if name, ok := strings.CutPrefix(k, envPrefix); ok {
			args = append(args, "--"+strings.ReplaceAll(strings.ToLower(name), "_", "-")+"="+v)
		}
	}
	return args
}

// checkServeArgs runs `pedigree serve ARGS --help`: the binary parses every
// flag (name and value type) before it prints the help, so an unknown
// flag or a malformed value fails. args[0] must be "serve".
func checkServeArgs(t *testing.T, where string, args []string) {
	t.Helper()
	if len(args) == 0 || args[0] != "serve" {
		t.Errorf("%s: the command %q does not run pedigree serve", where, args)
		return
	}
	bin, err := pedigreeBinary()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append(args, "--help")...).CombinedOutput()
	if err != nil {
		t.Errorf("%s: pedigree %s: %v\n%s", where, strings.Join(args, " "), err, firstLines(out, 3))
	}
}

func firstLines(b []byte, n int) string {
	lines := strings.SplitN(string(b), "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// flagValue returns the value of --name in args (--name=value or --name
// value), and whether it is there.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
		if a == "--"+name && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

// servedPaths reports which of paths a running node answers on its HTTP
// port with anything but 404 once it is ready.
var servedPaths = sync.OnceValues(func() (map[string]int, error) {
	dir, err := os.MkdirTemp("", "pedigree-deploy-node-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cfg := node.DefaultConfig()
	cfg.DataDir, cfg.GRPCAddr, cfg.HTTPAddr, cfg.NATSListen = dir, "127.0.0.1:0", "127.0.0.1:0", ""
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := node.Start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, err
	}
	defer n.Shutdown(context.Background())
	codes := map[string]int{}
	for _, p := range []string{"/healthz", "/readyz", "/livez", "/metrics"} {
		resp, err := http.Get("http://" + n.HTTPAddr() + p)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		codes[p] = resp.StatusCode
	}
	return codes, nil
})

// checkProbePath fails unless a running node serves path.
func checkProbePath(t *testing.T, where, path string) {
	t.Helper()
	codes, err := servedPaths()
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := codes[path]; !ok || c == http.StatusNotFound {
		t.Errorf("%s: probe path %q: a node answers %d there (served: %v)", where, path, c, codes)
	}
}

// routeHost matches a route URL.
var routeHost = regexp.MustCompile(`^nats://([a-z0-9.-]+):([0-9]+)$`)
