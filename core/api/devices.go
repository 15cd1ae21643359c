package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/lab"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// ---- devices ----

func (a *API) listDevices(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.DeviceFilter{DeviceType: q.Get("device_type"), Worker: q.Get("worker")}
	if s := q.Get("retired"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			paramError(w, "retired", fmt.Sprintf("%q is not true or false", s))
			return
		}
		f.IncludeRetired = b
	}
	devs, err := a.lab.ListDevices(r.Context(), caller(r.Context()), f)
	if err != nil {
		a.labError(w, r, err, "devices")
		return
	}
	out := make([]DeviceView, 0, len(devs))
	for _, d := range devs {
		out = append(out, deviceView(d, false))
	}
	writeJSON(w, http.StatusOK, Page[DeviceView]{Count: len(out), Limit: len(out), Results: out})
}

func (a *API) showDevice(w http.ResponseWriter, r *http.Request) {
	h := chi.URLParam(r, "hostname")
	c := caller(r.Context())
	d, err := a.lab.Device(r.Context(), c, h)
	if err != nil {
		a.labError(w, r, err, fmt.Sprintf("device %q", h))
		return
	}
	writeJSON(w, http.StatusOK, deviceView(d, c.CanSeeDictionary()))
}

// DeviceCreate is the body of POST /devices.
type DeviceCreate struct {
	Hostname    string   `json:"hostname"`
	DeviceType  string   `json:"device_type"`
	Worker      string   `json:"worker"`
	Description string   `json:"description"`
	Dictionary  string   `json:"dictionary"`
	Tags        []string `json:"tags"`
	// Health is the starting health (default Unknown: a health check runs
	// first, or the device goes Good when its type has none).
	Health string `json:"health"`
}

func (a *API) createDevice(w http.ResponseWriter, r *http.Request) {
	var b DeviceCreate
	if !decodeJSON(w, r, MaxBody, &b) {
		return
	}
	if strings.TrimSpace(b.Hostname) == "" || strings.TrimSpace(b.DeviceType) == "" {
		writeError(w, http.StatusBadRequest, "invalid", "hostname and device_type are required", nil)
		return
	}
	d := model.Device{Hostname: b.Hostname, DeviceType: b.DeviceType, Worker: b.Worker, Description: b.Description,
		Dictionary: b.Dictionary, Tags: b.Tags, Health: model.DeviceUnknown}
	if b.Health != "" {
		h, err := model.ParseDeviceHealth(b.Health)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid", "health: "+err.Error(), nil)
			return
		}
		d.Health = h
	}
	d, err := a.lab.CreateDevice(r.Context(), caller(r.Context()), d)
	if err != nil {
		a.labError(w, r, err, fmt.Sprintf("device %q", b.Hostname))
		return
	}
	writeJSON(w, http.StatusCreated, deviceView(d, true))
}

// DeviceUpdate is the body of PATCH /devices/{hostname}: absent fields
// are kept.
type DeviceUpdate struct {
	Description *string   `json:"description"`
	Worker      *string   `json:"worker"`
	Dictionary  *string   `json:"dictionary"`
	Tags        *[]string `json:"tags"`
	DeviceType  *string   `json:"device_type"`
}

func (a *API) updateDevice(w http.ResponseWriter, r *http.Request) {
	h := chi.URLParam(r, "hostname")
	var b DeviceUpdate
	if !decodeJSON(w, r, MaxBody, &b) {
		return
	}
	d, err := a.lab.UpdateDevice(r.Context(), caller(r.Context()), h, lab.DeviceChange{Description: b.Description, Worker: b.Worker,
		Dictionary: b.Dictionary, Tags: b.Tags, DeviceType: b.DeviceType})
	if err != nil {
		a.labError(w, r, err, fmt.Sprintf("device %q", h))
		return
	}
	writeJSON(w, http.StatusOK, deviceView(d, true))
}

// HealthChange is the body of POST /devices/{hostname}/health.
type HealthChange struct {
	Health string `json:"health"`
	// Reason says why (kept in the device's health history with the
	// admin's name), e.g. a maintenance's.
	Reason string `json:"reason,omitempty"`
}

// HealthChangeView is one transition of GET /devices/{hostname}/health-history.
type HealthChangeView struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Cause  string    `json:"cause"`
	JobID  int64     `json:"job_id,omitempty"`
	Actor  string    `json:"actor,omitempty"`
	Reason string    `json:"reason,omitempty"`
}

// deviceHealthHistory answers a device's health transitions, newest first
// (?limit=N, default 100).
func (a *API) deviceHealthHistory(w http.ResponseWriter, r *http.Request) {
	h := chi.URLParam(r, "hostname")
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "invalid", "limit: want a number from 1 to 1000", nil)
			return
		}
		limit = n
	}
	hist, err := a.lab.DeviceHealthHistory(r.Context(), caller(r.Context()), h, limit)
	if err != nil {
		a.labError(w, r, err, fmt.Sprintf("device %q", h))
		return
	}
	out := make([]HealthChangeView, 0, len(hist))
	for _, c := range hist {
		out = append(out, HealthChangeView{ID: c.ID, At: c.At, From: c.From.String(), To: c.To.String(), Cause: c.Cause,
			JobID: c.JobID, Actor: c.Actor, Reason: c.Reason})
	}
	writeJSON(w, http.StatusOK, Page[HealthChangeView]{Count: len(out), Limit: limit, Results: out})
}

func (a *API) setDeviceHealth(w http.ResponseWriter, r *http.Request) {
	h := chi.URLParam(r, "hostname")
	var b HealthChange
	if !decodeJSON(w, r, MaxBody, &b) {
		return
	}
	health, err := model.ParseDeviceHealth(b.Health)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid", "health: "+err.Error(), nil)
		return
	}
	d, err := a.lab.SetDeviceHealth(r.Context(), caller(r.Context()), h, health, b.Reason)
	if err != nil {
		a.labError(w, r, err, fmt.Sprintf("device %q", h))
		return
	}
	writeJSON(w, http.StatusOK, deviceView(d, true))
}

// ---- device types ----

func (a *API) listDeviceTypes(w http.ResponseWriter, r *http.Request) {
	dts, err := a.lab.ListDeviceTypes(r.Context(), caller(r.Context()))
	if err != nil {
		a.labError(w, r, err, "device types")
		return
	}
	out := make([]DeviceTypeView, 0, len(dts))
	for _, dt := range dts {
		out = append(out, deviceTypeView(dt))
	}
	writeJSON(w, http.StatusOK, Page[DeviceTypeView]{Count: len(out), Limit: len(out), Results: out})
}

func (a *API) showDeviceType(w http.ResponseWriter, r *http.Request) {
	n := chi.URLParam(r, "name")
	dt, err := a.lab.DeviceType(r.Context(), caller(r.Context()), n)
	if err != nil {
		a.labError(w, r, err, fmt.Sprintf("device type %q", n))
		return
	}
	writeJSON(w, http.StatusOK, deviceTypeView(dt))
}

// DeviceTypeCreate is the body of POST /device-types.
type DeviceTypeCreate struct {
	Name              string         `json:"name"`
	Description       string         `json:"description"`
	HealthCheck       string         `json:"health_check"`
	HealthFrequency   int            `json:"health_frequency"`
	HealthDenominator string         `json:"health_denominator"`
	HealthDisabled    bool           `json:"health_disabled"`
	Aliases           []string       `json:"aliases"`
	Settings          map[string]any `json:"settings"`
	Display           *bool          `json:"display"`
	// Driver names the driver that runs the type (issue 16; "" = the
	// driver that declares the name).
	Driver string `json:"driver"`
}

func (a *API) createDeviceType(w http.ResponseWriter, r *http.Request) {
	var b DeviceTypeCreate
	if !decodeJSON(w, r, MaxBody, &b) {
		return
	}
	if strings.TrimSpace(b.Name) == "" {
		writeError(w, http.StatusBadRequest, "invalid", "name is required", nil)
		return
	}
	dt := model.DeviceType{Name: b.Name, Description: b.Description, HealthCheck: b.HealthCheck,
		HealthFrequency: b.HealthFrequency, HealthDenominator: b.HealthDenominator, HealthDisabled: b.HealthDisabled,
		Aliases: b.Aliases, Settings: b.Settings, Display: b.Display == nil || *b.Display, Driver: b.Driver}
	dt, err := a.lab.CreateDeviceType(r.Context(), caller(r.Context()), dt)
	if err != nil {
		a.labError(w, r, err, fmt.Sprintf("device type %q", b.Name))
		return
	}
	writeJSON(w, http.StatusCreated, deviceTypeView(dt))
}

// DeviceTypeUpdate is the body of PATCH /device-types/{name}: absent
// fields are kept. Settings are changed through /settings.
type DeviceTypeUpdate struct {
	Description       *string   `json:"description"`
	HealthCheck       *string   `json:"health_check"`
	HealthFrequency   *int      `json:"health_frequency"`
	HealthDenominator *string   `json:"health_denominator"`
	HealthDisabled    *bool     `json:"health_disabled"`
	Aliases           *[]string `json:"aliases"`
	Display           *bool     `json:"display"`
}

func (a *API) updateDeviceType(w http.ResponseWriter, r *http.Request) {
	n := chi.URLParam(r, "name")
	var b DeviceTypeUpdate
	if !decodeJSON(w, r, MaxBody, &b) {
		return
	}
	dt, err := a.lab.UpdateDeviceType(r.Context(), caller(r.Context()), n, func(dt *model.DeviceType) {
		set(&dt.Description, b.Description)
		set(&dt.HealthCheck, b.HealthCheck)
		set(&dt.HealthFrequency, b.HealthFrequency)
		set(&dt.HealthDenominator, b.HealthDenominator)
		set(&dt.HealthDisabled, b.HealthDisabled)
		set(&dt.Aliases, b.Aliases)
		set(&dt.Display, b.Display)
	})
	if err != nil {
		a.labError(w, r, err, fmt.Sprintf("device type %q", n))
		return
	}
	writeJSON(w, http.StatusOK, deviceTypeView(dt))
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// SettingsResult is the answer of the settings endpoints.
type SettingsResult struct {
	DeviceType string         `json:"device_type"`
	Settings   map[string]any `json:"settings"`
	// Driver is the active driver serving the device type, if any; the
	// overrides are checked against the settings it declares.
	Driver *DriverRef `json:"driver,omitempty"`
	// Effective lists the driver's settings with the overrides applied.
	Effective []EffectiveSetting `json:"effective,omitempty"`
}

func (a *API) deviceTypeSettings(w http.ResponseWriter, r *http.Request) {
	n := chi.URLParam(r, "name")
	dt, err := a.lab.DeviceType(r.Context(), caller(r.Context()), n)
	if err != nil {
		a.labError(w, r, err, fmt.Sprintf("device type %q", n))
		return
	}
	writeJSON(w, http.StatusOK, withDriver(SettingsResult{DeviceType: n, Settings: deviceTypeView(dt).Settings}, a.settingsDriver(n)))
}

// replaceDeviceTypeSettings (PUT): the body, a JSON object, becomes the
// whole set of overrides; {} removes them all.
func (a *API) replaceDeviceTypeSettings(w http.ResponseWriter, r *http.Request) {
	a.changeSettings(w, r, func(_ map[string]any, body map[string]any) map[string]any { return body })
}

// mergeDeviceTypeSettings (PATCH): JSON merge patch (RFC 7396) of the
// overrides: a key set to null is removed, objects merge recursively,
// anything else replaces.
func (a *API) mergeDeviceTypeSettings(w http.ResponseWriter, r *http.Request) {
	a.changeSettings(w, r, func(old, body map[string]any) map[string]any { return mergePatch(old, body) })
}

func (a *API) changeSettings(w http.ResponseWriter, r *http.Request, fn func(old, body map[string]any) map[string]any) {
	n := chi.URLParam(r, "name")
	var body map[string]any
	if !decodeJSON(w, r, MaxBody, &body) {
		return
	}
	if body == nil {
		writeError(w, http.StatusBadRequest, "invalid_json", "settings must be a JSON object", nil)
		return
	}
	drv := a.settingsDriver(n)
	if drv != nil {
		if err := CheckSettings(drv.Description.Settings, body); err != nil {
			var se *SettingError
			errors.As(err, &se)
			writeError(w, http.StatusBadRequest, "invalid_setting",
				fmt.Sprintf("device type %q, driver %s %s: %v", n, drv.Name, drv.Version, err), map[string]string{"key": se.Key})
			return
		}
	}
	dt, err := a.lab.UpdateDeviceType(r.Context(), caller(r.Context()), n, func(dt *model.DeviceType) {
		old := dt.Settings
		if old == nil {
			old = map[string]any{}
		}
		dt.Settings = fn(old, body)
	})
	if err != nil {
		a.labError(w, r, err, fmt.Sprintf("device type %q", n))
		return
	}
	a.log.Info("device type settings changed", "device_type", n, "method", r.Method, "by", userFrom(r.Context()).Username)
	writeJSON(w, http.StatusOK, withDriver(SettingsResult{DeviceType: n, Settings: deviceTypeView(dt).Settings}, drv))
}

// mergePatch applies a JSON merge patch (RFC 7396) to an object.
func mergePatch(dst, patch map[string]any) map[string]any {
	out := make(map[string]any, len(dst)+len(patch))
	for k, v := range dst {
		out[k] = v
	}
	for k, v := range patch {
		if v == nil {
			delete(out, k)
			continue
		}
		if pm, ok := v.(map[string]any); ok {
			dm, _ := out[k].(map[string]any)
			out[k] = mergePatch(dm, pm)
			continue
		}
		out[k] = v
	}
	return out
}

// ---- workers ----

func (a *API) listWorkers(w http.ResponseWriter, r *http.Request) {
	ws, err := a.lab.ListWorkers(r.Context(), caller(r.Context()))
	if err != nil {
		a.labError(w, r, err, "workers")
		return
	}
	out := make([]WorkerView, 0, len(ws))
	for _, wk := range ws {
		out = append(out, workerView(wk))
	}
	writeJSON(w, http.StatusOK, Page[WorkerView]{Count: len(out), Limit: len(out), Results: out})
}

func (a *API) showWorker(w http.ResponseWriter, r *http.Request) {
	h := chi.URLParam(r, "hostname")
	wk, err := a.lab.Worker(r.Context(), caller(r.Context()), h)
	if err != nil {
		a.labError(w, r, err, fmt.Sprintf("worker %q", h))
		return
	}
	writeJSON(w, http.StatusOK, workerView(wk))
}

// WorkerCreate is the body of POST /workers.
type WorkerCreate struct {
	Hostname    string `json:"hostname"`
	Description string `json:"description"`
	JobLimit    int    `json:"job_limit"`
}

func (a *API) createWorker(w http.ResponseWriter, r *http.Request) {
	var b WorkerCreate
	if !decodeJSON(w, r, MaxBody, &b) {
		return
	}
	if strings.TrimSpace(b.Hostname) == "" {
		writeError(w, http.StatusBadRequest, "invalid", "hostname is required", nil)
		return
	}
	wk := model.Worker{Hostname: b.Hostname, Description: b.Description, JobLimit: b.JobLimit,
		State: model.WorkerOffline, Health: model.WorkerActive}
	wk, secret, err := a.lab.CreateWorker(r.Context(), caller(r.Context()), wk)
	if err != nil {
		a.labError(w, r, err, fmt.Sprintf("worker %q", b.Hostname))
		return
	}
	v := workerView(wk)
	v.Token = secret
	writeJSON(w, http.StatusCreated, v)
}

func (a *API) rotateWorkerToken(w http.ResponseWriter, r *http.Request) {
	h := chi.URLParam(r, "hostname")
	wk, secret, err := a.lab.RotateWorkerToken(r.Context(), caller(r.Context()), h)
	if err != nil {
		a.labError(w, r, err, fmt.Sprintf("worker %q", h))
		return
	}
	v := workerView(wk)
	v.Token = secret
	writeJSON(w, http.StatusOK, v)
}

// ---- tags ----

// TagView is a tag.
type TagView struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

func (a *API) listTags(w http.ResponseWriter, r *http.Request) {
	tags, err := a.lab.ListTags(r.Context(), caller(r.Context()))
	if err != nil {
		a.labError(w, r, err, "tags")
		return
	}
	out := make([]TagView, 0, len(tags))
	for _, t := range tags {
		out = append(out, TagView(t))
	}
	writeJSON(w, http.StatusOK, Page[TagView]{Count: len(out), Limit: len(out), Results: out})
}

func (a *API) createTag(w http.ResponseWriter, r *http.Request) {
	var b TagView
	if !decodeJSON(w, r, MaxBody, &b) {
		return
	}
	if strings.TrimSpace(b.Name) == "" {
		writeError(w, http.StatusBadRequest, "invalid", "name is required", nil)
		return
	}
	if err := a.lab.CreateTag(r.Context(), caller(r.Context()), model.Tag(b)); err != nil {
		a.labError(w, r, err, fmt.Sprintf("tag %q", b.Name))
		return
	}
	writeJSON(w, http.StatusCreated, b)
}

func (a *API) deleteTag(w http.ResponseWriter, r *http.Request) {
	n := chi.URLParam(r, "name")
	if err := a.lab.DeleteTag(r.Context(), caller(r.Context()), n); err != nil {
		a.labError(w, r, err, fmt.Sprintf("tag %q", n))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
