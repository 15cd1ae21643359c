package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/goldentest"
	"github.com/lavalab/lavalab/devicetypes/internal/drv"
	"github.com/lavalab/lavalab/sdk"
)

func TestDescribe(t *testing.T) { goldentest.Describe(t, newDriver(), settings) }

const dl = "/var/lib/lava/dispatcher/tmp/42/deployimages-x1/"

func boot(dict sdk.Values, method string, ctx sdk.Values, arts map[string]sdk.Artifact) sdk.PlanRequest {
	return sdk.PlanRequest{
		JobID:   "42",
		Action:  sdk.Action{Kind: sdk.ActionBoot, Method: method, Level: "2", Params: sdk.Values{"prompts": []any{"root@debian:~#"}}},
		Context: ctx, Settings: dict,
		Device: sdk.DeviceFacts{Hostname: "qemu01", DeviceType: "qemu"},
		Worker: sdk.WorkerFacts{ServerIP: "192.168.0.2", Artifacts: arts},
	}
}

func TestPlans(t *testing.T) {
	qemu01, _ := goldentest.DictionaryValues(t, "qemu01.jinja2")
	kvm01, _ := goldentest.DictionaryValues(t, "kvm01.jinja2")
	direct := map[string]sdk.Artifact{
		"kernel": {LocalPath: dl + "kernel/Image", ImageArg: "-kernel {kernel} --append \"console=ttyAMA0 root=/dev/vda rw\"", Type: "image"},
		"initrd": {LocalPath: dl + "initrd/rootfs.cpio.gz", ImageArg: "-initrd {initrd}"},
		"rootfs": {LocalPath: dl + "rootfs/rootfs.ext4", ImageArg: "-drive format=raw,file={rootfs}"},
	}
	disk := map[string]sdk.Artifact{"rootfs": {LocalPath: dl + "rootfs/debian.qcow2", ImageArg: "-drive format=qcow2,file={rootfs},media=disk", Format: "qcow2"}}
	nfs := map[string]sdk.Artifact{
		"kernel":    {LocalPath: dl + "kernel/Image", ImageArg: "-kernel {kernel}", Type: "image"},
		"nfsrootfs": {LocalPath: "/var/lib/lava/dispatcher/tmp/42/extract-nfsrootfs-x2"},
	}
	for _, tc := range []struct {
		name    string
		req     sdk.PlanRequest
		errType string
	}{
		{"deploy-tmpfs", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionDeploy, Method: "tmpfs"}}, ""},
		{"deploy-nfs", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionDeploy, Method: "nfs"}}, ""},
		{"boot-arm64-direct-kernel", boot(qemu01, "qemu", sdk.Values{"arch": "arm64", "memory": 2048, "extra_options": []any{"-smp", "2"}}, direct), ""},
		{"boot-amd64-disk-kvm01", boot(kvm01, "qemu", sdk.Values{"arch": "amd64"}, disk), ""},
		{"boot-i386-disk", boot(nil, "qemu", sdk.Values{"arch": "i386", "no_kvm": true}, disk), ""},
		{"boot-riscv64-direct", boot(nil, "qemu", sdk.Values{"arch": "riscv64", "no_kvm": true}, direct), ""},
		{"boot-arm64-qemu-nfs", boot(nil, "qemu-nfs", sdk.Values{"arch": "aarch64", "extra_nfsroot_args": ",vers=3"}, nfs), ""},
		{"test", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionTest}, Settings: kvm01}, ""},
		{"command-sleep-short", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionCommand, Method: "sleep_short"}, Settings: qemu01}, ""},
		{"error-no-arch", boot(qemu01, "qemu", nil, disk), sdk.ErrorJob},
		{"error-unknown-arch", boot(nil, "qemu", sdk.Values{"arch": "z80"}, disk), sdk.ErrorJob},
		{"error-image-arg-unknown-file", boot(nil, "qemu", sdk.Values{"arch": "amd64"}, map[string]sdk.Artifact{
			"kernel": {LocalPath: dl + "kernel/bzImage", ImageArg: "-kernel {kernel} -initrd {initrd}"}}), sdk.ErrorJob},
		{"error-qemu-nfs-without-rootfs", boot(nil, "qemu-nfs", sdk.Values{"arch": "arm64"}, disk), sdk.ErrorJob},
		{"error-boot-u-boot", boot(nil, "u-boot", sdk.Values{"arch": "arm64"}, disk), sdk.ErrorJob},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, resp := goldentest.Plan(t, newDriver(), tc.req)
			if tc.errType == "" && resp.Error != nil || tc.errType != "" && (resp.Error == nil || resp.Error.Type != tc.errType) {
				t.Fatalf("want error type %q, got %s", tc.errType, raw)
			}
			goldentest.Golden(t, tc.name, raw)
		})
	}
}

// The options equal those LAVA renders for qemu01 (rendered without a job
// context: the non-arm branch, as for amd64).
func TestRenderedOptions(t *testing.T) {
	qemu01, _ := goldentest.DictionaryValues(t, "qemu01.jinja2")
	specs, err := newDriver().Specs()
	if err != nil {
		t.Fatal(err)
	}
	s := drv.Effective(specs, sdk.PlanRequest{Settings: qemu01, Context: sdk.Values{"arch": "amd64", "memory": 4096}})
	for _, f := range []string{"qemu01.rendered-2020.09.yaml", "qemu01.rendered-2023.01.yaml"} {
		p := goldentest.RenderedQEMU(t, f)
		var want []string
		for _, o := range p["options"].([]any) {
			want = append(want, o.(string))
		}
		if got := options("amd64", s); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: options\n got %q\nwant %q", f, got, want)
		}
		if cmd := p["command"].(string); !strings.HasPrefix(binary("amd64"), cmd) {
			t.Errorf("%s: command %q is not the prefix of %q", f, cmd, binary("amd64"))
		}
	}
}

func TestOptionsPerArch(t *testing.T) {
	for _, tc := range []struct {
		arch string
		s    sdk.Values
		want string
	}{
		{"arm64", nil, "-cpu cortex-a57 -machine virt -nographic"},
		{"arm", sdk.Values{"cpu": "cortex-a15", "machine": "vexpress-a15", "vga": "-vga none"}, "-cpu cortex-a15 -machine vexpress-a15 -vga none -nographic"},
		{"amd64", nil, "-cpu host -enable-kvm -nographic"},
		{"x86_64", sdk.Values{"no_kvm": true}, "-nographic"},
		{"i386", sdk.Values{"no_kvm": "True"}, "-cpu core2duo -machine pc -nographic"},
		{"mips", nil, "-machine malta -cpu host -enable-kvm -nographic"},
		{"riscv64", sdk.Values{"no_kvm": true}, "-machine virt -cpu rv64 -nographic"},
		{"ppc64", sdk.Values{"no_kvm": true, "machine": "powernv"}, "-machine powernv -nographic"},
	} {
		t.Run(tc.arch, func(t *testing.T) {
			if got := strings.Join(options(tc.arch, tc.s), " "); !strings.HasPrefix(got, tc.want+" -net ") {
				t.Fatalf("got %q, want prefix %q", got, tc.want)
			}
		})
	}
}
