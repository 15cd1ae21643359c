package lavarpc

import (
	"context"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/lavatemplate"
	"github.com/lavalab/lavalab/core/model"
)

// TestSetTemplateImportsLAVATemplates (issue 16): set_template with a LAVA
// device-type template (what `lavacli device-types template set` sends)
// imports it, its parent found among the templates imported before;
// get_template gives the text back; a refused template is a 400 fault.
func TestSetTemplateImportsLAVATemplates(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, n := range []string{"myboard-common", "myboard", "other"} {
		if err := e.st.CreateDeviceType(ctx, model.DeviceType{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	common := "{% extends 'base-uboot.jinja2' %}\n{% set bootz_kernel_addr = '0x82000000' %}\n"
	board := "{% extends 'myboard-common.jinja2' %}\n{% set console_device = console_device|default('ttyO0') %}\n"
	for _, c := range []struct{ name, text string }{{"myboard-common", common}, {"myboard", board}} {
		if v, f, _ := e.call(t, "admin", "scheduler.device_types.set_template", c.name, c.text); f != nil || v != true {
			t.Fatalf("set_template %s: %v %v", c.name, v, f)
		}
	}
	dt, err := e.st.DeviceType(ctx, "myboard")
	if err != nil {
		t.Fatal(err)
	}
	got, err := lavatemplate.MergeSettings(dt.Template, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if dt.Driver != "uboot" || got["console_device"] != "ttyO0" || got["bootz_kernel_addr"] != "0x82000000" {
		t.Errorf("myboard: driver %q settings %v", dt.Driver, got)
	}
	if v, f, _ := e.call(t, "", "scheduler.device_types.get_template", "myboard"); f != nil || string(v.(Binary)) != board {
		t.Errorf("get_template: %v %v", v, f)
	}
	_, f, _ := e.call(t, "admin", "scheduler.device_types.set_template", "other", "{% extends 'base.jinja2' %}\n")
	if f == nil || f.Code != 400 || !strings.Contains(f.Msg, "unknown base") {
		t.Errorf("refused template: %+v", f)
	}
	if _, f, _ := e.call(t, "bob", "scheduler.device_types.set_template", "myboard", board); f == nil {
		t.Error("a non-admin set a template")
	}
}
