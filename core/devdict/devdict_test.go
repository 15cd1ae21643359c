package devdict

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/testenv"
)

func TestCorpusDictionaries(t *testing.T) {
	dir := testenv.Data(t, "devices")
	files, err := filepath.Glob(filepath.Join(dir, "*.jinja2"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("found only %d dictionaries in %s", len(files), dir)
	}
	for _, f := range files {
		t.Run(strings.TrimPrefix(f, dir+"/"), func(t *testing.T) {
			text, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			d, err := Parse(text)
			if err != nil {
				t.Fatal(err)
			}
			if d.Extends == "" || d.Format != FormatJinja2 || strings.HasSuffix(d.Extends, ".jinja2") {
				t.Fatalf("dictionary %+v", d)
			}
			// Every `set` is a value (or a warned undefined name).
			if n := strings.Count(string(text), "{% set "); len(d.Values)+len(d.Warnings) != n {
				t.Fatalf("%d sets, %d values + %d warnings", n, len(d.Values), len(d.Warnings))
			}
		})
	}
}

func TestCorpusValues(t *testing.T) {
	dir := testenv.Data(t, "devices")
	for _, tc := range []struct {
		file, extends string
		want          map[string]any
	}{
		{"qemu01.jinja2", "qemu", map[string]any{
			"memory": 1024, "mac_addr": "52:54:00:12:34:59",
			"user_commands": map[string]any{
				"touch":       map[string]any{"do": "touch /tmp/bla", "undo": "touch /tmp/bla.rm"},
				"sleep_short": map[string]any{"do": "sleep 10"},
				"sleep":       map[string]any{"do": "sleep 100", "undo": "/bin/true"},
			},
		}},
		{"kvm01.jinja2", "qemu", map[string]any{"arch": "amd64", "memory": 256, "mac_addr": "52:54:00:12:34:59", "no_kvm": true, "test_character_delay": 30}},
		{"soca9-01.jinja2", "soca9", map[string]any{"connection_command": "telnet localhost 7002"}},
		{"generic-uboot-01.jinja2", "base-uboot", map[string]any{
			"console_device": "ttyS0", "baud_rate": 115200, "bootz_kernel_addr": "0x82000000", "bootz_ramdisk_addr": "0x83000000",
			"bootz_dtb_addr": "0x88000000", "connection_command": "telnet localhost 7000", "hard_reset_command": "pduclient --reset",
			"power_off_command": "pduclient --off", "power_on_command": "pduclient --on",
		}},
		{"bench-imx8mq-01.jinja2", "imx8mq-evk", map[string]any{
			"connection_command": "telnet ser2net-f 9001", "uuu_usb_otg_path": "2:1",
			"uuu_corrupt_boot_media_command": "mmc dev 0 && mmc erase 0 0x400", "booti_kernel_addr": 0x40480000,
			"boot_retry": -1, "fastboot_serial_number": "a1b2c3d4e5",
		}},
		{"bench-x15-01.jinja2", "x15", map[string]any{
			"connection_command": "telnet ser2net-b 5010", "fastboot_serial_number": "2c0f81a3d7e2", "adb_serial_number": "2c0f81a3d7e2",
			"device_info":        []any{map[string]any{"board_id": "2c0f81a3d7e2"}},
			"hard_reset_command": []any{"/opt/bench/pdu --host pdu-b --outlet 1 --cycle", "/opt/bench/usbhub --port 2 --cycle"},
			"power_off_command":  []any{"/opt/bench/pdu --host pdu-b --outlet 1 --off", "/opt/bench/usbhub --port 2 --off"},
			"power_on_command":   []any{"/opt/bench/pdu --host pdu-b --outlet 1 --on", "/opt/bench/usbhub --port 2 --on"},
		}},
		{"bench-docker-01.jinja2", "docker", map[string]any{"docker_image": "debian:bookworm"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			text, err := os.ReadFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			d, err := Parse(text)
			if err != nil {
				t.Fatal(err)
			}
			if d.Extends != tc.extends || !reflect.DeepEqual(d.Values, tc.want) {
				t.Fatalf("got %s %#v", d.Extends, d.Values)
			}
		})
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, text, extends, format string
		want                        map[string]any
		warnings                    int
	}{
		{"jinja literals", `{%- extends "soca9.jinja2" -%}
{# comment {% set no = 1 %} #}
{% set s = 'it\'s' "" ' ok' %}
{% set n = -12 %}{% set h = 0x10 %}{% set f = 1.5e3 %}
{% set b = True %}{% set f2 = false %}{% set z = None %}
{% set l = ['a', 1, [2, (3,)], {'k': "v"},] %}
{% set tup = ("x"
  "y") %}
{% set t2 = (1, 2) %}
{% set d = {1: 'one', 'nested': {'x': []}} %}
{% set ref = s %}
{% set u = SanDisk_Ultra %}`, "soca9", FormatJinja2, map[string]any{
			"s": "it's ok", "n": -12, "h": 16, "f": 1500.0, "b": true, "f2": false, "z": nil,
			"l":   []any{"a", 1, []any{2, []any{3}}, map[string]any{"k": "v"}},
			"tup": "xy", "t2": []any{1, 2},
			"d":   map[string]any{"1": "one", "nested": map[string]any{"x": []any{}}},
			"ref": "it's ok",
		}, 1},
		{"yaml", "extends: soca9\nsettings:\n  connection_command: telnet localhost 7002\n  bootz_dtb_addr: '0x00001000'\n  baud_rate: 115200\n  user_commands:\n    touch: {do: touch /tmp/x}\n",
			"soca9", FormatYAML, map[string]any{
				"connection_command": "telnet localhost 7002", "bootz_dtb_addr": "0x00001000", "baud_rate": 115200,
				"user_commands": map[string]any{"touch": map[string]any{"do": "touch /tmp/x"}},
			}, 0},
		{"yaml without settings", "extends: qemu.jinja2\n", "qemu", FormatYAML, map[string]any{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse([]byte(tc.text))
			if err != nil {
				t.Fatal(err)
			}
			if d.Extends != tc.extends || d.Format != tc.format || !reflect.DeepEqual(d.Values, tc.want) || len(d.Warnings) != tc.warnings {
				t.Fatalf("got %s %s %#v warnings %q", d.Extends, d.Format, d.Values, d.Warnings)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"if", "{% extends 'a.jinja2' %}\n{% if x %}{% set y = 1 %}{% endif %}", "line 2: {% if %} is not allowed"},
		{"for", "{% extends 'a.jinja2' %}\n\n{% for i in l %}{% endfor %}", "line 3: {% for %} is not allowed"},
		{"block", "{% extends 'a.jinja2' %}\n{% block body %}{% endblock %}", "line 2: {% block %} is not allowed"},
		{"filter", "{% extends 'a.jinja2' %}\n{% set x = y|default(1) %}", "line 2: filter |"},
		{"operator", "{% extends 'a.jinja2' %}\n{% set x = 'a' + 'b' %}", "line 2: operator +"},
		{"expression", "{% extends 'a.jinja2' %}\n{{ x }}", "line 2: {{ ... }} expressions are not allowed"},
		{"text", "{% extends 'a.jinja2' %}\nhello", "line 2: text \"hello\" outside"},
		{"call", "{% extends 'a.jinja2' %}\n{% set x = range(3) %}", "line 2: range(...: calls"},
		{"name in list", "{% extends 'a.jinja2' %}\n{% set x = [a] %}", "line 2: name a inside a list"},
		{"multi-line error line", "{% extends 'a.jinja2' %}\n{% set x = [1,\n2,\n3 4] %}", "line 4: unexpected '4'"},
		{"block set", "{% extends 'a.jinja2' %}\n{% set x %}1{% endset %}", "line 2: want {% set name = value %}"},
		{"no extends", "{% set x = 1 %}", "no {% extends"},
		{"two extends", "{% extends 'a.jinja2' %}{% extends 'b.jinja2' %}", "a second extends"},
		{"extends not string", "{% extends 3 %}", "extends takes a quoted"},
		{"bad extends", "{% extends '../x' %}", "not a device type name"},
		{"unclosed tag", "{% extends 'a.jinja2' %}\n{% set x = 1", "line 2: {% is not closed"},
		{"unclosed comment", "{# x", "comment {# is not closed"},
		{"unclosed string", "{% extends 'a.jinja2' %}{% set x = 'abc %}", "not closed"},
		{"unclosed list", "{% extends 'a.jinja2' %}{% set x = [1, 2 %}", "[ is not closed"},
		{"bad number", "{% extends 'a.jinja2' %}{% set x = 007 %}", "is not a number"},
		{"missing value", "{% extends 'a.jinja2' %}{% set x = %}", "a value is missing"},
		{"dict key", "{% extends 'a.jinja2' %}{% set x = {[1]: 2} %}", "dict key must be"},
		{"yaml unknown key", "extends: a\ndevice_type: b\n", "field device_type not found"},
		{"yaml no extends", "settings: {a: 1}\n", "no extends"},
		{"yaml not mapping", "- a\n", "want a mapping"},
		{"yaml two docs", "extends: a\n---\nextends: b\n", "more than one"},
		{"too big", strings.Repeat(" ", MaxSize+1), "more than the"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	got := Merge(map[string]any{"a": 1, "b": 1, "c": 1}, nil, map[string]any{"b": 2, "c": 2}, map[string]any{"c": 3})
	if want := map[string]any{"a": 1, "b": 2, "c": 3}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v", got)
	}
	if got := Merge(); len(got) != 0 || got == nil {
		t.Fatalf("empty merge %v", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("{% extends 'qemu.jinja2' %}\n{% set memory = 1024 %}\n{% set u = {'a': {'do': \"x\"}} %}"))
	f.Add([]byte("{% set x = [1, (2,), {'k': 0x10}] %}{# c #}"))
	f.Add([]byte("{% extends 'a.jinja2' %}{% set s = 'a\\x41' \"b\" %}"))
	f.Add([]byte("extends: soca9\nsettings:\n  a: [1, 2]\n"))
	f.Add([]byte("{{ x }}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Parse(b)
		if err != nil {
			return
		}
		if d.Extends == "" || d.Values == nil {
			t.Fatalf("accepted without extends or values: %+v", d)
		}
	})
}
