package job

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// head is a valid job without actions: 5 lines, so actions start at line 6.
const head = "job_name: t\ndevice_type: qemu\ntimeouts:\n  job: {minutes: 10}\nvisibility: public\n"

const okActions = "actions:\n- boot: {method: qemu, media: tmpfs}\n"

type want struct {
	path      string
	line, col int
	msg       string // substring of the message
}

func TestRules(t *testing.T) {
	cases := []struct {
		name  string
		text  string
		errs  []want
		warns []want
	}{
		{name: "valid minimal", text: head + okActions},
		{name: "missing job_name", text: "device_type: qemu\ntimeouts: {job: {minutes: 1}}\nvisibility: public\n" + okActions,
			errs: []want{{"job_name", 1, 1, "required key not provided"}}},
		{name: "job_name not a string", text: "job_name: [a]\ndevice_type: qemu\ntimeouts: {job: {minutes: 1}}\nvisibility: public\n" + okActions,
			errs: []want{{"job_name", 1, 11, "expected a string"}}},
		{name: "job_name too long", text: "job_name: " + strings.Repeat("x", 201) + "\ndevice_type: qemu\ntimeouts: {job: {minutes: 1}}\nvisibility: public\n" + okActions,
			errs: []want{{"job_name", 1, 11, "between 1 and 200"}}},
		{name: "extra top key", text: head + "foo: 1\n" + okActions,
			errs: []want{{"foo", 6, 1, "extra keys not allowed"}}},
		{name: "missing timeouts.job", text: "job_name: t\ndevice_type: qemu\ntimeouts:\n  action: {minutes: 1}\nvisibility: public\n" + okActions,
			errs: []want{{"timeouts.job", 4, 3, "required key not provided"}}},
		{name: "timeout zero", text: "job_name: t\ndevice_type: qemu\ntimeouts:\n  job: {minutes: 0}\nvisibility: public\n" + okActions,
			errs: []want{{"timeouts.job.minutes", 4, 18, "at least 1"}}},
		{name: "timeout two units", text: "job_name: t\ndevice_type: qemu\ntimeouts:\n  job: {minutes: 1, seconds: 3}\nvisibility: public\n" + okActions,
			errs: []want{{"timeouts.job", 4, 8, "exactly one"}}},
		{name: "timeout bad unit", text: "job_name: t\ndevice_type: qemu\ntimeouts:\n  job: {weeks: 1}\nvisibility: public\n" + okActions,
			errs: []want{{"timeouts.job.weeks", 4, 9, "extra keys"}}},
		{name: "timeouts extra key", text: "job_name: t\ndevice_type: qemu\ntimeouts:\n  job: {minutes: 1}\n  bogus: {minutes: 1}\nvisibility: public\n" + okActions,
			errs: []want{{"timeouts.bogus", 5, 3, "extra keys"}}},
		{name: "global action timeout above job", text: "job_name: t\ndevice_type: qemu\ntimeouts:\n  job: {minutes: 10}\n  action: {hours: 1}\nvisibility: public\n" + okActions,
			errs: []want{{"timeouts.action", 5, 11, "Global timeout is larger than job timeout"}}},
		{name: "named action timeout above job", text: "job_name: t\ndevice_type: qemu\ntimeouts:\n  job: {minutes: 10}\n  actions:\n    http-download: {minutes: 11}\nvisibility: public\n" + okActions,
			errs: []want{{"timeouts.actions.http-download", 6, 20, "Global timeout"}}},
		{name: "action timeout above job", text: head + "actions:\n- boot:\n    method: qemu\n    timeout: {days: 1}\n",
			errs: []want{{"actions[0].boot.timeout", 9, 14, "Action timeout is larger than job timeout"}}},
		{name: "missing visibility", text: "job_name: t\ndevice_type: qemu\ntimeouts: {job: {minutes: 1}}\n" + okActions,
			errs: []want{{"visibility", 1, 1, "required key not provided"}}},
		{name: "bad visibility", text: "job_name: t\ndevice_type: qemu\ntimeouts: {job: {minutes: 1}}\nvisibility: secret\n" + okActions,
			errs: []want{{"visibility", 4, 13, "not a valid value"}}},
		{name: "group visibility", text: "job_name: t\ndevice_type: qemu\ntimeouts: {job: {minutes: 1}}\nvisibility: {group: [lab]}\n" + okActions},
		{name: "group visibility not a list", text: "job_name: t\ndevice_type: qemu\ntimeouts: {job: {minutes: 1}}\nvisibility: {group: lab}\n" + okActions,
			errs: []want{{"visibility.group", 4, 21, "expected a list"}}},
		{name: "priority word", text: head + "priority: low\n" + okActions},
		{name: "priority out of range", text: head + "priority: 101\n" + okActions,
			errs: []want{{"priority", 6, 11, "[0, 100]"}}},
		{name: "priority unknown word", text: head + "priority: urgent\n" + okActions,
			errs: []want{{"priority", 6, 11, "not a valid value"}}},
		{name: "no device_type", text: "job_name: t\ntimeouts: {job: {minutes: 1}}\nvisibility: public\n" + okActions,
			errs: []want{{"device_type", 1, 1, `"device_type" or multinode should be defined`}}},
		{name: "tags not strings", text: head + "tags: [a, [b]]\n" + okActions,
			errs: []want{{"tags[1]", 6, 11, "expected a string"}}},
		{name: "context unknown key warns", text: head + "context: {arch: amd64, my_var: 1}\n" + okActions,
			warns: []want{{"context.my_var", 6, 24, "context variable"}}},
		{name: "context mapping value", text: head + "context: {arch: {a: 1}}\n" + okActions,
			errs: []want{{"context.arch", 6, 17, "expected an integer, a string or a list"}}},
		{name: "metadata list value", text: head + "metadata: {a: [1]}\n" + okActions,
			errs: []want{{"metadata.a", 6, 15, "metadata values are scalars"}}},
		{name: "secrets not a mapping", text: head + "secrets: [a]\n" + okActions,
			errs: []want{{"secrets", 6, 10, "expected a mapping"}}},
		{name: "actions missing", text: head,
			errs: []want{{"actions", 1, 1, "required key not provided"}}},
		{name: "action two keys", text: head + "actions:\n- {boot: {method: qemu}, test: {definitions: []}}\n",
			errs: []want{{"actions[0]", 7, 3, "exactly one key"}}},
		{name: "unknown action kind", text: head + "actions:\n- flash: {to: x}\n",
			errs: []want{{"actions[0].flash", 7, 3, "unknown action type"}}},
		{name: "unknown deploy to", text: head + "actions:\n- deploy: {to: floppy}\n",
			errs: []want{{"actions[0].deploy.to", 7, 16, "unknown action type"}}},
		{name: "deploy without to", text: head + "actions:\n- deploy: {os: debian}\n",
			errs: []want{{"actions[0].deploy.to", 7, 11, "required key"}}},
		{name: "unknown boot method", text: head + "actions:\n- boot: {method: magic}\n",
			errs: []want{{"actions[0].boot.method", 7, 18, "unknown action type"}}},
		{name: "bad compression", text: head + "actions:\n- deploy:\n    to: tmpfs\n    images:\n      rootfs: {url: 'http://x/r.img.rar', compression: rar}\n",
			errs: []want{{"actions[0].deploy.images.rootfs.compression", 10, 56, "not a valid value"}}},
		{name: "null compression ok", text: head + "actions:\n- deploy:\n    to: tmpfs\n    images:\n      rootfs: {url: 'http://x/r.img', compression: null}\n"},
		{name: "bad archive", text: head + "actions:\n- deploy:\n    to: tftp\n    kernel: {url: 'http://x/k', archive: zip}\n",
			errs: []want{{"actions[0].deploy.kernel.archive", 9, 42, "not a valid value"}}},
		{name: "tftp needs kernel", text: head + "actions:\n- deploy:\n    to: tftp\n    dtb: {url: 'http://x/d'}\n",
			errs: []want{{"actions[0].deploy.kernel", 8, 5, "needs a kernel"}}},
		{name: "tmpfs extra key warns", text: head + "actions:\n- deploy:\n    to: tmpfs\n    images: {rootfs: {url: 'http://x/r'}}\n    dtb: http://x/d\n",
			warns: []want{{"actions[0].deploy.dtb", 10, 5, "extra key"}}},
		{name: "qemu-iso connection warns", text: head + "actions:\n- boot:\n    method: qemu-iso\n    media: img\n    connection: serial\n",
			warns: []want{{"actions[0].boot.connection", 10, 5, "extra key"}}},
		{name: "empty prompt", text: head + "actions:\n- boot: {method: qemu, prompts: ['']}\n",
			errs: []want{{"actions[0].boot.prompts[0]", 7, 34, "empty prompt"}}},
		{name: "auto_login password without prompt", text: head + "actions:\n- boot:\n    method: qemu\n    auto_login: {login_prompt: 'login:', username: root, password: x}\n",
			errs: []want{{"actions[0].boot.auto_login.password_prompt", 9, 17, "required key"}}},
		{name: "u-boot needs commands", text: head + "actions:\n- boot: {method: u-boot}\n",
			errs: []want{{"actions[0].boot.commands", 7, 9, "required key"}}},
		{name: "failure_retry zero", text: head + "actions:\n- boot: {method: qemu, failure_retry: 0}\n",
			errs: []want{{"actions[0].boot.failure_retry", 7, 39, "at least 1"}}},
		{name: "namespace reserved", text: head + "actions:\n- boot: {method: qemu, namespace: common}\n",
			errs: []want{{"actions[0].boot.namespace", 7, 35, "reserved"}}},
		{name: "namespaces all or none", text: head + "actions:\n- boot: {method: qemu, namespace: a}\n- boot: {method: qemu}\n",
			errs: []want{{"actions[1].boot.namespace", 8, 9, "every action should have a namespace"}}},
		{name: "test bad name", text: head + "actions:\n- test:\n    definitions:\n    - {from: git, repository: 'http://x/r.git', path: a.yaml, name: 'smoke tests'}\n",
			errs: []want{{"actions[0].test.definitions[0].name", 9, 69, "does not match regular expression"}}},
		{name: "test name lava reserved", text: head + "actions:\n- test:\n    definitions:\n    - {from: git, repository: 'http://x/r.git', path: a.yaml, name: lava}\n",
			errs: []want{{"actions[0].test.definitions[0].name", 9, 69, "reserved"}}},
		{name: "test from url without compression", text: head + "actions:\n- test:\n    definitions:\n    - {from: url, repository: 'http://x/t.tar.gz', path: a.yaml, name: t}\n",
			errs: []want{{"actions[0].test.definitions[0].from", 9, 14, "compression"}}},
		{name: "test from url with compression", text: head + "actions:\n- test:\n    definitions:\n    - {from: url, compression: gz, repository: 'http://x/t.tar.gz', path: a.yaml, name: t}\n"},
		{name: "test bad from", text: head + "actions:\n- test:\n    definitions:\n    - {from: svn, repository: 'http://x/r', path: a.yaml, name: t}\n",
			errs: []want{{"actions[0].test.definitions[0].from", 9, 14, "not a valid value"}}},
		{name: "inline test needs metadata", text: head + "actions:\n- test:\n    definitions:\n    - from: inline\n      name: t\n      path: inline/t.yaml\n      repository: {run: {steps: [ls]}}\n",
			errs: []want{{"actions[0].test.definitions[0].repository.metadata", 12, 19, "required key"}}},
		{name: "test skip_install bad", text: head + "actions:\n- test:\n    definitions:\n    - {from: git, repository: r, path: p, name: t, skip_install: [everything]}\n",
			errs: []want{{"actions[0].test.definitions[0].skip_install[0]", 9, 67, "not a valid value"}}},
		{name: "test without definitions", text: head + "actions:\n- test: {timeout: {minutes: 1}}\n",
			errs: []want{{"actions[0].test", 7, 9, "needs definitions"}}},
		{name: "test extra key warns", text: head + "actions:\n- test:\n    definitions:\n    - {from: git, repository: r, path: p, name: t, colour: red}\n",
			warns: []want{{"actions[0].test.definitions[0].colour", 9, 52, "extra key"}}},
		{name: "command needs name", text: head + "actions:\n- command: {timeout: {minutes: 1}}\n",
			errs: []want{{"actions[0].command.name", 7, 12, "required key"}}},
		{name: "notify bad status", text: head + "notify: {criteria: {status: done}}\n" + okActions,
			errs: []want{{"notify.criteria.status", 6, 29, "not a valid value"}}},
		{name: "notify email without address", text: head + "notify:\n  criteria: {status: complete}\n  recipients:\n  - to: {method: email}\n" + okActions,
			errs: []want{{"notify.recipients[0].to", 9, 9, "No valid user or email"}}},
		{name: "notify callback and callbacks", text: head + "notify:\n  criteria: {status: complete}\n  callback: {url: 'http://x'}\n  callbacks: [{url: 'http://y'}]\n" + okActions,
			errs: []want{{"notify.callbacks", 9, 3, "mutually exclusive"}}},
		{name: "notify dependency_query refused", text: head + "notify:\n  criteria: {status: complete, dependency_query: q}\n  callback: {url: 'http://x'}\n" + okActions,
			errs: []want{{"notify.criteria.dependency_query", 7, 32, "dependency_query is not supported"}}},
		{name: "notify irc refused", text: head + "notify:\n  criteria: {status: complete}\n  recipients:\n  - to: {method: irc, handle: me, server: irc.example.org}\n" + okActions,
			errs: []want{{"notify.recipients[0].to.method", 9, 18, "irc notifications are not supported"}}},
		{name: "notify compare refused", text: head + "notify:\n  criteria: {status: complete}\n  compare: {query: {entity: testjob}}\n  callback: {url: 'http://x'}\n" + okActions,
			errs: []want{{"notify.compare", 8, 3, "compare (comparing with a query"}}},
		{name: "unknown protocol", text: head + "protocols: {lava-foo: {}}\n" + okActions,
			errs: []want{{"protocols.lava-foo", 6, 13, "extra keys"}}},
		{name: "xnbd port", text: head + "protocols: {lava-xnbd: {port: any}}\n" + okActions,
			errs: []want{{"protocols.lava-xnbd.port", 6, 31, "auto"}}},
		{name: "several errors at once", text: "job_name: t\ntimeouts: {job: {minutes: 1}}\npriority: 500\nactions:\n- deploy: {to: floppy}\n",
			errs: []want{
				{"device_type", 1, 1, "or multinode"},
				{"visibility", 1, 1, "required"},
				{"priority", 3, 11, "[0, 100]"},
				{"actions[0].deploy.to", 5, 16, "unknown action type"},
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, rep := Parse([]byte(tc.text))
			if d == nil {
				t.Fatalf("nil definition: %v", rep.Err())
			}
			check(t, "error", rep.Errors, tc.errs)
			check(t, "warning", rep.Warnings, tc.warns)
			if (len(tc.errs) == 0) != rep.OK() || (rep.Err() == nil) != rep.OK() {
				t.Errorf("OK()=%v Err()=%v with %d errors", rep.OK(), rep.Err(), len(rep.Errors))
			}
		})
	}
}

func check(t *testing.T, kind string, got []Issue, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Errorf("%d %ss, want %d:\n%s", len(got), kind, len(wants), issues(got))
		return
	}
	for i, w := range wants {
		g := got[i]
		if g.Path != w.path || g.Line != w.line || g.Column != w.col || !strings.Contains(g.Message, w.msg) {
			t.Errorf("%s %d = %s\nwant %s (line %d, column %d): ...%s...", kind, i, g, w.path, w.line, w.col, w.msg)
		}
	}
}

func issues(is []Issue) string {
	var b strings.Builder
	for _, i := range is {
		b.WriteString("  " + i.String() + "\n")
	}
	return b.String()
}

func TestDecodedFields(t *testing.T) {
	text := `job_name: full
device_type: qemu
priority: 80
visibility: {group: [lab, ci]}
tags: [kvm, fast]
timeouts:
  job: {hours: 1}
  queue: {days: 2}
  action: {minutes: 5}
  connection: {seconds: 30}
  actions: {http-download: {minutes: 3}}
  connections: {lava-test-shell: {seconds: 10}}
context: {arch: amd64, extra_options: [-smp, 2]}
environment: {FOO: bar}
secrets: {TOKEN: s3cr3t}
metadata: {source: here, build: 12}
actions:
- deploy:
    to: tmpfs
    namespace: a
    failure_retry: 2
    timeout: {minutes: 4}
    images: {rootfs: {url: 'http://x/r.img.gz', compression: gz}}
- command: {name: power_on, namespace: a}
- test:
    namespace: a
    definitions: [{from: git, repository: r, path: p, name: t}]
`
	d, rep := Parse([]byte(text))
	if !rep.OK() || len(rep.Warnings) > 0 {
		t.Fatalf("errors %v warnings %v", rep.Errors, rep.Warnings)
	}
	if d.JobName != "full" || d.DeviceType != "qemu" || d.Priority != 80 {
		t.Errorf("header: %q %q %d", d.JobName, d.DeviceType, d.Priority)
	}
	if d.Visibility.Kind != "group" || strings.Join(d.Visibility.Groups, ",") != "lab,ci" {
		t.Errorf("visibility %+v", d.Visibility)
	}
	if strings.Join(d.Tags, ",") != "kvm,fast" {
		t.Errorf("tags %v", d.Tags)
	}
	to := d.Timeouts
	if to.Job != time.Hour || to.Queue != 48*time.Hour || to.Action != 5*time.Minute || to.Connection != 30*time.Second ||
		to.Actions["http-download"] != 3*time.Minute || to.Connections["lava-test-shell"] != 10*time.Second {
		t.Errorf("timeouts %+v", to)
	}
	if d.Context["arch"] != "amd64" || d.Environment["FOO"] != "bar" || d.Secrets["TOKEN"] != "s3cr3t" || d.Metadata["build"] != 12 {
		t.Errorf("maps %v %v %v %v", d.Context, d.Environment, d.Secrets, d.Metadata)
	}
	if len(d.Actions) != 3 {
		t.Fatalf("%d actions", len(d.Actions))
	}
	a := d.Actions[0]
	if a.Kind != "deploy" || a.Method != "tmpfs" || a.Namespace != "a" || a.FailureRetry != 2 || a.Timeout != 4*time.Minute || a.Line != 18 {
		t.Errorf("action 0 %+v", a)
	}
	if a.Params["images"].(map[string]any)["rootfs"].(map[string]any)["compression"] != "gz" {
		t.Errorf("params %v", a.Params)
	}
	if d.Actions[1].Method != "power_on" || d.Actions[2].Kind != "test" || d.Actions[2].Method != "" {
		t.Errorf("actions %+v", d.Actions[1:])
	}
	if d.IsMultinode() || d.Split() != nil {
		t.Error("not a multinode job")
	}
}

func TestPriorityDefault(t *testing.T) {
	d, rep := Parse([]byte(head + okActions))
	if !rep.OK() || d.Priority != 50 || d.Visibility.Kind != "public" {
		t.Fatalf("priority %d visibility %+v errors %v", d.Priority, d.Visibility, rep.Errors)
	}
	for word, want := range map[string]int{"high": 100, "medium": 50, "low": 0, "0": 0, "100": 100, "7": 7} {
		d, rep := Parse([]byte(head + "priority: " + word + "\n" + okActions))
		if !rep.OK() || d.Priority != want {
			t.Errorf("priority %s: got %d, errors %v", word, d.Priority, rep.Errors)
		}
	}
}

func TestNotAMapping(t *testing.T) {
	for _, text := range []string{"", "- a\n- b\n", "just a string", "{a: [", "\t\x00"} {
		d, rep := Parse([]byte(text))
		if d != nil || rep == nil || rep.OK() || rep.Err() == nil {
			t.Errorf("%q: want nil definition and an error, got %v %v", text, d, rep)
		}
	}
}

func TestYAMLErrorLine(t *testing.T) {
	_, rep := Parse([]byte("job_name: t\nactions:\n  - a\n b: c\n"))
	if rep.OK() || rep.Errors[0].Line == 0 {
		t.Fatalf("want a YAML error with a line: %v", rep.Errors)
	}
}

func TestIssueString(t *testing.T) {
	i := Issue{Path: "timeouts.job", Line: 3, Column: 5, Message: "required key not provided"}
	if got := i.String(); got != "timeouts.job (line 3, column 5): required key not provided" {
		t.Errorf("String() = %q", got)
	}
	r := &Report{Errors: []Issue{i, {Path: "priority", Line: 6, Column: 11, Message: "bad"}}}
	err := r.Err()
	if err == nil || !strings.Contains(err.Error(), "timeouts.job (line 3, column 5)") || !strings.Contains(err.Error(), "\npriority (line 6, column 11): bad") {
		t.Errorf("Err() = %v", err)
	}
}

// TestTimeoutBound: one upper bound (MaxTimeout, 30 days) whatever the
// unit, on the job, action and connection timeouts.
func TestTimeoutBound(t *testing.T) {
	for _, tc := range []struct {
		timeouts string
		ok       bool
	}{
		{"  job: {days: 30}\n", true},
		{"  job: {seconds: 2592000}\n", true},
		{"  job: {seconds: 2592001}\n", false},
		{"  job: {seconds: 1000000000}\n", false},
		{"  job: {minutes: 1000000000}\n", false},
		{"  job: {hours: 721}\n", false},
		{"  job: {days: 31}\n", false},
		{"  job: {days: 30}\n  action: {seconds: 3000000}\n", false},
		{"  job: {days: 30}\n  connection: {minutes: 50000}\n", false},
	} {
		text := "job_name: t\ndevice_type: qemu\nvisibility: public\ntimeouts:\n" + tc.timeouts + okActions
		_, rep := Parse([]byte(text))
		if rep.OK() != tc.ok {
			t.Errorf("%q: accepted %v, want %v (%v)", tc.timeouts, rep.OK(), tc.ok, rep.Err())
		}
		if !tc.ok && !strings.Contains(fmt.Sprint(rep.Err()), "over the limit of 30 days") {
			t.Errorf("%q: %v, want the limit named", tc.timeouts, rep.Err())
		}
	}
}

func TestParseTimeout(t *testing.T) {
	cases := []struct {
		in   map[string]any
		want time.Duration
		err  bool
	}{
		{map[string]any{"minutes": 5}, 5 * time.Minute, false},
		{map[string]any{"hours": 1, "skip": true}, time.Hour, false},
		{map[string]any{"days": int64(2)}, 48 * time.Hour, false},
		{map[string]any{"seconds": 90.0}, 90 * time.Second, false},
		{map[string]any{"minutes": 0}, 30 * time.Second, false},
		{map[string]any{}, 30 * time.Second, false},
		{map[string]any{"minutes": 1, "seconds": 30}, 90 * time.Second, false},
		{map[string]any{"weeks": 1}, 0, true},
		{map[string]any{"minutes": "5"}, 0, true},
		{map[string]any{"minutes": -1}, 0, true},
		{map[string]any{"seconds": 1.5}, 0, true},
		{map[string]any{"days": 1 << 62}, 0, true},
		{map[string]any{"skip": "yes"}, 0, true},
		{map[string]any{"days": 30}, MaxTimeout, false},
		{map[string]any{"seconds": 1000000000}, 0, true},
		{map[string]any{"days": 31}, 0, true},
		{map[string]any{"days": 29, "hours": 25}, 0, true},
	}
	for _, c := range cases {
		got, err := ParseTimeout(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParseTimeout(%v) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.err)
		}
	}
}
