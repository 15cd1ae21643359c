package goldentest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/lavalab/lavalab/core/devdict"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/sdk"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// Call sends one request to the driver as the host does and decodes the answer.
func Call(t *testing.T, d sdk.Driver, req sdk.Request) ([]byte, sdk.Response) {
	t.Helper()
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	out := sdk.Handle(d, in)
	var resp sdk.Response
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, out)
	}
	return out, resp
}

// Plan asks the driver for the plan of req.
func Plan(t *testing.T, d sdk.Driver, req sdk.PlanRequest) ([]byte, sdk.Response) {
	t.Helper()
	return Call(t, d, sdk.Request{ABIVersion: sdk.ABIVersion, Op: sdk.OpPlan, Plan: &req})
}

// Golden compares got (JSON) with testdata/<name>.json, or rewrites it with -update.
func Golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("answer differs from %s (go test -update rewrites it):\n%s", path, diff(string(want), buf.String()))
	}
}

func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			b.WriteString("line " + itoa(i+1) + ":\n  want " + a + "\n  got  " + c + "\n")
		}
	}
	return b.String()
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// Describe checks the describe answer against testdata/describe.json and
// the settings it lists against settings.yaml read by yaml.v3.
func Describe(t *testing.T, d sdk.Driver, settingsYAML []byte) sdk.Description {
	t.Helper()
	raw, resp := Call(t, d, sdk.Request{ABIVersion: sdk.ABIVersion, Op: sdk.OpDescribe})
	if resp.Error != nil || resp.Describe == nil {
		t.Fatalf("describe: %s", raw)
	}
	desc := *resp.Describe
	if strings.HasPrefix(desc.Summary, "BROKEN") || len(desc.Settings) == 0 {
		t.Fatalf("describe: %s", desc.Summary)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(settingsYAML, &doc); err != nil {
		t.Fatalf("settings.yaml is not YAML: %v", err)
	}
	if len(doc) != len(desc.Settings) {
		t.Fatalf("settings.yaml has %d keys, describe lists %d", len(doc), len(desc.Settings))
	}
	for _, s := range desc.Settings {
		y, ok := doc[s.Key]
		if !ok {
			t.Fatalf("describe lists %s, absent from settings.yaml", s.Key)
		}
		var yj any // as JSON carries it, like the describe answer
		if b, err := json.Marshal(y); err == nil {
			_ = json.Unmarshal(b, &yj)
		}
		if !reflect.DeepEqual(yj, s.Default) {
			t.Errorf("%s: describe default %#v, yaml.v3 reads %#v", s.Key, s.Default, y)
		}
	}
	Golden(t, "describe", raw)
	return desc
}

// rendered is an expected-data file of testdata/lava/rendered: the boot
// lists LAVA renders for one of the repository's device dictionaries.
type rendered struct {
	Dictionary string              `yaml:"dictionary"`
	Template   string              `yaml:"template"`
	UBoot      map[string][]string `yaml:"u-boot"`
	QEMU       map[string]any      `yaml:"qemu"`
}

func readRendered(t *testing.T, file string) rendered {
	t.Helper()
	text, err := os.ReadFile(testenv.Data(t, filepath.Join("rendered", file)))
	if err != nil {
		t.Fatal(err)
	}
	var r rendered
	if err := yaml.Unmarshal(text, &r); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return r
}

// Rendered returns the U-Boot command list `list` LAVA renders for a device
// (testdata/lava/rendered/<file>, checked against LAVA 2023.01 itself by
// TestRenderedAgreeWithLAVA).
func Rendered(t *testing.T, file, list string) []string {
	t.Helper()
	l, ok := readRendered(t, file).UBoot[list]
	if !ok {
		t.Fatalf("%s: no u-boot %s list", file, list)
	}
	return l
}

// RenderedQEMU returns the qemu boot method's parameters (command, options)
// LAVA renders for a device (testdata/lava/rendered/<file>).
func RenderedQEMU(t *testing.T, file string) map[string]any {
	t.Helper()
	q := readRendered(t, file).QEMU
	if q == nil {
		t.Fatalf("%s: no qemu parameters", file)
	}
	return q
}

// Dictionary reads a device dictionary of testdata/lava/devices.
func Dictionary(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(testenv.Data(t, filepath.Join("devices", rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// DictionaryValues parses a device dictionary (testdata/lava/devices/<rel>)
// as the server does and returns its values and the device type it extends.
func DictionaryValues(t *testing.T, rel string) (sdk.Values, string) {
	t.Helper()
	d, err := devdict.Parse(Dictionary(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return sdk.Values(d.Values), d.Extends
}

// Commands returns the commands of the plan's commands step.
func Commands(t *testing.T, p *sdk.Plan) []string {
	t.Helper()
	if p == nil {
		t.Fatal("no plan")
	}
	for _, s := range p.Steps {
		if s.Kind == sdk.StepCommands {
			return s.Commands.Commands
		}
	}
	t.Fatal("plan has no commands step")
	return nil
}

// Merge returns base with the keys of over replaced (a copy).
func Merge(base sdk.Values, over map[string]any) sdk.Values {
	out := sdk.Values{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}
