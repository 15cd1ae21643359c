package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/lab"
	"github.com/lavalab/lavalab/core/metrics"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the pages.
type Options struct {
	// Lab is the service the pages call (it validates and submits with
	// the API's checks). Default: a core/lab service on Store (tests);
	// the server passes its own, shared by every front-end.
	Lab   *lab.Service
	Store store.Store
	// Drivers is the driver registry of the default Lab (optional; unused
	// when Lab is given: the server's service has its own).
	Drivers Drivers
	// Key signs session cookies and CSRF tokens (at least 32 bytes; see
	// LoadOrCreateKey).
	Key []byte
	// Secure marks every cookie Secure (serving HTTPS, or behind a TLS
	// proxy); without it a cookie is Secure when its request came over TLS
	// or says X-Forwarded-Proto: https.
	Secure  bool
	Logger  *slog.Logger
	Version string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Heartbeat is the live log's keep-alive period (default 15 s).
	Heartbeat time.Duration
	// WorkerReports gives each worker's last report of its spools and
	// host, for the workers page (optional: the server's metrics.Metrics).
	WorkerReports WorkerReports
}

// WorkerReports gives a worker's last report (metrics.Metrics).
type WorkerReports interface {
	WorkerReport(worker string) (metrics.WorkerReport, bool)
}

// Web serves the pages.
type Web struct {
	lab       *lab.Service
	key       []byte
	secure    bool
	log       *slog.Logger
	version   string
	now       func() time.Time
	heartbeat time.Duration
	pages     map[string]*template.Template
	reports   WorkerReports
}

// New parses the templates and returns the pages.
func New(o Options) (*Web, error) {
	if o.Lab == nil && o.Store == nil {
		return nil, errors.New("web: a service (or a store) is required")
	}
	if len(o.Key) < 32 {
		return nil, errors.New("web: the session key must be at least 32 bytes")
	}
	w := &Web{lab: o.Lab, key: o.Key, secure: o.Secure,
		log: o.Logger, version: o.Version, now: o.Now, heartbeat: o.Heartbeat, reports: o.WorkerReports}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.lab == nil {
		w.lab = lab.New(lab.Options{Store: o.Store, Logger: w.log, Drivers: o.Drivers})
	}
	if w.heartbeat <= 0 {
		w.heartbeat = 15 * time.Second
	}
	if w.version == "" {
		w.version = "dev"
	}
	pages, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	w.pages = pages
	return w, nil
}

func parseTemplates() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: listing templates: %w", err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := n[len("templates/"):]
		if base == "layout.html" || base == "partials.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", n)
		if err != nil {
			return nil, fmt.Errorf("web: parsing %s: %w", n, err)
		}
		out[base[:len(base)-len(".html")]] = t
	}
	return out, nil
}

// Mount adds the pages to r.
func (w *Web) Mount(r chi.Router) {
	static, _ := fs.Sub(staticFS, "static")
	fileServer := http.StripPrefix("/static/", http.FileServer(http.FS(static)))
	r.Get("/static/*", func(rw http.ResponseWriter, req *http.Request) {
		rw.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(rw, req)
	})
	r.Group(func(r chi.Router) {
		r.Use(w.recoverer, w.headers, w.authenticate)
		r.Get("/", w.home)
		r.Get("/login", w.loginPage)
		r.Post("/login", w.login)
		r.Post("/logout", w.logout)
		r.Get("/jobs", w.jobList)
		r.Get("/jobs/{id}", w.jobPage)
		r.Get("/jobs/{id}/log/stream", w.logStream)
		r.Get("/jobs/{id}/results.{format}", w.resultsExport)
		r.Post("/jobs/{id}/cancel", w.cancel)
		r.Post("/jobs/{id}/resubmit", w.resubmit)
		r.Get("/submit", w.submitPage)
		r.Post("/submit", w.submit)
		r.Get("/devices", w.deviceList)
		r.Get("/devices/{hostname}", w.devicePage)
		r.Post("/devices/{hostname}/health", w.setHealth)
		r.Get("/device-types", w.deviceTypeList)
		r.Get("/device-types/{name}", w.deviceTypePage)
		r.Get("/workers", w.workerList)
		r.Get("/drivers", w.driverList)
		r.Post("/drivers/activate", w.driverActivate)
		r.Post("/drivers/rollback", w.driverRollback)
		r.Post("/drivers/upload", w.driverUpload)
	})
}

// ---- request context ----

func userFrom(ctx context.Context) *model.User { return lab.UserFrom(ctx) }

// caller is who calls, for core/lab.
func caller(ctx context.Context) lab.Caller { return lab.As(userFrom(ctx), "web") }

// authenticate resolves the session cookie to a user: a session the
// server keeps, not expired, whose API token still exists.
func (w *Web) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(SessionCookie)
		if err != nil || c.Value == "" {
			next.ServeHTTP(rw, r)
			return
		}
		u, err := w.lab.SessionUser(r.Context(), sessionHash(c.Value))
		if lab.KindOf(err) == lab.KindUnauthenticated {
			http.SetCookie(rw, w.cookie(r, SessionCookie, "", -1))
			next.ServeHTTP(rw, r)
			return
		}
		if err != nil {
			w.fail(rw, r, fmt.Errorf("session: %w", err))
			return
		}
		next.ServeHTTP(rw, r.WithContext(lab.WithUser(r.Context(), &u)))
	})
}

func (w *Web) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		h := rw.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
		next.ServeHTTP(rw, r)
	})
}

func (w *Web) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as net/http does
				panic(rec)
			}
			w.log.Error("web: panic in handler", "path", r.URL.Path, "panic", rec, "stack", string(debug.Stack()))
			http.Error(rw, "internal server error", http.StatusInternalServerError)
		}()
		next.ServeHTTP(rw, r)
	})
}

// ---- rendering ----

// page is what every template gets.
type page struct {
	Title   string
	Nav     string
	User    *model.User
	CSRF    string
	Version string
	Flash   string
	Data    any
}

// render writes a page with status 200 (or status, when not 0).
func (w *Web) render(rw http.ResponseWriter, r *http.Request, status int, name, title, nav string, data any) {
	t, ok := w.pages[name]
	if !ok {
		w.fail(rw, r, fmt.Errorf("no template %q", name))
		return
	}
	p := page{Title: title, Nav: nav, User: userFrom(r.Context()), Version: w.version, Data: data,
		CSRF: w.csrfToken(w.csrfCookie(rw, r)), Flash: r.URL.Query().Get("flash")}
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		w.fail(rw, r, fmt.Errorf("rendering %s: %w", name, err))
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.Header().Set("Cache-Control", "no-store")
	if status == 0 {
		status = http.StatusOK
	}
	rw.WriteHeader(status)
	_, _ = buf.WriteTo(rw)
}

// fail logs err and answers 500.
func (w *Web) fail(rw http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return
	}
	w.log.Error("web: request failed", "path", r.URL.Path, "err", err)
	w.errorPage(rw, r, http.StatusInternalServerError, "Something went wrong on the server; it was logged.")
}

// errorPage answers an error page with its status.
func (w *Web) errorPage(rw http.ResponseWriter, r *http.Request, status int, msg string) {
	t := w.pages["error"]
	p := page{Title: http.StatusText(status), User: userFrom(r.Context()), Version: w.version,
		CSRF: w.csrfToken(w.csrfCookie(rw, r)), Data: map[string]any{"Status": status, "Message": msg}}
	var buf bytes.Buffer
	if t == nil || t.Execute(&buf, p) != nil {
		http.Error(rw, msg, status)
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.WriteHeader(status)
	_, _ = buf.WriteTo(rw)
}

func (w *Web) notFound(rw http.ResponseWriter, r *http.Request, what string) {
	w.errorPage(rw, r, http.StatusNotFound, what+" does not exist, or you may not see it.")
}

// redirect answers 303 See Other to path.
func redirect(rw http.ResponseWriter, r *http.Request, path string) {
	http.Redirect(rw, r, path, http.StatusSeeOther)
}

// labError answers a refusal of core/lab as a page (what names the object
// of a "not found"); other errors are internal.
func (w *Web) labError(rw http.ResponseWriter, r *http.Request, err error, what string) {
	e, ok := lab.AsError(err)
	if !ok {
		w.fail(rw, r, fmt.Errorf("%s: %w", what, err))
		return
	}
	switch e.Kind {
	case lab.KindNotFound:
		w.notFound(rw, r, what)
	case lab.KindUnauthenticated:
		w.errorPage(rw, r, http.StatusUnauthorized, "Log in first.")
	case lab.KindForbidden:
		w.errorPage(rw, r, http.StatusForbidden, "Refused: "+e.Msg+".")
	case lab.KindConflict, lab.KindExists:
		w.errorPage(rw, r, http.StatusConflict, "Refused: "+e.Msg+".")
	default:
		w.errorPage(rw, r, http.StatusBadRequest, "Refused: "+e.Msg+".")
	}
}
