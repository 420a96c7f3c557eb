package console

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// get fetches path from the console alone.
func get(t *testing.T, method, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	resp := rec.Result()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestPagesAreStaticShellsWithStrictHeaders: every page renders, loads its
// own module and nothing else, carries no inline script or style, labels
// every control, and is served with the CSP and no caching.
func TestPagesAreStaticShellsWithStrictHeaders(t *testing.T) {
	controls := regexp.MustCompile(`<(input|select|textarea)[^>]*\bid="([^"]+)"`)
	for _, path := range Pages() {
		resp, body := get(t, http.MethodGet, path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", path, resp.StatusCode)
		}
		h := resp.Header
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'self'") ||
			strings.Contains(csp, "unsafe") || !strings.Contains(csp, "form-action 'none'") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
		if h.Get("Cache-Control") != "no-store" || h.Get("X-Frame-Options") != "DENY" || h.Get("Set-Cookie") != "" ||
			!strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: headers %v", path, h)
		}
		for _, bad := range []string{"style=", "<style", "onclick", "onsubmit", "javascript:", "http://", "https://"} {
			if strings.Contains(body, bad) {
				t.Errorf("GET %s: page contains %q", path, bad)
			}
		}
		scripts := regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1)
		if len(scripts) != 1 || !strings.Contains(scripts[0], `type="module" src="/ui/assets/`) {
			t.Errorf("GET %s: scripts %q, want one module from /ui/assets/", path, scripts)
		}
		for _, m := range controls.FindAllStringSubmatch(body, -1) {
			if !strings.Contains(body, `for="`+m[2]+`"`) {
				t.Errorf("GET %s: control #%s has no <label for>", path, m[2])
			}
		}
	}
}

func TestAssetsAndRoutes(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		status       int
		ctype        string
	}{
		{"GET", "/ui/assets/proof.js", 200, "text/javascript"},
		{"GET", "/ui/assets/console.css", 200, "text/css"},
		{"HEAD", "/ui/counter", 200, "text/html"},
		{"GET", "/ui", 301, ""},
		{"GET", "/ui/assets/layout.html", 404, ""},
		{"GET", "/ui/assets/../console.go", 404, ""},
		{"GET", "/ui/assets/missing.js", 404, ""},
		{"GET", "/ui/nope", 404, ""},
		{"GET", "/ui/counter/", 404, ""},
		{"POST", "/ui/signin", 405, ""},
		{"GET", "/v1/products", 404, ""}, // not the console's: the wrapped handler
	} {
		resp, _ := get(t, tc.method, tc.path)
		if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) {
			t.Errorf("%s %s = %d %q, want %d %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.status, tc.ctype)
		}
		if strings.HasPrefix(tc.path, "/ui") && resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s %s: no CSP", tc.method, tc.path)
		}
	}
}

// TestScriptsUseNoOtherOrigin: the scripts reach only this origin's paths.
func TestScriptsUseNoOtherOrigin(t *testing.T) {
	entries, err := assets.ReadDir("assets")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := assets.ReadFile("assets/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		s := strings.NewReplacer("http://www.w3.org/2000/svg", "", "url(#", "").Replace(string(b))
		for _, bad := range []string{"http://", "https://", "eval(", "innerHTML", "localStorage", "document.cookie", "@import", "url("} {
			if strings.Contains(s, bad) {
				t.Errorf("%s contains %q", e.Name(), bad)
			}
		}
	}
}
