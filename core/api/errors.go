package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/lavalab/lavalab/core/store"
)

// ErrorBody is the shape of every error answer:
// {"error": {"code": "...", "message": "...", "details": ...}}.
type ErrorBody struct {
	Error ErrorInfo `json:"error"`
}

// ErrorInfo is the inside of an ErrorBody. Code is stable (clients branch
// on it); Message is for people; Details is optional, e.g. the list of
// issues of an invalid job.
type ErrorInfo struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(ErrorBody{ErrorInfo{Code: "internal", Message: "encoding the answer: " + err.Error()}})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, code, msg string, details any) {
	writeJSON(w, status, ErrorBody{ErrorInfo{Code: code, Message: msg, Details: details}})
}

// NotFound answers 404 in the stable shape; a server's root router may
// use it for paths nobody serves.
func NotFound(w http.ResponseWriter, r *http.Request) { notFound(w, r) }

// MethodNotAllowed answers 405 in the stable shape.
func MethodNotAllowed(w http.ResponseWriter, r *http.Request) { methodNotAllowed(w, r) }

func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path), nil)
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path), nil)
}

// internal logs an unexpected error and answers 500 without its text.
func (a *API) internal(w http.ResponseWriter, r *http.Request, err error) {
	a.log.Error("api: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal", "internal server error (logged on the server)", nil)
}

// storeError answers a store error: not found 404, exists 409, conflict
// 409, invalid 400, else 500. what names the thing, for messages that
// must not show the store's internals.
func (a *API) storeError(w http.ResponseWriter, r *http.Request, err error, what string) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", what+" not found", nil)
	case errors.Is(err, store.ErrExists):
		writeError(w, http.StatusConflict, "exists", what+" already exists", nil)
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", cleanMsg(err), nil)
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid", cleanMsg(err), nil)
	default:
		a.internal(w, r, err)
	}
}

// cleanMsg drops the database's own words from a store error (they follow
// the sentinel in parentheses).
func cleanMsg(err error) string {
	m := err.Error()
	if i := strings.Index(m, " ("); i > 0 {
		m = m[:i]
	}
	return m
}

// readBody reads a size-limited body; false means an answer was written.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "body_too_large",
				fmt.Sprintf("request body is over the %d bytes limit", mbe.Limit), nil)
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "bad_request", "reading the request body: "+err.Error(), nil)
		return nil, false
	}
	return b, true
}

// isJSON reports whether the request says its body is JSON.
func isJSON(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/json"
}

// decodeJSON reads a size-limited JSON object into v, refusing unknown
// fields and trailing data; false means an answer was written.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !isJSON(r) {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type",
			fmt.Sprintf("Content-Type %q: want application/json", ct), nil)
		return false
	}
	b, ok := readBody(w, r, limit)
	if !ok {
		return false
	}
	return decodeBytes(w, b, v)
}

func decodeBytes(w http.ResponseWriter, b []byte, v any) bool {
	if len(strings.TrimSpace(string(b))) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_json", "empty request body: want a JSON object", nil)
		return false
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, jsonErrCode(err), "invalid JSON body: "+jsonErrMsg(err), nil)
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "invalid_json", "invalid JSON body: data after the JSON object", nil)
		return false
	}
	return true
}

func jsonErrCode(err error) string {
	if strings.HasPrefix(err.Error(), "json: unknown field ") {
		return "unknown_field"
	}
	return "invalid_json"
}

func jsonErrMsg(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return fmt.Sprintf("expected %v, got JSON %s", te.Type, te.Value)
		}
		return fmt.Sprintf("field %q: expected %v, got JSON %s", field, te.Type, te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of JSON"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// paramError answers 400 naming a query or path parameter.
func paramError(w http.ResponseWriter, name, msg string) {
	writeError(w, http.StatusBadRequest, "invalid_parameter", fmt.Sprintf("parameter %q: %s", name, msg),
		map[string]string{"parameter": name})
}

// intParam parses an optional integer query parameter within [lo, hi].
func intParam(w http.ResponseWriter, r *http.Request, name string, def, lo, hi int) (int, bool) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		paramError(w, name, fmt.Sprintf("%q is not an integer in [%d, %d]", s, lo, hi))
		return 0, false
	}
	return n, true
}
