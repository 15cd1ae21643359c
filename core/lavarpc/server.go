package lavarpc

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/lab"
	"github.com/lavalab/lavalab/core/lavafmt"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/version"
)

// Options configure the XML-RPC server.
type Options struct {
	// Lab is the service the methods call. Default: a core/lab service
	// on Store (tests); the server passes its own, shared by every
	// front-end.
	Lab    *lab.Service
	Store  store.Store
	Logger *slog.Logger
	// LAVAVersion is what system.version() answers; lavacli parses it to
	// pick argument lists. Default version.LAVACompat.
	LAVAVersion string
	// Now is the clock (default time.Now), for `since` in jobs.list.
	Now func() time.Time
}

// Server serves LAVA's XML-RPC API at /RPC2.
type Server struct {
	lab     *lab.Service
	log     *slog.Logger
	version string
	now     func() time.Time
	methods map[string]*method
}

// method is one XML-RPC method.
type method struct {
	name string
	// sig is the signature, return type first (system.methodSignature).
	sig  []string
	help string
	// min and max bound the number of arguments.
	min, max int
	fn       methodFunc
}

// methodFunc is a method's body: it reads its arguments, calls core/lab
// and shapes the answer.
type methodFunc func(s *Server, ctx context.Context, c *Caller, a args) (any, error)

// Caller is who calls: a nil User is anonymous.
type Caller = lab.Caller

// New returns the server.
func New(o Options) *Server {
	s := &Server{lab: o.Lab, log: o.Logger, version: o.LAVAVersion, now: o.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.lab == nil {
		s.lab = lab.New(lab.Options{Store: o.Store, Logger: s.log})
	}
	if s.version == "" {
		s.version = version.LAVACompat
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.methods = map[string]*method{}
	for _, group := range methodTables {
		for i := range group {
			s.add(&group[i])
		}
	}
	return s
}

// Mount adds POST /RPC2 (and /RPC2/) to r.
func (s *Server) Mount(r chi.Router) {
	r.Post("/RPC2", s.ServeHTTP)
	r.Post("/RPC2/", s.ServeHTTP)
}

func (s *Server) add(m *method) {
	if _, dup := s.methods[m.name]; dup {
		panic("lavarpc: method registered twice: " + m.name)
	}
	s.methods[m.name] = m
}

// Methods lists the method names, sorted.
func (s *Server) Methods() []string {
	out := make([]string, 0, len(s.methods))
	for n := range s.methods {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// callerName is the user's name as LAVA prints it in messages.
func callerName(c *Caller) string {
	if c.User == nil {
		return "AnonymousUser"
	}
	return c.User.Username
}

// httpError answers a plain-text HTTP error, as LAVA does for bad
// Authorization headers.
func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="XML-RPC Authentication token"`)
	}
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg))
}

// authenticate resolves HTTP Basic username:token. ok=false means an
// answer was written.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*Caller, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return &Caller{Via: "xml-rpc"}, true
	}
	scheme, rest, found := strings.Cut(strings.TrimSpace(h), " ")
	if !found || strings.TrimSpace(rest) == "" {
		httpError(w, http.StatusBadRequest, "Invalid HTTP_AUTHORIZATION header")
		return nil, false
	}
	if !strings.EqualFold(scheme, "Basic") {
		httpError(w, http.StatusBadRequest, "Unsupported HTTP_AUTHORIZATION header, only Basic scheme is supported")
		return nil, false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
	if err != nil {
		httpError(w, http.StatusBadRequest, "Corrupted HTTP_AUTHORIZATION header, bad base64 encoding")
		return nil, false
	}
	username, token, found := strings.Cut(string(raw), ":")
	if !found {
		httpError(w, http.StatusBadRequest, "Corrupted HTTP_AUTHORIZATION header, no user:pass")
		return nil, false
	}
	u, err := s.lab.Authenticate(r.Context(), token)
	if lab.KindOf(err) == lab.KindUnauthenticated || (err == nil && u.Username != username) {
		httpError(w, http.StatusUnauthorized, "Invalid token")
		return nil, false
	}
	if err != nil {
		s.log.Error("xml-rpc authentication", "err", err)
		httpError(w, http.StatusInternalServerError, "Internal error")
		return nil, false
	}
	return &Caller{User: &u, Via: "xml-rpc"}, true
}

// ServeHTTP answers one XML-RPC request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	start := time.Now()
	call, err := DecodeCall(r.Body)
	var out bytes.Buffer
	var f *Fault
	methodName := ""
	if err != nil {
		errors.As(err, &f)
	} else {
		methodName = call.Method
		var v any
		v, f = s.Call(r.Context(), c, call)
		if f == nil {
			if err := EncodeResponse(&out, v); err != nil {
				s.log.Error("xml-rpc encoding", "method", call.Method, "err", err)
				f = Faultf(CodeInternal, "Internal error: cannot encode the answer")
			}
		}
	}
	if f != nil {
		out.Reset()
		_ = EncodeFault(&out, f)
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Bytes())
	lvl := slog.LevelDebug
	attrs := []any{"method", methodName, "user", callerName(c), "duration", time.Since(start)}
	if f != nil {
		attrs = append(attrs, "fault", f.Code, "msg", f.Msg)
		if f.Code == CodeInternal {
			lvl = slog.LevelError
		}
	}
	s.log.Log(r.Context(), lvl, "xml-rpc", attrs...)
}

// Call runs a decoded call as c (exported for benchmarks and embedding).
func (s *Server) Call(ctx context.Context, c *Caller, call *Call) (v any, f *Fault) {
	m, ok := s.methods[call.Method]
	if !ok {
		return nil, Faultf(CodeNoMethod, "server error. requested method %s not found", call.Method)
	}
	if len(call.Params) < m.min || len(call.Params) > m.max {
		want := fmt.Sprintf("%d", m.min)
		if m.max != m.min {
			want = fmt.Sprintf("%d to %d", m.min, m.max)
		}
		return nil, Faultf(CodeInvalidParams, "%s() takes %s arguments (%d given)", call.Method, want, len(call.Params))
	}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("xml-rpc method panicked", "method", call.Method, "panic", p, "stack", string(debug.Stack()))
			v, f = nil, Faultf(CodeInternal, "Internal error")
		}
	}()
	v, err := m.fn(s, ctx, c, args{method: call.Method, p: call.Params})
	if err != nil {
		if errors.As(err, &f) {
			return nil, f
		}
		if e, ok := lab.AsError(err); ok {
			code, msg := lavafmt.Fault(e, *c)
			return nil, Faultf(code, "%s", msg)
		}
		s.log.Error("xml-rpc method failed", "method", call.Method, "err", err)
		return nil, Faultf(CodeInternal, "Internal error")
	}
	return v, nil
}

// args reads a call's parameters with LAVA's defaults.
type args struct {
	method string
	p      []any
}

func (a args) bad(i int, want string) *Fault {
	return Faultf(CodeInvalidParams, "%s: argument %d must be %s, not %s", a.method, i+1, want, pyType(a.p[i]))
}

func pyType(v any) string {
	switch v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case time.Time:
		return "DateTime"
	case Binary:
		return "Binary"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}

// has reports whether argument i was given and is not nil.
func (a args) has(i int) bool { return i < len(a.p) && a.p[i] != nil }

// str reads a string argument (Binary accepted: lavacli sends text).
func (a args) str(i int) (string, error) {
	if i >= len(a.p) {
		return "", Faultf(CodeInvalidParams, "%s: missing argument %d", a.method, i+1)
	}
	switch v := a.p[i].(type) {
	case string:
		return v, nil
	case Binary:
		return string(v), nil
	}
	return "", a.bad(i, "a string")
}

// optStr reads an optional string (nil or absent → def).
func (a args) optStr(i int, def string) (string, error) {
	if !a.has(i) {
		return def, nil
	}
	return a.str(i)
}

// ignoredStr checks the optional string arguments from..to that LAVA
// takes and this lab ignores.
func (a args) ignoredStr(from, to int) error {
	for i := from; i <= to; i++ {
		if _, err := a.optStr(i, ""); err != nil {
			return err
		}
	}
	return nil
}

// optStrPtr reads an optional string: nil when absent or None.
func (a args) optStrPtr(i int) (*string, error) {
	if !a.has(i) {
		return nil, nil
	}
	s, err := a.str(i)
	return &s, err
}

func (a args) optInt(i int, def int64) (int64, error) {
	if !a.has(i) {
		return def, nil
	}
	switch v := a.p[i].(type) {
	case int64:
		return v, nil
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	}
	return 0, a.bad(i, "an int")
}

func (a args) optIntPtr(i int) (*int64, error) {
	if !a.has(i) {
		return nil, nil
	}
	n, err := a.optInt(i, 0)
	return &n, err
}

func (a args) optBool(i int, def bool) (bool, error) {
	if !a.has(i) {
		return def, nil
	}
	switch v := a.p[i].(type) {
	case bool:
		return v, nil
	case int64:
		return v != 0, nil
	}
	return false, a.bad(i, "a bool")
}

func (a args) optBoolPtr(i int) (*bool, error) {
	if !a.has(i) {
		return nil, nil
	}
	b, err := a.optBool(i, false)
	return &b, err
}

// ref reads a job id: an int, or a string holding an int or a multinode
// sub id ("12.1").
func (a args) ref(i int) (string, error) {
	if i >= len(a.p) {
		return "", Faultf(CodeInvalidParams, "%s: missing argument %d", a.method, i+1)
	}
	switch v := a.p[i].(type) {
	case int64:
		return fmt.Sprint(v), nil
	case string:
		return strings.TrimSpace(v), nil
	}
	return "", a.bad(i, "a job id (int or str)")
}
