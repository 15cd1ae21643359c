package lavarpc

import (
	"context"
	"fmt"

	"github.com/lavalab/lavalab/core/lavatemplate"
	"github.com/lavalab/lavalab/core/model"
)

// importTemplate is set_template with a LAVA device-type template (issue
// 16): the text is imported as the type's template, its parents looked up
// among the templates imported before (every stored type's chain), and the
// type bound to its base's driver. A refusal is a 400 fault with the
// verdict.
func (s *Server) importTemplate(ctx context.Context, name, text string) error {
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
		return Faultf(400, "Bad request: device-type template %s: %v", name, err)
	}
	tmpl, err := typ.Marshal()
	if err != nil {
		return err
	}
	if _, err := s.st.UpdateDeviceType(ctx, name, func(dt *model.DeviceType) error {
		dt.Driver, dt.Template = typ.Driver, tmpl
		return nil
	}); err != nil {
		return storeFault(err, fmt.Sprintf("Device-type '%s'", name))
	}
	return nil
}

// importedTemplate is the text of the LAVA template a type was imported
// from (false when none).
func importedTemplate(dt model.DeviceType) ([]byte, bool) {
	if dt.Template == "" {
		return nil, false
	}
	t, err := lavatemplate.Unmarshal(dt.Template)
	if err != nil || len(t.Chain) == 0 {
		return nil, false
	}
	return []byte(t.Chain[0].Text), true
}
