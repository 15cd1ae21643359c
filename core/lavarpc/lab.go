package lavarpc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/lavalab/lavalab/core/auth"
	"github.com/lavalab/lavalab/core/devdict"
	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/lavatemplate"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// storeFault turns the store's errors into LAVA's faults; what names the
// object ("Device 'x'").
func storeFault(err error, what string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Faultf(404, "%s was not found.", what)
	case errors.Is(err, store.ErrExists):
		return Faultf(400, "Bad request: %s already exists.", what)
	case errors.Is(err, store.ErrInvalid):
		return Faultf(400, "Bad request: %s", cleanErr(err))
	case errors.Is(err, store.ErrConflict):
		return Faultf(400, "Bad request: %s", cleanErr(err))
	}
	return fmt.Errorf("%s: %w", what, err)
}

func cleanErr(err error) string {
	s := err.Error()
	for _, suf := range []string{": invalid", ": conflict"} {
		s = strings.TrimSuffix(s, suf)
	}
	return s
}

// DeviceStatus is LAVA's "status display" of a device.
func DeviceStatus(d model.Device) string {
	switch {
	case d.Health == model.DeviceRetired:
		return "retired"
	case d.State == model.DeviceReserved:
		return "reserved"
	case d.State == model.DeviceRunning:
		return "running"
	case d.Health == model.DeviceGood || d.Health == model.DeviceUnknown:
		return "idle"
	}
	return "offline"
}

func jobOrNil(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func (s *Server) device(ctx context.Context, a args, i int) (model.Device, error) {
	h, err := a.str(i)
	if err != nil {
		return model.Device{}, err
	}
	d, err := s.st.Device(ctx, h)
	if err != nil {
		return model.Device{}, storeFault(err, fmt.Sprintf("Device '%s'", h))
	}
	return d, nil
}

func (s *Server) deviceType(ctx context.Context, a args, i int) (model.DeviceType, error) {
	n, err := a.str(i)
	if err != nil {
		return model.DeviceType{}, err
	}
	dt, err := s.st.DeviceType(ctx, n)
	if err != nil {
		return model.DeviceType{}, storeFault(err, fmt.Sprintf("Device-type '%s'", n))
	}
	return dt, nil
}

func parseDeviceHealth(s string) (model.DeviceHealth, error) {
	h, err := model.ParseDeviceHealth(s)
	if err != nil {
		return 0, Faultf(400, "Invalid health '%s'", s)
	}
	return h, nil
}

// RenderDictionary is what get_dictionary(render=True) answers here: the
// device's settings as the driver gets them (the device type's admin
// overrides, then the dictionary's values), as YAML. The driver's own
// defaults come first at run time; they are not known to the server.
func RenderDictionary(dt model.DeviceType, text string) ([]byte, error) {
	d, err := devdict.Parse([]byte(text))
	if err != nil {
		return nil, Faultf(400, "Invalid device dictionary: %v", err)
	}
	out := map[string]any{"device_type": dt.Name, "settings": devdict.Merge(dt.Settings, d.Values)}
	b, err := yaml.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("rendering the dictionary: %w", err)
	}
	return b, nil
}

func (s *Server) registerDevices() {
	s.add(&method{name: "scheduler.devices.list", sig: []string{"array", "boolean", "boolean"}, min: 0, max: 2,
		help: "list(show_all=False, offline_info=False) → [{hostname, type, health, state, current_job, pipeline}]; retired devices only with show_all.",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			all, err := a.optBool(0, false)
			if err != nil {
				return nil, err
			}
			offline, err := a.optBool(1, false)
			if err != nil {
				return nil, err
			}
			devs, err := s.st.ListDevices(ctx, store.DeviceFilter{IncludeRetired: all})
			if err != nil {
				return nil, fmt.Errorf("listing devices: %w", err)
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
		}})
	s.add(&method{name: "scheduler.devices.show", sig: []string{"struct", "string"}, min: 1, max: 1,
		help: "Details of a device.",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			d, err := s.device(ctx, a, 0)
			if err != nil {
				return nil, err
			}
			hc := false
			if dt, err := s.st.DeviceType(ctx, d.DeviceType); err == nil {
				hc = dt.HealthCheck != "" && !dt.HealthDisabled
			}
			return map[string]any{"hostname": d.Hostname, "device_type": d.DeviceType, "health": d.Health.String(),
				"state": d.State.String(), "health_job": hc, "description": d.Description, "pipeline": true,
				"has_device_dict": strings.TrimSpace(d.Dictionary) != "", "worker": strOrNil(d.Worker),
				"current_job": jobOrNil(d.CurrentJob), "tags": nonNil(d.Tags)}, nil
		}})
	s.add(&method{name: "scheduler.devices.get_dictionary", sig: []string{"base64", "string", "boolean", "string"}, min: 1, max: 3,
		help: "get_dictionary(hostname, render=False, context=None): the device dictionary as stored (jinja2 or YAML form); render=True gives the merged settings as YAML (context is ignored).",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			// The dictionary may hold power-switch credentials: admins only.
			if err := needAdmin(c); err != nil {
				return nil, err
			}
			d, err := s.device(ctx, a, 0)
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
			if strings.TrimSpace(d.Dictionary) == "" {
				return nil, Faultf(404, "Device '%s' does not have a configuration", d.Hostname)
			}
			if !rend {
				return Binary(d.Dictionary), nil
			}
			dt, err := s.st.DeviceType(ctx, d.DeviceType)
			if err != nil {
				return nil, storeFault(err, fmt.Sprintf("Device-type '%s'", d.DeviceType))
			}
			b, err := RenderDictionary(dt, d.Dictionary)
			if err != nil {
				return nil, err
			}
			return Binary(b), nil
		}})
	s.add(&method{name: "scheduler.devices.set_dictionary", sig: []string{"boolean", "string", "string"}, min: 2, max: 2,
		help: "set_dictionary(hostname, text): store a device dictionary (jinja2 or YAML form; checked first).",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			if err := needAdmin(c); err != nil {
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
			if _, err := devdict.Parse([]byte(text)); err != nil {
				return nil, Faultf(400, "Invalid device dictionary: %v", err)
			}
			if _, err := s.st.UpdateDevice(ctx, h, func(d *model.Device) error { d.Dictionary = text; return nil }); err != nil {
				return nil, storeFault(err, fmt.Sprintf("Device '%s'", h))
			}
			return true, nil
		}})
	s.add(&method{name: "scheduler.devices.add", sig: []string{"nil", "string", "string", "string", "string", "string", "boolean", "string", "string"}, min: 3, max: 8,
		help: "add(hostname, type_name, worker_hostname, user_name=None, group_name=None, public=True, health=None, description=None); user, group and public are ignored.",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			if err := needAdmin(c); err != nil {
				return nil, err
			}
			var d model.Device
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
			for i := 3; i <= 4; i++ {
				if _, err := a.optStr(i, ""); err != nil {
					return nil, err
				}
			}
			if _, err := a.optBool(5, true); err != nil {
				return nil, err
			}
			health, err := a.optStr(6, "")
			if err != nil {
				return nil, err
			}
			d.Health = model.DeviceUnknown
			if health != "" {
				if d.Health, err = parseDeviceHealth(health); err != nil {
					return nil, err
				}
			}
			if d.Description, err = a.optStr(7, ""); err != nil {
				return nil, err
			}
			if _, err := s.st.DeviceType(ctx, d.DeviceType); err != nil {
				return nil, storeFault(err, fmt.Sprintf("Device-type '%s'", d.DeviceType))
			}
			if _, err := s.st.Worker(ctx, d.Worker); err != nil {
				return nil, storeFault(err, fmt.Sprintf("Worker '%s'", d.Worker))
			}
			if err := s.st.CreateDevice(ctx, d); err != nil {
				return nil, storeFault(err, fmt.Sprintf("Device '%s'", d.Hostname))
			}
			return nil, nil
		}})
	s.add(&method{name: "scheduler.devices.update", sig: []string{"nil", "string", "string", "string", "string", "boolean", "string", "string", "string"}, min: 1, max: 8,
		help: "update(hostname, worker_hostname=None, user_name=None, group_name=None, public=True, health=None, description=None, device_type=None); None leaves a field as is.",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			if err := needAdmin(c); err != nil {
				return nil, err
			}
			h, err := a.str(0)
			if err != nil {
				return nil, err
			}
			worker, err := a.optStrPtr(1)
			if err != nil {
				return nil, err
			}
			for i := 2; i <= 3; i++ {
				if _, err := a.optStr(i, ""); err != nil {
					return nil, err
				}
			}
			if _, err := a.optBool(4, true); err != nil {
				return nil, err
			}
			health, err := a.optStrPtr(5)
			if err != nil {
				return nil, err
			}
			desc, err := a.optStrPtr(6)
			if err != nil {
				return nil, err
			}
			dtype, err := a.optStrPtr(7)
			if err != nil {
				return nil, err
			}
			if _, err := s.st.Device(ctx, h); err != nil {
				return nil, storeFault(err, fmt.Sprintf("Device '%s'", h))
			}
			if worker != nil {
				if _, err := s.st.Worker(ctx, *worker); err != nil {
					return nil, storeFault(err, fmt.Sprintf("Worker '%s'", *worker))
				}
			}
			if dtype != nil {
				if _, err := s.st.DeviceType(ctx, *dtype); err != nil {
					return nil, storeFault(err, fmt.Sprintf("Device-type '%s'", *dtype))
				}
			}
			var hv model.DeviceHealth
			if health != nil {
				if hv, err = parseDeviceHealth(*health); err != nil {
					return nil, err
				}
			}
			if worker != nil || desc != nil || dtype != nil {
				_, err := s.st.UpdateDevice(ctx, h, func(d *model.Device) error {
					if worker != nil {
						d.Worker = *worker
					}
					if desc != nil {
						d.Description = *desc
					}
					if dtype != nil {
						d.DeviceType = *dtype
					}
					return nil
				})
				if err != nil {
					return nil, storeFault(err, fmt.Sprintf("Device '%s'", h))
				}
			}
			if health != nil {
				if _, err := s.st.SetDeviceHealth(ctx, h, hv); err != nil {
					return nil, storeFault(err, fmt.Sprintf("Device '%s'", h))
				}
			}
			return nil, nil
		}})
	s.add(&method{name: "scheduler.devices.tags.list", sig: []string{"array", "string"}, min: 1, max: 1,
		help: "The tags of a device.",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			d, err := s.device(ctx, a, 0)
			if err != nil {
				return nil, err
			}
			return nonNil(d.Tags), nil
		}})
	for _, op := range []string{"add", "delete"} {
		s.add(&method{name: "scheduler.devices.tags." + op, sig: []string{"nil", "string", "string"}, min: 2, max: 2,
			help: op + "(hostname, tag): " + op + " a tag of a device (add creates the tag when needed).",
			fn: func(ctx context.Context, c *Caller, a args) (any, error) {
				if err := needAdmin(c); err != nil {
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
				if strings.TrimSpace(tag) == "" {
					return nil, Faultf(400, "Bad request: empty tag name")
				}
				_, err = s.st.UpdateDevice(ctx, h, func(d *model.Device) error {
					if op == "add" {
						if !slices.Contains(d.Tags, tag) {
							d.Tags = append(d.Tags, tag)
						}
						return nil
					}
					d.Tags = slices.DeleteFunc(d.Tags, func(t string) bool { return t == tag })
					return nil
				})
				if err != nil {
					return nil, storeFault(err, fmt.Sprintf("Device '%s'", h))
				}
				return nil, nil
			}})
	}
}

func (s *Server) typeDevices(ctx context.Context, name string, retired bool) ([]string, error) {
	devs, err := s.st.ListDevices(ctx, store.DeviceFilter{DeviceType: name, IncludeRetired: retired})
	if err != nil {
		return nil, fmt.Errorf("devices of %q: %w", name, err)
	}
	out := []string{}
	for _, d := range devs {
		out = append(out, d.Hostname)
	}
	return out, nil
}

func denominator(s string) (string, error) {
	switch strings.ToLower(s) {
	case "hours", "hour", "0":
		return "hours", nil
	case "jobs", "job", "1":
		return "jobs", nil
	}
	return "", Faultf(400, "Bad request: health_denominator must be 'hours' or 'jobs', not '%s'", s)
}

func (s *Server) registerDeviceTypes() {
	s.add(&method{name: "scheduler.device_types.list", sig: []string{"array", "boolean"}, min: 0, max: 1,
		help: "list(show_all=False) → [{name, devices, installed, template}]; hidden types only with show_all.",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			all, err := a.optBool(0, false)
			if err != nil {
				return nil, err
			}
			dts, err := s.st.ListDeviceTypes(ctx)
			if err != nil {
				return nil, fmt.Errorf("listing device types: %w", err)
			}
			out := []any{}
			for _, dt := range dts {
				devs, err := s.typeDevices(ctx, dt.Name, false)
				if err != nil {
					return nil, err
				}
				if !all && !dt.Display && len(devs) == 0 {
					continue
				}
				out = append(out, map[string]any{"name": dt.Name, "devices": len(devs), "installed": true, "template": true})
			}
			return out, nil
		}})
	s.add(&method{name: "scheduler.device_types.show", sig: []string{"struct", "string"}, min: 1, max: 1,
		help: "Details of a device type.",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			dt, err := s.deviceType(ctx, a, 0)
			if err != nil {
				return nil, err
			}
			devs, err := s.typeDevices(ctx, dt.Name, false)
			if err != nil {
				return nil, err
			}
			den := dt.HealthDenominator
			if den == "" {
				den = "hours"
			}
			return map[string]any{"name": dt.Name, "description": dt.Description, "display": dt.Display,
				"health_disabled": dt.HealthDisabled, "health_denominator": den, "health_frequency": dt.HealthFrequency,
				"aliases": nonNil(dt.Aliases), "devices": nonNil(devs), "default_template": len(dt.Settings) == 0}, nil
		}})
	s.add(&method{name: "scheduler.device_types.get_template", sig: []string{"base64", "string"}, min: 1, max: 1,
		help: "The device type's settings overrides as YAML (this server's counterpart of LAVA's jinja2 template).",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			dt, err := s.deviceType(ctx, a, 0)
			if err != nil {
				return nil, err
			}
			if text, ok := importedTemplate(dt); ok {
				return Binary(text), nil // issue 16: the LAVA template it was imported from
			}
			set := dt.Settings
			if set == nil {
				set = map[string]any{}
			}
			b, err := yaml.Marshal(set)
			if err != nil {
				return nil, fmt.Errorf("settings of %q: %w", dt.Name, err)
			}
			return Binary(b), nil
		}})
	s.add(&method{name: "scheduler.device_types.set_template", sig: []string{"boolean", "string", "string"}, min: 2, max: 2,
		help: "set_template(name, yaml): replace the device type's settings overrides (a YAML mapping; empty clears).",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			if err := needAdmin(c); err != nil {
				return nil, err
			}
			n, err := a.str(0)
			if err != nil {
				return nil, err
			}
			text, err := a.str(1)
			if err != nil {
				return nil, err
			}
			if lavatemplate.IsTemplate(text) {
				return true, s.importTemplate(ctx, n, text) // issue 16: a LAVA template
			}
			var set map[string]any
			if err := yaml.Unmarshal([]byte(text), &set); err != nil {
				return nil, Faultf(400, "Bad request: the template must be a YAML mapping of settings: %v", err)
			}
			if _, err := s.st.UpdateDeviceType(ctx, n, func(dt *model.DeviceType) error { dt.Settings = set; return nil }); err != nil {
				return nil, storeFault(err, fmt.Sprintf("Device-type '%s'", n))
			}
			return true, nil
		}})
	s.add(&method{name: "scheduler.device_types.get_health_check", sig: []string{"base64", "string"}, min: 1, max: 1,
		help: "The device type's health-check job definition.",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			dt, err := s.deviceType(ctx, a, 0)
			if err != nil {
				return nil, err
			}
			if dt.HealthCheck == "" {
				return nil, Faultf(404, "Device-type '%s' has no health check.", dt.Name)
			}
			return Binary(dt.HealthCheck), nil
		}})
	s.add(&method{name: "scheduler.device_types.set_health_check", sig: []string{"boolean", "string", "string"}, min: 2, max: 2,
		help: "set_health_check(name, definition): store the health-check job (validated; empty removes it).",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			if err := needAdmin(c); err != nil {
				return nil, err
			}
			n, err := a.str(0)
			if err != nil {
				return nil, err
			}
			text, err := a.str(1)
			if err != nil {
				return nil, err
			}
			if strings.TrimSpace(text) != "" {
				if _, rep := job.Parse([]byte(text)); !rep.OK() {
					return nil, Faultf(400, "Invalid health-check: %s", issues(rep.Errors))
				}
			}
			if _, err := s.st.UpdateDeviceType(ctx, n, func(dt *model.DeviceType) error { dt.HealthCheck = text; return nil }); err != nil {
				return nil, storeFault(err, fmt.Sprintf("Device-type '%s'", n))
			}
			return true, nil
		}})
	s.add(&method{name: "scheduler.device_types.add", sig: []string{"nil", "string", "string", "boolean", "boolean", "int", "string"}, min: 1, max: 6,
		help: "add(name, description=None, display=True, owners_only=False, health_frequency=24, health_denominator='hours').",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			if err := needAdmin(c); err != nil {
				return nil, err
			}
			dt := model.DeviceType{HealthDenominator: "hours"}
			var err error
			if dt.Name, err = a.str(0); err != nil {
				return nil, err
			}
			if dt.Description, err = a.optStr(1, ""); err != nil {
				return nil, err
			}
			if dt.Display, err = a.optBool(2, true); err != nil {
				return nil, err
			}
			if _, err := a.optBool(3, false); err != nil {
				return nil, err
			}
			freq, err := a.optInt(4, 24)
			if err != nil {
				return nil, err
			}
			dt.HealthFrequency = int(freq)
			den, err := a.optStr(5, "hours")
			if err != nil {
				return nil, err
			}
			if dt.HealthDenominator, err = denominator(den); err != nil {
				return nil, err
			}
			if err := s.st.CreateDeviceType(ctx, dt); err != nil {
				return nil, storeFault(err, fmt.Sprintf("Device-type '%s'", dt.Name))
			}
			return nil, nil
		}})
	s.add(&method{name: "scheduler.device_types.update", sig: []string{"nil", "string", "string", "boolean", "boolean", "int", "string", "boolean"}, min: 1, max: 7,
		help: "update(name, description=None, display=None, owners_only=None, health_frequency=None, health_denominator=None, health_disabled=None); None leaves a field as is.",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			if err := needAdmin(c); err != nil {
				return nil, err
			}
			n, err := a.str(0)
			if err != nil {
				return nil, err
			}
			desc, err := a.optStrPtr(1)
			if err != nil {
				return nil, err
			}
			display, err := a.optBoolPtr(2)
			if err != nil {
				return nil, err
			}
			if _, err := a.optBoolPtr(3); err != nil {
				return nil, err
			}
			freq, err := a.optIntPtr(4)
			if err != nil {
				return nil, err
			}
			denArg, err := a.optStrPtr(5)
			if err != nil {
				return nil, err
			}
			var den string
			if denArg != nil {
				if den, err = denominator(*denArg); err != nil {
					return nil, err
				}
			}
			disabled, err := a.optBoolPtr(6)
			if err != nil {
				return nil, err
			}
			_, err = s.st.UpdateDeviceType(ctx, n, func(dt *model.DeviceType) error {
				if desc != nil {
					dt.Description = *desc
				}
				if display != nil {
					dt.Display = *display
				}
				if freq != nil {
					dt.HealthFrequency = int(*freq)
				}
				if den != "" {
					dt.HealthDenominator = den
				}
				if disabled != nil {
					dt.HealthDisabled = *disabled
				}
				return nil
			})
			if err != nil {
				return nil, storeFault(err, fmt.Sprintf("Device-type '%s'", n))
			}
			return nil, nil
		}})
	s.add(&method{name: "scheduler.device_types.aliases.list", sig: []string{"array", "string"}, min: 1, max: 1,
		help: "The aliases of a device type.",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			dt, err := s.deviceType(ctx, a, 0)
			if err != nil {
				return nil, err
			}
			return nonNil(dt.Aliases), nil
		}})
	s.add(&method{name: "scheduler.device_types.aliases.add", sig: []string{"nil", "string", "string"}, min: 2, max: 2,
		help: "aliases.add(name, alias).",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			n, err := a.str(0)
			if err != nil {
				return nil, err
			}
			alias, err := a.str(1)
			if err != nil {
				return nil, err
			}
			return nil, s.addAlias(ctx, c, alias, n)
		}})
	s.add(&method{name: "scheduler.device_types.aliases.delete", sig: []string{"nil", "string", "string"}, min: 2, max: 2,
		help: "aliases.delete(name, alias).",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			n, err := a.str(0)
			if err != nil {
				return nil, err
			}
			alias, err := a.str(1)
			if err != nil {
				return nil, err
			}
			return nil, s.deleteAlias(ctx, c, alias, n)
		}})
	s.add(&method{name: "scheduler.aliases.list", sig: []string{"array"}, min: 0, max: 0,
		help: "Every device-type alias.",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			idx, err := s.aliases(ctx)
			if err != nil {
				return nil, err
			}
			names := make([]string, 0, len(idx))
			for n := range idx {
				names = append(names, n)
			}
			slices.Sort(names)
			return nonNil(names), nil
		}})
	s.add(&method{name: "scheduler.aliases.show", sig: []string{"struct", "string"}, min: 1, max: 1,
		help: "show(name) → {name, device_type}.",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			n, err := a.str(0)
			if err != nil {
				return nil, err
			}
			idx, err := s.aliases(ctx)
			if err != nil {
				return nil, err
			}
			dt, ok := idx[n]
			if !ok {
				return nil, Faultf(404, "Alias '%s' was not found.", n)
			}
			return map[string]any{"name": n, "device_type": dt}, nil
		}})
	s.add(&method{name: "scheduler.aliases.add", sig: []string{"nil", "string", "string"}, min: 2, max: 2,
		help: "add(name, device_type).",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			n, err := a.str(0)
			if err != nil {
				return nil, err
			}
			dt, err := a.str(1)
			if err != nil {
				return nil, err
			}
			return nil, s.addAlias(ctx, c, n, dt)
		}})
	s.add(&method{name: "scheduler.aliases.delete", sig: []string{"nil", "string"}, min: 1, max: 1,
		help: "delete(name).",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			n, err := a.str(0)
			if err != nil {
				return nil, err
			}
			return nil, s.deleteAlias(ctx, c, n, "")
		}})
}

// aliases maps every alias to its device type.
func (s *Server) aliases(ctx context.Context) (map[string]string, error) {
	dts, err := s.st.ListDeviceTypes(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing device types: %w", err)
	}
	out := map[string]string{}
	for _, dt := range dts {
		for _, al := range dt.Aliases {
			out[al] = dt.Name
		}
	}
	return out, nil
}

func (s *Server) addAlias(ctx context.Context, c *Caller, alias, dtName string) error {
	if err := needAdmin(c); err != nil {
		return err
	}
	if strings.TrimSpace(alias) == "" {
		return Faultf(400, "Bad request: empty alias")
	}
	idx, err := s.aliases(ctx)
	if err != nil {
		return err
	}
	if owner, ok := idx[alias]; ok {
		return Faultf(400, "Bad request: alias '%s' already exists (device-type '%s').", alias, owner)
	}
	if _, err := s.st.DeviceType(ctx, alias); err == nil {
		return Faultf(400, "Bad request: '%s' is a device-type name.", alias)
	}
	_, err = s.st.UpdateDeviceType(ctx, dtName, func(dt *model.DeviceType) error {
		dt.Aliases = append(dt.Aliases, alias)
		return nil
	})
	if err != nil {
		return storeFault(err, fmt.Sprintf("Device-type '%s'", dtName))
	}
	return nil
}

// deleteAlias removes alias (of dtName, or of whichever type has it).
func (s *Server) deleteAlias(ctx context.Context, c *Caller, alias, dtName string) error {
	if err := needAdmin(c); err != nil {
		return err
	}
	idx, err := s.aliases(ctx)
	if err != nil {
		return err
	}
	owner, ok := idx[alias]
	if dtName != "" {
		if _, err := s.st.DeviceType(ctx, dtName); err != nil {
			return storeFault(err, fmt.Sprintf("Device-type '%s'", dtName))
		}
	}
	if !ok || (dtName != "" && owner != dtName) {
		return Faultf(404, "Alias '%s' was not found.", alias)
	}
	_, err = s.st.UpdateDeviceType(ctx, owner, func(dt *model.DeviceType) error {
		dt.Aliases = slices.DeleteFunc(dt.Aliases, func(x string) bool { return x == alias })
		return nil
	})
	if err != nil {
		return storeFault(err, fmt.Sprintf("Device-type '%s'", owner))
	}
	return nil
}

func parseWorkerHealth(s string) (model.WorkerHealth, error) {
	h, err := model.ParseWorkerHealth(s)
	if err != nil {
		return 0, Faultf(400, "Invalid health '%s'", s)
	}
	return h, nil
}

func (s *Server) registerWorkers() {
	s.add(&method{name: "scheduler.workers.list", sig: []string{"array", "boolean"}, min: 0, max: 1,
		help: "list(show_all=False): worker hostnames (retired ones only with show_all).",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			all, err := a.optBool(0, false)
			if err != nil {
				return nil, err
			}
			ws, err := s.st.ListWorkers(ctx)
			if err != nil {
				return nil, fmt.Errorf("listing workers: %w", err)
			}
			out := []any{}
			for _, w := range ws {
				if all || w.Health != model.WorkerRetired {
					out = append(out, w.Hostname)
				}
			}
			return out, nil
		}})
	s.add(&method{name: "scheduler.workers.show", sig: []string{"struct", "string"}, min: 1, max: 1,
		help: "Details of a worker (its token is never shown: only its hash is stored).",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			h, err := a.str(0)
			if err != nil {
				return nil, err
			}
			w, err := s.st.Worker(ctx, h)
			if err != nil {
				return nil, storeFault(err, fmt.Sprintf("Worker '%s'", h))
			}
			devs, err := s.st.ListDevices(ctx, store.DeviceFilter{Worker: h})
			if err != nil {
				return nil, fmt.Errorf("devices of worker %q: %w", h, err)
			}
			names := []string{}
			for _, d := range devs {
				names = append(names, d.Hostname)
			}
			return map[string]any{"hostname": w.Hostname, "description": w.Description, "state": w.State.String(),
				"health": w.Health.String(), "devices": nonNil(names), "last_ping": timeOrNil(w.LastPing),
				"job_limit": w.JobLimit, "version": strOrNil(w.Version),
				"default_config": true, "default_env": true, "default_env_dut": true}, nil
		}})
	s.add(&method{name: "scheduler.workers.add", sig: []string{"nil", "string", "string", "boolean"}, min: 1, max: 3,
		help: "add(hostname, description=None, disabled=False); give the worker a token with `lava-server worker token HOSTNAME`.",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			if err := needAdmin(c); err != nil {
				return nil, err
			}
			w := model.Worker{State: model.WorkerOffline}
			var err error
			if w.Hostname, err = a.str(0); err != nil {
				return nil, err
			}
			if w.Description, err = a.optStr(1, ""); err != nil {
				return nil, err
			}
			disabled, err := a.optBool(2, false)
			if err != nil {
				return nil, err
			}
			if disabled {
				w.Health = model.WorkerMaintenance
			}
			// A token nobody knows until the admin makes a new one.
			_, w.TokenHash = auth.NewWorkerToken()
			if err := s.st.CreateWorker(ctx, w); err != nil {
				return nil, storeFault(err, fmt.Sprintf("Worker '%s'", w.Hostname))
			}
			return nil, nil
		}})
	s.add(&method{name: "scheduler.workers.update", sig: []string{"nil", "string", "string", "string", "int"}, min: 1, max: 4,
		help: "update(hostname, description=None, health=None (ACTIVE|MAINTENANCE|RETIRED), job_limit=None).",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			if err := needAdmin(c); err != nil {
				return nil, err
			}
			h, err := a.str(0)
			if err != nil {
				return nil, err
			}
			desc, err := a.optStrPtr(1)
			if err != nil {
				return nil, err
			}
			health, err := a.optStrPtr(2)
			if err != nil {
				return nil, err
			}
			var hv model.WorkerHealth
			if health != nil {
				if hv, err = parseWorkerHealth(*health); err != nil {
					return nil, err
				}
			}
			limit, err := a.optIntPtr(3)
			if err != nil {
				return nil, err
			}
			if limit != nil && *limit < 0 {
				return nil, Faultf(400, "Bad request: job_limit must be >= 0")
			}
			_, err = s.st.UpdateWorker(ctx, h, func(w *model.Worker) error {
				if desc != nil {
					w.Description = *desc
				}
				if health != nil {
					w.Health = hv
				}
				if limit != nil {
					w.JobLimit = int(*limit)
				}
				return nil
			})
			if err != nil {
				return nil, storeFault(err, fmt.Sprintf("Worker '%s'", h))
			}
			return nil, nil
		}})
}

func (s *Server) registerTags() {
	s.add(&method{name: "scheduler.tags.list", sig: []string{"array"}, min: 0, max: 0,
		help: "Every tag: [{name, description}].",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			tags, err := s.st.ListTags(ctx)
			if err != nil {
				return nil, fmt.Errorf("listing tags: %w", err)
			}
			out := []any{}
			for _, t := range tags {
				out = append(out, map[string]any{"name": t.Name, "description": strOrNil(t.Description)})
			}
			return out, nil
		}})
	s.add(&method{name: "scheduler.tags.show", sig: []string{"struct", "string"}, min: 1, max: 1,
		help: "show(name) → {name, description, devices}.",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			n, err := a.str(0)
			if err != nil {
				return nil, err
			}
			tags, err := s.st.ListTags(ctx)
			if err != nil {
				return nil, fmt.Errorf("listing tags: %w", err)
			}
			i := slices.IndexFunc(tags, func(t model.Tag) bool { return t.Name == n })
			if i < 0 {
				return nil, Faultf(404, "Tag '%s' was not found.", n)
			}
			devs, err := s.st.ListDevices(ctx, store.DeviceFilter{IncludeRetired: true})
			if err != nil {
				return nil, fmt.Errorf("listing devices: %w", err)
			}
			names := []string{}
			for _, d := range devs {
				if slices.Contains(d.Tags, n) {
					names = append(names, d.Hostname)
				}
			}
			return map[string]any{"name": n, "description": strOrNil(tags[i].Description), "devices": nonNil(names)}, nil
		}})
	s.add(&method{name: "scheduler.tags.add", sig: []string{"nil", "string", "string"}, min: 1, max: 2,
		help: "add(name, description=None).",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			if err := needAdmin(c); err != nil {
				return nil, err
			}
			var t model.Tag
			var err error
			if t.Name, err = a.str(0); err != nil {
				return nil, err
			}
			if t.Description, err = a.optStr(1, ""); err != nil {
				return nil, err
			}
			if err := s.st.CreateTag(ctx, t); err != nil {
				return nil, storeFault(err, fmt.Sprintf("Tag '%s'", t.Name))
			}
			return nil, nil
		}})
	s.add(&method{name: "scheduler.tags.delete", sig: []string{"nil", "string"}, min: 1, max: 1,
		help: "delete(name).",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			if err := needAdmin(c); err != nil {
				return nil, err
			}
			n, err := a.str(0)
			if err != nil {
				return nil, err
			}
			if err := s.st.DeleteTag(ctx, n); err != nil {
				return nil, storeFault(err, fmt.Sprintf("Tag '%s'", n))
			}
			return nil, nil
		}})
}

func (s *Server) registerSystem() {
	s.add(&method{name: "system.version", sig: []string{"string"}, min: 0, max: 0,
		help: "The LAVA version this server speaks (lavacli picks its arguments from it).",
		fn:   func(context.Context, *Caller, args) (any, error) { return s.version, nil }})
	s.add(&method{name: "system.api_version", sig: []string{"int"}, min: 0, max: 0,
		help: "The XML-RPC API version: 2.",
		fn:   func(context.Context, *Caller, args) (any, error) { return 2, nil }})
	s.add(&method{name: "system.whoami", sig: []string{"string"}, min: 0, max: 0,
		help: "The caller's username, or None when anonymous.",
		fn: func(_ context.Context, c *Caller, _ args) (any, error) {
			if c.User == nil {
				return nil, nil
			}
			return c.User.Username, nil
		}})
	s.add(&method{name: "system.listMethods", sig: []string{"array"}, min: 0, max: 0,
		help: "Every method name.",
		fn:   func(context.Context, *Caller, args) (any, error) { return nonNil(s.Methods()), nil }})
	s.add(&method{name: "system.methodHelp", sig: []string{"string", "string"}, min: 1, max: 1,
		help: "The help text of a method.",
		fn: func(_ context.Context, _ *Caller, a args) (any, error) {
			n, err := a.str(0)
			if err != nil {
				return nil, err
			}
			if m, ok := s.methods[n]; ok {
				return m.help, nil
			}
			return "", nil
		}})
	s.add(&method{name: "system.methodSignature", sig: []string{"array", "string"}, min: 1, max: 1,
		help: "The signature of a method: [[return type, argument types...]], or 'undef'.",
		fn: func(_ context.Context, _ *Caller, a args) (any, error) {
			n, err := a.str(0)
			if err != nil {
				return nil, err
			}
			if m, ok := s.methods[n]; ok {
				return []any{nonNil(m.sig)}, nil
			}
			return "undef", nil
		}})
}

func (s *Server) register() {
	s.registerSystem()
	s.registerJobs()
	s.registerResults()
	s.registerDevices()
	s.registerDeviceTypes()
	s.registerWorkers()
	s.registerTags()
}
