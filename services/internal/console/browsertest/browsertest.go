package browsertest

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Timeout bounds one wait for a page to show something: generous, since a
// shared machine may run Chromium slowly.
const Timeout = 60 * time.Second

// browsers are the executables tried in order; $PEDIGREE_CHROMIUM, when
// set, is tried first.
var browsers = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Find returns the path of the Chromium executable.
func Find() (string, error) {
	names := browsers
	if env := os.Getenv("PEDIGREE_CHROMIUM"); env != "" {
		names = append([]string{env}, names...)
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("browsertest: no Chromium found (tried $PEDIGREE_CHROMIUM and %s): install it, e.g. apt-get install -y chromium", strings.Join(browsers, ", "))
}

// New starts headless Chromium at a tablet's size and returns the context
// of one tab; the browser stops when the test ends. Page errors and
// uncaught exceptions are written to the test log.
func New(t testing.TB) context.Context {
	t.Helper()
	path, err := Find()
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // tests often run as root in containers
		chromedp.Flag("disable-gpu", true),
		chromedp.WindowSize(1024, 900),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	msgs := chromedp.Console(ctx)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("browsertest: start %s: %v", path, err)
	}
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == "error" || m.Type == "warning" {
				t.Logf("browser %s: %s:%d %s", m.Type, m.URL, m.Line+1, m)
			}
		}
	}()
	return ctx
}

// Do runs steps within Timeout.
func Do(t testing.TB, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		Screenshot(t, ctx, "failed-"+slug(what))
		t.Fatalf("%s: %v", what, err)
	}
}

// WaitText waits until the element sel exists and its text contains want
// (case-insensitive); on timeout it fails naming the text it found.
func WaitText(t testing.TB, ctx context.Context, sel, want string) string {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	text, err := poll[string](tctx,
		`(sel, want) => { const e = document.querySelector(sel); const s = e && !e.hidden ? e.textContent : '';
		   return s.toLowerCase().includes(want.toLowerCase()) ? s : false; }`, sel, want)
	if err != nil {
		got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(
			`(() => { const e = document.querySelector(%q); return e ? e.textContent : '(no element)'; })()`, sel)))
		perr, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById('page-error')||{}).textContent || ''`))
		Screenshot(t, ctx, "failed-"+slug(want))
		t.Fatalf("%s never said %q: it says %q (page error %q): %v", sel, want, strings.TrimSpace(got), perr, err)
	}
	return text
}

// Screenshot saves the whole page as name.png in the test's artifact
// directory and logs where.
func Screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	buf, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	dir := t.ArtifactDir()
	p := filepath.Join(dir, slug(name)+".png")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	t.Logf("screenshot: %s", p)
}

func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

// WaitCount waits until at least n elements match sel.
func WaitCount(t testing.TB, ctx context.Context, sel string, n int) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	_, err := poll[chromedp.Void](tctx, `(sel, n) => document.querySelectorAll(sel).length >= n`, sel, n)
	if err != nil {
		got, _ := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
		perr, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById('page-error')||{}).textContent || ''`))
		Screenshot(t, ctx, "failed-count-"+slug(sel))
		t.Fatalf("%d elements match %s, want %d (page error %q): %v", got, sel, n, perr, err)
	}
}

// poll waits until the page function fn, called with args, returns a
// truthy value, and returns it. A navigation while it waits (the page
// submitting a form, a redirect) restarts the wait on the new page, until
// ctx ends.
func poll[T any](ctx context.Context, fn string, args ...any) (T, error) {
	for {
		v, err := chromedp.Run(ctx, chromedp.PollFunction[T](fn, chromedp.WithPollingArgs(args...),
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(Timeout)))
		if err == nil || ctx.Err() != nil {
			return v, err
		}
		if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "timeout") {
			return v, err
		}
	}
}

// WaitNone waits until no element matches sel.
func WaitNone(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	if _, err := poll[chromedp.Void](tctx, `(sel) => document.querySelectorAll(sel).length === 0`, sel); err != nil {
		Screenshot(t, ctx, "failed-none-"+slug(sel))
		t.Fatalf("%s is still on the page: %v", sel, err)
	}
}

//go:embed a11y.js
var a11yScript string

// Accessibility returns the problems the page has as it stands: a
// visible control without a label, a button without text, text with a
// contrast below 4.5:1 (3:1 when large), a page wider than the window.
func Accessibility(ctx context.Context) ([]string, error) {
	tctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	return chromedp.Run(tctx, chromedp.Evaluate[[]string](a11yScript))
}

// CheckAccessible fails the test naming each problem Accessibility finds.
func CheckAccessible(t testing.TB, ctx context.Context, what string) {
	t.Helper()
	problems, err := Accessibility(ctx)
	if err != nil {
		t.Fatalf("%s: accessibility check: %v", what, err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", what, p)
	}
}
