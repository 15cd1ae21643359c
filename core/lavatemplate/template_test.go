package lavatemplate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/devdict"
	"github.com/lavalab/lavalab/core/testenv"
)

// jinja2Context renders each case's dictionary as LAVA's server does
// (sandboxed, trim_blocks, FileSystemLoader), with a base-uboot.jinja2
// that prints every variable defined when it renders: the oracle for
// Evaluate. Arguments: the folder, then the cases' dictionary names.
const jinja2Context = `
import json, sys, jinja2, jinja2.sandbox
@jinja2.pass_context
def dump(ctx):
    return json.dumps({k: v for k, v in ctx.get_all().items()
                       if k not in env.globals and not isinstance(v, jinja2.Undefined)})
env = jinja2.sandbox.SandboxedEnvironment(loader=jinja2.FileSystemLoader([sys.argv[1]]), trim_blocks=True, autoescape=False)
env.globals["dump"] = dump
out = {}
for name in sys.argv[2:]:
    try:
        out[name] = json.loads(env.get_template(name).render())
    except Exception as e:
        out[name] = {"__error__": "%s: %s" % (type(e).__name__, e)}
print(json.dumps(out))
`

type evalCase struct {
	name      string
	templates map[string]string // name (without .jinja2) → text; the type is "board"
	dict      string            // the dictionary's sets (it extends board.jinja2)
}

var evalCases = []evalCase{
	{"default kept", map[string]string{"board": "{% extends 'base-uboot.jinja2' %}\n{% set console_device = console_device|default('ttyO0') %}\n{% set baud_rate = baud_rate|default(115200) %}"}, ""},
	{"default beaten by the dictionary", map[string]string{"board": "{% extends 'base-uboot.jinja2' %}\n{% set console_device = console_device|default('ttyO0') %}"}, "{% set console_device = 'ttyS2' %}"},
	{"unconditional set beats the dictionary", map[string]string{"board": "{% extends 'base-uboot.jinja2' %}\n{% set bootz_dtb_addr = '0x88000000' %}"}, "{% set bootz_dtb_addr = '0x1000' %}"},
	{"if on a dictionary variable, set", map[string]string{"board": "{% extends 'base-uboot.jinja2' %}\n{% if extra_kernel_args %}\n{% set extra_kernel_args = \"earlycon \" + extra_kernel_args %}\n{% else %}\n{% set extra_kernel_args = \"earlycon\" %}\n{% endif %}"}, "{% set extra_kernel_args = 'quiet' %}"},
	{"if on a dictionary variable, unset", map[string]string{"board": "{% extends 'base-uboot.jinja2' %}\n{% if extra_kernel_args %}\n{% set extra_kernel_args = \"earlycon \" + extra_kernel_args %}\n{% else %}\n{% set extra_kernel_args = \"earlycon\" %}\n{% endif %}"}, ""},
	{"aliases", map[string]string{"board": "{% extends 'base-uboot.jinja2' %}\n{% set bootm_kernel_addr = '0x82000000' %}\n{% set bootz_kernel_addr = bootm_kernel_addr %}\n{% set booti_kernel_addr = nothing_here %}"}, ""},
	{"concatenation with a default", map[string]string{"board": "{% extends 'base-uboot.jinja2' %}\n{% set extra_nfsroot_args = \",v3\" + extra_nfsroot_args|default('') %}"}, "{% set extra_nfsroot_args = ',nolock' %}"},
	{"filters and operators", map[string]string{"board": "{% extends 'base-uboot.jinja2' %}\n{% set a = baud_rate|default(115200)|string + 'n8' %}\n{% set b = 'x' ~ 3 ~ none_such %}\n{% set c = (7 // 2, 7 % 3, 2 * 3 + 1, -4, 1.5 * 2) %}\n{% set d = ['a', 'b']|join(',') %}\n{% set e = 'ABC'|lower + ' x '|trim|upper %}\n{% set f = ['a'] + ['b', 'c'] %}\n{% set g = ['a', 'b']|length %}\n{% set h = '42'|int + 1 %}"}, ""},
	{"conditions", map[string]string{"board": "{% extends 'base-uboot.jinja2' %}\n{% set a = 'yes' if x is defined else 'no' %}\n{% set b = 'in' if 'b' in ['a', 'b'] else 'out' %}\n{% set c = not x and (y or 'z') %}\n{% set d = x == 3 %}\n{% set e = 'k' not in {'k': 1} %}\n{% set f = y is none %}\n{% if x == 1 %}{% set g = 1 %}{% elif x == 3 %}{% set g = 3 %}{% else %}{% set g = 0 %}{% endif %}"}, "{% set x = 3 %}\n{% set y = None %}"},
	{"literals", map[string]string{"board": "{% extends 'base-uboot.jinja2' %}\n{% set a = ['setenv a \\'b\\'', \"x\\ny\", 'adj' 'acent'] %}\n{% set b = {'do': 'touch /x', 'n': [1, 2.5, True, none]} %}\n{% set c = ('t',) %}\n{% set d = 0x10 %}"}, ""},
	{"a chain of three", map[string]string{
		"board":        "{% extends 'board-common.jinja2' %}\n{% set console_device = console_device|default('ttyS1') %}\n{% set dtb = 'board.dtb' %}",
		"board-common": "{% extends 'soc-common.jinja2' %}\n{% set console_device = console_device|default('ttyS0') %}\n{% set bootz_kernel_addr = bootz_kernel_addr|default('0x80008000') %}",
		"soc-common":   "{% extends 'base-uboot.jinja2' %}\n{# the SoC #}\n{% set bootz_ramdisk_addr = '0x83000000' %}\n{% block timeouts %}{{ super() }}{% endblock %}\n{% set dtb = dtb|default('soc.dtb') %}",
	}, "{% set bootz_kernel_addr = '0x1' %}"},
}

// TestEvaluateAgreesWithJinja2 compares Evaluate with Jinja2 3.1 from
// Debian's packages (what LAVA 2023.01 runs) on templates written here.
func TestEvaluateAgreesWithJinja2(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("base-uboot.jinja2", "{{ dump() }}")
	args := []string{dir}
	for i, c := range evalCases {
		sub := filepath.Join(dir, "c"+itoa(i))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		for n, text := range c.templates {
			write(filepath.Join("c"+itoa(i), n+".jinja2"), text)
		}
		write(filepath.Join("c"+itoa(i), "dev.jinja2"), "{% extends 'c"+itoa(i)+"/board.jinja2' %}\n"+c.dict)
		args = append(args, "c"+itoa(i)+"/dev.jinja2")
	}
	// Templates extend by folder-relative names in the oracle; rewrite the
	// cases' extends so both sides see the same chain.
	for i, c := range evalCases {
		for n, text := range c.templates {
			for m := range c.templates {
				text = strings.ReplaceAll(text, "'"+m+".jinja2'", "'c"+itoa(i)+"/"+m+".jinja2'")
			}
			write(filepath.Join("c"+itoa(i), n+".jinja2"), text)
		}
	}
	var want map[string]map[string]any
	if err := json.Unmarshal(testenv.LAVAPython(t, jinja2Context, nil, args...), &want); err != nil {
		t.Fatal(err)
	}
	for i, c := range evalCases {
		t.Run(c.name, func(t *testing.T) {
			w := want["c"+itoa(i)+"/dev.jinja2"]
			if e, ok := w["__error__"]; ok {
				t.Fatalf("jinja2: %v", e)
			}
			typ, err := Import("board", func(n string) (string, bool) { s, ok := c.templates[n]; return s, ok })
			if err != nil {
				t.Fatal(err)
			}
			d, err := devdict.Parse([]byte("{% extends 'board.jinja2' %}\n" + c.dict))
			if err != nil {
				t.Fatal(err)
			}
			stored, err := typ.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got, err := MergeSettings(stored, nil, nil, d.Values)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(viaJSON(t, got), viaJSON(t, w)) {
				t.Errorf("Evaluate: %v\njinja2:   %v", viaJSON(t, got), viaJSON(t, w))
			}
		})
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func viaJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestImportRefuses checks each refusal names the template and reason.
func TestImportRefuses(t *testing.T) {
	for _, tc := range []struct {
		name      string
		templates map[string]string
		want      string
	}{
		{"missing", map[string]string{}, "board.jinja2 not found"},
		{"unknown base", map[string]string{"board": "{% extends 'base.jinja2' %}"}, "unknown base: board.jinja2 extends base.jinja2 directly"},
		{"missing parent", map[string]string{"board": "{% extends 'gone.jinja2' %}"}, "unknown base: board.jinja2 extends gone.jinja2, which is not among the templates given"},
		{"no extends", map[string]string{"board": "{% set a = 1 %}"}, "unknown base: board.jinja2 extends no base"},
		{"loop", map[string]string{"board": "{% extends 'b2.jinja2' %}", "b2": "{% extends 'board.jinja2' %}"}, "extends loop at board"},
		{"for", map[string]string{"board": "{% extends 'base-uboot.jinja2' %}\n{% for x in y %}{% endfor %}"}, `board.jinja2 line 2: statement "for" is not supported`},
		{"include", map[string]string{"board": "{% extends 'base-uboot.jinja2' %}\n\n{% include 'x.jinja2' %}"}, `board.jinja2 line 3: statement "include"`},
		{"attribute", map[string]string{"board": "{% extends 'base-uboot.jinja2' %}\n{% set a = b.c %}"}, "set a: \".\": attributes, indexing and calls are not supported"},
		{"block set", map[string]string{"board": "{% extends 'base-uboot.jinja2' %}\n{% set a %}x{% endset %}"}, "only `set NAME = EXPRESSION` is supported"},
		{"unknown filter", map[string]string{"board": "{% extends 'base-uboot.jinja2' %}\n{% set a = 'x'|tojson %}"}, `filter "tojson" is not supported`},
		{"undefined operand", map[string]string{"board": "{% extends 'base-uboot.jinja2' %}\n{% set a = 'x' + nothing %}"}, "nothing is undefined (operator +)"},
		{"body block on base-uboot", map[string]string{"board": "{% extends 'base-uboot.jinja2' %}\n{% block body %}x{% endblock %}"}, "overrides block body of base-uboot.jinja2"},
		{"unclosed if", map[string]string{"board": "{% extends 'base-uboot.jinja2' %}\n{% if a %}{% set b = 1 %}"}, "endif missing"},
		{"a base", map[string]string{}, "is a base template"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "board"
			if tc.name == "a base" {
				name = "base-uboot"
			}
			_, err := Import(name, func(n string) (string, bool) { s, ok := tc.templates[n]; return s, ok })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// TestOtherBasesKeepBlocks: a grub template overriding its command blocks
// imports (its driver will read them), with a note.
func TestOtherBasesKeepBlocks(t *testing.T) {
	typ, err := Import("board", func(n string) (string, bool) {
		return map[string]string{"board": "{% extends 'base-grub.jinja2' %}\n{% block ramdisk_commands %}x{% endblock %}"}[n], n == "board"
	})
	if err != nil {
		t.Fatal(err)
	}
	if typ.Driver != "grub" || len(typ.Notes) != 1 || !strings.Contains(typ.Notes[0], "block ramdisk_commands: kept for the grub driver") {
		t.Errorf("%+v", typ)
	}
}

// TestDictionaryErrors: a dictionary value of the wrong type fails the
// evaluation with the template and line.
func TestDictionaryErrors(t *testing.T) {
	typ, err := Import("board", func(n string) (string, bool) {
		return "{% extends 'base-uboot.jinja2' %}\n{% if extra_kernel_args %}\n{% set extra_kernel_args = 'a ' + extra_kernel_args %}\n{% endif %}", n == "board"
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = typ.Evaluate(map[string]any{"extra_kernel_args": []any{"x"}})
	if err == nil || !strings.Contains(err.Error(), "board.jinja2 line 3: set extra_kernel_args: unsupported operand types for +: str and list") {
		t.Errorf("got %v", err)
	}
}
