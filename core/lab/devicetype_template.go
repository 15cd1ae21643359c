package lab

import (
	"context"
	"fmt"

	"github.com/lavalab/lavalab/core/lavatemplate"
	"github.com/lavalab/lavalab/core/model"
)

// ImportDeviceTypeTemplate imports a LAVA device-type template (issue 16)
// as the type name's template: its parents are looked up among the
// templates imported before (every stored type's chain), and the type is
// bound to its base's driver. What XML-RPC set_template does when it is
// given a Jinja2 template (lavacli device-types template set). Admins
// only; a template refused gets an invalid error with the verdict.
func (s *Service) ImportDeviceTypeTemplate(ctx context.Context, c Caller, name, text string) error {
	if err := c.NeedAdmin(); err != nil {
		return err
	}
	types, err := s.st.ListDeviceTypes(ctx)
	if err != nil {
		return fmt.Errorf("listing device types: %w", err)
	}
	stored := map[string]string{}
	for _, dt := range types {
		if dt.Template != "" && dt.Name != name {
			stored[dt.Name] = dt.Template
		}
	}
	parents := lavatemplate.StoredSources(stored)
	typ, err := lavatemplate.Import(name, func(n string) (string, bool) {
		if n == name {
			return text, true
		}
		return parents(n)
	})
	if err != nil {
		return invalid("device-type template %s: %v", name, err)
	}
	tmpl, err := typ.Marshal()
	if err != nil {
		return err
	}
	if _, err := s.st.UpdateDeviceType(ctx, name, func(dt *model.DeviceType) error {
		dt.Driver, dt.Template = typ.Driver, tmpl
		return nil
	}); err != nil {
		return storeErr(err, ObjDeviceType, name)
	}
	return nil
}

// ImportedTemplate is the text of the LAVA template a type was imported
// from (false when none).
func ImportedTemplate(dt model.DeviceType) ([]byte, bool) {
	if dt.Template == "" {
		return nil, false
	}
	t, err := lavatemplate.Unmarshal(dt.Template)
	if err != nil || len(t.Chain) == 0 {
		return nil, false
	}
	return []byte(t.Chain[0].Text), true
}
