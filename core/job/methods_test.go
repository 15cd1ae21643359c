package job

import (
	"fmt"
	"strings"
	"testing"
)

// soca9Head is a valid job for soca9 without actions: 5 lines.
const soca9Head = "job_name: t\ndevice_type: soca9\ntimeouts:\n  job: {minutes: 10}\nvisibility: public\n"

// soca9Actions: deploy to tftp (line 7, `to` at column 9), boot with u-boot
// (line 12), a test and a command.
const soca9Actions = `actions:
- deploy:
    to: tftp
    kernel: {url: 'http://x.invalid/zImage', type: zimage}
    dtb: {url: 'http://x.invalid/board.dtb'}
- boot:
    method: u-boot
    commands: ramdisk
    prompts: ['/ # ']
- test:
    definitions: [{from: git, repository: r, path: p, name: t}]
- command: {name: pre_os_command}
`

var testDrivers = map[string]Driver{
	"soca9": {Name: "soca9", Version: "1.2.0", DeployMethods: []string{"tftp", "nfs"}, BootMethods: []string{"u-boot"}},
	"qemu":  {Name: "qemu", Version: "0.3.0", DeployMethods: []string{"tmpfs", "nfs"}, BootMethods: []string{"qemu", "qemu-nfs"}},
	// An older driver: its describe answer lists no methods.
	"old": {Name: "old", Version: "0.1.0"},
	// Boot methods only: deploys are not checked.
	"bootonly": {Name: "bootonly", Version: "2.0.0", BootMethods: []string{"u-boot"}},
}

func lookupIn(m map[string]Driver) DriverLookup {
	return func(dt string) (Driver, bool) {
		d, ok := m[dt]
		return d, ok
	}
}

func TestCheckMethods(t *testing.T) {
	mn := func(serverType, clientType, actions string) string {
		return fmt.Sprintf(`job_name: mn
timeouts: {job: {minutes: 30}}
visibility: public
protocols:
  lava-multinode:
    roles:
      server: {device_type: %s, count: 1}
      client: {device_type: %s, count: 2}
    timeout: {minutes: 5}
%s`, serverType, clientType, actions)
	}
	cases := []struct {
		name string
		text string
		want []string // Issue.String() of each error, in order
	}{
		{name: "declared methods", text: soca9Head + soca9Actions},
		{name: "boot method missing",
			text: soca9Head + strings.Replace(soca9Actions, "method: u-boot", "method: grub", 1),
			want: []string{`actions[1].boot.method (line 12, column 13): device type soca9 (driver soca9 1.2.0) has no boot method "grub"; it has: u-boot`}},
		{name: "deploy to missing",
			text: soca9Head + strings.Replace(soca9Actions, "to: tftp", "to: tmpfs\n    images: {rootfs: {url: 'http://x.invalid/r'}}", 1),
			want: []string{`actions[0].deploy.to (line 8, column 9): device type soca9 (driver soca9 1.2.0) has no deploy method "tmpfs"; it has: tftp, nfs`}},
		{name: "every bad action is listed",
			text: soca9Head + "actions:\n- deploy: {to: tmpfs, images: {rootfs: {url: 'http://x.invalid/r'}}}\n" +
				"- boot: {method: grub, commands: ramdisk}\n- boot: {method: u-boot, commands: nfs}\n- boot: {method: fastboot}\n",
			want: []string{
				`actions[0].deploy.to (line 7, column 16): device type soca9 (driver soca9 1.2.0) has no deploy method "tmpfs"; it has: tftp, nfs`,
				`actions[1].boot.method (line 8, column 18): device type soca9 (driver soca9 1.2.0) has no boot method "grub"; it has: u-boot`,
				`actions[3].boot.method (line 10, column 18): device type soca9 (driver soca9 1.2.0) has no boot method "fastboot"; it has: u-boot`,
			}},
		{name: "no active driver: not checked",
			text: strings.Replace(soca9Head, "soca9", "nodriver", 1) + strings.Replace(soca9Actions, "method: u-boot", "method: grub", 1)},
		{name: "driver declares no methods: not checked",
			text: strings.Replace(soca9Head, "soca9", "old", 1) + strings.Replace(soca9Actions, "method: u-boot", "method: grub", 1)},
		{name: "driver declares no deploy methods: deploys not checked",
			text: strings.Replace(soca9Head, "soca9", "bootonly", 1) + "actions:\n- deploy: {to: tmpfs, images: {rootfs: {url: 'http://x.invalid/r'}}}\n- boot: {method: grub, commands: ramdisk}\n",
			want: []string{`actions[1].boot.method (line 8, column 18): device type bootonly (driver bootonly 2.0.0) has no boot method "grub"; it has: u-boot`}},
		{name: "multinode: each role's device type",
			text: mn("qemu", "soca9", "actions:\n- deploy: {to: tmpfs, role: [server, client], images: {rootfs: {url: 'http://x.invalid/r'}}}\n"+
				"- boot: {method: qemu, role: [server]}\n- boot: {method: u-boot, role: [client], commands: ramdisk}\n"),
			want: []string{`actions[0].deploy.to (line 11, column 16): device type soca9 (driver soca9 1.2.0) has no deploy method "tmpfs"; it has: tftp, nfs`}},
		{name: "multinode: one error per device type",
			text: mn("qemu", "soca9", "actions:\n- boot: {method: grub, role: [server, client], commands: ramdisk}\n"),
			want: []string{
				`actions[0].boot.method (line 11, column 18): device type qemu (driver qemu 0.3.0) has no boot method "grub"; it has: qemu, qemu-nfs`,
				`actions[0].boot.method (line 11, column 18): device type soca9 (driver soca9 1.2.0) has no boot method "grub"; it has: u-boot`,
			}},
		{name: "multinode: roles of one type checked once",
			text: strings.Replace(mn("qemu", "qemu", "actions:\n- boot: {method: u-boot, role: [server, client], commands: ramdisk}\n"), "count: 2", "count: 1", 1),
			want: []string{`actions[0].boot.method (line 11, column 18): device type qemu (driver qemu 0.3.0) has no boot method "u-boot"; it has: qemu, qemu-nfs`}},
		{name: "alias: the anchor's position, as other errors",
			text: soca9Head + "x-method: &m grub\n" + strings.Replace(soca9Actions, "method: u-boot", "method: *m", 1),
			want: []string{`actions[1].boot.method (line 6, column 11): device type soca9 (driver soca9 1.2.0) has no boot method "grub"; it has: u-boot`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			def, rep := Parse([]byte(c.text))
			if def == nil {
				t.Fatalf("not parsed: %v", rep.Errors)
			}
			for _, e := range rep.Errors {
				// The alias case uses an extra top-level key; every other
				// definition must be valid.
				if !strings.HasPrefix(e.Path, "x-method") {
					t.Fatalf("the definition itself is invalid: %v", e)
				}
			}
			got := CheckMethods(def, lookupIn(testDrivers))
			var gotS []string
			for _, i := range got {
				gotS = append(gotS, i.String())
			}
			if strings.Join(gotS, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(gotS, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestCheckMethodsNil(t *testing.T) {
	def, rep := Parse([]byte(soca9Head + strings.Replace(soca9Actions, "method: u-boot", "method: grub", 1)))
	if !rep.OK() {
		t.Fatal(rep.Err())
	}
	if got := CheckMethods(def, nil); got != nil {
		t.Errorf("no lookup: %v", got)
	}
	if got := CheckMethods(nil, lookupIn(testDrivers)); got != nil {
		t.Errorf("no definition: %v", got)
	}
}
