package lavarpc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// Shapes, from lava-facts.md §3.2: a shape is a type name ("int",
// "string", "bool", "nil", "time", "binary", alternatives joined by "|"),
// a struct (exact member names, each with its shape), an array of one
// shape (arr) or a fixed-length array (tup).
type (
	arr struct{ elem any }
	tup []any
)

func checkShape(t *testing.T, where string, v, shape any) {
	t.Helper()
	switch s := shape.(type) {
	case string:
		for alt := range strings.SplitSeq(s, "|") {
			ok := false
			switch alt {
			case "int":
				_, ok = v.(int64)
			case "string":
				_, ok = v.(string)
			case "bool":
				_, ok = v.(bool)
			case "nil":
				ok = v == nil
			case "time":
				_, ok = v.(time.Time)
			case "binary":
				_, ok = v.(Binary)
			case "strstruct": // a struct of string members (metadata)
				var m map[string]any
				if m, ok = v.(map[string]any); ok {
					for _, x := range m {
						_, isStr := x.(string)
						ok = ok && isStr
					}
				}
			default:
				t.Fatalf("%s: unknown shape %q", where, alt)
			}
			if ok {
				return
			}
		}
		t.Errorf("%s = %#v, want %s", where, v, s)
	case map[string]any:
		m, ok := v.(map[string]any)
		if !ok {
			t.Errorf("%s = %#v, want a struct", where, v)
			return
		}
		want := make([]string, 0, len(s))
		for k := range s {
			want = append(want, k)
		}
		slices.Sort(want)
		if got := keys(m); !slices.Equal(got, want) {
			t.Errorf("%s members %v, want %v", where, got, want)
		}
		for k, sub := range s {
			if x, ok := m[k]; ok {
				checkShape(t, where+"."+k, x, sub)
			}
		}
	case arr:
		a, ok := v.([]any)
		if !ok {
			t.Errorf("%s = %#v, want an array", where, v)
			return
		}
		for i, x := range a {
			checkShape(t, fmt.Sprintf("%s[%d]", where, i), x, s.elem)
		}
	case tup:
		a, ok := v.([]any)
		if !ok || len(a) != len(s) {
			t.Errorf("%s = %#v, want an array of %d", where, v, len(s))
			return
		}
		for i, x := range a {
			checkShape(t, fmt.Sprintf("%s[%d]", where, i), x, s[i])
		}
	default:
		t.Fatalf("%s: bad shape %#v", where, shape)
	}
}

var (
	shJobShow = map[string]any{"id": "int", "description": "string", "device": "string|nil", "device_type": "string",
		"health_check": "bool", "pipeline": "bool", "health": "string", "state": "string", "submitter": "string",
		"submit_time": "time", "start_time": "time|nil", "end_time": "time|nil", "tags": arr{"string"},
		"visibility": "string", "failure_comment": "string|nil", "metadata": arr{"strstruct"}}
	shJobVerbose = map[string]any{"id": "int", "description": "string", "device_type": "string", "health": "string",
		"state": "string", "submitter": "string", "actual_device": "string|nil", "start_time": "time|nil",
		"end_time": "time|nil", "error_msg": "string|nil", "error_type": "string|nil"}
	shQueue   = map[string]any{"id": "int", "description": "string", "requested_device_type": "string", "submitter": "string"}
	shDevList = map[string]any{"hostname": "string", "type": "string", "health": "string", "state": "string",
		"current_job": "int|nil", "pipeline": "bool"}
	shDevShow = map[string]any{"hostname": "string", "device_type": "string", "health": "string", "state": "string",
		"health_job": "bool", "description": "string|nil", "pipeline": "bool", "has_device_dict": "bool",
		"worker": "string|nil", "current_job": "int|nil", "tags": arr{"string"}}
	shDTList = map[string]any{"name": "string", "devices": "int", "installed": "bool", "template": "bool"}
	shDTShow = map[string]any{"name": "string", "description": "string|nil", "display": "bool", "health_disabled": "bool",
		"health_denominator": "string", "health_frequency": "int", "aliases": arr{"string"}, "devices": arr{"string"},
		"default_template": "bool"}
	shWorker = map[string]any{"hostname": "string", "description": "string|nil", "state": "string", "health": "string",
		"devices": arr{"string"}, "last_ping": "time|nil", "job_limit": "int", "version": "string|nil",
		"default_config": "bool", "default_env": "bool", "default_env_dut": "bool"}
	shTagList  = map[string]any{"name": "string", "description": "string|nil"}
	shTagShow  = map[string]any{"name": "string", "description": "string|nil", "devices": arr{"string"}}
	shAlias    = map[string]any{"name": "string", "device_type": "string"}
	shValidErr = map[string]any{"path": "string", "msg": "string"}
)

// goldenCall is one call of TestGolden: its answer is kept in
// testdata/golden/<file>.xml and must have the shape (or be the fault).
type goldenCall struct {
	file   string
	user   string
	method string
	params []any
	shape  any // nil for a fault
	fault  int
}

// TestGolden calls every method the server registers (lavacli's, lava-facts
// §3.2) at least once with success, checks the answer's shape against
// lava-facts.md, and compares the exact XML with the golden file; faults of
// each kind too. go test -run TestGolden -update rewrites the files.
func TestGolden(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	pub := itoa(e.publicJob)
	const adm = "admin"
	// Job ids are deterministic in a fresh store: 1-3 made by newEnv,
	// 4 submitted below, 5 its resubmission.
	calls := []goldenCall{
		{"system.version", "", "system.version", nil, "string", 0},
		{"system.api_version", "", "system.api_version", nil, "int", 0},
		{"system.whoami", adm, "system.whoami", nil, "string", 0},
		{"system.whoami.anonymous", "", "system.whoami", nil, "nil", 0},
		{"system.listMethods", "", "system.listMethods", nil, arr{"string"}, 0},
		{"system.methodHelp", "", "system.methodHelp", []any{"scheduler.jobs.logs"}, "string", 0},
		{"system.methodSignature", "", "system.methodSignature", []any{"scheduler.jobs.logs"}, arr{arr{"string"}}, 0},

		{"jobs.submit", adm, "scheduler.jobs.submit", []any{qemuJob}, "int", 0},
		{"jobs.show", "", "scheduler.jobs.show", []any{pub}, shJobShow, 0},
		{"jobs.list", "", "scheduler.jobs.list", []any{nil, nil, int64(0), int64(25), int64(0), true}, arr{shJobVerbose}, 0},
		{"jobs.list.short", "", "scheduler.jobs.list", []any{"SUBMITTED", nil, int64(0), int64(2), int64(0), false},
			arr{map[string]any{"id": "int", "description": "string", "device_type": "string", "health": "string", "state": "string", "submitter": "string"}}, 0},
		{"jobs.logs", "", "scheduler.jobs.logs", []any{pub, int64(0), nil}, tup{"bool", "binary"}, 0},
		{"jobs.definition", "", "scheduler.jobs.definition", []any{pub}, "string", 0},
		{"jobs.validate", "", "scheduler.jobs.validate", []any{qemuJob, false}, map[string]any{}, 0},
		{"jobs.validate.invalid", "", "scheduler.jobs.validate", []any{"job_name: x\n", false}, shValidErr, 0},
		{"jobs.queue", "", "scheduler.jobs.queue", []any{nil, int64(0), int64(25)}, arr{shQueue}, 0},
		{"jobs.resubmit", adm, "scheduler.jobs.resubmit", []any{pub}, "int", 0},
		{"jobs.cancel", adm, "scheduler.jobs.cancel", []any{"5"}, "bool", 0},
		{"jobs.configuration.not_started", "", "scheduler.jobs.configuration", []any{pub}, nil, 404},

		{"results.get_testjob_results_yaml", "", "results.get_testjob_results_yaml", []any{pub}, "string", 0},
		{"results.get_testjob_results_csv", "", "results.get_testjob_results_csv", []any{pub}, "string", 0},
		{"results.get_testsuite_results_yaml", "", "results.get_testsuite_results_yaml", []any{pub, "0_smoke", int64(1), int64(1)}, "string", 0},
		{"results.get_testsuite_results_csv", "", "results.get_testsuite_results_csv", []any{pub, "0_smoke"}, "string", 0},
		{"results.get_testcase_results_yaml", "", "results.get_testcase_results_yaml", []any{pub, "0_smoke", "speed"}, "string", 0},
		{"results.get_testcase_results_csv", "", "results.get_testcase_results_csv", []any{pub, "0_smoke", "speed"}, "string", 0},
		{"results.get_testjob_metadata", "", "results.get_testjob_metadata", []any{pub}, arr{"strstruct"}, 401},
		{"results.get_testjob_metadata.user", adm, "results.get_testjob_metadata", []any{pub}, arr{"strstruct"}, 0},
		{"results.get_testjob_suites_list_yaml", "", "results.get_testjob_suites_list_yaml", []any{pub}, "string", 0},
		{"results.get_testsuite_results_count", "", "results.get_testsuite_results_count", []any{pub, "0_smoke"}, "int", 0},

		{"devices.list", "", "scheduler.devices.list", []any{false, false}, arr{shDevList}, 0},
		{"devices.show", "", "scheduler.devices.show", []any{"qemu-01"}, shDevShow, 0},
		{"devices.get_dictionary", adm, "scheduler.devices.get_dictionary", []any{"qemu-01", false, nil}, "binary", 0},
		{"devices.get_dictionary.render", adm, "scheduler.devices.get_dictionary", []any{"qemu-01", true, nil}, "binary", 0},
		{"devices.set_dictionary", adm, "scheduler.devices.set_dictionary", []any{"qemu-01", "{% extends 'qemu.jinja2' %}\n{% set memory = 2048 %}\n"}, "bool", 0},
		{"devices.add", adm, "scheduler.devices.add", []any{"qemu-02", "qemu", "w1", nil, nil, true, "MAINTENANCE", "spare"}, "nil", 0},
		{"devices.update", adm, "scheduler.devices.update", []any{"qemu-02", nil, nil, nil, true, "GOOD", "spare board"}, "nil", 0},
		{"devices.tags.add", adm, "scheduler.devices.tags.add", []any{"qemu-02", "hdmi"}, "nil", 0},
		{"devices.tags.list", "", "scheduler.devices.tags.list", []any{"qemu-02"}, arr{"string"}, 0},
		{"devices.tags.delete", adm, "scheduler.devices.tags.delete", []any{"qemu-02", "hdmi"}, "nil", 0},

		{"device_types.list", "", "scheduler.device_types.list", []any{false}, arr{shDTList}, 0},
		{"device_types.show", "", "scheduler.device_types.show", []any{"qemu"}, shDTShow, 0},
		{"device_types.set_template", adm, "scheduler.device_types.set_template", []any{"qemu", "memory: 2048\n"}, "bool", 0},
		{"device_types.get_template", "", "scheduler.device_types.get_template", []any{"qemu"}, "binary", 0},
		{"device_types.set_health_check", adm, "scheduler.device_types.set_health_check", []any{"qemu", qemuJob}, "bool", 0},
		{"device_types.get_health_check", "", "scheduler.device_types.get_health_check", []any{"qemu"}, "binary", 0},
		{"device_types.add", adm, "scheduler.device_types.add", []any{"bbb", "BeagleBone Black", true, false, int64(24), "hours"}, "nil", 0},
		{"device_types.update", adm, "scheduler.device_types.update", []any{"bbb", "BeagleBone Black rev C", nil, nil, int64(10), "jobs", true}, "nil", 0},
		{"device_types.aliases.add", adm, "scheduler.device_types.aliases.add", []any{"bbb", "beaglebone"}, "nil", 0},
		{"device_types.aliases.list", "", "scheduler.device_types.aliases.list", []any{"bbb"}, arr{"string"}, 0},
		{"device_types.aliases.delete", adm, "scheduler.device_types.aliases.delete", []any{"bbb", "beaglebone"}, "nil", 0},

		{"aliases.add", adm, "scheduler.aliases.add", []any{"virt", "qemu"}, "nil", 0},
		{"aliases.list", "", "scheduler.aliases.list", nil, arr{"string"}, 0},
		{"aliases.show", "", "scheduler.aliases.show", []any{"virt"}, shAlias, 0},
		{"aliases.delete", adm, "scheduler.aliases.delete", []any{"virt"}, "nil", 0},

		{"workers.list", "", "scheduler.workers.list", nil, arr{"string"}, 0},
		{"workers.show", "", "scheduler.workers.show", []any{"w1"}, shWorker, 0},
		{"workers.add", adm, "scheduler.workers.add", []any{"w2", "second worker", false}, "nil", 0},
		{"workers.update", adm, "scheduler.workers.update", []any{"w2", "second", "MAINTENANCE", int64(2)}, "nil", 0},

		{"tags.add", adm, "scheduler.tags.add", []any{"wifi", "802.11"}, "nil", 0},
		{"tags.list", "", "scheduler.tags.list", nil, arr{shTagList}, 0},
		{"tags.show", "", "scheduler.tags.show", []any{"usb"}, shTagShow, 0},
		{"tags.delete", adm, "scheduler.tags.delete", []any{"wifi"}, "nil", 0},

		// Faults: LAVA's codes, and xmlrpc-epi's for protocol errors.
		{"fault.400", adm, "scheduler.jobs.submit", []any{"job_name: x\n"}, nil, 400},
		{"fault.401", "", "scheduler.jobs.submit", []any{qemuJob}, nil, 401},
		{"fault.403", "carol", "scheduler.jobs.cancel", []any{pub}, nil, 403},
		{"fault.404", "", "scheduler.jobs.show", []any{"999"}, nil, 404},
		{"fault.unknown_method", "", "scheduler.jobs.nope", nil, nil, -32601},
		{"fault.argument_count", "", "scheduler.jobs.show", nil, nil, -32602},
		{"fault.argument_type", "", "scheduler.jobs.list", []any{nil, nil, "zero"}, nil, -32602},
	}
	dates := regexp.MustCompile(`<dateTime.iso8601>[^<]*</dateTime.iso8601>`)
	done := map[string]bool{}
	var methods []any
	run := func(c goldenCall) {
		t.Run(c.file, func(t *testing.T) {
			v, f, body := e.call(t, c.user, c.method, c.params...)
			if c.fault != 0 {
				if f == nil || f.Code != c.fault {
					t.Fatalf("got %#v, fault %v; want fault %d", v, f, c.fault)
				}
			} else {
				if f != nil {
					t.Fatalf("fault %d %q", f.Code, f.Msg)
				}
				checkShape(t, c.method, v, c.shape)
				done[c.method] = true
				if c.method == "system.listMethods" {
					methods, _ = v.([]any)
				}
			}
			body = dates.ReplaceAll(body, []byte("<dateTime.iso8601>20230102T03:04:05</dateTime.iso8601>"))
			path := filepath.Join("testdata", "golden", c.file+".xml")
			if *update {
				must(t, os.MkdirAll(filepath.Dir(path), 0o755))
				must(t, os.WriteFile(path, body, 0o644))
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update)", err)
			}
			if !bytes.Equal(body, want) {
				t.Errorf("%s differs from %s:\n%s", c.method, path, body)
			}
		})
	}
	for _, c := range calls {
		run(c)
	}
	// jobs.configuration of a started job: start job 4 as a worker would.
	_, err := e.st.UpdateWorker(ctx, "w1", func(w *model.Worker) error {
		w.State, w.LastPing = model.WorkerOnline, time.Now()
		return nil
	})
	must(t, err)
	j, err := e.st.Job(ctx, store.System(), 4)
	must(t, err)
	if as, err := e.st.Assign(ctx, []store.Assignment{{Job: j, Device: "qemu-01"}}); err != nil || len(as) != 1 {
		t.Fatalf("assigning job 4: %v %v", as, err)
	}
	_, err = e.st.StartJob(ctx, 4)
	must(t, err)
	run(goldenCall{"jobs.configuration", "", "scheduler.jobs.configuration", []any{"4"}, tup{"string", "nil", "nil", "nil", "nil"}, 0})
	run(goldenCall{"jobs.show.running", "", "scheduler.jobs.show", []any{"4"}, shJobShow, 0})
	_, err = e.st.FinishJob(ctx, 4, store.JobResult{Health: model.JobIncomplete, ErrorType: "Infrastructure", FailureComment: "board did not boot"})
	must(t, err)
	run(goldenCall{"jobs.show.finished", "", "scheduler.jobs.show", []any{"4"}, shJobShow, 0})

	// Every registered method answered with success at least once.
	if len(methods) == 0 {
		t.Fatal("system.listMethods answered nothing")
	}
	for _, m := range methods {
		if name := m.(string); !done[name] {
			t.Errorf("method %s has no golden answer", name)
		}
	}
}

// TestBadArguments calls every registered method, as an admin, with every
// argument count it allows (and one more) filled with values of each
// XML-RPC type: each answer is a result or a fault with LAVA's or
// xmlrpc-epi's code, never an internal error, an HTTP error or a crash.
func TestBadArguments(t *testing.T) {
	e := newEnv(t)
	v, f, _ := e.call(t, "", "system.listMethods")
	if f != nil {
		t.Fatal(f)
	}
	odd := []any{int64(-1), 1.5, true, "", "../../etc/passwd", strings.Repeat("x", 5000), Binary("\x00\xff"),
		time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), []any{"a", int64(1)}, map[string]any{"a": nil}, nil}
	calls := 0
	for _, m := range v.([]any) {
		name := m.(string)
		sig, f, _ := e.call(t, "", "system.methodSignature", name)
		if f != nil {
			t.Fatalf("%s: %v", name, f)
		}
		maxArgs := len(sig.([]any)[0].([]any)) - 1
		for n := 0; n <= maxArgs+1; n++ {
			for _, x := range odd {
				params := make([]any, n)
				for i := range params {
					params[i] = x
				}
				_, f, body := e.call(t, "admin", name, params...)
				calls++
				if f != nil && (f.Code == CodeInternal || f.Code == 500) {
					t.Errorf("%s(%d × %#v): internal fault %d %q\n%s", name, n, x, f.Code, f.Msg, body)
				}
			}
		}
	}
	t.Logf("%d calls", calls)
}
