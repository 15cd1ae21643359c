package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/auth"
	"github.com/lavalab/lavalab/core/lab"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// Body limits.
const (
	// MaxJobBody is the largest job submission (raw YAML or JSON).
	MaxJobBody = 1 << 20
	// MaxBody is the largest other request body.
	MaxBody = 1 << 20
)

// Options configure the API.
type Options struct {
	Store  store.Store
	Logger *slog.Logger
	// Version is the server's version, answered by /api/v1/system/version.
	Version string
	// Drivers is the driver registry of the default Lab (nil: the
	// /drivers endpoints answer 503 and device-type settings are not
	// checked). Unused when Lab is given: the server's service has its own.
	Drivers Drivers
	// Lab is the service the handlers call. Default: a core/lab service
	// on Store and Drivers; the server passes its own, shared by every
	// front-end.
	Lab *lab.Service
}

// API serves /api/v1 and /healthz.
type API struct {
	log     *slog.Logger
	version string
	lab     *lab.Service
}

// NewAPI returns the API, to Mount on a router shared with other parts
// (XML-RPC, the worker protocol, the web pages).
func NewAPI(o Options) *API {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v := o.Version
	if v == "" {
		v = "dev"
	}
	svc := o.Lab
	if svc == nil {
		svc = lab.New(lab.Options{Store: o.Store, Logger: log, Drivers: o.Drivers})
	}
	return &API{log: log, version: v, lab: svc}
}

// Lab is the service the API's handlers call.
func (a *API) Lab() *lab.Service { return a.lab }

// New returns a handler serving the API alone: /api/v1/..., /healthz, and
// JSON 404/405 answers everywhere else.
func New(o Options) http.Handler {
	a := NewAPI(o)
	r := chi.NewRouter()
	r.NotFound(notFound)
	r.MethodNotAllowed(methodNotAllowed)
	a.Mount(r)
	return r
}

// Mount adds /api/v1 and /healthz to r.
func (a *API) Mount(r chi.Router) {
	r.Mount("/api/v1", a.Routes())
	r.With(a.recoverer).Get("/healthz", a.healthz)
}

// Routes returns the /api/v1 router (paths relative to /api/v1).
func (a *API) Routes() chi.Router {
	r := chi.NewRouter()
	r.NotFound(notFound)
	r.MethodNotAllowed(methodNotAllowed)
	r.Use(a.recoverer, a.logRequests, a.authenticate)

	r.Get("/openapi.json", serveOpenAPI)
	r.Get("/system/version", a.systemVersion)

	r.Route("/jobs", a.jobRoutes)
	r.Route("/devices", a.deviceRoutes)
	r.Route("/device-types", a.deviceTypeRoutes)
	r.Route("/drivers", a.driverRoutes)
	r.Route("/workers", a.workerRoutes)
	r.Route("/tags", a.tagRoutes)
	r.Route("/users", a.userRoutes)
	r.Route("/groups", a.groupRoutes)
	return r
}

func (a *API) jobRoutes(r chi.Router) {
	r.Get("/", a.listJobs)
	r.Post("/", a.submitJob)
	r.Post("/validate", a.validateJob)
	r.Route("/{id}", func(r chi.Router) {
		r.Get("/", a.showJob)
		r.Get("/definition", a.jobDefinition)
		r.Post("/cancel", a.cancelJob)
		r.Post("/resubmit", a.resubmitJob)
		r.Get("/logs", a.jobLogs)
		r.Get("/results", a.jobResults)
	})
}

func (a *API) deviceRoutes(r chi.Router) {
	r.Get("/", a.listDevices)
	r.With(a.adminOnly).Post("/", a.createDevice)
	r.Get("/{hostname}", a.showDevice)
	r.With(a.adminOnly).Patch("/{hostname}", a.updateDevice)
	r.With(a.adminOnly).Post("/{hostname}/health", a.setDeviceHealth)
	r.Get("/{hostname}/health-history", a.deviceHealthHistory)
}

func (a *API) deviceTypeRoutes(r chi.Router) {
	r.Get("/", a.listDeviceTypes)
	r.With(a.adminOnly).Post("/", a.createDeviceType)
	r.Get("/{name}", a.showDeviceType)
	r.With(a.adminOnly).Patch("/{name}", a.updateDeviceType)
	r.Get("/{name}/settings", a.deviceTypeSettings)
	r.With(a.adminOnly).Put("/{name}/settings", a.replaceDeviceTypeSettings)
	r.With(a.adminOnly).Patch("/{name}/settings", a.mergeDeviceTypeSettings)
}

func (a *API) driverRoutes(r chi.Router) {
	r.Get("/", a.listDrivers)
	r.With(a.adminOnly).Post("/", a.uploadDriver)
	r.Get("/{name}", a.showDriver)
	r.With(a.adminOnly).Post("/{name}/activate", a.activateDriver)
	r.With(a.adminOnly).Post("/{name}/rollback", a.rollbackDriver)
	r.With(a.adminOnly).Get("/{sha256}/module", a.driverModule)
}

func (a *API) workerRoutes(r chi.Router) {
	r.Get("/", a.listWorkers)
	r.With(a.adminOnly).Post("/", a.createWorker)
	r.Get("/{hostname}", a.showWorker)
	r.With(a.adminOnly).Post("/{hostname}/token", a.rotateWorkerToken)
}

func (a *API) tagRoutes(r chi.Router) {
	r.Get("/", a.listTags)
	r.With(a.adminOnly).Post("/", a.createTag)
	r.With(a.adminOnly).Delete("/{name}", a.deleteTag)
}

func (a *API) userRoutes(r chi.Router) {
	r.With(a.adminOnly).Get("/", a.listUsers)
	r.With(a.adminOnly).Post("/", a.createUser)
	r.With(a.userOnly).Get("/me", a.me)
	r.With(a.userOnly).Get("/me/tokens", a.listTokens)
	r.With(a.userOnly).Post("/me/tokens", a.createToken)
	r.With(a.userOnly).Delete("/me/tokens/{id}", a.deleteToken)
}

func (a *API) groupRoutes(r chi.Router) {
	r.Use(a.adminOnly)
	r.Get("/", a.listGroups)
	r.Post("/", a.createGroup)
	r.Post("/{name}/members", a.addGroupMember)
}

// ---- middleware ----

// userFrom returns the authenticated user, or nil for anonymous.
func userFrom(ctx context.Context) *model.User { return lab.UserFrom(ctx) }

// authenticate resolves the Authorization header. No header: anonymous. A
// header that is malformed or names no token: 401, nothing else runs.
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, err := auth.FromHeader(r.Header.Get("Authorization"))
		if errors.Is(err, auth.ErrNoToken) {
			next.ServeHTTP(w, r)
			return
		}
		if err != nil {
			writeError(w, http.StatusUnauthorized, "unauthorized", err.Error(), nil)
			return
		}
		u, err := a.lab.Authenticate(r.Context(), secret)
		if lab.KindOf(err) == lab.KindUnauthenticated {
			writeError(w, http.StatusUnauthorized, "unauthorized", "invalid API token: no such token (it may have been deleted); make a new one with POST /api/v1/users/me/tokens or lava-server user add", nil)
			return
		}
		if err != nil {
			a.internal(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(lab.WithUser(r.Context(), &u)))
	})
}

// userOnly refuses anonymous requests with 401.
func (a *API) userOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := caller(r.Context()).NeedUser(); err != nil {
			a.labError(w, r, err, "")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// adminOnly refuses anonymous requests with 401 and non-admins with 403.
func (a *API) adminOnly(next http.Handler) http.Handler {
	return a.userOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := caller(r.Context()).NeedAdmin(); err != nil {
			a.labError(w, r, err, "")
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// recoverer turns a panic in a handler into a 500 of the usual shape and a
// log line; the server stays up.
func (a *API) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as net/http does
				panic(rec)
			}
			a.log.Error("api: panic in handler", "method", r.Method, "path", r.URL.Path, "panic", rec, "stack", string(debug.Stack()))
			writeError(w, http.StatusInternalServerError, "internal", "internal server error", nil)
		}()
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer
// (flushing, for log streaming later).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (a *API) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		lvl := slog.LevelDebug
		if sw.status >= 500 {
			lvl = slog.LevelError
		}
		a.log.Log(r.Context(), lvl, "api request", "method", r.Method, "path", r.URL.Path,
			"status", sw.status, "duration", time.Since(start))
	})
}

// ---- system ----

func (a *API) systemVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"version": a.version, "backend": a.lab.Backend()})
}

func (a *API) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := a.lab.Ping(ctx); err != nil {
		a.log.Error("healthz: store unreachable", "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the store does not answer", nil)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
