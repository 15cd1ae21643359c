package lavarpc

import (
	"context"
	"strings"

	"github.com/lavalab/lavalab/core/lab"
	"github.com/lavalab/lavalab/core/lavafmt"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

var deviceMethods = []method{
	{name: "scheduler.devices.list", sig: []string{"array", "boolean", "boolean"}, min: 0, max: 2,
		help: "list(show_all=False, offline_info=False) → [{hostname, type, health, state, current_job, pipeline}]; retired devices only with show_all.",
		fn:   (*Server).devicesList},
	{name: "scheduler.devices.show", sig: []string{"struct", "string"}, min: 1, max: 1,
		help: "Details of a device.",
		fn:   (*Server).devicesShow},
	{name: "scheduler.devices.get_dictionary", sig: []string{"base64", "string", "boolean", "string"}, min: 1, max: 3,
		help: "get_dictionary(hostname, render=False, context=None): the device dictionary as stored (jinja2 or YAML form); render=True gives the merged settings as YAML (context is ignored).",
		fn:   (*Server).devicesGetDictionary},
	{name: "scheduler.devices.set_dictionary", sig: []string{"boolean", "string", "string"}, min: 2, max: 2,
		help: "set_dictionary(hostname, text): store a device dictionary (jinja2 or YAML form; checked first).",
		fn:   (*Server).devicesSetDictionary},
	{name: "scheduler.devices.add", sig: []string{"nil", "string", "string", "string", "string", "string", "boolean", "string", "string"}, min: 3, max: 8,
		help: "add(hostname, type_name, worker_hostname, user_name=None, group_name=None, public=True, health=None, description=None); user, group and public are ignored.",
		fn:   (*Server).devicesAdd},
	{name: "scheduler.devices.update", sig: []string{"nil", "string", "string", "string", "string", "boolean", "string", "string", "string"}, min: 1, max: 8,
		help: "update(hostname, worker_hostname=None, user_name=None, group_name=None, public=True, health=None, description=None, device_type=None); None leaves a field as is.",
		fn:   (*Server).devicesUpdate},
	{name: "scheduler.devices.tags.list", sig: []string{"array", "string"}, min: 1, max: 1,
		help: "The tags of a device.",
		fn:   (*Server).devicesTags},
	{name: "scheduler.devices.tags.add", sig: []string{"nil", "string", "string"}, min: 2, max: 2,
		help: "add(hostname, tag): add a tag of a device (add creates the tag when needed).",
		fn:   tagDevice(false)},
	{name: "scheduler.devices.tags.delete", sig: []string{"nil", "string", "string"}, min: 2, max: 2,
		help: "delete(hostname, tag): delete a tag of a device (add creates the tag when needed).",
		fn:   tagDevice(true)},
}

func jobOrNil(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func (s *Server) device(ctx context.Context, c *Caller, a args, i int) (model.Device, error) {
	h, err := a.str(i)
	if err != nil {
		return model.Device{}, err
	}
	return s.lab.Device(ctx, *c, h)
}

func parseDeviceHealth(s string) (model.DeviceHealth, error) {
	h, err := model.ParseDeviceHealth(s)
	if err != nil {
		return 0, Faultf(400, "Invalid health '%s'", s)
	}
	return h, nil
}

func (s *Server) devicesList(ctx context.Context, c *Caller, a args) (any, error) {
	all, err := a.optBool(0, false)
	if err != nil {
		return nil, err
	}
	offline, err := a.optBool(1, false)
	if err != nil {
		return nil, err
	}
	devs, err := s.lab.ListDevices(ctx, *c, store.DeviceFilter{IncludeRetired: all})
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, d := range devs {
		m := map[string]any{"hostname": d.Hostname, "type": d.DeviceType, "health": d.Health.String(),
			"state": d.State.String(), "current_job": jobOrNil(d.CurrentJob), "pipeline": true}
		if offline {
			m["offline_since"] = nil
			m["offline_by"] = nil
		}
		out = append(out, m)
	}
	return out, nil
}

func (s *Server) devicesShow(ctx context.Context, c *Caller, a args) (any, error) {
	d, err := s.device(ctx, c, a, 0)
	if err != nil {
		return nil, err
	}
	hc := false
	if dt, err := s.lab.DeviceType(ctx, *c, d.DeviceType); err == nil {
		hc = dt.HealthCheck != "" && !dt.HealthDisabled
	}
	return map[string]any{"hostname": d.Hostname, "device_type": d.DeviceType, "health": d.Health.String(),
		"state": d.State.String(), "health_job": hc, "description": d.Description, "pipeline": true,
		"has_device_dict": strings.TrimSpace(d.Dictionary) != "", "worker": strOrNil(d.Worker),
		"current_job": jobOrNil(d.CurrentJob), "tags": nonNil(d.Tags)}, nil
}

func (s *Server) devicesGetDictionary(ctx context.Context, c *Caller, a args) (any, error) {
	// The dictionary may hold power-switch credentials: admins only.
	if err := c.NeedAdmin(); err != nil {
		return nil, err
	}
	h, err := a.str(0)
	if err != nil {
		return nil, err
	}
	rend, err := a.optBool(1, false)
	if err != nil {
		return nil, err
	}
	if _, err := a.optStr(2, ""); err != nil {
		return nil, err
	}
	d, err := s.lab.DeviceDictionary(ctx, *c, h, rend)
	if err != nil {
		return nil, err
	}
	if !rend {
		return Binary(d.Device.Dictionary), nil
	}
	b, err := lavafmt.RenderDictionary(d)
	if err != nil {
		return nil, err
	}
	return Binary(b), nil
}

func (s *Server) devicesSetDictionary(ctx context.Context, c *Caller, a args) (any, error) {
	if err := c.NeedAdmin(); err != nil {
		return nil, err
	}
	h, err := a.str(0)
	if err != nil {
		return nil, err
	}
	text, err := a.str(1)
	if err != nil {
		return nil, err
	}
	if err := s.lab.SetDictionary(ctx, *c, h, text); err != nil {
		return nil, err
	}
	return true, nil
}

func (s *Server) devicesAdd(ctx context.Context, c *Caller, a args) (any, error) {
	if err := c.NeedAdmin(); err != nil {
		return nil, err
	}
	d := model.Device{Health: model.DeviceUnknown}
	var err error
	if d.Hostname, err = a.str(0); err != nil {
		return nil, err
	}
	if d.DeviceType, err = a.str(1); err != nil {
		return nil, err
	}
	if d.Worker, err = a.str(2); err != nil {
		return nil, err
	}
	if err := a.ignoredStr(3, 4); err != nil {
		return nil, err
	}
	if _, err := a.optBool(5, true); err != nil {
		return nil, err
	}
	health, err := a.optStr(6, "")
	if err != nil {
		return nil, err
	}
	if health != "" {
		if d.Health, err = parseDeviceHealth(health); err != nil {
			return nil, err
		}
	}
	if d.Description, err = a.optStr(7, ""); err != nil {
		return nil, err
	}
	if d.Worker == "" { // LAVA's add needs a worker
		return nil, Faultf(404, "Worker '' was not found.")
	}
	_, err = s.lab.CreateDevice(ctx, *c, d)
	return nil, err
}

func (s *Server) devicesUpdate(ctx context.Context, c *Caller, a args) (any, error) {
	if err := c.NeedAdmin(); err != nil {
		return nil, err
	}
	h, err := a.str(0)
	if err != nil {
		return nil, err
	}
	var ch lab.DeviceChange
	if ch.Worker, err = a.optStrPtr(1); err != nil {
		return nil, err
	}
	if err := a.ignoredStr(2, 3); err != nil {
		return nil, err
	}
	if _, err := a.optBool(4, true); err != nil {
		return nil, err
	}
	health, err := a.optStrPtr(5)
	if err != nil {
		return nil, err
	}
	if ch.Description, err = a.optStrPtr(6); err != nil {
		return nil, err
	}
	if ch.DeviceType, err = a.optStrPtr(7); err != nil {
		return nil, err
	}
	if _, err := s.lab.Device(ctx, *c, h); err != nil {
		return nil, err
	}
	var hv model.DeviceHealth
	if health != nil {
		if hv, err = parseDeviceHealth(*health); err != nil {
			return nil, err
		}
	}
	if _, err := s.lab.UpdateDevice(ctx, *c, h, ch); err != nil {
		return nil, err
	}
	if health != nil {
		if _, err := s.lab.SetDeviceHealth(ctx, *c, h, hv, ""); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (s *Server) devicesTags(ctx context.Context, c *Caller, a args) (any, error) {
	d, err := s.device(ctx, c, a, 0)
	if err != nil {
		return nil, err
	}
	return nonNil(d.Tags), nil
}

func tagDevice(remove bool) methodFunc {
	return func(s *Server, ctx context.Context, c *Caller, a args) (any, error) {
		if err := c.NeedAdmin(); err != nil {
			return nil, err
		}
		h, err := a.str(0)
		if err != nil {
			return nil, err
		}
		tag, err := a.str(1)
		if err != nil {
			return nil, err
		}
		return nil, s.lab.TagDevice(ctx, *c, h, tag, remove)
	}
}
