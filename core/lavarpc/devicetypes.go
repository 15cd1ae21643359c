package lavarpc

import (
	"context"
	"github.com/lavalab/lavalab/core/lavatemplate"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/lavalab/lavalab/core/lab"
	"github.com/lavalab/lavalab/core/lavafmt"
	"github.com/lavalab/lavalab/core/model"
)

var deviceTypeMethods = []method{
	{name: "scheduler.device_types.list", sig: []string{"array", "boolean"}, min: 0, max: 1,
		help: "list(show_all=False) → [{name, devices, installed, template}]; hidden types only with show_all.",
		fn:   (*Server).deviceTypesList},
	{name: "scheduler.device_types.show", sig: []string{"struct", "string"}, min: 1, max: 1,
		help: "Details of a device type.",
		fn:   (*Server).deviceTypesShow},
	{name: "scheduler.device_types.get_template", sig: []string{"base64", "string"}, min: 1, max: 1,
		help: "The device type's settings overrides as YAML (this server's counterpart of LAVA's jinja2 template).",
		fn:   (*Server).deviceTypesGetTemplate},
	{name: "scheduler.device_types.set_template", sig: []string{"boolean", "string", "string"}, min: 2, max: 2,
		help: "set_template(name, yaml): replace the device type's settings overrides (a YAML mapping; empty clears).",
		fn:   (*Server).deviceTypesSetTemplate},
	{name: "scheduler.device_types.get_health_check", sig: []string{"base64", "string"}, min: 1, max: 1,
		help: "The device type's health-check job definition.",
		fn:   (*Server).deviceTypesGetHealthCheck},
	{name: "scheduler.device_types.set_health_check", sig: []string{"boolean", "string", "string"}, min: 2, max: 2,
		help: "set_health_check(name, definition): store the health-check job (validated; empty removes it).",
		fn:   (*Server).deviceTypesSetHealthCheck},
	{name: "scheduler.device_types.add", sig: []string{"nil", "string", "string", "boolean", "boolean", "int", "string"}, min: 1, max: 6,
		help: "add(name, description=None, display=True, owners_only=False, health_frequency=24, health_denominator='hours').",
		fn:   (*Server).deviceTypesAdd},
	{name: "scheduler.device_types.update", sig: []string{"nil", "string", "string", "boolean", "boolean", "int", "string", "boolean"}, min: 1, max: 7,
		help: "update(name, description=None, display=None, owners_only=None, health_frequency=None, health_denominator=None, health_disabled=None); None leaves a field as is.",
		fn:   (*Server).deviceTypesUpdate},
	{name: "scheduler.device_types.aliases.list", sig: []string{"array", "string"}, min: 1, max: 1,
		help: "The aliases of a device type.",
		fn:   (*Server).deviceTypeAliases},
	{name: "scheduler.device_types.aliases.add", sig: []string{"nil", "string", "string"}, min: 2, max: 2,
		help: "aliases.add(name, alias).",
		fn:   (*Server).deviceTypeAliasAdd},
	{name: "scheduler.device_types.aliases.delete", sig: []string{"nil", "string", "string"}, min: 2, max: 2,
		help: "aliases.delete(name, alias).",
		fn:   (*Server).deviceTypeAliasDelete},
	{name: "scheduler.aliases.list", sig: []string{"array"}, min: 0, max: 0,
		help: "Every device-type alias.",
		fn:   (*Server).aliasesList},
	{name: "scheduler.aliases.show", sig: []string{"struct", "string"}, min: 1, max: 1,
		help: "show(name) → {name, device_type}.",
		fn:   (*Server).aliasesShow},
	{name: "scheduler.aliases.add", sig: []string{"nil", "string", "string"}, min: 2, max: 2,
		help: "add(name, device_type).",
		fn:   (*Server).aliasesAdd},
	{name: "scheduler.aliases.delete", sig: []string{"nil", "string"}, min: 1, max: 1,
		help: "delete(name).",
		fn:   (*Server).aliasesDelete},
}

func (s *Server) deviceType(ctx context.Context, c *Caller, a args, i int) (model.DeviceType, error) {
	n, err := a.str(i)
	if err != nil {
		return model.DeviceType{}, err
	}
	return s.lab.DeviceType(ctx, *c, n)
}

// strs reads the string arguments 0..n-1.
func (a args) strs(n int) ([]string, error) {
	out := make([]string, n)
	for i := range out {
		v, err := a.str(i)
		if err != nil {
			return nil, err
		}
		out[i] = v
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

func (s *Server) deviceTypesList(ctx context.Context, c *Caller, a args) (any, error) {
	all, err := a.optBool(0, false)
	if err != nil {
		return nil, err
	}
	dts, err := s.lab.ListDeviceTypes(ctx, *c)
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, dt := range dts {
		devs, err := s.lab.TypeDevices(ctx, *c, dt.Name, false)
		if err != nil {
			return nil, err
		}
		if !all && !dt.Display && len(devs) == 0 {
			continue
		}
		out = append(out, map[string]any{"name": dt.Name, "devices": len(devs), "installed": true, "template": true})
	}
	return out, nil
}

func (s *Server) deviceTypesShow(ctx context.Context, c *Caller, a args) (any, error) {
	dt, err := s.deviceType(ctx, c, a, 0)
	if err != nil {
		return nil, err
	}
	devs, err := s.lab.TypeDevices(ctx, *c, dt.Name, false)
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
}

func (s *Server) deviceTypesGetTemplate(ctx context.Context, c *Caller, a args) (any, error) {
	dt, err := s.deviceType(ctx, c, a, 0)
	if err != nil {
		return nil, err
	}
	if text, ok := lab.ImportedTemplate(dt); ok {
		return Binary(text), nil // issue 16: the LAVA template it was imported from
	}
	b, err := lavafmt.Template(dt)
	if err != nil {
		return nil, err
	}
	return Binary(b), nil
}

func (s *Server) deviceTypesSetTemplate(ctx context.Context, c *Caller, a args) (any, error) {
	if err := c.NeedAdmin(); err != nil {
		return nil, err
	}
	p, err := a.strs(2)
	if err != nil {
		return nil, err
	}
	if lavatemplate.IsTemplate(p[1]) {
		// Issue 16: a LAVA device-type template.
		if err := s.lab.ImportDeviceTypeTemplate(ctx, *c, p[0], p[1]); err != nil {
			return nil, err
		}
		return true, nil
	}
	var set map[string]any
	if err := yaml.Unmarshal([]byte(p[1]), &set); err != nil {
		return nil, Faultf(400, "Bad request: the template must be a YAML mapping of settings: %v", err)
	}
	if _, err := s.lab.UpdateDeviceType(ctx, *c, p[0], func(dt *model.DeviceType) { dt.Settings = set }); err != nil {
		return nil, err
	}
	return true, nil
}

func (s *Server) deviceTypesGetHealthCheck(ctx context.Context, c *Caller, a args) (any, error) {
	n, err := a.str(0)
	if err != nil {
		return nil, err
	}
	hc, err := s.lab.HealthCheck(ctx, *c, n)
	if err != nil {
		return nil, err
	}
	return Binary(hc), nil
}

func (s *Server) deviceTypesSetHealthCheck(ctx context.Context, c *Caller, a args) (any, error) {
	if err := c.NeedAdmin(); err != nil {
		return nil, err
	}
	p, err := a.strs(2)
	if err != nil {
		return nil, err
	}
	err = s.lab.SetHealthCheck(ctx, *c, p[0], p[1])
	if e, ok := lab.AsError(err); ok && e.Reason == lab.ReasonJobSchema {
		return nil, Faultf(400, "Invalid health-check: %s", lab.IssuesText(e.Issues))
	}
	if err != nil {
		return nil, err
	}
	return true, nil
}

func (s *Server) deviceTypesAdd(ctx context.Context, c *Caller, a args) (any, error) {
	if err := c.NeedAdmin(); err != nil {
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
	_, err = s.lab.CreateDeviceType(ctx, *c, dt)
	return nil, err
}

// typeChange is device_types.update's arguments: nil keeps a field.
type typeChange struct {
	desc              *string
	display, disabled *bool
	freq              *int64
	den               string
}

func (t typeChange) apply(dt *model.DeviceType) {
	if t.desc != nil {
		dt.Description = *t.desc
	}
	if t.display != nil {
		dt.Display = *t.display
	}
	if t.freq != nil {
		dt.HealthFrequency = int(*t.freq)
	}
	if t.den != "" {
		dt.HealthDenominator = t.den
	}
	if t.disabled != nil {
		dt.HealthDisabled = *t.disabled
	}
}

func readTypeChange(a args) (typeChange, error) {
	var t typeChange
	var err error
	if t.desc, err = a.optStrPtr(1); err != nil {
		return t, err
	}
	if t.display, err = a.optBoolPtr(2); err != nil {
		return t, err
	}
	if _, err := a.optBoolPtr(3); err != nil {
		return t, err
	}
	if t.freq, err = a.optIntPtr(4); err != nil {
		return t, err
	}
	denArg, err := a.optStrPtr(5)
	if err != nil {
		return t, err
	}
	if denArg != nil {
		if t.den, err = denominator(*denArg); err != nil {
			return t, err
		}
	}
	t.disabled, err = a.optBoolPtr(6)
	return t, err
}

func (s *Server) deviceTypesUpdate(ctx context.Context, c *Caller, a args) (any, error) {
	if err := c.NeedAdmin(); err != nil {
		return nil, err
	}
	n, err := a.str(0)
	if err != nil {
		return nil, err
	}
	t, err := readTypeChange(a)
	if err != nil {
		return nil, err
	}
	_, err = s.lab.UpdateDeviceType(ctx, *c, n, t.apply)
	return nil, err
}

func (s *Server) deviceTypeAliases(ctx context.Context, c *Caller, a args) (any, error) {
	dt, err := s.deviceType(ctx, c, a, 0)
	if err != nil {
		return nil, err
	}
	return nonNil(dt.Aliases), nil
}

func (s *Server) deviceTypeAliasAdd(ctx context.Context, c *Caller, a args) (any, error) {
	p, err := a.strs(2)
	if err != nil {
		return nil, err
	}
	return nil, s.lab.AddAlias(ctx, *c, p[1], p[0])
}

func (s *Server) deviceTypeAliasDelete(ctx context.Context, c *Caller, a args) (any, error) {
	p, err := a.strs(2)
	if err != nil {
		return nil, err
	}
	return nil, s.lab.DeleteAlias(ctx, *c, p[1], p[0])
}

func (s *Server) aliasesList(ctx context.Context, c *Caller, a args) (any, error) {
	idx, err := s.lab.Aliases(ctx, *c)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(idx))
	for n := range idx {
		names = append(names, n)
	}
	slices.Sort(names)
	return nonNil(names), nil
}

func (s *Server) aliasesShow(ctx context.Context, c *Caller, a args) (any, error) {
	n, err := a.str(0)
	if err != nil {
		return nil, err
	}
	idx, err := s.lab.Aliases(ctx, *c)
	if err != nil {
		return nil, err
	}
	dt, ok := idx[n]
	if !ok {
		return nil, Faultf(404, "Alias '%s' was not found.", n)
	}
	return map[string]any{"name": n, "device_type": dt}, nil
}

func (s *Server) aliasesAdd(ctx context.Context, c *Caller, a args) (any, error) {
	p, err := a.strs(2)
	if err != nil {
		return nil, err
	}
	return nil, s.lab.AddAlias(ctx, *c, p[0], p[1])
}

func (s *Server) aliasesDelete(ctx context.Context, c *Caller, a args) (any, error) {
	n, err := a.str(0)
	if err != nil {
		return nil, err
	}
	return nil, s.lab.DeleteAlias(ctx, *c, n, "")
}
