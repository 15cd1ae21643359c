package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/lab"
	"github.com/lavalab/lavalab/sdk"
)

// MaxDriverBody is the largest driver module accepted by POST /drivers.
const MaxDriverBody = 64 << 20

// The driver registry as the lab sees it (core/lab): the API answers its
// types and maps its errors.
type (
	DriverInfo    = lab.DriverInfo
	DriverRefusal = lab.DriverRefusal
	Drivers       = lab.Drivers
)

// Errors a Drivers implementation wraps so the API answers the right status.
var (
	ErrDriverNotFound = lab.ErrDriverNotFound // 404
	ErrDriverRefused  = lab.ErrDriverRefused  // 422
	ErrDriverConflict = lab.ErrDriverConflict // 409
)

// DriverList is the answer of GET /drivers.
type DriverList struct {
	Count   int             `json:"count"`
	Results []DriverInfo    `json:"results"`
	Refused []DriverRefusal `json:"refused"`
}

// DriverDetail is the answer of GET /drivers/{name}: the active version
// (null if none) and every known version, oldest first.
type DriverDetail struct {
	Name     string       `json:"name"`
	Active   *DriverInfo  `json:"active"`
	Versions []DriverInfo `json:"versions"`
}

// ActivateRequest is the body of POST /drivers/{name}/activate.
type ActivateRequest struct {
	SHA256 string `json:"sha256"`
}

// noDrivers answers 503 when the server runs without a driver registry.
func (a *API) noDrivers(w http.ResponseWriter) bool {
	if a.lab.HasDrivers() {
		return false
	}
	writeError(w, http.StatusServiceUnavailable, "unavailable", "this server runs without a driver registry", nil)
	return true
}

// driverError answers an error of the Drivers interface.
func (a *API) driverError(w http.ResponseWriter, r *http.Request, err error) {
	if _, ok := lab.AsError(err); ok {
		a.labError(w, r, err, "driver")
		return
	}
	switch {
	case errors.Is(err, lab.ErrNoDrivers):
		writeError(w, http.StatusServiceUnavailable, "unavailable", err.Error(), nil)
	case errors.Is(err, ErrDriverNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error(), nil)
	case errors.Is(err, ErrDriverRefused):
		writeError(w, http.StatusUnprocessableEntity, "driver_refused", err.Error(), nil)
	case errors.Is(err, ErrDriverConflict):
		writeError(w, http.StatusConflict, "conflict", err.Error(), nil)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusServiceUnavailable, "unavailable", err.Error(), nil)
	default:
		a.internal(w, r, err)
	}
}

func (a *API) listDrivers(w http.ResponseWriter, r *http.Request) {
	if a.noDrivers(w) {
		return
	}
	list, refused, err := a.lab.ListDrivers(r.Context(), caller(r.Context()))
	if err != nil {
		a.driverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, DriverList{Count: len(list), Results: orEmpty(list), Refused: orEmpty(refused)})
}

func (a *API) showDriver(w http.ResponseWriter, r *http.Request) {
	if a.noDrivers(w) {
		return
	}
	name := chi.URLParam(r, "name")
	active, versions, err := a.lab.Driver(r.Context(), caller(r.Context()), name)
	if err != nil {
		a.labError(w, r, err, fmt.Sprintf("driver %q", name))
		return
	}
	writeJSON(w, http.StatusOK, DriverDetail{Name: name, Active: active, Versions: versions})
}

// uploadDriver (POST /drivers): the body is the .wasm module. It is checked
// with describe before it is activated; a failing module is refused (422)
// with the reason and the active version does not change.
func (a *API) uploadDriver(w http.ResponseWriter, r *http.Request) {
	if a.noDrivers(w) {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		if mt != "application/wasm" && mt != "application/octet-stream" {
			writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type",
				fmt.Sprintf("Content-Type %q: want application/wasm (the .wasm module as the body)", ct), nil)
			return
		}
	}
	body, ok := readBody(w, r, MaxDriverBody)
	if !ok {
		return
	}
	if len(body) == 0 {
		writeError(w, http.StatusBadRequest, "bad_request", "empty body: send the .wasm module as the body", nil)
		return
	}
	name := r.URL.Query().Get("name")
	in, err := a.lab.InstallDriver(r.Context(), caller(r.Context()), name, body)
	if err != nil {
		a.driverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, in)
}

func (a *API) activateDriver(w http.ResponseWriter, r *http.Request) {
	if a.noDrivers(w) {
		return
	}
	var b ActivateRequest
	if !decodeJSON(w, r, MaxBody, &b) {
		return
	}
	if b.SHA256 == "" {
		writeError(w, http.StatusBadRequest, "invalid", "sha256 is required", nil)
		return
	}
	name := chi.URLParam(r, "name")
	in, err := a.lab.ActivateDriver(r.Context(), caller(r.Context()), name, strings.ToLower(b.SHA256))
	if err != nil {
		a.driverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, in)
}

func (a *API) rollbackDriver(w http.ResponseWriter, r *http.Request) {
	if a.noDrivers(w) {
		return
	}
	in, err := a.lab.RollbackDriver(r.Context(), caller(r.Context()), chi.URLParam(r, "name"))
	if err != nil {
		a.driverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, in)
}

func (a *API) driverModule(w http.ResponseWriter, r *http.Request) {
	a.ServeDriverModule(w, r, chi.URLParam(r, "sha256"))
}

// ServeDriverModule answers the bytes of the WASM module with SHA-256 sha
// (application/wasm, immutable: the name is the content). It does no
// authentication: the API mounts it for admins; the worker protocol mounts
// it behind its own worker authentication.
func (a *API) ServeDriverModule(w http.ResponseWriter, r *http.Request, sha string) {
	if a.noDrivers(w) {
		return
	}
	sha = strings.ToLower(sha)
	etag := `"` + sha + `"`
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	b, err := a.lab.DriverModule(r.Context(), sha)
	if err != nil {
		a.driverError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/wasm")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "private, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}

// DriverModuleHandler serves GET .../{sha256}: ServeDriverModule with the
// last path element as the SHA-256, for the worker protocol to mount
// behind its authentication.
func (a *API) DriverModuleHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimSuffix(r.URL.Path, "/module")
		a.ServeDriverModule(w, r, p[strings.LastIndex(p, "/")+1:])
	})
}

// ---- settings, checked against the driver's declared settings ----

// SettingSource says where an effective setting comes from.
const (
	SourceDefault  = "default"
	SourceOverride = "override"
)

// EffectiveSetting is one setting of a device type as a job gets it
// (before the device dictionary): the driver's default or the admin's
// override.
type EffectiveSetting struct {
	Key    string `json:"key"`
	Value  any    `json:"value"`
	Source string `json:"source"`
	Type   string `json:"type,omitempty"`
	Help   string `json:"help,omitempty"`
}

// DriverRef names the driver version a device type's settings are checked
// against.
type DriverRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
}

// SettingError is a setting refused by CheckSettings.
type SettingError struct {
	Key string
	Msg string
}

func (e *SettingError) Error() string { return fmt.Sprintf("setting %q: %s", e.Key, e.Msg) }

// CheckSettings checks override values against a driver's declared
// settings: every key must be declared and every value of the declared type
// (string, int, bool, list, map). A nil value is accepted (a merge patch's
// removal). The error is a *SettingError naming the first bad key (sorted).
func CheckSettings(specs []sdk.SettingSpec, values map[string]any) error {
	byKey := make(map[string]sdk.SettingSpec, len(specs))
	for _, s := range specs {
		byKey[s.Key] = s
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := values[k]
		spec, ok := byKey[k]
		if !ok {
			known := make([]string, 0, len(specs))
			for _, s := range specs {
				known = append(known, s.Key)
			}
			slices.Sort(known)
			return &SettingError{Key: k, Msg: "unknown setting; the driver declares: " + strings.Join(known, ", ")}
		}
		if v == nil {
			continue
		}
		if !typeMatches(spec.Type, v) {
			article := "a "
			if spec.Type == sdk.SettingInt {
				article = "an "
			}
			return &SettingError{Key: k, Msg: fmt.Sprintf("want %s%s, got %s", article, spec.Type, jsonKind(v))}
		}
	}
	return nil
}

func typeMatches(typ string, v any) bool {
	switch typ {
	case sdk.SettingString:
		_, ok := v.(string)
		return ok
	case sdk.SettingInt:
		switch n := v.(type) {
		case float64:
			return n == math.Trunc(n) && !math.IsInf(n, 0)
		case int, int64:
			return true
		}
		return false
	case sdk.SettingBool:
		_, ok := v.(bool)
		return ok
	case sdk.SettingList:
		_, ok := v.([]any)
		return ok
	case sdk.SettingMap:
		_, ok := v.(map[string]any)
		return ok
	}
	return true // a type this server does not know: the driver checks
}

func jsonKind(v any) string {
	switch n := v.(type) {
	case string:
		return fmt.Sprintf("the string %q", n)
	case float64:
		return "the number " + strconv.FormatFloat(n, 'g', -1, 64)
	case bool:
		return "a bool"
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	}
	return fmt.Sprintf("%T", v)
}

// EffectiveSettings lists a driver's settings with the overrides applied,
// by key, then the overrides the driver does not declare.
func EffectiveSettings(specs []sdk.SettingSpec, overrides map[string]any) []EffectiveSetting {
	out := make([]EffectiveSetting, 0, len(specs))
	seen := map[string]bool{}
	for _, s := range specs {
		seen[s.Key] = true
		e := EffectiveSetting{Key: s.Key, Value: s.Default, Source: SourceDefault, Type: s.Type, Help: s.Help}
		if v, ok := overrides[s.Key]; ok {
			e.Value, e.Source = v, SourceOverride
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	var extra []string
	for k := range overrides {
		if !seen[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		out = append(out, EffectiveSetting{Key: k, Value: overrides[k], Source: SourceOverride})
	}
	return out
}

// settingsDriver returns the active driver serving devType, or nil when
// there is no registry or no driver for it (settings are then not checked).
func (a *API) settingsDriver(devType string) *DriverInfo {
	in, err := a.lab.DriverForDeviceType(devType)
	if err != nil {
		return nil
	}
	return &in
}

// withDriver adds the driver and the effective settings to a result.
func withDriver(res SettingsResult, d *DriverInfo) SettingsResult {
	if d == nil {
		return res
	}
	res.Driver = &DriverRef{Name: d.Name, Version: d.Version, SHA256: d.SHA256}
	res.Effective = EffectiveSettings(d.Description.Settings, res.Settings)
	return res
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
