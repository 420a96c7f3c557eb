package console

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"path"
	"strings"
)

// Prefix is the path under which the console is served.
const Prefix = "/ui/"

//go:embed assets
var assets embed.FS

// page is one screen: its template file and what its header says.
type page struct {
	file  string
	title string
	// script is the module under assets/ that fills the page.
	script string
}

// pagesByPath are the console's screens by their path under Prefix.
var pagesByPath = map[string]page{
	"":             {"home.html", "Pedigree console", "home.js"},
	"signin":       {"signin.html", "Sign in", "signin.js"},
	"counter":      {"counter.html", "Pharmacy counter", "counter.js"},
	"manufacturer": {"manufacturer.html", "Products and batches", "manufacturer.js"},
	"trace":        {"trace.html", "Batch trace", "trace.js"},
	"alerts":       {"alerts.html", "Alert queue", "alerts.js"},
	"pack":         {"pack.html", "Pack timeline", "pack.js"},
	"ledger":       {"ledger.html", "Ledger", "ledger.js"},
}

// templates holds each page parsed with the layout, parsed once: the
// assets are the binary's own, so a parse failure is a build error that
// the package's tests catch.
var templates = parsePages()

func parsePages() map[string]*template.Template {
	out := make(map[string]*template.Template, len(pagesByPath))
	for _, p := range pagesByPath {
		out[p.file] = template.Must(template.ParseFS(assets, "assets/layout.html", "assets/"+p.file))
	}
	return out
}

// navItem is one link of the header's navigation.
type navItem struct {
	Path, Label string
	Current     bool
}

// nav is the header's navigation, in order.
var nav = [...]struct{ path, label string }{
	{"counter", "Counter"},
	{"manufacturer", "Products"},
	{"trace", "Trace"},
	{"alerts", "Alerts"},
	{"pack", "Pack timeline"},
	{"ledger", "Ledger"},
}

// pageData is what the layout and the pages render.
type pageData struct {
	Title  string
	Script string
	Nav    []navItem
}

// Wrap returns a handler that serves the console's paths (/ui and
// everything under /ui/) and passes every other request to next.
func Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p := req.URL.Path
		if p == "/ui" || strings.HasPrefix(p, Prefix) {
			serve(w, req)
			return
		}
		next.ServeHTTP(w, req)
	})
}

// Handler returns the console alone (for tests and embedding): paths
// outside /ui/ are 404.
func Handler() http.Handler { return Wrap(http.NotFoundHandler()) }

func serve(w http.ResponseWriter, req *http.Request) {
	h := w.Header()
	securityHeaders(h)
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: the console's pages answer GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	if req.URL.Path == "/ui" {
		http.Redirect(w, req, Prefix, http.StatusMovedPermanently)
		return
	}
	rest := strings.TrimPrefix(req.URL.Path, Prefix)
	if name, ok := strings.CutPrefix(rest, "assets/"); ok {
		serveAsset(w, req, name)
		return
	}
	p, ok := pagesByPath[rest]
	if !ok {
		http.NotFound(w, req)
		return
	}
	data := pageData{Title: p.title, Script: p.script}
	for _, n := range nav {
		data.Nav = append(data.Nav, navItem{Path: Prefix + n.path, Label: n.label, Current: n.path == rest})
	}
	var b bytes.Buffer
	if err := templates[p.file].ExecuteTemplate(&b, "layout", data); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

// contentTypes are the asset kinds the console serves.
var contentTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".svg": "image/svg+xml",
}

// serveAsset serves an embedded script or stylesheet by its base name.
func serveAsset(w http.ResponseWriter, req *http.Request, name string) {
	ct, ok := contentTypes[path.Ext(name)]
	if !ok || path.Base(name) != name {
		http.NotFound(w, req)
		return
	}
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		http.NotFound(w, req)
		return
	}
	w.Header().Set("Content-Type", ct)
	_, _ = w.Write(b)
}

// csp allows the console's own scripts, styles and API calls and nothing
// else: no inline code, no other origin, no form submission, no framing.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// securityHeaders are on every answer of the console.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Permissions-Policy", "geolocation=(), microphone=(), interest-cohort=()")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// Pages returns the paths of the console's screens, for tests and docs.
func Pages() []string {
	out := make([]string, 0, len(pagesByPath))
	for p := range pagesByPath {
		out = append(out, Prefix+p)
	}
	return out
}
