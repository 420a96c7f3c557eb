package resolver

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"path"
)

//go:embed assets
var assets embed.FS

// pages are the resolver's templates, parsed once.
var pages = template.Must(template.ParseFS(assets, "assets/*.html"))

// wording is what a page says for one kind of answer: fixed text, never
// the rules' reasons (which name parties).
type wording struct {
	Class   string // style: ok, stop or warn
	Mark    string // a sign that does not rely on colour
	Heading string
	Advice  string
}

var words = map[Kind]wording{
	KindGenuine: {"ok", "✓", "Genuine pack: it may be used",
		"This pack is registered by its manufacturer and has not been recalled, dispensed or taken out of use. Check that the name below is the medicine you were given."},
	KindUnknown: {"stop", "✗", "Unknown pack: possible counterfeit",
		"This code is not registered. Do not use this medicine: take it to your pharmacist."},
	KindMismatch: {"stop", "✗", "Not genuine: the code does not match",
		"The batch number or expiry date in this code differs from what was registered for this pack: it may be a counterfeit. Do not use it: ask your pharmacist."},
	KindIncomplete: {"warn", "!", "Scan the full code",
		"The code read has no batch number or expiry date, so this pack cannot be confirmed genuine. Scan the whole square code on the pack, or ask your pharmacist."},
	KindRecalled: {"stop", "✗", "Recalled: do not use",
		"This batch has been recalled. Do not use it: take it back to your pharmacist."},
	KindWithdrawn: {"stop", "✗", "Withdrawn: do not use",
		"This batch has been withdrawn from the market. Do not use it: take it back to your pharmacist."},
	KindExpired: {"stop", "✗", "Expired: do not use",
		"This pack is past its expiry date. Do not use it: take it back to your pharmacist."},
	KindDispensed: {"warn", "!", "Already dispensed",
		"This pack has already been handed out by a pharmacy. If your pharmacy has just given it to you, that is expected. If it was sold to you as new, do not use it: ask your pharmacist."},
	KindInactive: {"stop", "✗", "Not for use",
		"This pack has been taken out of the supply chain. Do not use it: ask your pharmacist."},
}

// answerPage is the data of the answer template.
type answerPage struct {
	Title string
	wording
	Answer
}

// errorPage is the data of the error template.
type errorPage struct {
	Title   string
	Status  int
	Message string
}

func renderAnswer(w http.ResponseWriter, a Answer) {
	wd := words[a.Kind]
	render(w, http.StatusOK, "answer.html", answerPage{Title: wd.Heading, wording: wd, Answer: a})
}

func renderError(w http.ResponseWriter, status int, msg string) {
	render(w, status, "error.html", errorPage{Title: "This code could not be checked", Status: status, Message: msg})
}

// render executes a template into a buffer first, so that a failure is a
// clean 500 rather than half a page.
func render(w http.ResponseWriter, status int, name string, data any) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// serveAsset serves an embedded stylesheet by name.
func serveAsset(w http.ResponseWriter, req *http.Request, name string) {
	if path.Ext(name) != ".css" || path.Base(name) != name {
		http.NotFound(w, req)
		return
	}
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		http.NotFound(w, req)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write(b)
}
