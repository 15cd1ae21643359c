package job

import (
	"strings"
	"testing"
)

const multinodeJob = `job_name: mn
timeouts: {job: {minutes: 30}}
visibility: public
protocols:
  lava-multinode:
    roles:
      server:
        device_type: qemu
        count: 1
        tags: [big]
        context: {arch: amd64}
        essential: true
      client:
        device_type: bbb
        count: 2
    timeout: {minutes: 5}
actions:
- deploy: {to: tmpfs, role: [server, client], images: {rootfs: {url: 'http://x/r.img'}}}
- boot: {method: qemu, role: [server]}
- test:
    role: [client]
    definitions: [{from: git, repository: r, path: p, name: t}]
`

func TestMultinodeSplit(t *testing.T) {
	d, rep := Parse([]byte(multinodeJob))
	if !rep.OK() || len(rep.Warnings) > 0 {
		t.Fatalf("errors %v warnings %v", rep.Errors, rep.Warnings)
	}
	if !d.IsMultinode() || len(d.Roles) != 2 {
		t.Fatalf("roles %+v", d.Roles)
	}
	if r := d.Roles[0]; r.Name != "server" || r.DeviceType != "qemu" || r.Count != 1 || !r.Essential || r.Tags[0] != "big" || r.Context["arch"] != "amd64" {
		t.Errorf("role 0 %+v", r)
	}
	subs := d.Split()
	if len(subs) != 3 {
		t.Fatalf("%d sub-jobs, want 3", len(subs))
	}
	wants := []struct {
		role, dt string
		kinds    string
	}{{"server", "qemu", "deploy,boot"}, {"client", "bbb", "deploy,test"}, {"client", "bbb", "deploy,test"}}
	for i, w := range wants {
		s := subs[i]
		var kinds []string
		for _, a := range s.Actions {
			kinds = append(kinds, a.Kind)
		}
		if s.Role != w.role || s.Index != i || s.DeviceType != w.dt || strings.Join(kinds, ",") != w.kinds {
			t.Errorf("sub-job %d: %s %d %s %v", i, s.Role, s.Index, s.DeviceType, kinds)
		}
		// The role's text is a single-device definition: it parses, names the
		// device type and the role, and holds only that role's actions.
		sd, srep := Parse(s.Text)
		if sd == nil {
			t.Fatalf("sub-job %d text does not parse: %v\n%s", i, srep.Err(), s.Text)
		}
		if sd.DeviceType != w.dt || len(sd.Actions) != len(s.Actions) {
			t.Errorf("sub-job %d text: device_type %q, %d actions\n%s", i, sd.DeviceType, len(sd.Actions), s.Text)
		}
		if !strings.Contains(string(s.Text), "role: "+w.role+"\n") {
			t.Errorf("sub-job %d text lacks lava-multinode role:\n%s", i, s.Text)
		}
	}
	if !strings.Contains(string(subs[0].Text), "tags:\n  - big") || !strings.Contains(string(subs[0].Text), "arch: amd64") {
		t.Errorf("server text lacks tags or context:\n%s", subs[0].Text)
	}
}

func TestMultinodeRules(t *testing.T) {
	cases := []struct {
		name string
		edit func(string) string
		want want
	}{
		{"device_type forbidden", func(s string) string { return "device_type: qemu\n" + s },
			want{"device_type", 1, 14, "should not be used with multinode"}},
		{"action without role", func(s string) string {
			return strings.Replace(s, "{method: qemu, role: [server]}", "{method: qemu}", 1)
		},
			want{"actions[1].boot.role", 19, 9, "should have roles"}},
		{"unknown role", func(s string) string { return strings.Replace(s, "role: [server]}", "role: [srv]}", 1) },
			want{"actions[1].boot.role[0]", 19, 31, `unknown role "srv"`}},
		{"extra multinode key", func(s string) string {
			return strings.Replace(s, "    timeout: {minutes: 5}\n", "    timeout: {minutes: 5}\n    group_size: 3\n", 1)
		}, want{"protocols.lava-multinode.group_size", 17, 5, "extra keys"}},
		{"role without count", func(s string) string { return strings.Replace(s, "        count: 2\n", "", 1) },
			want{"protocols.lava-multinode.roles.client.count", 14, 9, "required key"}},
		{"role extra key", func(s string) string {
			return strings.Replace(s, "        count: 2\n", "        count: 2\n        size: 9\n", 1)
		},
			want{"protocols.lava-multinode.roles.client.size", 16, 9, "extra keys"}},
		{"multinode timeout above job", func(s string) string { return strings.Replace(s, "timeout: {minutes: 5}", "timeout: {hours: 5}", 1) },
			want{"protocols.lava-multinode.timeout", 16, 14, "Global timeout"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, rep := Parse([]byte(tc.edit(multinodeJob)))
			check(t, "error", rep.Errors, []want{tc.want})
		})
	}
}

func TestConnectionRole(t *testing.T) {
	text := `job_name: ssh
timeouts: {job: {minutes: 30}}
visibility: public
protocols:
  lava-multinode:
    roles:
      host: {device_type: qemu, count: 1}
      guest: {connection: ssh, count: 2, host_role: host, expect_role: host}
actions:
- deploy: {to: ssh, role: [guest]}
`
	d, rep := Parse([]byte(text))
	if !rep.OK() {
		t.Fatal(rep.Err())
	}
	subs := d.Split()
	if len(subs) != 3 || subs[1].Role != "guest" || subs[1].DeviceType != "" || len(subs[0].Actions) != 0 || len(subs[2].Actions) != 1 {
		t.Errorf("split %+v", subs)
	}
	_, rep = Parse([]byte(strings.Replace(text, ", expect_role: host", "", 1)))
	check(t, "error", rep.Errors, []want{{"protocols.lava-multinode.roles.guest.expect_role", 8, 14, "required key"}})
	if r := d.Roles[1]; r.Connection != "ssh" || r.HostRole != "host" || r.ExpectRole != "host" {
		t.Errorf("guest role %+v", r)
	}
	// The guest's sub-job reads back as a single-device job of the ssh
	// device type, with its connection facts.
	facts, single, err := ReadSubJob(subs[1].Text)
	if err != nil || facts == nil || facts.Connection != "ssh" || facts.HostRole != "host" || facts.ExpectRole != "host" || facts.Role != "guest" {
		t.Fatalf("ReadSubJob: %+v %v", facts, err)
	}
	sd, rep := Parse(single)
	if !rep.OK() || sd.DeviceType != "ssh" {
		t.Fatalf("guest sub-job: %v %+v\n%s", rep.Err(), sd, single)
	}
	if facts, _, _ := ReadSubJob(subs[0].Text); facts == nil || facts.Connection != "" {
		t.Errorf("host facts %+v", facts)
	}
}

// TestConnectionRoleErrors (issue 21): what LAVA refuses of a connection
// role, with the role's field named.
func TestConnectionRoleErrors(t *testing.T) {
	text := `job_name: ssh
timeouts: {job: {minutes: 30}}
visibility: public
protocols:
  lava-multinode:
    roles:
      host: {device_type: qemu, count: 1}
      guest: {connection: ssh, count: 2, host_role: host, expect_role: host, request: lava-start}
actions:
- deploy: {to: ssh, role: [guest]}
`
	if _, rep := Parse([]byte(text)); !rep.OK() {
		t.Fatal(rep.Err())
	}
	cases := []struct {
		name, from, to string
		want           want
	}{
		{"unknown host role", "host_role: host", "host_role: server", want{"protocols.lava-multinode.roles.guest.host_role", 8, 53, "'host_role' 'server' does not exist"}},
		{"unknown expect role", "expect_role: host", "expect_role: nobody", want{"protocols.lava-multinode.roles.guest.expect_role", 8, 72, "'expect_role' 'nobody' does not exist"}},
		{"host count", "host: {device_type: qemu, count: 1}", "host: {device_type: qemu, count: 2}", want{"protocols.lava-multinode.roles.guest.host_role", 8, 53, "must be 1"}},
		{"connection kind", "connection: ssh", "connection: serial", want{"protocols.lava-multinode.roles.guest.connection", 8, 27, "only ssh"}},
		{"request", "request: lava-start", "request: lava-stop", want{"protocols.lava-multinode.roles.guest.request", 8, 87, "lava-start"}},
		{"connection and device type", "guest: {connection", "guest: {device_type: qemu, connection", want{"protocols.lava-multinode.roles.guest.device_type", 8, 15, "extra keys"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, rep := Parse([]byte(strings.Replace(text, tc.from, tc.to, 1)))
			check(t, "error", rep.Errors, []want{tc.want})
		})
	}
}
