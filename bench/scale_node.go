package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pedigree-project/pedigree/scanners/sdk"
	"github.com/pedigree-project/pedigree/services/node"
)

// childNode is a node the scale run starts as a child process (`pedigree
// serve` on a data directory it owns), so that it can be killed with
// SIGKILL and restarted, and its memory is its own.
type childNode struct {
	argv    []string // the serve command: binary and "serve"
	extra   []string // more serve flags
	dir     string
	keep    bool // the directory is the caller's: stop the node cleanly and keep it
	cmd     *exec.Cmd
	exited  chan error
	target  Target
	logFile *os.File
}

var (
	childGRPC    = regexp.MustCompile(`gRPC:\s+(\S+)`)
	childHTTP    = regexp.MustCompile(`HTTP:\s+https?://(\S+)`)
	childMetrics = regexp.MustCompile(`Metrics:\s+http://([^/\s]+)`)
	childNATS    = regexp.MustCompile(`NATS:\s+(\S+)`)
)

// newChildNode prepares a node on dir, kept after the run, or on a new
// temporary directory when dir is empty.
func newChildNode(argv []string, dir string) (*childNode, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("bench: data directory: %w", err)
		}
		return &childNode{argv: argv, dir: filepath.Clean(dir), keep: true}, nil
	}
	dir, err := os.MkdirTemp("", "pedigree-scale-")
	if err != nil {
		return nil, fmt.Errorf("bench: data directory: %w", err)
	}
	return &childNode{argv: argv, dir: dir}, nil
}

// start runs the node and waits until it prints its addresses; ready()
// then waits for /readyz. Its logs go to DIR/../<dir>.log.
func (c *childNode) start(ctx context.Context) error {
	args := append(append([]string{}, c.argv[1:]...), "--data", c.dir, "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0",
		"--nats-listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--read-rate", "0", "--write-rate", "0",
		"--public-rate", "0", "--bulk-per-party", "0", "--nats-publish-rate", "1e12", "--log-level", "warn")
	args = append(args, c.extra...)
	cmd := exec.Command(c.argv[0], args...)
	cmd.Env = os.Environ()
	cmd.SysProcAttr = childAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("bench: node: %w", err)
	}
	if c.logFile == nil {
		if c.logFile, err = os.OpenFile(c.dir+".log", os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err != nil {
			return fmt.Errorf("bench: node log: %w", err)
		}
	}
	cmd.Stderr = c.logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("bench: start %s: %w", strings.Join(c.argv, " "), err)
	}
	c.cmd = cmd
	c.exited = make(chan error, 1)
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		close(lines)
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() { c.exited <- cmd.Wait() }()
	t := Target{}
	timeout := time.NewTimer(10 * time.Minute)
	defer timeout.Stop()
	for t.GRPCAddr == "" || t.HTTPAddr == "" || t.MetricsAddr == "" || t.NATSURL == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				return fmt.Errorf("bench: the node exited before serving (its log: %s)", c.logFile.Name())
			}
			for re, dst := range map[*regexp.Regexp]*string{childGRPC: &t.GRPCAddr, childHTTP: &t.HTTPAddr, childMetrics: &t.MetricsAddr, childNATS: &t.NATSURL} {
				if m := re.FindStringSubmatch(l); m != nil {
					*dst = m[1]
				}
			}
		case <-ctx.Done():
			c.kill()
			return ctx.Err()
		case <-timeout.C:
			c.kill()
			return errors.New("bench: the node did not serve within 10 minutes")
		}
	}
	token, err := os.ReadFile(filepath.Join(c.dir, "admin.token"))
	if err != nil {
		return fmt.Errorf("bench: admin token: %w", err)
	}
	keys, err := sdk.ReadNodeKeys(filepath.Join(c.dir, node.KeysDir, node.NodePublicKeyFile))
	if err != nil {
		return fmt.Errorf("bench: node key: %w", err)
	}
	t.Token, t.NodeKeys, t.NATSAdminKeyFile = strings.TrimSpace(string(token)), keys, filepath.Join(c.dir, node.KeysDir, node.NATSKeyFile)
	c.target = t
	return nil
}

// backup takes a verified backup of the serving node as an operator does
// (`pedigree backup --operator`), which records it as the newest verified
// one, and deletes the archive; it returns the archive's size.
func (c *childNode) backup(ctx context.Context) (int64, error) {
	out := c.dir + ".backup.tar"
	defer os.Remove(out)
	cmd := exec.CommandContext(ctx, c.argv[0], "backup", "--operator", c.target.MetricsAddr,
		"--token-file", filepath.Join(c.dir, "admin.token"), "--out", out)
	cmd.SysProcAttr = childAttr()
	if msg, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("bench: backup: %w: %s", err, strings.TrimSpace(string(msg)))
	}
	fi, err := os.Stat(out)
	if err != nil {
		return 0, fmt.Errorf("bench: backup: %w", err)
	}
	return fi.Size(), nil
}

// kill sends SIGKILL and waits for the process to go.
func (c *childNode) kill() {
	if c.cmd == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
	c.cmd = nil
}

// stop asks the node to shut down cleanly (SIGTERM) and waits.
func (c *childNode) stop() error {
	if c.cmd == nil {
		return nil
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(2 * time.Minute)
	defer t.Stop()
	select {
	case err := <-c.exited:
		c.cmd = nil
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			return fmt.Errorf("bench: node: %w", err)
		}
		return nil
	case <-t.C:
		c.kill()
		return errors.New("bench: the node did not stop within 2 minutes of SIGTERM; killed")
	}
}

// remove kills the node if it runs and deletes its directory and log; a
// kept directory's node is stopped cleanly, and the directory and log
// stay.
func (c *childNode) remove() {
	if c.keep {
		_ = c.stop()
		if c.logFile != nil {
			c.logFile.Close()
		}
		return
	}
	c.kill()
	if c.logFile != nil {
		c.logFile.Close()
		_ = os.Remove(c.logFile.Name())
	}
	_ = os.RemoveAll(c.dir)
}

// procStatusKB reads a "kB" field of a /proc status file; 0 when missing.
func procStatusKB(path, field string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb
		}
	}
	return 0
}

// scrapeMetrics returns the unlabelled samples of a Prometheus text page,
// by name (the first sample of a labelled metric).
func scrapeMetrics(ctx context.Context, addr string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bench: metrics: %w", err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 16<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || l[0] == '#' {
			continue
		}
		name, val, ok := strings.Cut(l, " ")
		if !ok {
			continue
		}
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name = name[:i]
		}
		if _, seen := out[name]; seen {
			continue
		}
		if v, err := strconv.ParseFloat(strings.Fields(val)[0], 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}

// profileNode fetches the node's CPU profile over the next dur into
// ProfileDir/cpu-NAME.pprof, from its operator listener with the admin
// token, and sends the outcome on the channel it returns (nil at once
// without ProfileDir or a node of the run's own).
func (s *scaleRun) profileNode(ctx context.Context, name string, dur time.Duration) <-chan error {
	done := make(chan error, 1)
	if s.cfg.ProfileDir == "" || s.child == nil || s.target.MetricsAddr == "" {
		done <- nil
		return done
	}
	go func() {
		secs := max(int(dur.Round(time.Second)/time.Second), 1)
		done <- fetchProfile(ctx, s.target.MetricsAddr, s.target.Token, fmt.Sprintf("profile?seconds=%d", secs), dur,
			filepath.Join(s.cfg.ProfileDir, "cpu-"+name+".pprof"))
	}()
	return done
}

// heapProfile writes the node's heap profile to ProfileDir/heap-NAME.pprof
// (nothing without ProfileDir or a node of the run's own).
func (s *scaleRun) heapProfile(ctx context.Context, name string) error {
	if s.cfg.ProfileDir == "" || s.child == nil || s.target.MetricsAddr == "" {
		return nil
	}
	return fetchProfile(ctx, s.target.MetricsAddr, s.target.Token, "heap", 0, filepath.Join(s.cfg.ProfileDir, "heap-"+name+".pprof"))
}

// fetchProfile writes the profile the node whose operator listener is
// addr serves at ProfilePath+query, which takes dur, to path.
func fetchProfile(ctx context.Context, addr, adminToken, query string, dur time.Duration, path string) error {
	ctx, cancel := context.WithTimeout(ctx, dur+time.Minute)
	defer cancel()
	url := fmt.Sprintf("http://%s%s%s", addr, node.ProfilePath, query)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("bench: node profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("bench: node profile: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: node profile: %w", err)
	}
	if _, err := io.Copy(f, io.LimitReader(resp.Body, 256<<20)); err != nil {
		_ = f.Close()
		return fmt.Errorf("bench: node profile %s: %w", path, err)
	}
	return f.Close()
}
